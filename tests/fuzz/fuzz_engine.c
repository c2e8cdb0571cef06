/*
 * fuzz_engine: the whole path, from bytes to alerts, with the default
 * configuration.
 *
 * The input is a stream of NDJSON, framed as an input would frame it (in
 * pieces cut at boundaries derived from the bytes).  Four engines read
 * it: replay-exact and live (watermark) mode, each with the prefilter
 * and without.  The live engines also see the wall clock move at every
 * cut (engine_tick(), with steps derived from the bytes, which exercises
 * idle close and max_future) and reload an equal configuration half way,
 * which must keep their state.  The prefilter only ever skips work, so
 * with and without it the alert bytes must be identical (the alert clock
 * is fixed) and every counter past the parser must agree; the lines it
 * skips are exactly the lines the other engine parses more.  In every
 * engine the counters must add up, and every alert must be one line
 * holding one JSON object in valid UTF-8, and no kibana.alert.uuid may
 * come twice: one (group, window) alerts at most once.  The live
 * engines have a small state budget, so that eviction, tombstones and
 * the floors are part of every run, and every engine's window store
 * passes window_check() at every cut and at the end.
 */
#include <string.h>
#include <yajl/yajl_tree.h>

#include "conf.h"
#include "engine.h"
#include "framer.h"
#include "fuzz.h"
#include "util.h"

#define MAX_CUTS 4

/* The live engines' wall clock starts near the seeds' event times. */
#define MINUTE INT64_C(60000)
#define HOUR (60 * MINUTE)
#define WALL_START (INT64_C(1714557600000) - HOUR) /* 2024-05-01T09:00Z */

struct run {
	struct engine *e;  /* the engine */
	struct framer *fr; /* its framer */
	struct buf out;    /* every alert line, concatenated */
	uint64_t lines;    /* alert lines received */
};

static void
out_cb(void *arg, const char *json, size_t len)
{
	struct run *r = arg;

	buf_append(&r->out, json, len);
	r->lines++;
}

static void
run_new(struct run *r, const struct conf *c, bool exact)
{
	memset(r, 0, sizeof(*r));
	r->e = engine_new(c, exact, out_cb, r);
	engine_set_clock(r->e, 1);
	r->fr = framer_new(c->max_line_bytes, engine_line, r->e,
			   engine_metrics(r->e));
}

static void
run_free(struct run *r)
{
	framer_free(r->fr);
	engine_free(r->e);
	buf_free(&r->out);
}

/* The counters of one engine add up. */
static void
check_sums(const struct run *r)
{
	const uint64_t *v = engine_metrics(r->e)->v;

	FUZZ_CHECK(v[M_lines_read] == v[M_lines_too_long] +
					  v[M_lines_prefiltered] +
					  v[M_lines_parsed]);
	FUZZ_CHECK(v[M_lines_parsed] ==
		   v[M_json_invalid] + v[M_json_not_object] +
		       v[M_json_too_deep] + v[M_events_unmatched] +
		       v[M_events_matched]);
	FUZZ_CHECK(v[M_events_matched] >=
		   v[M_events_no_timestamp] + v[M_events_bad_timestamp]);
	FUZZ_CHECK(v[M_alerts] + v[M_alerts_final] == r->lines);
	FUZZ_CHECK(v[M_alerts_late] <= v[M_alerts]);
	FUZZ_CHECK(v[M_alerts] + v[M_alerts_suppressed] <= v[M_groups_created]);
	FUZZ_CHECK(v[M_windows_closed] <= v[M_groups_created]);
}

/* The live engines' budget: a few dozen groups. */
#define SMALL_BUDGET (96 * 1024)

static int
uuid_cmp(const void *a, const void *b)
{
	return memcmp(a, b, 36);
}

/*
 * Every alert is one line, one JSON object, valid UTF-8, with a
 * kibana.alert.uuid no other alert of the run has; a final document
 * ("burstd.phase": "final") repeats the uuid of its group's early one.
 */
static void
check_alerts(const struct run *r)
{
	static const char *path[] = {"kibana.alert.uuid", NULL};
	static const char *phase[] = {"burstd.phase", NULL};
	const char *p = r->out.data, *end;
	uint64_t n = 0, nfinal = 0;
	char err[128];
	char(*uuids)[36], (*finals)[36];

	if (r->out.len == 0) {
		FUZZ_CHECK(r->lines == 0);
		return;
	}
	uuids = xcalloc(r->lines + 1, sizeof(*uuids));
	finals = xcalloc(r->lines + 1, sizeof(*finals));
	end = p + r->out.len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		FUZZ_CHECK(nl != NULL);
		FUZZ_CHECK(fuzz_utf8_valid(p, (size_t)(nl - p)));
		char *s = xstrndup(p, (size_t)(nl - p));
		FUZZ_CHECK(strlen(s) == (size_t)(nl - p));
		yajl_val doc = yajl_tree_parse(s, err, sizeof(err));
		FUZZ_CHECK(doc != NULL && YAJL_IS_OBJECT(doc));
		FUZZ_CHECK(n + nfinal < r->lines);
		yajl_val u = yajl_tree_get(doc, path, yajl_t_string);
		const char *us = u != NULL ? u->u.string : NULL;
		FUZZ_CHECK(us != NULL && strlen(us) == 36);
		yajl_val ph = yajl_tree_get(doc, phase, yajl_t_string);
		if (ph != NULL && strcmp(ph->u.string, "final") == 0)
			memcpy(finals[nfinal++], us, 36);
		else
			memcpy(uuids[n++], us, 36);
		yajl_tree_free(doc);
		free(s);
		p = nl + 1;
	}
	FUZZ_CHECK(n + nfinal == r->lines);
	qsort(uuids, n, sizeof(*uuids), uuid_cmp);
	for (uint64_t i = 1; i < n; i++)
		FUZZ_CHECK(memcmp(uuids[i - 1], uuids[i], 36) != 0);
	for (uint64_t i = 0; i < nfinal; i++)
		FUZZ_CHECK(bsearch(finals[i], uuids, n, sizeof(*uuids),
				   uuid_cmp) != NULL);
	free(uuids);
	free(finals);
}

