/*
 * esql_func: ES|QL's scalar functions: their names, argument types and
 * evaluation.  Each follows the Elasticsearch function of the same name
 * (x-pack/plugin/esql/.../expression/function/scalar/): null in gives
 * null out, and a multi-valued argument to a single-valued function
 * gives null with a warning, unless said otherwise below.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "casemap.h"
#include "esql_expr_int.h"
#include "timefmt.h"

enum func {
	F_TO_LOWER,
	F_TO_UPPER,
	F_CASE,
	F_COALESCE,
	F_DATE_TRUNC,
	F_LENGTH,
	F_LOCATE,
	F_SPACE,
	F_CONCAT,
	F_CONTAINS,
	F_STARTS_WITH,
	F_ENDS_WITH,
	F_CIDR_MATCH,
	F_MV_MIN,
	F_MV_MAX,
	F_MV_FIRST,
	F_MV_LAST,
	F_MV_COUNT,
	F_MV_SUM,
	F_MV_DEDUPE,
	F_MV_CONCAT,
	F_ROUND,
	F_ABS,
	F_TRIM,
	F_LTRIM,
	F_RTRIM,
	F_SUBSTRING,
	F_DATE_DIFF,
	F_COUNT_
};

static const struct {
	const char *name;
	unsigned min, max; /* arguments */
} funcs[F_COUNT_] = {
    [F_TO_LOWER] = {"TO_LOWER", 1, 1},
    [F_TO_UPPER] = {"TO_UPPER", 1, 1},
    [F_CASE] = {"CASE", 2, ESQL_EXPR_MAX_ARGS},
    [F_COALESCE] = {"COALESCE", 1, ESQL_EXPR_MAX_ARGS},
    [F_DATE_TRUNC] = {"DATE_TRUNC", 2, 2},
    [F_LENGTH] = {"LENGTH", 1, 1},
    [F_LOCATE] = {"LOCATE", 2, 3},
    [F_SPACE] = {"SPACE", 1, 1},
    [F_CONCAT] = {"CONCAT", 2, ESQL_EXPR_MAX_ARGS},
    [F_CONTAINS] = {"CONTAINS", 2, 2},
    [F_STARTS_WITH] = {"STARTS_WITH", 2, 2},
    [F_ENDS_WITH] = {"ENDS_WITH", 2, 2},
    [F_CIDR_MATCH] = {"CIDR_MATCH", 2, ESQL_EXPR_MAX_ARGS},
    [F_MV_MIN] = {"MV_MIN", 1, 1},
    [F_MV_MAX] = {"MV_MAX", 1, 1},
    [F_MV_FIRST] = {"MV_FIRST", 1, 1},
    [F_MV_LAST] = {"MV_LAST", 1, 1},
    [F_MV_COUNT] = {"MV_COUNT", 1, 1},
    [F_MV_SUM] = {"MV_SUM", 1, 1},
    [F_MV_DEDUPE] = {"MV_DEDUPE", 1, 1},
    [F_MV_CONCAT] = {"MV_CONCAT", 2, 2},
    [F_ROUND] = {"ROUND", 1, 2},
    [F_ABS] = {"ABS", 1, 1},
    [F_TRIM] = {"TRIM", 1, 1},
    [F_LTRIM] = {"LTRIM", 1, 1},
    [F_RTRIM] = {"RTRIM", 1, 1},
    [F_SUBSTRING] = {"SUBSTRING", 2, 3},
    [F_DATE_DIFF] = {"DATE_DIFF", 3, 3},
};

/* The TO_* functions are casts. */
static const struct {
	const char *name;
	enum esql_type to;
} casts[] = {
    {"TO_STRING", ESQL_T_KEYWORD}, {"TO_STR", ESQL_T_KEYWORD},
    {"TO_LONG", ESQL_T_LONG},      {"TO_INTEGER", ESQL_T_INTEGER},
    {"TO_INT", ESQL_T_INTEGER},    {"TO_DOUBLE", ESQL_T_DOUBLE},
    {"TO_DBL", ESQL_T_DOUBLE},     {"TO_BOOLEAN", ESQL_T_BOOLEAN},
    {"TO_BOOL", ESQL_T_BOOLEAN},   {"TO_DATETIME", ESQL_T_DATETIME},
    {"TO_DT", ESQL_T_DATETIME},    {"TO_IP", ESQL_T_IP},
};

/* Refused with a reason. */
static const struct {
	const char *name, *why;
} refused[] = {
    {"NOW", "a streaming rule has no query time"},
    {"REPLACE", "its pattern is a Java regular expression"},
};

const char *
func_name(int code)
{
	return code >= 0 && code < F_COUNT_ ? funcs[code].name : "?";
}

