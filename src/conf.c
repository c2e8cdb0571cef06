/*
 * conf: libyaml document -> struct conf, table-driven.
 *
 * The file is composed into a libyaml document (nodes keep their line)
 * from libyaml's events, then walked: each mapping has a table of {key,
 * type, offset, min, max} entries for its scalars, and a few keys (the
 * inputs, sinks and rules lists) have their own readers.  Errors are collected, not fatal,
 * so one run reports all.
 *
 * The document is composed here rather than by yaml_parser_load() so that
 * the file's own limits (size, nesting depth, node count) stop a hostile
 * file as its events arrive, at a cost bounded by the limits, and so that
 * a repeated key or a second document is an error instead of a silent
 * merge or a silent omission.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <xxhash.h>
#include <yaml.h>

#include "conf.h"
#include "httpreq.h"
#include "rulefile.h"
#include "util.h"

enum ktype {
	K_SIZE,     /* size_t within [min, max] */
	K_INT,      /* int within [min, max] */
	K_DURATION, /* int64_t ms within [min, max] */
	K_BOOL,     /* bool */
	K_STRING,   /* char *, owned */
	K_LOGLEVEL, /* enum log_level */
	K_U64,      /* uint64_t within [min, max] */
	K_ALERTON,  /* enum alert_on: close or threshold */
};

struct key {
	const char *name; /* YAML key */
	enum ktype type;  /* how to read the value */
	size_t offset;    /* where in the target struct */
	long long min;    /* smallest accepted */
	long long max;    /* largest accepted */
};

struct loader {
	const char *path;    /* for messages */
	FILE *errf;          /* where messages go */
	yaml_document_t doc; /* the parsed file */
	bool have_doc;       /* doc was initialized */
	int errors;          /* messages written */
	struct conf *conf;   /* being filled */
};

static void err_at(struct loader *ld, const yaml_node_t *n, const char *fmt,
		   ...) __attribute__((format(printf, 3, 4)));

static void
err_at(struct loader *ld, const yaml_node_t *n, const char *fmt, ...)
{
	va_list ap;

	fprintf(ld->errf, "%s:%zu: ", ld->path,
		n ? n->start_mark.line + 1 : (size_t)0);
	va_start(ap, fmt);
	vfprintf(ld->errf, fmt, ap);
	va_end(ap);
	fputc('\n', ld->errf);
	ld->errors++;
}

static const char *
scalar(const yaml_node_t *n)
{
	return n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value
					   : NULL;
}

static yaml_node_t *
node(struct loader *ld, int id)
{
	return yaml_document_get_node(&ld->doc, id);
}

int
conf_duration(const char *s, int64_t *ms)
{
	char *end;
	long long v;
	int64_t unit = 1000;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0)
		return -1;
	if (strcmp(end, "ms") == 0)
		unit = 1;
	else if (strcmp(end, "s") == 0 || *end == '\0')
		unit = 1000;
	else if (strcmp(end, "m") == 0)
		unit = 60 * 1000;
	else if (strcmp(end, "h") == 0)
		unit = 3600 * 1000;
	else
		return -1;
	if (v > INT64_MAX / unit)
		return -1;
	*ms = v * unit;
	return 0;
}

static int
read_integer(const char *s, long long *out)
{
	char *end;

	if (*s == '\0')
		return -1;
	errno = 0;
	*out = strtoll(s, &end, 10);
	return errno != 0 || *end != '\0' ? -1 : 0;
}

static void
read_scalar(struct loader *ld, const struct key *k, yaml_node_t *v, void *base)
{
	const char *s = scalar(v);
	char *p = (char *)base + k->offset;
	long long n;
	int64_t ms;

	if (s == NULL) {
		err_at(ld, v, "%s: expected a scalar value", k->name);
		return;
	}
	switch (k->type) {
	case K_SIZE:
	case K_INT:
	case K_U64:
		if (read_integer(s, &n) < 0 || n < k->min || n > k->max) {
			err_at(ld, v,
			       "%s: expected an integer in [%lld, %lld], "
			       "got \"%s\"",
			       k->name, k->min, k->max, s);
			return;
		}
		if (k->type == K_SIZE)
			*(size_t *)p = (size_t)n;
		else if (k->type == K_U64)
			*(uint64_t *)p = (uint64_t)n;
		else
			*(int *)p = (int)n;
		break;
	case K_DURATION:
		if (conf_duration(s, &ms) < 0 || ms < k->min || ms > k->max) {
			err_at(ld, v,
			       "%s: expected a duration such as 30s, 5m "
			       "or 250ms in [%lldms, %lldms], got \"%s\"",
			       k->name, k->min, k->max, s);
			return;
		}
		*(int64_t *)p = ms;
		break;
	case K_BOOL:
		if (strcmp(s, "true") == 0 || strcmp(s, "yes") == 0)
			*(bool *)p = true;
		else if (strcmp(s, "false") == 0 || strcmp(s, "no") == 0)
			*(bool *)p = false;
		else
			err_at(ld, v, "%s: expected true or false, got \"%s\"",
			       k->name, s);
		break;
	case K_STRING:
		if (*s == '\0') {
			err_at(ld, v, "%s: must not be empty", k->name);
			return;
		}
		free(*(char **)p);
		*(char **)p = xstrdup(s);
		break;
	case K_ALERTON:
		if (ruleset_alert_on_parse(s, (enum alert_on *)p) < 0)
			err_at(ld, v,
			       "%s: expected threshold or close, got \"%s\"",
			       k->name, s);
		break;
	case K_LOGLEVEL:
		if (log_level_parse(s, (enum log_level *)p) < 0)
			err_at(ld, v,
			       "%s: expected one of crit, err, warning, "
			       "notice, info, debug, got \"%s\"",
			       k->name, s);
		break;
	}
}

/* A mapping's custom readers: return 1 if the key was handled. */
typedef int
special_fn(struct loader *ld, const char *key, yaml_node_t *v, void *base);

