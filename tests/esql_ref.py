#!/usr/bin/env python3
"""A batch evaluator of burstd's ES|QL subset, for differential tests.

It reads a whole batch of Elastic Defend events (NDJSON) and prints the
alerts an ES|QL detection rule makes over them, in a canonical form that
can be compared with what burstd writes for the same input:

    tests/esql_ref.py --rule FILE.esql|FILE.toml EVENTS...
    tests/esql_ref.py --project --rule FILE ALERTS...

It is written from the ES|QL reference and the Elasticsearch sources (cited
where a decision depends on them) and from docs/esql-rule-semantics.md,
not from burstd's C code: slow, literal and small. Python 3.11 standard
library only.

Output.  One line per alert, sorted by UTF-8 bytes:

    {"columns":{...},"rule":"<rule_id, or the file's basename>"}

with keys sorted and no spaces. The columns are the query's output
columns: a null column is omitted, a single value is a JSON scalar, a
multi-value a JSON array sorted by the canonical JSON text of its
elements, a datetime "YYYY-MM-DDTHH:MM:SS.mmmZ", an ip its text, a number
a JSON number (a double with an integral value is written as an integer,
so that doubles compare by value).

Batch semantics (burstd --replay closes every window at the end of input):

  * filter-only queries (no STATS): every row the pipeline emits is an
    alert;
  * bucketed queries (one STATS whose BY has a DATE_TRUNC(span,
    @timestamp) key): STATS runs over the whole batch; then, separately for
    each value of the time-bucket key, the commands after STATS run, and
    at most max_signals rows (the TOML's max_signals, default 100) are
    kept, the first ones in SORT order;
  * STATS without a time bucket, a second STATS, and LIMIT before STATS
    are refused, as burstd refuses them.

Ties.  ES|QL leaves the order of rows with equal SORT keys unspecified
("Two rows with the same sort key are considered equal",
_snippets/commands/layout/sort.md). When a LIMIT or the max_signals cap
cuts through rows that tie, which of them survive is unspecified: the
evaluator then keeps the first ones in canonical-text order, reports the
tie on standard error, and Result.cuts lists, per bucket, the rows kept
for certain and the tied candidates, so that a test can compare sets.

Events.  A line that is not one JSON object in valid UTF-8 is skipped. A
field is found whether the document nests objects or uses dotted keys or
a mix; arrays flatten; JSON null contributes nothing. A value is typed as
the Defend endpoint mapping types its field (DATE_FIELDS, LONG_FIELDS,
IP_FIELDS, BOOLEAN_FIELDS below; every other field is a keyword). Keyword
values are de-duplicated and sorted by UTF-8 bytes, as keyword doc values
are (SORTED_SET); longs, dates and booleans are sorted but keep
duplicates (SORTED_NUMERIC). A keyword value longer than 1024 UTF-16 code
units is not indexed (ignore_above) and so absent, except in the fields of
NOT_IGNORE_ABOVE. A value its field type cannot hold is dropped (the
logs-* index templates set index.mapping.ignore_malformed). An event
without exactly one valid @timestamp is skipped: a data stream rejects
such a document.

Limits, where this evaluator is simpler than Elasticsearch:

  * MV_EXPAND fans a row out to every value (burstd bounds it at
    ESQL_PLAN_MAX_EXPAND rows and counts the rest);
  * multi-values are in doc-value order (sorted), which ES|QL documents
    as unspecified, so MV_FIRST, MV_LAST and MV_CONCAT of a raw field
    follow that order;
  * SUM and AVG of doubles are exactly rounded sums (math.fsum), not
    Elasticsearch's compensated sums: the last bit may differ;
  * a document Elasticsearch would reject for a mapping conflict (a
    field that is both a value and an object, two values in a
    constant_keyword) is read as it is; repeated keys merge, as the
    semantic cases decide;
  * METADATA fields (_id, _index, _version) are null.
"""

import argparse
import functools
import ipaddress
import itertools
import json
import math
import os
import re
import sys
import tomllib
from decimal import Decimal, InvalidOperation
from fractions import Fraction

DEFAULT_MAX_SIGNALS = 100
LONG_MIN = -(2 ** 63)
LONG_MAX = 2 ** 63 - 1
INT_MIN = -(2 ** 31)
INT_MAX = 2 ** 31 - 1


class EsqlError(Exception):
    """A query that cannot be evaluated: "LINE:COL: message"."""

    def __init__(self, message, pos=None):
        self.pos = pos
        if pos is not None:
            message = "%d:%d: %s" % (pos[0], pos[1], message)
        super().__init__(message)


# ---------------------------------------------------------------------------
# Field types of the Elastic Defend endpoint mapping (endpoint-package,
# package/endpoint/data_stream/*/fields/fields.yml), as data.
# ---------------------------------------------------------------------------

DATE_FIELDS = frozenset("""
@timestamp event.created event.ingested process.start process.parent.start
process.parent.group_leader.start process.entry_leader.start
process.entry_leader.parent.start
process.entry_leader.parent.session_leader.start process.group_leader.start
process.session_leader.start process.session_leader.parent.start
process.session_leader.parent.session_leader.start file.created file.mtime
file.accessed
""".split())

LONG_FIELDS = frozenset("""
process.pid process.parent.pid process.ppid process.pgid process.parent.pgid
process.thread.id process.args_count process.parent.args_count
process.exit_code process.parent.exit_code process.uptime
process.parent.uptime process.entry_leader.pid process.session_leader.pid
process.group_leader.pid process.parent.group_leader.pid
process.tty.char_device.major process.tty.char_device.minor
process.Ext.token.integrity_level source.port destination.port source.bytes
destination.bytes network.bytes file.size event.severity event.sequence
event.duration dns.question.answers.ttl
""".split())

IP_FIELDS = frozenset("""
source.ip destination.ip host.ip client.ip server.ip dns.resolved_ip
""".split())

BOOLEAN_FIELDS = frozenset("""
process.interactive process.parent.interactive
process.entry_leader.interactive process.session_leader.interactive
process.group_leader.interactive process.parent.group_leader.interactive
process.entry_leader.same_as_process process.session_leader.same_as_process
process.group_leader.same_as_process process.code_signature.exists
process.code_signature.trusted process.parent.code_signature.exists
process.parent.code_signature.trusted dll.code_signature.exists
dll.code_signature.trusted
""".split())

# Keyword-typed fields that are not `keyword` with ignore_above 1024 in the
# mapping: wildcard command lines, match_only_text, constant_keyword.
NOT_IGNORE_ABOVE = frozenset("""
process.command_line process.parent.command_line
process.entry_leader.command_line process.group_leader.command_line
process.session_leader.command_line message data_stream.dataset
data_stream.namespace data_stream.type
""".split())

IGNORE_ABOVE = 1024


def field_type(name):
    if name in DATE_FIELDS:
        return "datetime"
    if name in LONG_FIELDS:
        return "long"
    if name in IP_FIELDS:
        return "ip"
    if name in BOOLEAN_FIELDS:
        return "boolean"
    return "keyword"


# ---------------------------------------------------------------------------
# Value model. A column's content for one row is a tuple of scalars: () is
# null, one element a single value, more a multi-value. Scalars: str
# (keyword), bool, int (integer and long), float (double), Date, Ip,
# Duration, Period.
# ---------------------------------------------------------------------------


class Date:
    """A datetime: milliseconds since the epoch."""

    __slots__ = ("ms",)

    def __init__(self, ms):
        self.ms = ms

    def __eq__(self, other):
        return isinstance(other, Date) and other.ms == self.ms

    def __lt__(self, other):
        return self.ms < other.ms

    def __hash__(self):
        return hash(("date", self.ms))

    def __repr__(self):
        return "Date(%s)" % format_date(self.ms)


class Ip:
    """An ip: its 16-byte form (IPv4 as ::ffff:a.b.c.d)."""

    __slots__ = ("b",)

    def __init__(self, b):
        self.b = b

    def __eq__(self, other):
        return isinstance(other, Ip) and other.b == self.b

    def __lt__(self, other):
        return self.b < other.b

    def __hash__(self):
        return hash(("ip", self.b))

    def address(self):
        addr = ipaddress.IPv6Address(self.b)
        return addr.ipv4_mapped or addr

    def __str__(self):
        return str(self.address())

    __repr__ = __str__


class Duration:
    """A time_duration literal (`5 minutes`): milliseconds."""

    __slots__ = ("ms",)

    def __init__(self, ms):
        self.ms = ms

    def __eq__(self, other):
        return isinstance(other, Duration) and other.ms == self.ms

    def __hash__(self):
        return hash(("duration", self.ms))


class Period:
    """A date_period literal (`1 day`, `1 month`): months and days."""

    __slots__ = ("months", "days")

    def __init__(self, months, days):
        self.months = months
        self.days = days

    def __eq__(self, other):
        return (isinstance(other, Period) and other.months == self.months
                and other.days == self.days)

    def __hash__(self):
        return hash(("period", self.months, self.days))


def kind(v):
    t = type(v)
    if t is str:
        return "keyword"
    if t is bool:
        return "boolean"
    if t is int:
        return "long"
    if t is float:
        return "double"
    if t is Date:
        return "datetime"
    if t is Ip:
        return "ip"
    if t is Duration:
        return "time_duration"
    if t is Period:
        return "date_period"
    raise TypeError(repr(v))


def is_number(v):
    return type(v) is int or type(v) is float


def order_key(v):
    """The ES|QL order of scalars of one type (keywords by UTF-8 bytes,
    which for text without surrogates is code point order)."""
    t = type(v)
    if t is Date:
        return v.ms
    if t is Ip:
        return v.b
    return v


def dedupe(values):
    out = []
    seen = set()
    for v in values:
        if v not in seen:
            seen.add(v)
            out.append(v)
    return tuple(out)


def long_or_null(n):
    return (n,) if LONG_MIN <= n <= LONG_MAX else ()


def double_or_null(d):
    return (d,) if math.isfinite(d) else ()


# ---------------------------------------------------------------------------
# Dates: parsing @timestamp as the mapping's
# strict_date_optional_time||epoch_millis, and printing.
# ---------------------------------------------------------------------------
#
# The accepted grammar is the one tests/data/semantics/README.md
# ("Decisions") settles:
#   yyyy[-MM[-dd[THH[:mm[:ss[(.|,)F{1,9}]]][zone]]]], zone Z | +-HH |
#   +-HH:mm | +-HHmm (at most 18:00); else epoch milliseconds
#   [-]digits{1,19}[.digits{0,6}] within a signed 64-bit integer.
# The instant is floored to the millisecond (a date field has millisecond
# resolution); years outside 0000-9999 are refused.

_ISO = re.compile(
    r"([0-9]{4})(?:-([0-9]{2})(?:-([0-9]{2})(?:T([0-9]{2})"
    r"(?::([0-9]{2})(?::([0-9]{2})(?:[.,]([0-9]{1,9}))?)?)?"
    r"(Z|[+-][0-9]{2}(?::?[0-9]{2})?)?)?)?)?", re.ASCII)
_EPOCH = re.compile(r"(-?)([0-9]{1,19})(?:\.([0-9]{0,6}))?", re.ASCII)
_MIN_MS = None         # 0000-01-01T00:00:00.000Z, set below
_MAX_MS = None         # 9999-12-31T23:59:59.999Z


def _days_before_year(year):
    """Days from 1970-01-01 to year-01-01 (proleptic Gregorian)."""
    y = year - 1
    return y * 365 + y // 4 - y // 100 + y // 400 - 719162


def _month_days(year, month):
    if month == 2:
        leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
        return 29 if leap else 28
    return 30 if month in (4, 6, 9, 11) else 31


_MIN_MS = _days_before_year(0) * 86400000
_MAX_MS = _days_before_year(10000) * 86400000 - 1


