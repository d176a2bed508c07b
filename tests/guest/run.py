#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Boot the qemu-mdev guest matrix and check each guest's loopback result.

Every case boots a stock Debian kernel (tests/guest/prepare.sh) under TCG
with one NIC, lets tests/guest/init run loopcheck on it and checks the lines
the guest prints: the NIC's transport was found the expected way (ACPI,
device tree or PCI), by the expected stock driver, and every frame came back
intact and in order.  A boot that does not finish in time is killed and
reported as a failure; every console log is kept under build/logs/guest/.

  run.py [--device reference|mdev|all] [--filter REGEX] [--jobs N]
         [--count N] [--timeout S] [--tally FILE] [--list] [--demo]
"""

import argparse
import concurrent.futures
import errno
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
BUILD = os.path.join(TOP, 'build')
QEMU_BUILD = os.path.join(BUILD, 'qemu')
LOGDIR = os.path.join(BUILD, 'logs', 'guest')
AAVMF_CODE = '/usr/share/AAVMF/AAVMF_CODE.fd'
AAVMF_VARS = '/usr/share/AAVMF/AAVMF_VARS.fd'

# Machine setups: how to boot, and how the guest must find an MMIO NIC.
SETUPS = {
    # microvm has no HPET or PM timer: under host load the guest fails to
    # calibrate its TSC against the PIT and stalls at boot.  With -icount
    # the TSC and the PIT both follow virtual time, so calibration does not
    # depend on the host.  (Guest-side rates are then virtual-time rates.)
    'x86_64-microvm': dict(arch='x86_64', machine='microvm,acpi=on',
                           console='ttyS0', find='acpi',
                           accel=['-icount', 'shift=auto']),
    'x86_64-pc': dict(arch='x86_64', machine='pc', console='ttyS0',
                      find='acpi', pci=True),
    'x86_64-q35': dict(arch='x86_64', machine='q35', console='ttyS0',
                       find='acpi', pci=True),
    'aarch64-virt-dt': dict(arch='aarch64', machine='virt',
                            cpu='cortex-a57', console='ttyAMA0', find='dt'),
    'aarch64-virt-acpi': dict(arch='aarch64', machine='virt',
                              cpu='cortex-a57', console='ttyAMA0',
                              find='acpi', uefi=True),
}

FIND_PATTERNS = {
    'acpi': r'^LNRO0005:[0-9a-f]+$',
    'dt': r'^[0-9a-f]+\.virtio_mmio$',
    'pci': r'^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$',
}


# virtio-net and ring feature bits, for showing what a guest negotiated
FEATURE_NAMES = {
    0: 'CSUM', 1: 'GUEST_CSUM', 2: 'CTRL_GUEST_OFFLOADS', 3: 'MTU', 5: 'MAC',
    7: 'GUEST_TSO4', 8: 'GUEST_TSO6', 9: 'GUEST_ECN', 10: 'GUEST_UFO',
    11: 'HOST_TSO4', 12: 'HOST_TSO6', 13: 'HOST_ECN', 14: 'HOST_UFO',
    15: 'MRG_RXBUF', 16: 'STATUS', 17: 'CTRL_VQ', 18: 'CTRL_RX',
    19: 'CTRL_VLAN', 21: 'GUEST_ANNOUNCE', 22: 'MQ', 23: 'CTRL_MAC_ADDR',
    24: 'NOTIFY_ON_EMPTY', 27: 'ANY_LAYOUT', 28: 'INDIRECT_DESC',
    29: 'EVENT_IDX', 32: 'VERSION_1', 33: 'ACCESS_PLATFORM',
    34: 'RING_PACKED', 35: 'IN_ORDER', 36: 'ORDER_PLATFORM',
}


def feature_names(bits):
    """Names of the set bits of a sysfs features string (bit 0 first)."""
    return ','.join(FEATURE_NAMES.get(i, 'bit%d' % i)
                    for i, c in enumerate(bits) if c == '1')


def demo_line(line):
    """A guest line for people: features by name."""
    if line.startswith('GUEST-DEVICE'):
        kv = parse_kv(line)
        return ('device %s on %s (%s): device id %s, vendor %s\n'
                '          negotiated %s\n          MAC %s, MTU %s'
                % (kv.get('virtio'), kv.get('transport'),
                   kv.get('transport-driver'), kv.get('device-id'),
                   kv.get('vendor-id'), feature_names(kv.get('features', '')),
                   kv.get('mac'), kv.get('mtu')))
    return line


def free_udp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


class Qmp:
    """A minimal QMP client over a unix socket."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(path)
        self.file = self.sock.makefile('rw')
        json.loads(self.file.readline())           # greeting
        self.cmd('qmp_capabilities')

    def cmd(self, name, **args):
        self.file.write(json.dumps({'execute': name, 'arguments': args})
                        + '\n')
        self.file.flush()
        while True:
            r = json.loads(self.file.readline())
            if 'return' in r or 'error' in r:
                return r

    def close(self):
        self.sock.close()


