#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# san-run.sh [--no-program-leaks] NAME PROGRAM [ARG...]
#
# Runs a TAP test program (meson's test() wraps each of ours in this) with
# the sanitizer settings of qemu-mdev's suites, and passes its TAP through.
# A sanitizer report (ASan, LSan, UBSan) from the program or from any QEMU
# it started fails the run whatever its TAP says: the TAP then ends with
# "Bail out!" and the exit status is not 0.  Without sanitizers (build/qemu)
# the settings have no effect.
#
# Reports go to files, one per process ($QEMU_MDEV_LOGS/NAME.san.<pid>),
# so that those of a QEMU whose stderr a test captures itself are seen too.
# UBSan stops at the first report, as ASan does.  Leaks are looked for in
# QEMU as well as in the test programs: our machines and devices exit
# clean, and a buffer lost per request or per reset is a bug.  With
# --no-program-leaks the program itself (upstream's qos-test, which leaks
# the data of every graph path it does not run) is not checked for leaks;
# the QEMUs it starts still are.  glib's slice allocator would hide its
# chunks from ASan.  ASAN_OPTIONS and UBSAN_OPTIONS from the environment
# come after ours.
#
# A report is reproduced once more with ASan's slow unwinder (whole
# allocation stacks through glib, which has no frame pointers); the
# reports of both runs are kept (NAME.san.<pid>, NAME-full.san.<pid>).
set -uo pipefail

prog_leaks=1
if [ "${1:-}" = --no-program-leaks ]; then
    prog_leaks=0
    shift
fi
if [ $# -lt 2 ]; then
    echo "usage: $0 [--no-program-leaks] NAME PROGRAM [ARG...]" >&2
    exit 2
fi
name=$1
shift
logs=${QEMU_MDEV_LOGS:-$PWD/meson-logs/qemu-mdev}
mkdir -p "$logs"
san="$logs/$name.san"

asan_options="halt_on_error=1:abort_on_error=0:print_summary=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
ubsan_options="halt_on_error=1:print_stacktrace=1:print_summary=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
export G_SLICE=always-malloc G_DEBUG=gc-friendly
report_re='SUMMARY: (AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer)|runtime error: '

# QEMU runs with leak detection whatever the program's setting: a script
# named like the emulator (libqtest takes the target from the name).
if [ $prog_leaks = 0 ] && [ -n "${QTEST_QEMU_BINARY:-}" ]; then
    wrapper="$logs/bin/$name/$(basename "$QTEST_QEMU_BINARY")"
    mkdir -p "$(dirname "$wrapper")"
    cat > "$wrapper" <<EOW
#!/bin/sh
ASAN_OPTIONS="\${ASAN_OPTIONS:-}:detect_leaks=1" exec "$(realpath "$QTEST_QEMU_BINARY")" "\$@"
EOW
    chmod +x "$wrapper"
    export QTEST_QEMU_BINARY=$wrapper
fi

# run PREFIX EXTRA [> OUT]: the program with the options; sets $rc and
# $reports (files holding a report; those with warnings only go).
run() {
    local prefix=$1 extra=$2 r
    rm -f "$prefix".*
    ASAN_OPTIONS="$asan_options:detect_leaks=$prog_leaks$extra:log_path=$prefix" \
    UBSAN_OPTIONS="$ubsan_options:log_path=$prefix" \
        "${cmd[@]}"
    rc=$?
    reports=()
    for r in "$prefix".*; do
        [ -f "$r" ] || continue
        if grep -qE "$report_re" "$r"; then
            reports+=("$r")
        else
            rm -f "$r"
        fi
    done
}

cmd=("$@")
run "$san" ""
[ ${#reports[@]} -eq 0 ] && exit $rc

for r in "${reports[@]}"; do
    echo "# sanitizer report in $r:"
    grep -E '^SUMMARY: |runtime error: ' "$r" | head -n 3 | sed 's/^/#   /'
done
first=$rc
run "$logs/$name-full.san" ":fast_unwind_on_malloc=0" > "$logs/$name-full.log" 2>&1
if [ ${#reports[@]} -gt 0 ]; then
    echo "# whole stacks: $logs/$name-full.san.*"
else
    echo "# (not reproduced by a second run with whole stacks)"
fi
echo "Bail out! sanitizer report (exit status $first)"
exit 1
