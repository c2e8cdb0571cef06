/*
 * window: groups in a chained hash table, agents (watermark owners) in
 * another; each agent lists its open and its closed groups.
 *
 * Invariants:
 * - a group is in exactly one of its agent's lists: `open` until it
 *   closes, then `closed` until its late horizon passes, then freed;
 * - agent->due is <= the time at which the next of its groups must close
 *   or expire, so an event that leaves the watermark below `due` costs no
 *   scan;
 * - `decided` is set once a group's alert went out or was suppressed,
 *   so no group alerts twice;
 * - an agent outlives its groups, keeping its watermark, until it has
 *   been silent for idle_close + late_horizon of wall clock (live mode);
 *   in replay agents live as long as the store.
 */
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "timefmt.h"
#include "util.h"
#include "window.h"

struct hnode {
	struct hnode *next; /* bucket chain */
	uint64_t hash;      /* full hash of the key */
};

struct htab {
	struct hnode **b; /* buckets, 2^k */
	size_t mask;      /* buckets - 1 */
	size_t n;         /* nodes */
};

struct agent {
	struct hnode h;      /* in the store's agent table; first member */
	int64_t max_ts;      /* largest event time seen, INT64_MIN if none */
	int64_t due;         /* watermark at which to scan the lists */
	int64_t last_seen;   /* wall clock of its last event, 0 in replay */
	struct group *open;  /* open groups */
	struct group *closed; /* closed groups kept for late events */
	size_t ngroups;      /* groups in both lists */
	size_t keylen;       /* bytes of key */
	char key[];          /* encoded key value */
};

struct group {
	struct hnode h;       /* in the store's group table; first member */
	int64_t window;       /* window start, epoch ms */
	struct agent *agent;  /* owner of the watermark that closes it */
	struct group *prev;   /* in the agent's open or closed list */
	struct group *next;
	uint64_t labels;      /* bit i: label i seen */
	bool closed;          /* the window has closed */
	bool decided;         /* alerted or suppressed; never again */
	bool late;            /* an event came after the window closed */
	char *key;            /* encoded group key (owned) */
	size_t keylen;        /* its length */
	struct strset *sets[]; /* value sets, then the distinct set if apart */
};

struct ledger_entry {
	struct hnode h;  /* in the store's ledger; first member */
	int64_t window;  /* window start */
	size_t emitted;  /* alerts sent for it */
};

struct window_store {
	const struct rule *rule;     /* borrowed */
	struct window_opts opts;     /* limits */
	struct metrics *metrics;     /* borrowed */
	window_alert_cb *cb;         /* receives each alert */
	void *arg;                   /* passed to cb */
	struct htab groups;          /* struct group by key and window */
	struct htab agents;          /* struct agent by key value */
	size_t nsets;                /* value sets per group */
	size_t distinct_set;         /* index of the set counted distinct */
	struct htab ledger;          /* struct ledger_entry by window */
	size_t ledger_prune_at;      /* prune when the ledger reaches this */
	struct group **batch;        /* groups closing together */
	size_t nbatch, capbatch;
	struct buf keybuf;           /* scratch: encoded group key */
	struct buf agentbuf;         /* scratch: encoded agent key */
	int64_t now_ms;              /* wall clock, 0 until window_tick() */
};

/* Hash tables. */

static void
htab_init(struct htab *t)
{
	t->mask = 63;
	t->b = xcalloc(t->mask + 1, sizeof(*t->b));
	t->n = 0;
}

static void
htab_insert(struct htab *t, struct hnode *n)
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

static void
key_put(struct buf *b, const struct record_value *v)
{
	uint32_t len;

	if (v == NULL) {
		buf_append(b, "", 1);
		return;
	}
	len = (uint32_t)v->len;
	buf_append(b, "\1", 1);
	buf_append(b, &len, sizeof(len));
	buf_append(b, v->p, v->len);
}

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

