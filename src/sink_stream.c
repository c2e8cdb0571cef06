/*
 * sink_stream: the stream backends: a Unix stream socket client, a TCP
 * client (both NDJSON, one line per alert), and standard output when it
 * is a pipe, a socket or a terminal.
 *
 * The backend owns one stream handle at a time, its connect request and
 * its one write request.  A connection never outlives a failure: a failed
 * connect or write, or the peer closing (unix and tcp read, discarding
 * anything the peer says, only to notice EOF or a reset), closes the
 * handle and sink.c reconnects with backoff.  Closing the handle cancels
 * a write in flight (its callback runs with UV_ECANCELED before the
 * close callback), so the line stays at the front and goes again on the
 * next connection: delivery is at least once.  A write counts as done
 * once the kernel took the bytes; what a peer loses after that is not
 * seen here.
 *
 * Standard output is duplicated (never closed: a later open() would get
 * descriptor 1 and receive alerts) and the copy opened as a pipe, TCP or
 * terminal handle, which puts it in non-blocking mode: a full pipe never
 * blocks the loop.  Writing to a closed pipe or socket raises SIGPIPE;
 * the daemon ignores it, so the write fails with EPIPE instead.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include "sink_int.h"
#include "util.h"

struct stream {
	union {
		uv_handle_t handle;   /* for uv_close() */
		uv_stream_t stream;   /* for reads and writes */
		uv_pipe_t pipe;       /* unix; stdout on a pipe or socket */
		uv_tcp_t tcp;         /* tcp; stdout on a TCP socket */
		uv_tty_t tty;         /* stdout on a terminal */
	} u;                          /* the connection, while `open` */
	bool open;                    /* u is initialised and not yet closed */
	uv_connect_t creq;            /* the connect in flight */
	uv_write_t wreq;              /* the one write in flight */
	struct sockaddr_storage addr; /* tcp: the peer, parsed once */
	bool addr_ok;                 /* tcp: host is an address literal */
	char rbuf[256];               /* what the peer says, discarded */
};

static void
stream_init(struct sink *s)
{
	struct stream *st = xcalloc(1, sizeof(*st));

	s->be = st;
}

static void
tcp_init(struct sink *s)
{
	struct stream *st;
	const char *host = s->conf.host;

	stream_init(s);
	st = s->be;
	if (uv_ip4_addr(host, s->conf.port, (struct sockaddr_in *)&st->addr) ==
		0 ||
	    uv_ip6_addr(host, s->conf.port, (struct sockaddr_in6 *)&st->addr) ==
		0)
		st->addr_ok = true;
	else
		log_warnx("sink %s: host is not an IPv4 or IPv6 address",
			  s->name);
}

static void
stream_free(struct sink *s)
{
	free(s->be);
	s->be = NULL;
}

static void
alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct sink *s = h->data;
	struct stream *st = s->be;

	*buf = uv_buf_init(st->rbuf, sizeof(st->rbuf));
}

static void
read_cb(uv_stream_t *h, ssize_t nread, const uv_buf_t *buf)
{
	struct sink *s = h->data;

	if (nread >= 0)
		return;
	sink_fail(s, nread == UV_EOF ? "peer closed" : "read", (int)nread);
}

static void
connect_cb(uv_connect_t *req, int status)
{
	struct sink *s = req->handle->data;
	struct stream *st = s->be;
	int r;

	if (status < 0) {
		sink_fail(s, "connect", status);
		return;
	}
	if ((r = uv_read_start(&st->u.stream, alloc_cb, read_cb)) < 0) {
		sink_fail(s, "read", r);
		return;
	}
	sink_up(s);
}

static void
unix_connect(struct sink *s)
{
	struct stream *st = s->be;
	struct sockaddr_un sun;
	int r;

	if (strlen(s->conf.path) >= sizeof(sun.sun_path)) {
		sink_fail(s, "connect", UV_ENAMETOOLONG);
		return;
	}
	if ((r = uv_pipe_init(s->loop, &st->u.pipe, 0)) < 0) {
		sink_fail(s, "connect", r);
		return;
	}
	st->u.handle.data = s;
	st->open = true;
	uv_pipe_connect(&st->creq, &st->u.pipe, s->conf.path, connect_cb);
}

