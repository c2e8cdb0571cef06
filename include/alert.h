/*
 * alert: a closed group that met the threshold, as one JSON line.
 *
 * struct alert is a view the window store fills when it closes a group;
 * it borrows everything it points to, for the duration of the callback.
 * alert_format() writes a Kibana-style alert document with flat dotted
 * keys: the eleven columns of the ES|QL query under their own names, the
 * rule metadata, the MITRE threat mapping and a stable kibana.alert.uuid
 * derived from the rule id, the group key and the window.
 */
#ifndef BURSTD_ALERT_H
#define BURSTD_ALERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rule.h"
#include "strset.h"
#include "util.h"

struct alert_key {
	const char *p; /* key value bytes, or NULL when the value is null */
	size_t len;    /* its length */
};

struct alert {
	const struct rule *rule;              /* the rule that fired */
	int64_t window_ms;                    /* window start, epoch ms */
	struct alert_key key[RULE_MAX_GROUP]; /* rule->ngroup key values */
	uint64_t distinct;                    /* distinct values counted */
	uint64_t labels;                      /* bit i: label i was seen */
	const struct strset *sets[RULE_MAX_VALUES]; /* rule->nvalues sets */
	bool late;                                  /* window closed before */
};

/* Distinct labels in an alert's label mask. */
unsigned alert_label_count(uint64_t labels);

/*
 * Appends the alert's JSON and a newline to out; `now_ms` is the alert's
 * @timestamp.  Returns 0, or -1 if the generator failed (nothing is
 * appended then).
 */
int alert_format(const struct alert *a, int64_t now_ms, struct buf *out);

/*
 * As alert_format(), with the JSON (newline excluded) kept to max_bytes
 * (0: no cap) by leaving out value set members: one at a time from the
 * set that prints the most bytes, its last member in sort order first,
 * until the document fits.  A trimmed alert names the sets it trimmed in
 * "burstd.truncated" and counts the members left out in
 * "burstd.values_omitted"; the distinct counts still count them.  When
 * even empty sets do not fit (keys and reason alone are longer), the
 * alert is appended over the cap rather than dropped or split.  Returns
 * 0 (untouched), 1 (members were left out) or -1 (generator failure,
 * nothing appended).
 */
int alert_format_max(const struct alert *a, int64_t now_ms, size_t max_bytes,
		     struct buf *out);

/* Writes the alert's 36-character uuid and a NUL into out[37]. */
void alert_uuid(const struct alert *a, char out[37]);

#endif
