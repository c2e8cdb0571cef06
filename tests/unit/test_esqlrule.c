/*
 * esqlrule: a compiled ES|QL rule on records: a filter rule alerts per
 * matching event; a bucketed rule alerts when the watermark closes the
 * window, not before, with VALUES sorted and always an array; the cap
 * keeps the larger group and counts the other; each event ends in one
 * counter; a checkpoint taken mid-window carries the state over.
 * Early alerting: the alert leaves on the event that makes the condition
 * true (not one before), the final one carries the same uuid and the
 * whole sets, none when nothing changed, a condition that is not
 * monotone stays at close, a restart between early and final neither
 * repeats the early one nor loses the final one, and the cap lets the
 * first groups alert early and holds the rest for the close.
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

/* Rules made by env_init() alert early (alert_on: threshold). */
static bool early_mode;
static uint64_t arrival_ns;

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
	    .early = early_mode,
	    .arrival_ns = &arrival_ns,
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

#define DISTINCT3                                                         \
	"FROM logs-* | STATS c = COUNT_DISTINCT(process.name), "          \
	"v = VALUES(process.name) BY agent.id, w = DATE_TRUNC(1 minute, " \
	"@timestamp) | WHERE c >= 3"

/* One event of agent.id ag running name ss seconds after 12:00. */
static void
ev(struct env *e, const char *ag, const char *name, int ss)
{
	char line[256];

	snprintf(line, sizeof(line),
		 "{\"@timestamp\":\"2024-05-01T12:%02d:%02dZ\",\"agent\":{"
		 "\"id\":\"%s\"},\"process\":{\"name\":\"%s\"}}",
		 ss / 60, ss % 60, ag, name);
	feed(e, line);
}

static size_t
arr_len(yajl_val v)
{
	return YAJL_IS_ARRAY(v) ? YAJL_GET_ARRAY(v)->len : 0;
}

static void
test_early_on_the_deciding_event(void)
{
	struct env e;
	yajl_val a, b;
	struct metrics *m;

	early_mode = true;
	env_init(&e, DISTINCT3, 100, 1000);
	CHECK(esqlrule_early(e.rule));
	arrival_ns = mono_now_ns();
	ev(&e, "a", "sh", 1);
	ev(&e, "a", "id", 2);
	ev(&e, "a", "sh", 3); /* a repeat: still 2 distinct */
	CHECK_EQ_INT(e.alerts, 0);
	ev(&e, "a", "uname", 4); /* the third distinct: now */
	CHECK_EQ_INT(e.alerts, 1);
	a = alert(&e, 0);
	CHECK(strcmp(sv(get(a, "burstd.phase")), "early") == 0);
	CHECK_EQ_INT(YAJL_GET_INTEGER(get(a, "c")), 3);
	CHECK_EQ_INT(arr_len(get(a, "v")), 3);
	CHECK(YAJL_IS_NUMBER(get(a, "burstd.detected_ms")));
	CHECK(YAJL_GET_DOUBLE(get(a, "burstd.detected_ms")) >= 0);
	CHECK(strcmp(sv(get(a, "burstd.window_end")),
		     "2024-05-01T12:01:00.000Z") == 0);
	/* More of the same group: no second early alert. */
	ev(&e, "a", "whoami", 5);
	ev(&e, "a", "hostname", 6);
	/* Another group, below its threshold. */
	ev(&e, "b", "sh", 6);
	CHECK_EQ_INT(e.alerts, 1);
	esqlrule_check_state(e.rule);
	/* The watermark closes the window: the final document. */
	ev(&e, "a", "x", 62);
	CHECK_EQ_INT(e.alerts, 2);
	b = alert(&e, 1);
	CHECK(strcmp(sv(get(b, "burstd.phase")), "final") == 0);
	CHECK(strcmp(sv(get(b, "kibana.alert.uuid")),
		     sv(get(a, "kibana.alert.uuid"))) == 0);
	CHECK_EQ_INT(YAJL_GET_INTEGER(get(b, "c")), 5);
	CHECK_EQ_INT(arr_len(get(b, "v")), 5);
	CHECK(get(b, "burstd.detected_ms") == NULL);
	yajl_tree_free(a);
	yajl_tree_free(b);
	m = esqlrule_metrics(e.rule);
	CHECK_EQ_INT(m->v[M_alerts], 1);
	CHECK_EQ_INT(m->v[M_alerts_early], 1);
	CHECK_EQ_INT(m->v[M_alerts_final], 1);
	CHECK_EQ_INT(m->v[M_alerts_final_unchanged], 0);
	esqlrule_flush(e.rule);
	/* b's group never passed; a's 12:01 group has one row. */
	CHECK_EQ_INT(e.alerts, 2);
	esqlrule_check_state(e.rule);
	env_fini(&e);
	early_mode = false;
}

