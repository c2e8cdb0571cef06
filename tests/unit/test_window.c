/*
 * window: watermark closing per agent, late and too-late events, the
 * per-window cap and its order, multi-valued and null keys, exact mode,
 * the group bound, the budget and checkpoints: first on groups shaped as
 * the default rule's, then on a second ES|QL shape.
 */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "timefmt.h"
#include "window.h"

/*
 * Groups shaped as the default rule's: STATS COUNT_DISTINCT(cmd),
 * COUNT_DISTINCT(label), VALUES(host.name) BY process.parent.entity_id,
 * agent.id, host.name, DATE_TRUNC(1 minute, @timestamp), with agent.id
 * owning the watermarks; the label is the rule's CASE.  The rule layer's
 * stand-in (close_cb): a group alerts with at least 5 distinct command
 * lines of at least 4 labels, largest first (then more labels, then the
 * keys, null first), at most `cap` per window.
 */
static const enum esql_type dkeys[] = {ESQL_T_KEYWORD, ESQL_T_KEYWORD,
				       ESQL_T_KEYWORD};
static const struct agg_spec dspecs[] = {
    {AGG_COUNT_DISTINCT, ESQL_T_KEYWORD, 0},
    {AGG_COUNT_DISTINCT, ESQL_T_KEYWORD, 1},
    {AGG_VALUES, ESQL_T_KEYWORD, 2},
};
static struct agg_def ddef = {.specs = dspecs, .n = 3, .nsets = 3};
static const struct window_spec dspec = {
    .nkeys = 3,
    .key_types = dkeys,
    .watermark_key = 1,
    .window_ms = 60000,
    .agg = &ddef,
};
static size_t cap = 100;

struct seen {
	int64_t window;
	char parent[32]; /* "(null)" for a null key */
	char host[32];
	uint64_t distinct;
	unsigned labels;
	size_t hosts; /* values in the host.name set */
	bool late;
};

static struct seen seen[64];
static size_t nseen;
static struct metrics m;

static void
text_of(const struct esql_val *v, char *out, size_t len)
{
	if (v->n == 0)
		snprintf(out, len, "(null)");
	else
		snprintf(out, len, "%.*s", (int)esql_val_items(v)[0].u.s.len,
			 esql_val_items(v)[0].u.s.p);
}

static long long
result(const struct window_group *g, size_t i, struct esql_arena *a)
{
	struct esql_val v;

	agg_result(&ddef, g->agg, i, &v, a);
	if (i == 2)
		return (long long)v.n;
	return v.n == 0 ? 0 : (long long)esql_val_items(&v)[0].u.l;
}

struct passed {
	size_t i;
	long long distinct, labels;
	char key[3][32]; /* parent, agent, host; "" for null */
};

static int
passed_cmp(const void *a, const void *b)
{
	const struct passed *x = a, *y = b;

	if (x->distinct != y->distinct)
		return x->distinct > y->distinct ? -1 : 1;
	if (x->labels != y->labels)
		return x->labels > y->labels ? -1 : 1;
	for (int k = 0; k < 3; k++) {
		int c = strcmp(x->key[k], y->key[k]);
		if (c != 0)
			return c;
	}
	return 0;
}

static void
close_cb(void *arg, struct window_closing *c)
{
	struct esql_arena a = {0};
	struct passed *p = calloc(c->n + 1, sizeof(*p));
	size_t np = 0, emitted = c->emitted;

	(void)arg;
	CHECK(p != NULL);
	CHECK(c->spec != NULL && c->spec->agg == &ddef);
	for (size_t i = 0; i < c->n; i++) {
		const struct window_group *g = &c->rows[i];
		CHECK_EQ_INT(g->window_ms, c->window_ms);
		if (result(g, 0, &a) < 5 || result(g, 1, &a) < 4)
			continue; /* undecided: a late row may lift it */
		p[np].i = i;
		p[np].distinct = result(g, 0, &a);
		p[np].labels = result(g, 1, &a);
		for (int k = 0; k < 3; k++) {
			text_of(&g->keys[k], p[np].key[k],
				sizeof(p[np].key[k]));
			if (g->keys[k].n == 0)
				p[np].key[k][0] = '\0'; /* null first */
		}
		np++;
	}
	qsort(p, np, sizeof(*p), passed_cmp);
	for (size_t k = 0; k < np; k++) {
		const struct window_group *g = &c->rows[p[k].i];
		struct seen *s = &seen[nseen < 64 ? nseen : 63];
		if (emitted >= cap) {
			window_decide(c, p[k].i, WINDOW_SUPPRESSED);
			continue;
		}
		window_decide(c, p[k].i, WINDOW_EMITTED);
		emitted++;
		s->window = g->window_ms;
		text_of(&g->keys[0], s->parent, sizeof(s->parent));
		text_of(&g->keys[2], s->host, sizeof(s->host));
		s->distinct = (uint64_t)p[k].distinct;
		s->labels = (unsigned)p[k].labels;
		s->hosts = (size_t)result(g, 2, &a);
		s->late = g->late;
		nseen++;
	}
	free(p);
	esql_arena_free(&a);
}

#define T0 INT64_C(1714564800000) /* 2024-05-01T12:00:00Z */

/* The default rule's CASE over one command line. */
static const char *
label_of(const char *cmd)
{
	static const struct {
		const char *label, *sub[3];
	} labels[] = {
	    {"grep", {"grep"}}, {"find", {"find"}},
	    {"curl", {"curl"}}, {"environment_enumeration", {"env "}},
	    {"wget", {"wget"}}, {"discovery", {"whoami", "uname", "hostname"}},
	};

	for (size_t i = 0; i < sizeof(labels) / sizeof(labels[0]); i++)
		for (size_t j = 0; j < 3 && labels[i].sub[j]; j++)
			if (strstr(cmd, labels[i].sub[j]) != NULL)
				return labels[i].label;
	return "other";
}

static void
keyword(struct esql_val *v, const char *s)
{
	esql_val_null(v, ESQL_T_KEYWORD);
	if (s == NULL)
		return;
	v->n = 1;
	v->one.u.s.p = s;
	v->one.u.s.len = strlen(s);
}

/*
 * Adds one event's row: agent, parent entity id ("" for none), host
 * JSON value (a string or an array of strings), command line, at
 * T0 + ms.
 */
static void
add(struct window_store *ws, const char *agent, const char *parent,
    const char *host, const char *cmd, int64_t ms)
{
	struct esql_scalar hosts[8];
	struct esql_val keys[3], in[3];
	char hbuf[256];
	size_t nh = 0;
	int64_t ts = T0 + ms;

	/* "h" or ["h1","h2"]: the values between quotes. */
	snprintf(hbuf, sizeof(hbuf), "%s", host);
	for (char *p = strchr(hbuf, '"'); p != NULL && nh < 8;) {
		char *e = strchr(p + 1, '"');
		if (e == NULL)
			abort();
		hosts[nh].u.s.p = p + 1;
		hosts[nh].u.s.len = (size_t)(e - p - 1);
		nh++;
		p = strchr(e + 1, '"');
	}
	keyword(&keys[0], *parent ? parent : NULL);
	keyword(&keys[1], agent);
	esql_val_null(&keys[2], ESQL_T_KEYWORD);
	keys[2].n = nh;
	if (nh == 1)
		keys[2].one = hosts[0];
	else
		keys[2].many = nh ? hosts : NULL;
	keyword(&in[0], cmd);
	keyword(&in[1], label_of(cmd));
	in[2] = keys[2];
	window_add_row(ws, ts, timefmt_floor(ts, 60000), keys, in, NULL);
}

/* Five distinct command lines of five kinds, at T0 + at + i seconds. */
static void
burst(struct window_store *ws, const char *agent, const char *parent,
      int64_t at, int n)
{
	static const char *cmds[] = {"grep a", "find b", "curl c", "env x",
				     "whoami", "ls 1",   "ls 2",   "ls 3"};

	for (int i = 0; i < n; i++)
		add(ws, agent, parent, "\"h\"", cmds[i], at + i * 1000);
}

static struct window_store *
new_store(const struct window_opts *o)
{
	memset(&m, 0, sizeof(m));
	nseen = 0;
	agg_def_fini(&ddef);
	ddef.max_values = o->max_values;
	return window_new_esql(&dspec, o, &m, close_cb, NULL);
}

