/*
 * record: nested and dotted keys, arrays, escapes, numbers, booleans,
 * null, depth, invalid input, keyword values past ignore_above (1024
 * UTF-16 code units), and no heap allocation in steady state.
 */
#include <stdlib.h>

#include "check.h"
#include "record.h"
#include "util.h"

static const char *const fields[] = {
    "process.parent.name", /* 0 */
    "process.name",        /* 1 */
    "process.args",        /* 2 */
    "event.type",          /* 3 */
    "@timestamp",          /* 4 */
    "host.name",           /* 5 */
};

static struct parser *ps;
static const struct record *rec;

static enum parse_result
parse(const char *s)
{
	return parser_parse(ps, s, strlen(s), &rec);
}

/* The values of a slot joined with '|', for comparison. */
static const char *
vals(int slot)
{
	static char out[512];
	size_t n, o = 0;
	const struct record_value *v = record_get(rec, slot, &n);

	out[0] = '\0';
	for (size_t i = 0; i < n && o + v[i].len + 2 < sizeof(out); i++) {
		if (i > 0)
			out[o++] = '|';
		memcpy(out + o, v[i].p, v[i].len);
		o += v[i].len;
		out[o] = '\0';
	}
	return out;
}

static int checks;

static bool
refuse_zsh(void *arg, int slot, const char *p, size_t len)
{
	(void)arg;
	checks++;
	return !(slot == 1 && len == 3 && memcmp(p, "zsh", 3) == 0);
}

/* Appends n copies of unit (a string) to b. */
static void
repeat(char *b, size_t *len, const char *unit, size_t n)
{
	size_t u = strlen(unit);

	for (size_t i = 0; i < n; i++, *len += u)
		memcpy(b + *len, unit, u);
	b[*len] = '\0';
}

/* {"<field>":["<prefix><unit × n><suffix>","short"]} */
static char *
doc_with(const char *field, const char *unit, size_t n, const char *suffix)
{
	char *b =
	    malloc(64 + strlen(field) + strlen(unit) * n + strlen(suffix));
	size_t len = 0;

	len = (size_t)sprintf(b, "{\"%s\":[\"", field);
	repeat(b, &len, unit, n);
	len += (size_t)sprintf(b + len, "%s\",\"short\"]}", suffix);
	return b;
}

/*
 * RECORD_MAX_FIELDS fields (the union of many rules'): every slot gets
 * its own values, and ignore_above applies past the first 64 slots too.
 */
static void
test_many_fields(void)
{
	static char names[RECORD_MAX_FIELDS][32];
	const char *f[RECORD_MAX_FIELDS];
	char *d, *long_value = doc_with("x", "y", 1025, "");
	struct buf doc = {0};
	const struct record_value *v;
	const struct record *r;
	struct parser *p;
	size_t n;

	for (int i = 0; i < RECORD_MAX_FIELDS; i++) {
		snprintf(names[i], sizeof(names[i]), "f%d.v", i);
		f[i] = names[i];
	}
	p = parser_new(f, RECORD_MAX_FIELDS, 8);
	buf_append(&doc, "{", 1);
	for (int i = RECORD_MAX_FIELDS - 1; i >= 0; i--) {
		char item[64];
		int k = snprintf(item, sizeof(item), "\"f%d\":{\"v\":%d},", i,
				 i * 10);
		buf_append(&doc, item, (size_t)k);
	}
	/* The last slot's second value: over ignore_above, not indexed. */
	d = strchr(long_value, '[');
	{
		char key[32];
		int k = snprintf(key, sizeof(key),
				 "\"f%d.v\":", RECORD_MAX_FIELDS - 1);
		buf_append(&doc, key, (size_t)k);
	}
	buf_append(&doc, d, strlen(d) - 1);
	buf_append(&doc, "}", 1);
	CHECK_EQ_INT(parser_parse(p, doc.data, doc.len, &r), PARSE_OK);
	for (int i = 0; i < RECORD_MAX_FIELDS; i++) {
		char want[16];
		int k = snprintf(want, sizeof(want), "%d", i * 10);
		v = record_get(r, i, &n);
		CHECK_EQ_INT(n, i == RECORD_MAX_FIELDS - 1 ? 2 : 1);
		CHECK(n >= 1 && v[0].len == (size_t)k &&
		      memcmp(v[0].p, want, (size_t)k) == 0);
	}
	v = record_get(r, RECORD_MAX_FIELDS - 1, &n);
	CHECK(n == 2 && v[1].len == 5 && memcmp(v[1].p, "short", 5) == 0);
	parser_free(p);
	buf_free(&doc);
	free(long_value);
}

