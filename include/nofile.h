/*
 * nofile: the descriptors the daemon may need, against RLIMIT_NOFILE.
 *
 * A socket input may hold max_clients connections, a file input up to
 * INPUT_MAX_FILES files, each sink a connection or file, the stats
 * socket its clients; past the limit accept() and open() fail.  The
 * daemon checks at start and at each reload: it raises the soft limit
 * toward the hard one as far as the configuration needs, and warns when
 * even the hard limit falls short, naming LimitNOFILE.
 */
#ifndef BURSTD_NOFILE_H
#define BURSTD_NOFILE_H

#include <stddef.h>

#include "conf.h"

/* Descriptors for fixed needs and passing ones (checkpoints, reopens). */
#define NOFILE_HEADROOM 64
/*
 * Descriptors socket clients never take: a client whose descriptor
 * falls within this many of the soft limit is refused, so checkpoints,
 * sinks and the stats socket still find some.
 */
#define NOFILE_RESERVE 32

/* Returns how many descriptors c may need at once, at most. */
size_t nofile_need(const struct conf *c);
/*
 * Raises the soft RLIMIT_NOFILE to need if it is lower, up to the hard
 * limit, logging a raise at info and a shortfall as a warning.  Returns
 * the soft limit in force after.
 */
size_t nofile_ensure(size_t need);

#endif
