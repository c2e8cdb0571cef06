/*
 * like: LIKE patterns against values.  Sources of the expectations:
 *   WQ  = apache/lucene lucene/core/src/java/org/apache/lucene/search/
 *         WildcardQuery.java, toAutomaton(): `*` is makeAnyString(), `?`
 *         makeAnyChar() (one code point), `\` adds the next code point
 *   SU  = elastic/elasticsearch x-pack/plugin/esql-core/.../util/
 *         StringUtils.java, wildcardToJavaPattern(), which
 *         WildcardPattern's constructor runs to validate: `\` must be
 *         followed by `*`, `?` or `\`, and may not end the pattern
 *   DOC = docs/reference/query-languages/esql/_snippets/operators/
 *         detailedDescription/like.md: "the whole string" must match
 *   TL  = burstd's TO_LOWER mapping of one code point (include/casemap.h)
 * and a slow backtracking matcher written from WQ's description, run
 * against every pattern over a small alphabet.
 */
#include <stdlib.h>

#include "check.h"
#include "like.h"

static const struct {
	const char *pat, *val;
	int fold;
	bool match;
} rows[] = {
    /* DOC: the whole value must match */
    {"abc", "abc", 0, true},
    {"abc", "abcd", 0, false},
    {"abc", "xabc", 0, false},
    {"", "", 0, true},
    {"", "a", 0, false},
    /* WQ: `*` is any string, also empty, also across newlines and NUL */
    {"*", "", 0, true},
    {"*", "anything", 0, true},
    {"a*", "a", 0, true},
    {"*a", "ba", 0, true},
    {"*a", "ab", 0, false},
    {"*env *", "printenv X", 0, true},
    {"*env *", "sh -c env", 0, false},
    {"*env *", "env\tX", 0, false},
    {"a*b", "a\nxb", 0, true},
    {"*grep*", "ls | grep x", 0, true},
    {"*grep*", "ls | GREP x", 0, false},
    {"a**b", "ab", 0, true},
    {"*ab*ab*", "abab", 0, true},
    {"*ab*ab*", "aab", 0, false},
    {"a*a", "a", 0, false},
    {"a*a", "aa", 0, true},
    {"*aab", "aaab", 0, true},
    /* WQ: `?` is one code point, not one byte */
    {"?", "a", 0, true},
    {"?", "", 0, false},
    {"?", "ab", 0, false},
    {"?", "\xc3\xa9", 0, true},         /* é, 2 bytes */
    {"??", "\xc3\xa9", 0, false},       /* one code point */
    {"?", "\xe2\x82\xac", 0, true},     /* €, 3 bytes */
    {"?", "\xf0\x9f\x98\x80", 0, true}, /* U+1F600, 4 bytes */
    {"a?c",
     "a\xf0\x9f\x98\x80"
     "c",
     0, true},
    {"*?", "", 0, false},
    {"*?x", "\xc3\xa9x", 0, true},
    {"?*?", "\xc3\xa9", 0, false},
    {"*?\xc3\xa9", "x\xc3\xa9\xc3\xa9", 0, true},
    {"*b?d*", "abxdabd", 0, true},
    {"*b?d", "abcdbd", 0, false},
    /* WQ, SU: `\` makes *, ? and \ literal */
    {"a\\*", "a*", 0, true},
    {"a\\*", "ab", 0, false},
    {"a\\?", "a?", 0, true},
    {"a\\?", "ab", 0, false},
    {"a\\\\b", "a\\b", 0, true},
    {"*\\**", "x*y", 0, true},
    {"*\\**", "xy", 0, false},
    /* TL: under LIKE_FOLD a capital matches its lower case */
    {"python*", "Python3", LIKE_FOLD, true},
    {"python*", "PYTHON", LIKE_FOLD, true},
    {"python*", "/usr/bin/python3", LIKE_FOLD, false},
    {"*shell*", "PowerSHELL.exe", LIKE_FOLD, true},
    {"\xc3\xa9t\xc3\xa9", "\xc3\x89T\xc3\x89", LIKE_FOLD, true}, /* ÉTÉ */
    {"\xd0\xb0", "\xd0\x90", LIKE_FOLD, true},                   /* А */
    {"\xd1\x91", "\xd0\x81", LIKE_FOLD, true},                   /* Ё */
    {"\xc3\x9f", "SS", LIKE_FOLD, false}, /* ß: simple mapping only */
    {"?x", "\xc3\x89X", LIKE_FOLD, true},
    {"a", "b", LIKE_FOLD, false},
};

