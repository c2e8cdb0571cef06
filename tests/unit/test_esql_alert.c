/*
 * esql_alert: the document of an ES|QL rule's alert: metadata keys,
 * columns by type (null left out, multi-values as arrays in order),
 * @timestamp and event.* columns moved under kibana.alert.original_*,
 * the threat mapping copied as written, the window keys; the uuid's
 * inputs; trimming to a byte cap; refusal of colliding column names.
 */
#include <stdlib.h>
#include <yajl/yajl_tree.h>

#include "check.h"
#include "esql_alert.h"

static yajl_val
get(yajl_val doc, const char *key, yajl_type t)
{
	const char *path[] = {key, NULL};

	return yajl_tree_get(doc, path, t);
}

static const char *
str(yajl_val doc, const char *key)
{
	yajl_val v = get(doc, key, yajl_t_string);

	return v != NULL ? v->u.string : "(none)";
}

static const char *const tags[] = {"OS: Linux", "Tactic: Execution"};

static const struct esql_alert_rule rule = {
    .name = "Test rule",
    .rule_id = "0f1e2d3c-0000-4000-8000-000000000001",
    .severity = "high",
    .risk_score = 73,
    .tags = tags,
    .ntags = 2,
    .threat = "[{\"framework\":\"MITRE ATT&CK\",\"tactic\":{\"id\":"
	      "\"TA0002\",\"name\":\"Execution\"},\"n\":1.50}]",
};

static struct esql_val
kw(const char *s)
{
	struct esql_val v = {.type = ESQL_T_KEYWORD, .n = 1};

	v.one.u.s.p = s;
	v.one.u.s.len = strlen(s);
	return v;
}

static struct esql_val
num(enum esql_type t, int64_t l)
{
	struct esql_val v = {.type = t, .n = 1};

	v.one.u.l = l;
	return v;
}

static yajl_val
parse(struct buf *b)
{
	char err[128];
	yajl_val doc;

	CHECK(b->len > 0 && b->data[b->len - 1] == '\n');
	buf_cstr(b);
	doc = yajl_tree_parse(b->data, err, sizeof(err));
	CHECK(doc != NULL);
	return doc;
}

