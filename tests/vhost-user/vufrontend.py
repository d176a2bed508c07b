# SPDX-License-Identifier: GPL-2.0-or-later
"""A small vhost-user frontend for testing the vhost-user-mdev export.

It speaks the protocol from its specification (QEMU's
docs/interop/vhost-user.rst), not through QEMU's code: messages with
SCM_RIGHTS fds, a memfd as the "guest" memory, split virtqueues driven
from Python with eventfds for kicks and calls.  Enough to move virtio-net
frames through the export and to send it what a broken or hostile
frontend would.
"""

import mmap
import os
import select
import socket
import struct
import time

# Requests (vhost-user.rst, "Front-end message types")
GET_FEATURES = 1
SET_FEATURES = 2
SET_OWNER = 3
RESET_OWNER = 4
SET_MEM_TABLE = 5
SET_LOG_BASE = 6
SET_VRING_NUM = 8
SET_VRING_ADDR = 9
SET_VRING_BASE = 10
GET_VRING_BASE = 11
SET_VRING_KICK = 12
SET_VRING_CALL = 13
GET_PROTOCOL_FEATURES = 15
SET_PROTOCOL_FEATURES = 16
GET_QUEUE_NUM = 17
SET_VRING_ENABLE = 18
GET_CONFIG = 24

VERSION = 0x1
REPLY = 0x4
NEED_REPLY = 0x8

F_PROTOCOL_FEATURES = 1 << 30
F_VERSION_1 = 1 << 32
F_RING_PACKED = 1 << 34
F_NOTIFICATION_DATA = 1 << 38
F_LOG_ALL = 1 << 26
F_NET_CTRL_VQ = 1 << 17
F_NET_MQ = 1 << 22
PF_MQ = 1 << 0
PF_REPLY_ACK = 1 << 3
PF_CONFIG = 1 << 9

VRING_DESC_F_NEXT = 1
VRING_DESC_F_WRITE = 2

NET_HDR = 12            # struct virtio_net_hdr_mrg_rxbuf (VERSION_1)
MEM_SIZE = 2 << 20
QVA_BASE = 0x7f1200000000   # the frontend's "virtual address" of MEM
GPA_BASE = 0x40000000


class Closed(Exception):
    """The backend closed the connection."""


