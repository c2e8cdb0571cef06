/*
 * engine: the counters add up; no heap allocation per non-matching event,
 * whether the prefilter rejects it or the parser and the filter do (the
 * C heap is counted by interposing malloc); alert JSON is well formed,
 * with a stable uuid and a null key left out.  With ES|QL rules, the
 * totals never go down across reloads: a rule removed, the seed rule
 * put back, rules again.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <yajl/yajl_tree.h>

#include "check.h"
#include "engine.h"
#include "esqlrule.h"
#include "framer.h"

/*
 * Counting allocator: glibc's own entry points under the standard names.
 * Sanitizer builds interpose malloc themselves, so the count is skipped
 * there (the test's other checks still run).
 */
#if defined(__SANITIZE_ADDRESS__)
#define COUNTING 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define COUNTING 0
#endif
#endif
#ifndef COUNTING
#define COUNTING 1
#endif

static uint64_t heap_calls;

#if COUNTING
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);

void *malloc(size_t n);
void *calloc(size_t a, size_t b);
void *realloc(void *p, size_t n);
void free(void *p);

void *
malloc(size_t n)
{
	heap_calls++;
	return __libc_malloc(n);
}

void *
calloc(size_t a, size_t b)
{
	heap_calls++;
	return __libc_calloc(a, b);
}

void *
realloc(void *p, size_t n)
{
	heap_calls++;
	return __libc_realloc(p, n);
}

void
free(void *p)
{
	__libc_free(p);
}
#endif

static char alerts[1 << 16];
static size_t alerts_len, nalerts;

static void
out_cb(void *arg, const char *json, size_t len)
{
	(void)arg;
	if (alerts_len + len < sizeof(alerts)) {
		memcpy(alerts + alerts_len, json, len);
		alerts_len += len;
	}
	nalerts++;
}

static const char unmatched_python[] =
    "{\"@timestamp\":\"2024-05-01T12:00:01Z\",\"agent\":{\"id\":\"a\"},"
    "\"host\":{\"name\":\"h\",\"os\":{\"type\":\"linux\"}},\"event\":"
    "{\"type\":[\"start\",\"end\"],\"action\":\"exec\"},\"process\":{\"name\":"
    "\"bash\",\"args\":[\"python3\",\"-c\",\"print(1)\"],\"parent\":"
    "{\"name\":\"python3\",\"entity_id\":\"E\"},\"Ext\":{\"ancestry\":"
    "[\"x\",\"y\"]}}}\n";
static const char unmatched_other[] =
    "{\"@timestamp\":\"2024-05-01T12:00:01Z\",\"agent\":{\"id\":\"a\"},"
    "\"process\":{\"name\":\"ls\",\"parent\":{\"name\":\"bash\"}}}\n";

/* The literals every line that can match must hold, as JSON strings. */
#define PASSES "\"python\",\"start\",\"exec\",\"linux\",\"sh\",\"-c\""

static const char *
event(int i, const char *parent, const char *cmd)
{
	static char buf[1024];

	snprintf(
	    buf, sizeof(buf),
	    "{\"@timestamp\":\"2024-05-01T12:00:%02d.5+00:00\",\"agent\":"
	    "{\"id\":\"a\"},\"host\":{\"name\":\"h\",\"os\":{\"type\":"
	    "\"linux\"}},\"event\":{\"type\":\"start\",\"action\":\"exec\","
	    "\"dataset\":\"endpoint.events.process\"},\"process\":{\"name\":"
	    "\"sh\",\"args\":[\"sh\",\"-c\",\"%s\"],\"command_line\":\"sh -c "
	    "%s\",\"parent\":{\"name\":\"python3\"%s}}}\n",
	    i, cmd, cmd, parent);
	return buf;
}

static const char *
sval(yajl_val v)
{
	const char *s = YAJL_IS_STRING(v) ? v->u.string : NULL;

	return s != NULL ? s : "";
}

static void
feed(struct framer *fr, const char *s)
{
	framer_feed(fr, s, strlen(s));
}

/* A configuration loaded from text; NULL if refused. */
static struct conf *
conf_of(const char *text)
{
	char path[] = "/tmp/test_engine.XXXXXX";
	int fd = mkstemp(path);
	struct conf *c;
	FILE *f;

	if (fd < 0 || (f = fdopen(fd, "w")) == NULL) {
		perror(path);
		exit(1);
	}
	fputs(text, f);
	fclose(f);
	c = conf_load(path, stderr);
	unlink(path);
	return c;
}

#define RULE_SH                                               \
	"  - name: sh\n"                                      \
	"    rule_id: 11111111-1111-4111-8111-111111111111\n" \
	"    query: 'FROM logs-* | WHERE process.name == \"sh\"'\n"
