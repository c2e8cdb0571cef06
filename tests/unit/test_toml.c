/*
 * test_toml: the TOML reader against a table of documents and the JSON
 * of their trees, a table of bad documents and their exact errors, and
 * the lookup API, positions and bounds.
 *
 * Expected values are worked out by hand from TOML v1.0.0
 * (https://toml.io/en/v1.0.0); many inputs are the examples of that
 * page, whose text gives their meaning ("Roses are red", the
 * line-ending backslash, 0o755, [fruit.apple.texture], [[fruits]]).
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "toml.h"
#include "util.h"

struct ok_case {
	const char *in, *json;
};

static const struct ok_case ok_cases[] = {
    {"", "{}"},
    {"# only a comment\n\n   \n\t# another\n", "{}"},
    {"a = 1", "{\"a\":1}"},
    {"a = 1 # after\n# ünïcode in a comment\n", "{\"a\":1}"},
    {"a = 1#tight\n", "{\"a\":1}"},
    {"a\t=\t1\t# tabs\t\n", "{\"a\":1}"},
    {"a = 1\r\nb = 2\r\n", "{\"a\":1,\"b\":2}"},
    {"\xEF\xBB\xBF"
     "a = 1\n",
     "{\"a\":1}"},
    /* Keys: bare, quoted, empty quoted; order of the file. */
    {"bare_key = 1\nbare-key = 2\n1234 = 3\n\"127.0.0.1\" = 4\n"
     "\"\xCA\x8E\xC7\x9D\xCA\x9E\" = 5\n'key2' = 6\n'quoted \"value\"' = 7\n"
     "\"\" = 8\n",
     "{\"bare_key\":1,\"bare-key\":2,\"1234\":3,\"127.0.0.1\":4,"
     "\"\xCA\x8E\xC7\x9D\xCA\x9E\":5,\"key2\":6,"
     "\"quoted \\\"value\\\"\":7,\"\":8}"},
    {"true = 1\n[false]\n", "{\"true\":1,\"false\":{}}"},
    /* Dotted keys, with whitespace around the dots. */
    {"name = \"Orange\"\nphysical.color = \"orange\"\n"
     "physical.shape = \"round\"\nsite.\"google.com\" = true\n",
     "{\"name\":\"Orange\",\"physical\":{\"color\":\"orange\","
     "\"shape\":\"round\"},\"site\":{\"google.com\":true}}"},
    {"fruit . flavor = \"banana\"\n", "{\"fruit\":{\"flavor\":\"banana\"}}"},
    {"3.14159 = \"pi\"\n", "{\"3\":{\"14159\":\"pi\"}}"},
    {"a.b.c = 1\na.d = 2\n", "{\"a\":{\"b\":{\"c\":1},\"d\":2}}"},
    /* Basic strings and every escape. */
    {"s = \"a\\b\\t\\n\\f\\r\\\"\\\\\\u00E9\\U0001F600\"\n",
     "{\"s\":\"a\\b\\t\\n\\f\\r\\\"\\\\\xC3\xA9\xF0\x9F\x98\x80\"}"},
    {"s = \"x\\u0000y\\u001f\\u007F\"\n", "{\"s\":\"x\\u0000y\\u001f\x7F\"}"},
    {"s = \"tab\there\"\n", "{\"s\":\"tab\\there\"}"},
    /* Literal strings: no escapes. */
    {"p = 'C:\\Users\\nodejs\\templates'\n",
     "{\"p\":\"C:\\\\Users\\\\nodejs\\\\templates\"}"},
    {"p = '<\\i\\c*\\s*>'\n", "{\"p\":\"<\\\\i\\\\c*\\\\s*>\"}"},
    /* Multi-line basic: first newline dropped, line-ending backslash. */
    {"s = \"\"\"\nRoses are red\nViolets are blue\"\"\"\n",
     "{\"s\":\"Roses are red\\nViolets are blue\"}"},
    {"s = \"\"\"\nThe quick brown \\\n\n\n  fox jumps over \\\n"
     "    the lazy dog.\"\"\"\n",
     "{\"s\":\"The quick brown fox jumps over the lazy dog.\"}"},
    {"s = \"\"\"\\\n       The quick brown \\\n       fox.\\\n"
     "       \"\"\"\n",
     "{\"s\":\"The quick brown fox.\"}"},
    {"s = \"\"\"a \\  \t\n  b\"\"\"\n", "{\"s\":\"a b\"}"},
    {"s = \"\"\"Two quotes: \"\". Simple.\"\"\"\n",
     "{\"s\":\"Two quotes: \\\"\\\". Simple.\"}"},
    {"s = \"\"\"\"This,\" she said, \"is pointless.\"\"\"\"\n",
     "{\"s\":\"\\\"This,\\\" she said, \\\"is pointless.\\\"\"}"},
    {"s = \"\"\"\r\na\r\nb\"\"\"\r\n", "{\"s\":\"a\\nb\"}"},
    {"s = \"\"\"\"\"\"\n", "{\"s\":\"\"}"},
    /* Multi-line literal. */
    {"re = '''I [dw]on't need \\d{2} apples'''\n",
     "{\"re\":\"I [dw]on't need \\\\d{2} apples\"}"},
    {"l = '''\nThe first newline is\ntrimmed in raw strings.\n"
     "   All other whitespace\n   is preserved.\n'''\n",
     "{\"l\":\"The first newline is\\ntrimmed in raw strings.\\n"
     "   All other whitespace\\n   is preserved.\\n\"}"},
    {"q = ''''That,' she said, 'is still pointless.''''\n",
     "{\"q\":\"'That,' she said, 'is still pointless.'\"}"},
    {"q = '''a\"\"\"b'''\n", "{\"q\":\"a\\\"\\\"\\\"b\"}"},
    /* Integers. */
    {"a = +99\nb = 42\nc = 0\nd = -17\ne = 1_000\nf = 5_349_221\n"
     "g = 1_2_3_4_5\nm = -0\nn = +0\n",
     "{\"a\":99,\"b\":42,\"c\":0,\"d\":-17,\"e\":1000,\"f\":5349221,"
     "\"g\":12345,\"m\":0,\"n\":0}"},
    {"h = 0xDEADBEEF\ni = 0xdead_beef\nj = 0o01234567\nk = 0o755\n"
     "l = 0b11010110\nz = 0x0\n",
     "{\"h\":3735928559,\"i\":3735928559,\"j\":342391,\"k\":493,"
     "\"l\":214,\"z\":0}"},
    {"max = 9223372036854775807\nmin = -9223372036854775808\n"
     "hex = 0x7FFFFFFFFFFFFFFF\n",
     "{\"max\":9223372036854775807,\"min\":-9223372036854775808,"
     "\"hex\":9223372036854775807}"},
    /* Floats; JSON has no nan or inf, so they are null. */
    {"a = +1.0\nb = 3.1415\nc = -0.01\nd = 5e+22\ne = 1e06\nf = -2E-2\n"
     "g = 6.626e-34\nh = 224_617.445_991_228\ni = -0.0\nj = 0e0\n",
     "{\"a\":1.0,\"b\":3.1415,\"c\":-0.01,\"d\":5e+22,\"e\":1e+06,"
     "\"f\":-0.02,\"g\":6.626e-34,\"h\":224617.445991228,\"i\":-0.0,"
     "\"j\":0.0}"},
    {"a = inf\nb = +inf\nc = -inf\nd = nan\ne = +nan\nf = -nan\n",
     "{\"a\":null,\"b\":null,\"c\":null,\"d\":null,\"e\":null,"
     "\"f\":null}"},
    {"t = true\nf = false\n", "{\"t\":true,\"f\":false}"},
    /* Arrays: nested, mixed, over lines, comments, trailing comma. */
    {"integers = [ 1, 2, 3 ]\nnested = [ [ 1, 2 ], [\"a\", 'b'] ]\n"
     "strings = [ \"all\", 'strings', \"\"\"are the same\"\"\", "
     "'''type''' ]\nnumbers = [ 0.1, 0.2, 0.5, 1, 2, 5 ]\n",
     "{\"integers\":[1,2,3],\"nested\":[[1,2],[\"a\",\"b\"]],"
     "\"strings\":[\"all\",\"strings\",\"are the same\",\"type\"],"
     "\"numbers\":[0.1,0.2,0.5,1,2,5]}"},
    {"a = [\n  1, # one\n  2,\n  # alone\n]\nb = []\nc = [ ]\n"
     "d = [\n\n]\ne = [1\n,2]\n",
     "{\"a\":[1,2],\"b\":[],\"c\":[],\"d\":[],\"e\":[1,2]}"},
    {"contributors = [\n  \"Foo Bar\",\n  { name = \"Baz\", "
     "url = \"https://example.com/baz\" }\n]\n",
     "{\"contributors\":[\"Foo Bar\",{\"name\":\"Baz\","
     "\"url\":\"https://example.com/baz\"}]}"},
    /* Inline tables. */
    {"name = { first = \"Tom\", last = \"Preston-Werner\" }\n"
     "point = {x=1,y=2}\nanimal = { type.name = \"pug\" }\ne = {}\n"
     "n = { a = { b = [ { c = 1 } ] } }\n",
     "{\"name\":{\"first\":\"Tom\",\"last\":\"Preston-Werner\"},"
     "\"point\":{\"x\":1,\"y\":2},\"animal\":{\"type\":{\"name\":\"pug\"}},"
     "\"e\":{},\"n\":{\"a\":{\"b\":[{\"c\":1}]}}}"},
    {"a = { b = [\n 1,\n 2 ] }\n", "{\"a\":{\"b\":[1,2]}}"},
    /* Tables. */
    {"[table-1]\nkey1 = \"some string\"\nkey2 = 123\n\n[table-2]\n"
     "key1 = \"another string\"\nkey2 = 456\n",
     "{\"table-1\":{\"key1\":\"some string\",\"key2\":123},"
     "\"table-2\":{\"key1\":\"another string\",\"key2\":456}}"},
    {"[dog.\"tater.man\"]\ntype.name = \"pug\"\n",
     "{\"dog\":{\"tater.man\":{\"type\":{\"name\":\"pug\"}}}}"},
    {"[a.b.c]\n[ d.e.f ]\n[ g .  h  . i ]\n[ j . \"\xCA\x9E\" . 'l' ]\n",
     "{\"a\":{\"b\":{\"c\":{}}},\"d\":{\"e\":{\"f\":{}}},"
     "\"g\":{\"h\":{\"i\":{}}},\"j\":{\"\xCA\x9E\":{\"l\":{}}}}"},
    {"[x.y.z.w]\n[x]\n", "{\"x\":{\"y\":{\"z\":{\"w\":{}}}}}"},
    {"[fruit.apple]\n[animal]\n[fruit.orange]\n",
     "{\"fruit\":{\"apple\":{},\"orange\":{}},\"animal\":{}}"},
    {"[fruit]\napple.color = \"red\"\napple.taste.sweet = true\n"
     "[fruit.apple.texture]\nsmooth = true\n",
     "{\"fruit\":{\"apple\":{\"color\":\"red\",\"taste\":{\"sweet\":true},"
     "\"texture\":{\"smooth\":true}}}}"},
    /* A parent a header named may get keys from dotted keys. */
    {"[a.b.c]\nz = 1\n[a]\nb.d = 2\n",
     "{\"a\":{\"b\":{\"c\":{\"z\":1},\"d\":2}}}"},
    /* Arrays of tables, nested. */
    {"[[products]]\nname = \"Hammer\"\nsku = 738594937\n\n"
     "[[products]]  # empty\n\n[[products]]\nname = \"Nail\"\n"
     "sku = 284758393\n\ncolor = \"gray\"\n",
     "{\"products\":[{\"name\":\"Hammer\",\"sku\":738594937},{},"
     "{\"name\":\"Nail\",\"sku\":284758393,\"color\":\"gray\"}]}"},
    {"[[fruits]]\nname = \"apple\"\n\n[fruits.physical]\n"
     "color = \"red\"\nshape = \"round\"\n\n[[fruits.varieties]]\n"
     "name = \"red delicious\"\n\n[[fruits.varieties]]\n"
     "name = \"granny smith\"\n\n[[fruits]]\nname = \"banana\"\n\n"
     "[[fruits.varieties]]\nname = \"plantain\"\n",
     "{\"fruits\":[{\"name\":\"apple\",\"physical\":{\"color\":\"red\","
     "\"shape\":\"round\"},\"varieties\":[{\"name\":\"red delicious\"},"
     "{\"name\":\"granny smith\"}]},{\"name\":\"banana\","
     "\"varieties\":[{\"name\":\"plantain\"}]}]}"},
    /* The threat mapping of a rule file. */
    {"[rule]\nname = \"r\"\n\n[[rule.threat]]\nframework = \"MITRE ATT&CK\"\n"
     "[[rule.threat.technique]]\nid = \"T1059\"\n"
     "[[rule.threat.technique.subtechnique]]\nid = \"T1059.004\"\n"
     "[[rule.threat.technique.subtechnique]]\nid = \"T1059.006\"\n"
     "[rule.threat.tactic]\nid = \"TA0002\"\n"
     "[[rule.threat]]\nframework = \"MITRE ATT&CK\"\n"
     "  [rule.threat.tactic]\n  id = \"TA0007\"\n",
     "{\"rule\":{\"name\":\"r\",\"threat\":[{\"framework\":\"MITRE ATT&CK\","
     "\"technique\":[{\"id\":\"T1059\",\"subtechnique\":[{\"id\":"
     "\"T1059.004\"},{\"id\":\"T1059.006\"}]}],\"tactic\":{\"id\":"
     "\"TA0002\"}},{\"framework\":\"MITRE ATT&CK\",\"tactic\":{\"id\":"
     "\"TA0007\"}}]}}"},
};

