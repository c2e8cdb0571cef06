/*
 * sockpath: the file of a listening Unix socket, for the socket input
 * and the stats socket alike.
 *
 * sockpath_bind() makes room at the path and binds there.  A socket left
 * by a dead process is replaced: it is unlinked only if it is a socket
 * and a non-blocking connect to it is refused (ECONNREFUSED).  Anything
 * else is left alone and the bind refused: a file that is not a socket,
 * a socket someone accepts on, and a socket the connect cannot judge
 * (EACCES: a live socket of another user must not be deleted).  The
 * socket is bound under a umask that shuts out everyone but the owner,
 * then chmod'ed to the mode asked, so no one else can connect in
 * between.  Its (dev, inode) is recorded, and sockpath_remove() unlinks
 * the path only if it still names that socket: a socket another process
 * has put there since is not ours to delete.
 *
 * The struct sockpath is the caller's; it borrows the path, which must
 * outlive it.
 */
#ifndef BURSTD_SOCKPATH_H
#define BURSTD_SOCKPATH_H

#include <stdbool.h>
#include <sys/types.h>

struct sockpath {
	const char *what; /* "unix input", "stats": names it in logs */
	const char *path; /* the socket file, borrowed */
	bool bound;       /* we created the socket file now at path */
	dev_t dev;        /* its identity, once bound */
	ino_t ino;        /* likewise */
};

/*
 * Binds a new Unix stream socket to path, replacing a stale socket, and
 * sets mode on the file.  Returns the socket (non-blocking, close on
 * exec, not yet listening; the caller owns it: uv_pipe_open() or a
 * uv_poll_t), or -1 after logging why; if the file was created
 * (sp->bound) sockpath_remove() must still be called.
 */
int sockpath_bind(struct sockpath *sp, const char *what, const char *path,
		  unsigned mode);
/*
 * Unlinks the socket file if the path still names the one bound (same
 * dev and inode); else logs that it leaves it alone.  Idempotent.
 */
void sockpath_remove(struct sockpath *sp);

#endif