/* The prefilter changes nothing but where lines are counted. */
static void
check_same(const struct run *pf, const struct run *all)
{
	const uint64_t *a = engine_metrics(pf->e)->v;
	const uint64_t *b = engine_metrics(all->e)->v;

	FUZZ_CHECK(b[M_lines_prefiltered] == 0);
	FUZZ_CHECK(a[M_lines_read] == b[M_lines_read]);
	FUZZ_CHECK(a[M_lines_blank] == b[M_lines_blank]);
	FUZZ_CHECK(a[M_lines_too_long] == b[M_lines_too_long]);
	FUZZ_CHECK(a[M_lines_parsed] + a[M_lines_prefiltered] ==
		   b[M_lines_parsed]);
	for (int m = M_events_matched; m < M__COUNT; m++)
		FUZZ_CHECK(a[m] == b[m]);
	FUZZ_CHECK(pf->out.len == all->out.len);
	FUZZ_CHECK(pf->out.len == 0 ||
		   memcmp(pf->out.data, all->out.data, pf->out.len) == 0);
}

static int
size_cmp(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	return x < y ? -1 : x > y;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Two of each, for the reload; built once, as engines borrow them. */
	static struct conf *with_pf[2], *without_pf[2];
	static struct conf *live_pf[2], *live_all[2];
	struct run runs[4];
	uint64_t rng = fuzz_seed(data, size);
	size_t cuts[MAX_CUTS + 1], ncuts = 0, from = 0;
	int64_t now = WALL_START + (int64_t)(fuzz_next(&rng) % (2 * HOUR));

	if (with_pf[0] == NULL) {
		for (int i = 0; i < 2; i++) {
			with_pf[i] = conf_default();
			without_pf[i] = conf_default();
			without_pf[i]->prefilter = false;
		}
		for (int i = 0; i < 2; i++) {
			live_pf[i] = conf_default();
			live_all[i] = conf_default();
			live_all[i]->prefilter = false;
			/* Below the configuration's minimum, on purpose. */
			live_pf[i]->max_state_bytes = SMALL_BUDGET;
			live_all[i]->max_state_bytes = SMALL_BUDGET;
		}
		/*
		 * Alerts at close, as --replay: an early document carries
		 * its measured latency (burstd.detected_ms), which differs
		 * between the runs compared byte for byte.
		 */
		for (int i = 0; i < 2; i++) {
			with_pf[i]->alert_on_force = ALERT_ON_CLOSE;
			without_pf[i]->alert_on_force = ALERT_ON_CLOSE;
			live_pf[i]->alert_on_force = ALERT_ON_CLOSE;
			live_all[i]->alert_on_force = ALERT_ON_CLOSE;
		}
	}
	if (size > 0) {
		ncuts = fuzz_next(&rng) % (MAX_CUTS + 1);
		for (size_t i = 0; i < ncuts; i++)
			cuts[i] = fuzz_next(&rng) % (size + 1);
		qsort(cuts, ncuts, sizeof(cuts[0]), size_cmp);
	}
	cuts[ncuts++] = size;

	run_new(&runs[0], with_pf[0], true);
	run_new(&runs[1], without_pf[0], true);
	run_new(&runs[2], live_pf[0], false);
	run_new(&runs[3], live_all[0], false);
	for (size_t i = 0; i < ncuts; i++) {
		if (cuts[i] > from)
			for (int k = 0; k < 4; k++)
				framer_feed(runs[k].fr,
					    (const char *)data + from,
					    cuts[i] - from);
		from = cuts[i];
		/* The wall clock moves on, by up to ten minutes. */
		now += (int64_t)(fuzz_next(&rng) % (10 * MINUTE));
		engine_tick(runs[2].e, now);
		engine_tick(runs[3].e, now);
		for (int k = 0; k < 4; k++)
			engine_check(runs[k].e);
		if (i == ncuts / 2) {
			FUZZ_CHECK(engine_reload(runs[2].e, live_pf[1]) == 1);
			FUZZ_CHECK(engine_reload(runs[3].e, live_all[1]) == 1);
		}
	}
	for (int k = 0; k < 4; k++) {
		framer_finish(runs[k].fr);
		engine_flush(runs[k].e);
		engine_check(runs[k].e);
		check_sums(&runs[k]);
		check_alerts(&runs[k]);
	}
	check_same(&runs[0], &runs[1]);
	check_same(&runs[2], &runs[3]);
	for (int k = 0; k < 4; k++)
		run_free(&runs[k]);
	return 0;
}
