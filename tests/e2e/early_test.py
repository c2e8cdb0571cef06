#!/usr/bin/env python3
"""End-to-end tests of early alerting (window.alert_on: threshold):

- --replay --alert-on threshold: the last document of each alert uuid is
  the alert --replay gives at close, on every test corpus (the semantics
  cases, the example attack, generated events for every rule of
  tests/data/esql), and some of them did alert early; except where more
  groups pass in one window than max_signals (cap_tiebreak), where the
  first to cross alert early and the rest are held for the cap: as many
  alerts, not the same ones;
- the daemon: the alert arrives on the event that completes the
  condition, not one before, marked early, and the final document with
  the same uuid and the complete set when the window closes; a rule
  whose condition is not monotone alerts only at close; an inline rule's
  alert_on: close keeps it at close; --check-config says which mode
  each rule runs in;
- a restart between the early alert and the close neither repeats the
  early alert nor loses the final one.

usage: early_test.py BURSTD SOURCE_ROOT [unittest args]
"""
import glob
import json
import os
import re
import signal
import subprocess
import sys
import time
import unittest

import daemon_test as dt

ROOT = None

# Three distinct commands from one parent within one minute.
BUCKET_RULE = """// name: Three commands
// rule_id: 0a6b9c1d-2222-4333-8444-555566667777
FROM logs-endpoint.events.process-*
| WHERE process.name == "sh"
| EVAL w = DATE_TRUNC(1 minute, @timestamp)
| STATS n = COUNT_DISTINCT(process.command_line),
        cmds = VALUES(process.command_line)
  BY process.parent.entity_id, agent.id, w
| WHERE n >= 3
"""

# The same, but the condition can turn false: at close only.
BOUNDED_RULE = BUCKET_RULE.replace(
    "0a6b9c1d-2222-4333-8444-555566667777",
    "0a6b9c1d-2222-4333-8444-555566667778").replace(
    "| WHERE n >= 3", "| WHERE n >= 3 AND n <= 10").replace(
    "Three commands", "Three to ten commands")

# Fields that differ between two runs, or say the phase.
VOLATILE = ("@timestamp", "kibana.alert.start", "burstd.phase",
            "burstd.detected_ms")


def run(*args, stdin=None):
    return subprocess.run([dt.BURSTD] + list(args), input=stdin,
                          capture_output=True, text=True, timeout=300)


def counter(summary, name):
    """A counter of --replay's summary on stderr."""
    m = re.search(r"^%s +(\d+)$" % name, summary, re.M)
    return int(m.group(1))


def strip(doc):
    return json.dumps({k: v for k, v in doc.items() if k not in VOLATILE},
                      sort_keys=True)