static uint64_t
group_hash(int64_t window, const char *key, size_t len)
{
	return XXH3_64bits_withSeed(key, len, (uint64_t)window);
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

struct window_store *
window_new(const struct rule *rule, const struct window_opts *opts,
    struct metrics *metrics, window_alert_cb *cb, void *arg)
{
	struct window_store *ws = xcalloc(1, sizeof(*ws));

	ws->rule = rule;
	ws->opts = *opts;
	ws->metrics = metrics;
	ws->cb = cb;
	ws->arg = arg;
	htab_init(&ws->groups);
	htab_init(&ws->agents);
	htab_init(&ws->ledger);
	ws->ledger_prune_at = 1024;
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
	return ws;
}

static void
group_free(struct window_store *ws, struct group *g)
{
	for (size_t i = 0; i < ws->nsets; i++)
		strset_free(g->sets[i]);
	free(g->key);
	free(g);
}

static void
agent_drop_group(struct window_store *ws, struct group *g)
{
	struct agent *a = g->agent;

	list_remove(g->closed ? &a->closed : &a->open, g);
	htab_remove(&ws->groups, &g->h);
	group_free(ws, g);
	a->ngroups--;
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
	for (size_t i = 0; i <= ws->agents.mask; i++) {
		struct hnode *x = ws->agents.b[i], *nx;
		for (; x != NULL; x = nx) {
			nx = x->next;
			free(x);
		}
	}
	free(ws->groups.b);
	free(ws->agents.b);
	for (size_t i = 0; i <= ws->ledger.mask; i++) {
		struct hnode *x = ws->ledger.b[i], *nx;
		for (; x != NULL; x = nx) {
			nx = x->next;
			free(x);
		}
	}
	free(ws->ledger.b);
	free(ws->batch);
	buf_free(&ws->keybuf);
	buf_free(&ws->agentbuf);
	free(ws);
}

void
window_reconfigure(struct window_store *ws, const struct rule *rule,
    const struct window_opts *opts)
{
	ws->rule = rule;
	ws->opts = *opts;
}

size_t
window_groups(const struct window_store *ws)
{
	return ws->groups.n;
}

/* The alert cap: alerts emitted per window. */

static struct ledger_entry *
ledger_get(struct window_store *ws, int64_t window)
{
	uint64_t h = XXH3_64bits(&window, sizeof(window));
	struct ledger_entry *le;

	for (struct hnode *x = ws->ledger.b[h & ws->ledger.mask]; x;
	     x = x->next)
		if (((struct ledger_entry *)x)->window == window)
			return (struct ledger_entry *)x;
	le = xcalloc(1, sizeof(*le));
	le->h.hash = h;
	le->window = window;
	htab_insert(&ws->ledger, &le->h);
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
				free(x);
			}
		}
	}
	ws->ledger_prune_at = 2 * ws->ledger.n > 1024 ? 2 * ws->ledger.n
						       : 1024;
}

static bool
passes(const struct window_store *ws, const struct group *g)
{
	const struct rule *r = ws->rule;

	return strset_count(g->sets[ws->distinct_set]) >= r->min_distinct &&
	    alert_label_count(g->labels) >= r->min_labels;
}

static void
fill_alert(const struct window_store *ws, const struct group *g,
    struct alert *a)
{
	memset(a, 0, sizeof(*a));
	a->rule = ws->rule;
	a->window_ms = g->window;
	key_decode(g->key, ws->rule->ngroup, a->key);
	a->distinct = strset_count(g->sets[ws->distinct_set]);
	a->labels = g->labels;
	for (size_t i = 0; i < ws->rule->nvalues; i++)
		a->sets[i] = g->sets[i];
	a->late = g->late;
}

static int
key_cmp(const struct alert_key *x, const struct alert_key *y, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if ((x[i].p == NULL) != (y[i].p == NULL))
			return x[i].p == NULL ? -1 : 1;
		if (x[i].p == NULL)
			continue;
		size_t m = x[i].len < y[i].len ? x[i].len : y[i].len;
		int c = memcmp(x[i].p, y[i].p, m);
		if (c != 0)
			return c;
		if (x[i].len != y[i].len)
			return x[i].len < y[i].len ? -1 : 1;
	}
	return 0;
}

/* qsort has no context argument; the store sorting is one at a time. */
static const struct window_store *sorting;

/*
 * Window ascending, then distinct values descending (the query's SORT),
 * then distinct labels descending and the key ascending so that ties at
 * the cap are broken the same way on every run.
 */
static int
batch_cmp(const void *pa, const void *pb)
{
	const struct group *x = *(struct group *const *)pa;
	const struct group *y = *(struct group *const *)pb;
	const struct window_store *ws = sorting;
	struct alert_key kx[RULE_MAX_GROUP], ky[RULE_MAX_GROUP];
	size_t dx, dy;
	unsigned lx, ly;

	if (x->window != y->window)
		return x->window < y->window ? -1 : 1;
	dx = strset_count(x->sets[ws->distinct_set]);
	dy = strset_count(y->sets[ws->distinct_set]);
	if (dx != dy)
		return dx > dy ? -1 : 1;
	lx = alert_label_count(x->labels);
	ly = alert_label_count(y->labels);
	if (lx != ly)
		return lx > ly ? -1 : 1;
	key_decode(x->key, ws->rule->ngroup, kx);
	key_decode(y->key, ws->rule->ngroup, ky);
	return key_cmp(kx, ky, ws->rule->ngroup);
}

