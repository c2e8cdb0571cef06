/*
 * input_unix: a listening Unix stream socket; each client sends NDJSON.
 *
 * Owns the listener (uv_pipe_t), the clients (one uv_pipe_t and one
 * framer each, in a list) and one read buffer that every client's reads
 * borrow: libuv calls read_cb right after alloc_cb, and read_cb frames
 * the bytes before it returns, so one buffer is enough.
 *
 * A client's bytes go to its own framer only, so a client that sends
 * garbage or stops mid-line harms no one: its bad lines are counted by
 * the engine (json_invalid), and a partial line it leaves behind when it
 * disconnects is counted in partial_dropped and never passed on.  At
 * most max_clients are connected at once; one more is accepted and
 * closed at once (clients_refused).
 *
 * The socket file.  A socket left at the path by a dead process is
 * replaced: it is unlinked only if it is a socket and connecting to it is
 * refused.  A file that is not a socket, or a socket someone listens on,
 * is left alone and the input does not start.  The socket is bound
 * under a umask that shuts out everyone but the owner, then chmod'ed to
 * the configured mode.  On close it is unlinked, but only if the path
 * still names the socket this input created.
 *
 * Invariants: nclients counts the clients in the list, <= max_clients;
 * every handle initialised counts in nhandles until its close callback,
 * which is the only place a client is freed.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "input_int.h"
#include "util.h"

#define READ_BUF (64 * 1024) /* bytes per read */
#define BACKLOG 128          /* pending connections */

struct unixin;

struct client {
	uv_pipe_t h;             /* the connection */
	struct unixin *u;        /* owner */
	struct framer *fr;       /* this client's lines; NULL if refused */
	struct client *prev;     /* in u->clients */
	struct client *next;     /* in u->clients */
	uint64_t id;             /* sequence number, for logs */
	bool listed;             /* in u->clients, counted in nclients */
};

struct unixin {
	struct input *in;            /* owner */
	struct input_stats stats;    /* this input's counters */
	const char *path;            /* in->ic.path, borrowed */
	uv_pipe_t listener;          /* bound to path */
	bool listener_init;          /* listener is initialised */
	bool bound;                  /* we created the socket file */
	dev_t dev;                   /* the socket file's identity */
	ino_t ino;                   /* likewise */
	struct client *clients;      /* connected, not refused, not closing */
	size_t nclients;             /* entries in clients */
	uint64_t next_id;            /* id of the next client */
	unsigned nhandles;           /* handles initialised, not yet closed */
	bool closing;                /* the close op ran */
	char *buf;                   /* READ_BUF bytes, lent to each read */
	struct log_ratelimit rl_err; /* read and accept failures */
	struct log_ratelimit rl_ref; /* refused clients */
};

static void finish(struct unixin *u);

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

/* Closes a client; a line it left unfinished is dropped and counted. */
static void
client_drop(struct client *c)
{
	struct unixin *u = c->u;

	if (c->listed) {
		if (c->fr != NULL && framer_pending(c->fr) > 0) {
			u->stats.partial_dropped++;
			framer_reset(c->fr);
		}
		if (c->prev != NULL)
			c->prev->next = c->next;
		else
			u->clients = c->next;
		if (c->next != NULL)
			c->next->prev = c->prev;
		c->listed = false;
		u->nclients--;
	}
	if (!uv_is_closing((uv_handle_t *)&c->h))
		uv_close((uv_handle_t *)&c->h, client_close_cb);
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
		input_feed(u->in, c->fr, buf->base, (size_t)nread);
		return;
	}
	if (nread == 0)
		return;
	if (nread != UV_EOF && input_log_ok(&u->rl_err))
		log_warnx("unix input %s: client %ju: read: %s", u->path,
		    (uintmax_t)c->id, uv_strerror((int)nread));
	client_drop(c);
}

static void
connection_cb(uv_stream_t *server, int status)
{
	struct unixin *u = server->data;
	struct client *c;
	int r;

	if (status < 0) {
		if (input_log_ok(&u->rl_err))
			log_warnx("unix input %s: accept: %s", u->path,
			    uv_strerror(status));
		return;
	}
	if (u->closing)
		return;
	c = xcalloc(1, sizeof(*c));
	c->u = u;
	c->id = u->next_id++;
	if (uv_pipe_init(u->in->loop, &c->h, 0) != 0)
		fatalx("unix input %s: uv_pipe_init failed", u->path);
	c->h.data = c;
	u->nhandles++;
	r = uv_accept(server, (uv_stream_t *)&c->h);
	if (r != 0) {
		if (input_log_ok(&u->rl_err))
			log_warnx("unix input %s: accept: %s", u->path,
			    uv_strerror(r));
		client_drop(c);
		return;
	}
	if (u->nclients >= u->in->ic.max_clients) {
		u->stats.clients_refused++;
		if (input_log_ok(&u->rl_ref))
			log_warnx("unix input %s: client %ju refused: %zu "
			    "clients connected (max_clients)", u->path,
			    (uintmax_t)c->id, u->nclients);
		client_drop(c);
		return;
	}
	c->fr = input_framer(u->in);
	c->next = u->clients;
	if (u->clients != NULL)
		u->clients->prev = c;
	u->clients = c;
	c->listed = true;
	u->nclients++;
	u->stats.clients++;
	r = uv_read_start((uv_stream_t *)&c->h, alloc_cb, read_cb);
	if (r != 0) {
		if (input_log_ok(&u->rl_err))
			log_warnx("unix input %s: client %ju: read: %s",
			    u->path, (uintmax_t)c->id, uv_strerror(r));
		client_drop(c);
	}
}