CARRIER_UUID = '6b2e6a1c-1b2c-4d1e-9a51-0e3f0000ca11'


class Case:
    """One guest boot: a machine setup, a NIC variant and guest options."""

    def __init__(self, device, setup, variant='', props='', guest_opts=None,
                 count=None, legacy=False, carrier=False, features_off=()):
        self.device = device
        self.setup_name = setup
        self.setup = SETUPS[setup]
        self.variant = variant
        self.props = props
        self.guest_opts = dict(guest_opts or {})
        self.count = count
        self.legacy = legacy
        self.carrier = carrier
        self.features_off = features_off
        if carrier:
            self.props = ','.join(filter(None, [props,
                                                'uuid=' + CARRIER_UUID]))
            self.guest_opts['lc_carrier'] = 1
        self.name = 'guest/%s/%s%s' % (device, setup,
                                       '/' + variant if variant else '')

    def nic_args(self):
        """QEMU arguments for the NIC and the transport it must be found on."""
        if self.device == 'reference':
            port = free_udp_port()
            netdev = ('socket,id=n0,udp=127.0.0.1:%d,localaddr=127.0.0.1:%d'
                      % (port, port))
            if self.setup.get('pci'):
                dev = 'virtio-net-pci,netdev=n0,romfile='
                return ['-netdev', netdev, '-device', dev], 'pci', 'virtio-pci'
            dev = 'virtio-net-device,netdev=n0'
            return (['-netdev', netdev, '-device', dev], self.setup['find'],
                    'virtio-mmio')
        dev = 'virtio-mdev-net' + (',' + self.props if self.props else '')
        return ['-device', dev], self.setup['find'], 'virtio-mmio'

    def command(self, tmpdir, count):
        s = self.setup
        guest = os.path.join(BUILD, 'guest', s['arch'])
        qemu = os.path.join(QEMU_BUILD, 'qemu-system-' + s['arch'])
        append = ['console=' + s['console'], 'panic=-1', 'loglevel=4',
                  'lc_count=%d' % count]
        append += ['%s=%s' % kv for kv in sorted(self.guest_opts.items())]
        cmd = [qemu, '-accel', 'tcg', '-M', s['machine'], '-m', '512',
               '-smp', '1', '-nodefaults', '-no-reboot', '-display', 'none',
               '-serial', 'stdio',
               '-kernel', os.path.join(guest, 'vmlinuz'),
               '-initrd', os.path.join(guest, 'initrd.img')]
        if 'cpu' in s:
            cmd += ['-cpu', s['cpu']]
        cmd += s.get('accel', [])
        if s.get('uefi'):
            code = os.path.join(BUILD, 'guest', 'AAVMF_CODE.fd')
            if not os.path.exists(code):
                shutil.copyfile(AAVMF_CODE, code + '.tmp')
                with open(code + '.tmp', 'r+b') as f:
                    f.truncate(64 << 20)
                os.rename(code + '.tmp', code)
            nvram = os.path.join(tmpdir, 'vars.fd')
            shutil.copyfile(AAVMF_VARS, nvram)
            with open(nvram, 'r+b') as f:
                f.truncate(64 << 20)
            cmd += ['-drive', 'if=pflash,format=raw,readonly=on,file=' + code,
                    '-drive', 'if=pflash,format=raw,file=' + nvram]
            append.append('acpi=force')
        nic, find, driver = self.nic_args()
        cmd += nic
        if self.carrier:
            cmd += ['-qmp', 'unix:%s,server=on,wait=off'
                    % os.path.join(tmpdir, 'qmp.sock')]
        cmd += ['-append', ' '.join(append)]
        return cmd, find, driver


