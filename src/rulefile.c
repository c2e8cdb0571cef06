/*
 * rulefile: rule files to struct rule_meta (see rulefile.h).
 *
 * Every loader ends in rulefile_new(), which checks the fields and
 * copies them; the TOML and .esql loaders check each value first where
 * its position is known, so that their errors point into the file.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "esql.h"
#include "log.h"
#include "rulefile.h"
#include "toml.h"
#include "util.h"

/* The longest .esql file: the query, and its metadata comments. */
#define ESQL_FILE_MAX (ESQL_MAX_QUERY + 64 * 1024)
#define MAX_TAGS 1024

static const char *const severities[] = {"low", "medium", "high", "critical"};

static int
check_severity(const char *s, char *msg, size_t len)
{
	for (size_t i = 0; i < sizeof(severities) / sizeof(severities[0]); i++)
		if (strcmp(s, severities[i]) == 0)
			return 0;
	snprintf(msg, len,
		 "severity \"%s\" is not one of low, medium, high, critical",
		 s);
	return -1;
}

static int
check_risk_score(int64_t v, char *msg, size_t len)
{
	if (v >= 0 && v <= 100)
		return 0;
	snprintf(msg, len, "risk_score %lld is out of range 0..100",
		 (long long)v);
	return -1;
}

static int
check_max_signals(int64_t v, char *msg, size_t len)
{
	if (v >= 1 && v <= RULEFILE_MAX_SIGNALS)
		return 0;
	snprintf(msg, len, "max_signals %lld is out of range 1..%d",
		 (long long)v, RULEFILE_MAX_SIGNALS);
	return -1;
}

/*
 * A count then one unit letter of units[] (with its length in ms), the
 * whole of s.
 */
static int
parse_span(const char *s, const char *units, const int64_t *unit_ms,
	   int64_t *ms)
{
	const char *u;
	int64_t n = 0;

	if (*s < '0' || *s > '9')
		return -1;
	for (; *s >= '0' && *s <= '9'; s++) {
		n = n * 10 + (*s - '0');
		if (n > RULEFILE_MAX_SPAN_MS)
			return -1;
	}
	if (*s == '\0' || s[1] != '\0' || (u = strchr(units, *s)) == NULL)
		return -1;
	if (n == 0 || n > RULEFILE_MAX_SPAN_MS / unit_ms[u - units])
		return -1;
	*ms = n * unit_ms[u - units];
	return 0;
}

int
rulefile_parse_from(const char *s, int64_t *ms, char *err, size_t errlen)
{
	/* Elasticsearch date math units of a fixed length (h and H are
	 * both hours); y and M vary, and are refused. */
	static const int64_t unit_ms[] = {1000,    60000,    3600000,
					  3600000, 86400000, 7 * 86400000LL};

	if (strncmp(s, "now-", 4) == 0 &&
	    parse_span(s + 4, "smhHdw", unit_ms, ms) == 0)
		return 0;
	snprintf(err, errlen,
		 "from \"%s\" is not now-N with N above 0 and at most 366 "
		 "days, followed by s, m, h, H, d or w",
		 s);
	return -1;
}

int
rulefile_parse_interval(const char *s, int64_t *ms, char *err, size_t errlen)
{
	static const int64_t unit_ms[] = {1000, 60000, 3600000, 86400000};

	if (parse_span(s, "smhd", unit_ms, ms) == 0)
		return 0;
	snprintf(err, errlen,
		 "interval \"%s\" is not N with N above 0 and at most 366 "
		 "days, followed by s, m, h or d",
		 s);
	return -1;
}

/*
 * "PREFIX: " then the message, where PREFIX is path or
 * "path:LINE:COL" for a position (line > 0).
 */
