/*
 * like: LIKE patterns as literal segments split at `*`.  See
 * include/like.h.
 */
#define _GNU_SOURCE /* memmem */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "casemap.h"
#include "like.h"
#include "util.h"

enum item_kind {
	IT_LIT, /* bytes lit[off..off+n) */
	IT_ANY, /* n code points */
};

struct item {
	enum item_kind kind;
	size_t off, n;
};

/* The items [first, first+n) between two `*` (or an end). */
struct seg {
	size_t first, n;
	bool plain; /* one IT_LIT item, or none */
};

struct pat {
	char *text; /* as written */
	size_t textlen;
	char *lit;          /* literal bytes of all items */
	struct item *items; /* nitems of them */
	size_t nitems;
	struct seg *segs; /* nsegs >= 1; nsegs - 1 stars */
	size_t nsegs;
};

struct like {
	int flags;        /* LIKE_FOLD */
	struct pat *pats; /* n of them */
	size_t n, cap;
};

uint32_t
like_lower(uint32_t c)
{
	uint32_t m[CASEMAP_MAX];

	/* TO_LOWER's mapping of one code point (include/casemap.h), where
	 * it is one code point: U+0130's "i\u0307" is kept as U+0130 */
	if (c < 0x80)
		return c >= 'A' && c <= 'Z' ? c + 0x20 : c;
	return casemap_lower(c, m) == 1 ? m[0] : c;
}

static bool
is_cont(unsigned char c)
{
	return (c & 0xc0) == 0x80;
}

/*
 * Steps over one code point at s[*i]: its lead byte and at most three
 * continuation bytes (a stray byte of bad UTF-8 counts as one).
 */
static uint32_t
cp_step(const char *s, size_t len, size_t *i)
{
	const unsigned char *p = (const unsigned char *)s;
	uint32_t c = p[*i];
	int more = c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : c >= 0xc0 ? 1 : 0;

	if (more > 0)
		c &= 0x3fu >> more;
	(*i)++;
	while (more-- > 0 && *i < len && is_cont(p[*i]))
		c = c << 6 | (p[(*i)++] & 0x3f);
	return c;
}

bool
like_needle(const struct like *l, size_t i, const char **p, size_t *len,
	    int *at)
{
	const struct pat *pt;
	size_t best = SIZE_MAX;
	int best_at = 0;

	assert(i < l->n);
	pt = &l->pats[i];
	for (size_t k = 0; k < pt->nitems; k++) {
		int where = 0;

		if (pt->items[k].kind != IT_LIT)
			continue;
		/* the first segment is empty when the pattern starts with * */
		if (k == 0 && pt->segs[0].n > 0)
			where |= LIKE_AT_START;
		if (k + 1 == pt->nitems && pt->segs[pt->nsegs - 1].n > 0)
			where |= LIKE_AT_END;
		if (best == SIZE_MAX || pt->items[k].n > pt->items[best].n ||
		    (pt->items[k].n == pt->items[best].n && where != 0 &&
		     best_at == 0)) {
			best = k;
			best_at = where;
		}
	}
	if (best == SIZE_MAX)
		return false;
	*p = pt->lit + pt->items[best].off;
	*len = pt->items[best].n;
	*at = best_at;
	return true;
}

bool
like_has_upper(const char *p, size_t len)
{
	size_t i = 0;

	while (i < len) {
		uint32_t c = cp_step(p, len, &i);

		if (like_lower(c) != c)
			return true;
	}
	return false;
}

struct like *
like_new(int flags)
{
	struct like *l = xcalloc(1, sizeof(*l));

	l->flags = flags;
	return l;
}

void
like_free(struct like *l)
{
	if (l == NULL)
		return;
	for (size_t i = 0; i < l->n; i++) {
		free(l->pats[i].text);
		free(l->pats[i].lit);
		free(l->pats[i].items);
		free(l->pats[i].segs);
	}
	free(l->pats);
	free(l);
}

static void
fail(char *err, size_t errlen, const char *what, size_t off)
{
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "%s at offset %zu", what, off);
}