static void
read_map(struct loader *ld, yaml_node_t *map, const char *what,
	 const struct key *keys, special_fn *special, void *base)
{
	yaml_node_pair_t *pair;

	if (map->type != YAML_MAPPING_NODE) {
		err_at(ld, map, "%s: expected a mapping", what);
		return;
	}
	for (pair = map->data.mapping.pairs.start;
	     pair < map->data.mapping.pairs.top; pair++) {
		yaml_node_t *kn = node(ld, pair->key),
			    *vn = node(ld, pair->value);
		const char *key = scalar(kn);
		const struct key *k;

		if (key == NULL) {
			err_at(ld, kn, "%s: keys must be scalars", what);
			continue;
		}
		for (k = keys; k != NULL && k->name != NULL; k++)
			if (strcmp(k->name, key) == 0)
				break;
		if (k != NULL && k->name != NULL) {
			read_scalar(ld, k, vn, base);
			continue;
		}
		if (special != NULL && special(ld, key, vn, base))
			continue;
		err_at(ld, kn, "unknown key \"%s\" in %s", key, what);
	}
}

/* Reads a sequence of non-empty scalars into l (replacing it). */
static int
read_list(struct loader *ld, yaml_node_t *v, const char *what,
	  struct strlist *l)
{
	yaml_node_item_t *it;
	int before = ld->errors;

	if (v->type != YAML_SEQUENCE_NODE) {
		err_at(ld, v, "%s: expected a list", what);
		return -1;
	}
	strlist_clear(l);
	for (it = v->data.sequence.items.start; it < v->data.sequence.items.top;
	     it++) {
		yaml_node_t *n = node(ld, *it);
		const char *s = scalar(n);
		if (s == NULL)
			err_at(ld, n, "%s: items must be scalars", what);
		else
			strlist_add(l, s);
	}
	return ld->errors == before ? 0 : -1;
}

#define CK(name, type, field, min, max)                            \
	{                                                          \
		name, type, offsetof(struct conf, field), min, max \
	}

static const struct key limits_keys[] = {
    CK("max_line_bytes", K_SIZE, max_line_bytes, 1024, 1LL << 30),
    CK("max_depth", K_SIZE, max_depth, 2, 10000),
    CK("max_groups", K_SIZE, max_groups, 1, 1LL << 32),
    CK("max_state_bytes", K_SIZE, max_state_bytes, 1 << 20, 1LL << 40),
    CK("max_values", K_SIZE, max_values, 1, 1LL << 24),
    CK("max_key_combos", K_SIZE, max_key_combos, 1, 1LL << 16),
    CK("max_alert_bytes", K_SIZE, max_alert_bytes, 4096, 64LL << 20),
    CK("prefilter", K_BOOL, prefilter, 0, 1),
    {NULL, 0, 0, 0, 0},
};

static const struct key daemon_keys[] = {
    CK("tick_interval", K_DURATION, tick_ms, 10, 60 * 1000),
    CK("stats_interval", K_DURATION, stats_ms, 0, 24LL * 3600 * 1000),
    CK("stats_socket", K_STRING, stats_socket, 0, 0),
    CK("metrics_listen", K_STRING, metrics_listen, 0, 0),
    CK("state_dir", K_STRING, state_dir, 0, 0),
    CK("checkpoint_interval", K_DURATION, checkpoint_ms, 100, 3600 * 1000),
    {NULL, 0, 0, 0, 0},
};

#define IK(name, type, field, min, max)                                  \
	{                                                                \
		name, type, offsetof(struct input_conf, field), min, max \
	}

static const struct key input_keys[] = {
    IK("name", K_STRING, name, 0, 0),
    IK("rescan_interval", K_DURATION, rescan_ms, 100, 3600 * 1000),
    IK("poll_interval", K_DURATION, poll_ms, 10, 3600 * 1000),
    IK("close_inactive", K_DURATION, close_inactive_ms, 100,
       7LL * 24 * 3600 * 1000),
    IK("path", K_STRING, path, 0, 0),
    IK("max_clients", K_SIZE, max_clients, 1, 65536),
    IK("max_buffer_bytes", K_SIZE, max_buffer_bytes, 65536, 1LL << 40),
    IK("idle_timeout", K_DURATION, idle_timeout_ms, 0, 7 * 24 * 3600 * 1000LL),
    {NULL, 0, 0, 0, 0},
};

#define SK(name, type, field, min, max)                                 \
	{                                                               \
		name, type, offsetof(struct sink_conf, field), min, max \
	}

static const struct key sink_keys[] = {
    SK("name", K_STRING, name, 0, 0),
    SK("path", K_STRING, path, 0, 0),
    SK("host", K_STRING, host, 0, 0),
    SK("port", K_INT, port, 1, 65535),
    SK("queue_max", K_SIZE, queue_max, 1, 1 << 24),
    SK("backoff_min", K_DURATION, backoff_min_ms, 1, 3600 * 1000),
    SK("backoff_max", K_DURATION, backoff_max_ms, 1, 24 * 3600 * 1000),
    {NULL, 0, 0, 0, 0},
};

/* The "type" key of an input or sink entry: read before the rest. */
static const char *
entry_type(struct loader *ld, yaml_node_t *map)
{
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start;
	     p < map->data.mapping.pairs.top; p++) {
		const char *k = scalar(node(ld, p->key));
		if (k != NULL && strcmp(k, "type") == 0)
			return scalar(node(ld, p->value));
	}
	return NULL;
}

static int
input_special(struct loader *ld, const char *key, yaml_node_t *v, void *base)
{
	struct input_conf *ic = base;
	const char *s = scalar(v);

	if (strcmp(key, "type") == 0)
		return 1;
	if (strcmp(key, "paths") == 0) {
		read_list(ld, v, "paths", &ic->paths);
	} else if (strcmp(key, "start_at") == 0) {
		if (s != NULL && strcmp(s, "end") == 0)
			ic->start_at_end = true;
		else if (s != NULL && strcmp(s, "beginning") == 0)
			ic->start_at_end = false;
		else
			err_at(ld, v, "start_at: expected beginning or end");
	} else if (strcmp(key, "mode") == 0) {
		char *end;
		unsigned long m = s ? strtoul(s, &end, 8) : 0;
		if (s == NULL || *s == '\0' || *end != '\0' || m > 0777)
			err_at(ld, v,
			       "mode: expected an octal file mode such "
			       "as \"0660\"");
		else
			ic->mode = (unsigned)m;
	} else {
		return 0;
	}
	return 1;
}

