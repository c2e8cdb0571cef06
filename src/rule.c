/*
 * rule: the seed rule as data, its compilation and per-record checks.
 *
 * The defaults below transcribe the ES|QL query of "Suspicious Python
 * Shell Command Execution" (see docs/semantics.md for how each clause is
 * read): six filter clauses, the minute window, the four-part group key,
 * the seven-way label CASE, two distinct counts, five value sets, the
 * thresholds 5 and 4, and max_signals 100.
 */
#define _GNU_SOURCE /* memmem */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "alert.h"
#include "log.h"
#include "rule.h"
#include "util.h"
#include "window.h"

static void
add_clause(struct rule *r, const char *field, enum clause_op op,
	   bool ignore_case, const char *const *values)
{
	struct clause *c;

	r->clauses =
	    xreallocarray(r->clauses, r->nclauses + 1, sizeof(*r->clauses));
	c = &r->clauses[r->nclauses++];
	memset(c, 0, sizeof(*c));
	c->field = xstrdup(field);
	c->op = op;
	c->ignore_case = ignore_case;
	strlist_add_all(&c->values, values);
}

static void
add_label(struct rule *r, const char *name, const char *const *contains)
{
	struct label *l;

	r->labels =
	    xreallocarray(r->labels, r->nlabels + 1, sizeof(*r->labels));
	l = &r->labels[r->nlabels++];
	memset(l, 0, sizeof(*l));
	l->name = xstrdup(name);
	strlist_add_all(&l->contains, contains);
}

static void
add_values(struct rule *r, const char *column, const char *field)
{
	struct value_col *v = &r->values[r->nvalues++];

	v->column = xstrdup(column);
	v->field = xstrdup(field);
}

#define L(...) ((const char *const[]){__VA_ARGS__, NULL})

struct rule *
rule_default(void)
{
	struct rule *r = xcalloc(1, sizeof(*r));

	r->name = xstrdup("Suspicious Python Shell Command Execution");
	r->rule_id = xstrdup("b42e4b88-fc4a-417b-a45e-4d4a3db9fd41");
	r->severity = xstrdup("medium");
	r->risk_score = 47;
	strlist_add_all(&r->tags,
			L("Domain: Endpoint", "OS: Linux", "OS: macOS",
			  "Use Case: Threat Detection", "Tactic: Execution",
			  "Data Source: Elastic Defend"));
	r->tactic =
	    (struct mitre_ref){xstrdup("TA0002"), xstrdup("Execution"),
			       xstrdup(
				   "https://attack.mitre.org/tactics/TA0002/")};
	r->technique = (struct mitre_ref){
	    xstrdup("T1059"), xstrdup("Command and Scripting Interpreter"),
	    xstrdup("https://attack.mitre.org/techniques/T1059/")};
	r->subtechnique = (struct mitre_ref){
	    xstrdup("T1059.006"), xstrdup("Python"),
	    xstrdup("https://attack.mitre.org/techniques/T1059/006/")};

	add_clause(r, "host.os.type", CLAUSE_IN, false, L("linux", "macos"));
	add_clause(r, "event.type", CLAUSE_IN, false, L("start"));
	add_clause(r, "process.parent.name", CLAUSE_PREFIX, true, L("python"));
	add_clause(r, "process.name", CLAUSE_IN, false,
		   L("bash", "dash", "sh", "tcsh", "csh", "zsh", "ksh", "fish",
		     "busybox"));
	add_clause(r, "event.action", CLAUSE_ANY, false, L("exec"));
	add_clause(r, "process.args", CLAUSE_ANY, false, L("-c", "-cl", "-lc"));

	r->time_field = xstrdup("@timestamp");
	r->window_ms = 60 * 1000;
	r->window_column = xstrdup("Esql.time_window_date_trunc");

	r->group_by[r->ngroup++] = xstrdup("process.parent.entity_id");
	r->group_by[r->ngroup++] = xstrdup("agent.id");
	r->group_by[r->ngroup++] = xstrdup("host.name");
	r->watermark_by = xstrdup("agent.id");

	r->label_field = xstrdup("process.command_line");
	add_label(r, "grep", L("grep"));
	add_label(r, "find", L("find"));
	add_label(r, "curl", L("curl"));
	add_label(r, "environment_enumeration", L("env "));
	add_label(r, "wget", L("wget"));
	add_label(r, "discovery", L("whoami", "uname", "hostname"));
	r->default_label = xstrdup("other");
	r->labels_column = xstrdup("Esql.patterns_count_distinct");

	r->distinct_field = xstrdup("process.command_line");
	r->distinct_column =
	    xstrdup("Esql.process_command_line_count_distinct");
	add_values(r, "Esql.process_command_line_values",
		   "process.command_line");
	add_values(r, "Esql.host_name_values", "host.name");
	add_values(r, "Esql.agent_id_values", "agent.id");
	add_values(r, "Esql.event_dataset_values", "event.dataset");
	add_values(r, "Esql.data_stream_namespace_values",
		   "data_stream.namespace");

	r->min_distinct = 5;
	r->min_labels = 4;
	r->max_alerts = 100;
	return r;
}

