/*
 * ES|QL expressions: operators, functions and casts built through the
 * constructors and evaluated on one row.  Each expectation cites the
 * Elasticsearch documentation page or source file it comes from:
 *   DOC(x) = https://www.elastic.co/docs/reference/query-languages/esql/x
 *   SRC(x) = x-pack/plugin/esql/src/main/java/org/elasticsearch/xpack/esql/
 *            expression/x in elastic/elasticsearch
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "esql_expr.h"
#include "fieldtype.h"

static struct esql_val cols[4];
static struct esql_scalar colvals[4][8];
static struct esql_arena arena;
static uint64_t warnings;
static char err[256];

static struct esql_expr *
lit(enum esql_type t, const struct esql_scalar *s)
{
	struct esql_val v;

	esql_val_null(&v, t);
	if (s != NULL) {
		v.n = 1;
		v.one = *s;
	}
	return esql_expr_lit(&v, 1, 1);
}

static struct esql_expr *
K(const char *s)
{
	struct esql_scalar x;

	x.u.s.p = s;
	x.u.s.len = strlen(s);
	return lit(ESQL_T_KEYWORD, &x);
}

static struct esql_expr *
num(enum esql_type t, long long l)
{
	struct esql_scalar x;

	memset(&x, 0, sizeof(x));
	x.u.l = l;
	return lit(t, &x);
}

#define I(l) num(ESQL_T_INTEGER, (l))
#define L(l) num(ESQL_T_LONG, (l))
#define B(l) num(ESQL_T_BOOLEAN, (l))
#define DUR(ms) num(ESQL_T_TIME_DURATION, (ms))
#define PER(m) num(ESQL_T_DATE_PERIOD, (m))
#define NUL() lit(ESQL_T_NULL, NULL)

static struct esql_expr *
D(double d)
{
	struct esql_scalar x;

	memset(&x, 0, sizeof(x));
	x.u.d = d;
	return lit(ESQL_T_DOUBLE, &x);
}

/* Column i of type t holding n values (strings parsed by fieldtype). */
static struct esql_expr *
col(int i, enum esql_type t, size_t n, ...)
{
	va_list ap;

	va_start(ap, n);
	for (size_t k = 0; k < n; k++) {
		const char *s = va_arg(ap, const char *);

		if (fieldtype_convert(t, s, strlen(s), &colvals[i][k]) != 0)
			abort();
	}
	va_end(ap);
	cols[i].type = t;
	cols[i].n = n;
	cols[i].many = colvals[i];
	return esql_expr_col(i, t, "c", 1, 1);
}

#define KW(i, n, ...) col(i, ESQL_T_KEYWORD, n, ##__VA_ARGS__)
#define IC(i, n, ...) col(i, ESQL_T_INTEGER, n, ##__VA_ARGS__)
#define LC(i, n, ...) col(i, ESQL_T_LONG, n, ##__VA_ARGS__)
#define DC(i, n, ...) col(i, ESQL_T_DATETIME, n, ##__VA_ARGS__)
#define IPC(i, n, ...) col(i, ESQL_T_IP, n, ##__VA_ARGS__)

static struct esql_expr *
op(enum esql_op o, size_t n, ...)
{
	struct esql_expr *a[16];
	va_list ap;

	va_start(ap, n);
	for (size_t k = 0; k < n; k++)
		a[k] = va_arg(ap, struct esql_expr *);
	va_end(ap);
	return esql_expr_op(o, a, n, 1, 1, err, sizeof(err));
}

static struct esql_expr *
fn(const char *name, size_t n, ...)
{
	struct esql_expr *a[16];
	va_list ap;

	va_start(ap, n);
	for (size_t k = 0; k < n; k++)
		a[k] = va_arg(ap, struct esql_expr *);
	va_end(ap);
	return esql_expr_call(name, a, n, 1, 1, err, sizeof(err));
}

/* Evaluates and frees e; returns the value as JSON ([...] if multi). */
static const char *
run(struct esql_expr *e)
{
	static char out[512];
	struct esql_ctx cx = {cols, &arena, 0};
	struct buf b = {0};
	struct esql_val v;

	if (e == NULL) {
		snprintf(out, sizeof(out), "ERROR %s", err);
		return out;
	}
	if (esql_eval(e, &cx, &v) != 0) {
		esql_expr_free(e);
		return "EVAL FAILED";
	}
	warnings = cx.warnings;
	if (v.n == 0)
		buf_append(&b, "null", 4);
	if (v.n > 1)
		buf_append(&b, "[", 1);
	for (size_t i = 0; i < v.n; i++) {
		if (i > 0)
			buf_append(&b, ",", 1);
		esql_scalar_json(v.type, &esql_val_items(&v)[i], &b);
	}
	if (v.n > 1)
		buf_append(&b, "]", 1);
	snprintf(out, sizeof(out), "%.*s", (int)b.len, b.data);
	buf_free(&b);
	esql_expr_free(e);
	esql_arena_reset(&arena);
	return out;
}

static void
test_logic(void)
{
	/* Three-valued logic: DOC(esql-operators) "Logical operators";
	 * SRC(predicate/logical/BinaryLogic.java) */
	CHECK_STR(run(op(ESQL_OP_AND, 2, B(0), NUL())), "false");
	CHECK_STR(run(op(ESQL_OP_AND, 2, NUL(), B(1))), "null");
	CHECK_STR(run(op(ESQL_OP_OR, 2, NUL(), B(1))), "true");
	CHECK_STR(run(op(ESQL_OP_OR, 2, B(0), NUL())), "null");
	CHECK_STR(run(op(ESQL_OP_NOT, 1, NUL())), "null");
	CHECK_STR(run(op(ESQL_OP_NOT, 1, B(0))), "true");
	/* IS NULL: a multi-value is not null (DOC(esql-operators)) */
	CHECK_STR(run(op(ESQL_OP_IS_NULL, 1, KW(0, 0))), "true");
	CHECK_STR(run(op(ESQL_OP_IS_NOT_NULL, 1, KW(0, 2, "a", "b"))), "true");
	CHECK_STR(run(op(ESQL_OP_AND, 2, KW(0, 1, "a"), B(1))),
		  "ERROR 1:1: operand of AND must be boolean, found keyword");
}

static void
test_compare(void)
{
	/* Multi-valued operand: null with a warning (DOC(esql-multivalued-
	 * fields) "Functions": "==" on a multi-value is null) */
	CHECK_STR(run(op(ESQL_OP_EQ, 2, KW(0, 2, "a", "b"), K("a"))), "null");
	CHECK_EQ_INT(warnings, 1);
	CHECK_STR(run(op(ESQL_OP_EQ, 2, KW(0, 1, "a"), K("a"))), "true");
	CHECK_STR(run(op(ESQL_OP_EQ, 2, KW(0, 0), K("a"))), "null");
	CHECK_EQ_INT(warnings, 0);
	/* keyword order is byte order (BytesRef.compareTo) */
	CHECK_STR(run(op(ESQL_OP_LT, 2, K("B"), K("a"))), "true");
	CHECK_STR(run(op(ESQL_OP_LT, 2, K("ab"), K("abc"))), "true");
	/* integer vs long vs double widen (SRC(predicate/operator/
	 * comparison/EsqlBinaryComparison.java)) */
	CHECK_STR(run(op(ESQL_OP_EQ, 2, I(1), D(1.0))), "true");
	CHECK_STR(run(op(ESQL_OP_GT, 2, LC(0, 1, "5000000000"), I(3))), "true");
	/* a string literal against a datetime is a date (DOC(esql-implicit-
	 * casting)) */
	CHECK_STR(run(op(ESQL_OP_GE, 2, DC(0, 1, "2024-05-01T12:00:00.001Z"),
			 K("2024-05-01T12:00:00Z"))),
		  "true");
	CHECK_STR(run(op(ESQL_OP_EQ, 2, DC(0, 1, "2024-05-01T12:00:00Z"),
			 K("yesterday"))),
		  "ERROR 1:1: cannot convert string [yesterday] to [datetime]");
	/* ...and against an ip, an ip */
	CHECK_STR(run(op(ESQL_OP_EQ, 2, IPC(0, 1, "10.0.0.1"), K("10.0.0.1"))),
		  "true");
	CHECK_STR(run(op(ESQL_OP_EQ, 2, KW(0, 1, "1"), I(1))),
		  "ERROR 1:1: cannot compare keyword with integer");
}

