#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Run every command block of README.md and docs/system/devices/*.rst.

A documented command must not rot: each command block of those pages that
runs QEMU is one TAP test, run as written except for the rules below, which
the pages state where they use them.

Blocks.  In the rst pages, literal blocks (a paragraph ending with "::",
then an indented block; directives such as ".. list-table::" are not
blocks).  In README.md, indented (4 spaces) and fenced code blocks.  A
block is a test when it runs QEMU: a line with "qemu-system-ARCH" (or
"build/qemu/qemu-system-ARCH"), an options-only block (lines starting with
"-object" / "-device"), "(qemu) " monitor lines, or "make demo".

Illustrative blocks.  A marker right before the block (before the
paragraph that ends with "::" in rst) makes it a skipped test:
    rst:       .. illustrative: WHY
    markdown:  <!-- illustrative: WHY -->
The marker is not rendered, so the page's text must itself make clear to
the reader that the block is an illustration.  A marked block is reported
as "ok N - FILE:LINE CMD # SKIP illustrative: WHY", whether or not it runs
QEMU; an unmarked block that does not run QEMU is not a test.

Rules, per command (continuation lines joined, "# comments" dropped):
  * "qemu-system-ARCH" and "build/qemu/qemu-system-ARCH" are
    $QEMU_MDEV_BUILD/qemu-system-ARCH (default <top>/build/qemu).  The
    harness adds a QMP socket of its own to every QEMU; QEMU's stderr must
    stay empty (no error, no warning).
  * "..." stands for the rest of the user's command line: it is replaced by
    "-display none -S".  QEMU must start; query-mdev must show exactly the
    mdev instances the command's -device options (and -nic options with an
    mdev model) create (parent, type, given uuid, and transport
    /machine/peripheral/ID for an id=ID); then
    "quit", and QEMU must exit 0.
  * An options-only block (-object / -device lines) runs the same way on
    "qemu-system-x86_64 -M q35 ..." (the page says q35).
  * "(qemu) CMD" lines run through HMP (QMP human-monitor-command) in a
    QEMU started like an options-only block, with the options of the
    nearest options-only block above on the same page (the page says which
    options it refers to).  No command may answer an error; where the block
    shows the output (the lines after a command, up to the next "(qemu)"),
    the real output must be the same modulo numbers: runs of digits and of
    white space compare equal, line by line.
  * A command with "-kernel vmlinuz -initrd initrd.img" boots a guest.  The
    commands of a block run in a fresh temporary directory, where vmlinuz
    and initrd.img are the stock Debian kernel and the initramfs that
    "tests/guest/prepare.sh ARCH" builds in build/guest/ARCH/ (run here
    first; ARCH from the command).  The initramfs's /init, given no kernel
    parameters, loads the virtio modules, reports eth0 (GUEST-DEVICE ...),
    loops 1000 frames through it (LOOPCHECK ...) and powers the guest off
    (GUEST-DONE rc=N).  The guest must power off in time, QEMU exit 0,
    eth0 must be an mdev device (vendor-id=0x554d4551) and rc=0.  While it
    runs, query-mdev is checked as above.
  * "disk.img" in a command is a 64 MiB raw image of zeros in that
    directory (what "truncate -s 64M disk.img" makes).
  * "make demo ..." runs as written in the repository's top directory,
    with MAKEFLAGS, MFLAGS and MAKELEVEL unset; it must exit 0.  Other make
    targets run the same way, except "make check", which is skipped: it is
    the suite that runs this script.
  * Any other command runs with bash in the block's temporary directory
    and must exit 0.

Output: TAP on stdout ("1..N", then "ok"/"not ok" per block, with "# "
lines giving the failing command and its output); progress on stderr.
Exit status 0 iff every block is ok.

  test-commands.py [--list] [REGEX]    REGEX selects blocks by "FILE:LINE"