static void
mitre_free(struct mitre_ref *m)
{
	free(m->id);
	free(m->name);
	free(m->reference);
}

void
rule_free(struct rule *r)
{
	if (r == NULL)
		return;
	free(r->name);
	free(r->rule_id);
	free(r->severity);
	strlist_clear(&r->tags);
	mitre_free(&r->tactic);
	mitre_free(&r->technique);
	mitre_free(&r->subtechnique);
	for (size_t i = 0; i < r->nclauses; i++) {
		free(r->clauses[i].field);
		strlist_clear(&r->clauses[i].values);
	}
	free(r->clauses);
	free(r->time_field);
	free(r->window_column);
	for (size_t i = 0; i < r->ngroup; i++)
		free(r->group_by[i]);
	free(r->watermark_by);
	free(r->label_field);
	for (size_t i = 0; i < r->nlabels; i++) {
		free(r->labels[i].name);
		strlist_clear(&r->labels[i].contains);
	}
	free(r->labels);
	free(r->default_label);
	free(r->labels_column);
	free(r->distinct_field);
	free(r->distinct_column);
	for (size_t i = 0; i < r->nvalues; i++) {
		free(r->values[i].column);
		free(r->values[i].field);
	}
	free(r);
}

/*
 * Returns the slot of a field, adding it if new; -1 if slots run out or
 * the name is longer than the parser can follow.
 */
static int
slot_of(struct rule *r, const char *field)
{
	if (strlen(field) > RECORD_MAX_NAME)
		return -1;
	for (size_t i = 0; i < r->nfields; i++)
		if (strcmp(r->fields[i], field) == 0)
			return (int)i;
	if (r->nfields == RECORD_MAX_FIELDS)
		return -1;
	r->fields[r->nfields] = field;
	return (int)r->nfields++;
}

#define CHECK(cond, ...)                                    \
	do {                                                \
		if (!(cond)) {                              \
			snprintf(err, errlen, __VA_ARGS__); \
			return -1;                          \
		}                                           \
	} while (0)

static void
fp_str(XXH3_state_t *st, const char *s)
{
	XXH3_64bits_update(st, s, strlen(s) + 1);
}

static void
fp_num(XXH3_state_t *st, uint64_t v)
{
	XXH3_64bits_update(st, &v, sizeof(v));
}

static void
fp_list(XXH3_state_t *st, const struct strlist *l)
{
	fp_num(st, l->n);
	for (size_t i = 0; i < l->n; i++)
		fp_str(st, l->v[i]);
}

static void
fp_mitre(XXH3_state_t *st, const struct mitre_ref *m)
{
	fp_str(st, m->id);
	fp_str(st, m->name);
	fp_str(st, m->reference);
}

