#!/bin/sh
# Replays every tests/data/semantics/NAME.ndjson with the built daemon and
# compares the alerts of the built-in default rule (projected to the
# query's eleven columns) with NAME.expect, written from
# docs/semantics.md.  Also replays each case with the prefilter off, with
# the lines reversed, and with the query given as a plain .esql file
# (tests/data/esql/seed.esql) instead of the built-in TOML text: the
# alerts must not change.  The daemon runs first for every case; one Python process then
# projects and compares all the outputs (a Python start per output would
# cost more than the replays themselves).
# usage: semantics.sh BURSTD SOURCE_ROOT
set -u
burstd=$1 root=$2
command -v python3 >/dev/null || exit 77
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
printf 'limits:\n  prefilter: false\n' > "$tmp/nopf.yaml"
fail=0 n=0
for in in "$root"/tests/data/semantics/*.ndjson; do
	name=$(basename "$in" .ndjson)
	n=$((n + 1))
	echo "$name" >> "$tmp/names"
	"$burstd" --replay "$in" > "$tmp/$name.1" 2>"$tmp/err" || {
		echo "FAIL $name: burstd failed"; cat "$tmp/err"; fail=1; }
	"$burstd" --replay -c "$tmp/nopf.yaml" "$in" > "$tmp/$name.2" 2>/dev/null
	tac "$in" | "$burstd" --replay - > "$tmp/$name.3" 2>/dev/null
	"$burstd" --replay --rule "$root/tests/data/esql/seed.esql" "$in" \
		> "$tmp/$name.4" 2>"$tmp/err" || {
		echo "FAIL $name: burstd --rule failed"; cat "$tmp/err"; fail=1; }
done
[ "$n" -gt 0 ] || { echo "no cases found"; exit 1; }
python3 - "$root" "$tmp" <<'EOF' || fail=1
import difflib, os, sys
root, tmp = sys.argv[1], sys.argv[2]
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(root, "scripts"))
import reference

def projected(path):
    with open(path, "rb") as fh:
        return reference.sort_lines(reference.project(raw) for raw in fh
                                    if raw.strip())

fail = 0
with open(os.path.join(tmp, "names")) as fh:
    names = fh.read().split()
for name in names:
    with open(os.path.join(root, "tests", "data", "semantics",
                           name + ".expect"), encoding="utf-8") as fh:
        want = fh.read().splitlines()
    try:
        got = [projected(os.path.join(tmp, "%s.%d" % (name, i)))
               for i in (1, 2, 3, 4)]
    except ValueError as exc:
        print("FAIL %s: bad alert: %s" % (name, exc))
        fail = 1
        continue
    if got[0] != want:
        print("FAIL " + name)
        sys.stdout.writelines(l + "\n" for l in difflib.unified_diff(
            want, got[0], "expect", "got", lineterm=""))
        fail = 1
        continue
    if got[1] != got[0]:
        print("FAIL %s: prefilter changes the result" % name)
        fail = 1
    if got[2] != got[0]:
        print("FAIL %s: input order changes the result" % name)
        fail = 1
    if got[3] != got[0]:
        print("FAIL %s: the query as an .esql file differs" % name)
        sys.stdout.writelines(l + "\n" for l in difflib.unified_diff(
            got[0], got[3], "built-in", "seed.esql", lineterm=""))
        fail = 1
sys.exit(fail)
EOF
echo "$n cases"
exit $fail
