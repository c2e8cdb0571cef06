/*
 * window: groups in a chained hash table, agents (watermark owners) in
 * another; each agent lists its open and its closed groups, and files
 * them again in eviction buckets by their kind's rank (distinct values).
 * The structures and their invariants are in window_int.h; checkpoints
 * are in window_save.c; what a group holds is its kind's
 * (window_esql.c).
 *
 * The budget: every group (with its value sets), agent, tombstone,
 * ledger entry and hash table slot is charged in bytes.  When the
 * budget is passed, the store evicts, cheapest first: from the largest
 * agent (found in O(1) by size class) if it holds more than its fair
 * share (the budget over the agents holding state), its group furthest
 * from the threshold (the first non-empty eviction bucket), least
 * recently touched first; otherwise the oldest tombstone, raising the global
 * floor to its floor; otherwise the largest agent's cheapest group anyway.
 * Evicting a decided group raises its agent's floor to the group's
 * window end, so the group is never made again to alert twice.
 */
#include <assert.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "timefmt.h"
#include "util.h"
#include "window.h"
#include "window_int.h"

static int64_t
max64(int64_t a, int64_t b)
{
	return a > b ? a : b;
}

/* Bytes: the store's share of the budget. */

static void
store_charge(struct window_store *ws, size_t n)
{
	ws->bytes += n;
	budget_charge(ws->budget, n);
}

static void
store_release(struct window_store *ws, size_t n)
{
	assert(n <= ws->bytes);
	ws->bytes -= n;
	budget_release(ws->budget, n);
}

/* Hash tables; their slots are charged to the store. */

static void
htab_init(struct window_store *ws, struct htab *t)
{
	t->mask = 63;
	t->b = xcalloc(t->mask + 1, sizeof(*t->b));
	t->n = 0;
	store_charge(ws, (t->mask + 1) * sizeof(*t->b) + MALLOC_OVERHEAD);
}

static void
htab_insert(struct window_store *ws, struct htab *t, struct hnode *n)
{
	if (t->n >= t->mask + 1) {
		size_t nb = (t->mask + 1) * 2;
		struct hnode **b = xcalloc(nb, sizeof(*b));
		for (size_t i = 0; i <= t->mask; i++) {
			struct hnode *x = t->b[i], *nx;
			for (; x != NULL; x = nx) {
				nx = x->next;
				x->next = b[x->hash & (nb - 1)];
				b[x->hash & (nb - 1)] = x;
			}
		}
		free(t->b);
		store_charge(ws, (t->mask + 1) * sizeof(*b));
		t->b = b;
		t->mask = nb - 1;
	}
	n->next = t->b[n->hash & t->mask];
	t->b[n->hash & t->mask] = n;
	t->n++;
}

static void
htab_remove(struct htab *t, struct hnode *n)
{
	struct hnode **pp = &t->b[n->hash & t->mask];

	while (*pp != n)
		pp = &(*pp)->next;
	*pp = n->next;
	t->n--;
}

/* Keys: per field a flag byte (0 null, 1 value), a length, the bytes. */

void
window_key_field(struct buf *b, const char *p, size_t len)
{
	uint32_t n = (uint32_t)len;

	if (p == NULL) {
		buf_append(b, "", 1);
		return;
	}
	buf_append(b, "\1", 1);
	buf_append(b, &n, sizeof(n));
	buf_append(b, p, len);
}

uint64_t
window_group_hash(int64_t window, const char *key, size_t len)
{
	return XXH3_64bits_withSeed(key, len, (uint64_t)window);
}

uint64_t
window_agent_hash(const char *key, size_t len)
{
	return XXH3_64bits(key, len);
}

/* Lists. */

static void
list_remove(struct group **head, struct group *g)
{
	if (g->prev != NULL)
		g->prev->next = g->next;
	else
		*head = g->next;
	if (g->next != NULL)
		g->next->prev = g->prev;
	g->prev = g->next = NULL;
}

static void
list_push(struct group **head, struct group *g)
{
	g->prev = NULL;
	g->next = *head;
	if (*head != NULL)
		(*head)->prev = g;
	*head = g;
}

/* Eviction buckets: circular lists, the head is the oldest. */

static unsigned
evbucket(const struct window_store *ws, const struct group *g)
{
	size_t n;

	if (g->decided)
		return EV_DECIDED;
	n = ws->kind->rank(ws, g);
	return n < EV_DECIDED - 1 ? (unsigned)n : EV_DECIDED - 1;
}

