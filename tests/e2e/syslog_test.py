#!/usr/bin/env python3
"""End-to-end tests with a real syslog-ng (Debian syslog-ng-core), run in
the foreground with its own configuration, persist file and control
socket in a temporary directory:

- as a receiver of alerts on a Unix stream socket (newline framing,
  format rfc5424, parsed with flags(syslog-protocol)) and on a Unix
  datagram socket (bare JSON, flags(no-parse)), writing $MSG to a file:
  every alert arrives intact, one over 64 KiB included;
- as a forwarder: it tails a Defend NDJSON file and sends each line to
  burstd's Unix input (unix-stream destination, template "$MSG\\n"), and
  the attack in that file alerts.

Exits 77 (skipped) when syslog-ng is not installed.

usage: syslog_test.py BURSTD [unittest args]
"""
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest

import daemon_test as dt

SYSLOG_NG = shutil.which("syslog-ng") or (
    "/usr/sbin/syslog-ng" if os.access("/usr/sbin/syslog-ng", os.X_OK)
    else None)


class SyslogNg:
    """syslog-ng in the foreground with everything under tmp."""

    def __init__(self, tmp, body):
        self.tmp = tmp
        self.conf = os.path.join(tmp, "syslog-ng.conf")
        with open(self.conf, "w") as f:
            f.write("@version: 3.38\n"
                    "options { log-msg-size(262144); stats-freq(0); };\n"
                    + body)
        self.log = open(os.path.join(tmp, "syslog-ng.log"), "w+")
        self.p = subprocess.Popen(
            [SYSLOG_NG, "-F", "-e", "--no-caps", "-f", self.conf,
             "-R", os.path.join(tmp, "syslog-ng.persist"),
             "--control", os.path.join(tmp, "syslog-ng.ctl"),
             "-p", os.path.join(tmp, "syslog-ng.pid")],
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log)

    def log_text(self):
        self.log.flush()
        with open(self.log.name) as f:
            return f.read()

    def wait_started(self, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if "syslog-ng starting up" in self.log_text():
                return True
            if self.p.poll() is not None:
                return False
            time.sleep(0.05)
        return False

    def stop(self):
        if self.p.poll() is None:
            self.p.terminate()
            try:
                self.p.wait(20)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self.log.close()


def read_lines(path):
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return []
    # Whole lines only: a line being written is not counted yet.
    return data.split(b"\n")[:-1]


def wait_lines(path, n, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = read_lines(path)
        if len(got) >= n:
            return got
        time.sleep(0.1)
    return read_lines(path)


def wmem_max():
    try:
        with open("/proc/sys/net/core/wmem_max") as f:
            return int(f.read())
    except (OSError, ValueError):
        return 0


class SyslogNgTest(unittest.TestCase):
    def setUp(self):
        self.tmpdir = tempfile.TemporaryDirectory()
        self.tmp = self.tmpdir.name
        self.daemons = []
        self.sng = []

    def tearDown(self):
        for s in self.sng:
            s.stop()
        for d in self.daemons:
            if d.p.poll() is None:
                d.p.kill()
                d.p.wait()
            d.log.close()
        self.tmpdir.cleanup()

    def path(self, name):
        return os.path.join(self.tmp, name)

    def start_sng(self, body):
        s = SyslogNg(self.tmp, body)
        self.sng.append(s)
        self.assertTrue(s.wait_started(), s.log_text())
        return s

    def start_burstd(self, text):
        d = dt.Daemon(self.tmp, text)
        self.daemons.append(d)
        self.assertTrue(d.wait_log("started: "), d.log_text())
        return d

    def test_receiver_stream_and_datagram(self):
        """Alerts on a Unix stream socket (RFC 5424 header, newline
        framing) and on a Unix datagram socket reach syslog-ng's file
        intact, as burstd's own file sink has them, one over 64 KiB."""
        cap = 200000
        if 2 * wmem_max() < cap + 2048:
            self.skipTest("net.core.wmem_max %d is below the cap" %
                          wmem_max())
        out = self.path("received.ndjson")
        s = self.start_sng(
            'source s_stream { unix-stream("%s" flags(syslog-protocol)); };\n'
            'source s_dgram { unix-dgram("%s" flags(no-parse)); };\n'
            'destination d_file { file("%s" template("$MSG\\n")); };\n'
            'log { source(s_stream); source(s_dgram); '
            'destination(d_file); };\n' %
            (self.path("sng-stream.sock"), self.path("sng-dgram.sock"), out))
        own = self.path("alerts.ndjson")
        d = self.start_burstd(
            ("limits:\n  max_alert_bytes: %d\n" % cap) +
            dt.conf_close(self.tmp, "  - type: unix\n    path: %s\n" %
                    self.path("in.sock"),
                    "  - type: file\n    path: %s\n"
                    "  - type: unix\n    path: %s\n    format: rfc5424\n"
                    "  - type: unix_dgram\n    path: %s\n" %
                    (own, self.path("sng-stream.sock"),
                     self.path("sng-dgram.sock"))))
        base = (int(time.time() * 1000) // 60000 - 120) * 60000
        events = [dt.event(base + i, "SMALL", c)
                  for i, c in enumerate(dt.CMDS)]
        # 1000 distinct command lines of about 120 bytes: over 100 KiB.
        events += [dt.event(base + i, "BIG", "%s #%04d %s" %
                            (dt.CMDS[i % len(dt.CMDS)], i, "q" * 100))
                   for i in range(1000)]
        events.append(dt.heartbeat(base + 3600 * 1000))
        c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        c.connect(self.path("in.sock"))
        c.sendall("".join(events).encode())
        c.close()
        mine = wait_lines(own, 2)
        self.assertEqual(len(mine), 2, d.log_text())
        got = wait_lines(out, 4)
        self.assertEqual(len(got), 4, s.log_text() + d.log_text())
        # Every alert twice (stream and datagram), byte for byte.
        self.assertTrue(sorted(got) == sorted(mine * 2),
                        "received alerts differ from burstd's own")
        docs = [json.loads(line) for line in got]
        parents = sorted(a["process.parent.entity_id"] for a in docs)
        self.assertEqual(parents, ["BIG", "BIG", "SMALL", "SMALL"])
        big = max(got, key=len)
        self.assertGreater(len(big), 65536)
        self.assertLessEqual(len(big), cap)
        self.assertEqual(len(json.loads(big)[
            "Esql.process_command_line_values"]), 1000)
        self.assertEqual(d.stop(), 0)
        self.assertEqual(d.log_text().count("rejected=0 errors=0"), 3,
                         d.log_text())

    def test_forwarder_into_unix_input(self):
        """syslog-ng tails a Defend NDJSON file into burstd's Unix input;
        the attack in it alerts."""
        own = self.path("alerts.ndjson")
        d = self.start_burstd(dt.conf_close(
            self.tmp, "  - type: unix\n    path: %s\n" % self.path("in.sock"),
            "  - type: file\n    path: %s\n" % own))
        defend = self.path("defend.ndjson")
        open(defend, "w").close()
        s = self.start_sng(
            'source s_file { file("%s" flags(no-parse) follow-freq(0.1)); };\n'
            'destination d_burstd { unix-stream("%s" '
            'template("$MSG\\n")); };\n'
            'log { source(s_file); destination(d_burstd); };\n' %
            (defend, self.path("in.sock")))
        base = (int(time.time() * 1000) // 60000 - 120) * 60000
        with open(defend, "a") as f:
            for i, c in enumerate(dt.CMDS):
                f.write(dt.event(base + 1000 * i, "SNG", c))
            f.write(dt.heartbeat(base + 3600 * 1000))
        got = wait_lines(own, 1)
        self.assertEqual(len(got), 1, s.log_text() + d.log_text())
        a = json.loads(got[0])
        self.assertEqual(a["process.parent.entity_id"], "SNG")
        self.assertEqual(a["Esql.process_command_line_count_distinct"],
                         len(dt.CMDS))
        self.assertTrue(d.wait_matched(len(dt.CMDS) + 1), d.log_text())
        self.assertEqual(d.stop(), 0)


if __name__ == "__main__":
    dt.BURSTD = os.path.abspath(sys.argv.pop(1))
    if SYSLOG_NG is None:
        print("syslog-ng is not installed: skipped")
        sys.exit(77)
    unittest.main(verbosity=2)
