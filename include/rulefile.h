/*
 * rulefile: a rule's metadata and ES|QL text, read from Elastic's
 * detection-rules TOML files or from plain .esql query files.
 *
 * A TOML rule file has a [rule] table with type = "esql" and
 * language = "esql" (anything else is refused by name), name, rule_id
 * and query (required), and optionally description, severity (low,
 * medium, high, critical; default medium), risk_score (0..100; default
 * 47), tags, threat (an array of tables, kept as JSON text), from
 * ("now-9m": date math of the form now-N followed by s, m, h, H, d or w;
 * default now-6m, as detection-rules and Kibana assume), to (only "now"
 * is accepted), interval ("5m": N followed by s, m, h or d; default 5m)
 * and max_signals (1..RULEFILE_MAX_SIGNALS; default 100); [metadata]
 * gives maturity.  Every other key is ignored, but the whole file must
 * be valid TOML.
 *
 * A .esql file is one query.  Its leading lines, before the first line
 * that is neither blank nor a // comment, may carry metadata as
 * "// key: value" with key one of name, rule_id, description, severity,
 * risk_score, tag (once per tag), from, interval, max_signals and
 * maturity; any other lower-case word followed by ':' there is an
 * unknown key, refused, so that a misspelt key is not silently lost.
 * Without them, name is the file's base name less ".esql", severity
 * medium, risk_score 47, and rule_id a UUID (version 8) made from the
 * XXH3 128-bit hash of the query's canonical text (esql_query_print()),
 * so that reformatting or commenting the query keeps its rule_id.  The
 * query must parse (esql.h) for that; a .esql file that does not is
 * refused with the position in the file.
 *
 * Errors are "FILE:LINE:COL: message" where there is a position, else
 * "FILE: message".
 *
 * Memory: a struct rule_meta owns all its strings; rulefile_free()
 * releases them.
 */
#ifndef BURSTD_RULEFILE_H
#define BURSTD_RULEFILE_H

#include <stddef.h>
#include <stdint.h>

#include "strlist.h"

#define RULEFILE_DEFAULT_SEVERITY "medium"
#define RULEFILE_DEFAULT_RISK_SCORE 47
#define RULEFILE_DEFAULT_FROM "now-6m"
#define RULEFILE_DEFAULT_INTERVAL "5m"
#define RULEFILE_DEFAULT_MAX_SIGNALS 100
#define RULEFILE_MAX_SIGNALS 10000
/* The longest look-back or interval accepted: 366 days. */
#define RULEFILE_MAX_SPAN_MS (366LL * 24 * 3600 * 1000)

struct rule_meta {
	char *name;          /* rule.name */
	char *rule_id;       /* rule.rule_id */
	char *description;   /* rule.description, or NULL */
	char *severity;      /* low, medium, high or critical */
	int risk_score;      /* 0..100 */
	struct strlist tags; /* rule.tags */
	char *threat;        /* rule.threat as a JSON array, or NULL */
	int64_t from_ms;     /* look-back of one run: "now-9m" is 540000 */
	int64_t interval_ms; /* time between runs */
	int max_signals;     /* alerts per run at most */
	char *maturity;      /* metadata.maturity, or NULL */
	char *query;         /* the ES|QL text */
	char *path;          /* the file it came from, or NULL */
	int query_line;      /* where the query's first character is in the */
	int query_col;       /* file: 1-based line and column (bytes) */
};

/*
 * Fields read elsewhere (a rule written inline in the YAML
 * configuration), all borrowed.  NULL strings and zero numbers take the
 * defaults above; rule_id NULL derives it from the query as for .esql
 * files, and then the query must parse.
 */
struct rule_fields {
	const char *name;          /* required */
	const char *rule_id;       /* or NULL */
	const char *description;   /* or NULL */
	const char *severity;      /* or NULL */
	int risk_score;            /* -1 for the default */
	const char *const *tags;   /* NULL-terminated, or NULL */
	const char *threat;        /* JSON array text, or NULL */
	const char *from;          /* "now-9m", or NULL */
	const char *interval;      /* "5m", or NULL */
	int max_signals;           /* 0 for the default */
	const char *maturity;      /* or NULL */
	const char *query;         /* required */
	const char *path;          /* where it was written, or NULL */
	int query_line, query_col; /* its position there, or 0 */
};

/*
 * Each returns a new struct rule_meta, which the caller frees with
 * rulefile_free(), or NULL with the reason in err (errlen bytes).
 */
/* A detection-rules TOML file. */
struct rule_meta *
rulefile_load_toml(const char *path, char *err, size_t errlen);
/*
 * The same from len bytes of text; name stands for the file in errors
 * (NULL for "<string>") and becomes the rule's path.
 */
struct rule_meta *
rulefile_parse_toml(const char *text, size_t len, const char *name, char *err,
		    size_t errlen);
/* A .esql file. */
struct rule_meta *
rulefile_load_esql(const char *path, char *err, size_t errlen);
/*
 * The same from text; name gives the default rule name and errors
 * (NULL stands for "<string>").
 */
struct rule_meta *
rulefile_parse_esql(const char *text, size_t len, const char *name, char *err,
		    size_t errlen);
/* By extension: .toml or .esql. */
struct rule_meta *rulefile_load(const char *path, char *err, size_t errlen);
/* From fields already read; checked as the loaders check them. */
struct rule_meta *
rulefile_new(const struct rule_fields *f, char *err, size_t errlen);
void rulefile_free(struct rule_meta *m);

/*
 * Where a position in the query (LINE:COL of an ES|QL error) is in the
 * file.  Exact for .esql files and for TOML literal strings (''' or ');
 * in a basic string, escapes before the position shift the column.
 */
void rulefile_where(const struct rule_meta *m, int qline, int qcol, int *line,
		    int *col);

/*
 * "now-9m" to 540000, "5m" to 300000.  Return 0, or -1 with the reason
 * in err.
 */
int rulefile_parse_from(const char *s, int64_t *ms, char *err, size_t errlen);
int
rulefile_parse_interval(const char *s, int64_t *ms, char *err, size_t errlen);

/*
 * Appends to out, sorted, the paths that pattern (glob(3)) matches,
 * leaving out those out already holds.  Returns 0, or -1 with
 * "PATTERN: reason" in err when nothing matches or a directory cannot
 * be read.
 */
int rulefile_glob(const char *pattern, struct strlist *out, char *err,
		  size_t errlen);

#endif
