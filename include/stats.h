/*
 * stats: the counters, readable without restarting.
 *
 * A Unix stream socket; every client that connects is sent one snapshot
 * in the Prometheus text exposition format and the connection is
 * closed (`socat - UNIX-CONNECT:PATH`, or a node exporter's textfile
 * collector fed from it).  The owner supplies the renderer.  The server
 * owns its handles and closes them in stats_close(); a stale socket file
 * is replaced, anything else at the path is refused.
 */
#ifndef BURSTD_STATS_H
#define BURSTD_STATS_H

#include <uv.h>

#include "util.h"

struct stats_server;

/* Appends one snapshot to out. */
typedef void stats_render_fn(void *arg, struct buf *out);
typedef void stats_closed_cb(void *arg);

/* Returns a listening server, or NULL after logging why. */
struct stats_server *stats_new(uv_loop_t *loop, const char *path,
    stats_render_fn *render, void *arg);
/* Stops listening, unlinks the path, calls cb(arg) once closed. */
void stats_close(struct stats_server *st, stats_closed_cb *cb, void *arg);

#endif
