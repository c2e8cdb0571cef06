/*
 * checkpoint: a save and load round trip keeps every part; a missing file
 * is "none"; a corrupt or truncated file is refused and leaves nothing;
 * the file is replaced atomically (no temporary left behind).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

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

int
main(void)
{
	char dir[] = "/tmp/burstd-ckpt-XXXXXX", path[256], tmp[256];
	struct checkpoint a = {0}, b = {0};
	struct input_position p1 = {1, 2, 300, 0xabc, 64};
	struct input_position p2 = {1, 3, 0, 0, 0};
	struct checkpoint_sink *s;

	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(path, sizeof(path), "%s/checkpoint", dir);
	snprintf(tmp, sizeof(tmp), "%s/checkpoint.tmp", dir);

	CHECK_EQ_INT(checkpoint_load(dir, &b), 1);

	a.fingerprint = 42;
	checkpoint_add_position(&a, "/var/log/a.ndjson", &p1);
	checkpoint_add_position(&a, "/var/log/b.ndjson", &p2);
	s = checkpoint_add_sink(&a, "unix /run/x.sock");
	buf_append(&s->lines, "{\"a\":1}\n{\"b\":2}\n", 16);
	checkpoint_add_sink(&a, "stdout");
	buf_append(&a.window, "\0\1\2window", 9);
	CHECK_EQ_INT(checkpoint_save(dir, &a), 0);
	CHECK(access(tmp, F_OK) != 0);

	CHECK_EQ_INT(checkpoint_load(dir, &b), 0);
	CHECK_EQ_INT(b.fingerprint, 42);
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
		CHECK_EQ_INT(b.sinks[1].lines.len, 0);
	}
	CHECK_EQ_INT(b.window.len, 9);
	CHECK(b.window.len == 9 && memcmp(b.window.data, "\0\1\2window", 9) ==
	    0);
	checkpoint_clear(&b);

	/* A second save replaces the first. */
	a.fingerprint = 43;
	CHECK_EQ_INT(checkpoint_save(dir, &a), 0);
	CHECK_EQ_INT(checkpoint_load(dir, &b), 0);
	CHECK_EQ_INT(b.fingerprint, 43);
	checkpoint_clear(&b);

	/* One flipped bit anywhere in the payload: refused, nothing kept. */
	flip(path, 40);
	CHECK_EQ_INT(checkpoint_load(dir, &b), -1);
	CHECK_EQ_INT(b.npos, 0);
	CHECK_EQ_INT(b.nsinks, 0);
	flip(path, 40);
	CHECK_EQ_INT(checkpoint_load(dir, &b), 0);
	checkpoint_clear(&b);
	/* Truncated. */
	CHECK(truncate(path, 30) == 0);
	CHECK_EQ_INT(checkpoint_load(dir, &b), -1);
	/* Not a checkpoint at all. */
	{
		FILE *f = fopen(path, "w");
		fputs("hello", f);
		fclose(f);
	}
	CHECK_EQ_INT(checkpoint_load(dir, &b), -1);
	/* An unwritable directory: an error, not a crash. */
	CHECK_EQ_INT(checkpoint_save("/nonexistent/dir", &a), -1);

	checkpoint_clear(&a);
	unlink(path);
	rmdir(dir);
	return check_exit();
}
