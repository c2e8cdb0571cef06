/*
 * framer: newline framing with a bounded carry buffer.
 *
 * Invariants: carry.len <= max_line + 1 (a line's content and the '\r'
 * that may end it, which is not content); `skipping` is set while the
 * rest of an over-long line is being discarded, and then carry is empty.
 * check() asserts them after every call that changes the carry.
 * An empty carry holds at most CARRY_KEEP bytes allocated: the memory of
 * one long line is given back once it is done, so what framers hold is
 * what their partial lines need (framer_footprint()).
 */
#include <assert.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "framer.h"
#include "util.h"

#define CARRY_KEEP 4096 /* bytes an empty carry may keep */

struct framer {
	size_t max_line;         /* longest line passed, in bytes */
	framer_line_cb *cb;      /* receives each line */
	void *arg;               /* passed to cb */
	struct metrics *metrics; /* borrowed; line counters */
	struct buf carry;        /* start of a line that straddles chunks */
	bool skipping;           /* discarding an over-long line's tail */
};

struct framer *
framer_new(size_t max_line, framer_line_cb *cb, void *arg,
	   struct metrics *metrics)
{
	struct framer *fr = xcalloc(1, sizeof(*fr));

	fr->max_line = max_line;
	fr->cb = cb;
	fr->arg = arg;
	fr->metrics = metrics;
	return fr;
}

void
framer_free(struct framer *fr)
{
	if (fr == NULL)
		return;
	buf_free(&fr->carry);
	free(fr);
}

static void
check(const struct framer *fr)
{
	assert(fr->carry.len <= fr->max_line + 1);
	assert(!fr->skipping || fr->carry.len == 0);
	assert(fr->carry.len > 0 || fr->carry.cap <= CARRY_KEEP);
	(void)fr;
}

/* The carry's line is done (passed, skipped or dropped). */
static void
carry_done(struct framer *fr)
{
	fr->carry.len = 0;
	if (fr->carry.cap > CARRY_KEEP)
		buf_free(&fr->carry);
}

static bool
is_blank(const char *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r')
			return false;
	return true;
}

/* One complete line, newline already removed. */
static void
emit(struct framer *fr, const char *line, size_t len)
{
	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (is_blank(line, len)) {
		fr->metrics->v[M_lines_blank]++;
		return;
	}
	fr->metrics->v[M_lines_read]++;
	fr->cb(fr->arg, line, len);
}

static void
too_long(struct framer *fr)
{
	fr->metrics->v[M_lines_read]++;
	fr->metrics->v[M_lines_too_long]++;
}

static void
feed(struct framer *fr, const char *data, size_t len)
{
	const char *p = data, *end = data + len, *nl;

	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (fr->skipping) {
			if (nl == NULL)
				return;
			fr->skipping = false;
			p = nl + 1;
			continue;
		}
		if (nl == NULL) {
			/* Keep the start of the line for the next chunk. */
			size_t n = (size_t)(end - p);
			if (fr->carry.len + n > fr->max_line + 1) {
				carry_done(fr);
				fr->skipping = true;
				too_long(fr);
				return;
			}
			buf_append(&fr->carry, p, n);
			return;
		}
		size_t n = (size_t)(nl - p);
		if (fr->carry.len == 0) {
			size_t content = n > 0 && p[n - 1] == '\r' ? n - 1 : n;
			if (content > fr->max_line)
				too_long(fr);
			else
				emit(fr, p, n);
		} else {
			size_t total = fr->carry.len + n;
			size_t content = total;
			if (n > 0 ? p[n - 1] == '\r'
				  : fr->carry.data[fr->carry.len - 1] == '\r')
				content--;
			if (content > fr->max_line) {
				too_long(fr);
			} else {
				buf_append(&fr->carry, p, n);
				emit(fr, fr->carry.data, fr->carry.len);
			}
			carry_done(fr);
		}
		p = nl + 1;
	}
}

void
framer_feed(struct framer *fr, const char *data, size_t len)
{
	feed(fr, data, len);
	check(fr);
}

void
framer_finish(struct framer *fr)
{
	if (fr->skipping) {
		fr->skipping = false;
	} else if (fr->carry.len > 0) {
		size_t len = fr->carry.len;
		if (fr->carry.data[len - 1] == '\r')
			len--;
		if (len > fr->max_line)
			too_long(fr);
		else
			emit(fr, fr->carry.data, fr->carry.len);
	}
	carry_done(fr);
	check(fr);
}

void
framer_reset(struct framer *fr)
{
	fr->skipping = false;
	carry_done(fr);
	check(fr);
}

size_t
framer_pending(const struct framer *fr)
{
	return fr->carry.len;
}

size_t
framer_footprint(const struct framer *fr)
{
	return fr->carry.cap;
}
