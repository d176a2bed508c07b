#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""meson-tally.py LOGBASE...: count test cases over meson test runs.

LOGBASE is what 'meson test --logbase' wrote, e.g.
build/qemu/meson-logs/qemu-mdev (.json: one record per meson test;
.junit.xml: one testcase per TAP subtest).  Every subtest is a case; a
meson test without subtests is one.  A test that failed although none of
its subtests did (it crashed, bailed out, timed out or exited non-zero)
counts one failure more.  Prints the failed cases, each with the TAP
diagnostics ("# ..." lines) that follow it in the test's output, so a CI
summary says why, then "N passed, N failed" on the last line (skipped
cases are said before it); exit status 0 iff none failed and something
passed.
"""

import json
import sys
import xml.etree.ElementTree as ET

BAD = {'FAIL', 'ERROR', 'TIMEOUT', 'UNEXPECTEDPASS', 'INTERRUPT'}


def diagnostics(stdout, case, limit=6):
    """The "# ..." lines after the "not ok CASE" line of STDOUT (CASE as
    the junit report names a subtest: "N - name")."""
    out, lines = [], (stdout or '').splitlines()
    head = 'not ok ' + case
    for i, line in enumerate(lines):
        rest = line[len(head):]
        if line.startswith(head) and (not rest.strip() or
                                      rest.startswith(' #')):
            for diag in lines[i + 1:]:
                if not diag.startswith('#') or len(out) == limit:
                    break
                out.append('      ' + diag[:300])
            break
    return out


def tally(logbase):
    """Returns (passed, failed, skipped, lines describing failures)."""
    subtests = {}
    for suite in ET.parse(logbase + '.junit.xml').getroot().iter('testsuite'):
        subtests[suite.get('name')] = suite.findall('testcase')
    passed = failed = skipped = 0
    lines = []
    with open(logbase + '.json') as f:
        tests = [json.loads(line) for line in f if line.strip()]
    for t in tests:
        short = t['name'].split(' / ', 1)[-1]
        cases = subtests.get('qemu.' + t['name'], [])
        bad = 0
        for c in cases:
            if c.find('skipped') is not None:
                skipped += 1
            elif c.find('failure') is not None or c.find('error') is not None:
                bad += 1
                lines.append('  not ok %s: %s' % (short, c.get('name')))
                lines += diagnostics(t.get('stdout'), c.get('name'))
            else:
                passed += 1
        if not cases and t['result'] == 'OK':
            passed += 1
        elif not cases and t['result'] == 'SKIP':
            skipped += 1
        elif t['result'] in BAD and bad == 0:
            bad = 1
            lines.append('  %s %s (exit status %s), log: %s.txt'
                         % (short, t['result'], t['returncode'], logbase))
        failed += bad
    return passed, failed, skipped, lines


def main():
    total = [0, 0, 0]
    for logbase in sys.argv[1:]:
        try:
            p, f, s, lines = tally(logbase)
        except (OSError, ET.ParseError, ValueError) as e:
            p, f, s, lines = 0, 1, 0, ['  %s: no test log (%s)' % (logbase, e)]
        for line in lines:
            print(line)
        total = [total[0] + p, total[1] + f, total[2] + s]
    if total[2]:
        print('(%d skipped: see the logs)' % total[2])
    print('%d passed, %d failed' % (total[0], total[1]))
    return 0 if total[1] == 0 and total[0] > 0 else 1


if __name__ == '__main__':
    sys.exit(main())
