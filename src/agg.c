/*
 * agg: aggregate state per group.  See include/agg.h for the semantics.
 *
 * A state is one allocation for the cells plus one strset per set.  A
 * cell holds what every kind needs (a count, an exact long sum with its
 * overflow flag, a compensated double sum, the best MIN/MAX value); the
 * kinds read only their own fields.
 */
#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agg.h"
#include "strset.h"

struct cell {
	uint64_t count;          /* rows (COUNT(*)) or values seen */
	int64_t l;               /* exact sum of integer/long inputs */
	double d, c;             /* double sum and its compensation */
	bool overflow;           /* the long sum overflowed: null result */
	struct esql_scalar best; /* MIN/MAX so far (count > 0) */
	char *s;                 /* owned bytes of a keyword best */
	size_t scap;             /* bytes allocated at s */
};

struct agg_state {
	struct cell *cells;   /* def->n */
	struct strset **sets; /* def->nsets */
};

static bool
is_numeric(enum esql_type t)
{
	return t == ESQL_T_INTEGER || t == ESQL_T_LONG || t == ESQL_T_DOUBLE;
}

static bool
is_value(enum esql_type t)
{
	switch (t) {
	case ESQL_T_KEYWORD:
	case ESQL_T_INTEGER:
	case ESQL_T_LONG:
	case ESQL_T_DOUBLE:
	case ESQL_T_BOOLEAN:
	case ESQL_T_DATETIME:
	case ESQL_T_IP:
		return true;
	default:
		return false;
	}
}

static const char *
kind_name(enum agg_kind k)
{
	static const char *names[] = {"COUNT(*)", "COUNT", "COUNT_DISTINCT",
				      "VALUES",   "MIN",   "MAX",
				      "SUM",      "AVG"};

	return (unsigned)k < sizeof(names) / sizeof(names[0]) ? names[k] : "?";
}

int
agg_def_check(const struct agg_def *d, char *err, size_t errlen)
{
	for (size_t i = 0; i < d->n; i++) {
		const struct agg_spec *s = &d->specs[i];
		bool ok;

		switch (s->kind) {
		case AGG_COUNT_ALL:
			ok = true;
			break;
		case AGG_COUNT:
		case AGG_COUNT_DISTINCT:
		case AGG_VALUES:
		case AGG_MIN:
		case AGG_MAX:
			ok = is_value(s->type);
			break;
		case AGG_SUM:
		case AGG_AVG:
			ok = is_numeric(s->type);
			break;
		default:
			snprintf(err, errlen, "aggregate %zu: unknown kind %d",
				 i, (int)s->kind);
			return -1;
		}
		if (!ok) {
			snprintf(err, errlen,
				 "aggregate %zu: %s does not take a %s", i,
				 kind_name(s->kind), esql_type_name(s->type));
			return -1;
		}
		if (s->kind == AGG_COUNT_DISTINCT || s->kind == AGG_VALUES) {
			if (s->set < 0 || (size_t)s->set >= d->nsets) {
				snprintf(err, errlen,
					 "aggregate %zu: %s has set %d, not in "
					 "[0, %zu)",
					 i, kind_name(s->kind), s->set,
					 d->nsets);
				return -1;
			}
		} else if (s->set != -1) {
			snprintf(err, errlen, "aggregate %zu: %s has a set", i,
				 kind_name(s->kind));
			return -1;
		}
	}
	for (size_t k = 0; k < d->nsets; k++) {
		int type = -1;

		for (size_t i = 0; i < d->n; i++) {
			const struct agg_spec *s = &d->specs[i];

			if (s->set != (int)k)
				continue;
			if (type >= 0 && (enum esql_type)type != s->type) {
				snprintf(err, errlen,
					 "aggregate %zu: set %zu is shared by "
					 "inputs of types %s and %s",
					 i, k,
					 esql_type_name((enum esql_type)type),
					 esql_type_name(s->type));
				return -1;
			}
			type = (int)s->type;
		}
		if (type < 0) {
			snprintf(err, errlen, "set %zu is used by no aggregate",
				 k);
			return -1;
		}
	}
	return 0;
}

void
agg_def_fini(struct agg_def *d)
{
	buf_free(&d->scratch);
}

