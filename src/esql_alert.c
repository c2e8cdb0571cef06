/*
 * esql_alert: JSON generation with yajl_gen, for the rules compiled from
 * ES|QL text.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_parse.h>

#include "esql_alert.h"
#include "timefmt.h"

/* The ECS version the alert document follows. */
#define ESQL_ALERT_ECS "8.11.0"

/* Every key the alert writes itself, in the order it writes them. */
static const char *const own_keys[] = {
    "@timestamp",
    "event.kind",
    "kibana.alert.uuid",
    "kibana.alert.status",
    "kibana.alert.workflow_status",
    "kibana.alert.start",
    "kibana.alert.reason",
    "kibana.alert.rule.name",
    "kibana.alert.rule.rule_id",
    "kibana.alert.rule.uuid",
    "kibana.alert.rule.type",
    "kibana.alert.severity",
    "kibana.alert.risk_score",
    "kibana.alert.rule.tags",
    "threat",
    "ecs.version",
    "event.start",
    "event.end",
    "burstd.window_start",
    "burstd.window_end",
    "burstd.late",
    "burstd.phase",
    "burstd.detected_ms",
    "burstd.truncated",
    "burstd.values_omitted",
};

/* Prefixes no column may take: the alert's and burstd's namespaces. */
static const char *const own_prefixes[] = {"kibana", "burstd", "threat"};

const char *
esql_alert_key(const char *name, struct buf *scratch)
{
	static const char orig_event[] = "kibana.alert.original_event.";

	if (strcmp(name, "@timestamp") == 0)
		return "kibana.alert.original_time";
	if (strcmp(name, "event.kind") == 0 ||
	    strcmp(name, "event.start") == 0 ||
	    strcmp(name, "event.end") == 0) {
		scratch->len = 0;
		buf_append(scratch, orig_event, sizeof(orig_event) - 1);
		buf_append(scratch, name + 6, strlen(name + 6) + 1);
		return scratch->data;
	}
	return name;
}

/* Whether a and b are one key, or one is an object the other is under. */
static bool
keys_clash(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	size_t n = la < lb ? la : lb;

	if (strncmp(a, b, n) != 0)
		return false;
	return la == lb || (la < lb ? b[la] == '.' : a[lb] == '.');
}

int
esql_alert_check_columns(const char *const *names, size_t n, char *err,
			 size_t errlen)
{
	struct buf s1 = {0}, s2 = {0};
	int rc = 0;

	for (size_t i = 0; i < n && rc == 0; i++) {
		const char *k = esql_alert_key(names[i], &s1);
		bool mapped = k != names[i];

		for (size_t j = 0;
		     j < sizeof(own_prefixes) / sizeof(own_prefixes[0]) &&
		     !mapped;
		     j++) {
			if (keys_clash(k, own_prefixes[j]) &&
			    strlen(k) >= strlen(own_prefixes[j])) {
				snprintf(err, errlen,
					 "output column \"%s\" is in the "
					 "alert's own namespace \"%s.\"",
					 names[i], own_prefixes[j]);
				rc = -1;
				break;
			}
		}
		for (size_t j = 0;
		     j < sizeof(own_keys) / sizeof(own_keys[0]) && rc == 0;
		     j++) {
			if (keys_clash(k, own_keys[j])) {
				snprintf(err, errlen,
					 "output column \"%s\" collides with "
					 "the alert's key \"%s\"",
					 names[i], own_keys[j]);
				rc = -1;
			}
		}
		for (size_t j = 0; j < i && rc == 0; j++) {
			const char *o = esql_alert_key(names[j], &s2);
			if (keys_clash(k, o)) {
				snprintf(err, errlen,
					 "output columns \"%s\" and \"%s\" "
					 "would make one key both a value and "
					 "an object",
					 names[j], names[i]);
				rc = -1;
			}
		}
	}
	buf_free(&s1);
	buf_free(&s2);
	return rc;
}

