# SPDX-License-Identifier: GPL-2.0-or-later
#
# Host packages for building qemu-mdev and running its guest tests.
# Sourced by ./configure and tests/guest/fetch.sh; defines host_deps_install.
#
# Apt sources: a file of our own, /etc/apt/sources.list.d/qemu-mdev.sources,
# holds bookworm-backports binaries (meson >= 1.5, qemu-system-data 10.0) and
# trixie *source* entries (QEMU 10.0.x source package).  Its URIs and keyring
# are copied from the machine's existing Debian entry, so no host name is
# written into the repository.

qemu_mdev_sources=/etc/apt/sources.list.d/qemu-mdev.sources

# Packages from the machine's default suite.  libasan8 and libubsan1 are
# gcc 12's sanitizer runtimes for the ASan+UBSan build (gcc pulls them in;
# named so that build does not depend on that).  Sphinx and its Read the
# Docs theme build QEMU's manual with our pages (make docs).  ipxe-qemu
# holds the NIC option ROMs (/usr/lib/ipxe/qemu/efi-*.rom) that the default
# NICs of pc, q35 and virt load; libslirp-dev gives those NICs the default
# user-mode network, as in any QEMU, so a command without -nodefaults works.
# dpdk-dev has DPDK's testpmd, the vhost-user frontend make check drives
# the vhost-user-mdev export with.
host_build_pkgs="gcc make pkg-config ninja-build libglib2.0-dev libfdt-dev
    libpixman-1-dev zlib1g-dev flex bison python3-venv dpkg-dev ccache
    seabios qemu-efi-aarch64 ipxe-qemu libslirp-dev xz-utils libasan8
    libubsan1 python3-sphinx python3-sphinx-rtd-theme dpdk-dev"
# Packages needed by the guest tests (cross compiler, initramfs tools,
# Debian's U-Boot for arm virt, which boots from our NIC by DHCP and TFTP,
# and iproute2's ip for the tap cases' network namespace).
host_guest_pkgs="gcc-aarch64-linux-gnu libc6-dev-arm64-cross cpio
    device-tree-compiler acpica-tools u-boot-qemu iproute2"
# Packages for the fuzzing build only (configure --fuzz): clang and its
# libFuzzer runtime, which QEMU's --enable-fuzzing needs.
host_fuzz_pkgs="clang libclang-rt-14-dev"
# Packages for make bench only: gnuplot draws its chart.
host_bench_pkgs="gnuplot-nox"
# Packages that must come from bookworm-backports.
host_backports_pkgs="meson qemu-system-data"

_hd_say() { printf '[deps] %s\n' "$*"; }

# Print "URI KEYRING" of the machine's main Debian archive entry.
_hd_debian_entry() {
    local f uri key
    for f in /etc/apt/sources.list.d/debian.sources /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] || continue
        [ "$f" = "$qemu_mdev_sources" ] && continue
        uri=$(awk '/^URIs:/ { print $2; exit }' "$f")
        key=$(awk '/^Signed-By:/ { print $2; exit }' "$f")
        case "$uri" in */debian|*/debian/) echo "$uri ${key:-/usr/share/keyrings/debian-archive-keyring.gpg}"; return 0 ;; esac
    done
    if [ -f /etc/apt/sources.list ]; then
        uri=$(awk '$1 == "deb" && $2 !~ /^\[/ && $2 ~ /\/debian\/?$/ { print $2; exit }' /etc/apt/sources.list)
        [ -n "$uri" ] && { echo "$uri /usr/share/keyrings/debian-archive-keyring.gpg"; return 0; }
    fi
    return 1
}

_hd_sources_text() {
    local uri key
    read -r uri key < <(_hd_debian_entry) || return 1
    cat <<EOF
# Written by qemu-mdev's configure (scripts/host-deps.sh): build tools from
# bookworm-backports and the QEMU 10.0 source package from trixie.
Types: deb
URIs: $uri
Suites: bookworm-backports
Components: main
Signed-By: $key

Types: deb-src
URIs: $uri
Suites: trixie
Components: main
Signed-By: $key
EOF
}

