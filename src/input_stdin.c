/*
 * input_stdin: reads standard input to its end.
 *
 * Owns one handle, chosen by what fd 0 is (uv_guess_handle): a pipe or a
 * Unix socket is read as a uv_pipe_t, a terminal as a uv_tty_t, a TCP
 * socket as a uv_tcp_t; a regular file (or a character device other
 * than a terminal), which libuv cannot poll, is read with read(2) from a
 * uv_idle_t, at most FILE_CHUNK bytes per loop iteration so the other
 * inputs keep their turn.  It owns the framer and the read buffer.
 *
 * At end of input the last line, even without its newline, is passed on
 * (framer_finish) and reading stops; the handle stays open until
 * input_close().  A read error ends the input too, but a partial line is
 * then dropped and counted, since the stream broke.
 */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "input_int.h"
#include "util.h"

#define READ_BUF (64 * 1024)    /* bytes per read */
#define FILE_CHUNK (256 * 1024) /* bytes per loop iteration, regular file */

struct stdinr {
	struct input *in;         /* owner */
	struct input_stats stats; /* this input's counters */
	union {
		uv_handle_t handle; /* the common view */
		uv_stream_t stream; /* pipe, tty and tcp */
		uv_pipe_t pipe;     /* a pipe or Unix socket */
		uv_tty_t tty;       /* a terminal */
		uv_tcp_t tcp;       /* a TCP socket */
		uv_idle_t idle;     /* a regular file, read with read(2) */
	} u;                        /* the one handle in use */
	bool inited;                /* u is initialised */
	bool is_file;               /* u.idle, not a stream */
	bool ended;                 /* end of input, or an error */
	int fd;                     /* STDIN_FILENO */
	struct framer *fr;          /* the lines of standard input */
	char *buf;                  /* READ_BUF bytes */
};

static void
end(struct stdinr *s, bool ok)
{
	if (s->ended)
		return;
	s->ended = true;
	if (ok) {
		framer_finish(s->fr);
	} else {
		if (framer_pending(s->fr) > 0)
			s->stats.partial_dropped++;
		framer_reset(s->fr);
	}
	if (s->is_file)
		uv_idle_stop(&s->u.idle);
	else
		uv_read_stop(&s->u.stream);
	log_info("stdin: end of input%s", ok ? "" : " (read error)");
}

static void
alloc_cb(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	struct stdinr *s = h->data;

	buf->base = s->buf;
	buf->len = READ_BUF;
}

static void
read_cb(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
	struct stdinr *s = st->data;

	if (nread > 0) {
		input_feed(s->in, s->fr, buf->base, (size_t)nread);
	} else if (nread == UV_EOF) {
		end(s, true);
	} else if (nread < 0) {
		s->stats.open_errors++;
		log_warnx("stdin: read: %s", uv_strerror((int)nread));
		end(s, false);
	}
}

/* A regular file: one bounded batch of read(2) per loop iteration. */
static void
file_cb(uv_idle_t *h)
{
	struct stdinr *s = h->data;
	size_t got = 0;

	while (got < FILE_CHUNK && !s->ended && !s->in->closing) {
		ssize_t r = read(s->fd, s->buf, READ_BUF);

		if (r > 0) {
			got += (size_t)r;
			input_feed(s->in, s->fr, s->buf, (size_t)r);
		} else if (r == 0) {
			end(s, true);
		} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
			return; /* a non-blocking device with nothing yet */
		} else if (errno != EINTR) {
			s->stats.open_errors++;
			log_warn("stdin: read");
			end(s, false);
		}
	}
}

static int
stdin_start(struct input *in)
{
	struct stdinr *s = xcalloc(1, sizeof(*s));
	uv_handle_type type;
	int r = 0;

	in->be = s;
	s->in = in;
	s->fd = STDIN_FILENO;
	s->fr = input_framer(in);
	s->buf = xmalloc(READ_BUF);
	type = uv_guess_handle(s->fd);
	switch (type) {
	case UV_TTY:
		r = uv_tty_init(in->loop, &s->u.tty, s->fd, 1);
		s->inited = r == 0;
		break;
	case UV_NAMED_PIPE:
		r = uv_pipe_init(in->loop, &s->u.pipe, 0);
		s->inited = r == 0;
		if (r == 0)
			r = uv_pipe_open(&s->u.pipe, s->fd);
		break;
	case UV_TCP:
		r = uv_tcp_init(in->loop, &s->u.tcp);
		s->inited = r == 0;
		if (r == 0)
			r = uv_tcp_open(&s->u.tcp, s->fd);
		break;
	case UV_FILE:
		r = uv_idle_init(in->loop, &s->u.idle);
		s->inited = r == 0;
		s->is_file = true;
		break;
	default:
		log_warnx("stdin: cannot read it (%s)",
			  type == UV_UNKNOWN_HANDLE
			      ? "closed or unknown"
			      : uv_handle_type_name(type));
		return -1;
	}
	s->u.handle.data = s;
	if (r == 0) {
		if (s->is_file)
			r = uv_idle_start(&s->u.idle, file_cb);
		else
			r = uv_read_start(&s->u.stream, alloc_cb, read_cb);
	}
	if (r != 0) {
		log_warnx("stdin: %s: %s", uv_handle_type_name(type),
			  uv_strerror(r));
		return -1;
	}
	log_info("stdin: reading (%s)", uv_handle_type_name(type));
	return 0;
}

/* Frees what the reader owns, but the struct; the caller is next. */
static void
finish(struct stdinr *s)
{
	if (!s->ended && framer_pending(s->fr) > 0)
		s->stats.partial_dropped++;
	framer_free(s->fr);
	free(s->buf);
	s->fr = NULL;
	s->buf = NULL;
	input_closed(s->in);
}

static void
close_cb(uv_handle_t *h)
{
	finish(h->data);
}

static void
stdin_close(struct input *in)
{
	struct stdinr *s = in->be;

	if (s->inited)
		uv_close(&s->u.handle, close_cb);
	else
		finish(s);
}

static const struct input_stats *
stdin_stats(const struct input *in)
{
	const struct stdinr *s = in->be;

	return &s->stats;
}

const struct input_ops input_stdin_ops = {
    .name = "stdin",
    .start = stdin_start,
    .close = stdin_close,
    .stats = stdin_stats,
};
