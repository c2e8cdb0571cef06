/*
 * prefilter: literal needle groups, scanned with SIMD compares.
 *
 * Each needle is searched with the "two anchor bytes" vector scan: for
 * every position i, compare byte i+lo with one byte of the needle and
 * byte i+hi with another (its first and last, or the ones inside its
 * quotes), 16 or 32 positions at a time, and verify the candidates.  ASCII case folding is an OR with 0x20
 * applied to letter positions only, so it can only add candidates, never
 * lose one.  The other groups are checked only on lines that pass the
 * first, with a plain search.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "prefilter.h"
#include "util.h"

struct needle {
	char *s;       /* the needle, folded to lower case if ignore_case */
	size_t len;    /* its length, > 0 */
	size_t lo;     /* offset of the first anchor byte */
	size_t hi;     /* offset of the second anchor byte, >= lo */
	uint8_t first; /* s[lo] */
	uint8_t last;  /* s[hi] */
	uint8_t ffold; /* 0x20 if s[lo] is a letter and case is ignored */
	uint8_t lfold; /* likewise for s[hi] */
};

struct group {
	struct needle *needles; /* one must occur */
	size_t n;               /* count of needles */
	bool ignore_case;       /* ASCII case-insensitive comparison */
	uint64_t rejects;       /* lines it failed since the last reorder */
};

struct prefilter {
	struct group *groups; /* all must be satisfied, cheapest exit first */
	size_t n;             /* count of groups */
	uint64_t lines;       /* lines seen since the last reorder */
};

/* Lines between two reorderings of the groups by how often they fail. */
#define REORDER_EVERY 4096

struct prefilter *
prefilter_new(void)
{
	return xcalloc(1, sizeof(struct prefilter));
}

void
prefilter_free(struct prefilter *pf)
{
	if (pf == NULL)
		return;
	for (size_t i = 0; i < pf->n; i++) {
		for (size_t j = 0; j < pf->groups[i].n; j++)
			free(pf->groups[i].needles[j].s);
		free(pf->groups[i].needles);
	}
	free(pf->groups);
	free(pf);
}

static bool
is_alpha(uint8_t c)
{
	return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
}

static uint8_t
lower(uint8_t c)
{
	return c >= 'A' && c <= 'Z' ? (uint8_t)(c | 0x20) : c;
}

/* A needle JSON must spell literally: no byte that may be escaped. */
static bool
is_literal(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == '"' || *p == '\\' || *p == '/')
			return false;
	return *s != '\0';
}

/* Whether JSON could write s as a bare token: a number or a literal. */
static bool
maybe_token(const char *s)
{
	return (*s >= '0' && *s <= '9') || *s == '-' ||
	       strcmp(s, "true") == 0 || strcmp(s, "false") == 0 ||
	       strcmp(s, "null") == 0;
}

/* The needle as searched for: quoted as `where` asks, when it can be. */
static char *
spell(const char *s, enum prefilter_where where)
{
	size_t len = strlen(s);
	char *q;

	if (where == PF_ANYWHERE || maybe_token(s))
		return xstrdup(s);
	q = xmalloc(len + 3);
	q[0] = '"';
	memcpy(q + 1, s, len);
	if (where == PF_STRING) {
		q[len + 1] = '"';
		q[len + 2] = '\0';
	} else {
		q[len + 1] = '\0';
	}
	return q;
}

