/*
 * lregex: Lucene RegExp patterns to a DFA over code point classes.  See
 * include/lregex.h.
 *
 * The parser follows RegExp.java's recursive descent (parseUnionExp down
 * to parseCharExp), with loops where Lucene recurses on a list (union,
 * intersection, concatenation), so that only nesting recurses, and at
 * most LREGEX_MAX_DEPTH deep.
 */
#include <assert.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "like.h"
#include "lregex.h"
#include "util.h"

#define CP_MAX 0x10ffffu
#define EPS UINT32_MAX /* lo of an epsilon edge */

/* Effort spent determinizing a pattern list, counted in edge visits. */
#define WORK_MAX (50 * 1000 * 1000)
/* Cells of one transition table (states * classes). */
#define CELLS_MAX (4 * 1024 * 1024)

struct nedge {
	uint32_t lo, hi; /* a code point range, or lo == EPS */
	int to, next;    /* target; the next edge of the same state */
};

struct nfa {
	int *head; /* first edge of each state, -1 if none */
	size_t n, cap;
	struct nedge *e;
	size_t ne, ecap;
};

/* A Thompson fragment: states [first, end of its construction). */
struct frag {
	int start, end, first;
};

struct dfa {
	size_t n, nclass;
	uint32_t *bound; /* nclass lower bounds, bound[0] == 0 */
	int *next;       /* n * nclass targets, -1 for no match */
	bool *accept;
	int start; /* -1: the empty language */
};

struct lregex {
	struct dfa d;
	unsigned char ascii[128]; /* class of each ASCII code point */
	int flags;
	char **pats;
	size_t *lens, npats;
};

struct parser {
	const char *s;
	size_t len, pos;
	int depth;
	size_t spent; /* determinization work so far, at most WORK_MAX */
	struct nfa *nfa;
	char *err;
	size_t errlen;
	bool failed;
};

struct range {
	uint32_t lo, hi;
};

struct rset {
	struct range *v;
	size_t n, cap;
};

static const struct frag FAIL = {-1, -1, -1};

static void perr(struct parser *p, size_t off, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
perr(struct parser *p, size_t off, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (p->failed)
		return;
	p->failed = true;
	if (p->err == NULL || p->errlen == 0)
		return;
	va_start(ap, fmt);
	n = vsnprintf(p->err, p->errlen, fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n < p->errlen)
		snprintf(p->err + n, p->errlen - (size_t)n, " at offset %zu",
			 off);
}

/* NFA building. */

static int
nstate(struct parser *p)
{
	struct nfa *a = p->nfa;

	if (a->n >= LREGEX_MAX_NFA) {
		perr(p, p->pos, "pattern too complex (over %d NFA states)",
		     LREGEX_MAX_NFA);
		return -1;
	}
	if (a->n == a->cap) {
		a->cap = a->cap == 0 ? 64 : a->cap * 2;
		a->head = xreallocarray(a->head, a->cap, sizeof(*a->head));
	}
	a->head[a->n] = -1;
	return (int)a->n++;
}

static void
nedge(struct nfa *a, int from, uint32_t lo, uint32_t hi, int to)
{
	if (a->ne == a->ecap) {
		a->ecap = a->ecap == 0 ? 128 : a->ecap * 2;
		a->e = xreallocarray(a->e, a->ecap, sizeof(*a->e));
	}
	a->e[a->ne].lo = lo;
	a->e[a->ne].hi = hi;
	a->e[a->ne].to = to;
	a->e[a->ne].next = a->head[from];
	a->head[from] = (int)a->ne++;
}

static void
neps(struct nfa *a, int from, int to)
{
	nedge(a, from, EPS, EPS, to);
}

/* Two fresh states, start and end, with no edges yet. */
static struct frag
fresh(struct parser *p)
{
	struct frag f;

	f.first = f.start = nstate(p);
	f.end = nstate(p);
	if (f.start < 0 || f.end < 0)
		return FAIL;
	return f;
}

static struct frag
frag_ranges(struct parser *p, const struct range *r, size_t n)
{
	struct frag f = fresh(p);

	if (f.start < 0)
		return FAIL;
	for (size_t i = 0; i < n; i++)
		nedge(p->nfa, f.start, r[i].lo, r[i].hi, f.end);
	return f;
}

static struct frag
frag_range(struct parser *p, uint32_t lo, uint32_t hi)
{
	struct range r = {lo, hi};

	return frag_ranges(p, &r, 1);
}

static struct frag
frag_epsilon(struct parser *p)
{
	struct frag f = fresh(p);

	if (f.start >= 0)
		neps(p->nfa, f.start, f.end);
	return f;
}

static struct frag
concat(struct parser *p, struct frag a, struct frag b)
{
	if (a.start < 0 || b.start < 0)
		return FAIL;
	neps(p->nfa, a.end, b.start);
	a.end = b.end;
	/* b may have been built first (argument order is unspecified) */
	if (b.first < a.first)
		a.first = b.first;
	return a;
}

static struct frag
alt(struct parser *p, struct frag a, struct frag b)
{
	struct frag f;

	if (a.start < 0 || b.start < 0)
		return FAIL;
	f = fresh(p);
	if (f.start < 0)
		return FAIL;
	neps(p->nfa, f.start, a.start);
	neps(p->nfa, f.start, b.start);
	neps(p->nfa, a.end, f.end);
	neps(p->nfa, b.end, f.end);
	f.first = a.first < b.first ? a.first : b.first;
	return f;
}

static struct frag
star(struct parser *p, struct frag a)
{
	struct frag f;

	if (a.start < 0)
		return FAIL;
	f = fresh(p);
	if (f.start < 0)
		return FAIL;
	neps(p->nfa, f.start, a.start);
	neps(p->nfa, f.start, f.end);
	neps(p->nfa, a.end, a.start);
	neps(p->nfa, a.end, f.end);
	f.first = a.first;
	return f;
}

static struct frag
optional(struct parser *p, struct frag a)
{
	if (a.start < 0)
		return FAIL;
	neps(p->nfa, a.start, a.end);
	return a;
}

/*
 * A copy of fragment a, whose states are [a.first, last): its edges
 * stay inside that range, as no edge has been added from its end yet.
 */
static struct frag
copy(struct parser *p, struct frag a, int last)
{
	struct nfa *n = p->nfa;
	int base = (int)n->n, off;
	struct frag f;

	if (a.start < 0)
		return FAIL;
	if (n->n + (size_t)(last - a.first) > LREGEX_MAX_NFA) {
		perr(p, p->pos, "pattern too complex (over %d NFA states)",
		     LREGEX_MAX_NFA);
		return FAIL;
	}
	off = base - a.first;
	for (int q = a.first; q < last; q++)
		if (nstate(p) < 0)
			return FAIL;
	for (int q = a.first; q < last; q++)
		for (int k = n->head[q]; k >= 0; k = n->e[k].next) {
			struct nedge e = n->e[k];

			assert(e.to >= a.first && e.to < last);
			nedge(n, q + off, e.lo, e.hi, e.to + off);
		}
	f.start = a.start + off;
	f.end = a.end + off;
	f.first = base;
	return f;
}

/* a{min,max}; max < 0 for no upper bound (Operations.repeat). */
static struct frag
repeat(struct parser *p, struct frag a, long min, long max)
{
	int last = (int)p->nfa->n;
	struct frag f;
	long k;

	if (a.start < 0)
		return FAIL;
	if (max >= 0 && min > max)
		return fresh(p); /* the empty language */
	if (min == 0 && max == 0)
		return frag_epsilon(p);
	/* a itself is the last copy: the others are made from it first */
	f = frag_epsilon(p);
	for (k = 1; k < min && !p->failed; k++)
		f = concat(p, f, copy(p, a, last));
	if (max < 0 && min > 0)
		f = concat(p, f, star(p, copy(p, a, last)));
	for (k = min > 0 ? min : 1; k < max && !p->failed; k++)
		f = concat(p, f, optional(p, copy(p, a, last)));
	if (max < 0 && min == 0)
		f = concat(p, f, star(p, a));
	else if (min == 0)
		f = concat(p, f, optional(p, a));
	else
		f = concat(p, f, a);
	/* the whole is copied as a range from a's first state */
	if (f.start >= 0)
		f.first = a.first;
	return f;
}

/* Determinization. */

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static int
cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return x < y ? -1 : x > y;
}

