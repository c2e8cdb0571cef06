#!/bin/sh
# The command line: help, version, usage errors (exit 2, one line),
# unreadable files (exit 1, others still read), stdin, config checks,
# and the published Defend samples (they all parse, none matches).
# usage: cli.sh BURSTD SOURCE_ROOT
set -u
burstd=$1 root=$2
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
fail=0
check() { # check DESCRIPTION COMMAND...: the command must succeed
	d=$1; shift
	if ! "$@"; then echo "FAIL: $d"; fail=1; fi
}
counter() { # counter NAME FILE: a counter's value from a summary
	awk -v n="$1" '$1 == n { print $2 }' "$2"
}

"$burstd" --help > "$tmp/out"; check "--help exits 0" test $? -eq 0
check "--help shows usage" grep -q -- '--replay' "$tmp/out"
"$burstd" --version > "$tmp/out"; check "--version exits 0" test $? -eq 0
check "--version prints the version" grep -Eq '^burstd [0-9]+\.[0-9]+' "$tmp/out"

for args in "--bogus" "--replay" "-c" "--check-config" \
    "--check-config --replay -c x" "stray"; do
	# shellcheck disable=SC2086
	"$burstd" $args > "$tmp/out" 2> "$tmp/err"; rc=$?
	check "usage error '$args' exits 2 (got $rc)" test $rc -eq 2
	check "usage error '$args' is one line" test "$(wc -l < "$tmp/err")" -eq 1
	# stderr is a file here, not a terminal: journald's prefix.
	check "usage error '$args' has the <3> prefix" grep -q '^<3>burstd: ' "$tmp/err"
done
# An unknown or misused option is named.
"$burstd" --bogus=1 2> "$tmp/err"
check "unknown long option is named" grep -qx \
    '<3>burstd: unknown option --bogus (try --help)' "$tmp/err"
"$burstd" -r -z x 2> "$tmp/err"
check "unknown short option is named" grep -qx \
    '<3>burstd: unknown option -z (try --help)' "$tmp/err"
"$burstd" --check-config=yes 2> "$tmp/err"
check "a value for a flag is refused by name" grep -qx \
    '<3>burstd: option --check-config takes no value (try --help)' "$tmp/err"
"$burstd" --replay --alert-on soon - < /dev/null 2> "$tmp/err"; rc=$?
check "--alert-on with a bad mode exits 2 (got $rc)" test $rc -eq 2
check "--alert-on with a bad mode is named" grep -qx \
    '<3>burstd: --alert-on: expected threshold or close, got "soon" (try --help)' "$tmp/err"
"$burstd" --replay --alert-on 2> "$tmp/err"
check "--alert-on without a mode is named" grep -qx \
    '<3>burstd: option --alert-on needs threshold or close (try --help)' "$tmp/err"
# On a terminal the messages are bare (script(1) gives one, if present).
if command -v script > /dev/null && script -qc true /dev/null > /dev/null 2>&1; then
	script -qc "$burstd --bogus" /dev/null > "$tmp/tty" 2>&1
	check "on a terminal, no prefix" grep -q '^burstd: unknown option --bogus' "$tmp/tty"
	check "on a terminal, no <3>" test "$(grep -c '<3>' "$tmp/tty")" -eq 0
fi

# A missing file is reported; the other files are still read.
"$burstd" --replay "$tmp/missing" "$root/tests/data/example/attack.ndjson" \
    > "$tmp/out" 2> "$tmp/err"; rc=$?
check "missing file exits 1 (got $rc)" test $rc -eq 1
check "missing file is named" grep -q "missing" "$tmp/err"
check "other files still give their alert" test "$(wc -l < "$tmp/out")" -eq 1

# stdin, and the bundled example with the shipped configuration.
"$burstd" --replay -c "$root/conf/burstd.yaml" - \
    < "$root/tests/data/example/attack.ndjson" > "$tmp/out" 2> "$tmp/err"
check "stdin replay exits 0" test $? -eq 0
check "example gives one alert" test "$(wc -l < "$tmp/out")" -eq 1
check "summary counts alerts" test "$(counter alerts "$tmp/err")" = 1