static void
test_in(void)
{
	/* IN: true on a match, else null if the list has a null, else
	 * false (SRC(predicate/operator/comparison/In.java)) */
	CHECK_STR(run(op(ESQL_OP_IN, 3, KW(0, 1, "b"), K("a"), K("b"))),
		  "true");
	CHECK_STR(run(op(ESQL_OP_IN, 3, KW(0, 1, "c"), K("a"), NUL())), "null");
	CHECK_STR(run(op(ESQL_OP_IN, 3, KW(0, 1, "c"), K("a"), K("b"))),
		  "false");
	CHECK_STR(run(op(ESQL_OP_NOT_IN, 3, KW(0, 1, "c"), K("a"), K("b"))),
		  "true");
	CHECK_STR(run(op(ESQL_OP_NOT_IN, 3, KW(0, 1, "c"), K("a"), NUL())),
		  "null");
	/* a multi-valued left side is null with a warning */
	CHECK_STR(run(op(ESQL_OP_IN, 2, KW(0, 2, "a", "b"), K("a"))), "null");
	CHECK_EQ_INT(warnings, 1);
	CHECK_STR(run(op(ESQL_OP_IN, 3, LC(0, 1, "2"), I(1), D(2.0))), "true");
}

static void
test_arith(void)
{
	/* Overflow is null with a warning (DOC(esql-operators) "Add":
	 * "integer overflow ... null"; SRC(predicate/operator/arithmetic/
	 * Add.java) uses Math.addExact) */
	CHECK_STR(run(op(ESQL_OP_ADD, 2, IC(0, 1, "2147483647"), I(1))),
		  "null");
	CHECK_EQ_INT(warnings, 1);
	CHECK_STR(run(op(ESQL_OP_ADD, 2, I(2147483647), L(1))), "2147483648");
	CHECK_STR(run(op(ESQL_OP_MUL, 2, L(INT64_MAX), L(2))), "null");
	/* Division by zero is null with a warning (Div.java) */
	CHECK_STR(run(op(ESQL_OP_DIV, 2, IC(0, 1, "1"), I(0))), "null");
	CHECK_EQ_INT(warnings, 1);
	CHECK_STR(run(op(ESQL_OP_MOD, 2, I(1), I(0))), "null");
	/* integer division truncates; % takes the dividend's sign (Java) */
	CHECK_STR(run(op(ESQL_OP_DIV, 2, I(-7), I(2))), "-3");
	CHECK_STR(run(op(ESQL_OP_MOD, 2, I(-7), I(2))), "-1");
	CHECK_STR(run(op(ESQL_OP_DIV, 2, D(1), I(4))), "0.25");
	CHECK_STR(run(op(ESQL_OP_DIV, 2, L(INT64_MIN), L(-1))), "null");
	CHECK_STR(run(op(ESQL_OP_NEG, 1, I(INT32_MIN))), "null");
	CHECK_STR(run(op(ESQL_OP_ADD, 2, NUL(), I(1))), "null");
	/* datetime + time_duration (DOC(esql-operators) "Add") */
	CHECK_STR(run(op(ESQL_OP_ADD, 2, DC(0, 1, "2024-05-01T12:00:00Z"),
			 DUR(90000))),
		  "\"2024-05-01T12:01:30.000Z\"");
	CHECK_STR(
	    run(op(ESQL_OP_ADD, 2, KW(0, 1, "a"), I(1))),
	    "ERROR 1:1: arithmetic on keyword and integer is not supported");
}

