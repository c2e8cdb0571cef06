/*
 * fuzz_record: parser_parse() on arbitrary bytes, with the default rule's
 * fields, against a naive reference.
 *
 * The reference rejects a line that is not strict UTF-8 (RFC 3629) as
 * invalid, rewrites every "\u" escape of an unpaired UTF-16 surrogate to
 * "\ufffd" (U+FFFD, as Elasticsearch stores it) with a scan that follows
 * the JSON strings, and then drives yajl with callbacks that keep the
 * whole dotted path of every scalar as a string, with no pruning, no
 * table and no length cut, and keep a scalar iff its path is one of the
 * fields and, for a keyword field, it is at most RECORD_IGNORE_ABOVE
 * UTF-16 code units long (counted by decoding each code point).  The parser must classify every input as the reference does
 * and, on PARSE_OK, give the same values per slot in the same order.
 * Besides, on PARSE_OK every value must be readable in full (a sanitizer
 * build checks the bounds) and valid UTF-8, slots past the rule's fields
 * must be empty, and record_distinct() must agree with a plain quadratic
 * count.  Each parser also parses a part of the input before parsing it
 * again, which must not change the result: a parse leaves nothing behind
 * that the next one could see.
 */
#include <string.h>
#include <yajl/yajl_parse.h>

#include "conf.h"
#include "fuzz.h"
#include "record.h"

/* Nesting limits tried: the default and the smallest the conf allows. */
#define SMALL_DEPTH 2

struct ref_value {
	int slot;   /* field slot */
	char *p;    /* copy of the bytes */
	size_t len; /* their length */
};

struct ref {
	const char *const *fields; /* the wanted names */
	size_t nfields;
	size_t max_depth; /* containers allowed at once */
	char *path;       /* dotted path of the current position */
	size_t path_len;
	size_t path_cap;
	size_t *base;    /* per open container: path_len at open */
	size_t *key_end; /* per open map: path_len after its key */
	size_t depth;
	bool saw_top;
	enum parse_result fail; /* why the callbacks cancelled */
	struct ref_value *vals; /* kept values, in document order */
	size_t nvals, capvals;
};

/* The path of key in a map whose own path is path[0..base). */
static void
ref_path_set(struct ref *r, size_t base, bool top, const char *key, size_t len)
{
	size_t dot = top ? 0 : 1;
	size_t need = base + dot + len;

	if (need + 1 > r->path_cap) {
		r->path_cap = need + 64;
		if ((r->path = realloc(r->path, r->path_cap)) == NULL)
			abort();
	}
	if (!top)
		r->path[base] = '.';
	if (len > 0)
		memcpy(r->path + base + dot, key, len);
	r->path_len = need;
}

/* UTF-16 code units of valid UTF-8: decode each code point. */
static size_t
utf16_units(const unsigned char *s, size_t len)
{
	size_t units = 0, i = 0;

	while (i < len) {
		unsigned long cp;
		size_t n = s[i] < 0x80   ? 1
			   : s[i] < 0xe0 ? 2
			   : s[i] < 0xf0 ? 3
					 : 4;
		cp = n == 1 ? s[i] : s[i] & (0x3f >> (n - 1));
		for (size_t k = 1; k < n && i + k < len; k++)
			cp = cp << 6 | (s[i + k] & 0x3f);
		units += cp > 0xffff ? 2 : 1;
		i += n;
	}
	return units;
}

static int
ref_scalar(struct ref *r, const char *s, size_t len)
{
	if (r->depth == 0) {
		r->fail = PARSE_NOT_OBJECT;
		return 0;
	}
	for (size_t i = 0; i < r->nfields; i++) {
		if (strlen(r->fields[i]) != r->path_len ||
		    memcmp(r->fields[i], r->path, r->path_len) != 0)
			continue;
		if (record_is_keyword(r->fields[i]) &&
		    utf16_units((const unsigned char *)s, len) >
			RECORD_IGNORE_ABOVE)
			break;
		if (r->nvals == r->capvals) {
			r->capvals = r->capvals ? r->capvals * 2 : 16;
			r->vals =
			    realloc(r->vals, r->capvals * sizeof(*r->vals));
			if (r->vals == NULL)
				abort();
		}
		struct ref_value *v = &r->vals[r->nvals++];
		v->slot = (int)i;
		v->len = len;
		if ((v->p = malloc(len ? len : 1)) == NULL)
			abort();
		if (len > 0)
			memcpy(v->p, s, len);
		break;
	}
	return 1;
}

static int
ref_null(void *ctx)
{
	struct ref *r = ctx;

	if (r->depth == 0) {
		r->fail = PARSE_NOT_OBJECT;
		return 0;
	}
	return 1;
}

