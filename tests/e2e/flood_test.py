#!/usr/bin/env python3
"""End-to-end test of the state budget: a flood from one host does not
blind detection.

usage: flood_test.py BURSTD [unittest args]

One agent sends tens of thousands of events, each with a new
process.parent.entity_id (so each makes a group), as fast as the daemon
reads a file, with limits.max_state_bytes at 8 MiB; another agent mounts
an attack meanwhile, and so does the flooding agent, its attack commands
scattered through the flood.  Both attacks alert, the evictions are
counted, and (in a build without sanitizers, whose shadow memory would
dwarf it) the daemon's peak RSS stays under the budget plus a fixed
overhead.
"""
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import daemon_test as dt  # noqa: E402

BUDGET = 8 << 20
# The daemon without state: libraries, loop, buffers, allocator slack.
OVERHEAD = 24 << 20


def flood_lines(base, n, every):
    """n flood events of agent "flooder", with the two attacks' commands
    (six kinds) one per `every` flood lines; then heartbeats that move
    both agents' watermarks past the window."""
    out = []
    cmds = dt.CMDS[:6]
    k = 0
    for i in range(n):
        out.append(dt.event(base + i * 30000 // n, "junk-%d" % i,
                            "ls %d" % i, agent="flooder"))
        if i % every == every - 1 and k < len(cmds):
            out.append(dt.event(base + 31000 + k, "victim-attack", cmds[k],
                                agent="victim", host="host-2"))
            out.append(dt.event(base + 32000 + k, "flood-attack", cmds[k],
                                agent="flooder"))
            k += 1
    out.append(dt.heartbeat(base + 125000, agent="flooder"))
    out.append(dt.heartbeat(base + 125000, agent="victim"))
    return "".join(out)


def sanitized(path):
    """Whether the binary is built with a sanitizer (linked statically,
    as clang does, or dynamically, as gcc does)."""
    with open(path, "rb") as f:
        data = f.read()
    return b"__asan_" in data or b"__ubsan_" in data


def peak_rss(pid):
    with open("/proc/%d/status" % pid) as f:
        for l in f:
            if l.startswith("VmHWM:"):
                return int(l.split()[1]) * 1024
    return 0


def counter(text, name):
    """The last logged value of a counter."""
    v = None
    for l in text.splitlines():
        i = l.find("counter %s=" % name)
        if i >= 0:
            v = int(l[i + len("counter %s=" % name):].split()[0])
    return v


class FloodTest(unittest.TestCase):
    setUp = dt.DaemonTest.setUp
    tearDown = dt.DaemonTest.tearDown
    start = dt.DaemonTest.start
    path = dt.DaemonTest.path

    def test_flood_does_not_blind(self):
        lst = dt.Listener(self.path("alerts.sock"))
        os.mkdir(self.path("in"))
        text = ("log_level: info\n"
                "limits:\n  max_state_bytes: %d\n" % BUDGET +
                "window:\n  allowed_lateness: 1s\n  idle_close: 60s\n"
                "daemon:\n  tick_interval: 100ms\n"
                "inputs:\n  - type: file\n    paths: [%s/in/*.ndjson]\n"
                "    poll_interval: 100ms\n" % self.tmp +
                "sinks:\n  - type: unix\n    path: %s\n" %
                self.path("alerts.sock"))
        d = self.start(text)
        base = (int(time.time() * 1000) // 60000 - 5) * 60000
        n = 40000
        with open(self.path("flood.tmp"), "w") as f:
            f.write(flood_lines(base, n, 1000))
        # The whole file appears at once, and is read from its start.
        os.rename(self.path("flood.tmp"), self.path("in/flood.ndjson"))
        got = lst.wait(2, timeout=120)
        victim = dt.alerts_of(got, "victim-attack")
        flooder = dt.alerts_of(got, "flood-attack")
        self.assertEqual(len(victim), 1, d.log_text()[-3000:])
        self.assertEqual(len(flooder), 1, d.log_text()[-3000:])
        self.assertEqual(
            victim[0]["Esql.process_command_line_count_distinct"], 6)
        self.assertEqual(
            flooder[0]["Esql.process_command_line_count_distinct"], 6)
        self.assertTrue(d.wait_matched(n + 14, timeout=60),
                        d.log_text()[-3000:])
        log = d.log_text()
        evicted = counter(log, "groups_evicted")
        self.assertIsNotNone(evicted)
        # Most of the flood's groups had to go: 8 MiB holds thousands.
        self.assertGreater(evicted, n // 2)
        self.assertEqual(counter(log, "alerts"), 2)
        rss = peak_rss(d.p.pid)
        asan = sanitized(dt.BURSTD)
        print("\n  %d groups evicted; peak RSS %.1f MiB for a %d MiB "
              "budget%s" % (evicted, rss / 1048576.0, BUDGET >> 20,
                            " (sanitizer build: not checked)" if asan
                            else ""), file=sys.stderr)
        if not asan:
            self.assertLess(rss, BUDGET + OVERHEAD)
        self.assertEqual(d.stop(), 0)
        lst.stop()


if __name__ == "__main__":
    dt.BURSTD = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)