void
esql_alert_uuid(const struct esql_alert *a, char out[37])
{
	XXH3_state_t *st = XXH3_createState();
	XXH128_hash_t h;
	int64_t w = a->windowed ? a->window_start : INT64_MIN;

	if (st == NULL)
		abort();
	XXH3_128bits_reset(st);
	XXH3_128bits_update(st, a->rule->rule_id, strlen(a->rule->rule_id) + 1);
	XXH3_128bits_update(st, &w, sizeof(w));
	XXH3_128bits_update(st, a->key, a->keylen);
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
kv(yajl_gen g, const char *k, const char *v)
{
	str(g, k);
	str(g, v);
}

/*
 * The threat mapping: its JSON text copied through yajl's parser into
 * the generator, so that the document stays one well-formed object.
 */
static int
cp_null(void *g)
{
	return yajl_gen_null(g) == yajl_gen_status_ok;
}

static int
cp_bool(void *g, int b)
{
	return yajl_gen_bool(g, b) == yajl_gen_status_ok;
}

static int
cp_number(void *g, const char *s, size_t n)
{
	return yajl_gen_number(g, s, n) == yajl_gen_status_ok;
}

static int
cp_string(void *g, const unsigned char *s, size_t n)
{
	return yajl_gen_string(g, s, n) == yajl_gen_status_ok;
}

static int
cp_map_open(void *g)
{
	return yajl_gen_map_open(g) == yajl_gen_status_ok;
}

static int
cp_map_close(void *g)
{
	return yajl_gen_map_close(g) == yajl_gen_status_ok;
}

static int
cp_array_open(void *g)
{
	return yajl_gen_array_open(g) == yajl_gen_status_ok;
}

static int
cp_array_close(void *g)
{
	return yajl_gen_array_close(g) == yajl_gen_status_ok;
}

static const yajl_callbacks copy_cbs = {
    .yajl_null = cp_null,
    .yajl_boolean = cp_bool,
    .yajl_number = cp_number,
    .yajl_string = cp_string,
    .yajl_start_map = cp_map_open,
    .yajl_map_key = cp_string,
    .yajl_end_map = cp_map_close,
    .yajl_start_array = cp_array_open,
    .yajl_end_array = cp_array_close,
};

static bool
json_copy(yajl_gen g, const char *json)
{
	yajl_handle h = yajl_alloc(&copy_cbs, NULL, g);
	bool ok;

	if (h == NULL)
		return false;
	ok = yajl_parse(h, (const unsigned char *)json, strlen(json)) ==
		 yajl_status_ok &&
	     yajl_complete_parse(h) == yajl_status_ok;
	yajl_free(h);
	return ok;
}

bool
esql_alert_threat_ok(const char *json)
{
	yajl_gen g = yajl_gen_alloc(NULL);
	bool ok;

	if (g == NULL)
		return false;
	ok = json != NULL && json[strspn(json, " \t\r\n")] == '[' &&
	     json_copy(g, json);
	yajl_gen_free(g);
	return ok;
}

static void
scalar(yajl_gen g, enum esql_type t, const struct esql_scalar *v)
{
	char tmp[TIMEFMT_ISO_MAX + ESQL_IP_MAX + ESQL_DOUBLE_MAX];
	size_t n;

	switch (t) {
	case ESQL_T_KEYWORD:
		yajl_gen_string(g, (const unsigned char *)v->u.s.p, v->u.s.len);
		return;
	case ESQL_T_INTEGER:
	case ESQL_T_LONG:
	case ESQL_T_TIME_DURATION:
	case ESQL_T_DATE_PERIOD:
		yajl_gen_integer(g, v->u.l);
		return;
	case ESQL_T_DOUBLE:
		n = esql_double_format(v->u.d, tmp);
		yajl_gen_number(g, tmp, n);
		return;
	case ESQL_T_BOOLEAN:
		yajl_gen_bool(g, v->u.l != 0);
		return;
	case ESQL_T_DATETIME:
		n = timefmt_iso(v->u.l, tmp);
		yajl_gen_string(g, (const unsigned char *)tmp, n);
		return;
	case ESQL_T_IP:
		n = esql_ip_format(v->u.ip, tmp);
		yajl_gen_string(g, (const unsigned char *)tmp, n);
		return;
	case ESQL_T_NULL:
		yajl_gen_null(g);
		return;
	}
}

/* Estimated JSON bytes of one element: its text, quotes and a comma. */
static size_t
elem_bytes(enum esql_type t, const struct esql_scalar *v)
{
	return t == ESQL_T_KEYWORD ? v->u.s.len + 3 : 26;
}

struct doc {
	const struct esql_alert *a;
	char now[TIMEFMT_ISO_MAX];
	char start[TIMEFMT_ISO_MAX];
	char end[TIMEFMT_ISO_MAX];
	char uuid[37];
	size_t *keep;  /* per column: elements printed */
	size_t *bytes; /* per column: their estimated bytes */
	struct buf key;
};

static yajl_gen
generate(struct doc *d)
{
	const struct esql_alert *a = d->a;
	const struct esql_alert_rule *r = a->rule;
	yajl_gen g = yajl_gen_alloc(NULL);
	uint64_t omitted = 0;

	if (g == NULL)
		return NULL;
	yajl_gen_map_open(g);
	kv(g, "@timestamp", d->now);
	kv(g, "event.kind", "signal");
	kv(g, "kibana.alert.uuid", d->uuid);
	kv(g, "kibana.alert.status", "active");
	kv(g, "kibana.alert.workflow_status", "open");
	kv(g, "kibana.alert.start", d->now);
	str(g, "kibana.alert.reason");
	yajl_gen_string(g, (const unsigned char *)a->reason,
			a->reason != NULL ? strlen(a->reason) : 0);
	kv(g, "kibana.alert.rule.name", r->name);
	kv(g, "kibana.alert.rule.rule_id", r->rule_id);
	kv(g, "kibana.alert.rule.uuid", r->rule_id);
	kv(g, "kibana.alert.rule.type", "esql");
	kv(g, "kibana.alert.severity", r->severity);
	str(g, "kibana.alert.risk_score");
	yajl_gen_integer(g, r->risk_score);
	str(g, "kibana.alert.rule.tags");
	yajl_gen_array_open(g);
	for (size_t i = 0; i < r->ntags; i++)
		str(g, r->tags[i]);
	yajl_gen_array_close(g);
	if (r->threat != NULL) {
		str(g, "threat");
		if (!json_copy(g, r->threat)) {
			yajl_gen_free(g);
			return NULL;
		}
	}
	kv(g, "ecs.version", ESQL_ALERT_ECS);
	if (a->windowed) {
		kv(g, "event.start", d->start);
		kv(g, "event.end", d->end);
	}
	for (size_t i = 0; i < a->ncols; i++) {
		const struct esql_val *v = &a->vals[i];
		const struct esql_scalar *it = esql_val_items(v);
		bool array = a->arrays != NULL && a->arrays[i];

		if (v->n == 0 && !array)
			continue;
		str(g, esql_alert_key(a->names[i], &d->key));
		if (v->n == 1 && !array) {
			scalar(g, v->type, &it[0]);
			continue;
		}
		yajl_gen_array_open(g);
		for (size_t j = 0; j < d->keep[i]; j++)
			scalar(g, v->type, &it[j]);
		yajl_gen_array_close(g);
		omitted += v->n - d->keep[i];
	}
	if (a->windowed) {
		kv(g, "burstd.window_start", d->start);
		kv(g, "burstd.window_end", d->end);
	}
	str(g, "burstd.late");
	yajl_gen_bool(g, a->late);
	if (a->phase != NULL)
		kv(g, "burstd.phase", a->phase);
	if (a->detected) {
		char num[32];
		int n = snprintf(num, sizeof(num), "%.3f",
				 a->detected_ms >= 0 ? a->detected_ms : 0.0);
		str(g, "burstd.detected_ms");
		yajl_gen_number(g, num, (size_t)n);
	}
	if (omitted > 0) {
		str(g, "burstd.truncated");
		yajl_gen_array_open(g);
		for (size_t i = 0; i < a->ncols; i++)
			if (a->vals[i].n > 1 && d->keep[i] < a->vals[i].n)
				str(g, a->names[i]);
		yajl_gen_array_close(g);
		str(g, "burstd.values_omitted");
		yajl_gen_integer(g, (long long)omitted);
	}
	if (yajl_gen_map_close(g) != yajl_gen_status_ok) {
		yajl_gen_free(g);
		return NULL;
	}
	return g;
}

/*
 * Leaves out at least `excess` estimated bytes of elements, one at a
 * time from whichever multi-valued column prints the most bytes now,
 * its last element first (at least one element of each stays).
 * Returns whether any element was left out.
 */
static bool
trim(struct doc *d, size_t excess)
{
	const struct esql_alert *a = d->a;
	size_t cut = 0;
	bool any = false;

	while (cut < excess) {
		size_t big = a->ncols;

		for (size_t i = 0; i < a->ncols; i++)
			if (a->vals[i].n > 1 && d->keep[i] > 1 &&
			    (big == a->ncols || d->bytes[i] > d->bytes[big]))
				big = i;
		if (big == a->ncols)
			break;
		size_t b =
		    elem_bytes(a->vals[big].type,
			       &esql_val_items(&a->vals[big])[--d->keep[big]]);
		d->bytes[big] -= b;
		cut += b;
		any = true;
	}
	return any;
}

int
esql_alert_format(const struct esql_alert *a, int64_t now_ms, size_t max_bytes,
		  struct buf *out)
{
	struct doc d = {.a = a};
	const unsigned char *json;
	yajl_gen g = NULL;
	size_t len;
	int rc = -1, trimmed = 0;

	timefmt_iso(now_ms, d.now);
	timefmt_iso(a->window_start, d.start);
	timefmt_iso(a->window_end, d.end);
	esql_alert_uuid(a, d.uuid);
	d.keep = xcalloc(a->ncols + 1, sizeof(*d.keep));
	d.bytes = xcalloc(a->ncols + 1, sizeof(*d.bytes));
	for (size_t i = 0; i < a->ncols; i++) {
		const struct esql_scalar *it = esql_val_items(&a->vals[i]);
		d.keep[i] = a->vals[i].n;
		for (size_t j = 0; j < a->vals[i].n; j++)
			d.bytes[i] += elem_bytes(a->vals[i].type, &it[j]);
	}
	for (;;) {
		if ((g = generate(&d)) == NULL)
			break;
		if (yajl_gen_get_buf(g, &json, &len) != yajl_gen_status_ok)
			break;
		if (max_bytes == 0 || len <= max_bytes ||
		    !trim(&d, len - max_bytes)) {
			buf_append(out, json, len);
			buf_append(out, "\n", 1);
			rc = trimmed;
			break;
		}
		trimmed = 1;
		yajl_gen_free(g);
		g = NULL;
	}
	if (g != NULL)
		yajl_gen_free(g);
	free(d.keep);
	free(d.bytes);
	buf_free(&d.key);
	return rc;
}
