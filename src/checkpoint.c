/*
 * checkpoint: a small binary file in host byte order (a checkpoint never
 * leaves its machine):
 *
 *   "BURSTDCK" u64 version, u64 fingerprint, u64 saved_ms, u64 gen,
 *   u64 payload length,
 *   payload, u64 XXH3 of the payload
 *
 * payload: u64 npos, per position dev ino offset tail_hash tail_len and
 * the path (u64 length, bytes); u64 nsinks, per sink the name and the
 * name of its spool file (both u64 length, bytes; the file name empty
 * when nothing waits), then the spool's u64 size and u64 XXH3; the
 * window state (u64 length, bytes).
 *
 * A spool file holds one sink's waiting lines as they are, so a reader
 * can look at it with ordinary tools.
 *
 * Version 2, still read: no gen, and each sink's lines inline (u64
 * length, bytes) in place of the spool's name, size and checksum.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include "checkpoint.h"
#include "log.h"

#define MAGIC "BURSTDCK"
#define VERSION 3
/* The version before: no generation, each sink's lines inline in the
 * payload (as bytes after its name).  Still read, so that an upgrade
 * resumes from the last checkpoint of the version before. */
#define VERSION_INLINE 2
#define SPOOL_PREFIX "pending."

void
checkpoint_add_position(struct checkpoint *cp, const char *path,
			const struct input_position *pos)
{
	cp->pos = xreallocarray(cp->pos, cp->npos + 1, sizeof(*cp->pos));
	cp->paths = xreallocarray(cp->paths, cp->npos + 1, sizeof(*cp->paths));
	cp->pos[cp->npos] = *pos;
	cp->paths[cp->npos++] = xstrdup(path);
}

struct checkpoint_sink *
checkpoint_add_sink(struct checkpoint *cp, const char *name)
{
	struct checkpoint_sink *s;

	cp->sinks =
	    xreallocarray(cp->sinks, cp->nsinks + 1, sizeof(*cp->sinks));
	s = &cp->sinks[cp->nsinks++];
	memset(s, 0, sizeof(*s));
	s->name = xstrdup(name);
	return s;
}

void
checkpoint_clear(struct checkpoint *cp)
{
	for (size_t i = 0; i < cp->npos; i++)
		free(cp->paths[i]);
	free(cp->paths);
	free(cp->pos);
	for (size_t i = 0; i < cp->nsinks; i++) {
		free(cp->sinks[i].name);
		buf_free(&cp->sinks[i].lines);
	}
	free(cp->sinks);
	buf_free(&cp->window);
	memset(cp, 0, sizeof(*cp));
}

static void
spool_name(char *dst, size_t len, uint64_t gen, size_t i)
{
	snprintf(dst, len, SPOOL_PREFIX "%" PRIu64 ".%zu", gen, i);
}

/* Bytes to write, one piece of a file. */
struct piece {
	const char *p;
	size_t len;
};

/*
 * Encodes cp as three pieces: head (the header and the payload up to the
 * window's length), the window state itself, borrowed, not copied (it
 * is most of a large checkpoint, and the writer should not need twice
 * its memory), and tail (the checksum).
 */
static void
encode(const struct checkpoint *cp, struct buf *head, struct buf *tail,
       struct piece pc[3])
{
	struct buf pl = {0};
	char name[64];
	XXH3_state_t *xs;

	buf_put_u64(&pl, cp->npos);
	for (size_t i = 0; i < cp->npos; i++) {
		const struct input_position *p = &cp->pos[i];
		buf_put_u64(&pl, p->dev);
		buf_put_u64(&pl, p->ino);
		buf_put_u64(&pl, p->offset);
		buf_put_u64(&pl, p->tail_hash);
		buf_put_u64(&pl, p->tail_len);
		buf_put_bytes(&pl, cp->paths[i], strlen(cp->paths[i]));
	}
	buf_put_u64(&pl, cp->nsinks);
	for (size_t i = 0; i < cp->nsinks; i++) {
		const struct buf *l = &cp->sinks[i].lines;
		buf_put_bytes(&pl, cp->sinks[i].name,
			      strlen(cp->sinks[i].name));
		if (l->len > 0)
			spool_name(name, sizeof(name), cp->gen, i);
		else
			name[0] = '\0';
		buf_put_bytes(&pl, name, strlen(name));
		buf_put_u64(&pl, l->len);
		buf_put_u64(&pl, XXH3_64bits(l->data, l->len));
	}
	buf_put_u64(&pl, cp->window.len);