static void
read_inputs(struct loader *ld, yaml_node_t *v, struct conf *c)
{
	if (v->type != YAML_SEQUENCE_NODE) {
		err_at(ld, v, "inputs: expected a list");
		return;
	}
	for (yaml_node_item_t *it = v->data.sequence.items.start;
	     it < v->data.sequence.items.top; it++) {
		yaml_node_t *n = node(ld, *it);
		struct input_conf ic = conf_input_default(INPUT_FILE);
		const char *type;

		if (n->type != YAML_MAPPING_NODE) {
			err_at(ld, n, "inputs: each input is a mapping");
			continue;
		}
		type = entry_type(ld, n);
		if (type == NULL) {
			err_at(ld, n,
			       "inputs: input has no type (file, unix, "
			       "stdin)");
			continue;
		} else if (strcmp(type, "file") == 0) {
			ic.type = INPUT_FILE;
		} else if (strcmp(type, "unix") == 0) {
			ic.type = INPUT_UNIX;
		} else if (strcmp(type, "stdin") == 0) {
			ic.type = INPUT_STDIN;
		} else {
			err_at(ld, n,
			       "inputs: unknown type \"%s\" (file, "
			       "unix, stdin)",
			       type);
			continue;
		}
		read_map(ld, n, "an input", input_keys, input_special, &ic);
		if (ic.type == INPUT_FILE && ic.paths.n == 0)
			err_at(ld, n, "file input: paths is required");
		if (ic.type == INPUT_UNIX && ic.path == NULL)
			err_at(ld, n, "unix input: path is required");
		c->inputs = xreallocarray(c->inputs, c->ninputs + 1,
					  sizeof(*c->inputs));
		c->inputs[c->ninputs++] = ic;
	}
}

static int
sink_special(struct loader *ld, const char *key, yaml_node_t *v, void *base)
{
	struct sink_conf *sc = base;
	const char *s = scalar(v);

	if (strcmp(key, "type") == 0)
		return 1;
	if (strcmp(key, "framing") == 0) {
		if (s != NULL && strcmp(s, "newline") == 0)
			sc->framing = SINK_FRAMING_NEWLINE;
		else if (s != NULL && strcmp(s, "octet_counted") == 0)
			sc->framing = SINK_FRAMING_OCTET;
		else
			err_at(ld, v,
			       "framing: expected newline or "
			       "octet_counted");
	} else if (strcmp(key, "format") == 0) {
		if (s != NULL && strcmp(s, "json") == 0)
			sc->format = SINK_FORMAT_JSON;
		else if (s != NULL && strcmp(s, "rfc5424") == 0)
			sc->format = SINK_FORMAT_RFC5424;
		else
			err_at(ld, v, "format: expected json or rfc5424");
	} else {
		return 0;
	}
	return 1;
}

static void
read_sinks(struct loader *ld, yaml_node_t *v, struct conf *c)
{
	static const char *const names[] = {
	    [SINK_STDOUT] = "stdout", [SINK_FILE] = "file",
	    [SINK_UNIX] = "unix",     [SINK_UNIX_DGRAM] = "unix_dgram",
	    [SINK_TCP] = "tcp",
	};

	if (v->type != YAML_SEQUENCE_NODE) {
		err_at(ld, v, "sinks: expected a list");
		return;
	}
	for (yaml_node_item_t *it = v->data.sequence.items.start;
	     it < v->data.sequence.items.top; it++) {
		yaml_node_t *n = node(ld, *it);
		struct sink_conf sc = conf_sink_default(SINK_STDOUT);
		const char *type;
		size_t t;

		if (n->type != YAML_MAPPING_NODE) {
			err_at(ld, n, "sinks: each sink is a mapping");
			continue;
		}
		type = entry_type(ld, n);
		for (t = 0; type != NULL && t < sizeof(names) / sizeof(*names);
		     t++)
			if (strcmp(type, names[t]) == 0)
				break;
		if (type == NULL || t == sizeof(names) / sizeof(*names)) {
			err_at(ld, n,
			       "sinks: type must be one of stdout, file, "
			       "unix, unix_dgram, tcp");
			continue;
		}
		sc.type = (enum sink_type)t;
		read_map(ld, n, "a sink", sink_keys, sink_special, &sc);
		if ((sc.type == SINK_FILE || sc.type == SINK_UNIX ||
		     sc.type == SINK_UNIX_DGRAM) &&
		    sc.path == NULL)
			err_at(ld, n, "%s sink: path is required", type);
		if (sc.type == SINK_TCP && (sc.host == NULL || sc.port == 0)) {
			err_at(ld, n, "tcp sink: host and port are required");
		} else if (sc.type == SINK_TCP) {
			unsigned char addr[sizeof(struct in6_addr)];
			if (inet_pton(AF_INET, sc.host, addr) != 1 &&
			    inet_pton(AF_INET6, sc.host, addr) != 1)
				err_at(ld, n,
				       "tcp sink: host must be an IPv4 or "
				       "IPv6 address, got \"%s\"",
				       sc.host);
		}
		if (sc.backoff_min_ms > sc.backoff_max_ms)
			err_at(ld, n,
			       "%s sink: backoff_min exceeds backoff_max",
			       type);
		/* A file or standard output is read as NDJSON. */
		if (sc.framing != SINK_FRAMING_NEWLINE &&
		    sc.type != SINK_UNIX && sc.type != SINK_TCP)
			err_at(ld, n,
			       "%s sink: framing applies to unix and tcp "
			       "sinks only",
			       type);
		if (sc.format != SINK_FORMAT_JSON &&
		    (sc.type == SINK_FILE || sc.type == SINK_STDOUT))
			err_at(ld, n,
			       "%s sink: format applies to unix, tcp and "
			       "unix_dgram sinks only",
			       type);
		c->sinks =
		    xreallocarray(c->sinks, c->nsinks + 1, sizeof(*c->sinks));
		c->sinks[c->nsinks++] = sc;
	}
}

