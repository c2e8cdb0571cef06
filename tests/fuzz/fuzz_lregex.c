/*
 * fuzz_lregex: lregex_new() and lregex_match() on arbitrary pattern and
 * value pairs.  The input is the pattern, a newline, then the value.
 *
 * Whatever the input, compiling returns an automaton within
 * LREGEX_MAX_STATES states or an error ending in "at offset N" with N
 * at most the pattern's length.  When the pattern has no `&`, `~` or
 * `<` and the value is short, the automaton's answer must be that of a
 * slow backtracking matcher written here from RegExp.java's grammar.
 * Whatever the pattern: ~(P) matches exactly what P does not, (P)&(P)
 * matches what P does, and LREGEX_FOLD matches the value as P matches
 * the value lower-cased with like_lower().
 */
#include <string.h>

#include "fuzz.h"
#include "like.h"
#include "lregex.h"

#define REF_MAX_PATTERN 48
#define REF_MAX_VALUE 12
#define REF_MAX_NODES 256
#define REF_MAX_STEPS 200000

enum kind {
	N_SET,  /* ranges r[0..nr) */
	N_CAT,  /* a then b */
	N_ALT,  /* a or b */
	N_REP,  /* a{min,max}, max < 0 unbounded */
	N_EPS,  /* the empty string */
	N_NONE, /* the empty language */
	N_ANYS, /* any string */
};

struct node {
	enum kind kind;
	int a, b;
	long min, max;
	uint32_t lo[8], hi[8];
	int nr;
	bool neg;
};

struct ref {
	const char *s;
	size_t len, pos;
	struct node n[REF_MAX_NODES];
	int nn;
	bool bad; /* a parse error, or beyond what the reference handles */
	uint32_t v[REF_MAX_VALUE + 1];
	size_t nv;
	long steps;
};

static int
mk(struct ref *r, enum kind k)
{
	if (r->nn >= REF_MAX_NODES) {
		r->bad = true;
		return 0;
	}
	memset(&r->n[r->nn], 0, sizeof(r->n[0]));
	r->n[r->nn].kind = k;
	return r->nn++;
}

static int
mk2(struct ref *r, enum kind k, int a, int b)
{
	int i = mk(r, k);

	r->n[i].a = a;
	r->n[i].b = b;
	return i;
}

static bool
more(struct ref *r)
{
	return r->pos < r->len;
}

static bool
peek(struct ref *r, const char *set)
{
	return more(r) && r->s[r->pos] != '\0' && strchr(set, r->s[r->pos]);
}

static bool
eat(struct ref *r, char c)
{
	if (more(r) && r->s[r->pos] == c) {
		r->pos++;
		return true;
	}
	return false;
}

/* One code point, decoded as lregex decodes patterns. */
static uint32_t
next(struct ref *r)
{
	const unsigned char *s = (const unsigned char *)r->s + r->pos;
	size_t left = r->len - r->pos, k;
	uint32_t c;

	if (!more(r)) {
		r->bad = true;
		return 0;
	}
	c = s[0];
	k = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
	if (k > left)
		k = 1;
	for (size_t i = 1; i < k; i++)
		if ((s[i] & 0xc0) != 0x80)
			k = 1;
	if (k > 1) {
		c &= 0x3fu >> (k - 1);
		for (size_t i = 1; i < k; i++)
			c = c << 6 | (s[i] & 0x3f);
	}
	r->pos += k;
	return c;
}

static void
add_range(struct ref *r, int i, uint32_t lo, uint32_t hi)
{
	if (r->n[i].nr >= 8) {
		r->bad = true;
		return;
	}
	r->n[i].lo[r->n[i].nr] = lo;
	r->n[i].hi[r->n[i].nr++] = hi;
}

