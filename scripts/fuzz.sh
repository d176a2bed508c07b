#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# fuzz.sh [SECONDS]   run each virtio-mdev generic-fuzz config for SECONDS
#
# The configs (patches/0006) drive virtio-mdev-net and virtio-mdev-blk
# through QEMU's generic-fuzz target, built by 'make fuzz' in build/fuzz
# with clang, libFuzzer, ASan and UBSan.  Each config starts from its
# committed seeds (tests/qtest/fuzz-corpus/<config>, written by
# scripts/fuzz-seeds.py) plus what earlier runs found (build/fuzz/corpus),
# the configs run side by side, one per core, and the summary gives
# executions, coverage and findings.  A finding (crash, sanitizer report,
# input running over 10 s, leak) is kept in build/fuzz/findings/<config>/
# and fails the run; replay it with
#   build/fuzz/qemu-fuzz-<arch> --fuzz-target=generic-fuzz-<config> FILE
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
fb="$top/build/fuzz"
secs=${1:-}
configs="x86_64:virtio-mdev-q35 aarch64:virtio-mdev-virt"

if [ -z "$secs" ]; then
    echo "fuzz: built $(cd "$top" && ls build/fuzz/qemu-fuzz-* | tr '\n' ' ')"
    echo "fuzz: run each config with 'make fuzz FUZZ_SECONDS=N'"
    exit 0
fi
case "$secs" in
*[!0-9]*|0) echo "fuzz: FUZZ_SECONDS must be a positive number of seconds, not '$secs'" >&2
    exit 2 ;;
esac

mkdir -p "$top/build/logs/fuzz"
pids=""
for c in $configs; do
    arch=${c%%:*} name=${c#*:}
    work="$fb/corpus/$name" art="$fb/findings/$name"
    mkdir -p "$work" "$art"
    echo "fuzz: $name on qemu-fuzz-$arch for ${secs}s" \
         "(log: build/logs/fuzz/$name.log)"
    "$fb/qemu-fuzz-$arch" --fuzz-target="generic-fuzz-$name" \
        -max_total_time="$secs" -timeout=10 -rss_limit_mb=4096 \
        -print_final_stats=1 -artifact_prefix="$art/" \
        "$work" "$top/tests/qtest/fuzz-corpus/$name" \
        > "$top/build/logs/fuzz/$name.log" 2>&1 &
    pids="$pids $!"
done
status=0
for p in $pids; do
    wait "$p" || status=1
done

for c in $configs; do
    name=${c#*:}
    log="$top/build/logs/fuzz/$name.log"
    stat() { sed -n "s/^stat::$1: *//p" "$log" | tail -n 1; }
    cov=$(grep -Eo 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+' "$log" | tail -n 1)
    found=$(ls "$fb/findings/$name" | wc -l)
    echo "fuzz: $name: $(stat number_of_executed_units) executions" \
         "($(stat average_exec_per_sec)/s), ${cov:-no coverage line}," \
         "$found finding(s)"
    if [ "$found" -gt 0 ]; then
        status=1
        ls "$fb/findings/$name" | sed "s|^|  build/fuzz/findings/$name/|"
        grep -m 3 -E 'ERROR: |SUMMARY: |runtime error' "$log" | sed 's/^/  /' || true
    fi
done
exit $status
