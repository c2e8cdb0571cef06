#!/bin/sh
# The manual pages keep up with the code: every key that src/conf.c
# accepts is documented in docs/burstd.yaml.5 (as a bold word, the way
# the page sets keys), and both pages render without a groff warning.
# usage: manual.sh SOURCE_ROOT
set -u
root=$1
conf=$root/src/conf.c
page=$root/docs/burstd.yaml.5
fail=0
[ -f "$page" ] || { echo "FAIL: $page is missing"; exit 1; }

# The keys: the rows of the key tables (RK, CK, IK, SK), the keys read
# by the tables' special readers (strcmp(key, ...), strcmp(k, ...)) and
# the inline tables ({"column", K_STRING, ...}).
keys=$({
	grep -oE '\b[A-Z]K\("[a-z_]+"' "$conf" | sed -E 's/.*"(.*)"/\1/'
	grep -oE 'strcmp\((key|k), "[a-z_]+"\)' "$conf" |
		sed -E 's/.*"(.*)".*/\1/'
	grep -oE '\{"[a-z_]+", K_' "$conf" | sed -E 's/\{"(.*)".*/\1/'
} | sort -u)
n=$(printf '%s\n' "$keys" | grep -c .)
# A guard against the patterns above silently matching nothing.
if [ "$n" -lt 40 ]; then
	echo "FAIL: found only $n keys in $conf; do the patterns still fit?"
	exit 1
fi
for k in $keys; do
	if ! grep -Eq "^\.B[IR]?( |.*[^a-z_])$k([^a-z_]|\$)" "$page"; then
		echo "FAIL: key \"$k\" of src/conf.c is not in docs/burstd.yaml.5"
		fail=1
	fi
done
echo "$n configuration keys checked"

if command -v groff >/dev/null; then
	for p in "$root/docs/burstd.8" "$page"; do
		w=$(groff -ww -man -z "$p" 2>&1)
		if [ -n "$w" ]; then
			echo "FAIL: $p: groff warns:"
			echo "$w"
			fail=1
		fi
	done
else
	echo "groff is missing: rendering not checked"
fi
exit $fail
