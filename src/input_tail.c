/*
 * input_tail: follows the files that glob patterns name.
 *
 * Owns, per input: the followed files (struct tfile: descriptor, offset,
 * framer), one inotify watch (uv_fs_event_t) per distinct directory of
 * the patterns, a rescan timer, a poll timer and the work idle handle,
 * and one read buffer shared by all files.
 *
 * Wake-ups.  A directory event names the file it is about: a change
 * marks that file pending; a create, delete or rename asks for a rescan
 * and a check of every file.  Every rescan_ms the patterns are globbed
 * again (a watch that failed, or whose directory was replaced, is
 * restarted then), and every poll_ms each followed file is stat'ed,
 * because some filesystems send no events at all.  Nothing reads in
 * those callbacks: they set flags and start the work handle.
 *
 * Fairness.  The work handle (uv_idle_t, active only while something is
 * pending) reads at most FILE_CHUNK bytes from each pending file per
 * pass and at most PASS_BUDGET bytes in all, starting where the last
 * pass stopped, then returns to the loop, so one huge file delays the
 * others (and the sockets) by one chunk at most.  Detached (rotated)
 * files are served first in each pass, the least recently written
 * first, each as far as the pass budget goes: their lines are the older
 * ones.
 *
 * Identity and rotation.  A file is known by (dev, inode), not by name,
 * so a rename never makes it read twice.  When its path no longer names
 * it (renamed away, deleted, replaced) it is detached: it is still read,
 * since writers may hold it open and reopen their log late, and a file
 * that appears at the path meanwhile is followed at once, from offset
 * 0, both being read.  A detached file is closed once it has not grown
 * for close_inactive (a rotation): its last line is finished first.  At
 * most MAX_DETACHED detached files stay open; past that the one idle the
 * longest is closed at its end, counted (closed_early) and logged.
 *
 * Truncation.  A file smaller than its offset was truncated in place
 * (copytruncate).  So was one whose bytes just before the offset are no
 * longer those read there (truncated and written past the old offset
 * before we looked): each file keeps the last INPUT_POSITION_HASH_MAX
 * bytes it read and compares them with the file before it reads on.
 * Either way its held partial line is dropped and counted, and it is
 * read again from 0.
 *
 * Start.  Files matched by the scan in input_start() start at their end
 * when start_at is end (at the start of their last, unfinished line, if
 * any, so that line is read whole once finished) and at 0 otherwise;
 * files found by later scans are new and start at 0.  A file of the
 * first scan that input_set_resume() listed by (dev, inode) starts at its
 * saved offset instead, if the file is at least that long and the bytes
 * before the offset still hash to the saved value.  After a restart
 * (input_set_resume() was called) start_at no longer applies: a file
 * that is not resumed starts at 0 if it changed (mtime or ctime) since
 * the positions were taken, less a margin, or if that time is unknown,
 * and at its end if it did not.  A listed file that no pattern matches
 * any more but that is still in a pattern's directory (rotated while the
 * daemon was down) is found there by its (dev, inode) and read on from
 * its saved offset as a detached file.  So is, from 0, one that is not
 * listed but bears a rotated name (a name the pattern matches, then
 * ".", "-" or "_" and more, not compressed) and was written since the
 * positions were taken: created after the last checkpoint and rotated
 * away before the restart.  Resumes and refusals are logged, not
 * rate-limited: it happens once per listed file, at most
 * INPUT_MAX_RESUME times.

 * Positions.  Each file keeps, besides the offset it reads at, the
 * committed offset (done): the end of the last line read, so every line
 * before it has been passed to the framer, and so to the engine.  It is
 * the offset less the framer's held partial line, and also right while
 * the framer skips an over-long line, which it holds none of.  The
 * positions op reports it for every open file, detached ones included,
 * with a hash of the bytes before it read at that moment.
 *
 * Invariants: nfiles <= MAX_FILES, counting detached files; tail_len <=
 * min(off, INPUT_POSITION_HASH_MAX) and tail holds the bytes just before
 * off; a dead file
 * (fd == -1) is removed from files[] only by sweep(), outside the read
 * loop; the tail's handles are freed only by their close callbacks, and
 * the files and buffers only after the last of those has run.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <glob.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "input_int.h"
#include "util.h"

#define MAX_FILES INPUT_MAX_FILES /* files followed at once, at most */
#define READ_BUF (64 * 1024)      /* bytes per read(2) */
#define FILE_CHUNK (256 * 1024)   /* bytes from one file per work pass */
#define PASS_BUDGET (1024 * 1024) /* bytes from all files per work pass */
#define MAX_DETACHED 64           /* detached files kept open, at most */
#define RESTART_MARGIN_MS 2000    /* clock slack for "changed since" */

/* One input reports at most MAX_FILES positions: all can be resumed. */
_Static_assert(MAX_FILES <= INPUT_MAX_RESUME, "resume cap below MAX_FILES");

struct tail;

struct watch {
	uv_fs_event_t h; /* inotify watch on dir */
	struct tail *t;  /* owner */
	char *dir;       /* the directory watched, as the pattern spells it */
	dev_t dev;       /* the directory's identity when the watch started */
	ino_t ino;       /* likewise */
	bool active;     /* started, and dir still named that directory */
};

