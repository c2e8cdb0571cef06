/*
 * httpreq: the strict HTTP/1.x request-head reader of the metrics
 * listener (http.h), and the syntax of its listen address.  No I/O: a
 * buffer in, a verdict out, so that it can be fuzzed and tested alone.
 *
 * A head is a request line (METHOD SP origin-form target SP HTTP/1.0 or
 * HTTP/1.1 CRLF), header fields (token ":" value CRLF; no folding) and an
 * empty line.  An HTTP/1.1 request must carry exactly one Host; a body
 * (Content-Length other than 0, any Transfer-Encoding) is refused, since
 * nothing served takes one.
 */
#ifndef BURSTD_HTTPREQ_H
#define BURSTD_HTTPREQ_H

#include <stddef.h>

#define HTTPREQ_MAX_HEAD 8192 /* bytes of a request head, at most */
#define HTTPREQ_MAX_METHOD 16 /* bytes of a method, at most */
#define HTTPREQ_MAX_PATH 256  /* bytes of a target's path, at most */
#define HTTPREQ_MAX_FIELDS 64 /* header fields, at most */

struct httpreq {
	char method[HTTPREQ_MAX_METHOD + 1]; /* e.g. "GET", NUL-terminated */
	char path[HTTPREQ_MAX_PATH + 1];     /* the target up to any '?' */
	size_t head_len;                     /* bytes of the head, final
	                                      * CRLF CRLF included */
	const char *why;                     /* static: what was wrong, when
	                                      * the verdict is not 200 */
};

/*
 * Reads the head at the start of buf (len bytes, not NUL-terminated).
 * Returns 0 while the head is incomplete and len < HTTPREQ_MAX_HEAD (read
 * more); 200 when it is complete and well formed (req filled); 400 when
 * it is malformed, 414 when the path is too long, 431 when no complete
 * head fits in HTTPREQ_MAX_HEAD bytes or it has too many fields, 505 for
 * an HTTP version other than 1.0 and 1.1 (req->why says which rule).
 */
int httpreq_parse(const char *buf, size_t len, struct httpreq *req);

/* A listen address, parsed: host and port, or a Unix socket path. */
struct httpreq_addr {
	int family;       /* AF_INET, AF_INET6 or AF_UNIX */
	char host[64];    /* the IP address, brackets removed */
	int port;         /* 1..65535 */
	const char *path; /* AF_UNIX: the path (borrowed from the text) */
};

/*
 * Parses "IPv4:PORT", "[IPv6]:PORT" or an absolute path into out.
 * Returns 0, or -1 with a static reason in *why.
 */
int
httpreq_parse_addr(const char *s, struct httpreq_addr *out, const char **why);

#endif
