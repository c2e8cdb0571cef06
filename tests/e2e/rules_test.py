#!/usr/bin/env python3
"""End-to-end tests of ES|QL rules loaded from their text: --explain and
its refusals, rules: in the configuration (files, globs, inline),
--replay --rule for a filter-only and a bucketed rule (the seed's own
query gives the built-in rule's alerts), and the daemon running a rule:
an alert per matching event at once, a reload that keeps a window's
state, a restart from a checkpoint that keeps it too; each rule's
counters on the stats socket and /metrics, through a reload that drops
one rule and keeps the other.

usage: rules_test.py BURSTD SOURCE_ROOT [unittest args]
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import unittest
import urllib.request

import daemon_test as dt

ROOT = None

FILTER_RULE = """// name: Netcat from a shell
// rule_id: 7d0c3a4e-1111-4222-8333-444455556666
// severity: high
// risk_score: 73
// tag: OS: Linux
FROM logs-endpoint.events.process-* METADATA _id
| WHERE process.name IN ("nc", "ncat") AND event.type == "start"
| KEEP @timestamp, host.name, process.name, process.args, _id
"""

# Three distinct commands from one parent within one minute.
BUCKET_RULE = """// name: Three commands
// rule_id: 0a6b9c1d-2222-4333-8444-555566667777
FROM logs-endpoint.events.process-*
| WHERE process.name == "sh"
| EVAL w = DATE_TRUNC(1 minute, @timestamp)
| STATS n = COUNT_DISTINCT(process.command_line),
        cmds = VALUES(process.command_line),
        earliest = MIN(@timestamp)
  BY process.parent.entity_id, agent.id, w