static const struct key window_keys[] = {
    CK("allowed_lateness", K_DURATION, allowed_lateness_ms, 0,
       24LL * 3600 * 1000),
    CK("late_horizon", K_DURATION, late_horizon_ms, 0, 7LL * 86400 * 1000),
    CK("replay_exact", K_BOOL, replay_exact, 0, 1),
    CK("idle_close", K_DURATION, idle_close_ms, 1000, 24LL * 3600 * 1000),
    CK("max_future", K_DURATION, max_future_ms, 0, 7LL * 86400 * 1000),
    CK("alert_on", K_ALERTON, alert_on, 0, 0),
    {NULL, 0, 0, 0, 0},
};

/*
 * Gives each unnamed entry its default name, type and index among its
 * type, and checks that names are short, plain and unique in the list:
 * they are the label values of the metrics.  names[i] points at entry
 * i's name, types[i] is its type, an index into type_names.
 */
static void
name_entries(struct loader *ld, yaml_node_t *v, const char *what,
	     char **const *names, const unsigned *types, size_t n,
	     const char *const *type_names)
{
	unsigned count[8] = {0};
	char buf[CONF_NAME_MAX + 16];

	for (size_t i = 0; i < n; i++) {
		if (*names[i] == NULL) {
			snprintf(buf, sizeof(buf), "%s%u", type_names[types[i]],
				 count[types[i]]);
			*names[i] = xstrdup(buf);
		}
		count[types[i]]++;
	}
	for (size_t i = 0; i < n; i++) {
		const char *s = *names[i];
		size_t len = strlen(s);
		if (len == 0 || len > CONF_NAME_MAX ||
		    strspn(s,
			   "abcdefghijklmnopqrstuvwxyz"
			   "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") != len) {
			err_at(ld, v,
			       "%s: name \"%s\": expected 1 to %d "
			       "letters, digits, '_', '.' or '-'",
			       what, s, CONF_NAME_MAX);
			continue;
		}
		for (size_t j = 0; j < i; j++)
			if (strcmp(s, *names[j]) == 0) {
				err_at(ld, v, "%s: name \"%s\" used twice",
				       what, s);
				break;
			}
	}
}

static void
name_inputs(struct loader *ld, yaml_node_t *v, struct conf *c)
{
	static const char *const tn[] = {[INPUT_FILE] = "file",
					 [INPUT_UNIX] = "unix",
					 [INPUT_STDIN] = "stdin"};
	char ***names = xcalloc(c->ninputs + 1, sizeof(*names));
	unsigned *types = xcalloc(c->ninputs + 1, sizeof(*types));

	for (size_t i = 0; i < c->ninputs; i++) {
		names[i] = &c->inputs[i].name;
		types[i] = (unsigned)c->inputs[i].type;
	}
	name_entries(ld, v, "inputs", names, types, c->ninputs, tn);
	free(names);
	free(types);
}

static void
name_sinks(struct loader *ld, yaml_node_t *v, struct conf *c)
{
	static const char *const tn[] = {[SINK_STDOUT] = "stdout",
					 [SINK_FILE] = "file",
					 [SINK_UNIX] = "unix",
					 [SINK_UNIX_DGRAM] = "unix_dgram",
					 [SINK_TCP] = "tcp"};
	char ***names = xcalloc(c->nsinks + 1, sizeof(*names));
	unsigned *types = xcalloc(c->nsinks + 1, sizeof(*types));

	for (size_t i = 0; i < c->nsinks; i++) {
		names[i] = &c->sinks[i].name;
		types[i] = (unsigned)c->sinks[i].type;
	}
	name_entries(ld, v, "sinks", names, types, c->nsinks, tn);
	free(names);
	free(types);
}

static void
read_daemon(struct loader *ld, yaml_node_t *v, struct conf *c)
{
	struct httpreq_addr a;
	const char *why;

	read_map(ld, v, "daemon", daemon_keys, NULL, c);
	if (c->metrics_listen != NULL &&
	    httpreq_parse_addr(c->metrics_listen, &a, &why) < 0)
		err_at(ld, v, "daemon.metrics_listen \"%s\": %s",
		       c->metrics_listen, why);
}

static const struct key top_keys[] = {
    CK("log_level", K_LOGLEVEL, log_level, 0, 0),
    {NULL, 0, 0, 0, 0},
};

/* Writes the ruleset's error lines as the loader's, counting them. */
static FILE *
rules_errors(struct loader *ld, char **text, size_t *len)
{
	FILE *mem = open_memstream(text, len);

	if (mem == NULL)
		fatal("open_memstream");
	(void)ld;
	return mem;
}

static void
rules_errors_done(struct loader *ld, FILE *mem, char **text, size_t *len)
{
	fclose(mem);
	for (char *p = *text, *end = *text + *len, *nl; p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		fprintf(ld->errf, "%.*s\n", (int)(nl - p), p);
		ld->errors++;
	}
	free(*text);
}

/*
 * A rule path relative to the configuration file's directory (an
 * absolute one as it is), in out.
 */
static const char *
rule_path(struct loader *ld, const char *s, struct buf *out)
{
	const char *slash = strrchr(ld->path, '/');

	if (s[0] == '/' || slash == NULL)
		return s;
	out->len = 0;
	buf_append(out, ld->path, (size_t)(slash - ld->path) + 1);
	buf_append(out, s, strlen(s) + 1);
	return out->data;
}

/* tags: read apart, as a list. */
static int
inline_tags(struct loader *ld, const char *key, yaml_node_t *v, void *base)
{
	(void)ld;
	(void)v;
	(void)base;
	return strcmp(key, "tags") == 0;
}

