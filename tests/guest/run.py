#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Boot the qemu-mdev guest matrix and check each guest's loopback result.

Every case boots a stock Debian kernel (tests/guest/prepare.sh) under TCG
with a NIC, a disk or both, lets tests/guest/init check them and checks the
lines the guest prints: each device's transport was found the expected way
(ACPI, device tree or PCI), by the expected stock driver; every frame came
back intact and in order; the pattern written over the disk read back
intact from the device and, once the guest is off, is in the image file
byte for byte (a read-only disk: the write failed, the image is unchanged).
A boot that does not finish in time is killed and reported as a failure;
every console log is kept under build/logs/guest/.

  run.py [--device reference|mdev|all] [--filter REGEX] [--case NAME]...
         [--jobs N] [--count N] [--timeout S] [--tally FILE] [--tap]
         [--list] [--demo]

meson runs each case as a test of the qemu-mdev-guest suite
(tests/qemu-mdev/meson.build): run.py --tap --case NAME.
"""

import argparse
import concurrent.futures
import functools
import hashlib
import http.server
import json
import queue
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

from churn import Churn, make_qcow2
from guestvm import finish_vm, kill_vm, start_vm
import tcphost
from uboot import run_uboot
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                '..', 'vhost-user'))
import vuexport                                  # noqa: E402

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


# Feature bits, for showing what a guest negotiated: bits 0-23 belong to
# the device type, 24 and up to the rings and the transport (all types).
RING_FEATURE_NAMES = {
    24: 'NOTIFY_ON_EMPTY', 27: 'ANY_LAYOUT', 28: 'INDIRECT_DESC',
    29: 'EVENT_IDX', 32: 'VERSION_1', 33: 'ACCESS_PLATFORM',
    34: 'RING_PACKED', 35: 'IN_ORDER', 36: 'ORDER_PLATFORM',
    37: 'SR_IOV', 38: 'NOTIFICATION_DATA', 40: 'RING_RESET',
}
DEVICE_FEATURE_NAMES = {
    1: {    # virtio-net
        0: 'CSUM', 1: 'GUEST_CSUM', 2: 'CTRL_GUEST_OFFLOADS', 3: 'MTU',
        5: 'MAC', 7: 'GUEST_TSO4', 8: 'GUEST_TSO6', 9: 'GUEST_ECN',
        10: 'GUEST_UFO', 11: 'HOST_TSO4', 12: 'HOST_TSO6', 13: 'HOST_ECN',
        14: 'HOST_UFO', 15: 'MRG_RXBUF', 16: 'STATUS', 17: 'CTRL_VQ',
        18: 'CTRL_RX', 19: 'CTRL_VLAN', 21: 'GUEST_ANNOUNCE', 22: 'MQ',
        23: 'CTRL_MAC_ADDR',
    },
    2: {    # virtio-blk
        0: 'BARRIER', 1: 'SIZE_MAX', 2: 'SEG_MAX', 4: 'GEOMETRY', 5: 'RO',
        6: 'BLK_SIZE', 7: 'SCSI', 9: 'FLUSH', 10: 'TOPOLOGY',
        11: 'CONFIG_WCE', 12: 'MQ', 13: 'DISCARD', 14: 'WRITE_ZEROES',
        15: 'LIFETIME', 16: 'SECURE_ERASE',
    },
}

VIRTIO_ID_NET = 1
VIRTIO_ID_BLOCK = 2


def feature_bit(name, device_id):
    """The bit of feature NAME (from the tables above) of a device of
    DEVICE_ID."""
    for table in (RING_FEATURE_NAMES, DEVICE_FEATURE_NAMES[device_id]):
        for bit, n in table.items():
            if n == name:
                return bit
    raise KeyError(name)


def net_bits(*names):
    return tuple(feature_bit(n, VIRTIO_ID_NET) for n in names)


# virtio-blk feature bits the runner checks
BLK_F_RO = feature_bit('RO', VIRTIO_ID_BLOCK)
BLK_F_FLUSH = feature_bit('FLUSH', VIRTIO_ID_BLOCK)
F_VERSION_1 = feature_bit('VERSION_1', VIRTIO_ID_BLOCK)
F_RING_PACKED = feature_bit('RING_PACKED', VIRTIO_ID_BLOCK)


def feature_name(bit, device_id):
    """The name of feature BIT of a device of DEVICE_ID (virtio device ids:
    1 net, 2 block)."""
    if bit in RING_FEATURE_NAMES:
        return RING_FEATURE_NAMES[bit]
    return DEVICE_FEATURE_NAMES.get(device_id, {}).get(bit, 'bit%d' % bit)


def feature_names(bits, device_id):
    """Names of the set bits of a sysfs features string (bit 0 first)."""
    return ','.join(feature_name(i, device_id)
                    for i, c in enumerate(bits) if c == '1')


def device_id(kv):
    try:
        return int(kv.get('device-id', ''), 0)
    except ValueError:
        return None


def demo_line(line):
    """A guest line for people: features by name."""
    if line.startswith('GUEST-DEVICE '):
        kv = parse_kv(line)
        return ('NIC %s on %s (%s): device id %s, vendor %s\n'
                '          negotiated %s\n          MAC %s, MTU %s'
                % (kv.get('virtio'), kv.get('transport'),
                   kv.get('transport-driver'), kv.get('device-id'),
                   kv.get('vendor-id'),
                   feature_names(kv.get('features', ''), device_id(kv)),
                   kv.get('mac'), kv.get('mtu')))
    if line.startswith('GUEST-DISK '):
        kv = parse_kv(line)
        sectors = int(kv.get('sectors', '0'))
        return ('disk vda %s on %s (%s): device id %s, vendor %s\n'
                '          negotiated %s\n'
                '          %d sectors (%g MiB), %s-byte blocks, read-only %s, '
                'cache %s'
                % (kv.get('virtio'), kv.get('transport'),
                   kv.get('transport-driver'), kv.get('device-id'),
                   kv.get('vendor-id'),
                   feature_names(kv.get('features', ''), device_id(kv)),
                   sectors, sectors * 512 / (1 << 20), kv.get('block-size'),
                   kv.get('ro'), kv.get('cache', '').replace('-', ' ')))
    if line.startswith('GUEST-DISKCHECK '):
        kv = parse_kv(line)
        return ('disk check (%s): write %s, read back from the device %s '
                '(%s sectors read, %s written, %s flushes) in %ss'
                % (kv.get('mode'), kv.get('write'), kv.get('readback'),
                   kv.get('read-sectors'), kv.get('written-sectors'),
                   kv.get('flushes'), kv.get('secs')))
    return line


# The disk pattern, as tests/guest/init's pattern() writes it: 4 KiB blocks
# of 64 lines of 64 bytes: block number (12 digits), '.', line number (2
# digits), ' ', 47 fixed letters, newline.
PATTERN_BLOCK = 4096
PATTERN_TEXT = b'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTU\n'
PATTERN_LINES = [b'.%02d ' % i + PATTERN_TEXT for i in range(64)]


def disk_pattern(first, count):
    """The pattern bytes of COUNT blocks from block FIRST."""
    return b''.join(b''.join(b'%012d' % b + line for line in PATTERN_LINES)
                    for b in range(first, first + count))


def write_pattern(path, size):
    blocks = size // PATTERN_BLOCK
    with open(path, 'wb') as f:
        for first in range(0, blocks, 256):
            f.write(disk_pattern(first, min(256, blocks - first)))


def compare_pattern(path, size):
    """None when the file at PATH is the pattern over SIZE bytes, else what
    differs."""
    actual = os.path.getsize(path)
    if actual != size:
        return 'image is %d bytes, expected %d' % (actual, size)
    blocks = size // PATTERN_BLOCK
    bad = []
    first_bad = None
    with open(path, 'rb') as f:
        for first in range(0, blocks, 256):
            want = disk_pattern(first, min(256, blocks - first))
            got = f.read(len(want))
            if got == want:
                continue
            for b in range(0, len(want), PATTERN_BLOCK):
                if got[b:b + PATTERN_BLOCK] != want[b:b + PATTERN_BLOCK]:
                    bad.append(first + b // PATTERN_BLOCK)
            if first_bad is None:
                off = next(i for i in range(len(want)) if got[i] != want[i])
                first_bad = (first * PATTERN_BLOCK + off,
                             got[off // 64 * 64:off // 64 * 64 + 16])
    if not bad:
        return None
    return ('image differs from the pattern from byte %d (its line starts '
            '%r); %d of its %d 4 KiB blocks differ, blocks %d to %d'
            % (first_bad[0], first_bad[1], len(bad), blocks, bad[0], bad[-1]))


def free_udp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


CARRIER_UUID = '6b2e6a1c-1b2c-4d1e-9a51-0e3f0000ca11'

# Size of the disk cases' image file (a raw image in the case's temp dir)
DISK_SIZE = 32 << 20
# Frames a churn case loops: enough for rounds while they stream
CHURN_FRAMES = 30000
# Bytes of a tap case's TCP stream, each way, and the guest's streams
# (tests/guest/init: lc_tcp; bench.py receives without checking, as iperf3)
TCP_BYTES = 32 << 20
TCP_DIRS = ('send', 'recv')


class Case:
    """One guest boot: a machine setup, a NIC variant and guest options,
    and/or a disk: BLK is None (no disk), 'rw' or 'ro' (readonly=on); NET
    False boots without a NIC.  CHURN: while the guest streams, savevm/
    loadvm and live-migrate it, round after round (churn.py); its disk is
    then a qcow2 image (internal snapshots)."""

    def __init__(self, device, setup, variant='', props='', guest_opts=None,
                 count=None, legacy=False, carrier=False, features_off=(),
                 net=True, blk=None, blk_props='', churn=False,
                 netdev=False, pair=None, link=None, uboot=False, smp=1):
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
        self.net = net
        self.blk = blk
        self.blk_props = blk_props
        self.churn = churn
        self.netdev = netdev
        self.pair = pair        # (link kind, the other guest's device)
        self.link = link        # -netdev options of n0 (a pair's side)
        self.uboot = uboot      # U-Boot instead of Linux (uboot.py)
        self.smp = smp          # guest CPUs
        if not net:
            self.guest_opts['lc_net'] = 0
        if blk:
            self.guest_opts['lc_blk'] = blk
        if carrier:
            self.props = ','.join(filter(None, [props,
                                                'uuid=' + CARRIER_UUID]))
            self.guest_opts['lc_carrier'] = 1
        self.name = 'guest/%s/%s%s' % (device, setup,
                                       '/' + variant if variant else '')

    def nic_args(self):
        """QEMU arguments for the NIC and the transport it must be found on."""
        port = free_udp_port()
        netdev = self.link or ('socket,id=n0,udp=127.0.0.1:%d,'
                               'localaddr=127.0.0.1:%d' % (port, port))
        if self.netdev == 'tap':
            # in the case's own network namespace (tcphost.py)
            netdev = ('tap,id=n0,ifname=%s,script=no,downscript=no'
                      % tcphost.TAP_IF)
        if self.device == 'reference':
            if self.setup.get('pci'):
                dev = 'virtio-net-pci,netdev=n0,romfile='
                return ['-netdev', netdev, '-device', dev], 'pci', 'virtio-pci'
            dev = 'virtio-net-device,netdev=n0'
            return (['-netdev', netdev, '-device', dev], self.setup['find'],
                    'virtio-mmio')
        if self.netdev == 'vhost-user':
            return self.vhost_user_nic_args()
        dev = 'virtio-mdev-net' + (',' + self.props if self.props else '')
        if self.netdev == 'user':
            # QEMU's user networking: DHCP, and the host's loopback
            return (['-netdev', 'user,id=n0', '-device', dev + ',netdev=n0'],
                    self.setup['find'], 'virtio-mmio')
        if self.netdev or self.link:
            # through QEMU's net layer: a UDP socket looped to itself, or
            # a pair's link
            return (['-netdev', netdev, '-device', dev + ',netdev=n0'],
                    self.setup['find'], 'virtio-mmio')
        return ['-device', dev], self.setup['find'], 'virtio-mmio'

    def vhost_user_nic_args(self):
        """QEMU's own virtio-net as the vhost-user frontend of the export
        run_vhost_user() started (an mvnet-vhost instance): the guest's
        RAM is shared memory, which the export maps."""
        pci = self.setup.get('pci')
        dev = ('virtio-net-pci,romfile=' if pci else 'virtio-net-device')
        dev += ',netdev=n0' + (',' + self.props if self.props else '')
        pairs = int(self.guest_opts.get('lc_mq', 1))
        args = ['-object', 'memory-backend-memfd,id=ram,size=512M,share=on',
                '-machine', 'memory-backend=ram',
                '-chardev', 'socket,id=c0,path=' + self.vu_sock,
                '-netdev', 'vhost-user,id=n0,chardev=c0,queues=%d' % pairs,
                '-device', dev]
        if pci:
            return args, 'pci', 'virtio-pci'
        # libvhost-user takes VERSION_1 drivers only
        args += ['-global', 'virtio-mmio.force-legacy=false']
        return args, self.setup['find'], 'virtio-mmio'

    def disk_args(self, image):
        """QEMU arguments for the disk on IMAGE (always virtio-mdev-blk, so
        always found as an MMIO transport)."""
        drive = 'if=none,id=d0,file=%s,format=%s' % (
            image, 'qcow2' if self.churn else 'raw')
        if self.blk == 'ro':
            drive += ',readonly=on'
        dev = 'virtio-mdev-blk,drive=d0' + (',' + self.blk_props
                                            if self.blk_props else '')
        return ['-drive', drive, '-device', dev]

    def device_args(self, tmpdir):
        """QEMU arguments for every device of the case."""
        args = self.nic_args()[0] if self.net else []
        if self.blk:
            args += self.disk_args(os.path.join(tmpdir, 'disk.img'))
        return args

    def command(self, tmpdir, count, extra_opts=None):
        s = self.setup
        guest = os.path.join(BUILD, 'guest', s['arch'])
        qemu = os.path.join(QEMU_BUILD, 'qemu-system-' + s['arch'])
        append = ['console=' + s['console'], 'panic=-1', 'loglevel=4',
                  'lc_count=%d' % count]
        opts = dict(self.guest_opts, **(extra_opts or {}))
        append += ['%s=%s' % kv for kv in sorted(opts.items())]
        cmd = [qemu, '-accel', 'tcg', '-M', s['machine'], '-m', '512',
               '-smp', str(self.smp), '-nodefaults', '-no-reboot',
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
        if self.net:
            nic, find, driver = self.nic_args()
            cmd += nic
        else:
            find, driver = self.setup['find'], 'virtio-mmio'
        if self.blk:
            cmd += self.disk_args(os.path.join(tmpdir, 'disk.img'))
        cmd += ['-append', ' '.join(append)]
        return cmd, find, driver


def set_link(vm, up, logf):
    """Toggle the carrier-case NIC's link through QMP (mvnet's 'link')."""
    r = vm.cmd('qom-set', path='/objects/mvnet-default/' + CARRIER_UUID,
               property='link', value=up)
    logf.write('# qom-set link %s: %s\n' % (up, json.dumps(r)))


def parse_kv(line):
    return dict(w.split('=', 1) for w in line.split()[1:] if '=' in w)


def check_nic(case, lines, dev, res, find, driver, count, loop=True):
    """What is wrong with the NIC lines of a guest (LOOP: and its loopback
    result)."""
    errors = []
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
        if case.netdev == 'vhost-user':
            # QEMU's virtio-net decides, with its own packed= (off)
            want_packed = 'packed=on' in case.props
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
    if not loop:
        pass
    elif not res:
        errors.append('no loopcheck result')
    else:
        kv = parse_kv(res)
        want = {'sent': str(count), 'intact': str(count), 'corrupted': '0',
                'lost': '0', 'reordered': '0', 'duplicate': '0'}
        bad = ['%s=%s' % (k, kv.get(k)) for k in want if kv.get(k) != want[k]]
        if bad:
            errors.append('loopback: ' + ' '.join(bad))
    return errors


class BlobServer:
    """An HTTP server on the host's loopback with one random file, which
    a guest on -netdev user reaches at 10.0.2.2 (slirp's host address)."""

    def __init__(self, tmpdir, size=1 << 20):
        blob = os.urandom(size)
        self.sha256 = hashlib.sha256(blob).hexdigest()
        self.size = size
        with open(os.path.join(tmpdir, 'blob'), 'wb') as f:
            f.write(blob)
        handler = functools.partial(QuietHandler, directory=tmpdir)
        self.httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0),
                                                     handler)
        self.guest_url = '10.0.2.2:%d/blob' % self.httpd.server_port
        threading.Thread(target=self.httpd.serve_forever,
                         daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def check_fetch(server, dhcp, fetch):
    """What is wrong with a guest's DHCP lease and download."""
    if not dhcp:
        return ['no DHCP lease']
    errors = []
    if not parse_kv(dhcp).get('ip', '').startswith('10.0.2.'):
        errors.append('lease %s, expected 10.0.2.x from -netdev user' % dhcp)
    kv = parse_kv(fetch) if fetch else {}
    if kv.get('sha256') != server.sha256:
        errors.append('fetched %s bytes with sha256 %s, expected %d bytes '
                      'with %s' % (kv.get('bytes'), kv.get('sha256'),
                                   server.size, server.sha256))
    return errors


def check_coal(case, coal, irqs):
    """What is wrong with the coalescing a guest set (lc_coal: ethtool -C
    through the control queue, NOTF_COAL) and read back."""
    want = dict(zip(('rx-usecs', 'rx-frames', 'tx-usecs', 'tx-frames'),
                    case.guest_opts['lc_coal'].split(',')))
    if not coal:
        return ['the guest did not set interrupt coalescing']
    kv = parse_kv(coal)
    bad = ['%s=%s' % (k, kv.get(k)) for k in want if kv.get(k) != want[k]]
    errors = ['coalescing read back %s, set %s' % (' '.join(bad), want)
              ] if bad else []
    if not irqs:
        errors.append('no interrupt count from the guest')
    return errors


def check_mq(case, lines, count):
    """What is wrong with a multiqueue case (lc_mq=N): the guest set N
    queue pairs (ethtool -L), N loopcheck streams ran at once, each intact,
    and each queue pair carried its stream's frames (ethtool -S)."""
    pairs = int(case.guest_opts['lc_mq'])
    errors = []
    ch = next((l for l in lines if l.startswith('GUEST-CHANNELS')), None)
    kv = parse_kv(ch) if ch else {}
    if kv.get('combined') != str(pairs) or kv.get('max') != str(pairs):
        errors.append('channels: %s, expected combined=%d max=%d'
                      % (ch, pairs, pairs))
    streams = {}
    for line in lines:
        if line.startswith('LOOPCHECK'):
            kv = parse_kv(line)
            streams[kv.get('stream')] = kv
    for i in range(pairs):
        kv = streams.get(str(i))
        if not kv:
            errors.append('no loopcheck result of stream %d' % i)
        elif kv.get('intact') != str(count) or kv.get('lost') != '0' or \
                kv.get('reordered') != '0':
            errors.append('stream %d: intact=%s lost=%s reordered=%s'
                          % (i, kv.get('intact'), kv.get('lost'),
                             kv.get('reordered')))
    qs = next((l for l in lines if l.startswith('GUEST-QSTATS')), None)
    kv = parse_kv(qs) if qs else {}
    for i in range(pairs):
        for d in ('rx', 'tx'):
            key = '%s_queue_%d_packets' % (d, i)
            if int(kv.get(key, '0')) < count:
                errors.append('%s=%s, expected at least %d'
                              % (key, kv.get(key), count))
    return errors


def check_rss(case, lines):
    """What is wrong with an RSS case (lc_rss=N): for each of queues 0 and
    1 the guest sent N frames of a UDP flow its own RSS key and table map
    there (ethtool -X); that queue must have received them all, the other
    none of them."""
    count = int(case.guest_opts['lc_rss'])
    errors = []
    for q in range(2):
        line = next((l for l in lines if l.startswith('GUEST-RSS ') and
                     parse_kv(l).get('queue') == str(q)), None)
        if not line:
            errors.append('no RSS result for queue %d' % q)
            continue
        kv = parse_kv(line)
        got = [int(kv.get('rx%d' % i, '+0')[1:]) for i in range(2)]
        if got[q] < count or got[1 - q] >= count:
            errors.append('RSS flow for queue %d: rx0=+%d rx1=+%d of %d '
                          'frames' % (q, got[0], got[1], count))
    return errors


def check_hash(case, res):
    """What is wrong with a hash report case (lc_hash=N): the guest sent N
    frames of a UDP flow; all must have come back, each with the flow's
    Toeplitz hash under the guest's key in its skb (the device's report)."""
    count = case.guest_opts['lc_hash']
    if not res:
        return ['no hash report result']
    kv = parse_kv(res)
    if kv.get('seen') != str(count) or kv.get('hashed') != str(count):
        return ['hash report: ' + res]
    return []


def check_offload(case, res):
    """What is wrong with offloadcheck's result (lc_offload)."""
    if not res:
        return ['offloadcheck did not report']
    kv = parse_kv(res)
    if kv.get('expect') != case.guest_opts['lc_offload'] or \
            kv.get('intact') != kv.get('sent') or kv.get('sent') in (None, '0'):
        return ['offloadcheck: ' + res]
    return []


def tcp_frames(lines):
    """{direction: (frames, mean frame bytes)} on eth0 while each of the
    guest's TCP streams ran (GUEST-TCP-STATS before/after, lc_tcp)."""
    stats = {}
    for line in lines:
        if line.startswith('GUEST-TCP-STATS '):
            stats[line.split()[1]] = parse_kv(line)
    out = {}
    for d, key in (('send', 'tx'), ('recv', 'rx')):
        a, b = stats.get('before-' + d), stats.get('after-' + d)
        if a and b:
            frames = int(b[key + '-packets']) - int(a[key + '-packets'])
            nbytes = int(b[key + '-bytes']) - int(a[key + '-bytes'])
            out[d] = (frames, nbytes / frames if frames else 0)
    return out


def check_tcp(lines, tapnet):
    """What is wrong with a tap case's TCP streams (lc_tcp): both ends
    must have all of each stream intact, and the streams must have gone
    as TSO frames (a mean frame beyond one 1514-byte frame): the NIC's
    offloads worked through the tap device."""
    errors = []
    res = {parse_kv(line)['mode']: parse_kv(line) for line in lines
           if line.startswith('TCPSTREAM ')}
    want = str(tapnet.nbytes)
    for d in tapnet.dirs:
        kv = res.get(d.split('-')[0])
        intact = 'unchecked' if d.endswith('-nocheck') else 'yes'
        if not kv or kv['bytes'] != want or kv['intact'] != intact:
            errors.append('guest %s: %s' % (d, kv or 'no TCPSTREAM line'))
    if not tapnet.received or tapnet.received[:2] != (tapnet.nbytes, True):
        errors.append('host received (bytes, intact, secs) %s of %d'
                      % (tapnet.received, tapnet.nbytes))
    if not tapnet.sent or tapnet.sent[0] != tapnet.nbytes or tapnet.sent[2]:
        errors.append('host sent (bytes, secs, error) %s' % (tapnet.sent,))
    for d, (frames, mean) in tcp_frames(lines).items():
        if mean <= 1514:
            errors.append('%s: %d frames of %.0f bytes: no TSO'
                          % (d, frames, mean))
    return errors


def tcp_summary(lines):
    """Mbit/s and mean frame size of each of a tap case's streams."""
    frames = tcp_frames(lines)
    out = []
    for line in lines:
        if line.startswith('TCPSTREAM '):
            kv = parse_kv(line)
            d = kv['mode']
            out.append('%s=%sMbit/s(%d frames of %.0f B)'
                       % (d, kv['mbps'], *frames.get(d, (0, 0))))
    return 'tcp ' + ' '.join(out)


def check_features(case, res):
    """What is wrong with the offload features a guest set (lc_features:
    ethtool -K) and read back."""
    if not res:
        return ['the guest did not set its offload features']
    kv = parse_kv(res)
    want = dict(f.split('=') for f in case.guest_opts['lc_features'].split(','))
    bad = ['%s=%s' % (k, kv.get(k)) for k in want if kv.get(k) != want[k]]
    return ['features read back %s, set %s' % (' '.join(bad), want)
            ] if bad else []


def check_disk(case, disk, res, find, driver):
    """What is wrong with the disk lines of a guest (GUEST-DISK and
    GUEST-DISKCHECK)."""
    errors = []
    sectors = DISK_SIZE // 512
    ro = case.blk == 'ro'
    if not disk:
        errors.append('guest saw no disk')
    else:
        kv = parse_kv(disk)
        if not re.match(FIND_PATTERNS[find], kv.get('transport', '')):
            errors.append('disk on %s, expected %s discovery'
                          % (kv.get('transport'), find))
        if kv.get('transport-driver') != driver:
            errors.append('disk transport driver %s, expected %s'
                          % (kv.get('transport-driver'), driver))
        if kv.get('device-id') != '0x0002':
            errors.append('disk device id %s, expected 0x0002'
                          % kv.get('device-id'))
        feats = kv.get('features', '')

        def has(bit):
            return len(feats) > bit and feats[bit] == '1'
        # FLUSH: sync must reach the device (nothing to flush when ro)
        want = {F_VERSION_1: True, BLK_F_RO: ro,
                F_RING_PACKED: 'packed=off' not in case.blk_props}
        if not ro:
            want[BLK_F_FLUSH] = True
        bad = ['%s%s' % ('' if on else 'no ', feature_name(bit, VIRTIO_ID_BLOCK))
               for bit, on in sorted(want.items()) if has(bit) != on]
        if bad:
            errors.append('disk features: expected %s (negotiated %s)'
                          % (', '.join(bad), feature_names(feats, VIRTIO_ID_BLOCK)))
        if kv.get('sectors') != str(sectors):
            errors.append('disk has %s sectors, expected %d'
                          % (kv.get('sectors'), sectors))
        if kv.get('ro') != ('1' if ro else '0'):
            errors.append('disk ro=%s, expected %d' % (kv.get('ro'), ro))
    if not res:
        errors.append('no disk check result')
        return errors
    kv = parse_kv(res)
    want = {'write': 'refused' if ro else 'ok', 'readback': 'intact'}
    bad = ['%s=%s' % (k, kv.get(k)) for k in want if kv.get(k) != want[k]]
    if bad:
        errors.append('disk: ' + ' '.join(bad))

    def num(key):
        try:
            return int(kv.get(key, ''))
        except ValueError:
            return -1
    # the read-back must have come from the device, not the page cache
    if num('read-sectors') < sectors:
        errors.append('disk: read back %s sectors from the device, '
                      'expected %d' % (kv.get('read-sectors'), sectors))
    if ro and num('written-sectors') != 0:
        errors.append('disk: %s sectors written to a read-only disk'
                      % kv.get('written-sectors'))
    if not ro and num('written-sectors') < sectors:
        errors.append('disk: %s sectors written, expected %d'
                      % (kv.get('written-sectors'), sectors))
    if not ro and num('flushes') < 1:
        errors.append('disk: no flush reached the device')
    return errors


# A churn case must take the streaming guest through at least this many
# rounds (savevm/loadvm and live migration alternate).
CHURN_MIN_ROUNDS = 4


def churn_starts(case, line):
    """Rounds start when traffic does: loopback once the carrier is up, or
    the disk check."""
    return line.startswith('GUEST-CARRIER 1' if case.net else 'GUEST-DISK ')


def churn_ends(case, line):
    """... and end when the guest's last check reports."""
    return line.startswith('GUEST-DISKCHECK ' if case.blk else 'LOOPCHECK')


def run_case(case, args, echo=None, hook=None):
    """Boot CASE; returns (ok, summary, log path, seconds), ok None when
    the case cannot run here (summary says why).  ECHO(line) sees the
    guest's report lines, HOOK(vm, line) every console line as it comes."""
    if case.netdev == 'vhost-user':
        return run_vhost_user(case, args, echo, hook)
    if case.netdev == 'tap':
        why = tcphost.available()
        if why:
            return None, why, LOGDIR, 0.0
        with tcphost.TapNet(TCP_BYTES, TCP_DIRS) as tapnet:
            return _run_case(case, args, echo, hook, tapnet)
    return _run_case(case, args, echo, hook)


def run_vhost_user(case, args, echo=None, hook=None):
    """A vhost-user case: one exporting QEMU (-M none, an mvnet-vhost
    instance behind vhost-user-mdev) and two guests in turn, the second
    started once the first's QEMU has gone: the frontend restarts and the
    export must serve it again, through a reset device."""
    with tempfile.TemporaryDirectory() as tmpdir:
        pairs = int(case.guest_opts.get('lc_mq', 1))
        export = vuexport.Export(os.path.join(QEMU_BUILD,
                                              'qemu-system-x86_64'), tmpdir,
                                 trace=('-trace', 'vhost_user_mdev*'),
                                 instance_props={'queues': pairs})
        try:
            case.vu_sock = export.sock
            summaries, secs = [], 0.0
            for boot in (1, 2):
                ok, summary, log, t = _run_case(case, args, echo, hook)
                secs += t
                if not ok:
                    with open(log, 'a') as logf:
                        logf.write('# exporting QEMU:\n' + export.log())
                    return ok, 'boot %d: %s' % (boot, summary), log, secs
                summaries.append('boot %d: %s' % (boot, summary))
                export.wait_disconnected()
            sessions = export.qom('sessions')
            errors = [line for line in export.log().splitlines()
                      if 'closing the connection' in line or
                      'vu_panic' in line]
        finally:
            export.vm.shutdown()
    if errors or sessions != 2:
        return False, 'export: %d sessions; %s' % (sessions,
                                                   '; '.join(errors)), log, secs
    return True, ' '.join(summaries) + ' export-sessions=2', log, secs


def _run_case(case, args, echo=None, hook=None, tapnet=None):
    if case.pair:
        return run_pair(case, args)
    if case.uboot:
        os.makedirs(LOGDIR, exist_ok=True)
        log = os.path.join(LOGDIR, case.name[len('guest/'):]
                           .replace('/', '_') + '.log')
        start = time.monotonic()
        with tempfile.TemporaryDirectory() as tmpdir:
            ok, summary = run_uboot(
                os.path.join(QEMU_BUILD, 'qemu-system-aarch64'), log,
                tmpdir, args.timeout)
        return ok, summary, log, time.monotonic() - start
    os.makedirs(LOGDIR, exist_ok=True)
    log = os.path.join(LOGDIR, case.name[len('guest/'):].replace('/', '_')
                       + '.log')
    count = case.count or args.count
    image_error = None
    with tempfile.TemporaryDirectory() as tmpdir:
        fetch = None
        if case.netdev == 'user':
            fetch = BlobServer(tmpdir)
        extra = {'lc_fetch': fetch.guest_url} if fetch else {}
        if tapnet:
            extra.update(tapnet.guest_opts())
        cmd, find, driver = case.command(tmpdir, count, extra)
        start = time.monotonic()
        image = os.path.join(tmpdir, 'disk.img')
        if case.blk == 'ro':
            # what the guest must read back, and the image must keep
            write_pattern(image, DISK_SIZE)
        elif case.blk and case.churn:
            make_qcow2(cmd[0], image, DISK_SIZE)
        elif case.blk:
            with open(image, 'wb') as f:
                f.truncate(DISK_SIZE)
        lines = []
        churn = None
        with open(log, 'w') as logf:
            logf.write('# ' + ' '.join(cmd) + '\n')
            logf.flush()
            if case.churn:
                churn = Churn(cmd, tmpdir, lambda t: (logf.write(t + '\n'),
                                                      logf.flush()))
                stream = churn.lines()
                vm = churn.cur
            else:
                lines_q = queue.Queue()
                vm = start_vm(cmd, tmpdir, 'guest', lines_q)
                stream = iter(lambda: lines_q.get()[1], None)
                if tapnet:
                    tapnet.configure()
            killed = threading.Event()

            def kill():
                killed.set()
                if churn:
                    churn.kill()
                else:
                    kill_vm(vm)

            timer = threading.Timer(args.timeout, kill)
            timer.start()
            try:
                for line in stream:
                    logf.write(line + '\n')
                    lines.append(line)
                    if line.startswith('GUEST-CARRIER-WAIT '):
                        set_link(vm, line.endswith('up'), logf)
                    if tapnet and line.startswith('TCPSTREAM-LISTEN'):
                        tapnet.send_to_guest()
                    if churn and churn_starts(case, line):
                        churn.begin()
                    if churn and churn_ends(case, line):
                        churn.end()
                    if echo and (line.startswith(('GUEST-', 'LOOPCHECK'))):
                        echo(line)
                    if hook:
                        hook(vm, line)
            except BaseException:
                kill()                  # no QEMU outlives its case
                raise
            finally:
                timer.cancel()
                if churn:
                    churn.end()
                    returncode, output = churn.finish()
                else:
                    returncode, output = finish_vm(vm)
            if output.strip():
                logf.write('# QEMU:\n' + output)
            timed_out = killed.is_set()
        if case.blk and not timed_out and not case.churn:
            # QEMU has exited: what the guest wrote must be in the file
            # (a read-only disk: the file must still be the pattern).
            # (A churn case's qcow2 image is checked by the guest only.)
            image_error = compare_pattern(image, DISK_SIZE)
        secs = time.monotonic() - start
        if fetch:
            fetch.close()

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
    if case.net and fetch:
        errors += check_nic(case, lines, dev, None, find, driver, count,
                            loop=False)
        errors += check_fetch(fetch, first('GUEST-DHCP'),
                              first('GUEST-FETCH'))
    elif case.net and tapnet:
        errors += check_nic(case, lines, dev, None, find, driver, count,
                            loop=False)
        errors += check_tcp(lines, tapnet)
    elif case.net:
        errors += check_nic(case, lines, dev, res, find, driver, count)
    if case.net and 'lc_coal' in case.guest_opts:
        errors += check_coal(case, first('GUEST-COAL'), first('GUEST-IRQS'))
    if case.net and 'lc_mq' in case.guest_opts:
        errors += check_mq(case, lines, count)
    if case.net and 'lc_rss' in case.guest_opts:
        errors += check_rss(case, lines)
    if case.net and 'lc_hash' in case.guest_opts:
        errors += check_hash(case, first('GUEST-HASH'))
    if case.net and 'lc_offload' in case.guest_opts:
        errors += check_offload(case, first('OFFLOADCHECK'))
    if case.net and 'lc_features' in case.guest_opts:
        errors += check_features(case, first('GUEST-FEATURES'))
    if case.blk:
        errors += check_disk(case, first('GUEST-DISK '),
                             first('GUEST-DISKCHECK '), find, driver)
        if image_error:
            errors.append('host: ' + image_error)
    if not done:
        errors.append('guest did not finish')
    elif 'rc=0' not in done:
        errors.append(done)
    if returncode not in (0, None) and not timed_out:
        errors.append('qemu exited with %d' % returncode)
    if churn:
        if churn.error:
            errors.append('churn: ' + churn.error)
        elif len(churn.rounds) < CHURN_MIN_ROUNDS:
            errors.append('churn: only %d rounds while the guest streamed'
                          % len(churn.rounds))

    if errors:
        return False, '; '.join(errors), log, secs
    summary = []
    if fetch:
        summary.append('%s %s' % (first('GUEST-DHCP')[len('GUEST-'):],
                                  first('GUEST-FETCH')[len('GUEST-'):]))
    elif tapnet:
        summary.append(tcp_summary(lines))
    elif case.net:
        kv = parse_kv(res)
        summary.append('frames=%s fps=%s mbps=%s' % (kv['sent'], kv['fps'],
                                                     kv['mbps']))
        irqs = first('GUEST-IRQS')
        if irqs:
            summary.append('nic-irqs-per-frame=%.2f' % (
                int(parse_kv(irqs)['during-loopcheck']) / int(kv['sent'])))
    if churn:
        summary.append('savevm+loadvm=%d migrations=%d'
                       % (churn.rounds.count('savevm'),
                          churn.rounds.count('migrate')))
    if case.blk:
        kv = parse_kv(first('GUEST-DISKCHECK '))
        summary.append('disk=%dMiB/%s write=%s readback=%s image=%s '
                       'disk-secs=%s'
                       % (DISK_SIZE >> 20, case.blk, kv['write'],
                          kv['readback'],
                          'qcow2' if case.churn else
                          'pattern' if case.blk == 'rw' else 'unchanged',
                          kv['secs']))
    return True, ' '.join(summary), log, secs


def free_tcp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def pair_links(kind):
    """The -netdev options of the server's and the client's n0 for a link
    of KIND (stream: TCP, the client reconnects until the server listens;
    dgram: UDP between two ports)."""
    if kind == 'stream':
        addr = ('addr.type=inet,addr.host=127.0.0.1,addr.port=%d'
                % free_tcp_port())
        return ('stream,id=n0,server=on,' + addr,
                'stream,id=n0,server=off,reconnect-ms=500,' + addr)
    a, b = free_udp_port(), free_udp_port()
    end = 'local.type=inet,local.host=127.0.0.1,local.port=%d,' \
          'remote.type=inet,remote.host=127.0.0.1,remote.port=%d'
    return 'dgram,id=n0,' + end % (a, b), 'dgram,id=n0,' + end % (b, a)


PAIR_ADDR = {'server': '10.9.0.1', 'client': '10.9.0.2'}


def check_pair(lines):
    """What is wrong with a pair's GUEST- lines (LINES: role -> lines)."""
    def first(role, prefix):
        return next((l for l in lines[role] if l.startswith(prefix)), None)
    errors = []
    for role in ('server', 'client'):
        err = first(role, 'GUEST-ERROR')
        if err:
            errors.append('%s: %s' % (role, err))
        ping = first(role, 'GUEST-PING')
        if not ping or '3 packets received' not in ping:
            errors.append('%s: ping: %s' % (role, ping or 'no answer'))
    serve, fetch = first('server', 'GUEST-SERVE '), first('client',
                                                         'GUEST-FETCH')
    if not serve or not fetch:
        errors.append('no %s' % ('file served' if not serve else 'fetch'))
    elif (parse_kv(serve).get('sha256') != parse_kv(fetch).get('sha256') or
          parse_kv(serve).get('bytes') != parse_kv(fetch).get('bytes')):
        errors.append('client fetched %s, server served %s'
                      % (fetch, serve))
    done = first('client', 'GUEST-DONE')
    if not done or 'rc=0' not in done:
        errors.append('client: %s' % (done or 'did not finish'))
    return errors


def run_pair(case, args):
    """Boot CASE's two guests (our NIC, and case.pair[1]'s) on one link:
    they ping each other and the client fetches the server's file over
    TCP; returns (ok, summary, log path, seconds)."""
    os.makedirs(LOGDIR, exist_ok=True)
    log = os.path.join(LOGDIR, case.name[len('guest/'):].replace('/', '_')
                       + '.log')
    kind, peer = case.pair
    links = pair_links(kind)
    start = time.monotonic()
    sides, vms, lines = {}, {}, {'server': [], 'client': []}
    lines_q = queue.Queue()
    errors = []
    with tempfile.TemporaryDirectory() as tmpdir, open(log, 'w') as logf:
        try:
            for i, (role, device) in enumerate((('server', case.device),
                                                ('client', peer))):
                side = Case(device, case.setup_name, link=links[i],
                            guest_opts={'lc_pair': role,
                                        'lc_ip': PAIR_ADDR[role] + '/24',
                                        'lc_peer': PAIR_ADDR[
                                            'client' if i == 0 else
                                            'server']})
                subdir = os.path.join(tmpdir, role)
                os.mkdir(subdir)
                cmd, find, driver = side.command(subdir, 1)
                logf.write('# %s: %s\n' % (role, ' '.join(cmd)))
                vm = start_vm(cmd, subdir, role, lines_q)
                sides[vm] = (role, side, find, driver)
                vms[role] = vm
            deadline = time.monotonic() + args.timeout
            open_consoles = 2
            while open_consoles and not any(
                    l.startswith('GUEST-DONE') for l in lines['client']):
                try:
                    vm, line = lines_q.get(
                        timeout=max(0.1, deadline - time.monotonic()))
                except queue.Empty:
                    errors.append('timed out after %ds' % args.timeout)
                    break
                if line is None:
                    open_consoles -= 1
                    continue
                role = sides[vm][0]
                logf.write('[%s] %s\n' % (role, line))
                lines[role].append(line)
        except BaseException:
            for vm in vms.values():
                kill_vm(vm)             # no QEMU outlives its case
            raise
        finally:
            if errors:
                for vm in vms.values():
                    kill_vm(vm)
            for role, vm in vms.items():
                if role == 'server' and not errors:
                    vm.shutdown(timeout=30)   # it waits to be stopped
                returncode, output = finish_vm(vm)
                if output.strip():
                    logf.write('# QEMU (%s):\n%s' % (role, output))
                if returncode not in (0, None) and not errors:
                    errors.append('%s: qemu exited with %d'
                                  % (role, returncode))
    secs = time.monotonic() - start
    for vm, (role, side, find, driver) in sides.items():
        dev = next((l for l in lines[role] if l.startswith('GUEST-DEVICE')),
                   None)
        errors += ['%s: %s' % (role, e) for e in
                   check_nic(side, lines[role], dev, None, find, driver, 1,
                             loop=False)]
    errors += check_pair(lines)
    if errors:
        return False, '; '.join(errors), log, secs
    fetch = parse_kv(next(l for l in lines['client']
                          if l.startswith('GUEST-FETCH')))
    return True, ('link=%s %s<->%s ping both ways, fetched %s bytes, '
                  'sha256 matches' % (kind, case.device, peer,
                                      fetch['bytes'])), log, secs


def all_cases():
    """Every case.  The list needs nothing built (meson registers one test
    per case at configure time): our build always has both devices."""
    cases = [Case('reference', s) for s in SETUPS]
    cases += [Case('mdev', s) for s in SETUPS]
    cases += [
        Case('mdev', 'x86_64-q35', 'legacy', 'legacy=on', legacy=True),
        Case('mdev', 'aarch64-virt-dt', 'legacy', 'legacy=on', legacy=True),
        # jumbo frames: the guest posts mergeable receive buffers
        Case('mdev', 'x86_64-pc', 'mtu9000', 'mtu=9000', {'lc_mtu': 9000}),
        Case('mdev', 'aarch64-virt-dt', 'mtu9000', 'mtu=9000',
             {'lc_mtu': 9000}),
        Case('mdev', 'aarch64-virt-dt', 'carrier', carrier=True),
        # split rings (packed is the default)
        Case('mdev', 'x86_64-q35', 'split', 'packed=off'),
        Case('mdev', 'aarch64-virt-dt', 'split', 'packed=off'),
        Case('mdev', 'aarch64-virt-dt', 'split-mtu9000',
             'packed=off,mtu=9000', {'lc_mtu': 9000}),
        # every switchable feature off: a minimal driver still works
        Case('mdev', 'x86_64-microvm', 'minimal',
             'mrg-rxbuf=off,event-idx=off,indirect-desc=off,status=off,'
             'ctrl-vq=off,packed=off',
             features_off=net_bits('MRG_RXBUF', 'STATUS', 'CTRL_VQ',
                                   'INDIRECT_DESC', 'EVENT_IDX',
                                   'RING_PACKED')),
        Case('mdev', 'x86_64-q35', 'carrier', carrier=True),
        # interrupt moderation set by the guest (ethtool -C: NOTF_COAL)
        Case('mdev', 'aarch64-virt-dt', 'notf-coal',
             guest_opts={'lc_coal': '200,16,200,16', 'lc_window': 32}),
        Case('mdev', 'x86_64-q35', 'notf-coal',
             guest_opts={'lc_coal': '200,16,200,16', 'lc_window': 32}),
        # checksum offload (CSUM): the receiver takes the request as it is
        # (GUEST_CSUM), or the device completes the checksum
        Case('mdev', 'aarch64-virt-dt', 'csum',
             guest_opts={'lc_offload': 'partial'}),
        Case('mdev', 'x86_64-q35', 'csum-device', 'guest-csum=off',
             features_off=net_bits('GUEST_CSUM'),
             guest_opts={'lc_offload': 'complete'}),
        # TCP segmentation offload (HOST_TSO4): a TSO frame comes back whole
        # (GUEST_TSO4), or cut by the device once the guest turned its
        # receive offloads off (ethtool -K: GUEST_OFFLOADS_SET) and GRO
        Case('mdev', 'aarch64-virt-dt', 'tso',
             guest_opts={'lc_offload': 'whole'}),
        Case('mdev', 'x86_64-microvm', 'tso-segments',
             guest_opts={'lc_offload': 'segments',
                         'lc_features': 'rx-gro-hw=off,rx-gro=off'}),
        # a network backend (netdev=): frames loop through QEMU's net
        # layer, each with its hash reported (HASH_CONFIG, no RSS)
        Case('mdev', 'aarch64-virt-dt', 'netdev', guest_opts={'lc_hash': 100},
             netdev=True),
        Case('mdev', 'x86_64-q35', 'netdev', netdev=True),
        Case('mdev', 'x86_64-microvm', 'netdev-split', 'packed=off',
             netdev=True),
        # a tap device in the case's own network namespace: TCP both ways,
        # checked, as TSO frames whole through tap's virtio-net headers
        Case('mdev', 'x86_64-q35', 'tap-tcp', netdev='tap'),
        Case('mdev', 'aarch64-virt-dt', 'tap-tcp', netdev='tap'),
        # two queue pairs, a loopcheck stream on each of two CPUs
        Case('mdev', 'x86_64-q35', 'mq', 'queues=2', {'lc_mq': 2}, smp=2),
        Case('mdev', 'aarch64-virt-dt', 'mq', 'queues=2', {'lc_mq': 2},
             smp=2),
        # RSS: flows the guest's key and table map to each queue, and
        # each frame's hash reported (HASH_REPORT, with RSS_CONFIG)
        Case('mdev', 'x86_64-q35', 'mq-rss', 'queues=2',
             {'lc_rss': 200, 'lc_hash': 100}, smp=2),
        Case('mdev', 'aarch64-virt-dt', 'mq-rss', 'queues=2',
             {'lc_rss': 200}, smp=2),
        # user networking: a DHCP lease, then a file over HTTP from the host
        # QEMU's virtio-net on vhost-user, the export's frontend
        Case('mdev', 'x86_64-q35', 'vhost-user', netdev='vhost-user'),
        Case('mdev', 'aarch64-virt-dt', 'vhost-user-packed', 'packed=on',
             netdev='vhost-user'),
        Case('mdev', 'x86_64-q35', 'vhost-user-mq', 'mq=on,vectors=6',
             {'lc_mq': 2}, netdev='vhost-user', smp=2),
        Case('mdev', 'aarch64-virt-dt', 'user', netdev='user'),
        Case('mdev', 'x86_64-q35', 'user', netdev='user'),
        # two guests on one link: ping both ways, a file over TCP; ours
        # with ours, and ours with QEMU's own virtio-net
        Case('mdev', 'x86_64-q35', 'pair-stream', pair=('stream', 'mdev')),
        Case('mdev', 'aarch64-virt-dt', 'pair-reference-dgram',
             pair=('dgram', 'reference')),
        # firmware: Debian's U-Boot takes a lease and loads a file by TFTP
        Case('mdev', 'aarch64-virt-dt', 'uboot', uboot=True),
    ]
    # a disk on a raw image file, no NIC: the pattern over the whole disk
    # reads back intact and is in the file afterwards
    cases += [Case('mdev', s, 'blk', net=False, blk='rw') for s in SETUPS]
    # readonly=on: the guest sees a read-only disk, a write fails
    cases.append(Case('mdev', 'x86_64-pc', 'blk-ro', net=False, blk='ro'))
    # both devices in one guest (what 'make demo' shows)
    cases += [Case('mdev', s, 'net-blk', blk='rw')
              for s in ('aarch64-virt-dt', 'x86_64-q35')]
    # both streaming through savevm/loadvm and live migrations, split and
    # packed rings (packed is the default)
    cases += [Case('mdev', s, 'churn' + v, props, count=CHURN_FRAMES,
                   blk='rw', blk_props=props, churn=True)
              for s in ('aarch64-virt-dt', 'x86_64-q35')
              for v, props in (('', ''), ('-split', 'packed=off'))]
    return cases


def run_matrix(cases, args):
    """Run CASES, --jobs at a time; one line per case, or TAP."""
    passed = failed = skipped = 0
    if args.tap:
        print('1..%d' % len(cases), flush=True)
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as ex:
        futs = {ex.submit(run_case, c, args): c for c in cases}
        for fut in concurrent.futures.as_completed(futs):
            c = futs[fut]
            try:
                ok, summary, log, secs = fut.result()
            except Exception as e:      # one case, not the whole matrix
                ok, summary, log, secs = (False, 'runner error: %r' % e,
                                          LOGDIR, 0.0)
            skipped += ok is None
            passed += ok is True
            failed += ok is False
            log = os.path.relpath(log, TOP)
            if args.tap:
                n = passed + failed + skipped
                if ok is None:
                    print('ok %d - %s # SKIP %s' % (n, c.name, summary))
                elif ok:
                    print('ok %d - %s # %.1fs %s' % (n, c.name, secs, summary))
                else:
                    print('not ok %d - %s\n# %.1fs %s\n# console log: %s'
                          % (n, c.name, secs, summary, log))
            elif ok is None:
                print('skip %-40s         %s' % (c.name, summary))
            elif ok:
                print('ok   %-40s %5.1fs  %s' % (c.name, secs, summary))
            else:
                print('FAIL %-40s %5.1fs  %s (log: %s)'
                      % (c.name, secs, summary, log))
            sys.stdout.flush()
    if not args.tap:
        print('guest: %d passed, %d failed, %d skipped'
              % (passed, failed, skipped))
    if args.tally:
        with open(args.tally, 'w') as f:
            f.write('%d %d\n' % (passed, failed))
    return 0 if failed == 0 else 1


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--device', default='all',
                   choices=['reference', 'mdev', 'all'])
    p.add_argument('--filter', default='', help='regex on case names')
    p.add_argument('--case', action='append', default=[], metavar='NAME',
                   help='run this case (a name as --list prints it); '
                        'may be repeated')
    p.add_argument('--tap', action='store_true',
                   help='TAP on stdout (one test per case), progress on '
                        'stderr')
    p.add_argument('--jobs', type=int, default=os.cpu_count() or 1)
    p.add_argument('--count', type=int, default=2000,
                   help='frames per loopback run')
    p.add_argument('--timeout', type=int, default=240)
    p.add_argument('--tally', help='write "passed failed" to this file')
    p.add_argument('--list', action='store_true')
    p.add_argument('--demo', action='store_true',
                   help='run the first selected case and show what the '
                        'guest saw')
    args = p.parse_args()

    cases = [c for c in all_cases()
             if (args.device == 'all' or c.device == args.device)
             and re.search(args.filter, c.name)
             and (not args.case or c.name in args.case)]
    unknown = set(args.case) - {c.name for c in all_cases()}
    if unknown:
        print('run.py: no case named %s (see --list)'
              % ', '.join(sorted(unknown)), file=sys.stderr)
        return 2
    if args.list:
        for c in cases:
            print(c.name)
        return 0
    if not cases:
        print('run.py: no case matches', file=sys.stderr)
        return 2
    arches = sorted({c.setup['arch'] for c in cases})
    # (in TAP mode its output goes to stderr)
    subprocess.run([os.path.join(TOP, 'tests', 'guest', 'prepare.sh')]
                   + arches, check=True,
                   stdout=sys.stderr if args.tap else None)

    if args.demo:
        c = cases[0]
        print('demo: booting %s (stock Debian kernel %s) with: %s'
              % (c.setup_name, open(os.path.join(
                  BUILD, 'guest', c.setup['arch'], 'info')).read().split(
                  'kernel=')[1].split()[0],
                 ' '.join(c.device_args('$TMPDIR'))))
        ok, summary, log, secs = run_case(
            c, args,
            echo=lambda line: print('  guest> ' + demo_line(line), flush=True))
        if c.blk and ok:
            print('  host>  after power-off, the image file holds the '
                  'pattern byte for byte (%d MiB)' % (DISK_SIZE >> 20))
        print('demo: %s in %.1fs: %s (console log: %s)'
              % ('PASS' if ok else 'FAIL', secs, summary,
                 os.path.relpath(log, TOP)))
        return 0 if ok else 1

    return run_matrix(cases, args)


if __name__ == '__main__':
    sys.exit(main())
