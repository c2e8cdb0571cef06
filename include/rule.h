/*
 * rule: the detection as data, and its evaluation on one record.
 *
 * A struct rule is the plan the rest of the engine follows: the per-event
 * filter (clauses over field values), the time field and window size,
 * the group key, the label table, the distinct counts, the value sets,
 * the thresholds and the cap, plus the metadata an alert carries.
 * rule_default() is the seed rule "Suspicious Python Shell Command
 * Execution"; configuration may replace any part before rule_compile()
 * turns field names into record slots.  After compiling, a rule is
 * read-only and may be shared.
 *
 * The rule owns all its strings (freed by rule_free()).
 */
#ifndef BURSTD_RULE_H
#define BURSTD_RULE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "record.h"
#include "strlist.h"

#define RULE_MAX_LABELS 63
#define RULE_MAX_GROUP 8
#define RULE_MAX_VALUES 8

enum clause_op {
	CLAUSE_IN,     /* single-valued, and equal to one of the values */
	CLAUSE_PREFIX, /* single-valued, and starting with one of the values */
	CLAUSE_ANY,    /* some value equal to one of the values */
};

struct clause {
	char *field;           /* dotted field name */
	enum clause_op op;     /* how values are compared */
	bool ignore_case;      /* ASCII case-insensitive comparison */
	struct strlist values; /* the literals compared with */
	int slot;              /* record slot, set by rule_compile() */
};

struct label {
	char *name;              /* the label */
	struct strlist contains; /* substrings, any of which gives the label */
};

struct value_col {
	char *column; /* output name, e.g. "Esql.host_name_values" */
	char *field;  /* field whose values are collected */
	int slot;     /* record slot, set by rule_compile() */
};

struct mitre_ref {
	char *id;        /* "TA0002", "T1059", "T1059.006" */
	char *name;      /* "Execution" */
	char *reference; /* URL */
};

struct rule {
	/* Metadata carried by every alert. */
	char *name;              /* kibana.alert.rule.name */
	char *rule_id;           /* kibana.alert.rule.rule_id */
	char *severity;          /* kibana.alert.severity */
	int risk_score;          /* kibana.alert.risk_score */
	struct strlist tags;     /* kibana.alert.rule.tags */
	struct mitre_ref tactic; /* threat mapping */
	struct mitre_ref technique;
	struct mitre_ref subtechnique;

	/* The per-event filter: every clause must hold. */
	struct clause *clauses; /* owned array */
	size_t nclauses;

	/* Window: time_field truncated to window_ms. */
	char *time_field;
	int64_t window_ms;
	char *window_column; /* "Esql.time_window_date_trunc" */

	/* Group key, besides the window. */
	char *group_by[RULE_MAX_GROUP];
	size_t ngroup;
	char *watermark_by; /* a group_by field: one watermark each */

	/* Labels: first match wins, else default_label. */
	char *label_field;
	struct label *labels; /* owned array */
	size_t nlabels;
	char *default_label;
	char *labels_column; /* "Esql.patterns_count_distinct" */

	/* Distinct values counted, and value sets collected. */
	char *distinct_field;
	char *distinct_column; /* "Esql.process_command_line_count_distinct" */
	struct value_col values[RULE_MAX_VALUES];
	size_t nvalues;

	/* Threshold and cap. */
	uint64_t min_distinct; /* distinct values >= this */
	uint64_t min_labels;   /* and distinct labels >= this */
	size_t max_alerts;     /* per window; the rest are suppressed */

	/* Set by rule_compile(). */
	const char *fields[RECORD_MAX_FIELDS]; /* slot -> field name */
	size_t nfields;
	int time_slot;
	int group_slots[RULE_MAX_GROUP];
	int watermark_key; /* index into group_by */
	int label_slot;
	int distinct_slot;
	uint64_t fingerprint; /* hash of everything above */
};

/* Returns the seed rule, ready to be changed or compiled. */
struct rule *rule_default(void);
void rule_free(struct rule *r);

/*
 * Resolves field names to slots and checks the plan.  Returns 0, or -1
 * with a message in err (errlen bytes) naming what is wrong.
 */
int rule_compile(struct rule *r, char *err, size_t errlen);

/*
 * Slots on which one value alone can fail the filter: those of "in" and
 * "prefix" clauses (a value that fails them fails the event, whatever
 * else the field holds, since a second value would make it multi-valued).
 */
uint32_t rule_check_slots(const struct rule *r);
/* False if this one value of the slot already makes the filter fail. */
bool rule_value_ok(const struct rule *r, int slot, const char *p, size_t len);

/* Whether the record passes every clause of the filter. */
bool rule_match(const struct rule *r, const struct record *rec);

/* The record's label: an index into r->labels, or r->nlabels (default). */
unsigned rule_label(const struct rule *r, const struct record *rec);
/* A label's name; i == nlabels is the default label. */
const char *rule_label_name(const struct rule *r, unsigned i);

struct alert;
struct window_closing;

/*
 * The rule's decision on the groups of one closing window (the window
 * store's callback, window.h): a group passes with at least min_distinct
 * distinct values and min_labels distinct labels; those that pass are
 * ordered by distinct values descending, then distinct labels descending,
 * then key ascending (so that ties at the cap break the same way on
 * every run), and go out through emit while the window has emitted fewer
 * than max_alerts; the rest are suppressed.  Those that do not pass are
 * left undecided.
 */
void rule_close(struct window_closing *c,
		void (*emit)(void *arg, const struct alert *a), void *arg);

#endif
