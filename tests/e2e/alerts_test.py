#!/usr/bin/env python3
"""End-to-end tests of alert size: an alert over limits.max_alert_bytes
arrives trimmed, marked, counted and whole (valid JSON under the cap) on
a file and a Unix datagram sink; with the cap raised, a datagram longer
than the default socket buffer carries arrives whole.

usage: alerts_test.py BURSTD [unittest args]
"""
import json
import os
import signal
import socket
import sys
import time
import unittest

import daemon_test as dt


def proc_size(path):
    try:
        with open(path) as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 0


class Receiver:
    """A bound Unix datagram socket; recv() takes any length."""

    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.s.bind(path)

    def recv(self, timeout):
        self.s.settimeout(timeout)
        try:
            return self.s.recv(1 << 22)
        except socket.timeout:
            return None

    def close(self):
        self.s.close()


def cmdline(i, pad):
    """A distinct command line of about pad bytes with a known label."""
    return "%s #%04d %s" % (dt.CMDS[i % len(dt.CMDS)], i, "z" * pad)


class AlertSizeTest(unittest.TestCase):
    def setUp(self):
        self.tmpdir = dt.tempfile.TemporaryDirectory()
        self.tmp = self.tmpdir.name
        self.daemons = []
        self.receivers = []

    def tearDown(self):
        for d in self.daemons:
            if d.p.poll() is None:
                d.p.kill()
                d.p.wait()
            d.log.close()
        for r in self.receivers:
            r.close()
        self.tmpdir.cleanup()

    def path(self, name):
        return os.path.join(self.tmp, name)

    def start(self, cap, sinks):
        text = dt.conf_close(self.tmp, "  - type: unix\n    path: %s\n" %
                       self.path("in.sock"), sinks)
        text = ("limits:\n  max_alert_bytes: %d\n" % cap) + text
        d = dt.Daemon(self.tmp, text)
        self.daemons.append(d)
        self.assertTrue(d.wait_log("started: "), d.log_text())
        return d

    def receiver(self, name):
        r = Receiver(self.path(name))
        self.receivers.append(r)
        return r

    def attack(self, d, n, pad):
        """n distinct command lines in one window of group BIG, then an
        event an hour later that closes it; returns the lines sent."""
        base = (int(time.time() * 1000) // 60000 - 120) * 60000
        cmds = [cmdline(i, pad) for i in range(n)]
        c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        c.connect(self.path("in.sock"))
        c.sendall("".join(dt.event(base + i, "BIG", "%s" % cmd)
                          for i, cmd in enumerate(cmds)).encode())
        c.sendall(dt.heartbeat(base + 3600 * 1000).encode())
        c.close()
        self.assertTrue(d.wait_matched(n + 1, 30), d.log_text())
        # The events are "sh -c CMD": so are the command lines.
        return ["sh -c " + cmd for cmd in cmds]

    def check_trimmed(self, doc, cmds):
        col = "Esql.process_command_line_values"
        kept = doc[col]
        self.assertEqual(doc["Esql.process_command_line_count_distinct"],
                         len(cmds))
        self.assertEqual(doc["burstd.truncated"], [col])
        self.assertGreater(len(kept), 0)
        self.assertEqual(len(kept) + doc["burstd.values_omitted"],
                         len(cmds))
        # What is kept is the start of the set in byte order.
        self.assertEqual(kept, sorted(cmds)[:len(kept)])
        self.assertEqual(doc["Esql.host_name_values"], ["host-1"])

    def test_trimmed_under_cap(self):
        """300 command lines of 200 bytes against a cap of 8 KiB: the
        file and the datagram sink get the same trimmed alert."""
        cap = 8192
        rcv = self.receiver("dgram.sock")
        sink = self.path("alerts.ndjson")
        d = self.start(cap, "  - type: file\n    path: %s\n"
                       "  - type: unix_dgram\n    path: %s\n" %
                       (sink, self.path("dgram.sock")))
        cmds = self.attack(d, 300, 200)
        got = rcv.recv(20)
        self.assertIsNotNone(got, d.log_text())
        self.assertLessEqual(len(got), cap)
        self.check_trimmed(json.loads(got), cmds)
        d.signal(signal.SIGUSR1)
        self.assertTrue(d.wait_log("counter alerts_trimmed=1\n"),
                        d.log_text())
        self.assertEqual(d.stop(), 0)
        with open(sink, "rb") as f:
            lines = f.read().split(b"\n")
        self.assertEqual(lines[1:], [b""])
        self.assertEqual(lines[0], got)
        self.assertIn("rejected=0 errors=0", d.log_text())

    def test_long_datagram_with_cap_raised(self):
        """A cap above what the default send buffer carries: the sink
        raises the buffer and the alert arrives in one datagram, whole,
        untrimmed."""
        default = proc_size("/proc/sys/net/core/wmem_default")
        limit = proc_size("/proc/sys/net/core/wmem_max")
        cap = max(default, 65536) + 100000
        if default == 0 or 2 * limit < cap + 2048:
            self.skipTest("wmem_default %d, wmem_max %d" % (default, limit))
        rcv = self.receiver("dgram.sock")
        d = self.start(cap, "  - type: unix_dgram\n    path: %s\n" %
                       self.path("dgram.sock"))
        # 1000 values (max_values), some 40 bytes each over the padding,
        # and room for the rest of the alert.
        n = 1000
        cmds = self.attack(d, n, (cap - 60000) // n)
        got = rcv.recv(20)
        self.assertIsNotNone(got, d.log_text())
        self.assertGreater(len(got), default)
        self.assertLessEqual(len(got), cap)
        doc = json.loads(got)
        self.assertNotIn("burstd.truncated", list(doc))
        self.assertTrue(doc["Esql.process_command_line_values"] ==
                        sorted(cmds))
        self.assertEqual(d.stop(), 0)
        self.assertIn("rejected=0 errors=0", d.log_text())


if __name__ == "__main__":
    dt.BURSTD = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)