static void fail(char *err, size_t errlen, const char *path, int line, int col,
		 const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static void
fail(char *err, size_t errlen, const char *path, int line, int col,
     const char *fmt, ...)
{
	va_list ap;
	int n;

	if (errlen == 0)
		return;
	if (path == NULL)
		path = "<rule>";
	if (line > 0)
		n = snprintf(err, errlen, "%s:%d:%d: ", path, line, col);
	else
		n = snprintf(err, errlen, "%s: ", path);
	if (n < 0 || (size_t)n >= errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
	va_end(ap);
}

void
rulefile_where(const struct rule_meta *m, int qline, int qcol, int *line,
	       int *col)
{
	*line = m->query_line + qline - 1;
	*col = qline == 1 ? m->query_col + qcol - 1 : qcol;
}

/*
 * The query's rule_id: a version 8 UUID of the XXH3 128-bit hash of its
 * canonical text.  Returns 0, or -1 with the parser's error placed in
 * the file.
 */
static int
derive_rule_id(const struct rule_fields *f, char out[37], char *err,
	       size_t errlen)
{
	struct esql_query *q;
	struct buf b = {0};
	XXH128_hash_t h;
	char qerr[256];

	q = esql_query_parse(f->query, strlen(f->query), qerr, sizeof(qerr));
	if (q == NULL) {
		struct rule_meta where = {.query_line = f->query_line,
					  .query_col = f->query_col};
		char *rest;
		long ql = strtol(qerr, &rest, 10), qc = 0;
		int line = 0, col = 0;

		if (*rest == ':')
			qc = strtol(rest + 1, &rest, 10);
		if (f->query_line > 0 && ql > 0 && qc > 0 &&
		    strncmp(rest, ": ", 2) == 0) {
			rulefile_where(&where, (int)ql, (int)qc, &line, &col);
			fail(err, errlen, f->path, line, col, "%s", rest + 2);
		} else {
			fail(err, errlen, f->path, 0, 0, "query: %s", qerr);
		}
		return -1;
	}
	esql_query_print(q, &b);
	esql_query_free(q);
	h = XXH3_128bits(b.data, b.len);
	buf_free(&b);
	uuid_v8(h.high64, h.low64, out);
	return 0;
}

static char *
dup_or_null(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

struct rule_meta *
rulefile_new(const struct rule_fields *f, char *err, size_t errlen)
{
	struct rule_meta *m;
	char msg[256], uuid[37];
	const char *rule_id = f->rule_id;
	int64_t from_ms, interval_ms;

	if (errlen > 0)
		err[0] = '\0';
	if (f->name == NULL || f->name[0] == '\0') {
		fail(err, errlen, f->path, 0, 0, "the rule has no name");
		return NULL;
	}
	if (f->query == NULL || f->query[0] == '\0') {
		fail(err, errlen, f->path, 0, 0, "rule \"%s\": no query",
		     f->name);
		return NULL;
	}
	if ((f->severity != NULL &&
	     check_severity(f->severity, msg, sizeof(msg)) == -1) ||
	    (f->risk_score != -1 &&
	     check_risk_score(f->risk_score, msg, sizeof(msg)) == -1) ||
	    (f->max_signals != 0 &&
	     check_max_signals(f->max_signals, msg, sizeof(msg)) == -1) ||
	    rulefile_parse_from(f->from ? f->from : RULEFILE_DEFAULT_FROM,
				&from_ms, msg, sizeof(msg)) == -1 ||
	    rulefile_parse_interval(f->interval ? f->interval
						: RULEFILE_DEFAULT_INTERVAL,
				    &interval_ms, msg, sizeof(msg)) == -1) {
		fail(err, errlen, f->path, 0, 0, "rule \"%s\": %s", f->name,
		     msg);
		return NULL;
	}
	if (rule_id != NULL && rule_id[0] == '\0') {
		fail(err, errlen, f->path, 0, 0, "rule \"%s\": empty rule_id",
		     f->name);
		return NULL;
	}
	if (rule_id == NULL) {
		if (derive_rule_id(f, uuid, err, errlen) == -1)
			return NULL;
		rule_id = uuid;
	}
	m = xcalloc(1, sizeof(*m));
	m->name = xstrdup(f->name);
	m->rule_id = xstrdup(rule_id);
	m->description = dup_or_null(f->description);
	m->severity =
	    xstrdup(f->severity ? f->severity : RULEFILE_DEFAULT_SEVERITY);
	m->risk_score =
	    f->risk_score != -1 ? f->risk_score : RULEFILE_DEFAULT_RISK_SCORE;
	if (f->tags != NULL)
		strlist_add_all(&m->tags, f->tags);
	m->threat = dup_or_null(f->threat);
	m->from_ms = from_ms;
	m->interval_ms = interval_ms;
	m->max_signals =
	    f->max_signals ? f->max_signals : RULEFILE_DEFAULT_MAX_SIGNALS;
	m->maturity = dup_or_null(f->maturity);
	m->query = xstrdup(f->query);
	m->path = dup_or_null(f->path);
	m->query_line = f->query_line > 0 ? f->query_line : 1;
	m->query_col = f->query_col > 0 ? f->query_col : 1;
	assert(m->risk_score >= 0 && m->risk_score <= 100);
	assert(m->max_signals >= 1 && m->max_signals <= RULEFILE_MAX_SIGNALS);
	return m;
}

void
rulefile_free(struct rule_meta *m)
{
	if (m == NULL)
		return;
	free(m->name);
	free(m->rule_id);
	free(m->description);
	free(m->severity);
	strlist_clear(&m->tags);
	free(m->threat);
	free(m->maturity);
	free(m->query);
	free(m->path);
	free(m);
}

/* What the TOML loader reads from, and where it reports. */
struct tomlctx {
	const struct toml_doc *doc;
	const struct toml_value *root;
	const char *name; /* the file */
	const char *rule; /* rule.name, once read */
	char *err;
	size_t errlen;
};

static const char *
a_type(enum toml_type t)
{
	switch (t) {
	case TOML_TABLE:
		return "a table";
	case TOML_ARRAY:
		return "an array";
	case TOML_STRING:
		return "a string";
	case TOML_INTEGER:
		return "an integer";
	case TOML_FLOAT:
		return "a float";
	case TOML_BOOL:
		return "a boolean";
	}
	return "?";
}

/* An error at value v, naming the rule once its name is known. */
static int verr(struct tomlctx *c, const struct toml_value *v, const char *fmt,
		...) __attribute__((format(printf, 3, 4)));

static int
verr(struct tomlctx *c, const struct toml_value *v, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (c->rule != NULL)
		toml_error(c->doc, v, c->err, c->errlen, "rule \"%s\": %s",
			   c->rule, msg);
	else
		toml_error(c->doc, v, c->err, c->errlen, "%s", msg);
	return -1;
}

static int
missing(struct tomlctx *c, const char *path)
{
	if (c->rule != NULL)
		fail(c->err, c->errlen, c->name, 0, 0,
		     "rule \"%s\": %s is missing", c->rule, path);
	else
		fail(c->err, c->errlen, c->name, 0, 0, "%s is missing", path);
	return -1;
}

static int
check_string(struct tomlctx *c, const struct toml_value *v, const char *path)
{
	if (v->type != TOML_STRING)
		return verr(c, v, "%s must be a string, not %s", path,
			    a_type(v->type));
	if (strlen(v->s) != v->len)
		return verr(c, v, "%s holds a NUL character", path);
	return 0;
}

/*
 * The string at path: *out is NULL if it is absent and not required.
 * Returns 0 or -1.
 */
static int
get_string(struct tomlctx *c, const char *path, bool required,
	   const struct toml_value **vp, const char **out)
{
	const struct toml_value *v = toml_get(c->root, path);

	*out = NULL;
	if (vp != NULL)
		*vp = v;
	if (v == NULL)
		return required ? missing(c, path) : 0;
	if (check_string(c, v, path) == -1)
		return -1;
	if (required && v->len == 0)
		return verr(c, v, "%s is empty", path);
	*out = v->s;
	return 0;
}

static int
get_int(struct tomlctx *c, const char *path,
	int (*check)(int64_t, char *, size_t), int *out)
{
	const struct toml_value *v = toml_get(c->root, path);
	char msg[256];

	if (v == NULL)
		return 0;
	if (v->type != TOML_INTEGER)
		return verr(c, v, "%s must be an integer, not %s", path,
			    a_type(v->type));
	if (check(v->i, msg, sizeof(msg)) == -1)
		return verr(c, v, "%s", msg);
	*out = (int)v->i;
	return 0;
}

/* rule.tags into a NULL-terminated array of borrowed strings. */
static int
get_tags(struct tomlctx *c, const char ***tags)
{
	const struct toml_value *v = toml_get(c->root, "rule.tags");

	*tags = NULL;
	if (v == NULL)
		return 0;
	if (v->type != TOML_ARRAY)
		return verr(c, v, "rule.tags must be an array, not %s",
			    a_type(v->type));
	*tags = xcalloc(v->n + 1, sizeof(**tags));
	for (size_t i = 0; i < v->n; i++) {
		if (check_string(c, v->items[i], "a tag") == -1)
			return -1;
		(*tags)[i] = v->items[i]->s;
	}
	return 0;
}

static int
get_threat(struct tomlctx *c, char **json)
{
	const struct toml_value *v = toml_get(c->root, "rule.threat");
	struct buf b = {0};

	*json = NULL;
	if (v == NULL)
		return 0;
	if (v->type != TOML_ARRAY)
		return verr(c, v,
			    "rule.threat must be an array of tables, "
			    "not %s",
			    a_type(v->type));
	for (size_t i = 0; i < v->n; i++)
		if (v->items[i]->type != TOML_TABLE)
			return verr(c, v->items[i],
				    "rule.threat must be an array of tables, "
				    "not of %ss",
				    toml_type_name(v->items[i]->type));
	toml_write_json(v, &b);
	*json = buf_cstr(&b);
	return 0;
}

static struct rule_meta *
from_toml(struct tomlctx *c)
{
	const struct toml_value *rule = toml_get(c->root, "rule"), *v, *qv;
	struct rule_fields f = {.risk_score = -1, .path = c->name};
	struct rule_meta *m = NULL;
	const char *type, *language, *to;
	const char **tags = NULL;
	char *threat = NULL;
	char msg[256];
	int64_t ms;

	if (rule == NULL || rule->type != TOML_TABLE) {
		if (rule != NULL)
			verr(c, rule, "rule must be a table, not %s",
			     a_type(rule->type));
		else
			missing(c, "the [rule] table");
		return NULL;
	}
	if (get_string(c, "rule.name", true, NULL, &f.name) == -1)
		return NULL;
	c->rule = f.name;
	if (get_string(c, "rule.type", true, &v, &type) == -1)
		return NULL;
	if (strcmp(type, "esql") != 0) {
		verr(c, v, "type \"%s\" is not supported, only esql", type);
		return NULL;
	}
	if (get_string(c, "rule.language", false, &v, &language) == -1)
		return NULL;
	if (language != NULL && strcmp(language, "esql") != 0) {
		verr(c, v, "language \"%s\" is not supported, only esql",
		     language);
		return NULL;
	}
	if (get_string(c, "rule.rule_id", true, NULL, &f.rule_id) == -1 ||
	    get_string(c, "rule.query", true, &qv, &f.query) == -1 ||
	    get_string(c, "rule.description", false, NULL, &f.description) ==
		-1 ||
	    get_string(c, "rule.severity", false, &v, &f.severity) == -1)
		return NULL;
	if (f.severity != NULL &&
	    check_severity(f.severity, msg, sizeof(msg)) == -1) {
		verr(c, v, "%s", msg);
		return NULL;
	}
	if (get_int(c, "rule.risk_score", check_risk_score, &f.risk_score) ==
		-1 ||
	    get_int(c, "rule.max_signals", check_max_signals, &f.max_signals) ==
		-1)
		return NULL;
	if (get_string(c, "rule.from", false, &v, &f.from) == -1)
		return NULL;
	if (f.from != NULL &&
	    rulefile_parse_from(f.from, &ms, msg, sizeof(msg)) == -1) {
		verr(c, v, "%s", msg);
		return NULL;
	}
	if (get_string(c, "rule.interval", false, &v, &f.interval) == -1)
		return NULL;
	if (f.interval != NULL &&
	    rulefile_parse_interval(f.interval, &ms, msg, sizeof(msg)) == -1) {
		verr(c, v, "%s", msg);
		return NULL;
	}
	if (get_string(c, "rule.to", false, &v, &to) == -1)
		return NULL;
	if (to != NULL && strcmp(to, "now") != 0) {
		verr(c, v, "to \"%s\" is not supported, only now", to);
		return NULL;
	}
	if (get_string(c, "metadata.maturity", false, NULL, &f.maturity) ==
		-1 ||
	    get_tags(c, &tags) == -1 || get_threat(c, &threat) == -1)
		goto out;
	f.tags = tags;
	f.threat = threat;
	f.query_line = qv->text_line;
	f.query_col = qv->text_col;
	m = rulefile_new(&f, c->err, c->errlen);
out:
	free(tags);
	free(threat);
	return m;
}

struct rule_meta *
rulefile_parse_toml(const char *text, size_t len, const char *name, char *err,
		    size_t errlen)
{
	struct tomlctx c = {.err = err, .errlen = errlen};
	struct toml_doc *d;
	struct rule_meta *m;

	c.name = name != NULL ? name : "<string>";
	if ((d = toml_parse(text, len, c.name, err, errlen)) == NULL)
		return NULL;
	c.doc = d;
	c.root = toml_root(d);
	m = from_toml(&c);
	toml_free(d);
	return m;
}

struct rule_meta *
rulefile_load_toml(const char *path, char *err, size_t errlen)
{
	struct tomlctx c = {.name = path, .err = err, .errlen = errlen};
	struct toml_doc *d;
	struct rule_meta *m;

	if ((d = toml_load(path, err, errlen)) == NULL)
		return NULL;
	c.doc = d;
	c.root = toml_root(d);
	m = from_toml(&c);
	toml_free(d);
	return m;
}

/* The metadata keys of a .esql file's leading comments. */
enum esql_key {
	K_NAME,
	K_RULE_ID,
	K_DESCRIPTION,
	K_SEVERITY,
	K_RISK_SCORE,
	K_TAG,
	K_FROM,
	K_INTERVAL,
	K_MAX_SIGNALS,
	K_MATURITY,
	K_COUNT,
};

static const char *const esql_keys[K_COUNT] = {
    "name", "rule_id", "description", "severity",    "risk_score",
    "tag",  "from",    "interval",    "max_signals", "maturity",
};

/* A decimal integer, the whole of s, within lo..hi. */
static int
parse_int(const char *s, int64_t lo, int64_t hi, int64_t *out)
{
	int64_t n = 0;
	bool neg = *s == '-';

	if (neg)
		s++;
	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9' || n > 1000000000)
			return -1;
		n = n * 10 + (*s - '0');
	}
	*out = neg ? -n : n;
	return *out >= lo && *out <= hi ? 0 : -1;
}

struct rule_meta *
rulefile_parse_esql(const char *text, size_t len, const char *name, char *err,
		    size_t errlen)
{
	struct rule_fields f = {.risk_score = -1};
	struct rule_meta *m = NULL;
	struct strlist tags = {0};
	char *vals[K_COUNT] = {0}, *query = NULL, *base = NULL;
	const char **tv = NULL;
	const char *p = text, *end = text + len, *nul;
	int64_t n;
	int line = 1;

	if (errlen > 0)
		err[0] = '\0';
	if (name == NULL)
		name = "<string>";
	f.path = name;
	if ((nul = memchr(text, '\0', len)) != NULL) {
		fail(err, errlen, name, 0, 0, "NUL byte at offset %zu",
		     (size_t)(nul - text));
		return NULL;
	}
	/* The leading block of blank lines and // comments. */
	for (; p < end; line++) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *bol = p, *s = p, *w, *v, *e;
		size_t k;

		if (eol == NULL)
			eol = end;
		while (s < eol && (*s == ' ' || *s == '\t' || *s == '\r'))
			s++;
		if (s < eol && (eol - s < 2 || s[0] != '/' || s[1] != '/'))
			break;
		p = eol < end ? eol + 1 : end;
		if (s == eol)
			continue;
		for (w = s + 2; w < eol && *w == ' '; w++)
			;
		for (e = w; e < eol && ((*e >= 'a' && *e <= 'z') || *e == '_');
		     e++)
			;
		if (e == w || e >= eol || *e != ':')
			continue; /* an ordinary comment */
		for (k = 0; k < K_COUNT; k++)
			if (strlen(esql_keys[k]) == (size_t)(e - w) &&
			    memcmp(esql_keys[k], w, (size_t)(e - w)) == 0)
				break;
		if (k == K_COUNT) {
			fail(err, errlen, name, line, (int)(w - bol) + 1,
			     "unknown metadata key '%.*s'", (int)(e - w), w);
			goto out;
		}
		for (v = e + 1; v < eol && (*v == ' ' || *v == '\t'); v++)
			;
		while (eol > v &&
		       (eol[-1] == ' ' || eol[-1] == '\t' || eol[-1] == '\r'))
			eol--;
		if (v == eol) {
			fail(err, errlen, name, line, (int)(w - bol) + 1,
			     "empty value for '%s'", esql_keys[k]);
			goto out;
		}
		if (k == K_TAG) {
			char *t = xstrndup(v, (size_t)(eol - v));

			if (tags.n >= MAX_TAGS) {
				fail(err, errlen, name, line, 1,
				     "more than %d tags", MAX_TAGS);
				free(t);
				goto out;
			}
			strlist_add(&tags, t);
			free(t);
			continue;
		}
		if (vals[k] != NULL) {
			fail(err, errlen, name, line, (int)(w - bol) + 1,
			     "'%s' given twice", esql_keys[k]);
			goto out;
		}
		vals[k] = xstrndup(v, (size_t)(eol - v));
	}
	if (vals[K_RISK_SCORE] != NULL) {
		if (parse_int(vals[K_RISK_SCORE], 0, 100, &n) == -1) {
			fail(err, errlen, name, 0, 0,
			     "risk_score \"%s\" is not an integer in 0..100",
			     vals[K_RISK_SCORE]);
			goto out;
		}
		f.risk_score = (int)n;
	}
	if (vals[K_MAX_SIGNALS] != NULL) {
		if (parse_int(vals[K_MAX_SIGNALS], 1, RULEFILE_MAX_SIGNALS,
			      &n) == -1) {
			fail(err, errlen, name, 0, 0,
			     "max_signals \"%s\" is not an integer in 1..%d",
			     vals[K_MAX_SIGNALS], RULEFILE_MAX_SIGNALS);
			goto out;
		}
		f.max_signals = (int)n;
	}
	if (vals[K_NAME] == NULL) {
		const char *slash = strrchr(name, '/');
		size_t bl;

		base = xstrdup(slash != NULL ? slash + 1 : name);
		bl = strlen(base);
		if (bl > 5 && strcmp(base + bl - 5, ".esql") == 0)
			base[bl - 5] = '\0';
	}
	f.name = vals[K_NAME] != NULL ? vals[K_NAME] : base;
	f.rule_id = vals[K_RULE_ID];
	f.description = vals[K_DESCRIPTION];
	f.severity = vals[K_SEVERITY];
	f.from = vals[K_FROM];
	f.interval = vals[K_INTERVAL];
	f.maturity = vals[K_MATURITY];
	tv = xcalloc(tags.n + 1, sizeof(*tv));
	for (size_t i = 0; i < tags.n; i++)
		tv[i] = tags.v[i];
	f.tags = tv;
	query = xstrndup(text, len);
	f.query = query;
	f.query_line = 1;
	f.query_col = 1;
	/* The query must parse even when rule_id is given: the file is the
	 * query, and its errors are best shown here, with its name. */
	if (f.rule_id != NULL) {
		struct rule_fields g = f;
		char uuid[37];

		g.rule_id = NULL;
		if (derive_rule_id(&g, uuid, err, errlen) == -1)
			goto out;
	}
	m = rulefile_new(&f, err, errlen);
out:
	for (size_t k = 0; k < K_COUNT; k++)
		free(vals[k]);
	strlist_clear(&tags);
	free(tv);
	free(query);
	free(base);
	return m;
}

/* The whole file, at most max bytes, NUL-terminated. */
static char *
read_file(const char *path, size_t max, size_t *len, char *err, size_t errlen)
{
	struct stat st;
	char *text;
	size_t got = 0;
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		return NULL;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		close(fd);
		return NULL;
	}
	text = xmalloc(max + 2);
	while (got <= max && (n = read(fd, text + got, max + 1 - got)) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			free(text);
			close(fd);
			return NULL;
		}
		got += (size_t)n;
	}
	close(fd);
	if (got > max) {
		snprintf(err, errlen, "%s: longer than %zu bytes", path, max);
		free(text);
		return NULL;
	}
	text[got] = '\0';
	*len = got;
	return text;
}