static void
ev_insert(struct agent *a, struct group *g, unsigned b)
{
	struct group *h = a->ev[b];

	g->bucket = b;
	if (h == NULL) {
		g->eprev = g->enext = g;
		a->ev[b] = g;
		return;
	}
	g->enext = h;
	g->eprev = h->eprev;
	h->eprev->enext = g;
	h->eprev = g;
}

static void
ev_remove(struct agent *a, struct group *g)
{
	assert(g->bucket < EV_BUCKETS && a->ev[g->bucket] != NULL);
	if (g->enext == g) {
		assert(a->ev[g->bucket] == g);
		a->ev[g->bucket] = NULL;
	} else {
		g->eprev->enext = g->enext;
		g->enext->eprev = g->eprev;
		if (a->ev[g->bucket] == g)
			a->ev[g->bucket] = g->enext;
	}
	g->eprev = g->enext = NULL;
}

/* Size classes of agents: circular lists. */

static unsigned
cls_of(size_t bytes)
{
	return bytes ? 63 - (unsigned)__builtin_clzll(bytes) : 0;
}

static void
cls_insert(struct window_store *ws, struct agent *a)
{
	struct agent *h = ws->cls[a->cls];

	if (h == NULL) {
		a->cprev = a->cnext = a;
		ws->cls[a->cls] = a;
		ws->clsmask |= UINT64_C(1) << a->cls;
		return;
	}
	a->cnext = h;
	a->cprev = h->cprev;
	h->cprev->cnext = a;
	h->cprev = a;
}

static void
cls_remove(struct window_store *ws, struct agent *a)
{
	if (a->cnext == a) {
		assert(ws->cls[a->cls] == a);
		ws->cls[a->cls] = NULL;
		ws->clsmask &= ~(UINT64_C(1) << a->cls);
	} else {
		a->cprev->cnext = a->cnext;
		a->cnext->cprev = a->cprev;
		if (ws->cls[a->cls] == a)
			ws->cls[a->cls] = a->cnext;
	}
	a->cprev = a->cnext = NULL;
}

static void
agent_recharge(struct window_store *ws, struct agent *a, size_t old, size_t new)
{
	if (new > old)
		store_charge(ws, new - old);
	else
		store_release(ws, old - new);
	a->bytes = a->bytes - old + new;
	if (cls_of(a->bytes) != a->cls) {
		cls_remove(ws, a);
		a->cls = cls_of(a->bytes);
		cls_insert(ws, a);
	}
}

/*
 * An estimate of the group's allocations: struct and payload, key, its
 * share of the table's slots, and what the payload holds.
 */
static size_t
group_bytes(const struct window_store *ws, const struct group *g)
{
	return sizeof(*g) + ws->size + MALLOC_OVERHEAD + g->keylen +
	       MALLOC_OVERHEAD + 2 * sizeof(struct hnode *) +
	       ws->kind->bytes(ws, g);
}

static size_t
agent_own_bytes(size_t keylen)
{
	return sizeof(struct agent) + keylen + MALLOC_OVERHEAD;
}

#define TOMB_BYTES (sizeof(struct tomb) + MALLOC_OVERHEAD)
#define LEDGER_BYTES (sizeof(struct ledger_entry) + MALLOC_OVERHEAD)

void
window_group_settle(struct window_store *ws, struct group *g)
{
	size_t nb = group_bytes(ws, g);
	unsigned b = evbucket(ws, g);

	if (nb != g->bytes) {
		agent_recharge(ws, g->agent, g->bytes, nb);
		g->bytes = nb;
	}
	/* To the tail of its bucket: the oldest is the least recently
	 * touched, so a group still growing is not the next victim. */
	ev_remove(g->agent, g);
	ev_insert(g->agent, g, b);
}

struct window_store *
window_store_new(const struct window_kind *kind, const struct window_spec *spec,
		 const struct window_opts *opts, struct metrics *metrics,
		 window_close_cb *cb, void *arg)
{
	struct window_store *ws = xcalloc(1, sizeof(*ws));

	assert(spec->nkeys <= WINDOW_MAX_KEYS && spec->window_ms > 0);
	assert(spec->watermark_key < (int)spec->nkeys);
	ws->kind = kind;
	ws->spec = *spec;
	ws->opts = *opts;
	ws->metrics = metrics;
	ws->cb = cb;
	ws->arg = arg;
	ws->own.max = SIZE_MAX;
	ws->budget = opts->budget != NULL ? opts->budget : &ws->own;
	ws->floor = INT64_MIN;
	htab_init(ws, &ws->groups);
	htab_init(ws, &ws->agents);
	htab_init(ws, &ws->tombs);
	htab_init(ws, &ws->ledger);
	ws->ledger_prune_at = 1024;
	/* A key of no field is still a pointer the hashes may read. */
	buf_reserve(&ws->keybuf, 64);
	return ws;
}

