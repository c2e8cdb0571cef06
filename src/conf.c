/*
 * conf: libyaml document -> struct conf, table-driven.
 *
 * The file is loaded as a libyaml document (nodes keep their line), then
 * walked: each mapping has a table of {key, type, offset, min, max}
 * entries for its scalars, and a few keys (the rule's lists) have their
 * own readers.  Errors are collected, not fatal, so one run reports all.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "conf.h"
#include "util.h"

enum ktype {
	K_SIZE,     /* size_t within [min, max] */
	K_INT,      /* int within [min, max] */
	K_DURATION, /* int64_t ms within [min, max] */
	K_BOOL,     /* bool */
	K_STRING,   /* char *, owned */
	K_LOGLEVEL, /* enum log_level */
	K_U64,      /* uint64_t within [min, max] */
};

struct key {
	const char *name; /* YAML key */
	enum ktype type;  /* how to read the value */
	size_t offset;    /* where in the target struct */
	long long min;    /* smallest accepted */
	long long max;    /* largest accepted */
};

struct loader {
	const char *path;     /* for messages */
	FILE *errf;           /* where messages go */
	yaml_document_t doc;  /* the parsed file */
	int errors;           /* messages written */
	struct conf *conf;    /* being filled */
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
read_scalar(struct loader *ld, const struct key *k, yaml_node_t *v,
    void *base)
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
			err_at(ld, v, "%s: expected an integer in [%lld, %lld], "
			    "got \"%s\"", k->name, k->min, k->max, s);
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
			err_at(ld, v, "%s: expected a duration such as 30s, 5m "
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
	case K_LOGLEVEL:
		if (log_level_parse(s, (enum log_level *)p) < 0)
			err_at(ld, v, "%s: expected one of crit, err, warning, "
			    "notice, info, debug, got \"%s\"", k->name, s);
		break;
	}
}

/* A mapping's custom readers: return 1 if the key was handled. */
typedef int special_fn(struct loader *ld, const char *key, yaml_node_t *v,
    void *base);

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
		yaml_node_t *kn = node(ld, pair->key), *vn = node(ld, pair->value);
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

/* rule.filter: a list of {field, in|prefix|any: [..], ignore_case}. */
static void
read_filter(struct loader *ld, yaml_node_t *v, struct rule *r)
{
	yaml_node_item_t *it;

	if (v->type != YAML_SEQUENCE_NODE) {
		err_at(ld, v, "filter: expected a list of clauses");
		return;
	}
	for (size_t i = 0; i < r->nclauses; i++) {
		free(r->clauses[i].field);
		strlist_clear(&r->clauses[i].values);
	}
	r->nclauses = 0;
	for (it = v->data.sequence.items.start; it < v->data.sequence.items.top;
	     it++) {
		yaml_node_t *cn = node(ld, *it);
		yaml_node_pair_t *p;
		struct clause c = {0};
		int ops = 0;

		if (cn->type != YAML_MAPPING_NODE) {
			err_at(ld, cn, "filter: each clause is a mapping");
			continue;
		}
		for (p = cn->data.mapping.pairs.start;
		     p < cn->data.mapping.pairs.top; p++) {
			yaml_node_t *kn = node(ld, p->key), *vn = node(ld, p->value);
			const char *k = scalar(kn), *s = scalar(vn);
			if (k == NULL) {
				err_at(ld, kn, "filter: keys must be scalars");
			} else if (strcmp(k, "field") == 0) {
				if (s == NULL || *s == '\0')
					err_at(ld, vn, "filter: field must be "
					    "a field name");
				else {
					free(c.field);
					c.field = xstrdup(s);
				}
			} else if (strcmp(k, "in") == 0 ||
			    strcmp(k, "prefix") == 0 || strcmp(k, "any") == 0) {
				c.op = k[0] == 'i' ? CLAUSE_IN
				    : k[0] == 'p' ? CLAUSE_PREFIX : CLAUSE_ANY;
				ops++;
				read_list(ld, vn, k, &c.values);
			} else if (strcmp(k, "ignore_case") == 0) {
				struct key bk = {"ignore_case", K_BOOL,
				    offsetof(struct clause, ignore_case), 0, 1};
				read_scalar(ld, &bk, vn, &c);
			} else {
				err_at(ld, kn, "unknown key \"%s\" in a filter "
				    "clause (field, in, prefix, any, "
				    "ignore_case)", k);
			}
		}
		if (c.field == NULL)
			err_at(ld, cn, "filter: clause has no field");
		if (ops != 1)
			err_at(ld, cn, "filter: clause needs exactly one of "
			    "in, prefix, any");
		else if (c.values.n == 0)
			err_at(ld, cn, "filter: clause has no values");
		r->clauses = xreallocarray(r->clauses, r->nclauses + 1,
		    sizeof(*r->clauses));
		r->clauses[r->nclauses++] = c;
	}
}

