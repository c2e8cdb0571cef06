#!/bin/sh
# Replays every tests/data/semantics/NAME.ndjson with the built daemon and
# compares the alerts (projected to the query's eleven columns) with
# NAME.expect, written from docs/semantics.md.  Also replays each case
# with the prefilter off and with the lines reversed: the alerts must not
# change.
# usage: semantics.sh BURSTD SOURCE_ROOT
set -u
burstd=$1 root=$2
command -v python3 >/dev/null || exit 77
ref="python3 $root/scripts/reference.py --project -"
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
printf 'limits:\n  prefilter: false\n' > "$tmp/nopf.yaml"
fail=0 n=0
for in in "$root"/tests/data/semantics/*.ndjson; do
	name=$(basename "$in" .ndjson)
	want="${in%.ndjson}.expect"
	n=$((n + 1))
	"$burstd" --replay "$in" 2>"$tmp/err" | $ref > "$tmp/got" || {
		echo "FAIL $name: burstd or projection failed"; cat "$tmp/err"
		fail=1; continue; }
	if ! diff -u "$want" "$tmp/got" > "$tmp/diff"; then
		echo "FAIL $name"; cat "$tmp/diff"; fail=1; continue
	fi
	"$burstd" --replay -c "$tmp/nopf.yaml" "$in" 2>/dev/null | $ref > "$tmp/got2"
	cmp -s "$tmp/got" "$tmp/got2" || { echo "FAIL $name: prefilter changes the result"; fail=1; }
	tac "$in" | "$burstd" --replay - 2>/dev/null | $ref > "$tmp/got3"
	cmp -s "$tmp/got" "$tmp/got3" || { echo "FAIL $name: input order changes the result"; fail=1; }
done
[ "$n" -gt 0 ] || { echo "no cases found"; exit 1; }
echo "$n cases"
exit $fail
