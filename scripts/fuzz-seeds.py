#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Write the seed corpus for the virtio-mdev generic-fuzz configs.

fuzz-seeds.py OUTDIR RAM_BASE

A generic-fuzz input is a list of operations separated by "FUZZ"; each
starts with an opcode byte (tests/qtest/fuzz/generic_fuzz.c, enum cmds).
MMIO operations name a fuzzed region by index ("base", modulo the number
of regions: here the two "virtio-mdev" windows) and an offset into it.
The seeds bring a device up the way a driver does, so the fuzzer starts
from inputs that reach the rings and the backends rather than from the
magic register:

  probe     identity registers and config space only
  bringup   status, features, both queues, DRIVER_OK, one kick
  packed    the same with VIRTIO_F_RING_PACKED
  reset     bring-up, kick, reset in the middle, bring-up again
  legacy    v1 registers (GuestPageSize, QueuePFN) on a v2 device
  net-tx    one frame through the NIC: DMA patterns, in the order the
            device reads, make a TX chain and an RX buffer
  blk-read  one read request to the disk, the same way

generic-fuzz answers each guest-memory read the device makes with the
next of the input's DMA patterns, so a sequence of patterns in the
device's read order (avail index, ring entry, descriptors, data) forms
valid rings: without them the fuzzer has to find whole descriptors by
chance.  (Reads through a MemoryRegionCache report an offset into the RAM
region, which is the guest address only where RAM starts at 0: q35.)

