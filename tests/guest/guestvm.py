# SPDX-License-Identifier: GPL-2.0-or-later
"""A guest's QEMU, run by QEMU's own Python packages.

start_vm() launches a QEMU with qemu.machine's QEMUMachine (process
control, the QMP connection through qemu.qmp, QEMU's own output kept in a
log file) and a console socket whose lines a thread puts, as they come,
into a queue: (vm, line) per line, (vm, None) when QEMU closed it.  The
packages come from the fetched QEMU tree (build/src/python), not a copy.
"""

import errno
import os
import signal
import sys
import threading
import time

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
for _d in ('src', 'upstream'):
    _p = os.path.join(TOP, 'build', _d, 'python')
    if os.path.isdir(os.path.join(_p, 'qemu', 'machine')):
        sys.path.insert(0, _p)
        break

# pylint: disable=wrong-import-position
from qemu.machine import QEMUMachine             # noqa: E402
from qemu.machine.machine import VMLaunchFailure  # noqa: E402


def _not_yet_executable(exc):
    """A build running at the same time relinks the emulator in place: for
    a moment it cannot be executed (EACCES, ETXTBSY) or is missing."""
    cause = exc.__cause__
    return (isinstance(cause, OSError) and
            cause.errno in (errno.EACCES, errno.ETXTBSY, errno.ENOENT))


def start_vm(cmd, tmpdir, name, lines_q):
    """Launch CMD (binary and arguments, without display or serial
    options: QEMUMachine adds -display none and the console) and follow
    its console into LINES_Q.  Returns the running QEMUMachine."""
    deadline = time.monotonic() + 300
    while True:
        vm = QEMUMachine(cmd[0], args=cmd[1:], name=name,
                         base_temp_dir=tmpdir, log_dir=tmpdir)
        vm.set_console()
        try:
            vm.launch()
            break
        except VMLaunchFailure as e:
            if not _not_yet_executable(e) or time.monotonic() > deadline:
                raise
            time.sleep(1)
    console = vm.console_file

    def read():
        try:
            for raw in console:
                lines_q.put((vm, raw.decode('utf-8', 'replace')
                             .rstrip('\r\n')))
        except (OSError, ValueError):   # closed under us
            pass
        lines_q.put((vm, None))

    threading.Thread(target=read, daemon=True).start()
    return vm


def kill_vm(vm):
    """SIGKILL VM's QEMU (from any thread); its console then ends and the
    owner reaps it with vm.wait()."""
    pid = vm.get_pid()
    if pid:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def finish_vm(vm, timeout=30):
    """Wait for VM's QEMU to exit (it powered off, quit or was killed):
    returns (exit code, QEMU's own output)."""
    try:
        vm.wait(timeout=timeout)
    except Exception:                   # noqa: BLE001 (still reap it)
        vm.shutdown(hard=True)
    return vm.exitcode(), (vm.get_log() or '')
