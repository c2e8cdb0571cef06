/*
 * stats: the Prometheus rendering.  Every engine counter, daemon value,
 * sink and input family is there with the value it was given, each
 * family's HELP and TYPE once and before its samples, the samples of a
 * family together, and label values escaped as the format asks.  The
 * server: at most STATS_MAX_CLIENTS at once, and a client that does not
 * read its snapshot is closed after STATS_WRITE_TIMEOUT_MS, so that
 * stats_close() ends.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "check.h"
#include "input.h"
#include "metrics.h"
#include "sink.h"
#include "stats.h"

#define MAX_LINES 4096

static char *lines[MAX_LINES];
static size_t nlines;

/* Splits the rendered text into lines (the text is modified). */
static void
split(char *text)
{
	char *save = NULL;

	nlines = 0;
	for (char *l = strtok_r(text, "\n", &save);
	     l != NULL && nlines < MAX_LINES; l = strtok_r(NULL, "\n", &save))
		lines[nlines++] = l;
}

/* Returns how many lines are exactly `want`. */
static int
count_line(const char *want)
{
	int n = 0;

	for (size_t i = 0; i < nlines; i++)
		n += strcmp(lines[i], want) == 0;
	return n;
}

/* The family a sample line belongs to: its name up to '{' or ' '. */
static size_t
family_len(const char *line)
{
	return strcspn(line, "{ ");
}

/*
 * Every family's samples stand together and follow its one TYPE line;
 * returns the number of families seen.
 */
static int
check_families(void)
{
	char seen[256][96];
	int nseen = 0;
	const char *cur = NULL;
	size_t curlen = 0;
	char typed[96] = "";

	for (size_t i = 0; i < nlines; i++) {
		const char *l = lines[i];
		size_t n;
		if (strncmp(l, "# TYPE ", 7) == 0) {
			n = family_len(l + 7);
			snprintf(typed, sizeof(typed), "%.*s", (int)n, l + 7);
			continue;
		}
		if (l[0] == '#')
			continue;
		n = family_len(l);
		if (cur != NULL && n == curlen && strncmp(l, cur, n) == 0)
			continue;
		/* A new run: a family not seen before, just typed. */
		CHECK(strlen(typed) == n && strncmp(typed, l, n) == 0);
		for (int k = 0; k < nseen; k++)
			if (strlen(seen[k]) == n &&
			    strncmp(seen[k], l, n) == 0) {
				fprintf(stderr, "family %.*s split\n", (int)n,
					l);
				check_failures++;
			}
		if (nseen < 256)
			snprintf(seen[nseen++], sizeof(seen[0]), "%.*s", (int)n,
				 l);
		cur = l;
		curlen = n;
	}
	return nseen;
}

