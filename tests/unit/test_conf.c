/*
 * conf: the shipped conf/burstd.yaml loads and equals the built-in
 * defaults, and its commented inline rule is the built-in default rule;
 * the retired rule: section is refused;
 * every tests/data/conf/bad-*.yaml fails with exactly the messages of
 * its .err file (all of them, with file:line); the limits on the file
 * (1 MiB, 64 levels, 100000 nodes) at and past their edge; aliases;
 * durations.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "conf.h"
#include "rulefile.h"
#include "util.h"

static char *
slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *s = NULL;
	size_t n = 0;

	if (f == NULL)
		return NULL;
	(void)!getdelim(&s, &n, '\0', f);
	fclose(f);
	return s;
}

/*
 * Writes text (len bytes) to a file, loads it, and returns what the load
 * wrote on the error stream (owned by the caller; "" when it loaded).
 */
static char *
load_text(const char *text, size_t len, struct conf **out)
{
	FILE *f = fopen("t.yaml", "w"), *mem;
	char *got = NULL;
	size_t gotlen = 0;
	struct conf *c;

	if (f == NULL || fwrite(text, 1, len, f) != len || fclose(f) != 0) {
		perror("t.yaml");
		exit(1);
	}
	mem = open_memstream(&got, &gotlen);
	c = conf_load("t.yaml", mem);
	fclose(mem);
	unlink("t.yaml");
	CHECK((c == NULL) == (gotlen > 0));
	if (out != NULL)
		*out = c;
	else
		conf_free(c);
	return got;
}

/* "a: " and depth - 1 nested flow lists: depth levels with the top map. */
static char *
nested(size_t depth, size_t *len)
{
	char *s = xmalloc(2 * depth + 8);
	size_t n = 0;

	memcpy(s, "a: ", 3);
	n = 3;
	for (size_t i = 1; i < depth; i++)
		s[n++] = '[';
	for (size_t i = 1; i < depth; i++)
		s[n++] = ']';
	s[n++] = '\n';
	s[n] = '\0';
	*len = n;
	return s;
}

static void
test_limits(void)
{
	char *text, *got;
	size_t len;
	struct conf *c;

	/*
	 * 100000 levels: refused at the 65th, as the events arrive, instead
	 * of composing the whole tree first.
	 */
	text = nested(100000, &len);
	got = load_text(text, len, NULL);
	CHECK_STR(got, "t.yaml:1: nested deeper than 64 levels\n");
	free(got);
	free(text);
	text = nested(65, &len);
	got = load_text(text, len, NULL);
	CHECK_STR(got, "t.yaml:1: nested deeper than 64 levels\n");
	free(got);
	free(text);
	/* 64 levels are read (and "a" is then an unknown key). */
	text = nested(64, &len);
	got = load_text(text, len, NULL);
	CHECK_STR(got, "t.yaml:1: unknown key \"a\" in the top level\n");
	free(got);
	free(text);

	/* Nodes: the map, "a", the list and its items; 100000 at most. */
	for (size_t items = 99997; items <= 99998; items++) {
		text = xmalloc(2 * items + 8);
		len = 0;
		memcpy(text, "a: [", 4);
		len = 4;
		for (size_t i = 0; i < items; i++) {
			text[len++] = '1';
			text[len++] = i + 1 < items ? ',' : ']';
		}
		text[len++] = '\n';
		got = load_text(text, len, NULL);
		CHECK_STR(
		    got,
		    items == 99997
			? "t.yaml:1: unknown key \"a\" in the top level\n"
			: "t.yaml:1: more than 100000 YAML nodes (an alias counts "
			  "as the nodes it repeats)\n");
		free(got);
		free(text);
	}
	/* An alias counts as what it repeats: 10^6 nodes from 50. */
	{
		static const char bomb[] =
		    "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
		    "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
		    "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
		    "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
		    "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n";
		got = load_text(bomb, sizeof(bomb) - 1, NULL);
		CHECK_STR(got, "t.yaml:5: more than 100000 YAML nodes (an "
			       "alias counts as the nodes it repeats)\n");
		free(got);
	}

	/* Size: 1 MiB of comments is an empty configuration; a byte more
	 * is refused. */
	len = 1 << 20;
	text = xmalloc(len + 2);
	for (size_t i = 0; i < len; i += 64) {
		memset(text + i, ' ', 64);
		text[i] = '#';
		text[i + 63] = '\n';
	}
	got = load_text(text, len, NULL);
	CHECK_STR(got, "");
	free(got);
	text[len] = '\n';
	got = load_text(text, len + 1, NULL);
	CHECK_STR(got, "t.yaml: larger than 1048576 bytes, the limit for a "
		       "configuration file\n");
	free(got);
	free(text);

	/* Aliases of earlier anchors are still read. */
	{
		static const char ok[] = "rules:\n"
					 "  - name: one\n"
					 "    tags: &t [agent.id, host.name]\n"
					 "    query: FROM x\n"
					 "  - name: two\n"
					 "    tags: *t\n"
					 "    query: FROM y\n";
		got = load_text(ok, sizeof(ok) - 1, &c);
		CHECK_STR(got, "");
		CHECK(c != NULL);
		if (c != NULL) {
			CHECK_EQ_INT(c->rules.n, 2);
			if (c->rules.n == 2) {
				CHECK_EQ_INT(c->rules.v[1].meta->tags.n, 2);
				CHECK_STR(c->rules.v[1].meta->tags.v[1],
					  "host.name");
			}
		}
		conf_free(c);
		free(got);
	}
}

