/*
 * stats: the Prometheus rendering, from tables; and a listening
 * uv_pipe_t, per client one uv_pipe_t and one write.
 *
 * Invariants: `clients` counts client handles not yet closed; the server
 * is freed only when its own handle and every client handle have closed.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http.h"
#include "input.h"
#include "log.h"
#include "metrics.h"
#include "sink.h"
#include "sockpath.h"
#include "stats.h"

struct stats_server {
	uv_pipe_t listener;      /* the socket */
	char *path;              /* its path (owned) */
	struct sockpath sp;      /* the socket file at path */
	stats_render_fn *render; /* writes a snapshot */
	void *arg;               /* passed to render */
	int clients;             /* client handles still open */
	bool closing;            /* stats_close() was called */
	bool listener_closed;    /* the listener's close_cb ran */
	stats_closed_cb *cb;     /* called once all is closed */
	struct log_ratelimit rl; /* refused clients */
	void *cb_arg;            /* passed to cb */
};

struct client {
	uv_pipe_t pipe;          /* the connection */
	uv_timer_t timer;        /* gives up on a client that does not read */
	int handles;             /* of pipe and timer, not yet closed */
	uv_write_t req;          /* the one write */
	struct buf text;         /* the snapshot being written */
	struct stats_server *st; /* owner */
};

/* How a family's value is stored and shown. */
enum unit {
	U_COUNT,  /* a uint64_t, shown as is */
	U_SIZE,   /* a size_t, shown as is */
	U_MICROS, /* a uint64_t of microseconds, shown in seconds */
	U_MILLIS, /* a uint64_t of milliseconds, shown in seconds */
};

/* A family of one sample, or of one sample per sink or input. */
struct family {
	const char *name; /* metric name, after "burstd_" */
	const char *type; /* counter or gauge */
	const char *help; /* HELP text */
	size_t offset;    /* of the value in its struct */
	enum unit unit;   /* its storage and scale */
};

#define NELEM(a) (sizeof(a) / sizeof(*(a)))

/* The daemon's own values, fields of struct stats_source. */
static const struct family daemon_families[] = {
    {"groups", "gauge", "groups held (open and closed)",
     offsetof(struct stats_source, groups), U_COUNT},
    {"state_bytes", "gauge", "state bytes charged to the budget",
     offsetof(struct stats_source, state_bytes), U_COUNT},
    {"state_bytes_max", "gauge",
     "the state byte budget "
     "(limits.max_state_bytes)",
     offsetof(struct stats_source, state_bytes_max), U_COUNT},
    {"checkpoints_total", "counter", "checkpoints written",
     offsetof(struct stats_source, ckpt_written), U_COUNT},
    {"checkpoints_failed_total", "counter",
     "checkpoints that could not be written",
     offsetof(struct stats_source, ckpt_failed), U_COUNT},
    {"checkpoints_corrupt_total", "counter",
     "corrupt checkpoints found at start (kept aside)",
     offsetof(struct stats_source, ckpt_corrupt), U_COUNT},
    {"checkpoint_spools_lost_total", "counter",
     "spools of waiting alerts found missing or corrupt at start",
     offsetof(struct stats_source, ckpt_spools_lost), U_COUNT},
    {"checkpoint_state_dropped_total", "counter",
     "window states found in a checkpoint at start and not restored (the "
     "retired built-in rule's, or unreadable)",
     offsetof(struct stats_source, ckpt_state_dropped), U_COUNT},
    {"checkpoint_bytes", "gauge",
     "size of the last checkpoint written, spooled alerts included",
     offsetof(struct stats_source, ckpt_bytes), U_COUNT},
    {"checkpoint_duration_seconds", "gauge",
     "time the last checkpoint took to build and write",
     offsetof(struct stats_source, ckpt_duration_us), U_MICROS},
    {"checkpoint_stall_seconds", "gauge",
     "loop time the last checkpoint took (the fork)",
     offsetof(struct stats_source, ckpt_stall_us), U_MICROS},
    {"checkpoint_age_seconds", "gauge",
     "seconds since the last checkpoint written",
     offsetof(struct stats_source, ckpt_age_s), U_COUNT},
    {"config_last_reload_successful", "gauge",
     "1 if the last reload (or the start) took effect, 0 if refused",
     offsetof(struct stats_source, reload_ok), U_COUNT},
    {"config_last_reload_success_timestamp_seconds", "gauge",
     "when the configuration last took effect (epoch seconds)",
     offsetof(struct stats_source, reload_ok_s), U_COUNT},
    {"event_time_lag_seconds", "gauge",
     "wall clock minus the newest event time, the most of any agent "
     "held",
     offsetof(struct stats_source, event_lag_ms), U_MILLIS},
    {"reloads_failed_total", "counter",
     "reloads refused: invalid file or an input that could not start",
     offsetof(struct stats_source, reloads_failed), U_COUNT},
};

