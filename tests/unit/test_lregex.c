/*
 * lregex: RLIKE patterns against values.  Sources of the expectations:
 *   RE  = apache/lucene lucene/core/src/java/org/apache/lucene/util/
 *         automaton/RegExp.java: the grammar in its javadoc and the
 *         parser (parseUnionExp ... parseCharExp, expandPredefined)
 *   AU  = .../automaton/Automata.java makeDecimalInterval(): "if digits
 *         > 0, use fixed number of digits (strings must be prefixed by
 *         0's to obtain the right length) - otherwise, the number of
 *         digits is not fixed (any number of leading 0s is accepted)"
 *   OP  = .../automaton/Operations.java: repeat(a, min, max) is the
 *         empty language when min > max; complement() is over all
 *         strings of code points
 *   RLP = elastic/elasticsearch x-pack/plugin/esql-core .../predicate/
 *         regex/RLikePattern.java: RegExp.ALL | DEPRECATED_COMPLEMENT,
 *         so &, ~, #, @, <n-m> are all on; the match is anchored
 *         (AutomataMatch runs the whole value)
 */
#include <stdlib.h>

#include "check.h"
#include "lregex.h"

static const struct {
	const char *pat, *val;
	bool match;
} rows[] = {
    /* RLP: anchored, whole value */
    {"abc", "abc", true},
    {"abc", "xabcx", false},
    {"", "", true},
    {"", "a", false},
    /* RE: `.` any code point, also a multi-byte one, and newline */
    {".", "a", true},
    {".", "\xc3\xa9", true},
    {".", "\xf0\x9f\x98\x80", true},
    {"..", "\xc3\xa9", false},
    {".", "\n", true},
    {".*", "", true},
    {".*", "a\nb", true},
    /* RE: repetition */
    {"ab?c", "ac", true},
    {"ab?c", "abc", true},
    {"ab+c", "ac", false},
    {"ab+c", "abbbc", true},
    {"a{3}", "aaa", true},
    {"a{3}", "aa", false},
    {"a{2,}", "aaaaa", true},
    {"a{2,}", "a", false},
    {"a{2,3}", "aaa", true},
    {"a{2,3}", "aaaa", false},
    {"a{0}", "", true},
    {"a{0,0}b", "b", true},
    {"(ab){2}", "abab", true},
    {"(a{2}){3}", "aaaaaa", true},
    {"(a{2}){3}", "aaaaa", false},
    {"a{2}{3}", "aaaaaa", true},
    {"(a|bc){2,3}", "bcabc", true},
    {"a**", "aaa", true},
    /* OP: min > max is the empty language */
    {"a{3,2}", "aaa", false},
    {"a{3,2}|b", "b", true},
    /* RE: union, grouping, () is the empty string */
    {"cat|dog", "dog", true},
    {"cat|dog", "cadog", false},
    {"(a|b)c", "bc", true},
    {"a()b", "ab", true},
    {"()", "", true},
    /* RE: classes, ranges, negation; reserved chars need `\` inside */
    {"[abc]", "b", true},
    {"[a-c]+", "abcabc", true},
    {"[a-c]", "d", false},
    {"[^a-c]", "d", true},
    {"[^a-c]", "b", false},
    {"[^a]", "\xc3\xa9", true},
    {"[^a]", "", false},
    {"[\\]]", "]", true},
    {"[]a]", "]", true},
    {"[\\-a]", "-", true},
    {"[.]", "x", false},
    {"[.]", ".", true},
    {"[\xc3\xa0-\xc3\xbf]", "\xc3\xa9", true},
    /* RE: predefined classes (expandPredefined) */
    {"\\d+", "0123456789", true},
    {"\\d", "a", false},
    {"\\D", "a", true},
    {"\\s", "\t", true},
    {"\\s", "\x0b", false},
    {"\\S", "x", true},
    {"\\w+", "az_AZ09", true},
    {"\\w", "-", false},
    {"\\W", "-", true},
    {"[\\d.]+", "1.2", true},
    /* RE: `\` makes the next character literal */
    {"a\\.b", "a.b", true},
    {"a\\.b", "axb", false},
    {"\\\\", "\\", true},
    {"\\*", "*", true},
    {"\\@", "@", true},
    {"\\~a", "~a", true},
    /* RE: "..." is a literal string */
    {"\"a.b*\"", "a.b*", true},
    {"\"a.b*\"", "axb", false},
    {"x\"|\"y", "x|y", true},
    /* RE: a reserved character where an operand is expected is literal */
    {"*a", "*a", true},
    {"+", "+", true},
    {"{", "{", true},
    {"]", "]", true},
    {")", ")", true},
    {"(|a)", "|a", true},
    {"&a", "&a", true},
    /* RE: ^ and $ are ordinary characters */
    {"^a$", "^a$", true},
    {"^a$", "a", false},
    /* RE, RLP: @ any string, # the empty language */
    {"@", "anything", true},
    {"@", "", true},
    {"a@", "abc", true},
    {"#", "", false},
    {"#|a", "a", true},
    {"a#", "a", false},
    /* RE, RLP: & intersection */
    {".*a.*&.*b.*", "xbxa", true},
    {".*a.*&.*b.*", "xxa", false},
    {"a+&a{2}", "aa", true},
    {"a+&a{2}", "aaa", false},
    {"[a-z]+&~(.*cat.*)", "dog", true},
    {"[a-z]+&~(.*cat.*)", "concatenate", false},
    /* RE, OP: ~ complement over all strings */
    {"~a", "b", true},
    {"~a", "a", false},
    {"~a", "", true},
    {"~a", "aa", true},
    {"~(.*\\.exe)", "cmd.exe", false},
    {"~(.*\\.exe)", "cmd.com", true},
    {"~~a", "a", true},
    {"~#", "x", true},
    {"~@", "", false},
    {"~a*", "b", true},
    /* AU: <n-m>; same width: zero-padded; else any leading zeros */
    {"<1-10>", "7", true},
    {"<1-10>", "10", true},
    {"<1-10>", "11", false},
    {"<1-10>", "007", true},
    {"<1-10>", "0", false},
    {"<01-10>", "07", true},
    {"<01-10>", "7", false},
    {"<10-01>", "07", true},
    {"<0-0>", "0", true},
    {"<0-5>", "", false},
    {"<100-250>", "199", true},
    {"<100-250>", "251", false},
    {"<100-250>", "99", false},
    {"<0-1000>", "0999", true},
    {"port<8000-8080>", "port8042", true},
    {"<1-10>{2}", "0710", true},
    {"<1-10>{2}", "711", false},
    {"(<1-3>|x){2}", "2x", true},
    {"~(<01-20>)&..", "21", true},
    {"~(<01-20>)&..", "07", false},
    /* RLP: matched over code points of the UTF-8 value */
    {"\xc3\xa9+", "\xc3\xa9\xc3\xa9", true},
    {"[^\xc3\xa9]", "\xc3\xa8", true},
    /* a real rule shape */
    {".*(curl|wget) .*http.*", "sh -c curl -s http://x", true},
    {".*(curl|wget) .*http.*", "curl", false},
};

