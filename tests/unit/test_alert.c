/*
 * alert: the document for a hand-built alert: every column, null keys
 * left out, value sets sorted byte-wise and always arrays, strings
 * escaped, the uuid's form and what it depends on; trimming to a byte
 * cap: the largest set first, a marker, valid JSON under the cap.
 */
#include <stdlib.h>
#include <yajl/yajl_tree.h>

#include "alert.h"
#include "check.h"
#include "rule.h"

static yajl_val
get(yajl_val doc, const char *key, yajl_type t)
{
	const char *path[] = {key, NULL};

	return yajl_tree_get(doc, path, t);
}

static const char *
str(yajl_val v)
{
	const char *s = YAJL_IS_STRING(v) ? v->u.string : NULL;

	return s != NULL ? s : "(none)";
}

/* Members of the array at key, or -1 if it is missing. */
static long
count(yajl_val doc, const char *key)
{
	yajl_val v = get(doc, key, yajl_t_array);

	return v != NULL ? (long)YAJL_GET_ARRAY(v)->len : -1;
}

/* Whether the array at key holds exactly the strings of want, in order. */
static bool
names(yajl_val doc, const char *key, const char *const *want, size_t n)
{
	yajl_val v = get(doc, key, yajl_t_array);

	if (v == NULL || YAJL_GET_ARRAY(v)->len != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (strcmp(str(YAJL_GET_ARRAY(v)->values[i]), want[i]) != 0)
			return false;
	return true;
}

/* A member of 100 bytes: "c<set><index, 3 digits>" padded with 'x'. */
static void
member(char out[101], int set, int i)
{
	int n = snprintf(out, 101, "c%d%03d", set, i);

	memset(out + n, 'x', (size_t)(100 - n));
	out[100] = '\0';
}

/*
 * sets[0] gets n0 members of 100 bytes, sets[1] n1; the alert is
 * formatted with cap; its document is parsed into *doc.
 */
static int
format_capped(struct alert *a, struct strset **sets, int n0, int n1, size_t cap,
	      struct buf *out, yajl_val *doc)
{
	char m[101], errbuf[256];
	int rc;

	for (int i = 0; i < n0; i++) {
		member(m, 0, i);
		strset_add(sets[0], m, 100);
	}
	for (int i = 0; i < n1; i++) {
		member(m, 1, i);
		strset_add(sets[1], m, 100);
	}
	out->len = 0;
	rc = alert_format_max(a, 1000, cap, out);
	buf_cstr(out);
	*doc = yajl_tree_parse(out->data, errbuf, sizeof(errbuf));
	CHECK(*doc != NULL);
	return rc;
}

/* Whether the members left in set `set` are its first `n` in order. */
static bool
prefix_kept(yajl_val doc, const char *key, int set, long n)
{
	yajl_val v = get(doc, key, yajl_t_array);
	char m[101];

	if (v == NULL || (long)YAJL_GET_ARRAY(v)->len != n)
		return false;
	for (long i = 0; i < n; i++) {
		member(m, set, (int)i);
		if (strcmp(str(YAJL_GET_ARRAY(v)->values[i]), m) != 0)
			return false;
	}
	return true;
}

static void
test_trim(const struct rule *seed_rule)
{
	const char *c0 = seed_rule->values[0].column;
	const char *c1 = seed_rule->values[1].column;
	struct strset *sets[RULE_MAX_VALUES];
	struct alert a = {0};
	struct buf out = {0};
	yajl_val doc, v;
	long k0, k1;

	a.rule = seed_rule;
	a.window_ms = INT64_C(1714564800000);
	a.key[1] = (struct alert_key){"ag", 2};
	a.key[2] = (struct alert_key){"h", 1};
	a.distinct = 300;
	for (size_t i = 0; i < seed_rule->nvalues; i++)
		a.sets[i] = sets[i] = strset_new(1000);

	/* Under the cap: untouched, no marker. */
	CHECK_EQ_INT(format_capped(&a, sets, 20, 3, 64 << 10, &out, &doc), 0);
	CHECK(get(doc, "burstd.truncated", yajl_t_any) == NULL);
	CHECK(get(doc, "burstd.values_omitted", yajl_t_any) == NULL);
	CHECK_EQ_INT(count(doc, c0), 20);
	yajl_tree_free(doc);

	/* 200 members of 100 bytes against 8 KiB: only the big set is
	 * cut, from its end, close to the cap but within it. */
	CHECK_EQ_INT(format_capped(&a, sets, 200, 3, 8192, &out, &doc), 1);
	CHECK(out.len - 1 <= 8192);
	CHECK(out.len - 1 + 2 * 103 > 8192);
	k0 = count(doc, c0);
	CHECK(k0 > 0 && k0 < 200);
	CHECK(prefix_kept(doc, c0, 0, k0));
	CHECK(prefix_kept(doc, c1, 1, 3));
	CHECK(names(doc, "burstd.truncated", &c0, 1));
	v = get(doc, "burstd.values_omitted", yajl_t_number);
	CHECK(v != NULL && YAJL_GET_INTEGER(v) == 200 - k0);
	/* The distinct count still counts every value. */
	v = get(doc, "Esql.process_command_line_count_distinct", yajl_t_number);
	CHECK(v != NULL && YAJL_GET_INTEGER(v) == 300);
	yajl_tree_free(doc);

	/* The larger set goes first, down to the other's size, then both
	 * lose members in turn: they end within one member of each other. */
	for (size_t i = 0; i < seed_rule->nvalues; i++) {
		strset_free(sets[i]);
		a.sets[i] = sets[i] = strset_new(1000);
	}
	CHECK_EQ_INT(format_capped(&a, sets, 50, 100, 8192, &out, &doc), 1);
	CHECK(out.len - 1 <= 8192);
	k0 = count(doc, c0);
	k1 = count(doc, c1);
	CHECK(k0 > 0 && k0 < 50 && k1 > 0);
	CHECK(k1 - k0 <= 1 && k0 - k1 <= 1);
	CHECK(prefix_kept(doc, c0, 0, k0));
	CHECK(prefix_kept(doc, c1, 1, k1));
	{
		const char *both[] = {c0, c1};
		CHECK(names(doc, "burstd.truncated", both, 2));
	}
	v = get(doc, "burstd.values_omitted", yajl_t_number);
	CHECK(v != NULL && YAJL_GET_INTEGER(v) == 150 - k0 - k1);
	yajl_tree_free(doc);

	/* Keys alone over the cap: every set emptied, the alert still
	 * whole and valid, over the cap rather than lost. */
	{
		size_t klen = 6000;
		char *key = xmalloc(klen);

		memset(key, 'k', klen);
		a.key[2] = (struct alert_key){key, klen};
		CHECK_EQ_INT(format_capped(&a, sets, 0, 0, 4096, &out, &doc),
			     1);
		CHECK(out.len - 1 > 4096);
		CHECK_EQ_INT(count(doc, c0), 0);
		CHECK_EQ_INT(count(doc, c1), 0);
		v = get(doc, "host.name", yajl_t_string);
		CHECK(v != NULL && strlen(str(v)) == klen);
		yajl_tree_free(doc);
		free(key);
	}
	buf_free(&out);
	for (size_t i = 0; i < seed_rule->nvalues; i++)
		strset_free(sets[i]);
}

int
main(void)
{
	struct rule *seed_rule = rule_default();
	struct strset *sets[RULE_MAX_VALUES];
	struct alert a = {0};
	struct buf out = {0};
	char errbuf[256], uuid1[37], uuid2[37];
	yajl_val doc, v;

	CHECK_EQ_INT(rule_compile(seed_rule, NULL, 0), 0);
	for (size_t i = 0; i < seed_rule->nvalues; i++)
		sets[i] = strset_new(10);
	strset_add(sets[0], "sh -c \"b\"\n", 10);
	strset_add(sets[0], "sh -c a", 7);
	strset_add(sets[0], "sh -c \xc3\xa9", 8);
	strset_add(sets[1], "h", 1);
	a.rule = seed_rule;
	a.window_ms = INT64_C(1714564800000);
	a.key[0] = (struct alert_key){NULL, 0}; /* null entity id */
	a.key[1] = (struct alert_key){"ag", 2};
	a.key[2] = (struct alert_key){"h", 1};
	a.distinct = 7;
	a.labels = 0x13; /* three labels */
	for (size_t i = 0; i < seed_rule->nvalues; i++)
		a.sets[i] = sets[i];
	a.late = true;

	CHECK_EQ_INT(alert_format(&a, 1000, &out), 0);
	CHECK(out.len > 0 && out.data[out.len - 1] == '\n');
	CHECK(memchr(out.data, '\n', out.len) == out.data + out.len - 1);
	buf_cstr(&out);
	doc = yajl_tree_parse(out.data, errbuf, sizeof(errbuf));
	CHECK(doc != NULL);
	if (doc != NULL) {
		CHECK(get(doc, "process.parent.entity_id", yajl_t_any) == NULL);
		CHECK_STR(str(get(doc, "agent.id", yajl_t_string)), "ag");
		CHECK_STR(str(get(doc, "host.name", yajl_t_string)), "h");
		CHECK_STR(str(get(doc, "Esql.time_window_date_trunc",
				  yajl_t_string)),
			  "2024-05-01T12:00:00.000Z");
		CHECK_STR(str(get(doc, "@timestamp", yajl_t_string)),
			  "1970-01-01T00:00:01.000Z");
		v = get(doc, "Esql.process_command_line_count_distinct",
			yajl_t_number);
		CHECK(v != NULL && YAJL_GET_INTEGER(v) == 7);
		v = get(doc, "Esql.patterns_count_distinct", yajl_t_number);
		CHECK(v != NULL && YAJL_GET_INTEGER(v) == 3);
		v = get(doc, "Esql.process_command_line_values", yajl_t_array);
		CHECK(v != NULL && YAJL_GET_ARRAY(v)->len == 3);
		if (v != NULL && YAJL_GET_ARRAY(v)->len == 3) {
			CHECK_STR(str(YAJL_GET_ARRAY(v)->values[0]),
				  "sh -c \"b\"\n");
			CHECK_STR(str(YAJL_GET_ARRAY(v)->values[1]), "sh -c a");
			CHECK_STR(str(YAJL_GET_ARRAY(v)->values[2]),
				  "sh -c \xc3\xa9");
		}
		v = get(doc, "Esql.event_dataset_values", yajl_t_array);
		CHECK(v != NULL && YAJL_GET_ARRAY(v)->len == 0);
		CHECK_STR(str(get(doc, "event.kind", yajl_t_string)), "signal");
		CHECK_STR(str(get(doc, "kibana.alert.rule.type",
				  yajl_t_string)),
			  "esql");
		CHECK_STR(str(get(doc, "kibana.alert.rule.rule_id",
				  yajl_t_string)),
			  "b42e4b88-fc4a-417b-a45e-4d4a3db9fd41");
		CHECK_STR(str(get(doc, "kibana.alert.severity", yajl_t_string)),
			  "medium");
		v = get(doc, "kibana.alert.rule.tags", yajl_t_array);
		CHECK(v != NULL && YAJL_GET_ARRAY(v)->len == 6);
		v = get(doc, "burstd.late", yajl_t_true);
		CHECK(v != NULL);
		{
			const char *p[] = {"threat", NULL};
			v = yajl_tree_get(doc, p, yajl_t_array);
			CHECK(v != NULL && YAJL_GET_ARRAY(v)->len == 1);
		}
		yajl_tree_free(doc);
	}

	/* The uuid: RFC 4122 form, version 8; same key and window, same id. */
	alert_uuid(&a, uuid1);
	CHECK_EQ_INT(strlen(uuid1), 36);
	CHECK(uuid1[8] == '-' && uuid1[13] == '-' && uuid1[18] == '-' &&
	      uuid1[23] == '-');
	CHECK(uuid1[14] == '8');
	CHECK(strchr("89ab", uuid1[19]) != NULL);
	a.distinct = 9;
	a.late = false;
	alert_uuid(&a, uuid2);
	CHECK_STR(uuid2, uuid1);
	/* A null key differs from an empty one; the window matters. */
	a.key[0] = (struct alert_key){"", 0};
	alert_uuid(&a, uuid2);
	CHECK(strcmp(uuid2, uuid1) != 0);
	a.key[0] = (struct alert_key){NULL, 0};
	a.window_ms += 60000;
	alert_uuid(&a, uuid2);
	CHECK(strcmp(uuid2, uuid1) != 0);

	CHECK_EQ_INT(alert_label_count(0), 0);
	CHECK_EQ_INT(alert_label_count(UINT64_MAX), 64);
	test_trim(seed_rule);
	buf_free(&out);
	for (size_t i = 0; i < seed_rule->nvalues; i++)
		strset_free(sets[i]);
	rule_free(seed_rule);
	return check_exit();
}