/* One rule written inline: name, query and the metadata keys. */
static void
read_inline_rule(struct loader *ld, yaml_node_t *v, struct conf *c, FILE *errf)
{
	struct inline_rule {
		char *name, *rule_id, *description, *severity, *threat;
		char *from, *interval, *maturity, *query;
		int risk_score, max_signals;
		enum alert_on alert_on;
	} ir = {.risk_score = -1};
	static const struct key keys[] = {
#define RK_INLINE(n, t, f, lo, hi) \
	{n, t, offsetof(struct inline_rule, f), lo, hi}
	    RK_INLINE("name", K_STRING, name, 0, 0),
	    RK_INLINE("rule_id", K_STRING, rule_id, 0, 0),
	    RK_INLINE("description", K_STRING, description, 0, 0),
	    RK_INLINE("severity", K_STRING, severity, 0, 0),
	    RK_INLINE("risk_score", K_INT, risk_score, 0, 100),
	    RK_INLINE("threat", K_STRING, threat, 0, 0),
	    RK_INLINE("from", K_STRING, from, 0, 0),
	    RK_INLINE("interval", K_STRING, interval, 0, 0),
	    RK_INLINE("max_signals", K_INT, max_signals, 1, 10000),
	    RK_INLINE("maturity", K_STRING, maturity, 0, 0),
	    RK_INLINE("query", K_STRING, query, 0, 0),
	    RK_INLINE("alert_on", K_ALERTON, alert_on, 0, 0),
#undef RK_INLINE
	    {NULL, 0, 0, 0, 0},
	};
	struct strlist tags = {0};
	yaml_node_pair_t *pair;
	yaml_node_t *qn = NULL;
	char where[64];
	int before = ld->errors;

	if (v->type == YAML_MAPPING_NODE) {
		/* tags is a list; the rest are scalars. */
		for (pair = v->data.mapping.pairs.start;
		     pair < v->data.mapping.pairs.top; pair++) {
			const char *k = scalar(node(ld, pair->key));
			if (k != NULL && strcmp(k, "tags") == 0)
				(void)read_list(ld, node(ld, pair->value),
						"rules: tags", &tags);
			else if (k != NULL && strcmp(k, "query") == 0)
				qn = node(ld, pair->value);
		}
	}
	read_map(ld, v, "an inline rule", keys, inline_tags, &ir);
	if (ld->errors == before && (ir.name == NULL || ir.query == NULL)) {
		err_at(ld, v, "an inline rule needs a name and a query");
	}
	if (ld->errors == before) {
		const char **tv = xcalloc(tags.n + 1, sizeof(*tv));
		struct rule_fields f = {
		    .name = ir.name,
		    .rule_id = ir.rule_id,
		    .description = ir.description,
		    .severity = ir.severity,
		    .risk_score = ir.risk_score,
		    .tags = tv,
		    .threat = ir.threat,
		    .from = ir.from,
		    .interval = ir.interval,
		    .max_signals = ir.max_signals,
		    .maturity = ir.maturity,
		    .query = ir.query,
		    .path = ld->path,
		};
		for (size_t i = 0; i < tags.n; i++)
			tv[i] = tags.v[i];
		/* A block scalar's text starts on the line after its mark. */
		if (qn != NULL) {
			bool block =
			    qn->data.scalar.style ==
				YAML_LITERAL_SCALAR_STYLE ||
			    qn->data.scalar.style == YAML_FOLDED_SCALAR_STYLE;
			f.query_line = (int)qn->start_mark.line + 1 + block;
			f.query_col =
			    block ? 1 : (int)qn->start_mark.column + 1;
		}
		snprintf(where, sizeof(where), "%s:%zu", ld->path,
			 v->start_mark.line + 1);
		if (ruleset_add_fields(&c->rules, &f, where, errf) == 0)
			c->rules.v[c->rules.n - 1].alert_on = ir.alert_on;
		free(tv);
	}
	strlist_clear(&tags);
	free(ir.name);
	free(ir.rule_id);
	free(ir.description);
	free(ir.severity);
	free(ir.threat);
	free(ir.from);
	free(ir.interval);
	free(ir.maturity);
	free(ir.query);
}

/* rules: paths, globs and inline rules. */
static void
read_rules(struct loader *ld, yaml_node_t *v, struct conf *c)
{
	yaml_node_item_t *it;
	struct buf path = {0};
	char *text = NULL;
	size_t len = 0;
	FILE *errf;

	if (v->type != YAML_SEQUENCE_NODE) {
		err_at(ld, v, "rules: expected a list");
		return;
	}
	ruleset_free(&c->rules);
	errf = rules_errors(ld, &text, &len);
	for (it = v->data.sequence.items.start; it < v->data.sequence.items.top;
	     it++) {
		yaml_node_t *n = node(ld, *it);
		const char *s = scalar(n);
		if (s != NULL)
			(void)ruleset_add_path(&c->rules,
					       rule_path(ld, s, &path), errf);
		else
			read_inline_rule(ld, n, c, errf);
	}
	rules_errors_done(ld, errf, &text, &len);
	buf_free(&path);
}

/*
 * The built-in rule's own section, retired: its detection is now the
 * default ES|QL rule, and a variant is a rule of its own under rules:.
 */
#define RULE_RETIRED                                                         \
	"rule: this section is retired: the default rule is now Elastic's "  \
	"\"Suspicious Python Shell Command Execution\" in ES|QL, which "     \
	"runs when rules: is left out; delete the section, or write a "      \
	"variant as an inline rule under rules: (name:, query: and its "     \
	"metadata; see RULES in burstd.yaml(5) and the default, commented, " \
	"in the example configuration)"

static int
top_special(struct loader *ld, const char *key, yaml_node_t *v, void *base)
{
	struct conf *c = base;

	if (strcmp(key, "limits") == 0)
		read_map(ld, v, "limits", limits_keys, NULL, c);
	else if (strcmp(key, "window") == 0)
		read_map(ld, v, "window", window_keys, NULL, c);
	else if (strcmp(key, "daemon") == 0)
		read_daemon(ld, v, c);
	else if (strcmp(key, "inputs") == 0) {
		read_inputs(ld, v, c);
		name_inputs(ld, v, c);
	} else if (strcmp(key, "sinks") == 0) {
		read_sinks(ld, v, c);
		name_sinks(ld, v, c);
	} else if (strcmp(key, "rule") == 0)
		err_at(ld, v, "%s", RULE_RETIRED);
	else if (strcmp(key, "rules") == 0)
		read_rules(ld, v, c);
	else
		return 0;
	return 1;
}