def set_link(tmpdir, up, logf):
    """Toggle the carrier-case NIC's link through QMP (mvnet's 'link')."""
    qmp = Qmp(os.path.join(tmpdir, 'qmp.sock'))
    r = qmp.cmd('qom-set', path='/objects/mvnet-default/' + CARRIER_UUID,
                property='link', value=up)
    qmp.close()
    logf.write('# qom-set link %s: %s\n' % (up, json.dumps(r)))


def parse_kv(line):
    return dict(w.split('=', 1) for w in line.split()[1:] if '=' in w)


def start_qemu(cmd):
    """Start CMD.  A build running at the same time relinks the emulator
    in place: for a moment it cannot be executed (EACCES, ETXTBSY) or is
    missing.  Wait for it rather than lose the whole matrix."""
    deadline = time.monotonic() + 300
    while True:
        try:
            return subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                    stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT)
        except OSError as e:
            if (e.errno not in (errno.EACCES, errno.ETXTBSY, errno.ENOENT)
                    or time.monotonic() > deadline):
                raise
            time.sleep(1)


def run_case(case, args, echo=None):
    """Boot CASE; returns (ok, summary, log path)."""
    os.makedirs(LOGDIR, exist_ok=True)
    log = os.path.join(LOGDIR, case.name[len('guest/'):].replace('/', '_')
                       + '.log')
    count = case.count or args.count
    with tempfile.TemporaryDirectory() as tmpdir:
        cmd, find, driver = case.command(tmpdir, count)
        start = time.monotonic()
        lines = []
        with open(log, 'w') as logf:
            logf.write('# ' + ' '.join(cmd) + '\n')
            logf.flush()
            proc = start_qemu(cmd)
            killed = threading.Event()

            def kill():
                killed.set()
                proc.kill()

            timer = threading.Timer(args.timeout, kill)
            timer.start()
            try:
                for raw in proc.stdout:
                    line = raw.decode('utf-8', 'replace').rstrip('\r\n')
                    logf.write(line + '\n')
                    lines.append(line)
                    if line.startswith('GUEST-CARRIER-WAIT '):
                        set_link(tmpdir, line.endswith('up'), logf)
                    if echo and (line.startswith(('GUEST-', 'LOOPCHECK'))):
                        echo(line)
                proc.wait()
            finally:
                timer.cancel()
            timed_out = killed.is_set()
        secs = time.monotonic() - start

    def first(prefix):
        for line in lines:
            if line.startswith(prefix):
                return line
        return None

    errors = []
    if timed_out:
        errors.append('timed out after %ds' % args.timeout)
    dev = first('GUEST-DEVICE')
    res = first('LOOPCHECK')
    done = first('GUEST-DONE')
    err = first('GUEST-ERROR')
    if err:
        errors.append(err)
    if not dev:
        errors.append('guest saw no NIC')
    else:
        kv = parse_kv(dev)
        if not re.match(FIND_PATTERNS[find], kv.get('transport', '')):
            errors.append('NIC on %s, expected %s discovery'
                          % (kv.get('transport'), find))
        if kv.get('transport-driver') != driver:
            errors.append('transport driver %s, expected %s'
                          % (kv.get('transport-driver'), driver))
        if kv.get('device-id') != '0x0001':
            errors.append('device id %s, expected 0x0001'
                          % kv.get('device-id'))
        # features: one character per bit; bit 32 is VERSION_1.
        feats = kv.get('features', '')
        modern = len(feats) > 32 and feats[32] == '1'
        if case.device == 'mdev' and modern == case.legacy:
            errors.append('driver negotiated %s, expected %s'
                          % ('VERSION_1' if modern else 'legacy',
                             'legacy' if case.legacy else 'VERSION_1'))
        # bit 34 is RING_PACKED: on by default, off with packed=off
        packed = len(feats) > 34 and feats[34] == '1'
        want_packed = (case.device == 'mdev' and not case.legacy and
                       'packed=off' not in case.props)
        if case.device == 'mdev' and packed != want_packed:
            errors.append('ring layout %s, expected %s'
                          % ('packed' if packed else 'split',
                             'packed' if want_packed else 'split'))
        on = [b for b in case.features_off if len(feats) > b and feats[b] == '1']
        if on:
            errors.append('features %s negotiated although switched off' % on)
        mtu = str(case.guest_opts.get('lc_mtu', 1500))
        if kv.get('mtu') != mtu:
            errors.append('MTU %s, expected %s' % (kv.get('mtu'), mtu))
    if case.carrier:
        seen = [line.split()[-1] for line in lines
                if line.startswith('GUEST-CARRIER-SEEN')]
        if seen != ['0', '1']:
            errors.append('carrier seen by the guest: %s, expected down '
                          'then up' % (seen or 'nothing'))
    if not res:
        errors.append('no loopcheck result')
    else:
        kv = parse_kv(res)
        want = {'sent': str(count), 'intact': str(count), 'corrupted': '0',
                'lost': '0', 'reordered': '0', 'duplicate': '0'}
        bad = ['%s=%s' % (k, kv.get(k)) for k in want if kv.get(k) != want[k]]
        if bad:
            errors.append('loopback: ' + ' '.join(bad))
    if not done:
        errors.append('guest did not finish')
    elif 'rc=0' not in done:
        errors.append(done)
    if proc.returncode not in (0, None) and not timed_out:
        errors.append('qemu exited with %d' % proc.returncode)

    if errors:
        return False, '; '.join(errors), log, secs
    kv = parse_kv(res)
    return True, ('frames=%s fps=%s mbps=%s' % (kv['sent'], kv['fps'],
                                                 kv['mbps'])), log, secs


