/*
 * rule: each filter clause of the seed rule, multi-valued and missing
 * fields, and the label order.
 */
#include <stdio.h>
#include <stdlib.h>

#include "check.h"
#include "record.h"
#include "rule.h"

static struct rule *seed_rule; /* the built-in plan */
static struct parser *ps;

/* A matching event with one field replaced by `over` (JSON members). */
static bool
match(const char *over)
{
	char doc[2048];
	const struct record *rec;

	snprintf(doc, sizeof(doc),
		 "{%s%s\"agent.id\":\"a\",\"x\":1,"
		 "\"host\":{\"os\":{\"type\":\"linux\"}},"
		 "\"event\":{\"type\":\"start\",\"action\":\"exec\"},"
		 "\"process\":{\"name\":\"sh\",\"args\":[\"sh\",\"-c\",\"id\"],"
		 "\"parent\":{\"name\":\"python3\"}}}",
		 over, *over ? "," : "");
	if (parser_parse(ps, doc, strlen(doc), &rec) != PARSE_OK) {
		fprintf(stderr, "bad test document: %s\n", doc);
		return false;
	}
	return rule_match(seed_rule, rec);
}

/*
 * Fields given as dotted keys before the nested ones: a second value of
 * the same field makes it multi-valued, which is the point of several
 * cases below.  For a plain replacement, the nested value must go: the
 * tests use fields the base document lacks or accept the merge.
 */
static const char *
label(const char *cmdline_json)
{
	char doc[1024];
	const struct record *rec;

	snprintf(doc, sizeof(doc), "{\"process\":{\"command_line\":%s}}",
		 cmdline_json);
	if (parser_parse(ps, doc, strlen(doc), &rec) != PARSE_OK)
		return "(bad)";
	return rule_label_name(seed_rule, rule_label(seed_rule, rec));
}