struct conf *
conf_default(void)
{
	struct conf *c = xcalloc(1, sizeof(*c));

	c->log_level = CONF_DEFAULT_LOG_LEVEL;
	c->max_line_bytes = CONF_DEFAULT_MAX_LINE_BYTES;
	c->max_depth = CONF_DEFAULT_MAX_DEPTH;
	c->max_groups = CONF_DEFAULT_MAX_GROUPS;
	c->max_state_bytes = CONF_DEFAULT_MAX_STATE_BYTES;
	c->max_values = CONF_DEFAULT_MAX_VALUES;
	c->max_key_combos = CONF_DEFAULT_MAX_KEY_COMBOS;
	c->max_alert_bytes = CONF_DEFAULT_MAX_ALERT_BYTES;
	c->allowed_lateness_ms = CONF_DEFAULT_ALLOWED_LATENESS_MS;
	c->late_horizon_ms = CONF_DEFAULT_LATE_HORIZON_MS;
	c->replay_exact = CONF_DEFAULT_REPLAY_EXACT;
	c->alert_on = CONF_DEFAULT_ALERT_ON;
	c->prefilter = CONF_DEFAULT_PREFILTER;
	c->idle_close_ms = CONF_DEFAULT_IDLE_CLOSE_MS;
	c->max_future_ms = CONF_DEFAULT_MAX_FUTURE_MS;
	c->tick_ms = CONF_DEFAULT_TICK_MS;
	c->stats_ms = CONF_DEFAULT_STATS_MS;
	c->checkpoint_ms = CONF_DEFAULT_CHECKPOINT_MS;
	if (ruleset_add_default(&c->rules, stderr) < 0)
		fatalx("the built-in rule does not compile");
	return c;
}

struct input_conf
conf_input_default(enum input_type type)
{
	return (struct input_conf){
	    .type = type,
	    .start_at_end = CONF_DEFAULT_START_AT_END,
	    .rescan_ms = CONF_DEFAULT_RESCAN_MS,
	    .poll_ms = CONF_DEFAULT_POLL_MS,
	    .close_inactive_ms = CONF_DEFAULT_CLOSE_INACTIVE_MS,
	    .mode = CONF_DEFAULT_SOCKET_MODE,
	    .max_clients = CONF_DEFAULT_MAX_CLIENTS,
	    .max_buffer_bytes = CONF_DEFAULT_MAX_BUFFER_BYTES,
	    .idle_timeout_ms = CONF_DEFAULT_IDLE_TIMEOUT_MS,
	};
}

struct sink_conf
conf_sink_default(enum sink_type type)
{
	return (struct sink_conf){
	    .type = type,
	    .queue_max = CONF_DEFAULT_QUEUE_MAX,
	    .backoff_min_ms = CONF_DEFAULT_BACKOFF_MIN_MS,
	    .backoff_max_ms = CONF_DEFAULT_BACKOFF_MAX_MS,
	    .max_alert_bytes = CONF_DEFAULT_MAX_ALERT_BYTES,
	};
}

void
conf_free(struct conf *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->ninputs; i++) {
		strlist_clear(&c->inputs[i].paths);
		free(c->inputs[i].path);
		free(c->inputs[i].name);
	}
	free(c->inputs);
	for (size_t i = 0; i < c->nsinks; i++) {
		free(c->sinks[i].path);
		free(c->sinks[i].host);
		free(c->sinks[i].name);
	}
	free(c->sinks);
	free(c->stats_socket);
	free(c->metrics_listen);
	free(c->state_dir);
	ruleset_free(&c->rules);
	free(c);
}

int
conf_set_rules(struct conf *c, const struct strlist *paths, FILE *errf)
{
	struct ruleset rs = {0};
	int rc = 0;

	for (size_t i = 0; i < paths->n; i++)
		if (ruleset_add_path(&rs, paths->v[i], errf) < 0)
			rc = -1;
	if (rc < 0) {
		ruleset_free(&rs);
		return -1;
	}
	ruleset_free(&c->rules);
	c->rules = rs;
	return 0;
}

/* Composing the document from events. */

static void err_mark(struct loader *ld, const yaml_mark_t *m, const char *fmt,
		     ...) __attribute__((format(printf, 3, 4)));

static void
err_mark(struct loader *ld, const yaml_mark_t *m, const char *fmt, ...)
{
	va_list ap;

	fprintf(ld->errf, "%s:%zu: ", ld->path, m->line + 1);
	va_start(ap, fmt);
	vfprintf(ld->errf, fmt, ap);
	va_end(ap);
	fputc('\n', ld->errf);
	ld->errors++;
}

struct frame {
	int id;        /* the collection's node */
	bool is_map;   /* a mapping (else a sequence) */
	int key;       /* mapping: its key waiting for a value, or 0 */
	char *anchor;  /* its anchor, defined at its end (owned), or NULL */
	size_t nodes0; /* nodes composed before it began */
};

struct anchor {
	char *name;   /* NULL: empty slot (owned) */
	int id;       /* the node it names */
	size_t nodes; /* nodes of its subtree, aliases expanded */
};

/* One key of one mapping, for finding repeats. */
struct seen_key {
	int map; /* the mapping's node, 0: empty slot */
	int key; /* the key's node (a scalar) */
};

struct composer {
	struct loader *ld;
	struct frame stack[CONF_MAX_DEPTH]; /* open collections */
	size_t depth;                       /* entries of stack in use */
	size_t nodes; /* nodes so far, each alias counting its subtree */
	struct anchor *anchors; /* open addressing, by name */
	size_t anchor_mask, nanchors;
	struct seen_key *keys; /* open addressing, by (map, key text) */
	size_t key_mask, nkeys;
};

static uint64_t
hash_str(const char *s, size_t len, uint64_t seed)
{
	return XXH3_64bits_withSeed(s, len, seed);
}

static struct anchor *
anchor_slot(struct anchor *t, size_t mask, const char *name)
{
	size_t i = hash_str(name, strlen(name), 0) & mask;

	while (t[i].name != NULL && strcmp(t[i].name, name) != 0)
		i = (i + 1) & mask;
	return &t[i];
}

