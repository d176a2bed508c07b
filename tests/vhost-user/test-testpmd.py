#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""vhost-user-mdev driven by DPDK's testpmd, an independent frontend.

testpmd's virtio-user PMD connects to the export (no hugepages, no PCI)
and forwards through mvnet's loopback: in io mode every frame it sends
comes back to it, so both counters grow together; rxonly receives exactly
the burst tx_first sent, with the length testpmd gave it; txonly only
sends, and the loopback, which never drops, holds it back once the
receive ring is full.  Split and packed rings.  Also --bench: Mpps in io
mode for 64 and 1514-byte frames (make bench).  TAP on stdout.
"""

import argparse
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

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from vuexport import Export, default_binary, run_tap  # noqa: E402

TESTPMD = 'dpdk-testpmd'
RING = 256          # testpmd's --rxd/--txd below


class Testpmd:
    """dpdk-testpmd in interactive mode, commands on its stdin."""

    def __init__(self, sock, packed=False, extra=(), queues=1):
        vdev = 'net_virtio_user0,path=%s,queues=%d' % (sock, queues)
        if packed:
            vdev += ',packed_vq=1'
        self.p = subprocess.Popen(
            ['stdbuf', '-oL', TESTPMD, '-l', '0,1', '--no-huge', '-m', '1024', '--no-pci',
             '--file-prefix=vu%d' % os.getpid(), '--vdev=' + vdev, '--',
             '-i', '--total-num-mbufs=8192', '--rxd=%d' % RING,
             '--txd=%d' % RING, '--port-topology=loop', *extra],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True, bufsize=1)
        self.out = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        self.wait_for('testpmd> ', 60)

    def _read(self):
        buf = ''
        while True:
            c = self.p.stdout.read(1)
            if not c:
                break
            buf += c
            if c == '\n' or buf.endswith('testpmd> '):
                self.out.append(buf)
                buf = ''

    def text(self):
        return ''.join(self.out)

    def wait_for(self, what, timeout=30):
        deadline = time.monotonic() + timeout
        while what not in self.text():
            if time.monotonic() > deadline or self.p.poll() is not None:
                raise AssertionError('testpmd: no "%s"; output:\n%s' %
                                     (what.strip(), self.text()[-3000:]))
            time.sleep(0.05)

    def wait_for_count(self, pattern, count, timeout=30):
        """Wait until @pattern has matched @count times in the output."""
        deadline = time.monotonic() + timeout
        while len(re.findall(pattern, self.text())) < count:
            if time.monotonic() > deadline or self.p.poll() is not None:
                raise AssertionError('testpmd: %d of %d "%s"; output:\n%s' %
                                     (len(re.findall(pattern, self.text())),
                                      count, pattern, self.text()[-3000:]))
            time.sleep(0.05)

    def cmd(self, line, wait=True):
        """Run LINE; returns what testpmd printed for it."""
        mark = len(self.out)
        self.p.stdin.write(line + '\n')
        self.p.stdin.flush()
        deadline = time.monotonic() + 60
        while wait:
            new = ''.join(self.out[mark:])
            if 'testpmd> ' in new:     # the prompt after the command
                return new
            if time.monotonic() > deadline or self.p.poll() is not None:
                raise AssertionError('testpmd: "%s" did not finish:\n%s' %
                                     (line, new[-3000:]))
            time.sleep(0.02)
        return ''

    def stats(self):
        """Port 0's (RX-packets, TX-packets, TX-dropped) so far."""
        out = self.cmd('show port stats 0')
        rx = int(re.search(r'RX-packets:\s+(\d+)', out).group(1))
        tx = int(re.search(r'TX-packets:\s+(\d+)', out).group(1))
        return rx, tx

    def forward_stats(self, out):
        m = re.search(r'Accumulated forward statistics.*?RX-packets:\s+(\d+)'
                      r'.*?TX-packets:\s+(\d+)\s+TX-dropped:\s+(\d+)', out,
                      re.S)
        return tuple(int(x) for x in m.groups())

    def close(self):
        try:
            self.p.stdin.write('quit\n')
            self.p.stdin.flush()
            self.p.wait(30)
        except (OSError, subprocess.TimeoutExpired):
            self.p.kill()
            self.p.wait()


