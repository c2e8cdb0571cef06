/*
 * test_esql_plan: ES|QL queries compiled into streamable plans: shapes,
 * name resolution, refusals with their exact messages, running
 * programs, the SORT order, fingerprints, early-alert soundness and the
 * prefilter.
 *
 * ES|QL semantics cited:
 *   KEEP: "Fields are added in the order they appear ... Complete field
 *     name, Partial wildcard expressions, Wildcard only ... If a field
 *     matches two expressions with the same precedence, the rightmost
 *     expression wins." (elastic.co/docs/reference/query-languages/esql/
 *     commands/keep)
 *   SORT: "Sorting on multivalued columns uses the lowest value when
 *     sorting ascending and the highest value when sorting descending
 *     ... With an ascending sort order, null values are sorted last,
 *     and with a descending sort order, null values are sorted first."
 *     (.../esql/commands/sort)
 *   MV_EXPAND: one row per value (.../esql/commands/mv_expand).
 *   STATS output: the aggregates, then the BY keys, in the order written
 *     (esql-rule-semantics.md 4.2).
 */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "esql_plan.h"

static char err[512];

static struct esql_plan *
compile(const char *q)
{
	struct esql_plan *p =
	    esql_plan_from_text(q, strlen(q), err, sizeof(err));

	if (p == NULL)
		fprintf(stderr, "compile failed: %s\n  query: %s\n", err, q);
	return p;
}

static int
field_index(const struct esql_plan *p, const char *name)
{
	for (size_t i = 0; i < p->nfields; i++)
		if (strcmp(p->fields[i], name) == 0)
			return (int)i;
	return -1;
}

/* pg->out as "name:column:type name:column:type". */
static const char *
outs(const struct esql_plan *p, const struct esql_program *pg, bool cols)
{
	static char s[1024];
	size_t n = 0;

	s[0] = '\0';
	for (size_t i = 0; i < pg->nout && n < sizeof(s) - 100; i++) {
		if (cols)
			n += (size_t)snprintf(s + n, sizeof(s) - n, "%s%s:%s",
					      i ? " " : "", pg->out[i].name,
					      esql_type_name(pg->out[i].type));
		else
			n += (size_t)snprintf(s + n, sizeof(s) - n, "%s%s",
					      i ? " " : "", pg->out[i].name);
	}
	(void)p;
	return s;
}

static const char seed[] =
    "FROM logs-endpoint.events.process-* METADATA _id, _version, _index\n"
    "\n"
    "| WHERE host.os.type in (\"linux\", \"macos\") and event.type == "
    "\"start\" and TO_LOWER(process.parent.name) like \"python*\" and\n"
    "  process.name in (\"bash\", \"dash\", \"sh\", \"tcsh\", \"csh\", "
    "\"zsh\", \"ksh\", \"fish\", \"busybox\") and\n"
    "  KQL(\"\"\"event.action:\"exec\" and process.args:(\"-c\" or "
    "\"-cl\" or \"-lc\")\"\"\")\n"
    "\n"
    "// truncate timestamp to 1-minute window\n"
    "| EVAL Esql.time_window_date_trunc = DATE_TRUNC(1 minutes, "
    "@timestamp)\n"
    "\n"
    "| EVAL Esql.process_command_line_patterns = CASE(\n"
    "  process.command_line like \"*grep*\", \"grep\",\n"
    "  process.command_line like \"*find*\", \"find\",\n"
    "  process.command_line like \"*curl*\", \"curl\",\n"
    "  process.command_line like \"*env *\", "
    "\"environment_enumeration\",\n"
    "  process.command_line like \"*wget*\", \"wget\",\n"
    "  process.command_line like \"*whoami*\" or process.command_line "
    "like \"*uname*\" or process.command_line like \"*hostname*\", "
    "\"discovery\", \"other\"\n"
    ")\n"
    "\n"
    "| KEEP\n"
    "    @timestamp,\n"
    "    _id,\n"
    "    _index,\n"
    "    _version,\n"
    "    Esql.process_command_line_patterns,\n"
    "    Esql.time_window_date_trunc,\n"
    "    host.os.type,\n"
    "    event.type,\n"
    "    event.action,\n"
    "    process.parent.name,\n"
    "    process.working_directory,\n"
    "    process.parent.working_directory,\n"
    "    process.name,\n"
    "    process.executable,\n"
    "    process.command_line,\n"
    "    process.parent.executable,\n"
    "    process.parent.entity_id,\n"
    "    agent.id,\n"
    "    host.name,\n"
    "    data_stream.dataset,\n"
    "    data_stream.namespace\n"
    "\n"
    "| STATS\n"
    "  Esql.process_command_line_count_distinct = "
    "COUNT_DISTINCT(process.command_line),\n"
    "  Esql.patterns_count_distinct = "
    "COUNT_DISTINCT(Esql.process_command_line_patterns),\n"
    "  Esql.process_command_line_values = VALUES(process.command_line),\n"
    "  Esql.host_name_values = values(host.name),\n"
    "  Esql.agent_id_values = values(agent.id),\n"
    "  Esql.data_stream_dataset_values = values(data_stream.dataset),\n"
    "  Esql.data_stream_namespace_values = "
    "values(data_stream.namespace)\n"
    "  BY process.parent.entity_id, agent.id, host.name, "
    "Esql.time_window_date_trunc\n"
    "\n"
    "| SORT Esql.process_command_line_count_distinct DESC\n"
    "| WHERE Esql.process_command_line_count_distinct >= 5 AND "
    "Esql.patterns_count_distinct >= 4\n";

