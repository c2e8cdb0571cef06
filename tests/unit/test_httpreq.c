/*
 * test_httpreq: the request-head reader's verdicts, head by head, and
 * the listen address syntax.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "check.h"
#include "httpreq.h"

static int
parse(const char *s, struct httpreq *r)
{
	return httpreq_parse(s, strlen(s), r);
}

static void
test_good(void)
{
	struct httpreq r;
	const char *prom =
	    "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1:9100\r\n"
	    "User-Agent: Prometheus/2.45.0\r\nAccept: text/plain;"
	    "version=0.0.4;q=0.5,*/*;q=0.1\r\nAccept-Encoding: gzip\r\n"
	    "X-Prometheus-Scrape-Timeout-Seconds: 10\r\n\r\n";

	CHECK_EQ_INT(parse(prom, &r), 200);
	CHECK_STR(r.method, "GET");
	CHECK_STR(r.path, "/metrics");
	CHECK_EQ_INT(r.head_len, strlen(prom));
	/* Bytes after the head are not part of it. */
	CHECK_EQ_INT(parse("GET /health HTTP/1.0\r\n\r\nxyz", &r), 200);
	CHECK_STR(r.path, "/health");
	CHECK_EQ_INT(r.head_len, 24);
	CHECK_EQ_INT(parse("HEAD /metrics?name[]=x HTTP/1.1\r\nhOsT: a\r\n"
			   "Content-Length: 00\r\n\r\n",
			   &r),
		     200);
	CHECK_STR(r.method, "HEAD");
	CHECK_STR(r.path, "/metrics");
	CHECK_EQ_INT(parse("DELETE / HTTP/1.1\r\nHost:\t a \r\n\r\n", &r), 200);
	CHECK_STR(r.method, "DELETE");
	CHECK_STR(r.path, "/");
}

static void
test_incomplete(void)
{
	struct httpreq r;
	const char *full = "GET /metrics HTTP/1.1\r\nHost: a\r\n\r\n";

	for (size_t n = 0; n < strlen(full); n++)
		CHECK_EQ_INT(httpreq_parse(full, n, &r), 0);
	CHECK_EQ_INT(httpreq_parse(full, strlen(full), &r), 200);
}

static void
test_bad(void)
{
	static const struct {
		const char *head;
		int code;
	} cases[] = {
	    {"GET /metrics HTTP/1.1\r\n\r\n", 400}, /* no Host */
	    {"GET /metrics HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},
	    {"GET /metrics HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n", 400},
	    {"GET /metrics HTTP/1.1\nHost: a\n\n", 400},     /* bare LF */
	    {"GET /metrics HTTP/1.1\rHost: a\r\n\r\n", 400}, /* bare CR */
	    {"\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", 400},  /* empty line */
	    {"GET  /metrics HTTP/1.1\r\nHost: a\r\n\r\n", 400},
	    {"GET metrics HTTP/1.1\r\nHost: a\r\n\r\n", 400},
	    {"GET * HTTP/1.1\r\nHost: a\r\n\r\n", 400},
	    {"GET http://a/metrics HTTP/1.1\r\nHost: a\r\n\r\n", 400},
	    {"GET /m#f HTTP/1.1\r\nHost: a\r\n\r\n", 400},
	    {"GET /metrics HTTP/1.1 \r\nHost: a\r\n\r\n", 400},
	    {"GET /metrics http/1.1\r\nHost: a\r\n\r\n", 400},
	    {"G(T /metrics HTTP/1.1\r\nHost: a\r\n\r\n", 400},
	    {"GET /metrics HTTP/1.1\r\nHost: a\r\n x\r\n\r\n", 400},
	    {"GET /metrics HTTP/1.1\r\nHost : a\r\n\r\n", 400},
	    {"GET /metrics HTTP/1.1\r\nHost a\r\n\r\n", 400},
	    {"GET /metrics HTTP/1.1\r\n: a\r\nHost: a\r\n\r\n", 400},
	    {"GET /metrics HTTP/1.1\r\nHost: a\x7f\r\n\r\n", 400},
	    {"GET /metrics HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n"
	     "\r\nx",
	     400},
	    {"GET /metrics HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n",
	     400},
	    {"GET /metrics HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: "
	     "chunked\r\n\r\n",
	     400},
	    {"GET /metrics HTTP/2.0\r\nHost: a\r\n\r\n", 505},
	    {"GET /metrics HTTP/0.9\r\nHost: a\r\n\r\n", 505},
	    {"GET /metrics HTTP/1.2\r\nHost: a\r\n\r\n", 505},
	    {"ABCDEFGHIJKLMNOPQ /metrics HTTP/1.1\r\nHost: a\r\n\r\n", 400},
	};
	struct httpreq r;

	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		int v = parse(cases[i].head, &r);
		if (v != cases[i].code)
			fprintf(stderr, "case %zu: %d\n", i, v);
		CHECK_EQ_INT(v, cases[i].code);
		CHECK(r.why != NULL && r.why[0] != '\0');
	}
}