static struct window_store *
store(int64_t lateness, size_t max_groups)
{
	struct window_opts o = {
	    .allowed_lateness_ms = lateness,
	    .late_horizon_ms = 5 * 60000,
	    .max_groups = max_groups,
	    .max_values = 100,
	    .max_key_combos = 64,
	    .idle_close_ms = 120000,
	    .max_future_ms = 300000,
	};

	return new_store(&o);
}

/*
 * With WINDOW_SEED_DIR set, saved states are also written there: that
 * is how the window_load fuzz corpus (tests/fuzz/corpus/window_load)
 * was made from real window_save() output.
 */
static void
seed(const char *name, const struct buf *b)
{
	const char *dir = getenv("WINDOW_SEED_DIR");
	char path[512];
	FILE *f;

	if (dir == NULL)
		return;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "wb")) == NULL ||
	    fwrite(b->data, 1, b->len, f) != b->len || fclose(f) != 0) {
		perror(path);
		abort();
	}
}

static struct window_store *
bstore(int64_t lateness, struct budget *b)
{
	struct window_opts o = {
	    .allowed_lateness_ms = lateness,
	    .late_horizon_ms = 5 * 60000,
	    .max_groups = 1000000,
	    .budget = b,
	    .max_values = 100,
	    .max_key_combos = 64,
	    .idle_close_ms = 120000,
	    .max_future_ms = 300000,
	};

	return new_store(&o);
}

/* Whether a group (agent, parent) exists in the window at T0 + at. */
static bool
held(struct window_store *ws, const char *agent, const char *parent, int64_t at)
{
	uint64_t before = m.v[M_groups_created];
	size_t n = window_groups(ws);
	bool found;

	/* A value already in the set: the group does not change if held. */
	add(ws, agent, parent, "\"h\"", "probe", at);
	found = m.v[M_groups_created] == before;
	CHECK(found || window_groups(ws) == n + 1);
	return found;
}

/*
 * The budget: every byte charged is released; past the limit the
 * store evicts the groups furthest from the threshold, oldest first,
 * from the agent over its share.
 */
static void
test_budget(void)
{
	struct budget b = {.max = SIZE_MAX};
	struct window_store *ws;
	size_t used;

	/* Charged and released exactly, checked against the structures. */
	ws = bstore(30000, &b);
	CHECK(b.used > 0); /* the empty tables' slots */
	for (int i = 0; i < 3000; i++) {
		char p[32];
		snprintf(p, sizeof(p), "F%d", i);
		add(ws, i % 3 ? "A" : "B", p, "\"h\"", "ls", i * 10);
	}
	CHECK_EQ_INT(b.used, window_bytes(ws));
	/* 3000 groups: a few hundred bytes each, not a few. */
	CHECK(b.used > 3000 * 200);
	window_check(ws);
	window_tick(ws, T0);
	window_tick(ws, T0 + 3600000); /* forgotten: tombstones */
	CHECK_EQ_INT(window_groups(ws), 0);
	CHECK_EQ_INT(window_tombstones(ws), 2);
	window_check(ws);
	window_free(ws);
	CHECK_EQ_INT(b.used, 0);

	/* Order within one agent: fewest distinct values, then oldest. */
	ws = bstore(-1, &b);
	burst(ws, "A", "three", 0, 3);
	burst(ws, "A", "one-old", 1000, 1);
	burst(ws, "A", "one-new", 2000, 1);
	burst(ws, "B", "other", 0, 1);
	used = b.used;
	b.max = used; /* nothing more fits */
	burst(ws, "B", "other2", 0, 1);
	CHECK(b.used <= b.max);
	CHECK(m.v[M_groups_evicted] >= 1);
	window_check(ws);
	/* The largest agent paid: A's one-old went first. */
	b.max = SIZE_MAX;
	CHECK(!held(ws, "A", "one-old", 1000));
	CHECK(held(ws, "A", "three", 0));
	CHECK(held(ws, "B", "other", 0));
	window_free(ws);
	CHECK_EQ_INT(b.used, 0);

	/*
	 * A flood of one agent does not take the others' share: A floods
	 * unique parents while B and A each mount an attack.
	 */
	b.max = 256 * 1024;
	ws = bstore(-1, &b);
	for (int i = 0; i < 20000; i++) {
		char p[32];
		snprintf(p, sizeof(p), "flood-%d", i);
		add(ws, "A", p, "\"h\"", "ls", (i % 50) * 1000);
		/* One attack command in a hundred flood lines. */
		if (i % 100 == 99) {
			static const char *c[] = {"grep a", "find b", "curl c",
						  "env x",  "whoami", "id",
						  "uname",  "w",      "ps",
						  "df"};
			snprintf(p, sizeof(p), "%s %d", c[i / 100 % 10], i);
			add(ws, "B", "attack", "\"h\"", p, 5000);
			add(ws, "A", "attack", "\"h\"", p, 6000);
		}
		CHECK(b.used <= b.max);
	}
	CHECK(m.v[M_groups_evicted] > 10000);
	window_check(ws);
	window_flush(ws);
	CHECK_EQ_INT(nseen, 2);
	CHECK_STR(seen[0].parent, "attack");
	CHECK_STR(seen[1].parent, "attack");
	CHECK_EQ_INT(seen[0].distinct, 200);
	CHECK_EQ_INT(seen[1].distinct, 200);
	window_free(ws);
	CHECK_EQ_INT(b.used, 0);

	/* An evicted decided group is never made again to alert twice. */
	b.max = SIZE_MAX;
	ws = bstore(30000, &b);
	window_tick(ws, T0);
	burst(ws, "A", "P", 0, 5);
	window_tick(ws, T0 + 120000); /* idle close: P alerts */
	CHECK_EQ_INT(nseen, 1);
	b.max = b.used - 1;
	add(ws, "A", "P", "\"h\"", "ls late", 5000); /* grows P: evicted */
	CHECK_EQ_INT(m.v[M_groups_evicted], 1);
	CHECK_EQ_INT(window_groups(ws), 0);
	b.max = SIZE_MAX;
	burst(ws, "A", "P", 10000, 8); /* late, within the horizon */
	window_flush(ws);
	CHECK_EQ_INT(nseen, 1);
	CHECK_EQ_INT(m.v[M_events_too_late], 8);
	window_check(ws);
	window_free(ws);

	/*
	 * Tombstones are charged too; evicting one raises the floor for
	 * agents without state: an old event of a new agent is too late,
	 * a newer one is not.
	 */
	b.max = SIZE_MAX;
	ws = bstore(30000, &b);
	window_tick(ws, T0);
	burst(ws, "A", "P", 0, 5);
	window_tick(ws, T0 + 3600000);
	CHECK_EQ_INT(nseen, 1);
	CHECK_EQ_INT(window_tombstones(ws), 1);
	add(ws, "L", "x", "\"h\"", "ls", 3600000);
	b.max = b.used - 1;
	add(ws, "L", "x", "\"h\"", "ls", 3600000); /* nothing new: the
							tombstone goes */
	CHECK_EQ_INT(m.v[M_tombstones_evicted], 1);
	CHECK_EQ_INT(m.v[M_groups_evicted], 0);
	CHECK_EQ_INT(window_tombstones(ws), 0);
	b.max = SIZE_MAX;
	add(ws, "Z", "P", "\"h\"", "ls", 30000); /* new agent, old window */
	CHECK_EQ_INT(m.v[M_events_too_late], 1);
	burst(ws, "A", "P", 0, 5); /* A is unknown now: the floor holds */
	CHECK_EQ_INT(m.v[M_events_too_late], 6);
	add(ws, "Z", "P", "\"h\"", "ls", 60000); /* the next window */
	CHECK_EQ_INT(window_groups(ws), 2);
	CHECK_EQ_INT(nseen, 1);
	window_check(ws);
	window_free(ws);
	CHECK_EQ_INT(b.used, 0);
}

/* Tombstones and the floors survive a checkpoint. */
static void
test_save_tombstones(void)
{
	struct window_store *a, *b;
	struct buf data = {0};

	a = store(30000, 1000);
	window_tick(a, T0);
	burst(a, "A", "P", 0, 5);
	burst(a, "B", "Q", 0, 3);
	window_tick(a, T0 + 3600000); /* both forgotten */
	CHECK_EQ_INT(nseen, 1);
	CHECK_EQ_INT(window_tombstones(a), 2);
	window_save(a, &data);
	seed("tombstones.bin", &data);
	window_free(a);

	b = store(30000, 1000);
	CHECK_EQ_INT(window_load(b, data.data, data.len), 0);
	CHECK_EQ_INT(window_tombstones(b), 2);
	window_check(b);
	burst(b, "A", "P", 0, 5);
	window_flush(b);
	CHECK_EQ_INT(nseen, 0);
	CHECK_EQ_INT(m.v[M_events_too_late], 5);
	window_free(b);
	buf_free(&data);
}

