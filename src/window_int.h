/*
 * window_int: the window store's structures, shared by window.c (adding,
 * closing, the budget), window_save.c (checkpoints) and the kind of
 * group payload, window_esql.c (an ES|QL STATS group's aggregates).
 *
 * A group is a struct group followed, in the same allocation, by its
 * kind's payload (group_payload()); the store reaches the payload only
 * through the kind's ops (struct window_kind).
 *
 * Invariants (window_check() verifies them all; the cheap ones are
 * assert()ed where they change):
 * - a group is in exactly one of its agent's lists: `open` until it
 *   closes, then `closed` until its late horizon passes, then freed;
 *   and in exactly one of its agent's eviction buckets, the one
 *   evbucket() names;
 * - agent->due is <= the time at which the next of its groups must close
 *   or expire, so an event that leaves the watermark below `due` costs no
 *   scan;
 * - `decided` is set once a group's alert went out or was suppressed,
 *   so no group alerts twice; and no group is created for a window its
 *   agent already decided on and forgot: the agent's `floor`, a
 *   tombstone's, or the store's global floor says so;
 * - `early` (an ES|QL group whose alert went out before its window
 *   closed) and `held` (one that met its condition past the window's
 *   cap) exclude each other, and are set only while the group is open;
 *   an early group is decided by the closing that closes it;
 * - an agent outlives its groups, keeping its watermark, until it has
 *   been silent for idle_close + late_horizon of wall clock (live mode)
 *   or the budget evicts it; then a tombstone keeps its floor;
 * - ws->bytes is the sum of every agent's, group's and tombstone's
 *   charge plus the hash tables' slots, and exactly that much of the
 *   budget is the store's; agent->bytes is the agent's own charge plus
 *   its groups'.
 */
#ifndef BURSTD_WINDOW_INT_H
#define BURSTD_WINDOW_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "strset.h"
#include "util.h"
#include "window.h"

/*
 * Eviction buckets: undecided groups by distinct values (the last
 * undecided bucket holds every count from there up), then the decided.
 */
#define EV_BUCKETS 8
#define EV_DECIDED (EV_BUCKETS - 1)

/* Agents' size classes: floor(log2(bytes)). */
#define SIZE_CLASSES 64

/* What malloc adds to each allocation, for the byte estimates. */
#define MALLOC_OVERHEAD 16

/* Event times, floors and windows a checkpoint may hold: +-2^55 ms. */
#define TIME_BOUND (INT64_C(1) << 55)

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
	struct hnode h;       /* in the store's agent table; first member */
	int64_t max_ts;       /* largest event time seen, INT64_MIN if none */
	int64_t due;          /* watermark at which to scan the lists */
	int64_t last_seen;    /* wall clock of its last event; 0: not yet
				 (the idle clock starts at the next tick) */
	int64_t floor;        /* no new group for a window ending at or
				 before this; INT64_MIN: none */
	struct group *open;   /* open groups */
	struct group *closed; /* closed groups kept for late events */
	struct group *ev[EV_BUCKETS]; /* eviction buckets, circular lists,
				  least recently touched first */
	struct agent *cprev; /* in the store's size class list (circular) */
	struct agent *cnext;
	size_t bytes;   /* its own charge and its groups' */
	unsigned cls;   /* its size class */
	size_t ngroups; /* groups in both lists */
	size_t keylen;  /* bytes of key */
	char key[];     /* encoded key value */
};

struct group {
	struct hnode h;      /* in the store's group table; first member */
	int64_t window;      /* window start, epoch ms */
	struct agent *agent; /* owner of the watermark that closes it */
	struct group *prev;  /* in the agent's open or closed list */
	struct group *next;
	struct group *eprev; /* in the agent's eviction bucket (circular) */
	struct group *enext;
	size_t bytes;    /* charged for it */
	unsigned bucket; /* its eviction bucket */
	bool closed;     /* the window has closed */
	bool decided;    /* alerted or suppressed; never again */
	bool late;       /* an event came after the window closed */
	bool early;      /* alerted before its window closed */
	bool held;       /* met its condition early past the window's cap */
	uint64_t digest; /* early: the alert's digest (window_early_cb) */
	char *key;       /* encoded group key (owned) */
	size_t keylen;   /* its length */
			 /* The kind's payload follows (ws->size bytes). */
};

static inline void *
group_payload(const struct group *g)
{
	return (void *)(g + 1);
}

struct window_closing;

/*
 * A kind of group payload: what a group holds besides its place in the
 * store, and everything the store needs to know of it.  Keys are the
 * store's (window.c's layout); a kind only says which field bytes are
 * valid.
 */
struct window_kind {
	uint64_t format; /* the checkpoint's format tag */
	/* The checkpoint's second field: the shape of what groups hold,
	 * which a store must share to load the state. */
	uint64_t (*shape)(const struct window_store *ws);
	/* Makes the empty payload of a new group (the memory is zeroed). */
	void (*init)(struct window_store *ws, struct group *g);
	/* Frees what the payload owns (not the group). */
	void (*fini)(struct window_store *ws, struct group *g);
	/* Bytes charged for the payload's allocations, beyond size(). */
	size_t (*bytes)(const struct window_store *ws, const struct group *g);
	/* Eviction rank of an undecided group: lowest goes first. */
	size_t (*rank)(const struct window_store *ws, const struct group *g);
	/* Adds one row (the kind's own struct) to the payload. */
	void (*update)(struct window_store *ws, struct group *g,
		       const void *row);
	/* Whether p[0..len) is a valid value of key field k (k ==
	 * SIZE_MAX: of an agent key when no key owns the watermarks). */
	bool (*field_ok)(const struct window_store *ws, size_t k, const char *p,
			 size_t len);
	/* Fills c->rows with views of the batch's groups
	 * c->first .. c->first + c->n - 1. */
	void (*view)(struct window_store *ws, struct window_closing *c);
	/* Asks the store's early callback about an open group that
	 * changed (NULL: the kind has none). */
	void (*early)(struct window_store *ws, struct group *g);
	/* Appends a group's record after its window and key, and reads it
	 * back into a new, open, empty group (window_group_restore() sets
	 * its flags); -1 if malformed. */
	void (*save)(const struct window_store *ws, const struct group *g,
		     struct buf *out);
	int (*load)(struct window_store *ws, struct group *g, struct cursor *r);
};

