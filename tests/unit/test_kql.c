/*
 * kql: KQL() queries against rows.  Sources of the expectations:
 *   G4  = elastic/elasticsearch x-pack/plugin/kql/src/main/antlr/
 *         KqlBase.g4: tokens (AND, OR, NOT case-insensitive, escapes,
 *         QUOTED_STRING, WILDCARD), precedence (and before or), NOT
 *         before a simple query, fieldRangeQuery, nestedQuery
 *   PEG = elastic/kibana packages/kbn-es-query/grammar/grammar.peggy:
 *         value lists field:(a or b and not c), an empty query matches
 *         all (buildNode('is', '*', '*'))
 *   SEM = esql-rule-semantics §1.5: keyword values are exact,
 *         case-sensitive terms (since ES PR #135776); quoted wildcards
 *         are literal; a multi-valued field matches when any value
 *         does (a Lucene query, no SingleValueQuery); a missing field
 *         matches nothing
 */
#include <stdarg.h>
#include <stdlib.h>

#include "check.h"
#include "fieldtype.h"
#include "kql.h"

static const struct {
	const char *name;
	enum esql_type type;
} fields[] = {
    {"event.action", ESQL_T_KEYWORD}, {"process.args", ESQL_T_KEYWORD},
    {"process.pid", ESQL_T_LONG},     {"source.ip", ESQL_T_IP},
    {"process.name", ESQL_T_KEYWORD}, {"flag", ESQL_T_BOOLEAN},
    {"score", ESQL_T_DOUBLE},         {"@timestamp", ESQL_T_DATETIME},
};
#define NF (sizeof(fields) / sizeof(fields[0]))

static struct esql_val cols[NF];
static struct esql_scalar vals[NF][4];
static char err[256];

static int
resolve(void *arg, const char *field, size_t len, int *column,
	enum esql_type *t)
{
	(void)arg;
	for (size_t i = 0; i < NF; i++)
		if (strlen(fields[i].name) == len &&
		    memcmp(fields[i].name, field, len) == 0) {
			*column = (int)i;
			*t = fields[i].type;
			return 0;
		}
	return -1;
}

/* Column i holds n values (strings read as the field's type). */
static void
set(size_t i, size_t n, ...)
{
	va_list ap;

	va_start(ap, n);
	for (size_t k = 0; k < n; k++) {
		const char *s = va_arg(ap, const char *);

		if (fieldtype_convert(fields[i].type, s, strlen(s),
				      &vals[i][k]) != 0)
			abort();
	}
	va_end(ap);
	cols[i].type = fields[i].type;
	cols[i].n = n;
	cols[i].many = vals[i];
}

/* 1 match, 0 no match, -1 refused (err says why). */
static int
q(const char *query)
{
	struct kql *k =
	    kql_new(query, strlen(query), resolve, NULL, err, sizeof(err));
	int m;

	if (k == NULL)
		return -1;
	m = kql_match(k, cols);
	kql_free(k);
	return m;
}

static void
reset(void)
{
	for (size_t i = 0; i < NF; i++)
		esql_val_null(&cols[i], fields[i].type);
}

static void
test_null_multi(void)
{
	reset();
	/* SEM: a missing field matches nothing; field:* is "exists" */
	CHECK_EQ_INT(q("event.action:exec"), 0);
	CHECK_EQ_INT(q("event.action:*"), 0);
	CHECK_EQ_INT(q("not event.action:exec"), 1);
	/* SEM: multi-valued: any value (unlike ==) */
	set(0, 3, "fork", "exec", "end");
	CHECK_EQ_INT(q("event.action:exec"), 1);
	CHECK_EQ_INT(q("event.action:(\"exec\" or \"x\")"), 1);
	CHECK_EQ_INT(q("event.action:*"), 1);
	CHECK_EQ_INT(q("not event.action:exec"), 0);
	/* an empty value is a value */
	set(0, 1, "");
	CHECK_EQ_INT(q("event.action:*"), 1);
}

static void
test_terms(void)
{
	reset();
	set(0, 1, "exec");
	set(1, 3, "sh", "-c", "id");
	/* the rule of esql-rule-semantics §1.5 */
	CHECK_EQ_INT(q("event.action:\"exec\" and "
		       "process.args:(\"-c\" or \"-cl\" or \"-lc\")"),
		     1);
	set(1, 2, "sh", "-C");
	CHECK_EQ_INT(q("event.action:\"exec\" and "
		       "process.args:(\"-c\" or \"-cl\" or \"-lc\")"),
		     0);
	/* SEM: case-sensitive */
	CHECK_EQ_INT(q("event.action:EXEC"), 0);
	CHECK_EQ_INT(q("event.action:exec"), 1);
	/* G4: keywords in any case; and binds tighter than or */
	CHECK_EQ_INT(q("event.action:exec AND process.args:sh"), 1);
	CHECK_EQ_INT(q("event.action:x or event.action:exec and "
		       "process.args:sh"),
		     1);
	CHECK_EQ_INT(q("(event.action:x or event.action:exec) and "
		       "process.args:nope"),
		     0);
	CHECK_EQ_INT(q("event.action:x or event.action:exec and "
		       "process.args:nope"),
		     0);
	CHECK_EQ_INT(q("NOT event.action:x"), 1);
	CHECK_EQ_INT(q("not(event.action:exec)"), 0);
	/* PEG: value lists with and / not */
	CHECK_EQ_INT(q("process.args:(sh and not -c)"), 1);
	CHECK_EQ_INT(q("process.args:(sh and -C)"), 1);
	CHECK_EQ_INT(q("process.args:(sh and -c)"), 0);
	/* PEG: the empty query matches all */
	CHECK_EQ_INT(q(""), 1);
	CHECK_EQ_INT(q("   "), 1);
}

