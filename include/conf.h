/*
 * conf: the YAML configuration, loaded into a struct conf.
 *
 * conf_load() reads one file with libyaml, fills a struct conf from a
 * table of keys, then checks the whole.  Every unknown key and bad value
 * is reported as "file:line: message" on the error stream, all of them,
 * not just the first; any error makes the load fail and the caller keeps
 * what it had.  Keys left out keep their defaults, and the default rule is
 * the seed rule, so an empty file is a valid configuration.
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
#include "rule.h"

struct conf {
	enum log_level log_level;   /* log_level */
	size_t max_line_bytes;      /* limits.max_line_bytes */
	size_t max_depth;           /* limits.max_depth */
	size_t max_groups;          /* limits.max_groups */
	size_t max_values;          /* limits.max_values */
	size_t max_key_combos;      /* limits.max_key_combos */
	int64_t allowed_lateness_ms; /* window.allowed_lateness */
	int64_t late_horizon_ms;    /* window.late_horizon */
	bool replay_exact;          /* window.replay_exact */
	bool prefilter;             /* limits.prefilter */
	struct rule *rule;          /* rule, compiled */
};

/* Returns the built-in configuration (compiled seed rule). */
struct conf *conf_default(void);

/*
 * Loads and checks path.  Returns the conf, or NULL after writing every
 * error to errf.
 */
struct conf *conf_load(const char *path, FILE *errf);

void conf_free(struct conf *c);

/*
 * Parses a duration such as "30s", "5m", "250ms", "1h" into ms; a bare
 * integer is seconds.  Returns 0, or -1 if s is not a duration.
 */
int conf_duration(const char *s, int64_t *ms);

#endif