static void
test_document(void)
{
	struct esql_scalar many[3];
	const char *names[] = {"@timestamp",       "host.name",  "process.args",
			       "Esql.count",       "event.kind", "event.action",
			       "process.pid_null", "ok",         "avg"};
	struct esql_val vals[9];
	struct esql_alert a = {
	    .rule = &rule,
	    .names = names,
	    .vals = vals,
	    .ncols = 9,
	    .windowed = true,
	    .window_start = 1714564800000, /* 2024-05-01T12:00:00Z */
	    .window_end = 1714564860000,
	    .key = "k",
	    .keylen = 1,
	    .reason = "why",
	};
	struct buf b = {0};
	yajl_val doc, arr;

	vals[0] = num(ESQL_T_DATETIME, 1714564801234);
	vals[1] = kw("host-1");
	many[0].u.s.p = "sh";
	many[0].u.s.len = 2;
	many[1].u.s.p = "-c";
	many[1].u.s.len = 2;
	many[2].u.s.p = "id";
	many[2].u.s.len = 2;
	vals[2] =
	    (struct esql_val){.type = ESQL_T_KEYWORD, .n = 3, .many = many};
	vals[3] = num(ESQL_T_LONG, 7);
	vals[4] = kw("event");
	vals[5] = kw("exec");
	esql_val_null(&vals[6], ESQL_T_LONG);
	vals[7] = num(ESQL_T_BOOLEAN, 1);
	vals[8] = (struct esql_val){.type = ESQL_T_DOUBLE, .n = 1};
	vals[8].one.u.d = 2.5;

	CHECK_EQ_INT(esql_alert_format(&a, 1714564900000, 0, &b), 0);
	doc = parse(&b);
	CHECK_STR(str(doc, "@timestamp"), "2024-05-01T12:01:40.000Z");
	CHECK_STR(str(doc, "kibana.alert.start"), "2024-05-01T12:01:40.000Z");
	CHECK_STR(str(doc, "event.kind"), "signal");
	CHECK_STR(str(doc, "kibana.alert.status"), "active");
	CHECK_STR(str(doc, "kibana.alert.workflow_status"), "open");
	CHECK_STR(str(doc, "kibana.alert.rule.name"), "Test rule");
	CHECK_STR(str(doc, "kibana.alert.rule.rule_id"), rule.rule_id);
	CHECK_STR(str(doc, "kibana.alert.severity"), "high");
	CHECK_STR(str(doc, "kibana.alert.reason"), "why");
	CHECK_STR(str(doc, "ecs.version"), "8.11.0");
	CHECK_EQ_INT(YAJL_GET_INTEGER(
			 get(doc, "kibana.alert.risk_score", yajl_t_number)),
		     73);
	/* The window, twice: ECS's event.start/end and burstd's keys. */
	CHECK_STR(str(doc, "event.start"), "2024-05-01T12:00:00.000Z");
	CHECK_STR(str(doc, "event.end"), "2024-05-01T12:01:00.000Z");
	CHECK_STR(str(doc, "burstd.window_start"), "2024-05-01T12:00:00.000Z");
	CHECK_STR(str(doc, "burstd.window_end"), "2024-05-01T12:01:00.000Z");
	/* Columns: the event's time and kind move aside, as Kibana's. */
	CHECK_STR(str(doc, "kibana.alert.original_time"),
		  "2024-05-01T12:00:01.234Z");
	CHECK_STR(str(doc, "kibana.alert.original_event.kind"), "event");
	CHECK_STR(str(doc, "event.action"), "exec");
	CHECK_STR(str(doc, "host.name"), "host-1");
	arr = get(doc, "process.args", yajl_t_array);
	CHECK(arr != NULL && YAJL_GET_ARRAY(arr)->len == 3);
	if (arr != NULL && YAJL_GET_ARRAY(arr)->len == 3)
		CHECK_STR(YAJL_GET_ARRAY(arr)->values[2]->u.string, "id");
	CHECK_EQ_INT(YAJL_GET_INTEGER(get(doc, "Esql.count", yajl_t_number)),
		     7);
	CHECK(get(doc, "process.pid_null", yajl_t_any) == NULL);
	CHECK(YAJL_IS_TRUE(get(doc, "ok", yajl_t_any)));
	CHECK(strstr(b.data, "\"avg\":2.5,") != NULL);
	CHECK(YAJL_IS_FALSE(get(doc, "burstd.late", yajl_t_any)));
	/* The threat mapping, as written (the number keeps its text). */
	CHECK(
	    strstr(b.data,
		   "\"threat\":[{\"framework\":\"MITRE ATT&CK\",\"tactic\":"
		   "{\"id\":\"TA0002\",\"name\":\"Execution\"},\"n\":1.50}]") !=
	    NULL);
	CHECK(get(doc, "burstd.truncated", yajl_t_any) == NULL);
	yajl_tree_free(doc);

	/* Not windowed: no window keys. */
	a.windowed = false;
	b.len = 0;
	CHECK_EQ_INT(esql_alert_format(&a, 0, 0, &b), 0);
	doc = parse(&b);
	CHECK(get(doc, "event.start", yajl_t_any) == NULL);
	CHECK(get(doc, "burstd.window_start", yajl_t_any) == NULL);
	yajl_tree_free(doc);
	buf_free(&b);
}

static void
test_uuid(void)
{
	struct esql_alert a = {.rule = &rule,
			       .windowed = true,
			       .window_start = 60000,
			       .key = "abc",
			       .keylen = 3};
	char u1[37], u2[37], u3[37], u4[37];

	esql_alert_uuid(&a, u1);
	CHECK_EQ_INT(strlen(u1), 36);
	CHECK(u1[8] == '-' && u1[13] == '-' && u1[18] == '-' && u1[23] == '-');
	CHECK(u1[14] == '8');                  /* version 8 */
	CHECK(strchr("89ab", u1[19]) != NULL); /* RFC 4122 variant */
	esql_alert_uuid(&a, u2);
	CHECK_STR(u1, u2);
	a.window_start = 120000;
	esql_alert_uuid(&a, u3);
	CHECK(strcmp(u1, u3) != 0);
	a.window_start = 60000;
	a.keylen = 2;
	esql_alert_uuid(&a, u4);
	CHECK(strcmp(u1, u4) != 0);
}

