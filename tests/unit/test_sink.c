/*
 * test_sink: every sink type against a real peer on a real loop: files in
 * a temporary directory, Unix stream and datagram sockets, TCP on the
 * loopback, standard output redirected to a pipe and to a file.
 *
 * Every wait runs the loop under a timer that stops it after a deadline,
 * and every test ends by draining its own loop under a guard timer, so a
 * sink that misbehaves fails a check instead of hanging the suite.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <uv.h>

#include "check.h"
#include "log.h"
#include "sink.h"
#include "util.h"

static uv_loop_t *loop; /* the current test's loop */
static char dir[64];    /* the temporary directory */

/* The loop, bounded. */

typedef bool pred_fn(void *arg);

struct wait {
	pred_fn *pred;     /* stop when it holds; NULL: run until deadline */
	void *arg;         /* passed to pred */
	uint64_t deadline; /* loop time at which to give up */
	bool ok;           /* pred held */
};

static void
wait_cb(uv_timer_t *t)
{
	struct wait *w = t->data;

	if (w->pred != NULL && w->pred(w->arg)) {
		w->ok = true;
		uv_stop(t->loop);
	} else if (uv_now(t->loop) >= w->deadline) {
		uv_stop(t->loop);
	}
}

/* Runs the loop until pred(arg) holds or ms pass; returns whether it held. */
static bool
run_until(pred_fn *pred, void *arg, uint64_t ms)
{
	struct wait w = {pred, arg, 0, false};
	uv_timer_t t;

	uv_update_time(loop);
	w.deadline = uv_now(loop) + ms;
	uv_timer_init(loop, &t);
	t.data = &w;
	uv_timer_start(&t, wait_cb, 1, 1);
	uv_run(loop, UV_RUN_DEFAULT);
	uv_close((uv_handle_t *)&t, NULL);
	uv_run(loop, UV_RUN_NOWAIT);
	return w.ok;
}

static void
run_for(uint64_t ms)
{
	(void)run_until(NULL, NULL, ms);
}

static void
guard_cb(uv_timer_t *t)
{
	bool *fired = t->data;

	*fired = true;
	uv_stop(t->loop);
}

static void
begin(void)
{
	loop = xmalloc(sizeof(*loop));
	if (uv_loop_init(loop) != 0)
		fatalx("uv_loop_init");
}

/* Lets every handle close, within 5 s, and requires an empty loop. */
static void
end(void)
{
	bool fired = false;
	uv_timer_t guard;

	uv_timer_init(loop, &guard);
	guard.data = &fired;
	uv_timer_start(&guard, guard_cb, 5000, 0);
	uv_unref((uv_handle_t *)&guard);
	uv_run(loop, UV_RUN_DEFAULT);
	CHECK(!fired);
	uv_close((uv_handle_t *)&guard, NULL);
	uv_run(loop, UV_RUN_NOWAIT);
	CHECK_EQ_INT(uv_loop_close(loop), 0);
	free(loop);
	loop = NULL;
}

/* Alert lines and what a peer should have. */

static size_t
line(char *out, size_t cap, int i)
{
	int n = snprintf(out, cap,
			 "{\"kibana.alert.uuid\":\"%08d\",\"n\":%d}\n", i, i);

	return (size_t)n;
}

static void
push_range(struct sink *s, int from, int to)
{
	char l[128];

	for (int i = from; i < to; i++)
		sink_push(s, l, line(l, sizeof(l), i));
}

static void
expect_range(struct buf *b, int from, int to)
{
	char l[128];

	b->len = 0;
	for (int i = from; i < to; i++)
		buf_append(b, l, line(l, sizeof(l), i));
	buf_cstr(b);
}

static bool
buf_equal(struct buf *a, struct buf *b)
{
	return a->len == b->len && memcmp(a->data, b->data, a->len) == 0;
}

static size_t
count_lines(const struct buf *b)
{
	size_t n = 0;

	for (size_t i = 0; i < b->len; i++)
		n += b->data[i] == '\n';
	return n;
}

static void
read_path(const char *path, struct buf *b)
{
	char chunk[4096];
	ssize_t n;
	int fd = open(path, O_RDONLY);

	b->len = 0;
	if (fd < 0) {
		buf_cstr(b);
		return;
	}
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		buf_append(b, chunk, (size_t)n);
	close(fd);
	buf_cstr(b);
}

static void
in_dir(char *out, size_t cap, const char *name)
{
	snprintf(out, cap, "%s/%s", dir, name);
}

/* Predicates on a sink. */

struct want {
	struct sink *s; /* the sink */
	uint64_t n;     /* the count wanted */
};

static bool
sent_is(void *arg)
{
	struct want *w = arg;

	return sink_stats(w->s)->sent >= w->n;
}

static bool
errors_reach(void *arg)
{
	struct want *w = arg;

	return sink_stats(w->s)->errors >= w->n;
}

static bool
connects_reach(void *arg)
{
	struct want *w = arg;

	return sink_stats(w->s)->connects >= w->n;
}

static bool
wait_sent(struct sink *s, uint64_t n)
{
	struct want w = {s, n};

	return run_until(sent_is, &w, 5000);
}

/* Closing a sink: its stats as the callback saw them. */

struct closer {
	struct sink *s;       /* being closed */
	bool done;            /* the callback ran */
	struct sink_stats st; /* stats at that moment */
};

static void
closed_cb(void *arg)
{
	struct closer *c = arg;

	c->st = *sink_stats(c->s);
	c->done = true;
}

static bool
closer_done(void *arg)
{
	return ((struct closer *)arg)->done;
}

static struct sink_stats
close_sink(struct sink *s)
{
	struct closer c = {s, false, {0}};

	sink_close(s, closed_cb, &c);
	CHECK(run_until(closer_done, &c, 5000));
	return c.st;
}

/* A stream peer: a listening Unix or TCP socket that keeps every byte. */

struct conn {
	union {
		uv_handle_t handle; /* for uv_close() */
		uv_stream_t stream; /* for reads */
		uv_pipe_t pipe;     /* a Unix peer */
		uv_tcp_t tcp;       /* a TCP peer */
	} u;                        /* the accepted connection */
	struct peer *peer;          /* owner */
	struct conn *next;          /* in peer->conns */
};

struct peer {
	union {
		uv_handle_t handle; /* for uv_close() */
		uv_stream_t stream; /* for uv_listen() */
		uv_pipe_t pipe;     /* a Unix listener */
		uv_tcp_t tcp;       /* a TCP listener */
	} srv;                      /* the listener */
	bool tcp;                   /* srv is TCP, else a Unix socket */
	bool deaf;                  /* accept, but never read */
	bool listening;             /* srv is open */
	char path[128];             /* unix: where it listens */
	struct conn *conns;         /* accepted and open */
	int accepted;               /* connections accepted in all */
	struct buf got;             /* every byte from every connection */
};