static const struct family sink_families[] = {
    {"sink_queued_total", "counter", "alerts accepted into the queue",
     offsetof(struct sink_stats, queued), U_COUNT},
    {"sink_sent_total", "counter", "alerts fully written",
     offsetof(struct sink_stats, sent), U_COUNT},
    {"sink_dropped_full_total", "counter", "alerts dropped: queue full",
     offsetof(struct sink_stats, dropped_full), U_COUNT},
    {"sink_rejected_total", "counter",
     "alerts the receiver can never take (EMSGSIZE), dropped",
     offsetof(struct sink_stats, rejected), U_COUNT},
    {"sink_dropped_close_total", "counter",
     "alerts still queued when the sink closed, dropped",
     offsetof(struct sink_stats, dropped_close), U_COUNT},
    {"sink_errors_total", "counter", "write, open or connect failures",
     offsetof(struct sink_stats, errors), U_COUNT},
    {"sink_connects_total", "counter",
     "successful connections or opens, reconnections included",
     offsetof(struct sink_stats, connects), U_COUNT},
    {"sink_queue_depth", "gauge", "alerts waiting",
     offsetof(struct sink_stats, depth), U_SIZE},
};

static const struct family input_families[] = {
    {"input_files_opened_total", "counter", "files opened for tailing",
     offsetof(struct input_stats, files_opened), U_COUNT},
    {"input_rotations_total", "counter",
     "rotated files closed, once idle for close_inactive or early",
     offsetof(struct input_stats, rotations), U_COUNT},
    {"input_closed_early_total", "counter",
     "rotated files closed before close_inactive: too many open",
     offsetof(struct input_stats, closed_early), U_COUNT},
    {"input_truncations_total", "counter", "files truncated and read again",
     offsetof(struct input_stats, truncations), U_COUNT},
    {"input_open_errors_total", "counter", "open or read failures, retried",
     offsetof(struct input_stats, open_errors), U_COUNT},
    {"input_clients_total", "counter", "socket clients accepted",
     offsetof(struct input_stats, clients), U_COUNT},
    {"input_partial_dropped_total", "counter",
     "partial lines lost at close or disconnect",
     offsetof(struct input_stats, partial_dropped), U_COUNT},
    {"input_clients_refused_total", "counter",
     "socket clients refused: max_clients, or no descriptor",
     offsetof(struct input_stats, clients_refused), U_COUNT},
    {"input_clients_idle_total", "counter",
     "socket clients closed after idle_timeout of silence",
     offsetof(struct input_stats, clients_idle), U_COUNT},
    {"input_clients_over_buffer_total", "counter",
     "socket clients dropped: partial lines over max_buffer_bytes",
     offsetof(struct input_stats, clients_over_buffer), U_COUNT},
    {"input_accept_errors_total", "counter",
     "accept failures on the socket (EMFILE, ENFILE, ...)",
     offsetof(struct input_stats, accept_errors), U_COUNT},
    {"input_clients_connected", "gauge", "socket clients connected now",
     offsetof(struct input_stats, clients_connected), U_COUNT},
    {"input_buffer_bytes", "gauge",
     "bytes held for socket clients' partial lines",
     offsetof(struct input_stats, buffer_bytes), U_COUNT},
};

