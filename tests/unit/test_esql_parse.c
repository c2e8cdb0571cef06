/*
 * test_esql_parse: the ES|QL parser against a table of queries and their
 * canonical prints, and of bad queries and their exact errors.
 *
 * Syntax and precedence follow Elasticsearch's EsqlBaseLexer.g4 and
 * EsqlBaseParser.g4 (x-pack/plugin/esql/src/main/antlr); the time units
 * are those of EsqlDataTypeConverter.INTERVALS; SORT's default null
 * order is from the ES|QL SORT command reference ("null values are
 * sorted last in ascending order and first in descending order").
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "esql.h"
#include "util.h"

struct ok_case {
	const char *in, *out;
};

static const struct ok_case ok_cases[] = {
    /* Keywords in any case; FROM patterns with '*', '-', '.'. */
    {"from logs-endpoint.events.process-* | where x == 1",
     "FROM logs-endpoint.events.process-* | WHERE (x == 1)"},
    {"FROM a, \"b c\", logs-*  METADATA _id, _version, _index",
     "FROM a, \"b c\", logs-* METADATA _id, _version, _index"},
    {"FROM a,b|KEEP x", "FROM a, b | KEEP x"},
    /* Comments are whitespace, also inside IN lists. */
    {"FROM a // c\n| WHERE x IN (1, /* two */ 2) /* x /* nested */ */",
     "FROM a | WHERE (x IN (1, 2))"},
    /* OR < AND < NOT < comparison < + - < * / % < unary - < ::. */
    {"FROM a | WHERE a OR b AND c", "FROM a | WHERE (a OR (b AND c))"},
    {"FROM a | WHERE NOT a AND b", "FROM a | WHERE ((NOT a) AND b)"},
    {"FROM a | WHERE NOT a == b", "FROM a | WHERE (NOT (a == b))"},
    {"FROM a | WHERE a + b * c > -d % 2",
     "FROM a | WHERE ((a + (b * c)) > ((-d) % 2))"},
    {"FROM a | WHERE a - b - c <= 1", "FROM a | WHERE (((a - b) - c) <= 1)"},
    {"FROM a | EVAL y = -x::long", "FROM a | EVAL y = (-(x::long))"},
    {"FROM a | EVAL y = x::STRING::double",
     "FROM a | EVAL y = ((x::string)::double)"},
    {"FROM a | WHERE +1 != 2", "FROM a | WHERE (1 != 2)"},
    /* Predicates on one value. */
    {"FROM a | WHERE x NOT LIKE \"a*\" AND y RLIKE \"b.*\"",
     "FROM a | WHERE ((x NOT LIKE \"a*\") AND (y RLIKE \"b.*\"))"},
    {"FROM a | WHERE x LIKE (\"a\", \"b\") or x not rlike (\"c\")",
     "FROM a | WHERE ((x LIKE (\"a\", \"b\")) OR (x NOT RLIKE \"c\"))"},
    {"FROM a | WHERE x is null or y IS NOT NULL",
     "FROM a | WHERE ((x IS NULL) OR (y IS NOT NULL))"},
    {"FROM a | WHERE true in (starts_with(x, \"a\"), false)",
     "FROM a | WHERE (true IN (STARTS_WITH(x, \"a\"), false))"},
    {"FROM a | WHERE x + 1 NOT IN (null, 2.5)",
     "FROM a | WHERE ((x + 1) NOT IN (null, 2.5))"},
    /* Literals: numbers, strings with escapes, raw strings. */
    {"FROM a | EVAL a = 1.5e3, b = .5, c = 1., d = 2E-2, e = 10",
     "FROM a | EVAL a = 1500.0, b = 0.5, c = 1.0, d = 0.02, "
     "e = 10"},
    {"FROM a | EVAL a = 9223372036854775807, b = 9223372036854775808",
     "FROM a | EVAL a = 9223372036854775807, "
     "b = 9.2233720368547758e+18"},
    {"FROM a | EVAL s = \"q\\\"\\\\\\t\\n\\r\"",
     "FROM a | EVAL s = \"q\\\"\\\\\\t\\n\\r\""},
    {"FROM a | WHERE KQL(\"\"\"a:\"b\" \\n\"\"\")",
     "FROM a | WHERE KQL(\"a:\\\"b\\\" \\\\n\")"},
    {"FROM a | EVAL s = \"\"\"x\"\"\"\"\"", "FROM a | EVAL s = \"x\\\"\\\"\""},
    /* Spans: count then unit, with or without a space. */
    {"FROM a | EVAL t = DATE_TRUNC(1 minutes, @timestamp)",
     "FROM a | EVAL t = DATE_TRUNC(1 minute, @timestamp)"},
    {"FROM a | EVAL a = 1min, b = 60 SECONDS, c = 1h, d = 1d, e = 2 ms, "
     "f = 3 mo, g = 1 q, h = 1yr, i = 1w, j = 5 sec, k = 1 y",
     "FROM a | EVAL a = 1 minute, b = 60 second, c = 1 hour, "
     "d = 1 day, e = 2 millisecond, f = 3 month, g = 1 quarter, "
     "h = 1 year, i = 1 week, j = 5 second, k = 1 year"},
    /* Names: dots, @, backticks (`` is one backtick), keywords. */
    {"FROM a | KEEP `a.b/c`, Esql.@timestamp.min, source.`as`.org",
     "FROM a | KEEP `a.b/c`, Esql.@timestamp.min, `source.as.org`"},
    {"FROM a | EVAL `x``y` = 1, `p.q` = `null`",
     "FROM a | EVAL `x``y` = 1, p.q = `null`"},
    {"FROM a | KEEP process.*, *.name, host.os.type",
     "FROM a | KEEP process.*, *.name, host.os.type"},
    {"FROM a | DROP _*, x", "FROM a | DROP _*, x"},
    /* EVAL with unnamed expressions; RENAME both ways. */
    {"FROM a | EVAL x + 1, y = 2", "FROM a | EVAL (x + 1), y = 2"},
    {"FROM a | RENAME a AS b, c = d", "FROM a | RENAME a AS b, d AS c"},
    {"FROM a | MV_EXPAND process.args", "FROM a | MV_EXPAND process.args"},
    {"FROM a | SORT a, b DESC, c ASC NULLS FIRST, d DESC NULLS LAST",
     "FROM a | SORT a ASC NULLS LAST, b DESC NULLS FIRST, "
     "c ASC NULLS FIRST, d DESC NULLS LAST"},
    {"FROM a | LIMIT 10", "FROM a | LIMIT 10"},
    /* STATS: named, unnamed, WHERE filters, BY forms. */
    {"FROM a | STATS c = COUNT(*), COUNT(x) WHERE y > 1, "
     "m = max(z) BY h = host.name, agent.id, DATE_TRUNC(1 hour, @timestamp)",
     "FROM a | STATS c = COUNT(*), COUNT(x) WHERE (y > 1), "
     "m = MAX(z) BY h = host.name, agent.id, "
     "DATE_TRUNC(1 hour, @timestamp)"},
    {"FROM a | stats by x", "FROM a | STATS BY x"},
    {"FROM a | STATS v = MV_SLICE(MV_DEDUPE(VALUES(x)), 0, 9)",
     "FROM a | STATS v = MV_SLICE(MV_DEDUPE(VALUES(x)), 0, 9)"},
    {"FROM a | EVAL n = NOW()", "FROM a | EVAL n = NOW()"},
};

