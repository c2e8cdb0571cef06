/*
 * input_unix: a listening Unix stream socket; each client sends NDJSON.
 *
 * Owns the listener (uv_pipe_t), the clients (one uv_pipe_t and one
 * framer each, in a list) and one read buffer that every client's reads
 * borrow: libuv calls read_cb right after alloc_cb, and read_cb frames
 * the bytes before it returns, so one buffer is enough.
 *
 * A client's bytes go to its own framer only, so a client that sends
 * garbage or stops mid-line harms no one: its bad lines are counted by
 * the engine (json_invalid), and a partial line it leaves behind when it
 * disconnects is counted in partial_dropped and never passed on.  At
 * most max_clients are connected at once; one more is accepted and
 * closed at once (clients_refused).
 *
 * The socket file is made, replaced when stale, and removed on close as
 * sockpath.h says: what is not provably a dead socket is left alone and
 * the input does not start; on close the path is unlinked only if it
 * still names the socket this input created.
 *
 * Invariants: nclients counts the clients in the list, <= max_clients;
 * every handle initialised counts in nhandles until its close callback,
 * which is the only place a client is freed.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "input_int.h"
#include "sockpath.h"
#include "util.h"

#define READ_BUF (64 * 1024) /* bytes per read */
#define BACKLOG 128          /* pending connections */

struct unixin;

struct client {
	uv_pipe_t h;             /* the connection */
	struct unixin *u;        /* owner */
	struct framer *fr;       /* this client's lines; NULL if refused */
	struct client *prev;     /* in u->clients */
	struct client *next;     /* in u->clients */
	uint64_t id;             /* sequence number, for logs */
	bool listed;             /* in u->clients, counted in nclients */
};

struct unixin {
	struct input *in;            /* owner */
	struct input_stats stats;    /* this input's counters */
	const char *path;            /* in->ic.path, borrowed */
	uv_pipe_t listener;          /* bound to path */
	bool listener_init;          /* listener is initialised */
	struct sockpath sp;          /* the socket file */
	struct client *clients;      /* connected, not refused, not closing */
	size_t nclients;             /* entries in clients */
	uint64_t next_id;            /* id of the next client */
	unsigned nhandles;           /* handles initialised, not yet closed */
	bool closing;                /* the close op ran */
	char *buf;                   /* READ_BUF bytes, lent to each read */
	struct log_ratelimit rl_err; /* read and accept failures */
	struct log_ratelimit rl_ref; /* refused clients */
};

static void finish(struct unixin *u);

static void
client_close_cb(uv_handle_t *h)
{
	struct client *c = h->data;
	struct unixin *u = c->u;

	framer_free(c->fr);
	free(c);
	if (--u->nhandles == 0 && u->closing)
		finish(u);
}

/* Closes a client; a line it left unfinished is dropped and counted. */
static void
client_drop(struct client *c)
{
	struct unixin *u = c->u;

	if (c->listed) {
		if (c->fr != NULL && framer_pending(c->fr) > 0) {
			u->stats.partial_dropped++;
			framer_reset(c->fr);
		}
		if (c->prev != NULL)
			c->prev->next = c->next;
		else
			u->clients = c->next;
		if (c->next != NULL)
			c->next->prev = c->prev;
		c->listed = false;
		u->nclients--;
	}
	if (!uv_is_closing((uv_handle_t *)&c->h))
		uv_close((uv_handle_t *)&c->h, client_close_cb);
}

static void
alloc_cb(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	struct client *c = h->data;

	buf->base = c->u->buf;
	buf->len = READ_BUF;
}

static void
read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct client *c = s->data;
	struct unixin *u = c->u;

	if (nread > 0) {
		input_feed(u->in, c->fr, buf->base, (size_t)nread);
		return;
	}
	if (nread == 0)
		return;
	if (nread != UV_EOF && input_log_ok(&u->rl_err))
		log_warnx("unix input %s: client %ju: read: %s", u->path,
		    (uintmax_t)c->id, uv_strerror((int)nread));
	client_drop(c);
}

