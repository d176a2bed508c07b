#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# prepare.sh ARCH...   (ARCH: x86_64 | aarch64)
#
# Builds what a guest boot needs under build/guest/ARCH/:
#   vmlinuz     the stock Debian 6.1 kernel (linux-image-6.1.0-*-{amd64,arm64})
#   initrd.img  busybox-static, the stock virtio modules of that kernel
#               (virtio_net, virtio_blk and what they need),
#               tests/guest/init and our static loopcheck, coalesce,
#               offloadcheck, features, tcpstream and channels programs
#   info        kernel package and version used
# Debian packages are fetched with 'apt-get download' into the user cache
# (~/.cache/qemu-mdev/guest, or $QEMU_MDEV_CACHE/guest) and reused; nothing is rebuilt when the inputs are unchanged.

set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cache="${QEMU_MDEV_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/qemu-mdev}/guest"
mkdir -p "$cache"

# Guest cases run in parallel, each starting this script: one at a time.
mkdir -p "$top/build/guest"
exec 9> "$top/build/guest/.prepare.lock"
flock 9

# Stock modules a guest needs, in load order; each is skipped when the
# kernel has it built in.
modules="failover net_failover virtio_ring virtio virtio_pci_legacy_dev
         virtio_pci_modern_dev virtio_pci virtio_mmio virtio_net virtio_blk"

die() { echo "prepare: error: $*" >&2; exit 1; }

download() {
    # download PKG: fetch PKG's .deb into the cache unless present.
    local pkg=$1 name=${1%%:*} arch=${1#*:}
    local found
    found=$(ls "$cache"/"${name}"_*_"${arch}".deb 2>/dev/null | head -n 1 || true)
    if [ -z "$found" ]; then
        (cd "$cache" && apt-get -o APT::Sandbox::User=root download "$pkg" >/dev/null 2>&1) ||
            die "apt-get download $pkg failed (run 'apt-get update' as root; for arm64 also 'dpkg --add-architecture arm64')"
        found=$(ls "$cache"/"${name}"_*_"${arch}".deb | head -n 1)
    fi
    echo "$found"
}

prepare() {
    local qarch=$1 darch cc kpkg kdeb bdeb out work kver
    case "$qarch" in
    x86_64) darch=amd64; cc=gcc ;;
    aarch64) darch=arm64; cc=aarch64-linux-gnu-gcc ;;
    *) die "unknown architecture $qarch (x86_64 or aarch64)" ;;
    esac
    command -v "$cc" >/dev/null || die "$cc not found (./configure installs it)"
    out="$top/build/guest/$qarch"
    mkdir -p "$out"

    kpkg=$(apt-cache depends "linux-image-$darch:$darch" 2>/dev/null |
           awk '/Depends: linux-image-6\.1\.0-/ { sub(/:.*/, "", $2); print $2; exit }')
    if [ -z "$kpkg" ]; then
        # No apt lists: fall back to what the cache already holds.
        kpkg=$(ls "$cache" 2>/dev/null | sed -n "s/^\(linux-image-6\.1\.0-[0-9]*-$darch\)_.*_$darch\.deb$/\1/p" | sort -V | tail -n 1)
    fi
    [ -n "$kpkg" ] || die "no linux-image-6.1.0-*-$darch known to apt"
    kdeb=$(download "$kpkg:$darch")
    bdeb=$(download "busybox-static:$darch")

    local inputs sum
    inputs="$kdeb $bdeb $top/tests/guest/init $top/tests/guest/loopcheck.c $top/tests/guest/coalesce.c $top/tests/guest/offloadcheck.c $top/tests/guest/features.c $top/tests/guest/tcpstream.c $top/tests/guest/channels.c $top/tests/guest/ethreq.h $0"
    # shellcheck disable=SC2086
    sum=$(cat $inputs | sha256sum | cut -d' ' -f1)
    if [ "$(cat "$out/.inputs" 2>/dev/null)" = "$sum" ] &&
       [ -f "$out/initrd.img" ] && [ -f "$out/vmlinuz" ]; then
        return 0
    fi

    echo "[guest] building $qarch initramfs from $(basename "$kdeb")"
    work=$(mktemp -d)
    trap 'rm -rf "$work"' RETURN
    dpkg-deb -x "$kdeb" "$work/k"
    dpkg-deb -x "$bdeb" "$work/b"
    kver=$(ls "$work/k/lib/modules" | head -n 1)

    local r="$work/root"
    mkdir -p "$r"/{bin,sbin,proc,sys,dev,lib/modules,tmp,run}
    cp "$work/b/bin/busybox" "$r/bin/busybox"
    cp "$top/tests/guest/init" "$r/init"
    chmod 755 "$r/init"
    "$cc" -static -O2 -Wall -Werror -o "$r/bin/loopcheck" "$top/tests/guest/loopcheck.c"
    "$cc" -static -O2 -Wall -Werror -o "$r/bin/coalesce" "$top/tests/guest/coalesce.c"
    "$cc" -static -O2 -Wall -Werror -o "$r/bin/offloadcheck" "$top/tests/guest/offloadcheck.c"
    "$cc" -static -O2 -Wall -Werror -o "$r/bin/features" "$top/tests/guest/features.c"
    "$cc" -static -O2 -Wall -Werror -o "$r/bin/tcpstream" "$top/tests/guest/tcpstream.c"
    "$cc" -static -O2 -Wall -Werror -o "$r/bin/channels" "$top/tests/guest/channels.c"
    local m f
    : > "$r/lib/modules/order"
    for m in $modules; do
        f=$(find "$work/k/lib/modules/$kver" -name "$m.ko" -o -name "$m.ko.xz" | head -n 1)
        [ -n "$f" ] || continue
        case "$f" in
        *.xz) xz -dc "$f" > "$r/lib/modules/$m.ko" ;;
        *) cp "$f" "$r/lib/modules/$m.ko" ;;
        esac
        echo "$m" >> "$r/lib/modules/order"
    done
    (cd "$r" && find . | cpio -o -H newc --quiet | gzip -1) > "$out/initrd.img"
    cp "$work/k/boot/vmlinuz-$kver" "$out/vmlinuz"
    printf 'package=%s\nkernel=%s\nbusybox=%s\nmodules=%s\n' \
        "$(basename "$kdeb")" "$kver" "$(basename "$bdeb")" \
        "$(tr '\n' ' ' < "$r/lib/modules/order")" > "$out/info"
    echo "$sum" > "$out/.inputs"
}

[ $# -gt 0 ] || set -- x86_64 aarch64
for a in "$@"; do
    prepare "$a"
done
