#!/usr/bin/env python3
"""Tests for scripts/reference.py, the reference evaluator of the rule.

Run: python3 tests/e2e/test_reference.py

The main table is tests/data/semantics/ (NAME.ndjson + NAME.expect, worked
out by hand from docs/SEMANTICS.md). The smaller tables below pin down the
building blocks: timestamps, labels, field collection and the projection of
daemon output. Every expected value here was derived from SEMANTICS.md, not
from running the code.
"""

import datetime
import json
import os
import subprocess
import sys
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
SCRIPT = os.path.join(ROOT, "scripts", "reference.py")
CASES = os.path.join(ROOT, "tests", "data", "semantics")

sys.dont_write_bytecode = True      # keep the source tree clean
sys.path.insert(0, os.path.join(ROOT, "scripts"))
import reference  # noqa: E402


def run_lines(lines, cap=reference.DEFAULT_CAP):
    ev = reference.Evaluator(cap=cap)
    for line in lines:
        ev.feed(line if isinstance(line, bytes) else line.encode("utf-8"))
    return [json.loads(s) for s in ev.canonical_lines()]


def event(cmd, ts="2024-05-01T12:00:10Z", parent="P1", **over):
    doc = {"@timestamp": ts,
           "agent": {"id": "agent-1"},
           "host": {"name": "host-1", "os": {"type": "linux"}},
           "event": {"action": "exec", "type": ["start"],
                     "dataset": "endpoint.events.process"},
           "data_stream": {"namespace": "default"},
           "process": {"name": "sh", "args": ["sh", "-c", "x"],
                       "command_line": cmd,
                       "parent": {"name": "python3", "entity_id": parent}}}
    doc.update(over)
    return json.dumps(doc)


FIVE = ["sh -c grep a", "sh -c find b", "sh -c curl c", "sh -c whoami",
        "sh -c id"]


class SemanticCases(unittest.TestCase):
    """Every tests/data/semantics case through the evaluator."""

    def test_cases(self):
        names = sorted(n[:-len(".ndjson")] for n in os.listdir(CASES)
                       if n.endswith(".ndjson"))
        self.assertGreaterEqual(len(names), 30)
        for name in names:
            with self.subTest(case=name):
                ev = reference.Evaluator()
                with open(os.path.join(CASES, name + ".ndjson"), "rb") as fh:
                    ev.feed_file(fh)
                with open(os.path.join(CASES, name + ".expect"), "rb") as fh:
                    want = fh.read().decode("utf-8").splitlines()
                self.assertEqual(ev.canonical_lines(), want)

    def test_order_does_not_matter(self):
        for name in ("window_offsets", "cap_tiebreak", "merge_both_spellings"):
            with self.subTest(case=name):
                with open(os.path.join(CASES, name + ".ndjson"), "rb") as fh:
                    lines = fh.read().split(b"\n")
                fwd = reference.Evaluator()
                rev = reference.Evaluator()
                for line in lines:
                    fwd.feed(line)
                for line in reversed(lines):
                    rev.feed(line)
                self.assertEqual(fwd.canonical_lines(), rev.canonical_lines())