static void
test_no_final_when_unchanged(void)
{
	struct env e;
	struct metrics *m;

	early_mode = true;
	env_init(&e, DISTINCT3, 100, -1);
	ev(&e, "a", "sh", 1);
	ev(&e, "a", "id", 2);
	ev(&e, "a", "uname", 3);
	CHECK_EQ_INT(e.alerts, 1);
	ev(&e, "a", "id", 4); /* changes neither c nor v */
	esqlrule_flush(e.rule);
	CHECK_EQ_INT(e.alerts, 1);
	m = esqlrule_metrics(e.rule);
	CHECK_EQ_INT(m->v[M_alerts], 1);
	CHECK_EQ_INT(m->v[M_alerts_final], 0);
	CHECK_EQ_INT(m->v[M_alerts_final_unchanged], 1);
	esqlrule_check_state(e.rule);
	env_fini(&e);
	early_mode = false;
}

static void
test_not_monotone_stays_at_close(void)
{
	struct env e;
	yajl_val a;

	early_mode = true;
	env_init(&e,
		 "FROM logs-* | STATS c = COUNT(*) BY agent.id, "
		 "w = DATE_TRUNC(1 minute, @timestamp) | WHERE c >= 2 AND "
		 "c <= 3",
		 100, -1);
	CHECK(!esqlrule_early(e.rule));
	for (int i = 0; i < 3; i++)
		ev(&e, "a", "sh", i);
	for (int i = 0; i < 4; i++)
		ev(&e, "b", "sh", i);
	CHECK_EQ_INT(e.alerts, 0);
	esqlrule_flush(e.rule);
	/* a's 3 rows pass; b's 4 do not (a fourth row made it false). */
	CHECK_EQ_INT(e.alerts, 1);
	a = alert(&e, 0);
	CHECK(strcmp(sv(get(a, "agent.id")), "a") == 0);
	CHECK(get(a, "burstd.phase") == NULL);
	yajl_tree_free(a);
	CHECK_EQ_INT(esqlrule_metrics(e.rule)->v[M_alerts_early], 0);
	env_fini(&e);
	early_mode = false;
}