/* What the seed rule compiles to (survey 1.1; semantics 4, 5). */
static void
check_seed_plan(const struct esql_plan *p)
{
	static const char *const by[] = {"process.parent.entity_id", "agent.id",
					 "host.name",
					 "Esql.time_window_date_trunc"};
	static const int sets[] = {0, 1, 0, 2, 3, 4, 5};
	int ts = field_index(p, "@timestamp"), pl;

	CHECK_EQ_INT(p->shape, ESQL_SHAPE_BUCKETED);
	CHECK_EQ_INT(p->span_ms, 60000);
	CHECK_EQ_INT(p->nby, 4);
	for (size_t i = 0; i < 4 && i < p->nby; i++)
		CHECK_STR(p->by[i].name, by[i]);
	CHECK_EQ_INT(p->bucket_by, 3);
	CHECK_EQ_INT(p->by[3].type, ESQL_T_DATETIME);
	CHECK_EQ_INT(p->watermark_by, 1);
	CHECK(ts >= 0);
	CHECK_EQ_INT(p->time_column, ts);
	CHECK_EQ_INT(p->field_types[ts], ESQL_T_DATETIME);
	/* agent.id is read unchanged from the event */
	CHECK_EQ_INT(p->by[1].column, field_index(p, "agent.id"));
	CHECK_EQ_INT(p->naggs, 7);
	CHECK_EQ_INT(p->specs[0].kind, AGG_COUNT_DISTINCT);
	CHECK_EQ_INT(p->specs[1].kind, AGG_COUNT_DISTINCT);
	for (size_t i = 2; i < 7; i++)
		CHECK_EQ_INT(p->specs[i].kind, AGG_VALUES);
	/* COUNT_DISTINCT and VALUES of process.command_line share set 0 */
	CHECK_EQ_INT(p->nsets, 6);
	for (size_t i = 0; i < 7; i++)
		CHECK_EQ_INT(p->specs[i].set, sets[i]);
	pl = field_index(p, "process.command_line");
	CHECK_EQ_INT(p->aggs[0].arg_column, pl);
	CHECK_EQ_INT(p->aggs[2].arg_column, pl);
	CHECK_EQ_INT(p->aggs[1].arg_column >= (int)p->nfields, 1);
	CHECK_STR(p->aggs[6].name, "Esql.data_stream_namespace_values");
	/* post: the threshold; output: aggregates, then the keys */
	CHECK_EQ_INT(p->post.nsteps, 1);
	CHECK_EQ_INT(p->post.steps[0].kind, ESQL_STEP_WHERE);
	CHECK_EQ_INT(p->post.nout, 11);
	CHECK_STR(p->post.out[0].name,
		  "Esql.process_command_line_count_distinct");
	CHECK_EQ_INT(p->post.out[0].type, ESQL_T_LONG);
	CHECK_STR(p->post.out[10].name, "Esql.time_window_date_trunc");
	CHECK_EQ_INT(p->post.out[10].column, 10);
	CHECK_EQ_INT(p->nsort, 1);
	CHECK_EQ_INT(p->sort[0].column, 0);
	CHECK(p->sort[0].desc);
	CHECK(p->sort[0].nulls_first);
	CHECK_EQ_INT(p->limit, -1);
	CHECK(p->monotone);
	CHECK_EQ_INT(p->nmetadata, 3);
	CHECK(p->has_needles);
}

static void
test_seed(void)
{
	struct esql_plan *p =
	    esql_plan_from_text(seed, strlen(seed), err, sizeof(err));

	CHECK(p != NULL);
	if (p == NULL) {
		fprintf(stderr, "seed: %s\n", err);
		return;
	}
	check_seed_plan(p);
	/* the fields KQL() names are input columns */
	CHECK(field_index(p, "event.action") >= 0);
	CHECK(field_index(p, "process.args") >= 0);
	esql_plan_free(p);
}

/* The seed without its KQL() conjunct, which must compile today. */
static char *
seed_without_kql(void)
{
	const char *k = strstr(seed, " and\n  KQL("), *e;
	char *s;

	if (k == NULL)
		return NULL;
	e = strstr(k, "\")\n");
	if (e == NULL)
		return NULL;
	e += 2;
	s = xmalloc(strlen(seed) + 1);
	memcpy(s, seed, (size_t)(k - seed));
	strcpy(s + (k - seed), e);
	return s;
}

static void
test_seed_without_kql(void)
{
	char *q = seed_without_kql();
	struct esql_plan *p;
	struct buf b = {0};

	CHECK(q != NULL);
	if (q == NULL)
		return;
	CHECK(strstr(q, "KQL") == NULL);
	p = compile(q);
	free(q);
	CHECK(p != NULL);
	if (p == NULL)
		return;
	check_seed_plan(p);
	/* needles from the one WHERE: of the AND's sides, the one whose
	 * shortest needle is longest: "python" (6) over "start", "linux",
	 * "exec" and the shells' "sh" */
	CHECK_EQ_INT(p->needles.n, 1);
	CHECK_EQ_INT(p->needles.v[0].column,
		     field_index(p, "process.parent.name"));
	CHECK(p->needles.v[0].len == 6 &&
	      memcmp(p->needles.v[0].p, "python", 6) == 0);
	CHECK(p->needles.v[0].where == ESQL_NEEDLE_START &&
	      p->needles.v[0].fold);
	esql_plan_explain(p, &b);
	buf_cstr(&b);
	CHECK(strstr(b.data, "shape: bucketed STATS\n") != NULL);
	CHECK(strstr(b.data, "window: 60000 ms, by key 3 "
			     "(Esql.time_window_date_trunc)\n") != NULL);
	CHECK(strstr(b.data, "metadata: _id is always null in a stream\n") !=
	      NULL);
	CHECK(strstr(b.data, "watermark: per agent.id (by 1)\n") != NULL);
	CHECK(strstr(b.data, "prefilter: process.parent.name start "
			     "\"python\" ascii-case-folded\n") != NULL);
	CHECK(strstr(b.data, "alerting: when the window closes, or early "
			     "under alert_on threshold if sound\n") != NULL);
	/* Each conjunct with literals is a prefilter group of its own,
	 * each needle with its place and case. */
	CHECK(strstr(b.data, "prefilter group 1: host.os.type whole "
			     "\"linux\" exact or host.os.type whole "
			     "\"macos\" exact\n") != NULL);
	CHECK(strstr(b.data, "prefilter group 2: event.type whole \"start\" "
			     "exact\n") != NULL);
	/* TO_LOWER(x) LIKE "python*": the start of the value, any case */
	CHECK(strstr(b.data, "prefilter group 3: process.parent.name start "
			     "\"python\" ascii-case-folded\n") != NULL);
	CHECK(p->ngroups >= 4);
	CHECK(strstr(b.data, "early alerting: sound: monotone") != NULL);
	buf_free(&b);
	esql_plan_free(p);
}

