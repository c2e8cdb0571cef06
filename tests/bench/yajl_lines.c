/*
 * yajl_lines: parse every line completely with yajl, and do nothing else.
 *
 *   yajl_lines [-r] FILE     ("-" reads stdin)
 *
 * Reads FILE in 1 MiB read() blocks, splits it into lines with memchr()
 * (a line that straddles two blocks is assembled in a carry buffer) and
 * gives each line to yajl_parse() and yajl_complete_parse() with
 * callbacks for every token that return at once.  By default each line
 * gets a fresh handle (yajl 2 has no reset); with -r one handle, allowing
 * multiple values, is reused for the whole stream, and stops at the first
 * invalid line.  This is the cost of a detector that parses every event:
 * a prefilter that skips lines can beat it, but on input where every line
 * matches, a detector should stay close to it.
 *
 * Prints "lines N valid N invalid N bytes N" on stdout; exits 1 on a
 * read error.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yajl/yajl_parse.h>

#define READ_BLOCK (1 << 20)

struct state {
	uint64_t lines;    /* lines seen */
	uint64_t valid;    /* lines yajl accepted */
	uint64_t invalid;  /* lines yajl rejected */
	uint64_t bytes;    /* bytes read */
	yajl_handle reuse; /* the one handle with -r, else NULL */
	char *carry;       /* start of a line that straddles blocks */
	size_t clen, ccap; /* bytes of carry in use and allocated */
};

static int
cb_null(void *ctx)
{
	(void)ctx;
	return 1;
}

static int
cb_boolean(void *ctx, int b)
{
	(void)ctx;
	(void)b;
	return 1;
}

static int
cb_number(void *ctx, const char *s, size_t len)
{
	(void)ctx;
	(void)s;
	(void)len;
	return 1;
}

static int
cb_string(void *ctx, const unsigned char *s, size_t len)
{
	(void)ctx;
	(void)s;
	(void)len;
	return 1;
}

static int
cb_container(void *ctx)
{
	(void)ctx;
	return 1;
}

static const yajl_callbacks callbacks = {
    .yajl_null = cb_null,
    .yajl_boolean = cb_boolean,
    .yajl_number = cb_number,
    .yajl_string = cb_string,
    .yajl_start_map = cb_container,
    .yajl_map_key = cb_string,
    .yajl_end_map = cb_container,
    .yajl_start_array = cb_container,
    .yajl_end_array = cb_container,
};

static void
line(struct state *st, const char *p, size_t len)
{
	yajl_status s;

	st->lines++;
	if (st->reuse != NULL) {
		s = yajl_parse(st->reuse, (const unsigned char *)p, len);
		if (s != yajl_status_ok) {
			fprintf(stderr,
				"yajl_lines: line %llu is invalid; "
				"-r stops here\n",
				(unsigned long long)st->lines);
			exit(1);
		}
		st->valid++;
		return;
	}
	yajl_handle h = yajl_alloc(&callbacks, NULL, NULL);
	if (h == NULL) {
		fprintf(stderr, "yajl_lines: yajl_alloc failed\n");
		exit(1);
	}
	s = yajl_parse(h, (const unsigned char *)p, len);
	if (s == yajl_status_ok)
		s = yajl_complete_parse(h);
	if (s == yajl_status_ok)
		st->valid++;
	else
		st->invalid++;
	yajl_free(h);
}

static void
carry_append(struct state *st, const char *p, size_t n)
{
	if (st->clen + n > st->ccap) {
		size_t cap = st->ccap ? st->ccap : 4096;
		while (cap < st->clen + n)
			cap *= 2;
		if ((st->carry = realloc(st->carry, cap)) == NULL) {
			perror("yajl_lines: realloc");
			exit(1);
		}
		st->ccap = cap;
	}
	memcpy(st->carry + st->clen, p, n);
	st->clen += n;
}

static void
feed(struct state *st, const char *p, size_t len)
{
	const char *end = p + len, *nl;

	while (p < end) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL) {
			carry_append(st, p, (size_t)(end - p));
			return;
		}
		if (st->clen == 0) {
			line(st, p, (size_t)(nl - p));
		} else {
			carry_append(st, p, (size_t)(nl - p));
			line(st, st->carry, st->clen);
			st->clen = 0;
		}
		p = nl + 1;
	}
}

int
main(int argc, char **argv)
{
	struct state st = {0};
	const char *path;
	char *block;
	ssize_t n;
	int fd;

	if (argc == 3 && strcmp(argv[1], "-r") == 0) {
		st.reuse = yajl_alloc(&callbacks, NULL, NULL);
		if (st.reuse == NULL) {
			fprintf(stderr, "yajl_lines: yajl_alloc failed\n");
			return 1;
		}
		yajl_config(st.reuse, yajl_allow_multiple_values, 1);
		path = argv[2];
	} else if (argc == 2) {
		path = argv[1];
	} else {
		fprintf(stderr, "usage: yajl_lines [-r] FILE\n");
		return 2;
	}
	fd = strcmp(path, "-") == 0 ? STDIN_FILENO : open(path, O_RDONLY);
	if (fd < 0) {
		perror(path);
		return 1;
	}
	if ((block = malloc(READ_BLOCK)) == NULL) {
		perror("yajl_lines: malloc");
		return 1;
	}
	while ((n = read(fd, block, READ_BLOCK)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			perror(path);
			return 1;
		}
		st.bytes += (uint64_t)n;
		feed(&st, block, (size_t)n);
	}
	if (st.clen > 0)
		line(&st, st.carry, st.clen);
	if (st.reuse != NULL) {
		if (yajl_complete_parse(st.reuse) != yajl_status_ok) {
			fprintf(stderr, "yajl_lines: the last line is "
					"incomplete\n");
			return 1;
		}
		yajl_free(st.reuse);
	}
	printf("lines %llu valid %llu invalid %llu bytes %llu\n",
	       (unsigned long long)st.lines, (unsigned long long)st.valid,
	       (unsigned long long)st.invalid, (unsigned long long)st.bytes);
	free(st.carry);
	free(block);
	return 0;
}
