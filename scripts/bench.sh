#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# bench.sh: the benchmarks.  Numbers are ratios measured in the same run,
# never asserted by the tests.
#  1. the ring engine against memcpy of the same frames (plain memory);
#  2. guest loopback rates of mvnet against the reference NIC (QEMU's
#     virtio-net on a looped UDP socket) on the same machine, one boot at a
#     time, median of BENCH_ROUNDS (default 3).  Under TCG the guest's own
#     CPU emulation dominates: read the ratio, not the absolute rate.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
echo "== ring engine vs memcpy (${BENCH_SECONDS:-1}s per case)"
"$top/build/qemu/tests/unit/bench-vring-engine" "${BENCH_SECONDS:-1}"
echo "== guest loopback: mvnet vs reference NIC (TCG, ${BENCH_FRAMES:-20000} frames)"
"$top/tests/guest/run.py" --bench "${BENCH_ROUNDS:-3}" \
    --count "${BENCH_FRAMES:-20000}" \
    --filter '/(x86_64-q35|aarch64-virt-dt)$'
