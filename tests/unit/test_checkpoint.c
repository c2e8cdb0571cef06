/*
 * checkpoint: a save and load round trip keeps every part; the waiting
 * alerts live in spool files of the checkpoint's generation, not in the
 * checkpoint, and older generations go once a newer checkpoint is
 * written; a damaged spool loses only its sink's alerts; a missing file
 * is "none"; a corrupt or truncated file is refused, leaves nothing and
 * is kept aside; a stale or planted temporary is never written through;
 * the lock keeps a second owner out.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "check.h"
#include "checkpoint.h"

static void
flip(const char *path, long at)
{
	int fd = open(path, O_RDWR);
	char c;

	if (fd < 0 || pread(fd, &c, 1, at) != 1)
		abort();
	c ^= 0x40;
	if (pwrite(fd, &c, 1, at) != 1)
		abort();
	close(fd);
}

static void
put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f == NULL)
		abort();
	fputs(text, f);
	fclose(f);
}

static long long
size_of(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

/* Whether the file holds the bytes anywhere. */
static int
contains(const char *path, const char *needle)
{
	char data[65536];
	FILE *f = fopen(path, "r");
	size_t n;

	if (f == NULL)
		return 0;
	n = fread(data, 1, sizeof(data), f);
	fclose(f);
	for (size_t i = 0; i + strlen(needle) <= n; i++)
		if (memcmp(data + i, needle, strlen(needle)) == 0)
			return 1;
	return 0;
}

/* Counts the entries of dir whose name starts with prefix. */
static int
count(const char *dir, const char *prefix)
{
	DIR *dp = opendir(dir);
	struct dirent *de;
	int n = 0;

	while (dp != NULL && (de = readdir(dp)) != NULL)
		if (strncmp(de->d_name, prefix, strlen(prefix)) == 0)
			n++;
	if (dp != NULL)
		closedir(dp);
	return n;
}

