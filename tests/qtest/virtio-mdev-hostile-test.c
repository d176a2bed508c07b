/*
 * qtest of virtio-mdev against a hostile driver
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Each case plays one malformed driver behaviour against mvnet
 * (virtio-mdev-net) and mvblk (virtio-mdev-blk) through the real MMIO
 * registers, with rings and buffers built in guest memory by a small split
 * ring driver here, and then checks the same things every time:
 *
 *  - the outcome the virtio specification allows, exactly: the device sets
 *    DEVICE_NEEDS_RESET with a config interrupt (and logs why), or it
 *    ignores the access (a refused queue, a failed request, ...);
 *  - QEMU still answers QMP;
 *  - nothing was written outside what the driver offered to the device:
 *    the test keeps a shadow of a guest memory arena filled with canary
 *    bytes, and every byte that changed must lie in a used ring or a
 *    device-writable buffer;
 *  - no CPU is burned afterwards: mvnet's "bh-runs" and the used indexes
 *    (mvblk: used index and statistics) stay put while nothing changes;
 *  - after a reset the device works again (a good frame or request).
 *
 * Runs on pc, q35, microvm (x86_64) and virt (aarch64).
 */

#include "qemu/osdep.h"
#include "qemu/bswap.h"
#include "qemu/units.h"
#include "libqtest.h"
#include "virtio-mdev-qtest.h"
#include "qobject/qdict.h"
#include "qobject/qlist.h"
#include "standard-headers/linux/virtio_blk.h"
#include "standard-headers/linux/virtio_config.h"
#include "standard-headers/linux/virtio_mmio.h"
#include "standard-headers/linux/virtio_net.h"
#include "standard-headers/linux/virtio_ring.h"

#define QN              16          /* ring size the driver here uses */
#define ARENA_SIZE      (128 * KiB)
#define GAP             64          /* canary bytes between allocations */
#define NET_HDR         12          /* virtio_net_hdr_mrg_rxbuf */
#define BLK_HDR         16
#define CFG             0x100
#define MMIO_SIZE       0x200
#define ST_UNSET        0xee
#define UNASSIGNED      0x100000000000ULL   /* 16 TiB: no RAM, no device */
#define S_ACK_DRIVER    (VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER)
#define S_RUNNING       (S_ACK_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK | \
                         VIRTIO_CONFIG_S_DRIVER_OK)
#define F(bit)          (1ULL << (bit))
#define NET_FEATURES    (F(VIRTIO_F_VERSION_1) | F(VIRTIO_NET_F_MAC) | \
                         F(VIRTIO_NET_F_STATUS) | \
                         F(VIRTIO_RING_F_INDIRECT_DESC))
#define BLK_FEATURES    (F(VIRTIO_F_VERSION_1) | F(VIRTIO_BLK_F_BLK_SIZE) | \
                         F(VIRTIO_BLK_F_FLUSH) | F(VIRTIO_BLK_F_SEG_MAX) | \
                         F(VIRTIO_BLK_F_SIZE_MAX) | \
                         F(VIRTIO_RING_F_INDIRECT_DESC))

typedef struct Q {
    uint16_t idx, num;
    uint64_t desc, avail, used;
    uint16_t aidx;          /* driver's avail index */
    uint16_t nd;            /* next free descriptor slot */
} Q;

typedef struct Win {
    uint64_t addr, len;
} Win;

/* A test harness: one QEMU, one device under test. */
typedef struct H {
    QTestState *qts;
    bool blk;
    uint64_t base;          /* register window */
    const char *path;       /* QOM path of the transport */
    char *mdev;             /* QOM path of the mdev instance */
    char *log;              /* -D file of -d guest_errors */
    size_t log_seen;
    uint64_t arena;
    uint8_t *shadow;        /* what the arena must hold, but in windows */
    uint64_t cur;           /* allocation cursor (arena offset) */
    Win win[256];           /* where the device may write */
    unsigned nwin;
    uint64_t features;
    Q q[2];
    uint32_t seed;
    uint64_t st;            /* mvblk: status byte of the last request */
} H;

typedef enum Outcome {
    NA,             /* the behaviour does not apply to this backend */
    BROKEN,         /* DEVICE_NEEDS_RESET and a config interrupt */
    REFUSED,        /* the queue does not start; nothing is processed */
    IOERR,          /* mvblk: the request fails with VIRTIO_BLK_S_IOERR */
    CHECKED,        /* the case checks its own exact outcome */
} Outcome;

static const char *machine;

static bool is_arm(void)
{
    return !strcmp(qtest_get_arch(), "aarch64");
}

static uint64_t ram_base(void)
{
    return is_arm() ? 0x40000000ULL : 0;
}

static uint32_t rd(H *h, uint32_t off)
{
    return qtest_readl(h->qts, h->base + off);
}

static void wr(H *h, uint32_t off, uint32_t val)
{
    qtest_writel(h->qts, h->base + off, val);
}

static Q *outq(H *h)
{
    return &h->q[h->blk ? 0 : 1];
}

static unsigned nqueues(H *h)
{
    return h->blk ? 1 : 2;
}

/* ---- guest memory: the arena, its shadow and the writable windows ---- */

static uint8_t canary(uint64_t i)
{
    return 0xa5 ^ (i * 29) ^ (i >> 8);
}

/* Write guest memory; inside the arena the shadow follows. */
static void gw(H *h, uint64_t addr, const void *buf, size_t len)
{
    if (addr >= h->arena && addr - h->arena + len <= ARENA_SIZE) {
        memcpy(h->shadow + (addr - h->arena), buf, len);
    }
    qtest_memwrite(h->qts, addr, buf, len);
}

static void gw16(H *h, uint64_t addr, uint16_t v)
{
    uint8_t b[2];

    stw_le_p(b, v);
    gw(h, addr, b, 2);
}

/* The device may write [addr, addr + len). */
static void allow(H *h, uint64_t addr, uint64_t len)
{
    g_assert_cmpuint(h->nwin, <, G_N_ELEMENTS(h->win));
    h->win[h->nwin++] = (Win) { addr, len };
}

/* @len bytes of arena, canaries around; zeroed when @zero. */
static uint64_t alloc(H *h, uint64_t len, uint64_t align, bool zero)
{
    uint64_t off = QEMU_ALIGN_UP(h->cur + GAP, align);

    g_assert_cmpuint(off + len + GAP, <=, ARENA_SIZE);
    h->cur = off + len;
    if (zero) {
        g_autofree uint8_t *z = g_malloc0(len);

        gw(h, h->arena + off, z, len);
    }
    return h->arena + off;
}

/* A fresh arena of canaries: forget every allocation and window. */
static void arena_reset(H *h)
{
    for (uint64_t i = 0; i < ARENA_SIZE; i++) {
        h->shadow[i] = canary(i);
    }
    qtest_bufwrite(h->qts, h->arena, h->shadow, ARENA_SIZE);
    h->cur = 0;
    h->nwin = 0;
}

static bool allowed(H *h, uint64_t addr)
{
    for (unsigned i = 0; i < h->nwin; i++) {
        if (addr >= h->win[i].addr && addr - h->win[i].addr < h->win[i].len) {
            return true;
        }
    }
    return false;
}

/* Every byte the device changed is in a window it was offered. */
static void check_canaries(H *h)
{
    g_autofree uint8_t *got = g_malloc(ARENA_SIZE);

    qtest_bufread(h->qts, h->arena, got, ARENA_SIZE);
    for (uint64_t i = 0; i < ARENA_SIZE; i++) {
        if (got[i] != h->shadow[i] && !allowed(h, h->arena + i)) {
            g_test_message("byte at 0x%" PRIx64 " changed: 0x%02x, was "
                           "0x%02x", h->arena + i, got[i], h->shadow[i]);
            g_assert_not_reached();
        }
    }
}

/* ---- QMP ---- */

static QDict *qom_get(QTestState *qts, const char *path, const char *prop)
{
    QDict *r = qtest_qmp(qts, "{'execute': 'qom-get', 'arguments': "
                         "{'path': %s, 'property': %s}}", path, prop);

    g_assert_true(qdict_haskey(r, "return"));
    return r;
}

static uint64_t qom_get_uint(QTestState *qts, const char *path,
                             const char *prop)
{
    QDict *r = qom_get(qts, path, prop);
    uint64_t v = qdict_get_int(r, "return");

    qobject_unref(r);
    return v;
}

/* QEMU answers QMP, and the VM runs. */
static void assert_alive(H *h)
{
    QDict *r = qtest_qmp(h->qts, "{'execute': 'query-status'}");

    g_assert_true(qdict_haskey(r, "return"));
    g_assert_cmpstr(qdict_get_str(qdict_get_qdict(r, "return"), "status"),
                    ==, "running");
    qobject_unref(r);
}

/* Statistic @field of queue @q of the instance, from query-mdev. */
static uint64_t stat_of(H *h, unsigned q, const char *field)
{
    QDict *r = qtest_qmp(h->qts, "{'execute': 'query-mdev'}");
    QListEntry *pe, *ie, *se;
    int64_t v = -1;

    QLIST_FOREACH_ENTRY(qdict_get_qlist(r, "return"), pe) {
        QDict *p = qobject_to(QDict, qlist_entry_obj(pe));

        QLIST_FOREACH_ENTRY(qdict_get_qlist(p, "instances"), ie) {
            QDict *inst = qobject_to(QDict, qlist_entry_obj(ie));
            const char *t = qdict_get_try_str(inst, "transport");

            if (!t || strcmp(t, h->path)) {
                continue;
            }
            QLIST_FOREACH_ENTRY(qdict_get_qlist(inst, "stats"), se) {
                QDict *s = qobject_to(QDict, qlist_entry_obj(se));

                if (qdict_get_int(s, "queue") == q) {
                    v = qdict_get_int(s, field);
                }
            }
        }
    }
    qobject_unref(r);
    g_assert_cmpint(v, >=, 0);
    return v;
}

