/*
 * fuzz_httpreq: httpreq_parse() and httpreq_parse_addr() on arbitrary
 * bytes, and what their results must satisfy.
 *
 * The verdict is one of those httpreq.h lists.  A head read as 200 ends
 * in CRLF CRLF within the input; its method is a token and its path an
 * origin-form path without query, within their bounds; the head alone
 * reads the same, and every shorter prefix of it reads as incomplete (0):
 * nothing is answered before the whole head is in.  A verdict once given
 * stands whatever bytes follow.  An address that parses has a known
 * family and, for IP, a port in 1..65535.
 */
#include <string.h>
#include <sys/socket.h>

#include "fuzz.h"
#include "httpreq.h"

static bool
is_verdict(int v)
{
	return v == 0 || v == 200 || v == 400 || v == 414 || v == 431 ||
	       v == 505;
}

static void
check_head(const char *s, size_t size, const uint8_t *data)
{
	struct httpreq r, again;
	int v = httpreq_parse(s, size, &r), w;
	char *more;

	FUZZ_CHECK(is_verdict(v));
	FUZZ_CHECK(v != 0 || size < HTTPREQ_MAX_HEAD);
	FUZZ_CHECK(v == 0 || v == 200 || r.why != NULL);
	if (v == 200) {
		size_t n = r.head_len, cut;

		FUZZ_CHECK(n >= 4 && n <= size && n <= HTTPREQ_MAX_HEAD);
		FUZZ_CHECK(memcmp(s + n - 4, "\r\n\r\n", 4) == 0);
		FUZZ_CHECK(r.method[0] != '\0');
		FUZZ_CHECK(strlen(r.method) <= HTTPREQ_MAX_METHOD);
		FUZZ_CHECK(r.path[0] == '/');
		FUZZ_CHECK(strlen(r.path) <= HTTPREQ_MAX_PATH);
		FUZZ_CHECK(strchr(r.path, '?') == NULL);
		FUZZ_CHECK(httpreq_parse(s, n, &again) == 200);
		FUZZ_CHECK(strcmp(again.method, r.method) == 0);
		FUZZ_CHECK(strcmp(again.path, r.path) == 0);
		FUZZ_CHECK(again.head_len == n);
		cut = (size_t)(fuzz_seed(data, size) % n);
		FUZZ_CHECK(httpreq_parse(s, cut, &again) == 0);
		FUZZ_CHECK(httpreq_parse(s, n - 1, &again) == 0);
	}
	if (v != 0 && size < HTTPREQ_MAX_HEAD) {
		more = malloc(size + 4);
		if (more == NULL)
			abort();
		memcpy(more, s, size);
		memcpy(more + size, "\r\n\r\n", 4);
		w = httpreq_parse(more, size + 4, &again);
		FUZZ_CHECK(w == v);
		free(more);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = calloc(size + 1, 1);
	struct httpreq_addr a;
	const char *why = NULL;

	if (s == NULL)
		abort();
	if (size > 0)
		memcpy(s, data, size);
	/* Not NUL-terminated for the head: the reader keeps within len. */
	check_head(s, size, data);
	s[size] = '\0';
	if (httpreq_parse_addr(s, &a, &why) == 0) {
		FUZZ_CHECK(a.family == AF_UNIX || a.family == AF_INET ||
			   a.family == AF_INET6);
		if (a.family == AF_UNIX)
			FUZZ_CHECK(a.path == s && s[0] == '/');
		else
			FUZZ_CHECK(a.port >= 1 && a.port <= 65535);
	} else {
		FUZZ_CHECK(why != NULL);
	}
	free(s);
	return 0;
}