static void
test_strings(void)
{
	/* LENGTH counts code points (DOC(functions-operators/string-
	 * functions) LENGTH; SRC(function/scalar/string/Length.java)) */
	CHECK_STR(run(fn("length", 1, K("h\xc3\xa9llo"))), "5");
	CHECK_STR(run(fn("LENGTH", 1, KW(0, 2, "a", "b"))), "null");
	CHECK_EQ_INT(warnings, 1);
	/* TO_LOWER / TO_UPPER */
	CHECK_STR(run(fn("TO_LOWER", 1, KW(0, 1, "PyThOn\xc3\x89"))),
		  "\"python\xc3\xa9\"");
	CHECK_STR(run(fn("TO_UPPER", 1, K("abc"))), "\"ABC\"");
	/* Java's String.toLowerCase/toUpperCase (ChangeCase.java), full
	 * mappings.  UD = UnicodeData.txt simple mappings, SC =
	 * SpecialCasing.txt unconditional and Final_Sigma entries. */
	{
		static const struct {
			const char *f, *in, *out;
		} cases[] = {
		    /* SC: 0130; 0069 0307; 0130; 0130; */
		    {"TO_LOWER", "\xc4\xb0", "i\xcc\x87"},
		    {"TO_UPPER", "\xc4\xb0", "\xc4\xb0"},
		    /* SC Final_Sigma: 03A3 lowers to 03C2 after a cased
		     * letter (case-ignorables skipped) and before none */
		    {"TO_LOWER", "\xce\x9f\xce\x94\xce\x9f\xce\xa3",
		     "\xce\xbf\xce\xb4\xce\xbf\xcf\x82"}, /* ΟΔΟΣ */
		    {"TO_LOWER", "\xce\xa3", "\xcf\x83"}, /* Σ alone */
		    {"TO_LOWER", "\xce\xa3\xce\x91", "\xcf\x83\xce\xb1"},
		    {"TO_LOWER", "\xce\x91\xce\xa3\xce\x91",
		     "\xce\xb1\xcf\x83\xce\xb1"},
		    {"TO_LOWER", "A\xce\xa3 B", "a\xcf\x82 b"},
		    {"TO_LOWER", "A.\xce\xa3", "a.\xcf\x82"}, /* . ignorable */
		    {"TO_LOWER", "A\xce\xa3.b", "a\xcf\x83.b"},
		    {"TO_LOWER", "1\xce\xa3", "1\xcf\x83"},
		    {"TO_LOWER", "\xcf\x82", "\xcf\x82"},
		    {"TO_UPPER", "\xcf\x82", "\xce\xa3"},
		    /* SC: 00DF; 00DF; 0053 0073; 0053 0053; */
		    {"TO_UPPER",
		     "stra\xc3\x9f"
		     "e",
		     "STRASSE"},
		    {"TO_LOWER", "\xc3\x9f", "\xc3\x9f"},
		    /* SC: FB03 -> 0046 0046 0049; FB06 -> 0053 0054 */
		    {"TO_UPPER", "\xef\xac\x83", "FFI"},
		    {"TO_UPPER", "\xef\xac\x86", "ST"},
		    /* SC: 0149 -> 02BC 004E; 0390 -> 0399 0308 0301 */
		    {"TO_UPPER", "\xc5\x89", "\xca\xbcN"},
		    {"TO_UPPER", "\xce\x90", "\xce\x99\xcc\x88\xcc\x81"},
		    /* SC: 1F80 -> 1F08 0399 (upper, not title) */
		    {"TO_UPPER", "\xe1\xbe\x80", "\xe1\xbc\x88\xce\x99"},
		    /* UD: KELVIN SIGN 212A -> 006B, ANGSTROM 212B -> 00E5 */
		    {"TO_LOWER", "\xe2\x84\xaa", "k"},
		    {"TO_LOWER", "\xe2\x84\xab", "\xc3\xa5"},
		    /* UD: 0100 <-> 0101, 01C5 -> 01C6 / 01C4, 00B5 -> 039C,
		     * 00FF -> 0178, 0131 -> 0049 */
		    {"TO_LOWER", "\xc4\x80", "\xc4\x81"},
		    {"TO_UPPER", "\xc4\x81", "\xc4\x80"},
		    {"TO_LOWER", "\xc7\x85", "\xc7\x86"},
		    {"TO_UPPER", "\xc7\x85", "\xc7\x84"},
		    {"TO_UPPER", "\xc2\xb5", "\xce\x9c"},
		    {"TO_UPPER", "\xc3\xbf", "\xc5\xb8"},
		    {"TO_UPPER", "\xc4\xb1", "I"},
		    /* UD astral: DESERET 10400 <-> 10428, ADLAM 1E900 ->
		     * 1E922, OSAGE 104B0 -> 104D8 */
		    {"TO_LOWER", "\xf0\x90\x90\x80", "\xf0\x90\x90\xa8"},
		    {"TO_UPPER", "\xf0\x90\x90\xa8", "\xf0\x90\x90\x80"},
		    {"TO_LOWER", "\xf0\x9e\xa4\x80", "\xf0\x9e\xa4\xa2"},
		    {"TO_LOWER", "\xf0\x90\x92\xb0", "\xf0\x90\x93\x98"},
		    /* bad UTF-8, as before: a stray byte is the code point of
		     * its value (0x80 -> U+0080, 0xB5 -> U+00B5 -> U+039C),
		     * a cut sequence the bits it has (C3 -> U+0003) */
		    {"TO_UPPER", "a\x80", "A\xc2\x80"},
		    {"TO_UPPER", "\xb5", "\xce\x9c"},
		    {"TO_LOWER", "Z\xc3", "z\\u0003"}, /* printed as JSON */
		};
		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			char want[64];

			snprintf(want, sizeof(want), "\"%s\"", cases[i].out);
			if (strcmp(run(fn(cases[i].f, 1, K(cases[i].in))),
				   want) != 0) {
				fprintf(stderr, "%s(case %zu) gives %s\n",
					cases[i].f, i,
					run(fn(cases[i].f, 1, K(cases[i].in))));
				check_failures++;
			}
		}
	}
	/* CONCAT: null if any argument is null (Concat.java) */
	CHECK_STR(run(fn("CONCAT", 3, K("a"), K("b"), K("c"))), "\"abc\"");
	CHECK_STR(run(fn("CONCAT", 2, K("a"), KW(0, 0))), "null");
	/* LOCATE: 1-based, 0 when absent, negative start from the end
	 * (SRC(function/scalar/string/Locate.java)) */
	CHECK_STR(run(fn("LOCATE", 2, K("hello"), K("ll"))), "3");
	CHECK_STR(run(fn("LOCATE", 2, K("hello"), K("z"))), "0");
	CHECK_STR(run(fn("LOCATE", 3, K("hello hello"), K("l"), I(5))), "9");
	CHECK_STR(run(fn("LOCATE", 3, K("hello"), K("l"), I(-2))), "4");
	CHECK_STR(run(fn("LOCATE", 2, K("\xc3\xa9l"), K("l"))), "2");
	/* SUBSTRING: 1-based code points, negative start from the end
	 * (Substring.java) */
	CHECK_STR(run(fn("SUBSTRING", 3, K("hello"), I(2), I(3))), "\"ell\"");
	CHECK_STR(run(fn("SUBSTRING", 2, K("hello"), I(-3))), "\"llo\"");
	CHECK_STR(run(fn("SUBSTRING", 3, K("hello"), I(0), I(2))), "\"he\"");
	CHECK_STR(run(fn("SUBSTRING", 3, K("hello"), I(1), I(-1))), "null");
	/* SPACE; TRIM uses Character.isWhitespace (Trim.java) */
	CHECK_STR(run(fn("SPACE", 1, I(3))), "\"   \"");
	CHECK_STR(run(fn("SPACE", 1, I(-1))), "null");
	CHECK_STR(run(fn("TRIM", 1, K(" \t a b \n"))), "\"a b\"");
	CHECK_STR(run(fn("LTRIM", 1, K("  a "))), "\"a \"");
	CHECK_STR(run(fn("RTRIM", 1, K("  a "))), "\"  a\"");
	CHECK_STR(run(fn("STARTS_WITH", 2, K("python3"), K("python"))), "true");
	CHECK_STR(run(fn("ENDS_WITH", 2, K("python3"), K("python"))), "false");
	CHECK_STR(run(fn("CONTAINS", 2, K("python3"), K("thon"))), "true");
	CHECK_STR(
	    run(fn("REPLACE", 3, K("a"), K("a"), K("b"))),
	    "ERROR 1:1: function REPLACE is not supported: its pattern is a "
	    "Java regular expression");
	CHECK_STR(
	    run(fn("NOW", 0)),
	    "ERROR 1:1: function NOW is not supported: a streaming rule has "
	    "no query time");
	CHECK_STR(run(fn("FOO", 1, K("a"))),
		  "ERROR 1:1: function FOO is not supported");
}

static void
test_case_coalesce(void)
{
	/* CASE: a null condition is false; an odd count has an else
	 * (DOC(functions-operators/conditional-functions-and-expressions)) */
	CHECK_STR(run(fn("CASE", 4, NUL(), K("a"), B(1), K("b"))), "\"b\"");
	CHECK_STR(run(fn("CASE", 3, B(0), K("a"), K("else"))), "\"else\"");
	CHECK_STR(run(fn("CASE", 2, B(0), K("a"))), "null");
	CHECK_STR(run(fn("CASE", 3, op(ESQL_OP_EQ, 2, KW(0, 0), K("x")), I(1),
			 I(0))),
		  "0");
	CHECK_STR(run(fn("COALESCE", 3, KW(0, 0), NUL(), K("z"))), "\"z\"");
	CHECK_STR(run(fn("COALESCE", 2, KW(0, 2, "a", "b"), K("z"))),
		  "[\"a\",\"b\"]");
	CHECK_STR(
	    run(fn("COALESCE", 2, K("a"), I(1))),
	    "ERROR 1:1: COALESCE: argument 2 must be keyword, found integer");
}

static void
test_mv(void)
{
	/* DOC(functions-operators/mv-functions) */
	CHECK_STR(run(fn("MV_COUNT", 1, KW(0, 3, "a", "b", "a"))), "3");
	CHECK_STR(run(fn("MV_COUNT", 1, KW(0, 0))), "null");
	CHECK_STR(run(fn("MV_MIN", 1, KW(0, 3, "b", "a", "c"))), "\"a\"");
	CHECK_STR(run(fn("MV_MAX", 1, LC(0, 3, "2", "10", "-1"))), "10");
	CHECK_STR(run(fn("MV_FIRST", 1, KW(0, 2, "b", "a"))), "\"b\"");
	CHECK_STR(run(fn("MV_LAST", 1, KW(0, 2, "b", "a"))), "\"a\"");
	CHECK_STR(run(fn("MV_DEDUPE", 1, KW(0, 4, "b", "a", "b", "c"))),
		  "[\"b\",\"a\",\"c\"]");
	CHECK_STR(run(fn("MV_CONCAT", 2, KW(0, 2, "a", "b"), K(", "))),
		  "\"a, b\"");
	CHECK_STR(run(fn("MV_SUM", 1, LC(0, 2, "3", "4"))), "7");
	/* MV_SUM overflow is null with a warning (MvSum.java) */
	CHECK_STR(run(fn("MV_SUM", 1, LC(0, 2, "9223372036854775807", "1"))),
		  "null");
	CHECK_EQ_INT(warnings, 1);
}