Environment: QEMU_MDEV_BUILD (the build directory, default
<top>/build/qemu).  QEMU's python package (qemu.qmp) comes from
<top>/build/src/python.
"""

import glob
import os
import re
import shlex
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field

# The checkout, also when this file is run through a symlink (build/src).
TOP = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.realpath(__file__))))
sys.path.insert(0, os.path.join(TOP, 'build', 'src', 'python'))
# pylint: disable=wrong-import-position
from qemu.qmp.legacy import QEMUMonitorProtocol  # noqa: E402

BUILD = os.path.abspath(os.environ.get('QEMU_MDEV_BUILD') or
                        os.path.join(TOP, 'build', 'qemu'))
PAGES = ['README.md'] + sorted(
    os.path.relpath(p, TOP) for p in
    glob.glob(os.path.join(TOP, 'docs', 'system', 'devices', '*.rst')))

OPTIONS_MACHINE = ['qemu-system-x86_64', '-M', 'q35']
DOTS = ['-display', 'none', '-S']
START_TIMEOUT = 120     # seconds for QEMU to answer QMP (a busy 2-core host)
GUEST_TIMEOUT = 600     # seconds for a guest to boot, check and power off
MAKE_TIMEOUT = 3600     # make demo may have to build first
DISK_SIZE = 64 << 20
MDEV_VENDOR = '0x554d4551'

# -device drivers that create an mdev instance: driver -> (parent, type);
# None: taken from the mdev-parent / mdev-type properties.
MDEV_DEVICES = {
    'virtio-mdev-net': ('mvnet-default', 'mvnet-virtio'),
    'virtio-mdev-blk': ('mvblk-default', 'mvblk-virtio'),
    'virtio-mdev': (None, None),
}

QEMU_RE = re.compile(r'(^|[\s/])qemu-system-[\w]+')
RUNS_QEMU_RE = re.compile(
    r'(^|[\s/])qemu-system-\w+|^\s*-(object|device)\b|^\s*\(qemu\) |'
    r'(^|\s)make\s+demo\b', re.M)


def progress(msg):
    print('[docs] ' + msg, file=sys.stderr, flush=True)


@dataclass
class Block:
    page: str
    line: int                   # line number of the block's first line
    lines: list                 # [(line number, text)], dedented
    marker: str = None          # reason, when marked illustrative
    runs_qemu: bool = False
    options: list = field(default_factory=list)  # options-only: the args

    @property
    def where(self):
        return f'{self.page}:{self.line}'

    @property
    def first(self):
        for _, text in self.lines:
            if text.strip():
                text = text.strip().rstrip('\\').strip()
                if not text.startswith('(qemu)'):
                    text = re.sub(r'\s+#.*', '', text)
                return text
        return ''


class Failure(Exception):
    """A block failed: the message, and the output to show as # lines."""

    def __init__(self, msg, output=''):
        super().__init__(msg)
        self.output = output


# ---------------------------------------------------------------------------
# Extraction
# ---------------------------------------------------------------------------

def indent_of(s):
    return len(s) - len(s.lstrip(' '))


def dedent(lines):
    ind = min((indent_of(t) for _, t in lines if t.strip()), default=0)
    return [(n, t[ind:].rstrip()) for n, t in lines]


def trim_blank(lines):
    while lines and not lines[-1][1].strip():
        lines.pop()
    while lines and not lines[0][1].strip():
        lines.pop(0)
    return lines


def marker_before(text, idx, regex):
    """The reason of an illustrative marker ending right before line idx
    (blank lines between are allowed), or None."""
    i = idx - 1
    while i >= 0 and not text[i].strip():
        i -= 1
    # The marker may span lines: go back to its first line.
    j = i
    while j >= 0 and text[j].strip():
        m = regex.match('\n'.join(text[j:i + 1]))
        if m:
            return ' '.join(m.group(1).split())
        j -= 1
    return None


RST_MARK = re.compile(r'^\.\. illustrative:\s*(.*?)\s*$', re.S)
MD_MARK = re.compile(r'^<!--\s*illustrative:\s*(.*?)\s*-->\s*$', re.S)


def rst_blocks(page, text):
    blocks = []
    n = len(text)
    i = 0
    while i < n:
        line = text[i]
        if not line.rstrip().endswith('::'):
            i += 1
            continue
        # The paragraph this "::" ends.
        start = i
        while start > 0 and text[start - 1].strip():
            start -= 1
        if text[start].lstrip().startswith('..'):
            i += 1      # a directive (list-table, code-block, ...)
            continue
        base = indent_of(text[start])
        j = i + 1
        while j < n and not text[j].strip():
            j += 1
        body = []
        while j < n and (not text[j].strip() or indent_of(text[j]) > base):
            body.append((j + 1, text[j]))
            j += 1
        add_block(blocks, page, body, marker_before(text, start, RST_MARK))
        i = j
    return blocks


def add_block(blocks, page, body, marker):
    """Append the block of BODY's (line number, text) pairs, if any."""
    body = trim_blank(body)
    if body:
        blocks.append(Block(page, body[0][0], dedent(body), marker))