static void
conn_close_cb(uv_handle_t *h)
{
	struct conn *c = h->data;
	struct conn **pp;

	for (pp = &c->peer->conns; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	free(c);
}

static void
conn_alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	*buf = uv_buf_init(xmalloc(suggested), (unsigned)suggested);
}

static void
conn_read_cb(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
	struct conn *c = st->data;

	if (nread > 0)
		buf_append(&c->peer->got, buf->base, (size_t)nread);
	free(buf->base);
	if (nread < 0 && !uv_is_closing((uv_handle_t *)st))
		uv_close((uv_handle_t *)st, conn_close_cb);
}

static void
peer_connection_cb(uv_stream_t *srv, int status)
{
	struct peer *p = srv->data;
	struct conn *c;

	CHECK_EQ_INT(status, 0);
	if (status < 0)
		return;
	c = xcalloc(1, sizeof(*c));
	c->peer = p;
	if (p->tcp)
		uv_tcp_init(loop, &c->u.tcp);
	else
		uv_pipe_init(loop, &c->u.pipe, 0);
	c->u.handle.data = c;
	c->next = p->conns;
	p->conns = c;
	CHECK_EQ_INT(uv_accept(srv, &c->u.stream), 0);
	if (!p->deaf)
		CHECK_EQ_INT(uv_read_start(&c->u.stream, conn_alloc_cb,
					   conn_read_cb),
			     0);
	p->accepted++;
}

static void
peer_close_cb(uv_handle_t *h)
{
	struct peer *p = h->data;

	p->listening = false;
}

static bool
peer_closed(void *arg)
{
	struct peer *p = arg;

	return !p->listening && p->conns == NULL;
}

static void
peer_listen_unix(struct peer *p, const char *path)
{
	p->tcp = false;
	snprintf(p->path, sizeof(p->path), "%s", path);
	CHECK_EQ_INT(uv_pipe_init(loop, &p->srv.pipe, 0), 0);
	p->srv.handle.data = p;
	p->listening = true;
	CHECK_EQ_INT(uv_pipe_bind(&p->srv.pipe, path), 0);
	CHECK_EQ_INT(uv_listen(&p->srv.stream, 16, peer_connection_cb), 0);
}

/* Listens on addr:0; returns the port the kernel chose, or -1. */
static int
peer_listen_tcp(struct peer *p, const char *addr)
{
	struct sockaddr_storage ss;
	int len = sizeof(ss);

	p->tcp = true;
	if (uv_ip4_addr(addr, 0, (struct sockaddr_in *)&ss) != 0 &&
	    uv_ip6_addr(addr, 0, (struct sockaddr_in6 *)&ss) != 0)
		return -1;
	CHECK_EQ_INT(uv_tcp_init(loop, &p->srv.tcp), 0);
	p->srv.handle.data = p;
	p->listening = true;
	if (uv_tcp_bind(&p->srv.tcp, (struct sockaddr *)&ss, 0) != 0 ||
	    uv_listen(&p->srv.stream, 16, peer_connection_cb) != 0 ||
	    uv_tcp_getsockname(&p->srv.tcp, (struct sockaddr *)&ss, &len) !=
		0) {
		uv_close(&p->srv.handle, peer_close_cb);
		return -1;
	}
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
}

/* Closes the accepted connections: the sink sees its peer go away. */
static void
peer_hangup(struct peer *p)
{
	for (struct conn *c = p->conns; c != NULL; c = c->next)
		if (!uv_is_closing(&c->u.handle))
			uv_close(&c->u.handle, conn_close_cb);
}

/* Stops listening and hangs up; a Unix socket's path goes too. */
static void
peer_stop(struct peer *p)
{
	peer_hangup(p);
	if (p->listening && !uv_is_closing(&p->srv.handle))
		uv_close(&p->srv.handle, peer_close_cb);
	if (!p->tcp)
		unlink(p->path);
	CHECK(run_until(peer_closed, p, 2000));
}

struct got_lines {
	struct peer *p; /* the peer */
	size_t n;       /* lines wanted */
};

static bool
peer_has(void *arg)
{
	struct got_lines *g = arg;

	return count_lines(&g->p->got) >= g->n;
}

static bool
wait_got(struct peer *p, size_t n)
{
	struct got_lines g = {p, n};

	return run_until(peer_has, &g, 5000);
}

static struct sink_conf
conf_of(enum sink_type type, const char *path, size_t queue_max)
{
	struct sink_conf sc = {
	    .type = type,
	    .path = (char *)path,
	    .queue_max = queue_max,
	    .backoff_min_ms = 10,
	    .backoff_max_ms = 100,
	};

	return sc;
}

/* Tests. */

static void
test_conf_equal(void)
{
	struct sink_conf a = conf_of(SINK_UNIX, "/run/a.sock", 100), b;

	b = a;
	CHECK(sink_conf_equal(&a, &b));
	b.path = "/run/b.sock";
	CHECK(!sink_conf_equal(&a, &b));
	b = a;
	b.path = NULL;
	CHECK(!sink_conf_equal(&a, &b));
	b = a;
	b.framing = SINK_FRAMING_OCTET;
	CHECK(!sink_conf_equal(&a, &b));
	b = a;
	b.format = SINK_FORMAT_RFC5424;
	CHECK(!sink_conf_equal(&a, &b));
	b = a;
	b.type = SINK_UNIX_DGRAM;
	CHECK(!sink_conf_equal(&a, &b));
	b = a;
	b.queue_max = 101;
	CHECK(!sink_conf_equal(&a, &b));
	b = a;
	b.backoff_min_ms = 11;
	CHECK(!sink_conf_equal(&a, &b));
	b = a;
	b.backoff_max_ms = 101;
	CHECK(!sink_conf_equal(&a, &b));

	a = conf_of(SINK_TCP, NULL, 100);
	a.host = "127.0.0.1";
	a.port = 5170;
	b = a;
	b.host = "127.0.0.1"; /* another pointer, the same string */
	CHECK(sink_conf_equal(&a, &b));
	b.port = 5171;
	CHECK(!sink_conf_equal(&a, &b));
	b = a;
	b.host = "::1";
	CHECK(!sink_conf_equal(&a, &b));
}

static void
test_file_order(void)
{
	char path[256], name[300];
	struct buf got = {0}, want = {0};
	struct sink_conf sc;
	struct sink_stats st;
	struct sink *s;
	struct stat sb;

	begin();
	in_dir(path, sizeof(path), "order.ndjson");
	sc = conf_of(SINK_FILE, path, 1000);
	s = sink_new(loop, &sc);
	snprintf(name, sizeof(name), "file %s", path);
	CHECK_STR(sink_name(s), name);
	push_range(s, 0, 50);
	CHECK(wait_sent(s, 50));
	read_path(path, &got);
	expect_range(&want, 0, 50);
	CHECK(buf_equal(&got, &want));
	CHECK_EQ_INT(stat(path, &sb), 0);
	CHECK_EQ_INT(sb.st_mode & 0777, 0640);

	/* Close right after pushing: an open file takes everything. */
	push_range(s, 50, 150);
	st = close_sink(s);
	CHECK_EQ_INT(st.queued, 150);
	CHECK_EQ_INT(st.sent, 150);
	CHECK_EQ_INT(st.dropped_full, 0);
	CHECK_EQ_INT(st.dropped_close, 0);
	CHECK_EQ_INT(st.errors, 0);
	CHECK_EQ_INT(st.connects, 1);
	CHECK_EQ_INT(st.depth, 0);
	read_path(path, &got);
	expect_range(&want, 0, 150);
	CHECK(buf_equal(&got, &want));
	end();
	buf_free(&got);
	buf_free(&want);
}