def _civil(ms):
    """(year, month, day, hour, minute, second, millisecond) of epoch ms."""
    days, rest = divmod(ms, 86400000)
    year = 1970 + days // 366
    while _days_before_year(year + 1) <= days:
        year += 1
    while _days_before_year(year) > days:
        year -= 1
    day = days - _days_before_year(year)
    month = 1
    while day >= _month_days(year, month):
        day -= _month_days(year, month)
        month += 1
    return (year, month, day + 1, rest // 3600000, rest // 60000 % 60,
            rest // 1000 % 60, rest % 1000)


def _from_civil(year, month, day):
    """Epoch milliseconds of year-month-day 00:00Z."""
    return (_days_before_year(year) + sum(
        _month_days(year, mo) for mo in range(1, month)) + day - 1) * 86400000


def _iso_ms(text):
    m = _ISO.fullmatch(text)
    if m is None:
        return None
    year = int(m[1])
    month = int(m[2] or 1)
    day = int(m[3] or 1)
    hour, minute, second = int(m[4] or 0), int(m[5] or 0), int(m[6] or 0)
    frac = m[7] or ""
    if not (1 <= month <= 12 and 1 <= day <= _month_days(year, month)
            and hour <= 23 and minute <= 59 and second <= 59):
        return None
    offset = 0
    zone = m[8]
    if zone and zone != "Z":
        digits = zone[1:].replace(":", "")
        zh = int(digits[:2])
        zm = int(digits[2:]) if len(digits) > 2 else 0
        if zm > 59 or zh * 60 + zm > 18 * 60:
            return None
        offset = (zh * 60 + zm) * (-1 if zone[0] == "-" else 1)
    days = _days_before_year(year) + sum(
        _month_days(year, mo) for mo in range(1, month)) + day - 1
    seconds = days * 86400 + hour * 3600 + (minute - offset) * 60 + second
    nanos = int(frac.ljust(9, "0")) if frac else 0
    return seconds * 1000 + nanos // 1000000


def _epoch_ms(text):
    m = _EPOCH.fullmatch(text)
    if m is None or int(m[2]) > LONG_MAX:
        return None
    value = Fraction(int(m[2])) + (Fraction(int(m[3]), 10 ** len(m[3]))
                                  if m[3] else 0)
    return math.floor(-value if m[1] else value)


def parse_date(text):
    """Epoch milliseconds of a date text, or None."""
    ms = _iso_ms(text)
    if ms is None:
        ms = _epoch_ms(text)
    if ms is None or not _MIN_MS <= ms <= _MAX_MS:
        return None
    return ms


def format_date(ms):
    """"YYYY-MM-DDTHH:MM:SS.mmmZ", as ES|QL prints a datetime."""
    return "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ" % _civil(ms)


def parse_ip(text):
    """The 16-byte form of an IPv4 or IPv6 text, or None."""
    try:
        addr = ipaddress.ip_address(text)
    except ValueError:
        return None
    if addr.version == 4:
        return Ip(ipaddress.IPv6Address("::ffff:" + str(addr)).packed)
    if addr.scope_id:
        return None
    return Ip(addr.packed)


# ---------------------------------------------------------------------------
# Events: one NDJSON line to {field: [raw values]}, then typed values.
# ---------------------------------------------------------------------------


class _Pairs(list):
    """A JSON object's members in order, duplicate keys kept."""


def _no_constant(name):
    raise ValueError("not JSON: " + name)


_JSON = json.JSONDecoder(object_pairs_hook=_Pairs, parse_int=str,
                         parse_float=str, parse_constant=_no_constant)


def _fix_surrogates(text):
    """A lone UTF-16 surrogate (from an escape) reads as U+FFFD, as Lucene
    writes it when it indexes the value."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return "".join("\ufffd" if "\ud800" <= c <= "\udfff" else c
                       for c in text)


def _flatten(value, path, out):
    if isinstance(value, _Pairs):
        for key, member in value:
            key = _fix_surrogates(key)
            _flatten(member, key if path is None else path + "." + key, out)
    elif isinstance(value, list):
        for item in value:
            _flatten(item, path, out)
    elif value is None:
        return
    elif path is not None:
        if value is True:
            value = "true"
        elif value is False:
            value = "false"
        else:
            value = _fix_surrogates(value)
        out.setdefault(path, []).append(value)


def parse_event(raw):
    """{field: [raw text values]} of one NDJSON line (bytes), or None when
    the line is not one JSON object in valid UTF-8. Numbers keep their
    source text, booleans read "true"/"false"."""
    try:
        doc = _JSON.decode(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    if not isinstance(doc, _Pairs):
        return None
    fields = {}
    _flatten(doc, None, fields)
    return fields


_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)"
                      r"(?:[eE][+-]?[0-9]+)?", re.ASCII)


def _index_long(text):
    """A long field with coerce (the default): an integer, or a decimal
    truncated toward zero; None if the document's value is malformed."""
    if not _DECIMAL.fullmatch(text):
        return None
    try:
        n = int(Decimal(text))
    except (InvalidOperation, OverflowError):
        return None
    return n if LONG_MIN <= n <= LONG_MAX else None


def _index_value(ftype, text):
    if ftype == "datetime":
        ms = parse_date(text)
        return None if ms is None else Date(ms)
    if ftype == "long":
        return _index_long(text)
    if ftype == "ip":
        return parse_ip(text)
    if ftype == "boolean":
        # BooleanFieldMapper: "" is false
        if text == "true":
            return True
        if text in ("false", ""):
            return False
        return None
    return text


def utf16_units(text):
    return len(text) + sum(1 for c in text if ord(c) > 0xFFFF)


class Event:
    """One indexed document: its fields, typed on demand."""

    def __init__(self, fields):
        self.raw = fields
        self.typed = {}

    def names(self):
        return self.raw.keys()

    def value(self, name):
        """The doc values of field `name`, as a tuple."""
        got = self.typed.get(name)
        if got is not None:
            return got
        ftype = field_type(name)
        vals = []
        for text in self.raw.get(name, ()):
            v = _index_value(ftype, text)
            if v is None:
                continue
            if (ftype == "keyword" and name not in NOT_IGNORE_ABOVE
                    and utf16_units(v) > IGNORE_ABOVE):
                continue
            vals.append(v)
        if ftype in ("keyword", "ip"):
            vals = set(vals)
        got = tuple(sorted(vals, key=order_key))
        self.typed[name] = got
        return got

    def timestamp(self):
        """The event's @timestamp (a Date), or None when it has not
        exactly one value that parses."""
        raw = self.raw.get("@timestamp", ())
        if len(raw) != 1:
            return None
        ms = parse_date(raw[0])
        return None if ms is None else Date(ms)


# ---------------------------------------------------------------------------
# Lexer
# ---------------------------------------------------------------------------

KEYWORDS = frozenset(["and", "or", "not", "in", "is", "null", "like",
                      "rlike", "true", "false", "asc", "desc", "nulls",
                      "first", "last", "by", "where", "as", "metadata"])

_ID_PART = r"(?:[A-Za-z][A-Za-z0-9_]*|[_@][A-Za-z0-9_@]+|`(?:[^`]|``)+`)"
_NAME = re.compile(_ID_PART + r"(?:\." + _ID_PART + r")*")
_PATTERN = re.compile(r"(?:[A-Za-z0-9_@.*]|`(?:[^`]|``)+`)+")
_NUMBER = re.compile(r"(?:[0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?",
                     re.ASCII)
_OPS = ("::", "==", "!=", "<=", ">=", "<", ">", "+", "-", "*", "/", "%",
        "(", ")", ",", "=", ":", "[", "]", "{", "}", "?")


class Token:
    __slots__ = ("kind", "text", "value", "pos", "start", "end")

    def __init__(self, kind, text, value, pos, start, end):
        self.kind = kind    # "name", "string", "int", "double", "op", "eof"
        self.text = text
        self.value = value
        self.pos = pos
        self.start = start
        self.end = end

    def is_kw(self, *words):
        return self.kind == "name" and self.text.lower() in words

    def is_op(self, *ops):
        return self.kind == "op" and self.text in ops


def _unquote_name(text):
    parts = []
    for m in re.finditer(_ID_PART, text):
        p = m.group(0)
        if p.startswith("`"):
            p = p[1:-1].replace("``", "`")
        parts.append(p)
    return ".".join(parts)


class Source:
    """The query text, with line:col positions."""

    def __init__(self, text):
        self.text = text
        self.starts = [0]
        for i, c in enumerate(text):
            if c == "\n":
                self.starts.append(i + 1)

    def pos(self, offset):
        import bisect
        line = bisect.bisect_right(self.starts, offset)
        return (line, offset - self.starts[line - 1] + 1)

    def skip_blank(self, i, end):
        """The first offset at or after i that is not blank or comment."""
        t = self.text
        while i < end:
            if t[i].isspace():
                i += 1
            elif t.startswith("//", i):
                j = t.find("\n", i)
                i = end if j < 0 else j + 1
            elif t.startswith("/*", i):
                j = t.find("*/", i + 2)
                if j < 0:
                    raise EsqlError("unterminated comment", self.pos(i))
                i = j + 2
            else:
                break
        return i

    def tokens(self, start, end, patterns=False):
        """The tokens of text[start:end]; with patterns, names may hold *
        (the column patterns of KEEP and DROP)."""
        t = self.text
        out = []
        i = start
        while True:
            i = self.skip_blank(i, end)
            if i >= end:
                out.append(Token("eof", "", None, self.pos(end), end, end))
                return out
            pos = self.pos(i)
            c = t[i]
            if c == '"':
                j, value = self._string(i, end)
                out.append(Token("string", t[i:j], value, pos, i, j))
                i = j
                continue
            m = _NUMBER.match(t, i, end)
            if m and (c.isdigit() or c == "."):
                txt = m.group(0)
                if m.group(1) is not None or m.group(2) is not None \
                        or txt.startswith("."):
                    out.append(Token("double", txt, float(txt), pos, i,
                                     m.end()))
                else:
                    out.append(Token("int", txt, int(txt), pos, i, m.end()))
                i = m.end()
                continue
            m = (_PATTERN if patterns else _NAME).match(t, i, end)
            if m and m.end() > i:
                txt = m.group(0)
                out.append(Token("name", txt, _unquote_name(txt)
                                 if not patterns else txt, pos, i, m.end()))
                i = m.end()
                continue
            for op in _OPS:
                if t.startswith(op, i):
                    out.append(Token("op", op, op, pos, i, i + len(op)))
                    i += len(op)
                    break
            else:
                raise EsqlError("unexpected character %r" % c, pos)

    def _string(self, i, end):
        t = self.text
        if t.startswith('"""', i):
            j = t.find('"""', i + 3, end)
            nl = t.find("\n", i, end)
            if j < 0 or (0 <= nl < j):
                raise EsqlError("unterminated string", self.pos(i))
            k = j + 3
            # '"""' (~[\r\n])*? '"""' '"'? '"'? (EsqlBaseLexer.g4)
            while k < end and k < j + 5 and t[k] == '"':
                k += 1
            return k, t[i + 3:k - 3]
        out = []
        j = i + 1
        while True:
            if j >= end or t[j] in "\r\n":
                raise EsqlError("unterminated string", self.pos(i))
            c = t[j]
            if c == '"':
                return j + 1, "".join(out)
            if c == "\\":
                e = t[j + 1:j + 2]
                if e not in ('t', 'n', 'r', '"', '\\'):
                    raise EsqlError("invalid escape sequence \\%s in string"
                                    % e, self.pos(j))
                out.append({"t": "\t", "n": "\n", "r": "\r"}.get(e, e))
                j += 2
                continue
            out.append(c)
            j += 1


# ---------------------------------------------------------------------------
# Expressions
# ---------------------------------------------------------------------------


class Node:
    """An expression: op and args, its position and its source text."""

    __slots__ = ("op", "args", "pos", "text")

    def __init__(self, op, args, pos, text=""):
        self.op = op
        self.args = args
        self.pos = pos
        self.text = text

    def __repr__(self):
        return "Node(%s, %r)" % (self.op, self.args)


UNITS = {}
for _names, _make in (
        (("millisecond", "milliseconds", "ms"), lambda n: Duration(n)),
        (("second", "seconds", "sec", "s"), lambda n: Duration(n * 1000)),
        (("minute", "minutes", "min"), lambda n: Duration(n * 60000)),
        (("hour", "hours", "h"), lambda n: Duration(n * 3600000)),
        (("day", "days", "d"), lambda n: Period(0, n)),
        (("week", "weeks", "w"), lambda n: Period(0, 7 * n)),
        (("month", "months", "mo"), lambda n: Period(n, 0)),
        (("quarter", "quarters", "q"), lambda n: Period(3 * n, 0)),
        (("year", "years", "yr", "y"), lambda n: Period(12 * n, 0))):
    for _n in _names:
        UNITS[_n] = _make

CAST_TYPES = {
    "string": "TO_STRING", "keyword": "TO_STRING", "text": "TO_STRING",
    "long": "TO_LONG", "integer": "TO_INTEGER", "int": "TO_INTEGER",
    "double": "TO_DOUBLE", "boolean": "TO_BOOLEAN", "bool": "TO_BOOLEAN",
    "datetime": "TO_DATETIME", "ip": "TO_IP",
}

AGGREGATES = frozenset(["COUNT", "COUNT_DISTINCT", "VALUES", "MIN", "MAX",
                        "SUM", "AVG"])

# name -> (min args, max args)
FUNCTIONS = {
    "TO_LOWER": (1, 1), "TO_UPPER": (1, 1), "CASE": (2, None),
    "COALESCE": (1, None), "DATE_TRUNC": (2, 2), "LENGTH": (1, 1),
    "LOCATE": (2, 3), "SPACE": (1, 1), "CONCAT": (2, None),
    "CONTAINS": (2, 2), "STARTS_WITH": (2, 2), "ENDS_WITH": (2, 2),
    "CIDR_MATCH": (2, None), "MV_MIN": (1, 1), "MV_MAX": (1, 1),
    "MV_FIRST": (1, 1), "MV_LAST": (1, 1), "MV_COUNT": (1, 1),
    "MV_SUM": (1, 1), "MV_DEDUPE": (1, 1), "MV_CONCAT": (2, 2),
    "TO_STRING": (1, 1), "TO_LONG": (1, 1), "TO_INTEGER": (1, 1),
    "TO_DOUBLE": (1, 1), "TO_BOOLEAN": (1, 1), "TO_DATETIME": (1, 1),
    "TO_IP": (1, 1), "ROUND": (1, 2), "ABS": (1, 1), "KQL": (1, 1),
}


# Expressions nest at most this deep (parentheses, NOT, unary minus); each
# level costs about ten Python frames in the parser.
MAX_DEPTH = 100
sys.setrecursionlimit(max(sys.getrecursionlimit(), 20 * MAX_DEPTH + 1000))


class ExprParser:
    """Recursive descent over one command's tokens."""

    def __init__(self, src, toks, allow_aggs=False):
        self.src = src
        self.toks = toks
        self.i = 0
        self.allow_aggs = allow_aggs
        self.depth = 0

    @property
    def tok(self):
        return self.toks[self.i]

    def next(self):
        t = self.toks[self.i]
        if t.kind != "eof":
            self.i += 1
        return t

    def expect_op(self, op):
        t = self.tok
        if not t.is_op(op):
            raise EsqlError("expected '%s', found %s" % (op, describe(t)),
                            t.pos)
        return self.next()

    def at_end(self):
        return self.tok.kind == "eof"

    def node(self, op, args, start_tok, end=None):
        end = self.toks[self.i - 1].end if end is None else end
        return Node(op, args, start_tok.pos,
                    self.src.text[start_tok.start:end])

    def expr(self):
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise EsqlError("expression nested too deeply", self.tok.pos)
        try:
            return self.or_expr()
        finally:
            self.depth -= 1

    def or_expr(self):
        first = self.tok
        terms = [self.and_expr()]
        while self.tok.is_kw("or"):
            self.next()
            terms.append(self.and_expr())
        return terms[0] if len(terms) == 1 else self.node("or", terms, first)

    def and_expr(self):
        first = self.tok
        terms = [self.not_expr()]
        while self.tok.is_kw("and"):
            self.next()
            terms.append(self.not_expr())
        return terms[0] if len(terms) == 1 else self.node("and", terms,
                                                          first)

    def not_expr(self):
        first = self.tok
        if first.is_kw("not"):
            self.next()
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise EsqlError("expression nested too deeply", first.pos)
            try:
                return self.node("not", [self.not_expr()], first)
            finally:
                self.depth -= 1
        return self.predicate()

    def predicate(self):
        first = self.tok
        left = self.additive()
        t = self.tok
        if t.is_op("==", "!=", "<", "<=", ">", ">="):
            self.next()
            return self.node(t.text, [left, self.additive()], first)
        if t.is_op(":"):
            raise EsqlError("the match operator ':' is not supported", t.pos)
        negated = False
        if t.is_kw("not") and self.toks[self.i + 1].is_kw("in", "like",
                                                            "rlike"):
            self.next()
            negated = True
            t = self.tok
        if t.is_kw("in"):
            self.next()
            self.expect_op("(")
            items = [self.expr()]
            while self.tok.is_op(","):
                self.next()
                items.append(self.expr())
            self.expect_op(")")
            n = self.node("in", [left] + items, first)
            return self.node("not", [n], first) if negated else n
        if t.is_kw("like", "rlike"):
            op = t.text.lower()
            self.next()
            pats = []
            if self.tok.is_op("("):
                self.next()
                pats.append(self.pattern())
                while self.tok.is_op(","):
                    self.next()
                    pats.append(self.pattern())
                self.expect_op(")")
            else:
                pats.append(self.pattern())
            n = self.node(op, [left] + pats, first)
            return self.node("not", [n], first) if negated else n
        if t.is_kw("is"):
            self.next()
            neg = False
            if self.tok.is_kw("not"):
                self.next()
                neg = True
            if not self.tok.is_kw("null"):
                raise EsqlError("expected NULL after IS", self.tok.pos)
            self.next()
            return self.node("is_not_null" if neg else "is_null", [left],
                             first)
        return left

    def pattern(self):
        t = self.tok
        if t.kind != "string":
            raise EsqlError("expected a string pattern, found %s"
                            % describe(t), t.pos)
        self.next()
        return t.value

    def additive(self):
        first = self.tok
        left = self.multiplicative()
        n = 0
        while self.tok.is_op("+", "-"):
            n += 1
            if n > MAX_DEPTH:
                raise EsqlError("expression nested too deeply", self.tok.pos)
            op = self.next().text
            left = self.node(op, [left, self.multiplicative()], first)
        return left

    def multiplicative(self):
        first = self.tok
        left = self.unary()
        n = 0
        while self.tok.is_op("*", "/", "%"):
            n += 1
            if n > MAX_DEPTH:
                raise EsqlError("expression nested too deeply", self.tok.pos)
            op = self.next().text
            left = self.node(op, [left, self.unary()], first)
        return left

    def unary(self):
        first = self.tok
        if first.is_op("-", "+"):
            self.next()
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise EsqlError("expression nested too deeply", first.pos)
            try:
                inner = self.unary()
            finally:
                self.depth -= 1
            if first.text == "+":
                return inner
            if inner.op == "lit" and len(inner.args) == 1 and \
                    is_number(inner.args[0]):
                return self.node("lit", (-inner.args[0],), first)
            return self.node("neg", [inner], first)
        return self.cast()

    def cast(self):
        first = self.tok
        e = self.primary()
        n = 0
        while self.tok.is_op("::"):
            n += 1
            if n > MAX_DEPTH:
                raise EsqlError("expression nested too deeply", self.tok.pos)
            self.next()
            t = self.next()
            if t.kind != "name" or t.text.lower() not in CAST_TYPES:
                raise EsqlError("unsupported cast type %s" % describe(t),
                                t.pos)
            e = self.node("call", [CAST_TYPES[t.text.lower()], [e]], first)
        return e

    def primary(self):
        t = self.tok
        if t.kind in ("int", "double"):
            self.next()
            u = self.tok
            if u.kind == "name" and u.text.lower() not in KEYWORDS:
                self.next()
                if t.kind != "int" or u.text.lower() not in UNITS:
                    raise EsqlError("Unexpected temporal unit: '%s'"
                                    % u.text, u.pos)
                return self.node("lit", (UNITS[u.text.lower()](t.value),), t)
            if t.kind == "int" and t.value > LONG_MAX:
                return self.node("lit", (float(t.value),), t)
            return self.node("lit", (t.value,), t)
        if t.kind == "string":
            self.next()
            return self.node("lit", (t.value,), t)
        if t.is_op("("):
            self.next()
            e = self.expr()
            self.expect_op(")")
            return e
        if t.kind == "name":
            low = t.text.lower()
            if low == "null":
                self.next()
                return self.node("lit", (), t)
            if low in ("true", "false"):
                self.next()
                return self.node("lit", (low == "true",), t)
            if low in KEYWORDS:
                raise EsqlError("unexpected %s" % describe(t), t.pos)
            self.next()
            if self.tok.is_op("(") and not t.text.startswith("`"):
                return self.call(t)
            return self.node("col", [t.value], t)
        raise EsqlError("unexpected %s" % describe(t), t.pos)

    def call(self, name_tok):
        name = name_tok.text.upper()
        self.expect_op("(")
        if name in AGGREGATES:
            if not self.allow_aggs:
                raise EsqlError("aggregate function [%s] is only allowed "
                                "in STATS" % name_tok.text, name_tok.pos)
            self.allow_aggs = False
            try:
                if name == "COUNT" and (self.tok.is_op("*")
                                        or self.tok.is_op(")")):
                    if self.tok.is_op("*"):
                        self.next()
                    self.expect_op(")")
                    return self.node("agg", ["COUNT", None], name_tok)
                arg = self.expr()
                if name == "COUNT_DISTINCT" and self.tok.is_op(","):
                    raise EsqlError("COUNT_DISTINCT precision is not "
                                    "supported", self.tok.pos)
                self.expect_op(")")
                return self.node("agg", [name, arg], name_tok)
            finally:
                self.allow_aggs = True
        if name not in FUNCTIONS:
            raise EsqlError("unknown function [%s]" % name_tok.text,
                            name_tok.pos)
        args = []
        if not self.tok.is_op(")"):
            args.append(self.expr())
            while self.tok.is_op(","):
                self.next()
                args.append(self.expr())
        self.expect_op(")")
        lo, hi = FUNCTIONS[name]
        if len(args) < lo or (hi is not None and len(args) > hi):
            raise EsqlError("wrong number of arguments to [%s]"
                            % name_tok.text, name_tok.pos)
        if name == "KQL":
            if args[0].op != "lit" or len(args[0].args) != 1 or \
                    type(args[0].args[0]) is not str:
                raise EsqlError("KQL takes a string literal", args[0].pos)
            return self.node("kql", [kql_parse(args[0].args[0],
                                               args[0].pos)], name_tok)
        return self.node("call", [name, args], name_tok)


def describe(t):
    if t.kind == "eof":
        return "end of command"
    return "'%s'" % t.text


# ---------------------------------------------------------------------------
# KQL (the subset of the KQL() function burstd accepts)
# ---------------------------------------------------------------------------
#
# field:value, field:"quoted", field:(a or b and not c), field:*,
# unquoted values with * wildcards, and/or/not and parentheses. On a
# keyword field a quoted or plain value is a term query, an unquoted value
# with * a wildcard query; both case-sensitive (elastic/elasticsearch
# #135776). A field matches when any of its values does: KQL() is a Lucene
# query, not a single-value function (esql-rule-semantics.md section 1.5).

_KQL_TOKEN = re.compile(r'\s*(?:(?P<lp>\()|(?P<rp>\))|(?P<colon>:)|'
                        r'"(?P<q>(?:[^"\\]|\\.)*)"|'
                        r'(?P<word>(?:[^\s()":\\]|\\.)+))', re.S)


def kql_parse(text, pos):
    toks = []
    i = 0
    while True:
        m = _KQL_TOKEN.match(text, i)
        if m is None:
            if text[i:].strip():
                raise EsqlError("KQL: cannot read %r" % text[i:], pos)
            break
        i = m.end()
        if m["lp"]:
            toks.append(("(", None))
        elif m["rp"]:
            toks.append((")", None))
        elif m["colon"]:
            toks.append((":", None))
        elif m["q"] is not None:
            toks.append(("q", re.sub(r"\\(.)", r"\1", m["q"], flags=re.S)))
        else:
            w = m["word"]
            low = w.lower()
            if low in ("and", "or", "not"):
                toks.append((low, None))
            else:
                toks.append(("w", w))
    toks.append(("eof", None))
    state = {"i": 0}

    def peek():
        return toks[state["i"]][0]

    def take(k=None):
        t = toks[state["i"]]
        if k is not None and t[0] != k:
            raise EsqlError("KQL: expected %s in %r" % (k, text), pos)
        state["i"] += 1
        return t

    def query(depth=0):
        if depth > 100:
            raise EsqlError("KQL: nested too deeply", pos)
        left = conj(depth)
        while peek() == "or":
            take()
            left = ("or", left, conj(depth))
        return left

    def conj(depth):
        left = neg(depth)
        while peek() == "and":
            take()
            left = ("and", left, neg(depth))
        return left

    def neg(depth):
        if peek() == "not":
            take()
            return ("not", neg(depth + 1))
        if peek() == "(":
            take()
            q = query(depth + 1)
            take(")")
            return q
        t = take()
        if t[0] != "w":
            raise EsqlError("KQL: expected a field name in %r" % text, pos)
        field = t[1]
        if "*" in field or "\\" in field:
            raise EsqlError("KQL: field name patterns are not supported",
                            pos)
        if peek() != ":":
            raise EsqlError("KQL: free-text queries are not supported "
                            "(expected ':' after %s)" % field, pos)
        take()
        if peek() == "w" and toks[state["i"]][1] == "*":
            take()
            return ("exists", field)
        return ("field", field, values(depth))

    def values(depth):
        if depth > 100:
            raise EsqlError("KQL: nested too deeply", pos)
        if peek() == "(":
            take()
            v = vor(depth + 1)
            take(")")
            return v
        return value()

    def vor(depth):
        left = vand(depth)
        while peek() == "or":
            take()
            left = ("or", left, vand(depth))
        return left

    def vand(depth):
        left = vnot(depth)
        while peek() == "and":
            take()
            left = ("and", left, vnot(depth))
        return left

    def vnot(depth):
        if peek() == "not":
            take()
            return ("not", vnot(depth + 1))
        return values(depth)

    def value():
        t = take()
        if t[0] == "q":
            return ("term", t[1])
        if t[0] != "w":
            raise EsqlError("KQL: expected a value in %r" % text, pos)
        if peek() == "w":
            raise EsqlError("KQL: unquoted values with spaces are not "
                            "supported", pos)
        if re.search(r"[<>{}]", re.sub(r"\\.", "", t[1])):
            raise EsqlError("KQL: range queries are not supported", pos)
        w = t[1]
        if re.search(r"(?<!\\)(?:\\\\)*\*", w):
            return ("wildcard", w)
        return ("term", re.sub(r"\\(.)", r"\1", w, flags=re.S))

    q = query()
    if peek() != "eof":
        raise EsqlError("KQL: unexpected text in %r" % text, pos)
    return q


def _kql_wildcard_regex(w):
    out = []
    i = 0
    while i < len(w):
        c = w[i]
        if c == "\\" and i + 1 < len(w):
            out.append(re.escape(w[i + 1]))
            i += 2
            continue
        out.append(".*" if c == "*" else re.escape(c))
        i += 1
    return re.compile("".join(out), re.S)


def _kql_value_matches(ftype, vals, q, pos):
    op = q[0]
    if op == "or":
        return (_kql_value_matches(ftype, vals, q[1], pos)
                or _kql_value_matches(ftype, vals, q[2], pos))
    if op == "and":
        return (_kql_value_matches(ftype, vals, q[1], pos)
                and _kql_value_matches(ftype, vals, q[2], pos))
    if op == "not":
        return not _kql_value_matches(ftype, vals, q[1], pos)
    if op == "wildcard":
        if ftype != "keyword":
            raise EsqlError("KQL: wildcards on a %s field are not supported"
                            % ftype, pos)
        rx = _kql_wildcard_regex(q[1])
        return any(rx.fullmatch(v) for v in vals)
    text = q[1]
    if ftype == "keyword":
        return text in vals
    if ftype == "ip":
        if "/" in text:
            try:
                net = ipaddress.ip_network(text, strict=False)
            except ValueError:
                raise EsqlError("KQL: bad CIDR %r" % text, pos)
            return any(_in_network(v, net) for v in vals)
        ip = parse_ip(text)
        return ip is not None and ip in vals
    if ftype == "long":
        n = _index_long(text)
        return n is not None and n in vals
    if ftype == "boolean":
        return text in ("true", "false") and (text == "true") in vals
    raise EsqlError("KQL: queries on %s fields are not supported" % ftype,
                    pos)


def kql_matches(q, ev, pos):
    op = q[0]
    if op == "or":
        return kql_matches(q[1], ev, pos) or kql_matches(q[2], ev, pos)
    if op == "and":
        return kql_matches(q[1], ev, pos) and kql_matches(q[2], ev, pos)
    if op == "not":
        return not kql_matches(q[1], ev, pos)
    if op == "exists":
        return bool(ev.value(q[1]))
    return _kql_value_matches(field_type(q[1]), ev.value(q[1]), q[2], pos)


# ---------------------------------------------------------------------------
# LIKE and RLIKE patterns to Python regular expressions
# ---------------------------------------------------------------------------


@functools.lru_cache(maxsize=4096)
def like_regex(pattern):
    """LIKE: * any string, ? one code point, \\ escapes the next code point
    (a trailing \\ is literal); whole-string, case-sensitive
    (Lucene WildcardQuery.toAutomaton)."""
    out = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        out.append(".*" if c == "*" else "." if c == "?" else re.escape(c))
        i += 1
    return re.compile("".join(out), re.S)


# class bodies, as Python regular expression text
_PREDEFINED = {"d": "0-9", "s": "\\t\\n\\r ", "w": "0-9A-Za-z_"}


class _Lucene:
    """Lucene RegExp (flags ALL) to a Python regular expression.

    Whole-string match. Operators: | concatenation ? * + {n} {n,} {n,m}
    ( ) [...] [^...] . " " (a literal string), @ (any string), # (the
    empty language), \\d \\s \\w and their negations, \\ before any other
    non-letter; everything else is literal, ^ and $ included. Refused: &
    (intersection), ~ (complement), <...> (intervals and named automata),
    and \\ before another letter.
    """

    def __init__(self, text, pos):
        self.t = text
        self.i = 0
        self.pos = pos
        self.depth = 0

    def fail(self, msg):
        raise EsqlError("RLIKE pattern %r: %s at offset %d"
                        % (self.t, msg, self.i), self.pos)

    def more(self):
        return self.i < len(self.t)

    def peek(self, chars):
        return self.more() and self.t[self.i] in chars

    def translate(self):
        r = self.union()
        if self.more():
            self.fail("end of pattern expected")
        return r

    def union(self):
        self.depth += 1
        if self.depth > 100:
            self.fail("nested too deeply")
        alts = [self.concat()]
        while self.peek("|"):
            self.i += 1
            alts.append(self.concat())
        self.depth -= 1
        return alts[0] if len(alts) == 1 else "(?:%s)" % "|".join(alts)

    def concat(self):
        parts = [self.repeat()]
        while self.more() and not self.peek(")|"):
            parts.append(self.repeat())
        return "".join(parts)

    def repeat(self):
        r = self.compl()
        while self.peek("?*+{"):
            c = self.t[self.i]
            self.i += 1
            if c != "{":
                r = "(?:%s)%s" % (r, c)
                continue
            m = re.compile(r"([0-9]+)(,([0-9]*))?\}").match(self.t, self.i)
            if m is None:
                self.fail("bad repetition")
            lo = int(m[1])
            hi = None if m[2] and not m[3] else int(m[3] or m[1])
            if hi is not None and hi < lo:
                self.fail("bad repetition bounds")
            self.i = m.end()
            r = "(?:%s){%d,%s}" % (r, lo, "" if hi is None else hi)
        return r

    def compl(self):
        if self.peek("~"):
            self.fail("the complement operator ~ is not supported")
        if self.peek("&"):
            self.fail("the intersection operator & is not supported")
        return self.charclass()

    def charclass(self):
        if not self.peek("["):
            return self.simple()
        self.i += 1
        negate = False
        if self.peek("^"):
            negate = True
            self.i += 1
        items = []
        while self.more() and not self.peek("]"):
            if self.peek("\\") and self.i + 1 < len(self.t) and \
                    self.t[self.i + 1] in "dDsSwW":
                c = self.t[self.i + 1]
                self.i += 2
                body = _PREDEFINED[c.lower()]
                items.append(("[%s]" if c.islower() else "[^%s]") % body)
                continue
            lo = self.char()
            if self.peek("-") and self.i + 1 < len(self.t) and \
                    self.t[self.i + 1] != "]":
                self.i += 1
                hi = self.char()
                if hi < lo:
                    self.fail("bad character range")
                items.append("[%s-%s]" % (re.escape(lo), re.escape(hi)))
            else:
                items.append(re.escape(lo))
        if not self.peek("]"):
            self.fail("expected ']'")
        self.i += 1
        alt = "|".join(items) if items else "(?!)"
        if negate:
            return "(?:(?!%s).)" % alt
        return "(?:%s)" % alt

    def char(self):
        if not self.more():
            self.fail("unexpected end of pattern")
        c = self.t[self.i]
        if c == "\\":
            self.i += 1
            if not self.more():
                self.fail("unexpected end of pattern")
            c = self.t[self.i]
            if c.isalpha() and c not in "dDsSwW":
                self.fail("invalid escape \\%s" % c)
        self.i += 1
        return c

    def simple(self):
        if not self.more():
            self.fail("unexpected end of pattern")
        c = self.t[self.i]
        if c == ".":
            self.i += 1
            return "."
        if c == "#":
            self.i += 1
            return "(?!)"
        if c == "@":
            self.i += 1
            return ".*"
        if c == "<":
            self.fail("intervals and named automata <...> are not "
                      "supported")
        if c == '"':
            j = self.t.find('"', self.i + 1)
            if j < 0:
                self.fail("unterminated literal string")
            s = self.t[self.i + 1:j]
            self.i = j + 1
            return "(?:%s)" % re.escape(s)
        if c == "(":
            self.i += 1
            if self.peek(")"):
                self.i += 1
                return ""
            r = self.union()
            if not self.peek(")"):
                self.fail("expected ')'")
            self.i += 1
            return "(?:%s)" % r
        if c == "\\" and self.i + 1 < len(self.t) and \
                self.t[self.i + 1] in "dDsSwW":
            e = self.t[self.i + 1]
            self.i += 2
            body = _PREDEFINED[e.lower()]
            return ("[%s]" if e.islower() else "[^%s]") % body
        return re.escape(self.char())


@functools.lru_cache(maxsize=4096)
def rlike_regex(pattern, pos=None):
    return re.compile(_Lucene(pattern, pos).translate(), re.S)


# ---------------------------------------------------------------------------
# Evaluation of expressions over a row
# ---------------------------------------------------------------------------


class Row:
    """One row: computed columns, and before STATS the event whose fields
    are the other columns."""

    __slots__ = ("cols", "ev", "open", "dropped")

    def __init__(self, cols, ev=None, open_=False, dropped=()):
        self.cols = cols        # {name: tuple}
        self.ev = ev            # Event, or None after STATS
        self.open = open_       # event fields are columns too
        self.dropped = dropped  # patterns of event fields not visible

    def get(self, name):
        if name in self.cols:
            return self.cols[name]
        if self.open and self.ev is not None:
            return self.ev.value(name)
        return ()

    def copy(self, cols=None):
        return Row(dict(self.cols) if cols is None else cols, self.ev,
                   self.open, self.dropped)

    def columns(self):
        """{name: tuple} of every non-null column."""
        out = {}
        if self.open and self.ev is not None:
            for name in self.ev.names():
                if not any(p.fullmatch(name) for p in self.dropped):
                    v = self.ev.value(name)
                    if v:
                        out[name] = v
        for name, v in self.cols.items():
            if v:
                out[name] = v
            else:
                out.pop(name, None)
        return out


def truth(v):
    """Three-valued: True, False or None (null, or not one boolean)."""
    if len(v) != 1 or type(v[0]) is not bool:
        return None
    return v[0]


def single(v):
    """The value of a single-valued column, else None (null or
    multi-valued: ES|QL functions return null for both)."""
    return v[0] if len(v) == 1 else None


def _type_error(node, what, v):
    raise EsqlError("[%s] %s, found value of type [%s]"
                    % (node.text, what, kind(v)), node.pos)


def _coerce_pair(node, a, b):
    """Two scalars made comparable: numbers, or equal types (a keyword
    against a datetime or ip reads as one, as ES|QL converts a string
    literal)."""
    if is_number(a) and is_number(b):
        return a, b
    ka, kb = kind(a), kind(b)
    if ka == kb:
        return order_key(a), order_key(b)
    if ka == "keyword" and kb in ("datetime", "ip"):
        return order_key(_convert_literal(node, a, kb)), order_key(b)
    if kb == "keyword" and ka in ("datetime", "ip"):
        return order_key(a), order_key(_convert_literal(node, b, ka))
    raise EsqlError("[%s]: cannot compare [%s] with [%s]"
                    % (node.text, ka, kb), node.pos)


def _convert_literal(node, s, to):
    if to == "datetime":
        ms = parse_date(s)
        if ms is None:
            raise EsqlError("[%s]: cannot convert %r to datetime"
                            % (node.text, s), node.pos)
        return Date(ms)
    ip = parse_ip(s)
    if ip is None:
        raise EsqlError("[%s]: cannot convert %r to ip" % (node.text, s),
                        node.pos)
    return ip


def _compare(op, a, b):
    if op == "==":
        return a == b
    if op == "!=":
        return a != b
    if op == "<":
        return a < b
    if op == "<=":
        return a <= b
    if op == ">":
        return a > b
    return a >= b


def _java_div(a, b):
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


def _arith(node, op, a, b):
    if type(a) is Date and type(b) in (Duration, Period) and op in "+-":
        sign = 1 if op == "+" else -1
        return (_date_add(a, b, sign),)
    if type(b) is Date and type(a) in (Duration, Period) and op == "+":
        return (_date_add(b, a, 1),)
    if not (is_number(a) and is_number(b)):
        raise EsqlError("[%s]: arithmetic on [%s] and [%s] is not supported"
                        % (node.text, kind(a), kind(b)), node.pos)
    if type(a) is int and type(b) is int:
        if op == "+":
            return long_or_null(a + b)
        if op == "-":
            return long_or_null(a - b)
        if op == "*":
            return long_or_null(a * b)
        if b == 0:
            return ()           # "/ by zero": null and a warning
        if op == "/":
            return long_or_null(_java_div(a, b))
        return (a - b * _java_div(a, b),)
    a, b = float(a), float(b)
    if op == "+":
        return double_or_null(a + b)
    if op == "-":
        return double_or_null(a - b)
    if op == "*":
        return double_or_null(a * b)
    if b == 0:
        return ()
    if op == "/":
        return double_or_null(a / b)
    return double_or_null(math.fmod(a, b))


def _date_add(d, amount, sign):
    if type(amount) is Duration:
        return Date(d.ms + sign * amount.ms)
    year, month, day = _civil(d.ms)[:3]
    months = year * 12 + month - 1 + sign * amount.months
    year, month = divmod(months, 12)
    day = min(day, _month_days(year, month + 1))
    rest = d.ms % 86400000
    ms = _from_civil(year, month + 1, day) + rest
    return Date(ms + sign * amount.days * 86400000)


def evaluate(node, row):
    """The value (a tuple) of an expression over a row."""
    op = node.op
    if op == "lit":
        return node.args
    if op == "col":
        return row.get(node.args[0])
    if op in ("and", "or"):
        # three-valued: AND is false if a term is, OR true if a term is;
        # otherwise a null term makes the result null
        vals = [truth(evaluate(a, row)) for a in node.args]
        decisive = op == "or"
        if decisive in vals:
            return (decisive,)
        return () if None in vals else (not decisive,)
    if op == "not":
        a = truth(evaluate(node.args[0], row))
        return () if a is None else (not a,)
    if op in ("==", "!=", "<", "<=", ">", ">="):
        a = single(evaluate(node.args[0], row))
        b = single(evaluate(node.args[1], row))
        if a is None or b is None:
            return ()
        a, b = _coerce_pair(node, a, b)
        return (_compare(op, a, b),)
    if op == "in":
        x = single(evaluate(node.args[0], row))
        if x is None:
            return ()
        saw_null = False
        for item in node.args[1:]:
            v = evaluate(item, row)
            if len(v) != 1:
                saw_null = True     # null (or multi-valued: null too)
                continue
            a, b = _coerce_pair(node, x, v[0])
            if a == b:
                return (True,)
        return () if saw_null else (False,)
    if op in ("like", "rlike"):
        x = single(evaluate(node.args[0], row))
        if x is None:
            return ()
        if type(x) is not str:
            _type_error(node, "LIKE and RLIKE need a string", x)
        for p in node.args[1:]:
            rx = like_regex(p) if op == "like" else rlike_regex(p, node.pos)
            if rx.fullmatch(x):
                return (True,)
        return (False,)
    if op == "is_null":
        return (not evaluate(node.args[0], row),)
    if op == "is_not_null":
        return (bool(evaluate(node.args[0], row)),)
    if op in ("+", "-", "*", "/", "%"):
        a = single(evaluate(node.args[0], row))
        b = single(evaluate(node.args[1], row))
        if a is None or b is None:
            return ()
        return _arith(node, op, a, b)
    if op == "neg":
        a = single(evaluate(node.args[0], row))
        if a is None:
            return ()
        if type(a) is int:
            return long_or_null(-a)
        if type(a) is float:
            return (-a,)
        _type_error(node, "negation needs a number", a)
    if op == "kql":
        if row.ev is None:
            raise EsqlError("KQL is only supported before STATS", node.pos)
        return (kql_matches(node.args[0], row.ev, node.pos),)
    if op == "call":
        return call_function(node, node.args[0], node.args[1], row)
    if op == "false":
        return (False,)
    raise EsqlError("cannot evaluate [%s] here" % node.text, node.pos)


# ---------------------------------------------------------------------------
# Scalar functions
# ---------------------------------------------------------------------------


def java_double_str(d):
    """Java's Double.toString (what TO_STRING prints for a double)."""
    if d == 0:
        return "-0.0" if math.copysign(1, d) < 0 else "0.0"
    r = repr(abs(d))
    sign = "-" if d < 0 else ""
    m = re.fullmatch(r"([0-9]+)(?:\.([0-9]+))?(?:e([+-][0-9]+))?", r)
    digits = (m[1] + (m[2] or "")).lstrip("0")
    exp = int(m[3] or 0) + len(m[1].lstrip("0") or "") - 1
    if not m[1].strip("0"):
        lead = len(m[2]) - len(m[2].lstrip("0"))
        exp = int(m[3] or 0) - lead - 1
    digits = digits.rstrip("0") or "0"
    if 1e-3 <= abs(d) < 1e7:
        if exp >= 0:
            whole = digits[:exp + 1].ljust(exp + 1, "0")
            frac = digits[exp + 1:] or "0"
        else:
            whole = "0"
            frac = "0" * (-exp - 1) + digits
        return "%s%s.%s" % (sign, whole, frac)
    return "%s%s.%sE%d" % (sign, digits[0], digits[1:] or "0", exp)


def to_string(v):
    t = type(v)
    if t is str:
        return v
    if t is bool:
        return "true" if v else "false"
    if t is int:
        return str(v)
    if t is float:
        return java_double_str(v)
    if t is Date:
        return format_date(v.ms)
    if t is Ip:
        return str(v)
    raise TypeError(kind(v))


def _java_round(x):
    """Java's Math.round: half up (toward positive infinity)."""
    f = math.floor(x)
    return f + 1 if x - f >= 0.5 else f


def _parse_java_double(s):
    s = s.strip()
    if not re.fullmatch(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)"
                        r"(?:[eE][+-]?[0-9]+)?[dDfF]?", s):
        return None
    d = float(s.rstrip("dDfF"))
    return d if math.isfinite(d) else None