	buf_append(head, MAGIC, 8);
	buf_put_u64(head, VERSION);
	buf_put_u64(head, cp->fingerprint);
	buf_put_u64(head, (uint64_t)cp->saved_ms);
	buf_put_u64(head, cp->gen);
	buf_put_u64(head, pl.len + cp->window.len);
	buf_append(head, pl.data, pl.len);
	if ((xs = XXH3_createState()) == NULL)
		fatalx("checkpoint: out of memory");
	XXH3_64bits_reset(xs);
	XXH3_64bits_update(xs, pl.data, pl.len);
	if (cp->window.len > 0)
		XXH3_64bits_update(xs, cp->window.data, cp->window.len);
	buf_put_u64(tail, XXH3_64bits_digest(xs));
	XXH3_freeState(xs);
	buf_free(&pl);
	pc[0] = (struct piece){head->data, head->len};
	pc[1] = (struct piece){cp->window.data, cp->window.len};
	pc[2] = (struct piece){tail->data, tail->len};
}

/* Reads all of dir/name into out.  Returns 0, or -1 with errno set. */
static int
slurp(const char *dir, const char *name, struct buf *out)
{
	char path[4096], block[65536];
	ssize_t n;
	int fd, e;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return -1;
	while ((n = read(fd, block, sizeof(block))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			e = errno;
			close(fd);
			errno = e;
			return -1;
		}
		buf_append(out, block, (size_t)n);
	}
	close(fd);
	return 0;
}

/*
 * Reads one sink's spool back; a missing or damaged one loses that
 * sink's waiting alerts only, and says so.
 */
static void
load_spool(const char *dir, struct checkpoint_sink *cs, const char *name,
	   uint64_t size, uint64_t sum)
{
	if (size == 0)
		return;
	if (slurp(dir, name, &cs->lines) < 0)
		log_warn("checkpoint %s/%s: %" PRIu64
			 " bytes of alerts waiting "
			 "for sink %s are lost",
			 dir, name, size, cs->name);
	else if (cs->lines.len != size ||
		 XXH3_64bits(cs->lines.data, cs->lines.len) != sum)
		log_warnx("checkpoint %s/%s: corrupt (size or checksum "
			  "differ from the checkpoint's); the alerts waiting "
			  "for sink %s are lost",
			  dir, name, cs->name);
	else
		return;
	buf_free(&cs->lines);
	cs->lost = true;
}

static int
decode(const char *dir, const char *data, size_t len, struct checkpoint *cp)
{
	struct cursor r, pl;
	const char *payload;
	size_t plen, n;
	uint64_t count, version;

	/* An empty file has no data at all (NULL): test before pointing. */
	if (len < 8 || memcmp(data, MAGIC, 8) != 0)
		return -1;
	r = (struct cursor){data + 8, data + len, 0};
	version = cursor_u64(&r);
	if (version != VERSION && version != VERSION_INLINE)
		return -1;
	cp->fingerprint = cursor_u64(&r);
	cp->saved_ms = (int64_t)cursor_u64(&r);
	if (version == VERSION)
		cp->gen = cursor_u64(&r);
	payload = cursor_bytes(&r, &plen);
	if (r.bad || cursor_u64(&r) != XXH3_64bits(payload, plen) || r.bad ||
	    r.p != r.end)
		return -1;
	pl = (struct cursor){payload, payload + plen, 0};
	count = cursor_u64(&pl);
	for (uint64_t i = 0; i < count && !pl.bad; i++) {
		struct input_position p = {0};
		const char *path;
		char *s;
		p.dev = cursor_u64(&pl);
		p.ino = cursor_u64(&pl);
		p.offset = cursor_u64(&pl);
		p.tail_hash = cursor_u64(&pl);
		p.tail_len = (uint32_t)cursor_u64(&pl);
		path = cursor_bytes(&pl, &n);
		if (pl.bad)
			break;
		s = xstrndup(path, n);
		checkpoint_add_position(cp, s, &p);
		free(s);
	}
	count = cursor_u64(&pl);
	for (uint64_t i = 0; i < count && !pl.bad; i++) {
		const char *name = cursor_bytes(&pl, &n), *file;
		char *s = xstrndup(name, n), *f;
		struct checkpoint_sink *cs = checkpoint_add_sink(cp, s);
		uint64_t size, sum;
		free(s);
		if (version == VERSION_INLINE) {
			const char *lines = cursor_bytes(&pl, &n);
			buf_append(&cs->lines, lines, n);
			continue;
		}
		file = cursor_bytes(&pl, &n);
		size = cursor_u64(&pl);
		sum = cursor_u64(&pl);
		if (pl.bad)
			break;
		/* A spool is one of ours, in dir, never a path elsewhere. */
		f = xstrndup(file, n);
		if (size > 0 &&
		    (strncmp(f, SPOOL_PREFIX, strlen(SPOOL_PREFIX)) != 0 ||
		     strchr(f, '/') != NULL || strlen(f) != n)) {
			free(f);
			return -1;
		}
		load_spool(dir, cs, f, size, sum);
		free(f);
	}
	payload = cursor_bytes(&pl, &n);
	buf_append(&cp->window, payload, n);
	return pl.bad || pl.p != pl.end ? -1 : 0;
}

