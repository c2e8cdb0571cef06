/*
 * ruleset: the ES|QL rules a configuration loads, compiled and checked.
 *
 * Rules come from files (Elastic's detection-rules TOML, with
 * `type = "esql"`, or plain .esql query text; see rulefile.h), from glob
 * patterns naming such files, or from text written inline in the
 * configuration.  Each is parsed, compiled (esql_plan.h) and checked
 * against the alert format (esqlrule_check()) when it is added, so that
 * a configuration with a rule that cannot run fails to load, with the
 * rule's source and the position of what is wrong:
 *
 *   rules/x.toml:14:9: rule "X": INLINE STATS is not supported
 *
 * (the line is the file's: a TOML rule's query lines are offset by
 * where the query starts in the file).  Two rules with the same rule_id
 * are refused.
 *
 * With no rule given, the rule that runs is the built-in default:
 * Elastic's "Suspicious Python Shell Command Execution" (rule_id
 * b42e4b88-fc4a-417b-a45e-4d4a3db9fd41), held as its detection-rules
 * TOML text (rules/suspicious_python_shell_command_execution.toml,
 * embedded at build time) and compiled like any other rule file.
 *
 * A ruleset owns its rules; ruleset_free() releases them.
 */
#ifndef BURSTD_RULESET_H
#define BURSTD_RULESET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "esql_alert.h"
#include "esql_plan.h"

struct rule_meta;

/*
 * When a rule's alerts go out: when its window closes, or as soon as
 * its condition holds (threshold; only for a rule whose condition is
 * monotone, plan->monotone, otherwise at close).  UNSET: not said here.
 */
enum alert_on {
	ALERT_ON_UNSET,
	ALERT_ON_CLOSE,
	ALERT_ON_THRESHOLD,
};

struct loaded_rule {
	char *source;                 /* the file it came from, or "inline" */
	struct rule_meta *meta;       /* what its file says */
	struct esql_plan *plan;       /* its query, compiled */
	struct esql_alert_rule alert; /* views into meta */
	size_t max_signals;           /* alerts per window */
	enum alert_on alert_on;       /* an inline rule's alert_on, or UNSET */
};

struct ruleset {
	struct loaded_rule *v;
	size_t n;
};

/*
 * Adds the rules a path names: a file, or a glob(3) pattern (which must
 * match at least one file).  Returns 0, or -1 after writing each error
 * to errf as one line; nothing is added then.
 */
int ruleset_add_path(struct ruleset *rs, const char *path, FILE *errf);

/*
 * Adds one rule from a rule file's text (TOML when toml is true, else
 * ES|QL), naming it by source in messages.
 */
int ruleset_add_text(struct ruleset *rs, const char *source, const char *text,
		     size_t len, bool toml, FILE *errf);

/* Adds a rule written inline in the configuration (rulefile.h). */
struct rule_fields;
int ruleset_add_fields(struct ruleset *rs, const struct rule_fields *f,
		       const char *source, FILE *errf);

/* The built-in default rule's TOML text, and its source in messages. */
extern const char ruleset_default_toml[];
#define RULESET_DEFAULT_SOURCE "built-in"

/*
 * Adds the built-in default rule.  Returns 0, or -1 after writing why to
 * errf (a build whose embedded rule does not compile).
 */
int ruleset_add_default(struct ruleset *rs, FILE *errf);

void ruleset_free(struct ruleset *rs);

/* "close", "threshold" (or NULL) to an alert_on; -1 if neither. */
int ruleset_alert_on_parse(const char *s, enum alert_on *out);

/*
 * Whether lr alerts early: the mode asked for is force (--alert-on) if
 * set, else the rule's own alert_on, else dflt (window.alert_on); early
 * when that is threshold and the rule is bucketed and monotone.  *how
 * is set to a one-line description of the mode and why (static, or
 * the plan's text).
 */
bool
ruleset_alerts_early(const struct loaded_rule *lr, enum alert_on dflt,
		     enum alert_on force, const char **how, const char **why);

#endif
