/*
 * util: fatal-on-failure allocation and struct buf.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "util.h"

void *
xmalloc(size_t size)
{
	void *p = malloc(size == 0 ? 1 : size);

	if (p == NULL)
		fatal("malloc %zu", size);
	return p;
}

void *
xcalloc(size_t nmemb, size_t size)
{
	void *p = calloc(nmemb == 0 ? 1 : nmemb, size == 0 ? 1 : size);

	if (p == NULL)
		fatal("calloc %zu*%zu", nmemb, size);
	return p;
}

void *
xrealloc(void *ptr, size_t size)
{
	void *p = realloc(ptr, size == 0 ? 1 : size);

	if (p == NULL)
		fatal("realloc %zu", size);
	return p;
}

void *
xreallocarray(void *ptr, size_t nmemb, size_t size)
{
	if (size != 0 && nmemb > SIZE_MAX / size)
		fatalx("reallocarray overflow %zu*%zu", nmemb, size);
	return xrealloc(ptr, nmemb * size);
}

char *
xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *
xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

void
buf_reserve(struct buf *b, size_t extra)
{
	size_t need, cap;

	if (extra > SIZE_MAX - b->len - 1)
		fatalx("buffer overflow");
	need = b->len + extra + 1;
	if (need <= b->cap)
		return;
	cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	b->data = xrealloc(b->data, cap);
	b->cap = cap;
}

void
buf_append(struct buf *b, const void *p, size_t n)
{
	if (n == 0)
		return; /* p may be NULL then */
	buf_reserve(b, n);
	memcpy(b->data + b->len, p, n);
	b->len += n;
}

char *
buf_cstr(struct buf *b)
{
	buf_reserve(b, 0);
	b->data[b->len] = '\0';
	return b->data;
}

void
buf_free(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

void
buf_put_u64(struct buf *b, uint64_t v)
{
	buf_append(b, &v, sizeof(v));
}

void
buf_put_bytes(struct buf *b, const void *p, size_t n)
{
	buf_put_u64(b, n);
	buf_append(b, p, n);
}

uint64_t
cursor_u64(struct cursor *c)
{
	uint64_t v = 0;

	if ((size_t)(c->end - c->p) < sizeof(v)) {
		c->bad = 1;
		return 0;
	}
	memcpy(&v, c->p, sizeof(v));
	c->p += sizeof(v);
	return v;
}

const char *
cursor_bytes(struct cursor *c, size_t *len)
{
	uint64_t n = cursor_u64(c);
	const char *p = c->p;

	if (c->bad || n > (uint64_t)(c->end - c->p)) {
		c->bad = 1;
		*len = 0;
		return "";
	}
	c->p += n;
	*len = (size_t)n;
	return p;
}

bool
utf8_is_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + len;

	while (p < end) {
		unsigned char c = *p++, lo = 0x80, hi = 0xbf;
		size_t n;
		if (c < 0x80)
			continue;
		if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			lo = c == 0xe0 ? 0xa0 : 0x80;
			hi = c == 0xed ? 0x9f : 0xbf;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			lo = c == 0xf0 ? 0x90 : 0x80;
			hi = c == 0xf4 ? 0x8f : 0xbf;
		} else {
			return false;
		}
		if ((size_t)(end - p) < n || *p < lo || *p > hi)
			return false;
		for (size_t k = 1; k < n; k++)
			if (p[k] < 0x80 || p[k] > 0xbf)
				return false;
		p += n;
	}
	return true;
}

uint64_t
mono_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t
mono_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000 + (uint64_t)ts.tv_nsec;
}

int64_t
real_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
uuid_v8(uint64_t high, uint64_t low, char out[37])
{
	unsigned char b[16];

	for (int i = 0; i < 8; i++) {
		b[i] = (unsigned char)(high >> (56 - 8 * i));
		b[8 + i] = (unsigned char)(low >> (56 - 8 * i));
	}
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x80); /* version 8: custom */
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* RFC 9562 variant */
	snprintf(out, 37,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
		 "%02x%02x%02x%02x%02x%02x",
		 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9],
		 b[10], b[11], b[12], b[13], b[14], b[15]);
}
