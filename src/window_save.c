/*
 * window_save: the window store's state in a checkpoint, and back.
 *
 * The layout, in host byte order since a checkpoint never leaves its
 * machine, every number a u64 and every string a u64 length and its
 * bytes:
 *
 *   format (the kind's), shape (the kind's: a hash of the spec's keys,
 *   window and aggregates), global floor,
 *   agents: count, then per agent its key, largest event time, floor;
 *   tombstones (oldest first): count, then per tombstone hash, floor;
 *   alert ledger: count, then per window its start and alerts emitted;
 *   groups: count, then per group window, key and the kind's record,
 *   which holds the flags (1 closed, 2 decided, 4 late, 8 alerted
 *   early, with that alert's digest after the flags, 16 held for the
 *   close by the cap) and the group's aggregate state (window_esql.c).
 *
 * A checkpoint's checksum only says the bytes are the ones written;
 * window_load trusts nothing else: every length, count, key, time and
 * membership is checked before the store uses it, since the keys later
 * reach the alert's uuid and JSON unchecked.
 */
#include <stdbool.h>
#include <string.h>

#include "timefmt.h"
#include "util.h"
#include "window.h"
#include "window_int.h"

uint64_t
window_group_flags(const struct group *g)
{
	return (uint64_t)g->closed | (uint64_t)g->decided << 1 |
	       (uint64_t)g->late << 2;
}

static void
save_group(const struct window_store *ws, const struct group *g,
	   struct buf *out)
{
	buf_put_u64(out, (uint64_t)g->window);
	buf_put_bytes(out, g->key, g->keylen);
	ws->kind->save(ws, g, out);
}

void
window_save(const struct window_store *ws, struct buf *out)
{
	buf_put_u64(out, ws->kind->format);
	buf_put_u64(out, ws->kind->shape(ws));
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

/* A window start: within TIME_BOUND, on the spec's window grid. */
static bool
window_ok(const struct window_store *ws, int64_t w)
{
	return w >= -TIME_BOUND && w <= TIME_BOUND &&
	       timefmt_floor(w, ws->spec.window_ms) == w;
}

/*
 * Whether key[0..len) is exactly nfields encoded fields (see
 * window_key_field() in window.c), each value one the kind accepts as
 * field `kinds[k]`'s (SIZE_MAX: an agent's with no watermark key); if
 * so and want < nfields, sets *fp and *flen to the bytes of field `want`.
 */
static bool
key_ok(const struct window_store *ws, const char *key, size_t len,
       size_t nfields, const size_t *kinds, size_t want, const char **fp,
       size_t *flen)
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
			if (n > (size_t)(end - p) ||
			    !ws->kind->field_ok(ws, kinds[k], p, n))
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
	size_t field = ws->spec.watermark_key < 0
			   ? SIZE_MAX
			   : (size_t)ws->spec.watermark_key;

	for (uint64_t i = 0; i < n && !r->bad; i++) {
		size_t klen;
		const char *key = cursor_bytes(r, &klen), *f;
		int64_t max_ts = (int64_t)cursor_u64(r);
		int64_t floor = (int64_t)cursor_u64(r);
		size_t flen;
		struct agent *a;
		if (r->bad || !key_ok(ws, key, klen, 1, &field, 0, &f, &flen) ||
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

static int
load_groups(struct window_store *ws, struct cursor *r)
{
	size_t nkeys = ws->spec.nkeys, kinds[WINDOW_MAX_KEYS];
	size_t want =
	    ws->spec.watermark_key < 0 ? nkeys : (size_t)ws->spec.watermark_key;
	uint64_t n = cursor_u64(r);

	for (size_t k = 0; k < nkeys; k++)
		kinds[k] = k;
	for (uint64_t i = 0; i < n && !r->bad; i++) {
		int64_t window = (int64_t)cursor_u64(r);
		size_t klen, alen = 1;
		const char *key = cursor_bytes(r, &klen), *akey = "";
		struct agent *a;
		struct group *g;
		uint64_t h;

		if (r->bad || !window_ok(ws, window) ||
		    !key_ok(ws, key, klen, nkeys, kinds, want, &akey, &alen))
			return -1;
		/* A group belongs to an agent saved with it. */
		if ((a = window_agent_find(ws, akey, alen)) == NULL)
			return -1;
		h = window_group_hash(window, key, klen);
		if (window_group_find(ws, h, window, key, klen) != NULL)
			return -1;
		g = window_group_new(ws, h, window, a, key, klen, false);
		if (ws->kind->load(ws, g, r) < 0)
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
	if (cursor_u64(&r) != ws->kind->format ||
	    cursor_u64(&r) != ws->kind->shape(ws))
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
