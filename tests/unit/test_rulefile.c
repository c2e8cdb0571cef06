/*
 * test_rulefile: rule metadata from the TOML and .esql files under
 * tests/data/rules/ and from text, every refusal with its exact message,
 * the defaults, look-back and interval spans, and the glob expander.
 *
 * Defaults and ranges follow detection-rules (detection_rules/rule.py:
 * from "now-6m", interval "5m"; schemas/definitions.py: risk_score
 * 0..100, severity low/medium/high/critical, max_signals >= 1) and
 * Kibana (DEFAULT_MAX_SIGNALS = 100).
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "rulefile.h"
#include "util.h"

static char srcroot[512];

static const char *
data(const char *name)
{
	static char path[1024];

	snprintf(path, sizeof(path), "%s/tests/data/rules/%s", srcroot, name);
	return path;
}

static const char shell_burst_query[] =
    "FROM logs-endpoint.events.process-* METADATA _id\n"
    "\n"
    "| WHERE event.type == \"start\" and process.name in (\"sh\", "
    "\"bash\")\n"
    "| EVAL Esql.window = DATE_TRUNC(1 minute, @timestamp)\n"
    "| STATS Esql.commands = COUNT_DISTINCT(process.command_line)\n"
    "  BY process.parent.entity_id, agent.id, Esql.window\n"
    "| WHERE Esql.commands >= 5\n";

static const char shell_burst_threat[] =
    "[{\"framework\":\"MITRE ATT&CK\",\"technique\":[{\"id\":\"T1059\","
    "\"name\":\"Command and Scripting Interpreter\","
    "\"reference\":\"https://attack.mitre.org/techniques/T1059/\","
    "\"subtechnique\":[{\"id\":\"T1059.004\",\"name\":\"Unix Shell\","
    "\"reference\":\"https://attack.mitre.org/techniques/T1059/004/\"},"
    "{\"id\":\"T1059.006\",\"name\":\"Python\","
    "\"reference\":\"https://attack.mitre.org/techniques/T1059/006/\"}]}],"
    "\"tactic\":{\"id\":\"TA0002\",\"name\":\"Execution\","
    "\"reference\":\"https://attack.mitre.org/tactics/TA0002/\"}},"
    "{\"framework\":\"MITRE ATT&CK\",\"tactic\":{\"id\":\"TA0007\","
    "\"name\":\"Discovery\","
    "\"reference\":\"https://attack.mitre.org/tactics/TA0007/\"}}]";

static void
test_toml_seed(void)
{
	struct rule_meta *m;
	char err[512];
	int line, col;

	m = rulefile_load(data("shell-burst.toml"), err, sizeof(err));
	CHECK(m != NULL);
	if (m == NULL) {
		fprintf(stderr, "%s\n", err);
		return;
	}
	CHECK_STR(m->name, "Shell Command Burst From An Interpreter");
	CHECK_STR(m->rule_id, "0f6b7a52-3c1e-4d7a-9b8e-2a4c5d6e7f80");
	/* The line-ending backslash joins the two lines. */
	CHECK_STR(m->description, "Flags a burst of distinct shell commands "
				  "started by one interpreter process within "
				  "a minute.\n");
	CHECK_STR(m->severity, "medium");
	CHECK_EQ_INT(m->risk_score, 47);
	CHECK_EQ_INT(m->tags.n, 3);
	if (m->tags.n == 3) {
		CHECK_STR(m->tags.v[0], "Domain: Endpoint");
		CHECK_STR(m->tags.v[2], "Tactic: Execution");
	}
	CHECK(m->threat != NULL);
	if (m->threat != NULL)
		CHECK_STR(m->threat, shell_burst_threat);
	CHECK_EQ_INT(m->from_ms, 9 * 60 * 1000);
	CHECK_EQ_INT(m->interval_ms, 5 * 60 * 1000); /* not set: 5m */
	CHECK_EQ_INT(m->max_signals, 100);           /* not set: 100 */
	CHECK_STR(m->maturity, "production");
	CHECK_STR(m->query, shell_burst_query);
	CHECK_STR(m->path, data("shell-burst.toml"));
	/* query = ''' is line 33; the newline after it is dropped. */
	CHECK_EQ_INT(m->query_line, 34);
	CHECK_EQ_INT(m->query_col, 1);
	rulefile_where(m, 1, 6, &line, &col);
	CHECK(line == 34 && col == 6);
	rulefile_where(m, 3, 9, &line, &col);
	CHECK(line == 36 && col == 9);
	rulefile_free(m);
}