static void
test_ignore_above(void)
{
	static const char *const f[] = {
	    "process.name",          /* 0: keyword */
	    "process.command_line",  /* 1: wildcard */
	    "@timestamp",            /* 2: date */
	    "data_stream.namespace", /* 3: constant_keyword */
	};
	struct parser *p = parser_new(f, 4, 8);
	const struct record_value *v;
	const struct record *r;
	size_t n;
	char *d;

	CHECK(record_is_keyword("process.name"));
	CHECK(record_is_keyword("process.parent.name"));
	CHECK(record_is_keyword("host.name"));
	CHECK(!record_is_keyword("process.command_line"));
	CHECK(!record_is_keyword("process.parent.command_line"));
	CHECK(!record_is_keyword("@timestamp"));
	CHECK(!record_is_keyword("data_stream.namespace"));
	CHECK(!record_is_keyword("message"));

	/* 1024 ASCII characters are kept, 1025 are not. */
	d = doc_with("process.name", "x", 1024, "");
	CHECK_EQ_INT(parser_parse(p, d, strlen(d), &r), PARSE_OK);
	v = record_get(r, 0, &n);
	CHECK_EQ_INT(n, 2);
	CHECK(n == 2 && v[0].len == 1024);
	free(d);
	d = doc_with("process.name", "x", 1025, "");
	CHECK_EQ_INT(parser_parse(p, d, strlen(d), &r), PARSE_OK);
	v = record_get(r, 0, &n);
	CHECK_EQ_INT(n, 1);
	CHECK(n == 1 && v[0].len == 5 && memcmp(v[0].p, "short", 5) == 0);
	free(d);
	/* A code point above U+FFFF counts 2: 512 of them are 1024 units
	 * (2048 bytes), kept; one "é" more (1 unit) is too many. */
	d = doc_with("process.name", "\xf0\x9f\x98\x80", 512, "");
	CHECK_EQ_INT(parser_parse(p, d, strlen(d), &r), PARSE_OK);
	(void)record_get(r, 0, &n);
	CHECK_EQ_INT(n, 2);
	free(d);
	d = doc_with("process.name", "\xf0\x9f\x98\x80", 512, "\xc3\xa9");
	CHECK_EQ_INT(parser_parse(p, d, strlen(d), &r), PARSE_OK);
	(void)record_get(r, 0, &n);
	CHECK_EQ_INT(n, 1);
	free(d);
	/* The same as escapes, counted after unescaping: 1024 three-byte
	 * characters are 1024 units (3072 bytes), kept. */
	d = doc_with("process.name", "\\u20ac", 1024, "");
	CHECK_EQ_INT(parser_parse(p, d, strlen(d), &r), PARSE_OK);
	v = record_get(r, 0, &n);
	CHECK_EQ_INT(n, 2);
	CHECK(n == 2 && v[0].len == 3072);
	free(d);
	d = doc_with("process.name", "\\ud83d\\ude00", 513, "");
	CHECK_EQ_INT(parser_parse(p, d, strlen(d), &r), PARSE_OK);
	(void)record_get(r, 0, &n);
	CHECK_EQ_INT(n, 1);
	free(d);
	/* A number's text counts the same. */
	{
		char num[1100];
		size_t len = (size_t)sprintf(num, "{\"process.name\":[");
		repeat(num, &len, "1", 1025);
		len += (size_t)sprintf(num + len, ",7]}");
		CHECK_EQ_INT(parser_parse(p, num, len, &r), PARSE_OK);
		v = record_get(r, 0, &n);
		CHECK_EQ_INT(n, 1);
		CHECK(n == 1 && v[0].len == 1 && v[0].p[0] == '7');
	}
	/* Fields that are not keywords keep every value. */
	for (int slot = 1; slot <= 3; slot++) {
		d = doc_with(f[slot], "x", 5000, "");
		CHECK_EQ_INT(parser_parse(p, d, strlen(d), &r), PARSE_OK);
		v = record_get(r, slot, &n);
		CHECK_EQ_INT(n, 2);
		CHECK(n == 2 && v[0].len == 5000);
		free(d);
	}
	/* A value not indexed is not checked either. */
	parser_set_check(p, 1u << 0, refuse_zsh, NULL);
	checks = 0;
	d = doc_with("process.name", "z", 2000, "");
	CHECK_EQ_INT(parser_parse(p, d, strlen(d), &r), PARSE_OK);
	CHECK_EQ_INT(checks, 1);
	free(d);
	parser_free(p);
}