enum esql_type
agg_result_type(const struct agg_spec *s)
{
	switch (s->kind) {
	case AGG_COUNT_ALL:
	case AGG_COUNT:
	case AGG_COUNT_DISTINCT:
		return ESQL_T_LONG;
	case AGG_SUM:
		return s->type == ESQL_T_DOUBLE ? ESQL_T_DOUBLE : ESQL_T_LONG;
	case AGG_AVG:
		return ESQL_T_DOUBLE;
	default:
		return s->type;
	}
}

struct agg_state *
agg_new(const struct agg_def *d)
{
	struct agg_state *st = xcalloc(1, sizeof(*st));

	st->cells = xcalloc(d->n > 0 ? d->n : 1, sizeof(*st->cells));
	st->sets = xcalloc(d->nsets > 0 ? d->nsets : 1, sizeof(*st->sets));
	for (size_t k = 0; k < d->nsets; k++)
		st->sets[k] = strset_new(d->max_values);
	return st;
}

void
agg_free(const struct agg_def *d, struct agg_state *st)
{
	if (st == NULL)
		return;
	for (size_t i = 0; i < d->n; i++)
		free(st->cells[i].s);
	for (size_t k = 0; k < d->nsets; k++)
		strset_free(st->sets[k]);
	free(st->cells);
	free(st->sets);
	free(st);
}

static bool
add_overflows(int64_t a, int64_t b)
{
	return (b > 0 && a > INT64_MAX - b) || (b < 0 && a < INT64_MIN - b);
}

/* Kahan-Babuska compensated summation, as Elasticsearch's CompensatedSum. */
static void
sum_double(struct cell *c, double x)
{
	double y = x + c->c;
	double t = c->d + y;

	if (isfinite(t))
		c->c = y - (t - c->d);
	c->d = t;
}

static void
keep_best(struct cell *c, enum esql_type t, const struct esql_scalar *v)
{
	c->best = *v;
	if (t != ESQL_T_KEYWORD)
		return;
	if (c->scap < v->u.s.len) {
		c->scap = v->u.s.len;
		c->s = xrealloc(c->s, c->scap);
	}
	if (v->u.s.len > 0)
		memcpy(c->s, v->u.s.p, v->u.s.len);
	c->best.u.s.p = c->s != NULL ? c->s : "";
}

/* Adds a value to a set; returns 1 if its bytes went past the cap. */
static size_t
set_add(struct agg_def *d, struct strset *set, enum esql_type t,
	const struct esql_scalar *v)
{
	size_t before = strset_dropped(set);

	d->scratch.len = 0;
	esql_scalar_encode(t, v, &d->scratch);
	strset_add(set, d->scratch.data != NULL ? d->scratch.data : "",
		   d->scratch.len);
	return strset_dropped(set) - before;
}

size_t
agg_update(struct agg_def *d, struct agg_state *st, const struct esql_val *in,
	   const bool *on)
{
	size_t dropped = 0;

	for (size_t i = 0; i < d->n; i++) {
		const struct agg_spec *s = &d->specs[i];
		struct cell *c = &st->cells[i];
		const struct esql_scalar *items;
		size_t n;
		int sign;

		if (on != NULL && !on[i])
			continue;
		if (s->kind == AGG_COUNT_ALL) {
			c->count++;
			continue;
		}
		n = in[i].n;
		if (n == 0)
			continue;
		assert(in[i].type == s->type);
		items = esql_val_items(&in[i]);
		switch (s->kind) {
		case AGG_COUNT:
			c->count += n;
			break;
		case AGG_COUNT_DISTINCT:
		case AGG_VALUES:
			/* A shared set is filled once, by its first spec (the
			 * specs sharing it are on or off together). */
			for (size_t j = 0; j < i; j++) {
				if (d->specs[j].set != s->set)
					continue;
				assert(on == NULL || on[j]);
				goto next;
			}
			for (size_t j = 0; j < n; j++)
				dropped += set_add(d, st->sets[s->set], s->type,
						   &items[j]);
			break;
		case AGG_MIN:
		case AGG_MAX:
			sign = s->kind == AGG_MIN ? -1 : 1;
			for (size_t j = 0; j < n; j++) {
				if (c->count == 0 ||
				    esql_scalar_cmp(s->type, &items[j],
						    &c->best) *
					    sign >
					0)
					keep_best(c, s->type, &items[j]);
				c->count++;
			}
			break;
		case AGG_SUM:
		case AGG_AVG:
			for (size_t j = 0; j < n; j++) {
				if (s->type == ESQL_T_DOUBLE)
					sum_double(c, items[j].u.d);
				else if (!c->overflow) {
					if (add_overflows(c->l, items[j].u.l))
						c->overflow = true;
					else
						c->l += items[j].u.l;
				}
				c->count++;
			}
			break;
		default:
			break;
		}
	next:;
	}
	return dropped;
}