struct bad_case {
	const char *in, *err;
};

static const struct bad_case bad_cases[] = {
    /* Keys and tables defined twice, or added to. */
    {"a = 1\na = 2\n", "t:2:1: duplicate key 'a' (first at 1:5)"},
    {"a.b = 1\na.b = 2\n", "t:2:3: duplicate key 'a.b' (first at 1:7)"},
    {"a = 1\n\"a\" = 2\n", "t:2:1: duplicate key '\"a\"' (first at 1:5)"},
    {"[a]\n[a]\n", "t:2:1: table [a] is defined twice (first at 1:1)"},
    {"[a]\nb = 1\n[a.b]\n",
     "t:3:1: 'a.b' is already defined as an integer at 2:5"},
    {"a = 1\na.b = 2\n",
     "t:2:1: 'a' is an integer (at 1:5): dotted keys cannot add to it"},
    {"[fruit]\napple.color = \"red\"\n[fruit.apple]\n",
     "t:3:1: 'fruit.apple' is already defined as a table made by dotted "
     "keys at 2:1"},
    {"[fruit]\napple.taste.sweet = true\n[fruit.apple.taste]\n",
     "t:3:1: 'fruit.apple.taste' is already defined as a table made by "
     "dotted keys at 2:7"},
    {"[a.b]\nx = 1\n[a]\nb.y = 2\n",
     "t:4:1: 'b' is a table (at 1:1): dotted keys cannot add to it"},
    {"[a.b.c]\n[a]\nb.d = 1\n[a.b]\n",
     "t:4:1: 'a.b' is already defined as a table made by dotted keys at "
     "1:1"},
    {"a = {b = 1}\na.c = 2\n",
     "t:2:1: 'a' is an inline table (at 1:5): dotted keys cannot add to "
     "it"},
    {"a = {}\n[a.b]\n",
     "t:2:2: 'a' is an inline table (at 1:5): a header cannot add to it"},
    {"a = {}\n[a]\n",
     "t:2:1: 'a' is already defined as an inline table at 1:5"},
    {"a = [1]\n[[a]]\n", "t:2:1: 'a' is already defined as an array at 1:5"},
    {"a = [{b = 1}]\n[a.c]\n",
     "t:2:2: 'a' is an array (at 1:5): a header cannot add to it"},
    {"[[a]]\n[a]\n",
     "t:2:1: 'a' is already defined as an array of tables at 1:1"},
    {"[a]\n[[a]]\n", "t:2:1: 'a' is already defined as a table at 1:1"},
    {"[[a]]\n[b]\na.x = 1\n[[a]]\n[a]\n",
     "t:5:1: 'a' is already defined as an array of tables at 1:1"},
    {"a = {b = 1, b = 2}\n", "t:1:13: duplicate key 'b' (first at 1:10)"},
    /* Strings. */
    {"a = \"x\\qy\"\n", "t:1:7: invalid escape '\\' followed by 'q'"},
    {"a = \"\\uD800\"\n",
     "t:1:6: escape \\uD800 is not a Unicode scalar value"},
    {"a = \"\\uDFFF\"\n",
     "t:1:6: escape \\uDFFF is not a Unicode scalar value"},
    {"a = \"\\U00110000\"\n",
     "t:1:6: escape \\U00110000 is not a Unicode scalar value"},
    {"a = \"\\u12\"\n", "t:1:6: \\u needs 4 hexadecimal digits"},
    {"a = \"\\U0001F60\"\n", "t:1:6: \\U needs 8 hexadecimal digits"},
    {"a = \"\\x41\"\n", "t:1:6: invalid escape '\\' followed by 'x'"},
    {"a = \"\"\"a\\ b\"\"\"\n",
     "t:1:9: invalid escape '\\' followed by a space"},
    {"a = \"abc", "t:1:5: unterminated string"},
    {"a = \"ab\ncd\"\n", "t:1:5: newline in a single-line string"},
    {"a = 'ab\ncd'\n", "t:1:5: newline in a single-line string"},
    {"a = \"\"\"abc\n", "t:1:5: unterminated string"},
    {"a = '''abc''\n", "t:1:5: unterminated string"},
    {"a = \"\"\"x\"\"\"\"\"\"\n",
     "t:1:9: more than five '\"' in a row ending a multi-line string"},
    {"a = 'x\x01'\n",
     "t:1:7: control character U+0001 in a string; write it as an escape"},
    {"a = \"\"\"x\x7F\"\"\"\n",
     "t:1:9: control character U+007F in a string; write it as an "
     "escape"},
    {"a = \"\"\"x\ry\"\"\"\n",
     "t:1:9: control character U+000D in a string; write it as an "
     "escape"},
    {"# c\x01\n", "t:1:4: control character U+0001 in a comment"},
    {"a = 1 # \x7F\n", "t:1:9: control character U+007F in a comment"},
    /* UTF-8. */
    {"a = \"\xFF\"\n", "t:1:6: invalid UTF-8 (byte 0xFF)"},
    {"a = \"\xC0\x80\"\n", "t:1:6: invalid UTF-8 (byte 0xC0)"},
    {"a = \"\xED\xA0\x80\"\n", "t:1:6: invalid UTF-8 (byte 0xED)"},
    {"a = \"\xF4\x90\x80\x80\"\n", "t:1:6: invalid UTF-8 (byte 0xF4)"},
    {"# \xE2\x82\n", "t:1:3: invalid UTF-8 (byte 0xE2)"},
    /* Dates and times. */
    {"a = 1979-05-27\n",
     "t:1:5: dates and times are not supported; quote the value to make "
     "it a string"},
    {"a = 1979-05-27T07:32:00Z\n",
     "t:1:5: dates and times are not supported; quote the value to make "
     "it a string"},
    {"a = 1979-05-27 07:32:00\n",
     "t:1:5: dates and times are not supported; quote the value to make "
     "it a string"},
    {"a = 07:32:00\n",
     "t:1:5: dates and times are not supported; quote the value to make "
     "it a string"},
    /* Numbers. */
    {"a = 01\n", "t:1:5: leading zero in '01'"},
    {"a = 00.5\n", "t:1:5: leading zero in '00.5'"},
    {"a = 1__0\n", "t:1:5: invalid value '1__0'"},
    {"a = _1\n", "t:1:5: invalid value '_1'"},
    {"a = 1_\n", "t:1:5: invalid value '1_'"},
    {"a = 0x\n", "t:1:5: invalid value '0x'"},
    {"a = 0x_1\n", "t:1:5: invalid value '0x_1'"},
    {"a = +0x1\n", "t:1:5: invalid value '+0x1'"},
    {"a = 0XFF\n", "t:1:5: invalid value '0XFF'"},
    {"a = 0b102\n", "t:1:5: invalid value '0b102'"},
    {"a = 1.\n", "t:1:5: invalid value '1.'"},
    {"a = .5\n", "t:1:5: invalid value '.5'"},
    {"a = 1e\n", "t:1:5: invalid value '1e'"},
    {"a = 1.5.2\n", "t:1:5: invalid value '1.5.2'"},
    {"a = 1e_5\n", "t:1:5: invalid value '1e_5'"},
    {"a = infinity\n", "t:1:5: invalid value 'infinity'"},
    {"a = 9223372036854775808\n",
     "t:1:5: integer '9223372036854775808' out of range"},
    {"a = -9223372036854775809\n",
     "t:1:5: integer '-9223372036854775809' out of range"},
    {"a = 0x8000000000000000\n",
     "t:1:5: integer '0x8000000000000000' out of range"},
    {"a = 1e400\n", "t:1:5: float '1e400' out of range"},
    {"a = True\n", "t:1:5: invalid value 'True'"},
    {"a = abc\"\n", "t:1:5: invalid value 'abc'"},
    {"a = \xC3\xA9\n", "t:1:5: expected a value, found U+00E9"},
    /* Structure. */
    {"a =", "t:1:4: expected a value, found end of file"},
    {"a = # c\n", "t:1:5: expected a value, found '#'"},
    {"a =\nb = 1\n", "t:1:4: expected a value, found a newline"},
    {"a 1\n", "t:1:3: expected '=' after the key, found '1'"},
    {"a\n", "t:1:2: expected '=' after the key, found a newline"},
    {"= 1\n", "t:1:1: expected a key, found '='"},
    {"a. = 1\n", "t:1:4: expected a key, found '='"},
    {"a = 1 2\n", "t:1:7: expected a newline after the value, found '2'"},
    {"a = 1\rb = 2\n",
     "t:1:6: expected a newline after the value, found U+000D"},
    {"[a] b = 1\n",
     "t:1:5: expected a newline after a table header, found 'b'"},
    {"[a\n", "t:1:3: expected ']', found a newline"},
    {"[[a]\n", "t:1:5: expected ']]', found a newline"},
    {"[[a] ]\n", "t:1:5: expected ']]', found a space"},
    {"[]\n", "t:1:2: expected a key, found ']'"},
    {"a = [1 2]\n", "t:1:8: expected ',' or ']' in the array, found '2'"},
    {"a = [1,,2]\n", "t:1:8: expected a value or ']', found ','"},
    {"a = [", "t:1:6: expected a value or ']', found end of file"},
    {"a = [1, # \x01\n]\n", "t:1:11: control character U+0001 in a comment"},
    {"a = {b = 1,}\n", "t:1:12: trailing comma in an inline table"},
    {"a = {b = 1\n}\n",
     "t:1:11: expected ',' or '}' in the inline table, found a newline"},
    {"a = {\nb = 1}\n", "t:1:6: expected a key, found a newline"},
    {"a = {b = 1 c = 2}\n",
     "t:1:12: expected ',' or '}' in the inline table, found 'c'"},
};