static void
test_casts(void)
{
	/* TO_STRING of a double is Double.toString (DOC(functions-
	 * operators/type-conversion-functions) TO_STRING) */
	CHECK_STR(run(fn("TO_STRING", 1, D(1.0))), "\"1.0\"");
	CHECK_STR(run(fn("TO_STRING", 1, D(0.1))), "\"0.1\"");
	CHECK_STR(run(fn("TO_STRING", 1, D(1e7))), "\"1.0E7\"");
	CHECK_STR(run(fn("TO_STRING", 1, D(1.5e-4))), "\"1.5E-4\"");
	CHECK_STR(run(fn("TO_STRING", 1, D(123456.789))), "\"123456.789\"");
	CHECK_STR(run(fn("TO_STRING", 1, D(0.001))), "\"0.001\"");
	CHECK_STR(run(fn("TO_STRING", 1, I(-5))), "\"-5\"");
	CHECK_STR(run(fn("TO_STRING", 1, B(1))), "\"true\"");
	/* TO_LONG: "2147483648.2" truncates, "foo" is null with a warning
	 * (TO_LONG example in the same page) */
	CHECK_STR(run(fn("TO_LONG", 1, K("2147483648"))), "2147483648");
	CHECK_STR(run(fn("TO_LONG", 1, KW(0, 1, "2147483648.2"))),
		  "2147483648");
	CHECK_STR(run(fn("TO_LONG", 1, KW(0, 1, "foo"))), "null");
	CHECK_EQ_INT(warnings, 1);
	/* a multi-value converts value by value, dropping failures:
	 * TO_LONG(["5b", "2147483648.2", "9223372036854775808"]) */
	CHECK_STR(run(fn("TO_LONG", 1,
			 KW(0, 3, "5b", "2147483648.2",
			    "9223372036854775808"))),
		  "2147483648");
	CHECK_STR(run(fn("TO_INTEGER", 1, KW(0, 1, "5000000000"))), "null");
	/* TO_BOOLEAN: "true" in any case, anything else false; numbers
	 * non-zero (TO_BOOLEAN docs) */
	CHECK_STR(run(fn("TO_BOOLEAN", 1, KW(0, 3, "TrUe", "yes", ""))),
		  "[true,false,false]");
	CHECK_STR(run(fn("TO_BOOLEAN", 1, D(0.0))), "false");
	CHECK_STR(run(fn("TO_DOUBLE", 1, K("1.5"))), "1.5");
	CHECK_STR(run(fn("TO_DATETIME", 1, K("2024-05-01"))),
		  "\"2024-05-01T00:00:00.000Z\"");
	CHECK_STR(run(fn("TO_IP", 1, K("2001:db8:0:0:0:0:0:1"))),
		  "\"2001:db8::1\"");
	CHECK_STR(run(fn("TO_IP", 1, K("1:0:0:2:0:0:0:3"))), "\"1:0:0:2::3\"");
	CHECK_STR(run(fn("TO_IP", 1, K("010.0.0.1"))), "null");
}

static void
test_math(void)
{
	/* ROUND: half away from zero (SRC(function/scalar/math/Round.java),
	 * Maths.round) */
	CHECK_STR(run(fn("ROUND", 1, D(2.5))), "3.0");
	CHECK_STR(run(fn("ROUND", 1, D(-2.5))), "-3.0");
	CHECK_STR(run(fn("ROUND", 2, D(1.2345), I(2))), "1.23");
	CHECK_STR(run(fn("ROUND", 2, I(1250), I(-2))), "1300");
	CHECK_STR(run(fn("ROUND", 2, I(-1250), I(-2))), "-1300");
	CHECK_STR(run(fn("ABS", 1, I(-3))), "3");
	CHECK_STR(run(fn("ABS", 1, D(-0.5))), "0.5");
}

static void
test_dates(void)
{
	/* DATE_TRUNC floors to an epoch-aligned span (esql-rule-semantics
	 * §2; DateTrunc.java) */
	CHECK_STR(run(fn("DATE_TRUNC", 2, DUR(60000),
			 DC(0, 1, "2024-05-01T12:34:56.789Z"))),
		  "\"2024-05-01T12:34:00.000Z\"");
	CHECK_STR(run(fn("DATE_TRUNC", 2, DUR(60000),
			 DC(0, 1, "1969-12-31T23:59:30Z"))),
		  "\"1969-12-31T23:59:00.000Z\"");
	CHECK_STR(run(fn("DATE_TRUNC", 2, PER(1),
			 DC(0, 1, "2024-05-17T12:34:56Z"))),
		  "\"2024-05-01T00:00:00.000Z\"");
	CHECK_STR(run(fn("DATE_TRUNC", 2, PER(3),
			 DC(0, 1, "2024-05-17T12:34:56Z"))),
		  "\"2024-04-01T00:00:00.000Z\"");
	CHECK_STR(run(fn("DATE_TRUNC", 2, DUR(60000), DC(0, 0))), "null");
	/* DATE_DIFF: whole units, months by the calendar (DateDiff.java) */
	CHECK_STR(run(fn("DATE_DIFF", 3, K("second"),
			 DC(0, 1, "2024-05-01T00:00:00Z"),
			 DC(1, 1, "2024-05-01T00:01:01.5Z"))),
		  "61");
	CHECK_STR(run(fn("DATE_DIFF", 3, K("month"),
			 DC(0, 1, "2024-01-31T00:00:00Z"),
			 DC(1, 1, "2024-02-29T00:00:00Z"))),
		  "0");
	CHECK_STR(run(fn("DATE_DIFF", 3, K("month"),
			 DC(0, 1, "2024-01-31T00:00:00Z"),
			 DC(1, 1, "2024-03-31T00:00:00Z"))),
		  "2");
}

static void
test_cidr(void)
{
	/* CIDR_MATCH (DOC(functions-operators/ip-functions)) */
	CHECK_STR(run(fn("CIDR_MATCH", 3, IPC(0, 1, "10.1.2.3"),
			 K("192.168.0.0/16"), K("10.0.0.0/8"))),
		  "true");
	CHECK_STR(run(fn("CIDR_MATCH", 2, IPC(0, 1, "11.1.2.3"),
			 K("10.0.0.0/8"))),
		  "false");
	CHECK_STR(run(fn("CIDR_MATCH", 2, IPC(0, 1, "2001:db8::1"),
			 K("2001:db8::/32"))),
		  "true");
	CHECK_STR(run(fn("CIDR_MATCH", 2, IPC(0, 0), K("10.0.0.0/8"))), "null");
}

static void
test_fold_print(void)
{
	struct buf b = {0};
	struct esql_expr *e = op(ESQL_OP_ADD, 2, I(1), I(2));

	CHECK(esql_expr_is_const(e));
	esql_expr_free(e);
	e = op(ESQL_OP_AND, 2, op(ESQL_OP_EQ, 2, KW(0, 1, "a"), K("x")),
	       op(ESQL_OP_IN, 3, KW(1, 1, "a"), K("y"), K("z")));
	CHECK(!esql_expr_is_const(e));
	esql_expr_print(e, &b);
	buf_append(&b, "", 1);
	CHECK_STR(b.data, "((c == \"x\") AND (c IN (\"y\", \"z\")))");
	{
		struct esql_needles nd;

		CHECK(esql_expr_needles(e, &nd));
		CHECK_EQ_INT(nd.n, 1);
		CHECK_EQ_INT(nd.v[0].len, 1);
	}
	esql_expr_free(e);
	buf_free(&b);
}

static void
test_depth(void)
{
	struct esql_expr *e = op(ESQL_OP_EQ, 2, KW(0, 1, "a"), K("a"));

	for (int i = 0; i < ESQL_EXPR_MAX_DEPTH + 5 && e != NULL; i++)
		e = op(ESQL_OP_NOT, 1, e);
	CHECK(e == NULL);
	CHECK(strstr(err, "nested deeper") != NULL);
}

