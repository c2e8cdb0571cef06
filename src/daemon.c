/*
 * daemon: lifecycle, signals, reload and the tick.
 *
 * Invariants: `inputs` and `sinks` hold the live ones; an input or sink
 * being closed has left those arrays and is counted in `closing` until
 * its close callback runs.  `iconf` and `sconf` point into `conf`:
 * inputs and sinks keep copies of their own settings, so a reload frees
 * the old conf as soon as everything has moved to the new one.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "checkpoint.h"
#include "config.h"
#include "daemon.h"
#include "engine.h"
#include "esqlrule.h"
#include "http.h"
#include "input.h"
#include "log.h"
#include "nofile.h"
#include "sink.h"
#include "stats.h"
#include "util.h"

struct daemon {
	uv_loop_t loop;                  /* the one loop */
	const char *path;                /* configuration file, for reloads */
	const struct strlist *rules;     /* --rule files, which replace the
					file's rules at every load */
	struct conf *conf;               /* the running configuration */
	struct engine *engine;           /* lines -> alerts */
	struct input **inputs;           /* live inputs */
	const struct input_conf **iconf; /* the conf entry of each input */
	size_t ninputs;
	struct sink **sinks;            /* live sinks */
	const struct sink_conf **sconf; /* the conf entry of each sink */
	size_t nsinks;
	struct sink_conf stdout_conf; /* the sink used when none is set */
	uv_signal_t sig[6];           /* HUP, TERM, INT, USR1, USR2, CHLD */
	uv_timer_t tick;              /* housekeeping */
	uv_timer_t watchdog;          /* WATCHDOG=1, when systemd asks for it */
	struct stats_server *stats;   /* the stats socket, or NULL */
	struct http_server *http;     /* the metrics listener, or NULL */
	char *http_addr;              /* its address (owned) */
	struct checkpoint *resume; /* positions to resume from, at start only */
	uint64_t last_ckpt_ms;     /* monotonic time of the last checkpoint */
	uint64_t ckpt_written;     /* checkpoints written */
	uint64_t ckpt_failed;      /* checkpoints that could not be written */
	uint64_t ckpt_corrupt;     /* corrupt checkpoints found at start */
	uint64_t ckpt_spools_lost; /* spools found damaged at start */
	uint64_t ckpt_state_dropped; /* window states not restored */
	uint64_t ckpt_gen;           /* generation of the last one started */
	uint64_t ckpt_bytes;         /* size of the last one written */
	uint64_t ckpt_write_us;      /* how long its writing took */
	uint64_t ckpt_stall_us;      /* loop time the last one took */
	int64_t ckpt_ok_ms;          /* wall clock of the last one written */
	pid_t ckpt_pid;              /* the writer running, or 0 */
	int ckpt_fd;                 /* read end of the writer's report pipe */
	int lock_fd;                 /* state_dir's lock, held till exit */
	uint64_t reloads_failed;     /* SIGHUPs that changed nothing: invalid
	                            * file, or an input that could not start */
	int start_errno;             /* errno of the last input that could not
	                            * start, 0 if it did not say */
	char *stats_path;            /* its path (owned) */
	bool reload_ok;              /* the last SIGHUP took effect (or none) */
	int64_t reload_ok_ms;        /* wall clock it did, or of the start */
	int64_t start_ms;            /* wall clock of the start */
	uint64_t last_stats_ms;      /* monotonic time of the last stats line */
	uint64_t watchdog_ms;        /* its period (half of WATCHDOG_USEC), or
	                            * 0: systemd asked for none */
	bool notifying;              /* NOTIFY_SOCKET is set */
	char status_sent[256];       /* the last STATUS= sent */
	uint64_t status_ms;          /* monotonic time it was sent */
	enum {
		RUNNING,
		STOP_INPUTS,
		STOP_SINKS,
		STOP_HANDLES,
	} phase;     /* shutdown progress */
	int closing; /* inputs and sinks not yet closed */
	int status;  /* exit status */
};

static char stdout_name[] = "stdout0";

static const int signals[] = {SIGHUP,  SIGTERM, SIGINT,
			      SIGUSR1, SIGUSR2, SIGCHLD};

/* STATUS= is refreshed on the tick when it changed, at most this often. */
#define STATUS_MIN_MS 5000

/* How long a stop waits for a checkpoint writer still running. */
#define WRITER_STOP_MS 20000

/* What a checkpoint writer reports through its pipe before it exits. */
struct ckpt_report {
	int rc;         /* checkpoint_save()'s */
	uint64_t bytes; /* bytes written */
	uint64_t us;    /* time taken to build and write it */
};

static uint64_t
mono_now_us(void)
{
	return uv_hrtime() / 1000;
}

/*
 * sd_notify(3) without libsystemd: one datagram to $NOTIFY_SOCKET.
 * Silently does nothing outside systemd.  Never waits: a receiver whose
 * queue is full loses the message (the next WATCHDOG=1 or STATUS=
 * follows) rather than stall the loop.
 */
static void
notify(const char *msg)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	socklen_t len;
	int fd;

	if (path == NULL || (path[0] != '/' && path[0] != '@') ||
	    strlen(path) >= sizeof(sa.sun_path))
		return;
	memcpy(sa.sun_path, path, strlen(path));
	if (path[0] == '@')
		sa.sun_path[0] = '\0';
	len =
	    (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path));
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return;
	if (sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&sa,
		   len) < 0)
		log_debug("notify %s: %s", path, strerror(errno));
	close(fd);
}

