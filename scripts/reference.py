#!/usr/bin/env python3
"""Reference evaluator for burstd's detection (docs/SEMANTICS.md).

This is a deliberately small, slow and literal implementation of the rule
"Suspicious Python Shell Command Execution". It exists to be compared with
the daemon: it reads a complete batch of Elastic Defend process events and
prints the alerts that the ES|QL query returns over them, in a canonical
form that two programs can be diffed on.

Usage:
    scripts/reference.py [--cap N] [--stats] FILE...      ('-' is stdin)
    scripts/reference.py --project FILE...                (alert NDJSON)

Each output line is one alert as a JSON object with exactly these keys
(sorted, no spaces):

    process.parent.entity_id, agent.id, host.name   (omitted when null)
    Esql.time_window_date_trunc                     "YYYY-MM-DDTHH:MM:00.000Z"
    Esql.process_command_line_count_distinct        int
    Esql.patterns_count_distinct                    int
    Esql.process_command_line_values, Esql.host_name_values,
    Esql.agent_id_values, Esql.event_dataset_values,
    Esql.data_stream_namespace_values               arrays of strings

Arrays are sorted by UTF-8 bytes and the lines themselves are sorted, so
`diff` compares two results. With --project the input is the daemon's alert
output; only the keys above are kept and printed in the same form, so

    diff <(burstd --replay f | scripts/reference.py --project -) \\
         <(scripts/reference.py f)

is the exactness check.

Decisions taken where SEMANTICS.md is silent are marked "DECISION" below and
listed in tests/data/semantics/README.md.

Python 3.11 standard library only.
"""

import argparse
import json
import math
import re
import sys
from fractions import Fraction

# ---------------------------------------------------------------------------
# Rule constants
# ---------------------------------------------------------------------------

DEFAULT_CAP = 100            # alerts kept per window minute
MIN_COMMAND_LINES = 5        # Esql.process_command_line_count_distinct >= 5
MIN_PATTERNS = 4             # Esql.patterns_count_distinct >= 4

OS_TYPES = frozenset(["linux", "macos"])
SHELLS = frozenset(["bash", "dash", "sh", "tcsh", "csh", "zsh", "ksh", "fish",
                    "busybox"])
SHELL_FLAGS = frozenset(["-c", "-cl", "-lc"])

KEY_FIELDS = ("process.parent.entity_id", "agent.id", "host.name")

# (output column, source field) for the five VALUES() columns
VALUE_COLUMNS = (
    ("Esql.process_command_line_values", "process.command_line"),
    ("Esql.host_name_values", "host.name"),
    ("Esql.agent_id_values", "agent.id"),
    ("Esql.event_dataset_values", "event.dataset"),
    ("Esql.data_stream_namespace_values", "data_stream.namespace"),
)

WINDOW_COLUMN = "Esql.time_window_date_trunc"
LINES_COLUMN = "Esql.process_command_line_count_distinct"
PATTERNS_COLUMN = "Esql.patterns_count_distinct"

OUTPUT_KEYS = frozenset(KEY_FIELDS + (WINDOW_COLUMN, LINES_COLUMN,
                                      PATTERNS_COLUMN)
                        + tuple(col for col, _ in VALUE_COLUMNS))

# ---------------------------------------------------------------------------
# JSON document -> field values
# ---------------------------------------------------------------------------


class _Object(list):
    """The (key, value) members of one JSON object, duplicates kept."""


def _reject_constant(name):
    # Python's json accepts NaN / Infinity / -Infinity; JSON does not.
    raise ValueError("not JSON: " + name)


# Numbers are kept as their exact source text (parse_int / parse_float get
# the token text), booleans stay True/False, objects keep duplicate keys.
_DECODER = json.JSONDecoder(object_pairs_hook=_Object,
                            parse_int=str,
                            parse_float=str,
                            parse_constant=_reject_constant)


def _clean(text):
    """Replace unpaired UTF-16 surrogates with U+FFFD.

    DECISION: a JSON escape such as "\\ud800" that is not half of a valid
    surrogate pair decodes to a lone surrogate, which is not Unicode text.
    Elasticsearch indexes such a keyword through Lucene's UTF-16 -> UTF-8
    conversion, which writes U+FFFD in its place; we do the same. (Raw bytes
    that are not UTF-8 make the whole line invalid, see parse_line.)
    """
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return "".join("\ufffd" if "\ud800" <= ch <= "\udfff" else ch
                       for ch in text)


