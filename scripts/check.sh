#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# check.sh all|design|unit|qtest|qos|guest
# Runs our test suites against build/qemu and ends with one line
# "N passed, N failed" over every test case run.  Exit status 0 only when
# nothing failed.
#   design: scripts/check-design.sh, the layering rules (grep, TAP)
#   unit:  tests/unit/test-*  (glib tests, TAP)
#   qtest: tests/qtest/*-test, once per emulator (x86_64, aarch64), TAP
#   qos:   upstream's qos-test (aarch64), only the paths through our libqos
#          nodes (virtio-mdev-*), one process per path, TAP
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

if [ "$what" = all ] || [ "$what" = qos ]; then
    # QEMU's own tests (virtio-blk-test, ...) run unchanged against our
    # devices: qos-test lists every graph path to a test; ours are those
    # through a virtio-mdev-* node.  One process per path, as a failed
    # assertion ends a qos-test process.
    # Upstream tests that cannot apply to our devices (the graph cannot
    # leave out one test of an interface that a node produces):
    #  - virtio-blk resize waits for a used-buffer interrupt after
    #    block_resize; it passes on QEMU's own devices only because their
    #    config change sets both InterruptStatus bits (virtio_notify_config
    #    sets ISR 0x3).  Our transport sets just the config bit, as the
    #    virtio-mmio spec says and virtio-mdev-test checks.
    qos_skip="virtio-mdev-blk.virtio-blk-tests.resize"
    arch=aarch64
    echo "qos ($arch): qos-test, paths through our libqos nodes"
    export QTEST_QEMU_BINARY="$qb/qemu-system-$arch" QTEST_QEMU_IMG=/bin/false
    qlogs="$logs/qos-$arch"
    rm -rf "$qlogs"
    mkdir -p "$qlogs"
    if ! "$qb/tests/qtest/qos-test" -l > "$qlogs/list" 2>&1; then
        echo "  qos-test -l failed (log: ${qlogs#$top/}/list)"
        failed=$((failed + 1))
    elif ! grep -q '^/.*/virtio-mdev-[^/]*/' "$qlogs/list"; then
        echo "  no qos-test path goes through our nodes"
        failed=$((failed + 1))
    else
        for p in $(grep '^/.*/virtio-mdev-[^/]*/' "$qlogs/list"); do
            # .../virtio-mdev-blk/virtio-blk/virtio-blk-tests/basic ->
            # virtio-mdev-blk.virtio-blk-tests.basic
            n=$(echo "$p" | sed -E 's@.*/(virtio-mdev-[^/]*)/.*/([^/]+)/([^/]+)$@\1.\2.\3@')
            if [[ " $qos_skip " == *" $n "* ]]; then
                echo "  $n: not run (does not apply)"
                continue
            fi
            run_tap "$n" "$qlogs/$n.tap" "$qb/tests/qtest/qos-test" -p "$p"
        done
    fi
    unset QTEST_QEMU_BINARY QTEST_QEMU_IMG
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
