/*
 * esql_plan: compiling a parsed ES|QL query into a streamable plan, its
 * --explain text and its fingerprint.  Running programs and ordering
 * rows are in esql_plan_run.c.  See include/esql_plan.h.
 *
 * The compiler walks the pipeline once per pass with a scope: the
 * columns the query can name at that point.  Input columns come first
 * in the pre row, so they must all be known before a computed column is
 * numbered; the fields a query reads are only known at the end (a KQL()
 * text names its own).  The first pass therefore only learns the fields
 * (its computed columns are numbered far above any field), and the
 * second, with the fields known, builds the plan that is kept.  Both
 * passes resolve every name the same way, so they fail alike.
 */
#include <assert.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>
#include <xxhash.h>

#include "esql_plan.h"
#include "fieldtype.h"

/* Where pass 1 numbers computed columns: above any field index. */
#define PASS1_BASE (1 << 24)

/* A column the query can name. */
struct named {
	char *name;
	int column;
	enum esql_type type;
};

/*
 * The names visible at one point.  `v` lists the columns named so far
 * in output order.  An event field not listed is visible while it
 * passes every command of `filters` (KEEP, DROP, RENAME) and the scope
 * is open (no STATS yet).
 */
struct scope {
	struct named *v;
	size_t n, cap;
	const struct esql_cmd **filters;
	size_t nfilters, capf;
	bool closed;
};

/* A pre column an EVAL computed as DATE_TRUNC(span, @timestamp). */
struct bucket_col {
	int column;
	int64_t span_ms; /* 0: a calendar span */
	int line, col;
};

/* A pre column an EVAL copied from another (`EVAL t = @timestamp`). */
struct copy_col {
	int column, from;
};

/* A pre column that holds a METADATA column or is computed from one. */
struct meta_col {
	int column;
	const char *name; /* the METADATA name, static */
};

/* What a post column is made of, for the monotonicity proof. */
struct post_col {
	int agg;   /* the aggregate it holds unchanged, or -1 */
	bool deps; /* computed from an aggregate */
};

struct compiler {
	struct esql_plan *p;
	char *err;
	size_t errlen;
	bool pass2;
	bool in_post;            /* after STATS */
	struct esql_program *pg; /* the program being built */
	size_t capsteps, capout; /* of pg */
	int next_col;            /* the next computed column */
	size_t capfields;        /* of p->fields */
	struct scope sc;
	struct bucket_col *buckets; /* pre columns from DATE_TRUNC */
	size_t nbuckets, capbuckets;
	struct copy_col *copies; /* pre columns copied by EVAL */
	size_t ncopies, capcopies;
	struct post_col *pcols; /* per post column */
	size_t npcols;
	bool seen_expand; /* an MV_EXPAND before STATS */
	int limit_line;   /* a LIMIT after STATS, or 0 */
	int limit_col;
	bool kql_ok;       /* building a WHERE where KQL() may stand */
	const char *stage; /* "in WHERE", "in EVAL", ... for messages */
	char *why;         /* the first reason post is not monotone */
	struct buf ignored;
	int stats_line, stats_col; /* of the STATS */
	struct meta_col *metas;    /* pre columns that hold METADATA */
	size_t nmetas, capmetas;
};