static void
test_toml_filter(void)
{
	struct rule_meta *m;
	char err[512];
	int line, col;

	m = rulefile_load_toml(data("filter-only.toml"), err, sizeof(err));
	CHECK(m != NULL);
	if (m == NULL) {
		fprintf(stderr, "%s\n", err);
		return;
	}
	CHECK_STR(m->name, "Netcat Started");
	CHECK_STR(m->rule_id, "netcat-started");
	CHECK(m->description == NULL);
	CHECK_STR(m->severity, "low");
	CHECK_EQ_INT(m->risk_score, 21);
	CHECK_EQ_INT(m->tags.n, 0);
	CHECK(m->threat == NULL);
	CHECK_EQ_INT(m->from_ms, 2 * 3600 * 1000);
	CHECK_EQ_INT(m->interval_ms, 60 * 1000);
	CHECK_EQ_INT(m->max_signals, 5);
	CHECK_STR(m->maturity, "development");
	CHECK_STR(m->query, "FROM logs-endpoint.events.process-* | WHERE "
			    "process.name == \"nc\"");
	/* A one-line basic string: the text starts after its quote. */
	CHECK_EQ_INT(m->query_line, 14);
	CHECK_EQ_INT(m->query_col, 10);
	rulefile_where(m, 1, 3, &line, &col);
	CHECK(line == 14 && col == 12);
	rulefile_free(m);
}

static void
test_esql_files(void)
{
	struct rule_meta *m, *m2;
	char err[512], want[2048];
	const char *id;

	m = rulefile_load(data("filter-only.esql"), err, sizeof(err));
	CHECK(m != NULL);
	if (m == NULL) {
		fprintf(stderr, "%s\n", err);
		return;
	}
	CHECK_STR(m->name, "Netcat Started");
	CHECK_STR(m->rule_id, "netcat-started-esql");
	CHECK_STR(m->description, "A netcat process started.");
	CHECK_STR(m->severity, "high");
	CHECK_EQ_INT(m->risk_score, 73);
	CHECK_EQ_INT(m->tags.n, 2);
	if (m->tags.n == 2) {
		CHECK_STR(m->tags.v[0], "OS: Linux");
		CHECK_STR(m->tags.v[1], "Use Case: Threat Detection");
	}
	CHECK_EQ_INT(m->from_ms, 10 * 60 * 1000);
	CHECK_EQ_INT(m->interval_ms, 2 * 60 * 1000);
	CHECK_EQ_INT(m->max_signals, 20);
	CHECK(m->maturity == NULL && m->threat == NULL);
	/* The query is the whole file, comments included. */
	CHECK(strncmp(m->query, "// name: Netcat Started\n", 24) == 0);
	CHECK(strstr(m->query, "| WHERE process.name == \"nc\"\n") != NULL);
	CHECK(m->query_line == 1 && m->query_col == 1);
	rulefile_free(m);

	/* No metadata: the defaults, and a rule_id from the query. */
	m = rulefile_load(data("plain.esql"), err, sizeof(err));
	CHECK(m != NULL);
	if (m == NULL) {
		fprintf(stderr, "%s\n", err);
		return;
	}
	CHECK_STR(m->name, "plain");
	CHECK_STR(m->severity, "medium");
	CHECK_EQ_INT(m->risk_score, 47);
	CHECK_EQ_INT(m->from_ms, 6 * 60 * 1000);
	CHECK_EQ_INT(m->interval_ms, 5 * 60 * 1000);
	CHECK_EQ_INT(m->max_signals, 100);
	CHECK_EQ_INT(m->tags.n, 0);
	CHECK(m->description == NULL);
	id = m->rule_id;
	/* RFC 9562: 8-4-4-4-12 hex digits, version 8, variant 10xx. */
	CHECK_EQ_INT(strlen(id), 36);
	CHECK(id[8] == '-' && id[13] == '-' && id[18] == '-' && id[23] == '-');
	CHECK(id[14] == '8');
	CHECK(strchr("89ab", id[19]) != NULL);
	CHECK(strspn(id, "0123456789abcdef-") == 36);

	/* The same canonical query, written otherwise, keeps the id. */
	static const char same[] = "// tag: x\n"
				   "from logs-endpoint.events.process-*\n"
				   "|where process.name==\"nc\" /* c */";
	m2 = rulefile_parse_esql(same, strlen(same), "other.esql", err,
				 sizeof(err));
	CHECK(m2 != NULL);
	if (m2 != NULL) {
		CHECK_STR(m2->rule_id, id);
		CHECK_STR(m2->name, "other");
		rulefile_free(m2);
	}
	static const char other[] = "FROM logs-endpoint.events.process-*\n"
				    "| WHERE process.name == \"ncat\"\n";
	m2 = rulefile_parse_esql(other, strlen(other), "x.esql", err,
				 sizeof(err));
	CHECK(m2 != NULL);
	if (m2 != NULL) {
		CHECK(strcmp(m2->rule_id, id) != 0);
		CHECK_EQ_INT(strlen(m2->rule_id), 36);
		rulefile_free(m2);
	}
	/* A rule from fields gets the same id for the same query. */
	{
		struct rule_fields f = {
		    .name = "inline",
		    .risk_score = -1,
		    .query = "FROM logs-endpoint.events.process-* | WHERE "
			     "process.name == \"nc\"",
		};

		m2 = rulefile_new(&f, err, sizeof(err));
		CHECK(m2 != NULL);
		if (m2 != NULL) {
			CHECK_STR(m2->rule_id, id);
			rulefile_free(m2);
		}
	}
	rulefile_free(m);

	/* A query that does not parse: its position in the file. */
	m = rulefile_load(data("bad-query.esql"), err, sizeof(err));
	CHECK(m == NULL);
	snprintf(want, sizeof(want), "%s:5:1: ", data("bad-query.esql"));
	if (strncmp(err, want, strlen(want)) != 0)
		fprintf(stderr, "bad-query.esql: %s\n", err);
	CHECK(strncmp(err, want, strlen(want)) == 0);
}

