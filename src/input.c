/*
 * input: the dispatch common to every backend (input_int.h).
 *
 * Owns struct input: a deep copy of its input_conf (so a reload may free
 * the old conf while an unchanged input keeps running), the resume
 * positions until the start op has used them, and the anchor handle.
 * Invariants: the backend's start op runs at most once; once
 * input_close() is called no backend op but stats and positions run
 * again; the caller's callback runs exactly once, from the anchor's close
 * callback; resume is NULL once input_start() has returned.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "input_int.h"
#include "util.h"

static const struct input_stats no_stats; /* an input never started */

static const struct input_ops *
ops_of(enum input_type type)
{
	switch (type) {
	case INPUT_FILE:
		return &input_tail_ops;
	case INPUT_UNIX:
		return &input_unix_ops;
	case INPUT_STDIN:
		return &input_stdin_ops;
	}
	return NULL;
}

struct input *
input_new(uv_loop_t *loop, const struct input_conf *ic, const struct conf *conf,
	  struct engine *engine)
{
	struct input *in = xcalloc(1, sizeof(*in));

	in->ops = ops_of(ic->type);
	if (in->ops == NULL)
		fatalx("input: unknown type %d", (int)ic->type);
	in->loop = loop;
	in->ic = *ic;
	in->ic.paths = (struct strlist){0};
	strlist_copy(&in->ic.paths, &ic->paths);
	in->ic.path = ic->path != NULL ? xstrdup(ic->path) : NULL;
	in->ic.name = NULL; /* the owner's, for labels; not needed here */
	in->max_line = conf->max_line_bytes;
	in->engine = engine;
	in->metrics = engine_metrics(engine);
	if (uv_timer_init(loop, &in->anchor) != 0)
		fatalx("input: uv_timer_init failed");
	in->anchor.data = in;
	return in;
}

int
input_start(struct input *in)
{
	int r;

	if (in->started || in->closing) {
		log_warnx("%s input: started twice", in->ops->name);
		return -1;
	}
	in->started = true;
	r = in->ops->start(in);
	/* Only the start scan resumes: the positions are of no more use. */
	free(in->resume);
	in->resume = NULL;
	in->nresume = 0;
	return r;
}

static void
anchor_close_cb(uv_handle_t *h)
{
	struct input *in = h->data;

	if (in->closed_cb != NULL)
		in->closed_cb(in->closed_arg);
	free(in->be);
	free(in->resume);
	strlist_clear(&in->ic.paths);
	free(in->ic.path);
	free(in);
}

void
input_close(struct input *in, input_closed_cb *cb, void *arg)
{
	if (in->closing)
		return;
	in->closing = true;
	in->closed_cb = cb;
	in->closed_arg = arg;
	if (in->be != NULL)
		in->ops->close(in);
	else
		input_closed(in);
}

void
input_closed(struct input *in)
{
	uv_close((uv_handle_t *)&in->anchor, anchor_close_cb);
}

const struct input_stats *
input_stats(const struct input *in)
{
	return in->be != NULL ? in->ops->stats(in) : &no_stats;
}

void
input_positions(const struct input *in, input_position_cb *cb, void *arg)
{
	if (in->be != NULL && in->ops->positions != NULL)
		in->ops->positions(in, cb, arg);
}

/* Orders positions by (dev, ino, offset). */
static int
position_cmp(const void *a, const void *b)
{
	const struct input_position *x = a, *y = b;

	if (x->dev != y->dev)
		return x->dev < y->dev ? -1 : 1;
	if (x->ino != y->ino)
		return x->ino < y->ino ? -1 : 1;
	if (x->offset != y->offset)
		return x->offset < y->offset ? -1 : 1;
	return 0;
}

void
input_set_resume(struct input *in, const struct input_position *pos, size_t n,
		 int64_t saved_ms)
{
	if (in->started || in->closing) {
		log_warnx("%s input: resume positions given after the start; "
			  "ignored",
			  in->ops->name);
		return;
	}
	if (n > INPUT_MAX_RESUME) {
		log_warnx("%s input: %zu resume positions; the last %zu "
			  "dropped",
			  in->ops->name, n, n - INPUT_MAX_RESUME);
		n = INPUT_MAX_RESUME;
	}
	free(in->resume);
	in->resume = NULL;
	in->nresume = n;
	in->restarted = true;
	in->resume_saved_ms = saved_ms;
	if (n > 0) {
		in->resume = xcalloc(n, sizeof(*in->resume));
		memcpy(in->resume, pos, n * sizeof(*in->resume));
		qsort(in->resume, n, sizeof(*in->resume), position_cmp);
	}
}

const struct input_position *
input_resume_find(const struct input *in, uint64_t dev, uint64_t ino)
{
	struct input_position key = {.dev = dev, .ino = ino};
	size_t lo = 0, hi = in->nresume;

	/* The first entry not below (dev, ino, 0). */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (position_cmp(&in->resume[mid], &key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < in->nresume && in->resume[lo].dev == dev &&
	    in->resume[lo].ino == ino)
		return &in->resume[lo];
	return NULL;
}

static bool
is_same_str(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

bool
input_conf_equal(const struct input_conf *a, const struct input_conf *b)
{
	if (a->type != b->type || a->start_at_end != b->start_at_end ||
	    a->rescan_ms != b->rescan_ms || a->poll_ms != b->poll_ms ||
	    a->close_inactive_ms != b->close_inactive_ms ||
	    a->mode != b->mode || a->max_clients != b->max_clients ||
	    a->max_buffer_bytes != b->max_buffer_bytes ||
	    a->idle_timeout_ms != b->idle_timeout_ms ||
	    !is_same_str(a->path, b->path))
		return false;
	return strlist_equal(&a->paths, &b->paths);
}

/* A framed line: counted for this input, then the engine's. */
static void
line_cb(void *arg, const char *line, size_t len)
{
	struct input *in = arg;

	in->lines++;
	engine_line(in->engine, line, len);
}

struct framer *
input_framer(struct input *in)
{
	return framer_new(in->max_line, line_cb, in, in->metrics);
}

void
input_counts(const struct input *in, uint64_t *lines, uint64_t *bytes)
{
	*lines = in->lines;
	*bytes = in->bytes;
}

void
input_feed(struct input *in, struct framer *fr, const char *data, size_t len)
{
	in->bytes += len;
	in->metrics->v[M_bytes_read] += len;
	framer_feed(fr, data, len);
}

int
input_log_ok(struct log_ratelimit *rl)
{
	int saved = errno, ok;

	if (rl->interval_ms == 0) {
		rl->interval_ms = INPUT_LOG_INTERVAL_MS;
		rl->burst = INPUT_LOG_BURST;
	}
	ok = log_ratelimit_ok(rl);
	errno = saved;
	return ok;
}
