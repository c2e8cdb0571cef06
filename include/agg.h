/*
 * agg: the running state of ES|QL aggregate functions (the STATS
 * command) for one group, and its results as ES|QL values.
 *
 * A struct agg_def describes the aggregates of a query: per aggregate its
 * kind, the type of its input column and, for COUNT_DISTINCT and VALUES,
 * the index of the value set it reads.  A COUNT_DISTINCT and a VALUES
 * over the same input share one set (the planner gives them the same
 * `set`).  A struct agg_state holds one group's state for a def: one cell
 * per aggregate and one strset per set.
 *
 * Semantics (Elasticsearch ES|QL aggregation functions reference,
 * docs/reference/esql/functions/aggregation-functions):
 * - COUNT(*) counts rows; COUNT(x) counts values, each element of a
 *   multi-valued input and no null.  Both are long, never null.
 * - COUNT_DISTINCT(x) counts distinct values exactly (here: distinct
 *   canonical encodings, esql_scalar_encode()), long, never null.
 * - VALUES(x) is every distinct value, nulls dropped, as one multi-value
 *   of x's type, null when there is none.
 * - MIN, MAX keep the least and greatest value by esql_scalar_cmp() (any
 *   ordered type, keywords by bytes); null with no value.
 * - SUM of integer or long is a long; an overflow makes the result null
 *   and agg_result() reports a warning, as ES|QL warns "long overflow"
 *   and returns null.  SUM of double is a double (compensated sum); a sum
 *   that is no longer finite is null with a warning.
 * - AVG is SUM / COUNT as a double (ES|QL plans AVG as that division),
 *   null with no value; a long sum that overflows makes it null with a
 *   warning, as SUM does.
 * Every aggregate but COUNT(*) takes every element of a multi-valued
 * input and skips null.
 *
 * Caps: a set keeps the bytes of at most def->max_values members (the
 * first ones added) and remembers the others by hash only, so that
 * COUNT_DISTINCT stays exact.  VALUES then returns the kept members only
 * and agg_values_dropped() says how many it left out; a consumer that
 * prints VALUES reports that count next to it.
 *
 * Ownership: the def is the caller's and outlives its states.  A state
 * owns its cells, sets and the bytes of a keyword MIN/MAX.  A result is
 * borrowed: its keyword bytes point into the state (valid until the next
 * agg_update() or agg_free() of that state), and the array of a
 * multi-valued VALUES result is allocated from the caller's arena.
 * Nothing here recurses; input sizes are bounded by the sets' caps.
 */
#ifndef BURSTD_AGG_H
#define BURSTD_AGG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "esql_value.h"
#include "util.h"

enum agg_kind {
	AGG_COUNT_ALL,      /* COUNT(*) */
	AGG_COUNT,          /* COUNT(x) */
	AGG_COUNT_DISTINCT, /* COUNT_DISTINCT(x), exact */
	AGG_VALUES,         /* VALUES(x) */
	AGG_MIN,
	AGG_MAX,
	AGG_SUM,
	AGG_AVG,
};

struct agg_spec {
	enum agg_kind kind;  /* what it computes */
	enum esql_type type; /* its input's type (ignored by COUNT(*)) */
	int set;             /* COUNT_DISTINCT, VALUES: the set; else -1 */
};

struct agg_def {
	const struct agg_spec *specs; /* n aggregates, borrowed */
	size_t n;                     /* aggregates */
	size_t nsets;                 /* sets, each used by >= 1 spec */
	size_t max_values;            /* members kept per set, bytes */
	struct buf scratch;           /* encoding buffer; agg_def_fini() */
};

/*
 * Checks a def (kinds, types, set indices in range and used with one
 * input type each).  Returns 0, or -1 with a message in err (errlen
 * bytes) naming the aggregate.
 */
int agg_def_check(const struct agg_def *d, char *err, size_t errlen);
/* Releases the def's scratch buffer (not its specs). */
void agg_def_fini(struct agg_def *d);

/* The result type of a spec: long, double or its input type. */
enum esql_type agg_result_type(const struct agg_spec *s);

struct agg_state;

/* A new, empty state for d; the caller frees it with agg_free(). */
struct agg_state *agg_new(const struct agg_def *d);
void agg_free(const struct agg_def *d, struct agg_state *st);

/*
 * Adds one row: in[i] is the input of aggregate i (in[i].type must be
 * specs[i].type unless in[i] is null; COUNT(*) reads nothing), and on[i]
 * whether aggregate i takes the row at all (its `agg WHERE cond` held;
 * on == NULL: every aggregate does).  The values are copied as needed.
 * Two specs that share a set must be given the same input and the same
 * on.  Returns the number of values the sets' caps left out of their
 * kept bytes (new members remembered by hash only).
 */
size_t agg_update(struct agg_def *d, struct agg_state *st,
		  const struct esql_val *in, const bool *on);

/*
 * The result of aggregate i into out.  Returns 1 if the result carries a
 * warning (a SUM or AVG that overflowed: out is null), else 0.  A VALUES
 * result with more than one value takes its array from arena.
 */
int agg_result(const struct agg_def *d, const struct agg_state *st, size_t i,
	       struct esql_val *out, struct esql_arena *arena);

/* Distinct values a VALUES or COUNT_DISTINCT result leaves out (cap). */
size_t agg_values_dropped(const struct agg_def *d, const struct agg_state *st,
			  size_t i);
/* Distinct values counted by set k (for eviction order). */
size_t agg_set_count(const struct agg_state *st, size_t k);
/* Members of set k whose bytes are kept (each one allocation). */
size_t agg_set_kept(const struct agg_state *st, size_t k);

/* Heap bytes the state holds, for the budget. */
size_t agg_bytes(const struct agg_def *d, const struct agg_state *st);

/*
 * Appends the state to out, and reads it back into an empty state of the
 * same def.  agg_load() checks every field (types decode, keywords are
 * UTF-8, counts fit, sets hold no duplicate) and returns 0, or -1 if the
 * data is malformed; the state is then partly filled and the caller
 * frees it.
 */
void
agg_save(const struct agg_def *d, const struct agg_state *st, struct buf *out);
int agg_load(const struct agg_def *d, struct agg_state *st, struct cursor *c);

#endif