/* The summary systemctl status shows: one line. */
static void
format_status(struct daemon *d, char *out, size_t len)
{
	const struct metrics *m = engine_metrics(d->engine);
	uint64_t now = uv_now(&d->loop), oldest = 0;
	size_t up = 0;
	char age[64] = "no alert waiting";

	for (size_t i = 0; i < d->nsinks; i++) {
		uint64_t t = sink_oldest_ms(d->sinks[i]);
		if (sink_is_up(d->sinks[i]))
			up++;
		if (t != 0 && (oldest == 0 || t < oldest))
			oldest = t;
	}
	if (oldest != 0)
		snprintf(age, sizeof(age), "oldest waiting alert %" PRIu64 " s",
			 now > oldest ? (now - oldest) / 1000 : 0);
	snprintf(out, len,
		 "inputs %zu/%zu up, sinks %zu/%zu up; %" PRIu64
		 " events, %" PRIu64 " alerts; %s",
		 d->ninputs, d->conf->ninputs, up, d->nsinks,
		 m->v[M_lines_read], m->v[M_alerts], age);
}

/*
 * Sends STATUS= (with READY=1 when ready) if the summary changed and
 * the last one is STATUS_MIN_MS old, or at once when forced.
 */
static void
send_status(struct daemon *d, bool force, bool ready)
{
	char st[sizeof(d->status_sent)], msg[sizeof(st) + 32];
	uint64_t now = mono_now_ms();

	if (!d->notifying)
		return;
	if (!force && now - d->status_ms < STATUS_MIN_MS)
		return;
	format_status(d, st, sizeof(st));
	if (!force && strcmp(st, d->status_sent) == 0)
		return;
	snprintf(msg, sizeof(msg), "%sSTATUS=%s", ready ? "READY=1\n" : "", st);
	notify(msg);
	memcpy(d->status_sent, st, sizeof(st));
	d->status_ms = now;
}

static void
watchdog_cb(uv_timer_t *t)
{
	(void)t;
	notify("WATCHDOG=1");
}

/*
 * The period of WATCHDOG=1: half of WATCHDOG_USEC, if that is set and
 * WATCHDOG_PID, when set, names this process (systemd sets both for the
 * main process; a child that inherited them must stay quiet).  0: none.
 */
static uint64_t
watchdog_period_ms(void)
{
	const char *usec = getenv("WATCHDOG_USEC");
	const char *pid = getenv("WATCHDOG_PID");
	unsigned long long us;
	long p;
	char *end;

	if (usec == NULL)
		return 0;
	if (pid != NULL) {
		errno = 0;
		p = strtol(pid, &end, 10);
		if (errno != 0 || end == pid || *end != '\0' ||
		    p != (long)getpid())
			return 0;
	}
	errno = 0;
	us = strtoull(usec, &end, 10);
	if (errno != 0 || end == usec || *end != '\0' || us == 0 ||
	    usec[0] == '-') {
		log_warnx("WATCHDOG_USEC=%s is not a positive number of "
			  "microseconds; no watchdog",
			  usec);
		return 0;
	}
	us /= 2000;
	return us > 0 ? us : 1;
}

static void
alert_out(void *arg, const char *json, size_t len)
{
	struct daemon *d = arg;

	for (size_t i = 0; i < d->nsinks; i++)
		sink_push(d->sinks[i], json, len);
}

static void log_inputs(struct daemon *d, const char *why);

static void
log_sink(const struct sink *sk, const char *why)
{
	const struct sink_stats *s = sink_stats(sk);

	log_info("%s: sink %s: queued=%" PRIu64 " sent=%" PRIu64
		 " dropped_full=%" PRIu64 " dropped_close=%" PRIu64
		 " rejected=%" PRIu64 " errors=%" PRIu64 " connects=%" PRIu64
		 " depth=%zu",
		 why, sink_name(sk), s->queued, s->sent, s->dropped_full,
		 s->dropped_close, s->rejected, s->errors, s->connects,
		 s->depth);
}

static void
log_stats(struct daemon *d, const char *why)
{
	const struct metrics *m = engine_metrics(d->engine);

	log_info("%s: bytes=%" PRIu64 " lines=%" PRIu64 " skipped=%" PRIu64
		 " matched=%" PRIu64 " late=%" PRIu64 " too_late=%" PRIu64
		 " alerts=%" PRIu64 " suppressed=%" PRIu64 " evicted=%" PRIu64
		 " state_bytes=%zu",
		 why, m->v[M_bytes_read], m->v[M_lines_read],
		 m->v[M_lines_too_long] + m->v[M_json_invalid] +
		     m->v[M_json_not_object] + m->v[M_json_too_deep] +
		     m->v[M_events_no_timestamp] + m->v[M_events_bad_timestamp],
		 m->v[M_events_matched], m->v[M_events_late],
		 m->v[M_events_too_late], m->v[M_alerts],
		 m->v[M_alerts_suppressed],
		 m->v[M_groups_evicted] + m->v[M_agents_evicted] +
		     m->v[M_tombstones_evicted],
		 engine_budget(d->engine)->used);
	for (size_t i = 0; i < d->nsinks; i++)
		log_sink(d->sinks[i], why);
	log_inputs(d, why);
}

static void
log_inputs(struct daemon *d, const char *why)
{
	for (size_t i = 0; i < d->ninputs; i++) {
		const struct input_stats *s = input_stats(d->inputs[i]);
		log_info("%s: input %zu: files=%" PRIu64 " rotations=%" PRIu64
			 " closed_early=%" PRIu64 " truncations=%" PRIu64
			 " open_errors=%" PRIu64 " clients=%" PRIu64
			 " refused=%" PRIu64 " partial_dropped=%" PRIu64
			 " idle=%" PRIu64 " over_buffer=%" PRIu64
			 " accept_errors=%" PRIu64,
			 why, i, s->files_opened, s->rotations, s->closed_early,
			 s->truncations, s->open_errors, s->clients,
			 s->clients_refused, s->partial_dropped,
			 s->clients_idle, s->clients_over_buffer,
			 s->accept_errors);
	}
}

