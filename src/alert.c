/*
 * alert: JSON generation with yajl_gen.
 *
 * Key order is fixed (metadata, threat, the eleven query columns, then
 * burstd's own), value sets are sorted byte-wise so that the same group
 * always prints the same line apart from @timestamp.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>
#include <yajl/yajl_gen.h>

#include "alert.h"
#include "timefmt.h"

unsigned
alert_label_count(uint64_t labels)
{
	return (unsigned)__builtin_popcountll(labels);
}

void
alert_uuid(const struct alert *a, char out[37])
{
	XXH3_state_t *st = XXH3_createState();
	XXH128_hash_t h;
	unsigned char b[16];
	int64_t w = a->window_ms;

	if (st == NULL)
		abort();
	XXH3_128bits_reset(st);
	XXH3_128bits_update(st, a->rule->rule_id, strlen(a->rule->rule_id) + 1);
	for (size_t i = 0; i < a->rule->ngroup; i++) {
		uint64_t len = a->key[i].p ? a->key[i].len : UINT64_MAX;
		XXH3_128bits_update(st, &len, sizeof(len));
		if (a->key[i].p != NULL)
			XXH3_128bits_update(st, a->key[i].p, a->key[i].len);
	}
	XXH3_128bits_update(st, &w, sizeof(w));
	h = XXH3_128bits_digest(st);
	XXH3_freeState(st);
	for (int i = 0; i < 8; i++) {
		b[i] = (unsigned char)(h.high64 >> (56 - 8 * i));
		b[8 + i] = (unsigned char)(h.low64 >> (56 - 8 * i));
	}
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x80); /* version 8: custom */
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
	snprintf(out, 37,
	    "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
	    "%02x%02x%02x%02x%02x%02x",
	    b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10],
	    b[11], b[12], b[13], b[14], b[15]);
}

static void
str(yajl_gen g, const char *s)
{
	yajl_gen_string(g, (const unsigned char *)s, strlen(s));
}

static void
strn(yajl_gen g, const char *s, size_t n)
{
	yajl_gen_string(g, (const unsigned char *)s, n);
}

static void
kv(yajl_gen g, const char *k, const char *v)
{
	str(g, k);
	str(g, v);
}

static void
kint(yajl_gen g, const char *k, long long v)
{
	str(g, k);
	yajl_gen_integer(g, v);
}

static void
mitre(yajl_gen g, const struct mitre_ref *m)
{
	kv(g, "id", m->id);
	kv(g, "name", m->name);
	kv(g, "reference", m->reference);
}

static void
threat(yajl_gen g, const struct rule *r)
{
	str(g, "threat");
	yajl_gen_array_open(g);
	yajl_gen_map_open(g);
	kv(g, "framework", "MITRE ATT&CK");
	str(g, "tactic");
	yajl_gen_map_open(g);
	mitre(g, &r->tactic);
	yajl_gen_map_close(g);
	str(g, "technique");
	yajl_gen_array_open(g);
	yajl_gen_map_open(g);
	mitre(g, &r->technique);
	str(g, "subtechnique");
	yajl_gen_array_open(g);
	yajl_gen_map_open(g);
	mitre(g, &r->subtechnique);
	yajl_gen_map_close(g);
	yajl_gen_array_close(g);
	yajl_gen_map_close(g);
	yajl_gen_array_close(g);
	yajl_gen_map_close(g);
	yajl_gen_array_close(g);
}

struct member {
	const char *p;
	size_t len;
};

static int
member_cmp(const void *a, const void *b)
{
	const struct member *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int c = memcmp(x->p, y->p, n);

	if (c != 0)
		return c;
	return x->len < y->len ? -1 : x->len > y->len;
}

static void
value_set(yajl_gen g, const char *name, const struct strset *s)
{
	size_t n = strset_kept(s);
	struct member *m = calloc(n ? n : 1, sizeof(*m));

	str(g, name);
	yajl_gen_array_open(g);
	if (m != NULL) {
		for (size_t i = 0; i < n; i++)
			m[i].p = strset_get(s, i, &m[i].len);
		qsort(m, n, sizeof(*m), member_cmp);
		for (size_t i = 0; i < n; i++)
			strn(g, m[i].p, m[i].len);
		free(m);
	}
	yajl_gen_array_close(g);
}

static void
reason(const struct alert *a, const char *window, struct buf *out)
{
	const struct rule *r = a->rule;
	char num[64];

	buf_append(out, r->distinct_field, strlen(r->distinct_field));
	snprintf(num, sizeof(num), ": %" PRIu64 " distinct values of %u kinds",
	    a->distinct, alert_label_count(a->labels));
	buf_append(out, num, strlen(num));
	for (size_t i = 0; i < r->ngroup; i++) {
		buf_append(out, i == 0 ? " for " : ", ", i == 0 ? 5 : 2);
		buf_append(out, r->group_by[i], strlen(r->group_by[i]));
		if (a->key[i].p == NULL) {
			buf_append(out, " null", 5);
		} else {
			buf_append(out, " ", 1);
			buf_append(out, a->key[i].p, a->key[i].len);
		}
	}
	buf_append(out, " in the window starting ", 24);
	buf_append(out, window, strlen(window));
}

int
alert_format(const struct alert *a, int64_t now_ms, struct buf *out)
{
	const struct rule *r = a->rule;
	char now[TIMEFMT_ISO_MAX], window[TIMEFMT_ISO_MAX], uuid[37];
	struct buf why = {0};
	yajl_gen g = yajl_gen_alloc(NULL);
	const unsigned char *json;
	size_t len;
	int rc = -1;

	if (g == NULL)
		return -1;
	timefmt_iso(now_ms, now);
	timefmt_iso(a->window_ms, window);
	alert_uuid(a, uuid);
	reason(a, window, &why);

	yajl_gen_map_open(g);
	kv(g, "@timestamp", now);
	kv(g, "event.kind", "signal");
	kv(g, "kibana.alert.uuid", uuid);
	kv(g, "kibana.alert.rule.name", r->name);
	kv(g, "kibana.alert.rule.rule_id", r->rule_id);
	kv(g, "kibana.alert.rule.type", "esql");
	kv(g, "kibana.alert.severity", r->severity);
	kint(g, "kibana.alert.risk_score", r->risk_score);
	str(g, "kibana.alert.reason");
	strn(g, why.data, why.len);
	str(g, "kibana.alert.rule.tags");
	yajl_gen_array_open(g);
	for (size_t i = 0; i < r->tags.n; i++)
		str(g, r->tags.v[i]);
	yajl_gen_array_close(g);
	threat(g, r);
	for (size_t i = 0; i < r->ngroup; i++) {
		if (a->key[i].p == NULL)
			continue;
		str(g, r->group_by[i]);
		strn(g, a->key[i].p, a->key[i].len);
	}
	kv(g, r->window_column, window);
	kint(g, r->distinct_column, (long long)a->distinct);
	kint(g, r->labels_column, alert_label_count(a->labels));
	for (size_t i = 0; i < r->nvalues; i++)
		value_set(g, r->values[i].column, a->sets[i]);
	str(g, "burstd.late");
	yajl_gen_bool(g, a->late);
	if (yajl_gen_map_close(g) == yajl_gen_status_ok &&
	    yajl_gen_get_buf(g, &json, &len) == yajl_gen_status_ok) {
		buf_append(out, json, len);
		buf_append(out, "\n", 1);
		rc = 0;
	}
	yajl_gen_free(g);
	buf_free(&why);
	return rc;
}