static void
test_filter(void)
{
	struct esql_plan *p;
	int pn;

	p = compile("FROM logs-* METADATA _id\n"
		    "| WHERE process.name == \"bash\"\n"
		    "| EVAL n = LENGTH(process.name), @timestamp\n"
		    "| SORT n DESC\n"
		    "| LIMIT 10");
	CHECK(p != NULL);
	if (p == NULL)
		return;
	CHECK_EQ_INT(p->shape, ESQL_SHAPE_FILTER);
	CHECK_EQ_INT(p->nfields, 2);
	pn = field_index(p, "process.name");
	CHECK_EQ_INT(pn, 0);
	CHECK_EQ_INT(p->time_column, 1);
	/* _id's null, the WHERE, two EVALs */
	CHECK_EQ_INT(p->pre.nsteps, 4);
	CHECK_EQ_INT(p->pre.steps[0].kind, ESQL_STEP_EVAL);
	CHECK_EQ_INT(p->pre.steps[1].kind, ESQL_STEP_WHERE);
	CHECK_EQ_INT(p->pre.ncols, 5);
	/* fields still visible (by name), then METADATA and EVAL columns;
	 * the unnamed EVAL is named by its text, so it replaces the event's
	 * @timestamp */
	CHECK_STR(outs(p, &p->pre, true),
		  "process.name:keyword _id:keyword n:integer "
		  "@timestamp:datetime");
	CHECK_STR(p->ignored, "SORT at 4:3, LIMIT at 5:3");
	CHECK_EQ_INT(p->nsort, 0);
	CHECK_EQ_INT(p->limit, -1);
	CHECK(!p->monotone);
	CHECK(p->has_needles);
	CHECK_EQ_INT(p->needles.v[0].column, pn);
	esql_plan_free(p);

	/* KEEP chooses and orders the output */
	p = compile("FROM a | WHERE event.type IN (\"start\", \"end\") | "
		    "KEEP host.*, event.type");
	CHECK(p != NULL);
	if (p != NULL) {
		/* host.* matches the fields the query names: none here */
		CHECK_STR(outs(p, &p->pre, false), "event.type");
		CHECK(p->ignored == NULL);
		esql_plan_free(p);
	}
}

struct bad_case {
	const char *in, *err;
};

static const struct bad_case bad_cases[] = {
    {"FROM a\n| EVAL b = 1\n| STATS c = COUNT(*) BY host.name",
     "3:3: STATS without a DATE_TRUNC(..., @timestamp) key in BY is not "
     "supported (it aggregates a whole scheduled look-back)"},
    {"FROM a | STATS c = COUNT(*)",
     "1:10: STATS without a DATE_TRUNC(..., @timestamp) key in BY is not "
     "supported (it aggregates a whole scheduled look-back)"},
    /* the bucket must truncate the event's own @timestamp */
    {"FROM a | STATS c = COUNT(*) BY DATE_TRUNC(1 minute, event.created)",
     "1:10: STATS without a DATE_TRUNC(..., @timestamp) key in BY is not "
     "supported (it aggregates a whole scheduled look-back)"},
    {"FROM a | EVAL @timestamp = @timestamp + 1 hour | STATS c = COUNT(*) "
     "BY DATE_TRUNC(1 minute, @timestamp)",
     "1:50: STATS without a DATE_TRUNC(..., @timestamp) key in BY is not "
     "supported (it aggregates a whole scheduled look-back)"},
    {"FROM a | LIMIT 5 | STATS c = COUNT(*) BY DATE_TRUNC(1 minute, "
     "@timestamp)",
     "1:10: LIMIT before STATS is not supported (it keeps the first rows "
     "of a scheduled run)"},
    {"FROM a | STATS c = COUNT(*) BY t = DATE_TRUNC(1 minute, @timestamp) "
     "| STATS d = COUNT(*) BY t",
     "1:71: a second STATS is not supported (it aggregates the output of "
     "the first)"},
    {"FROM a | STATS c = COUNT(*) BY DATE_TRUNC(1 month, @timestamp)",
     "1:32: a window of a calendar span is not supported: DATE_TRUNC's "
     "span must be a time duration"},
    {"FROM a | STATS c = COUNT(*) BY DATE_TRUNC(1 day, @timestamp)",
     "1:43: a time span in days is not supported"},
    {"FROM a | EVAL c = COUNT(x)",
     "1:19: aggregate function COUNT is only valid in STATS"},
    {"FROM a | STATS x = LENGTH(a) BY DATE_TRUNC(1 minute, @timestamp)",
     "1:20: STATS needs an aggregate function, found LENGTH(a)"},
    {"FROM a | STATS x = COUNT(*) + 1 BY DATE_TRUNC(1 minute, @timestamp)",
     "1:20: an expression over aggregates in STATS is not supported "
     "(compute it in an EVAL after STATS): (COUNT(*) + 1)"},
    {"FROM a | STATS m = MEDIAN(x) BY DATE_TRUNC(1 minute, @timestamp)",
     "1:20: aggregate function MEDIAN is not supported"},
    {"FROM a | STATS s = SUM(process.name) BY DATE_TRUNC(1 minute, "
     "@timestamp)",
     "1:20: SUM does not take a keyword argument"},
    {"FROM a | STATS s = COUNT(x, y) BY DATE_TRUNC(1 minute, @timestamp)",
     "1:20: COUNT takes 1 argument, got 2"},
    {"FROM a | STATS s = COUNT(*) WHERE x BY DATE_TRUNC(1 minute, "
     "@timestamp)",
     "1:35: an aggregate's WHERE needs a boolean condition, found "
     "keyword"},
    {"FROM a | WHERE process.name",
     "1:16: WHERE needs a boolean condition, found keyword"},
    {"FROM a METADATA _source | WHERE x == 1",
     "1:1: METADATA _source is not supported"},
    {"FROM a | STATS c = COUNT(*) BY t = DATE_TRUNC(1 minute, @timestamp) "
     "| LIMIT 3 | WHERE c > 1",
     "1:81: WHERE after LIMIT is not supported"},
    /* METADATA is null in a stream: a rule that reads it is refused */
    {"FROM a METADATA _ignored | MV_EXPAND _ignored\n"
     "| WHERE _ignored == \"process.command_line\"",
     "2:9: WHERE reads METADATA _ignored, which is null on every event in "
     "a stream (there is no index): the rule could never match as it does "
     "in Elasticsearch"},
    {"FROM a METADATA _id | EVAL x = CONCAT(\"id-\", _id) | RENAME x AS y "
     "| WHERE y IS NOT NULL",
     "1:75: WHERE reads METADATA _id, which is null on every event in a "
     "stream (there is no index): the rule could never match as it does in "
     "Elasticsearch"},
    {"FROM a METADATA _id | STATS c = COUNT_DISTINCT(_id) BY "
     "DATE_TRUNC(1 minute, @timestamp)",
     "1:48: STATS reads METADATA _id, which is null on every event in a "
     "stream (there is no index): the rule could never match as it does in "
     "Elasticsearch"},
    {"FROM a METADATA _index | STATS c = COUNT(*) BY _index, "
     "DATE_TRUNC(1 minute, @timestamp)",
     "1:48: BY reads METADATA _index, which is null on every event in a "
     "stream (there is no index): the rule could never match as it does in "
     "Elasticsearch"},
    {"FROM a METADATA _id | STATS c = COUNT(*) WHERE _id != \"x\" BY "
     "DATE_TRUNC(1 minute, @timestamp)",
     "1:48: STATS ... WHERE reads METADATA _id, which is null on every "
     "event in a stream (there is no index): the rule could never match as "
     "it does in Elasticsearch"},
    {"FROM a | EVAL k = KQL(\"a:b\")",
     "1:19: KQL() is only supported in a WHERE before STATS and "
     "MV_EXPAND"},
    {"FROM a | MV_EXPAND x | WHERE KQL(\"a:b\")",
     "1:30: KQL() is only supported in a WHERE before STATS and "
     "MV_EXPAND"},
    /* constructor errors come back as they are */
    {"FROM a | WHERE process.name > 1",
     "1:16: cannot compare keyword with integer"},
    {"FROM a | EVAL x = NOW()",
     "1:19: function NOW is not supported: a streaming rule has no query "
     "time"},
    {"FROM a | EVAL x = y::frob", "1:20: unknown type 'frob'"},
    /* names */
    {"FROM a | KEEP x | WHERE y == 1", "1:25: Unknown column [y]"},
    {"FROM a | EVAL x = 1 | DROP x | WHERE x == 1", "1:38: Unknown column [x]"},
    {"FROM a | RENAME process.name AS pn | WHERE process.name == \"x\"",
     "1:44: Unknown column [process.name]"},
    {"FROM a | STATS c = COUNT(*) BY t = DATE_TRUNC(1 minute, @timestamp) "
     "| DROP nope",
     "1:71: Unknown column [nope]"},
    {"FROM a | STATS c = COUNT(*) BY t = DATE_TRUNC(1 minute, @timestamp) "
     "| KEEP c, nope",
     "1:71: Unknown column [nope]"},
    {"FROM a | STATS c = COUNT(*) BY t = DATE_TRUNC(1 minute, @timestamp) "
     "| WHERE host.name == \"x\"",
     "1:77: Unknown column [host.name]"},
    {"FROM a | DROP process.* | WHERE process.name == \"x\"",
     "1:33: Unknown column [process.name]"},
    /* parse errors pass through */
    {"FROM a | WHERE", "1:15: unexpected end of query"},
};