def md_blocks(page, text):
    blocks = []
    n = len(text)
    i = 0
    prev_blank = True
    while i < n:
        line = text[i]
        fence = re.match(r'^\s*(```+|~~~+)', line)
        if fence:
            close = fence.group(1)
            j = i + 1
            body = []
            while j < n and not text[j].strip().startswith(close):
                body.append((j + 1, text[j]))
                j += 1
            add_block(blocks, page, body, marker_before(text, i, MD_MARK))
            i = j + 1
            prev_blank = False
            continue
        if prev_blank and line.strip() and indent_of(line) >= 4:
            j = i
            body = []
            while j < n and (not text[j].strip() or indent_of(text[j]) >= 4):
                body.append((j + 1, text[j]))
                j += 1
            add_block(blocks, page, body, marker_before(text, i, MD_MARK))
            i = j
            prev_blank = False
            continue
        prev_blank = not line.strip()
        i += 1
    return blocks


def extract():
    tests = []
    for page in PAGES:
        with open(os.path.join(TOP, page), encoding='utf-8') as f:
            text = f.read().split('\n')
        found = md_blocks(page, text) if page.endswith('.md') \
            else rst_blocks(page, text)
        for b in found:
            b.runs_qemu = bool(RUNS_QEMU_RE.search(
                '\n'.join(t for _, t in b.lines)))
            if b.runs_qemu or b.marker:
                tests.append(b)
    # Options-only blocks, for the monitor blocks that refer to them.
    for b in tests:
        try:
            cmds = commands(b)
        except Failure:
            continue
        if cmds and all(c[1] == 'options' for c in cmds):
            b.options = [a for c in cmds for a in c[2]]
    return tests


# ---------------------------------------------------------------------------
# Commands of a block
# ---------------------------------------------------------------------------

def commands(block):
    """The block's commands: [(line, kind, data)], kind one of 'monitor'
    (data: (command, expected output lines)), 'options' (args), 'qemu'
    (args), 'make' (args), 'shell' (text)."""
    out = []
    lines = block.lines
    if any(t.startswith('(qemu) ') for _, t in lines):
        cur = None
        for n, t in lines:
            if t.startswith('(qemu) '):
                cur = (n, 'monitor', (t[len('(qemu) '):].strip(), []))
                out.append(cur)
            elif cur is None:
                if t.strip():
                    raise Failure(f'line {n}: text before the first (qemu)')
            else:
                cur[2][1].append(t)
        return out
    k = 0
    while k < len(lines):
        n, t = lines[k]
        text = t
        while text.endswith('\\') and k + 1 < len(lines):
            k += 1
            text = text[:-1] + ' ' + lines[k][1].strip()
        k += 1
        try:
            args = shlex.split(text, comments=True)
        except ValueError as e:
            raise Failure(f'line {n}: {e}') from e
        if not args:
            continue
        if args[0].startswith('-'):
            out.append((n, 'options', args))
        elif args[0] == 'make':
            out.append((n, 'make', args))
        elif QEMU_RE.search(args[0]):
            out.append((n, 'qemu', args))
        else:
            out.append((n, 'shell', text))
    kinds = {c[1] for c in out}
    if 'options' in kinds and kinds != {'options'}:
        raise Failure('a block mixes option lines with commands; continue '
                      'the command with "\\" or make it an options-only block')
    return out


# ---------------------------------------------------------------------------
# Running QEMU
# ---------------------------------------------------------------------------

def qemu_binary(word):
    m = re.fullmatch(r'(?:build/qemu/)?qemu-system-(\w+)', word)
    if not m:
        raise Failure(f'"{word}": only qemu-system-ARCH and '
                      'build/qemu/qemu-system-ARCH are known')
    path = os.path.join(BUILD, 'qemu-system-' + m.group(1))
    if not os.access(path, os.X_OK):
        raise Failure(f'{path} does not exist (build first)')
    return m.group(1), path


def device_props(spec):
    parts = spec.split(',')
    props = {}
    for p in parts[1:]:
        key, _, val = p.partition('=')
        props[key] = val
    return parts[0], props


# -nic models that are an mdev NIC (the board creates it, named by no id)
MDEV_NIC_MODELS = {'virtio-mdev-net': 'virtio-mdev-net',
                   'virtio-mdev': 'virtio-mdev-net'}


