/*
 * input_unix: a listening Unix stream socket; each client sends NDJSON.
 *
 * Owns the listening socket (watched by a uv_poll_t; it accepts by
 * itself, to know what each failed accept cost), the clients (one
 * uv_pipe_t and one framer each, in a list), a spare descriptor, a sweep
 * timer and one read buffer that every client's reads borrow: libuv
 * calls read_cb right after alloc_cb, and read_cb frames the bytes
 * before it returns, so one buffer is enough.
 *
 * A client's bytes go to its own framer only, so a client that sends
 * garbage or stops mid-line harms no one: its bad lines are counted by
 * the engine (json_invalid), and a partial line it leaves behind when it
 * disconnects is counted in partial_dropped and never passed on.
 *
 * Limits, each counted and logged (rate-limited), never silent:
 * - max_clients at once; one more is accepted and closed at once
 *   (clients_refused).
 * - The bytes the framers hold for partial lines are charged to the
 *   engine's state budget, and their total across clients is bounded by
 *   max_buffer_bytes (and by the budget itself).  When a read takes the
 *   total past that, the largest holder is dropped: its partial line is
 *   discarded (partial_dropped) and it is disconnected
 *   (clients_over_buffer).  So the total passes the bound by at most
 *   what one read makes one framer allocate, and only until that read's
 *   callback returns.
 * - A client silent for idle_timeout is closed (clients_idle); the sweep
 *   timer looks every quarter of it.
 * - Descriptors: a client whose descriptor falls within NOFILE_RESERVE
 *   of the soft RLIMIT_NOFILE is refused (clients_refused), so that
 *   clients alone never starve checkpoints and sinks of descriptors.
 *   (Descriptors are allocated lowest first, so the number tells how
 *   many are in use.)
 * - Out of descriptors (EMFILE, ENFILE) at accept, the spare descriptor
 *   (/dev/null, opened at start) is given up to accept the waiting
 *   connection and close it, then taken again, so a shipper is told no
 *   at once instead of waiting in the backlog (accept_errors,
 *   clients_refused).  Without a spare, accepting pauses for a second.
 *
 * The socket file is made, replaced when stale, and removed on close as
 * sockpath.h says: what is not provably a dead socket is left alone and
 * the input does not start; on close the path is unlinked only if it
 * still names the socket this input created.
 *
 * Invariants: nclients counts the clients in the list, <= max_clients;
 * `held` is the sum of the listed clients' `held`, which is what is
 * charged to the budget for them; every handle initialised counts in
 * nhandles until its close callback, which is the only place a client
 * is freed.
 */
#define _GNU_SOURCE /* accept4 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "input_int.h"
#include "nofile.h"
#include "sockpath.h"
#include "util.h"

#define READ_BUF (64 * 1024) /* bytes per read */
#define BACKLOG 128          /* pending connections */
#define ACCEPT_BATCH 64      /* connections accepted per wake-up */
#define ACCEPT_PAUSE_MS 1000 /* no descriptor, no spare: wait this long */
#define SWEEP_MIN_MS 50      /* idle sweeps at most this often */
#define SWEEP_MAX_MS 10000   /* and at least this often */

struct unixin;

struct client {
	uv_pipe_t h;         /* the connection */
	struct unixin *u;    /* owner */
	struct framer *fr;   /* this client's lines */
	struct client *prev; /* in u->clients */
	struct client *next; /* in u->clients */
	uint64_t id;         /* sequence number, for logs */
	uint64_t last_ms;    /* loop time of the last read */
	size_t held;         /* bytes charged for its framer */
	bool listed;         /* in u->clients, counted in nclients */
};

struct unixin {
	struct input *in;             /* owner */
	struct input_stats stats;     /* this input's counters */
	const char *path;             /* in->ic.path, borrowed */
	int fd;                       /* the listening socket, or -1 */
	uv_poll_t listener;           /* watches fd */
	bool listener_init;           /* listener is initialised */
	uv_timer_t sweep;             /* idle sweep; accept pause */
	bool sweep_init;              /* sweep is initialised */
	bool paused;                  /* accepting stopped: no descriptor */
	int spare;                    /* /dev/null, given up on EMFILE; or -1 */
	size_t fd_limit;              /* soft RLIMIT_NOFILE, as last read */
	struct sockpath sp;           /* the socket file */
	struct budget *budget;        /* the engine's, borrowed */
	size_t held;                  /* bytes charged for all framers */
	struct client *clients;       /* connected, not refused, not closing */
	size_t nclients;              /* entries in clients */
	uint64_t next_id;             /* id of the next client */
	unsigned nhandles;            /* handles initialised, not yet closed */
	bool closing;                 /* the close op ran */
	char *buf;                    /* READ_BUF bytes, lent to each read */
	struct log_ratelimit rl_err;  /* read and accept failures */
	struct log_ratelimit rl_ref;  /* refused clients */
	struct log_ratelimit rl_drop; /* clients dropped: buffer, idle */
};

