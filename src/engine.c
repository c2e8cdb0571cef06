/*
 * engine: wires the stages together and keeps the counters honest.
 */
#include <assert.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "engine.h"
#include "esqlrule.h"
#include "log.h"
#include "prefilter.h"
#include "record.h"
#include "util.h"

struct engine {
	const struct conf *conf; /* borrowed */
	struct metrics metrics;  /* every counter */
	struct prefilter *pf;    /* NULL when disabled */
	struct parser *parser;   /* the rules' fields */
	struct budget budget;    /* state bytes, limits.max_state_bytes */
	engine_output_cb *out;   /* receives alert lines */
	void *arg;               /* passed to out */
	int64_t clock_ms;        /* fixed alert time, 0: real time */
	bool exact;              /* windows close only on flush */

	/*
	 * The rules (conf->rules, at least one), each with its own windows
	 * and counters; fields is the union of their fields, the parser's
	 * slots.
	 */
	struct esqlrule **rules;
	size_t nrules;
	/*
	 * The counts of rules no longer running (removed by a reload): the
	 * sums of sum_rules() start from them, so that no total goes down.
	 */
	struct metrics retired;
	const char *fields[RECORD_MAX_FIELDS];
	size_t nfields;
	size_t nearly;       /* rules alerting early */
	uint64_t arrival_ns; /* the line being processed arrived then
				(stamped only when nearly > 0) */
	/*
	 * The rules the line being read may still match: bit i for rule i
	 * (bit 63 for 63 and later); the parser's value check clears the
	 * bit of a rule a value refutes (tests[], by slot).
	 */
	uint64_t alive;
	uint64_t all_rules; /* the bits of every rule */
	struct slot_test {
		int slot;
		unsigned bit; /* the rule's bit, < 63 */
		const struct esql_value_test *t;
	} * tests;
	size_t ntests;
};

/* The first counter a rule keeps for itself (see sum_rules()). */
#define M_RULE_FIRST M_events_no_timestamp

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

static int
slot_of(void *arg, const char *field)
{
	struct engine *e = arg;

	for (size_t i = 0; i < e->nfields; i++)
		if (strcmp(e->fields[i], field) == 0)
			return (int)i;
	return -1; /* not reached: the union holds every rule's fields */
}

static enum prefilter_where
where_of(enum esql_needle_where w)
{
	switch (w) {
	case ESQL_NEEDLE_WHOLE:
		return PF_STRING;
	case ESQL_NEEDLE_START:
		return PF_STRING_START;
	case ESQL_NEEDLE_END:
		return PF_STRING_END;
	default:
		return PF_ANYWHERE;
	}
}

/*
 * Adds one group of needles, each where and in the case it says.
 * Returns 0, or -1 if the prefilter refused it (a byte JSON may escape).
 */
static int
add_needles(struct prefilter *pf, const struct esql_needles *set)
{
	struct prefilter_needle v[ESQL_NEEDLES_MAX];
	char *text[ESQL_NEEDLES_MAX];
	int rc;

	for (size_t j = 0; j < set->n; j++) {
		text[j] = xstrndup(set->v[j].p, set->v[j].len);
		v[j] = (struct prefilter_needle){text[j],
						 where_of(set->v[j].where),
						 set->v[j].fold};
		/* a NUL inside a literal: JSON would escape it */
		if (strlen(text[j]) != set->v[j].len)
			v[j].s = "\"";
	}
	rc = set->n > 0 ? prefilter_add_needles(pf, v, set->n) : -1;
	for (size_t j = 0; j < set->n; j++)
		free(text[j]);
	return rc;
}

/*
 * A line can only match if it can match some rule: one alternative per
 * rule, of a group for each conjunct of its early conditions that has
 * literals (an AND).  A rule none
 * of whose groups the prefilter takes could match any line: then there
 * is no prefilter.
 */
static struct prefilter *
build_esql_prefilter(struct engine *e)
{
	struct prefilter *pf = prefilter_new();

	for (size_t i = 0; i < e->nrules; i++) {
		const struct esql_plan *p = esqlrule_plan(e->rules[i]);
		size_t added = 0;

		prefilter_new_alt(pf);
		for (size_t g = 0; g < p->ngroups; g++)
			added += add_needles(pf, &p->groups[g]) == 0;
		if (added == 0) {
			prefilter_free(pf);
			return NULL;
		}
	}
	prefilter_seal(pf);
	return pf;
}

/* The slot of field f in the union, added if new. */
static int
add_field(struct engine *e, const char *f)
{
	size_t k = 0;

	while (k < e->nfields && strcmp(e->fields[k], f) != 0)
		k++;
	if (k < e->nfields)
		return (int)k;
	if (e->nfields == RECORD_MAX_FIELDS)
		fatalx("the rules read more than %d fields", RECORD_MAX_FIELDS);
	e->fields[e->nfields++] = f;
	return (int)k;
}

