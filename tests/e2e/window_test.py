#!/usr/bin/env python3
"""End-to-end tests of the window store's memory across time and
restarts: one alert per (group, window), ever, and restored windows that
are not closed for the time the daemon was down.

usage: window_test.py BURSTD [unittest args]
"""
import json
import os
import signal
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import daemon_test as dt  # noqa: E402


def alerts(path, parent):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(l) for l in f
                if '"process.parent.entity_id":"%s"' % parent in l]


def wait_alerts(path, parent, n, timeout=20):
    deadline = time.monotonic() + timeout
    got = alerts(path, parent)
    while time.monotonic() < deadline and len(got) < n:
        time.sleep(0.1)
        got = alerts(path, parent)
    return got


class WindowTest(unittest.TestCase):
    setUp = dt.DaemonTest.setUp
    tearDown = dt.DaemonTest.tearDown
    start = dt.DaemonTest.start
    path = dt.DaemonTest.path

    def conf(self, window):
        return ("log_level: info\n"
                "window:\n  alert_on: close\n" + window +
                "daemon:\n  tick_interval: 100ms\n"
                "  state_dir: %s\n  checkpoint_interval: 100ms\n"
                % self.path("state") +
                "inputs:\n  - type: file\n    paths: [%s/in/*.ndjson]\n"
                "    start_at: end\n    poll_interval: 50ms\n" % self.tmp +
                "sinks:\n  - type: file\n    path: %s\n"
                % self.path("alerts.ndjson"))

    def test_forgotten_agent_alerts_once(self):
        """An agent forgotten for silence keeps its decided window: the
        same attack sent again, before and after a restart, is too late
        and makes no second alert."""
        os.mkdir(self.path("in"))
        os.mkdir(self.path("state"))
        log = self.path("in/events.ndjson")
        sink = self.path("alerts.ndjson")
        # Forgotten after idle_close + late_horizon = 2 s of silence.
        text = self.conf("  allowed_lateness: 1s\n  idle_close: 1s\n"
                         "  late_horizon: 1s\n")
        open(log, "w").close()
        d = self.start(text)
        base = (int(time.time() * 1000) // 60000 - 2) * 60000
        attack = "".join(dt.event(base + 1000 * i, "TB", c)
                         for i, c in enumerate(dt.CMDS[:5]))
        with open(log, "a") as f:
            f.write(attack)
        got = wait_alerts(sink, "TB", 1)
        self.assertEqual(len(got), 1, d.log_text())
        time.sleep(3)                   # silent: the agent is forgotten
        with open(log, "a") as f:
            f.write(attack)
        self.assertTrue(d.wait_matched(10), d.log_text())
        time.sleep(2)                   # an idle close would alert now
        self.assertEqual(len(alerts(sink, "TB")), 1, d.log_text())
        d.signal(signal.SIGUSR1)
        self.assertTrue(d.wait_log("counter events_too_late=5\n"),
                        d.log_text())
        self.assertEqual(d.stop(), 0)

        # The tombstone is in the checkpoint.
        d2 = self.start(text)
        self.assertTrue(d2.wait_log("resuming 1 file(s)"), d2.log_text())
        with open(log, "a") as f:
            f.write(attack)
        self.assertTrue(d2.wait_matched(5), d2.log_text())
        time.sleep(2)
        self.assertEqual(len(alerts(sink, "TB")), 1, d2.log_text())
        d2.signal(signal.SIGUSR1)
        self.assertTrue(d2.wait_log("counter events_too_late=5\n"),
                        d2.log_text())
        self.assertEqual(d2.stop(), 0)

    def test_restored_window_survives_downtime(self):
        """kill -9 mid-window, down longer than idle_close: the restored
        window stays open for the rest of the attack, which alerts once,
        whole and not late."""
        os.mkdir(self.path("in"))
        os.mkdir(self.path("state"))
        log = self.path("in/events.ndjson")
        sink = self.path("alerts.ndjson")
        text = self.conf("  allowed_lateness: 1s\n  idle_close: 5s\n")
        open(log, "w").close()
        d = self.start(text)
        base = (int(time.time() * 1000) // 60000 - 2) * 60000
        with open(log, "a") as f:
            for i, cmd in enumerate(dt.CMDS[:3]):
                f.write(dt.event(base + i * 1000, "DT", cmd))
        self.assertTrue(d.wait_matched(3), d.log_text())
        time.sleep(0.5)                 # a checkpoint or more after that
        d.p.kill()
        d.p.wait()
        time.sleep(7)                   # down longer than idle_close
        d2 = self.start(text)
        self.assertTrue(d2.wait_log("resuming 1 file(s)"), d2.log_text())
        time.sleep(0.5)                 # ticks run before the rest comes
        with open(log, "a") as f:
            for i, cmd in enumerate(dt.CMDS[3:6]):
                f.write(dt.event(base + 10000 + i * 1000, "DT", cmd))
            f.write(dt.heartbeat(base + 62000))
        got = wait_alerts(sink, "DT", 1)
        self.assertEqual(len(got), 1, d2.log_text())
        self.assertEqual(got[0]["Esql.process_command_line_count_distinct"],
                         6)
        self.assertFalse(got[0].get("burstd.late", False))
        self.assertEqual(d2.stop(), 0)


if __name__ == "__main__":
    dt.BURSTD = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)
