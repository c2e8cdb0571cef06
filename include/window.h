/*
 * window: event-time windows of groups, watermarks, closing and the cap.
 *
 * The store holds one group per (group key, window).  A row (a matched
 * event) is added to the group of each combination of its key values.
 * Each value of the watermark key (agent.id) has its own watermark, the
 * largest event time seen from it minus allowed_lateness; a group closes
 * when its agent's watermark reaches the window's end, or when the store
 * is flushed.  Closing hands the groups to a callback (the rule layer:
 * threshold, order, the cap) with the count of alerts their window
 * already emitted; the store keeps that count per window (the ledger).
 *
 * What a group holds is the store's kind: the built-in rule's label mask
 * and value sets (window_new(), window_add(); closings carry struct
 * alert views), or one ES|QL aggregate state (window_new_esql(),
 * window_add_row(); closings carry struct window_group views).  All the
 * rest (watermarks, lateness, idle close, the late horizon, the future
 * clamp, tombstones, the budget, the ledger, checkpoints) is the same
 * for both.
 *
 * A closed group is kept for late_horizon_ms after its window's end (in
 * watermark time) so that a late event still counts; if it lifts the
 * group over the threshold for the first time, the alert goes out then,
 * marked late.  Each (group, window) alerts at most once, ever: an agent
 * the store forgets (silent for idle_close + late_horizon, or evicted
 * for the budget) leaves a tombstone, its floor, below which its events
 * make no new group (too late); when tombstones are evicted in turn,
 * the store's global floor rises to theirs, and applies to agents the
 * store knows nothing of.
 *
 * State is charged in bytes to the budget; past its limit the store
 * evicts (see window.c for the order) and counts what it evicts.
 *
 * With allowed_lateness_ms < 0 no watermark ever closes a window: groups
 * close only at window_flush().  That is how --replay is exact for input
 * in any order.
 *
 * The store owns its groups; it borrows the rule (or the spec and its
 * aggregates) and the metrics.
 */
#ifndef BURSTD_WINDOW_H
#define BURSTD_WINDOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agg.h"
#include "alert.h"
#include "budget.h"
#include "esql_value.h"
#include "metrics.h"
#include "record.h"
#include "rule.h"

struct window_store;

/* Group keys (besides the window) a store may have. */
#define WINDOW_MAX_KEYS 8

/*
 * What a store groups by: its keys besides the window and, for the
 * ES|QL kind, what each group aggregates.  window_new() derives it from
 * the rule.  Borrowed: the caller keeps key_types and agg alive as long
 * as the store (or until window_reconfigure_esql() hands over others).
 */
struct window_spec {
	size_t nkeys;                    /* keys, <= WINDOW_MAX_KEYS */
	const enum esql_type *key_types; /* ES|QL: nkeys types; seed: NULL */
	int watermark_key;               /* the key whose values each own a
					    watermark (agent.id); -1: one
					    watermark for the whole store */
	int64_t window_ms;               /* window width, > 0 */
	struct agg_def *agg; /* ES|QL: the aggregates each group holds one
				struct agg_state of; seed: NULL */
};

struct window_opts {
	int64_t allowed_lateness_ms; /* < 0: close only on flush */
	int64_t late_horizon_ms;     /* keep closed groups this long */
	size_t max_groups;           /* groups held at once */
	struct budget *budget;       /* state bytes are charged here;
					borrowed, NULL: none */
	size_t max_values;           /* kept values per value set */
	size_t max_key_combos;       /* key combinations per event */
	int64_t idle_close_ms;       /* close an agent's windows when it is
					silent this long (wall clock) */
	int64_t max_future_ms;       /* event times further ahead of the wall
					clock do not move watermarks */
};

/*
 * Closing hands the groups of one window that close together (or one
 * closed group a late event changed) to the rule layer, which decides
 * per group with window_decide(): emitted, suppressed by the window's
 * cap, or not passed.  A group not decided on stays closed and may be
 * lifted by a late event, which hands it over again.  Each decided group
 * is final: it never comes back.
 */
enum window_verdict {
	WINDOW_EMITTED,    /* its alert goes out */
	WINDOW_SUPPRESSED, /* passed, but over the window's max_alerts */
};

struct ledger_entry;

struct window_closing {
	const struct rule *rule;    /* the store's rule */
	int64_t window_ms;          /* the window's start */
	size_t emitted;             /* alerts the window emitted so far */
	size_t n;                   /* groups */
	const struct alert *groups; /* n, in no particular order; borrowed
				       for the call */
	struct window_store *ws;    /* private to the store */
	struct ledger_entry *le;    /* private to the store */
	size_t first;               /* private: groups[0] in the batch */
};

typedef void window_close_cb(void *arg, struct window_closing *c);

/*
 * Records the verdict on groups[i] of a closing: the window's ledger
 * (c->emitted on WINDOW_EMITTED), the alert counters and the group's
 * eviction order.  Call it at most once per group, in the order the
 * alerts go out.
 */
void window_decide(struct window_closing *c, size_t i, enum window_verdict v);

struct window_store *
window_new(const struct rule *rule, const struct window_opts *opts,
	   struct metrics *metrics, window_close_cb *cb, void *arg);
void window_free(struct window_store *ws);

/*
 * Adds a matched event at event time ts_ms with the given label, then
 * closes whatever the event's watermark advance allows.
 */
void window_add(struct window_store *ws, const struct record *rec,
		int64_t ts_ms, unsigned label);

/*
 * Live mode: tells the store the wall-clock time (epoch ms).  Closes the
 * windows of agents silent for idle_close_ms, forgets agents silent for
 * idle_close_ms + late_horizon_ms (their groups go, a tombstone stays).
 * An agent seen before the first call, or restored by window_load(),
 * starts its idle clock at the next call.  From the first call on,
 * event times more than max_future_ms ahead of now_ms are kept in their
 * windows but do not move their agent's watermark.
 */
void window_tick(struct window_store *ws, int64_t now_ms);

/* Closes every open group (end of input or shutdown). */
void window_flush(struct window_store *ws);

/*
 * Adopts new limits and a rule with the same fingerprint as the current
 * one (a configuration reload); the groups are kept.
 */
void window_reconfigure(struct window_store *ws, const struct rule *rule,
			const struct window_opts *opts);

/*
 * Appends the store's whole state to out (for a checkpoint), and
 * restores it into an empty store built with the same rule.  window_load
 * checks every field it reads and returns 0, or -1 if the data is
 * malformed (the store is left empty).  Restored agents start their idle
 * clock at the next window_tick(), not at the saved wall clock.
 */
void window_save(const struct window_store *ws, struct buf *out);
int window_load(struct window_store *ws, const char *data, size_t len);

/* Groups held (open and closed). */
size_t window_groups(const struct window_store *ws);
/* Bytes the store has charged to the budget. */
size_t window_bytes(const struct window_store *ws);
/* Tombstones held. */
size_t window_tombstones(const struct window_store *ws);
/*
 * The oldest of the agents' newest event times (epoch ms), INT64_MIN with
 * no agent that has one: how far behind the slowest agent held is.  A
 * walk over every agent.
 */
int64_t window_oldest_newest(const struct window_store *ws);

/*
 * Verifies every invariant of the store (lists, buckets, byte
 * accounting) in time linear in its size; aborts with a message if one
 * is broken.  For tests and fuzz targets.
 */
void window_check(const struct window_store *ws);

#endif
