/*
 * sink_int: what the sink backends share with the common part.
 *
 * sink.c owns the queue, the write pump, the backoff timer, the counters
 * and the close sequence.  A backend (sink_file.c: file, and stdout when
 * it is a file; sink_stream.c: unix, tcp, and stdout when it is a pipe,
 * socket or terminal; sink_dgram.c: unix_dgram) owns the state it hangs
 * on s->be: its handles, requests and descriptors.  sink.c drives a
 * backend through struct sink_ops; the backend answers with the sink_*()
 * calls below.
 *
 * The connection state is s->state, changed only by sink.c:
 *
 *   WAIT --backoff timer--> CONNECTING --sink_up()--> UP
 *   CONNECTING or UP --sink_fail(), reopen, close--> DOWNING
 *   DOWNING --sink_down()--> WAIT, or CONNECTING at once after a reopen,
 *                            or DONE when the sink is closing
 *
 * Rules for a backend:
 * - ops->connect() answers exactly once, with sink_up() or sink_fail(),
 *   possibly before it returns;
 * - ops->write() is called only in UP with no write in flight.  It returns
 *   SINK_OK when the line is written already, SINK_AGAIN when it is in
 *   flight (sink_written() follows, never before write() returns), or
 *   SINK_ERR after calling sink_fail() (the connection is lost) or
 *   sink_reject() (this line can never be written);
 * - a backend with ops->writev takes a batch instead: every line waiting,
 *   up to SINK_BATCH_LINES lines and SINK_BATCH_BYTES bytes, in one
 *   write, so that one round trip (a thread-pool request for a file)
 *   carries many alerts.  It answers as write() does, for the whole
 *   batch, and never rejects;
 * - ops->disconnect() lets requests in flight finish or be cancelled,
 *   closes every handle and descriptor, then calls sink_down(), possibly
 *   before it returns.  A write still in flight when disconnect() is called
 *   ends with sink_written() before sink_down(); failures reported in that
 *   window are not counted, since the sink is going down anyway;
 * - no sink_*() call frees the sink: it is freed only in the close
 *   callback of its timer, so a backend may use s after any call returns.
 */
#ifndef BURSTD_SINK_INT_H
#define BURSTD_SINK_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "conf.h"
#include "log.h"
#include "sink.h"

/* Outcome of ops->write(). */
enum sink_io {
	SINK_OK,    /* written now */
	SINK_AGAIN, /* in flight: sink_written() reports the end */
	SINK_ERR,   /* failed: sink_fail() or sink_reject() was called */
};

enum sink_state {
	SINK_WAIT,       /* down; the backoff timer will connect */
	SINK_CONNECTING, /* ops->connect() called, no answer yet */
	SINK_UP,         /* connected or open: the pump writes */
	SINK_DOWNING,    /* ops->disconnect() called, sink_down() pending */
	SINK_DONE,       /* closed for good; the timer is closing */
};

/* A batch for ops->writev: at most this many lines (IOV_MAX) ... */
#define SINK_BATCH_LINES 1024
/* ... and this many bytes, unless its first line alone is longer. */
#define SINK_BATCH_BYTES (1024 * 1024)

/*
 * One queued alert, framed as the sink sends it, owned by the sink:
 * data holds [octet count] [RFC 5424 header] JSON "\n", of which the
 * first len bytes are written (the newline is not, with octet counting)
 * and the JSON line as pushed starts at raw_off.
 */
struct sink_line {
	struct sink_line *next; /* toward the newest */
	uint64_t t_ms;          /* loop time it was queued */
	size_t len;             /* bytes of data to write */
	size_t raw_off;         /* where the JSON starts in data */
	size_t raw_len;         /* the JSON and its "\n" */
	char data[];            /* the framed alert */
};

/* A backend; the rules above say when each is called and how it answers. */
struct sink_ops {
	void (*init)(struct sink *s);    /* allocates s->be */
	void (*connect)(struct sink *s); /* opens or connects */
	enum sink_io (*write)(struct sink *s, const char *p,
			      size_t len); /* writes one line */
	enum sink_io (*writev)(struct sink *s, const struct sink_line *first,
			       size_t n);   /* writes n lines chained from
					     * first; NULL: one at a time */
	void (*reopen)(struct sink *s);     /* notes a SIGHUP before sink.c
					     * reconnects; NULL: ignored */
	void (*disconnect)(struct sink *s); /* closes all, then sink_down() */
	void (*free)(struct sink *s);       /* frees s->be; all is closed */
};

struct sink {
	uv_loop_t *loop;            /* borrowed */
	const struct sink_ops *ops; /* the backend */
	void *be;                   /* backend state, owned by the backend */
	struct sink_conf conf;      /* a copy; path, host owned, never NULL */
	char *name;                 /* for logs, e.g. "tcp 127.0.0.1:5170" */
	char hostname[256];         /* RFC 5424 HOSTNAME, or "-" */
	enum sink_state state;      /* see the diagram above */
	struct sink_line *head;     /* oldest waiting line, NULL if none */
	struct sink_line *tail;     /* newest waiting line */
	size_t nwait;               /* lines from head to tail, <= queue_max */
	struct sink_line *cur;      /* in flight, or to be retried first: a
				     * batch of ncur lines chained by next */
	size_t ncur;                /* lines in cur's batch (1 without
				     * ops->writev), 0 when cur is NULL */
	bool busy;                  /* a write of cur is in flight */
	bool closing;               /* sink_close() was called */
	bool now;                   /* reconnect without backoff (reopen) */
	bool reopen_pending;        /* a reopen came while connecting */
	uv_timer_t timer;           /* backoff; while closing, the deadline */
	int64_t backoff_ms;         /* next delay, before jitter */
	uint64_t up_ms;             /* loop time of the last sink_up() */
	uint64_t up_sent;           /* stats.sent at that time */
	uint64_t rng;               /* splitmix64 state for the jitter */
	uint64_t failures;          /* failures since the last sink_up() */
	struct log_ratelimit rl;    /* keeps a dead sink's messages few */
	struct sink_stats stats;    /* counters; depth kept current */
	sink_closed_cb *closed_cb;  /* called once everything is closed */
	void *closed_arg;           /* passed to closed_cb */
};

/* The backends. */
extern const struct sink_ops sink_ops_file;   /* sink_file.c */
extern const struct sink_ops sink_ops_stdout; /* sink_stream.c */
extern const struct sink_ops sink_ops_unix;   /* sink_stream.c */
extern const struct sink_ops sink_ops_tcp;    /* sink_stream.c */
extern const struct sink_ops sink_ops_dgram;  /* sink_dgram.c */

/* Connected or opened: starts writing. */
void sink_up(struct sink *s);
/*
 * The connection failed (err is a libuv error code, what names the
 * operation): counts and logs it, rate-limited, and calls
 * ops->disconnect().  Ignored unless the sink is CONNECTING or UP.
 */
void sink_fail(struct sink *s, const char *what, int err);
/* Every handle is closed: waits for the backoff, reconnects or ends. */
void sink_down(struct sink *s);
/* A write that returned SINK_AGAIN ended; status 0 or a libuv error. */
void sink_written(struct sink *s, int status);
/*
 * The line in hand (cur, one line: a backend that rejects has no writev)
 * can never be written (err says why): counts it as an error, logs,
 * drops it and goes on with the next line.
 */
void sink_reject(struct sink *s, const char *what, int err);

#endif