static void
test_file_reopen(void)
{
	char path[256], old[300];
	struct buf a = {0}, b = {0}, both = {0}, want = {0};
	struct sink_conf sc;
	struct sink_stats st;
	struct sink *s;

	begin();
	in_dir(path, sizeof(path), "rot.ndjson");
	snprintf(old, sizeof(old), "%s.1", path);
	sc = conf_of(SINK_FILE, path, 1000);
	s = sink_new(loop, &sc);
	push_range(s, 0, 10);
	CHECK(wait_sent(s, 10));

	/* logrotate's create mode: rename, then SIGHUP. */
	CHECK_EQ_INT(rename(path, old), 0);
	push_range(s, 10, 15); /* still for the old file, or the new */
	sink_reopen(s);
	push_range(s, 15, 20); /* queued while reopening */
	CHECK(wait_sent(s, 20));
	push_range(s, 20, 25);
	CHECK(wait_sent(s, 25));
	st = close_sink(s);
	CHECK_EQ_INT(st.sent, 25);
	CHECK_EQ_INT(st.connects, 2);
	CHECK_EQ_INT(st.errors, 0);
	CHECK_EQ_INT(st.dropped_close, 0);

	read_path(old, &a);
	read_path(path, &b);
	buf_append(&both, a.data, a.len);
	buf_append(&both, b.data, b.len);
	expect_range(&want, 0, 25);
	CHECK(buf_equal(&both, &want)); /* nothing lost, nothing twice */
	expect_range(&want, 0, 10);
	CHECK(a.len >= want.len && memcmp(a.data, want.data, want.len) == 0);
	expect_range(&want, 15, 25);
	CHECK(b.len >= want.len &&
	      memcmp(b.data + b.len - want.len, want.data, want.len) == 0);
	CHECK(a.len > 0 && a.data[a.len - 1] == '\n');
	CHECK(b.len > 0 && b.data[b.len - 1] == '\n');
	end();
	buf_free(&a);
	buf_free(&b);
	buf_free(&both);
	buf_free(&want);
}

/*
 * Pushes a burst of `per` lines, and another each time a write has
 * completed since (however long the loop takes to turn).
 */
struct burst {
	struct sink *s;
	int next, per, total;
	uint64_t last_sent; /* sent when the last burst was pushed */
	uv_check_t check;
};

static void
burst_cb(uv_check_t *h)
{
	struct burst *b = h->data;
	int to = b->next + b->per < b->total ? b->next + b->per : b->total;
	uint64_t sent = sink_stats(b->s)->sent;

	if (b->next > 0 && sent == b->last_sent)
		return;
	b->last_sent = sent;
	push_range(b->s, b->next, to);
	b->next = to;
	if (b->next == b->total)
		uv_check_stop(h);
}

/*
 * A burst of a whole queue after every write, on a healthy disk: each
 * write takes every line waiting, so nothing is dropped (one line per
 * write could not keep up: the second burst would overflow the queue).
 */
static void
test_file_burst(void)
{
	char path[256];
	struct buf got = {0}, want = {0};
	struct sink_conf sc;
	struct sink_stats st;
	struct burst b = {.per = 1000, .total = 20000};
	struct want w;

	begin();
	in_dir(path, sizeof(path), "burst.ndjson");
	sc = conf_of(SINK_FILE, path, 1000);
	b.s = sink_new(loop, &sc);
	w = (struct want){b.s, 1};
	CHECK(run_until(connects_reach, &w, 5000));
	uv_check_init(loop, &b.check);
	b.check.data = &b;
	uv_check_start(&b.check, burst_cb);
	CHECK(wait_sent(b.s, 20000));
	uv_close((uv_handle_t *)&b.check, NULL);
	st = close_sink(b.s);
	CHECK_EQ_INT(st.queued, 20000);
	CHECK_EQ_INT(st.sent, 20000);
	CHECK_EQ_INT(st.dropped_full, 0);
	CHECK_EQ_INT(st.errors, 0);
	read_path(path, &got);
	expect_range(&want, 0, 20000);
	CHECK(buf_equal(&got, &want));

	/* A reopen while a batch is in flight: the batch ends in the old
	 * file, the rest goes to the new one, no line twice. */
	{
		char old[300];
		struct buf a = {0}, n = {0};
		struct sink *s;

		snprintf(old, sizeof(old), "%s.1", path);
		unlink(path);
		s = sink_new(loop, &sc);
		w = (struct want){s, 1};
		CHECK(run_until(connects_reach, &w, 5000));
		/* The first line goes alone; once it is written the other
		 * 899 go together. */
		push_range(s, 0, 900);
		CHECK(wait_sent(s, 1));
		CHECK_EQ_INT(rename(path, old), 0);
		sink_reopen(s);
		push_range(s, 900, 1000);
		CHECK(wait_sent(s, 1000));
		st = close_sink(s);
		CHECK_EQ_INT(st.sent, 1000);
		CHECK_EQ_INT(st.dropped_full + st.dropped_close, 0);
		read_path(old, &a);
		read_path(path, &n);
		buf_free(&got);
		buf_append(&got, a.data, a.len);
		buf_append(&got, n.data, n.len);
		expect_range(&want, 0, 1000);
		CHECK(buf_equal(&got, &want));
		CHECK(n.len > 0);
		buf_free(&a);
		buf_free(&n);
	}
	end();
	buf_free(&got);
	buf_free(&want);
}

static void
test_file_retry(void)
{
	char sub[256], path[300];
	struct buf got = {0}, want = {0};
	struct sink_conf sc;
	struct sink_stats st;
	struct sink *s;
	struct want w;

	begin();
	in_dir(sub, sizeof(sub), "later");
	snprintf(path, sizeof(path), "%s/alerts.ndjson", sub);
	sc = conf_of(SINK_FILE, path, 1000);
	s = sink_new(loop, &sc);
	push_range(s, 0, 3);
	w = (struct want){s, 2};
	CHECK(run_until(errors_reach, &w, 2000)); /* ENOENT, retried */
	CHECK_EQ_INT(sink_stats(s)->sent, 0);
	CHECK_EQ_INT(sink_stats(s)->depth, 3);
	CHECK_EQ_INT(mkdir(sub, 0755), 0);
	CHECK(wait_sent(s, 3));
	st = close_sink(s);
	CHECK_EQ_INT(st.connects, 1);
	read_path(path, &got);
	expect_range(&want, 0, 3);
	CHECK(buf_equal(&got, &want));
	end();
	unlink(path);
	rmdir(sub);
	buf_free(&got);
	buf_free(&want);
}