/*
 * A restored agent's idle clock starts at the first tick after the
 * restore: a downtime longer than idle_close does not close its open
 * windows with what they held at the checkpoint.
 */
static void
test_restored_idle(void)
{
	struct window_store *a, *b;
	struct buf data = {0};

	a = store(30000, 1000);
	window_tick(a, T0 + 1000);
	burst(a, "A", "P", 0, 3);
	window_save(a, &data);
	seed("open.bin", &data);
	window_free(a);

	b = store(30000, 1000);
	CHECK_EQ_INT(window_load(b, data.data, data.len), 0);
	window_tick(b, T0 + 10 * 3600000); /* ten hours down */
	CHECK_EQ_INT(m.v[M_windows_closed], 0);
	add(b, "A", "P", "\"h\"", "whoami", 4000);
	add(b, "A", "P", "\"h\"", "env x", 5000);
	CHECK_EQ_INT(m.v[M_events_late], 0);
	window_tick(b, T0 + 10 * 3600000 + 119999);
	CHECK_EQ_INT(nseen, 0);
	window_tick(b, T0 + 10 * 3600000 + 120000);
	CHECK_EQ_INT(nseen, 1);
	CHECK_EQ_INT(seen[0].distinct, 5);
	CHECK(!seen[0].late);
	window_free(b);
	buf_free(&data);
}

/*
 * Live mode: the per-window cap goes to the groups in the order their
 * agents close them, not to the largest of the window: each closing
 * sorts only its own groups.
 */
static void
test_cap_live(void)
{
	struct window_store *ws;

	cap = 1;
	ws = store(30000, 1000);
	burst(ws, "A", "small", 0, 5);
	burst(ws, "B", "large", 0, 8);
	add(ws, "A", "x", "\"h\"", "ls", 95000); /* A closes 12:00 */
	CHECK_EQ_INT(nseen, 1);
	add(ws, "B", "x", "\"h\"", "ls", 95000); /* then B */
	CHECK_EQ_INT(nseen, 1);
	CHECK_STR(seen[0].parent, "small");
	CHECK_EQ_INT(m.v[M_alerts_suppressed], 1);
	window_free(ws);
	cap = 100;
}

/*
 * The ES|QL kind: STATS COUNT(*), COUNT_DISTINCT(cmd), VALUES(cmd),
 * SUM(bytes) WHERE ok, MIN(@timestamp) BY parent, agent.id, host.ip,
 * DATE_TRUNC(1 minute, @timestamp), with agent.id owning the
 * watermarks.  The rule layer's stand-in emits a group with at least
 * five distinct command lines, at most max_rows per window.
 */
static const enum esql_type ekeys[] = {ESQL_T_KEYWORD, ESQL_T_KEYWORD,
				       ESQL_T_IP};
static const struct agg_spec especs[] = {
    {AGG_COUNT_ALL, ESQL_T_NULL, -1}, {AGG_COUNT_DISTINCT, ESQL_T_KEYWORD, 0},
    {AGG_VALUES, ESQL_T_KEYWORD, 0},  {AGG_SUM, ESQL_T_LONG, -1},
    {AGG_MIN, ESQL_T_DATETIME, -1},
};
static struct agg_def edef = {.specs = especs,
			      .n = 5,
			      .nsets = 1,
			      .max_values = 100};

struct erow {
	int64_t window;
	char parent[32]; /* "(null)" for a null key */
	char agent[32];
	char host[ESQL_IP_MAX];
	long long rows, distinct, values, sum, min;
	bool late;
};

static struct erow erows[64];
static size_t nerows;
static size_t max_rows = 100;

static void
key_text(const struct esql_val *v, char *out, size_t len)
{
	if (v->n == 0) {
		snprintf(out, len, "(null)");
	} else if (v->type == ESQL_T_IP) {
		char ip[ESQL_IP_MAX];
		esql_ip_format(v->one.u.ip, ip);
		snprintf(out, len, "%s", ip);
	} else {
		snprintf(out, len, "%.*s", (int)v->one.u.s.len, v->one.u.s.p);
	}
}

static long long
eresult(const struct window_group *g, size_t i, struct esql_arena *a)
{
	struct esql_val v;

	agg_result(&edef, g->agg, i, &v, a);
	if (i == 2)
		return (long long)v.n;
	return v.n == 0 ? LLONG_MIN : (long long)esql_val_items(&v)[0].u.l;
}

static size_t efinals; /* early groups closed */

static void
eclose_cb(void *arg, struct window_closing *c)
{
	struct esql_arena a = {0};

	(void)arg;
	CHECK(c->spec != NULL && c->spec->agg == &edef);
	for (size_t i = 0; i < c->n; i++) {
		const struct window_group *g = &c->rows[i];
		struct erow *r = &erows[nerows < 64 ? nerows : 63];

		CHECK_EQ_INT(g->window_ms, c->window_ms);
		if (g->early) {
			/* Alerted early: the digest it gave at five comes
			 * back (there are eight lines now). */
			CHECK_EQ_INT(g->digest, 1005);
			CHECK_EQ_INT(eresult(g, 1, &a), 8);
			window_decide(c, i, WINDOW_FINAL);
			efinals++;
			continue;
		}
		CHECK_EQ_INT(g->keys[0].type, ESQL_T_KEYWORD);
		CHECK_EQ_INT(g->keys[2].type, ESQL_T_IP);
		if (eresult(g, 1, &a) < 5)
			continue; /* undecided: a late row may lift it */
		if (c->emitted >= max_rows) {
			window_decide(c, i, WINDOW_SUPPRESSED);
			continue;
		}
		window_decide(c, i, WINDOW_EMITTED);
		r->window = g->window_ms;
		key_text(&g->keys[0], r->parent, sizeof(r->parent));
		key_text(&g->keys[1], r->agent, sizeof(r->agent));
		key_text(&g->keys[2], r->host, sizeof(r->host));
		r->rows = eresult(g, 0, &a);
		r->distinct = eresult(g, 1, &a);
		r->values = eresult(g, 2, &a);
		r->sum = eresult(g, 3, &a);
		r->min = eresult(g, 4, &a);
		r->late = g->late;
		nerows++;
	}
	esql_arena_free(&a);
}

static void
nop_cb(void *arg, struct window_closing *c)
{
	(void)arg;
	(void)c;
}

static struct window_spec espec = {
    .nkeys = 3,
    .key_types = ekeys,
    .watermark_key = 1,
    .window_ms = 60000,
    .agg = &edef,
};

static struct window_store *
estore(int64_t lateness, struct budget *b)
{
	struct window_opts o = {
	    .allowed_lateness_ms = lateness,
	    .late_horizon_ms = 5 * 60000,
	    .max_groups = 1000,
	    .budget = b,
	    .max_values = 1, /* the seed's: the ES|QL kind has edef's */
	    .max_key_combos = 64,
	    .idle_close_ms = 120000,
	    .max_future_ms = 300000,
	};

	memset(&m, 0, sizeof(m));
	nerows = 0;
	return window_new_esql(&espec, &o, &m, eclose_cb, NULL);
}

/*
 * One row: agent, parent ("" null), host addresses (comma-separated,
 * "" null), command line, bytes and whether SUM's WHERE holds, at
 * T0 + ms.  Checks the store's invariants after it.
 */
