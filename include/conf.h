/*
 * conf: the YAML configuration, loaded into a struct conf.
 *
 * conf_load() reads one file with libyaml, fills a struct conf from a
 * table of keys, then checks the whole.  Every unknown key, repeated key
 * and bad value is reported as "file:line: message" on the error stream,
 * all of them, not just the first; any error makes the load fail and the
 * caller keeps what it had.  The file holds one YAML document.  Keys
 * left out keep their defaults, and with no rule given (no rules: or an
 * empty list) the built-in default rule runs (ruleset.h), so an empty
 * file is a valid configuration.  The retired `rule:` section is an
 * error that names its replacement.
 *
 * The caller owns the returned conf and frees it with conf_free().
 */
#ifndef BURSTD_CONF_H
#define BURSTD_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "log.h"
#include "ruleset.h"
#include "strlist.h"

/*
 * Limits on the file itself, checked as it is read, so that a hostile or
 * broken file (a reload reads it on the loop) costs at most what they
 * allow: its size in bytes, the nesting of mappings and lists, and its
 * nodes, each alias counting as the nodes it repeats.
 */
#define CONF_MAX_BYTES (1 << 20)
#define CONF_MAX_DEPTH 64
#define CONF_MAX_NODES 100000

/*
 * The default of every key: the one home of each value.  conf_default(),
 * conf_input_default() and conf_sink_default() fill structs from them,
 * and conf/burstd.yaml shows them (a test checks that it agrees).
 */
#define CONF_DEFAULT_LOG_LEVEL LOG_LVL_INFO
#define CONF_DEFAULT_MAX_LINE_BYTES ((size_t)1 << 20)
#define CONF_DEFAULT_MAX_DEPTH 64
#define CONF_DEFAULT_MAX_GROUPS 1000000
#define CONF_DEFAULT_MAX_STATE_BYTES ((size_t)256 << 20)
#define CONF_DEFAULT_MAX_VALUES 1000
#define CONF_DEFAULT_MAX_KEY_COMBOS 64
/*
 * 60 KiB: with an RFC 5424 header and an octet count it stays within
 * 64 KiB, the message size syslog-ng takes by default (log-msg-size) and
 * the largest UDP payload; a Unix datagram of it fits the default socket
 * buffer (net.core.wmem_default).
 */
#define CONF_DEFAULT_MAX_ALERT_BYTES ((size_t)60 << 10)
#define CONF_DEFAULT_PREFILTER true
#define CONF_DEFAULT_ALLOWED_LATENESS_MS (30 * 1000)
#define CONF_DEFAULT_LATE_HORIZON_MS (5 * 60 * 1000)
#define CONF_DEFAULT_REPLAY_EXACT true
#define CONF_DEFAULT_ALERT_ON ALERT_ON_THRESHOLD
#define CONF_DEFAULT_IDLE_CLOSE_MS (2 * 60 * 1000)
#define CONF_DEFAULT_MAX_FUTURE_MS (5 * 60 * 1000)
#define CONF_DEFAULT_TICK_MS 1000
#define CONF_DEFAULT_STATS_MS (60 * 1000)
#define CONF_DEFAULT_CHECKPOINT_MS (5 * 1000)
/* Inputs. */
#define CONF_DEFAULT_RESCAN_MS (10 * 1000)
#define CONF_DEFAULT_POLL_MS 1000
#define CONF_DEFAULT_START_AT_END true
#define CONF_DEFAULT_CLOSE_INACTIVE_MS (5 * 60 * 1000)
#define CONF_DEFAULT_SOCKET_MODE 0660
#define CONF_DEFAULT_MAX_CLIENTS 1024
#define CONF_DEFAULT_MAX_BUFFER_BYTES ((size_t)64 << 20)
#define CONF_DEFAULT_IDLE_TIMEOUT_MS (5 * 60 * 1000)
/* Sinks. */
#define CONF_DEFAULT_QUEUE_MAX 10000
#define CONF_DEFAULT_BACKOFF_MIN_MS 100
#define CONF_DEFAULT_BACKOFF_MAX_MS (30 * 1000)

enum input_type {
	INPUT_FILE,  /* tail files matching glob patterns */
	INPUT_UNIX,  /* listen on a Unix stream socket */
	INPUT_STDIN, /* read standard input */
};

#define CONF_NAME_MAX 64 /* bytes of an input's or sink's name */

