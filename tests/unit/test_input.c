/*
 * input: file tailing (append, partial lines, rename rotation with
 * writes to the old file, copytruncate, delete and re-create, globs that
 * match later, start_at end, directories with no watch, fairness between
 * a huge and a small file), committed positions (a held partial line is
 * not committed, detached files are reported) and resuming from them
 * (only what follows is read; a file rewritten in place is not resumed),
 * the Unix socket listener (interleaved
 * clients, a garbage client, max_clients, stale, live and non-socket
 * paths) and stdin (a regular file and a pipe).
 *
 * Everything runs on a real loop with real files and sockets in a fresh
 * temporary directory; every wait is bounded by a loop timer.  Lines are
 * counted through the engine's counters: the events written all pass the
 * rule's filter, so a line lost, doubled or garbled shows in
 * events_matched or json_invalid.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <uv.h>
#include <xxhash.h>

#include "check.h"
#include "conf.h"
#include "engine.h"
#include "input.h"

#define WAIT_MS 5000  /* longest wait for something expected */
#define SETTLE_MS 200 /* how long to wait for something not to happen */

static int64_t close_inactive_ms = 300; /* new_files(): close_inactive */

static uv_loop_t loop;
static char tmpdir[64];
static struct conf *conf;
static struct engine *eng;
static struct metrics *m;
static char alerts[1 << 16];
static size_t alerts_len, nalerts;

static void
out_cb(void *arg, const char *json, size_t len)
{
	(void)arg;
	if (alerts_len + len < sizeof(alerts)) {
		memcpy(alerts + alerts_len, json, len);
		alerts_len += len;
		alerts[alerts_len] = '\0';
	}
	nalerts++;
}

/* One event that passes the rule's filter. */
static const char *
event(const char *agent, int i, const char *cmd)
{
	static char buf[1024];

	snprintf(
	    buf, sizeof(buf),
	    "{\"@timestamp\":\"2024-05-01T12:00:%02d.5+00:00\",\"agent\":"
	    "{\"id\":\"%s\"},\"host\":{\"name\":\"h\",\"os\":{\"type\":"
	    "\"linux\"}},\"event\":{\"type\":\"start\",\"action\":\"exec\","
	    "\"dataset\":\"endpoint.events.process\"},\"process\":{\"name\":"
	    "\"sh\",\"args\":[\"sh\",\"-c\",\"%s\"],\"command_line\":\"sh -c "
	    "%s\",\"parent\":{\"name\":\"python3\"}}}\n",
	    i % 60, agent, cmd, cmd);
	return buf;
}

static const char *
ev(int i)
{
	char cmd[32];

	snprintf(cmd, sizeof(cmd), "cmd %d", i);
	return event("f", i, cmd);
}

static void
engine_reset(void)
{
	engine_free(eng);
	eng = engine_new(conf, false, out_cb, NULL);
	engine_set_clock(eng, 1);
	m = engine_metrics(eng);
	alerts_len = nalerts = 0;
}

/* ---- the loop ---- */

static void
tick_cb(uv_timer_t *h)
{
	(void)h;
}

static uint64_t want;
static enum metric want_metric;

static bool
is_metric_reached(void)
{
	return m->v[want_metric] >= want;
}

static const uint64_t *want_stat;

static bool
is_stat_reached(void)
{
	return *want_stat >= want;
}

/*
 * Runs the loop until cond() holds or timeout_ms pass; a repeating timer
 * makes every iteration end.  Returns cond().
 */
static bool
run_until(bool (*cond)(void), uint64_t timeout_ms)
{
	uv_timer_t tick;
	uint64_t deadline;
	bool ok = false;

	uv_update_time(&loop);
	deadline = uv_now(&loop) + timeout_ms;
	uv_timer_init(&loop, &tick);
	uv_timer_start(&tick, tick_cb, 2, 2);
	while (!(ok = cond != NULL && cond()) && uv_now(&loop) < deadline)
		uv_run(&loop, UV_RUN_ONCE);
	uv_close((uv_handle_t *)&tick, NULL);
	uv_run(&loop, UV_RUN_NOWAIT);
	return ok;
}

static void
settle(void)
{
	run_until(NULL, SETTLE_MS);
}

static bool
wait_metric(enum metric which, uint64_t n)
{
	want_metric = which;
	want = n;
	return run_until(is_metric_reached, WAIT_MS);
}

static bool
wait_stat(const uint64_t *p, uint64_t n)
{
	want_stat = p;
	want = n;
	return run_until(is_stat_reached, WAIT_MS);
}

#define WAIT_MATCHED(n) CHECK(wait_metric(M_events_matched, (n)))

static bool closed;
static struct input_stats last; /* read in the close callback */

static void
closed_cb(void *arg)
{
	last = *input_stats(arg);
	closed = true;
}

static bool
is_closed(void)
{
	return closed;
}

static void
stop(struct input *in)
{
	closed = false;
	input_close(in, closed_cb, in);
	CHECK(!closed); /* called back from the loop, not from input_close */
	CHECK(run_until(is_closed, WAIT_MS));
}

/* ---- files ---- */

static void
path_of(char *buf, size_t n, const char *name)
{
	snprintf(buf, n, "%s/%s", tmpdir, name);
}

static void
write_all(int fd, const char *s)
{
	size_t len = strlen(s);

	while (len > 0) {
		ssize_t w = write(fd, s, len);
		if (w < 0 && errno == EINTR)
			continue;
		CHECK(w > 0);
		if (w <= 0)
			return;
		s += w;
		len -= (size_t)w;
	}
}

static void
append(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0644);

	CHECK(fd >= 0);
	if (fd < 0)
		return;
	write_all(fd, s);
	close(fd);
}

static int
open_log(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0644);

	CHECK(fd >= 0);
	return fd;
}

static uint64_t
size_of(const char *path)
{
	struct stat st;

	CHECK(stat(path, &st) == 0);
	return (uint64_t)st.st_size;
}

/* A file input, not started yet. */
static struct input *
new_files(const char *pattern, bool at_end, int64_t rescan_ms, int64_t poll_ms)
{
	char *pats[1] = {(char *)pattern};
	struct input_conf ic = {
	    .type = INPUT_FILE,
	    .paths = {pats, 1},
	    .start_at_end = at_end,
	    .rescan_ms = rescan_ms,
	    .poll_ms = poll_ms,
	    .close_inactive_ms = close_inactive_ms,
	};

	return input_new(&loop, &ic, conf, eng);
}