static void
group_free(struct window_store *ws, struct group *g)
{
	ws->kind->fini(ws, g);
	free(g->key);
	free(g);
}

static void
agent_drop_group(struct window_store *ws, struct group *g)
{
	struct agent *a = g->agent;

	assert(a->ngroups > 0);
	list_remove(g->closed ? &a->closed : &a->open, g);
	ev_remove(a, g);
	htab_remove(&ws->groups, &g->h);
	agent_recharge(ws, a, g->bytes, 0);
	group_free(ws, g);
	a->ngroups--;
}

/* Frees an agent that holds no group. */
static void
agent_free(struct window_store *ws, struct agent *a)
{
	assert(a->ngroups == 0 && a->open == NULL && a->closed == NULL);
	assert(a->bytes == agent_own_bytes(a->keylen));
	htab_remove(&ws->agents, &a->h);
	cls_remove(ws, a);
	store_release(ws, a->bytes);
	free(a);
}

/* Tombstones. */

struct tomb *
window_tomb_find(struct window_store *ws, uint64_t hash)
{
	for (struct hnode *x = ws->tombs.b[hash & ws->tombs.mask]; x;
	     x = x->next)
		if (x->hash == hash)
			return (struct tomb *)x;
	return NULL;
}

static void
tomb_remove(struct window_store *ws, struct tomb *t)
{
	if (t->next == t) {
		ws->tomblist = NULL;
	} else {
		t->prev->next = t->next;
		t->next->prev = t->prev;
		if (ws->tomblist == t)
			ws->tomblist = t->next;
	}
	htab_remove(&ws->tombs, &t->h);
	store_release(ws, TOMB_BYTES);
	free(t);
}

void
window_tomb_add(struct window_store *ws, uint64_t hash, int64_t floor)
{
	struct tomb *t = window_tomb_find(ws, hash), *h;

	if (t != NULL) {
		/* Two keys, one hash: the tombstone keeps the higher floor. */
		t->floor = max64(t->floor, floor);
		return;
	}
	t = xcalloc(1, sizeof(*t));
	t->h.hash = hash;
	t->floor = floor;
	htab_insert(ws, &ws->tombs, &t->h);
	store_charge(ws, TOMB_BYTES);
	if ((h = ws->tomblist) == NULL) {
		t->prev = t->next = t;
		ws->tomblist = t;
	} else {
		t->next = h;
		t->prev = h->prev;
		h->prev->next = t;
		h->prev = t;
	}
}

static void
window_free_nodes(struct htab *t)
{
	for (size_t i = 0; i <= t->mask; i++) {
		struct hnode *x = t->b[i], *nx;
		for (; x != NULL; x = nx) {
			nx = x->next;
			free(x);
		}
	}
}

void
window_free(struct window_store *ws)
{
	if (ws == NULL)
		return;
	for (size_t i = 0; i <= ws->groups.mask; i++) {
		struct hnode *x = ws->groups.b[i], *nx;
		for (; x != NULL; x = nx) {
			nx = x->next;
			group_free(ws, (struct group *)x);
		}
	}
	window_free_nodes(&ws->agents);
	window_free_nodes(&ws->tombs);
	window_free_nodes(&ws->ledger);
	free(ws->groups.b);
	free(ws->agents.b);
	free(ws->tombs.b);
	free(ws->ledger.b);
	/* The budget outlives the store: give back all it was charged. */
	budget_release(ws->budget, ws->bytes);
	free(ws->batch);
	free(ws->views);
	free(ws->keyvals);
	buf_free(&ws->keybuf);
	buf_free(&ws->agentbuf);
	buf_free(&ws->valbuf);
	free(ws);
}

void
window_set_opts(struct window_store *ws, const struct window_opts *opts)
{
	struct budget *b = opts->budget != NULL ? opts->budget : &ws->own;

	ws->opts = *opts;
	if (b != ws->budget) {
		budget_release(ws->budget, ws->bytes);
		budget_charge(b, ws->bytes);
		ws->budget = b;
	}
}

size_t
window_groups(const struct window_store *ws)
{
	return ws->groups.n;
}

size_t
window_bytes(const struct window_store *ws)
{
	return ws->bytes;
}

size_t
window_tombstones(const struct window_store *ws)
{
	return ws->tombs.n;
}

