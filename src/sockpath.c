/*
 * sockpath: making room for, binding and removing a Unix socket file
 * (sockpath.h).  Nothing here blocks: the probe of an existing socket is
 * a non-blocking connect, which a listener with a full backlog answers
 * with EAGAIN, counted as alive.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "sockpath.h"

/*
 * Makes room for the socket at path.  Returns 0 if nothing is there or a
 * stale socket was removed, -1 (logged) if something else is there.
 */
static int
clear_stale(const char *what, const char *path)
{
	struct sockaddr_un sun;
	struct stat st;
	int fd, r, err;

	if (lstat(path, &st) != 0) {
		if (errno == ENOENT)
			return 0;
		log_warn("%s %s: lstat", what, path);
		return -1;
	}
	if (!S_ISSOCK(st.st_mode)) {
		log_warnx("%s %s inode=%ju: exists and is not a socket; not "
			  "replacing it",
			  what, path, (uintmax_t)st.st_ino);
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		log_warn("%s %s: socket", what, path);
		return -1;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	r = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
	err = errno;
	close(fd);
	if (r == 0 || err == EAGAIN || err == EINPROGRESS) {
		log_warnx("%s %s inode=%ju: another process is listening on "
			  "it",
			  what, path, (uintmax_t)st.st_ino);
		return -1;
	}
	if (err != ECONNREFUSED) {
		/* EACCES and the like say nothing of whether it is alive. */
		errno = err;
		log_warn("%s %s inode=%ju: cannot tell whether the socket is "
			 "stale; not replacing it",
			 what, path, (uintmax_t)st.st_ino);
		return -1;
	}
	if (unlink(path) != 0 && errno != ENOENT) {
		log_warn("%s %s inode=%ju: unlink stale socket", what, path,
			 (uintmax_t)st.st_ino);
		return -1;
	}
	log_info("%s %s inode=%ju: removed a stale socket", what, path,
		 (uintmax_t)st.st_ino);
	return 0;
}

int
sockpath_bind(struct sockpath *sp, const char *what, const char *path,
	      unsigned mode)
{
	struct sockaddr_un sun;
	struct stat st;
	mode_t old_mask;
	int fd, r;

	memset(sp, 0, sizeof(*sp));
	sp->what = what;
	sp->path = path;
	if (path == NULL || path[0] == '\0' ||
	    strlen(path) >= sizeof(sun.sun_path)) {
		log_warnx("%s %s: path empty or longer than %zu bytes", what,
			  path != NULL ? path : "(none)",
			  sizeof(sun.sun_path) - 1);
		return -1;
	}
	if (clear_stale(what, path) < 0)
		return -1;
	/*
	 * Bound here, not by uv_pipe_bind(): libuv unlinks the path of a
	 * pipe it bound when the handle closes, whoever's file is there by
	 * then; a socket it is given by uv_pipe_open() it leaves alone.  The socket is created with the umask's mode and chmod'ed
	 * after; a tight umask meanwhile lets no one else connect in
	 * between.
	 */
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
			 0)) < 0) {
		log_warn("%s %s: socket", what, path);
		return -1;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	old_mask = umask(0177);
	r = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old_mask);
	if (r != 0) {
		log_warn("%s %s: bind", what, path);
		close(fd);
		return -1;
	}
	if (lstat(path, &st) != 0) {
		log_warn("%s %s: lstat after bind", what, path);
		close(fd);
		return -1;
	}
	sp->bound = true;
	sp->dev = st.st_dev;
	sp->ino = st.st_ino;
	if (chmod(path, (mode_t)mode) != 0) {
		log_warn("%s %s inode=%ju: chmod %04o", what, path,
			 (uintmax_t)sp->ino, mode);
		close(fd);
		return -1;
	}
	return fd;
}

void
sockpath_remove(struct sockpath *sp)
{
	struct stat st;

	if (!sp->bound)
		return;
	sp->bound = false;
	if (lstat(sp->path, &st) != 0 || st.st_dev != sp->dev ||
	    st.st_ino != sp->ino) {
		log_info("%s %s inode=%ju: path no longer names our socket; "
			 "left alone",
			 sp->what, sp->path, (uintmax_t)sp->ino);
		return;
	}
	if (unlink(sp->path) != 0)
		log_warn("%s %s inode=%ju: unlink", sp->what, sp->path,
			 (uintmax_t)sp->ino);
}
