/*
 * record: yajl SAX callbacks -> per-slot values.
 *
 * The parser tracks the dotted path of the current position in `path`.
 * Each open container has a level on `stack`: a map level remembers the
 * path length at which its keys start; every level remembers the slot
 * that values directly inside it belong to (for arrays, the slot of the
 * key that holds the array) and whether the subtree is dead, that is,
 * whether no wanted field can lie below it.  A key under a live map is
 * appended to the path and looked up once, in a small open-addressing
 * table holding every wanted name and every dot-prefix of one.
 *
 * yajl handles are recycled through a tiny free list of blocks (the
 * "pool"), so a fresh handle per line costs no call to malloc once the
 * pool is warm, and a handle left in an error state is never reused.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>
#include <yajl/yajl_parse.h>

#include "log.h"
#include "record.h"
#include "util.h"

#define PATH_MAX_BYTES RECORD_MAX_NAME
#define POOL_BLOCKS 16

enum {
	ENTRY_FIELD = 1,
	ENTRY_PREFIX = 2
};

struct entry {
	char *name; /* NULL: empty table slot */
	size_t len; /* strlen(name) */
	int slot;   /* field slot, if kind has ENTRY_FIELD */
	int kind;   /* ENTRY_FIELD | ENTRY_PREFIX */
};

struct level {
	uint32_t base; /* map: path length where its keys begin */
	int slot;      /* slot of values directly inside, or -1 */
	bool is_map;   /* a map (else an array) */
	bool dead;     /* no wanted field below */
	bool prefix;   /* the current position prefixes a wanted name */
};

struct raw_value {
	uint32_t slot; /* field slot */
	uint32_t off;  /* offset in the arena */
	uint32_t len;  /* length */
};

struct pool_block {
	size_t cap;          /* usable bytes after the header */
	max_align_t align[]; /* user memory */
};

struct record {
	struct record_value *vals; /* values, grouped by slot */
	size_t nslots;             /* the parser's fields */
	size_t start[RECORD_MAX_FIELDS +
		     1]; /* slot i: vals[start[i]..start[i+1]) */
};

struct parser {
	struct entry *table; /* names and prefixes, open addressing */
	size_t mask;         /* table size - 1 */
	size_t max_depth;    /* deepest nesting accepted */
	size_t max_name;     /* longest wanted name */

	yajl_handle yajl;        /* handle for the current line */
	yajl_alloc_funcs afuncs; /* routes yajl's memory through the pool */
	struct pool_block *pool[POOL_BLOCKS]; /* free blocks */
	size_t npool;                         /* entries of pool in use */
	uint64_t heap_allocs;                 /* calls into the C heap */

	char path[PATH_MAX_BYTES]; /* dotted path of the current key */
	uint32_t path_len;         /* bytes of path in use */
	struct level *stack;       /* open containers, max_depth entries */
	size_t depth;              /* entries of stack in use */
	bool saw_top;              /* the top-level value has started */
	uint64_t keyword_slots[(RECORD_MAX_FIELDS + 63) / 64]; /* bit i: slot
				    i is read as a keyword (ignore_above) */
	size_t nfields;                                        /* slots */
	uint32_t check_slots;   /* slots whose values are checked */
	parser_check_fn *check; /* the check, or NULL */
	void *check_arg;        /* passed to check */
	enum parse_result fail; /* why the callbacks cancelled */

	struct buf fixed;      /* the line with lone surrogates replaced */
	struct buf arena;      /* bytes of this line's values */
	struct raw_value *raw; /* values in document order */
	size_t nraw, capraw;   /* entries used and allocated */
	struct record rec;     /* the result, values grouped by slot */
	size_t caprec;         /* entries allocated in rec.vals */
};

/* The pool: yajl's allocations, recycled. */

static void *
pool_malloc(void *ctx, size_t sz)
{
	struct parser *ps = ctx;
	struct pool_block *b;

	for (size_t i = 0; i < ps->npool; i++) {
		if (ps->pool[i]->cap >= sz) {
			b = ps->pool[i];
			ps->pool[i] = ps->pool[--ps->npool];
			return b->align;
		}
	}
	ps->heap_allocs++;
	b = xmalloc(sizeof(*b) + sz);
	b->cap = sz;
	return b->align;
}

static struct pool_block *
block_of(void *p)
{
	return (struct pool_block *)((char *)p -
				     offsetof(struct pool_block, align));
}

static void
pool_free(void *ctx, void *p)
{
	struct parser *ps = ctx;
	struct pool_block *b;

	if (p == NULL)
		return;
	b = block_of(p);
	if (ps->npool < POOL_BLOCKS) {
		ps->pool[ps->npool++] = b;
		return;
	}
	free(b);
}

