/*
 * prefilter: literal needle groups, scanned with SIMD compares.
 *
 * Each needle is searched with the "two anchor bytes" vector scan: for
 * every position i, compare byte i+lo with one byte of the needle and
 * byte i+hi with another (its first and last, or the ones inside its
 * quotes), 16 or 32 positions at a time, and verify the candidates.
 * ASCII case folding is an OR with 0x20 applied to letter positions
 * only, so it can only add candidates, never lose one.  The needles are
 * kept once each however many groups name them, and a needle's answer
 * is remembered for the line, so alternatives that share one scan it
 * once.  See include/prefilter.h for why a rejection is sound.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "prefilter.h"
#include "util.h"

const uint32_t PREFILTER_FOLDS[] = {
    0x00df, 0x0130, 0x0131, 0x0149, 0x017f, 0x01f0, 0x1e96,
    0x1e97, 0x1e98, 0x1e99, 0x1e9a, 0x1e9e, 0x212a, 0xfb00,
    0xfb01, 0xfb02, 0xfb03, 0xfb04, 0xfb05, 0xfb06,
};
const size_t PREFILTER_NFOLDS =
    sizeof(PREFILTER_FOLDS) / sizeof(PREFILTER_FOLDS[0]);

struct needle {
	char *s;          /* as searched: quoted, folded to lower case if
			     ignore_case */
	size_t len;       /* its length, > 0 */
	size_t lo;        /* offset of the first anchor byte */
	size_t hi;        /* offset of the second anchor byte, >= lo */
	uint8_t first;    /* s[lo] */
	uint8_t last;     /* s[hi] */
	uint8_t ffold;    /* 0x20 if s[lo] is a letter and case is ignored */
	uint8_t lfold;    /* likewise for s[hi] */
	bool ignore_case; /* ASCII case-insensitive comparison */
	bool value;       /* ends a string value: not followed by ':' */
	uint64_t stamp;   /* the line its answer is for */
	bool found;       /* the answer */
};

struct group {
	size_t *needles;  /* indexes into prefilter.needles; one must occur */
	size_t n;         /* count of needles */
	size_t alt;       /* the alternative it belongs to */
	uint64_t rejects; /* lines it failed since the last reorder */
};

struct prefilter {
	struct needle *needles; /* distinct needles */
	size_t nneedles;
	struct group *groups; /* by alternative, cheapest exit first */
	size_t n;             /* count of groups */
	size_t alt;           /* the alternative groups are added to */
	size_t nalts;         /* alternatives with a group */
	uint64_t *passes;     /* per alternative: lines it passed since the
				 last reorder */
	bool fold;            /* some needle ignores case */
	uint64_t lines;       /* lines seen since the last reorder */
	uint64_t stamp;       /* lines seen, for the needles' answers */
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
	for (size_t i = 0; i < pf->nneedles; i++)
		free(pf->needles[i].s);
	for (size_t i = 0; i < pf->n; i++)
		free(pf->groups[i].needles);
	free(pf->needles);
	free(pf->groups);
	free(pf->passes);
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

/*
 * A needle JSON must spell literally, but for the escapes a passed line
 * may hold (\u, \/): no byte that must be escaped; and ASCII if case is
 * ignored.
 */
static bool
is_literal(const char *s, bool ignore_case)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == '"' || *p == '\\' ||
		    (ignore_case && *p >= 0x80))
			return false;
	return *s != '\0';
}

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool
has_prefix(const char *word, const char *s)
{
	return strncmp(word, s, strlen(s)) == 0;
}

static bool
has_suffix(const char *word, const char *s)
{
	size_t w = strlen(word), n = strlen(s);

	return n <= w && strcmp(word + w - n, s) == 0;
}

/*
 * Whether JSON could write the part of a value that s must match as a
 * bare token (a number, true, false, null), which has no quotes: all of
 * it for PF_STRING, its start or its end for the others.  Numbers start
 * with '-' or a digit and end with a digit.
 */
static bool
maybe_token(const char *s, enum prefilter_where where)
{
	static const char *const words[] = {"true", "false", "null"};
	size_t len = strlen(s);

	for (size_t i = 0; i < 3; i++) {
		if (where == PF_STRING && strcmp(s, words[i]) == 0)
			return true;
		if (where == PF_STRING_START && has_prefix(words[i], s))
			return true;
		if (where == PF_STRING_END && has_suffix(words[i], s))
			return true;
	}
	if (where == PF_STRING_END)
		return is_digit(s[len - 1]);
	return is_digit(s[0]) || s[0] == '-';
}