static struct input *
start_files_every(const char *pattern, bool at_end, int64_t rescan_ms,
		  int64_t poll_ms)
{
	struct input *in = new_files(pattern, at_end, rescan_ms, poll_ms);

	CHECK_EQ_INT(input_start(in), 0);
	return in;
}

static struct input *
start_files(const char *pattern, bool at_end)
{
	return start_files_every(pattern, at_end, 300, 50);
}

static void
subdir(char *buf, size_t n, const char *name)
{
	path_of(buf, n, name);
	CHECK(mkdir(buf, 0755) == 0);
}

static void
test_append(void)
{
	char d[128], path[192];
	struct input *in;
	uint64_t bytes = 0;

	engine_reset();
	subdir(d, sizeof(d), "append");
	snprintf(path, sizeof(path), "%s/a.log", d);
	for (int i = 0; i < 2; i++) {
		bytes += strlen(ev(i));
		append(path, ev(i));
	}
	in = start_files(path, false);
	WAIT_MATCHED(2);
	for (int i = 2; i < 5; i++) {
		bytes += strlen(ev(i));
		append(path, ev(i));
	}
	WAIT_MATCHED(5);
	settle();
	CHECK_EQ_INT(m->v[M_events_matched], 5);
	CHECK_EQ_INT(m->v[M_lines_read], 5);
	CHECK_EQ_INT(m->v[M_bytes_read], bytes);
	CHECK_EQ_INT(input_stats(in)->files_opened, 1);
	stop(in);
	CHECK_EQ_INT(last.partial_dropped, 0);
}

static void
test_partial(void)
{
	char d[128], path[192], half[1024];
	const char *e;
	struct input *in;

	engine_reset();
	subdir(d, sizeof(d), "partial");
	snprintf(path, sizeof(path), "%s/p.log", d);
	append(path, "");
	in = start_files(path, false);
	e = ev(1);
	snprintf(half, sizeof(half), "%.*s", 100, e);
	append(path, half);
	settle();
	CHECK_EQ_INT(m->v[M_lines_read], 0);
	append(path, e + 100);
	WAIT_MATCHED(1);
	CHECK_EQ_INT(m->v[M_json_invalid], 0);
	/* A partial line held at close is dropped and counted. */
	append(path, half);
	settle();
	stop(in);
	CHECK_EQ_INT(m->v[M_lines_read], 1);
	CHECK_EQ_INT(last.partial_dropped, 1);
}

static void
test_rotate(void)
{
	char d[128], path[192], old1[192], old2[192], half[1024];
	const char *e;
	struct input *in;
	int fd;

	engine_reset();
	subdir(d, sizeof(d), "rotate");
	snprintf(path, sizeof(path), "%s/a.log", d);
	snprintf(old1, sizeof(old1), "%s/a.log.1", d);
	snprintf(old2, sizeof(old2), "%s/a.log.2", d);
	fd = open_log(path);
	for (int i = 0; i < 3; i++)
		write_all(fd, ev(i));
	in = start_files(path, false);
	WAIT_MATCHED(3);

	/* Rename mid-line; the writer finishes the line in the old file. */
	e = ev(3);
	snprintf(half, sizeof(half), "%.*s", 50, e);
	write_all(fd, half);
	settle();
	CHECK(rename(path, old1) == 0);
	settle();
	write_all(fd, e + 50);
	write_all(fd, ev(4));
	WAIT_MATCHED(5); /* still read, under its new name */
	close(fd);
	fd = open_log(path);
	write_all(fd, ev(5));
	write_all(fd, ev(6));
	WAIT_MATCHED(7);
	CHECK(wait_stat(&input_stats(in)->rotations, 1));

	/* Rename, write to the old file and create the new one at once. */
	write_all(fd, ev(7));
	CHECK(rename(path, old2) == 0);
	write_all(fd, ev(8));
	close(fd);
	fd = open_log(path);
	write_all(fd, ev(9));
	WAIT_MATCHED(10);
	CHECK(wait_stat(&input_stats(in)->rotations, 2));
	write_all(fd, ev(10));
	WAIT_MATCHED(11);
	close(fd);
	settle();
	CHECK_EQ_INT(m->v[M_events_matched], 11);
	CHECK_EQ_INT(m->v[M_lines_read], 11);
	CHECK_EQ_INT(m->v[M_json_invalid], 0);
	CHECK_EQ_INT(input_stats(in)->files_opened, 3);
	CHECK_EQ_INT(input_stats(in)->rotations, 2);
	stop(in);
	CHECK_EQ_INT(last.partial_dropped, 0);
}

static void
test_copytruncate(void)
{
	char d[128], path[192], half[1024];
	struct input *in;

	engine_reset();
	subdir(d, sizeof(d), "truncate");
	snprintf(path, sizeof(path), "%s/c.log", d);
	for (int i = 0; i < 3; i++)
		append(path, ev(i));
	snprintf(half, sizeof(half), "%.*s", 80, ev(3));
	append(path, half);
	in = start_files(path, false);
	WAIT_MATCHED(3);
	settle();
	/* copytruncate: copied elsewhere, truncated, written on. */
	CHECK(truncate(path, 0) == 0);
	append(path, ev(4));
	WAIT_MATCHED(4);
	CHECK_EQ_INT(input_stats(in)->truncations, 1);
	append(path, ev(5));
	WAIT_MATCHED(5);
	settle();
	CHECK_EQ_INT(m->v[M_events_matched], 5);
	CHECK_EQ_INT(m->v[M_json_invalid], 0);
	CHECK_EQ_INT(input_stats(in)->truncations, 1);
	stop(in);
	CHECK_EQ_INT(last.partial_dropped, 1); /* the half line */
}

