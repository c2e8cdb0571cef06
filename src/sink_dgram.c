/*
 * sink_dgram: sends each alert as one datagram on a Unix datagram socket
 * connected to the configured path.
 *
 * A datagram carries one JSON document WITHOUT the trailing newline (with
 * format rfc5424, after the syslog header): the datagram boundary is the
 * framing, as with syslog over /dev/log, and a receiver that wants NDJSON
 * appends "\n" itself.
 *
 * The backend owns the socket and a poll handle on it.  send() on the
 * non-blocking socket either takes the whole datagram or fails:
 * - EAGAIN/ENOBUFS (the receiver's queue is full): the line stays in hand
 *   and the poll handle waits for the socket to become writable;
 * - EMSGSIZE (longer than any datagram the socket can carry): retrying
 *   cannot help, so the line is rejected, logged and counted (rejected);
 * - anything else, ECONNREFUSED above all (the receiver closed; a new one
 *   bound to the same path is a different socket): the socket is closed
 *   and sink.c reconnects with backoff.  A connect that finds no socket
 *   (ENOENT) or nobody bound (ECONNREFUSED) is retried the same way.
 * The line being sent when a failure hits is sent again on the next
 * socket (at least once).
 *
 * Linux refuses a Unix datagram longer than the sender's send buffer
 * (less a little), so the socket's buffer is raised to carry an alert of
 * max_alert_bytes; the kernel caps that at net.core.wmem_max, and when
 * the cap bites the sink says so once per connection and longer alerts
 * are rejected.  A datagram is charged to the sender's buffer until the
 * receiver reads it, so a buffer raised for the cap is raised to hold a
 * few such alerts, not just one.  The poll handle is closed before the socket,
 * as libuv requires.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "sink_int.h"
#include "util.h"

struct dgram {
	int fd;         /* the connected socket, or -1 */
	uv_poll_t poll; /* writability of fd, while poll_open */
	bool poll_open; /* poll is initialised and not yet closed */
	bool waiting;   /* a datagram waits for room (the write in flight) */
	const char *p;  /* that datagram (the sink's cur) */
	size_t len;     /* its length, newline excluded */
};

static void
dgram_init(struct sink *s)
{
	struct dgram *d = xcalloc(1, sizeof(*d));

	d->fd = -1;
	s->be = d;
}

static void
dgram_free(struct sink *s)
{
	free(s->be);
	s->be = NULL;
}

/*
 * Room in the send buffer for a datagram of the cap: the kernel wants
 * the datagram's length plus a little (32 bytes, rounded up here) below
 * the buffer's size.
 */
#define SNDBUF_SLACK 1024
/* Alerts of the cap a raised buffer holds unread. */
#define SNDBUF_ALERTS 4

static void
size_sndbuf(struct sink *s, int fd)
{
	size_t want = s->conf.max_alert_bytes + SNDBUF_SLACK;
	size_t ask = want * SNDBUF_ALERTS;
	int v = 0, req;
	socklen_t vl = sizeof(v);

	if (getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, &vl) == 0 && v > 0 &&
	    (size_t)v >= want)
		return;
	/* The kernel doubles what it is given (bookkeeping), up to twice
	 * net.core.wmem_max. */
	req = ask / 2 + 1 > INT_MAX ? INT_MAX : (int)(ask / 2 + 1);
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &req, sizeof(req));
	vl = sizeof(v);
	if (getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, &vl) == 0 &&
	    (v < 0 || (size_t)v < want))
		log_warnx(
		    "sink %s: send buffer %d bytes, less than "
		    "max_alert_bytes %zu needs (net.core.wmem_max); longer "
		    "alerts are rejected",
		    s->name, v, s->conf.max_alert_bytes);
}

static void
dgram_connect(struct sink *s)
{
	struct dgram *d = s->be;
	struct sockaddr_un sun;
	size_t n = strlen(s->conf.path);
	int fd, r;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (n >= sizeof(sun.sun_path)) {
		sink_fail(s, "connect", UV_ENAMETOOLONG);
		return;
	}
	memcpy(sun.sun_path, s->conf.path, n + 1);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		sink_fail(s, "socket", uv_translate_sys_error(errno));
		return;
	}
	size_sndbuf(s, fd);
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		r = uv_translate_sys_error(errno);
		close(fd);
		sink_fail(s, "connect", r);
		return;
	}
	d->fd = fd;
	if ((r = uv_poll_init(s->loop, &d->poll, fd)) < 0) {
		sink_fail(s, "poll", r);
		return;
	}
	d->poll.data = s;
	d->poll_open = true;
	sink_up(s);
}

/* Returns 0 if the datagram went, UV_EAGAIN if there is no room now. */
static int
try_send(struct dgram *d)
{
	ssize_t n;

	do
		n = send(d->fd, d->p, d->len, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n >= 0)
		return 0;
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)
		return UV_EAGAIN;
	return uv_translate_sys_error(errno);
}

static void
poll_cb(uv_poll_t *h, int status, int events)
{
	struct sink *s = h->data;
	struct dgram *d = s->be;
	int r;

	/* An error event: send() says which. */
	r = try_send(d);
	if (r == UV_EAGAIN && status == 0)
		return; /* still full: keep waiting */
	if (r == UV_EAGAIN)
		r = status;
	uv_poll_stop(h);
	d->waiting = false;
	if (r == UV_EMSGSIZE)
		sink_reject(s, "send", r);
	else
		sink_written(s, r);
}

static enum sink_io
dgram_write(struct sink *s, const char *p, size_t len)
{
	struct dgram *d = s->be;
	int r;

	if (len > 0 && p[len - 1] == '\n')
		len--;
	d->p = p;
	d->len = len;
	r = try_send(d);
	if (r == 0)
		return SINK_OK;
	if (r == UV_EAGAIN &&
	    (r = uv_poll_start(&d->poll, UV_WRITABLE, poll_cb)) == 0) {
		d->waiting = true;
		return SINK_AGAIN;
	}
	if (r == UV_EMSGSIZE)
		sink_reject(s, "send", r);
	else
		sink_fail(s, "send", r);
	return SINK_ERR;
}

static void
poll_close_cb(uv_handle_t *h)
{
	struct sink *s = h->data;
	struct dgram *d = s->be;

	d->poll_open = false;
	close(d->fd);
	d->fd = -1;
	sink_down(s);
}

static void
dgram_disconnect(struct sink *s)
{
	struct dgram *d = s->be;

	if (d->waiting) {
		/* The datagram in hand stays at the front of the queue. */
		d->waiting = false;
		sink_written(s, UV_ECANCELED);
	}
	if (d->poll_open) {
		if (!uv_is_closing((uv_handle_t *)&d->poll))
			uv_close((uv_handle_t *)&d->poll, poll_close_cb);
		return;
	}
	if (d->fd >= 0) {
		close(d->fd);
		d->fd = -1;
	}
	sink_down(s);
}

const struct sink_ops sink_ops_dgram = {
    .init = dgram_init,
    .connect = dgram_connect,
    .write = dgram_write,
    .reopen = NULL,
    .disconnect = dgram_disconnect,
    .free = dgram_free,
};