class Frontend:
    """One connection to the export's socket."""

    def __init__(self, path, timeout=10):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.sock.connect(path)
                break
            except (FileNotFoundError, ConnectionRefusedError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        self.sock.settimeout(timeout)
        self.memfd = None
        self.mem = None

    def close(self):
        self.sock.close()
        if self.mem is not None:
            self.mem.close()
        if self.memfd is not None:
            os.close(self.memfd)

    # Messages

    def send(self, req, payload=b'', fds=(), flags=VERSION, size=None):
        hdr = struct.pack('<III', req, flags,
                          len(payload) if size is None else size)
        socket.send_fds(self.sock, [hdr + payload], list(fds))

    def _recv_exact(self, n):
        buf = b''
        while len(buf) < n:
            try:
                chunk = self.sock.recv(n - len(buf))
            except ConnectionResetError as e:
                raise Closed() from e
            if not chunk:
                raise Closed()
            buf += chunk
        return buf

    def recv(self):
        req, flags, size = struct.unpack('<III', self._recv_exact(12))
        return req, flags, self._recv_exact(size) if size else b''

    def request(self, req, payload=b'', fds=()):
        """Send REQ and return its reply's payload."""
        self.send(req, payload, fds)
        rreq, flags, data = self.recv()
        assert rreq == req and flags & REPLY, (req, rreq, flags)
        return data

    def get_u64(self, req):
        return struct.unpack('<Q', self.request(req))[0]

    def set_u64(self, req, val, fds=()):
        self.send(req, struct.pack('<Q', val), fds)

    def acked(self, req, payload=b'', fds=()):
        """Send REQ with NEED_REPLY; the backend's u64 answer (0 = ok)."""
        self.send(req, payload, fds, flags=VERSION | NEED_REPLY)
        rreq, _, data = self.recv()
        assert rreq == req
        return struct.unpack('<Q', data)[0]

    def wait_closed(self, timeout=10):
        """True when the backend closes the connection within TIMEOUT."""
        self.sock.settimeout(timeout)
        try:
            while True:
                self.recv()
        except Closed:
            return True
        except socket.timeout:
            return False

    # Memory

    def map_memory(self):
        self.memfd = os.memfd_create('vufrontend', 0)
        os.ftruncate(self.memfd, MEM_SIZE)
        self.mem = mmap.mmap(self.memfd, MEM_SIZE)

    @staticmethod
    def region(gpa, size, qva, offset=0):
        return struct.pack('<QQQQ', gpa, size, qva, offset)

    def set_mem_table(self, regions=None, fds=None):
        if regions is None:
            regions = [self.region(GPA_BASE, MEM_SIZE, QVA_BASE)]
            fds = [self.memfd]
        payload = struct.pack('<II', len(regions), 0) + b''.join(regions)
        self.send(SET_MEM_TABLE, payload, fds)

    def set_state(self, req, idx, num):
        self.send(req, struct.pack('<II', idx, num))


class SplitQueue:
    """A split virtqueue in the frontend's memory at OFFSET."""

    def __init__(self, fe, idx, offset, num=64, buf_offset=None):
        self.fe, self.idx, self.num = fe, idx, num
        self.desc = offset
        self.avail = offset + 16 * num
        self.used = (self.avail + 6 + 2 * num + 3) & ~3
        self.bufs = buf_offset if buf_offset is not None else offset + 0x4000
        self.avail_idx = 0
        self.used_seen = 0
        self.kick = os.eventfd(0, os.EFD_NONBLOCK)
        self.call = os.eventfd(0, os.EFD_NONBLOCK)
        fe.mem[offset:offset + 0x4000] = bytes(0x4000)

    def setup(self, base=0, enable=True):
        fe = self.fe
        fe.set_state(SET_VRING_NUM, self.idx, self.num)
        fe.set_state(SET_VRING_BASE, self.idx, base)
        fe.send(SET_VRING_ADDR, struct.pack(
            '<IIQQQQ', self.idx, 0, QVA_BASE + self.desc,
            QVA_BASE + self.used, QVA_BASE + self.avail, 0))
        fe.set_u64(SET_VRING_CALL, self.idx, [self.call])
        fe.set_u64(SET_VRING_KICK, self.idx, [self.kick])
        if enable:
            fe.set_state(SET_VRING_ENABLE, self.idx, 1)

    def put_desc(self, i, addr, length, flags, nxt=0):
        struct.pack_into('<QIHH', self.fe.mem, self.desc + 16 * i,
                         addr, length, flags, nxt)

    def add(self, head):
        """Make the chain at HEAD available."""
        slot = self.avail + 4 + 2 * (self.avail_idx % self.num)
        struct.pack_into('<H', self.fe.mem, slot, head)
        self.avail_idx = (self.avail_idx + 1) & 0xffff
        struct.pack_into('<H', self.fe.mem, self.avail + 2, self.avail_idx)

    def buf(self, i, size=2048):
        """(memory offset, guest physical address) of buffer I."""
        off = self.bufs + i * size
        return off, GPA_BASE + off

    def notify(self):
        os.eventfd_write(self.kick, 1)

    def used_idx(self):
        return struct.unpack_from('<H', self.fe.mem, self.used + 2)[0]

    def pop_used(self):
        """The used entries (id, len) not seen yet."""
        out = []
        while self.used_seen != self.used_idx():
            e = self.used + 4 + 8 * (self.used_seen % self.num)
            out.append(struct.unpack_from('<II', self.fe.mem, e))
            self.used_seen = (self.used_seen + 1) & 0xffff
        return out

    def wait_call(self, timeout=10):
        r, _, _ = select.select([self.call], [], [], timeout)
        if not r:
            return False
        os.eventfd_read(self.call)
        return True


def net_frame(seq, length=64):
    """An Ethernet frame (broadcast, ether type 0x88b5) carrying SEQ."""
    head = b'\xff' * 6 + b'\x02\x00\x00\x00\x00\x01' + b'\x88\xb5'
    body = struct.pack('<I', seq) + bytes((seq + i) & 0xff
                                          for i in range(length - 18))
    return head + body


def negotiate(fe, features=F_VERSION_1):
    """Features, protocol features and ownership, as a frontend starts."""
    offered = fe.get_u64(GET_FEATURES)
    fe.set_u64(SET_FEATURES, features | F_PROTOCOL_FEATURES)
    proto = fe.get_u64(GET_PROTOCOL_FEATURES)
    fe.set_u64(SET_PROTOCOL_FEATURES, proto & (PF_MQ | PF_REPLY_ACK |
                                               PF_CONFIG))
    fe.send(SET_OWNER)
    return offered, proto


def start_net(fe, features=F_VERSION_1, num=64):
    """Memory, negotiation and a running receive/transmit pair."""
    fe.map_memory()
    negotiate(fe, features)
    fe.set_mem_table()
    return start_pair(fe, 0, num)


def start_pair(fe, pair, num=64):
    """Queue pair PAIR (receive 2 * PAIR, transmit 2 * PAIR + 1) running,
    in the 1 MiB of memory at PAIR MiB."""
    base = pair << 20
    rx = SplitQueue(fe, 2 * pair, base, num, buf_offset=base + 0x10000)
    tx = SplitQueue(fe, 2 * pair + 1, base + 0x8000, num,
                    buf_offset=base + 0x90000)
    rx.setup()
    tx.setup()
    return rx, tx


def post_rx(rx, count, size=2048):
    for i in range(count):
        _, gpa = rx.buf(i, size)
        rx.put_desc(i, gpa, size, VRING_DESC_F_WRITE)
        rx.add(i)
    rx.notify()


def send_tx(tx, frames, first=0):
    for n, frame in enumerate(frames):
        i = (first + n) % tx.num
        off, gpa = tx.buf(i)
        tx.fe.mem[off:off + NET_HDR + len(frame)] = bytes(NET_HDR) + frame
        tx.put_desc(i, gpa, NET_HDR + len(frame), 0)
        tx.add(i)
    tx.notify()
