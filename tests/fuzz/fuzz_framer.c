/*
 * fuzz_framer: the framer against a plain reference splitter.
 *
 * The input is one byte stream.  The reference splits it on "\n" (a last
 * segment without one counts if it is not empty), removes one trailing
 * "\r", and then classifies each line as the header says: longer than
 * max_line is too long (and read), only spaces, tabs and "\r" is blank,
 * anything else is read and passed.  The framer is fed the same stream
 * whole, in pieces cut at boundaries derived from the bytes, and one byte
 * at a time; every way must pass the reference's lines, in order, byte
 * for byte, and count the same.  One framer serves every feeding, which
 * also checks that framer_finish() leaves it as new.
 */
#include <string.h>

#include "framer.h"
#include "fuzz.h"
#include "metrics.h"

#define MAX_CUTS 8

struct span {
	size_t off; /* start of the expected line in the input */
	size_t len; /* its length */
};

struct expect {
	const uint8_t *data; /* the input */
	struct span *lines;  /* lines the framer must pass */
	size_t nlines;       /* count of lines */
	size_t next;         /* lines passed so far */
	size_t max_line;     /* the framer's cap */
	uint64_t read;       /* lines_read per the reference */
	uint64_t blank;      /* lines_blank */
	uint64_t too_long;   /* lines_too_long */
};

static bool
is_blank(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r')
			return false;
	return true;
}

static void
segment(struct expect *x, size_t off, size_t len)
{
	if (len > 0 && x->data[off + len - 1] == '\r')
		len--;
	if (len > x->max_line) {
		x->read++;
		x->too_long++;
	} else if (is_blank(x->data + off, len)) {
		x->blank++;
	} else {
		x->read++;
		x->lines[x->nlines].off = off;
		x->lines[x->nlines].len = len;
		x->nlines++;
	}
}

static void
reference(struct expect *x, size_t size)
{
	size_t start = 0;

	for (size_t i = 0; i < size; i++) {
		if (x->data[i] == '\n') {
			segment(x, start, i - start);
			start = i + 1;
		}
	}
	if (start < size)
		segment(x, start, size - start);
}

static void
line_cb(void *arg, const char *line, size_t len)
{
	struct expect *x = arg;
	const struct span *want;

	FUZZ_CHECK(len <= x->max_line);
	FUZZ_CHECK(len == 0 || memchr(line, '\n', len) == NULL);
	FUZZ_CHECK(x->next < x->nlines);
	want = &x->lines[x->next++];
	FUZZ_CHECK(len == want->len);
	FUZZ_CHECK(memcmp(line, x->data + want->off, len) == 0);
	/* Only a "\r" that was not the line's last byte may end it. */
	FUZZ_CHECK(len == 0 || line[len - 1] != '\r' ||
		   x->data[want->off + len] == '\r');
}

static void
check_counts(const struct expect *x, const struct metrics *m)
{
	FUZZ_CHECK(x->next == x->nlines);
	FUZZ_CHECK(m->v[M_lines_read] == x->read);
	FUZZ_CHECK(m->v[M_lines_blank] == x->blank);
	FUZZ_CHECK(m->v[M_lines_too_long] == x->too_long);
	FUZZ_CHECK(m->v[M_lines_read] + m->v[M_lines_blank] ==
		   x->read + x->blank);
}

static int
size_cmp(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	return x < y ? -1 : x > y;
}

/* Feeds data[0..size) cut at cuts[0..ncuts) (sorted), then finishes. */
static void
feed(struct framer *fr, struct expect *x, struct metrics *m,
     const uint8_t *data, size_t size, const size_t *cuts, size_t ncuts)
{
	size_t from = 0;

	memset(m, 0, sizeof(*m));
	x->next = 0;
	for (size_t i = 0; i <= ncuts; i++) {
		size_t to = i < ncuts ? cuts[i] : size;
		if (to > from) {
			framer_feed(fr, (const char *)data + from, to - from);
			FUZZ_CHECK(framer_pending(fr) <= x->max_line + 1);
		}
		from = to;
	}
	framer_finish(fr);
	FUZZ_CHECK(framer_pending(fr) == 0);
	check_counts(x, m);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t caps[] = {64, 7, 1};
	struct span *lines = malloc((size + 1) * sizeof(*lines));
	uint64_t rng = fuzz_seed(data, size);
	size_t cuts[MAX_CUTS];
	size_t ncuts = 0;

	if (lines == NULL)
		abort();
	if (size > 0) {
		ncuts = 1 + fuzz_next(&rng) % MAX_CUTS;
		for (size_t i = 0; i < ncuts; i++)
			cuts[i] = fuzz_next(&rng) % (size + 1);
		qsort(cuts, ncuts, sizeof(cuts[0]), size_cmp);
	}
	for (size_t c = 0; c < sizeof(caps) / sizeof(caps[0]); c++) {
		struct expect x = {.data = data,
				   .lines = lines,
				   .max_line = caps[c]};
		struct metrics m;
		struct framer *fr = framer_new(caps[c], line_cb, &x, &m);

		reference(&x, size);
		feed(fr, &x, &m, data, size, NULL, 0);
		feed(fr, &x, &m, data, size, cuts, ncuts);
		if (size <= 4096) {
			/* One byte at a time: every line straddles. */
			memset(&m, 0, sizeof(m));
			x.next = 0;
			for (size_t i = 0; i < size; i++)
				framer_feed(fr, (const char *)data + i, 1);
			framer_finish(fr);
			check_counts(&x, &m);
		}
		framer_free(fr);
	}
	free(lines);
	return 0;
}
