/*
 * fuzz_esql: esql_query_parse() on arbitrary bytes.
 *
 * Whatever the input, parsing returns a tree or an error of the form
 * "LINE:COL: message".  A tree prints canonically; the print parses
 * again, and prints the same (the printer is a fixed point after one
 * round).
 */
#include <string.h>

#include "esql.h"
#include "fuzz.h"
#include "util.h"

static bool
error_has_position(const char *err)
{
	const char *p = err;

	if (*p < '1' || *p > '9')
		return false;
	while (*p >= '0' && *p <= '9')
		p++;
	if (*p++ != ':' || *p < '1' || *p > '9')
		return false;
	while (*p >= '0' && *p <= '9')
		p++;
	return p[0] == ':' && p[1] == ' ' && p[2] != '\0';
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct esql_query *q, *q2;
	struct buf b = {0}, b2 = {0};
	char err[256];

	q = esql_query_parse((const char *)data, size, err, sizeof(err));
	if (q == NULL) {
		FUZZ_CHECK(error_has_position(err));
		return 0;
	}
	FUZZ_CHECK(q->ncmds >= 1 && q->cmds[0].kind == ESQL_CMD_FROM);
	esql_query_print(q, &b);
	q2 = esql_query_parse(b.data, b.len, err, sizeof(err));
	if (q2 == NULL)
		fprintf(stderr, "print does not parse: %s\n%.*s\n", err,
			(int)b.len, b.data);
	FUZZ_CHECK(q2 != NULL);
	esql_query_print(q2, &b2);
	FUZZ_CHECK(b.len == b2.len && memcmp(b.data, b2.data, b.len) == 0);
	esql_query_free(q);
	esql_query_free(q2);
	buf_free(&b);
	buf_free(&b2);
	return 0;
}
