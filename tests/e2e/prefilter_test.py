#!/usr/bin/env python3
"""The ES|QL prefilter on crafted lines (tests/data/prefilter).

Each rule there runs with --replay over lines.ndjson, with the prefilter
and without it, alone and all at once: each must alert on exactly the
lines expect.txt names
(escapes, dotted and nested keys, bare numbers, multi-values, keys that
look like values, MV_EXPAND).  The lines holding a code point that a
Unicode case mapping takes into ASCII (fold-*) must never be turned away
by the prefilter of a rule that folds case; the prefilter must turn some
lines away (it is in use).

usage: prefilter_test.py BURSTD SOURCE_ROOT
"""
import json
import os
import subprocess
import sys
import tempfile


def replay(burstd, rules, path, conf=None, by_rule=False):
    cmd = [burstd, "--replay"]
    for rule in rules if isinstance(rules, list) else [rules]:
        cmd += ["--rule", rule]
    if conf:
        cmd += ["-c", conf]
    r = subprocess.run(cmd + [path], capture_output=True, timeout=120)
    if r.returncode != 0:
        sys.exit("%s failed: %s" % (" ".join(cmd), r.stderr.decode()))
    alerts = [json.loads(l) for l in r.stdout.decode().splitlines()
              if l.strip()]
    if by_rule:
        labels = {}
        for a in alerts:
            labels.setdefault(a["kibana.alert.rule.name"], []).append(
                a["labels.case"])
        labels = {k: sorted(v) for k, v in labels.items()}
    else:
        labels = sorted(a["labels.case"] for a in alerts)
    counters = {}
    for l in r.stderr.decode().splitlines():
        parts = l.split()
        if len(parts) == 2 and parts[1].isdigit():
            counters[parts[0]] = int(parts[1])
    return labels, counters


def main():
    burstd, root = sys.argv[1], sys.argv[2]
    data = os.path.join(root, "tests", "data", "prefilter")
    lines = os.path.join(data, "lines.ndjson")
    expect = {}
    with open(os.path.join(data, "expect.txt")) as fh:
        for l in fh:
            if l.strip() and not l.startswith("#"):
                name, cases = l.split(":", 1)
                expect[name] = sorted(cases.split())
    fail = 0
    with tempfile.TemporaryDirectory() as tmp:
        nopf = os.path.join(tmp, "nopf.yaml")
        with open(nopf, "w") as fh:
            fh.write("limits:\n  prefilter: false\n")
        folds = os.path.join(tmp, "folds.ndjson")
        with open(lines, encoding="utf-8") as src, \
                open(folds, "w", encoding="utf-8") as dst:
            dst.writelines(l for l in src if '"fold-' in l)
        rejected = 0
        for name, want in sorted(expect.items()):
            rule = os.path.join(data, name + ".esql")
            got, c = replay(burstd, rule, lines)
            got_nopf, _ = replay(burstd, rule, lines, nopf)
            if got != want or got_nopf != want:
                print("FAIL %s: want %s, got %s with the prefilter, %s "
                      "without" % (name, want, got, got_nopf))
                fail = 1
            rejected += c.get("lines_prefiltered", 0)
            if name.startswith(("lower", "upper")):
                _, c = replay(burstd, rule, folds)
                if c.get("lines_prefiltered") != 0:
                    print("FAIL %s: the prefilter turned away %s of the "
                          "fold-* lines" % (name, c.get("lines_prefiltered")))
                    fail = 1
        # All at once: one parse for every rule, each run only on the
        # lines its prefilter alternative and the value check leave it.
        rules = [os.path.join(data, n + ".esql") for n in sorted(expect)]
        for conf in (None, nopf):
            got, _ = replay(burstd, rules, lines, conf, by_rule=True)
            want = {k: v for k, v in expect.items() if v}
            if got != want:
                print("FAIL all rules at once%s: want %s, got %s"
                      % (" without the prefilter" if conf else "", want, got))
                fail = 1
        if rejected == 0:
            print("FAIL: the prefilter turned no line away")
            fail = 1
    print("%d rules checked" % len(expect))
    return fail


if __name__ == "__main__":
    sys.exit(main())
