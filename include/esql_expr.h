/*
 * esql_expr: typed ES|QL expression trees, their constructors and their
 * evaluator.
 *
 * The parser builds a tree bottom-up by calling the constructors.  Each
 * constructor type-checks its arguments, applies ES|QL's implicit
 * conversions (a string literal compared with a datetime or ip column is
 * parsed as one; integer < long < double widen) and folds an expression
 * whose arguments are all constant into a literal.  A constructor takes
 * ownership of its argument trees, also when it fails: on failure it
 * frees them, returns NULL and writes "line:col: message" into err.
 *
 * Evaluation reads one row (ctx->cols, borrowed), writes computed
 * strings and multi-values into ctx->arena, never allocates on the C
 * heap, and gives null for every run-time fault ES|QL turns into null
 * with a warning (a multi-valued argument to a single-valued function,
 * integer overflow, a bad cast), counting it in ctx->warnings.  Division
 * and modulo by zero give null (with a warning, as ES does).
 *
 * Bounds: a tree is at most ESQL_EXPR_MAX_DEPTH deep (the constructors
 * refuse a deeper one, so evaluation recursion is bounded), a function
 * takes at most ESQL_EXPR_MAX_ARGS arguments, and a computed string is at
 * most ESQL_EXPR_MAX_STRING bytes (a longer result is null with a
 * warning, where ES would fail the query).
 *
 * Not supported, refused at construction with a message: NOW() (a
 * streaming rule has no query time), REPLACE (Java regular expressions),
 * calendar spans (date_period) in DATE_TRUNC, and functions not listed
 * in esql_func.c.
 */
#ifndef BURSTD_ESQL_EXPR_H
#define BURSTD_ESQL_EXPR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "esql_value.h"
#include "util.h"

#define ESQL_EXPR_MAX_DEPTH 64
#define ESQL_EXPR_MAX_ARGS 1024
#define ESQL_EXPR_MAX_STRING (1024 * 1024)

struct esql_ctx {
	struct esql_val *cols;    /* the row: column i (borrowed) */
	struct esql_arena *arena; /* for computed values */
	uint64_t warnings; /* nulls made by multi-values, overflow, casts */
};

enum esql_op {
	ESQL_OP_AND,
	ESQL_OP_OR,
	ESQL_OP_NOT,
	ESQL_OP_EQ,
	ESQL_OP_NE,
	ESQL_OP_LT,
	ESQL_OP_LE,
	ESQL_OP_GT,
	ESQL_OP_GE,
	ESQL_OP_ADD,
	ESQL_OP_SUB,
	ESQL_OP_MUL,
	ESQL_OP_DIV,
	ESQL_OP_MOD,
	ESQL_OP_NEG,
	ESQL_OP_IS_NULL,
	ESQL_OP_IS_NOT_NULL,
	ESQL_OP_IN,
	ESQL_OP_NOT_IN,
};

struct esql_expr;

/* A constant; keyword bytes and multi-values are copied. */
struct esql_expr *
esql_expr_lit(const struct esql_val *v, unsigned line, unsigned col);

/* Column `column` of the row, of type t; name is copied (for printing). */
struct esql_expr *esql_expr_col(int column, enum esql_type t, const char *name,
				unsigned line, unsigned col);

/*
 * An operator: unary ops take one argument, binary ones two; IN and
 * NOT IN test args[0] against args[1..n).
 */
struct esql_expr *
esql_expr_op(enum esql_op op, struct esql_expr **args, size_t n, unsigned line,
	     unsigned col, char *err, size_t errlen);

/*
 * arg LIKE (or RLIKE) one of patterns[0..n) (keyword literals, see
 * like.h and lregex.h), negated for NOT LIKE.  The result is null on a
 * null arg, and null with a warning on a multi-valued one; NOT keeps
 * null.  A bad pattern is refused: "line:col: invalid RLIKE pattern
 * "p": <what> at offset N", as is an RLIKE list whose automaton would
 * need over LREGEX_MAX_STATES states.  TO_LOWER(x) [R]LIKE p becomes a
 * case-insensitive match on x (LIKE_FOLD, LREGEX_FOLD), or the literal
 * false when a pattern has an upper-case letter (so NOT LIKE is then
 * true, null x included, as in ES).
 */
struct esql_expr *
esql_expr_like(struct esql_expr *arg, const struct esql_val *patterns, size_t n,
	       bool rlike, bool negated, unsigned line, unsigned col, char *err,
	       size_t errlen);

/*
 * A scalar function by its case-insensitive name, CASE included.
 * Unknown or unsupported: "line:col: function X is not supported".
 */
struct esql_expr *
esql_expr_call(const char *name, struct esql_expr **args, size_t n,
	       unsigned line, unsigned col, char *err, size_t errlen);

/*
 * Resolves a KQL field name to a column and its type: returns 0, or -1
 * if the field is unknown.
 */
typedef int esql_resolve_fn(void *arg, const char *field, size_t len,
			    int *column, enum esql_type *t);

/*
 * KQL("query"): true or false on each row, never null (see kql.h for
 * the subset, the per-type matching and what is refused).  Field names
 * resolve through resolve(arg, ...), during this call only.  A bad query:
 * "line:col: invalid KQL query: <what> at offset N".
 */