struct esql_bad {
	const char *in, *err;
};

static const struct esql_bad esql_bad[] = {
    {"// name: a\n// severty: high\nFROM a\n",
     "e.esql:2:4: unknown metadata key 'severty'"},
    {"// name: a\n// name: b\nFROM a\n", "e.esql:2:4: 'name' given twice"},
    {"// name:   \nFROM a\n", "e.esql:1:4: empty value for 'name'"},
    {"// severity: extreme\nFROM a\n",
     "e.esql: rule \"e\": severity \"extreme\" is not one of low, medium, "
     "high, critical"},
    {"// risk_score: 101\nFROM a\n",
     "e.esql: risk_score \"101\" is not an integer in 0..100"},
    {"// risk_score: 4x\nFROM a\n",
     "e.esql: risk_score \"4x\" is not an integer in 0..100"},
    {"// max_signals: 0\nFROM a\n",
     "e.esql: max_signals \"0\" is not an integer in 1..10000"},
    {"// from: now-1M\nFROM a\n",
     "e.esql: rule \"e\": from \"now-1M\" is not now-N with N above 0 and "
     "at most 366 days, followed by s, m, h, H, d or w"},
    {"// interval: 1w\nFROM a\n",
     "e.esql: rule \"e\": interval \"1w\" is not N with N above 0 and at "
     "most 366 days, followed by s, m, h or d"},
    {"// just a comment\n",
     "e.esql:2:1: expected a command, found end of query"},
    {"", "e.esql: rule \"e\": no query"},
    {"ROW a = 1\n",
     "e.esql:1:1: ROW is not supported: a query starts with FROM"},
    {"// rule_id: x\n\n  ROW a = 1\n",
     "e.esql:3:3: ROW is not supported: a query starts with FROM"},
};