def _collect(value, path, fields):
    """Add every scalar under `value` to fields[path].

    Nested objects and dotted keys name the same field because a field name
    is simply the keys on the way down joined by "."; arrays are flattened;
    null contributes nothing; numbers are their source text; booleans are
    "true"/"false".
    """
    if isinstance(value, _Object):
        for key, member in value:
            key = _clean(key)
            _collect(member, key if path is None else path + "." + key,
                     fields)
    elif isinstance(value, list):
        for item in value:
            _collect(item, path, fields)
    elif value is None:
        pass
    elif value is True:
        fields.setdefault(path, []).append("true")
    elif value is False:
        fields.setdefault(path, []).append("false")
    else:  # a JSON string, or the text of a JSON number
        fields.setdefault(path, []).append(_clean(value))


# Keyword fields of the Elastic Defend endpoint mapping carry
# `ignore_above: 1024`: a longer value is not indexed and has no doc
# values, so the query never sees it (Elasticsearch's KeywordFieldMapper
# compares Java's String.length(), UTF-16 code units: a code point above
# U+FFFF counts 2). Fields mapped otherwise keep every value: wildcard
# command lines, dates, text and constant keywords (endpoint-package,
# data_stream/process/fields/fields.yml).
IGNORE_ABOVE = 1024
NOT_KEYWORD = frozenset([
    "process.command_line", "process.parent.command_line",
    "process.entry_leader.command_line", "process.group_leader.command_line",
    "process.session_leader.command_line",
    "@timestamp", "event.created", "event.ingested", "process.start",
    "process.parent.start", "process.parent.group_leader.start",
    "process.entry_leader.start", "process.entry_leader.parent.start",
    "process.entry_leader.parent.session_leader.start",
    "process.group_leader.start", "process.session_leader.start",
    "process.session_leader.parent.start",
    "process.session_leader.parent.session_leader.start",
    "message",
    "data_stream.dataset", "data_stream.namespace", "data_stream.type",
])


def utf16_length(text):
    """Length in UTF-16 code units, as Java's String.length()."""
    return len(text.encode("utf-16-le")) // 2


def _drop_ignored_above(fields):
    """Remove the keyword values the mapping does not index."""
    for name, values in fields.items():
        if name not in NOT_KEYWORD:
            fields[name] = [v for v in values
                            if utf16_length(v) <= IGNORE_ABOVE]


def parse_line(raw):
    """Parse one NDJSON line (bytes) into {field name: [values...]}.

    The value lists keep every occurrence in document order; callers
    de-duplicate where the field type does. Keyword values the mapping does
    not index (past ignore_above) are left out. Returns None for a line that is
    not one JSON object in valid UTF-8 (blank lines included).
    """
    if raw.endswith(b"\n"):
        raw = raw[:-1]
    try:
        text = raw.decode("utf-8")          # strict: rejects bad bytes
    except UnicodeDecodeError:
        return None
    try:
        doc = _DECODER.decode(text)
    except (ValueError, RecursionError):
        # DECISION: documents nested too deeply for Python's parser (about
        # 1000 levels) are treated as invalid lines.
        return None
    if not isinstance(doc, _Object):
        return None
    fields = {}
    _collect(doc, None, fields)
    _drop_ignored_above(fields)
    return fields


def distinct(fields, name):
    """The keyword values of a field, de-duplicated (a set)."""
    return set(fields.get(name, ()))


def single(fields, name):
    """The value of a single-valued keyword field, else None."""
    values = distinct(fields, name)
    if len(values) == 1:
        return next(iter(values))
    return None


# ---------------------------------------------------------------------------
# Per-event filter
# ---------------------------------------------------------------------------

_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ",
                             "abcdefghijklmnopqrstuvwxyz")


def passes_filter(fields):
    """Clauses 1-6 of the WHERE command."""
    # 1. host.os.type in ("linux", "macos"), single-valued
    if single(fields, "host.os.type") not in OS_TYPES:
        return False
    # 2. event.type == "start", single-valued
    if single(fields, "event.type") != "start":
        return False
    # 3. TO_LOWER(process.parent.name) like "python*", single-valued.
    #    ASCII lower-casing is equivalent to TO_LOWER here: no non-ASCII
    #    character lower-cases to one of the letters of "python".
    parent = single(fields, "process.parent.name")
    if parent is None or not parent.translate(_ASCII_LOWER).startswith(
            "python"):
        return False
    # 4. process.name in (shells), single-valued, case-sensitive
    if single(fields, "process.name") not in SHELLS:
        return False
    # 5. KQL event.action:"exec" -- any value
    if "exec" not in distinct(fields, "event.action"):
        return False
    # 6. KQL process.args:("-c" or "-cl" or "-lc") -- any value
    if not distinct(fields, "process.args") & SHELL_FLAGS:
        return False
    return True