/*
 * Writes that fail: /dev/full opens and fails every write (ENOSPC).  The
 * alerts stay queued, and since an open alone is no success the delays
 * still double: 10, 20, 40, 80, 160, 320 ms (+-20%) allow five or six
 * failures in 500 ms after the first, where fixed 10 ms delays would
 * allow about fifty.
 */
static void
test_file_write_error(void)
{
	struct sink_conf sc = conf_of(SINK_FILE, "/dev/full", 100);
	struct sink_stats st;
	struct sink *s;

	if (access("/dev/full", W_OK) != 0) {
		fprintf(stderr, "test_sink: no /dev/full, skipped\n");
		return;
	}
	begin();
	sc.backoff_max_ms = 10000;
	s = sink_new(loop, &sc);
	push_range(s, 0, 3);
	run_for(500);
	st = *sink_stats(s);
	CHECK(st.errors >= 4);
	CHECK(st.errors <= 9);
	CHECK(st.connects >= st.errors - 1 && st.connects <= st.errors);
	CHECK_EQ_INT(st.sent, 0);
	CHECK_EQ_INT(st.depth, 3);
	st = close_sink(s);
	CHECK_EQ_INT(st.dropped_close, 3);
	CHECK_EQ_INT(st.depth, 0);
	end();
}

/*
 * A peer that accepts and never reads: once the socket buffer is full a
 * write stays in flight, and sink_close() gives up after its deadline,
 * counting what did not go.
 */
static void
test_close_slow_peer(void)
{
	char path[256], big[1100];
	struct peer p = {0};
	struct sink_conf sc;
	struct sink_stats st;
	struct sink *s;
	struct want w;
	uint64_t t0;

	begin();
	in_dir(path, sizeof(path), "deaf.sock");
	p.deaf = true;
	peer_listen_unix(&p, path);
	sc = conf_of(SINK_UNIX, path, 5000);
	s = sink_new(loop, &sc);
	w = (struct want){s, 1};
	CHECK(run_until(connects_reach, &w, 2000));
	memset(big, 'x', sizeof(big));
	big[sizeof(big) - 1] = '\n';
	for (int i = 0; i < 3000; i++)
		sink_push(s, big, sizeof(big));
	run_for(50);
	CHECK(sink_stats(s)->sent < 3000);
	uv_update_time(loop);
	t0 = uv_now(loop);
	st = close_sink(s);
	CHECK(uv_now(loop) - t0 < 3000);
	CHECK(st.dropped_close > 0);
	CHECK_EQ_INT(st.sent + st.dropped_close, 3000);
	CHECK_EQ_INT(st.depth, 0);
	peer_stop(&p);
	end();
}

static void
test_unix_stream(void)
{
	char path[256], name[300];
	struct peer p = {0};
	struct buf want = {0};
	struct sink_conf sc;
	struct sink_stats st;
	struct sink *s;
	struct want w;

	begin();
	in_dir(path, sizeof(path), "stream.sock");
	peer_listen_unix(&p, path);
	sc = conf_of(SINK_UNIX, path, 1000);
	s = sink_new(loop, &sc);
	snprintf(name, sizeof(name), "unix %s", path);
	CHECK_STR(sink_name(s), name);
	push_range(s, 0, 20);
	CHECK(wait_got(&p, 20));
	expect_range(&want, 0, 20);
	CHECK(buf_equal(&p.got, &want));
	CHECK_EQ_INT(sink_stats(s)->sent, 20);

	/* The listener goes away; the sink notices the peer closing. */
	peer_stop(&p);
	w = (struct want){s, 1};
	CHECK(run_until(errors_reach, &w, 2000));
	push_range(s, 20, 30);
	run_for(200); /* reconnects fail: no socket */
	CHECK(sink_stats(s)->errors >= 2);
	CHECK_EQ_INT(sink_stats(s)->sent, 20);
	CHECK_EQ_INT(sink_stats(s)->depth, 10);

	/* It comes back: everything queued meanwhile arrives, in order. */
	peer_listen_unix(&p, path);
	CHECK(wait_got(&p, 30));
	expect_range(&want, 0, 30);
	CHECK(buf_equal(&p.got, &want));
	CHECK_EQ_INT(p.accepted, 2);

	/*
	 * The peer hangs up and alerts follow at once: the first write
	 * fails (EPIPE) before the sink sees EOF, and that alert is
	 * written again on the next connection.
	 */
	peer_hangup(&p);
	push_range(s, 30, 35);
	CHECK(wait_got(&p, 35));
	expect_range(&want, 0, 35);
	CHECK(buf_equal(&p.got, &want));
	CHECK_EQ_INT(p.accepted, 3);

	st = close_sink(s);
	CHECK_EQ_INT(st.queued, 35);
	CHECK_EQ_INT(st.sent, 35);
	CHECK_EQ_INT(st.connects, 3);
	CHECK_EQ_INT(st.dropped_close, 0);
	CHECK_EQ_INT(st.dropped_full, 0);
	peer_stop(&p);
	end();
	buf_free(&p.got);
	buf_free(&want);
}

static void
test_queue_bound(void)
{
	char path[256];
	struct peer p = {0};
	struct buf want = {0};
	struct sink_conf sc;
	struct sink_stats st;
	struct sink *s;

	begin();
	in_dir(path, sizeof(path), "bound.sock");
	sc = conf_of(SINK_UNIX, path, 10);
	s = sink_new(loop, &sc);
	push_range(s, 0, 15);
	CHECK_EQ_INT(sink_stats(s)->queued, 15);
	CHECK_EQ_INT(sink_stats(s)->dropped_full, 5);
	CHECK_EQ_INT(sink_stats(s)->depth, 10);
	run_for(100);
	CHECK_EQ_INT(sink_stats(s)->depth, 10);
	CHECK_EQ_INT(sink_stats(s)->sent, 0);

	/* The newest ten survive. */
	peer_listen_unix(&p, path);
	CHECK(wait_got(&p, 10));
	expect_range(&want, 5, 15);
	CHECK(buf_equal(&p.got, &want));
	st = close_sink(s);
	CHECK_EQ_INT(st.sent, 10);
	CHECK_EQ_INT(st.dropped_full, 5);
	CHECK_EQ_INT(st.dropped_close, 0);
	peer_stop(&p);
	end();
	buf_free(&p.got);
	buf_free(&want);
}

/*
 * What the daemon's status line shows: whether the sink is up, and when
 * the oldest alert not yet written was queued (the one the queue dropped
 * does not count).
 */
