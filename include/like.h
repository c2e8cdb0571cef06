/*
 * like: ES|QL's LIKE patterns, compiled once and matched against keyword
 * values.
 *
 * The dialect is Lucene's WildcardQuery as ES|QL's WildcardPattern takes
 * it: `*` matches any sequence of code points (newlines and NUL
 * included), `?` exactly one code point (not one byte), and `\` makes the
 * next `*`, `?` or `\` literal.  ES refuses a `\` before anything else or
 * at the end ("Invalid sequence - escape character is not followed by
 * special wildcard char"), and so does like_add().  The whole value must
 * match; the empty pattern matches only the empty value.  A struct like
 * holds a list of patterns, matched as an OR (`x LIKE ("a*", "b*")`).
 *
 * A pattern is kept as its literal segments, split at `*`; within a
 * segment a `?` is a hole of one code point.  Matching places the first
 * segment at the start, the last at the end, and each middle one at its
 * leftmost place after the previous (every segment spans a fixed number
 * of code points, so the leftmost place never loses a match): the time is
 * O(value * longest segment) at worst, with no backtracking.
 *
 * LIKE_FOLD matches case-insensitively for the TO_LOWER rewrite: a value
 * code point c matches a pattern code point p when like_lower(c) ==
 * like_lower(p), where like_lower() is TO_LOWER's mapping of one code
 * point (include/casemap.h) where that is one code point (all but
 * U+0130, whose full lower case is two; a capital sigma is U+03C3).  ES
 * matches the rewritten predicate with Lucene's ASCII_CASE_INSENSITIVE
 * automaton instead; the two agree on ASCII and differ only when a
 * non-ASCII capital appears in the value (ES then no longer agrees with
 * its own TO_LOWER).
 *
 * Memory: a struct like owns copies of its patterns; like_free() releases
 * them.  Matching allocates nothing.
 */
#ifndef BURSTD_LIKE_H
#define BURSTD_LIKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LIKE_FOLD 0x1 /* case-insensitive, folding as TO_LOWER does */

#define LIKE_MAX_PATTERNS 4096
#define LIKE_MAX_PATTERN (64 * 1024) /* bytes of one pattern */

struct like;

struct like *like_new(int flags);
void like_free(struct like *l);

/*
 * Adds pattern p[0..len) to the list.  Returns 0, or -1 with "<what> at
 * offset N" in err for a bad escape, a pattern over LIKE_MAX_PATTERN
 * bytes or a list over LIKE_MAX_PATTERNS.
 */
int
like_add(struct like *l, const char *p, size_t len, char *err, size_t errlen);

/* Whether s[0..len) matches one of the patterns. */
bool like_match(const struct like *l, const char *s, size_t len);

/* The number of patterns, and pattern i as written (for printing). */
size_t like_count(const struct like *l);
void like_pattern(const struct like *l, size_t i, const char **p, size_t *len);

/*
 * The longest literal run (no `*`, no `?`, escapes resolved) of pattern
 * i, which every value matching that pattern contains byte for byte.
 * Returns false when the pattern has none, or under LIKE_FOLD (a value
 * may then differ from the pattern in case).  *p lives as long as l.
 */
bool like_required(const struct like *l, size_t i, const char **p, size_t *len);

/*
 * The longest literal run of pattern i (ties: one at the pattern's start
 * or end), whatever the flags, and where it stands in every value the
 * pattern matches: *at is LIKE_AT_START if the pattern begins with it,
 * LIKE_AT_END if the pattern ends with it, both if it is the whole
 * pattern, else 0.  Without LIKE_FOLD the value holds it byte for byte;
 * under LIKE_FOLD, up to the case like_lower() folds.  Returns false when
 * the pattern has none.  *p lives as long as l.
 */
#define LIKE_AT_START 0x1
#define LIKE_AT_END 0x2
bool like_needle(const struct like *l, size_t i, const char **p, size_t *len,
		 int *at);

/* Whether pattern p[0..len) has a code point that like_lower() changes. */
bool like_has_upper(const char *p, size_t len);

/* TO_LOWER's mapping of one code point. */
uint32_t like_lower(uint32_t c);

#endif
