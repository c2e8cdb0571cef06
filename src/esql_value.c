/*
 * esql_value: the arena, the order, the encoding and the printing of
 * ES|QL values.  See include/esql_value.h.
 */
#include <arpa/inet.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "esql_value.h"
#include "timefmt.h"

/* Arena. */

#define ARENA_MIN_BLOCK 4096

struct arena_block {
	struct arena_block *next;
	size_t cap;
	/* then the bytes, max-aligned */
};

#define ARENA_HDR                                                 \
	((sizeof(struct arena_block) + sizeof(max_align_t) - 1) / \
	 sizeof(max_align_t) * sizeof(max_align_t))

void *
esql_arena_alloc(struct esql_arena *a, size_t n)
{
	size_t align = sizeof(max_align_t);
	size_t off = (a->used + align - 1) / align * align;

	if (n == 0)
		n = 1;
	if (a->block == NULL || off > a->cap || n > a->cap - off) {
		size_t cap = a->cap * 2;
		struct arena_block *b;

		if (cap < ARENA_MIN_BLOCK)
			cap = ARENA_MIN_BLOCK;
		while (cap < n)
			cap *= 2;
		b = xmalloc(ARENA_HDR + cap);
		b->cap = cap;
		b->next = NULL;
		if (a->block != NULL) {
			struct arena_block *cur =
			    (struct arena_block *)(a->block - ARENA_HDR);

			cur->next = a->full;
			a->full = cur;
		}
		a->block = (char *)b + ARENA_HDR;
		a->cap = cap;
		a->total += cap;
		off = 0;
	}
	a->used = off + n;
	return a->block + off;
}

/*
 * Reset keeps only the current (largest) block, so a steady event load
 * settles on one block and allocates nothing.
 */
void
esql_arena_reset(struct esql_arena *a)
{
	struct arena_block *b = a->full, *next;

	for (; b != NULL; b = next) {
		next = b->next;
		a->total -= b->cap;
		free(b);
	}
	a->full = NULL;
	a->used = 0;
}

void
esql_arena_free(struct esql_arena *a)
{
	esql_arena_reset(a);
	if (a->block != NULL)
		free(a->block - ARENA_HDR);
	memset(a, 0, sizeof(*a));
}

const char *
esql_type_name(enum esql_type t)
{
	switch (t) {
	case ESQL_T_NULL:
		return "null";
	case ESQL_T_KEYWORD:
		return "keyword";
	case ESQL_T_INTEGER:
		return "integer";
	case ESQL_T_LONG:
		return "long";
	case ESQL_T_DOUBLE:
		return "double";
	case ESQL_T_BOOLEAN:
		return "boolean";
	case ESQL_T_DATETIME:
		return "datetime";
	case ESQL_T_IP:
		return "ip";
	case ESQL_T_TIME_DURATION:
		return "time_duration";
	case ESQL_T_DATE_PERIOD:
		return "date_period";
	}
	return "unknown";
}

int
esql_scalar_cmp(enum esql_type t, const struct esql_scalar *a,
		const struct esql_scalar *b)
{
	switch (t) {
	case ESQL_T_KEYWORD: {
		size_t n = a->u.s.len < b->u.s.len ? a->u.s.len : b->u.s.len;
		int c = n > 0 ? memcmp(a->u.s.p, b->u.s.p, n) : 0;

		if (c != 0)
			return c;
		return (a->u.s.len > b->u.s.len) - (a->u.s.len < b->u.s.len);
	}
	case ESQL_T_DOUBLE:
		return (a->u.d > b->u.d) - (a->u.d < b->u.d);
	case ESQL_T_IP:
		return memcmp(a->u.ip, b->u.ip, 16);
	case ESQL_T_NULL:
		return 0;
	default:
		return (a->u.l > b->u.l) - (a->u.l < b->u.l);
	}
}

/* Encoding: keywords length-prefixed, numbers as 8 bytes big-endian. */

static void
put_be64(struct buf *out, uint64_t v)
{
	unsigned char b[8];

	for (int i = 7; i >= 0; i--, v >>= 8)
		b[i] = v & 0xff;
	buf_append(out, b, 8);
}

static uint64_t
get_be64(const char *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | (unsigned char)p[i];
	return v;
}

