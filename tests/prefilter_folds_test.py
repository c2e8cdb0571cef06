#!/usr/bin/env python3
"""PREFILTER_FOLDS (src/prefilter.c) against Python's Unicode tables.

The prefilter passes every line holding a code point outside ASCII whose
lower case, upper case, title case or full case folding holds an ASCII
letter (include/prefilter.h).  This recomputes that set from Python's
unicodedata (str.lower/upper/title/casefold, which apply SpecialCasing
as Java's String.toLowerCase/toUpperCase do) and compares it with the
table in the source: a new Unicode version that adds such a code point
fails here.
"""
import os
import re
import sys
import unicodedata

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def computed():
    out = []
    for c in range(0x80, 0x110000):
        if 0xD800 <= c < 0xE000:
            continue
        ch = chr(c)
        maps = (ch.lower(), ch.upper(), ch.title(), ch.casefold())
        if any(x.isascii() and x.isalpha() for m in maps for x in m):
            out.append(c)
    return out


def in_source():
    with open(os.path.join(ROOT, "src", "prefilter.c")) as fh:
        text = fh.read()
    m = re.search(r"PREFILTER_FOLDS\[\] = \{(.*?)\};", text, re.S)
    if m is None:
        sys.exit("PREFILTER_FOLDS not found in src/prefilter.c")
    return [int(x, 16) for x in re.findall(r"0x[0-9a-fA-F]+", m.group(1))]


def main():
    want, got = computed(), in_source()
    if want != got:
        print("Unicode %s: the code points are %s; src/prefilter.c has %s"
              % (unicodedata.unidata_version,
                 " ".join("U+%04X" % c for c in want),
                 " ".join("U+%04X" % c for c in got)))
        return 1
    print("%d code points agree (Unicode %s)"
          % (len(got), unicodedata.unidata_version))
    return 0


if __name__ == "__main__":
    sys.exit(main())