struct tfile {
	char *path;            /* the name it was found under */
	const char *base;      /* last component of path, inside path */
	struct watch *w;       /* watch on its directory, or NULL */
	dev_t dev;             /* identity: device */
	ino_t ino;             /* identity: inode */
	int fd;                /* open descriptor; -1 once closed (dead) */
	uint64_t off;          /* next byte to read */
	uint64_t done;         /* committed: end of the last line read */
	struct framer *fr;     /* lines of this file only */
	uint64_t active_ms;    /* loop time it last grew, or was detached */
	struct timespec mtime; /* st_mtim at the last look */
	char tail[INPUT_POSITION_HASH_MAX]; /* the bytes just before off */
	uint32_t tail_len;                  /* how many of them are known */
	bool pending;  /* may have bytes to read (or to check) */
	bool detached; /* its path no longer names it */
	bool evict;    /* detached past MAX_DETACHED: close at its end */
	uint64_t pass; /* the last work pass that served it first */
};

struct tail {
	struct input *in;            /* owner */
	struct input_stats stats;    /* this input's counters */
	uv_timer_t rescan;           /* glob again every rescan_ms */
	uv_timer_t poll;             /* stat every file every poll_ms */
	uv_idle_t work;              /* reads; active while work is pending */
	struct watch **watches;      /* one per distinct pattern directory */
	size_t nwatches;             /* entries in watches */
	struct watch **pat_watch;    /* per pattern: its watch, or NULL */
	struct tfile **files;        /* followed files, attached or detached */
	size_t nfiles;               /* entries in files, <= MAX_FILES */
	size_t capfiles;             /* entries allocated */
	size_t rr;                   /* where the next work pass starts */
	uint64_t pass;               /* work passes so far */
	char *buf;                   /* READ_BUF bytes, for every file */
	unsigned nhandles;           /* handles initialised, not yet closed */
	bool need_scan;              /* glob before the next reads */
	bool need_check;             /* stat every file before the next reads */
	bool closing;                /* the close op ran */
	uint64_t refused;            /* matches not followed: MAX_FILES */
	size_t ndetached;            /* open files with detached set */
	struct log_ratelimit rl_err; /* open, stat, read and glob failures */
	struct log_ratelimit rl_ev;  /* rotations, truncations, new files */
};

static void work_cb(uv_idle_t *h);
static void
fs_event_cb(uv_fs_event_t *h, const char *filename, int events, int status);

static uint64_t
now_ms(struct tail *t)
{
	return uv_now(t->in->loop);
}

static void
kick(struct tail *t)
{
	if (!t->closing && !uv_is_active((uv_handle_t *)&t->work))
		uv_idle_start(&t->work, work_cb);
}

/* The directory part of a pattern: "." when there is none. */
static char *
dir_of(const char *pattern)
{
	const char *slash = strrchr(pattern, '/');

	if (slash == NULL)
		return xstrdup(".");
	if (slash == pattern)
		return xstrdup("/");
	return xstrndup(pattern, (size_t)(slash - pattern));
}

static const char *
base_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash != NULL ? slash + 1 : path;
}

static struct tfile *
find_ino(struct tail *t, dev_t dev, ino_t ino)
{
	for (size_t i = 0; i < t->nfiles; i++) {
		struct tfile *tf = t->files[i];
		if (tf->fd >= 0 && tf->dev == dev && tf->ino == ino)
			return tf;
	}
	return NULL;
}

/* The attached file at path. */
static struct tfile *
find_path(struct tail *t, const char *path)
{
	for (size_t i = 0; i < t->nfiles; i++) {
		struct tfile *tf = t->files[i];
		if (tf->fd >= 0 && !tf->detached && strcmp(tf->path, path) == 0)
			return tf;
	}
	return NULL;
}

/*
 * Keeps at most MAX_DETACHED detached files open: the one idle the
 * longest, not yet marked, is closed once read to its end.
 */
static void
bound_detached(struct tail *t)
{
	struct tfile *oldest = NULL;
	size_t marked = 0;

	for (size_t i = 0; i < t->nfiles; i++) {
		struct tfile *tf = t->files[i];
		if (tf->fd < 0 || !tf->detached)
			continue;
		if (tf->evict)
			marked++;
		else if (oldest == NULL || tf->active_ms < oldest->active_ms)
			oldest = tf;
	}
	if (t->ndetached - marked <= MAX_DETACHED || oldest == NULL)
		return;
	oldest->evict = true;
	oldest->pending = true;
}

/* Its path no longer names tf: keep reading it while it grows. */
static void
detach(struct tail *t, struct tfile *tf, const char *why)
{
	tf->detached = true;
	t->ndetached++;
	tf->active_ms = now_ms(t);
	tf->pending = true;
	t->need_scan = true;
	if (input_log_ok(&t->rl_ev))
		log_info("%s inode=%ju: %s; still read until idle for %jd ms",
			 tf->path, (uintmax_t)tf->ino, why,
			 (intmax_t)t->in->ic.close_inactive_ms);
	bound_detached(t);
	kick(t);
}