static void *
pool_realloc(void *ctx, void *p, size_t sz)
{
	void *q;

	if (p == NULL)
		return pool_malloc(ctx, sz);
	if (block_of(p)->cap >= sz)
		return p;
	q = pool_malloc(ctx, sz);
	memcpy(q, p, block_of(p)->cap);
	pool_free(ctx, p);
	return q;
}

/*
 * Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing past
 * U+10FFFF.  yajl's own check lets overlong forms and encoded surrogates
 * through, so the parser runs this one instead, over the whole line,
 * with a word-at-a-time path for ASCII.
 */
static bool
utf8_valid(const unsigned char *p, size_t len)
{
	const unsigned char *end = p + len;

	while (p < end) {
		if (end - p >= 8) {
			uint64_t w;
			memcpy(&w, p, 8);
			if ((w & UINT64_C(0x8080808080808080)) == 0) {
				p += 8;
				continue;
			}
		}
		unsigned char c = *p;
		if (c < 0x80) {
			p++;
			continue;
		}
		size_t n;
		unsigned char lo = 0x80, hi = 0xbf;
		if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			if (c == 0xe0)
				lo = 0xa0;
			else if (c == 0xed)
				hi = 0x9f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			if (c == 0xf0)
				lo = 0x90;
			else if (c == 0xf4)
				hi = 0x8f;
		} else {
			return false;
		}
		if ((size_t)(end - p) <= n || p[1] < lo || p[1] > hi)
			return false;
		for (size_t k = 2; k <= n; k++)
			if ((p[k] & 0xc0) != 0x80)
				return false;
		p += n + 1;
	}
	return true;
}

static int
hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* The code unit of a "\uXXXX" escape at p (p[0] == '\\'), or -1. */
static long
escape_at(const unsigned char *p, const unsigned char *end)
{
	long v = 0;

	if (end - p < 6 || p[0] != '\\' || p[1] != 'u')
		return -1;
	for (int i = 2; i < 6; i++) {
		int h = hexval(p[i]);
		if (h < 0)
			return -1;
		v = v * 16 + h;
	}
	return v;
}

/*
 * A "\u" escape of a UTF-16 surrogate that is not half of a proper pair
 * becomes U+FFFD, as Elasticsearch stores it (Lucene replaces unpaired
 * surrogates when it encodes a string as UTF-8); yajl would turn a lone
 * high surrogate into '?' and emit a lone low one as invalid UTF-8.
 * Returns the line to parse: the input itself when it has no unpaired
 * surrogate escape (the common case, found with one memchr pass), or a
 * rewritten copy in ps->fixed.
 */
static const char *
fix_surrogates(struct parser *ps, const char *line, size_t *len)
{
	const unsigned char *p = (const unsigned char *)line;
	const unsigned char *end = p + *len, *q = p, *copied = NULL;

	while ((q = memchr(q, '\\', (size_t)(end - q))) != NULL) {
		long u = escape_at(q, end), w;
		bool lone = false;
		size_t skip = u < 0 ? 2 : 6;

		if (u >= 0xd800 && u <= 0xdbff) {
			w = escape_at(q + 6, end);
			if (w >= 0xdc00 && w <= 0xdfff)
				skip = 12; /* a proper pair */
			else
				lone = true;
		} else if (u >= 0xdc00 && u <= 0xdfff) {
			lone = true;
		}
		if (lone) {
			if (copied == NULL) {
				if (ps->fixed.cap < *len + 1)
					ps->heap_allocs++;
				ps->fixed.len = 0;
				copied = p;
			}
			buf_append(&ps->fixed, copied, (size_t)(q - copied));
			buf_append(&ps->fixed, "\\ufffd", 6);
			copied = q + 6;
		}
		if ((size_t)(end - q) <= skip)
			break;
		q += skip;
	}
	if (copied == NULL)
		return line;
	buf_append(&ps->fixed, copied, (size_t)(end - copied));
	*len = ps->fixed.len;
	return ps->fixed.data;
}

/* The name table. */

static struct entry *
lookup(const struct parser *ps, const char *s, size_t len)
{
	uint64_t h = XXH3_64bits(s, len);

	for (size_t i = h & ps->mask;; i = (i + 1) & ps->mask) {
		struct entry *e = &ps->table[i];
		if (e->name == NULL)
			return NULL;
		if (e->len == len && memcmp(e->name, s, len) == 0)
			return e;
	}
}

