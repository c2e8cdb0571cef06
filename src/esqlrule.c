/*
 * esqlrule: the per-event path of a compiled ES|QL rule, its windows and
 * its alerts.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "esqlrule.h"
#include "fieldtype.h"
#include "log.h"
#include "timefmt.h"

struct esqlrule {
	const struct esql_plan *plan;       /* borrowed */
	const struct esql_alert_rule *meta; /* borrowed */
	struct esqlrule_opts opts;
	esqlrule_out_fn *out;
	void *arg;
	int *slots;          /* plan->fields[i] -> record slot */
	const char **fields; /* the plan's fields, and @timestamp */
	size_t nfields;
	int ts_slot; /* @timestamp's record slot */
	struct metrics metrics;
	struct esql_arena arena; /* values of one event */
	struct esql_ctx cx;
	struct esql_val *row;  /* plan->pre.ncols */
	const char **names;    /* output column names, pre or post */
	bool *arrays;          /* output columns printed as arrays */
	struct esql_val *outv; /* output values of one alert */
	size_t nout;
	struct buf alert;  /* scratch: one alert line */
	struct buf reason; /* scratch: its reason */
	struct buf key;    /* scratch: its uuid key */
	struct buf dig;    /* scratch: its output columns, for the digest */
	int64_t clock_ms;  /* fixed alert time, 0: real time */

	/* The event being processed. */
	const char *line;
	size_t len;
	size_t rows;   /* rows it made */
	int64_t ts_ms; /* its @timestamp */

	/* Bucketed plans. */
	struct agg_def def;
	struct window_store *ws;
	/*
	 * Closing runs inside window_add_row(), while the event's row and
	 * arena are in use: it has its own.
	 */
	struct esql_val *prow;    /* post.ncols */
	struct esql_arena parena; /* values of one closing */
	struct esql_ctx pcx;
	struct esql_val *keys;    /* nby - 1 group keys */
	enum esql_type *keytypes; /* their types */
	struct window_spec spec;  /* the store's (borrowed by it) */
	struct esql_val *aggin;   /* naggs inputs */
	bool *aggon;              /* naggs: WHERE passed */
};

static int64_t
now_ms(const struct esqlrule *r)
{
	return r->clock_ms ? r->clock_ms : real_now_ms();
}

/*
 * Writes an alert; counted here when `count` (a filter-only rule's), or
 * by window_decide() (a bucketed rule's).
 */
static void
emit(struct esqlrule *r, const struct esql_alert *a, bool count)
{
	r->alert.len = 0;
	switch (esql_alert_format(a, now_ms(r), r->opts.max_alert_bytes,
				  &r->alert)) {
	case -1:
		r->metrics.v[M_alerts_unformatted]++;
		log_err("rule \"%s\": an alert could not be written as JSON; "
			"dropped",
			r->meta->name);
		return;
	case 1:
		r->metrics.v[M_alerts_trimmed]++;
		break;
	}
	if (count)
		r->metrics.v[M_alerts]++;
	r->out(r->arg, r->alert.data, r->alert.len);
}

/* Filter-only plans: every row out of `pre` is an alert. */
static void
filter_row(void *arg, struct esql_val *row)
{
	struct esqlrule *r = arg;
	const struct esql_program *pg = &r->plan->pre;
	uint64_t idx = r->rows++;
	struct esql_alert a = {
	    .rule = r->meta,
	    .names = r->names,
	    .vals = r->outv,
	    .ncols = pg->nout,
	};

	for (size_t i = 0; i < pg->nout; i++)
		r->outv[i] = row[pg->out[i].column];
	/* The event's bytes and the row's place among its rows. */
	r->key.len = 0;
	buf_append(&r->key, &idx, sizeof(idx));
	buf_append(&r->key, r->line, r->len);
	a.key = r->key.data;
	a.keylen = r->key.len;
	r->reason.len = 0;
	buf_append(&r->reason, r->meta->name, strlen(r->meta->name));
	buf_append(&r->reason, ": an event matched", 18);
	buf_append(&r->reason, "", 1);
	a.reason = r->reason.data;
	emit(r, &a, true);
}