/* A detached file is read to its end: finish its last line, close it. */
static void
retire(struct tail *t, struct tfile *tf)
{
	framer_finish(tf->fr);
	t->stats.rotations++;
	if (tf->evict) {
		t->stats.closed_early++;
		if (input_log_ok(&t->rl_ev))
			log_warnx(
			    "%s inode=%ju: closed at offset %ju before "
			    "close_inactive: %d rotated files already open "
			    "(%ju closed early so far)",
			    tf->path, (uintmax_t)tf->ino, (uintmax_t)tf->off,
			    MAX_DETACHED, (uintmax_t)t->stats.closed_early);
	} else if (input_log_ok(&t->rl_ev)) {
		log_info("%s inode=%ju: rotated; idle, closed at offset %ju",
			 tf->path, (uintmax_t)tf->ino, (uintmax_t)tf->off);
	}
	close(tf->fd);
	tf->fd = -1;
	tf->pending = false;
	t->ndetached--;
}

/*
 * The file was truncated in place (shorter than the offset, or other
 * bytes before it): read it again from the start.
 */
static void
truncated(struct tail *t, struct tfile *tf, uint64_t size, bool rewritten)
{
	if (framer_pending(tf->fr) > 0)
		t->stats.partial_dropped++;
	framer_reset(tf->fr);
	t->stats.truncations++;
	if (input_log_ok(&t->rl_ev)) {
		if (rewritten)
			log_info(
			    "%s inode=%ju: the bytes before offset %ju "
			    "changed (truncated and written again); reading "
			    "from the start",
			    tf->path, (uintmax_t)tf->ino, (uintmax_t)tf->off);
		else
			log_info("%s inode=%ju: truncated to %ju bytes below "
				 "offset %ju; reading from the start",
				 tf->path, (uintmax_t)tf->ino, (uintmax_t)size,
				 (uintmax_t)tf->off);
	}
	tf->off = 0;
	tf->done = 0;
	tf->tail_len = 0;
	tf->active_ms = now_ms(t);
	tf->pending = true;
	kick(t);
}

static bool
is_same_time(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec;
}