/*
 * The parser's value check: clears the bit of each rule a value
 * refutes, and stops the parse when no rule is left.
 */
static bool
esql_value_ok(void *arg, int slot, const char *p, size_t len)
{
	struct engine *e = arg;

	for (size_t k = 0; k < e->ntests; k++) {
		const struct slot_test *st = &e->tests[k];
		if (st->slot == slot && (e->alive >> st->bit & 1) &&
		    !esql_value_test_ok(st->t, p, len))
			e->alive &= ~((uint64_t)1 << st->bit);
	}
	return e->alive != 0;
}

/*
 * The union of the rules' fields (those with value tests first, so that
 * the parser can check them: it checks the first 32 slots), the parser
 * and its check, the prefilter.
 */
static void
build_front(struct engine *e)
{
	uint32_t checked = 0;

	prefilter_free(e->pf);
	parser_free(e->parser);
	e->nfields = 0;
	free(e->tests);
	e->tests =
	    xcalloc(e->nrules * ESQL_PLAN_MAX_TESTS + 1, sizeof(*e->tests));
	e->ntests = 0;
	e->all_rules = 0;
	for (size_t i = 0; i < e->nrules; i++) {
		const struct esql_plan *p = esqlrule_plan(e->rules[i]);
		e->all_rules |= (uint64_t)1 << (i < 63 ? i : 63);
		for (size_t j = 0; j < p->ntests && i < 63; j++) {
			int slot = add_field(e, p->fields[p->tests[j].column]);
			if (slot >= 32)
				continue;
			checked |= (uint32_t)1 << slot;
			e->tests[e->ntests++] =
			    (struct slot_test){slot, (unsigned)i, &p->tests[j]};
		}
	}
	for (size_t i = 0; i < e->nrules; i++) {
		size_t n;
		const char *const *f = esqlrule_fields(e->rules[i], &n);
		for (size_t j = 0; j < n; j++)
			(void)add_field(e, f[j]);
	}
	for (size_t i = 0; i < e->nrules; i++)
		esqlrule_bind(e->rules[i], slot_of, e);
	e->pf = e->conf->prefilter ? build_esql_prefilter(e) : NULL;
	e->parser = parser_new(e->fields, e->nfields, e->conf->max_depth);
	if (e->ntests > 0)
		parser_set_check(e->parser, checked, esql_value_ok, e);
}

static void
rule_out(void *arg, const char *json, size_t len)
{
	struct engine *e = arg;

	e->out(e->arg, json, len);
}

static void
rule_opts_of(struct engine *e, const struct conf *conf,
	     const struct loaded_rule *lr, struct esqlrule_opts *ro)
{
	const char *how, *why;

	window_opts_of(e, conf, e->exact, &ro->window);
	ro->max_signals = lr->max_signals;
	ro->max_alert_bytes = conf->max_alert_bytes;
	ro->early = ruleset_alerts_early(lr, conf->alert_on,
					 conf->alert_on_force, &how, &why);
	ro->arrival_ns = &e->arrival_ns;
}

/* Adds the counts m holds from M_RULE_FIRST on to e->retired. */
static void
retire(struct engine *e, const struct metrics *m)
{
	for (int i = M_RULE_FIRST; i < M__COUNT; i++)
		e->retired.v[i] += m->v[i];
}

/*
 * The rules of conf: a rule whose compiled plan is the same as one
 * running (its fingerprint) keeps that one's state; the others start
 * empty; running rules not kept are flushed (their alerts go out) and
 * freed.  Returns how many were kept.
 */
static size_t
adopt_rules(struct engine *e, const struct conf *conf)
{
	size_t n = conf->rules.n, kept = 0;
	struct esqlrule **rules = xcalloc(n + 1, sizeof(*rules));

	e->nearly = 0;
	for (size_t i = 0; i < n; i++) {
		const struct loaded_rule *lr = &conf->rules.v[i];
		struct esqlrule_opts ro;

		rule_opts_of(e, conf, lr, &ro);
		for (size_t j = 0; j < e->nrules && rules[i] == NULL; j++) {
			if (e->rules[j] == NULL ||
			    esqlrule_plan(e->rules[j])->fingerprint !=
				lr->plan->fingerprint ||
			    strcmp(esqlrule_meta(e->rules[j])->rule_id,
				   lr->alert.rule_id) != 0)
				continue;
			rules[i] = e->rules[j];
			e->rules[j] = NULL;
			esqlrule_reconfigure(rules[i], lr->plan, &lr->alert,
					     &ro);
			kept++;
		}
		if (rules[i] == NULL)
			rules[i] = esqlrule_new(lr->plan, &lr->alert, &ro,
						rule_out, e);
		esqlrule_set_clock(rules[i], e->clock_ms);
		e->nearly += esqlrule_early(rules[i]);
	}
	for (size_t j = 0; j < e->nrules; j++) {
		if (e->rules[j] == NULL)
			continue;
		esqlrule_flush(e->rules[j]);
		retire(e, esqlrule_metrics(e->rules[j]));
		esqlrule_free(e->rules[j]);
	}
	free(e->rules);
	e->rules = rules;
	e->nrules = n;
	return kept;
}