static void
test_wildcards_escapes(void)
{
	reset();
	set(4, 1, "python3.11");
	/* G4: unquoted `*` is a wildcard, quoted it is literal */
	CHECK_EQ_INT(q("process.name:python*"), 1);
	CHECK_EQ_INT(q("process.name:*thon3*"), 1);
	CHECK_EQ_INT(q("process.name:\"python*\""), 0);
	CHECK_EQ_INT(q("process.name:py*11"), 1);
	CHECK_EQ_INT(q("process.name:Py*"), 0);
	set(4, 1, "a*b");
	CHECK_EQ_INT(q("process.name:\"a*b\""), 1);
	CHECK_EQ_INT(q("process.name:a\\*b"), 1);
	set(4, 1, "axb");
	CHECK_EQ_INT(q("process.name:a\\*b"), 0);
	CHECK_EQ_INT(q("process.name:a*b"), 1);
	/* `?` is no wildcard in KQL */
	CHECK_EQ_INT(q("process.name:a?b"), 0);
	/* G4: escapes of specials, whitespace, \u and keywords */
	set(4, 1, "a b:(c)");
	CHECK_EQ_INT(q("process.name:a\\ b\\:\\(c\\)"), 1);
	set(4, 1, "and");
	CHECK_EQ_INT(q("process.name:\\and"), 1);
	CHECK_EQ_INT(q("process.name:\"and\""), 1);
	set(4, 1, "\xc3\xa9t\xc3\xa9");
	CHECK_EQ_INT(q("process.name:\\u00e9t\\u00e9"), 1);
	set(4, 1, "say \"hi\"");
	CHECK_EQ_INT(q("process.name:\"say \\\"hi\\\"\""), 1);
	set(4, 1, "a\tb");
	CHECK_EQ_INT(q("process.name:a\\tb"), 1);
}

static void
test_types(void)
{
	reset();
	set(2, 1, "4242");
	set(3, 1, "10.1.2.3");
	set(5, 1, "true");
	/* fieldtype reads no double: the row holds 2.5 directly */
	vals[6][0].u.d = 2.5;
	cols[6].type = ESQL_T_DOUBLE;
	cols[6].n = 1;
	cols[6].many = vals[6];
	/* a long field reads the value as a number */
	CHECK_EQ_INT(q("process.pid:4242"), 1);
	CHECK_EQ_INT(q("process.pid:\"4242\""), 1);
	CHECK_EQ_INT(q("process.pid:4243"), 0);
	CHECK_EQ_INT(q("process.pid >= 4000"), 1);
	CHECK_EQ_INT(q("process.pid < 4000"), 0);
	CHECK_EQ_INT(q("process.pid<=4242"), 1);
	CHECK_EQ_INT(q("process.pid>4242"), 0);
	/* an ip field: an address or a CIDR block */
	CHECK_EQ_INT(q("source.ip:10.1.2.3"), 1);
	CHECK_EQ_INT(q("source.ip:\"10.0.0.0/8\""), 1);
	CHECK_EQ_INT(q("source.ip:10.0.0.0\\/8"), -1);
	CHECK_EQ_INT(q("source.ip:\"192.168.0.0/16\""), 0);
	CHECK_EQ_INT(q("source.ip:\"::ffff:10.1.2.3\""), 1);
	/* boolean, double */
	CHECK_EQ_INT(q("flag:true"), 1);
	CHECK_EQ_INT(q("flag:false"), 0);
	CHECK_EQ_INT(q("score:2.5"), 1);
	CHECK_EQ_INT(q("score > 2"), 1);
	/* keyword ranges compare bytes */
	set(4, 1, "m");
	CHECK_EQ_INT(q("process.name >= a and process.name < n"), 1);
}