static void
log_counters(struct daemon *d)
{
	const struct metrics *m = engine_metrics(d->engine);

	for (int i = 0; i < M__COUNT; i++)
		log_info("counter %s=%" PRIu64, metrics_name((enum metric)i),
			 m->v[i]);
	log_info("counter reloads_failed=%" PRIu64, d->reloads_failed);
	log_stats(d, "counters");
}

static void
position_cb(void *arg, const char *path, const struct input_position *pos)
{
	checkpoint_add_position(arg, path, pos);
}

static void
pending_cb(void *arg, const char *line, size_t len)
{
	buf_append(arg, line, len);
}

/* Takes the checkpoint: every position, waiting alert and the windows. */
static void
fill_checkpoint(struct daemon *d, struct checkpoint *cp)
{
	cp->fingerprint = engine_fingerprint(d->engine);
	cp->saved_ms = real_now_ms();
	cp->gen = d->ckpt_gen;
	for (size_t i = 0; i < d->ninputs; i++)
		input_positions(d->inputs[i], position_cb, cp);
	for (size_t i = 0; i < d->nsinks; i++)
		sink_pending(d->sinks[i], pending_cb,
			     &checkpoint_add_sink(cp, sink_name(d->sinks[i]))
				  ->lines);
	engine_save(d->engine, &cp->window);
}

static void
ckpt_done(struct daemon *d, const struct ckpt_report *r)
{
	if (r->rc == 0) {
		d->ckpt_written++;
		d->ckpt_bytes = r->bytes;
		d->ckpt_write_us = r->us;
		d->ckpt_ok_ms = real_now_ms();
	} else {
		d->ckpt_failed++;
	}
}

/* Writes the checkpoint on the loop, as of this instant. */
static void
save_sync(struct daemon *d)
{
	struct checkpoint cp = {0};
	struct ckpt_report r = {0};
	uint64_t t0 = mono_now_us();

	d->ckpt_gen++;
	fill_checkpoint(d, &cp);
	r.rc = checkpoint_save(d->conf->state_dir, &cp, &r.bytes);
	checkpoint_clear(&cp);
	r.us = mono_now_us() - t0;
	d->ckpt_stall_us = r.us;
	ckpt_done(d, &r);
}

/*
 * The writer: a child of the loop with a copy-on-write image of it, as
 * of the fork.  It reads that image, writes, reports and exits, touching
 * no handle, descriptor or signal of the loop.
 */
static _Noreturn void
writer(struct daemon *d, pid_t parent, int fd)
{
	struct checkpoint cp = {0};
	struct ckpt_report r = {0};
	uint64_t t0 = mono_now_us();

	/* Signals are the parent's business; a writer whose daemon died
	 * (kill -9) goes with it rather than race a new one. */
	for (size_t i = 0; i < sizeof(signals) / sizeof(*signals); i++)
		signal(signals[i], SIG_DFL);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(1);
	fill_checkpoint(d, &cp);
	r.rc = checkpoint_save(d->conf->state_dir, &cp, &r.bytes);
	r.us = mono_now_us() - t0;
	if (write(fd, &r, sizeof(r)) != (ssize_t)sizeof(r))
		_exit(1);
	_exit(r.rc == 0 ? 0 : 1);
}

/* Collects the writer if it has exited: counts its checkpoint written or
 * failed.  Never waits. */
static void
reap(struct daemon *d)
{
	struct ckpt_report r = {.rc = -1};
	int st;
	pid_t p;

	if (d->ckpt_pid == 0)
		return;
	while ((p = waitpid(d->ckpt_pid, &st, WNOHANG)) < 0 && errno == EINTR)
		;
	if (p == 0)
		return;
	if (p < 0) {
		log_warn("checkpoint writer %ld: waitpid", (long)d->ckpt_pid);
	} else if (WIFSIGNALED(st)) {
		log_warnx("checkpoint writer %ld: killed by signal %d", (long)p,
			  WTERMSIG(st));
	} else if (read(d->ckpt_fd, &r, sizeof(r)) != (ssize_t)sizeof(r)) {
		log_warnx("checkpoint writer %ld: exited %d with no report",
			  (long)p, WEXITSTATUS(st));
		r.rc = -1;
	}
	ckpt_done(d, &r);
	close(d->ckpt_fd);
	d->ckpt_fd = -1;
	d->ckpt_pid = 0;
}

/*
 * At stop: waits for the writer, up to WRITER_STOP_MS, then kills one
 * still running (a disk that hangs), so that stopping never waits
 * forever.  A process sent SIGKILL runs none of its code again, even
 * before it can be reaped, so it can never rename an older checkpoint
 * over the last one, written next.
 */
static void
stop_writer(struct daemon *d)
{
	pid_t p = d->ckpt_pid;

	for (int ms = 0; d->ckpt_pid != 0 && ms < WRITER_STOP_MS; ms += 10) {
		reap(d);
		if (d->ckpt_pid != 0)
			usleep(10 * 1000);
	}
	if (d->ckpt_pid == 0)
		return;
	log_warnx("checkpoint writer %ld: still running after %d s; killed",
		  (long)p, WRITER_STOP_MS / 1000);
	kill(p, SIGKILL);
	for (int ms = 0; d->ckpt_pid != 0 && ms < WRITER_STOP_MS; ms += 10) {
		reap(d);
		if (d->ckpt_pid != 0)
			usleep(10 * 1000);
	}
	if (d->ckpt_pid != 0) {
		/* Stuck in the kernel; it dies when its I/O returns. */
		d->ckpt_failed++;
		close(d->ckpt_fd);
		d->ckpt_fd = -1;
		d->ckpt_pid = 0;
	}
}