struct engine *
engine_new(const struct conf *conf, bool exact, engine_output_cb *out,
	   void *arg)
{
	struct engine *e = xcalloc(1, sizeof(*e));

	e->conf = conf;
	e->exact = exact;
	e->out = out;
	e->arg = arg;
	(void)adopt_rules(e, conf);
	build_front(e);
	return e;
}

int
engine_reload(struct engine *e, const struct conf *conf)
{
	size_t kept = adopt_rules(e, conf);

	e->conf = conf;
	build_front(e);
	return kept == conf->rules.n ? 1 : 0;
}

void
engine_free(struct engine *e)
{
	if (e == NULL)
		return;
	prefilter_free(e->pf);
	parser_free(e->parser);
	free(e->tests);
	for (size_t i = 0; i < e->nrules; i++)
		esqlrule_free(e->rules[i]);
	free(e->rules);
	free(e);
}

void
engine_line(void *engine, const char *line, size_t len)
{
	struct engine *e = engine;
	struct metrics *m = &e->metrics;
	const struct record *rec;
	bool any = false;

	/* An early alert says how long after its event's arrival it left. */
	if (e->nearly > 0)
		e->arrival_ns = mono_now_ns();
	if (e->pf != NULL && !prefilter_pass(e->pf, line, len)) {
		m->v[M_lines_prefiltered]++;
		return;
	}
	/*
	 * Every rule may match the line; the value check rules some out.
	 * (Asking the prefilter which alternatives hold costs more, on the
	 * lines that pass, than running the rules it would rule out.)
	 */
	e->alive = e->all_rules;
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
		/* Every rule was refuted by a value: unmatched by each. */
		for (size_t i = 0; i < e->nrules; i++)
			esqlrule_metrics(e->rules[i])->v[M_events_unmatched]++;
		m->v[M_events_unmatched]++;
		return;
	}
	for (size_t i = 0; i < e->nrules; i++) {
		/* A rule the line cannot match is not run on it. */
		if (!(e->alive >> (i < 63 ? i : 63) & 1))
			esqlrule_metrics(e->rules[i])->v[M_events_unmatched]++;
		else
			any |= esqlrule_event(e->rules[i], rec, line, len);
	}
	m->v[any ? M_events_matched : M_events_unmatched]++;
}

/*
 * Each rule counts its own events, windows and alerts; the engine's
 * counters from M_RULE_FIRST on are their sums, plus the counts of the
 * rules retired.
 */
static void
sum_rules(struct engine *e)
{
	for (int m = M_RULE_FIRST; m < M__COUNT; m++) {
		uint64_t sum = e->retired.v[m];
		for (size_t i = 0; i < e->nrules; i++)
			sum += esqlrule_metrics(e->rules[i])->v[m];
		e->metrics.v[m] = sum;
	}
}

void
engine_tick(struct engine *e, int64_t now_ms)
{
	for (size_t i = 0; i < e->nrules; i++)
		esqlrule_tick(e->rules[i], now_ms);
}

void
engine_flush(struct engine *e)
{
	for (size_t i = 0; i < e->nrules; i++)
		esqlrule_flush(e->rules[i]);
	sum_rules(e);
}

size_t
engine_nrules(const struct engine *e)
{
	return e->nrules;
}

struct esqlrule *
engine_rule(struct engine *e, size_t i)
{
	assert(i < e->nrules);
	return e->rules[i];
}

void
engine_print_rules(struct engine *e, FILE *f)
{
	for (size_t i = 0; i < e->nrules; i++) {
		const struct esql_alert_rule *a = esqlrule_meta(e->rules[i]);
		struct metrics *m = esqlrule_metrics(e->rules[i]);
		fprintf(f,
			"rule %s \"%s\": events_matched %" PRIu64
			" events_unmatched %" PRIu64 " alerts %" PRIu64
			" alerts_suppressed %" PRIu64 " eval_warnings %" PRIu64
			"\n",
			a->rule_id, a->name, m->v[M_events_matched],
			m->v[M_events_unmatched], m->v[M_alerts],
			m->v[M_alerts_suppressed], m->v[M_eval_warnings]);
	}
}