static void
test_recreate(void)
{
	char d[128], path[192];
	struct input *in;

	engine_reset();
	subdir(d, sizeof(d), "recreate");
	snprintf(path, sizeof(path), "%s/d.log", d);
	append(path, ev(0));
	append(path, ev(1));
	in = start_files(path, false);
	WAIT_MATCHED(2);
	/* Deleted and created again at once. */
	CHECK(unlink(path) == 0);
	append(path, ev(2));
	append(path, ev(3));
	WAIT_MATCHED(4);
	CHECK(wait_stat(&input_stats(in)->rotations, 1));
	/* Deleted, noticed, then created again. */
	CHECK(unlink(path) == 0);
	settle();
	append(path, ev(4));
	WAIT_MATCHED(5);
	CHECK(wait_stat(&input_stats(in)->rotations, 2));
	settle();
	CHECK_EQ_INT(m->v[M_events_matched], 5);
	CHECK_EQ_INT(input_stats(in)->files_opened, 3);
	stop(in);
}

static void
test_glob_new(void)
{
	char d[128], pattern[192], oldp[192], newp[192];
	struct input *in;

	engine_reset();
	subdir(d, sizeof(d), "glob");
	snprintf(pattern, sizeof(pattern), "%s/*.log", d);
	snprintf(oldp, sizeof(oldp), "%s/old.log", d);
	snprintf(newp, sizeof(newp), "%s/new.log", d);
	append(oldp, ev(0));
	append(oldp, ev(1));
	in = start_files(pattern, true);
	settle();
	CHECK_EQ_INT(m->v[M_lines_read], 0); /* start_at: end */
	/* Created after start: read from its beginning. */
	append(newp, ev(2));
	append(newp, ev(3));
	append(newp, ev(4));
	WAIT_MATCHED(3);
	append(oldp, ev(5));
	WAIT_MATCHED(4);
	settle();
	CHECK_EQ_INT(m->v[M_events_matched], 4);
	CHECK_EQ_INT(input_stats(in)->files_opened, 2);
	stop(in);
}

static void
test_start_end(void)
{
	char d[128], path[192], half[1024];
	const char *e;
	struct input *in;

	engine_reset();
	subdir(d, sizeof(d), "end");
	snprintf(path, sizeof(path), "%s/e.log", d);
	append(path, ev(0));
	append(path, ev(1));
	e = ev(2);
	snprintf(half, sizeof(half), "%.*s", 60, e);
	append(path, half);
	in = start_files(path, true);
	settle();
	CHECK_EQ_INT(m->v[M_lines_read], 0);
	/* The unfinished last line is read whole once finished. */
	append(path, ev(2) + 60);
	WAIT_MATCHED(1);
	append(path, ev(3));
	WAIT_MATCHED(2);
	settle();
	CHECK_EQ_INT(m->v[M_events_matched], 2);
	CHECK_EQ_INT(m->v[M_json_invalid], 0);
	stop(in);
}

/* A pattern in the directory part: no watch, rescans and polls only. */
static void
test_poll_only(void)
{
	char d[128], sub1[192], sub2[192], pattern[192], p1[256], p2[256];
	struct input *in;

	engine_reset();
	subdir(d, sizeof(d), "poll");
	snprintf(pattern, sizeof(pattern), "%s/s*/x.log", d);
	snprintf(sub1, sizeof(sub1), "%s/s1", d);
	snprintf(sub2, sizeof(sub2), "%s/s2", d);
	snprintf(p1, sizeof(p1), "%s/x.log", sub1);
	snprintf(p2, sizeof(p2), "%s/x.log", sub2);
	CHECK(mkdir(sub1, 0755) == 0);
	append(p1, ev(0));
	in = start_files(pattern, false);
	WAIT_MATCHED(1);
	append(p1, ev(1));
	WAIT_MATCHED(2);
	CHECK(mkdir(sub2, 0755) == 0);
	append(p2, ev(2));
	WAIT_MATCHED(3);
	settle();
	CHECK_EQ_INT(m->v[M_events_matched], 3);
	stop(in);
}

/* With polls and rescans an hour apart, directory events do it all. */
static void
test_inotify(void)
{
	char d[128], pattern[192], a[192], b[192], b1[192];
	struct input *in;

	engine_reset();
	subdir(d, sizeof(d), "inotify");
	snprintf(pattern, sizeof(pattern), "%s/*.log", d);
	snprintf(a, sizeof(a), "%s/a.log", d);
	snprintf(b, sizeof(b), "%s/b.log", d);
	snprintf(b1, sizeof(b1), "%s/b.log.1", d);
	append(a, ev(0));
	in = start_files_every(pattern, false, 3600000, 3600000);
	WAIT_MATCHED(1);
	append(a, ev(1)); /* growth */
	WAIT_MATCHED(2);
	append(b, ev(2)); /* a new file */
	WAIT_MATCHED(3);
	CHECK(rename(b, b1) == 0); /* rotation */
	append(b1, ev(3));
	append(b, ev(4));
	WAIT_MATCHED(5);            /* both read; b.log.1 closes idle */
	CHECK(truncate(a, 0) == 0); /* copytruncate */
	append(a, ev(5));
	WAIT_MATCHED(6);
	CHECK_EQ_INT(input_stats(in)->truncations, 1);
	settle();
	CHECK_EQ_INT(m->v[M_events_matched], 6);
	stop(in);
}

/*
 * Unreadable files are logged, counted and retried at the next rescan;
 * then read from their beginning.  Root reads anything: skipped then.
 */
static void
test_unreadable(void)
{
	char d[128], pattern[192], path[192];
	struct input *in;

	if (geteuid() == 0) {
		fprintf(stderr, "test_unreadable: skipped (running as root)\n");
		return;
	}
	engine_reset();
	subdir(d, sizeof(d), "unreadable");
	snprintf(pattern, sizeof(pattern), "%s/*.log", d);
	snprintf(path, sizeof(path), "%s/u.log", d);
	in = start_files(pattern, false);
	append(path, ev(0));
	CHECK(chmod(path, 0) == 0);
	CHECK(wait_stat(&input_stats(in)->open_errors, 1));
	CHECK_EQ_INT(m->v[M_lines_read], 0);
	CHECK(chmod(path, 0644) == 0);
	WAIT_MATCHED(1);
	CHECK_EQ_INT(input_stats(in)->files_opened, 1);
	stop(in);
}

