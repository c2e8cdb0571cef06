/*
 * window_esql: the groups of an ES|QL STATS query.  A group holds one
 * struct agg_state of the spec's aggregates and the number of rows it
 * took; its eviction rank is the distinct count of its largest set, or
 * its rows when the aggregates have no set.  Closings hand the groups
 * over as struct window_group views, keys decoded to ES|QL values.
 *
 * A key field holds esql_scalar_encode()'s bytes of one value of the
 * key's type, so that equal values make one group; a restored field
 * must decode to exactly one value (a keyword's bytes UTF-8).
 */
#include <assert.h>
#include <string.h>
#include <xxhash.h>

#include "timefmt.h"
#include "util.h"
#include "window.h"
#include "window_int.h"

struct esql_group {
	struct agg_state *agg; /* the aggregates (owned) */
	uint64_t rows;         /* rows added */
};

/* One row: the aggregates' inputs and WHERE flags. */
struct esql_row {
	const struct esql_val *in;
	const bool *on;
};

static struct esql_group *
esql_of(const struct group *g)
{
	return group_payload(g);
}

/* A hash of everything a saved group's meaning depends on. */
static uint64_t
spec_shape(const struct window_spec *spec)
{
	const struct agg_def *d = spec->agg;
	struct buf b = {0};
	uint64_t h;

	buf_put_u64(&b, spec->nkeys);
	for (size_t k = 0; k < spec->nkeys; k++)
		buf_put_u64(&b, (uint64_t)spec->key_types[k]);
	buf_put_u64(&b, (uint64_t)(int64_t)spec->watermark_key);
	buf_put_u64(&b, (uint64_t)spec->window_ms);
	buf_put_u64(&b, d->n);
	for (size_t i = 0; i < d->n; i++) {
		buf_put_u64(&b, (uint64_t)d->specs[i].kind);
		buf_put_u64(&b, (uint64_t)d->specs[i].type);
		buf_put_u64(&b, (uint64_t)(int64_t)d->specs[i].set);
	}
	buf_put_u64(&b, d->nsets);
	h = XXH3_64bits(b.data, b.len);
	buf_free(&b);
	return h;
}

static uint64_t
esql_shape(const struct window_store *ws)
{
	return spec_shape(&ws->spec);
}

static void
esql_init(struct window_store *ws, struct group *g)
{
	esql_of(g)->agg = agg_new(ws->spec.agg);
}

static void
esql_fini(struct window_store *ws, struct group *g)
{
	agg_free(ws->spec.agg, esql_of(g)->agg);
}

/*
 * agg_bytes() counts what the state holds; add what malloc adds to its
 * three arrays and, per set, to the set's struct, arrays and each kept
 * member.
 */
static size_t
esql_bytes(const struct window_store *ws, const struct group *g)
{
	const struct agg_def *d = ws->spec.agg;
	const struct agg_state *st = esql_of(g)->agg;
	size_t n = agg_bytes(d, st) + 3 * MALLOC_OVERHEAD;

	for (size_t k = 0; k < d->nsets; k++)
		n +=
		    3 * MALLOC_OVERHEAD + agg_set_kept(st, k) * MALLOC_OVERHEAD;
	return n;
}

static size_t
esql_rank(const struct window_store *ws, const struct group *g)
{
	const struct esql_group *e = esql_of(g);
	size_t most = 0;

	if (ws->spec.agg->nsets == 0)
		return e->rows;
	for (size_t k = 0; k < ws->spec.agg->nsets; k++) {
		size_t n = agg_set_count(e->agg, k);
		if (n > most)
			most = n;
	}
	return most;
}

static void
esql_update(struct window_store *ws, struct group *g, const void *row)
{
	const struct esql_row *er = row;
	struct esql_group *e = esql_of(g);

	ws->metrics->v[M_values_dropped] +=
	    agg_update(ws->spec.agg, e->agg, er->in, er->on);
	e->rows++;
}

