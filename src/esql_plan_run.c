/*
 * esql_plan_run: running a compiled program on one row, and the SORT
 * order of post rows.  See include/esql_plan.h.
 *
 * A program is a list of steps; MV_EXPAND is the only step that turns
 * one row into several, so the runner loops over steps and recurses
 * only at an MV_EXPAND of a multi-value: the depth is bounded by the
 * program's MV_EXPAND steps (at most ESQL_MAX_COMMANDS).
 */
#include <assert.h>
#include <string.h>

#include "esql_plan.h"

struct runner {
	const struct esql_program *pg;
	struct esql_ctx *cx;
	esql_row_fn *emit;
	void *arg;
	size_t budget;  /* rows MV_EXPAND may still make */
	size_t emitted; /* rows passed to emit */
	uint64_t cut;   /* values MV_EXPAND dropped */
};

/* Whether a WHERE condition's value is true. */
static bool
is_true(const struct esql_val *v)
{
	return v->type == ESQL_T_BOOLEAN && v->n == 1 &&
	       esql_val_items(v)[0].u.l != 0;
}

static void
run_from(struct runner *r, struct esql_val *row, size_t i)
{
	const struct esql_program *pg = r->pg;
	struct esql_val v, saved;
	const struct esql_scalar *items;

	for (; i < pg->nsteps; i++) {
		const struct esql_step *st = &pg->steps[i];

		switch (st->kind) {
		case ESQL_STEP_EVAL:
			assert(st->column >= 0 &&
			       (size_t)st->column < pg->ncols);
			if (esql_eval(st->expr, r->cx, &v) != 0)
				esql_val_null(&v, esql_expr_type(st->expr));
			row[st->column] = v;
			break;
		case ESQL_STEP_WHERE:
			if (esql_eval(st->expr, r->cx, &v) != 0 || !is_true(&v))
				return;
			break;
		case ESQL_STEP_MV_EXPAND:
			assert(st->column >= 0 &&
			       (size_t)st->column < pg->ncols);
			saved = row[st->column];
			if (saved.n <= 1)
				break;
			items = esql_val_items(&saved);
			for (size_t k = 0; k < saved.n; k++) {
				if (r->budget == 0) {
					r->cut += saved.n - k;
					break;
				}
				r->budget--;
				row[st->column].type = saved.type;
				row[st->column].n = 1;
				row[st->column].many = NULL;
				row[st->column].one = items[k];
				run_from(r, row, i + 1);
			}
			row[st->column] = saved;
			return;
		}
	}
	r->emitted++;
	r->emit(r->arg, row);
}

size_t
esql_program_run(const struct esql_program *pg, struct esql_ctx *cx,
		 struct esql_val *row, esql_row_fn *emit, void *arg,
		 struct esql_run *run)
{
	struct runner r = {pg, cx, emit, arg, ESQL_PLAN_MAX_EXPAND, 0, 0};

	cx->cols = row;
	run_from(&r, row, 0);
	if (run != NULL)
		run->expand_cut += r.cut;
	return r.emitted;
}

/* The value a multi-value sorts by: least ascending, greatest descending. */
static const struct esql_scalar *
sort_value(const struct esql_val *v, bool desc)
{
	const struct esql_scalar *items = esql_val_items(v), *best = &items[0];

	for (size_t i = 1; i < v->n; i++) {
		int c = esql_scalar_cmp(v->type, &items[i], best);

		if (desc ? c > 0 : c < 0)
			best = &items[i];
	}
	return best;
}

int
esql_plan_sort_cmp(const struct esql_plan *p, const struct esql_val *a,
		   const struct esql_val *b)
{
	for (size_t i = 0; i < p->nsort; i++) {
		const struct esql_sort *s = &p->sort[i];
		const struct esql_val *x = &a[s->column], *y = &b[s->column];
		int c;

		if (x->n == 0 || y->n == 0) {
			if (x->n == 0 && y->n == 0)
				continue;
			c = x->n == 0 ? -1 : 1;
			return s->nulls_first ? c : -c;
		}
		c = esql_scalar_cmp(x->type, sort_value(x, s->desc),
				    sort_value(y, s->desc));
		if (c != 0)
			return s->desc ? -c : c;
	}
	return 0;
}
