/*
 * qtest of virtio-mdev, the mdev core and mvnet
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Everything goes through the device's real MMIO registers and split rings
 * built in guest memory by a small driver here; nothing is mocked.  Runs on
 * x86_64 (pc, q35, microvm: the ISA front-end) and aarch64 (virt: the
 * platform-bus front-end).  Start-up errors are checked by running QEMU
 * and reading its error message.
 */

#include "qemu/osdep.h"
#include "qemu/bswap.h"
#include "qemu/cutils.h"
#include <sched.h>
#include <poll.h>
#include <net/if.h>
#include <linux/if_packet.h>
#include <linux/if_ether.h>
#include <sys/ioctl.h>
#include "libqtest.h"
#include "virtio-mdev-qtest.h"
#include "libqos/fw_cfg.h"
#include "qobject/qdict.h"
#include "qobject/qjson.h"
#include "qobject/qlist.h"
#include "qobject/qstring.h"
#include "standard-headers/linux/virtio_mmio.h"
#include "standard-headers/linux/virtio_config.h"
#include "standard-headers/linux/virtio_net.h"
#include "standard-headers/linux/virtio_ring.h"

#define MAGIC               0x74726976
#define QEMU_VENDOR         0x554d4551
#define X86_BASE            0xfed60000ULL
#define X86_STRIDE          0x1000
#define VIRT_PBUS_BASE      0x0c000000ULL
#define VIRT_PBUS_SPI       112
#define VIRT_FW_CFG         0x09020000ULL
#define QSZ                 16
#define HDR_LEN             12      /* virtio_net_hdr_mrg_rxbuf */
#define LEGACY_HDR_LEN      10      /* virtio_net_hdr */
#define S_ACK_DRIVER        (VIRTIO_CONFIG_S_ACKNOWLEDGE | \
                             VIRTIO_CONFIG_S_DRIVER)

#define F(bit)              (1ULL << (bit))
#define BASE_FEATURES       (F(VIRTIO_F_VERSION_1) | F(VIRTIO_NET_F_MAC) | \
                             F(VIRTIO_NET_F_STATUS) | F(VIRTIO_NET_F_MTU))

typedef struct TQueue {
    uint16_t idx;
    uint64_t desc, avail, used;
    uint16_t avail_idx;
    uint16_t used_seen;
} TQueue;

typedef struct Dev {
    QTestState *qts;
    uint64_t base;
    const char *path;       /* QOM path of the transport */
    bool legacy;
    uint64_t mem;           /* next free guest memory */
    TQueue rx, tx;
} Dev;

static const char *machine;

static bool is_arm(void)
{
    return !strcmp(qtest_get_arch(), "aarch64");
}

static uint64_t ram_base(void)
{
    return is_arm() ? 0x40000000ULL : 0;
}

static uint32_t rd(Dev *d, uint32_t off)
{
    return qtest_readl(d->qts, d->base + off);
}

static void wr(Dev *d, uint32_t off, uint32_t val)
{
    qtest_writel(d->qts, d->base + off, val);
}

static QTestState *start(const char *extra)
{
    return qtest_initf("-M %s%s -nodefaults %s", machine,
                       is_arm() ? " -cpu cortex-a57" : "", extra);
}

/* qom-get @prop of @path; the caller unrefs the whole response. */
static QDict *qom_get(QTestState *qts, const char *path, const char *prop)
{
    QDict *r = qtest_qmp(qts, "{'execute': 'qom-get', 'arguments': "
                         "{'path': %s, 'property': %s}}", path, prop);

    g_assert_true(qdict_haskey(r, "return"));
    return r;
}

/* Bind a Dev to the transport with QOM path @path. */
static void dev_init(Dev *d, QTestState *qts, const char *path)
{
    QDict *r;

    memset(d, 0, sizeof(*d));
    d->qts = qts;
    d->path = path;
    r = qom_get(qts, path, "mmio-base");
    d->base = qdict_get_int(r, "return");
    qobject_unref(r);
    r = qom_get(qts, path, "legacy");
    d->legacy = qdict_get_bool(r, "return");
    qobject_unref(r);
    d->mem = ram_base() + 0x400000;
}

static uint64_t dev_alloc(Dev *d, uint64_t size)
{
    uint64_t a = QEMU_ALIGN_UP(d->mem, 4096);

    d->mem = a + size;
    qtest_memset(d->qts, a, 0, size);
    return a;
}

static char *qom_get_str(QTestState *qts, const char *path, const char *prop)
{
    QDict *r = qom_get(qts, path, prop);
    char *s = g_strdup(qdict_get_str(r, "return"));

    qobject_unref(r);
    return s;
}

/* /objects/<parent>/<uuid>: the mdev instance behind a transport. */
static char *mdev_path(Dev *d, const char *parent)
{
    g_autofree char *uuid = qom_get_str(d->qts, d->path, "mdev-uuid");

    return g_strdup_printf("/objects/%s/%s", parent, uuid);
}