static void
test_oldest(void)
{
	char path[256];
	struct peer p = {0};
	struct sink_conf sc;
	struct sink *s;
	uint64_t t0, t1;

	begin();
	in_dir(path, sizeof(path), "oldest.sock");
	sc = conf_of(SINK_UNIX, path, 2);
	s = sink_new(loop, &sc);
	CHECK(!sink_is_up(s));
	CHECK_EQ_INT(sink_oldest_ms(s), 0);
	run_for(20);
	t0 = uv_now(loop);
	push_range(s, 0, 1);
	CHECK_EQ_INT(sink_oldest_ms(s), t0);
	run_for(50);
	t1 = uv_now(loop);
	CHECK(t1 > t0);
	push_range(s, 1, 2);
	CHECK_EQ_INT(sink_oldest_ms(s), t0);
	/* Full: the oldest goes, the next one is the oldest now. */
	push_range(s, 2, 3);
	CHECK_EQ_INT(sink_stats(s)->dropped_full, 1);
	CHECK_EQ_INT(sink_oldest_ms(s), t1);
	CHECK(!sink_is_up(s));
	peer_listen_unix(&p, path);
	CHECK(wait_got(&p, 2));
	CHECK(wait_sent(s, 2));
	CHECK(sink_is_up(s));
	CHECK_EQ_INT(sink_oldest_ms(s), 0);
	(void)close_sink(s);
	peer_stop(&p);
	end();
	buf_free(&p.got);
}

static void
tcp_against(const char *addr)
{
	char name[128], expect_name[128];
	struct peer p = {0};
	struct buf want = {0};
	struct sink_conf sc;
	struct sink_stats st;
	struct sink *s;
	struct want w;
	int port;

	begin();
	if ((port = peer_listen_tcp(&p, addr)) < 0) {
		fprintf(stderr, "test_sink: no %s, tcp test skipped\n", addr);
		end();
		return;
	}
	sc = conf_of(SINK_TCP, NULL, 1000);
	sc.host = (char *)addr;
	sc.port = port;
	s = sink_new(loop, &sc);
	if (strchr(addr, ':') != NULL)
		snprintf(expect_name, sizeof(expect_name), "tcp [%s]:%d", addr,
			 port);
	else
		snprintf(expect_name, sizeof(expect_name), "tcp %s:%d", addr,
			 port);
	snprintf(name, sizeof(name), "%s", sink_name(s));
	CHECK_STR(name, expect_name);
	push_range(s, 0, 20);
	CHECK(wait_got(&p, 20));
	expect_range(&want, 0, 20);
	CHECK(buf_equal(&p.got, &want));

	/* The peer hangs up: the sink reconnects and goes on. */
	peer_hangup(&p);
	w = (struct want){s, 2};
	CHECK(run_until(connects_reach, &w, 5000));
	CHECK(sink_stats(s)->errors >= 1);
	push_range(s, 20, 25);
	CHECK(wait_got(&p, 25));
	expect_range(&want, 0, 25);
	CHECK(buf_equal(&p.got, &want));
	st = close_sink(s);
	CHECK_EQ_INT(st.sent, 25);
	CHECK_EQ_INT(st.dropped_close, 0);
	peer_stop(&p);
	end();
	buf_free(&p.got);
	buf_free(&want);
}

static void
test_tcp(void)
{
	struct sink_conf sc;
	struct sink_stats st;
	struct sink *s;
	struct want w;

	tcp_against("127.0.0.1");
	tcp_against("::1");

	/* A host name is not an address: the sink stays down, counts. */
	begin();
	sc = conf_of(SINK_TCP, NULL, 10);
	sc.host = "localhost";
	sc.port = 9;
	s = sink_new(loop, &sc);
	push_range(s, 0, 2);
	w = (struct want){s, 2};
	CHECK(run_until(errors_reach, &w, 2000));
	st = close_sink(s);
	CHECK_EQ_INT(st.connects, 0);
	CHECK_EQ_INT(st.dropped_close, 2);
	end();
}

/*
 * Backoff: against a closed port each attempt fails at once, so the
 * number of attempts in a time span follows the delays.  With delays of
 * 10, 20, 40, 80, 160, 320 ms (each +-20%), 500 ms hold the first attempt
 * and five or six retries; fixed 10 ms delays would give about fifty.
 */
static void
test_backoff(void)
{
	struct peer p = {0};
	struct sink_conf sc;
	struct sink_stats st;
	struct sink *s;
	int port;

	begin();
	port = peer_listen_tcp(&p, "127.0.0.1");
	CHECK(port > 0);
	peer_stop(&p); /* the port is free again: connections are refused */
	sc = conf_of(SINK_TCP, NULL, 10);
	sc.host = "127.0.0.1";
	sc.port = port;
	sc.backoff_min_ms = 10;
	sc.backoff_max_ms = 10000;
	s = sink_new(loop, &sc);
	run_for(500);
	st = *sink_stats(s);
	CHECK(st.errors >= 4);
	CHECK(st.errors <= 9);
	CHECK_EQ_INT(st.connects, 0);
	(void)close_sink(s);
	end();
}

static void
test_close_pending(void)
{
	char path[256];
	struct peer p = {0};
	struct buf want = {0};
	struct sink_conf sc;
	struct sink_stats st;
	struct sink *s;
	struct want w;

	/* Nobody listens: closing gives up at once and counts. */
	begin();
	in_dir(path, sizeof(path), "nobody.sock");
	sc = conf_of(SINK_UNIX, path, 100);
	s = sink_new(loop, &sc);
	push_range(s, 0, 7);
	run_for(30);
	st = close_sink(s);
	CHECK_EQ_INT(st.queued, 7);
	CHECK_EQ_INT(st.sent, 0);
	CHECK_EQ_INT(st.dropped_close, 7);
	CHECK_EQ_INT(st.depth, 0);
	end();

	/* Closing while still connecting. */
	begin();
	s = sink_new(loop, &sc);
	push_range(s, 0, 3);
	st = close_sink(s);
	CHECK_EQ_INT(st.dropped_close, 3);
	end();

	/* A live peer: what is queued at close still goes out. */
	begin();
	in_dir(path, sizeof(path), "flush.sock");
	peer_listen_unix(&p, path);
	sc = conf_of(SINK_UNIX, path, 100);
	s = sink_new(loop, &sc);
	w = (struct want){s, 1};
	CHECK(run_until(connects_reach, &w, 2000));
	push_range(s, 0, 50);
	st = close_sink(s);
	CHECK_EQ_INT(st.sent, 50);
	CHECK_EQ_INT(st.dropped_close, 0);
	CHECK(wait_got(&p, 50));
	expect_range(&want, 0, 50);
	CHECK(buf_equal(&p.got, &want));
	peer_stop(&p);
	end();
	buf_free(&p.got);
	buf_free(&want);
}

/* What sink_pending() reports: the lines, one after the other. */
struct pending {
	struct buf lines; /* every line reported, in order */
	size_t n;         /* calls */
};

static void
pending_cb(void *arg, const char *l, size_t len)
{
	struct pending *pd = arg;

	buf_append(&pd->lines, l, len);
	pd->n++;
}