class Timestamps(unittest.TestCase):
    TABLE = [
        # text, window (None = unplaceable)
        ("2024-05-01T12:00:00.000Z", "2024-05-01T12:00"),
        ("2024-05-01T12:00:59.999Z", "2024-05-01T12:00"),
        ("2024-05-01T12:00:59.999999999Z", "2024-05-01T12:00"),
        ("2024-05-01T12:01:00Z", "2024-05-01T12:01"),
        ("2024-05-01T11:59:59.9Z", "2024-05-01T11:59"),
        ("2024-05-01T12:00:30", "2024-05-01T12:00"),
        ("2024-05-01T12:00:30,25Z", "2024-05-01T12:00"),
        ("2024-05-01T14:00:30+02:00", "2024-05-01T12:00"),
        ("2024-05-01T14:00:30+0200", "2024-05-01T12:00"),
        ("2024-05-01T14:00:30+02", "2024-05-01T12:00"),
        ("2024-05-01T06:30:30-05:30", "2024-05-01T12:00"),
        ("2024-05-01T00:10:00+00:30", "2024-04-30T23:40"),
        ("2024-03-01T00:00:00+00:01", "2024-02-29T23:59"),
        ("2023-03-01T00:00:00+00:01", "2023-02-28T23:59"),
        ("2024-12-31T23:59:59.999-00:01", "2025-01-01T00:00"),
        ("2024-05-02T06:00:00+18:00", "2024-05-01T12:00"),
        ("2024-05-01T12:00:00+18:01", None),
        ("2024-05-01T12:00:00+19", None),
        ("2024-05-01T12:00:00+01:60", None),
        ("2024-05-01T12:00:00+1", None),
        ("2024-05-01T12:00:00+01:0", None),
        ("2024-05-01T12:00:00+01:00:30", None),
        ("2024-05-01T12:00:00+010030", None),
        ("2024-05-01T12:00:00Z+01:00", None),
        ("2024-05-01T12:00:00z", None),
        ("2024-05-01t12:00:00Z", None),
        ("2024-05-01 12:00:00Z", None),
        ("2024-05-01T12:00:00UTC", None),
        ("2024-05-01T12:00:00.Z", None),
        ("2024-05-01T12:00:00.1234567890Z", None),
        ("2024-05-01T12:00.5Z", None),
        ("2024-05-01T12Z", "2024-05-01T12:00"),
        ("2024-05-01T12", "2024-05-01T12:00"),
        ("2024-05-01T12:07", "2024-05-01T12:07"),
        ("2024-05-01T", None),
        ("2024-05-01TZ", None),
        ("2024+01:00", None),
        ("2024-05-01", "2024-05-01T00:00"),
        ("2024-05-01Z", None),
        ("2024-05", "2024-05-01T00:00"),
        ("2024", "2024-01-01T00:00"),
        ("0000", "0000-01-01T00:00"),
        ("9999-12-31T23:59:59.999Z", "9999-12-31T23:59"),
        ("9999-12-31T23:59:59-00:01", None),
        ("0000-01-01T00:00:00+00:01", None),
        ("2024-02-29T00:00Z", "2024-02-29T00:00"),
        ("2023-02-29T00:00Z", None),
        ("1900-02-29T00:00Z", None),
        ("2000-02-29T00:00Z", "2000-02-29T00:00"),
        ("2024-04-31", None),
        ("2024-00-10", None),
        ("2024-01-00", None),
        ("2024-13-01", None),
        ("2024-01-01T24:00Z", None),
        ("2024-01-01T23:60Z", None),
        ("2024-01-01T23:59:60Z", None),
        ("2024-1-01", None),
        ("24-01-01", None),
        ("+2024-01-01", None),
        ("-1234", "1969-12-31T23:59"),      # epoch millis, not a year
        ("-0000", "1970-01-01T00:00"),  # epoch millis -0
        ("1714564800000", "2024-05-01T12:00"),
        ("1714564859999", "2024-05-01T12:00"),
        ("1714564860000", "2024-05-01T12:01"),
        ("1714564859999.999999", "2024-05-01T12:00"),
        ("1714564859999.9999999", None),    # 7 fraction digits: refused
        ("1714564859999.99999999999999999999", None),
        ("-60000.000001", "1969-12-31T23:58"),
        ("-60000.0000001", None),
        ("-60000.00000000000000000001", None),
        ("1714564800000.", "2024-05-01T12:00"),
        ("0", "1970-01-01T00:00"),
        ("12345", "1970-01-01T00:00"),
        ("-1", "1969-12-31T23:59"),
        ("-0.5", "1969-12-31T23:59"),
        ("-60000", "1969-12-31T23:59"),
        ("-60000.001", "1969-12-31T23:58"),
        ("+1714564800000", None),
        ("1.7e12", None),
        ("9223372036854775807", None),   # valid epoch, year out of range
        ("9223372036854775808", None),   # above a signed 64-bit integer
        ("", None),
        ("now", None),
        (" 2024-05-01", None),
    ]

    def test_table(self):
        for text, want in self.TABLE:
            with self.subTest(text=text):
                got = reference.parse_timestamp_minute(text)
                if want is None:
                    self.assertIsNone(got)
                else:
                    self.assertIsNotNone(got)
                    self.assertEqual(reference.format_window(got),
                                     want + ":00.000Z")

    def test_calendar_against_datetime(self):
        # days_from_civil / civil_from_days agree with the standard library:
        # every day from 1600 to 2400, every fifth day before that.
        epoch = datetime.date(1970, 1, 1)
        day = datetime.date(1, 1, 1)
        end = datetime.date(2401, 1, 1)
        while day < end:
            n = (day - epoch).days
            self.assertEqual(
                reference.days_from_civil(day.year, day.month, day.day), n)
            self.assertEqual(reference.civil_from_days(n),
                             (day.year, day.month, day.day))
            day += datetime.timedelta(days=1 if day.year >= 1600 else 5)

    def test_window_from_event(self):
        want = reference.parse_timestamp_minute("2024-05-01T12:00Z")
        for raw in (b'{"@timestamp":["2024-05-01T12:00:00Z"]}',
                    b'{"@timestamp":[null,"2024-05-01T12:00Z"]}'):
            with self.subTest(raw=raw):
                self.assertEqual(
                    reference.event_window(reference.parse_line(raw)), want)
        for raw in (b'{}', b'{"@timestamp":null}', b'{"@timestamp":[]}',
                    b'{"@timestamp":["2024","2025"]}',
                    b'{"@timestamp":["2024-05-01T12:00Z","2024-05-01T12:00Z"]}',
                    b'{"@timestamp":["2024-05-01T12:00Z","2024-05-01T12:00:00Z"]}',
                    b'{"@timestamp":"x"}', b'{"@timestamp":true}',
                    b'{"@timestamp":{"a":"2024"}}'):
            with self.subTest(raw=raw):
                self.assertIsNone(
                    reference.event_window(reference.parse_line(raw)))
        f = reference.parse_line(b'{"@timestamp":1714564800000.5}')
        self.assertEqual(reference.format_window(reference.event_window(f)),
                         "2024-05-01T12:00:00.000Z")
        f = reference.parse_line(b'{"@timestamp":2024}')
        self.assertEqual(reference.format_window(reference.event_window(f)),
                         "2024-01-01T00:00:00.000Z")