struct bad_case {
	const char *in, *err;
};

static const struct bad_case bad_cases[] = {
    {"", "1:1: expected a command, found end of query"},
    {"ROW a = 1", "1:1: ROW is not supported: a query starts with FROM"},
    {"SHOW info", "1:1: SHOW is not supported: a query starts with FROM"},
    {"TS metrics-*", "1:1: TS is not supported: a query starts with FROM"},
    {"WHERE x", "1:1: expected FROM, found 'WHERE'"},
    {"FROM a\n| WHERE x\n  | INLINE STATS c = COUNT(*)",
     "3:5: INLINE STATS is not supported"},
    {"FROM a | GROK x \"%{WORD:y}\"", "1:10: GROK is not supported"},
    {"FROM a | dissect x \"%{y}\"", "1:10: DISSECT is not supported"},
    {"FROM a | ENRICH p", "1:10: ENRICH is not supported"},
    {"FROM a | LOOKUP JOIN t ON k", "1:10: LOOKUP JOIN is not supported"},
    {"FROM a | COMPLETION x WITH {}", "1:10: COMPLETION is not supported"},
    {"FROM a | FORK (WHERE x)", "1:10: FORK is not supported"},
    {"FROM a | FROB x", "1:10: unknown command 'FROB'"},
    {"FROM a | WHERE x : \"q\"",
     "1:18: the ':' match operator is not supported"},
    {"FROM a | WHERE MATCH(x, \"q\")", "1:16: MATCH() is not supported"},
    {"FROM a | WHERE x == ?p", "1:21: query parameters are not supported"},
    {"FROM a | WHERE f(x, {\"k\": 1})", "1:21: map literals are not supported"},
    {"FROM a | WHERE x == \"abc", "1:21: unterminated string"},
    {"FROM a | WHERE x == \"a\nb\"", "1:21: unterminated string"},
    {"FROM a | WHERE x == \"\\q\"", "1:22: invalid escape sequence in string"},
    {"FROM a | WHERE x == 1 /* open", "1:23: unterminated comment"},
    {"FROM a | KEEP `abc", "1:15: unterminated quoted identifier"},
    {"FROM a | EVAL t = DATE_TRUNC(5m, @timestamp)",
     "1:31: unknown time unit 'm'"},
    {"FROM a | EVAL t = 1.5 hours", "1:19: a time span needs an integer count"},
    {"FROM a | WHERE a < b < c", "1:22: unexpected '<'"},
    {"FROM a | WHERE x IN 1", "1:21: expected '(', found '1'"},
    {"FROM a | WHERE x LIKE y", "1:23: LIKE needs a string pattern"},
    {"FROM a | WHERE x IS NOT 1", "1:25: expected NULL, found '1'"},
    {"FROM a | WHERE (x", "1:18: expected ')', found end of query"},
    {"FROM a | WHERE x ==", "1:20: unexpected end of query"},
    {"FROM a | WHERE x and", "1:21: unexpected end of query"},
    {"FROM a | WHERE x == 1 z", "1:23: unknown time unit 'z'"},
    {"FROM a | WHERE x == 1 foo", "1:23: unknown time unit 'foo'"},
    {"FROM a | WHERE x == 1)", "1:22: expected '|' or end of query, found ')'"},
    {"FROM a | WHERE 1e999 > x", "1:16: number out of range: 1e999"},
    {"FROM a | STATS", "1:10: STATS needs an aggregate or a BY group"},
    {"FROM a | LIMIT x", "1:16: expected an integer, found 'x'"},
    {"FROM a | LIMIT 99999999999", "1:16: LIMIT 99999999999 is too large"},
    {"FROM a | SORT x NULLS", "1:22: expected FIRST or LAST, found end "
			      "of query"},
    {"FROM a | RENAME a b", "1:19: expected AS or '=', found 'b'"},
    {"FROM a | EVAL f(x) = 1", "1:20: unexpected '='"},
    {"FROM a | WHERE x =~ \"a\"", "1:18: the =~ operator is not supported"},
    {"FROM a | WHERE x == #", "1:21: unexpected '#'"},
    {"FROM a | KEEP and", "1:15: expected a column name, found 'and'"},
    {"FROM a | WHERE a.b(x)", "1:16: invalid function name 'a.b'"},
    {"FROM | WHERE x", "1:6: expected an index pattern, found '|'"},
};