static bool
esql_field_ok(const struct window_store *ws, size_t k, const char *p,
	      size_t len)
{
	enum esql_type t;
	struct esql_scalar v;

	/* With no watermark key, the one agent's key is null. */
	if (k == SIZE_MAX)
		return false;
	t = ws->spec.key_types[k];
	if (len == 0 || esql_scalar_decode(t, p, len, &v) != len)
		return false;
	return t != ESQL_T_KEYWORD || utf8_is_valid(v.u.s.p, v.u.s.len);
}

/* The key must be well formed (window_load checks what it restores). */
static void
key_decode(const struct window_spec *spec, const char *p, struct esql_val *out)
{
	for (size_t i = 0; i < spec->nkeys; i++) {
		uint32_t len;
		size_t used;

		esql_val_null(&out[i], spec->key_types[i]);
		if (*p++ == 0)
			continue;
		memcpy(&len, p, sizeof(len));
		p += sizeof(len);
		used =
		    esql_scalar_decode(spec->key_types[i], p, len, &out[i].one);
		assert(used == len);
		(void)used;
		out[i].n = 1;
		p += len;
	}
}

static void
esql_view(struct window_store *ws, struct window_closing *c)
{
	size_t nkeys = ws->spec.nkeys;

	ws->views = xreallocarray(ws->views, ws->capbatch, sizeof(*ws->views));
	ws->keyvals = xreallocarray(ws->keyvals, ws->capbatch,
				    (nkeys ? nkeys : 1) * sizeof(*ws->keyvals));
	for (size_t i = c->first; i < c->first + c->n; i++) {
		const struct group *g = ws->batch[i];
		struct window_group *v = &ws->views[i];

		key_decode(&ws->spec, g->key, &ws->keyvals[i * nkeys]);
		v->window_ms = g->window;
		v->key = g->key;
		v->keylen = g->keylen;
		v->keys = &ws->keyvals[i * nkeys];
		v->agg = esql_of(g)->agg;
		v->late = g->late;
		v->early = g->early;
		v->digest = g->digest;
	}
	c->spec = &ws->spec;
	c->rows = &ws->views[c->first];
}

/* Flags of the ES|QL kind, past the store's three. */
#define FLAG_EARLY 8 /* alerted early; its digest follows the flags */
#define FLAG_HELD 16 /* met its condition early past the window's cap */

/*
 * A group's record after its window and key: rows, flags, the early
 * alert's digest if it has one, aggregates.
 */
static void
esql_save(const struct window_store *ws, const struct group *g, struct buf *out)
{
	const struct esql_group *e = esql_of(g);

	buf_put_u64(out, e->rows);
	buf_put_u64(out, window_group_flags(g) | (g->early ? FLAG_EARLY : 0) |
			     (g->held ? FLAG_HELD : 0));
	if (g->early)
		buf_put_u64(out, g->digest);
	agg_save(ws->spec.agg, e->agg, out);
}

static int
esql_load(struct window_store *ws, struct group *g, struct cursor *r)
{
	struct esql_group *e = esql_of(g);
	uint64_t rows = cursor_u64(r), flags = cursor_u64(r);
	bool early = flags & FLAG_EARLY, held = flags & FLAG_HELD;

	/* A group is made by a row. */
	if (r->bad || rows == 0 ||
	    window_group_restore(g, flags & ~(uint64_t)(FLAG_EARLY |
							FLAG_HELD)) < 0)
		return -1;
	/* Early and held exclude each other; both are marks of an open
	 * group, and an early one is decided when it closes. */
	if ((early && held) || (held && g->closed) ||
	    (early && g->closed && !g->decided))
		return -1;
	if (early)
		g->digest = cursor_u64(r);
	g->early = early;
	g->held = held;
	e->rows = rows;
	return r->bad ? -1 : agg_load(ws->spec.agg, e->agg, r);
}