static void
test_refusals(void)
{
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(*bad_cases); i++) {
		const struct bad_case *c = &bad_cases[i];
		struct esql_plan *p =
		    esql_plan_from_text(c->in, strlen(c->in), err, sizeof(err));

		CHECK(p == NULL);
		if (p != NULL) {
			fprintf(stderr, "  compiled: %s\n", c->in);
			esql_plan_free(p);
			continue;
		}
		CHECK_STR(err, c->err);
	}
}

static void
test_names(void)
{
	struct esql_plan *p;

	/* KEEP: in the order written; exact > partial > `*`; the rightmost
	 * of equals wins */
	p = compile("FROM a | EVAL b1 = 1, a1 = 2, b2 = 3 | KEEP b*, a1");
	if (p != NULL)
		CHECK_STR(outs(p, &p->pre, false), "b1 b2 a1");
	esql_plan_free(p);
	p = compile("FROM a | EVAL b1 = 1, a1 = 2, b2 = 3 | KEEP b*, *, b1");
	if (p != NULL)
		CHECK_STR(outs(p, &p->pre, false), "b2 a1 b1");
	esql_plan_free(p);
	p = compile("FROM a | EVAL b1 = 1, a1 = 2, b2 = 3 | KEEP b*, *1");
	if (p != NULL)
		CHECK_STR(outs(p, &p->pre, false), "b2 b1 a1");
	esql_plan_free(p);
	/* a later KEEP wins; event fields named later pass the pattern */
	p = compile("FROM a | EVAL x = 1 | KEEP process.*, x | KEEP x, "
		    "process.* | WHERE process.pid > 1");
	CHECK(p != NULL);
	if (p != NULL) {
		CHECK_STR(outs(p, &p->pre, true), "x:integer process.pid:long");
		CHECK_EQ_INT(p->pre.out[1].column,
			     field_index(p, "process.pid"));
	}
	esql_plan_free(p);
	/* RENAME keeps the position; renaming onto a name replaces it */
	p = compile("FROM a | EVAL x = 1, y = 2, z = 3 | RENAME x AS w, "
		    "z AS y");
	if (p != NULL)
		CHECK_STR(outs(p, &p->pre, false), "w y");
	esql_plan_free(p);
	p = compile("FROM a | RENAME process.name AS pn | WHERE pn == \"x\"");
	CHECK(p != NULL);
	if (p != NULL) {
		CHECK_STR(outs(p, &p->pre, true), "pn:keyword");
		CHECK_EQ_INT(p->pre.out[0].column, 0);
		CHECK_STR(p->fields[0], "process.name");
	}
	esql_plan_free(p);
	/* EVAL shadows: the WHERE reads the computed column */
	p = compile("FROM a | EVAL process.name = TO_UPPER(process.name) | "
		    "WHERE process.name == \"X\"");
	CHECK(p != NULL);
	if (p != NULL) {
		CHECK_EQ_INT(p->nfields, 1);
		CHECK_EQ_INT(p->pre.nout, 1);
		CHECK_EQ_INT(p->pre.out[0].column, 1);
		CHECK_EQ_INT(p->pre.steps[0].column, 1);
		/* the WHERE reads a computed column: no prefilter */
		CHECK(!p->has_needles);
	}
	esql_plan_free(p);
	/* DROP of a pattern that matches nothing is not an error */
	p = compile("FROM a METADATA _id, _index | DROP nothing*, _in* | "
		    "WHERE x == \"1\"");
	if (p != NULL)
		CHECK_STR(outs(p, &p->pre, false), "x _id");
	esql_plan_free(p);
	/* a KQL() field is an input column like any other: found after
	 * the EVAL, it still comes before the computed column */
	p = compile("FROM a | EVAL x = 1 | WHERE KQL(\"event.action:exec\") "
		    "| KEEP x");
	CHECK(p != NULL);
	if (p != NULL) {
		CHECK_EQ_INT(p->nfields, 1);
		CHECK_STR(p->fields[0], "event.action");
		CHECK_EQ_INT(p->pre.ncols, 2);
		CHECK_EQ_INT(p->pre.steps[0].column, 1);
		CHECK_STR(outs(p, &p->pre, false), "x");
		/* KQL's keyword terms are needles */
		CHECK(p->has_needles);
		CHECK_EQ_INT(p->needles.v[0].column, 0);
	}
	esql_plan_free(p);
}

