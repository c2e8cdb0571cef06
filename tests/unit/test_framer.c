/* framer: chunking, CRLF, blank lines, the line cap, the last line. */
#include <stdlib.h>

#include "check.h"
#include "framer.h"

static char got[64][128];
static size_t ngot;

static void
line_cb(void *arg, const char *line, size_t len)
{
	(void)arg;
	if (ngot < 64 && len < 128) {
		memcpy(got[ngot], line, len);
		got[ngot][len] = '\0';
	}
	ngot++;
}

/* Feeds s in chunks of `chunk` bytes (0: all at once) and finishes. */
static void
run(const char *s, size_t chunk, size_t max_line, struct metrics *m)
{
	struct framer *fr = framer_new(max_line, line_cb, NULL, m);
	size_t len = strlen(s);

	memset(m, 0, sizeof(*m));
	ngot = 0;
	if (chunk == 0)
		chunk = len ? len : 1;
	for (size_t off = 0; off < len; off += chunk)
		framer_feed(fr, s + off, len - off < chunk ? len - off : chunk);
	framer_finish(fr);
	framer_free(fr);
}

/*
 * What a framer holds (framer_footprint(), what the socket input
 * charges) covers its partial line while held, and a long line's memory
 * is given back once the line is passed, skipped or dropped.
 */
static void
test_footprint(void)
{
	struct metrics m = {0};
	struct framer *fr = framer_new(1 << 20, line_cb, NULL, &m);
	size_t big = 300000;
	char *line = malloc(big + 1);

	memset(line, 'x', big);
	line[big] = '\n';
	ngot = 0;
	CHECK(framer_footprint(fr) <= 4096);
	framer_feed(fr, line, big / 2);
	CHECK_EQ_INT(framer_pending(fr), big / 2);
	CHECK(framer_footprint(fr) >= big / 2);
	framer_feed(fr, line + big / 2, big - big / 2 + 1);
	CHECK_EQ_INT(ngot, 1);
	CHECK_EQ_INT(framer_pending(fr), 0);
	CHECK(framer_footprint(fr) <= 4096);
	/* Dropped (a client gone), and skipped as too long. */
	framer_feed(fr, line, big / 2);
	CHECK(framer_footprint(fr) >= big / 2);
	framer_reset(fr);
	CHECK(framer_footprint(fr) <= 4096);
	framer_free(fr);
	fr = framer_new(big / 4, line_cb, NULL, &m);
	framer_feed(fr, line, big / 8);
	framer_feed(fr, line + big / 8, big / 4);
	CHECK_EQ_INT(m.v[M_lines_too_long], 1);
	CHECK(framer_footprint(fr) <= 4096);
	framer_free(fr);
	free(line);
}

int
main(void)
{
	struct metrics m;
	const char *input = "{\"a\":1}\r\n\n  \r\n{\"b\":2}\n\t\n{\"c\":3}";

	/* Every chunking gives the same lines. */
	for (size_t chunk = 0; chunk <= 9; chunk++) {
		run(input, chunk, 100, &m);
		CHECK_EQ_INT(ngot, 3);
		CHECK_STR(got[0], "{\"a\":1}");
		CHECK_STR(got[1], "{\"b\":2}");
		CHECK_STR(got[2], "{\"c\":3}");
		CHECK_EQ_INT(m.v[M_lines_read], 3);
		CHECK_EQ_INT(m.v[M_lines_blank], 3);
		CHECK_EQ_INT(m.v[M_lines_too_long], 0);
	}

	/* A line of exactly max_line bytes passes; one more is skipped. */
	for (size_t chunk = 0; chunk <= 4; chunk++) {
		run("12345\nabcdef\nxyz\n123456789012\nok", chunk, 5, &m);
		CHECK_EQ_INT(ngot, 3);
		CHECK_STR(got[0], "12345");
		CHECK_STR(got[1], "xyz");
		CHECK_STR(got[2], "ok");
		CHECK_EQ_INT(m.v[M_lines_too_long], 2);
		CHECK_EQ_INT(m.v[M_lines_read], 5);
	}

	/* The cap counts content: a CRLF line of max_line bytes passes. */
	for (size_t chunk = 0; chunk <= 7; chunk++) {
		run("12345\r\n123456\r\n", chunk, 5, &m);
		CHECK_EQ_INT(ngot, 1);
		CHECK_STR(got[0], "12345");
		CHECK_EQ_INT(m.v[M_lines_too_long], 1);
	}

	/* An over-long last line without newline is counted, not passed. */
	run("ok\n1234567", 3, 5, &m);
	CHECK_EQ_INT(ngot, 1);
	CHECK_EQ_INT(m.v[M_lines_too_long], 1);

	/* Empty input, and input of only newlines. */
	run("", 0, 5, &m);
	CHECK_EQ_INT(ngot, 0);
	run("\n\n\r\n", 1, 5, &m);
	CHECK_EQ_INT(ngot, 0);
	CHECK_EQ_INT(m.v[M_lines_blank], 3);

	/*
	 * The carry holds at most max_line + 1 bytes: a line of max_line
	 * bytes and its "\r", still waiting for the "\n"; one byte more
	 * and the line is too long, the carry empty.
	 */
	{
		struct framer *fr = framer_new(5, line_cb, NULL, &m);
		ngot = 0;
		memset(&m, 0, sizeof(m));
		framer_feed(fr, "123", 3);
		framer_feed(fr, "45\r", 3);
		CHECK_EQ_INT(framer_pending(fr), 6);
		framer_feed(fr, "\n", 1);
		CHECK_EQ_INT(ngot, 1);
		CHECK_STR(got[0], "12345");
		framer_feed(fr, "123", 3);
		framer_feed(fr, "45\rx", 4);
		CHECK_EQ_INT(framer_pending(fr), 0);
		framer_feed(fr, "\nok\n", 4);
		CHECK_EQ_INT(ngot, 2);
		CHECK_STR(got[1], "ok");
		CHECK_EQ_INT(m.v[M_lines_too_long], 1);
		framer_free(fr);
	}

	/* A held partial line is reported, and dropped by reset. */
	{
		struct framer *fr = framer_new(100, line_cb, NULL, &m);
		ngot = 0;
		framer_feed(fr, "abc", 3);
		CHECK_EQ_INT(framer_pending(fr), 3);
		framer_reset(fr);
		framer_feed(fr, "def\n", 4);
		CHECK_EQ_INT(ngot, 1);
		CHECK_STR(got[0], "def");
		framer_free(fr);
	}
	test_footprint();
	return check_exit();
}