# ---------------------------------------------------------------------------
# @timestamp -> window (minutes since the Unix epoch, floored)
# ---------------------------------------------------------------------------
#
# Elasticsearch maps @timestamp as `date` with the format
# strict_date_optional_time||epoch_millis: the text is first parsed as ISO
# 8601, then as epoch milliseconds:
#
#   iso   := YYYY ['-' MM ['-' DD ['T' HH [':' mm [':' ss
#              [('.'|',') F{1,9}]]] [zone]]]]
#   zone  := 'Z' | ('+'|'-') HH [[':'] mm]             (|offset| <= 18:00)
#   epoch := ['-'] D{1,19} ['.' D{0,6}]                (integer <= 2^63-1)
#
# Missing parts default to the start of their unit; no zone means UTC. Month,
# day (leap years included), hour (0-23), minute and second (0-59) are
# validated. A JSON number is parsed from its source text, so the number
# 2024 is the year 2024 and 1714564800000 is epoch milliseconds, as in
# Elasticsearch. "-1.5" is -(1.5 ms): negative values floor toward the past.
#
# DECISIONS (Elasticsearch's own parser is a little wider; these forms are
# deliberately not accepted): a 'T' without an hour, offsets with seconds
# (+01:00:30), region zone ids ("UTC", "Europe/Paris"), negative years (so
# "-1234" is epoch milliseconds, not the year -1234). Epoch milliseconds
# take at most 6 fractional digits, as Elasticsearch's epoch_millis
# (EpochTime.java: appendFraction(NANOS_OF_MILLI, 0, 6)), which refuses a
# document with more.
# A window outside the years 0000-9999 (UTC) cannot be written in the output
# format; such an event is unplaceable.

_ISO_RE = re.compile(r"""
    (?P<year>[0-9]{4})
    (?: -(?P<month>[0-9]{2})
      (?: -(?P<day>[0-9]{2})
        (?: T(?P<hour>[0-9]{2})
          (?: :(?P<minute>[0-9]{2})
            (?: :(?P<second>[0-9]{2})
              (?: [.,](?P<fraction>[0-9]{1,9}) )?
            )?
          )?
          (?P<zone> Z | [+-][0-9]{2} | [+-][0-9]{2}:[0-9]{2} | [+-][0-9]{4} )?
        )?
      )?
    )?
    """, re.VERBOSE | re.ASCII)

_EPOCH_RE = re.compile(r"(-)?([0-9]{1,19})(?:\.([0-9]{0,6}))?", re.ASCII)

_LONG_MAX = 2 ** 63 - 1
_MS_PER_MINUTE = 60000
_FIRST_MINUTE = None   # set below: 0000-01-01T00:00Z
_LAST_MINUTE = None    # set below: 9999-12-31T23:59Z


def _is_leap(year):
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def _days_in_month(year, month):
    if month == 2:
        return 29 if _is_leap(year) else 28
    return 30 if month in (4, 6, 9, 11) else 31


def days_from_civil(year, month, day):
    """Days since 1970-01-01 of a proleptic Gregorian date."""
    year -= month <= 2
    era = year // 400
    yoe = year - era * 400
    doy = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def civil_from_days(days):
    """Inverse of days_from_civil: (year, month, day)."""
    days += 719468
    era = days // 146097
    doe = days - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    year = yoe + era * 400
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = mp + (3 if mp < 10 else -9)
    return year + (month <= 2), month, day


_FIRST_MINUTE = days_from_civil(0, 1, 1) * 1440
_LAST_MINUTE = days_from_civil(9999, 12, 31) * 1440 + 1439


def _zone_minutes(zone):
    """Offset in minutes east of UTC, or None if out of range."""
    if zone is None or zone == "Z":
        return 0
    sign = -1 if zone[0] == "-" else 1
    digits = zone[1:].replace(":", "")
    hours = int(digits[0:2])
    minutes = int(digits[2:4]) if len(digits) >= 4 else 0
    if minutes > 59 or hours * 60 + minutes > 18 * 60:
        return None
    return sign * (hours * 60 + minutes)


