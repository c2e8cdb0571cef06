#!/bin/sh
# Exactness on generated corpora: scripts/gen-events writes realistic
# Elastic Defend events (with planted attacks, near misses of every kind and
# malformed lines) and the alerts they must give; the daemon's alerts,
# projected to the query's eleven columns, must be exactly those.
# Also checks that the corpus has planted attacks at all.
# usage: gen_check.sh BURSTD [SOURCE_ROOT]
# exit: 0 pass, 1 fail, 77 skipped (no python3)
set -u
burstd=${1:?usage: gen_check.sh BURSTD [SOURCE_ROOT]}
command -v python3 >/dev/null 2>&1 || { echo "python3 not found: skipped"; exit 77; }
root=${2:-$(cd "$(dirname "$0")/../.." && pwd)}
seed=${GEN_CHECK_SEED:-7}

[ -x "$burstd" ] || { echo "FAIL: $burstd is not executable"; exit 1; }

tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT TERM

fail=0

# check NAME GEN-OPTIONS...: generate, replay, compare
check() {
	name=$1; shift
	dir="$tmp/$name"
	mkdir "$dir" || return 1
	if ! python3 "$root/scripts/gen-events" --seed "$seed" "$@" \
	    --out "$dir/events.ndjson" --expect "$dir/expect" 2> "$dir/gen.log"; then
		echo "FAIL $name: gen-events failed (planted attacks and reference disagree?)"
		cat "$dir/gen.log"
		return 1
	fi
	planted=$(sed -n 's/.* planted=\([0-9][0-9]*\).*/\1/p' "$dir/gen.log")
	lines=$(sed -n 's/.* lines=\([0-9][0-9]*\).*/\1/p' "$dir/gen.log")
	want=$(wc -l < "$dir/expect" | tr -d ' ')
	if [ "${planted:-0}" -le 0 ]; then
		echo "FAIL $name: no planted attacks"; cat "$dir/gen.log"; return 1
	fi
	if [ "$want" -ne "$planted" ]; then
		echo "FAIL $name: $want expected alerts for $planted planted attacks"
		return 1
	fi
	"$burstd" --replay "$dir/events.ndjson" > "$dir/alerts.ndjson" 2> "$dir/burstd.log"
	rc=$?
	if [ "$rc" -ne 0 ]; then
		echo "FAIL $name: burstd --replay exited $rc"; tail -n 20 "$dir/burstd.log"
		return 1
	fi
	if ! python3 "$root/scripts/reference.py" --project - \
	    < "$dir/alerts.ndjson" > "$dir/got"; then
		echo "FAIL $name: burstd output is not alert NDJSON"
		return 1
	fi
	if ! diff -u "$dir/expect" "$dir/got" > "$dir/diff"; then
		echo "FAIL $name: alerts differ from the expected ones (- expected, + burstd)"
		head -n 60 "$dir/diff"
		return 1
	fi
	echo "ok $name: $want alerts, $planted planted, $lines lines (seed $seed)"
	return 0
}

# a realistic mix; a dense one with every kind of near miss; all events
# matching the filter (worst case for the daemon's state)
check mixed --size 5M --noise || fail=1
check dense --size 6M --noise --attack-rate 0.4 --hosts 12 || fail=1
check all-match --size 2M --all-match --noise --hosts 20 || fail=1

exit $fail
