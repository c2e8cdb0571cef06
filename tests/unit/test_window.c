/*
 * window: watermark closing per agent, late and too-late events, the
 * per-window cap and its order, multi-valued and null keys, exact mode,
 * and the group bound.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "check.h"
#include "conf.h"
#include "record.h"
#include "timefmt.h"
#include "window.h"

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
static struct conf *conf;
static struct parser *ps;
static struct metrics m;

static void
alert_cb(void *arg, const struct alert *a)
{
	struct seen *s = &seen[nseen < 64 ? nseen : 63];

	(void)arg;
	s->window = a->window_ms;
	snprintf(s->parent, sizeof(s->parent), "%.*s",
		 a->key[0].p ? (int)a->key[0].len : 6,
		 a->key[0].p ? a->key[0].p : "(null)");
	snprintf(s->host, sizeof(s->host), "%.*s",
		 a->key[2].p ? (int)a->key[2].len : 6,
		 a->key[2].p ? a->key[2].p : "(null)");
	s->distinct = a->distinct;
	s->labels = alert_label_count(a->labels);
	s->hosts = strset_count(a->sets[1]);
	s->late = a->late;
	nseen++;
}

static void
close_cb(void *arg, struct window_closing *c)
{
	rule_close(c, alert_cb, arg);
}

#define T0 INT64_C(1714564800000) /* 2024-05-01T12:00:00Z */

/*
 * Adds one matched event: agent, parent entity id ("" for none), host
 * JSON value, command line, at T0 + ms.
 */