static void
test_bucketed(void)
{
	struct esql_plan *p;

	/* the bucket computed by an EVAL and renamed, and BY written */
	p = compile("FROM a | EVAL t = DATE_TRUNC(5 minutes, @timestamp) | "
		    "RENAME t AS u | STATS c = COUNT(*), n = COUNT(x) WHERE "
		    "x != \"a\", s = SUM(LENGTH(x)), v = VALUES(x) WHERE x != "
		    "\"a\", d = COUNT_DISTINCT(x) BY h = host.name, u, host.id"
		    " | EVAL r = c / 2 | KEEP h, r, c, u | SORT c DESC, "
		    "h NULLS FIRST | LIMIT 10 | LIMIT 20");
	CHECK(p != NULL);
	if (p == NULL)
		return;
	CHECK_EQ_INT(p->span_ms, 300000);
	CHECK_EQ_INT(p->bucket_by, 1);
	CHECK_STR(p->by[0].name, "h");
	CHECK_EQ_INT(p->by[0].column, field_index(p, "host.name"));
	CHECK_STR(p->by[2].name, "host.id");
	/* host.id comes before host.name as a watermark key */
	CHECK_EQ_INT(p->watermark_by, 2);
	CHECK_EQ_INT(p->naggs, 5);
	CHECK_EQ_INT(p->specs[0].kind, AGG_COUNT_ALL);
	CHECK_EQ_INT(p->aggs[0].arg_column, -1);
	CHECK_EQ_INT(p->specs[1].kind, AGG_COUNT);
	CHECK(p->aggs[1].where >= (int)p->nfields);
	/* SUM(LENGTH(x)): a hidden column of the pre row */
	CHECK(p->aggs[2].arg_column >= (int)p->nfields);
	CHECK_EQ_INT(p->specs[2].type, ESQL_T_INTEGER);
	/* VALUES with a WHERE and COUNT_DISTINCT without: two sets */
	CHECK_EQ_INT(p->specs[3].set, 0);
	CHECK_EQ_INT(p->specs[4].set, 1);
	CHECK_EQ_INT(p->nsets, 2);
	CHECK(p->aggs[3].where >= (int)p->nfields);
	CHECK_EQ_INT(p->aggs[4].where, -1);
	CHECK_STR(outs(p, &p->post, true),
		  "h:keyword r:long c:long u:datetime");
	CHECK_EQ_INT(p->nsort, 2);
	CHECK_EQ_INT(p->sort[0].column, 0);
	CHECK(p->sort[0].desc && p->sort[0].nulls_first);
	CHECK_EQ_INT(p->sort[1].column, 5);
	CHECK(!p->sort[1].desc && p->sort[1].nulls_first);
	CHECK_EQ_INT(p->limit, 10);
	CHECK(!p->monotone);
	esql_plan_free(p);

	/* DATE_TRUNC written in BY is named by its text as written */
	p = compile("FROM a | STATS count( * ) BY DATE_TRUNC(10 seconds, "
		    "@timestamp), agent.id");
	CHECK(p != NULL);
	if (p != NULL) {
		CHECK_EQ_INT(p->span_ms, 10000);
		CHECK_EQ_INT(p->bucket_by, 0);
		CHECK_STR(p->aggs[0].name, "count( * )");
		CHECK_STR(p->by[0].name, "DATE_TRUNC(10 seconds, @timestamp)");
		CHECK_EQ_INT(p->watermark_by, 1);
	}
	esql_plan_free(p);
	/* a copy of @timestamp, of a bucket or of agent.id is the same */
	p = compile("FROM a | EVAL t = @timestamp | STATS c = COUNT(*) BY "
		    "DATE_TRUNC(1 minute, t)");
	CHECK(p != NULL);
	if (p != NULL)
		CHECK_EQ_INT(p->span_ms, 60000);
	esql_plan_free(p);
	p = compile("FROM a | EVAL b = DATE_TRUNC(30 seconds, @timestamp) | "
		    "EVAL b2 = b, h = agent.id | STATS c = COUNT(*) BY h, b2");
	CHECK(p != NULL);
	if (p != NULL) {
		CHECK_EQ_INT(p->span_ms, 30000);
		CHECK_EQ_INT(p->bucket_by, 1);
		CHECK_EQ_INT(p->watermark_by, 0);
	}
	esql_plan_free(p);
	/* no agent.id, host.id or host.name key: no per-agent watermark */
	p = compile("FROM a | STATS c = COUNT(*) BY user.name, "
		    "DATE_TRUNC(1 minute, @timestamp)");
	if (p != NULL)
		CHECK_EQ_INT(p->watermark_by, -1);
	esql_plan_free(p);
}

