/*
 * prefilter: finds needles anywhere (vector and scalar paths), folds
 * case only where asked, places needles (whole string, start, end, not
 * a key), keeps alternatives apart, and never rejects a line that JSON
 * escapes or a Unicode case mapping could make match.
 */
#include <stdint.h>
#include <stdlib.h>

#include "check.h"
#include "prefilter.h"

static bool
pass(struct prefilter *pf, const char *s)
{
	return prefilter_pass(pf, s, strlen(s));
}

/* A prefilter of one group of one needle. */
static struct prefilter *
one(const char *needle, enum prefilter_where where, bool ignore_case)
{
	struct prefilter *pf = prefilter_new();
	struct prefilter_needle v = {needle, where, ignore_case};

	CHECK_EQ_INT(prefilter_add_needles(pf, &v, 1), 0);
	prefilter_seal(pf);
	return pf;
}

/* Whole strings, starts and ends; keys are not values; bare tokens. */
static void
test_places(void)
{
	struct prefilter *pf;

	pf = one("sh", PF_STRING, false);
	CHECK(pass(pf, "{\"n\":\"sh\"}"));
	CHECK(pass(pf, "{\"n\":[\"x\", \"sh\" ]}"));
	CHECK(pass(pf, "{\"n\":\"sh\"\n}"));
	CHECK(!pass(pf, "{\"n\":\"ssh\"}"));
	CHECK(!pass(pf, "{\"n\":\"sh \"}"));
	CHECK(!pass(pf, "{\"n\":\"SH\"}"));
	/* "sh" as a key is not a value: skipped, then found as one */
	CHECK(!pass(pf, "{\"sh\":1}"));
	CHECK(!pass(pf, "{\"sh\" : \"x\"}"));
	CHECK(pass(pf, "{\"sh\":\"sh\"}"));
	/* at the very end of the line (a truncated line): passed */
	CHECK(pass(pf, "{\"n\":\"sh\""));
	/* an escaped slash or \u may spell anything */
	CHECK(pass(pf, "{\"n\":\"\\u0073h\"}"));
	CHECK(pass(pf, "{\"p\":\"\\/x\",\"n\":\"x\"}"));
	/* an escaped backslash followed by u is not an escape */
	CHECK(!pass(pf, "{\"p\":\"C:\\\\users\"}"));
	prefilter_free(pf);

	pf = one("python", PF_STRING_START, true);
	CHECK(pass(pf, "{\"p\":\"python3.11\"}"));
	CHECK(pass(pf, "{\"p\":\"PYTHON\"}"));
	CHECK(pass(pf, "{\"python\":1}")); /* a key's start: passed */
	CHECK(!pass(pf, "{\"p\":\"ipython\"}"));
	CHECK(!pass(pf, "{\"p\":\"/usr/bin/python3\"}"));
	prefilter_free(pf);

	pf = one(".sh", PF_STRING_END, false);
	CHECK(pass(pf, "{\"c\":\"/tmp/x.sh\"}"));
	CHECK(pass(pf, "{\"c\":[\"a.sh\",\"b\"]}"));
	CHECK(!pass(pf, "{\"c\":\"/tmp/x.sh \"}"));
	CHECK(!pass(pf, "{\"c\":\"/tmp/x.shell\"}"));
	CHECK(!pass(pf, "{\"x.sh\":1}"));
	prefilter_free(pf);

	/* '/' needles: JSON may write "\/", and such a line is passed */
	pf = one("/tmp/", PF_ANYWHERE, false);
	CHECK(pass(pf, "{\"c\":\"cd /tmp/x\"}"));
	CHECK(pass(pf, "{\"c\":\"cd \\/tmp\\/x\"}"));
	CHECK(!pass(pf, "{\"c\":\"cd /var/x\"}"));
	prefilter_free(pf);

	/*
	 * A keyword field may hold a bare number or boolean: needles that
	 * such a token could be (whole), start (start) or end (end) are
	 * looked for anywhere.
	 */
	pf = one("0", PF_STRING, false);
	CHECK(pass(pf, "{\"user\":{\"id\":0}}"));
	prefilter_free(pf);
	pf = one("tr", PF_STRING_START, false);
	CHECK(pass(pf, "{\"b\":true}"));
	prefilter_free(pf);
	pf = one("-1", PF_STRING_START, false);
	CHECK(pass(pf, "{\"n\":-12}"));
	prefilter_free(pf);
	pf = one("lse", PF_STRING_END, false);
	CHECK(pass(pf, "{\"b\":false}"));
	prefilter_free(pf);
	pf = one("25", PF_STRING_END, false);
	CHECK(pass(pf, "{\"n\":1.25}"));
	prefilter_free(pf);
	pf = one("ab", PF_STRING_END, false);
	CHECK(!pass(pf, "{\"n\":\"abc\",\"x\":12}"));
	prefilter_free(pf);

	/* refused: bytes JSON must escape; folding outside ASCII */
	pf = prefilter_new();
	{
		struct prefilter_needle q = {"a\"b", PF_STRING, false};
		struct prefilter_needle c = {"a\x01", PF_ANYWHERE, false};
		struct prefilter_needle e = {"\xc3\xa9t\xc3\xa9", PF_STRING,
					     true};
		struct prefilter_needle ok = {"\xc3\xa9t\xc3\xa9", PF_STRING,
					      false};
		CHECK_EQ_INT(prefilter_add_needles(pf, &q, 1), -1);
		CHECK_EQ_INT(prefilter_add_needles(pf, &c, 1), -1);
		CHECK_EQ_INT(prefilter_add_needles(pf, &e, 1), -1);
		CHECK_EQ_INT(prefilter_groups(pf), 0);
		CHECK_EQ_INT(prefilter_add_needles(pf, &ok, 1), 0);
		prefilter_seal(pf);
		CHECK(pass(pf, "{\"s\":\"\xc3\xa9t\xc3\xa9\"}"));
		CHECK(!pass(pf, "{\"s\":\"\xc3\x89T\xc3\x89\"}"));
	}
	prefilter_free(pf);
}

