#!/usr/bin/env python3
"""End-to-end tests of the daemon's sockets: the socket input's limits
and the stats socket's path handling, with the built binary, real
sockets and signals.  Uses the harness of daemon_test.py.

usage: socket_test.py BURSTD [unittest args]
"""
import json
import os
import resource
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


def wait_stat(path, name, pred, timeout=20):
    """Scrapes until pred(value of name) holds; returns the samples."""
    deadline = time.monotonic() + timeout
    m = {}
    while time.monotonic() < deadline:
        m = dt.scrape(path)
        if name in m and pred(int(m[name])):
            return m
        time.sleep(0.1)
    raise AssertionError("%s never satisfied the test: %s" % (name, m))


def closed_by_peer(s, timeout=15):
    """Whether the daemon closes s (EOF or reset) within timeout."""
    s.settimeout(timeout)
    try:
        while True:
            data = s.recv(65536)
            if not data:
                return True
    except socket.timeout:
        return False
    except OSError:
        return True


def connect(path):
    c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    c.connect(path)
    return c


def padded_event(ts_ms, parent, cmd, pad):
    """An event line with an unread field of pad bytes."""
    ev = json.loads(dt.event(ts_ms, parent, cmd))
    ev["pad"] = "x" * pad
    return (json.dumps(ev) + "\n").encode()


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

    def unix_daemon(self, keys="", extra="", limits=None):
        """A daemon with one unix input (more keys for it in keys) and a
        stats socket; limits: (soft, hard) RLIMIT_NOFILE for it."""
        text = dt.conf(self.tmp, "  - type: unix\n    path: %s\n%s"
                       % (self.path("in.sock"), keys),
                       "  - type: stdout\n",
                       extra="  stats_socket: %s\n" % self.path("stats.sock")
                       + extra)
        if limits is None:
            return self.start(text)

        def lower():
            resource.setrlimit(resource.RLIMIT_NOFILE, limits)
        d = dt.Daemon.__new__(dt.Daemon)
        d.tmp = self.tmp
        d.conf = self.path("burstd.yaml")
        with open(d.conf, "w") as f:
            f.write(text)
        d.log = open(self.path("burstd.log"), "w+")
        d.logpath = d.log.name
        d.p = subprocess.Popen([dt.BURSTD, "-c", d.conf],
                               stdout=subprocess.DEVNULL, stderr=d.log,
                               preexec_fn=lower)
        self.daemons.append(d)
        self.assertTrue(d.wait_log("started: "), d.log_text())
        return d

    def test_buffer_bound_drops_largest(self):
        """Partial lines past max_buffer_bytes: the largest holder is
        dropped and counted, the others' lines go through."""
        d = self.unix_daemon("    max_buffer_bytes: 262144\n")
        stats = self.path("stats.sock")
        base = int(time.time() * 1000)
        line = padded_event(base, "BUF", "id", 100000)
        a = connect(self.path("in.sock"))
        a.sendall(line[:100000])
        wait_stat(stats, "burstd_bytes_read_total", lambda v: v >= 100000)
        m = dt.scrape(stats)
        held = int(m['burstd_input_buffer_bytes{input="unix0"}'])
        self.assertGreaterEqual(held, 100000)
        self.assertGreaterEqual(int(m["burstd_state_bytes"]), held)
        b = connect(self.path("in.sock"))
        try:
            b.sendall(b"y" * 200000)
        except OSError:
            pass                  # dropped while sending: as well
        self.assertTrue(closed_by_peer(b), d.log_text())
        m = wait_stat(stats, 'burstd_input_clients_over_buffer_total'
                      '{input="unix0"}', lambda v: v == 1)
        self.assertEqual(m['burstd_input_partial_dropped_total{input="unix0"}'],
                         "1")
        self.assertEqual(m['burstd_input_buffer_bytes{input="unix0"}'],
                         str(held))
        self.assertIn("client 1 dropped: its partial line holds",
                      d.log_text())
        # The smaller holder stays, and its line is whole.
        a.sendall(line[100000:])
        m = wait_stat(stats, "burstd_events_matched_total", lambda v: v == 1)
        self.assertEqual(m["burstd_json_invalid_total"], "0")
        self.assertEqual(m['burstd_input_buffer_bytes{input="unix0"}'], "0")
        a.close()
        b.close()
        self.assertEqual(d.stop(), 0)

    def test_idle_timeout(self):
        """A client silent for idle_timeout is closed and counted, its
        partial line dropped; a client that talks stays."""
        d = self.unix_daemon("    idle_timeout: 2s\n")
        stats = self.path("stats.sock")
        silent = connect(self.path("in.sock"))
        talker = connect(self.path("in.sock"))
        silent.sendall(b'{"half": ')
        t0 = time.monotonic()
        stop = [False]

        def talk():
            while not stop[0]:
                talker.sendall(b"\n")
                time.sleep(0.2)
        import threading
        th = threading.Thread(target=talk, daemon=True)
        th.start()
        self.assertTrue(closed_by_peer(silent, 30), d.log_text())
        self.assertGreaterEqual(time.monotonic() - t0, 1.5)
        m = wait_stat(stats, 'burstd_input_clients_idle_total{input="unix0"}',
                      lambda v: v == 1)
        self.assertEqual(m['burstd_input_partial_dropped_total{input="unix0"}'],
                         "1")
        self.assertIn("silent for", d.log_text())
        d.signal(signal.SIGUSR1)
        self.assertTrue(d.wait_log(" partial_dropped=1 idle=1 over_buffer=0 "
                                   "accept_errors=0"), d.log_text())
        time.sleep(2.5)           # more than idle_timeout, talking
        stop[0] = True
        th.join(5)
        base = int(time.time() * 1000)
        talker.sendall(dt.event(base, "IDLE", "id").encode())
        m = wait_stat(stats, "burstd_events_matched_total", lambda v: v == 1)
        self.assertEqual(m['burstd_input_clients_idle_total{input="unix0"}'],
                         "1")
        talker.close()
        silent.close()
        self.assertEqual(d.stop(), 0)

    def test_max_clients_refused_and_counted(self):
        """One client over max_clients is refused, counted and logged."""
        d = self.unix_daemon("    max_clients: 2\n")
        stats = self.path("stats.sock")
        c = [connect(self.path("in.sock")) for _ in range(2)]
        wait_stat(stats, 'burstd_input_clients_connected{input="unix0"}',
                  lambda v: v == 2)
        extra = connect(self.path("in.sock"))
        self.assertTrue(closed_by_peer(extra), d.log_text())
        m = wait_stat(stats, 'burstd_input_clients_refused_total{input="unix0"}',
                      lambda v: v == 1)
        self.assertEqual(m['burstd_input_clients_total{input="unix0"}'], "2")
        self.assertIn("clients connected (max_clients)", d.log_text())
        for s in c + [extra]:
            s.close()
        self.assertEqual(d.stop(), 0)

    def settle_clients(self, d, clients):
        """Waits until every connection is taken or refused (a refused
        one sees its end at once, a taken one nothing); returns how many
        were refused."""
        n = len(clients)
        refused = 0
        deadline = time.monotonic() + 20
        pending = list(clients)
        while pending and time.monotonic() < deadline:
            time.sleep(0.5)
            d.signal(signal.SIGUSR1)
            for c in list(pending):
                c.setblocking(False)
                try:
                    if c.recv(1) == b"":
                        refused += 1
                        pending.remove(c)
                except BlockingIOError:
                    pass
                except OSError:
                    refused += 1
                    pending.remove(c)
            # Every one is accounted for: taken, or refused and closed.
            if d.wait_log("clients=%d refused=%d " % (n - refused, refused),
                          0.2):
                break
        return refused

    def test_descriptor_reserve(self):
        """With too few descriptors the daemon says so at start; clients
        that would eat into the descriptors kept for checkpoints are
        refused at once and counted, and checkpoints go on."""
        os.mkdir(self.path("state"))
        d = self.unix_daemon(extra="  state_dir: %s\n"
                             "  checkpoint_interval: 100ms\n"
                             % self.path("state"), limits=(64, 64))
        self.assertIn("descriptor limit 64 (hard 64) is below",
                      d.log_text())
        n = 60
        clients = [connect(self.path("in.sock")) for _ in range(n)]
        refused = self.settle_clients(d, clients)
        self.assertGreater(refused, 0, d.log_text())
        self.assertGreater(n - refused, 5, d.log_text())
        self.assertIn("kept for checkpoints and sinks", d.log_text())
        stats = self.path("stats.sock")
        m = dt.scrape(stats)
        done = int(m["burstd_checkpoints_total"])
        m = wait_stat(stats, "burstd_checkpoints_total",
                      lambda v: v >= done + 3)
        self.assertEqual(m["burstd_checkpoints_failed_total"], "0")
        self.assertEqual(m['burstd_input_clients_refused_total{input="unix0"}'],
                         str(refused))
        self.assertEqual(m['burstd_input_clients_connected{input="unix0"}'],
                         str(n - refused))
        for c in clients:
            c.close()
        self.assertEqual(d.stop(), 0)

    def test_out_of_descriptors(self):
        """Descriptors run out (the limit lowered under the running
        daemon): clients past it are refused at once and counted, and
        once descriptors are free again new clients are served."""
        d = self.unix_daemon()
        resource.prlimit(d.p.pid, resource.RLIMIT_NOFILE, (48, 48))
        n = 60
        clients = [connect(self.path("in.sock")) for _ in range(n)]
        self.assertTrue(d.wait_log("raise LimitNOFILE", 20), d.log_text())
        self.assertIn("Too many open files", d.log_text())
        refused = self.settle_clients(d, clients)
        self.assertGreater(refused, 0, d.log_text())
        self.assertGreater(n - refused, 10, d.log_text())
        for c in clients:
            c.close()
        stats = self.path("stats.sock")
        m = wait_stat(stats, 'burstd_input_clients_connected{input="unix0"}',
                      lambda v: v == 0)
        self.assertEqual(m['burstd_input_clients_refused_total{input="unix0"}'],
                         str(refused))
        self.assertEqual(m['burstd_input_clients_total{input="unix0"}'],
                         str(n - refused))
        self.assertGreaterEqual(
            int(m['burstd_input_accept_errors_total{input="unix0"}']), refused)
        # Descriptors are free again: a new client is served.
        c = connect(self.path("in.sock"))
        c.sendall(dt.event(int(time.time() * 1000), "FD", "id").encode())
        wait_stat(stats, "burstd_events_matched_total", lambda v: v == 1)
        c.close()
        self.assertEqual(d.stop(), 0)

    def test_descriptor_limit_raised(self):
        """A soft limit below what the configuration needs is raised
        toward the hard one."""
        d = self.unix_daemon(limits=(256, 8192))
        self.assertIn("descriptor limit raised from 256 to ", d.log_text())
        self.assertNotIn("is below", d.log_text())
        with open("/proc/%d/limits" % d.p.pid) as f:
            soft = [l.split()[3] for l in f if l.startswith("Max open files")]
        self.assertGreater(int(soft[0]), 1024 + 2)
        self.assertLessEqual(int(soft[0]), 8192)
        self.assertEqual(d.stop(), 0)


# Only this file's tests, not the ones inherited from DaemonTest.
def load_tests(loader, tests, pattern):
    return loader.loadTestsFromNames(
        ["%s.%s" % (SocketTest.__name__, n)
         for n in loader.getTestCaseNames(SocketTest)
         if n in SocketTest.__dict__], sys.modules[__name__])


if __name__ == "__main__":
    dt.BURSTD = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)