/* \d and friends into set i; 1 if one was read, -1 on error. */
static int
predef(struct ref *r, int i, bool *neg)
{
	char c;

	if (!eat(r, '\\'))
		return 0;
	if (peek(r, "\\")) {
		r->pos++;
		add_range(r, i, '\\', '\\');
		return 1;
	}
	if (!peek(r, "dDsSwW")) {
		if (more(r) && ((r->s[r->pos] >= 'a' && r->s[r->pos] <= 'z') ||
				(r->s[r->pos] >= 'A' && r->s[r->pos] <= 'Z')))
			return -1;
		return 0;
	}
	c = r->s[r->pos++];
	if (c == 'D' || c == 'S' || c == 'W')
		*neg = true;
	if (c == 'd' || c == 'D')
		add_range(r, i, '0', '9');
	else if (c == 's' || c == 'S') {
		add_range(r, i, ' ', ' ');
		add_range(r, i, '\t', '\n');
		add_range(r, i, '\r', '\r');
	} else {
		add_range(r, i, 'a', 'z');
		add_range(r, i, 'A', 'Z');
		add_range(r, i, '_', '_');
		add_range(r, i, '0', '9');
	}
	return 1;
}

static uint32_t
charexp(struct ref *r)
{
	eat(r, '\\');
	return next(r);
}

static int p_union(struct ref *r, int depth);

static int
p_simple(struct ref *r, int depth)
{
	int i, k;
	bool neg = false;

	if (eat(r, '.')) {
		i = mk(r, N_SET);
		add_range(r, i, 0, 0x10ffff);
		return i;
	}
	if (eat(r, '#'))
		return mk(r, N_NONE);
	if (eat(r, '@'))
		return mk(r, N_ANYS);
	if (eat(r, '"')) {
		i = mk(r, N_EPS);
		while (more(r) && !peek(r, "\"") && !r->bad) {
			uint32_t c = next(r);
			int s = mk(r, N_SET);

			add_range(r, s, c, c);
			i = mk2(r, N_CAT, i, s);
		}
		if (!eat(r, '"'))
			r->bad = true;
		return i;
	}
	if (eat(r, '(')) {
		if (eat(r, ')'))
			return mk(r, N_EPS);
		if (depth > 20) {
			r->bad = true;
			return 0;
		}
		i = p_union(r, depth + 1);
		if (!eat(r, ')'))
			r->bad = true;
		return i;
	}
	i = mk(r, N_SET);
	k = predef(r, i, &neg);
	if (k < 0) {
		r->bad = true;
		return i;
	}
	r->n[i].neg = neg;
	if (k == 0) {
		uint32_t c = charexp(r);

		add_range(r, i, c, c);
	}
	return i;
}

static int
p_class(struct ref *r)
{
	int i = mk(r, N_SET), k;
	bool neg = false;

	r->n[i].neg = eat(r, '^');
	do {
		uint32_t lo, hi;

		k = predef(r, i, &neg);
		if (k < 0 || neg) {
			r->bad = true; /* \D in a class: not modelled */
			return i;
		}
		if (k > 0)
			continue;
		lo = hi = charexp(r);
		if (eat(r, '-'))
			hi = charexp(r);
		if (lo > hi)
			r->bad = true;
		add_range(r, i, lo, hi);
	} while (!r->bad && more(r) && !peek(r, "]"));
	if (!eat(r, ']'))
		r->bad = true;
	return i;
}

static bool
number(struct ref *r, long *v)
{
	size_t start = r->pos;

	*v = 0;
	while (peek(r, "0123456789")) {
		*v = *v * 10 + (r->s[r->pos++] - '0');
		if (*v > 100)
			return false; /* beyond the reference */
	}
	return r->pos > start;
}

static int
p_repeat(struct ref *r, int depth)
{
	int i = eat(r, '[') ? p_class(r) : p_simple(r, depth);
	long n, m;

	while (!r->bad && peek(r, "?*+{")) {
		int j = mk2(r, N_REP, i, 0);

		r->n[j].min = 0;
		r->n[j].max = -1;
		if (eat(r, '?'))
			r->n[j].max = 1;
		else if (eat(r, '*'))
			;
		else if (eat(r, '+'))
			r->n[j].min = 1;
		else {
			r->pos++;
			if (!number(r, &n)) {
				r->bad = true;
				return j;
			}
			m = n;
			if (eat(r, ',')) {
				m = -1;
				if (peek(r, "0123456789") && !number(r, &m)) {
					r->bad = true;
					return j;
				}
			}
			if (!eat(r, '}'))
				r->bad = true;
			r->n[j].min = n;
			r->n[j].max = m;
		}
		i = j;
	}
	return i;
}

