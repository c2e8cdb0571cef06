/*
 * stats: a listening uv_pipe_t; per client one uv_pipe_t and one write.
 *
 * Invariants: `clients` counts client handles not yet closed; the server
 * is freed only when its own handle and every client handle have closed.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "stats.h"

struct stats_server {
	uv_pipe_t listener;       /* the socket */
	char *path;               /* its path (owned) */
	stats_render_fn *render;  /* writes a snapshot */
	void *arg;                /* passed to render */
	int clients;              /* client handles still open */
	bool closing;             /* stats_close() was called */
	bool listener_closed;     /* the listener's close_cb ran */
	stats_closed_cb *cb;      /* called once all is closed */
	void *cb_arg;             /* passed to cb */
};

struct client {
	uv_pipe_t pipe;           /* the connection; first member */
	uv_write_t req;           /* the one write */
	struct buf text;          /* the snapshot being written */
	struct stats_server *st;  /* owner */
};

static void
maybe_free(struct stats_server *st)
{
	if (!st->closing || !st->listener_closed || st->clients > 0)
		return;
	if (st->cb != NULL)
		st->cb(st->cb_arg);
	free(st->path);
	free(st);
}

static void
client_close_cb(uv_handle_t *h)
{
	struct client *c = (struct client *)h;
	struct stats_server *st = c->st;

	buf_free(&c->text);
	free(c);
	st->clients--;
	maybe_free(st);
}

static void
write_cb(uv_write_t *req, int status)
{
	struct client *c = req->data;

	if (status < 0)
		log_debug("stats %s: write: %s", c->st->path,
		    uv_strerror(status));
	uv_close((uv_handle_t *)&c->pipe, client_close_cb);
}

static void
connection_cb(uv_stream_t *server, int status)
{
	struct stats_server *st = server->data;
	struct client *c;
	uv_buf_t b;

	if (status < 0 || st->closing)
		return;
	c = xcalloc(1, sizeof(*c));
	c->st = st;
	uv_pipe_init(server->loop, &c->pipe, 0);
	st->clients++;
	if (uv_accept(server, (uv_stream_t *)&c->pipe) != 0) {
		uv_close((uv_handle_t *)&c->pipe, client_close_cb);
		return;
	}
	st->render(st->arg, &c->text);
	b = uv_buf_init(c->text.data, (unsigned)c->text.len);
	c->req.data = c;
	if (uv_write(&c->req, (uv_stream_t *)&c->pipe, &b, 1, write_cb) != 0)
		uv_close((uv_handle_t *)&c->pipe, client_close_cb);
}

/* Removes a stale socket file; refuses a live socket or another file. */
static int
clear_path(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct stat sb;
	int fd, rc;

	if (lstat(path, &sb) < 0)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISSOCK(sb.st_mode)) {
		log_warnx("stats %s: exists and is not a socket", path);
		return -1;
	}
	if (strlen(path) >= sizeof(sa.sun_path))
		return -1;
	memcpy(sa.sun_path, path, strlen(path));
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	close(fd);
	if (rc == 0) {
		log_warnx("stats %s: another process listens there", path);
		return -1;
	}
	return unlink(path);
}

static void
listener_close_cb(uv_handle_t *h)
{
	struct stats_server *st = h->data;

	st->listener_closed = true;
	maybe_free(st);
}

struct stats_server *
stats_new(uv_loop_t *loop, const char *path, stats_render_fn *render,
    void *arg)
{
	struct stats_server *st = xcalloc(1, sizeof(*st));
	int rc;

	st->path = xstrdup(path);
	st->render = render;
	st->arg = arg;
	uv_pipe_init(loop, &st->listener, 0);
	st->listener.data = st;
	if (clear_path(path) < 0) {
		log_warnx("stats %s: cannot use the path", path);
		rc = -1;
	} else if ((rc = uv_pipe_bind(&st->listener, path)) != 0 ||
	    (rc = uv_listen((uv_stream_t *)&st->listener, 16,
		 connection_cb)) != 0) {
		log_warnx("stats %s: %s", path, uv_strerror(rc));
	}
	if (rc != 0) {
		st->closing = true;
		uv_close((uv_handle_t *)&st->listener, listener_close_cb);
		return NULL;
	}
	(void)chmod(path, 0660);
	return st;
}

void
stats_close(struct stats_server *st, stats_closed_cb *cb, void *arg)
{
	st->closing = true;
	st->cb = cb;
	st->cb_arg = arg;
	(void)unlink(st->path);
	uv_close((uv_handle_t *)&st->listener, listener_close_cb);
}