/*
 * Starts a checkpoint in a forked writer (Redis's BGSAVE), so that the
 * loop pays only for the fork, not for serialising and fsyncing the
 * state.  One at a time: while a writer runs, the next waits for the
 * tick after it.  If fork fails, the checkpoint is written on the loop.
 */
static void
save_checkpoint(struct daemon *d)
{
	int fds[2];
	uint64_t t0;
	pid_t p, parent;

	if (d->conf->state_dir == NULL || d->ckpt_pid != 0)
		return;
	d->last_ckpt_ms = uv_now(&d->loop);
	if (pipe(fds) != 0) {
		log_warn("checkpoint: pipe");
		save_sync(d);
		return;
	}
	for (int i = 0; i < 2; i++)
		fcntl(fds[i], F_SETFD, FD_CLOEXEC);
	fcntl(fds[0], F_SETFL, O_NONBLOCK);
	parent = getpid();
	t0 = mono_now_us();
	d->ckpt_gen++;
	fflush(stderr);
	if ((p = fork()) < 0) {
		log_warn("checkpoint: fork");
		close(fds[0]);
		close(fds[1]);
		d->ckpt_gen--;
		save_sync(d);
		return;
	}
	if (p == 0)
		writer(d, parent, fds[1]);
	close(fds[1]);
	d->ckpt_pid = p;
	d->ckpt_fd = fds[0];
	d->ckpt_stall_us = mono_now_us() - t0;
}

/* Queues one sink's waiting alerts from the checkpoint again. */
static void
requeue(struct sink *s, const struct buf *lines)
{
	const char *p = lines->data, *end = p + lines->len, *nl;

	for (; p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			break;
		sink_push(s, p, (size_t)(nl - p + 1));
	}
}

/*
 * Reads the checkpoint at start: the window state (of the rules compiled
 * the same),
 * the waiting alerts (to the sink of the same name, or to every sink if
 * none has it: at least once), and the positions the inputs resume from.
 */
static void
restore(struct daemon *d)
{
	struct checkpoint *cp = xcalloc(1, sizeof(*cp));
	const char *dir = d->conf->state_dir;
	int r = dir != NULL ? checkpoint_load(dir, cp) : 1;

	if (r > 0) {
		free(cp);
		return;
	}
	if (r < 0) {
		/* Still a restart: no position and no time, so the inputs
		 * read every file from its start (input_set_resume()). */
		if (cp->corrupt)
			d->ckpt_corrupt++;
		log_warnx("checkpoint %s: unreadable; every file is read from "
			  "its start",
			  dir);
		checkpoint_clear(cp);
		cp->saved_ms = 0;
		d->resume = cp;
		return;
	}
	d->ckpt_gen = cp->gen;
	d->ckpt_ok_ms = cp->saved_ms;
	for (size_t i = 0; i < cp->nsinks; i++)
		if (cp->sinks[i].lost)
			d->ckpt_spools_lost++;
	if (cp->fingerprint != engine_fingerprint(d->engine))
		log_info(
		    "checkpoint %s: the rules changed; the window state of "
		    "those compiled the same is restored",
		    dir);
	switch (engine_load(d->engine, cp->window.data, cp->window.len)) {
	case 0:
		break;
	case -2:
		/*
		 * A version whose default was the hand-written plan: its
		 * windows cannot become the ES|QL rule's.  The positions
		 * stay, so that no line is read twice and no alert sent
		 * again; what the open windows held is lost, said here.
		 */
		d->ckpt_state_dropped++;
		log_err("checkpoint %s: window state of the retired built-in "
			"rule (%zu bytes) not restored: windows open at the "
			"checkpoint restart empty, so a window that spans the "
			"upgrade may miss its alert; file positions kept",
			dir, cp->window.len);
		break;
	default:
		d->ckpt_state_dropped++;
		log_warnx("checkpoint %s: window state unreadable; not "
			  "restored",
			  dir);
		break;
	}
	for (size_t i = 0; i < cp->nsinks; i++) {
		bool found = false;
		for (size_t j = 0; j < d->nsinks; j++) {
			if (strcmp(sink_name(d->sinks[j]), cp->sinks[i].name) ==
			    0) {
				requeue(d->sinks[j], &cp->sinks[i].lines);
				found = true;
			}
		}
		for (size_t j = 0; !found && j < d->nsinks; j++)
			requeue(d->sinks[j], &cp->sinks[i].lines);
	}
	log_info("checkpoint %s: resuming %zu file(s), %zu group(s)", dir,
		 cp->npos, engine_groups(d->engine));
	d->resume = cp;
}

static void
tick_cb(uv_timer_t *t)
{
	struct daemon *d = t->data;
	uint64_t now = uv_now(&d->loop);

	engine_tick(d->engine, real_now_ms());
	reap(d);
	if (d->conf->state_dir != NULL &&
	    now - d->last_ckpt_ms >= (uint64_t)d->conf->checkpoint_ms)
		save_checkpoint(d);
	if (d->conf->stats_ms > 0 &&
	    now - d->last_stats_ms >= (uint64_t)d->conf->stats_ms) {
		d->last_stats_ms = now;
		log_stats(d, "stats");
	}
	send_status(d, false, false);
}

static void advance(struct daemon *d);

static void
closed_one(void *arg)
{
	struct daemon *d = arg;

	if (--d->closing == 0 && d->phase != RUNNING)
		advance(d);
}

