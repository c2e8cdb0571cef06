/*
 * replay: runs a fuzz target over a corpus without libFuzzer.
 *
 *   fuzz_TARGET PATH...
 *
 * Each PATH is a file or a directory; a directory's regular files are
 * run in name order (not recursively).  Every input is read into a heap
 * block of exactly its size, so that a sanitizer build catches a target
 * that reads past it.  Exit status: 0 when every input ran, 1 when a path
 * could not be read, 77 (skip) when no input was found.  A broken
 * invariant aborts inside the target.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

static int ran;

/* Reads path whole; returns 0, or -1 after reporting why not. */
static int
run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t len = 0, cap = 0, n;

	if (f == NULL) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	for (;;) {
		if (cap - len < 65536) {
			cap = cap ? cap * 2 : 65536;
			if ((buf = realloc(buf, cap)) == NULL) {
				fprintf(stderr, "%s: out of memory\n", path);
				fclose(f);
				return -1;
			}
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
		if (n == 0)
			break;
	}
	if (ferror(f)) {
		fprintf(stderr, "%s: read error\n", path);
		fclose(f);
		free(buf);
		return -1;
	}
	fclose(f);

	/* Exactly len bytes, so a read past the input is an overflow. */
	uint8_t *in = malloc(len ? len : 1);
	if (in == NULL) {
		fprintf(stderr, "%s: out of memory\n", path);
		free(buf);
		return -1;
	}
	memcpy(in, buf, len);
	free(buf);
	printf("%s... ", path);
	fflush(stdout);
	(void)LLVMFuzzerTestOneInput(in, len);
	printf("ok\n");
	free(in);
	ran++;
	return 0;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
run_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, cap = 0;
	int rc = 0;

	if (d == NULL) {
		fprintf(stderr, "%s: %s\n", dir, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			if ((names = realloc(names, cap * sizeof(*names))) ==
			    NULL) {
				fprintf(stderr, "%s: out of memory\n", dir);
				closedir(d);
				return -1;
			}
		}
		size_t len = strlen(dir) + 1 + strlen(de->d_name) + 1;
		if ((names[n] = malloc(len)) == NULL) {
			fprintf(stderr, "%s: out of memory\n", dir);
			closedir(d);
			return -1;
		}
		snprintf(names[n++], len, "%s/%s", dir, de->d_name);
	}
	closedir(d);
	if (n > 1)
		qsort(names, n, sizeof(*names), name_cmp);
	for (size_t i = 0; i < n; i++) {
		struct stat st;
		if (stat(names[i], &st) == 0 && S_ISREG(st.st_mode) &&
		    run_file(names[i]) < 0)
			rc = -1;
		free(names[i]);
	}
	free(names);
	return rc;
}

int
main(int argc, char **argv)
{
	int rc = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
		return 2;
	}
	for (int i = 1; i < argc; i++) {
		struct stat st;
		if (stat(argv[i], &st) < 0) {
			fprintf(stderr, "%s: %s\n", argv[i], strerror(errno));
			rc = 1;
		} else if (S_ISDIR(st.st_mode) ? run_dir(argv[i]) < 0
					       : run_file(argv[i]) < 0) {
			rc = 1;
		}
	}
	if (rc == 0 && ran == 0) {
		fprintf(stderr, "no input found\n");
		return 77;
	}
	printf("%d input(s)\n", ran);
	return rc;
}
