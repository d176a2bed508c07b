#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# bench.sh: the benchmarks (make bench).  Numbers are ratios measured in the
# same run, never asserted by the tests.
#  1. the ring engine against memcpy of the same frames (plain memory);
#  2. guest loopback (tests/guest/bench.py): mvnet, mvnet without adaptive
#     moderation and QEMU's virtio-net, all on virtio-mmio, on arm virt and
#     x86 microvm, BENCH_ROUNDS interleaved rounds (default 5) of
#     BENCH_FRAMES frames per workload (default 4000); then TCP through
#     a tap device in a network namespace of its own, each way
#     (BENCH_TCP_BYTES, default 128 MiB; 0 leaves it out).  Under TCG the
#     guest's own CPU emulation dominates: read the ratios, not the rates;
#  3. the vhost-user export driven by DPDK's testpmd in io mode (no guest,
#     no TCG): Mpps for 64 and 1514-byte frames, split and packed,
#     BENCH_ROUNDS rounds, beside the engine of step 1 (what the vhost-user
#     path costs over the bare engine).
# Results: build/bench/ (table.md, summary.csv, rounds.csv, bench.json,
# bench.png; vhost-user.md and vhost-user.json).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
out="$top/build/bench"

# shellcheck source=scripts/host-deps.sh
. "$top/scripts/host-deps.sh"
host_deps_bench=yes host_deps_install yes

mkdir -p "$out"
echo "== ring engine vs memcpy (${BENCH_SECONDS:-1}s per case)"
"$top/build/qemu/tests/unit/bench-vring-engine" "${BENCH_SECONDS:-1}" |
    tee "$out/engine.txt"
echo "== guest loopback: mvnet vs QEMU's virtio-net (TCG)"
"$top/tests/guest/bench.py" --rounds "${BENCH_ROUNDS:-5}" \
    --count "${BENCH_FRAMES:-4000}" \
    --tcp-bytes "${BENCH_TCP_BYTES:-$((128 << 20))}" --engine "$out/engine.txt" --out "$out"
echo "== vhost-user export: DPDK testpmd io forwarding through mvnet's loopback"
python3 "$top/tests/vhost-user/test-testpmd.py" --bench \
    --rounds "${BENCH_ROUNDS:-5}" --seconds 3 --engine "$out/engine.txt" \
    --out "$out/vhost-user.json" --table "$out/vhost-user.md"