/* At most 1024 files are followed; the rest are refused and counted. */
static void
test_many_files(void)
{
	char d[128], pattern[192], path[192];
	struct input *in;
	struct rlimit rl;
	const int n = 1030;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 1200 &&
	    rl.rlim_max >= 1200) {
		rl.rlim_cur = 1200;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur < 1200) {
		fprintf(stderr, "test_many_files: skipped (RLIMIT_NOFILE)\n");
		return;
	}
	engine_reset();
	subdir(d, sizeof(d), "many");
	snprintf(pattern, sizeof(pattern), "%s/*.log", d);
	for (int i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%04d.log", d, i);
		append(path, ev(i));
	}
	in = start_files(pattern, false);
	WAIT_MATCHED(1024);
	settle();
	CHECK_EQ_INT(m->v[M_events_matched], 1024);
	CHECK_EQ_INT(input_stats(in)->files_opened, 1024);
	CHECK(input_stats(in)->open_errors >= (uint64_t)(n - 1024));
	stop(in);
}

/* A huge file cannot keep a small one waiting. */
static void
test_fair(void)
{
	char d[128], pattern[192], big[192], small[192];
	static char chunk[1 << 16];
	struct input *in;
	size_t line = 16, total = 0;
	int fd;

	engine_reset();
	subdir(d, sizeof(d), "fair");
	snprintf(pattern, sizeof(pattern), "%s/*.log", d);
	snprintf(big, sizeof(big), "%s/a-big.log", d);
	snprintf(small, sizeof(small), "%s/b-small.log", d);
	for (size_t i = 0; i + line <= sizeof(chunk); i += line)
		memcpy(chunk + i, "{\"n\":123456789}\n", line);
	fd = open_log(big);
	for (int i = 0; i < 128; i++) { /* 8 MiB */
		CHECK(write(fd, chunk, sizeof(chunk)) == sizeof(chunk));
		total += sizeof(chunk);
	}
	close(fd);
	append(small, ev(0));
	total += strlen(ev(0));
	in = start_files(pattern, false);
	WAIT_MATCHED(1);
	CHECK(m->v[M_bytes_read] <= 2 * 1024 * 1024);
	CHECK(wait_metric(M_bytes_read, total));
	CHECK_EQ_INT(m->v[M_lines_read], sizeof(chunk) / line * 128 + 1);
	stop(in);
}

/*
 * A writer that reopens its log late: the renamed file, still open, is
 * read while it grows, its successor meanwhile too, and it is closed
 * only after close_inactive without growth.
 */
static void
test_late_reopen(void)
{
	char d[128], path[192], old[192];
	struct input *in;
	int fd;

	engine_reset();
	close_inactive_ms = 4000; /* well above the waits below */
	subdir(d, sizeof(d), "late");
	snprintf(path, sizeof(path), "%s/a.log", d);
	snprintf(old, sizeof(old), "%s/a.log.1", d);
	fd = open_log(path);
	write_all(fd, ev(0));
	in = start_files(path, false);
	WAIT_MATCHED(1);
	CHECK(rename(path, old) == 0);
	append(path, ""); /* logrotate's create */
	append(path, ev(1));
	WAIT_MATCHED(2);
	/* Several polls and rescans later, the writer writes on. */
	run_until(NULL, 700);
	CHECK_EQ_INT(input_stats(in)->rotations, 0);
	for (int i = 2; i < 8; i++)
		write_all(fd, ev(i));
	WAIT_MATCHED(8);
	append(path, ev(8));
	WAIT_MATCHED(9);
	run_until(NULL, 700);
	write_all(fd, ev(9));
	WAIT_MATCHED(10);
	CHECK_EQ_INT(input_stats(in)->rotations, 0);
	/* Then it reopens; the old file goes idle and is closed. */
	close(fd);
	run_until(NULL, 3000);
	CHECK(wait_stat(&input_stats(in)->rotations, 1));
	CHECK_EQ_INT(input_stats(in)->closed_early, 0);
	CHECK_EQ_INT(input_stats(in)->files_opened, 2);
	settle();
	CHECK_EQ_INT(m->v[M_lines_read], 10);
	CHECK_EQ_INT(m->v[M_json_invalid], 0);
	stop(in);
	CHECK_EQ_INT(last.partial_dropped, 0);
	close_inactive_ms = 300;
}

/* An event of minute min (12:min), else like ev(i). */
static const char *
ev_at(int min, int i)
{
	static char buf[1024];
	char cmd[32];
	const char *e;

	snprintf(cmd, sizeof(cmd), "cmd %d", i);
	e = event("f", i, cmd);
	snprintf(buf, sizeof(buf), "%.*s%02d%s", 29, e, min, e + 31);
	return buf;
}

/*
 * A reader behind a rotation: the rotated file's rest (minute 0) is read
 * before its successor (minute 5), so none of it is late.
 */
static void
test_rotated_first(void)
{
	char d[128], path[192], old[192];
	struct input *in;
	int fd, n = 0;

	engine_reset();
	subdir(d, sizeof(d), "order");
	snprintf(path, sizeof(path), "%s/a.log", d);
	snprintf(old, sizeof(old), "%s/a.log.1", d);
	fd = open_log(path);
	in = start_files(path, false);
	settle();
	/* The loop does not run meanwhile: all this waits for the reader. */
	for (; n < 6000; n++) /* about 2.5 MiB, several passes */
		write_all(fd, ev_at(0, n));
	CHECK(rename(path, old) == 0);
	append(path, ev_at(5, n));
	append(path, ev_at(5, n + 1));
	WAIT_MATCHED((uint64_t)n + 2);
	settle();
	CHECK_EQ_INT(m->v[M_events_matched], n + 2);
	CHECK_EQ_INT(m->v[M_events_late], 0);
	CHECK_EQ_INT(m->v[M_events_too_late], 0);
	close(fd);
	stop(in);
}

/*
 * More rotated files than MAX_DETACHED (64) that never go idle: the
 * oldest are closed early, at their end, and counted; nothing is lost.
 */
static void
test_detached_bound(void)
{
	char d[128], path[192], old[192];
	struct input *in;
	const int n = 70;

	engine_reset();
	close_inactive_ms = 3600 * 1000;
	subdir(d, sizeof(d), "bound");
	snprintf(path, sizeof(path), "%s/a.log", d);
	append(path, ev(0));
	in = start_files(path, false);
	WAIT_MATCHED(1);
	for (int i = 1; i <= n; i++) {
		snprintf(old, sizeof(old), "%s/a.log.%d", d, i);
		CHECK(rename(path, old) == 0);
		append(path, ev(i));
		WAIT_MATCHED((uint64_t)i + 1);
	}
	CHECK(wait_stat(&input_stats(in)->closed_early, n - 64));
	settle();
	CHECK_EQ_INT(input_stats(in)->closed_early, n - 64);
	CHECK_EQ_INT(input_stats(in)->rotations, n - 64);
	CHECK_EQ_INT(m->v[M_lines_read], n + 1);
	stop(in);
	close_inactive_ms = 300;
}

