/*
 * stats: the counters, readable without restarting.
 *
 * A Unix stream socket; every client that connects is sent one snapshot
 * in the Prometheus text exposition format and the connection is
 * closed (`socat - UNIX-CONNECT:PATH`, or a node exporter's textfile
 * collector fed from it).  The owner supplies the renderer, which fills
 * a struct stats_source and passes it to stats_render().  The server
 * owns its handles and closes them in stats_close().  The socket file is
 * made, replaced and removed as sockpath.h says (mode 0660).
 *
 * stats_render() is the one place that names the exported families:
 * the engine's counters (metrics.h), the daemon's own values (a table of
 * fields of struct stats_source) and the per-sink and per-input
 * families (tables of fields of struct sink_stats and struct
 * input_stats), and per ES|QL rule its own counters (metrics.h, from
 * METRICS_RULE_FIRST on) as burstd_rule_<name>_total and its state as
 * gauges, labelled rule_id and rule (its name).  A new value is a field
 * there and a row in a table.
 */
#ifndef BURSTD_STATS_H
#define BURSTD_STATS_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "util.h"

struct http_stats;
struct input_stats;
struct metrics;
struct sink_stats;
struct stats_server;

/* One sink's counters and its label value (its configured name). */
struct stats_sink {
	const char *name;            /* label value, borrowed */
	const struct sink_stats *st; /* borrowed */
};

/* One input's counters and its label value (its configured name). */
struct stats_input {
	const char *name;             /* label value, borrowed */
	const struct input_stats *st; /* borrowed */
	uint64_t lines;               /* lines it handed to the engine */
	uint64_t bytes;               /* bytes it read */
};

/* One ES|QL rule's counters and its label values. */
struct stats_rule {
	const char *id;          /* rule_id label, borrowed */
	const char *name;        /* rule label, borrowed */
	const struct metrics *m; /* its counters, borrowed */
	uint64_t groups;         /* groups it holds */
	uint64_t state_bytes;    /* bytes its store charged */
};

/* What one snapshot shows; everything is borrowed for the call. */
struct stats_source {
	const struct metrics *metrics;  /* the engine's counters */
	uint64_t groups;                /* groups held (open and closed) */
	uint64_t state_bytes;           /* state byte budget: bytes charged */
	uint64_t state_bytes_max;       /* limits.max_state_bytes */
	uint64_t ckpt_written;          /* checkpoints written */
	uint64_t ckpt_failed;           /* checkpoints that failed */
	uint64_t ckpt_corrupt;          /* corrupt ones found at start */
	uint64_t ckpt_spools_lost;      /* spools of waiting alerts found
				        * missing or corrupt at start */
	uint64_t ckpt_state_dropped;    /* window states found at start and
				        * not restored (the retired
				        * built-in rule's, or unreadable) */
	uint64_t ckpt_bytes;            /* the last one's size, spools
				        * included */
	uint64_t ckpt_duration_us;      /* the last one's build and write,
				        * shown in seconds */
	uint64_t ckpt_stall_us;         /* the loop's time for the last one,
				        * shown in seconds */
	uint64_t ckpt_age_s;            /* seconds since the last written */
	uint64_t reloads_failed;        /* reloads that changed nothing */
	uint64_t reload_ok;             /* 1: the last reload (or the start)
				        * took effect, 0: it was refused */
	uint64_t reload_ok_s;           /* epoch seconds of the last one that
				        * took effect (or of the start) */
	uint64_t event_lag_ms;          /* wall clock minus the newest event
				        * time, the most of any agent; 0 with
				        * no agent; shown in seconds */
	uint64_t start_s;               /* process start, epoch seconds */
	uint64_t rss_bytes;             /* resident memory (stats_rss_bytes) */
	const char *version;            /* the build's version, or NULL */
	const struct stats_sink *sinks; /* the live sinks */
	size_t nsinks;                  /* entries in sinks */
	const struct stats_input *inputs; /* the live inputs */
	size_t ninputs;                   /* entries in inputs */
	const struct http_stats *http;    /* the metrics listener's, or NULL */
	const struct stats_rule *rules;   /* the ES|QL rules running */
	size_t nrules;                    /* entries in rules */
};

/*
 * Appends the snapshot of src to out as Prometheus text: each family's
 * HELP and TYPE once, then all its samples together; label values are
 * escaped (backslash, quote, newline), and a rule's label values, which
 * come from rule files, have every byte that is not part of valid UTF-8
 * shown as U+FFFD.
 */
void stats_render(const struct stats_source *src, struct buf *out);
/* Resident memory of this process from /proc/self/statm; 0 if unknown. */
uint64_t stats_rss_bytes(void);

#define STATS_MAX_CLIENTS 16 /* stats clients at once; more are refused */
#define STATS_WRITE_TIMEOUT_MS 5000 /* a client not reading is closed */

/* Appends one snapshot to out. */
typedef void stats_render_fn(void *arg, struct buf *out);
typedef void stats_closed_cb(void *arg);

/* Returns a listening server, or NULL after logging why. */
struct stats_server *stats_new(uv_loop_t *loop, const char *path,
			       stats_render_fn *render, void *arg);
/* Stops listening, unlinks the path, calls cb(arg) once closed. */
void stats_close(struct stats_server *st, stats_closed_cb *cb, void *arg);

#endif