struct input_conf {
	enum input_type type;      /* type */
	char *name;                /* name, the label in metrics; default
				   * type and index among its type ("file0") */
	struct strlist paths;      /* file: glob patterns */
	bool start_at_end;         /* file: start_at: end (else beginning) */
	int64_t rescan_ms;         /* file: rescan_interval */
	int64_t poll_ms;           /* file: poll_interval */
	int64_t close_inactive_ms; /* file: close_inactive */
	char *path;                /* unix: socket path */
	unsigned mode;             /* unix: socket file mode */
	size_t max_clients;        /* unix: clients at once */
	size_t max_buffer_bytes;   /* unix: partial lines held, all clients */
	int64_t idle_timeout_ms; /* unix: a silent client is closed; 0 never */
};

enum sink_type {
	SINK_STDOUT,     /* standard output */
	SINK_FILE,       /* append to a file, reopened on SIGHUP */
	SINK_UNIX,       /* Unix stream socket client, NDJSON */
	SINK_UNIX_DGRAM, /* Unix datagram socket, one alert each */
	SINK_TCP,        /* TCP client, NDJSON */
};

/* How a stream sink delimits alerts. */
enum sink_framing {
	SINK_FRAMING_NEWLINE, /* MSG "\n" */
	SINK_FRAMING_OCTET,   /* RFC 6587 octet counting: LEN SP MSG */
};

/* What a sink sends as MSG. */
enum sink_format {
	SINK_FORMAT_JSON,    /* the alert's JSON */
	SINK_FORMAT_RFC5424, /* an RFC 5424 header, then the JSON */
};

struct sink_conf {
	enum sink_type type;       /* type */
	char *name;                /* name, as an input's ("stdout0") */
	char *path;                /* file, unix, unix_dgram: path */
	char *host;                /* tcp: IPv4 or IPv6 address */
	int port;                  /* tcp: port */
	size_t queue_max;          /* alerts waiting, at most */
	int64_t backoff_min_ms;    /* first reconnect delay */
	int64_t backoff_max_ms;    /* longest reconnect delay */
	size_t max_alert_bytes;    /* limits.max_alert_bytes, copied here */
	enum sink_framing framing; /* framing: unix, tcp */
	enum sink_format format;   /* format: unix, tcp, unix_dgram */
};

struct conf {
	enum log_level log_level;     /* log_level */
	size_t max_line_bytes;        /* limits.max_line_bytes */
	size_t max_depth;             /* limits.max_depth */
	size_t max_groups;            /* limits.max_groups */
	size_t max_state_bytes;       /* limits.max_state_bytes */
	size_t max_values;            /* limits.max_values */
	size_t max_key_combos;        /* limits.max_key_combos */
	size_t max_alert_bytes;       /* limits.max_alert_bytes */
	int64_t allowed_lateness_ms;  /* window.allowed_lateness */
	int64_t late_horizon_ms;      /* window.late_horizon */
	bool replay_exact;            /* window.replay_exact */
	enum alert_on alert_on;       /* window.alert_on */
	enum alert_on alert_on_force; /* --alert-on (not in the file; UNSET:
					 none), over every rule's own */
	bool prefilter;               /* limits.prefilter */
	int64_t idle_close_ms;        /* window.idle_close */
	int64_t max_future_ms;        /* window.max_future */
	int64_t tick_ms;              /* daemon.tick_interval */
	int64_t stats_ms;             /* daemon.stats_interval */
	char *stats_socket;           /* daemon.stats_socket, or NULL */
	char *metrics_listen;         /* daemon.metrics_listen, or NULL */
	char *state_dir;              /* daemon.state_dir, or NULL */
	int64_t checkpoint_ms;        /* daemon.checkpoint_interval */
	struct input_conf *inputs;    /* inputs */
	size_t ninputs;
	struct sink_conf *sinks; /* sinks */
	size_t nsinks;
	/*
	 * rules: ES|QL rules from files, globs or inline text, compiled;
	 * never empty: with none given, the built-in default.
	 */
	struct ruleset rules;
};

/* Returns the built-in configuration (the default rule, compiled). */
struct conf *conf_default(void);

/* An input or sink of the given type with every key at its default. */
struct input_conf conf_input_default(enum input_type type);
struct sink_conf conf_sink_default(enum sink_type type);

/*
 * Loads and checks path.  Returns the conf, or NULL after writing every
 * error to errf.
 */
struct conf *conf_load(const char *path, FILE *errf);

/*
 * Replaces c's ES|QL rules with those paths names (files or globs; a
 * relative path is taken from the working directory), as --rule does.
 * Returns 0, or -1 after writing every error to errf (c keeps its
 * rules then).
 */
int conf_set_rules(struct conf *c, const struct strlist *paths, FILE *errf);

void conf_free(struct conf *c);

/*
 * Parses a duration such as "30s", "5m", "250ms", "1h" into ms; a bare
 * integer is seconds.  Returns 0, or -1 if s is not a duration.
 */
int conf_duration(const char *s, int64_t *ms);

#endif