def io_loop(export, packed, seconds=2):
    t = Testpmd(export.sock, packed)
    try:
        t.cmd('set fwd io')
        t.cmd('start tx_first')
        time.sleep(seconds)
        rx1, tx1 = t.stats()
        time.sleep(seconds)
        rx2, tx2 = t.stats()
        out = t.cmd('stop')
        rx, tx, dropped = t.forward_stats(out)
    finally:
        t.close()
    assert rx2 > rx1 > 0 and tx2 > tx1 > 0, (rx1, tx1, rx2, tx2)
    # every frame sent comes back; the first burst is still in flight
    assert tx - rx <= 2 * RING and dropped == 0, (rx, tx, dropped)
    assert rx > 1000, rx
    return rx, tx


def test_io_split(export):
    io_loop(export, False)


def test_io_packed(export):
    io_loop(export, True)


def test_io_multiqueue(export):
    """An instance with two pairs (instance-props): testpmd forwards on
    both, each pair looping back to itself."""
    sock = export.add('e1', {'queues': 2})
    try:
        t = Testpmd(sock, queues=2, extra=('--rxq=2', '--txq=2'))
        try:
            t.cmd('set fwd io')
            t.cmd('start tx_first')
            time.sleep(2)
            out = t.cmd('stop')
        finally:
            t.close()
        per_queue = re.findall(r'Forward Stats for RX Port= 0/Queue= (\d)'
                               r'.*?\n\s*RX-packets:\s+(\d+)', out)
        assert len(per_queue) == 2, out
        assert all(int(n) > 1000 for _, n in per_queue), per_queue
        stats = export.stats('e1')
        for q in ('rx', 'tx', 'rx1', 'tx1'):
            assert stats[q] > 1000, stats
    finally:
        export.wait_disconnected()
        export.vm.cmd('object-del', id='e1')


def free_udp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def test_netdev(export):
    """An instance on a netdev (instance-props {"netdev": ...}): what
    testpmd sends leaves through QEMU's dgram netdev to a UDP socket of
    ours, and what we send there reaches testpmd."""
    ours = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    ours.bind(('127.0.0.1', 0))
    ours.settimeout(10)
    qemu_port = free_udp_port()
    export.vm.cmd('netdev_add', {
        'type': 'dgram', 'id': 'nd1',
        'local': {'type': 'inet', 'host': '127.0.0.1',
                  'port': str(qemu_port)},
        'remote': {'type': 'inet', 'host': '127.0.0.1',
                   'port': str(ours.getsockname()[1])}})
    sock = export.add('e1', {'netdev': 'nd1', 'mac': '02:00:00:00:00:51'})
    try:
        t = Testpmd(sock)
        try:
            t.cmd('set fwd txonly')
            t.cmd('start')
            sent = [ours.recvfrom(4096)[0] for _ in range(32)]
            t.cmd('stop')
            t.cmd('set fwd rxonly')
            t.cmd('set verbose 1')
            t.cmd('start')
            for i in range(20):
                frame = (b'\xff' * 6 + b'\x02\x00\x00\x00\x00\x09' +
                         b'\x88\xb5' + bytes([i]) * 86)
                ours.sendto(frame, ('127.0.0.1', qemu_port))
            t.wait_for_count(r'- length=100 -', 20)
            out = t.cmd('stop')
            rx, _, _ = t.forward_stats(out)
        finally:
            t.close()
        assert all(len(f) == 64 for f in sent), [len(f) for f in sent]
        assert rx == 20, rx
    finally:
        ours.close()
        export.wait_disconnected()
        export.vm.cmd('object-del', id='e1')
        export.vm.cmd('netdev_del', id='nd1')


def rxonly(export, packed):
    """The 32 frames of tx_first come back once, 64 bytes each."""
    t = Testpmd(export.sock, packed)
    try:
        t.cmd('set fwd rxonly')
        t.cmd('set verbose 1')
        # The forwarding core prints each frame while the main core prints
        # the prompt: the two may interleave, so wait for the frames.
        t.cmd('start tx_first', wait=False)
        t.wait_for_count(r'- length=\d+ -', 32)
        time.sleep(0.5)             # nothing more may come
        out = t.cmd('stop')
        rx, tx, _ = t.forward_stats(out)
        text = t.text()
    finally:
        t.close()
    assert (rx, tx) == (32, 32), (rx, tx)
    lengths = re.findall(r'- length=(\d+) -', text)
    assert len(lengths) == 32 and set(lengths) == {'64'}, lengths


def test_rxonly_split(export):
    rxonly(export, False)


def test_rxonly_packed(export):
    rxonly(export, True)