struct mono_case {
	const char *post; /* after "STATS ... BY DATE_TRUNC(...)" */
	bool monotone;
	const char *why;
};

#define STATS_PREFIX                                                           \
	"FROM a | STATS c = COUNT(*), d = COUNT_DISTINCT(x), "                 \
	"lo = MIN(process.pid), hi = MAX(process.pid), a = AVG(process.pid), " \
	"v = VALUES(x), s1 = SUM(CASE(x == \"a\", 1, 0)), "                    \
	"s2 = SUM(process.pid) BY host.name, t = DATE_TRUNC(1 minute, "        \
	"@timestamp)"

static const struct mono_case mono_cases[] = {
    {"| WHERE c >= 5 AND d > 2", true, NULL},
    {"| WHERE 5 <= c OR lo < 10 OR hi >= 3", true, NULL},
    {"| WHERE s1 >= 3", true, NULL},
    {"| EVAL e = c | RENAME e AS f | WHERE f >= 3", true, NULL},
    /* a condition on the group's keys cannot change */
    {"| WHERE host.name != \"x\" AND c > 1", true, NULL},
    {"", false,
     "not monotone: no condition after STATS: every group alerts, at "
     "window close (early, it would alert at its first row)"},
    {"| WHERE c < 5", false,
     "not monotone: 1:249: c (COUNT) only grows as rows are added"},
    {"| WHERE lo >= 5", false,
     "not monotone: 1:249: lo (MIN) only falls as rows are added"},
    {"| WHERE a > 1.5", false,
     "not monotone: 1:249: a (AVG) may fall as rows are added"},
    {"| WHERE s2 > 1", false,
     "not monotone: 1:249: s2 (SUM of values not proven >= 0) may fall as "
     "rows are added"},
    {"| WHERE MV_COUNT(v) >= 2", false,
     "not monotone: 1:249: a value computed from aggregates is compared"},
    {"| WHERE NOT c < 2", false,
     "not monotone: 1:249: NOT of a condition on aggregates"},
    {"| WHERE c != 2", false,
     "not monotone: 1:249: != on an aggregate can turn false as rows are "
     "added"},
    {"| EVAL e = c * 2 | WHERE e >= 3", false,
     "not monotone: 1:266: a value computed from aggregates is compared"},
    {"| WHERE c >= hi", false,
     "not monotone: 1:249: c is compared with a value that is not "
     "constant"},
    {"| MV_EXPAND v | WHERE c >= 2", false,
     "not monotone: 1:243: MV_EXPAND after STATS makes rows that a later "
     "WHERE may drop"},
    /* a constant on the left turns the comparison round */
    {"| WHERE 5 > lo AND 2 <= d", true, NULL},
    /* a NOT that reads no aggregate is constant for the group */
    {"| WHERE c >= 5 AND NOT (host.name == \"x\")", true, NULL},
    {"| WHERE c >= 5 OR c < 2", false,
     "not monotone: 1:259: c (COUNT) only grows as rows are added"},
    {"| EVAL h = c >= 5 | WHERE h", false,
     "not monotone: 1:267: this condition on aggregates can turn false as "
     "rows are added"},
    {"| WHERE hi < 3", false,
     "not monotone: 1:249: hi (MAX) only grows as rows are added"},
    {"| WHERE hi == 3", false,
     "not monotone: 1:249: == on an aggregate can turn false as rows are "
     "added"},
    {"| WHERE c >= 2 | SORT c DESC | LIMIT 5", false,
     "not monotone: 1:272: LIMIT keeps the first rows by sort order, "
     "known only when the window closes"},
};

static void
test_monotone(void)
{
	for (size_t i = 0; i < sizeof(mono_cases) / sizeof(*mono_cases); i++) {
		const struct mono_case *m = &mono_cases[i];
		char q[1024];
		struct esql_plan *p;

		snprintf(q, sizeof(q), "%s %s", STATS_PREFIX, m->post);
		p = compile(q);
		CHECK(p != NULL);
		if (p == NULL)
			continue;
		CHECK_EQ_INT(p->monotone, m->monotone);
		if (m->why != NULL)
			CHECK_STR(p->why, m->why);
		else
			CHECK(strncmp(p->why, "monotone: ", 10) == 0);
		esql_plan_free(p);
	}
}

static void
test_needles(void)
{
	struct esql_plan *p;

	/* the set whose shortest needle is longest: "bash" over "end" */
	p = compile("FROM a | WHERE event.type IN (\"start\", \"end\") | "
		    "WHERE process.name == \"bash\"");
	CHECK(p != NULL);
	if (p != NULL) {
		CHECK(p->has_needles);
		CHECK_EQ_INT(p->needles.n, 1);
		CHECK_EQ_INT(p->needles.v[0].column,
			     field_index(p, "process.name"));
		esql_plan_free(p);
	}
	/* after MV_EXPAND the column holds one of the event's values, each
	 * a JSON string of its own: a WHERE still gives its needles */
	p = compile("FROM a | MV_EXPAND process.args | WHERE process.args == "
		    "\"-c\"");
	CHECK(p != NULL);
	if (p != NULL) {
		CHECK(p->has_needles);
		CHECK_EQ_INT(p->ngroups, 1);
		CHECK_EQ_INT(p->groups[0].v[0].where, ESQL_NEEDLE_WHOLE);
	}
	esql_plan_free(p);
	/* an expanded computed column gives none */
	p = compile("FROM a | EVAL y = CONCAT(x, \"z\") | MV_EXPAND y | "
		    "WHERE y == \"-c\"");
	CHECK(p != NULL);
	if (p != NULL)
		CHECK(!p->has_needles && p->ngroups == 0);
	esql_plan_free(p);
	/* OR of two fields: one set over both */
	p = compile("FROM a | WHERE x == \"abc\" OR y == \"defg\"");
	if (p != NULL) {
		CHECK(p->has_needles);
		CHECK_EQ_INT(p->needles.n, 2);
		CHECK_EQ_INT(p->needles.v[1].column, field_index(p, "y"));
	}
	esql_plan_free(p);
}