/* The guest error log has grown by a line containing @what. */
static void assert_logged(H *h, const char *what)
{
    g_autofree char *text = NULL;
    size_t len;

    g_assert_true(g_file_get_contents(h->log, &text, &len, NULL));
    g_assert_cmpuint(len, >=, h->log_seen);
    if (!strstr(text + h->log_seen, what)) {
        g_test_message("log since the last check: %s", text + h->log_seen);
        g_assert_not_reached();
    }
    h->log_seen = len;
}

static void log_skip(H *h)
{
    g_autofree char *text = NULL;
    size_t len;

    g_assert_true(g_file_get_contents(h->log, &text, &len, NULL));
    h->log_seen = len;
}

/* ---- the harness ---- */

static void h_open(H *h, bool blk, const char *extra)
{
    int fd;

    memset(h, 0, sizeof(*h));
    h->blk = blk;
    fd = g_file_open_tmp("mdev-hostile-XXXXXX.log", &h->log, NULL);
    g_assert_cmpint(fd, >=, 0);
    close(fd);
    h->qts = qtest_initf("-M %s%s -nodefaults -d guest_errors -D %s "
                         "-device %s,id=d0 %s", machine,
                         is_arm() ? " -cpu cortex-a57" : "", h->log,
                         blk ? "virtio-mdev-blk,size=1M" : "virtio-mdev-net",
                         extra ? extra : "");
    h->path = "/machine/peripheral/d0";
    h->base = qom_get_uint(h->qts, h->path, "mmio-base");
    {
        QDict *r = qom_get(h->qts, h->path, "mdev-uuid");

        h->mdev = g_strdup_printf("/objects/%s/%s",
                                  blk ? "mvblk-default" : "mvnet-default",
                                  qdict_get_str(r, "return"));
        qobject_unref(r);
    }
    h->arena = ram_base() + 0x400000;
    h->shadow = g_malloc(ARENA_SIZE);
    arena_reset(h);
    if (is_arm()) {
        qtest_irq_intercept_out_named(h->qts, h->path, "sysbus-irq");
    } else {
        qtest_irq_intercept_out(h->qts, h->path);
    }
}

static void h_close(H *h)
{
    qtest_quit(h->qts);
    unlink(h->log);
    g_free(h->log);
    g_free(h->mdev);
    g_free(h->shadow);
}

static uint64_t default_features(H *h)
{
    return h->blk ? BLK_FEATURES : NET_FEATURES;
}

