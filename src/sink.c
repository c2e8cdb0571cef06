/*
 * sink: the part every backend shares: the queue of alert lines, the
 * write pump, reconnection with backoff, the counters and the close
 * sequence.  The backends and the state diagram are in sink_int.h.
 *
 * The sink owns its lines (copies), its timer and its backend state; it
 * borrows the loop.  It is freed only in the timer's close callback,
 * which runs after every backend handle has closed.
 *
 * Invariants:
 * - at most queue_max lines wait (head..tail); the lines taken for
 *   writing (cur, one line or a batch of ncur) are not among them, so
 *   lines whose write failed keep their place at the front and are
 *   retried before any other (at least once), while a full queue drops
 *   its oldest waiting line;
 * - at most one write is in flight (busy), always of cur, and cur is
 *   freed only once its write completed: its lines count as sent then;
 * - queued == sent + dropped_full + dropped_close + rejected + depth,
 *   where depth counts the waiting lines and cur's (asserted at every
 *   change: the ledger of every alert accepted);
 * - the timer runs only in WAIT (the backoff) or, once sink_close() was
 *   called, as the deadline for flushing.
 *
 * Reconnection delays: the n-th consecutive failure waits
 * b = min(backoff_min * 2^(n-1), backoff_max), jittered uniformly to
 * b * [0.8, 1.2] so that sinks which lost the same peer do not all come
 * back in the same millisecond.  Success resets b to backoff_min; success
 * is a line written on the connection, or a connection that stayed up
 * for backoff_max.  A connect or open that works is not enough on its
 * own: a file on a full disk opens fine and fails every write, and a
 * peer may accept and hang up at once; neither should be retried at
 * backoff_min forever.
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "sink.h"
#include "sink_int.h"
#include "timefmt.h"
#include "util.h"

/* How long sink_close() lets a live connection take the queued lines. */
#define CLOSE_GRACE_MS 1000

/* RFC 5424 PRI of every alert: facility user (1), severity warning (4). */
#define SYSLOG_PRI (1 * 8 + 4)

/* Failure messages per sink: a burst of this many per minute, at most. */
#define LOG_BURST 3
#define LOG_INTERVAL_MS 60000

static void
set_depth(struct sink *s)
{
	s->stats.depth = s->nwait + s->ncur;
	assert((s->cur == NULL) == (s->ncur == 0));
	assert(s->stats.queued == s->stats.sent + s->stats.dropped_full +
				      s->stats.dropped_close +
				      s->stats.rejected + s->stats.depth);
}