static void
batch_add(struct window_store *ws, struct group *g)
{
	if (ws->nbatch == ws->capbatch) {
		ws->capbatch = ws->capbatch ? ws->capbatch * 2 : 64;
		ws->batch = xreallocarray(ws->batch, ws->capbatch,
		    sizeof(*ws->batch));
	}
	ws->batch[ws->nbatch++] = g;
}

/* Emits the batch's alerts, largest first, within each window's cap. */
static void
batch_emit(struct window_store *ws)
{
	struct alert a;

	if (ws->nbatch == 0)
		return;
	sorting = ws;
	qsort(ws->batch, ws->nbatch, sizeof(*ws->batch), batch_cmp);
	sorting = NULL;
	struct ledger_entry *le = NULL;

	for (size_t i = 0; i < ws->nbatch; i++) {
		struct group *g = ws->batch[i];
		/* The batch is sorted by window: one lookup per window. */
		if (le == NULL || le->window != g->window)
			le = ledger_get(ws, g->window);
		g->decided = true;
		if (le->emitted >= ws->rule->max_alerts) {
			ws->metrics->v[M_alerts_suppressed]++;
			continue;
		}
		le->emitted++;
		fill_alert(ws, g, &a);
		ws->metrics->v[M_alerts]++;
		if (a.late)
			ws->metrics->v[M_alerts_late]++;
		ws->cb(ws->arg, &a);
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

	list_remove(&a->open, g);
	list_push(&a->closed, g);
	ws->metrics->v[M_windows_closed]++;
	if (passes(ws, g))
		batch_add(ws, g);
	g->closed = true;
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
	return window + ws->rule->window_ms;
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
		int64_t gone = window_end(ws, g->window) +
		    ws->opts.late_horizon_ms;
		if (gone <= wm)
			agent_drop_group(ws, g);
		else if (gone < due) {
			due = gone;
		}
	}
	a->due = due;
}

static struct agent *
agent_get(struct window_store *ws, const char *key, size_t len)
{
	uint64_t h = XXH3_64bits(key, len);
	struct agent *a;

	for (struct hnode *x = ws->agents.b[h & ws->agents.mask]; x;
	     x = x->next) {
		a = (struct agent *)x;
		if (x->hash == h && a->keylen == len &&
		    memcmp(a->key, key, len) == 0)
			return a;
	}
	a = xcalloc(1, sizeof(*a) + len);
	a->h.hash = h;
	a->max_ts = INT64_MIN;
	a->due = INT64_MAX;
	a->keylen = len;
	memcpy(a->key, key, len);
	htab_insert(&ws->agents, &a->h);
	return a;
}

