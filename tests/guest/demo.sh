#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# demo.sh [aarch64|x86_64]: boot a stock Debian guest with the device, show
# what the guest saw (device id, features, MAC, MTU) and the loopback result.
# Uses virtio-mdev-net when the build has it, else the reference NIC.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
arch=${1:-aarch64}
case "$arch" in
aarch64) setup=aarch64-virt-dt ;;
x86_64) setup=x86_64-q35 ;;
*) echo "demo.sh: unknown architecture '$arch' (aarch64 or x86_64)" >&2; exit 2 ;;
esac
device=reference
if "$top/build/qemu/qemu-system-$arch" -device help 2>/dev/null | grep -q '"virtio-mdev-net"'; then
    device=mdev
fi
exec "$top/tests/guest/run.py" --demo --device "$device" --filter "/$setup\$" --count 2000
