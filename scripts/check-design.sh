#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# check-design.sh: the layering rules of docs/devel/virtio-mdev-design.rst,
# checked with grep on the source tree.  TAP output, one test per rule.
#   1. The consumers (virtio-mdev transport, vhost-user-mdev export) and
#      the mdev core name no backend.
#   2. Backends include the ops contract only, never the transport.
#   3. Guest memory is reached through vring-dma.c only (directly, or
#      through the shared queue state of mdev-vq.c).
#   4. The engine includes no QOM or hw header but its own.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
n=0
fails=0

# check NAME CMD...: CMD prints offending lines; none means ok.
check() {
    local name=$1 out
    shift
    n=$((n + 1))
    out=$("$@" 2>&1)
    if [ -z "$out" ]; then
        echo "ok $n - $name"
    else
        echo "not ok $n - $name"
        printf '%s\n' "$out" | sed 's/^/# /'
        fails=$((fails + 1))
    fi
}

core_files() {
    ls hw/virtio/virtio-mdev*.c include/hw/virtio/virtio-mdev*.h \
       hw/virtio/vhost-user-mdev*.[ch] \
       hw/vfio/mdev-core.c include/hw/vfio/mdev.h
}

backends() {
    grep -l 'VirtioMdevOps [a-z_]*_virtio_ops' hw/virtio/*.c
}

no_backend_names() {
    # "mvnet", "mvblk", or "net"/"blk" as a word or name part
    # (virtio-mdev-net, VIRTIO_NET_F, net_mac, virtio_blk.h, ...)
    grep -n -i -E 'mvnet|mvblk|(^|[^a-z])(net|blk)([^a-z]|$)' $(core_files)
}

backends_use_contract() {
    local f
    for f in $(backends); do
        grep -n -H -E '#include "hw/virtio/virtio-mdev(-isa|-platform)?\.h"' "$f"
        grep -q '#include "hw/virtio/virtio-mdev-ops.h"' "$f" ||
            echo "$f: does not include hw/virtio/virtio-mdev-ops.h"
    done
}

one_memory_layer() {
    local f
    for f in $(backends); do
        grep -n -H -E 'address_space_(cache|read|write|map)|dma_memory_|MemoryListener|memory_listener_' "$f"
        grep -q -E 'vring_dma_mem_ops|mdev_vq_init' "$f" ||
            echo "$f: reaches its rings neither through mdev-vq nor vring-dma"
    done
}

engine_is_plain() {
    grep -n -H -E '#include "(hw/|qom/|exec/|system/|migration/)' \
        hw/virtio/vring-engine.c hw/virtio/vring-split.c \
        hw/virtio/vring-packed.c hw/virtio/vring-internal.h \
        include/hw/virtio/vring-engine.h |
        grep -v -E '"hw/virtio/vring-engine.h"'
}

at_least_two_backends() {
    [ "$(backends | wc -l)" -ge 2 ] || echo "fewer than two backends found: $(backends)"
}

echo "1..5"
check "consumers and mdev core name no backend" no_backend_names
check "backends include only the ops contract" backends_use_contract
check "backends reach guest memory through vring-dma only" one_memory_layer
check "the ring engine includes no QOM or hw header" engine_is_plain
check "the rules above saw every backend (mvnet, mvblk)" at_least_two_backends
[ "$fails" -eq 0 ]
