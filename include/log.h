/*
 * log: messages to stderr with journald "<N>" priority prefixes.
 *
 * log_warn() appends strerror(errno); log_warnx() does not.  fatal() and
 * fatalx() log at LOG_CRIT and exit(1).  Messages above the configured
 * level are dropped.  log_ratelimited() keeps one noisy call site from
 * flooding the journal: it passes at most `burst` messages per interval
 * and counts what it holds back.
 */
#ifndef BURSTD_LOG_H
#define BURSTD_LOG_H

#include <stdarg.h>
#include <stdint.h>

enum log_level {
	LOG_LVL_CRIT = 2,
	LOG_LVL_ERR = 3,
	LOG_LVL_WARNING = 4,
	LOG_LVL_NOTICE = 5,
	LOG_LVL_INFO = 6,
	LOG_LVL_DEBUG = 7,
};

#define LOG_PRINTF(a, b) __attribute__((format(printf, a, b)))

void log_init(const char *progname, enum log_level level);
void log_set_level(enum log_level level);
/* Returns 0 and sets *level, or -1 if name is not a level name. */
int log_level_parse(const char *name, enum log_level *level);

void log_warn(const char *fmt, ...) LOG_PRINTF(1, 2);
void log_warnx(const char *fmt, ...) LOG_PRINTF(1, 2);
void log_err(const char *fmt, ...) LOG_PRINTF(1, 2);
void log_info(const char *fmt, ...) LOG_PRINTF(1, 2);
void log_debug(const char *fmt, ...) LOG_PRINTF(1, 2);
_Noreturn void fatal(const char *fmt, ...) LOG_PRINTF(1, 2);
_Noreturn void fatalx(const char *fmt, ...) LOG_PRINTF(1, 2);

/*
 * A rate limiter for one call site: at most `burst` messages per
 * `interval_ms` of monotonic time.  Zero-initialise, then set the two
 * limits.
 */
struct log_ratelimit {
	uint64_t interval_ms; /* length of one interval */
	unsigned burst;       /* messages allowed per interval */
	uint64_t begin_ms;    /* start of the current interval */
	unsigned printed;     /* messages passed in this interval */
	uint64_t held;        /* messages held back since the last report */
};

/* Returns 1 if the caller may log now, 0 if it must stay quiet. */
int log_ratelimit_ok(struct log_ratelimit *rl);

#endif