static void
test_esql_bad(void)
{
	char err[512];

	for (size_t i = 0; i < sizeof(esql_bad) / sizeof(esql_bad[0]); i++) {
		const struct esql_bad *c = &esql_bad[i];
		struct rule_meta *m;

		m = rulefile_parse_esql(c->in, strlen(c->in), "e.esql", err,
					sizeof(err));
		CHECK(m == NULL);
		rulefile_free(m);
		if (m == NULL)
			CHECK_STR(err, c->err);
	}
	/* Metadata ends at the first line of the query; an ordinary
	 * comment ("// Note: ...") is no key. */
	static const char later[] = "// Note: x\nFROM a\n// nope: 1\n";
	struct rule_meta *m =
	    rulefile_parse_esql(later, strlen(later), "dir/e.esql", err,
				sizeof(err));
	CHECK(m != NULL);
	if (m != NULL) {
		CHECK_STR(m->name, "e");
		rulefile_free(m);
	}
	m = rulefile_parse_esql("FROM a", 6, NULL, err, sizeof(err));
	CHECK(m != NULL);
	if (m != NULL) {
		CHECK_STR(m->name, "<string>");
		CHECK_STR(m->path, "<string>");
		rulefile_free(m);
	}
	m = rulefile_parse_esql("FROM a\0", 7, "e.esql", err, sizeof(err));
	CHECK(m == NULL);
	CHECK_STR(err, "e.esql: NUL byte at offset 6");
}

/* A [rule] table around the given lines, line 1 being "[rule]". */
struct toml_bad {
	const char *in, *err;
};