int64_t
window_oldest_newest(const struct window_store *ws)
{
	int64_t oldest = INT64_MAX;

	if (ws->agents.b == NULL)
		return INT64_MIN;
	for (size_t i = 0; i <= ws->agents.mask; i++)
		for (const struct hnode *x = ws->agents.b[i]; x != NULL;
		     x = x->next) {
			const struct agent *a = (const struct agent *)x;
			if (a->max_ts != INT64_MIN && a->max_ts < oldest)
				oldest = a->max_ts;
		}
	return oldest == INT64_MAX ? INT64_MIN : oldest;
}

/* The alert cap: alerts emitted per window. */

struct ledger_entry *
window_ledger_find(struct window_store *ws, int64_t window)
{
	uint64_t h = XXH3_64bits(&window, sizeof(window));

	for (struct hnode *x = ws->ledger.b[h & ws->ledger.mask]; x;
	     x = x->next)
		if (((struct ledger_entry *)x)->window == window)
			return (struct ledger_entry *)x;
	return NULL;
}

struct ledger_entry *
window_ledger_get(struct window_store *ws, int64_t window)
{
	struct ledger_entry *le = window_ledger_find(ws, window);

	if (le != NULL)
		return le;
	le = xcalloc(1, sizeof(*le));
	le->h.hash = XXH3_64bits(&window, sizeof(window));
	le->window = window;
	htab_insert(ws, &ws->ledger, &le->h);
	store_charge(ws, LEDGER_BYTES);
	return le;
}

/*
 * Forgets windows older than every group held: no alert can come for
 * them any more.  Called when the ledger has doubled since the last
 * prune, so its cost is amortised.
 */
static void
ledger_prune(struct window_store *ws)
{
	int64_t oldest = INT64_MAX;

	for (size_t i = 0; i <= ws->groups.mask; i++)
		for (struct hnode *x = ws->groups.b[i]; x; x = x->next)
			if (((struct group *)x)->window < oldest)
				oldest = ((struct group *)x)->window;
	for (size_t i = 0; i <= ws->ledger.mask; i++) {
		struct hnode *x = ws->ledger.b[i], *nx;
		for (; x != NULL; x = nx) {
			nx = x->next;
			if (((struct ledger_entry *)x)->window < oldest) {
				htab_remove(&ws->ledger, x);
				store_release(ws, LEDGER_BYTES);
				free(x);
			}
		}
	}
	ws->ledger_prune_at = 2 * ws->ledger.n > 1024 ? 2 * ws->ledger.n : 1024;
}

/* Windows ascending: the batch is handed over one window at a time. */
static int
batch_cmp(const void *pa, const void *pb)
{
	const struct group *x = *(struct group *const *)pa;
	const struct group *y = *(struct group *const *)pb;

	if (x->window != y->window)
		return x->window < y->window ? -1 : 1;
	return 0;
}

static void
batch_add(struct window_store *ws, struct group *g)
{
	if (ws->nbatch == ws->capbatch) {
		ws->capbatch = ws->capbatch ? ws->capbatch * 2 : 64;
		ws->batch =
		    xreallocarray(ws->batch, ws->capbatch, sizeof(*ws->batch));
	}
	ws->batch[ws->nbatch++] = g;
}

void
window_decide(struct window_closing *c, size_t i, enum window_verdict v)
{
	struct window_store *ws = c->ws;
	struct group *g = ws->batch[c->first + i];

	assert(i < c->n);
	if (c->le == NULL)
		c->le = window_ledger_get(ws, c->window_ms);
	assert(!g->decided);
	assert(g->early == (v == WINDOW_FINAL));
	g->decided = true;
	window_group_settle(ws, g);
	if (v == WINDOW_FINAL)
		return;
	if (v == WINDOW_SUPPRESSED) {
		ws->metrics->v[M_alerts_suppressed]++;
		return;
	}
	c->le->emitted++;
	c->emitted++;
	ws->metrics->v[M_alerts]++;
	if (g->late)
		ws->metrics->v[M_alerts_late]++;
}

/* Hands the batch to the callback, one window at a time. */
static void
batch_emit(struct window_store *ws)
{
	struct ledger_entry *le;
	size_t i, j;

	if (ws->nbatch == 0)
		return;
	qsort(ws->batch, ws->nbatch, sizeof(*ws->batch), batch_cmp);
	for (i = 0; i < ws->nbatch; i = j) {
		int64_t window = ws->batch[i]->window;
		struct window_closing c;

		for (j = i; j < ws->nbatch && ws->batch[j]->window == window;
		     j++)
			;
		le = window_ledger_find(ws, window);
		c = (struct window_closing){
		    .window_ms = window,
		    .emitted = le != NULL ? le->emitted : 0,
		    .n = j - i,
		    .ws = ws,
		    .le = le,
		    .first = i,
		};
		ws->kind->view(ws, &c);
		ws->cb(ws->arg, &c);
	}
	ws->nbatch = 0;
	if (ws->ledger.n >= ws->ledger_prune_at)
		ledger_prune(ws);
}