_hd_missing() {
    local p
    for p in "$@"; do
        dpkg-query -W -f='${db:Status-Status}\n' "$p" 2>/dev/null | grep -qx installed ||
            printf '%s ' "$p"
    done
}

_hd_meson_ok() {
    local v
    v=$(meson --version 2>/dev/null) || return 1
    [ "$(printf '%s\n1.5.0\n' "$v" | sort -V | head -n 1)" = 1.5.0 ]
}

# host_deps_install GUEST(yes|no): install what is missing, or print the
# exact commands and fail when not root.
host_deps_install() {
    local guest=$1 pkgs missing bp_missing need_arch=no text update=no
    pkgs=$host_build_pkgs
    [ "$guest" = yes ] && pkgs="$pkgs $host_guest_pkgs"
    [ "${host_deps_fuzz:-no}" = yes ] && pkgs="$pkgs $host_fuzz_pkgs"
    [ "${host_deps_bench:-no}" = yes ] && pkgs="$pkgs $host_bench_pkgs"
    # shellcheck disable=SC2086
    missing=$(_hd_missing $pkgs)
    bp_missing=""
    _hd_meson_ok || bp_missing="meson "
    [ -f /usr/share/qemu/linuxboot_dma.bin ] || bp_missing="${bp_missing}qemu-system-data"
    if [ "$guest" = yes ] && ! dpkg --print-foreign-architectures | grep -qx arm64; then
        need_arch=yes
    fi
    text=$(_hd_sources_text) || {
        echo "configure: error: no Debian entry found in /etc/apt to derive $qemu_mdev_sources from" >&2
        return 1
    }
    if [ -z "$missing$bp_missing" ] && [ "$need_arch" = no ] &&
       [ "$(cat "$qemu_mdev_sources" 2>/dev/null)" = "$text" ]; then
        _hd_say "host packages present"
        return 0
    fi
    if [ "$(id -u)" != 0 ]; then
        {
            echo "configure: host packages are missing; as root run:"
            echo "  cat > $qemu_mdev_sources <<'EOF'"
            echo "$text"
            echo "EOF"
            [ "$need_arch" = yes ] && echo "  dpkg --add-architecture arm64"
            echo "  apt-get update"
            [ -n "$missing" ] && echo "  apt-get install -y --no-install-recommends $missing"
            [ -n "$bp_missing" ] && echo "  apt-get install -y --no-install-recommends -t bookworm-backports $bp_missing"
            echo "then run ./configure again (or pass --no-install to skip this check)."
        } >&2
        return 1
    fi
    if [ "$(cat "$qemu_mdev_sources" 2>/dev/null)" != "$text" ]; then
        _hd_say "writing $qemu_mdev_sources"
        printf '%s\n' "$text" > "$qemu_mdev_sources"
        update=yes
    fi
    if [ "$need_arch" = yes ]; then
        _hd_say "dpkg --add-architecture arm64 (guest kernel and busybox for aarch64)"
        dpkg --add-architecture arm64
        update=yes
    fi
    [ -n "$missing$bp_missing" ] && update=yes
    if [ "$update" = yes ]; then
        _hd_say "apt-get update"
        apt-get update -qq || { echo "configure: error: apt-get update failed" >&2; return 1; }
    fi
    export DEBIAN_FRONTEND=noninteractive
    if [ -n "$missing" ]; then
        _hd_say "apt-get install $missing"
        # shellcheck disable=SC2086
        apt-get install -y -qq --no-install-recommends $missing >/dev/null ||
            { echo "configure: error: apt-get install $missing failed" >&2; return 1; }
    fi
    if [ -n "$bp_missing" ]; then
        _hd_say "apt-get install -t bookworm-backports $bp_missing"
        # shellcheck disable=SC2086
        apt-get install -y -qq --no-install-recommends -t bookworm-backports $bp_missing >/dev/null ||
            { echo "configure: error: apt-get install $bp_missing failed" >&2; return 1; }
    fi
}