struct budget *
engine_budget(struct engine *e)
{
	return &e->budget;
}

struct metrics *
engine_metrics(struct engine *e)
{
	sum_rules(e);
	return &e->metrics;
}

/*
 * The state is ESQL_MAGIC, the number of rules, then
 * per rule its plan's fingerprint, its rule id and its window state, so
 * that a restart or reload with the same rule (compiled the same) takes
 * its state back and any other starts empty.
 */
static const char ESQL_MAGIC[8] = "BESQL\0\0\1";
/*
 * The retired built-in rule's state began with its window kind's format
 * ("WSTATE", version 3) as a host-order u64.
 */
static const uint64_t RETIRED_MAGIC = UINT64_C(0x5753544154450003);

uint64_t
engine_fingerprint(const struct engine *e)
{
	XXH3_state_t *st = XXH3_createState();
	uint64_t h;

	if (st == NULL)
		fatalx("out of memory");
	XXH3_64bits_reset(st);
	for (size_t i = 0; i < e->nrules; i++) {
		uint64_t fp = esqlrule_plan(e->rules[i])->fingerprint;
		const char *id = esqlrule_meta(e->rules[i])->rule_id;
		XXH3_64bits_update(st, &fp, sizeof(fp));
		XXH3_64bits_update(st, id, strlen(id) + 1);
	}
	h = XXH3_64bits_digest(st);
	XXH3_freeState(st);
	return h;
}

void
engine_save(const struct engine *e, struct buf *out)
{
	struct buf one = {0};

	buf_append(out, ESQL_MAGIC, sizeof(ESQL_MAGIC));
	buf_put_u64(out, e->nrules);
	for (size_t i = 0; i < e->nrules; i++) {
		const char *id = esqlrule_meta(e->rules[i])->rule_id;
		one.len = 0;
		esqlrule_save(e->rules[i], &one);
		buf_put_u64(out, esqlrule_plan(e->rules[i])->fingerprint);
		buf_put_bytes(out, id, strlen(id));
		buf_put_bytes(out, one.data, one.len);
	}
	buf_free(&one);
}

int
engine_load(struct engine *e, const char *data, size_t len)
{
	struct cursor c = {.p = data, .end = data + len};
	uint64_t n;

	if (len >= sizeof(RETIRED_MAGIC) &&
	    memcmp(data, &RETIRED_MAGIC, sizeof(RETIRED_MAGIC)) == 0)
		return -2;
	if (len < sizeof(ESQL_MAGIC) ||
	    memcmp(data, ESQL_MAGIC, sizeof(ESQL_MAGIC)) != 0)
		return -1;
	c.p += sizeof(ESQL_MAGIC);
	n = cursor_u64(&c);
	for (uint64_t k = 0; k < n && !c.bad; k++) {
		size_t idlen, stlen;
		uint64_t fp = cursor_u64(&c);
		const char *id = cursor_bytes(&c, &idlen);
		const char *st = cursor_bytes(&c, &stlen);
		if (c.bad)
			return -1;
		for (size_t i = 0; i < e->nrules; i++) {
			const char *rid = esqlrule_meta(e->rules[i])->rule_id;
			if (esqlrule_plan(e->rules[i])->fingerprint != fp ||
			    strlen(rid) != idlen || memcmp(rid, id, idlen) != 0)
				continue;
			if (esqlrule_load(e->rules[i], st, stlen) < 0)
				return -1;
		}
	}
	return !c.bad && c.p == c.end ? 0 : -1;
}

size_t
engine_groups(const struct engine *e)
{
	size_t n = 0;

	for (size_t i = 0; i < e->nrules; i++)
		n += esqlrule_groups(e->rules[i]);
	return n;
}

int64_t
engine_oldest_newest(const struct engine *e)
{
	int64_t t = INT64_MIN;

	for (size_t i = 0; i < e->nrules; i++) {
		int64_t r = esqlrule_oldest_newest(e->rules[i]);
		if (r != INT64_MIN && (t == INT64_MIN || r < t))
			t = r;
	}
	return t;
}

void
engine_check(const struct engine *e)
{
	for (size_t i = 0; i < e->nrules; i++)
		esqlrule_check_state(e->rules[i]);
}

void
engine_set_clock(struct engine *e, int64_t now_ms)
{
	e->clock_ms = now_ms;
	for (size_t i = 0; i < e->nrules; i++)
		esqlrule_set_clock(e->rules[i], now_ms);
}
