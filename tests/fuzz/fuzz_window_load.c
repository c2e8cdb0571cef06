/*
 * fuzz_window_load: window state read back from a checkpoint.
 *
 * The input is the window part of a checkpoint, as window_save() writes
 * it (the corpus is real saved state of both kinds).  A checkpoint's
 * checksum only proves the bytes are the ones written, so window_load()
 * must refuse anything malformed without reading out of bounds, and
 * leave the store empty when it does.  What it accepts must be a store
 * whose invariants hold (window_check()), that saves and loads again to
 * the same shape, and whose groups close into groups whose keys and
 * aggregate results are values of their types, keywords UTF-8 (a group
 * that alerted early is decided WINDOW_FINAL, as the rule does).  The
 * input goes to a store of one of test_window's two specs (the default
 * rule's shape when its shape field says so); the budget is chosen from
 * the bytes, so a load into a smaller budget evicts.
 */
#include <string.h>

#include "conf.h"
#include "fuzz.h"
#include "util.h"
#include "window.h"

#define MINUTE INT64_C(60000)

struct seen {
	struct buf line; /* scratch for one value */
	size_t n;        /* groups emitted */
};

/* test_window's two specs: the corpus holds their saved states. */
static const enum esql_type ekeys[] = {ESQL_T_KEYWORD, ESQL_T_KEYWORD,
				       ESQL_T_IP};
static const struct agg_spec especs[] = {
    {AGG_COUNT_ALL, ESQL_T_NULL, -1}, {AGG_COUNT_DISTINCT, ESQL_T_KEYWORD, 0},
    {AGG_VALUES, ESQL_T_KEYWORD, 0},  {AGG_SUM, ESQL_T_LONG, -1},
    {AGG_MIN, ESQL_T_DATETIME, -1},
};
static struct agg_def edef = {.specs = especs,
			      .n = 5,
			      .nsets = 1,
			      .max_values = 100};
static const struct window_spec espec = {
    .nkeys = 3,
    .key_types = ekeys,
    .watermark_key = 1,
    .window_ms = MINUTE,
    .agg = &edef,
};
/* The default rule's shape: keyword keys, two COUNT_DISTINCT, VALUES. */
static const enum esql_type dkeys[] = {ESQL_T_KEYWORD, ESQL_T_KEYWORD,
				       ESQL_T_KEYWORD};
static const struct agg_spec dspecs[] = {
    {AGG_COUNT_DISTINCT, ESQL_T_KEYWORD, 0},
    {AGG_COUNT_DISTINCT, ESQL_T_KEYWORD, 1},
    {AGG_VALUES, ESQL_T_KEYWORD, 2},
};
static struct agg_def ddef = {.specs = dspecs,
			      .n = 3,
			      .nsets = 3,
			      .max_values = 100};
static const struct window_spec dspec = {
    .nkeys = 3,
    .key_types = dkeys,
    .watermark_key = 1,
    .window_ms = MINUTE,
    .agg = &ddef,
};
static const struct window_spec *spec; /* the input's */

static void
check_value(const struct esql_val *v, enum esql_type t, struct buf *out)
{
	const struct esql_scalar *items = esql_val_items(v);

	FUZZ_CHECK(v->n == 0 || v->type == t);
	for (size_t i = 0; i < v->n; i++) {
		out->len = 0;
		esql_scalar_json(t, &items[i], out);
		FUZZ_CHECK(fuzz_utf8_valid(out->data, out->len));
	}
}

