#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# demo.sh [aarch64|x86_64]: boot a stock Debian guest with the devices, show
# what the guest saw and what it checked: the NIC (device id, features, MAC,
# MTU) and its loopback result; the disk (device id, transport, features,
# size) and the write/read-back check of the whole disk.
# Uses virtio-mdev-net and virtio-mdev-blk in one guest when the build has
# both, else the NIC alone (virtio-mdev-net, or else the reference NIC).
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
arch=${1:-aarch64}
case "$arch" in
aarch64) setup=aarch64-virt-dt ;;
x86_64) setup=x86_64-q35 ;;
*) echo "demo.sh: unknown architecture '$arch' (aarch64 or x86_64)" >&2; exit 2 ;;
esac
devices=$("$top/build/qemu/qemu-system-$arch" -device help 2>/dev/null || true)
has() { grep -q "\"$1\"" <<< "$devices"; }
device=reference
case=$setup
if has virtio-mdev-net; then
    device=mdev
    if has virtio-mdev-blk; then
        case=$setup/net-blk
    fi
fi
exec "$top/tests/guest/run.py" --demo --device "$device" --filter "/$case\$" --count 2000