static int
ref_boolean(void *ctx, int b)
{
	return b ? ref_scalar(ctx, "true", 4) : ref_scalar(ctx, "false", 5);
}

static int
ref_number(void *ctx, const char *s, size_t len)
{
	return ref_scalar(ctx, s, len);
}

static int
ref_string(void *ctx, const unsigned char *s, size_t len)
{
	return ref_scalar(ctx, (const char *)s, len);
}

static int
ref_open(struct ref *r, bool is_map)
{
	if (r->depth == 0 && (r->saw_top || !is_map)) {
		r->fail = PARSE_NOT_OBJECT;
		return 0;
	}
	r->saw_top = true;
	if (r->depth == r->max_depth) {
		r->fail = PARSE_TOO_DEEP;
		return 0;
	}
	r->base[r->depth++] = r->path_len;
	return 1;
}

static int
ref_start_map(void *ctx)
{
	return ref_open(ctx, true);
}

static int
ref_start_array(void *ctx)
{
	return ref_open(ctx, false);
}

static int
ref_end(void *ctx)
{
	struct ref *r = ctx;

	r->path_len = r->base[--r->depth];
	return 1;
}

static int
ref_map_key(void *ctx, const unsigned char *key, size_t len)
{
	struct ref *r = ctx;

	/* Keys of the top-level object start a path; others extend one. */
	ref_path_set(r, r->base[r->depth - 1], r->depth == 1, (const char *)key,
		     len);
	return 1;
}

static const yajl_callbacks ref_callbacks = {
    .yajl_null = ref_null,
    .yajl_boolean = ref_boolean,
    .yajl_number = ref_number,
    .yajl_string = ref_string,
    .yajl_start_map = ref_start_map,
    .yajl_map_key = ref_map_key,
    .yajl_end_map = ref_end,
    .yajl_start_array = ref_start_array,
    .yajl_end_array = ref_end,
};