static void
test_fieldtype(void)
{
	struct esql_scalar s;

	/* esql-rule-semantics §8.3 */
	CHECK_EQ_INT(fieldtype_of("@timestamp"), ESQL_T_DATETIME);
	CHECK_EQ_INT(fieldtype_of("process.pid"), ESQL_T_LONG);
	CHECK_EQ_INT(fieldtype_of("source.ip"), ESQL_T_IP);
	CHECK_EQ_INT(fieldtype_of("process.name"), ESQL_T_KEYWORD);
	CHECK_EQ_INT(fieldtype_of("no.such.field"), ESQL_T_KEYWORD);
	/* NumberFieldMapper coerce: "12" is 12, 1.5 truncates to 1 */
	CHECK(fieldtype_convert(ESQL_T_LONG, "12", 2, &s) == 0 && s.u.l == 12);
	CHECK(fieldtype_convert(ESQL_T_LONG, "1.5", 3, &s) == 0 && s.u.l == 1);
	CHECK(fieldtype_convert(ESQL_T_LONG, "x", 1, &s) == -1);
	CHECK(fieldtype_convert(ESQL_T_IP, "300.1.1.1", 9, &s) == -1);
	CHECK(fieldtype_convert(ESQL_T_BOOLEAN, "", 0, &s) == 0 && s.u.l == 0);
	CHECK(fieldtype_convert(ESQL_T_BOOLEAN, "yes", 3, &s) == -1);
}

/* x [NOT] LIKE / RLIKE patterns[0..n) (strings) */
static struct esql_expr *
like(struct esql_expr *x, bool rlike, bool negated, size_t n, ...)
{
	struct esql_val pats[8];
	va_list ap;

	va_start(ap, n);
	for (size_t k = 0; k < n; k++) {
		const char *s = va_arg(ap, const char *);

		esql_val_null(&pats[k], ESQL_T_KEYWORD);
		pats[k].n = 1;
		pats[k].one.u.s.p = s;
		pats[k].one.u.s.len = strlen(s);
	}
	va_end(ap);
	return esql_expr_like(x, pats, n, rlike, negated, 1, 1, err,
			      sizeof(err));
}

static const char *
printed(struct esql_expr *e)
{
	static char out[512];
	struct buf b = {0};

	if (e == NULL) {
		snprintf(out, sizeof(out), "ERROR %s", err);
		return out;
	}
	esql_expr_print(e, &b);
	snprintf(out, sizeof(out), "%.*s", (int)b.len, b.data);
	buf_free(&b);
	esql_expr_free(e);
	return out;
}

static void
test_like(void)
{
	struct esql_needles nd;
	struct esql_expr *e;

	/* null and multi-valued first: null, and a warning for the
	 * multi-value (esql-rule-semantics §1.4; the single-valued
	 * @Evaluator of SRC(function/scalar/string/regex/RegexMatch.java)) */
	CHECK_STR(run(like(KW(0, 0), false, false, 1, "*")), "null");
	CHECK_STR(run(like(KW(0, 0), false, true, 1, "*")), "null");
	CHECK_STR(run(like(KW(0, 2, "ab", "ac"), false, false, 1, "a*")),
		  "null");
	CHECK_EQ_INT(warnings, 1);
	CHECK_STR(run(like(NUL(), false, false, 1, "a")), "null");
	/* DOC(functions-operators/operators) LIKE: whole value, * and ? */
	CHECK_STR(run(like(KW(0, 1, "printenv X"), false, false, 1, "*env *")),
		  "true");
	CHECK_STR(run(like(KW(0, 1, "sh -c env"), false, false, 1, "*env *")),
		  "false");
	CHECK_STR(run(like(KW(0, 1, "sh -c env"), false, true, 1, "*env *")),
		  "true");
	/* a list is an OR */
	CHECK_STR(run(like(KW(0, 1, "wget x"), false, false, 2, "*curl*",
			   "*wget*")),
		  "true");
	CHECK_STR(run(like(KW(0, 1, "wget x"), false, true, 2, "*curl*",
			   "*wget*")),
		  "false");
	/* constant folding */
	e = like(K("abc"), false, false, 1, "a?c");
	CHECK(e != NULL && esql_expr_is_const(e));
	CHECK_STR(run(e), "true");
	/* errors: bad escape (StringUtils.wildcardToJavaPattern), type */
	CHECK_STR(run(like(KW(0, 1, "a"), false, false, 1, "a\\b")),
		  "ERROR 1:1: invalid LIKE pattern \"a\\b\": escape character "
		  "is not followed by special wildcard char at offset 1");
	CHECK_STR(run(like(LC(0, 1, "1"), false, false, 1, "1")),
		  "ERROR 1:1: LIKE needs a keyword operand, found long");
	/* printing */
	CHECK_STR(printed(like(KW(0, 1, "a"), false, true, 2, "a\\*", "b\"")),
		  "(c NOT LIKE (\"a\\\\*\", \"b\\\"\"))");
	CHECK_STR(printed(like(fn("TO_LOWER", 1, KW(0, 1, "a")), false, false,
			       1, "py*")),
		  "(TO_LOWER(c) LIKE \"py*\")");

	/* TO_LOWER(x) LIKE p: ReplaceStringCasingWithInsensitiveRegexMatch
	 * (esql-rule-semantics §1.3) */
	CHECK_STR(run(like(fn("TO_LOWER", 1, KW(0, 1, "Python3")), false, false,
			   1, "python*")),
		  "true");
	CHECK_STR(run(like(fn("TO_LOWER", 1,
			      fn("TO_LOWER", 1, KW(0, 1, "PYTHON"))),
			   false, false, 1, "python")),
		  "true");
	CHECK_STR(run(like(fn("TO_LOWER", 1, KW(0, 1, "xpython")), false, false,
			   1, "python*")),
		  "false");
	CHECK_STR(run(like(fn("TO_LOWER", 1, KW(0, 2, "A", "B")), false, false,
			   1, "*")),
		  "null");
	CHECK_EQ_INT(warnings, 1);
	/* an upper-case letter: the literal false, and NOT false is true
	 * even on a null row */
	e = like(fn("TO_LOWER", 1, KW(0, 1, "Python")), false, false, 1,
		 "Python*");
	CHECK(e != NULL && esql_expr_is_const(e));
	CHECK_STR(run(e), "false");
	CHECK_STR(run(like(fn("TO_LOWER", 1, KW(0, 0)), false, true, 1, "P*")),
		  "true");
	/* the rewritten match agrees with TO_LOWER on every code point of
	 * the BMP outside the surrogates */
	for (uint32_t c = 1; c < 0x10000; c++) {
		char v[4], p[4];
		size_t n = 0;
		const char *got;
		struct esql_val lv;
		struct esql_ctx cx = {cols, &arena, 0};

		if (c >= 0xd800 && c < 0xe000)
			continue;
		if (c < 0x80) {
			v[n++] = (char)c;
		} else if (c < 0x800) {
			v[n++] = (char)(0xc0 | c >> 6);
			v[n++] = (char)(0x80 | (c & 0x3f));
		} else {
			v[n++] = (char)(0xe0 | c >> 12);
			v[n++] = (char)(0x80 | (c >> 6 & 0x3f));
			v[n++] = (char)(0x80 | (c & 0x3f));
		}
		colvals[0][0].u.s.p = v;
		colvals[0][0].u.s.len = n;
		cols[0].type = ESQL_T_KEYWORD;
		cols[0].n = 1;
		cols[0].many = colvals[0];
		e = fn("TO_LOWER", 1,
		       esql_expr_col(0, ESQL_T_KEYWORD, "c", 1, 1));
		if (esql_eval(e, &cx, &lv) != 0 || lv.n != 1 ||
		    esql_val_items(&lv)[0].u.s.len > 3)
			abort();
		n = esql_val_items(&lv)[0].u.s.len;
		memcpy(p, esql_val_items(&lv)[0].u.s.p, n);
		p[n] = '\0';
		esql_expr_free(e);
		if (strchr("*?\\", p[0]) != NULL && n == 1)
			continue;
		/* U+0130 lowers to two code points, "i\u0307"
		 * (SpecialCasing.txt); LIKE_FOLD folds one by one */
		if (c == 0x130)
			continue;
		e = like(fn("TO_LOWER", 1,
			    esql_expr_col(0, ESQL_T_KEYWORD, "c", 1, 1)),
			 false, false, 1, p);
		got = run(e);
		if (strcmp(got, "true") != 0) {
			fprintf(stderr, "U+%04X: TO_LOWER LIKE gives %s\n",
				(unsigned)c, got);
			check_failures++;
			break;
		}
	}

	/* needles: a required literal of each pattern, OR over the list */
	e = like(KW(0, 1, "a"), false, false, 2, "*curl*", "wget ?*");
	CHECK(esql_expr_needles(e, &nd));
	CHECK_EQ_INT(nd.n, 2);
	CHECK(nd.v[0].len == 4 && memcmp(nd.v[0].p, "curl", 4) == 0);
	CHECK(nd.v[1].len == 5 && memcmp(nd.v[1].p, "wget ", 5) == 0);
	CHECK_EQ_INT(nd.v[1].column, 0);
	esql_expr_free(e);
	e = like(KW(0, 1, "a"), false, false, 2, "*curl*", "?*");
	CHECK(!esql_expr_needles(e, &nd));
	esql_expr_free(e);
	e = like(KW(0, 1, "a"), false, true, 1, "*curl*");
	CHECK(!esql_expr_needles(e, &nd));
	esql_expr_free(e);
	/* under TO_LOWER: the same run, ASCII-case-folded */
	e = like(fn("TO_LOWER", 1, KW(0, 1, "a")), false, false, 1, "*curl*");
	CHECK(esql_expr_needles(e, &nd));
	CHECK(nd.n == 1 && nd.v[0].fold &&
	      nd.v[0].where == ESQL_NEEDLE_ANYWHERE);
	esql_expr_free(e);
	e = op(ESQL_OP_AND, 2, like(KW(1, 1, "a"), false, false, 1, "*-c*"),
	       op(ESQL_OP_EQ, 2, KW(0, 1, "a"), K("exec")));
	CHECK(esql_expr_needles(e, &nd));
	CHECK_EQ_INT(nd.n, 1);
	esql_expr_free(e);
	e = op(ESQL_OP_OR, 2, like(KW(1, 1, "a"), false, false, 1, "*-c*"),
	       op(ESQL_OP_EQ, 2, KW(0, 1, "a"), K("exec")));
	CHECK(esql_expr_needles(e, &nd));
	CHECK_EQ_INT(nd.n, 2);
	CHECK(nd.v[0].column == 1 && nd.v[0].len == 2 &&
	      memcmp(nd.v[0].p, "-c", 2) == 0);
	esql_expr_free(e);
}