/* Moves an open group to its agent's closed list; queues its alert. */
static void
close_group(struct window_store *ws, struct group *g)
{
	struct agent *a = g->agent;

	assert(!g->closed);
	list_remove(&a->open, g);
	list_push(&a->closed, g);
	ws->metrics->v[M_windows_closed]++;
	batch_add(ws, g);
	g->closed = true;
	g->held = false; /* the cap decides it now */
}

static int64_t
watermark(const struct window_store *ws, const struct agent *a)
{
	if (ws->opts.allowed_lateness_ms < 0 || a->max_ts == INT64_MIN)
		return INT64_MIN;
	return a->max_ts - ws->opts.allowed_lateness_ms;
}

static int64_t
window_end(const struct window_store *ws, int64_t window)
{
	return window + ws->spec.window_ms;
}

/*
 * The floor that keeps the too-late rule of a forgotten agent: windows
 * whose late horizon its watermark passed.
 */
static int64_t
horizon_floor(const struct window_store *ws, const struct agent *a)
{
	int64_t wm = watermark(ws, a);

	if (wm == INT64_MIN || wm < INT64_MIN + ws->opts.late_horizon_ms)
		return INT64_MIN;
	return wm - ws->opts.late_horizon_ms;
}

/* Closes and expires what the agent's watermark allows; resets due. */
static void
agent_advance(struct window_store *ws, struct agent *a)
{
	int64_t wm = watermark(ws, a), due = INT64_MAX;
	struct group *g, *next;

	if (wm < a->due)
		return;
	for (g = a->open; g != NULL; g = next) {
		next = g->next;
		int64_t end = window_end(ws, g->window);
		if (end <= wm)
			close_group(ws, g);
		else if (end < due)
			due = end;
	}
	batch_emit(ws);
	for (g = a->closed; g != NULL; g = next) {
		next = g->next;
		int64_t gone =
		    window_end(ws, g->window) + ws->opts.late_horizon_ms;
		if (gone <= wm)
			agent_drop_group(ws, g);
		else if (gone < due) {
			due = gone;
		}
	}
	a->due = due;
}

struct agent *
window_agent_find(struct window_store *ws, const char *key, size_t len)
{
	uint64_t h = window_agent_hash(key, len);

	for (struct hnode *x = ws->agents.b[h & ws->agents.mask]; x;
	     x = x->next) {
		struct agent *a = (struct agent *)x;
		if (x->hash == h && a->keylen == len &&
		    memcmp(a->key, key, len) == 0)
			return a;
	}
	return NULL;
}

struct agent *
window_agent_new(struct window_store *ws, const char *key, size_t len,
		 int64_t floor)
{
	struct agent *a = xcalloc(1, sizeof(*a) + len);

	a->h.hash = window_agent_hash(key, len);
	a->max_ts = INT64_MIN;
	a->due = INT64_MAX;
	a->floor = floor;
	a->keylen = len;
	memcpy(a->key, key, len);
	htab_insert(ws, &ws->agents, &a->h);
	a->bytes = agent_own_bytes(len);
	a->cls = cls_of(a->bytes);
	cls_insert(ws, a);
	store_charge(ws, a->bytes);
	return a;
}

/*
 * The agent of key: held, or back from its tombstone with its floor, or
 * new with the global floor.
 */
static struct agent *
agent_get(struct window_store *ws, const char *key, size_t len)
{
	struct agent *a = window_agent_find(ws, key, len);
	struct tomb *t;
	int64_t floor = ws->floor;

	if (a != NULL)
		return a;
	if ((t = window_tomb_find(ws, window_agent_hash(key, len))) != NULL) {
		floor = t->floor;
		tomb_remove(ws, t);
	}
	return window_agent_new(ws, key, len, floor);
}

/* Replaces an agent without groups by a tombstone holding floor. */
static void
agent_forget(struct window_store *ws, struct agent *a, int64_t floor)
{
	window_tomb_add(ws, a->h.hash, max64(floor, a->floor));
	agent_free(ws, a);
}

struct group *
window_group_find(struct window_store *ws, uint64_t h, int64_t window,
		  const char *key, size_t len)
{
	for (struct hnode *x = ws->groups.b[h & ws->groups.mask]; x;
	     x = x->next) {
		struct group *g = (struct group *)x;
		if (x->hash == h && g->window == window && g->keylen == len &&
		    memcmp(g->key, key, len) == 0)
			return g;
	}
	return NULL;
}