def bench(cases, args):
    """Median frames/s per case, one boot at a time, and ratios."""
    rates = {}
    for rnd in range(args.bench):
        for c in cases:
            ok, summary, log, secs = run_case(c, args)
            if not ok:
                print('bench: %s failed: %s' % (c.name, summary))
                return 1
            fps = float(summary.split('fps=')[1].split()[0])
            rates.setdefault((c.device, c.setup_name, c.variant), []).append(
                fps)
    medians = {k: sorted(v)[len(v) // 2] for k, v in rates.items()}
    for (device, setup, variant), fps in sorted(medians.items()):
        line = 'BENCH guest=%s device=%s%s frames=%d fps=%.0f' % (
            setup, device, '/' + variant if variant else '', args.count, fps)
        ref = medians.get(('reference', setup, ''))
        if device == 'mdev' and ref:
            line += ' ratio_to_reference=%.2f' % (fps / ref)
        print(line)
    return 0


def all_cases():
    cases = [Case('reference', s) for s in SETUPS]
    mdev = os.path.join(QEMU_BUILD, 'qemu-system-x86_64')
    if has_device(mdev, 'virtio-mdev-net'):
        cases += [Case('mdev', s) for s in SETUPS]
        cases += [
            Case('mdev', 'x86_64-q35', 'legacy', 'legacy=on', legacy=True),
            Case('mdev', 'aarch64-virt-dt', 'legacy', 'legacy=on',
                 legacy=True),
            # jumbo frames: the guest posts mergeable receive buffers
            Case('mdev', 'x86_64-pc', 'mtu9000', 'mtu=9000',
                 {'lc_mtu': 9000}),
            Case('mdev', 'aarch64-virt-dt', 'mtu9000', 'mtu=9000',
                 {'lc_mtu': 9000}),
            Case('mdev', 'aarch64-virt-dt', 'carrier', carrier=True),
            # split rings (packed is the default)
            Case('mdev', 'x86_64-q35', 'split', 'packed=off'),
            Case('mdev', 'aarch64-virt-dt', 'split', 'packed=off'),
            Case('mdev', 'aarch64-virt-dt', 'split-mtu9000',
                 'packed=off,mtu=9000', {'lc_mtu': 9000}),
            # every switchable feature off: a minimal driver still works
            # (bits: STATUS 16, CTRL_VQ 17, MRG_RXBUF 15, INDIRECT 28,
            # EVENT_IDX 29)
            Case('mdev', 'x86_64-microvm', 'minimal',
                 'mrg-rxbuf=off,event-idx=off,indirect-desc=off,status=off,'
                 'ctrl-vq=off,packed=off',
                 features_off=(15, 16, 17, 28, 29, 34)),
            Case('mdev', 'x86_64-q35', 'carrier', carrier=True),
        ]
    return cases


_device_cache = {}


def has_device(qemu, name):
    if (qemu, name) not in _device_cache:
        try:
            out = subprocess.run([qemu, '-device', 'help'],
                                 capture_output=True, text=True).stdout
        except OSError:
            out = ''
        _device_cache[(qemu, name)] = ('"%s"' % name) in out
    return _device_cache[(qemu, name)]


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--device', default='all',
                   choices=['reference', 'mdev', 'all'])
    p.add_argument('--filter', default='', help='regex on case names')
    p.add_argument('--jobs', type=int, default=os.cpu_count() or 1)
    p.add_argument('--count', type=int, default=2000,
                   help='frames per loopback run')
    p.add_argument('--timeout', type=int, default=240)
    p.add_argument('--tally', help='write "passed failed" to this file')
    p.add_argument('--list', action='store_true')
    p.add_argument('--bench', type=int, metavar='ROUNDS',
                   help='benchmark: boot each selected case ROUNDS times, '
                        'one at a time, and print the median guest-side '
                        'rate and the mdev/reference ratio per machine')
    p.add_argument('--demo', action='store_true',
                   help='run the first selected case and show what the '
                        'guest saw')
    args = p.parse_args()

    cases = [c for c in all_cases()
             if (args.device == 'all' or c.device == args.device)
             and re.search(args.filter, c.name)]
    if args.list:
        for c in cases:
            print(c.name)
        return 0
    if not cases:
        print('run.py: no case matches', file=sys.stderr)
        return 2
    arches = sorted({c.setup['arch'] for c in cases})
    subprocess.run([os.path.join(TOP, 'tests', 'guest', 'prepare.sh')]
                   + arches, check=True)

    if args.demo:
        c = cases[0]
        print('demo: booting %s (stock Debian kernel %s) with: %s'
              % (c.setup_name, open(os.path.join(
                  BUILD, 'guest', c.setup['arch'], 'info')).read().split(
                  'kernel=')[1].split()[0], ' '.join(c.nic_args()[0])))
        ok, summary, log, secs = run_case(
            c, args,
            echo=lambda line: print('  guest> ' + demo_line(line), flush=True))
        print('demo: %s in %.1fs: %s (console log: %s)'
              % ('PASS' if ok else 'FAIL', secs, summary,
                 os.path.relpath(log, TOP)))
        return 0 if ok else 1

    if args.bench:
        return bench(cases, args)

    passed = failed = 0
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as ex:
        futs = {ex.submit(run_case, c, args): c for c in cases}
        for fut in concurrent.futures.as_completed(futs):
            c = futs[fut]
            try:
                ok, summary, log, secs = fut.result()
            except Exception as e:      # one case, not the whole matrix
                ok, summary, log, secs = (False, 'runner error: %r' % e,
                                          LOGDIR, 0.0)
            if ok:
                passed += 1
                print('ok   %-40s %5.1fs  %s' % (c.name, secs, summary),
                      flush=True)
            else:
                failed += 1
                print('FAIL %-40s %5.1fs  %s (log: %s)'
                      % (c.name, secs, summary, os.path.relpath(log, TOP)),
                      flush=True)
    print('guest: %d passed, %d failed' % (passed, failed))
    if args.tally:
        with open(args.tally, 'w') as f:
            f.write('%d %d\n' % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == '__main__':
    sys.exit(main())