/* The metrics listener's, fields of struct http_stats. */
static const struct family http_families[] = {
    {"http_requests_total", "counter",
     "metrics listener requests answered (200, 404, 405, 503)",
     offsetof(struct http_stats, requests), U_COUNT},
    {"http_bad_requests_total", "counter",
     "metrics listener requests refused as malformed (400, 414, 431, "
     "505)",
     offsetof(struct http_stats, bad), U_COUNT},
    {"http_timeouts_total", "counter",
     "metrics listener clients closed: head or answer not done in time",
     offsetof(struct http_stats, timeouts), U_COUNT},
    {"http_refused_total", "counter",
     "metrics listener clients closed at once: too many connected",
     offsetof(struct http_stats, refused), U_COUNT},
};

/* Per input, fields of struct stats_input. */
static const struct family input_count_families[] = {
    {"input_lines_total", "counter",
     "lines the input handed to the "
     "engine (not blank, not over max_line_bytes)",
     offsetof(struct stats_input, lines), U_COUNT},
    {"input_bytes_total", "counter", "bytes the input read",
     offsetof(struct stats_input, bytes), U_COUNT},
};

/* The names every exporter gives these: no "burstd_" before them. */
static const struct family process_families[] = {
    {"process_start_time_seconds", "gauge",
     "start time of the process since the epoch in seconds",
     offsetof(struct stats_source, start_s), U_COUNT},
    {"process_resident_memory_bytes", "gauge", "resident memory size in bytes",
     offsetof(struct stats_source, rss_bytes), U_COUNT},
};

/* Per ES|QL rule, fields of struct stats_rule besides its counters. */
static const struct family rule_families[] = {
    {"rule_groups", "gauge",
     "groups the rule holds (open, and closed ones kept for late events)",
     offsetof(struct stats_rule, groups), U_COUNT},
    {"rule_state_bytes", "gauge",
     "state bytes the rule's windows charge to limits.max_state_bytes",
     offsetof(struct stats_rule, state_bytes), U_COUNT},
};

static uint64_t
value(const void *base, const struct family *fam)
{
	const char *p = (const char *)base + fam->offset;

	return fam->unit == U_SIZE ? *(const size_t *)(const void *)p
				   : *(const uint64_t *)(const void *)p;
}

/* Appends what snprintf made of a line, cut at the line's size. */
static void
append_line(struct buf *out, const char *line, size_t size, int n)
{
	if (n > 0)
		buf_append(out, line, (size_t)n < size ? (size_t)n : size - 1);
}

static void
header(struct buf *out, const char *prefix, const struct family *fam)
{
	char line[512];

	append_line(out, line, sizeof(line),
		    snprintf(line, sizeof(line),
			     "# HELP %s%s %s\n# TYPE %s%s %s\n", prefix,
			     fam->name, fam->help, prefix, fam->name,
			     fam->type));
}

/* One sample of fam, the value shown in the family's unit. */
static void
sample(struct buf *out, const char *prefix, const struct family *fam,
       const char *labels, uint64_t v)
{
	char line[512];
	int n;

	if (fam->unit == U_MICROS || fam->unit == U_MILLIS) {
		uint64_t per = fam->unit == U_MICROS ? 1000000 : 1000;
		n = snprintf(line, sizeof(line),
			     "%s%s%s %" PRIu64 ".%0*" PRIu64 "\n", prefix,
			     fam->name, labels, v / per,
			     fam->unit == U_MICROS ? 6 : 3, v % per);
	} else {
		n = snprintf(line, sizeof(line), "%s%s%s %" PRIu64 "\n", prefix,
			     fam->name, labels, v);
	}
	append_line(out, line, sizeof(line), n);
}

