/*
 * checkpoint: a small binary file in host byte order (a checkpoint never
 * leaves its machine):
 *
 *   "BURSTDCK" u64 version, u64 fingerprint, u64 saved_ms,
 *   u64 payload length,
 *   payload, u64 XXH3 of the payload
 *
 * payload: u64 npos, per position dev ino offset tail_hash tail_len and
 * the path (u64 length, bytes); u64 nsinks, per sink the name and the
 * lines (both u64 length, bytes); the window state (u64 length, bytes).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "checkpoint.h"
#include "log.h"

#define MAGIC "BURSTDCK"
#define VERSION 2

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

	cp->sinks = xreallocarray(cp->sinks, cp->nsinks + 1,
	    sizeof(*cp->sinks));
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
encode(const struct checkpoint *cp, struct buf *out)
{
	struct buf pl = {0};

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
		buf_put_bytes(&pl, cp->sinks[i].name, strlen(cp->sinks[i].name));
		buf_put_bytes(&pl, cp->sinks[i].lines.data, cp->sinks[i].lines.len);
	}
	buf_put_bytes(&pl, cp->window.data, cp->window.len);

	buf_append(out, MAGIC, 8);
	buf_put_u64(out, VERSION);
	buf_put_u64(out, cp->fingerprint);
	buf_put_u64(out, (uint64_t)cp->saved_ms);
	buf_put_bytes(out, pl.data, pl.len);
	buf_put_u64(out, XXH3_64bits(pl.data, pl.len));
	buf_free(&pl);
}

static int
decode(const char *data, size_t len, struct checkpoint *cp)
{
	struct cursor r = {data, data + len, 0};
	struct cursor pl;
	const char *payload;
	size_t plen, n;
	uint64_t count;

	if (len < 8 || memcmp(data, MAGIC, 8) != 0)
		return -1;
	r.p += 8;
	if (cursor_u64(&r) != VERSION)
		return -1;
	cp->fingerprint = cursor_u64(&r);
	cp->saved_ms = (int64_t)cursor_u64(&r);
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
		const char *name = cursor_bytes(&pl, &n), *lines;
		char *s = xstrndup(name, n);
		struct checkpoint_sink *cs = checkpoint_add_sink(cp, s);
		free(s);
		lines = cursor_bytes(&pl, &n);
		buf_append(&cs->lines, lines, n);
	}
	payload = cursor_bytes(&pl, &n);
	buf_append(&cp->window, payload, n);
	return pl.bad || pl.p != pl.end ? -1 : 0;
}

int
checkpoint_save(const char *dir, const struct checkpoint *cp)
{
	char path[4096], tmp[4096];
	struct buf out = {0};
	size_t off = 0;
	int fd, dfd, rc = -1;

	snprintf(path, sizeof(path), "%s/checkpoint", dir);
	snprintf(tmp, sizeof(tmp), "%s/checkpoint.tmp", dir);
	encode(cp, &out);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		log_warn("checkpoint %s", tmp);
		buf_free(&out);
		return -1;
	}
	while (off < out.len) {
		ssize_t n = write(fd, out.data + off, out.len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	if (off != out.len || fsync(fd) != 0) {
		log_warn("checkpoint %s: write", tmp);
		close(fd);
		unlink(tmp);
		buf_free(&out);
		return -1;
	}
	close(fd);
	if (rename(tmp, path) != 0) {
		log_warn("checkpoint: rename %s", tmp);
		unlink(tmp);
	} else if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
	    fsync(dfd) != 0) {
		log_warn("checkpoint: fsync %s", dir);
		if (dfd >= 0)
			close(dfd);
	} else {
		close(dfd);
		rc = 0;
	}
	buf_free(&out);
	return rc;
}

int
checkpoint_load(const char *dir, struct checkpoint *cp)
{
	char path[4096], block[65536];
	struct buf in = {0};
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/checkpoint", dir);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		if (errno == ENOENT)
			return 1;
		log_warn("checkpoint %s", path);
		return -1;
	}
	while ((n = read(fd, block, sizeof(block))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			log_warn("checkpoint %s: read", path);
			close(fd);
			buf_free(&in);
			return -1;
		}
		buf_append(&in, block, (size_t)n);
	}
	close(fd);
	if (decode(in.data, in.len, cp) < 0) {
		log_warnx("checkpoint %s: corrupt, ignored", path);
		checkpoint_clear(cp);
		buf_free(&in);
		return -1;
	}
	buf_free(&in);
	return 0;
}