/* A restart between the early alert and the close. */
static void
test_restart_between_early_and_final(void)
{
	struct env e, f, g;
	struct buf state = {0};
	yajl_val a, b;
	char uuid[64];

	early_mode = true;
	env_init(&e, DISTINCT3, 100, -1);
	ev(&e, "a", "sh", 1);
	ev(&e, "a", "id", 2);
	ev(&e, "a", "uname", 3);
	CHECK_EQ_INT(e.alerts, 1);
	a = alert(&e, 0);
	snprintf(uuid, sizeof(uuid), "%s", sv(get(a, "kibana.alert.uuid")));
	yajl_tree_free(a);
	esqlrule_save(e.rule, &state);
	env_fini(&e);

	/* Restored, one more value: the final, and no second early. */
	env_init(&f, DISTINCT3, 100, -1);
	CHECK_EQ_INT(esqlrule_load(f.rule, state.data, state.len), 0);
	esqlrule_check_state(f.rule);
	ev(&f, "a", "whoami", 4);
	CHECK_EQ_INT(f.alerts, 0);
	esqlrule_flush(f.rule);
	CHECK_EQ_INT(f.alerts, 1);
	b = alert(&f, 0);
	CHECK(strcmp(sv(get(b, "burstd.phase")), "final") == 0);
	CHECK(strcmp(sv(get(b, "kibana.alert.uuid")), uuid) == 0);
	CHECK_EQ_INT(YAJL_GET_INTEGER(get(b, "c")), 4);
	yajl_tree_free(b);
	CHECK_EQ_INT(esqlrule_metrics(f.rule)->v[M_alerts], 0);
	CHECK_EQ_INT(esqlrule_metrics(f.rule)->v[M_alerts_final], 1);
	env_fini(&f);

	/* Restored, nothing new: the early one stands, no document. */
	env_init(&g, DISTINCT3, 100, -1);
	CHECK_EQ_INT(esqlrule_load(g.rule, state.data, state.len), 0);
	ev(&g, "a", "sh", 5);
	esqlrule_flush(g.rule);
	CHECK_EQ_INT(g.alerts, 0);
	CHECK_EQ_INT(esqlrule_metrics(g.rule)->v[M_alerts_final_unchanged], 1);
	env_fini(&g);

	/* A rule that alerts at close reads the same state. */
	early_mode = false;
	env_init(&g, DISTINCT3, 100, -1);
	CHECK_EQ_INT(esqlrule_load(g.rule, state.data, state.len), 0);
	ev(&g, "a", "whoami", 5);
	esqlrule_flush(g.rule);
	CHECK_EQ_INT(g.alerts, 1);
	b = alert(&g, 0);
	CHECK(strcmp(sv(get(b, "burstd.phase")), "final") == 0);
	yajl_tree_free(b);
	env_fini(&g);
	buf_free(&state);
}

/* max_signals 1: the first group to cross alerts early, the next waits
 * for the close, where the cap counts the early one. */
static void
test_early_cap(void)
{
	struct env e;
	struct metrics *m;
	yajl_val a;

	early_mode = true;
	env_init(&e, DISTINCT3, 1, -1);
	ev(&e, "a", "sh", 1);
	ev(&e, "a", "id", 2);
	ev(&e, "a", "uname", 3);
	CHECK_EQ_INT(e.alerts, 1);
	for (int i = 0; i < 5; i++) {
		char n[8];
		snprintf(n, sizeof(n), "p%d", i);
		ev(&e, "b", n, 10 + i);
	}
	CHECK_EQ_INT(e.alerts, 1);
	m = esqlrule_metrics(e.rule);
	CHECK_EQ_INT(m->v[M_alerts_early_held], 1);
	esqlrule_check_state(e.rule);
	esqlrule_flush(e.rule);
	CHECK_EQ_INT(e.alerts, 1);
	a = alert(&e, 0);
	CHECK(strcmp(sv(get(a, "agent.id")), "a") == 0);
	yajl_tree_free(a);
	CHECK_EQ_INT(m->v[M_alerts_suppressed], 1);
	CHECK_EQ_INT(m->v[M_alerts], 1);
	env_fini(&e);

	/* The held group alerts at close when the window has room. */
	env_init(&e, DISTINCT3, 2, -1);
	for (int i = 0; i < 3; i++) {
		char n[8];
		snprintf(n, sizeof(n), "p%d", i);
		ev(&e, "a", n, i);
		ev(&e, "b", n, i);
		ev(&e, "c", n, i);
	}
	CHECK_EQ_INT(e.alerts, 2);
	CHECK_EQ_INT(esqlrule_metrics(e.rule)->v[M_alerts_early_held], 1);
	esqlrule_flush(e.rule);
	CHECK_EQ_INT(e.alerts, 2);
	CHECK_EQ_INT(esqlrule_metrics(e.rule)->v[M_alerts_suppressed], 1);
	env_fini(&e);
	early_mode = false;
}

int
main(void)
{
	test_filter();
	test_bucketed_closes_by_watermark();
	test_cap_keeps_the_larger_group();
	test_checkpoint();
	test_early_on_the_deciding_event();
	test_no_final_when_unchanged();
	test_not_monotone_stays_at_close();
	test_restart_between_early_and_final();
	test_early_cap();
	return check_exit();
}
