#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# check.sh [SUITE...]   SUITE: all (the default) design checkpatch docs unit
#                                qtest qos vhost guest commands asan
# Runs our meson test suites (tests/qemu-mdev/meson.build) and ends with one
# line "N passed, N failed" over every test case run (each TAP subtest is
# a case).  Exit status 0 only when nothing failed.
#   design, checkpatch, docs   the layering rules, QEMU's checkpatch.pl, the
#                              manual with Sphinx -W (suites qemu-mdev-NAME)
#   unit, qtest, qos           unit tests, qtests per target, upstream's
#                              qos-test through our libqos nodes
#   vhost                      the vhost-user-mdev export, driven by our
#                              test frontend and by DPDK's testpmd
#   guest                      the guest-boot matrix (qemu-mdev-guest);
#                              GUEST_FILTER=regex selects cases by name
#   commands                   README's and the device page's commands
#   asan                       unit, qtest, qos and vhost in build/asan
#                              (ASan+UBSan)
#   all                        all of the above
# Everything but asan runs in build/qemu, or the build directory
# QEMU_MDEV_BUILD names.  meson's reports, per build directory:
# meson-logs/qemu-mdev.{txt,json,junit.xml}.  Nothing is built here (make
# builds first): meson runs with --no-rebuild.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
qb=$(realpath -m "${QEMU_MDEV_BUILD:-$top/build/qemu}")
asan="$top/build/asan"

suites=" ${*:-all} "
[ "$suites" = " all " ] &&
    suites=" design checkpatch docs unit qtest qos vhost guest commands asan "
for s in $suites; do
    case "$s" in
    design|checkpatch|docs|unit|qtest|qos|vhost|guest|commands|asan) ;;
    *) echo "usage: $0 [all|design|checkpatch|docs|unit|qtest|qos|vhost|guest|commands|asan]..." >&2
       exit 2 ;;
    esac
done
want() { [[ "$suites" == *" $1 "* ]]; }

logbases=()

# mtest DIR LOGBASE TIMEOUT-MULTIPLIER ARGS...: meson test in DIR,
# reports kept as DIR/meson-logs/LOGBASE.*.
mtest() {
    local dir=$1 logbase=$2 mult=$3 meson
    shift 3
    meson="$dir/pyvenv/bin/meson"
    [ -x "$meson" ] || meson=meson
    "$meson" test -C "$dir" --no-rebuild --print-errorlogs \
        --timeout-multiplier "$mult" --logbase "$logbase" "$@"
    logbases+=("$dir/meson-logs/$logbase")
}

args=()
for s in design checkpatch docs unit qtest qos vhost commands; do
    want $s && args+=(--suite "qemu-mdev-$s")
done
if want guest; then
    if [ -n "${GUEST_FILTER:-}" ]; then
        # meson takes test names: those of the cases the regex selects
        mapfile -t names < <("$top/tests/guest/run.py" --list |
                             grep -E -- "$GUEST_FILTER" | sed 's@^@qemu-mdev-@')
        if [ ${#names[@]} -eq 0 ]; then
            echo "check.sh: no guest case matches '$GUEST_FILTER'" >&2
            exit 2
        fi
        mtest "$qb" qemu-mdev-guest 1 "${names[@]}"
    else
        args+=(--suite qemu-mdev-guest)
    fi
fi
[ ${#args[@]} -gt 0 ] && mtest "$qb" qemu-mdev 1 "${args[@]}"

if want asan; then
    if [ ! -x "$asan/qemu-system-aarch64" ]; then
        echo "asan: build/asan is not built (make check-asan builds it)"
        logbases+=("$asan/meson-logs/qemu-mdev-missing")
    else
        # ASan and UBSan make QEMU about twice as slow
        mtest "$asan" qemu-mdev 2 --suite qemu-mdev
    fi
fi

echo
exec "$top/scripts/meson-tally.py" "${logbases[@]}"