static int
p_concat(struct ref *r, int depth)
{
	int i = p_repeat(r, depth);

	while (!r->bad && more(r) && !peek(r, ")|&"))
		i = mk2(r, N_CAT, i, p_repeat(r, depth));
	return i;
}

static int
p_union(struct ref *r, int depth)
{
	int i = p_concat(r, depth);

	while (!r->bad && eat(r, '|'))
		i = mk2(r, N_ALT, i, p_concat(r, depth));
	return i;
}

/* Continuations: match node then the rest, or one more repetition. */
struct cont {
	int node;     /* -1: a repetition step */
	int rep;      /* the N_REP node */
	long count;   /* repetitions done */
	size_t start; /* where this repetition began */
	const struct cont *next;
};

static bool m(struct ref *r, int n, size_t i, const struct cont *k);

static bool
run(struct ref *r, size_t i, const struct cont *k)
{
	if (++r->steps > REF_MAX_STEPS)
		return false;
	if (k == NULL)
		return i == r->nv;
	if (k->node >= 0)
		return m(r, k->node, i, k->next);
	{
		const struct node *rp = &r->n[k->rep];
		struct cont again = {-1, k->rep, k->count + 1, i, k->next};

		if (k->count >= rp->min && run(r, i, k->next))
			return true;
		if (rp->max >= 0 && k->count >= rp->max)
			return false;
		/* an optional repetition that consumed nothing adds nothing */
		if (k->count > rp->min && i == k->start)
			return false;
		return m(r, rp->a, i, &again);
	}
}

static bool
m(struct ref *r, int n, size_t i, const struct cont *k)
{
	const struct node *x = &r->n[n];
	struct cont c = {0};

	if (++r->steps > REF_MAX_STEPS)
		return false;
	switch (x->kind) {
	case N_SET: {
		bool in = false;

		if (i >= r->nv)
			return false;
		for (int j = 0; j < x->nr; j++)
			if (r->v[i] >= x->lo[j] && r->v[i] <= x->hi[j])
				in = true;
		return in != x->neg && run(r, i + 1, k);
	}
	case N_CAT:
		c.node = x->b;
		c.next = k;
		return m(r, x->a, i, &c);
	case N_ALT:
		return m(r, x->a, i, k) || m(r, x->b, i, k);
	case N_REP:
		c.node = -1;
		c.rep = n;
		c.count = 0;
		c.start = (size_t)-1;
		c.next = k;
		return run(r, i, &c);
	case N_EPS:
		return run(r, i, k);
	case N_NONE:
		return false;
	case N_ANYS:
		for (size_t j = i; j <= r->nv; j++)
			if (run(r, j, k))
				return true;
		return false;
	}
	return false;
}

/* The value as code points, decoded as lregex_match() does. */
static bool
decode(struct ref *r, const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;

	r->nv = 0;
	for (size_t i = 0; i < len;) {
		uint32_t c = u[i++];
		int more = c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : c >= 0xc0;

		if (r->nv == REF_MAX_VALUE)
			return false;
		if (c >= 0x80) {
			if (more > 0)
				c &= 0x3fu >> more;
			while (more-- > 0 && i < len && (u[i] & 0xc0) == 0x80)
				c = c << 6 | (u[i++] & 0x3f);
		}
		r->v[r->nv++] = c;
	}
	return true;
}

