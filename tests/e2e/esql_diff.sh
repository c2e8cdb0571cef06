#!/bin/sh
# The differential test of the ES|QL engine: for every query of
# tests/data/esql/ (the seed's and queries in the shapes of Elastic's
# Defend rules), burstd --replay --rule over generated events must give
# the alerts that tests/esql_ref.py, an independent batch evaluator,
# computes (scripts/esql-diff).  Two generator seeds, 3000 events each.
# usage: esql_diff.sh BURSTD SOURCE_ROOT
set -u
burstd=$1 root=$2
command -v python3 >/dev/null || exit 77
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
fail=0 n=0
for seed in 7 11; do
	python3 "$root/scripts/esql-gen" "$root"/tests/data/esql/*.esql \
		--seed "$seed" --events 3000 > "$tmp/events" || exit 1
	for q in "$root"/tests/data/esql/*.esql; do
		n=$((n + 1))
		if ! python3 "$root/scripts/esql-diff" "$burstd" "$q" \
			"$tmp/events" > "$tmp/out" 2>&1; then
			echo "FAIL $(basename "$q") (seed $seed)"
			head -40 "$tmp/out"
			fail=1
		fi
	done
done
echo "$n rule runs compared"
exit $fail