static void
test_ok(void)
{
	char err[256];

	for (size_t i = 0; i < sizeof(ok_cases) / sizeof(ok_cases[0]); i++) {
		const struct ok_case *c = &ok_cases[i];
		struct toml_doc *d;
		struct buf b = {0};

		d = toml_parse(c->in, strlen(c->in), "t", err, sizeof(err));
		if (d == NULL) {
			fprintf(stderr, "ok case %zu: %s\n", i, err);
			CHECK(d != NULL);
			continue;
		}
		toml_write_json(toml_root(d), &b);
		CHECK_STR(buf_cstr(&b), c->json);
		buf_free(&b);
		toml_free(d);
	}
}

static void
test_bad(void)
{
	char err[256];

	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *c = &bad_cases[i];
		struct toml_doc *d;

		d = toml_parse(c->in, strlen(c->in), "t", err, sizeof(err));
		CHECK(d == NULL);
		toml_free(d);
		if (d == NULL)
			CHECK_STR(err, c->err);
	}
}

/* Values whose text the tables above cannot hold (NUL) or build. */
static void
test_special(void)
{
	static const char nul_key[] = "\"a\\u0000b\" = 'x'\n";
	const struct toml_value *r;
	struct toml_doc *d;
	struct buf b = {0};
	char err[256];

	d = toml_parse(nul_key, strlen(nul_key), "t", err, sizeof(err));
	CHECK(d != NULL);
	if (d != NULL) {
		r = toml_root(d);
		CHECK(toml_table_get(r, "a\0b", 3) != NULL);
		CHECK(toml_table_get(r, "a", 1) == NULL);
		toml_write_json(r, &b);
		CHECK_STR(buf_cstr(&b), "{\"a\\u0000b\":\"x\"}");
		buf_free(&b);
		toml_free(d);
	}
	/* A NUL byte in the text is a control character. */
	d = toml_parse("a = 'x\0'\n", 9, "t", err, sizeof(err));
	CHECK(d == NULL);
	CHECK_STR(err, "t:1:7: control character U+0000 in a string; write "
		       "it as an escape");
	d = toml_parse("a = 1\0", 6, "t", err, sizeof(err));
	CHECK(d == NULL);
	CHECK_STR(err, "t:1:6: expected a newline after the value, found "
		       "U+0000");
	/* A string holding "\u0000" keeps its length. */
	d = toml_parse("s = \"a\\u0000\"", 13, "t", err, sizeof(err));
	CHECK(d != NULL);
	if (d != NULL) {
		size_t len = 0;
		const char *s = toml_string(toml_get(toml_root(d), "s"), &len);

		CHECK(s != NULL && len == 2 && s[0] == 'a' && s[1] == '\0');
		toml_free(d);
	}
}

