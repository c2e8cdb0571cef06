/*
 * sink_file: the file sink's throughput and its reference points, for
 * scripts/bench-sink.  Each mode writes the same N alert lines (about
 * 600 bytes each, as the default rule's alerts are) to FILE:
 *
 *   sink_file sink FILE N    through a file sink (queue_max 10000), fed
 *                            as fast as its queue takes them, none
 *                            dropped; timed until every line is written
 *   sink_file write FILE N   a plain loop, one write() per line
 *   sink_file block FILE N   the same bytes in 1 MiB write()s (dd's way)
 *
 * Prints "MODE ALERTS SECONDS DROPPED" on stdout.  Nothing is fsynced:
 * every mode ends with the bytes in the page cache.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "conf.h"
#include "sink.h"
#include "util.h"

#define QUEUE_MAX 10000

static char line[1024];
static size_t line_len;

/* Line i: the same shape each time, a different uuid. */
static void
make_line(uint64_t i)
{
	int n = snprintf(
	    line, sizeof(line),
	    "{\"@timestamp\":\"2026-01-01T00:00:00.000Z\","
	    "\"kibana.alert.uuid\":\"%016" PRIx64 "%016" PRIx64 "\","
	    "\"kibana.alert.rule.name\":\"Suspicious Python Shell Command "
	    "Execution\",\"Esql.process_command_line_count_distinct\":5,"
	    "\"Esql.time_window_date_trunc\":\"2026-01-01T00:00:00.000Z\","
	    "\"process.parent.entity_id\":\"EntityId-%08" PRIu64 "\","
	    "\"agent.id\":\"agent-%04" PRIu64
	    "\",\"host.name\":\"host-%04" PRIu64
	    "\",\"Esql.process_command_line_values\":[\"sh -c grep -r "
	    "key /etc\",\"sh -c find / -perm -4000\",\"sh -c curl -s "
	    "http://h/x\",\"sh -c env | sort\",\"sh -c wget -q http://h/y\"]"
	    ",\"Esql.event_count\":5}\n",
	    (uint64_t)(i * 0x9e3779b97f4a7c15ULL), i, i, i % 1000, i % 1000);

	line_len = (size_t)n;
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct feed {
	struct sink *sink;
	uint64_t n;       /* lines to write */
	uint64_t pushed;  /* lines pushed so far */
	uv_check_t check; /* tops the queue up after each loop turn */
	double end;       /* when the last line was written */
	uint64_t dropped; /* lines the sink dropped (should be none) */
	bool closing;
};

static void
closed_cb(void *arg)
{
	(void)arg;
}

static void
top_up(struct feed *fd)
{
	const struct sink_stats *st = sink_stats(fd->sink);

	while (fd->pushed < fd->n && st->depth < QUEUE_MAX) {
		make_line(fd->pushed++);
		sink_push(fd->sink, line, line_len);
	}
	if (st->sent + st->dropped_full == fd->n && !fd->closing) {
		fd->end = now_s();
		fd->dropped = st->dropped_full;
		fd->closing = true;
		uv_check_stop(&fd->check);
		uv_close((uv_handle_t *)&fd->check, NULL);
		sink_close(fd->sink, closed_cb, NULL);
	}
}

static void
check_cb(uv_check_t *h)
{
	top_up(h->data);
}

static int
run_sink(const char *path, uint64_t n, double *secs, uint64_t *dropped)
{
	struct sink_conf sc = {.type = SINK_FILE,
			       .path = (char *)path,
			       .queue_max = QUEUE_MAX,
			       .backoff_min_ms = 100,
			       .backoff_max_ms = 1000};
	struct feed fd = {.n = n};
	uv_loop_t loop;
	double t0;

	uv_loop_init(&loop);
	fd.sink = sink_new(&loop, &sc);
	uv_check_init(&loop, &fd.check);
	fd.check.data = &fd;
	uv_check_start(&fd.check, check_cb);
	t0 = now_s();
	top_up(&fd);
	uv_run(&loop, UV_RUN_DEFAULT);
	*dropped = fd.dropped;
	*secs = fd.end - t0;
	if (uv_loop_close(&loop) != 0)
		return -1;
	return fd.closing ? 0 : -1;
}

static int
run_plain(const char *path, uint64_t n, bool block, double *secs)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_TRUNC, 0640);
	struct buf b = {0};
	double t0;

	if (fd < 0)
		return -1;
	t0 = now_s();
	for (uint64_t i = 0; i < n; i++) {
		make_line(i);
		if (!block) {
			if (write(fd, line, line_len) != (ssize_t)line_len)
				return -1;
			continue;
		}
		buf_append(&b, line, line_len);
		if (b.len >= 1024 * 1024 || i + 1 == n) {
			if (write(fd, b.data, b.len) != (ssize_t)b.len)
				return -1;
			b.len = 0;
		}
	}
	*secs = now_s() - t0;
	buf_free(&b);
	return close(fd);
}

int
main(int argc, char **argv)
{
	uint64_t n, dropped = 0;
	double secs = 0;
	int rc;

	if (argc != 4 || (n = strtoull(argv[3], NULL, 10)) == 0) {
		fprintf(stderr, "usage: sink_file sink|write|block FILE N\n");
		return 2;
	}
	unlink(argv[2]);
	if (strcmp(argv[1], "sink") == 0)
		rc = run_sink(argv[2], n, &secs, &dropped);
	else if (strcmp(argv[1], "write") == 0)
		rc = run_plain(argv[2], n, false, &secs);
	else if (strcmp(argv[1], "block") == 0)
		rc = run_plain(argv[2], n, true, &secs);
	else
		rc = 2;
	if (rc != 0) {
		fprintf(stderr, "sink_file %s: failed\n", argv[1]);
		return 1;
	}
	printf("%s %" PRIu64 " %.6f %" PRIu64 "\n", argv[1], n, secs, dropped);
	return 0;
}
