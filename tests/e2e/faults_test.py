#!/usr/bin/env python3
"""End-to-end tests of the daemon under faults of the files it tails and
of its own runs: a writer that reopens its log late after a rotation, a
file truncated and written past the old offset between two looks,
restarts (clean, kill -9, unreadable checkpoint) around rotations, and a
reload whose new input cannot start.  The ES|QL path (the seed's query,
tests/data/esql/seed.esql, loaded by rules:) meets a writer that reopens
late, a kill -9 around a rotation, and a downtime of minutes; its alerts
must be those of burstd --replay --rule on the same events.  The built binary runs in a
temporary directory with real files, signals and sockets; the helpers
are daemon_test.py's.

usage: faults_test.py BURSTD [unittest args]
"""
import json
import os
import signal
import socket
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import daemon_test as dt  # noqa: E402

SEED = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data",
                    "esql", "seed.esql")


def counter(d, name, timeout=10):
    """The last value of counter name that SIGUSR1 logs, asked anew."""
    before = d.log_text().count("counter %s=" % name)
    d.signal(signal.SIGUSR1)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = d.log_text()
        if text.count("counter %s=" % name) > before:
            line = text[text.rindex("counter %s=" % name):].split("\n")[0]
            return int(line.split("=")[1])
        time.sleep(0.05)
    raise AssertionError("no counter %s in the log" % name)


def wait_counter(d, name, n, timeout=20):
    """Asks for the counters until name reaches n; returns the last."""
    deadline = time.monotonic() + timeout
    v = None
    while time.monotonic() < deadline:
        v = counter(d, name)
        if v >= n:
            return v
        time.sleep(0.2)
    return v


def input_stat(d, name):
    """An input 0 counter (rotations, truncations...) as logged."""
    counter(d, "lines_read")
    text = d.log_text()
    line = text[text.rindex("counters: input 0:"):].split("\n")[0]
    return int(line.split(" %s=" % name)[1].split()[0])


def lines(n0, n, parent, base):
    return "".join(dt.event(base + 10 * i, parent, "%s %d" %
                            (dt.CMDS[i % 6], i)) for i in range(n0, n0 + n))