/* rule.labels: a list of {label, contains: [..]}. */
static void
read_labels(struct loader *ld, yaml_node_t *v, struct rule *r)
{
	yaml_node_item_t *it;

	if (v->type != YAML_SEQUENCE_NODE) {
		err_at(ld, v, "labels: expected a list");
		return;
	}
	for (size_t i = 0; i < r->nlabels; i++) {
		free(r->labels[i].name);
		strlist_clear(&r->labels[i].contains);
	}
	r->nlabels = 0;
	for (it = v->data.sequence.items.start; it < v->data.sequence.items.top;
	     it++) {
		yaml_node_t *ln = node(ld, *it);
		yaml_node_pair_t *p;
		struct label l = {0};

		if (ln->type != YAML_MAPPING_NODE) {
			err_at(ld, ln, "labels: each label is a mapping");
			continue;
		}
		for (p = ln->data.mapping.pairs.start;
		     p < ln->data.mapping.pairs.top; p++) {
			yaml_node_t *kn = node(ld, p->key), *vn = node(ld, p->value);
			const char *k = scalar(kn), *s = scalar(vn);
			if (k != NULL && strcmp(k, "label") == 0 && s != NULL &&
			    *s != '\0') {
				free(l.name);
				l.name = xstrdup(s);
			} else if (k != NULL && strcmp(k, "contains") == 0) {
				read_list(ld, vn, "contains", &l.contains);
			} else {
				err_at(ld, kn, "labels: expected label: NAME "
				    "and contains: [..]");
			}
		}
		if (l.name == NULL || l.contains.n == 0)
			err_at(ld, ln, "labels: each label needs a name and "
			    "at least one substring");
		if (r->nlabels == RULE_MAX_LABELS) {
			err_at(ld, ln, "labels: at most %d", RULE_MAX_LABELS);
			free(l.name);
			strlist_clear(&l.contains);
			continue;
		}
		r->labels = xreallocarray(r->labels, r->nlabels + 1,
		    sizeof(*r->labels));
		r->labels[r->nlabels++] = l;
	}
}

/* rule.values: a list of {column, field}. */
static void
read_values(struct loader *ld, yaml_node_t *v, struct rule *r)
{
	yaml_node_item_t *it;

	if (v->type != YAML_SEQUENCE_NODE) {
		err_at(ld, v, "values: expected a list");
		return;
	}
	for (size_t i = 0; i < r->nvalues; i++) {
		free(r->values[i].column);
		free(r->values[i].field);
	}
	r->nvalues = 0;
	for (it = v->data.sequence.items.start; it < v->data.sequence.items.top;
	     it++) {
		yaml_node_t *vn = node(ld, *it);
		static const struct key keys[] = {
			{"column", K_STRING, offsetof(struct value_col, column),
			    0, 0},
			{"field", K_STRING, offsetof(struct value_col, field),
			    0, 0},
			{NULL, 0, 0, 0, 0},
		};
		struct value_col col = {0};
		read_map(ld, vn, "a values entry", keys, NULL, &col);
		if (col.column == NULL || col.field == NULL) {
			err_at(ld, vn, "values: each entry needs column and "
			    "field");
		} else if (r->nvalues == RULE_MAX_VALUES) {
			err_at(ld, vn, "values: at most %d", RULE_MAX_VALUES);
		} else {
			r->values[r->nvalues++] = col;
			continue;
		}
		free(col.column);
		free(col.field);
	}
}

