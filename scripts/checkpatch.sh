#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# checkpatch.sh: QEMU's scripts/checkpatch.pl (from the fetched upstream
# tree) on every C file of ours and on every patch of the series, as a QEMU
# reviewer runs it.  TAP output, one test per file; a warning fails too.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
cp="build/upstream/scripts/checkpatch.pl"
if [ ! -f "$cp" ]; then
    echo "1..1"
    echo "not ok 1 - $cp is missing (run ./configure)"
    exit 1
fi
mapfile -t files < <(git ls-files 'hw/*.[ch]' 'include/*.h' \
                                  'tests/qtest/*.[ch]' 'tests/unit/*.[ch]')
mapfile -t patches < <(git ls-files 'patches/*.patch')
echo "1..$((${#files[@]} + ${#patches[@]}))"
n=0
fails=0
for f in "${files[@]}" "${patches[@]}"; do
    n=$((n + 1))
    case "$f" in
    *.patch) args=(--no-signoff "$f") ;;
    *) args=(-f "$f") ;;
    esac
    if out=$(perl "$cp" --no-tree --terse "${args[@]}" 2>&1) &&
       ! grep -qE '^[^:]+:[0-9]+: (ERROR|WARNING):' <<< "$out"; then
        echo "ok $n - $f"
    else
        echo "not ok $n - $f"
        grep -E '(ERROR|WARNING)' <<< "$out" | sed 's/^/# /'
        fails=$((fails + 1))
    fi
done
[ $fails -eq 0 ]
