/*
 * sink_file: appends alert lines to a file (and to standard output when
 * that is a regular file or a character device such as /dev/null).
 *
 * The backend owns the descriptor and two requests, one for open and
 * close, one for the write in flight; all file I/O goes through the
 * libuv thread pool, so a slow disk never stalls the loop.  The file is
 * opened O_WRONLY|O_APPEND|O_CREAT, mode 0640 (less the umask); an open
 * that fails is retried with backoff by sink.c.  sink_reopen() (SIGHUP)
 * closes the descriptor and opens the path again, which is what
 * logrotate's create mode expects: lines written before the signal are
 * in the renamed file, lines after it in the new one, none lost.
 *
 * Invariants:
 * - the descriptor is closed only when no request is in flight, so a
 *   write never lands in a descriptor reused by someone else;
 * - a line is finished before anything else happens to the file: a short
 *   write is followed by the rest even when a reopen or close is pending,
 *   so lines never interleave.  After a failed write, the retry writes
 *   only the part of the line the file does not have yet; after a reopen
 *   it writes the whole line to the new file (the old one keeps a torn
 *   last line, which a reader of NDJSON skips).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "sink_int.h"
#include "util.h"

struct file {
	uv_fs_t oreq;    /* the open or close in flight */
	uv_fs_t wreq;    /* the write in flight */
	bool oreq_busy;  /* oreq is in flight */
	bool wreq_busy;  /* wreq is in flight */
	bool want_close; /* disconnect() came: close once idle */
	bool rotated;    /* a reopen came: start the line afresh */
	uv_file fd;      /* the open file, or -1 */
	const char *wp;  /* the line being written (the sink's cur) */
	size_t wlen;     /* its length */
	size_t woff;     /* bytes of it the file has */
};

static void settle(struct sink *s);
static void write_cb(uv_fs_t *req);

static void
file_init(struct sink *s)
{
	struct file *f = xcalloc(1, sizeof(*f));

	f->fd = -1;
	s->be = f;
}

static void
file_free(struct sink *s)
{
	free(s->be);
	s->be = NULL;
}

static void
open_cb(uv_fs_t *req)
{
	struct sink *s = req->data;
	struct file *f = s->be;
	ssize_t r = req->result;

	uv_fs_req_cleanup(req);
	f->oreq_busy = false;
	if (r >= 0)
		f->fd = (uv_file)r;
	if (f->want_close)
		settle(s);
	else if (r < 0)
		sink_fail(s, "open", (int)r);
	else
		sink_up(s);
}

static void
file_connect(struct sink *s)
{
	struct file *f = s->be;
	int fd, r;

	if (f->rotated) {
		f->rotated = false;
		f->wp = NULL;
		f->woff = 0;
	}
	if (s->conf.type == SINK_STDOUT) {
		/* A copy, so that closing it never frees descriptor 1. */
		if ((fd = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3)) < 0) {
			sink_fail(s, "dup", uv_translate_sys_error(errno));
			return;
		}
		f->fd = fd;
		sink_up(s);
		return;
	}
	f->oreq.data = s;
	r = uv_fs_open(s->loop, &f->oreq, s->conf.path,
	    O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640, open_cb);
	if (r < 0) {
		uv_fs_req_cleanup(&f->oreq);
		sink_fail(s, "open", r);
		return;
	}
	f->oreq_busy = true;
}

/* Starts writing what is left of the line; returns 0 or a libuv error. */
static int
issue(struct sink *s)
{
	struct file *f = s->be;
	uv_buf_t b = uv_buf_init((char *)f->wp + f->woff,
	    (unsigned)(f->wlen - f->woff));
	int r;

	f->wreq.data = s;
	r = uv_fs_write(s->loop, &f->wreq, f->fd, &b, 1, -1, write_cb);
	if (r < 0) {
		uv_fs_req_cleanup(&f->wreq);
		return r;
	}
	f->wreq_busy = true;
	return 0;
}

static void
write_cb(uv_fs_t *req)
{
	struct sink *s = req->data;
	struct file *f = s->be;
	ssize_t r = req->result;
	int err;

	uv_fs_req_cleanup(req);
	f->wreq_busy = false;
	if (r == 0)
		r = UV_EIO; /* no progress: do not spin */
	if (r > 0) {
		f->woff += (size_t)r;
		if (f->woff < f->wlen) {
			/* Short write: the rest of the line goes first. */
			if ((err = issue(s)) == 0)
				return;
			r = err;
		}
	}
	if (r < 0) {
		sink_written(s, (int)r);
	} else {
		f->wp = NULL;
		f->woff = 0;
		sink_written(s, 0);
	}
	settle(s);
}

static enum sink_io
file_write(struct sink *s, const char *p, size_t len)
{
	struct file *f = s->be;
	int r;

	/* The same line again after a failure resumes where it stopped. */
	if (p != f->wp || len != f->wlen) {
		f->wp = p;
		f->wlen = len;
		f->woff = 0;
	}
	if ((r = issue(s)) < 0) {
		sink_fail(s, "write", r);
		return SINK_ERR;
	}
	return SINK_AGAIN;
}

static void
file_reopen(struct sink *s)
{
	struct file *f = s->be;

	f->rotated = true;
}

static void
close_cb(uv_fs_t *req)
{
	struct sink *s = req->data;
	struct file *f = s->be;

	if (req->result < 0)
		log_warnx("sink %s: close: %s", s->name,
		    uv_strerror((int)req->result));
	uv_fs_req_cleanup(req);
	f->oreq_busy = false;
	settle(s);
}

/* Moves a pending close on once no request is in flight. */
static void
settle(struct sink *s)
{
	struct file *f = s->be;
	uv_file fd;

	if (!f->want_close || f->oreq_busy || f->wreq_busy)
		return;
	if (f->fd >= 0) {
		fd = f->fd;
		f->fd = -1;
		f->oreq.data = s;
		if (uv_fs_close(s->loop, &f->oreq, fd, close_cb) == 0) {
			f->oreq_busy = true;
			return;
		}
		uv_fs_req_cleanup(&f->oreq);
	}
	f->want_close = false;
	sink_down(s);
}

static void
file_disconnect(struct sink *s)
{
	struct file *f = s->be;

	f->want_close = true;
	settle(s);
}

const struct sink_ops sink_ops_file = {
	.init = file_init,
	.connect = file_connect,
	.write = file_write,
	.reopen = file_reopen,
	.disconnect = file_disconnect,
	.free = file_free,
};