/* Negotiate @features; returns the status byte read back. */
static uint32_t dev_negotiate(Dev *d, uint64_t features)
{
    wr(d, VIRTIO_MMIO_STATUS, 0);
    wr(d, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE);
    wr(d, VIRTIO_MMIO_STATUS, S_ACK_DRIVER);
    wr(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
    wr(d, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)features);
    if (d->legacy) {
        return rd(d, VIRTIO_MMIO_STATUS);
    }
    wr(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
    wr(d, VIRTIO_MMIO_DRIVER_FEATURES, features >> 32);
    wr(d, VIRTIO_MMIO_STATUS, S_ACK_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK);
    return rd(d, VIRTIO_MMIO_STATUS);
}

static void queue_setup(Dev *d, TQueue *q, uint16_t idx)
{
    memset(q, 0, sizeof(*q));
    q->idx = idx;
    q->desc = dev_alloc(d, 3 * 4096);
    q->avail = q->desc + 16 * QSZ;
    wr(d, VIRTIO_MMIO_QUEUE_SEL, idx);
    g_assert_cmpuint(rd(d, VIRTIO_MMIO_QUEUE_NUM_MAX), ==, 256);
    wr(d, VIRTIO_MMIO_QUEUE_NUM, QSZ);
    if (d->legacy) {
        /* Legacy layout: avail after the table, used on the next page. */
        q->used = q->desc + 4096;
        wr(d, VIRTIO_MMIO_QUEUE_ALIGN, 4096);
        wr(d, VIRTIO_MMIO_QUEUE_PFN, q->desc >> 12);
        g_assert_cmpuint(rd(d, VIRTIO_MMIO_QUEUE_PFN), ==, q->desc >> 12);
        return;
    }
    q->avail = q->desc + 0x1000;
    q->used = q->desc + 0x2000;
    g_assert_cmpuint(rd(d, VIRTIO_MMIO_QUEUE_READY), ==, 0);
    wr(d, VIRTIO_MMIO_QUEUE_DESC_LOW, q->desc);
    wr(d, VIRTIO_MMIO_QUEUE_DESC_HIGH, q->desc >> 32);
    wr(d, VIRTIO_MMIO_QUEUE_AVAIL_LOW, q->avail);
    wr(d, VIRTIO_MMIO_QUEUE_AVAIL_HIGH, q->avail >> 32);
    wr(d, VIRTIO_MMIO_QUEUE_USED_LOW, q->used);
    wr(d, VIRTIO_MMIO_QUEUE_USED_HIGH, q->used >> 32);
    wr(d, VIRTIO_MMIO_QUEUE_READY, 1);
    g_assert_cmpuint(rd(d, VIRTIO_MMIO_QUEUE_READY), ==, 1);
}

/* The 64 feature bits the device offers (both DeviceFeatures pages). */
static uint64_t device_features(Dev *d)
{
    uint64_t f;

    wr(d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
    f = rd(d, VIRTIO_MMIO_DEVICE_FEATURES);
    wr(d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
    return f | (uint64_t)rd(d, VIRTIO_MMIO_DEVICE_FEATURES) << 32;
}

/* Full bring-up: features, both queues, DRIVER_OK. */
static void dev_start(Dev *d, uint64_t features)
{
    uint32_t status = dev_negotiate(d, features);

    if (!d->legacy) {
        g_assert_cmphex(status & VIRTIO_CONFIG_S_FEATURES_OK, ==,
                        VIRTIO_CONFIG_S_FEATURES_OK);
    }
    queue_setup(d, &d->rx, 0);
    queue_setup(d, &d->tx, 1);
    wr(d, VIRTIO_MMIO_STATUS, S_ACK_DRIVER | VIRTIO_CONFIG_S_DRIVER_OK |
       (d->legacy ? 0 : VIRTIO_CONFIG_S_FEATURES_OK));
}

static void put_desc(Dev *d, TQueue *q, uint16_t i, uint64_t addr,
                     uint32_t len, uint16_t flags, uint16_t next)
{
    uint8_t b[16];

    stq_le_p(b, addr);
    stl_le_p(b + 8, len);
    stw_le_p(b + 12, flags);
    stw_le_p(b + 14, next);
    qtest_memwrite(d->qts, q->desc + 16 * i, b, sizeof(b));
}

static void avail_push(Dev *d, TQueue *q, uint16_t head)
{
    qtest_writew(d->qts, q->avail + 4 + 2 * (q->avail_idx % QSZ), head);
    q->avail_idx++;
    qtest_writew(d->qts, q->avail + 2, q->avail_idx);
}

static void kick(Dev *d, TQueue *q)
{
    wr(d, VIRTIO_MMIO_QUEUE_NOTIFY, q->idx);
}

static uint16_t used_idx(Dev *d, TQueue *q)
{
    return qtest_readw(d->qts, q->used + 2);
}

static void used_elem(Dev *d, TQueue *q, uint16_t i, uint32_t *id,
                      uint32_t *len)
{
    *id = qtest_readl(d->qts, q->used + 4 + 8 * (i % QSZ));
    *len = qtest_readl(d->qts, q->used + 8 + 8 * (i % QSZ));
}

/*
 * The negative: a bottom half scheduled by an access runs in the next
 * main-loop iteration, so after SETTLE_STEPS round trips what has not
 * happened will not (the device has no timers).
 */
#define SETTLE_STEPS        20

/* Waits (virtio-mdev-qtest.h) until @q's used index reaches @want. */
static bool wait_used(Dev *d, TQueue *q, uint16_t want)
{
    return vmq_wait_readw(d->qts, q->used + 2, want);
}

/* After the device settled, queue @q's used index is still not @want. */
static bool stays_unused(Dev *d, TQueue *q, uint16_t want)
{
    for (int i = 0; i < SETTLE_STEPS; i++) {
        qtest_clock_step(d->qts, 100);
        if (used_idx(d, q) == want) {
            return false;
        }
    }
    return true;
}

/* Wait until the device sets @bit in its status; returns whether it did. */
static bool wait_status(Dev *d, uint32_t bit)
{
    return vmq_wait_readl_bits(d->qts, d->base + VIRTIO_MMIO_STATUS, bit);
}

/* Post a receive buffer of @len bytes in descriptor @slot of @q. */
static uint64_t post_rx_on(Dev *d, TQueue *q, uint16_t slot, uint32_t len)
{
    uint64_t buf = dev_alloc(d, len);

    put_desc(d, q, slot, buf, len, VRING_DESC_F_WRITE, 0);
    avail_push(d, q, slot);
    return buf;
}

/* The same on the first receive queue. */
static uint64_t post_rx(Dev *d, uint16_t slot, uint32_t len)
{
    return post_rx_on(d, &d->rx, slot, len);
}

static void frame_fill(uint8_t *f, size_t len, uint32_t seed)
{
    for (size_t i = 0; i < len; i++) {
        f[i] = seed * 31 + i * 7 + (i >> 8);
    }
}

/* Transmit a @len-byte frame (plus @hdr header bytes) in slot @slot of @q */
static void send_frame_on(Dev *d, TQueue *q, uint16_t slot, size_t hdr,
                          size_t len, uint32_t seed)
{
    g_autofree uint8_t *f = g_malloc0(hdr + len);
    uint64_t buf = dev_alloc(d, hdr + len);

    frame_fill(f + hdr, len, seed);
    qtest_memwrite(d->qts, buf, f, hdr + len);
    put_desc(d, q, slot, buf, hdr + len, 0, 0);
    avail_push(d, q, slot);
}

/* The same on the first transmit queue. */
static void send_frame(Dev *d, uint16_t slot, size_t hdr, size_t len,
                       uint32_t seed)
{
    send_frame_on(d, &d->tx, slot, hdr, len, seed);
}

static void check_rx(Dev *d, uint64_t buf, size_t hdr, size_t len,
                     uint32_t seed, uint16_t num_buffers)
{
    g_autofree uint8_t *want = g_malloc0(len);
    g_autofree uint8_t *got = g_malloc0(hdr + len);

    frame_fill(want, len, seed);
    qtest_memread(d->qts, buf, got, hdr + len);
    g_assert_cmpmem(got + hdr, len, want, len);
    if (hdr == HDR_LEN) {
        g_assert_cmpuint(lduw_le_p(got + 10), ==, num_buffers);
    }
}

/* On a started device: a @len-byte frame goes round, the first of each. */
static void loop_first_frame(Dev *d, size_t len, uint32_t seed)
{
    uint64_t rx = post_rx(d, 0, 2048);

    send_frame(d, 0, HDR_LEN, len, seed);
    kick(d, &d->tx);
    g_assert_true(wait_used(d, &d->rx, 1));
    check_rx(d, rx, HDR_LEN, len, seed, 1);
}

static QDict *qom_get_dict(QTestState *qts, const char *path,
                           const char *prop)
{
    QDict *r = qom_get(qts, path, prop);
    QDict *v = qdict_get_qdict(r, "return");

    qobject_ref(v);
    qobject_unref(r);
    return v;
}

static uint64_t stat_of(Dev *d, const char *queue, const char *field)
{
    g_autofree char *p = mdev_path(d, "mvnet-default");
    QDict *s = qom_get_dict(d->qts, p, queue);
    uint64_t v = qdict_get_int(s, field);

    qobject_unref(s);
    return v;
}

/* ---- identification and registers ---- */

static void test_ids(void)
{
    QTestState *qts = start("-device virtio-mdev-net,id=n0 "
                            "-device virtio-mdev-net,id=n1,legacy=on");
    Dev d, l;

    dev_init(&d, qts, "/machine/peripheral/n0");
    dev_init(&l, qts, "/machine/peripheral/n1");
    if (!is_arm()) {
        g_assert_cmphex(d.base, ==, X86_BASE);
        g_assert_cmphex(l.base, ==, X86_BASE + X86_STRIDE);
    } else {
        g_assert_cmphex(d.base & ~0x1ffffffULL, ==, VIRT_PBUS_BASE);
    }
    g_assert_cmphex(rd(&d, VIRTIO_MMIO_MAGIC_VALUE), ==, MAGIC);
    g_assert_cmpuint(rd(&d, VIRTIO_MMIO_VERSION), ==, 2);
    g_assert_cmpuint(rd(&d, VIRTIO_MMIO_DEVICE_ID), ==, 1);
    g_assert_cmphex(rd(&d, VIRTIO_MMIO_VENDOR_ID), ==, QEMU_VENDOR);
    g_assert_cmphex(rd(&l, VIRTIO_MMIO_MAGIC_VALUE), ==, MAGIC);
    g_assert_cmpuint(rd(&l, VIRTIO_MMIO_VERSION), ==, 1);
    g_assert_cmpuint(rd(&l, VIRTIO_MMIO_DEVICE_ID), ==, 1);
    qtest_quit(qts);
}

static void test_features(void)
{
    QTestState *qts = start("-device virtio-mdev-net,id=n0 "
                            "-device virtio-mdev-net,id=n1,legacy=on");
    uint64_t f;
    Dev d, l;

    dev_init(&d, qts, "/machine/peripheral/n0");
    dev_init(&l, qts, "/machine/peripheral/n1");
    f = device_features(&d);
    g_assert_cmphex(f & BASE_FEATURES, ==, BASE_FEATURES);
    g_assert_true(f & F(VIRTIO_NET_F_MRG_RXBUF));
    g_assert_true(f & F(VIRTIO_RING_F_EVENT_IDX));
    g_assert_true(f & F(VIRTIO_RING_F_INDIRECT_DESC));
    wr(&d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 2);
    g_assert_cmphex(rd(&d, VIRTIO_MMIO_DEVICE_FEATURES), ==, 0);

    /* An accepted subset keeps FEATURES_OK ... */
    g_assert_cmphex(dev_negotiate(&d, BASE_FEATURES) &
                    VIRTIO_CONFIG_S_FEATURES_OK, ==,
                    VIRTIO_CONFIG_S_FEATURES_OK);
    /* ... a feature the device did not offer is rejected. */
    g_assert_cmphex(dev_negotiate(&d, BASE_FEATURES |
                                  F(VIRTIO_NET_F_GUEST_TSO4)) &
                    VIRTIO_CONFIG_S_FEATURES_OK, ==, 0);
    g_assert_cmphex(dev_negotiate(&d, BASE_FEATURES | F(63)) &
                    VIRTIO_CONFIG_S_FEATURES_OK, ==, 0);

    /* Legacy: one 32-bit window, no VERSION_1. */
    wr(&l, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
    f = rd(&l, VIRTIO_MMIO_DEVICE_FEATURES);
    g_assert_true(f & F(VIRTIO_NET_F_MAC));
    wr(&l, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
    g_assert_cmphex(rd(&l, VIRTIO_MMIO_DEVICE_FEATURES), ==, 0);
    /* Modern-only registers do not exist in the legacy layout. */
    g_assert_cmphex(rd(&l, VIRTIO_MMIO_QUEUE_READY), ==, 0);
    g_assert_cmphex(rd(&l, VIRTIO_MMIO_SHM_LEN_LOW), ==, 0);
    g_assert_cmphex(rd(&l, VIRTIO_MMIO_CONFIG_GENERATION), ==, 0);
    qtest_quit(qts);
}

/*
 * The status rules: only reset clears bits, features are fixed at
 * FEATURES_OK, no DRIVER_OK without FEATURES_OK, and a ready queue keeps
 * its ring.  Before, clearing FEATURES_OK and setting it again changed the
 * features under running rings, and QueueReady=1 on a ready queue swapped
 * its ring.
 */
static void test_status_rules(void)
{
    QTestState *qts = start("-device virtio-mdev-net,id=n0");
    uint32_t status = S_ACK_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK;
    uint64_t rx[4];
    Dev d;

    dev_init(&d, qts, "/machine/peripheral/n0");
    /* DRIVER_OK without FEATURES_OK is refused. */
    dev_negotiate(&d, BASE_FEATURES);
    wr(&d, VIRTIO_MMIO_STATUS, 0);
    wr(&d, VIRTIO_MMIO_STATUS, S_ACK_DRIVER);
    wr(&d, VIRTIO_MMIO_STATUS, S_ACK_DRIVER | VIRTIO_CONFIG_S_DRIVER_OK);
    g_assert_cmphex(rd(&d, VIRTIO_MMIO_STATUS), ==, S_ACK_DRIVER);
    /*
     * DEVICE_NEEDS_RESET is the device's to set: a driver's is dropped
     * (before, it was stored and the device looked broken); bits above
     * the status byte are no status.
     */
    wr(&d, VIRTIO_MMIO_STATUS, S_ACK_DRIVER | VIRTIO_CONFIG_S_NEEDS_RESET);
    g_assert_cmphex(rd(&d, VIRTIO_MMIO_STATUS), ==, S_ACK_DRIVER);
    wr(&d, VIRTIO_MMIO_STATUS, 0x100 | S_ACK_DRIVER);
    g_assert_cmphex(rd(&d, VIRTIO_MMIO_STATUS), ==, S_ACK_DRIVER);
    /*
     * Features the device rejects, FEATURES_OK and DRIVER_OK in one write:
     * neither sticks (found with the fuzzing seeds: DRIVER_OK stayed, and
     * the device ran with no features).
     */
    wr(&d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
    wr(&d, VIRTIO_MMIO_DRIVER_FEATURES, 0xffffffff);
    wr(&d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
    wr(&d, VIRTIO_MMIO_DRIVER_FEATURES, 1);
    wr(&d, VIRTIO_MMIO_STATUS, S_ACK_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK |
       VIRTIO_CONFIG_S_DRIVER_OK);
    g_assert_cmphex(rd(&d, VIRTIO_MMIO_STATUS), ==, S_ACK_DRIVER);

    /* Without MRG_RXBUF; then try to add it after FEATURES_OK. */
    dev_start(&d, BASE_FEATURES);
    wr(&d, VIRTIO_MMIO_STATUS, S_ACK_DRIVER);
    g_assert_cmphex(rd(&d, VIRTIO_MMIO_STATUS) & status, ==, status);
    wr(&d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
    wr(&d, VIRTIO_MMIO_DRIVER_FEATURES,
       (uint32_t)(BASE_FEATURES | F(VIRTIO_NET_F_MRG_RXBUF)));
    wr(&d, VIRTIO_MMIO_STATUS, status | VIRTIO_CONFIG_S_DRIVER_OK);

    /* QueueReady=1 on the ready TX queue must not replace its ring. */
    wr(&d, VIRTIO_MMIO_QUEUE_SEL, 1);
    wr(&d, VIRTIO_MMIO_QUEUE_NUM, 8);
    wr(&d, VIRTIO_MMIO_QUEUE_DESC_LOW, dev_alloc(&d, 4096));
    wr(&d, VIRTIO_MMIO_QUEUE_READY, 1);

    /* Still no MRG_RXBUF: a 1000-byte frame does not fit 256 bytes. */
    for (int i = 0; i < 4; i++) {
        rx[i] = post_rx(&d, i, 256);
    }
    send_frame(&d, 0, HDR_LEN, 1000, 1);
    kick(&d, &d.tx);
    g_assert_true(wait_used(&d, &d.tx, 1));
    g_assert_cmpuint(used_idx(&d, &d.rx), ==, 0);
    g_assert_cmpuint(stat_of(&d, "rx-stats", "errors"), ==, 1);
    /* And the original TX ring still carries frames (one that fits). */
    send_frame(&d, 1, HDR_LEN, 200, 2);
    kick(&d, &d.tx);
    g_assert_true(wait_used(&d, &d.tx, 2));
    g_assert_true(wait_used(&d, &d.rx, 1));
    check_rx(&d, rx[0], HDR_LEN, 200, 2, 1);
    qtest_quit(qts);
}

static void test_queues(void)
{
    QTestState *qts = start("-device virtio-mdev-net,id=n0");
    Dev d;

    dev_init(&d, qts, "/machine/peripheral/n0");
    dev_negotiate(&d, BASE_FEATURES);
    wr(&d, VIRTIO_MMIO_QUEUE_SEL, 2);           /* the control queue */
    g_assert_cmpuint(rd(&d, VIRTIO_MMIO_QUEUE_NUM_MAX), ==, 256);
    wr(&d, VIRTIO_MMIO_QUEUE_SEL, 3);
    g_assert_cmpuint(rd(&d, VIRTIO_MMIO_QUEUE_NUM_MAX), ==, 0);
    /* QueueReady on a queue that does not exist stays 0 */
    wr(&d, VIRTIO_MMIO_QUEUE_READY, 1);
    g_assert_cmpuint(rd(&d, VIRTIO_MMIO_QUEUE_READY), ==, 0);

    /* Size 0, above the max, or not a power of 2: the queue stays off. */
    wr(&d, VIRTIO_MMIO_QUEUE_SEL, 0);
    wr(&d, VIRTIO_MMIO_QUEUE_NUM, 0);
    wr(&d, VIRTIO_MMIO_QUEUE_READY, 1);
    g_assert_cmpuint(rd(&d, VIRTIO_MMIO_QUEUE_READY), ==, 0);
    wr(&d, VIRTIO_MMIO_QUEUE_NUM, 12);
    wr(&d, VIRTIO_MMIO_QUEUE_DESC_LOW, ram_base() + 0x400000);
    wr(&d, VIRTIO_MMIO_QUEUE_AVAIL_LOW, ram_base() + 0x401000);
    wr(&d, VIRTIO_MMIO_QUEUE_USED_LOW, ram_base() + 0x402000);
    wr(&d, VIRTIO_MMIO_QUEUE_READY, 1);
    g_assert_cmpuint(rd(&d, VIRTIO_MMIO_QUEUE_READY), ==, 0);
    /* A misaligned used ring is refused too. */
    wr(&d, VIRTIO_MMIO_QUEUE_NUM, 16);
    wr(&d, VIRTIO_MMIO_QUEUE_USED_LOW, ram_base() + 0x402002);
    wr(&d, VIRTIO_MMIO_QUEUE_READY, 1);
    g_assert_cmpuint(rd(&d, VIRTIO_MMIO_QUEUE_READY), ==, 0);

    queue_setup(&d, &d.rx, 0);
    queue_setup(&d, &d.tx, 1);
    wr(&d, VIRTIO_MMIO_QUEUE_SEL, 1);
    wr(&d, VIRTIO_MMIO_QUEUE_READY, 0);
    g_assert_cmpuint(rd(&d, VIRTIO_MMIO_QUEUE_READY), ==, 0);
    wr(&d, VIRTIO_MMIO_QUEUE_SEL, 0);
    g_assert_cmpuint(rd(&d, VIRTIO_MMIO_QUEUE_READY), ==, 1);

    /* Reset clears every queue. */
    wr(&d, VIRTIO_MMIO_STATUS, 0);
    g_assert_cmpuint(rd(&d, VIRTIO_MMIO_STATUS), ==, 0);
    g_assert_cmpuint(rd(&d, VIRTIO_MMIO_QUEUE_READY), ==, 0);
    qtest_quit(qts);
}

static void test_config(void)
{
    QTestState *qts = start("-device virtio-mdev-net,id=n0,"
                            "mac=02:11:22:33:44:55,mtu=9000");
    uint8_t mac[6];
    Dev d;

    dev_init(&d, qts, "/machine/peripheral/n0");
    for (int i = 0; i < 6; i++) {
        mac[i] = qtest_readb(qts, d.base + 0x100 + i);
    }
    g_assert_cmpmem(mac, 6, "\x02\x11\x22\x33\x44\x55", 6);
    g_assert_cmphex(qtest_readw(qts, d.base + 0x100), ==, 0x1102);
    g_assert_cmphex(qtest_readw(qts, d.base + 0x104), ==, 0x5544);
    g_assert_cmphex(qtest_readl(qts, d.base + 0x100), ==, 0x33221102);
    /* status: link up; max_virtqueue_pairs 1; mtu */
    g_assert_cmphex(qtest_readw(qts, d.base + 0x106), ==,
                    VIRTIO_NET_S_LINK_UP);
    g_assert_cmpuint(qtest_readw(qts, d.base + 0x108), ==, 1);
    g_assert_cmpuint(qtest_readw(qts, d.base + 0x10a), ==, 9000);
    g_assert_cmpuint(qtest_readl(qts, d.base + 0x108), ==, 1 | 9000 << 16);
    /* The last byte is readable; past the config size reads 0. */
    g_assert_cmpuint(qtest_readb(qts, d.base + 0x10b), ==, 9000 >> 8);
    g_assert_cmpuint(qtest_readb(qts, d.base + 0x10c), ==, 0);
    g_assert_cmpuint(qtest_readw(qts, d.base + 0x10c), ==, 0);
    g_assert_cmpuint(qtest_readl(qts, d.base + 0x10c), ==, 0);
    g_assert_cmpuint(qtest_readl(qts, d.base + 0x1fc), ==, 0);
    /*
     * An unaligned access across the end is split by the memory core into
     * aligned pieces, each checked: the byte inside reads, the one past
     * the end reads 0.
     */
    g_assert_cmphex(qtest_readw(qts, d.base + 0x10b), ==, 9000 >> 8);
    /* The config space is read-only, before and after negotiation. */
    qtest_writeb(qts, d.base + 0x100, 0xff);
    g_assert_cmpuint(qtest_readb(qts, d.base + 0x100), ==, 0x02);
    dev_negotiate(&d, BASE_FEATURES);
    qtest_writel(qts, d.base + 0x100, 0xffffffff);
    g_assert_cmphex(qtest_readl(qts, d.base + 0x100), ==, 0x33221102);
    qtest_quit(qts);
}

static void test_bad_access(void)
{
    QTestState *qts = start("-device virtio-mdev-net,id=n0");
    Dev d;

    dev_init(&d, qts, "/machine/peripheral/n0");
    /* Registers take only 32-bit accesses. */
    g_assert_cmphex(qtest_readw(qts, d.base + VIRTIO_MMIO_MAGIC_VALUE), ==, 0);
    g_assert_cmphex(qtest_readb(qts, d.base + VIRTIO_MMIO_VERSION), ==, 0);
    g_assert_cmphex(qtest_readq(qts, d.base + VIRTIO_MMIO_MAGIC_VALUE), ==, 0);
    qtest_writew(qts, d.base + VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE);
    g_assert_cmpuint(rd(&d, VIRTIO_MMIO_STATUS), ==, 0);
    /* Read-only registers ignore writes. */
    wr(&d, VIRTIO_MMIO_MAGIC_VALUE, 0);
    wr(&d, VIRTIO_MMIO_DEVICE_ID, 5);
    g_assert_cmphex(rd(&d, VIRTIO_MMIO_MAGIC_VALUE), ==, MAGIC);
    g_assert_cmpuint(rd(&d, VIRTIO_MMIO_DEVICE_ID), ==, 1);
    /* Write-only registers read as 0. */
    wr(&d, VIRTIO_MMIO_QUEUE_SEL, 1);
    g_assert_cmpuint(rd(&d, VIRTIO_MMIO_QUEUE_SEL), ==, 0);
    /* A queue select beyond the slots is ignored. */
    wr(&d, VIRTIO_MMIO_QUEUE_SEL, 1000);
    g_assert_cmpuint(rd(&d, VIRTIO_MMIO_QUEUE_NUM_MAX), ==, 256);
    /* Legacy registers do not exist in the modern layout. */
    wr(&d, VIRTIO_MMIO_QUEUE_PFN, 0x400);
    g_assert_cmpuint(rd(&d, VIRTIO_MMIO_QUEUE_PFN), ==, 0);
    wr(&d, VIRTIO_MMIO_GUEST_PAGE_SIZE, 4096);
    /* Unknown offsets, notifying a queue that does not exist. */
    wr(&d, 0x0f0, 1);
    g_assert_cmpuint(rd(&d, 0x0f0), ==, 0);
    wr(&d, VIRTIO_MMIO_QUEUE_NOTIFY, 7);
    wr(&d, VIRTIO_MMIO_QUEUE_NOTIFY, 0xffff);
    /* No shared memory regions. */
    g_assert_cmphex(rd(&d, VIRTIO_MMIO_SHM_LEN_LOW), ==, 0xffffffff);
    /* Still alive and sane. */
    g_assert_cmphex(rd(&d, VIRTIO_MMIO_MAGIC_VALUE), ==, MAGIC);
    qtest_quit(qts);
}

/* ---- interrupts, datapath ---- */

static void intercept_irq(Dev *d)
{
    if (is_arm()) {
        qtest_irq_intercept_out_named(d->qts, d->path, "sysbus-irq");
    } else {
        qtest_irq_intercept_out(d->qts, d->path);
    }
}

/*
 * Wait for the interrupt line: adaptive moderation may hold a notification
 * for a while (at most 512 us of virtual time after the previous one).
 */
static bool wait_irq(Dev *d)
{
    for (int i = 0; i < 100; i++) {
        if (qtest_get_irq(d->qts, 0)) {
            return true;
        }
        qtest_clock_step(d->qts, 10 * 1000);
    }
    return qtest_get_irq(d->qts, 0);
}

static void test_loopback(bool legacy)
{
    QTestState *qts = start(legacy ? "-device virtio-mdev-net,id=n0,legacy=on"
                                   : "-device virtio-mdev-net,id=n0");
    size_t hdr = legacy ? LEGACY_HDR_LEN : HDR_LEN;
    uint64_t rxbuf[QSZ];
    Dev d;

    dev_init(&d, qts, "/machine/peripheral/n0");
    intercept_irq(&d);
    dev_start(&d, legacy ? F(VIRTIO_NET_F_MAC) : BASE_FEATURES);
    g_assert_false(qtest_get_irq(qts, 0));

    /* Many sizes, in order, each into its own receive buffer. */
    for (unsigned n = 0; n < 40; n++) {
        size_t len = n == 0 ? 60 : n == 1 ? 1514 : 60 + (n * 337) % 1455;
        uint16_t slot = n % QSZ;
        uint32_t id, ulen;

        rxbuf[slot] = post_rx(&d, slot, 2048);
        send_frame(&d, slot, hdr, len, n);
        kick(&d, &d.tx);
        g_assert_true(wait_used(&d, &d.tx, n + 1));
        g_assert_true(wait_used(&d, &d.rx, n + 1));
        used_elem(&d, &d.rx, n, &id, &ulen);
        g_assert_cmpuint(id, ==, slot);
        g_assert_cmpuint(ulen, ==, hdr + len);
        check_rx(&d, rxbuf[slot], hdr, len, n, 1);

        /* A level interrupt: bit 0 until acknowledged. */
        g_assert_true(wait_irq(&d));
        g_assert_cmphex(rd(&d, VIRTIO_MMIO_INTERRUPT_STATUS) &
                        VIRTIO_MMIO_INT_VRING, ==, VIRTIO_MMIO_INT_VRING);
        g_assert_true(qtest_get_irq(qts, 0));
        wr(&d, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);
        g_assert_cmphex(rd(&d, VIRTIO_MMIO_INTERRUPT_STATUS), ==, 0);
        g_assert_false(qtest_get_irq(qts, 0));
    }
    g_assert_cmpuint(stat_of(&d, "tx-stats", "packets"), ==, 40);
    g_assert_cmpuint(stat_of(&d, "rx-stats", "packets"), ==, 40);
    g_assert_cmpuint(stat_of(&d, "tx-stats", "kicks"), ==, 40);

    /* Reset: status 0, queues off, interrupt status and line cleared. */
    rxbuf[0] = post_rx(&d, 0, 2048);
    send_frame(&d, 0, hdr, 100, 99);
    kick(&d, &d.tx);
    g_assert_true(wait_used(&d, &d.rx, 41));
    g_assert_true(wait_irq(&d));
    wr(&d, VIRTIO_MMIO_STATUS, 0);
    g_assert_cmpuint(rd(&d, VIRTIO_MMIO_STATUS), ==, 0);
    g_assert_cmpuint(rd(&d, VIRTIO_MMIO_INTERRUPT_STATUS), ==, 0);
    g_assert_false(qtest_get_irq(qts, 0));
    if (!legacy) {
        wr(&d, VIRTIO_MMIO_QUEUE_SEL, 1);
        g_assert_cmpuint(rd(&d, VIRTIO_MMIO_QUEUE_READY), ==, 0);
    } else {
        wr(&d, VIRTIO_MMIO_QUEUE_SEL, 1);
        g_assert_cmpuint(rd(&d, VIRTIO_MMIO_QUEUE_PFN), ==, 0);
    }
    qtest_quit(qts);
}

static void test_loopback_modern(void)
{
    test_loopback(false);
}

static void test_loopback_legacy(void)
{
    test_loopback(true);
}

static void test_mrg_rxbuf(void)
{
    QTestState *qts = start("-device virtio-mdev-net,id=n0");
    uint64_t buf[4];
    uint8_t *got, want[1000];
    uint32_t id, len;
    Dev d;

    dev_init(&d, qts, "/machine/peripheral/n0");
    dev_start(&d, BASE_FEATURES | F(VIRTIO_NET_F_MRG_RXBUF));
    for (int i = 0; i < 4; i++) {
        buf[i] = post_rx(&d, i, 256);
    }
    send_frame(&d, 0, HDR_LEN, 1000, 7);
    kick(&d, &d.tx);
    g_assert_true(wait_used(&d, &d.tx, 1));
    g_assert_true(wait_used(&d, &d.rx, 4));
    /* 1012 bytes over four 256-byte buffers, num_buffers = 4 */
    got = g_malloc(1024);
    for (int i = 0; i < 4; i++) {
        used_elem(&d, &d.rx, i, &id, &len);
        g_assert_cmpuint(id, ==, i);
        g_assert_cmpuint(len, ==, i < 3 ? 256 : 1012 - 768);
        qtest_memread(qts, buf[i], got + 256 * i, 256);
    }
    g_assert_cmpuint(lduw_le_p(got + 10), ==, 4);
    frame_fill(want, sizeof(want), 7);
    g_assert_cmpmem(got + HDR_LEN, 1000, want, 1000);
    g_free(got);
    qtest_quit(qts);
}

static uint64_t bh_runs(QTestState *qts, const char *mdev)
{
    QDict *r = qom_get(qts, mdev, "bh-runs");
    uint64_t v = qdict_get_int(r, "return");

    qobject_unref(r);
    return v;
}

/*
 * Regression, a guest-triggered busy loop: with MRG_RXBUF, one 64-byte
 * receive buffer and a 1000-byte frame, the frame waits for more buffers.
 * The datapath used to see the same 64 bytes as "available" again, and
 * rescheduled itself for ever (71% of a host CPU with the guest idle).
 * Now it must not run at all until the driver posts more.
 */
static void test_regression_rx_wait_no_spin(void)
{
    QTestState *qts = start("-device virtio-mdev-net,id=n0");
    g_autofree char *mdev = NULL;
    g_autofree uint8_t *got = g_malloc(16 * 64);
    uint8_t want[1000];
    uint64_t rx[16], runs;
    uint32_t id, len;
    Dev d;

    dev_init(&d, qts, "/machine/peripheral/n0");
    mdev = mdev_path(&d, "mvnet-default");
    dev_start(&d, BASE_FEATURES | F(VIRTIO_NET_F_MRG_RXBUF));
    rx[0] = post_rx(&d, 0, 64);
    send_frame(&d, 0, HDR_LEN, 1000, 5);
    kick(&d, &d.tx);
    g_assert_true(stays_unused(&d, &d.tx, 1));
    runs = bh_runs(qts, mdev);
    g_usleep(300 * 1000);
    g_assert_cmpuint(bh_runs(qts, mdev) - runs, ==, 0);

    /* More buffers: the frame goes out over all 16 (1012 bytes). */
    for (int i = 1; i < 16; i++) {
        rx[i] = post_rx(&d, i, 64);
    }
    kick(&d, &d.rx);
    g_assert_true(wait_used(&d, &d.tx, 1));
    g_assert_true(wait_used(&d, &d.rx, 16));
    for (int i = 0; i < 16; i++) {
        used_elem(&d, &d.rx, i, &id, &len);
        g_assert_cmpuint(id, ==, i);
        g_assert_cmpuint(len, ==, i < 15 ? 64 : 1012 - 15 * 64);
        qtest_memread(qts, rx[i], got + 64 * i, 64);
    }
    g_assert_cmpuint(lduw_le_p(got + 10), ==, 16);
    frame_fill(want, sizeof(want), 5);
    g_assert_cmpmem(got + HDR_LEN, 1000, want, 1000);
    qtest_quit(qts);
}

static void test_backpressure(void)
{
    QTestState *qts = start("-device virtio-mdev-net,id=n0");
    uint64_t rx;
    Dev d;

    dev_init(&d, qts, "/machine/peripheral/n0");
    dev_start(&d, BASE_FEATURES);
    /* TX before any RX buffer: the frame waits, it is not dropped. */
    send_frame(&d, 0, HDR_LEN, 500, 1);
    send_frame(&d, 1, HDR_LEN, 600, 2);
    kick(&d, &d.tx);
    g_assert_true(stays_unused(&d, &d.tx, 1));
    g_assert_cmpuint(stat_of(&d, "tx-stats", "drops"), ==, 0);

    /* One RX buffer: one frame goes through, the second keeps waiting. */
    rx = post_rx(&d, 0, 2048);
    kick(&d, &d.rx);
    g_assert_true(wait_used(&d, &d.tx, 1));
    g_assert_true(wait_used(&d, &d.rx, 1));
    check_rx(&d, rx, HDR_LEN, 500, 1, 1);
    g_assert_true(stays_unused(&d, &d.tx, 2));
    rx = post_rx(&d, 1, 2048);
    kick(&d, &d.rx);
    g_assert_true(wait_used(&d, &d.tx, 2));
    check_rx(&d, rx, HDR_LEN, 600, 2, 1);

    /* Too large for the RX chain without MRG_RXBUF: an error, no truncation */
    post_rx(&d, 2, 100);
    send_frame(&d, 2, HDR_LEN, 500, 3);
    kick(&d, &d.tx);
    g_assert_true(wait_used(&d, &d.tx, 3));
    g_assert_cmpuint(used_idx(&d, &d.rx), ==, 2);
    g_assert_cmpuint(stat_of(&d, "rx-stats", "errors"), ==, 1);
    qtest_quit(qts);
}

static void test_link(void)
{
    QTestState *qts = start("-device virtio-mdev-net,id=n0");
    g_autofree char *mdev = NULL;
    uint32_t gen;
    Dev d;

    dev_init(&d, qts, "/machine/peripheral/n0");
    intercept_irq(&d);
    dev_start(&d, BASE_FEATURES);
    mdev = mdev_path(&d, "mvnet-default");
    gen = rd(&d, VIRTIO_MMIO_CONFIG_GENERATION);

    qtest_qmp_assert_success(qts, "{'execute': 'qom-set', 'arguments': "
                             "{'path': %s, 'property': 'link', "
                             "'value': false}}", mdev);
    g_assert_cmphex(rd(&d, VIRTIO_MMIO_INTERRUPT_STATUS), ==,
                    VIRTIO_MMIO_INT_CONFIG);
    g_assert_true(qtest_get_irq(qts, 0));
    g_assert_cmphex(qtest_readw(qts, d.base + 0x106), ==, 0);
    g_assert_cmpuint(rd(&d, VIRTIO_MMIO_CONFIG_GENERATION), !=, gen);
    wr(&d, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_CONFIG);
    g_assert_false(qtest_get_irq(qts, 0));

    /* Link down: transmitted frames complete and count as dropped. */
    post_rx(&d, 0, 2048);
    send_frame(&d, 0, HDR_LEN, 100, 1);
    kick(&d, &d.tx);
    g_assert_true(wait_used(&d, &d.tx, 1));
    g_assert_cmpuint(used_idx(&d, &d.rx), ==, 0);
    g_assert_cmpuint(stat_of(&d, "tx-stats", "drops"), ==, 1);
    wr(&d, VIRTIO_MMIO_INTERRUPT_ACK, rd(&d, VIRTIO_MMIO_INTERRUPT_STATUS));

    qtest_qmp_assert_success(qts, "{'execute': 'qom-set', 'arguments': "
                             "{'path': %s, 'property': 'link', "
                             "'value': true}}", mdev);
    g_assert_cmphex(rd(&d, VIRTIO_MMIO_INTERRUPT_STATUS), ==,
                    VIRTIO_MMIO_INT_CONFIG);
    g_assert_cmphex(qtest_readw(qts, d.base + 0x106), ==,
                    VIRTIO_NET_S_LINK_UP);
    qtest_quit(qts);
}

static int free_udp_port(void);

/*
 * With a netdev the device is a NIC of QEMU's net layer: set_link (named
 * by the -device id) drives the link bit and the config interrupt, and
 * 'info network' lists it with its MAC.
 */
static void test_set_link(void)
{
    int port = free_udp_port();
    g_autofree char *args = g_strdup_printf(
        "-netdev socket,id=s0,udp=127.0.0.1:%d,localaddr=127.0.0.1:%d "
        "-device virtio-mdev-net,id=n0,netdev=s0,mac=02:00:00:00:00:42",
        port, port);
    QTestState *qts = start(args);
    g_autofree char *mdev = NULL;
    g_autofree char *info = NULL;
    QDict *r;
    Dev d;

    dev_init(&d, qts, "/machine/peripheral/n0");
    intercept_irq(&d);
    dev_start(&d, BASE_FEATURES);
    mdev = mdev_path(&d, "mvnet-default");

    info = qtest_hmp(qts, "info network");
    g_assert_nonnull(strstr(info, "n0: index=0,type=nic,model=virtio-mdev-net,"
                                  "macaddr=02:00:00:00:00:42"));

    qtest_qmp_assert_success(qts, "{'execute': 'set_link', 'arguments': "
                             "{'name': 'n0', 'up': false}}");
    g_assert_cmphex(rd(&d, VIRTIO_MMIO_INTERRUPT_STATUS), ==,
                    VIRTIO_MMIO_INT_CONFIG);
    g_assert_cmphex(qtest_readw(qts, d.base + 0x106), ==, 0);
    r = qtest_qmp(qts, "{'execute': 'qom-get', 'arguments': "
                  "{'path': %s, 'property': 'link'}}", mdev);
    g_assert_false(qdict_get_bool(r, "return"));
    qobject_unref(r);
    wr(&d, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_CONFIG);

    qtest_qmp_assert_success(qts, "{'execute': 'set_link', 'arguments': "
                             "{'name': 'n0', 'up': true}}");
    g_assert_cmphex(rd(&d, VIRTIO_MMIO_INTERRUPT_STATUS), ==,
                    VIRTIO_MMIO_INT_CONFIG);
    g_assert_cmphex(qtest_readw(qts, d.base + 0x106), ==,
                    VIRTIO_NET_S_LINK_UP);
    wr(&d, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_CONFIG);

    /* The netdev's own link: set_link on it takes ours down too. */
    qtest_qmp_assert_success(qts, "{'execute': 'set_link', 'arguments': "
                             "{'name': 's0', 'up': false}}");
    g_assert_cmphex(rd(&d, VIRTIO_MMIO_INTERRUPT_STATUS), ==,
                    VIRTIO_MMIO_INT_CONFIG);
    g_assert_cmphex(qtest_readw(qts, d.base + 0x106), ==, 0);
    qtest_quit(qts);
}

/* A UDP port nobody uses now (the kernel's choice for an unbound socket). */
static int free_udp_port(void)
{
    struct sockaddr_in a = { .sin_family = AF_INET };
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_DGRAM, 0);

    g_assert_cmpint(fd, >=, 0);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    g_assert_cmpint(bind(fd, (struct sockaddr *)&a, sizeof(a)), ==, 0);
    g_assert_cmpint(getsockname(fd, (struct sockaddr *)&a, &len), ==, 0);
    close(fd);
    return ntohs(a.sin_port);
}

/*
 * netdev=: transmitted frames go to the network backend, frames from it
 * fill the RX ring.  A UDP socket looped to itself sends every frame back.
 */
static void test_netdev(void)
{
    int port = free_udp_port();
    g_autofree char *args = g_strdup_printf(
        "-netdev socket,id=s0,udp=127.0.0.1:%d,localaddr=127.0.0.1:%d "
        "-device virtio-mdev-net,id=n0,netdev=s0", port, port);
    QTestState *qts = start(args);
    g_autofree char *info = NULL;
    uint64_t rx;
    Dev d;

    dev_init(&d, qts, "/machine/peripheral/n0");
    dev_start(&d, BASE_FEATURES);
    info = qtest_hmp(qts, "info network");
    g_assert_nonnull(strstr(info,
                            "n0: index=0,type=nic,model=virtio-mdev-net"));
    g_assert_nonnull(strstr(info, "\\ s0: index=0,type=socket"));

    rx = post_rx(&d, 0, 2048);
    send_frame(&d, 0, HDR_LEN, 600, 1);
    kick(&d, &d.tx);
    g_assert_true(wait_used(&d, &d.tx, 1));
    /* Back through the host's UDP socket: the main loop must turn. */
    g_assert_true(wait_used(&d, &d.rx, 1));
    check_rx(&d, rx, HDR_LEN, 600, 1, 1);
    g_assert_cmpuint(stat_of(&d, "tx-stats", "packets"), ==, 1);
    g_assert_cmpuint(stat_of(&d, "rx-stats", "packets"), ==, 1);

    /* No buffer posted: the frame waits in the net layer, not dropped. */
    send_frame(&d, 1, HDR_LEN, 300, 2);
    kick(&d, &d.tx);
    g_assert_true(wait_used(&d, &d.tx, 2));
    g_assert_true(stays_unused(&d, &d.rx, 2));
    rx = post_rx(&d, 1, 2048);
    kick(&d, &d.rx);
    g_assert_true(wait_used(&d, &d.rx, 2));
    check_rx(&d, rx, HDR_LEN, 300, 2, 1);
    g_assert_cmpuint(stat_of(&d, "rx-stats", "drops"), ==, 0);
    qtest_quit(qts);
}

/*
 * -nic model=virtio-mdev-net: the board creates our NIC with the netdev
 * and MAC of the option (patches/0009); the frame goes round the UDP
 * socket looped to itself.  microvm creates no -nic devices.
 */
static void test_nic_option(void)
{
    int port = free_udp_port();
    g_autofree char *args = NULL;
    g_autofree char *info = NULL;
    g_autofree char *path = NULL;
    QTestState *qts;
    QDict *r, *inst;
    Dev d;

    if (!strcmp(machine, "microvm")) {
        g_test_skip("microvm creates no -nic devices");
        return;
    }
    args = g_strdup_printf("-nic socket,id=s0,udp=127.0.0.1:%d,"
                           "localaddr=127.0.0.1:%d,model=virtio-mdev,"
                           "mac=02:00:00:00:00:07", port, port);
    qts = start(args);
    info = qtest_hmp(qts, "info network");
    g_assert_nonnull(strstr(info, "type=nic,model=virtio-mdev-net,"
                                  "macaddr=02:00:00:00:00:07"));
    g_assert_nonnull(strstr(info, "\\ s0: index=0,type=socket"));
    r = qtest_qmp(qts, "{'execute': 'query-mdev'}");
    inst = qobject_to(QDict, qlist_peek(qdict_get_qlist(
        qobject_to(QDict, qlist_peek(qdict_get_qlist(r, "return"))),
        "instances")));
    path = g_strdup(qdict_get_str(inst, "transport"));
    qobject_unref(r);

    dev_init(&d, qts, path);
    dev_start(&d, BASE_FEATURES);
    g_assert_cmphex(qtest_readl(qts, d.base + 0x100), ==, 0x00000002);
    loop_first_frame(&d, 100, 5);
    qtest_quit(qts);
}

/* A ring violation: NEEDS_RESET and a config interrupt; reset recovers. */
static void test_broken(void)
{
    QTestState *qts = start("-device virtio-mdev-net,id=n0");
    Dev d;

    dev_init(&d, qts, "/machine/peripheral/n0");
    intercept_irq(&d);
    dev_start(&d, BASE_FEATURES);
    post_rx(&d, 0, 2048);
    put_desc(&d, &d.tx, 0, ram_base() + 0x500000, 100, VRING_DESC_F_NEXT, 0);
    avail_push(&d, &d.tx, 0);           /* a chain that loops onto itself */
    kick(&d, &d.tx);
    g_assert_true(wait_status(&d, VIRTIO_CONFIG_S_NEEDS_RESET));
    g_assert_cmphex(rd(&d, VIRTIO_MMIO_INTERRUPT_STATUS) &
                    VIRTIO_MMIO_INT_CONFIG, ==, VIRTIO_MMIO_INT_CONFIG);
    g_assert_true(qtest_get_irq(qts, 0));
    /* Further kicks are ignored: nothing is completed. */
    kick(&d, &d.tx);
    g_assert_true(stays_unused(&d, &d.tx, 1));

    /* The driver writing status keeps NEEDS_RESET; reset clears it. */
    wr(&d, VIRTIO_MMIO_STATUS, S_ACK_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK |
       VIRTIO_CONFIG_S_DRIVER_OK);
    g_assert_true(rd(&d, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);
    wr(&d, VIRTIO_MMIO_STATUS, 0);
    g_assert_cmpuint(rd(&d, VIRTIO_MMIO_STATUS), ==, 0);
    g_assert_false(qtest_get_irq(qts, 0));
    dev_start(&d, BASE_FEATURES);
    loop_first_frame(&d, 300, 5);
    qtest_quit(qts);
}

/*
 * Reset while frames wait for receive buffers: nothing leaks into the new
 * session, and the device starts clean.
 */
static void test_reset_during_traffic(void)
{
    QTestState *qts = start("-device virtio-mdev-net,id=n0");
    uint64_t first;
    Dev d;

    dev_init(&d, qts, "/machine/peripheral/n0");
    intercept_irq(&d);
    dev_start(&d, BASE_FEATURES);
    for (unsigned n = 0; n < 5; n++) {
        send_frame(&d, n, HDR_LEN, 100 + n, n);
    }
    kick(&d, &d.tx);
    g_assert_true(stays_unused(&d, &d.tx, 1));
    wr(&d, VIRTIO_MMIO_STATUS, 0);                      /* reset */
    g_assert_cmpuint(rd(&d, VIRTIO_MMIO_STATUS), ==, 0);
    g_assert_false(qtest_get_irq(qts, 0));
    /* a kick after reset is ignored (no queue is ready) */
    kick(&d, &d.tx);

    /*
     * New session on fresh rings: only the new frame comes back, into
     * the first receive buffer; none of the five old frames follows.
     */
    dev_start(&d, BASE_FEATURES);
    first = post_rx(&d, 1, 2048);
    post_rx(&d, 0, 2048);
    send_frame(&d, 0, HDR_LEN, 300, 42);
    kick(&d, &d.tx);
    g_assert_true(wait_used(&d, &d.rx, 1));
    check_rx(&d, first, HDR_LEN, 300, 42, 1);
    g_assert_true(stays_unused(&d, &d.rx, 2));
    qtest_quit(qts);
}

/* Frames out of range are counted errors: no huge allocation, no crash. */
static void test_bad_frames(void)
{
    QTestState *qts = start("-device virtio-mdev-net,id=n0");
    uint64_t rx;
    Dev d;

    dev_init(&d, qts, "/machine/peripheral/n0");
    dev_start(&d, BASE_FEATURES | F(VIRTIO_NET_F_MRG_RXBUF));
    /* shorter than header + Ethernet header */
    send_frame(&d, 0, HDR_LEN, 10, 0);
    /* larger than 64 KiB + Ethernet header */
    send_frame(&d, 1, HDR_LEN, 65535 + 14 + 1, 1);
    kick(&d, &d.tx);
    g_assert_true(wait_used(&d, &d.tx, 2));
    g_assert_cmpuint(stat_of(&d, "tx-stats", "errors"), ==, 2);
    g_assert_cmpuint(used_idx(&d, &d.rx), ==, 0);
    /* the device goes on */
    rx = post_rx(&d, 0, 2048);
    send_frame(&d, 2, HDR_LEN, 64, 2);
    kick(&d, &d.tx);
    g_assert_true(wait_used(&d, &d.rx, 1));
    check_rx(&d, rx, HDR_LEN, 64, 2, 1);
    g_assert_cmpuint(rd(&d, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET,
                     ==, 0);
    qtest_quit(qts);
}

/*
 * Regression (the CVE-2023-0330 pattern): a receive buffer that points at
 * the device's own registers.  The bottom half runs under the device's
 * reentrancy guard, so the copy cannot re-enter the device; QEMU goes on.
 */
static void test_regression_dma_to_own_mmio(void)
{
    QTestState *qts = start("-device virtio-mdev-net,id=n0");
    Dev d;

    dev_init(&d, qts, "/machine/peripheral/n0");
    dev_start(&d, BASE_FEATURES);
    put_desc(&d, &d.rx, 0, d.base, 0x200, VRING_DESC_F_WRITE, 0);
    avail_push(&d, &d.rx, 0);
    send_frame(&d, 0, HDR_LEN, 300, 1);
    kick(&d, &d.tx);
    /* Only RAM is mapped: the RX buffer fails, the device needs a reset. */
    g_assert_true(wait_status(&d, VIRTIO_CONFIG_S_NEEDS_RESET));
    g_assert_true(stays_unused(&d, &d.rx, 1));
    /* The registers were not rewritten by the frame, and QEMU is alive. */
    g_assert_cmphex(rd(&d, VIRTIO_MMIO_MAGIC_VALUE), ==, MAGIC);
    g_assert_cmpuint(rd(&d, VIRTIO_MMIO_DEVICE_ID), ==, 1);
    wr(&d, VIRTIO_MMIO_STATUS, 0);
    g_assert_cmpuint(rd(&d, VIRTIO_MMIO_STATUS), ==, 0);
    qtest_quit(qts);
}

/* ---- packed rings ---- */

#define PK_AVAIL    (1 << 7)
#define PK_USED     (1 << 15)

typedef struct PkQueue {
    TQueue q;           /* addresses: desc; driver/device event areas */
    uint16_t next;
    bool wrap;
    uint16_t used_pos;
    bool used_wrap;
} PkQueue;

/* Make one single-buffer chain available with buffer id @id. */
static void pk_post(Dev *d, PkQueue *pq, uint64_t addr, uint32_t len,
                    bool write, uint16_t id)
{
    uint64_t a = pq->q.desc + 16 * pq->next;
    uint16_t flags = (write ? VRING_DESC_F_WRITE : 0) |
                     (pq->wrap ? PK_AVAIL : PK_USED);

    qtest_writeq(d->qts, a, addr);
    qtest_writel(d->qts, a + 8, len);
    qtest_writew(d->qts, a + 12, id);
    qtest_writew(d->qts, a + 14, flags);     /* flags last */
    if (++pq->next == QSZ) {
        pq->next = 0;
        pq->wrap = !pq->wrap;
    }
}

/* The next used descriptor of @pq, if any now; its id and length. */
static bool pk_take_used(Dev *d, PkQueue *pq, uint16_t *id, uint32_t *len)
{
    uint64_t a = pq->q.desc + 16 * pq->used_pos;
    uint16_t fl = qtest_readw(d->qts, a + 14);

    if (!!(fl & PK_AVAIL) != pq->used_wrap ||
        !!(fl & PK_USED) != pq->used_wrap) {
        return false;
    }
    *id = qtest_readw(d->qts, a + 12);
    *len = qtest_readl(d->qts, a + 8);
    if (++pq->used_pos == QSZ) {
        pq->used_pos = 0;
        pq->used_wrap = !pq->used_wrap;
    }
    return true;
}

/* Wait (as wait_used) for the next used descriptor. */
static bool pk_wait_used(Dev *d, PkQueue *pq, uint16_t *id, uint32_t *len)
{
    gint64 end = g_get_monotonic_time() + VMQ_WAIT_US;

    while (!pk_take_used(d, pq, id, len)) {
        if (g_get_monotonic_time() > end) {
            return false;
        }
        qtest_clock_step(d->qts, 100);
    }
    return true;
}

/* After the device settled (as stays_unused), still nothing used. */
static bool pk_stays_unused(Dev *d, PkQueue *pq)
{
    uint16_t id;
    uint32_t len;

    for (int i = 0; i < SETTLE_STEPS; i++) {
        qtest_clock_step(d->qts, 100);
        if (pk_take_used(d, pq, &id, &len)) {
            return false;
        }
    }
    return true;
}

static void pk_setup(Dev *d, PkQueue *pq, uint16_t idx)
{
    memset(pq, 0, sizeof(*pq));
    pq->wrap = pq->used_wrap = true;
    queue_setup(d, &pq->q, idx);        /* desc, driver and device areas */
}

/* Loopback over packed rings, across several ring wrap-arounds. */
static void test_packed(void)
{
    QTestState *qts = start("-device virtio-mdev-net,id=n0");
    PkQueue rx, tx;
    uint16_t id;
    uint32_t len;
    Dev d;

    dev_init(&d, qts, "/machine/peripheral/n0");
    intercept_irq(&d);
    g_assert_cmphex(dev_negotiate(&d, BASE_FEATURES |
                                  F(VIRTIO_F_RING_PACKED)) &
                    VIRTIO_CONFIG_S_FEATURES_OK, ==,
                    VIRTIO_CONFIG_S_FEATURES_OK);
    pk_setup(&d, &rx, 0);
    pk_setup(&d, &tx, 1);
    wr(&d, VIRTIO_MMIO_STATUS, S_ACK_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK |
       VIRTIO_CONFIG_S_DRIVER_OK);

    for (unsigned n = 0; n < 3 * QSZ + 5; n++) {
        size_t flen = 60 + (n * 211) % 1455;
        g_autofree uint8_t *f = g_malloc0(HDR_LEN + flen);
        uint64_t rxb = dev_alloc(&d, 2048), txb = dev_alloc(&d, HDR_LEN + flen);

        /* back-pressure on the first frame: TX before RX */
        frame_fill(f + HDR_LEN, flen, n);
        qtest_memwrite(qts, txb, f, HDR_LEN + flen);
        pk_post(&d, &tx, txb, HDR_LEN + flen, false, 100 + n % 50);
        kick(&d, &tx.q);
        if (n == 0) {
            g_assert_true(pk_stays_unused(&d, &tx));
        }
        pk_post(&d, &rx, rxb, 2048, true, 200 + n % 50);
        kick(&d, &rx.q);
        g_assert_true(pk_wait_used(&d, &tx, &id, &len));
        g_assert_cmpuint(id, ==, 100 + n % 50);
        g_assert_true(pk_wait_used(&d, &rx, &id, &len));
        g_assert_cmpuint(id, ==, 200 + n % 50);
        g_assert_cmpuint(len, ==, HDR_LEN + flen);
        check_rx(&d, rxb, HDR_LEN, flen, n, 1);
        g_assert_true(wait_irq(&d));
        wr(&d, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);
    }
    g_assert_cmpuint(stat_of(&d, "tx-stats", "packets"), ==, 3 * QSZ + 5);

    /* A chain that never ends breaks the device, and reset recovers it. */
    for (int i = 0; i < QSZ; i++) {
        uint64_t a = tx.q.desc + 16 * i;

        qtest_writeq(qts, a, ram_base() + 0x500000);
        qtest_writel(qts, a + 8, 100);
        qtest_writew(qts, a + 14, VRING_DESC_F_NEXT |
                     (tx.wrap ? PK_AVAIL : PK_USED));
    }
    kick(&d, &tx.q);
    g_assert_true(wait_status(&d, VIRTIO_CONFIG_S_NEEDS_RESET));
    wr(&d, VIRTIO_MMIO_STATUS, 0);
    g_assert_cmpuint(rd(&d, VIRTIO_MMIO_STATUS), ==, 0);
    qtest_quit(qts);
}

/*
 * A driver that honours the device's event suppression area (as Linux's
 * virtqueue_kick_prepare_packed): after posting the descriptor at @pos
 * (@wrap), kick if enabled, or in desc mode if that is the position the
 * device waits for.  @modes counts what the area said, by its flags.
 */
static void pk_kick_prepare(Dev *d, PkQueue *pq, uint16_t pos, bool wrap,
                            unsigned modes[4])
{
    uint32_t ev = qtest_readl(d->qts, pq->q.used);
    uint16_t off_wrap = ev, flags = ev >> 16;

    modes[MIN(flags, 3)]++;
    if (flags == 2) {
        if (off_wrap == (pos | wrap << 15)) {
            kick(d, &pq->q);
        }
    } else if (flags == 0) {
        kick(d, &pq->q);
    }
}

/*
 * Packed rings with EVENT_IDX: the device asks for kicks in descriptor
 * mode, and a driver that kicks only where asked never stalls, across
 * wrap-arounds, with the device's notifications going on and off.
 */
static void test_packed_event_idx(void)
{
    QTestState *qts = start("-device virtio-mdev-net,id=n0");
    unsigned modes[4] = { 0 };     /* enable, disable, desc, invalid */
    PkQueue rx, tx;
    uint16_t id, pos;
    uint32_t len;
    bool wrap;
    Dev d;

    dev_init(&d, qts, "/machine/peripheral/n0");
    dev_negotiate(&d, BASE_FEATURES | F(VIRTIO_F_RING_PACKED) |
                  F(VIRTIO_RING_F_EVENT_IDX));
    pk_setup(&d, &rx, 0);
    pk_setup(&d, &tx, 1);
    wr(&d, VIRTIO_MMIO_STATUS, S_ACK_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK |
       VIRTIO_CONFIG_S_DRIVER_OK);

    for (unsigned n = 0; n < 3 * QSZ + 5; n++) {
        uint64_t rxb = dev_alloc(&d, 2048), txb = dev_alloc(&d, HDR_LEN + 60);
        g_autofree uint8_t *f = g_malloc0(HDR_LEN + 60);

        frame_fill(f + HDR_LEN, 60, n);
        qtest_memwrite(qts, txb, f, HDR_LEN + 60);
        pos = rx.next;
        wrap = rx.wrap;
        pk_post(&d, &rx, rxb, 2048, true, n % QSZ);
        pk_kick_prepare(&d, &rx, pos, wrap, modes);
        pos = tx.next;
        wrap = tx.wrap;
        pk_post(&d, &tx, txb, HDR_LEN + 60, false, n % QSZ);
        pk_kick_prepare(&d, &tx, pos, wrap, modes);
        g_assert_true(pk_wait_used(&d, &tx, &id, &len));
        g_assert_true(pk_wait_used(&d, &rx, &id, &len));
        g_assert_cmpuint(id, ==, n % QSZ);
        check_rx(&d, rxb, HDR_LEN, 60, n, 1);
    }
    /*
     * With EVENT_IDX enabled means desc mode, once the device wrote its
     * area: before its first pop a queue may still show the driver's 0.
     */
    g_assert_cmpuint(modes[0], <=, 2);
    g_assert_cmpuint(modes[2], >, 0);
    g_assert_cmpuint(modes[3], ==, 0);
    g_assert_cmpuint(stat_of(&d, "tx-stats", "packets"), ==, 3 * QSZ + 5);
    qtest_quit(qts);
}

/* ---- control queue and feature switches ---- */

#define CTRL_FEATURES   (F(VIRTIO_NET_F_CTRL_VQ) | F(VIRTIO_NET_F_CTRL_RX) | \
                         F(VIRTIO_NET_F_CTRL_MAC_ADDR))

/* Send a control command; returns the ack byte. */
static uint8_t ctrl_cmd(Dev *d, TQueue *cq, uint8_t class, uint8_t cmd,
                        const void *data, size_t len)
{
    uint64_t hdr = dev_alloc(d, 2 + len), ack = dev_alloc(d, 1);
    uint8_t h[2] = { class, cmd };
    uint16_t slot = cq->avail_idx % QSZ;

    qtest_memwrite(d->qts, hdr, h, 2);
    qtest_memwrite(d->qts, hdr + 2, data, len);
    qtest_writeb(d->qts, ack, 0xee);
    put_desc(d, cq, slot, hdr, 2 + len, VRING_DESC_F_NEXT, (slot + 1) % QSZ);
    put_desc(d, cq, (slot + 1) % QSZ, ack, 1, VRING_DESC_F_WRITE, 0);
    avail_push(d, cq, slot);
    cq->avail_idx++;            /* the chain took two slots */
    qtest_writew(d->qts, cq->avail + 2, cq->avail_idx - 1);
    cq->avail_idx--;
    kick(d, cq);
    g_assert_true(wait_used(d, cq, cq->used_seen + 1));
    cq->used_seen++;
    return qtest_readb(d->qts, ack);
}

static void test_ctrl(void)
{
    QTestState *qts = start("-device virtio-mdev-net,id=n0,"
                            "mac=02:11:22:33:44:55");
    uint8_t on = 1, mac[6] = { 0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee };
    uint8_t table[8] = { 0 };    /* two empty MAC tables */
    TQueue cq;
    Dev d;

    dev_init(&d, qts, "/machine/peripheral/n0");
    /* CTRL_RX or CTRL_MAC_ADDR without CTRL_VQ is rejected. */
    g_assert_cmphex(dev_negotiate(&d, BASE_FEATURES | F(VIRTIO_NET_F_CTRL_RX)) &
                    VIRTIO_CONFIG_S_FEATURES_OK, ==, 0);
    dev_start(&d, BASE_FEATURES | CTRL_FEATURES);
    queue_setup(&d, &cq, 2);

    g_assert_cmpuint(ctrl_cmd(&d, &cq, VIRTIO_NET_CTRL_RX,
                              VIRTIO_NET_CTRL_RX_PROMISC, &on, 1), ==,
                     VIRTIO_NET_OK);
    g_assert_cmpuint(ctrl_cmd(&d, &cq, VIRTIO_NET_CTRL_RX,
                              VIRTIO_NET_CTRL_RX_ALLMULTI, &on, 1), ==,
                     VIRTIO_NET_OK);
    g_assert_cmpuint(ctrl_cmd(&d, &cq, VIRTIO_NET_CTRL_MAC,
                              VIRTIO_NET_CTRL_MAC_TABLE_SET, table, 8), ==,
                     VIRTIO_NET_OK);
    g_assert_cmpuint(ctrl_cmd(&d, &cq, VIRTIO_NET_CTRL_MAC,
                              VIRTIO_NET_CTRL_MAC_ADDR_SET, mac, 6), ==,
                     VIRTIO_NET_OK);
    g_assert_cmphex(qtest_readl(qts, d.base + 0x100), ==, 0xccbbaa02);
    /* Unknown or malformed commands are refused, not fatal. */
    g_assert_cmpuint(ctrl_cmd(&d, &cq, 99, 0, &on, 1), ==, VIRTIO_NET_ERR);
    g_assert_cmpuint(ctrl_cmd(&d, &cq, VIRTIO_NET_CTRL_RX,
                              VIRTIO_NET_CTRL_RX_NOBCAST, &on, 1), ==,
                     VIRTIO_NET_ERR);
    g_assert_cmpuint(ctrl_cmd(&d, &cq, VIRTIO_NET_CTRL_MAC,
                              VIRTIO_NET_CTRL_MAC_ADDR_SET, mac, 5), ==,
                     VIRTIO_NET_ERR);
    g_assert_cmpuint(rd(&d, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET,
                     ==, 0);
    /* The driver's MAC does not survive a reset (as in virtio-net). */
    wr(&d, VIRTIO_MMIO_STATUS, 0);
    g_assert_cmphex(qtest_readl(qts, d.base + 0x100), ==, 0x33221102);
    g_assert_cmphex(qtest_readw(qts, d.base + 0x104), ==, 0x5544);
    qtest_quit(qts);
}

/*
 * RX filtering of a netdev's frames by the control queue.  The test is the
 * socket netdev's UDP peer: it injects frames and, after each that must be
 * filtered, one that must arrive; only that one may fill the RX ring.
 */
typedef struct Peer {
    int fd;
    struct sockaddr_in qemu;    /* where QEMU's netdev listens */
} Peer;

static void peer_inject(Peer *p, const uint8_t *dst, uint8_t tag)
{
    uint8_t f[60] = { 0 };

    memcpy(f, dst, 6);
    memcpy(f + 6, "\x02\x00\x00\x00\x00\x99", 6);
    f[12] = 0x08;
    f[14] = tag;
    g_assert_cmpint(sendto(p->fd, f, sizeof(f), 0,
                           (struct sockaddr *)&p->qemu, sizeof(p->qemu)),
                    ==, sizeof(f));
}

/* Wait (host time) for a RARP frame from @src; other frames are skipped. */
static bool peer_receive_rarp(Peer *p, const uint8_t *src)
{
    struct timeval tv = { .tv_sec = 1 };
    uint8_t f[2048];

    setsockopt(p->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    for (int i = 0; i < 30; i++) {
        ssize_t n = recv(p->fd, f, sizeof(f), 0);

        if (n >= 14 && !memcmp(f + 6, src, 6) && f[12] == 0x80 &&
            f[13] == 0x35) {
            return true;
        }
    }
    return false;
}

/*
 * Start QEMU with our NIC n0 (MAC 02:00:00:00:00:01, @dev_opts appended)
 * on a socket netdev s0 whose UDP peer is @p, and @extra options.
 */
static QTestState *start_peer(Peer *p, const char *dev_opts,
                              const char *extra)
{
    struct sockaddr_in me = { .sin_family = AF_INET };
    struct timeval tv = { .tv_sec = 10 };
    socklen_t len = sizeof(me);
    g_autofree char *args = NULL;

    p->qemu = (struct sockaddr_in) { .sin_family = AF_INET };
    p->fd = socket(AF_INET, SOCK_DGRAM, 0);
    me.sin_addr.s_addr = p->qemu.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    g_assert_cmpint(bind(p->fd, (struct sockaddr *)&me, sizeof(me)), ==, 0);
    g_assert_cmpint(getsockname(p->fd, (struct sockaddr *)&me, &len), ==, 0);
    p->qemu.sin_port = htons(free_udp_port());
    setsockopt(p->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    args = g_strdup_printf("-netdev socket,id=s0,udp=127.0.0.1:%d,"
                           "localaddr=127.0.0.1:%d -device virtio-mdev-net,"
                           "id=n0,netdev=s0,mac=02:00:00:00:00:01%s %s",
                           ntohs(me.sin_port), ntohs(p->qemu.sin_port),
                           dev_opts, extra);
    return start(args);
}

/* The next frame the ring gets is the one tagged @tag. */
static void expect_frame(Dev *d, uint8_t tag)
{
    uint16_t n = d->rx.used_seen;
    uint64_t buf = post_rx(d, n % QSZ, 2048);

    kick(d, &d->rx);
    g_assert_true(wait_used(d, &d->rx, n + 1));
    d->rx.used_seen++;
    g_assert_cmpuint(qtest_readb(d->qts, buf + HDR_LEN + 14), ==, tag);
}

/* query-rx-filter's answer for n0 (a reference). */
static QDict *query_rx_filter(QTestState *qts)
{
    QDict *r = qtest_qmp(qts, "{'execute': 'query-rx-filter', "
                         "'arguments': {'name': 'n0'}}");
    QDict *ret = qobject_to(QDict, qlist_peek(qdict_get_qlist(r, "return")));

    qobject_ref(ret);
    qobject_unref(r);
    return ret;
}

/* Set an RX mode (VIRTIO_NET_CTRL_RX @cmd) to @on; the device acks it. */
static void rx_mode(Dev *d, TQueue *cq, uint8_t cmd, uint8_t on)
{
    g_assert_cmpuint(ctrl_cmd(d, cq, VIRTIO_NET_CTRL_RX, cmd, &on, 1), ==,
                     VIRTIO_NET_OK);
}

static void test_rx_filter(void)
{
    static const uint8_t own[6] = { 0x02, 0, 0, 0, 0, 0x01 };
    static const uint8_t other[6] = { 0x02, 0, 0, 0, 0, 0x77 };
    static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
    static const uint8_t mcast[6] = { 0x01, 0x00, 0x5e, 0, 0, 0x01 };
    static const uint8_t mcast6[6] = { 0x33, 0x33, 0, 0, 0, 0x01 };
    uint8_t table[4 + 6 + 4 + 6] = { 1, 0, 0, 0, 0x02, 0, 0, 0, 0, 0x77,
                                     1, 0, 0, 0, 0x01, 0x00, 0x5e, 0, 0, 1 };
    QTestState *qts;
    QDict *r, *ret;
    Peer p;
    TQueue cq;
    Dev d;

    qts = start_peer(&p, "", "");
    dev_init(&d, qts, "/machine/peripheral/n0");
    dev_start(&d, BASE_FEATURES | CTRL_FEATURES |
              F(VIRTIO_NET_F_CTRL_RX_EXTRA));
    queue_setup(&d, &cq, 2);

    /* After reset the filter is promiscuous (as virtio-net's). */
    peer_inject(&p, other, 1);
    expect_frame(&d, 1);

    /* Query, then a change by the driver: one NIC_RX_FILTER_CHANGED. */
    qobject_unref(qtest_qmp(qts, "{'execute': 'query-rx-filter', "
                            "'arguments': {'name': 'n0'}}"));
    rx_mode(&d, &cq, VIRTIO_NET_CTRL_RX_PROMISC, 0);
    r = qtest_qmp_eventwait_ref(qts, "NIC_RX_FILTER_CHANGED");
    g_assert_cmpstr(qdict_get_str(qdict_get_qdict(r, "data"), "name"), ==,
                    "n0");
    qobject_unref(r);

    /* Not promiscuous: other unicast and multicast are filtered. */
    peer_inject(&p, other, 2);
    peer_inject(&p, mcast, 3);
    peer_inject(&p, own, 4);
    expect_frame(&d, 4);
    peer_inject(&p, bcast, 5);
    expect_frame(&d, 5);

    /* The MAC tables let their addresses in. */
    g_assert_cmpuint(ctrl_cmd(&d, &cq, VIRTIO_NET_CTRL_MAC,
                              VIRTIO_NET_CTRL_MAC_TABLE_SET, table,
                              sizeof(table)), ==, VIRTIO_NET_OK);
    peer_inject(&p, other, 6);
    expect_frame(&d, 6);
    peer_inject(&p, mcast, 7);
    expect_frame(&d, 7);

    ret = query_rx_filter(qts);
    g_assert_false(qdict_get_bool(ret, "promiscuous"));
    g_assert_cmpstr(qdict_get_str(ret, "main-mac"), ==, "02:00:00:00:00:01");
    g_assert_cmpstr(qdict_get_str(ret, "multicast"), ==, "normal");
    g_assert_cmpstr(qstring_get_str(qobject_to(QString, qlist_peek(
                        qdict_get_qlist(ret, "unicast-table")))), ==,
                    "02:00:00:00:00:77");
    g_assert_cmpstr(qstring_get_str(qobject_to(QString, qlist_peek(
                        qdict_get_qlist(ret, "multicast-table")))), ==,
                    "01:00:5e:00:00:01");
    qobject_unref(ret);

    /* A table whose count runs past the data is refused, unchanged. */
    table[10] = 9;
    g_assert_cmpuint(ctrl_cmd(&d, &cq, VIRTIO_NET_CTRL_MAC,
                              VIRTIO_NET_CTRL_MAC_TABLE_SET, table,
                              sizeof(table)), ==, VIRTIO_NET_ERR);
    peer_inject(&p, mcast, 8);
    expect_frame(&d, 8);

    /* All-multicast; and a reset makes the filter promiscuous again. */
    g_assert_cmpuint(ctrl_cmd(&d, &cq, VIRTIO_NET_CTRL_MAC,
                              VIRTIO_NET_CTRL_MAC_TABLE_SET, table + 10,
                              4), ==, VIRTIO_NET_ERR);
    rx_mode(&d, &cq, VIRTIO_NET_CTRL_RX_ALLMULTI, 1);
    peer_inject(&p, mcast6, 9);
    expect_frame(&d, 9);
    peer_inject(&p, other, 10);         /* still in the unicast table */
    expect_frame(&d, 10);

    /* CTRL_RX_EXTRA: no broadcast, no multicast, no or all unicast. */
    rx_mode(&d, &cq, VIRTIO_NET_CTRL_RX_NOBCAST, 1);
    rx_mode(&d, &cq, VIRTIO_NET_CTRL_RX_NOMULTI, 1);
    rx_mode(&d, &cq, VIRTIO_NET_CTRL_RX_ALLUNI, 1);
    peer_inject(&p, bcast, 11);
    peer_inject(&p, mcast6, 12);
    peer_inject(&p, mcast, 13);         /* in the table, all-multi: still */
    peer_inject(&p, (const uint8_t *)"\x02\x00\x00\x00\x00\x55", 14);
    expect_frame(&d, 14);
    ret = query_rx_filter(qts);
    g_assert_false(qdict_get_bool(ret, "broadcast-allowed"));
    g_assert_cmpstr(qdict_get_str(ret, "multicast"), ==, "none");
    g_assert_cmpstr(qdict_get_str(ret, "unicast"), ==, "all");
    qobject_unref(ret);
    rx_mode(&d, &cq, VIRTIO_NET_CTRL_RX_NOUNI, 1);
    rx_mode(&d, &cq, VIRTIO_NET_CTRL_RX_NOBCAST, 0);
    peer_inject(&p, own, 15);
    peer_inject(&p, bcast, 16);
    expect_frame(&d, 16);
    rx_mode(&d, &cq, VIRTIO_NET_CTRL_RX_NOUNI, 0);
    peer_inject(&p, own, 17);
    expect_frame(&d, 17);

    /* announce-self: QEMU's RARP from our MAC reaches the netdev's peer. */
    qtest_qmp_assert_success(qts, "{'execute': 'announce-self', 'arguments': "
                             "{'initial': 1, 'max': 1, 'rounds': 1, "
                             "'step': 1}}");
    g_assert_true(peer_receive_rarp(&p, own));
    close(p.fd);
    qtest_quit(qts);
}

#define NET_STATUS(d)   qtest_readw((d)->qts, (d)->base + 0x106)
#define ANNOUNCE_FEATURES \
    (BASE_FEATURES | F(VIRTIO_NET_F_CTRL_VQ) | F(VIRTIO_NET_F_GUEST_ANNOUNCE))

static uint8_t announce_ack(Dev *d, TQueue *cq)
{
    return ctrl_cmd(d, cq, VIRTIO_NET_CTRL_ANNOUNCE,
                    VIRTIO_NET_CTRL_ANNOUNCE_ACK, NULL, 0);
}

/*
 * VIRTIO_NET_F_GUEST_ANNOUNCE: announce-self sends QEMU's RARP and asks
 * the driver to announce (status bit, config interrupt) until it acks.
 */
static void test_announce(void)
{
    static const uint8_t own[6] = { 0x02, 0, 0, 0, 0, 0x01 };
    QTestState *qts;
    Peer p;
    TQueue cq;
    Dev d;

    qts = start_peer(&p, "", "");
    dev_init(&d, qts, "/machine/peripheral/n0");
    intercept_irq(&d);
    dev_start(&d, ANNOUNCE_FEATURES);
    queue_setup(&d, &cq, 2);
    /* Nothing to acknowledge yet. */
    g_assert_cmpuint(announce_ack(&d, &cq), ==, VIRTIO_NET_ERR);
    wr(&d, VIRTIO_MMIO_INTERRUPT_ACK, rd(&d, VIRTIO_MMIO_INTERRUPT_STATUS));

    qtest_qmp_assert_success(qts, "{'execute': 'announce-self', 'arguments': "
                             "{'initial': 1, 'max': 1, 'rounds': 1, "
                             "'step': 1}}");
    g_assert_true(peer_receive_rarp(&p, own));
    g_assert_cmphex(rd(&d, VIRTIO_MMIO_INTERRUPT_STATUS), ==,
                    VIRTIO_MMIO_INT_CONFIG);
    g_assert_cmphex(NET_STATUS(&d), ==,
                    VIRTIO_NET_S_LINK_UP | VIRTIO_NET_S_ANNOUNCE);
    wr(&d, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_CONFIG);
    g_assert_cmpuint(announce_ack(&d, &cq), ==, VIRTIO_NET_OK);
    g_assert_cmphex(NET_STATUS(&d), ==, VIRTIO_NET_S_LINK_UP);
    g_assert_cmpuint(announce_ack(&d, &cq), ==, VIRTIO_NET_ERR);

    /* A driver without the feature is not asked; QEMU's RARP still goes. */
    dev_start(&d, BASE_FEATURES | F(VIRTIO_NET_F_CTRL_VQ));
    queue_setup(&d, &cq, 2);
    wr(&d, VIRTIO_MMIO_INTERRUPT_ACK, rd(&d, VIRTIO_MMIO_INTERRUPT_STATUS));
    qtest_qmp_assert_success(qts, "{'execute': 'announce-self', 'arguments': "
                             "{'initial': 1, 'max': 1, 'rounds': 1, "
                             "'step': 1}}");
    g_assert_true(peer_receive_rarp(&p, own));
    g_assert_cmphex(NET_STATUS(&d), ==, VIRTIO_NET_S_LINK_UP);
    g_assert_cmphex(rd(&d, VIRTIO_MMIO_INTERRUPT_STATUS), ==, 0);
    g_assert_cmpuint(announce_ack(&d, &cq), ==, VIRTIO_NET_ERR);
    close(p.fd);
    qtest_quit(qts);
}

/*
 * Migrate @src, started with "-m 64 @dev", through a file into a new QEMU
 * with the same options; @setup, unless NULL, prepares it first.  Returns
 * the destination, running.
 */
static QTestState *migrate_to_new(QTestState *src, const char *dev,
                                  void (*setup)(QTestState *dst))
{
    g_autofree char *dir = g_dir_make_tmp("virtio-mdev-XXXXXX", NULL);
    g_autofree char *file = g_build_filename(dir, "state", NULL);
    g_autofree char *uri = g_strdup_printf("file:%s", file);
    g_autofree char *dst_args = g_strdup_printf("-m 64 %s -incoming defer",
                                                dev);
    QTestState *dst;

    qtest_qmp_assert_success(src, "{'execute': 'migrate', 'arguments': "
                             "{'uri': %s}}", uri);
    vmq_wait_migration(src, "query-migrate", "status", "completed");
    qtest_quit(src);

    dst = start(dst_args);
    if (setup) {
        setup(dst);
    }
    qtest_qmp_assert_success(dst, "{'execute': 'migrate-incoming', "
                             "'arguments': {'uri': %s}}", uri);
    vmq_wait_migration(dst, "query-status", "status", "running");
    unlink(file);
    rmdir(dir);
    return dst;
}

/*
 * After migration the destination asks the driver to announce, in the
 * rounds of the migration's announce parameters (on the virtual clock);
 * each ack moves to the next round.
 */
static void fast_announce(QTestState *qts)
{
    qtest_qmp_assert_success(qts, "{'execute': 'migrate-set-parameters', "
                             "'arguments': {'announce-initial': 10, "
                             "'announce-step': 10, 'announce-rounds': 2}}");
}

static void test_announce_migrated(void)
{
    const char *dev = "-device virtio-mdev-net,id=n0,"
                      "uuid=6b2e6a1c-1b2c-4d1e-9a51-0e3f0000f00e";
    g_autofree char *args = g_strdup_printf("-m 64 %s", dev);
    QTestState *dst;
    TQueue cq;
    Dev d;

    dev_init(&d, start(args), "/machine/peripheral/n0");
    dev_start(&d, ANNOUNCE_FEATURES);
    queue_setup(&d, &cq, 2);
    dst = migrate_to_new(d.qts, dev, fast_announce);
    d.qts = dst;
    g_assert_true(vmq_wait_readl_bits(dst, d.base + 0x104,
                                      VIRTIO_NET_S_ANNOUNCE << 16));
    g_assert_cmpuint(announce_ack(&d, &cq), ==, VIRTIO_NET_OK);
    g_assert_cmphex(NET_STATUS(&d), ==, VIRTIO_NET_S_LINK_UP);
    /* The second round, 10 ms of virtual time later; then no more. */
    qtest_clock_step(dst, 20 * 1000 * 1000);
    g_assert_cmphex(NET_STATUS(&d), ==,
                    VIRTIO_NET_S_LINK_UP | VIRTIO_NET_S_ANNOUNCE);
    g_assert_cmpuint(announce_ack(&d, &cq), ==, VIRTIO_NET_OK);
    qtest_clock_step(dst, 1000 * 1000 * 1000);
    g_assert_cmphex(NET_STATUS(&d), ==, VIRTIO_NET_S_LINK_UP);
    qtest_quit(dst);
}

/*
 * A slow guest: frames from the netdev wait (in the net layer and the
 * peer's socket) while no receive buffer is posted, and all arrive, in
 * order, as the guest posts buffers one at a time; nothing is dropped.
 */
static void test_netdev_backpressure(void)
{
    static const uint8_t own[6] = { 0x02, 0, 0, 0, 0, 0x01 };
    QTestState *qts;
    Peer p;
    Dev d;

    qts = start_peer(&p, "", "");
    dev_init(&d, qts, "/machine/peripheral/n0");
    dev_start(&d, BASE_FEATURES);
    for (uint8_t tag = 1; tag <= 40; tag++) {
        peer_inject(&p, own, tag);
    }
    g_assert_true(stays_unused(&d, &d.rx, 1));
    for (uint8_t tag = 1; tag <= 40; tag++) {
        expect_frame(&d, tag);
        qtest_clock_step(qts, 100);
    }
    g_assert_true(stays_unused(&d, &d.rx, d.rx.used_seen + 1));
    g_assert_cmpuint(stat_of(&d, "rx-stats", "packets"), ==, 40);
    g_assert_cmpuint(stat_of(&d, "rx-stats", "drops"), ==, 0);
    close(p.fd);
    qtest_quit(qts);
}

/* The frames of a pcap file: its records' data, in order. */
static GPtrArray *pcap_frames(const char *file)
{
    g_autofree uint8_t *buf = NULL;
    GPtrArray *frames = g_ptr_array_new_with_free_func(
        (GDestroyNotify)g_byte_array_unref);
    size_t len, off = 24;

    g_assert_true(g_file_get_contents(file, (char **)&buf, &len, NULL));
    g_assert_cmpuint(len, >=, 24);
    /* Written in the host's byte order (net/dump.c). */
    g_assert_cmphex((uint32_t)ldl_he_p(buf), ==, 0xa1b2c3d4);
    g_assert_cmpuint(ldl_he_p(buf + 20), ==, 1);      /* Ethernet */
    while (off + 16 <= len) {
        uint32_t caplen = ldl_he_p(buf + off + 8);

        g_assert_cmpuint(off + 16 + caplen, <=, len);
        g_ptr_array_add(frames, g_byte_array_append(g_byte_array_new(),
                                                    buf + off + 16, caplen));
        off += 16 + caplen;
    }
    g_assert_cmpuint(off, ==, len);
    return frames;
}

/*
 * QEMU's net filters work on our NIC's netdev: filter-dump writes what the
 * guest sent and received to a pcap file, filter-mirror copies what the
 * guest sent to a chardev (here a file: a be32 length, then the frame),
 * filter-buffer holds what comes to the guest.
 */
static void test_net_filters(void)
{
    static const uint8_t own[6] = { 0x02, 0, 0, 0, 0, 0x01 };
    g_autofree char *dir = g_dir_make_tmp("virtio-mdev-XXXXXX", NULL);
    g_autofree char *pcap = g_build_filename(dir, "dump.pcap", NULL);
    g_autofree char *mirror = g_build_filename(dir, "mirror", NULL);
    g_autofree char *extra = g_strdup_printf(
        "-object filter-dump,id=f0,netdev=s0,file=%s "
        "-chardev file,id=m0,path=%s "
        "-object filter-mirror,id=f1,netdev=s0,queue=rx,outdev=m0 "
        "-object filter-buffer,id=f2,netdev=s0,queue=tx,interval=1000000",
        pcap, mirror);
    g_autoptr(GPtrArray) dumped = NULL;
    g_autofree uint8_t *mirrored = NULL;
    uint8_t sent[600], got[60];
    GByteArray *f;
    QTestState *qts;
    size_t len;
    Peer p;
    Dev d;

    qts = start_peer(&p, "", extra);
    dev_init(&d, qts, "/machine/peripheral/n0");
    dev_start(&d, BASE_FEATURES);
    send_frame(&d, 0, HDR_LEN, sizeof(sent), 7);
    kick(&d, &d.tx);
    g_assert_true(wait_used(&d, &d.tx, 1));
    g_assert_cmpint(recv(p.fd, got, sizeof(got), 0), ==, sizeof(got));
    /* filter-buffer holds the netdev's frames for a second of virtual time */
    peer_inject(&p, own, 9);
    post_rx(&d, d.rx.used_seen % QSZ, 2048);
    kick(&d, &d.rx);
    g_assert_true(stays_unused(&d, &d.rx, d.rx.used_seen + 1));
    qtest_clock_step(qts, 1000 * 1000 * 1000);
    g_assert_true(wait_used(&d, &d.rx, d.rx.used_seen + 1));
    d.rx.used_seen++;
    /* Closing the filters flushes their files. */
    qtest_qmp_assert_success(qts, "{'execute': 'object-del', 'arguments': "
                             "{'id': 'f0'}}");
    qtest_qmp_assert_success(qts, "{'execute': 'object-del', 'arguments': "
                             "{'id': 'f1'}}");

    frame_fill(sent, sizeof(sent), 7);
    dumped = pcap_frames(pcap);
    g_assert_cmpuint(dumped->len, ==, 2);
    f = g_ptr_array_index(dumped, 0);
    g_assert_cmpmem(f->data, f->len, sent, sizeof(sent));
    f = g_ptr_array_index(dumped, 1);
    g_assert_cmpuint(f->len, ==, 60);
    g_assert_cmpmem(f->data, 6, own, 6);
    g_assert_cmpuint(f->data[14], ==, 9);

    g_assert_true(g_file_get_contents(mirror, (char **)&mirrored, &len,
                                      NULL));
    g_assert_cmpuint(len, ==, 4 + sizeof(sent));
    g_assert_cmpuint(ldl_be_p(mirrored), ==, sizeof(sent));
    g_assert_cmpmem(mirrored + 4, sizeof(sent), sent, sizeof(sent));
    close(p.fd);
    qtest_quit(qts);
    unlink(pcap);
    unlink(mirror);
    rmdir(dir);
}

/* VIRTIO_NET_CTRL_NOTF_COAL_RX_SET or _TX_SET; returns the ack. */
static uint8_t set_coal(Dev *d, TQueue *cq, uint8_t cmd, uint32_t max_packets,
                        uint32_t usecs)
{
    uint8_t data[8];

    stl_le_p(data, max_packets);
    stl_le_p(data + 4, usecs);
    return ctrl_cmd(d, cq, VIRTIO_NET_CTRL_NOTF_COAL, cmd, data, 8);
}

/* Loop frame @n (slot n % QSZ), published: its used entries are visible. */
static void loop_published(Dev *d, unsigned n)
{
    post_rx(d, n % QSZ, 2048);
    send_frame(d, n % QSZ, HDR_LEN, 100, n);
    kick(d, &d->tx);
    g_assert_true(wait_used(d, &d->rx, n + 1));
    g_assert_true(wait_used(d, &d->tx, n + 1));
}

/* Start NIC n0 of @qts with NOTF_COAL and its control queue @cq. */
static void coal_start(Dev *d, QTestState *qts, TQueue *cq)
{
    dev_init(d, qts, "/machine/peripheral/n0");
    intercept_irq(d);
    dev_start(d, BASE_FEATURES | F(VIRTIO_NET_F_CTRL_VQ) |
              F(VIRTIO_NET_F_NOTF_COAL));
    queue_setup(d, cq, 2);
}

static bool vring_irq(Dev *d)
{
    return rd(d, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_VRING;
}

/*
 * VIRTIO_NET_F_NOTF_COAL: used buffers are published at once, but their
 * interrupt waits for max_packets of them or usecs of virtual time; after
 * a reset, and with usecs 0, every one interrupts again.
 */
static void test_notf_coal(void)
{
    QTestState *qts = start("-device virtio-mdev-net,id=n0");
    unsigned n = 0;
    TQueue cq;
    Dev d;

    coal_start(&d, qts, &cq);
    g_assert_cmpuint(set_coal(&d, &cq, VIRTIO_NET_CTRL_NOTF_COAL_RX_SET, 4,
                              1000), ==, VIRTIO_NET_OK);
    g_assert_cmpuint(set_coal(&d, &cq, VIRTIO_NET_CTRL_NOTF_COAL_TX_SET, 4,
                              1000), ==, VIRTIO_NET_OK);
    g_assert_cmpuint(ctrl_cmd(&d, &cq, VIRTIO_NET_CTRL_NOTF_COAL,
                              VIRTIO_NET_CTRL_NOTF_COAL_RX_SET, "x", 1), ==,
                     VIRTIO_NET_ERR);
    wr(&d, VIRTIO_MMIO_INTERRUPT_ACK, rd(&d, VIRTIO_MMIO_INTERRUPT_STATUS));

    /* Three frames: published, no interrupt; the fourth interrupts. */
    for (; n < 3; n++) {
        loop_published(&d, n);
    }
    g_assert_false(vring_irq(&d));
    loop_published(&d, n++);
    g_assert_true(vring_irq(&d));
    wr(&d, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);

    /* One frame: the interrupt comes 1000 us of virtual time later. */
    loop_published(&d, n++);
    qtest_clock_step(qts, 900 * 1000);
    g_assert_false(vring_irq(&d));
    qtest_clock_step(qts, 200 * 1000);
    g_assert_true(vring_irq(&d));
    wr(&d, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);

    /* usecs 0: no delay, whatever max_packets. */
    g_assert_cmpuint(set_coal(&d, &cq, VIRTIO_NET_CTRL_NOTF_COAL_RX_SET, 4, 0),
                     ==, VIRTIO_NET_OK);
    g_assert_cmpuint(set_coal(&d, &cq, VIRTIO_NET_CTRL_NOTF_COAL_TX_SET, 4, 0),
                     ==, VIRTIO_NET_OK);
    wr(&d, VIRTIO_MMIO_INTERRUPT_ACK, rd(&d, VIRTIO_MMIO_INTERRUPT_STATUS));
    loop_published(&d, n++);
    g_assert_true(vring_irq(&d));

    /* Reset: no coalescing, and the command needs the feature. */
    dev_start(&d, BASE_FEATURES | F(VIRTIO_NET_F_CTRL_VQ));
    queue_setup(&d, &cq, 2);
    g_assert_cmpuint(set_coal(&d, &cq, VIRTIO_NET_CTRL_NOTF_COAL_RX_SET, 4,
                              1000), ==, VIRTIO_NET_ERR);
    wr(&d, VIRTIO_MMIO_INTERRUPT_ACK, rd(&d, VIRTIO_MMIO_INTERRUPT_STATUS));
    loop_published(&d, 0);
    g_assert_true(vring_irq(&d));
    qtest_quit(qts);
}

/*
 * Loop @frames frames, one every @step_us of virtual time; with @pingpong,
 * each waits for the previous one's interrupt (acknowledged), otherwise
 * they stream.  Returns the RX interrupts raised; *@held counts frames
 * whose interrupt was not raised as soon as the frame was used.
 */
static unsigned loop_paced(Dev *d, unsigned *n, unsigned frames,
                           unsigned step_us, bool pingpong, unsigned *held)
{
    uint64_t before = stat_of(d, "rx-stats", "interrupts");

    *held = 0;
    for (unsigned i = 0; i < frames; i++, (*n)++) {
        loop_published(d, *n);
        if (!qtest_get_irq(d->qts, 0)) {
            (*held)++;
        }
        if (pingpong) {
            g_assert_true(wait_irq(d));
            wr(d, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);
        }
        qtest_clock_step(d->qts, step_us * 1000);
        if (qtest_get_irq(d->qts, 0)) {
            wr(d, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);
        }
    }
    /* Whatever is held goes out. */
    qtest_clock_step(d->qts, 1000 * 1000);
    wr(d, VIRTIO_MMIO_INTERRUPT_ACK, rd(d, VIRTIO_MMIO_INTERRUPT_STATUS));
    g_test_message("%u frames %s every %u us: %u held, %u interrupts",
                   frames, pingpong ? "ping-pong" : "streaming", step_us,
                   *held, (unsigned)(stat_of(d, "rx-stats", "interrupts") -
                                     before));
    return stat_of(d, "rx-stats", "interrupts") - before;
}

/*
 * Adaptive moderation, the default until the driver sets NOTF_COAL:
 * ping-pong (the next frame 300 us after the last one's interrupt) keeps
 * an interrupt per frame, almost all at once; streaming (a frame every
 * 20 us, interrupted or not) learns to batch.  Off, or after the driver
 * asked for no coalescing, every frame interrupts.  In between, the VM
 * migrates: what the driver asked for goes along, the device's learning
 * starts again.
 */
static void adaptive_coal(const char *mode)
{
    g_autofree char *dev = g_strdup_printf(
        "-device virtio-mdev-net,id=n0,uuid=6b2e6a1c-1b2c-4d1e-9a51-"
        "0e3f0000c0a1%s", strcmp(mode, "off") ? "" : ",adaptive-coal=off");
    g_autofree char *args = g_strdup_printf("-m 64 %s", dev);
    QTestState *qts = start(args);
    unsigned n = 0, held, irqs;
    TQueue cq;
    Dev d;

    coal_start(&d, qts, &cq);
    if (!strcmp(mode, "driver")) {
        g_assert_cmpuint(set_coal(&d, &cq, VIRTIO_NET_CTRL_NOTF_COAL_RX_SET,
                                  0, 0), ==, VIRTIO_NET_OK);
    }
    wr(&d, VIRTIO_MMIO_INTERRUPT_ACK, rd(&d, VIRTIO_MMIO_INTERRUPT_STATUS));

    irqs = loop_paced(&d, &n, 64, 300, true, &held);
    g_assert_cmpuint(irqs, ==, 64);
    g_assert_cmpuint(held, <=, strcmp(mode, "on") ? 0 : 2);

    d.qts = migrate_to_new(d.qts, dev, NULL);
    intercept_irq(&d);

    /* Streaming: the first 160 frames learn, the next 160 are measured. */
    irqs = loop_paced(&d, &n, 160, 20, false, &held);
    irqs = loop_paced(&d, &n, 160, 20, false, &held);
    if (strcmp(mode, "on")) {
        g_assert_cmpuint(irqs, ==, 160);
    } else {
        g_assert_cmpuint(irqs, <=, 160 / 8);
    }
    g_assert_cmpuint(stat_of(&d, "rx-stats", "packets"), ==, n);
    qtest_quit(d.qts);
}

static void test_adaptive_coal(void)
{
    adaptive_coal("on");
}

static void test_adaptive_coal_off(void)
{
    adaptive_coal("off");
}

static void test_adaptive_coal_driver(void)
{
    adaptive_coal("driver");
}

/* ---- checksum offload ---- */

#define CSUM_FEATURES   (BASE_FEATURES | F(VIRTIO_NET_F_CTRL_VQ) | \
                         F(VIRTIO_NET_F_CSUM) | F(VIRTIO_NET_F_GUEST_CSUM) | \
                         F(VIRTIO_NET_F_CTRL_GUEST_OFFLOADS))
#define UDP_AT          (14 + 20)               /* csum_start */
#define UDP_LEN         (8 + 301)               /* odd: the sum pads */

/* The 16-bit ones' complement sum of @len bytes (big-endian words). */
static uint32_t sum16(const uint8_t *p, size_t len, uint32_t sum)
{
    for (size_t i = 0; i < len; i++) {
        sum += i & 1 ? p[i] : p[i] << 8;
    }
    return sum;
}

static uint16_t fold16(uint32_t sum)
{
    while (sum >> 16) {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    return sum;
}

/*
 * An IPv4/UDP frame whose checksum field holds the pseudo-header's sum,
 * as a stack leaves it for the device (header: NEEDS_CSUM, start, offset).
 */
static size_t udp_frame(uint8_t *f, uint32_t seed)
{
    uint8_t *ip = f + 14, *udp = f + UDP_AT;
    uint32_t pseudo;

    frame_fill(f, UDP_AT + UDP_LEN, seed);
    stw_be_p(f + 12, 0x0800);
    ip[0] = 0x45;
    stw_be_p(ip + 2, 20 + UDP_LEN);
    ip[9] = 17;
    stw_be_p(udp + 4, UDP_LEN);
    pseudo = sum16(ip + 12, 8, 17 + UDP_LEN);
    stw_be_p(udp + 6, fold16(pseudo));
    return UDP_AT + UDP_LEN;
}

/* Whether the UDP checksum of @f is complete and right. */
static bool udp_csum_ok(const uint8_t *f)
{
    uint32_t sum = sum16(f + 14 + 12, 8, 17 + UDP_LEN);

    return fold16(sum16(f + UDP_AT, UDP_LEN, sum)) == 0xffff;
}

/*
 * Loop frame @n (its seed) with header flags @flags, csum_start @start
 * and @gso_type: returns the received header and frame (@len bytes) in
 * @got; false when the device completed the transmission without
 * delivering it (an error), leaving the receive buffer for the next.
 */
static bool csum_loop(Dev *d, unsigned *n, uint8_t flags, uint16_t start,
                      uint8_t gso_type, uint8_t *got, size_t len)
{
    static uint64_t rxb;
    uint8_t f[HDR_LEN + UDP_AT + UDP_LEN] = { 0 };
    uint64_t txb = dev_alloc(d, sizeof(f));
    uint16_t rx_was = used_idx(d, &d->rx);

    if (d->rx.avail_idx == rx_was) {
        rxb = post_rx(d, d->rx.avail_idx % QSZ, 2048);
    }
    udp_frame(f + HDR_LEN, *n);
    f[0] = flags;
    f[1] = gso_type;
    stw_le_p(f + 6, start);
    stw_le_p(f + 8, 6);
    qtest_memwrite(d->qts, txb, f, sizeof(f));
    put_desc(d, &d->tx, d->tx.avail_idx % QSZ, txb, sizeof(f), 0, 0);
    avail_push(d, &d->tx, d->tx.avail_idx % QSZ);
    kick(d, &d->tx);
    ++*n;
    g_assert_true(wait_used(d, &d->tx, d->tx.avail_idx));
    if (used_idx(d, &d->rx) == rx_was && stays_unused(d, &d->rx, rx_was + 1)) {
        return false;
    }
    g_assert_true(wait_used(d, &d->rx, rx_was + 1));
    qtest_memread(d->qts, rxb, got, HDR_LEN + len);
    return true;
}

static uint8_t set_offloads(Dev *d, TQueue *cq, uint64_t offloads)
{
    uint8_t data[8];

    stq_le_p(data, offloads);
    return ctrl_cmd(d, cq, VIRTIO_NET_CTRL_GUEST_OFFLOADS,
                    VIRTIO_NET_CTRL_GUEST_OFFLOADS_SET, data, 8);
}

/* The frame came back as sent, asking the receiver for the checksum. */
static void expect_partial(const uint8_t *got, unsigned seed)
{
    uint8_t want[UDP_AT + UDP_LEN];

    udp_frame(want, seed);
    g_assert_cmpuint(got[0], ==, VIRTIO_NET_HDR_F_NEEDS_CSUM);
    g_assert_cmpuint(lduw_le_p(got + 6), ==, UDP_AT);
    g_assert_cmpuint(lduw_le_p(got + 8), ==, 6);
    g_assert_cmpmem(got + HDR_LEN, sizeof(want), want, sizeof(want));
}

/* The frame came back with its checksum completed, nothing else changed. */
static void expect_complete(uint8_t *got, unsigned seed)
{
    uint8_t want[UDP_AT + UDP_LEN];

    udp_frame(want, seed);
    g_assert_cmpuint(got[0], ==, 0);
    g_assert_true(udp_csum_ok(got + HDR_LEN));
    stw_be_p(got + HDR_LEN + UDP_AT + 6, lduw_be_p(want + UDP_AT + 6));
    g_assert_cmpmem(got + HDR_LEN, sizeof(want), want, sizeof(want));
}

/*
 * VIRTIO_NET_F_CSUM in loopback: a frame the driver left the checksum of
 * reaches a receiver with GUEST_CSUM on as it was sent (NEEDS_CSUM), and
 * one with it off (GUEST_OFFLOADS_SET, or not negotiated) with the
 * checksum done; the choice survives migration and ends with reset.
 * Headers the features do not allow are errors the device goes on after.
 */
static void test_csum(void)
{
    const char *dev = "-device virtio-mdev-net,id=n0,uuid=6b2e6a1c-1b2c-"
                      "4d1e-9a51-0e3f0000c0a2";
    g_autofree char *args = g_strdup_printf("-m 64 %s", dev);
    uint8_t got[HDR_LEN + UDP_AT + UDP_LEN];
    size_t len = UDP_AT + UDP_LEN;
    unsigned n = 0;
    TQueue cq;
    Dev d;

    dev_init(&d, start(args), "/machine/peripheral/n0");
    dev_start(&d, CSUM_FEATURES);
    queue_setup(&d, &cq, 2);

    g_assert_true(csum_loop(&d, &n, VIRTIO_NET_HDR_F_NEEDS_CSUM, UDP_AT, 0,
                            got, len));
    expect_partial(got, n - 1);
    g_assert_true(csum_loop(&d, &n, 0, 0, 0, got, len));
    g_assert_cmpuint(got[0], ==, 0);

    /* Guest offloads: only negotiated ones; off means completed here. */
    g_assert_cmpuint(set_offloads(&d, &cq, F(VIRTIO_NET_F_GUEST_TSO4)), ==,
                     VIRTIO_NET_ERR);
    g_assert_cmpuint(set_offloads(&d, &cq, 0), ==, VIRTIO_NET_OK);
    g_assert_true(csum_loop(&d, &n, VIRTIO_NET_HDR_F_NEEDS_CSUM, UDP_AT, 0,
                            got, len));
    expect_complete(got, n - 1);

    /* ... also on the destination of a migration */
    d.qts = migrate_to_new(d.qts, dev, NULL);
    g_assert_true(csum_loop(&d, &n, VIRTIO_NET_HDR_F_NEEDS_CSUM, UDP_AT, 0,
                            got, len));
    expect_complete(got, n - 1);
    g_assert_cmpuint(set_offloads(&d, &cq, F(VIRTIO_NET_F_GUEST_CSUM)), ==,
                     VIRTIO_NET_OK);
    g_assert_true(csum_loop(&d, &n, VIRTIO_NET_HDR_F_NEEDS_CSUM, UDP_AT, 0,
                            got, len));
    expect_partial(got, n - 1);

    /* Bad headers: counted, completed, not delivered; the device goes on. */
    g_assert_false(csum_loop(&d, &n, VIRTIO_NET_HDR_F_NEEDS_CSUM, len - 7, 0,
                             got, len));
    g_assert_false(csum_loop(&d, &n, VIRTIO_NET_HDR_F_DATA_VALID, 0, 0,
                             got, len));
    g_assert_false(csum_loop(&d, &n, VIRTIO_NET_HDR_F_NEEDS_CSUM, UDP_AT,
                             VIRTIO_NET_HDR_GSO_TCPV4, got, len));
    g_assert_cmpuint(stat_of(&d, "tx-stats", "errors"), ==, 3);
    g_assert_cmpuint(rd(&d, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET,
                     ==, 0);

    /* Without GUEST_CSUM the device completes; without CSUM none is asked */
    dev_start(&d, CSUM_FEATURES & ~F(VIRTIO_NET_F_GUEST_CSUM));
    g_assert_true(csum_loop(&d, &n, VIRTIO_NET_HDR_F_NEEDS_CSUM, UDP_AT, 0,
                            got, len));
    expect_complete(got, n - 1);
    dev_start(&d, BASE_FEATURES);
    g_assert_false(csum_loop(&d, &n, VIRTIO_NET_HDR_F_NEEDS_CSUM, UDP_AT, 0,
                             got, len));
    g_assert_true(csum_loop(&d, &n, 0, 0, 0, got, len));
    qtest_quit(d.qts);
}

/* With a netdev the offloads are not offered (no vnet headers yet). */
static void test_csum_netdev(void)
{
    QTestState *qts = start("-netdev hubport,id=u0,hubid=0 "
                            "-device virtio-mdev-net,id=n0,netdev=u0");
    uint64_t f;
    Dev d;

    dev_init(&d, qts, "/machine/peripheral/n0");
    f = device_features(&d);
    g_assert_cmphex(f & (F(VIRTIO_NET_F_CSUM) | F(VIRTIO_NET_F_GUEST_CSUM) |
                         F(VIRTIO_NET_F_CTRL_GUEST_OFFLOADS)), ==, 0);
    qtest_quit(qts);
}

/* ---- TCP segmentation offload ---- */

#define TSO_FEATURES    (CSUM_FEATURES | F(VIRTIO_NET_F_MRG_RXBUF) | \
                         F(VIRTIO_NET_F_HOST_TSO4) | \
                         F(VIRTIO_NET_F_HOST_TSO6) | \
                         F(VIRTIO_NET_F_HOST_ECN) | \
                         F(VIRTIO_NET_F_GUEST_TSO4) | \
                         F(VIRTIO_NET_F_GUEST_TSO6) | \
                         F(VIRTIO_NET_F_GUEST_ECN))
#define TSO_PAYLOAD     4000
#define TSO_MSS         1000
#define TSO_SEQ         0x01020304u
#define TCP_FIN_PSH_ACK 0x19
#define TCP_CWR         0x80

typedef struct TsoFrame {
    bool v6;
    unsigned l4, len;
    uint8_t f[14 + 40 + 20 + TSO_PAYLOAD];
} TsoFrame;

/* A TCP frame of TSO_PAYLOAD bytes over IPv4 or IPv6, as a stack sends it */
static void tso_frame(TsoFrame *t, bool v6, uint8_t flags)
{
    uint8_t *ip = t->f + 14, *tcp;

    t->v6 = v6;
    t->l4 = 14 + (v6 ? 40 : 20);
    t->len = t->l4 + 20 + TSO_PAYLOAD;
    tcp = t->f + t->l4;
    frame_fill(t->f, t->len, 77);
    stw_be_p(t->f + 12, v6 ? 0x86dd : 0x0800);
    if (v6) {
        ip[0] = 0x60;
        stw_be_p(ip + 4, 20 + TSO_PAYLOAD);
        ip[6] = 6;
    } else {
        ip[0] = 0x45;
        stw_be_p(ip + 2, 20 + 20 + TSO_PAYLOAD);
        stw_be_p(ip + 4, 0x4000);
        ip[9] = 6;
    }
    stl_be_p(tcp + 4, TSO_SEQ);
    tcp[12] = 5 << 4;
    tcp[13] = flags;
}

/* The folded pseudo-header sum of @t's TCP segment of @tcp_len bytes. */
static uint16_t tcp_pseudo(const uint8_t *f, const TsoFrame *t,
                           unsigned tcp_len)
{
    const uint8_t *ip = f + 14;

    return fold16(t->v6 ? sum16(ip + 8, 32, 6 + tcp_len)
                        : sum16(ip + 12, 8, 6 + tcp_len));
}

/* Transmit @t with a TSO header (@gso_type, gso_size @mss). */
static void tso_send_mss(Dev *d, const TsoFrame *t, uint8_t gso_type,
                         uint16_t mss)
{
    g_autofree uint8_t *b = g_malloc0(HDR_LEN + t->len);
    uint64_t txb = dev_alloc(d, HDR_LEN + t->len);

    b[0] = VIRTIO_NET_HDR_F_NEEDS_CSUM;
    b[1] = gso_type;
    stw_le_p(b + 2, t->l4 + 20);
    stw_le_p(b + 4, mss);
    stw_le_p(b + 6, t->l4);
    stw_le_p(b + 8, 16);
    memcpy(b + HDR_LEN, t->f, t->len);
    qtest_memwrite(d->qts, txb, b, HDR_LEN + t->len);
    put_desc(d, &d->tx, d->tx.avail_idx % QSZ, txb, HDR_LEN + t->len, 0, 0);
    avail_push(d, &d->tx, d->tx.avail_idx % QSZ);
    kick(d, &d->tx);
}

static void tso_send(Dev *d, const TsoFrame *t, uint8_t gso_type)
{
    tso_send_mss(d, t, gso_type, TSO_MSS);
}

/* Post @n receive buffers of 2048 bytes; their addresses by ring slot. */
static void tso_post(Dev *d, uint64_t *bufs, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        uint16_t slot = d->rx.avail_idx % QSZ;

        bufs[slot] = post_rx(d, slot, 2048);
    }
}

/* Read used receive entry @i: its buffer's bytes, @len of them. */
static uint8_t *tso_used(Dev *d, const uint64_t *bufs, uint16_t i,
                         uint32_t *len)
{
    uint32_t id;
    uint8_t *b;

    used_elem(d, &d->rx, i, &id, len);
    g_assert_cmpuint(id, <, QSZ);
    b = g_malloc(*len);
    qtest_memread(d->qts, bufs[id], b, *len);
    return b;
}

/* The frame came back whole, in @nbuf buffers from used entry @first. */
static void tso_expect_whole(Dev *d, const uint64_t *bufs, uint16_t first,
                             const TsoFrame *t, uint8_t gso_type)
{
    g_autofree uint8_t *all = g_malloc0(HDR_LEN + t->len);
    size_t off = 0;
    uint16_t nbuf;

    for (uint16_t i = first; off < HDR_LEN + t->len; i++) {
        uint32_t len;
        g_autofree uint8_t *b = tso_used(d, bufs, i, &len);

        g_assert_cmpuint(off + len, <=, HDR_LEN + t->len);
        memcpy(all + off, b, len);
        off += len;
    }
    nbuf = lduw_le_p(all + 10);
    g_assert_cmpuint(nbuf, ==, DIV_ROUND_UP(HDR_LEN + t->len, 2048));
    g_assert_cmpuint(all[0], ==, VIRTIO_NET_HDR_F_NEEDS_CSUM);
    g_assert_cmpuint(all[1], ==, gso_type);
    g_assert_cmpuint(lduw_le_p(all + 4), ==, TSO_MSS);
    g_assert_cmpuint(lduw_le_p(all + 6), ==, t->l4);
    g_assert_cmpmem(all + HDR_LEN, t->len, t->f, t->len);
}

/*
 * The frame came back as TSO_PAYLOAD / TSO_MSS segments from used entry
 * @first, each a frame of its own with its lengths, IPv4 id and header
 * checksum, sequence number and flags fixed, and its TCP checksum left to
 * the receiver (@partial) or done.
 */
static void tso_expect_segments(Dev *d, const uint64_t *bufs, uint16_t first,
                                const TsoFrame *t, bool partial)
{
    unsigned nseg = TSO_PAYLOAD / TSO_MSS, hdr = t->l4 + 20;

    for (unsigned i = 0; i < nseg; i++) {
        uint32_t len;
        g_autofree uint8_t *b = tso_used(d, bufs, first + i, &len);
        uint8_t *f = b + HDR_LEN, *ip = f + 14, *tcp = f + t->l4;
        uint8_t want_flags = t->f[t->l4 + 13];

        g_assert_cmpuint(len, ==, HDR_LEN + hdr + TSO_MSS);
        g_assert_cmpuint(lduw_le_p(b + 10), ==, 1);
        g_assert_cmpuint(b[1], ==, VIRTIO_NET_HDR_GSO_NONE);
        g_assert_cmpmem(f, 14, t->f, 14);
        g_assert_cmpmem(f + hdr, TSO_MSS, t->f + hdr + i * TSO_MSS, TSO_MSS);
        if (t->v6) {
            g_assert_cmpuint(lduw_be_p(ip + 4), ==, 20 + TSO_MSS);
        } else {
            g_assert_cmpuint(lduw_be_p(ip + 2), ==, 40 + TSO_MSS);
            g_assert_cmpuint(lduw_be_p(ip + 4), ==, 0x4000 + i);
            g_assert_cmpuint(fold16(sum16(ip, 20, 0)), ==, 0xffff);
        }
        g_assert_cmphex(ldl_be_p(tcp + 4), ==, TSO_SEQ + i * TSO_MSS);
        if (i) {
            want_flags &= ~TCP_CWR;
        }
        if (i + 1 < nseg) {
            want_flags &= ~(0x01 | 0x08);
        }
        g_assert_cmphex(tcp[13], ==, want_flags);
        if (partial) {
            g_assert_cmpuint(b[0], ==, VIRTIO_NET_HDR_F_NEEDS_CSUM);
            g_assert_cmpuint(lduw_le_p(b + 6), ==, t->l4);
            g_assert_cmpuint(lduw_le_p(b + 8), ==, 16);
            g_assert_cmphex(lduw_be_p(tcp + 16), ==,
                            tcp_pseudo(f, t, 20 + TSO_MSS));
        } else {
            g_assert_cmpuint(b[0], ==, 0);
            g_assert_cmphex(fold16(sum16(tcp, 20 + TSO_MSS,
                                         tcp_pseudo(f, t, 20 + TSO_MSS))),
                            ==, 0xffff);
        }
    }
}

/* Loop @t once; check it came back whole or cut, as @how says. */
static void tso_loop(Dev *d, const TsoFrame *t, uint8_t gso_type,
                     const char *how)
{
    uint64_t bufs[QSZ];
    uint16_t first = used_idx(d, &d->rx), tx_was = d->tx.avail_idx;
    unsigned nseg = TSO_PAYLOAD / TSO_MSS;
    unsigned want = strcmp(how, "whole")
                    ? nseg : DIV_ROUND_UP(HDR_LEN + t->len, 2048);

    /* Back-pressure: one buffer short, nothing arrives; then it does. */
    tso_post(d, bufs, want - 1);
    tso_send(d, t, gso_type);
    g_assert_true(stays_unused(d, &d->rx, first + 1));
    tso_post(d, bufs, 1);
    kick(d, &d->rx);
    g_assert_true(wait_used(d, &d->tx, tx_was + 1));
    g_assert_true(wait_used(d, &d->rx, first + want));
    if (!strcmp(how, "whole")) {
        tso_expect_whole(d, bufs, first, t, gso_type);
    } else {
        tso_expect_segments(d, bufs, first, t, !strcmp(how, "partial"));
    }
}

/*
 * HOST_TSO4/TSO6/ECN in loopback: a 4000-byte TCP frame with gso_size
 * 1000 reaches a receiver that takes it (GUEST_TSO4/TSO6/ECN on) whole,
 * its header intact; one that does not gets four segments, checksums
 * left to it with GUEST_CSUM or done.  Frames wait whole for receive
 * buffers.  Headers that cannot be cut are errors the device goes on
 * after; features without what they need are refused.
 */
static void test_tso(void)
{
    QTestState *qts = start("-device virtio-mdev-net,id=n0 "
                            "-device virtio-mdev-net,id=n1,guest-csum=off");
    uint64_t f, csum = F(VIRTIO_NET_F_GUEST_CSUM);
    TsoFrame t4, t6, ecn;
    TQueue cq;
    Dev d, d1;

    dev_init(&d, qts, "/machine/peripheral/n0");
    dev_init(&d1, qts, "/machine/peripheral/n1");
    g_assert_cmphex(dev_negotiate(&d, BASE_FEATURES |
                                  F(VIRTIO_NET_F_GUEST_TSO4)) &
                    VIRTIO_CONFIG_S_FEATURES_OK, ==, 0);
    f = device_features(&d1);
    g_assert_cmphex(f & (F(VIRTIO_NET_F_GUEST_TSO4) |
                         F(VIRTIO_NET_F_GUEST_TSO6) |
                         F(VIRTIO_NET_F_GUEST_ECN)), ==, 0);
    g_assert_true(f & F(VIRTIO_NET_F_HOST_TSO4));

    dev_start(&d, TSO_FEATURES);
    queue_setup(&d, &cq, 2);
    tso_frame(&t4, false, TCP_FIN_PSH_ACK);
    tso_frame(&t6, true, TCP_FIN_PSH_ACK);
    tso_frame(&ecn, false, TCP_CWR | TCP_FIN_PSH_ACK);
    tso_loop(&d, &t4, VIRTIO_NET_HDR_GSO_TCPV4, "whole");
    tso_loop(&d, &t6, VIRTIO_NET_HDR_GSO_TCPV6, "whole");
    tso_loop(&d, &ecn, VIRTIO_NET_HDR_GSO_TCPV4 | VIRTIO_NET_HDR_GSO_ECN,
             "whole");

    /* Receive offloads off (as Linux for ethtool -K eth0 gro-hw off) */
    g_assert_cmpuint(set_offloads(&d, &cq, csum | F(VIRTIO_NET_F_GUEST_TSO4)),
                     ==, VIRTIO_NET_OK);
    tso_loop(&d, &ecn, VIRTIO_NET_HDR_GSO_TCPV4 | VIRTIO_NET_HDR_GSO_ECN,
             "partial");
    tso_loop(&d, &t6, VIRTIO_NET_HDR_GSO_TCPV6, "partial");
    g_assert_cmpuint(set_offloads(&d, &cq, 0), ==, VIRTIO_NET_OK);
    tso_loop(&d, &t4, VIRTIO_NET_HDR_GSO_TCPV4, "complete");
    tso_loop(&d, &t6, VIRTIO_NET_HDR_GSO_TCPV6, "complete");
    g_assert_cmpuint(stat_of(&d, "rx-stats", "packets"), ==, 3 + 4 * 4);
    g_assert_cmpuint(stat_of(&d, "tx-stats", "packets"), ==, 3 + 4);

    /* An IPv6 frame sent as TCPv4 cannot be cut: an error, no frame. */
    tso_send(&d, &t6, VIRTIO_NET_HDR_GSO_TCPV4);
    g_assert_true(wait_used(&d, &d.tx, d.tx.avail_idx));
    g_assert_cmpuint(stat_of(&d, "tx-stats", "errors"), ==, 1);
    /* 4000 one-byte segments: more than the receive ring holds. */
    tso_send_mss(&d, &t4, VIRTIO_NET_HDR_GSO_TCPV4, 1);
    g_assert_true(wait_used(&d, &d.tx, d.tx.avail_idx));
    g_assert_cmpuint(stat_of(&d, "rx-stats", "errors"), ==, 1);
    g_assert_cmpuint(rd(&d, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET,
                     ==, 0);
    qtest_quit(qts);
}

/* ---- notification data ---- */

/* Kick @q with NOTIFICATION_DATA: the driver's next available position. */
static void kick_data(Dev *d, TQueue *q, uint16_t next)
{
    wr(d, VIRTIO_MMIO_QUEUE_NOTIFY, q->idx | (uint32_t)next << 16);
}

/* Kicks that announce nothing new run nothing; the device counts them. */
static void expect_kick_ignored(Dev *d, const char *mdev, TQueue *q,
                                uint16_t next)
{
    uint64_t runs = bh_runs(d->qts, mdev);
    uint64_t kicks = stat_of(d, "tx-stats", "kicks");

    for (int i = 0; i < 3; i++) {
        kick_data(d, q, next);
    }
    g_usleep(100 * 1000);
    g_assert_cmpuint(bh_runs(d->qts, mdev), ==, runs);
    g_assert_cmpuint(stat_of(d, "tx-stats", "kicks"), ==, kicks + 3);
}

/*
 * VIRTIO_F_NOTIFICATION_DATA: the driver writes its next available
 * position with the kick (split: the avail index; packed: offset and wrap
 * counter).  Frames go as with plain kicks; a kick whose position the
 * device has already reached does not run the datapath.  Without the
 * feature the upper bits are not data: every kick runs it.
 */
static void test_notification_data(void)
{
    QTestState *qts = start("-device virtio-mdev-net,id=n0");
    g_autofree char *mdev = NULL;
    uint64_t rx, runs;
    PkQueue prx, ptx;
    uint16_t id;
    uint32_t len;
    Dev d;

    dev_init(&d, qts, "/machine/peripheral/n0");
    mdev = mdev_path(&d, "mvnet-default");
    dev_start(&d, BASE_FEATURES | F(VIRTIO_F_NOTIFICATION_DATA));
    for (unsigned n = 0; n < 2 * QSZ; n++) {
        rx = post_rx(&d, n % QSZ, 2048);
        send_frame(&d, n % QSZ, HDR_LEN, 100, n);
        kick_data(&d, &d.rx, d.rx.avail_idx);
        kick_data(&d, &d.tx, d.tx.avail_idx);
        g_assert_true(wait_used(&d, &d.rx, n + 1));
        check_rx(&d, rx, HDR_LEN, 100, n, 1);
    }
    expect_kick_ignored(&d, mdev, &d.tx, d.tx.avail_idx);

    /* Not negotiated: bits 31:16 are no data, the kick runs. */
    dev_start(&d, BASE_FEATURES);
    rx = post_rx(&d, 0, 2048);
    send_frame(&d, 0, HDR_LEN, 100, 7);
    runs = bh_runs(qts, mdev);
    kick_data(&d, &d.tx, 0);
    g_assert_true(wait_used(&d, &d.rx, 1));
    check_rx(&d, rx, HDR_LEN, 100, 7, 1);
    g_assert_cmpuint(bh_runs(qts, mdev), >, runs);

    /* Packed rings: offset and wrap counter, across a wrap-around. */
    dev_negotiate(&d, BASE_FEATURES | F(VIRTIO_F_RING_PACKED) |
                  F(VIRTIO_F_NOTIFICATION_DATA));
    pk_setup(&d, &prx, 0);
    pk_setup(&d, &ptx, 1);
    wr(&d, VIRTIO_MMIO_STATUS, S_ACK_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK |
       VIRTIO_CONFIG_S_DRIVER_OK);
    for (unsigned n = 0; n < QSZ + 3; n++) {
        uint64_t txb = dev_alloc(&d, HDR_LEN + 60);
        g_autofree uint8_t *f = g_malloc0(HDR_LEN + 60);

        frame_fill(f + HDR_LEN, 60, n);
        qtest_memwrite(qts, txb, f, HDR_LEN + 60);
        rx = dev_alloc(&d, 2048);
        pk_post(&d, &prx, rx, 2048, true, n % QSZ);
        pk_post(&d, &ptx, txb, HDR_LEN + 60, false, n % QSZ);
        kick_data(&d, &prx.q, prx.next | prx.wrap << 15);
        kick_data(&d, &ptx.q, ptx.next | ptx.wrap << 15);
        g_assert_true(pk_wait_used(&d, &ptx, &id, &len));
        g_assert_true(pk_wait_used(&d, &prx, &id, &len));
        check_rx(&d, rx, HDR_LEN, 60, n, 1);
    }
    expect_kick_ignored(&d, mdev, &ptx.q, ptx.next | ptx.wrap << 15);
    qtest_quit(qts);
}

static void test_switches(void)
{
    QTestState *qts = start("-device virtio-mdev-net,id=n0,mrg-rxbuf=off,"
                            "event-idx=off,indirect-desc=off,status=off,"
                            "ctrl-vq=off");
    uint64_t f;
    Dev d;

    dev_init(&d, qts, "/machine/peripheral/n0");
    f = device_features(&d);
    g_assert_cmphex(f & (F(VIRTIO_NET_F_MRG_RXBUF) |
                         F(VIRTIO_RING_F_EVENT_IDX) |
                         F(VIRTIO_RING_F_INDIRECT_DESC) |
                         F(VIRTIO_NET_F_STATUS) | CTRL_FEATURES), ==, 0);
    g_assert_true(f & F(VIRTIO_F_VERSION_1));
    g_assert_true(f & F(VIRTIO_NET_F_MAC));
    /* No control queue without CTRL_VQ; switched-off features rejected. */
    wr(&d, VIRTIO_MMIO_QUEUE_SEL, 2);
    g_assert_cmpuint(rd(&d, VIRTIO_MMIO_QUEUE_NUM_MAX), ==, 0);
    g_assert_cmphex(dev_negotiate(&d, F(VIRTIO_F_VERSION_1) |
                                  F(VIRTIO_NET_F_MRG_RXBUF)) &
                    VIRTIO_CONFIG_S_FEATURES_OK, ==, 0);
    qtest_quit(qts);
}

/* ---- migration ---- */

/*
 * What a driver and a management tool see of the NIC: registers of the
 * device and of each queue, config space, the rings' used indices and the
 * per-queue counters.  Selects feature page 1 and queue 2 on the way.
 */
static char *dev_snapshot(Dev *d)
{
    GString *s = g_string_new("");
    g_autofree char *p = mdev_path(d, "mvnet-default");

    for (unsigned sel = 0; sel < 2; sel++) {
        wr(d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, sel);
        g_string_append_printf(s, "features[%u]=%08x\n", sel,
                               rd(d, VIRTIO_MMIO_DEVICE_FEATURES));
    }
    g_string_append_printf(s, "status=%02x isr=%x generation=%u\n",
                           rd(d, VIRTIO_MMIO_STATUS),
                           rd(d, VIRTIO_MMIO_INTERRUPT_STATUS),
                           rd(d, VIRTIO_MMIO_CONFIG_GENERATION));
    for (unsigned q = 0; q < 3; q++) {
        wr(d, VIRTIO_MMIO_QUEUE_SEL, q);
        g_string_append_printf(s, "queue %u: num-max=%u ready=%u\n", q,
                               rd(d, VIRTIO_MMIO_QUEUE_NUM_MAX),
                               rd(d, VIRTIO_MMIO_QUEUE_READY));
    }
    for (unsigned off = 0; off < 12; off += 4) {
        g_string_append_printf(s, "config[%u]=%08x\n", off,
                               rd(d, VIRTIO_MMIO_CONFIG + off));
    }
    g_string_append_printf(s, "used rx=%u tx=%u\n", used_idx(d, &d->rx),
                           used_idx(d, &d->tx));
    for (unsigned i = 0; i < 2; i++) {
        const char *q = i ? "tx-stats" : "rx-stats";
        QDict *st = qom_get_dict(d->qts, p, q);
        g_autoptr(GString) json = qobject_to_json(QOBJECT(st));

        g_string_append_printf(s, "%s=%s\n", q, json->str);
        qobject_unref(st);
    }
    return g_string_free(s, false);
}

/*
 * A running NIC migrates: registers, negotiated state and ring positions
 * survive (the snapshots before and after are equal), and a frame that
 * was waiting for receive buffers at migration time goes through on the
 * destination.
 */
static void test_migrate(void)
{
    const char *dev = "-device virtio-mdev-net,id=n0,"
                      "uuid=6b2e6a1c-1b2c-4d1e-9a51-0e3f0000f00d";
    g_autofree char *args = g_strdup_printf("-m 64 %s", dev);
    QTestState *src = start(args), *dst;
    g_autofree char *before = NULL, *after = NULL;
    uint64_t rx;
    Dev d;

    dev_init(&d, src, "/machine/peripheral/n0");
    dev_start(&d, BASE_FEATURES | F(VIRTIO_RING_F_EVENT_IDX));
    for (unsigned n = 0; n < 3; n++) {
        post_rx(&d, n, 2048);
        send_frame(&d, n, HDR_LEN, 200 + n, n);
        kick(&d, &d.tx);
        g_assert_true(wait_used(&d, &d.rx, n + 1));
    }
    send_frame(&d, 3, HDR_LEN, 777, 3);
    kick(&d, &d.tx);
    g_assert_true(stays_unused(&d, &d.tx, 4));   /* waits for an RX buffer */
    before = dev_snapshot(&d);
    dst = migrate_to_new(src, dev, NULL);
    d.qts = dst;
    after = dev_snapshot(&d);
    g_assert_cmpstr(before, ==, after);
    g_assert_cmpuint(rd(&d, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_DRIVER_OK,
                     ==, VIRTIO_CONFIG_S_DRIVER_OK);
    wr(&d, VIRTIO_MMIO_QUEUE_SEL, 1);
    g_assert_cmpuint(rd(&d, VIRTIO_MMIO_QUEUE_READY), ==, 1);
    g_assert_cmpuint(used_idx(&d, &d.tx), ==, 3);
    g_assert_cmpuint(stat_of(&d, "tx-stats", "packets"), ==, 3);

    rx = post_rx(&d, 3, 2048);
    kick(&d, &d.rx);
    g_assert_true(wait_used(&d, &d.tx, 4));
    g_assert_true(wait_used(&d, &d.rx, 4));
    check_rx(&d, rx, HDR_LEN, 777, 3, 1);
    qtest_quit(dst);
}

/* A QEMU waiting for an incoming migration, its stderr in @err. */
static QTestState *start_incoming(const char *dev, const char *err)
{
    g_autofree char *args = g_strdup_printf("-m 64 %s -incoming defer "
                                            "2>%s", dev, err);

    return start(args);
}

/* What the process whose stderr is in @err said, for g_assert_nonnull. */
static bool said(const char *err, const char *what)
{
    g_autofree char *text = NULL;

    g_assert_true(g_file_get_contents(err, &text, NULL, NULL));
    if (!strstr(text, what)) {
        g_test_message("stderr: %s", text);
        return false;
    }
    return true;
}

#define RETURN_PATH_ON \
    "{'execute': 'migrate-set-capabilities', 'arguments': " \
    "{'capabilities': [{'capability': 'return-path', 'state': true}]}}"

/*
 * Live migration (with a return path) from a NIC @src_dev to a
 * destination whose NIC @dst_dev is configured differently is refused:
 * the destination says @want, clears what it loaded and keeps answering,
 * and the source goes back to running, its NIC still working.
 */
static void migrate_refused(const char *src_dev, const char *dst_dev,
                            const char *want)
{
    g_autofree char *dir = g_dir_make_tmp("virtio-mdev-XXXXXX", NULL);
    g_autofree char *sock = g_build_filename(dir, "sock", NULL);
    g_autofree char *err = g_build_filename(dir, "stderr", NULL);
    g_autofree char *uri = g_strdup_printf("unix:%s", sock);
    g_autofree char *src_args = g_strdup_printf("-m 64 %s", src_dev);
    QTestState *src = start(src_args);
    QTestState *dst = start_incoming(dst_dev, err);
    uint64_t rx;
    Dev d, dd;

    dev_init(&d, src, "/machine/peripheral/n0");
    dev_start(&d, BASE_FEATURES);
    qtest_qmp_assert_success(src, RETURN_PATH_ON);
    qtest_qmp_assert_success(dst, RETURN_PATH_ON);
    qtest_qmp_assert_success(dst, "{'execute': 'migrate-incoming', "
                             "'arguments': {'uri': %s, "
                             "'exit-on-error': false}}", uri);
    qtest_qmp_assert_success(src, "{'execute': 'migrate', 'arguments': "
                             "{'uri': %s}}", uri);
    vmq_wait_migration(src, "query-migrate", "status", "failed");
    vmq_wait_migration(dst, "query-migrate", "status", "failed");
    g_assert_true(said(err, want));

    dev_init(&dd, dst, "/machine/peripheral/n0");
    g_assert_cmpuint(rd(&dd, VIRTIO_MMIO_STATUS), ==, 0);
    qtest_quit(dst);

    vmq_wait_migration(src, "query-status", "status", "running");
    rx = post_rx(&d, 0, 2048);
    kick(&d, &d.rx);
    send_frame(&d, 0, HDR_LEN, 100, 9);
    kick(&d, &d.tx);
    g_assert_true(wait_used(&d, &d.rx, 1));
    check_rx(&d, rx, HDR_LEN, 100, 9, 1);
    qtest_quit(src);
    unlink(sock);
    unlink(err);
    rmdir(dir);
}

/* A destination whose NIC differs names the property. */
static void test_migrate_refused(void)
{
    const char *n = "-device virtio-mdev-net,id=n0";

    migrate_refused(n, "-device virtio-mdev-net,id=n0,mtu=9000",
                    "property 'mtu' is 1500 on the migration source and "
                    "9000 here");
    migrate_refused(n, "-device virtio-mdev-net,id=n0,mrg-rxbuf=off",
                    "property 'mrg-rxbuf' is on on the migration source and "
                    "off here");
    migrate_refused("-device virtio-mdev-net,id=n0,mac=52:54:00:00:00:01",
                    "-device virtio-mdev-net,id=n0,mac=52:54:00:00:00:02",
                    "property 'mac' is 52:54:00:00:00:01 on the migration "
                    "source and 52:54:00:00:00:02 here");
}

/* Where mdev-vq's record of @q is in a stream: ready, num, addresses... */
static uint8_t *find_vq_record(uint8_t *buf, size_t len, TQueue *q)
{
    uint8_t addrs[24];
    uint8_t *p;

    stq_be_p(addrs, q->desc);
    stq_be_p(addrs + 8, q->avail);
    stq_be_p(addrs + 16, q->used);
    p = memmem(buf, len, addrs, sizeof(addrs));
    g_assert_nonnull(p);
    g_assert_null(memmem(p + 1, len - (p + 1 - buf), addrs, sizeof(addrs)));
    return p - 3;               /* bool ready, uint16 num, then desc */
}

/*
 * A crafted migration stream is refused with an error, leaves nothing
 * half-loaded, and QEMU goes on: the stream of @len bytes in @buf edited
 * by @edit, e.g. the TX queue's record (offsets from mdev-vq's record: 0
 * ready, 1 num, 27 avail, 29 used, 31 in flight, big-endian).  Before,
 * ready=1 with num=0 left a ready queue that the next memory transaction
 * turned into an assertion failure.
 */
typedef void CraftFn(uint8_t *buf, size_t len, Dev *d);

/*
 * The same for a NIC @dev, started with @features and @queues queues,
 * those after the first two set up by @prep when it is given.
 */
typedef void CraftPrep(Dev *d);

static void migrate_crafted_dev(const char *dev, uint64_t features,
                                unsigned queues, CraftPrep *prep,
                                CraftFn *edit, const char *want);

static void migrate_crafted(CraftFn *edit, const char *want)
{
    migrate_crafted_dev("-device virtio-mdev-net,id=n0",
                        BASE_FEATURES | CTRL_FEATURES, 3, NULL, edit, want);
}

static void migrate_crafted_dev(const char *dev, uint64_t features,
                                unsigned queues, CraftPrep *prep,
                                CraftFn *edit, const char *want)
{
    g_autofree char *dir = g_dir_make_tmp("virtio-mdev-XXXXXX", NULL);
    g_autofree char *file = g_build_filename(dir, "state", NULL);
    g_autofree char *err = g_build_filename(dir, "stderr", NULL);
    g_autofree char *uri = g_strdup_printf("file:%s", file);
    g_autofree uint8_t *buf = NULL;
    g_autofree char *args = g_strdup_printf("-m 64 %s", dev);
    QTestState *qts = start(args);
    TQueue more;
    size_t len;
    Dev d;

    dev_init(&d, qts, "/machine/peripheral/n0");
    dev_start(&d, features);
    for (unsigned q = 2; q < queues && !prep; q++) {
        queue_setup(&d, &more, q);
    }
    if (prep) {
        prep(&d);
    }
    qtest_qmp_assert_success(qts, "{'execute': 'migrate', 'arguments': "
                             "{'uri': %s}}", uri);
    vmq_wait_migration(qts, "query-migrate", "status", "completed");
    qtest_quit(qts);

    g_assert_true(g_file_get_contents(file, (char **)&buf, &len, NULL));
    edit(buf, len, &d);
    g_assert_true(g_file_set_contents(file, (char *)buf, len, NULL));

    qts = start_incoming(dev, err);
    qtest_qmp_assert_success(qts, "{'execute': 'migrate-incoming', "
                             "'arguments': {'uri': %s, "
                             "'exit-on-error': false}}", uri);
    vmq_wait_migration(qts, "query-migrate", "status", "failed");
    g_assert_true(said(err, want));
    d.qts = qts;
    g_assert_cmpuint(rd(&d, VIRTIO_MMIO_STATUS), ==, 0);
    for (unsigned q = 0; q < queues; q++) {
        wr(&d, VIRTIO_MMIO_QUEUE_SEL, q);
        g_assert_cmpuint(rd(&d, VIRTIO_MMIO_QUEUE_READY), ==, 0);
    }
    /* Memory transactions (reset remaps ROMs and windows) find no ring. */
    qtest_qmp_assert_success(qts, "{'execute': 'system_reset'}");
    qtest_qmp_assert_success(qts, "{'execute': 'query-status'}");
    qtest_quit(qts);
    unlink(file);
    unlink(err);
    rmdir(dir);
}

static void edit_num_zero(uint8_t *buf, size_t len, Dev *d)
{
    uint8_t *rec = find_vq_record(buf, len, &d->tx);

    g_assert_cmpuint(rec[0], ==, 1);
    stw_be_p(rec + 1, 0);
}

static void edit_num_odd(uint8_t *buf, size_t len, Dev *d)
{
    stw_be_p(find_vq_record(buf, len, &d->tx) + 1, 3);
}

static void edit_inflight(uint8_t *buf, size_t len, Dev *d)
{
    stw_be_p(find_vq_record(buf, len, &d->tx) + 31, 0xffff);
}

/*
 * The receive filter's subsection: its name, the version (be32), then
 * four bools and the unicast count (be32): more entries than the table.
 */
static void edit_mac_table(uint8_t *buf, size_t len, Dev *d)
{
    static const char name[] = "mvnet/rxf";
    uint8_t *p = memmem(buf, len, name, strlen(name));

    g_assert_nonnull(p);
    p += strlen(name) + 4 + 4;
    g_assert_cmpuint(ldl_be_p(p), ==, 0);
    stl_be_p(p, 200);
}

static void test_migrate_crafted(void)
{
    migrate_crafted(edit_num_zero, "queue 1: invalid migrated ring state");
    migrate_crafted(edit_num_odd, "queue 1: invalid migrated ring state");
    migrate_crafted(edit_inflight, "queue 1: invalid migrated ring state");
    migrate_crafted(edit_mac_table, "migrated MAC tables of 200 + 0 entries "
                    "exceed 64");
}

/* ---- multiqueue (VIRTIO_NET_F_MQ) ---- */

#define MQ_FEATURES     (BASE_FEATURES | F(VIRTIO_NET_F_CTRL_VQ) | \
                         F(VIRTIO_NET_F_MQ))
#define MQ_DEV          "-device virtio-mdev-net,id=n0,queues=2"

/* Two queue pairs (receiveq2 is queue 2) and the control queue, 4. */
typedef struct MqDev {
    Dev d;
    TQueue rx1, tx1, cq;
} MqDev;

static uint32_t queue_num_max(Dev *d, unsigned idx)
{
    wr(d, VIRTIO_MMIO_QUEUE_SEL, idx);
    return rd(d, VIRTIO_MMIO_QUEUE_NUM_MAX);
}

static void mq_start_with(MqDev *m, QTestState *qts, uint64_t features)
{
    Dev *d = &m->d;

    dev_init(d, qts, "/machine/peripheral/n0");
    g_assert_cmphex(dev_negotiate(d, features) &
                    VIRTIO_CONFIG_S_FEATURES_OK, ==,
                    VIRTIO_CONFIG_S_FEATURES_OK);
    queue_setup(d, &d->rx, 0);
    queue_setup(d, &d->tx, 1);
    queue_setup(d, &m->rx1, 2);
    queue_setup(d, &m->tx1, 3);
    queue_setup(d, &m->cq, 4);
    wr(d, VIRTIO_MMIO_STATUS, S_ACK_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK |
       VIRTIO_CONFIG_S_DRIVER_OK);
}

static void mq_start(MqDev *m, QTestState *qts)
{
    mq_start_with(m, qts, MQ_FEATURES);
}

static uint8_t mq_pairs_set(MqDev *m, uint16_t pairs, size_t len)
{
    uint8_t data[2];

    stw_le_p(data, pairs);
    return ctrl_cmd(&m->d, &m->cq, VIRTIO_NET_CTRL_MQ,
                    VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, data, len);
}

/* 'info mdev' lists queue @idx as @name with @packets packets. */
static void expect_queue_packets(QTestState *qts, unsigned idx,
                                 const char *name, unsigned packets)
{
    g_autofree char *hmp = qtest_hmp(qts, "info mdev");
    g_autofree char *want = g_strdup_printf("queue %u %-3s packets %u ", idx,
                                            name, packets);

    if (!strstr(hmp, want)) {
        g_test_message("info mdev: %s", hmp);
    }
    g_assert_nonnull(strstr(hmp, want));
}

/*
 * queues=2: the driver finds two pairs and the control queue after them;
 * the device uses the first pair until VQ_PAIRS_SET, then each pair loops
 * into its own receive queue, with counters of its own.  A bad pair count
 * is refused, fewer pairs leave the others resting, and a driver without
 * MQ sees one pair with the control queue at 2.
 */
static void test_mq(void)
{
    QTestState *qts = start(MQ_DEV);
    uint64_t rx0, rx1;
    MqDev m;
    Dev *d = &m.d;

    dev_init(d, qts, "/machine/peripheral/n0");
    g_assert_cmphex(device_features(d) & F(VIRTIO_NET_F_MQ), ==,
                    F(VIRTIO_NET_F_MQ));
    g_assert_cmpuint(qtest_readw(qts, d->base + VIRTIO_MMIO_CONFIG +
                                 offsetof(struct virtio_net_config,
                                          max_virtqueue_pairs)), ==, 2);
    g_assert_cmphex(dev_negotiate(d, BASE_FEATURES | F(VIRTIO_NET_F_CTRL_VQ)) &
                    VIRTIO_CONFIG_S_FEATURES_OK, ==,
                    VIRTIO_CONFIG_S_FEATURES_OK);
    g_assert_cmpuint(queue_num_max(d, 2), ==, 256);
    g_assert_cmpuint(queue_num_max(d, 3), ==, 0);
    /* MQ needs the control queue. */
    g_assert_cmphex(dev_negotiate(d, BASE_FEATURES | F(VIRTIO_NET_F_MQ)) &
                    VIRTIO_CONFIG_S_FEATURES_OK, ==, 0);

    mq_start(&m, qts);
    g_assert_cmpuint(queue_num_max(d, 5), ==, 0);
    rx1 = post_rx_on(d, &m.rx1, 0, 2048);
    send_frame_on(d, &m.tx1, 0, HDR_LEN, 300, 7);
    kick(d, &m.tx1);
    g_assert_true(stays_unused(d, &m.tx1, 1));
    g_assert_cmpuint(mq_pairs_set(&m, 2, 2), ==, VIRTIO_NET_OK);
    g_assert_true(wait_used(d, &m.rx1, 1));
    check_rx(d, rx1, HDR_LEN, 300, 7, 1);

    rx0 = post_rx(d, 0, 2048);
    send_frame(d, 0, HDR_LEN, 200, 8);
    kick(d, &d->tx);
    g_assert_true(wait_used(d, &d->rx, 1));
    check_rx(d, rx0, HDR_LEN, 200, 8, 1);
    g_assert_cmpuint(used_idx(d, &m.rx1), ==, 1);
    expect_queue_packets(qts, 0, "rx", 1);
    expect_queue_packets(qts, 2, "rx1", 1);
    expect_queue_packets(qts, 3, "tx1", 1);
    expect_queue_packets(qts, 4, "ctrl", 1);

    g_assert_cmpuint(mq_pairs_set(&m, 3, 2), ==, VIRTIO_NET_ERR);
    g_assert_cmpuint(mq_pairs_set(&m, 0, 2), ==, VIRTIO_NET_ERR);
    g_assert_cmpuint(mq_pairs_set(&m, 1, 1), ==, VIRTIO_NET_ERR);
    g_assert_cmpuint(mq_pairs_set(&m, 1, 2), ==, VIRTIO_NET_OK);
    post_rx_on(d, &m.rx1, 1, 2048);
    send_frame_on(d, &m.tx1, 1, HDR_LEN, 100, 9);
    kick(d, &m.tx1);
    g_assert_true(stays_unused(d, &m.tx1, 2));
    g_assert_cmpuint(rd(d, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET,
                     ==, 0);
    qtest_quit(qts);
}

/* Which receive queue of @m takes the next frame: 0 or 1. */
static unsigned mq_next_arrival(MqDev *m)
{
    Dev *d = &m->d;
    uint16_t seen0 = d->rx.used_seen, seen1 = m->rx1.used_seen;
    gint64 end = g_get_monotonic_time() + VMQ_WAIT_US;

    while (g_get_monotonic_time() < end) {
        qtest_clock_step(d->qts, 100);
        if (used_idx(d, &d->rx) != seen0) {
            d->rx.used_seen++;
            return 0;
        }
        if (used_idx(d, &m->rx1) != seen1) {
            m->rx1.used_seen++;
            return 1;
        }
    }
    g_assert_not_reached();
}

/* Send @f (@len bytes) on the first pair; the queue it comes back on. */
static unsigned mq_bounce(MqDev *m, const uint8_t *f, size_t len)
{
    Dev *d = &m->d;
    uint64_t buf = dev_alloc(d, HDR_LEN + len);
    uint16_t slot = d->tx.avail_idx % QSZ;

    qtest_memwrite(d->qts, buf + HDR_LEN, f, len);
    put_desc(d, &d->tx, slot, buf, HDR_LEN + len, 0, 0);
    avail_push(d, &d->tx, slot);
    kick(d, &d->tx);
    return mq_next_arrival(m);
}

/* The frame @f of the other direction: addresses and ports swapped. */
static void udp_reverse(uint8_t *f)
{
    uint8_t t[4];

    memcpy(t, f + 14 + 12, 4);
    memmove(f + 14 + 12, f + 14 + 16, 4);
    memcpy(f + 14 + 16, t, 4);
    memcpy(t, f + UDP_AT, 2);
    memmove(f + UDP_AT, f + UDP_AT + 2, 2);
    memcpy(f + UDP_AT + 2, t, 2);
}

/* Post receive buffers on both queues of @m. */
static void mq_post_all(MqDev *m)
{
    for (unsigned i = 0; i < QSZ; i++) {
        post_rx(&m->d, i, 2048);
        post_rx_on(&m->d, &m->rx1, i, 2048);
    }
    kick(&m->d, &m->d.rx);
    kick(&m->d, &m->rx1);
}

/*
 * A QEMU whose NIC (two pairs) is on a UDP socket looped to itself, @m
 * started with @features and every receive buffer posted.
 */
static QTestState *mq_start_netdev(MqDev *m, uint64_t features)
{
    int port = free_udp_port();
    g_autofree char *args = g_strdup_printf(
        "-netdev socket,id=s0,udp=127.0.0.1:%d,localaddr=127.0.0.1:%d "
        MQ_DEV ",netdev=s0", port, port);
    QTestState *qts = start(args);

    mq_start_with(m, qts, features);
    mq_post_all(m);
    return qts;
}

/*
 * With a netdev the flows are spread over the pairs in use: frames from a
 * UDP socket looped to itself come back on the queue of their flow, the
 * same for each frame of a flow and for both directions; distinct flows
 * use both queues.  Before VQ_PAIRS_SET everything takes the first.
 */
static void test_mq_netdev(void)
{
    uint8_t f[UDP_AT + UDP_LEN];
    unsigned per_queue[2] = { 0 }, q;
    size_t len;
    MqDev m;
    QTestState *qts = mq_start_netdev(&m, MQ_FEATURES);

    for (unsigned seed = 0; seed < 3; seed++) {
        len = udp_frame(f, seed);
        g_assert_cmpuint(mq_bounce(&m, f, len), ==, 0);
    }
    g_assert_cmpuint(mq_pairs_set(&m, 2, 2), ==, VIRTIO_NET_OK);
    for (unsigned seed = 0; seed < 8; seed++) {
        len = udp_frame(f, seed);
        q = mq_bounce(&m, f, len);
        per_queue[q]++;
        g_assert_cmpuint(mq_bounce(&m, f, len), ==, q);
        udp_reverse(f);
        g_assert_cmpuint(mq_bounce(&m, f, len), ==, q);
    }
    g_assert_cmpuint(per_queue[0], >, 0);
    g_assert_cmpuint(per_queue[1], >, 0);
    qtest_quit(qts);
}

/*
 * Migration with two pairs in use: the second pair's queues, counters and
 * the pair count arrive, and a frame waiting on the second pair for a
 * receive buffer goes through on the destination.
 */
static void test_mq_migrate(void)
{
    g_autofree char *args = g_strdup_printf("-m 64 %s", MQ_DEV);
    QTestState *qts = start(args);
    uint64_t rx;
    MqDev m;
    Dev *d = &m.d;

    mq_start(&m, qts);
    g_assert_cmpuint(mq_pairs_set(&m, 2, 2), ==, VIRTIO_NET_OK);
    post_rx_on(d, &m.rx1, 0, 2048);
    send_frame_on(d, &m.tx1, 0, HDR_LEN, 500, 1);
    kick(d, &m.tx1);
    g_assert_true(wait_used(d, &m.rx1, 1));
    send_frame_on(d, &m.tx1, 1, HDR_LEN, 600, 2);
    kick(d, &m.tx1);
    g_assert_true(stays_unused(d, &m.tx1, 2));

    qts = migrate_to_new(qts, MQ_DEV, NULL);
    d->qts = qts;
    wr(d, VIRTIO_MMIO_QUEUE_SEL, 3);
    g_assert_cmpuint(rd(d, VIRTIO_MMIO_QUEUE_READY), ==, 1);
    expect_queue_packets(qts, 2, "rx1", 1);
    rx = post_rx_on(d, &m.rx1, 1, 2048);
    kick(d, &m.rx1);
    g_assert_true(wait_used(d, &m.tx1, 2));
    g_assert_true(wait_used(d, &m.rx1, 2));
    check_rx(d, rx, HDR_LEN, 600, 2, 1);
    expect_queue_packets(qts, 3, "tx1", 2);
    qtest_quit(qts);
}

/* The mq subsection: its name, the version (be32), then curr_pairs. */
static void edit_pairs(uint8_t *buf, size_t len, Dev *d)
{
    static const char name[] = "mvnet/mq";
    uint8_t *p = memmem(buf, len, name, strlen(name));

    g_assert_nonnull(p);
    p += strlen(name) + 4;
    g_assert_cmpuint(lduw_be_p(p), ==, 1);
    stw_be_p(p, 9);
}

static void test_mq_migrate_refused(void)
{
    migrate_refused(MQ_DEV, "-device virtio-mdev-net,id=n0",
                    "property 'queues' is 2 on the migration source and 1 "
                    "here");
    migrate_crafted_dev(MQ_DEV, MQ_FEATURES, 5, NULL, edit_pairs,
                        "9 queue pairs in use in the migration stream, 1..2 "
                        "here");
}

/*
 * RSS (VIRTIO_NET_F_RSS): the driver's Toeplitz key and indirection table
 * choose the receive queue.  The test computes the hash itself, checked
 * against the verification suite of Microsoft's RSS specification.
 */
static const uint8_t rss_key[40] = {
    0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67,
    0x25, 0x3d, 0x43, 0xa3, 0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb,
    0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3, 0x80, 0x30,
    0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
};

#define RSS_TYPES       (VIRTIO_NET_RSS_HASH_TYPE_IPv4 | \
                         VIRTIO_NET_RSS_HASH_TYPE_UDPv4 | \
                         VIRTIO_NET_RSS_HASH_TYPE_TCPv4)

static uint32_t toeplitz(const uint8_t *in, size_t len)
{
    uint32_t hash = 0;

    for (size_t i = 0; i < len * 8; i++) {
        if (in[i / 8] & (0x80 >> (i % 8))) {
            uint32_t k = ldl_be_p(rss_key + i / 8) << (i % 8);

            hash ^= i % 8 ? k | rss_key[i / 8 + 4] >> (8 - i % 8) : k;
        }
    }
    return hash;
}

/* The queue of a UDP frame @f under rss_config()'s table (i & 1). */
static unsigned rss_queue(const uint8_t *f)
{
    uint8_t in[12];

    memcpy(in, f + 14 + 12, 8);
    memcpy(in + 8, f + UDP_AT, 4);
    return toeplitz(in, sizeof(in)) & 1;
}

/*
 * VIRTIO_NET_CTRL_MQ_RSS_CONFIG of @types, a table of @table_len entries
 * i & 1 (entry @bad_entry set to 2 when not negative), unclassified queue
 * 1, @tx pairs and @key_len bytes of rss_key.
 */
static uint8_t rss_config(MqDev *m, uint32_t types, unsigned table_len,
                          int bad_entry, uint16_t tx, unsigned key_len)
{
    uint8_t data[8 + 2 * 128 + 3 + 64];
    size_t off = 8;

    stl_le_p(data, types);
    stw_le_p(data + 4, table_len - 1);
    stw_le_p(data + 6, 1);
    for (unsigned i = 0; i < table_len; i++, off += 2) {
        stw_le_p(data + off, (int)i == bad_entry ? 2 : i & 1);
    }
    stw_le_p(data + off, tx);
    data[off + 2] = key_len;
    memset(data + off + 3, 0x5a, key_len);
    memcpy(data + off + 3, rss_key, MIN(key_len, sizeof(rss_key)));
    return ctrl_cmd(&m->d, &m->cq, VIRTIO_NET_CTRL_MQ,
                    VIRTIO_NET_CTRL_MQ_RSS_CONFIG, data, off + 3 + key_len);
}

/* A UDP frame whose ports are hashed too (not a fragment). */
static size_t rss_udp_frame(uint8_t *f, uint32_t seed)
{
    size_t len = udp_frame(f, seed);

    stw_be_p(f + 14 + 6, 0);
    return len;
}

static void test_mq_rss(void)
{
    static const uint8_t vector[12] = {     /* 66.9.149.187:2794 -> */
        66, 9, 149, 187, 161, 142, 100, 80, /* 161.142.100.80:1766 */
        0x0a, 0xea, 0x06, 0xe6,
    };
    QTestState *qts = start(MQ_DEV);
    uint8_t f[UDP_AT + UDP_LEN];
    unsigned per_queue[2] = { 0 };
    size_t len;
    MqDev m;
    Dev *d = &m.d;

    g_assert_cmphex(toeplitz(vector, 8), ==, 0x323e8fc2);
    g_assert_cmphex(toeplitz(vector, 12), ==, 0x51ccc178);
    dev_init(d, qts, "/machine/peripheral/n0");
    g_assert_cmphex(device_features(d) & F(VIRTIO_NET_F_RSS), ==,
                    F(VIRTIO_NET_F_RSS));
    g_assert_cmpuint(qtest_readb(qts, d->base + VIRTIO_MMIO_CONFIG + 17), ==,
                     40);
    g_assert_cmpuint(qtest_readw(qts, d->base + VIRTIO_MMIO_CONFIG + 18), ==,
                     128);
    g_assert_cmphex(qtest_readl(qts, d->base + VIRTIO_MMIO_CONFIG + 20), ==,
                    0x3f);
    mq_start_with(&m, qts, MQ_FEATURES | F(VIRTIO_NET_F_RSS));
    mq_post_all(&m);

    /* Refused: table length, queue, key, hash type, max_tx_vq. */
    g_assert_cmpuint(rss_config(&m, RSS_TYPES, 3, -1, 2, 40), ==,
                     VIRTIO_NET_ERR);
    g_assert_cmpuint(rss_config(&m, RSS_TYPES, 128, 77, 2, 40), ==,
                     VIRTIO_NET_ERR);
    g_assert_cmpuint(rss_config(&m, RSS_TYPES, 128, -1, 2, 41), ==,
                     VIRTIO_NET_ERR);
    g_assert_cmpuint(rss_config(&m, VIRTIO_NET_RSS_HASH_TYPE_IP_EX, 128, -1,
                                2, 40), ==, VIRTIO_NET_ERR);
    g_assert_cmpuint(rss_config(&m, RSS_TYPES, 128, -1, 3, 40), ==,
                     VIRTIO_NET_ERR);
    g_assert_cmpuint(rd(d, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET,
                     ==, 0);

    g_assert_cmpuint(rss_config(&m, RSS_TYPES, 128, -1, 2, 40), ==,
                     VIRTIO_NET_OK);
    for (unsigned seed = 0; seed < 12; seed++) {
        len = rss_udp_frame(f, seed);
        per_queue[rss_queue(f)]++;
        g_assert_cmpuint(mq_bounce(&m, f, len), ==, rss_queue(f));
    }
    g_assert_cmpuint(per_queue[0], >, 0);
    g_assert_cmpuint(per_queue[1], >, 0);
    /* Not IP: the unclassified queue. */
    frame_fill(f, 100, 1);
    g_assert_cmpuint(mq_bounce(&m, f, 100), ==, 1);

    /* VQ_PAIRS_SET turns RSS off: each pair loops into its own queue. */
    g_assert_cmpuint(mq_pairs_set(&m, 2, 2), ==, VIRTIO_NET_OK);
    g_assert_cmpuint(mq_bounce(&m, f, 100), ==, 0);
    qtest_quit(qts);
}

/* With a netdev and RSS, a flow's frames take the queue RSS chose. */
static void test_mq_netdev_rss(void)
{
    uint8_t f[UDP_AT + UDP_LEN];
    size_t len;
    MqDev m;
    QTestState *qts = mq_start_netdev(&m, MQ_FEATURES | F(VIRTIO_NET_F_RSS));

    g_assert_cmpuint(rss_config(&m, RSS_TYPES, 128, -1, 2, 40), ==,
                     VIRTIO_NET_OK);
    for (unsigned seed = 0; seed < 8; seed++) {
        len = rss_udp_frame(f, seed);
        g_assert_cmpuint(mq_bounce(&m, f, len), ==, rss_queue(f));
    }
    qtest_quit(qts);
}

/* The other queues of a started @d, and RSS on. */
static void rss_prep(Dev *d)
{
    MqDev m = { .d = *d };

    queue_setup(&m.d, &m.rx1, 2);
    queue_setup(&m.d, &m.tx1, 3);
    queue_setup(&m.d, &m.cq, 4);
    g_assert_cmpuint(rss_config(&m, RSS_TYPES, 128, -1, 2, 40), ==,
                     VIRTIO_NET_OK);
    *d = m.d;
}

/*
 * The RSS subsection: its name, the version (be32), then enabled,
 * hash_types (be32), the table length and the unclassified queue (be16).
 */
static void edit_rss_queue(uint8_t *buf, size_t len, Dev *d)
{
    static const char name[] = "mvnet/rss";
    uint8_t *p = memmem(buf, len, name, strlen(name));

    g_assert_nonnull(p);
    p += strlen(name) + 4 + 1 + 4 + 2;
    g_assert_cmpuint(lduw_be_p(p), ==, 1);
    stw_be_p(p, 9);
}

/* RSS survives migration: the unclassified queue still takes non-IP. */
static void test_mq_rss_migrate(void)
{
    g_autofree char *args = g_strdup_printf("-m 64 %s", MQ_DEV);
    QTestState *qts = start(args);
    uint8_t f[100];
    MqDev m;

    mq_start_with(&m, qts, MQ_FEATURES | F(VIRTIO_NET_F_RSS));
    g_assert_cmpuint(rss_config(&m, RSS_TYPES, 128, -1, 2, 40), ==,
                     VIRTIO_NET_OK);
    qts = migrate_to_new(qts, MQ_DEV, NULL);
    m.d.qts = qts;
    mq_post_all(&m);
    frame_fill(f, sizeof(f), 2);
    g_assert_cmpuint(mq_bounce(&m, f, sizeof(f)), ==, 1);
    qtest_quit(qts);

    migrate_crafted_dev(MQ_DEV, MQ_FEATURES | F(VIRTIO_NET_F_RSS), 5,
                        rss_prep, edit_rss_queue, "the RSS configuration in "
                        "the migration stream is not valid here");
}

/*
 * VIRTIO_NET_F_HASH_REPORT: each received frame's header (20 bytes, both
 * ways) carries its hash by the key and hash types of HASH_CONFIG (or
 * RSS_CONFIG) and what the hash covered.
 */
#define HASH_HDR_LEN    20      /* virtio_net_hdr_v1_hash */
#define HASH_FEATURES   (BASE_FEATURES | F(VIRTIO_NET_F_CTRL_VQ) | \
                         F(VIRTIO_NET_F_HASH_REPORT))

/* VIRTIO_NET_CTRL_MQ_HASH_CONFIG of @types with @key_len bytes of rss_key */
static uint8_t hash_config(Dev *d, TQueue *cq, uint32_t types,
                           unsigned key_len, size_t extra)
{
    uint8_t data[13 + 64] = { };

    stl_le_p(data, types);
    stw_le_p(data + 10, 1);         /* reserved: a driver's max_tx_vq */
    data[12] = key_len;
    memset(data + 13, 0x5a, key_len);
    memcpy(data + 13, rss_key, MIN(key_len, sizeof(rss_key)));
    return ctrl_cmd(d, cq, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_HASH_CONFIG,
                    data, 13 + key_len + extra);
}

/*
 * The same in RSS_CONFIG's layout with a table of 128 entries, as Linux
 * 6.1 sends it when RSS is not negotiated.
 */
static uint8_t hash_config_rss_layout(Dev *d, TQueue *cq, uint32_t types)
{
    uint8_t data[8 + 2 * 128 + 3 + 40] = { };
    size_t tail = 8 + 2 * 128;

    stl_le_p(data, types);
    stw_le_p(data + 4, 127);
    stw_le_p(data + tail, 1);
    data[tail + 2] = 40;
    memcpy(data + tail + 3, rss_key, 40);
    return ctrl_cmd(d, cq, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_HASH_CONFIG,
                    data, sizeof(data));
}

/*
 * Loop the frame @f (@len bytes) on a device started with HASH_FEATURES;
 * check it arrived intact in one buffer and return its hash report.
 */
static uint16_t hash_bounce(Dev *d, const uint8_t *f, size_t len,
                            uint32_t *value)
{
    uint64_t tx = dev_alloc(d, HASH_HDR_LEN + len);
    uint16_t slot = d->tx.avail_idx % QSZ;
    uint8_t got[HASH_HDR_LEN + 2048];
    uint64_t rx = post_rx(d, d->rx.avail_idx % QSZ, sizeof(got));
    uint32_t id, used_len;

    kick(d, &d->rx);
    /* The driver's hash fields are not the device's to copy. */
    qtest_memset(d->qts, tx, 0xee, HASH_HDR_LEN);
    qtest_memset(d->qts, tx, 0, 10);
    qtest_memwrite(d->qts, tx + HASH_HDR_LEN, f, len);
    put_desc(d, &d->tx, slot, tx, HASH_HDR_LEN + len, 0, 0);
    avail_push(d, &d->tx, slot);
    kick(d, &d->tx);
    g_assert_true(wait_used(d, &d->rx, d->rx.used_seen + 1));
    used_elem(d, &d->rx, d->rx.used_seen++, &id, &used_len);
    g_assert_cmpuint(used_len, ==, HASH_HDR_LEN + len);
    qtest_memread(d->qts, rx, got, HASH_HDR_LEN + len);
    g_assert_cmpmem(got + HASH_HDR_LEN, len, f, len);
    g_assert_cmpuint(lduw_le_p(got + 10), ==, 1);       /* num_buffers */
    g_assert_cmpuint(lduw_le_p(got + 18), ==, 0);       /* padding */
    *value = ldl_le_p(got + 12);
    return lduw_le_p(got + 16);
}

/* The Toeplitz vector of test_mq_rss in an IPv4/UDP frame */
static size_t hash_vector_frame(uint8_t *f)
{
    static const uint8_t addrs[8] = { 66, 9, 149, 187, 161, 142, 100, 80 };
    size_t len = rss_udp_frame(f, 3);

    memcpy(f + 14 + 12, addrs, sizeof(addrs));
    stw_be_p(f + UDP_AT, 2794);
    stw_be_p(f + UDP_AT + 2, 1766);
    return len;
}

static void test_hash_report_on(const char *netdev_args, bool migrate)
{
    g_autofree char *dev = g_strdup_printf(
        "-device virtio-mdev-net,id=n0%s", netdev_args ? ",netdev=s0" : "");
    g_autofree char *args = g_strdup_printf("-m 64 %s %s",
                                            netdev_args ?: "", dev);
    QTestState *qts = start(args);
    uint8_t f[UDP_AT + UDP_LEN];
    uint32_t value;
    TQueue cq;
    Dev d;

    dev_init(&d, qts, "/machine/peripheral/n0");
    g_assert_cmphex(device_features(&d) & F(VIRTIO_NET_F_HASH_REPORT), ==,
                    F(VIRTIO_NET_F_HASH_REPORT));
    /* One pair, no RSS: the key size and hash types are still there. */
    g_assert_cmphex(device_features(&d) & F(VIRTIO_NET_F_RSS), ==, 0);
    g_assert_cmpuint(qtest_readb(qts, d.base + VIRTIO_MMIO_CONFIG + 17), ==,
                     40);
    g_assert_cmphex(qtest_readl(qts, d.base + VIRTIO_MMIO_CONFIG + 20), ==,
                    0x3f);
    /* The hash report needs the control queue. */
    g_assert_cmphex(dev_negotiate(&d, BASE_FEATURES |
                                  F(VIRTIO_NET_F_HASH_REPORT)) &
                    VIRTIO_CONFIG_S_FEATURES_OK, ==, 0);
    dev_start(&d, HASH_FEATURES);
    queue_setup(&d, &cq, 2);

    /* No configuration yet: NONE. */
    g_assert_cmpuint(hash_bounce(&d, f, hash_vector_frame(f), &value), ==,
                     VIRTIO_NET_HASH_REPORT_NONE);
    g_assert_cmphex(value, ==, 0);

    /* Refused: key too long, a type not offered, trailing bytes. */
    g_assert_cmpuint(hash_config(&d, &cq, RSS_TYPES, 41, 0), ==,
                     VIRTIO_NET_ERR);
    g_assert_cmpuint(hash_config(&d, &cq, VIRTIO_NET_RSS_HASH_TYPE_IP_EX, 40,
                                 0), ==, VIRTIO_NET_ERR);
    g_assert_cmpuint(hash_config(&d, &cq, RSS_TYPES, 40, 1), ==,
                     VIRTIO_NET_ERR);
    g_assert_cmpuint(rd(&d, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET,
                     ==, 0);

    /* Addresses and ports: the specification's verification value. */
    g_assert_cmpuint(hash_config_rss_layout(&d, &cq, RSS_TYPES), ==,
                     VIRTIO_NET_OK);
    if (migrate) {
        d.qts = qts = migrate_to_new(qts, dev, NULL);
    }
    g_assert_cmpuint(hash_bounce(&d, f, hash_vector_frame(f), &value), ==,
                     VIRTIO_NET_HASH_REPORT_UDPv4);
    g_assert_cmphex(value, ==, 0x51ccc178);
    for (unsigned seed = 0; seed < 4; seed++) {
        uint8_t in[12];
        size_t len = rss_udp_frame(f, seed);

        memcpy(in, f + 14 + 12, 8);
        memcpy(in + 8, f + UDP_AT, 4);
        g_assert_cmpuint(hash_bounce(&d, f, len, &value), ==,
                         VIRTIO_NET_HASH_REPORT_UDPv4);
        g_assert_cmphex(value, ==, toeplitz(in, sizeof(in)));
    }
    /* Not IP: NONE. */
    frame_fill(f, 100, 1);
    g_assert_cmpuint(hash_bounce(&d, f, 100, &value), ==,
                     VIRTIO_NET_HASH_REPORT_NONE);
    g_assert_cmphex(value, ==, 0);

    /* Addresses only (the specification's layout). */
    g_assert_cmpuint(hash_config(&d, &cq, VIRTIO_NET_RSS_HASH_TYPE_IPv4, 40,
                                 0), ==, VIRTIO_NET_OK);
    g_assert_cmpuint(hash_bounce(&d, f, hash_vector_frame(f), &value), ==,
                     VIRTIO_NET_HASH_REPORT_IPv4);
    g_assert_cmphex(value, ==, 0x323e8fc2);

    /* Hash types 0: off again. */
    g_assert_cmpuint(hash_config(&d, &cq, 0, 0, 0), ==, VIRTIO_NET_OK);
    g_assert_cmpuint(hash_bounce(&d, f, hash_vector_frame(f), &value), ==,
                     VIRTIO_NET_HASH_REPORT_NONE);
    qtest_quit(qts);
}

static void test_hash_report(void)
{
    test_hash_report_on(NULL, false);
}

/*
 * Two pairs without RSS: VQ_PAIRS_SET (which Linux 6.1 sends after its
 * HASH_CONFIG) keeps the hash report.
 */
static void test_hash_report_pairs(void)
{
    QTestState *qts = start("-device virtio-mdev-net,id=n0,queues=2,"
                            "rss=off");
    uint8_t f[UDP_AT + UDP_LEN];
    uint32_t value;
    MqDev m;

    mq_start_with(&m, qts, MQ_FEATURES | F(VIRTIO_NET_F_HASH_REPORT));
    g_assert_cmpuint(hash_config(&m.d, &m.cq, RSS_TYPES, 40, 0), ==,
                     VIRTIO_NET_OK);
    g_assert_cmpuint(mq_pairs_set(&m, 2, 2), ==, VIRTIO_NET_OK);
    g_assert_cmpuint(hash_bounce(&m.d, f, hash_vector_frame(f), &value), ==,
                     VIRTIO_NET_HASH_REPORT_UDPv4);
    g_assert_cmphex(value, ==, 0x51ccc178);
    qtest_quit(qts);
}

/* The control queue of a started @d, and a hash configuration. */
static void hash_prep(Dev *d)
{
    TQueue cq;

    queue_setup(d, &cq, 2);
    g_assert_cmpuint(hash_config(d, &cq, RSS_TYPES, 40, 0), ==,
                     VIRTIO_NET_OK);
}

/* In the RSS subsection (see edit_rss_queue): enabled, or a hash type. */
static void edit_rss_field(uint8_t *buf, size_t len, bool steer)
{
    static const char name[] = "mvnet/rss";
    uint8_t *p = memmem(buf, len, name, strlen(name));

    g_assert_nonnull(p);
    p += strlen(name) + 4;
    g_assert_cmpuint(p[0], ==, 0);
    g_assert_cmphex(ldl_be_p(p + 1), ==, RSS_TYPES);
    if (steer) {
        p[0] = 1;
    } else {
        stl_be_p(p + 1, RSS_TYPES | VIRTIO_NET_RSS_HASH_TYPE_IP_EX);
    }
}

static void edit_hash_steer(uint8_t *buf, size_t len, Dev *d)
{
    edit_rss_field(buf, len, true);
}

static void edit_hash_type(uint8_t *buf, size_t len, Dev *d)
{
    edit_rss_field(buf, len, false);
}

/*
 * The configuration migrates; a stream that turns steering on without
 * RSS negotiated, or names a hash type not offered, is refused.
 */
static void test_hash_report_migrate(void)
{
    test_hash_report_on(NULL, true);
    migrate_crafted_dev("-device virtio-mdev-net,id=n0", HASH_FEATURES, 3,
                        hash_prep, edit_hash_steer, "the RSS configuration "
                        "in the migration stream is not valid here");
    migrate_crafted_dev("-device virtio-mdev-net,id=n0", HASH_FEATURES, 3,
                        hash_prep, edit_hash_type, "the RSS configuration "
                        "in the migration stream is not valid here");
}

/* Frames from a netdev (a UDP socket looped to itself) get theirs too. */
static void test_hash_report_netdev(void)
{
    int port = free_udp_port();
    g_autofree char *netdev = g_strdup_printf(
        "-netdev socket,id=s0,udp=127.0.0.1:%d,localaddr=127.0.0.1:%d",
        port, port);

    test_hash_report_on(netdev, false);
}

/* ---- offloads through a tap device ---- */

#define TAP_IF          "qmtap0"
#define TAP_NETDEV      "-netdev tap,id=t0,ifname=" TAP_IF ",script=no," \
                        "downscript=no,vnet_hdr=on "
#define VNET_HDR_LEN    10      /* what PACKET_VNET_HDR sockets use */
#define MAX_GSO_FRAME   (14 + 65535)

/*
 * Enter a network namespace of our own, so that the tap device QEMU makes
 * there touches nothing else: the namespace to go back to, or -1 when
 * this cannot be done here (not root, no /dev/net/tun).  IPv6 stays off
 * in it, so that the host sends nothing of its own on the tap device.
 */
static int netns_enter(void)
{
    int home = open("/proc/self/ns/net", O_RDONLY), sysctl;

    if (home < 0 || access("/dev/net/tun", R_OK | W_OK) ||
        unshare(CLONE_NEWNET)) {
        if (home >= 0) {
            close(home);
        }
        return -1;
    }
    sysctl = open("/proc/sys/net/ipv6/conf/default/disable_ipv6", O_WRONLY);
    if (sysctl >= 0) {
        g_assert_cmpint(write(sysctl, "1", 1), ==, 1);
        close(sysctl);
    }
    return home;
}

static void netns_leave(int home)
{
    g_assert_cmpint(setns(home, CLONE_NEWNET), ==, 0);
    close(home);
}

/* The host's end of TAP_IF: up, and a packet socket with virtio-net headers */
static int tap_host_socket(void)
{
    int s = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL)), one = 1;
    struct sockaddr_ll sll = {
        .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL),
    };
    struct ifreq ifr = { };

    g_assert_cmpint(s, >=, 0);
    pstrcpy(ifr.ifr_name, sizeof(ifr.ifr_name), TAP_IF);
    g_assert_cmpint(ioctl(s, SIOCGIFFLAGS, &ifr), ==, 0);
    ifr.ifr_flags |= IFF_UP;
    g_assert_cmpint(ioctl(s, SIOCSIFFLAGS, &ifr), ==, 0);
    g_assert_cmpint(ioctl(s, SIOCGIFINDEX, &ifr), ==, 0);
    sll.sll_ifindex = ifr.ifr_ifindex;
    g_assert_cmpint(setsockopt(s, SOL_PACKET, PACKET_VNET_HDR, &one,
                               sizeof(one)), ==, 0);
    g_assert_cmpint(bind(s, (struct sockaddr *)&sll, sizeof(sll)), ==, 0);
    return s;
}

/* The next frame QEMU wrote to the tap device, header first: its length */
static ssize_t tap_host_recv(int s, uint8_t *buf, size_t size)
{
    struct pollfd pfd = { .fd = s, .events = POLLIN };
    struct sockaddr_ll from;
    socklen_t fromlen;
    ssize_t got;

    do {
        if (poll(&pfd, 1, 10000) != 1) {
            return -1;
        }
        fromlen = sizeof(from);
        got = recvfrom(s, buf, size, 0, (struct sockaddr *)&from, &fromlen);
    } while (got >= 0 && from.sll_pkttype == PACKET_OUTGOING);
    return got;
}

/* Send @t to the guest as a TSO frame the host stack could have made. */
static void tap_host_send(int s, const TsoFrame *t)
{
    uint8_t h[VNET_HDR_LEN] = { VIRTIO_NET_HDR_F_NEEDS_CSUM,
                                VIRTIO_NET_HDR_GSO_TCPV4 };
    struct iovec iov[] = {
        { .iov_base = h, .iov_len = sizeof(h) },
        { .iov_base = (void *)t->f, .iov_len = t->len },
    };
    struct msghdr msg = { .msg_iov = iov, .msg_iovlen = 2 };

    stw_le_p(h + 2, t->l4 + 20);
    stw_le_p(h + 4, TSO_MSS);
    stw_le_p(h + 6, t->l4);
    stw_le_p(h + 8, 16);
    g_assert_cmpint(sendmsg(s, &msg, 0), ==, sizeof(h) + t->len);
}

/*
 * A TCPv4 frame as Linux hands it to a NIC for TSO: a valid IPv4 header
 * (DF, no fragment) and the pseudo-header sum in the TCP checksum field.
 */
static void tap_tso_frame(TsoFrame *t)
{
    uint8_t *ip = t->f + 14;

    tso_frame(t, false, TCP_FIN_PSH_ACK);
    t->f[0] = 0x02;                             /* unicast addresses */
    t->f[6] = 0x02;
    ip[1] = 0;
    stw_be_p(ip + 6, 0x4000);
    ip[8] = 64;
    stw_be_p(ip + 10, 0);
    stw_be_p(ip + 10, fold16(sum16(ip, 20, 0)) ^ 0xffff);
    stw_be_p(t->f + t->l4 + 16, tcp_pseudo(t->f, t, 20 + TSO_PAYLOAD));
}

/*
 * With a tap netdev (vnet_hdr=on) the offloads are offered and frames
 * carry their virtio-net header both ways: a 4000-byte TSO frame the
 * guest sends reaches the host whole, one the host sends reaches the
 * guest whole while its offloads are on, and cut by the host kernel once
 * GUEST_OFFLOADS_SET turned them off (the tap device was told).
 */
static void test_tso_tap(void)
{
    g_autofree uint8_t *buf = g_malloc(VNET_HDR_LEN + MAX_GSO_FRAME);
    int home = netns_enter(), s;
    uint64_t bufs[QSZ];
    QTestState *qts;
    uint16_t first;
    TsoFrame t;
    TQueue cq;
    Dev d;

    if (home < 0) {
        g_test_skip("needs root, /dev/net/tun and network namespaces");
        return;
    }
    qts = start(TAP_NETDEV "-device virtio-mdev-net,id=n0,netdev=t0");
    s = tap_host_socket();
    dev_init(&d, qts, "/machine/peripheral/n0");
    g_assert_cmphex(device_features(&d) & TSO_FEATURES, ==, TSO_FEATURES);
    dev_start(&d, TSO_FEATURES);
    queue_setup(&d, &cq, 2);
    tap_tso_frame(&t);

    tso_send(&d, &t, VIRTIO_NET_HDR_GSO_TCPV4);
    g_assert_cmpint(tap_host_recv(s, buf, VNET_HDR_LEN + MAX_GSO_FRAME), ==,
                    VNET_HDR_LEN + t.len);
    g_assert_cmpuint(buf[0], ==, VIRTIO_NET_HDR_F_NEEDS_CSUM);
    g_assert_cmpuint(buf[1], ==, VIRTIO_NET_HDR_GSO_TCPV4);
    g_assert_cmpuint(lduw_le_p(buf + 4), ==, TSO_MSS);
    g_assert_cmpmem(buf + VNET_HDR_LEN, t.len, t.f, t.len);

    first = used_idx(&d, &d.rx);
    tso_post(&d, bufs, 2);
    kick(&d, &d.rx);
    tap_host_send(s, &t);
    g_assert_true(wait_used(&d, &d.rx, first + 2));
    tso_expect_whole(&d, bufs, first, &t, VIRTIO_NET_HDR_GSO_TCPV4);

    g_assert_cmpuint(set_offloads(&d, &cq, 0), ==, VIRTIO_NET_OK);
    first = used_idx(&d, &d.rx);
    tso_post(&d, bufs, TSO_PAYLOAD / TSO_MSS);
    kick(&d, &d.rx);
    tap_host_send(s, &t);
    g_assert_true(wait_used(&d, &d.rx, first + TSO_PAYLOAD / TSO_MSS));
    tso_expect_segments(&d, bufs, first, &t, false);
    g_assert_cmpuint(stat_of(&d, "rx-stats", "errors"), ==, 0);
    g_assert_cmpuint(stat_of(&d, "tx-stats", "errors"), ==, 0);
    close(s);
    qtest_quit(qts);
    netns_leave(home);
}

/*
 * A guest that uses offloads does not migrate to a destination whose
 * netdev takes no virtio-net headers: the destination says why.
 */
static void test_tso_tap_migrate(void)
{
    g_autofree char *dir = g_dir_make_tmp("virtio-mdev-XXXXXX", NULL);
    g_autofree char *sock = g_build_filename(dir, "sock", NULL);
    g_autofree char *err = g_build_filename(dir, "stderr", NULL);
    g_autofree char *uri = g_strdup_printf("unix:%s", sock);
    int home = netns_enter();
    QTestState *src, *dst;
    Dev d;

    if (home < 0) {
        g_test_skip("needs root, /dev/net/tun and network namespaces");
        rmdir(dir);
        return;
    }
    src = start("-m 64 " TAP_NETDEV "-device virtio-mdev-net,id=n0,"
                "netdev=t0");
    dst = start_incoming("-netdev hubport,id=t0,hubid=0 "
                         "-device virtio-mdev-net,id=n0,netdev=t0", err);
    dev_init(&d, src, "/machine/peripheral/n0");
    dev_start(&d, TSO_FEATURES);
    qtest_qmp_assert_success(dst, "{'execute': 'migrate-incoming', "
                             "'arguments': {'uri': %s, "
                             "'exit-on-error': false}}", uri);
    qtest_qmp_assert_success(src, "{'execute': 'migrate', 'arguments': "
                             "{'uri': %s}}", uri);
    vmq_wait_migration(dst, "query-migrate", "status", "failed");
    g_assert_true(said(err, "the guest uses offloads, but netdev 't0' "
                       "takes no virtio-net headers"));
    qtest_quit(dst);
    qtest_quit(src);
    netns_leave(home);
    unlink(sock);
    unlink(err);
    rmdir(dir);
}

/*
 * No guest memory is touched while the VM is stopped: a kick during stop
 * moves nothing (not even work that was already waiting); cont resumes.
 * Before, the bottom half ran regardless of the run state.
 */
static void test_stop_cont(void)
{
    QTestState *qts = start("-device virtio-mdev-net,id=n0");
    uint64_t rx0, rx1;
    Dev d;

    dev_init(&d, qts, "/machine/peripheral/n0");
    dev_start(&d, BASE_FEATURES);
    send_frame(&d, 0, HDR_LEN, 300, 1);
    kick(&d, &d.tx);
    g_assert_true(stays_unused(&d, &d.tx, 1));    /* waits for RX */

    qtest_qmp_assert_success(qts, "{'execute': 'stop'}");
    rx0 = post_rx(&d, 0, 2048);
    kick(&d, &d.rx);
    send_frame(&d, 1, HDR_LEN, 400, 2);
    rx1 = post_rx(&d, 1, 2048);
    kick(&d, &d.tx);
    g_assert_true(stays_unused(&d, &d.tx, 1));
    g_assert_cmpuint(used_idx(&d, &d.rx), ==, 0);

    qtest_qmp_assert_success(qts, "{'execute': 'cont'}");
    g_assert_true(wait_used(&d, &d.tx, 2));
    g_assert_true(wait_used(&d, &d.rx, 2));
    check_rx(&d, rx0, HDR_LEN, 300, 1, 1);
    check_rx(&d, rx1, HDR_LEN, 400, 2, 1);
    qtest_quit(qts);
}

/* ---- several instances, parents, UUIDs ---- */

static void test_instances(void)
{
    QTestState *qts = start(
        "-object mvnet,id=p1,max-instances=2 -object mvnet,id=p2 "
        "-device virtio-mdev,id=a,mdev-parent=p1,mdev-type=mvnet-virtio,"
        "uuid=6b2e6a1c-1b2c-4d1e-9a51-0e3f00000001 "
        "-device virtio-mdev,id=b,mdev-parent=p1,mdev-type=mvnet-virtio "
        "-device virtio-mdev,id=c,mdev-parent=p2,mdev-type=mvnet-virtio "
        "-device virtio-mdev-net,id=e");
    const char *ids[] = { "a", "b", "c", "e" };
    uint64_t bases[4];
    g_autofree char *uuid_a = NULL, *uuid_b = NULL;
    g_autofree char *type = NULL, *cls = NULL, *transport = NULL;

    for (int i = 0; i < 4; i++) {
        g_autofree char *path = g_strdup_printf("/machine/peripheral/%s",
                                                ids[i]);
        Dev d;

        dev_init(&d, qts, path);
        bases[i] = d.base;
        g_assert_cmphex(rd(&d, VIRTIO_MMIO_MAGIC_VALUE), ==, MAGIC);
        g_assert_cmpuint(rd(&d, VIRTIO_MMIO_DEVICE_ID), ==, 1);
        for (int j = 0; j < i; j++) {
            g_assert_cmphex(bases[j], !=, bases[i]);
        }
    }
    uuid_a = qom_get_str(qts, "/machine/peripheral/a", "mdev-uuid");
    g_assert_cmpstr(uuid_a, ==, "6b2e6a1c-1b2c-4d1e-9a51-0e3f00000001");
    uuid_b = qom_get_str(qts, "/machine/peripheral/b", "mdev-uuid");
    g_assert_cmpuint(strlen(uuid_b), ==, 36);
    g_assert_cmpstr(uuid_b, !=, uuid_a);

    /* The instance, as a child of its parent */
    type = qom_get_str(qts, "/objects/p1/6b2e6a1c-1b2c-4d1e-9a51-0e3f00000001",
                       "mdev-type");
    g_assert_cmpstr(type, ==, "mvnet-virtio");
    cls = qom_get_str(qts, "/objects/p1/6b2e6a1c-1b2c-4d1e-9a51-0e3f00000001",
                      "class");
    g_assert_cmpstr(cls, ==, "virtio");
    transport = qom_get_str(qts,
                            "/objects/p1/6b2e6a1c-1b2c-4d1e-9a51-0e3f00000001",
                            "transport");
    g_assert_cmpstr(transport, ==, "/machine/peripheral/a");

    /* Hot-plug is refused: the guest finds these devices only at boot. */
    {
        QDict *r = qtest_qmp(qts, "{'execute': 'device_add', 'arguments': "
                             "{'driver': 'virtio-mdev-net', 'id': 'h'}}");
        const char *desc;

        g_assert_true(qdict_haskey(r, "error"));
        desc = qdict_get_str(qdict_get_qdict(r, "error"), "desc");
        g_assert_true(strstr(desc, "hot") || strstr(desc, "Hot"));
        qobject_unref(r);
    }
    /* A parent with live instances cannot be deleted. */
    {
        QDict *r = qtest_qmp(qts, "{'execute': 'object-del', 'arguments': "
                             "{'id': 'p1'}}");

        g_assert_true(qdict_haskey(r, "error"));
        qobject_unref(r);
    }
    qtest_quit(qts);
}

static QDict *find_by_key(QList *list, const char *key, const char *val)
{
    QListEntry *e;

    QLIST_FOREACH_ENTRY(list, e) {
        QDict *d = qobject_to(QDict, qlist_entry_obj(e));

        if (!strcmp(qdict_get_str(d, key), val)) {
            return d;
        }
    }
    return NULL;
}

static int64_t available(QDict *parent, const char *type)
{
    QDict *t = find_by_key(qdict_get_qlist(parent, "types"), "id", type);

    g_assert_nonnull(t);
    return qdict_get_int(t, "available-instances");
}

static void test_query(void)
{
    QTestState *qts;
    QDict *r, *p1, *p2, *def, *inst, *t;
    QList *parents, *instances;
    char *hmp;

    /* Before any device: full counts, no instances. */
    qts = start("-object mvnet,id=p1,max-instances=3 -object mvnet,id=p2");
    r = qtest_qmp_assert_success_ref(qts, "{'execute': 'query-mdev'}");
    qobject_unref(r);
    r = qtest_qmp(qts, "{'execute': 'query-mdev'}");
    parents = qdict_get_qlist(r, "return");
    g_assert_cmpuint(qlist_size(parents), ==, 2);
    p1 = find_by_key(parents, "id", "p1");
    g_assert_cmpstr(qdict_get_str(p1, "kind"), ==, "mvnet");
    g_assert_cmpint(qdict_get_int(p1, "max-instances"), ==, 3);
    g_assert_cmpint(available(p1, "mvnet-virtio"), ==, 3);
    g_assert_cmpint(available(p1, "mvnet-vhost"), ==, 3);
    g_assert_cmpuint(qlist_size(qdict_get_qlist(p1, "instances")), ==, 0);
    t = find_by_key(qdict_get_qlist(p1, "types"), "id", "mvnet-virtio");
    g_assert_cmpstr(qdict_get_str(t, "class"), ==, "virtio");
    g_assert_cmpint(qdict_get_int(t, "class-id"), ==, 2);
    g_assert_cmpstr(qdict_get_str(t, "device-api"), ==, "virtio-mdev");
    t = find_by_key(qdict_get_qlist(p1, "types"), "id", "mvnet-vhost");
    g_assert_cmpstr(qdict_get_str(t, "class"), ==, "vhost");
    g_assert_cmpint(qdict_get_int(t, "class-id"), ==, 3);
    g_assert_cmpstr(qdict_get_str(t, "device-api"), ==, "vhost-mdev");
    p2 = find_by_key(parents, "id", "p2");
    g_assert_cmpint(available(p2, "mvnet-virtio"), ==, 4);
    qobject_unref(r);
    hmp = qtest_hmp(qts, "info mdev");
    g_assert_nonnull(strstr(hmp, "mdev parent 'p1' (mvnet), max-instances 3"));
    g_assert_nonnull(strstr(hmp, "mvnet-virtio"));
    g_assert_nonnull(strstr(hmp, "no instances"));
    g_free(hmp);
    qtest_quit(qts);

    /* With devices: counted per parent, UUIDs given and generated. */
    qts = start("-object mvnet,id=p1,max-instances=3 -object mvnet,id=p2 "
                "-device virtio-mdev,id=a,mdev-parent=p1,"
                "mdev-type=mvnet-virtio,"
                "uuid=6b2e6a1c-1b2c-4d1e-9a51-0e3f0000000a "
                "-device virtio-mdev,id=b,mdev-parent=p1,"
                "mdev-type=mvnet-virtio "
                "-device virtio-mdev-net,id=c");
    r = qtest_qmp(qts, "{'execute': 'query-mdev'}");
    parents = qdict_get_qlist(r, "return");
    g_assert_cmpuint(qlist_size(parents), ==, 3);    /* + mvnet-default */
    /* sorted by id */
    g_assert_cmpstr(qdict_get_str(qobject_to(QDict, qlist_peek(parents)),
                                  "id"), ==, "mvnet-default");
    p1 = find_by_key(parents, "id", "p1");
    g_assert_cmpint(available(p1, "mvnet-virtio"), ==, 1);
    g_assert_cmpint(available(p1, "mvnet-vhost"), ==, 1);
    instances = qdict_get_qlist(p1, "instances");
    g_assert_cmpuint(qlist_size(instances), ==, 2);
    inst = find_by_key(instances, "uuid",
                       "6b2e6a1c-1b2c-4d1e-9a51-0e3f0000000a");
    g_assert_nonnull(inst);
    g_assert_cmpstr(qdict_get_str(inst, "type"), ==, "mvnet-virtio");
    g_assert_cmpstr(qdict_get_str(inst, "class"), ==, "virtio");
    g_assert_cmpstr(qdict_get_str(inst, "transport"), ==,
                    "/machine/peripheral/a");
    g_assert_cmpuint(qlist_size(qdict_get_qlist(inst, "stats")), ==, 3);
    inst = find_by_key(instances, "transport", "/machine/peripheral/b");
    g_assert_nonnull(inst);
    g_assert_cmpuint(strlen(qdict_get_str(inst, "uuid")), ==, 36);
    p2 = find_by_key(parents, "id", "p2");
    g_assert_cmpint(available(p2, "mvnet-virtio"), ==, 4);
    def = find_by_key(parents, "id", "mvnet-default");
    g_assert_cmpint(available(def, "mvnet-virtio"), ==, 3);
    qobject_unref(r);
    hmp = qtest_hmp(qts, "info mdev");
    g_assert_nonnull(strstr(hmp, "instance 6b2e6a1c-1b2c-4d1e-9a51-"
                            "0e3f0000000a  type mvnet-virtio  class virtio  "
                            "transport /machine/peripheral/a"));
    g_assert_nonnull(strstr(hmp, "queue 1 tx  packets 0"));
    g_free(hmp);
    qtest_quit(qts);
}

/* Run QEMU with @args; it must fail at start-up saying @expect. */
static void expect_startup_error(const char *args, const char *expect)
{
    g_autofree char *cmd = g_strdup_printf(
        "%s -M %s -nodefaults -display none -accel qtest %s",
        getenv("QTEST_QEMU_BINARY"), machine, args);
    g_autofree char *out = NULL, *err = NULL;
    g_autoptr(GError) gerr = NULL;
    gchar **argv = NULL;
    int status;

    g_assert_true(g_shell_parse_argv(cmd, NULL, &argv, &gerr));
    g_assert_true(g_spawn_sync(NULL, argv, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                               &out, &err, &status, &gerr));
    g_strfreev(argv);
    if (g_test_verbose()) {
        g_test_message("%s -> %s", args, err);
    }
    g_assert_false(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    g_assert_nonnull(strstr(err, expect));
}

static void test_errors(void)
{
    expect_startup_error("-device virtio-mdev,mdev-parent=nope,"
                         "mdev-type=mvnet-virtio",
                         "mdev-parent 'nope' not found");
    expect_startup_error("-object iothread,id=io0 -device virtio-mdev,"
                         "mdev-parent=io0,mdev-type=mvnet-virtio",
                         "is a 'iothread', not an mdev parent");
    expect_startup_error("-object mvnet,id=p -device virtio-mdev,"
                         "mdev-parent=p,mdev-type=mvnet-blk",
                         "Valid types: 'mvnet-virtio', 'mvnet-vhost'");
    expect_startup_error("-object mvnet,id=p -device virtio-mdev,"
                         "mdev-parent=p", "'mdev-type' is required");
    expect_startup_error("-device virtio-mdev,mdev-type=mvnet-virtio",
                         "'mdev-parent' is required");
    expect_startup_error("-object mvnet,id=p,max-instances=1 "
                         "-device virtio-mdev,mdev-parent=p,"
                         "mdev-type=mvnet-virtio -device virtio-mdev,"
                         "mdev-parent=p,mdev-type=mvnet-virtio",
                         "has no instances left");
    expect_startup_error("-object mvnet,id=p,max-instances=0",
                         "'max-instances': 0 is not in 1..64");
    expect_startup_error("-device virtio-mdev-net,uuid=not-a-uuid",
                         "'not-a-uuid' is not a UUID");
    expect_startup_error("-device virtio-mdev-net,"
                         "uuid=6b2e6a1c-1b2c-4d1e-9a51-0e3f00000001 "
                         "-device virtio-mdev-net,"
                         "uuid=6b2e6a1c-1b2c-4d1e-9a51-0e3f00000001",
                         "already exists");
    expect_startup_error("-object mvnet,id=p -device virtio-mdev,"
                         "mdev-parent=p,mdev-type=mvnet-vhost",
                         "has class vhost (3), but 'virtio-mdev' binds only "
                         "class virtio (2)");
    expect_startup_error("-device virtio-mdev-net,mac=02:00:00:00:00",
                         "'mac': '02:00:00:00:00' is not a MAC address");
    expect_startup_error("-device virtio-mdev-net,mtu=67",
                         "'mtu': 67 is not in 68..65535");
    expect_startup_error("-device virtio-mdev-net,netdev=nope",
                         "property 'netdev': no network backend with id "
                         "'nope'");
    expect_startup_error("-netdev hubport,id=u0,hubid=0 "
                         "-device virtio-mdev-net,netdev=u0 "
                         "-device virtio-mdev-net,netdev=u0",
                         "network backend 'u0' is already in use");
    expect_startup_error("-device virtio-mdev-net,mdev-type=mvnet-vhost",
                         "virtio-mdev-net uses only 'mvnet-virtio'");
    if (!is_arm()) {
        expect_startup_error("-device virtio-mdev-net -device virtio-mdev-net "
                             "-device virtio-mdev-net -device virtio-mdev-net "
                             "-object mvnet,id=p -device virtio-mdev,"
                             "mdev-parent=p,mdev-type=mvnet-virtio",
                             "no room for another virtio-mdev device");
    }
}

/* ---- how the guest finds it: device tree and ACPI ---- */

static char *run_tool(const char *cmd)
{
    g_autofree char *out = NULL, *err = NULL;
    g_autoptr(GError) gerr = NULL;
    int status;

    g_assert_true(g_spawn_command_line_sync(cmd, &out, &err, &status, &gerr));
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        g_test_message("'%s' failed: %s", cmd, err);
        return NULL;
    }
    return g_strstrip(g_steal_pointer(&out));
}

static char *G_GNUC_PRINTF(1, 2) run_toolf(const char *fmt, ...)
{
    g_autofree char *cmd = NULL;
    va_list ap;

    va_start(ap, fmt);
    cmd = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    return run_tool(cmd);
}

static void test_fdt(void)
{
    g_autofree char *dir = g_dir_make_tmp("virtio-mdev-XXXXXX", NULL);
    g_autofree char *dtb = g_build_filename(dir, "virt.dtb", NULL);
    g_autofree char *cmd = g_strdup_printf(
        "%s -M virt,dumpdtb=%s -cpu cortex-a57 -nodefaults -display none "
        "-accel qtest -device virtio-mdev-net -device virtio-mdev-net",
        getenv("QTEST_QEMU_BINARY"), dtb);
    g_autofree char *reg = NULL, *irq = NULL, *compat = NULL, *props = NULL;
    g_autofree char *reg2 = NULL, *irq2 = NULL, *pbus = NULL, *get = NULL;
    g_autofree char *fdtget = g_find_program_in_path("fdtget");

    if (!fdtget) {
        /* configure installs it with the guest-test packages */
        g_test_skip("fdtget (Debian's device-tree-compiler) is not installed");
        rmdir(dir);
        return;
    }
    g_free(run_tool(cmd));
    g_assert_true(g_file_test(dtb, G_FILE_TEST_EXISTS));

    /* Root-level nodes, 2-cell reg, level-high GIC SPIs from 112 */
    get = g_strdup_printf("fdtget -t x %s /virtio_mmio@c000000", dtb);
    compat = run_toolf("fdtget %s /virtio_mmio@c000000 compatible", dtb);
    g_assert_cmpstr(compat, ==, "virtio,mmio");
    reg = run_toolf("%s reg", get);
    g_assert_cmpstr(reg, ==, "0 c000000 0 200");
    irq = run_toolf("%s interrupts", get);
    g_assert_cmpstr(irq, ==, "0 70 4");
    props = run_toolf("fdtget -p %s /virtio_mmio@c000000", dtb);
    g_assert_nonnull(strstr(props, "dma-coherent"));
    reg2 = run_toolf("fdtget -t x %s /virtio_mmio@c000200 reg", dtb);
    g_assert_cmpstr(reg2, ==, "0 c000200 0 200");
    irq2 = run_toolf("fdtget -t x %s /virtio_mmio@c000200 interrupts", dtb);
    g_assert_cmpstr(irq2, ==, "0 71 4");
    /* Nothing of ours under the platform bus node (AAVMF crashes on it). */
    pbus = run_toolf("fdtget -l %s /platform-bus@c000000", dtb);
    g_assert_true(!pbus || !strstr(pbus, "virtio"));
    unlink(dtb);
    rmdir(dir);
}

static bool memmem_has(const uint8_t *hay, size_t n, const uint8_t *needle,
                       size_t m)
{
    return memmem(hay, n, needle, m) != NULL;
}

/*
 * arm virt's fw_cfg: data register at +0, big-endian selector at +8 (not
 * libqos's mm layout).  Returns the size of file @name, copying up to
 * @cap bytes of it into @buf, or 0 when there is no such file.
 */
static size_t virt_fw_cfg_get_file(QTestState *qts, const char *name,
                                   uint8_t *buf, size_t cap)
{
    uint8_t b[64];
    uint32_t count;

    qtest_writew(qts, VIRT_FW_CFG + 8, bswap16(0x19));    /* FW_CFG_FILE_DIR */
    for (int i = 0; i < 4; i++) {
        b[i] = qtest_readb(qts, VIRT_FW_CFG);
    }
    count = ldl_be_p(b);
    for (uint32_t e = 0; e < count; e++) {
        for (int i = 0; i < 64; i++) {
            b[i] = qtest_readb(qts, VIRT_FW_CFG);
        }
        if (!strncmp((char *)b + 8, name, 56)) {
            uint32_t size = ldl_be_p(b);

            qtest_writew(qts, VIRT_FW_CFG + 8, bswap16(lduw_be_p(b + 4)));
            for (size_t i = 0; i < MIN(size, cap); i++) {
                buf[i] = qtest_readb(qts, VIRT_FW_CFG);
            }
            return size;
        }
    }
    return 0;
}

static void test_acpi(void)
{
    QTestState *qts = start("-device virtio-mdev-net,id=n0 "
                            "-device virtio-mdev-net,id=n1");
    size_t len, cap = 1 << 20;
    g_autofree uint8_t *tables = g_malloc0(cap);
    uint8_t mem[12] = { 0x86, 0x09, 0x00, 0x01 };
    uint8_t irq[9] = { 0x89, 0x06, 0x00, 0x01, 0x01 };
    uint32_t gsi;
    Dev d0, d1;

    dev_init(&d0, qts, "/machine/peripheral/n0");
    dev_init(&d1, qts, "/machine/peripheral/n1");
    if (is_arm()) {
        len = virt_fw_cfg_get_file(qts, "etc/acpi/tables", tables, cap);
    } else {
        QFWCFG *fw = pc_fw_cfg_init(qts);

        len = qfw_cfg_get_file(fw, "etc/acpi/tables", tables, cap);
        pc_fw_cfg_uninit(fw);
    }
    g_assert_cmpuint(len, >, 0);
    g_assert_true(memmem_has(tables, len, (uint8_t *)"LNRO0005", 8));
    g_assert_true(memmem_has(tables, len, (uint8_t *)"VMD0", 4));
    g_assert_true(memmem_has(tables, len, (uint8_t *)"VMD1", 4));

    /* Memory32Fixed(ReadWrite, base, 0x200) for each */
    stl_le_p(mem + 4, d0.base);
    stl_le_p(mem + 8, 0x200);
    g_assert_true(memmem_has(tables, len, mem, sizeof(mem)));
    stl_le_p(mem + 4, d1.base);
    g_assert_true(memmem_has(tables, len, mem, sizeof(mem)));

    /* Interrupt(ResourceConsumer, Level, ActiveHigh, Exclusive) { gsi } */
    if (is_arm()) {
        gsi = VIRT_PBUS_SPI + 32;
    } else {
        QDict *r = qom_get(qts, "/machine/peripheral/n0", "isa-irq");

        gsi = qdict_get_int(r, "return");
        qobject_unref(r);
        g_assert_cmpuint(gsi, ==, 5);
    }
    stl_le_p(irq + 5, gsi);
    g_assert_true(memmem_has(tables, len, irq, sizeof(irq)));
    qtest_quit(qts);
}

typedef struct MachineTest {
    const char *machine;
    void (*fn)(void);
} MachineTest;

static void run_machine_test(gconstpointer data)
{
    const MachineTest *t = data;

    machine = t->machine;
    t->fn();
}

/* x86: an ISA interrupt claimed by another device is skipped. */
static void test_isa_irq_choice(void)
{
    QTestState *qts = start("-chardev null,id=c0 "
                            "-device isa-serial,chardev=c0,iobase=0x3e8,irq=5 "
                            "-device virtio-mdev-net,id=n0 "
                            "-device virtio-mdev-net,id=n1");
    QDict *r0 = qom_get(qts, "/machine/peripheral/n0", "isa-irq");
    QDict *r1 = qom_get(qts, "/machine/peripheral/n1", "isa-irq");

    g_assert_cmpint(qdict_get_int(r0, "return"), ==, 7);
    g_assert_cmpint(qdict_get_int(r1, "return"), ==, 6);
    qobject_unref(r0);
    qobject_unref(r1);
    qtest_quit(qts);
}

static void add_machine_tests(const char *m)
{
    static const struct {
        const char *name;
        void (*fn)(void);
        bool arm_only;
        bool x86_only;
    } tests[] = {
        { "ids", test_ids },
        { "features", test_features },
        { "status-rules", test_status_rules },
        { "queues", test_queues },
        { "config", test_config },
        { "bad-access", test_bad_access },
        { "loopback/modern", test_loopback_modern },
        { "loopback/legacy", test_loopback_legacy },
        { "mrg-rxbuf", test_mrg_rxbuf },
        { "backpressure", test_backpressure },
        { "link", test_link },
        { "set-link", test_set_link },
        { "netdev", test_netdev },
        { "nic-option", test_nic_option },
        { "broken-ring", test_broken },
        { "migrate", test_migrate },
        { "migrate/refused", test_migrate_refused },
        { "migrate/crafted-stream", test_migrate_crafted },
        { "stop-cont", test_stop_cont },
        { "ctrl", test_ctrl },
        { "rx-filter", test_rx_filter },
        { "announce", test_announce },
        { "notf-coal", test_notf_coal },
        { "adaptive-coal", test_adaptive_coal },
        { "adaptive-coal/off", test_adaptive_coal_off },
        { "adaptive-coal/driver-set", test_adaptive_coal_driver },
        { "csum", test_csum },
        { "csum/netdev", test_csum_netdev },
        { "tso", test_tso },
        { "tso/tap", test_tso_tap },
        { "tso/tap-migrate", test_tso_tap_migrate },
        { "mq", test_mq },
        { "mq/netdev", test_mq_netdev },
        { "mq/netdev-rss", test_mq_netdev_rss },
        { "mq/migrate", test_mq_migrate },
        { "mq/migrate-refused", test_mq_migrate_refused },
        { "mq/rss", test_mq_rss },
        { "mq/rss-migrate", test_mq_rss_migrate },
        { "hash-report", test_hash_report },
        { "hash-report/migrate", test_hash_report_migrate },
        { "hash-report/netdev", test_hash_report_netdev },
        { "hash-report/pairs-set", test_hash_report_pairs },
        { "notification-data", test_notification_data },
        { "announce-migrated", test_announce_migrated },
        { "netdev-backpressure", test_netdev_backpressure },
        { "net-filters", test_net_filters },
        { "packed", test_packed },
        { "packed/event-idx", test_packed_event_idx },
        { "bad-frames", test_bad_frames },
        { "reset-during-traffic", test_reset_during_traffic },
        { "regression/dma-to-own-mmio", test_regression_dma_to_own_mmio },
        { "regression/rx-wait-no-spin", test_regression_rx_wait_no_spin },
        { "feature-switches", test_switches },
        { "instances", test_instances },
        { "query-mdev", test_query },
        { "errors", test_errors },
        { "acpi", test_acpi },
        { "fdt", test_fdt, true },
        { "isa-irq-choice", test_isa_irq_choice, false, true },
    };

    for (size_t i = 0; i < G_N_ELEMENTS(tests); i++) {
        MachineTest *t;
        g_autofree char *path = NULL;

        if ((tests[i].arm_only && !is_arm()) ||
            (tests[i].x86_only && is_arm())) {
            continue;
        }
        t = g_new(MachineTest, 1);      /* glib frees it after the test */
        t->machine = m;
        t->fn = tests[i].fn;
        path = g_strdup_printf("/virtio-mdev/%s/%s", m, tests[i].name);
        qtest_add_data_func_full(path, t, run_machine_test, g_free);
    }
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    if (is_arm()) {
        add_machine_tests("virt");
    } else {
        add_machine_tests("pc");
        add_machine_tests("q35");
        add_machine_tests("microvm");
    }
    return g_test_run();
}