static void
add(struct window_store *ws, const char *agent, const char *parent,
    const char *host, const char *cmd, int64_t ms)
{
	char doc[1024], pfield[128] = "";
	const struct record *rec;

	if (*parent)
		snprintf(pfield, sizeof(pfield),
			 "\"process.parent.entity_id\":\"%s\",", parent);
	snprintf(doc, sizeof(doc),
		 "{%s\"agent.id\":\"%s\",\"host.name\":%s,"
		 "\"process.command_line\":\"%s\"}",
		 pfield, agent, host, cmd);
	if (parser_parse(ps, doc, strlen(doc), &rec) != PARSE_OK) {
		fprintf(stderr, "bad document %s\n", doc);
		abort();
	}
	window_add(ws, rec, T0 + ms, rule_label(conf->rule, rec));
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

	memset(&m, 0, sizeof(m));
	nseen = 0;
	return window_new(conf->rule, &o, &m, close_cb, NULL);
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

	memset(&m, 0, sizeof(m));
	nseen = 0;
	return window_new(conf->rule, &o, &m, close_cb, NULL);
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

/* Saved state with one field changed: every change is refused. */
static void
test_load_checks(void)
{
	struct window_store *a, *b;
	struct buf data = {0}, bad = {0};
	uint64_t format, nsets0;
	/* An agent key and a group key (three fields; the agent's is the
	 * second, as in the default rule's group_by). */
	static const char akey[] = "\1\1\0\0\0A";
	char gkey[64];
	size_t glen = 0;

	a = store(30000, 1000);
	burst(a, "A", "P", 0, 2);
	window_save(a, &data);
	memcpy(&format, data.data, sizeof(format));
	memcpy(&nsets0, data.data + 8, sizeof(nsets0));
	window_free(a);

	/* group key: parent "P", agent "A", host "h" */
	memcpy(gkey + glen, "\1\1\0\0\0P", 6), glen += 6;
	memcpy(gkey + glen, akey, 6), glen += 6;
	memcpy(gkey + glen, "\1\1\0\0\0h", 6), glen += 6;

	for (int c = 0; c <= 13; c++) {
		const char *k = gkey;
		size_t klen = glen;
		uint64_t window = (uint64_t)T0, labels = 1, flags = 0;
		uint64_t nagents = 1, nsets = nsets0;
		char badkey[64];

		switch (c) {
		case 1:
			nsets = nsets0 - 1;
			break; /* other rule */
		case 2:
			window = (uint64_t)T0 + 1;
			break; /* off the grid */
		case 3:
			labels = UINT64_C(1) << 40;
			break; /* no such label */
		case 4:
			flags = 2;
			break; /* decided, open */
		case 5:
			flags = 8;
			break; /* unknown flag */
		case 6:
			klen = glen - 1;
			break; /* field cut short */
		case 7:        /* bad flag byte */
			memcpy(badkey, gkey, glen);
			badkey[0] = 2;
			k = badkey;
			break;
		case 8: /* length too long */
			memcpy(badkey, gkey, glen);
			badkey[1] = 9;
			k = badkey;
			break;
		case 9:
			nagents = 0;
			break; /* its agent unsaved */
		case 10:
			klen = 12;
			break; /* two fields of three */
		case 11:
			window = UINT64_C(1) << 62;
			break; /* out of range */
		case 12:
			nagents = 2;
			break; /* the agent twice */
		case 13:       /* not UTF-8 */
			memcpy(badkey, gkey, glen);
			badkey[5] = (char)0xff;
			k = badkey;
			break;
		}
		bad.len = 0;
		buf_put_u64(&bad, format);
		buf_put_u64(&bad, nsets);
		buf_put_u64(&bad, (uint64_t)INT64_MIN); /* global floor */
		buf_put_u64(&bad, nagents);
		for (uint64_t i = 0; i < nagents; i++) {
			buf_put_bytes(&bad, akey, 6);
			buf_put_u64(&bad, (uint64_t)T0);
			buf_put_u64(&bad, (uint64_t)INT64_MIN);
		}
		buf_put_u64(&bad, 0); /* tombstones */
		buf_put_u64(&bad, 0); /* ledger */
		buf_put_u64(&bad, 1); /* groups */
		buf_put_u64(&bad, window);
		buf_put_bytes(&bad, k, klen);
		buf_put_u64(&bad, labels);
		buf_put_u64(&bad, flags);
		for (uint64_t i = 0; i < nsets0; i++) {
			buf_put_u64(&bad, 1);
			buf_put_bytes(&bad, "v", 1);
			buf_put_u64(&bad, 0);
		}
		b = store(30000, 1000);
		/* Case 0 is the well-formed original the others change. */
		CHECK_EQ_INT(window_load(b, bad.data, bad.len),
			     c == 0 ? 0 : -1);
		CHECK_EQ_INT(window_groups(b), c == 0 ? 1 : 0);
		window_check(b);
		window_free(b);
	}

	/* Sets: a member twice, a hash of zero, a member not UTF-8. */
	for (int c = 0; c < 3; c++) {
		bad.len = 0;
		buf_put_u64(&bad, format);
		buf_put_u64(&bad, nsets0);
		buf_put_u64(&bad, (uint64_t)INT64_MIN);
		buf_put_u64(&bad, 1);
		buf_put_bytes(&bad, akey, 6);
		buf_put_u64(&bad, (uint64_t)T0);
		buf_put_u64(&bad, (uint64_t)INT64_MIN);
		buf_put_u64(&bad, 0);
		buf_put_u64(&bad, 0);
		buf_put_u64(&bad, 1);
		buf_put_u64(&bad, (uint64_t)T0);
		buf_put_bytes(&bad, gkey, glen);
		buf_put_u64(&bad, 1);
		buf_put_u64(&bad, 0);
		for (uint64_t i = 0; i < nsets0; i++) {
			if (c == 0) {
				buf_put_u64(&bad, 2);
				buf_put_bytes(&bad, "v", 1);
				buf_put_bytes(&bad, "v", 1);
				buf_put_u64(&bad, 0);
			} else if (c == 2) {
				buf_put_u64(&bad, 1);
				buf_put_bytes(&bad, "\xc3\x28", 2);
				buf_put_u64(&bad, 0);
			} else {
				buf_put_u64(&bad, 0);
				buf_put_u64(&bad, 1);
				buf_put_u64(&bad, 0);
			}
		}
		b = store(30000, 1000);
		CHECK_EQ_INT(window_load(b, bad.data, bad.len), -1);
		window_free(b);
	}

	/* Every prefix of real saved state is refused, without a crash. */
	for (size_t n = 0; n < data.len; n++) {
		b = store(30000, 1000);
		CHECK_EQ_INT(window_load(b, data.data, n), -1);
		window_free(b);
	}
	buf_free(&data);
	buf_free(&bad);
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

	conf->rule->max_alerts = 1;
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
	conf->rule->max_alerts = 100;
}

int
main(void)
{
	struct window_store *ws;

	conf = conf_default();
	ps = parser_new(conf->rule->fields, conf->rule->nfields, 64);

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
	conf->rule->max_alerts = 2;
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
	conf->rule->max_alerts = 100;

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
	conf->rule->max_alerts = 1;
	ws = store(-1, 100000);
	for (int w = 0; w < 3000; w++) {
		burst(ws, "A", "P", (int64_t)w * 60000, 5);
		burst(ws, "A", "Q", (int64_t)w * 60000, 5);
	}
	window_flush(ws);
	CHECK_EQ_INT(m.v[M_alerts], 3000);
	CHECK_EQ_INT(m.v[M_alerts_suppressed], 3000);
	window_free(ws);
	conf->rule->max_alerts = 100;

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
		memset(&m, 0, sizeof(m));
		nseen = 0;
		ws = window_new(conf->rule, &o, &m, close_cb, NULL);
		add(ws, "A", "P", "[\"h1\",\"h2\",\"h3\",\"h4\"]", "ls", 0);
		CHECK_EQ_INT(window_groups(ws), 3);
		CHECK_EQ_INT(m.v[M_key_combos_cut], 1);
		add(ws, "A", "Q", "\"h\"", "grep 1", 0);
		add(ws, "A", "Q", "\"h\"", "find 2", 0);
		add(ws, "A", "Q", "\"h\"", "curl 3", 0);
		add(ws, "A", "Q", "\"h\"", "whoami 4", 0);
		add(ws, "A", "Q", "\"h\"", "ls 5", 0);
		/* 2 hosts past the cap in each of P's 3 groups, 3 lines in Q.
		 */
		CHECK_EQ_INT(m.v[M_values_dropped], 2 * 3 + 3);
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
	test_load_checks();
	test_cap_live();

	parser_free(ps);
	conf_free(conf);
	return check_exit();
}