/* One code point at s, its byte length in *n. */
static size_t
cp_len(const char *s)
{
	unsigned char c = (unsigned char)*s;

	return c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
}

/* WQ's semantics, by backtracking; valid UTF-8 only. */
static bool
slow(const char *p, const char *s)
{
	size_t n;

	if (*p == '\0')
		return *s == '\0';
	if (*p == '*')
		for (const char *t = s;; t += cp_len(t)) {
			if (slow(p + 1, t))
				return true;
			if (*t == '\0')
				return false;
		}
	if (*s == '\0')
		return false;
	if (*p == '?')
		return slow(p + 1, s + cp_len(s));
	if (*p == '\\')
		p++;
	n = cp_len(p);
	return memcmp(p, s, n) == 0 && slow(p + n, s + n);
}

static bool
one(const char *pat, const char *val, int fold)
{
	struct like *l = like_new(fold);
	char err[128];
	bool m;

	if (like_add(l, pat, strlen(pat), err, sizeof(err)) != 0) {
		fprintf(stderr, "pattern %s: %s\n", pat, err);
		like_free(l);
		return false;
	}
	m = like_match(l, val, strlen(val));
	like_free(l);
	return m;
}

static void
test_rows(void)
{
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		if (one(rows[i].pat, rows[i].val, rows[i].fold) !=
		    rows[i].match) {
			fprintf(stderr,
				"row %zu: \"%s\" LIKE \"%s\": want %d\n", i,
				rows[i].val, rows[i].pat, rows[i].match);
			check_failures++;
		}
}

static void
test_errors(void)
{
	struct like *l = like_new(0);
	char err[128];

	/* SU: "Invalid sequence - escape character is not followed by
	 * special wildcard char" */
	CHECK_EQ_INT(like_add(l, "a\\b", 3, err, sizeof(err)), -1);
	CHECK_STR(err, "escape character is not followed by special "
		       "wildcard char at offset 1");
	CHECK_EQ_INT(like_add(l, "ab\\", 3, err, sizeof(err)), -1);
	CHECK_STR(err, "escape character is not followed by special "
		       "wildcard char at offset 2");
	CHECK_EQ_INT(like_count(l), 0);
	like_free(l);
}

static void
test_list(void)
{
	struct like *l = like_new(0);
	const char *p;
	size_t len;

	/* a list is an OR (like.md: "a list of patterns") */
	CHECK_EQ_INT(like_add(l, "*curl*", 6, NULL, 0), 0);
	CHECK_EQ_INT(like_add(l, "wget?", 5, NULL, 0), 0);
	CHECK_EQ_INT(like_add(l, "*", 1, NULL, 0), 0);
	CHECK_EQ_INT(like_count(l), 3);
	CHECK(like_match(l, "xcurly", 6));
	like_pattern(l, 1, &p, &len);
	CHECK(len == 5 && memcmp(p, "wget?", 5) == 0);
	CHECK(like_required(l, 0, &p, &len) && len == 4 &&
	      memcmp(p, "curl", 4) == 0);
	CHECK(like_required(l, 1, &p, &len) && len == 4 &&
	      memcmp(p, "wget", 4) == 0);
	CHECK(!like_required(l, 2, &p, &len));
	like_free(l);

	/* the longest run, escapes resolved */
	l = like_new(0);
	CHECK_EQ_INT(like_add(l, "ab?c\\*de*f", 10, NULL, 0), 0);
	CHECK(like_required(l, 0, &p, &len) && len == 4 &&
	      memcmp(p, "c*de", 4) == 0);
	like_free(l);

	/* folding: the value may differ in case, so nothing is required */
	l = like_new(LIKE_FOLD);
	CHECK_EQ_INT(like_add(l, "*python*", 8, NULL, 0), 0);
	CHECK(!like_required(l, 0, &p, &len));
	like_free(l);
}

