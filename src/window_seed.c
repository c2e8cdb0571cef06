/*
 * window_seed: the built-in rule's groups.  A group holds the mask of the
 * labels its events had and one value set per value column of the rule,
 * plus the set of the distinct field when no value column shares it;
 * its eviction rank is that distinct count.  Closings hand the groups
 * over as struct alert views, which rule_close() decides on.
 *
 * Keys are the record's values, as they are: a field of the group key
 * is a UTF-8 string or null.
 */
#include <assert.h>
#include <string.h>

#include "timefmt.h"
#include "util.h"
#include "window.h"
#include "window_int.h"

_Static_assert(RULE_MAX_GROUP <= WINDOW_MAX_KEYS, "a rule's keys fit a store");

struct seed_group {
	uint64_t labels;       /* bit i: label i seen */
	struct strset *sets[]; /* value sets, then the distinct set if apart */
};

/* One row: the matched event and its label. */
struct seed_row {
	const struct record *rec;
	unsigned label;
};

static struct seed_group *
seed_of(const struct group *g)
{
	return group_payload(g);
}

static uint64_t
seed_shape(const struct window_store *ws)
{
	return ws->nsets;
}

static void
seed_init(struct window_store *ws, struct group *g)
{
	struct seed_group *s = seed_of(g);

	for (size_t i = 0; i < ws->nsets; i++)
		s->sets[i] = strset_new(ws->opts.max_values);
}

static void
seed_fini(struct window_store *ws, struct group *g)
{
	struct seed_group *s = seed_of(g);

	for (size_t i = 0; i < ws->nsets; i++)
		strset_free(s->sets[i]);
}

/* Each set: its struct, its two arrays, and one allocation per member. */
static size_t
seed_bytes(const struct window_store *ws, const struct group *g)
{
	const struct seed_group *s = seed_of(g);
	size_t n = 0;

	for (size_t i = 0; i < ws->nsets; i++)
		n += strset_bytes(s->sets[i]) + 3 * MALLOC_OVERHEAD +
		     strset_kept(s->sets[i]) * MALLOC_OVERHEAD;
	return n;
}

static size_t
seed_rank(const struct window_store *ws, const struct group *g)
{
	return strset_count(seed_of(g)->sets[ws->distinct_set]);
}

static void
add_set_value(struct window_store *ws, struct strset *s,
	      const struct record_value *v)
{
	size_t before = strset_dropped(s);

	strset_add(s, v->p, v->len);
	if (strset_dropped(s) != before)
		ws->metrics->v[M_values_dropped]++;
}

static void
seed_update(struct window_store *ws, struct group *g, const void *row)
{
	const struct seed_row *sr = row;
	const struct rule *r = ws->rule;
	struct seed_group *s = seed_of(g);
	const struct record_value *v;
	size_t n;

	s->labels |= UINT64_C(1) << sr->label;
	for (size_t i = 0; i < ws->nsets; i++) {
		int slot =
		    i < r->nvalues ? r->values[i].slot : r->distinct_slot;
		v = record_get(sr->rec, slot, &n);
		for (size_t j = 0; j < n; j++)
			add_set_value(ws, s->sets[i], &v[j]);
	}
}

/* Record values are UTF-8 (the parser demands it): so must restored be. */
static bool
seed_field_ok(const struct window_store *ws, size_t k, const char *p,
	      size_t len)
{
	(void)ws;
	(void)k;
	return utf8_is_valid(p, len);
}

/* The key must be well formed (window_load checks what it restores). */
static void
key_decode(const char *p, size_t n, struct alert_key *out)
{
	for (size_t i = 0; i < n; i++) {
		uint32_t len;
		if (*p++ == 0) {
			out[i].p = NULL;
			out[i].len = 0;
			continue;
		}
		memcpy(&len, p, sizeof(len));
		p += sizeof(len);
		out[i].p = p;
		out[i].len = len;
		p += len;
	}
}

static void
seed_view(struct window_store *ws, struct window_closing *c)
{
	ws->alerts =
	    xreallocarray(ws->alerts, ws->capbatch, sizeof(*ws->alerts));
	for (size_t i = 0; i < c->n; i++) {
		const struct group *g = ws->batch[c->first + i];
		const struct seed_group *s = seed_of(g);
		struct alert *a = &ws->alerts[c->first + i];

		memset(a, 0, sizeof(*a));
		a->rule = ws->rule;
		a->window_ms = g->window;
		key_decode(g->key, ws->rule->ngroup, a->key);
		a->distinct = strset_count(s->sets[ws->distinct_set]);
		a->labels = s->labels;
		for (size_t k = 0; k < ws->rule->nvalues; k++)
			a->sets[k] = s->sets[k];
		a->late = g->late;
	}
	c->groups = &ws->alerts[c->first];
}

/*
 * A group's record after its window and key: labels, flags, then per
 * value set its kept members (count, strings) and the hashes of the
 * members past the cap (count, hashes).
 */
