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
	uuid_v8(h.high64, h.low64, out);
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

/* One value set, sorted, of which the first `keep` members are printed. */
struct vset {
	struct member *m; /* sorted byte-wise; NULL when empty */
	size_t n;         /* members */
	size_t keep;      /* members printed */
	size_t bytes;     /* estimated JSON bytes of the kept members */
};

/* The JSON bytes of a member, before escaping: quotes and a comma. */
static size_t
member_bytes(const struct member *m)
{
	return m->len + 3;
}

static void
vset_init(struct vset *v, const struct strset *s)
{
	size_t n = strset_kept(s);

	memset(v, 0, sizeof(*v));
	if (n == 0)
		return;
	v->m = xcalloc(n, sizeof(*v->m));
	for (size_t i = 0; i < n; i++)
		v->m[i].p = strset_get(s, i, &v->m[i].len);
	qsort(v->m, n, sizeof(*v->m), member_cmp);
	v->n = v->keep = n;
	for (size_t i = 0; i < n; i++)
		v->bytes += member_bytes(&v->m[i]);
}

static void
value_set(yajl_gen g, const char *name, const struct vset *v)
{
	str(g, name);
	yajl_gen_array_open(g);
	for (size_t i = 0; i < v->keep; i++)
		strn(g, v->m[i].p, v->m[i].len);
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

/* What every attempt at one alert shares. */
struct doc {
	const struct alert *a;
	char now[TIMEFMT_ISO_MAX];
	char window[TIMEFMT_ISO_MAX];
	char uuid[37];
	struct buf why;
	struct vset sets[RULE_MAX_VALUES];
};

/*
 * Generates the document with each set's kept members; when some were
 * left out, "burstd.truncated" names those sets (rule order) and
 * "burstd.values_omitted" counts the members left out.
 */
static yajl_gen
generate(const struct doc *d)
{
	const struct alert *a = d->a;
	const struct rule *r = a->rule;
	yajl_gen g = yajl_gen_alloc(NULL);
	uint64_t omitted = 0;

	if (g == NULL)
		return NULL;
	yajl_gen_map_open(g);
	kv(g, "@timestamp", d->now);
	kv(g, "event.kind", "signal");
	kv(g, "kibana.alert.uuid", d->uuid);
	kv(g, "kibana.alert.rule.name", r->name);
	kv(g, "kibana.alert.rule.rule_id", r->rule_id);
	kv(g, "kibana.alert.rule.type", "esql");
	kv(g, "kibana.alert.severity", r->severity);
	kint(g, "kibana.alert.risk_score", r->risk_score);
	str(g, "kibana.alert.reason");
	strn(g, d->why.data, d->why.len);
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
	kv(g, r->window_column, d->window);
	kint(g, r->distinct_column, (long long)a->distinct);
	kint(g, r->labels_column, alert_label_count(a->labels));
	for (size_t i = 0; i < r->nvalues; i++) {
		value_set(g, r->values[i].column, &d->sets[i]);
		omitted += d->sets[i].n - d->sets[i].keep;
	}
	str(g, "burstd.late");
	yajl_gen_bool(g, a->late);
	if (omitted > 0) {
		str(g, "burstd.truncated");
		yajl_gen_array_open(g);
		for (size_t i = 0; i < r->nvalues; i++)
			if (d->sets[i].keep < d->sets[i].n)
				str(g, r->values[i].column);
		yajl_gen_array_close(g);
		kint(g, "burstd.values_omitted", (long long)omitted);
	}
	if (yajl_gen_map_close(g) != yajl_gen_status_ok) {
		yajl_gen_free(g);
		return NULL;
	}
	return g;
}

/*
 * Leaves out at least `excess` estimated bytes of members, one at a time
 * from whichever set prints the most bytes now, its last member (in sort
 * order) first.  Returns whether any member was left out.
 */
static bool
trim(struct doc *d, size_t nsets, size_t excess)
{
	size_t cut = 0;
	bool any = false;

	while (cut < excess) {
		struct vset *big = NULL;

		for (size_t i = 0; i < nsets; i++)
			if (d->sets[i].keep > 0 &&
			    (big == NULL || d->sets[i].bytes > big->bytes))
				big = &d->sets[i];
		if (big == NULL)
			break;
		big->keep--;
		big->bytes -= member_bytes(&big->m[big->keep]);
		cut += member_bytes(&big->m[big->keep]);
		any = true;
	}
	return any;
}

int
alert_format_max(const struct alert *a, int64_t now_ms, size_t max_bytes,
		 struct buf *out)
{
	const struct rule *r = a->rule;
	struct doc d = {.a = a};
	const unsigned char *json;
	yajl_gen g;
	size_t len;
	int rc = -1, trimmed = 0;

	timefmt_iso(now_ms, d.now);
	timefmt_iso(a->window_ms, d.window);
	alert_uuid(a, d.uuid);
	reason(a, d.window, &d.why);
	for (size_t i = 0; i < r->nvalues; i++)
		vset_init(&d.sets[i], a->sets[i]);
	for (;;) {
		if ((g = generate(&d)) == NULL)
			break;
		if (yajl_gen_get_buf(g, &json, &len) != yajl_gen_status_ok)
			break;
		/*
		 * Each round leaves out what the estimate says is over, so
		 * that the next one usually fits; escapes and the marker may
		 * need one more.  With nothing left to leave out, the rest
		 * (metadata, keys, the reason) goes out as it is.
		 */
		if (max_bytes == 0 || len <= max_bytes ||
		    !trim(&d, r->nvalues, len - max_bytes)) {
			buf_append(out, json, len);
			buf_append(out, "\n", 1);
			rc = trimmed;
			break;
		}
		trimmed = 1;
		yajl_gen_free(g);
	}
	if (g != NULL)
		yajl_gen_free(g);
	for (size_t i = 0; i < r->nvalues; i++)
		free(d.sets[i].m);
	buf_free(&d.why);
	return rc;
}

int
alert_format(const struct alert *a, int64_t now_ms, struct buf *out)
{
	return alert_format_max(a, now_ms, 0, out);
}