/*
 * Truncated and written past the old offset before the tail looked: the
 * size never fell below the offset, but the bytes before it changed.
 */
static void
test_rewritten(void)
{
	char d[128], path[192], line[64];
	struct input *in;
	uint64_t off;
	int n;

	engine_reset();
	subdir(d, sizeof(d), "rewritten");
	snprintf(path, sizeof(path), "%s/w.log", d);
	for (int i = 0; i < 3; i++)
		append(path, ev(i));
	in = start_files(path, false);
	WAIT_MATCHED(3);
	settle();
	off = size_of(path);
	/* The loop does not run meanwhile: no look in between. */
	CHECK(truncate(path, 0) == 0);
	for (n = 0; size_of(path) < off + 100; n++) {
		snprintf(line, sizeof(line), "{\"rewritten\":%d}\n", n);
		append(path, line);
	}
	CHECK(wait_metric(M_lines_read, 3 + (uint64_t)n));
	settle();
	CHECK_EQ_INT(m->v[M_lines_read], 3 + n);
	CHECK_EQ_INT(input_stats(in)->truncations, 1);
	/* Appends after that are not mistaken for another rewrite. */
	append(path, ev(3));
	WAIT_MATCHED(4);
	settle();
	CHECK_EQ_INT(input_stats(in)->truncations, 1);
	CHECK_EQ_INT(m->v[M_lines_read], 4 + n);
	stop(in);
}

/* ---- positions and resume ---- */

#define MAX_POS 4 /* positions a test keeps */

struct positions {
	size_t n;                           /* positions reported */
	char path[MAX_POS][256];            /* the first ones' paths */
	struct input_position pos[MAX_POS]; /* and positions */
};

static void
position_cb(void *arg, const char *path, const struct input_position *pos)
{
	struct positions *ps = arg;

	if (ps->n < MAX_POS) {
		snprintf(ps->path[ps->n], sizeof(ps->path[0]), "%s", path);
		ps->pos[ps->n] = *pos;
	}
	ps->n++;
}

static void
get_positions(struct input *in, struct positions *ps)
{
	memset(ps, 0, sizeof(*ps));
	input_positions(in, position_cb, ps);
}

/* Checks that pos is the one of path at offset off. */
static void
check_position(const struct input_position *pos, const char *path, uint64_t off)
{
	char b[64];
	struct stat st;
	uint32_t len = off < sizeof(b) ? (uint32_t)off : sizeof(b);
	int fd = open(path, O_RDONLY);

	CHECK(fd >= 0 && fstat(fd, &st) == 0);
	CHECK_EQ_INT(pos->dev, st.st_dev);
	CHECK_EQ_INT(pos->ino, st.st_ino);
	CHECK_EQ_INT(pos->offset, off);
	CHECK_EQ_INT(pos->tail_len, len);
	CHECK(pread(fd, b, len, (off_t)(off - len)) == (ssize_t)len);
	CHECK(pos->tail_hash == (len > 0 ? XXH3_64bits(b, len) : 0));
	close(fd);
}

/* Restarted: npos positions taken at saved_ms. */
static struct input *
start_restarted(const char *path, bool at_end, const struct input_position *pos,
		size_t npos, int64_t saved_ms)
{
	struct input *in = new_files(path, at_end, 300, 50);

	input_set_resume(in, pos, npos, saved_ms);
	CHECK_EQ_INT(input_start(in), 0);
	return in;
}

static struct input *
start_resumed(const char *path, bool at_end, const struct input_position *pos)
{
	return start_restarted(path, at_end, pos, 1, real_now_ms());
}

static void
test_resume(void)
{
	char d[128], path[192], half[1024], line[64];
	struct positions ps;
	struct input_position saved;
	struct input *in;
	uint64_t end10 = 0, size, ino;
	int n = 0;

	engine_reset();
	subdir(d, sizeof(d), "resume");
	snprintf(path, sizeof(path), "%s/r.log", d);
	for (int i = 0; i < 10; i++) {
		end10 += strlen(ev(i));
		append(path, ev(i));
	}
	snprintf(half, sizeof(half), "%.*s", 70, ev(10));
	append(path, half);
	in = start_files(path, false);
	WAIT_MATCHED(10);
	settle();
	/* The half line held by the framer is not committed. */
	get_positions(in, &ps);
	CHECK_EQ_INT(ps.n, 1);
	CHECK_STR(ps.path[0], path);
	check_position(&ps.pos[0], path, end10);
	CHECK_EQ_INT(ps.pos[0].tail_len, 64);
	saved = ps.pos[0];
	stop(in);

	/* While stopped, the half line is finished and two more follow. */
	append(path, ev(10) + 70);
	append(path, ev(11));
	append(path, ev(12));
	size = size_of(path);

	/* start_at beginning, resumed: only the lines after the offset. */
	engine_reset();
	in = start_resumed(path, false, &saved);
	WAIT_MATCHED(3);
	settle();
	CHECK_EQ_INT(m->v[M_lines_read], 3);
	CHECK_EQ_INT(m->v[M_events_matched], 3);
	CHECK_EQ_INT(m->v[M_json_invalid], 0);
	CHECK_EQ_INT(m->v[M_bytes_read], size - end10);
	CHECK_EQ_INT(input_stats(in)->files_opened, 1);
	get_positions(in, &ps);
	CHECK_EQ_INT(ps.n, 1);
	check_position(&ps.pos[0], path, size);
	saved = ps.pos[0];
	stop(in);

	/* start_at end, resumed: the offset wins too. */
	append(path, ev(13));
	engine_reset();
	in = start_resumed(path, true, &saved);
	WAIT_MATCHED(1);
	settle();
	CHECK_EQ_INT(m->v[M_lines_read], 1);
	get_positions(in, &ps);
	CHECK_EQ_INT(ps.n, 1);
	check_position(&ps.pos[0], path, size_of(path));
	saved = ps.pos[0];
	stop(in);

	/*
	 * Rewritten in place (same inode, longer than the offset): the
	 * bytes before the offset differ.  It changed since the positions
	 * were taken, so it is read from its start, whatever start_at says.
	 */
	ino = saved.ino;
	CHECK(truncate(path, 0) == 0);
	for (n = 0; size_of(path) < 2 * saved.offset; n++) {
		snprintf(line, sizeof(line), "{\"rewritten\":%d}\n", n);
		append(path, line);
	}
	engine_reset();
	in = start_resumed(path, true, &saved);
	CHECK(wait_metric(M_lines_read, (uint64_t)n));
	settle();
	CHECK_EQ_INT(m->v[M_lines_read], n);
	get_positions(in, &ps);
	CHECK_EQ_INT(ps.n, 1);
	CHECK_EQ_INT(ps.pos[0].ino, ino);
	check_position(&ps.pos[0], path, size_of(path));
	stop(in);
	/* Positions taken after its last change: it starts at its end. */
	engine_reset();
	in = start_restarted(path, false, &saved, 1,
			     real_now_ms() + 3600 * 1000);
	settle();
	CHECK_EQ_INT(m->v[M_lines_read], 0);
	append(path, ev(0));
	WAIT_MATCHED(1);
	stop(in);

	/* A file shorter than the saved offset is not resumed either. */
	CHECK(truncate(path, 0) == 0);
	append(path, "{\"short\":1}\n");
	engine_reset();
	in = start_resumed(path, false, &saved);
	CHECK(wait_metric(M_lines_read, 1));
	settle();
	CHECK_EQ_INT(m->v[M_lines_read], 1);
	CHECK_EQ_INT(m->v[M_bytes_read], 12);
	stop(in);
}

