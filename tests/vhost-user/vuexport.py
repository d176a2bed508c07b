# SPDX-License-Identifier: GPL-2.0-or-later
"""The exporting QEMU of the vhost-user tests: -M none, a pure daemon
with one mvnet parent and a vhost-user-mdev export of its mvnet-vhost
type, run by QEMU's own Python packages (tests/guest/guestvm.py)."""

import json
import os
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.abspath(os.path.join(HERE, '..', '..'))
sys.path.insert(0, os.path.join(TOP, 'tests', 'guest'))

from guestvm import QEMUMachine                  # noqa: E402


def default_binary():
    build = os.environ.get('QEMU_MDEV_BUILD',
                           os.path.join(TOP, 'build', 'qemu'))
    return os.path.join(build, 'qemu-system-x86_64')


class Export:
    """A QEMU exporting one mvnet-vhost instance at SOCK."""

    def __init__(self, binary, tmpdir, parent_opts='', trace=(),
                 instance_props=None):
        self.tmpdir = tmpdir
        self.sock = os.path.join(tmpdir, 'mvnet.sock')
        obj = json.dumps({
            'qom-type': 'vhost-user-mdev', 'id': 'e0', 'mdev-parent': 'p0',
            'mdev-type': 'mvnet-vhost', 'instance-props': instance_props or {},
            'addr': {'type': 'unix', 'path': self.sock}})
        self.vm = QEMUMachine(binary, args=[*trace,
            '-M', 'none', '-nodefaults', '-object', 'mvnet,id=p0' + parent_opts,
            '-object', obj], name='export', base_temp_dir=tmpdir,
            log_dir=tmpdir)
        self.vm.launch()

    def qom(self, prop):
        return self.vm.cmd('qom-get', path='/objects/e0', property=prop)

    def instance(self):
        parents = self.vm.cmd('query-mdev')
        return parents[0]['instances'][0]

    def add(self, eid, instance_props):
        """Another export of parent p0, EID, whose instance gets
        INSTANCE_PROPS; returns its socket (object-del EID removes it)."""
        sock = os.path.join(self.tmpdir, eid + '.sock')
        self.vm.cmd('object-add', {
            'qom-type': 'vhost-user-mdev', 'id': eid, 'mdev-parent': 'p0',
            'mdev-type': 'mvnet-vhost', 'instance-props': instance_props,
            'addr': {'type': 'unix', 'path': sock}})
        return sock

    def stats(self, eid):
        """{queue name: packets} of EID's instance (query-mdev)."""
        for parent in self.vm.cmd('query-mdev'):
            for inst in parent['instances']:
                if inst.get('transport') == '/objects/' + eid:
                    return {q['name']: q['packets'] for q in inst['stats']}
        raise AssertionError('no instance exported by ' + eid)

    def wait_disconnected(self, timeout=10):
        deadline = time.monotonic() + timeout
        while self.qom('connected'):
            assert time.monotonic() < deadline, 'the export kept the client'
            time.sleep(0.05)

    def log(self):
        # QEMUMachine reads its log at exit; the file is there meanwhile.
        with open(os.path.join(self.tmpdir, 'export.log'),
                  errors='replace') as f:
            return f.read()

    def finish(self):
        """Shut QEMU down: what went wrong at its end ([] when nothing):
        a non-zero exit, or a sanitizer report in its output."""
        self.vm.shutdown()
        problems = [line for line in self.log().splitlines()
                    if 'Sanitizer' in line or 'runtime error' in line]
        if self.vm.exitcode() not in (0, None):
            problems.append('exported QEMU exited with %s'
                            % self.vm.exitcode())
        return problems


class Skip(Exception):
    """A test case that cannot run here; the message says why."""


def run_tap(tests, binary, prefix):
    """Run TESTS, [(test_NAME, fn(export))], against one exporting QEMU,
    as TAP on stdout, then check that QEMU ends cleanly.  Returns the
    exit status (1 when anything failed)."""
    print('1..%d' % (len(tests) + 1), flush=True)
    failed = 0
    with tempfile.TemporaryDirectory(prefix=prefix) as tmpdir:
        export = Export(binary, tmpdir)
        try:
            for i, (name, fn) in enumerate(tests, 1):
                try:
                    fn(export)
                    export.wait_disconnected()
                    print('ok %d - %s' % (i, name[5:]), flush=True)
                except Skip as e:
                    print('ok %d - %s # SKIP %s' % (i, name[5:], e),
                          flush=True)
                except Exception:              # noqa: BLE001
                    failed += 1
                    print('not ok %d - %s' % (i, name[5:]))
                    for line in traceback.format_exc().splitlines()[-30:]:
                        print('# ' + line)
                    for line in export.log().splitlines()[-5:]:
                        print('# qemu: ' + line)
                    sys.stdout.flush()
        finally:
            problems = export.finish()
        n = len(tests) + 1
        if problems:
            failed += 1
            print('not ok %d - qemu-exit' % n)
            for line in problems[:20]:
                print('# ' + line)
        else:
            print('ok %d - qemu-exit' % n)
    return 1 if failed else 0