static void
test_trim(void)
{
	enum {
		N = 200
	};
	static char text[N][64];
	struct esql_scalar big[N], small[3];
	const char *names[] = {"big", "small"};
	struct esql_val vals[2];
	struct esql_alert a = {.rule = &rule,
			       .names = names,
			       .vals = vals,
			       .ncols = 2,
			       .key = "",
			       .keylen = 0};
	struct buf b = {0};
	yajl_val doc, arr;
	size_t full;

	for (int i = 0; i < N; i++) {
		snprintf(text[i], sizeof(text[i]), "value-%03d-%040d", i, 0);
		big[i].u.s.p = text[i];
		big[i].u.s.len = strlen(text[i]);
	}
	for (int i = 0; i < 3; i++)
		small[i] = big[i];
	vals[0] =
	    (struct esql_val){.type = ESQL_T_KEYWORD, .n = N, .many = big};
	vals[1] =
	    (struct esql_val){.type = ESQL_T_KEYWORD, .n = 3, .many = small};
	CHECK_EQ_INT(esql_alert_format(&a, 0, 0, &b), 0);
	full = b.len - 1;
	b.len = 0;
	CHECK_EQ_INT(esql_alert_format(&a, 0, full / 2, &b), 1);
	CHECK(b.len - 1 <= full / 2);
	doc = parse(&b);
	arr = get(doc, "big", yajl_t_array);
	CHECK(arr != NULL && YAJL_GET_ARRAY(arr)->len < N);
	/* The first elements stay, in order; the small column is whole. */
	if (arr != NULL && YAJL_GET_ARRAY(arr)->len > 0)
		CHECK_STR(YAJL_GET_ARRAY(arr)->values[0]->u.string, text[0]);
	arr = get(doc, "small", yajl_t_array);
	CHECK(arr != NULL && YAJL_GET_ARRAY(arr)->len == 3);
	arr = get(doc, "burstd.truncated", yajl_t_array);
	CHECK(arr != NULL && YAJL_GET_ARRAY(arr)->len == 1);
	CHECK(
	    YAJL_GET_INTEGER(
		get(doc, "burstd.values_omitted", yajl_t_number)) ==
	    N - (long long)YAJL_GET_ARRAY(get(doc, "big", yajl_t_array))->len);
	yajl_tree_free(doc);

	/* A cap nothing can meet: the alert goes out whole-ish, not lost. */
	b.len = 0;
	CHECK(esql_alert_format(&a, 0, 10, &b) == 1);
	doc = parse(&b);
	arr = get(doc, "big", yajl_t_array);
	CHECK(arr != NULL && YAJL_GET_ARRAY(arr)->len == 1);
	yajl_tree_free(doc);
	buf_free(&b);
}

static int
check_cols(const char *const *names, size_t n, const char *want)
{
	char err[256] = "";
	int rc = esql_alert_check_columns(names, n, err, sizeof(err));

	if (want == NULL) {
		CHECK_EQ_INT(rc, 0);
		CHECK_STR(err, "");
	} else {
		CHECK_EQ_INT(rc, -1);
		CHECK_STR(err, want);
	}
	return rc;
}

static void
test_columns(void)
{
	const char *ok[] = {"@timestamp", "event.kind", "event.action",
			    "host.name",  "Esql.x",     "process.args"};
	const char *uuid[] = {"kibana.alert.uuid"};
	const char *kib[] = {"kibana"};
	const char *bur[] = {"burstd.late"};
	const char *thr[] = {"threat.tactic.id"};
	const char *ecs[] = {"ecs.version"};
	const char *ecsobj[] = {"ecs"};
	const char *leaf[] = {"host", "host.name"};
	const char *leaf2[] = {"host.name", "host"};
	const char *near[] = {"hostname", "host.name", "kibanax"};

	check_cols(ok, 6, NULL);
	check_cols(near, 3, NULL);
	check_cols(uuid, 1,
		   "output column \"kibana.alert.uuid\" is in the alert's "
		   "own namespace \"kibana.\"");
	check_cols(kib, 1,
		   "output column \"kibana\" is in the alert's own namespace "
		   "\"kibana.\"");
	check_cols(bur, 1,
		   "output column \"burstd.late\" is in the alert's own "
		   "namespace \"burstd.\"");
	check_cols(thr, 1,
		   "output column \"threat.tactic.id\" is in the alert's own "
		   "namespace \"threat.\"");
	check_cols(ecs, 1,
		   "output column \"ecs.version\" collides with the alert's "
		   "key \"ecs.version\"");
	check_cols(ecsobj, 1,
		   "output column \"ecs\" collides with the alert's key "
		   "\"ecs.version\"");
	check_cols(leaf, 2,
		   "output columns \"host\" and \"host.name\" would make one "
		   "key both a value and an object");
	check_cols(leaf2, 2,
		   "output columns \"host.name\" and \"host\" would make one "
		   "key both a value and an object");
}

static void
test_threat_ok(void)
{
	CHECK(esql_alert_threat_ok("[]"));
	CHECK(esql_alert_threat_ok(" [{\"a\":[1,2,{\"b\":null}]}]"));
	CHECK(!esql_alert_threat_ok("{}"));
	CHECK(!esql_alert_threat_ok("[1"));
	CHECK(!esql_alert_threat_ok("[1] [2]"));
	CHECK(!esql_alert_threat_ok(NULL));
}

int
main(void)
{
	test_document();
	test_uuid();
	test_trim();
	test_columns();
	test_threat_ok();
	return check_exit();
}