/*
 * The event's @timestamp: 1 ok, -1 missing, -2 multi-valued or not a
 * date.  A data stream refuses such a document, so no rule sees it.
 */
static int
event_time(struct esqlrule *r, const struct record *rec)
{
	const struct record_value *v;
	struct esql_scalar t;
	size_t n;

	v = record_get(rec, r->ts_slot, &n);
	if (n == 0)
		return -1;
	if (n > 1 ||
	    fieldtype_convert(ESQL_T_DATETIME, v[0].p, v[0].len, &t) < 0)
		return -2;
	r->ts_ms = t.u.l;
	return 1;
}

static void bucket_row(void *arg, struct esql_val *row);
static void bucket_init(struct esqlrule *r);
static void bucket_reconfigure(struct esqlrule *r);
static void bucket_fini(struct esqlrule *r);

static enum esql_type loading_type;

static int
load_cmp(const void *a, const void *b)
{
	return esql_scalar_cmp(loading_type, a, b);
}

/*
 * A field's values as ES|QL reads them from doc values: sorted, and for
 * a keyword or ip (SORTED_SET doc values) without duplicates; numbers,
 * dates and booleans (SORTED_NUMERIC) keep them.  Returns the count.
 */
static size_t
doc_values(enum esql_type t, struct esql_scalar *v, size_t n)
{
	size_t k = 1;

	if (n < 2)
		return n;
	loading_type = t;
	qsort(v, n, sizeof(*v), load_cmp);
	if (t != ESQL_T_KEYWORD && t != ESQL_T_IP)
		return n;
	for (size_t i = 1; i < n; i++)
		if (esql_scalar_cmp(t, &v[i], &v[k - 1]) != 0)
			v[k++] = v[i];
	return k;
}

/* Converts the record's values of each input field into the row. */
static void
load_row(struct esqlrule *r, const struct record *rec)
{
	const struct esql_plan *p = r->plan;

	for (size_t i = 0; i < p->nfields; i++) {
		struct esql_val *v = &r->row[i];
		const struct record_value *rv;
		struct esql_scalar *many;
		size_t n, k = 0;

		esql_val_null(v, p->field_types[i]);
		rv = record_get(rec, r->slots[i], &n);
		if (n == 0)
			continue;
		many = n == 1 ? &v->one
			      : esql_arena_alloc(&r->arena, n * sizeof(*many));
		for (size_t j = 0; j < n; j++) {
			if (fieldtype_convert(p->field_types[i], rv[j].p,
					      rv[j].len, &many[k]) < 0) {
				r->metrics.v[M_values_rejected]++;
				continue;
			}
			k++;
		}
		v->n = doc_values(p->field_types[i], many, k);
		v->many = n == 1 ? NULL : many;
	}
}

static void
count_row(void *arg, struct esql_val *row)
{
	struct esqlrule *r = arg;

	(void)row;
	r->rows++;
}

bool
esqlrule_event(struct esqlrule *r, const struct record *rec, const char *line,
	       size_t len)
{
	const struct esql_plan *p = r->plan;
	struct esql_run run = {0};
	uint64_t before = r->cx.warnings;

	int ts = event_time(r, rec);

	r->line = line;
	r->len = len;
	r->rows = 0;
	load_row(r, rec);
	if (ts != 1) {
		/* Counted as the built-in rule counts it: if it matched. */
		if (esql_program_run(&p->pre, &r->cx, r->row, count_row, r,
				     &run) == 0)
			r->metrics.v[M_events_unmatched]++;
		else
			r->metrics.v[ts == -1 ? M_events_no_timestamp
					      : M_events_bad_timestamp]++;
		r->rows = 0;
	} else {
		(void)esql_program_run(&p->pre, &r->cx, r->row,
				       p->shape == ESQL_SHAPE_FILTER
					   ? filter_row
					   : bucket_row,
				       r, &run);
		r->metrics
		    .v[r->rows > 0 ? M_events_matched : M_events_unmatched]++;
	}
	r->metrics.v[M_eval_warnings] += r->cx.warnings - before;
	r->metrics.v[M_rows_expand_cut] += run.expand_cut;
	esql_arena_reset(&r->arena);
	return r->rows > 0;
}

