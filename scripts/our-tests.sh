#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# our-tests.sh targets|qtests|units
# Lists our programs (the same for every build directory): as ninja targets
# (the tests, tests/unit/bench-*.c, and upstream's qos-test, which runs
# QEMU's libqos tests through our libqos nodes), or the unit tests
# (tests/unit/test-*.c), or the qtests (tests/qtest/*-test.c).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
what=$1
cd "$top"
units=$(ls tests/unit/test-*.c 2>/dev/null | sed 's/\.c$//' || true)
qtests=$(ls tests/qtest/*-test.c 2>/dev/null | sed 's/\.c$//' || true)
benches=$(ls tests/unit/bench-*.c 2>/dev/null | sed 's/\.c$//' || true)
case "$what" in
targets) echo $units $qtests $benches tests/qtest/qos-test ;;
units) for u in $units; do echo "$u"; done ;;
qtests) for q in $qtests; do echo "$q"; done ;;
*) echo "usage: $0 targets|units|qtests" >&2; exit 2 ;;
esac
