/*
 * esql_plan: an ES|QL query compiled for streaming execution.
 *
 * esql_plan_compile() types a parsed query (esql.h) against the Elastic
 * Defend field types (fieldtype.h), builds its expressions (esql_expr.h)
 * and gives it one of two shapes:
 *
 * - ESQL_SHAPE_FILTER: no STATS.  Each event's row goes through `pre`
 *   (EVAL, WHERE, MV_EXPAND in query order; KEEP, DROP and RENAME are
 *   resolved at compile time into the output projection); every row
 *   that comes out is an alert, with the columns `pre.out` names.
 *
 * - ESQL_SHAPE_BUCKETED: exactly one STATS whose BY has a key equal to
 *   DATE_TRUNC(span, @timestamp) (written in BY, or a column an earlier
 *   EVAL computed so, through RENAMEs).  Each event's row goes through
 *   `pre`; each row that comes out updates the aggregates of its group
 *   (the values of the BY keys; a multi-valued key puts the row in each
 *   value's group, a null key is a group of its own) in the window of its
 *   bucket.  When the window closes, each group's STATS row (the
 *   aggregates in the order written, then the BY keys, as ES|QL orders
 *   STATS output) goes through `post`; the window's surviving rows are
 *   ordered by `sort` and cut to `limit` (and by the rule's max_signals,
 *   which is not the plan's).
 *
 * Everything else is refused with "LINE:COL: <construct> is not
 * supported" (or a more specific message): a STATS without a time
 * bucket (it aggregates the whole look-back of a scheduled run), a
 * second STATS, LIMIT before STATS, unknown columns, type errors.
 *
 * Names.  A name no EVAL, RENAME or STATS defined earlier is an event
 * field (an input column, typed by fieldtype_of()) as long as no KEEP,
 * DROP, RENAME or STATS before it hid it; the fields KQL() names are
 * input columns too.  KEEP orders its columns as written (an exact name
 * before a partial pattern before `*`; among equals the rightmost wins);
 * DROP or KEEP of an exact name that is neither a column nor an event
 * field still visible is "Unknown column [x]", a pattern that matches
 * nothing is not an error.  A stream knows only the fields the query
 * names, so `*` patterns and a query without KEEP output those.
 * A column an unnamed expression makes (`EVAL x + 1`, `STATS COUNT(*)`,
 * `BY DATE_TRUNC(1 hour, @timestamp)`) is named by the expression's text
 * as written, as Elasticsearch names it.
 * METADATA names (_id, _index, _version, _score, _ignored, _index_mode)
 * are columns that are always null: an event read from a stream was
 * never indexed.  A WHERE, aggregate or BY key that reads one (directly
 * or through EVAL) is refused, since the rule could never match as it
 * does in Elasticsearch.
 *
 * SORT and LIMIT in a filter-only query, and SORT before STATS, are
 * checked and then not applied (`ignored` says so): Elasticsearch sorts
 * and cuts the rows of one scheduled run, a stream alerts on each row as
 * it comes (and max_signals, a cap per run, does not apply).  After STATS, a
 * LIMIT may be followed only by EVAL, KEEP, DROP, RENAME and LIMIT.
 *
 * Rows.  A program works on a row of `ncols` columns (struct esql_val,
 * borrowed).  Before `pre` runs, the caller fills columns
 * 0..nfields-1 with the event's values of fields[i], converted to
 * field_types[i] (fieldtype_convert(); a value Elasticsearch would
 * reject is null); the other columns are the program's.  Before `post`
 * runs, the caller fills columns 0..naggs-1 with the aggregate results
 * and naggs..naggs+nby-1 with the group's key values.  An aggregate's
 * argument and its WHERE condition are columns of the `pre` row (the
 * compiler adds hidden EVAL steps for expressions), so the caller reads
 * them from the rows `pre` emits.
 *
 * Ownership: a plan owns everything it points to; esql_plan_free()
 * releases it.  A compiled plan is read-only and may be shared.
 */
#ifndef BURSTD_ESQL_PLAN_H
#define BURSTD_ESQL_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agg.h"
#include "esql.h"
#include "esql_expr.h"
#include "esql_value.h"
#include "util.h"

/* Rows one input row may fan out to through MV_EXPAND; the rest are
 * dropped and counted in esql_run.expand_cut. */
#define ESQL_PLAN_MAX_EXPAND 1024

/* Needle groups a plan keeps for the prefilter. */
#define ESQL_PLAN_MAX_GROUPS 8
/* Value tests of one plan, at most. */
#define ESQL_PLAN_MAX_TESTS 8

enum esql_shape {
	ESQL_SHAPE_FILTER,
	ESQL_SHAPE_BUCKETED,
};

enum esql_step_kind {
	ESQL_STEP_EVAL,      /* row[column] = expr */
	ESQL_STEP_WHERE,     /* keep the row if expr is true */
	ESQL_STEP_MV_EXPAND, /* one row per value of row[column] */
};

struct esql_step {
	enum esql_step_kind kind;
	int column;             /* EVAL: written; MV_EXPAND: expanded */
	struct esql_expr *expr; /* EVAL, WHERE; owned */
};

/* A named, typed column of a program's output. */
struct esql_out {
	char *name; /* as the query names it, e.g. "Esql.host_name_values" */
	int column; /* in the program's row */
	enum esql_type type;
};

struct esql_program {
	size_t ncols; /* row width: inputs, then computed columns */
	struct esql_step *steps;
	size_t nsteps;
	struct esql_out *out; /* the columns visible after the program
				 (for a bucketed pre: at the STATS) */
	size_t nout;
};

struct esql_by {
	char *name;          /* the STATS output column's name */
	int column;          /* in the pre row */
	enum esql_type type; /* its type */
};