int
esqlrule_check(const struct esql_plan *plan, const struct esql_alert_rule *meta,
	       char *err, size_t errlen)
{
	const struct esql_program *pg =
	    plan->shape == ESQL_SHAPE_FILTER ? &plan->pre : &plan->post;
	const char **names = xcalloc(pg->nout + 1, sizeof(*names));
	int rc;

	for (size_t i = 0; i < pg->nout; i++)
		names[i] = pg->out[i].name;
	rc = esql_alert_check_columns(names, pg->nout, err, errlen);
	free(names);
	if (rc == 0 && plan->shape == ESQL_SHAPE_BUCKETED &&
	    plan->nby - 1 > WINDOW_MAX_KEYS) {
		snprintf(err, errlen,
			 "STATS BY has %zu keys besides the time bucket; at "
			 "most %d are supported",
			 plan->nby - 1, WINDOW_MAX_KEYS);
		rc = -1;
	}
	if (rc == 0 && meta->threat != NULL &&
	    !esql_alert_threat_ok(meta->threat)) {
		snprintf(err, errlen, "the threat mapping is not a JSON array");
		rc = -1;
	}
	return rc;
}

/* Sizes the scratch arrays for the plan's rows and outputs. */
static void
size_rows(struct esqlrule *r)
{
	const struct esql_plan *p = r->plan;
	const struct esql_program *pg =
	    p->shape == ESQL_SHAPE_FILTER ? &p->pre : &p->post;
	size_t width =
	    p->pre.ncols > p->post.ncols ? p->pre.ncols : p->post.ncols;

	free(r->row);
	free(r->names);
	free(r->arrays);
	free(r->outv);
	free(r->slots);
	r->row = xcalloc(width + 1, sizeof(*r->row));
	r->nout = pg->nout;
	r->names = xcalloc(pg->nout + 1, sizeof(*r->names));
	r->outv = xcalloc(pg->nout + 1, sizeof(*r->outv));
	r->arrays = xcalloc(pg->nout + 1, sizeof(*r->arrays));
	for (size_t i = 0; i < pg->nout; i++) {
		int c = pg->out[i].column;
		r->names[i] = pg->out[i].name;
		/* A VALUES result, output as it is: always an array. */
		r->arrays[i] = p->shape == ESQL_SHAPE_BUCKETED && c >= 0 &&
			       (size_t)c < p->naggs &&
			       p->specs[c].kind == AGG_VALUES;
	}
	r->slots = xcalloc(p->nfields + 1, sizeof(*r->slots));
	free(r->fields);
	r->fields = xcalloc(p->nfields + 2, sizeof(*r->fields));
	r->nfields = 0;
	for (size_t i = 0; i < p->nfields; i++)
		r->fields[r->nfields++] = p->fields[i];
	if (p->time_column < 0)
		r->fields[r->nfields++] = "@timestamp";
	r->cx.cols = r->row;
	r->cx.arena = &r->arena;
}

struct esqlrule *
esqlrule_new(const struct esql_plan *plan, const struct esql_alert_rule *meta,
	     const struct esqlrule_opts *opts, esqlrule_out_fn *out, void *arg)
{
	struct esqlrule *r = xcalloc(1, sizeof(*r));

	r->plan = plan;
	r->meta = meta;
	r->opts = *opts;
	r->out = out;
	r->arg = arg;
	size_rows(r);
	if (plan->shape == ESQL_SHAPE_BUCKETED)
		bucket_init(r);
	return r;
}