/* c runs the built-in default rule, and only it. */
static void
is_default(const struct conf *c, const char *source)
{
	const struct loaded_rule *lr = c->rules.v;

	CHECK_EQ_INT(c->rules.n, 1);
	if (c->rules.n != 1)
		return;
	CHECK_STR(lr->source, source);
	CHECK_STR(lr->meta->rule_id, "b42e4b88-fc4a-417b-a45e-4d4a3db9fd41");
	CHECK_STR(lr->meta->name, "Suspicious Python Shell Command Execution");
	CHECK_STR(lr->meta->severity, "medium");
	CHECK_EQ_INT(lr->meta->risk_score, 47);
	CHECK_EQ_INT(lr->meta->from_ms, 9 * 60000);
	CHECK_EQ_INT(lr->meta->interval_ms, 5 * 60000);
	CHECK_EQ_INT(lr->max_signals, 100);
	CHECK_EQ_INT(lr->meta->tags.n, 6);
	if (lr->meta->tags.n == 6) {
		CHECK_STR(lr->meta->tags.v[0], "Domain: Endpoint");
		CHECK_STR(lr->meta->tags.v[5], "Data Source: Elastic Defend");
	}
	CHECK(lr->meta->threat != NULL &&
	      strstr(lr->meta->threat, "\"T1059.006\"") != NULL &&
	      strstr(lr->meta->threat, "\"TA0002\"") != NULL);
	CHECK_EQ_INT(lr->plan->shape, ESQL_SHAPE_BUCKETED);
	CHECK_EQ_INT(lr->plan->span_ms, 60000);
}

/*
 * The example's rules: section, commented out, is the default written
 * inline: uncommented, it compiles to the same plan with the same
 * metadata.
 */
static void
test_example_inline(const char *example, const struct conf *def)
{
	char *text = slurp(example), *got, *p, source[64];
	struct buf live = {0};
	struct conf *c = NULL;
	int line = 1;

	CHECK(text != NULL);
	if (text == NULL)
		return;
	p = strstr(text, "\n#rules:\n");
	CHECK(p != NULL);
	if (p == NULL) {
		free(text);
		return;
	}
	buf_append(&live, text, (size_t)(p - text) + 1);
	for (const char *q = text; q <= p; q++)
		line += *q == '\n';
	/* The rule's item is on the line after "rules:". */
	snprintf(source, sizeof(source), "t.yaml:%d", line + 1);
	/* Every line from "#rules:" on loses its "#". */
	for (p++; *p != '\0';) {
		char *nl = strchr(p, '\n');
		size_t n = nl != NULL ? (size_t)(nl - p) + 1 : strlen(p);
		CHECK(*p == '#');
		buf_append(&live, p + 1, n - 1);
		p += n;
	}
	got = load_text(live.data, live.len, &c);
	CHECK_STR(got, "");
	if (c != NULL) {
		is_default(c, source);
		if (c->rules.n == 1) {
			const struct rule_meta *a = c->rules.v[0].meta;
			const struct rule_meta *b = def->rules.v[0].meta;
			CHECK_EQ_INT(c->rules.v[0].plan->fingerprint,
				     def->rules.v[0].plan->fingerprint);
			CHECK_STR(a->query, b->query);
			CHECK_STR(a->description, b->description);
			CHECK_STR(a->maturity, b->maturity);
			for (size_t i = 0; i < a->tags.n && i < b->tags.n; i++)
				CHECK_STR(a->tags.v[i], b->tags.v[i]);
		}
	}
	conf_free(c);
	free(got);
	free(text);
	buf_free(&live);
}

