/*
 * http: a listening uv_tcp_t or uv_pipe_t; per client one stream, one
 * timer, a fixed head buffer and one write.
 *
 * A client goes HEAD (reading the head) -> ANSWER (the write in flight)
 * -> DRAIN (shut down for writing; reads discarded until EOF) and is
 * closed from any state by an error, EOF or its timer.  Invariants:
 * `nclients` counts clients not yet freed, all of them on `clients`; the
 * server is freed only when its listener and every client have closed.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http.h"
#include "httpreq.h"
#include "log.h"
#include "sockpath.h"

union stream {
	uv_handle_t h;
	uv_stream_t s;
	uv_tcp_t tcp;
	uv_pipe_t pipe;
};

struct http_client;

struct http_server {
	union stream listener;       /* the listening socket */
	char *addr;                  /* as configured (owned), for logs */
	bool is_unix;                /* a Unix socket: sp is in use */
	struct sockpath sp;          /* the socket file, when is_unix */
	http_render_fn *render;      /* the metrics text */
	http_health_fn *health;      /* the health verdict */
	void *arg;                   /* passed to render and health */
	struct http_client *clients; /* open clients, newest first */
	int nclients;                /* clients not yet freed */
	struct http_stats stats;     /* counters */
	struct log_ratelimit rl;     /* refusals and timeouts */
	bool closing;                /* http_close() was called */
	bool listener_closed;        /* the listener's close_cb ran */
	http_closed_cb *cb;          /* called once all is closed */
	void *cb_arg;                /* passed to cb */
};

struct http_client {
	union stream conn; /* the connection */
	uv_timer_t timer;  /* HTTP_TIMEOUT_MS per state */
	int handles;       /* of conn and timer, not yet closed */
	enum {
		HEAD,
		ANSWER,
		DRAIN
	} state;
	char head[HTTPREQ_MAX_HEAD]; /* the head read so far */
	size_t len;                  /* bytes in head */
	uv_write_t req;              /* the answer's write */
	uv_shutdown_t sreq;          /* its shutdown */
	struct buf out;              /* the answer */
	struct http_server *hs;      /* owner */
	struct http_client *next;    /* on hs->clients */
	struct http_client **prevp;  /* what points at this one */
};

/* Where bytes after the head go; nothing reads them. */
static char discard[4096];

static void
maybe_free(struct http_server *hs)
{
	if (!hs->closing || !hs->listener_closed || hs->nclients > 0)
		return;
	if (hs->cb != NULL)
		hs->cb(hs->cb_arg);
	free(hs->addr);
	free(hs);
}

static void
client_close_cb(uv_handle_t *h)
{
	struct http_client *c = h->data;
	struct http_server *hs = c->hs;

	if (--c->handles > 0)
		return;
	if ((*c->prevp = c->next) != NULL)
		c->next->prevp = c->prevp;
	buf_free(&c->out);
	free(c);
	hs->nclients--;
	maybe_free(hs);
}

static void
client_close(struct http_client *c)
{
	if (!uv_is_closing(&c->conn.h))
		uv_close(&c->conn.h, client_close_cb);
	if (!uv_is_closing((uv_handle_t *)&c->timer))
		uv_close((uv_handle_t *)&c->timer, client_close_cb);
}

static void
timeout_cb(uv_timer_t *t)
{
	struct http_client *c = t->data;
	struct http_server *hs = c->hs;

	if (c->state != DRAIN) {
		hs->stats.timeouts++;
		if (log_ratelimit_ok(&hs->rl))
			log_warnx("metrics %s: client closed: %s not done in "
				  "%d ms",
				  hs->addr,
				  c->state == HEAD ? "request head" : "answer",
				  HTTP_TIMEOUT_MS);
	}
	client_close(c);
}

static const char *
reason(int code)
{
	switch (code) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 414:
		return "URI Too Long";
	case 431:
		return "Request Header Fields Too Large";
	case 503:
		return "Service Unavailable";
	case 505:
		return "HTTP Version Not Supported";
	}
	return "Error";
}

static void
shutdown_cb(uv_shutdown_t *req, int status)
{
	struct http_client *c = req->data;

	if (status < 0)
		client_close(c);
}