void
esqlrule_free(struct esqlrule *r)
{
	if (r == NULL)
		return;
	bucket_fini(r);
	esql_arena_free(&r->arena);
	free(r->row);
	free(r->names);
	free(r->arrays);
	free(r->outv);
	free(r->slots);
	free(r->fields);
	buf_free(&r->alert);
	buf_free(&r->reason);
	buf_free(&r->key);
	buf_free(&r->dig);
	free(r);
}

void
esqlrule_bind(struct esqlrule *r, int (*slot_of)(void *, const char *),
	      void *arg)
{
	for (size_t i = 0; i < r->plan->nfields; i++)
		r->slots[i] = slot_of(arg, r->plan->fields[i]);
	r->ts_slot = slot_of(arg, "@timestamp");
}

const char *const *
esqlrule_fields(const struct esqlrule *r, size_t *n)
{
	*n = r->nfields;
	return r->fields;
}

void
esqlrule_reconfigure(struct esqlrule *r, const struct esql_plan *plan,
		     const struct esql_alert_rule *meta,
		     const struct esqlrule_opts *opts)
{
	r->plan = plan;
	r->meta = meta;
	r->opts = *opts;
	size_rows(r);
	if (r->ws != NULL)
		bucket_reconfigure(r);
}

const struct esql_plan *
esqlrule_plan(const struct esqlrule *r)
{
	return r->plan;
}

const struct esql_alert_rule *
esqlrule_meta(const struct esqlrule *r)
{
	return r->meta;
}

struct metrics *
esqlrule_metrics(struct esqlrule *r)
{
	return &r->metrics;
}

void
esqlrule_set_clock(struct esqlrule *r, int64_t now_ms)
{
	r->clock_ms = now_ms;
}

/* Bucketed plans: the window store and the closing of windows. */

/* The post-STATS rows of one closing, with the group each came from. */
struct out_row {
	struct esql_val *cols; /* post.ncols, in the closing's arena */
	size_t group;
};

struct closing_rows {
	struct esqlrule *r;
	struct out_row *v;
	size_t n, cap;
	size_t group; /* the group whose rows are being made */
};

static const struct esql_plan *sorting_plan;

/* Null first, then the ES|QL order of single values (keys are single). */
static int
key_cmp(const struct esql_val *a, const struct esql_val *b)
{
	if (a->n == 0 || b->n == 0)
		return (a->n != 0) - (b->n != 0);
	return esql_scalar_cmp(a->type, esql_val_items(a), esql_val_items(b));
}

/*
 * The query's SORT, then, for rows it leaves tied (ES|QL does not say
 * which of them a LIMIT keeps), a fixed order so that the cap always
 * keeps the same ones: the numeric aggregates in the order written,
 * larger first (the more significant group), then the group key
 * ascending with nulls first.
 */
static int
out_row_cmp(const void *a, const void *b)
{
	const struct out_row *x = a, *y = b;
	const struct esql_plan *p = sorting_plan;
	int c = esql_plan_sort_cmp(p, x->cols, y->cols);

	for (size_t i = 0; c == 0 && i < p->naggs; i++) {
		enum esql_type t = agg_result_type(&p->specs[i]);
		if (p->specs[i].kind == AGG_VALUES ||
		    (t != ESQL_T_LONG && t != ESQL_T_INTEGER &&
		     t != ESQL_T_DOUBLE))
			continue;
		c = -key_cmp(&x->cols[i], &y->cols[i]);
	}
	for (size_t j = 0; c == 0 && j < p->nby; j++)
		c = key_cmp(&x->cols[p->naggs + j], &y->cols[p->naggs + j]);
	if (c == 0)
		c = x->group < y->group ? -1 : x->group > y->group;
	return c;
}

/* Keeps a post row: its values are copied into the arena. */
static void
keep_row(void *arg, struct esql_val *row)
{
	struct closing_rows *cr = arg;
	struct esqlrule *r = cr->r;
	size_t w = r->plan->post.ncols;
	struct esql_val *cols;

	if (cr->n == cr->cap) {
		cr->cap = cr->cap ? 2 * cr->cap : 16;
		cr->v = xreallocarray(cr->v, cr->cap, sizeof(*cr->v));
	}
	cols = esql_arena_alloc(&r->parena, w * sizeof(*cols));
	memcpy(cols, row, w * sizeof(*cols));
	cr->v[cr->n++] = (struct out_row){.cols = cols, .group = cr->group};
}