static struct group *
group_find(struct window_store *ws, uint64_t h, int64_t window,
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
group_update(struct window_store *ws, struct group *g,
    const struct record *rec, unsigned label)
{
	const struct rule *r = ws->rule;
	const struct record_value *v;
	size_t n;

	g->labels |= UINT64_C(1) << label;
	for (size_t i = 0; i < ws->nsets; i++) {
		int slot = i < r->nvalues ? r->values[i].slot : r->distinct_slot;
		v = record_get(rec, slot, &n);
		for (size_t j = 0; j < n; j++)
			add_set_value(ws, g->sets[i], &v[j]);
	}
}

/*
 * A new, empty group of agent a, open or (for a late event) already
 * closed, in the tables and its agent's list.
 */
static struct group *
group_new(struct window_store *ws, uint64_t h, int64_t window,
    struct agent *a, const char *key, size_t len, bool closed)
{
	struct group *g = xcalloc(1, sizeof(*g) +
	    ws->nsets * sizeof(g->sets[0]));
	int64_t due;

	g->h.hash = h;
	g->window = window;
	g->agent = a;
	g->key = xmalloc(len);
	memcpy(g->key, key, len);
	g->keylen = len;
	for (size_t i = 0; i < ws->nsets; i++)
		g->sets[i] = strset_new(ws->opts.max_values);
	htab_insert(&ws->groups, &g->h);
	a->ngroups++;
	g->closed = closed;
	list_push(closed ? &a->closed : &a->open, g);
	due = window_end(ws, window) + (closed ? ws->opts.late_horizon_ms : 0);
	if (due < a->due)
		a->due = due;
	return g;
}

/* One key combination of one event. */
static void
add_combo(struct window_store *ws, const struct record *rec, int64_t window,
    const struct record_value *agent_key, unsigned label, int64_t ts)
{
	const char *key = ws->keybuf.data;
	size_t len = ws->keybuf.len;
	uint64_t h = group_hash(window, key, len);
	struct group *g = group_find(ws, h, window, key, len);
	struct agent *a;
	bool late;

	ws->agentbuf.len = 0;
	key_put(&ws->agentbuf, agent_key);
	a = agent_get(ws, ws->agentbuf.data, ws->agentbuf.len);

	a->last_seen = ws->now_ms;
	late = window_end(ws, window) <= watermark(ws, a);
	if (late && g == NULL &&
	    window_end(ws, window) + ws->opts.late_horizon_ms <=
		watermark(ws, a)) {
		ws->metrics->v[M_events_too_late]++;
		goto advance;
	}
	if (g == NULL) {
		if (ws->groups.n >= ws->opts.max_groups) {
			ws->metrics->v[M_groups_dropped]++;
			goto advance;
		}
		g = group_new(ws, h, window, a, key, len, late);
		ws->metrics->v[M_groups_created]++;
	}
	if (g->closed) {
		ws->metrics->v[M_events_late]++;
		g->late = true;
	}
	group_update(ws, g, rec, label);
	if (g->closed && !g->decided && passes(ws, g)) {
		batch_add(ws, g);
		batch_emit(ws);
	}
advance:
	if (ws->now_ms != 0 && ts > ws->now_ms + ws->opts.max_future_ms)
		ws->metrics->v[M_events_future]++;
	else if (ts > a->max_ts)
		a->max_ts = ts;
	agent_advance(ws, a);
}

void
window_add(struct window_store *ws, const struct record *rec, int64_t ts_ms,
    unsigned label)
{
	const struct rule *r = ws->rule;
	size_t max = ws->opts.max_key_combos;
	struct record_value vals[RULE_MAX_GROUP][64];
	size_t nvals[RULE_MAX_GROUP], idx[RULE_MAX_GROUP] = {0};
	int64_t window = timefmt_floor(ts_ms, r->window_ms);
	size_t done = 0;
	bool cut = false;

	for (size_t i = 0; i < r->ngroup; i++) {
		size_t nd = record_distinct(rec, r->group_slots[i], vals[i],
		    64);
		nvals[i] = nd < 64 ? nd : 64;
		cut |= nd > 64;
	}
	for (;;) {
		const struct record_value *agent_key = NULL;
		if (done == max) {
			cut = true;
			break;
		}
		ws->keybuf.len = 0;
		for (size_t i = 0; i < r->ngroup; i++) {
			const struct record_value *v =
			    nvals[i] ? &vals[i][idx[i]] : NULL;
			key_put(&ws->keybuf, v);
			if ((int)i == r->watermark_key)
				agent_key = v;
		}
		add_combo(ws, rec, window, agent_key, label, ts_ms);
		done++;
		/* Next combination: an odometer over the key fields. */
		size_t i = 0;
		for (; i < r->ngroup; i++) {
			if (nvals[i] > 1 && ++idx[i] < nvals[i])
				break;
			idx[i] = 0;
		}
		if (i == r->ngroup)
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
			int64_t silent = now_ms - a->last_seen;
			nx = x->next;
			if (a->last_seen == 0 || silent < ws->opts.idle_close_ms)
				continue;
			while (a->open != NULL)
				close_group(ws, a->open);
			/* Emit before any of the batch can be dropped below. */
			batch_emit(ws);
			if (silent < ws->opts.idle_close_ms +
				ws->opts.late_horizon_ms)
				continue;
			while (a->closed != NULL)
				agent_drop_group(ws, a->closed);
			/* Forgotten: the walk already holds the next node. */
			htab_remove(&ws->agents, &a->h);
			free(a);
		}
	}
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

/*
 * Saving and restoring (checkpoints).  The layout, in host byte order
 * since a checkpoint never leaves its machine: the agents (key, largest
 * event time, last wall-clock sighting), the alert ledger, then each
 * group (window, key, labels, flags, and per value set its kept members
 * and the hashes of the members past the cap).
 */

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

void
window_save(const struct window_store *ws, struct buf *out)
{
	buf_put_u64(out, ws->nsets);
	buf_put_u64(out, ws->agents.n);
	for (size_t i = 0; i <= ws->agents.mask; i++) {
		for (struct hnode *x = ws->agents.b[i]; x; x = x->next) {
			const struct agent *a = (const struct agent *)x;
			buf_put_bytes(out, a->key, a->keylen);
			buf_put_u64(out, (uint64_t)a->max_ts);
			buf_put_u64(out, (uint64_t)a->last_seen);
		}
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
	for (size_t i = 0; i <= ws->groups.mask; i++) {
		for (struct hnode *x = ws->groups.b[i]; x; x = x->next) {
			const struct group *g = (const struct group *)x;
			buf_put_u64(out, (uint64_t)g->window);
			buf_put_bytes(out, g->key, g->keylen);
			buf_put_u64(out, g->labels);
			buf_put_u64(out, (uint64_t)g->closed |
			    (uint64_t)g->decided << 1 |
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
	}
}

/*
 * The slice of an encoded group key that encodes field i: the same bytes
 * key_put() writes for that value, which is an agent's key.
 */
static const char *
key_field(const char *key, size_t len, size_t i, size_t *flen)
{
	const char *p = key, *end = key + len;

	for (size_t k = 0; p < end; k++) {
		const char *start = p;
		uint32_t n = 0;
		if (*p++ != 0) {
			if ((size_t)(end - p) < sizeof(n))
				return NULL;
			memcpy(&n, p, sizeof(n));
			p += sizeof(n);
			if (n > (size_t)(end - p))
				return NULL;
			p += n;
		}
		if (k == i) {
			*flen = (size_t)(p - start);
			return start;
		}
	}
	return NULL;
}

/* Empties the store (a restore that failed half-way). */
static void
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
			htab_remove(&ws->agents, x);
			free(x);
		}
	}
	for (size_t i = 0; i <= ws->ledger.mask; i++) {
		struct hnode *x = ws->ledger.b[i], *nx;
		for (; x != NULL; x = nx) {
			nx = x->next;
			htab_remove(&ws->ledger, x);
			free(x);
		}
	}
}

int
window_load(struct window_store *ws, const char *data, size_t len)
{
	struct cursor r = {data, data + len, 0};
	uint64_t n;

	if (ws->groups.n != 0 || cursor_u64(&r) != ws->nsets)
		return -1;
	n = cursor_u64(&r);
	for (uint64_t i = 0; i < n && !r.bad; i++) {
		size_t klen;
		const char *key = cursor_bytes(&r, &klen);
		struct agent *a;
		if (r.bad)
			break;
		a = agent_get(ws, key, klen);
		a->max_ts = (int64_t)cursor_u64(&r);
		a->last_seen = (int64_t)cursor_u64(&r);
	}
	n = cursor_u64(&r);
	for (uint64_t i = 0; i < n && !r.bad; i++) {
		int64_t window = (int64_t)cursor_u64(&r);
		ledger_get(ws, window)->emitted = cursor_u64(&r);
	}
	n = cursor_u64(&r);
	for (uint64_t i = 0; i < n && !r.bad; i++) {
		int64_t window = (int64_t)cursor_u64(&r);
		size_t klen, alen;
		const char *key = cursor_bytes(&r, &klen), *akey;
		uint64_t labels = cursor_u64(&r), flags = cursor_u64(&r);
		struct group *g;
		if (r.bad || (akey = key_field(key, klen,
				  (size_t)ws->rule->watermark_key,
				  &alen)) == NULL) {
			r.bad = 1;
			break;
		}
		g = group_new(ws, group_hash(window, key, klen), window,
		    agent_get(ws, akey, alen), key, klen, flags & 1);
		g->labels = labels;
		g->decided = (flags >> 1) & 1;
		g->late = (flags >> 2) & 1;
		for (size_t k = 0; k < ws->nsets && !r.bad; k++) {
			uint64_t m = cursor_u64(&r);
			for (uint64_t j = 0; j < m && !r.bad; j++) {
				size_t vlen;
				const char *v = cursor_bytes(&r, &vlen);
				strset_add(g->sets[k], v, vlen);
			}
			m = cursor_u64(&r);
			for (uint64_t j = 0; j < m && !r.bad; j++)
				strset_add_hash(g->sets[k], cursor_u64(&r));
		}
	}
	if (r.bad || r.p != r.end) {
		window_clear(ws);
		return -1;
	}
	/* Every agent scans its groups at its next event. */
	for (size_t i = 0; i <= ws->agents.mask; i++)
		for (struct hnode *x = ws->agents.b[i]; x; x = x->next)
			((struct agent *)x)->due = INT64_MIN;
	return 0;
}