/* Defines (or redefines, as YAML allows) an anchor; takes name. */
static void
anchor_define(struct composer *cp, char *name, int id, size_t nodes)
{
	struct anchor *a;

	if (2 * (cp->nanchors + 1) > cp->anchor_mask + 1) {
		size_t nmask = cp->anchor_mask ? 2 * cp->anchor_mask + 1 : 15;
		struct anchor *t = xcalloc(nmask + 1, sizeof(*t));
		for (size_t i = 0; cp->anchor_mask && i <= cp->anchor_mask; i++)
			if (cp->anchors[i].name != NULL)
				*anchor_slot(t, nmask, cp->anchors[i].name) =
				    cp->anchors[i];
		free(cp->anchors);
		cp->anchors = t;
		cp->anchor_mask = nmask;
	}
	a = anchor_slot(cp->anchors, cp->anchor_mask, name);
	if (a->name != NULL) {
		free(name);
	} else {
		a->name = name;
		cp->nanchors++;
	}
	a->id = id;
	a->nodes = nodes;
}

static const struct anchor *
anchor_find(const struct composer *cp, const char *name)
{
	const struct anchor *a;

	if (cp->anchor_mask == 0)
		return NULL;
	a = anchor_slot(cp->anchors, cp->anchor_mask, name);
	return a->name != NULL ? a : NULL;
}

static uint64_t
key_hash(const yaml_node_t *k, int map)
{
	return hash_str((const char *)k->data.scalar.value,
			k->data.scalar.length, (uint64_t)map);
}

/* The slot of key k of mapping map: where it is, or where it would go. */
static struct seen_key *
key_slot(struct composer *cp, struct seen_key *t, size_t mask, int map,
	 const yaml_node_t *k)
{
	size_t i = key_hash(k, map) & mask;

	for (; t[i].map != 0; i = (i + 1) & mask) {
		const yaml_node_t *o = node(cp->ld, t[i].key);
		if (t[i].map == map &&
		    o->data.scalar.length == k->data.scalar.length &&
		    memcmp(o->data.scalar.value, k->data.scalar.value,
			   k->data.scalar.length) == 0)
			break;
	}
	return &t[i];
}

/*
 * Records key (a node) of mapping map; returns the node of an equal key
 * met before in that mapping, or 0.  Keys that are not scalars are left
 * to the reader, which refuses them.
 */
static int
key_seen(struct composer *cp, int map, int key)
{
	const yaml_node_t *k = node(cp->ld, key);
	struct seen_key *sk;

	if (k->type != YAML_SCALAR_NODE)
		return 0;
	if (2 * (cp->nkeys + 1) > cp->key_mask + 1) {
		size_t nmask = cp->key_mask ? 2 * cp->key_mask + 1 : 63;
		struct seen_key *t = xcalloc(nmask + 1, sizeof(*t));
		for (size_t i = 0; cp->key_mask && i <= cp->key_mask; i++)
			if (cp->keys[i].map != 0)
				*key_slot(cp, t, nmask, cp->keys[i].map,
					  node(cp->ld, cp->keys[i].key)) =
				    cp->keys[i];
		free(cp->keys);
		cp->keys = t;
		cp->key_mask = nmask;
	}
	sk = key_slot(cp, cp->keys, cp->key_mask, map, k);
	if (sk->map != 0)
		return sk->key;
	sk->map = map;
	sk->key = key;
	cp->nkeys++;
	return 0;
}

/* Counts n more nodes; returns -1 (with the error) past the limit. */
static int
count_nodes(struct composer *cp, size_t n, const yaml_mark_t *m)
{
	if (n > CONF_MAX_NODES - cp->nodes) {
		err_mark(cp->ld, m,
			 "more than %d YAML nodes (an alias counts "
			 "as the nodes it repeats)",
			 CONF_MAX_NODES);
		return -1;
	}
	cp->nodes += n;
	return 0;
}

/* Places a complete node in its parent (m: where it appears). */
static void
attach(struct composer *cp, int id, const yaml_mark_t *m)
{
	struct frame *f;
	int first;

	if (cp->depth == 0)
		return; /* the root: node 1 */
	f = &cp->stack[cp->depth - 1];
	if (!f->is_map) {
		if (!yaml_document_append_sequence_item(&cp->ld->doc, f->id,
							id))
			fatalx("conf: out of memory");
		return;
	}
	if (f->key == 0) {
		f->key = id;
		if ((first = key_seen(cp, f->id, id)) != 0) {
			const yaml_node_t *o = node(cp->ld, first);
			err_mark(cp->ld, m,
				 "duplicate key \"%s\" at %zu:%zu "
				 "(first at %zu:%zu)",
				 (const char *)o->data.scalar.value,
				 m->line + 1, m->column + 1,
				 o->start_mark.line + 1,
				 o->start_mark.column + 1);
		}
		return;
	}
	if (!yaml_document_append_mapping_pair(&cp->ld->doc, f->id, f->key, id))
		fatalx("conf: out of memory");
	f->key = 0;
}

static char *
anchor_of(const yaml_char_t *a)
{
	return a != NULL ? xstrdup((const char *)a) : NULL;
}

