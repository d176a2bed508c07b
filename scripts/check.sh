#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# check.sh [SUITE...]   SUITE: all (the default) design checkpatch docs unit
#                                qtest qos guest asan
# Runs our test suites and ends with one line "N passed, N failed" over every
# test case run.  Exit status 0 only when nothing failed.
#   design: scripts/check-design.sh, the layering rules (grep, TAP)
#   checkpatch: scripts/checkpatch.sh, QEMU's checkpatch.pl on our C files
#          and patches (TAP)
#   docs:  scripts/check-docs.sh, QEMU's manual with our pages and schema,
#          Sphinx warnings as errors (TAP)
#   unit:  tests/unit/test-*  (glib tests, TAP)
#   qtest: tests/qtest/*-test, once per emulator (x86_64, aarch64), TAP
#   qos:   upstream's qos-test (aarch64), only the paths through our libqos
#          nodes (virtio-mdev-*), one process per path, TAP
#   guest: tests/guest/run.py, the guest-boot matrix (always build/qemu)
#   asan:  unit, qtest and qos again against build/asan, where QEMU and the
#          test programs are built with ASan and UBSan
#   all:   every suite above
# unit, qtest and qos run against build/qemu, or the build directory
# QEMU_MDEV_BUILD names.  A sanitizer report (ASan, LSan, UBSan) from a test
# program or from any QEMU it started fails that program's run, whatever its
# TAP says.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
qb=$(realpath -m "${QEMU_MDEV_BUILD:-$top/build/qemu}")
logs="$top/build/logs"
# Another build directory's logs go to build/logs/<its name>.
[ "$qb" = "$top/build/qemu" ] || logs="$logs/$(basename "$qb")"
passed=0
failed=0

suites=" ${*:-all} "
[ "$suites" = " all " ] &&
    suites=" design checkpatch docs unit qtest qos guest asan "
for s in $suites; do
    case "$s" in
    design|checkpatch|docs|unit|qtest|qos|guest|asan) ;;
    *) echo "usage: $0 [all|design|checkpatch|docs|unit|qtest|qos|guest|asan]..." >&2
       exit 2 ;;
    esac
done
want() { [[ "$suites" == *" $1 "* ]]; }

# Sanitizer settings; they only affect instrumented programs.  Reports go to
# files (log_path), one per process, so that those of a QEMU whose stderr a
# test captures itself are seen too.  UBSan stops at the first report, as
# ASan does.  Leaks are looked for in QEMU as well as in our test programs:
# unlike upstream's CI (detect_leaks=0 for QEMU, whose many devices leave
# memory behind), our machines and devices exit clean, and a buffer lost
# per request or per reset is a bug we want to see.  Upstream's qos-test
# program itself leaks the data of every path it does not run, so it alone
# runs with detect_leaks=0 (the QEMUs it starts do not).  glib's slice
# allocator would hide its chunks from ASan.
# ASAN_OPTIONS and UBSAN_OPTIONS from the environment come after ours.
asan_options="halt_on_error=1:abort_on_error=0:print_summary=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
ubsan_options="halt_on_error=1:print_stacktrace=1:print_summary=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
export G_SLICE=always-malloc G_DEBUG=gc-friendly
san_report_re='SUMMARY: (AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer)|runtime error: '

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

# san_run PREFIX LOG [OPTIONS] -- CMD...: run a test program with the
# sanitizer options (plus OPTIONS), reports to PREFIX.<pid>; sets $rc and
# $reports (the files holding a report; the others, warnings only, go).
san_run() {
    local san=$1 log=$2 extra=$3 r
    shift 4
    rm -f "$san".*
    ASAN_OPTIONS="$asan_options:detect_leaks=${prog_leaks:-1}$extra:log_path=$san" \
    UBSAN_OPTIONS="$ubsan_options:log_path=$san" \
        timeout 600 "$@" --tap -k > "$log" 2>&1
    rc=$?
    reports=()
    for r in "$san".*; do
        [ -f "$r" ] || continue
        if grep -qE "$san_report_re" "$r"; then
            reports+=("$r")
        else
            rm -f "$r"
        fi
    done
}