static void
test_lookup(void)
{
	static const char text[] = "title = \"x\"\n"                   /* 1 */
				   "[rule]\n"                          /* 2 */
				   "name = \"Rule\"\n"                 /* 3 */
				   "risk_score = 47\n"                 /* 4 */
				   "weight = 0.5\n"                    /* 5 */
				   "on = true\n"                       /* 6 */
				   "tags = [\"a\", \"b\"]\n"           /* 7 */
				   "\"dotted.key\" = 1\n"              /* 8 */
				   "query = '''\n"                     /* 9 */
				   "FROM a\n"                          /* 10 */
				   "| WHERE b'''\n"                    /* 11 */
				   "[[rule.threat]]\n"                 /* 12 */
				   "  framework = \"MITRE ATT&CK\"\n"; /* 13 */
	const struct toml_value *r, *v, *t;
	struct toml_doc *d;
	struct buf b = {0};
	char err[256];
	int64_t i;
	double f;
	bool on;
	size_t len;

	d = toml_parse(text, strlen(text), "t", err, sizeof(err));
	CHECK(d != NULL);
	if (d == NULL)
		return;
	r = toml_root(d);
	CHECK(r->type == TOML_TABLE && r->depth == 0 && r->key == NULL);
	CHECK_EQ_INT(r->n, 2);
	CHECK_STR(toml_string(toml_get(r, "rule.name"), &len), "Rule");
	CHECK_EQ_INT(len, 4);
	CHECK(toml_get(r, "rule.nope") == NULL);
	CHECK(toml_get(r, "title.x") == NULL);
	CHECK(toml_get(r, "rule.dotted.key") == NULL);
	CHECK(toml_table_get(toml_get(r, "rule"), "dotted.key", 10) != NULL);
	CHECK(toml_int(toml_get(r, "rule.risk_score"), &i) == 0 && i == 47);
	CHECK(toml_int(toml_get(r, "rule.name"), &i) == -1);
	CHECK(toml_int(NULL, &i) == -1);
	CHECK(toml_float(toml_get(r, "rule.weight"), &f) == 0 && f == 0.5);
	CHECK(toml_float(toml_get(r, "rule.risk_score"), &f) == -1);
	CHECK(toml_bool(toml_get(r, "rule.on"), &on) == 0 && on);
	CHECK(toml_string(toml_get(r, "rule.on"), NULL) == NULL);

	/* Positions: 1-based line and byte column, byte offset. */
	v = toml_get(r, "rule.risk_score");
	CHECK_EQ_INT(v->line, 4);
	CHECK_EQ_INT(v->col, 14);
	CHECK_EQ_INT(v->offset, strstr(text, "47") - text);
	CHECK_EQ_INT(v->depth, 2);
	CHECK_STR(v->key, "risk_score");
	t = toml_get(r, "rule");
	CHECK_EQ_INT(t->line, 2);
	CHECK_EQ_INT(t->col, 1);
	v = toml_get(r, "rule.query");
	CHECK_EQ_INT(v->line, 9);
	CHECK_EQ_INT(v->col, 9);
	CHECK_EQ_INT(v->text_line, 10);
	CHECK_EQ_INT(v->text_col, 1);
	CHECK_STR(v->s, "FROM a\n| WHERE b");
	v = toml_get(r, "rule.name");
	CHECK_EQ_INT(v->text_line, 3);
	CHECK_EQ_INT(v->text_col, 9);

	/* Iteration: members in the order of the file. */
	CHECK_EQ_INT(t->n, 8);
	CHECK_STR(t->items[0]->key, "name");
	CHECK_STR(t->items[5]->key, "dotted.key");
	CHECK_STR(t->items[7]->key, "threat");
	v = toml_get(r, "rule.tags");
	CHECK(v->type == TOML_ARRAY && v->n == 2);
	CHECK_STR(toml_string(v->items[1], NULL), "b");
	CHECK(v->items[1]->key == NULL);
	CHECK_EQ_INT(v->items[1]->col, 14);
	v = toml_get(r, "rule.threat");
	CHECK(v->type == TOML_ARRAY && v->n == 1);
	CHECK_EQ_INT(v->items[0]->line, 12);
	CHECK_STR(toml_string(toml_get(v->items[0], "framework"), NULL),
		  "MITRE ATT&CK");
	toml_write_json(v, &b);
	CHECK_STR(buf_cstr(&b), "[{\"framework\":\"MITRE ATT&CK\"}]");
	buf_free(&b);

	toml_error(d, toml_get(r, "rule.on"), err, sizeof(err), "bad %s",
		   "thing");
	CHECK_STR(err, "t:6:6: bad thing");
	CHECK_STR(toml_type_name(TOML_BOOL), "boolean");
	CHECK_STR(toml_type_name(TOML_INTEGER), "integer");
	toml_free(d);
	toml_free(NULL);
}