static void
test_rlike(void)
{
	struct esql_needles nd;
	struct esql_expr *e;

	/* null and multi-valued: as LIKE (RegexMatch.java, single-valued) */
	CHECK_STR(run(like(KW(0, 0), true, false, 1, ".*")), "null");
	CHECK_STR(run(like(KW(0, 2, "a", "b"), true, false, 1, ".*")), "null");
	CHECK_EQ_INT(warnings, 1);
	CHECK_STR(run(like(KW(0, 2, "a", "b"), true, true, 1, ".*")), "null");
	/* DOC(functions-operators/operators) RLIKE: Lucene regular
	 * expressions, anchored */
	CHECK_STR(run(like(KW(0, 1, "curl -s http://x"), true, false, 1,
			   "(curl|wget) .*")),
		  "true");
	CHECK_STR(run(like(KW(0, 1, "xcurl -s"), true, false, 1,
			   "(curl|wget) .*")),
		  "false");
	CHECK_STR(run(like(KW(0, 1, "xcurl -s"), true, true, 1,
			   "(curl|wget) .*")),
		  "true");
	/* a list is an OR (RLikePatternList) */
	CHECK_STR(run(like(KW(0, 1, "b1"), true, false, 2, "a.", "b[0-9]")),
		  "true");
	/* folding */
	e = like(K("abc"), true, false, 1, "a.c");
	CHECK(e != NULL && esql_expr_is_const(e));
	CHECK_STR(run(e), "true");
	/* TO_LOWER(x) RLIKE p (ReplaceStringCasingWithInsensitiveRegexMatch
	 * covers RLike too) */
	CHECK_STR(run(like(fn("TO_LOWER", 1, KW(0, 1, "PowerShell.EXE")), true,
			   false, 1, ".*\\.exe")),
		  "true");
	CHECK_STR(run(like(fn("TO_LOWER", 1, KW(0, 1, "A")), true, false, 1,
			   "[^a]")),
		  "false");
	e = like(fn("TO_LOWER", 1, KW(0, 1, "a")), true, false, 1, "[A-Z]+");
	CHECK(e != NULL && esql_expr_is_const(e));
	CHECK_STR(run(e), "false");
	/* errors name the pattern and the offset (RegExp.java messages) */
	CHECK_STR(run(like(KW(0, 1, "a"), true, false, 2, "a", "(b")),
		  "ERROR 1:1: invalid RLIKE pattern \"(b\": expected ')' at "
		  "offset 2");
	CHECK_STR(run(like(KW(0, 1, "a"), true, false, 1, "(a|b)*a(a|b){20}")),
		  "ERROR 1:1: invalid RLIKE pattern \"(a|b)*a(a|b){20}\": "
		  "pattern needs more than 10000 automaton states at offset "
		  "16");
	/* printing, and no needles for RLIKE */
	CHECK_STR(printed(like(KW(0, 1, "a"), true, true, 2, "a\\.b", "c")),
		  "(c NOT RLIKE (\"a\\\\.b\", \"c\"))");
	CHECK_STR(printed(like(fn("TO_LOWER", 1, KW(0, 1, "a")), true, false, 1,
			       "py.*")),
		  "(TO_LOWER(c) RLIKE \"py.*\")");
	e = like(KW(0, 1, "a"), true, false, 1, "curl.*");
	CHECK(!esql_expr_needles(e, &nd));
	esql_expr_free(e);
}

/* KQL fields: a (keyword, column 0) and n (long, column 2) */
static int
kql_resolve(void *arg, const char *field, size_t len, int *column,
	    enum esql_type *t)
{
	(void)arg;
	if (len == 1 && field[0] == 'a') {
		*column = 0;
		*t = ESQL_T_KEYWORD;
		return 0;
	}
	if (len == 1 && field[0] == 'n') {
		*column = 2;
		*t = ESQL_T_LONG;
		return 0;
	}
	return -1;
}

static struct esql_expr *
kql(const char *q)
{
	return esql_expr_kql(q, strlen(q), kql_resolve, NULL, 1, 1, err,
			     sizeof(err));
}

static void
note_col(void *arg, int column)
{
	*(int *)arg |= 1 << column;
}

