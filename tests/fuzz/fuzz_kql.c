/*
 * fuzz_kql: kql_new() and kql_match() on arbitrary queries.  The input
 * is the query, a newline, then the row: values separated by newlines,
 * the first two for keyword columns a and b (a third and fourth value
 * make b multi-valued), then a number for the long column n.
 *
 * Whatever the input, compiling returns a query or an error ending in
 * "at offset N" with N at most the query's length.  A compiled query Q
 * answers on the row; `not (Q)` answers the opposite and `(Q) and (Q)`
 * the same; and when kql_needles() proves needles, a matching row holds
 * one of them in the named column.
 */
#define _GNU_SOURCE /* memmem */
#include <string.h>

#include "fuzz.h"
#include "kql.h"

static const struct {
	const char *name;
	enum esql_type type;
} fields[] = {
    {"a", ESQL_T_KEYWORD},
    {"b", ESQL_T_KEYWORD},
    {"n", ESQL_T_LONG},
    {"ip", ESQL_T_IP},
};

static int
resolve(void *arg, const char *field, size_t len, int *column,
	enum esql_type *t)
{
	(void)arg;
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (strlen(fields[i].name) == len &&
		    memcmp(fields[i].name, field, len) == 0) {
			*column = (int)i;
			*t = fields[i].type;
			return 0;
		}
	return -1;
}

static struct kql *
compile(const char *q, size_t len)
{
	char err[256];
	struct kql *k = kql_new(q, len, resolve, NULL, err, sizeof(err));
	const char *at;

	if (k != NULL)
		return k;
	at = strstr(err, " at offset ");
	FUZZ_CHECK(at != NULL);
	FUZZ_CHECK(strtoul(at + 11, NULL, 10) <= len || len > KQL_MAX_QUERY);
	return NULL;
}

/* The next newline-separated piece of the row, or NULL at the end. */
static const char *
piece(const char **p, const char *end, size_t *len)
{
	const char *s = *p, *nl;

	if (s >= end)
		return NULL;
	nl = memchr(s, '\n', (size_t)(end - s));
	*len = nl != NULL ? (size_t)(nl - s) : (size_t)(end - s);
	*p = s + *len + 1;
	return s;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data, *end = s + size, *nl, *r, *v;
	size_t qlen, len;
	struct esql_val cols[4];
	struct esql_scalar a, b[3], n;
	struct esql_needles nd;
	struct kql *k, *k2;
	char *buf;
	bool got;

	nl = memchr(s, '\n', size);
	qlen = nl != NULL ? (size_t)(nl - s) : size;
	r = nl != NULL ? nl + 1 : end;
	for (size_t i = 0; i < 4; i++)
		esql_val_null(&cols[i], fields[i].type);
	if ((v = piece(&r, end, &len)) != NULL) {
		a.u.s.p = v;
		a.u.s.len = len;
		cols[0].n = 1;
		cols[0].one = a;
	}
	for (size_t i = 0; i < 3 && (v = piece(&r, end, &len)) != NULL; i++) {
		b[i].u.s.p = v;
		b[i].u.s.len = len;
		cols[1].n = i + 1;
		cols[1].many = b;
	}
	memset(&n, 0, sizeof(n));
	if (r < end) {
		for (; r < end && *r >= '0' && *r <= '9' && n.u.l < 1000000;
		     r++)
			n.u.l = n.u.l * 10 + (*r - '0');
		cols[2].n = 1;
		cols[2].one = n;
	}

	k = compile(s, qlen);
	if (k == NULL)
		return 0;
	got = kql_match(k, cols);
	if (got && kql_needles(k, &nd)) {
		bool found = false;

		FUZZ_CHECK(nd.n > 0 && nd.n <= ESQL_NEEDLES_MAX);
		for (size_t i = 0; i < nd.n && !found; i++) {
			const struct esql_val *c = &cols[nd.v[i].column];

			FUZZ_CHECK(nd.v[i].column == 0 || nd.v[i].column == 1);
			for (size_t j = 0; j < c->n && !found; j++) {
				const struct esql_scalar *x =
				    &esql_val_items(c)[j];

				found = memmem(x->u.s.p, x->u.s.len, nd.v[i].p,
					       nd.v[i].len) != NULL;
			}
		}
		FUZZ_CHECK(found);
	}
	if (qlen > 0 && qlen < 4096) {
		buf = malloc(2 * qlen + 16);
		memcpy(buf, "not (", 5);
		memcpy(buf + 5, s, qlen);
		buf[5 + qlen] = ')';
		if ((k2 = compile(buf, qlen + 6)) != NULL) {
			FUZZ_CHECK(kql_match(k2, cols) == !got);
			kql_free(k2);
		}
		len = 0;
		buf[len++] = '(';
		memcpy(buf + len, s, qlen);
		len += qlen;
		memcpy(buf + len, ") and (", 7);
		len += 7;
		memcpy(buf + len, s, qlen);
		len += qlen;
		buf[len++] = ')';
		if ((k2 = compile(buf, len)) != NULL) {
			FUZZ_CHECK(kql_match(k2, cols) == got);
			kql_free(k2);
		}
		free(buf);
	}
	kql_free(k);
	return 0;
}