static size_t
class_of(const struct dfa *d, uint32_t c)
{
	size_t lo = 0, hi = d->nclass;

	while (hi - lo > 1) {
		size_t mid = (lo + hi) / 2;

		if (d->bound[mid] <= c)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

static void
dfa_free(struct dfa *d)
{
	free(d->bound);
	free(d->next);
	free(d->accept);
	memset(d, 0, sizeof(*d));
}

/* Sets of NFA states, interned: set i is pool[off[i]..off[i+1]). */
struct sets {
	int *pool;
	size_t npool, cap;
	size_t *off; /* n + 1 */
	size_t n, offcap;
	int *table; /* open addressing, -1 empty */
	size_t tcap;
};

static uint64_t
set_hash(const int *v, size_t n)
{
	uint64_t h = 1469598103934665603ull;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (uint64_t)(unsigned)v[i]) * 1099511628211ull;
	return h;
}

static void
sets_grow_table(struct sets *s)
{
	size_t cap = s->tcap == 0 ? 64 : s->tcap * 2;
	int *t = xmalloc(cap * sizeof(*t));

	memset(t, 0xff, cap * sizeof(*t));
	for (size_t i = 0; i < s->n; i++) {
		size_t h =
		    set_hash(s->pool + s->off[i], s->off[i + 1] - s->off[i]) &
		    (cap - 1);

		while (t[h] >= 0)
			h = (h + 1) & (cap - 1);
		t[h] = (int)i;
	}
	free(s->table);
	s->table = t;
	s->tcap = cap;
}

/* The index of set v[0..n), added if new (*added). */
static int
sets_intern(struct sets *s, const int *v, size_t n, bool *added)
{
	size_t h;

	*added = false;
	if (2 * (s->n + 1) > s->tcap)
		sets_grow_table(s);
	h = set_hash(v, n) & (s->tcap - 1);
	for (; s->table[h] >= 0; h = (h + 1) & (s->tcap - 1)) {
		size_t i = (size_t)s->table[h];

		if (s->off[i + 1] - s->off[i] == n &&
		    memcmp(s->pool + s->off[i], v, n * sizeof(*v)) == 0)
			return (int)i;
	}
	if (s->npool + n > s->cap) {
		while (s->npool + n > s->cap)
			s->cap = s->cap == 0 ? 256 : s->cap * 2;
		s->pool = xreallocarray(s->pool, s->cap, sizeof(*s->pool));
	}
	if (s->n + 2 > s->offcap) {
		s->offcap = s->offcap == 0 ? 64 : s->offcap * 2;
		s->off = xreallocarray(s->off, s->offcap, sizeof(*s->off));
	}
	if (s->n == 0)
		s->off[0] = 0;
	memcpy(s->pool + s->npool, v, n * sizeof(*v));
	s->npool += n;
	s->off[s->n + 1] = s->npool;
	s->table[h] = (int)s->n;
	*added = true;
	return (int)s->n++;
}

static void
sets_free(struct sets *s)
{
	free(s->pool);
	free(s->off);
	free(s->table);
}

/* Scratch space of one determinization. */
struct work {
	const struct nfa *nfa;
	unsigned *mark; /* per NFA state: the stamp of the set holding it */
	unsigned stamp;
	int *stack, *buf;
	size_t nbuf;
	size_t *spent;
};

/* Adds the epsilon closure of w->buf[0..nbuf) to it, sorted. */
static void
closure(struct work *w)
{
	size_t sp = 0;

	w->stamp++;
	for (size_t i = 0; i < w->nbuf; i++) {
		w->mark[w->buf[i]] = w->stamp;
		w->stack[sp++] = w->buf[i];
	}
	while (sp > 0) {
		int q = w->stack[--sp];

		for (int k = w->nfa->head[q]; k >= 0; k = w->nfa->e[k].next) {
			const struct nedge *e = &w->nfa->e[k];

			(*w->spent)++;
			if (e->lo != EPS || w->mark[e->to] == w->stamp)
				continue;
			w->mark[e->to] = w->stamp;
			w->buf[w->nbuf++] = e->to;
			w->stack[sp++] = e->to;
		}
	}
	qsort(w->buf, w->nbuf, sizeof(*w->buf), cmp_int);
}

/*
 * The subset construction of fragment f into *d.  Returns 0, or -1
 * after perr() when it needs more than LREGEX_MAX_STATES states or more
 * work than WORK_MAX.
 */
static int
determinize(struct parser *p, struct frag f, struct dfa *d)
{
	const struct nfa *a = p->nfa;
	struct work w = {0};
	struct sets s = {0};
	uint32_t *b = NULL;
	size_t nb = 0, bcap = 0, sp = 0, cells = 0;
	int *reach = xmalloc(a->n * sizeof(*reach));
	bool added;
	int rc = -1;

	memset(d, 0, sizeof(*d));
	d->start = -1;
	w.nfa = a;
	w.spent = &p->spent;
	p->spent += a->n; /* the setup below */
	w.mark = xcalloc(a->n, sizeof(*w.mark));
	w.stack = xmalloc(a->n * sizeof(*w.stack));
	w.buf = xmalloc(a->n * sizeof(*w.buf));
	/* the states reachable from f.start, and the class bounds */
	w.stamp = 1;
	w.mark[f.start] = 1;
	reach[sp++] = f.start;
	bcap = 16;
	b = xmalloc(bcap * sizeof(*b));
	b[nb++] = 0;
	for (size_t i = 0; i < sp; i++)
		for (int k = a->head[reach[i]]; k >= 0; k = a->e[k].next) {
			const struct nedge *e = &a->e[k];

			if (w.mark[e->to] != 1) {
				w.mark[e->to] = 1;
				reach[sp++] = e->to;
			}
			if (e->lo == EPS)
				continue;
			if (nb + 2 > bcap) {
				bcap *= 2;
				b = xreallocarray(b, bcap, sizeof(*b));
			}
			b[nb++] = e->lo;
			if (e->hi < CP_MAX)
				b[nb++] = e->hi + 1;
		}
	qsort(b, nb, sizeof(*b), cmp_u32);
	d->nclass = 0;
	for (size_t i = 0; i < nb; i++)
		if (i == 0 || b[i] != b[i - 1])
			b[d->nclass++] = b[i];
	d->bound = b;
	w.buf[0] = f.start;
	w.nbuf = 1;
	closure(&w);
	sets_intern(&s, w.buf, w.nbuf, &added);
	d->start = 0;
	for (size_t i = 0; i < s.n; i++) {
		if (cells + d->nclass > CELLS_MAX) {
			perr(p, p->pos, "automaton too large (%zu classes)",
			     d->nclass);
			goto out;
		}
		cells += d->nclass;
		d->next = xreallocarray(d->next, cells, sizeof(*d->next));
		d->accept = xreallocarray(d->accept, i + 1, sizeof(*d->accept));
		d->accept[i] = false;
		for (size_t j = s.off[i]; j < s.off[i + 1]; j++)
			if (s.pool[j] == f.end)
				d->accept[i] = true;
		for (size_t c = 0; c < d->nclass; c++) {
			uint32_t cp = d->bound[c];
			int t;

			w.nbuf = 0;
			w.stamp++;
			for (size_t j = s.off[i]; j < s.off[i + 1]; j++)
				for (int k = a->head[s.pool[j]]; k >= 0;
				     k = a->e[k].next) {
					const struct nedge *e = &a->e[k];

					(*w.spent)++;
					if (e->lo == EPS || cp < e->lo ||
					    cp > e->hi ||
					    w.mark[e->to] == w.stamp)
						continue;
					w.mark[e->to] = w.stamp;
					w.buf[w.nbuf++] = e->to;
				}
			if (*w.spent > WORK_MAX) {
				perr(p, p->pos,
				     "pattern too complex to determinize");
				goto out;
			}
			if (w.nbuf == 0) {
				d->next[i * d->nclass + c] = -1;
				continue;
			}
			closure(&w);
			t = sets_intern(&s, w.buf, w.nbuf, &added);
			if (added && s.n > LREGEX_MAX_STATES) {
				perr(p, p->pos,
				     "pattern needs more than %d automaton "
				     "states",
				     LREGEX_MAX_STATES);
				goto out;
			}
			d->next[i * d->nclass + c] = t;
		}
		d->n = i + 1;
	}
	rc = 0;
out:
	if (rc != 0)
		dfa_free(d);
	sets_free(&s);
	free(w.mark);
	free(w.stack);
	free(w.buf);
	free(reach);
	return rc;
}

/* Drops the states that reach no accepting state (they become -1). */
static void
prune(struct dfa *d)
{
	size_t cells = d->n * d->nclass, *first, sp = 0;
	int *from = xmalloc((cells + 1) * sizeof(*from)), *queue;
	bool *live = xcalloc(d->n + 1, sizeof(*live));

	/* the states with an edge into t are from[first[t]..first[t+1]) */
	first = xcalloc(d->n + 2, sizeof(*first));
	for (size_t i = 0; i < cells; i++)
		if (d->next[i] >= 0)
			first[d->next[i] + 2]++;
	for (size_t t = 2; t < d->n + 2; t++)
		first[t] += first[t - 1];
	for (size_t i = 0; i < cells; i++)
		if (d->next[i] >= 0)
			from[first[d->next[i] + 1]++] = (int)(i / d->nclass);
	queue = xmalloc((d->n + 1) * sizeof(*queue));
	for (size_t i = 0; i < d->n; i++)
		if (d->accept[i]) {
			live[i] = true;
			queue[sp++] = (int)i;
		}
	while (sp > 0) {
		int t = queue[--sp];

		for (size_t k = first[t]; k < first[t + 1]; k++)
			if (!live[from[k]]) {
				live[from[k]] = true;
				queue[sp++] = from[k];
			}
	}
	for (size_t i = 0; i < cells; i++)
		if (d->next[i] >= 0 && !live[d->next[i]])
			d->next[i] = -1;
	if (d->start >= 0 && !live[d->start])
		d->start = -1;
	free(first);
	free(from);
	free(queue);
	free(live);
}

/* ~d over all strings of code points (Operations.complement). */
static int
complement(struct parser *p, struct dfa *d)
{
	size_t n = d->n + 1, sink = d->n;

	if (n > LREGEX_MAX_STATES) {
		perr(p, p->pos, "pattern needs more than %d automaton states",
		     LREGEX_MAX_STATES);
		return -1;
	}
	if ((n * d->nclass) > CELLS_MAX) {
		perr(p, p->pos, "automaton too large (%zu classes)", d->nclass);
		return -1;
	}
	d->next = xreallocarray(d->next, n * d->nclass, sizeof(*d->next));
	d->accept = xreallocarray(d->accept, n, sizeof(*d->accept));
	for (size_t i = 0; i < n * d->nclass; i++)
		if (i >= sink * d->nclass || d->next[i] < 0)
			d->next[i] = (int)sink;
	for (size_t i = 0; i < n; i++)
		d->accept[i] = i == sink ? true : !d->accept[i];
	if (d->start < 0)
		d->start = (int)sink;
	d->n = n;
	return 0;
}

#define PAIRS_CAP 32768 /* a power of 2 over 2 * LREGEX_MAX_STATES */

/* The slot of pair (i, j): its state, or -1 where it is to be put. */
static int *
pair_slot(uint64_t *keys, int *index, int i, int j)
{
	uint64_t key = (uint64_t)(unsigned)i << 32 | (unsigned)j;
	size_t h = (size_t)((key * 0x9e3779b97f4a7c15ull) >> 49);

	while (index[h] >= 0 && keys[h] != key)
		h = (h + 1) & (PAIRS_CAP - 1);
	keys[h] = key;
	return &index[h];
}

/* x & y into *d (the product automaton). */
static int
intersect(struct parser *p, const struct dfa *x, const struct dfa *y,
	  struct dfa *d)
{
	size_t nb = 0, *cx, *cy, nq = 0, qcap = 64;
	int *pairs, *index;
	uint64_t *keys;
	uint32_t *b;

	memset(d, 0, sizeof(*d));
	d->start = -1;
	if (x->start < 0 || y->start < 0) {
		d->bound = xcalloc(1, sizeof(*d->bound));
		d->nclass = 1;
		return 0;
	}
	b = xmalloc((x->nclass + y->nclass) * sizeof(*b));
	memcpy(b, x->bound, x->nclass * sizeof(*b));
	memcpy(b + x->nclass, y->bound, y->nclass * sizeof(*b));
	qsort(b, x->nclass + y->nclass, sizeof(*b), cmp_u32);
	for (size_t i = 0; i < x->nclass + y->nclass; i++)
		if (i == 0 || b[i] != b[i - 1])
			b[nb++] = b[i];
	d->bound = b;
	d->nclass = nb;
	cx = xmalloc(nb * sizeof(*cx));
	cy = xmalloc(nb * sizeof(*cy));
	for (size_t c = 0; c < nb; c++) {
		cx[c] = class_of(x, b[c]);
		cy[c] = class_of(y, b[c]);
	}
	/* pair (i, j) is state index[h] where keys[h] == i << 32 | j */
	keys = xmalloc(PAIRS_CAP * sizeof(*keys));
	index = xmalloc(PAIRS_CAP * sizeof(*index));
	memset(index, 0xff, PAIRS_CAP * sizeof(*index));
	pairs = xmalloc(qcap * 2 * sizeof(*pairs));
	pairs[0] = x->start;
	pairs[1] = y->start;
	*pair_slot(keys, index, x->start, y->start) = 0;
	nq = 1;
	d->start = 0;
	for (size_t i = 0; i < nq; i++) {
		int sx = pairs[2 * i], sy = pairs[2 * i + 1];

		if ((i + 1) * nb > CELLS_MAX) {
			perr(p, p->pos, "automaton too large (%zu classes)",
			     nb);
			goto fail;
		}
		d->next =
		    xreallocarray(d->next, (i + 1) * nb, sizeof(*d->next));
		d->accept = xreallocarray(d->accept, i + 1, sizeof(*d->accept));
		d->accept[i] = x->accept[sx] && y->accept[sy];
		for (size_t c = 0; c < nb; c++) {
			int tx = x->next[(size_t)sx * x->nclass + cx[c]];
			int ty = y->next[(size_t)sy * y->nclass + cy[c]];
			int *slot;

			if (tx < 0 || ty < 0) {
				d->next[i * nb + c] = -1;
				continue;
			}
			slot = pair_slot(keys, index, tx, ty);
			if (*slot < 0) {
				if (nq >= LREGEX_MAX_STATES) {
					perr(p, p->pos,
					     "pattern needs more than %d "
					     "automaton states",
					     LREGEX_MAX_STATES);
					goto fail;
				}
				if (nq == qcap) {
					qcap *= 2;
					pairs = xreallocarray(pairs, qcap * 2,
							      sizeof(*pairs));
				}
				pairs[2 * nq] = tx;
				pairs[2 * nq + 1] = ty;
				*slot = (int)nq++;
			}
			d->next[i * nb + c] = *slot;
		}
		d->n = i + 1;
	}
	free(cx);
	free(cy);
	free(keys);
	free(index);
	free(pairs);
	return 0;
fail:
	free(cx);
	free(cy);
	free(keys);
	free(index);
	free(pairs);
	dfa_free(d);
	return -1;
}

/* A DFA as a new NFA fragment (its live states only). */
static struct frag
embed(struct parser *p, struct dfa *d)
{
	struct frag f = fresh(p);
	int base;

	prune(d);
	if (f.start < 0 || d->start < 0)
		return f;
	base = (int)p->nfa->n;
	for (size_t i = 0; i < d->n; i++)
		if (nstate(p) < 0)
			return FAIL;
	neps(p->nfa, f.start, base + d->start);
	for (size_t i = 0; i < d->n; i++) {
		if (d->accept[i])
			neps(p->nfa, base + (int)i, f.end);
		for (size_t c = 0; c < d->nclass;) {
			int t = d->next[i * d->nclass + c];
			size_t k = c + 1;

			while (k < d->nclass && d->next[i * d->nclass + k] == t)
				k++;
			if (t >= 0)
				nedge(p->nfa, base + (int)i, d->bound[c],
				      k < d->nclass ? d->bound[k] - 1 : CP_MAX,
				      base + t);
			c = k;
		}
	}
	return f;
}

/* Parsing (RegExp.java). */

static bool
more(const struct parser *p)
{
	return p->pos < p->len;
}

static uint32_t
peekc(const struct parser *p, size_t *n)
{
	const unsigned char *s = (const unsigned char *)p->s + p->pos;
	size_t left = p->len - p->pos;
	uint32_t c = s[0];
	size_t k = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;

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
	*n = k;
	return c;
}

static bool
peek(const struct parser *p, const char *set)
{
	return more(p) && p->s[p->pos] != '\0' && strchr(set, p->s[p->pos]);
}

static bool
match(struct parser *p, char c)
{
	if (!more(p) || p->s[p->pos] != c)
		return false;
	p->pos++;
	return true;
}

static uint32_t
next(struct parser *p)
{
	size_t n;
	uint32_t c;

	if (!more(p)) {
		perr(p, p->pos, "unexpected end of pattern");
		return 0;
	}
	c = peekc(p, &n);
	p->pos += n;
	return c;
}

static void
rset_add(struct rset *r, uint32_t lo, uint32_t hi)
{
	if (r->n == r->cap) {
		r->cap = r->cap == 0 ? 8 : r->cap * 2;
		r->v = xreallocarray(r->v, r->cap, sizeof(*r->v));
	}
	r->v[r->n].lo = lo;
	r->v[r->n].hi = hi;
	r->n++;
}

static int
cmp_range(const void *a, const void *b)
{
	const struct range *x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* Sorts and merges r; with negate, replaces it by its complement. */
static void
rset_norm(struct rset *r, bool negate)
{
	size_t n = 0;
	struct rset c = {0};
	uint32_t at = 0;

	qsort(r->v, r->n, sizeof(*r->v), cmp_range);
	for (size_t i = 0; i < r->n; i++) {
		if (n > 0 && (r->v[n - 1].hi == CP_MAX ||
			      r->v[i].lo <= r->v[n - 1].hi + 1)) {
			if (r->v[i].hi > r->v[n - 1].hi)
				r->v[n - 1].hi = r->v[i].hi;
			continue;
		}
		r->v[n++] = r->v[i];
	}
	r->n = n;
	if (!negate)
		return;
	for (size_t i = 0; i < r->n; i++) {
		if (r->v[i].lo > at)
			rset_add(&c, at, r->v[i].lo - 1);
		if (r->v[i].hi == CP_MAX) {
			at = CP_MAX + 1;
			break;
		}
		at = r->v[i].hi + 1;
	}
	if (at <= CP_MAX)
		rset_add(&c, at, CP_MAX);
	free(r->v);
	*r = c;
}

/* \d \D \s \S \w \W into r (RegExp.expandPredefined). */
static void
predefined(uint32_t c, struct rset *r)
{
	struct rset t = {0};
	bool neg = c == 'D' || c == 'S' || c == 'W';

	switch (c) {
	case 'd':
	case 'D':
		rset_add(&t, '0', '9');
		break;
	case 's':
	case 'S':
		rset_add(&t, ' ', ' ');
		rset_add(&t, '\t', '\t');
		rset_add(&t, '\n', '\n');
		rset_add(&t, '\r', '\r');
		break;
	default:
		rset_add(&t, 'a', 'z');
		rset_add(&t, 'A', 'Z');
		rset_add(&t, '_', '_');
		rset_add(&t, '0', '9');
		break;
	}
	rset_norm(&t, neg);
	for (size_t i = 0; i < t.n; i++)
		rset_add(r, t.v[i].lo, t.v[i].hi);
	free(t.v);
}

/*
 * matchPredefinedCharacterClass: after a `\`, one of dDsSwW adds its
 * class to r and returns 1; `\\` adds `\`; `\` and another ASCII letter
 * is an error (-1).  Otherwise 0, with the `\` consumed, as in Lucene.
 */
static int
match_predefined(struct parser *p, struct rset *r)
{
	size_t at = p->pos;

	if (!match(p, '\\'))
		return 0;
	if (peek(p, "dDwWsS")) {
		predefined((uint32_t)p->s[p->pos++], r);
		return 1;
	}
	if (peek(p, "\\")) {
		p->pos++;
		rset_add(r, '\\', '\\');
		return 1;
	}
	if (peek(p, "abcefghijklmnopqrtuvxyzABCEFGHIJKLMNOPQRTUVXYZ")) {
		perr(p, at, "invalid character class \\%c", p->s[p->pos]);
		return -1;
	}
	return 0;
}

/* parseCharExp: an optional `\`, then any code point. */
static uint32_t
charexp(struct parser *p)
{
	match(p, '\\');
	return next(p);
}

static struct frag parse_union(struct parser *p);

static struct frag
class_frag(struct parser *p, struct rset *r, bool negate)
{
	struct frag f;

	rset_norm(r, negate);
	f = frag_ranges(p, r->v, r->n);
	free(r->v);
	return f;
}

/* [ ... ] and [^ ... ], after the `[` */
static struct frag
parse_class(struct parser *p)
{
	struct rset r = {0};
	bool negate = match(p, '^');

	do {
		size_t at = p->pos;
		int k = match_predefined(p, &r);
		uint32_t lo, hi;

		if (k < 0)
			break;
		if (k > 0)
			continue;
		lo = charexp(p);
		hi = lo;
		if (!p->failed && match(p, '-')) {
			hi = charexp(p);
			if (!p->failed && lo > hi) {
				perr(p, at,
				     "invalid range: from (%u) cannot be > "
				     "to (%u)",
				     lo, hi);
				break;
			}
		}
		if (p->failed)
			break;
		rset_add(&r, lo, hi);
	} while (more(p) && !peek(p, "]"));
	if (!p->failed && !match(p, ']'))
		perr(p, p->pos, "expected ']'");
	if (p->failed) {
		free(r.v);
		return FAIL;
	}
	return class_frag(p, &r, negate);
}

/* Digits at p as an int, as Integer.parseInt reads them. */
static bool
parse_int(const char *s, size_t n, long *out)
{
	long v = 0;

	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
		if (v > INT32_MAX)
			return false;
	}
	*out = v;
	return true;
}

static long
pow10l(int k)
{
	long r = 1;

	while (k-- > 0)
		r *= 10;
	return r;
}

/* The strings of exactly len digits whose value is in [lo, hi]. */
static struct frag
digits_between(struct parser *p, long lo, long hi, int len)
{
	long unit, a, b;
	struct frag f;

	if (len == 0)
		return frag_epsilon(p);
	unit = pow10l(len - 1);
	a = lo / unit;
	b = hi / unit;
	if (a == b)
		return concat(p,
			      frag_range(p, '0' + (uint32_t)a,
					 '0' + (uint32_t)a),
			      digits_between(p, lo % unit, hi % unit, len - 1));
	f = concat(p, frag_range(p, '0' + (uint32_t)a, '0' + (uint32_t)a),
		   digits_between(p, lo % unit, unit - 1, len - 1));
	if (b - a > 1)
		f = alt(p, f,
			concat(p,
			       frag_range(p, '0' + (uint32_t)a + 1,
					  '0' + (uint32_t)b - 1),
			       digits_between(p, 0, unit - 1, len - 1)));
	return alt(p, f,
		   concat(p,
			  frag_range(p, '0' + (uint32_t)b, '0' + (uint32_t)b),
			  digits_between(p, 0, hi % unit, len - 1)));
}

static int
ndigits(long v)
{
	int n = 1;

	while (v >= 10) {
		v /= 10;
		n++;
	}
	return n;
}

/* <n-m>, after the `<` (Automata.makeDecimalInterval) */
static struct frag
parse_interval(struct parser *p)
{
	size_t start = p->pos, dash = 0, ndash = 0, end;
	long lo, hi, t;
	struct frag f = FAIL;

	while (more(p) && !peek(p, ">")) {
		if (p->s[p->pos] == '-') {
			dash = p->pos;
			ndash++;
		}
		p->pos++;
	}
	if (!match(p, '>')) {
		perr(p, p->pos, "expected '>'");
		return FAIL;
	}
	end = p->pos - 1;
	if (ndash == 0) {
		perr(p, start - 1, "named automata <%.*s> are not supported",
		     (int)(end - start > 50 ? 50 : end - start), p->s + start);
		return FAIL;
	}
	if (ndash != 1 || dash == start || dash + 1 == end ||
	    !parse_int(p->s + start, dash - start, &lo) ||
	    !parse_int(p->s + dash + 1, end - dash - 1, &hi)) {
		perr(p, end, "interval syntax error");
		return FAIL;
	}
	if (lo > hi) {
		t = lo;
		lo = hi;
		hi = t;
	}
	if (dash - start == end - dash - 1)
		return digits_between(p, lo, hi, (int)(dash - start));
	/* any number of leading zeros, then the number */
	for (int n = ndigits(lo); n <= ndigits(hi) && !p->failed; n++) {
		long a =
		    n == 1 ? lo : (lo > pow10l(n - 1) ? lo : pow10l(n - 1));
		long b = hi < pow10l(n) - 1 ? hi : pow10l(n) - 1;
		struct frag g = digits_between(p, a, b, n);

		f = f.start < 0 ? g : alt(p, f, g);
	}
	return concat(p, star(p, frag_range(p, '0', '0')), f);
}

static struct frag
parse_simple(struct parser *p)
{
	struct rset r = {0};
	int k;
	struct frag f;

	if (match(p, '.'))
		return frag_range(p, 0, CP_MAX);
	if (match(p, '#'))
		return fresh(p);
	if (match(p, '@'))
		return star(p, frag_range(p, 0, CP_MAX));
	if (match(p, '"')) {
		f = frag_epsilon(p);
		while (more(p) && !peek(p, "\"") && !p->failed) {
			uint32_t c = next(p);

			f = concat(p, f, frag_range(p, c, c));
		}
		if (!p->failed && !match(p, '"'))
			perr(p, p->pos, "expected '\"'");
		return p->failed ? FAIL : f;
	}
	if (match(p, '(')) {
		if (match(p, ')'))
			return frag_epsilon(p);
		if (++p->depth > LREGEX_MAX_DEPTH) {
			perr(p, p->pos, "pattern nested deeper than %d",
			     LREGEX_MAX_DEPTH);
			return FAIL;
		}
		f = parse_union(p);
		p->depth--;
		if (!p->failed && !match(p, ')'))
			perr(p, p->pos, "expected ')'");
		return p->failed ? FAIL : f;
	}
	if (match(p, '<'))
		return parse_interval(p);
	k = match_predefined(p, &r);
	if (k < 0)
		return FAIL;
	if (k > 0)
		return class_frag(p, &r, false);
	{
		uint32_t c = charexp(p);

		if (p->failed)
			return FAIL;
		return frag_range(p, c, c);
	}
}

static struct frag
parse_compl(struct parser *p)
{
	struct dfa d;
	struct frag f;

	if (!match(p, '~')) {
		if (match(p, '['))
			return parse_class(p);
		return parse_simple(p);
	}
	if (++p->depth > LREGEX_MAX_DEPTH) {
		perr(p, p->pos, "pattern nested deeper than %d",
		     LREGEX_MAX_DEPTH);
		return FAIL;
	}
	f = parse_compl(p);
	p->depth--;
	if (f.start < 0)
		return FAIL;
	if (determinize(p, f, &d) != 0)
		return FAIL;
	if (complement(p, &d) != 0) {
		dfa_free(&d);
		return FAIL;
	}
	f = embed(p, &d);
	dfa_free(&d);
	return f;
}

/* A repeat count: digits, as Integer.parseInt reads them. */
static bool
count(struct parser *p, long *out)
{
	size_t start = p->pos;

	while (peek(p, "0123456789"))
		p->pos++;
	if (start == p->pos) {
		perr(p, p->pos, "integer expected");
		return false;
	}
	if (!parse_int(p->s + start, p->pos - start, out)) {
		perr(p, start, "repeat count out of range");
		return false;
	}
	return true;
}

static struct frag
parse_repeat(struct parser *p)
{
	struct frag f = parse_compl(p);
	long n, m;

	while (f.start >= 0 && peek(p, "?*+{")) {
		if (match(p, '?'))
			f = optional(p, f);
		else if (match(p, '*'))
			f = star(p, f);
		else if (match(p, '+'))
			f = repeat(p, f, 1, -1);
		else {
			p->pos++; /* { */
			if (!count(p, &n))
				return FAIL;
			m = n;
			if (match(p, ',')) {
				m = -1;
				if (peek(p, "0123456789") && !count(p, &m))
					return FAIL;
			}
			if (!match(p, '}')) {
				perr(p, p->pos, "expected '}'");
				return FAIL;
			}
			f = repeat(p, f, n, m);
		}
	}
	return f;
}

static struct frag
parse_concat(struct parser *p)
{
	struct frag f = parse_repeat(p);

	while (f.start >= 0 && more(p) && !peek(p, ")|&"))
		f = concat(p, f, parse_repeat(p));
	return f;
}

static struct frag
parse_inter(struct parser *p)
{
	struct frag f = parse_concat(p), g;
	struct dfa x, y, d;

	while (f.start >= 0 && match(p, '&')) {
		g = parse_concat(p);
		if (g.start < 0)
			return FAIL;
		if (determinize(p, f, &x) != 0)
			return FAIL;
		if (determinize(p, g, &y) != 0) {
			dfa_free(&x);
			return FAIL;
		}
		prune(&x);
		prune(&y);
		if (intersect(p, &x, &y, &d) != 0) {
			dfa_free(&x);
			dfa_free(&y);
			return FAIL;
		}
		dfa_free(&x);
		dfa_free(&y);
		f = embed(p, &d);
		dfa_free(&d);
	}
	return f;
}

static struct frag
parse_union(struct parser *p)
{
	struct frag f = parse_inter(p);

	while (f.start >= 0 && match(p, '|'))
		f = alt(p, f, parse_inter(p));
	return f;
}

/* One whole pattern (RegExp's constructor). */
static struct frag
parse_pattern(struct parser *p)
{
	struct frag f;

	if (p->len == 0)
		return frag_epsilon(p);
	f = parse_union(p);
	if (f.start >= 0 && more(p)) {
		perr(p, p->pos, "end of pattern expected");
		return FAIL;
	}
	return p->failed ? FAIL : f;
}

struct lregex *
lregex_new(const char *const *pats, const size_t *lens, size_t n, int flags,
	   char *err, size_t errlen, size_t *which)
{
	struct nfa nfa = {0};
	struct parser p;
	struct frag all = FAIL;
	struct lregex *re;

	*which = 0;
	if (n == 0 || n > LREGEX_MAX_PATTERNS) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "1 to %d patterns at offset 0",
				 LREGEX_MAX_PATTERNS);
		return NULL;
	}
	memset(&p, 0, sizeof(p));
	p.nfa = &nfa;
	p.err = err;
	p.errlen = errlen;
	for (size_t i = 0; i < n; i++) {
		struct frag f;

		*which = i;
		if (lens[i] > LREGEX_MAX_PATTERN) {
			perr(&p, LREGEX_MAX_PATTERN, "pattern too long");
			break;
		}
		p.s = pats[i];
		p.len = lens[i];
		p.pos = 0;
		f = parse_pattern(&p);
		if (f.start < 0)
			break;
		all = all.start < 0 ? f : alt(&p, all, f);
	}
	re = xcalloc(1, sizeof(*re));
	if (p.failed || determinize(&p, all, &re->d) != 0) {
		free(re);
		free(nfa.head);
		free(nfa.e);
		return NULL;
	}
	free(nfa.head);
	free(nfa.e);
	prune(&re->d);
	re->flags = flags;
	for (uint32_t c = 0; c < 128; c++)
		re->ascii[c] = (unsigned char)(class_of(&re->d, c) < 255
						   ? class_of(&re->d, c)
						   : 255);
	re->npats = n;
	re->pats = xcalloc(n, sizeof(*re->pats));
	re->lens = xcalloc(n, sizeof(*re->lens));
	for (size_t i = 0; i < n; i++) {
		re->pats[i] = xmalloc(lens[i] + 1);
		if (lens[i] > 0)
			memcpy(re->pats[i], pats[i], lens[i]);
		re->pats[i][lens[i]] = '\0';
		re->lens[i] = lens[i];
	}
	return re;
}