static void
write_cb(uv_write_t *req, int status)
{
	struct http_client *c = req->data;

	if (status < 0 || uv_is_closing(&c->conn.h)) {
		client_close(c);
		return;
	}
	c->state = DRAIN;
	c->sreq.data = c;
	if (uv_shutdown(&c->sreq, &c->conn.s, shutdown_cb) != 0)
		client_close(c);
}

/* Sends code with body (its type ctype) and moves to ANSWER. */
static void
answer(struct http_client *c, int code, const char *ctype, const char *body,
       size_t blen, bool head_only, bool allow)
{
	char hdr[512];
	int n;
	uv_buf_t b;

	n = snprintf(
	    hdr, sizeof(hdr),
	    "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
	    "%sConnection: close\r\n\r\n",
	    code, reason(code), ctype, blen,
	    allow ? "Allow: GET, HEAD\r\n" : "");
	if (code == 200 || code == 404 || code == 405 || code == 503)
		c->hs->stats.requests++;
	else
		c->hs->stats.bad++;
	c->state = ANSWER;
	buf_append(&c->out, hdr, (size_t)n);
	if (!head_only)
		buf_append(&c->out, body, blen);
	b = uv_buf_init(c->out.data, (unsigned)c->out.len);
	c->req.data = c;
	uv_timer_start(&c->timer, timeout_cb, HTTP_TIMEOUT_MS, 0);
	if (uv_write(&c->req, &c->conn.s, &b, 1, write_cb) != 0)
		client_close(c);
}

static void
route(struct http_client *c, const struct httpreq *r)
{
	static const char text[] = "text/plain; charset=utf-8";
	struct http_server *hs = c->hs;
	bool head_only = strcmp(r->method, "HEAD") == 0;
	struct buf body = {0};

	if (strcmp(r->path, "/metrics") != 0 &&
	    strcmp(r->path, "/health") != 0) {
		answer(c, 404, text, "not found\n", 10, head_only, false);
		return;
	}
	if (!head_only && strcmp(r->method, "GET") != 0) {
		answer(c, 405, text, "method not allowed\n", 19, false, true);
		return;
	}
	if (strcmp(r->path, "/metrics") == 0) {
		hs->render(hs->arg, &body);
		answer(c, 200, "text/plain; version=0.0.4; charset=utf-8",
		       body.data, body.len, head_only, false);
	} else if (hs->health(hs->arg, &body)) {
		answer(c, 200, text, "ok\n", 3, head_only, false);
	} else {
		buf_append(&body, "\n", 1);
		answer(c, 503, text, body.data, body.len, head_only, false);
	}
	buf_free(&body);
}

static void
alloc_cb(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
	struct http_client *c = h->data;

	if (c->state == HEAD && c->len < sizeof(c->head))
		*b = uv_buf_init(c->head + c->len,
				 (unsigned)(sizeof(c->head) - c->len));
	else
		*b = uv_buf_init(discard, sizeof(discard));
}

static void
read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	struct http_client *c = s->data;
	struct httpreq r;
	char msg[128];
	int code;

	if (n < 0) {
		/* EOF or error: in DRAIN the end; in HEAD a client gone; in
		 * ANSWER write_cb finds the handle closing. */
		client_close(c);
		return;
	}
	if (c->state != HEAD || n == 0)
		return;
	c->len += (size_t)n;
	if ((code = httpreq_parse(c->head, c->len, &r)) == 0)
		return;
	if (code == 200) {
		route(c, &r);
		return;
	}
	log_debug("metrics %s: %d: %s", c->hs->addr, code, r.why);
	snprintf(msg, sizeof(msg), "%s\n", r.why);
	answer(c, code, "text/plain; charset=utf-8", msg, strlen(msg), false,
	       false);
}

