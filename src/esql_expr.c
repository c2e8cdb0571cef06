/*
 * esql_expr: construction, type checking, folding, printing and
 * evaluation of ES|QL operators and casts.  Functions are in
 * esql_func.c.  See include/esql_expr.h.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "esql_expr_int.h"
#include "kql.h"
#include "like.h"
#include "lregex.h"
#include "timefmt.h"

void
expr_err(char *err, size_t errlen, unsigned line, unsigned col, const char *fmt,
	 ...)
{
	va_list ap;
	int n;

	if (err == NULL || errlen == 0)
		return;
	n = snprintf(err, errlen, "%u:%u: ", line, col);
	if (n < 0 || (size_t)n >= errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
	va_end(ap);
}

void
expr_free_args(struct esql_expr **args, size_t n)
{
	for (size_t i = 0; i < n; i++)
		esql_expr_free(args[i]);
}

static void free_match(struct esql_expr *e);

void
esql_expr_free(struct esql_expr *e)
{
	if (e == NULL)
		return;
	free_match(e);
	expr_free_args(e->args, e->nargs);
	free(e->args);
	free(e->name);
	free(e->litmem);
	free(e);
}

/*
 * A node over args[0..n): takes the args, and frees them if the tree
 * would be too deep or a NULL is among them.
 */
struct esql_expr *
expr_node(enum expr_kind kind, enum esql_type type, struct esql_expr **args,
	  size_t n, unsigned line, unsigned col, char *err, size_t errlen)
{
	struct esql_expr *e;
	unsigned depth = 0;

	for (size_t i = 0; i < n; i++) {
		if (args[i] == NULL) {
			expr_free_args(args, n);
			expr_err(err, errlen, line, col, "missing argument");
			return NULL;
		}
		if (args[i]->depth > depth)
			depth = args[i]->depth;
	}
	if (depth >= ESQL_EXPR_MAX_DEPTH) {
		expr_free_args(args, n);
		expr_err(err, errlen, line, col,
			 "expression nested deeper than %d",
			 ESQL_EXPR_MAX_DEPTH);
		return NULL;
	}
	if (n > ESQL_EXPR_MAX_ARGS) {
		expr_free_args(args, n);
		expr_err(err, errlen, line, col, "more than %d arguments",
			 ESQL_EXPR_MAX_ARGS);
		return NULL;
	}
	e = xcalloc(1, sizeof(*e));
	e->kind = kind;
	e->type = type;
	e->line = line;
	e->col = col;
	e->depth = depth + 1;
	e->column = -1;
	if (n > 0) {
		e->args = xcalloc(n, sizeof(*e->args));
		memcpy(e->args, args, n * sizeof(*args));
	}
	e->nargs = n;
	return e;
}

struct esql_expr *
esql_expr_lit(const struct esql_val *v, unsigned line, unsigned col)
{
	struct esql_expr *e =
	    expr_node(EXPR_LIT, v->type, NULL, 0, line, col, NULL, 0);
	const struct esql_scalar *items = esql_val_items(v);
	size_t bytes = 0;
	struct esql_scalar *copy;
	char *p;

	if (v->type == ESQL_T_KEYWORD)
		for (size_t i = 0; i < v->n; i++)
			bytes += items[i].u.s.len;
	e->litmem = xmalloc(v->n * sizeof(*copy) + bytes + 1);
	copy = e->litmem;
	p = (char *)(copy + v->n);
	for (size_t i = 0; i < v->n; i++) {
		copy[i] = items[i];
		if (v->type == ESQL_T_KEYWORD) {
			if (items[i].u.s.len > 0)
				memcpy(p, items[i].u.s.p, items[i].u.s.len);
			copy[i].u.s.p = p;
			p += items[i].u.s.len;
		}
	}
	e->lit.type = v->type;
	e->lit.n = v->n;
	e->lit.many = v->n > 0 ? copy : NULL;
	return e;
}

struct esql_expr *
esql_expr_col(int column, enum esql_type t, const char *name, unsigned line,
	      unsigned col)
{
	struct esql_expr *e =
	    expr_node(EXPR_COL, t, NULL, 0, line, col, NULL, 0);

	e->column = column;
	e->name = xstrdup(name != NULL ? name : "");
	return e;
}

enum esql_type
esql_expr_type(const struct esql_expr *e)
{
	return e->type;
}

bool
esql_expr_is_const(const struct esql_expr *e)
{
	return e->kind == EXPR_LIT;
}

bool
esql_expr_const_value(const struct esql_expr *e, struct esql_val *v)
{
	if (e->kind != EXPR_LIT)
		return false;
	if (v != NULL)
		*v = e->lit;
	return true;
}

void
expr_set_one(struct esql_val *out, enum esql_type t,
	     const struct esql_scalar *s)
{
	out->type = t;
	out->n = 1;
	out->many = NULL;
	out->one = *s;
}

/*
 * Folds e into a literal when every argument is one.  Warnings raised
 * while folding are dropped with the row they would belong to: ES|QL
 * folds the same way and the result (null) is what counts.
 */
struct esql_expr *
expr_fold(struct esql_expr *e)
{
	struct esql_arena arena = {0};
	struct esql_ctx cx = {NULL, &arena, 0};
	struct esql_val v;
	struct esql_expr *lit;

	if (e == NULL || e->kind == EXPR_LIT || e->kind == EXPR_COL)
		return e;
	for (size_t i = 0; i < e->nargs; i++)
		if (e->args[i]->kind != EXPR_LIT)
			return e;
	if (esql_eval(e, &cx, &v) != 0) {
		esql_arena_free(&arena);
		return e;
	}
	v.type = e->type;
	lit = esql_expr_lit(&v, e->line, e->col);
	esql_arena_free(&arena);
	esql_expr_free(e);
	return lit;
}

bool
expr_is_numeric(enum esql_type t)
{
	return t == ESQL_T_INTEGER || t == ESQL_T_LONG || t == ESQL_T_DOUBLE;
}

/*
 * The one value of v in *s: false for null and, with a warning, for a
 * multi-value (ES|QL: "single-value function encountered multi-value").
 */
bool
expr_single(struct esql_ctx *cx, const struct esql_val *v,
	    struct esql_scalar *s)
{
	if (v->n == 0)
		return false;
	if (v->n > 1) {
		cx->warnings++;
		return false;
	}
	*s = esql_val_items(v)[0];
	return true;
}

/* Conversions, as the TO_* functions do them. */

static bool
copy_text(const struct esql_scalar *in, char *tmp, size_t cap)
{
	if (in->u.s.len >= cap || memchr(in->u.s.p, '\0', in->u.s.len))
		return false;
	memcpy(tmp, in->u.s.p, in->u.s.len);
	tmp[in->u.s.len] = '\0';
	return true;
}

/*
 * A keyword as Java's Long.parseLong() reads it, or failing that as a
 * double truncated toward zero (TO_LONG("2147483648.2") is 2147483648,
 * docs: esql-functions-operators, TO_LONG).
 */
static bool
keyword_to_long(const struct esql_scalar *in, int64_t *out)
{
	char tmp[400], *end;
	long long l;
	double d;

	if (!copy_text(in, tmp, sizeof(tmp)) || tmp[0] == '\0')
		return false;
	if (!isspace((unsigned char)tmp[0])) {
		errno = 0;
		l = strtoll(tmp, &end, 10);
		if (*end == '\0' && errno == 0 &&
		    isdigit((unsigned char)tmp[strlen(tmp) - 1])) {
			*out = l;
			return true;
		}
	}
	d = strtod(tmp, &end);
	while (isspace((unsigned char)*end))
		end++;
	if (end == tmp || *end != '\0' || !isfinite(d))
		return false;
	if (d >= 9223372036854775808.0 || d < -9223372036854775808.0)
		return false;
	*out = (int64_t)d;
	return true;
}