void
lregex_free(struct lregex *re)
{
	if (re == NULL)
		return;
	dfa_free(&re->d);
	for (size_t i = 0; i < re->npats; i++)
		free(re->pats[i]);
	free(re->pats);
	free(re->lens);
	free(re);
}

bool
lregex_match(const struct lregex *re, const char *s, size_t len)
{
	const struct dfa *d = &re->d;
	const unsigned char *u = (const unsigned char *)s;
	int q = d->start;
	size_t i = 0;

	while (q >= 0 && i < len) {
		uint32_t c = u[i++];
		size_t k;

		if (c >= 0x80) {
			int more = c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : c >= 0xc0;

			if (more > 0)
				c &= 0x3fu >> more;
			while (more-- > 0 && i < len && (u[i] & 0xc0) == 0x80)
				c = c << 6 | (u[i++] & 0x3f);
		}
		if (re->flags & LREGEX_FOLD)
			c = like_lower(c);
		if (c < 128 && re->ascii[c] != 255)
			k = re->ascii[c];
		else
			k = class_of(d, c);
		q = d->next[(size_t)q * d->nclass + k];
	}
	return q >= 0 && d->accept[q];
}

size_t
lregex_count(const struct lregex *re)
{
	return re->npats;
}

void
lregex_pattern(const struct lregex *re, size_t i, const char **p, size_t *len)
{
	assert(i < re->npats);
	*p = re->pats[i];
	*len = re->lens[i];
}

size_t
lregex_states(const struct lregex *re)
{
	return re->d.n;
}