static void
erow_add(struct window_store *ws, const char *agent, const char *parent,
	 const char *hosts, const char *cmd, int64_t bytes, bool ok, int64_t ms)
{
	struct esql_scalar ips[8];
	struct esql_val keys[3], in[5];
	bool on[5] = {true, true, true, ok, true};
	size_t nip = 0;
	int64_t ts = T0 + ms;

	esql_val_null(&keys[0], ESQL_T_KEYWORD);
	if (*parent) {
		keys[0].n = 1;
		keys[0].one.u.s.p = parent;
		keys[0].one.u.s.len = strlen(parent);
	}
	esql_val_null(&keys[1], ESQL_T_KEYWORD);
	keys[1].n = 1;
	keys[1].one.u.s.p = agent;
	keys[1].one.u.s.len = strlen(agent);
	for (const char *p = hosts; *p && nip < 8;) {
		size_t n = strcspn(p, ",");
		if (esql_ip_parse(p, n, ips[nip].u.ip) != 0)
			abort();
		nip++;
		p += n + (p[n] == ',');
	}
	esql_val_null(&keys[2], ESQL_T_IP);
	keys[2].n = nip;
	keys[2].many = nip ? ips : NULL;
	esql_val_null(&in[0], ESQL_T_NULL);
	esql_val_null(&in[1], ESQL_T_KEYWORD);
	in[1].n = 1;
	in[1].one.u.s.p = cmd;
	in[1].one.u.s.len = strlen(cmd);
	in[2] = in[1];
	esql_val_null(&in[3], ESQL_T_LONG);
	in[3].n = 1;
	in[3].one.u.l = bytes;
	esql_val_null(&in[4], ESQL_T_DATETIME);
	in[4].n = 1;
	in[4].one.u.l = ts;
	window_add_row(ws, ts, timefmt_floor(ts, 60000), keys, in, on);
	window_check(ws);
}

/* Five distinct command lines, one a second from T0 + at, 10 bytes each. */
static void
eburst(struct window_store *ws, const char *agent, const char *parent,
       int64_t at, int n)
{
	static const char *cmds[] = {"grep a", "find b", "curl c", "env x",
				     "whoami", "ls 1",   "ls 2",   "ls 3"};

	for (int i = 0; i < n; i++)
		erow_add(ws, agent, parent, "10.0.0.1", cmds[i], 10, true,
			 at + i * 1000);
}

/* Whether the ES|QL group (agent, parent, host 10.0.0.1) is held at at. */
static bool
eheld(struct window_store *ws, const char *agent, const char *parent,
      int64_t at)
{
	uint64_t before = m.v[M_groups_created];
	size_t n = window_groups(ws);
	bool found;

	/* A command already counted: a held group's rank does not move. */
	erow_add(ws, agent, parent, "10.0.0.1", "grep a", 0, true, at);
	found = m.v[M_groups_created] == before;
	CHECK(found || window_groups(ws) == n + 1);
	return found;
}

/* The early callback: alerts at five distinct lines, while the window
 * has emitted fewer than ecap; its digest is 1000 + the count. */
static size_t ecalls, ecap;

static enum window_early
eearly_cb(void *arg, const struct window_group *g, size_t emitted,
	  uint64_t *digest)
{
	struct esql_arena a = {0};
	long long distinct = eresult(g, 1, &a);

	(void)arg;
	esql_arena_free(&a);
	ecalls++;
	CHECK(!g->early && !g->late);
	if (distinct < 5)
		return WINDOW_EARLY_NOT_YET;
	if (emitted >= ecap)
		return WINDOW_EARLY_HELD;
	*digest = 1000 + (uint64_t)distinct;
	return WINDOW_EARLY_EMITTED;
}

/*
 * Early alerting in the store: asked after each row of an open group,
 * never again once it alerted or was held; counted in the window's
 * ledger, so that the cap at close sees it; the marks survive a
 * checkpoint; the close hands the early group back with its digest.
 */
static void
test_esql_early(void)
{
	struct window_store *ws, *ws2;
	struct buf state = {0};

	ws = estore(30000, NULL);
	window_set_early(ws, eearly_cb);
	ecalls = efinals = 0;
	ecap = 1;
	max_rows = 1;
	eburst(ws, "A", "P1", 0, 4);
	CHECK_EQ_INT(ecalls, 4);
	CHECK_EQ_INT(m.v[M_alerts_early], 0);
	eburst(ws, "A", "P1", 0, 5); /* the fifth distinct line */
	CHECK_EQ_INT(ecalls, 9);
	CHECK_EQ_INT(m.v[M_alerts_early], 1);
	CHECK_EQ_INT(m.v[M_alerts], 1);
	eburst(ws, "A", "P1", 0, 7);
	CHECK_EQ_INT(ecalls, 9); /* alerted: not asked again */
	/* Another group crosses: the window's one alert is out, held. */
	eburst(ws, "A", "P2", 0, 6);
	CHECK_EQ_INT(ecalls, 14);
	CHECK_EQ_INT(m.v[M_alerts_early_held], 1);
	CHECK_EQ_INT(m.v[M_alerts_early], 1);
	window_check(ws);
	/* Through a checkpoint, both marks kept. */
	window_save(ws, &state);
	ws2 = estore(30000, NULL);
	window_set_early(ws2, eearly_cb);
	CHECK_EQ_INT(window_load(ws2, state.data, state.len), 0);
	window_check(ws2);
	eburst(ws2, "A", "P1", 0, 8);
	eburst(ws2, "A", "P2", 0, 7);
	CHECK_EQ_INT(ecalls, 14);
	state.len = 0;
	window_save(ws2, &state);
	seed("esql-early.bin", &state);
	/* The close: P1 back as early (digest of 5), P2 capped. */
	erow_add(ws2, "A", "P9", "10.0.0.1", "x", 0, true, 91000);
	CHECK_EQ_INT(efinals, 1);
	CHECK_EQ_INT(nerows, 0);
	CHECK_EQ_INT(m.v[M_alerts_suppressed], 1);
	CHECK_EQ_INT(m.v[M_alerts], 0); /* the early one was counted before */
	window_check(ws2);
	window_free(ws2);
	window_free(ws);
	buf_free(&state);
	max_rows = 100;
}