int
main(void)
{
	seed_rule = rule_default();
	CHECK_EQ_INT(rule_compile(seed_rule, NULL, 0), 0);
	ps = parser_new(seed_rule->fields, seed_rule->nfields, 64);

	CHECK(match(""));
	/* 1. host.os.type single-valued, linux or macos. */
	CHECK(match("\"host.os.type\":\"linux\""));
	CHECK(!match("\"host.os.type\":\"macos\""));   /* two values */
	CHECK(!match("\"host.os.type\":\"windows\"")); /* two values */
	CHECK(!match("\"host.os.type\":[\"linux\",\"linux2\"]"));
	CHECK(match("\"host.os.type\":[\"linux\",\"linux\"]"));
	/* 2. event.type single-valued start. */
	CHECK(match("\"event.type\":[\"start\"]"));
	CHECK(!match("\"event.type\":[\"start\",\"end\"]"));
	CHECK(!match("\"event.type\":\"end\""));
	/* 3. process.parent.name starts with python, any ASCII case. */
	CHECK(match("\"process.parent.name\":\"python3\""));
	CHECK(!match("\"process.parent.name\":\"PYTHON\"")); /* two values */
	/* 4. process.name is a shell, case-sensitive. */
	CHECK(!match("\"process.name\":\"bash\""));
	/* 5. some event.action is exec. */
	CHECK(match("\"event.action\":[\"fork\",\"exec\"]"));
	CHECK(match("\"event.action\":\"fork\""));
	/* 6. some process.args is -c, -cl or -lc. */
	CHECK(match("\"process.args\":\"-x\""));

	/* Clause by clause on documents of one spelling. */
	{
		struct {
			const char *doc;
			bool want;
		} cases[] = {
#define BASE(os, et, pp, pn, ea, pa)                           \
	"{\"host.os.type\":" os ",\"event.type\":" et          \
	",\"process.parent.name\":" pp ",\"process.name\":" pn \
	",\"event.action\":" ea ",\"process.args\":" pa "}"
		    {BASE("\"linux\"", "\"start\"", "\"python3\"", "\"sh\"",
			  "\"exec\"", "[\"sh\",\"-c\"]"),
		     true},
		    {BASE("\"macos\"", "\"start\"", "\"python3\"", "\"sh\"",
			  "\"exec\"", "\"-c\""),
		     true},
		    {BASE("\"Linux\"", "\"start\"", "\"python3\"", "\"sh\"",
			  "\"exec\"", "\"-c\""),
		     false},
		    {BASE("\"windows\"", "\"start\"", "\"python3\"", "\"sh\"",
			  "\"exec\"", "\"-c\""),
		     false},
		    {BASE("null", "\"start\"", "\"python3\"", "\"sh\"",
			  "\"exec\"", "\"-c\""),
		     false},
		    {BASE("\"linux\"", "\"START\"", "\"python3\"", "\"sh\"",
			  "\"exec\"", "\"-c\""),
		     false},
		    {BASE("\"linux\"", "[\"start\",\"end\"]", "\"python3\"",
			  "\"sh\"", "\"exec\"", "\"-c\""),
		     false},
		    {BASE("\"linux\"", "\"start\"", "\"PYTHON\"", "\"sh\"",
			  "\"exec\"", "\"-c\""),
		     true},
		    {BASE("\"linux\"", "\"start\"", "\"Python3.11\"", "\"sh\"",
			  "\"exec\"", "\"-c\""),
		     true},
		    {BASE("\"linux\"", "\"start\"", "\"pythonw\"", "\"sh\"",
			  "\"exec\"", "\"-c\""),
		     true},
		    {BASE("\"linux\"", "\"start\"", "\"python\"", "\"sh\"",
			  "\"exec\"", "\"-c\""),
		     true},
		    {BASE("\"linux\"", "\"start\"", "\"/usr/bin/python3\"",
			  "\"sh\"", "\"exec\"", "\"-c\""),
		     false},
		    {BASE("\"linux\"", "\"start\"", "\"ipython3\"", "\"sh\"",
			  "\"exec\"", "\"-c\""),
		     false},
		    {BASE("\"linux\"", "\"start\"", "\"pytho\"", "\"sh\"",
			  "\"exec\"", "\"-c\""),
		     false},
		    {BASE("\"linux\"", "\"start\"", "[\"python3\",\"python2\"]",
			  "\"sh\"", "\"exec\"", "\"-c\""),
		     false},
		    {BASE("\"linux\"", "\"start\"", "\"python3\"", "\"Sh\"",
			  "\"exec\"", "\"-c\""),
		     false},
		    {BASE("\"linux\"", "\"start\"", "\"python3\"",
			  "\"busybox\"", "\"exec\"", "\"-c\""),
		     true},
		    {BASE("\"linux\"", "\"start\"", "\"python3\"", "\"fish\"",
			  "\"exec\"", "\"-lc\""),
		     true},
		    {BASE("\"linux\"", "\"start\"", "\"python3\"", "\"sh2\"",
			  "\"exec\"", "\"-c\""),
		     false},
		    {BASE("\"linux\"", "\"start\"", "\"python3\"",
			  "[\"sh\",\"bash\"]", "\"exec\"", "\"-c\""),
		     false},
		    {BASE("\"linux\"", "\"start\"", "\"python3\"", "\"sh\"",
			  "\"fork\"", "\"-c\""),
		     false},
		    {BASE("\"linux\"", "\"start\"", "\"python3\"", "\"sh\"",
			  "[\"fork\",\"exec\"]", "\"-c\""),
		     true},
		    {BASE("\"linux\"", "\"start\"", "\"python3\"", "\"sh\"",
			  "\"Exec\"", "\"-c\""),
		     false},
		    {BASE("\"linux\"", "\"start\"", "\"python3\"", "\"sh\"",
			  "\"exec\"", "[\"sh\",\"-cl\"]"),
		     true},
		    {BASE("\"linux\"", "\"start\"", "\"python3\"", "\"sh\"",
			  "\"exec\"", "[\"sh\",\"-l\",\"-c x\"]"),
		     false},
		    {BASE("\"linux\"", "\"start\"", "\"python3\"", "\"sh\"",
			  "\"exec\"", "[\"-C\"]"),
		     false},
		    {BASE("\"linux\"", "\"start\"", "\"python3\"", "\"sh\"",
			  "\"exec\"", "[]"),
		     false},
		    {BASE("\"linux\"", "\"start\"", "123", "\"sh\"", "\"exec\"",
			  "\"-c\""),
		     false},
		};
		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			const struct record *rec;
			const char *d = cases[i].doc;
			CHECK_EQ_INT(parser_parse(ps, d, strlen(d), &rec),
				     PARSE_OK);
			if (rule_match(seed_rule, rec) != cases[i].want) {
				fprintf(stderr, "case %zu: %s\n", i, d);
				CHECK(0);
			}
		}
	}

	/* Single values that already fail the filter. */
	{
		const struct rule *r = seed_rule;
		uint32_t slots = rule_check_slots(r);
		int pn = r->clauses[3].slot, pa = r->clauses[5].slot;
		CHECK(slots >> r->clauses[0].slot & 1);
		CHECK(slots >> pn & 1);
		CHECK(!(slots >> pa & 1)); /* "any": one value says nothing */
		CHECK(!(slots >> r->clauses[4].slot & 1));
		CHECK(rule_value_ok(r, pn, "sh", 2));
		CHECK(!rule_value_ok(r, pn, "ls", 2));
		CHECK(!rule_value_ok(r, r->clauses[2].slot, "ipython", 7));
		CHECK(rule_value_ok(r, r->clauses[2].slot, "PYTHON3", 7));
		CHECK(rule_value_ok(r, pa, "-x", 2));
	}

	/* Labels: first match wins; missing or multi-valued is other. */
	CHECK_STR(label("\"sh -c grep x | find y\""), "grep");
	CHECK_STR(label("\"find . -name curl\""), "find");
	CHECK_STR(label("\"curl http://h | wget\""), "curl");
	CHECK_STR(label("\"env \""), "environment_enumeration");
	CHECK_STR(label("\"env\""), "other");
	CHECK_STR(label("\"printenv\""), "other");
	CHECK_STR(label("\"wget x; whoami\""), "wget");
	CHECK_STR(label("\"whoami\""), "discovery");
	CHECK_STR(label("\"uname -a\""), "discovery");
	CHECK_STR(label("\"cat /etc/hostname\""), "discovery");
	CHECK_STR(label("\"GREP x\""), "other");
	CHECK_STR(label("\"ls\""), "other");
	CHECK_STR(label("null"), "other");
	CHECK_STR(label("[\"grep a\",\"grep b\"]"), "other");
	CHECK_STR(label("[\"grep a\",\"grep a\"]"), "grep");
	CHECK_STR(label("12"), "other");

	parser_free(ps);
	rule_free(seed_rule);
	return check_exit();
}
