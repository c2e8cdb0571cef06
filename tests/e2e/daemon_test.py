#!/usr/bin/env python3
"""End-to-end tests of the live daemon: the built binary in a temporary
directory with real files, sockets and signals.

usage: daemon_test.py BURSTD [unittest args]
"""
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

BURSTD = None
CMDS = ["grep -r key /etc", "find / -perm -4000", "curl -s http://h/x",
        "env | sort", "wget -q http://h/y", "whoami", "uname -a", "id"]


def iso(ms):
    t = time.gmtime(ms // 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", t) + ".%03dZ" % (ms % 1000)


def event(ts_ms, parent, cmd, agent="agent-1", host="host-1"):
    return json.dumps({
        "@timestamp": iso(ts_ms),
        "agent": {"id": agent, "type": "endpoint"},
        "host": {"name": host, "os": {"type": "linux"}},
        "event": {"type": ["start"], "action": "exec",
                  "dataset": "endpoint.events.process"},
        "data_stream": {"namespace": "default"},
        "process": {"name": "sh", "args": ["sh", "-c", cmd],
                    "command_line": "sh -c " + cmd,
                    "parent": {"name": "python3", "entity_id": parent}},
    }) + "\n"


def heartbeat(ts_ms, agent="agent-1"):
    """A matching event of its own group: it only moves the watermark."""
    return event(ts_ms, "heartbeat", "true", agent=agent)


class Listener:
    """A Unix stream socket that collects NDJSON lines in a thread."""

    def __init__(self, path):
        self.path = path
        self.lines = []
        self.cond = threading.Condition()
        self.srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        if os.path.exists(path):
            os.unlink(path)
        self.srv.bind(path)
        self.srv.listen(8)
        self.srv.settimeout(0.2)
        self.stopped = False
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def run(self):
        conns = []
        bufs = {}
        while not self.stopped:
            try:
                c, _ = self.srv.accept()
                c.settimeout(0.05)
                conns.append(c)
                bufs[c] = b""
            except socket.timeout:
                pass
            for c in list(conns):
                try:
                    data = c.recv(65536)
                except socket.timeout:
                    continue
                except OSError:
                    data = b""
                if not data:
                    conns.remove(c)
                    c.close()
                    continue
                bufs[c] += data
                while b"\n" in bufs[c]:
                    line, bufs[c] = bufs[c].split(b"\n", 1)
                    with self.cond:
                        self.lines.append(json.loads(line))
                        self.cond.notify_all()
        for c in conns:
            c.close()

    def wait(self, n, timeout=20):
        deadline = time.monotonic() + timeout
        with self.cond:
            while len(self.lines) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self.cond.wait(left)
            return list(self.lines)

    def stop(self):
        self.stopped = True
        self.t.join(5)
        self.srv.close()
        os.unlink(self.path)


class Daemon:
    def __init__(self, tmp, conf_text):
        self.tmp = tmp
        self.conf = os.path.join(tmp, "burstd.yaml")
        with open(self.conf, "w") as f:
            f.write(conf_text)
        self.log = open(os.path.join(tmp, "burstd.log"), "w+")
        self.logpath = self.log.name
        self.p = subprocess.Popen([BURSTD, "-c", self.conf],
                                  stdout=subprocess.DEVNULL, stderr=self.log)

    def log_text(self):
        self.log.flush()
        with open(self.log.name) as f:
            return f.read()

    def wait_log(self, text, timeout=10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.log_text():
                return True
            time.sleep(0.05)
        return False

    def signal(self, sig):
        self.p.send_signal(sig)

    def wait_matched(self, n, timeout=10):
        """Asks for the counters (SIGUSR1) until n events have matched."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.p.send_signal(signal.SIGUSR1)
            if self.wait_log("counter events_matched=%d\n" % n, 0.3):
                return True
        return False

    def stop(self, timeout=15):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
        try:
            return self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            self.log.close()
            self.p.kill()
            self.p.wait()
            raise AssertionError("burstd did not stop on SIGTERM")


def conf(tmp, inputs, sinks, extra="", alert_on=None):
    """extra: more keys of the daemon section, indented; alert_on, if
    given, window.alert_on."""
    return ("log_level: info\n"
            "window:\n  allowed_lateness: 1s\n  idle_close: 3s\n" +
            ("  alert_on: %s\n" % alert_on if alert_on else "") +
            "daemon:\n  tick_interval: 100ms\n" + extra +
            "inputs:\n" + inputs + "sinks:\n" + sinks)


def conf_close(tmp, inputs, sinks, extra=""):
    """conf() with alerts at window close, where the tests that use it
    look at them (the early documents of the daemon's default,
    alert_on: threshold, have tests of their own)."""
    return conf(tmp, inputs, sinks, extra, alert_on="close")


def scrape(path):
    """One snapshot of the stats socket at path, as {sample: value}."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(path)
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    return dict(line.rsplit(" ", 1) for line in data.decode().splitlines()
                if line and not line.startswith("#"))


def alerts_of(lines, parent):
    return [a for a in lines if a.get("process.parent.entity_id") == parent]


class DaemonCase(unittest.TestCase):
    """A temporary directory, and the daemons and listeners a test
    starts (appended to self.daemons, self.listeners), killed and
    stopped after it."""

    def setUp(self):
        self.tmpdir = tempfile.TemporaryDirectory()
        self.tmp = self.tmpdir.name
        self.daemons = []
        self.listeners = []

    def tearDown(self):
        for d in self.daemons:
            if d.p.poll() is None:
                d.p.kill()
                d.p.wait()
            d.log.close()
        for listener in self.listeners:
            listener.stop()
        self.tmpdir.cleanup()

    def path(self, name):
        return os.path.join(self.tmp, name)

    def write(self, name, text):
        with open(self.path(name), "w") as f:
            f.write(text)
        return self.path(name)


class DaemonTest(DaemonCase):
    def start(self, text):
        d = Daemon(self.tmp, text)
        self.daemons.append(d)
        self.assertTrue(d.wait_log("started: "), d.log_text())
        return d

    def test_tail_to_unix_sink(self):
        """Appended events give the alert on a Unix socket, soon after
        the window closes (allowed lateness plus milliseconds)."""
        lst = Listener(self.path("alerts.sock"))
        os.mkdir(self.path("in"))
        log = self.path("in/events.ndjson")
        open(log, "w").close()
        d = self.start(conf_close(self.tmp,
                            "  - type: file\n    paths: [%s/in/*.ndjson]\n"
                            "    poll_interval: 100ms\n" % self.tmp,
                            "  - type: unix\n    path: %s\n" %
                            self.path("alerts.sock")))
        base = (int(time.time() * 1000) // 60000 - 2) * 60000
        with open(log, "a") as f:
            for i, c in enumerate(CMDS[:6]):
                f.write(event(base + 1000 * i, "P1", c))
            # Half a line: held until its newline arrives.
            f.write(event(base + 9000, "P1", "ls -la")[:50])
        time.sleep(0.5)
        self.assertEqual(lst.wait(1, timeout=0.5), [])
        with open(log, "a") as f:
            f.write(event(base + 9000, "P1", "ls -la")[50:])
            # Event time passes the window end plus lateness.
            f.write(heartbeat(base + 61000))
        t0 = time.monotonic()
        got = alerts_of(lst.wait(1), "P1")
        latency = time.monotonic() - t0
        self.assertEqual(len(got), 1, d.log_text())
        self.assertEqual(got[0]["Esql.process_command_line_count_distinct"], 7)
        self.assertEqual(got[0]["Esql.patterns_count_distinct"], 7)
        self.assertLess(latency, 5)
        print("\n  alert %.0f ms after the closing event" % (latency * 1000),
              file=sys.stderr)
        self.assertEqual(d.stop(), 0)
        lst.stop()

    def test_rotation_loses_nothing(self):
        """Rename rotation and copytruncate mid-stream lose no event."""
        lst = Listener(self.path("alerts.sock"))
        os.mkdir(self.path("in"))
        log = self.path("in/events.ndjson")
        open(log, "w").close()
        d = self.start(conf_close(self.tmp,
                            "  - type: file\n    paths: [%s/in/*.ndjson]\n"
                            "    poll_interval: 100ms\n"
                            "    rescan_interval: 200ms\n" % self.tmp,
                            "  - type: unix\n    path: %s\n" %
                            self.path("alerts.sock")))
        base = (int(time.time() * 1000) // 60000 - 2) * 60000
        n = 0

        def write(path, count):
            nonlocal n
            with open(path, "a") as f:
                for _ in range(count):
                    f.write(event(base + n * 10, "ROT",
                                  "%s %d" % (CMDS[n % 6], n)))
                    n += 1

        write(log, 100)
        time.sleep(0.4)
        os.rename(log, log + ".1")            # rename rotation
        write(log + ".1", 20)                  # late writes to the old file
        write(log, 100)                        # the new file
        time.sleep(0.6)
        # copytruncate: copy, then truncate in place, then go on.
        time.sleep(0.2)
        with open(log, "r+") as f:
            f.truncate(0)
        write(log, 80)
        time.sleep(0.6)
        with open(log, "a") as f:
            f.write(heartbeat(base + 62000))
        got = alerts_of(lst.wait(1), "ROT")
        self.assertEqual(len(got), 1, d.log_text())
        self.assertEqual(got[0]["Esql.process_command_line_count_distinct"],
                         n, d.log_text())
        self.assertEqual(d.stop(), 0)
        lst.stop()

    def test_socket_input_many_clients(self):
        """Several clients on the input socket, one sending garbage and
        leaving mid-line: the others' events all count."""
        lst = Listener(self.path("alerts.sock"))
        d = self.start(conf_close(self.tmp,
                            "  - type: unix\n    path: %s\n" %
                            self.path("in.sock"),
                            "  - type: unix\n    path: %s\n" %
                            self.path("alerts.sock")))
        base = (int(time.time() * 1000) // 60000 - 2) * 60000
        clients = []
        for _ in range(3):
            c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            c.connect(self.path("in.sock"))
            clients.append(c)
        bad = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        bad.connect(self.path("in.sock"))
        bad.sendall(b'{"garbage": tru\n\x00\xff{"process":')
        lines = [event(base + 100 * i, "SOCK", "%s %d" % (CMDS[i % 6], i))
                 for i in range(30)]
        payload = ["".join(lines[k::3]).encode() for k in range(3)]
        # Interleave the three streams a few bytes at a time.
        pos = [0, 0, 0]
        while any(pos[k] < len(payload[k]) for k in range(3)):
            for k in range(3):
                chunk = payload[k][pos[k]:pos[k] + 97]
                if chunk:
                    clients[k].sendall(chunk)
                    pos[k] += len(chunk)
        bad.close()
        # Every client's events are in before the watermark moves.
        self.assertTrue(d.wait_matched(30), d.log_text())
        clients[0].sendall(heartbeat(base + 62000).encode())
        got = alerts_of(lst.wait(1), "SOCK")
        self.assertEqual(len(got), 1, d.log_text())
        self.assertEqual(got[0]["Esql.process_command_line_count_distinct"],
                         30)
        for c in clients:
            c.close()
        self.assertEqual(d.stop(), 0)
        self.assertIn("partial_dropped=1", d.log_text())
        lst.stop()

    def test_sink_reconnects(self):
        """Alerts wait while the sink listener is down and arrive after
        it comes back, at least once, in order."""
        sock = self.path("alerts.sock")
        d = self.start(conf_close(self.tmp,
                            "  - type: unix\n    path: %s\n" %
                            self.path("in.sock"),
                            "  - type: unix\n    path: %s\n"
                            "    backoff_min: 50ms\n    backoff_max: 400ms\n"
                            % sock))
        base = (int(time.time() * 1000) // 60000 - 5) * 60000
        c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        c.connect(self.path("in.sock"))

        def burst(minute, parent):
            for i, cmd in enumerate(CMDS[:5]):
                c.sendall(event(base + minute * 60000 + i * 1000, parent,
                                cmd).encode())
            c.sendall(heartbeat(base + (minute + 1) * 60000 + 1500).encode())

        burst(0, "R1")                       # no listener yet
        time.sleep(0.5)
        lst = Listener(sock)
        got = lst.wait(1)
        self.assertEqual([a["process.parent.entity_id"] for a in got], ["R1"],
                         d.log_text())
        lst.stop()                           # listener gone
        burst(1, "R2")
        burst(2, "R3")
        time.sleep(0.5)
        lst = Listener(sock)
        got = lst.wait(2)
        parents = [a["process.parent.entity_id"] for a in got]
        self.assertEqual(parents[-2:], ["R2", "R3"], d.log_text())
        c.close()
        self.assertEqual(d.stop(), 0)
        lst.stop()

    def test_sighup_hostile_conf(self):
        """SIGHUP with a configuration nested 100000 levels deep, or with
        a repeated key, logs why and keeps the running one; the loop goes
        on reading events."""
        inputs = "  - type: unix\n    path: %s\n" % self.path("in.sock")
        sinks = "  - type: file\n    path: %s\n" % self.path("out.ndjson")
        d = self.start(conf_close(self.tmp, inputs, sinks))
        good = open(d.conf).read()
        base = (int(time.time() * 1000) // 60000 - 2) * 60000
        c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        c.connect(self.path("in.sock"))
        n = 100000
        with open(d.conf, "w") as f:
            f.write("a: " + "[" * n + "]" * n + "\n")
        d.signal(signal.SIGHUP)
        self.assertTrue(d.wait_log("%s:1: nested deeper than 64 levels"
                                   % d.conf, 60), d.log_text())
        self.assertTrue(d.wait_log("keeping the running configuration"),
                        d.log_text())
        with open(d.conf, "w") as f:
            f.write(good + "inputs: []\n")
        d.signal(signal.SIGHUP)
        self.assertTrue(d.wait_log('duplicate key "inputs"', 60),
                        d.log_text())
        self.assertIsNone(d.p.poll())
        for i, cmd in enumerate(CMDS[:3]):
            c.sendall(event(base + i * 1000, "HOSTILE", cmd).encode())
        self.assertTrue(d.wait_matched(3, 30), d.log_text())
        c.close()
        self.assertEqual(d.stop(), 0)

    def test_sighup_reload(self):
        """SIGHUP with an invalid file keeps the running configuration;
        with a valid one, a new sink starts and window state is kept."""
        sock = self.path("alerts.sock")
        lst = Listener(sock)
        inputs = "  - type: unix\n    path: %s\n" % self.path("in.sock")
        sinks = "  - type: unix\n    path: %s\n" % sock
        d = self.start(conf_close(self.tmp, inputs, sinks))
        base = (int(time.time() * 1000) // 60000 - 2) * 60000
        c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        c.connect(self.path("in.sock"))
        for i, cmd in enumerate(CMDS[:3]):
            c.sendall(event(base + i * 1000, "HUP", cmd).encode())
        time.sleep(0.3)
        with open(d.conf, "w") as f:
            f.write("inputs: [\n")
        d.signal(signal.SIGHUP)
        self.assertTrue(d.wait_log("keeping the running configuration"),
                        d.log_text())
        self.assertIsNone(d.p.poll())
        with open(d.conf, "w") as f:
            f.write(conf_close(self.tmp, inputs, sinks +
                         "  - type: file\n    path: %s\n" %
                         self.path("alerts.ndjson")))
        d.signal(signal.SIGHUP)
        self.assertTrue(d.wait_log("windows kept"), d.log_text())
        c.close()
        c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        for _ in range(50):
            try:
                c.connect(self.path("in.sock"))
                break
            except OSError:
                time.sleep(0.1)
        for i, cmd in enumerate(CMDS[3:6]):
            c.sendall(event(base + 10000 + i * 1000, "HUP", cmd).encode())
        c.sendall(heartbeat(base + 62000).encode())
        got = alerts_of(lst.wait(1), "HUP")
        self.assertEqual(len(got), 1, d.log_text())
        self.assertEqual(got[0]["Esql.process_command_line_count_distinct"], 6)
        deadline = time.monotonic() + 10
        text = ""
        while time.monotonic() < deadline and "HUP" not in text:
            if os.path.exists(self.path("alerts.ndjson")):
                with open(self.path("alerts.ndjson")) as f:
                    text = f.read()
            time.sleep(0.1)
        self.assertIn('"process.parent.entity_id":"HUP"', text)
        c.close()
        self.assertEqual(d.stop(), 0)
        lst.stop()

    def test_stats_socket(self):
        """The stats socket serves every counter as Prometheus text."""
        stats = self.path("stats.sock")
        d = self.start(conf_close(self.tmp,
                            "  - type: unix\n    path: %s\n" %
                            self.path("in.sock"),
                            "  - type: file\n    path: %s\n"
                            "  - type: stdout\n" %
                            self.path("alerts.ndjson"),
                            extra="  stats_socket: %s\n" % stats))
        base = int(time.time() * 1000)
        c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        c.connect(self.path("in.sock"))
        for i, cmd in enumerate(CMDS[:3]):
            c.sendall(event(base, "STATS", cmd).encode())
        c.sendall(b"not json\n")
        c.close()

        def scrape():
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(stats)
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
            s.close()
            samples = [line.rsplit(" ", 1) for line in
                       data.decode().splitlines()
                       if line and not line.startswith("#")]
            # Each family's samples stand together, as the format asks.
            families = [k.split("{")[0] for k, _ in samples]
            runs = [f for i, f in enumerate(families)
                    if i == 0 or families[i - 1] != f]
            self.assertEqual(len(runs), len(set(runs)), runs)
            return dict(samples)

        deadline = time.monotonic() + 10
        m = {}
        while time.monotonic() < deadline:
            m = scrape()
            if m.get("burstd_events_matched_total") == "3":
                break
            time.sleep(0.1)
        self.assertEqual(m.get("burstd_events_matched_total"), "3", m)
        self.assertEqual(m.get("burstd_lines_read_total"), "4")
        self.assertEqual(m.get("burstd_lines_prefiltered_total"), "1")
        self.assertEqual(m.get("burstd_groups"), "1")
        # Labelled by the names, their defaults: type and index.
        self.assertIn('burstd_sink_queue_depth{sink="file0"}', m)
        self.assertIn('burstd_sink_queue_depth{sink="stdout0"}', m)
        self.assertEqual(m.get('burstd_input_lines_total{input="unix0"}'),
                         "4")
        self.assertEqual(d.stop(), 0)
        self.assertFalse(os.path.exists(stats))

    def test_checkpoint_resume_after_kill(self):
        """kill -9 mid-window, then a restart: the window goes on from the
        checkpoint, no event is counted twice and none is skipped."""
        os.mkdir(self.path("in"))
        os.mkdir(self.path("state"))
        log = self.path("in/events.ndjson")
        sink = self.path("alerts.ndjson")
        text = conf_close(self.tmp,
                    "  - type: file\n    paths: [%s/in/*.ndjson]\n"
                    "    start_at: end\n    poll_interval: 50ms\n" % self.tmp,
                    "  - type: file\n    path: %s\n" % sink,
                    extra="  state_dir: %s\n  checkpoint_interval: 100ms\n"
                    % self.path("state")).replace("idle_close: 3s",
                                                  "idle_close: 1h")
        open(log, "w").close()
        d = self.start(text)
        base = (int(time.time() * 1000) // 60000 - 2) * 60000
        with open(log, "a") as f:
            for i, cmd in enumerate(CMDS[:3]):
                f.write(event(base + i * 1000, "CK", cmd))
            f.write(event(base + 3000, "CK", "half a line")[:40])
        self.assertTrue(d.wait_matched(3), d.log_text())
        time.sleep(0.5)                 # a checkpoint or more after that
        d.p.kill()                      # no goodbye
        d.p.wait()
        with open(log, "a") as f:
            f.write(event(base + 3000, "CK", "half a line")[40:])
            for i, cmd in enumerate(CMDS[3:6]):
                f.write(event(base + 10000 + i * 1000, "CK", cmd))
            f.write(heartbeat(base + 62000))
        d2 = self.start(text)
        self.assertTrue(d2.wait_log("resuming 1 file(s)"), d2.log_text())
        deadline = time.monotonic() + 10
        got = []
        while time.monotonic() < deadline and not got:
            if os.path.exists(sink):
                with open(sink) as f:
                    got = [json.loads(l) for l in f if '"CK"' in l]
            time.sleep(0.1)
        self.assertEqual(len(got), 1, d2.log_text())
        # 3 before the kill, the finished half line and 3 after.
        self.assertEqual(got[0]["Esql.process_command_line_count_distinct"],
                         7)
        # Only what came after the checkpoint was read again.
        self.assertTrue(d2.wait_matched(5), d2.log_text())
        self.assertEqual(d2.stop(), 0)

    def test_sigterm_flushes_and_sigusr1_logs(self):
        """SIGUSR1 logs the counters; SIGTERM flushes open windows over
        the threshold and exits 0."""
        sink = self.path("alerts.ndjson")
        d = self.start(conf_close(self.tmp,
                            "  - type: unix\n    path: %s\n" %
                            self.path("in.sock"),
                            "  - type: file\n    path: %s\n" % sink))
        base = int(time.time() * 1000)
        c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        c.connect(self.path("in.sock"))
        for i, cmd in enumerate(CMDS[:5]):
            c.sendall(event(base, "TERM", cmd).encode())
        c.close()
        time.sleep(0.3)
        d.signal(signal.SIGUSR1)
        self.assertTrue(d.wait_log("counter events_matched=5"), d.log_text())
        self.assertEqual(d.stop(), 0)
        with open(sink) as f:
            self.assertIn('"process.parent.entity_id":"TERM"', f.read())
        self.assertFalse(os.path.exists(self.path("in.sock")))
        self.assertNotIn("handles still open", d.log_text())


if __name__ == "__main__":
    BURSTD = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)