static bool
keyword_to_double(const struct esql_scalar *in, double *out)
{
	char tmp[400], *end;

	if (!copy_text(in, tmp, sizeof(tmp)) || tmp[0] == '\0')
		return false;
	*out = strtod(tmp, &end);
	while (isspace((unsigned char)*end))
		end++;
	return end != tmp && *end == '\0' && isfinite(*out);
}

/*
 * A keyword as a date: ES|QL's TO_DATETIME reads strict_date_optional_time
 * only, so a bare number of other than four digits (a year) is refused
 * rather than read as epoch milliseconds.
 */
static bool
keyword_to_date(const struct esql_scalar *in, int64_t *out)
{
	const char *p = in->u.s.p;
	size_t len = in->u.s.len, digits = 0;

	for (size_t i = 0; i < len; i++)
		digits += isdigit((unsigned char)p[i]) != 0;
	if (digits == len && len != 4)
		return false;
	return timefmt_parse(p, len, out) == 0;
}

static bool
to_keyword(enum esql_type from, const struct esql_scalar *in,
	   struct esql_scalar *out, struct esql_arena *arena)
{
	char tmp[64];
	size_t n;
	char *p;

	switch (from) {
	case ESQL_T_KEYWORD:
		*out = *in;
		return true;
	case ESQL_T_INTEGER:
	case ESQL_T_LONG:
		n = (size_t)snprintf(tmp, sizeof(tmp), "%lld",
				     (long long)in->u.l);
		break;
	case ESQL_T_DOUBLE:
		n = esql_double_format(in->u.d, tmp);
		break;
	case ESQL_T_BOOLEAN:
		n = (size_t)snprintf(tmp, sizeof(tmp), "%s",
				     in->u.l ? "true" : "false");
		break;
	case ESQL_T_DATETIME:
		n = timefmt_iso(in->u.l, tmp);
		break;
	case ESQL_T_IP:
		n = esql_ip_format(in->u.ip, tmp);
		break;
	default:
		return false;
	}
	p = esql_arena_alloc(arena, n);
	memcpy(p, tmp, n);
	out->u.s.p = p;
	out->u.s.len = n;
	return true;
}

bool
expr_convert(enum esql_type from, enum esql_type to,
	     const struct esql_scalar *in, struct esql_scalar *out,
	     struct esql_arena *arena)
{
	int64_t l;
	double d;

	memset(out, 0, sizeof(*out));
	if (from == to) {
		*out = *in;
		return true;
	}
	switch (to) {
	case ESQL_T_KEYWORD:
		return to_keyword(from, in, out, arena);
	case ESQL_T_INTEGER:
	case ESQL_T_LONG:
	case ESQL_T_DATETIME:
		switch (from) {
		case ESQL_T_INTEGER:
		case ESQL_T_LONG:
		case ESQL_T_DATETIME:
		case ESQL_T_BOOLEAN:
			if (to == ESQL_T_DATETIME && from == ESQL_T_BOOLEAN)
				return false;
			l = in->u.l;
			break;
		case ESQL_T_DOUBLE:
			/* safeDoubleToLong: out of range is an error */
			d = esql_trunc(in->u.d);
			if (d >= 9223372036854775808.0 ||
			    d < -9223372036854775808.0)
				return false;
			l = (int64_t)d;
			break;
		case ESQL_T_KEYWORD:
			if (to == ESQL_T_DATETIME) {
				if (!keyword_to_date(in, &l))
					return false;
			} else if (!keyword_to_long(in, &l))
				return false;
			break;
		default:
			return false;
		}
		if (to == ESQL_T_INTEGER && (l < INT32_MIN || l > INT32_MAX))
			return false;
		out->u.l = l;
		return true;
	case ESQL_T_DOUBLE:
		switch (from) {
		case ESQL_T_INTEGER:
		case ESQL_T_LONG:
		case ESQL_T_DATETIME:
		case ESQL_T_BOOLEAN:
			out->u.d = (double)in->u.l;
			return true;
		case ESQL_T_KEYWORD:
			return keyword_to_double(in, &out->u.d);
		default:
			return false;
		}
	case ESQL_T_BOOLEAN:
		switch (from) {
		case ESQL_T_INTEGER:
		case ESQL_T_LONG:
			out->u.l = in->u.l != 0;
			return true;
		case ESQL_T_DOUBLE:
			out->u.l = in->u.d != 0;
			return true;
		case ESQL_T_KEYWORD:
			/* Boolean.parseBoolean: "true" in any case */
			out->u.l = in->u.s.len == 4 &&
				   strncasecmp(in->u.s.p, "true", 4) == 0;
			return true;
		default:
			return false;
		}
	case ESQL_T_IP:
		if (from != ESQL_T_KEYWORD)
			return false;
		return esql_ip_parse(in->u.s.p, in->u.s.len, out->u.ip) == 0;
	default:
		return false;
	}
}

static bool
castable(enum esql_type from, enum esql_type to)
{
	if (from == to || from == ESQL_T_NULL)
		return true;
	switch (to) {
	case ESQL_T_KEYWORD:
		return from != ESQL_T_TIME_DURATION &&
		       from != ESQL_T_DATE_PERIOD;
	case ESQL_T_INTEGER:
	case ESQL_T_LONG:
	case ESQL_T_DOUBLE:
		return expr_is_numeric(from) || from == ESQL_T_KEYWORD ||
		       from == ESQL_T_BOOLEAN || from == ESQL_T_DATETIME;
	case ESQL_T_DATETIME:
		return expr_is_numeric(from) || from == ESQL_T_KEYWORD;
	case ESQL_T_BOOLEAN:
		return expr_is_numeric(from) || from == ESQL_T_KEYWORD;
	case ESQL_T_IP:
		return from == ESQL_T_KEYWORD;
	default:
		return false;
	}
}

struct esql_expr *
esql_expr_cast(struct esql_expr *arg, enum esql_type to, unsigned line,
	       unsigned col, char *err, size_t errlen)
{
	struct esql_expr *e;

	if (arg == NULL) {
		expr_err(err, errlen, line, col, "missing argument");
		return NULL;
	}
	if (!castable(arg->type, to)) {
		expr_err(err, errlen, line, col, "cannot convert %s to %s",
			 esql_type_name(arg->type), esql_type_name(to));
		esql_expr_free(arg);
		return NULL;
	}
	e = expr_node(EXPR_CAST, to, &arg, 1, line, col, err, errlen);
	if (e == NULL)
		return NULL;
	return expr_fold(e);
}

/*
 * A keyword literal compared with a datetime, ip or boolean is read as
 * one (ES|QL implicit casting, docs: esql-implicit-casting); an
 * unreadable literal is an error, as in ES ("Cannot convert string").
 */
struct esql_expr *
expr_coerce_literal(struct esql_expr *e, enum esql_type to, char *err,
		    size_t errlen)
{
	struct esql_arena arena = {0};
	struct esql_scalar *items, s;
	struct esql_val v;
	struct esql_expr *lit;
	const struct esql_scalar *in = esql_val_items(&e->lit);

	if (e->kind != EXPR_LIT || e->type != ESQL_T_KEYWORD)
		return e;
	items = esql_arena_alloc(&arena, (e->lit.n + 1) * sizeof(*items));
	for (size_t i = 0; i < e->lit.n; i++) {
		if (!expr_convert(ESQL_T_KEYWORD, to, &in[i], &s, &arena)) {
			expr_err(err, errlen, e->line, e->col,
				 "cannot convert string [%.*s] to [%s]",
				 (int)(in[i].u.s.len > 200 ? 200
							   : in[i].u.s.len),
				 in[i].u.s.p, esql_type_name(to));
			esql_arena_free(&arena);
			esql_expr_free(e);
			return NULL;
		}
		items[i] = s;
	}
	v.type = to;
	v.n = e->lit.n;
	v.many = items;
	lit = esql_expr_lit(&v, e->line, e->col);
	esql_arena_free(&arena);
	esql_expr_free(e);
	return lit;
}