/*
 * The reason: the rule's name, the group's keys and the window.  The
 * key values are printed as JSON.
 */
static void
bucket_reason(struct esqlrule *r, const struct esql_val *cols, int64_t start)
{
	const struct esql_plan *p = r->plan;
	char iso[TIMEFMT_ISO_MAX];

	r->reason.len = 0;
	buf_append(&r->reason, r->meta->name, strlen(r->meta->name));
	buf_append(&r->reason, ": ", 2);
	for (size_t j = 0, k = 0; j < p->nby; j++) {
		const struct esql_val *v = &cols[p->naggs + j];
		if ((int)j == p->bucket_by)
			continue;
		if (k++ > 0)
			buf_append(&r->reason, ", ", 2);
		buf_append(&r->reason, p->by[j].name, strlen(p->by[j].name));
		buf_append(&r->reason, " ", 1);
		if (v->n == 0)
			buf_append(&r->reason, "null", 4);
		else
			esql_scalar_json(v->type, esql_val_items(v),
					 &r->reason);
	}
	timefmt_iso(start, iso);
	buf_append(&r->reason, " in the window starting ", 24);
	buf_append(&r->reason, iso, strlen(iso) + 1);
}

static enum esql_type sorting_type;

static int
scalar_cmp(const void *a, const void *b)
{
	return esql_scalar_cmp(sorting_type, a, b);
}

/*
 * VALUES gives its values in no defined order (Elasticsearch's depends
 * on its hash tables); the alert gives them sorted, so that one group
 * always prints the same.  The array is the closing's, in its arena.
 */
static void
sort_values(struct esql_val *v)
{
	if (v->n < 2 || v->many == NULL)
		return;
	sorting_type = v->type;
	qsort((void *)v->many, v->n, sizeof(*v->many), scalar_cmp);
}

/* The uuid's key: the group's key values, each tagged null or not. */
static void
group_key(struct esqlrule *r, const struct window_group *g,
	  struct esql_alert *a)
{
	const struct window_spec *s = &r->spec;

	r->key.len = 0;
	for (size_t k = 0; k < s->nkeys; k++) {
		buf_append(&r->key, g->keys[k].n ? "v" : "n", 1);
		if (g->keys[k].n)
			esql_scalar_encode(s->key_types[k],
					   esql_val_items(&g->keys[k]),
					   &r->key);
	}
	a->key = r->key.data;
	a->keylen = r->key.len;
}

/* Alerts per window: the rule's max_signals, or the query's LIMIT. */
static size_t
window_cap(const struct esqlrule *r)
{
	size_t cap = r->opts.max_signals;

	if (r->plan->limit >= 0 && (uint64_t)r->plan->limit < cap)
		cap = (size_t)r->plan->limit;
	return cap;
}

static bool
alerts_early(const struct esqlrule *r)
{
	return r->opts.early && r->plan->shape == ESQL_SHAPE_BUCKETED &&
	       r->plan->monotone;
}

/*
 * A group's STATS row into r->prow: the aggregates in the order written
 * (VALUES sorted), then the BY keys.  A probe (full false) leaves the
 * VALUES aggregates null and counts no warning: it only asks whether
 * the conditions hold, and a monotone condition cannot read them.
 */
