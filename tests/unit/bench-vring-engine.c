/*
 * Benchmark of the vring engine against memcpy of the same bytes
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * A loopback moves each frame from a transmit chain into a receive chain;
 * the floor is one memcpy of the frame.  This runs the engine over plain
 * memory (no guest, no QEMU): a mock driver posts a TX and an RX chain per
 * frame on rings of 256, the engine pops both, copies, fills and flushes
 * them, then the driver reaps the used entries.  It prints, for split and
 * packed rings and a few frame sizes, frames per second and the ratio to
 * memcpy of the same frames measured in the same run:
 *
 *   BENCH ring=split size=1514 engine_mpps=... memcpy_mpps=... ratio=0.xx
 *
 * Usage: bench-vring-engine [SECONDS_PER_CASE]
 */

#include "qemu/osdep.h"
#include "qemu/atomic.h"
#include "qemu/bswap.h"
#include "hw/virtio/vring-engine.h"

#define MEM_SIZE    (16 << 20)
#define NUM         256
#define DESC        0x0
#define DRIVER      0x1000
#define DEVICE      0x2000
#define RX_DESC     0x4000
#define RX_DRIVER   0x5000
#define RX_DEVICE   0x6000
#define TX_BUFS     0x100000
#define RX_BUFS     0x800000
#define BUF_STRIDE  0x1000

static uint8_t *mem;

static bool b_read(void *o, uint64_t a, void *buf, uint64_t len)
{
    if (a > MEM_SIZE || len > MEM_SIZE - a) {
        return false;
    }
    memcpy(buf, mem + a, len);
    return true;
}

static bool b_write(void *o, uint64_t a, const void *buf, uint64_t len)
{
    if (a > MEM_SIZE || len > MEM_SIZE - a) {
        return false;
    }
    memcpy(mem + a, buf, len);
    return true;
}

static bool b_ld16(void *o, uint64_t a, uint16_t *val)
{
    if (a > MEM_SIZE - 2) {
        return false;
    }
    *val = le16_to_cpu(qatomic_read((uint16_t *)(mem + a)));
    return true;
}

static bool b_st16(void *o, uint64_t a, uint16_t val)
{
    if (a > MEM_SIZE - 2) {
        return false;
    }
    qatomic_set((uint16_t *)(mem + a), cpu_to_le16(val));
    return true;
}

static void *b_map(void *o, uint64_t a, uint64_t *len, bool w)
{
    if (a >= MEM_SIZE) {
        return NULL;
    }
    *len = MIN(*len, MEM_SIZE - a);
    return mem + a;
}

static void b_unmap(void *o, void *p, uint64_t len, bool w, uint64_t al)
{
}

static const VringMemOps bench_mem = {
    .read = b_read, .write = b_write, .ld16 = b_ld16, .st16 = b_st16,
    .map = b_map, .unmap = b_unmap,
};

typedef struct BDriver {
    uint64_t desc, driver, device;
    bool packed;
    uint16_t next;          /* split: avail idx; packed: position */
    bool wrap;
    uint16_t used_seen;     /* split: used idx; packed: position */
    bool used_wrap;
} BDriver;

/* Post one single-buffer chain at slot/position; returns the slot used. */
static void b_post(BDriver *d, uint64_t buf, uint32_t len, bool write)
{
    uint16_t slot = d->packed ? d->next : d->next % NUM;
    uint8_t *p = mem + d->desc + 16 * slot;

    stq_le_p(p, buf);
    stl_le_p(p + 8, len);
    if (d->packed) {
        stw_le_p(p + 12, slot);
        stw_le_p(p + 14, (write ? 2 : 0) | (d->wrap ? 1 << 7 : 1 << 15));
        if (++d->next == NUM) {
            d->next = 0;
            d->wrap = !d->wrap;
        }
    } else {
        stw_le_p(p + 12, write ? 2 : 0);
        stw_le_p(mem + d->driver + 4 + 2 * slot, slot);
        d->next++;
        stw_le_p(mem + d->driver + 2, d->next);
    }
}