/* Operators. */

static const char *const op_names[] = {
    [ESQL_OP_AND] = "AND",
    [ESQL_OP_OR] = "OR",
    [ESQL_OP_NOT] = "NOT",
    [ESQL_OP_EQ] = "==",
    [ESQL_OP_NE] = "!=",
    [ESQL_OP_LT] = "<",
    [ESQL_OP_LE] = "<=",
    [ESQL_OP_GT] = ">",
    [ESQL_OP_GE] = ">=",
    [ESQL_OP_ADD] = "+",
    [ESQL_OP_SUB] = "-",
    [ESQL_OP_MUL] = "*",
    [ESQL_OP_DIV] = "/",
    [ESQL_OP_MOD] = "%",
    [ESQL_OP_NEG] = "-",
    [ESQL_OP_IS_NULL] = "IS NULL",
    [ESQL_OP_IS_NOT_NULL] = "IS NOT NULL",
    [ESQL_OP_IN] = "IN",
    [ESQL_OP_NOT_IN] = "NOT IN",
};

static bool
is_cmp(enum esql_op op)
{
	return op >= ESQL_OP_EQ && op <= ESQL_OP_GE;
}

static bool
is_arith(enum esql_op op)
{
	return op >= ESQL_OP_ADD && op <= ESQL_OP_MOD;
}

static enum esql_type
wider(enum esql_type a, enum esql_type b)
{
	if (a == ESQL_T_DOUBLE || b == ESQL_T_DOUBLE)
		return ESQL_T_DOUBLE;
	if (a == ESQL_T_LONG || b == ESQL_T_LONG)
		return ESQL_T_LONG;
	return ESQL_T_INTEGER;
}

/*
 * The type two operands of a comparison (or IN) meet in, after a keyword
 * literal met a datetime, ip or boolean; ESQL_T_NULL if they cannot.
 */
static enum esql_type
compare_type(struct esql_expr **a, struct esql_expr **b, char *err,
	     size_t errlen, bool *failed)
{
	enum esql_type ta = (*a)->type, tb = (*b)->type;

	*failed = false;
	if (ta == ESQL_T_NULL)
		return tb == ESQL_T_NULL ? ESQL_T_BOOLEAN : tb;
	if (tb == ESQL_T_NULL)
		return ta;
	if (expr_is_numeric(ta) && expr_is_numeric(tb))
		return wider(ta, tb);
	if (ta == tb)
		return ta;
	if (tb == ESQL_T_KEYWORD && (*b)->kind == EXPR_LIT &&
	    (ta == ESQL_T_DATETIME || ta == ESQL_T_IP ||
	     ta == ESQL_T_BOOLEAN)) {
		*b = expr_coerce_literal(*b, ta, err, errlen);
		*failed = *b == NULL;
		return ta;
	}
	if (ta == ESQL_T_KEYWORD && (*a)->kind == EXPR_LIT &&
	    (tb == ESQL_T_DATETIME || tb == ESQL_T_IP ||
	     tb == ESQL_T_BOOLEAN)) {
		*a = expr_coerce_literal(*a, tb, err, errlen);
		*failed = *a == NULL;
		return tb;
	}
	return ESQL_T_NULL;
}

static struct esql_expr *
op_fail(struct esql_expr **args, size_t n, unsigned line, unsigned col,
	char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));

