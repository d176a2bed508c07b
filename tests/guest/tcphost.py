# SPDX-License-Identifier: GPL-2.0-or-later
"""The host's end of a guest's TCP streams through a tap device.

A case (or a benchmark) that boots its guest on '-netdev tap' runs in a
network namespace of its own, entered by the calling thread only (other
cases running meanwhile stay where they are): QEMU, started from that
thread, makes the tap device there; the host's address goes on it and the
host's TCP ends are sockets of that namespace.  Nothing touches the
machine's own network.  Needs root and /dev/net/tun, as QEMU's tap does.

The streams carry tcpstream.c's pattern; each end checks every byte.
"""

import ctypes
import os
import shutil
import socket
import subprocess
import threading
import time

CLONE_NEWNET = 0x40000000
TAP_IF = 'qmtap0'
HOST_IP = '10.0.3.1'
GUEST_IP = '10.0.3.15'
PREFIX = 24
PORT = 5201

PERIOD = 1048573            # as tcpstream.c
SEED = 0x6d646576
CHUNK = 256 * 1024

_libc = ctypes.CDLL(None, use_errno=True)
_pattern = None
_pattern_lock = threading.Lock()


def available():
    """None when tap cases can run here, else why not."""
    if os.geteuid() != 0:
        return 'needs root (network namespace, tap device)'
    if not os.access('/dev/net/tun', os.R_OK | os.W_OK):
        return 'needs /dev/net/tun'
    if not shutil.which('ip'):
        return "needs 'ip' (iproute2)"
    return None


def pattern():
    """tcpstream.c's block, followed by its first CHUNK bytes again."""
    global _pattern
    with _pattern_lock:
        if _pattern is None:
            out = bytearray(PERIOD)
            x = SEED
            for i in range(PERIOD):
                x ^= (x << 13) & 0xffffffff
                x ^= x >> 17
                x ^= (x << 5) & 0xffffffff
                out[i] = x & 0xff
            _pattern = bytes(out + out[:CHUNK])
        return _pattern


def _ns_call(fn, *args):
    if fn(*args) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


class TapNet:
    """A network namespace for the calling thread with TAP_IF in it, once
    QEMU made it (configure()), and the host's TCP ends.  Use as a context
    manager, in the thread that starts QEMU."""

    def __init__(self, nbytes, dirs=('send', 'recv')):
        self.nbytes = nbytes
        self.dirs = dirs            # the guest's (init: lc_tcp)
        self.home = None
        self.listener = None
        self.sent = None            # host -> guest: bytes, secs, error
        self.received = None        # guest -> host: bytes, intact, secs
        self.threads = []

    def __enter__(self):
        self.home = os.open('/proc/thread-self/ns/net', os.O_RDONLY)
        try:
            _ns_call(_libc.unshare, CLONE_NEWNET)
        except OSError:
            os.close(self.home)
            raise
        # No IPv6 on new interfaces: the host sends nothing of its own.
        with open('/proc/sys/net/ipv6/conf/default/disable_ipv6', 'w') as f:
            f.write('1')
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(('0.0.0.0', PORT))
        self.listener.listen(1)
        self.listener.settimeout(600)
        t = threading.Thread(target=self._receive, daemon=True)
        t.start()
        self.threads.append(t)
        return self

    def __exit__(self, *exc):
        self.listener.close()
        _ns_call(_libc.setns, self.home, CLONE_NEWNET)
        os.close(self.home)
        for t in self.threads:
            t.join(timeout=10)
        return False

    def configure(self, timeout=30):
        """Put the host's address on TAP_IF once QEMU has made it."""
        deadline = time.monotonic() + timeout
        while subprocess.run(['ip', 'link', 'show', TAP_IF],
                             capture_output=True).returncode:
            if time.monotonic() > deadline:
                raise RuntimeError('QEMU made no %s' % TAP_IF)
            time.sleep(0.1)
        subprocess.run(['ip', 'addr', 'add', '%s/%d' % (HOST_IP, PREFIX),
                        'dev', TAP_IF], check=True)
        subprocess.run(['ip', 'link', 'set', TAP_IF, 'up'], check=True)

    def guest_opts(self):
        """The guest's kernel options for these streams."""
        return {'lc_ip': '%s/%d' % (GUEST_IP, PREFIX),
                'lc_tcp': ':'.join([HOST_IP, str(PORT), str(self.nbytes)]
                                   + list(self.dirs))}

    def _receive(self):
        """The guest's 'send': take its stream, check every byte."""
        try:
            conn, _ = self.listener.accept()
        except OSError:
            return                      # closed: the case ended without it
        pat = memoryview(pattern())
        buf = bytearray(CHUNK)
        view = memoryview(buf)
        done, intact, start = 0, True, time.monotonic()
        with conn:
            conn.settimeout(600)
            while True:
                try:
                    n = conn.recv_into(buf)
                except OSError:
                    break
                if not n:
                    break
                off = done % PERIOD
                if intact and view[:n] != pat[off:off + n]:
                    intact = False
                done += n
        self.received = (done, intact, time.monotonic() - start)

    def send_to_guest(self):
        """The guest's 'recv' listens (TCPSTREAM-LISTEN): send it the
        stream, from a thread of our namespace (the socket is made here)."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        t = threading.Thread(target=self._send, args=(sock,), daemon=True)
        t.start()
        self.threads.append(t)

    def _send(self, sock):
        pat = memoryview(pattern())
        done, start, error = 0, time.monotonic(), None
        try:
            sock.settimeout(600)
            sock.connect((GUEST_IP, PORT))
            while done < self.nbytes:
                off = done % PERIOD
                n = min(CHUNK, self.nbytes - done)
                sock.sendall(pat[off:off + n])
                done += n
            sock.shutdown(socket.SHUT_WR)
            sock.recv(1)                # the guest closes when it has all
        except OSError as e:
            error = str(e)
        finally:
            sock.close()
        self.sent = (done, time.monotonic() - start, error)