/* The needle as searched for: quoted as `where` asks, when it can be. */
static char *
spell(const char *s, enum prefilter_where *where)
{
	size_t len = strlen(s), k = 0;
	char *q;

	if (*where == PF_ANYWHERE || maybe_token(s, *where)) {
		*where = PF_ANYWHERE;
		return xstrdup(s);
	}
	q = xmalloc(len + 3);
	if (*where != PF_STRING_END)
		q[k++] = '"';
	memcpy(q + k, s, len);
	k += len;
	if (*where != PF_STRING_START)
		q[k++] = '"';
	q[k] = '\0';
	return q;
}

/* The index of the needle s, ignore_case, value; added if new. */
static size_t
intern(struct prefilter *pf, char *s, bool ignore_case, bool value)
{
	struct needle *nd;

	if (ignore_case)
		for (char *c = s; *c; c++)
			*c = (char)lower((uint8_t)*c);
	for (size_t i = 0; i < pf->nneedles; i++) {
		nd = &pf->needles[i];
		if (nd->ignore_case == ignore_case && nd->value == value &&
		    strcmp(nd->s, s) == 0) {
			free(s);
			return i;
		}
	}
	pf->needles =
	    xreallocarray(pf->needles, pf->nneedles + 1, sizeof(*pf->needles));
	nd = &pf->needles[pf->nneedles];
	memset(nd, 0, sizeof(*nd));
	nd->s = s;
	nd->len = strlen(s);
	nd->ignore_case = ignore_case;
	nd->value = value;
	/*
	 * Anchor on the first and last bytes, but not on a quote, the
	 * commonest byte of JSON, when the needle has others.
	 */
	nd->lo = nd->s[0] == '"' && nd->len > 1 ? 1 : 0;
	nd->hi = nd->len - 1;
	if (nd->s[nd->hi] == '"' && nd->hi > nd->lo)
		nd->hi--;
	nd->first = (uint8_t)nd->s[nd->lo];
	nd->last = (uint8_t)nd->s[nd->hi];
	nd->ffold = ignore_case && is_alpha(nd->first) ? 0x20 : 0;
	nd->lfold = ignore_case && is_alpha(nd->last) ? 0x20 : 0;
	pf->fold |= ignore_case;
	return pf->nneedles++;
}