static void
test_render(void)
{
	struct metrics m = {0};
	struct sink_stats s1 = {.queued = 11,
				.sent = 12,
				.dropped_full = 13,
				.errors = 14,
				.depth = 15};
	struct sink_stats s2 = {.queued = 21,
				.sent = 22,
				.depth = 25,
				.dropped_close = 26,
				.connects = 27};
	struct input_stats i1 = {.files_opened = 31,
				 .clients = 32,
				 .partial_dropped = 33};
	struct input_stats i2 = {.clients = 42, .clients_refused = 43};
	struct stats_sink sinks[] = {
	    {"file /var/log/a\"b\\c\nd", &s1},
	    {"stdout", &s2},
	};
	struct stats_input inputs[] = {
	    {"file0", &i1, 34, 35},
	    {"ship", &i2, 44, 45},
	};
	struct stats_source src = {.metrics = &m,
				   .groups = 7,
				   .state_bytes = 1000,
				   .state_bytes_max = 4096,
				   .ckpt_written = 3,
				   .ckpt_failed = 1,
				   .ckpt_duration_us = 5000042,
				   .ckpt_stall_us = 999,
				   .event_lag_ms = 61005,
				   .reload_ok = 1,
				   .reload_ok_s = 1700000001,
				   .start_s = 1700000000,
				   .rss_bytes = 123456789,
				   .version = "1.2.3",
				   .sinks = sinks,
				   .nsinks = 2,
				   .inputs = inputs,
				   .ninputs = 2};
	struct buf out = {0};
	char want[256];

	for (int i = 0; i < M__COUNT; i++)
		m.v[i] = 1000 + (uint64_t)i;
	stats_render(&src, &out);
	split(buf_cstr(&out));
	for (int i = 0; i < M__COUNT; i++) {
		snprintf(want, sizeof(want), "burstd_%s_total %d",
			 metrics_name((enum metric)i), 1000 + i);
		CHECK_EQ_INT(count_line(want), 1);
		snprintf(want, sizeof(want), "# TYPE burstd_%s_total counter",
			 metrics_name((enum metric)i));
		CHECK_EQ_INT(count_line(want), 1);
	}
	CHECK_EQ_INT(count_line("burstd_groups 7"), 1);
	CHECK_EQ_INT(count_line("# TYPE burstd_groups gauge"), 1);
	CHECK_EQ_INT(count_line("burstd_state_bytes 1000"), 1);
	CHECK_EQ_INT(count_line("burstd_state_bytes_max 4096"), 1);
	CHECK_EQ_INT(count_line("burstd_checkpoints_total 3"), 1);
	CHECK_EQ_INT(count_line("burstd_checkpoints_failed_total 1"), 1);
	/* The quote, backslash and newline of the name are escaped. */
	CHECK_EQ_INT(count_line("burstd_sink_queued_total"
				"{sink=\"file /var/log/a\\\"b\\\\c\\nd\"} 11"),
		     1);
	CHECK_EQ_INT(count_line("burstd_sink_queue_depth"
				"{sink=\"file /var/log/a\\\"b\\\\c\\nd\"} 15"),
		     1);
	CHECK_EQ_INT(count_line("burstd_sink_queued_total{sink=\"stdout\"} 21"),
		     1);
	CHECK_EQ_INT(count_line("burstd_sink_queue_depth{sink=\"stdout\"} 25"),
		     1);
	CHECK_EQ_INT(count_line("# TYPE burstd_sink_queue_depth gauge"), 1);
	CHECK_EQ_INT(count_line("burstd_input_files_opened_total"
				"{input=\"file0\"} 31"),
		     1);
	CHECK_EQ_INT(count_line(
			 "burstd_input_clients_total{input=\"file0\"} 32"),
		     1);
	CHECK_EQ_INT(count_line(
			 "burstd_input_clients_total{input=\"ship\"} 42"),
		     1);
	CHECK_EQ_INT(count_line("burstd_input_partial_dropped_total"
				"{input=\"file0\"} 33"),
		     1);
	CHECK_EQ_INT(count_line("burstd_sink_dropped_close_total"
				"{sink=\"stdout\"} 26"),
		     1);
	CHECK_EQ_INT(count_line("burstd_sink_connects_total"
				"{sink=\"stdout\"} 27"),
		     1);
	CHECK_EQ_INT(count_line("burstd_input_lines_total{input=\"file0\"} 34"),
		     1);
	CHECK_EQ_INT(count_line("burstd_input_bytes_total{input=\"ship\"} 45"),
		     1);
	/* Durations in seconds, the base unit, exactly. */
	CHECK_EQ_INT(count_line("burstd_checkpoint_duration_seconds 5.000042"),
		     1);
	CHECK_EQ_INT(count_line("burstd_checkpoint_stall_seconds 0.000999"), 1);
	CHECK_EQ_INT(count_line("burstd_event_time_lag_seconds 61.005"), 1);
	CHECK_EQ_INT(count_line("burstd_config_last_reload_successful 1"), 1);
	CHECK_EQ_INT(count_line("burstd_config_last_reload_success_timestamp_"
				"seconds 1700000001"),
		     1);
	CHECK_EQ_INT(count_line("burstd_build_info{version=\"1.2.3\"} 1"), 1);
	CHECK_EQ_INT(count_line("# TYPE burstd_build_info gauge"), 1);
	CHECK_EQ_INT(count_line("process_start_time_seconds 1700000000"), 1);
	CHECK_EQ_INT(count_line("process_resident_memory_bytes 123456789"), 1);
	CHECK(check_families() > M__COUNT + 5);
	/* No line is a raw newline's remains: each is a comment or
	 * "name[{labels}] value". */
	for (size_t i = 0; i < nlines; i++)
		CHECK(lines[i][0] == '#' ||
		      strncmp(lines[i], "burstd_", 7) == 0 ||
		      strncmp(lines[i], "process_", 8) == 0);
	buf_free(&out);
}