#define RULE_NC                                               \
	"  - name: nc\n"                                      \
	"    rule_id: 22222222-2222-4222-8222-222222222222\n" \
	"    query: 'FROM logs-* | WHERE process.name == \"nc\"'\n"

static const char nc_line[] =
    "{\"@timestamp\":\"2024-05-01T12:00:01Z\",\"process\":{\"name\":"
    "\"nc\"}}";

static uint64_t
total(struct engine *e, enum metric m)
{
	return engine_metrics(e)->v[m];
}

/*
 * Two filter rules (each of its events an alert at once); a reload
 * that drops one keeps its alerts in the totals and the other's own
 * counts; a reload to the built-in default and back to rules keeps
 * them too.
 */
static void
test_rules_reload(void)
{
	struct conf *both = conf_of("rules:\n" RULE_SH RULE_NC);
	struct conf *sh = conf_of("rules:\n" RULE_SH);
	struct conf *seed = conf_of("log_level: info\n");
	struct engine *e;
	const char *ev;

	CHECK(both != NULL && sh != NULL && seed != NULL);
	if (both == NULL || sh == NULL || seed == NULL)
		return;
	nalerts = 0;
	e = engine_new(both, false, out_cb, NULL);
	CHECK_EQ_INT((int)engine_nrules(e), 2);
	ev = event(1, "", "id");
	engine_line(e, ev, strlen(ev) - 1);
	engine_line(e, ev, strlen(ev) - 1);
	engine_line(e, nc_line, strlen(nc_line));
	CHECK_EQ_INT((int)nalerts, 3);
	CHECK_EQ_INT((int)total(e, M_alerts), 3);
	CHECK_EQ_INT((int)esqlrule_metrics(engine_rule(e, 1))->v[M_alerts], 1);

	/* nc goes: its alert stays in the total; sh keeps its counts. */
	CHECK_EQ_INT(engine_reload(e, sh), 1);
	CHECK_EQ_INT((int)engine_nrules(e), 1);
	CHECK(strcmp(esqlrule_meta(engine_rule(e, 0))->name, "sh") == 0);
	CHECK_EQ_INT((int)esqlrule_metrics(engine_rule(e, 0))->v[M_alerts], 2);
	CHECK_EQ_INT((int)total(e, M_alerts), 3);
	engine_line(e, ev, strlen(ev) - 1);
	CHECK_EQ_INT((int)total(e, M_alerts), 4);

	/* To the built-in default and back: nothing of the totals lost. */
	CHECK_EQ_INT(engine_reload(e, seed), 0);
	CHECK_EQ_INT((int)total(e, M_alerts), 4);
	CHECK_EQ_INT((int)total(e, M_events_matched), 4);
	CHECK_EQ_INT(engine_reload(e, both), 0);
	CHECK_EQ_INT((int)total(e, M_alerts), 4);
	engine_line(e, nc_line, strlen(nc_line));
	CHECK_EQ_INT((int)total(e, M_alerts), 5);
	CHECK_EQ_INT((int)esqlrule_metrics(engine_rule(e, 1))->v[M_alerts], 1);
	CHECK_EQ_INT((int)nalerts, 5);
	engine_free(e);
	conf_free(both);
	conf_free(sh);
	conf_free(seed);
}

/*
 * The state of the default rule in a checkpoint: saved and restored into
 * a fresh engine, a window left open alerts there; the retired built-in
 * rule's window state is told apart (-2) from a malformed one (-1).
 */