| WHERE n >= 3
| SORT n DESC
"""

INLINE_STATS = """FROM logs-*
| INLINE STATS c = COUNT(*) BY host.name
"""


def nc_event(ts_ms, host, args):
    return json.dumps({
        "@timestamp": dt.iso(ts_ms),
        "agent": {"id": "agent-1"},
        "host": {"name": host},
        "event": {"type": ["start"], "action": "exec"},
        "process": {"name": "nc", "args": args},
    }) + "\n"


def run(*args, stdin=None):
    return subprocess.run([dt.BURSTD] + list(args), input=stdin,
                          capture_output=True, text=True, timeout=60)


class RulesTest(dt.DaemonCase):
    def test_explain(self):
        seed = os.path.join(ROOT, "tests", "data", "esql", "seed.esql")
        r = run("--explain", "--rule", seed)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("shape: bucketed STATS", r.stdout)
        self.assertIn("window: 60000 ms", r.stdout)
        self.assertIn("field #", r.stdout)
        self.assertIn("process.command_line", r.stdout)
        self.assertIn("watermark: per agent.id", r.stdout)
        f = self.write("nc.esql", FILTER_RULE)
        r = run("--explain", "--rule", f)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("shape: filter", r.stdout)
        self.assertIn('rule 7d0c3a4e-1111-4222-8333-444455556666 '
                      '"Netcat from a shell"', r.stdout)

    def test_explain_refusal_and_position(self):
        bad = self.write("bad.esql", "// a comment line\n" + INLINE_STATS)
        good = self.write("nc.esql", FILTER_RULE)
        r = run("--explain", "--rule", bad, "--rule", good)
        self.assertEqual(r.returncode, 1)
        # The position is the file's: line 3 (after the comment), col 3.
        self.assertIn(bad + ":3:3: ", r.stdout)
        self.assertIn("INLINE STATS", r.stdout)
        # The other rule is still explained.
        self.assertIn("shape: filter", r.stdout)
        # A refused rule stops --replay and --check-config with status 1.
        r = run("--replay", "--rule", bad, "-", stdin="")
        self.assertEqual(r.returncode, 1)
        self.assertIn("INLINE STATS", r.stderr)

    def test_check_config_rules(self):
        os.mkdir(self.path("rules"))
        with open(self.path("rules/a.esql"), "w") as f:
            f.write(FILTER_RULE)
        with open(self.path("rules/b.esql"), "w") as f:
            f.write(BUCKET_RULE)
        conf = self.write("c.yaml", (
            "rules:\n"
            "  - rules/*.esql\n"
            "  - name: Inline one\n"
            "    rule_id: 11111111-2222-4333-8444-555555555555\n"
            "    severity: low\n"
            "    tags: [\"A\", \"B\"]\n"
            "    query: |\n"
            "      FROM logs-*\n"
            "      | WHERE process.name == \"curl\"\n"))
        r = run("--check-config", "-c", conf)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("configuration OK", r.stdout)
        self.assertEqual(r.stdout.count("\nrule ") +
                         r.stdout.startswith("rule "), 3, r.stdout)
        self.assertIn("Inline one", r.stdout)
        # A glob that matches nothing, and an inline rule that does not
        # compile: both named, with the file's position for the second.
        conf = self.write("d.yaml", (
            "rules:\n"
            "  - nothing/*.toml\n"
            "  - name: Broken\n"
            "    query: \"FROM logs-* | WHERE nope(1)\"\n"))
        r = run("--check-config", "-c", conf)
        self.assertEqual(r.returncode, 1)
        self.assertIn("nothing/*.toml", r.stderr)
        self.assertIn("Broken", r.stderr)
        # A query that does not parse: the file's line and column of the
        # error, the file named once.
        conf = self.write("e.yaml", (
            "rules:\n"
            "  - name: Cut\n"
            "    query: |\n"
            "      FROM logs-*\n"
            "      | WHERE nope(\n"))
        r = run("--check-config", "-c", conf)
        self.assertEqual(r.returncode, 1)
        line = [x for x in r.stderr.splitlines() if "end of query" in x]
        self.assertEqual(len(line), 1, r.stderr)
        self.assertEqual(line[0].count(conf), 1, r.stderr)
        self.assertRegex(line[0], re.escape(conf) + r":6:1: ")

    def test_replay_filter_rule(self):
        rule = self.write("nc.esql", FILTER_RULE)
        t0 = 1714564800000
        events = (nc_event(t0, "h1", ["nc", "-l", "4444"]) +
                  nc_event(t0 + 10, "h2", ["nc", "10.0.0.1"]) +
                  dt.event(t0 + 20, "P1", "id") +
                  "not json\n")
        r = run("--replay", "--rule", rule, "-", stdin=events)
        self.assertEqual(r.returncode, 0, r.stderr)
        alerts = [json.loads(x) for x in r.stdout.splitlines()]
        self.assertEqual(len(alerts), 2, r.stdout)
        a = alerts[0]
        self.assertEqual(a["kibana.alert.rule.name"], "Netcat from a shell")
        self.assertEqual(a["kibana.alert.severity"], "high")
        self.assertEqual(a["kibana.alert.risk_score"], 73)
        self.assertEqual(a["kibana.alert.rule.tags"], ["OS: Linux"])
        self.assertEqual(a["kibana.alert.status"], "active")
        self.assertEqual(a["kibana.alert.original_time"], dt.iso(t0))
        self.assertEqual(a["host.name"], "h1")
        # Keyword doc values: sorted, without duplicates.
        self.assertEqual(a["process.args"], ["-l", "4444", "nc"])
        self.assertNotIn("_id", a)  # always null in a stream
        self.assertNotIn("burstd.window_start", a)
        self.assertNotEqual(alerts[0]["kibana.alert.uuid"],
                            alerts[1]["kibana.alert.uuid"])
        # Stable: the same events give the same uuids.
        again = run("--replay", "--rule", rule, "-", stdin=events)
        self.assertEqual([json.loads(x)["kibana.alert.uuid"]
                          for x in again.stdout.splitlines()],
                         [x["kibana.alert.uuid"] for x in alerts])
        # Lines without a literal of each of the rule's conditions (the
        # shell event has no "nc", the last line nothing) are not even
        # parsed.
        self.assertRegex(r.stderr, r"lines_prefiltered +2\n")
        self.assertRegex(r.stderr, r"lines_parsed +2\n")
        self.assertIn('rule 7d0c3a4e-1111-4222-8333-444455556666 '
                      '"Netcat from a shell": events_matched 2 '
                      'events_unmatched 0 alerts 2', r.stderr)

    def test_replay_bucketed_rule(self):
        rule = self.write("b.esql", BUCKET_RULE)
        t0 = 1714564800000
        lines = [dt.event(t0 + 1000 * i, "P1", c)
                 for i, c in enumerate(["id", "whoami", "uname -a", "id"])]
        lines += [dt.event(t0 + 1000, "P2", "id"),
                  dt.event(t0 + 2000, "P2", "whoami"),
                  # Next minute: its own window, below the threshold.
                  dt.event(t0 + 61000, "P1", "ls")]
        r = run("--replay", "--rule", rule, "-", stdin="".join(lines))
        self.assertEqual(r.returncode, 0, r.stderr)
        alerts = [json.loads(x) for x in r.stdout.splitlines()]
        self.assertEqual(len(alerts), 1, r.stdout)
        a = alerts[0]
        self.assertEqual(a["n"], 3)
        self.assertEqual(sorted(a["cmds"]),
                         ["sh -c id", "sh -c uname -a", "sh -c whoami"])
        self.assertEqual(a["earliest"], dt.iso(t0))
        self.assertEqual(a["w"], dt.iso(t0))
        self.assertEqual(a["process.parent.entity_id"], "P1")
        self.assertEqual(a["burstd.window_start"], dt.iso(t0))
        self.assertEqual(a["burstd.window_end"], dt.iso(t0 + 60000))
        self.assertEqual(a["event.start"], dt.iso(t0))

    def test_replay_seed_text_equals_builtin(self):
        seed = os.path.join(ROOT, "tests", "data", "esql", "seed.esql")
        events = os.path.join(ROOT, "tests", "data", "example",
                              "attack.ndjson")
        sys.path.insert(0, os.path.join(ROOT, "scripts"))
        import reference
        builtin = run("--replay", events)
        text = run("--replay", "--rule", seed, events)
        self.assertEqual(builtin.returncode, 0, builtin.stderr)
        self.assertEqual(text.returncode, 0, text.stderr)
        want = reference.sort_lines(reference.project(x.encode())
                                    for x in builtin.stdout.splitlines())
        got = reference.sort_lines(reference.project(x.encode())
                                   for x in text.stdout.splitlines())
        self.assertTrue(want)
        self.assertEqual(got, want)

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

    def test_daemon_filter_rule_alerts_at_once(self):
        rule = self.write("nc.esql", FILTER_RULE)
        src = self.path("events.ndjson")
        open(src, "w").close()
        out = dt.Listener(self.path("out.sock"))
        self.listeners.append(out)
        text = dt.conf(self.tmp,
                       "  - type: file\n    paths: [%s]\n"
                       "    start_at: beginning\n" % src,
                       "  - type: unix\n    path: %s\n" % out.path)
        d = self.start(text, ["--rule", rule])
        with open(src, "a") as f:
            f.write(nc_event(int(time.time() * 1000), "h9", ["nc"]))
        got = out.wait(1, timeout=15)
        self.assertEqual(len(got), 1, d.log_text())
        self.assertEqual(got[0]["host.name"], "h9")
        self.assertEqual(got[0]["kibana.alert.rule.rule_id"],
                         "7d0c3a4e-1111-4222-8333-444455556666")
        self.assertEqual(d.stop(), 0)

    def test_daemon_reload_and_restart_keep_window_state(self):
        rule = self.write("b.esql", BUCKET_RULE)
        state = self.path("state")
        os.mkdir(state)
        src = self.path("events.ndjson")
        open(src, "w").close()
        out = dt.Listener(self.path("out.sock"))
        self.listeners.append(out)
        # No wall-clock close (idle_close) while the test runs.
        text = ("log_level: info\n"
                "window:\n  allowed_lateness: 1s\n  idle_close: 10m\n"
                "daemon:\n  tick_interval: 100ms\n"
                "  state_dir: %s\n  checkpoint_interval: 200ms\n"
                "inputs:\n  - type: file\n    paths: [%s]\n"
                "    start_at: beginning\n"
                "sinks:\n  - type: unix\n    path: %s\n"
                "rules:\n  - %s\n" % (state, src, out.path, rule))
        # Ten minutes ago: within the late horizon, not in the future.
        t0 = (int(time.time() * 1000) // 60000) * 60000 - 60000 * 10
        d = self.start(text)
        with open(src, "a") as f:
            f.write(dt.event(t0 + 1000, "P1", "id"))
        self.assertTrue(d.wait_matched(1), d.log_text())
        # A reload with the rule reformatted: same plan, state kept.
        with open(rule, "w") as f:
            f.write("// reformatted\n" + BUCKET_RULE.replace("\n|", "\n  |"))
        d.signal(signal.SIGHUP)
        self.assertTrue(d.wait_log("reloaded "), d.log_text())
        self.assertIn("rules unchanged, windows kept", d.log_text())
        with open(src, "a") as f:
            f.write(dt.event(t0 + 2000, "P1", "whoami"))
        self.assertTrue(d.wait_matched(2), d.log_text())
        time.sleep(1)  # a checkpoint
        d.p.kill()
        d.p.wait()
        # A restart from the checkpoint: the third command completes it.
        d2 = dt.Daemon(self.tmp, text)
        self.daemons.append(d2)
        self.assertTrue(d2.wait_log("started: "), d2.log_text())
        with open(src, "a") as f:
            f.write(dt.event(t0 + 3000, "P1", "uname -a"))
            # Moves agent-1's watermark past the window: it closes.
            f.write(dt.event(t0 + 120000, "P9", "id"))
        got = out.wait(1, timeout=20)
        self.assertEqual(len(got), 1, d2.log_text())
        self.assertEqual(got[0]["n"], 3)
        self.assertEqual(d2.stop(), 0)

    def test_daemon_rule_metrics(self):
        """Two rules, one named with a quote, a backslash and a non-ASCII
        letter: each has its counters, labelled, on the stats socket and
        on /metrics, with the values the events sent make them; a reload
        that drops one drops its series and keeps the other's counts."""
        nc = self.write("nc.esql", FILTER_RULE)
        src = self.path("events.ndjson")
        open(src, "w").close()
        out = dt.Listener(self.path("out.sock"))
        self.listeners.append(out)
        stats = self.path("stats.sock")
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        name = 'Three "cmds" \\ per parent \u00e9'
        bucket = ("  - name: '%s'\n"
                  "    rule_id: 0a6b9c1d-2222-4333-8444-555566667777\n"
                  "    query: |\n" % name +
                  "".join("      %s\n" % x for x in
                          BUCKET_RULE.splitlines()[2:]))

        def conf(rules):
            return ("log_level: info\n"
                    "window:\n  allowed_lateness: 1s\n  idle_close: 10m\n"
                    "daemon:\n  tick_interval: 100ms\n"
                    "  stats_socket: %s\n"
                    "  metrics_listen: 127.0.0.1:%d\n"
                    "inputs:\n  - type: file\n    paths: [%s]\n"
                    "    start_at: beginning\n"
                    "sinks:\n  - type: unix\n    path: %s\n"
                    "rules:\n%s" % (stats, port, src, out.path, rules))
        d = self.start(conf("  - %s\n" % nc + bucket))
        lab_nc = ('{rule_id="7d0c3a4e-1111-4222-8333-444455556666",'
                  'rule="Netcat from a shell"}')
        lab_b = ('{rule_id="0a6b9c1d-2222-4333-8444-555566667777",'
                 'rule="Three \\"cmds\\" \\\\ per parent \u00e9"}')
        t0 = (int(time.time() * 1000) // 60000) * 60000 - 60000 * 10
        sh = [dt.event(t0 + 1000, "P1", "id"),
              dt.event(t0 + 2000, "P1", "whoami"),
              dt.event(t0 + 3000, "P1", "uname -a"),
              dt.event(t0 + 4000, "P2", "id"),
              dt.event(t0 + 5000, "P2", "whoami")]
        ncs = [nc_event(t0 + 1500, "h1", ["nc", "-l"]),
               nc_event(t0 + 2500, "h2", ["nc"])]
        with open(src, "a") as f:
            f.write("".join(sh[:3] + ncs + sh[3:]))
            f.write("not json\n")
            # Moves agent-1's watermark past the first minute.
            f.write(dt.event(t0 + 120000, "P9", "id"))
        got = out.wait(3, timeout=20)
        self.assertEqual(len(got), 3, d.log_text())

        def scrape_http():
            with urllib.request.urlopen("http://127.0.0.1:%d/metrics" %
                                        port, timeout=10) as r:
                return r.read().decode()

        def samples(text):
            return dict(line.rsplit(" ", 1) for line in text.splitlines()
                        if line and not line.startswith("#"))

        # Every event that reached the rules went to both: the filter
        # rule matched the 2 nc events and no sh one (6 with P9's), the
        # bucketed rule the other way round.  Its groups: P1 and P2 in
        # the first minute (both closed, P1 with 3 commands alerting),
        # P9 in the third, open.
        want_nc = {"events_matched": 2, "events_unmatched": 6,
                   "alerts": 2, "windows_closed": 0,
                   "alerts_suppressed": 0, "events_late": 0}
        want_b = {"events_matched": 6, "events_unmatched": 2,
                  "alerts": 1, "windows_closed": 2,
                  "alerts_suppressed": 0, "events_late": 0}
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            m = dt.scrape(stats)
            if m.get("burstd_rule_windows_closed_total" + lab_b) == "2":
                break
            time.sleep(0.2)
        for k, v in want_nc.items():
            self.assertEqual(m["burstd_rule_%s_total%s" % (k, lab_nc)],
                             str(v), k)
        for k, v in want_b.items():
            self.assertEqual(m["burstd_rule_%s_total%s" % (k, lab_b)],
                             str(v), k)
        self.assertEqual(m["burstd_rule_groups" + lab_nc], "0")
        self.assertEqual(m["burstd_rule_state_bytes" + lab_nc], "0")
        # The bucketed rule holds every group and every byte.
        self.assertEqual(m["burstd_rule_groups" + lab_b], m["burstd_groups"])
        self.assertGreater(int(m["burstd_rule_groups" + lab_b]), 0)
        self.assertEqual(m["burstd_rule_state_bytes" + lab_b],
                         m["burstd_state_bytes"])
        self.assertGreater(int(m["burstd_rule_state_bytes" + lab_b]), 0)
        self.assertEqual(m["burstd_alerts_total"], "3")
        # /metrics shows the same series.
        text = scrape_http()
        h = samples(text)
        for k in m:
            if k.startswith("burstd_rule_"):
                self.assertEqual(h[k], m[k], k)
        self.promtool(text)

        # A reload that keeps the bucketed rule (same text, same id)
        # and drops the filter rule.
        with open(d.conf, "w") as f:
            f.write(conf(bucket))
        d.signal(signal.SIGHUP)
        self.assertTrue(d.wait_log("reloaded "), d.log_text())
        self.assertIn("rules unchanged, windows kept", d.log_text())
        m = dt.scrape(stats)
        self.assertFalse([k for k in m if lab_nc in k], m)
        for k, v in want_b.items():
            self.assertEqual(m["burstd_rule_%s_total%s" % (k, lab_b)],
                             str(v), k)
        # The totals do not go down with the rule gone.
        self.assertEqual(m["burstd_alerts_total"], "3")
        prefiltered = int(m["burstd_lines_prefiltered_total"])
        # A new triple in the third minute, closed by the fifth.
        with open(src, "a") as f:
            f.write(dt.event(t0 + 121000, "P3", "id"))
            f.write(dt.event(t0 + 122000, "P3", "whoami"))
            f.write(dt.event(t0 + 123000, "P3", "uname -a"))
            f.write(nc_event(t0 + 124000, "h3", ["nc"]))
            f.write(dt.event(t0 + 240000, "P9", "id"))
        got = out.wait(4, timeout=20)
        self.assertEqual(len(got), 4, d.log_text())
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            m = dt.scrape(stats)
            if m["burstd_rule_windows_closed_total" + lab_b] == "4":
                break
            time.sleep(0.2)
        # The nc line no longer reaches any rule: no rule left has a
        # literal of it, so the prefilter rejects it unparsed.
        want_b.update(events_matched=10, alerts=2, windows_closed=4)
        for k, v in want_b.items():
            self.assertEqual(m["burstd_rule_%s_total%s" % (k, lab_b)],
                             str(v), k)
        self.assertEqual(int(m["burstd_lines_prefiltered_total"]),
                         prefiltered + 1)
        self.assertEqual(m["burstd_alerts_total"], "4")
        text = scrape_http()
        self.assertNotIn("Netcat", text)
        self.promtool(text)
        self.assertEqual(d.stop(), 0)

    def promtool(self, text):
        if not shutil.which("promtool"):
            print("promtool not installed: not checked", file=sys.stderr)
            return
        p = subprocess.run(["promtool", "check", "metrics"], input=text,
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)


if __name__ == "__main__":
    dt.BURSTD = sys.argv[1]
    ROOT = sys.argv[2]
    unittest.main(argv=[sys.argv[0]] + sys.argv[3:])