/* UTF-8 of c into out; returns the length. */
static size_t
utf8(uint32_t c, char *out)
{
	if (c < 0x80) {
		out[0] = (char)c;
		return 1;
	}
	if (c < 0x800) {
		out[0] = (char)(0xc0 | c >> 6);
		out[1] = (char)(0x80 | (c & 0x3f));
		return 2;
	}
	out[0] = (char)(0xe0 | c >> 12);
	out[1] = (char)(0x80 | ((c >> 6) & 0x3f));
	out[2] = (char)(0x80 | (c & 0x3f));
	return 3;
}

/*
 * The code points outside ASCII that Java's toLowerCase/toUpperCase
 * (Locale.ROOT) or Unicode case folding take to ASCII letters, with a
 * value each that becomes, in Elasticsearch, equal to an ASCII needle:
 * TO_UPPER("\u0131d") == "ID", TO_LOWER("\u212Aali") == "kali", ...
 * (written out here from the Unicode tables, SpecialCasing.txt and
 * CaseFolding.txt).  A line holding such a value must pass a folded
 * group that its ASCII spelling would pass; a line holding a code point
 * that folds to no ASCII letter need not.
 */
static void
test_folds(void)
{
	static const struct {
		uint32_t c;
		const char *as; /* an ASCII string c maps to */
	} folds[] = {
	    {0x00df, "ss"},  {0x0130, "i"},   {0x0131, "i"},  {0x0149, "n"},
	    {0x017f, "s"},   {0x01f0, "j"},   {0x1e96, "h"},  {0x1e97, "t"},
	    {0x1e98, "w"},   {0x1e99, "y"},   {0x1e9a, "a"},  {0x1e9e, "ss"},
	    {0x212a, "k"},   {0xfb00, "ff"},  {0xfb01, "fi"}, {0xfb02, "fl"},
	    {0xfb03, "ffi"}, {0xfb04, "ffl"}, {0xfb05, "st"}, {0xfb06, "st"},
	};
	char line[128], cp[4];
	size_t n;

	CHECK_EQ_INT(PREFILTER_NFOLDS, sizeof(folds) / sizeof(folds[0]));
	for (size_t i = 0; i < sizeof(folds) / sizeof(folds[0]); i++) {
		struct prefilter *pf;
		char needle[16];

		CHECK(i >= PREFILTER_NFOLDS ||
		      PREFILTER_FOLDS[i] == folds[i].c);
		/* the needle: "x" + the ASCII letters + "y", whole */
		snprintf(needle, sizeof(needle), "x%sy", folds[i].as);
		pf = one(needle, PF_STRING, true);
		/* the value: "x" + the code point + "y" */
		n = utf8(folds[i].c, cp);
		snprintf(line, sizeof(line), "{\"n\":\"x%.*sy\"}", (int)n, cp);
		if (!pass(pf, line)) {
			fprintf(stderr, "U+%04X rejected\n",
				(unsigned)folds[i].c);
			CHECK(0);
		}
		/* the ASCII spelling passes in any case */
		snprintf(line, sizeof(line), "{\"n\":\"X%sY\"}", folds[i].as);
		CHECK(pass(pf, line));
		prefilter_free(pf);
		/* exact needles need not care */
		pf = one(needle, PF_STRING, false);
		snprintf(line, sizeof(line), "{\"n\":\"x%.*sy\"}", (int)n, cp);
		CHECK(!pass(pf, line));
		prefilter_free(pf);
	}
	/* other letters outside ASCII never fold into ASCII: rejected */
	{
		struct prefilter *pf = one("kali", PF_STRING, true);
		CHECK(!pass(pf, "{\"n\":\"\xc3\x89kali\"}")); /* U+00C9 */
		CHECK(!pass(pf, "{\"n\":\"\xe2\x84\xab\"}")); /* U+212B */
		CHECK(!pass(pf, "{\"n\":\"\xc4\xb2\"}"));     /* U+0132 */
		CHECK(!pass(pf, "{\"n\":\"\xef\xac\x87\"}")); /* U+FB07 */
		CHECK(!pass(pf, "{\"n\":\"\xe1\xba\x9b\"}")); /* U+1E9B */
		CHECK(pass(pf, "{\"n\":\"\xe2\x84\xaa"
			       "ali\"}")); /* U+212A */
		CHECK(pass(pf, "{\"n\":\"KaLi\"}"));
		prefilter_free(pf);
	}
	/* every position and line length (vector and scalar tails) */
	for (size_t len = 10; len < 80; len++) {
		struct prefilter *pf = one("kk", PF_ANYWHERE, true);
		for (size_t at = 0; at + 3 <= len; at++) {
			memset(line, 'x', len);
			memcpy(line + at, "\xe2\x84\xaa", 3);
			line[len] = '\0';
			CHECK(pass(pf, line));
			line[at] = 'x'; /* a broken sequence: not U+212A */
			CHECK(!pass(pf, line));
		}
		prefilter_free(pf);
	}
}

