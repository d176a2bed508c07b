#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# qos-paths.sh QOS_TEST: QEMU's own libqos tests (virtio-blk-test, ...) run
# unchanged against our devices.  Upstream's qos-test lists every graph
# path to a test (-l); ours are those through a virtio-mdev-* node.  Each
# runs in its own process (a failed assertion ends a qos-test process),
# through san-run.sh.  TAP: one test per path.  QTEST_QEMU_BINARY names
# the emulator, as for any qtest.
#
# Upstream tests that cannot apply to our devices (the graph cannot leave
# out one test of an interface that a node produces):
#  - virtio-blk resize waits for a used-buffer interrupt after
#    block_resize; it passes on QEMU's own devices only because their
#    config change sets both InterruptStatus bits (virtio_notify_config
#    sets ISR 0x3).  Our transport sets just the config bit, as the
#    virtio-mmio spec says and virtio-mdev-test checks.
#  - virtio-net large_tx/uint_max transmits one chain of 65 buffers of
#    64 MiB, 4.06 GiB in all: longer than a driver may make a chain (2^32
#    bytes, virtio 1.2 2.7.5.2).  QEMU's virtio-net drops it and completes
#    it; our ring engine treats it as a ring violation (LOG_GUEST_ERROR,
#    DEVICE_NEEDS_RESET, no used entry), as the engine's unit test
#    chain-length-overflow checks.  large_tx/net_bufsize (a chain under the limit, longer than
#    any frame) runs and passes.
#  - vhost-user-test (built since configure enables vhost-user) attaches
#    every virtio-net node to a -netdev vhost-user and waits for QEMU's
#    vhost-user frontend to send it the guest's memory.  Only a NIC whose
#    rings a vhost backend runs has that frontend (virtio-net's vhost_net);
#    mvnet runs its rings itself and takes frames from the net layer, so
#    no memory table ever comes.  mvnet's own vhost-user side is the other
#    direction, the vhost-user-mdev export, tested by tests/vhost-user/.
set -uo pipefail
here=$(dirname "$(realpath "$0")")
qos=$1
skip="virtio-mdev-blk.virtio-blk-tests.resize virtio-mdev-net.large_tx.uint_max"
logs=${QEMU_MDEV_LOGS:-$PWD/meson-logs/qemu-mdev}
out="$logs/qos"
mkdir -p "$out"

if ! list=$(ASAN_OPTIONS="detect_leaks=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}" \
            "$qos" -l 2>&1); then
    echo "Bail out! $qos -l failed: $(head -n 3 <<< "$list")"
    exit 1
fi
mapfile -t paths < <(grep '^/.*/virtio-mdev-[^/]*/' <<< "$list")
if [ ${#paths[@]} -eq 0 ]; then
    echo "Bail out! no qos-test path goes through our nodes"
    exit 1
fi

echo "1..${#paths[@]}"
n=0
fails=0
for p in "${paths[@]}"; do
    n=$((n + 1))
    # .../virtio-mdev-blk/virtio-blk/virtio-blk-tests/basic ->
    # virtio-mdev-blk.virtio-blk-tests.basic
    t=$(sed -E 's@.*/(virtio-mdev-[^/]*)/.*/([^/]+)/([^/]+)$@\1.\2.\3@' <<< "$p")
    if [[ " $skip " == *" $t "* || "$p" == */virtio-net-tests/vhost-user/* ]]; then
        echo "ok $n - $t # SKIP does not apply (see qos-paths.sh)"
        continue
    fi
    "$here/san-run.sh" --no-program-leaks "qos-$t" "$qos" --tap -k -p "$p" \
        > "$out/$t.tap" 2>&1
    rc=$?
    if [ $rc -eq 0 ] && grep -q '^ok ' "$out/$t.tap" &&
       ! grep -qE '^(not ok|Bail out!)' "$out/$t.tap"; then
        echo "ok $n - $t"
    else
        echo "not ok $n - $t (exit status $rc)"
        sed 's/^/# /' "$out/$t.tap" | tail -n 30
        fails=$((fails + 1))
    fi
done
[ $fails -eq 0 ]