/* Input and sink names: defaults by type and index, explicit, refused. */
static void
test_names(void)
{
	static const char ok[] =
	    "inputs:\n  - type: file\n    paths: [/a]\n"
	    "  - type: unix\n    path: /s\n"
	    "  - type: file\n    paths: [/b]\n    name: audit\n"
	    "  - type: file\n    paths: [/c]\n"
	    "sinks:\n  - type: stdout\n  - type: tcp\n    host: 127.0.0.1\n"
	    "    port: 1\n    name: siem-1.b_c\n";
	static const char *const bad[] = {
	    "inputs:\n  - type: unix\n    path: /s\n    name: x\n"
	    "  - type: unix\n    path: /t\n    name: x\n",
	    /* An explicit name may not take a default one. */
	    "inputs:\n  - type: unix\n    path: /s\n    name: unix1\n"
	    "  - type: unix\n    path: /t\n",
	    "inputs:\n  - type: unix\n    path: /s\n    name: \"a b\"\n",
	    "inputs:\n  - type: unix\n    path: /s\n    name: \"\"\n",
	    "sinks:\n  - type: stdout\n    name: \"x\\\"\"\n",
	};
	struct conf *c = NULL;
	char *got = load_text(ok, sizeof(ok) - 1, &c);

	CHECK_STR(got, "");
	free(got);
	if (c != NULL) {
		CHECK_EQ_INT(c->ninputs, 4);
		CHECK_STR(c->inputs[0].name, "file0");
		CHECK_STR(c->inputs[1].name, "unix0");
		CHECK_STR(c->inputs[2].name, "audit");
		CHECK_STR(c->inputs[3].name, "file2");
		CHECK_STR(c->sinks[0].name, "stdout0");
		CHECK_STR(c->sinks[1].name, "siem-1.b_c");
		conf_free(c);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		got = load_text(bad[i], strlen(bad[i]), NULL);
		if (strstr(got, "name") == NULL)
			fprintf(stderr, "bad[%zu]: %s\n", i, got);
		CHECK(strstr(got, "name") != NULL);
		free(got);
	}
}

/* Loads text; checks that it fails with a message containing want. */
static void
fails_with(const char *text, const char *want)
{
	char *got = load_text(text, strlen(text), NULL);

	if (got == NULL || strstr(got, want) == NULL) {
		fprintf(stderr, "loading:\n%s\nwanted \"%s\", got \"%s\"\n",
			text, want, got != NULL ? got : "");
		check_failures++;
	}
	free(got);
}

#define QUERY(cond)                                                  \
	"\"FROM a | STATS c = COUNT(*) BY w = DATE_TRUNC(1 minute, " \
	"@timestamp) | WHERE " cond "\"\n"

/* window.alert_on, an inline rule's own, --alert-on, and which wins. */
static void
test_alert_on(void)
{
	const char *ok =
	    "window:\n  alert_on: close\n"
	    "rules:\n"
	    "  - name: own\n    alert_on: threshold\n"
	    "    query: " QUERY(
		"c >= 2") "  - name: inherits\n"
			  "    query: " QUERY(
			      "c >= 3") "  - name: unsound\n"
					"    alert_on: threshold\n"
					"    query: " QUERY("c < 3");
	struct conf *c = NULL;
	char *err = load_text(ok, strlen(ok), &c);
	const char *how, *why;

	CHECK_STR(err, "");
	free(err);
	CHECK(c != NULL && c->rules.n == 3);
	if (c == NULL || c->rules.n != 3) {
		conf_free(c);
		return;
	}
	CHECK_EQ_INT(c->alert_on, ALERT_ON_CLOSE);
	CHECK_EQ_INT(c->rules.v[0].alert_on, ALERT_ON_THRESHOLD);
	CHECK_EQ_INT(c->rules.v[1].alert_on, ALERT_ON_UNSET);
	/* The rule's own over the window's. */
	CHECK(ruleset_alerts_early(&c->rules.v[0], c->alert_on, ALERT_ON_UNSET,
				   &how, &why));
	CHECK_STR(why, "monotone: each condition after STATS compares a "
		       "growing COUNT, COUNT_DISTINCT, SUM or MAX (or a "
		       "falling MIN) with a constant");
	CHECK(!ruleset_alerts_early(&c->rules.v[1], c->alert_on, ALERT_ON_UNSET,
				    &how, &why));
	CHECK_STR(how, "alert_on close: alerts when the window closes");
	CHECK_STR(why, "window.alert_on");
	/* Asked for, but not sound: at close, and why. */
	CHECK(!ruleset_alerts_early(&c->rules.v[2], c->alert_on, ALERT_ON_UNSET,
				    &how, &why));
	CHECK(strstr(how, "unsound") != NULL);
	CHECK(strncmp(why, "not monotone: ", 14) == 0);
	/* --alert-on over both. */
	CHECK(!ruleset_alerts_early(&c->rules.v[0], c->alert_on, ALERT_ON_CLOSE,
				    &how, &why));
	CHECK_STR(why, "--alert-on");
	CHECK(ruleset_alerts_early(&c->rules.v[1], c->alert_on,
				   ALERT_ON_THRESHOLD, &how, &why));
	conf_free(c);
	fails_with("rules:\n  - name: x\n    alert_on: early\n"
		   "    query: " QUERY("c >= 2"),
		   "alert_on: expected threshold or close, got \"early\"");
	fails_with("window:\n  alert_on: 1\n",
		   "alert_on: expected threshold or close, got \"1\"");
}

