/*
 * fuzz_checkpoint: the checkpoint file read back at start.
 *
 * The first byte chooses what the rest is.  Even: the whole file as it
 * lies on disk, so the magic, version, lengths and checksum are what is
 * fuzzed.  Odd: a payload, wrapped here in a valid header and checksum,
 * so the decoder behind the checksum is fuzzed (a checksum proves only
 * that the bytes are the ones written; the wrapped form is version 3,
 * a raw file may be either version).  The file is put in a directory
 * of its own and read with checkpoint_load(), which must either refuse
 * it, leaving the checkpoint empty, marked corrupt, and the file moved
 * aside, or accept it; what it accepts must save and load back equal,
 * positions, sinks, waiting alerts and window state alike.  Spool names
 * in a payload that leave the directory are refused, not followed.
 */
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>

#include "checkpoint.h"
#include "fuzz.h"
#include "log.h"
#include "util.h"

/* checkpoint.c's format version; a new one makes the wrapped inputs
 * exercise only the version check until the corpus is refreshed. */
#define VERSION 3

static char dir[2][64];

static void
clear_dir(const char *d)
{
	char path[512];
	struct dirent *de;
	DIR *dp = opendir(d);

	while (dp != NULL && (de = readdir(dp)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", d, de->d_name);
		unlink(path);
	}
	if (dp != NULL)
		closedir(dp);
}

static void
remove_dirs(void)
{
	for (int i = 0; i < 2; i++) {
		clear_dir(dir[i]);
		rmdir(dir[i]);
	}
}

static void
put_file(const char *d, const char *name, const void *p, size_t len)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", d, name);
	FUZZ_CHECK((f = fopen(path, "w")) != NULL);
	FUZZ_CHECK(len == 0 || fwrite(p, 1, len, f) == len);
	FUZZ_CHECK(fclose(f) == 0);
}

static bool
exists(const char *d, const char *name)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", d, name);
	return access(path, F_OK) == 0;
}

static void
check_equal(const struct checkpoint *a, const struct checkpoint *b)
{
	FUZZ_CHECK(a->fingerprint == b->fingerprint);
	FUZZ_CHECK(a->saved_ms == b->saved_ms);
	FUZZ_CHECK(a->gen == b->gen);
	FUZZ_CHECK(a->npos == b->npos);
	for (size_t i = 0; i < a->npos; i++) {
		FUZZ_CHECK(strcmp(a->paths[i], b->paths[i]) == 0);
		FUZZ_CHECK(a->pos[i].dev == b->pos[i].dev);
		FUZZ_CHECK(a->pos[i].ino == b->pos[i].ino);
		FUZZ_CHECK(a->pos[i].offset == b->pos[i].offset);
		FUZZ_CHECK(a->pos[i].tail_hash == b->pos[i].tail_hash);
		FUZZ_CHECK(a->pos[i].tail_len == b->pos[i].tail_len);
	}
	FUZZ_CHECK(a->nsinks == b->nsinks);
	for (size_t i = 0; i < a->nsinks; i++) {
		FUZZ_CHECK(strcmp(a->sinks[i].name, b->sinks[i].name) == 0);
		FUZZ_CHECK(a->sinks[i].lines.len == b->sinks[i].lines.len);
		FUZZ_CHECK(a->sinks[i].lines.len == 0 ||
			   memcmp(a->sinks[i].lines.data,
				  b->sinks[i].lines.data,
				  a->sinks[i].lines.len) == 0);
		FUZZ_CHECK(!b->sinks[i].lost);
	}
	FUZZ_CHECK(a->window.len == b->window.len);
	FUZZ_CHECK(a->window.len == 0 ||
		   memcmp(a->window.data, b->window.data, a->window.len) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct checkpoint a = {0}, b = {0};
	struct buf file = {0};
	int r;

	if (dir[0][0] == '\0') {
		log_init("fuzz_checkpoint", LOG_LVL_CRIT);
		for (int i = 0; i < 2; i++) {
			snprintf(dir[i], sizeof(dir[i]),
				 "/tmp/burstd-fuzz-ckpt-XXXXXX");
			FUZZ_CHECK(mkdtemp(dir[i]) != NULL);
		}
		atexit(remove_dirs);
	}
	clear_dir(dir[0]);
	clear_dir(dir[1]);
	if (size == 0)
		return 0;
	if ((data[0] & 1) == 0) {
		buf_append(&file, data + 1, size - 1);
	} else {
		buf_append(&file, "BURSTDCK", 8);
		buf_put_u64(&file, VERSION);
		buf_put_u64(&file, 42);
		buf_put_u64(&file, 1700000000000);
		buf_put_u64(&file, 7);
		buf_put_bytes(&file, data + 1, size - 1);
		buf_put_u64(&file, XXH3_64bits(data + 1, size - 1));
	}
	put_file(dir[0], "checkpoint", file.data, file.len);
	/* A spool some payloads name; its checks decide whether it counts. */
	put_file(dir[0], "pending.7.0", "{\"a\":1}\n", 8);
	buf_free(&file);

	r = checkpoint_load(dir[0], &a);
	FUZZ_CHECK(r == 0 || r == -1);
	if (r < 0) {
		FUZZ_CHECK(a.corrupt && a.npos == 0 && a.nsinks == 0 &&
			   a.window.len == 0);
		FUZZ_CHECK(!exists(dir[0], "checkpoint"));
		return 0;
	}
	FUZZ_CHECK(!a.corrupt);
	for (size_t i = 0; i < a.nsinks; i++)
		FUZZ_CHECK(!a.sinks[i].lost || a.sinks[i].lines.len == 0);
	FUZZ_CHECK(checkpoint_save(dir[1], &a, NULL) == 0);
	FUZZ_CHECK(checkpoint_load(dir[1], &b) == 0);
	check_equal(&a, &b);
	checkpoint_clear(&a);
	checkpoint_clear(&b);
	return 0;
}