Each is written for both regions (base 0 and 1), with guest addresses in
the machine's RAM at RAM_BASE.
"""

import os
import struct
import sys

SEP = b"FUZZ"
OP_READ, OP_WRITE, OP_ADD_DMA_PATTERN, OP_CLOCK_STEP = 2, 3, 7, 9
LONG = 2

# virtio-mmio register offsets (virtio 1.x, 4.2.2)
MAGIC, VERSION, DEVICE_ID = 0x000, 0x004, 0x008
DEV_FEAT, DEV_FEAT_SEL = 0x010, 0x014
DRV_FEAT, DRV_FEAT_SEL = 0x020, 0x024
GUEST_PAGE_SIZE = 0x028
QUEUE_SEL, QUEUE_NUM_MAX, QUEUE_NUM = 0x030, 0x034, 0x038
QUEUE_ALIGN, QUEUE_PFN = 0x03c, 0x040
QUEUE_READY, QUEUE_NOTIFY = 0x044, 0x050
INT_STATUS, INT_ACK, STATUS = 0x060, 0x064, 0x070
DESC_LO, DESC_HI, DRV_LO, DRV_HI, DEV_LO, DEV_HI = (
    0x080, 0x084, 0x090, 0x094, 0x0a0, 0x0a4)
CONFIG_GEN, CONFIG = 0x0fc, 0x100

ACK, DRIVER, DRIVER_OK, FEATURES_OK = 1, 2, 4, 8
VERSION_1_HI = 1 << 0          # bit 32: VIRTIO_F_VERSION_1
RING_PACKED_HI = 1 << 2        # bit 34: VIRTIO_F_RING_PACKED


def rd(base, off):
    return bytes([OP_READ]) + struct.pack("<BBxxI", LONG, base, off)


def wr(base, off, val):
    return bytes([OP_WRITE]) + struct.pack("<BBxxIQ", LONG, base, off, val)


def pattern(data):
    return bytes([OP_ADD_DMA_PATTERN]) + struct.pack("<BB", 0, 0) + data


def desc(addr, length, flags=0, nxt=0):
    return struct.pack("<QIHH", addr, length, flags, nxt)


def dma_pattern(ram):
    """A split descriptor to RAM + 64 KiB, 256 bytes, device-writable."""
    return pattern(desc(ram + 0x10000, 256, 2))


def avail_one():
    """Avail index 1, then ring entry 0: one new chain, head 0."""
    return [pattern(struct.pack("<H", 1)), pattern(struct.pack("<H", 0))]


def net_tx(ram):
    """TX chain (header + 60-byte frame), an RX buffer, the frame, the
    RX buffer's header (num_buffers), then the TX index as it was for
    the next look."""
    return (avail_one() + [pattern(desc(ram + 0x200000, 72))] +
            avail_one() + [pattern(desc(ram + 0x210000, 2048, 2))] +
            [pattern(bytes(range(72))), pattern(bytes(2)),
             pattern(struct.pack("<H", 1))])


def blk_read(ram):
    """A 3-descriptor read: header, 512 bytes of data, status."""
    hdr = struct.pack("<IIQ", 0, 0, 8)          # VIRTIO_BLK_T_IN, sector 8
    return (avail_one() +
            [pattern(desc(ram + 0x200000, 16, 1, 1)),
             pattern(desc(ram + 0x201000, 512, 3, 2)),
             pattern(desc(ram + 0x202000, 1, 2)),
             pattern(hdr)])


def queue(base, q, ram, num=8):
    ring = ram + 0x100000 + q * 0x4000
    return [wr(base, QUEUE_SEL, q), rd(base, QUEUE_NUM_MAX),
            wr(base, QUEUE_NUM, num),
            wr(base, DESC_LO, ring), wr(base, DESC_HI, 0),
            wr(base, DRV_LO, ring + 0x1000), wr(base, DRV_HI, 0),
            wr(base, DEV_LO, ring + 0x2000), wr(base, DEV_HI, 0),
            wr(base, QUEUE_READY, 1)]


def bringup(base, ram, hi_features, lo_features=0xffffffff):
    ops = [wr(base, STATUS, 0), wr(base, STATUS, ACK),
           wr(base, STATUS, ACK | DRIVER),
           wr(base, DEV_FEAT_SEL, 0), rd(base, DEV_FEAT),
           wr(base, DEV_FEAT_SEL, 1), rd(base, DEV_FEAT),
           wr(base, DRV_FEAT_SEL, 0), wr(base, DRV_FEAT, lo_features),
           wr(base, DRV_FEAT_SEL, 1), wr(base, DRV_FEAT, hi_features),
           wr(base, STATUS, ACK | DRIVER | FEATURES_OK),
           rd(base, STATUS)]
    for q in range(2):
        ops += queue(base, q, ram)
    ops += [wr(base, STATUS, ACK | DRIVER | FEATURES_OK | DRIVER_OK),
            dma_pattern(ram)]
    return ops


def kick(base):
    return [wr(base, QUEUE_NOTIFY, 0), wr(base, QUEUE_NOTIFY, 1),
            bytes([OP_CLOCK_STEP]), rd(base, INT_STATUS),
            wr(base, INT_ACK, 3)]


def seeds(base, ram):
    probe = [rd(base, MAGIC), rd(base, VERSION), rd(base, DEVICE_ID),
             rd(base, CONFIG_GEN), rd(base, CONFIG), rd(base, CONFIG + 4)]
    legacy = [wr(base, STATUS, ACK | DRIVER),
              wr(base, GUEST_PAGE_SIZE, 4096), wr(base, QUEUE_SEL, 0),
              wr(base, QUEUE_NUM, 8), wr(base, QUEUE_ALIGN, 4096),
              wr(base, QUEUE_PFN, (ram + 0x100000) >> 12),
              wr(base, STATUS, ACK | DRIVER | DRIVER_OK)] + kick(base)
    return {
        "probe": probe,
        "bringup": bringup(base, ram, VERSION_1_HI) + kick(base),
        "packed": bringup(base, ram, VERSION_1_HI | RING_PACKED_HI)
                  + kick(base),
        "reset": bringup(base, ram, VERSION_1_HI) + kick(base)
                 + [wr(base, STATUS, 0)]
                 + bringup(base, ram, VERSION_1_HI) + kick(base),
        "legacy": legacy,
        "net-tx": bringup(base, ram, VERSION_1_HI, 0)[:-1] + net_tx(ram)
                  + [wr(base, QUEUE_NOTIFY, 1), bytes([OP_CLOCK_STEP]),
                     rd(base, INT_STATUS), wr(base, INT_ACK, 3)],
        "blk-read": bringup(base, ram, VERSION_1_HI, 0)[:-1] + blk_read(ram)
                    + [wr(base, QUEUE_NOTIFY, 0), bytes([OP_CLOCK_STEP]),
                       rd(base, INT_STATUS), wr(base, INT_ACK, 3)],
    }


def main():
    out, ram = sys.argv[1], int(sys.argv[2], 0)
    os.makedirs(out, exist_ok=True)
    for base in (0, 1):
        for name, ops in seeds(base, ram).items():
            with open(os.path.join(out, f"{name}-{base}"), "wb") as f:
                f.write(SEP.join(ops))


if __name__ == "__main__":
    main()