static void
put_long(struct esql_val *out, int64_t v)
{
	out->type = ESQL_T_LONG;
	out->n = 1;
	out->many = NULL;
	out->one.u.l = v;
}

static void
put_double(struct esql_val *out, double v)
{
	out->type = ESQL_T_DOUBLE;
	out->n = 1;
	out->many = NULL;
	out->one.u.d = v == 0 ? 0.0 : v;
}

static int64_t
count_long(uint64_t n)
{
	return n > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)n;
}

static int
values_result(const struct agg_spec *s, const struct strset *set,
	      struct esql_val *out, struct esql_arena *arena)
{
	size_t k = strset_kept(set);
	struct esql_scalar *v;

	esql_val_null(out, s->type);
	if (k == 0)
		return 0;
	v = k == 1 ? &out->one : esql_arena_alloc(arena, k * sizeof(*v));
	for (size_t j = 0; j < k; j++) {
		size_t len;
		const char *p = strset_get(set, j, &len);
		size_t used = esql_scalar_decode(s->type, p, len, &v[j]);

		/* The set holds only what esql_scalar_encode() wrote. */
		assert(used == len);
		(void)used;
	}
	out->n = k;
	out->many = k == 1 ? NULL : v;
	return 0;
}

int
agg_result(const struct agg_def *d, const struct agg_state *st, size_t i,
	   struct esql_val *out, struct esql_arena *arena)
{
	const struct agg_spec *s = &d->specs[i];
	const struct cell *c = &st->cells[i];
	double sum;

	esql_val_null(out, agg_result_type(s));
	switch (s->kind) {
	case AGG_COUNT_ALL:
	case AGG_COUNT:
		put_long(out, count_long(c->count));
		return 0;
	case AGG_COUNT_DISTINCT:
		put_long(out, count_long(strset_count(st->sets[s->set])));
		return 0;
	case AGG_VALUES:
		return values_result(s, st->sets[s->set], out, arena);
	case AGG_MIN:
	case AGG_MAX:
		if (c->count > 0) {
			out->n = 1;
			out->one = c->best;
		}
		return 0;
	case AGG_SUM:
	case AGG_AVG:
		if (c->count == 0)
			return 0;
		if (s->type != ESQL_T_DOUBLE && c->overflow)
			return 1;
		sum = s->type == ESQL_T_DOUBLE ? c->d + c->c : (double)c->l;
		if (!isfinite(sum))
			return 1;
		if (s->kind == AGG_SUM && s->type != ESQL_T_DOUBLE)
			put_long(out, c->l);
		else if (s->kind == AGG_SUM)
			put_double(out, sum);
		else
			put_double(out, sum / (double)c->count);
		return 0;
	default:
		return 0;
	}
}

size_t
agg_values_dropped(const struct agg_def *d, const struct agg_state *st,
		   size_t i)
{
	const struct agg_spec *s = &d->specs[i];

	if (s->kind != AGG_VALUES && s->kind != AGG_COUNT_DISTINCT)
		return 0;
	return strset_dropped(st->sets[s->set]);
}

size_t
agg_set_count(const struct agg_state *st, size_t k)
{
	return strset_count(st->sets[k]);
}

size_t
agg_set_kept(const struct agg_state *st, size_t k)
{
	return strset_kept(st->sets[k]);
}

size_t
agg_bytes(const struct agg_def *d, const struct agg_state *st)
{
	size_t n = sizeof(*st) + d->n * sizeof(*st->cells) +
		   d->nsets * sizeof(*st->sets);

	for (size_t i = 0; i < d->n; i++)
		n += st->cells[i].scap;
	for (size_t k = 0; k < d->nsets; k++)
		n += strset_bytes(st->sets[k]);
	return n;
}

/* Checkpoints: host-order u64 fields (util.h), one record per cell. */