void
esql_scalar_encode(enum esql_type t, const struct esql_scalar *v,
		   struct buf *out)
{
	uint64_t bits;
	double d;

	switch (t) {
	case ESQL_T_NULL:
		return;
	case ESQL_T_KEYWORD:
		put_be64(out, v->u.s.len);
		buf_append(out, v->u.s.p, v->u.s.len);
		return;
	case ESQL_T_IP:
		buf_append(out, v->u.ip, 16);
		return;
	case ESQL_T_DOUBLE:
		d = v->u.d == 0 ? 0.0 : v->u.d; /* -0.0 == 0.0 */
		memcpy(&bits, &d, 8);
		put_be64(out, bits);
		return;
	default:
		put_be64(out, (uint64_t)v->u.l);
		return;
	}
}

size_t
esql_scalar_decode(enum esql_type t, const char *p, size_t len,
		   struct esql_scalar *out)
{
	uint64_t v;

	memset(out, 0, sizeof(*out));
	switch (t) {
	case ESQL_T_NULL:
		return 0;
	case ESQL_T_KEYWORD:
		if (len < 8)
			return 0;
		v = get_be64(p);
		if (v > len - 8)
			return 0;
		out->u.s.p = p + 8;
		out->u.s.len = (size_t)v;
		return 8 + (size_t)v;
	case ESQL_T_IP:
		if (len < 16)
			return 0;
		memcpy(out->u.ip, p, 16);
		return 16;
	case ESQL_T_DOUBLE:
		if (len < 8)
			return 0;
		v = get_be64(p);
		memcpy(&out->u.d, &v, 8);
		if (!isfinite(out->u.d))
			return 0;
		return 8;
	default:
		if (len < 8)
			return 0;
		out->u.l = (int64_t)get_be64(p);
		if (t == ESQL_T_BOOLEAN && (out->u.l | 1) != 1)
			return 0;
		if (t == ESQL_T_INTEGER &&
		    (out->u.l < INT32_MIN || out->u.l > INT32_MAX))
			return 0;
		return 8;
	}
}

/* IP addresses. */

static const unsigned char v4_prefix[12] = {0, 0, 0, 0, 0,    0,
					    0, 0, 0, 0, 0xff, 0xff};

int
esql_ip_parse(const char *s, size_t len, unsigned char ip[16])
{
	char tmp[64];

	if (len == 0 || len >= sizeof(tmp) || memchr(s, '\0', len) != NULL)
		return -1;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	if (memchr(s, ':', len) == NULL) {
		memcpy(ip, v4_prefix, 12);
		return inet_pton(AF_INET, tmp, ip + 12) == 1 ? 0 : -1;
	}
	return inet_pton(AF_INET6, tmp, ip) == 1 ? 0 : -1;
}

size_t
esql_ip_format(const unsigned char ip[16], char *out)
{
	unsigned g[8];
	int best = -1, bestlen = 1, run = 0;
	size_t n = 0;

	if (memcmp(ip, v4_prefix, 12) == 0)
		return (size_t)snprintf(out, ESQL_IP_MAX, "%u.%u.%u.%u", ip[12],
					ip[13], ip[14], ip[15]);
	for (int i = 0; i < 8; i++)
		g[i] = (unsigned)ip[2 * i] << 8 | ip[2 * i + 1];
	for (int i = 0; i < 8; i++) {
		run = g[i] == 0 ? run + 1 : 0;
		if (run > bestlen) {
			bestlen = run;
			best = i - run + 1;
		}
	}
	for (int i = 0; i < 8; i++) {
		if (i == best) {
			n += (size_t)snprintf(out + n, ESQL_IP_MAX - n, "::");
			i += bestlen - 1;
			continue;
		}
		if (i > 0 && i != best + bestlen)
			out[n++] = ':';
		n += (size_t)snprintf(out + n, ESQL_IP_MAX - n, "%x", g[i]);
	}
	out[n] = '\0';
	return n;
}

/* Java's Double.toString. */