static void
get_pending(struct sink *s, struct pending *pd)
{
	pd->lines.len = 0;
	pd->n = 0;
	sink_pending(s, pending_cb, pd);
	buf_cstr(&pd->lines);
}

/* A line of about 1 KiB that says which it is. */
static size_t
big_line(char *out, size_t cap, int i)
{
	int n = snprintf(out, cap, "{\"n\":%06d,\"pad\":\"", i);

	memset(out + n, 'x', cap - (size_t)n - 3);
	memcpy(out + cap - 3, "\"}\n", 3);
	return cap;
}

static void
test_pending(void)
{
	char path[256], big[1100];
	struct peer p = {0};
	struct pending pd = {{0}, 0};
	struct buf want = {0};
	struct sink_conf sc;
	struct sink_stats st;
	struct sink *s;
	struct want w;
	size_t from;

	/* Nobody listens: the three lines wait, oldest first. */
	begin();
	in_dir(path, sizeof(path), "pending.sock");
	sc = conf_of(SINK_UNIX, path, 100);
	s = sink_new(loop, &sc);
	get_pending(s, &pd);
	CHECK_EQ_INT(pd.n, 0);
	push_range(s, 0, 3);
	run_for(30);
	get_pending(s, &pd);
	CHECK_EQ_INT(pd.n, 3);
	expect_range(&want, 0, 3);
	CHECK(buf_equal(&pd.lines, &want));
	/* Delivered: none is pending any more. */
	peer_listen_unix(&p, path);
	CHECK(wait_got(&p, 3));
	CHECK(wait_sent(s, 3));
	get_pending(s, &pd);
	CHECK_EQ_INT(pd.n, 0);
	CHECK_EQ_INT(pd.lines.len, 0);
	st = close_sink(s);
	CHECK_EQ_INT(st.sent, 3);
	peer_stop(&p);
	end();

	/*
	 * A peer that never reads: a write stays in flight, and that line
	 * is reported first, then the waiting ones.
	 */
	begin();
	in_dir(path, sizeof(path), "pending-deaf.sock");
	buf_free(&p.got);
	memset(&p, 0, sizeof(p));
	p.deaf = true;
	peer_listen_unix(&p, path);
	sc = conf_of(SINK_UNIX, path, 5000);
	s = sink_new(loop, &sc);
	w = (struct want){s, 1};
	CHECK(run_until(connects_reach, &w, 2000));
	for (int i = 0; i < 3000; i++)
		sink_push(s, big, big_line(big, sizeof(big), i));
	run_for(50);
	st = *sink_stats(s);
	CHECK(st.sent < 3000);
	CHECK_EQ_INT(st.sent + st.depth, 3000);
	get_pending(s, &pd);
	CHECK_EQ_INT(pd.n, st.depth);
	want.len = 0;
	from = (size_t)st.sent;
	for (size_t i = from; i < 3000; i++)
		buf_append(&want, big, big_line(big, sizeof(big), (int)i));
	CHECK(buf_equal(&pd.lines, &want));
	st = close_sink(s);
	CHECK_EQ_INT(st.sent + st.dropped_close, 3000);
	peer_stop(&p);
	end();
	buf_free(&p.got);
	buf_free(&pd.lines);
	buf_free(&want);
}

/* A datagram receiver read with recv(). */

struct dgram_peer {
	int fd;            /* the bound socket */
	struct buf got;    /* datagrams, each followed by "\n" here */
	size_t n;          /* datagrams received */
	bool newline_seen; /* some datagram ended in "\n" */
};

static void
dgram_drain(struct dgram_peer *d)
{
	char b[2048];
	ssize_t n;

	while ((n = recv(d->fd, b, sizeof(b), 0)) >= 0) {
		if (n > 0 && b[n - 1] == '\n')
			d->newline_seen = true;
		buf_append(&d->got, b, (size_t)n);
		buf_append(&d->got, "\n", 1);
		d->n++;
	}
}

struct dgram_want {
	struct dgram_peer *d; /* the receiver */
	size_t n;             /* datagrams wanted */
};

static bool
dgram_has(void *arg)
{
	struct dgram_want *w = arg;

	dgram_drain(w->d);
	return w->d->n >= w->n;
}

static bool
wait_dgrams(struct dgram_peer *d, size_t n)
{
	struct dgram_want w = {d, n};

	return run_until(dgram_has, &w, 5000);
}

static int
dgram_bind(const char *path)
{
	struct sockaddr_un sun;
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	unlink(path);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
		fatal("bind %s", path);
	return fd;
}

static size_t
max_dgram_qlen(void)
{
	FILE *f = fopen("/proc/sys/net/unix/max_dgram_qlen", "r");
	unsigned long v = 0;

	if (f != NULL) {
		if (fscanf(f, "%lu", &v) != 1)
			v = 0;
		fclose(f);
	}
	return (size_t)v;
}

static void
test_dgram(void)
{
	char path[256], name[300];
	struct dgram_peer d = {-1, {0}, 0, false};
	struct buf want = {0};
	struct sink_conf sc;
	struct sink_stats st;
	struct sink *s;
	struct want w;
	size_t qlen = max_dgram_qlen(), many;

	begin();
	in_dir(path, sizeof(path), "dgram.sock");
	sc = conf_of(SINK_UNIX_DGRAM, path, 5000);
	s = sink_new(loop, &sc);
	snprintf(name, sizeof(name), "unix_dgram %s", path);
	CHECK_STR(sink_name(s), name);

	/* No receiver yet: ENOENT, retried with backoff. */
	push_range(s, 0, 3);
	w = (struct want){s, 2};
	CHECK(run_until(errors_reach, &w, 2000));
	CHECK_EQ_INT(sink_stats(s)->sent, 0);
	d.fd = dgram_bind(path);
	CHECK(wait_dgrams(&d, 3));
	expect_range(&want, 0, 3);
	CHECK(buf_equal(&d.got, &want));
	CHECK(!d.newline_seen); /* one JSON document, no newline */

	/* A receiver that does not read: the sink waits for room. */
	many = qlen > 0 && qlen < 2000 ? qlen + 100 : 200;
	push_range(s, 3, 3 + (int)many);
	run_for(50);
	if (qlen > 0 && qlen < 2000) {
		CHECK(sink_stats(s)->sent < 3 + many);
		CHECK(sink_stats(s)->depth > 0);
	}
	CHECK(wait_dgrams(&d, 3 + many));
	CHECK(wait_sent(s, 3 + many));
	expect_range(&want, 0, 3 + (int)many);
	CHECK(buf_equal(&d.got, &want));

	/* Too long for any datagram: dropped, counted as rejected (not as
	 * an error of the connection), the next one goes. */
	{
		size_t blen = 1 << 20;
		char *huge = xmalloc(blen);
		char l[128];
		uint64_t errors = sink_stats(s)->errors;

		memset(huge, 'x', blen);
		huge[blen - 1] = '\n';
		sink_push(s, huge, blen);
		free(huge);
		sink_push(s, l, line(l, sizeof(l), 3 + (int)many));
		CHECK(wait_sent(s, 4 + many));
		CHECK_EQ_INT(sink_stats(s)->errors, errors);
		CHECK_EQ_INT(sink_stats(s)->rejected, 1);
		CHECK_EQ_INT(sink_stats(s)->depth, 0);
		many++;
	}
	CHECK(wait_dgrams(&d, 3 + many));
	expect_range(&want, 0, 3 + (int)many);
	CHECK(buf_equal(&d.got, &want));

	/* The receiver restarts: a new socket at the same path. */
	close(d.fd);
	d.fd = dgram_bind(path);
	push_range(s, 3 + (int)many, 6 + (int)many);
	CHECK(wait_dgrams(&d, 6 + many));
	expect_range(&want, 0, 6 + (int)many);
	CHECK(buf_equal(&d.got, &want));
	st = close_sink(s);
	CHECK_EQ_INT(st.sent, 6 + many);
	CHECK_EQ_INT(st.connects, 2);
	CHECK_EQ_INT(st.dropped_close, 0);
	CHECK_EQ_INT(st.dropped_full, 0);
	CHECK_EQ_INT(st.rejected, 1);
	end();
	close(d.fd);
	unlink(path);
	buf_free(&d.got);
	buf_free(&want);
}