def expected_instances(args):
    exp = []
    for i, a in enumerate(args[:-1]):
        if a == '-nic':
            _, props = device_props(args[i + 1])
            model = MDEV_NIC_MODELS.get(props.get('model'))
            if model:
                exp.append(dict(parent=MDEV_DEVICES[model][0],
                                type=MDEV_DEVICES[model][1], uuid=None,
                                id=None))
            continue
        if a != '-device':
            continue
        driver, props = device_props(args[i + 1])
        if driver not in MDEV_DEVICES:
            continue
        parent, mtype = MDEV_DEVICES[driver]
        exp.append(dict(parent=props.get('mdev-parent', parent),
                        type=props.get('mdev-type', mtype),
                        uuid=props.get('uuid'),
                        id=props.get('id')))
    return exp


def check_mdev(qmp, args):
    """query-mdev must list exactly the instances args create."""
    parents = qmp.cmd('query-mdev')
    have = [(p['id'], i) for p in parents for i in p.get('instances', [])]
    want = expected_instances(args)
    missing = []
    for w in want:
        for k, (pid, inst) in enumerate(have):
            if (pid == w['parent'] and inst['type'] == w['type'] and
                    (w['uuid'] in (None, 'auto') or
                     inst['uuid'] == w['uuid']) and
                    (w['id'] is None or
                     inst['transport'] == '/machine/peripheral/' + w['id'])):
                del have[k]
                break
        else:
            missing.append(w)
    if missing or have:
        raise Failure(
            'query-mdev does not show the instances the command creates',
            'expected but missing: %r\nunexpected: %r\nquery-mdev: %r' %
            (missing, have, parents))
    return len(want)


def read(path):
    try:
        with open(path, encoding='utf-8', errors='replace') as f:
            return f.read()
    except FileNotFoundError:
        return ''


class Qemu:
    """One QEMU process with a QMP socket of ours, output in files."""

    def __init__(self, argv, cwd, timeout):
        self.sock = os.path.join(cwd, '.qmp-%d.sock' % id(self))
        self.argv = argv + ['-qmp', f'unix:{self.sock},server=on,wait=off']
        self.out = os.path.join(cwd, '.stdout-%d' % id(self))
        self.err = os.path.join(cwd, '.stderr-%d' % id(self))
        self.timed_out = False
        with open(self.out, 'wb') as o, open(self.err, 'wb') as e:
            # stdin a pipe we never write: -nographic's stdio is a mux.
            self.proc = subprocess.Popen(self.argv, cwd=cwd,
                                         stdin=subprocess.PIPE,
                                         stdout=o, stderr=e)
        self.timer = threading.Timer(timeout, self._kill)
        self.timer.daemon = True
        self.timer.start()
        self.qmp = None

    def _kill(self):
        self.timed_out = True
        self.proc.kill()

    def output(self):
        out = read(self.out)
        err = read(self.err)
        text = ''
        if out:
            text += '--- stdout (last 40 lines)\n' + \
                '\n'.join(out.splitlines()[-40:]) + '\n'
        if err:
            text += '--- stderr\n' + err
        return text

    def fail(self, msg):
        if self.timed_out:
            msg += ' (killed after the time limit)'
        return Failure(msg, self.output())

    def connect(self):
        """Wait for QMP (or QEMU's exit); return False if QEMU exited."""
        while not os.path.exists(self.sock):
            if self.proc.poll() is not None:
                return False
            time.sleep(0.05)
        qmp = QEMUMonitorProtocol(self.sock)
        try:
            qmp.connect(negotiate=True)
        except Exception as e:      # pylint: disable=broad-except
            rc = self.wait()
            raise self.fail(f'QEMU exited with status {rc} before answering '
                            f'QMP ({e})') from e
        qmp.settimeout(START_TIMEOUT)
        self.qmp = qmp
        return True

    def cmd(self, name, **kw):
        try:
            return self.qmp.cmd(name, **kw)
        except Exception as e:      # pylint: disable=broad-except
            self.stop()
            raise self.fail(f'QMP {name}: {e}') from e

    def wait(self):
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        rc = self.proc.wait()
        self.timer.cancel()
        if self.qmp:
            try:
                self.qmp.close()
            except Exception:       # pylint: disable=broad-except
                pass
            self.qmp = None
        return rc

    def quit(self):
        try:
            self.qmp.cmd('quit')
        except Exception:           # pylint: disable=broad-except
            pass                    # QEMU may close the socket first
        return self.wait()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.wait()

    def check_exit(self, rc):
        if rc != 0:
            raise self.fail(f'QEMU exited with status {rc}')
        if read(self.err).strip():
            raise self.fail('QEMU printed on stderr')