static void finish(struct unixin *u);

static void
handle_close_cb(uv_handle_t *h)
{
	struct unixin *u = h->data;

	if (--u->nhandles == 0 && u->closing)
		finish(u);
}

static void
client_close_cb(uv_handle_t *h)
{
	struct client *c = h->data;
	struct unixin *u = c->u;

	framer_free(c->fr);
	free(c);
	if (--u->nhandles == 0 && u->closing)
		finish(u);
}

/* Gives back what c's framer was charged; c->held becomes `now`. */
static void
charge(struct unixin *u, struct client *c, size_t now)
{
	if (now >= c->held) {
		budget_charge(u->budget, now - c->held);
		u->held += now - c->held;
	} else {
		budget_release(u->budget, c->held - now);
		u->held -= c->held - now;
	}
	c->held = now;
	u->stats.buffer_bytes = u->held;
}

/* Closes a client; a line it left unfinished is dropped and counted. */
static void
client_drop(struct client *c)
{
	struct unixin *u = c->u;

	if (c->listed) {
		if (framer_pending(c->fr) > 0)
			u->stats.partial_dropped++;
		framer_reset(c->fr);
		charge(u, c, 0);
		if (c->prev != NULL)
			c->prev->next = c->next;
		else
			u->clients = c->next;
		if (c->next != NULL)
			c->next->prev = c->prev;
		c->listed = false;
		u->nclients--;
		u->stats.clients_connected = u->nclients;
	}
	if (!uv_is_closing((uv_handle_t *)&c->h))
		uv_close((uv_handle_t *)&c->h, client_close_cb);
}

/*
 * The most the framers may hold: max_buffer_bytes (0, as in an
 * input_conf not from conf_load(): no bound of its own), and the budget.
 */
static size_t
held_max(const struct unixin *u)
{
	size_t max = u->in->ic.max_buffer_bytes;

	return max == 0 || u->budget->max < max ? u->budget->max : max;
}

/*
 * Charges what c's framer holds after a read; while the total is over
 * held_max(), drops the client holding the most.
 */
static void
account(struct unixin *u, struct client *c)
{
	charge(u, c, framer_footprint(c->fr));
	while (u->held > held_max(u)) {
		struct client *big = u->clients;
		for (struct client *k = u->clients; k != NULL; k = k->next)
			if (k->held > big->held)
				big = k;
		assert(big != NULL && big->held > 0);
		u->stats.clients_over_buffer++;
		if (input_log_ok(&u->rl_drop))
			log_warnx(
			    "unix input %s: client %ju dropped: its "
			    "partial line holds %zu bytes and the clients' "
			    "together %zu, over %zu (max_buffer_bytes or "
			    "limits.max_state_bytes)",
			    u->path, (uintmax_t)big->id, big->held, u->held,
			    held_max(u));
		client_drop(big);
	}
}

static void
alloc_cb(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	struct client *c = h->data;

	buf->base = c->u->buf;
	buf->len = READ_BUF;
}

static void
read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct client *c = s->data;
	struct unixin *u = c->u;

	if (nread > 0) {
		c->last_ms = uv_now(u->in->loop);
		input_feed(u->in, c->fr, buf->base, (size_t)nread);
		account(u, c);
		return;
	}
	if (nread == 0)
		return;
	if (nread != UV_EOF && input_log_ok(&u->rl_err))
		log_warnx("unix input %s: client %ju: read: %s", u->path,
			  (uintmax_t)c->id, uv_strerror((int)nread));
	client_drop(c);
}

/* The soft RLIMIT_NOFILE now (it may have been raised at a reload). */
static size_t
fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
		return SIZE_MAX;
	return (size_t)rl.rlim_cur;
}

/* Whether fd lies within the descriptors kept from clients. */
static bool
in_reserve(struct unixin *u, int fd)
{
	if ((size_t)fd + NOFILE_RESERVE < u->fd_limit)
		return false;
	u->fd_limit = fd_limit();
	return (size_t)fd + NOFILE_RESERVE >= u->fd_limit;
}

/*
 * Takes one accepted connection on, or refuses it over max_clients or
 * within the descriptor reserve.
 */