class FaultsTest(unittest.TestCase):
    # daemon_test's fixtures, not its tests.
    setUp = dt.DaemonTest.setUp
    tearDown = dt.DaemonTest.tearDown
    start = dt.DaemonTest.start
    path = dt.DaemonTest.path

    def file_conf(self, extra_input="", extra_daemon="", pattern=None):
        return dt.conf(self.tmp,
                       "  - type: file\n    paths: [%s]\n"
                       "    poll_interval: 100ms\n"
                       "    rescan_interval: 200ms\n" %
                       (pattern or self.path("in/*.ndjson")) + extra_input,
                       "  - type: file\n    path: %s\n" %
                       self.path("alerts.ndjson"), extra=extra_daemon)

    def state(self):
        os.mkdir(self.path("state"))
        return ("  state_dir: %s\n  checkpoint_interval: 100ms\n" %
                self.path("state"))

    def test_late_reopen(self):
        """mv app app.1; : > app; the writer appends to its open file
        1.5 s later: those lines are read, and the old file is closed
        only once it has been idle for close_inactive."""
        os.mkdir(self.path("in"))
        log = self.path("in/app.ndjson")
        base = (int(time.time() * 1000) // 60000 - 2) * 60000
        w = open(log, "a")
        # close_inactive well above the waits below, on a loaded machine.
        d = self.start(self.file_conf("    close_inactive: 8s\n"))
        w.write(lines(0, 4, "LATE", base))
        w.flush()
        self.assertEqual(wait_counter(d, "lines_read", 4), 4, d.log_text())
        os.rename(log, log + ".1")
        open(log, "w").close()
        time.sleep(1.5)
        w.write(lines(4, 6, "LATE", base))
        w.flush()
        self.assertEqual(wait_counter(d, "lines_read", 10), 10,
                         d.log_text())
        self.assertEqual(input_stat(d, "rotations"), 0, d.log_text())
        w.close()                       # the writer reopens at last
        with open(log, "a") as f:
            f.write(lines(10, 2, "LATE", base))
        self.assertEqual(wait_counter(d, "lines_read", 12), 12,
                         d.log_text())
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline:
            if input_stat(d, "rotations") == 1:
                break
            time.sleep(0.3)
        self.assertEqual(input_stat(d, "rotations"), 1, d.log_text())
        self.assertIn("rotated; idle, closed at offset", d.log_text())
        self.assertEqual(counter(d, "lines_read"), 12)
        self.assertEqual(d.stop(), 0)

    def test_truncate_regrow(self):
        """copytruncate, then more bytes than the old offset before the
        next look: the bytes before the offset changed, so the file is
        read again from its start."""
        os.mkdir(self.path("in1"))
        log = self.path("in1/app.ndjson")
        base = (int(time.time() * 1000) // 60000 - 2) * 60000
        with open(log, "w") as f:
            f.write(lines(0, 5, "TR", base))
        # A pattern in the directory part: no inotify, polls only, 3 s
        # apart, so the rewrite below falls between two looks.
        text = dt.conf(self.tmp,
                       "  - type: file\n    paths: [%s]\n"
                       "    start_at: beginning\n"
                       "    poll_interval: 3s\n"
                       "    rescan_interval: 1h\n" %
                       self.path("in?/*.ndjson"),
                       "  - type: file\n    path: %s\n" %
                       self.path("alerts.ndjson"))
        d = self.start(text)
        self.assertEqual(wait_counter(d, "lines_read", 5), 5, d.log_text())
        new = lines(100, 8, "TR", base)
        self.assertGreater(len(new), os.path.getsize(log))
        with open(log, "r+") as f:       # truncate and write in one go
            f.truncate(0)
            f.write(new)
        self.assertEqual(wait_counter(d, "lines_read", 13), 13,
                         d.log_text())
        self.assertEqual(input_stat(d, "truncations"), 1, d.log_text())
        self.assertEqual(counter(d, "json_invalid"), 0)
        self.assertEqual(d.stop(), 0)

    def test_restart_reads_rotated_file(self):
        """Rotation while the daemon is down, start_at: end: after the
        restart the new file is read from its start, and the rest of the
        old one from its saved position though no pattern matches its
        new name."""
        os.mkdir(self.path("in"))
        log = self.path("in/app.ndjson")
        base = (int(time.time() * 1000) // 60000 - 2) * 60000
        with open(log, "w") as f:
            f.write(lines(0, 3, "RS", base))
        text = self.file_conf("    start_at: end\n", self.state())
        d = self.start(text)
        with open(log, "a") as f:
            f.write(lines(3, 4, "RS", base))
        self.assertEqual(wait_counter(d, "lines_read", 4), 4, d.log_text())
        self.assertEqual(d.stop(), 0)
        with open(log, "a") as f:           # the last lines before it
            f.write(lines(7, 2, "RS", base))
        os.rename(log, log + ".1")          # no pattern matches app.1
        with open(log, "w") as f:
            f.write(lines(9, 5, "RS", base))
        d2 = self.start(text)
        # The 2 found by the old file's inode, the new file whole.
        self.assertEqual(wait_counter(d2, "lines_read", 7), 7,
                         d2.log_text())
        self.assertIn("renamed while stopped", d2.log_text())
        time.sleep(0.5)
        self.assertEqual(counter(d2, "lines_read"), 7)
        self.assertEqual(d2.stop(), 0)
        # A third start with nothing new reads nothing again.
        d3 = self.start(text)
        self.assertTrue(d3.wait_log("resuming 2 file(s)"), d3.log_text())
        time.sleep(0.5)
        self.assertEqual(counter(d3, "lines_read"), 0, d3.log_text())
        self.assertEqual(d3.stop(), 0)

    def test_corrupt_checkpoint(self):
        """An unreadable checkpoint: still a restart, so start_at: end
        does not apply and every file is read from its start."""
        os.mkdir(self.path("in"))
        log = self.path("in/app.ndjson")
        base = (int(time.time() * 1000) // 60000 - 2) * 60000
        with open(log, "w") as f:
            f.write(lines(0, 3, "CC", base))
        text = self.file_conf("    start_at: end\n", self.state())
        d = self.start(text)
        time.sleep(0.5)
        self.assertEqual(counter(d, "lines_read"), 0, d.log_text())
        self.assertEqual(d.stop(), 0)
        ck = self.path("state/checkpoint")
        self.assertTrue(os.path.exists(ck))
        with open(ck, "r+b") as f:
            data = bytearray(f.read())
            for i in range(8, len(data), 7):
                data[i] ^= 0x5a
            f.seek(0)
            f.write(bytes(data))
        with open(log, "a") as f:
            f.write(lines(3, 2, "CC", base))
        d2 = self.start(text)
        self.assertEqual(wait_counter(d2, "lines_read", 5), 5,
                         d2.log_text())
        self.assertEqual(d2.stop(), 0)

    def test_kill9_with_rotation(self):
        """kill -9 while a writer writes, a rotation while the daemon is
        down to a name the pattern does not match, start_at: end: every
        line is counted once and the alerts are those a replay of the
        same data gives."""
        self.kill9_with_rotation(esql=False)

    def test_esql_kill9_with_rotation(self):
        """The same with the seed's ES|QL text loaded by rules:, compared
        with burstd --replay --rule."""
        self.kill9_with_rotation(esql=True)

    def test_esql_kill9_during_rotation(self):
        """ES|QL, a rotation while the daemon runs (both files have lines
        it has not read), kill -9 at once, more lines in both files while
        it is down: after the restart every line is counted once and the
        alerts are those of burstd --replay --rule."""
        self.kill9_with_rotation(esql=True, during=True)

    def rules(self):
        return "rules:\n  - %s\n" % os.path.abspath(SEED)

    def kill9_with_rotation(self, esql, during=False):
        os.mkdir(self.path("in"))
        log = self.path("in/app.ndjson")
        base = (int(time.time() * 1000) // 60000 - 5) * 60000
        # The pattern does not match the rotated name: the rest of the
        # old file is found by its inode.
        text = self.file_conf("    start_at: end\n",
                              self.state()).replace("idle_close: 3s",
                                                    "idle_close: 1h")
        if esql:
            text += self.rules()
        open(log, "w").close()
        d = self.start(text)
        data = []
        n = 0

        def write(path, count):
            nonlocal n
            with open(path, "a") as f:
                for _ in range(count):
                    # Groups of 30 lines, all in one minute: the files
                    # are read side by side, none of them is late.
                    t = base + n * 10
                    e = dt.event(t, "K%d" % (n // 30), "%s %d" %
                                 (dt.CMDS[n % 6], n))
                    f.write(e)
                    data.append(e)
                    n += 1
                    if n % 7 == 0:
                        f.flush()
                        time.sleep(0.002)

        write(log, 200)
        if during:
            # Rotated while it runs: the old file has lines not yet
            # read, the new one some already, when it is killed.
            os.rename(log, log + ".1")
            write(log, 30)
            d.p.kill()
            d.p.wait()
            write(log + ".1", 40)       # the writer's last lines there
        else:
            d.p.kill()                      # mid-stream, no goodbye
            d.p.wait()
            write(log, 40)
            os.rename(log, log + ".1")      # rotated while down
        write(log, 150)
        d2 = self.start(text)
        write(log, 100)
        # Everything read before the watermark moves past the minute.
        last, stable = -1, 0
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and stable < 3:
            v = counter(d2, "lines_read")
            stable = stable + 1 if v == last else 0
            last = v
            time.sleep(0.3)
        with open(log, "a") as f:
            e = dt.heartbeat(base + 2 * 60000)
            f.write(e)
            data.append(e)
        deadline = time.monotonic() + 30
        want = self.replay(data, esql)
        self.assertTrue(want)
        got = {}
        # Under alert_on: threshold (ES|QL) the early documents come
        # first: wait for the last document of each uuid.
        while time.monotonic() < deadline and got != want:
            got = self.alerts()
            time.sleep(0.2)
        self.assertEqual(d2.stop(), 0)
        got = self.alerts()
        self.assertEqual(sorted(got), sorted(want), d2.log_text())
        for k in want:
            self.assertEqual(got[k], want[k], k)

    def replay(self, data, esql=False):
        src = self.path("replay.ndjson")
        with open(src, "w") as f:
            f.write("".join(data))
        cf = self.path("replay.yaml")
        with open(cf, "w") as f:
            f.write("window:\n  allowed_lateness: 1s\n")
        rule = ["--rule", SEED] if esql else []
        out = subprocess.run([dt.BURSTD, "--replay", "-c", cf] + rule +
                             [src], capture_output=True, check=True,
                             text=True)
        return self.by_uuid(out.stdout.splitlines())

    def alerts(self):
        p = self.path("alerts.ndjson")
        if not os.path.exists(p):
            return {}
        with open(p) as f:
            return self.by_uuid(f.read().splitlines())

    @staticmethod
    def by_uuid(text_lines):
        got = {}
        for line in text_lines:
            a = json.loads(line)
            got[a["kibana.alert.uuid"]] = (
                a["process.parent.entity_id"],
                a["Esql.process_command_line_count_distinct"],
                sorted(a.get("Esql.process_command_line_values", [])),
                a.get("burstd.window_start"))
        return got

    def wait_alerts(self, want, timeout=30):
        """The alerts, once the last document of each uuid is want's."""
        deadline = time.monotonic() + timeout
        got = {}
        while time.monotonic() < deadline and got != want:
            got = self.alerts()
            time.sleep(0.2)
        return got

    def phases(self):
        """Each uuid's burstd.phase values, in the order written."""
        out = {}
        with open(self.path("alerts.ndjson")) as f:
            for line in f:
                a = json.loads(line)
                out.setdefault(a["kibana.alert.uuid"], []).append(
                    a.get("burstd.phase"))
        return out

    def test_esql_late_reopen(self):
        """The seed's ES|QL text: mv app app.1, the writer goes on in
        app.1, the new app appears 1.5 s later: every line is read, once,
        and the alerts are those of a replay with --rule."""
        os.mkdir(self.path("in"))
        log = self.path("in/app.ndjson")
        base = (int(time.time() * 1000) // 60000 - 3) * 60000
        text = self.file_conf("    close_inactive: 8s\n").replace(
            "idle_close: 3s", "idle_close: 1h") + self.rules()
        data = []

        def write(f, text):
            f.write(text)
            f.flush()
            data.append(text)
        w = open(log, "a")
        d = self.start(text)
        write(w, lines(0, 3, "LATE", base))
        self.assertEqual(wait_counter(d, "lines_read", 3), 3, d.log_text())
        os.rename(log, log + ".1")          # no new file yet
        write(w, lines(3, 3, "LATE", base))
        self.assertEqual(wait_counter(d, "lines_read", 6), 6, d.log_text())
        time.sleep(1.5)
        w.close()                           # the writer reopens at last
        with open(log, "a") as f:
            write(f, lines(6, 6, "NEW", base))
        self.assertEqual(wait_counter(d, "lines_read", 12), 12,
                         d.log_text())
        with open(log, "a") as f:           # past both groups' window
            write(f, dt.heartbeat(base + 2 * 60000))
        want = self.replay(data, esql=True)
        self.assertEqual(sorted(p for p, *_ in want.values()),
                         ["LATE", "NEW"])
        got = self.wait_alerts(want)
        self.assertEqual(got, want, d.log_text())
        self.assertEqual(counter(d, "lines_read"), 13)
        self.assertEqual(counter(d, "events_late"), 0)
        self.assertEqual(d.stop(), 0)
        self.assertEqual(self.alerts(), want, d.log_text())
        # The daemon's default, alert_on: threshold: each group alerted
        # at its fifth command, and again with the sixth at the close.
        self.assertEqual(sorted(self.phases().values()),
                         [["early", "final"]] * 2)

    def test_esql_downtime_minutes(self):
        """The seed's ES|QL text, a checkpoint: the daemon stops with a
        group half made; while it is down the writer goes on for minutes
        of event time (the group's last commands, an attack three minutes
        later, one of another agent, a group below the thresholds); after
        the restart every window closes and alerts as a replay with
        --rule of the same file does."""
        self.downtime("threshold")

    def test_esql_downtime_minutes_close(self):
        """The same with window.alert_on: close: one document each."""
        self.downtime("close")

    def downtime(self, alert_on):
        os.mkdir(self.path("in"))
        log = self.path("in/app.ndjson")
        base = (int(time.time() * 1000) // 60000 - 12) * 60000
        text = self.file_conf("    start_at: end\n", self.state()).replace(
            "idle_close: 3s", "idle_close: 1h") + self.rules()
        text = text.replace("  tick_interval: 100ms\n",
                            "  tick_interval: 100ms\n"
                            "  stats_socket: %s\n" % self.path("stats.sock"))
        text = text.replace("window:\n", "window:\n  alert_on: %s\n" %
                            alert_on)
        open(log, "w").close()
        data = []

        def write(evs):
            with open(log, "a") as f:
                f.write("".join(evs))
            data.extend(evs)

        def attack(parent, t, cmds, agent="agent-1"):
            return [dt.event(t + 1000 * i, parent, "%s %d" % (c, i),
                             agent=agent) for i, c in enumerate(cmds)]
        d = self.start(text)
        a = attack("A", base, dt.CMDS[:6])
        write(a[:3])
        self.assertEqual(wait_counter(d, "lines_read", 3), 3, d.log_text())
        time.sleep(0.3)                     # a checkpoint after them
        self.assertEqual(d.stop(), 0)
        self.assertEqual(self.alerts(), {})
        # Down: minutes of events.
        write(a[3:])
        write(attack("B", base + 3 * 60000, dt.CMDS[1:7]))
        write(attack("D", base + 4 * 60000, dt.CMDS[:6], agent="agent-2"))
        write(attack("C", base + 6 * 60000, dt.CMDS[:4]))
        write([dt.heartbeat(base + 9 * 60000),
               dt.heartbeat(base + 9 * 60000, agent="agent-2")])
        want = self.replay(data, esql=True)
        self.assertEqual(sorted(p for p, *_ in want.values()),
                         ["A", "B", "D"])
        d2 = self.start(text)
        got = self.wait_alerts(want)
        self.assertEqual(got, want, d2.log_text())
        self.assertEqual(counter(d2, "lines_read"), len(data) - 3)
        self.assertEqual(counter(d2, "events_late"), 0)
        m = dt.scrape(self.path("stats.sock"))
        rule = [k for k in m if k.startswith("burstd_rule_alerts_total{")]
        self.assertEqual(len(rule), 1, m)
        self.assertEqual(m[rule[0]], "3")
        # Every window closed: A, B, D, C and the two heartbeats' are
        # six groups, all but the heartbeats' closed by a later event.
        closed = m[rule[0].replace("alerts_total", "windows_closed_total")]
        self.assertEqual(closed, "4")
        self.assertEqual(d2.stop(), 0)
        self.assertEqual(self.alerts(), want)
        # Early at the fifth command, final with the sixth; or one
        # document at the close.
        self.assertEqual(sorted(self.phases().values()),
                         [["early", "final"]] * 3 if alert_on == "threshold"
                         else [[None]] * 3)

    def test_reload_all_or_nothing(self):
        """A valid reload whose new input cannot start changes nothing:
        the old input keeps running, no "reloaded", a counted failure."""
        sock = self.path("in.sock")
        inputs = "  - type: unix\n    path: %s\n" % sock
        sinks = "  - type: file\n    path: %s\n" % self.path("alerts.ndjson")
        d = self.start(dt.conf(self.tmp, inputs, sinks))
        base = int(time.time() * 1000)
        with open(d.conf, "w") as f:
            f.write(dt.conf(self.tmp,
                            "  - type: unix\n    path: %s\n"
                            "  - type: unix\n    path: %s\n" %
                            (self.path("other.sock"),
                             self.path("no/such/dir/x.sock")), sinks,
                            extra="  stats_socket: %s\n" %
                            self.path("stats.sock")))
        d.signal(signal.SIGHUP)
        self.assertTrue(d.wait_log("reload failed: "), d.log_text())
        self.assertNotIn("reloaded", d.log_text())
        self.assertEqual(counter(d, "reloads_failed"), 1, d.log_text())
        stats = self.path("stats.sock")
        self.assertFalse(os.path.exists(stats))  # nothing of it applied
        deadline = time.monotonic() + 10
        while (time.monotonic() < deadline and
               os.path.exists(self.path("other.sock"))):
            time.sleep(0.05)
        self.assertFalse(os.path.exists(self.path("other.sock")))
        c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        c.connect(sock)
        for i, cmd in enumerate(dt.CMDS[:3]):
            c.sendall(dt.event(base + i, "RL", cmd).encode())
        c.close()
        self.assertTrue(d.wait_matched(3), d.log_text())
        self.assertEqual(d.stop(), 0)


if __name__ == "__main__":
    dt.BURSTD = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)