/* Rows of a program. */

struct sink {
	size_t n;
	int column;
	char got[64][16];
	size_t nulls;
};

static void
collect(void *arg, struct esql_val *row)
{
	struct sink *s = arg;
	const struct esql_val *v = &row[s->column];

	if (v->n == 0)
		s->nulls++;
	else if (s->n < 64) {
		const struct esql_scalar *x = esql_val_items(v);

		CHECK_EQ_INT(v->n, 1);
		snprintf(s->got[s->n], sizeof(s->got[0]), "%.*s",
			 (int)x->u.s.len, x->u.s.p);
	}
	s->n++;
}

static void
set_keywords(struct esql_val *v, struct esql_scalar *items,
	     const char *const *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		items[i].u.s.p = s[i];
		items[i].u.s.len = strlen(s[i]);
	}
	esql_val_null(v, ESQL_T_KEYWORD);
	v->n = n;
	v->many = n > 1 ? items : NULL;
	if (n == 1)
		v->one = items[0];
}

static void
test_run(void)
{
	static const char *const args[] = {"a", "-x", "b"};
	static struct esql_scalar many[2000];
	struct esql_arena arena = {0};
	struct esql_ctx cx = {NULL, &arena, 0};
	struct esql_run run = {0};
	struct esql_val row[8];
	struct esql_scalar items[3];
	struct esql_plan *p;
	struct sink s;
	int a;

	p = compile("FROM a | EVAL n = MV_COUNT(process.args) | "
		    "MV_EXPAND process.args | WHERE process.args != \"-x\"");
	CHECK(p != NULL);
	if (p == NULL)
		return;
	CHECK(p->pre.ncols <= 8);
	a = field_index(p, "process.args");
	set_keywords(&row[a], items, args, 3);
	memset(&s, 0, sizeof(s));
	s.column = a;
	CHECK_EQ_INT(esql_program_run(&p->pre, &cx, row, collect, &s, &run), 2);
	CHECK_STR(s.got[0], "a");
	CHECK_STR(s.got[1], "b");
	CHECK_EQ_INT(run.expand_cut, 0);
	/* the row is as it was after the run */
	CHECK_EQ_INT(row[a].n, 3);
	/* a null goes on as one row, and the WHERE drops it (null) */
	esql_val_null(&row[a], ESQL_T_KEYWORD);
	memset(&s, 0, sizeof(s));
	s.column = a;
	CHECK_EQ_INT(esql_program_run(&p->pre, &cx, row, collect, &s, &run), 0);
	esql_plan_free(p);

	p = compile("FROM a | MV_EXPAND process.args");
	CHECK(p != NULL);
	if (p == NULL)
		return;
	a = field_index(p, "process.args");
	esql_val_null(&row[a], ESQL_T_KEYWORD);
	memset(&s, 0, sizeof(s));
	s.column = a;
	CHECK_EQ_INT(esql_program_run(&p->pre, &cx, row, collect, &s, &run), 1);
	CHECK_EQ_INT(s.nulls, 1);
	/* 2000 values: ESQL_PLAN_MAX_EXPAND rows, the rest counted */
	for (size_t i = 0; i < 2000; i++) {
		many[i].u.s.p = "v";
		many[i].u.s.len = 1;
	}
	row[a].n = 2000;
	row[a].many = many;
	memset(&s, 0, sizeof(s));
	s.column = a;
	CHECK_EQ_INT(esql_program_run(&p->pre, &cx, row, collect, &s, &run),
		     ESQL_PLAN_MAX_EXPAND);
	CHECK_EQ_INT(run.expand_cut, 2000 - ESQL_PLAN_MAX_EXPAND);
	esql_plan_free(p);
	esql_arena_free(&arena);
}

/* Post rows: c (long), h (keyword) at columns 0 and 2. */
static void
post_row(struct esql_val *row, struct esql_scalar *hs, long long c,
	 const char *const *h, size_t nh)
{
	memset(row, 0, 4 * sizeof(*row));
	esql_val_null(&row[0], ESQL_T_LONG);
	row[0].n = 1;
	row[0].one.u.l = c;
	esql_val_null(&row[1], ESQL_T_DATETIME);
	set_keywords(&row[2], hs, h, nh);
}

static void
test_sort(void)
{
	static const char *const b[] = {"b"}, *const ca[] = {"c", "a"},
				 *const a[] = {"a"};
	struct esql_scalar s1[1], s2[1], s3[2], s4[1];
	struct esql_val r1[4], r2[4], r3[4], r4[4];
	struct esql_plan *p;

	p = compile("FROM x | STATS c = COUNT(*) BY k = DATE_TRUNC(1 minute, "
		    "@timestamp), h = host.name | SORT h, c DESC");
	CHECK(p != NULL);
	if (p == NULL)
		return;
	CHECK_EQ_INT(p->sort[0].column, 2);
	post_row(r1, s1, 1, b, 1);
	post_row(r2, s2, 1, NULL, 0);
	post_row(r3, s3, 7, ca, 2);
	post_row(r4, s4, 5, a, 1);
	/* ASC: a multi-value sorts by its least value, nulls last */
	CHECK(esql_plan_sort_cmp(p, r3, r1) < 0);
	CHECK(esql_plan_sort_cmp(p, r1, r2) < 0);
	CHECK(esql_plan_sort_cmp(p, r2, r1) > 0);
	/* equal keys: the next key, c DESC */
	CHECK(esql_plan_sort_cmp(p, r3, r4) < 0);
	CHECK(esql_plan_sort_cmp(p, r4, r3) > 0);
	CHECK_EQ_INT(esql_plan_sort_cmp(p, r2, r2), 0);
	esql_plan_free(p);

	p = compile("FROM x | STATS c = COUNT(*) BY k = DATE_TRUNC(1 minute, "
		    "@timestamp), h = host.name | SORT h DESC");
	CHECK(p != NULL);
	if (p == NULL)
		return;
	/* DESC: by the greatest value, nulls first */
	CHECK(esql_plan_sort_cmp(p, r2, r3) < 0);
	CHECK(esql_plan_sort_cmp(p, r3, r1) < 0);
	CHECK(esql_plan_sort_cmp(p, r1, r4) < 0);
	esql_plan_free(p);
}

