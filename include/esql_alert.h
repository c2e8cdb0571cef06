/*
 * esql_alert: one alert of an ES|QL rule as a Kibana-style JSON line.
 *
 * The document has flat dotted keys, in a fixed order: the alert's own
 * metadata (what Kibana's alerts-as-data documents carry: @timestamp,
 * event.kind, kibana.alert.uuid, status, workflow_status, start, reason,
 * the rule's name, ids, type, severity, risk score, tags, threat,
 * ecs.version, event.start and event.end for a window), then the query's
 * output columns under their own names, then burstd's own keys
 * (burstd.window_start, burstd.window_end, burstd.late, then
 * burstd.phase and burstd.detected_ms when set).  A null column
 * is left out, as Kibana leaves out null fields; a multi-valued one is a
 * JSON array in the order given.
 *
 * A column may not be written where the alert's own keys are: the
 * query's @timestamp (the event's time, in a filter-only rule) becomes
 * kibana.alert.original_time, as Kibana does, and an event.* column
 * that collides (event.kind, event.start, event.end) becomes
 * kibana.alert.original_event.*.  esql_alert_check_columns() refuses, at
 * load, every other name that would collide with a key of the alert or
 * make one key both a leaf and an object (a column "kibana" next to
 * "kibana.alert.uuid"), which Elasticsearch rejects on indexing.
 *
 * kibana.alert.uuid is stable: XXH3-128 over the rule id and the bytes
 * the caller names (the window and the group key for a bucketed rule,
 * the event's line for a filter-only one), as an RFC 4122 version 8 id.
 *
 * Everything is borrowed for the call.
 */
#ifndef BURSTD_ESQL_ALERT_H
#define BURSTD_ESQL_ALERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "esql_value.h"
#include "util.h"

/* What the alert says about its rule. */
struct esql_alert_rule {
	const char *name;
	const char *rule_id;
	const char *severity;
	int risk_score;
	const char *const *tags;
	size_t ntags;
	const char *threat; /* JSON array text as written in the rule file,
			       or NULL */
};

struct esql_alert {
	const struct esql_alert_rule *rule;
	const char *const *names;    /* ncols column names */
	const struct esql_val *vals; /* ncols values */
	const bool *arrays; /* NULL, or ncols flags: column i is always an
			       array, [] when null (VALUES) */
	size_t ncols;
	bool windowed;        /* a bucketed rule: the window below */
	int64_t window_start; /* epoch ms */
	int64_t window_end;   /* epoch ms, exclusive */
	const void *key;      /* bytes that make the uuid, with the rule
				   id and the window */
	size_t keylen;
	const char *reason; /* kibana.alert.reason, or NULL */
	bool late;          /* the window had closed before */
	const char *phase;  /* burstd.phase ("early", "final", "close"), or
			       NULL: none (a rule alerting at close) */
	bool detected;      /* burstd.detected_ms is written: */
	double detected_ms; /* from the deciding event's arrival to the
			       alert's writing */
};

/* Writes the alert's 36-character uuid and a NUL into out[37]. */
void esql_alert_uuid(const struct esql_alert *a, char out[37]);

/*
 * Appends the alert's JSON and a newline to out; now_ms is its
 * @timestamp and kibana.alert.start.  With max_bytes > 0 the JSON
 * (newline excluded) is kept to max_bytes by leaving out elements of
 * multi-valued columns, one at a time from the column that prints the
 * most bytes, its last element first; a trimmed alert names those
 * columns in "burstd.truncated" and counts the elements left out in
 * "burstd.values_omitted".  When even that is not enough the alert is
 * appended over the cap rather than dropped or split.  Returns 0
 * (untouched), 1 (elements were left out) or -1 (generator failure;
 * nothing appended).
 */
int esql_alert_format(const struct esql_alert *a, int64_t now_ms,
		      size_t max_bytes, struct buf *out);

/*
 * Checks that the output columns names[0..n) can be written into an
 * alert.  Returns 0, or -1 with a message naming the column in err.
 */
int esql_alert_check_columns(const char *const *names, size_t n, char *err,
			     size_t errlen);

/* Whether json is a JSON array that the alert can carry as "threat". */
bool esql_alert_threat_ok(const char *json);

/* The key a column is written under (see above): name itself, or its
 * kibana.alert.original_* form. */
const char *esql_alert_key(const char *name, struct buf *scratch);

#endif