static struct lregex *
compile(const char *p, size_t len, int flags)
{
	char err[256];
	size_t which;
	struct lregex *re =
	    lregex_new(&p, &len, 1, flags, err, sizeof(err), &which);
	const char *at;

	if (re != NULL) {
		FUZZ_CHECK(lregex_states(re) <= LREGEX_MAX_STATES);
		return re;
	}
	at = strstr(err, " at offset ");
	FUZZ_CHECK(at != NULL);
	FUZZ_CHECK(strtoul(at + 11, NULL, 10) <= len ||
		   len > LREGEX_MAX_PATTERN);
	return NULL;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data, *nl = memchr(s, '\n', size);
	size_t plen = nl != NULL ? (size_t)(nl - s) : size;
	const char *v = nl != NULL ? nl + 1 : s + size;
	size_t vlen = size - plen - (nl != NULL);
	struct lregex *re, *re2;
	bool got;
	char *buf, *low;
	size_t n;

	if (plen > 4096)
		return 0;
	re = compile(s, plen, 0);
	if (re == NULL)
		return 0;
	got = lregex_match(re, v, vlen);

	/* the backtracking reference */
	if (plen <= REF_MAX_PATTERN && memchr(s, '&', plen) == NULL &&
	    memchr(s, '~', plen) == NULL && memchr(s, '<', plen) == NULL) {
		static struct ref r;
		int root;

		memset(&r, 0, sizeof(r));
		r.s = s;
		r.len = plen;
		root = plen == 0 ? mk(&r, N_EPS) : p_union(&r, 0);
		if (!r.bad && !more(&r) && decode(&r, v, vlen)) {
			bool want = m(&r, root, 0, NULL);

			if (r.steps <= REF_MAX_STEPS) {
				if (want != got)
					fprintf(stderr,
						"pattern %.*s: want %d\n",
						(int)plen, s, want);
				FUZZ_CHECK(want == got);
			}
		}
	}

	/* ~(P), (P)&(P) */
	buf = malloc(2 * plen + 8);
	n = 0;
	memcpy(buf + n, "~(", 2);
	n += 2;
	memcpy(buf + n, s, plen);
	n += plen;
	buf[n++] = ')';
	re2 = compile(buf, n, 0);
	if (re2 != NULL) {
		FUZZ_CHECK(lregex_match(re2, v, vlen) == !got);
		lregex_free(re2);
	}
	n = 0;
	buf[n++] = '(';
	memcpy(buf + n, s, plen);
	n += plen;
	memcpy(buf + n, ")&(", 3);
	n += 3;
	memcpy(buf + n, s, plen);
	n += plen;
	buf[n++] = ')';
	re2 = compile(buf, n, 0);
	if (re2 != NULL) {
		FUZZ_CHECK(lregex_match(re2, v, vlen) == got);
		lregex_free(re2);
	}
	free(buf);

	/* LREGEX_FOLD is matching the lower-cased value */
	if (!fuzz_utf8_valid(v, vlen)) {
		lregex_free(re);
		return 0;
	}
	re2 = compile(s, plen, LREGEX_FOLD);
	FUZZ_CHECK(re2 != NULL);
	low = malloc(vlen * 2 + 1);
	n = 0;
	for (size_t i = 0; i < vlen;) {
		const unsigned char *u = (const unsigned char *)v;
		uint32_t c = u[i++];
		int more = c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : c >= 0xc0;
		size_t at = i - 1;

		if (c < 0x80) {
			low[n++] = (char)like_lower(c);
			continue;
		}
		if (more > 0)
			c &= 0x3fu >> more;
		while (more-- > 0 && i < vlen && (u[i] & 0xc0) == 0x80)
			c = c << 6 | (u[i++] & 0x3f);
		if (like_lower(c) == c) {
			memcpy(low + n, v + at, i - at);
			n += i - at;
		} else {
			c = like_lower(c); /* two bytes in and out */
			low[n++] = (char)(0xc0 | c >> 6);
			low[n++] = (char)(0x80 | (c & 0x3f));
		}
	}
	FUZZ_CHECK(lregex_match(re2, v, vlen) == lregex_match(re, low, n));
	free(low);
	lregex_free(re2);
	lregex_free(re);
	return 0;
}