static struct esql_expr *
op_fail(struct esql_expr **args, size_t n, unsigned line, unsigned col,
	char *err, size_t errlen, const char *fmt, ...)
{
	char msg[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	expr_err(err, errlen, line, col, "%s", msg);
	expr_free_args(args, n);
	return NULL;
}

static enum esql_type
arith_type(enum esql_op op, enum esql_type a, enum esql_type b)
{
	if (a == ESQL_T_NULL && b == ESQL_T_NULL)
		return ESQL_T_INTEGER;
	if (a == ESQL_T_NULL)
		a = b;
	if (b == ESQL_T_NULL)
		b = a;
	if (expr_is_numeric(a) && expr_is_numeric(b))
		return wider(a, b);
	if (op == ESQL_OP_ADD || op == ESQL_OP_SUB) {
		if (a == ESQL_T_DATETIME &&
		    (b == ESQL_T_TIME_DURATION || b == ESQL_T_DATE_PERIOD))
			return ESQL_T_DATETIME;
		if (op == ESQL_OP_ADD && b == ESQL_T_DATETIME &&
		    (a == ESQL_T_TIME_DURATION || a == ESQL_T_DATE_PERIOD))
			return ESQL_T_DATETIME;
		if (a == b &&
		    (a == ESQL_T_TIME_DURATION || a == ESQL_T_DATE_PERIOD))
			return a;
	}
	return ESQL_T_NULL;
}

struct esql_expr *
esql_expr_op(enum esql_op op, struct esql_expr **args, size_t n, unsigned line,
	     unsigned col, char *err, size_t errlen)
{
	struct esql_expr *e;
	enum esql_type t = ESQL_T_BOOLEAN, at = ESQL_T_NULL;
	size_t want = 2;
	bool failed;

	if ((unsigned)op > ESQL_OP_NOT_IN) {
		expr_free_args(args, n);
		expr_err(err, errlen, line, col, "unknown operator");
		return NULL;
	}
	if (op == ESQL_OP_NOT || op == ESQL_OP_NEG || op == ESQL_OP_IS_NULL ||
	    op == ESQL_OP_IS_NOT_NULL)
		want = 1;
	if (op == ESQL_OP_IN || op == ESQL_OP_NOT_IN ? n < 2 : n != want) {
		expr_free_args(args, n);
		expr_err(err, errlen, line, col,
			 "operator %s takes %zu operand(s), got %zu",
			 op_names[op], want, n);
		return NULL;
	}
	for (size_t i = 0; i < n; i++)
		if (args[i] == NULL) {
			expr_free_args(args, n);
			expr_err(err, errlen, line, col, "missing operand");
			return NULL;
		}
	switch (op) {
	case ESQL_OP_AND:
	case ESQL_OP_OR:
	case ESQL_OP_NOT:
		for (size_t i = 0; i < n; i++)
			if (args[i]->type != ESQL_T_BOOLEAN &&
			    args[i]->type != ESQL_T_NULL)
				return op_fail(
				    args, n, line, col, err, errlen,
				    "operand of %s must be boolean, found %s",
				    op_names[op],
				    esql_type_name(args[i]->type));
		break;
	case ESQL_OP_IS_NULL:
	case ESQL_OP_IS_NOT_NULL:
		break;
	case ESQL_OP_NEG:
		t = args[0]->type;
		if (t == ESQL_T_NULL)
			t = ESQL_T_INTEGER;
		if (!expr_is_numeric(t) && t != ESQL_T_TIME_DURATION &&
		    t != ESQL_T_DATE_PERIOD)
			return op_fail(args, n, line, col, err, errlen,
				       "%s%s cannot be negated", "",
				       esql_type_name(t));
		at = t;
		break;
	case ESQL_OP_IN:
	case ESQL_OP_NOT_IN:
		at = args[0]->type;
		for (size_t i = 1; i < n; i++) {
			struct esql_expr *lhs = args[0];
			enum esql_type ct;

			ct = compare_type(&lhs, &args[i], err, errlen, &failed);
			args[0] = lhs;
			if (failed) {
				args[i] = NULL;
				for (size_t k = 0; k < n; k++)
					esql_expr_free(args[k]);
				return NULL;
			}
			if (ct == ESQL_T_NULL)
				return op_fail(
				    args, n, line, col, err, errlen,
				    "IN list value of type %s cannot be "
				    "compared with %s",
				    esql_type_name(args[i]->type),
				    esql_type_name(args[0]->type));
			if (at == ESQL_T_NULL)
				at = ct;
			else if (expr_is_numeric(at) && expr_is_numeric(ct))
				at = wider(at, ct);
		}
		if (at == ESQL_T_NULL)
			at = ESQL_T_BOOLEAN;
		break;
	default:
		if (is_cmp(op)) {
			at = compare_type(&args[0], &args[1], err, errlen,
					  &failed);
			if (failed) {
				esql_expr_free(args[0]);
				esql_expr_free(args[1]);
				return NULL;
			}
			if (at == ESQL_T_NULL)
				return op_fail(args, n, line, col, err, errlen,
					       "cannot compare %s with %s",
					       esql_type_name(args[0]->type),
					       esql_type_name(args[1]->type));
			if ((at == ESQL_T_BOOLEAN || at == ESQL_T_DATE_PERIOD ||
			     at == ESQL_T_TIME_DURATION) &&
			    op != ESQL_OP_EQ && op != ESQL_OP_NE &&
			    args[0]->type != ESQL_T_NULL &&
			    args[1]->type != ESQL_T_NULL)
				return op_fail(args, n, line, col, err, errlen,
					       "%s%s values cannot be ordered",
					       "", esql_type_name(at));
		} else if (is_arith(op)) {
			t = arith_type(op, args[0]->type, args[1]->type);
			if (t == ESQL_T_NULL ||
			    ((t == ESQL_T_DATETIME ||
			      t == ESQL_T_TIME_DURATION ||
			      t == ESQL_T_DATE_PERIOD) &&
			     op != ESQL_OP_ADD && op != ESQL_OP_SUB))
				return op_fail(
				    args, n, line, col, err, errlen,
				    "arithmetic on %s and %s is not supported",
				    esql_type_name(args[0]->type),
				    esql_type_name(args[1]->type));
			at = t;
			if (t == ESQL_T_DATETIME &&
			    (args[0]->type == ESQL_T_DATE_PERIOD ||
			     args[1]->type == ESQL_T_DATE_PERIOD))
				return op_fail(
				    args, n, line, col, err, errlen,
				    "%s%s arithmetic with a calendar period "
				    "is not supported",
				    "", "datetime");
		}
		break;
	}
	e = expr_node(EXPR_OP, t, args, n, line, col, err, errlen);
	if (e == NULL)
		return NULL;
	e->code = op;
	e->argtype = at;
	return expr_fold(e);
}

/* Evaluation. */

/* Three-valued boolean of v: -1 null (a multi-value warns), 0, 1. */
static int
tri(struct esql_ctx *cx, const struct esql_val *v)
{
	struct esql_scalar s;

	if (!expr_single(cx, v, &s))
		return -1;
	return s.u.l != 0;
}

static void
set_bool(struct esql_val *out, int b)
{
	if (b < 0) {
		esql_val_null(out, ESQL_T_BOOLEAN);
		return;
	}
	out->type = ESQL_T_BOOLEAN;
	out->n = 1;
	out->many = NULL;
	memset(&out->one, 0, sizeof(out->one));
	out->one.u.l = b;
}

/* A numeric scalar of type from, widened to `to`. */
static struct esql_scalar
widen(enum esql_type from, enum esql_type to, struct esql_scalar s)
{
	if (to == ESQL_T_DOUBLE && from != ESQL_T_DOUBLE)
		s.u.d = (double)s.u.l;
	return s;
}

static int
compare(enum esql_op op, int c)
{
	switch (op) {
	case ESQL_OP_EQ:
		return c == 0;
	case ESQL_OP_NE:
		return c != 0;
	case ESQL_OP_LT:
		return c < 0;
	case ESQL_OP_LE:
		return c <= 0;
	case ESQL_OP_GT:
		return c > 0;
	default:
		return c >= 0;
	}
}

static int
eval_arith(const struct esql_expr *e, struct esql_ctx *cx,
	   const struct esql_val *a, const struct esql_val *b,
	   struct esql_val *out)
{
	struct esql_scalar x, y, r;
	enum esql_type t = e->type;
	int64_t l = 0;
	bool ov = false;

	esql_val_null(out, t);
	if (!expr_single(cx, a, &x) | !expr_single(cx, b, &y))
		return 0;
	memset(&r, 0, sizeof(r));
	if (t == ESQL_T_DOUBLE) {
		double p = widen(a->type, t, x).u.d,
		       q = widen(b->type, t, y).u.d;

		switch (e->code) {
		case ESQL_OP_ADD:
			r.u.d = p + q;
			break;
		case ESQL_OP_SUB:
			r.u.d = p - q;
			break;
		case ESQL_OP_MUL:
			r.u.d = p * q;
			break;
		case ESQL_OP_DIV:
			if (q == 0) {
				cx->warnings++;
				return 0;
			}
			r.u.d = p / q;
			break;
		default:
			if (q == 0) {
				cx->warnings++;
				return 0;
			}
			r.u.d = esql_fmod(p, q);
			break;
		}
		if (!isfinite(r.u.d)) {
			cx->warnings++;
			return 0;
		}
		expr_set_one(out, t, &r);
		return 0;
	}
	switch (e->code) {
	case ESQL_OP_ADD:
		ov = __builtin_add_overflow(x.u.l, y.u.l, &l);
		break;
	case ESQL_OP_SUB:
		ov = __builtin_sub_overflow(x.u.l, y.u.l, &l);
		break;
	case ESQL_OP_MUL:
		ov = __builtin_mul_overflow(x.u.l, y.u.l, &l);
		break;
	case ESQL_OP_DIV:
	case ESQL_OP_MOD:
		if (y.u.l == 0) {
			cx->warnings++;
			return 0;
		}
		if (y.u.l == -1) /* MIN / -1 overflows; x % -1 is 0 */
			ov = __builtin_mul_overflow(x.u.l, -1, &l);
		else
			l = x.u.l / y.u.l;
		if (e->code == ESQL_OP_MOD) {
			ov = false;
			l = y.u.l == -1 ? 0 : x.u.l % y.u.l;
		}
		break;
	}
	if (!ov && t == ESQL_T_INTEGER && (l < INT32_MIN || l > INT32_MAX))
		ov = true;
	if (!ov && t == ESQL_T_DATETIME &&
	    (l < TIMEFMT_MIN_MS || l > TIMEFMT_MAX_MS))
		ov = true;
	if (ov) {
		cx->warnings++;
		return 0;
	}
	r.u.l = l;
	expr_set_one(out, t, &r);
	return 0;
}

static int
eval_op(const struct esql_expr *e, struct esql_ctx *cx, struct esql_val *out)
{
	struct esql_val a, b;
	struct esql_scalar x, y, r;
	int ta, tb, c;
	bool sawnull = false;

	if (esql_eval(e->args[0], cx, &a) != 0)
		return -1;
	switch (e->code) {
	case ESQL_OP_AND:
	case ESQL_OP_OR:
		if (esql_eval(e->args[1], cx, &b) != 0)
			return -1;
		ta = tri(cx, &a);
		tb = tri(cx, &b);
		if (e->code == ESQL_OP_AND)
			set_bool(out, ta == 0 || tb == 0 ? 0
				      : ta < 0 || tb < 0 ? -1
							 : 1);
		else
			set_bool(out, ta == 1 || tb == 1 ? 1
				      : ta < 0 || tb < 0 ? -1
							 : 0);
		return 0;
	case ESQL_OP_NOT:
		ta = tri(cx, &a);
		set_bool(out, ta < 0 ? -1 : !ta);
		return 0;
	case ESQL_OP_IS_NULL:
		set_bool(out, a.n == 0);
		return 0;
	case ESQL_OP_IS_NOT_NULL:
		set_bool(out, a.n != 0);
		return 0;
	case ESQL_OP_NEG:
		esql_val_null(out, e->type);
		if (!expr_single(cx, &a, &x))
			return 0;
		memset(&r, 0, sizeof(r));
		if (e->type == ESQL_T_DOUBLE)
			r.u.d = -x.u.d;
		else if (x.u.l ==
			 (e->type == ESQL_T_INTEGER ? INT32_MIN : INT64_MIN)) {
			cx->warnings++;
			return 0;
		} else
			r.u.l = -x.u.l;
		expr_set_one(out, e->type, &r);
		return 0;
	case ESQL_OP_IN:
	case ESQL_OP_NOT_IN:
		set_bool(out, -1);
		if (!expr_single(cx, &a, &x))
			return 0;
		x = widen(a.type, e->argtype, x);
		for (size_t i = 1; i < e->nargs; i++) {
			if (esql_eval(e->args[i], cx, &b) != 0)
				return -1;
			if (!expr_single(cx, &b, &y)) {
				sawnull = true;
				continue;
			}
			y = widen(b.type, e->argtype, y);
			if (esql_scalar_cmp(e->argtype, &x, &y) == 0) {
				set_bool(out, e->code == ESQL_OP_IN);
				return 0;
			}
		}
		set_bool(out, sawnull ? -1 : e->code == ESQL_OP_NOT_IN);
		return 0;
	default:
		break;
	}
	if (esql_eval(e->args[1], cx, &b) != 0)
		return -1;
	if (is_arith(e->code))
		return eval_arith(e, cx, &a, &b, out);
	set_bool(out, -1);
	if (!expr_single(cx, &a, &x) | !expr_single(cx, &b, &y))
		return 0;
	x = widen(a.type, e->argtype, x);
	y = widen(b.type, e->argtype, y);
	c = esql_scalar_cmp(e->argtype, &x, &y);
	set_bool(out, compare(e->code, c));
	return 0;
}

static int
eval_like(const struct esql_expr *e, struct esql_ctx *cx, struct esql_val *out);

static int
eval_cast(const struct esql_expr *e, struct esql_ctx *cx, struct esql_val *out)
{
	struct esql_val a;
	const struct esql_scalar *in;
	struct esql_scalar *items;
	size_t k = 0;

	if (esql_eval(e->args[0], cx, &a) != 0)
		return -1;
	esql_val_null(out, e->type);
	if (a.n == 0)
		return 0;
	in = esql_val_items(&a);
	if (a.n == 1) {
		if (!expr_convert(a.type, e->type, in, &out->one, cx->arena))
			cx->warnings++;
		else
			out->n = 1;
		return 0;
	}
	/* a multi-value converts value by value; failures are dropped */
	items = esql_arena_alloc(cx->arena, a.n * sizeof(*items));
	for (size_t i = 0; i < a.n; i++) {
		if (expr_convert(a.type, e->type, &in[i], &items[k], cx->arena))
			k++;
		else
			cx->warnings++;
	}
	out->n = k;
	out->many = k > 0 ? items : NULL;
	if (k == 1) {
		out->one = items[0];
		out->many = NULL;
	}
	return 0;
}

int
esql_eval(const struct esql_expr *e, struct esql_ctx *cx, struct esql_val *out)
{
	switch (e->kind) {
	case EXPR_LIT:
		*out = e->lit;
		return 0;
	case EXPR_COL:
		if (cx->cols == NULL)
			return -1;
		*out = cx->cols[e->column];
		out->type = e->type;
		return 0;
	case EXPR_OP:
		return eval_op(e, cx, out);
	case EXPR_CAST:
		return eval_cast(e, cx, out);
	case EXPR_CALL:
		return func_eval(e, cx, out);
	case EXPR_LIKE:
		return eval_like(e, cx, out);
	case EXPR_KQL:
		if (cx->cols == NULL)
			return -1;
		set_bool(out, kql_match(e->match, cx->cols));
		return 0;
	}
	return -1;
}

/* Printing. */

static void
print_str(const char *p, size_t len, struct buf *out)
{
	buf_append(out, "\"", 1);
	for (size_t i = 0; i < len; i++) {
		if (p[i] == '"' || p[i] == '\\')
			buf_append(out, "\\", 1);
		if (p[i] == '\n')
			buf_append(out, "\\n", 2);
		else if (p[i] == '\r')
			buf_append(out, "\\r", 2);
		else if (p[i] == '\t')
			buf_append(out, "\\t", 2);
		else
			buf_append(out, &p[i], 1);
	}
	buf_append(out, "\"", 1);
}

static void
print_scalar(enum esql_type t, const struct esql_scalar *s, struct buf *out)
{
	char tmp[64];
	int n;

	switch (t) {
	case ESQL_T_KEYWORD:
		print_str(s->u.s.p, s->u.s.len, out);
		return;
	case ESQL_T_DATETIME:
		print_str(tmp, timefmt_iso(s->u.l, tmp), out);
		buf_append(out, "::datetime", 10);
		return;
	case ESQL_T_IP:
		print_str(tmp, esql_ip_format(s->u.ip, tmp), out);
		buf_append(out, "::ip", 4);
		return;
	case ESQL_T_TIME_DURATION:
		n = snprintf(tmp, sizeof(tmp), "%lld milliseconds",
			     (long long)s->u.l);
		buf_append(out, tmp, (size_t)n);
		return;
	case ESQL_T_DATE_PERIOD:
		n = snprintf(tmp, sizeof(tmp), "%lld months",
			     (long long)s->u.l);
		buf_append(out, tmp, (size_t)n);
		return;
	case ESQL_T_LONG:
		n = snprintf(tmp, sizeof(tmp), "%lld::long", (long long)s->u.l);
		buf_append(out, tmp, (size_t)n);
		return;
	default:
		esql_scalar_json(t, s, out);
		return;
	}
}

static void print_like(const struct esql_expr *e, struct buf *out);

static bool
plain_name(const char *s)
{
	if (*s == '\0' || isdigit((unsigned char)*s))
		return false;
	for (; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) && *s != '_' && *s != '.' &&
		    *s != '@')
			return false;
	return true;
}