int
prefilter_add_needles(struct prefilter *pf, const struct prefilter_needle *v,
		      size_t n)
{
	struct group g = {0};

	if (n == 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (!is_literal(v[i].s, v[i].ignore_case))
			return -1;
	g.needles = xcalloc(n, sizeof(*g.needles));
	g.n = n;
	g.alt = pf->alt;
	for (size_t i = 0; i < n; i++) {
		enum prefilter_where where = v[i].where;
		char *s = spell(v[i].s, &where);
		g.needles[i] =
		    intern(pf, s, v[i].ignore_case,
			   where == PF_STRING || where == PF_STRING_END);
	}
	pf->groups = xreallocarray(pf->groups, pf->n + 1, sizeof(*pf->groups));
	pf->groups[pf->n++] = g;
	if (pf->nalts <= pf->alt) {
		pf->passes =
		    xreallocarray(pf->passes, pf->alt + 1, sizeof(*pf->passes));
		for (size_t a = pf->nalts; a <= pf->alt; a++)
			pf->passes[a] = 0;
		pf->nalts = pf->alt + 1;
	}
	return 0;
}

int
prefilter_add_group(struct prefilter *pf, const char *const *needles, size_t n,
		    bool ignore_case, enum prefilter_where where)
{
	struct prefilter_needle *v = xcalloc(n + 1, sizeof(*v));
	int rc;

	for (size_t i = 0; i < n; i++)
		v[i] =
		    (struct prefilter_needle){needles[i], where, ignore_case};
	rc = prefilter_add_needles(pf, v, n);
	free(v);
	return rc;
}

void
prefilter_new_alt(struct prefilter *pf)
{
	if (pf->nalts > pf->alt)
		pf->alt = pf->nalts;
}

static size_t
shortest(const struct prefilter *pf, const struct group *g)
{
	size_t m = SIZE_MAX;

	for (size_t i = 0; i < g->n; i++)
		if (pf->needles[g->needles[i]].len < m)
			m = pf->needles[g->needles[i]].len;
	return m;
}

/*
 * By alternative; within one, fewer needles first, then longer ones: a
 * rough guess at selectivity.  Insertion sort: stable, and n is small.
 */
static bool
before(const struct prefilter *pf, const struct group *x, const struct group *y)
{
	if (x->alt != y->alt)
		return x->alt < y->alt;
	if (x->n != y->n)
		return x->n < y->n;
	return shortest(pf, x) > shortest(pf, y);
}

void
prefilter_seal(struct prefilter *pf)
{
	for (size_t i = 1; i < pf->n; i++) {
		struct group g = pf->groups[i];
		size_t j = i;
		for (; j > 0 && before(pf, &g, &pf->groups[j - 1]); j--)
			pf->groups[j] = pf->groups[j - 1];
		pf->groups[j] = g;
	}
}

size_t
prefilter_groups(const struct prefilter *pf)
{
	return pf->n;
}

/* Whether the needle stands at p + i (i + nd->len <= len). */
static bool
verify(const struct needle *nd, const uint8_t *p, size_t len, size_t i)
{
	size_t j;

	if (!nd->ignore_case) {
		if (memcmp(p + i, nd->s, nd->len) != 0)
			return false;
	} else {
		for (size_t k = 0; k < nd->len; k++)
			if (lower(p[i + k]) != (uint8_t)nd->s[k])
				return false;
	}
	if (!nd->value)
		return true;
	/* A key, not a value, when a ':' follows. */
	for (j = i + nd->len; j < len; j++)
		if (p[j] != ' ' && p[j] != '\t' && p[j] != '\n' && p[j] != '\r')
			break;
	return j == len || p[j] != ':';
}

static bool
find_scalar(const struct needle *nd, const uint8_t *p, size_t len, size_t from)
{
	for (size_t i = from; i + nd->len <= len; i++)
		if ((p[i + nd->lo] | nd->ffold) == nd->first &&
		    (p[i + nd->hi] | nd->lfold) == nd->last &&
		    verify(nd, p, len, i))
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
scan_avx2(const struct needle *nd, const uint8_t *p, size_t len)
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
			if (verify(nd, p, len, i + (size_t)__builtin_ctz(bits)))
				return SIZE_MAX;
	}
	return i;
}

static size_t
scan_sse2(const struct needle *nd, const uint8_t *p, size_t len)
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
			if (verify(nd, p, len, i + (size_t)__builtin_ctz(bits)))
				return SIZE_MAX;
	}
	return i;
}

/* Whether a byte of p[0..len) is outside ASCII. */
static bool
has_high_byte(const uint8_t *p, size_t len)
{
	size_t i = 0;
	__m128i acc = _mm_setzero_si128();

	for (; i + 16 <= len; i += 16)
		acc = _mm_or_si128(acc,
				   _mm_loadu_si128((const __m128i *)(p + i)));
	if (_mm_movemask_epi8(acc) != 0)
		return true;
	for (; i < len; i++)
		if (p[i] >= 0x80)
			return true;
	return false;
}
#else
static bool
has_high_byte(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] >= 0x80)
			return true;
	return false;
}
#endif

static bool
find(const struct needle *nd, const uint8_t *p, size_t len)
{
	size_t i = 0;

	if (nd->len == 1 && !nd->ignore_case && !nd->value)
		return memchr(p, nd->s[0], len) != NULL;
#ifdef HAVE_VECTOR_SCAN
	static int avx2 = -1;
	if (avx2 < 0) {
		__builtin_cpu_init();
		/* BURSTD_NO_AVX2 lets the tests cover the SSE2 path too. */
		avx2 = __builtin_cpu_supports("avx2") &&
		       getenv("BURSTD_NO_AVX2") == NULL;
	}
	i = avx2 ? scan_avx2(nd, p, len) : scan_sse2(nd, p, len);
	if (i == SIZE_MAX)
		return true;
#endif
	return find_scalar(nd, p, len, i);
}