static bool
is_older(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec ||
	       (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

/*
 * Stats one file: notices growth, truncation, a changed mtime, a path
 * that names another file or none, and closes a detached file that has
 * been idle for close_inactive.
 */
static void
check_file(struct tail *t, struct tfile *tf)
{
	struct stat st, pst;
	uint64_t size;
	bool changed;

	if (fstat(tf->fd, &st) != 0) {
		t->stats.open_errors++;
		if (input_log_ok(&t->rl_err))
			log_warn("%s inode=%ju: fstat", tf->path,
				 (uintmax_t)tf->ino);
		return;
	}
	if (!tf->detached) {
		if (stat(tf->path, &pst) != 0) {
			if (errno == ENOENT || errno == ENOTDIR)
				detach(t, tf, "removed or renamed");
		} else if (pst.st_dev != tf->dev || pst.st_ino != tf->ino) {
			detach(t, tf, "replaced by another file");
		}
	}
	size = (uint64_t)st.st_size;
	changed = !is_same_time(&st.st_mtim, &tf->mtime);
	tf->mtime = st.st_mtim;
	if (size < tf->off) {
		truncated(t, tf, size, false);
	} else if (size > tf->off || changed) {
		/* read_file() checks the bytes before the offset first. */
		tf->pending = true;
		kick(t);
	} else if (tf->detached && !tf->pending &&
		   (tf->evict || now_ms(t) - tf->active_ms >=
				     (uint64_t)t->in->ic.close_inactive_ms)) {
		retire(t, tf);
	}
}

static void
check_all(struct tail *t)
{
	for (size_t i = 0; i < t->nfiles; i++)
		if (t->files[i]->fd >= 0)
			check_file(t, t->files[i]);
}

/* Appends the n bytes at p to the bytes kept from before tf->off. */
static void
keep_tail(struct tfile *tf, const char *p, size_t n)
{
	size_t max = sizeof(tf->tail), keep;

	if (n >= max) {
		memcpy(tf->tail, p + n - max, max);
		tf->tail_len = (uint32_t)max;
		return;
	}
	keep = tf->tail_len + n > max ? max - n : tf->tail_len;
	memmove(tf->tail, tf->tail + tf->tail_len - keep, keep);
	memcpy(tf->tail + keep, p, n);
	tf->tail_len = (uint32_t)(keep + n);
}

/*
 * Returns true if the bytes of the file just before tf->off are still
 * those read there, or if none are known; false if they differ or can no
 * longer all be read (the file is shorter).
 */
static bool
is_tail_same(struct tfile *tf)
{
	char b[INPUT_POSITION_HASH_MAX];
	ssize_t r;

	if (tf->tail_len == 0)
		return true;
	do
		r = pread(tf->fd, b, tf->tail_len,
			  (off_t)(tf->off - tf->tail_len));
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return true; /* a read error is the read's to report */
	return (size_t)r == tf->tail_len &&
	       memcmp(b, tf->tail, tf->tail_len) == 0;
}

/* Fills tf->tail from the file, for a file that starts past 0. */
static void
load_tail(struct tfile *tf)
{
	uint32_t len = tf->off < INPUT_POSITION_HASH_MAX
			   ? (uint32_t)tf->off
			   : INPUT_POSITION_HASH_MAX;
	ssize_t r;

	tf->tail_len = 0;
	if (len == 0)
		return;
	do
		r = pread(tf->fd, tf->tail, len, (off_t)(tf->off - len));
	while (r < 0 && errno == EINTR);
	if (r == (ssize_t)len)
		tf->tail_len = len;
}

/*
 * Where to start a file found at startup with start_at: end: after its
 * last newline, so an unfinished last line is read whole later.  With no
 * newline in the last READ_BUF bytes, at its end.
 */
static uint64_t
start_offset(struct tail *t, int fd, uint64_t size)
{
	size_t n = size < READ_BUF ? (size_t)size : READ_BUF;
	ssize_t r = pread(fd, t->buf, n, (off_t)(size - n));

	if (r != (ssize_t)n)
		return size;
	for (size_t i = n; i > 0; i--)
		if (t->buf[i - 1] == '\n')
			return size - n + i;
	return n == size ? 0 : size;
}

/*
 * Hashes the len bytes of fd just before off (len <= off) into *hash, or
 * sets it to 0 when len is 0.  Returns 0, or -1 if they cannot all be
 * read: errno says why, or is 0 when the file has become shorter.
 */
static int
hash_before(int fd, uint64_t off, uint32_t len, uint64_t *hash)
{
	char b[INPUT_POSITION_HASH_MAX];
	ssize_t r;

	*hash = 0;
	if (len == 0)
		return 0;
	if (len > sizeof(b) || len > off) {
		errno = EINVAL;
		return -1;
	}
	do
		r = pread(fd, b, len, (off_t)(off - len));
	while (r < 0 && errno == EINTR);
	if (r != (ssize_t)len) {
		if (r >= 0)
			errno = 0;
		return -1;
	}
	*hash = XXH3_64bits(b, len);
	return 0;
}

/*
 * Whether a file of the start scan that is not resumed starts at its end.
 * On a first start start_at says.  After a restart, a file that changed
 * since the positions were taken (or at an unknown time) is one the
 * last run never read, or not all of: from 0; one that did not was read
 * whole before, or is of no interest: at its end.
 */
static bool
is_start_at_end(struct tail *t, const struct stat *st)
{
	int64_t since = t->in->resume_saved_ms, m, c;

	if (!t->in->restarted)
		return t->in->ic.start_at_end;
	if (since <= 0)
		return false;
	m = (int64_t)st->st_mtim.tv_sec * 1000 + st->st_mtim.tv_nsec / 1000000;
	c = (int64_t)st->st_ctim.tv_sec * 1000 + st->st_ctim.tv_nsec / 1000000;
	since -= RESTART_MARGIN_MS + t->in->ic.rescan_ms;
	return m < since && c < since;
}

/*
 * A file of the start scan: if input_set_resume() listed it and it still
 * holds the bytes hashed before the saved offset, sets *off to that
 * offset and returns 0.  Returns -1 if it is not listed, or if it fails a
 * check (logged); it then starts as is_start_at_end() says.
 */
static int
resume_at(struct tail *t, const char *path, int fd, const struct stat *st,
	  uint64_t *off)
{
	const struct input_position *p;
	const char *why = NULL;
	char err[128];
	uint64_t h;

	p = input_resume_find(t->in, (uint64_t)st->st_dev,
			      (uint64_t)st->st_ino);
	if (p == NULL)
		return -1;
	if (p->tail_len > INPUT_POSITION_HASH_MAX || p->tail_len > p->offset ||
	    (p->tail_len == 0) != (p->offset == 0)) {
		why = "the saved position is malformed";
	} else if ((uint64_t)st->st_size < p->offset) {
		why = "the file is shorter than that";
	} else if (hash_before(fd, p->offset, p->tail_len, &h) != 0) {
		snprintf(err, sizeof(err),
			 "the bytes before it cannot be "
			 "read (%s)",
			 errno != 0 ? strerror(errno) : "short read");
		why = err;
	} else if (h != p->tail_hash) {
		why = "the bytes before it differ (another file, or rewritten)";
	}
	if (why != NULL) {
		log_warnx("%s inode=%ju: not resumed at %ju: %s; reading from "
			  "the %s",
			  path, (uintmax_t)st->st_ino, (uintmax_t)p->offset,
			  why, is_start_at_end(t, st) ? "end" : "start");
		return -1;
	}
	log_info("resuming %s inode=%ju at %ju", path, (uintmax_t)st->st_ino,
		 (uintmax_t)p->offset);
	*off = p->offset;
	return 0;
}

static void
add_file(struct tail *t, struct tfile *tf)
{
	if (t->nfiles == t->capfiles) {
		t->capfiles = t->capfiles ? t->capfiles * 2 : 16;
		t->files =
		    xreallocarray(t->files, t->capfiles, sizeof(*t->files));
	}
	t->files[t->nfiles++] = tf;
}

/*
 * Opens a file that matched a pattern and is not followed yet.  Returns
 * it, or NULL if it could not be opened (counted, logged).
 */
static struct tfile *
open_file(struct tail *t, const char *path, struct watch *w,
	  const struct stat *seen, bool initial)
{
	struct tfile *tf;
	struct stat st;
	bool resumed = false;
	int fd;

	if (t->nfiles >= MAX_FILES) {
		t->stats.open_errors++;
		t->refused++;
		if (input_log_ok(&t->rl_err))
			log_warnx("%s inode=%ju: not followed: already "
				  "following %d files (%ju refused so far)",
				  path, (uintmax_t)seen->st_ino, MAX_FILES,
				  (uintmax_t)t->refused);
		return NULL;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		t->stats.open_errors++;
		if (input_log_ok(&t->rl_err))
			log_warn("%s inode=%ju: open (retried at the next "
				 "rescan)",
				 path, (uintmax_t)seen->st_ino);
		return NULL;
	}
	/* The path may have changed between stat and open. */
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    find_ino(t, st.st_dev, st.st_ino) != NULL) {
		close(fd);
		return NULL;
	}
	tf = xcalloc(1, sizeof(*tf));
	tf->path = xstrdup(path);
	tf->base = base_of(tf->path);
	tf->w = w;
	tf->dev = st.st_dev;
	tf->ino = st.st_ino;
	tf->fd = fd;
	tf->fr = input_framer(t->in);
	tf->active_ms = now_ms(t);
	tf->mtime = st.st_mtim;
	tf->pending = true;
	if (initial && resume_at(t, path, fd, &st, &tf->off) == 0)
		resumed = true;
	else if (initial && is_start_at_end(t, &st))
		tf->off = start_offset(t, fd, (uint64_t)st.st_size);
	tf->done = tf->off;
	load_tail(tf);
	add_file(t, tf);
	t->stats.files_opened++;
	if (!resumed && input_log_ok(&t->rl_ev))
		log_info("%s inode=%ju: following from offset %ju", path,
			 (uintmax_t)tf->ino, (uintmax_t)tf->off);
	kick(t);
	return tf;
}

/* A detached file matched a pattern again, under path. */
static void
reattach(struct tail *t, struct tfile *tf, const char *path, struct watch *w)
{
	if (strcmp(tf->path, path) != 0) {
		if (input_log_ok(&t->rl_ev))
			log_info("%s inode=%ju: now named %s; still followed",
				 tf->path, (uintmax_t)tf->ino, path);
		free(tf->path);
		tf->path = xstrdup(path);
		tf->base = base_of(tf->path);
		tf->w = w;
	}
	tf->detached = false;
	tf->evict = false;
	t->ndetached--;
	tf->pending = true;
	kick(t);
}

static void
consider(struct tail *t, const char *path, struct watch *w, bool initial)
{
	struct tfile *tf;
	struct stat st;

	if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
		return;
	tf = find_ino(t, st.st_dev, st.st_ino);
	if (tf != NULL) {
		if (tf->detached)
			reattach(t, tf, path, w);
		return;
	}
	tf = find_path(t, path);
	if (tf != NULL)
		detach(t, tf, "replaced by another file");
	(void)open_file(t, path, w, &st, initial);
}

/*
 * Whether name, in w's directory, is the rotated name of a file one of
 * the patterns matches (that name, then '.', '-' or '_' and a suffix),
 * not compressed, and written since the positions were taken.  Only
 * mtime counts: renaming sets ctime, and rotation renames old files.
 */
static bool
is_fresh_rotated(struct tail *t, struct watch *w, const char *name,
		 const struct stat *st)
{
	static const char *const packed[] = {".gz",  ".bz2", ".xz", ".zst",
					     ".lz4", ".Z",   ".zip"};
	const struct strlist *pats = &t->in->ic.paths;
	int64_t since = t->in->resume_saved_ms, m;
	size_t len = strlen(name);

	if (since <= 0)
		return false;
	m = (int64_t)st->st_mtim.tv_sec * 1000 + st->st_mtim.tv_nsec / 1000000;
	if (m < since - RESTART_MARGIN_MS - t->in->ic.rescan_ms)
		return false;
	for (size_t i = 0; i < sizeof(packed) / sizeof(*packed); i++) {
		size_t n = strlen(packed[i]);
		if (len > n && strcmp(name + len - n, packed[i]) == 0)
			return false;
	}
	for (size_t i = 0; i < pats->n; i++) {
		const char *bp = base_of(pats->v[i]);
		char *prefix;
		bool ok = false;

		if (t->pat_watch[i] != w)
			continue;
		prefix = xstrdup(name);
		for (size_t k = 1; k < len && !ok; k++) {
			if (name[k] != '.' && name[k] != '-' && name[k] != '_')
				continue;
			prefix[k] = '\0';
			ok = fnmatch(bp, prefix, FNM_PERIOD) == 0;
			prefix[k] = name[k];
		}
		free(prefix);
		if (ok)
			return true;
	}
	return false;
}

/*
 * After a restart: the files the positions list that the start scan did
 * not find but that are still in a pattern's directory under another
 * name (rotated while the daemon was down), and the unlisted ones
 * is_fresh_rotated() accepts.  Each is read on from its saved offset, or
 * from 0, detached, and closed once idle like any rotated file.
 */
static void
adopt_renamed(struct tail *t)
{
	for (size_t i = 0; i < t->nwatches; i++) {
		struct watch *w = t->watches[i];
		DIR *dir = opendir(w->dir);
		struct dirent *de;

		if (dir == NULL)
			continue;
		while ((de = readdir(dir)) != NULL) {
			struct tfile *tf;
			struct stat st;
			char *path;

			if (strcmp(de->d_name, ".") == 0 ||
			    strcmp(de->d_name, "..") == 0)
				continue;
			path = xmalloc(strlen(w->dir) + strlen(de->d_name) + 2);
			sprintf(path, "%s/%s", w->dir, de->d_name);
			if (stat(path, &st) != 0 || !S_ISREG(st.st_mode) ||
			    find_ino(t, st.st_dev, st.st_ino) != NULL ||
			    (input_resume_find(t->in, (uint64_t)st.st_dev,
					       (uint64_t)st.st_ino) == NULL &&
			     !is_fresh_rotated(t, w, de->d_name, &st))) {
				free(path);
				continue;
			}
			tf = open_file(t, path, w, &st, true);
			if (tf != NULL) {
				log_info("%s inode=%ju: renamed while stopped; "
					 "read as a rotated file",
					 path, (uintmax_t)tf->ino);
				tf->detached = true;
				t->ndetached++;
				bound_detached(t);
			}
			free(path);
		}
		closedir(dir);
	}
}

/* Starts, or restarts, the watch on a directory that is (again) there. */
static void
watch_start(struct tail *t, struct watch *w)
{
	struct stat st;
	int r;

	if (stat(w->dir, &st) != 0) {
		if (w->active)
			uv_fs_event_stop(&w->h);
		w->active = false;
		return;
	}
	if (w->active && st.st_dev == w->dev && st.st_ino == w->ino)
		return;
	if (w->active)
		uv_fs_event_stop(&w->h);
	w->active = false;
	r = uv_fs_event_start(&w->h, fs_event_cb, w->dir, 0);
	if (r != 0) {
		if (input_log_ok(&t->rl_err))
			log_warnx("%s inode=%ju: cannot watch the directory "
				  "(%s); polling it every %jd ms",
				  w->dir, (uintmax_t)st.st_ino, uv_strerror(r),
				  (intmax_t)t->in->ic.poll_ms);
		return;
	}
	w->active = true;
	w->dev = st.st_dev;
	w->ino = st.st_ino;
}

static void
scan(struct tail *t, bool initial)
{
	const struct strlist *pats = &t->in->ic.paths;

	for (size_t i = 0; i < t->nwatches; i++)
		watch_start(t, t->watches[i]);
	for (size_t i = 0; i < pats->n; i++) {
		glob_t g;
		int r;

		memset(&g, 0, sizeof(g));
		r = glob(pats->v[i], 0, NULL, &g);
		if (r == 0) {
			for (size_t j = 0; j < g.gl_pathc; j++)
				consider(t, g.gl_pathv[j], t->pat_watch[i],
					 initial);
		} else if (r != GLOB_NOMATCH) {
			if (input_log_ok(&t->rl_err))
				log_warnx("%s: glob failed (%s)", pats->v[i],
					  r == GLOB_NOSPACE ? "out of memory"
							    : "read error");
		}
		globfree(&g);
	}
}

/* Removes the closed files from files[]; never during the read loop. */
static void
sweep(struct tail *t)
{
	size_t j = 0;

	for (size_t i = 0; i < t->nfiles; i++) {
		struct tfile *tf = t->files[i];
		if (tf->fd >= 0) {
			t->files[j++] = tf;
			continue;
		}
		framer_free(tf->fr);
		free(tf->path);
		free(tf);
	}
	t->nfiles = j;
	if (t->rr >= j)
		t->rr = 0;
}

/* read(2) returned 0: truncated, drained, or just caught up. */
static void
at_eof(struct tail *t, struct tfile *tf)
{
	struct stat st;

	if (fstat(tf->fd, &st) == 0 && (uint64_t)st.st_size < tf->off) {
		truncated(t, tf, (uint64_t)st.st_size, false);
		return;
	}
	tf->pending = false;
	if (tf->detached && tf->evict)
		retire(t, tf);
}

/* Reads at most limit bytes of tf; returns the bytes read. */
static size_t
read_file(struct tail *t, struct tfile *tf, size_t limit)
{
	size_t got = 0;

	if (!is_tail_same(tf)) {
		struct stat st;

		if (fstat(tf->fd, &st) == 0 && (uint64_t)st.st_size < tf->off)
			truncated(t, tf, (uint64_t)st.st_size, false);
		else
			truncated(t, tf, 0, true);
	}
	while (got < limit && !t->closing) {
		size_t want = limit - got < READ_BUF ? limit - got : READ_BUF;
		ssize_t r = pread(tf->fd, t->buf, want, (off_t)tf->off);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			t->stats.open_errors++;
			if (input_log_ok(&t->rl_err))
				log_warn("%s inode=%ju: read at offset %ju "
					 "(retried at the next poll)",
					 tf->path, (uintmax_t)tf->ino,
					 (uintmax_t)tf->off);
			tf->pending = false;
			break;
		}
		if (r == 0) {
			at_eof(t, tf);
			break;
		}
		/* Every line ended in this chunk reaches the engine below. */
		for (size_t j = (size_t)r; j > 0; j--) {
			if (t->buf[j - 1] == '\n') {
				tf->done = tf->off + j;
				break;
			}
		}
		keep_tail(tf, t->buf, (size_t)r);
		tf->off += (uint64_t)r;
		tf->active_ms = now_ms(t);
		got += (size_t)r;
		input_feed(t->in, tf->fr, t->buf, (size_t)r);
	}
	return got;
}