void
esql_expr_print(const struct esql_expr *e, struct buf *out)
{
	const struct esql_scalar *items;
	const char *name;

	switch (e->kind) {
	case EXPR_LIT:
		items = esql_val_items(&e->lit);
		if (e->lit.n == 0) {
			buf_append(out, "null", 4);
			return;
		}
		if (e->lit.n > 1)
			buf_append(out, "[", 1);
		for (size_t i = 0; i < e->lit.n; i++) {
			if (i > 0)
				buf_append(out, ", ", 2);
			print_scalar(e->lit.type, &items[i], out);
		}
		if (e->lit.n > 1)
			buf_append(out, "]", 1);
		return;
	case EXPR_COL:
		if (plain_name(e->name)) {
			buf_append(out, e->name, strlen(e->name));
			return;
		}
		buf_append(out, "`", 1);
		for (const char *p = e->name; *p != '\0'; p++) {
			if (*p == '`')
				buf_append(out, "`", 1);
			buf_append(out, p, 1);
		}
		buf_append(out, "`", 1);
		return;
	case EXPR_CAST:
		buf_append(out, "(", 1);
		esql_expr_print(e->args[0], out);
		buf_append(out, ")::", 3);
		name = esql_type_name(e->type);
		buf_append(out, name, strlen(name));
		return;
	case EXPR_CALL:
		name = func_name(e->code);
		buf_append(out, name, strlen(name));
		buf_append(out, "(", 1);
		for (size_t i = 0; i < e->nargs; i++) {
			if (i > 0)
				buf_append(out, ", ", 2);
			esql_expr_print(e->args[i], out);
		}
		buf_append(out, ")", 1);
		return;
	case EXPR_LIKE:
		print_like(e, out);
		return;
	case EXPR_KQL:
		buf_append(out, "KQL(", 4);
		{
			size_t len;
			const char *q = kql_text(e->match, &len);

			print_str(q, len, out);
		}
		buf_append(out, ")", 1);
		return;
	case EXPR_OP:
		break;
	}
	name = op_names[e->code];
	buf_append(out, "(", 1);
	switch (e->code) {
	case ESQL_OP_NOT:
	case ESQL_OP_NEG:
		buf_append(out, name, strlen(name));
		buf_append(out, e->code == ESQL_OP_NOT ? " " : "",
			   e->code == ESQL_OP_NOT);
		esql_expr_print(e->args[0], out);
		break;
	case ESQL_OP_IS_NULL:
	case ESQL_OP_IS_NOT_NULL:
		esql_expr_print(e->args[0], out);
		buf_append(out, " ", 1);
		buf_append(out, name, strlen(name));
		break;
	case ESQL_OP_IN:
	case ESQL_OP_NOT_IN:
		esql_expr_print(e->args[0], out);
		buf_append(out, " ", 1);
		buf_append(out, name, strlen(name));
		buf_append(out, " (", 2);
		for (size_t i = 1; i < e->nargs; i++) {
			if (i > 1)
				buf_append(out, ", ", 2);
			esql_expr_print(e->args[i], out);
		}
		buf_append(out, ")", 1);
		break;
	default:
		esql_expr_print(e->args[0], out);
		buf_append(out, " ", 1);
		buf_append(out, name, strlen(name));
		buf_append(out, " ", 1);
		esql_expr_print(e->args[1], out);
		break;
	}
	buf_append(out, ")", 1);
}

