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
when the QEMU then running the guest exits.
"""

import json
import os
import queue
import socket
import subprocess
import threading
import time

ROUND_PAUSE = 1.0       # seconds of streaming between rounds
STEP_TIMEOUT = 120      # seconds for one savevm, loadvm or migration


class QmpError(RuntimeError):
    pass


class Qmp:
    """A small QMP client over a unix socket (events are skipped)."""

    def __init__(self, path, timeout=30):
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.sock.connect(path)
                break
            except OSError:
                self.sock.close()
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        self.file = self.sock.makefile('rw')
        json.loads(self.file.readline())           # greeting
        self.cmd('qmp_capabilities')

    def cmd(self, name, **args):
        self.file.write(json.dumps({'execute': name, 'arguments': args})
                        + '\n')
        self.file.flush()
        while True:
            line = self.file.readline()
            if not line:
                raise QmpError('%s: QEMU closed its monitor' % name)
            r = json.loads(line)
            if 'error' in r:
                raise QmpError('%s: %s' % (name, r['error']['desc']))
            if 'return' in r:
                return r['return']

    def hmp(self, command):
        out = self.cmd('human-monitor-command', **{'command-line': command})
        if out.strip():
            raise QmpError('%s: %s' % (command, out.strip()))

    def wait_for(self, name, key, want, timeout=STEP_TIMEOUT):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            st = self.cmd(name).get(key)
            if st == want:
                return
            if st == 'failed':
                raise QmpError('%s: %s failed' % (name, key))
            time.sleep(0.05)
        raise QmpError('%s: %s is not %s after %ds' % (name, key, want,
                                                       timeout))

    def close(self):
        self.sock.close()


def make_qcow2(qemu, path, size):
    """Create a qcow2 image with QEMU's own blockdev-create (the build has
    no qemu-img); internal snapshots need one."""
    open(path, 'wb').close()
    sock = path + '.qmp'
    proc = subprocess.Popen([qemu, '-M', 'none', '-nodefaults', '-display',
                             'none', '-qmp',
                             'unix:%s,server=on,wait=off' % sock],
                            stdin=subprocess.DEVNULL)
    try:
        q = Qmp(sock)
        q.cmd('blockdev-add', driver='file', filename=path,
              **{'node-name': 'f0'})
        q.cmd('blockdev-create', **{'job-id': 'c0', 'options': {
            'driver': 'qcow2', 'file': 'f0', 'size': size}})
        deadline = time.monotonic() + 60
        while True:
            job = [j for j in q.cmd('query-jobs') if j['id'] == 'c0'][0]
            if job['status'] == 'concluded':
                break
            if time.monotonic() > deadline:
                raise QmpError('blockdev-create did not conclude')
            time.sleep(0.05)
        if 'error' in job:
            raise QmpError('blockdev-create: ' + job['error'])
        q.cmd('job-dismiss', id='c0')
        q.cmd('quit')
        q.close()
    finally:
        proc.wait(timeout=30)
        os.unlink(sock) if os.path.exists(sock) else None


class Churn:
    def __init__(self, cmd, tmpdir, start_qemu, log):
        self.cmd = cmd
        self.tmpdir = tmpdir
        self.start_qemu = start_qemu
        self.log = log                  # log(text): into the case's log
        self.lines_q = queue.Queue()
        self.procs = []
        self.qmps = {}
        self.rounds = []                # 'savevm' or 'migrate', when done
        self.error = None
        self.stopping = threading.Event()
        self.thread = None
        self.cur = self._spawn(incoming=False)

    # ---- processes and their consoles ----

    def _spawn(self, incoming):
        n = len(self.procs)
        sock = os.path.join(self.tmpdir, 'churn-qmp%d.sock' % n)
        cmd = self.cmd + ['-qmp', 'unix:%s,server=on,wait=off' % sock]
        if incoming:
            cmd += ['-incoming', 'defer']
        proc = self.start_qemu(cmd)
        proc.qmp_path = sock
        self.procs.append(proc)
        threading.Thread(target=self._read, args=(proc,),
                         daemon=True).start()
        return proc

    def _read(self, proc):
        for raw in proc.stdout:
            self.lines_q.put((proc, raw.decode('utf-8', 'replace')
                              .rstrip('\r\n')))
        self.lines_q.put((proc, None))

    def _qmp(self, proc):
        if proc not in self.qmps:
            self.qmps[proc] = Qmp(proc.qmp_path)
        return self.qmps[proc]

    def lines(self):
        """The guest's console, across processes, until its QEMU exits."""
        while True:
            proc, line = self.lines_q.get()
            if line is not None:
                yield line
            elif proc is self.cur:
                return

    @property
    def returncode(self):
        return self.cur.wait()

    def kill(self):
        self.stopping.set()
        for p in self.procs:
            p.kill()

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
        q = self._qmp(self.cur)
        tag = 'churn%d' % n
        for c in ('savevm', 'loadvm', 'delvm'):
            t = time.monotonic()
            q.hmp('%s %s' % (c, tag))
            self.log('# churn: %s %s (%.1fs)' % (c, tag,
                                                time.monotonic() - t))

    def _migrate(self, n):
        src = self.cur
        dst = self._spawn(incoming=True)
        qs, qd = self._qmp(src), self._qmp(dst)
        uri = 'unix:' + os.path.join(self.tmpdir, 'churn-mig%d.sock' % n)
        t = time.monotonic()
        qd.cmd('migrate-incoming', uri=uri)
        qs.cmd('migrate', uri=uri)
        qs.wait_for('query-migrate', 'status', 'completed')
        qd.wait_for('query-status', 'status', 'running')
        self.cur = dst                  # from now on its console counts
        qs.cmd('quit')
        src.wait(timeout=30)
        self.log('# churn: migrated to process %d (%.1fs)'
                 % (len(self.procs) - 1, time.monotonic() - t))