/*
 * Writes data to dir/name through dir/name.tmp, created afresh
 * (O_EXCL|O_NOFOLLOW: never through a link or into a file someone else
 * holds open), fsync and rename.  A stale temporary left by a writer
 * that died is removed first; unlink() removes a link, not its target.
 * Returns 0, or -1 after logging.
 */
static int
write_file(const char *dir, const char *name, const struct piece *pc,
	   size_t npc)
{
	char path[4096], tmp[4096];
	size_t i, off = 0;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	snprintf(tmp, sizeof(tmp), "%s/%s.tmp", dir, name);
	if (unlink(tmp) == 0)
		log_info("checkpoint: removed a stale %s", tmp);
	else if (errno != ENOENT) {
		log_warn("checkpoint: unlink %s", tmp);
		return -1;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		  0600);
	if (fd < 0) {
		log_warn("checkpoint %s", tmp);
		return -1;
	}
	for (i = 0; i < npc; i++) {
		for (off = 0; off < pc[i].len;) {
			ssize_t n = write(fd, pc[i].p + off, pc[i].len - off);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			off += (size_t)n;
		}
		if (off != pc[i].len)
			break;
	}
	if (i != npc || fsync(fd) != 0) {
		log_warn("checkpoint %s: write", tmp);
		close(fd);
		unlink(tmp);
		return -1;
	}
	if (close(fd) != 0 || rename(tmp, path) != 0) {
		log_warn("checkpoint: rename %s", tmp);
		unlink(tmp);
		return -1;
	}
	return 0;
}

static int
sync_dir(const char *dir)
{
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (dfd < 0 || fsync(dfd) != 0) {
		log_warn("checkpoint: fsync %s", dir);
		if (dfd >= 0)
			close(dfd);
		return -1;
	}
	close(dfd);
	return 0;
}