static void
expect_error(const char *text, size_t len, const char *want)
{
	char err[256];
	struct toml_doc *d = toml_parse(text, len, "t", err, sizeof(err));

	CHECK(d == NULL);
	toml_free(d);
	if (d == NULL)
		CHECK_STR(err, want);
}

/* Each bound, at its limit and one past it. */
static void
test_bounds(void)
{
	struct buf b = {0};
	struct toml_doc *d;
	char err[256];

	/* 64 nested arrays parse; the 65th '[' (column 4 + 65) is refused. */
	buf_append(&b, "a = ", 4);
	for (int i = 0; i < 64; i++)
		buf_append(&b, "[", 1);
	for (int i = 0; i < 64; i++)
		buf_append(&b, "]", 1);
	d = toml_parse(b.data, b.len, "t", err, sizeof(err));
	CHECK(d != NULL);
	toml_free(d);
	b.len = 0;
	buf_append(&b, "a = ", 4);
	for (int i = 0; i < 70; i++)
		buf_append(&b, "[", 1);
	expect_error(b.data, b.len, "t:1:69: nested deeper than 64 levels");

	/* Inline tables count too. */
	b.len = 0;
	buf_append(&b, "a = ", 4);
	for (int i = 0; i < 70; i++)
		buf_append(&b, "{b=", 3);
	expect_error(b.data, b.len, "t:1:197: nested deeper than 64 levels");

	/* A header of 64 keys is the deepest table; 65 keys are refused at
	 * the 65th (column 2 * 65). */
	b.len = 0;
	buf_append(&b, "[", 1);
	for (int i = 0; i < 63; i++)
		buf_append(&b, "a.", 2);
	buf_append(&b, "a]\n", 3);
	d = toml_parse(b.data, b.len, "t", err, sizeof(err));
	CHECK(d != NULL);
	toml_free(d);
	b.len = 0;
	buf_append(&b, "[", 1);
	for (int i = 0; i < 64; i++)
		buf_append(&b, "a.", 2);
	buf_append(&b, "a]\n", 3);
	expect_error(b.data, b.len, "t:1:130: key of more than 64 parts");

	/* A value under a 64-key header is one level too deep. */
	b.len = 0;
	buf_append(&b, "[", 1);
	for (int i = 0; i < 63; i++)
		buf_append(&b, "a.", 2);
	buf_append(&b, "a]\nx = 1\n", 9);
	expect_error(b.data, b.len, "t:2:5: nested deeper than 64 levels");

	/* Values: the root, the array and 65534 elements are 65536; the
	 * next element (at column 4 + 2 * 65535) is refused. */
	b.len = 0;
	buf_append(&b, "a = [", 5);
	for (int i = 0; i < 65535; i++)
		buf_append(&b, "0,", 2);
	buf_append(&b, "]", 1);
	expect_error(b.data, b.len, "t:1:131074: more than 65536 values");
	b.len = 0;
	buf_append(&b, "a = [", 5);
	for (int i = 0; i < 65534; i++)
		buf_append(&b, "0,", 2);
	buf_append(&b, "]", 1);
	d = toml_parse(b.data, b.len, "t", err, sizeof(err));
	CHECK(d != NULL);
	toml_free(d);

	/* Keys of one table. */
	b.len = 0;
	for (int i = 0; i < 1025; i++) {
		char line[32];
		int n = snprintf(line, sizeof(line), "k%d = 0\n", i);

		buf_append(&b, line, (size_t)n);
	}
	expect_error(b.data, b.len, "t:1025:1: table has more than 1024 keys");

	/* The size of the text. */
	buf_free(&b);
	buf_reserve(&b, TOML_MAX_FILE + 1);
	memset(b.data, '#', TOML_MAX_FILE + 1);
	b.len = TOML_MAX_FILE;
	d = toml_parse(b.data, b.len, "t", err, sizeof(err));
	CHECK(d != NULL);
	toml_free(d);
	expect_error(b.data, TOML_MAX_FILE + 1, "t: longer than 1048576 bytes");
	buf_free(&b);
}