static void
test_kql(void)
{
	struct esql_needles nd;
	struct esql_expr *e;
	int seen = 0;

	/* a null or multi-valued field: false, not null, and no warning
	 * (a Lucene query: esql-rule-semantics §1.5) */
	esql_expr_free(KW(0, 0));
	CHECK_STR(run(kql("a:exec")), "false");
	CHECK_STR(run(op(ESQL_OP_NOT, 1, kql("a:exec"))), "true");
	esql_expr_free(KW(0, 3, "fork", "exec", "end"));
	CHECK_STR(run(kql("a:exec")), "true");
	CHECK_EQ_INT(warnings, 0);
	esql_expr_free(LC(2, 1, "7"));
	CHECK_STR(run(kql("a:ex* and n >= 5")), "true");
	CHECK_STR(run(kql("a:ex* and n >= 8")), "false");
	/* errors carry the position of KQL( and the offset in the query */
	CHECK_STR(run(kql("exec")),
		  "ERROR 1:1: invalid KQL query: free text without a field "
		  "is not supported at offset 0");
	CHECK_STR(run(kql("zz:1")),
		  "ERROR 1:1: invalid KQL query: unknown field zz at offset 0");
	/* printing, columns, needles */
	CHECK_STR(printed(kql("a:\"x\" or n:1")),
		  "KQL(\"a:\\\"x\\\" or n:1\")");
	e = op(ESQL_OP_AND, 2, kql("a:(exec or fork)"),
	       op(ESQL_OP_EQ, 2, KW(1, 1, "a"), K("start")));
	CHECK(!esql_expr_is_const(e));
	esql_expr_columns(e, note_col, &seen);
	CHECK_EQ_INT(seen, 3);
	CHECK(esql_expr_needles(e, &nd));
	CHECK_EQ_INT(nd.n, 1); /* the == side has one needle */
	esql_expr_free(e);
	e = kql("a:(exec or fork)");
	CHECK(esql_expr_needles(e, &nd));
	CHECK_EQ_INT(nd.n, 2);
	CHECK(nd.v[1].len == 4 && memcmp(nd.v[1].p, "fork", 4) == 0);
	esql_expr_free(e);
}

/* One needle of e: its text, place and case; NULL if e gives none. */
static const char *
needle1(struct esql_expr *e)
{
	static char out[512];
	struct esql_needles nd;

	if (e == NULL) {
		snprintf(out, sizeof(out), "ERROR %s", err);
		return out;
	}
	if (!esql_expr_needles(e, &nd) || nd.n == 0) {
		esql_expr_free(e);
		return "none";
	}
	snprintf(out, sizeof(out), "%s \"%.*s\" %s%s",
		 esql_needle_where_name(nd.v[0].where), (int)nd.v[0].len,
		 nd.v[0].p, nd.v[0].fold ? "folded" : "exact",
		 nd.n > 1 ? " +more" : "");
	esql_expr_free(e);
	return out;
}

/*
 * Needles know where they stand and whether case matters, and are
 * refused where that cannot be proved.
 */
static void
test_needles(void)
{
	/* == and IN compare whole values, exactly */
	CHECK_STR(needle1(op(ESQL_OP_EQ, 2, KW(0, 1, "a"), K("sh"))),
		  "whole \"sh\" exact");
	CHECK_STR(needle1(op(ESQL_OP_EQ, 2, K("sh"), KW(0, 1, "a"))),
		  "whole \"sh\" exact");
	CHECK_STR(needle1(op(ESQL_OP_IN, 3, KW(0, 1, "a"), K("sh"), K("ksh"))),
		  "whole \"sh\" exact +more");
	/* on TO_LOWER / TO_UPPER of a column: whole, folded; ASCII only */
	CHECK_STR(needle1(op(ESQL_OP_EQ, 2, fn("TO_LOWER", 1, KW(0, 1, "a")),
			     K("kali"))),
		  "whole \"kali\" folded");
	CHECK_STR(needle1(op(ESQL_OP_IN, 2, fn("TO_UPPER", 1, KW(0, 1, "a")),
			     K("SSH"))),
		  "whole \"SSH\" folded");
	CHECK_STR(needle1(op(ESQL_OP_EQ, 2, fn("TO_LOWER", 1, KW(0, 1, "a")),
			     K("\xc3\xa9t\xc3\xa9"))),
		  "none");
	/* other functions of the column prove nothing */
	CHECK_STR(needle1(
		      op(ESQL_OP_EQ, 2, fn("TRIM", 1, KW(0, 1, "a")), K("sh"))),
		  "none");
	CHECK_STR(needle1(op(ESQL_OP_EQ, 2,
			     fn("TO_LOWER", 1, fn("TRIM", 1, KW(0, 1, "a"))),
			     K("sh"))),
		  "none");
	/* not a keyword comparison: none */
	CHECK_STR(needle1(op(ESQL_OP_EQ, 2, LC(2, 1, "7"), L(7))), "none");
	CHECK_STR(needle1(op(ESQL_OP_NE, 2, KW(0, 1, "a"), K("sh"))), "none");
	/* LIKE: the longest literal run, where the pattern puts it */
	CHECK_STR(needle1(like(KW(0, 1, "a"), false, false, 1, "python*")),
		  "start \"python\" exact");
	CHECK_STR(needle1(like(KW(0, 1, "a"), false, false, 1, "*/tmp/*")),
		  "anywhere \"/tmp/\" exact");
	CHECK_STR(needle1(like(KW(0, 1, "a"), false, false, 1, "*.sh")),
		  "end \".sh\" exact");
	CHECK_STR(needle1(like(KW(0, 1, "a"), false, false, 1, "bash")),
		  "whole \"bash\" exact");
	CHECK_STR(needle1(like(KW(0, 1, "a"), false, false, 1, "ab*cdef")),
		  "end \"cdef\" exact");
	CHECK_STR(needle1(like(KW(0, 1, "a"), false, false, 1, "abc*de")),
		  "start \"abc\" exact");
	CHECK_STR(needle1(like(KW(0, 1, "a"), false, false, 1, "a?cd*")),
		  "anywhere \"cd\" exact");
	CHECK_STR(needle1(like(KW(0, 1, "a"), false, false, 1, "ab?c*")),
		  "start \"ab\" exact");
	CHECK_STR(needle1(like(KW(0, 1, "a"), false, false, 1, "x\\*y*")),
		  "start \"x*y\" exact");
	/* TO_LOWER(x) LIKE: folded; a run outside ASCII is refused */
	CHECK_STR(needle1(like(fn("TO_LOWER", 1, KW(0, 1, "a")), false, false,
			       1, "python*")),
		  "start \"python\" folded");
	CHECK_STR(needle1(like(fn("TO_LOWER", 1, KW(0, 1, "a")), false, false,
			       2, "python*", "\xc3\xa9*")),
		  "none");
	/* NOT LIKE and RLIKE: none */
	CHECK_STR(needle1(like(KW(0, 1, "a"), false, true, 1, "python*")),
		  "none");
	CHECK_STR(needle1(like(KW(0, 1, "a"), true, false, 1, "python.*")),
		  "none");
	/* AND keeps the side whose shortest needle is longest, then the
	 * side with fewer needles, whichever side it stands on */
	CHECK_STR(needle1(op(ESQL_OP_AND, 2,
			     op(ESQL_OP_EQ, 2, KW(0, 1, "a"), K("start")),
			     op(ESQL_OP_EQ, 2, KW(1, 1, "b"),
				K("powershell.exe")))),
		  "whole \"powershell.exe\" exact");
	CHECK_STR(needle1(
		      op(ESQL_OP_AND, 2,
			 op(ESQL_OP_IN, 3, KW(1, 1, "b"), K("sh"), K("bash")),
			 op(ESQL_OP_EQ, 2, KW(0, 1, "a"), K("exec")))),
		  "whole \"exec\" exact");
	CHECK_STR(needle1(
		      op(ESQL_OP_AND, 2,
			 op(ESQL_OP_IN, 3, KW(1, 1, "b"), K("exec"), K("fork")),
			 op(ESQL_OP_EQ, 2, KW(0, 1, "a"), K("open")))),
		  "whole \"open\" exact");
	CHECK_STR(needle1(op(ESQL_OP_AND, 2,
			     op(ESQL_OP_NE, 2, KW(0, 1, "a"), K("fork")),
			     op(ESQL_OP_EQ, 2, KW(1, 1, "b"), K("sh")))),
		  "whole \"sh\" exact");
	/* CONTAINS, STARTS_WITH, ENDS_WITH of a column and a literal */
	CHECK_STR(needle1(fn("CONTAINS", 2, KW(0, 1, "a"), K("base64"))),
		  "anywhere \"base64\" exact");
	CHECK_STR(needle1(fn("STARTS_WITH", 2, KW(0, 1, "a"), K("/tmp/"))),
		  "start \"/tmp/\" exact");
	CHECK_STR(needle1(fn("ENDS_WITH", 2, KW(0, 1, "a"), K(".sh"))),
		  "end \".sh\" exact");
	CHECK_STR(needle1(fn("ENDS_WITH", 2, fn("TO_LOWER", 1, KW(0, 1, "a")),
			     K(".sh"))),
		  "none");
	CHECK_STR(needle1(fn("CONTAINS", 2, KW(0, 1, "a"), K(""))), "none");
	/* LOCATE(x, "s") > 0 or >= 1; not > -1, >= 0 or == 0 */
	CHECK_STR(needle1(op(ESQL_OP_GT, 2,
			     fn("LOCATE", 2, KW(0, 1, "a"), K("  ")), I(0))),
		  "anywhere \"  \" exact");
	CHECK_STR(needle1(op(ESQL_OP_GE, 2,
			     fn("LOCATE", 2, KW(0, 1, "a"), K("  ")), I(1))),
		  "anywhere \"  \" exact");
	CHECK_STR(needle1(op(ESQL_OP_GT, 2,
			     fn("LOCATE", 2, KW(0, 1, "a"), K("  ")), I(-1))),
		  "none");
	CHECK_STR(needle1(op(ESQL_OP_GE, 2,
			     fn("LOCATE", 2, KW(0, 1, "a"), K("  ")), I(0))),
		  "none");
	CHECK_STR(needle1(op(ESQL_OP_EQ, 2,
			     fn("LOCATE", 2, KW(0, 1, "a"), K("  ")), I(0))),
		  "none");
	/* KQL keyword terms and wildcards: whole or placed, exact */
	CHECK_STR(needle1(kql("a:exec")), "whole \"exec\" exact");
	CHECK_STR(needle1(kql("a:ex*")), "start \"ex\" exact");
	CHECK_STR(needle1(kql("a:*ec")), "end \"ec\" exact");
	CHECK_STR(needle1(kql("not a:exec")), "none");
	/* OR unites, AND keeps one side; a side without any spoils an OR */
	CHECK_STR(needle1(op(ESQL_OP_OR, 2,
			     op(ESQL_OP_EQ, 2, KW(0, 1, "a"), K("sh")),
			     like(fn("TO_LOWER", 1, KW(1, 1, "a")), false,
				  false, 1, "py*"))),
		  "whole \"sh\" exact +more");
	CHECK_STR(needle1(op(ESQL_OP_OR, 2,
			     op(ESQL_OP_EQ, 2, KW(0, 1, "a"), K("sh")),
			     op(ESQL_OP_NE, 2, KW(1, 1, "a"), K("x")))),
		  "none");
	CHECK_STR(needle1(op(ESQL_OP_AND, 2,
			     op(ESQL_OP_NE, 2, KW(1, 1, "a"), K("x")),
			     fn("ENDS_WITH", 2, KW(0, 1, "a"), K(".sh")))),
		  "end \".sh\" exact");
}