def _to_long(v, lo=LONG_MIN, hi=LONG_MAX):
    t = type(v)
    if t is bool:
        return 1 if v else 0
    if t is int:
        return v if lo <= v <= hi else None
    if t is Date:
        return v.ms if lo <= v.ms <= hi else None
    if t is float:
        if not (lo <= v <= hi):
            return None
        n = _java_round(v)
        return max(lo, min(hi, n))
    if t is str:
        if re.fullmatch(r"[+-]?[0-9]+", v):
            n = int(v)
            if lo <= n <= hi:
                return n
        d = _parse_java_double(v)
        return None if d is None else _to_long(d, lo, hi)
    return None


def _to_double(v):
    t = type(v)
    if t is bool:
        return 1.0 if v else 0.0
    if t is int:
        return float(v)
    if t is float:
        return v
    if t is Date:
        return float(v.ms)
    if t is str:
        return _parse_java_double(v)
    return None


def _to_boolean(v):
    t = type(v)
    if t is bool:
        return v
    if t is str:
        return v.lower() == "true"     # Boolean.parseBoolean
    if t in (int, float):
        return v != 0
    return None


def _to_datetime(v):
    t = type(v)
    if t is Date:
        return v
    if t is str:
        ms = parse_date(v)
        return None if ms is None else Date(ms)
    if t is int:
        return Date(v)
    if t is float:
        return Date(int(v))
    return None


