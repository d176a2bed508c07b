#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# our-tests.sh targets|qtests|units BUILDDIR
# Lists our programs as ninja targets (tests, and tests/unit/bench-*.c),
# or the unit tests (tests/unit/test-*.c) or qtests (tests/qtest/*-test.c).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
what=$1
cd "$top"
units=$(ls tests/unit/test-*.c 2>/dev/null | sed 's/\.c$//' || true)
qtests=$(ls tests/qtest/*-test.c 2>/dev/null | sed 's/\.c$//' || true)
benches=$(ls tests/unit/bench-*.c 2>/dev/null | sed 's/\.c$//' || true)
case "$what" in
targets) echo $units $qtests $benches ;;
units) for u in $units; do echo "$u"; done ;;
qtests) for q in $qtests; do echo "$q"; done ;;
*) echo "usage: $0 targets|units|qtests BUILDDIR" >&2; exit 2 ;;
esac