def prepare_guest(arch, cwd, prepared):
    if arch not in prepared:
        progress(f'tests/guest/prepare.sh {arch}')
        r = subprocess.run([os.path.join(TOP, 'tests', 'guest', 'prepare.sh'),
                            arch], stdout=sys.stderr, stderr=sys.stderr,
                           check=False)
        if r.returncode != 0:
            raise Failure(f'tests/guest/prepare.sh {arch} failed')
        prepared.add(arch)
    for f in ('vmlinuz', 'initrd.img'):
        dst = os.path.join(cwd, f)
        if not os.path.exists(dst):
            os.symlink(os.path.join(TOP, 'build', 'guest', arch, f), dst)


def fixtures(args, cwd):
    for a in args:
        if re.search(r'(^|,)file=disk\.img(,|$)', a) or a == 'disk.img':
            path = os.path.join(cwd, 'disk.img')
            if not os.path.exists(path):
                with open(path, 'wb') as f:
                    f.truncate(DISK_SIZE)


def run_qemu(args, cwd, prepared, notes):
    arch, binary = qemu_binary(args[0])
    rest = []
    for a in args[1:]:
        rest += DOTS if a == '...' else [a]
    guest = '-kernel' in rest
    fixtures(rest, cwd)
    if guest:
        prepare_guest(arch, cwd, prepared)
    q = Qemu([binary] + rest, cwd, GUEST_TIMEOUT if guest else START_TIMEOUT)
    if not q.connect():
        rc = q.wait()
        if guest or '...' in args:
            raise q.fail(f'QEMU exited ({rc}) before answering QMP')
        q.check_exit(rc)
        notes.append(f'{arch}: exited 0 by itself')
        return
    try:
        n = check_mdev(q.qmp, rest)
    except Failure:
        q.stop()
        raise
    if not guest:
        q.check_exit(q.quit())
        notes.append(f'{arch}: started, {n} mdev instance(s), quit')
        return
    q.qmp.close()
    q.qmp = None
    q.check_exit(q.wait())
    console = read(q.out)
    done = re.search(r'^GUEST-DONE rc=(\d+)', console, re.M)
    dev = re.search(r'^GUEST-DEVICE .*', console, re.M)
    if not done:
        raise q.fail('the guest did not finish (no GUEST-DONE line)')
    if not dev or f'vendor-id={MDEV_VENDOR}' not in dev.group(0):
        raise q.fail("the guest's eth0 is not an mdev NIC")
    if done.group(1) != '0':
        raise q.fail(f'the guest\'s checks failed (rc={done.group(1)})')
    loop = re.search(r'^LOOPCHECK .*', console, re.M)
    notes.append(f'{arch}: guest booted, {n} mdev instance(s); '
                 + dev.group(0))
    if loop:
        notes.append(loop.group(0))


HMP_ERROR = re.compile(r'^(Error|unknown command|Parameter .* missing|'
                       r'Try "help")', re.M)


def norm(lines):
    out = []
    for line in lines:
        line = re.sub(r'\d+', '0', line)
        line = ' '.join(line.split())
        if line:
            out.append(line)
    return out


def run_monitor(block, cmds, options, cwd, notes):
    arch, binary = qemu_binary(OPTIONS_MACHINE[0])
    argv = [binary] + OPTIONS_MACHINE[1:] + DOTS + options
    fixtures(argv, cwd)
    q = Qemu(argv, cwd, START_TIMEOUT)
    if not q.connect():
        raise q.fail(f'QEMU exited ({q.wait()}) before answering QMP')
    for n, _, (cmdline, expected) in cmds:
        out = q.cmd('human-monitor-command', **{'command-line': cmdline})
        if HMP_ERROR.search(out):
            q.stop()
            raise Failure(f'line {n}: (qemu) {cmdline}: an error', out)
        if norm(expected) and norm(expected) != norm(out.splitlines()):
            q.stop()
            raise Failure(f'line {n}: (qemu) {cmdline}: the output differs '
                          'from the page (modulo numbers and spaces)',
                          '--- page\n' + '\n'.join(expected) +
                          '\n--- QEMU\n' + out)
        first = out.strip().split('\n')[0] if out.strip() else '(no output)'
        notes.append(f'(qemu) {cmdline}: ' +
                     ('output matches' if norm(expected) else first))
    q.check_exit(q.quit())
    notes.append(f'{arch} q35 with the options of {block}')


