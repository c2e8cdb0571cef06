/*
 * lregex: ES|QL's RLIKE patterns, Lucene's RegExp dialect, compiled to a
 * deterministic automaton over code points.
 *
 * ES|QL builds RLIKE's automaton as new RegExp(p, RegExp.ALL |
 * RegExp.DEPRECATED_COMPLEMENT) (x-pack/plugin/esql-core .../predicate/
 * regex/RLikePattern.java), so every optional operator of Lucene's
 * RegExp (lucene/core .../util/automaton/RegExp.java) is on:
 *
 *   a|b  union          a&b  intersection    ~a   complement
 *   ab   concatenation  a?  a*  a+  a{n}  a{n,}  a{n,m}  repetition
 *   .    any code point  @   any string       #    the empty language
 *   [a-z0-9_] [^...]     classes with ranges (reserved characters need a
 *                        `\` inside classes too)
 *   "..."  a literal string    ()  the empty string    (a) grouping
 *   <n-m>  a decimal number in [n, m], zero-padded to the width of n and
 *          m when both are written with the same number of digits, else
 *          with any number of leading zeros
 *   \d \D \s \S \w \W   [0-9], [ \t\n\r], [a-zA-Z_0-9] and their
 *                       complements; `\` before another letter is an
 *                       error, before anything else makes it literal
 *
 * A reserved character where an operand is expected is a literal (`*a`
 * matches "*a"), and `^` and `$` are always literals.  The match is
 * anchored: the whole value must be in the language.  `<name>` (a named
 * automaton) is refused, as ES has none to give.
 *
 * Compilation: a Thompson NFA over code point ranges, made deterministic
 * by subset construction over the ranges' common refinement; `&` and `~`
 * are done on the sub-expressions' automata and embedded back.  Every
 * automaton built has at most LREGEX_MAX_STATES states (Lucene's
 * determinizeWorkLimit plays that part in ES); a pattern needing more is
 * refused at compile time, never at match time.  Matching is then one
 * table step per code point of the value.
 *
 * LREGEX_FOLD lower-cases each code point of the value with like_lower()
 * (TO_LOWER's mapping) before it is matched: TO_LOWER(x) RLIKE p, for a
 * pattern p without upper-case letters.
 *
 * Memory: a struct lregex owns its tables and a copy of each pattern;
 * lregex_free() releases them.  Matching allocates nothing.
 */
#ifndef BURSTD_LREGEX_H
#define BURSTD_LREGEX_H

#include <stdbool.h>
#include <stddef.h>

#define LREGEX_FOLD 0x1 /* match the value lower-cased as TO_LOWER does */

#define LREGEX_MAX_STATES 10000  /* of any automaton built */
#define LREGEX_MAX_PATTERN 65536 /* bytes of one pattern */
#define LREGEX_MAX_PATTERNS 4096 /* in one list */
#define LREGEX_MAX_DEPTH 200     /* nested (), ~ and [] */
#define LREGEX_MAX_NFA 200000    /* states of the NFA of a list */

struct lregex;

/*
 * Compiles the OR of patterns pats[i][0..lens[i]) for i < n.  Returns the
 * automaton, or NULL with "<what> at offset N" in err (N a byte offset
 * into the pattern) and *which set to the failing pattern's index.
 */
struct lregex *lregex_new(const char *const *pats, const size_t *lens, size_t n,
			  int flags, char *err, size_t errlen, size_t *which);
void lregex_free(struct lregex *re);

/* Whether s[0..len) is in the language. */
bool lregex_match(const struct lregex *re, const char *s, size_t len);

/* The number of patterns, and pattern i as written (for printing). */
size_t lregex_count(const struct lregex *re);
void
lregex_pattern(const struct lregex *re, size_t i, const char **p, size_t *len);

/* States of the deterministic automaton, for tests and --explain. */
size_t lregex_states(const struct lregex *re);

#endif