int
prefilter_add_group(struct prefilter *pf, const char *const *needles, size_t n,
		    bool ignore_case, enum prefilter_where where)
{
	struct group g = {0};

	if (n == 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (!is_literal(needles[i]))
			return -1;
	g.needles = xcalloc(n, sizeof(*g.needles));
	g.n = n;
	g.ignore_case = ignore_case;
	for (size_t i = 0; i < n; i++) {
		struct needle *nd = &g.needles[i];
		nd->s = spell(needles[i], where);
		nd->len = strlen(nd->s);
		if (ignore_case)
			for (size_t k = 0; k < nd->len; k++)
				nd->s[k] = (char)lower((uint8_t)nd->s[k]);
		/*
		 * Anchor on the first and last bytes, but not on a quote,
		 * the commonest byte of JSON, when the needle has others.
		 */
		nd->lo = nd->s[0] == '"' && nd->len > 1 ? 1 : 0;
		nd->hi = nd->len - 1;
		if (nd->s[nd->hi] == '"' && nd->hi > nd->lo)
			nd->hi--;
		nd->first = (uint8_t)nd->s[nd->lo];
		nd->last = (uint8_t)nd->s[nd->hi];
		nd->ffold = ignore_case && is_alpha(nd->first) ? 0x20 : 0;
		nd->lfold = ignore_case && is_alpha(nd->last) ? 0x20 : 0;
	}
	pf->groups = xreallocarray(pf->groups, pf->n + 1, sizeof(*pf->groups));
	pf->groups[pf->n++] = g;
	return 0;
}

static size_t
shortest(const struct group *g)
{
	size_t m = SIZE_MAX;

	for (size_t i = 0; i < g->n; i++)
		if (g->needles[i].len < m)
			m = g->needles[i].len;
	return m;
}

/* Fewer needles first, then longer ones: a rough guess at selectivity. */
static int
group_cmp(const void *a, const void *b)
{
	const struct group *x = a, *y = b;

	if (x->n != y->n)
		return x->n < y->n ? -1 : 1;
	size_t sx = shortest(x), sy = shortest(y);
	return sx == sy ? 0 : sx > sy ? -1 : 1;
}

void
prefilter_seal(struct prefilter *pf)
{
	if (pf->n > 1)
		qsort(pf->groups, pf->n, sizeof(*pf->groups), group_cmp);
}

size_t
prefilter_groups(const struct prefilter *pf)
{
	return pf->n;
}

static bool
equal_at(const struct needle *nd, const uint8_t *p, bool ignore_case)
{
	if (!ignore_case)
		return memcmp(p, nd->s, nd->len) == 0;
	for (size_t k = 0; k < nd->len; k++)
		if (lower(p[k]) != (uint8_t)nd->s[k])
			return false;
	return true;
}

static bool
find_scalar(const struct needle *nd, const uint8_t *p, size_t len, size_t from,
	    bool ignore_case)
{
	for (size_t i = from; i + nd->len <= len; i++)
		if ((p[i + nd->lo] | nd->ffold) == nd->first &&
		    (p[i + nd->hi] | nd->lfold) == nd->last &&
		    equal_at(nd, p + i, ignore_case))
			return true;
	return false;
}

/*
 * The vector scan: 16 (SSE2, every x86-64) or 32 (AVX2, chosen at run
 * time) positions at a time; a set bit of the mask is a candidate, then
 * verified.  Returns the position from which the scalar loop must go on,
 * or SIZE_MAX if the needle was found.  Other CPUs use the scalar loop.
 */
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define HAVE_VECTOR_SCAN 1

__attribute__((target("avx2"))) static size_t
scan_avx2(const struct needle *nd, const uint8_t *p, size_t len,
	  bool ignore_case)
{
	const __m256i vf = _mm256_set1_epi8((char)nd->first);
	const __m256i vl = _mm256_set1_epi8((char)nd->last);
	const __m256i ff = _mm256_set1_epi8((char)nd->ffold);
	const __m256i lf = _mm256_set1_epi8((char)nd->lfold);
	size_t i = 0;

	for (; i + 31 + nd->len <= len; i += 32) {
		__m256i a =
		    _mm256_loadu_si256((const __m256i *)(p + i + nd->lo));
		__m256i b =
		    _mm256_loadu_si256((const __m256i *)(p + i + nd->hi));
		__m256i m =
		    _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_or_si256(a, ff),
						       vf),
				     _mm256_cmpeq_epi8(_mm256_or_si256(b, lf),
						       vl));
		uint32_t bits = (uint32_t)_mm256_movemask_epi8(m);
		for (; bits != 0; bits &= bits - 1)
			if (equal_at(nd, p + i + __builtin_ctz(bits),
				     ignore_case))
				return SIZE_MAX;
	}
	return i;
}

