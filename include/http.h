/*
 * http: the metrics listener, daemon.metrics_listen.  A TCP socket
 * (IPv4 or IPv6) or a Unix stream socket on the loop, answering
 * HTTP/1.x GET and HEAD one request per connection (Connection: close):
 *
 *   /metrics  200, the stats text (Prometheus text format 0.0.4)
 *   /health   200 "ok" while the owner's health callback says so,
 *             503 with its reason otherwise
 *   other paths 404, other methods 405, a malformed head 400 (431 too
 *   large, 414 path too long, 505 not HTTP/1.x; see httpreq.h)
 *
 * The whole head is read (httpreq_parse()) before an answer.  Clients
 * are bounded (HTTP_MAX_CLIENTS; more are closed at once, counted), so
 * is the head (HTTPREQ_MAX_HEAD) and the time to send it and to take the
 * answer (HTTP_TIMEOUT_MS; closed, counted).  After the answer the
 * connection is shut down for writing and closed at the client's EOF,
 * so that bytes it still sends do not reset the answer away.
 *
 * The server owns its handles and closes them in http_close(); the
 * socket file of a Unix path is made and removed as sockpath.h says
 * (mode 0660).
 */
#ifndef BURSTD_HTTP_H
#define BURSTD_HTTP_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "util.h"

struct http_server;

#define HTTP_MAX_CLIENTS 64 /* connections at once; more are closed */
#define HTTP_TIMEOUT_MS \
	5000 /* to send the head; then to take the
				 * answer and close */

struct http_stats {
	uint64_t requests; /* heads answered 200, 404, 405 or 503 */
	uint64_t bad;      /* heads answered 400, 414, 431 or 505 */
	uint64_t timeouts; /* closed: head or answer not done in time */
	uint64_t refused;  /* closed at once: HTTP_MAX_CLIENTS connected */
};

/* Appends the metrics text to out. */
typedef void http_render_fn(void *arg, struct buf *out);
/* Returns whether all is well; when not, appends the reason to why. */
typedef bool http_health_fn(void *arg, struct buf *why);
typedef void http_closed_cb(void *arg);

/*
 * Listens at addr (httpreq_parse_addr() syntax).  Returns the server, or
 * NULL after logging why.
 */
struct http_server *
http_new(uv_loop_t *loop, const char *addr, http_render_fn *render,
	 http_health_fn *health, void *arg);
const struct http_stats *http_stats(const struct http_server *hs);
/*
 * Stops listening, closes every connection, removes a Unix socket file,
 * calls cb(arg) once all handles are closed, frees the server.
 */
void http_close(struct http_server *hs, http_closed_cb *cb, void *arg);

#endif
