/*
 * memchr_lines: the physical floor of reading NDJSON line by line.
 *
 *   memchr_lines FILE        ("-" reads stdin)
 *
 * Reads FILE in 1 MiB read() blocks and splits it into lines with
 * memchr(), assembling a line that straddles two blocks in a carry
 * buffer, as every line-oriented reader must.  Each line is only counted.
 * No detector can be faster than this on the same file, so the benchmark
 * reports every other tool as a ratio of its time.
 *
 * Prints "lines N bytes N longest N" on stdout; exits 1 on a read error.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define READ_BLOCK (1 << 20)

struct counts {
	uint64_t lines;   /* lines seen */
	uint64_t bytes;   /* bytes read */
	uint64_t longest; /* longest line, in bytes */
};

struct carry {
	char *data; /* start of a line that straddles blocks */
	size_t len; /* bytes in use */
	size_t cap; /* bytes allocated */
};

static void
line(struct counts *c, const char *p, size_t len)
{
	(void)p;
	c->lines++;
	if (len > c->longest)
		c->longest = len;
}

static void
carry_append(struct carry *cy, const char *p, size_t n)
{
	if (cy->len + n > cy->cap) {
		size_t cap = cy->cap ? cy->cap : 4096;
		while (cap < cy->len + n)
			cap *= 2;
		if ((cy->data = realloc(cy->data, cap)) == NULL) {
			perror("memchr_lines: realloc");
			exit(1);
		}
		cy->cap = cap;
	}
	memcpy(cy->data + cy->len, p, n);
	cy->len += n;
}

static void
feed(struct counts *c, struct carry *cy, const char *p, size_t len)
{
	const char *end = p + len, *nl;

	while (p < end) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL) {
			carry_append(cy, p, (size_t)(end - p));
			return;
		}
		if (cy->len == 0) {
			line(c, p, (size_t)(nl - p));
		} else {
			carry_append(cy, p, (size_t)(nl - p));
			line(c, cy->data, cy->len);
			cy->len = 0;
		}
		p = nl + 1;
	}
}

int
main(int argc, char **argv)
{
	struct counts c = {0};
	struct carry cy = {0};
	char *block;
	ssize_t n;
	int fd;

	if (argc != 2) {
		fprintf(stderr, "usage: memchr_lines FILE\n");
		return 2;
	}
	fd = strcmp(argv[1], "-") == 0 ? STDIN_FILENO : open(argv[1], O_RDONLY);
	if (fd < 0) {
		perror(argv[1]);
		return 1;
	}
	if ((block = malloc(READ_BLOCK)) == NULL) {
		perror("memchr_lines: malloc");
		return 1;
	}
	while ((n = read(fd, block, READ_BLOCK)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			perror(argv[1]);
			return 1;
		}
		c.bytes += (uint64_t)n;
		feed(&c, &cy, block, (size_t)n);
	}
	if (cy.len > 0)
		line(&c, cy.data, cy.len);
	printf("lines %llu bytes %llu longest %llu\n",
	       (unsigned long long)c.lines, (unsigned long long)c.bytes,
	       (unsigned long long)c.longest);
	free(cy.data);
	free(block);
	return 0;
}
