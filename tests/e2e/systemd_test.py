#!/usr/bin/env python3
"""End-to-end tests of what the live daemon tells systemd and the
journal: sd_notify datagrams (READY, STATUS, RELOADING, WATCHDOG,
ERRNO) read from a socket bound here, SIGHUP and SIGUSR2 reopening the
output files, and the sink lines of the log.

usage: systemd_test.py BURSTD [unittest args]
"""
import os
import re
import signal
import socket
import subprocess
import sys
import time
import unittest

import daemon_test as dt


class Notify:
    """A Unix datagram socket standing in for systemd's NOTIFY_SOCKET."""

    def __init__(self, path):
        self.path = path
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.s.bind(path)
        self.msgs = []

    def read(self, timeout):
        """Collects what arrives for up to timeout seconds."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            self.s.settimeout(left)
            try:
                self.msgs.append(self.s.recv(4096).decode())
            except socket.timeout:
                return

    def wait(self, pred, timeout=20, start=0):
        """Reads until a message from msgs[start] on satisfies pred;
        returns its index, or None."""
        deadline = time.monotonic() + timeout
        seen = start
        while True:
            for i in range(seen, len(self.msgs)):
                if pred(self.msgs[i]):
                    return i
            seen = len(self.msgs)
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self.s.settimeout(left)
            try:
                self.msgs.append(self.s.recv(4096).decode())
            except socket.timeout:
                return None

    def close(self):
        self.s.close()


class EnvDaemon(dt.Daemon):
    """dt.Daemon with more environment, started through sh so that
    WATCHDOG_PID=$$ names the daemon's own pid (exec keeps it)."""

    def __init__(self, tmp, conf_text, env, own_pid=False):
        self.tmp = tmp
        self.conf = os.path.join(tmp, "burstd.yaml")
        with open(self.conf, "w") as f:
            f.write(conf_text)
        self.log = open(os.path.join(tmp, "burstd.log"), "w+")
        self.logpath = self.log.name
        e = dict(os.environ)
        e.update(env)
        pre = "WATCHDOG_PID=$$ " if own_pid else ""
        self.p = subprocess.Popen(
            ["sh", "-c", pre + 'exec "$0" -c "$1"', dt.BURSTD, self.conf],
            stdout=subprocess.DEVNULL, stderr=self.log, env=e)


def fields(msg):
    return dict(l.split("=", 1) for l in msg.split("\n") if "=" in l)