static const struct toml_bad toml_bad[] = {
    {"[metadata]\nmaturity = \"x\"\n", "r.toml: the [rule] table is missing"},
    {"rule = 1\n", "r.toml:1:8: rule must be a table, not an integer"},
    {"[rule]\nrule_id = \"x\"\n", "r.toml: rule.name is missing"},
    {"[rule]\nname = \"\"\n", "r.toml:2:8: rule.name is empty"},
    {"[rule]\nname = 1\n",
     "r.toml:2:8: rule.name must be a string, not an integer"},
    {"[rule]\nname = \"a\\u0000b\"\n",
     "r.toml:2:8: rule.name holds a NUL character"},
    {"[rule]\nname = \"N\"\n", "r.toml: rule \"N\": rule.type is missing"},
    {"[rule]\nname = \"N\"\ntype = \"eql\"\n",
     "r.toml:3:8: rule \"N\": type \"eql\" is not supported, only esql"},
    {"[rule]\nname = \"N\"\ntype = \"threshold\"\n",
     "r.toml:3:8: rule \"N\": type \"threshold\" is not supported, only "
     "esql"},
    {"[rule]\nname = \"N\"\ntype = \"esql\"\nlanguage = \"kuery\"\n",
     "r.toml:4:12: rule \"N\": language \"kuery\" is not supported, only "
     "esql"},
    {"[rule]\nname = \"N\"\ntype = \"esql\"\nquery = \"FROM a\"\n",
     "r.toml: rule \"N\": rule.rule_id is missing"},
    {"[rule]\nname = \"N\"\ntype = \"esql\"\nrule_id = \"i\"\n",
     "r.toml: rule \"N\": rule.query is missing"},
    {"[rule]\nname = \"N\"\ntype = \"esql\"\nrule_id = \"i\"\nquery = ''\n",
     "r.toml:5:9: rule \"N\": rule.query is empty"},
    {"[rule]\nname = \"N\"\ntype = \"esql\"\nrule_id = \"i\"\n"
     "query = 'FROM a'\nseverity = \"extreme\"\n",
     "r.toml:6:12: rule \"N\": severity \"extreme\" is not one of low, "
     "medium, high, critical"},
    {"[rule]\nname = \"N\"\ntype = \"esql\"\nrule_id = \"i\"\n"
     "query = 'FROM a'\nrisk_score = 101\n",
     "r.toml:6:14: rule \"N\": risk_score 101 is out of range 0..100"},
    {"[rule]\nname = \"N\"\ntype = \"esql\"\nrule_id = \"i\"\n"
     "query = 'FROM a'\nrisk_score = -1\n",
     "r.toml:6:14: rule \"N\": risk_score -1 is out of range 0..100"},
    {"[rule]\nname = \"N\"\ntype = \"esql\"\nrule_id = \"i\"\n"
     "query = 'FROM a'\nrisk_score = \"47\"\n",
     "r.toml:6:14: rule \"N\": rule.risk_score must be an integer, not a "
     "string"},
    {"[rule]\nname = \"N\"\ntype = \"esql\"\nrule_id = \"i\"\n"
     "query = 'FROM a'\nmax_signals = 0\n",
     "r.toml:6:15: rule \"N\": max_signals 0 is out of range 1..10000"},
    {"[rule]\nname = \"N\"\ntype = \"esql\"\nrule_id = \"i\"\n"
     "query = 'FROM a'\nfrom = \"now-1y\"\n",
     "r.toml:6:8: rule \"N\": from \"now-1y\" is not now-N with N above 0 "
     "and at most 366 days, followed by s, m, h, H, d or w"},
    {"[rule]\nname = \"N\"\ntype = \"esql\"\nrule_id = \"i\"\n"
     "query = 'FROM a'\ninterval = \"5\"\n",
     "r.toml:6:12: rule \"N\": interval \"5\" is not N with N above 0 and "
     "at most 366 days, followed by s, m, h or d"},
    {"[rule]\nname = \"N\"\ntype = \"esql\"\nrule_id = \"i\"\n"
     "query = 'FROM a'\nto = \"now-1m\"\n",
     "r.toml:6:6: rule \"N\": to \"now-1m\" is not supported, only now"},
    {"[rule]\nname = \"N\"\ntype = \"esql\"\nrule_id = \"i\"\n"
     "query = 'FROM a'\ntags = \"x\"\n",
     "r.toml:6:8: rule \"N\": rule.tags must be an array, not a string"},
    {"[rule]\nname = \"N\"\ntype = \"esql\"\nrule_id = \"i\"\n"
     "query = 'FROM a'\ntags = [\"a\", 2]\n",
     "r.toml:6:14: rule \"N\": a tag must be a string, not an integer"},
    {"[rule]\nname = \"N\"\ntype = \"esql\"\nrule_id = \"i\"\n"
     "query = 'FROM a'\nthreat = {}\n",
     "r.toml:6:10: rule \"N\": rule.threat must be an array of tables, not "
     "a table"},
    {"[rule]\nname = \"N\"\ntype = \"esql\"\nrule_id = \"i\"\n"
     "query = 'FROM a'\nthreat = [{}, 1]\n",
     "r.toml:6:15: rule \"N\": rule.threat must be an array of tables, "
     "not of integers"},
    {"[metadata]\nmaturity = 1\n[rule]\nname = \"N\"\ntype = \"esql\"\n"
     "rule_id = \"i\"\nquery = 'FROM a'\n",
     "r.toml:2:12: rule \"N\": metadata.maturity must be a string, not an "
     "integer"},
    /* Unknown keys are ignored, but must still be TOML. */
    {"[rule]\nname = \"N\"\ntype = \"esql\"\nrule_id = \"i\"\n"
     "query = 'FROM a'\nnote = 2026-01-01\n",
     "r.toml:6:8: dates and times are not supported; quote the value to "
     "make it a string"},
};