class Labels(unittest.TestCase):
    TABLE = [
        ("sh -c grep x", "grep"),
        ("sh -c find x | grep y", "grep"),
        ("sh -c find x", "find"),
        ("sh -c curl x | find", "find"),
        ("sh -c curl x", "curl"),
        ("sh -c env x; curl y", "curl"),
        ("sh -c env | wget", "environment_enumeration"),
        ("sh -c printenv HOME", "environment_enumeration"),
        ("sh -c printenv", "other"),
        ("sh -c env", "other"),
        ("sh -c env\tx", "other"),
        ("sh -c wget x; whoami", "wget"),
        ("sh -c whoami", "discovery"),
        ("sh -c uname -a", "discovery"),
        ("sh -c hostname", "discovery"),
        ("sh -c hostnamectl", "discovery"),
        ("sh -c WHOAMI", "other"),
        ("sh -c Grep", "other"),
        ("grepx", "grep"),
        ("", "other"),
        ("sh -c id", "other"),
    ]

    def test_table(self):
        for line, want in self.TABLE:
            with self.subTest(line=line):
                f = {"process.command_line": [line]}
                self.assertEqual(reference.pattern_label(f), want)

    def test_missing_and_multivalued(self):
        self.assertEqual(reference.pattern_label({}), "other")
        self.assertEqual(reference.pattern_label(
            {"process.command_line": ["sh -c grep", "sh -c find"]}), "other")
        self.assertEqual(reference.pattern_label(
            {"process.command_line": ["sh -c grep", "sh -c grep"]}), "grep")