class EarlyTest(dt.DaemonCase):
    def corpora(self):
        files = sorted(glob.glob(os.path.join(ROOT, "tests", "data",
                                              "semantics", "*.ndjson")))
        files.append(os.path.join(ROOT, "tests", "data", "example",
                                  "attack.ndjson"))
        rules = sorted(glob.glob(os.path.join(ROOT, "tests", "data", "esql",
                                              "*.esql")))
        for seed in (7, 11):
            out = self.path("gen%d.ndjson" % seed)
            with open(out, "w") as f:
                subprocess.run([sys.executable,
                                os.path.join(ROOT, "scripts", "esql-gen")] +
                               rules + ["--seed", str(seed), "--events",
                                        "3000"], stdout=f, check=True)
            files.append(out)
        return rules, files

    def test_replay_threshold_ends_as_close(self):
        rules, files = self.corpora()
        args = []
        for r in rules:
            args += ["--rule", r]
        early = finals = capped = 0
        for f in files:
            close = run("--replay", *args, f)
            thr = run("--replay", "--alert-on", "threshold", *args, f)
            self.assertEqual(close.returncode, 0, close.stderr)
            self.assertEqual(thr.returncode, 0, thr.stderr)
            want = sorted(strip(json.loads(x))
                          for x in close.stdout.splitlines())
            for x in close.stdout.splitlines():
                self.assertNotIn("burstd.phase", json.loads(x))
            last, phases = {}, {}
            for x in thr.stdout.splitlines():
                doc = json.loads(x)
                u = doc["kibana.alert.uuid"]
                last[u] = doc
                phases.setdefault(u, []).append(doc.get("burstd.phase"))
            for u, ph in phases.items():
                # early, or early then final, or close alone; a rule
                # that is not monotone (no phase) alerts once.
                self.assertIn(ph, (["early"], ["early", "final"],
                                   ["close"], [None]), (f, u))
                early += ph[0] == "early"
                finals += ph[-1] == "final"
            got = sorted(strip(d) for d in last.values())
            if got == want:
                continue
            # More groups passed in a window than max_signals: the cap
            # kept the largest at close, the first to cross early.  As
            # many alerts, and the others were held, then suppressed.
            capped += 1
            self.assertEqual(len(got), len(want), f)
            self.assertGreater(counter(thr.stderr, "alerts_early_held"), 0,
                               f)
            self.assertEqual(counter(thr.stderr, "alerts_suppressed"),
                             counter(close.stderr, "alerts_suppressed"), f)
        # The comparison saw early alerts, finals that changed, and the
        # one corpus over the cap (cap_tiebreak).
        self.assertGreater(early, 0)
        self.assertGreater(finals, 0)
        self.assertGreaterEqual(capped, 1)

    def start(self, text, args=()):
        d = dt.Daemon(self.tmp, text)
        if args:
            d.p.kill()
            d.p.wait()
            d.p = subprocess.Popen([dt.BURSTD, "-c", d.conf] + list(args),
                                   stdout=subprocess.DEVNULL, stderr=d.log)
        self.daemons.append(d)
        self.assertTrue(d.wait_log("started: "), d.log_text())
        return d

    def conf(self, src, sink, rules, extra=""):
        # No wall-clock close (idle_close) while a test runs.
        return ("log_level: info\n"
                "window:\n  allowed_lateness: 1s\n  idle_close: 10m\n"
                "daemon:\n  tick_interval: 100ms\n" + extra +
                "inputs:\n  - type: file\n    paths: [%s]\n"
                "    start_at: beginning\n"
                "sinks:\n  - type: unix\n    path: %s\n"
                "rules:\n%s" % (src, sink, rules))

    def append(self, src, *lines):
        with open(src, "a") as f:
            f.write("".join(lines))

    def test_daemon_early_then_final(self):
        rule = self.write("b.esql", BUCKET_RULE)
        bounded = self.write("c.esql", BOUNDED_RULE)
        src = self.write("events.ndjson", "")
        out = dt.Listener(self.path("out.sock"))
        self.listeners.append(out)
        text = self.conf(src, out.path, "  - %s\n  - %s\n" % (rule, bounded))
        d = self.start(text)
        r = run("--check-config", "-c", d.conf)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("alert_on threshold: alerts early", r.stdout)
        self.assertIn("alert_on threshold, unsound for this rule: alerts "
                      "when the window closes (not monotone: ", r.stdout)
        t0 = (int(time.time() * 1000) // 60000) * 60000 - 60000 * 10
        self.append(src, dt.event(t0 + 1000, "P1", "id"),
                    dt.event(t0 + 2000, "P1", "whoami"),
                    dt.event(t0 + 2500, "P1", "id"))
        # Every event counted, and no alert before the deciding one.
        self.assertTrue(d.wait_matched(3), d.log_text())
        time.sleep(0.3)
        self.assertEqual(out.lines, [])
        self.append(src, dt.event(t0 + 3000, "P1", "uname -a"))
        got = out.wait(1, timeout=15)
        self.assertEqual(len(got), 1, d.log_text())
        a = got[0]
        self.assertEqual(a["burstd.phase"], "early")
        self.assertEqual(a["kibana.alert.rule.name"], "Three commands")
        self.assertEqual(a["n"], 3)
        self.assertGreaterEqual(a["burstd.detected_ms"], 0)
        # One more command, then a later event closes the window.
        self.append(src, dt.event(t0 + 4000, "P1", "ls"))
        self.assertTrue(d.wait_matched(5), d.log_text())
        self.append(src, dt.event(t0 + 120000, "P9", "id"))
        got = out.wait(3, timeout=20)
        self.assertEqual(len(got), 3, d.log_text())
        rest = {x["kibana.alert.rule.name"]: x for x in got[1:]}
        final = rest["Three commands"]
        self.assertEqual(final["burstd.phase"], "final")
        self.assertEqual(final["kibana.alert.uuid"], a["kibana.alert.uuid"])
        self.assertEqual(final["n"], 4)
        self.assertEqual(sorted(final["cmds"]),
                         ["sh -c id", "sh -c ls", "sh -c uname -a",
                          "sh -c whoami"])
        # The bounded rule's only alert, at close, without a phase.
        late = rest["Three to ten commands"]
        self.assertNotIn("burstd.phase", late)
        self.assertEqual(late["n"], 4)
        self.assertEqual(d.stop(), 0)
        self.assertEqual(len(out.lines), 3)

    def test_inline_alert_on_close(self):
        src = self.write("events.ndjson", "")
        out = dt.Listener(self.path("out.sock"))
        self.listeners.append(out)
        inline = ("  - name: Inline at close\n"
                  "    alert_on: close\n"
                  "    query: |\n" +
                  "".join("      " + x + "\n"
                          for x in BUCKET_RULE.splitlines()
                          if not x.startswith("//")))
        d = self.start(self.conf(src, out.path, inline))
        r = run("--check-config", "-c", d.conf)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("alert_on close: alerts when the window closes "
                      "(the rule's alert_on)", r.stdout)
        t0 = (int(time.time() * 1000) // 60000) * 60000 - 60000 * 10
        self.append(src, *[dt.event(t0 + 1000 * i, "P1", c)
                           for i, c in enumerate(["id", "whoami", "ls"])])
        self.assertTrue(d.wait_matched(3), d.log_text())
        time.sleep(0.3)
        self.assertEqual(out.lines, [])
        self.append(src, dt.event(t0 + 120000, "P9", "id"))
        got = out.wait(1, timeout=20)
        self.assertEqual(len(got), 1, d.log_text())
        self.assertNotIn("burstd.phase", got[0])
        self.assertEqual(d.stop(), 0)

    def test_restart_between_early_and_final(self):
        rule = self.write("b.esql", BUCKET_RULE)
        state = self.path("state")
        os.mkdir(state)
        src = self.write("events.ndjson", "")
        out = dt.Listener(self.path("out.sock"))
        self.listeners.append(out)
        text = self.conf(src, out.path, "  - %s\n" % rule,
                         "  state_dir: %s\n  checkpoint_interval: 200ms\n"
                         % state)
        t0 = (int(time.time() * 1000) // 60000) * 60000 - 60000 * 10
        d = self.start(text)
        self.append(src, *[dt.event(t0 + 1000 * i, "P1", c)
                           for i, c in enumerate(["id", "whoami", "ls"])])
        got = out.wait(1, timeout=15)
        self.assertEqual(len(got), 1, d.log_text())
        self.assertEqual(got[0]["burstd.phase"], "early")
        # The sink has counted it sent: the last checkpoint, written
        # before the sinks drain, would otherwise hold it as waiting and
        # send it again (at least once).
        deadline = time.monotonic() + 10
        while not d.wait_log(" sent=1 ", 0.2) and \
                time.monotonic() < deadline:
            d.signal(signal.SIGUSR1)
        # Stopped with the window open: the checkpoint keeps it.
        self.assertEqual(d.stop(), 0)
        d2 = self.start(text)
        self.append(src, dt.event(t0 + 5000, "P1", "uname"),
                    dt.event(t0 + 120000, "P9", "id"))
        got = out.wait(2, timeout=20)
        self.assertEqual(len(got), 2, d2.log_text())
        self.assertEqual(got[1]["burstd.phase"], "final",
                         (got, d.log_text(), d2.log_text()))
        self.assertEqual(got[1]["kibana.alert.uuid"],
                         got[0]["kibana.alert.uuid"])
        self.assertEqual(got[1]["n"], 4)
        self.assertEqual(d2.stop(), 0)
        # Neither the early alert again nor a second final.
        self.assertEqual(len(out.lines), 2)


if __name__ == "__main__":
    dt.BURSTD = os.path.abspath(sys.argv.pop(1))
    ROOT = os.path.abspath(sys.argv.pop(1))
    unittest.main()
