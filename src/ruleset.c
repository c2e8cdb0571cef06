/*
 * ruleset: loading, compiling and checking ES|QL rules.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "esqlrule.h"
#include "rulefile.h"
#include "ruleset.h"

/*
 * Writes a compile error: "LINE:COL: message" from the query, moved to
 * the file's line and column, as "SOURCE:LINE:COL: rule "NAME": message".
 */
static void
compile_error(const struct rule_meta *m, const char *source, const char *err,
	      FILE *errf)
{
	int qline, qcol, line, col, used = 0;

	if (sscanf(err, "%d:%d: %n", &qline, &qcol, &used) == 2 && used > 0) {
		rulefile_where(m, qline, qcol, &line, &col);
		fprintf(errf, "%s:%d:%d: rule \"%s\": %s\n", source, line, col,
			m->name, err + used);
	} else {
		fprintf(errf, "%s: rule \"%s\": %s\n", source, m->name, err);
	}
}

/* Compiles and checks m; adds it (taking m) or frees it. */
static int
add_meta(struct ruleset *rs, struct rule_meta *m, const char *source,
	 FILE *errf)
{
	char err[512];
	struct loaded_rule lr = {0};

	for (size_t i = 0; i < rs->n; i++) {
		if (strcmp(rs->v[i].meta->rule_id, m->rule_id) == 0) {
			fprintf(errf,
				"%s: rule \"%s\": rule_id %s is already used "
				"by %s\n",
				source, m->name, m->rule_id, rs->v[i].source);
			rulefile_free(m);
			return -1;
		}
	}
	lr.plan =
	    esql_plan_from_text(m->query, strlen(m->query), err, sizeof(err));
	if (lr.plan == NULL) {
		compile_error(m, source, err, errf);
		rulefile_free(m);
		return -1;
	}
	lr.meta = m;
	lr.source = xstrdup(source);
	lr.alert = (struct esql_alert_rule){
	    .name = m->name,
	    .rule_id = m->rule_id,
	    .severity = m->severity,
	    .risk_score = m->risk_score,
	    .tags = (const char *const *)m->tags.v,
	    .ntags = m->tags.n,
	    .threat = m->threat,
	};
	lr.max_signals = (size_t)m->max_signals;
	if (esqlrule_check(lr.plan, &lr.alert, err, sizeof(err)) < 0) {
		fprintf(errf, "%s: rule \"%s\": %s\n", source, m->name, err);
		esql_plan_free(lr.plan);
		rulefile_free(m);
		free(lr.source);
		return -1;
	}
	rs->v = xreallocarray(rs->v, rs->n + 1, sizeof(*rs->v));
	rs->v[rs->n++] = lr;
	return 0;
}

int
ruleset_add_path(struct ruleset *rs, const char *path, FILE *errf)
{
	struct strlist files = {0};
	char err[512];
	size_t before = rs->n;
	int rc = 0;

	if (rulefile_glob(path, &files, err, sizeof(err)) < 0) {
		fprintf(errf, "%s\n", err);
		return -1;
	}
	for (size_t i = 0; i < files.n; i++) {
		struct rule_meta *m =
		    rulefile_load(files.v[i], err, sizeof(err));
		if (m == NULL) {
			fprintf(errf, "%s\n", err);
			rc = -1;
			continue;
		}
		if (add_meta(rs, m, files.v[i], errf) < 0)
			rc = -1;
	}
	strlist_clear(&files);
	if (rc < 0) {
		/* All or nothing: drop what this path added. */
		struct ruleset tail = {.v = rs->v + before,
				       .n = rs->n - before};
		for (size_t i = 0; i < tail.n; i++) {
			esql_plan_free(tail.v[i].plan);
			rulefile_free(tail.v[i].meta);
			free(tail.v[i].source);
		}
		rs->n = before;
	}
	return rc;
}

int
ruleset_add_text(struct ruleset *rs, const char *source, const char *text,
		 size_t len, bool toml, FILE *errf)
{
	char err[512];
	struct rule_meta *m =
	    toml ? rulefile_parse_toml(text, len, source, err, sizeof(err))
		 : rulefile_parse_esql(text, len, source, err, sizeof(err));

	if (m == NULL) {
		fprintf(errf, "%s\n", err);
		return -1;
	}
	return add_meta(rs, m, source, errf);
}

int
ruleset_add_fields(struct ruleset *rs, const struct rule_fields *f,
		   const char *source, FILE *errf)
{
	char err[512];
	struct rule_meta *m = rulefile_new(f, err, sizeof(err));

	if (m == NULL) {
		size_t n = f->path != NULL ? strlen(f->path) : 0;

		/*
		 * err names f->path already: with the query's line and column
		 * it stands as it is; without them the rule's own line
		 * (source) takes the file's place.
		 */
		if (n > 0 && strncmp(err, f->path, n) == 0 && err[n] == ':' &&
		    err[n + 1] >= '0' && err[n + 1] <= '9')
			fprintf(errf, "%s\n", err);
		else if (n > 0 && strncmp(err, f->path, n) == 0 &&
			 err[n] == ':')
			fprintf(errf, "%s:%s\n", source, err + n + 1);
		else
			fprintf(errf, "%s: %s\n", source, err);
		return -1;
	}
	return add_meta(rs, m, source, errf);
}

int
ruleset_add_default(struct ruleset *rs, FILE *errf)
{
	return ruleset_add_text(rs, RULESET_DEFAULT_SOURCE,
				ruleset_default_toml,
				strlen(ruleset_default_toml), true, errf);
}

void
ruleset_free(struct ruleset *rs)
{
	for (size_t i = 0; i < rs->n; i++) {
		esql_plan_free(rs->v[i].plan);
		rulefile_free(rs->v[i].meta);
		free(rs->v[i].source);
	}
	free(rs->v);
	rs->v = NULL;
	rs->n = 0;
}

int
ruleset_alert_on_parse(const char *s, enum alert_on *out)
{
	if (strcmp(s, "close") == 0)
		*out = ALERT_ON_CLOSE;
	else if (strcmp(s, "threshold") == 0)
		*out = ALERT_ON_THRESHOLD;
	else
		return -1;
	return 0;
}

bool
ruleset_alerts_early(const struct loaded_rule *lr, enum alert_on dflt,
		     enum alert_on force, const char **how, const char **why)
{
	const struct esql_plan *p = lr->plan;
	enum alert_on m = force;
	const char *by = "--alert-on";

	if (m == ALERT_ON_UNSET) {
		m = lr->alert_on;
		by = "the rule's alert_on";
	}
	if (m == ALERT_ON_UNSET) {
		m = dflt;
		by = "window.alert_on";
	}
	*why = by;
	if (p->shape == ESQL_SHAPE_FILTER) {
		*how = "an alert per matching event, at once";
		*why = "no STATS";
		return false;
	}
	if (m != ALERT_ON_THRESHOLD) {
		*how = "alert_on close: alerts when the window closes";
		return false;
	}
	if (!p->monotone) {
		*how = "alert_on threshold, unsound for this rule: alerts when "
		       "the window closes";
		*why = p->why;
		return false;
	}
	*how = "alert_on threshold: alerts early, as soon as a group's "
	       "condition holds";
	*why = p->why;
	return true;
}