static void
test_state(const struct conf *conf)
{
	static const char *cmds[] = {"grep a", "find b", "curl c", "env x",
				     "whoami"};
	struct engine *a = engine_new(conf, false, out_cb, NULL);
	struct engine *b = engine_new(conf, false, out_cb, NULL);
	struct framer *fr =
	    framer_new(conf->max_line_bytes, engine_line, a, engine_metrics(a));
	struct buf st = {0}, old = {0};
	struct conf *other;
	FILE *devnull = fopen("/dev/null", "w");
	struct strlist paths = {0};
	char path[4096];
	const char *root = getenv("BURSTD_SOURCE_ROOT");

	CHECK_EQ_INT(engine_fingerprint(a), engine_fingerprint(b));
	/* Four of the five command lines: the window stays open. */
	alerts_len = 0;
	for (int i = 0; i < 4; i++)
		feed(fr, event(i, "", cmds[i]));
	framer_finish(fr);
	CHECK_EQ_INT(engine_groups(a), 1);
	engine_save(a, &st);
	CHECK_EQ_INT(engine_load(b, st.data, st.len - 1), -1);
	engine_free(b);
	b = engine_new(conf, true, out_cb, NULL);
	CHECK_EQ_INT(engine_load(b, st.data, st.len), 0);
	CHECK_EQ_INT(engine_groups(b), 1);
	framer_free(fr);
	fr =
	    framer_new(conf->max_line_bytes, engine_line, b, engine_metrics(b));
	feed(fr, event(4, "", cmds[4]));
	framer_finish(fr);
	engine_flush(b);
	CHECK_EQ_INT(engine_metrics(b)->v[M_alerts], 1);
	alerts[alerts_len] = '\0';
	CHECK(strstr(alerts,
		     "\"Esql.process_command_line_count_distinct\":5") != NULL);

	/* What a checkpoint of the retired built-in rule held: its window
	 * kind's format first. */
	buf_put_u64(&old, UINT64_C(0x5753544154450003));
	buf_put_u64(&old, 6);
	engine_free(b);
	b = engine_new(conf, true, out_cb, NULL);
	CHECK_EQ_INT(engine_load(b, old.data, old.len), -2);
	CHECK_EQ_INT(engine_groups(b), 0);
	CHECK_EQ_INT(engine_load(b, "junk", 4), -1);

	/* Other rules: another fingerprint, and the default's state is not
	 * theirs. */
	if (root != NULL) {
		snprintf(path, sizeof(path), "%s/tests/data/esql/seed.esql",
			 root);
		strlist_add(&paths, path);
		other = conf_default();
		CHECK_EQ_INT(conf_set_rules(other, &paths, devnull), 0);
		engine_free(a);
		a = engine_new(other, true, out_cb, NULL);
		CHECK(engine_fingerprint(a) != engine_fingerprint(b));
		CHECK_EQ_INT(engine_load(a, st.data, st.len), 0);
		CHECK_EQ_INT(engine_groups(a), 0);
		engine_free(a);
		a = NULL;
		conf_free(other);
		strlist_clear(&paths);
	}
	fclose(devnull);
	framer_free(fr);
	engine_free(a);
	engine_free(b);
	buf_free(&st);
	buf_free(&old);
}