/*
 * After a restart, files the positions do not list: read from their
 * start if they changed since the positions were taken (or that time is
 * unknown: a checkpoint that could not be read), from their end if not,
 * whatever start_at says.
 */
static void
test_restart_unlisted(void)
{
	char d[128], path[192];
	struct input *in;

	engine_reset();
	subdir(d, sizeof(d), "unlisted");
	snprintf(path, sizeof(path), "%s/u.log", d);
	append(path, ev(0));
	append(path, ev(1));
	/* Written since the positions were taken. */
	in = start_restarted(path, true, NULL, 0, real_now_ms() - 3600 * 1000);
	WAIT_MATCHED(2);
	stop(in);
	/* The checkpoint was unreadable: no time. */
	engine_reset();
	in = start_restarted(path, true, NULL, 0, 0);
	WAIT_MATCHED(2);
	stop(in);
	/* Unchanged since: at its end, though start_at is beginning. */
	engine_reset();
	in = start_restarted(path, false, NULL, 0, real_now_ms() + 3600 * 1000);
	settle();
	CHECK_EQ_INT(m->v[M_lines_read], 0);
	append(path, ev(2));
	WAIT_MATCHED(1);
	settle();
	CHECK_EQ_INT(m->v[M_lines_read], 1);
	stop(in);
	/* A first start: start_at says. */
	engine_reset();
	in = start_files(path, true);
	settle();
	CHECK_EQ_INT(m->v[M_lines_read], 0);
	stop(in);
}

/*
 * Rotated while stopped: the listed file, renamed to a name the pattern
 * does not match, is found by its inode and read on from its position,
 * as a detached file; the new file at the path is read whole.
 */
static void
test_adopt_renamed(void)
{
	char d[128], path[192], old[192];
	struct positions ps;
	struct input_position saved;
	struct input *in;

	engine_reset();
	subdir(d, sizeof(d), "adopt");
	snprintf(path, sizeof(path), "%s/a.log", d);
	snprintf(old, sizeof(old), "%s/a.log.1", d);
	for (int i = 0; i < 3; i++)
		append(path, ev(i));
	in = start_files(path, false);
	WAIT_MATCHED(3);
	settle();
	get_positions(in, &ps);
	CHECK_EQ_INT(ps.n, 1);
	saved = ps.pos[0];
	stop(in);
	append(path, ev(3));
	CHECK(rename(path, old) == 0);
	append(old, ev(4));
	append(path, ev(5));
	append(path, ev(6));
	engine_reset();
	in = start_resumed(path, true, &saved);
	WAIT_MATCHED(4);
	settle();
	CHECK_EQ_INT(m->v[M_lines_read], 4);
	CHECK_EQ_INT(input_stats(in)->files_opened, 2);
	CHECK(wait_stat(&input_stats(in)->rotations, 1));
	stop(in);
}

/* Sets path's mtime to secs seconds ago. */
static void
age(const char *path, int secs)
{
	struct timespec ts[2];

	clock_gettime(CLOCK_REALTIME, &ts[0]);
	ts[0].tv_sec -= secs;
	ts[1] = ts[0];
	CHECK(utimensat(AT_FDCWD, path, ts, 0) == 0);
}

/*
 * Created and rotated away since the positions were taken, so not
 * listed: a rotated name of the pattern written since then is read
 * whole; one not written since, a compressed one, or another name, not.
 */
static void
test_fresh_rotated(void)
{
	char d[128], path[192], p[192];
	static const char *const names[] = {"a.log.1", "a.log-20240501",
					    "a.log.2", "a.log.3.gz",
					    "b.log.1", "a.logx"};
	struct input *in;

	engine_reset();
	subdir(d, sizeof(d), "fresh");
	snprintf(path, sizeof(path), "%s/a.log", d);
	append(path, ev(0));
	for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++) {
		snprintf(p, sizeof(p), "%s/%s", d, names[i]);
		append(p, ev((int)i + 1));
	}
	snprintf(p, sizeof(p), "%s/a.log.2", d);
	age(p, 7200);
	in = start_restarted(path, true, NULL, 0, real_now_ms() - 3600 * 1000);
	WAIT_MATCHED(3); /* a.log, a.log.1, a.log-2024... */
	settle();
	CHECK_EQ_INT(m->v[M_lines_read], 3);
	CHECK_EQ_INT(input_stats(in)->files_opened, 3);
	stop(in);
	/* A first start looks for none. */
	engine_reset();
	in = start_files(path, false);
	WAIT_MATCHED(1);
	settle();
	CHECK_EQ_INT(m->v[M_lines_read], 1);
	stop(in);
}