static void
test_limits(void)
{
	struct httpreq r;
	size_t n = HTTPREQ_MAX_HEAD + 100;
	char *big = malloc(n), *p;

	/* A path one byte over the bound. */
	p = big;
	p += sprintf(p, "GET /");
	memset(p, 'a', HTTPREQ_MAX_PATH);
	p += HTTPREQ_MAX_PATH;
	p += sprintf(p, " HTTP/1.1\r\nHost: a\r\n\r\n");
	CHECK_EQ_INT(httpreq_parse(big, (size_t)(p - big), &r), 414);
	/* At the bound it passes. */
	memmove(big + 5 + HTTPREQ_MAX_PATH - 1, big + 5 + HTTPREQ_MAX_PATH,
		(size_t)(p - big) - 5 - HTTPREQ_MAX_PATH);
	CHECK_EQ_INT(httpreq_parse(big, (size_t)(p - big) - 1, &r), 200);
	CHECK_EQ_INT(strlen(r.path), HTTPREQ_MAX_PATH);

	/* No end of head within the bound: 431, however much was read. */
	p = big + sprintf(big, "GET / HTTP/1.1\r\nHost: a\r\nX: ");
	memset(p, 'a', n - (size_t)(p - big));
	CHECK_EQ_INT(httpreq_parse(big, HTTPREQ_MAX_HEAD - 1, &r), 0);
	CHECK_EQ_INT(httpreq_parse(big, HTTPREQ_MAX_HEAD, &r), 431);
	CHECK_EQ_INT(httpreq_parse(big, n, &r), 431);

	/* Fields: the bound passes, one more is 431. */
	p = big + sprintf(big, "GET / HTTP/1.1\r\nHost: a\r\n");
	for (int i = 1; i < HTTPREQ_MAX_FIELDS; i++)
		p += sprintf(p, "X: %d\r\n", i);
	memcpy(p, "\r\n", 2);
	CHECK_EQ_INT(httpreq_parse(big, (size_t)(p - big) + 2, &r), 200);
	p += sprintf(p, "Y: 1\r\n");
	memcpy(p, "\r\n", 2);
	CHECK_EQ_INT(httpreq_parse(big, (size_t)(p - big) + 2, &r), 431);
	free(big);
}

static void
test_addr(void)
{
	struct httpreq_addr a;
	const char *why;

	CHECK_EQ_INT(httpreq_parse_addr("127.0.0.1:9100", &a, &why), 0);
	CHECK_EQ_INT(a.family, AF_INET);
	CHECK_STR(a.host, "127.0.0.1");
	CHECK_EQ_INT(a.port, 9100);
	CHECK_EQ_INT(httpreq_parse_addr("[::1]:65535", &a, &why), 0);
	CHECK_EQ_INT(a.family, AF_INET6);
	CHECK_STR(a.host, "::1");
	CHECK_EQ_INT(a.port, 65535);
	CHECK_EQ_INT(httpreq_parse_addr("/run/m.sock", &a, &why), 0);
	CHECK_EQ_INT(a.family, AF_UNIX);
	CHECK_STR(a.path, "/run/m.sock");
	static const char *bad[] = {"",
				    "127.0.0.1",
				    "127.0.0.1:",
				    ":80",
				    "127.0.0.1:0",
				    "127.0.0.1:65536",
				    "127.0.0.1:80x",
				    "127.0.0.1:+80",
				    "localhost:80",
				    "::1:80",
				    "[::1]80",
				    "[::1]:",
				    "[127.0.0.1]:80",
				    "[::1:80",
				    "run/m.sock",
				    "1.2.3.4:-1"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		why = NULL;
		CHECK_EQ_INT(httpreq_parse_addr(bad[i], &a, &why), -1);
		CHECK(why != NULL);
	}
}

int
main(void)
{
	test_good();
	test_incomplete();
	test_bad();
	test_limits();
	test_addr();
	return check_exit();
}