int
like_add(struct like *l, const char *p, size_t len, char *err, size_t errlen)
{
	struct pat pt;
	size_t nlit = 0, segstart = 0;

	if (l->n >= LIKE_MAX_PATTERNS) {
		fail(err, errlen, "too many patterns", 0);
		return -1;
	}
	if (len > LIKE_MAX_PATTERN) {
		fail(err, errlen, "pattern too long", LIKE_MAX_PATTERN);
		return -1;
	}
	for (size_t i = 0; i < len; i++) {
		if (p[i] != '\\')
			continue;
		if (i + 1 == len ||
		    (p[i + 1] != '*' && p[i + 1] != '?' && p[i + 1] != '\\')) {
			fail(err, errlen,
			     "escape character is not followed by special "
			     "wildcard char",
			     i);
			return -1;
		}
		i++;
	}
	memset(&pt, 0, sizeof(pt));
	pt.text = xmalloc(len + 1);
	if (len > 0)
		memcpy(pt.text, p, len);
	pt.text[len] = '\0';
	pt.textlen = len;
	/* at most one item per byte and one segment per byte, plus one */
	pt.lit = xmalloc(len + 1);
	pt.items = xcalloc(len + 1, sizeof(*pt.items));
	pt.segs = xcalloc(len + 1, sizeof(*pt.segs));
	for (size_t i = 0; i <= len; i++) {
		struct item *last =
		    pt.nitems > segstart ? &pt.items[pt.nitems - 1] : NULL;
		struct seg *sg;

		if (i < len && p[i] == '?') {
			if (last != NULL && last->kind == IT_ANY) {
				last->n++;
			} else {
				pt.items[pt.nitems].kind = IT_ANY;
				pt.items[pt.nitems++].n = 1;
			}
			continue;
		}
		if (i < len && p[i] != '*') {
			if (p[i] == '\\')
				i++;
			if (last == NULL || last->kind != IT_LIT) {
				last = &pt.items[pt.nitems++];
				last->kind = IT_LIT;
				last->off = nlit;
				last->n = 0;
			}
			pt.lit[nlit++] = p[i];
			last->n++;
			continue;
		}
		/* `*` or the end closes a segment */
		sg = &pt.segs[pt.nsegs++];
		sg->first = segstart;
		sg->n = pt.nitems - segstart;
		sg->plain = sg->n == 0 ||
			    (sg->n == 1 && pt.items[sg->first].kind == IT_LIT);
		segstart = pt.nitems;
		while (i + 1 < len && p[i + 1] == '*')
			i++; /* `**` is `*` */
	}
	assert(pt.nsegs >= 1);
	if (l->n == l->cap) {
		l->cap = l->cap == 0 ? 4 : l->cap * 2;
		l->pats = xreallocarray(l->pats, l->cap, sizeof(*l->pats));
	}
	l->pats[l->n++] = pt;
	return 0;
}

/* Compares literal lit[0..n) with s at *i, folding case; advances *i. */
static bool
lit_fold_at(const char *lit, size_t n, const char *s, size_t len, size_t *i)
{
	size_t k = 0;

	while (k < n) {
		unsigned a, b;

		if (*i >= len)
			return false;
		a = (unsigned char)lit[k];
		b = (unsigned char)s[*i];
		if (a < 0x80 && b < 0x80) {
			/* ASCII both: like_lower() is A-Z to a-z */
			if (like_lower(a) != like_lower(b))
				return false;
			k++;
			(*i)++;
			continue;
		}
		if (like_lower(cp_step(lit, n, &k)) !=
		    like_lower(cp_step(s, len, i)))
			return false;
	}
	return true;
}

/* Whether segment sg matches s at byte i; *end is where it stops. */
static bool
seg_at(const struct like *l, const struct pat *pt, const struct seg *sg,
       const char *s, size_t len, size_t i, size_t *end)
{
	for (size_t k = 0; k < sg->n; k++) {
		const struct item *it = &pt->items[sg->first + k];

		if (it->kind == IT_ANY) {
			for (size_t c = 0; c < it->n; c++) {
				if (i >= len)
					return false;
				cp_step(s, len, &i);
			}
		} else if (l->flags & LIKE_FOLD) {
			if (!lit_fold_at(pt->lit + it->off, it->n, s, len, &i))
				return false;
		} else {
			if (len - i < it->n ||
			    memcmp(s + i, pt->lit + it->off, it->n) != 0)
				return false;
			i += it->n;
		}
	}
	*end = i;
	return true;
}