/* Groups, their keys and aggregates, and closing per agent. */
static void
test_esql_groups(void)
{
	struct window_store *ws;

	/* Watermark per agent: A's window closes at A's event of 12:01:30,
	 * not at B's, and not a millisecond before. */
	ws = estore(30000, NULL);
	eburst(ws, "A", "P", 10000, 5);
	erow_add(ws, "A", "P", "10.0.0.1", "grep a", 5, false, 15000);
	erow_add(ws, "A", "Q", "10.0.0.1", "ls", 0, true, 89999);
	CHECK_EQ_INT(nerows, 0);
	erow_add(ws, "B", "Q", "10.0.0.1", "ls", 0, true, 3600000);
	CHECK_EQ_INT(nerows, 0);
	erow_add(ws, "A", "Q", "10.0.0.1", "ls", 0, true, 90000);
	CHECK_EQ_INT(nerows, 1);
	CHECK_EQ_INT(erows[0].window, T0);
	CHECK_STR(erows[0].parent, "P");
	CHECK_STR(erows[0].agent, "A");
	CHECK_STR(erows[0].host, "10.0.0.1");
	CHECK_EQ_INT(erows[0].rows, 6);     /* COUNT(*): every row */
	CHECK_EQ_INT(erows[0].distinct, 5); /* "grep a" twice */
	CHECK_EQ_INT(erows[0].values, 5);
	CHECK_EQ_INT(erows[0].sum, 50); /* the row of 5 bytes was not ok */
	CHECK_EQ_INT(erows[0].min, T0 + 10000);
	CHECK(!erows[0].late);
	CHECK_EQ_INT(m.v[M_alerts], 1);
	CHECK_EQ_INT(m.v[M_windows_closed], 1); /* Q is in the next window */

	/* A late row updates a closed group: R (4 commands) is lifted
	 * over by its fifth, late, and goes out marked late; P, decided,
	 * never again. */
	erow_add(ws, "A", "P", "10.0.0.1", "new", 1, true, 59999);
	eburst(ws, "A", "R", 20000, 4);
	CHECK_EQ_INT(nerows, 1);
	erow_add(ws, "A", "R", "10.0.0.1", "ls -l", 0, true, 0);
	CHECK_EQ_INT(nerows, 2);
	CHECK_STR(erows[1].parent, "R");
	CHECK(erows[1].late);
	CHECK_EQ_INT(erows[1].min, T0);
	CHECK_EQ_INT(m.v[M_alerts_late], 1);
	CHECK_EQ_INT(m.v[M_events_late], 6);

	/* Past the late horizon: too late, no group. */
	erow_add(ws, "A", "S", "10.0.0.1", "ls", 0, true, 600000);
	erow_add(ws, "A", "S", "10.0.0.1", "ls", 0, true, 60000);
	CHECK_EQ_INT(m.v[M_events_too_late], 1);
	window_flush(ws);
	window_check(ws);
	window_free(ws);

	/* Multi-valued keys fan out to each distinct value; null is a key
	 * of its own; one row, many groups, each counts it once. */
	ws = estore(-1, NULL);
	for (int i = 0; i < 5; i++) {
		static const char *c[] = {"grep", "find", "curl", "whoami",
					  "x"};
		erow_add(ws, "A", "", "10.0.0.2,::1,10.0.0.2", c[i], 1, true,
			 i * 1000);
	}
	erow_add(ws, "A", "", "", "grep", 1, true, 0);
	CHECK_EQ_INT(window_groups(ws), 3);
	CHECK_EQ_INT(m.v[M_key_combos_cut], 0);
	window_flush(ws);
	CHECK_EQ_INT(nerows, 2);
	for (size_t i = 0; i < nerows && i < 2; i++) {
		CHECK_STR(erows[i].parent, "(null)");
		CHECK_EQ_INT(erows[i].rows, 5);
		CHECK_EQ_INT(erows[i].sum, 5);
	}
	CHECK(strcmp(erows[0].host, "10.0.0.2") == 0 ||
	      strcmp(erows[1].host, "10.0.0.2") == 0);
	CHECK(strcmp(erows[0].host, "::1") == 0 ||
	      strcmp(erows[1].host, "::1") == 0);
	window_free(ws);

	/* Key combinations past max_key_combos are cut and counted. */
	{
		struct window_opts o = {
		    .allowed_lateness_ms = -1,
		    .max_groups = 1000,
		    .max_values = 100,
		    .max_key_combos = 2,
		    .idle_close_ms = 1,
		    .max_future_ms = 1,
		};
		memset(&m, 0, sizeof(m));
		ws = window_new_esql(&espec, &o, &m, eclose_cb, NULL);
		erow_add(ws, "A", "P", "10.0.0.1,10.0.0.2,10.0.0.3", "ls", 1,
			 true, 0);
		CHECK_EQ_INT(window_groups(ws), 2);
		CHECK_EQ_INT(m.v[M_key_combos_cut], 1);
		window_free(ws);
	}

	/* The cap: the window's second passing group is suppressed. */
	max_rows = 1;
	ws = estore(-1, NULL);
	eburst(ws, "A", "P", 0, 5);
	eburst(ws, "A", "Q", 0, 6);
	window_flush(ws);
	CHECK_EQ_INT(nerows, 1);
	CHECK_EQ_INT(m.v[M_alerts], 1);
	CHECK_EQ_INT(m.v[M_alerts_suppressed], 1);
	window_free(ws);
	max_rows = 100;

	/* Idle close on the wall clock, then forgetting: a tombstone keeps
	 * the window decided. */
	ws = estore(30000, NULL);
	window_tick(ws, T0 + 10000);
	eburst(ws, "A", "P", 0, 5);
	window_tick(ws, T0 + 10000 + 119999);
	CHECK_EQ_INT(nerows, 0);
	window_tick(ws, T0 + 10000 + 120000);
	CHECK_EQ_INT(nerows, 1);
	CHECK(!erows[0].late);
	window_check(ws);
	window_tick(ws, T0 + 10000 + 120000 + 120000 + 300000);
	CHECK_EQ_INT(window_groups(ws), 0);
	CHECK_EQ_INT(window_tombstones(ws), 1);
	{
		struct buf data = {0};

		window_save(ws, &data);
		seed("esql-tombstones.bin", &data);
		buf_free(&data);
	}
	eburst(ws, "A", "P", 0, 5);
	CHECK_EQ_INT(m.v[M_events_too_late], 5);
	eburst(ws, "A", "P", 60000, 5); /* the next window is welcome */
	CHECK_EQ_INT(window_groups(ws), 1);
	CHECK_EQ_INT(window_tombstones(ws), 0);
	window_flush(ws);
	CHECK_EQ_INT(nerows, 2);
	window_check(ws);
	window_free(ws);

	/* A future event is kept but does not move the watermark. */
	ws = estore(30000, NULL);
	window_tick(ws, T0);
	eburst(ws, "B", "P", 0, 5);
	erow_add(ws, "B", "F", "10.0.0.1", "ls", 0, true, 3600000);
	CHECK_EQ_INT(m.v[M_events_future], 1);
	CHECK_EQ_INT(nerows, 0);
	erow_add(ws, "B", "Q", "10.0.0.1", "ls", 0, true, 90000);
	CHECK_EQ_INT(nerows, 1);
	window_free(ws);
}

/*
 * The budget: charged and released exactly; past it, the agent over its
 * share loses its group with the fewest distinct values first, oldest
 * first; without sets, the one with the fewest rows.
 */
static void
test_esql_budget(void)
{
	struct budget b = {.max = SIZE_MAX};
	struct window_store *ws;

	ws = estore(30000, &b);
	for (int i = 0; i < 1000; i++) {
		char p[32];
		snprintf(p, sizeof(p), "F%d", i);
		erow_add(ws, i % 3 ? "A" : "B", p, "10.0.0.1", "ls", 1, true,
			 i * 10);
	}
	CHECK_EQ_INT(b.used, window_bytes(ws));
	CHECK(b.used > 1000 * 200);
	window_free(ws);
	CHECK_EQ_INT(b.used, 0);

	ws = estore(-1, &b);
	eburst(ws, "A", "three", 0, 3);
	eburst(ws, "A", "one-old", 1000, 1);
	eburst(ws, "A", "one-new", 2000, 1);
	eburst(ws, "B", "other", 0, 1);
	b.max = b.used; /* nothing more fits */
	eburst(ws, "B", "other2", 0, 1);
	CHECK(b.used <= b.max);
	CHECK_EQ_INT(m.v[M_groups_evicted], 1);
	b.max = SIZE_MAX;
	CHECK(!eheld(ws, "A", "one-old", 1000));
	CHECK(eheld(ws, "A", "one-new", 2000));
	CHECK(eheld(ws, "A", "three", 0));
	CHECK(eheld(ws, "B", "other", 0));
	window_free(ws);
	CHECK_EQ_INT(b.used, 0);

	/* No set: rows rank the groups. */
	{
		static const struct agg_spec count[] = {
		    {AGG_COUNT_ALL, ESQL_T_NULL, -1},
		};
		struct agg_def d = {.specs = count, .n = 1, .max_values = 1};
		struct window_spec s = espec;
		struct window_opts o = {
		    .allowed_lateness_ms = -1,
		    .max_groups = 1000,
		    .budget = &b,
		    .max_key_combos = 64,
		};
		struct esql_val keys[3], in[1];
		const char *names[] = {"many", "few1", "oth1"};
		size_t n[] = {3, 1, 1}, used;

		s.agg = &d;
		memset(&m, 0, sizeof(m));
		ws = window_new_esql(&s, &o, &m, nop_cb, NULL);
		esql_val_null(&in[0], ESQL_T_NULL);
		esql_val_null(&keys[2], ESQL_T_IP);
		for (size_t g = 0; g < 4; g++) {
			esql_val_null(&keys[0], ESQL_T_KEYWORD);
			esql_val_null(&keys[1], ESQL_T_KEYWORD);
			keys[0].n = keys[1].n = 1;
			/* Keys of one length: the new group costs what
			 * the evicted one frees. */
			keys[0].one.u.s.p = g < 3 ? names[g] : "new1";
			keys[0].one.u.s.len = strlen(keys[0].one.u.s.p);
			keys[1].one.u.s.p = g < 2 ? "A" : "B";
			keys[1].one.u.s.len = 1;
			if (g == 3) {
				used = b.used;
				b.max = used; /* A is the larger: it pays */
			}
			for (size_t r = 0; r < (g < 3 ? n[g] : 1); r++)
				window_add_row(ws, T0, T0, keys, in, NULL);
			window_check(ws);
		}
		CHECK_EQ_INT(m.v[M_groups_evicted], 1);
		CHECK_EQ_INT(window_groups(ws), 3);
		/* "few1" went: adding to it makes a group again. */
		keys[0].one.u.s.p = "few1";
		keys[0].one.u.s.len = 4;
		keys[1].one.u.s.p = "A";
		b.max = SIZE_MAX;
		window_add_row(ws, T0, T0, keys, in, NULL);
		CHECK_EQ_INT(m.v[M_groups_created], 5);
		keys[0].one.u.s.p = "many";
		keys[0].one.u.s.len = 4;
		window_add_row(ws, T0, T0, keys, in, NULL);
		CHECK_EQ_INT(m.v[M_groups_created], 5);
		window_check(ws);
		window_free(ws);
		CHECK_EQ_INT(b.used, 0);
	}
}