static void
test_refused(void)
{
	static const struct {
		const char *query, *err;
	} rows[] = {
	    {"exec", "free text without a field is not supported at offset 0"},
	    {"event.action:exec and exec",
	     "free text without a field is not supported at offset 22"},
	    {"event.*:exec", "field name wildcards are not supported at "
			     "offset 0"},
	    {"event:{action:exec}",
	     "nested queries are not supported at offset 6"},
	    {"no.such:1", "unknown field no.such at offset 0"},
	    {"process.pid:abc",
	     "cannot read \"abc\" as long for field process.pid at offset 12"},
	    {"process.pid:4*",
	     "wildcards need a keyword field, process.pid is long at offset "
	     "12"},
	    {"flag:yes",
	     "cannot read \"yes\" as boolean for field flag at offset 5"},
	    {"flag > true",
	     "range on the boolean field flag is not supported at offset 7"},
	    {"@timestamp:2024",
	     "KQL on the date field @timestamp is not supported at offset 11"},
	    {"process.name:foo bar",
	     "an unquoted value of several words is not supported (quote "
	     "it) at offset 17"},
	    {"(event.action:exec", "expected ')' at offset 18"},
	    {"event.action:exec)", "unexpected ')' at offset 17"},
	    {"event.action:\"exec", "unterminated quoted string at offset 13"},
	    {"event.action:a\\qb", "invalid escape sequence at offset 14"},
	    {"event.action:", "expected a value at offset 13"},
	    {"process.pid:>5", "expected a value at offset 12"},
	    {"not not event.action:x", "expected a field name at offset 4"},
	};

	reset();
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		err[0] = '\0';
		if (q(rows[i].query) != -1) {
			fprintf(stderr, "%s: compiled\n", rows[i].query);
			check_failures++;
			continue;
		}
		CHECK_STR(err, rows[i].err);
	}
}

static void
test_depth(void)
{
	char buf[400];
	size_t n = 0;

	for (int i = 0; i < KQL_MAX_DEPTH + 1; i++)
		buf[n++] = '(';
	memcpy(buf + n, "flag:true", 9);
	n += 9;
	for (int i = 0; i < KQL_MAX_DEPTH + 1; i++)
		buf[n++] = ')';
	buf[n] = '\0';
	CHECK_EQ_INT(q(buf), -1);
	CHECK(strstr(err, "nested deeper than 64") != NULL);
	/* a long flat list is no nesting */
	{
		struct buf b = {0};

		for (int i = 0; i < 2000; i++)
			buf_append(&b, "flag:false or ", 14);
		buf_append(&b, "flag:true", 10);
		reset();
		set(5, 1, "true");
		CHECK_EQ_INT(q(b.data), 1);
		buf_free(&b);
	}
}

static void
count_col(void *arg, int column)
{
	((int *)arg)[column]++;
}

static void
test_needles_columns(void)
{
	struct esql_needles nd;
	int seen[NF] = {0};
	const char *text = "event.action:exec and "
			   "process.args:(\"-c\" or \"-cl\" or py*x)";
	struct kql *k =
	    kql_new(text, strlen(text), resolve, NULL, err, sizeof(err));
	size_t len;

	CHECK(k != NULL);
	if (k == NULL)
		return;
	CHECK(kql_needles(k, &nd));
	CHECK_EQ_INT(nd.n, 1); /* the side with the longer shortest needle */
	CHECK(nd.v[0].column == 0 && nd.v[0].len == 4 &&
	      memcmp(nd.v[0].p, "exec", 4) == 0);
	kql_columns(k, count_col, seen);
	CHECK(seen[0] == 1 && seen[1] == 3 && seen[2] == 0);
	CHECK(kql_text(k, &len) != NULL && len == strlen(text));
	kql_free(k);

	text = "process.args:(\"-c\" or py*x)";
	k = kql_new(text, strlen(text), resolve, NULL, err, sizeof(err));
	CHECK(kql_needles(k, &nd));
	CHECK_EQ_INT(nd.n, 2);
	CHECK(nd.v[1].len == 2 && memcmp(nd.v[1].p, "py", 2) == 0);
	kql_free(k);

	/* a long literal over a short one, wherever it stands in the and */
	text = "event.action:exec and process.args:/var/lib/waagent/*/run.sh";
	k = kql_new(text, strlen(text), resolve, NULL, err, sizeof(err));
	CHECK(k != NULL && kql_needles(k, &nd));
	CHECK(nd.n == 1 && nd.v[0].column == 1 &&
	      nd.v[0].len == strlen("/var/lib/waagent/") &&
	      memcmp(nd.v[0].p, "/var/lib/waagent/", nd.v[0].len) == 0);
	kql_free(k);

	/* nothing proved: not, exists, numbers, an unprovable or-side */
	text = "not event.action:exec";
	k = kql_new(text, strlen(text), resolve, NULL, err, sizeof(err));
	CHECK(!kql_needles(k, &nd));
	kql_free(k);
	text = "event.action:exec or process.pid:1";
	k = kql_new(text, strlen(text), resolve, NULL, err, sizeof(err));
	CHECK(!kql_needles(k, &nd));
	kql_free(k);
	text = "event.action:*";
	k = kql_new(text, strlen(text), resolve, NULL, err, sizeof(err));
	CHECK(!kql_needles(k, &nd));
	kql_free(k);
}

int
main(void)
{
	test_null_multi();
	test_terms();
	test_wildcards_escapes();
	test_types();
	test_refused();
	test_depth();
	test_needles_columns();
	return check_exit();
}