static bool
has_work(const struct tail *t)
{
	if (t->need_scan || t->need_check)
		return true;
	for (size_t i = 0; i < t->nfiles; i++) {
		const struct tfile *tf = t->files[i];
		if (tf->fd >= 0 && tf->pending)
			return true;
	}
	return false;
}

static void
work_cb(uv_idle_t *h)
{
	struct tail *t = h->data;
	size_t budget = PASS_BUDGET, n, i;

	if (t->need_scan) {
		t->need_scan = false;
		scan(t, false);
	}
	if (t->need_check) {
		t->need_check = false;
		check_all(t);
	}
	n = t->nfiles;
	/*
	 * Detached files first, the least recently written first, each as
	 * far as the budget goes: they hold the older lines, so a reader
	 * that is behind keeps event time in order (a successor read ahead
	 * would move the watermark past the rest of its predecessor).
	 */
	t->pass++;
	while (budget > 0 && !t->closing) {
		struct tfile *old = NULL;

		for (i = 0; i < n; i++) {
			struct tfile *tf = t->files[i];
			if (tf->fd >= 0 && tf->pending && tf->detached &&
			    tf->pass != t->pass &&
			    (old == NULL || is_older(&tf->mtime, &old->mtime)))
				old = tf;
		}
		if (old == NULL)
			break;
		old->pass = t->pass;
		budget -= read_file(t, old, budget);
	}
	for (i = 0; i < n && budget > 0 && !t->closing; i++) {
		struct tfile *tf = t->files[(t->rr + i) % n];
		size_t got;

		if (tf->fd < 0 || !tf->pending || tf->detached)
			continue;
		got =
		    read_file(t, tf, budget < FILE_CHUNK ? budget : FILE_CHUNK);
		budget -= got;
	}
	if (t->closing)
		return;
	if (n > 0)
		t->rr = (t->rr + i) % n;
	sweep(t);
	if (!has_work(t))
		uv_idle_stop(h);
}