/*
 * STATS COUNT(*) BY DATE_TRUNC(1 minute, @timestamp) alone: no key but
 * the window, and no watermark key, so one watermark for every row.
 */
static size_t nbucket_rows;
static long long bucket_count;

static void
bucket_cb(void *arg, struct window_closing *c)
{
	struct esql_val v;
	struct esql_arena a = {0};

	(void)arg;
	CHECK_EQ_INT(c->n, 1);
	for (size_t i = 0; i < c->n; i++) {
		CHECK_EQ_INT(c->rows[i].keylen, 0);
		agg_result(c->spec->agg, c->rows[i].agg, 0, &v, &a);
		bucket_count = (long long)v.one.u.l;
		window_decide(c, i, WINDOW_EMITTED);
		nbucket_rows++;
	}
	esql_arena_free(&a);
}

static void
test_esql_no_keys(void)
{
	static const struct agg_spec count[] = {
	    {AGG_COUNT_ALL, ESQL_T_NULL, -1},
	};
	struct agg_def d = {.specs = count, .n = 1, .max_values = 1};
	struct window_spec s = {
	    .nkeys = 0,
	    .watermark_key = -1,
	    .window_ms = 60000,
	    .agg = &d,
	};
	struct window_opts o = {
	    .allowed_lateness_ms = 30000,
	    .late_horizon_ms = 60000,
	    .max_groups = 10,
	    .max_key_combos = 1,
	    .idle_close_ms = 120000,
	    .max_future_ms = 300000,
	};
	struct window_store *a, *b;
	struct esql_val in;
	struct buf data = {0};

	esql_val_null(&in, ESQL_T_NULL);
	memset(&m, 0, sizeof(m));
	a = window_new_esql(&s, &o, &m, bucket_cb, NULL);
	window_add_row(a, T0 + 1000, T0, NULL, &in, NULL);
	window_add_row(a, T0 + 2000, T0, NULL, &in, NULL);
	window_add_row(a, T0 + 60000, T0 + 60000, NULL, &in, NULL);
	window_check(a);
	CHECK_EQ_INT(window_groups(a), 2);
	window_save(a, &data);
	b = window_new_esql(&s, &o, &m, bucket_cb, NULL);
	CHECK_EQ_INT(window_load(b, data.data, data.len), 0);
	window_check(b);
	/* The one watermark reaches 12:01 at a row of 12:01:30. */
	for (int pass = 0; pass < 2; pass++) {
		struct window_store *w = pass ? b : a;
		nbucket_rows = 0;
		window_add_row(w, T0 + 89999, T0 + 60000, NULL, &in, NULL);
		CHECK_EQ_INT(nbucket_rows, 0);
		window_add_row(w, T0 + 90000, T0 + 60000, NULL, &in, NULL);
		CHECK_EQ_INT(nbucket_rows, 1);
		CHECK_EQ_INT(bucket_count, 2);
		window_check(w);
	}
	window_free(a);
	window_free(b);
	buf_free(&data);
}

/* Checkpoints of the ES|QL kind: the copy behaves as the original. */
static void
test_esql_save(void)
{
	struct window_store *a, *b;
	struct buf data = {0}, again = {0};
	struct erow first[8];
	size_t nfirst = 0;

	a = estore(30000, NULL);
	eburst(a, "A", "P", 0, 5);     /* alerts below */
	eburst(a, "A", "R", 0, 4);     /* closes under threshold */
	eburst(a, "A", "S", 90000, 8); /* stays open */
	eburst(a, "B", "T", 0, 3);     /* another agent, open */
	erow_add(a, "B", "", "", "x", 7, false, 1000); /* null keys */
	CHECK_EQ_INT(nerows, 1);
	window_save(a, &data);
	seed("esql-groups.bin", &data);

	/* Truncated or trailing data is refused, leaving nothing. */
	for (size_t n = 0; n < data.len; n++) {
		b = estore(30000, NULL);
		CHECK_EQ_INT(window_load(b, data.data, n), -1);
		CHECK_EQ_INT(window_groups(b), 0);
		window_check(b);
		window_free(b);
	}
	buf_append(&data, "", 1);
	b = estore(30000, NULL);
	CHECK_EQ_INT(window_load(b, data.data, data.len), -1);
	window_free(b);
	data.len--;

	b = estore(30000, NULL);
	CHECK_EQ_INT(window_load(b, data.data, data.len), 0);
	window_check(b);
	CHECK_EQ_INT(window_groups(b), window_groups(a));
	CHECK_EQ_INT(window_bytes(b), window_bytes(a));
	window_save(b, &again);
	CHECK_EQ_INT(again.len, data.len);
	for (int pass = 0; pass < 2; pass++) {
		struct window_store *w = pass ? b : a;
		nerows = 0;
		erow_add(w, "A", "R", "10.0.0.1", "ls -R", 1, true, 5000);
		erow_add(w, "A", "P", "10.0.0.1", "ls -P", 1, true, 5000);
		erow_add(w, "B", "T", "10.0.0.1", "curl x", 1, true, 1000);
		erow_add(w, "B", "T", "10.0.0.1", "whoami", 1, false, 2000);
		window_flush(w);
		if (pass == 0) {
			memcpy(first, erows, sizeof(first));
			nfirst = nerows;
			continue;
		}
		CHECK_EQ_INT(nerows, nfirst);
		for (size_t i = 0; i < nerows && i < 8; i++) {
			CHECK_STR(erows[i].parent, first[i].parent);
			CHECK_STR(erows[i].host, first[i].host);
			CHECK_EQ_INT(erows[i].window, first[i].window);
			CHECK_EQ_INT(erows[i].rows, first[i].rows);
			CHECK_EQ_INT(erows[i].distinct, first[i].distinct);
			CHECK_EQ_INT(erows[i].sum, first[i].sum);
			CHECK_EQ_INT(erows[i].min, first[i].min);
			CHECK_EQ_INT(erows[i].late, first[i].late);
		}
	}
	/* R (late), then at the flush S and T. */
	CHECK_EQ_INT(nfirst, 3);
	CHECK_STR(first[0].parent, "R");
	CHECK(first[0].late);
	CHECK_EQ_INT(first[0].rows, 5);
	CHECK_EQ_INT(first[0].sum, 41);
	window_free(a);
	window_free(b);
	buf_free(&again);
	buf_free(&data);
}

/* Appends one key field as the store encodes it to out[*len ..]. */
static void
put_field(char *out, size_t *len, const char *p, size_t n)
{
	uint32_t n32 = (uint32_t)n;

	out[(*len)++] = 1;
	memcpy(out + *len, &n32, 4);
	memcpy(out + *len + 4, p, n);
	*len += 4 + n;
}

/*
 * What a checkpoint of one kind or shape is to a store of another:
 * refused.  And a saved group with one field changed.
 */