void
esql_expr_columns(const struct esql_expr *e, void (*cb)(void *arg, int column),
		  void *arg)
{
	if (e->kind == EXPR_COL)
		cb(arg, e->column);
	if (e->kind == EXPR_KQL)
		kql_columns(e->match, cb, arg);
	for (size_t i = 0; i < e->nargs; i++)
		esql_expr_columns(e->args[i], cb, arg);
}

/* Prefilter needles. */

const char *
esql_needle_where_name(enum esql_needle_where w)
{
	switch (w) {
	case ESQL_NEEDLE_WHOLE:
		return "whole";
	case ESQL_NEEDLE_START:
		return "start";
	case ESQL_NEEDLE_END:
		return "end";
	default:
		return "anywhere";
	}
}

static bool
is_ascii(const char *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)p[i] >= 0x80)
			return false;
	return true;
}

/*
 * Adds one needle.  A folded needle must be ASCII: a code point outside
 * ASCII may differ in its bytes from the one it equals once folded.
 */
static bool
needles_add(struct esql_needles *out, int column, const char *p, size_t len,
	    enum esql_needle_where where, bool fold)
{
	if (out->n >= ESQL_NEEDLES_MAX || len == 0 ||
	    (fold && !is_ascii(p, len)))
		return false;
	out->v[out->n].column = column;
	out->v[out->n].p = p;
	out->v[out->n].len = len;
	out->v[out->n].where = where;
	out->v[out->n].fold = fold;
	out->n++;
	return true;
}

static bool like_needles(const struct esql_expr *e, struct esql_needles *out);

/* The length of the shortest needle of a set (0 for an empty set). */
static size_t
needles_shortest(const struct esql_needles *s)
{
	size_t m = s->n > 0 ? SIZE_MAX : 0;

	for (size_t i = 0; i < s->n; i++)
		if (s->v[i].len < m)
			m = s->v[i].len;
	return m;
}

bool
esql_needles_better(const struct esql_needles *a, const struct esql_needles *b)
{
	size_t ma = needles_shortest(a), mb = needles_shortest(b);

	if (a->n == 0 || b->n == 0)
		return b->n == 0 && a->n > 0;
	if (ma != mb)
		return ma > mb;
	return a->n < b->n;
}

size_t
esql_expr_needle_groups(const struct esql_expr *e, struct esql_needles *out,
			size_t max)
{
	size_t n = 0;

	if (max == 0)
		return 0;
	if (e->kind == EXPR_OP && e->code == ESQL_OP_AND) {
		n = esql_expr_needle_groups(e->args[0], out, max);
		return n +
		       esql_expr_needle_groups(e->args[1], out + n, max - n);
	}
	if (e->kind == EXPR_KQL)
		return kql_needle_groups(e->match, out, max);
	return esql_expr_needles(e, out) && out->n > 0 ? 1 : 0;
}

static bool
is_call(const struct esql_expr *e, const char *name, size_t nargs)
{
	return e->kind == EXPR_CALL && e->nargs == nargs &&
	       strcmp(func_name(e->code), name) == 0;
}

/* A keyword literal, single-valued: its bytes. */
static bool
lit_string(const struct esql_expr *e, const char **p, size_t *len)
{
	const struct esql_scalar *s;

	if (e->kind != EXPR_LIT || e->lit.n != 1 ||
	    e->lit.type != ESQL_T_KEYWORD)
		return false;
	s = esql_val_items(&e->lit);
	*p = s->u.s.p;
	*len = s->u.s.len;
	return true;
}

/* A column read as a string, straight from the event. */
static bool
is_string_col(const struct esql_expr *e)
{
	return e->kind == EXPR_COL && e->type == ESQL_T_KEYWORD;
}

/*
 * CONTAINS(col, "x"), STARTS_WITH(col, "x"), ENDS_WITH(col, "x"): true
 * only on a single value that holds x (null on a multi-value).
 */
static bool
func_needles(const struct esql_expr *e, struct esql_needles *out)
{
	enum esql_needle_where where;
	const char *p;
	size_t len;

	if (is_call(e, "CONTAINS", 2))
		where = ESQL_NEEDLE_ANYWHERE;
	else if (is_call(e, "STARTS_WITH", 2))
		where = ESQL_NEEDLE_START;
	else if (is_call(e, "ENDS_WITH", 2))
		where = ESQL_NEEDLE_END;
	else
		return false;
	if (!is_string_col(e->args[0]) || !lit_string(e->args[1], &p, &len))
		return false;
	return needles_add(out, e->args[0]->column, p, len, where, false);
}

/*
 * LOCATE(col, "x"[, start]) > 0 or >= 1: the value holds x (LOCATE
 * gives 0 when it does not, null on a null or multi-value).
 */
static bool
locate_needles(const struct esql_expr *e, struct esql_needles *out)
{
	const struct esql_expr *f = e->args[0], *k = e->args[1];
	const char *p;
	size_t len;
	int64_t bound;

	if (e->code != ESQL_OP_GT && e->code != ESQL_OP_GE)
		return false;
	if (!(f->kind == EXPR_CALL && f->nargs >= 2 &&
	      strcmp(func_name(f->code), "LOCATE") == 0) ||
	    k->kind != EXPR_LIT || k->lit.n != 1 ||
	    (k->lit.type != ESQL_T_INTEGER && k->lit.type != ESQL_T_LONG))
		return false;
	bound = esql_val_items(&k->lit)->u.l;
	if ((e->code == ESQL_OP_GT && bound < 0) ||
	    (e->code == ESQL_OP_GE && bound < 1))
		return false;
	if (!is_string_col(f->args[0]) || !lit_string(f->args[1], &p, &len))
		return false;
	return needles_add(out, f->args[0]->column, p, len,
			   ESQL_NEEDLE_ANYWHERE, false);
}

