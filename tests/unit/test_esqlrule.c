/*
 * esqlrule: a compiled ES|QL rule on records: a filter rule alerts per
 * matching event; a bucketed rule alerts when the watermark closes the
 * window, not before, with VALUES sorted and always an array; the cap
 * keeps the larger group and counts the other; each event ends in one
 * counter; a checkpoint taken mid-window carries the state over.
 */
#include <stdlib.h>
#include <yajl/yajl_tree.h>

#include "check.h"
#include "esqlrule.h"

static const char *const tags[] = {"T"};
static const struct esql_alert_rule meta = {
    .name = "unit",
    .rule_id = "00000000-0000-4000-8000-000000000001",
    .severity = "low",
    .risk_score = 21,
    .tags = tags,
    .ntags = 1,
};

struct env {
	struct esql_plan *plan;
	struct esqlrule *rule;
	struct parser *parser;
	struct buf out; /* alert lines */
	int alerts;
};

static void
on_alert(void *arg, const char *json, size_t len)
{
	struct env *e = arg;

	buf_append(&e->out, json, len);
	e->alerts++;
}

static int
slot_of(void *arg, const char *field)
{
	struct esqlrule *r = arg;
	size_t n;
	const char *const *f = esqlrule_fields(r, &n);

	for (size_t i = 0; i < n; i++)
		if (strcmp(f[i], field) == 0)
			return (int)i;
	return -1;
}

static void
env_init(struct env *e, const char *query, size_t max_signals, int64_t lateness)
{
	char err[256] = "";
	struct esqlrule_opts o = {
	    .window = {.allowed_lateness_ms = lateness,
		       .late_horizon_ms = 300000,
		       .max_groups = 1000,
		       .max_values = 100,
		       .max_key_combos = 64,
		       .idle_close_ms = 60000,
		       .max_future_ms = 300000},
	    .max_signals = max_signals,
	};

	memset(e, 0, sizeof(*e));
	e->plan = esql_plan_from_text(query, strlen(query), err, sizeof(err));
	CHECK(e->plan != NULL);
	if (e->plan == NULL) {
		fprintf(stderr, "%s\n", err);
		exit(1);
	}
	CHECK_EQ_INT(esqlrule_check(e->plan, &meta, err, sizeof(err)), 0);
	e->rule = esqlrule_new(e->plan, &meta, &o, on_alert, e);
	esqlrule_set_clock(e->rule, 1);
	{
		size_t n;
		const char *const *f = esqlrule_fields(e->rule, &n);
		esqlrule_bind(e->rule, slot_of, e->rule);
		e->parser = parser_new(f, n, 64);
	}
}

static void
env_fini(struct env *e)
{
	esqlrule_free(e->rule);
	esql_plan_free(e->plan);
	parser_free(e->parser);
	buf_free(&e->out);
}

static bool
feed(struct env *e, const char *line)
{
	const struct record *rec;

	CHECK_EQ_INT(parser_parse(e->parser, line, strlen(line), &rec),
		     PARSE_OK);
	return esqlrule_event(e->rule, rec, line, strlen(line));
}

/* The n-th alert line (0-based), parsed; the caller frees it. */
static yajl_val
alert(struct env *e, int n)
{
	char *p = buf_cstr(&e->out), err[128];

	for (int i = 0; i < n && p != NULL; i++)
		if ((p = strchr(p, '\n')) != NULL)
			p++;
	CHECK(p != NULL);
	if (p == NULL)
		return NULL;
	char *nl = strchr(p, '\n');
	if (nl != NULL)
		*nl = '\0';
	yajl_val v = yajl_tree_parse(p, err, sizeof(err));
	if (nl != NULL)
		*nl = '\n';
	CHECK(v != NULL);
	return v;
}

static yajl_val
get(yajl_val doc, const char *key)
{
	const char *path[] = {key, NULL};

	return yajl_tree_get(doc, path, yajl_t_any);
}

/* A string value, or "(none)". */
static const char *
sv(yajl_val v)
{
	return YAJL_IS_STRING(v) ? v->u.string : "(none)";
}