static size_t
scan_sse2(const struct needle *nd, const uint8_t *p, size_t len,
	  bool ignore_case)
{
	const __m128i vf = _mm_set1_epi8((char)nd->first);
	const __m128i vl = _mm_set1_epi8((char)nd->last);
	const __m128i ff = _mm_set1_epi8((char)nd->ffold);
	const __m128i lf = _mm_set1_epi8((char)nd->lfold);
	size_t i = 0;

	for (; i + 15 + nd->len <= len; i += 16) {
		__m128i a = _mm_loadu_si128((const __m128i *)(p + i + nd->lo));
		__m128i b = _mm_loadu_si128((const __m128i *)(p + i + nd->hi));
		__m128i m =
		    _mm_and_si128(_mm_cmpeq_epi8(_mm_or_si128(a, ff), vf),
				  _mm_cmpeq_epi8(_mm_or_si128(b, lf), vl));
		uint32_t bits = (uint32_t)_mm_movemask_epi8(m);
		for (; bits != 0; bits &= bits - 1)
			if (equal_at(nd, p + i + __builtin_ctz(bits),
				     ignore_case))
				return SIZE_MAX;
	}
	return i;
}
#endif

static bool
find(const struct needle *nd, const uint8_t *p, size_t len, bool ignore_case)
{
	size_t i = 0;

	if (nd->len == 1 && !ignore_case)
		return memchr(p, nd->s[0], len) != NULL;
#ifdef HAVE_VECTOR_SCAN
	static int avx2 = -1;
	if (avx2 < 0) {
		__builtin_cpu_init();
		/* BURSTD_NO_AVX2 lets the tests cover the SSE2 path too. */
		avx2 = __builtin_cpu_supports("avx2") &&
		       getenv("BURSTD_NO_AVX2") == NULL;
	}
	i = avx2 ? scan_avx2(nd, p, len, ignore_case)
		 : scan_sse2(nd, p, len, ignore_case);
	if (i == SIZE_MAX)
		return true;
#endif
	return find_scalar(nd, p, len, i, ignore_case);
}

static bool
has_unicode_escape(const uint8_t *p, size_t len)
{
	const uint8_t *end = p + len, *q = p;

	while ((q = memchr(q, '\\', (size_t)(end - q))) != NULL) {
		if (q + 1 < end && q[1] == 'u')
			return true;
		q += 1;
	}
	return false;
}

/* Most rejections first: the stable order of a sealed prefilter breaks ties. */
static int
rejects_cmp(const void *a, const void *b)
{
	const struct group *x = a, *y = b;

	return x->rejects == y->rejects ? 0 : x->rejects > y->rejects ? -1 : 1;
}

/*
 * Puts the groups that reject most lines first, so a typical line is
 * turned away by the first scan.  The result never depends on the order.
 */
static void
reorder(struct prefilter *pf)
{
	/* insertion sort: stable, and n is a handful */
	for (size_t i = 1; i < pf->n; i++) {
		struct group g = pf->groups[i];
		size_t j = i;
		for (; j > 0 && rejects_cmp(&pf->groups[j - 1], &g) > 0; j--)
			pf->groups[j] = pf->groups[j - 1];
		pf->groups[j] = g;
	}
	for (size_t i = 0; i < pf->n; i++)
		pf->groups[i].rejects = 0;
	pf->lines = 0;
}

bool
prefilter_pass(struct prefilter *pf, const char *line, size_t len)
{
	const uint8_t *p = (const uint8_t *)line;

	if (++pf->lines == REORDER_EVERY)
		reorder(pf);
	for (size_t i = 0; i < pf->n; i++) {
		struct group *g = &pf->groups[i];
		bool found = false;
		for (size_t j = 0; j < g->n && !found; j++)
			found = find(&g->needles[j], p, len, g->ignore_case);
		if (!found) {
			g->rejects++;
			return has_unicode_escape(p, len);
		}
	}
	return true;
}
