/*
 * prefilter: rejects, without parsing, lines that cannot match the rule.
 *
 * It is built from the rule's filter clauses: each clause that compares a
 * field with literal strings contributes one group of needles, and a line
 * can only match if, for every group, one of the needles occurs in it
 * (ASCII-case-insensitively where the clause is), standing as a whole
 * JSON string ("start") or at the start of one ("python...) where the
 * clause compares whole values or prefixes.  A JSON string can hide
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

/* Where a needle must stand in the line. */
enum prefilter_where {
	PF_ANYWHERE,     /* anywhere */
	PF_STRING,       /* as a whole JSON string: "needle" */
	PF_STRING_START, /* at the start of a JSON string: "needle... */
};

/*
 * Adds a group: the line must contain one of needles[0..n), standing
 * where `where` says.  A needle that JSON could also write as a bare
 * token (a number, true, false, null) is looked for anywhere instead,
 * since keyword fields compare such tokens by their text.  Returns 0, or
 * -1 (and adds nothing) if a needle is empty or could be spelled another
 * way in JSON, so the group cannot be required literally.
 */
int prefilter_add_group(struct prefilter *pf, const char *const *needles,
			size_t n, bool ignore_case, enum prefilter_where where);
/* Orders the groups by a first guess at selectivity; call once after
 * adding. */
void prefilter_seal(struct prefilter *pf);
/* Number of groups in use (0: every line passes). */
size_t prefilter_groups(const struct prefilter *pf);

/*
 * Returns true unless the line provably cannot match.  Counts which
 * group turned a line away, and every few thousand lines puts the groups
 * that turn most away first: the answer never depends on that order,
 * only the time it takes.
 */
bool prefilter_pass(struct prefilter *pf, const char *line, size_t len);

#endif