static void
test_filter(void)
{
	struct env e;
	yajl_val a;

	env_init(&e,
		 "FROM logs-* | WHERE process.name == \"nc\" "
		 "| KEEP host.name, process.pid",
		 100, 1000);
#define TS "\"@timestamp\":\"2024-05-01T12:00:00Z\","
	CHECK(feed(&e, "{" TS "\"process\":{\"name\":\"nc\",\"pid\":7},"
		       "\"host\":{\"name\":\"h1\"}}"));
	CHECK(!feed(&e, "{" TS "\"process\":{\"name\":\"sh\"}}"));
	/* Multi-valued: == is null (a warning), so not a match. */
	CHECK(!feed(&e, "{" TS "\"process\":{\"name\":[\"nc\",\"sh\"]}}"));
	/* A value the long mapping rejects reads as null. */
	CHECK(feed(&e, "{" TS "\"process\":{\"name\":\"nc\",\"pid\":\"x\"}}"));
	/* No @timestamp: a data stream refuses the document; counted. */
	CHECK(!feed(&e, "{\"process\":{\"name\":\"nc\"}}"));
	CHECK(!feed(&e, "{\"@timestamp\":\"soon\",\"process\":{\"name\":"
			"\"nc\"}}"));
	CHECK_EQ_INT(e.alerts, 2);
	a = alert(&e, 0);
	CHECK(strcmp(sv(get(a, "host.name")), "h1") == 0);
	CHECK_EQ_INT(YAJL_GET_INTEGER(get(a, "process.pid")), 7);
	CHECK(strcmp(sv(get(a, "kibana.alert.rule.name")), "unit") == 0);
	yajl_tree_free(a);
	a = alert(&e, 1);
	CHECK(get(a, "process.pid") == NULL);
	yajl_tree_free(a);
	struct metrics *m = esqlrule_metrics(e.rule);
	CHECK_EQ_INT(m->v[M_events_matched], 2);
	CHECK_EQ_INT(m->v[M_events_unmatched], 2);
	CHECK_EQ_INT(m->v[M_events_no_timestamp], 1);
	CHECK_EQ_INT(m->v[M_events_bad_timestamp], 1);
	CHECK_EQ_INT(m->v[M_alerts], 2);
	CHECK_EQ_INT(m->v[M_values_rejected], 1);
	CHECK(m->v[M_eval_warnings] >= 1);
	CHECK_EQ_INT(esqlrule_groups(e.rule), 0);
	env_fini(&e);
}

#define BUCKETED                                                      \
	"FROM logs-* | STATS c = COUNT(*), v = VALUES(process.name) " \
	"BY agent.id, w = DATE_TRUNC(1 minute, @timestamp) | WHERE c >= 2"