static void
rescan_cb(uv_timer_t *h)
{
	struct tail *t = h->data;

	t->need_scan = true;
	kick(t);
}

static void
poll_cb(uv_timer_t *h)
{
	struct tail *t = h->data;

	check_all(t);
	sweep(t);
}

static void
fs_event_cb(uv_fs_event_t *h, const char *filename, int events, int status)
{
	struct watch *w = h->data;
	struct tail *t = w->t;
	bool known = false;

	if (t->closing)
		return;
	if (status < 0 || filename == NULL || (events & UV_RENAME)) {
		/* Created, deleted, renamed, or we cannot tell. */
		t->need_scan = true;
		t->need_check = true;
		kick(t);
		return;
	}
	for (size_t i = 0; i < t->nfiles; i++) {
		struct tfile *tf = t->files[i];
		if (tf->fd >= 0 && tf->w == w &&
		    strcmp(tf->base, filename) == 0) {
			tf->pending = true;
			known = true;
		}
	}
	if (!known) {
		/* Maybe a detached file growing under its new name. */
		for (size_t i = 0; i < t->nfiles; i++)
			if (t->files[i]->fd >= 0 && t->files[i]->detached)
				t->files[i]->pending = true;
	}
	kick(t);
}

/* Returns the watch for a pattern's directory, or NULL if it has none. */
static struct watch *
watch_for(struct tail *t, const char *pattern)
{
	char *dir = dir_of(pattern);
	struct watch *w;

	if (strpbrk(dir, "*?[\\") != NULL) {
		/* A pattern in the directory part: rescans find new ones. */
		log_info("%s: directory is a pattern; polling only", pattern);
		free(dir);
		return NULL;
	}
	for (size_t i = 0; i < t->nwatches; i++) {
		if (strcmp(t->watches[i]->dir, dir) == 0) {
			free(dir);
			return t->watches[i];
		}
	}
	w = xcalloc(1, sizeof(*w));
	w->t = t;
	w->dir = dir;
	if (uv_fs_event_init(t->in->loop, &w->h) != 0)
		fatalx("%s: uv_fs_event_init failed", dir);
	w->h.data = w;
	t->nhandles++;
	t->watches[t->nwatches++] = w;
	return w;
}