static void
take(struct unixin *u, int fd)
{
	struct client *c;
	uint64_t id = u->next_id++;
	int r;

	if (in_reserve(u, fd)) {
		close(fd);
		u->stats.clients_refused++;
		if (input_log_ok(&u->rl_ref))
			log_warnx(
			    "unix input %s: client %ju refused: %zu "
			    "clients connected and fewer than %d descriptors "
			    "left under the limit of %zu, kept for checkpoints "
			    "and sinks; raise LimitNOFILE",
			    u->path, (uintmax_t)id, u->nclients, NOFILE_RESERVE,
			    u->fd_limit);
		return;
	}
	if (u->nclients >= u->in->ic.max_clients) {
		close(fd);
		u->stats.clients_refused++;
		if (input_log_ok(&u->rl_ref))
			log_warnx("unix input %s: client %ju refused: %zu "
				  "clients connected (max_clients)",
				  u->path, (uintmax_t)id, u->nclients);
		return;
	}
	c = xcalloc(1, sizeof(*c));
	c->u = u;
	c->id = id;
	if (uv_pipe_init(u->in->loop, &c->h, 0) != 0)
		fatalx("unix input %s: uv_pipe_init failed", u->path);
	c->h.data = c;
	u->nhandles++;
	if ((r = uv_pipe_open(&c->h, fd)) != 0) {
		close(fd);
		u->stats.accept_errors++;
		if (input_log_ok(&u->rl_err))
			log_warnx("unix input %s: client %ju: %s", u->path,
				  (uintmax_t)id, uv_strerror(r));
		client_drop(c);
		return;
	}
	c->fr = input_framer(u->in);
	c->last_ms = uv_now(u->in->loop);
	c->next = u->clients;
	if (u->clients != NULL)
		u->clients->prev = c;
	u->clients = c;
	c->listed = true;
	u->nclients++;
	u->stats.clients++;
	u->stats.clients_connected = u->nclients;
	r = uv_read_start((uv_stream_t *)&c->h, alloc_cb, read_cb);
	if (r != 0) {
		if (input_log_ok(&u->rl_err))
			log_warnx("unix input %s: client %ju: read: %s",
				  u->path, (uintmax_t)c->id, uv_strerror(r));
		client_drop(c);
	}
}

static void poll_cb(uv_poll_t *p, int status, int events);

/*
 * Out of descriptors: gives up the spare to accept the waiting
 * connection and close it, then takes the spare again.  Returns 0 if a
 * connection was refused so, -1 if accepting must pause.
 */
static int
refuse_no_fd(struct unixin *u, int err)
{
	int fd, aerr;

	u->stats.accept_errors++;
	if (u->spare >= 0) {
		close(u->spare);
		u->spare = -1;
		fd = accept4(u->fd, NULL, NULL, SOCK_CLOEXEC);
		aerr = errno;
		if (fd >= 0) {
			close(fd);
			u->stats.clients_refused++;
		}
		u->spare = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (fd < 0 && (aerr == EAGAIN || aerr == EWOULDBLOCK))
			return 0; /* it went away meanwhile */
		if (fd >= 0) {
			if (input_log_ok(&u->rl_ref))
				log_warnx("unix input %s: client %ju refused: "
					  "accept: %s; %zu clients connected; "
					  "raise LimitNOFILE",
					  u->path, (uintmax_t)u->next_id++,
					  strerror(err), u->nclients);
			return 0;
		}
	}
	if (input_log_ok(&u->rl_err))
		log_warnx("unix input %s: accept: %s and no spare descriptor; "
			  "pausing %d ms",
			  u->path, strerror(err), ACCEPT_PAUSE_MS);
	return -1;
}

static void sweep_cb(uv_timer_t *t);

/* Stops accepting for ACCEPT_PAUSE_MS; the sweep timer resumes it. */
static void
pause_accepting(struct unixin *u)
{
	uv_poll_stop(&u->listener);
	u->paused = true;
	uv_timer_start(&u->sweep, sweep_cb, ACCEPT_PAUSE_MS, 0);
}

static void
poll_cb(uv_poll_t *p, int status, int events)
{
	struct unixin *u = p->data;

	if (u->closing)
		return;
	if (status < 0) {
		u->stats.accept_errors++;
		if (input_log_ok(&u->rl_err))
			log_warnx("unix input %s: poll: %s", u->path,
				  uv_strerror(status));
		pause_accepting(u);
		return;
	}
	for (int i = 0; i < ACCEPT_BATCH && !u->closing; i++) {
		int fd = accept4(u->fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd >= 0) {
			take(u, fd);
			continue;
		}
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return;
		if (errno == EINTR || errno == ECONNABORTED)
			continue;
		if (errno == EMFILE || errno == ENFILE) {
			if (refuse_no_fd(u, errno) < 0) {
				pause_accepting(u);
				return;
			}
			continue;
		}
		u->stats.accept_errors++;
		if (input_log_ok(&u->rl_err))
			log_warn("unix input %s: accept", u->path);
		pause_accepting(u);
		return;
	}
}

/* The sweep's period: a quarter of idle_timeout, within bounds. */
static uint64_t
sweep_ms(const struct unixin *u)
{
	int64_t ms = u->in->ic.idle_timeout_ms / 4;

	if (ms < SWEEP_MIN_MS)
		ms = SWEEP_MIN_MS;
	if (ms > SWEEP_MAX_MS)
		ms = SWEEP_MAX_MS;
	return (uint64_t)ms;
}

