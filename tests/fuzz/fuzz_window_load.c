/*
 * fuzz_window_load: window state read back from a checkpoint.
 *
 * The input is the window part of a checkpoint, as window_save() writes
 * it (the corpus is real saved state).  A checkpoint's checksum only
 * proves the bytes are the ones written, so window_load() must refuse
 * anything malformed without reading out of bounds, and leave the store
 * empty when it does.  What it accepts must be a store whose invariants
 * hold (window_check()), that saves and loads again to the same shape,
 * and whose groups close into alerts that format as one JSON object
 * each, all with different kibana.alert.uuid values.  The budget is
 * chosen from the bytes, so a load into a smaller budget evicts.
 */
#include <string.h>
#include <yajl/yajl_tree.h>

#include "conf.h"
#include "fuzz.h"
#include "util.h"
#include "window.h"

#define MINUTE INT64_C(60000)
#define MAX_UUIDS 4096

struct seen {
	struct buf line;          /* scratch for one alert */
	char uuid[MAX_UUIDS][37]; /* uuids of the alerts so far */
	size_t n;                 /* alerts */
};

static void
alert_cb(void *arg, const struct alert *a)
{
	static const char *path[] = {"kibana.alert.uuid", NULL};
	struct seen *s = arg;
	char err[128];
	char u[37];
	yajl_val doc, v;

	s->line.len = 0;
	FUZZ_CHECK(alert_format(a, 1, &s->line) == 0);
	FUZZ_CHECK(s->line.len > 0 && s->line.data[s->line.len - 1] == '\n');
	s->line.data[s->line.len - 1] = '\0';
	FUZZ_CHECK(strlen(s->line.data) == s->line.len - 1);
	FUZZ_CHECK(fuzz_utf8_valid(s->line.data, s->line.len - 1));
	doc = yajl_tree_parse(s->line.data, err, sizeof(err));
	FUZZ_CHECK(doc != NULL && YAJL_IS_OBJECT(doc));
	v = yajl_tree_get(doc, path, yajl_t_string);
	FUZZ_CHECK(v != NULL);
	alert_uuid(a, u);
	FUZZ_CHECK(strcmp(u, v->u.string) == 0);
	yajl_tree_free(doc);
	for (size_t i = 0; i < s->n && i < MAX_UUIDS; i++)
		FUZZ_CHECK(strcmp(s->uuid[i], u) != 0);
	if (s->n < MAX_UUIDS)
		memcpy(s->uuid[s->n], u, sizeof(u));
	s->n++;
}

static void
close_cb(void *arg, struct window_closing *c)
{
	rule_close(c, alert_cb, arg);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct conf *conf;
	static struct seen seen;
	struct metrics m, m2;
	struct budget b = {0}, b2 = {0};
	struct window_opts o;
	struct window_store *ws, *ws2;
	struct buf out = {0};
	uint64_t rng = fuzz_seed(data, size);
	int64_t now = INT64_C(1714557600000);

	if (conf == NULL)
		conf = conf_default();
	memset(&m, 0, sizeof(m));
	memset(&m2, 0, sizeof(m2));
	seen.n = 0;
	/* Mostly roomy, sometimes a budget the state cannot fit. */
	b.max = fuzz_next(&rng) % 4 ? SIZE_MAX : fuzz_next(&rng) % 65536;
	b2.max = SIZE_MAX;
	o = (struct window_opts){
	    .allowed_lateness_ms = conf->allowed_lateness_ms,
	    .late_horizon_ms = conf->late_horizon_ms,
	    .max_groups = conf->max_groups,
	    .budget = &b,
	    .max_values = conf->max_values,
	    .max_key_combos = conf->max_key_combos,
	    .idle_close_ms = conf->idle_close_ms,
	    .max_future_ms = conf->max_future_ms,
	};
	ws = window_new(conf->rule, &o, &m, close_cb, &seen);
	if (window_load(ws, (const char *)data, size) < 0) {
		/* Refused: nothing is left of it. */
		FUZZ_CHECK(window_groups(ws) == 0);
		FUZZ_CHECK(window_tombstones(ws) == 0);
		window_check(ws);
		window_free(ws);
		FUZZ_CHECK(b.used == 0);
		return 0;
	}
	window_check(ws);
	FUZZ_CHECK(b.max == SIZE_MAX || b.used <= b.max ||
		   window_groups(ws) + window_tombstones(ws) == 0);

	/* What was accepted saves and loads again, to the same shape. */
	window_save(ws, &out);
	o.budget = &b2;
	ws2 = window_new(conf->rule, &o, &m2, close_cb, &seen);
	FUZZ_CHECK(window_load(ws2, out.data, out.len) == 0);
	FUZZ_CHECK(window_groups(ws2) == window_groups(ws));
	FUZZ_CHECK(window_tombstones(ws2) == window_tombstones(ws));
	FUZZ_CHECK(window_bytes(ws2) == window_bytes(ws));
	window_check(ws2);
	window_free(ws2);
	FUZZ_CHECK(b2.used == 0);

	/* The clock moves on: idle close, then forgetting; then the rest
	 * closes.  Each alert is checked as it comes. */
	window_tick(ws, now);
	window_tick(ws, now + (int64_t)(fuzz_next(&rng) % (20 * MINUTE)));
	window_check(ws);
	window_flush(ws);
	window_check(ws);
	FUZZ_CHECK(m.v[M_alerts] == seen.n);
	window_free(ws);
	FUZZ_CHECK(b.used == 0);
	buf_free(&out);
	return 0;
}