/* Reset and negotiate @f; returns the status read back. */
static uint32_t h_negotiate(H *h, uint64_t f)
{
    wr(h, VIRTIO_MMIO_STATUS, 0);
    g_assert_cmpuint(rd(h, VIRTIO_MMIO_STATUS), ==, 0);
    wr(h, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE);
    wr(h, VIRTIO_MMIO_STATUS, S_ACK_DRIVER);
    wr(h, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
    wr(h, VIRTIO_MMIO_DRIVER_FEATURES, f);
    wr(h, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
    wr(h, VIRTIO_MMIO_DRIVER_FEATURES, f >> 32);
    wr(h, VIRTIO_MMIO_STATUS, S_ACK_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK);
    h->features = f;
    memset(h->q, 0, sizeof(h->q));
    return rd(h, VIRTIO_MMIO_STATUS);
}

/* Program queue @idx at the given places; returns QueueReady read back. */
static uint32_t q_place(H *h, uint16_t idx, uint16_t num, uint64_t desc,
                        uint64_t avail, uint64_t used)
{
    Q *q = &h->q[idx];

    *q = (Q) { .idx = idx, .num = num, .desc = desc, .avail = avail,
               .used = used };
    wr(h, VIRTIO_MMIO_QUEUE_SEL, idx);
    wr(h, VIRTIO_MMIO_QUEUE_NUM, num);
    wr(h, VIRTIO_MMIO_QUEUE_DESC_LOW, desc);
    wr(h, VIRTIO_MMIO_QUEUE_DESC_HIGH, desc >> 32);
    wr(h, VIRTIO_MMIO_QUEUE_AVAIL_LOW, avail);
    wr(h, VIRTIO_MMIO_QUEUE_AVAIL_HIGH, avail >> 32);
    wr(h, VIRTIO_MMIO_QUEUE_USED_LOW, used);
    wr(h, VIRTIO_MMIO_QUEUE_USED_HIGH, used >> 32);
    wr(h, VIRTIO_MMIO_QUEUE_READY, 1);
    return rd(h, VIRTIO_MMIO_QUEUE_READY);
}

/* Queue @idx on fresh arena memory, each ring between canaries. */
static void q_setup(H *h, uint16_t idx)
{
    uint64_t desc = alloc(h, 16 * QN, 16, true);
    uint64_t avail = alloc(h, 6 + 2 * QN, 2, true);
    uint64_t used = alloc(h, 6 + 8 * QN, 4, true);

    allow(h, used, 6 + 8 * QN);
    g_assert_cmpuint(q_place(h, idx, QN, desc, avail, used), ==, 1);
}

static void h_driver_ok(H *h)
{
    wr(h, VIRTIO_MMIO_STATUS, S_RUNNING);
}

/* Full bring-up with features @f. */
static void h_start_f(H *h, uint64_t f)
{
    g_assert_cmphex(h_negotiate(h, f), ==,
                    S_ACK_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK);
    for (unsigned i = 0; i < nqueues(h); i++) {
        q_setup(h, i);
    }
    h_driver_ok(h);
}

static void h_start(H *h)
{
    h_start_f(h, default_features(h));
}

static void put_desc(H *h, uint64_t table, uint16_t i, uint64_t addr,
                     uint32_t len, uint16_t flags, uint16_t next)
{
    uint8_t b[16];

    stq_le_p(b, addr);
    stl_le_p(b + 8, len);
    stw_le_p(b + 12, flags);
    stw_le_p(b + 14, next);
    gw(h, table + 16 * i, b, 16);
}

/* Descriptor slot @i of @q, for a chain the driver is building. */
static void q_desc(H *h, Q *q, uint16_t i, uint64_t addr, uint32_t len,
                   uint16_t flags, uint16_t next)
{
    put_desc(h, q->desc, i, addr, len, flags, next);
}

/* Make @head available (ring entry, then the index). */
static void q_push(H *h, Q *q, uint16_t head)
{
    gw16(h, q->avail + 4 + 2 * (q->aidx % q->num), head);
    q->aidx++;
    gw16(h, q->avail + 2, q->aidx);
}

static void kick(H *h, Q *q)
{
    wr(h, VIRTIO_MMIO_QUEUE_NOTIFY, q->idx);
}

static uint16_t used_idx(H *h, Q *q)
{
    return qtest_readw(h->qts, q->used + 2);
}

static void used_elem(H *h, Q *q, uint16_t i, uint32_t *id, uint32_t *len)
{
    *id = qtest_readl(h->qts, q->used + 4 + 8 * (i % q->num));
    *len = qtest_readl(h->qts, q->used + 8 + 8 * (i % q->num));
}

/* Waits (virtio-mdev-qtest.h) until @q's used index reaches @want. */
static bool wait_used(H *h, Q *q, uint16_t want)
{
    return vmq_wait_readw(h->qts, q->used + 2, want);
}

static bool wait_status(H *h, uint32_t bit)
{
    return vmq_wait_readl_bits(h->qts, h->base + VIRTIO_MMIO_STATUS, bit);
}

static uint64_t bh_runs(H *h)
{
    return qom_get_uint(h->qts, h->mdev, "bh-runs");
}

/*
 * Nothing moves while nothing changes: the datapath does not run (mvnet),
 * the used indexes and the request statistics stay put.
 */
static void assert_quiet(H *h)
{
    uint64_t runs = 0, reqs = 0, errs = 0;
    uint16_t used[2];

    for (unsigned i = 0; i < nqueues(h); i++) {
        used[i] = h->q[i].num ? used_idx(h, &h->q[i]) : 0;
    }
    if (h->blk) {
        reqs = stat_of(h, 0, "packets");
        errs = stat_of(h, 0, "errors");
    } else {
        runs = bh_runs(h);
    }
    /* a spinning bottom half runs thousands of times in this while */
    g_usleep(50 * 1000);
    for (unsigned i = 0; i < nqueues(h); i++) {
        if (h->q[i].num) {
            g_assert_cmpuint(used_idx(h, &h->q[i]), ==, used[i]);
        }
    }
    if (h->blk) {
        g_assert_cmpuint(stat_of(h, 0, "packets"), ==, reqs);
        g_assert_cmpuint(stat_of(h, 0, "errors"), ==, errs);
    } else {
        g_assert_cmpuint(bh_runs(h), ==, runs);
    }
}

/* ---- payloads ---- */

static void pattern(uint8_t *b, size_t len, uint32_t seed)
{
    for (size_t i = 0; i < len; i++) {
        b[i] = seed * 31 + i * 7 + (i >> 8);
    }
}

/* mvnet: a transmit buffer, header and a @len-byte frame of @seed. */
static uint64_t net_frame(H *h, size_t len, uint32_t seed)
{
    g_autofree uint8_t *f = g_malloc0(NET_HDR + len);
    uint64_t a = alloc(h, NET_HDR + len, 16, false);

    pattern(f + NET_HDR, len, seed);
    gw(h, a, f, NET_HDR + len);
    return a;
}

/* A device-writable buffer of @len bytes (zeroed). */
static uint64_t wbuf(H *h, size_t len)
{
    uint64_t a = alloc(h, len, 16, true);

    allow(h, a, len);
    return a;
}

/* mvblk: a request header of @type at @sector. */
static uint64_t blk_hdr(H *h, uint32_t type, uint64_t sector)
{
    uint8_t b[BLK_HDR] = { 0 };
    uint64_t a = alloc(h, BLK_HDR, 16, false);

    stl_le_p(b, type);
    stq_le_p(b + 8, sector);
    gw(h, a, b, BLK_HDR);
    return a;
}

/* mvblk: a status byte, preset to ST_UNSET. */
static uint64_t blk_status(H *h)
{
    uint64_t a = wbuf(h, 1);
    uint8_t v = ST_UNSET;

    gw(h, a, &v, 1);
    return a;
}

/*
 * A readable buffer that is a good start of a chain on the out queue:
 * a frame (mvnet) or an OUT header (mvblk).
 */
static uint64_t payload(H *h)
{
    return h->blk ? blk_hdr(h, VIRTIO_BLK_T_OUT, 0) : net_frame(h, 100, 1);
}

static uint32_t payload_len(H *h)
{
    return h->blk ? BLK_HDR : NET_HDR + 100;
}

/* ---- good traffic ---- */

/* mvnet: post a receive buffer of @len bytes; returns its address. */
static uint64_t net_post_rx(H *h, uint32_t len)
{
    Q *q = &h->q[0];
    uint64_t b = wbuf(h, len);
    uint16_t slot = q->nd++ % q->num;

    q_desc(h, q, slot, b, len, VRING_DESC_F_WRITE, 0);
    q_push(h, q, slot);
    return b;
}

static void net_send(H *h, size_t len, uint32_t seed)
{
    Q *q = &h->q[1];
    uint64_t b = net_frame(h, len, seed);
    uint16_t slot = q->nd++ % q->num;

    q_desc(h, q, slot, b, NET_HDR + len, 0, 0);
    q_push(h, q, slot);
}

static void net_check_rx(H *h, uint64_t buf, size_t len, uint32_t seed,
                         uint16_t nbufs)
{
    g_autofree uint8_t *want = g_malloc(len);
    g_autofree uint8_t *got = g_malloc(NET_HDR + len);

    pattern(want, len, seed);
    qtest_memread(h->qts, buf, got, NET_HDR + len);
    g_assert_cmpmem(got + NET_HDR, len, want, len);
    g_assert_cmpuint(lduw_le_p(got + 10), ==, nbufs);
}

/* mvblk: post a request; @data is written for OUT, allowed for IN. */
static uint16_t blk_post(H *h, uint32_t type, uint64_t sector, uint64_t data,
                         uint32_t len, uint64_t status)
{
    Q *q = &h->q[0];
    bool in = type == VIRTIO_BLK_T_IN;
    uint16_t head = q->nd % q->num;
    uint16_t s0 = head, s1 = (head + 1) % q->num, s2 = (head + 2) % q->num;

    q_desc(h, q, s0, blk_hdr(h, type, sector), BLK_HDR, VRING_DESC_F_NEXT,
           len ? s1 : s2);
    if (len) {
        q_desc(h, q, s1, data, len,
               VRING_DESC_F_NEXT | (in ? VRING_DESC_F_WRITE : 0), s2);
    }
    q_desc(h, q, s2, status, 1, VRING_DESC_F_WRITE, 0);
    q->nd += 3;
    q_push(h, q, head);
    h->st = status;
    return head;
}

/* mvblk: run one request and return its status; checks the used entry. */
static uint8_t blk_run(H *h, uint32_t type, uint64_t sector, uint64_t data,
                       uint32_t len)
{
    Q *q = &h->q[0];
    uint64_t st = blk_status(h);
    uint16_t head = blk_post(h, type, sector, data, len, st);
    uint16_t u = used_idx(h, q);
    uint32_t id, ulen;
    uint8_t s;

    kick(h, q);
    g_assert_true(wait_used(h, q, u + 1));
    used_elem(h, q, u, &id, &ulen);
    g_assert_cmpuint(id, ==, head);
    s = qtest_readb(h->qts, st);
    g_assert_cmpuint(ulen, ==, type == VIRTIO_BLK_T_IN && !s ? len + 1 : 1);
    return s;
}

/* One good exchange: a frame through the loopback, or write + read back. */
static void roundtrip(H *h)
{
    uint32_t seed = ++h->seed;

    if (h->blk) {
        uint8_t want[512];
        g_autofree uint8_t *got = g_malloc(512);
        uint64_t w = alloc(h, 512, 16, false), r = wbuf(h, 512);

        pattern(want, 512, seed);
        gw(h, w, want, 512);
        g_assert_cmpuint(blk_run(h, VIRTIO_BLK_T_OUT, 8, w, 512), ==,
                         VIRTIO_BLK_S_OK);
        g_assert_cmpuint(blk_run(h, VIRTIO_BLK_T_IN, 8, r, 512), ==,
                         VIRTIO_BLK_S_OK);
        qtest_memread(h->qts, r, got, 512);
        g_assert_cmpmem(got, 512, want, 512);
    } else {
        uint16_t urx = used_idx(h, &h->q[0]), utx = used_idx(h, &h->q[1]);
        uint64_t rx = net_post_rx(h, 2048);
        uint32_t id, len;

        net_send(h, 200, seed);
        kick(h, &h->q[1]);
        g_assert_true(wait_used(h, &h->q[1], utx + 1));
        g_assert_true(wait_used(h, &h->q[0], urx + 1));
        used_elem(h, &h->q[0], urx, &id, &len);
        g_assert_cmpuint(len, ==, NET_HDR + 200);
        net_check_rx(h, rx, 200, seed, 1);
    }
    g_assert_cmphex(rd(h, VIRTIO_MMIO_STATUS), ==, S_RUNNING);
}

/* Reset, a fresh bring-up, and a good exchange. */
static void recover(H *h)
{
    wr(h, VIRTIO_MMIO_STATUS, 0);
    g_assert_cmpuint(rd(h, VIRTIO_MMIO_STATUS), ==, 0);
    g_assert_cmpuint(rd(h, VIRTIO_MMIO_INTERRUPT_STATUS), ==, 0);
    g_assert_false(qtest_get_irq(h->qts, 0));
    h_start(h);
    roundtrip(h);
    roundtrip(h);
}

/* ---- the cases: ring and chain violations (the CVE list) ---- */

/* A one-descriptor chain at slot 0 of the out queue. */
static void bad_single(H *h, uint64_t addr, uint32_t len, uint16_t flags)
{
    Q *q = outq(h);

    q_desc(h, q, 0, addr, len, flags, 0);
    q_push(h, q, 0);
    kick(h, q);
}

static void c_loop(H *h)
{
    Q *q = outq(h);
    uint64_t p = payload(h);

    h_start(h);
    q_desc(h, q, 0, p, 8, VRING_DESC_F_NEXT, 1);
    q_desc(h, q, 1, p + 8, 8, VRING_DESC_F_NEXT, 0);
    q_push(h, q, 0);
    kick(h, q);
}

static void c_self_loop(H *h)
{
    Q *q = outq(h);
    uint64_t p = payload(h);

    h_start(h);
    q_desc(h, q, 3, p, 8, VRING_DESC_F_NEXT, 3);
    q_push(h, q, 3);
    kick(h, q);
}

static void c_next_range(H *h)
{
    Q *q = outq(h);
    uint64_t p = payload(h);

    h_start(h);
    q_desc(h, q, 0, p, 8, VRING_DESC_F_NEXT, QN);
    q_push(h, q, 0);
    kick(h, q);
}

static void c_head_range(H *h)
{
    Q *q = outq(h);

    h_start(h);
    q_desc(h, q, 0, payload(h), payload_len(h), 0, 0);
    q_push(h, q, QN + 3);
    kick(h, q);
}

static void c_avail_jump(H *h)
{
    Q *q = outq(h);

    h_start(h);
    for (int i = 0; i < QN; i++) {
        q_desc(h, q, i, payload(h), payload_len(h), 0, 0);
        gw16(h, q->avail + 4 + 2 * i, i);
    }
    gw16(h, q->avail + 2, QN + 1);
    kick(h, q);
}

static void c_avail_back(H *h)
{
    Q *q = outq(h);

    h_start(h);
    gw16(h, q->avail + 2, 0xffff);      /* one behind the device's 0 */
    kick(h, q);
}

static void c_zero_len(H *h)
{
    h_start(h);
    bad_single(h, payload(h), 0, 0);
}

static void c_zero_len_mid(H *h)
{
    Q *q = outq(h);
    uint64_t p = payload(h);

    h_start(h);
    q_desc(h, q, 0, p, payload_len(h), VRING_DESC_F_NEXT, 1);
    q_desc(h, q, 1, p, 0, VRING_DESC_F_NEXT, 2);
    q_desc(h, q, 2, p, 8, 0, 0);
    q_push(h, q, 0);
    kick(h, q);
}

/* An indirect table of @n entries, entry 0 a good payload. */
static uint64_t table(H *h, unsigned n)
{
    uint64_t t = alloc(h, 16 * n, 16, true);

    put_desc(h, t, 0, payload(h), payload_len(h), 0, 0);
    return t;
}

static void c_ind_nested(H *h)
{
    uint64_t inner = table(h, 1), t = table(h, 2);

    h_start(h);
    put_desc(h, t, 0, payload(h), 8, VRING_DESC_F_NEXT, 1);
    put_desc(h, t, 1, inner, 16, VRING_DESC_F_INDIRECT, 0);
    bad_single(h, t, 32, VRING_DESC_F_INDIRECT);
}

static void c_ind_next(H *h)
{
    Q *q = outq(h);
    uint64_t t = table(h, 1);

    h_start(h);
    q_desc(h, q, 0, t, 16, VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT, 1);
    q_desc(h, q, 1, payload(h), 8, 0, 0);
    q_push(h, q, 0);
    kick(h, q);
}

static void c_ind_not_negotiated(H *h)
{
    h_start_f(h, default_features(h) & ~F(VIRTIO_RING_F_INDIRECT_DESC));
    bad_single(h, table(h, 1), 16, VRING_DESC_F_INDIRECT);
}

static void c_ind_len_odd(H *h)
{
    h_start(h);
    bad_single(h, table(h, 2), 24, VRING_DESC_F_INDIRECT);
}

static void c_ind_len_zero(H *h)
{
    h_start(h);
    bad_single(h, table(h, 1), 0, VRING_DESC_F_INDIRECT);
}

static void c_ind_outside(H *h)
{
    h_start(h);
    bad_single(h, UNASSIGNED, 32, VRING_DESC_F_INDIRECT);
}

static void c_ind_wrap(H *h)
{
    h_start(h);
    bad_single(h, 0xfffffffffffffff0ULL, 32, VRING_DESC_F_INDIRECT);
}

/* A table longer than the queue: a chain longer than the queue. */
static void c_ind_too_long(H *h)
{
    uint64_t t = alloc(h, 16 * (QN + 1), 16, true), p;

    h_start(h);
    p = payload(h);
    for (int i = 0; i <= QN; i++) {
        put_desc(h, t, i, p, 4, i < QN ? VRING_DESC_F_NEXT : 0, i + 1);
    }
    bad_single(h, t, 16 * (QN + 1), VRING_DESC_F_INDIRECT);
}

/* A direct chain through every slot and back into the table: too long. */
static void c_chain_too_long(H *h)
{
    Q *q = outq(h);
    uint64_t p = payload(h);

    h_start(h);
    for (int i = 0; i < QN; i++) {
        q_desc(h, q, i, p, 4, VRING_DESC_F_NEXT, (i + 1) % QN);
    }
    q_push(h, q, 0);
    kick(h, q);
}

static void c_len_overflow(H *h)
{
    Q *q = outq(h);

    h_start(h);
    q_desc(h, q, 0, ram_base(), 0x80000000u, VRING_DESC_F_NEXT, 1);
    q_desc(h, q, 1, ram_base(), 0x80000000u, 0, 0);
    q_push(h, q, 0);
    kick(h, q);
}

static void c_read_after_write(H *h)
{
    Q *q = outq(h);

    h_start(h);
    q_desc(h, q, 0, wbuf(h, 64), 64, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT,
           1);
    q_desc(h, q, 1, payload(h), payload_len(h), 0, 0);
    q_push(h, q, 0);
    kick(h, q);
}

/* The header (mvnet: the whole frame) in a device-writable buffer. */
static void c_write_only_header(H *h)
{
    Q *q = outq(h);
    uint64_t st = h->blk ? blk_status(h) : 0;

    h_start(h);
    q_desc(h, q, 0, wbuf(h, 128), 128,
           VRING_DESC_F_WRITE | (h->blk ? VRING_DESC_F_NEXT : 0), 1);
    q_desc(h, q, 1, st, 1, VRING_DESC_F_WRITE, 0);
    q_push(h, q, 0);
    h->st = st;
    kick(h, q);
}

static void c_buf_wrap(H *h)
{
    h_start(h);
    if (!h->blk) {
        net_post_rx(h, 2048);
    }
    bad_single(h, 0xffffffffffffff00ULL, 0x200, 0);
}

/* Data in unassigned space: mvnet copies it, mvblk maps it. */
static void c_buf_outside(H *h)
{
    Q *q = outq(h);

    h_start(h);
    if (h->blk) {
        blk_post(h, VIRTIO_BLK_T_OUT, 0, UNASSIGNED, 512, blk_status(h));
    } else {
        net_post_rx(h, 2048);
        q_desc(h, q, 0, UNASSIGNED, 200, 0, 0);
        q_push(h, q, 0);
    }
    kick(h, q);
}

/* Data that is the device's own registers. */
static void c_buf_own_mmio(H *h)
{
    Q *q = outq(h);

    h_start(h);
    if (h->blk) {
        blk_post(h, VIRTIO_BLK_T_IN, 0, h->base, 512, blk_status(h));
    } else {
        net_post_rx(h, 2048);
        q_desc(h, q, 0, h->base, 0x100, 0, 0);
        q_push(h, q, 0);
    }
    kick(h, q);
}

/* A status byte (mvblk) or receive buffer (mvnet) in unassigned space. */
static void c_wbuf_outside(H *h)
{
    Q *q = outq(h);

    h_start(h);
    if (h->blk) {
        blk_post(h, VIRTIO_BLK_T_FLUSH, 0, 0, 0, UNASSIGNED);
    } else {
        q_desc(h, &h->q[0], 0, UNASSIGNED, 2048, VRING_DESC_F_WRITE, 0);
        q_push(h, &h->q[0], 0);
        net_send(h, 100, 1);
    }
    kick(h, q);
}

/* ---- packed rings ---- */

#define PK_AVAIL        (1 << 7)
#define PK_USED         (1 << 15)

/* Bring-up with packed rings; the split used index is not watched. */
static void packed_start(H *h)
{
    g_assert_cmphex(h_negotiate(h, default_features(h) |
                                F(VIRTIO_F_RING_PACKED)), ==,
                    S_ACK_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK);
    for (unsigned i = 0; i < nqueues(h); i++) {
        uint64_t desc = alloc(h, 16 * QN, 16, true);
        uint64_t drv = alloc(h, 4, 4, true), dev = alloc(h, 4, 4, true);

        allow(h, desc, 16 * QN);        /* used descriptors go there */
        allow(h, dev, 4);
        g_assert_cmpuint(q_place(h, i, QN, desc, drv, dev), ==, 1);
        h->q[i].num = 0;
    }
    h_driver_ok(h);
}

/* A packed descriptor, made available in the first lap. */
static void pk_put(H *h, uint64_t table, uint16_t i, uint64_t addr,
                   uint32_t len, uint16_t id, uint16_t flags)
{
    uint8_t b[16];

    stq_le_p(b, addr);
    stl_le_p(b + 8, len);
    stw_le_p(b + 12, id);
    stw_le_p(b + 14, flags | PK_AVAIL);
    gw(h, table + 16 * i, b, 16);
}

static void c_packed_endless(H *h)
{
    uint64_t p = payload(h);

    packed_start(h);
    for (int i = 0; i < QN; i++) {
        pk_put(h, outq(h)->desc, i, p, 8, 0, VRING_DESC_F_NEXT);
    }
    kick(h, &(Q) { .idx = h->blk ? 0 : 1 });
}

static void c_packed_zero_len(H *h)
{
    packed_start(h);
    pk_put(h, outq(h)->desc, 0, payload(h), 0, 0, 0);
    kick(h, &(Q) { .idx = h->blk ? 0 : 1 });
}

static void c_packed_ind_nested(H *h)
{
    uint64_t t = alloc(h, 32, 16, true), inner = alloc(h, 16, 16, true);

    packed_start(h);
    pk_put(h, inner, 0, payload(h), payload_len(h), 0, 0);
    pk_put(h, t, 0, payload(h), 8, 0, 0);
    pk_put(h, t, 1, inner, 16, 0, VRING_DESC_F_INDIRECT);
    pk_put(h, outq(h)->desc, 0, t, 32, 0, VRING_DESC_F_INDIRECT);
    kick(h, &(Q) { .idx = h->blk ? 0 : 1 });
}

/* ---- ring placement ---- */

/* Negotiate, the other queues normally, the out queue placed so. */
static uint32_t place_out(H *h, uint16_t num, uint64_t desc, uint64_t avail,
                          uint64_t used)
{
    uint32_t ready;

    g_assert_cmphex(h_negotiate(h, default_features(h)), ==,
                    S_ACK_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK);
    if (!h->blk) {
        q_setup(h, 0);
    }
    ready = q_place(h, h->blk ? 0 : 1, num, desc, avail, used);
    h_driver_ok(h);
    return ready;
}

/* Rings the device refuses: QueueReady stays 0, kicks do nothing. */
static void refused(H *h, uint16_t num, uint64_t desc, uint64_t avail,
                    uint64_t used)
{
    g_assert_cmpuint(place_out(h, num, desc, avail, used), ==, 0);
    kick(h, outq(h));
    outq(h)->num = 0;                   /* no used ring to watch */
}

static uint64_t ring_area(H *h)
{
    return alloc(h, 4096, 4096, true);
}

static void c_desc_misaligned(H *h)
{
    uint64_t a = ring_area(h);

    refused(h, QN, a + 8, a + 0x400, a + 0x800);
}

static void c_used_misaligned(H *h)
{
    uint64_t a = ring_area(h);

    refused(h, QN, a, a + 0x400, a + 0x802);
}

static void c_ring_wrap(H *h)
{
    uint64_t a = ring_area(h);

    refused(h, QN, 0xffffffffffffff80ULL, a + 0x400, a + 0x800);
}

static void c_used_wrap(H *h)
{
    uint64_t a = ring_area(h);

    refused(h, QN, a, a + 0x400, 0xffffffffffffffc0ULL);
}

static void c_size_not_pow2(H *h)
{
    uint64_t a = ring_area(h);

    refused(h, QN - 1, a, a + 0x400, a + 0x800);
}

/* A ring outside RAM: broken at its first use. */
static void c_avail_outside(H *h)
{
    uint64_t a = ring_area(h);

    allow(h, a + 0x800, 6 + 8 * QN);
    g_assert_cmpuint(place_out(h, QN, a, UNASSIGNED, a + 0x800), ==, 1);
    kick(h, outq(h));
}

static void c_used_outside(H *h)
{
    uint64_t a = ring_area(h);
    Q *q;

    g_assert_cmpuint(place_out(h, QN, a, a + 0x400, UNASSIGNED), ==, 1);
    q = outq(h);
    if (h->blk) {
        blk_post(h, VIRTIO_BLK_T_FLUSH, 0, 0, 0, blk_status(h));
    } else {
        net_post_rx(h, 2048);
        net_send(h, 100, 1);
    }
    kick(h, q);
    q->num = 0;
}

static void c_desc_own_mmio(H *h)
{
    uint64_t a = ring_area(h);

    allow(h, a + 0x800, 6 + 8 * QN);
    g_assert_cmpuint(place_out(h, QN, h->base, a + 0x400, a + 0x800), ==, 1);
    q_push(h, outq(h), 0);
    kick(h, outq(h));
}

/* The used ring (a device-written area) over the device's own registers. */
static void c_used_own_mmio(H *h)
{
    uint64_t a = ring_area(h);
    Q *q;

    g_assert_cmpuint(place_out(h, QN, a, a + 0x400, h->base + 0x40), ==, 1);
    q = outq(h);
    if (h->blk) {
        blk_post(h, VIRTIO_BLK_T_FLUSH, 0, 0, 0, blk_status(h));
    } else {
        net_post_rx(h, 2048);
        net_send(h, 100, 1);
    }
    kick(h, q);
    q->num = 0;
}

/*
 * The used ring over another device's registers: a second virtio-mdev
 * window on every machine.  Only RAM is a ring: the device must break,
 * not write there.
 */
static void c_used_other_mmio(H *h)
{
    uint64_t a = ring_area(h);
    uint64_t other = qom_get_uint(h->qts, "/machine/peripheral/o1",
                                  "mmio-base");
    Q *q;

    g_assert_cmpuint(place_out(h, QN, a, a + 0x400, other + 0x60), ==, 1);
    q = outq(h);
    if (h->blk) {
        blk_post(h, VIRTIO_BLK_T_FLUSH, 0, 0, 0, blk_status(h));
    } else {
        net_post_rx(h, 2048);
        net_send(h, 100, 1);
    }
    kick(h, q);
    q->num = 0;
}

/* The avail ring and the used ring at the same place. */
static void c_rings_overlap(H *h)
{
    uint64_t a = ring_area(h), st = 0, rx = 0;
    uint32_t id, len;
    Q *q;

    allow(h, a + 0x400, 6 + 8 * QN);
    g_assert_cmpuint(place_out(h, QN, a, a + 0x400, a + 0x400), ==, 1);
    q = outq(h);
    if (h->blk) {
        st = blk_status(h);
        blk_post(h, VIRTIO_BLK_T_FLUSH, 0, 0, 0, st);
    } else {
        rx = net_post_rx(h, 2048);
        net_send(h, 100, 7);
    }
    kick(h, q);
    /* The one chain completes; the used entry overwrote the avail ring. */
    g_assert_true(wait_used(h, q, 1));
    used_elem(h, q, 0, &id, &len);
    g_assert_cmpuint(id, ==, 0);
    if (h->blk) {
        g_assert_cmpuint(len, ==, 1);
        g_assert_cmpuint(qtest_readb(h->qts, st), ==, VIRTIO_BLK_S_OK);
    } else {
        g_assert_cmpuint(len, ==, 0);
        g_assert_true(wait_used(h, &h->q[0], 1));
        net_check_rx(h, rx, 100, 7, 1);
    }
    g_assert_cmphex(rd(h, VIRTIO_MMIO_STATUS), ==, S_RUNNING);
}

/* The used ring over the descriptor table it completes. */
static void c_used_over_desc(H *h)
{
    uint64_t a = ring_area(h), st = 0;
    uint32_t id, len;
    Q *q;

    allow(h, a, 6 + 8 * QN);
    g_assert_cmpuint(place_out(h, QN, a, a + 0x400, a), ==, 1);
    q = outq(h);
    if (h->blk) {
        st = blk_status(h);
        blk_post(h, VIRTIO_BLK_T_FLUSH, 0, 0, 0, st);
    } else {
        net_post_rx(h, 2048);
        net_send(h, 100, 7);
    }
    kick(h, q);
    g_assert_true(wait_used(h, q, 1));
    used_elem(h, q, 0, &id, &len);
    g_assert_cmpuint(id, ==, 0);
    g_assert_cmphex(rd(h, VIRTIO_MMIO_STATUS), ==, S_RUNNING);
}

/* ---- registers ---- */

/* Every width at every config offset: reads are stable, writes ignored. */
static void c_config_writes(H *h)
{
    uint8_t before[MMIO_SIZE - CFG], after[MMIO_SIZE - CFG];
    static const unsigned widths[] = { 1, 2, 4, 8 };

    h_start(h);
    qtest_memread(h->qts, h->base + CFG, before, sizeof(before));
    for (unsigned w = 0; w < G_N_ELEMENTS(widths); w++) {
        for (uint32_t off = CFG; off + widths[w] <= MMIO_SIZE; off++) {
            uint64_t a = h->base + off;

            switch (widths[w]) {
            case 1:
                qtest_writeb(h->qts, a, 0xff);
                break;
            case 2:
                qtest_writew(h->qts, a, 0xffff);
                break;
            case 4:
                qtest_writel(h->qts, a, 0xffffffff);
                break;
            default:
                qtest_writeq(h->qts, a, ~0ULL);
                break;
            }
        }
    }
    qtest_memread(h->qts, h->base + CFG, after, sizeof(after));
    g_assert_cmpmem(before, sizeof(before), after, sizeof(after));
    g_assert_cmphex(rd(h, VIRTIO_MMIO_STATUS), ==, S_RUNNING);
    g_assert_cmpuint(rd(h, VIRTIO_MMIO_INTERRUPT_STATUS), ==, 0);
    roundtrip(h);
}

/* Registers at a wrong width, at every offset: ignored. */
static void c_register_widths(H *h)
{
    h_start(h);
    for (uint32_t off = 0; off < CFG; off++) {
        qtest_writeb(h->qts, h->base + off, 0);
        qtest_writew(h->qts, h->base + (off & ~1), 0);
        qtest_writeq(h->qts, h->base + (off & ~7), 0);
        g_assert_cmpuint(qtest_readb(h->qts, h->base + off), ==, 0);
    }
    g_assert_cmphex(rd(h, VIRTIO_MMIO_STATUS), ==, S_RUNNING);
    wr(h, VIRTIO_MMIO_QUEUE_SEL, outq(h)->idx);
    g_assert_cmpuint(rd(h, VIRTIO_MMIO_QUEUE_READY), ==, 1);
    roundtrip(h);
}

/* Writes to read-only and unknown registers, reads of write-only ones. */
static void c_register_bad(H *h)
{
    static const uint32_t ro[] = {
        VIRTIO_MMIO_MAGIC_VALUE, VIRTIO_MMIO_VERSION, VIRTIO_MMIO_DEVICE_ID,
        VIRTIO_MMIO_VENDOR_ID, VIRTIO_MMIO_DEVICE_FEATURES,
        VIRTIO_MMIO_QUEUE_NUM_MAX, VIRTIO_MMIO_INTERRUPT_STATUS,
        VIRTIO_MMIO_CONFIG_GENERATION, VIRTIO_MMIO_GUEST_PAGE_SIZE,
        VIRTIO_MMIO_QUEUE_ALIGN, VIRTIO_MMIO_QUEUE_PFN, 0xd0,
    };
    uint32_t id = 0;
    Q keep;

    h_start(h);
    id = rd(h, VIRTIO_MMIO_DEVICE_ID);
    for (unsigned i = 0; i < G_N_ELEMENTS(ro); i++) {
        wr(h, ro[i], 0xffffffff);
    }
    /* QueueSel past the slots, QueueNum over the maximum: ignored */
    wr(h, VIRTIO_MMIO_QUEUE_SEL, 0xffffffff);
    wr(h, VIRTIO_MMIO_QUEUE_NUM, 0xffff);
    /* a notify for queues that do not exist */
    wr(h, VIRTIO_MMIO_QUEUE_NOTIFY, 7);
    wr(h, VIRTIO_MMIO_QUEUE_NOTIFY, 0xffff);
    /* an ack of bits that are not set */
    wr(h, VIRTIO_MMIO_INTERRUPT_ACK, 0xffffffff);
    g_assert_cmphex(rd(h, VIRTIO_MMIO_MAGIC_VALUE), ==, 0x74726976);
    g_assert_cmpuint(rd(h, VIRTIO_MMIO_DEVICE_ID), ==, id);
    g_assert_cmpuint(rd(h, VIRTIO_MMIO_QUEUE_NOTIFY), ==, 0);
    g_assert_cmphex(rd(h, VIRTIO_MMIO_STATUS), ==, S_RUNNING);
    /* a ready queue keeps its ring: QueueReady again with new addresses */
    keep = *outq(h);
    g_assert_cmpuint(q_place(h, keep.idx, QN, UNASSIGNED, UNASSIGNED,
                             UNASSIGNED), ==, 1);
    *outq(h) = keep;
    roundtrip(h);
}

/* Status writes that break the rules change nothing. */
static void c_status_rules(H *h)
{
    uint64_t offered;

    /* DRIVER_OK without FEATURES_OK */
    wr(h, VIRTIO_MMIO_STATUS, 0);
    wr(h, VIRTIO_MMIO_STATUS, S_ACK_DRIVER);
    wr(h, VIRTIO_MMIO_STATUS, S_ACK_DRIVER | VIRTIO_CONFIG_S_DRIVER_OK);
    g_assert_cmphex(rd(h, VIRTIO_MMIO_STATUS), ==, S_ACK_DRIVER);
    /* clearing bits without a reset */
    wr(h, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE);
    g_assert_cmphex(rd(h, VIRTIO_MMIO_STATUS), ==, S_ACK_DRIVER);
    /* FEATURES_OK and DRIVER_OK at once, without queues: a driver bug */
    wr(h, VIRTIO_MMIO_STATUS, 0);
    /* features not offered: FEATURES_OK reads back clear */
    wr(h, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
    offered = rd(h, VIRTIO_MMIO_DEVICE_FEATURES);
    wr(h, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
    offered |= (uint64_t)rd(h, VIRTIO_MMIO_DEVICE_FEATURES) << 32;
    g_assert_cmphex(h_negotiate(h, ~offered | default_features(h)), ==,
                    S_ACK_DRIVER);
    /* features changed after FEATURES_OK: ignored */
    g_assert_cmphex(h_negotiate(h, default_features(h)), ==,
                    S_ACK_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK);
    wr(h, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
    wr(h, VIRTIO_MMIO_DRIVER_FEATURES, 0);
    /* queues, then a kick before DRIVER_OK: nothing is processed */
    for (unsigned i = 0; i < nqueues(h); i++) {
        q_setup(h, i);
    }
    if (h->blk) {
        blk_post(h, VIRTIO_BLK_T_FLUSH, 0, 0, 0, blk_status(h));
    } else {
        net_post_rx(h, 2048);
        net_send(h, 100, 3);
    }
    kick(h, outq(h));
    g_usleep(50 * 1000);
    g_assert_cmpuint(used_idx(h, outq(h)), ==, 0);
    /* DRIVER_OK after all: the waiting chain is processed */
    h_driver_ok(h);
    g_assert_cmphex(rd(h, VIRTIO_MMIO_STATUS), ==, S_RUNNING);
    g_assert_true(wait_used(h, outq(h), 1));
    /* FEATURES_OK cleared while running: ignored */
    wr(h, VIRTIO_MMIO_STATUS, S_ACK_DRIVER | VIRTIO_CONFIG_S_DRIVER_OK);
    g_assert_cmphex(rd(h, VIRTIO_MMIO_STATUS), ==, S_RUNNING);
    roundtrip(h);
}

/* QueueNotify storms, for real and absent queues: no spinning after. */
static void c_notify_storm(H *h)
{
    unsigned kicks[4] = { 0 };

    h_start(h);
    for (int i = 0; i < 3000; i++) {
        unsigned q = i % 4 == 3 ? 3 : i % 3;

        wr(h, VIRTIO_MMIO_QUEUE_NOTIFY, q == 3 ? 0xffff : q);
        kicks[q]++;
    }
    assert_quiet(h);
    for (unsigned q = 0; q < nqueues(h); q++) {
        g_assert_cmpuint(stat_of(h, q, "kicks"), ==, kicks[q]);
    }
    roundtrip(h);
}

/* Ten thousand resets (bounded in time), some with a queue half set up. */
static void c_reset_storm(H *h)
{
    gint64 end = g_get_monotonic_time() + 8 * G_USEC_PER_SEC;
    int i;

    h_start(h);
    for (i = 0; i < 10000 && g_get_monotonic_time() < end; i++) {
        wr(h, VIRTIO_MMIO_STATUS, 0);
        wr(h, VIRTIO_MMIO_STATUS, S_ACK_DRIVER);
        if (i % 16 == 0) {
            wr(h, VIRTIO_MMIO_QUEUE_NUM, QN);
            wr(h, VIRTIO_MMIO_QUEUE_READY, 1);
        }
    }
    g_test_message("%d resets", i);
    g_assert_cmpint(i, >=, 2000);
    g_assert_cmphex(rd(h, VIRTIO_MMIO_STATUS), ==, S_ACK_DRIVER);
    assert_quiet(h);
}

/* Post a batch of @n chains on the out queue without kicking. */
static void batch(H *h, unsigned n, uint64_t *rx)
{
    for (unsigned i = 0; i < n; i++) {
        if (h->blk) {
            uint64_t d = wbuf(h, 512);

            blk_post(h, VIRTIO_BLK_T_IN, i, d, 512, blk_status(h));
        } else {
            rx[i] = net_post_rx(h, 2048);
            net_send(h, 60 + i, 100 + i);
        }
    }
}

/* Reset right after the kick of a batch: nothing is written after it. */
static void c_reset_mid_batch(H *h)
{
    uint64_t rx[5];

    h_start(h);
    batch(h, 5, rx);
    kick(h, outq(h));
    wr(h, VIRTIO_MMIO_STATUS, 0);
    g_assert_cmpuint(rd(h, VIRTIO_MMIO_STATUS), ==, 0);
    /* the rings are the driver's again: freeze them */
    arena_reset(h);
    for (unsigned i = 0; i < nqueues(h); i++) {
        h->q[i].num = 0;
    }
    assert_quiet(h);
}

/* QMP stop right after the kick of a batch, then cont: all of it done. */
static void c_stop_mid_batch(H *h)
{
    uint64_t rx[5];
    Q *q;
    uint16_t u;

    h_start(h);
    q = outq(h);
    batch(h, 5, rx);
    qtest_qmp_assert_success(h->qts, "{'execute': 'stop'}");
    kick(h, q);
    u = used_idx(h, q);
    g_usleep(50 * 1000);
    g_assert_cmpuint(used_idx(h, q), ==, u);
    qtest_qmp_assert_success(h->qts, "{'execute': 'cont'}");
    g_assert_true(wait_used(h, q, 5));
    if (!h->blk) {
        g_assert_true(wait_used(h, &h->q[0], 5));
        for (unsigned i = 0; i < 5; i++) {
            net_check_rx(h, rx[i], 60 + i, 100 + i, 1);
        }
    }
    g_assert_cmphex(rd(h, VIRTIO_MMIO_STATUS), ==, S_RUNNING);
}

/* Stopped with a batch kicked, reset, then cont: the batch is gone. */
static void c_stop_reset_cont(H *h)
{
    uint64_t rx[5];

    h_start(h);
    batch(h, 5, rx);
    qtest_qmp_assert_success(h->qts, "{'execute': 'stop'}");
    kick(h, outq(h));
    wr(h, VIRTIO_MMIO_STATUS, 0);
    arena_reset(h);
    for (unsigned i = 0; i < nqueues(h); i++) {
        h->q[i].num = 0;
    }
    qtest_qmp_assert_success(h->qts, "{'execute': 'cont'}");
    g_assert_cmpuint(rd(h, VIRTIO_MMIO_STATUS), ==, 0);
}

/* ---- mvnet ---- */

/* Receive space too small without MRG_RXBUF: a counted error. */
static void c_net_small_rx(H *h)
{
    uint64_t errs = stat_of(h, 0, "errors");

    h_start(h);
    net_post_rx(h, 100);
    net_send(h, 500, 1);
    kick(h, &h->q[1]);
    g_assert_true(wait_used(h, &h->q[1], 1));
    g_assert_cmpuint(used_idx(h, &h->q[0]), ==, 0);
    g_assert_cmpuint(stat_of(h, 0, "errors"), ==, errs + 1);
    g_assert_cmphex(rd(h, VIRTIO_MMIO_STATUS), ==, S_RUNNING);
    /* the small buffer is still there: a small frame takes it */
    net_send(h, 60, 2);
    kick(h, &h->q[1]);
    g_assert_true(wait_used(h, &h->q[0], 1));
}

/* Too small with MRG_RXBUF: the frame waits without spinning. */
static void c_net_small_rx_mrg(H *h)
{
    uint64_t rx[8];
    g_autofree uint8_t *got = g_malloc(8 * 64);
    uint8_t want[400];

    h_start_f(h, NET_FEATURES | F(VIRTIO_NET_F_MRG_RXBUF));
    rx[0] = net_post_rx(h, 64);
    net_send(h, 400, 9);
    kick(h, &h->q[1]);
    g_usleep(50 * 1000);
    g_assert_cmpuint(used_idx(h, &h->q[1]), ==, 0);
    assert_quiet(h);
    for (int i = 1; i < 7; i++) {
        rx[i] = net_post_rx(h, 64);
    }
    kick(h, &h->q[0]);
    g_assert_true(wait_used(h, &h->q[1], 1));
    g_assert_true(wait_used(h, &h->q[0], 7));
    for (int i = 0; i < 7; i++) {
        qtest_memread(h->qts, rx[i], got + 64 * i, 64);
    }
    g_assert_cmpuint(lduw_le_p(got + 10), ==, 7);
    pattern(want, sizeof(want), 9);
    g_assert_cmpmem(got + NET_HDR, 400, want, 400);
}

/* The link goes down and up during traffic: every frame completes. */
static void c_net_link_toggle(H *h)
{
    unsigned delivered, dropped;

    h_start(h);
    for (int i = 0; i < 12; i++) {
        net_post_rx(h, 2048);
        net_send(h, 80, i);
        kick(h, &h->q[1]);
        qtest_qmp_assert_success(h->qts, "{'execute': 'qom-set', "
                                 "'arguments': {'path': %s, 'property': "
                                 "'link', 'value': %i}}", h->mdev, i & 1);
    }
    qtest_qmp_assert_success(h->qts, "{'execute': 'qom-set', 'arguments': "
                             "{'path': %s, 'property': 'link', "
                             "'value': true}}", h->mdev);
    g_assert_true(wait_used(h, &h->q[1], 12));
    delivered = used_idx(h, &h->q[0]);
    dropped = stat_of(h, 1, "drops");
    g_assert_cmpuint(delivered + dropped, ==, 12);
    g_assert_cmphex(rd(h, VIRTIO_MMIO_INTERRUPT_STATUS) &
                    VIRTIO_MMIO_INT_CONFIG, ==, VIRTIO_MMIO_INT_CONFIG);
    g_assert_cmphex(rd(h, VIRTIO_MMIO_STATUS), ==, S_RUNNING);
    wr(h, VIRTIO_MMIO_INTERRUPT_ACK, 3);
}

/* With MRG_RXBUF, receive buffers smaller than the header: broken. */
static void c_net_mrg_tiny_rx(H *h)
{
    h_start_f(h, NET_FEATURES | F(VIRTIO_NET_F_MRG_RXBUF));
    for (int i = 0; i < QN; i++) {
        net_post_rx(h, 8);
    }
    net_send(h, 60, 4);
    kick(h, &h->q[1]);
    /* The log says why (before: a misleading "memory access error"). */
    g_assert_true(wait_status(h, VIRTIO_CONFIG_S_NEEDS_RESET));
    assert_logged(h, "receive buffer of 8 bytes is smaller than the 12-byte "
                  "header");
}

/* EVENT_IDX with a used_event from nowhere: traffic goes on, no spin. */
static void c_event_idx_bogus(H *h)
{
    h_start_f(h, default_features(h) | F(VIRTIO_RING_F_EVENT_IDX));
    for (unsigned i = 0; i < nqueues(h); i++) {
        gw16(h, h->q[i].avail + 4 + 2 * QN, 0x8123);
    }
    for (int i = 0; i < 3; i++) {
        roundtrip(h);
    }
    assert_quiet(h);
}

/* The receive buffer is the transmit buffer (and shifted by 7 bytes). */
static void c_net_overlap(H *h)
{
    Q *rx = &h->q[0], *tx = &h->q[1];
    uint8_t want[NET_HDR + 300];
    g_autofree uint8_t *got = g_malloc(NET_HDR + 300);

    h_start(h);
    for (int k = 0; k < 2; k++) {
        uint64_t b = net_frame(h, 300, 20 + k);
        uint64_t r = b + (k ? 7 : 0);

        allow(h, r, NET_HDR + 300);
        q_desc(h, rx, k, r, NET_HDR + 300, VRING_DESC_F_WRITE, 0);
        q_push(h, rx, k);
        q_desc(h, tx, k, b, NET_HDR + 300, 0, 0);
        q_push(h, tx, k);
        kick(h, tx);
        g_assert_true(wait_used(h, tx, k + 1));
        g_assert_true(wait_used(h, rx, k + 1));
        /* defined contents: the frame, moved, with num_buffers */
        memset(want, 0, NET_HDR);
        stw_le_p(want + 10, 1);
        pattern(want + NET_HDR, 300, 20 + k);
        qtest_memread(h->qts, r, got, NET_HDR + 300);
        g_assert_cmpmem(got, NET_HDR + 300, want, NET_HDR + 300);
        h->q[0].nd = h->q[1].nd = k + 1;
    }
    g_assert_cmphex(rd(h, VIRTIO_MMIO_STATUS), ==, S_RUNNING);
}

/* ---- mvblk ---- */

/* Read data over the request's own status byte: the status comes last. */
static void c_blk_data_over_status(H *h)
{
    Q *q = &h->q[0];
    uint64_t d;
    uint32_t id, len;

    h_start(h);
    d = wbuf(h, 512);
    q_desc(h, q, 0, blk_hdr(h, VIRTIO_BLK_T_IN, 0), BLK_HDR,
           VRING_DESC_F_NEXT, 1);
    q_desc(h, q, 1, d, 512, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 2);
    q_desc(h, q, 2, d + 511, 1, VRING_DESC_F_WRITE, 0);
    q_push(h, q, 0);
    kick(h, q);
    g_assert_true(wait_used(h, q, 1));
    used_elem(h, q, 0, &id, &len);
    g_assert_cmpuint(len, ==, 513);
    g_assert_cmpuint(qtest_readb(h->qts, d + 511), ==, VIRTIO_BLK_S_OK);
    g_assert_cmphex(rd(h, VIRTIO_MMIO_STATUS), ==, S_RUNNING);
}

/* Read data over the used ring: the used entry is written after it. */
static void c_blk_data_over_used(H *h)
{
    uint64_t a = ring_area(h), st;
    uint32_t id, len;
    Q *q;

    allow(h, a + 0x800, 512);
    g_assert_cmpuint(place_out(h, QN, a, a + 0x400, a + 0x800), ==, 1);
    q = &h->q[0];
    st = blk_status(h);
    q_desc(h, q, 0, blk_hdr(h, VIRTIO_BLK_T_IN, 0), BLK_HDR,
           VRING_DESC_F_NEXT, 1);
    q_desc(h, q, 1, a + 0x800, 512,
           VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 2);
    q_desc(h, q, 2, st, 1, VRING_DESC_F_WRITE, 0);
    q_push(h, q, 0);
    kick(h, q);
    g_assert_true(wait_used(h, q, 1));
    used_elem(h, q, 0, &id, &len);
    g_assert_cmpuint(id, ==, 0);
    g_assert_cmpuint(len, ==, 513);
    g_assert_cmpuint(qtest_readb(h->qts, st), ==, VIRTIO_BLK_S_OK);
    g_assert_cmphex(rd(h, VIRTIO_MMIO_STATUS), ==, S_RUNNING);
}

/* ---- memory map changes during traffic ---- */

static void pci_cfg_writeb(H *h, uint8_t reg, uint8_t val)
{
    qtest_outl(h->qts, 0xcf8, 0x80000000u | (reg & ~3u));
    qtest_outb(h->qts, 0xcfc + (reg & 3), val);
}

static void pci_cfg_writel(H *h, uint8_t reg, uint32_t val)
{
    qtest_outl(h->qts, 0xcf8, 0x80000000u | reg);
    qtest_outl(h->qts, 0xcfc, val);
}

static uint32_t pci_cfg_readl(H *h, uint8_t reg)
{
    qtest_outl(h->qts, 0xcf8, 0x80000000u | reg);
    return qtest_inl(h->qts, 0xcfc);
}

/*
 * Frames and requests in flight while the host bridge remaps memory: the
 * PAM registers (pc, q35) and the MMCONFIG window (q35) are toggled by
 * config writes, each a real memory map change (the ring caches rebuild).
 */
static void c_map_change(H *h)
{
    bool q35 = !strcmp(machine, "q35");
    uint8_t pam = q35 ? 0x90 : 0x59;
    uint32_t pciexbar = q35 ? pci_cfg_readl(h, 0x60) : 0;
    uint64_t rx[8];
    Q *q;

    h_start(h);
    q = outq(h);
    for (int round = 0; round < 4; round++) {
        uint16_t u = used_idx(h, q);
        int n = h->blk ? 4 : 8;

        if (h->blk) {
            for (int i = 0; i < n; i++) {
                blk_post(h, VIRTIO_BLK_T_IN, i, wbuf(h, 512), 512,
                         blk_status(h));
            }
        } else {
            for (int i = 0; i < 8; i++) {
                net_send(h, 64 + i, 40 * round + i);
            }
        }
        kick(h, q);
        for (int t = 0; t < 20; t++) {
            for (int r = 1; r < 7; r++) {
                pci_cfg_writeb(h, pam + r, t & 1 ? 0x33 : 0x00);
            }
            if (q35) {
                pci_cfg_writeb(h, 0x60, (pciexbar & 0xfe) | (t & 1));
            }
            if (!h->blk && t < 8) {
                rx[t] = net_post_rx(h, 2048);
                kick(h, &h->q[0]);
            }
        }
        if (q35) {
            pci_cfg_writeb(h, 0x60, pciexbar & 0xff);
        }
        g_assert_true(wait_used(h, q, u + n));
        if (!h->blk) {
            for (int i = 0; i < 8; i++) {
                net_check_rx(h, rx[i], 64 + i, 40 * round + i, 1);
            }
        }
        for (int r = 1; r < 7; r++) {
            pci_cfg_writeb(h, pam + r, 0x00);
        }
    }
    g_assert_cmphex(rd(h, VIRTIO_MMIO_STATUS), ==, S_RUNNING);
}

/* q35: the used ring over MMCONFIG (the host bridge's config space). */
static void c_used_mmcfg(H *h)
{
    uint64_t mmcfg = 0xb0000000ULL, a = ring_area(h);
    uint32_t before[4], after[4];
    Q *q;

    /* MMCONFIG at 0xb0000000, 256 MiB, enabled (what firmware does) */
    pci_cfg_writel(h, 0x64, 0);
    pci_cfg_writel(h, 0x60, mmcfg | 1);
    for (int i = 0; i < 4; i++) {
        before[i] = qtest_readl(h->qts, mmcfg + 4 * i);
    }
    g_assert_cmphex(before[0], ==, pci_cfg_readl(h, 0));
    g_assert_cmpuint(place_out(h, QN, a, a + 0x400, mmcfg), ==, 1);
    q = outq(h);
    /*
     * Head 6: its used entry would set the host bridge's COMMAND register
     * (config offset 4) to MEMORY | MASTER.
     */
    q->nd = 6;
    if (h->blk) {
        blk_post(h, VIRTIO_BLK_T_FLUSH, 0, 0, 0, blk_status(h));
    } else {
        net_post_rx(h, 2048);
        net_send(h, 100, 1);
    }
    kick(h, q);
    g_assert_true(wait_status(h, VIRTIO_CONFIG_S_NEEDS_RESET));
    for (int i = 0; i < 4; i++) {
        after[i] = qtest_readl(h->qts, mmcfg + 4 * i);
    }
    g_assert_cmpmem(before, sizeof(before), after, sizeof(after));
    q->num = 0;
}

/* ---- the runner ---- */

typedef struct Case {
    const char *name;
    void (*fn)(H *h);
    Outcome net, blk;
    const char *log;            /* expected guest error, or NULL */
    const char *extra;          /* more command line */
    const char *only;           /* only on this machine */
    bool pc_only;               /* needs a PC host bridge (pc, q35) */
} Case;

#define MEM_ERR "address not in guest memory"

static const Case cases[] = {
    { "loop", c_loop, BROKEN, BROKEN, "descriptor chain loops" },
    { "self-loop", c_self_loop, BROKEN, BROKEN, "descriptor chain loops" },
    { "chain-longer-than-queue", c_chain_too_long, BROKEN, BROKEN,
      "descriptor chain loops" },
    { "next-out-of-range", c_next_range, BROKEN, BROKEN,
      "next index out of range" },
    { "head-out-of-range", c_head_range, BROKEN, BROKEN,
      "head index out of range" },
    { "avail-idx-jump", c_avail_jump, BROKEN, BROKEN,
      "avail index moved by more than the ring size" },
    { "avail-idx-backwards", c_avail_back, BROKEN, BROKEN,
      "avail index moved by more than the ring size" },
    { "zero-length", c_zero_len, BROKEN, BROKEN, "zero-length buffer" },
    { "zero-length-mid-chain", c_zero_len_mid, BROKEN, BROKEN,
      "zero-length buffer" },
    { "indirect-nested", c_ind_nested, BROKEN, BROKEN,
      "nested indirect descriptor" },
    { "indirect-with-next", c_ind_next, BROKEN, BROKEN,
      "indirect descriptor not negotiated or chained" },
    { "indirect-not-negotiated", c_ind_not_negotiated, BROKEN, BROKEN,
      "indirect descriptor not negotiated or chained" },
    { "indirect-len-not-16n", c_ind_len_odd, BROKEN, BROKEN,
      "indirect table length invalid" },
    { "indirect-len-zero", c_ind_len_zero, BROKEN, BROKEN,
      "indirect table length invalid" },
    { "indirect-longer-than-queue", c_ind_too_long, BROKEN, BROKEN,
      "indirect table length invalid" },
    { "indirect-outside-memory", c_ind_outside, BROKEN, BROKEN, MEM_ERR },
    { "indirect-wraps", c_ind_wrap, BROKEN, BROKEN, MEM_ERR },
    { "length-sum-overflow", c_len_overflow, BROKEN, BROKEN,
      "chain length overflow" },
    { "readable-after-writable", c_read_after_write, BROKEN, BROKEN,
      "readable buffer after a writable one" },
    { "write-only-header", c_write_only_header, BROKEN, IOERR,
      NULL },
    { "buffer-wraps", c_buf_wrap, BROKEN, BROKEN, MEM_ERR },
    { "buffer-outside-ram", c_buf_outside, BROKEN, IOERR, NULL },
    { "buffer-own-mmio", c_buf_own_mmio, BROKEN, IOERR, NULL },
    { "writable-outside-ram", c_wbuf_outside, BROKEN, BROKEN, NULL },
    { "ring-desc-misaligned", c_desc_misaligned, REFUSED, REFUSED,
      "ring address misaligned or wrapping" },
    { "ring-used-misaligned", c_used_misaligned, REFUSED, REFUSED,
      "ring address misaligned or wrapping" },
    { "ring-wraps", c_ring_wrap, REFUSED, REFUSED,
      "ring address misaligned or wrapping" },
    { "ring-used-wraps", c_used_wrap, REFUSED, REFUSED,
      "ring address misaligned or wrapping" },
    { "ring-size-not-pow2", c_size_not_pow2, REFUSED, REFUSED,
      "ring size invalid" },
    { "ring-avail-outside-ram", c_avail_outside, BROKEN, BROKEN, MEM_ERR },
    { "ring-used-outside-ram", c_used_outside, BROKEN, BROKEN, NULL },
    { "ring-desc-own-mmio", c_desc_own_mmio, BROKEN, BROKEN, MEM_ERR },
    { "ring-used-own-mmio", c_used_own_mmio, BROKEN, BROKEN, NULL },
    { "ring-used-other-mmio", c_used_other_mmio, BROKEN, BROKEN, NULL,
      "-device virtio-mdev-net,id=o1" },
    { "ring-used-mmconfig", c_used_mmcfg, BROKEN, BROKEN, NULL, NULL,
      "q35" },
    { "packed-endless-chain", c_packed_endless, BROKEN, BROKEN,
      "descriptor chain loops" },
    { "packed-zero-length", c_packed_zero_len, BROKEN, BROKEN,
      "zero-length buffer" },
    { "packed-indirect-nested", c_packed_ind_nested, BROKEN, BROKEN,
      "nested indirect descriptor" },
    { "event-idx-bogus", c_event_idx_bogus, CHECKED, CHECKED },
    { "rings-overlap", c_rings_overlap, CHECKED, CHECKED },
    { "used-over-desc", c_used_over_desc, CHECKED, CHECKED },
    { "config-every-width", c_config_writes, CHECKED, CHECKED },
    { "register-widths", c_register_widths, CHECKED, CHECKED },
    { "register-bad", c_register_bad, CHECKED, CHECKED },
    { "status-rules", c_status_rules, CHECKED, CHECKED },
    { "notify-storm", c_notify_storm, CHECKED, CHECKED },
    { "reset-storm", c_reset_storm, CHECKED, CHECKED },
    { "reset-mid-batch", c_reset_mid_batch, CHECKED, CHECKED },
    { "stop-mid-batch", c_stop_mid_batch, CHECKED, CHECKED },
    { "stop-reset-cont", c_stop_reset_cont, CHECKED, CHECKED },
    { "map-change", c_map_change, CHECKED, CHECKED, NULL, NULL, NULL,
      true },
    { "small-rx", c_net_small_rx, CHECKED, NA },
    { "small-rx-mrg", c_net_small_rx_mrg, CHECKED, NA },
    { "link-toggle", c_net_link_toggle, CHECKED, NA },
    { "mrg-rx-smaller-than-header", c_net_mrg_tiny_rx, BROKEN, NA },
    { "tx-rx-overlap", c_net_overlap, CHECKED, NA },
    { "data-over-status", c_blk_data_over_status, NA, CHECKED },
    { "data-over-used-ring", c_blk_data_over_used, NA, CHECKED },
};

typedef struct Run {
    const Case *c;
    const char *machine;
    bool blk;
} Run;

static void run_case(gconstpointer data)
{
    const Run *run = data;
    const Case *c = run->c;
    Outcome o = run->blk ? c->blk : c->net;
    uint64_t errs = 0;
    H h;

    machine = run->machine;
    h_open(&h, run->blk, c->extra);
    if (o == BROKEN) {
        errs = run->blk ? stat_of(&h, 0, "errors")
                        : stat_of(&h, 0, "errors") + stat_of(&h, 1, "errors");
    }
    log_skip(&h);
    c->fn(&h);
    switch (o) {
    case BROKEN:
        g_assert_true(wait_status(&h, VIRTIO_CONFIG_S_NEEDS_RESET));
        g_assert_cmphex(rd(&h, VIRTIO_MMIO_INTERRUPT_STATUS) &
                        VIRTIO_MMIO_INT_CONFIG, ==, VIRTIO_MMIO_INT_CONFIG);
        g_assert_true(qtest_get_irq(h.qts, 0));
        if (outq(&h)->num) {
            g_assert_cmpuint(used_idx(&h, outq(&h)), ==, 0);
        }
        g_assert_cmpuint(run->blk ? stat_of(&h, 0, "errors")
                         : stat_of(&h, 0, "errors") +
                           stat_of(&h, 1, "errors"), ==, errs + 1);
        /* further kicks are ignored */
        kick(&h, outq(&h));
        break;
    case REFUSED:
        wr(&h, VIRTIO_MMIO_QUEUE_SEL, run->blk ? 0 : 1);
        g_assert_cmpuint(rd(&h, VIRTIO_MMIO_QUEUE_READY), ==, 0);
        g_assert_cmphex(rd(&h, VIRTIO_MMIO_STATUS), ==, S_RUNNING);
        break;
    case IOERR: {
        Q *q = outq(&h);
        uint32_t id, len;

        g_assert_true(wait_used(&h, q, 1));
        used_elem(&h, q, 0, &id, &len);
        g_assert_cmpuint(id, ==, 0);
        g_assert_cmpuint(len, ==, 1);
        g_assert_cmpuint(qtest_readb(h.qts, h.st), ==, VIRTIO_BLK_S_IOERR);
        g_assert_cmphex(rd(&h, VIRTIO_MMIO_STATUS), ==, S_RUNNING);
        break;
    }
    default:
        break;
    }
    if (c->log) {
        assert_logged(&h, c->log);
    }
    assert_alive(&h);
    assert_quiet(&h);
    check_canaries(&h);
    recover(&h);
    check_canaries(&h);
    assert_alive(&h);
    h_close(&h);
}

static void add_tests(const char *m)
{
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        const Case *c = &cases[i];

        if ((c->only && strcmp(c->only, m)) ||
            (c->pc_only && strcmp(m, "pc") && strcmp(m, "q35"))) {
            continue;
        }
        for (int blk = 0; blk < 2; blk++) {
            Run *run;
            g_autofree char *path = NULL;

            if ((blk ? c->blk : c->net) == NA) {
                continue;
            }
            run = g_new(Run, 1);        /* glib frees it after the test */
            *run = (Run) { c, m, blk };
            path = g_strdup_printf("/virtio-mdev-hostile/%s/%s/%s", m,
                                   blk ? "blk" : "net", c->name);
            qtest_add_data_func_full(path, run, run_case, g_free);
        }
    }
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    if (is_arm()) {
        add_tests("virt");
    } else {
        add_tests("pc");
        add_tests("q35");
        add_tests("microvm");
    }
    return g_test_run();
}