static void
test_esql_load_checks(void)
{
	static const enum esql_type other_keys[] = {ESQL_T_KEYWORD,
						    ESQL_T_KEYWORD,
						    ESQL_T_KEYWORD};
	struct window_spec other = espec;
	struct window_opts o = {.allowed_lateness_ms = -1,
				.max_groups = 10,
				.max_key_combos = 1};
	struct window_store *a, *b;
	struct buf data = {0}, bad = {0};
	/* Group key: parent "P", agent "A", host ::ffff:10.0.0.1. */
	char gkey[128], akey[32];
	size_t glen = 0, alen = 0;
	uint64_t format, shape;
	const char *tail;

	a = estore(-1, NULL);
	erow_add(a, "A", "P", "10.0.0.1", "ls", 1, true, 0);
	window_save(a, &data);
	memcpy(&format, data.data, 8);
	memcpy(&shape, data.data + 8, 8);
	window_free(a);

	/* A store of the default rule's shape does not take it, nor a
	 * store of another key type, nor this store the default shape's. */
	b = new_store(&o);
	CHECK_EQ_INT(window_load(b, data.data, data.len), -1);
	window_free(b);
	other.key_types = other_keys;
	b = window_new_esql(&other, &o, &m, eclose_cb, NULL);
	CHECK_EQ_INT(window_load(b, data.data, data.len), -1);
	CHECK_EQ_INT(window_reconfigure_esql(b, &espec, &o), -1);
	CHECK_EQ_INT(window_reconfigure_esql(b, &other, &o), 0);
	window_free(b);
	a = store(30000, 1000);
	burst(a, "A", "P", 0, 2);
	bad.len = 0;
	window_save(a, &bad);
	window_free(a);
	b = estore(-1, NULL);
	CHECK_EQ_INT(window_load(b, bad.data, bad.len), -1);
	window_free(b);

	/* The fields as esql_scalar_encode() writes them. */
	{
		struct buf f = {0};
		struct esql_scalar v;
		const char *ks[2] = {"P", "A"};

		for (int k = 0; k < 2; k++) {
			v.u.s.p = ks[k];
			v.u.s.len = 1;
			f.len = 0;
			esql_scalar_encode(ESQL_T_KEYWORD, &v, &f);
			put_field(gkey, &glen, f.data, f.len);
			if (k == 1)
				put_field(akey, &alen, f.data, f.len);
		}
		esql_ip_parse("10.0.0.1", 8, v.u.ip);
		f.len = 0;
		esql_scalar_encode(ESQL_T_IP, &v, &f);
		put_field(gkey, &glen, f.data, f.len);
		buf_free(&f);
	}

	/* The saved group's aggregates: the end of the data. */
	tail = data.data + 3 * 8 + 8 + 8 + alen + 2 * 8 + 3 * 8 + 8 + 8 + glen +
	       2 * 8;
	CHECK(tail < data.data + data.len);
	for (int c = 0; c <= 11; c++) {
		char k[128];
		size_t klen = glen;
		uint64_t rows = 1, flags = 0, fmt = format;

		memcpy(k, gkey, glen);
		switch (c) {
		case 1:
			rows = 0;
			break; /* a group no row made */
		case 2:
			flags = 32;
			break; /* unknown flag */
		case 3:
			k[glen - 1] ^= 1; /* 10.0.0.0: it decodes */
			break;
		case 4: /* an ip field of 4 bytes */
			memset(k + 28 + 1, 0, 4);
			k[28 + 1] = 4;
			klen = 28 + 1 + 4 + 4;
			break;
		case 5:
			k[5 + 7] = 9; /* keyword length past its field */
			break;
		case 6:
			k[5 + 8] = (char)0xff; /* not UTF-8 */
			break;
		case 7:
			fmt ^= 1;
			break; /* another format */
		case 8:
			flags = 2;
			break; /* decided, open */
		case 9:
			flags = 8 | 1;
			break; /* alerted early, closed, undecided */
		case 10:
			flags = 8 | 16;
			break; /* alerted early and held */
		case 11:
			flags = 16 | 1;
			break; /* held, closed */
		}
		bad.len = 0;
		buf_put_u64(&bad, fmt);
		buf_put_u64(&bad, shape);
		buf_put_u64(&bad, (uint64_t)INT64_MIN); /* global floor */
		buf_put_u64(&bad, 1);                   /* agents */
		buf_put_bytes(&bad, akey, alen);
		buf_put_u64(&bad, (uint64_t)T0);
		buf_put_u64(&bad, (uint64_t)INT64_MIN);
		buf_put_u64(&bad, 0); /* tombstones */
		buf_put_u64(&bad, 0); /* ledger */
		buf_put_u64(&bad, 1); /* groups */
		buf_put_u64(&bad, (uint64_t)T0);
		buf_put_bytes(&bad, k, klen);
		buf_put_u64(&bad, rows);
		buf_put_u64(&bad, flags);
		buf_append(&bad, tail, (size_t)(data.data + data.len - tail));
		if (c == 0)
			CHECK(bad.len == data.len &&
			      memcmp(bad.data, data.data, data.len) == 0);
		b = estore(-1, NULL);
		CHECK_EQ_INT(window_load(b, bad.data, bad.len),
			     c == 0 || c == 3 ? 0 : -1);
		CHECK_EQ_INT(window_groups(b), c == 0 || c == 3 ? 1 : 0);
		window_check(b);
		window_free(b);
	}
	buf_free(&data);
	buf_free(&bad);
}

