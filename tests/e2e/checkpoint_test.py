#!/usr/bin/env python3
"""End-to-end tests of checkpoints with the live daemon: the forked
writer and its metrics, the spooled waiting alerts across kill -9, a
corrupt checkpoint kept aside, the window state of the retired built-in
rule at an upgrade, and the state directory's lock.

usage: checkpoint_test.py BURSTD [unittest args]
"""
import glob
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

import daemon_test as dt


class CheckpointTest(unittest.TestCase):
    setUp = dt.DaemonTest.setUp
    tearDown = dt.DaemonTest.tearDown
    start = dt.DaemonTest.start
    path = dt.DaemonTest.path

    def poll(self, stats, pred, timeout=20):
        """Scrapes until pred(metrics) holds; returns the last metrics."""
        deadline = time.monotonic() + timeout
        m = {}
        while time.monotonic() < deadline:
            m = dt.scrape(stats)
            if pred(m):
                return m
            time.sleep(0.05)
        self.fail("timed out; last metrics: %r" % m)

    def text(self, sinks, inputs=None, interval="100ms"):
        return dt.conf_close(self.tmp, inputs or
                       "  - type: unix\n    path: %s\n" % self.path("in.sock"),
                       sinks,
                       extra="  state_dir: %s\n  checkpoint_interval: %s\n"
                       "  stats_socket: %s\n" % (self.path("state"), interval,
                                                 self.path("stats.sock")))

    def test_metrics_and_failures(self):
        """Checkpoints are written in the background and exported: their
        count, size, duration, loop stall and age; a checkpoint that
        cannot be written is counted, the daemon goes on, and the next
        one works again."""
        os.mkdir(self.path("state"))
        stats = self.path("stats.sock")
        d = self.start(self.text("  - type: stdout\n"))
        m = self.poll(stats, lambda m: int(m["burstd_checkpoints_total"]) >= 3)
        self.assertEqual(m["burstd_checkpoints_failed_total"], "0")
        self.assertEqual(m["burstd_checkpoints_corrupt_total"], "0")
        self.assertLessEqual(int(m["burstd_checkpoint_age_seconds"]), 5)
        self.assertGreater(float(m["burstd_checkpoint_duration_seconds"]),
                           0)
        self.assertIn("burstd_checkpoint_stall_seconds", m)
        # Idle, every checkpoint has the same size: the file's.
        self.assertEqual(int(m["burstd_checkpoint_bytes"]),
                         os.path.getsize(self.path("state/checkpoint")))
        # No temporary can be made: counted, the daemon carries on.  (The
        # writer's own temporary may be there for a moment.)
        deadline = time.monotonic() + 20
        while True:
            try:
                os.mkdir(self.path("state/checkpoint.tmp"))
                break
            except FileExistsError:
                self.assertLess(time.monotonic(), deadline)
                time.sleep(0.01)
        m = self.poll(stats,
                      lambda m: int(m["burstd_checkpoints_failed_total"]) >= 2)
        os.rmdir(self.path("state/checkpoint.tmp"))
        written = int(m["burstd_checkpoints_total"])
        self.poll(stats, lambda m: int(m["burstd_checkpoints_total"]) >=
                  written + 2)
        self.assertIn("checkpoint.tmp", d.log_text())
        self.assertEqual(d.stop(), 0)
        self.assertEqual(glob.glob(self.path("state/*.tmp")), [])

    def test_waiting_alerts_survive_kill(self):
        """Alerts waiting for a sink that is down are spooled next to the
        checkpoint, not in it; after kill -9 and a restart they are
        delivered."""
        os.mkdir(self.path("state"))
        stats = self.path("stats.sock")
        sock = self.path("alerts.sock")
        sinks = ("  - type: unix\n    path: %s\n"
                 "    backoff_min: 50ms\n    backoff_max: 200ms\n" % sock)
        text = self.text(sinks)
        d = self.start(text)
        base = (int(time.time() * 1000) // 60000 - 5) * 60000
        c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        c.connect(self.path("in.sock"))
        for i, cmd in enumerate(dt.CMDS[:5]):
            c.sendall(dt.event(base + i * 1000, "PEND", cmd).encode())
        c.sendall(dt.heartbeat(base + 61500).encode())
        c.close()
        key = 'burstd_sink_queue_depth{sink="unix0"}'
        m = self.poll(stats, lambda m: m.get(key) == "1")
        done = int(m["burstd_checkpoints_total"])
        self.poll(stats, lambda m: int(m["burstd_checkpoints_total"]) >=
                  done + 2)
        # One spool per generation; a writer may be between writing the
        # next one and removing the last.
        spools = glob.glob(self.path("state/pending.*"))
        self.assertIn(len(spools), (1, 2), spools)
        for sp in spools:
            with open(sp) as f:
                self.assertIn('"PEND"', f.read())
        with open(self.path("state/checkpoint"), "rb") as f:
            self.assertNotIn(b'"PEND"', f.read())
        d.p.kill()
        d.p.wait()
        lst = dt.Listener(sock)
        try:
            d2 = self.start(text)
            got = lst.wait(1)
            self.assertEqual([a["process.parent.entity_id"] for a in got],
                             ["PEND"], d2.log_text())
            # Delivered, so the next checkpoint spools nothing.
            self.poll(stats, lambda m: m.get(key) == "0" and
                      not glob.glob(self.path("state/pending.*")))
            self.assertEqual(d2.stop(), 0)
        finally:
            lst.stop()

    def test_retired_window_state(self):
        """A checkpoint whose window state is the retired built-in rule's
        (a real one, as the version before the ES|QL default wrote it):
        said at err level, counted, not restored; the file positions are
        kept, so nothing is read twice, and the window that spanned the
        upgrade restarts empty."""
        os.mkdir(self.path("in"))
        os.mkdir(self.path("state"))
        log = self.path("in/events.ndjson")
        sink = self.path("alerts.ndjson")
        stats = self.path("stats.sock")
        text = self.text("  - type: file\n    path: %s\n" % sink,
                         inputs="  - type: file\n    paths: [%s]\n"
                         "    start_at: beginning\n    poll_interval: 50ms\n"
                         % log).replace("idle_close: 3s", "idle_close: 1h")
        base = (int(time.time() * 1000) // 60000 - 2) * 60000
        with open(log, "w") as f:
            for i, cmd in enumerate(dt.CMDS[:3]):
                f.write(dt.event(base + i * 1000, "UP", cmd))
        d = self.start(text)
        self.assertTrue(d.wait_matched(3), d.log_text())
        self.assertEqual(d.stop(), 0)   # the last checkpoint: 3 lines in
        old = os.path.join(os.environ["BURSTD_SOURCE_ROOT"], "tests", "data",
                           "checkpoint", "retired-window-state.bin")
        subprocess.run([os.environ["CKPT_RETIRE"], self.path("state"), old],
                       check=True)
        with open(log, "a") as f:
            for i, cmd in enumerate(dt.CMDS[3:5]):
                f.write(dt.event(base + 10000 + i * 1000, "UP", cmd))
            f.write(dt.heartbeat(base + 62000))
        d2 = self.start(text)
        self.assertTrue(d2.wait_log("window state of the retired built-in "
                                    "rule"), d2.log_text())
        self.assertIn("<3>", [l[:3] for l in d2.log_text().splitlines()
                              if "retired built-in rule" in l])
        m = self.poll(stats, lambda m: m.get(
            "burstd_lines_read_total") == "3" and m.get(
            "burstd_windows_closed_total") == "1")
        self.assertEqual(m["burstd_checkpoint_state_dropped_total"], "1")
        # Only the 3 new lines were read: the first 3 were not again, so
        # the window holds 2 command lines and does not alert.
        self.assertEqual(m["burstd_events_matched_total"], "3")
        self.assertEqual(m["burstd_alerts_total"], "0")
        self.assertEqual(d2.stop(), 0)
        got = []
        if os.path.exists(sink):
            with open(sink) as f:
                got = [l for l in f if '"UP"' in l]
        self.assertEqual(got, [])

    def test_corrupt_checkpoint_kept_aside(self):
        """A corrupt checkpoint is renamed aside, counted, and logged once
        with what is lost; the daemon starts afresh."""
        os.mkdir(self.path("state"))
        junk = b"BURSTDCK" + os.urandom(200)
        with open(self.path("state/checkpoint"), "wb") as f:
            f.write(junk)
        stats = self.path("stats.sock")
        d = self.start(self.text("  - type: stdout\n"))
        m = self.poll(stats, lambda m: int(m["burstd_checkpoints_total"]) >= 1)
        self.assertEqual(m["burstd_checkpoints_corrupt_total"], "1")
        kept = glob.glob(self.path("state/checkpoint.corrupt-*"))
        self.assertEqual(len(kept), 1)
        with open(kept[0], "rb") as f:
            self.assertEqual(f.read(), junk)
        log = d.log_text()
        self.assertEqual(log.count("corrupt, kept as"), 1, log)
        self.assertIn("the window state, the file positions", log)
        self.assertEqual(d.stop(), 0)
        # The fresh checkpoint is good: a restart finds nothing corrupt.
        d2 = self.start(self.text("  - type: stdout\n"))
        self.assertIn("resuming", d2.log_text())
        self.assertEqual(d2.stop(), 0)
        self.assertEqual(len(glob.glob(self.path("state/checkpoint.corrupt-*"))),
                         1)

    def test_state_dir_fixed_at_reload(self):
        """A reload that moves state_dir is refused whole: the lock is
        on the directory the daemon started with."""
        os.mkdir(self.path("state"))
        os.mkdir(self.path("state2"))
        stats = self.path("stats.sock")
        text = self.text("  - type: stdout\n")
        d = self.start(text)
        with open(d.conf, "w") as f:
            f.write(text.replace(self.path("state"), self.path("state2"))
                    .replace("log_level: info", "log_level: debug"))
        d.signal(signal.SIGHUP)
        self.assertTrue(d.wait_log("state_dir cannot change"), d.log_text())
        m = self.poll(stats, lambda m: True)
        n = int(m["burstd_checkpoints_total"])
        self.poll(stats, lambda m: int(m["burstd_checkpoints_total"]) > n)
        self.assertTrue(os.path.exists(self.path("state/checkpoint")))
        self.assertEqual(os.listdir(self.path("state2")), [])
        self.assertNotIn("reloaded", d.log_text())
        self.assertEqual(d.stop(), 0)

    def test_stop_kills_a_hung_writer(self):
        """A checkpoint writer that never finishes (stopped here, as a
        hung disk would hold it) does not hold up SIGTERM for ever: it is
        killed after 20 s, the last checkpoint is written and the daemon
        exits 0."""
        os.mkdir(self.path("state"))
        d = self.start(self.text("  - type: stdout\n"))
        base = (int(time.time() * 1000) // 60000) * 60000
        c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        c.connect(self.path("in.sock"))
        # Enough groups that a writer lives long enough to be caught.
        c.sendall("".join(dt.event(base, "HUNG%d" % i, "id")
                          for i in range(30000)).encode())
        c.close()
        children = "/proc/%d/task/%d/children" % (d.p.pid, d.p.pid)
        if not os.path.exists(children):
            self.skipTest("no " + children)
        writer = None
        deadline = time.monotonic() + 120
        while writer is None and time.monotonic() < deadline:
            with open(children) as f:
                kids = f.read().split()
            if not kids:
                time.sleep(0.001)
                continue
            try:
                os.kill(int(kids[0]), signal.SIGSTOP)
            except ProcessLookupError:
                continue  # that writer finished between the two reads
            # Caught alive, not as it was exiting.
            try:
                with open("/proc/%s/stat" % kids[0]) as f:
                    state = f.read().rsplit(")", 1)[1].split()[0]
            except OSError:
                state = "gone"
            if state == "T":
                writer = int(kids[0])
        self.assertIsNotNone(writer, d.log_text())
        stopping = time.time()
        self.assertEqual(d.stop(timeout=90), 0)
        log = d.log_text()
        self.assertIn("checkpoint writer %d: still running after 20 s; "
                      "killed" % writer, log)
        # The last checkpoint was written after the writer was killed.
        self.assertGreaterEqual(
            os.path.getmtime(self.path("state/checkpoint")), stopping + 19)
        self.assertEqual(glob.glob(self.path("state/*.tmp")), [])

    def test_second_instance_refused(self):
        """A second daemon on the same state_dir stops at start, saying
        which one holds it; the first is unharmed."""
        os.mkdir(self.path("state"))
        text = self.text("  - type: stdout\n")
        d = self.start(text)
        other = os.path.join(self.tmp, "other")
        os.mkdir(other)
        d2 = dt.Daemon(other, text.replace(self.path("in.sock"),
                                           os.path.join(other, "in.sock"))
                       .replace(self.path("stats.sock"),
                                os.path.join(other, "stats.sock")))
        self.daemons.append(d2)
        self.assertEqual(d2.p.wait(30), 1)
        self.assertIn("%s is in use by another burstd (pid %d)" %
                      (self.path("state"), d.p.pid), d2.log_text())
        self.assertIsNone(d.p.poll())
        self.assertEqual(d.stop(), 0)
        # Once the first is gone the directory is free.
        d3 = self.start(text)
        self.assertEqual(d3.stop(), 0)


if __name__ == "__main__":
    dt.BURSTD = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)