static void
test_fingerprint(void)
{
	const char *q1 = "FROM logs-* | WHERE process.name == \"bash\" | "
			 "STATS c = COUNT(*) BY agent.id, "
			 "t = DATE_TRUNC(1 minute, @timestamp) | WHERE c > 3";
	const char *q2 = "from logs-*\n  // the same\n| where "
			 "`process.name`==\"bash\" /* c */ | stats c=count(*) "
			 "by agent.id,t=date_trunc(60 SECONDS,@timestamp)\n"
			 "|where c>3";
	const char *q3 = "FROM logs-* | WHERE process.name == \"bash\" | "
			 "STATS c = COUNT(*) BY agent.id, "
			 "t = DATE_TRUNC(2 minute, @timestamp) | WHERE c > 3";
	struct esql_plan *p1 = compile(q1), *p2 = compile(q2),
			 *p3 = compile(q3);

	CHECK(p1 != NULL && p2 != NULL && p3 != NULL);
	if (p1 != NULL && p2 != NULL && p3 != NULL) {
		CHECK(p1->fingerprint == p2->fingerprint);
		CHECK(p1->fingerprint != p3->fingerprint);
	}
	esql_plan_free(p1);
	esql_plan_free(p2);
	esql_plan_free(p3);
}

/* explain runs on every shape and ends with the reason. */
static void
test_explain(void)
{
	struct esql_plan *p = compile(
	    "FROM a METADATA _id | WHERE x == \"y\" | SORT x | LIMIT 2");
	struct buf b = {0};

	if (p == NULL)
		return;
	esql_plan_explain(p, &b);
	buf_cstr(&b);
	CHECK(strstr(b.data, "shape: filter (each row is an alert)\n") != NULL);
	CHECK(strstr(b.data, "not applied in a stream: SORT at 1:40, LIMIT "
			     "at 1:49\n") != NULL);
	CHECK(strstr(b.data, "prefilter: x whole \"y\" exact\n") != NULL);
	CHECK(strstr(b.data, "alerting: per row, as its event is read\n") !=
	      NULL);
	CHECK(b.len > 0 && b.data[b.len - 1] == '\n');
	buf_free(&b);
	esql_plan_free(p);
}

/*
 * Every query of tests/data/esql (the shapes of Elastic's Defend rules)
 * compiles to the shape its name says (f: filter, b and the seed:
 * bucketed) and explains itself.
 */
static void
test_rule_queries(void)
{
	const char *root = getenv("BURSTD_SOURCE_ROOT");
	char dir[4096], path[sizeof(dir) + 512];
	struct dirent *de;
	size_t n = 0;
	DIR *d;

	CHECK(root != NULL);
	if (root == NULL)
		return;
	snprintf(dir, sizeof(dir), "%s/tests/data/esql", root);
	d = opendir(dir);
	CHECK(d != NULL);
	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);
		struct esql_plan *p;
		struct buf text = {0}, ex = {0};
		char chunk[4096];
		size_t got;
		FILE *f;

		if (len < 6 || strcmp(de->d_name + len - 5, ".esql") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		f = fopen(path, "r");
		CHECK(f != NULL);
		if (f == NULL)
			continue;
		while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0)
			buf_append(&text, chunk, got);
		fclose(f);
		n++;
		p = esql_plan_from_text(text.data, text.len, err, sizeof(err));
		buf_free(&text);
		CHECK(p != NULL);
		if (p == NULL) {
			fprintf(stderr, "%s: %s\n", de->d_name, err);
			continue;
		}
		CHECK_EQ_INT(p->shape, de->d_name[0] == 'f'
					   ? ESQL_SHAPE_FILTER
					   : ESQL_SHAPE_BUCKETED);
		esql_plan_explain(p, &ex);
		CHECK(ex.len > 0);
		buf_free(&ex);
		esql_plan_free(p);
	}
	closedir(d);
	CHECK(n >= 10);
}

/*
 * Long lists, as Elastic's rules write them: a CASE of 400 arguments and
 * an IN of 600 values compile (the cap is ESQL_EXPR_MAX_ARGS); one more
 * than the cap is refused with its position.
 */
static void
test_long_lists(void)
{
	struct buf q = {0};
	struct esql_plan *p;
	char item[64];

	buf_append(&q, "FROM a | EVAL k = CASE(", 23);
	for (int i = 0; i < 200; i++) {
		int n = snprintf(item, sizeof(item), "%sx == \"v%d\", \"k%d\"",
				 i ? ", " : "", i, i);
		buf_append(&q, item, (size_t)n);
	}
	buf_append(&q, ") | WHERE y IN (", 16);
	for (int i = 0; i < 600; i++) {
		int n =
		    snprintf(item, sizeof(item), "%s\"w%d\"", i ? ", " : "", i);
		buf_append(&q, item, (size_t)n);
	}
	buf_append(&q, ")", 1);
	p = compile(buf_cstr(&q));
	CHECK(p != NULL);
	esql_plan_free(p);
	q.len = 0;
	buf_append(&q, "FROM a | WHERE COALESCE(", 24);
	for (int i = 0; i <= ESQL_EXPR_MAX_ARGS; i++)
		buf_append(&q, i ? ", x" : "x", i ? 3 : 1);
	buf_append(&q, ") == \"a\"", 8);
	p = esql_plan_from_text(q.data, q.len, err, sizeof(err));
	CHECK(p == NULL);
	CHECK(strstr(err, "1:16: more than 1024 arguments") != NULL);
	buf_free(&q);
}

int
main(void)
{
	test_long_lists();
	test_seed();
	test_seed_without_kql();
	test_filter();
	test_refusals();
	test_names();
	test_bucketed();
	test_monotone();
	test_needles();
	test_run();
	test_sort();
	test_fingerprint();
	test_explain();
	test_rule_queries();
	return check_exit();
}