bool
esql_expr_needles(const struct esql_expr *e, struct esql_needles *out)
{
	struct esql_needles l, r;
	const struct esql_expr *c, *v;
	const struct esql_scalar *items;
	bool fold = false;

	out->n = 0;
	if (e->kind == EXPR_LIKE)
		return like_needles(e, out);
	if (e->kind == EXPR_KQL)
		return kql_needles(e->match, out);
	if (e->kind == EXPR_CALL)
		return func_needles(e, out);
	if (e->kind != EXPR_OP)
		return false;
	switch (e->code) {
	case ESQL_OP_AND:
		if (!esql_expr_needles(e->args[0], &l))
			l.n = 0;
		if (!esql_expr_needles(e->args[1], &r))
			r.n = 0;
		if (l.n == 0 && r.n == 0)
			return false;
		*out = esql_needles_better(&r, &l) ? r : l;
		return true;
	case ESQL_OP_OR:
		if (!esql_expr_needles(e->args[0], &l) ||
		    !esql_expr_needles(e->args[1], &r) ||
		    l.n + r.n > ESQL_NEEDLES_MAX)
			return false;
		*out = l;
		for (size_t i = 0; i < r.n; i++)
			out->v[out->n++] = r.v[i];
		return true;
	case ESQL_OP_GT:
	case ESQL_OP_GE:
		return e->nargs == 2 && locate_needles(e, out);
	case ESQL_OP_EQ:
	case ESQL_OP_IN:
		break;
	default:
		return false;
	}
	if (e->argtype != ESQL_T_KEYWORD)
		return false;
	c = e->args[0];
	if (e->code == ESQL_OP_EQ && c->kind == EXPR_LIT)
		c = e->args[1], v = e->args[0];
	else
		v = e->args[1];
	/*
	 * TO_LOWER(col), TO_UPPER(col): equal to an ASCII literal only if
	 * the value is it up to ASCII case, or holds one of the code points
	 * prefilter.h lists.
	 */
	if (is_call(c, "TO_LOWER", 1) || is_call(c, "TO_UPPER", 1)) {
		c = c->args[0];
		fold = true;
	}
	if (c->kind != EXPR_COL)
		return false;
	for (size_t i = 1; i < e->nargs; i++) {
		if (e->code == ESQL_OP_IN)
			v = e->args[i];
		else if (i > 1)
			break;
		if (v->kind != EXPR_LIT || v->lit.n != 1) {
			if (v->kind == EXPR_LIT && v->lit.n == 0)
				continue; /* null never matches */
			out->n = 0;
			return false;
		}
		items = esql_val_items(&v->lit);
		if (!needles_add(out, c->column, items[0].u.s.p,
				 items[0].u.s.len, ESQL_NEEDLE_WHOLE, fold)) {
			out->n = 0;
			return false;
		}
	}
	return out->n > 0;
}

/*
 * LIKE and RLIKE (x-pack/plugin/esql .../scalar/string/regex/
 * WildcardLike.java, RLike.java, RegexMatch.java): null on a null
 * operand, null with a warning on a multi-valued one (the evaluator is
 * single-valued, and Lucene pushdown is wrapped in SingleValueQuery);
 * NOT LIKE negates the result and keeps null.
 */

static void
free_match(struct esql_expr *e)
{
	if (e->kind == EXPR_LIKE && (e->code & EXPR_LIKE_RLIKE))
		lregex_free(e->match);
	else if (e->kind == EXPR_LIKE)
		like_free(e->match);
	else if (e->kind == EXPR_KQL)
		kql_free(e->match);
	e->match = NULL;
}

static bool
is_to_lower(const struct esql_expr *e)
{
	return e->kind == EXPR_CALL && e->nargs == 1 &&
	       strcmp(func_name(e->code), "TO_LOWER") == 0;
}

static bool
like_matches(const struct esql_expr *e, const struct esql_scalar *s)
{
	if (e->code & EXPR_LIKE_RLIKE)
		return lregex_match(e->match, s->u.s.p, s->u.s.len);
	return like_match(e->match, s->u.s.p, s->u.s.len);
}

static int
eval_like(const struct esql_expr *e, struct esql_ctx *cx, struct esql_val *out)
{
	struct esql_val a;
	struct esql_scalar x;
	bool m;

	if (esql_eval(e->args[0], cx, &a) != 0)
		return -1;
	if (!expr_single(cx, &a, &x)) {
		set_bool(out, -1);
		return 0;
	}
	m = like_matches(e, &x);
	set_bool(out, (e->code & EXPR_LIKE_NEGATED) ? !m : m);
	return 0;
}

static void
print_like(const struct esql_expr *e, struct buf *out)
{
	bool rlike = e->code & EXPR_LIKE_RLIKE;
	size_t n = rlike ? lregex_count(e->match) : like_count(e->match), len;
	const char *p;

	buf_append(out, "(", 1);
	if (e->code & EXPR_LIKE_LOWER)
		buf_append(out, "TO_LOWER(", 9);
	esql_expr_print(e->args[0], out);
	if (e->code & EXPR_LIKE_LOWER)
		buf_append(out, ")", 1);
	if (e->code & EXPR_LIKE_NEGATED)
		buf_append(out, " NOT", 4);
	if (e->code & EXPR_LIKE_RLIKE)
		buf_append(out, " RLIKE ", 7);
	else
		buf_append(out, " LIKE ", 6);
	if (n > 1)
		buf_append(out, "(", 1);
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			buf_append(out, ", ", 2);
		if (rlike)
			lregex_pattern(e->match, i, &p, &len);
		else
			like_pattern(e->match, i, &p, &len);
		print_str(p, len, out);
	}
	if (n > 1)
		buf_append(out, ")", 1);
	buf_append(out, ")", 1);
}

/*
 * x LIKE (p1, p2, ...) is true only on a value that holds a literal run
 * of one of the patterns, where the pattern places it: an OR of needles,
 * one per pattern.  Under the TO_LOWER rewrite (LIKE_FOLD) the run is
 * folded, and must be ASCII.  A pattern without a literal (`*`, `?*`)
 * proves nothing, nor does a negation or RLIKE.
 */
static bool
like_needles(const struct esql_expr *e, struct esql_needles *out)
{
	static const enum esql_needle_where place[] = {ESQL_NEEDLE_ANYWHERE,
						       ESQL_NEEDLE_START,
						       ESQL_NEEDLE_END,
						       ESQL_NEEDLE_WHOLE};
	bool fold = e->code & EXPR_LIKE_LOWER;
	const char *p;
	size_t len;
	int at;

	out->n = 0;
	if ((e->code & (EXPR_LIKE_NEGATED | EXPR_LIKE_RLIKE)) ||
	    e->args[0]->kind != EXPR_COL)
		return false;
	for (size_t i = 0; i < like_count(e->match); i++)
		if (!like_needle(e->match, i, &p, &len, &at) ||
		    !needles_add(out, e->args[0]->column, p, len, place[at],
				 fold)) {
			out->n = 0;
			return false;
		}
	return out->n > 0;
}

bool
esql_expr_value_test(const struct esql_expr *e, struct esql_value_test *t)
{
	const struct esql_expr *c;

	if (e->kind == EXPR_LIKE) {
		if (e->args[0]->kind != EXPR_COL ||
		    e->args[0]->type != ESQL_T_KEYWORD)
			return false;
		t->column = e->args[0]->column;
		t->e = e;
		return true;
	}
	if (e->kind != EXPR_OP ||
	    (e->code != ESQL_OP_EQ && e->code != ESQL_OP_IN) ||
	    e->argtype != ESQL_T_KEYWORD)
		return false;
	c = e->args[0];
	if (e->code == ESQL_OP_EQ && c->kind == EXPR_LIT)
		c = e->args[1];
	if (c->kind != EXPR_COL || c->type != ESQL_T_KEYWORD)
		return false;
	for (size_t i = 0; i < e->nargs; i++)
		if (e->args[i] != c &&
		    (e->args[i]->kind != EXPR_LIT || e->args[i]->lit.n > 1 ||
		     (e->args[i]->lit.n == 1 &&
		      e->args[i]->lit.type != ESQL_T_KEYWORD)))
			return false;
	t->column = c->column;
	t->e = e;
	return true;
}