/*
 * Makes room for the socket at path.  Returns 0 if nothing is there or a
 * stale socket was removed, -1 (logged) if something else is there.
 */
static int
clear_stale(const char *path)
{
	struct sockaddr_un sun;
	struct stat st;
	int fd, r, err;

	if (lstat(path, &st) != 0) {
		if (errno == ENOENT)
			return 0;
		log_warn("unix input %s: lstat", path);
		return -1;
	}
	if (!S_ISSOCK(st.st_mode)) {
		log_warnx("unix input %s inode=%ju: exists and is not a "
		    "socket; not replacing it", path, (uintmax_t)st.st_ino);
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		log_warn("unix input %s: socket", path);
		return -1;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	r = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
	err = errno;
	close(fd);
	if (r == 0 || err == EAGAIN || err == EINPROGRESS) {
		log_warnx("unix input %s inode=%ju: another process is "
		    "listening on it", path, (uintmax_t)st.st_ino);
		return -1;
	}
	if (err != ECONNREFUSED) {
		errno = err;
		log_warn("unix input %s inode=%ju: checking for a stale "
		    "socket", path, (uintmax_t)st.st_ino);
		return -1;
	}
	if (unlink(path) != 0 && errno != ENOENT) {
		log_warn("unix input %s inode=%ju: unlink stale socket", path,
		    (uintmax_t)st.st_ino);
		return -1;
	}
	log_info("unix input %s inode=%ju: removed a stale socket", path,
	    (uintmax_t)st.st_ino);
	return 0;
}

static int
unix_start(struct input *in)
{
	struct unixin *u = xcalloc(1, sizeof(*u));
	struct sockaddr_un sun;
	struct stat st;
	mode_t old_mask;
	int r;

	in->be = u;
	u->in = in;
	u->path = in->ic.path;
	u->buf = xmalloc(READ_BUF);
	if (u->path == NULL || u->path[0] == '\0' ||
	    strlen(u->path) >= sizeof(sun.sun_path)) {
		log_warnx("unix input %s: path empty or longer than %zu "
		    "bytes", u->path != NULL ? u->path : "(none)",
		    sizeof(sun.sun_path) - 1);
		return -1;
	}
	if (clear_stale(u->path) < 0)
		return -1;
	if (uv_pipe_init(in->loop, &u->listener, 0) != 0)
		fatalx("unix input %s: uv_pipe_init failed", u->path);
	u->listener.data = u;
	u->listener_init = true;
	u->nhandles++;
	/*
	 * The socket is created with the umask's mode and chmod'ed after;
	 * a tight umask meanwhile lets no one else connect in between.
	 */
	old_mask = umask(0177);
	r = uv_pipe_bind(&u->listener, u->path);
	umask(old_mask);
	if (r != 0) {
		log_warnx("unix input %s: bind: %s", u->path, uv_strerror(r));
		return -1;
	}
	if (lstat(u->path, &st) != 0) {
		log_warn("unix input %s: lstat after bind", u->path);
		return -1;
	}
	u->bound = true;
	u->dev = st.st_dev;
	u->ino = st.st_ino;
	if (chmod(u->path, (mode_t)in->ic.mode) != 0) {
		log_warn("unix input %s inode=%ju: chmod %04o", u->path,
		    (uintmax_t)u->ino, in->ic.mode);
		return -1;
	}
	r = uv_listen((uv_stream_t *)&u->listener, BACKLOG, connection_cb);
	if (r != 0) {
		log_warnx("unix input %s inode=%ju: listen: %s", u->path,
		    (uintmax_t)u->ino, uv_strerror(r));
		return -1;
	}
	log_info("unix input %s inode=%ju: listening (mode %04o, at most %zu "
	    "clients)", u->path, (uintmax_t)u->ino, in->ic.mode,
	    in->ic.max_clients);
	return 0;
}

/* Every handle is closed: free what the input owns, but the struct. */
static void
finish(struct unixin *u)
{
	free(u->buf);
	u->buf = NULL;
	input_closed(u->in);
}

static void
listener_close_cb(uv_handle_t *h)
{
	struct unixin *u = h->data;

	if (--u->nhandles == 0)
		finish(u);
}

/* Unlinks the socket file if the path still names the one we made. */
static void
remove_socket(struct unixin *u)
{
	struct stat st;

	if (!u->bound)
		return;
	u->bound = false;
	if (lstat(u->path, &st) != 0 || st.st_dev != u->dev ||
	    st.st_ino != u->ino) {
		log_info("unix input %s inode=%ju: path no longer names our "
		    "socket; left alone", u->path, (uintmax_t)u->ino);
		return;
	}
	if (unlink(u->path) != 0)
		log_warn("unix input %s inode=%ju: unlink", u->path,
		    (uintmax_t)u->ino);
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
	remove_socket(u);
	if (u->listener_init)
		uv_close((uv_handle_t *)&u->listener, listener_close_cb);
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
