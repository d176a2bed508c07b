#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# assemble-tree.sh UPSTREAM SRC
#
# Make SRC = UPSTREAM + patches/*.patch (in order) + our overlay.
#  - SRC is a hard-link copy of the pristine UPSTREAM tree, remade only when
#    the patch series (or upstream) changes; patch(1) writes new files, so the
#    pristine tree is never modified.
#  - Every file of ours under the overlay directories is a symlink in SRC, so
#    editing it and running make rebuilds exactly what depends on it.
#  - An overlay file may not replace an upstream file: upstream files change
#    only through the patch series.
# Cheap enough to run before every build (make does).

set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
upstream=$1
src=$2
overlay_dirs="hw include tests/qtest tests/unit tests/qemu-mdev docs configs qapi"

die() { printf 'assemble-tree: error: %s\n' "$*" >&2; exit 1; }

[ -f "$upstream/VERSION" ] || die "$upstream is not a QEMU tree"

series_sum=$( { cat "$upstream/.qemu-mdev-origin";
                for p in "$top"/patches/*.patch; do
                    if [ -f "$p" ]; then echo "$p"; cat "$p"; fi
                done; } | sha256sum | cut -d' ' -f1)

if [ "$(cat "$src/.qemu-mdev-series" 2>/dev/null)" != "$series_sum" ]; then
    echo "[assemble] building source tree $src from upstream + patch series"
    rm -rf "$src.tmp"
    cp -al "$upstream" "$src.tmp"
    for p in "$top"/patches/*.patch; do
        [ -f "$p" ] || continue
        if ! out=$(patch -d "$src.tmp" -p1 --batch --forward --no-backup-if-mismatch \
                         -r - < "$p" 2>&1); then
            printf '%s\n' "$out" >&2
            rm -rf "$src.tmp"
            die "patch $(basename "$p") does not apply to $(sed -n 's/^upstream-version=//p' "$upstream/.qemu-mdev-origin")"
        fi
        echo "[assemble]   applied $(basename "$p")"
    done
    echo "$series_sum" > "$src.tmp/.qemu-mdev-series"
    if [ -d "$src" ]; then
        # Keep mtimes of unchanged files: move the new tree in place of the
        # old one; unchanged files are the same inodes, so make sees no change.
        rm -rf "$src.old"
        mv "$src" "$src.old"
        mv "$src.tmp" "$src"
        rm -rf "$src.old"
    else
        mv "$src.tmp" "$src"
    fi
fi

# Drop links to overlay files that no longer exist.
find "$src" -type l -lname "$top/*" ! -exec test -e {} \; -print0 2>/dev/null |
    xargs -0 -r rm -f

cd "$top"
for d in $overlay_dirs; do
    [ -d "$d" ] || continue
    while IFS= read -r -d '' f; do
        f=${f#./}
        dst="$src/$f"
        if [ -L "$dst" ]; then
            [ "$(readlink "$dst")" = "$top/$f" ] && continue
        elif [ -e "$dst" ]; then
            die "overlay file $f would replace the upstream file; change upstream files with a patch in patches/"
        fi
        mkdir -p "$(dirname "$dst")"
        ln -sfn "$top/$f" "$dst"
    done < <(find "$d" -type f ! -name '*~' ! -name '.*' -print0)
done
