/*
 * window_save: the window store's state in a checkpoint, and back.
 *
 * The layout, in host byte order since a checkpoint never leaves its
 * machine, every number a u64 and every string a u64 length and its
 * bytes:
 *
 *   format, value sets per group, global floor,
 *   agents: count, then per agent its key, largest event time, floor;
 *   tombstones (oldest first): count, then per tombstone hash, floor;
 *   alert ledger: count, then per window its start and alerts emitted;
 *   groups: count, then per group window, key, labels, flags (1 closed,
 *   2 decided, 4 late), and per value set its kept members (count,
 *   strings) and the hashes of the members past the cap (count, hashes).
 *
 * A checkpoint's checksum only says the bytes are the ones written;
 * window_load trusts nothing else: every length, count, key, time and
 * membership is checked before the store uses it, since the keys later
 * reach alert_uuid() and the alert's JSON unchecked.
 */
#include <stdbool.h>
#include <string.h>

#include "timefmt.h"
#include "util.h"
#include "window.h"
#include "window_int.h"

/* "WSTATE" and the layout's version. */
#define FORMAT UINT64_C(0x5753544154450003)

static void
put_hash_cb(void *arg, uint64_t h)
{
	buf_put_u64(arg, h);
}

static size_t
count_hashes(const struct strset *s)
{
	return strset_count(s) - strset_kept(s);
}

static void
save_group(const struct window_store *ws, const struct group *g,
	   struct buf *out)
{
	buf_put_u64(out, (uint64_t)g->window);
	buf_put_bytes(out, g->key, g->keylen);
	buf_put_u64(out, g->labels);
	buf_put_u64(out, (uint64_t)g->closed | (uint64_t)g->decided << 1 |
			     (uint64_t)g->late << 2);
	for (size_t k = 0; k < ws->nsets; k++) {
		const struct strset *set = g->sets[k];
		buf_put_u64(out, strset_kept(set));
		for (size_t m = 0; m < strset_kept(set); m++) {
			size_t len;
			const char *p = strset_get(set, m, &len);
			buf_put_bytes(out, p, len);
		}
		buf_put_u64(out, count_hashes(set));
		strset_foreach_hash(set, put_hash_cb, out);
	}
}

void
window_save(const struct window_store *ws, struct buf *out)
{
	buf_put_u64(out, FORMAT);
	buf_put_u64(out, ws->nsets);
	buf_put_u64(out, (uint64_t)ws->floor);
	buf_put_u64(out, ws->agents.n);
	for (size_t i = 0; i <= ws->agents.mask; i++) {
		for (struct hnode *x = ws->agents.b[i]; x; x = x->next) {
			const struct agent *a = (const struct agent *)x;
			buf_put_bytes(out, a->key, a->keylen);
			buf_put_u64(out, (uint64_t)a->max_ts);
			buf_put_u64(out, (uint64_t)a->floor);
		}
	}
	buf_put_u64(out, ws->tombs.n);
	if (ws->tomblist != NULL) {
		const struct tomb *t = ws->tomblist;
		do {
			buf_put_u64(out, t->h.hash);
			buf_put_u64(out, (uint64_t)t->floor);
			t = t->next;
		} while (t != ws->tomblist);
	}
	buf_put_u64(out, ws->ledger.n);
	for (size_t i = 0; i <= ws->ledger.mask; i++) {
		for (struct hnode *x = ws->ledger.b[i]; x; x = x->next) {
			const struct ledger_entry *le =
			    (const struct ledger_entry *)x;
			buf_put_u64(out, (uint64_t)le->window);
			buf_put_u64(out, le->emitted);
		}
	}
	buf_put_u64(out, ws->groups.n);
	for (size_t i = 0; i <= ws->groups.mask; i++)
		for (struct hnode *x = ws->groups.b[i]; x; x = x->next)
			save_group(ws, (const struct group *)x, out);
}