/*
 * Closes the clients silent for idle_timeout, resumes a paused accept,
 * and comes back in sweep_ms().
 */
static void
sweep_cb(uv_timer_t *t)
{
	struct unixin *u = t->data;
	uint64_t now = uv_now(u->in->loop);
	uint64_t idle = (uint64_t)u->in->ic.idle_timeout_ms;
	struct client *c, *next;

	if (u->closing)
		return;
	if (u->paused) {
		u->paused = false;
		if (u->spare < 0)
			u->spare = open("/dev/null", O_RDONLY | O_CLOEXEC);
		uv_poll_start(&u->listener, UV_READABLE, poll_cb);
	}
	for (c = u->clients; idle > 0 && c != NULL; c = next) {
		next = c->next;
		if (now - c->last_ms < idle)
			continue;
		u->stats.clients_idle++;
		if (input_log_ok(&u->rl_drop))
			log_info("unix input %s: client %ju closed: silent for "
				 "%" PRIu64 " ms (idle_timeout)%s",
				 u->path, (uintmax_t)c->id, now - c->last_ms,
				 framer_pending(c->fr) > 0
				     ? "; its partial line is dropped"
				     : "");
		client_drop(c);
	}
	if (idle > 0)
		uv_timer_start(&u->sweep, sweep_cb, sweep_ms(u), 0);
}

static int
unix_start(struct input *in)
{
	struct unixin *u = xcalloc(1, sizeof(*u));
	int r;

	in->be = u;
	u->in = in;
	u->path = in->ic.path;
	u->fd = -1;
	u->budget = engine_budget(in->engine);
	u->fd_limit = fd_limit();
	u->buf = xmalloc(READ_BUF);
	if (uv_timer_init(in->loop, &u->sweep) != 0)
		fatalx("unix input %s: uv_timer_init failed", u->path);
	u->sweep.data = u;
	u->sweep_init = true;
	u->nhandles++;
	/* Taken now, while descriptors are plenty. */
	if ((u->spare = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0)
		log_warn("unix input %s: /dev/null (the spare descriptor)",
			 u->path);
	if ((u->fd =
		 sockpath_bind(&u->sp, "unix input", u->path, in->ic.mode)) < 0)
		return -1;
	if (listen(u->fd, BACKLOG) != 0) {
		log_warn("unix input %s inode=%ju: listen", u->path,
			 (uintmax_t)u->sp.ino);
		return -1;
	}
	if ((r = uv_poll_init(in->loop, &u->listener, u->fd)) != 0) {
		log_warnx("unix input %s: %s", u->path, uv_strerror(r));
		return -1;
	}
	u->listener.data = u;
	u->listener_init = true;
	u->nhandles++;
	if ((r = uv_poll_start(&u->listener, UV_READABLE, poll_cb)) != 0) {
		log_warnx("unix input %s: %s", u->path, uv_strerror(r));
		return -1;
	}
	if (in->ic.idle_timeout_ms > 0)
		uv_timer_start(&u->sweep, sweep_cb, sweep_ms(u), 0);
	log_info("unix input %s inode=%ju: listening (mode %04o, at most %zu "
		 "clients, %zu bytes of partial lines, idle_timeout %" PRId64
		 " ms)",
		 u->path, (uintmax_t)u->sp.ino, in->ic.mode, in->ic.max_clients,
		 in->ic.max_buffer_bytes, in->ic.idle_timeout_ms);
	return 0;
}

/* Every handle is closed: free what the input owns, but the struct. */
static void
finish(struct unixin *u)
{
	if (u->fd >= 0)
		close(u->fd);
	u->fd = -1;
	if (u->spare >= 0)
		close(u->spare);
	u->spare = -1;
	free(u->buf);
	u->buf = NULL;
	input_closed(u->in);
}

static void
unix_close(struct input *in)
{
	struct unixin *u = in->be;
	struct client *c, *next;

	u->closing = true;
	for (c = u->clients; c != NULL; c = next) {
		next = c->next;
		client_drop(c);
	}
	assert(u->held == 0);
	sockpath_remove(&u->sp);
	if (u->listener_init)
		uv_close((uv_handle_t *)&u->listener, handle_close_cb);
	if (u->sweep_init)
		uv_close((uv_handle_t *)&u->sweep, handle_close_cb);
	if (u->nhandles == 0)
		finish(u);
}

static const struct input_stats *
unix_stats(const struct input *in)
{
	const struct unixin *u = in->be;

	return &u->stats;
}

const struct input_ops input_unix_ops = {
    .name = "unix",
    .start = unix_start,
    .close = unix_close,
    .stats = unix_stats,
};
