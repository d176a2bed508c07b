#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# our-tests.sh targets|qtests|units BUILDDIR
# Lists the test programs of ours (tests/qtest/*-test.c, tests/unit/test-*.c)
# as ninja targets, or as "arch name" pairs for qtests.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
what=$1
cd "$top"
units=$(ls tests/unit/test-*.c 2>/dev/null | sed 's/\.c$//' || true)
qtests=$(ls tests/qtest/*-test.c 2>/dev/null | sed 's/\.c$//' || true)
case "$what" in
targets) echo $units $qtests ;;
units) for u in $units; do echo "$u"; done ;;
qtests) for q in $qtests; do echo "$q"; done ;;
*) echo "usage: $0 targets|units|qtests BUILDDIR" >&2; exit 2 ;;
esac