static uint64_t
rng_next(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Returns the delay before the next attempt and doubles the step. */
static uint64_t
next_delay(struct sink *s)
{
	uint64_t b = (uint64_t)s->backoff_ms;
	uint64_t d = b * (800 + rng_next(&s->rng) % 401) / 1000;

	if (s->backoff_ms > s->conf.backoff_max_ms / 2)
		s->backoff_ms = s->conf.backoff_max_ms;
	else
		s->backoff_ms *= 2;
	return d > 0 ? d : 1;
}

static struct sink_line *
take(struct sink *s)
{
	struct sink_line *l = s->head;

	if (l == NULL)
		return NULL;
	s->head = l->next;
	if (s->head == NULL)
		s->tail = NULL;
	s->nwait--;
	l->next = NULL;
	return l;
}

/*
 * Takes the next lines for writing into cur: the oldest one, and with a
 * backend that writes batches every other waiting line within the
 * batch's bounds.
 */
static void
take_cur(struct sink *s)
{
	struct sink_line *last;
	size_t bytes;

	if ((s->cur = take(s)) == NULL)
		return;
	s->ncur = 1;
	if (s->ops->writev == NULL)
		return;
	last = s->cur;
	bytes = last->len;
	while (s->head != NULL && s->ncur < SINK_BATCH_LINES &&
	       bytes + s->head->len <= SINK_BATCH_BYTES) {
		last->next = take(s);
		last = last->next;
		bytes += last->len;
		s->ncur++;
	}
}

/* Frees cur's lines. */
static void
drop_cur(struct sink *s)
{
	struct sink_line *l, *next;

	for (l = s->cur; l != NULL; l = next) {
		next = l->next;
		free(l);
	}
	s->cur = NULL;
	s->ncur = 0;
}

/* cur was written: count its lines and let them go. */
static void
done(struct sink *s)
{
	s->stats.sent += s->ncur;
	drop_cur(s);
	set_depth(s);
}

static void
connect_start(struct sink *s)
{
	s->state = SINK_CONNECTING;
	s->ops->connect(s);
}

static void
go_down(struct sink *s)
{
	s->state = SINK_DOWNING;
	s->ops->disconnect(s);
}

static void
timer_close_cb(uv_handle_t *h)
{
	struct sink *s = h->data;

	s->ops->free(s);
	if (s->closed_cb != NULL)
		s->closed_cb(s->closed_arg);
	free(s->conf.path);
	free(s->conf.host);
	free(s->name);
	free(s);
}

/* The backend is closed: what is left is dropped, then the timer goes. */
static void
finish(struct sink *s)
{
	struct sink_line *l;

	s->state = SINK_DONE;
	s->stats.dropped_close += s->nwait + s->ncur;
	drop_cur(s);
	while ((l = take(s)) != NULL)
		free(l);
	set_depth(s);
	if (s->stats.dropped_close > 0)
		log_warnx("sink %s: closed with %llu alert(s) undelivered",
			  s->name, (unsigned long long)s->stats.dropped_close);
	uv_close((uv_handle_t *)&s->timer, timer_close_cb);
}

static void
timer_cb(uv_timer_t *t)
{
	struct sink *s = t->data;

	if (s->closing) {
		/* The flush deadline: a slow peer does not hold us up. */
		if (s->state == SINK_UP)
			go_down(s);
		return;
	}
	if (s->state == SINK_WAIT)
		connect_start(s);
}

/*
 * Writes lines while the sink is up and no write is in flight.  A closing
 * sink goes down once nothing is left to write.
 */
static void
pump(struct sink *s)
{
	enum sink_io r;

	while (s->state == SINK_UP && !s->busy) {
		if (s->cur == NULL)
			take_cur(s);
		if (s->cur == NULL)
			break;
		if (s->ops->writev != NULL)
			r = s->ops->writev(s, s->cur, s->ncur);
		else
			r = s->ops->write(s, s->cur->data, s->cur->len);
		switch (r) {
		case SINK_OK:
			done(s);
			break;
		case SINK_AGAIN:
			s->busy = true;
			return;
		case SINK_ERR:
			/* Down (the loop ends) or the line was rejected. */
			break;
		}
	}
	if (s->closing && s->state == SINK_UP && !s->busy && s->cur == NULL &&
	    s->head == NULL)
		go_down(s);
}

static const struct sink_ops *
pick_ops(enum sink_type type)
{
	switch (type) {
	case SINK_STDOUT:
		/* A pipe, socket or terminal is a stream; a file is not. */
		switch (uv_guess_handle(1)) {
		case UV_TTY:
		case UV_NAMED_PIPE:
		case UV_TCP:
			return &sink_ops_stdout;
		default:
			return &sink_ops_file;
		}
	case SINK_FILE:
		return &sink_ops_file;
	case SINK_UNIX:
		return &sink_ops_unix;
	case SINK_UNIX_DGRAM:
		return &sink_ops_dgram;
	case SINK_TCP:
		return &sink_ops_tcp;
	}
	fatalx("sink: unknown type %d", (int)type);
}

static char *
make_name(const struct sink_conf *sc)
{
	const char *path = sc->path, *host = sc->host, *type;
	size_t n;
	char *name;

	switch (sc->type) {
	case SINK_STDOUT:
		return xstrdup("stdout");
	case SINK_TCP:
		n = strlen(host) + 32;
		name = xmalloc(n);
		if (strchr(host, ':') != NULL)
			snprintf(name, n, "tcp [%s]:%d", host, sc->port);
		else
			snprintf(name, n, "tcp %s:%d", host, sc->port);
		return name;
	case SINK_FILE:
		type = "file";
		break;
	case SINK_UNIX:
		type = "unix";
		break;
	case SINK_UNIX_DGRAM:
	default:
		type = "unix_dgram";
		break;
	}
	n = strlen(type) + strlen(path) + 2;
	name = xmalloc(n);
	snprintf(name, n, "%s %s", type, path);
	return name;
}

/*
 * The RFC 5424 HOSTNAME: printable US-ASCII without spaces, at most 255
 * characters, "-" when unknown.
 */
static void
set_hostname(struct sink *s)
{
	char *h = s->hostname;

	if (gethostname(h, sizeof(s->hostname)) != 0)
		h[0] = '\0';
	h[sizeof(s->hostname) - 1] = '\0';
	for (char *p = h; *p != '\0'; p++)
		if (*p < 33 || *p > 126)
			*p = '-';
	if (h[0] == '\0')
		snprintf(h, sizeof(s->hostname), "-");
}

/* A queued copy of one JSON line, framed as the sink's conf says. */
static struct sink_line *
frame(struct sink *s, const char *line, size_t len)
{
	char hdr[TIMEFMT_ISO_MAX + sizeof(s->hostname) + 64],
	    ts[TIMEFMT_ISO_MAX];
	char cnt[32];
	size_t json = len > 0 && line[len - 1] == '\n' ? len - 1 : len;
	size_t hl = 0, cl = 0;
	struct sink_line *l;
	char *p;

	if (s->conf.format == SINK_FORMAT_RFC5424) {
		timefmt_iso(real_now_ms(), ts);
		hl = (size_t)snprintf(hdr, sizeof(hdr),
				      "<%d>1 %s %s burstd %ld "
				      "- - ",
				      SYSLOG_PRI, ts, s->hostname,
				      (long)getpid());
	}
	if (s->conf.framing == SINK_FRAMING_OCTET)
		cl = (size_t)snprintf(cnt, sizeof(cnt), "%zu ", hl + json);
	l = xmalloc(sizeof(*l) + cl + hl + json + 1);
	p = l->data;
	memcpy(p, cnt, cl);
	memcpy(p + cl, hdr, hl);
	memcpy(p + cl + hl, line, json);
	p[cl + hl + json] = '\n';
	l->next = NULL;
	l->t_ms = uv_now(s->loop);
	l->raw_off = cl + hl;
	l->raw_len = json + 1;
	l->len =
	    cl + hl + json + (s->conf.framing == SINK_FRAMING_OCTET ? 0 : 1);
	return l;
}

struct sink *
sink_new(uv_loop_t *loop, const struct sink_conf *sc)
{
	struct sink *s = xcalloc(1, sizeof(*s));

	s->loop = loop;
	s->conf = *sc;
	/* The configuration checks these; stay sane without it. */
	s->conf.path = xstrdup(sc->path != NULL ? sc->path : "");
	s->conf.host = xstrdup(sc->host != NULL ? sc->host : "");
	s->conf.name = NULL; /* the owner's, for labels; not needed here */
	if (s->conf.queue_max < 1)
		s->conf.queue_max = 1;
	if (s->conf.backoff_min_ms < 1)
		s->conf.backoff_min_ms = 1;
	if (s->conf.backoff_max_ms > 7LL * 86400 * 1000)
		s->conf.backoff_max_ms = 7LL * 86400 * 1000;
	if (s->conf.backoff_max_ms < s->conf.backoff_min_ms)
		s->conf.backoff_max_ms = s->conf.backoff_min_ms;
	s->ops = pick_ops(sc->type);
	s->name = make_name(&s->conf);
	set_hostname(s);
	s->backoff_ms = s->conf.backoff_min_ms;
	s->rng = mono_now_ms() ^ (uint64_t)(uintptr_t)s;
	s->rl.interval_ms = LOG_INTERVAL_MS;
	s->rl.burst = LOG_BURST;
	if (uv_timer_init(loop, &s->timer) != 0)
		fatalx("sink %s: cannot create a timer", s->name);
	s->timer.data = s;
	s->ops->init(s);
	connect_start(s);
	return s;
}

void
sink_push(struct sink *s, const char *line, size_t len)
{
	struct sink_line *l;

	s->stats.queued++;
	if (s->closing) {
		s->stats.dropped_close++;
		set_depth(s);
		return;
	}
	if (s->nwait >= s->conf.queue_max) {
		free(take(s));
		s->stats.dropped_full++;
	}
	l = frame(s, line, len);
	if (s->tail != NULL)
		s->tail->next = l;
	else
		s->head = l;
	s->tail = l;
	s->nwait++;
	set_depth(s);
	pump(s);
}

void
sink_reopen(struct sink *s)
{
	/* Standard output may use the file backend but is never reopened. */
	if (s->ops->reopen == NULL || s->conf.type == SINK_STDOUT || s->closing)
		return;
	s->ops->reopen(s);
	switch (s->state) {
	case SINK_WAIT:
		/* A retry is due anyway; the signal makes it now. */
		uv_timer_stop(&s->timer);
		connect_start(s);
		break;
	case SINK_CONNECTING:
		/* The open in flight may have found the old file. */
		s->reopen_pending = true;
		break;
	case SINK_UP:
		s->now = true;
		go_down(s);
		break;
	case SINK_DOWNING:
		s->now = true;
		break;
	case SINK_DONE:
		break;
	}
}

void
sink_close(struct sink *s, sink_closed_cb *cb, void *arg)
{
	if (s->closing)
		return;
	s->closing = true;
	s->closed_cb = cb;
	s->closed_arg = arg;
	uv_timer_stop(&s->timer);
	switch (s->state) {
	case SINK_WAIT:
		/* Down: nothing to wait for, nothing to flush to. */
		finish(s);
		break;
	case SINK_CONNECTING:
		go_down(s);
		break;
	case SINK_UP:
		/* Up: hand over what is queued, within the deadline. */
		uv_timer_start(&s->timer, timer_cb, CLOSE_GRACE_MS, 0);
		pump(s);
		break;
	case SINK_DOWNING:
		/* sink_down() will finish. */
		break;
	case SINK_DONE:
		break;
	}
}

const struct sink_stats *
sink_stats(const struct sink *s)
{
	return &s->stats;
}

void
sink_pending(const struct sink *s, sink_line_cb *cb, void *arg)
{
	/* cur was taken from the front: it is older than any waiting line. */
	for (const struct sink_line *l = s->cur; l != NULL; l = l->next)
		cb(arg, l->data + l->raw_off, l->raw_len);
	for (const struct sink_line *l = s->head; l != NULL; l = l->next)
		cb(arg, l->data + l->raw_off, l->raw_len);
}

bool
sink_is_up(const struct sink *s)
{
	return s->state == SINK_UP;
}

uint64_t
sink_oldest_ms(const struct sink *s)
{
	/* cur was taken from the front: it is older than any waiting line. */
	if (s->cur != NULL)
		return s->cur->t_ms;
	return s->head != NULL ? s->head->t_ms : 0;
}

const char *
sink_name(const struct sink *s)
{
	return s->name;
}

static bool
str_equal(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

bool
sink_conf_equal(const struct sink_conf *a, const struct sink_conf *b)
{
	return a->type == b->type && str_equal(a->path, b->path) &&
	       str_equal(a->host, b->host) && a->port == b->port &&
	       a->queue_max == b->queue_max &&
	       a->backoff_min_ms == b->backoff_min_ms &&
	       a->backoff_max_ms == b->backoff_max_ms &&
	       a->max_alert_bytes == b->max_alert_bytes &&
	       a->framing == b->framing && a->format == b->format;
}

/* Calls from the backends. */

void
sink_up(struct sink *s)
{
	if (s->state != SINK_CONNECTING)
		return;
	s->state = SINK_UP;
	s->stats.connects++;
	s->up_ms = uv_now(s->loop);
	s->up_sent = s->stats.sent;
	if (s->failures > 0) {
		/* Not rate-limited: the failures may have used up the
		 * burst, and this is the line that says they are over. */
		log_info("sink %s: connected after %llu failure(s)", s->name,
			 (unsigned long long)s->failures);
		s->failures = 0;
	} else {
		log_debug("sink %s: connected", s->name);
	}
	if (s->reopen_pending) {
		s->reopen_pending = false;
		s->now = true;
		go_down(s);
		return;
	}
	pump(s);
}

void
sink_fail(struct sink *s, const char *what, int err)
{
	if (s->state != SINK_CONNECTING && s->state != SINK_UP)
		return;
	if (s->state == SINK_UP &&
	    (s->stats.sent > s->up_sent ||
	     uv_now(s->loop) - s->up_ms >= (uint64_t)s->conf.backoff_max_ms))
		s->backoff_ms = s->conf.backoff_min_ms;
	s->stats.errors++;
	s->failures++;
	if (log_ratelimit_ok(&s->rl))
		log_warnx("sink %s: %s: %s (%zu alert(s) waiting)", s->name,
			  what, uv_strerror(err), s->stats.depth);
	go_down(s);
}

void
sink_down(struct sink *s)
{
	if (s->state != SINK_DOWNING)
		fatalx("sink %s: down in state %d", s->name, (int)s->state);
	if (s->busy)
		fatalx("sink %s: down with a write in flight", s->name);
	if (s->closing) {
		finish(s);
	} else if (s->now) {
		s->now = false;
		connect_start(s);
	} else {
		s->state = SINK_WAIT;
		uv_timer_start(&s->timer, timer_cb, next_delay(s), 0);
	}
}

void
sink_written(struct sink *s, int status)
{
	s->busy = false;
	if (status == 0)
		done(s);
	else
		sink_fail(s, "write", status);
	pump(s);
}

void
sink_reject(struct sink *s, const char *what, int err)
{
	size_t len = s->cur != NULL ? s->cur->len : 0;

	assert(s->ops->writev == NULL && s->ncur <= 1);
	s->stats.rejected += s->ncur;
	if (log_ratelimit_ok(&s->rl))
		log_warnx("sink %s: %s: %s: alert of %zu bytes dropped",
			  s->name, what, uv_strerror(err), len);
	drop_cur(s);
	set_depth(s);
	if (s->busy) {
		/* From a callback: the pump is not running, restart it. */
		s->busy = false;
		pump(s);
	}
}