/* An event time or a floor: none (INT64_MIN) or within TIME_BOUND. */
static bool
time_ok(int64_t t)
{
	return t == INT64_MIN || (t >= -TIME_BOUND && t <= TIME_BOUND);
}

/* A window start: within TIME_BOUND, on the rule's window grid. */
static bool
window_ok(const struct window_store *ws, int64_t w)
{
	return w >= -TIME_BOUND && w <= TIME_BOUND &&
	       timefmt_floor(w, ws->rule->window_ms) == w;
}

/*
 * Strict UTF-8 (RFC 3629), as the record parser demands of every value:
 * restored values reach the alert's JSON, which must stay valid.
 */
static bool
utf8_ok(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + len;

	while (p < end) {
		unsigned char c = *p++, lo = 0x80, hi = 0xbf;
		size_t n;
		if (c < 0x80)
			continue;
		if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			lo = c == 0xe0 ? 0xa0 : 0x80;
			hi = c == 0xed ? 0x9f : 0xbf;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			lo = c == 0xf0 ? 0x90 : 0x80;
			hi = c == 0xf4 ? 0x8f : 0xbf;
		} else {
			return false;
		}
		if ((size_t)(end - p) < n || *p < lo || *p > hi)
			return false;
		for (size_t k = 1; k < n; k++)
			if (p[k] < 0x80 || p[k] > 0xbf)
				return false;
		p += n;
	}
	return true;
}

/*
 * Whether key[0..len) is exactly nfields encoded fields (see key_put()
 * in window.c), each value valid UTF-8; if so and want < nfields, sets *fp and *flen to the
 * bytes of field `want`.
 */
static bool
key_ok(const char *key, size_t len, size_t nfields, size_t want,
       const char **fp, size_t *flen)
{
	const char *p = key, *end = key + len;

	for (size_t k = 0; k < nfields; k++) {
		const char *start = p;
		uint32_t n;
		if (p == end)
			return false;
		switch (*p++) {
		case 0:
			break;
		case 1:
			if ((size_t)(end - p) < sizeof(n))
				return false;
			memcpy(&n, p, sizeof(n));
			p += sizeof(n);
			if (n > (size_t)(end - p) || !utf8_ok(p, n))
				return false;
			p += n;
			break;
		default:
			return false;
		}
		if (k == want) {
			*fp = start;
			*flen = (size_t)(p - start);
		}
	}
	return p == end;
}

static int
load_agents(struct window_store *ws, struct cursor *r)
{
	uint64_t n = cursor_u64(r);

	for (uint64_t i = 0; i < n && !r->bad; i++) {
		size_t klen;
		const char *key = cursor_bytes(r, &klen), *f;
		int64_t max_ts = (int64_t)cursor_u64(r);
		int64_t floor = (int64_t)cursor_u64(r);
		size_t flen;
		struct agent *a;
		if (r->bad || !key_ok(key, klen, 1, 0, &f, &flen) ||
		    !time_ok(max_ts) || !time_ok(floor) ||
		    window_agent_find(ws, key, klen) != NULL)
			return -1;
		a = window_agent_new(ws, key, klen, floor);
		a->max_ts = max_ts;
	}
	return r->bad ? -1 : 0;
}

static int
load_tombs(struct window_store *ws, struct cursor *r)
{
	uint64_t n = cursor_u64(r);

	for (uint64_t i = 0; i < n && !r->bad; i++) {
		uint64_t hash = cursor_u64(r);
		int64_t floor = (int64_t)cursor_u64(r);
		if (r->bad || !time_ok(floor) ||
		    window_tomb_find(ws, hash) != NULL)
			return -1;
		window_tomb_add(ws, hash, floor);
	}
	return r->bad ? -1 : 0;
}