/* Alternatives: all groups of one of them. */
static void
test_alternatives(void)
{
	struct prefilter *pf = prefilter_new();
	const char *start[] = {"start"}, *sh[] = {"sh", "bash"};
	const char *exec[] = {"exec"}, *su[] = {"su"};

	/* (start AND (sh OR bash)) OR (exec AND su) */
	CHECK_EQ_INT(prefilter_add_group(pf, start, 1, false, PF_STRING), 0);
	CHECK_EQ_INT(prefilter_add_group(pf, sh, 2, false, PF_STRING), 0);
	prefilter_new_alt(pf);
	prefilter_new_alt(pf); /* twice: still one new alternative */
	CHECK_EQ_INT(prefilter_add_group(pf, exec, 1, false, PF_STRING), 0);
	CHECK_EQ_INT(prefilter_add_group(pf, su, 1, false, PF_STRING), 0);
	prefilter_seal(pf);
	CHECK_EQ_INT(prefilter_groups(pf), 4);
	for (int i = 0; i < 3 * 4096; i++) {
		CHECK(pass(pf, "{\"t\":\"start\",\"n\":\"bash\"}"));
		CHECK(pass(pf, "{\"a\":\"exec\",\"n\":\"su\"}"));
		/* one group of each: neither alternative */
		CHECK(!pass(pf, "{\"t\":\"start\",\"n\":\"su\"}"));
		CHECK(!pass(pf, "{\"a\":\"exec\",\"n\":\"sh \"}"));
		CHECK(
		    pass(pf, "{\"a\":\"exec\",\"t\":\"start\",\"n\":\"sh\"}"));
	}
	/*
	 * One alternative turned down on its needles, the other behind an
	 * escape: passed.
	 */
	CHECK(pass(pf, "{\"t\":\"start\",\"n\":\"su\",\"a\":\"\\u0065xec\"}"));
	prefilter_free(pf);

	/*
	 * The alternatives are tried most-passing first: the second one
	 * passes most lines here, and moves ahead; no answer changes.
	 */
	pf = prefilter_new();
	CHECK_EQ_INT(prefilter_add_group(pf, start, 1, false, PF_STRING), 0);
	CHECK_EQ_INT(prefilter_add_group(pf, sh, 2, false, PF_STRING), 0);
	prefilter_new_alt(pf);
	CHECK_EQ_INT(prefilter_add_group(pf, exec, 1, false, PF_STRING), 0);
	prefilter_seal(pf);
	for (int i = 0; i < 4 * 4096; i++) {
		CHECK(pass(pf, "{\"a\":\"exec\"}"));
		CHECK(pass(pf, "{\"a\":\"exec\"}"));
		CHECK(pass(pf, "{\"t\":\"start\",\"n\":\"sh\"}"));
		CHECK(!pass(pf, "{\"t\":\"start\",\"n\":\"exec2\"}"));
		CHECK(pass(pf,
			   "{\"t\":\"start\",\"n\":\"bash\",\"a\":\"exec\"}"));
	}
	prefilter_free(pf);

	/* 70 alternatives */
	pf = prefilter_new();
	for (int i = 0; i < 70; i++) {
		char w[16];
		const char *v[] = {w};
		snprintf(w, sizeof(w), "w%d", i);
		prefilter_new_alt(pf);
		CHECK_EQ_INT(prefilter_add_group(pf, v, 1, false, PF_STRING),
			     0);
	}
	prefilter_seal(pf);
	CHECK_EQ_INT(prefilter_groups(pf), 70);
	CHECK(pass(pf, "[\"w0\",\"w62\"]"));
	CHECK(pass(pf, "[\"w69\"]"));
	CHECK(!pass(pf, "[\"w70\"]"));
	prefilter_free(pf);
}

