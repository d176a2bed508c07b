#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# check-docs.sh [BUILDDIR]: build QEMU's manual (Sphinx, warnings as
# errors: the build is configured with --enable-werror) and check that our
# pages and our QAPI schema are in it.  TAP output.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
qb=${1:-$top/build/qemu}
m="$qb/docs/manual"
n=0
fails=0

check() {
    local name=$1
    shift
    n=$((n + 1))
    if "$@"; then
        echo "ok $n - $name"
    else
        echo "not ok $n - $name"
        fails=$((fails + 1))
    fi
}

build() {
    local out
    if ! out=$(ninja -C "$qb" sphinxdocs 2>&1); then
        printf '%s\n' "$out" | grep -v '^\[' | sed 's/^/# /'
        return 1
    fi
}

echo "1..6"
check "the manual builds with Sphinx warnings as errors" build
check "system/devices/virtio-mdev.html" test -s "$m/system/devices/virtio-mdev.html"
check "devel/virtio-mdev-design.html" test -s "$m/devel/virtio-mdev-design.html"
check "devel/building.html" test -s "$m/devel/building.html"
check "devel/virtio-mdev-testing.html" test -s "$m/devel/virtio-mdev-testing.html"
check "query-mdev in the QMP reference" \
    grep -q 'query-mdev' "$m/interop/qemu-qmp-ref.html"
[ $fails -eq 0 ]