static void
test_upper(void)
{
	/* ChangeCase.Case.LOWER.matchesCase, with TL's mapping */
	CHECK(like_has_upper("Python*", 7));
	CHECK(!like_has_upper("python*", 7));
	CHECK(like_has_upper("\xc3\x89", 2));  /* É */
	CHECK(!like_has_upper("\xc3\xa9", 2)); /* é */
	CHECK(like_has_upper("\xce\x91", 2));  /* Α */
	CHECK(!like_has_upper("\\*?", 3));
	CHECK_EQ_INT(like_lower('Z'), 'z');
	CHECK_EQ_INT(like_lower(0xd7), 0xd7); /* × is not a letter */
	CHECK_EQ_INT(like_lower(0x401), 0x451);
	/* UnicodeData.txt simple lower case beyond Latin-1, Greek and
	 * Cyrillic: U+0100 -> U+0101, KELVIN SIGN U+212A -> k, DESERET
	 * CAPITAL LONG I U+10400 -> U+10428; U+0130's full lower case is two
	 * code points (SpecialCasing.txt), so one code point keeps it */
	CHECK_EQ_INT(like_lower(0x100), 0x101);
	CHECK_EQ_INT(like_lower(0x212a), 'k');
	CHECK_EQ_INT(like_lower(0x10400), 0x10428);
	CHECK_EQ_INT(like_lower(0x130), 0x130);
	CHECK_EQ_INT(like_lower(0x3a3), 0x3c3);
}

/* Every pattern of up to 5 symbols over {a, é, *, ?, \*} against values. */
static void
test_exhaustive(void)
{
	static const char *sym[] = {"a", "\xc3\xa9", "*", "?", "\\*"};
	static const char *vsym[] = {"a", "\xc3\xa9", "*"};
	/* and the capitals of a and é, which fold to them */
	static const char *fsym[] = {"a", "\xc3\xa9", "*", "A", "\xc3\x89"};
	char pat[64], val[64], low[64];
	struct like *fl;
	size_t failures = 0;

	for (unsigned plen = 0, pn = 1; plen <= 5; plen++, pn *= 5)
		for (unsigned code = 0; code < pn; code++) {
			struct like *l = like_new(0);

			pat[0] = '\0';
			for (unsigned k = 0, c = code; k < plen; k++, c /= 5)
				strcat(pat, sym[c % 5]);
			CHECK_EQ_INT(like_add(l, pat, strlen(pat), NULL, 0), 0);
			for (unsigned vlen = 0, vn = 1; vlen <= 4;
			     vlen++, vn *= 3)
				for (unsigned v = 0; v < vn; v++) {
					val[0] = '\0';
					for (unsigned k = 0, c = v; k < vlen;
					     k++, c /= 3)
						strcat(val, vsym[c % 3]);
					if (like_match(l, val, strlen(val)) ==
					    slow(pat, val))
						continue;
					if (failures++ < 10)
						fprintf(stderr,
							"\"%s\" LIKE \"%s\": "
							"want %d\n",
							val, pat,
							slow(pat, val));
					check_failures++;
				}
			/* LIKE_FOLD is matching the lower-cased value */
			fl = like_new(LIKE_FOLD);
			CHECK_EQ_INT(like_add(fl, pat, strlen(pat), NULL, 0),
				     0);
			for (unsigned vlen = 0, vn = 1; vlen <= 3;
			     vlen++, vn *= 5)
				for (unsigned v = 0; v < vn; v++) {
					val[0] = low[0] = '\0';
					for (unsigned k = 0, c = v; k < vlen;
					     k++, c /= 5) {
						strcat(val, fsym[c % 5]);
						strcat(low,
						       fsym[c % 5 < 3
								? c % 5
								: c % 5 - 3]);
					}
					if (like_match(fl, val, strlen(val)) ==
					    like_match(l, low, strlen(low)))
						continue;
					if (failures++ < 10)
						fprintf(stderr,
							"\"%s\" LIKE_FOLD "
							"\"%s\"\n",
							val, pat);
					check_failures++;
				}
			like_free(fl);
			like_free(l);
		}
}

int
main(void)
{
	test_rows();
	test_errors();
	test_list();
	test_upper();
	test_exhaustive();
	return check_exit();
}