static int
load_ledger(struct window_store *ws, struct cursor *r)
{
	uint64_t n = cursor_u64(r);

	for (uint64_t i = 0; i < n && !r->bad; i++) {
		int64_t window = (int64_t)cursor_u64(r);
		uint64_t emitted = cursor_u64(r);
		if (r->bad || !window_ok(ws, window) ||
		    window_ledger_find(ws, window) != NULL)
			return -1;
		window_ledger_get(ws, window)->emitted = emitted;
	}
	return r->bad ? -1 : 0;
}

/* One value set: members distinct, hashes distinct and not zero. */
static int
load_set(struct cursor *r, struct strset *s)
{
	uint64_t m = cursor_u64(r);

	for (uint64_t j = 0; j < m && !r->bad; j++) {
		size_t vlen;
		const char *v = cursor_bytes(r, &vlen);
		if (r->bad || !utf8_ok(v, vlen) || strset_add(s, v, vlen) != 1)
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
load_groups(struct window_store *ws, struct cursor *r)
{
	const struct rule *rule = ws->rule;
	/* Labels 0..nlabels (the last is the default label). */
	uint64_t label_bits = rule->nlabels >= 63
				  ? UINT64_MAX
				  : (UINT64_C(2) << rule->nlabels) - 1;
	uint64_t n = cursor_u64(r);

	for (uint64_t i = 0; i < n && !r->bad; i++) {
		int64_t window = (int64_t)cursor_u64(r);
		size_t klen, alen = 1;
		const char *key = cursor_bytes(r, &klen), *akey = "";
		uint64_t labels = cursor_u64(r), flags = cursor_u64(r);
		size_t want = rule->watermark_key < 0
				  ? rule->ngroup
				  : (size_t)rule->watermark_key;
		struct agent *a;
		struct group *g;
		uint64_t h;

		if (r->bad || !window_ok(ws, window) ||
		    !key_ok(key, klen, rule->ngroup, want, &akey, &alen) ||
		    (labels & ~label_bits) != 0 || (flags & ~UINT64_C(7)) ||
		    ((flags & 2) && !(flags & 1)))
			return -1;
		/* A group belongs to an agent saved with it. */
		if ((a = window_agent_find(ws, akey, alen)) == NULL)
			return -1;
		h = window_group_hash(window, key, klen);
		if (window_group_find(ws, h, window, key, klen) != NULL)
			return -1;
		g = window_group_new(ws, h, window, a, key, klen, flags & 1);
		g->labels = labels;
		g->decided = (flags >> 1) & 1;
		g->late = (flags >> 2) & 1;
		for (size_t k = 0; k < ws->nsets; k++)
			if (load_set(r, g->sets[k]) < 0)
				return -1;
		window_group_settle(ws, g);
	}
	return r->bad ? -1 : 0;
}

int
window_load(struct window_store *ws, const char *data, size_t len)
{
	struct cursor r = {data, data + len, 0};
	int64_t floor;

	if (ws->groups.n != 0 || ws->agents.n != 0 || ws->tombs.n != 0)
		return -1;
	if (cursor_u64(&r) != FORMAT || cursor_u64(&r) != ws->nsets)
		return -1;
	floor = (int64_t)cursor_u64(&r);
	if (r.bad || !time_ok(floor) || load_agents(ws, &r) < 0 ||
	    load_tombs(ws, &r) < 0 || load_ledger(ws, &r) < 0 ||
	    load_groups(ws, &r) < 0 || r.p != r.end) {
		window_clear(ws);
		return -1;
	}
	ws->floor = floor;
	for (size_t i = 0; i <= ws->agents.mask; i++) {
		for (struct hnode *x = ws->agents.b[i]; x; x = x->next) {
			struct agent *a = (struct agent *)x;
			/* Every agent scans its groups at its next event. */
			a->due = INT64_MIN;
			/* The idle clock starts at the next tick: the time the
			 * process was down is no silence of the agent's. */
			a->last_seen = 0;
		}
	}
	window_make_room(ws);
	return 0;
}