/* A hash of every part of the plan, so a reload can tell if it changed. */
static uint64_t
fingerprint(const struct rule *r)
{
	XXH3_state_t *st = XXH3_createState();
	uint64_t h;

	if (st == NULL)
		fatalx("out of memory");
	XXH3_64bits_reset(st);
	fp_str(st, r->name);
	fp_str(st, r->rule_id);
	fp_str(st, r->severity);
	fp_num(st, (uint64_t)r->risk_score);
	fp_list(st, &r->tags);
	fp_mitre(st, &r->tactic);
	fp_mitre(st, &r->technique);
	fp_mitre(st, &r->subtechnique);
	fp_num(st, r->nclauses);
	for (size_t i = 0; i < r->nclauses; i++) {
		fp_str(st, r->clauses[i].field);
		fp_num(st, r->clauses[i].op);
		fp_num(st, r->clauses[i].ignore_case);
		fp_list(st, &r->clauses[i].values);
	}
	fp_str(st, r->time_field);
	fp_num(st, (uint64_t)r->window_ms);
	fp_str(st, r->window_column);
	fp_num(st, r->ngroup);
	for (size_t i = 0; i < r->ngroup; i++)
		fp_str(st, r->group_by[i]);
	fp_str(st, r->watermark_by);
	fp_str(st, r->label_field);
	fp_num(st, r->nlabels);
	for (size_t i = 0; i < r->nlabels; i++) {
		fp_str(st, r->labels[i].name);
		fp_list(st, &r->labels[i].contains);
	}
	fp_str(st, r->default_label);
	fp_str(st, r->labels_column);
	fp_str(st, r->distinct_field);
	fp_str(st, r->distinct_column);
	fp_num(st, r->nvalues);
	for (size_t i = 0; i < r->nvalues; i++) {
		fp_str(st, r->values[i].column);
		fp_str(st, r->values[i].field);
	}
	fp_num(st, r->min_distinct);
	fp_num(st, r->min_labels);
	fp_num(st, r->max_alerts);
	h = XXH3_64bits_digest(st);
	XXH3_freeState(st);
	return h;
}

int
rule_compile(struct rule *r, char *err, size_t errlen)
{
	r->nfields = 0;
	CHECK(r->nclauses > 0, "rule has no filter clause");
	for (size_t i = 0; i < r->nclauses; i++) {
		struct clause *c = &r->clauses[i];
		CHECK(c->values.n > 0, "filter on %s has no values", c->field);
		CHECK((c->slot = slot_of(r, c->field)) >= 0,
		      "too many fields, or a field name over %d bytes",
		      RECORD_MAX_NAME);
	}
	CHECK(r->window_ms > 0, "window must be positive");
	CHECK((r->time_slot = slot_of(r, r->time_field)) >= 0,
	      "too many fields, or a field name over %d bytes",
	      RECORD_MAX_NAME);
	CHECK(r->ngroup > 0, "group_by is empty");
	r->watermark_key = -1;
	for (size_t i = 0; i < r->ngroup; i++) {
		CHECK((r->group_slots[i] = slot_of(r, r->group_by[i])) >= 0,
		      "too many fields, or a field name over %d bytes",
		      RECORD_MAX_NAME);
		if (strcmp(r->group_by[i], r->watermark_by) == 0)
			r->watermark_key = (int)i;
	}
	CHECK(r->watermark_key >= 0, "watermark_by %s is not in group_by",
	      r->watermark_by);
	CHECK(r->nlabels <= RULE_MAX_LABELS, "more than %d labels",
	      RULE_MAX_LABELS);
	CHECK((r->label_slot = slot_of(r, r->label_field)) >= 0,
	      "too many fields, or a field name over %d bytes",
	      RECORD_MAX_NAME);
	CHECK((r->distinct_slot = slot_of(r, r->distinct_field)) >= 0,
	      "too many fields, or a field name over %d bytes",
	      RECORD_MAX_NAME);
	for (size_t i = 0; i < r->nvalues; i++)
		CHECK((r->values[i].slot = slot_of(r, r->values[i].field)) >= 0,
		      "too many fields, or a field name over %d bytes",
		      RECORD_MAX_NAME);
	CHECK(r->max_alerts > 0, "max_alerts must be positive");
	r->fingerprint = fingerprint(r);
	return 0;
}

static bool
ascii_prefix_ci(const char *s, size_t len, const char *prefix)
{
	size_t n = strlen(prefix);

	if (n > len)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char a = (unsigned char)s[i];
		unsigned char b = (unsigned char)prefix[i];
		if (a >= 'A' && a <= 'Z')
			a |= 0x20;
		if (b >= 'A' && b <= 'Z')
			b |= 0x20;
		if (a != b)
			return false;
	}
	return true;
}

static bool
value_hits(const struct clause *c, const struct record_value *v)
{
	for (size_t i = 0; i < c->values.n; i++) {
		const char *lit = c->values.v[i];
		size_t n = strlen(lit);
		switch (c->op) {
		case CLAUSE_PREFIX:
			if (c->ignore_case
				? ascii_prefix_ci(v->p, v->len, lit)
				: (n <= v->len && memcmp(v->p, lit, n) == 0))
				return true;
			break;
		case CLAUSE_IN:
		case CLAUSE_ANY:
			if (n == v->len &&
			    (c->ignore_case ? ascii_prefix_ci(v->p, n, lit)
					    : memcmp(v->p, lit, n) == 0))
				return true;
			break;
		}
	}
	return false;
}