/* A sink closing at stop, whose counters are logged once it drained. */
struct sink_final {
	struct daemon *d;
	struct sink *s;
};

static void
sink_final_cb(void *arg)
{
	struct sink_final *f = arg;
	struct daemon *d = f->d;

	log_sink(f->s, "final");
	free(f);
	closed_one(d);
}

/* The stats socket's snapshot: the source stats_render() shows. */
static void
render_stats(void *arg, struct buf *out)
{
	struct daemon *d = arg;
	const struct budget *bg = engine_budget(d->engine);
	int64_t now = real_now_ms();
	int64_t age_ms = now - d->ckpt_ok_ms;
	int64_t newest = engine_oldest_newest(d->engine);
	struct stats_sink *sinks = xcalloc(d->nsinks + 1, sizeof(*sinks));
	struct stats_input *inputs = xcalloc(d->ninputs + 1, sizeof(*inputs));
	size_t nrules = engine_nrules(d->engine);
	struct stats_rule *rules = xcalloc(nrules + 1, sizeof(*rules));
	struct stats_source src = {
	    .metrics = engine_metrics(d->engine),
	    .groups = engine_groups(d->engine),
	    .state_bytes = bg->used,
	    .state_bytes_max = bg->max,
	    .ckpt_written = d->ckpt_written,
	    .ckpt_failed = d->ckpt_failed,
	    .ckpt_corrupt = d->ckpt_corrupt,
	    .ckpt_spools_lost = d->ckpt_spools_lost,
	    .ckpt_state_dropped = d->ckpt_state_dropped,
	    .ckpt_bytes = d->ckpt_bytes,
	    .ckpt_duration_us = d->ckpt_write_us,
	    .ckpt_stall_us = d->ckpt_stall_us,
	    .ckpt_age_s = age_ms > 0 ? (uint64_t)age_ms / 1000 : 0,
	    .reloads_failed = d->reloads_failed,
	    .reload_ok = d->reload_ok,
	    .reload_ok_s = (uint64_t)(d->reload_ok_ms / 1000),
	    /* An event ahead of the clock is no lag. */
	    .event_lag_ms = newest != INT64_MIN && newest < now
				? (uint64_t)(now - newest)
				: 0,
	    .start_s = (uint64_t)(d->start_ms / 1000),
	    .rss_bytes = stats_rss_bytes(),
	    .version = BURSTD_VERSION,
	    .sinks = sinks,
	    .nsinks = d->nsinks,
	    .inputs = inputs,
	    .ninputs = d->ninputs,
	    .http = d->http != NULL ? http_stats(d->http) : NULL,
	    .rules = rules,
	    .nrules = nrules,
	};

	for (size_t i = 0; i < d->nsinks; i++) {
		sinks[i].name = d->sconf[i]->name != NULL
				    ? d->sconf[i]->name
				    : sink_name(d->sinks[i]);
		sinks[i].st = sink_stats(d->sinks[i]);
	}
	for (size_t i = 0; i < d->ninputs; i++) {
		inputs[i].name =
		    d->iconf[i]->name != NULL ? d->iconf[i]->name : "input";
		inputs[i].st = input_stats(d->inputs[i]);
		input_counts(d->inputs[i], &inputs[i].lines, &inputs[i].bytes);
	}
	for (size_t i = 0; i < nrules; i++) {
		struct esqlrule *r = engine_rule(d->engine, i);
		rules[i].id = esqlrule_meta(r)->rule_id;
		rules[i].name = esqlrule_meta(r)->name;
		rules[i].m = esqlrule_metrics(r);
		rules[i].groups = esqlrule_groups(r);
		rules[i].state_bytes = esqlrule_bytes(r);
	}
	stats_render(&src, out);
	free(sinks);
	free(inputs);
	free(rules);
}

/*
 * /health: unhealthy while stopping, while an input configured is not
 * running, or while a sink is down (a sink that never needs a connection
 * is always up).
 */
static bool
health(void *arg, struct buf *why)
{
	struct daemon *d = arg;
	char line[256];
	int n;

	if (d->phase != RUNNING) {
		buf_append(why, "stopping", 8);
		return false;
	}
	if (d->ninputs < d->conf->ninputs) {
		n = snprintf(line, sizeof(line), "%zu of %zu inputs running",
			     d->ninputs, d->conf->ninputs);
		buf_append(why, line, (size_t)n);
		return false;
	}
	for (size_t i = 0; i < d->nsinks; i++) {
		if (sink_is_up(d->sinks[i]))
			continue;
		n = snprintf(line, sizeof(line), "sink %s is down",
			     sink_name(d->sinks[i]));
		buf_append(why, line,
			   n > 0 && (size_t)n < sizeof(line) ? (size_t)n : 0);
		return false;
	}
	return true;
}

/* Opens, moves or closes the metrics listener as conf says. */
static void
swap_http(struct daemon *d, const struct conf *c)
{
	const char *want = c->metrics_listen;

	if (d->http_addr != NULL && want != NULL &&
	    strcmp(d->http_addr, want) == 0)
		return;
	if (d->http != NULL) {
		d->closing++;
		http_close(d->http, closed_one, d);
		d->http = NULL;
	}
	free(d->http_addr);
	d->http_addr = NULL;
	if (want != NULL && (d->http = http_new(&d->loop, want, render_stats,
						health, d)) != NULL)
		d->http_addr = xstrdup(want);
}

