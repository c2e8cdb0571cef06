/*
 * util: allocation that never returns NULL, and a growable byte buffer.
 *
 * xmalloc() and friends call fatal() when memory runs out: a detector
 * that cannot allocate cannot keep its promise to count what it drops,
 * so it stops loudly instead.
 */
#ifndef BURSTD_UTIL_H
#define BURSTD_UTIL_H

#include <stdbool.h>
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

/*
 * Host-order binary fields, for state that never leaves its machine
 * (checkpoints): buf_put_u64() and buf_put_bytes() (a u64 length, then
 * the bytes) append; a struct cursor reads them back, and sets `bad`
 * instead of reading past the end.
 */
void buf_put_u64(struct buf *b, uint64_t v);
void buf_put_bytes(struct buf *b, const void *p, size_t n);

struct cursor {
	const char *p;   /* next byte */
	const char *end; /* end of the data */
	int bad;         /* a read ran past the end */
};

/* Returns the next u64, or 0 with c->bad set. */
uint64_t cursor_u64(struct cursor *c);
/* Returns the next length-prefixed bytes (borrowed), or "" with bad set. */
const char *cursor_bytes(struct cursor *c, size_t *len);

/*
 * Whether s[0..len) is strict UTF-8 (RFC 3629: shortest forms, no
 * surrogates, nothing above U+10FFFF), as the record parser demands of
 * every value; state restored from disk is checked with it before it
 * reaches an alert's JSON.
 */
bool utf8_is_valid(const char *s, size_t len);

/*
 * Writes 128 bits (high, then low, big-endian) as a UUID of version 8
 * (custom) and the RFC 9562 variant: 36 characters and a NUL in out.
 */
void uuid_v8(uint64_t high, uint64_t low, char out[37]);

/* Monotonic and real-time clocks in milliseconds. */
uint64_t mono_now_ms(void);
int64_t real_now_ms(void);
/* The monotonic clock in nanoseconds. */
uint64_t mono_now_ns(void);

#endif