# --check-config
"$burstd" --check-config -c "$root/conf/burstd.yaml" > "$tmp/out"
check "shipped conf is valid" test $? -eq 0
check "prints configuration OK" grep -q "configuration OK" "$tmp/out"
check "lists the built-in default rule" grep -qx \
    'rule b42e4b88-fc4a-417b-a45e-4d4a3db9fd41 "Suspicious Python Shell Command Execution" (built-in): windows of 60000 ms' "$tmp/out"
# --explain with no rule: the default, compiled from its ES|QL text.
"$burstd" --explain > "$tmp/out"
check "--explain with no rule exits 0" test $? -eq 0
check "--explain shows the default rule" grep -qx \
    'rule b42e4b88-fc4a-417b-a45e-4d4a3db9fd41 "Suspicious Python Shell Command Execution" (built-in)' "$tmp/out"
check "--explain shows the default's bucketed shape" grep -qx \
    'shape: bucketed STATS' "$tmp/out"
# The retired rule: section is refused, naming what replaces it.
printf 'rule:\n  min_distinct: 5\n' > "$tmp/rule.yaml"
"$burstd" -n -c "$tmp/rule.yaml" > /dev/null 2> "$tmp/err"
check "rule: section exits 1" test $? -eq 1
check "rule: section names rules: and an inline rule" grep -q \
    "rule: this section is retired: .*write a variant as an inline rule under rules:" "$tmp/err"
"$burstd" -n -c "$root/tests/data/conf/bad-many.yaml" > /dev/null 2> "$tmp/err"
check "bad conf exits 1" test $? -eq 1
check "bad conf reports every error" \
    test "$(wc -l < "$tmp/err")" -eq "$(wc -l < "$root/tests/data/conf/bad-many.err")"
# A repeated key names itself and both places; a second document and a
# nesting of 100000 levels are refused, the latter at its 65th level.
printf 'inputs:\n  - type: stdin\nlog_level: info\ninputs: []\n' > "$tmp/dup.yaml"
"$burstd" -n -c "$tmp/dup.yaml" > /dev/null 2> "$tmp/err"
check "duplicate key exits 1" test $? -eq 1
check "duplicate key is named with its place" grep -qx \
    "<3>$tmp/dup.yaml:4: duplicate key \"inputs\" at 4:1 (first at 1:1)" "$tmp/err"
printf 'log_level: info\n---\nlog_level: debug\n' > "$tmp/docs.yaml"
"$burstd" -n -c "$tmp/docs.yaml" > /dev/null 2> "$tmp/err"
check "second document exits 1" test $? -eq 1
check "second document is reported" grep -q "docs.yaml:2: a second YAML document" "$tmp/err"
{ printf 'a: '; head -c 100000 /dev/zero | tr '\0' '['
  head -c 100000 /dev/zero | tr '\0' ']'; echo; } > "$tmp/deep.yaml"
"$burstd" -n -c "$tmp/deep.yaml" > /dev/null 2> "$tmp/err"
check "deep conf exits 1" test $? -eq 1
check "deep conf gives the depth error" grep -qx \
    "<3>$tmp/deep.yaml:1: nested deeper than 64 levels" "$tmp/err"

# The published samples: every line parses (prefilter off so that all
# reach the parser), none matches the rule.
printf 'limits:\n  prefilter: false\n' > "$tmp/nopf.yaml"
samples=$(ls "$root"/../shared/data/defend-samples/*.ndjson 2>/dev/null | wc -l)
if [ "$samples" -gt 0 ]; then
	"$burstd" --replay -c "$tmp/nopf.yaml" "$root"/../shared/data/defend-samples/*.ndjson \
	    > "$tmp/out" 2> "$tmp/err"
	check "samples: exit 0" test $? -eq 0
	check "samples: 16 events parsed" test "$(counter lines_parsed "$tmp/err")" = 16
	check "samples: no invalid JSON" test "$(counter json_invalid "$tmp/err")" = 0
	check "samples: none too deep" test "$(counter json_too_deep "$tmp/err")" = 0
	check "samples: none matches" test "$(counter events_matched "$tmp/err")" = 0
	check "samples: no alert" test ! -s "$tmp/out"
else
	echo "defend samples not found next to the checkout; skipped"
fi
exit $fail
