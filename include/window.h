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
 * What a group holds is the store's kind, behind ops (window_int.h):
 * one ES|QL aggregate state (window_new_esql(), window_add_row();
 * closings carry struct window_group views).  The rest (watermarks,
 * lateness, idle close, the late horizon, the future clamp, tombstones,
 * the budget, the ledger, checkpoints) is the store's own.
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
 * The store owns its groups; it borrows the spec, its aggregates and
 * the metrics.
 */
#ifndef BURSTD_WINDOW_H
#define BURSTD_WINDOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agg.h"
#include "budget.h"
#include "esql_value.h"
#include "metrics.h"

struct window_store;

/* Group keys (besides the window) a store may have. */
#define WINDOW_MAX_KEYS 8

/*
 * What a store groups by: its keys besides the window and what each
 * group aggregates.  Borrowed: the caller keeps key_types and agg alive as long
 * as the store (or until window_reconfigure_esql() hands over others).
 */
struct window_spec {
	size_t nkeys;                    /* keys, <= WINDOW_MAX_KEYS */
	const enum esql_type *key_types; /* nkeys types */
	int watermark_key;               /* the key whose values each own a
					    watermark (agent.id); -1: one
					    watermark for the whole store */
	int64_t window_ms;               /* window width, > 0 */
	struct agg_def *agg; /* the aggregates each group holds one struct
				agg_state of */
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
	WINDOW_FINAL,      /* it alerted early (window_group.early): its
			      final document goes out or not, counted by the
			      caller; the ledger already has it */
};

struct ledger_entry;

/*
 * One group of a closing window of the ES|QL kind: what the STATS row
 * is made of (the aggregates, agg_result(spec->agg, agg, i, ...), then
 * the keys).
 */
struct window_group {
	int64_t window_ms;           /* window start: the bucket key */
	const void *key;             /* the key values' canonical bytes
					(equal values, equal bytes), e.g.
					for an alert's uuid */
	size_t keylen;               /* their length */
	const struct esql_val *keys; /* spec->nkeys key values, each null or
					one value of the spec's type */
	const struct agg_state *agg; /* the group's aggregates */
	bool late;                   /* an event came after it closed */
	bool early;                  /* it alerted before it closed */
	uint64_t digest;             /* early: what the early callback
					returned with its alert */
};

/*
 * A closing hands over one window's groups as struct window_group
 * views.  Everything is borrowed for the call.
 */
struct window_closing {
	const struct window_spec *spec;  /* the store's spec */
	int64_t window_ms;               /* the window's start */
	size_t emitted;                  /* alerts the window emitted so far */
	size_t n;                        /* groups */
	const struct window_group *rows; /* n, in no particular order */
	struct window_store *ws;         /* private to the store */
	struct ledger_entry *le;         /* private to the store */
	size_t first;                    /* private: the first in the batch */
};

typedef void window_close_cb(void *arg, struct window_closing *c);

/*
 * Records the verdict on rows[i] of a closing: the
 * window's ledger (c->emitted on WINDOW_EMITTED), the alert counters and
 * the group's eviction order.  Call it at most once per group, in the order the
 * alerts go out.
 */
void window_decide(struct window_closing *c, size_t i, enum window_verdict v);

/*
 * Early alerting (an ES|QL store): after each row that changes an open
 * group which has not alerted early, the store asks the callback set by
 * window_set_early() whether the group's condition holds now.  g is a
 * view of the group (borrowed for the call, late false) and emitted the
 * alerts its window already emitted.  The callback answers
 *
 * - WINDOW_EARLY_NOT_YET: the condition does not hold (yet); asked
 *   again at the group's next row;
 * - WINDOW_EARLY_EMITTED: its alert went out, and *digest says what it
 *   held: the group is marked early (never asked again; at its close it
 *   comes with early set and that digest, to be decided WINDOW_FINAL),
 *   and counts in the window's ledger, alerts and alerts_early;
 * - WINDOW_EARLY_HELD: the condition holds but the window's cap is
 *   reached: the group waits for its close, where the cap decides it
 *   (never asked again; counted in alerts_early_held).
 *
 * An evicted group that alerted early raises its agent's floor as a
 * decided one does.  The marks are checkpointed with the group.
 */
enum window_early {
	WINDOW_EARLY_NOT_YET,
	WINDOW_EARLY_EMITTED,
	WINDOW_EARLY_HELD,
};

typedef enum window_early
window_early_cb(void *arg, const struct window_group *g, size_t emitted,
		uint64_t *digest);

/*
 * A store of the ES|QL kind: each group holds one struct agg_state of
 * spec->agg (whose sets keep agg->max_values members, which the caller
 * sets from opts->max_values).  Eviction takes, in the agent over its share, the
 * undecided group whose largest set counts the fewest distinct values
 * (or, when spec->agg has no set, that holds the fewest rows), least
 * recently touched first.  The spec is copied; what it points to is
 * borrowed.  The caller frees the store with window_free().
 */
struct window_store *
window_new_esql(const struct window_spec *spec, const struct window_opts *opts,
		struct metrics *metrics, window_close_cb *cb, void *arg);
void window_free(struct window_store *ws);

/* Sets (or, with NULL, clears) an ES|QL store's early callback; it is
 * called with the store's close callback's arg. */
void window_set_early(struct window_store *ws, window_early_cb *cb);

/*
 * Adds one row at event time ts_ms to the window starting at
 * window_start_ms (its bucket key, on the window grid), then closes
 * whatever the watermark advance allows.
 *
 * keys: spec->nkeys values, typed as the spec says or null.  The row
 * goes to the group of each combination of the keys' distinct values
 * (at most opts.max_key_combos of them, and 64 values per key; a row
 * cut short counts in key_combos_cut); a null key is a value of its own.
 * ts_ms moves the watermark of each value of the watermark key.
 *
 * agg_in: spec->agg->n inputs (agg_update()); agg_on: whether each
 * aggregate's WHERE held for the row (NULL: all).  A row makes its
 * groups even when no aggregate takes it, as ES|QL makes a group of
 * every row's keys.  Values past a set's cap count in values_dropped.
 */
void window_add_row(struct window_store *ws, int64_t ts_ms,
		    int64_t window_start_ms, const struct esql_val *keys,
		    const struct esql_val *agg_in, const bool *agg_on);

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
 * Adopts new limits and a spec (say, of a
 * recompiled plan) if it has the store's shape: the same keys and types,
 * watermark key, window and aggregates (kinds, types, sets).  Returns 0,
 * or -1 if the shape differs (nothing changes; the caller flushes and
 * makes a new store).  The groups keep their sets' caps.
 */
int
window_reconfigure_esql(struct window_store *ws, const struct window_spec *spec,
			const struct window_opts *opts);

/*
 * Appends the store's whole state to out (for a checkpoint), and
 * restores it into an empty store built with a spec of the same shape
 * (the kind's format and shape are in the data).
 * window_load checks every field it reads and returns 0, or -1 if the
 * data is malformed (the store is left empty).  Restored agents start
 * their idle clock at the next window_tick(), not at the saved wall
 * clock.
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