/*
 * RFC 6587 octet-counted frames in b: the count of whole frames, their
 * messages appended to msgs each with a "\n", or -1 if b is malformed.
 */
static int
octet_frames(const struct buf *b, struct buf *msgs)
{
	size_t i = 0;
	int n = 0;

	msgs->len = 0;
	while (i < b->len) {
		size_t len = 0, j = i;

		while (j < b->len && b->data[j] >= '0' && b->data[j] <= '9')
			len = len * 10 + (size_t)(b->data[j++] - '0');
		if (j == b->len)
			break; /* the count is not all here yet */
		if (j == i || b->data[j] != ' ' || b->data[i] == '0')
			return -1;
		if (b->len - (j + 1) < len)
			break;
		buf_append(msgs, b->data + j + 1, len);
		buf_append(msgs, "\n", 1);
		i = j + 1 + len;
		n++;
	}
	buf_cstr(msgs);
	return n;
}

struct got_frames {
	struct peer *p;   /* the peer */
	struct buf *msgs; /* the messages so far */
	int n;            /* frames wanted */
};

static bool
frames_have(void *arg)
{
	struct got_frames *g = arg;

	return octet_frames(&g->p->got, g->msgs) >= g->n;
}

/*
 * Whether the message m (up to its "\n") is "<12>1 TIMESTAMP HOST burstd
 * PID - - " followed by JSON line i; returns the end of m, or NULL.
 */
static const char *
rfc5424_is(const char *m, int i)
{
	char want[256], pid[64];
	const char *p = m, *host;
	size_t n;

	if (strncmp(p, "<12>1 ", 6) != 0)
		return NULL;
	p += 6;
	/* YYYY-MM-DDTHH:MM:SS.mmmZ, in UTC */
	for (int k = 0; k < 24; k++) {
		char c = p[k];
		bool ok;

		if (k == 4 || k == 7)
			ok = c == '-';
		else if (k == 10)
			ok = c == 'T';
		else if (k == 13 || k == 16)
			ok = c == ':';
		else if (k == 19)
			ok = c == '.';
		else if (k == 23)
			ok = c == 'Z';
		else
			ok = c >= '0' && c <= '9';
		if (!ok)
			return NULL;
	}
	p += 24;
	if (*p++ != ' ')
		return NULL;
	host = p;
	while (*p > 32 && *p < 127)
		p++;
	if (p == host || *p++ != ' ')
		return NULL;
	snprintf(pid, sizeof(pid), "burstd %ld - - ", (long)getpid());
	if (strncmp(p, pid, strlen(pid)) != 0)
		return NULL;
	p += strlen(pid);
	n = line(want, sizeof(want), i);
	if (strncmp(p, want, n) != 0)
		return NULL;
	return p + n;
}

/*
 * Framing for syslog receivers: octet counting with an RFC 5424 header,
 * a newline after the header, the header on a datagram; what a
 * checkpoint keeps (sink_pending) stays the bare JSON line.
 */
static void
test_framing(void)
{
	char path[256], dpath[256], l[128];
	struct peer p = {0};
	struct buf msgs = {0}, want = {0};
	struct pending pd = {{0}, 0};
	struct got_frames g = {&p, &msgs, 3};
	struct sink_conf sc;
	struct sink *s;
	const char *m;
	int fd;

	begin();
	in_dir(path, sizeof(path), "framed.sock");
	peer_listen_unix(&p, path);
	sc = conf_of(SINK_UNIX, path, 100);
	sc.framing = SINK_FRAMING_OCTET;
	sc.format = SINK_FORMAT_RFC5424;
	s = sink_new(loop, &sc);
	push_range(s, 0, 3);
	CHECK(run_until(frames_have, &g, 5000));
	CHECK_EQ_INT(octet_frames(&p.got, &msgs), 3);
	/* No byte beyond the frames, and no newline after a message. */
	CHECK(memchr(p.got.data, '\n', p.got.len) == NULL);
	m = msgs.data;
	for (int i = 0; i < 3 && m != NULL; i++) {
		m = rfc5424_is(m, i);
		CHECK(m != NULL);
	}
	CHECK(m != NULL && *m == '\0');
	close_sink(s);
	peer_stop(&p);

	/* Octet counting alone: "LEN SP JSON", the JSON without "\n". */
	p.got.len = 0;
	peer_listen_unix(&p, path);
	sc.format = SINK_FORMAT_JSON;
	s = sink_new(loop, &sc);
	push_range(s, 3, 5);
	g.n = 2;
	CHECK(run_until(frames_have, &g, 5000));
	buf_cstr(&p.got);
	snprintf(l, sizeof(l), "%d ", (int)line(l, sizeof(l), 3) - 1);
	CHECK(strncmp(p.got.data, l, strlen(l)) == 0);
	expect_range(&want, 3, 5);
	CHECK(buf_equal(&msgs, &want));
	close_sink(s);
	peer_stop(&p);

	/* Newline framing with the header: one message a line. */
	p.got.len = 0;
	peer_listen_unix(&p, path);
	sc.framing = SINK_FRAMING_NEWLINE;
	sc.format = SINK_FORMAT_RFC5424;
	s = sink_new(loop, &sc);
	push_range(s, 5, 7);
	CHECK(wait_got(&p, 2));
	buf_cstr(&p.got);
	m = rfc5424_is(p.got.data, 5);
	CHECK(m != NULL && (m = rfc5424_is(m, 6)) != NULL && *m == '\0');
	close_sink(s);
	peer_stop(&p);

	/* Nobody listening: what waits is reported as the JSON lines. */
	sc.framing = SINK_FRAMING_OCTET;
	s = sink_new(loop, &sc);
	push_range(s, 7, 10);
	run_for(50);
	get_pending(s, &pd);
	expect_range(&want, 7, 10);
	CHECK_EQ_INT(pd.n, 3);
	CHECK(buf_equal(&pd.lines, &want));
	close_sink(s);

	/* A datagram carries the header and the JSON, no newline. */
	in_dir(dpath, sizeof(dpath), "framed.dgram");
	fd = dgram_bind(dpath);
	sc = conf_of(SINK_UNIX_DGRAM, dpath, 100);
	sc.format = SINK_FORMAT_RFC5424;
	s = sink_new(loop, &sc);
	push_range(s, 10, 11);
	CHECK(wait_sent(s, 1));
	{
		char b[1024];
		ssize_t n = recv(fd, b, sizeof(b) - 2, 0);

		CHECK(n > 0);
		if (n > 0) {
			b[n] = '\n';
			b[n + 1] = '\0';
			m = rfc5424_is(b, 10);
			CHECK(m != NULL && *m == '\0');
		}
	}
	close_sink(s);
	close(fd);
	unlink(dpath);
	end();
	buf_free(&p.got);
	buf_free(&msgs);
	buf_free(&want);
	buf_free(&pd.lines);
}