/* Removes dir and everything in it (one level). */
static void
rm_dir(const char *dir)
{
	DIR *dp = opendir(dir);
	struct dirent *de;
	char path[512];

	while (dp != NULL && (de = readdir(dp)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (unlink(path) != 0)
			rmdir(path);
	}
	if (dp != NULL)
		closedir(dp);
	rmdir(dir);
}

int
main(void)
{
	char dir[] = "/tmp/burstd-ckpt-XXXXXX", path[256], tmp[256];
	char spool1[256], spool2[256], outside[256];
	struct checkpoint a = {0}, b = {0};
	struct input_position p1 = {1, 2, 300, 0xabc, 64};
	struct input_position p2 = {1, 3, 0, 0, 0};
	struct checkpoint_sink *s;
	uint64_t bytes = 0;
	int fd, fd2;

	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(path, sizeof(path), "%s/checkpoint", dir);
	snprintf(tmp, sizeof(tmp), "%s/checkpoint.tmp", dir);
	snprintf(spool1, sizeof(spool1), "%s/pending.1.0", dir);
	snprintf(spool2, sizeof(spool2), "%s/pending.2.0", dir);

	CHECK_EQ_INT(checkpoint_load(dir, &b), 1);

	a.fingerprint = 42;
	a.gen = 1;
	checkpoint_add_position(&a, "/var/log/a.ndjson", &p1);
	checkpoint_add_position(&a, "/var/log/b.ndjson", &p2);
	s = checkpoint_add_sink(&a, "unix /run/x.sock");
	buf_append(&s->lines, "{\"a\":1}\n{\"b\":2}\n", 16);
	checkpoint_add_sink(&a, "stdout");
	buf_append(&a.window, "\0\1\2window", 9);
	CHECK_EQ_INT(checkpoint_save(dir, &a, &bytes), 0);
	CHECK(access(tmp, F_OK) != 0);
	/* The waiting lines are in the spool, as they are, not inline. */
	CHECK_EQ_INT(size_of(spool1), 16);
	CHECK(contains(spool1, "{\"a\":1}\n{\"b\":2}\n"));
	CHECK(!contains(path, "{\"a\":1}"));
	CHECK_EQ_INT(count(dir, "pending."), 1);
	CHECK_EQ_INT(bytes, size_of(path) + 16);

	CHECK_EQ_INT(checkpoint_load(dir, &b), 0);
	CHECK_EQ_INT(b.fingerprint, 42);
	CHECK_EQ_INT(b.gen, 1);
	CHECK_EQ_INT(b.npos, 2);
	if (b.npos == 2) {
		CHECK_STR(b.paths[0], "/var/log/a.ndjson");
		CHECK_EQ_INT(b.pos[0].ino, 2);
		CHECK_EQ_INT(b.pos[0].offset, 300);
		CHECK_EQ_INT(b.pos[0].tail_hash, 0xabc);
		CHECK_EQ_INT(b.pos[0].tail_len, 64);
		CHECK_EQ_INT(b.pos[1].ino, 3);
	}
	CHECK_EQ_INT(b.nsinks, 2);
	if (b.nsinks == 2) {
		CHECK_STR(b.sinks[0].name, "unix /run/x.sock");
		CHECK_EQ_INT(b.sinks[0].lines.len, 16);
		CHECK(memcmp(b.sinks[0].lines.data, "{\"a\":1}\n", 8) == 0);
		CHECK(!b.sinks[0].lost);
		CHECK_EQ_INT(b.sinks[1].lines.len, 0);
		CHECK(!b.sinks[1].lost);
	}
	CHECK_EQ_INT(b.window.len, 9);
	CHECK(b.window.len == 9 &&
	      memcmp(b.window.data, "\0\1\2window", 9) == 0);
	checkpoint_clear(&b);

	/* A second save replaces the first and its spool. */
	a.fingerprint = 43;
	a.gen = 2;
	CHECK_EQ_INT(checkpoint_save(dir, &a, NULL), 0);
	CHECK(access(spool1, F_OK) != 0);
	CHECK_EQ_INT(size_of(spool2), 16);
	CHECK_EQ_INT(checkpoint_load(dir, &b), 0);
	CHECK_EQ_INT(b.fingerprint, 43);
	checkpoint_clear(&b);

	/* A damaged spool loses its sink's alerts, nothing else. */
	flip(spool2, 3);
	CHECK_EQ_INT(checkpoint_load(dir, &b), 0);
	CHECK_EQ_INT(b.nsinks, 2);
	CHECK_EQ_INT(b.npos, 2);
	CHECK_EQ_INT(b.window.len, 9);
	if (b.nsinks == 2) {
		CHECK(b.sinks[0].lost);
		CHECK_EQ_INT(b.sinks[0].lines.len, 0);
	}
	checkpoint_clear(&b);
	CHECK(unlink(spool2) == 0);
	CHECK_EQ_INT(checkpoint_load(dir, &b), 0);
	CHECK(b.nsinks == 2 && b.sinks[0].lost);
	checkpoint_clear(&b);

	/* A stale temporary is replaced; a planted link is not followed:
	 * its target keeps its bytes. */
	put(tmp, "stale");
	CHECK_EQ_INT(checkpoint_save(dir, &a, NULL), 0);
	CHECK(access(tmp, F_OK) != 0);
	snprintf(outside, sizeof(outside), "%s.outside", dir);
	put(outside, "precious");
	CHECK(symlink(outside, tmp) == 0);
	CHECK_EQ_INT(checkpoint_save(dir, &a, NULL), 0);
	CHECK(contains(outside, "precious"));
	CHECK_EQ_INT(size_of(outside), 8);
	CHECK(access(tmp, F_OK) != 0);
	unlink(outside);
	/* A temporary that cannot be removed: the save fails, the old
	 * checkpoint stays in force. */
	CHECK(mkdir(tmp, 0700) == 0);
	a.fingerprint = 44;
	CHECK_EQ_INT(checkpoint_save(dir, &a, NULL), -1);
	CHECK_EQ_INT(checkpoint_load(dir, &b), 0);
	CHECK_EQ_INT(b.fingerprint, 43);
	checkpoint_clear(&b);
	CHECK(rmdir(tmp) == 0);
	CHECK_EQ_INT(checkpoint_save(dir, &a, NULL), 0);

	/* The version before, with the waiting lines inline, is still
	 * read: an upgrade resumes where the old daemon stopped. */
	{
		struct buf pl = {0}, v2 = {0};
		buf_put_u64(&pl, 1);
		buf_put_u64(&pl, 5);
		buf_put_u64(&pl, 6);
		buf_put_u64(&pl, 700);
		buf_put_u64(&pl, 0xdef);
		buf_put_u64(&pl, 64);
		buf_put_bytes(&pl, "/var/log/c.ndjson", 17);
		buf_put_u64(&pl, 1);
		buf_put_bytes(&pl, "stdout", 6);
		buf_put_bytes(&pl, "{\"c\":3}\n", 8);
		buf_put_bytes(&pl, "win", 3);
		buf_append(&v2, "BURSTDCK", 8);
		buf_put_u64(&v2, 2);
		buf_put_u64(&v2, 77);
		buf_put_u64(&v2, 1700000000000);
		buf_put_bytes(&v2, pl.data, pl.len);
		buf_put_u64(&v2, XXH3_64bits(pl.data, pl.len));
		fd = open(path, O_WRONLY | O_TRUNC);
		CHECK(fd >= 0 && write(fd, v2.data, v2.len) == (ssize_t)v2.len);
		close(fd);
		CHECK_EQ_INT(checkpoint_load(dir, &b), 0);
		CHECK_EQ_INT(b.fingerprint, 77);
		CHECK_EQ_INT(b.saved_ms, 1700000000000);
		CHECK_EQ_INT(b.gen, 0);
		CHECK(b.npos == 1 && b.pos[0].offset == 700 &&
		      b.pos[0].tail_hash == 0xdef);
		CHECK(b.npos == 1 &&
		      strcmp(b.paths[0], "/var/log/c.ndjson") == 0);
		CHECK(b.nsinks == 1 && strcmp(b.sinks[0].name, "stdout") == 0);
		CHECK(b.nsinks == 1 && b.sinks[0].lines.len == 8 &&
		      memcmp(b.sinks[0].lines.data, "{\"c\":3}\n", 8) == 0);
		CHECK(b.window.len == 3 &&
		      memcmp(b.window.data, "win", 3) == 0);
		checkpoint_clear(&b);
		buf_free(&pl);
		buf_free(&v2);
		CHECK_EQ_INT(checkpoint_save(dir, &a, NULL), 0);
	}

	/* One flipped bit anywhere in the payload: refused, nothing kept,
	 * the file set aside for inspection. */
	flip(path, 48);
	CHECK_EQ_INT(checkpoint_load(dir, &b), -1);
	CHECK(b.corrupt);
	CHECK_EQ_INT(b.npos, 0);
	CHECK_EQ_INT(b.nsinks, 0);
	CHECK(access(path, F_OK) != 0);
	/* Its spool goes with it, to checkpoint.corrupt-<s>.pending.2.0,
	 * so that the next checkpoint does not remove it. */
	CHECK_EQ_INT(count(dir, "checkpoint.corrupt-"), 2);
	CHECK_EQ_INT(count(dir, "pending."), 0);
	/* Then there is none. */
	checkpoint_clear(&b);
	CHECK_EQ_INT(checkpoint_load(dir, &b), 1);
	CHECK(!b.corrupt);
	/* Truncated. */
	CHECK_EQ_INT(checkpoint_save(dir, &a, NULL), 0);
	CHECK(truncate(path, 30) == 0);
	CHECK_EQ_INT(checkpoint_load(dir, &b), -1);
	CHECK(b.corrupt);
	checkpoint_clear(&b);
	/* Not a checkpoint at all.  Each one found is kept, none over
	 * another, even within one second. */
	put(path, "hello");
	CHECK_EQ_INT(checkpoint_load(dir, &b), -1);
	CHECK(b.corrupt);
	checkpoint_clear(&b);
	CHECK_EQ_INT(count(dir, "checkpoint.corrupt-"), 5);
	/* An unwritable directory: an error, not a crash. */
	CHECK_EQ_INT(checkpoint_save("/nonexistent/dir", &a, NULL), -1);

	/* The lock: one owner at a time, its pid in the file. */
	fd = checkpoint_lock(dir, 0);
	CHECK(fd >= 0);
	{
		char want[32];
		snprintf(want, sizeof(want), "%ld\n", (long)getpid());
		snprintf(tmp, sizeof(tmp), "%s/lock", dir);
		CHECK(contains(tmp, want));
	}
	CHECK_EQ_INT(checkpoint_lock(dir, 200), -1);
	close(fd);
	fd2 = checkpoint_lock(dir, 0);
	CHECK(fd2 >= 0);
	close(fd2);
	CHECK_EQ_INT(checkpoint_lock("/nonexistent/dir", 0), -1);

	checkpoint_clear(&a);
	rm_dir(dir);
	return check_exit();
}