class SystemdTest(unittest.TestCase):
    setUp = dt.DaemonTest.setUp
    path = dt.DaemonTest.path

    def tearDown(self):
        for n in getattr(self, "notifies", []):
            n.close()
        dt.DaemonTest.tearDown(self)

    def notify_socket(self):
        n = Notify(self.path("notify.sock"))
        self.notifies = getattr(self, "notifies", []) + [n]
        return n

    def run_daemon(self, text, env, own_pid=False):
        d = EnvDaemon(self.tmp, text, env, own_pid)
        self.daemons.append(d)
        return d

    def send_burst(self, parent, base):
        c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        c.connect(self.path("in.sock"))
        for i, cmd in enumerate(dt.CMDS[:5]):
            c.sendall(dt.event(base + i * 1000, parent, cmd).encode())
        c.sendall(dt.heartbeat(base + 60000 + 1500).encode())
        c.close()

    def unix_in(self):
        return "  - type: unix\n    path: %s\n" % self.path("in.sock")

    def test_ready_status_reload(self):
        """READY=1 comes with a one-line STATUS=; the STATUS= follows an
        alert that waits for an absent sink (its age included); SIGHUP
        sends RELOADING=1 with the monotonic clock before the reload and
        READY=1 after it, whether the new file is valid or not."""
        n = self.notify_socket()
        sock = self.path("alerts.sock")
        text = dt.conf(self.tmp, self.unix_in(),
                       "  - type: unix\n    path: %s\n" % sock)
        d = self.run_daemon(text, {"NOTIFY_SOCKET": n.path})
        i = n.wait(lambda m: "READY=1" in m.split("\n"))
        self.assertIsNotNone(i, d.log_text())
        st = fields(n.msgs[i])["STATUS"]
        self.assertEqual(st, "inputs 1/1 up, sinks 0/1 up; 0 events, "
                         "0 alerts; no alert waiting")
        self.assertNotIn("RELOADING=1", "".join(n.msgs))

        base = (int(time.time() * 1000) // 60000 - 5) * 60000
        self.send_burst("S1", base)
        i = n.wait(lambda m: "STATUS=" in m and "1 alerts" in m, 30)
        self.assertIsNotNone(i, (n.msgs, d.log_text()))
        self.assertRegex(fields(n.msgs[i])["STATUS"],
                         r"^inputs 1/1 up, sinks 0/1 up; 6 events, 1 alerts;"
                         r" oldest waiting alert \d+ s$")
        # Rate-limited: the age grows every second, STATUS= does not
        # follow it every tick (100 ms).
        n.read(3)
        status = [m for m in n.msgs if "STATUS=" in m]
        self.assertLessEqual(len(status), 3, status)

        before = time.clock_gettime(time.CLOCK_MONOTONIC)
        d.signal(signal.SIGHUP)
        i = n.wait(lambda m: "RELOADING=1" in m)
        after = time.clock_gettime(time.CLOCK_MONOTONIC)
        self.assertIsNotNone(i, (n.msgs, d.log_text()))
        us = int(fields(n.msgs[i])["MONOTONIC_USEC"])
        self.assertGreaterEqual(us, int(before * 1e6) - 1000)
        self.assertLessEqual(us, int(after * 1e6) + 1000)
        self.assertIsNotNone(n.wait(lambda m: "READY=1" in m.split("\n"),
                                    start=i + 1), (n.msgs, d.log_text()))
        self.assertTrue(d.wait_log("reloaded "), d.log_text())

        with open(d.conf, "w") as f:
            f.write("inputs: [\n")
        d.signal(signal.SIGHUP)
        i = n.wait(lambda m: "RELOADING=1" in m, start=i + 1)
        self.assertIsNotNone(i, n.msgs)
        self.assertIsNotNone(n.wait(lambda m: "READY=1" in m.split("\n"),
                                    start=i + 1), n.msgs)
        self.assertTrue(d.wait_log("is invalid"), d.log_text())
        self.assertEqual(d.stop(), 0)
        self.assertIsNotNone(n.wait(lambda m: m == "STOPPING=1", 5), n.msgs)

    def test_watchdog_own_timer(self):
        """WATCHDOG=1 every half of WATCHDOG_USEC, with a tick of 10 s,
        when WATCHDOG_PID is this process."""
        n = self.notify_socket()
        text = dt.conf(self.tmp, self.unix_in(), "  - type: stdout\n"
                       ).replace("tick_interval: 100ms", "tick_interval: 10s")
        d = self.run_daemon(text, {"NOTIFY_SOCKET": n.path,
                                   "WATCHDOG_USEC": "400000"}, own_pid=True)
        self.assertIsNotNone(n.wait(lambda m: "READY=1" in m), d.log_text())
        t0 = time.monotonic()
        n.read(3)
        took = time.monotonic() - t0
        pings = [m for m in n.msgs if m == "WATCHDOG=1"]
        # Every 200 ms: 15 in 3 s; a loaded machine may run late.
        self.assertGreaterEqual(len(pings), 5, (took, n.msgs))
        self.assertEqual(d.stop(), 0)

    def test_watchdog_other_pid(self):
        """WATCHDOG_PID naming another process: no WATCHDOG=1 (the
        variables were inherited, systemd watches someone else)."""
        n = self.notify_socket()
        text = dt.conf(self.tmp, self.unix_in(), "  - type: stdout\n")
        d = self.run_daemon(text, {"NOTIFY_SOCKET": n.path,
                                   "WATCHDOG_USEC": "200000",
                                   "WATCHDOG_PID": str(os.getpid())})
        self.assertIsNotNone(n.wait(lambda m: "READY=1" in m), d.log_text())
        n.read(2)
        self.assertNotIn("WATCHDOG=1", n.msgs)
        self.assertEqual(d.stop(), 0)

    def test_notify_socket_not_read(self):
        """A notify socket that nobody reads fills up; notifications are
        then dropped and the loop goes on: signals are served, the
        daemon stops."""
        n = self.notify_socket()
        d = self.run_daemon(dt.conf(self.tmp, self.unix_in(),
                                    "  - type: stdout\n"),
                            {"NOTIFY_SOCKET": n.path,
                             "WATCHDOG_USEC": "2000"}, own_pid=True)
        self.assertTrue(d.wait_log("started: "), d.log_text())
        time.sleep(1)                        # 1000 pings, never read
        d.signal(signal.SIGUSR1)
        self.assertTrue(d.wait_log("counter reloads_failed=0"), d.log_text())
        self.assertEqual(d.stop(), 0)

    def test_input_fails_at_start(self):
        """An input that cannot start: STATUS= says which and why,
        ERRNO= the cause, no READY=1, exit 1."""
        n = self.notify_socket()
        bad = self.path("missing/in.sock")
        text = dt.conf(self.tmp, "  - type: unix\n    path: %s\n" % bad,
                       "  - type: stdout\n")
        d = self.run_daemon(text, {"NOTIFY_SOCKET": n.path})
        self.assertEqual(d.p.wait(30), 1)
        n.read(0.5)
        m = [m for m in n.msgs if "STATUS=" in m]
        self.assertEqual(len(m), 1, n.msgs)
        f = fields(m[0])
        self.assertEqual(f["STATUS"], "input 0 (%s) could not start: %s" %
                         (bad, os.strerror(2)))
        self.assertEqual(f["ERRNO"], "2")
        self.assertFalse(any("READY=1" in x for x in n.msgs), n.msgs)

    def file_sink_conf(self):
        return dt.conf(self.tmp, self.unix_in(),
                       "  - type: file\n    path: %s\n"
                       % self.path("alerts.ndjson"))

    def rotate_then(self, d, sig, parent, base):
        """Moves the alert file aside, sends sig, then makes an alert;
        returns (rotated file's text, new file's text)."""
        sink = self.path("alerts.ndjson")
        # The sink opens its file in libuv's thread pool (uv_fs_open): on
        # a loaded machine it may not be there yet when "started:" is.
        deadline = time.monotonic() + 20
        while not os.path.exists(sink) and time.monotonic() < deadline:
            time.sleep(0.05)
        os.rename(sink, sink + ".1")
        d.signal(sig)
        deadline = time.monotonic() + 20
        while not os.path.exists(sink) and time.monotonic() < deadline:
            time.sleep(0.05)
        self.send_burst(parent, base)
        deadline = time.monotonic() + 20
        text = ""
        while parent not in text and time.monotonic() < deadline:
            time.sleep(0.05)
            if os.path.exists(sink):
                with open(sink) as f:
                    text = f.read()
        with open(sink + ".1") as f:
            return f.read(), text

    def test_sighup_invalid_conf_reopens(self):
        """SIGHUP with an invalid file keeps the configuration but still
        reopens the output file: logrotate during an edit."""
        d = self.run_daemon(self.file_sink_conf(), {})
        self.assertTrue(d.wait_log("started: "), d.log_text())
        with open(d.conf, "w") as f:
            f.write("inputs: [\n")
        base = (int(time.time() * 1000) // 60000 - 5) * 60000
        old, new = self.rotate_then(d, signal.SIGHUP, "H1", base)
        self.assertIn('"process.parent.entity_id":"H1"', new, d.log_text())
        self.assertNotIn("H1", old)
        self.assertIn("is invalid; keeping the running configuration",
                      d.log_text())
        self.assertEqual(d.stop(), 0)

    def test_sigusr2_reopens_only(self):
        """SIGUSR2 reopens the output file and reloads nothing: a changed
        configuration file is not read."""
        d = self.run_daemon(self.file_sink_conf(), {})
        self.assertTrue(d.wait_log("started: "), d.log_text())
        with open(d.conf, "w") as f:
            f.write(self.file_sink_conf().replace("log_level: info",
                                                  "log_level: err"))
        base = (int(time.time() * 1000) // 60000 - 5) * 60000
        old, new = self.rotate_then(d, signal.SIGUSR2, "U1", base)
        self.assertIn('"process.parent.entity_id":"U1"', new, d.log_text())
        self.assertNotIn("U1", old)
        log = d.log_text()
        self.assertIn("reopening output files", log)
        self.assertNotIn("reloaded", log)
        # Still at info: the file was not loaded.
        d.signal(signal.SIGUSR1)
        self.assertTrue(d.wait_log("counter alerts=1"), d.log_text())
        self.assertEqual(d.stop(), 0)

    def test_reconnect_logged_after_many_failures(self):
        """A sink that failed more often than its log burst allows still
        logs that it connected again."""
        sock = self.path("alerts.sock")
        d = self.run_daemon(dt.conf(self.tmp, self.unix_in(),
                                    "  - type: unix\n    path: %s\n"
                                    "    backoff_min: 10ms\n"
                                    "    backoff_max: 20ms\n" % sock), {})
        self.assertTrue(d.wait_log("started: "), d.log_text())
        # Well past the burst of 3 failure messages.
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            d.signal(signal.SIGUSR1)
            if d.wait_log("suppressed", 0.5) or re.search(
                    r"sink unix \S+: queued=0 sent=0 dropped_full=0 "
                    r"dropped_close=0 rejected=0 errors=([1-9]\d|[4-9])",
                    d.log_text()):
                break
        # The failures' own messages were held back after the burst.
        self.assertLessEqual(d.log_text().count("sink unix %s: connect" %
                                                sock), 3, d.log_text())
        lst = dt.Listener(sock)
        try:
            self.assertTrue(d.wait_log("sink unix %s: connected after" % sock,
                                       20), d.log_text())
        finally:
            self.assertEqual(d.stop(), 0)
            lst.stop()

    def test_final_sink_line_after_drain(self):
        """At stop, the windows flushed become alerts that the sink
        writes while it drains; its final line counts them as sent."""
        sink = self.path("alerts.ndjson")
        d = self.run_daemon(self.file_sink_conf(), {})
        self.assertTrue(d.wait_log("started: "), d.log_text())
        base = int(time.time() * 1000)
        c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        c.connect(self.path("in.sock"))
        for i, cmd in enumerate(dt.CMDS[:5]):
            c.sendall(dt.event(base, "F1", cmd).encode())
        c.close()
        self.assertTrue(d.wait_matched(5), d.log_text())
        self.assertEqual(d.stop(), 0)
        with open(sink) as f:
            self.assertEqual(f.read().count('"F1"'), 1)
        log = d.log_text()
        self.assertIn("final: sink file %s: queued=1 sent=1 dropped_full=0 "
                      "dropped_close=0 rejected=0 errors=0 connects=1 "
                      "depth=0\n" % sink,
                      log)
        self.assertLess(log.index("final: bytes="),
                        log.index("final: sink file"))


if __name__ == "__main__":
    dt.BURSTD = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)