/*
 * A new, empty group of agent a, open or (for a late event) already
 * closed, in the tables and its agent's lists.
 */
struct group *
window_group_new(struct window_store *ws, uint64_t h, int64_t window,
		 struct agent *a, const char *key, size_t len, bool closed)
{
	struct group *g = xcalloc(1, sizeof(*g) + ws->size);
	int64_t due;

	g->h.hash = h;
	g->window = window;
	g->agent = a;
	g->key = xmalloc(len ? len : 1);
	memcpy(g->key, key, len);
	g->keylen = len;
	ws->kind->init(ws, g);
	htab_insert(ws, &ws->groups, &g->h);
	a->ngroups++;
	g->closed = closed;
	list_push(closed ? &a->closed : &a->open, g);
	ev_insert(a, g, evbucket(ws, g));
	g->bytes = group_bytes(ws, g);
	agent_recharge(ws, a, 0, g->bytes);
	due = window_end(ws, window) + (closed ? ws->opts.late_horizon_ms : 0);
	if (due < a->due)
		a->due = due;
	return g;
}

int
window_group_restore(struct group *g, uint64_t flags)
{
	struct agent *a = g->agent;

	assert(!g->closed && !g->decided && !g->late);
	if ((flags & ~UINT64_C(7)) || ((flags & 2) && !(flags & 1)))
		return -1;
	if (flags & 1) {
		/* The agents' `due` is reset once the load is done. */
		list_remove(&a->open, g);
		list_push(&a->closed, g);
		g->closed = true;
	}
	g->decided = (flags >> 1) & 1;
	g->late = (flags >> 2) & 1;
	return 0;
}

/* Eviction. */

static struct agent *
largest_agent(const struct window_store *ws)
{
	if (ws->clsmask == 0)
		return NULL;
	return ws->cls[63 - __builtin_clzll(ws->clsmask)];
}

static struct group *
cheapest_group(const struct agent *a)
{
	for (unsigned b = 0; b < EV_BUCKETS; b++)
		if (a->ev[b] != NULL)
			return a->ev[b];
	return NULL;
}

static void
evict_group(struct window_store *ws, struct group *g)
{
	struct agent *a = g->agent;

	ws->metrics->v[M_groups_evicted]++;
	/* Its alert is out: no event may make the group again. */
	if (g->decided || g->early)
		a->floor = max64(a->floor, window_end(ws, g->window));
	agent_drop_group(ws, g);
}

void
window_make_room(struct window_store *ws)
{
	struct budget *b = ws->budget;

	/* Evicting a group waiting in the batch would free it under it. */
	assert(ws->nbatch == 0);
	while (b->used > b->max) {
		struct agent *big = largest_agent(ws);
		if (big != NULL && big->ngroups > 0 &&
		    big->bytes > b->max / ws->agents.n) {
			evict_group(ws, cheapest_group(big));
		} else if (ws->tomblist != NULL) {
			struct tomb *t = ws->tomblist;
			ws->metrics->v[M_tombstones_evicted]++;
			/* Events older than the store still knows are too late
			 * for agents it knows nothing of. */
			ws->floor = max64(ws->floor, t->floor);
			tomb_remove(ws, t);
		} else if (big != NULL && big->ngroups > 0) {
			evict_group(ws, cheapest_group(big));
		} else if (big != NULL) {
			ws->metrics->v[M_agents_evicted]++;
			agent_forget(ws, big, horizon_floor(ws, big));
		} else {
			break; /* nothing of the store is left */
		}
	}
}

/*
 * One key combination of one row: the group key in ws->keybuf, the
 * agent's in ws->agentbuf.
 */