struct esql_agg {
	char *name;     /* the STATS output column's name */
	int arg_column; /* in the pre row; -1 for COUNT(*) */
	int where;      /* pre row column of its WHERE (boolean), or -1 */
};

struct esql_sort {
	int column; /* in the post row */
	bool desc;
	bool nulls_first;
};

struct esql_plan {
	enum esql_shape shape;
	char *text; /* the query's canonical text (esql_query_print) */
	uint64_t fingerprint; /* XXH3 of the compiled plan's canonical
				 form: equal for queries that compile to
				 the same plan */

	char **indices; /* FROM's index patterns, recorded only */
	size_t nindices;
	char **metadata; /* FROM's METADATA names: always-null columns */
	size_t nmetadata;
	char *ignored; /* commands checked but not applied, one line; or
			  NULL */

	/* Inputs: the event fields read, pre row columns 0..nfields-1. */
	char **fields;
	enum esql_type *field_types;
	size_t nfields;
	int time_column; /* the input column of @timestamp, -1 if unread */

	struct esql_program pre; /* per event */

	/* ESQL_SHAPE_BUCKETED only. */
	struct esql_by *by;
	size_t nby;
	int bucket_by;    /* the index in by[] of the DATE_TRUNC key */
	int64_t span_ms;  /* its span */
	int watermark_by; /* by[] index of agent.id, host.id or host.name
			     read unchanged from the event, else -1 */
	struct esql_agg *aggs;
	struct agg_spec *specs; /* naggs, for the agg_def */
	size_t naggs;
	size_t nsets;             /* value sets the specs share */
	struct esql_program post; /* on the STATS row: aggs, then by */
	struct esql_sort *sort;
	size_t nsort;
	int64_t limit; /* LIMIT after STATS, -1 if none */

	/*
	 * Alerting early (before the window closes) is sound when every
	 * WHERE of `post` can only turn from false to true as rows are
	 * added: conjunctions and disjunctions of COUNT, COUNT_DISTINCT,
	 * SUM of non-negative values and MAX compared with >= or >, MIN
	 * with <= or <, against constants.  `why` says, in one line, why
	 * it is or is not.
	 */
	bool monotone;
	char *why;

	/*
	 * A prefilter: when has_needles, every event that `pre` lets
	 * through has, in input column needles.v[i].column (a field
	 * index: input column i is fields[i]), a value containing
	 * needles.v[i], where and in the case it says, for some i (see
	 * esql_expr_needles()).  The needles come from one WHERE of `pre`
	 * that reads input columns only (before or after an MV_EXPAND,
	 * which leaves in its column one of the event's values): of those
	 * that give a set, the one whose shortest needle is the longest.
	 * They point into that WHERE's expression.
	 */
	bool has_needles;
	struct esql_needles needles;
	/*
	 * Stronger, for a rule on its own: every event `pre` lets through
	 * has a needle of each of groups[0..ngroups) (the conjuncts of the
	 * same early WHERE steps, each with its own set).
	 */
	struct esql_needles groups[ESQL_PLAN_MAX_GROUPS];
	size_t ngroups;
	/*
	 * Value tests for the parser's early check: every event `pre` lets
	 * through has, in input column tests[i].column, only values that
	 * pass tests[i] (the conjuncts of the WHERE steps on input columns
	 * before any MV_EXPAND that esql_expr_value_test() takes).
	 */
	struct esql_value_test tests[ESQL_PLAN_MAX_TESTS];
	size_t ntests;
};

/*
 * Compiles q.  Returns the plan, or NULL with "LINE:COL: message" in err
 * (errlen bytes, NUL-terminated).
 */
struct esql_plan *
esql_plan_compile(const struct esql_query *q, char *err, size_t errlen);
void esql_plan_free(struct esql_plan *p);

/* Parses and compiles query text: esql_query_parse() + compile. */
struct esql_plan *
esql_plan_from_text(const char *text, size_t len, char *err, size_t errlen);

/*
 * What running a program counts (the caller adds them to its counters).
 */
struct esql_run {
	uint64_t expand_cut; /* rows MV_EXPAND dropped past its bound */
};

typedef void esql_row_fn(void *arg, struct esql_val *row);

/*
 * Runs pg on row (pg->ncols columns, inputs filled as described above)
 * and calls emit for every row that comes out; a row emitted is valid
 * during the call only.  Values computed go to cx->arena, which the
 * caller resets between events; cx->cols is set to row.  WHERE keeps a
 * row when its condition is true (null and a multi-value are not).
 * MV_EXPAND of a null or single value passes the row on as it is, of a
 * multi-value once per value, in order, with the column holding that
 * value; past ESQL_PLAN_MAX_EXPAND rows made from one input row, the
 * values left are counted in run->expand_cut (run may be NULL).
 * Returns the number of rows emitted.
 */
size_t esql_program_run(const struct esql_program *pg, struct esql_ctx *cx,
			struct esql_val *row, esql_row_fn *emit, void *arg,
			struct esql_run *run);

/*
 * The ES|QL order of two post rows under p->sort (then 0): for qsort
 * of a window's rows before the limit.  Each key orders nulls as its
 * nulls_first says, and a multi-value by its least value ascending, its
 * greatest descending (ES|QL SORT reference).
 */
int esql_plan_sort_cmp(const struct esql_plan *p, const struct esql_val *a,
		       const struct esql_val *b);

/*
 * Appends what will run, for --explain: shape, fields read, the
 * programs, the window (span, keys, watermark key), aggregates, sort,
 * limit, prefilter needles, the alerting mode and why.
 */
void esql_plan_explain(const struct esql_plan *p, struct buf *out);

#endif