/* DATE_DIFF units (DateDiff.Part), as a step in ms or in months. */
enum unit_kind {
	U_MS,
	U_MONTHS,
	U_MICROS,
	U_NANOS
};
static const struct {
	const char *name;
	enum unit_kind kind;
	int64_t n;
} units[] = {
    {"year", U_MONTHS, 12},
    {"years", U_MONTHS, 12},
    {"yy", U_MONTHS, 12},
    {"yyyy", U_MONTHS, 12},
    {"quarter", U_MONTHS, 3},
    {"quarters", U_MONTHS, 3},
    {"qq", U_MONTHS, 3},
    {"q", U_MONTHS, 3},
    {"month", U_MONTHS, 1},
    {"months", U_MONTHS, 1},
    {"mm", U_MONTHS, 1},
    {"m", U_MONTHS, 1},
    {"dayofyear", U_MS, 86400000},
    {"dy", U_MS, 86400000},
    {"y", U_MS, 86400000},
    {"day", U_MS, 86400000},
    {"days", U_MS, 86400000},
    {"dd", U_MS, 86400000},
    {"d", U_MS, 86400000},
    {"week", U_MS, 604800000},
    {"weeks", U_MS, 604800000},
    {"wk", U_MS, 604800000},
    {"ww", U_MS, 604800000},
    {"weekday", U_MS, 86400000},
    {"weekdays", U_MS, 86400000},
    {"dw", U_MS, 86400000},
    {"hour", U_MS, 3600000},
    {"hours", U_MS, 3600000},
    {"hh", U_MS, 3600000},
    {"minute", U_MS, 60000},
    {"minutes", U_MS, 60000},
    {"mi", U_MS, 60000},
    {"n", U_MS, 60000},
    {"second", U_MS, 1000},
    {"seconds", U_MS, 1000},
    {"ss", U_MS, 1000},
    {"s", U_MS, 1000},
    {"millisecond", U_MS, 1},
    {"milliseconds", U_MS, 1},
    {"ms", U_MS, 1},
    {"microsecond", U_MICROS, 1},
    {"microseconds", U_MICROS, 1},
    {"mcs", U_MICROS, 1},
    {"nanosecond", U_NANOS, 1},
    {"nanoseconds", U_NANOS, 1},
    {"ns", U_NANOS, 1},
};

static int
find_unit(const char *p, size_t len)
{
	for (size_t i = 0; i < sizeof(units) / sizeof(*units); i++)
		if (strlen(units[i].name) == len &&
		    strncasecmp(units[i].name, p, len) == 0)
			return (int)i;
	return -1;
}

static bool
is_string(enum esql_type t)
{
	return t == ESQL_T_KEYWORD || t == ESQL_T_NULL;
}

static bool
is_num(enum esql_type t)
{
	return expr_is_numeric(t) || t == ESQL_T_NULL;
}

static bool
is_int(enum esql_type t)
{
	return t == ESQL_T_INTEGER || t == ESQL_T_LONG || t == ESQL_T_NULL;
}

/* Checks argument types; returns the result type or ESQL_T_NULL. */
static enum esql_type
check(int f, struct esql_expr **a, size_t n, char *why, size_t whylen)
{
	enum esql_type t = ESQL_T_NULL;

#define WANT(cond, ...)                                     \
	do {                                                \
		if (!(cond)) {                              \
			snprintf(why, whylen, __VA_ARGS__); \
			return ESQL_T_NULL;                 \
		}                                           \
	} while (0)
	switch (f) {
	case F_TO_LOWER:
	case F_TO_UPPER:
	case F_TRIM:
	case F_LTRIM:
	case F_RTRIM:
		WANT(is_string(a[0]->type),
		     "argument must be a string, "
		     "found %s",
		     esql_type_name(a[0]->type));
		return ESQL_T_KEYWORD;
	case F_LENGTH:
		WANT(is_string(a[0]->type),
		     "argument must be a string, "
		     "found %s",
		     esql_type_name(a[0]->type));
		return ESQL_T_INTEGER;
	case F_LOCATE:
		WANT(is_string(a[0]->type) && is_string(a[1]->type),
		     "first two arguments must be strings");
		WANT(n < 3 || is_int(a[2]->type),
		     "start must be an integer, found %s",
		     esql_type_name(a[2]->type));
		return ESQL_T_INTEGER;
	case F_SUBSTRING:
		WANT(is_string(a[0]->type),
		     "first argument must be a string, "
		     "found %s",
		     esql_type_name(a[0]->type));
		for (size_t i = 1; i < n; i++)
			WANT(is_int(a[i]->type),
			     "argument %zu must be an integer, found %s", i + 1,
			     esql_type_name(a[i]->type));
		return ESQL_T_KEYWORD;
	case F_SPACE:
		WANT(is_int(a[0]->type),
		     "argument must be an integer, "
		     "found %s",
		     esql_type_name(a[0]->type));
		return ESQL_T_KEYWORD;
	case F_CONCAT:
		for (size_t i = 0; i < n; i++)
			WANT(is_string(a[i]->type),
			     "argument %zu must be a string, found %s", i + 1,
			     esql_type_name(a[i]->type));
		return ESQL_T_KEYWORD;
	case F_CONTAINS:
	case F_STARTS_WITH:
	case F_ENDS_WITH:
		WANT(is_string(a[0]->type) && is_string(a[1]->type),
		     "arguments must be strings, found %s and %s",
		     esql_type_name(a[0]->type), esql_type_name(a[1]->type));
		return ESQL_T_BOOLEAN;
	case F_CIDR_MATCH:
		WANT(a[0]->type == ESQL_T_IP || a[0]->type == ESQL_T_NULL,
		     "first argument must be an ip, found %s",
		     esql_type_name(a[0]->type));
		for (size_t i = 1; i < n; i++)
			WANT(is_string(a[i]->type),
			     "argument %zu must be a string, found %s", i + 1,
			     esql_type_name(a[i]->type));
		return ESQL_T_BOOLEAN;
	case F_MV_MIN:
	case F_MV_MAX:
		WANT(a[0]->type != ESQL_T_TIME_DURATION &&
			 a[0]->type != ESQL_T_DATE_PERIOD,
		     "argument cannot be %s", esql_type_name(a[0]->type));
		return a[0]->type;
	case F_MV_FIRST:
	case F_MV_LAST:
	case F_MV_DEDUPE:
		return a[0]->type;
	case F_MV_COUNT:
		return ESQL_T_INTEGER;
	case F_MV_SUM:
		WANT(is_num(a[0]->type), "argument must be numeric, found %s",
		     esql_type_name(a[0]->type));
		return a[0]->type == ESQL_T_NULL ? ESQL_T_INTEGER : a[0]->type;
	case F_MV_CONCAT:
		WANT(is_string(a[0]->type) && is_string(a[1]->type),
		     "arguments must be strings, found %s and %s",
		     esql_type_name(a[0]->type), esql_type_name(a[1]->type));
		return ESQL_T_KEYWORD;
	case F_ROUND:
		WANT(is_num(a[0]->type),
		     "first argument must be numeric, "
		     "found %s",
		     esql_type_name(a[0]->type));
		WANT(n < 2 || is_int(a[1]->type),
		     "decimals must be an integer, found %s",
		     esql_type_name(a[1]->type));
		return a[0]->type == ESQL_T_NULL ? ESQL_T_INTEGER : a[0]->type;
	case F_ABS:
		WANT(is_num(a[0]->type), "argument must be numeric, found %s",
		     esql_type_name(a[0]->type));
		return a[0]->type == ESQL_T_NULL ? ESQL_T_INTEGER : a[0]->type;
	case F_COALESCE:
		for (size_t i = 0; i < n; i++) {
			if (a[i]->type == ESQL_T_NULL)
				continue;
			WANT(t == ESQL_T_NULL || t == a[i]->type,
			     "argument %zu must be %s, found %s", i + 1,
			     esql_type_name(t), esql_type_name(a[i]->type));
			t = a[i]->type;
		}
		return t == ESQL_T_NULL ? ESQL_T_KEYWORD : t;
	case F_CASE:
		for (size_t i = 0; i < n; i++) {
			bool cond = i % 2 == 0 && i + 1 < n;

			if (a[i]->type == ESQL_T_NULL)
				continue;
			if (cond) {
				WANT(a[i]->type == ESQL_T_BOOLEAN,
				     "condition %zu must be boolean, found %s",
				     i / 2 + 1, esql_type_name(a[i]->type));
				continue;
			}
			WANT(t == ESQL_T_NULL || t == a[i]->type,
			     "value %zu must be %s, found %s", i + 1,
			     esql_type_name(t), esql_type_name(a[i]->type));
			t = a[i]->type;
		}
		return t == ESQL_T_NULL ? ESQL_T_KEYWORD : t;
	case F_DATE_TRUNC:
		WANT(a[0]->kind == EXPR_LIT && a[0]->lit.n == 1 &&
			 (a[0]->type == ESQL_T_TIME_DURATION ||
			  a[0]->type == ESQL_T_DATE_PERIOD),
		     "interval must be a constant time span such as 1 minute");
		WANT(a[1]->type == ESQL_T_DATETIME || a[1]->type == ESQL_T_NULL,
		     "second argument must be a datetime, found %s",
		     esql_type_name(a[1]->type));
		return ESQL_T_DATETIME;
	case F_DATE_DIFF:
		WANT(a[0]->kind == EXPR_LIT && a[0]->type == ESQL_T_KEYWORD &&
			 a[0]->lit.n == 1,
		     "unit must be a constant string");
		WANT(find_unit(esql_val_items(&a[0]->lit)[0].u.s.p,
			       esql_val_items(&a[0]->lit)[0].u.s.len) >= 0,
		     "unknown unit [%.*s]",
		     (int)esql_val_items(&a[0]->lit)[0].u.s.len,
		     esql_val_items(&a[0]->lit)[0].u.s.p);
		for (size_t i = 1; i < 3; i++)
			WANT(a[i]->type == ESQL_T_DATETIME ||
				 a[i]->type == ESQL_T_NULL,
			     "argument %zu must be a datetime, found %s", i + 1,
			     esql_type_name(a[i]->type));
		return ESQL_T_INTEGER;
	}
#undef WANT
	return ESQL_T_NULL;
}