/* Opens, moves or closes the stats socket as conf says. */
static void
swap_stats(struct daemon *d, const struct conf *c)
{
	const char *want = c->stats_socket;

	if (d->stats_path != NULL && want != NULL &&
	    strcmp(d->stats_path, want) == 0)
		return;
	if (d->stats != NULL) {
		d->closing++;
		stats_close(d->stats, closed_one, d);
		d->stats = NULL;
	}
	free(d->stats_path);
	d->stats_path = NULL;
	if (want != NULL &&
	    (d->stats = stats_new(&d->loop, want, render_stats, d)) != NULL)
		d->stats_path = xstrdup(want);
}

/*
 * Makes the live sinks those of c: an unchanged sink carries on (and
 * reopens its file), the others close, new ones start.
 */
static void
swap_sinks(struct daemon *d, const struct conf *c)
{
	const struct sink_conf *want = c->nsinks ? c->sinks : &d->stdout_conf;
	size_t nwant = c->nsinks ? c->nsinks : 1;
	struct sink **next = xcalloc(nwant, sizeof(*next));
	const struct sink_conf **nconf = xcalloc(nwant, sizeof(*nconf));

	for (size_t i = 0; i < nwant; i++) {
		nconf[i] = &want[i];
		for (size_t j = 0; j < d->nsinks; j++) {
			if (d->sinks[j] != NULL &&
			    sink_conf_equal(&want[i], d->sconf[j])) {
				next[i] = d->sinks[j];
				d->sinks[j] = NULL;
				sink_reopen(next[i]);
				break;
			}
		}
		if (next[i] == NULL) {
			next[i] = sink_new(&d->loop, &want[i]);
			log_info("sink %s started", sink_name(next[i]));
		}
	}
	for (size_t j = 0; j < d->nsinks; j++) {
		if (d->sinks[j] == NULL)
			continue;
		log_info("sink %s stopped", sink_name(d->sinks[j]));
		d->closing++;
		sink_close(d->sinks[j], closed_one, d);
	}
	free(d->sinks);
	free(d->sconf);
	d->sinks = next;
	d->sconf = nconf;
	d->nsinks = nwant;
}

/* Starts a new input for ic; returns it, or NULL (closing) if it failed. */
static struct input *
start_input(struct daemon *d, const struct input_conf *ic, const struct conf *c)
{
	struct input *in = input_new(&d->loop, ic, c, d->engine);

	if (d->resume != NULL)
		input_set_resume(in, d->resume->pos, d->resume->npos,
				 d->resume->saved_ms);
	errno = 0;
	if (input_start(in) == 0)
		return in;
	d->start_errno = errno;
	d->closing++;
	input_close(in, closed_one, d);
	return NULL;
}

/*
 * Whether ic is a socket input on the path of a live input that c does
 * not keep: it can only start once that one has closed.
 */
static bool
is_taking_over(struct daemon *d, const struct input_conf *ic, const bool *kept)
{
	for (size_t j = 0; ic->type == INPUT_UNIX && j < d->ninputs; j++)
		if (!kept[j] && d->iconf[j]->type == INPUT_UNIX &&
		    strcmp(d->iconf[j]->path, ic->path) == 0)
			return true;
	return false;
}

/*
 * Makes the live inputs those of c, as swap_sinks() does, all or
 * nothing: the new inputs start first, and if one fails the others close
 * again and the live ones carry on untouched.  Only an input that takes
 * over the socket path of one that goes must wait until that one has
 * closed; if it then fails, it is logged and counted, and the rest of c
 * stays.  Returns 0, or -1 after logging which input failed (in *what).
 */
static int
swap_inputs(struct daemon *d, const struct conf *c, char *what, size_t whatlen)
{
	struct input **next = xcalloc(c->ninputs + 1, sizeof(*next));
	const struct input_conf **nconf =
	    xcalloc(c->ninputs + 1, sizeof(*nconf));
	bool *kept = xcalloc(d->ninputs + 1, sizeof(*kept));
	size_t n = 0;

	/* Unchanged inputs carry on. */
	for (size_t i = 0; i < c->ninputs; i++) {
		nconf[i] = &c->inputs[i];
		for (size_t j = 0; j < d->ninputs; j++) {
			if (!kept[j] &&
			    input_conf_equal(&c->inputs[i], d->iconf[j])) {
				next[i] = d->inputs[j];
				kept[j] = true;
				break;
			}
		}
	}
	for (size_t i = 0; i < c->ninputs; i++) {
		if (next[i] != NULL || is_taking_over(d, nconf[i], kept))
			continue;
		if ((next[i] = start_input(d, nconf[i], c)) != NULL)
			continue;
		snprintf(what, whatlen, "input %zu (%s) could not start", i,
			 nconf[i]->type == INPUT_UNIX   ? nconf[i]->path
			 : nconf[i]->type == INPUT_FILE ? "file"
							: "stdin");
		for (size_t k = 0; k < c->ninputs; k++) {
			bool fresh = next[k] != NULL;
			for (size_t j = 0; fresh && j < d->ninputs; j++)
				if (next[k] == d->inputs[j])
					fresh = false;
			if (fresh) {
				d->closing++;
				input_close(next[k], closed_one, d);
			}
		}
		free(next);
		free(nconf);
		free(kept);
		return -1;
	}
	for (size_t j = 0; j < d->ninputs; j++) {
		if (kept[j])
			continue;
		d->closing++;
		input_close(d->inputs[j], closed_one, d);
	}
	for (size_t i = 0; i < c->ninputs; i++) {
		if (next[i] != NULL)
			continue;
		if ((next[i] = start_input(d, nconf[i], c)) == NULL) {
			d->reloads_failed++;
			log_err(
			    "input %zu (%s) could not take over its socket; "
			    "it stays stopped",
			    i, nconf[i]->path);
		}
	}
	for (size_t i = 0; i < c->ninputs; i++) {
		if (next[i] != NULL) {
			next[n] = next[i];
			nconf[n++] = nconf[i];
		}
	}
	free(d->inputs);
	free(d->iconf);
	free(kept);
	d->inputs = next;
	d->iconf = nconf;
	d->ninputs = n;
	return 0;
}