def _parse_iso_ms(text):
    """Milliseconds since the epoch (a Fraction), or None if not ISO 8601."""
    m = _ISO_RE.fullmatch(text)
    if m is None:
        return None
    year = int(m["year"])
    month = int(m["month"] or 1)
    day = int(m["day"] or 1)
    hour = int(m["hour"] or 0)
    minute = int(m["minute"] or 0)
    second = int(m["second"] or 0)
    fraction = m["fraction"] or ""
    if not 1 <= month <= 12:
        return None
    if not 1 <= day <= _days_in_month(year, month):
        return None
    if hour > 23 or minute > 59 or second > 59:
        return None
    offset = _zone_minutes(m["zone"])
    if offset is None:
        return None
    seconds = (days_from_civil(year, month, day) * 86400 + hour * 3600
               + (minute - offset) * 60 + second)
    # the fraction of a second, exactly, in milliseconds
    return seconds * 1000 + Fraction(int(fraction or "0") * 1000,
                                     10 ** len(fraction))


def _parse_epoch_millis_ms(text):
    """Milliseconds since the epoch (a Fraction), or None."""
    m = _EPOCH_RE.fullmatch(text)
    if m is None:
        return None
    millis = int(m.group(2))
    if millis > _LONG_MAX:
        return None
    fraction = m.group(3) or ""
    value = millis + Fraction(int(fraction or "0"), 10 ** len(fraction))
    # "-1.5" is -(1.5 ms), as in Elasticsearch 8.x.
    return -value if m.group(1) else value


def _parse_ms(text):
    value = _parse_iso_ms(text)
    if value is None:
        value = _parse_epoch_millis_ms(text)
    return value


def parse_timestamp_ns(text):
    """Nanoseconds since the epoch of a @timestamp text (floored), or None."""
    value = _parse_ms(text)
    return None if value is None else math.floor(value * 10 ** 6)


def parse_timestamp_minute(text):
    """Window of one @timestamp text: minutes since the epoch, or None."""
    value = _parse_ms(text)
    if value is None:
        return None
    minute = math.floor(value / _MS_PER_MINUTE)   # floor, also for negatives
    if not _FIRST_MINUTE <= minute <= _LAST_MINUTE:
        return None
    return minute


def event_window(fields):
    """Window of an event, or None when it cannot be placed.

    @timestamp is a date, not a keyword: its values are not
    de-duplicated (a date field's doc values keep both), so ["t", "t"]
    is multi-valued and the event cannot be placed.
    """
    values = list(fields.get("@timestamp", ()))
    if len(values) != 1:
        return None
    return parse_timestamp_minute(values[0])