static void
connection_cb(uv_stream_t *server, int status)
{
	struct http_server *hs = server->data;
	struct http_client *c;
	int rc;

	if (status < 0 || hs->closing)
		return;
	c = xcalloc(1, sizeof(*c));
	c->hs = hs;
	if (hs->is_unix)
		rc = uv_pipe_init(server->loop, &c->conn.pipe, 0);
	else
		rc = uv_tcp_init(server->loop, &c->conn.tcp);
	if (rc != 0) {
		free(c);
		return;
	}
	uv_timer_init(server->loop, &c->timer);
	c->conn.h.data = c;
	c->timer.data = c;
	c->handles = 2;
	if ((c->next = hs->clients) != NULL)
		c->next->prevp = &c->next;
	hs->clients = c;
	c->prevp = &hs->clients;
	hs->nclients++;
	if (uv_accept(server, &c->conn.s) != 0) {
		client_close(c);
		return;
	}
	/* Each client holds a descriptor and a head buffer: a bounded few. */
	if (hs->nclients > HTTP_MAX_CLIENTS) {
		hs->stats.refused++;
		if (log_ratelimit_ok(&hs->rl))
			log_warnx("metrics %s: client refused: %d connected",
				  hs->addr, hs->nclients - 1);
		client_close(c);
		return;
	}
	uv_timer_start(&c->timer, timeout_cb, HTTP_TIMEOUT_MS, 0);
	if (uv_read_start(&c->conn.s, alloc_cb, read_cb) != 0)
		client_close(c);
}

static void
listener_close_cb(uv_handle_t *h)
{
	struct http_server *hs = h->data;

	hs->listener_closed = true;
	maybe_free(hs);
}

/* Binds and listens; returns 0, or -1 after logging why. */
static int
start_listener(struct http_server *hs, uv_loop_t *loop,
	       const struct httpreq_addr *a)
{
	struct sockaddr_storage ss;
	int fd, rc;

	if (a->family == AF_UNIX) {
		hs->is_unix = true;
		uv_pipe_init(loop, &hs->listener.pipe, 0);
		hs->listener.h.data = hs;
		if ((fd = sockpath_bind(&hs->sp, "metrics", hs->addr, 0660)) <
		    0)
			return -1;
		if ((rc = uv_pipe_open(&hs->listener.pipe, fd)) != 0) {
			close(fd);
			log_warnx("metrics %s: %s", hs->addr, uv_strerror(rc));
			return -1;
		}
	} else {
		uv_tcp_init(loop, &hs->listener.tcp);
		hs->listener.h.data = hs;
		if (a->family == AF_INET)
			rc = uv_ip4_addr(a->host, a->port,
					 (struct sockaddr_in *)&ss);
		else
			rc = uv_ip6_addr(a->host, a->port,
					 (struct sockaddr_in6 *)&ss);
		if (rc == 0)
			rc = uv_tcp_bind(&hs->listener.tcp,
					 (struct sockaddr *)&ss,
					 a->family == AF_INET6 ? UV_TCP_IPV6ONLY
							       : 0);
		if (rc != 0) {
			log_warnx("metrics %s: bind: %s", hs->addr,
				  uv_strerror(rc));
			return -1;
		}
	}
	if ((rc = uv_listen(&hs->listener.s, 64, connection_cb)) != 0) {
		log_warnx("metrics %s: listen: %s", hs->addr, uv_strerror(rc));
		return -1;
	}
	return 0;
}

struct http_server *
http_new(uv_loop_t *loop, const char *addr, http_render_fn *render,
	 http_health_fn *health, void *arg)
{
	struct http_server *hs;
	struct httpreq_addr a;
	const char *why;

	if (httpreq_parse_addr(addr, &a, &why) < 0) {
		log_warnx("metrics %s: %s", addr, why);
		return NULL;
	}
	hs = xcalloc(1, sizeof(*hs));
	hs->addr = xstrdup(addr);
	hs->rl = (struct log_ratelimit){.interval_ms = 10000, .burst = 5};
	hs->render = render;
	hs->health = health;
	hs->arg = arg;
	if (start_listener(hs, loop, &a) < 0) {
		log_warnx("metrics %s: no metrics listener", addr);
		http_close(hs, NULL, NULL);
		return NULL;
	}
	log_info("metrics listening on %s", addr);
	return hs;
}

const struct http_stats *
http_stats(const struct http_server *hs)
{
	return &hs->stats;
}

void
http_close(struct http_server *hs, http_closed_cb *cb, void *arg)
{
	hs->closing = true;
	hs->cb = cb;
	hs->cb_arg = arg;
	if (hs->is_unix)
		sockpath_remove(&hs->sp);
	for (struct http_client *c = hs->clients; c != NULL; c = c->next)
		client_close(c);
	uv_close(&hs->listener.h, listener_close_cb);
}