static void
test_toml_bad(void)
{
	char err[512], want[2048];
	struct rule_meta *m;

	for (size_t i = 0; i < sizeof(toml_bad) / sizeof(toml_bad[0]); i++) {
		const struct toml_bad *c = &toml_bad[i];

		m = rulefile_parse_toml(c->in, strlen(c->in), "r.toml", err,
					sizeof(err));
		CHECK(m == NULL);
		rulefile_free(m);
		if (m == NULL)
			CHECK_STR(err, c->err);
	}

	/* The broken files of tests/data/rules. */
	m = rulefile_load(data("eql.toml"), err, sizeof(err));
	CHECK(m == NULL);
	snprintf(want, sizeof(want),
		 "%s:4:8: rule \"An EQL Rule\": type \"eql\" is not supported, "
		 "only esql",
		 data("eql.toml"));
	CHECK_STR(err, want);
	m = rulefile_load(data("no-query.toml"), err, sizeof(err));
	CHECK(m == NULL);
	snprintf(want, sizeof(want),
		 "%s: rule \"No Query\": rule.query is missing",
		 data("no-query.toml"));
	CHECK_STR(err, want);
	m = rulefile_load(data("bad-risk.toml"), err, sizeof(err));
	CHECK(m == NULL);
	snprintf(want, sizeof(want),
		 "%s:6:14: rule \"Risky\": risk_score 101 is out of range "
		 "0..100",
		 data("bad-risk.toml"));
	CHECK_STR(err, want);
	m = rulefile_load(data("bad-syntax.toml"), err, sizeof(err));
	CHECK(m == NULL);
	snprintf(want, sizeof(want),
		 "%s:4:1: expected ',' or ']' in the array, found 't'",
		 data("bad-syntax.toml"));
	CHECK_STR(err, want);
	m = rulefile_load(data("missing.toml"), err, sizeof(err));
	CHECK(m == NULL);
	snprintf(want, sizeof(want), "%s: No such file or directory",
		 data("missing.toml"));
	CHECK_STR(err, want);
	m = rulefile_load("rules.yaml", err, sizeof(err));
	CHECK(m == NULL);
	CHECK_STR(err, "rules.yaml: a rule file ends in .toml or .esql");

	/* Unknown keys and tables are ignored. */
	static const char extra[] =
	    "[rule]\nname = \"N\"\ntype = \"esql\"\nrule_id = \"i\"\n"
	    "query = 'FROM a'\nenabled = true\nto = \"now\"\n"
	    "references = [\"https://example.com\"]\n"
	    "[rule.new_terms]\nfield = \"x\"\n[[transform.osquery]]\n"
	    "label = \"l\"\n";
	m = rulefile_parse_toml(extra, strlen(extra), "r.toml", err,
				sizeof(err));
	CHECK(m != NULL);
	if (m != NULL) {
		CHECK_STR(m->query, "FROM a");
		CHECK(m->maturity == NULL && m->threat == NULL);
		CHECK_STR(m->severity, "medium");
		CHECK_EQ_INT(m->risk_score, 47);
		CHECK_EQ_INT(m->from_ms, 6 * 60 * 1000);
		CHECK(m->path != NULL && strcmp(m->path, "r.toml") == 0);
		rulefile_free(m);
	}
	m = rulefile_parse_toml(extra, strlen(extra), NULL, err, sizeof(err));
	CHECK(m != NULL);
	if (m != NULL) {
		CHECK_STR(m->path, "<string>");
		rulefile_free(m);
	}
	m = rulefile_parse_toml("[rule]\n", 7, NULL, err, sizeof(err));
	CHECK(m == NULL);
	CHECK_STR(err, "<string>: rule.name is missing");
	/* An empty threat array is kept as one. */
	static const char empty[] =
	    "[rule]\nname = \"N\"\ntype = \"esql\"\nrule_id = \"i\"\n"
	    "query = 'FROM a'\nthreat = []\n";
	m = rulefile_parse_toml(empty, strlen(empty), "r.toml", err,
				sizeof(err));
	CHECK(m != NULL);
	if (m != NULL) {
		CHECK_STR(m->threat, "[]");
		rulefile_free(m);
	}
}