/*
 * Loads the file again; an invalid one leaves everything as it was.
 * Returns 0, or -1 if the running configuration stays.
 */
static int
reload(struct daemon *d)
{
	char *errs = NULL;
	size_t errlen = 0;
	FILE *mem = open_memstream(&errs, &errlen);
	struct conf *nc;
	char why[256];
	int kept;

	if (mem == NULL) {
		log_warn("reload: open_memstream");
		return -1;
	}
	nc = conf_load(d->path, mem);
	if (nc != NULL && d->rules->n > 0 &&
	    conf_set_rules(nc, d->rules, mem) < 0) {
		conf_free(nc);
		nc = NULL;
	}
	/* --alert-on holds across reloads, as --rule does. */
	if (nc != NULL)
		nc->alert_on_force = d->conf->alert_on_force;
	fclose(mem);
	if (nc == NULL) {
		d->reloads_failed++;
		for (char *line = strtok(errs, "\n"); line != NULL;
		     line = strtok(NULL, "\n"))
			log_err("%s", line);
		log_err("reload: %s is invalid; keeping the running "
			"configuration",
			d->path);
		free(errs);
		return -1;
	}
	free(errs);
	/* The state directory is locked for the process's life: moving
	 * to another one could share it with another daemon. */
	if ((nc->state_dir == NULL) != (d->conf->state_dir == NULL) ||
	    (nc->state_dir != NULL &&
	     strcmp(nc->state_dir, d->conf->state_dir) != 0)) {
		d->reloads_failed++;
		log_err("reload failed: state_dir cannot change while burstd "
			"runs (restart it); keeping the running configuration "
			"entirely");
		conf_free(nc);
		return -1;
	}
	/* Descriptors for what the new conf needs before its inputs open;
	 * a higher limit does no harm if the reload then fails. */
	nofile_ensure(nofile_need(nc));
	/* Inputs first: the only part that can fail, and then nothing
	 * changed. */
	if (swap_inputs(d, nc, why, sizeof(why)) < 0) {
		d->reloads_failed++;
		log_err("reload failed: %s; keeping the running configuration "
			"entirely",
			why);
		conf_free(nc);
		return -1;
	}
	log_set_level(nc->log_level);
	kept = engine_reload(d->engine, nc);
	swap_sinks(d, nc);
	swap_stats(d, nc);
	swap_http(d, nc);
	/* Nothing refers to the old conf any more. */
	conf_free(d->conf);
	d->conf = nc;
	uv_timer_set_repeat(&d->tick, (uint64_t)nc->tick_ms);
	log_info("reloaded %s (%s)", d->path,
		 kept ? "rules unchanged, windows kept"
		      : "rules changed, windows of the changed ones flushed");
	return 0;
}

/* Every file sink opens its path again: logrotate moved the file. */
static void
reopen_sinks(struct daemon *d)
{
	for (size_t i = 0; i < d->nsinks; i++)
		sink_reopen(d->sinks[i]);
}

/*
 * SIGHUP.  systemd (Type=notify-reload, 253 and later) learns that a
 * reload is under way and when it ended, whether it worked or not; 252
 * and earlier ignore RELOADING=1 and see READY=1 again.  The output
 * files are reopened even when the new file is invalid, so a logrotate
 * run during an edit does not leave alerts going to the rotated file.
 */
static void
sighup(struct daemon *d)
{
	struct timespec ts;
	char msg[64];

	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%llu",
		 (unsigned long long)ts.tv_sec * 1000000ULL +
		     (unsigned long long)ts.tv_nsec / 1000);
	notify(msg);
	if (reload(d) < 0) {
		d->reload_ok = false;
		reopen_sinks(d);
	} else {
		d->reload_ok = true;
		d->reload_ok_ms = real_now_ms();
	}
	send_status(d, true, true);
}

static void
handle_close_cb(uv_handle_t *h)
{
	(void)h;
}

/*
 * Shutdown, one phase at a time, each started when everything the last
 * one closed has called back: inputs stop; then the windows are flushed
 * and the sinks drain and close; then the daemon's own handles close and
 * uv_run() returns.
 */
static void
advance(struct daemon *d)
{
	size_t nsinks;

	switch (d->phase) {
	case RUNNING:
		d->phase = STOP_INPUTS;
		uv_timer_stop(&d->tick);
		log_inputs(d, "final");
		/* With a checkpoint the open windows carry over to the next
		 * start; without one they are closed and checked below.  The
		 * last one is written here, after any writer still running. */
		stop_writer(d);
		if (d->conf->state_dir != NULL)
			save_sync(d);
		for (size_t j = 0; j < d->ninputs; j++) {
			d->closing++;
			input_close(d->inputs[j], closed_one, d);
		}
		d->ninputs = 0;
		break;
	case STOP_INPUTS:
		d->phase = STOP_SINKS;
		if (d->conf->state_dir == NULL)
			engine_flush(d->engine);
		/* Each sink's own line follows once it has drained. */
		nsinks = d->nsinks;
		d->nsinks = 0;
		log_stats(d, "final");
		for (size_t j = 0; j < nsinks; j++) {
			struct sink_final *f = xmalloc(sizeof(*f));
			f->d = d;
			f->s = d->sinks[j];
			d->closing++;
			sink_close(d->sinks[j], sink_final_cb, f);
		}
		if (d->stats != NULL) {
			d->closing++;
			stats_close(d->stats, closed_one, d);
			d->stats = NULL;
		}
		if (d->http != NULL) {
			d->closing++;
			http_close(d->http, closed_one, d);
			d->http = NULL;
		}
		break;
	case STOP_SINKS:
		d->phase = STOP_HANDLES;
		for (size_t i = 0; i < sizeof(signals) / sizeof(*signals); i++)
			uv_close((uv_handle_t *)&d->sig[i], handle_close_cb);
		uv_close((uv_handle_t *)&d->tick, handle_close_cb);
		uv_close((uv_handle_t *)&d->watchdog, handle_close_cb);
		return;
	case STOP_HANDLES:
		return;
	}
	if (d->closing == 0)
		advance(d);
}