static void
stats_row(struct esqlrule *r, const struct window_group *g, bool full)
{
	const struct esql_plan *p = r->plan;
	struct esql_val *stats = r->prow;

	for (size_t a = 0; a < p->naggs; a++) {
		if (!full && p->specs[a].kind == AGG_VALUES) {
			esql_val_null(&stats[a], agg_result_type(&p->specs[a]));
			continue;
		}
		if (agg_result(&r->def, g->agg, a, &stats[a], &r->parena) &&
		    full)
			r->metrics.v[M_eval_warnings]++;
		if (p->specs[a].kind == AGG_VALUES)
			sort_values(&stats[a]);
	}
	for (size_t j = 0, k = 0; j < p->nby; j++) {
		struct esql_val *v = &stats[p->naggs + j];
		if ((int)j == p->bucket_by) {
			*v = (struct esql_val){.type = ESQL_T_DATETIME, .n = 1};
			v->one.u.l = g->window_ms;
		} else {
			*v = g->keys[k++];
		}
	}
}

/* The output columns of a post row into r->outv. */
static void
fill_out(struct esqlrule *r, const struct out_row *o)
{
	const struct esql_program *pg = &r->plan->post;

	for (size_t i = 0; i < pg->nout; i++)
		r->outv[i] = o->cols[pg->out[i].column];
}

/* A digest of r->outv: what a final document would change. */
static uint64_t
out_digest(struct esqlrule *r)
{
	r->dig.len = 0;
	for (size_t i = 0; i < r->nout; i++) {
		const struct esql_val *v = &r->outv[i];
		const struct esql_scalar *it = esql_val_items(v);
		uint64_t n = v->n;

		buf_append(&r->dig, &n, sizeof(n));
		for (size_t j = 0; j < v->n; j++)
			esql_scalar_encode(v->type, &it[j], &r->dig);
	}
	return XXH3_64bits(r->dig.data, r->dig.len);
}

/* Writes the alert of a group's post row, r->outv filled. */
static void
group_alert(struct esqlrule *r, const struct out_row *o,
	    const struct window_group *g, const char *phase, bool detected)
{
	const struct esql_plan *p = r->plan;
	struct esql_alert a = {
	    .rule = r->meta,
	    .names = r->names,
	    .vals = r->outv,
	    .arrays = r->arrays,
	    .ncols = p->post.nout,
	    .windowed = true,
	    .window_start = g->window_ms,
	    .window_end = g->window_ms + p->span_ms,
	    .late = g->late,
	    .phase = phase,
	};

	if (detected && r->opts.arrival_ns != NULL &&
	    *r->opts.arrival_ns != 0) {
		a.detected = true;
		a.detected_ms =
		    (double)(mono_now_ns() - *r->opts.arrival_ns) / 1e6;
	}
	group_key(r, g, &a);
	bucket_reason(r, o->cols, g->window_ms);
	a.reason = r->reason.data;
	emit(r, &a, false);
}

/*
 * The window store asks, after a row changed an open group, whether its
 * conditions hold: a probe first, then, if they do and the window's cap
 * allows, the full row and its alert.
 */
static enum window_early
early_cb(void *arg, const struct window_group *g, size_t emitted,
	 uint64_t *digest)
{
	struct esqlrule *r = arg;
	const struct esql_plan *p = r->plan;
	struct closing_rows cr = {.r = r};
	enum window_early v = WINDOW_EARLY_NOT_YET;

	stats_row(r, g, false);
	(void)esql_program_run(&p->post, &r->pcx, r->prow, keep_row, &cr, NULL);
	if (cr.n > 0 && emitted >= window_cap(r)) {
		v = WINDOW_EARLY_HELD;
	} else if (cr.n > 0) {
		esql_arena_reset(&r->parena);
		cr.n = 0;
		stats_row(r, g, true);
		(void)esql_program_run(&p->post, &r->pcx, r->prow, keep_row,
				       &cr, NULL);
		/* The same conditions on the same counts: not reached. */
		if (cr.n > 0) {
			fill_out(r, &cr.v[0]);
			*digest = out_digest(r);
			group_alert(r, &cr.v[0], g, "early", true);
			v = WINDOW_EARLY_EMITTED;
		}
	}
	free(cr.v);
	esql_arena_reset(&r->parena);
	return v;
}

/*
 * A group that alerted early, at its close: its final document if its
 * output changed since the early one.
 */