int
main(void)
{
	struct prefilter *pf = prefilter_new();
	const char *py[] = {"python"};
	const char *shells[] = {"sh", "bash"};
	const char *bad[] = {"a\"b"};
	char line[200];

	CHECK_EQ_INT(prefilter_add_group(pf, py, 1, true, PF_ANYWHERE), 0);
	CHECK_EQ_INT(prefilter_add_group(pf, shells, 2, false, PF_ANYWHERE), 0);
	CHECK_EQ_INT(prefilter_add_group(pf, bad, 1, false, PF_ANYWHERE), -1);
	prefilter_seal(pf);
	CHECK_EQ_INT(prefilter_groups(pf), 2);

	CHECK(pass(pf, "{\"p\":\"python3\",\"n\":\"sh\"}"));
	CHECK(pass(pf, "{\"p\":\"PyThOn3\",\"n\":\"bash\"}"));
	CHECK(pass(pf, "{\"p\":\"pythoN3\",\"n\":\"zsh\"}"));
	CHECK(!pass(pf, "{\"p\":\"pyth0n\",\"n\":\"sh\"}"));
	CHECK(!pass(pf, "{\"p\":\"python\",\"n\":\"SH\"}"));
	/* Case folding must not make '@' (0x40) or '`' (0x60) equal. */
	CHECK(!pass(pf, "{\"p\":\"pytho\x0e\",\"n\":\"sh\"}"));
	/* A \u escape may hide any letter: never rejected. */
	CHECK(pass(pf, "{\"p\":\"\\u0070ython\"}"));
	CHECK(pass(pf, "{\"p\":\"x\",\"n\":\"\\u0073h\"}"));
	CHECK(!pass(pf, "{\"p\":\"C:\\\\Windows\\\\x\"}"));
	CHECK(!pass(pf, ""));

	/* The needle at every position of lines of many lengths. */
	for (size_t len = 8; len < 120; len++) {
		for (size_t at = 0; at + 8 <= len; at++) {
			memset(line, 'x', len);
			memcpy(line + at, "PYTHON", 6);
			memcpy(line + (at + 6) % (len - 1), "sh", 2);
			line[len] = '\0';
			bool want = strstr(line, "PYTHON") != NULL &&
				    strstr(line, "sh") != NULL;
			if (pass(pf, line) != want) {
				fprintf(stderr, "len %zu at %zu: %s\n", len, at,
					line);
				CHECK(0);
			}
			/* One letter short: never found. */
			line[at + 5] = 'x';
			CHECK(!pass(pf, line));
		}
	}
	prefilter_free(pf);

	/* Reordering by rejections never changes an answer. */
	pf = prefilter_new();
	{
		const char *a[] = {"alpha"}, *b[] = {"beta"};
		prefilter_add_group(pf, a, 1, false, PF_ANYWHERE);
		prefilter_add_group(pf, b, 1, false, PF_ANYWHERE);
		prefilter_seal(pf);
		for (int i = 0; i < 3 * 4096; i++) {
			/* beta is rare: it rejects, and so moves first. */
			CHECK(!pass(pf, i % 2 ? "alpha only" : "neither"));
			CHECK(pass(pf, "alpha and beta") || 0);
			CHECK(!pass(pf, "beta only"));
		}
	}
	prefilter_free(pf);

	/* Quoted needles: whole strings and string starts. */
	pf = prefilter_new();
	{
		const char *start[] = {"start"}, *pyp[] = {"python"};
		const char *num[] = {"12", "true"}, *args[] = {"-c", "-lc"};
		CHECK_EQ_INT(prefilter_add_group(pf, start, 1, false,
						 PF_STRING),
			     0);
		CHECK_EQ_INT(prefilter_add_group(pf, pyp, 1, true,
						 PF_STRING_START),
			     0);
		prefilter_seal(pf);
		CHECK(pass(pf, "{\"t\":\"start\",\"p\":\"Python3\"}"));
		CHECK(pass(pf, "{\"t\":[\"start\"],\"p\":\"python\"}"));
		CHECK(!pass(pf, "{\"t\":\"startup\",\"p\":\"python3\"}"));
		CHECK(!pass(pf, "{\"t\":\"start\",\"p\":\"ipython3\"}"));
		CHECK(!pass(pf, "{\"t\":\"start\",\"p\":\"/usr/bin/python\"}"));
		/* \u may spell anything: never rejected. */
		CHECK(pass(pf, "{\"t\":\"st\\u0061rt\",\"p\":\"python\"}"));
		prefilter_free(pf);
		/* Values JSON may write bare are looked for anywhere. */
		pf = prefilter_new();
		CHECK_EQ_INT(prefilter_add_group(pf, num, 2, false, PF_STRING),
			     0);
		CHECK_EQ_INT(prefilter_add_group(pf, args, 2, false, PF_STRING),
			     0);
		prefilter_seal(pf);
		CHECK(pass(pf, "{\"n\":12,\"a\":[\"sh\",-c]}"));
		CHECK(pass(pf, "{\"n\":true,\"a\":\"-lc\"}"));
		CHECK(!pass(pf, "{\"n\":1,\"a\":\"-lc\"}"));
	}
	prefilter_free(pf);

	test_places();
	test_folds();
	test_alternatives();

	/* No groups: everything passes. */
	pf = prefilter_new();
	prefilter_seal(pf);
	CHECK(pass(pf, "anything"));
	prefilter_free(pf);
	return check_exit();
}