static void
add_combo(struct window_store *ws, int64_t window, int64_t ts, const void *row)
{
	const char *key = ws->keybuf.data;
	size_t len = ws->keybuf.len;
	uint64_t h = window_group_hash(window, key, len);
	struct group *g = window_group_find(ws, h, window, key, len);
	int64_t end = window_end(ws, window);
	struct agent *a;
	bool late;

	a = agent_get(ws, ws->agentbuf.data, ws->agentbuf.len);
	a->last_seen = ws->now_ms;
	late = end <= watermark(ws, a);
	if (g == NULL &&
	    (end <= a->floor ||
	     (late && end + ws->opts.late_horizon_ms <= watermark(ws, a)))) {
		ws->metrics->v[M_events_too_late]++;
		goto advance;
	}
	if (g == NULL) {
		if (ws->groups.n >= ws->opts.max_groups) {
			ws->metrics->v[M_groups_dropped]++;
			goto advance;
		}
		g = window_group_new(ws, h, window, a, key, len, late);
		ws->metrics->v[M_groups_created]++;
	}
	if (g->closed) {
		ws->metrics->v[M_events_late]++;
		g->late = true;
	}
	ws->kind->update(ws, g, row);
	window_group_settle(ws, g);
	if (ws->early != NULL && !g->closed && !g->early && !g->held)
		ws->kind->early(ws, g);
	if (g->closed && !g->decided) {
		batch_add(ws, g);
		batch_emit(ws);
	}
advance:
	if (ws->now_ms != 0 && ts > ws->now_ms + ws->opts.max_future_ms)
		ws->metrics->v[M_events_future]++;
	else if (ts > a->max_ts)
		a->max_ts = ts;
	agent_advance(ws, a);
	window_make_room(ws);
}

void
window_add_keys(struct window_store *ws, const struct window_keyvals *kv,
		int64_t window, int64_t ts_ms, const void *row)
{
	size_t nkeys = ws->spec.nkeys, max = ws->opts.max_key_combos;
	size_t idx[WINDOW_MAX_KEYS] = {0}, done = 0;
	bool cut = kv->cut;

	for (;;) {
		if (done == max) {
			cut = true;
			break;
		}
		ws->keybuf.len = 0;
		ws->agentbuf.len = 0;
		for (size_t i = 0; i < nkeys; i++) {
			const char *f = "";
			size_t flen = 1; /* a null field */
			if (kv->n[i] > 0) {
				f = ws->valbuf.data + kv->off[i][idx[i]];
				flen = kv->len[i][idx[i]];
			}
			buf_append(&ws->keybuf, f, flen);
			if ((int)i == ws->spec.watermark_key)
				buf_append(&ws->agentbuf, f, flen);
		}
		if (ws->spec.watermark_key < 0)
			buf_append(&ws->agentbuf, "", 1);
		add_combo(ws, window, ts_ms, row);
		done++;
		/* Next combination: an odometer over the key fields. */
		size_t i = 0;
		for (; i < nkeys; i++) {
			if (kv->n[i] > 1 && ++idx[i] < kv->n[i])
				break;
			idx[i] = 0;
		}
		if (i == nkeys)
			break;
	}
	if (cut)
		ws->metrics->v[M_key_combos_cut]++;
}

void
window_tick(struct window_store *ws, int64_t now_ms)
{
	ws->now_ms = now_ms;
	for (size_t i = 0; i <= ws->agents.mask; i++) {
		struct hnode *x, *nx;
		for (x = ws->agents.b[i]; x != NULL; x = nx) {
			struct agent *a = (struct agent *)x;
			int64_t silent = now_ms - a->last_seen, floor;
			nx = x->next;
			/* Seen before the clock was known, or restored from a
			 * checkpoint: the idle clock starts now. */
			if (a->last_seen == 0) {
				a->last_seen = now_ms;
				continue;
			}
			if (silent < ws->opts.idle_close_ms)
				continue;
			while (a->open != NULL)
				close_group(ws, a->open);
			/* Emit before any of the batch can be dropped below. */
			batch_emit(ws);
			if (silent <
			    ws->opts.idle_close_ms + ws->opts.late_horizon_ms)
				continue;
			/* Forgotten: its windows past their wall-clock horizon
			 * are too late for good. */
			floor = horizon_floor(ws, a);
			while (a->closed != NULL) {
				floor =
				    max64(floor,
					  window_end(ws, a->closed->window));
				agent_drop_group(ws, a->closed);
			}
			/* The walk already holds the next node. */
			agent_forget(ws, a, floor);
		}
	}
}

void
window_set_early(struct window_store *ws, window_early_cb *cb)
{
	assert(cb == NULL || ws->kind->early != NULL);
	ws->early = cb;
}

void
window_flush(struct window_store *ws)
{
	for (size_t i = 0; i <= ws->agents.mask; i++) {
		for (struct hnode *x = ws->agents.b[i]; x; x = x->next) {
			struct agent *a = (struct agent *)x;
			while (a->open != NULL)
				close_group(ws, a->open);
		}
	}
	batch_emit(ws);
}

