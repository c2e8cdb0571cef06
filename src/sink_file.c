/*
 * sink_file: appends alert lines to a file (and to standard output when
 * that is a regular file or a character device such as /dev/null).
 *
 * The backend owns the descriptor and two requests, one for open and
 * close, one for the write in flight; all file I/O goes through the
 * libuv thread pool, so a slow disk never stalls the loop.  A thread-pool
 * round trip costs far more than writing one line, so each write takes a
 * batch (ops->writev): every line waiting, within the batch's bounds, in
 * one writev().  The file is
 * opened O_WRONLY|O_APPEND|O_CREAT, mode 0640 (less the umask); an open
 * that fails is retried with backoff by sink.c.  sink_reopen() (SIGHUP)
 * closes the descriptor and opens the path again, which is what
 * logrotate's create mode expects: lines written before the signal are
 * in the renamed file, lines after it in the new one, none lost.
 *
 * Invariants:
 * - the descriptor is closed only when no request is in flight, so a
 *   write never lands in a descriptor reused by someone else;
 * - a batch is finished before anything else happens to the file: a
 *   short write is followed by the rest even when a reopen or close is
 *   pending, so lines never interleave.  After a failed write, the retry
 *   writes only the part of the batch the file does not have yet; after a
 *   reopen it writes to the new file from the start of the line that was
 *   torn (the old one keeps that torn last line, which a reader of NDJSON
 *   skips; the lines before it are not written twice).
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "sink_int.h"
#include "util.h"

struct file {
	uv_fs_t oreq;               /* the open or close in flight */
	uv_fs_t wreq;               /* the write in flight */
	bool oreq_busy;             /* oreq is in flight */
	bool wreq_busy;             /* wreq is in flight */
	bool want_close;            /* disconnect() came: close once idle */
	bool rotated;               /* a reopen came: start the line afresh */
	uv_file fd;                 /* the open file, or -1 */
	const struct sink_line *wp; /* the batch being written (the sink's
			  * cur), or NULL */
	size_t wn;                  /* its lines */
	size_t wlen;                /* its bytes */
	size_t woff;                /* bytes of it the file has */
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
		/* The new file gets the torn line whole, not what the old
		 * one has in full. */
		size_t at = 0;
		f->rotated = false;
		for (const struct sink_line *l = f->wp;
		     l != NULL && at + l->len <= f->woff; l = l->next)
			at += l->len;
		f->woff = at;
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
		       O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640,
		       open_cb);
	if (r < 0) {
		uv_fs_req_cleanup(&f->oreq);
		sink_fail(s, "open", r);
		return;
	}
	f->oreq_busy = true;
}

/* Starts writing what is left of the batch; returns 0 or a libuv error. */
static int
issue(struct sink *s)
{
	struct file *f = s->be;
	uv_buf_t b[SINK_BATCH_LINES];
	unsigned nb = 0;
	size_t at = 0;
	int r;

	/* uv_fs_write() copies the array, not the bytes. */
	for (const struct sink_line *l = f->wp; l != NULL; l = l->next) {
		assert(nb < SINK_BATCH_LINES);
		if (at + l->len > f->woff) {
			size_t skip = f->woff > at ? f->woff - at : 0;
			b[nb++] = uv_buf_init((char *)l->data + skip,
					      (unsigned)(l->len - skip));
		}
		at += l->len;
	}
	assert(at == f->wlen && nb > 0);
	f->wreq.data = s;
	r = uv_fs_write(s->loop, &f->wreq, f->fd, b, nb, -1, write_cb);
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
			/* Short write: the rest of the batch goes first. */
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
file_writev(struct sink *s, const struct sink_line *first, size_t n)
{
	struct file *f = s->be;
	int r;

	/* The same batch again after a failure resumes where it stopped;
	 * the sink keeps a batch whole until it is written. */
	if (first != f->wp || n != f->wn) {
		f->wp = first;
		f->wn = n;
		f->wlen = 0;
		for (const struct sink_line *l = first; l != NULL; l = l->next)
			f->wlen += l->len;
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
    .writev = file_writev,
    .reopen = file_reopen,
    .disconnect = file_disconnect,
    .free = file_free,
};