static int
tail_start(struct input *in)
{
	struct tail *t = xcalloc(1, sizeof(*t));
	size_t np = in->ic.paths.n;

	in->be = t;
	t->in = in;
	t->buf = xmalloc(READ_BUF);
	t->watches = xcalloc(np, sizeof(*t->watches));
	t->pat_watch = xcalloc(np, sizeof(*t->pat_watch));
	/* When the conf gives no interval. */
	if (in->ic.rescan_ms <= 0)
		in->ic.rescan_ms = CONF_DEFAULT_RESCAN_MS;
	if (in->ic.poll_ms <= 0)
		in->ic.poll_ms = CONF_DEFAULT_POLL_MS;
	if (in->ic.close_inactive_ms <= 0)
		in->ic.close_inactive_ms = CONF_DEFAULT_CLOSE_INACTIVE_MS;
	uv_timer_init(in->loop, &t->rescan);
	uv_timer_init(in->loop, &t->poll);
	uv_idle_init(in->loop, &t->work);
	t->rescan.data = t->poll.data = t->work.data = t;
	t->nhandles += 3;
	for (size_t i = 0; i < np; i++)
		t->pat_watch[i] = watch_for(t, in->ic.paths.v[i]);
	scan(t, true);
	if (in->restarted)
		adopt_renamed(t);
	uv_timer_start(&t->rescan, rescan_cb, (uint64_t)in->ic.rescan_ms,
		       (uint64_t)in->ic.rescan_ms);
	uv_timer_start(&t->poll, poll_cb, (uint64_t)in->ic.poll_ms,
		       (uint64_t)in->ic.poll_ms);
	log_info("file input: %zu pattern(s), %zu file(s) followed, %zu "
		 "directory watch(es)",
		 np, t->nfiles, t->nwatches);
	return 0;
}