class Fields(unittest.TestCase):
    def fields(self, raw):
        return reference.parse_line(raw.encode("utf-8"))

    def test_nested_and_dotted_are_the_same_field(self):
        want = {"process.parent.name": ["x"]}
        for raw in ('{"process":{"parent":{"name":"x"}}}',
                    '{"process.parent.name":"x"}',
                    '{"process":{"parent.name":"x"}}',
                    '{"process.parent":{"name":"x"}}',
                    '{"process":[{"parent":[{"name":["x"]}]}]}'):
            with self.subTest(raw=raw):
                self.assertEqual(self.fields(raw), want)

    def test_both_spellings_merge(self):
        f = self.fields('{"a":{"b":"x"},"a.b":"y","a":{"b":"z"}}')
        self.assertEqual(sorted(f["a.b"]), ["x", "y", "z"])
        self.assertIsNone(reference.single(f, "a.b"))
        f = self.fields('{"a":{"b":"x"},"a.b":"x"}')
        self.assertEqual(reference.single(f, "a.b"), "x")

    def test_scalars(self):
        f = self.fields('{"a":[1,1.50,-0,1e3,10E+2,true,false,null,"s"],'
                        '"b":12345678901234567890123}')
        self.assertEqual(f["a"], ["1", "1.50", "-0", "1e3", "10E+2", "true",
                                  "false", "s"])
        self.assertEqual(f["b"], ["12345678901234567890123"])

    def test_escapes(self):
        f = self.fields(r'{"a\u002eb":"\u0070ython3","c":"\/\"\\\ud83d\ude00"}')
        self.assertEqual(f["a.b"], ["python3"])
        self.assertEqual(f["c"], ['/"\\\U0001F600'])
        f = self.fields(r'{"c":["\ud800","x\udc00y"]}')
        self.assertEqual(f["c"], ["\ufffd", "x\ufffdy"])

    def test_ignore_above(self):
        # Keyword values over 1024 UTF-16 code units are not indexed; a
        # code point above U+FFFF is two units; wildcard, date and
        # constant_keyword fields keep every value.
        def kept(field, value):
            f = self.fields(json.dumps({field: [value, "s"]}))
            return value in f.get(field, [])
        self.assertTrue(kept("process.name", "x" * 1024))
        self.assertFalse(kept("process.name", "x" * 1025))
        self.assertTrue(kept("host.name", "\U0001F600" * 512))
        self.assertFalse(kept("host.name", "\U0001F600" * 512 + "a"))
        self.assertTrue(kept("agent.id", "\u20ac" * 1024))
        self.assertFalse(kept("agent.id", "\u20ac" * 1025))
        for field in ("process.command_line", "@timestamp",
                      "data_stream.namespace", "message"):
            with self.subTest(field=field):
                self.assertTrue(kept(field, "x" * 5000))
        self.assertEqual(self.fields('{"a":[%s,7]}' % ("1" * 1025))["a"],
                         ["7"])

    def test_invalid_lines(self):
        for raw in (b"", b"\n", b"  ", b"[]", b"[{}]", b"1", b"null",
                    b'"x"', b"{", b'{"a":1}x', b'{"a":1}{"b":2}',
                    b'{"a":NaN}', b'{"a":Infinity}', b'{"a":-Infinity}',
                    b'{"a":01}', b'{"a":1.}', b'{"a":.5}', b'{"a":"\x01"}',
                    b'{"a":"\xff"}', b'{"a":"\xc0\xaf"}', b'{"a":"\xed\xa0\x80"}',
                    b"\xef\xbb\xbf{}", b"{'a':1}", b'{"a":1,}', b'{"a":"\\x"}',
                    b"[" * 100000 + b"]" * 100000):
            with self.subTest(raw=raw[:40]):
                self.assertIsNone(reference.parse_line(raw))
        for raw in (b"{}", b" {} \r\n", b'{"a":"\xc3\xa9"}', b"\t{}\t"):
            with self.subTest(raw=raw):
                self.assertIsNotNone(reference.parse_line(raw))


class Grouping(unittest.TestCase):
    def test_threshold(self):
        self.assertEqual(len(run_lines(event(c) for c in FIVE)), 1)
        self.assertEqual(run_lines(event(c) for c in FIVE[:4]), [])
        # 5 lines, 3 patterns
        self.assertEqual(run_lines(event(c) for c in
                                   ["sh -c grep 1", "sh -c grep 2", "sh -c find",
                                    "sh -c id", "sh -c ls"]), [])

    def test_alert_shape(self):
        [a] = run_lines(event(c) for c in FIVE)
        self.assertEqual(a, {
            "process.parent.entity_id": "P1", "agent.id": "agent-1",
            "host.name": "host-1",
            "Esql.time_window_date_trunc": "2024-05-01T12:00:00.000Z",
            "Esql.process_command_line_count_distinct": 5,
            "Esql.patterns_count_distinct": 5,
            "Esql.process_command_line_values": sorted(FIVE),
            "Esql.host_name_values": ["host-1"],
            "Esql.agent_id_values": ["agent-1"],
            "Esql.event_dataset_values": ["endpoint.events.process"],
            "Esql.data_stream_namespace_values": ["default"]})

    def test_cap_option(self):
        lines = []
        for p in ("P1", "P2", "P3"):
            lines += [event(c, parent=p) for c in FIVE]
        lines.append(event("sh -c echo more", parent="P2"))
        got = run_lines(lines, cap=2)
        self.assertEqual([a["process.parent.entity_id"] for a in got],
                         ["P1", "P2"])
        self.assertEqual(got[1]["Esql.process_command_line_count_distinct"], 6)
        self.assertEqual(len(run_lines(lines, cap=1)), 1)
        self.assertEqual(run_lines(lines, cap=1)[0]
                         ["process.parent.entity_id"], "P2")