run_tap() {
    # run_tap NAME LOG CMD...: a test program that dies without a plan, or
    # that (or a QEMU it started) printed a sanitizer report, counts as one
    # failure unless its TAP already has one.  $prog_leaks=0 turns leak
    # detection off for the test program (not for QEMU).
    local name=$1 log=$2 san=${2%.tap}.san r fail=no
    local rc reports
    shift 2
    san_run "$san" "$log" "" -- "$@"
    tap_count "$log"
    if [ $rc -ne 0 ] && ! grep -q '^not ok ' "$log"; then
        echo "  $name exited with status $rc without a failed test (log: ${log#"$top"/})"
        fail=yes
    fi
    if [ ${#reports[@]} -gt 0 ]; then
        for r in "${reports[@]}"; do
            echo "  $name: sanitizer report in ${r#"$top"/}:"
            grep -E '^SUMMARY: |runtime error: ' "$r" | head -n 3 | sed 's/^/    /'
        done
        grep -q '^not ok ' "$log" || fail=yes
        # Allocation and free stacks that pass through glib (built without
        # frame pointers) end at g_malloc with ASan's fast unwinder, which
        # every run uses as the slow one doubles the time: run the program
        # once more with the slow one, for reports with whole stacks.
        san_run "$san-full" "${log%.tap}-full.log" ":fast_unwind_on_malloc=0" -- "$@"
        if [ ${#reports[@]} -gt 0 ]; then
            echo "    whole stacks: ${san#"$top"/}-full.*"
        else
            echo "    (not reproduced by a second run with whole stacks)"
        fi
    fi
    [ $fail = yes ] && failed=$((failed + 1))
    return 0
}

# qemu_wrapper ARCH DIR: print the path of a script named like the emulator
# (libqtest takes the target from the name) that runs it with leak
# detection on, whatever the test program's setting.
qemu_wrapper() {
    local arch=$1 dir=$2 w
    w="$dir/qemu-system-$arch"
    mkdir -p "$dir"
    # Replaced in one step: a concurrent run may be executing it.
    cat > "$w.$$" <<EOF
#!/bin/sh
ASAN_OPTIONS="\${ASAN_OPTIONS:-}:detect_leaks=1" exec "$qb/qemu-system-$arch" "\$@"
EOF
    chmod +x "$w.$$"
    mv -f "$w.$$" "$w"
    echo "$w"
}

suite_unit() {
    local u
    for u in $("$top/scripts/our-tests.sh" units); do
        echo "unit: $u"
        run_tap "$u" "$logs/$(basename "$u").tap" "$qb/$u"
    done
}

suite_qtest() {
    local q arch
    for q in $("$top/scripts/our-tests.sh" qtests); do
        for arch in x86_64 aarch64; do
            echo "qtest ($arch): $q"
            QTEST_QEMU_BINARY=$(qemu_wrapper "$arch" "$logs/bin") \
            QTEST_QEMU_IMG=/bin/false \
                run_tap "$q" "$logs/$(basename "$q")-$arch.tap" "$qb/$q"
        done
    done
}

suite_qos() {
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
    local qos_skip="virtio-mdev-blk.virtio-blk-tests.resize"
    local arch=aarch64 qlogs p n
    echo "qos ($arch): qos-test, paths through our libqos nodes"
    qlogs="$logs/qos-$arch"
    rm -rf "$qlogs"
    mkdir -p "$qlogs"
    export QTEST_QEMU_BINARY QTEST_QEMU_IMG=/bin/false
    QTEST_QEMU_BINARY=$(qemu_wrapper "$arch" "$logs/bin")
    if ! ASAN_OPTIONS="$asan_options:detect_leaks=0" UBSAN_OPTIONS="$ubsan_options" \
         "$qb/tests/qtest/qos-test" -l > "$qlogs/list" 2>&1; then
        echo "  qos-test -l failed (log: ${qlogs#"$top"/}/list)"
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
            prog_leaks=0 run_tap "$n" "$qlogs/$n.tap" "$qb/tests/qtest/qos-test" -p "$p"
        done
    fi
    unset QTEST_QEMU_BINARY QTEST_QEMU_IMG
}

mkdir -p "$logs"

if want design; then
    echo "design: layering rules"
    "$top/scripts/check-design.sh" > "$logs/design.tap" 2>&1
    tap_count "$logs/design.tap"
fi

if want checkpatch; then
    echo "checkpatch: QEMU's scripts/checkpatch.pl on our files and patches"
    "$top/scripts/checkpatch.sh" > "$logs/checkpatch.tap" 2>&1
    tap_count "$logs/checkpatch.tap"
fi

if want docs; then
    echo "docs: QEMU's manual with our pages (Sphinx -W)"
    "$top/scripts/check-docs.sh" "$qb" > "$logs/docs.tap" 2>&1
    tap_count "$logs/docs.tap"
fi

want unit && suite_unit
want qtest && suite_qtest
want qos && suite_qos

if want guest; then
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

if want asan; then
    # The same suites against the sanitizer build, logs under build/logs/asan.
    qb="$top/build/asan"
    logs="$top/build/logs/asan"
    mkdir -p "$logs"
    if [ ! -x "$qb/qemu-system-aarch64" ]; then
        echo "asan: build/asan is not built (make check-asan builds it)"
        failed=$((failed + 1))
    else
        echo "asan: unit, qtest and qos under ASan+UBSan (build/asan)"
        suite_unit
        suite_qtest
        suite_qos
    fi
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