size_t
esql_expr_value_tests(const struct esql_expr *e, struct esql_value_test *out,
		      size_t max)
{
	size_t n;

	if (max == 0)
		return 0;
	if (e->kind == EXPR_OP && e->code == ESQL_OP_AND) {
		n = esql_expr_value_tests(e->args[0], out, max);
		return n + esql_expr_value_tests(e->args[1], out + n, max - n);
	}
	return esql_expr_value_test(e, out) ? 1 : 0;
}

bool
esql_value_test_ok(const struct esql_value_test *t, const char *p, size_t len)
{
	const struct esql_expr *e = t->e;
	struct esql_scalar x;

	if (e->kind == EXPR_LIKE) {
		x.u.s.p = p;
		x.u.s.len = len;
		return like_matches(e, &x) != !!(e->code & EXPR_LIKE_NEGATED);
	}
	for (size_t i = 0; i < e->nargs; i++) {
		const struct esql_expr *a = e->args[i];
		const struct esql_scalar *s;

		if (a->kind != EXPR_LIT || a->lit.n != 1)
			continue;
		s = esql_val_items(&a->lit);
		if (s->u.s.len == len && memcmp(s->u.s.p, p, len) == 0)
			return true;
	}
	return false;
}

static void *
compile_like(const struct esql_val *patterns, size_t n, int flags,
	     unsigned line, unsigned col, char *err, size_t errlen)
{
	struct like *l = like_new(flags);
	char msg[160];

	for (size_t i = 0; i < n; i++) {
		const struct esql_scalar *s = esql_val_items(&patterns[i]);

		if (like_add(l, s->u.s.p, s->u.s.len, msg, sizeof(msg)) != 0) {
			expr_err(err, errlen, line, col,
				 "invalid LIKE pattern \"%.*s\": %s",
				 (int)(s->u.s.len > 100 ? 100 : s->u.s.len),
				 s->u.s.p, msg);
			like_free(l);
			return NULL;
		}
	}
	return l;
}

/* The list as one automaton, as RLikePatternList makes one union. */
static void *
compile_rlike(const struct esql_val *patterns, size_t n, int flags,
	      unsigned line, unsigned col, char *err, size_t errlen)
{
	const char **pats = xcalloc(n, sizeof(*pats));
	size_t *lens = xcalloc(n, sizeof(*lens)), which;
	const struct esql_scalar *s;
	struct lregex *re;
	char msg[160];

	for (size_t i = 0; i < n; i++) {
		s = esql_val_items(&patterns[i]);
		pats[i] = s->u.s.p;
		lens[i] = s->u.s.len;
	}
	re = lregex_new(pats, lens, n, (flags & LIKE_FOLD) ? LREGEX_FOLD : 0,
			msg, sizeof(msg), &which);
	if (re == NULL) {
		s = esql_val_items(&patterns[which]);
		expr_err(err, errlen, line, col,
			 "invalid RLIKE pattern \"%.*s\": %s",
			 (int)(s->u.s.len > 100 ? 100 : s->u.s.len), s->u.s.p,
			 msg);
	}
	free(pats);
	free(lens);
	return re;
}

struct esql_expr *
esql_expr_like(struct esql_expr *arg, const struct esql_val *patterns, size_t n,
	       bool rlike, bool negated, unsigned line, unsigned col, char *err,
	       size_t errlen)
{
	const char *what = rlike ? "RLIKE" : "LIKE";
	struct esql_expr *e, *x;
	struct esql_val f;
	void *m;
	int flags = 0;

	if (arg == NULL) {
		expr_err(err, errlen, line, col, "missing operand");
		return NULL;
	}
	if (arg->type != ESQL_T_KEYWORD && arg->type != ESQL_T_NULL) {
		expr_err(err, errlen, line, col,
			 "%s needs a keyword operand, found %s", what,
			 esql_type_name(arg->type));
		esql_expr_free(arg);
		return NULL;
	}
	if (n == 0 || n > LIKE_MAX_PATTERNS) {
		expr_err(err, errlen, line, col, "%s needs 1 to %d patterns",
			 what, LIKE_MAX_PATTERNS);
		esql_expr_free(arg);
		return NULL;
	}
	for (size_t i = 0; i < n; i++)
		if (patterns[i].type != ESQL_T_KEYWORD || patterns[i].n != 1) {
			expr_err(err, errlen, line, col,
				 "%s pattern must be a string", what);
			esql_expr_free(arg);
			return NULL;
		}
	/*
	 * TO_LOWER(x) [R]LIKE p: ES's optimizer rule
	 * ReplaceStringCasingWithInsensitiveRegexMatch makes it a
	 * case-insensitive match on x when no pattern changes under
	 * toLowerCase (ChangeCase.Case.LOWER.matchesCase), and the literal
	 * false otherwise, which NOT then turns into true on every row.
	 */
	x = arg;
	while (is_to_lower(x))
		x = x->args[0];
	if (x != arg) {
		for (size_t i = 0; i < n; i++) {
			const struct esql_scalar *s =
			    esql_val_items(&patterns[i]);

			if (like_has_upper(s->u.s.p, s->u.s.len)) {
				esql_expr_free(arg);
				memset(&f, 0, sizeof(f));
				f.type = ESQL_T_BOOLEAN;
				f.n = 1;
				f.one.u.l = negated;
				return esql_expr_lit(&f, line, col);
			}
		}
		/* detach x from the TO_LOWER calls around it */
		for (e = arg; e->args[0] != x; e = e->args[0])
			;
		e->args[0] = NULL;
		e->nargs = 0;
		esql_expr_free(arg);
		arg = x;
		flags |= LIKE_FOLD;
	}
	m = rlike ? compile_rlike(patterns, n, flags, line, col, err, errlen)
		  : compile_like(patterns, n, flags, line, col, err, errlen);
	if (m == NULL) {
		esql_expr_free(arg);
		return NULL;
	}
	e = expr_node(EXPR_LIKE, ESQL_T_BOOLEAN, &arg, 1, line, col, err,
		      errlen);
	if (e == NULL) {
		if (rlike)
			lregex_free(m);
		else
			like_free(m);
		return NULL;
	}
	e->match = m;
	e->code = (negated ? EXPR_LIKE_NEGATED : 0) |
		  (rlike ? EXPR_LIKE_RLIKE : 0) |
		  ((flags & LIKE_FOLD) ? EXPR_LIKE_LOWER : 0);
	return expr_fold(e);
}

/*
 * KQL("...") (x-pack/plugin/esql .../function/fulltext/Kql.java): a
 * Lucene query on the row, true or false, never null; see kql.h.
 */
struct esql_expr *
esql_expr_kql(const char *query, size_t len, esql_resolve_fn *resolve,
	      void *arg, unsigned line, unsigned col, char *err, size_t errlen)
{
	struct esql_expr *e;
	struct kql *k;
	char msg[200];

	k = kql_new(query, len, resolve, arg, msg, sizeof(msg));
	if (k == NULL) {
		expr_err(err, errlen, line, col, "invalid KQL query: %s", msg);
		return NULL;
	}
	e = expr_node(EXPR_KQL, ESQL_T_BOOLEAN, NULL, 0, line, col, err,
		      errlen);
	e->match = k;
	return e;
}