/* Whether value v passes the value test of e; -1 if e has none. */
static int
vtest(struct esql_expr *e, const char *v)
{
	struct esql_value_test t;
	int r;

	if (e == NULL || !esql_expr_value_test(e, &t)) {
		esql_expr_free(e);
		return -1;
	}
	r = esql_value_test_ok(&t, v, strlen(v));
	esql_expr_free(e);
	return r;
}

/*
 * Value tests for the parser's early check: a value that fails refutes
 * the conjunct (false if it is the only value, null if there are more).
 */
static void
test_value_tests(void)
{
	struct esql_value_test t[4];
	struct esql_expr *e;

	CHECK_EQ_INT(vtest(op(ESQL_OP_EQ, 2, KW(0, 1, "a"), K("sh")), "sh"), 1);
	CHECK_EQ_INT(vtest(op(ESQL_OP_EQ, 2, KW(0, 1, "a"), K("sh")), "ssh"),
		     0);
	CHECK_EQ_INT(vtest(op(ESQL_OP_EQ, 2, K("sh"), KW(0, 1, "a")), "SH"), 0);
	CHECK_EQ_INT(vtest(op(ESQL_OP_IN, 4, KW(0, 1, "a"), K("sh"), NUL(),
			      K("bash")),
			   "bash"),
		     1);
	CHECK_EQ_INT(vtest(op(ESQL_OP_IN, 3, KW(0, 1, "a"), K("sh"), K("bash")),
			   "zsh"),
		     0);
	/* LIKE, with the TO_LOWER rewrite, NOT LIKE and RLIKE */
	CHECK_EQ_INT(vtest(like(fn("TO_LOWER", 1, KW(0, 1, "a")), false, false,
				1, "python*"),
			   "PYTHON3"),
		     1);
	CHECK_EQ_INT(vtest(like(fn("TO_LOWER", 1, KW(0, 1, "a")), false, false,
				1, "python*"),
			   "ipython"),
		     0);
	CHECK_EQ_INT(vtest(like(KW(0, 1, "a"), false, true, 1, "*--version*"),
			   "curl --version"),
		     0);
	CHECK_EQ_INT(vtest(like(KW(0, 1, "a"), false, true, 1, "*--version*"),
			   "curl x"),
		     1);
	CHECK_EQ_INT(vtest(like(KW(0, 1, "a"), true, false, 1,
				"py(thon)?[0-9]"),
			   "python3"),
		     1);
	/* none: another column, a function, a non-keyword, != */
	CHECK_EQ_INT(vtest(op(ESQL_OP_EQ, 2, KW(0, 1, "a"), KW(1, 1, "a")),
			   "a"),
		     -1);
	CHECK_EQ_INT(vtest(op(ESQL_OP_EQ, 2, fn("TO_LOWER", 1, KW(0, 1, "a")),
			      K("sh")),
			   "sh"),
		     -1);
	CHECK_EQ_INT(vtest(op(ESQL_OP_EQ, 2, LC(2, 1, "7"), L(7)), "7"), -1);
	CHECK_EQ_INT(vtest(op(ESQL_OP_NE, 2, KW(0, 1, "a"), K("sh")), "sh"),
		     -1);
	CHECK_EQ_INT(vtest(kql("a:exec"), "exec"), -1);
	/* the conjuncts of an AND, each with its column; not an OR */
	e = op(ESQL_OP_AND, 2,
	       op(ESQL_OP_AND, 2, op(ESQL_OP_EQ, 2, KW(0, 1, "a"), K("x")),
		  op(ESQL_OP_NE, 2, KW(1, 1, "a"), K("y"))),
	       like(KW(1, 1, "a"), false, false, 1, "p*"));
	CHECK_EQ_INT(esql_expr_value_tests(e, t, 4), 2);
	CHECK_EQ_INT(t[0].column, 0);
	CHECK_EQ_INT(t[1].column, 1);
	CHECK_EQ_INT(esql_expr_value_tests(e, t, 1), 1);
	esql_expr_free(e);
	e = op(ESQL_OP_OR, 2, op(ESQL_OP_EQ, 2, KW(0, 1, "a"), K("x")),
	       op(ESQL_OP_EQ, 2, KW(0, 1, "a"), K("y")));
	CHECK_EQ_INT(esql_expr_value_tests(e, t, 4), 0);
	esql_expr_free(e);
}

int
main(void)
{
	test_logic();
	test_compare();
	test_in();
	test_arith();
	test_strings();
	test_case_coalesce();
	test_mv();
	test_casts();
	test_math();
	test_dates();
	test_cidr();
	test_fold_print();
	test_like();
	test_rlike();
	test_kql();
	test_needles();
	test_value_tests();
	test_depth();
	test_fieldtype();
	esql_arena_free(&arena);
	return check_exit();
}
