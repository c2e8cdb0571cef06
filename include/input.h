/*
 * input: where events come from.  Backends (input_int.h ops): file
 * (glob patterns, tailing with rotation and truncation handling), unix
 * (a listening stream socket, many clients), stdin.  Every source of
 * bytes has its own struct framer whose line callback is engine_line, so
 * a partial line from one file or client never mixes with another's.
 * Inputs count bytes into the engine's metrics (bytes_read) and their
 * own events (files opened, rotations, truncations, clients, errors) in
 * struct input_stats.
 *
 * An input owns its handles and framers; it borrows the loop, the conf
 * and the engine, which must outlive it.  input_close() stops reading,
 * passes held partial lines nowhere (they are counted as dropped
 * partials), closes every handle and calls back; then it is freed.
 */
#ifndef BURSTD_INPUT_H
#define BURSTD_INPUT_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "conf.h"
#include "engine.h"

struct input;

struct input_stats {
	uint64_t files_opened;    /* file: files opened for tailing */
	uint64_t rotations;       /* file: renamed away, drained, followed */
	uint64_t truncations;     /* file: size fell below offset: restarted */
	uint64_t open_errors;     /* file: open or read failures (retried) */
	uint64_t clients;         /* unix: clients accepted */
	uint64_t clients_refused; /* unix: over max_clients */
	uint64_t partial_dropped; /* partial lines lost at close/disconnect */
};

typedef void input_closed_cb(void *arg);

struct input *input_new(uv_loop_t *loop, const struct input_conf *ic,
    const struct conf *conf, struct engine *engine);
/* Starts reading; returns 0, or -1 after logging why. */
int input_start(struct input *in);
void input_close(struct input *in, input_closed_cb *cb, void *arg);
const struct input_stats *input_stats(const struct input *in);
bool input_conf_equal(const struct input_conf *a,
    const struct input_conf *b);

#endif
