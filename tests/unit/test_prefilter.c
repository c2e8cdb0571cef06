/*
 * prefilter: finds needles anywhere (vector and scalar paths), folds
 * case only where asked, and never rejects a line with a \u escape.
 */
#include <stdlib.h>

#include "check.h"
#include "prefilter.h"

static bool
pass(struct prefilter *pf, const char *s)
{
	return prefilter_pass(pf, s, strlen(s));
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

	/* No groups: everything passes. */
	pf = prefilter_new();
	prefilter_seal(pf);
	CHECK(pass(pf, "anything"));
	prefilter_free(pf);
	return check_exit();
}
