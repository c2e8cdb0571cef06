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
	const struct rule *rule;                 /* the rule that fired */
	int64_t window_ms;                       /* window start, epoch ms */
	struct alert_key key[RULE_MAX_GROUP];    /* rule->ngroup key values */
	uint64_t distinct;                       /* distinct values counted */
	uint64_t labels;                         /* bit i: label i was seen */
	const struct strset *sets[RULE_MAX_VALUES]; /* rule->nvalues sets */
	bool late;                               /* window closed before */
};

/* Distinct labels in an alert's label mask. */
unsigned alert_label_count(uint64_t labels);

/*
 * Appends the alert's JSON and a newline to out; `now_ms` is the alert's
 * @timestamp.  Returns 0, or -1 if the generator failed (nothing is
 * appended then).
 */
int alert_format(const struct alert *a, int64_t now_ms, struct buf *out);

/* Writes the alert's 36-character uuid and a NUL into out[37]. */
void alert_uuid(const struct alert *a, char out[37]);

#endif
