/*
 * input_int: what the input backends share with the dispatch in input.c.
 *
 * struct input is the common part of every input: the loop, a private
 * copy of its input_conf, the engine its framers feed, and an anchor
 * handle.  The backend keeps its own state in one allocation hung on
 * in->be, created by its start op.
 *
 * Closing is two-phase.  input_close() calls the backend's close op,
 * which stops reading and closes every handle the backend owns; from its
 * last close callback it frees everything it owns except the top struct
 * in in->be (its framers, buffers, per-file and per-client records) and
 * calls input_closed().  That closes the anchor, whose close callback
 * runs the caller's input_closed_cb, while the stats op still answers,
 * and only then frees in->be and the input.  So the caller is always
 * called back from the loop, never from inside input_close(), and the
 * stats stay readable from within its callback.
 */
#ifndef BURSTD_INPUT_INT_H
#define BURSTD_INPUT_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "framer.h"
#include "input.h"
#include "log.h"

/*
 * A backend.  start creates in->be and starts reading, returning 0, or
 * -1 after logging why (close still follows).  close stops reading,
 * closes every handle and, from the last close callback, frees what the
 * backend owns but in->be and calls input_closed().  stats returns the
 * backend's counters, valid until the input is freed.  positions, NULL
 * for backends without offsets, reports every followed file's committed
 * position (input_positions()); it runs only while in->be is set.  A
 * start op that resumes reads in->resume, which input_start() frees once
 * start returns.
 */
struct input_ops {
	const char *name;                /* "file", "unix", "stdin" */
	int (*start)(struct input *in);  /* creates in->be, starts */
	void (*close)(struct input *in); /* closes, then input_closed() */
	const struct input_stats *(*stats)(
	    const struct input *in); /* the backend's counters */
	void (*positions)(const struct input *in, input_position_cb *cb,
			  void *arg); /* committed offsets, or NULL */
};

struct input {
	const struct input_ops *ops;   /* the backend for ic.type */
	void *be;                      /* backend state, NULL until started */
	uv_loop_t *loop;               /* borrowed */
	struct input_conf ic;          /* private deep copy of the conf */
	size_t max_line;               /* conf max_line_bytes, for framers */
	struct engine *engine;         /* borrowed; receives every line */
	struct metrics *metrics;       /* engine_metrics(engine), borrowed */
	uint64_t lines;                /* lines handed to the engine */
	uint64_t bytes;                /* bytes read */
	uv_timer_t anchor;             /* never started; closed last */
	bool started;                  /* input_start() was called */
	bool closing;                  /* input_close() was called */
	input_closed_cb *closed_cb;    /* the caller's close callback */
	void *closed_arg;              /* passed to closed_cb */
	struct input_position *resume; /* sorted by dev, ino, offset */
	size_t nresume;                /* entries in resume */
	bool restarted;                /* input_set_resume() was called */
	int64_t resume_saved_ms;       /* when the positions were taken */
};

extern const struct input_ops input_tail_ops;
extern const struct input_ops input_unix_ops;
extern const struct input_ops input_stdin_ops;

/* Returns a new framer whose lines go to the input's engine. */
struct framer *input_framer(struct input *in);
/* Counts len bytes as read and feeds them to fr. */
void
input_feed(struct input *in, struct framer *fr, const char *data, size_t len);
/*
 * Returns the resume position input_set_resume() gave for (dev, ino), the
 * one with the lowest offset if there are several, or NULL; valid until
 * the start op returns.
 */
const struct input_position *
input_resume_find(const struct input *in, uint64_t dev, uint64_t ino);
/* The backend has closed its last handle: finish closing the input. */
void input_closed(struct input *in);
/*
 * Returns 1 if a rate-limited message may be logged now, 0 if not.
 * Keeps errno, so log_warn() after it still reports the failure.
 */
int input_log_ok(struct log_ratelimit *rl);

/* Log rate limits: at most LOG_BURST messages per LOG_INTERVAL_MS. */
#define INPUT_LOG_INTERVAL_MS 10000
#define INPUT_LOG_BURST 5

#endif
