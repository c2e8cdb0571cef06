/*
 * kql: the query of ES|QL's KQL() function, compiled once into a
 * predicate on a row's columns.
 *
 * ES|QL hands KQL() to Elasticsearch's kql query (x-pack/plugin/kql,
 * grammar KqlBase.g4, after Kibana's kuery grammar.peggy in
 * packages/kbn-es-query), which runs as a Lucene query.  The subset
 * accepted:
 *
 *   field:value  field:"quoted value"  field:val*ue  field:*
 *   field:(a or b)  field:(a and not b)  field >= 5  field < "m"
 *   q and q   q or q   not q   (q)          an empty query: every row
 *
 * `and`, `or` and `not` are case-insensitive and bind as in the grammar:
 * not before and before or.  Whitespace separates tokens; `\` escapes
 * one of ` \():<>"*{}`, \t \r \n, \uXXXX, or a keyword (\and).  In a
 * quoted value `*` is literal; unquoted, `*` matches any sequence.
 *
 * Matching follows the Lucene query on the field's type (the resolve
 * callback gives column and type): a keyword value is an exact,
 * case-sensitive term (a wildcard query with `*`; since Elasticsearch
 * PR #135776 KQL is case-sensitive); a long, integer or double field
 * reads the value as a number, an ip field as an address or a CIDR
 * block, a boolean field as true or false.  A multi-valued field
 * matches when any of its values does, and a null field matches nothing
 * (`field:*` is "has a value").  The result is true or false, never
 * null: KQL() is a Lucene query, not wrapped in SingleValueQuery.
 *
 * Refused with "<what> at offset N": free text without a field, field
 * names with wildcards, nested queries `field:{...}`, an unknown field,
 * a value the field's type cannot read, wildcards and ranges on fields
 * that do not support them, dates, an unquoted value of several words,
 * bad escapes, nesting deeper than KQL_MAX_DEPTH and queries longer than
 * KQL_MAX_QUERY.
 *
 * Memory: a struct kql owns its tree, its copies of the values and of
 * the query text; kql_free() releases them.  Matching allocates nothing.
 */
#ifndef BURSTD_KQL_H
#define BURSTD_KQL_H

#include <stdbool.h>
#include <stddef.h>

#include "esql_expr.h"

#define KQL_MAX_QUERY (64 * 1024)
#define KQL_MAX_DEPTH 64

struct kql;

/* Compiles q[0..len); NULL with "<what> at offset N" in err. */
struct kql *kql_new(const char *q, size_t len, esql_resolve_fn *resolve,
		    void *arg, char *err, size_t errlen);
void kql_free(struct kql *k);

/* Whether the row whose column i is cols[i] matches. */
bool kql_match(const struct kql *k, const struct esql_val *cols);

/* The query as written. */
const char *kql_text(const struct kql *k, size_t *len);

/* Calls cb for each column the query reads. */
void
kql_columns(const struct kql *k, void (*cb)(void *arg, int column), void *arg);

/*
 * As esql_expr_needles(): keyword terms and the literal runs of wildcard
 * values give needles (OR over `or`, one side of `and`); false when
 * nothing is proved.  Needles point into k.
 */
bool kql_needles(const struct kql *k, struct esql_needles *out);
/*
 * As esql_expr_needle_groups(): the needle sets of each operand of the
 * query's top-level `and` that has one, at most max into out; every row
 * the query matches has a needle of each set.  Returns how many.
 */
size_t
kql_needle_groups(const struct kql *k, struct esql_needles *out, size_t max);

#endif