static const struct {
	const char *pat, *err;
} errs[] = {
    /* RE: each IllegalArgumentException of the parser */
    {"(a", "expected ')' at offset 2"},
    {"a)", "end of pattern expected at offset 1"},
    {"[a", "expected ']' at offset 2"},
    {"[]", "expected ']' at offset 2"},
    {"a{", "integer expected at offset 2"},
    {"a{2", "expected '}' at offset 3"},
    {"a{2,x}", "expected '}' at offset 4"},
    {"a{99999999999}", "repeat count out of range at offset 2"},
    {"\"ab", "expected '\"' at offset 3"},
    {"a|", "unexpected end of pattern at offset 2"},
    {"\\", "unexpected end of pattern at offset 1"},
    {"[z-a]", "invalid range: from (122) cannot be > to (97) at offset 1"},
    {"\\q", "invalid character class \\q at offset 0"},
    {"[\\Z]", "invalid character class \\Z at offset 1"},
    {"<1-2", "expected '>' at offset 4"},
    {"<a-b>", "interval syntax error at offset 4"},
    {"<1-2-3>", "interval syntax error at offset 6"},
    {"<-3>", "interval syntax error at offset 3"},
    {"<name>", "named automata <name> are not supported at offset 0"},
    /* bounds */
    {"(a|b)*a(a|b){20}",
     "pattern needs more than 10000 automaton states at offset 16"},
    {"[ab]{1000}{1000}{1000}",
     "pattern too complex (over 200000 NFA states) at offset 16"},
};