/* A file renamed away is still reported, under its old name. */
static void
test_positions_detached(void)
{
	char d[128], path[192], old[192], half[1024];
	struct positions ps;
	struct input *in;
	int fd;

	engine_reset();
	subdir(d, sizeof(d), "detached");
	snprintf(path, sizeof(path), "%s/a.log", d);
	snprintf(old, sizeof(old), "%s/a.log.1", d);
	fd = open_log(path);
	for (int i = 0; i < 3; i++)
		write_all(fd, ev(i));
	snprintf(half, sizeof(half), "%.*s", 40, ev(3));
	write_all(fd, half);
	in = start_files_every(path, false, 3600000, 50);
	WAIT_MATCHED(3);
	CHECK(rename(path, old) == 0);
	settle();
	get_positions(in, &ps);
	CHECK_EQ_INT(ps.n, 1);
	CHECK_STR(ps.path[0], path);
	check_position(&ps.pos[0], old, size_of(old) - strlen(half));
	/* Still read, and so is its successor, until it is idle. */
	write_all(fd, ev(3) + 40);
	WAIT_MATCHED(4);
	append(path, ev(4));
	WAIT_MATCHED(5);
	CHECK(wait_stat(&input_stats(in)->rotations, 1));
	get_positions(in, &ps);
	CHECK_EQ_INT(ps.n, 1);
	CHECK_STR(ps.path[0], path);
	check_position(&ps.pos[0], path, strlen(ev(4)));
	close(fd);
	stop(in);
}

/* ---- unix socket ---- */

static void
addr_of(struct sockaddr_un *sun, const char *path)
{
	size_t n = strlen(path);

	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	CHECK(n < sizeof(sun->sun_path));
	if (n < sizeof(sun->sun_path))
		memcpy(sun->sun_path, path, n + 1);
}