struct rule_meta *
rulefile_load_esql(const char *path, char *err, size_t errlen)
{
	struct rule_meta *m;
	size_t len;
	char *text;

	if ((text = read_file(path, ESQL_FILE_MAX, &len, err, errlen)) == NULL)
		return NULL;
	m = rulefile_parse_esql(text, len, path, err, errlen);
	free(text);
	return m;
}

static bool
has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && strcmp(s + n - k, suffix) == 0;
}

struct rule_meta *
rulefile_load(const char *path, char *err, size_t errlen)
{
	if (has_suffix(path, ".toml"))
		return rulefile_load_toml(path, err, errlen);
	if (has_suffix(path, ".esql"))
		return rulefile_load_esql(path, err, errlen);
	snprintf(err, errlen, "%s: a rule file ends in .toml or .esql", path);
	return NULL;
}

/*
 * glob(3)'s error callback has no argument of its own: the first
 * directory that could not be read is kept here (one thread).
 */
static char glob_failed[512];
static int glob_errno;

static int
glob_error_cb(const char *epath, int eerrno)
{
	if (glob_failed[0] == '\0') {
		snprintf(glob_failed, sizeof(glob_failed), "%s", epath);
		glob_errno = eerrno;
	}
	return 1;
}

static int
cmp_paths(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
rulefile_glob(const char *pattern, struct strlist *out, char *err,
	      size_t errlen)
{
	glob_t g;
	int rc;

	glob_failed[0] = '\0';
	rc = glob(pattern, GLOB_ERR | GLOB_NOSORT, glob_error_cb, &g);
	if (rc == GLOB_NOSPACE)
		fatalx("glob %s: out of memory", pattern);
	if (rc == GLOB_ABORTED) {
		snprintf(err, errlen, "%s: %s: %s", pattern,
			 glob_failed[0] ? glob_failed : "?",
			 strerror(glob_errno));
		globfree(&g);
		return -1;
	}
	if (rc != 0 || g.gl_pathc == 0) {
		if (strpbrk(pattern, "*?[") == NULL)
			snprintf(err, errlen, "%s: no such file", pattern);
		else
			snprintf(err, errlen, "%s: matches no file", pattern);
		globfree(&g);
		return -1;
	}
	qsort(g.gl_pathv, g.gl_pathc, sizeof(*g.gl_pathv), cmp_paths);
	for (size_t i = 0; i < g.gl_pathc; i++) {
		bool seen = false;

		for (size_t j = 0; j < out->n && !seen; j++)
			seen = strcmp(out->v[j], g.gl_pathv[i]) == 0;
		if (!seen)
			strlist_add(out, g.gl_pathv[i]);
	}
	globfree(&g);
	return 0;
}
