/*
 * esql_value: ES|QL values at run time, shared by the expression
 * evaluator (esql_expr), the aggregates (agg) and the alert writer.
 *
 * ES|QL is statically typed: every column has one type, known when the
 * query is compiled, and holds for each row zero values (null), one
 * value, or several (a multi-valued field).  A struct esql_val is one
 * column's content for one row: its type and its n values.  Values are
 * borrowed: keyword bytes point into the record parser's arena, into
 * the query's literals or into a struct esql_arena, which the caller
 * resets between events.  Nothing here allocates on the C heap in steady
 * state.
 *
 * Ordering (esql_scalar_cmp) is that of ES|QL's SORT and of MIN/MAX:
 * keywords by UTF-8 bytes (the same as Lucene's BytesRef order), numbers
 * numerically, booleans false < true, IPs by their 16-byte form.
 */
#ifndef BURSTD_ESQL_VALUE_H
#define BURSTD_ESQL_VALUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

enum esql_type {
	ESQL_T_NULL,          /* the type of a bare null literal */
	ESQL_T_KEYWORD,       /* keyword, text, wildcard: UTF-8 bytes */
	ESQL_T_INTEGER,       /* 32-bit signed, held in l */
	ESQL_T_LONG,          /* 64-bit signed, in l */
	ESQL_T_DOUBLE,        /* in d; never NaN or infinite (those are null) */
	ESQL_T_BOOLEAN,       /* in l: 0 or 1 */
	ESQL_T_DATETIME,      /* epoch milliseconds, in l */
	ESQL_T_IP,            /* 16 bytes, IPv4 as ::ffff:a.b.c.d, in ip */
	ESQL_T_TIME_DURATION, /* a constant span such as `1 minute`: ms in l */
	ESQL_T_DATE_PERIOD,   /* a constant calendar span: months in l */
};

struct esql_scalar {
	union {
		struct {
			const char *p; /* not NUL-terminated */
			size_t len;
		} s;
		int64_t l;
		double d;
		unsigned char ip[16];
	} u;
};

/*
 * One column of one row.  n == 0 is null.  With n == 1 the value may be
 * held in `one` (and `many` is NULL); use esql_val_items() to read.
 */
struct esql_val {
	enum esql_type type;
	size_t n;
	const struct esql_scalar *many;
	struct esql_scalar one;
};

static inline const struct esql_scalar *
esql_val_items(const struct esql_val *v)
{
	return v->many != NULL ? v->many : &v->one;
}

static inline void
esql_val_null(struct esql_val *v, enum esql_type t)
{
	v->type = t;
	v->n = 0;
	v->many = NULL;
}

/*
 * A bump allocator for values computed while one event is evaluated
 * (strings built by functions, arrays of multi-values).  Reset releases
 * everything at once and keeps the memory for the next event.  The
 * arena owns its blocks; esql_arena_free() releases them.
 */
struct esql_arena {
	char *block;      /* current block */
	size_t used, cap; /* bytes used and held in it */
	void *full;       /* blocks filled before this one, a list */
	size_t total;     /* bytes held in all blocks */
};

void *esql_arena_alloc(struct esql_arena *a, size_t n);
void esql_arena_reset(struct esql_arena *a);
void esql_arena_free(struct esql_arena *a);

const char *esql_type_name(enum esql_type t); /* "keyword", "long", ... */

/* <0, 0, >0: the ES|QL order of two values of type t. */
int esql_scalar_cmp(enum esql_type t, const struct esql_scalar *a,
		    const struct esql_scalar *b);

/*
 * A value's canonical bytes, for group keys and distinct sets: equal
 * values give equal bytes and different values different bytes.
 * esql_scalar_decode() reads back what esql_scalar_encode() appended,
 * returning the bytes consumed or 0 if malformed (keyword bytes then
 * point into p).
 */
void esql_scalar_encode(enum esql_type t, const struct esql_scalar *v,
			struct buf *out);
size_t esql_scalar_decode(enum esql_type t, const char *p, size_t len,
			  struct esql_scalar *out);

/*
 * Appends a value as ES|QL prints it in a JSON response: a keyword as a
 * JSON string, a datetime as "2024-05-01T12:00:00.000Z", an ip as text,
 * numbers and booleans as JSON numbers and booleans.
 */
void esql_scalar_json(enum esql_type t, const struct esql_scalar *v,
		      struct buf *out);

/*
 * Parses an IPv4 (dotted quad, no leading zeros) or IPv6 address (also
 * with an embedded IPv4 tail) into 16 bytes, IPv4 as ::ffff:a.b.c.d.
 * Returns 0, or -1 if s is not an address.
 */
int esql_ip_parse(const char *s, size_t len, unsigned char ip[16]);

/*
 * Writes an address as Java's InetAddresses.toAddrString(): an IPv4-mapped
 * address as a.b.c.d, IPv6 per RFC 5952 (lower-case hex, no leading
 * zeros, the first longest run of two or more zero groups as "::").
 * out holds ESQL_IP_MAX bytes; returns the length (NUL-terminated).
 */
#define ESQL_IP_MAX 48
size_t esql_ip_format(const unsigned char ip[16], char *out);

/*
 * Writes a finite double as Java's Double.toString(): the shortest digits
 * that read back the same, as "123.0" or "0.001" when 1e-3 <= |d| < 1e7,
 * else as "1.0E7", "1.234E-5".  out holds ESQL_DOUBLE_MAX bytes.
 */
#define ESQL_DOUBLE_MAX 32
size_t esql_double_format(double d, char *out);

#endif