/* Every group's keys and results are well formed; every other one out. */
static void
esql_close_cb(void *arg, struct window_closing *c)
{
	struct seen *s = arg;
	struct esql_arena a = {0};

	FUZZ_CHECK(c->spec != NULL && c->spec->agg == spec->agg);
	for (size_t i = 0; i < c->n; i++) {
		const struct window_group *g = &c->rows[i];
		struct esql_val v;

		FUZZ_CHECK(g->window_ms == c->window_ms);
		for (size_t k = 0; k < spec->nkeys; k++) {
			FUZZ_CHECK(g->keys[k].n <= 1);
			check_value(&g->keys[k], spec->key_types[k], &s->line);
		}
		for (size_t k = 0; k < spec->agg->n; k++) {
			agg_result(spec->agg, g->agg, k, &v, &a);
			check_value(&v, agg_result_type(&spec->agg->specs[k]),
				    &s->line);
		}
		if (g->early) {
			/* Its alert went out before the checkpoint. */
			window_decide(c, i, WINDOW_FINAL);
		} else if ((c->window_ms / MINUTE + (int64_t)i) % 2 == 0) {
			window_decide(c, i, WINDOW_EMITTED);
			s->n++;
		}
	}
	esql_arena_free(&a);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct conf *conf;
	static struct seen seen;
	struct metrics m, m2;
	struct budget b = {0}, b2 = {0};
	struct window_opts o;
	struct window_store *ws, *ws2;
	struct buf out = {0};
	uint64_t rng = fuzz_seed(data, size), shape = 0;
	int64_t now = INT64_C(1714557600000);
	static uint64_t dshape;

	if (conf == NULL) {
		struct window_opts none = {.max_groups = 1};
		struct window_store *d;
		struct metrics dm;
		conf = conf_default();
		d = window_new_esql(&dspec, &none, &dm, esql_close_cb, &seen);
		window_save(d, &out);
		memcpy(&dshape, out.data + 8, 8);
		out.len = 0;
		window_free(d);
	}
	memset(&m, 0, sizeof(m));
	memset(&m2, 0, sizeof(m2));
	seen.n = 0;
	/* Mostly roomy, sometimes a budget the state cannot fit. */
	b.max = fuzz_next(&rng) % 4 ? SIZE_MAX : fuzz_next(&rng) % 65536;
	b2.max = SIZE_MAX;
	o = (struct window_opts){
	    .allowed_lateness_ms = conf->allowed_lateness_ms,
	    .late_horizon_ms = conf->late_horizon_ms,
	    .max_groups = conf->max_groups,
	    .budget = &b,
	    .max_values = conf->max_values,
	    .max_key_combos = conf->max_key_combos,
	    .idle_close_ms = conf->idle_close_ms,
	    .max_future_ms = conf->max_future_ms,
	};
	/* The shape (the second u64) picks the spec: the default rule's, or
	 * the other, which takes every other input. */
	if (size >= 16)
		memcpy(&shape, data + 8, 8);
	spec = shape == dshape ? &dspec : &espec;
	ws = window_new_esql(spec, &o, &m, esql_close_cb, &seen);
	if (window_load(ws, (const char *)data, size) < 0) {
		/* Refused: nothing is left of it. */
		FUZZ_CHECK(window_groups(ws) == 0);
		FUZZ_CHECK(window_tombstones(ws) == 0);
		window_check(ws);
		window_free(ws);
		FUZZ_CHECK(b.used == 0);
		return 0;
	}
	window_check(ws);
	FUZZ_CHECK(b.max == SIZE_MAX || b.used <= b.max ||
		   window_groups(ws) + window_tombstones(ws) == 0);

	/* What was accepted saves and loads again, to the same shape. */
	window_save(ws, &out);
	o.budget = &b2;
	ws2 = window_new_esql(spec, &o, &m2, esql_close_cb, &seen);
	FUZZ_CHECK(window_load(ws2, out.data, out.len) == 0);
	FUZZ_CHECK(window_groups(ws2) == window_groups(ws));
	FUZZ_CHECK(window_tombstones(ws2) == window_tombstones(ws));
	FUZZ_CHECK(window_bytes(ws2) == window_bytes(ws));
	window_check(ws2);
	window_free(ws2);
	FUZZ_CHECK(b2.used == 0);

	/* The clock moves on: idle close, then forgetting; then the rest
	 * closes.  Each alert is checked as it comes. */
	window_tick(ws, now);
	window_tick(ws, now + (int64_t)(fuzz_next(&rng) % (20 * MINUTE)));
	window_check(ws);
	window_flush(ws);
	window_check(ws);
	FUZZ_CHECK(m.v[M_alerts] == seen.n);
	window_free(ws);
	FUZZ_CHECK(b.used == 0);
	buf_free(&out);
	return 0;
}
