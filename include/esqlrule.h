/*
 * esqlrule: one rule compiled from ES|QL text, running on a stream.
 *
 * A rule is a plan (esql_plan.h), the metadata its alerts carry
 * (esql_alert.h) and, for a bucketed plan, a window store of its own.
 * The engine parses each line once for the union of the fields its
 * rules read and hands the record to every rule, which
 *
 * - loads its input columns from the record, each value converted to
 *   its field's type as Elasticsearch indexes it (a value the mapping
 *   would reject reads as null and is counted);
 * - runs the plan's per-event program;
 * - for a filter-only plan, writes an alert for each row that comes out,
 *   at once;
 * - for a bucketed plan, adds each row to its group in the window of
 *   its DATE_TRUNC bucket, the watermark moved by the event's
 *   @timestamp.  When a window closes, each group's STATS row goes
 *   through the plan's post-STATS program; the window's rows are sorted
 *   by the plan's SORT and at most min(LIMIT, max_signals) of them go
 *   out, the rest are counted as suppressed.
 *
 * Alerting early (opts.early, alert_on: threshold, and a plan whose
 * post-STATS conditions are monotone, plan->monotone): after each row
 * that changes an open group, the group's STATS row goes through the
 * post-STATS program; the first time a row comes out, the group's alert
 * goes out at once, inside esqlrule_event(), with "burstd.phase":
 * "early" and "burstd.detected_ms", while the window has emitted fewer
 * than max_signals (past that the group waits for the close and its
 * cap).  When the window closes, a group that alerted early sends a
 * second document with the same uuid, "burstd.phase": "final" and the
 * complete values, only if its output columns changed since (a digest
 * of them is kept with the group); the groups that did not alert early
 * alert as at close, with "burstd.phase": "close".  To probe a group,
 * its VALUES aggregates are left null: a monotone condition cannot read
 * them.
 *
 * Every event a rule is given ends in exactly one of its counters
 * events_matched (at least one row came out of the per-event program)
 * or events_unmatched, or, for a bucketed rule whose rows came out, in
 * events_no_timestamp / events_bad_timestamp when its @timestamp cannot
 * place it.
 *
 * The rule owns its state; it borrows the plan and the metadata, which
 * must outlive it (a reload hands it the new ones).
 */
#ifndef BURSTD_ESQLRULE_H
#define BURSTD_ESQLRULE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "esql_alert.h"
#include "esql_plan.h"
#include "metrics.h"
#include "record.h"
#include "util.h"
#include "window.h"

struct esqlrule;

/* Receives one alert line (JSON and "\n"), borrowed for the call. */
typedef void esqlrule_out_fn(void *arg, const char *json, size_t len);

struct esqlrule_opts {
	struct window_opts window;  /* its window store's limits */
	size_t max_signals;         /* alerts per window (the rule's) */
	size_t max_alert_bytes;     /* 0: no cap */
	bool early;                 /* alert_on: threshold (applies to a
				      bucketed plan that is monotone) */
	const uint64_t *arrival_ns; /* the event being processed arrived
				       at this mono_now_ns(); borrowed, NULL
				       or 0: not measured */
};

/*
 * Checks that a plan's output columns fit in an alert and that the
 * threat mapping is a JSON array.  Returns 0, or -1 with a message in
 * err.
 */
int
esqlrule_check(const struct esql_plan *plan, const struct esql_alert_rule *meta,
	       char *err, size_t errlen);

/* A rule for plan and meta (both borrowed), which esqlrule_check()
 * accepted. */
struct esqlrule *
esqlrule_new(const struct esql_plan *plan, const struct esql_alert_rule *meta,
	     const struct esqlrule_opts *opts, esqlrule_out_fn *out, void *arg);
void esqlrule_free(struct esqlrule *r);

/*
 * Tells the rule the record slot of each field it reads:
 * slot_of(arg, name) returns it.  Call before the first event, and again
 * when the engine's field list changes.
 */
void esqlrule_bind(struct esqlrule *r, int (*slot_of)(void *, const char *),
		   void *arg);

/* The fields the rule reads (its plan's), n of them. */
const char *const *esqlrule_fields(const struct esqlrule *r, size_t *n);

/*
 * One event: its record (slots as bound) and its line's bytes (for a
 * filter-only rule's alert uuid).  Returns whether a row came out of
 * the per-event program (the event matched).
 */
bool esqlrule_event(struct esqlrule *r, const struct record *rec,
		    const char *line, size_t len);

/* Live mode: the wall clock moved on (see window_tick()). */
void esqlrule_tick(struct esqlrule *r, int64_t now_ms);
/* Closes every open window (end of input). */
void esqlrule_flush(struct esqlrule *r);

/*
 * A reload: a plan with the same fingerprint, new metadata and limits;
 * the state is kept.  Rebind afterwards.
 */
void esqlrule_reconfigure(struct esqlrule *r, const struct esql_plan *plan,
			  const struct esql_alert_rule *meta,
			  const struct esqlrule_opts *opts);

/* The rule's window state, for a checkpoint (nothing for a filter). */
void esqlrule_save(const struct esqlrule *r, struct buf *out);
int esqlrule_load(struct esqlrule *r, const char *data, size_t len);

/* Whether the rule alerts early: opts.early, bucketed and monotone. */
bool esqlrule_early(const struct esqlrule *r);
const struct esql_plan *esqlrule_plan(const struct esqlrule *r);
const struct esql_alert_rule *esqlrule_meta(const struct esqlrule *r);
struct metrics *esqlrule_metrics(struct esqlrule *r);
/* Groups held (0 for a filter-only rule). */
size_t esqlrule_groups(const struct esqlrule *r);
/* Bytes its store has charged to the budget (0 for a filter-only rule). */
size_t esqlrule_bytes(const struct esqlrule *r);
/* window_oldest_newest() of its store; INT64_MIN for a filter-only one. */
int64_t esqlrule_oldest_newest(const struct esqlrule *r);
/* window_check() of its store. */
void esqlrule_check_state(const struct esqlrule *r);
/* Overrides the alert @timestamp clock (tests); 0 restores real time. */
void esqlrule_set_clock(struct esqlrule *r, int64_t now_ms);

#endif
