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
overhead.  The same with the seed's ES|QL text loaded by rules:
(alerting early, then finally at the close), the flooding agent's
events mixed with junk lines (cut short, not UTF-8, not an object), each
of them counted.
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


SEED = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data",
                    "esql", "seed.esql")
# Junk from the flooding host, every JUNK_EVERY events: a flood event
# cut short, one that is not UTF-8 (a byte 0xff, written through
# surrogateescape), one in an array; each has every literal of the rule,
# so the parser, not the prefilter, skips them.
JUNK_EVERY = 20
JUNK = 3


def junk_lines(e):
    return [e[:-3] + "\n", e.replace('"sh -c ', '"\udcff sh -c '),
            "[" + e[:-1] + "]\n"]


def flood_lines(base, n, every, junk=False):
    """n flood events of agent "flooder", with the two attacks' commands
    (six kinds) one per `every` flood lines; then heartbeats that move
    both agents' watermarks past the window.  With junk, junk_lines()
    of a flood event every JUNK_EVERY of them."""
    out = []
    cmds = dt.CMDS[:6]
    k = 0
    for i in range(n):
        e = dt.event(base + i * 30000 // n, "junk-%d" % i, "ls %d" % i,
                     agent="flooder")
        out.append(e)
        if junk and i % JUNK_EVERY == 0:
            out.extend(junk_lines(e))
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
        self.flood(esql=False)

    def test_esql_flood_does_not_blind(self):
        self.flood(esql=True)

    def flood(self, esql):
        lst = dt.Listener(self.path("alerts.sock"))
        os.mkdir(self.path("in"))
        text = ("log_level: info\n"
                "limits:\n  max_state_bytes: %d\n" % BUDGET +
                "window:\n  allowed_lateness: 1s\n  idle_close: 60s\n" +
                # The built-in default at window close; the rule from
                # its file at the daemon's default, alert_on: threshold.
                ("" if esql else "  alert_on: close\n") +
                "daemon:\n  tick_interval: 100ms\n"
                "inputs:\n  - type: file\n    paths: [%s/in/*.ndjson]\n"
                "    poll_interval: 100ms\n" % self.tmp +
                "sinks:\n  - type: unix\n    path: %s\n" %
                self.path("alerts.sock"))
        if esql:
            text += "rules:\n  - %s\n" % os.path.abspath(SEED)
        d = self.start(text)
        base = (int(time.time() * 1000) // 60000 - 5) * 60000
        n = 40000
        k = (n + JUNK_EVERY - 1) // JUNK_EVERY if esql else 0
        with open(self.path("flood.tmp"), "w",
                  encoding="utf-8", errors="surrogateescape") as f:
            f.write(flood_lines(base, n, 1000, junk=esql))
        # The whole file appears at once, and is read from its start.
        os.rename(self.path("flood.tmp"), self.path("in/flood.ndjson"))
        # The ES|QL rule runs at the daemon's default, alert_on:
        # threshold: an early document at each attack's fifth command,
        # a final one with the sixth when its window closes.
        docs = 2 if esql else 1
        got = lst.wait(2 * docs, timeout=120)
        victim = dt.alerts_of(got, "victim-attack")
        flooder = dt.alerts_of(got, "flood-attack")
        self.assertEqual(len(victim), docs, d.log_text()[-3000:])
        self.assertEqual(len(flooder), docs, d.log_text()[-3000:])
        for a in (victim, flooder):
            self.assertEqual(
                a[-1]["Esql.process_command_line_count_distinct"], 6)
            if esql:
                self.assertEqual([x["burstd.phase"] for x in a],
                                 ["early", "final"])
                self.assertEqual(
                    a[0]["Esql.process_command_line_count_distinct"], 5)
                self.assertEqual(a[0]["kibana.alert.uuid"],
                                 a[1]["kibana.alert.uuid"])
        self.assertTrue(d.wait_matched(n + 14, timeout=60),
                        d.log_text()[-3000:])
        log = d.log_text()
        evicted = counter(log, "groups_evicted")
        self.assertIsNotNone(evicted)
        # Most of the flood's groups had to go: 8 MiB holds thousands.
        self.assertGreater(evicted, n // 2)
        self.assertEqual(counter(log, "alerts"), 2)
        if esql:
            self.assertEqual(counter(log, "alerts_early"), 2)
            self.assertEqual(counter(log, "alerts_final"), 2)
        # Every junk line is counted where the parser skipped it.
        self.assertEqual(counter(log, "json_invalid"), 2 * k)
        self.assertEqual(counter(log, "json_not_object"), k)
        self.assertEqual(counter(log, "lines_prefiltered"), 0)
        self.assertEqual(counter(log, "lines_read"), n + 14 + JUNK * k)
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