int
main(void)
{
	struct window_store *ws;

	/* A window closes when its agent's watermark passes its end. */
	ws = store(30000, 1000);
	burst(ws, "A", "P", 10000, 5);
	add(ws, "A", "Q", "\"h\"", "ls", 89999); /* wm 12:00:59.999 */
	CHECK_EQ_INT(nseen, 0);
	add(ws, "B", "Q", "\"h\"", "ls", 3600000); /* another agent */
	CHECK_EQ_INT(nseen, 0);
	add(ws, "A", "Q", "\"h\"", "ls", 90000); /* wm 12:01:00.000 */
	CHECK_EQ_INT(nseen, 1);
	CHECK_EQ_INT(seen[0].window, T0);
	CHECK_STR(seen[0].parent, "P");
	CHECK_EQ_INT(seen[0].distinct, 5);
	CHECK_EQ_INT(seen[0].labels, 5);
	CHECK(!seen[0].late);
	CHECK_EQ_INT(m.v[M_alerts], 1);

	/* A late event updates a closed group: one alert, marked late. */
	add(ws, "A", "P", "\"h\"", "ls late", 59999);
	CHECK_EQ_INT(nseen, 1);        /* P already alerted: never again */
	burst(ws, "A", "R", 20000, 4); /* late, below threshold */
	CHECK_EQ_INT(nseen, 1);
	add(ws, "A", "R", "\"h\"", "ls -l", 0); /* lifts R over: late */
	CHECK_EQ_INT(nseen, 2);
	CHECK_STR(seen[1].parent, "R");
	CHECK(seen[1].late);
	CHECK_EQ_INT(m.v[M_alerts_late], 1);
	CHECK(m.v[M_events_late] >= 6);

	/* Past the horizon: counted and dropped. */
	add(ws, "A", "S", "\"h\"", "ls", 600000); /* wm 12:09:30 */
	add(ws, "A", "S", "\"h\"", "ls", 60000);  /* window ended 12:02 */
	CHECK_EQ_INT(m.v[M_events_too_late], 1);
	window_flush(ws);
	window_free(ws);

	/* The cap: largest first, the rest suppressed; per window. */
	cap = 2;
	ws = store(30000, 1000);
	burst(ws, "A", "small", 0, 5);
	burst(ws, "A", "large", 0, 8);
	burst(ws, "A", "mid", 0, 6);
	burst(ws, "A", "next", 60000, 5); /* the next window */
	add(ws, "A", "x", "\"h\"", "ls", 200000);
	CHECK_EQ_INT(nseen, 3);
	CHECK_STR(seen[0].parent, "large");
	CHECK_STR(seen[1].parent, "mid");
	CHECK_STR(seen[2].parent, "next");
	CHECK_EQ_INT(m.v[M_alerts_suppressed], 1);
	window_free(ws);
	cap = 100;

	/* Multi-valued keys: every combination; null is a value. */
	ws = store(-1, 1000);
	for (int i = 0; i < 5; i++) {
		static const char *c[] = {"grep", "find", "curl", "whoami",
					  "x"};
		add(ws, "A", "", "[\"h1\",\"h2\"]", c[i], i * 1000);
	}
	window_flush(ws);
	CHECK_EQ_INT(nseen, 2);
	CHECK_STR(seen[0].parent, "(null)");
	CHECK_STR(seen[0].host, "h1");
	CHECK_STR(seen[1].host, "h2");
	CHECK_EQ_INT(seen[0].hosts, 2);
	window_free(ws);

	/* Exact mode: any order, windows close only at flush. */
	ws = store(-1, 1000);
	add(ws, "A", "Q", "\"h\"", "ls", 7200000);
	add(ws, "A", "P", "\"h\"", "grep", 59999);
	add(ws, "A", "P", "\"h\"", "find", 1000);
	add(ws, "A", "Q", "\"h\"", "ls", 3600000);
	add(ws, "A", "P", "\"h\"", "curl", 0);
	add(ws, "A", "P", "\"h\"", "whoami", 2000);
	add(ws, "A", "P", "\"h\"", "ls", 30000);
	add(ws, "A", "P", "\"h\"", "ls", 60000); /* next window */
	CHECK_EQ_INT(nseen, 0);
	window_flush(ws);
	CHECK_EQ_INT(nseen, 1);
	CHECK_EQ_INT(seen[0].window, T0);
	CHECK_EQ_INT(seen[0].distinct, 5);
	CHECK_EQ_INT(m.v[M_events_late], 0);
	window_free(ws);

	/* Window edges to the millisecond, and before the epoch. */
	ws = store(-1, 1000);
	burst(ws, "A", "P", -5000, 5); /* 11:59:55 .. 11:59:59 */
	add(ws, "A", "P", "\"h\"", "ls", -1);
	window_flush(ws);
	CHECK_EQ_INT(nseen, 1);
	CHECK_EQ_INT(seen[0].window, T0 - 60000);
	CHECK_EQ_INT(seen[0].distinct, 6);
	window_free(ws);

	/* Idle close: a silent agent's windows close on the wall clock. */
	ws = store(30000, 1000);
	window_tick(ws, T0 + 10000);
	burst(ws, "A", "P", 0, 5);
	window_tick(ws, T0 + 10000 + 119999);
	CHECK_EQ_INT(nseen, 0);
	window_tick(ws, T0 + 10000 + 120000);
	CHECK_EQ_INT(nseen, 1);
	CHECK(!seen[0].late);
	CHECK_EQ_INT(window_groups(ws), 1); /* kept for late events */
	/* The agent resumes with an event for the closed window: late. */
	add(ws, "A", "P", "\"h\"", "ls more", 4000);
	CHECK_EQ_INT(m.v[M_events_late], 1);
	CHECK_EQ_INT(nseen, 1);
	/* Silent past idle close plus the horizon: forgotten. */
	window_tick(ws, T0 + 10000 + 120000 + 120000 + 300000);
	CHECK_EQ_INT(window_groups(ws), 0);
	CHECK_EQ_INT(window_tombstones(ws), 1);
	/* Its tombstone keeps the window decided: old events are too late
	 * and make no second alert for (P, 12:00). */
	burst(ws, "A", "P", 0, 5);
	CHECK_EQ_INT(m.v[M_events_too_late], 5);
	CHECK_EQ_INT(window_groups(ws), 0);
	window_flush(ws);
	CHECK_EQ_INT(nseen, 1);
	/* A new window is welcome; the agent is back, its tombstone gone. */
	burst(ws, "A", "P", 60000, 5);
	CHECK_EQ_INT(window_groups(ws), 1);
	CHECK_EQ_INT(window_tombstones(ws), 0);
	window_check(ws);
	window_free(ws);

	/* A future event is kept but does not move the watermark. */
	ws = store(30000, 1000);
	window_tick(ws, T0);
	burst(ws, "B", "P", 0, 5);
	add(ws, "B", "F", "\"h\"", "ls", 3600000); /* an hour ahead */
	CHECK_EQ_INT(m.v[M_events_future], 1);
	CHECK_EQ_INT(nseen, 0);                  /* P's window is still open */
	add(ws, "B", "Q", "\"h\"", "ls", 90000); /* moves it: closes P */
	CHECK_EQ_INT(nseen, 1);
	CHECK_STR(seen[0].parent, "P");
	window_free(ws);

	/* Many windows in one flush: each keeps its own cap. */
	cap = 1;
	ws = store(-1, 100000);
	for (int w = 0; w < 3000; w++) {
		burst(ws, "A", "P", (int64_t)w * 60000, 5);
		burst(ws, "A", "Q", (int64_t)w * 60000, 5);
	}
	window_flush(ws);
	CHECK_EQ_INT(m.v[M_alerts], 3000);
	CHECK_EQ_INT(m.v[M_alerts_suppressed], 3000);
	window_free(ws);
	cap = 100;

	/* Key combinations past max_key_combos, values past max_values. */
	{
		struct window_opts o = {
		    .allowed_lateness_ms = -1,
		    .late_horizon_ms = 0,
		    .max_groups = 1000,
		    .max_values = 2,
		    .max_key_combos = 3,
		    .idle_close_ms = 1,
		    .max_future_ms = 1,
		};
		ws = new_store(&o);
		add(ws, "A", "P", "[\"h1\",\"h2\",\"h3\",\"h4\"]", "ls", 0);
		CHECK_EQ_INT(window_groups(ws), 3);
		CHECK_EQ_INT(m.v[M_key_combos_cut], 1);
		add(ws, "A", "Q", "\"h\"", "grep 1", 0);
		add(ws, "A", "Q", "\"h\"", "find 2", 0);
		add(ws, "A", "Q", "\"h\"", "curl 3", 0);
		add(ws, "A", "Q", "\"h\"", "whoami 4", 0);
		add(ws, "A", "Q", "\"h\"", "ls 5", 0);
		/* 2 hosts past the cap in each of P's 3 groups; in Q, 3
		 * lines and 3 of its 5 labels (a set like any other). */
		CHECK_EQ_INT(m.v[M_values_dropped], 2 * 3 + 3 + 3);
		window_flush(ws);
		/* The distinct count stays exact past the cap. */
		CHECK_EQ_INT(nseen, 1);
		CHECK_EQ_INT(seen[0].distinct, 5);
		window_free(ws);
	}

	/* Save and load: the copy behaves as the original would. */
	{
		struct window_store *a, *b;
		struct buf data = {0};
		struct seen first[8];
		size_t nfirst;

		a = store(30000, 1000);
		burst(a, "A", "P", 0, 5);     /* alerts below */
		burst(a, "A", "R", 0, 4);     /* closes under threshold */
		burst(a, "A", "S", 90000, 8); /* stays open */
		burst(a, "B", "T", 0, 3);     /* another agent, open */
		CHECK_EQ_INT(nseen, 1);
		window_save(a, &data);
		seed("groups.bin", &data);

		/* Truncated or trailing data is refused, leaving nothing. */
		b = store(30000, 1000);
		CHECK_EQ_INT(window_load(b, data.data, data.len - 1), -1);
		CHECK_EQ_INT(window_groups(b), 0);
		window_free(b);

		b = store(30000, 1000);
		CHECK_EQ_INT(window_load(b, data.data, data.len), 0);
		CHECK_EQ_INT(window_groups(b), window_groups(a));
		/* Both get the same events; both must say the same. */
		for (int pass = 0; pass < 2; pass++) {
			struct window_store *w = pass ? b : a;
			nseen = 0;
			add(w, "A", "R", "\"h\"", "ls -R",
			    5000); /* late: lifts R */
			add(w, "A", "P", "\"h\"", "ls -P",
			    5000); /* P: alerted */
			add(w, "B", "T", "\"h\"", "curl x", 1000);
			add(w, "B", "T", "\"h\"", "whoami", 2000);
			window_flush(w);
			if (pass == 0) {
				memcpy(first, seen, sizeof(first));
				nfirst = nseen;
				continue;
			}
			CHECK_EQ_INT(nseen, nfirst);
			for (size_t i = 0; i < nseen && i < 8; i++) {
				CHECK_STR(seen[i].parent, first[i].parent);
				CHECK_EQ_INT(seen[i].distinct,
					     first[i].distinct);
				CHECK_EQ_INT(seen[i].labels, first[i].labels);
				CHECK_EQ_INT(seen[i].window, first[i].window);
				CHECK_EQ_INT(seen[i].late, first[i].late);
			}
		}
		CHECK_EQ_INT(nfirst, 3); /* R (late), then S and T at flush */
		CHECK_STR(first[0].parent, "R");
		CHECK(first[0].late);
		window_free(a);
		window_free(b);
		buf_free(&data);
	}

	/* The group bound: events past it are counted. */
	ws = store(-1, 2);
	add(ws, "A", "P1", "\"h\"", "ls", 0);
	add(ws, "A", "P2", "\"h\"", "ls", 0);
	add(ws, "A", "P3", "\"h\"", "ls", 0);
	add(ws, "A", "P1", "\"h\"", "ls -a", 0);
	CHECK_EQ_INT(window_groups(ws), 2);
	CHECK_EQ_INT(m.v[M_groups_dropped], 1);
	window_free(ws);

	test_budget();
	test_save_tombstones();
	test_restored_idle();
	test_cap_live();
	test_esql_groups();
	test_esql_early();
	test_esql_budget();
	test_esql_no_keys();
	test_esql_save();
	test_esql_load_checks();

	agg_def_fini(&ddef);
	return check_exit();
}