static void
check_ok(const struct ok_case *c)
{
	struct esql_query *q, *q2;
	struct buf b = {0}, b2 = {0};
	char err[256];

	q = esql_query_parse(c->in, strlen(c->in), err, sizeof(err));
	if (q == NULL) {
		fprintf(stderr, "parse failed: %s\n  query: %s\n", err, c->in);
		CHECK(q != NULL);
		return;
	}
	esql_query_print(q, &b);
	CHECK_STR(buf_cstr(&b), c->out);
	/* The print parses back to a tree that prints the same. */
	q2 = esql_query_parse(b.data, b.len, err, sizeof(err));
	CHECK(q2 != NULL);
	if (q2 != NULL) {
		esql_query_print(q2, &b2);
		CHECK_STR(buf_cstr(&b2), buf_cstr(&b));
	}
	esql_query_free(q);
	esql_query_free(q2);
	buf_free(&b);
	buf_free(&b2);
}

static void
check_bad(const struct bad_case *c)
{
	struct esql_query *q;
	char err[256];

	q = esql_query_parse(c->in, strlen(c->in), err, sizeof(err));
	CHECK(q == NULL);
	if (q != NULL) {
		fprintf(stderr, "  parsed: %s\n", c->in);
		esql_query_free(q);
		return;
	}
	CHECK_STR(err, c->err);
}

