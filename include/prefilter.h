/*
 * prefilter: rejects, without parsing, lines that cannot match the rules.
 *
 * It is built from the rules' filter conditions: each condition that
 * compares a field with literal strings contributes one group of
 * needles, and a line can only match if, for every group, one of the
 * needles occurs in it.  Each needle says where it must stand:
 * anywhere, as a whole JSON string ("start"), at the start of one
 * ("python...) or at its end (...start"), and whether it is compared
 * exactly or ASCII-case-insensitively.  Groups belong to alternatives
 * (one per rule): a line passes when all the groups of some alternative
 * are satisfied.
 *
 * Soundness: whenever a line rejected here could be spelled, by JSON,
 * in a way that holds a value the needles miss, the line is passed
 * instead:
 *  - A JSON string can hide letters behind an escape: a line that holds
 *    a backslash followed by 'u' or '/' is never rejected.  Needles
 *    with another byte JSON must escape (a quote, backslash or control
 *    byte) make their group contribute nothing.
 *  - A keyword field may hold a number or a boolean written bare in
 *    JSON, compared by its text: a needle JSON could write as a bare
 *    token (or the start or end of one, for a string start or end) is
 *    looked for anywhere.
 *  - A whole string or a string's end, as a value, is never followed
 *    by ':' (a key is): such places are skipped.
 *  - Case: Elasticsearch's TO_LOWER and TO_UPPER are Java's
 *    String.toLowerCase/toUpperCase (Locale.ROOT), and its
 *    case-insensitive matches may fold by Unicode's case folding.  Of
 *    all code points outside ASCII, exactly these map, by lower, upper
 *    or full case folding, to a string with an ASCII letter (Unicode
 *    14): U+00DF, U+0130, U+0131, U+0149, U+017F, U+01F0,
 *    U+1E96..U+1E9A, U+1E9E, U+212A and U+FB00..U+FB06
 *    (PREFILTER_FOLDS; burstd's own TO_LOWER and TO_UPPER, casemap.h,
 *    are these mappings, and tests/unit/test_casemap.c checks that each
 *    code point they take into ASCII is listed).  A line that holds one
 *    of them passes whenever some needle ignores case.  Any other code
 *    point outside ASCII maps to code points outside ASCII, so a value
 *    whose lower (or upper) case equals an ASCII needle is, byte for
 *    byte, that needle up to ASCII case.  Needles with bytes outside
 *    ASCII are never compared ignoring case (the caller must not ask:
 *    prefilter_add_needles() refuses them).
 * The result is conservative by construction: a line it rejects fails
 * every rule; a line it passes may still fail.
 *
 * The prefilter owns copies of its needles.
 */
#ifndef BURSTD_PREFILTER_H
#define BURSTD_PREFILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct prefilter;

struct prefilter *prefilter_new(void);
void prefilter_free(struct prefilter *pf);

/* Where a needle must stand in the line. */
enum prefilter_where {
	PF_ANYWHERE,     /* anywhere */
	PF_STRING,       /* as a whole JSON string value: "needle" */
	PF_STRING_START, /* at the start of a JSON string: "needle... */
	PF_STRING_END,   /* at the end of a JSON string value: ...needle" */
};

/* One needle, as prefilter_add_needles() takes it. */
struct prefilter_needle {
	const char *s; /* NUL-terminated */
	enum prefilter_where where;
	bool ignore_case; /* ASCII-case-insensitive; ASCII needles only */
};

/*
 * The code points outside ASCII that lower, upper or full case folding
 * takes to a string with an ASCII letter, in order (see above).
 */
extern const uint32_t PREFILTER_FOLDS[];
extern const size_t PREFILTER_NFOLDS;

/*
 * Adds a group to the current alternative: the line must contain one of
 * v[0..n), each standing where it says.  Returns 0, or -1 (and adds
 * nothing) if a needle is empty, could be spelled another way in JSON
 * or ignores case with a byte outside ASCII, so the group cannot be
 * required literally.
 */
int prefilter_add_needles(struct prefilter *pf,
			  const struct prefilter_needle *v, size_t n);
/*
 * prefilter_add_needles() with the same case and place for every one of
 * needles[0..n).
 */
int prefilter_add_group(struct prefilter *pf, const char *const *needles,
			size_t n, bool ignore_case, enum prefilter_where where);
/*
 * Starts a new alternative: the groups added from now on form it, and a
 * line passes if it satisfies every group of at least one alternative.
 * Each alternative must get at least one group (an alternative without
 * one would pass every line: then build no prefilter).  Before the
 * first call, groups go to alternative 0.
 */
void prefilter_new_alt(struct prefilter *pf);
/* Orders the groups by a first guess at selectivity; call once after
 * adding. */
void prefilter_seal(struct prefilter *pf);
/* Number of groups in use, over all alternatives (0: every line
 * passes). */
size_t prefilter_groups(const struct prefilter *pf);

/*
 * Returns true unless the line provably cannot match.  Counts which
 * group turned a line away and which alternative let one through, and
 * every few thousand lines puts first, within each alternative, the
 * groups that turn most away, and the alternatives that pass most: the
 * answer never depends on those orders, only the time it takes.  A
 * needle found (or not) is remembered for the rest of the line, so a
 * needle several alternatives share is looked for once.
 */
bool prefilter_pass(struct prefilter *pf, const char *line, size_t len);

#endif