int
main(void)
{
	struct record_value d[4];

	ps = parser_new(fields, sizeof(fields) / sizeof(fields[0]), 8);

	/* Nested, dotted and mixed spellings name the same field. */
	CHECK_EQ_INT(parse("{\"process\":{\"parent\":{\"name\":\"a\"}}}"),
		     PARSE_OK);
	CHECK_STR(vals(0), "a");
	CHECK_EQ_INT(parse("{\"process.parent.name\":\"b\"}"), PARSE_OK);
	CHECK_STR(vals(0), "b");
	CHECK_EQ_INT(parse("{\"process\":{\"parent.name\":\"c\"}}"), PARSE_OK);
	CHECK_STR(vals(0), "c");
	CHECK_EQ_INT(parse("{\"process.parent\":{\"name\":\"d\"}}"), PARSE_OK);
	CHECK_STR(vals(0), "d");
	/* Both spellings in one document: merged, several values. */
	CHECK_EQ_INT(parse(
			 "{\"process\":{\"name\":\"sh\",\"parent\":{\"x\":1}},"
			 "\"process.name\":\"bash\"}"),
		     PARSE_OK);
	CHECK_STR(vals(1), "sh|bash");
	CHECK_STR(vals(0), "");

	/* Arrays flatten, nested arrays and arrays of objects too. */
	CHECK_EQ_INT(parse("{\"process\":{\"args\":[\"sh\",[\"-c\"],null,"
			   "\"id\"]}}"),
		     PARSE_OK);
	CHECK_STR(vals(2), "sh|-c|id");
	CHECK_EQ_INT(parse("{\"process\":[{\"name\":\"a\"},{\"name\":\"b\","
			   "\"args\":[]}]}"),
		     PARSE_OK);
	CHECK_STR(vals(1), "a|b");
	CHECK_STR(vals(2), "");
	/* Dedup is record_distinct's job, not the parser's. */
	CHECK_EQ_INT(parse("{\"event\":{\"type\":[\"start\",\"start\"]}}"),
		     PARSE_OK);
	CHECK_STR(vals(3), "start|start");
	CHECK_EQ_INT(record_distinct(rec, 3, d, 4), 1);
	CHECK_EQ_INT(parse("{\"event\":{\"type\":[\"start\",\"end\"]}}"),
		     PARSE_OK);
	CHECK_EQ_INT(record_distinct(rec, 3, d, 1), 2);

	/* Escapes, including surrogate pairs, are decoded. */
	CHECK_EQ_INT(parse("{\"process.parent.name\":\"\\u0070ython\\u0033\"}"),
		     PARSE_OK);
	CHECK_STR(vals(0), "python3");
	CHECK_EQ_INT(parse("{\"process.name\":\"\\ud83d\\ude00\\\"\\\\\\/\"}"),
		     PARSE_OK);
	CHECK_STR(vals(1), "\xf0\x9f\x98\x80\"\\/");
	/* Escaped keys too. */
	CHECK_EQ_INT(parse("{\"process\":{\"n\\u0061me\":\"zsh\"}}"), PARSE_OK);
	CHECK_STR(vals(1), "zsh");

	/* Numbers keep their text; booleans are true/false; null nothing. */
	CHECK_EQ_INT(parse("{\"host\":{\"name\":123456789012345678901234567890"
			   "}}"),
		     PARSE_OK);
	CHECK_STR(vals(5), "123456789012345678901234567890");
	CHECK_EQ_INT(parse("{\"host.name\":[1.50,-0,2e10,true,false,null]}"),
		     PARSE_OK);
	CHECK_STR(vals(5), "1.50|-0|2e10|true|false");
	CHECK_EQ_INT(parse("{\"@timestamp\":1714564800000}"), PARSE_OK);
	CHECK_STR(vals(4), "1714564800000");

	/* Unwanted subtrees are skipped, however deep within the cap. */
	CHECK_EQ_INT(
	    parse("{\"x\":{\"process\":{\"name\":\"sh\"}},"
		  "\"process\":{\"Ext\":{\"name\":\"no\"}},\"name\":\"no\"}"),
	    PARSE_OK);
	CHECK_STR(vals(1), "");

	/* Depth cap: 8 levels pass, 9 do not. */
	CHECK_EQ_INT(parse("{\"a\":[[[[[[[1]]]]]]]}"), PARSE_OK);
	CHECK_EQ_INT(parse("{\"a\":[[[[[[[[1]]]]]]]]}"), PARSE_TOO_DEEP);

	/* Invalid input is classified, and the parser recovers. */
	CHECK_EQ_INT(parse("{\"a\":"), PARSE_INVALID);
	CHECK_EQ_INT(parse("{\"a\":1} {\"b\":2}"), PARSE_INVALID);
	CHECK_EQ_INT(parse("{\"a\":1}}"), PARSE_INVALID);
	CHECK_EQ_INT(parse("{'a':1}"), PARSE_INVALID);
	CHECK_EQ_INT(parse("{\"host.name\":\"\xff\"}"), PARSE_INVALID);
	CHECK_EQ_INT(parse("{\"host.name\":\"\xc3\"}"), PARSE_INVALID);
	CHECK_EQ_INT(parse("{\"a\":\"\\x\"}"), PARSE_INVALID);
	/* Strict UTF-8: overlong forms, encoded surrogates, > U+10FFFF. */
	CHECK_EQ_INT(parse("{\"host.name\":\"\xc0\xaf\"}"), PARSE_INVALID);
	CHECK_EQ_INT(parse("{\"host.name\":\"\xe0\x80\xaf\"}"), PARSE_INVALID);
	CHECK_EQ_INT(parse("{\"host.name\":\"\xed\xa0\x80\"}"), PARSE_INVALID);
	CHECK_EQ_INT(parse("{\"host.name\":\"\xf4\x90\x80\x80\"}"),
		     PARSE_INVALID);
	CHECK_EQ_INT(parse("{\"x\":1,\"k\xff\":2}"), PARSE_INVALID);
	CHECK_EQ_INT(parse("{\"host.name\":\"\xc3\xa9\xe2\x82\xac"
			   "\xf0\x9f\x98\x80\xed\x9f\xbf\xf4\x8f\xbf\xbf\"}"),
		     PARSE_OK);
	/* Unpaired surrogate escapes become U+FFFD; pairs decode. */
	CHECK_EQ_INT(
	    parse("{\"host.name\":[\"\\ud800\",\"a\\udc00b\","
		  "\"\\ud83d\\u0041\",\"\\ud83d\\ude00\",\"\\\\ud800\"]}"),
	    PARSE_OK);
	CHECK_STR(vals(5), "\xef\xbf\xbd|a\xef\xbf\xbd"
			   "b|\xef\xbf\xbd"
			   "A|"
			   "\xf0\x9f\x98\x80|\\ud800");
	CHECK_EQ_INT(parse(""), PARSE_INVALID);
	CHECK_EQ_INT(parse("[1,2]"), PARSE_NOT_OBJECT);
	CHECK_EQ_INT(parse("\"s\""), PARSE_NOT_OBJECT);
	CHECK_EQ_INT(parse("42"), PARSE_NOT_OBJECT);
	CHECK_EQ_INT(parse("null"), PARSE_NOT_OBJECT);
	CHECK_EQ_INT(parse("true"), PARSE_NOT_OBJECT);
	CHECK_EQ_INT(parse("{\"host.name\":\"ok\"}"), PARSE_OK);
	CHECK_STR(vals(5), "ok");

	/* A value check stops the parse at the first refused value. */
	{
		parser_set_check(ps, 1u << 1, refuse_zsh, NULL);
		checks = 0;
		CHECK_EQ_INT(parse(
				 "{\"process\":{\"name\":\"sh\"},\"host.name\":"
				 "\"h\"}"),
			     PARSE_OK);
		CHECK_EQ_INT(checks, 1);
		CHECK_EQ_INT(parse("{\"process\":{\"name\":\"zsh\"},\"a\":[1,"),
			     PARSE_REJECTED);
		CHECK_EQ_INT(parse("{\"a\":[1,,\"process\":{\"name\":\"zsh\"}"),
			     PARSE_INVALID);
		parser_set_check(ps, 0, NULL, NULL);
		CHECK_EQ_INT(parse("{\"process.name\":\"zsh\"}"), PARSE_OK);
	}

	/*
	 * Keyword values longer than 1024 UTF-16 code units are not
	 * indexed by the endpoint mapping: absent, and never checked.
	 */
	test_ignore_above();
	test_many_fields();

	/* Steady state: no allocation per parse, matching or not. */
	{
		const char *doc =
		    "{\"process\":{\"name\":\"sh\",\"args\":[\"sh\","
		    "\"-c\",\"id\"],\"parent\":{\"name\":\"python3\"}},"
		    "\"event\":{\"type\":\"start\"},\"other\":{\"deep\":"
		    "[{\"k\":\"\\u00e9t\\u00e9\"}]},\"@timestamp\":"
		    "\"2024-05-01T12:00:00Z\",\"host\":{\"name\":\"h\"}}";
		for (int i = 0; i < 10; i++)
			parse(doc);
		uint64_t before = parser_heap_allocs(ps);
		for (int i = 0; i < 10000; i++)
			CHECK_EQ_INT(parse(doc), PARSE_OK);
		parse("{\"bad\":");
		parse("[1]");
		for (int i = 0; i < 100; i++)
			parse(doc);
		CHECK_EQ_INT(parser_heap_allocs(ps) - before, 0);
	}
	parser_free(ps);
	return check_exit();
}
