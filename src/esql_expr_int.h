/*
 * esql_expr_int: the expression node and the helpers esql_expr.c and
 * esql_func.c share.  Not part of the API: see include/esql_expr.h.
 */
#ifndef BURSTD_ESQL_EXPR_INT_H
#define BURSTD_ESQL_EXPR_INT_H

#include <stdarg.h>

#include "esql_expr.h"

enum expr_kind {
	EXPR_LIT,
	EXPR_COL,
	EXPR_OP,
	EXPR_CALL,
	EXPR_CAST,
	EXPR_LIKE, /* args[0] LIKE or RLIKE; code: EXPR_LIKE_* flags */
	EXPR_KQL,  /* KQL("..."): no args, the query in match */
};

#define EXPR_LIKE_RLIKE 0x1   /* match: a struct lregex, else a struct like */
#define EXPR_LIKE_NEGATED 0x2 /* NOT LIKE */
#define EXPR_LIKE_LOWER 0x4   /* TO_LOWER(args[0]) LIKE, matched folding */

/*
 * A node.  It owns its args, its name, its matcher and, for a literal,
 * litmem (which holds lit's items and keyword bytes).
 */
struct esql_expr {
	enum expr_kind kind;
	enum esql_type type; /* the result's type */
	unsigned line, col;
	unsigned depth; /* 1 for a leaf */
	int code;       /* enum esql_op, or the function's index */
	int column;     /* EXPR_COL */
	char *name;     /* EXPR_COL: the column's name */
	struct esql_val lit;
	void *litmem;
	enum esql_type argtype; /* the type arguments are compared in */
	int64_t aux;            /* per function: a unit, a constant */
	void *match;            /* EXPR_LIKE, EXPR_KQL: the matcher (owned) */
	size_t nargs;
	struct esql_expr **args;
};

/*
 * Floating-point helpers without libm (the engine does not link it).
 * d is finite.
 */
static inline double
esql_trunc(double d)
{
	if (d >= 4503599627370496.0 || d <= -4503599627370496.0)
		return d; /* 2^52: already integral */
	return (double)(int64_t)d;
}

static inline double
esql_floor(double d)
{
	double t = esql_trunc(d);

	return t > d ? t - 1 : t;
}

static inline double
esql_fabs(double d)
{
	return d < 0 ? -d : d;
}

/*
 * Java's % on doubles (C's fmod): exact, by subtracting q * 2^k for
 * falling k; each step is exact (Sterbenz), and there are at most
 * ~2100 of them.
 */
static inline double
esql_fmod(double p, double q)
{
	double r = esql_fabs(p), b = esql_fabs(q), t = b;

	while (t <= r / 2)
		t *= 2;
	while (t >= b) {
		if (r >= t)
			r -= t;
		t /= 2;
	}
	return p < 0 ? -r : r;
}

/* 10^k for |k| <= 400 (exact for 0 <= k <= 22). */
static inline double
esql_pow10(int k)
{
	double r = 1;

	for (int i = 0; i < (k < 0 ? -k : k); i++)
		r *= 10;
	return k < 0 ? 1 / r : r;
}

/* esql_expr.c */
void expr_err(char *err, size_t errlen, unsigned line, unsigned col,
	      const char *fmt, ...) __attribute__((format(printf, 5, 6)));
struct esql_expr *
expr_node(enum expr_kind kind, enum esql_type type, struct esql_expr **args,
	  size_t n, unsigned line, unsigned col, char *err, size_t errlen);
void expr_free_args(struct esql_expr **args, size_t n);
struct esql_expr *expr_fold(struct esql_expr *e);
bool expr_is_numeric(enum esql_type t);
bool expr_single(struct esql_ctx *cx, const struct esql_val *v,
		 struct esql_scalar *s);
bool expr_convert(enum esql_type from, enum esql_type to,
		  const struct esql_scalar *in, struct esql_scalar *out,
		  struct esql_arena *arena);
struct esql_expr *expr_coerce_literal(struct esql_expr *e, enum esql_type to,
				      char *err, size_t errlen);
void expr_set_one(struct esql_val *out, enum esql_type t,
		  const struct esql_scalar *s);

/* esql_func.c */
struct esql_expr *
func_make(const char *name, struct esql_expr **args, size_t n, unsigned line,
	  unsigned col, char *err, size_t errlen);
int
func_eval(const struct esql_expr *e, struct esql_ctx *cx, struct esql_val *out);
const char *func_name(int code);

#endif