struct esql_expr *
esql_expr_call(const char *name, struct esql_expr **args, size_t n,
	       unsigned line, unsigned col, char *err, size_t errlen)
{
	return func_make(name, args, n, line, col, err, errlen);
}

struct esql_expr *
func_make(const char *name, struct esql_expr **args, size_t n, unsigned line,
	  unsigned col, char *err, size_t errlen)
{
	struct esql_expr *e;
	char why[200];
	enum esql_type t;
	int f = -1;

	for (size_t i = 0; i < sizeof(casts) / sizeof(*casts); i++)
		if (strcasecmp(name, casts[i].name) == 0) {
			if (n != 1) {
				expr_free_args(args, n);
				expr_err(
				    err, errlen, line, col,
				    "function %s takes 1 argument, got %zu",
				    casts[i].name, n);
				return NULL;
			}
			return esql_expr_cast(args[0], casts[i].to, line, col,
					      err, errlen);
		}
	for (size_t i = 0; i < sizeof(refused) / sizeof(*refused); i++)
		if (strcasecmp(name, refused[i].name) == 0) {
			expr_free_args(args, n);
			expr_err(err, errlen, line, col,
				 "function %s is not supported: %s",
				 refused[i].name, refused[i].why);
			return NULL;
		}
	for (int i = 0; i < F_COUNT_; i++)
		if (strcasecmp(name, funcs[i].name) == 0)
			f = i;
	if (f < 0) {
		expr_free_args(args, n);
		expr_err(err, errlen, line, col,
			 "function %.64s is not supported", name);
		return NULL;
	}
	for (size_t i = 0; i < n; i++)
		if (args[i] == NULL) {
			expr_free_args(args, n);
			expr_err(err, errlen, line, col, "missing argument");
			return NULL;
		}
	if (n < funcs[f].min || n > funcs[f].max) {
		expr_free_args(args, n);
		if (funcs[f].min == funcs[f].max)
			expr_err(err, errlen, line, col,
				 "function %s takes %u argument(s), got %zu",
				 funcs[f].name, funcs[f].min, n);
		else
			expr_err(
			    err, errlen, line, col,
			    "function %s takes %u to %u arguments, got %zu",
			    funcs[f].name, funcs[f].min, funcs[f].max, n);
		return NULL;
	}
	t = check(f, args, n, why, sizeof(why));
	if (t == ESQL_T_NULL) {
		expr_free_args(args, n);
		expr_err(err, errlen, line, col, "%s: %s", funcs[f].name, why);
		return NULL;
	}
	if (f == F_DATE_TRUNC) {
		const struct esql_scalar *iv = esql_val_items(&args[0]->lit);
		int64_t v = iv->u.l;

		if (v <= 0 || (args[0]->type == ESQL_T_DATE_PERIOD && v != 1 &&
			       v != 3 && v != 12)) {
			expr_free_args(args, n);
			expr_err(err, errlen, line, col,
				 "DATE_TRUNC: interval must be a positive time "
				 "span, or 1 month, 1 quarter or 1 year");
			return NULL;
		}
	}
	e = expr_node(EXPR_CALL, t, args, n, line, col, err, errlen);
	if (e == NULL)
		return NULL;
	e->code = f;
	if (f == F_DATE_DIFF)
		e->aux = find_unit(esql_val_items(&args[0]->lit)[0].u.s.p,
				   esql_val_items(&args[0]->lit)[0].u.s.len);
	return expr_fold(e);
}

