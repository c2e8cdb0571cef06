/*
 * engine: wires the stages together and keeps the counters honest.
 */
#include <stdlib.h>

#include "alert.h"
#include "engine.h"
#include "log.h"
#include "prefilter.h"
#include "record.h"
#include "timefmt.h"
#include "util.h"
#include "window.h"

struct engine {
	const struct conf *conf; /* borrowed */
	struct metrics metrics;  /* every counter */
	struct prefilter *pf;    /* NULL when disabled */
	struct parser *parser;   /* fields of the rule */
	struct window_store *ws; /* groups and windows */
	struct budget budget;    /* state bytes, limits.max_state_bytes */
	engine_output_cb *out;   /* receives alert lines */
	void *arg;               /* passed to out */
	struct buf alert;        /* scratch for one alert line */
	int64_t clock_ms;        /* fixed alert time, 0: real time */
	bool exact;              /* windows close only on flush */
};

static void
alert_cb(void *arg, const struct alert *a)
{
	struct engine *e = arg;
	int64_t now = e->clock_ms ? e->clock_ms : real_now_ms();

	e->alert.len = 0;
	switch (alert_format_max(a, now, e->conf->max_alert_bytes, &e->alert)) {
	case -1:
		/* Not expected: yajl_gen only fails on a misuse.  Counted. */
		e->metrics.v[M_alerts_unformatted]++;
		log_err("an alert could not be written as JSON; dropped");
		return;
	case 1:
		e->metrics.v[M_alerts_trimmed]++;
		break;
	}
	if (e->alert.len > e->conf->max_alert_bytes + 1)
		log_warnx("an alert of %zu bytes is over max_alert_bytes even "
			  "with its value sets empty; sent as it is",
			  e->alert.len);
	e->out(e->arg, e->alert.data, e->alert.len);
}

static void
close_cb(void *arg, struct window_closing *c)
{
	rule_close(c, alert_cb, arg);
}

static struct prefilter *
build_prefilter(const struct rule *r)
{
	struct prefilter *pf = prefilter_new();

	for (size_t i = 0; i < r->nclauses; i++) {
		const struct clause *c = &r->clauses[i];
		/* A clause whose literals JSON may spell otherwise adds none.
		 */
		(void)prefilter_add_group(pf, (const char *const *)c->values.v,
					  c->values.n, c->ignore_case,
					  c->op == CLAUSE_PREFIX
					      ? PF_STRING_START
					      : PF_STRING);
	}
	prefilter_seal(pf);
	return pf;
}

static void
window_opts_of(struct engine *e, const struct conf *conf, bool exact,
	       struct window_opts *wo)
{
	e->budget.max = conf->max_state_bytes;
	*wo = (struct window_opts){
	    .allowed_lateness_ms = exact ? -1 : conf->allowed_lateness_ms,
	    .late_horizon_ms = conf->late_horizon_ms,
	    .max_groups = conf->max_groups,
	    .budget = &e->budget,
	    .max_values = conf->max_values,
	    .max_key_combos = conf->max_key_combos,
	    .idle_close_ms = conf->idle_close_ms,
	    .max_future_ms = conf->max_future_ms,
	};
}

static bool
value_ok(void *rule, int slot, const char *p, size_t len)
{
	return rule_value_ok(rule, slot, p, len);
}

/* The stages that depend only on the conf: prefilter and parser. */
static void
build_front(struct engine *e)
{
	prefilter_free(e->pf);
	parser_free(e->parser);
	e->pf = e->conf->prefilter ? build_prefilter(e->conf->rule) : NULL;
	e->parser = parser_new(e->conf->rule->fields, e->conf->rule->nfields,
			       e->conf->max_depth);
	parser_set_check(e->parser, rule_check_slots(e->conf->rule), value_ok,
			 (void *)e->conf->rule);
}

struct engine *
engine_new(const struct conf *conf, bool exact, engine_output_cb *out,
	   void *arg)
{
	struct engine *e = xcalloc(1, sizeof(*e));
	struct window_opts wo;

	e->conf = conf;
	e->exact = exact;
	e->out = out;
	e->arg = arg;
	build_front(e);
	window_opts_of(e, conf, exact, &wo);
	e->ws = window_new(conf->rule, &wo, &e->metrics, close_cb, e);
	return e;
}

int
engine_reload(struct engine *e, const struct conf *conf)
{
	struct window_opts wo;
	bool same = conf->rule->fingerprint == e->conf->rule->fingerprint;

	window_opts_of(e, conf, e->exact, &wo);
	if (same) {
		window_reconfigure(e->ws, conf->rule, &wo);
	} else {
		window_flush(e->ws);
		window_free(e->ws);
		e->ws = window_new(conf->rule, &wo, &e->metrics, close_cb, e);
	}
	e->conf = conf;
	build_front(e);
	return same ? 1 : 0;
}

void
engine_free(struct engine *e)
{
	if (e == NULL)
		return;
	prefilter_free(e->pf);
	parser_free(e->parser);
	window_free(e->ws);
	buf_free(&e->alert);
	free(e);
}

void
engine_line(void *engine, const char *line, size_t len)
{
	struct engine *e = engine;
	struct metrics *m = &e->metrics;
	const struct rule *r = e->conf->rule;
	const struct record *rec;
	const struct record_value *ts;
	size_t nts;
	int64_t ts_ms;

	if (e->pf != NULL && !prefilter_pass(e->pf, line, len)) {
		m->v[M_lines_prefiltered]++;
		return;
	}
	m->v[M_lines_parsed]++;
	switch (parser_parse(e->parser, line, len, &rec)) {
	case PARSE_OK:
		break;
	case PARSE_INVALID:
		m->v[M_json_invalid]++;
		return;
	case PARSE_NOT_OBJECT:
		m->v[M_json_not_object]++;
		return;
	case PARSE_TOO_DEEP:
		m->v[M_json_too_deep]++;
		return;
	case PARSE_REJECTED:
		m->v[M_events_unmatched]++;
		return;
	}
	if (!rule_match(r, rec)) {
		m->v[M_events_unmatched]++;
		return;
	}
	m->v[M_events_matched]++;
	/* A date, not a keyword: two equal values are still two. */
	ts = record_get(rec, r->time_slot, &nts);
	if (nts == 0) {
		m->v[M_events_no_timestamp]++;
		return;
	}
	if (nts > 1 || timefmt_parse(ts[0].p, ts[0].len, &ts_ms) < 0) {
		m->v[M_events_bad_timestamp]++;
		return;
	}
	window_add(e->ws, rec, ts_ms, rule_label(r, rec));
}

void
engine_tick(struct engine *e, int64_t now_ms)
{
	window_tick(e->ws, now_ms);
}

void
engine_flush(struct engine *e)
{
	window_flush(e->ws);
}

struct budget *
engine_budget(struct engine *e)
{
	return &e->budget;
}

struct metrics *
engine_metrics(struct engine *e)
{
	return &e->metrics;
}

void
engine_save(const struct engine *e, struct buf *out)
{
	window_save(e->ws, out);
}

int
engine_load(struct engine *e, const char *data, size_t len)
{
	return window_load(e->ws, data, len);
}

size_t
engine_groups(const struct engine *e)
{
	return window_groups(e->ws);
}

int64_t
engine_oldest_newest(const struct engine *e)
{
	return window_oldest_newest(e->ws);
}

void
engine_check(const struct engine *e)
{
	window_check(e->ws);
}

void
engine_set_clock(struct engine *e, int64_t now_ms)
{
	e->clock_ms = now_ms;
}