/* The tree: positions, kinds and values. */
static void
test_tree(void)
{
	const char *src = "FROM a\n| WHERE x == 1\n| STATS c = COUNT(*) "
			  "WHERE y BY k\n| SORT c DESC";
	struct esql_query *q;
	const struct esql_node *n;
	char err[256];

	q = esql_query_parse(src, strlen(src), err, sizeof(err));
	CHECK(q != NULL);
	if (q == NULL)
		return;
	CHECK_EQ_INT(q->ncmds, 4);
	CHECK_EQ_INT(q->cmds[1].kind, ESQL_CMD_WHERE);
	CHECK_EQ_INT(q->cmds[1].line, 2);
	CHECK_EQ_INT(q->cmds[1].col, 3);
	n = q->cmds[1].cond;
	CHECK_EQ_INT(n->kind, ESQL_N_BINARY);
	CHECK_EQ_INT(n->op, ESQL_BIN_EQ);
	CHECK_EQ_INT(n->args[1]->kind, ESQL_N_INT);
	CHECK_EQ_INT(n->args[1]->i, 1);
	CHECK_EQ_INT(n->args[1]->line, 2);
	CHECK_EQ_INT(n->args[1]->col, 14);
	CHECK_EQ_INT(q->cmds[2].nitems, 1);
	CHECK_STR(q->cmds[2].items[0].name, "c");
	CHECK_EQ_INT(q->cmds[2].items[0].expr->kind, ESQL_N_CALL);
	CHECK_EQ_INT(q->cmds[2].items[0].expr->args[0]->kind, ESQL_N_STAR);
	CHECK(q->cmds[2].items[0].where != NULL);
	CHECK_EQ_INT(q->cmds[2].nby, 1);
	CHECK_EQ_INT(q->cmds[3].nkeys, 1);
	CHECK(q->cmds[3].keys[0].desc);
	CHECK(q->cmds[3].keys[0].nulls_first);
	CHECK(!q->cmds[3].keys[0].nulls_explicit);
	esql_query_free(q);
}

/* Nesting is bounded: 200 levels parse, 201 do not. */
static void
test_depth(void)
{
	struct buf b = {0};
	struct esql_query *q;
	char err[256];
	int i;

	for (i = 0; i < 2; i++) {
		int depth = 199 + i * 2, j;

		b.len = 0;
		buf_append(&b, "FROM a | WHERE ", 15);
		for (j = 0; j < depth; j++)
			buf_append(&b, "(", 1);
		buf_append(&b, "x", 1);
		for (j = 0; j < depth; j++)
			buf_append(&b, ")", 1);
		q = esql_query_parse(b.data, b.len, err, sizeof(err));
		if (i == 0)
			CHECK(q != NULL);
		else {
			CHECK(q == NULL);
			CHECK(strstr(err, "expression nested too deeply") !=
			      NULL);
		}
		esql_query_free(q);
	}
	/* A long left-leaning chain is as deep as it is long. */
	b.len = 0;
	buf_append(&b, "FROM a | WHERE x", 16);
	for (i = 0; i < 300; i++)
		buf_append(&b, " + x", 4);
	q = esql_query_parse(b.data, b.len, err, sizeof(err));
	CHECK(q == NULL);
	CHECK(strstr(err, "expression nested too deeply") != NULL);
	/* NOT NOT ... and - - ... recurse; both are bounded. */
	b.len = 0;
	buf_append(&b, "FROM a | WHERE ", 15);
	for (i = 0; i < 10000; i++)
		buf_append(&b, "NOT ", 4);
	buf_append(&b, "x", 1);
	q = esql_query_parse(b.data, b.len, err, sizeof(err));
	CHECK(q == NULL);
	CHECK(strstr(err, "expression nested too deeply") != NULL);
	b.len = 0;
	buf_append(&b, "FROM a | WHERE ", 15);
	for (i = 0; i < 10000; i++)
		buf_append(&b, "-", 1);
	buf_append(&b, "x", 1);
	q = esql_query_parse(b.data, b.len, err, sizeof(err));
	CHECK(q == NULL);
	buf_free(&b);
}

static void
test_size(void)
{
	size_t n = ESQL_MAX_QUERY + 1;
	char *s = xmalloc(n), err[128];

	memset(s, ' ', n);
	memcpy(s, "FROM a", 6);
	CHECK(esql_query_parse(s, n, err, sizeof(err)) == NULL);
	CHECK_STR(err, "1:1: query longer than 262144 bytes");
	free(s);
}

int
main(void)
{
	size_t i;

	for (i = 0; i < sizeof(ok_cases) / sizeof(ok_cases[0]); i++)
		check_ok(&ok_cases[i]);
	for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++)
		check_bad(&bad_cases[i]);
	test_tree();
	test_depth();
	test_size();
	return check_exit();
}