static void
test_new(void)
{
	static const char *const tags[] = {"a", "b", NULL};
	struct rule_fields f = {
	    .name = "N",
	    .rule_id = "id-1",
	    .severity = "critical",
	    .risk_score = 0,
	    .tags = tags,
	    .threat = "[]",
	    .from = "now-1h",
	    .interval = "10m",
	    .max_signals = 10000,
	    .maturity = "beta",
	    .query = "FROM a",
	    .path = "conf.yaml",
	    .query_line = 12,
	    .query_col = 9,
	};
	struct rule_meta *m;
	char err[512];
	int line, col;

	m = rulefile_new(&f, err, sizeof(err));
	CHECK(m != NULL);
	if (m != NULL) {
		CHECK_STR(m->name, "N");
		CHECK_STR(m->rule_id, "id-1");
		CHECK_STR(m->severity, "critical");
		CHECK_EQ_INT(m->risk_score, 0);
		CHECK_EQ_INT(m->tags.n, 2);
		CHECK_STR(m->threat, "[]");
		CHECK_EQ_INT(m->from_ms, 3600 * 1000);
		CHECK_EQ_INT(m->interval_ms, 600 * 1000);
		CHECK_EQ_INT(m->max_signals, 10000);
		CHECK_STR(m->maturity, "beta");
		CHECK_STR(m->path, "conf.yaml");
		rulefile_where(m, 2, 4, &line, &col);
		CHECK(line == 13 && col == 4);
		rulefile_free(m);
	}

	f.severity = "urgent";
	m = rulefile_new(&f, err, sizeof(err));
	CHECK(m == NULL);
	CHECK_STR(err, "conf.yaml: rule \"N\": severity \"urgent\" is not one "
		       "of low, medium, high, critical");
	f.severity = NULL;
	f.risk_score = 101;
	m = rulefile_new(&f, err, sizeof(err));
	CHECK(m == NULL);
	CHECK_STR(err, "conf.yaml: rule \"N\": risk_score 101 is out of range "
		       "0..100");
	f.risk_score = -1;
	f.max_signals = 10001;
	m = rulefile_new(&f, err, sizeof(err));
	CHECK(m == NULL);
	CHECK_STR(err, "conf.yaml: rule \"N\": max_signals 10001 is out of "
		       "range 1..10000");
	f.max_signals = 0;
	f.from = "now+1m";
	m = rulefile_new(&f, err, sizeof(err));
	CHECK(m == NULL);
	CHECK_STR(err, "conf.yaml: rule \"N\": from \"now+1m\" is not now-N "
		       "with N above 0 and at most 366 days, followed by s, m, "
		       "h, H, d or w");
	f.from = NULL;
	f.rule_id = "";
	m = rulefile_new(&f, err, sizeof(err));
	CHECK(m == NULL);
	CHECK_STR(err, "conf.yaml: rule \"N\": empty rule_id");
	/* A derived rule_id needs a query that parses; the error is placed
	 * where the query is written. */
	f.rule_id = NULL;
	f.query = "FROM a | FROB x";
	m = rulefile_new(&f, err, sizeof(err));
	CHECK(m == NULL);
	CHECK_STR(err, "conf.yaml:12:18: unknown command 'FROB'");
	f.query = "";
	m = rulefile_new(&f, err, sizeof(err));
	CHECK(m == NULL);
	CHECK_STR(err, "conf.yaml: rule \"N\": no query");
	f.name = NULL;
	f.path = NULL;
	m = rulefile_new(&f, err, sizeof(err));
	CHECK(m == NULL);
	CHECK_STR(err, "<rule>: the rule has no name");

	/* Defaults. */
	memset(&f, 0, sizeof(f));
	f.name = "D";
	f.rule_id = "d";
	f.risk_score = -1;
	f.query = "FROM a";
	m = rulefile_new(&f, err, sizeof(err));
	CHECK(m != NULL);
	if (m != NULL) {
		CHECK_STR(m->severity, "medium");
		CHECK_EQ_INT(m->risk_score, 47);
		CHECK_EQ_INT(m->from_ms, 360000);
		CHECK_EQ_INT(m->interval_ms, 300000);
		CHECK_EQ_INT(m->max_signals, 100);
		CHECK(m->path == NULL && m->threat == NULL &&
		      m->description == NULL && m->maturity == NULL);
		CHECK(m->query_line == 1 && m->query_col == 1);
		rulefile_free(m);
	}
	rulefile_free(NULL);
}

struct span_case {
	const char *in;
	int64_t ms; /* -1: refused */
};

static const struct span_case from_cases[] = {
    {"now-9m", 540000},
    {"now-1s", 1000},
    {"now-1h", 3600000},
    {"now-2H", 7200000},
    {"now-7d", 604800000},
    {"now-1w", 604800000},
    {"now-7205m", 432300000},
    {"now-366d", 31622400000},
    {"now-367d", -1},
    {"now-0m", -1},
    {"now", -1},
    {"now-", -1},
    {"9m", -1},
    {"now-9", -1},
    {"now-9mm", -1},
    {"now--9m", -1},
    {"now-+9m", -1},
    {"now-1y", -1},
    {"now-1M", -1},
    {"now-9m/m", -1},
    {"now-99999999999999999999m", -1},
    {"NOW-9m", -1},
};

