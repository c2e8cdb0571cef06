/*
 * fuzz_esql: esql_query_parse() and esql_plan_compile() on arbitrary
 * bytes.
 *
 * Whatever the input, parsing returns a tree or an error of the form
 * "LINE:COL: message".  A tree prints canonically; the print parses
 * again, and prints the same (the printer is a fixed point after one
 * round).  A tree compiles to a plan or to an error of the same form; a
 * plan's columns are inside its rows, its programs run on a row of
 * nulls within the MV_EXPAND bound, it explains itself, and the
 * printed query compiles to the same plan but for the names of unnamed
 * columns (their text as written).
 */
#include <stdlib.h>
#include <string.h>

#include "esql.h"
#include "esql_plan.h"
#include "fuzz.h"
#include "util.h"

static bool
error_has_position(const char *err)
{
	const char *p = err;

	if (*p < '1' || *p > '9')
		return false;
	while (*p >= '0' && *p <= '9')
		p++;
	if (*p++ != ':' || *p < '1' || *p > '9')
		return false;
	while (*p >= '0' && *p <= '9')
		p++;
	return p[0] == ':' && p[1] == ' ' && p[2] != '\0';
}

static bool
program_ok(const struct esql_program *pg, size_t first)
{
	if (pg->ncols < first)
		return false;
	for (size_t i = 0; i < pg->nsteps; i++) {
		const struct esql_step *st = &pg->steps[i];

		if (st->kind == ESQL_STEP_WHERE ? st->column != -1
		    : st->kind == ESQL_STEP_EVAL
			? st->column < (int)first ||
			      (size_t)st->column >= pg->ncols
			: st->column < 0 || (size_t)st->column >= pg->ncols)
			return false;
		if ((st->expr == NULL) != (st->kind == ESQL_STEP_MV_EXPAND))
			return false;
	}
	for (size_t i = 0; i < pg->nout; i++)
		if (pg->out[i].column < 0 ||
		    (size_t)pg->out[i].column >= pg->ncols)
			return false;
	return true;
}

static void
count_row(void *arg, struct esql_val *row)
{
	(void)row;
	(*(size_t *)arg)++;
}

/* Runs pg on a row of nulls, the inputs typed: bounded rows out. */
static void
run_nulls(const struct esql_program *pg, const enum esql_type *types,
	  size_t ntypes, const struct esql_plan *p)
{
	struct esql_arena arena = {0};
	struct esql_ctx cx = {NULL, &arena, 0};
	struct esql_run run = {0};
	struct esql_val *row = xcalloc(pg->ncols + 1, sizeof(*row));
	size_t n = 0, got;

	for (size_t i = 0; i < pg->ncols; i++)
		esql_val_null(&row[i], i < ntypes ? types[i] : ESQL_T_NULL);
	got = esql_program_run(pg, &cx, row, count_row, &n, &run);
	FUZZ_CHECK(got == n && n <= ESQL_PLAN_MAX_EXPAND);
	if (p != NULL)
		FUZZ_CHECK(esql_plan_sort_cmp(p, row, row) == 0);
	esql_arena_free(&arena);
	free(row);
}

static void
check_plan(const struct esql_query *q, const struct buf *printed)
{
	struct esql_plan *p, *p2;
	struct buf ex = {0};
	char err[256];

	p = esql_plan_compile(q, err, sizeof(err));
	if (p == NULL) {
		if (!error_has_position(err))
			fprintf(stderr, "compile error without position: %s\n",
				err);
		FUZZ_CHECK(error_has_position(err));
		return;
	}
	FUZZ_CHECK(program_ok(&p->pre, p->nfields));
	FUZZ_CHECK(p->time_column < (int)p->nfields);
	if (p->shape == ESQL_SHAPE_BUCKETED) {
		FUZZ_CHECK(program_ok(&p->post, p->naggs + p->nby));
		FUZZ_CHECK(p->bucket_by >= 0 && (size_t)p->bucket_by < p->nby);
		FUZZ_CHECK(p->span_ms > 0);
		for (size_t i = 0; i < p->nby; i++)
			FUZZ_CHECK(p->by[i].column >= 0 &&
				   (size_t)p->by[i].column < p->pre.ncols);
		for (size_t i = 0; i < p->naggs; i++)
			FUZZ_CHECK(p->aggs[i].arg_column < (int)p->pre.ncols &&
				   p->aggs[i].where < (int)p->pre.ncols);
		for (size_t i = 0; i < p->nsort; i++)
			FUZZ_CHECK(p->sort[i].column >= 0 &&
				   (size_t)p->sort[i].column < p->post.ncols);
	}
	for (size_t i = 0; p->has_needles && i < p->needles.n; i++)
		FUZZ_CHECK(p->needles.v[i].column >= 0 &&
			   (size_t)p->needles.v[i].column < p->nfields);
	FUZZ_CHECK(p->why != NULL);
	run_nulls(&p->pre, p->field_types, p->nfields, NULL);
	if (p->shape == ESQL_SHAPE_BUCKETED) {
		size_t nt = p->naggs + p->nby;
		enum esql_type *t = xcalloc(nt + 1, sizeof(*t));

		for (size_t i = 0; i < p->naggs; i++)
			t[i] = agg_result_type(&p->specs[i]);
		for (size_t i = 0; i < p->nby; i++)
			t[p->naggs + i] = p->by[i].type;
		run_nulls(&p->post, t, nt, p);
		free(t);
	}
	esql_plan_explain(p, &ex);
	FUZZ_CHECK(ex.len > 0);
	p2 = esql_plan_from_text(printed->data, printed->len, err, sizeof(err));
	/* unnamed columns take the text as written, which the print
	 * may change: the same plan but for names */
	FUZZ_CHECK(p2 != NULL && p2->shape == p->shape &&
		   p2->nfields == p->nfields && p2->naggs == p->naggs &&
		   p2->pre.nsteps == p->pre.nsteps);
	esql_plan_free(p2);
	esql_plan_free(p);
	buf_free(&ex);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct esql_query *q, *q2;
	struct buf b = {0}, b2 = {0};
	char err[256];

	q = esql_query_parse((const char *)data, size, err, sizeof(err));
	if (q == NULL) {
		FUZZ_CHECK(error_has_position(err));
		return 0;
	}
	FUZZ_CHECK(q->ncmds >= 1 && q->cmds[0].kind == ESQL_CMD_FROM);
	esql_query_print(q, &b);
	q2 = esql_query_parse(b.data, b.len, err, sizeof(err));
	if (q2 == NULL)
		fprintf(stderr, "print does not parse: %s\n%.*s\n", err,
			(int)b.len, b.data);
	FUZZ_CHECK(q2 != NULL);
	esql_query_print(q2, &b2);
	FUZZ_CHECK(b.len == b2.len && memcmp(b.data, b2.data, b.len) == 0);
	check_plan(q, &b);
	esql_query_free(q);
	esql_query_free(q2);
	buf_free(&b);
	buf_free(&b2);
	return 0;
}