struct esql_expr *
esql_expr_kql(const char *query, size_t len, esql_resolve_fn *resolve,
	      void *arg, unsigned line, unsigned col, char *err, size_t errlen);

/* x::type and the TO_* functions. */
struct esql_expr *
esql_expr_cast(struct esql_expr *arg, enum esql_type to, unsigned line,
	       unsigned col, char *err, size_t errlen);

enum esql_type esql_expr_type(const struct esql_expr *e);

/* Whether e is a literal (after folding); if so, *v (may be NULL) is it. */
bool esql_expr_is_const(const struct esql_expr *e);
bool esql_expr_const_value(const struct esql_expr *e, struct esql_val *v);

/*
 * Evaluates e on the row in cx.  Returns 0 with the value in *out, or -1
 * on an internal failure only; nulls are values.  *out borrows from the
 * row, from e's literals or from cx->arena.
 */
int
esql_eval(const struct esql_expr *e, struct esql_ctx *cx, struct esql_val *out);

/* Frees e and its arguments; NULL is ignored. */
void esql_expr_free(struct esql_expr *e);

/* Appends e's canonical text, for --explain and fingerprints. */
void esql_expr_print(const struct esql_expr *e, struct buf *out);

/* Calls cb for each column e reads (a column may be reported twice). */
void esql_expr_columns(const struct esql_expr *e,
		       void (*cb)(void *arg, int column), void *arg);

/*
 * A conservative prefilter: when esql_expr_needles() returns true, every
 * row on which e is true has, in column needle[i].column, a value that
 * holds needle[i] where needle[i].where says (the whole value, its start,
 * its end, anywhere) for at least one i: byte for byte, or, when fold is
 * set, up to ASCII case, the needle being ASCII (TO_LOWER and TO_UPPER
 * may also fold a few code points outside ASCII into ASCII letters:
 * prefilter.h lists them, and the prefilter passes any line with one).
 * It returns false when it cannot prove that (then use no prefilter).
 * Needles point into e's literals and live as long as e.  Proved for
 * keyword `col == "x"` and `col IN (...)` (the whole value; a
 * multi-value makes them null), the same on TO_LOWER(col) or
 * TO_UPPER(col) (folded), `col LIKE (p, ...)` and TO_LOWER(col) LIKE
 * (the longest literal run of each pattern, placed at the value's start
 * or end, or whole, where the pattern puts it; none under NOT, RLIKE or
 * a pattern without a literal), CONTAINS, STARTS_WITH and ENDS_WITH of a
 * column and a literal, `LOCATE(col, "x") > 0` (or >= 1), KQL keyword
 * terms and wildcards (kql_needles()), AND (one side's set) and OR (the
 * union of both sides' sets).
 */
#define ESQL_NEEDLES_MAX 32
enum esql_needle_where {
	ESQL_NEEDLE_ANYWHERE, /* anywhere in the value */
	ESQL_NEEDLE_WHOLE,    /* the whole value */
	ESQL_NEEDLE_START,    /* the value's start */
	ESQL_NEEDLE_END,      /* the value's end */
};
struct esql_needle {
	int column;
	const char *p;
	size_t len;
	enum esql_needle_where where;
	bool fold; /* up to ASCII case; p is then ASCII */
};
struct esql_needles {
	size_t n;
	struct esql_needle v[ESQL_NEEDLES_MAX];
};
/* The name of a place, for --explain: "whole", "start", "end", "anywhere". */
const char *esql_needle_where_name(enum esql_needle_where w);
bool esql_expr_needles(const struct esql_expr *e, struct esql_needles *out);
/*
 * Of two sets that an AND's operands give (either is sound), whether a
 * is the likelier to turn lines away than b: a non-empty set over an
 * empty one, then the longer shortest needle (a long literal is rare,
 * while "start" or "process" stand in most events), then fewer needles.
 */
bool
esql_needles_better(const struct esql_needles *a, const struct esql_needles *b);

/*
 * The needle sets of each conjunct of e (the operands of its top-level
 * ANDs, and of a KQL() query's top-level `and`) that has one, at most
 * max of them into out: every row on which e is true has a needle of
 * each set.  Returns how many were written.
 * The recursion follows the AND nodes, so it is bounded by the tree's
 * depth.
 */
size_t esql_expr_needle_groups(const struct esql_expr *e,
			       struct esql_needles *out, size_t max);

/*
 * A test of single values, for the parser's early check: when
 * esql_expr_value_test() returns true, e is true on a row only if every
 * value of input column t->column passes esql_value_test_ok() (a value
 * that fails makes e false when it is the only one, null when there are
 * more).  Proved for keyword `col == "x"` and `col IN (...)`, and for
 * `col [NOT] LIKE` / `RLIKE` (TO_LOWER rewrites included).  t borrows e.
 */
struct esql_value_test {
	int column;
	const struct esql_expr *e;
};
bool esql_expr_value_test(const struct esql_expr *e, struct esql_value_test *t);
/*
 * The value tests of e's conjuncts (the operands of its top-level ANDs),
 * at most max into out; returns how many.
 */
size_t esql_expr_value_tests(const struct esql_expr *e,
			     struct esql_value_test *out, size_t max);
/* Whether the keyword value p[0..len) passes t. */
bool
esql_value_test_ok(const struct esql_value_test *t, const char *p, size_t len);

#endif