static void
insert(struct parser *ps, const char *s, size_t len, int kind, int slot)
{
	uint64_t h = XXH3_64bits(s, len);
	size_t i;

	for (i = h & ps->mask; ps->table[i].name != NULL;
	     i = (i + 1) & ps->mask) {
		struct entry *e = &ps->table[i];
		if (e->len == len && memcmp(e->name, s, len) == 0) {
			e->kind |= kind;
			if (kind == ENTRY_FIELD)
				e->slot = slot;
			return;
		}
	}
	ps->table[i].name = xstrndup(s, len);
	ps->table[i].len = len;
	ps->table[i].kind = kind;
	ps->table[i].slot = kind == ENTRY_FIELD ? slot : -1;
}

/* Keywords. */

/*
 * Fields of the endpoint process mapping (endpoint-package,
 * data_stream/process/fields/fields.yml) that are not keywords, so
 * ignore_above does not apply to them.
 */
static const char *const not_keyword[] = {
    /* wildcard */
    "process.command_line",
    "process.parent.command_line",
    "process.entry_leader.command_line",
    "process.group_leader.command_line",
    "process.session_leader.command_line",
    /* date */
    "@timestamp",
    "event.created",
    "event.ingested",
    "process.start",
    "process.parent.start",
    "process.parent.group_leader.start",
    "process.entry_leader.start",
    "process.entry_leader.parent.start",
    "process.entry_leader.parent.session_leader.start",
    "process.group_leader.start",
    "process.session_leader.start",
    "process.session_leader.parent.start",
    "process.session_leader.parent.session_leader.start",
    /* match_only_text */
    "message",
    /* constant_keyword */
    "data_stream.dataset",
    "data_stream.namespace",
    "data_stream.type",
};

bool
record_is_keyword(const char *field)
{
	for (size_t i = 0; i < sizeof(not_keyword) / sizeof(*not_keyword); i++)
		if (strcmp(field, not_keyword[i]) == 0)
			return false;
	return true;
}

/*
 * Whether a value (valid UTF-8) is longer than RECORD_IGNORE_ABOVE UTF-16
 * code units: one per code point, two for one above U+FFFF (a four-byte
 * sequence).  No value of at most that many bytes is, which spares the
 * count for nearly every value.
 */
static bool
too_long_keyword(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t units = 0;

	if (len <= RECORD_IGNORE_ABOVE)
		return false;
	for (size_t i = 0; i < len; i++)
		units += (p[i] & 0xc0) != 0x80 ? 1 + (p[i] >= 0xf0) : 0;
	return units > RECORD_IGNORE_ABOVE;
}

/* The callbacks. */

static int
add_value(struct parser *ps, const char *s, size_t len)
{
	struct level *lv = &ps->stack[ps->depth - 1];

	if (lv->slot < 0)
		return 1;
	/* Not indexed, so not there for the query. */
	if ((ps->keyword_slots[lv->slot / 64] >> (lv->slot % 64) & 1) &&
	    too_long_keyword(s, len))
		return 1;
	if (lv->slot < 32 && (ps->check_slots >> lv->slot & 1) &&
	    !ps->check(ps->check_arg, lv->slot, s, len)) {
		ps->fail = PARSE_REJECTED;
		return 0;
	}
	if (ps->nraw == ps->capraw) {
		ps->capraw = ps->capraw ? ps->capraw * 2 : 64;
		ps->raw = xreallocarray(ps->raw, ps->capraw, sizeof(*ps->raw));
		ps->heap_allocs++;
	}
	if (ps->arena.len + len + 1 > ps->arena.cap)
		ps->heap_allocs++;
	ps->raw[ps->nraw].slot = (uint32_t)lv->slot;
	ps->raw[ps->nraw].off = (uint32_t)ps->arena.len;
	ps->raw[ps->nraw].len = (uint32_t)len;
	ps->nraw++;
	/* Reserved even for an empty value: record values never point at
	 * NULL. */
	buf_reserve(&ps->arena, len);
	buf_append(&ps->arena, s, len);
	return 1;
}

/* A scalar at the top level is a document that is not an object. */
static int
scalar(struct parser *ps, const char *s, size_t len)
{
	if (ps->depth == 0) {
		ps->fail = PARSE_NOT_OBJECT;
		return 0;
	}
	return add_value(ps, s, len);
}

static int
cb_null(void *ctx)
{
	struct parser *ps = ctx;

	/* null contributes no value, but may still be a whole document. */
	if (ps->depth == 0) {
		ps->fail = PARSE_NOT_OBJECT;
		return 0;
	}
	return 1;
}