/*
 * The next place at or after i where sg may match under LIKE_FOLD.  A
 * segment that starts with an ASCII byte can only start at an ASCII byte
 * of the value (like_lower() maps no other code point into ASCII), and
 * every ASCII byte starts a code point.
 */
static size_t
fold_skip(const struct pat *pt, const struct seg *sg, const char *s, size_t len,
	  size_t i)
{
	const struct item *it = sg->n > 0 ? &pt->items[sg->first] : NULL;
	unsigned a;

	if (it == NULL || it->kind != IT_LIT ||
	    (unsigned char)pt->lit[it->off] >= 0x80)
		return i;
	a = like_lower((unsigned char)pt->lit[it->off]);
	while (i < len && like_lower((unsigned char)s[i]) != a)
		i++;
	return i;
}

/*
 * The leftmost place at or after byte from where sg matches: its end in
 * *end.  Candidates are the code point starts reached by stepping from
 * `from`.
 */
static bool
seg_find(const struct like *l, const struct pat *pt, const struct seg *sg,
	 const char *s, size_t len, size_t from, size_t *end)
{
	const struct item *it = sg->n > 0 ? &pt->items[sg->first] : NULL;
	size_t i = from;

	if (it != NULL && it->kind == IT_LIT && !(l->flags & LIKE_FOLD)) {
		/* the first literal finds candidates */
		while (i <= len) {
			const char *hit =
			    memmem(s + i, len - i, pt->lit + it->off, it->n);

			if (hit == NULL)
				return false;
			i = (size_t)(hit - s);
			if (seg_at(l, pt, sg, s, len, i, end))
				return true;
			i++;
		}
		return false;
	}
	for (;;) {
		if (l->flags & LIKE_FOLD)
			i = fold_skip(pt, sg, s, len, i);
		if (seg_at(l, pt, sg, s, len, i, end))
			return true;
		if (i >= len)
			return false;
		cp_step(s, len, &i);
	}
}

static bool
pat_match(const struct like *l, const struct pat *pt, const char *s, size_t len)
{
	const struct seg *last = &pt->segs[pt->nsegs - 1];
	size_t pos, end;

	if (!seg_at(l, pt, &pt->segs[0], s, len, 0, &pos))
		return false;
	if (pt->nsegs == 1)
		return pos == len;
	for (size_t k = 1; k + 1 < pt->nsegs; k++)
		if (!seg_find(l, pt, &pt->segs[k], s, len, pos, &pos))
			return false;
	if (last->plain && !(l->flags & LIKE_FOLD)) {
		/* a literal tail: compare the value's last bytes */
		const struct item *it =
		    last->n > 0 ? &pt->items[last->first] : NULL;
		size_t n = it != NULL ? it->n : 0;

		return len - pos >= n &&
		       (n == 0 ||
			memcmp(s + len - n, pt->lit + it->off, n) == 0);
	}
	/* `?` or folding: try each code point start from pos */
	for (;;) {
		if (l->flags & LIKE_FOLD)
			pos = fold_skip(pt, last, s, len, pos);
		if (seg_at(l, pt, last, s, len, pos, &end) && end == len)
			return true;
		if (pos >= len)
			return false;
		cp_step(s, len, &pos);
	}
}

bool
like_match(const struct like *l, const char *s, size_t len)
{
	for (size_t i = 0; i < l->n; i++)
		if (pat_match(l, &l->pats[i], s, len))
			return true;
	return false;
}

size_t
like_count(const struct like *l)
{
	return l->n;
}

void
like_pattern(const struct like *l, size_t i, const char **p, size_t *len)
{
	assert(i < l->n);
	*p = l->pats[i].text;
	*len = l->pats[i].textlen;
}

bool
like_required(const struct like *l, size_t i, const char **p, size_t *len)
{
	const struct pat *pt;
	const struct item *best = NULL;

	assert(i < l->n);
	if (l->flags & LIKE_FOLD)
		return false;
	pt = &l->pats[i];
	for (size_t k = 0; k < pt->nitems; k++)
		if (pt->items[k].kind == IT_LIT &&
		    (best == NULL || pt->items[k].n > best->n))
			best = &pt->items[k];
	if (best == NULL)
		return false;
	*p = pt->lit + best->off;
	*len = best->n;
	return true;
}