/* UTF-8. */

static size_t
cp_count(const char *p, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++)
		n += ((unsigned char)p[i] & 0xc0) != 0x80;
	return n;
}

/* Byte offset of code point k (or len). */
static size_t
cp_offset(const char *p, size_t len, size_t k)
{
	size_t i = 0;

	while (i < len && k > 0) {
		i++;
		while (i < len && ((unsigned char)p[i] & 0xc0) == 0x80)
			i++;
		k--;
	}
	return i;
}

/* Decodes one code point at p[*i] (valid UTF-8 assumed, else a byte). */
static uint32_t
cp_next(const char *s, size_t len, size_t *i)
{
	const unsigned char *p = (const unsigned char *)s;
	uint32_t c = p[*i];
	int more = c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : c >= 0xc0 ? 1 : 0;

	if (more > 0)
		c &= 0x3f >> more;
	(*i)++;
	while (more-- > 0 && *i < len && (p[*i] & 0xc0) == 0x80)
		c = c << 6 | (p[(*i)++] & 0x3f);
	return c;
}

static size_t
cp_put(uint32_t c, char *out)
{
	if (c < 0x80) {
		out[0] = (char)c;
		return 1;
	}
	if (c < 0x800) {
		out[0] = (char)(0xc0 | c >> 6);
		out[1] = (char)(0x80 | (c & 0x3f));
		return 2;
	}
	if (c < 0x10000) {
		out[0] = (char)(0xe0 | c >> 12);
		out[1] = (char)(0x80 | (c >> 6 & 0x3f));
		out[2] = (char)(0x80 | (c & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | c >> 18);
	out[1] = (char)(0x80 | (c >> 12 & 0x3f));
	out[2] = (char)(0x80 | (c >> 6 & 0x3f));
	out[3] = (char)(0x80 | (c & 0x3f));
	return 4;
}

/*
 * GREEK CAPITAL SIGMA at s[i..) lowers to final sigma when, skipping
 * case-ignorable code points, a cased one comes before it and none after
 * (SpecialCasing.txt's Final_Sigma, as Python's str.lower() takes it;
 * prev_cased says the former).
 */
static bool
final_sigma(const char *s, size_t len, size_t i, bool prev_cased)
{
	if (!prev_cased)
		return false;
	while (i < len) {
		uint32_t c = cp_next(s, len, &i);

		if (!casemap_ignorable(c))
			return !casemap_cased(c);
	}
	return true;
}

static bool
ascii_ignorable(unsigned char b)
{
	return b == '\'' || b == '.' || b == ':' || b == '^' || b == '`';
}

/*
 * Java's String.toLowerCase/toUpperCase (include/casemap.h), code point
 * by code point as cp_next() decodes them: a byte of bad UTF-8 is taken
 * as the code point of its value (bits of a cut sequence likewise).
 */
static void
change_case(const struct esql_scalar *in, struct esql_scalar *out, bool upper,
	    struct esql_arena *arena)
{
	const char *s = in->u.s.p;
	size_t len = in->u.s.len;
	/* casemap.h: at most 3 times the bytes; a stray byte becomes 2 */
	char *p = esql_arena_alloc(arena, len * 3 + 1);
	size_t i = 0, n = 0;
	bool prev_cased = false;

	while (i < len) {
		unsigned char b = (unsigned char)s[i];
		uint32_t c, m[CASEMAP_MAX];
		size_t k;

		if (b < 0x80) {
			if (upper)
				p[n++] =
				    (char)(b >= 'a' && b <= 'z' ? b - 0x20 : b);
			else
				p[n++] =
				    (char)(b >= 'A' && b <= 'Z' ? b + 0x20 : b);
			/* ASCII: letters are cased, ' . : ^ ` case-ignorable */
			if (!upper && !ascii_ignorable(b))
				prev_cased =
				    (b | 0x20) >= 'a' && (b | 0x20) <= 'z';
			i++;
			continue;
		}
		c = cp_next(s, len, &i);
		if (upper) {
			k = casemap_upper(c, m);
		} else if (c == 0x3a3) {
			m[0] =
			    final_sigma(s, len, i, prev_cased) ? 0x3c2 : 0x3c3;
			k = 1;
		} else {
			k = casemap_lower(c, m);
		}
		if (!upper && !casemap_ignorable(c))
			prev_cased = casemap_cased(c);
		for (size_t j = 0; j < k; j++)
			n += cp_put(m[j], p + n);
	}
	out->u.s.p = p;
	out->u.s.len = n;
}

/* Character.isWhitespace() */
static bool
java_space(uint32_t c)
{
	return (c >= 9 && c <= 13) || (c >= 0x1c && c <= 0x20) || c == 0x1680 ||
	       (c >= 0x2000 && c <= 0x2006) || (c >= 0x2008 && c <= 0x200a) ||
	       c == 0x2028 || c == 0x2029 || c == 0x205f || c == 0x3000;
}

/* Calendar: days from civil and back (proleptic Gregorian). */

static int64_t
days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static void
civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	int64_t era;
	unsigned doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static int64_t
floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	return q - ((a % b != 0) && ((a < 0) != (b < 0)));
}

/* The month count since year 0 of ms, and the ms into that month. */
static void
month_of(int64_t ms, int64_t *month, int64_t *rest)
{
	int64_t days = floor_div(ms, 86400000), y;
	unsigned m, d;

	civil_from_days(days, &y, &m, &d);
	*month = y * 12 + (m - 1);
	*rest = ms - days_from_civil(y, m, 1) * 86400000;
}

static int64_t
month_start(int64_t month)
{
	int64_t y = floor_div(month, 12);

	return days_from_civil(y, (unsigned)(month - y * 12) + 1, 1) * 86400000;
}

/* Evaluation helpers. */

static void
set_scalar(struct esql_val *out, enum esql_type t, const struct esql_scalar *s)
{
	expr_set_one(out, t, s);
}

static void
set_long(struct esql_val *out, enum esql_type t, int64_t l)
{
	struct esql_scalar s;

	memset(&s, 0, sizeof(s));
	s.u.l = l;
	set_scalar(out, t, &s);
}

static void
set_str(struct esql_val *out, const char *p, size_t len)
{
	struct esql_scalar s;

	s.u.s.p = p;
	s.u.s.len = len;
	set_scalar(out, ESQL_T_KEYWORD, &s);
}

/* Evaluates argument i as one value: false if null or multi-valued. */
static int
arg1(const struct esql_expr *e, size_t i, struct esql_ctx *cx,
     struct esql_scalar *s, enum esql_type *t)
{
	struct esql_val v;

	if (esql_eval(e->args[i], cx, &v) != 0)
		return -1;
	if (t != NULL)
		*t = v.type;
	return expr_single(cx, &v, s) ? 1 : 0;
}

static int64_t
as_long(enum esql_type t, const struct esql_scalar *s)
{
	return t == ESQL_T_DOUBLE ? (int64_t)s->u.d : s->u.l;
}

static bool
cidr_match(const unsigned char ip[16], const char *p, size_t len)
{
	const char *slash = memchr(p, '/', len);
	unsigned char net[16];
	long bits = 0;
	size_t k;

	if (slash == NULL || slash + 1 == p + len ||
	    esql_ip_parse(p, (size_t)(slash - p), net) != 0)
		return false;
	for (const char *q = slash + 1; q < p + len; q++) {
		if (!isdigit((unsigned char)*q) || bits > 128)
			return false;
		bits = bits * 10 + (*q - '0');
	}
	if (memchr(p, ':', (size_t)(slash - p)) == NULL)
		bits += 96;
	if (bits > 128)
		return false;
	for (k = 0; k + 8 <= (size_t)bits; k += 8)
		if (ip[k / 8] != net[k / 8])
			return false;
	if (k < (size_t)bits) {
		unsigned mask = 0xffu << (8 - (bits - (long)k)) & 0xff;

		if ((ip[k / 8] & mask) != (net[k / 8] & mask))
			return false;
	}
	return true;
}

/* Whether a CIDR argument is well formed (else a warning). */
static bool
cidr_valid(const char *p, size_t len)
{
	{
		const char *slash = memchr(p, '/', len);
		unsigned char net[16];
		long bits = 0;

		if (slash == NULL || slash + 1 == p + len ||
		    esql_ip_parse(p, (size_t)(slash - p), net) != 0)
			return false;
		for (const char *q = slash + 1; q < p + len; q++) {
			if (!isdigit((unsigned char)*q) || bits > 128)
				return false;
			bits = bits * 10 + (*q - '0');
		}
		return bits <= (memchr(p, ':', (size_t)(slash - p)) ? 128 : 32);
	}
}

static int
cmp_scalar_t(const void *a, const void *b, enum esql_type t)
{
	return esql_scalar_cmp(t, a, b);
}

/* An insertion sort: bounded by the value count, no heap. */
static void
sort_scalars(struct esql_scalar *v, size_t n, enum esql_type t)
{
	for (size_t i = 1; i < n; i++) {
		struct esql_scalar x = v[i];
		size_t j = i;

		while (j > 0 && cmp_scalar_t(&v[j - 1], &x, t) > 0) {
			v[j] = v[j - 1];
			j--;
		}
		v[j] = x;
	}
}

static int
eval_mv(const struct esql_expr *e, struct esql_ctx *cx, struct esql_val *out)
{
	struct esql_val v;
	const struct esql_scalar *in;
	struct esql_scalar r, *items;
	size_t best = 0, k = 0;

	if (esql_eval(e->args[0], cx, &v) != 0)
		return -1;
	esql_val_null(out, e->type);
	in = esql_val_items(&v);
	if (e->code == F_MV_COUNT) {
		if (v.n > 0)
			set_long(out, ESQL_T_INTEGER, (int64_t)v.n);
		return 0;
	}
	if (v.n == 0)
		return 0;
	switch (e->code) {
	case F_MV_MIN:
	case F_MV_MAX:
		for (size_t i = 1; i < v.n; i++) {
			int c = esql_scalar_cmp(v.type, &in[i], &in[best]);

			if (e->code == F_MV_MIN ? c < 0 : c > 0)
				best = i;
		}
		set_scalar(out, e->type, &in[best]);
		return 0;
	case F_MV_FIRST:
		set_scalar(out, e->type, &in[0]);
		return 0;
	case F_MV_LAST:
		set_scalar(out, e->type, &in[v.n - 1]);
		return 0;
	case F_MV_SUM:
		memset(&r, 0, sizeof(r));
		if (v.type == ESQL_T_DOUBLE) {
			/* Kahan summation, as MvSum's CompensatedSum */
			double sum = 0, c = 0;

			for (size_t i = 0; i < v.n; i++) {
				double y = in[i].u.d - c, t = sum + y;

				c = (t - sum) - y;
				sum = t;
			}
			if (!isfinite(sum)) {
				cx->warnings++;
				return 0;
			}
			r.u.d = sum;
		} else {
			for (size_t i = 0; i < v.n; i++)
				if (__builtin_add_overflow(r.u.l, in[i].u.l,
							   &r.u.l) ||
				    (v.type == ESQL_T_INTEGER &&
				     (r.u.l < INT32_MIN ||
				      r.u.l > INT32_MAX))) {
					cx->warnings++;
					return 0;
				}
		}
		set_scalar(out, e->type, &r);
		return 0;
	case F_MV_DEDUPE:
		/*
		 * First occurrences in order up to 300 values (MultivalueDedupe
		 * copies the missing ones); sorted above that.
		 */
		items = esql_arena_alloc(cx->arena, v.n * sizeof(*items));
		if (v.n > 300) {
			memcpy(items, in, v.n * sizeof(*items));
			sort_scalars(items, v.n, v.type);
			for (size_t i = 0; i < v.n; i++)
				if (k == 0 ||
				    esql_scalar_cmp(v.type, &items[k - 1],
						    &items[i]) != 0)
					items[k++] = items[i];
		} else {
			for (size_t i = 0; i < v.n; i++) {
				size_t j;

				for (j = 0; j < k; j++)
					if (esql_scalar_cmp(v.type, &items[j],
							    &in[i]) == 0)
						break;
				if (j == k)
					items[k++] = in[i];
			}
		}
		out->n = k;
		out->many = items;
		return 0;
	}
	return 0;
}

static int
eval_mv_concat(const struct esql_expr *e, struct esql_ctx *cx,
	       struct esql_val *out)
{
	struct esql_val v;
	struct esql_scalar d;
	const struct esql_scalar *in;
	size_t len = 0;
	char *p;
	int r;

	esql_val_null(out, ESQL_T_KEYWORD);
	if (esql_eval(e->args[0], cx, &v) != 0)
		return -1;
	if ((r = arg1(e, 1, cx, &d, NULL)) <= 0 || v.n == 0)
		return r;
	in = esql_val_items(&v);
	for (size_t i = 0; i < v.n; i++)
		len += in[i].u.s.len + (i > 0 ? d.u.s.len : 0);
	if (len > ESQL_EXPR_MAX_STRING) {
		cx->warnings++;
		return 0;
	}
	p = esql_arena_alloc(cx->arena, len);
	len = 0;
	for (size_t i = 0; i < v.n; i++) {
		if (i > 0) {
			memcpy(p + len, d.u.s.p, d.u.s.len);
			len += d.u.s.len;
		}
		memcpy(p + len, in[i].u.s.p, in[i].u.s.len);
		len += in[i].u.s.len;
	}
	set_str(out, p, len);
	return 0;
}

static int
eval_strings(const struct esql_expr *e, struct esql_ctx *cx,
	     struct esql_val *out)
{
	struct esql_scalar a, b, c;
	enum esql_type tc;
	size_t i, n, start, end;
	int r;

	esql_val_null(out, e->type);
	if ((r = arg1(e, 0, cx, &a, NULL)) <= 0)
		return r;
	switch (e->code) {
	case F_LENGTH:
		set_long(out, ESQL_T_INTEGER,
			 (int64_t)cp_count(a.u.s.p, a.u.s.len));
		return 0;
	case F_TRIM:
	case F_LTRIM:
	case F_RTRIM:
		start = 0;
		end = a.u.s.len;
		if (e->code != F_RTRIM)
			for (i = 0; i < a.u.s.len;) {
				size_t at = i;

				if (!java_space(
					cp_next(a.u.s.p, a.u.s.len, &i))) {
					start = at;
					break;
				}
				start = i;
			}
		if (e->code != F_LTRIM) {
			end = start;
			for (i = start; i < a.u.s.len;)
				if (!java_space(
					cp_next(a.u.s.p, a.u.s.len, &i)))
					end = i;
		}
		set_str(out, a.u.s.p + start, end - start);
		return 0;
	case F_CONTAINS:
	case F_STARTS_WITH:
	case F_ENDS_WITH:
		if ((r = arg1(e, 1, cx, &b, NULL)) <= 0)
			return r;
		if (b.u.s.len > a.u.s.len)
			r = 0;
		else if (e->code == F_STARTS_WITH)
			r = memcmp(a.u.s.p, b.u.s.p, b.u.s.len) == 0;
		else if (e->code == F_ENDS_WITH)
			r = memcmp(a.u.s.p + a.u.s.len - b.u.s.len, b.u.s.p,
				   b.u.s.len) == 0;
		else {
			r = b.u.s.len == 0;
			for (i = 0; !r && i + b.u.s.len <= a.u.s.len; i++)
				r = memcmp(a.u.s.p + i, b.u.s.p, b.u.s.len) ==
				    0;
		}
		set_long(out, ESQL_T_BOOLEAN, r);
		return 0;
	case F_LOCATE: {
		int64_t st = 0;
		size_t u16 = 0;

		if ((r = arg1(e, 1, cx, &b, NULL)) <= 0)
			return r;
		if (e->nargs == 3) {
			if ((r = arg1(e, 2, cx, &c, &tc)) <= 0)
				return r;
			st = c.u.l;
		}
		/* Locate.java: bytes shorter than the needle give 0 */
		if (a.u.s.len < b.u.s.len) {
			set_long(out, ESQL_T_INTEGER, 0);
			return 0;
		}
		n = cp_count(a.u.s.p, a.u.s.len);
		if (st > 0)
			st--;
		else if (st < 0)
			st += (int64_t)n;
		if (st < 0)
			st = 0;
		if (st > (int64_t)n)
			st = (int64_t)n;
		start = cp_offset(a.u.s.p, a.u.s.len, (size_t)st);
		/*
		 * The answer is a String.indexOf() position: UTF-16 units,
		 * so a code point above U+FFFF before the match counts 2.
		 */
		for (i = start; i + b.u.s.len <= a.u.s.len; i++) {
			if (((unsigned char)a.u.s.p[i] & 0xc0) == 0x80)
				continue;
			if (memcmp(a.u.s.p + i, b.u.s.p, b.u.s.len) == 0) {
				for (size_t k = 0; k < i;) {
					u16 += (unsigned char)a.u.s.p[k] >= 0xf0
						   ? 2
						   : 1;
					(void)cp_next(a.u.s.p, a.u.s.len, &k);
				}
				set_long(out, ESQL_T_INTEGER, (int64_t)u16 + 1);
				return 0;
			}
		}
		set_long(out, ESQL_T_INTEGER, 0);
		return 0;
	}
	case F_SUBSTRING: {
		int64_t st, len;

		if ((r = arg1(e, 1, cx, &b, &tc)) <= 0)
			return r;
		st = b.u.l;
		n = cp_count(a.u.s.p, a.u.s.len);
		len = (int64_t)n;
		if (e->nargs == 3) {
			if ((r = arg1(e, 2, cx, &c, NULL)) <= 0)
				return r;
			len = c.u.l;
			if (len <
			    0) { /* "Length parameters cannot be negative" */
				cx->warnings++;
				return 0;
			}
		}
		if (st > 0)
			st--;
		else if (st < 0)
			st = (int64_t)n + st < 0 ? 0 : (int64_t)n + st;
		if (st > (int64_t)n)
			st = (int64_t)n;
		end = len > (int64_t)n - st ? n : (size_t)(st + len);
		start = cp_offset(a.u.s.p, a.u.s.len, (size_t)st);
		i = cp_offset(a.u.s.p, a.u.s.len, end);
		set_str(out, a.u.s.p + start, i - start);
		return 0;
	}
	}
	return 0;
}

static int
eval_call(const struct esql_expr *e, struct esql_ctx *cx, struct esql_val *out)
{
	struct esql_val v;
	struct esql_scalar a, b, r;
	enum esql_type ta;
	const struct esql_scalar *in;
	struct esql_scalar *items;
	size_t len;
	char *p;
	int rc;

	esql_val_null(out, e->type);
	memset(&r, 0, sizeof(r));
	switch (e->code) {
	case F_TO_LOWER:
	case F_TO_UPPER:
		/* value by value: ES 9.1+ accepts multi-values (to_lower.md) */
		if (esql_eval(e->args[0], cx, &v) != 0)
			return -1;
		if (v.n == 0)
			return 0;
		in = esql_val_items(&v);
		items = esql_arena_alloc(cx->arena, v.n * sizeof(*items));
		for (size_t i = 0; i < v.n; i++)
			change_case(&in[i], &items[i], e->code == F_TO_UPPER,
				    cx->arena);
		out->n = v.n;
		out->many = items;
		return 0;
	case F_CASE:
		for (size_t i = 0; i + 1 < e->nargs; i += 2) {
			/* a null or multi-valued condition is false */
			if (esql_eval(e->args[i], cx, &v) != 0)
				return -1;
			if (v.n > 1)
				cx->warnings++;
			if (v.n != 1 || esql_val_items(&v)[0].u.l == 0)
				continue;
			if (esql_eval(e->args[i + 1], cx, out) != 0)
				return -1;
			out->type = e->type;
			return 0;
		}
		if (e->nargs % 2 == 1) {
			if (esql_eval(e->args[e->nargs - 1], cx, out) != 0)
				return -1;
			out->type = e->type;
		}
		return 0;
	case F_COALESCE:
		for (size_t i = 0; i < e->nargs; i++) {
			if (esql_eval(e->args[i], cx, &v) != 0)
				return -1;
			if (v.n > 0) {
				*out = v;
				out->type = e->type;
				return 0;
			}
		}
		return 0;
	case F_CONCAT:
		len = 0;
		items = esql_arena_alloc(cx->arena, e->nargs * sizeof(*items));
		for (size_t i = 0; i < e->nargs; i++) {
			if ((rc = arg1(e, i, cx, &items[i], NULL)) <= 0)
				return rc;
			len += items[i].u.s.len;
		}
		if (len > ESQL_EXPR_MAX_STRING) {
			cx->warnings++;
			return 0;
		}
		p = esql_arena_alloc(cx->arena, len);
		len = 0;
		for (size_t i = 0; i < e->nargs; i++) {
			if (items[i].u.s.len > 0)
				memcpy(p + len, items[i].u.s.p,
				       items[i].u.s.len);
			len += items[i].u.s.len;
		}
		set_str(out, p, len);
		return 0;
	case F_SPACE:
		if ((rc = arg1(e, 0, cx, &a, NULL)) <= 0)
			return rc;
		if (a.u.l < 0 || a.u.l > ESQL_EXPR_MAX_STRING) {
			cx->warnings++;
			return 0;
		}
		p = esql_arena_alloc(cx->arena, (size_t)a.u.l);
		memset(p, ' ', (size_t)a.u.l);
		set_str(out, p, (size_t)a.u.l);
		return 0;
	case F_CIDR_MATCH:
		if ((rc = arg1(e, 0, cx, &a, NULL)) <= 0)
			return rc;
		for (size_t i = 1; i < e->nargs; i++) {
			if ((rc = arg1(e, i, cx, &b, NULL)) < 0)
				return rc;
			if (rc == 0)
				return 0;
			if (!cidr_valid(b.u.s.p, b.u.s.len)) {
				cx->warnings++;
				return 0;
			}
			if (cidr_match(a.u.ip, b.u.s.p, b.u.s.len)) {
				set_long(out, ESQL_T_BOOLEAN, 1);
				return 0;
			}
		}
		set_long(out, ESQL_T_BOOLEAN, 0);
		return 0;
	case F_ABS:
		if ((rc = arg1(e, 0, cx, &a, NULL)) <= 0)
			return rc;
		if (e->type == ESQL_T_DOUBLE)
			r.u.d = esql_fabs(a.u.d);
		else if (e->type == ESQL_T_INTEGER)
			/* Math.abs(int): the minimum stays negative */
			r.u.l = a.u.l == INT32_MIN ? a.u.l : llabs(a.u.l);
		else
			r.u.l = a.u.l == INT64_MIN ? a.u.l : llabs(a.u.l);
		set_scalar(out, e->type, &r);
		return 0;
	case F_ROUND: {
		int64_t dec = 0;

		if ((rc = arg1(e, 0, cx, &a, NULL)) <= 0)
			return rc;
		if (e->nargs == 2) {
			if ((rc = arg1(e, 1, cx, &b, &ta)) <= 0)
				return rc;
			dec = as_long(ta, &b);
		}
		if (e->type == ESQL_T_DOUBLE) {
			/* half away from zero (Maths.round) */
			double scale, m;

			if (dec > 300 || dec < -300) {
				r.u.d = dec > 0 ? a.u.d : 0;
				set_scalar(out, e->type, &r);
				return 0;
			}
			scale = esql_pow10((int)dec);
			m = a.u.d * scale;
			r.u.d = (m < 0 ? -1 : 1) *
				esql_floor(esql_fabs(m) + 0.5) / scale;
			if (!isfinite(r.u.d))
				r.u.d = a.u.d;
			if (r.u.d == 0)
				r.u.d = 0;
		} else if (dec >= 0) {
			r.u.l = a.u.l;
		} else {
			int64_t scale = 1, q, rem;

			for (int64_t i = 0; i < -dec && scale <= INT64_MAX / 10;
			     i++)
				scale *= 10;
			if (-dec > 18) {
				r.u.l = 0;
			} else {
				q = a.u.l / scale;
				rem = a.u.l % scale;
				if (rem >= (scale + 1) / 2)
					q++;
				else if (-rem >= (scale + 1) / 2)
					q--;
				if (__builtin_mul_overflow(q, scale, &r.u.l) ||
				    (e->type == ESQL_T_INTEGER &&
				     (r.u.l > INT32_MAX ||
				      r.u.l < INT32_MIN))) {
					cx->warnings++;
					return 0;
				}
			}
		}
		set_scalar(out, e->type, &r);
		return 0;
	}
	case F_DATE_TRUNC: {
		const struct esql_scalar *iv = esql_val_items(&e->args[0]->lit);
		int64_t month, rest;

		if ((rc = arg1(e, 1, cx, &a, NULL)) <= 0)
			return rc;
		if (e->args[0]->type == ESQL_T_TIME_DURATION) {
			r.u.l = timefmt_floor(a.u.l, iv->u.l);
		} else {
			month_of(a.u.l, &month, &rest);
			r.u.l = month_start(
			    month - (month % iv->u.l + iv->u.l) % iv->u.l);
		}
		set_scalar(out, ESQL_T_DATETIME, &r);
		return 0;
	}
	case F_DATE_DIFF: {
		int64_t m1, m2, r1, r2, d;

		if ((rc = arg1(e, 1, cx, &a, NULL)) <= 0 ||
		    (rc = arg1(e, 2, cx, &b, NULL)) <= 0)
			return rc;
		switch (units[e->aux].kind) {
		case U_MS:
			d = (b.u.l - a.u.l) / units[e->aux].n;
			break;
		case U_MICROS:
		case U_NANOS:
			if (__builtin_mul_overflow(b.u.l - a.u.l,
						   units[e->aux].kind ==
							   U_MICROS
						       ? 1000
						       : 1000000,
						   &d)) {
				cx->warnings++;
				return 0;
			}
			break;
		default:
			/* whole months, as ChronoUnit.MONTHS.between */
			month_of(a.u.l, &m1, &r1);
			month_of(b.u.l, &m2, &r2);
			d = m2 - m1;
			if (d > 0 && r2 < r1)
				d--;
			else if (d < 0 && r2 > r1)
				d++;
			d /= units[e->aux].n;
			break;
		}
		if (d < INT32_MIN || d > INT32_MAX) {
			cx->warnings++;
			return 0;
		}
		set_long(out, ESQL_T_INTEGER, d);
		return 0;
	}
	case F_MV_CONCAT:
		return eval_mv_concat(e, cx, out);
	case F_MV_MIN:
	case F_MV_MAX:
	case F_MV_FIRST:
	case F_MV_LAST:
	case F_MV_COUNT:
	case F_MV_SUM:
	case F_MV_DEDUPE:
		return eval_mv(e, cx, out);
	default:
		return eval_strings(e, cx, out);
	}
}

int
func_eval(const struct esql_expr *e, struct esql_ctx *cx, struct esql_val *out)
{
	return eval_call(e, cx, out);
}