static void
tcp_connect(struct sink *s)
{
	struct stream *st = s->be;
	int r;

	if (!st->addr_ok) {
		sink_fail(s, "connect", UV_EINVAL);
		return;
	}
	if ((r = uv_tcp_init(s->loop, &st->u.tcp)) < 0) {
		sink_fail(s, "connect", r);
		return;
	}
	st->u.handle.data = s;
	st->open = true;
	/* Alerts are small and should not wait for Nagle. */
	(void)uv_tcp_nodelay(&st->u.tcp, 1);
	/* A peer that vanished without a reset is noticed eventually. */
	(void)uv_tcp_keepalive(&st->u.tcp, 1, 60);
	r = uv_tcp_connect(&st->creq, &st->u.tcp,
			   (const struct sockaddr *)&st->addr, connect_cb);
	if (r < 0)
		sink_fail(s, "connect", r);
}

/*
 * Opens a duplicate of descriptor 1 as a stream.  Nothing is read: the
 * descriptor may be write-only, and a reader that went away shows as
 * EPIPE on the next write.
 */
static void
stdout_connect(struct sink *s)
{
	struct stream *st = s->be;
	uv_os_fd_t ufd;
	int fd, r;

	if ((fd = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3)) < 0) {
		sink_fail(s, "dup", uv_translate_sys_error(errno));
		return;
	}
	switch (uv_guess_handle(fd)) {
	case UV_TTY:
		if ((r = uv_tty_init(s->loop, &st->u.tty, fd, 0)) < 0)
			break;
		st->open = true;
		/* uv_tty_init may switch to a reopened descriptor. */
		if (uv_fileno(&st->u.handle, &ufd) == 0 && ufd != fd)
			close(fd);
		fd = -1;
		break;
	case UV_NAMED_PIPE:
		if ((r = uv_pipe_init(s->loop, &st->u.pipe, 0)) < 0)
			break;
		st->open = true;
		if ((r = uv_pipe_open(&st->u.pipe, fd)) == 0)
			fd = -1;
		break;
	case UV_TCP:
		if ((r = uv_tcp_init(s->loop, &st->u.tcp)) < 0)
			break;
		st->open = true;
		if ((r = uv_tcp_open(&st->u.tcp, fd)) == 0)
			fd = -1;
		break;
	default:
		r = UV_EINVAL;
		break;
	}
	if (fd >= 0)
		close(fd);
	if (st->open)
		st->u.handle.data = s;
	if (r < 0)
		sink_fail(s, "open", r);
	else
		sink_up(s);
}

static void
write_cb(uv_write_t *req, int status)
{
	sink_written(req->handle->data, status);
}

static enum sink_io
stream_write(struct sink *s, const char *p, size_t len)
{
	struct stream *st = s->be;
	uv_buf_t b = uv_buf_init((char *)p, (unsigned)len);
	int r;

	if ((r = uv_write(&st->wreq, &st->u.stream, &b, 1, write_cb)) < 0) {
		sink_fail(s, "write", r);
		return SINK_ERR;
	}
	return SINK_AGAIN;
}

static void
close_cb(uv_handle_t *h)
{
	struct sink *s = h->data;
	struct stream *st = s->be;

	st->open = false;
	sink_down(s);
}

static void
stream_disconnect(struct sink *s)
{
	struct stream *st = s->be;

	if (!st->open) {
		sink_down(s);
		return;
	}
	if (!uv_is_closing(&st->u.handle))
		uv_close(&st->u.handle, close_cb);
}

const struct sink_ops sink_ops_unix = {
    .init = stream_init,
    .connect = unix_connect,
    .write = stream_write,
    .reopen = NULL,
    .disconnect = stream_disconnect,
    .free = stream_free,
};

const struct sink_ops sink_ops_tcp = {
    .init = tcp_init,
    .connect = tcp_connect,
    .write = stream_write,
    .reopen = NULL,
    .disconnect = stream_disconnect,
    .free = stream_free,
};

const struct sink_ops sink_ops_stdout = {
    .init = stream_init,
    .connect = stdout_connect,
    .write = stream_write,
    .reopen = NULL,
    .disconnect = stream_disconnect,
    .free = stream_free,
};
