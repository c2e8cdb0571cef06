/*
 * log: stderr with "<N>" prefixes, which journald turns into priorities
 * when the daemon runs under systemd.  One line per message, written with
 * a single write(2) so concurrent writers to the same pipe never
 * interleave within a line.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static const char *log_progname = "burstd";
static enum log_level log_level = LOG_LVL_INFO;

static const char *const level_names[] = {
    [LOG_LVL_CRIT] = "crit",       [LOG_LVL_ERR] = "err",
    [LOG_LVL_WARNING] = "warning", [LOG_LVL_NOTICE] = "notice",
    [LOG_LVL_INFO] = "info",       [LOG_LVL_DEBUG] = "debug",
};

void
log_init(const char *progname, enum log_level level)
{
	if (progname != NULL)
		log_progname = progname;
	log_level = level;
}

void
log_set_level(enum log_level level)
{
	log_level = level;
}

int
log_level_parse(const char *name, enum log_level *level)
{
	for (int i = LOG_LVL_CRIT; i <= LOG_LVL_DEBUG; i++) {
		if (strcmp(name, level_names[i]) == 0) {
			*level = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

static void vlog(enum log_level level, int errnum, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

static void
vlog(enum log_level level, int errnum, const char *fmt, va_list ap)
{
	char line[2048];
	int n, m;

	if (level > log_level)
		return;
	n = snprintf(line, sizeof(line), "<%d>%s: ", (int)level, log_progname);
	if (n < 0 || (size_t)n >= sizeof(line))
		return;
	m = vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	if (m < 0)
		return;
	n = (size_t)(n + m) < sizeof(line) ? n + m : (int)sizeof(line) - 1;
	if (errnum != 0) {
		m = snprintf(line + n, sizeof(line) - (size_t)n, ": %s",
			     strerror(errnum));
		if (m > 0)
			n = (size_t)(n + m) < sizeof(line)
				? n + m
				: (int)sizeof(line) - 1;
	}
	if ((size_t)n >= sizeof(line) - 1)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	(void)!write(STDERR_FILENO, line, (size_t)n);
}

#define LOG_BODY(level, errnum)               \
	do {                                  \
		va_list ap;                   \
		va_start(ap, fmt);            \
		vlog(level, errnum, fmt, ap); \
		va_end(ap);                   \
	} while (0)

void
log_warn(const char *fmt, ...)
{
	int saved = errno;
	LOG_BODY(LOG_LVL_WARNING, saved);
	errno = saved;
}

void
log_warnx(const char *fmt, ...)
{
	LOG_BODY(LOG_LVL_WARNING, 0);
}

void
log_err(const char *fmt, ...)
{
	LOG_BODY(LOG_LVL_ERR, 0);
}

void
log_info(const char *fmt, ...)
{
	LOG_BODY(LOG_LVL_INFO, 0);
}

void
log_debug(const char *fmt, ...)
{
	LOG_BODY(LOG_LVL_DEBUG, 0);
}

void
fatal(const char *fmt, ...)
{
	int saved = errno;
	LOG_BODY(LOG_LVL_CRIT, saved);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	LOG_BODY(LOG_LVL_CRIT, 0);
	exit(1);
}

/* Monotonic milliseconds (log sits below util, so it reads its own). */
static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int
log_ratelimit_ok(struct log_ratelimit *rl)
{
	uint64_t now = now_ms();

	if (rl->begin_ms == 0 || now - rl->begin_ms >= rl->interval_ms) {
		if (rl->held > 0)
			log_warnx("%llu similar messages suppressed",
				  (unsigned long long)rl->held);
		rl->begin_ms = now;
		rl->printed = 0;
		rl->held = 0;
	}
	if (rl->printed < rl->burst) {
		rl->printed++;
		return 1;
	}
	rl->held++;
	return 0;
}