static void
connection_cb(uv_stream_t *server, int status)
{
	struct unixin *u = server->data;
	struct client *c;
	int r;

	if (status < 0) {
		if (input_log_ok(&u->rl_err))
			log_warnx("unix input %s: accept: %s", u->path,
			    uv_strerror(status));
		return;
	}
	if (u->closing)
		return;
	c = xcalloc(1, sizeof(*c));
	c->u = u;
	c->id = u->next_id++;
	if (uv_pipe_init(u->in->loop, &c->h, 0) != 0)
		fatalx("unix input %s: uv_pipe_init failed", u->path);
	c->h.data = c;
	u->nhandles++;
	r = uv_accept(server, (uv_stream_t *)&c->h);
	if (r != 0) {
		if (input_log_ok(&u->rl_err))
			log_warnx("unix input %s: accept: %s", u->path,
			    uv_strerror(r));
		client_drop(c);
		return;
	}
	if (u->nclients >= u->in->ic.max_clients) {
		u->stats.clients_refused++;
		if (input_log_ok(&u->rl_ref))
			log_warnx("unix input %s: client %ju refused: %zu "
			    "clients connected (max_clients)", u->path,
			    (uintmax_t)c->id, u->nclients);
		client_drop(c);
		return;
	}
	c->fr = input_framer(u->in);
	c->next = u->clients;
	if (u->clients != NULL)
		u->clients->prev = c;
	u->clients = c;
	c->listed = true;
	u->nclients++;
	u->stats.clients++;
	r = uv_read_start((uv_stream_t *)&c->h, alloc_cb, read_cb);
	if (r != 0) {
		if (input_log_ok(&u->rl_err))
			log_warnx("unix input %s: client %ju: read: %s",
			    u->path, (uintmax_t)c->id, uv_strerror(r));
		client_drop(c);
	}
}

static int
unix_start(struct input *in)
{
	struct unixin *u = xcalloc(1, sizeof(*u));
	int r;

	in->be = u;
	u->in = in;
	u->path = in->ic.path;
	u->buf = xmalloc(READ_BUF);
	if (uv_pipe_init(in->loop, &u->listener, 0) != 0)
		fatalx("unix input %s: uv_pipe_init failed", u->path);
	u->listener.data = u;
	u->listener_init = true;
	u->nhandles++;
	if (sockpath_bind(&u->sp, &u->listener, "unix input", u->path,
		in->ic.mode) < 0)
		return -1;
	r = uv_listen((uv_stream_t *)&u->listener, BACKLOG, connection_cb);
	if (r != 0) {
		log_warnx("unix input %s inode=%ju: listen: %s", u->path,
		    (uintmax_t)u->sp.ino, uv_strerror(r));
		return -1;
	}
	log_info("unix input %s inode=%ju: listening (mode %04o, at most %zu "
	    "clients)", u->path, (uintmax_t)u->sp.ino, in->ic.mode,
	    in->ic.max_clients);
	return 0;
}

/* Every handle is closed: free what the input owns, but the struct. */
static void
finish(struct unixin *u)
{
	free(u->buf);
	u->buf = NULL;
	input_closed(u->in);
}

static void
listener_close_cb(uv_handle_t *h)
{
	struct unixin *u = h->data;

	if (--u->nhandles == 0)
		finish(u);
}

static void
unix_close(struct input *in)
{
	struct unixin *u = in->be;
	struct client *c, *next;

	u->closing = true;
	for (c = u->clients; c != NULL; c = next) {
		next = c->next;
		client_drop(c);
	}
	sockpath_remove(&u->sp);
	if (u->listener_init)
		uv_close((uv_handle_t *)&u->listener, listener_close_cb);
	if (u->nhandles == 0)
		finish(u);
}

static const struct input_stats *
unix_stats(const struct input *in)
{
	const struct unixin *u = in->be;

	return &u->stats;
}

const struct input_ops input_unix_ops = {
	.name = "unix",
	.start = unix_start,
	.close = unix_close,
	.stats = unix_stats,
};