static size_t
proc_size(const char *path)
{
	FILE *f = fopen(path, "r");
	unsigned long v = 0;

	if (f != NULL) {
		if (fscanf(f, "%lu", &v) != 1)
			v = 0;
		fclose(f);
	}
	return (size_t)v;
}

/*
 * Sends one datagram of len bytes (a newline added) on a sink with the
 * given max_alert_bytes, then a short one; returns the length of the
 * first datagram received (0: none came) and the sink's final stats.
 */
static size_t
send_long(const char *path, size_t len, size_t cap, struct sink_stats *st)
{
	struct sink_conf sc = conf_of(SINK_UNIX_DGRAM, path, 10);
	int fd = dgram_bind(path);
	char *p = xmalloc(len + 1), *b = xmalloc(len + 1);
	struct sink *s;
	size_t got = 0;
	ssize_t n;

	sc.max_alert_bytes = cap;
	s = sink_new(loop, &sc);
	memset(p, 'y', len);
	p[len] = '\n';
	sink_push(s, p, len + 1);
	sink_push(s, "short\n", 6);
	CHECK(wait_sent(s, 1));
	run_for(20);
	*st = close_sink(s);
	/* The short one came last; the long one, if it went, first. */
	if ((n = recv(fd, b, len + 1, MSG_TRUNC)) > 0 && n != 5)
		got = (size_t)n;
	close(fd);
	unlink(path);
	free(p);
	free(b);
	return got;
}

/*
 * The send buffer follows max_alert_bytes: a datagram longer than the
 * default buffer carries goes once the cap covers it; without the cap
 * it is rejected (EMSGSIZE) and counted, and the next one still goes.
 */
static void
test_dgram_sndbuf(void)
{
	size_t def = proc_size("/proc/sys/net/core/wmem_default");
	size_t max = proc_size("/proc/sys/net/core/wmem_max");
	size_t len = def + 16384;
	struct sink_stats st;
	char path[256];

	if (def == 0 || max < len) {
		printf("# wmem_default %zu, wmem_max %zu: send buffer test "
		       "skipped\n",
		       def, max);
		return;
	}
	begin();
	in_dir(path, sizeof(path), "long.sock");
	CHECK_EQ_INT(send_long(path, len, len, &st), len);
	CHECK_EQ_INT(st.sent, 2);
	CHECK_EQ_INT(st.rejected, 0);
	CHECK_EQ_INT(send_long(path, len, 0, &st), 0);
	CHECK_EQ_INT(st.sent, 1);
	CHECK_EQ_INT(st.rejected, 1);
	CHECK_EQ_INT(st.errors, 0);
	end();
}

/* Standard output, redirected to a pipe (a stream) and to a file. */
static void
test_stdout(void)
{
	char path[256], chunk[4096];
	struct buf got = {0}, want = {0};
	struct sink_conf sc = conf_of(SINK_STDOUT, NULL, 100);
	struct sink_stats st;
	struct sink *s;
	int fds[2], saved, fd;
	ssize_t n;

	fflush(stdout);
	saved = dup(STDOUT_FILENO);
	CHECK(saved >= 0);

	begin();
	CHECK_EQ_INT(pipe(fds), 0);
	CHECK(dup2(fds[1], STDOUT_FILENO) == STDOUT_FILENO);
	close(fds[1]);
	s = sink_new(loop, &sc);
	CHECK_STR(sink_name(s), "stdout");
	push_range(s, 0, 3);
	CHECK(wait_sent(s, 3));
	sink_reopen(s); /* does nothing */
	push_range(s, 3, 5);
	st = close_sink(s);
	CHECK_EQ_INT(st.sent, 5);
	CHECK_EQ_INT(st.connects, 1);
	end();
	CHECK(dup2(saved, STDOUT_FILENO) == STDOUT_FILENO);
	while ((n = read(fds[0], chunk, sizeof(chunk))) > 0)
		buf_append(&got, chunk, (size_t)n);
	close(fds[0]);
	expect_range(&want, 0, 5);
	CHECK(buf_equal(&got, &want));

	begin();
	in_dir(path, sizeof(path), "stdout.ndjson");
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0);
	CHECK(dup2(fd, STDOUT_FILENO) == STDOUT_FILENO);
	close(fd);
	s = sink_new(loop, &sc);
	push_range(s, 0, 4);
	st = close_sink(s);
	CHECK_EQ_INT(st.sent, 4);
	end();
	CHECK(dup2(saved, STDOUT_FILENO) == STDOUT_FILENO);
	close(saved);
	read_path(path, &got);
	expect_range(&want, 0, 4);
	CHECK(buf_equal(&got, &want));
	buf_free(&got);
	buf_free(&want);
}

static void
remove_dir(void)
{
	char path[512];
	struct dirent *e;
	DIR *d = opendir(dir);

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (unlink(path) < 0)
			(void)rmdir(path);
	}
	closedir(d);
	(void)rmdir(dir);
}

int
main(void)
{
	const char *tmp = getenv("TMPDIR");

	log_init("test_sink", getenv("BURSTD_TEST_VERBOSE") != NULL
				  ? LOG_LVL_DEBUG
				  : LOG_LVL_ERR);
	signal(SIGPIPE, SIG_IGN);
	umask(022);
	snprintf(dir, sizeof(dir), "%s/burstd-sink-XXXXXX",
		 tmp != NULL && strlen(tmp) < 32 ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL)
		fatal("mkdtemp %s", dir);

	test_conf_equal();
	test_file_order();
	test_file_reopen();
	test_file_burst();
	test_file_retry();
	test_file_write_error();
	test_unix_stream();
	test_queue_bound();
	test_oldest();
	test_tcp();
	test_backoff();
	test_close_pending();
	test_close_slow_peer();
	test_pending();
	test_dgram();
	test_dgram_sndbuf();
	test_framing();
	test_stdout();

	remove_dir();
	return check_exit();
}