def format_window(minute):
    """Minutes since the epoch -> "YYYY-MM-DDTHH:MM:00.000Z"."""
    days, minute_of_day = divmod(minute, 1440)
    year, month, day = civil_from_days(days)
    return "%04d-%02d-%02dT%02d:%02d:00.000Z" % (
        year, month, day, minute_of_day // 60, minute_of_day % 60)


# ---------------------------------------------------------------------------
# Pattern label
# ---------------------------------------------------------------------------


def pattern_label(fields):
    """The CASE(...) of the query: first match wins, case-sensitive."""
    line = single(fields, "process.command_line")
    if line is None:               # missing or multi-valued: LIKE is null
        return "other"
    if "grep" in line:
        return "grep"
    if "find" in line:
        return "find"
    if "curl" in line:
        return "curl"
    if "env " in line:
        return "environment_enumeration"
    if "wget" in line:
        return "wget"
    if "whoami" in line or "uname" in line or "hostname" in line:
        return "discovery"
    return "other"


# ---------------------------------------------------------------------------
# Grouping, threshold, cap
# ---------------------------------------------------------------------------


class Evaluator:
    """Feed it NDJSON lines, then ask for the alerts."""

    def __init__(self, cap=DEFAULT_CAP):
        self.cap = cap
        self.groups = {}        # (entity, agent, host, minute) -> state
        self.lines = 0
        self.invalid_lines = 0
        self.matched = 0
        self.unplaceable = 0

    def feed(self, raw):
        self.lines += 1
        fields = parse_line(raw)
        if fields is None:
            self.invalid_lines += 1
            return
        if not passes_filter(fields):
            return
        self.matched += 1
        minute = event_window(fields)
        if minute is None:
            self.unplaceable += 1
            return
        label = pattern_label(fields)
        # A missing key field is the single value null; a multi-valued one
        # puts the event into every combination of its values.
        keys = [sorted(distinct(fields, name)) or [None]
                for name in KEY_FIELDS]
        for entity in keys[0]:
            for agent in keys[1]:
                for host in keys[2]:
                    state = self.groups.setdefault(
                        (entity, agent, host, minute),
                        {"labels": set(),
                         "values": {field: set()
                                    for _, field in VALUE_COLUMNS}})
                    state["labels"].add(label)
                    for _, field in VALUE_COLUMNS:
                        state["values"][field] |= distinct(fields, field)

    def feed_file(self, fh):
        for raw in fh:
            self.feed(raw)

    def alerts(self):
        """The alerts as dicts, at most `cap` per window, unordered."""
        by_minute = {}
        for (entity, agent, host, minute), state in self.groups.items():
            lines = len(state["values"]["process.command_line"])
            patterns = len(state["labels"])
            if lines >= MIN_COMMAND_LINES and patterns >= MIN_PATTERNS:
                by_minute.setdefault(minute, []).append(
                    (entity, agent, host, minute, lines, patterns, state))
        result = []
        for minute, rows in by_minute.items():
            # Largest first. Ties (equal distinct command-line count) are
            # broken by the distinct pattern count, descending, then by the
            # group key (process.parent.entity_id, agent.id, host.name)
            # ascending, compared field by field, where null sorts before
            # any string and strings compare by their UTF-8 bytes.
            rows.sort(key=lambda r: (-r[4], -r[5],
                                     _null_first(r[0]), _null_first(r[1]),
                                     _null_first(r[2])))
            for entity, agent, host, _, lines, patterns, state in \
                    rows[:self.cap]:
                alert = {
                    WINDOW_COLUMN: format_window(minute),
                    LINES_COLUMN: lines,
                    PATTERNS_COLUMN: patterns,
                }
                for name, value in zip(KEY_FIELDS, (entity, agent, host)):
                    if value is not None:
                        alert[name] = value
                for column, field in VALUE_COLUMNS:
                    alert[column] = sorted(state["values"][field],
                                           key=_utf8)
                result.append(alert)
        return result

    def canonical_lines(self):
        return sort_lines(canonical(a) for a in self.alerts())

    def stats(self):
        return {"lines": self.lines, "invalid_lines": self.invalid_lines,
                "matched_events": self.matched,
                "unplaceable_events": self.unplaceable,
                "groups": len(self.groups)}


def _utf8(text):
    return text.encode("utf-8")


def _null_first(value):
    return (0, b"") if value is None else (1, _utf8(value))


# ---------------------------------------------------------------------------
# Canonical output
# ---------------------------------------------------------------------------


def canonical(alert):
    """One alert (dict of the eleven columns) as its canonical JSON line."""
    return json.dumps(alert, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False)


def sort_lines(lines):
    return sorted(lines, key=_utf8)


def project(raw):
    """Canonical form of one alert line written by the daemon."""
    doc = json.loads(raw)
    if not isinstance(doc, dict):
        raise ValueError("alert is not a JSON object")
    alert = {}
    for key in OUTPUT_KEYS:
        if key in doc and doc[key] is not None:
            value = doc[key]
            if isinstance(value, list):
                value = sorted(value, key=_utf8)
            alert[key] = value
    return canonical(alert)


# ---------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------


def _open_inputs(names):
    for name in names or ["-"]:
        if name == "-":
            yield sys.stdin.buffer
        else:
            with open(name, "rb") as fh:
                yield fh


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Reference evaluation of the Suspicious Python Shell "
                    "Command Execution rule over NDJSON events.")
    parser.add_argument("files", nargs="*", metavar="FILE",
                        help="NDJSON input ('-' or none: standard input)")
    parser.add_argument("--project", action="store_true",
                        help="input is alert NDJSON from burstd: print its "
                             "eleven rule columns in canonical form")
    parser.add_argument("--cap", type=int, default=DEFAULT_CAP,
                        help="alerts kept per window minute (default 100)")
    parser.add_argument("--stats", action="store_true",
                        help="print input counters to standard error")
    args = parser.parse_args(argv)

    out = []
    if args.project:
        for fh in _open_inputs(args.files):
            for number, raw in enumerate(fh, 1):
                if not raw.strip():
                    continue
                try:
                    out.append(project(raw))
                except ValueError as exc:
                    sys.stderr.write("reference.py: line %d: bad alert: %s\n"
                                     % (number, exc))
                    return 1
        out = sort_lines(out)
    else:
        evaluator = Evaluator(cap=args.cap)
        for fh in _open_inputs(args.files):
            evaluator.feed_file(fh)
        out = evaluator.canonical_lines()
        if args.stats:
            sys.stderr.write(json.dumps(evaluator.stats(), sort_keys=True)
                             + "\n")
    stdout = sys.stdout.buffer
    for line in out:
        stdout.write(line.encode("utf-8") + b"\n")
    stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
