/*
 * sockpath: binding a Unix socket where a stale one, a live one, a file
 * or a socket of another user lies; the mode; and removing only our own
 * socket at close.  Real sockets in a fresh temporary directory.
 *
 * The other-user case needs a connect that fails with EACCES.  Run as
 * root, a child drops to nobody for it (root would pass the permission
 * check); otherwise the socket's mode alone refuses us.  The directory
 * is writable by everyone, so a helper that wrongly unlinked would
 * succeed at it and the test would see the socket gone.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

#include "check.h"
#include "sockpath.h"

#define NOBODY 65534

static char tmpdir[64];

static void
path_of(char *dst, size_t len, const char *name)
{
	snprintf(dst, len, "%s/%s", tmpdir, name);
}

/* A socket bound at path; listening if listening. Returns its fd. */
static int
bound_socket(const char *path, bool listening)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int s = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	CHECK(bind(s, (struct sockaddr *)&sun, sizeof(sun)) == 0);
	if (listening)
		CHECK(listen(s, 4) == 0);
	return s;
}

static bool
can_connect(const char *path)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int s = socket(AF_UNIX, SOCK_STREAM, 0), r;

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	r = connect(s, (struct sockaddr *)&sun, sizeof(sun));
	close(s);
	return r == 0;
}

static ino_t
inode_of(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0 ? st.st_ino : 0;
}

/*
 * Binds at path and hands the socket to a fresh pipe, as the stats
 * socket does; returns 0 or -1 as sockpath_bind() did.
 */
static int
try_bind(uv_loop_t *loop, struct sockpath *sp, const char *path, unsigned mode,
	 uv_pipe_t *h)
{
	int fd;

	uv_pipe_init(loop, h, 0);
	if ((fd = sockpath_bind(sp, "test", path, mode)) < 0)
		return -1;
	CHECK(uv_pipe_open(h, fd) == 0);
	CHECK(uv_listen((uv_stream_t *)h, 4, NULL) == 0);
	return 0;
}

static void
close_pipe(uv_loop_t *loop, uv_pipe_t *h)
{
	uv_close((uv_handle_t *)h, NULL);
	uv_run(loop, UV_RUN_DEFAULT);
}

static void
test_fresh_and_stale(uv_loop_t *loop)
{
	char path[128];
	struct sockpath sp;
	struct stat st;
	uv_pipe_t h;
	int s;

	path_of(path, sizeof(path), "stale.sock");
	s = bound_socket(path, false);
	close(s); /* nobody listens: stale */
	CHECK_EQ_INT(try_bind(loop, &sp, path, 0640, &h), 0);
	CHECK(sp.bound);
	CHECK(lstat(path, &st) == 0 && S_ISSOCK(st.st_mode));
	CHECK_EQ_INT(st.st_mode & 0777, 0640);
	sockpath_remove(&sp);
	CHECK(access(path, F_OK) != 0);
	sockpath_remove(&sp); /* idempotent */
	close_pipe(loop, &h);
}

static void
test_live_and_file(uv_loop_t *loop)
{
	char path[128], fpath[128];
	struct sockpath sp;
	uv_pipe_t h;
	ino_t ino;
	int s, fd;

	path_of(path, sizeof(path), "live.sock");
	s = bound_socket(path, true);
	ino = inode_of(path);
	CHECK_EQ_INT(try_bind(loop, &sp, path, 0600, &h), -1);
	CHECK(!sp.bound);
	CHECK(inode_of(path) == ino);
	CHECK(can_connect(path));
	sockpath_remove(&sp); /* nothing to remove */
	CHECK(inode_of(path) == ino);
	close_pipe(loop, &h);
	close(s);
	unlink(path);

	path_of(fpath, sizeof(fpath), "plain");
	fd = open(fpath, O_CREAT | O_WRONLY, 0644);
	CHECK(fd >= 0);
	CHECK(write(fd, "keep", 4) == 4);
	close(fd);
	CHECK_EQ_INT(try_bind(loop, &sp, fpath, 0600, &h), -1);
	CHECK(access(fpath, F_OK) == 0);
	unlink(fpath);
	close_pipe(loop, &h);
}

static void
test_long_path(uv_loop_t *loop)
{
	char path[200];
	struct sockpath sp;
	uv_pipe_t h;

	memset(path, 'x', sizeof(path) - 1);
	path[0] = '/';
	path[sizeof(path) - 1] = '\0';
	CHECK_EQ_INT(try_bind(loop, &sp, path, 0600, &h), -1);
	close_pipe(loop, &h);
}

/* In the child: 0 if the bind was refused and nothing bound. */
static int
child_bind(const char *path)
{
	uv_loop_t loop;
	struct sockpath sp;
	uv_pipe_t h;
	int r;

	uv_loop_init(&loop);
	r = try_bind(&loop, &sp, path, 0600, &h);
	sockpath_remove(&sp);
	close_pipe(&loop, &h);
	uv_loop_close(&loop);
	return r == -1 && !sp.bound ? 0 : 1;
}

static void
test_other_users_socket(void)
{
	char path[128];
	ino_t ino;
	pid_t pid;
	int s, status;

	path_of(path, sizeof(path), "theirs.sock");
	s = bound_socket(path, true);
	CHECK(chmod(path, 0) == 0);
	ino = inode_of(path);
	if ((pid = fork()) == 0) {
		if (geteuid() == 0 &&
		    (setgroups(0, NULL) != 0 || setgid(NOBODY) != 0 ||
		     setuid(NOBODY) != 0))
			_exit(2);
		_exit(child_bind(path));
	}
	CHECK(pid > 0);
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* Still there, still the same socket, still alive. */
	CHECK(inode_of(path) == ino);
	if (geteuid() == 0)
		CHECK(can_connect(path));
	close(s);
	unlink(path);
}

static void
test_not_ours_at_close(uv_loop_t *loop)
{
	char path[128], other[128];
	struct sockpath sp;
	uv_pipe_t h;
	ino_t ino;
	int s;

	path_of(path, sizeof(path), "ours.sock");
	path_of(other, sizeof(other), "other.sock");
	CHECK_EQ_INT(try_bind(loop, &sp, path, 0600, &h), 0);
	/* Someone else's socket takes the path. */
	s = bound_socket(other, true);
	CHECK(rename(other, path) == 0);
	ino = inode_of(path);
	sockpath_remove(&sp);
	close_pipe(loop, &h); /* nor does closing the handle unlink */
	CHECK(inode_of(path) == ino);
	CHECK(can_connect(path));
	close(s);
	unlink(path);

	/* Or the path was removed and a plain file made there. */
	CHECK_EQ_INT(try_bind(loop, &sp, path, 0600, &h), 0);
	CHECK(unlink(path) == 0);
	s = open(path, O_CREAT | O_WRONLY, 0644);
	close(s);
	sockpath_remove(&sp);
	close_pipe(loop, &h);
	CHECK(access(path, F_OK) == 0);
	unlink(path);
}

int
main(void)
{
	uv_loop_t loop;

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_sockpath.XXXXXX");
	if (mkdtemp(tmpdir) == NULL || chmod(tmpdir, 0777) != 0) {
		perror("mkdtemp");
		return 1;
	}
	uv_loop_init(&loop);
	test_fresh_and_stale(&loop);
	test_live_and_file(&loop);
	test_long_path(&loop);
	test_other_users_socket();
	test_not_ours_at_close(&loop);
	CHECK_EQ_INT(uv_loop_close(&loop), 0);
	rmdir(tmpdir);
	return check_exit();
}
