#!/usr/bin/env python3
"""End-to-end tests of the daemon's sockets: the socket input's limits
and the stats socket's path handling, with the built binary, real
sockets and signals.  Uses the harness of daemon_test.py.

usage: socket_test.py BURSTD [unittest args]
"""
import os
import signal
import socket
import subprocess
import sys
import time
import unittest

import daemon_test as dt

NOBODY = 65534


def listening(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    s.listen(4)
    return s


def can_connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(path)
        return True
    except OSError:
        return False
    finally:
        s.close()


class OtherUserDaemon(dt.Daemon):
    """The daemon as another user than the owner of the sockets it meets:
    as nobody when the tests run as root (root passes every permission
    check), else as ourselves."""

    def __init__(self, tmp, conf_text):
        self.tmp = tmp
        self.conf = os.path.join(tmp, "burstd.yaml")
        with open(self.conf, "w") as f:
            f.write(conf_text)
        os.chmod(self.conf, 0o644)
        self.log = open(os.path.join(tmp, "burstd.log"), "w+")
        self.logpath = self.log.name
        kw = {}
        if os.geteuid() == 0:
            kw = {"user": NOBODY, "group": NOBODY, "extra_groups": []}
        self.p = subprocess.Popen([dt.BURSTD, "-c", self.conf],
                                  stdout=subprocess.DEVNULL, stderr=self.log,
                                  **kw)


class SocketTest(dt.DaemonTest):
    def shared_dir(self):
        """A directory anyone may write in (no sticky bit), so a daemon
        that wrongly unlinked another user's socket would manage to."""
        os.chmod(self.tmp, 0o755)
        shared = self.path("shared")
        os.mkdir(shared)
        os.chmod(shared, 0o777)
        return shared

    def test_stats_socket_of_another_user(self):
        """A live socket the daemon may not connect to (EACCES) stays
        where it is: no stats socket, the daemon runs on."""
        shared = self.shared_dir()
        stats = os.path.join(shared, "stats.sock")
        theirs = listening(stats)
        os.chmod(stats, 0)
        ino = os.lstat(stats).st_ino
        d = OtherUserDaemon(self.tmp, dt.conf(
            self.tmp, "  - type: unix\n    path: %s/in.sock\n" % shared,
            "  - type: stdout\n", extra="  stats_socket: %s\n" % stats))
        self.daemons.append(d)
        self.assertTrue(d.wait_log("started: "), d.log_text())
        self.assertIn("cannot tell whether the socket is stale",
                      d.log_text())
        self.assertIn("no stats socket", d.log_text())
        self.assertEqual(os.lstat(stats).st_ino, ino)
        self.assertTrue(can_connect(stats))
        self.assertEqual(d.stop(), 0)
        self.assertEqual(os.lstat(stats).st_ino, ino)
        theirs.close()

    def test_input_socket_of_another_user(self):
        """The same for the input socket: the input does not start, the
        daemon says so and exits 1, the socket stays."""
        shared = self.shared_dir()
        path = os.path.join(shared, "in.sock")
        theirs = listening(path)
        os.chmod(path, 0)
        ino = os.lstat(path).st_ino
        d = OtherUserDaemon(self.tmp, dt.conf(
            self.tmp, "  - type: unix\n    path: %s\n" % path,
            "  - type: stdout\n"))
        self.daemons.append(d)
        self.assertEqual(d.p.wait(30), 1, d.log_text())
        self.assertIn("cannot tell whether the socket is stale",
                      d.log_text())
        self.assertEqual(os.lstat(path).st_ino, ino)
        self.assertTrue(can_connect(path))
        theirs.close()

    def test_sockets_not_ours_at_close(self):
        """Sockets another process put at the daemon's paths while it ran
        are left alone at shutdown; its own are removed."""
        stats = self.path("stats.sock")
        insock = self.path("in.sock")
        d = self.start(dt.conf(self.tmp,
                               "  - type: unix\n    path: %s\n" % insock,
                               "  - type: stdout\n",
                               extra="  stats_socket: %s\n" % stats))
        self.assertTrue(can_connect(stats))
        other = listening(self.path("other.sock"))
        os.rename(self.path("other.sock"), stats)
        ino = os.lstat(stats).st_ino
        self.assertEqual(d.stop(), 0)
        self.assertEqual(os.lstat(stats).st_ino, ino, d.log_text())
        self.assertIn("stats %s inode=" % stats, d.log_text())
        self.assertIn("path no longer names our socket; left alone",
                      d.log_text())
        self.assertFalse(os.path.exists(insock))
        other.close()

        # And the other way round: the input's path taken, the stats
        # socket's kept.
        d = self.start(dt.conf(self.tmp,
                               "  - type: unix\n    path: %s\n" % insock,
                               "  - type: stdout\n",
                               extra="  stats_socket: %s\n"
                               % self.path("stats2.sock")))
        other = listening(self.path("other.sock"))
        os.rename(self.path("other.sock"), insock)
        ino = os.lstat(insock).st_ino
        self.assertEqual(d.stop(), 0)
        self.assertEqual(os.lstat(insock).st_ino, ino, d.log_text())
        self.assertFalse(os.path.exists(self.path("stats2.sock")))
        other.close()


# Only this file's tests, not the ones inherited from DaemonTest.
def load_tests(loader, tests, pattern):
    return loader.loadTestsFromNames(
        ["%s.%s" % (SocketTest.__name__, n)
         for n in loader.getTestCaseNames(SocketTest)
         if n in SocketTest.__dict__], sys.modules[__name__])


if __name__ == "__main__":
    dt.BURSTD = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)