/* The UTF-16 code unit of a "\uXXXX" escape at p[0..n), or -1. */
static long
code_unit(const uint8_t *p, size_t n)
{
	long v = 0;

	if (n < 6 || p[0] != '\\' || p[1] != 'u')
		return -1;
	for (size_t i = 2; i < 6; i++) {
		uint8_t c = p[i];
		if (c >= '0' && c <= '9')
			v = v * 16 + (c - '0');
		else if (c >= 'a' && c <= 'f')
			v = v * 16 + (c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v = v * 16 + (c - 'A' + 10);
		else
			return -1;
	}
	return v;
}

/*
 * Rewrites, in place, each escape of an unpaired surrogate inside a JSON
 * string to "\ufffd" (the same length).  Outside strings nothing is
 * touched: a backslash there makes the line invalid either way.
 */
static void
ref_fix_surrogates(uint8_t *p, size_t n)
{
	bool in_string = false;

	for (size_t i = 0; i < n;) {
		if (!in_string) {
			in_string = p[i++] == '"';
			continue;
		}
		if (p[i] == '"') {
			in_string = false;
			i++;
			continue;
		}
		if (p[i] != '\\') {
			i++;
			continue;
		}
		long u = code_unit(p + i, n - i);
		if (u < 0) {
			i += 2; /* another escape, or a bad one */
			continue;
		}
		if (u >= 0xd800 && u <= 0xdbff) {
			long w = code_unit(p + i + 6, n - i - 6);
			if (w >= 0xdc00 && w <= 0xdfff) {
				i += 12;
				continue;
			}
		}
		if (u >= 0xd800 && u <= 0xdfff)
			memcpy(p + i, "\\ufffd", 6);
		i += 6;
	}
}

/* Returns what the parser must return; r->vals holds the values. */
static enum parse_result
ref_parse(struct ref *r, const uint8_t *data, size_t size)
{
	yajl_handle h;
	yajl_status st;
	uint8_t *fixed;

	if (!fuzz_utf8_valid((const char *)data, size))
		return PARSE_INVALID;
	if ((fixed = malloc(size ? size : 1)) == NULL)
		abort();
	if (size > 0)
		memcpy(fixed, data, size);
	ref_fix_surrogates(fixed, size);
	if ((h = yajl_alloc(&ref_callbacks, NULL, r)) == NULL)
		abort();
	r->fail = PARSE_INVALID;
	st = yajl_parse(h, fixed, size);
	if (st == yajl_status_ok)
		st = yajl_complete_parse(h);
	yajl_free(h);
	free(fixed);
	if (st != yajl_status_ok)
		return r->fail;
	return r->saw_top ? PARSE_OK : PARSE_INVALID;
}

static void
ref_free(struct ref *r)
{
	for (size_t i = 0; i < r->nvals; i++)
		free(r->vals[i].p);
	free(r->vals);
	free(r->path);
	free(r->base);
}

/* Reads every byte of a value, so a sanitizer sees a bad pointer. */
static uint64_t
touch(const struct record_value *v)
{
	uint64_t sum = 0;

	for (size_t i = 0; i < v->len; i++)
		sum += (unsigned char)v->p[i];
	return sum;
}

static void
check_distinct(const struct record *rec, int slot)
{
	struct record_value out[64], one;
	size_t n, naive = 0;
	const struct record_value *v = record_get(rec, slot, &n);

	for (size_t i = 0; i < n; i++) {
		bool seen = false;
		for (size_t j = 0; j < i && !seen; j++)
			seen = v[j].len == v[i].len &&
			       (v[i].len == 0 ||
				memcmp(v[j].p, v[i].p, v[i].len) == 0);
		naive += !seen;
	}
	size_t nd = record_distinct(rec, slot, out, 64);
	FUZZ_CHECK(nd == naive);
	FUZZ_CHECK(nd <= n);
	FUZZ_CHECK(record_distinct(rec, slot, &one, 1) == nd);
	FUZZ_CHECK(nd == 0 || (one.p == out[0].p && one.len == out[0].len));
	for (size_t i = 0; i < nd && i < 64; i++) {
		(void)touch(&out[i]);
		for (size_t j = 0; j < i; j++)
			FUZZ_CHECK(out[j].len != out[i].len ||
				   (out[i].len > 0 && memcmp(out[j].p, out[i].p,
							     out[i].len) != 0));
	}
}

/* Compares a parser's result with the reference's. */
static void
check(const struct ref *r, enum parse_result want, enum parse_result got,
      const struct record *rec, size_t nfields)
{
	size_t k[RECORD_MAX_FIELDS] = {0};

	FUZZ_CHECK(got == want);
	if (got != PARSE_OK)
		return;
	for (int slot = 0; slot < RECORD_MAX_FIELDS; slot++) {
		size_t n;
		const struct record_value *v = record_get(rec, slot, &n);
		if ((size_t)slot >= nfields) {
			FUZZ_CHECK(n == 0);
			continue;
		}
		for (size_t i = 0; i < n; i++) {
			(void)touch(&v[i]);
			FUZZ_CHECK(v[i].len == 0 || v[i].p != NULL);
			FUZZ_CHECK(fuzz_utf8_valid(v[i].p, v[i].len));
		}
		check_distinct(rec, slot);
	}
	/* The same values per slot, in document order. */
	for (size_t i = 0; i < r->nvals; i++) {
		const struct ref_value *rv = &r->vals[i];
		size_t n;
		const struct record_value *v = record_get(rec, rv->slot, &n);
		FUZZ_CHECK(k[rv->slot] < n);
		v += k[rv->slot]++;
		FUZZ_CHECK(v->len == rv->len);
		FUZZ_CHECK(v->len == 0 || memcmp(v->p, rv->p, v->len) == 0);
	}
	for (size_t s = 0; s < nfields; s++) {
		size_t n;
		(void)record_get(rec, (int)s, &n);
		FUZZ_CHECK(k[s] == n);
	}
}

static void
run(const char *const *fields, size_t nfields, size_t max_depth,
    const uint8_t *data, size_t size)
{
	struct ref r = {.fields = fields,
			.nfields = nfields,
			.max_depth = max_depth};
	struct parser *ps = parser_new(fields, nfields, max_depth);
	const struct record *rec = NULL;
	enum parse_result want, got;

	if ((r.base = calloc(max_depth, sizeof(*r.base))) == NULL)
		abort();
	want = ref_parse(&r, data, size);

	got = parser_parse(ps, (const char *)data, size, &rec);
	check(&r, want, got, rec, nfields);
	/* Dirty the parser with a part of the input, then parse it again. */
	(void)parser_parse(ps, (const char *)data, size / 2, &rec);
	got = parser_parse(ps, (const char *)data, size, &rec);
	check(&r, want, got, rec, nfields);

	parser_free(ps);
	ref_free(&r);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct conf *conf;

	/* Built once: the fields are the default rule's, which never changes. */
	if (conf == NULL)
		conf = conf_default();
	run((const char *const *)conf->rules.v[0].plan->fields,
	    conf->rules.v[0].plan->nfields, conf->max_depth, data, size);
	run((const char *const *)conf->rules.v[0].plan->fields,
	    conf->rules.v[0].plan->nfields, SMALL_DEPTH, data, size);
	return 0;
}