static void
stop(struct daemon *d)
{
	if (d->phase != RUNNING)
		return;
	notify("STOPPING=1");
	log_info("stopping");
	advance(d);
}

static void
signal_cb(uv_signal_t *h, int signum)
{
	struct daemon *d = h->data;

	switch (signum) {
	case SIGHUP:
		if (d->phase == RUNNING)
			sighup(d);
		break;
	case SIGTERM:
	case SIGINT:
		stop(d);
		break;
	case SIGUSR1:
		log_counters(d);
		break;
	case SIGUSR2:
		if (d->phase == RUNNING) {
			log_info("reopening output files");
			reopen_sinks(d);
		}
		break;
	case SIGCHLD:
		reap(d);
		break;
	}
}

int
daemon_run(const char *path, struct conf *conf, const struct strlist *rules)
{
	struct daemon *d = xcalloc(1, sizeof(*d));
	char why[256];
	int status;

	d->path = path;
	d->rules = rules;
	d->conf = conf;
	d->stdout_conf = conf_sink_default(SINK_STDOUT);
	d->watchdog_ms = watchdog_period_ms();
	d->notifying = getenv("NOTIFY_SOCKET") != NULL;
	d->ckpt_fd = -1;
	d->lock_fd = -1;
	d->ckpt_ok_ms = real_now_ms();
	d->start_ms = d->ckpt_ok_ms;
	d->reload_ok_ms = d->ckpt_ok_ms;
	d->reload_ok = true;
	/* The stdout sink used when none is configured: its label. */
	d->stdout_conf.name = stdout_name;
	signal(SIGPIPE, SIG_IGN);
	if (uv_loop_init(&d->loop) != 0)
		fatalx("uv_loop_init");
	log_set_level(conf->log_level);
	if (conf->ninputs == 0) {
		log_err("%s: no inputs configured", path);
		uv_loop_close(&d->loop);
		conf_free(conf);
		free(d);
		return 1;
	}
	/* A second daemon on the same state would corrupt it: refuse. */
	if (conf->state_dir != NULL &&
	    (d->lock_fd = checkpoint_lock(conf->state_dir, 2000)) < 0) {
		uv_loop_close(&d->loop);
		conf_free(conf);
		free(d);
		return 1;
	}
	nofile_ensure(nofile_need(conf));
	d->engine = engine_new(conf, false, alert_out, d);
	swap_sinks(d, conf);
	for (size_t i = 0; i < sizeof(signals) / sizeof(*signals); i++) {
		uv_signal_init(&d->loop, &d->sig[i]);
		d->sig[i].data = d;
		uv_signal_start(&d->sig[i], signal_cb, signals[i]);
	}
	uv_timer_init(&d->loop, &d->tick);
	d->tick.data = d;
	uv_timer_start(&d->tick, tick_cb, (uint64_t)conf->tick_ms,
		       (uint64_t)conf->tick_ms);
	/* Its own timer: the tick may be slower than the watchdog. */
	uv_timer_init(&d->loop, &d->watchdog);
	if (d->watchdog_ms > 0) {
		notify("WATCHDOG=1");
		uv_timer_start(&d->watchdog, watchdog_cb, d->watchdog_ms,
			       d->watchdog_ms);
	}
	d->last_stats_ms = uv_now(&d->loop);
	engine_tick(d->engine, real_now_ms());
	restore(d);
	d->last_ckpt_ms = uv_now(&d->loop);
	if (swap_inputs(d, conf, why, sizeof(why)) < 0) {
		int err = d->start_errno;
		char msg[sizeof(why) + 128];

		log_err("%s: %s", path, why);
		/* systemctl status shows why; ERRNO= the cause. */
		if (err != 0)
			snprintf(msg, sizeof(msg), "STATUS=%s: %s\nERRNO=%d",
				 why, strerror(err), err);
		else
			snprintf(msg, sizeof(msg), "STATUS=%s", why);
		notify(msg);
		d->status = 1;
		stop(d);
	} else {
		swap_stats(d, conf);
		swap_http(d, conf);
		save_checkpoint(d);
		log_info("started: %zu input(s), %zu sink(s)", d->ninputs,
			 d->nsinks);
		send_status(d, true, true);
	}
	if (d->resume != NULL) {
		checkpoint_clear(d->resume);
		free(d->resume);
		d->resume = NULL;
	}
	uv_run(&d->loop, UV_RUN_DEFAULT);
	if (uv_loop_close(&d->loop) != 0)
		log_err("loop closed with handles still open");
	status = d->status;
	engine_free(d->engine);
	free(d->inputs);
	free(d->iconf);
	free(d->sinks);
	free(d->sconf);
	free(d->stats_path);
	free(d->http_addr);
	conf_free(d->conf);
	if (d->lock_fd >= 0)
		close(d->lock_fd);
	free(d);
	return status;
}