void
window_clear(struct window_store *ws)
{
	for (size_t i = 0; i <= ws->groups.mask; i++) {
		struct hnode *x = ws->groups.b[i], *nx;
		for (; x != NULL; x = nx) {
			nx = x->next;
			agent_drop_group(ws, (struct group *)x);
		}
	}
	for (size_t i = 0; i <= ws->agents.mask; i++) {
		struct hnode *x = ws->agents.b[i], *nx;
		for (; x != NULL; x = nx) {
			nx = x->next;
			agent_free(ws, (struct agent *)x);
		}
	}
	while (ws->tomblist != NULL)
		tomb_remove(ws, ws->tomblist);
	for (size_t i = 0; i <= ws->ledger.mask; i++) {
		struct hnode *x = ws->ledger.b[i], *nx;
		for (; x != NULL; x = nx) {
			nx = x->next;
			htab_remove(&ws->ledger, x);
			store_release(ws, LEDGER_BYTES);
			free(x);
		}
	}
	ws->floor = INT64_MIN;
}

/* Invariants, the whole store at once (tests and fuzz targets). */

static void
check_fail(const char *what)
{
	fprintf(stderr, "window_check: invariant broken: %s\n", what);
	abort();
}

#define WCHECK(c)                       \
	do {                            \
		if (!(c))               \
			check_fail(#c); \
	} while (0)

static size_t
check_list(const struct window_store *ws, const struct agent *a,
	   const struct group *head, bool closed)
{
	size_t n = 0;

	for (const struct group *g = head; g != NULL; g = g->next, n++) {
		WCHECK(g->agent == a);
		WCHECK(g->closed == closed);
		WCHECK(!g->decided || g->closed);
		WCHECK(!(g->early && g->held));
		WCHECK(!g->early || !g->closed || g->decided);
		WCHECK(!g->held || !g->closed);
		WCHECK(g->next == NULL || g->next->prev == g);
		WCHECK(g->bucket == evbucket(ws, g));
		WCHECK(g->bytes == group_bytes(ws, g));
		WCHECK(window_group_find((struct window_store *)ws, g->h.hash,
					 g->window, g->key, g->keylen) == g);
	}
	return n;
}

void
window_check(const struct window_store *ws)
{
	size_t ngroups = 0, nagents = 0, ntombs = 0, bytes = 0, slots = 0;
	const struct htab *tabs[] = {&ws->groups, &ws->agents, &ws->tombs,
				     &ws->ledger};

	for (size_t t = 0; t < 4; t++)
		slots += (tabs[t]->mask + 1) * sizeof(struct hnode *) +
			 MALLOC_OVERHEAD;
	for (size_t i = 0; i <= ws->agents.mask; i++) {
		for (struct hnode *x = ws->agents.b[i]; x; x = x->next) {
			const struct agent *a = (const struct agent *)x;
			size_t n, inev = 0, gbytes = 0;
			n = check_list(ws, a, a->open, false);
			n += check_list(ws, a, a->closed, true);
			WCHECK(n == a->ngroups);
			for (unsigned b = 0; b < EV_BUCKETS; b++) {
				const struct group *h = a->ev[b], *g = h;
				if (h == NULL)
					continue;
				do {
					WCHECK(g->bucket == b);
					WCHECK(g->agent == a);
					WCHECK(g->enext->eprev == g);
					gbytes += g->bytes;
					inev++;
					g = g->enext;
				} while (g != h && inev <= n);
			}
			WCHECK(inev == n);
			WCHECK(a->bytes == agent_own_bytes(a->keylen) + gbytes);
			WCHECK(a->cls == cls_of(a->bytes));
			WCHECK(ws->clsmask & (UINT64_C(1) << a->cls));
			ngroups += n;
			bytes += a->bytes;
			nagents++;
		}
	}
	WCHECK(ngroups == ws->groups.n);
	WCHECK(nagents == ws->agents.n);
	for (unsigned c = 0; c < SIZE_CLASSES; c++) {
		const struct agent *h = ws->cls[c], *a = h;
		WCHECK((h != NULL) == !!(ws->clsmask & (UINT64_C(1) << c)));
		if (h == NULL)
			continue;
		do {
			WCHECK(a->cls == c && a->cnext->cprev == a);
			a = a->cnext;
		} while (a != h);
	}
	if (ws->tomblist != NULL) {
		const struct tomb *t = ws->tomblist;
		do {
			WCHECK(t->next->prev == t);
			WCHECK(window_tomb_find((struct window_store *)ws,
						t->h.hash) == t);
			ntombs++;
			t = t->next;
		} while (t != ws->tomblist && ntombs <= ws->tombs.n);
	}
	WCHECK(ntombs == ws->tombs.n);
	bytes += ntombs * TOMB_BYTES + ws->ledger.n * LEDGER_BYTES + slots;
	WCHECK(bytes == ws->bytes);
	WCHECK(ws->bytes <= ws->budget->used);
	WCHECK(ws->nbatch == 0);
}