static void
test_no_sinks_no_inputs(void)
{
	struct metrics m = {0};
	struct stats_source src = {.metrics = &m};
	struct buf out = {0};

	stats_render(&src, &out);
	buf_cstr(&out);
	CHECK(strstr(out.data, "burstd_sink_") == NULL);
	CHECK(strstr(out.data, "burstd_input_") == NULL);
	CHECK(strstr(out.data, "burstd_groups 0\n") != NULL);
	/* No ES|QL rules: no per-rule family, not even its HELP. */
	CHECK(strstr(out.data, "burstd_rule_") == NULL);
	split(out.data);
	check_families();
	buf_free(&out);
}

/*
 * Per ES|QL rule: every counter a rule keeps, its two gauges, labelled
 * by rule_id and name; the name's quote, backslash and newline escaped,
 * its bytes that are not UTF-8 as U+FFFD, the valid ones (U+00E9, a
 * four-byte U+1F600, a tab) as they are, and a name longer than any
 * line buffer whole.
 */
static void
test_render_rules(void)
{
	struct metrics m = {0}, r1 = {0}, r2 = {0};
	char longname[1200];
	struct stats_rule rules[] = {
	    {"0a6b9c1d-2222-4333-8444-555566667777",
	     "Say \"hi\"\\now\nthen \xc3\xa9\t\xf0\x9f\x98\x80 \xff\xc3(\xed\xa0\x80",
	     &r1, 4, 640},
	    {"id\"2", longname, &r2, 0, 0},
	};
	struct stats_source src = {.metrics = &m, .rules = rules, .nrules = 2};
	struct buf out = {0}, want = {0};
	char line[2048];
	int nrule = 0;

	memset(longname, 'n', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	for (int i = 0; i < M__COUNT; i++) {
		r1.v[i] = 100 + (uint64_t)i;
		r2.v[i] = 200 + (uint64_t)i;
		m.v[i] = 1;
	}
	stats_render(&src, &out);
	split(buf_cstr(&out));
	/* \xff alone, \xc3 cut short by '(', a UTF-16 surrogate (3 bytes):
	 * five replacement characters in all. */
	const char *esc =
	    "Say \\\"hi\\\"\\\\now\\nthen \xc3\xa9\t\xf0\x9f\x98\x80 "
	    "\xef\xbf\xbd\xef\xbf\xbd(\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd";
	for (int i = 0; i < M__COUNT; i++) {
		const char *n = metrics_name((enum metric)i);
		snprintf(line, sizeof(line),
			 "# TYPE burstd_rule_%s_total counter", n);
		CHECK_EQ_INT(count_line(line), i >= METRICS_RULE_FIRST);
		if (i < METRICS_RULE_FIRST)
			continue;
		nrule++;
		snprintf(line, sizeof(line),
			 "burstd_rule_%s_total{rule_id=\"0a6b9c1d-2222-4333-"
			 "8444-555566667777\",rule=\"%s\"} %d",
			 n, esc, 100 + i);
		CHECK_EQ_INT(count_line(line), 1);
		want.len = 0;
		snprintf(line, sizeof(line),
			 "burstd_rule_%s_total{rule_id=\"id\\\"2\",rule=\"", n);
		buf_append(&want, line, strlen(line));
		buf_append(&want, longname, strlen(longname));
		snprintf(line, sizeof(line), "\"} %d", 200 + i);
		buf_append(&want, line, strlen(line));
		CHECK_EQ_INT(count_line(buf_cstr(&want)), 1);
	}
	/* The rule's own counters: the matched and unmatched events, and
	 * from the timestamps on. */
	CHECK(nrule == M__COUNT - M_events_unmatched);
	CHECK_EQ_INT(count_line("# TYPE burstd_rule_alerts_total counter"), 1);
	CHECK_EQ_INT(count_line("# TYPE burstd_rule_bytes_read_total counter"),
		     0);
	snprintf(line, sizeof(line),
		 "burstd_rule_groups{rule_id=\"0a6b9c1d-2222-4333-8444-"
		 "555566667777\",rule=\"%s\"} 4",
		 esc);
	CHECK_EQ_INT(count_line(line), 1);
	snprintf(line, sizeof(line),
		 "burstd_rule_state_bytes{rule_id=\"0a6b9c1d-2222-4333-8444-"
		 "555566667777\",rule=\"%s\"} 640",
		 esc);
	CHECK_EQ_INT(count_line(line), 1);
	CHECK_EQ_INT(count_line("# TYPE burstd_rule_groups gauge"), 1);
	CHECK_EQ_INT(count_line("# TYPE burstd_rule_state_bytes gauge"), 1);
	/* The engine's totals are still there, unlabelled. */
	CHECK_EQ_INT(count_line("burstd_alerts_total 1"), 1);
	check_families();
	for (size_t i = 0; i < nlines; i++)
		CHECK(lines[i][0] == '#' ||
		      strncmp(lines[i], "burstd_", 7) == 0 ||
		      strncmp(lines[i], "process_", 8) == 0);
	buf_free(&out);
	buf_free(&want);
}

#define BIG (4 << 20) /* a snapshot no socket buffer holds */

static void
big_render(void *arg, struct buf *out)
{
	(void)arg;
	buf_reserve(out, BIG);
	memset(out->data + out->len, 'x', BIG);
	out->len += BIG;
}

static bool server_closed;

static void
closed_cb(void *arg)
{
	(void)arg;
	server_closed = true;
}

static void
spin(uv_loop_t *loop, int ms)
{
	for (int i = 0; i < ms / 10; i++) {
		uv_run(loop, UV_RUN_NOWAIT);
		usleep(10000);
	}
}

/* Reads what is there now: bytes, and whether the end came. */
static size_t
drain(int fd, bool *eof)
{
	char b[65536];
	size_t total = 0;
	ssize_t n;

	*eof = false;
	while ((n = recv(fd, b, sizeof(b), MSG_DONTWAIT)) > 0)
		total += (size_t)n;
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
		*eof = true;
	return total;
}

static void
test_server_limits(void)
{
	char dir[] = "/tmp/test_stats.XXXXXX", path[64];
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct stats_server *st;
	uv_loop_t loop;
	int fd[STATS_MAX_CLIENTS + 4], n = STATS_MAX_CLIENTS + 4;
	int served = 0, refused = 0;
	bool eof;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/stats.sock", dir);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	uv_loop_init(&loop);
	st = stats_new(&loop, path, big_render, NULL);
	CHECK(st != NULL);
	for (int i = 0; i < n; i++) {
		fd[i] = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
		CHECK(connect(fd[i], (struct sockaddr *)&sun, sizeof(sun)) ==
		      0);
		spin(&loop, 50); /* accepted, one write under way */
	}
	spin(&loop, 200);
	/* Served ones have bytes waiting; refused ones only the end. */
	for (int i = 0; i < n; i++) {
		size_t got = drain(fd[i], &eof);
		if (got > 0 && !eof)
			served++;
		else if (got == 0 && eof)
			refused++;
	}
	CHECK_EQ_INT(served, STATS_MAX_CLIENTS);
	CHECK_EQ_INT(refused, n - STATS_MAX_CLIENTS);
	/* Nobody reads on: every client is closed after the timeout, and
	 * the server can close. */
	spin(&loop, STATS_WRITE_TIMEOUT_MS + 1000);
	for (int i = 0; i < STATS_MAX_CLIENTS; i++) {
		size_t got = 0;
		for (int k = 0; k < 100; k++) {
			got += drain(fd[i], &eof);
			if (eof)
				break;
			usleep(10000);
		}
		CHECK(eof);
		CHECK(got < BIG);
	}
	stats_close(st, closed_cb, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	CHECK(server_closed);
	CHECK_EQ_INT(uv_loop_close(&loop), 0);
	CHECK(access(path, F_OK) != 0);
	for (int i = 0; i < n; i++)
		close(fd[i]);
	rmdir(dir);
}

int
main(void)
{
	test_render();
	test_no_sinks_no_inputs();
	test_render_rules();
	test_server_limits();
	return check_exit();
}