/* A Prometheus label value: backslash, quote and newline escaped. */
static void
label(char *dst, size_t len, const char *key, const char *value)
{
	size_t o = 0;

	o += (size_t)snprintf(dst, len, "{%s=\"", key);
	for (const char *p = value; *p != '\0' && o + 4 < len; p++) {
		if (*p == '\\' || *p == '"' || *p == '\n') {
			dst[o++] = '\\';
			dst[o++] = *p == '\n' ? 'n' : *p;
		} else {
			dst[o++] = *p;
		}
	}
	snprintf(dst + o, len - o, "\"}");
}

/*
 * The length of the valid UTF-8 sequence that starts at p (n bytes
 * left), or 0: no overlong forms, no surrogates, nothing past U+10FFFF.
 */
static size_t
utf8_len(const unsigned char *p, size_t n)
{
	size_t len;
	uint32_t c;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		len = 2, c = p[0] & 0x1fu;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		len = 3, c = p[0] & 0x0fu;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		len = 4, c = p[0] & 0x07u;
	else
		return 0;
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (p[i] & 0x3fu);
	}
	if (len == 3 && (c < 0x800 || (c >= 0xd800 && c <= 0xdfff)))
		return 0;
	if (len == 4 && (c < 0x10000 || c > 0x10ffff))
		return 0;
	return len;
}

/*
 * Appends v as a label value, without its quotes: backslash, quote and
 * newline escaped, a byte that is not valid UTF-8 as U+FFFD; never cut.
 */
static void
label_value(struct buf *out, const char *v)
{
	const unsigned char *p = (const unsigned char *)v;
	size_t n = strlen(v), k;

	for (; n > 0; p += k, n -= k) {
		if ((k = utf8_len(p, n)) == 0) {
			buf_append(out, "\xef\xbf\xbd", 3);
			k = 1;
		} else if (*p == '\\' || *p == '"') {
			buf_append(out, "\\", 1);
			buf_append(out, p, 1);
		} else if (*p == '\n') {
			buf_append(out, "\\n", 2);
		} else {
			buf_append(out, p, k);
		}
	}
}

/* One sample of burstd_<name> for rule r. */
static void
rule_sample(struct buf *out, const char *name, const struct stats_rule *r,
	    uint64_t v)
{
	char num[32];
	int n;

	buf_append(out, "burstd_", 7);
	buf_append(out, name, strlen(name));
	buf_append(out, "{rule_id=\"", 10);
	label_value(out, r->id);
	buf_append(out, "\",rule=\"", 8);
	label_value(out, r->name);
	n = snprintf(num, sizeof(num), "\"} %" PRIu64 "\n", v);
	append_line(out, num, sizeof(num), n);
}

/* The per-rule families: each counter a rule keeps, then its gauges. */
static void
render_rules(const struct stats_source *src, struct buf *out)
{
	char name[96], help[256];

	for (int m = METRICS_RULE_FIRST; m < M__COUNT && src->nrules > 0; m++) {
		struct family fam = {.name = name,
				     .type = "counter",
				     .help = help};
		const char *h = metrics_help((enum metric)m);
		/* The engine's help says what its filter does. */
		if (m == M_events_unmatched)
			h = "events the rule was given that made no row";
		else if (m == M_events_matched)
			h = "events that made at least one row";
		snprintf(name, sizeof(name), "rule_%s_total",
			 metrics_name((enum metric)m));
		snprintf(help, sizeof(help), "per ES|QL rule: %s", h);
		header(out, "burstd_", &fam);
		for (size_t i = 0; i < src->nrules; i++)
			rule_sample(out, name, &src->rules[i],
				    src->rules[i].m->v[m]);
	}
	for (size_t f = 0; f < NELEM(rule_families) && src->nrules > 0; f++) {
		header(out, "burstd_", &rule_families[f]);
		for (size_t i = 0; i < src->nrules; i++)
			rule_sample(out, rule_families[f].name, &src->rules[i],
				    value(&src->rules[i], &rule_families[f]));
	}
}