static int
connect_to(const char *path)
{
	struct sockaddr_un sun;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	CHECK(fd >= 0);
	addr_of(&sun, path);
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static struct input *
new_unix(const char *path, size_t max_clients)
{
	struct input_conf ic = {
	    .type = INPUT_UNIX,
	    .path = (char *)path,
	    .mode = 0600,
	    .max_clients = max_clients,
	};

	return input_new(&loop, &ic, conf, eng);
}

static void
test_unix_clients(void)
{
	static const char *cmds[] = {"grep x", "find /", "curl h", "whoami",
				     "ls"};
	char path[192], payload[4][8192];
	size_t len[4], maxlen = 0;
	int fd[4];
	struct input *in;
	struct stat st;

	engine_reset();
	path_of(path, sizeof(path), "clients.sock");
	in = new_unix(path, 8);
	CHECK_EQ_INT(input_start(in), 0);
	CHECK(lstat(path, &st) == 0 && S_ISSOCK(st.st_mode));
	CHECK_EQ_INT(st.st_mode & 0777, 0600);
	/*
	 * Three clients with five events each, one agent per client: each
	 * client's five commands make one alert for its agent.
	 */
	for (int k = 0; k < 3; k++) {
		char agent[8];
		payload[k][0] = '\0';
		snprintf(agent, sizeof(agent), "c%d", k);
		for (int i = 0; i < 5; i++)
			strcat(payload[k], event(agent, i, cmds[i]));
	}
	/* And one that sends garbage and leaves in the middle of a line. */
	snprintf(
	    payload[3], sizeof(payload[3]), "%s",
	    "garbage \x01\xff{{{ python3 sh -c\n{\"@timestamp\":\"2024-05-01");
	for (int k = 0; k < 4; k++) {
		fd[k] = connect_to(path);
		CHECK(fd[k] >= 0);
		len[k] = strlen(payload[k]);
		if (len[k] > maxlen)
			maxlen = len[k];
	}
	/* Byte by byte, in turn, with the loop running in between. */
	for (size_t pos = 0; pos < maxlen; pos++) {
		for (int k = 0; k < 4; k++) {
			if (pos < len[k])
				CHECK(write(fd[k], payload[k] + pos, 1) == 1);
			if (k == 3 && pos + 1 == len[k]) {
				close(fd[k]);
				fd[k] = -1;
			}
		}
		uv_run(&loop, UV_RUN_NOWAIT);
	}
	CHECK(wait_metric(M_lines_read, 16));
	CHECK(wait_stat(&input_stats(in)->partial_dropped, 1));
	for (int k = 0; k < 3; k++)
		close(fd[k]);
	settle();
	CHECK_EQ_INT(m->v[M_events_matched], 15);
	CHECK_EQ_INT(m->v[M_lines_read], 16);
	CHECK_EQ_INT(m->v[M_json_invalid] + m->v[M_lines_prefiltered], 1);
	CHECK_EQ_INT(input_stats(in)->clients, 4);
	CHECK_EQ_INT(input_stats(in)->clients_refused, 0);
	CHECK_EQ_INT(input_stats(in)->partial_dropped, 1);
	/* One alert per client: nothing crossed from one to another. */
	engine_flush(eng);
	CHECK_EQ_INT(nalerts, 3);
	CHECK(strstr(alerts, "[\"c0\"]") != NULL);
	CHECK(strstr(alerts, "[\"c1\"]") != NULL);
	CHECK(strstr(alerts, "[\"c2\"]") != NULL);
	stop(in);
	CHECK(access(path, F_OK) != 0); /* unlinked at close */
}

static void
test_unix_max_clients(void)
{
	char path[192], c;
	int fd[4];
	struct input *in;

	engine_reset();
	path_of(path, sizeof(path), "max.sock");
	in = new_unix(path, 2);
	CHECK_EQ_INT(input_start(in), 0);
	for (int k = 0; k < 3; k++)
		fd[k] = connect_to(path);
	CHECK(wait_stat(&input_stats(in)->clients_refused, 1));
	CHECK_EQ_INT(input_stats(in)->clients, 2);
	CHECK_EQ_INT(read(fd[2], &c, 1), 0); /* closed at once */
	/* A slot freed is a slot for the next. */
	close(fd[0]);
	settle();
	fd[3] = connect_to(path);
	CHECK(wait_stat(&input_stats(in)->clients, 3));
	write_all(fd[3], ev(0));
	WAIT_MATCHED(1);
	CHECK_EQ_INT(input_stats(in)->clients_refused, 1);
	for (int k = 1; k < 4; k++)
		close(fd[k]);
	stop(in);
}

static void
test_unix_stale(void)
{
	char path[192];
	struct sockaddr_un sun;
	struct positions ps;
	struct input *in;
	int s, fd;

	engine_reset();
	path_of(path, sizeof(path), "stale.sock");
	/* A socket file nobody listens on. */
	s = socket(AF_UNIX, SOCK_STREAM, 0);
	addr_of(&sun, path);
	CHECK(bind(s, (struct sockaddr *)&sun, sizeof(sun)) == 0);
	close(s);
	in = new_unix(path, 4);
	CHECK_EQ_INT(input_start(in), 0);
	fd = connect_to(path);
	CHECK(fd >= 0);
	write_all(fd, ev(0));
	WAIT_MATCHED(1);
	get_positions(in, &ps);
	CHECK_EQ_INT(ps.n, 0); /* no offsets to report */
	close(fd);
	stop(in);
	CHECK(access(path, F_OK) != 0);
}

static void
test_unix_live(void)
{
	char path[192];
	struct sockaddr_un sun;
	struct input *in;
	int s;

	engine_reset();
	path_of(path, sizeof(path), "live.sock");
	s = socket(AF_UNIX, SOCK_STREAM, 0);
	addr_of(&sun, path);
	CHECK(bind(s, (struct sockaddr *)&sun, sizeof(sun)) == 0);
	CHECK(listen(s, 4) == 0);
	in = new_unix(path, 4);
	CHECK_EQ_INT(input_start(in), -1); /* someone else's socket */
	stop(in);
	CHECK(access(path, F_OK) == 0);
	close(s);
	unlink(path);
}

static void
test_unix_not_socket(void)
{
	char path[192], buf[16] = {0};
	struct input *in;
	int fd;

	engine_reset();
	path_of(path, sizeof(path), "not-a-socket");
	append(path, "keep me\n");
	in = new_unix(path, 4);
	CHECK_EQ_INT(input_start(in), -1);
	stop(in);
	fd = open(path, O_RDONLY);
	CHECK(fd >= 0);
	CHECK_EQ_INT(read(fd, buf, sizeof(buf) - 1), 8);
	CHECK_STR(buf, "keep me\n");
	close(fd);
}

/* ---- stdin ---- */

static struct input *
start_stdin(void)
{
	struct input_conf ic = {.type = INPUT_STDIN};
	struct input *in = input_new(&loop, &ic, conf, eng);

	CHECK_EQ_INT(input_start(in), 0);
	return in;
}

static void
test_stdin_file(void)
{
	char path[192], last_line[1024];
	struct input *in;
	int saved = dup(STDIN_FILENO), fd;

	engine_reset();
	path_of(path, sizeof(path), "stdin.log");
	append(path, ev(0));
	append(path, ev(1));
	snprintf(last_line, sizeof(last_line), "%s", ev(2));
	last_line[strlen(last_line) - 1] = '\0'; /* no newline */
	append(path, last_line);
	fd = open(path, O_RDONLY);
	CHECK(fd >= 0 && dup2(fd, STDIN_FILENO) == STDIN_FILENO);
	close(fd);
	in = start_stdin();
	WAIT_MATCHED(3);
	settle();
	CHECK_EQ_INT(m->v[M_events_matched], 3);
	stop(in);
	CHECK_EQ_INT(last.partial_dropped, 0);
	dup2(saved, STDIN_FILENO);
	close(saved);
}

static void
test_stdin_pipe(void)
{
	char last_line[1024];
	struct input *in;
	int saved = dup(STDIN_FILENO), p[2];

	engine_reset();
	CHECK(pipe(p) == 0);
	CHECK(dup2(p[0], STDIN_FILENO) == STDIN_FILENO);
	close(p[0]);
	in = start_stdin();
	write_all(p[1], ev(0));
	WAIT_MATCHED(1);
	write_all(p[1], ev(1));
	snprintf(last_line, sizeof(last_line), "%s", ev(2));
	last_line[strlen(last_line) - 1] = '\0';
	write_all(p[1], last_line);
	WAIT_MATCHED(2);
	settle();
	CHECK_EQ_INT(m->v[M_events_matched], 2); /* the last line is held */
	close(p[1]);
	WAIT_MATCHED(3); /* end of input passes it */
	stop(in);
	dup2(saved, STDIN_FILENO);
	close(saved);
}

/* ---- setup ---- */

static void
remove_tree(const char *path)
{
	struct stat st;
	DIR *dir;
	struct dirent *de;

	if (lstat(path, &st) != 0)
		return;
	if (S_ISDIR(st.st_mode) && (dir = opendir(path)) != NULL) {
		while ((de = readdir(dir)) != NULL) {
			char sub[512];
			if (strcmp(de->d_name, ".") == 0 ||
			    strcmp(de->d_name, "..") == 0)
				continue;
			snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
			remove_tree(sub);
		}
		closedir(dir);
		rmdir(path);
	} else {
		unlink(path);
	}
}

int
main(void)
{
	log_init("test_input", LOG_LVL_INFO);
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/burstd-input-XXXXXX");
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	CHECK_EQ_INT(uv_loop_init(&loop), 0);
	conf = conf_default();

	test_append();
	test_partial();
	test_rotate();
	test_copytruncate();
	test_recreate();
	test_glob_new();
	test_start_end();
	test_poll_only();
	test_inotify();
	test_unreadable();
	test_many_files();
	test_fair();
	test_late_reopen();
	test_rotated_first();
	test_detached_bound();
	test_rewritten();
	test_resume();
	test_restart_unlisted();
	test_adopt_renamed();
	test_fresh_rotated();
	test_positions_detached();
	test_unix_clients();
	test_unix_max_clients();
	test_unix_stale();
	test_unix_live();
	test_unix_not_socket();
	test_stdin_file();
	test_stdin_pipe();

	uv_run(&loop, UV_RUN_DEFAULT);
	CHECK_EQ_INT(uv_loop_close(&loop), 0);
	engine_free(eng);
	conf_free(conf);
	remove_tree(tmpdir);
	return check_exit();
}