class Projection(unittest.TestCase):
    def test_project_daemon_alert(self):
        daemon = {
            "@timestamp": "2024-05-01T12:01:05.123Z",
            "event.kind": "signal",
            "kibana.alert.rule.name": "Suspicious Python Shell Command Execution",
            "kibana.alert.uuid": "abc",
            "threat": [{"framework": "MITRE ATT&CK"}],
            "process.parent.entity_id": "P1", "agent.id": "agent-1",
            "host.name": None,
            "Esql.time_window_date_trunc": "2024-05-01T12:00:00.000Z",
            "Esql.process_command_line_count_distinct": 2,
            "Esql.patterns_count_distinct": 1,
            "Esql.process_command_line_values": ["z", "\U0001F600", "\uff21", "a"],
            "Esql.host_name_values": [],
            "Esql.agent_id_values": ["agent-1"],
            "Esql.event_dataset_values": ["d"],
            "Esql.data_stream_namespace_values": ["n"]}
        got = reference.project(json.dumps(daemon).encode())
        self.assertEqual(got, json.dumps({
            "process.parent.entity_id": "P1", "agent.id": "agent-1",
            "Esql.time_window_date_trunc": "2024-05-01T12:00:00.000Z",
            "Esql.process_command_line_count_distinct": 2,
            "Esql.patterns_count_distinct": 1,
            "Esql.process_command_line_values": ["a", "z", "\uff21", "\U0001F600"],
            "Esql.host_name_values": [],
            "Esql.agent_id_values": ["agent-1"],
            "Esql.event_dataset_values": ["d"],
            "Esql.data_stream_namespace_values": ["n"]},
            sort_keys=True, separators=(",", ":"), ensure_ascii=False))


class CommandLine(unittest.TestCase):
    def run_script(self, args, data=None):
        return subprocess.run([sys.executable, SCRIPT] + args, input=data,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              check=True).stdout

    def test_file_and_stdin(self):
        path = os.path.join(CASES, "epoch_millis.ndjson")
        with open(os.path.join(CASES, "epoch_millis.expect"), "rb") as fh:
            want = fh.read()
        self.assertEqual(self.run_script([path]), want)
        with open(path, "rb") as fh:
            self.assertEqual(self.run_script(["-"], fh.read()), want)

    def test_several_files_are_one_input(self):
        lines = [event(c) for c in FIVE]
        with tempfile.TemporaryDirectory() as tmp:
            a = os.path.join(tmp, "a")
            b = os.path.join(tmp, "b")
            with open(a, "w") as fh:
                fh.write("\n".join(lines[:3]) + "\n")
            with open(b, "w") as fh:
                fh.write("\n".join(lines[3:]) + "\n")
            out = self.run_script([a, b]).decode().splitlines()
        self.assertEqual(len(out), 1)

    def test_last_line_without_newline(self):
        data = ("\n".join(event(c) for c in FIVE)).encode()
        self.assertFalse(data.endswith(b"\n"))
        out = self.run_script(["-"], data).decode().splitlines()
        self.assertEqual(len(out), 1)
        self.assertIn('"Esql.process_command_line_count_distinct":5', out[0])

    def test_project_roundtrip(self):
        path = os.path.join(CASES, "label_first_match.expect")
        with open(path, "rb") as fh:
            want = fh.read()
        # reversed lines and extra keys: the projection restores the form
        lines = []
        for line in reversed(want.decode().splitlines()):
            doc = json.loads(line)
            doc["kibana.alert.uuid"] = "x"
            doc["Esql.process_command_line_values"].reverse()
            lines.append(json.dumps(doc))
        data = ("\n".join(lines) + "\n").encode()
        self.assertEqual(self.run_script(["--project", "-"], data), want)


if __name__ == "__main__":
    unittest.main()