static int
rule_special(struct loader *ld, const char *key, yaml_node_t *v, void *base)
{
	struct rule *r = base;
	struct strlist l = {0};

	if (strcmp(key, "filter") == 0) {
		read_filter(ld, v, r);
	} else if (strcmp(key, "labels") == 0) {
		read_labels(ld, v, r);
	} else if (strcmp(key, "values") == 0) {
		read_values(ld, v, r);
	} else if (strcmp(key, "tags") == 0) {
		read_list(ld, v, "tags", &r->tags);
	} else if (strcmp(key, "group_by") == 0) {
		if (read_list(ld, v, "group_by", &l) == 0) {
			if (l.n == 0 || l.n > RULE_MAX_GROUP) {
				err_at(ld, v, "group_by: 1 to %d fields",
				    RULE_MAX_GROUP);
			} else {
				for (size_t i = 0; i < r->ngroup; i++)
					free(r->group_by[i]);
				for (size_t i = 0; i < l.n; i++)
					r->group_by[i] = xstrdup(l.v[i]);
				r->ngroup = l.n;
			}
		}
		strlist_clear(&l);
	} else {
		return 0;
	}
	return 1;
}

#define RK(name, type, field, min, max)                                       \
	{name, type, offsetof(struct rule, field), min, max}

static const struct key rule_keys[] = {
	RK("name", K_STRING, name, 0, 0),
	RK("rule_id", K_STRING, rule_id, 0, 0),
	RK("severity", K_STRING, severity, 0, 0),
	RK("risk_score", K_INT, risk_score, 0, 100),
	RK("time_field", K_STRING, time_field, 0, 0),
	RK("window", K_DURATION, window_ms, 1000, 24LL * 3600 * 1000),
	RK("window_column", K_STRING, window_column, 0, 0),
	RK("watermark_by", K_STRING, watermark_by, 0, 0),
	RK("label_field", K_STRING, label_field, 0, 0),
	RK("default_label", K_STRING, default_label, 0, 0),
	RK("labels_column", K_STRING, labels_column, 0, 0),
	RK("distinct_field", K_STRING, distinct_field, 0, 0),
	RK("distinct_column", K_STRING, distinct_column, 0, 0),
	RK("min_distinct", K_U64, min_distinct, 1, 1000000),
	RK("min_labels", K_U64, min_labels, 1, RULE_MAX_LABELS + 1),
	RK("max_alerts", K_SIZE, max_alerts, 1, 1000000),
	{NULL, 0, 0, 0, 0},
};

#define CK(name, type, field, min, max)                                       \
	{name, type, offsetof(struct conf, field), min, max}

static const struct key limits_keys[] = {
	CK("max_line_bytes", K_SIZE, max_line_bytes, 1024, 1LL << 30),
	CK("max_depth", K_SIZE, max_depth, 2, 10000),
	CK("max_groups", K_SIZE, max_groups, 1, 1LL << 32),
	CK("max_state_bytes", K_SIZE, max_state_bytes, 1 << 20, 1LL << 40),
	CK("max_values", K_SIZE, max_values, 1, 1LL << 24),
	CK("max_key_combos", K_SIZE, max_key_combos, 1, 1LL << 16),
	CK("prefilter", K_BOOL, prefilter, 0, 1),
	{NULL, 0, 0, 0, 0},
};

static const struct key daemon_keys[] = {
	CK("tick_interval", K_DURATION, tick_ms, 10, 60 * 1000),
	CK("stats_interval", K_DURATION, stats_ms, 0, 24LL * 3600 * 1000),
	CK("stats_socket", K_STRING, stats_socket, 0, 0),
	CK("state_dir", K_STRING, state_dir, 0, 0),
	CK("checkpoint_interval", K_DURATION, checkpoint_ms, 100,
	    3600 * 1000),
	{NULL, 0, 0, 0, 0},
};