/* Alert size and the framing keys of sinks. */
static void
test_alert_keys(void)
{
	const char *ok = "sinks:\n"
			 "  - type: unix\n    path: /run/x.sock\n"
			 "    framing: octet_counted\n    format: rfc5424\n"
			 "  - type: unix_dgram\n    path: /run/y.sock\n"
			 "    format: rfc5424\n"
			 "limits:\n  max_alert_bytes: 100000\n";
	struct conf *c = NULL;
	char *err = load_text(ok, strlen(ok), &c);

	CHECK_STR(err, "");
	free(err);
	CHECK(c != NULL);
	if (c != NULL) {
		CHECK_EQ_INT(c->max_alert_bytes, 100000);
		CHECK_EQ_INT(c->nsinks, 2);
		if (c->nsinks == 2) {
			CHECK_EQ_INT(c->sinks[0].framing, SINK_FRAMING_OCTET);
			CHECK_EQ_INT(c->sinks[0].format, SINK_FORMAT_RFC5424);
			CHECK_EQ_INT(c->sinks[1].framing, SINK_FRAMING_NEWLINE);
			CHECK_EQ_INT(c->sinks[1].format, SINK_FORMAT_RFC5424);
			/* Given after the sinks, the cap still reaches them. */
			CHECK_EQ_INT(c->sinks[0].max_alert_bytes, 100000);
			CHECK_EQ_INT(c->sinks[1].max_alert_bytes, 100000);
		}
		conf_free(c);
	}
	fails_with("limits:\n  max_alert_bytes: 100\n", "max_alert_bytes");
	fails_with("sinks:\n  - type: tcp\n    host: 127.0.0.1\n"
		   "    port: 514\n    framing: octets\n",
		   "framing: expected newline or octet_counted");
	fails_with("sinks:\n  - type: tcp\n    host: 127.0.0.1\n"
		   "    port: 514\n    format: syslog\n",
		   "format: expected json or rfc5424");
	fails_with("sinks:\n  - type: file\n    path: /tmp/a\n"
		   "    framing: octet_counted\n",
		   "file sink: framing applies to unix and tcp sinks only");
	fails_with(
	    "sinks:\n  - type: unix_dgram\n    path: /tmp/a\n"
	    "    framing: octet_counted\n",
	    "unix_dgram sink: framing applies to unix and tcp sinks only");
	fails_with("sinks:\n  - type: stdout\n    format: rfc5424\n",
		   "stdout sink: format applies to unix, tcp and unix_dgram");
}