static void
test_load(void)
{
	char path[] = "/tmp/test_toml.XXXXXX", err[512], want[600];
	struct toml_doc *d;
	struct buf b = {0};
	int fd;

	fd = mkstemp(path);
	CHECK(fd != -1);
	if (fd == -1)
		return;
	CHECK(write(fd, "a = 1\nb = [\n", 12) == 12);
	d = toml_load(path, err, sizeof(err));
	CHECK(d == NULL);
	snprintf(want, sizeof(want),
		 "%s:3:1: expected a value or ']', found end of file", path);
	CHECK_STR(err, want);
	CHECK(ftruncate(fd, 0) == 0);
	CHECK(pwrite(fd, "a = 1\n", 6, 0) == 6);
	d = toml_load(path, err, sizeof(err));
	CHECK(d != NULL);
	toml_free(d);
	/* One byte over the bound. */
	buf_reserve(&b, TOML_MAX_FILE + 1);
	memset(b.data, '\n', TOML_MAX_FILE + 1);
	CHECK(pwrite(fd, b.data, TOML_MAX_FILE + 1, 0) == TOML_MAX_FILE + 1);
	buf_free(&b);
	d = toml_load(path, err, sizeof(err));
	CHECK(d == NULL);
	snprintf(want, sizeof(want), "%s: longer than 1048576 bytes", path);
	CHECK_STR(err, want);
	close(fd);
	unlink(path);
	d = toml_load(path, err, sizeof(err));
	CHECK(d == NULL);
	snprintf(want, sizeof(want), "%s: No such file or directory", path);
	CHECK_STR(err, want);
	d = toml_load("/tmp", err, sizeof(err));
	CHECK(d == NULL);
	CHECK_STR(err, "/tmp: not a regular file");
}

int
main(void)
{
	test_ok();
	test_bad();
	test_special();
	test_lookup();
	test_bounds();
	test_load();
	return check_exit();
}