/* Asks the rule whether an open group's condition holds now. */
static void
esql_early(struct window_store *ws, struct group *g)
{
	struct esql_val keys[WINDOW_MAX_KEYS + 1];
	struct ledger_entry *le = window_ledger_find(ws, g->window);
	struct window_group v = {
	    .window_ms = g->window,
	    .key = g->key,
	    .keylen = g->keylen,
	    .keys = keys,
	    .agg = esql_of(g)->agg,
	};
	uint64_t digest = 0;

	key_decode(&ws->spec, g->key, keys);
	switch (ws->early(ws->arg, &v, le != NULL ? le->emitted : 0, &digest)) {
	case WINDOW_EARLY_NOT_YET:
		return;
	case WINDOW_EARLY_HELD:
		g->held = true;
		ws->metrics->v[M_alerts_early_held]++;
		return;
	case WINDOW_EARLY_EMITTED:
		break;
	}
	g->early = true;
	g->digest = digest;
	window_ledger_get(ws, g->window)->emitted++;
	ws->metrics->v[M_alerts]++;
	ws->metrics->v[M_alerts_early]++;
}

const struct window_kind window_esql_kind = {
    .format = UINT64_C(0x5753544154510001), /* "WSTATQ", version 1 */
    .shape = esql_shape,
    .init = esql_init,
    .fini = esql_fini,
    .bytes = esql_bytes,
    .rank = esql_rank,
    .update = esql_update,
    .field_ok = esql_field_ok,
    .view = esql_view,
    .early = esql_early,
    .save = esql_save,
    .load = esql_load,
};

struct window_store *
window_new_esql(const struct window_spec *spec, const struct window_opts *opts,
		struct metrics *metrics, window_close_cb *cb, void *arg)
{
	struct window_store *ws;

	assert(spec->agg != NULL);
	assert(spec->nkeys == 0 || spec->key_types != NULL);
	ws = window_store_new(&window_esql_kind, spec, opts, metrics, cb, arg);
	ws->size = sizeof(struct esql_group);
	return ws;
}

int
window_reconfigure_esql(struct window_store *ws, const struct window_spec *spec,
			const struct window_opts *opts)
{
	assert(ws->kind == &window_esql_kind);
	if (spec_shape(spec) != spec_shape(&ws->spec))
		return -1;
	ws->spec = *spec;
	window_set_opts(ws, opts);
	return 0;
}

/*
 * Key i's distinct values as encoded fields in ws->valbuf; a value
 * already there is taken back.
 */
static void
put_key(struct window_store *ws, struct window_keyvals *kv, size_t i,
	const struct esql_val *v)
{
	const struct esql_scalar *items = esql_val_items(v);
	struct buf *b = &ws->valbuf;

	kv->n[i] = 0;
	for (size_t j = 0; j < v->n; j++) {
		size_t off = b->len, len;
		uint32_t n;
		bool dup = false;

		buf_append(b, "\1\0\0\0\0", 1 + sizeof(n));
		esql_scalar_encode(v->type, &items[j], b);
		n = (uint32_t)(b->len - off - 1 - sizeof(n));
		memcpy(b->data + off + 1, &n, sizeof(n));
		len = b->len - off;
		for (size_t k = 0; k < kv->n[i] && !dup; k++)
			dup = kv->len[i][k] == len &&
			      memcmp(b->data + kv->off[i][k], b->data + off,
				     len) == 0;
		if (dup) {
			b->len = off;
			continue;
		}
		if (kv->n[i] == WINDOW_KEY_VALUES) {
			b->len = off;
			kv->cut = true;
			return;
		}
		kv->off[i][kv->n[i]] = off;
		kv->len[i][kv->n[i]] = len;
		kv->n[i]++;
	}
}

void
window_add_row(struct window_store *ws, int64_t ts_ms, int64_t window_start_ms,
	       const struct esql_val *keys, const struct esql_val *agg_in,
	       const bool *agg_on)
{
	struct window_keyvals kv;
	struct esql_row row = {agg_in, agg_on};

	assert(ws->kind == &window_esql_kind);
	assert(timefmt_floor(window_start_ms, ws->spec.window_ms) ==
	       window_start_ms);
	kv.cut = false;
	ws->valbuf.len = 0;
	for (size_t i = 0; i < ws->spec.nkeys; i++) {
		assert(keys[i].n == 0 || keys[i].type == ws->spec.key_types[i]);
		put_key(ws, &kv, i, &keys[i]);
	}
	window_add_keys(ws, &kv, window_start_ms, ts_ms, &row);
}