static void
put_hash_cb(void *arg, uint64_t h)
{
	buf_put_u64(arg, h);
}

static void
seed_save(const struct window_store *ws, const struct group *g, struct buf *out)
{
	const struct seed_group *s = seed_of(g);

	buf_put_u64(out, s->labels);
	buf_put_u64(out, window_group_flags(g));
	for (size_t k = 0; k < ws->nsets; k++) {
		const struct strset *set = s->sets[k];
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

/* One value set: members distinct, hashes distinct and not zero. */
static int
load_set(struct cursor *r, struct strset *s)
{
	uint64_t m = cursor_u64(r);

	for (uint64_t j = 0; j < m && !r->bad; j++) {
		size_t vlen;
		const char *v = cursor_bytes(r, &vlen);
		if (r->bad || !utf8_is_valid(v, vlen) ||
		    strset_add(s, v, vlen) != 1)
			return -1;
	}
	m = cursor_u64(r);
	for (uint64_t j = 0; j < m && !r->bad; j++) {
		uint64_t h = cursor_u64(r);
		if (r->bad || h == 0 || strset_add_hash(s, h) != 1)
			return -1;
	}
	return r->bad ? -1 : 0;
}

static int
seed_load(struct window_store *ws, struct group *g, struct cursor *r)
{
	const struct rule *rule = ws->rule;
	/* Labels 0..nlabels (the last is the default label). */
	uint64_t label_bits = rule->nlabels >= 63
				  ? UINT64_MAX
				  : (UINT64_C(2) << rule->nlabels) - 1;
	struct seed_group *s = seed_of(g);
	uint64_t labels = cursor_u64(r), flags = cursor_u64(r);

	if (r->bad || (labels & ~label_bits) != 0 ||
	    window_group_restore(g, flags) < 0)
		return -1;
	s->labels = labels;
	for (size_t k = 0; k < ws->nsets; k++)
		if (load_set(r, s->sets[k]) < 0)
			return -1;
	return 0;
}

const struct window_kind window_seed_kind = {
    .format = UINT64_C(0x5753544154450003), /* "WSTATE", version 3 */
    .shape = seed_shape,
    .init = seed_init,
    .fini = seed_fini,
    .bytes = seed_bytes,
    .rank = seed_rank,
    .update = seed_update,
    .field_ok = seed_field_ok,
    .view = seed_view,
    .save = seed_save,
    .load = seed_load,
};

static void
spec_of(const struct rule *rule, struct window_spec *spec)
{
	*spec = (struct window_spec){
	    .nkeys = rule->ngroup,
	    .watermark_key = rule->watermark_key,
	    .window_ms = rule->window_ms,
	};
}

struct window_store *
window_new(const struct rule *rule, const struct window_opts *opts,
	   struct metrics *metrics, window_close_cb *cb, void *arg)
{
	struct window_spec spec;
	struct window_store *ws;

	spec_of(rule, &spec);
	ws = window_store_new(&window_seed_kind, &spec, opts, metrics, cb, arg);
	ws->rule = rule;
	ws->nsets = rule->nvalues;
	ws->distinct_set = rule->nvalues;
	for (size_t i = 0; i < rule->nvalues; i++) {
		if (rule->values[i].slot == rule->distinct_slot) {
			ws->distinct_set = i;
			break;
		}
	}
	if (ws->distinct_set == rule->nvalues)
		ws->nsets++;
	ws->size = sizeof(struct seed_group) +
		   ws->nsets * sizeof(((struct seed_group *)0)->sets[0]);
	return ws;
}

void
window_reconfigure(struct window_store *ws, const struct rule *rule,
		   const struct window_opts *opts)
{
	assert(ws->kind == &window_seed_kind);
	ws->rule = rule;
	spec_of(rule, &ws->spec);
	window_set_opts(ws, opts);
}

void
window_add(struct window_store *ws, const struct record *rec, int64_t ts_ms,
	   unsigned label)
{
	const struct rule *r = ws->rule;
	struct record_value vals[WINDOW_KEY_VALUES];
	struct window_keyvals kv;
	struct seed_row row = {rec, label};

	assert(ws->kind == &window_seed_kind);
	kv.cut = false;
	ws->valbuf.len = 0;
	for (size_t i = 0; i < r->ngroup; i++) {
		size_t nd = record_distinct(rec, r->group_slots[i], vals,
					    WINDOW_KEY_VALUES);
		kv.n[i] = nd < WINDOW_KEY_VALUES ? nd : WINDOW_KEY_VALUES;
		kv.cut |= nd > WINDOW_KEY_VALUES;
		for (size_t j = 0; j < kv.n[i]; j++) {
			kv.off[i][j] = ws->valbuf.len;
			window_key_field(&ws->valbuf,
					 vals[j].p != NULL ? vals[j].p : "",
					 vals[j].len);
			kv.len[i][j] = ws->valbuf.len - kv.off[i][j];
		}
	}
	window_add_keys(ws, &kv, timefmt_floor(ts_ms, r->window_ms), ts_ms,
			&row);
}