size_t
esql_double_format(double d, char *out)
{
	char tmp[40], digits[20];
	int prec, exp10, nd = 0;
	size_t n = 0;
	char *e;

	if (d == 0)
		return (size_t)snprintf(out, ESQL_DOUBLE_MAX, "%s",
					signbit(d) ? "-0.0" : "0.0");
	if (!isfinite(d))
		return (size_t)snprintf(out, ESQL_DOUBLE_MAX, "%s",
					isnan(d) ? "NaN"
					: d > 0  ? "Infinity"
						 : "-Infinity");
	for (prec = 0; prec < 17; prec++) {
		snprintf(tmp, sizeof(tmp), "%.*e", prec, d);
		if (strtod(tmp, NULL) == d)
			break;
	}
	/* tmp is [-]d[.ddd]e[+-]xx */
	for (const char *p = tmp; *p != 'e'; p++)
		if (*p >= '0' && *p <= '9')
			digits[nd++] = *p;
	while (nd > 1 && digits[nd - 1] == '0')
		nd--;
	e = strchr(tmp, 'e');
	exp10 = atoi(e + 1);
	if (d < 0)
		out[n++] = '-';
	if (exp10 >= -3 && exp10 < 7) {
		if (exp10 < 0) {
			out[n++] = '0';
			out[n++] = '.';
			for (int i = -1; i > exp10; i--)
				out[n++] = '0';
			for (int i = 0; i < nd; i++)
				out[n++] = digits[i];
		} else {
			for (int i = 0; i <= exp10; i++)
				out[n++] = i < nd ? digits[i] : '0';
			out[n++] = '.';
			if (nd > exp10 + 1)
				for (int i = exp10 + 1; i < nd; i++)
					out[n++] = digits[i];
			else
				out[n++] = '0';
		}
		out[n] = '\0';
		return n;
	}
	out[n++] = digits[0];
	out[n++] = '.';
	if (nd > 1)
		for (int i = 1; i < nd; i++)
			out[n++] = digits[i];
	else
		out[n++] = '0';
	n += (size_t)snprintf(out + n, ESQL_DOUBLE_MAX - n, "E%d", exp10);
	return n;
}

/* JSON. */

static void
json_string(const char *p, size_t len, struct buf *out)
{
	static const char hex[] = "0123456789abcdef";

	buf_append(out, "\"", 1);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)p[i];
		char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};

		if (c == '"' || c == '\\') {
			buf_append(out, "\\", 1);
			buf_append(out, &p[i], 1);
		} else if (c == '\n')
			buf_append(out, "\\n", 2);
		else if (c == '\r')
			buf_append(out, "\\r", 2);
		else if (c == '\t')
			buf_append(out, "\\t", 2);
		else if (c < 0x20)
			buf_append(out, esc, 6);
		else
			buf_append(out, &p[i], 1);
	}
	buf_append(out, "\"", 1);
}

void
esql_scalar_json(enum esql_type t, const struct esql_scalar *v, struct buf *out)
{
	char tmp[64];
	int n;

	switch (t) {
	case ESQL_T_NULL:
		buf_append(out, "null", 4);
		return;
	case ESQL_T_KEYWORD:
		json_string(v->u.s.p, v->u.s.len, out);
		return;
	case ESQL_T_INTEGER:
	case ESQL_T_LONG:
		n = snprintf(tmp, sizeof(tmp), "%lld", (long long)v->u.l);
		buf_append(out, tmp, (size_t)n);
		return;
	case ESQL_T_DOUBLE:
		buf_append(out, tmp, esql_double_format(v->u.d, tmp));
		return;
	case ESQL_T_BOOLEAN:
		if (v->u.l)
			buf_append(out, "true", 4);
		else
			buf_append(out, "false", 5);
		return;
	case ESQL_T_DATETIME: {
		size_t len = timefmt_iso(v->u.l, tmp);

		json_string(tmp, len, out);
		return;
	}
	case ESQL_T_IP: {
		size_t len = esql_ip_format(v->u.ip, tmp);

		json_string(tmp, len, out);
		return;
	}
	case ESQL_T_TIME_DURATION:
		n = snprintf(tmp, sizeof(tmp), "\"%lldms\"", (long long)v->u.l);
		buf_append(out, tmp, (size_t)n);
		return;
	case ESQL_T_DATE_PERIOD:
		n = snprintf(tmp, sizeof(tmp), "\"P%lldM\"", (long long)v->u.l);
		buf_append(out, tmp, (size_t)n);
		return;
	}
}