/* A backslash before 'u' or '/': an escape that may hide a needle. */
static bool
has_escape(const uint8_t *p, size_t len)
{
	const uint8_t *end = p + len, *q = p;

	while ((q = memchr(q, '\\', (size_t)(end - q))) != NULL) {
		if (q + 1 < end && (q[1] == 'u' || q[1] == '/'))
			return true;
		/* "\\" is one escaped backslash: skip both */
		q += q + 1 < end && q[1] == '\\' ? 2 : 1;
	}
	return false;
}

/* The UTF-8 encoding of one of PREFILTER_FOLDS at p[0..len). */
static bool
has_fold_char(const uint8_t *p, size_t len)
{
	if (!has_high_byte(p, len))
		return false;
	for (size_t i = 0; i + 1 < len; i++) {
		uint32_t c;
		if (p[i] < 0xc2)
			continue;
		if (p[i] < 0xe0)
			c = (uint32_t)(p[i] & 0x1f) << 6 | (p[i + 1] & 0x3f);
		else if (p[i] < 0xf0 && i + 2 < len)
			c = (uint32_t)(p[i] & 0x0f) << 12 |
			    (uint32_t)(p[i + 1] & 0x3f) << 6 |
			    (p[i + 2] & 0x3f);
		else
			continue;
		for (size_t k = 0; k < PREFILTER_NFOLDS; k++)
			if (c == PREFILTER_FOLDS[k])
				return true;
	}
	return false;
}

/*
 * The alternatives, most passes first (a line that passes stops at the
 * first that holds), ties in their present order; each keeps its groups
 * together and in their order.
 */
static void
reorder_alts(struct prefilter *pf)
{
	struct group *v = xcalloc(pf->n, sizeof(*v));
	bool *done = xcalloc(pf->nalts, sizeof(*done));
	size_t k = 0;

	while (k < pf->n) {
		size_t best = SIZE_MAX;
		for (size_t i = 0; i < pf->n; i++) {
			size_t a = pf->groups[i].alt;
			if (!done[a] && (best == SIZE_MAX ||
					 pf->passes[a] > pf->passes[best]))
				best = a;
		}
		done[best] = true;
		for (size_t i = 0; i < pf->n; i++)
			if (pf->groups[i].alt == best)
				v[k++] = pf->groups[i];
	}
	memcpy(pf->groups, v, pf->n * sizeof(*v));
	free(done);
	free(v);
	for (size_t a = 0; a < pf->nalts; a++)
		pf->passes[a] = 0;
}

/* Most rejections first within an alternative; stable. */
static void
reorder(struct prefilter *pf)
{
	for (size_t i = 1; i < pf->n; i++) {
		struct group g = pf->groups[i];
		size_t j = i;
		for (; j > 0 && pf->groups[j - 1].alt == g.alt &&
		       pf->groups[j - 1].rejects < g.rejects;
		     j--)
			pf->groups[j] = pf->groups[j - 1];
		pf->groups[j] = g;
	}
	for (size_t i = 0; i < pf->n; i++)
		pf->groups[i].rejects = 0;
	if (pf->nalts > 1)
		reorder_alts(pf);
	pf->lines = 0;
}

static bool
needle_found(struct prefilter *pf, size_t k, const uint8_t *p, size_t len)
{
	struct needle *nd = &pf->needles[k];

	if (nd->stamp != pf->stamp) {
		nd->stamp = pf->stamp;
		nd->found = find(nd, p, len);
	}
	return nd->found;
}

bool
prefilter_pass(struct prefilter *pf, const char *line, size_t len)
{
	const uint8_t *p = (const uint8_t *)line;
	size_t i = 0;

	if (pf->n == 0)
		return true;
	if (++pf->lines == REORDER_EVERY)
		reorder(pf);
	pf->stamp++;
	while (i < pf->n) {
		size_t alt = pf->groups[i].alt;
		bool ok = true;
		for (; i < pf->n && pf->groups[i].alt == alt; i++) {
			struct group *g = &pf->groups[i];
			bool found = false;
			for (size_t j = 0; j < g->n && !found; j++)
				found = needle_found(pf, g->needles[j], p, len);
			if (!found) {
				g->rejects++;
				ok = false;
				break;
			}
		}
		if (ok) {
			pf->passes[alt]++;
			return true;
		}
		while (i < pf->n && pf->groups[i].alt == alt)
			i++;
	}
	/* No alternative holds: unless an escape or a fold hides a needle. */
	return has_escape(p, len) || (pf->fold && has_fold_char(p, len));
}