static void
test_bucketed_closes_by_watermark(void)
{
	struct env e;
	yajl_val a, v;

	env_init(&e, BUCKETED, 100, 1000);
	/* 2024-05-01T12:00:00Z is 1714564800000. */
	feed(&e, "{\"@timestamp\":\"2024-05-01T12:00:01Z\",\"agent\":{\"id\":"
		 "\"a\"},\"process\":{\"name\":\"zsh\"}}");
	feed(&e, "{\"@timestamp\":\"2024-05-01T12:00:02Z\",\"agent\":{\"id\":"
		 "\"a\"},\"process\":{\"name\":\"bash\"}}");
	/* Another agent's time does not close agent a's window. */
	feed(&e, "{\"@timestamp\":\"2024-05-01T12:05:00Z\",\"agent\":{\"id\":"
		 "\"b\"},\"process\":{\"name\":\"x\"}}");
	/* Watermark 12:01:00.000 - 1 s lateness: not yet. */
	feed(&e, "{\"@timestamp\":\"2024-05-01T12:01:00.999Z\",\"agent\":{"
		 "\"id\":\"a\"},\"process\":{\"name\":\"y\"}}");
	CHECK_EQ_INT(e.alerts, 0);
	/* 12:01:01 - 1 s reaches the window's end: it closes. */
	feed(&e, "{\"@timestamp\":\"2024-05-01T12:01:01Z\",\"agent\":{\"id\":"
		 "\"a\"},\"process\":{\"name\":\"y\"}}");
	CHECK_EQ_INT(e.alerts, 1);
	a = alert(&e, 0);
	CHECK_EQ_INT(YAJL_GET_INTEGER(get(a, "c")), 2);
	v = get(a, "v");
	CHECK(YAJL_IS_ARRAY(v) && YAJL_GET_ARRAY(v)->len == 2);
	if (YAJL_IS_ARRAY(v) && YAJL_GET_ARRAY(v)->len == 2) {
		/* Sorted, whatever the order of arrival. */
		CHECK(strcmp(sv(YAJL_GET_ARRAY(v)->values[0]), "bash") == 0);
	}
	CHECK(strcmp(sv(get(a, "w")), "2024-05-01T12:00:00.000Z") == 0);
	CHECK(strcmp(sv(get(a, "burstd.window_end")),
		     "2024-05-01T12:01:00.000Z") == 0);
	yajl_tree_free(a);
	/* An event without @timestamp has no window. */
	feed(&e, "{\"agent\":{\"id\":\"a\"}}");
	struct metrics *m = esqlrule_metrics(e.rule);
	CHECK_EQ_INT(m->v[M_events_no_timestamp], 1);
	CHECK_EQ_INT(m->v[M_events_matched], 5);
	esqlrule_flush(e.rule);
	/* a's 12:01 group has its two rows; b's has one: no alert. */
	CHECK_EQ_INT(e.alerts, 2);
	esqlrule_check_state(e.rule);
	env_fini(&e);
}

static void
test_cap_keeps_the_larger_group(void)
{
	struct env e;
	yajl_val a;

	env_init(&e, BUCKETED, 1, -1);
	for (int i = 0; i < 3; i++)
		feed(&e, "{\"@timestamp\":\"2024-05-01T12:00:01Z\",\"agent\":"
			 "{\"id\":\"small\"},\"process\":{\"name\":\"a\"}}");
	for (int i = 0; i < 4; i++)
		feed(&e, "{\"@timestamp\":\"2024-05-01T12:00:01Z\",\"agent\":"
			 "{\"id\":\"big\"},\"process\":{\"name\":\"a\"}}");
	CHECK_EQ_INT(e.alerts, 0);
	esqlrule_flush(e.rule);
	CHECK_EQ_INT(e.alerts, 1);
	a = alert(&e, 0);
	CHECK(strcmp(sv(get(a, "agent.id")), "big") == 0);
	yajl_tree_free(a);
	CHECK_EQ_INT(esqlrule_metrics(e.rule)->v[M_alerts_suppressed], 1);
	env_fini(&e);
}

static void
test_checkpoint(void)
{
	struct env e, f;
	struct buf state = {0};
	yajl_val a;

	env_init(&e, BUCKETED, 100, -1);
	feed(&e, "{\"@timestamp\":\"2024-05-01T12:00:01Z\",\"agent\":{\"id\":"
		 "\"a\"},\"process\":{\"name\":\"p\"}}");
	esqlrule_save(e.rule, &state);
	env_fini(&e);
	env_init(&f, BUCKETED, 100, -1);
	CHECK_EQ_INT(esqlrule_load(f.rule, state.data, state.len), 0);
	CHECK_EQ_INT(esqlrule_groups(f.rule), 1);
	feed(&f, "{\"@timestamp\":\"2024-05-01T12:00:02Z\",\"agent\":{\"id\":"
		 "\"a\"},\"process\":{\"name\":\"q\"}}");
	esqlrule_flush(f.rule);
	CHECK_EQ_INT(f.alerts, 1);
	a = alert(&f, 0);
	CHECK_EQ_INT(YAJL_GET_INTEGER(get(a, "c")), 2);
	yajl_tree_free(a);
	/* Damaged state is refused, not half-read. */
	CHECK(esqlrule_load(f.rule, state.data, state.len / 2) < 0);
	env_fini(&f);
	buf_free(&state);
}

int
main(void)
{
	test_filter();
	test_bucketed_closes_by_watermark();
	test_cap_keeps_the_larger_group();
	test_checkpoint();
	return check_exit();
}