void
stats_render(const struct stats_source *src, struct buf *out)
{
	static const struct family build_info =
	    {"build_info", "gauge",
	     "the build: its version in a label, the value 1", 0, U_COUNT};
	char name[96], lb[256];

	for (size_t f = 0; f < NELEM(process_families); f++) {
		header(out, "", &process_families[f]);
		sample(out, "", &process_families[f], "",
		       value(src, &process_families[f]));
	}
	if (src->version != NULL) {
		header(out, "burstd_", &build_info);
		label(lb, sizeof(lb), "version", src->version);
		sample(out, "burstd_", &build_info, lb, 1);
	}
	for (int i = 0; i < M__COUNT; i++) {
		struct family fam = {.name = name,
				     .type = "counter",
				     .help = metrics_help((enum metric)i)};
		snprintf(name, sizeof(name), "%s_total",
			 metrics_name((enum metric)i));
		header(out, "burstd_", &fam);
		sample(out, "burstd_", &fam, "", src->metrics->v[i]);
	}
	for (size_t f = 0; f < NELEM(daemon_families); f++) {
		header(out, "burstd_", &daemon_families[f]);
		sample(out, "burstd_", &daemon_families[f], "",
		       value(src, &daemon_families[f]));
	}
	for (size_t f = 0; f < NELEM(http_families) && src->http != NULL; f++) {
		header(out, "burstd_", &http_families[f]);
		sample(out, "burstd_", &http_families[f], "",
		       value(src->http, &http_families[f]));
	}
	/* One family at a time: Prometheus wants each family's samples
	 * together. */
	for (size_t f = 0; f < NELEM(sink_families) && src->nsinks > 0; f++) {
		header(out, "burstd_", &sink_families[f]);
		for (size_t i = 0; i < src->nsinks; i++) {
			label(lb, sizeof(lb), "sink", src->sinks[i].name);
			sample(out, "burstd_", &sink_families[f], lb,
			       value(src->sinks[i].st, &sink_families[f]));
		}
	}
	for (size_t f = 0; f < NELEM(input_count_families) && src->ninputs > 0;
	     f++) {
		header(out, "burstd_", &input_count_families[f]);
		for (size_t i = 0; i < src->ninputs; i++) {
			label(lb, sizeof(lb), "input", src->inputs[i].name);
			sample(out, "burstd_", &input_count_families[f], lb,
			       value(&src->inputs[i],
				     &input_count_families[f]));
		}
	}
	for (size_t f = 0; f < NELEM(input_families) && src->ninputs > 0; f++) {
		header(out, "burstd_", &input_families[f]);
		for (size_t i = 0; i < src->ninputs; i++) {
			label(lb, sizeof(lb), "input", src->inputs[i].name);
			sample(out, "burstd_", &input_families[f], lb,
			       value(src->inputs[i].st, &input_families[f]));
		}
	}
	render_rules(src, out);
}

uint64_t
stats_rss_bytes(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	unsigned long long size, rss;
	long page = sysconf(_SC_PAGESIZE);
	int n;

	if (f == NULL)
		return 0;
	n = fscanf(f, "%llu %llu", &size, &rss);
	fclose(f);
	return n == 2 && page > 0 ? (uint64_t)rss * (uint64_t)page : 0;
}

static void
maybe_free(struct stats_server *st)
{
	if (!st->closing || !st->listener_closed || st->clients > 0)
		return;
	if (st->cb != NULL)
		st->cb(st->cb_arg);
	free(st->path);
	free(st);
}

static void
client_close_cb(uv_handle_t *h)
{
	struct client *c = h->data;
	struct stats_server *st = c->st;

	if (--c->handles > 0)
		return;
	buf_free(&c->text);
	free(c);
	st->clients--;
	maybe_free(st);
}

/* Closes both of c's handles; c is freed once both have closed. */
static void
client_close(struct client *c)
{
	if (!uv_is_closing((uv_handle_t *)&c->pipe))
		uv_close((uv_handle_t *)&c->pipe, client_close_cb);
	if (!uv_is_closing((uv_handle_t *)&c->timer))
		uv_close((uv_handle_t *)&c->timer, client_close_cb);
}

