/*
 * nofile: counting the descriptors a configuration may need, and
 * raising RLIMIT_NOFILE for them (nofile.h).
 */
#include <inttypes.h>
#include <stdint.h>
#include <sys/resource.h>

#include "http.h"
#include "input.h"
#include "log.h"
#include "nofile.h"
#include "stats.h"

size_t
nofile_need(const struct conf *c)
{
	size_t need = NOFILE_HEADROOM;

	for (size_t i = 0; i < c->ninputs; i++) {
		switch (c->inputs[i].type) {
		case INPUT_UNIX:
			/* The listener and the spare besides the clients. */
			need += c->inputs[i].max_clients + 2;
			break;
		case INPUT_FILE:
			/* The files and a watch descriptor. */
			need += INPUT_MAX_FILES + 1;
			break;
		case INPUT_STDIN:
			break;
		}
	}
	/* A sink reopening its file holds the old one a moment. */
	need += 2 * (c->nsinks > 0 ? c->nsinks : 1);
	if (c->stats_socket != NULL)
		need += 1 + STATS_MAX_CLIENTS;
	if (c->metrics_listen != NULL)
		need += 1 + HTTP_MAX_CLIENTS;
	return need;
}

size_t
nofile_ensure(size_t need)
{
	struct rlimit rl;
	rlim_t old;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
		log_warn("getrlimit RLIMIT_NOFILE");
		return 0;
	}
	old = rl.rlim_cur;
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need) {
		rl.rlim_cur =
		    rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= need
			? (rlim_t)need
			: rl.rlim_max;
		if (rl.rlim_cur > old && setrlimit(RLIMIT_NOFILE, &rl) != 0) {
			log_warn("setrlimit RLIMIT_NOFILE %ju",
				 (uintmax_t)rl.rlim_cur);
			rl.rlim_cur = old;
		} else if (rl.rlim_cur > old) {
			log_info("descriptor limit raised from %ju to %ju: the "
				 "configuration may need %zu",
				 (uintmax_t)old, (uintmax_t)rl.rlim_cur, need);
		}
	}
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need)
		log_warnx(
		    "descriptor limit %ju (hard %ju) is below the %zu "
		    "the configuration may need (max_clients of the unix "
		    "inputs, followed files, sinks, stats clients and %d "
		    "more): clients past it are refused; raise LimitNOFILE",
		    (uintmax_t)rl.rlim_cur, (uintmax_t)rl.rlim_max, need,
		    NOFILE_HEADROOM);
	return rl.rlim_cur == RLIM_INFINITY ? SIZE_MAX : (size_t)rl.rlim_cur;
}