static void
close_early(struct esqlrule *r, struct window_closing *c, size_t i,
	    const struct out_row *o)
{
	const struct window_group *g = &c->rows[i];

	window_decide(c, i, WINDOW_FINAL);
	if (o == NULL) {
		/* No row now (a value past a cap): the early one stands. */
		r->metrics.v[M_alerts_final_unchanged]++;
		return;
	}
	fill_out(r, o);
	if (out_digest(r) == g->digest) {
		r->metrics.v[M_alerts_final_unchanged]++;
		return;
	}
	r->metrics.v[M_alerts_final]++;
	group_alert(r, o, g, "final", false);
}

static void
close_cb(void *arg, struct window_closing *c)
{
	struct esqlrule *r = arg;
	const struct esql_plan *p = r->plan;
	struct closing_rows cr = {.r = r};
	size_t cap = window_cap(r);
	const char *phase = alerts_early(r) ? "close" : NULL;
	bool *emitted, *decided;

	for (size_t i = 0; i < c->n; i++) {
		stats_row(r, &c->rows[i], true);
		cr.group = i;
		(void)esql_program_run(&p->post, &r->pcx, r->prow, keep_row,
				       &cr, NULL);
	}
	if (cr.n > 1) {
		sorting_plan = p;
		qsort(cr.v, cr.n, sizeof(*cr.v), out_row_cmp);
		sorting_plan = NULL;
	}
	emitted = xcalloc(c->n + 1, sizeof(*emitted));
	decided = xcalloc(c->n + 1, sizeof(*decided));
	for (size_t k = 0; k < cr.n; k++) {
		const struct out_row *o = &cr.v[k];
		if (c->rows[o->group].early) {
			/* A monotone plan makes one row per group. */
			if (!decided[o->group])
				close_early(r, c, o->group, o);
			decided[o->group] = true;
			continue;
		}
		if (!emitted[o->group]) {
			if (decided[o->group])
				continue;
			decided[o->group] = true;
			if (c->emitted >= cap) {
				window_decide(c, o->group, WINDOW_SUPPRESSED);
				continue;
			}
			window_decide(c, o->group, WINDOW_EMITTED);
			emitted[o->group] = true;
		} else {
			/* A second row of one group (MV_EXPAND after STATS). */
			r->metrics.v[M_alerts]++;
		}
		fill_out(r, o);
		group_alert(r, o, &c->rows[o->group], phase, false);
	}
	for (size_t i = 0; i < c->n; i++)
		if (c->rows[i].early && !decided[i])
			close_early(r, c, i, NULL);
	free(emitted);
	free(decided);
	free(cr.v);
	esql_arena_reset(&r->parena);
}

static void
bucket_row(void *arg, struct esql_val *row)
{
	struct esqlrule *r = arg;
	const struct esql_plan *p = r->plan;
	const struct esql_val *b = &row[p->by[p->bucket_by].column];

	r->rows++;
	if (b->n != 1) {
		/* DATE_TRUNC of a single @timestamp is single: not reached. */
		r->metrics.v[M_events_bad_timestamp]++;
		return;
	}
	for (size_t j = 0, k = 0; j < p->nby; j++)
		if ((int)j != p->bucket_by)
			r->keys[k++] = row[p->by[j].column];
	for (size_t a = 0; a < p->naggs; a++) {
		const struct esql_agg *g = &p->aggs[a];
		const struct esql_val *w =
		    g->where >= 0 ? &row[g->where] : NULL;
		if (g->arg_column >= 0)
			r->aggin[a] = row[g->arg_column];
		else
			esql_val_null(&r->aggin[a], ESQL_T_NULL);
		r->aggon[a] =
		    w == NULL || (w->n == 1 && esql_val_items(w)[0].u.l != 0);
	}
	window_add_row(r->ws, r->ts_ms, esql_val_items(b)[0].u.l, r->keys,
		       r->aggin, r->aggon);
}