static void
write_cb(uv_write_t *req, int status)
{
	struct client *c = req->data;

	if (status < 0 && status != UV_ECANCELED)
		log_debug("stats %s: write: %s", c->st->path,
			  uv_strerror(status));
	client_close(c);
}

/*
 * A client that has not taken its snapshot in STATS_WRITE_TIMEOUT_MS is
 * closed: it would hold a slot, and stats_close(), for ever.
 */
static void
timeout_cb(uv_timer_t *t)
{
	struct client *c = t->data;

	if (log_ratelimit_ok(&c->st->rl))
		log_warnx("stats %s: client closed: snapshot not read in %d ms",
			  c->st->path, STATS_WRITE_TIMEOUT_MS);
	client_close(c);
}

static void
connection_cb(uv_stream_t *server, int status)
{
	struct stats_server *st = server->data;
	struct client *c;
	uv_buf_t b;

	if (status < 0 || st->closing)
		return;
	c = xcalloc(1, sizeof(*c));
	c->st = st;
	uv_pipe_init(server->loop, &c->pipe, 0);
	uv_timer_init(server->loop, &c->timer);
	c->pipe.data = c;
	c->timer.data = c;
	c->handles = 2;
	st->clients++;
	if (uv_accept(server, (uv_stream_t *)&c->pipe) != 0) {
		client_close(c);
		return;
	}
	/* Each client costs a descriptor and a snapshot: a bounded few. */
	if (st->clients > STATS_MAX_CLIENTS) {
		if (log_ratelimit_ok(&st->rl))
			log_warnx("stats %s: client refused: %d clients "
				  "connected",
				  st->path, st->clients - 1);
		client_close(c);
		return;
	}
	st->render(st->arg, &c->text);
	b = uv_buf_init(c->text.data, (unsigned)c->text.len);
	c->req.data = c;
	if (uv_write(&c->req, (uv_stream_t *)&c->pipe, &b, 1, write_cb) != 0)
		client_close(c);
	else
		uv_timer_start(&c->timer, timeout_cb, STATS_WRITE_TIMEOUT_MS,
			       0);
}

static void
listener_close_cb(uv_handle_t *h)
{
	struct stats_server *st = h->data;

	st->listener_closed = true;
	maybe_free(st);
}

struct stats_server *
stats_new(uv_loop_t *loop, const char *path, stats_render_fn *render, void *arg)
{
	struct stats_server *st = xcalloc(1, sizeof(*st));
	int fd, rc;

	st->path = xstrdup(path);
	st->rl = (struct log_ratelimit){.interval_ms = 10000, .burst = 5};
	st->render = render;
	st->arg = arg;
	uv_pipe_init(loop, &st->listener, 0);
	st->listener.data = st;
	if ((fd = sockpath_bind(&st->sp, "stats", st->path, 0660)) < 0) {
		rc = -1;
	} else if ((rc = uv_pipe_open(&st->listener, fd)) != 0) {
		log_warnx("stats %s: %s", path, uv_strerror(rc));
		close(fd);
	} else if ((rc = uv_listen((uv_stream_t *)&st->listener, 16,
				   connection_cb)) != 0) {
		log_warnx("stats %s: listen: %s", path, uv_strerror(rc));
	}
	if (rc != 0) {
		log_warnx("stats %s: no stats socket", path);
		sockpath_remove(&st->sp);
		st->closing = true;
		uv_close((uv_handle_t *)&st->listener, listener_close_cb);
		return NULL;
	}
	return st;
}

void
stats_close(struct stats_server *st, stats_closed_cb *cb, void *arg)
{
	st->closing = true;
	st->cb = cb;
	st->cb_arg = arg;
	sockpath_remove(&st->sp);
	uv_close((uv_handle_t *)&st->listener, listener_close_cb);
}