static void fail(struct compiler *c, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
fail(struct compiler *c, int line, int col, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (c->err == NULL || c->errlen == 0)
		return;
	n = snprintf(c->err, c->errlen, "%d:%d: ", line, col);
	if (n < 0 || (size_t)n >= c->errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
	va_end(ap);
}

/* Names and patterns. */

static bool
is_pattern(const char *s)
{
	return strchr(s, '*') != NULL;
}

/* Glob match with '*' as any run of characters (dots included). */
static bool
glob_match(const char *pat, const char *s)
{
	const char *star = NULL, *mark = NULL;

	while (*s != '\0') {
		if (*pat == '*') {
			star = pat++;
			mark = s;
		} else if (*pat == *s) {
			pat++;
			s++;
		} else if (star != NULL) {
			pat = star + 1;
			s = ++mark;
		} else
			return false;
	}
	while (*pat == '*')
		pat++;
	return *pat == '\0';
}

/* KEEP's precedence of a pattern: exact, partial wildcard, then `*`. */
static int
pattern_rank(const char *pat)
{
	if (!is_pattern(pat))
		return 3;
	for (const char *s = pat; *s != '\0'; s++)
		if (*s != '*')
			return 2;
	return 1;
}

/* Scope. */

static ssize_t
scope_find(const struct scope *sc, const char *name)
{
	for (size_t i = sc->n; i-- > 0;)
		if (strcmp(sc->v[i].name, name) == 0)
			return (ssize_t)i;
	return -1;
}

static void
scope_remove(struct scope *sc, size_t i)
{
	free(sc->v[i].name);
	memmove(&sc->v[i], &sc->v[i + 1], (sc->n - i - 1) * sizeof(*sc->v));
	sc->n--;
}

/* Names `name` column `column`, hiding what had that name. */
static void
scope_define(struct scope *sc, const char *name, int column, enum esql_type t)
{
	ssize_t i = scope_find(sc, name);

	if (i >= 0)
		scope_remove(sc, (size_t)i);
	if (sc->n == sc->cap) {
		sc->cap = sc->cap ? sc->cap * 2 : 16;
		sc->v = xreallocarray(sc->v, sc->cap, sizeof(*sc->v));
	}
	sc->v[sc->n].name = xstrdup(name);
	sc->v[sc->n].column = column;
	sc->v[sc->n].type = t;
	sc->n++;
}

static void
scope_filter(struct scope *sc, const struct esql_cmd *cmd)
{
	if (sc->nfilters == sc->capf) {
		sc->capf = sc->capf ? sc->capf * 2 : 8;
		sc->filters =
		    xreallocarray(sc->filters, sc->capf, sizeof(*sc->filters));
	}
	sc->filters[sc->nfilters++] = cmd;
}

static void
scope_fini(struct scope *sc)
{
	for (size_t i = 0; i < sc->n; i++)
		free(sc->v[i].name);
	free(sc->v);
	free(sc->filters);
	memset(sc, 0, sizeof(*sc));
}

/* Whether event field `name`, unlisted, is still visible. */
static bool
field_visible(const struct scope *sc, const char *name)
{
	if (sc->closed || is_pattern(name))
		return false;
	for (size_t i = 0; i < sc->nfilters; i++) {
		const struct esql_cmd *f = sc->filters[i];
		bool hit = false;

		if (f->kind == ESQL_CMD_RENAME) {
			for (size_t k = 0; k < f->nrenames; k++)
				hit |= strcmp(f->renames[k].from, name) == 0;
			if (hit)
				return false;
			continue;
		}
		for (size_t k = 0; k < f->nnames; k++)
			hit |= glob_match(f->names[k], name);
		if (hit != (f->kind == ESQL_CMD_KEEP))
			return false;
	}
	return true;
}

/* The input column of event field `name`, added if new. */
static int
field_ref(struct compiler *c, const char *name, size_t len)
{
	struct esql_plan *p = c->p;

	for (size_t i = 0; i < p->nfields; i++)
		if (strlen(p->fields[i]) == len &&
		    memcmp(p->fields[i], name, len) == 0)
			return (int)i;
	/* pass 2 starts with every field pass 1 found */
	assert(!c->pass2);
	if (c->pass2)
		return -1;
	if (p->nfields == c->capfields) {
		c->capfields = c->capfields ? c->capfields * 2 : 16;
		p->fields =
		    xreallocarray(p->fields, c->capfields, sizeof(*p->fields));
		p->field_types = xreallocarray(p->field_types, c->capfields,
					       sizeof(*p->field_types));
	}
	p->fields[p->nfields] = xstrndup(name, len);
	p->field_types[p->nfields] = fieldtype_of(p->fields[p->nfields]);
	if (strcmp(p->fields[p->nfields], "@timestamp") == 0)
		p->time_column = (int)p->nfields;
	return (int)p->nfields++;
}

/* Resolves a name: 0 with *out, or -1 with the error set. */
static int
lookup(struct compiler *c, const char *name, int line, int col,
       struct named *out)
{
	ssize_t i = scope_find(&c->sc, name);
	int f;

	if (i >= 0) {
		*out = c->sc.v[i];
		return 0;
	}
	if (!field_visible(&c->sc, name)) {
		fail(c, line, col, "Unknown column [%s]", name);
		return -1;
	}
	if ((f = field_ref(c, name, strlen(name))) < 0) {
		fail(c, line, col, "field %s was not found in the first pass",
		     name);
		return -1;
	}
	out->name = c->p->fields[f];
	out->column = f;
	out->type = c->p->field_types[f];
	return 0;
}

/* Programs. */

static int
new_column(struct compiler *c)
{
	c->pg->ncols++;
	return c->next_col++;
}

static void
add_step(struct compiler *c, enum esql_step_kind kind, int column,
	 struct esql_expr *e)
{
	struct esql_program *pg = c->pg;

	if (pg->nsteps == c->capsteps) {
		c->capsteps = c->capsteps ? c->capsteps * 2 : 16;
		pg->steps =
		    xreallocarray(pg->steps, c->capsteps, sizeof(*pg->steps));
	}
	pg->steps[pg->nsteps].kind = kind;
	pg->steps[pg->nsteps].column = column;
	pg->steps[pg->nsteps].expr = e;
	pg->nsteps++;
}

static void
program_fini(struct esql_program *pg)
{
	for (size_t i = 0; i < pg->nsteps; i++)
		esql_expr_free(pg->steps[i].expr);
	free(pg->steps);
	for (size_t i = 0; i < pg->nout; i++)
		free(pg->out[i].name);
	free(pg->out);
	memset(pg, 0, sizeof(*pg));
}

/* The post column info, grown with the post row. */
static struct post_col *
post_col(struct compiler *c, int column)
{
	if (column < 0)
		return NULL;
	if ((size_t)column >= c->npcols) {
		size_t n = (size_t)column + 16;

		c->pcols = xreallocarray(c->pcols, n, sizeof(*c->pcols));
		for (size_t i = c->npcols; i < n; i++) {
			c->pcols[i].agg = -1;
			c->pcols[i].deps = false;
		}
		c->npcols = n;
	}
	return &c->pcols[column];
}

/* Expressions. */

static const char *const agg_names[] = {
    [AGG_COUNT_ALL] = "COUNT",
    [AGG_COUNT] = "COUNT",
    [AGG_COUNT_DISTINCT] = "COUNT_DISTINCT",
    [AGG_VALUES] = "VALUES",
    [AGG_MIN] = "MIN",
    [AGG_MAX] = "MAX",
    [AGG_SUM] = "SUM",
    [AGG_AVG] = "AVG",
};

/* The aggregate a call names, or -1. */
static int
agg_kind_of(const char *name)
{
	for (int k = AGG_COUNT; k <= AGG_AVG; k++)
		if (strcasecmp(name, agg_names[k]) == 0)
			return k;
	return -1;
}

/* ES|QL aggregate functions this planner does not compute. */
static bool
is_other_agg(const char *name)
{
	static const char *const others[] = {
	    "median",
	    "median_absolute_deviation",
	    "percentile",
	    "top",
	    "st_centroid_agg",
	    "st_extent_agg",
	    "weighted_avg",
	    "first",
	    "last",
	    "std_dev",
	    "sample",
	    "rate",
	    "present",
	    "absent",
	};

	for (size_t i = 0; i < sizeof(others) / sizeof(*others); i++)
		if (strcasecmp(name, others[i]) == 0)
			return true;
	return false;
}

static bool
type_by_name(const char *s, enum esql_type *t)
{
	static const struct {
		const char *name;
		enum esql_type t;
	} types[] = {
	    {"keyword", ESQL_T_KEYWORD}, {"text", ESQL_T_KEYWORD},
	    {"string", ESQL_T_KEYWORD},  {"long", ESQL_T_LONG},
	    {"integer", ESQL_T_INTEGER}, {"int", ESQL_T_INTEGER},
	    {"double", ESQL_T_DOUBLE},   {"boolean", ESQL_T_BOOLEAN},
	    {"bool", ESQL_T_BOOLEAN},    {"datetime", ESQL_T_DATETIME},
	    {"date", ESQL_T_DATETIME},   {"ip", ESQL_T_IP},
	};

	for (size_t i = 0; i < sizeof(types) / sizeof(*types); i++)
		if (strcmp(s, types[i].name) == 0) {
			*t = types[i].t;
			return true;
		}
	return false;
}

static const enum esql_op binops[] = {
    [ESQL_BIN_OR] = ESQL_OP_OR,   [ESQL_BIN_AND] = ESQL_OP_AND,
    [ESQL_BIN_EQ] = ESQL_OP_EQ,   [ESQL_BIN_NEQ] = ESQL_OP_NE,
    [ESQL_BIN_LT] = ESQL_OP_LT,   [ESQL_BIN_LTE] = ESQL_OP_LE,
    [ESQL_BIN_GT] = ESQL_OP_GT,   [ESQL_BIN_GTE] = ESQL_OP_GE,
    [ESQL_BIN_ADD] = ESQL_OP_ADD, [ESQL_BIN_SUB] = ESQL_OP_SUB,
    [ESQL_BIN_MUL] = ESQL_OP_MUL, [ESQL_BIN_DIV] = ESQL_OP_DIV,
    [ESQL_BIN_MOD] = ESQL_OP_MOD,
};

/* A span literal: 1 minute is 60000 ms, 1 quarter 3 months. */
static struct esql_expr *
build_span(struct compiler *c, const struct esql_node *n)
{
	static const int64_t ms[] = {
	    [ESQL_SPAN_MS] = 1,
	    [ESQL_SPAN_SECOND] = 1000,
	    [ESQL_SPAN_MINUTE] = 60 * 1000,
	    [ESQL_SPAN_HOUR] = 60 * 60 * 1000,
	};
	struct esql_val v;

	esql_val_null(&v, ESQL_T_TIME_DURATION);
	v.n = 1;
	memset(&v.one, 0, sizeof(v.one));
	switch (n->span_unit) {
	case ESQL_SPAN_MS:
	case ESQL_SPAN_SECOND:
	case ESQL_SPAN_MINUTE:
	case ESQL_SPAN_HOUR:
		if (__builtin_mul_overflow(n->i, ms[n->span_unit],
					   &v.one.u.l)) {
			fail(c, n->line, n->col, "time span out of range");
			return NULL;
		}
		break;
	case ESQL_SPAN_DAY:
	case ESQL_SPAN_WEEK:
		/* a day is a calendar span (date_period) in ES|QL, which
		 * esql_value holds in months only */
		fail(c, n->line, n->col, "a time span in %ss is not supported",
		     esql_span_unit_name(n->span_unit));
		return NULL;
	default:
		v.type = ESQL_T_DATE_PERIOD;
		if (__builtin_mul_overflow(n->i,
					   n->span_unit == ESQL_SPAN_MONTH ? 1
					   : n->span_unit == ESQL_SPAN_QUARTER
					       ? 3
					       : 12,
					   &v.one.u.l)) {
			fail(c, n->line, n->col, "time span out of range");
			return NULL;
		}
		break;
	}
	return esql_expr_lit(&v, (unsigned)n->line, (unsigned)n->col);
}

static struct esql_expr *build(struct compiler *c, const struct esql_node *n);

/* Builds args[from..) of n into out; 0, or -1 (out freed). */
static int
build_args(struct compiler *c, const struct esql_node *n, size_t from,
	   struct esql_expr **out)
{
	for (size_t i = from; i < n->nargs; i++) {
		out[i - from] = build(c, n->args[i]);
		if (out[i - from] == NULL) {
			for (size_t k = from; k < i; k++)
				esql_expr_free(out[k - from]);
			return -1;
		}
	}
	return 0;
}

static int
kql_resolve(void *arg, const char *field, size_t len, int *column,
	    enum esql_type *t)
{
	struct compiler *c = arg;
	int f;

	if (len == 0 || memchr(field, '*', len) != NULL ||
	    memchr(field, '\0', len) != NULL)
		return -1;
	if ((f = field_ref(c, field, len)) < 0)
		return -1;
	*column = f;
	*t = c->p->field_types[f];
	return 0;
}

static struct esql_expr *
build_call(struct compiler *c, const struct esql_node *n)
{
	struct esql_expr **args, *e;
	const struct esql_node *q;

	if (agg_kind_of(n->s) >= 0 || is_other_agg(n->s)) {
		fail(c, n->line, n->col,
		     "aggregate function %s is only valid in STATS", n->s);
		return NULL;
	}
	if (strcasecmp(n->s, "kql") == 0) {
		if (!c->kql_ok) {
			fail(c, n->line, n->col,
			     "KQL() is only supported in a WHERE before STATS "
			     "and MV_EXPAND");
			return NULL;
		}
		if (n->nargs != 1 || n->args[0]->kind != ESQL_N_STRING) {
			fail(c, n->line, n->col,
			     "KQL() takes one string literal");
			return NULL;
		}
		q = n->args[0];
		return esql_expr_kql(q->s, q->len, kql_resolve, c,
				     (unsigned)n->line, (unsigned)n->col,
				     c->err, c->errlen);
	}
	if (n->nargs > ESQL_EXPR_MAX_ARGS) {
		fail(c, n->line, n->col, "more than %d arguments",
		     ESQL_EXPR_MAX_ARGS);
		return NULL;
	}
	/* On the heap: a CASE may have hundreds of arguments, and build()
	 * recurses. */
	args = xcalloc(n->nargs + 1, sizeof(*args));
	if (build_args(c, n, 0, args) == -1) {
		free(args);
		return NULL;
	}
	e = esql_expr_call(n->s, args, n->nargs, (unsigned)n->line,
			   (unsigned)n->col, c->err, c->errlen);
	free(args);
	return e;
}

static struct esql_expr *
build_like(struct compiler *c, const struct esql_node *n)
{
	struct esql_val *pats;
	struct esql_expr *arg, *e;
	size_t np = n->nargs - 1;

	if ((arg = build(c, n->args[0])) == NULL)
		return NULL;
	pats = xcalloc(np ? np : 1, sizeof(*pats));
	for (size_t i = 0; i < np; i++) {
		const struct esql_node *s = n->args[i + 1];

		esql_val_null(&pats[i], ESQL_T_KEYWORD);
		pats[i].n = 1;
		pats[i].one.u.s.p = s->s;
		pats[i].one.u.s.len = s->len;
	}
	e = esql_expr_like(arg, pats, np, n->kind == ESQL_N_RLIKE, n->negated,
			   (unsigned)n->line, (unsigned)n->col, c->err,
			   c->errlen);
	free(pats);
	return e;
}

static struct esql_expr *
build(struct compiler *c, const struct esql_node *n)
{
	struct esql_expr *args[2], **list, *e;
	struct esql_val v;
	struct named nm;
	enum esql_type t;
	unsigned line = (unsigned)n->line, col = (unsigned)n->col;

	esql_val_null(&v, ESQL_T_NULL);
	memset(&v.one, 0, sizeof(v.one));
	switch (n->kind) {
	case ESQL_N_NULL:
		return esql_expr_lit(&v, line, col);
	case ESQL_N_BOOL:
		v.type = ESQL_T_BOOLEAN;
		v.n = 1;
		v.one.u.l = n->b;
		return esql_expr_lit(&v, line, col);
	case ESQL_N_INT:
		v.type = n->i >= INT32_MIN && n->i <= INT32_MAX ? ESQL_T_INTEGER
								: ESQL_T_LONG;
		v.n = 1;
		v.one.u.l = n->i;
		return esql_expr_lit(&v, line, col);
	case ESQL_N_DOUBLE:
		v.type = ESQL_T_DOUBLE;
		v.n = 1;
		v.one.u.d = n->d;
		return esql_expr_lit(&v, line, col);
	case ESQL_N_STRING:
		v.type = ESQL_T_KEYWORD;
		v.n = 1;
		v.one.u.s.p = n->s;
		v.one.u.s.len = n->len;
		return esql_expr_lit(&v, line, col);
	case ESQL_N_SPAN:
		return build_span(c, n);
	case ESQL_N_FIELD:
		if (lookup(c, n->s, n->line, n->col, &nm) == -1)
			return NULL;
		return esql_expr_col(nm.column, nm.type, n->s, line, col);
	case ESQL_N_STAR:
		fail(c, n->line, n->col, "* is only valid in COUNT(*)");
		return NULL;
	case ESQL_N_CALL:
		return build_call(c, n);
	case ESQL_N_NEG:
	case ESQL_N_NOT:
		if ((args[0] = build(c, n->args[0])) == NULL)
			return NULL;
		return esql_expr_op(n->kind == ESQL_N_NEG ? ESQL_OP_NEG
							  : ESQL_OP_NOT,
				    args, 1, line, col, c->err, c->errlen);
	case ESQL_N_BINARY:
		if (build_args(c, n, 0, args) == -1)
			return NULL;
		return esql_expr_op(binops[n->op], args, 2, line, col, c->err,
				    c->errlen);
	case ESQL_N_IN:
		if (n->nargs > ESQL_EXPR_MAX_ARGS) {
			fail(c, n->line, n->col, "IN list longer than %d",
			     ESQL_EXPR_MAX_ARGS - 1);
			return NULL;
		}
		list = xcalloc(n->nargs + 1, sizeof(*list));
		if (build_args(c, n, 0, list) == -1) {
			free(list);
			return NULL;
		}
		e = esql_expr_op(n->negated ? ESQL_OP_NOT_IN : ESQL_OP_IN, list,
				 n->nargs, line, col, c->err, c->errlen);
		free(list);
		return e;
	case ESQL_N_ISNULL:
		if ((args[0] = build(c, n->args[0])) == NULL)
			return NULL;
		return esql_expr_op(n->negated ? ESQL_OP_IS_NOT_NULL
					       : ESQL_OP_IS_NULL,
				    args, 1, line, col, c->err, c->errlen);
	case ESQL_N_LIKE:
	case ESQL_N_RLIKE:
		return build_like(c, n);
	case ESQL_N_CAST:
		if (!type_by_name(n->s, &t)) {
			fail(c, n->line, n->col, "unknown type '%.40s'", n->s);
			return NULL;
		}
		if ((e = build(c, n->args[0])) == NULL)
			return NULL;
		return esql_expr_cast(e, t, line, col, c->err, c->errlen);
	}
	fail(c, n->line, n->col, "unknown expression");
	return NULL;
}

/* The text a column gets from an unnamed expression. */
static char *
node_text(const struct esql_node *n)
{
	struct buf b = {0};
	char *s;

	esql_node_print(n, &b);
	s = xstrndup(b.data != NULL ? b.data : "", b.len);
	buf_free(&b);
	return s;
}

/*
 * The name of an unnamed item's column: its text as written, as
 * Elasticsearch names it (or, for a tree built without text, the
 * canonical print).
 */
static char *
item_text(const struct esql_item *it)
{
	if (it->text != NULL)
		return xstrndup(it->text, it->text_len);
	return node_text(it->expr);
}

/*
 * The column of an expression: the column itself for a bare name, else
 * a new column an EVAL step computes.  -1 on error.
 */
static int
column_of(struct compiler *c, const struct esql_node *n, enum esql_type *t)
{
	struct esql_expr *e;
	struct named nm;
	int column;

	if (n->kind == ESQL_N_FIELD) {
		if (lookup(c, n->s, n->line, n->col, &nm) == -1)
			return -1;
		*t = nm.type;
		return nm.column;
	}
	if ((e = build(c, n)) == NULL)
		return -1;
	*t = esql_expr_type(e);
	column = new_column(c);
	add_step(c, ESQL_STEP_EVAL, column, e);
	return column;
}

/*
 * The column a pre column is a copy of, through EVALs of bare names;
 * each copy is of an older column, so the walk ends.
 */
static int
origin(const struct compiler *c, int column)
{
	for (size_t i = c->ncopies; i-- > 0;)
		if (c->copies[i].column == column)
			column = c->copies[i].from;
	return column;
}

static void
note_copy(struct compiler *c, int column, const struct esql_node *n)
{
	ssize_t i = scope_find(&c->sc, n->s);
	int from;

	if (i >= 0)
		from = c->sc.v[i].column;
	else {
		/* an event field, which the EVAL just read */
		from = -1;
		for (size_t f = 0; f < c->p->nfields; f++)
			if (strcmp(c->p->fields[f], n->s) == 0)
				from = (int)f;
		if (from < 0)
			return;
	}
	if (c->ncopies == c->capcopies) {
		c->capcopies = c->capcopies ? c->capcopies * 2 : 4;
		c->copies =
		    xreallocarray(c->copies, c->capcopies, sizeof(*c->copies));
	}
	c->copies[c->ncopies].column = column;
	c->copies[c->ncopies].from = from;
	c->ncopies++;
}

/*
 * Whether n is DATE_TRUNC(span, @timestamp) on the event's time: then
 * *span_ms (0 for a calendar span).  Errors in n are left for build().
 */
static bool
is_bucket_expr(struct compiler *c, const struct esql_node *n, int64_t *span_ms)
{
	struct esql_expr *e;
	struct esql_val v;
	ssize_t i;

	if (n->kind != ESQL_N_CALL || strcasecmp(n->s, "date_trunc") != 0 ||
	    n->nargs != 2 || n->args[1]->kind != ESQL_N_FIELD)
		return false;
	i = scope_find(&c->sc, n->args[1]->s);
	if (i >= 0 ? origin(c, c->sc.v[i].column) != c->p->time_column ||
			 c->p->time_column < 0
		   : strcmp(n->args[1]->s, "@timestamp") != 0 ||
			 !field_visible(&c->sc, "@timestamp"))
		return false;
	if (n->args[0]->kind != ESQL_N_SPAN)
		return false;
	if ((e = build_span(c, n->args[0])) == NULL)
		return false;
	esql_expr_const_value(e, &v);
	*span_ms = v.type == ESQL_T_TIME_DURATION ? esql_val_items(&v)->u.l : 0;
	esql_expr_free(e);
	return true;
}

static void
note_bucket(struct compiler *c, int column, int64_t span_ms,
	    const struct esql_node *n)
{
	if (c->nbuckets == c->capbuckets) {
		c->capbuckets = c->capbuckets ? c->capbuckets * 2 : 4;
		c->buckets = xreallocarray(c->buckets, c->capbuckets,
					   sizeof(*c->buckets));
	}
	c->buckets[c->nbuckets].column = column;
	c->buckets[c->nbuckets].span_ms = span_ms;
	c->buckets[c->nbuckets].line = n->line;
	c->buckets[c->nbuckets].col = n->col;
	c->nbuckets++;
}

static const struct bucket_col *
find_bucket(const struct compiler *c, int column)
{
	column = origin(c, column);
	for (size_t i = 0; i < c->nbuckets; i++)
		if (c->buckets[i].column == column)
			return &c->buckets[i];
	return NULL;
}

/* Monotonicity of post WHERE conditions. */

static void
not_monotone(struct compiler *c, const struct esql_node *n, const char *fmt,
	     ...) __attribute__((format(printf, 3, 4)));

static void
not_monotone(struct compiler *c, const struct esql_node *n, const char *fmt,
	     ...)
{
	char msg[200];
	va_list ap;
	int k;

	if (c->why != NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	k = snprintf(NULL, 0, "not monotone: %d:%d: %s", n->line, n->col, msg);
	c->why = xmalloc((size_t)k + 1);
	snprintf(c->why, (size_t)k + 1, "not monotone: %d:%d: %s", n->line,
		 n->col, msg);
}

/* Whether n reads a column computed from an aggregate. */
static bool
reads_aggs(struct compiler *c, const struct esql_node *n)
{
	ssize_t i;

	if (n->kind == ESQL_N_FIELD) {
		i = scope_find(&c->sc, n->s);
		return i >= 0 && post_col(c, c->sc.v[i].column)->deps;
	}
	for (size_t k = 0; k < n->nargs; k++)
		if (reads_aggs(c, n->args[k]))
			return true;
	return false;
}

/*
 * METADATA columns are null in a stream (there is no index), so a
 * condition, aggregate or group key that reads one could never behave
 * as Elasticsearch's: such a rule is refused rather than run blind.
 */
static void
note_meta(struct compiler *c, int column, const char *name)
{
	if (c->nmetas == c->capmetas) {
		c->capmetas = c->capmetas ? 2 * c->capmetas : 8;
		c->metas =
		    xreallocarray(c->metas, c->capmetas, sizeof(*c->metas));
	}
	c->metas[c->nmetas].column = column;
	c->metas[c->nmetas++].name = name;
}

/* The first name in n that holds METADATA (its node in *at), or NULL. */
static const char *
reads_meta(struct compiler *c, const struct esql_node *n,
	   const struct esql_node **at)
{
	const char *name;

	if (n == NULL || c->in_post)
		return NULL;
	if (n->kind == ESQL_N_FIELD) {
		ssize_t i = scope_find(&c->sc, n->s);

		if (i < 0)
			return NULL;
		for (size_t k = 0; k < c->nmetas; k++)
			if (c->metas[k].column == c->sc.v[i].column) {
				*at = n;
				return c->metas[k].name;
			}
		return NULL;
	}
	for (size_t k = 0; k < n->nargs; k++)
		if ((name = reads_meta(c, n->args[k], at)) != NULL)
			return name;
	return NULL;
}

/* Refuses n when it reads METADATA; `what` says where it stands. */
static int
refuse_meta(struct compiler *c, const struct esql_node *n, const char *what)
{
	const struct esql_node *at = NULL;
	const char *name = reads_meta(c, n, &at);

	if (name == NULL)
		return 0;
	fail(c, at->line, at->col,
	     "%s reads METADATA %s, which is null on every event in a "
	     "stream (there is no index): the rule could never match as "
	     "it does in Elasticsearch",
	     what, name);
	return -1;
}

/* The aggregate a bare name holds unchanged, or -1. */
static int
agg_of_name(struct compiler *c, const struct esql_node *n)
{
	ssize_t i;

	if (n->kind != ESQL_N_FIELD)
		return -1;
	i = scope_find(&c->sc, n->s);
	return i >= 0 ? post_col(c, c->sc.v[i].column)->agg : -1;
}

/*
 * Whether an aggregate can only grow (up) or only fall (down) as rows
 * are added; a SUM grows when the planner proved its input >= 0.
 */
static int
agg_direction(const struct esql_plan *p, const bool *sum_ok, int agg)
{
	switch (p->specs[agg].kind) {
	case AGG_COUNT_ALL:
	case AGG_COUNT:
	case AGG_COUNT_DISTINCT:
	case AGG_MAX:
		return 1;
	case AGG_SUM:
		return sum_ok[agg] ? 1 : 0;
	case AGG_MIN:
		return -1;
	default:
		return 0;
	}
}

static bool
is_constant(struct compiler *c, const struct esql_node *n)
{
	struct esql_expr *e;
	bool k;

	if (reads_aggs(c, n))
		return false;
	/* a constant has no names; building it cannot fail on scope */
	for (size_t i = 0; i < n->nargs; i++)
		if (!is_constant(c, n->args[i]))
			return false;
	if (n->kind == ESQL_N_FIELD || n->kind == ESQL_N_STAR ||
	    n->kind == ESQL_N_CALL)
		return false;
	if ((e = build(c, n)) == NULL)
		return false;
	k = esql_expr_is_const(e);
	esql_expr_free(e);
	return k;
}

static void
check_monotone(struct compiler *c, const struct esql_node *n,
	       const bool *sum_ok)
{
	const struct esql_node *a, *k;
	int agg, dir, want;
	bool flip;

	if (c->why != NULL || !reads_aggs(c, n))
		return; /* constant for the group */
	switch (n->kind) {
	case ESQL_N_BINARY:
		break;
	case ESQL_N_NOT:
		not_monotone(c, n, "NOT of a condition on aggregates");
		return;
	default:
		not_monotone(c, n,
			     "this condition on aggregates can turn "
			     "false as rows are added");
		return;
	}
	switch (n->op) {
	case ESQL_BIN_AND:
	case ESQL_BIN_OR:
		check_monotone(c, n->args[0], sum_ok);
		check_monotone(c, n->args[1], sum_ok);
		return;
	case ESQL_BIN_GT:
	case ESQL_BIN_GTE:
		want = 1;
		break;
	case ESQL_BIN_LT:
	case ESQL_BIN_LTE:
		want = -1;
		break;
	default:
		not_monotone(c, n,
			     "%s on an aggregate can turn false as rows "
			     "are added",
			     esql_binop_name(n->op));
		return;
	}
	flip = agg_of_name(c, n->args[0]) < 0;
	a = n->args[flip ? 1 : 0];
	k = n->args[flip ? 0 : 1];
	if (flip)
		want = -want;
	agg = agg_of_name(c, a);
	if (agg < 0) {
		not_monotone(c, n,
			     "a value computed from aggregates is "
			     "compared");
		return;
	}
	if (!is_constant(c, k)) {
		not_monotone(c, n,
			     "%s is compared with a value that is not "
			     "constant",
			     c->p->aggs[agg].name);
		return;
	}
	dir = agg_direction(c->p, sum_ok, agg);
	if (dir == 0) {
		not_monotone(c, n, "%s (%s%s) may fall as rows are added",
			     c->p->aggs[agg].name,
			     agg_names[c->p->specs[agg].kind],
			     c->p->specs[agg].kind == AGG_SUM
				 ? " of values not proven >= 0"
				 : "");
		return;
	}
	if (dir != want)
		not_monotone(c, n, "%s (%s) only %s as rows are added",
			     c->p->aggs[agg].name,
			     agg_names[c->p->specs[agg].kind],
			     dir > 0 ? "grows" : "falls");
}

/*
 * Whether an expression is >= 0 or null on every row: literals,
 * CASE/COALESCE of such, LENGTH, MV_COUNT, ABS.  SUM skips nulls.
 */
static bool
nonneg(const struct esql_node *n)
{
	switch (n->kind) {
	case ESQL_N_NULL:
		return true;
	case ESQL_N_INT:
		return n->i >= 0;
	case ESQL_N_DOUBLE:
		return n->d >= 0;
	case ESQL_N_CALL:
		if (strcasecmp(n->s, "length") == 0 ||
		    strcasecmp(n->s, "mv_count") == 0 ||
		    strcasecmp(n->s, "abs") == 0)
			return true;
		if (strcasecmp(n->s, "coalesce") == 0) {
			for (size_t i = 0; i < n->nargs; i++)
				if (!nonneg(n->args[i]))
					return false;
			return n->nargs > 0;
		}
		if (strcasecmp(n->s, "case") == 0) {
			/* values at odd positions and the default */
			for (size_t i = 1; i < n->nargs; i += 2)
				if (!nonneg(n->args[i]))
					return false;
			return n->nargs % 2 == 0 ||
			       nonneg(n->args[n->nargs - 1]);
		}
		return false;
	case ESQL_N_CAST:
		return nonneg(n->args[0]);
	default:
		return false;
	}
}

/* Commands. */

static int
compile_where(struct compiler *c, const struct esql_cmd *cmd,
	      const bool *sum_ok)
{
	struct esql_expr *e;
	enum esql_type t;

	if (refuse_meta(c, cmd->cond, "WHERE") == -1)
		return -1;
	c->kql_ok = !c->in_post && !c->seen_expand;
	e = build(c, cmd->cond);
	c->kql_ok = false;
	if (e == NULL)
		return -1;
	t = esql_expr_type(e);
	if (t != ESQL_T_BOOLEAN && t != ESQL_T_NULL) {
		fail(c, cmd->cond->line, cmd->cond->col,
		     "WHERE needs a boolean condition, found %s",
		     esql_type_name(t));
		esql_expr_free(e);
		return -1;
	}
	if (c->in_post && c->pass2)
		check_monotone(c, cmd->cond, sum_ok);
	add_step(c, ESQL_STEP_WHERE, -1, e);
	return 0;
}

static int
compile_eval(struct compiler *c, const struct esql_cmd *cmd)
{
	for (size_t i = 0; i < cmd->nitems; i++) {
		const struct esql_item *it = &cmd->items[i];
		struct post_col *pc;
		struct esql_expr *e;
		int64_t span;
		bool bucket = !c->in_post && is_bucket_expr(c, it->expr, &span);
		int column;
		char *name;

		const struct esql_node *at = NULL;
		const char *meta = reads_meta(c, it->expr, &at);

		if ((e = build(c, it->expr)) == NULL)
			return -1;
		if (c->in_post) {
			bool deps = reads_aggs(c, it->expr);
			int agg = agg_of_name(c, it->expr);

			column = new_column(c);
			pc = post_col(c, column);
			pc->deps = deps;
			pc->agg = agg;
		} else
			column = new_column(c);
		add_step(c, ESQL_STEP_EVAL, column, e);
		if (meta != NULL)
			note_meta(c, column, meta);
		if (bucket)
			note_bucket(c, column, span, it->expr);
		if (!c->in_post && it->expr->kind == ESQL_N_FIELD)
			note_copy(c, column, it->expr);
		name = it->name != NULL ? xstrdup(it->name) : item_text(it);
		scope_define(&c->sc, name, column, esql_expr_type(e));
		free(name);
	}
	return 0;
}

static int
compile_keep(struct compiler *c, const struct esql_cmd *cmd)
{
	struct esql_plan *p = c->p;
	struct named *cand = NULL, *out;
	size_t ncand = 0, nout = 0;
	int *best;
	struct named nm;

	/* exact names resolve like references, and must exist */
	for (size_t k = 0; k < cmd->nnames; k++)
		if (!is_pattern(cmd->names[k]) &&
		    lookup(c, cmd->names[k], cmd->line, cmd->col, &nm) == -1)
			return -1;
	cand = xcalloc(c->sc.n + p->nfields + 1, sizeof(*cand));
	for (size_t i = 0; i < c->sc.n; i++)
		cand[ncand++] = c->sc.v[i];
	for (size_t f = 0; f < p->nfields; f++)
		if (scope_find(&c->sc, p->fields[f]) < 0 &&
		    field_visible(&c->sc, p->fields[f])) {
			cand[ncand].name = p->fields[f];
			cand[ncand].column = (int)f;
			cand[ncand].type = p->field_types[f];
			ncand++;
		}
	best = xcalloc(ncand + 1, sizeof(*best));
	for (size_t i = 0; i < ncand; i++) {
		int rank = 0;

		best[i] = -1;
		for (size_t k = 0; k < cmd->nnames; k++) {
			const char *pat = cmd->names[k];
			int r = pattern_rank(pat);

			if (!glob_match(pat, cand[i].name) || r < rank)
				continue;
			rank = r;
			best[i] = (int)k;
		}
	}
	out = xcalloc(ncand + 1, sizeof(*out));
	for (size_t k = 0; k < cmd->nnames; k++)
		for (size_t i = 0; i < ncand; i++)
			if (best[i] == (int)k) {
				out[nout] = cand[i];
				out[nout].name = xstrdup(cand[i].name);
				nout++;
			}
	for (size_t i = 0; i < c->sc.n; i++)
		free(c->sc.v[i].name);
	free(c->sc.v);
	c->sc.v = out;
	c->sc.n = nout;
	c->sc.cap = ncand + 1;
	scope_filter(&c->sc, cmd);
	free(best);
	free(cand);
	return 0;
}

static int
compile_drop(struct compiler *c, const struct esql_cmd *cmd)
{
	for (size_t k = 0; k < cmd->nnames; k++) {
		const char *pat = cmd->names[k];
		bool hit = false;

		for (size_t i = c->sc.n; i-- > 0;)
			if (glob_match(pat, c->sc.v[i].name)) {
				scope_remove(&c->sc, i);
				hit = true;
			}
		if (!hit && !is_pattern(pat) && !field_visible(&c->sc, pat)) {
			fail(c, cmd->line, cmd->col, "Unknown column [%s]",
			     pat);
			return -1;
		}
	}
	scope_filter(&c->sc, cmd);
	return 0;
}

static int
compile_rename(struct compiler *c, const struct esql_cmd *cmd)
{
	for (size_t k = 0; k < cmd->nrenames; k++) {
		const struct esql_rename *r = &cmd->renames[k];
		struct named nm;
		ssize_t i, j;

		if (lookup(c, r->from, r->line, r->col, &nm) == -1)
			return -1;
		i = scope_find(&c->sc, r->from);
		if (i < 0) {
			/* an event field: listed under its new name */
			scope_define(&c->sc, r->to, nm.column, nm.type);
			continue;
		}
		/* in place, as ES|QL keeps the column's position */
		if ((j = scope_find(&c->sc, r->to)) >= 0 && j != i) {
			scope_remove(&c->sc, (size_t)j);
			if (j < i)
				i--;
		}
		free(c->sc.v[i].name);
		c->sc.v[i].name = xstrdup(r->to);
	}
	scope_filter(&c->sc, cmd);
	return 0;
}

static int
compile_mv_expand(struct compiler *c, const struct esql_cmd *cmd)
{
	struct named nm;

	if (lookup(c, cmd->names[0], cmd->line, cmd->col, &nm) == -1)
		return -1;
	add_step(c, ESQL_STEP_MV_EXPAND, nm.column, NULL);
	if (c->in_post) {
		post_col(c, nm.column);
		if (c->why == NULL && c->pass2) {
			struct esql_node at = {.line = cmd->line,
					       .col = cmd->col};

			not_monotone(c, &at,
				     "MV_EXPAND after STATS makes rows that "
				     "a later WHERE may drop");
		}
	} else
		c->seen_expand = true;
	return 0;
}

static void
note_ignored(struct compiler *c, const struct esql_cmd *cmd, const char *what)
{
	char tmp[120];
	int n;

	n = snprintf(tmp, sizeof(tmp), "%s%s at %d:%d",
		     c->ignored.len > 0 ? ", " : "", what, cmd->line, cmd->col);
	buf_append(&c->ignored, tmp, (size_t)n);
}

static int
compile_sort(struct compiler *c, const struct esql_cmd *cmd)
{
	struct esql_plan *p = c->p;

	for (size_t k = 0; k < cmd->nkeys; k++) {
		const struct esql_sort_key *key = &cmd->keys[k];
		struct esql_expr *e;
		enum esql_type t;
		int column;

		if (!c->in_post) {
			/* checked, then not applied */
			if ((e = build(c, key->expr)) == NULL)
				return -1;
			esql_expr_free(e);
			continue;
		}
		if ((column = column_of(c, key->expr, &t)) < 0)
			return -1;
		if (k == 0) {
			/* a later SORT orders the rows anew */
			p->nsort = 0;
		}
		p->sort =
		    xreallocarray(p->sort, p->nsort + 1, sizeof(*p->sort));
		p->sort[p->nsort].column = column;
		p->sort[p->nsort].desc = key->desc;
		p->sort[p->nsort].nulls_first = key->nulls_first;
		p->nsort++;
		if (key->expr->kind != ESQL_N_FIELD) {
			struct post_col *pc = post_col(c, column);

			pc->deps = reads_aggs(c, key->expr);
		}
	}
	if (!c->in_post)
		note_ignored(c, cmd, "SORT");
	return 0;
}

/* Whether an expression calls an aggregate function. */
static bool
has_agg(const struct esql_node *n)
{
	if (n->kind == ESQL_N_CALL &&
	    (agg_kind_of(n->s) >= 0 || is_other_agg(n->s)))
		return true;
	for (size_t i = 0; i < n->nargs; i++)
		if (has_agg(n->args[i]))
			return true;
	return false;
}

/* The aggregates and groups of STATS; opens the post program. */
static int
compile_stats(struct compiler *c, const struct esql_cmd *cmd, bool *sum_ok)
{
	struct esql_plan *p = c->p;
	size_t naggs = cmd->nitems, nby = cmd->nby;
	int *set_arg, *set_where;

	p->shape = ESQL_SHAPE_BUCKETED;
	p->aggs = xcalloc(naggs + 1, sizeof(*p->aggs));
	p->specs = xcalloc(naggs + 1, sizeof(*p->specs));
	p->by = xcalloc(nby + 1, sizeof(*p->by));
	set_arg = xcalloc(naggs + 1, sizeof(*set_arg));
	set_where = xcalloc(naggs + 1, sizeof(*set_where));
	p->bucket_by = -1;
	p->watermark_by = -1;
	for (size_t i = 0; i < naggs; i++) {
		const struct esql_item *it = &cmd->items[i];
		const struct esql_node *n = it->expr;
		struct esql_agg *a = &p->aggs[i];
		struct agg_spec *s = &p->specs[i];
		enum esql_type t = ESQL_T_NULL;
		int kind;

		a->name = it->name != NULL ? xstrdup(it->name) : item_text(it);
		p->naggs++;
		a->arg_column = -1;
		a->where = -1;
		s->set = -1;
		kind = n->kind == ESQL_N_CALL ? agg_kind_of(n->s) : -1;
		if (kind < 0) {
			char *text = node_text(n);

			if (n->kind == ESQL_N_CALL && is_other_agg(n->s))
				fail(c, n->line, n->col,
				     "aggregate function %s is not supported",
				     n->s);
			else if (has_agg(n))
				fail(c, n->line, n->col,
				     "an expression over aggregates in STATS "
				     "is not supported (compute it in an EVAL "
				     "after STATS): %.100s",
				     text);
			else
				fail(c, n->line, n->col,
				     "STATS needs an aggregate function, found "
				     "%.100s",
				     text);
			free(text);
			goto fail;
		}
		if (kind == AGG_COUNT &&
		    (n->nargs == 0 ||
		     (n->nargs == 1 && n->args[0]->kind == ESQL_N_STAR)))
			kind = AGG_COUNT_ALL;
		else if (n->nargs == 2 && kind == AGG_COUNT_DISTINCT &&
			 n->args[1]->kind == ESQL_N_INT) {
			/* a precision: the count is exact anyway */
		} else if (n->nargs != 1) {
			fail(c, n->line, n->col, "%s takes 1 argument, got %zu",
			     agg_names[kind], n->nargs);
			goto fail;
		}
		s->kind = (enum agg_kind)kind;
		if (kind != AGG_COUNT_ALL) {
			a->arg_column = column_of(c, n->args[0], &t);
			if (a->arg_column < 0)
				goto fail;
			if (kind == AGG_SUM || kind == AGG_AVG
				? t != ESQL_T_INTEGER && t != ESQL_T_LONG &&
				      t != ESQL_T_DOUBLE
				: t == ESQL_T_NULL ||
				      t == ESQL_T_TIME_DURATION ||
				      t == ESQL_T_DATE_PERIOD) {
				fail(c, n->line, n->col,
				     "%s does not take a %s argument",
				     agg_names[kind], esql_type_name(t));
				goto fail;
			}
			sum_ok[i] = kind == AGG_SUM && nonneg(n->args[0]);
		}
		s->type = t;
		if (it->where != NULL) {
			a->where = column_of(c, it->where, &t);
			if (a->where < 0)
				goto fail;
			if (t != ESQL_T_BOOLEAN && t != ESQL_T_NULL) {
				fail(c, it->where->line, it->where->col,
				     "an aggregate's WHERE needs a boolean "
				     "condition, found %s",
				     esql_type_name(t));
				goto fail;
			}
		}
		if (kind == AGG_COUNT_DISTINCT || kind == AGG_VALUES) {
			size_t k;

			for (k = 0; k < p->nsets; k++)
				if (set_arg[k] == a->arg_column &&
				    set_where[k] == a->where)
					break;
			if (k == p->nsets) {
				set_arg[k] = a->arg_column;
				set_where[k] = a->where;
				p->nsets++;
			}
			s->set = (int)k;
		}
	}
	for (size_t i = 0; i < nby; i++) {
		const struct esql_item *it = &cmd->by[i];
		const struct esql_node *n = it->expr;
		const struct bucket_col *bc;
		struct esql_by *b = &p->by[i];
		int64_t span = 0;
		bool bucket = is_bucket_expr(c, n, &span);

		b->name = it->name != NULL          ? xstrdup(it->name)
			  : n->kind == ESQL_N_FIELD ? xstrdup(n->s)
						    : item_text(it);
		p->nby++;
		b->column = column_of(c, n, &b->type);
		if (b->column < 0)
			goto fail;
		if (!bucket && (bc = find_bucket(c, b->column)) != NULL) {
			bucket = true;
			span = bc->span_ms;
		}
		if (bucket && p->bucket_by < 0) {
			if (span <= 0) {
				fail(c, n->line, n->col,
				     "a window of a calendar span is not "
				     "supported: DATE_TRUNC's span must be a "
				     "time duration");
				goto fail;
			}
			p->bucket_by = (int)i;
			p->span_ms = span;
		}
	}
	if (p->bucket_by < 0) {
		fail(c, cmd->line, cmd->col,
		     "STATS without a DATE_TRUNC(..., @timestamp) key in BY "
		     "is not supported (it aggregates a whole scheduled "
		     "look-back)");
		goto fail;
	}
	for (size_t w = 0; w < 3 && p->watermark_by < 0; w++) {
		static const char *const keys[] = {"agent.id", "host.id",
						   "host.name"};

		for (size_t i = 0; i < p->nby; i++) {
			int col = origin(c, p->by[i].column);

			if (col >= 0 && (size_t)col < p->nfields &&
			    strcmp(p->fields[col], keys[w]) == 0) {
				p->watermark_by = (int)i;
				break;
			}
		}
	}
	free(set_arg);
	free(set_where);
	return 0;
fail:
	free(set_arg);
	free(set_where);
	return -1;
}

/* The columns visible at the end, into pg->out. */
static void
set_out(struct compiler *c, struct esql_program *pg)
{
	struct esql_plan *p = c->p;
	size_t n = 0, cap = c->sc.n + p->nfields + 1;
	size_t *idx = xcalloc(p->nfields + 1, sizeof(*idx)), nidx = 0;

	pg->out = xcalloc(cap, sizeof(*pg->out));
	/* event fields still visible, in name order, then the listed */
	for (size_t f = 0; f < p->nfields; f++)
		if (scope_find(&c->sc, p->fields[f]) < 0 &&
		    field_visible(&c->sc, p->fields[f]))
			idx[nidx++] = f;
	for (size_t i = 1; i < nidx; i++)
		for (size_t j = i; j > 0 && strcmp(p->fields[idx[j - 1]],
						   p->fields[idx[j]]) > 0;
		     j--) {
			size_t t = idx[j];

			idx[j] = idx[j - 1];
			idx[j - 1] = t;
		}
	for (size_t i = 0; i < nidx; i++) {
		pg->out[n].name = xstrdup(p->fields[idx[i]]);
		pg->out[n].column = (int)idx[i];
		pg->out[n].type = p->field_types[idx[i]];
		n++;
	}
	for (size_t i = 0; i < c->sc.n; i++) {
		pg->out[n].name = xstrdup(c->sc.v[i].name);
		pg->out[n].column = c->sc.v[i].column;
		pg->out[n].type = c->sc.v[i].type;
		n++;
	}
	pg->nout = n;
	free(idx);
}

/* METADATA columns: null in a stream. */
static int
compile_from(struct compiler *c, const struct esql_cmd *cmd)
{
	static const struct {
		const char *name;
		enum esql_type t;
	} meta[] = {
	    {"_id", ESQL_T_KEYWORD},      {"_index", ESQL_T_KEYWORD},
	    {"_version", ESQL_T_LONG},    {"_score", ESQL_T_DOUBLE},
	    {"_ignored", ESQL_T_KEYWORD}, {"_index_mode", ESQL_T_KEYWORD},
	};
	struct esql_plan *p = c->p;

	p->indices = xcalloc(cmd->nnames + 1, sizeof(*p->indices));
	for (size_t i = 0; i < cmd->nnames; i++)
		p->indices[p->nindices++] = xstrdup(cmd->names[i]);
	p->metadata = xcalloc(cmd->nmetadata + 1, sizeof(*p->metadata));
	for (size_t i = 0; i < cmd->nmetadata; i++) {
		struct esql_val v;
		size_t k;
		int column;

		for (k = 0; k < sizeof(meta) / sizeof(*meta); k++)
			if (strcmp(cmd->metadata[i], meta[k].name) == 0)
				break;
		if (k == sizeof(meta) / sizeof(*meta)) {
			fail(c, cmd->line, cmd->col,
			     "METADATA %.64s is not supported",
			     cmd->metadata[i]);
			return -1;
		}
		p->metadata[p->nmetadata++] = xstrdup(cmd->metadata[i]);
		esql_val_null(&v, meta[k].t);
		column = new_column(c);
		add_step(c, ESQL_STEP_EVAL, column,
			 esql_expr_lit(&v, (unsigned)cmd->line,
				       (unsigned)cmd->col));
		scope_define(&c->sc, meta[k].name, column, meta[k].t);
		note_meta(c, column, meta[k].name);
	}
	return 0;
}

static int
compile_pipeline(struct compiler *c, const struct esql_query *q)
{
	struct esql_plan *p = c->p;
	size_t stats = 0;
	bool *sum_ok = NULL;
	int rc = -1;

	for (size_t i = 1; i < q->ncmds; i++)
		if (q->cmds[i].kind == ESQL_CMD_STATS) {
			stats = i;
			break;
		}
	c->pg = &p->pre;
	c->pg->ncols = c->pass2 ? p->nfields : 0;
	c->next_col = c->pass2 ? (int)p->nfields : PASS1_BASE;
	if (q->ncmds == 0 || q->cmds[0].kind != ESQL_CMD_FROM) {
		fail(c, 1, 1, "a query starts with FROM");
		return -1;
	}
	if (compile_from(c, &q->cmds[0]) == -1)
		return -1;
	for (size_t i = 1; i < q->ncmds; i++) {
		const struct esql_cmd *cmd = &q->cmds[i];

		switch (cmd->kind) {
		case ESQL_CMD_WHERE:
			if (compile_where(c, cmd, sum_ok) == -1)
				goto out;
			break;
		case ESQL_CMD_EVAL:
			if (compile_eval(c, cmd) == -1)
				goto out;
			break;
		case ESQL_CMD_KEEP:
			if (compile_keep(c, cmd) == -1)
				goto out;
			break;
		case ESQL_CMD_DROP:
			if (compile_drop(c, cmd) == -1)
				goto out;
			break;
		case ESQL_CMD_RENAME:
			if (compile_rename(c, cmd) == -1)
				goto out;
			break;
		case ESQL_CMD_MV_EXPAND:
			if (c->limit_line > 0) {
				fail(c, cmd->line, cmd->col,
				     "MV_EXPAND after LIMIT is not supported");
				goto out;
			}
			if (compile_mv_expand(c, cmd) == -1)
				goto out;
			break;
		case ESQL_CMD_SORT:
			if (c->limit_line > 0) {
				fail(c, cmd->line, cmd->col,
				     "SORT after LIMIT is not supported");
				goto out;
			}
			if (compile_sort(c, cmd) == -1)
				goto out;
			break;
		case ESQL_CMD_LIMIT:
			if (!c->in_post && stats > 0) {
				fail(c, cmd->line, cmd->col,
				     "LIMIT before STATS is not supported (it "
				     "keeps the first rows of a scheduled "
				     "run)");
				goto out;
			}
			if (!c->in_post) {
				note_ignored(c, cmd, "LIMIT");
				break;
			}
			if (p->limit < 0 || cmd->limit < p->limit)
				p->limit = cmd->limit;
			if (c->limit_line == 0) {
				c->limit_line = cmd->line;
				c->limit_col = cmd->col;
			}
			break;
		case ESQL_CMD_STATS:
			if (c->in_post) {
				fail(c, cmd->line, cmd->col,
				     "a second STATS is not supported (it "
				     "aggregates the output of the first)");
				goto out;
			}
			c->stats_line = cmd->line;
			c->stats_col = cmd->col;
			for (size_t k = 0; k < cmd->nitems; k++)
				if (refuse_meta(c, cmd->items[k].expr,
						"STATS") == -1 ||
				    refuse_meta(c, cmd->items[k].where,
						"STATS ... WHERE") == -1)
					goto out;
			for (size_t k = 0; k < cmd->nby; k++)
				if (refuse_meta(c, cmd->by[k].expr, "BY") == -1)
					goto out;
			sum_ok = xcalloc(cmd->nitems + 1, sizeof(*sum_ok));
			if (compile_stats(c, cmd, sum_ok) == -1)
				goto out;
			set_out(c, &p->pre);
			/* the post row: aggregates, then groups */
			scope_fini(&c->sc);
			c->sc.closed = true;
			c->in_post = true;
			c->pg = &p->post;
			c->capsteps = 0;
			p->post.ncols = p->naggs + p->nby;
			c->next_col = (int)(p->naggs + p->nby);
			for (size_t k = 0; k < p->naggs; k++) {
				struct post_col *pc = post_col(c, (int)k);

				pc->agg = (int)k;
				pc->deps = true;
				scope_define(&c->sc, p->aggs[k].name, (int)k,
					     agg_result_type(&p->specs[k]));
			}
			for (size_t k = 0; k < p->nby; k++) {
				post_col(c, (int)(p->naggs + k));
				scope_define(&c->sc, p->by[k].name,
					     (int)(p->naggs + k),
					     p->by[k].type);
			}
			break;
		case ESQL_CMD_FROM:
			fail(c, cmd->line, cmd->col,
			     "FROM is only valid as the first command");
			goto out;
		}
		if (c->in_post && c->limit_line > 0 &&
		    cmd->kind == ESQL_CMD_WHERE) {
			fail(c, cmd->line, cmd->col,
			     "WHERE after LIMIT is not supported");
			goto out;
		}
	}
	if (c->in_post)
		set_out(c, &p->post);
	else
		set_out(c, &p->pre);
	if (c->pass2 && c->in_post) {
		bool any_where = false;

		for (size_t i = 0; i < p->post.nsteps; i++)
			any_where |= p->post.steps[i].kind == ESQL_STEP_WHERE;
		if (c->why == NULL && c->limit_line > 0) {
			struct esql_node at = {.line = c->limit_line,
					       .col = c->limit_col};

			not_monotone(c, &at,
				     "LIMIT keeps the first rows by sort "
				     "order, known only when the window "
				     "closes");
		}
		if (c->why == NULL && !any_where)
			c->why = xstrdup(
			    "not monotone: no condition after STATS: every "
			    "group alerts, at window close (early, it would "
			    "alert at its first row)");
		p->monotone = c->why == NULL;
		p->why = c->why != NULL
			     ? c->why
			     : xstrdup("monotone: each condition after STATS "
				       "compares a growing COUNT, "
				       "COUNT_DISTINCT, SUM or MAX (or a "
				       "falling MIN) with a constant");
		c->why = NULL;
	}
	rc = 0;
out:
	free(sum_ok);
	return rc;
}

/* Needles: the best set among the early WHERE steps on input columns. */

static void
count_non_input(void *arg, int column)
{
	size_t *a = arg;

	if ((size_t)column >= a[0])
		a[1]++;
}

/*
 * Value tests: the WHERE steps on input columns before any MV_EXPAND
 * (after it, each value makes a row of its own).
 */
static void
pick_tests(struct esql_plan *p)
{
	p->ntests = 0;
	for (size_t i = 0; i < p->pre.nsteps; i++) {
		const struct esql_step *st = &p->pre.steps[i];
		size_t acc[2] = {p->nfields, 0};

		if (st->kind == ESQL_STEP_MV_EXPAND)
			break;
		if (st->kind != ESQL_STEP_WHERE)
			continue;
		esql_expr_columns(st->expr, count_non_input, acc);
		if (acc[1] == 0)
			p->ntests += esql_expr_value_tests(st->expr,
							   p->tests + p->ntests,
							   ESQL_PLAN_MAX_TESTS -
							       p->ntests);
	}
}

static void
pick_needles(struct esql_plan *p)
{
	size_t best_min = 0;

	p->has_needles = false;
	p->ngroups = 0;
	for (size_t i = 0; i < p->pre.nsteps; i++) {
		const struct esql_step *st = &p->pre.steps[i];
		struct esql_needles nd;
		size_t acc[2] = {p->nfields, 0}, shortest = SIZE_MAX;

		/*
		 * MV_EXPAND leaves in its column one of the values the event
		 * had, a JSON string of its own: the needles of a later WHERE
		 * still stand where they say.
		 */
		if (st->kind != ESQL_STEP_WHERE)
			continue;
		esql_expr_columns(st->expr, count_non_input, acc);
		if (acc[1] > 0)
			continue;
		p->ngroups +=
		    esql_expr_needle_groups(st->expr, p->groups + p->ngroups,
					    ESQL_PLAN_MAX_GROUPS - p->ngroups);
		if (!esql_expr_needles(st->expr, &nd) || nd.n == 0)
			continue;
		for (size_t k = 0; k < nd.n; k++)
			if (nd.v[k].len < shortest)
				shortest = nd.v[k].len;
		if (!p->has_needles || shortest > best_min) {
			p->needles = nd;
			p->has_needles = true;
			best_min = shortest;
		}
	}
}

/* Fingerprint: XXH3 of a canonical text of everything that runs. */

static void bprintf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
bprintf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n <= 0)
		return;
	buf_reserve(b, (size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

static void
program_canon(const struct esql_program *pg, struct buf *b)
{
	bprintf(b, "ncols %zu\n", pg->ncols);
	for (size_t i = 0; i < pg->nsteps; i++) {
		const struct esql_step *st = &pg->steps[i];

		bprintf(b, "step %d %d ", (int)st->kind, st->column);
		if (st->expr != NULL) {
			bprintf(b, "%s ",
				esql_type_name(esql_expr_type(st->expr)));
			esql_expr_print(st->expr, b);
		}
		bprintf(b, "\n");
	}
	for (size_t i = 0; i < pg->nout; i++)
		bprintf(b, "out %zu:%s %d %s\n", strlen(pg->out[i].name),
			pg->out[i].name, pg->out[i].column,
			esql_type_name(pg->out[i].type));
}

static uint64_t
fingerprint(const struct esql_plan *p)
{
	struct buf b = {0};
	uint64_t h;

	bprintf(&b, "burstd esql plan 1\nshape %d\n", (int)p->shape);
	for (size_t i = 0; i < p->nfields; i++)
		bprintf(&b, "field %zu:%s %s\n", strlen(p->fields[i]),
			p->fields[i], esql_type_name(p->field_types[i]));
	program_canon(&p->pre, &b);
	if (p->shape == ESQL_SHAPE_BUCKETED) {
		bprintf(&b, "span %" PRId64 " bucket %d watermark %d\n",
			p->span_ms, p->bucket_by, p->watermark_by);
		for (size_t i = 0; i < p->nby; i++)
			bprintf(&b, "by %zu:%s %d %s\n", strlen(p->by[i].name),
				p->by[i].name, p->by[i].column,
				esql_type_name(p->by[i].type));
		for (size_t i = 0; i < p->naggs; i++)
			bprintf(&b, "agg %zu:%s %d %s %d %d %d\n",
				strlen(p->aggs[i].name), p->aggs[i].name,
				(int)p->specs[i].kind,
				esql_type_name(p->specs[i].type),
				p->specs[i].set, p->aggs[i].arg_column,
				p->aggs[i].where);
		bprintf(&b, "sets %zu\n", p->nsets);
		program_canon(&p->post, &b);
		for (size_t i = 0; i < p->nsort; i++)
			bprintf(&b, "sort %d %d %d\n", p->sort[i].column,
				p->sort[i].desc, p->sort[i].nulls_first);
		bprintf(&b, "limit %" PRId64 "\n", p->limit);
	}
	h = XXH3_64bits(b.data, b.len);
	buf_free(&b);
	return h;
}

/* Compiling. */

static struct esql_plan *
plan_new(void)
{
	struct esql_plan *p = xcalloc(1, sizeof(*p));

	p->time_column = -1;
	p->bucket_by = -1;
	p->watermark_by = -1;
	p->limit = -1;
	return p;
}

static void
compiler_fini(struct compiler *c)
{
	scope_fini(&c->sc);
	free(c->buckets);
	free(c->copies);
	free(c->pcols);
	free(c->metas);
	free(c->why);
	buf_free(&c->ignored);
}

struct esql_plan *
esql_plan_compile(const struct esql_query *q, char *err, size_t errlen)
{
	struct compiler c;
	struct esql_plan *p1 = plan_new(), *p;
	struct buf b = {0};

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	/* pass 1: which fields */
	memset(&c, 0, sizeof(c));
	c.p = p1;
	c.err = err;
	c.errlen = errlen;
	if (compile_pipeline(&c, q) == -1) {
		compiler_fini(&c);
		esql_plan_free(p1);
		return NULL;
	}
	compiler_fini(&c);
	/* pass 2: the fields first, then the computed columns */
	p = plan_new();
	p->fields = p1->fields;
	p->field_types = p1->field_types;
	p->nfields = p1->nfields;
	p->time_column = p1->time_column;
	p1->fields = NULL;
	p1->field_types = NULL;
	p1->nfields = 0;
	esql_plan_free(p1);
	memset(&c, 0, sizeof(c));
	c.p = p;
	c.err = err;
	c.errlen = errlen;
	c.pass2 = true;
	c.capfields = p->nfields;
	if (compile_pipeline(&c, q) == -1) {
		compiler_fini(&c);
		esql_plan_free(p);
		return NULL;
	}
	if (p->shape == ESQL_SHAPE_BUCKETED) {
		struct agg_def def = {p->specs, p->naggs, p->nsets, 1, {0}};
		char why[200];

		if (agg_def_check(&def, why, sizeof(why)) == -1) {
			fail(&c, c.stats_line, c.stats_col, "%s", why);
			agg_def_fini(&def);
			compiler_fini(&c);
			esql_plan_free(p);
			return NULL;
		}
		agg_def_fini(&def);
	} else {
		p->monotone = false;
		p->why = xstrdup("not monotone: no STATS: every row that "
				 "passes is an alert when it is read");
	}
	if (c.ignored.len > 0) {
		buf_append(&c.ignored, "", 0);
		p->ignored = xstrndup(c.ignored.data, c.ignored.len);
	}
	compiler_fini(&c);
	pick_needles(p);
	pick_tests(p);
	esql_query_print(q, &b);
	p->text = xstrndup(b.data != NULL ? b.data : "", b.len);
	buf_free(&b);
	p->fingerprint = fingerprint(p);
	return p;
}

struct esql_plan *
esql_plan_from_text(const char *text, size_t len, char *err, size_t errlen)
{
	struct esql_query *q = esql_query_parse(text, len, err, errlen);
	struct esql_plan *p;

	if (q == NULL)
		return NULL;
	p = esql_plan_compile(q, err, errlen);
	esql_query_free(q);
	return p;
}

static void
strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void
esql_plan_free(struct esql_plan *p)
{
	if (p == NULL)
		return;
	free(p->text);
	strv_free(p->indices, p->nindices);
	strv_free(p->metadata, p->nmetadata);
	free(p->ignored);
	strv_free(p->fields, p->nfields);
	free(p->field_types);
	program_fini(&p->pre);
	for (size_t i = 0; i < p->nby; i++)
		free(p->by[i].name);
	free(p->by);
	for (size_t i = 0; i < p->naggs; i++)
		free(p->aggs[i].name);
	free(p->aggs);
	free(p->specs);
	program_fini(&p->post);
	free(p->sort);
	free(p->why);
	free(p);
}

/* Explain. */

static const char *
step_name(enum esql_step_kind k)
{
	switch (k) {
	case ESQL_STEP_EVAL:
		return "EVAL";
	case ESQL_STEP_WHERE:
		return "WHERE";
	default:
		return "MV_EXPAND";
	}
}

static void
program_explain(const char *what, const struct esql_program *pg,
		struct buf *out)
{
	bprintf(out, "%s: %zu columns, %zu steps\n", what, pg->ncols,
		pg->nsteps);
	for (size_t i = 0; i < pg->nsteps; i++) {
		const struct esql_step *st = &pg->steps[i];

		bprintf(out, "%s step %zu: %s", what, i + 1,
			step_name(st->kind));
		if (st->kind != ESQL_STEP_WHERE)
			bprintf(out, " #%d", st->column);
		if (st->kind == ESQL_STEP_EVAL)
			bprintf(out, " =");
		if (st->expr != NULL) {
			bprintf(out, " ");
			esql_expr_print(st->expr, out);
		}
		bprintf(out, "\n");
	}
	for (size_t i = 0; i < pg->nout; i++) {
		bprintf(out, "%s column: ", what);
		esql_name_print(pg->out[i].name, out);
		bprintf(out, " #%d %s\n", pg->out[i].column,
			esql_type_name(pg->out[i].type));
	}
}

/* " field whole \"x\" exact": a needle, its place and its case. */
static void
explain_needle(const struct esql_plan *p, const struct esql_needle *nd,
	       struct buf *out)
{
	bprintf(out, " %s %s \"%.*s\" %s", p->fields[nd->column],
		esql_needle_where_name(nd->where), (int)nd->len, nd->p,
		nd->fold ? "ascii-case-folded" : "exact");
}

void
esql_plan_explain(const struct esql_plan *p, struct buf *out)
{
	bprintf(out, "query: %s\n", p->text != NULL ? p->text : "");
	bprintf(out, "shape: %s\n",
		p->shape == ESQL_SHAPE_FILTER ? "filter (each row is an alert)"
					      : "bucketed STATS");
	bprintf(out, "fingerprint: %016" PRIx64 "\n", p->fingerprint);
	for (size_t i = 0; i < p->nindices; i++)
		bprintf(out, "index: %s (recorded only)\n", p->indices[i]);
	for (size_t i = 0; i < p->nmetadata; i++)
		bprintf(out, "metadata: %s is always null in a stream\n",
			p->metadata[i]);
	for (size_t i = 0; i < p->nfields; i++)
		bprintf(out, "field #%zu: %s %s\n", i, p->fields[i],
			esql_type_name(p->field_types[i]));
	program_explain("pre", &p->pre, out);
	if (p->shape == ESQL_SHAPE_BUCKETED) {
		bprintf(out, "window: %" PRId64 " ms, by key %d (%s)\n",
			p->span_ms, p->bucket_by, p->by[p->bucket_by].name);
		for (size_t i = 0; i < p->nby; i++)
			bprintf(out, "by %zu: %s from pre #%d %s\n", i,
				p->by[i].name, p->by[i].column,
				esql_type_name(p->by[i].type));
		if (p->watermark_by >= 0)
			bprintf(out, "watermark: per %s (by %d)\n",
				p->by[p->watermark_by].name, p->watermark_by);
		else
			bprintf(out, "watermark: global (no agent.id, host.id "
				     "or host.name key)\n");
		for (size_t i = 0; i < p->naggs; i++) {
			bprintf(out, "agg %zu: %s = %s", i, p->aggs[i].name,
				agg_names[p->specs[i].kind]);
			if (p->specs[i].kind == AGG_COUNT_ALL)
				bprintf(out, "(*)");
			else
				bprintf(out, "(pre #%d %s)",
					p->aggs[i].arg_column,
					esql_type_name(p->specs[i].type));
			if (p->aggs[i].where >= 0)
				bprintf(out, " WHERE pre #%d",
					p->aggs[i].where);
			if (p->specs[i].set >= 0)
				bprintf(out, " set %d", p->specs[i].set);
			bprintf(out, "\n");
		}
		bprintf(out, "value sets: %zu\n", p->nsets);
		program_explain("post", &p->post, out);
		for (size_t i = 0; i < p->nsort; i++)
			bprintf(out, "sort: post #%d %s NULLS %s\n",
				p->sort[i].column,
				p->sort[i].desc ? "DESC" : "ASC",
				p->sort[i].nulls_first ? "FIRST" : "LAST");
		if (p->limit >= 0)
			bprintf(out, "limit: %" PRId64 " rows per window\n",
				p->limit);
		else
			bprintf(out, "limit: none (max_signals caps)\n");
	}
	if (p->ignored != NULL)
		bprintf(out, "not applied in a stream: %s\n", p->ignored);
	if (p->has_needles) {
		for (size_t i = 0; i < p->needles.n; i++) {
			bprintf(out, "prefilter:");
			explain_needle(p, &p->needles.v[i], out);
			bprintf(out, "\n");
		}
	} else
		bprintf(out, "prefilter: none\n");
	for (size_t g = 0; g < p->ngroups; g++) {
		const struct esql_needles *nd = &p->groups[g];
		bprintf(out, "prefilter group %zu:", g + 1);
		for (size_t i = 0; i < nd->n; i++) {
			if (i > 0)
				bprintf(out, " or");
			explain_needle(p, &nd->v[i], out);
		}
		bprintf(out, "\n");
	}
	bprintf(out, "alerting: %s\n",
		p->shape == ESQL_SHAPE_FILTER
		    ? "per row, as its event is read"
		    : "when the window closes, or early under alert_on "
		      "threshold if sound");
	if (p->shape == ESQL_SHAPE_BUCKETED)
		bprintf(out, "early alerting: %s: %s\n",
			p->monotone ? "sound" : "unsound",
			p->why != NULL ? p->why : "");
}