static void
bucket_spec(struct esqlrule *r, struct window_spec *s)
{
	const struct esql_plan *p = r->plan;

	*s = (struct window_spec){
	    .nkeys = p->nby - 1,
	    .key_types = r->keytypes,
	    .watermark_key = -1,
	    .window_ms = p->span_ms,
	    .agg = &r->def,
	};
	for (size_t j = 0, k = 0; j < p->nby; j++) {
		if ((int)j == p->bucket_by)
			continue;
		r->keytypes[k] = p->by[j].type;
		if ((int)j == p->watermark_by)
			s->watermark_key = (int)k;
		k++;
	}
}

static void
bucket_init(struct esqlrule *r)
{
	const struct esql_plan *p = r->plan;
	r->def = (struct agg_def){
	    .specs = p->specs,
	    .n = p->naggs,
	    .nsets = p->nsets,
	    .max_values = r->opts.window.max_values,
	};
	r->prow =
	    xcalloc(p->post.ncols + p->naggs + p->nby + 1, sizeof(*r->prow));
	r->pcx = (struct esql_ctx){.cols = r->prow, .arena = &r->parena};
	r->keys = xcalloc(p->nby + 1, sizeof(*r->keys));
	r->keytypes = xcalloc(p->nby + 1, sizeof(*r->keytypes));
	r->aggin = xcalloc(p->naggs + 1, sizeof(*r->aggin));
	r->aggon = xcalloc(p->naggs + 1, sizeof(*r->aggon));
	bucket_spec(r, &r->spec);
	r->ws = window_new_esql(&r->spec, &r->opts.window, &r->metrics,
				close_cb, r);
	window_set_early(r->ws, alerts_early(r) ? early_cb : NULL);
}

static void
bucket_reconfigure(struct esqlrule *r)
{
	r->def.specs = r->plan->specs;
	r->def.max_values = r->opts.window.max_values;
	bucket_spec(r, &r->spec);
	if (window_reconfigure_esql(r->ws, &r->spec, &r->opts.window) < 0) {
		/* Not reached: a plan with the same fingerprint has the same
		 * shape.  Flushed rather than kept in a store that differs. */
		window_flush(r->ws);
		window_free(r->ws);
		r->ws = window_new_esql(&r->spec, &r->opts.window, &r->metrics,
					close_cb, r);
	}
	window_set_early(r->ws, alerts_early(r) ? early_cb : NULL);
}

static void
bucket_fini(struct esqlrule *r)
{
	if (r->ws == NULL)
		return;
	window_free(r->ws);
	agg_def_fini(&r->def);
	esql_arena_free(&r->parena);
	free(r->prow);
	free(r->keys);
	free(r->keytypes);
	free(r->aggin);
	free(r->aggon);
}

void
esqlrule_tick(struct esqlrule *r, int64_t now_ms)
{
	if (r->ws != NULL)
		window_tick(r->ws, now_ms);
}

void
esqlrule_flush(struct esqlrule *r)
{
	if (r->ws != NULL)
		window_flush(r->ws);
}

void
esqlrule_save(const struct esqlrule *r, struct buf *out)
{
	if (r->ws != NULL)
		window_save(r->ws, out);
}

int
esqlrule_load(struct esqlrule *r, const char *data, size_t len)
{
	if (r->ws == NULL)
		return len == 0 ? 0 : -1;
	return window_load(r->ws, data, len);
}

size_t
esqlrule_groups(const struct esqlrule *r)
{
	return r->ws != NULL ? window_groups(r->ws) : 0;
}

size_t
esqlrule_bytes(const struct esqlrule *r)
{
	return r->ws != NULL ? window_bytes(r->ws) : 0;
}

int64_t
esqlrule_oldest_newest(const struct esqlrule *r)
{
	return r->ws != NULL ? window_oldest_newest(r->ws) : INT64_MIN;
}

void
esqlrule_check_state(const struct esqlrule *r)
{
	if (r->ws != NULL)
		window_check(r->ws);
}

bool
esqlrule_early(const struct esqlrule *r)
{
	return alerts_early(r);
}
