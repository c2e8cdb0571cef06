/*
 * util: allocation that never returns NULL, and a growable byte buffer.
 *
 * xmalloc() and friends call fatal() when memory runs out: a detector
 * that cannot allocate cannot keep its promise to count what it drops,
 * so it stops loudly instead.
 */
#ifndef BURSTD_UTIL_H
#define BURSTD_UTIL_H

#include <stddef.h>
#include <stdint.h>

void *xmalloc(size_t size);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *ptr, size_t size);
/* Like reallocarray(3), fatal on overflow or exhaustion. */
void *xreallocarray(void *ptr, size_t nmemb, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

/* A byte buffer; the caller owns `data` and frees it with buf_free(). */
struct buf {
	char *data; /* bytes, not NUL-terminated unless buf_cstr() was called */
	size_t len; /* bytes in use */
	size_t cap; /* bytes allocated */
};

void buf_reserve(struct buf *b, size_t extra);
void buf_append(struct buf *b, const void *p, size_t n);
/* NUL-terminates without counting the NUL in len; returns data. */
char *buf_cstr(struct buf *b);
void buf_free(struct buf *b);

/* Monotonic and real-time clocks in milliseconds. */
uint64_t mono_now_ms(void);
int64_t real_now_ms(void);

#endif