#define IK(name, type, field, min, max)                                       \
	{name, type, offsetof(struct input_conf, field), min, max}

static const struct key input_keys[] = {
	IK("rescan_interval", K_DURATION, rescan_ms, 100, 3600 * 1000),
	IK("poll_interval", K_DURATION, poll_ms, 10, 3600 * 1000),
	IK("path", K_STRING, path, 0, 0),
	IK("max_clients", K_SIZE, max_clients, 1, 65536),
	{NULL, 0, 0, 0, 0},
};

#define SK(name, type, field, min, max)                                       \
	{name, type, offsetof(struct sink_conf, field), min, max}

static const struct key sink_keys[] = {
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
			err_at(ld, v, "mode: expected an octal file mode such "
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
		struct input_conf ic = {
			.rescan_ms = 10000, .poll_ms = 1000, .mode = 0660,
			.max_clients = 1024,
		};
		const char *type;

		if (n->type != YAML_MAPPING_NODE) {
			err_at(ld, n, "inputs: each input is a mapping");
			continue;
		}
		type = entry_type(ld, n);
		if (type == NULL) {
			err_at(ld, n, "inputs: input has no type (file, unix, "
			    "stdin)");
			continue;
		} else if (strcmp(type, "file") == 0) {
			ic.type = INPUT_FILE;
		} else if (strcmp(type, "unix") == 0) {
			ic.type = INPUT_UNIX;
		} else if (strcmp(type, "stdin") == 0) {
			ic.type = INPUT_STDIN;
		} else {
			err_at(ld, n, "inputs: unknown type \"%s\" (file, "
			    "unix, stdin)", type);
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
	return strcmp(key, "type") == 0;
}

static void
read_sinks(struct loader *ld, yaml_node_t *v, struct conf *c)
{
	static const char *const names[] = {
		[SINK_STDOUT] = "stdout", [SINK_FILE] = "file",
		[SINK_UNIX] = "unix", [SINK_UNIX_DGRAM] = "unix_dgram",
		[SINK_TCP] = "tcp",
	};

	if (v->type != YAML_SEQUENCE_NODE) {
		err_at(ld, v, "sinks: expected a list");
		return;
	}
	for (yaml_node_item_t *it = v->data.sequence.items.start;
	     it < v->data.sequence.items.top; it++) {
		yaml_node_t *n = node(ld, *it);
		struct sink_conf sc = {
			.queue_max = 10000, .backoff_min_ms = 100,
			.backoff_max_ms = 30000,
		};
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
			err_at(ld, n, "sinks: type must be one of stdout, file, "
			    "unix, unix_dgram, tcp");
			continue;
		}
		sc.type = (enum sink_type)t;
		read_map(ld, n, "a sink", sink_keys, sink_special, &sc);
		if ((sc.type == SINK_FILE || sc.type == SINK_UNIX ||
			sc.type == SINK_UNIX_DGRAM) && sc.path == NULL)
			err_at(ld, n, "%s sink: path is required", type);
		if (sc.type == SINK_TCP && (sc.host == NULL || sc.port == 0)) {
			err_at(ld, n, "tcp sink: host and port are required");
		} else if (sc.type == SINK_TCP) {
			unsigned char addr[sizeof(struct in6_addr)];
			if (inet_pton(AF_INET, sc.host, addr) != 1 &&
			    inet_pton(AF_INET6, sc.host, addr) != 1)
				err_at(ld, n, "tcp sink: host must be an IPv4 or "
				    "IPv6 address, got \"%s\"", sc.host);
		}
		if (sc.backoff_min_ms > sc.backoff_max_ms)
			err_at(ld, n, "%s sink: backoff_min exceeds backoff_max",
			    type);
		c->sinks = xreallocarray(c->sinks, c->nsinks + 1,
		    sizeof(*c->sinks));
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
	{NULL, 0, 0, 0, 0},
};

static const struct key top_keys[] = {
	CK("log_level", K_LOGLEVEL, log_level, 0, 0),
	{NULL, 0, 0, 0, 0},
};

static int
top_special(struct loader *ld, const char *key, yaml_node_t *v, void *base)
{
	struct conf *c = base;

	if (strcmp(key, "limits") == 0)
		read_map(ld, v, "limits", limits_keys, NULL, c);
	else if (strcmp(key, "window") == 0)
		read_map(ld, v, "window", window_keys, NULL, c);
	else if (strcmp(key, "daemon") == 0)
		read_map(ld, v, "daemon", daemon_keys, NULL, c);
	else if (strcmp(key, "inputs") == 0)
		read_inputs(ld, v, c);
	else if (strcmp(key, "sinks") == 0)
		read_sinks(ld, v, c);
	else if (strcmp(key, "rule") == 0)
		read_map(ld, v, "rule", rule_keys, rule_special, c->rule);
	else
		return 0;
	return 1;
}

struct conf *
conf_default(void)
{
	struct conf *c = xcalloc(1, sizeof(*c));
	char err[256];

	c->log_level = LOG_LVL_INFO;
	c->max_line_bytes = 1 << 20;
	c->max_depth = 64;
	c->max_groups = 1000000;
	c->max_state_bytes = 256u << 20;
	c->max_values = 1000;
	c->max_key_combos = 64;
	c->allowed_lateness_ms = 30 * 1000;
	c->late_horizon_ms = 5 * 60 * 1000;
	c->replay_exact = true;
	c->prefilter = true;
	c->idle_close_ms = 2 * 60 * 1000;
	c->max_future_ms = 5 * 60 * 1000;
	c->tick_ms = 1000;
	c->stats_ms = 60 * 1000;
	c->checkpoint_ms = 5 * 1000;
	c->rule = rule_default();
	if (rule_compile(c->rule, err, sizeof(err)) < 0)
		fatalx("built-in rule: %s", err);
	return c;
}

void
conf_free(struct conf *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->ninputs; i++) {
		strlist_clear(&c->inputs[i].paths);
		free(c->inputs[i].path);
	}
	free(c->inputs);
	for (size_t i = 0; i < c->nsinks; i++) {
		free(c->sinks[i].path);
		free(c->sinks[i].host);
	}
	free(c->sinks);
	free(c->stats_socket);
	free(c->state_dir);
	rule_free(c->rule);
	free(c);
}

struct conf *
conf_load(const char *path, FILE *errf)
{
	struct loader ld = {.path = path, .errf = errf};
	yaml_parser_t parser;
	yaml_node_t *root;
	FILE *f;
	char err[256];

	if ((f = fopen(path, "r")) == NULL) {
		fprintf(errf, "%s: %s\n", path, strerror(errno));
		return NULL;
	}
	if (!yaml_parser_initialize(&parser))
		fatalx("yaml_parser_initialize");
	yaml_parser_set_input_file(&parser, f);
	if (!yaml_parser_load(&parser, &ld.doc)) {
		fprintf(errf, "%s:%zu: YAML syntax error: %s%s%s%s\n", path,
		    parser.problem_mark.line + 1,
		    parser.problem ? parser.problem : "unknown",
		    parser.context ? " (" : "",
		    parser.context ? parser.context : "",
		    parser.context ? ")" : "");
		yaml_parser_delete(&parser);
		fclose(f);
		return NULL;
	}
	yaml_parser_delete(&parser);
	fclose(f);

	ld.conf = conf_default();
	root = yaml_document_get_root_node(&ld.doc);
	/* An empty file is an empty mapping. */
	if (root != NULL && !(root->type == YAML_SCALAR_NODE &&
				root->data.scalar.length == 0))
		read_map(&ld, root, "the top level", top_keys, top_special,
		    ld.conf);
	if (ld.errors == 0 && rule_compile(ld.conf->rule, err,
				  sizeof(err)) < 0) {
		fprintf(errf, "%s:%zu: rule: %s\n", path,
		    root ? root->start_mark.line + 1 : (size_t)1, err);
		ld.errors++;
	}
	yaml_document_delete(&ld.doc);
	if (ld.errors > 0) {
		conf_free(ld.conf);
		return NULL;
	}
	return ld.conf;
}
