/*
 * httpreq: one pass over a request head, field by field; nothing is kept
 * but the method and the path.  Everything else is checked and dropped:
 * only what a scraper or a health probe sends is ever needed.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "httpreq.h"

/* RFC 9110 tchar. */
static bool
is_tchar(unsigned char c)
{
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	    (c >= 'A' && c <= 'Z'))
		return true;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* Field value bytes: VCHAR, obs-text, SP and HTAB. */
static bool
is_vchar(unsigned char c)
{
	return (c >= 0x21 && c != 0x7f) || c == ' ' || c == '\t';
}

static bool
name_is(const char *p, size_t n, const char *want)
{
	size_t wl = strlen(want);

	if (n != wl)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = p[i];
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (c != want[i])
			return false;
	}
	return true;
}

static int
fail(struct httpreq *req, int code, const char *why)
{
	req->why = why;
	return code;
}

/* Finds the end of the line starting at p: the index of its CR, or -1. */
static long
line_end(const char *buf, size_t len, size_t p)
{
	for (size_t i = p; i + 1 < len; i++) {
		if (buf[i] == '\r' && buf[i + 1] == '\n')
			return (long)i;
		if (buf[i] == '\r' || buf[i] == '\n')
			return -2; /* a bare CR or LF */
	}
	if (len > p && buf[len - 1] == '\n')
		return -2;
	return -1;
}

static int
request_line(const char *s, size_t n, struct httpreq *req, bool *http11)
{
	size_t i = 0, m, t;

	while (i < n && is_tchar((unsigned char)s[i]))
		i++;
	if (i == 0 || i >= n || s[i] != ' ')
		return fail(req, 400, "bad method");
	if (i > HTTPREQ_MAX_METHOD)
		return fail(req, 400, "method too long");
	memcpy(req->method, s, i);
	req->method[i] = '\0';
	m = ++i;
	while (i < n && s[i] > 0x20 && s[i] != 0x7f)
		i++;
	if (i == m || i >= n || s[i] != ' ')
		return fail(req, 400, "bad request target");
	if (s[m] != '/')
		return fail(req, 400, "request target is not a path");
	for (t = m; t < i && s[t] != '?' && s[t] != '#'; t++)
		;
	if (t < i && s[t] == '#')
		return fail(req, 400, "fragment in request target");
	if (t - m > HTTPREQ_MAX_PATH)
		return fail(req, 414, "request target too long");
	memcpy(req->path, s + m, t - m);
	req->path[t - m] = '\0';
	i++;
	if (n - i != 8 || memcmp(s + i, "HTTP/", 5) != 0 || s[i + 5] < '0' ||
	    s[i + 5] > '9' || s[i + 6] != '.' || s[i + 7] < '0' ||
	    s[i + 7] > '9')
		return fail(req, 400, "bad HTTP version");
	if (s[i + 5] != '1' || s[i + 7] > '1')
		return fail(req, 505, "HTTP version not supported");
	*http11 = s[i + 7] == '1';
	return 200;
}

/* One "name: value" line; counts Host and refuses a body. */
static int
field(const char *s, size_t n, struct httpreq *req, int *hosts)
{
	size_t i = 0, v;

	if (n > 0 && (s[0] == ' ' || s[0] == '\t'))
		return fail(req, 400, "folded header field");
	while (i < n && is_tchar((unsigned char)s[i]))
		i++;
	if (i == 0 || i >= n || s[i] != ':')
		return fail(req, 400, "bad header field name");
	for (v = i + 1; v < n; v++)
		if (!is_vchar((unsigned char)s[v]))
			return fail(req, 400, "bad header field value");
	v = i + 1;
	while (v < n && (s[v] == ' ' || s[v] == '\t'))
		v++;
	while (n > v && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	if (name_is(s, i, "host")) {
		(*hosts)++;
	} else if (name_is(s, i, "transfer-encoding")) {
		return fail(req, 400, "request body not accepted");
	} else if (name_is(s, i, "content-length")) {
		for (size_t k = v; k < n; k++)
			if (s[k] != '0')
				return fail(req, 400,
					    "request body not accepted");
		if (v == n)
			return fail(req, 400, "bad Content-Length");
	}
	return 200;
}

int
httpreq_parse(const char *buf, size_t len, struct httpreq *req)
{
	size_t p = 0, nfields = 0;
	bool http11 = false;
	int hosts = 0, rc;
	long e;

	memset(req, 0, sizeof(*req));
	if (len > HTTPREQ_MAX_HEAD)
		len = HTTPREQ_MAX_HEAD;
	/* Robustness (RFC 9112 2.2): empty lines before the request line
	 * are not allowed here; a strict reader refuses them. */
	if ((e = line_end(buf, len, 0)) == -1)
		return len < HTTPREQ_MAX_HEAD
			   ? 0
			   : fail(req, 431, "head too large");
	if (e == -2)
		return fail(req, 400, "bare CR or LF");
	if ((rc = request_line(buf, (size_t)e, req, &http11)) != 200)
		return rc;
	p = (size_t)e + 2;
	for (;;) {
		if ((e = line_end(buf, len, p)) == -1)
			return len < HTTPREQ_MAX_HEAD
				   ? 0
				   : fail(req, 431, "head too large");
		if (e == -2)
			return fail(req, 400, "bare CR or LF");
		if ((size_t)e == p)
			break;
		if (++nfields > HTTPREQ_MAX_FIELDS)
			return fail(req, 431, "too many header fields");
		if ((rc = field(buf + p, (size_t)e - p, req, &hosts)) != 200)
			return rc;
		p = (size_t)e + 2;
	}
	if (http11 && hosts != 1)
		return fail(req, 400, hosts ? "more than one Host" : "no Host");
	if (hosts > 1)
		return fail(req, 400, "more than one Host");
	req->head_len = (size_t)e + 2;
	return 200;
}

int
httpreq_parse_addr(const char *s, struct httpreq_addr *out, const char **why)
{
	const char *colon, *host = s;
	size_t hlen;
	char *end;
	long port;
	unsigned char bin[sizeof(struct in6_addr)];

	memset(out, 0, sizeof(*out));
	if (s[0] == '/') {
		if (strlen(s) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
			*why = "socket path too long";
			return -1;
		}
		out->family = AF_UNIX;
		out->path = s;
		return 0;
	}
	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		if (close == NULL || close[1] != ':') {
			*why = "expected [IPv6]:PORT";
			return -1;
		}
		host = s + 1;
		hlen = (size_t)(close - host);
		colon = close + 1;
		out->family = AF_INET6;
	} else {
		if ((colon = strrchr(s, ':')) == NULL) {
			*why = "expected IPv4:PORT, [IPv6]:PORT or an "
			       "absolute socket path";
			return -1;
		}
		hlen = (size_t)(colon - s);
		out->family = AF_INET;
	}
	if (hlen == 0 || hlen >= sizeof(out->host)) {
		*why = "bad address";
		return -1;
	}
	memcpy(out->host, host, hlen);
	out->host[hlen] = '\0';
	if (inet_pton(out->family, out->host, bin) != 1) {
		*why = out->family == AF_INET ? "bad IPv4 address"
					      : "bad IPv6 address";
		return -1;
	}
	if (colon[1] < '0' || colon[1] > '9') {
		*why = "bad port";
		return -1;
	}
	port = strtol(colon + 1, &end, 10);
	if (*end != '\0' || port < 1 || port > 65535) {
		*why = "port out of range 1..65535";
		return -1;
	}
	out->port = (int)port;
	return 0;
}