/* Handles one event; returns 1 at the end of the stream, -1 to stop. */
static int
compose_event(struct composer *cp, yaml_event_t *ev, int *docs)
{
	struct loader *ld = cp->ld;
	yaml_node_t *n;
	struct frame *f;
	const struct anchor *a;
	int id;

	switch (ev->type) {
	case YAML_NO_EVENT:
	case YAML_STREAM_START_EVENT:
	case YAML_DOCUMENT_END_EVENT:
		return 0;
	case YAML_STREAM_END_EVENT:
		return 1;
	case YAML_DOCUMENT_START_EVENT:
		if ((*docs)++ > 0) {
			err_mark(ld, &ev->start_mark,
				 "a second YAML document; "
				 "the configuration is one document");
			return -1;
		}
		if (!yaml_document_initialize(&ld->doc, NULL, NULL, NULL, 1, 1))
			fatalx("conf: out of memory");
		ld->have_doc = true;
		return 0;
	case YAML_ALIAS_EVENT:
		a = anchor_find(cp, (const char *)ev->data.alias.anchor);
		if (a == NULL) {
			err_mark(ld, &ev->start_mark,
				 "alias *%s names no "
				 "anchor defined before it",
				 (const char *)ev->data.alias.anchor);
			return -1;
		}
		if (count_nodes(cp, a->nodes, &ev->start_mark) < 0)
			return -1;
		attach(cp, a->id, &ev->start_mark);
		return 0;
	case YAML_SCALAR_EVENT:
		if (count_nodes(cp, 1, &ev->start_mark) < 0)
			return -1;
		id = yaml_document_add_scalar(&ld->doc, NULL,
					      ev->data.scalar.value,
					      (int)ev->data.scalar.length,
					      ev->data.scalar.style);
		if (id == 0)
			fatalx("conf: out of memory");
		n = node(ld, id);
		n->start_mark = ev->start_mark;
		n->end_mark = ev->end_mark;
		if (ev->data.scalar.anchor != NULL)
			anchor_define(cp, anchor_of(ev->data.scalar.anchor), id,
				      1);
		attach(cp, id, &ev->start_mark);
		return 0;
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT:
		if (cp->depth == CONF_MAX_DEPTH) {
			err_mark(ld, &ev->start_mark,
				 "nested deeper than %d "
				 "levels",
				 CONF_MAX_DEPTH);
			return -1;
		}
		if (count_nodes(cp, 1, &ev->start_mark) < 0)
			return -1;
		if (ev->type == YAML_SEQUENCE_START_EVENT)
			id = yaml_document_add_sequence(
			    &ld->doc, NULL, ev->data.sequence_start.style);
		else
			id = yaml_document_add_mapping(
			    &ld->doc, NULL, ev->data.mapping_start.style);
		if (id == 0)
			fatalx("conf: out of memory");
		node(ld, id)->start_mark = ev->start_mark;
		f = &cp->stack[cp->depth++];
		f->id = id;
		f->is_map = ev->type == YAML_MAPPING_START_EVENT;
		f->key = 0;
		f->anchor =
		    anchor_of(f->is_map ? ev->data.mapping_start.anchor
					: ev->data.sequence_start.anchor);
		f->nodes0 = cp->nodes;
		return 0;
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		f = &cp->stack[--cp->depth];
		node(ld, f->id)->end_mark = ev->end_mark;
		/* Defined at its end: an alias inside it is undefined. */
		if (f->anchor != NULL)
			anchor_define(cp, f->anchor, f->id,
				      cp->nodes - f->nodes0);
		f->anchor = NULL;
		attach(cp, f->id, &node(ld, f->id)->start_mark);
		return 0;
	}
	return 0;
}

/*
 * Composes the document of buf into ld->doc.  Returns 0, or -1 after
 * reporting a syntax error or a limit (the document is then partial).
 * A repeated key is reported and composing goes on.
 */
static int
compose(struct loader *ld, const char *buf, size_t len)
{
	struct composer cp = {.ld = ld};
	yaml_parser_t parser;
	yaml_event_t ev;
	int r = 0, docs = 0;

	if (!yaml_parser_initialize(&parser))
		fatalx("yaml_parser_initialize");
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
	while (r == 0) {
		if (!yaml_parser_parse(&parser, &ev)) {
			fprintf(ld->errf,
				"%s:%zu: YAML syntax error: %s%s%s%s\n",
				ld->path, parser.problem_mark.line + 1,
				parser.problem ? parser.problem : "unknown",
				parser.context ? " (" : "",
				parser.context ? parser.context : "",
				parser.context ? ")" : "");
			ld->errors++;
			r = -1;
			break;
		}
		r = compose_event(&cp, &ev, &docs);
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&parser);
	while (cp.depth > 0)
		free(cp.stack[--cp.depth].anchor);
	for (size_t i = 0; cp.anchor_mask && i <= cp.anchor_mask; i++)
		free(cp.anchors[i].name);
	free(cp.anchors);
	free(cp.keys);
	return r < 0 ? -1 : 0;
}

/*
 * Reads path into *buf (NUL-terminated, owned by the caller).  Returns
 * its length, or -1 after reporting why not.
 */
static ssize_t
read_file(struct loader *ld, char **buf)
{
	FILE *f;
	size_t n;
	char *b;

	if ((f = fopen(ld->path, "r")) == NULL) {
		fprintf(ld->errf, "%s: %s\n", ld->path, strerror(errno));
		return -1;
	}
	/* One byte more than the limit tells a file that is too large. */
	b = xmalloc(CONF_MAX_BYTES + 2);
	n = fread(b, 1, CONF_MAX_BYTES + 1, f);
	if (ferror(f)) {
		fprintf(ld->errf, "%s: %s\n", ld->path, strerror(errno));
		fclose(f);
		free(b);
		return -1;
	}
	fclose(f);
	if (n > CONF_MAX_BYTES) {
		fprintf(ld->errf,
			"%s: larger than %d bytes, the limit for a "
			"configuration file\n",
			ld->path, CONF_MAX_BYTES);
		free(b);
		return -1;
	}
	b[n] = '\0';
	*buf = b;
	return (ssize_t)n;
}

struct conf *
conf_load(const char *path, FILE *errf)
{
	struct loader ld = {.path = path, .errf = errf};
	yaml_node_t *root;
	char *buf;
	ssize_t len;
	int r;

	if ((len = read_file(&ld, &buf)) < 0)
		return NULL;
	r = compose(&ld, buf, (size_t)len);
	free(buf);
	if (r < 0) {
		if (ld.have_doc)
			yaml_document_delete(&ld.doc);
		return NULL;
	}

	ld.conf = conf_default();
	root = ld.have_doc ? yaml_document_get_root_node(&ld.doc) : NULL;
	/* An empty file is an empty mapping. */
	if (root != NULL &&
	    !(root->type == YAML_SCALAR_NODE && root->data.scalar.length == 0))
		read_map(&ld, root, "the top level", top_keys, top_special,
			 ld.conf);
	/* No rule given (rules: left out or empty): the built-in default. */
	if (ld.errors == 0 && ld.conf->rules.n == 0 &&
	    ruleset_add_default(&ld.conf->rules, errf) < 0)
		ld.errors++;
	if (ld.have_doc)
		yaml_document_delete(&ld.doc);
	if (ld.errors > 0) {
		conf_free(ld.conf);
		return NULL;
	}
	/* Whichever came first in the file, the sinks size their buffers
	 * for the cap. */
	for (size_t i = 0; i < ld.conf->nsinks; i++)
		ld.conf->sinks[i].max_alert_bytes = ld.conf->max_alert_bytes;
	return ld.conf;
}