static int
cb_boolean(void *ctx, int b)
{
	return b ? scalar(ctx, "true", 4) : scalar(ctx, "false", 5);
}

static int
cb_number(void *ctx, const char *s, size_t len)
{
	return scalar(ctx, s, len);
}

static int
cb_string(void *ctx, const unsigned char *s, size_t len)
{
	return scalar(ctx, (const char *)s, len);
}

static int
open_level(struct parser *ps, bool is_map)
{
	struct level *lv;

	if (ps->depth == 0) {
		if (ps->saw_top || !is_map) {
			ps->fail = PARSE_NOT_OBJECT;
			return 0;
		}
		ps->saw_top = true;
	}
	if (ps->depth == ps->max_depth) {
		ps->fail = PARSE_TOO_DEEP;
		return 0;
	}
	lv = &ps->stack[ps->depth];
	lv->is_map = is_map;
	lv->base = ps->path_len;
	if (ps->depth == 0) {
		lv->slot = -1;
		lv->dead = false;
		lv->prefix = false;
	} else {
		const struct level *up = &ps->stack[ps->depth - 1];
		/*
		 * An array stands where its key stands; a map below a
		 * position that prefixes no wanted name holds nothing wanted.
		 */
		lv->slot = is_map ? -1 : up->slot;
		lv->prefix = is_map ? false : up->prefix;
		lv->dead = up->dead || (is_map && !up->prefix);
	}
	ps->depth++;
	return 1;
}

static int
cb_start_map(void *ctx)
{
	return open_level(ctx, true);
}

static int
cb_start_array(void *ctx)
{
	return open_level(ctx, false);
}

static int
cb_end(void *ctx)
{
	struct parser *ps = ctx;

	ps->depth--;
	ps->path_len = ps->stack[ps->depth].base;
	return 1;
}

static int
cb_map_key(void *ctx, const unsigned char *key, size_t len)
{
	struct parser *ps = ctx;
	struct level *lv = &ps->stack[ps->depth - 1];
	const struct entry *e;
	size_t need;

	lv->slot = -1;
	lv->prefix = false;
	if (lv->dead)
		return 1;
	need = lv->base + (lv->base > 0) + len;
	if (need > ps->max_name) {
		ps->path_len = lv->base;
		return 1;
	}
	if (lv->base > 0)
		ps->path[lv->base] = '.';
	memcpy(ps->path + lv->base + (lv->base > 0), key, len);
	ps->path_len = (uint32_t)need;
	e = lookup(ps, ps->path, need);
	if (e != NULL) {
		if (e->kind & ENTRY_FIELD)
			lv->slot = e->slot;
		lv->prefix = (e->kind & ENTRY_PREFIX) != 0;
	}
	return 1;
}

static const yajl_callbacks callbacks = {
    .yajl_null = cb_null,
    .yajl_boolean = cb_boolean,
    .yajl_number = cb_number,
    .yajl_string = cb_string,
    .yajl_start_map = cb_start_map,
    .yajl_map_key = cb_map_key,
    .yajl_end_map = cb_end,
    .yajl_start_array = cb_start_array,
    .yajl_end_array = cb_end,
};

struct parser *
parser_new(const char *const *fields, size_t n, size_t max_depth)
{
	struct parser *ps = xcalloc(1, sizeof(*ps));
	size_t want = 16;

	if (n > RECORD_MAX_FIELDS)
		fatalx("parser: %zu fields, at most %d", n, RECORD_MAX_FIELDS);
	/* Every name and each of its dot-prefixes, at load <= 1/4. */
	for (size_t i = 0; i < n; i++)
		want += strlen(fields[i]) + 1;
	while (want & (want - 1))
		want &= want - 1;
	ps->mask = want * 4 - 1;
	ps->table = xcalloc(ps->mask + 1, sizeof(*ps->table));
	ps->max_depth = max_depth > 0 ? max_depth : 1;
	ps->nfields = n;
	ps->rec.nslots = n;
	for (size_t i = 0; i < n; i++) {
		const char *f = fields[i];
		size_t len = strlen(f);
		if (len > PATH_MAX_BYTES)
			fatalx("parser: field name too long: %s", f);
		if (len > ps->max_name)
			ps->max_name = len;
		insert(ps, f, len, ENTRY_FIELD, (int)i);
		if (record_is_keyword(f))
			ps->keyword_slots[i / 64] |= UINT64_C(1) << (i % 64);
		for (size_t k = 1; k < len; k++)
			if (f[k] == '.')
				insert(ps, f, k, ENTRY_PREFIX, -1);
	}
	ps->stack = xcalloc(ps->max_depth, sizeof(*ps->stack));
	ps->afuncs.malloc = pool_malloc;
	ps->afuncs.realloc = pool_realloc;
	ps->afuncs.free = pool_free;
	ps->afuncs.ctx = ps;
	return ps;
}

