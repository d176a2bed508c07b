# SPDX-License-Identifier: GPL-2.0-or-later
"""Snapshots and live migrations of a guest while it streams.

A Churn runs one guest in a chain of QEMU processes.  Once begin() is
called it takes the running guest, again and again until end(), through
alternating rounds of
  - savevm, loadvm and delvm of an internal snapshot (HMP, through QMP),
  - live migration to a new QEMU started with '-incoming defer' on the
    same command line and disks, over a unix socket; the source quits
    once the destination runs,
so a guest that streams frames and writes its disk meanwhile must come
out with nothing lost, duplicated or corrupted.  The guest's console is
followed from process to process: lines() yields them in order and ends
when the QEMU then running the guest exits.  Each process is a
QEMUMachine of QEMU's own Python packages (guestvm.py), QMP included.
"""

import os
import queue
import threading
import time

from guestvm import QEMUMachine, finish_vm, kill_vm, start_vm

ROUND_PAUSE = 1.0       # seconds of streaming between rounds
STEP_TIMEOUT = 120      # seconds for one savevm, loadvm or migration


def hmp(vm, command):
    """An HMP command through QMP; its output must be empty (no error)."""
    out = vm.cmd('human-monitor-command', command_line=command)
    if out.strip():
        raise RuntimeError('%s: %s' % (command, out.strip()))


def wait_for(vm, name, key, want, timeout=STEP_TIMEOUT):
    """Poll the QMP query NAME until its KEY is WANT."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        st = vm.cmd(name).get(key)
        if st == want:
            return
        if st == 'failed':
            raise RuntimeError('%s: %s failed' % (name, key))
        time.sleep(0.05)
    raise RuntimeError('%s: %s is not %s after %ds' % (name, key, want,
                                                       timeout))


def make_qcow2(qemu, path, size):
    """Create a qcow2 image with QEMU's own blockdev-create (the build has
    no qemu-img); internal snapshots need one."""
    open(path, 'wb').close()
    vm = QEMUMachine(qemu, args=['-M', 'none', '-nodefaults'],
                     base_temp_dir=os.path.dirname(path))
    vm.launch()
    try:
        vm.cmd('blockdev-add', driver='file', filename=path, node_name='f0')
        vm.cmd('blockdev-create', job_id='c0',
               options={'driver': 'qcow2', 'file': 'f0', 'size': size})
        deadline = time.monotonic() + 60
        while True:
            job = [j for j in vm.cmd('query-jobs') if j['id'] == 'c0'][0]
            if job['status'] == 'concluded':
                break
            if time.monotonic() > deadline:
                raise RuntimeError('blockdev-create did not conclude')
            time.sleep(0.05)
        if 'error' in job:
            raise RuntimeError('blockdev-create: ' + job['error'])
        vm.cmd('job-dismiss', id='c0')
    finally:
        vm.shutdown()


class Churn:
    def __init__(self, cmd, tmpdir, log):
        self.cmd = cmd
        self.tmpdir = tmpdir
        self.log = log                  # log(text): into the case's log
        self.lines_q = queue.Queue()
        self.procs = []                 # QEMUMachines, in order
        self.rounds = []                # 'savevm' or 'migrate', when done
        self.error = None
        self.stopping = threading.Event()
        self.thread = None
        self.cur = self._spawn(incoming=False)

    # ---- processes and their consoles ----

    def _spawn(self, incoming):
        cmd = self.cmd + (['-incoming', 'defer'] if incoming else [])
        vm = start_vm(cmd, self.tmpdir, 'churn%d' % len(self.procs),
                      self.lines_q)
        self.procs.append(vm)
        return vm

    def lines(self):
        """The guest's console, across processes, until its QEMU exits."""
        while True:
            proc, line = self.lines_q.get()
            if line is not None:
                yield line
            elif proc is self.cur:
                return

    def finish(self):
        """Reap every process; returns the exit code and output of the one
        that ran the guest last.  A destination that a round interrupted
        by the guest's end left waiting is killed."""
        for vm in self.procs:
            if vm is not self.cur:
                kill_vm(vm)
                finish_vm(vm)
        return finish_vm(self.cur)

    def kill(self):
        self.stopping.set()
        for vm in self.procs:
            kill_vm(vm)

    # ---- the rounds ----

    def begin(self):
        if not self.thread:
            self.thread = threading.Thread(target=self._run, daemon=True)
            self.thread.start()

    def end(self):
        """Stop after the round under way; True if every round passed."""
        self.stopping.set()
        if self.thread:
            self.thread.join()
        return self.error is None

    def _run(self):
        try:
            while not self.stopping.is_set():
                kind = ('savevm', 'migrate')[len(self.rounds) % 2]
                getattr(self, '_' + kind)(len(self.rounds))
                self.rounds.append(kind)
                self.stopping.wait(ROUND_PAUSE)
        except Exception as e:          # the guest may just have ended
            if not self.stopping.is_set():
                self.error = 'round %d: %s' % (len(self.rounds) + 1, e)
            self.log('# churn stopped: %r' % e)

    def _savevm(self, n):
        tag = 'churn%d' % n
        for c in ('savevm', 'loadvm', 'delvm'):
            t = time.monotonic()
            hmp(self.cur, '%s %s' % (c, tag))
            self.log('# churn: %s %s (%.1fs)' % (c, tag,
                                                time.monotonic() - t))

    def _migrate(self, n):
        src = self.cur
        dst = self._spawn(incoming=True)
        uri = 'unix:' + os.path.join(self.tmpdir, 'churn-mig%d.sock' % n)
        t = time.monotonic()
        dst.cmd('migrate-incoming', uri=uri)
        src.cmd('migrate', uri=uri)
        wait_for(src, 'query-migrate', 'status', 'completed')
        wait_for(dst, 'query-status', 'status', 'running')
        self.cur = dst                  # from now on its console counts
        src.cmd('quit')
        self.log('# churn: migrated to process %d (%.1fs)'
                 % (len(self.procs) - 1, time.monotonic() - t))