uint32_t
rule_check_slots(const struct rule *r)
{
	uint32_t slots = 0;

	for (size_t i = 0; i < r->nclauses; i++)
		if (r->clauses[i].op != CLAUSE_ANY)
			slots |= UINT32_C(1) << r->clauses[i].slot;
	return slots;
}

bool
rule_value_ok(const struct rule *r, int slot, const char *p, size_t len)
{
	struct record_value v = {p, len};

	for (size_t i = 0; i < r->nclauses; i++) {
		const struct clause *c = &r->clauses[i];
		if (c->slot == slot && c->op != CLAUSE_ANY &&
		    !value_hits(c, &v))
			return false;
	}
	return true;
}

static bool
clause_holds(const struct clause *c, const struct record *rec)
{
	struct record_value one;
	size_t n;
	const struct record_value *v;

	if (c->op == CLAUSE_ANY) {
		v = record_get(rec, c->slot, &n);
		for (size_t i = 0; i < n; i++)
			if (value_hits(c, &v[i]))
				return true;
		return false;
	}
	/* Missing or multi-valued (after de-duplication) fails. */
	if (record_distinct(rec, c->slot, &one, 1) != 1)
		return false;
	return value_hits(c, &one);
}

bool
rule_match(const struct rule *r, const struct record *rec)
{
	for (size_t i = 0; i < r->nclauses; i++)
		if (!clause_holds(&r->clauses[i], rec))
			return false;
	return true;
}

unsigned
rule_label(const struct rule *r, const struct record *rec)
{
	struct record_value v;

	if (record_distinct(rec, r->label_slot, &v, 1) != 1)
		return (unsigned)r->nlabels;
	for (size_t i = 0; i < r->nlabels; i++) {
		const struct strlist *c = &r->labels[i].contains;
		for (size_t j = 0; j < c->n; j++)
			if (memmem(v.p, v.len, c->v[j], strlen(c->v[j])))
				return (unsigned)i;
	}
	return (unsigned)r->nlabels;
}

const char *
rule_label_name(const struct rule *r, unsigned i)
{
	return i < r->nlabels ? r->labels[i].name : r->default_label;
}

static int
key_cmp(const struct alert_key *x, const struct alert_key *y, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if ((x[i].p == NULL) != (y[i].p == NULL))
			return x[i].p == NULL ? -1 : 1;
		if (x[i].p == NULL)
			continue;
		size_t m = x[i].len < y[i].len ? x[i].len : y[i].len;
		int c = memcmp(x[i].p, y[i].p, m);
		if (c != 0)
			return c;
		if (x[i].len != y[i].len)
			return x[i].len < y[i].len ? -1 : 1;
	}
	return 0;
}

/* qsort has no context argument; closings are sorted one at a time. */
static const struct window_closing *sorting;

static int
close_cmp(const void *pa, const void *pb)
{
	const struct alert *x = &sorting->groups[*(const size_t *)pa];
	const struct alert *y = &sorting->groups[*(const size_t *)pb];
	unsigned lx, ly;

	if (x->distinct != y->distinct)
		return x->distinct > y->distinct ? -1 : 1;
	lx = alert_label_count(x->labels);
	ly = alert_label_count(y->labels);
	if (lx != ly)
		return lx > ly ? -1 : 1;
	return key_cmp(x->key, y->key, sorting->rule->ngroup);
}

void
rule_close(struct window_closing *c,
	   void (*emit)(void *arg, const struct alert *a), void *arg)
{
	const struct rule *r = c->rule;
	size_t stack[64], *idx = stack, n = 0;

	if (c->n > sizeof(stack) / sizeof(stack[0]))
		idx = xreallocarray(NULL, c->n, sizeof(*idx));
	for (size_t i = 0; i < c->n; i++) {
		const struct alert *a = &c->groups[i];

		if (a->distinct >= r->min_distinct &&
		    alert_label_count(a->labels) >= r->min_labels)
			idx[n++] = i;
	}
	sorting = c;
	qsort(idx, n, sizeof(*idx), close_cmp);
	sorting = NULL;
	for (size_t k = 0; k < n; k++) {
		if (c->emitted >= r->max_alerts) {
			window_decide(c, idx[k], WINDOW_SUPPRESSED);
			continue;
		}
		window_decide(c, idx[k], WINDOW_EMITTED);
		emit(arg, &c->groups[idx[k]]);
	}
	if (idx != stack)
		free(idx);
}