/* The last handle is closed: free what the tail owns, but the tail. */
static void
finish(struct tail *t)
{
	for (size_t i = 0; i < t->nfiles; i++) {
		struct tfile *tf = t->files[i];
		if (tf->fd >= 0) {
			if (framer_pending(tf->fr) > 0)
				t->stats.partial_dropped++;
			close(tf->fd);
		}
		framer_free(tf->fr);
		free(tf->path);
		free(tf);
	}
	free(t->files);
	free(t->watches);
	free(t->pat_watch);
	free(t->buf);
	t->files = NULL;
	t->nfiles = 0;
	input_closed(t->in);
}

static void
handle_close_cb(uv_handle_t *h)
{
	struct tail *t = h->data;

	if (--t->nhandles == 0)
		finish(t);
}

static void
watch_close_cb(uv_handle_t *h)
{
	struct watch *w = h->data;
	struct tail *t = w->t;

	free(w->dir);
	free(w);
	if (--t->nhandles == 0)
		finish(t);
}

static void
tail_close(struct input *in)
{
	struct tail *t = in->be;

	t->closing = true;
	uv_close((uv_handle_t *)&t->rescan, handle_close_cb);
	uv_close((uv_handle_t *)&t->poll, handle_close_cb);
	uv_close((uv_handle_t *)&t->work, handle_close_cb);
	for (size_t i = 0; i < t->nwatches; i++)
		uv_close((uv_handle_t *)&t->watches[i]->h, watch_close_cb);
}

static const struct input_stats *
tail_stats(const struct input *in)
{
	const struct tail *t = in->be;

	return &t->stats;
}

static void
tail_positions(const struct input *in, input_position_cb *cb, void *arg)
{
	struct tail *t = in->be;
	struct input_position pos;

	for (size_t i = 0; i < t->nfiles; i++) {
		struct tfile *tf = t->files[i];

		/* A closed file was retired: its last line was passed. */
		if (tf->fd < 0)
			continue;
		memset(&pos, 0, sizeof(pos));
		pos.dev = (uint64_t)tf->dev;
		pos.ino = (uint64_t)tf->ino;
		pos.offset = tf->done;
		pos.tail_len = tf->done < INPUT_POSITION_HASH_MAX
				   ? (uint32_t)tf->done
				   : INPUT_POSITION_HASH_MAX;
		if (hash_before(tf->fd, pos.offset, pos.tail_len,
				&pos.tail_hash) != 0) {
			/*
			 * Most likely truncated since it was read, which
			 * the next check notices; the next report has it.
			 */
			if (input_log_ok(&t->rl_err)) {
				if (errno != 0)
					log_warn("%s inode=%ju: position %ju "
						 "not reported: read",
						 tf->path, (uintmax_t)tf->ino,
						 (uintmax_t)pos.offset);
				else
					log_warnx("%s inode=%ju: position %ju "
						  "not reported: the file is "
						  "shorter now",
						  tf->path, (uintmax_t)tf->ino,
						  (uintmax_t)pos.offset);
			}
			continue;
		}
		cb(arg, tf->path, &pos);
	}
}

const struct input_ops input_tail_ops = {
    .name = "file",
    .start = tail_start,
    .close = tail_close,
    .stats = tail_stats,
    .positions = tail_positions,
};