/*
 * Whether p[0..len) decodes as exactly one value of type t; a keyword's
 * bytes must be UTF-8, as the record parser makes every value, since
 * restored values reach alerts' JSON.
 */
static bool
decode_ok(enum esql_type t, const char *p, size_t len, struct esql_scalar *v)
{
	if (len == 0 || esql_scalar_decode(t, p, len, v) != len)
		return false;
	return t != ESQL_T_KEYWORD || utf8_is_valid(v->u.s.p, v->u.s.len);
}

static void
put_hash_cb(void *arg, uint64_t hash)
{
	buf_put_u64(arg, hash);
}

static uint64_t
dbits(double v)
{
	uint64_t b;

	memcpy(&b, &v, sizeof(b));
	return b;
}

static double
bitsd(uint64_t b)
{
	double v;

	memcpy(&v, &b, sizeof(v));
	return v;
}

void
agg_save(const struct agg_def *d, const struct agg_state *st, struct buf *out)
{
	struct buf enc = {0};

	for (size_t i = 0; i < d->n; i++) {
		const struct agg_spec *s = &d->specs[i];
		const struct cell *c = &st->cells[i];

		buf_put_u64(out, c->count);
		buf_put_u64(out, (uint64_t)c->l);
		buf_put_u64(out, dbits(c->d));
		buf_put_u64(out, dbits(c->c));
		buf_put_u64(out, c->overflow);
		if ((s->kind == AGG_MIN || s->kind == AGG_MAX) &&
		    c->count > 0) {
			enc.len = 0;
			esql_scalar_encode(s->type, &c->best, &enc);
			buf_put_bytes(out, enc.data, enc.len);
		}
	}
	buf_free(&enc);
	for (size_t k = 0; k < d->nsets; k++) {
		const struct strset *set = st->sets[k];

		buf_put_u64(out, strset_kept(set));
		for (size_t m = 0; m < strset_kept(set); m++) {
			size_t len;
			const char *p = strset_get(set, m, &len);

			buf_put_bytes(out, p, len);
		}
		buf_put_u64(out, strset_count(set) - strset_kept(set));
		strset_foreach_hash(set, put_hash_cb, out);
	}
}

static enum esql_type
set_type(const struct agg_def *d, size_t k)
{
	for (size_t i = 0; i < d->n; i++)
		if (d->specs[i].set == (int)k)
			return d->specs[i].type;
	return ESQL_T_NULL;
}

static int
load_cell(const struct agg_spec *s, struct cell *c, struct cursor *r)
{
	uint64_t ov;

	c->count = cursor_u64(r);
	c->l = (int64_t)cursor_u64(r);
	c->d = bitsd(cursor_u64(r));
	c->c = bitsd(cursor_u64(r));
	ov = cursor_u64(r);
	if (r->bad || ov > 1 || isnan(c->d) || isnan(c->c))
		return -1;
	c->overflow = ov == 1;
	if ((s->kind == AGG_MIN || s->kind == AGG_MAX) && c->count > 0) {
		size_t len;
		const char *p = cursor_bytes(r, &len);
		struct esql_scalar v;

		if (r->bad || !decode_ok(s->type, p, len, &v))
			return -1;
		keep_best(c, s->type, &v);
	}
	return 0;
}

static int
load_set(enum esql_type t, struct strset *set, struct cursor *r)
{
	uint64_t m = cursor_u64(r);
	struct esql_scalar v;

	for (uint64_t j = 0; j < m && !r->bad; j++) {
		size_t len;
		const char *p = cursor_bytes(r, &len);

		if (r->bad || !decode_ok(t, p, len, &v) ||
		    strset_add(set, p, len) != 1)
			return -1;
	}
	m = cursor_u64(r);
	for (uint64_t j = 0; j < m && !r->bad; j++) {
		uint64_t h = cursor_u64(r);

		if (r->bad || h == 0 || strset_add_hash(set, h) != 1)
			return -1;
	}
	return r->bad ? -1 : 0;
}

int
agg_load(const struct agg_def *d, struct agg_state *st, struct cursor *r)
{
	for (size_t i = 0; i < d->n; i++)
		if (load_cell(&d->specs[i], &st->cells[i], r) < 0)
			return -1;
	for (size_t k = 0; k < d->nsets; k++)
		if (load_set(set_type(d, k), st->sets[k], r) < 0)
			return -1;
	return 0;
}