/* Removes the spool files of every generation but gen. */
static void
remove_old_spools(const char *dir, uint64_t gen)
{
	char keep[64], path[4096];
	size_t klen;
	struct dirent *de;
	DIR *dp;

	if ((dp = opendir(dir)) == NULL) {
		log_warn("checkpoint: opendir %s", dir);
		return;
	}
	klen = (size_t)snprintf(keep, sizeof(keep), SPOOL_PREFIX "%" PRIu64 ".",
				gen);
	while ((de = readdir(dp)) != NULL) {
		if (strncmp(de->d_name, SPOOL_PREFIX, strlen(SPOOL_PREFIX)) !=
			0 ||
		    strncmp(de->d_name, keep, klen) == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (unlink(path) != 0 && errno != ENOENT)
			log_warn("checkpoint: unlink %s", path);
	}
	closedir(dp);
}

int
checkpoint_save(const char *dir, const struct checkpoint *cp, uint64_t *bytes)
{
	struct buf head = {0}, tail = {0};
	struct piece pc[3];
	char name[64];
	uint64_t total = 0;
	int rc = -1;

	for (size_t i = 0; i < cp->nsinks; i++) {
		const struct buf *l = &cp->sinks[i].lines;
		if (l->len == 0)
			continue;
		spool_name(name, sizeof(name), cp->gen, i);
		if (write_file(dir, name, &(struct piece){l->data, l->len}, 1) <
		    0)
			return -1;
		total += l->len;
	}
	/* The spools are durable before the checkpoint that names them. */
	if (total > 0 && sync_dir(dir) < 0)
		return -1;
	encode(cp, &head, &tail, pc);
	if (write_file(dir, "checkpoint", pc, 3) == 0 && sync_dir(dir) == 0) {
		remove_old_spools(dir, cp->gen);
		total += pc[0].len + pc[1].len + pc[2].len;
		rc = 0;
	}
	buf_free(&head);
	buf_free(&tail);
	if (bytes != NULL)
		*bytes = total;
	return rc;
}

/*
 * Renames the spool files beside a corrupt checkpoint kept as aside, to
 * aside.pending.G.N: nothing vouches for them any more, but they are
 * alert lines someone may want, and the next checkpoint would remove
 * them.  Returns how many were kept.
 */
static int
keep_spools(const char *dir, const char *aside)
{
	char from[4096], to[4096 + 512];
	struct dirent *de;
	DIR *dp;
	int n = 0;

	if ((dp = opendir(dir)) == NULL)
		return 0;
	while ((de = readdir(dp)) != NULL) {
		if (strncmp(de->d_name, SPOOL_PREFIX, strlen(SPOOL_PREFIX)) !=
		    0)
			continue;
		snprintf(from, sizeof(from), "%s/%s", dir, de->d_name);
		snprintf(to, sizeof(to), "%s.%s", aside, de->d_name);
		if (rename(from, to) == 0)
			n++;
		else
			log_warn("checkpoint: rename %s", from);
	}
	closedir(dp);
	return n;
}

/* Renames a corrupt checkpoint aside and says what is lost. */
static void
keep_aside(const char *dir, const char *path)
{
	char aside[4096], spools[64] = "";
	struct stat st;
	long long now = (long long)time(NULL);
	int n = snprintf(aside, sizeof(aside), "%s/checkpoint.corrupt-%lld",
			 dir, now),
	    kept;

	/* Never over an earlier one (the directory is ours: locked). */
	for (int i = 1; lstat(aside, &st) == 0 && i < 1000; i++)
		snprintf(aside + n, sizeof(aside) - (size_t)n, ".%d", i);
	if (rename(path, aside) != 0) {
		log_warn("checkpoint %s: corrupt, and cannot be renamed to %s",
			 path, aside);
		aside[0] = '\0';
	} else if ((kept = keep_spools(dir, aside)) > 0) {
		snprintf(spools, sizeof(spools),
			 " (%d spool file(s) of them "
			 "kept beside it)",
			 kept);
	}
	log_err("checkpoint %s: corrupt%s%s; lost: the window state, the "
		"file positions (files are read from their start) and the "
		"alerts that were waiting%s",
		path, aside[0] != '\0' ? ", kept as " : "", aside, spools);
}

int
checkpoint_load(const char *dir, struct checkpoint *cp)
{
	char path[4096];
	struct buf in = {0};

	snprintf(path, sizeof(path), "%s/checkpoint", dir);
	if (slurp(dir, "checkpoint", &in) < 0) {
		buf_free(&in);
		if (errno == ENOENT)
			return 1;
		log_warn("checkpoint %s", path);
		return -1;
	}
	if (decode(dir, in.data, in.len, cp) < 0) {
		checkpoint_clear(cp);
		keep_aside(dir, path);
		cp->corrupt = true;
		buf_free(&in);
		return -1;
	}
	buf_free(&in);
	return 0;
}

int
checkpoint_lock(const char *dir, int wait_ms)
{
	char path[4096], pid[32] = "";
	ssize_t n;
	int fd, waited = 0;

	snprintf(path, sizeof(path), "%s/lock", dir);
	fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		log_warn("state_dir %s: cannot open the lock %s", dir, path);
		return -1;
	}
	/* A checkpoint writer may outlive its daemon by a moment. */
	while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		if (errno == EINTR)
			continue;
		if (errno != EWOULDBLOCK) {
			log_warn("state_dir %s: flock %s", dir, path);
			close(fd);
			return -1;
		}
		if (waited >= wait_ms) {
			n = pread(fd, pid, sizeof(pid) - 1, 0);
			pid[n > 0 ? n : 0] = '\0';
			pid[strcspn(pid, "\n")] = '\0';
			log_err("state_dir %s is in use by another burstd "
				"(pid %s); two daemons cannot share one",
				dir, pid[0] != '\0' ? pid : "unknown");
			close(fd);
			return -1;
		}
		usleep(50 * 1000);
		waited += 50;
	}
	n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)n, 0) != n)
		log_warn("state_dir %s: cannot write the pid to %s", dir, path);
	return fd;
}
