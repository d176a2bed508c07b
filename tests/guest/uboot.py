# SPDX-License-Identifier: GPL-2.0-or-later
"""U-Boot through our NIC: DHCP and TFTP from -netdev user.

Debian's stock U-Boot for QEMU's arm virt (u-boot-qemu, qemu_arm64) boots
with -bios and finds virtio-mdev-net through the device tree, as it finds
the board's own virtio-mmio transports.  The runner stops its autoboot,
then at its prompt takes a DHCP lease from QEMU's user networking and
loads a random file from its TFTP server (tftp=, a directory of the
case's) with tftpboot; U-Boot's crc32 of what it loaded must be the host's
CRC-32 of the file, and our instance's counters must show the frames went
through it (nothing else in the machine is a NIC).
"""

import os
import queue
import time
import zlib

from guestvm import finish_vm, kill_vm, start_vm

UBOOT_BIN = '/usr/lib/u-boot/qemu_arm64/u-boot.bin'
BLOB_SIZE = 256 << 10
# Each step's time limit, in seconds (U-Boot needs a few under TCG)
PROMPT_TIMEOUT = 60
COMMANDS = ('setenv autoload no; dhcp; tftpboot ${kernel_addr_r} blob; '
            'crc32 ${kernel_addr_r} ${filesize}; echo UBOOT-DONE')


def command(qemu, tftp_dir):
    return [qemu, '-accel', 'tcg', '-M', 'virt', '-cpu', 'cortex-a57',
            '-m', '512', '-nodefaults', '-no-reboot', '-bios', UBOOT_BIN,
            '-netdev', 'user,id=n0,tftp=' + tftp_dir,
            '-device', 'virtio-mdev-net,id=nic0,netdev=n0']


def lines_until(lines_q, logf, want, timeout, poke=None):
    """Console lines until one starts with WANT (returned with the ones
    before it); POKE() is called between lines that do not come."""
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            _, line = lines_q.get(timeout=0.3)
        except queue.Empty:
            if poke:
                poke()
            continue
        if line is None:
            break
        logf.write(line + '\n')
        seen.append(line)
        if line.startswith(want):
            return seen, True
    return seen, False


def nic_rx_packets(vm):
    """Frames our instance received, from query-mdev."""
    for parent in vm.cmd('query-mdev'):
        for inst in parent.get('instances', []):
            if inst['transport'] == '/machine/peripheral/nic0':
                return next(s['packets'] for s in inst['stats']
                            if s['name'] == 'rx')
    return None


def check(lines, crc, rx):
    """What is wrong with U-Boot's output and our counters."""
    text = '\n'.join(lines)
    errors = []
    if 'eth0: virtio-net#0' not in text:
        errors.append('U-Boot found no virtio-net device')
    if 'DHCP client bound to address 10.0.2.' not in text:
        errors.append('no DHCP lease from -netdev user')
    if 'Bytes transferred = %d ' % BLOB_SIZE not in text:
        errors.append('tftpboot did not load %d bytes' % BLOB_SIZE)
    got = [l.split('==>')[1].strip() for l in lines if '==>' in l]
    if got != ['%08x' % crc]:
        errors.append('crc32 of the loaded file %s, expected %08x'
                      % (got or 'missing', crc))
    # TFTP blocks of at most 1468 bytes, each one frame
    if rx is None or rx < BLOB_SIZE // 1468:
        errors.append('our NIC received %s frames, expected at least %d'
                      % (rx, BLOB_SIZE // 1468))
    return errors


def run_uboot(qemu, log, tmpdir, timeout):
    """Boot U-Boot on our NIC; returns (ok, summary)."""
    tftp_dir = os.path.join(tmpdir, 'tftp')
    os.mkdir(tftp_dir)
    blob = os.urandom(BLOB_SIZE)
    with open(os.path.join(tftp_dir, 'blob'), 'wb') as f:
        f.write(blob)
    cmd = command(qemu, tftp_dir)
    lines_q = queue.Queue()
    errors, lines, rx = [], [], None
    with open(log, 'w') as logf:
        logf.write('# ' + ' '.join(cmd) + '\n')
        vm = start_vm(cmd, tmpdir, 'uboot', lines_q)
        try:
            # Any key stops the autoboot; each key then prints a prompt.
            seen, ok = lines_until(lines_q, logf, '=>', PROMPT_TIMEOUT,
                                   lambda: vm.console_socket.send(b'\r'))
            lines += seen
            if not ok:
                errors.append('no U-Boot prompt')
            else:
                vm.console_socket.send(COMMANDS.encode() + b'\r')
                seen, ok = lines_until(lines_q, logf, 'UBOOT-DONE', timeout)
                lines += seen
                if not ok:
                    errors.append('U-Boot did not finish its commands')
                rx = nic_rx_packets(vm)
                vm.console_socket.send(b'poweroff\r')
        finally:
            if errors:
                kill_vm(vm)
            returncode, output = finish_vm(vm)
            if output.strip():
                logf.write('# QEMU:\n' + output)
    if returncode not in (0, None):
        errors.append('qemu exited with %d' % returncode)
    errors += check(lines, zlib.crc32(blob), rx)
    if errors:
        return False, '; '.join(errors)
    return True, ('U-Boot: DHCP lease, tftpboot %d KiB, crc32 %08x matches, '
                  '%d frames through our NIC'
                  % (BLOB_SIZE >> 10, zlib.crc32(blob), rx))