def _to_ip(v):
    if type(v) is Ip:
        return v
    if type(v) is str:
        return parse_ip(v)
    return None


def _convert_each(vals, fn):
    """A conversion function over a multi-value: each value converted, a
    value that does not convert dropped (with a warning); null if none
    does (AbstractConvertFunction)."""
    out = []
    for v in vals:
        r = fn(v)
        if r is not None:
            out.append(r)
    return tuple(out)


def _string_arg(node, v):
    if type(v) is not str:
        _type_error(node, "needs a string", v)
    return v


def _in_network(ip, net):
    addr = ip.address()
    return addr.version == net.version and addr in net


def _date_trunc(node, interval, d):
    if type(d) is not Date:
        _type_error(node, "needs a datetime", d)
    if type(interval) is Duration:
        if interval.ms <= 0:
            raise EsqlError("[%s]: the interval must be positive"
                            % node.text, node.pos)
        return Date(d.ms // interval.ms * interval.ms)
    if type(interval) is not Period:
        _type_error(node, "needs a time span", interval)
    year, month = _civil(d.ms)[:2]
    day_ms = 86400000
    if interval.months == 0 and interval.days == 1:
        return Date(d.ms // day_ms * day_ms)
    if interval.months == 0 and interval.days == 7:
        # WEEK_OF_WEEKYEAR: weeks start on Monday (1970-01-05 was one)
        base = 4 * day_ms
        return Date((d.ms - base) // (7 * day_ms) * (7 * day_ms) + base)
    if interval.days == 0 and interval.months in (1, 3, 12):
        if interval.months == 3:
            month = (month - 1) // 3 * 3 + 1
        elif interval.months == 12:
            month = 1
        return Date(_from_civil(year, month, 1))
    raise EsqlError("[%s]: this DATE_TRUNC interval is not supported"
                    % node.text, node.pos)


def call_function(node, name, args, row):
    if name == "CASE":
        n = len(args)
        for i in range(0, n - 1, 2):
            if truth(evaluate(args[i], row)) is True:
                return evaluate(args[i + 1], row)
        return evaluate(args[-1], row) if n % 2 else ()
    if name == "COALESCE":
        for a in args:
            v = evaluate(a, row)
            if v:
                return v
        return ()
    vals = [evaluate(a, row) for a in args]
    # Functions that take multi-valued input.
    if name in ("TO_STRING", "TO_LONG", "TO_INTEGER", "TO_DOUBLE",
                "TO_BOOLEAN", "TO_DATETIME", "TO_IP", "TO_LOWER",
                "TO_UPPER"):
        fn = {
            "TO_STRING": to_string,
            "TO_LONG": _to_long,
            "TO_INTEGER": lambda v: _to_long(v, INT_MIN, INT_MAX),
            "TO_DOUBLE": _to_double,
            "TO_BOOLEAN": _to_boolean,
            "TO_DATETIME": _to_datetime,
            "TO_IP": _to_ip,
            "TO_LOWER": lambda v: _string_arg(node, v).lower(),
            "TO_UPPER": lambda v: _string_arg(node, v).upper(),
        }[name]
        return _convert_each(vals[0], fn)
    if name.startswith("MV_"):
        return _mv_function(node, name, vals)
    # The rest return null for a null or multi-valued argument.
    xs = [single(v) for v in vals]
    if any(x is None for x in xs):
        if name == "CIDR_MATCH" and xs[0] is not None:
            pass
        else:
            return ()
    if name == "DATE_TRUNC":
        return (_date_trunc(node, xs[0], xs[1]),)
    if name == "LENGTH":
        return (len(_string_arg(node, xs[0])),)
    if name == "LOCATE":
        s = _string_arg(node, xs[0])
        sub = _string_arg(node, xs[1])
        start = xs[2] if len(xs) > 2 else 0
        if type(start) is not int:
            _type_error(node, "needs an integer start", start)
        if len(s.encode()) < len(sub.encode()):
            return (0,)
        n = len(s)
        if start > 0:
            at = start - 1
        elif start < 0:
            at = n + start
        else:
            at = 0
        at = min(max(0, at), n)
        found = s.find(sub, at)
        if found < 0:
            return (0,)
        # String.indexOf counts UTF-16 units (Locate.java)
        return (1 + utf16_units(s[:found]),)
    if name == "SPACE":
        n = xs[0]
        if type(n) is not int:
            _type_error(node, "needs an integer", n)
        if n < 0 or n > 1024 * 1024:
            return ()
        return (" " * n,)
    if name == "CONCAT":
        return ("".join(_string_arg(node, x) for x in xs),)
    if name in ("CONTAINS", "STARTS_WITH", "ENDS_WITH"):
        s = _string_arg(node, xs[0])
        sub = _string_arg(node, xs[1])
        if name == "CONTAINS":
            return (sub in s,)
        if name == "STARTS_WITH":
            return (s.startswith(sub),)
        return (s.endswith(sub),)
    if name == "CIDR_MATCH":
        ip = xs[0]
        if type(ip) is not Ip:
            _type_error(node, "needs an ip", ip)
        for block in xs[1:]:
            if block is None:
                return ()
            try:
                net = ipaddress.ip_network(_string_arg(node, block),
                                           strict=False)
            except ValueError:
                return ()
            if _in_network(ip, net):
                return (True,)
        return (False,)
    if name == "ROUND":
        x = xs[0]
        d = xs[1] if len(xs) > 1 else 0
        if type(d) is not int:
            _type_error(node, "needs integer decimals", d)
        if type(x) is int:
            if d >= 0:
                return (x,)
            if d <= -20:
                return (0,)
            scale = 10 ** -d
            q, r = _java_div(x, scale), x - scale * _java_div(x, scale)
            if r >= scale // 2:
                q += 1
            elif r <= -(scale // 2):
                q -= 1
            return long_or_null(q * scale)
        if type(x) is not float:
            _type_error(node, "needs a number", x)
        if x == 0:
            return (0.0,)
        ten = 10.0 ** d
        mid = x * ten
        if math.isinf(mid):
            return (x,)
        sign = 1 if mid >= 0 else -1
        return double_or_null(_java_round(abs(mid)) / ten * sign)
    if name == "ABS":
        x = xs[0]
        if type(x) is int:
            return long_or_null(abs(x))
        if type(x) is float:
            return (abs(x),)
        _type_error(node, "needs a number", x)
    raise EsqlError("unknown function [%s]" % name, node.pos)


def _mv_function(node, name, vals):
    v = vals[0]
    if name == "MV_CONCAT":
        delim = single(vals[1])
        if not v or delim is None:
            return ()
        return (_string_arg(node, delim).join(_string_arg(node, x)
                                              for x in v),)
    if not v:
        return ()
    if name == "MV_COUNT":
        return (len(v),)
    if name == "MV_FIRST":
        return (v[0],)
    if name == "MV_LAST":
        return (v[-1],)
    if name == "MV_DEDUPE":
        return dedupe(v)
    if name in ("MV_MIN", "MV_MAX"):
        pick = min if name == "MV_MIN" else max
        return (pick(v, key=order_key),)
    if name == "MV_SUM":
        if all(type(x) is int for x in v):
            return long_or_null(sum(v))
        if all(is_number(x) for x in v):
            return double_or_null(math.fsum(v))
        _type_error(node, "needs numbers", v[0])
    raise EsqlError("unknown function [%s]" % name, node.pos)


# ---------------------------------------------------------------------------
# Commands and the query
# ---------------------------------------------------------------------------


class Command:
    __slots__ = ("name", "pos", "args")

    def __init__(self, name, pos, **args):
        self.name = name
        self.pos = pos
        self.args = args

    def __getattr__(self, key):
        try:
            return self.args[key]
        except KeyError:
            raise AttributeError(key)


def _split_pipes(src):
    """Offsets (start, end) of the commands of the query text."""
    t = src.text
    parts = []
    start = 0
    i = 0
    while i < len(t):
        if t.startswith("//", i):
            j = t.find("\n", i)
            i = len(t) if j < 0 else j + 1
        elif t.startswith("/*", i):
            j = t.find("*/", i + 2)
            if j < 0:
                raise EsqlError("unterminated comment", src.pos(i))
            i = j + 2
        elif t.startswith('"""', i):
            j = t.find('"""', i + 3)
            if j < 0:
                raise EsqlError("unterminated string", src.pos(i))
            i = j + 3
            while i < len(t) and t[i] == '"':
                i += 1
        elif t[i] == '"':
            j = i + 1
            while j < len(t) and t[j] != '"' and t[j] != "\n":
                j += 2 if t[j] == "\\" else 1
            if j >= len(t) or t[j] != '"':
                raise EsqlError("unterminated string", src.pos(i))
            i = j + 1
        elif t[i] == "`":
            j = t.find("`", i + 1)
            if j < 0:
                raise EsqlError("unterminated quoted name", src.pos(i))
            i = j + 1
        elif t[i] == "|":
            parts.append((start, i))
            i += 1
            start = i
        else:
            i += 1
    parts.append((start, len(t)))
    return parts


def _names_list(src, toks, what):
    """A comma-separated list of names (or patterns)."""
    out = []
    i = 0
    while True:
        t = toks[i]
        if t.kind != "name":
            raise EsqlError("expected a column name in %s, found %s"
                            % (what, describe(t)), t.pos)
        out.append((t.value, t.pos))
        i += 1
        if toks[i].kind == "eof":
            return out
        if not toks[i].is_op(","):
            raise EsqlError("expected ',' in %s, found %s"
                            % (what, describe(toks[i])), toks[i].pos)
        i += 1


def _pattern_regex(pattern):
    parts = []
    for m in re.finditer(r"`((?:[^`]|``)*)`|(\*)|([^`*]+)", pattern):
        if m[1] is not None:
            parts.append(re.escape(m[1].replace("``", "`")))
        elif m[2]:
            parts.append(".*")
        else:
            parts.append(re.escape(m[3]))
    return re.compile("".join(parts), re.S)


def _assignments(p, what, allow_aggs=False):
    """name = expr, or expr (named by its text), separated by commas; for
    STATS each may be followed by WHERE cond."""
    out = []
    while True:
        first = p.tok
        name = None
        if first.kind == "name" and p.toks[p.i + 1].is_op("=") and \
                first.text.lower() not in KEYWORDS:
            name = first.value
            p.next()
            p.next()
        start = p.tok
        e = p.expr()
        text = p.src.text[start.start:p.toks[p.i - 1].end]
        cond = None
        if allow_aggs and p.tok.is_kw("where"):
            p.next()
            p.allow_aggs = False
            cond = p.expr()
            p.allow_aggs = True
        out.append((name if name is not None else text, e, cond,
                    first.pos))
        if p.tok.is_op(","):
            p.next()
            continue
        return out


def parse_query(text):
    """Parses query text into a Query; raises EsqlError("LINE:COL: ...")."""
    src = Source(text)
    commands = []
    for start, end in _split_pipes(src):
        i = src.skip_blank(start, end)
        if i >= end:
            raise EsqlError("empty command", src.pos(min(i, len(text))))
        m = re.compile(r"[A-Za-z_]+").match(text, i, end)
        word = m.group(0).upper() if m else ""
        pos = src.pos(i)
        rest = m.end() if m else i
        if word == "INLINE":
            raise EsqlError("INLINE STATS is not supported", pos)
        if not commands and word != "FROM":
            raise EsqlError("a query starts with FROM", pos)
        if commands and word == "FROM":
            raise EsqlError("FROM is only allowed first", pos)
        if word == "FROM":
            commands.append(_parse_from(src, rest, end, pos))
            continue
        if word in ("KEEP", "DROP"):
            toks = src.tokens(rest, end, patterns=True)
            names = _names_list(src, toks, word)
            commands.append(Command(word, pos, names=names))
            continue
        toks = src.tokens(rest, end)
        if word == "WHERE":
            p = ExprParser(src, toks)
            e = p.expr()
            _expect_end(p, word)
            commands.append(Command(word, pos, expr=e))
        elif word == "EVAL":
            p = ExprParser(src, toks)
            items = _assignments(p, word)
            _expect_end(p, word)
            commands.append(Command(word, pos, items=items))
        elif word == "RENAME":
            commands.append(Command(word, pos, pairs=_parse_rename(toks)))
        elif word == "MV_EXPAND":
            names = _names_list(src, toks, word)
            if len(names) != 1:
                raise EsqlError("MV_EXPAND takes one column", pos)
            commands.append(Command(word, pos, column=names[0][0]))
        elif word == "SORT":
            commands.append(Command(word, pos, keys=_parse_sort(src, toks)))
        elif word == "LIMIT":
            if len(toks) != 2 or toks[0].kind != "int":
                raise EsqlError("LIMIT takes an integer", pos)
            commands.append(Command(word, pos, n=toks[0].value))
        elif word == "STATS":
            commands.append(_parse_stats(src, toks, pos))
        else:
            raise EsqlError("%s is not supported" % (word or "this command"),
                            pos)
    return Query(text, commands)


def _expect_end(p, word):
    if not p.at_end():
        raise EsqlError("unexpected %s in %s" % (describe(p.tok), word),
                        p.tok.pos)


def _parse_from(src, start, end, pos):
    body = src.text[start:end]
    # strip comments
    body = re.sub(r"//[^\n]*|/\*.*?\*/", " ", body, flags=re.S)
    m = re.fullmatch(r"\s*(.*?)(?:\s+METADATA\s+(.*?))?\s*", body,
                     flags=re.S | re.I)
    indices = [s.strip() for s in m[1].split(",") if s.strip()]
    if not indices:
        raise EsqlError("FROM needs an index pattern", pos)
    for ix in indices:
        if not re.fullmatch(r"[^\s\"|]+", ix):
            raise EsqlError("bad index pattern %r" % ix, pos)
    metadata = [s.strip() for s in (m[2] or "").split(",") if s.strip()]
    return Command("FROM", pos, indices=indices, metadata=metadata)


def _parse_rename(toks):
    pairs = []
    i = 0
    while True:
        a, b, c = toks[i], toks[i + 1], toks[i + 2] if i + 2 < len(toks) \
            else toks[-1]
        if a.kind == "name" and b.is_kw("as") and c.kind == "name":
            pairs.append((a.value, c.value, a.pos))
        elif a.kind == "name" and b.is_op("=") and c.kind == "name":
            pairs.append((c.value, a.value, a.pos))
        else:
            raise EsqlError("expected 'old AS new' in RENAME", a.pos)
        i += 3
        if toks[i].kind == "eof":
            return pairs
        if not toks[i].is_op(","):
            raise EsqlError("expected ',' in RENAME", toks[i].pos)
        i += 1


def _parse_sort(src, toks):
    p = ExprParser(src, toks)
    keys = []
    while True:
        e = p.expr()
        desc = False
        if p.tok.is_kw("asc", "desc"):
            desc = p.next().text.lower() == "desc"
        nulls_first = desc
        if p.tok.is_kw("nulls"):
            p.next()
            if not p.tok.is_kw("first", "last"):
                raise EsqlError("expected FIRST or LAST", p.tok.pos)
            nulls_first = p.next().text.lower() == "first"
        keys.append((e, desc, nulls_first))
        if p.tok.is_op(","):
            p.next()
            continue
        _expect_end(p, "SORT")
        return keys


def _parse_stats(src, toks, pos):
    p = ExprParser(src, toks, allow_aggs=True)
    aggs = []
    if not p.tok.is_kw("by"):
        for name, e, cond, apos in _assignments(p, "STATS", True):
            if e.op != "agg":
                raise EsqlError("STATS takes aggregate functions, found "
                                "[%s]" % e.text, e.pos)
            aggs.append((name, e.args[0], e.args[1], cond, apos))
    by = []
    if p.tok.is_kw("by"):
        p.next()
        p.allow_aggs = False
        for name, e, cond, bpos in _assignments(p, "BY"):
            by.append((name, e, bpos))
    _expect_end(p, "STATS")
    if not by:
        raise EsqlError("STATS without BY is not supported", pos)
    return Command("STATS", pos, aggs=aggs, by=by)


class Query:
    """A parsed, checked query: its commands and its shape.

    shape is "filter" or "bucketed"; for "bucketed", stats is the STATS
    command, bucket_by the index of its time-bucket key, pre and post the
    commands before and after it.
    """

    def __init__(self, text, commands):
        self.text = text
        self.commands = commands
        self.stats = None
        self.pre = []
        self.post = []
        for c in commands[1:]:
            if c.name == "STATS":
                if self.stats is not None:
                    raise EsqlError("a second STATS is not supported",
                                    c.pos)
                self.stats = c
            elif self.stats is None:
                if c.name == "LIMIT":
                    raise EsqlError("LIMIT before STATS is not supported",
                                    c.pos)
                self.pre.append(c)
            else:
                self.post.append(c)
        self.shape = "filter" if self.stats is None else "bucketed"
        self.bucket_by = None
        self.schema = self._check()

    def _check(self):
        """Checks column references and finds the time bucket; returns
        the output Schema."""
        schema = Schema()
        buckets = {}        # column name -> True when DATE_TRUNC(.., @ts)
        for c in self.pre:
            schema = schema.apply(c)
            if c.name == "EVAL":
                for name, e, _, _ in c.items:
                    buckets.pop(name, None)
                    if _is_bucket(e):
                        buckets[name] = True
            elif c.name == "RENAME":
                for old, new, _ in c.pairs:
                    buckets.pop(new, None)
                    if buckets.pop(old, None):
                        buckets[new] = True
            elif c.name == "DROP":
                for name in list(buckets):
                    if any(_pattern_regex(n).fullmatch(name)
                           for n, _ in c.names):
                        del buckets[name]
            elif c.name == "KEEP":
                for name in list(buckets):
                    if not any(_pattern_regex(n).fullmatch(name)
                               for n, _ in c.names):
                        del buckets[name]
        if self.stats is None:
            return schema
        for _, _, arg, cond, _ in self.stats.aggs:
            if arg is not None:
                schema.check(arg)
            if cond is not None:
                schema.check(cond)
        for i, (name, e, _) in enumerate(self.stats.by):
            schema.check(e)
            if _is_bucket(e) or (e.op == "col" and e.args[0] in buckets):
                if self.bucket_by is None:
                    self.bucket_by = i
        if self.bucket_by is None:
            raise EsqlError("STATS without a DATE_TRUNC(span, @timestamp) "
                            "key in BY is not supported", self.stats.pos)
        names = [a[0] for a in self.stats.aggs] + [b[0]
                                                   for b in self.stats.by]
        schema = Schema(names)
        for c in self.post:
            schema = schema.apply(c)
        return schema

    def output_columns(self):
        return self.schema


def _is_bucket(e):
    return (e.op == "call" and e.args[0] == "DATE_TRUNC"
            and e.args[1][1].op == "col"
            and e.args[1][1].args[0] == "@timestamp")


class Schema:
    """The columns a command sees: known names, and while open (before
    KEEP and STATS) any event field not dropped; `keep` restricts the
    event fields to patterns once KEEP used them."""

    def __init__(self, names=None):
        self.open = names is None
        self.names = list(names or [])
        self.keep = None        # patterns event fields must match
        self.dropped = []       # patterns of event fields hidden

    def copy(self):
        s = Schema(self.names)
        s.open = self.open
        s.keep = None if self.keep is None else list(self.keep)
        s.dropped = list(self.dropped)
        return s

    def has(self, name):
        if name in self.names:
            return True
        if not self.open:
            return False
        if any(p.fullmatch(name) for p in self.dropped):
            return False
        return self.keep is None or any(p.fullmatch(name)
                                        for p in self.keep)

    def check(self, e):
        """Raises EsqlError for a reference to an unknown column."""
        if not isinstance(e, Node):
            return
        if e.op == "col" and not self.has(e.args[0]):
            raise EsqlError("Unknown column [%s]" % e.args[0], e.pos)
        if e.op == "call":
            for a in e.args[1]:
                self.check(a)
            return
        if e.op in ("lit", "kql"):
            return
        for a in e.args:
            self.check(a)

    def accepts(self, name):
        return self.has(name)

    def apply(self, c):
        s = self.copy()
        if c.name == "WHERE":
            s.check(c.expr)
        elif c.name == "EVAL":
            for name, e, _, _ in c.items:
                s.check(e)
                if name in s.names:
                    s.names.remove(name)
                s.names.append(name)
        elif c.name == "SORT":
            for e, _, _ in c.keys:
                s.check(e)
        elif c.name == "MV_EXPAND":
            if not s.has(c.column):
                raise EsqlError("Unknown column [%s]" % c.column,
                                c.pos)
            if c.column not in s.names:
                s.names.append(c.column)
        elif c.name == "KEEP":
            names = []
            keep = []
            for pattern, pos in c.names:
                if "*" in pattern:
                    rx = _pattern_regex(pattern)
                    names += [n for n in s.names if rx.fullmatch(n)
                              and n not in names]
                    keep.append(rx)
                    continue
                name = _unquote_name(pattern)
                if not s.has(name):
                    raise EsqlError("Unknown column [%s]" % name, pos)
                if name not in names:
                    names.append(name)
            if s.open and keep:
                s.keep = keep
                s.names = names
            else:
                s.open = False
                s.names = names
        elif c.name == "DROP":
            for pattern, pos in c.names:
                rx = _pattern_regex(pattern)
                if "*" not in pattern and not s.has(_unquote_name(pattern)):
                    raise EsqlError("Unknown column [%s]"
                                    % _unquote_name(pattern), pos)
                s.names = [n for n in s.names if not rx.fullmatch(n)]
                s.dropped.append(rx)
        elif c.name == "RENAME":
            for old, new, pos in c.pairs:
                if not s.has(old):
                    raise EsqlError("Unknown column [%s]" % old, pos)
                if old in s.names:
                    s.names[s.names.index(old)] = new
                else:
                    s.names.append(new)
                    s.dropped.append(re.compile(re.escape(old)))
                if s.names.count(new) > 1:
                    s.names.remove(new)
        return s


# ---------------------------------------------------------------------------
# Running the pipeline
# ---------------------------------------------------------------------------


def run_row_command(c, row):
    """The rows one row becomes through a row-local command."""
    if c.name == "WHERE":
        return [row] if truth(evaluate(c.expr, row)) is True else []
    if c.name == "EVAL":
        row = row.copy()
        for name, e, _, _ in c.items:
            v = evaluate(e, row)
            row.cols.pop(name, None)
            row.cols[name] = v
        return [row]
    if c.name == "KEEP":
        cols = {}
        for pattern, _ in c.names:
            if "*" in pattern:
                rx = _pattern_regex(pattern)
                for name, v in row.columns().items():
                    if rx.fullmatch(name) and name not in cols:
                        cols[name] = v
                for name, v in row.cols.items():
                    if rx.fullmatch(name) and name not in cols:
                        cols[name] = v
            else:
                name = _unquote_name(pattern)
                if name not in cols:
                    cols[name] = row.get(name)
        return [Row(cols, row.ev, False, ())]
    if c.name == "DROP":
        rxs = [_pattern_regex(p) for p, _ in c.names]
        cols = {n: v for n, v in row.cols.items()
                if not any(rx.fullmatch(n) for rx in rxs)}
        return [Row(cols, row.ev, row.open, row.dropped + tuple(rxs))]
    if c.name == "RENAME":
        row = row.copy()
        for old, new, _ in c.pairs:
            v = row.get(old)
            row.cols.pop(old, None)
            if row.open:
                row.dropped = row.dropped + (re.compile(re.escape(old)),)
            row.cols[new] = v
        return [row]
    if c.name == "MV_EXPAND":
        name = c.column
        v = row.get(name)
        if len(v) <= 1:
            out = row.copy()
            out.cols[name] = v
            return [out]
        rows = []
        for x in v:
            out = row.copy()
            out.cols[name] = (x,)
            rows.append(out)
        return rows
    if c.name == "SORT":
        return [row]            # order is irrelevant before STATS
    raise EsqlError("%s is not supported here" % c.name, c.pos)


def run_rows(commands, rows):
    for c in commands:
        nxt = []
        for r in rows:
            nxt.extend(run_row_command(c, r))
        rows = nxt
    return rows


class _Agg:
    """One aggregate's state in one group."""

    __slots__ = ("func", "n", "items", "total", "best")

    def __init__(self, func):
        self.func = func
        self.n = 0
        self.items = set() if func in ("COUNT_DISTINCT", "VALUES") else None
        self.total = []
        self.best = None

    def add_row(self):
        self.n += 1

    def add(self, vals, node):
        f = self.func
        if f == "COUNT":
            self.n += len(vals)
        elif f in ("COUNT_DISTINCT", "VALUES"):
            self.items.update(vals)
        elif f in ("MIN", "MAX"):
            for v in vals:
                if self.best is None or (
                        order_key(v) < order_key(self.best)
                        if f == "MIN" else
                        order_key(v) > order_key(self.best)):
                    self.best = v
        else:       # SUM, AVG
            for v in vals:
                if not is_number(v):
                    _type_error(node, "needs numbers", v)
                self.total.append(v)

    def result(self):
        f = self.func
        if f == "COUNT":
            return (self.n,)
        if f == "COUNT_DISTINCT":
            return (len(self.items),)
        if f == "VALUES":
            return tuple(sorted(self.items, key=order_key))
        if f in ("MIN", "MAX"):
            return () if self.best is None else (self.best,)
        if not self.total:
            return ()
        if f == "SUM":
            if all(type(v) is int for v in self.total):
                return long_or_null(sum(self.total))
            return double_or_null(math.fsum(self.total))
        return double_or_null(math.fsum(self.total) / len(self.total))


class Result:
    """What a batch gives.

    alerts: list of {column: tuple} (the chosen rows, ties resolved in
    canonical order); cuts: for each bucket where a cut went through tied
    rows, (certain rows, tied rows, how many of the tied are kept);
    stats: input counters."""

    def __init__(self):
        self.alerts = []
        self.cuts = []
        self.exact = True
        self.stats = {"lines": 0, "invalid_lines": 0, "events": 0,
                      "untimed_events": 0, "groups": 0}


class _Ordered:
    """Rows in ES|QL order: a list of blocks of rows whose order among
    themselves is unspecified; the last block may be cut (`take` of its
    rows survive, which ones is unspecified)."""

    def __init__(self, rows):
        self.blocks = [rows] if rows else []
        self.take = len(rows)
        self.exact = True

    def cut(self):
        return bool(self.blocks) and self.take < len(self.blocks[-1])

    def map(self, c):
        blocks = []
        for b in self.blocks:
            blocks.append(run_rows([c], b))
        if self.cut() and len(blocks[-1]) != len(self.blocks[-1]):
            self.exact = False      # which rows survive is now unknown
            self.take = min(self.take, len(blocks[-1]))
        elif blocks:
            self.take = len(blocks[-1]) if not self.cut() else self.take
        self.blocks = blocks
        self._prune()

    def _prune(self):
        while self.blocks and not self.blocks[-1]:
            self.blocks.pop()
            self.take = len(self.blocks[-1]) if self.blocks else 0

    def sort(self, keys):
        if self.cut():
            self.exact = False
            self.blocks[-1] = self.blocks[-1][:self.take]
        rows = [r for b in self.blocks for r in b]
        decorated = [(_sort_key(keys, r), r) for r in rows]
        decorated.sort(key=functools.cmp_to_key(
            lambda a, b: _cmp_keys(keys, a[0], b[0])))
        self.blocks = []
        for key, group in itertools.groupby(
                decorated, key=functools.cmp_to_key(
                    lambda a, b: _cmp_keys(keys, a[0], b[0]))):
            self.blocks.append([r for _, r in group])
        self.take = len(self.blocks[-1]) if self.blocks else 0

    def limit(self, n):
        out = []
        seen = 0
        for i, b in enumerate(self.blocks):
            full = len(b) if i < len(self.blocks) - 1 else self.take
            if seen + full >= n:
                out.append(b)
                self.take = n - seen
                self.blocks = out
                self._prune()
                return
            out.append(b)
            seen += full

    def result(self):
        """(certain rows, tied rows, kept of the tied)."""
        if not self.blocks:
            return [], [], 0
        if not self.cut():
            return [r for b in self.blocks for r in b], [], 0
        certain = [r for b in self.blocks[:-1] for r in b]
        return certain, self.blocks[-1], self.take


def _sort_key(keys, row):
    out = []
    for e, desc, _ in keys:
        v = evaluate(e, row)
        if not v:
            out.append(None)
        else:
            # a multi-value sorts by its lowest value ascending and its
            # highest descending (_snippets/commands/layout/sort.md)
            out.append(order_key((max if desc else min)(v, key=order_key)))
    return out


def _cmp_keys(keys, a, b):
    for (_, desc, nulls_first), x, y in zip(keys, a, b):
        if x is None or y is None:
            if x is None and y is None:
                continue
            if x is None:
                return -1 if nulls_first else 1
            return 1 if nulls_first else -1
        if x == y:
            continue
        lt = x < y
        if desc:
            lt = not lt
        return -1 if lt else 1
    return 0


def run_query(query, lines, max_signals=DEFAULT_MAX_SIGNALS):
    """Evaluates a Query over NDJSON lines (bytes); returns a Result."""
    res = Result()
    rows = []
    groups = {}
    st = query.stats
    for raw in lines:
        res.stats["lines"] += 1
        fields = parse_event(raw)
        if fields is None:
            res.stats["invalid_lines"] += 1
            continue
        ev = Event(fields)
        if ev.timestamp() is None:
            res.stats["untimed_events"] += 1
            continue
        res.stats["events"] += 1
        out = run_rows(query.pre, [Row({}, ev, True, ())])
        if st is None:
            rows.extend(out)
            continue
        for row in out:
            keys = []
            for _, e, _ in st.by:
                v = evaluate(e, row)
                keys.append(dedupe(v) if v else (None,))
            states = None
            for combo in itertools.product(*keys):
                g = groups.get(combo)
                if g is None:
                    g = [_Agg(a[1]) for a in st.aggs]
                    groups[combo] = g
                for agg, (_, func, arg, cond, _) in zip(g, st.aggs):
                    if cond is not None and \
                            truth(evaluate(cond, row)) is not True:
                        continue
                    if states is None:
                        states = {}
                    if arg is None:
                        agg.add_row()
                    else:
                        v = states.get(id(arg))
                        if v is None:
                            v = evaluate(arg, row)
                            states[id(arg)] = v
                        agg.add(v, arg)
    if st is None:
        for r in rows:
            res.alerts.append(_output(query, r))
        return res
    res.stats["groups"] = len(groups)
    buckets = {}
    for combo, g in groups.items():
        cols = {}
        for (name, *_), agg in zip(st.aggs, g):
            cols.pop(name, None)
            cols[name] = agg.result()
        for (name, _, _), k in zip(st.by, combo):
            cols.pop(name, None)
            cols[name] = () if k is None else (k,)
        bucket = combo[query.bucket_by]
        buckets.setdefault(bucket, []).append(Row(cols))
    for bucket in sorted(buckets, key=lambda b: (b is None, b and b.ms)):
        ordered = _Ordered(buckets[bucket])
        for c in query.post:
            if c.name == "SORT":
                ordered.sort(c.keys)
            elif c.name == "LIMIT":
                ordered.limit(c.n)
            else:
                ordered.map(c)
        ordered.limit(max_signals)
        certain, tied, take = ordered.result()
        if not ordered.exact:
            res.exact = False
        chosen = certain
        if tied:
            ranked = sorted(tied, key=lambda r: canonical_columns(
                _output(query, r)))
            chosen = certain + ranked[:take]
            res.cuts.append(([_output(query, r) for r in certain],
                             [_output(query, r) for r in tied], take))
        for r in chosen:
            res.alerts.append(_output(query, r))
    return res


def _output(query, row):
    """A row's output columns: {name: tuple}, nulls and the names an
    alert cannot hold left out."""
    cols = row.columns() if row.ev is not None else {
        n: v for n, v in row.cols.items() if v}
    return {n: v for n, v in cols.items() if is_writable_column(n)}


# ---------------------------------------------------------------------------
# Canonical form, and burstd's alerts projected onto it
# ---------------------------------------------------------------------------


# Columns burstd writes under another key, because the alert's own
# metadata holds the name (include/esql_alert.h): the event's @timestamp,
# as Kibana does, and the event.* names the alert uses itself.
ALERT_RENAMES = {
    "kibana.alert.original_time": "@timestamp",
    "kibana.alert.original_event.kind": "event.kind",
    "kibana.alert.original_event.start": "event.start",
    "kibana.alert.original_event.end": "event.end",
}


def is_alert_metadata(key):
    """Whether a key of a burstd alert document is the alert's own, not
    one of the query's columns: kibana.*, burstd.*, threat(.*),
    ecs.version, @timestamp (when the alert was made), event.kind,
    event.start and event.end."""
    return (key.startswith(("kibana.", "burstd.", "threat."))
            or key in ("kibana", "burstd", "threat", "ecs.version",
                       "@timestamp", "event.kind", "event.start",
                       "event.end"))


def alert_columns(doc, schema):
    """The query's columns in one burstd alert document.

    The mapping, in one place: an output column is a top-level key under
    its own name, except those ALERT_RENAMES moves (@timestamp is
    "kibana.alert.original_time"; event.kind, event.start and event.end
    are "kibana.alert.original_event.*"); every other key
    is_alert_metadata() names is not a column; of the rest, those the
    query's output schema has are kept."""
    cols = {}
    for key, value in doc.items():
        if key in ALERT_RENAMES:
            key = ALERT_RENAMES[key]
        elif is_alert_metadata(key):
            continue
        if schema.accepts(key):
            cols[key] = value
    return cols


def is_writable_column(name):
    """Whether burstd can write a column of this name into an alert (the
    others collide with the alert's own keys; it refuses them when it
    loads a rule that names them, and cannot write an event's field of
    that name in a filter-only rule without KEEP)."""
    return name in ALERT_RENAMES.values() or not is_alert_metadata(name)


def _json_scalar(v):
    t = type(v)
    if t is Date:
        return format_date(v.ms)
    if t is Ip:
        return str(v)
    if t is float and v.is_integer() and abs(v) < 2 ** 63:
        return int(v)
    if t in (Duration, Period):
        raise EsqlError("a time span cannot be an output column")
    return v


def _dumps(v):
    return json.dumps(v, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False)


def canonical_value(v):
    """A column's value (a tuple, or a JSON value read from an alert) in
    canonical JSON form, or None for null: a one-element array is its
    element, an array is sorted by its elements' canonical text."""
    items = list(v) if isinstance(v, (tuple, list)) else [v]
    items = [_json_scalar(x) for x in items if x is not None]
    if not items:
        return None
    if len(items) == 1:
        return items[0]
    return sorted(items, key=lambda x: _dumps(x).encode("utf-8"))


def canonical_columns(cols):
    out = {}
    for name, v in cols.items():
        c = canonical_value(v)
        if c is not None:
            out[name] = c
    return _dumps(out)


def canonical_alert(cols, rule):
    """One alert's canonical line (without the newline)."""
    out = {}
    for name, v in cols.items():
        c = canonical_value(v)
        if c is not None:
            out[name] = c
    return _dumps({"columns": out, "rule": rule})


def sort_lines(lines):
    return sorted(lines, key=lambda s: s.encode("utf-8"))


# ---------------------------------------------------------------------------
# Rules
# ---------------------------------------------------------------------------


class Rule:
    """A rule file: its query, its name in the output, its max_signals."""

    def __init__(self, path):
        with open(path, "rb") as fh:
            data = fh.read()
        self.path = path
        self.name = os.path.basename(path)
        self.max_signals = DEFAULT_MAX_SIGNALS
        if path.endswith(".toml"):
            try:
                doc = tomllib.loads(data.decode("utf-8"))
            except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
                raise EsqlError("%s: %s" % (path, exc))
            rule = doc.get("rule", doc)
            if not isinstance(rule.get("query"), str):
                raise EsqlError("%s: no rule.query" % path)
            self.text = rule["query"]
            if isinstance(rule.get("rule_id"), str):
                self.name = rule["rule_id"]
            ms = rule.get("max_signals", DEFAULT_MAX_SIGNALS)
            if type(ms) is not int or ms < 1:
                raise EsqlError("%s: max_signals must be a positive "
                                "integer" % path)
            self.max_signals = ms
        else:
            try:
                self.text = data.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise EsqlError("%s: %s" % (path, exc))
        try:
            self.query = parse_query(self.text)
        except EsqlError as exc:
            raise EsqlError("%s:%s" % (path, exc))

    def run(self, lines, max_signals=None):
        return run_query(self.query, lines, self.max_signals
                         if max_signals is None else max_signals)

    def canonical_lines(self, result):
        return sort_lines(canonical_alert(a, self.name)
                          for a in result.alerts)

    def project(self, raw):
        """The canonical line of one burstd alert (JSON text)."""
        doc = json.loads(raw)
        if not isinstance(doc, dict):
            raise ValueError("an alert is not a JSON object")
        return canonical_alert(alert_columns(doc, self.query.schema),
                               self.name)


# ---------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------


def _inputs(names):
    for name in names or ["-"]:
        if name == "-":
            yield from sys.stdin.buffer
        else:
            with open(name, "rb") as fh:
                yield from fh


def main(argv=None):
    ap = argparse.ArgumentParser(
        description="Evaluate an ES|QL detection rule over a batch of "
                    "Elastic Defend NDJSON events, or project burstd's "
                    "alerts, in one canonical form.")
    ap.add_argument("--rule", required=True, metavar="FILE",
                    help="the rule: FILE.esql (query text) or FILE.toml "
                         "(detection-rules format)")
    ap.add_argument("--project", action="store_true",
                    help="the inputs are burstd alert NDJSON")
    ap.add_argument("--max-signals", type=int, metavar="N",
                    help="alerts kept per bucket (default: the rule's "
                         "max_signals, else 100)")
    ap.add_argument("--stats", action="store_true",
                    help="print input counters on standard error")
    ap.add_argument("files", nargs="*", metavar="FILE",
                    help="inputs ('-' or none: standard input)")
    args = ap.parse_args(argv)
    try:
        rule = Rule(args.rule)
    except (OSError, EsqlError) as exc:
        sys.stderr.write("esql_ref: %s\n" % exc)
        return 2
    out = []
    if args.project:
        for number, raw in enumerate(_inputs(args.files), 1):
            if not raw.strip():
                continue
            try:
                out.append(rule.project(raw))
            except (ValueError, EsqlError) as exc:
                sys.stderr.write("esql_ref: alert %d: %s\n" % (number, exc))
                return 1
        out = sort_lines(out)
    else:
        try:
            res = rule.run(_inputs(args.files), args.max_signals)
        except EsqlError as exc:
            sys.stderr.write("esql_ref: %s: %s\n" % (args.rule, exc))
            return 1
        out = rule.canonical_lines(res)
        for certain, tied, take in res.cuts:
            sys.stderr.write("esql_ref: warning: a cut went through %d "
                             "rows with equal sort keys; %d kept (which "
                             "ones is unspecified)\n" % (len(tied), take))
        if not res.exact:
            sys.stderr.write("esql_ref: warning: rows were filtered after "
                             "a cut through ties: the result is one of "
                             "several\n")
        if args.stats:
            sys.stderr.write(json.dumps(res.stats, sort_keys=True) + "\n")
    stdout = sys.stdout.buffer
    for line in out:
        stdout.write(line.encode("utf-8") + b"\n")
    stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