extern const struct window_kind window_esql_kind;

/*
 * What is left of an agent the store forgot: the hash of its key and its
 * floor.  A returning agent takes the floor back.
 */
struct tomb {
	struct hnode h;    /* in the store's tombstones, by key hash */
	struct tomb *prev; /* in the store's tombstone list (circular), */
	struct tomb *next; /* oldest first */
	int64_t floor;     /* the agent's floor */
};

struct ledger_entry {
	struct hnode h; /* in the store's ledger; first member */
	int64_t window; /* window start */
	size_t emitted; /* alerts sent for it */
};

struct window_store {
	const struct window_kind *kind; /* what groups hold */
	struct window_spec spec;        /* keys, watermark key, window */
	struct window_opts opts;        /* limits */
	struct metrics *metrics;        /* borrowed */
	window_close_cb *cb;            /* decides on closing groups */
	window_early_cb *early;         /* ES|QL: alerts early, or NULL */
	void *arg;                      /* passed to cb */
	size_t size;           /* payload bytes per group, set by the kind */
	struct htab groups;    /* struct group by key and window */
	struct htab agents;    /* struct agent by key value */
	struct htab tombs;     /* struct tomb by agent key hash */
	struct tomb *tomblist; /* tombstones, oldest first (circular) */
	int64_t floor;         /* floor of agents without state */
	struct agent *cls[SIZE_CLASSES]; /* agents by size class */
	uint64_t clsmask;                /* bit i: cls[i] not empty */
	struct budget *budget;           /* opts.budget, or own */
	struct budget own;      /* unlimited, when opts.budget is NULL */
	size_t bytes;           /* charged to the budget */
	struct htab ledger;     /* struct ledger_entry by window */
	size_t ledger_prune_at; /* prune when the ledger reaches this */
	struct group **batch;   /* groups closing together */
	size_t nbatch, capbatch;
	struct window_group *views; /* views of the batch */
	struct esql_val *keyvals;   /* their keys, nkeys each */
	struct buf keybuf;          /* scratch: encoded group key */
	struct buf agentbuf;        /* scratch: encoded agent key */
	struct buf valbuf;          /* scratch: one row's key fields */
	int64_t now_ms;             /* wall clock, 0 until window_tick() */
};

/*
 * One row's key values, each key's distinct values encoded as key
 * fields (window_key_field()) in ws->valbuf: value j of key i is at
 * off[i][j], len[i][j] bytes; n[i] == 0 is a null key.
 */
#define WINDOW_KEY_VALUES 64

struct window_keyvals {
	size_t n[WINDOW_MAX_KEYS];
	size_t off[WINDOW_MAX_KEYS][WINDOW_KEY_VALUES];
	size_t len[WINDOW_MAX_KEYS][WINDOW_KEY_VALUES];
	bool cut; /* a key had more distinct values than it holds */
};

/* Between window.c, window_save.c and the kinds. */
/* A store of the kind, with its spec set and everything else empty. */
struct window_store *
window_store_new(const struct window_kind *kind, const struct window_spec *spec,
		 const struct window_opts *opts, struct metrics *metrics,
		 window_close_cb *cb, void *arg);
/* Adopts new limits (a reload). */
void window_set_opts(struct window_store *ws, const struct window_opts *opts);
/*
 * Appends one key field to b: a flag byte (0 null, 1 value), then for a
 * value a u32 length and its bytes (p == NULL: null).
 */
void window_key_field(struct buf *b, const char *p, size_t len);
/*
 * Adds one row to the group of each combination of kv's key values in
 * the window, then moves the watermarks to ts_ms and closes what they
 * allow; counts the cut combinations.
 */
void window_add_keys(struct window_store *ws, const struct window_keyvals *kv,
		     int64_t window, int64_t ts_ms, const void *row);
/* The group's closed/decided/late flags as saved, and back. */
uint64_t window_group_flags(const struct group *g);
int window_group_restore(struct group *g, uint64_t flags);

uint64_t window_agent_hash(const char *key, size_t len);
uint64_t window_group_hash(int64_t window, const char *key, size_t len);
struct agent *
window_agent_find(struct window_store *ws, const char *key, size_t len);
struct agent *window_agent_new(struct window_store *ws, const char *key,
			       size_t len, int64_t floor);
struct group *window_group_find(struct window_store *ws, uint64_t h,
				int64_t window, const char *key, size_t len);
struct group *
window_group_new(struct window_store *ws, uint64_t h, int64_t window,
		 struct agent *a, const char *key, size_t len, bool closed);
/* Recharges a group that changed; moves it to its bucket's tail. */
void window_group_settle(struct window_store *ws, struct group *g);
struct ledger_entry *
window_ledger_find(struct window_store *ws, int64_t window);
struct ledger_entry *window_ledger_get(struct window_store *ws, int64_t window);
struct tomb *window_tomb_find(struct window_store *ws, uint64_t hash);
void window_tomb_add(struct window_store *ws, uint64_t hash, int64_t floor);
/* Evicts until the budget is kept (or nothing of the store is left). */
void window_make_room(struct window_store *ws);
/* Empties the store. */
void window_clear(struct window_store *ws);

#endif
