/*
 * sink: where alerts go.  Each sink has a bounded in-memory queue of
 * alert lines; a sink that is slow, absent or failing never stalls the
 * loop or the inputs: when its queue is full the oldest alert is dropped
 * and counted.  Backends are ops structs (sink_int.h): stdout, file
 * (append, reopened on SIGHUP and SIGUSR2), Unix stream client, Unix datagram, TCP;
 * connection-based ones reconnect with exponential backoff and jitter.
 *
 * A sink owns its queue (copies of the lines) and its libuv handles; it
 * borrows the loop.  sink_close() flushes what it can without blocking
 * and calls back once every handle is closed; only then is it freed.
 * sink_pending() shows what is still queued, so a checkpoint can keep it.
 */
#ifndef BURSTD_SINK_H
#define BURSTD_SINK_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "conf.h"

struct sink;

struct sink_stats {
	uint64_t queued;        /* alerts accepted into the queue */
	uint64_t sent;          /* alerts fully written */
	uint64_t dropped_full;  /* alerts dropped: queue full (oldest first) */
	uint64_t dropped_close; /* alerts still queued when the sink closed */
	uint64_t rejected;      /* alerts the receiver can never take (a
				 * datagram too long: EMSGSIZE), dropped */
	uint64_t errors;        /* write, open or connect failures */
	uint64_t connects;      /* successful (re)connections or opens */
	size_t depth;           /* alerts waiting now */
};

typedef void sink_closed_cb(void *arg);
/* line (with its "\n") is borrowed, valid during the call only. */
typedef void sink_line_cb(void *arg, const char *line, size_t len);

/* Returns a started sink; it opens or connects in the background. */
struct sink *sink_new(uv_loop_t *loop, const struct sink_conf *sc);
/*
 * Queues a copy of one alert line (JSON and "\n"), framed as the sink's
 * framing and format say; sink_pending() gives back the line as pushed.
 */
void sink_push(struct sink *s, const char *line, size_t len);
/* SIGHUP, SIGUSR2: a file sink reopens its path; others do nothing. */
void sink_reopen(struct sink *s);
/*
 * Flushes without blocking, closes, calls cb(arg), frees the sink.  During
 * cb, sink_stats() and sink_name() still answer: the counters are final.
 */
void sink_close(struct sink *s, sink_closed_cb *cb, void *arg);
const struct sink_stats *sink_stats(const struct sink *s);
/*
 * Calls cb for every alert line not yet fully written, oldest first, the
 * one being written (if any) included: what a checkpoint keeps so that a
 * restart sends it again.  cb must not push to, reopen or close s.
 */
void sink_pending(const struct sink *s, sink_line_cb *cb, void *arg);
/* Whether it is connected or open now. */
bool sink_is_up(const struct sink *s);
/* Loop time (uv_now) the oldest alert not yet written was queued; 0: none. */
uint64_t sink_oldest_ms(const struct sink *s);
/* A short description for logs, e.g. "tcp 127.0.0.1:5170". */
const char *sink_name(const struct sink *s);
/* Whether two configurations describe the same sink (reload keeps it). */
bool sink_conf_equal(const struct sink_conf *a, const struct sink_conf *b);

#endif
