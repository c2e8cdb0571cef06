/*
 * prefilter: rejects, without parsing, lines that cannot match the rule.
 *
 * It is built from the rule's filter clauses: each clause that compares a
 * field with literal strings contributes one group of needles, and a line
 * can only match if, for every group, one of the needles occurs in it
 * (ASCII-case-insensitively where the clause is).  A JSON string can hide
 * letters only behind a "\u" escape, so a line that contains a backslash
 * followed by 'u' is never rejected.  Needles that JSON could spell in
 * another way (a quote, backslash, slash or control byte) make their
 * clause contribute nothing.  The result is conservative by construction:
 * a line it rejects fails the rule; a line it passes may still fail.
 *
 * The prefilter owns copies of its needles.
 */
#ifndef BURSTD_PREFILTER_H
#define BURSTD_PREFILTER_H

#include <stdbool.h>
#include <stddef.h>

struct prefilter;

struct prefilter *prefilter_new(void);
void prefilter_free(struct prefilter *pf);

/*
 * Adds a group: the line must contain one of needles[0..n).  Returns 0, or
 * -1 (and adds nothing) if a needle is empty or could be spelled another
 * way in JSON, so the group cannot be required literally.
 */
int prefilter_add_group(struct prefilter *pf, const char *const *needles,
    size_t n, bool ignore_case);
/* Orders the groups most selective first; call once after adding. */
void prefilter_seal(struct prefilter *pf);
/* Number of groups in use (0: every line passes). */
size_t prefilter_groups(const struct prefilter *pf);

/* Returns true unless the line provably cannot match. */
bool prefilter_pass(const struct prefilter *pf, const char *line,
    size_t len);

#endif
