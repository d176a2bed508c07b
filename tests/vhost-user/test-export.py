#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""vhost-user-mdev: the export driven by our own frontend (vufrontend.py).

One QEMU (-M none, a pure daemon) exports an mvnet-vhost instance; each
test connects a frontend.  The loopback tests move frames through the
export and check every byte; the fault tests send what a broken or
hostile frontend would and check that the export closes that connection,
that QEMU keeps running, and that the next frontend is served.
TAP on stdout.  Usage: test-export.py [QEMU binary] (default: the build's
qemu-system-x86_64, or $QEMU_MDEV_BUILD's).
"""

import os
import struct
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import vufrontend as vu                          # noqa: E402
from vuexport import default_binary, run_tap     # noqa: E402


def move_frames(fe, rx, tx, count, length):
    """COUNT frames sent on TX come back on RX, whole and in order."""
    frames = [vu.net_frame(i, length) for i in range(count)]
    vu.post_rx(rx, 64)
    got = []
    deadline = time.monotonic() + 20
    sent = 0
    while len(got) < count:
        if sent < count:
            batch = frames[sent:sent + 16]
            vu.send_tx(tx, batch, first=sent)
            sent += len(batch)
        assert time.monotonic() < deadline, 'frames did not come back'
        rx.wait_call(1)
        got += rx.pop_used()
    for n, (head, length_used) in enumerate(got):
        off, _ = rx.buf(head)
        data = bytes(fe.mem[off:off + length_used])
        assert length_used == vu.NET_HDR + len(frames[n]), (n, length_used)
        assert data[vu.NET_HDR:] == frames[n], 'frame %d differs' % n
    done = tx.pop_used()
    while len(done) < count:
        assert time.monotonic() < deadline, 'transmit did not complete'
        tx.wait_call(1)
        done += tx.pop_used()
    assert len(done) == count


def loopback(export, count=40, length=1514):
    """Frames sent on TX come back on RX, whole and in order."""
    fe = vu.Frontend(export.sock)
    try:
        rx, tx = vu.start_net(fe)
        move_frames(fe, rx, tx, count, length)
        # The ring positions a frontend saves when it stops.
        for q, want in ((tx, count), (rx, count)):
            fe.set_state(vu.GET_VRING_BASE, q.idx, 0)
            _, _, data = fe.recv()
            idx, base = struct.unpack('<II', data)
            assert (idx, base) == (q.idx, want), (idx, base, want)
    finally:
        fe.close()
    export.wait_disconnected()


def test_features(export):
    fe = vu.Frontend(export.sock)
    try:
        offered, proto = vu.negotiate(fe)
        assert offered & vu.F_VERSION_1 and offered & vu.F_PROTOCOL_FEATURES
        assert offered & vu.F_RING_PACKED
        # transport features the export cannot carry are not offered
        assert not offered & (vu.F_NOTIFICATION_DATA | vu.F_LOG_ALL), \
            hex(offered)
        assert proto & vu.PF_CONFIG and proto & vu.PF_REPLY_ACK
        cfg = fe.request(vu.GET_CONFIG, struct.pack('<III', 0, 6, 0) +
                         bytes(6))
        mac = cfg[12:18]
        assert mac[0] == 0x02, mac.hex()     # locally administered
        assert export.qom('connected') is True
    finally:
        fe.close()
    export.wait_disconnected()


def test_query(export):
    inst = export.instance()
    assert inst['class'] == 'vhost' and inst['type'] == 'mvnet-vhost'
    assert inst['transport'] == '/objects/e0'
    assert inst['socket'] == 'unix:' + export.sock, inst


def test_loopback(export):
    loopback(export)


def test_loopback_small(export):
    loopback(export, count=60, length=60)


def test_counters(export):
    before = {q['name']: q['packets'] for q in export.instance()['stats']}
    loopback(export, count=10)
    after = {q['name']: q['packets'] for q in export.instance()['stats']}
    assert after['tx'] - before['tx'] == 10, (before, after)
    assert after['rx'] - before['rx'] == 10, (before, after)


def fault(export, action, expect):
    """ACTION(frontend) must get the connection closed, with EXPECT in
    QEMU's log; then the next frontend must be served."""
    fe = vu.Frontend(export.sock)
    try:
        try:
            action(fe)
        except (BrokenPipeError, ConnectionResetError, vu.Closed):
            pass    # closed while we were still sending: fine
        assert fe.wait_closed(), 'the export did not close the connection'
    finally:
        fe.close()
    export.wait_disconnected()
    assert expect in export.log(), 'no "%s" in the log' % expect
    loopback(export, count=4)


def bad_size(fe):
    fe.send(vu.SET_VRING_NUM, struct.pack('<I', 0))


def queue_range(fe):
    fe.set_state(vu.SET_VRING_NUM, 40, 64)


def request_none(fe):
    # libvhost-user exit()s on request 0 unless its user catches it
    fe.send(0)


def unsupported(fe):
    fe.send(vu.SET_LOG_BASE, struct.pack('<QQ', 0, 4096))


def not_offered(fe):
    fe.set_u64(vu.SET_FEATURES, vu.F_VERSION_1 | vu.F_NOTIFICATION_DATA)


def mem_overlap(fe):
    fe.map_memory()
    regions = [fe.region(0, 1 << 20, vu.QVA_BASE),
               fe.region(0x80000, 1 << 20, vu.QVA_BASE + (2 << 20))]
    fe.set_mem_table(regions, [fe.memfd, fe.memfd])


def mem_fds(fe):
    fe.map_memory()
    fe.set_mem_table([fe.region(0, 1 << 20, vu.QVA_BASE)], [])


def mem_unaligned(fe):
    fe.map_memory()
    fe.set_mem_table([fe.region(0, 0x1001, vu.QVA_BASE)], [fe.memfd])


def mem_beyond_file(fe):
    fe.map_memory()
    fe.set_mem_table([fe.region(0, vu.MEM_SIZE, vu.QVA_BASE, 1 << 20)],
                     [fe.memfd])


def ring_outside(fe):
    fe.map_memory()
    vu.negotiate(fe)
    fe.set_mem_table()
    q = vu.SplitQueue(fe, 1, 0x8000)
    q.desc = vu.MEM_SIZE + 0x1000   # past the region
    q.setup()


def kick_first(fe):
    fe.map_memory()
    vu.negotiate(fe)
    fe.set_mem_table()
    kick = os.eventfd(0)
    fe.set_u64(vu.SET_VRING_KICK, 1, [kick])
    fe.set_state(vu.SET_VRING_ENABLE, 1, 1)
    os.close(kick)


def config_size(fe):
    fe.send(vu.GET_CONFIG, struct.pack('<III', 0, 200, 0) + bytes(200))


def message_size(fe):
    fe.send(vu.GET_CONFIG, struct.pack('<III', 0, 300, 0) + bytes(300))


def bad_ring(fe):
    """A chain whose buffer is outside the memory table: the device
    needs a reset, so the export drops the frontend."""
    _, tx = vu.start_net(fe)
    tx.put_desc(0, 0x10_0000_0000, 64, 0)
    tx.add(0)
    tx.notify()


def changed_while_running(fe):
    rx, _ = vu.start_net(fe)
    fe.set_state(vu.SET_VRING_NUM, rx.idx, 128)


def test_fault_size(export):
    fault(export, bad_size, 'payload of 4 bytes, expected 8')


def test_fault_queue_range(export):
    fault(export, queue_range, 'queue index out of range')


def test_fault_request_none(export):
    fault(export, request_none, 'request 0: not supported')


def test_fault_unsupported(export):
    fault(export, unsupported, 'request 6: not supported')


def test_fault_features(export):
    fault(export, not_offered, 'were not offered')


def test_fault_mem_overlap(export):
    fault(export, mem_overlap, 'memory regions 0 and 1 overlap')


def test_fault_mem_fds(export):
    fault(export, mem_fds, '1 regions, 0 fds')


def test_fault_mem_unaligned(export):
    fault(export, mem_unaligned, 'is not a multiple of the page size')


def test_fault_mem_beyond_file(export):
    fault(export, mem_beyond_file, 'memory region 0: ')


def test_fault_ring_outside(export):
    fault(export, ring_outside, 'vu_panic')


def test_fault_kick_first(export):
    fault(export, kick_first, 'outside the memory table')


def test_fault_config_size(export):
    fault(export, config_size, 'config access of 200 bytes at 0')


def test_fault_message_size(export):
    fault(export, message_size, 'too big message request')


def test_fault_bad_ring(export):
    fault(export, bad_ring, 'the device needs a reset')


def test_fault_changed_while_running(export):
    fault(export, changed_while_running, 'changed while it runs')


def test_dies_mid_batch(export):
    """A frontend that goes away with frames waiting for receive
    buffers: the next one starts from a reset device."""
    fe = vu.Frontend(export.sock)
    _, tx = vu.start_net(fe)
    vu.send_tx(tx, [vu.net_frame(i) for i in range(8)])
    time.sleep(0.2)
    fe.close()
    export.wait_disconnected()
    loopback(export, count=8)
    assert export.qom('sessions') >= 2, export.qom('sessions')


def test_migration_blocked(export):
    """A frontend's session blocks migration of the exporting QEMU; once
    it ends, migration runs (and the daemon goes on after it)."""
    vm = export.vm
    fe = vu.Frontend(export.sock)
    try:
        vu.negotiate(fe)
        fe.get_u64(vu.GET_FEATURES)         # SET_OWNER has been handled
        r = vm.qmp('migrate', uri='exec:cat > /dev/null')
        assert 'error' in r, r
        assert 'vhost-user frontend' in r['error']['desc'], r
    finally:
        fe.close()
    export.wait_disconnected()
    vm.cmd('migrate', uri='exec:cat > /dev/null')
    deadline = time.monotonic() + 20
    while vm.cmd('query-migrate').get('status') != 'completed':
        assert time.monotonic() < deadline, vm.cmd('query-migrate')
        time.sleep(0.05)
    vm.cmd('cont')
    assert vm.cmd('query-status')['status'] == 'running'
    loopback(export, count=4)


def test_multiqueue(export):
    """instance-props {"queues": 2, "mac": ...}: MQ without a control
    queue (the frontend keeps it), two pairs, both looping back."""
    mac = '02:00:00:00:00:42'
    sock = export.add('e1', {'queues': 2, 'mac': mac})
    try:
        fe = vu.Frontend(sock)
        try:
            offered, _ = vu.negotiate(fe, vu.F_VERSION_1 | vu.F_NET_MQ)
            assert offered & vu.F_NET_MQ, hex(offered)
            assert not offered & vu.F_NET_CTRL_VQ, hex(offered)
            cfg = fe.request(vu.GET_CONFIG, struct.pack('<III', 0, 10, 0) +
                             bytes(10))
            assert cfg[12:18] == bytes.fromhex(mac.replace(':', ''))
            assert struct.unpack_from('<H', cfg, 20)[0] == 2, cfg.hex()
            fe.map_memory()
            fe.set_mem_table()
            queues = [vu.start_pair(fe, p) for p in (0, 1)]
            for rx, tx in reversed(queues):
                move_frames(fe, rx, tx, 20, 200)
        finally:
            fe.close()
        stats = export.stats('e1')
        assert stats == {'rx': 20, 'tx': 20, 'rx1': 20, 'tx1': 20}, stats
    finally:
        export.vm.cmd('object-del', id='e1')


def test_instance_props_invalid(export):
    for props, want in (({'queues': 9}, "'queues': 9 is not in 1..8"),
                        ({'bogus': 1}, "'mvnet-device.bogus' not found"),
                        (3, 'takes an object')):
        r = export.vm.qmp('object-add', {
            'qom-type': 'vhost-user-mdev', 'id': 'e2', 'mdev-parent': 'p0',
            'mdev-type': 'mvnet-vhost', 'instance-props': props,
            'addr': {'type': 'unix',
                     'path': os.path.join(export.tmpdir, 'e2.sock')}})
        assert 'error' in r and want in r['error']['desc'], (props, r)
        assert "'instance-props'" in r['error']['desc'], r
    # nothing was left behind: the parent still has its one instance
    insts = export.vm.cmd('query-mdev')[0]['instances']
    assert len(insts) == 1, insts


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else default_binary()
    tests = [(n, f) for n, f in globals().items() if n.startswith('test_')]
    return run_tap(tests, binary, 'vu-export-')


if __name__ == '__main__':
    sys.exit(main())
