/*
 * metrics: the reason-coded counters.  Every line read, every skip and
 * every drop lands in exactly one of these, so the summary always adds
 * up: lines_read = lines_too_long + lines_prefiltered + lines_parsed
 * (blank lines are counted apart, in lines_blank), and lines_parsed =
 * json_invalid + json_not_object + json_too_deep + events_unmatched +
 * events_matched.
 *
 * One struct metrics per engine; the engine owns it.  Counters only grow.
 */
#ifndef BURSTD_METRICS_H
#define BURSTD_METRICS_H

#include <stdint.h>
#include <stdio.h>

#define METRICS_FOREACH(X)                                                     \
	X(bytes_read, "bytes read from inputs")                                \
	X(lines_read, "lines framed (not counting the blank ones)")            \
	X(lines_blank, "blank lines ignored")                                  \
	X(lines_too_long, "lines over max_line_bytes, skipped")                \
	X(lines_prefiltered, "lines the prefilter proved cannot match")        \
	X(lines_parsed, "lines given to the JSON parser")                      \
	X(json_invalid, "lines skipped: invalid JSON or UTF-8")                \
	X(json_not_object, "lines skipped: top level is not an object")        \
	X(json_too_deep, "lines skipped: nesting over max_depth")              \
	X(events_unmatched,                                                    \
	  "events the rule filter rejected (a line is "                        \
	  "left unread from the first value that fails a clause)")             \
	X(events_matched, "events that passed the rule filter")                \
	X(events_no_timestamp, "matched events skipped: @timestamp missing")   \
	X(events_bad_timestamp,                                                \
	  "matched events skipped: @timestamp multi-valued or unparsable")     \
	X(events_late, "matched events for a window already closed")           \
	X(events_too_late, "matched events older than the late horizon")       \
	X(events_future, "matched events too far ahead of the wall clock "     \
			 "to move a watermark")                                \
	X(key_combos_cut, "events whose key combinations were cut short")      \
	X(groups_created, "groups (key and window) created")                   \
	X(groups_dropped, "events dropped: max_groups reached")                \
	X(groups_evicted, "groups evicted: max_state_bytes reached")           \
	X(agents_evicted, "agents turned to tombstones: max_state_bytes "      \
			  "reached")                                           \
	X(tombstones_evicted, "tombstones evicted, raising the global floor: " \
			      "max_state_bytes reached")                       \
	X(values_dropped, "values not kept: max_values per set reached")       \
	X(windows_closed, "groups closed and checked")                         \
	X(alerts, "alerts emitted")                                            \
	X(alerts_late, "alerts emitted for a window after it closed")          \
	X(alerts_suppressed, "alerts over max_alerts per window, dropped")     \
	X(alerts_early, "alerts emitted before their window closed "           \
			"(alert_on: threshold; also in alerts)")               \
	X(alerts_early_held, "groups that met their condition early past "     \
			     "max_signals: left to the window's close")        \
	X(alerts_final, "final documents of groups that alerted early, "       \
			"their values changed since (not in alerts)")          \
	X(alerts_final_unchanged, "groups that alerted early and closed with " \
				  "nothing changed: no final document")        \
	X(alerts_unformatted, "alerts the JSON generator failed on, dropped")  \
	X(alerts_trimmed, "alerts whose value sets were trimmed to "           \
			  "max_alert_bytes, emitted")                          \
	X(values_rejected, "event values their field's mapping would reject, " \
			   "read as null")                                     \
	X(eval_warnings, "ES|QL expressions that gave null with a warning")    \
	X(rows_expand_cut, "rows MV_EXPAND did not make past its bound")

enum metric {
#define METRIC_ENUM(name, help) M_##name,
	METRICS_FOREACH(METRIC_ENUM)
#undef METRIC_ENUM
	M__COUNT
};

/*
 * The counters an ES|QL rule keeps for itself (esqlrule.h), each
 * counter from this one to the last; the ones before are the engine's
 * alone (bytes, lines, the parse).
 */
#define METRICS_RULE_FIRST M_events_unmatched

struct metrics {
	uint64_t v[M__COUNT]; /* one counter per enum metric */
};

/* The counter's name as printed ("lines_read"). */
const char *metrics_name(enum metric m);
const char *metrics_help(enum metric m);
/* Writes "name value" lines, one per counter, to f. */
void metrics_print(const struct metrics *m, FILE *f);

#endif