def txonly(export, packed):
    """Lossless loopback: with nobody receiving, sending stops when the
    receive ring is full (testpmd drops what it cannot send)."""
    t = Testpmd(export.sock, packed)
    try:
        t.cmd('set fwd txonly')
        t.cmd('start')
        time.sleep(1.5)
        _, tx1 = t.stats()
        time.sleep(0.5)
        _, tx2 = t.stats()
        out = t.cmd('stop')
        _, tx, dropped = t.forward_stats(out)
    finally:
        t.close()
    assert 0 < tx <= 2 * RING, tx
    assert tx1 == tx2 == tx and dropped > 0, (tx1, tx2, tx, dropped)


def test_txonly_split(export):
    txonly(export, False)


def test_txonly_packed(export):
    txonly(export, True)


def test_reconnect(export):
    """testpmd started three times against one export."""
    for _ in range(3):
        io_loop(export, False, seconds=1)
        export.wait_disconnected()
    assert 'closing the connection' not in export.log(), export.log()


def bench(binary, rounds, seconds, out_path):
    """Mpps through the export in io mode, 64 and 1514-byte frames."""
    results = {}
    with tempfile.TemporaryDirectory(prefix='vu-bench-') as tmpdir:
        export = Export(binary, tmpdir)
        try:
            for size in (64, 1514):
                for ring in ('split', 'packed'):
                    mpps = []
                    for _ in range(rounds):
                        t = Testpmd(export.sock, ring == 'packed')
                        try:
                            t.cmd('set fwd io')
                            t.cmd('set txpkts %d' % size)
                            t.cmd('start tx_first')
                            time.sleep(0.5)
                            rx1, _ = t.stats()
                            t0 = time.monotonic()
                            time.sleep(seconds)
                            rx2, _ = t.stats()
                            dt = time.monotonic() - t0
                            t.cmd('stop')
                        finally:
                            t.close()
                        export.wait_disconnected()
                        mpps.append((rx2 - rx1) / dt / 1e6)
                    mpps.sort()
                    results['%s-%d' % (ring, size)] = {
                        'median': mpps[len(mpps) // 2], 'min': mpps[0],
                        'max': mpps[-1], 'rounds': rounds}
                    print('%s %4d B: %.3f Mpps [%.3f-%.3f], %d rounds' %
                          (ring, size, mpps[len(mpps) // 2], mpps[0],
                           mpps[-1], rounds), flush=True)
        finally:
            export.vm.shutdown()
    if out_path:
        with open(out_path, 'w') as f:
            json.dump(results, f, indent=1)
    return results


def engine_mpps(path):
    """{'split-64': Mpps, ...} from bench-vring-engine's BENCH lines."""
    out = {}
    for line in open(path):
        if line.startswith('BENCH '):
            kv = dict(w.split('=', 1) for w in line.split()[1:])
            out['%s-%s' % (kv['ring'], kv['size'])] = float(kv['engine_mpps'])
    return out


def bench_table(results, engine):
    """Markdown: the export's Mpps beside the bare engine's."""
    lines = ['| ring | frame | export Mpps, median [min-max] | engine Mpps '
             '| export / engine |', '|---|---|---|---|---|']
    for key, r in results.items():
        ring, size = key.split('-')
        e = engine.get(key)
        lines.append('| %s | %s B | %.3f [%.3f-%.3f] | %s | %s |' % (
            ring, size, r['median'], r['min'], r['max'],
            '%.2f' % e if e else '-',
            '%.3f' % (r['median'] / e) if e else '-'))
    return '\n'.join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('binary', nargs='?', default=default_binary())
    ap.add_argument('--bench', action='store_true')
    ap.add_argument('--rounds', type=int, default=5)
    ap.add_argument('--seconds', type=float, default=3)
    ap.add_argument('--out', help='JSON results (--bench)')
    ap.add_argument('--engine', help="bench-vring-engine's output, for "
                    'the ratio (--bench)')
    ap.add_argument('--table', help='Markdown table (--bench)')
    args = ap.parse_args()
    if args.bench:
        results = bench(args.binary, args.rounds, args.seconds, args.out)
        text = bench_table(results, engine_mpps(args.engine)
                           if args.engine else {})
        print(text)
        if args.table:
            with open(args.table, 'w') as f:
                f.write(text + '\n')
        return 0
    tests = [(n, f) for n, f in globals().items() if n.startswith('test_')]
    if not shutil.which(TESTPMD):
        print('1..%d' % len(tests))
        for i, (name, _) in enumerate(tests, 1):
            print('not ok %d - %s # %s not found (dpdk-dev; ./configure '
                  'installs it)' % (i, name[5:], TESTPMD))
        return 1
    return run_tap(tests, args.binary, 'vu-testpmd-')


if __name__ == '__main__':
    sys.exit(main())