int
main(void)
{
	struct conf *conf = conf_default();

	/* As --replay: alerts at window close (no early documents, whose
	 * detected_ms would differ from run to run). */
	conf->alert_on_force = ALERT_ON_CLOSE;
	struct engine *e = engine_new(conf, true, out_cb, NULL);
	struct metrics *m = engine_metrics(e);
	struct framer *fr = framer_new(conf->max_line_bytes, engine_line, e, m);
	static const char *cmds[] = {"grep x", "find /", "curl h", "whoami",
				     "ls"};
	uint64_t before;

	engine_set_clock(e, 1);
	/* Warm up, then count. */
	for (int i = 0; i < 100; i++) {
		feed(fr, unmatched_python);
		feed(fr, unmatched_other);
		feed(fr, "{\"bad\n");
	}
	before = heap_calls;
	for (int i = 0; i < 10000; i++) {
		feed(fr, unmatched_python);
		feed(fr, unmatched_other);
		feed(fr, "{\"x\":[" PASSES "],[\n");
	}
	if (COUNTING)
		CHECK_EQ_INT(heap_calls - before, 0);
	CHECK_EQ_INT(m->v[M_lines_prefiltered], 10200);
	if (COUNTING)
		CHECK(heap_calls > 0); /* the interposer works */
	CHECK_EQ_INT(m->v[M_events_unmatched], 10100);
	CHECK_EQ_INT(m->v[M_json_invalid], 10000);

	/* A burst with a null parent entity id, then the alert. */
	for (int i = 0; i < 5; i++)
		feed(fr, event(i, "", cmds[i]));
	feed(fr,
	     "[1]\n\n{\"a\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
	     "[[[[[[[[[[[[[[[[[[[[" PASSES
	     "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"
	     "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}\n");
	feed(fr, "{\"python\":\"\\u12\"}\n"); /* \\u: never prefiltered */
	framer_finish(fr);
	engine_flush(e);
	CHECK_EQ_INT(nalerts, 1);
	CHECK_EQ_INT(m->v[M_json_not_object], 0); /* prefiltered: no python */
	CHECK_EQ_INT(m->v[M_json_too_deep], 1);
	CHECK_EQ_INT(m->v[M_json_invalid], 10001);
	CHECK_EQ_INT(m->v[M_events_matched], 5);
	CHECK_EQ_INT(m->v[M_lines_blank], 1);
	/* Every line ends in exactly one counter. */
	CHECK_EQ_INT(m->v[M_lines_read], m->v[M_lines_too_long] +
					     m->v[M_lines_prefiltered] +
					     m->v[M_lines_parsed]);
	CHECK_EQ_INT(m->v[M_lines_parsed],
		     m->v[M_json_invalid] + m->v[M_json_not_object] +
			 m->v[M_json_too_deep] + m->v[M_events_unmatched] +
			 m->v[M_events_matched]);

	/* The alert document. */
	{
		char errbuf[256];
		yajl_val doc;
		static const char *cols[] =
		    {"Esql.process_command_line_values",
		     "Esql.host_name_values", "Esql.agent_id_values",
		     "Esql.event_dataset_values",
		     "Esql.data_stream_namespace_values"};
		const char *p_count[] =
		    {"Esql.process_command_line_count_distinct", NULL};
		const char *p_pat[] = {"Esql.patterns_count_distinct", NULL};
		const char *p_parent[] = {"process.parent.entity_id", NULL};
		const char *p_agent[] = {"agent.id", NULL};
		const char *p_win[] = {"Esql.time_window_date_trunc", NULL};
		const char *p_uuid[] = {"kibana.alert.uuid", NULL};
		const char *p_ts[] = {"@timestamp", NULL};
		const char *p_score[] = {"kibana.alert.risk_score", NULL};
		const char *p_threat[] = {"threat", NULL};

		alerts[alerts_len] = '\0';
		CHECK(alerts_len > 0 && alerts[alerts_len - 1] == '\n');
		doc = yajl_tree_parse(alerts, errbuf, sizeof(errbuf));
		CHECK(doc != NULL && YAJL_IS_OBJECT(doc));
		if (doc != NULL) {
			yajl_val v = yajl_tree_get(doc, p_count, yajl_t_number);
			CHECK(v != NULL && YAJL_GET_INTEGER(v) == 5);
			v = yajl_tree_get(doc, p_pat, yajl_t_number);
			CHECK(v != NULL && YAJL_GET_INTEGER(v) == 5);
			CHECK(yajl_tree_get(doc, p_parent, yajl_t_any) == NULL);
			v = yajl_tree_get(doc, p_agent, yajl_t_string);
			CHECK(v != NULL && strcmp(sval(v), "a") == 0);
			v = yajl_tree_get(doc, p_win, yajl_t_string);
			CHECK(v != NULL &&
			      strcmp(sval(v), "2024-05-01T12:00:00.000Z") == 0);
			v = yajl_tree_get(doc, p_ts, yajl_t_string);
			CHECK(v != NULL &&
			      strcmp(sval(v), "1970-01-01T00:00:00.001Z") == 0);
			v = yajl_tree_get(doc, p_uuid, yajl_t_string);
			CHECK(v != NULL && strlen(sval(v)) == 36);
			v = yajl_tree_get(doc, p_score, yajl_t_number);
			CHECK(v != NULL && YAJL_GET_INTEGER(v) == 47);
			CHECK(yajl_tree_get(doc, p_threat, yajl_t_array));
			for (size_t i = 0; i < 5; i++) {
				const char *p[] = {cols[i], NULL};
				CHECK(yajl_tree_get(doc, p, yajl_t_array) !=
				      NULL);
			}
			const char *p0[] = {cols[0], NULL};
			v = yajl_tree_get(doc, p0, yajl_t_array);
			CHECK(v != NULL && YAJL_GET_ARRAY(v)->len == 5 &&
			      strcmp(sval(YAJL_GET_ARRAY(v)->values[0]),
				     "sh -c curl h") == 0);
			yajl_tree_free(doc);
		}
	}

	/* The uuid depends on the key and window only. */
	{
		char first[sizeof(alerts)];
		memcpy(first, alerts, alerts_len + 1);
		framer_free(fr);
		engine_free(e);
		e = engine_new(conf, true, out_cb, NULL);
		engine_set_clock(e, 1);
		fr = framer_new(conf->max_line_bytes, engine_line, e,
				engine_metrics(e));
		alerts_len = 0;
		for (int i = 4; i >= 0; i--)
			feed(fr, event(i + 10, "", cmds[i]));
		framer_finish(fr);
		engine_flush(e);
		alerts[alerts_len] = '\0';
		CHECK_STR(alerts, first);
		alerts_len = 0;
		for (int i = 0; i < 5; i++)
			feed(fr, event(i, ",\"entity_id\":\"E\"", cmds[i]));
		framer_finish(fr);
		engine_flush(e);
		alerts[alerts_len] = '\0';
		CHECK(strncmp(strstr(alerts, "uuid"), strstr(first, "uuid"),
			      48) != 0);
	}
	framer_free(fr);
	engine_free(e);
	test_state(conf);
	conf_free(conf);
	test_rules_reload();
	return check_exit();
}