void
parser_free(struct parser *ps)
{
	if (ps == NULL)
		return;
	for (size_t i = 0; i <= ps->mask; i++)
		free(ps->table[i].name);
	free(ps->table);
	free(ps->stack);
	for (size_t i = 0; i < ps->npool; i++)
		free(ps->pool[i]);
	buf_free(&ps->arena);
	buf_free(&ps->fixed);
	free(ps->raw);
	free(ps->rec.vals);
	free(ps);
}

void
parser_set_check(struct parser *ps, uint32_t slots, parser_check_fn *fn,
		 void *arg)
{
	ps->check_slots = fn != NULL ? slots : 0;
	ps->check = fn;
	ps->check_arg = arg;
}

uint64_t
parser_heap_allocs(const struct parser *ps)
{
	return ps->heap_allocs;
}

/* Groups the raw values by slot (a counting sort) into ps->rec. */
static void
finish_record(struct parser *ps)
{
	size_t count[RECORD_MAX_FIELDS + 1] = {0};
	struct record *r = &ps->rec;

	if (ps->nraw > ps->caprec) {
		ps->caprec = ps->capraw;
		r->vals = xreallocarray(r->vals, ps->caprec, sizeof(*r->vals));
		ps->heap_allocs++;
	}
	for (size_t i = 0; i < ps->nraw; i++)
		count[ps->raw[i].slot + 1]++;
	r->start[0] = 0;
	for (size_t s = 1; s <= ps->nfields; s++)
		r->start[s] = r->start[s - 1] + count[s];
	memcpy(count, r->start, (ps->nfields + 1) * sizeof(count[0]));
	for (size_t i = 0; i < ps->nraw; i++) {
		const struct raw_value *rv = &ps->raw[i];
		struct record_value *v = &r->vals[count[rv->slot]++];
		v->p = ps->arena.data + rv->off;
		v->len = rv->len;
	}
}

enum parse_result
parser_parse(struct parser *ps, const char *line, size_t len,
	     const struct record **out)
{
	yajl_status st;

	ps->yajl = yajl_alloc(&callbacks, &ps->afuncs, ps);
	if (ps->yajl == NULL)
		fatalx("yajl_alloc");
	/* utf8_valid() has checked the line, more strictly. */
	yajl_config(ps->yajl, yajl_dont_validate_strings, 1);
	ps->path_len = 0;
	ps->depth = 0;
	ps->saw_top = false;
	ps->fail = PARSE_INVALID;
	ps->arena.len = 0;
	ps->nraw = 0;

	if (!utf8_valid((const unsigned char *)line, len)) {
		yajl_free(ps->yajl);
		ps->yajl = NULL;
		return PARSE_INVALID;
	}
	line = fix_surrogates(ps, line, &len);
	st = yajl_parse(ps->yajl, (const unsigned char *)line, len);
	if (st == yajl_status_ok)
		st = yajl_complete_parse(ps->yajl);
	yajl_free(ps->yajl);
	ps->yajl = NULL;
	if (st != yajl_status_ok)
		return ps->fail;
	if (!ps->saw_top)
		return PARSE_INVALID;
	finish_record(ps);
	*out = &ps->rec;
	return PARSE_OK;
}

const struct record_value *
record_get(const struct record *r, int slot, size_t *n)
{
	if ((size_t)slot >= r->nslots) {
		*n = 0;
		return NULL;
	}
	*n = r->start[slot + 1] - r->start[slot];
	/* vals is NULL until some line has had a wanted value. */
	return *n > 0 ? r->vals + r->start[slot] : NULL;
}

size_t
record_distinct(const struct record *r, int slot, struct record_value *out,
		size_t max)
{
	size_t n, nd = 0, kept = 0;
	const struct record_value *v = record_get(r, slot, &n);

	for (size_t i = 0; i < n; i++) {
		bool seen = false;
		/* Values per slot are few; a quadratic scan beats hashing. */
		for (size_t j = 0; j < i && !seen; j++)
			seen = v[j].len == v[i].len &&
			       memcmp(v[j].p, v[i].p, v[i].len) == 0;
		if (seen)
			continue;
		if (kept < max)
			out[kept++] = v[i];
		nd++;
	}
	return nd;
}