static bool
one(const char *pat, const char *val, int flags, char *err, size_t errlen)
{
	size_t len = strlen(pat), which;
	struct lregex *re =
	    lregex_new(&pat, &len, 1, flags, err, errlen, &which);
	bool m;

	if (re == NULL)
		return false;
	m = lregex_match(re, val, strlen(val));
	lregex_free(re);
	return m;
}

static void
test_rows(void)
{
	char err[200];

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		err[0] = '\0';
		if (one(rows[i].pat, rows[i].val, 0, err, sizeof(err)) ==
		    rows[i].match)
			continue;
		fprintf(stderr, "row %zu: \"%s\" RLIKE \"%s\": want %d %s\n", i,
			rows[i].val, rows[i].pat, rows[i].match, err);
		check_failures++;
	}
}

static void
test_errors(void)
{
	char err[200];

	for (size_t i = 0; i < sizeof(errs) / sizeof(errs[0]); i++) {
		size_t len = strlen(errs[i].pat), which = 9;
		struct lregex *re = lregex_new(&errs[i].pat, &len, 1, 0, err,
					       sizeof(err), &which);

		if (re != NULL) {
			fprintf(stderr, "\"%s\" compiled\n", errs[i].pat);
			check_failures++;
			lregex_free(re);
			continue;
		}
		CHECK_EQ_INT(which, 0);
		CHECK_STR(err, errs[i].err);
	}
}

static void
test_list(void)
{
	const char *pats[] = {"a.*", "b+", "(c"};
	size_t lens[] = {3, 2, 2}, which, len;
	struct lregex *re;
	const char *p;
	char err[200];

	/* a list is an OR (RLikePatternList: the union) */
	re = lregex_new(pats, lens, 2, 0, err, sizeof(err), &which);
	CHECK(re != NULL);
	CHECK(lregex_match(re, "abc", 3));
	CHECK(lregex_match(re, "bb", 2));
	CHECK(!lregex_match(re, "c", 1));
	CHECK_EQ_INT(lregex_count(re), 2);
	lregex_pattern(re, 1, &p, &len);
	CHECK(len == 2 && memcmp(p, "b+", 2) == 0);
	lregex_free(re);
	/* the failing pattern is named */
	re = lregex_new(pats, lens, 3, 0, err, sizeof(err), &which);
	CHECK(re == NULL);
	CHECK_EQ_INT(which, 2);
	CHECK_STR(err, "expected ')' at offset 2");
}

static void
test_fold(void)
{
	char err[200];

	/* LREGEX_FOLD: the value lower-cased by TO_LOWER's mapping */
	CHECK(one("python[0-9]*", "Python3", LREGEX_FOLD, err, sizeof(err)));
	CHECK(one("\xc3\xa9t\xc3\xa9", "\xc3\x89T\xc3\x89", LREGEX_FOLD, err,
		  sizeof(err)));
	CHECK(!one("[^a]", "A", LREGEX_FOLD, err, sizeof(err)));
	CHECK(!one("python", "Python", 0, err, sizeof(err)));
}

static void
test_states(void)
{
	const char *pat = "(a|b)*a(a|b){8}";
	size_t len = strlen(pat), which;
	char err[200];
	struct lregex *re =
	    lregex_new(&pat, &len, 1, 0, err, sizeof(err), &which);

	/* the classic 2^(n+1) DFA: within the bound for n = 8 */
	CHECK(re != NULL);
	if (re != NULL) {
		CHECK(lregex_states(re) >= 512);
		CHECK(lregex_match(re, "bbbabbbbbbbb", 12));
		CHECK(!lregex_match(re, "bbbbabbbbbbb", 12));
	}
	lregex_free(re);
}

int
main(void)
{
	test_rows();
	test_errors();
	test_list();
	test_fold();
	test_states();
	return check_exit();
}