def run_make(args):
    if args[1:2] == ['check']:
        return 'make check: skipped (the suite that runs this script)'
    env = {k: v for k, v in os.environ.items()
           if k not in ('MAKEFLAGS', 'MFLAGS', 'MAKELEVEL')}
    log = tempfile.TemporaryFile()
    try:
        r = subprocess.run(args, cwd=TOP, env=env, stdin=subprocess.DEVNULL,
                           stdout=log, stderr=subprocess.STDOUT,
                           timeout=MAKE_TIMEOUT, check=False)
        rc = r.returncode
    except subprocess.TimeoutExpired:
        rc = 'timeout'
    log.seek(0)
    text = log.read().decode(errors='replace')
    if rc != 0:
        raise Failure(f'{" ".join(args)}: exit status {rc}',
                      '\n'.join(text.splitlines()[-60:]))
    return f'{" ".join(args)}: ok'


def run_shell(text, cwd):
    try:
        r = subprocess.run(['bash', '-euo', 'pipefail', '-c', text],
                           cwd=cwd, stdin=subprocess.DEVNULL,
                           capture_output=True, text=True,
                           timeout=START_TIMEOUT, check=False)
    except subprocess.TimeoutExpired as e:
        raise Failure(f'killed after {START_TIMEOUT} s') from e
    if r.returncode != 0:
        raise Failure(f'exit status {r.returncode}', r.stdout + r.stderr)


def options_block_above(block, tests):
    above = [b for b in tests if b.page == block.page and b.options and
             b.line < block.line]
    if not above:
        raise Failure('no options-only block above on the page')
    return above[-1]


def run_block(block, tests, prepared):
    notes = []
    cmds = commands(block)
    with tempfile.TemporaryDirectory(prefix='qemu-mdev-docs-') as cwd:
        if cmds and cmds[0][1] == 'monitor':
            ref = options_block_above(block, tests)
            run_monitor(ref.where, cmds, ref.options, cwd, notes)
            return notes
        if cmds and all(c[1] == 'options' for c in cmds):
            args = OPTIONS_MACHINE + ['...'] + block.options
            run_qemu(args, cwd, prepared, notes)
            return notes
        for n, kind, data in cmds:
            shown = data if kind == 'shell' else ' '.join(data)
            progress(f'  line {n}: {shown}')
            try:
                if kind == 'qemu':
                    run_qemu(data, cwd, prepared, notes)
                elif kind == 'make':
                    notes.append(run_make(data))
                else:
                    run_shell(data, cwd)
                    notes.append(f'{shown}: ok')
            except Failure as e:
                e.args = (f'line {n}: {shown}\n{e.args[0]}',)
                raise
    return notes


def tap_comment(text):
    for line in text.rstrip('\n').split('\n'):
        print('# ' + line if line else '#')


def main(argv):
    list_only = '--list' in argv
    argv = [a for a in argv if a != '--list']
    if len(argv) > 1 or any(a.startswith('-') for a in argv):
        print(__doc__.strip().split('\n\n')[-2], file=sys.stderr)
        return 2
    tests = extract()
    selected = [b for b in tests if not argv or re.search(argv[0], b.where)]
    if list_only:
        for b in selected:
            print(f'{b.where} {b.first}' +
                  (f'  [illustrative: {b.marker}]' if b.marker else ''))
        return 0
    print(f'1..{len(selected)}', flush=True)
    prepared = set()
    failed = 0
    t_all = time.monotonic()
    for k, b in enumerate(selected, 1):
        # A "#" in a TAP description would start a directive.
        title = f'{b.where} {b.first}'.replace('#', '\\#')
        if b.marker:
            print(f'ok {k} - {title} # SKIP illustrative: {b.marker}',
                  flush=True)
            continue
        progress(f'{b.where}: {b.first}')
        t0 = time.monotonic()
        try:
            notes = run_block(b, tests, prepared)
        except Failure as e:
            failed += 1
            print(f'not ok {k} - {title}')
            tap_comment(str(e))
            if e.output:
                tap_comment(e.output)
            sys.stdout.flush()
            progress(f'{b.where}: FAILED ({time.monotonic() - t0:.0f} s)')
            continue
        print(f'ok {k} - {title}')
        for note in notes:
            tap_comment(note)
        sys.stdout.flush()
        progress(f'{b.where}: ok ({time.monotonic() - t0:.0f} s)')
    progress(f'{len(selected) - failed} of {len(selected)} blocks ok '
             f'in {time.monotonic() - t_all:.0f} s')
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