/* Reap used entries (the driver's side of the work). */
static void b_reap(BDriver *d)
{
    if (d->packed) {
        for (;;) {
            uint16_t fl = lduw_le_p(mem + d->desc + 16 * d->used_seen + 14);

            if (!!(fl & (1 << 7)) != d->used_wrap) {
                return;
            }
            if (++d->used_seen == NUM) {
                d->used_seen = 0;
                d->used_wrap = !d->used_wrap;
            }
        }
    }
    d->used_seen = lduw_le_p(mem + d->device + 2);
}

static double now(void)
{
    return g_get_monotonic_time() / 1e6;
}

/* Frames per second through the engine for @size-byte frames. */
static double run_engine(bool packed, uint32_t size, double secs)
{
    uint64_t features = (1ULL << VRING_F_VERSION_1) |
                        (packed ? 1ULL << VRING_F_RING_PACKED : 0);
    VringConfig tcfg = { features, NUM, DESC, DRIVER, DEVICE };
    VringConfig rcfg = { features, NUM, RX_DESC, RX_DRIVER, RX_DEVICE };
    BDriver td = { DESC, DRIVER, DEVICE, packed, 0, true, 0, true };
    BDriver rd = { RX_DESC, RX_DRIVER, RX_DEVICE, packed, 0, true, 0, true };
    Vring tx, rx;
    VringChain tc, rc;
    uint64_t frames = 0;
    double t0, t;

    memset(mem, 0, 0x10000);
    vring_init_mem(&tx, &bench_mem, NULL);
    vring_init_mem(&rx, &bench_mem, NULL);
    g_assert(vring_setup(&tx, &tcfg) == 0);
    g_assert(vring_setup(&rx, &rcfg) == 0);
    vring_chain_init(&tc, NUM);
    vring_chain_init(&rc, NUM);

    t0 = now();
    do {
        /* a batch of 64 frames, like mvnet's burst */
        for (int i = 0; i < 64; i++) {
            uint64_t slot = (td.next % NUM);

            b_post(&td, TX_BUFS + slot * BUF_STRIDE, size, false);
            b_post(&rd, RX_BUFS + slot * BUF_STRIDE, BUF_STRIDE, true);
        }
        for (int i = 0; i < 64; i++) {
            g_assert(vring_pop(&tx, &tc, true, false) == 1);
            g_assert(vring_pop(&rx, &rc, false, true) == 1);
            g_assert(vring_chain_copy(&rx, &rc, 0, &tx, &tc, 0, size) ==
                     size);
            g_assert(vring_fill(&rx, &rc, size) == 0);
            g_assert(vring_fill(&tx, &tc, 0) == 0);
        }
        g_assert(vring_flush(&rx) == 0);
        g_assert(vring_flush(&tx) == 0);
        vring_need_notify(&rx);
        vring_need_notify(&tx);
        b_reap(&td);
        b_reap(&rd);
        frames += 64;
        t = now();
    } while (t - t0 < secs);
    vring_chain_free(&tc);
    vring_chain_free(&rc);
    return frames / (t - t0);
}

/* Frames per second of a bare memcpy of the same frames. */
static double run_memcpy(uint32_t size, double secs)
{
    uint64_t frames = 0;
    double t0 = now(), t;

    do {
        for (int i = 0; i < 64; i++) {
            uint64_t slot = (frames + i) % NUM;

            memcpy(mem + RX_BUFS + slot * BUF_STRIDE,
                   mem + TX_BUFS + slot * BUF_STRIDE, size);
        }
        frames += 64;
        t = now();
    } while (t - t0 < secs);
    return frames / (t - t0);
}

int main(int argc, char **argv)
{
    static const uint32_t sizes[] = { 64, 1514, 4000 };
    double secs = argc > 1 ? atof(argv[1]) : 1.0;

    mem = g_malloc0(MEM_SIZE);
    for (int p = 0; p < 2; p++) {
        for (size_t i = 0; i < G_N_ELEMENTS(sizes); i++) {
            double e = run_engine(p, sizes[i], secs);
            double m = run_memcpy(sizes[i], secs);

            printf("BENCH ring=%s size=%u engine_mpps=%.2f memcpy_mpps=%.2f "
                   "engine_gbps=%.2f ratio=%.3f\n", p ? "packed" : "split",
                   sizes[i], e / 1e6, m / 1e6, e * sizes[i] * 8 / 1e9, e / m);
            fflush(stdout);
        }
    }
    g_free(mem);
    return 0;
}