int
main(void)
{
	const char *root = getenv("BURSTD_SOURCE_ROOT");
	char path[4096];
	struct conf *def = conf_default(), *c;
	int64_t ms;
	DIR *d;
	struct dirent *de;
	int nbad = 0;

	if (root == NULL) {
		fprintf(stderr, "BURSTD_SOURCE_ROOT is not set\n");
		return 77;
	}
	snprintf(path, sizeof(path), "%s/conf/burstd.yaml", root);
	c = conf_load(path, stderr);
	CHECK(c != NULL);
	if (c != NULL) {
		is_default(c, "built-in");
		/* The example shows every default: it must agree. */
		CHECK_EQ_INT(c->log_level, def->log_level);
		CHECK_EQ_INT(c->max_line_bytes, def->max_line_bytes);
		CHECK_EQ_INT(c->max_depth, def->max_depth);
		CHECK_EQ_INT(c->max_groups, def->max_groups);
		CHECK_EQ_INT(c->max_state_bytes, def->max_state_bytes);
		CHECK_EQ_INT(c->max_values, def->max_values);
		CHECK_EQ_INT(c->max_key_combos, def->max_key_combos);
		CHECK_EQ_INT(c->max_alert_bytes, def->max_alert_bytes);
		CHECK_EQ_INT(c->prefilter, def->prefilter);
		CHECK_EQ_INT(c->allowed_lateness_ms, def->allowed_lateness_ms);
		CHECK_EQ_INT(c->late_horizon_ms, def->late_horizon_ms);
		CHECK_EQ_INT(c->replay_exact, def->replay_exact);
		CHECK_EQ_INT(c->idle_close_ms, def->idle_close_ms);
		CHECK_EQ_INT(c->max_future_ms, def->max_future_ms);
		CHECK_EQ_INT(c->alert_on, def->alert_on);
		CHECK_EQ_INT(c->alert_on, ALERT_ON_THRESHOLD);
		CHECK_EQ_INT(c->tick_ms, def->tick_ms);
		CHECK_EQ_INT(c->stats_ms, def->stats_ms);
		CHECK_EQ_INT(c->checkpoint_ms, def->checkpoint_ms);
		CHECK_EQ_INT(c->allowed_lateness_ms, 30000);
		CHECK_EQ_INT(c->late_horizon_ms, 300000);
		CHECK_EQ_INT(c->replay_exact, 1);
		CHECK_EQ_INT(c->idle_close_ms, 120000);
		CHECK_EQ_INT(c->ninputs, 2);
		CHECK_EQ_INT(c->nsinks, 1);
		if (c->ninputs == 2 && c->nsinks == 1) {
			CHECK_EQ_INT(c->inputs[0].type, INPUT_FILE);
			CHECK(c->inputs[0].start_at_end);
			CHECK_EQ_INT(c->inputs[0].paths.n, 1);
			CHECK_EQ_INT(c->inputs[1].type, INPUT_UNIX);
			CHECK_EQ_INT(c->inputs[1].mode, 0660);
			CHECK_STR(c->inputs[1].path, "/run/burstd/events.sock");
			CHECK_EQ_INT(c->sinks[0].type, SINK_FILE);
			CHECK_EQ_INT(c->sinks[0].queue_max, 10000);
			{
				struct input_conf fi =
				    conf_input_default(INPUT_FILE);
				struct input_conf ui =
				    conf_input_default(INPUT_UNIX);
				struct sink_conf fs =
				    conf_sink_default(SINK_FILE);
				CHECK_EQ_INT(c->inputs[0].rescan_ms,
					     fi.rescan_ms);
				CHECK_EQ_INT(c->inputs[0].poll_ms, fi.poll_ms);
				CHECK_EQ_INT(c->inputs[0].start_at_end,
					     fi.start_at_end);
				CHECK_EQ_INT(c->inputs[0].close_inactive_ms,
					     fi.close_inactive_ms);
				CHECK_EQ_INT(c->inputs[1].mode, ui.mode);
				CHECK_EQ_INT(c->inputs[1].max_clients,
					     ui.max_clients);
				CHECK_EQ_INT(c->inputs[1].max_buffer_bytes,
					     ui.max_buffer_bytes);
				CHECK_EQ_INT(c->inputs[1].idle_timeout_ms,
					     ui.idle_timeout_ms);
				CHECK_EQ_INT(c->sinks[0].queue_max,
					     fs.queue_max);
			}
			CHECK(c->state_dir != NULL &&
			      strcmp(c->state_dir, "/var/lib/burstd") == 0);
			CHECK_EQ_INT(c->checkpoint_ms, 5000);
			CHECK(c->stats_socket != NULL &&
			      strcmp(c->stats_socket,
				     "/run/burstd/stats.sock") == 0);
		}
		conf_free(c);
	}

	/* An empty file is the built-in configuration. */
	{
		FILE *f = fopen("empty.yaml", "w");
		fclose(f);
		c = conf_load("empty.yaml", stderr);
		CHECK(c != NULL);
		if (c != NULL)
			is_default(c, "built-in");
		conf_free(c);
		unlink("empty.yaml");
	}
	is_default(def, "built-in");
	test_example_inline(path, def);
	/* An empty list of rules is no rule given. */
	{
		static const char none[] = "rules: []\n";
		char *got = load_text(none, sizeof(none) - 1, &c);
		CHECK_STR(got, "");
		if (c != NULL)
			is_default(c, "built-in");
		conf_free(c);
		free(got);
	}
	/* A rule given replaces the default. */
	{
		static const char one[] =
		    "rules:\n  - {name: x, query: FROM x}\n";
		char *got = load_text(one, sizeof(one) - 1, &c);
		CHECK_STR(got, "");
		if (c != NULL) {
			CHECK_EQ_INT(c->rules.n, 1);
			CHECK_STR(c->rules.v[0].meta->name, "x");
		}
		conf_free(c);
		free(got);
	}
	/* The retired section is refused, naming its replacement. */
	fails_with("rule:\n  min_distinct: 5\n",
		   "t.yaml:2: rule: this section is retired: the default rule "
		   "is now Elastic's \"Suspicious Python Shell Command "
		   "Execution\" in ES|QL, which runs when rules: is left out; "
		   "delete the section, or write a variant as an inline rule "
		   "under rules:");
	CHECK(conf_load("/nonexistent/burstd.yaml", fopen("/dev/null", "w")) ==
	      NULL);

	/* A file input's defaults: start_at end, close_inactive 5m. */
	{
		FILE *f = fopen("inputs.yaml", "w");
		fputs("inputs:\n  - {type: file, paths: [a]}\n"
		      "  - {type: file, paths: [b], start_at: beginning, "
		      "close_inactive: 90s}\n",
		      f);
		fclose(f);
		c = conf_load("inputs.yaml", stderr);
		CHECK(c != NULL && c->ninputs == 2);
		if (c != NULL && c->ninputs == 2) {
			CHECK(c->inputs[0].start_at_end);
			CHECK_EQ_INT(c->inputs[0].close_inactive_ms, 300000);
			CHECK(!c->inputs[1].start_at_end);
			CHECK_EQ_INT(c->inputs[1].close_inactive_ms, 90000);
		}
		conf_free(c);
		unlink("inputs.yaml");
	}

	/* Bad files: every message, in order. */
	snprintf(path, sizeof(path), "%s/tests/data/conf", root);
	if (chdir(path) != 0 || (d = opendir(".")) == NULL) {
		perror(path);
		return 1;
	}
	while ((de = readdir(d)) != NULL) {
		size_t n = strlen(de->d_name);
		char errpath[512], *want, *got = NULL;
		size_t gotlen = 0;
		FILE *mem;

		if (strncmp(de->d_name, "bad-", 4) != 0 || n < 6 ||
		    strcmp(de->d_name + n - 5, ".yaml") != 0)
			continue;
		nbad++;
		snprintf(errpath, sizeof(errpath), "%.*s.err", (int)(n - 5),
			 de->d_name);
		want = slurp(errpath);
		CHECK(want != NULL);
		mem = open_memstream(&got, &gotlen);
		c = conf_load(de->d_name, mem);
		fclose(mem);
		CHECK(c == NULL);
		conf_free(c);
		if (want != NULL && strcmp(got, want) != 0) {
			fprintf(stderr, "%s: got\n%s---\nwant\n%s---\n",
				de->d_name, got, want);
			CHECK(0);
		}
		free(want);
		free(got);
	}
	closedir(d);
	CHECK(nbad >= 4);
	test_limits();

	CHECK(conf_duration("30s", &ms) == 0 && ms == 30000);
	CHECK(conf_duration("5m", &ms) == 0 && ms == 300000);
	CHECK(conf_duration("250ms", &ms) == 0 && ms == 250);
	CHECK(conf_duration("2h", &ms) == 0 && ms == 7200000);
	CHECK(conf_duration("7", &ms) == 0 && ms == 7000);
	CHECK(conf_duration("-1s", &ms) < 0);
	CHECK(conf_duration("1d", &ms) < 0);
	CHECK(conf_duration("", &ms) < 0);
	CHECK(conf_duration("99999999999999999h", &ms) < 0);
	conf_free(def);
	test_names();
	test_alert_keys();
	test_alert_on();
	return check_exit();
}