static const struct span_case interval_cases[] = {
    {"5m", 300000}, {"1h", 3600000}, {"1d", 86400000}, {"30s", 30000},
    {"1m", 60000},  {"5w", -1},      {"5", -1},        {"m", -1},
    {"0m", -1},     {"5m ", -1},     {"-5m", -1},      {"5H", -1},
    {"", -1},
};

static void
test_spans(void)
{
	char err[256];
	int64_t ms;

	for (size_t i = 0; i < sizeof(from_cases) / sizeof(from_cases[0]);
	     i++) {
		int rc = rulefile_parse_from(from_cases[i].in, &ms, err,
					     sizeof(err));

		if (from_cases[i].ms < 0) {
			CHECK_EQ_INT(rc, -1);
		} else {
			CHECK_EQ_INT(rc, 0);
			CHECK_EQ_INT(ms, from_cases[i].ms);
		}
	}
	for (size_t i = 0;
	     i < sizeof(interval_cases) / sizeof(interval_cases[0]); i++) {
		int rc = rulefile_parse_interval(interval_cases[i].in, &ms, err,
						 sizeof(err));

		if (interval_cases[i].ms < 0) {
			CHECK_EQ_INT(rc, -1);
		} else {
			CHECK_EQ_INT(rc, 0);
			CHECK_EQ_INT(ms, interval_cases[i].ms);
		}
	}
}

static void
touch(const char *dir, const char *name)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	CHECK(f != NULL);
	if (f != NULL)
		fclose(f);
}

static void
test_glob(void)
{
	char dir[] = "/tmp/test_rulefile.XXXXXX", pat[512], want[1024],
	     err[512], path[512];
	struct strlist l = {0};

	CHECK(mkdtemp(dir) != NULL);
	touch(dir, "b.toml");
	touch(dir, "a.toml");
	touch(dir, "c.esql");
	touch(dir, "B.toml");
	snprintf(pat, sizeof(pat), "%s/*.toml", dir);
	CHECK_EQ_INT(rulefile_glob(pat, &l, err, sizeof(err)), 0);
	CHECK_EQ_INT(l.n, 3);
	if (l.n == 3) {
		/* Byte order, whatever the locale. */
		snprintf(want, sizeof(want), "%s/B.toml", dir);
		CHECK_STR(l.v[0], want);
		snprintf(want, sizeof(want), "%s/a.toml", dir);
		CHECK_STR(l.v[1], want);
		snprintf(want, sizeof(want), "%s/b.toml", dir);
		CHECK_STR(l.v[2], want);
	}
	/* Paths already listed are not added twice. */
	snprintf(pat, sizeof(pat), "%s/*", dir);
	CHECK_EQ_INT(rulefile_glob(pat, &l, err, sizeof(err)), 0);
	CHECK_EQ_INT(l.n, 4);
	if (l.n == 4) {
		snprintf(want, sizeof(want), "%s/c.esql", dir);
		CHECK_STR(l.v[3], want);
	}
	snprintf(pat, sizeof(pat), "%s/*.yaml", dir);
	CHECK_EQ_INT(rulefile_glob(pat, &l, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s: matches no file", pat);
	CHECK_STR(err, want);
	snprintf(pat, sizeof(pat), "%s/none.toml", dir);
	CHECK_EQ_INT(rulefile_glob(pat, &l, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s: no such file", pat);
	CHECK_STR(err, want);
	CHECK_EQ_INT(l.n, 4);
	for (size_t i = 0; i < l.n; i++)
		CHECK(unlink(l.v[i]) == 0);
	strlist_clear(&l);
	snprintf(path, sizeof(path), "%s", dir);
	CHECK(rmdir(path) == 0);
}

int
main(void)
{
	const char *root = getenv("BURSTD_SOURCE_ROOT");

	snprintf(srcroot, sizeof(srcroot), "%s", root ? root : ".");
	test_toml_seed();
	test_toml_filter();
	test_esql_files();
	test_esql_bad();
	test_toml_bad();
	test_new();
	test_spans();
	test_glob();
	return check_exit();
}
