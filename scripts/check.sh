#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# check.sh all|design|unit|qtest|guest
# Runs our test suites against build/qemu and ends with one line
# "N passed, N failed" over every test case run.  Exit status 0 only when
# nothing failed.
#   design: scripts/check-design.sh, the layering rules (grep, TAP)
#   unit:  tests/unit/test-*  (glib tests, TAP)
#   qtest: tests/qtest/*-test, once per emulator (x86_64, aarch64), TAP
#   guest: tests/guest/run.py, the guest-boot matrix
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
qb="$top/build/qemu"
logs="$top/build/logs"
mkdir -p "$logs"
what=${1:-all}
passed=0
failed=0

# tap_count LOG: add a TAP log's "ok" / "not ok" lines to the totals.
tap_count() {
    local p f
    p=$(grep -c '^ok ' "$1" || true)
    f=$(grep -c '^not ok ' "$1" || true)
    passed=$((passed + p))
    failed=$((failed + f))
    grep '^not ok ' "$1" | sed 's/^/  /'
    echo "  $(basename "$1" .tap): $p passed, $f failed"
}

run_tap() {
    # run_tap NAME LOG CMD...: a test program that dies without a plan
    # counts as one failure.
    local name=$1 log=$2 rc
    shift 2
    timeout 600 "$@" --tap -k > "$log" 2>&1
    rc=$?
    tap_count "$log"
    if [ $rc -ne 0 ] && ! grep -q '^not ok ' "$log"; then
        echo "  $name exited with status $rc without a failed test (log: ${log#$top/})"
        failed=$((failed + 1))
    fi
}

if [ "$what" = all ] || [ "$what" = design ]; then
    echo "design: layering rules"
    "$top/scripts/check-design.sh" > "$logs/design.tap" 2>&1
    tap_count "$logs/design.tap"
fi

if [ "$what" = all ] || [ "$what" = unit ]; then
    for u in $("$top/scripts/our-tests.sh" units "$qb"); do
        echo "unit: $u"
        run_tap "$u" "$logs/$(basename "$u").tap" "$qb/$u"
    done
fi

if [ "$what" = all ] || [ "$what" = qtest ]; then
    for q in $("$top/scripts/our-tests.sh" qtests "$qb"); do
        for arch in x86_64 aarch64; do
            echo "qtest ($arch): $q"
            QTEST_QEMU_BINARY="$qb/qemu-system-$arch" \
            QTEST_QEMU_IMG=/bin/false \
                run_tap "$q" "$logs/$(basename "$q")-$arch.tap" "$qb/$q"
        done
    done
fi

if [ "$what" = all ] || [ "$what" = guest ]; then
    echo "guest: boot matrix"
    tally="$logs/guest.tally"
    rm -f "$tally"
    filter=()
    [ -n "${GUEST_FILTER:-}" ] && filter=(--filter "$GUEST_FILTER")
    "$top/tests/guest/run.py" --tally "$tally" "${filter[@]}" | sed 's/^/  /'
    if [ -f "$tally" ]; then
        read -r p f < "$tally"
        passed=$((passed + p))
        failed=$((failed + f))
    else
        echo "  guest matrix did not run to the end"
        failed=$((failed + 1))
    fi
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
