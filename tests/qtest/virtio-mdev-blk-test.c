/*
 * qtest of mvblk, the virtio-blk backend behind the virtio-mdev transport
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Requests are built in guest memory and handed to the device through its
 * real MMIO registers by a small split-ring driver (and a smaller packed
 * one) here; nothing is mocked.  The disk is a RAM disk, or a raw image
 * file that the test also reads directly.  Runs on x86_64 (pc, q35,
 * microvm: the ISA front-end) and aarch64 (virt: the platform-bus
 * front-end).
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
#include "standard-headers/linux/virtio_ids.h"
#include "standard-headers/linux/virtio_mmio.h"
#include "standard-headers/linux/virtio_ring.h"

#define MAGIC               0x74726976
#define QEMU_VENDOR         0x554d4551
#define X86_BASE            0xfed60000ULL
#define VIRT_PBUS_BASE      0x0c000000ULL
#define S_ACK_DRIVER        (VIRTIO_CONFIG_S_ACKNOWLEDGE | \
                             VIRTIO_CONFIG_S_DRIVER)
#define S_RUNNING           (S_ACK_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK | \
                             VIRTIO_CONFIG_S_DRIVER_OK)

/*
 * The split ring is as large as QueueNumMax, so that one indirect table
 * can hold a chain of 256 buffers (the engine bounds a chain by the queue
 * size).
 */
#define QNUM                256
#define PK_NUM              16      /* packed ring: small, to wrap often */
#define CHAIN_MAX           QNUM
#define SECTOR              512
#define HDR                 16      /* struct virtio_blk_outhdr */
#define SEG_MAX             254
#define SIZE_MAX_BYTES      (1 * MiB)
#define DWZ_MAX             65536   /* discard/write-zeroes sectors */
#define CFG                 0x100   /* config space in the register window */
#define ST_UNSET            0xee    /* status byte before the device writes */

#define F(bit)              (1ULL << (bit))
#define BLK_FEATURES        (F(VIRTIO_F_VERSION_1) | F(VIRTIO_F_ANY_LAYOUT) | \
                             F(VIRTIO_BLK_F_SIZE_MAX) | \
                             F(VIRTIO_BLK_F_SEG_MAX) | \
                             F(VIRTIO_BLK_F_BLK_SIZE) | \
                             F(VIRTIO_BLK_F_FLUSH) | \
                             F(VIRTIO_BLK_F_TOPOLOGY) | \
                             F(VIRTIO_BLK_F_DISCARD) | \
                             F(VIRTIO_BLK_F_WRITE_ZEROES) | \
                             F(VIRTIO_RING_F_INDIRECT_DESC) | \
                             F(VIRTIO_RING_F_EVENT_IDX) | \
                             F(VIRTIO_F_RING_PACKED))
/* What the driver here takes: everything but EVENT_IDX and packed rings. */
#define DRV_FEATURES        (BLK_FEATURES & ~(F(VIRTIO_RING_F_EVENT_IDX) | \
                                              F(VIRTIO_F_RING_PACKED)))

/* Request layouts (bits): how header, data and status map to buffers. */
#define LAY_SPLIT           0       /* header, data, status: one buffer each */
#define LAY_INDIRECT        1       /* all of them in one indirect table */
/* OUT: header and first data piece share a buffer; IN: last and status */
#define LAY_MERGE           2

typedef struct TQueue {
    uint16_t num;
    uint64_t desc, avail, used;
    uint16_t avail_idx;     /* next avail entry of the driver */
    uint16_t used_seen;     /* used entries consumed */
    uint16_t next_desc;     /* next descriptor slot, round robin */
    uint16_t free_desc;     /* slots not held by a chain in flight */
    uint16_t ndesc[QNUM];   /* slots held, by head */
} TQueue;

typedef struct Dev {
    QTestState *qts;
    uint64_t base;
    const char *path;       /* QOM path of the transport */
    bool legacy;
    uint64_t mem;           /* next free guest memory */
    TQueue q;
} Dev;

/* A chain being built: buffers in order, readable ones first. */
typedef struct Chain {
    unsigned n;
    uint64_t addr[CHAIN_MAX];
    uint32_t len[CHAIN_MAX];
    bool write[CHAIN_MAX];
} Chain;

/* A request in guest memory: header, then data, then the status byte. */
typedef struct Req {
    uint64_t buf;
    uint32_t type;
    uint32_t len;           /* data bytes */
    uint16_t head;          /* id of its used entry */
    uint32_t used_len;
} Req;

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

static uint64_t dev_features(Dev *d)
{
    uint64_t f;

    wr(d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
    f = rd(d, VIRTIO_MMIO_DEVICE_FEATURES);
    wr(d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
    return f | (uint64_t)rd(d, VIRTIO_MMIO_DEVICE_FEATURES) << 32;
}

/* Reset and negotiate @features; returns the status byte read back. */
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

/* Queue 0 with @num entries on fresh memory (split or packed alike). */
static void queue_setup(Dev *d, TQueue *q, uint16_t num)
{
    memset(q, 0, sizeof(*q));
    q->num = num;
    q->free_desc = num;
    q->desc = dev_alloc(d, 4 * 4096);
    wr(d, VIRTIO_MMIO_QUEUE_SEL, 0);
    g_assert_cmpuint(rd(d, VIRTIO_MMIO_QUEUE_NUM_MAX), ==, QNUM);
    wr(d, VIRTIO_MMIO_QUEUE_NUM, num);
    if (d->legacy) {
        /* Legacy layout: avail after the table, used on a page boundary */
        q->avail = q->desc + 16 * num;
        q->used = QEMU_ALIGN_UP(q->avail + 6 + 2 * num, 4096);
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

static void driver_ok(Dev *d)
{
    wr(d, VIRTIO_MMIO_STATUS, d->legacy ? S_ACK_DRIVER |
       VIRTIO_CONFIG_S_DRIVER_OK : S_RUNNING);
}

/* Full bring-up: features, the request queue, DRIVER_OK. */
static void dev_start(Dev *d, uint64_t features)
{
    uint32_t status = dev_negotiate(d, features);

    if (!d->legacy) {
        g_assert_cmphex(status & VIRTIO_CONFIG_S_FEATURES_OK, ==,
                        VIRTIO_CONFIG_S_FEATURES_OK);
    }
    queue_setup(d, &d->q, QNUM);
    driver_ok(d);
}

static void kick(Dev *d)
{
    wr(d, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
}

/* ---- split ring ---- */

static void desc_pack(uint8_t *b, uint64_t addr, uint32_t len, uint16_t flags,
                      uint16_t next)
{
    stq_le_p(b, addr);
    stl_le_p(b + 8, len);
    stw_le_p(b + 12, flags);
    stw_le_p(b + 14, next);
}

static void chain_add(Chain *c, uint64_t addr, uint32_t len, bool write)
{
    g_assert_cmpuint(c->n, <, CHAIN_MAX);
    c->addr[c->n] = addr;
    c->len[c->n] = len;
    c->write[c->n] = write;
    c->n++;
}

static uint16_t chain_flags(const Chain *c, unsigned i)
{
    return (c->write[i] ? VRING_DESC_F_WRITE : 0) |
           (i + 1 < c->n ? VRING_DESC_F_NEXT : 0);
}

/* An indirect table in guest memory holding @c; returns its address. */
static uint64_t chain_table(Dev *d, const Chain *c)
{
    g_autofree uint8_t *t = g_malloc0(16 * c->n);
    uint64_t a = dev_alloc(d, 16 * c->n);

    for (unsigned i = 0; i < c->n; i++) {
        desc_pack(t + 16 * i, c->addr[i], c->len[i], chain_flags(c, i),
                  i + 1 < c->n ? i + 1 : 0);
    }
    qtest_memwrite(d->qts, a, t, 16 * c->n);
    return a;
}

/*
 * Put @c in the descriptor table (or in one indirect table) and in the
 * next avail entry; the avail index is published by avail_publish().
 * Returns the head, the id of its used entry.
 */
static uint16_t chain_post(Dev *d, const Chain *c, bool indirect)
{
    TQueue *q = &d->q;
    uint16_t head = q->next_desc;
    uint16_t slots = indirect ? 1 : c->n;
    uint8_t b[16];

    /* The slots from next_desc on must all be free (the test's duty). */
    g_assert_cmpuint(slots, <=, q->free_desc);
    q->free_desc -= slots;
    q->ndesc[head] = slots;
    if (indirect) {
        desc_pack(b, chain_table(d, c), 16 * c->n, VRING_DESC_F_INDIRECT, 0);
        qtest_memwrite(d->qts, q->desc + 16 * head, b, 16);
        q->next_desc = (head + 1) % q->num;
    } else {
        for (unsigned i = 0; i < c->n; i++) {
            uint16_t slot = (head + i) % q->num;

            desc_pack(b, c->addr[i], c->len[i], chain_flags(c, i),
                      (slot + 1) % q->num);
            qtest_memwrite(d->qts, q->desc + 16 * slot, b, 16);
        }
        q->next_desc = (head + c->n) % q->num;
    }
    qtest_writew(d->qts, q->avail + 4 + 2 * (q->avail_idx % q->num), head);
    q->avail_idx++;
    return head;
}

static void avail_publish(Dev *d)
{
    qtest_writew(d->qts, d->q.avail + 2, d->q.avail_idx);
}

static uint16_t used_idx(Dev *d)
{
    return qtest_readw(d->qts, d->q.used + 2);
}

static void used_elem(Dev *d, uint16_t i, uint32_t *id, uint32_t *len)
{
    uint64_t e = d->q.used + 4 + 8 * (i % d->q.num);

    *id = qtest_readl(d->qts, e);
    *len = qtest_readl(d->qts, e + 4);
}

/* Consume the next used entry (already there): its slots are free again. */
static void used_take(Dev *d, uint32_t *id, uint32_t *len)
{
    TQueue *q = &d->q;

    used_elem(d, q->used_seen++, id, len);
    g_assert_cmpuint(*id, <, q->num);
    q->free_desc += q->ndesc[*id];
    q->ndesc[*id] = 0;
}

/* Waits (virtio-mdev-qtest.h) until the used index reaches @want. */
static bool wait_used(Dev *d, uint16_t want)
{
    return vmq_wait_readw(d->qts, d->q.used + 2, want);
}

/*
 * The used index stays at @idx for ~@ms milliseconds of host time (block
 * I/O completes from a thread pool, so a negative needs time to pass).
 */
static bool used_stays(Dev *d, uint16_t idx, unsigned ms)
{
    for (unsigned i = 0; i < ms; i++) {
        if (used_idx(d) != idx) {
            return false;
        }
        g_usleep(1000);
    }
    return used_idx(d) == idx;
}

/* Wait until the device sets @bit in its status; returns whether it did. */
static bool wait_status(Dev *d, uint32_t bit)
{
    return vmq_wait_readl_bits(d->qts, d->base + VIRTIO_MMIO_STATUS, bit);
}

/* ---- requests ---- */

/* Content of byte @i of a buffer filled with @seed: varies per byte. */
static void fill(uint8_t *buf, size_t len, uint32_t seed)
{
    for (size_t i = 0; i < len; i++) {
        buf[i] = seed * 37 + i * 7 + (i >> 9) * 13 + (i >> 8);
    }
}

static uint64_t req_data(const Req *r)
{
    return r->buf + HDR;
}

static uint64_t req_status_addr(const Req *r)
{
    return r->buf + HDR + r->len;
}

static uint8_t req_status(Dev *d, const Req *r)
{
    return qtest_readb(d->qts, req_status_addr(r));
}

static bool req_dev_writes(const Req *r)
{
    return r->type == VIRTIO_BLK_T_IN || r->type == VIRTIO_BLK_T_GET_ID;
}

/* A request of @type at @sector with @len data bytes (zeroed). */
static void req_init(Dev *d, Req *r, uint32_t type, uint64_t sector,
                     uint32_t len)
{
    uint8_t h[HDR];

    memset(r, 0, sizeof(*r));
    r->buf = dev_alloc(d, HDR + len + 1);
    r->type = type;
    r->len = len;
    stl_le_p(h, type);
    stl_le_p(h + 4, 0);
    stq_le_p(h + 8, sector);
    qtest_memwrite(d->qts, r->buf, h, HDR);
    qtest_writeb(d->qts, req_status_addr(r), ST_UNSET);
}

/*
 * The buffers of @r for layout @lay, the data cut in pieces of @chunk
 * bytes (0: one piece).
 */
static void req_chain(const Req *r, unsigned lay, uint32_t chunk, Chain *c)
{
    bool w = req_dev_writes(r);
    bool merge = lay & LAY_MERGE;
    uint64_t off = HDR, end = HDR + r->len;
    bool status_done = false;

    c->n = 0;
    if (!w && merge && r->len) {
        off += chunk ? MIN(chunk, r->len) : r->len;
    }
    chain_add(c, r->buf, off, false);
    while (off < end) {
        uint32_t piece = chunk ? MIN(chunk, end - off) : end - off;

        if (w && merge && off + piece == end) {
            chain_add(c, r->buf + off, piece + 1, true);
            status_done = true;
        } else {
            chain_add(c, r->buf + off, piece, w);
        }
        off += piece;
    }
    if (!status_done) {
        chain_add(c, req_status_addr(r), 1, true);
    }
}

static void req_post(Dev *d, Req *r, unsigned lay, uint32_t chunk)
{
    g_autofree Chain *c = g_new0(Chain, 1);

    req_chain(r, lay, chunk, c);
    r->head = chain_post(d, c, lay & LAY_INDIRECT);
}

/* The next used entry must be @r's: take it. */
static void req_wait(Dev *d, Req *r)
{
    uint32_t id;

    g_assert_true(wait_used(d, d->q.used_seen + 1));
    used_take(d, &id, &r->used_len);
    g_assert_cmpuint(id, ==, r->head);
}

/* Run @r alone: post, publish, kick, wait; returns its status byte. */
static uint8_t req_run(Dev *d, Req *r, unsigned lay, uint32_t chunk)
{
    req_post(d, r, lay, chunk);
    avail_publish(d);
    kick(d);
    req_wait(d, r);
    return req_status(d, r);
}

/* Write @len bytes of pattern @seed at @sector; returns the status. */
static uint8_t blk_write(Dev *d, uint64_t sector, uint32_t len, uint32_t seed,
                         unsigned lay, uint32_t chunk)
{
    g_autofree uint8_t *data = g_malloc(len);
    uint8_t st;
    Req r;

    fill(data, len, seed);
    req_init(d, &r, VIRTIO_BLK_T_OUT, sector, len);
    qtest_bufwrite(d->qts, req_data(&r), data, len);
    st = req_run(d, &r, lay, chunk);
    g_assert_cmpuint(r.used_len, ==, 1);        /* only the status byte */
    return st;
}

/* Read @len bytes at @sector into @out (may be NULL); returns the status. */
static uint8_t blk_read(Dev *d, uint64_t sector, uint32_t len, void *out,
                        unsigned lay, uint32_t chunk)
{
    uint8_t st;
    Req r;

    req_init(d, &r, VIRTIO_BLK_T_IN, sector, len);
    st = req_run(d, &r, lay, chunk);
    g_assert_cmpuint(r.used_len, ==, st == VIRTIO_BLK_S_OK ? len + 1 : 1);
    if (out) {
        qtest_bufread(d->qts, req_data(&r), out, len);
    }
    return st;
}

/* Read @len bytes at @sector: they must be pattern @seed (or all 0 if -1). */
static void check_read(Dev *d, uint64_t sector, uint32_t len, int64_t seed,
                       unsigned lay, uint32_t chunk)
{
    g_autofree uint8_t *want = g_malloc0(len);
    g_autofree uint8_t *got = g_malloc(len);

    if (seed >= 0) {
        fill(want, len, seed);
    }
    g_assert_cmpuint(blk_read(d, sector, len, got, lay, chunk), ==,
                     VIRTIO_BLK_S_OK);
    g_assert_cmpmem(got, len, want, len);
}

/* A request without data: FLUSH, or anything with a bare header. */
static uint8_t blk_simple(Dev *d, uint32_t type, uint64_t sector)
{
    uint8_t st;
    Req r;

    req_init(d, &r, type, sector, 0);
    st = req_run(d, &r, LAY_SPLIT, 0);
    g_assert_cmpuint(r.used_len, ==, 1);
    return st;
}

/* DISCARD or WRITE_ZEROES with @nseg copies of one segment. */
static uint8_t blk_dwz(Dev *d, uint32_t type, uint64_t sector, uint32_t num,
                       uint32_t flags, unsigned nseg)
{
    uint8_t seg[16 * 4];
    uint8_t st;
    Req r;

    g_assert_cmpuint(nseg, <=, 4);
    for (unsigned k = 0; k < nseg; k++) {
        stq_le_p(seg + 16 * k, sector);
        stl_le_p(seg + 16 * k + 8, num);
        stl_le_p(seg + 16 * k + 12, flags);
    }
    req_init(d, &r, type, 0, 16 * nseg);
    qtest_memwrite(d->qts, req_data(&r), seg, 16 * nseg);
    st = req_run(d, &r, LAY_SPLIT, 0);
    g_assert_cmpuint(r.used_len, ==, 1);
    return st;
}

/* GET_ID into a @len-byte buffer; the id is copied to @id. */
static uint8_t blk_get_id(Dev *d, char *id, uint32_t len)
{
    uint8_t st;
    Req r;

    req_init(d, &r, VIRTIO_BLK_T_GET_ID, 0, len);
    st = req_run(d, &r, LAY_SPLIT, 0);
    g_assert_cmpuint(r.used_len, ==, st == VIRTIO_BLK_S_OK ?
                     MIN(len, VIRTIO_BLK_ID_BYTES) + 1 : 1);
    qtest_memread(d->qts, req_data(&r), id, len);
    return st;
}

/* ---- backing files, statistics ---- */

/* A temporary raw image of @size bytes filled with pattern @seed. */
static char *image_new(size_t size, uint32_t seed)
{
    g_autofree uint8_t *buf = g_malloc(size);
    g_autoptr(GError) err = NULL;
    char *path = NULL;
    int fd = g_file_open_tmp("mvblk-test-XXXXXX.img", &path, &err);

    g_assert_cmpint(fd, >=, 0);
    close(fd);
    fill(buf, size, seed);
    g_assert_true(g_file_set_contents(path, (char *)buf, size, &err));
    return path;
}

/*
 * The image's @len bytes at @off must be those at @pat_off of a buffer
 * filled with pattern @seed (all zeros for -1).
 */
static void check_image(const char *path, uint64_t off, size_t len,
                        int64_t seed, uint64_t pat_off)
{
    g_autofree uint8_t *want = g_malloc0(pat_off + len);
    g_autofree uint8_t *got = g_malloc(len);
    int fd = open(path, O_RDONLY);

    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(pread(fd, got, len, off), ==, len);
    close(fd);
    if (seed >= 0) {
        fill(want, pat_off + len, seed);
    }
    g_assert_cmpmem(got, len, want + pat_off, len);
}

/* Queue 0's statistic @field, from query-mdev, of the instance behind @d. */
static uint64_t stat_of(Dev *d, const char *field)
{
    QDict *r = qtest_qmp(d->qts, "{'execute': 'query-mdev'}");
    QListEntry *pe, *ie;
    QDict *found = NULL;
    uint64_t v;

    QLIST_FOREACH_ENTRY(qdict_get_qlist(r, "return"), pe) {
        QDict *p = qobject_to(QDict, qlist_entry_obj(pe));

        QLIST_FOREACH_ENTRY(qdict_get_qlist(p, "instances"), ie) {
            QDict *inst = qobject_to(QDict, qlist_entry_obj(ie));
            const char *t = qdict_get_try_str(inst, "transport");

            if (t && !strcmp(t, d->path)) {
                QList *stats = qdict_get_qlist(inst, "stats");

                g_assert_cmpuint(qlist_size(stats), ==, 1);
                found = qobject_to(QDict, qlist_peek(stats));
            }
        }
    }
    g_assert_nonnull(found);
    g_assert_cmpint(qdict_get_int(found, "queue"), ==, 0);
    v = qdict_get_int(found, field);
    qobject_unref(r);
    return v;
}

/*
 * Run QEMU with @args; it must fail at start-up saying @expect.  One that
 * starts after all is stopped by timeout(1), and the check fails.
 */
static void expect_startup_error(const char *args, const char *expect)
{
    g_autofree char *cmd = g_strdup_printf(
        "timeout -k 5 30 %s -M %s -nodefaults -display none -accel qtest %s",
        getenv("QTEST_QEMU_BINARY"), machine, args);
    g_autofree char *out = NULL, *err = NULL;
    g_autoptr(GError) gerr = NULL;
    gchar **argv = NULL;
    int status;

    g_assert_true(g_shell_parse_argv(cmd, NULL, &argv, &gerr));
    g_assert_true(g_spawn_sync(NULL, argv, NULL, G_SPAWN_SEARCH_PATH, NULL,
                               NULL, &out, &err, &status, &gerr));
    g_strfreev(argv);
    if (g_test_verbose()) {
        g_test_message("%s -> %s", args, err);
    }
    g_assert_false(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    g_assert_nonnull(strstr(err, expect));
}

/* ---- identification, features, config space ---- */

static void test_ids(void)
{
    QTestState *qts = start("-device virtio-mdev-blk,id=b0 "
                            "-device virtio-mdev-blk,id=b1,legacy=on");
    Dev d, l;

    dev_init(&d, qts, "/machine/peripheral/b0");
    dev_init(&l, qts, "/machine/peripheral/b1");
    if (!is_arm()) {
        g_assert_cmphex(d.base, ==, X86_BASE);
    } else {
        g_assert_cmphex(d.base & ~0x1ffffffULL, ==, VIRT_PBUS_BASE);
    }
    g_assert_cmphex(rd(&d, VIRTIO_MMIO_MAGIC_VALUE), ==, MAGIC);
    g_assert_cmpuint(rd(&d, VIRTIO_MMIO_VERSION), ==, 2);
    g_assert_cmpuint(rd(&d, VIRTIO_MMIO_DEVICE_ID), ==, VIRTIO_ID_BLOCK);
    g_assert_cmphex(rd(&d, VIRTIO_MMIO_VENDOR_ID), ==, QEMU_VENDOR);
    g_assert_cmpuint(rd(&l, VIRTIO_MMIO_VERSION), ==, 1);
    g_assert_cmpuint(rd(&l, VIRTIO_MMIO_DEVICE_ID), ==, VIRTIO_ID_BLOCK);
    /* One request queue of up to 256 entries, no other queue. */
    wr(&d, VIRTIO_MMIO_QUEUE_SEL, 0);
    g_assert_cmpuint(rd(&d, VIRTIO_MMIO_QUEUE_NUM_MAX), ==, QNUM);
    wr(&d, VIRTIO_MMIO_QUEUE_SEL, 1);
    g_assert_cmpuint(rd(&d, VIRTIO_MMIO_QUEUE_NUM_MAX), ==, 0);
    g_assert_cmpuint(rd(&d, VIRTIO_MMIO_STATUS), ==, 0);
    qtest_quit(qts);
}

static void test_features(void)
{
    g_autofree char *img = image_new(1 * MiB, 1);
    g_autofree char *args = g_strdup_printf(
        "-device virtio-mdev-blk,id=b0 "
        "-drive if=none,id=d0,file=%s,format=raw,readonly=on "
        "-device virtio-mdev-blk,id=b1,drive=d0 "
        "-device virtio-mdev-blk,id=b2,discard=off,write-zeroes=off,"
        "packed=off,flush=off,indirect-desc=off "
        "-device virtio-mdev-blk,id=b3,legacy=on", img);
    QTestState *qts = start(args);
    Dev d, ro, sw, l;

    dev_init(&d, qts, "/machine/peripheral/b0");
    dev_init(&ro, qts, "/machine/peripheral/b1");
    dev_init(&sw, qts, "/machine/peripheral/b2");
    dev_init(&l, qts, "/machine/peripheral/b3");
    /* Exactly the documented set; RO only with a read-only drive. */
    g_assert_cmphex(dev_features(&d), ==, BLK_FEATURES);
    g_assert_cmphex(dev_features(&ro), ==,
                    BLK_FEATURES | F(VIRTIO_BLK_F_RO));
    g_assert_cmphex(dev_features(&sw), ==, BLK_FEATURES &
                    ~(F(VIRTIO_BLK_F_DISCARD) | F(VIRTIO_BLK_F_WRITE_ZEROES) |
                      F(VIRTIO_F_RING_PACKED) | F(VIRTIO_BLK_F_FLUSH) |
                      F(VIRTIO_RING_F_INDIRECT_DESC)));
    wr(&d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 2);
    g_assert_cmphex(rd(&d, VIRTIO_MMIO_DEVICE_FEATURES), ==, 0);

    /* Offered subsets are accepted, anything else refused. */
    g_assert_cmphex(dev_negotiate(&d, BLK_FEATURES) &
                    VIRTIO_CONFIG_S_FEATURES_OK, ==,
                    VIRTIO_CONFIG_S_FEATURES_OK);
    g_assert_cmphex(dev_negotiate(&d, F(VIRTIO_F_VERSION_1)) &
                    VIRTIO_CONFIG_S_FEATURES_OK, ==,
                    VIRTIO_CONFIG_S_FEATURES_OK);
    g_assert_cmphex(dev_negotiate(&d, DRV_FEATURES | F(VIRTIO_BLK_F_RO)) &
                    VIRTIO_CONFIG_S_FEATURES_OK, ==, 0);
    g_assert_cmphex(dev_negotiate(&d, DRV_FEATURES | F(VIRTIO_BLK_F_MQ)) &
                    VIRTIO_CONFIG_S_FEATURES_OK, ==, 0);
    g_assert_cmphex(dev_negotiate(&ro, DRV_FEATURES | F(VIRTIO_BLK_F_RO)) &
                    VIRTIO_CONFIG_S_FEATURES_OK, ==,
                    VIRTIO_CONFIG_S_FEATURES_OK);
    g_assert_cmphex(dev_negotiate(&sw, DRV_FEATURES) &
                    VIRTIO_CONFIG_S_FEATURES_OK, ==, 0);

    /* Legacy: the low 32 bits only. */
    wr(&l, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
    g_assert_cmphex(rd(&l, VIRTIO_MMIO_DEVICE_FEATURES), ==,
                    (uint32_t)BLK_FEATURES);
    wr(&l, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
    g_assert_cmphex(rd(&l, VIRTIO_MMIO_DEVICE_FEATURES), ==, 0);
    qtest_quit(qts);
    unlink(img);
}

#define CFG_OFF(f)  (CFG + offsetof(struct virtio_blk_config, f))

static void check_config(Dev *d, uint64_t capacity)
{
    QTestState *qts = d->qts;

    g_assert_cmpuint(qtest_readq(qts, d->base + CFG_OFF(capacity)), ==,
                     capacity);
    g_assert_cmpuint(qtest_readl(qts, d->base + CFG_OFF(capacity)), ==,
                     (uint32_t)capacity);
    g_assert_cmpuint(qtest_readl(qts, d->base + CFG_OFF(capacity) + 4), ==,
                     capacity >> 32);
    g_assert_cmpuint(qtest_readl(qts, d->base + CFG_OFF(size_max)), ==,
                     SIZE_MAX_BYTES);
    g_assert_cmpuint(qtest_readl(qts, d->base + CFG_OFF(seg_max)), ==,
                     SEG_MAX);
    g_assert_cmpuint(qtest_readl(qts, d->base + CFG_OFF(geometry)), ==, 0);
    g_assert_cmpuint(qtest_readl(qts, d->base + CFG_OFF(blk_size)), ==,
                     SECTOR);
    g_assert_cmpuint(qtest_readb(qts, d->base + CFG_OFF(physical_block_exp)),
                     ==, 0);
    g_assert_cmpuint(qtest_readb(qts, d->base + CFG_OFF(alignment_offset)),
                     ==, 0);
    g_assert_cmpuint(qtest_readw(qts, d->base + CFG_OFF(min_io_size)), ==, 1);
    g_assert_cmpuint(qtest_readl(qts, d->base + CFG_OFF(opt_io_size)), ==, 0);
    g_assert_cmpuint(qtest_readb(qts, d->base + CFG_OFF(wce)), ==, 0);
    g_assert_cmpuint(qtest_readw(qts, d->base + CFG_OFF(num_queues)), ==, 1);
    g_assert_cmpuint(qtest_readl(qts, d->base + CFG_OFF(max_discard_sectors)),
                     ==, DWZ_MAX);
    g_assert_cmpuint(qtest_readl(qts, d->base + CFG_OFF(max_discard_seg)),
                     ==, 1);
    g_assert_cmpuint(qtest_readl(qts, d->base +
                                 CFG_OFF(discard_sector_alignment)), ==, 1);
    g_assert_cmpuint(qtest_readl(qts, d->base +
                                 CFG_OFF(max_write_zeroes_sectors)), ==,
                     DWZ_MAX);
    g_assert_cmpuint(qtest_readl(qts, d->base + CFG_OFF(max_write_zeroes_seg)),
                     ==, 1);
    g_assert_cmpuint(qtest_readb(qts, d->base +
                                 CFG_OFF(write_zeroes_may_unmap)), ==, 1);
    /* The config space ends before max_secure_erase_sectors. */
    g_assert_cmpuint(qtest_readl(qts, d->base +
                                 CFG_OFF(max_secure_erase_sectors)), ==, 0);
}

static void test_config(void)
{
    /* An image of 6 MiB + 3 sectors: capacity 12291 */
    g_autofree char *img = image_new(6 * MiB + 3 * SECTOR, 2);
    g_autofree char *args = g_strdup_printf(
        "-device virtio-mdev-blk,id=b0,size=8M "
        "-drive if=none,id=d0,file=%s,format=raw "
        "-device virtio-mdev-blk,id=b1,drive=d0 "
        "-device virtio-mdev-blk,id=b2", img);
    QTestState *qts = start(args);
    Dev d, f, def;

    dev_init(&d, qts, "/machine/peripheral/b0");
    dev_init(&f, qts, "/machine/peripheral/b1");
    dev_init(&def, qts, "/machine/peripheral/b2");
    check_config(&d, 8 * MiB / SECTOR);
    check_config(&f, 6 * MiB / SECTOR + 3);
    check_config(&def, 128 * MiB / SECTOR);     /* the default RAM disk */

    /* Every field is read-only, before and after negotiation. */
    qtest_writel(qts, d.base + CFG_OFF(capacity), 0x1234);
    qtest_writel(qts, d.base + CFG_OFF(seg_max), 7);
    dev_negotiate(&d, DRV_FEATURES);
    qtest_writeb(qts, d.base + CFG_OFF(wce), 1);
    qtest_writel(qts, d.base + CFG_OFF(blk_size), 4096);
    check_config(&d, 8 * MiB / SECTOR);
    qtest_quit(qts);
    unlink(img);
}

/* ---- the datapath ---- */

static void intercept_irq(Dev *d)
{
    if (is_arm()) {
        qtest_irq_intercept_out_named(d->qts, d->path, "sysbus-irq");
    } else {
        qtest_irq_intercept_out(d->qts, d->path);
    }
}

/* OUT then IN in every layout, sizes and scatter patterns, on a RAM disk */
static void test_rw(void)
{
    static const struct {
        uint32_t len, chunk;
        unsigned wlay, rlay;
    } cases[] = {
        { SECTOR, 0, LAY_SPLIT, LAY_SPLIT },
        { 4096, 0, LAY_MERGE, LAY_SPLIT },
        { 4096, 0, LAY_SPLIT, LAY_MERGE },
        { 8192, 0, LAY_INDIRECT, LAY_INDIRECT | LAY_MERGE },
        { 65536, 4096, LAY_SPLIT, LAY_INDIRECT },
        { 8192, 100, LAY_INDIRECT, LAY_MERGE },         /* odd pieces */
        { 3 * SECTOR, SECTOR, LAY_MERGE, LAY_INDIRECT | LAY_MERGE },
        { SIZE_MAX_BYTES, 0, LAY_SPLIT, LAY_SPLIT },    /* one 1 MiB piece */
    };
    QTestState *qts = start("-device virtio-mdev-blk,id=b0,size=16M");
    uint64_t sector = 1;
    Dev d;

    dev_init(&d, qts, "/machine/peripheral/b0");
    intercept_irq(&d);
    dev_start(&d, DRV_FEATURES);

    /* A fresh RAM disk reads as zeros. */
    check_read(&d, 0, 4096, -1, LAY_SPLIT, 0);
    g_assert_cmphex(rd(&d, VIRTIO_MMIO_INTERRUPT_STATUS), ==,
                    VIRTIO_MMIO_INT_VRING);
    g_assert_true(qtest_get_irq(qts, 0));
    wr(&d, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);
    g_assert_false(qtest_get_irq(qts, 0));

    for (unsigned i = 0; i < G_N_ELEMENTS(cases); i++) {
        uint32_t len = cases[i].len;

        g_assert_cmpuint(blk_write(&d, sector, len, 100 + i, cases[i].wlay,
                                   cases[i].chunk), ==, VIRTIO_BLK_S_OK);
        check_read(&d, sector, len, 100 + i, cases[i].rlay, cases[i].chunk);
        /* and read once more in one plain piece */
        check_read(&d, sector, len, 100 + i, LAY_SPLIT, 0);
        sector += len / SECTOR + 1;
    }
    /* Later writes replace earlier ones, partially overlapping. */
    g_assert_cmpuint(blk_write(&d, 1, 4096, 7, LAY_SPLIT, 0), ==,
                     VIRTIO_BLK_S_OK);
    g_assert_cmpuint(blk_write(&d, 3, SECTOR, 8, LAY_SPLIT, 0), ==,
                     VIRTIO_BLK_S_OK);
    {
        uint8_t want[4096], part[SECTOR], got[4096];

        fill(want, sizeof(want), 7);
        fill(part, sizeof(part), 8);
        memcpy(want + 2 * SECTOR, part, SECTOR);
        g_assert_cmpuint(blk_read(&d, 1, 4096, got, LAY_SPLIT, 1000), ==,
                         VIRTIO_BLK_S_OK);
        g_assert_cmpmem(got, 4096, want, 4096);
    }
    /* The last sector of the disk */
    g_assert_cmpuint(blk_write(&d, 16 * MiB / SECTOR - 1, SECTOR, 9,
                               LAY_SPLIT, 0), ==, VIRTIO_BLK_S_OK);
    check_read(&d, 16 * MiB / SECTOR - 1, SECTOR, 9, LAY_SPLIT, 0);
    g_assert_cmpuint(rd(&d, VIRTIO_MMIO_STATUS), ==, S_RUNNING);
    qtest_quit(qts);
}

/* A raw image file: the host's bytes reach the guest and the other way. */
static void test_file(void)
{
    g_autofree char *img = image_new(4 * MiB, 3);
    g_autofree char *args = g_strdup_printf(
        "-drive if=none,id=d0,file=%s,format=raw "
        "-device virtio-mdev-blk,id=b0,drive=d0", img);
    QTestState *qts = start(args);
    g_autofree uint8_t *want = g_malloc(4 * MiB);
    uint8_t got[8192];
    Dev d;

    dev_init(&d, qts, "/machine/peripheral/b0");
    dev_start(&d, DRV_FEATURES);
    fill(want, 4 * MiB, 3);

    /* What the file holds, at several places */
    g_assert_cmpuint(blk_read(&d, 0, 4096, got, LAY_SPLIT, 0), ==,
                     VIRTIO_BLK_S_OK);
    g_assert_cmpmem(got, 4096, want, 4096);
    g_assert_cmpuint(blk_read(&d, 4 * MiB / SECTOR - 16, 8192, got,
                              LAY_INDIRECT, 1536), ==, VIRTIO_BLK_S_OK);
    g_assert_cmpmem(got, 8192, want + 4 * MiB - 8192, 8192);

    /* Writes land in the file at the right offset, nowhere else. */
    g_assert_cmpuint(blk_write(&d, 100, 4096, 30, LAY_SPLIT, 0), ==,
                     VIRTIO_BLK_S_OK);
    g_assert_cmpuint(blk_write(&d, 200, 8192, 31, LAY_INDIRECT, 1024), ==,
                     VIRTIO_BLK_S_OK);
    g_assert_cmpuint(blk_write(&d, 300, 65536, 32, LAY_MERGE, 0), ==,
                     VIRTIO_BLK_S_OK);
    g_assert_cmpuint(blk_simple(&d, VIRTIO_BLK_T_FLUSH, 0), ==,
                     VIRTIO_BLK_S_OK);
    check_image(img, 100 * SECTOR, 4096, 30, 0);
    check_image(img, 200 * SECTOR, 8192, 31, 0);
    check_image(img, 300 * SECTOR, 65536, 32, 0);
    check_image(img, 99 * SECTOR, SECTOR, 3, 99 * SECTOR);
    check_image(img, 108 * SECTOR, SECTOR, 3, 108 * SECTOR);
    check_image(img, 428 * SECTOR, SECTOR, 3, 428 * SECTOR);
    check_read(&d, 200, 8192, 31, LAY_MERGE, 0);

    /* WRITE_ZEROES reaches the file, with and without UNMAP. */
    g_assert_cmpuint(blk_dwz(&d, VIRTIO_BLK_T_WRITE_ZEROES, 300, 8, 0, 1), ==,
                     VIRTIO_BLK_S_OK);
    g_assert_cmpuint(blk_dwz(&d, VIRTIO_BLK_T_WRITE_ZEROES, 320, 16,
                             VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP, 1), ==,
                     VIRTIO_BLK_S_OK);
    g_assert_cmpuint(blk_simple(&d, VIRTIO_BLK_T_FLUSH, 0), ==,
                     VIRTIO_BLK_S_OK);
    check_image(img, 300 * SECTOR, 8 * SECTOR, -1, 0);
    check_image(img, 320 * SECTOR, 16 * SECTOR, -1, 0);
    check_image(img, 308 * SECTOR, 12 * SECTOR, 32, 8 * SECTOR);
    check_image(img, 336 * SECTOR, 8 * SECTOR, 32, 36 * SECTOR);
    check_read(&d, 300, 8 * SECTOR, -1, LAY_SPLIT, 0);
    /* DISCARD of a file range completes (its content is then unspecified) */
    g_assert_cmpuint(blk_dwz(&d, VIRTIO_BLK_T_DISCARD, 1024, 64, 0, 1), ==,
                     VIRTIO_BLK_S_OK);
    qtest_quit(qts);
    unlink(img);
}

static void test_flush_get_id(void)
{
    QTestState *qts = start("-device virtio-mdev-blk,id=b0,serial=mvblk-0042 "
                            "-device virtio-mdev-blk,id=b1,"
                            "serial=ABCDEFGHIJKLMNOPQRST "
                            "-device virtio-mdev-blk,id=b2 "
                            "-device virtio-mdev-blk,id=b3,get-id=off,"
                            "serial=x");
    char id[32], want[32];
    Dev d;

    dev_init(&d, qts, "/machine/peripheral/b0");
    dev_start(&d, DRV_FEATURES);
    g_assert_cmpuint(blk_simple(&d, VIRTIO_BLK_T_FLUSH, 0), ==,
                     VIRTIO_BLK_S_OK);
    g_assert_cmpuint(blk_simple(&d, VIRTIO_BLK_T_FLUSH, 12345), ==,
                     VIRTIO_BLK_S_OK);
    /* 20 bytes, zero-padded */
    memset(want, 0, sizeof(want));
    strcpy(want, "mvblk-0042");
    g_assert_cmpuint(blk_get_id(&d, id, VIRTIO_BLK_ID_BYTES), ==,
                     VIRTIO_BLK_S_OK);
    g_assert_cmpmem(id, VIRTIO_BLK_ID_BYTES, want, VIRTIO_BLK_ID_BYTES);
    /* A larger buffer gets 20 bytes; a smaller one what fits. */
    g_assert_cmpuint(blk_get_id(&d, id, 32), ==, VIRTIO_BLK_S_OK);
    g_assert_cmpmem(id, 32, want, 32);
    g_assert_cmpuint(blk_get_id(&d, id, 5), ==, VIRTIO_BLK_S_OK);
    g_assert_cmpmem(id, 5, "mvblk", 5);

    /* A 20-character serial fills the buffer, no NUL. */
    dev_init(&d, qts, "/machine/peripheral/b1");
    dev_start(&d, DRV_FEATURES);
    g_assert_cmpuint(blk_get_id(&d, id, VIRTIO_BLK_ID_BYTES), ==,
                     VIRTIO_BLK_S_OK);
    g_assert_cmpmem(id, VIRTIO_BLK_ID_BYTES, "ABCDEFGHIJKLMNOPQRST",
                    VIRTIO_BLK_ID_BYTES);
    /* No serial: an empty id */
    dev_init(&d, qts, "/machine/peripheral/b2");
    dev_start(&d, DRV_FEATURES);
    memset(want, 0, sizeof(want));
    g_assert_cmpuint(blk_get_id(&d, id, VIRTIO_BLK_ID_BYTES), ==,
                     VIRTIO_BLK_S_OK);
    g_assert_cmpmem(id, VIRTIO_BLK_ID_BYTES, want, VIRTIO_BLK_ID_BYTES);
    /* get-id=off: UNSUPP, the buffer untouched */
    dev_init(&d, qts, "/machine/peripheral/b3");
    dev_start(&d, DRV_FEATURES);
    g_assert_cmpuint(blk_get_id(&d, id, VIRTIO_BLK_ID_BYTES), ==,
                     VIRTIO_BLK_S_UNSUPP);
    g_assert_cmpmem(id, VIRTIO_BLK_ID_BYTES, want, VIRTIO_BLK_ID_BYTES);
    qtest_quit(qts);
}

static void test_discard_write_zeroes(void)
{
    QTestState *qts = start("-device virtio-mdev-blk,id=b0,size=4M");
    const uint64_t cap = 4 * MiB / SECTOR;
    g_autofree uint8_t *want = g_malloc(32 * SECTOR);
    g_autofree uint8_t *got = g_malloc(32 * SECTOR);
    Dev d;

    dev_init(&d, qts, "/machine/peripheral/b0");
    dev_start(&d, DRV_FEATURES);
    g_assert_cmpuint(blk_write(&d, 0, 32 * SECTOR, 5, LAY_SPLIT, 0), ==,
                     VIRTIO_BLK_S_OK);

    /* WRITE_ZEROES without and with UNMAP: zeros there, data elsewhere */
    g_assert_cmpuint(blk_dwz(&d, VIRTIO_BLK_T_WRITE_ZEROES, 4, 4, 0, 1), ==,
                     VIRTIO_BLK_S_OK);
    g_assert_cmpuint(blk_dwz(&d, VIRTIO_BLK_T_WRITE_ZEROES, 20, 3,
                             VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP, 1), ==,
                     VIRTIO_BLK_S_OK);
    fill(want, 32 * SECTOR, 5);
    memset(want + 4 * SECTOR, 0, 4 * SECTOR);
    memset(want + 20 * SECTOR, 0, 3 * SECTOR);
    g_assert_cmpuint(blk_read(&d, 0, 32 * SECTOR, got, LAY_SPLIT, 0), ==,
                     VIRTIO_BLK_S_OK);
    g_assert_cmpmem(got, 32 * SECTOR, want, 32 * SECTOR);
    /* The largest WRITE_ZEROES, up to the end of the disk */
    g_assert_cmpuint(blk_dwz(&d, VIRTIO_BLK_T_WRITE_ZEROES, 0, cap, 0, 1), ==,
                     VIRTIO_BLK_S_OK);
    check_read(&d, 0, 32 * SECTOR, -1, LAY_SPLIT, 0);

    /* DISCARD: fine without flags, up to the end */
    g_assert_cmpuint(blk_dwz(&d, VIRTIO_BLK_T_DISCARD, 8, 8, 0, 1), ==,
                     VIRTIO_BLK_S_OK);
    g_assert_cmpuint(blk_dwz(&d, VIRTIO_BLK_T_DISCARD, cap - 8, 8, 0, 1), ==,
                     VIRTIO_BLK_S_OK);

    /* Flags: UNMAP is for WRITE_ZEROES only; unknown flags are UNSUPP. */
    g_assert_cmpuint(blk_dwz(&d, VIRTIO_BLK_T_DISCARD, 8, 8,
                             VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP, 1), ==,
                     VIRTIO_BLK_S_UNSUPP);
    g_assert_cmpuint(blk_dwz(&d, VIRTIO_BLK_T_DISCARD, 8, 8, 4, 1), ==,
                     VIRTIO_BLK_S_UNSUPP);
    g_assert_cmpuint(blk_dwz(&d, VIRTIO_BLK_T_WRITE_ZEROES, 8, 8, 2, 1), ==,
                     VIRTIO_BLK_S_UNSUPP);
    /* More segments than max_*_seg (1) */
    g_assert_cmpuint(blk_dwz(&d, VIRTIO_BLK_T_DISCARD, 8, 8, 0, 2), ==,
                     VIRTIO_BLK_S_UNSUPP);
    g_assert_cmpuint(blk_dwz(&d, VIRTIO_BLK_T_WRITE_ZEROES, 8, 8, 0, 2), ==,
                     VIRTIO_BLK_S_UNSUPP);
    /* Beyond the end, or over the limit */
    g_assert_cmpuint(blk_dwz(&d, VIRTIO_BLK_T_DISCARD, cap - 7, 8, 0, 1), ==,
                     VIRTIO_BLK_S_IOERR);
    g_assert_cmpuint(blk_dwz(&d, VIRTIO_BLK_T_WRITE_ZEROES, cap, 1, 0, 1), ==,
                     VIRTIO_BLK_S_IOERR);
    g_assert_cmpuint(blk_dwz(&d, VIRTIO_BLK_T_WRITE_ZEROES, UINT64_MAX, 2, 0,
                             1), ==, VIRTIO_BLK_S_IOERR);
    g_assert_cmpuint(blk_dwz(&d, VIRTIO_BLK_T_WRITE_ZEROES, 0, DWZ_MAX + 1, 0,
                             1), ==, VIRTIO_BLK_S_IOERR);

    /* Not negotiated: UNSUPP */
    dev_start(&d, DRV_FEATURES & ~(F(VIRTIO_BLK_F_DISCARD) |
                                   F(VIRTIO_BLK_F_WRITE_ZEROES)));
    g_assert_cmpuint(blk_dwz(&d, VIRTIO_BLK_T_DISCARD, 8, 8, 0, 1), ==,
                     VIRTIO_BLK_S_UNSUPP);
    g_assert_cmpuint(blk_dwz(&d, VIRTIO_BLK_T_WRITE_ZEROES, 8, 8, 0, 1), ==,
                     VIRTIO_BLK_S_UNSUPP);
    g_assert_cmpuint(rd(&d, VIRTIO_MMIO_STATUS), ==, S_RUNNING);
    qtest_quit(qts);
}

static void block_resize(QTestState *qts, const char *drive, uint64_t size)
{
    qtest_qmp_assert_success(qts, "{'execute': 'block_resize', 'arguments': "
                             "{'device': %s, 'size': %" PRIu64 "}}", drive,
                             size);
}

/* block_resize: the capacity follows, with a config change interrupt. */
static void test_resize(void)
{
    g_autofree char *img = image_new(1 * MiB, 10);
    g_autofree char *args = g_strdup_printf(
        "-drive if=none,id=d0,file=%s,format=raw "
        "-device virtio-mdev-blk,id=b0,drive=d0", img);
    QTestState *qts = start(args);
    uint32_t gen;
    Dev d;

    dev_init(&d, qts, "/machine/peripheral/b0");
    intercept_irq(&d);
    /* Before DRIVER_OK: a new generation, no interrupt */
    gen = rd(&d, VIRTIO_MMIO_CONFIG_GENERATION);
    block_resize(qts, "d0", 2 * MiB);
    g_assert_cmpuint(rd(&d, VIRTIO_MMIO_CONFIG_GENERATION), !=, gen);
    g_assert_cmpuint(rd(&d, VIRTIO_MMIO_INTERRUPT_STATUS), ==, 0);
    g_assert_cmpuint(qtest_readq(qts, d.base + CFG_OFF(capacity)), ==,
                     2 * MiB / SECTOR);

    dev_start(&d, DRV_FEATURES);
    gen = rd(&d, VIRTIO_MMIO_CONFIG_GENERATION);
    block_resize(qts, "d0", 4 * MiB);
    g_assert_cmphex(rd(&d, VIRTIO_MMIO_INTERRUPT_STATUS), ==,
                    VIRTIO_MMIO_INT_CONFIG);
    g_assert_true(qtest_get_irq(qts, 0));
    g_assert_cmpuint(rd(&d, VIRTIO_MMIO_CONFIG_GENERATION), !=, gen);
    g_assert_cmpuint(qtest_readq(qts, d.base + CFG_OFF(capacity)), ==,
                     4 * MiB / SECTOR);
    wr(&d, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_CONFIG);
    g_assert_false(qtest_get_irq(qts, 0));
    /* The new sectors are there, the old ones unchanged. */
    g_assert_cmpuint(blk_write(&d, 4 * MiB / SECTOR - 8, 4096, 11, LAY_SPLIT,
                               0), ==, VIRTIO_BLK_S_OK);
    check_read(&d, 4 * MiB / SECTOR - 8, 4096, 11, LAY_SPLIT, 0);
    check_image(img, 0, 1 * MiB, 10, 0);
    check_image(img, 4 * MiB - 4096, 4096, 11, 0);

    /* Shrunk: what is past the new end is out of range. */
    block_resize(qts, "d0", 1 * MiB);
    g_assert_cmpuint(qtest_readq(qts, d.base + CFG_OFF(capacity)), ==,
                     1 * MiB / SECTOR);
    g_assert_cmpuint(blk_read(&d, 4 * MiB / SECTOR - 8, 4096, NULL,
                              LAY_SPLIT, 0), ==, VIRTIO_BLK_S_IOERR);
    check_read(&d, 0, 4096, 10, LAY_SPLIT, 0);
    qtest_quit(qts);
    unlink(img);
}

/* ---- bad requests ---- */

/* Run chain @c alone; returns the byte at @status_addr afterwards. */
static uint8_t run_chain(Dev *d, const Chain *c, bool indirect,
                         uint64_t status_addr, uint32_t *used_len)
{
    uint16_t head = chain_post(d, c, indirect);
    uint32_t id;

    avail_publish(d);
    kick(d);
    g_assert_true(wait_used(d, d->q.used_seen + 1));
    used_take(d, &id, used_len);
    g_assert_cmpuint(id, ==, head);
    return qtest_readb(d->qts, status_addr);
}

/* Status of a request that must fail, and the device goes on. */
static void expect_status(Dev *d, Req *r, unsigned lay, uint32_t chunk,
                          uint8_t status)
{
    g_assert_cmpuint(req_run(d, r, lay, chunk), ==, status);
    g_assert_cmpuint(r->used_len, ==, 1);
}

static void test_bad_requests(void)
{
    const uint64_t cap = 4 * MiB / SECTOR;
    QTestState *qts = start("-device virtio-mdev-blk,id=b0,size=4M "
                            "-device virtio-mdev-blk,id=b1,size=4M,"
                            "seg-max=off,size-max=off");
    uint64_t errors = 0;
    uint32_t ulen;
    Chain c;
    Req r;
    Dev d, nolim;

    dev_init(&d, qts, "/machine/peripheral/b0");
    dev_start(&d, DRV_FEATURES);

    /* Sector past the end, length across the end, absurd sectors */
    g_assert_cmpuint(blk_read(&d, cap, SECTOR, NULL, LAY_SPLIT, 0), ==,
                     VIRTIO_BLK_S_IOERR);
    g_assert_cmpuint(blk_read(&d, cap - 1, 2 * SECTOR, NULL, LAY_SPLIT, 0),
                     ==, VIRTIO_BLK_S_IOERR);
    g_assert_cmpuint(blk_write(&d, cap - 1, 2 * SECTOR, 1, LAY_SPLIT, 0), ==,
                     VIRTIO_BLK_S_IOERR);
    g_assert_cmpuint(blk_read(&d, UINT64_MAX, SECTOR, NULL, LAY_SPLIT, 0),
                     ==, VIRTIO_BLK_S_IOERR);
    g_assert_cmpuint(blk_write(&d, 1ULL << 55, SECTOR, 1, LAY_SPLIT, 0), ==,
                     VIRTIO_BLK_S_IOERR);
    errors += 5;
    /* ... while the last sector itself is fine */
    g_assert_cmpuint(blk_read(&d, cap - 1, SECTOR, NULL, LAY_SPLIT, 0), ==,
                     VIRTIO_BLK_S_OK);

    /* Lengths that are not whole sectors */
    g_assert_cmpuint(blk_read(&d, 0, 100, NULL, LAY_SPLIT, 0), ==,
                     VIRTIO_BLK_S_IOERR);
    g_assert_cmpuint(blk_write(&d, 0, SECTOR + 1, 1, LAY_SPLIT, 0), ==,
                     VIRTIO_BLK_S_IOERR);
    errors += 2;

    /* 255 data segments (one indirect table of 256 buffers): over SEG_MAX */
    req_init(&d, &r, VIRTIO_BLK_T_IN, 0, (SEG_MAX + 1) * SECTOR);
    expect_status(&d, &r, LAY_INDIRECT | LAY_MERGE, SECTOR,
                  VIRTIO_BLK_S_IOERR);
    req_init(&d, &r, VIRTIO_BLK_T_OUT, 0, (SEG_MAX + 1) * SECTOR);
    expect_status(&d, &r, LAY_INDIRECT | LAY_MERGE, SECTOR,
                  VIRTIO_BLK_S_IOERR);
    errors += 2;
    /* 254 are fine */
    g_assert_cmpuint(blk_write(&d, 0, SEG_MAX * SECTOR, 2, LAY_INDIRECT,
                               SECTOR), ==, VIRTIO_BLK_S_OK);
    check_read(&d, 0, SEG_MAX * SECTOR, 2, LAY_INDIRECT | LAY_MERGE, SECTOR);

    /* A segment over SIZE_MAX (1 MiB), in either direction */
    g_assert_cmpuint(blk_read(&d, 0, SIZE_MAX_BYTES + SECTOR, NULL,
                              LAY_SPLIT, 0), ==, VIRTIO_BLK_S_IOERR);
    g_assert_cmpuint(blk_write(&d, 0, SIZE_MAX_BYTES + SECTOR, 3, LAY_SPLIT,
                               0), ==, VIRTIO_BLK_S_IOERR);
    errors += 2;
    /* the same length in two pieces is fine */
    g_assert_cmpuint(blk_write(&d, 0, SIZE_MAX_BYTES + SECTOR, 3, LAY_SPLIT,
                               SIZE_MAX_BYTES), ==, VIRTIO_BLK_S_OK);

    /* Unknown type: UNSUPP */
    req_init(&d, &r, 99, 0, SECTOR);
    expect_status(&d, &r, LAY_SPLIT, 0, VIRTIO_BLK_S_UNSUPP);
    req_init(&d, &r, VIRTIO_BLK_T_SCSI_CMD, 0, 0);
    expect_status(&d, &r, LAY_SPLIT, 0, VIRTIO_BLK_S_UNSUPP);
    errors += 2;

    /* A header of 8 bytes: IOERR */
    req_init(&d, &r, VIRTIO_BLK_T_IN, 0, 0);
    c.n = 0;
    chain_add(&c, r.buf, 8, false);
    chain_add(&c, req_status_addr(&r), 1, true);
    g_assert_cmpuint(run_chain(&d, &c, false, req_status_addr(&r), &ulen), ==,
                     VIRTIO_BLK_S_IOERR);
    g_assert_cmpuint(ulen, ==, 1);
    errors++;

    /* None of it broke the device; the statistics counted each one. */
    g_assert_cmpuint(rd(&d, VIRTIO_MMIO_STATUS), ==, S_RUNNING);
    check_read(&d, 0, SECTOR, 3, LAY_SPLIT, 0);
    g_assert_cmpuint(stat_of(&d, "errors"), ==, errors);

    /* The same SEG_MAX and SIZE_MAX requests pass without those features. */
    dev_init(&nolim, qts, "/machine/peripheral/b1");
    g_assert_cmphex(dev_features(&nolim) & (F(VIRTIO_BLK_F_SEG_MAX) |
                                            F(VIRTIO_BLK_F_SIZE_MAX)), ==, 0);
    dev_start(&nolim, DRV_FEATURES & ~(F(VIRTIO_BLK_F_SEG_MAX) |
                                       F(VIRTIO_BLK_F_SIZE_MAX)));
    g_assert_cmpuint(blk_write(&nolim, 0, (SEG_MAX + 1) * SECTOR, 4,
                               LAY_INDIRECT | LAY_MERGE, SECTOR), ==,
                     VIRTIO_BLK_S_OK);
    check_read(&nolim, 0, (SEG_MAX + 1) * SECTOR, 4, LAY_INDIRECT | LAY_MERGE,
               SECTOR);
    g_assert_cmpuint(blk_write(&nolim, 0, SIZE_MAX_BYTES + SECTOR, 5,
                               LAY_SPLIT, 0), ==, VIRTIO_BLK_S_OK);
    check_read(&nolim, 0, SIZE_MAX_BYTES + SECTOR, 5, LAY_SPLIT, 0);
    qtest_quit(qts);
}

/* No writable byte for the status: DEVICE_NEEDS_RESET; reset recovers. */
static void test_no_status(void)
{
    QTestState *qts = start("-device virtio-mdev-blk,id=b0,size=1M");
    Chain c;
    Req r;
    Dev d;

    dev_init(&d, qts, "/machine/peripheral/b0");
    intercept_irq(&d);
    dev_start(&d, DRV_FEATURES);
    g_assert_cmpuint(blk_write(&d, 0, SECTOR, 1, LAY_SPLIT, 0), ==,
                     VIRTIO_BLK_S_OK);
    wr(&d, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);

    req_init(&d, &r, VIRTIO_BLK_T_OUT, 0, SECTOR);
    c.n = 0;
    chain_add(&c, r.buf, HDR, false);
    chain_add(&c, req_data(&r), SECTOR, false);
    chain_post(&d, &c, false);
    avail_publish(&d);
    kick(&d);
    g_assert_true(wait_status(&d, VIRTIO_CONFIG_S_NEEDS_RESET));
    g_assert_cmphex(rd(&d, VIRTIO_MMIO_INTERRUPT_STATUS), ==,
                    VIRTIO_MMIO_INT_CONFIG);
    g_assert_true(qtest_get_irq(qts, 0));
    g_assert_cmpuint(used_idx(&d), ==, 1);
    /* Broken: further requests are not served. */
    req_init(&d, &r, VIRTIO_BLK_T_IN, 0, SECTOR);
    req_post(&d, &r, LAY_SPLIT, 0);
    avail_publish(&d);
    kick(&d);
    g_assert_true(used_stays(&d, 1, 200));
    g_assert_cmpuint(req_status(&d, &r), ==, ST_UNSET);
    /* The written data is intact; reset brings the device back. */
    wr(&d, VIRTIO_MMIO_STATUS, 0);
    g_assert_cmpuint(rd(&d, VIRTIO_MMIO_STATUS), ==, 0);
    g_assert_false(qtest_get_irq(qts, 0));
    dev_start(&d, DRV_FEATURES);
    g_assert_cmpuint(rd(&d, VIRTIO_MMIO_STATUS), ==, S_RUNNING);
    check_read(&d, 0, SECTOR, 1, LAY_SPLIT, 0);
    qtest_quit(qts);
}

/* A read-only drive: reads work, anything that writes is IOERR. */
static void test_readonly(void)
{
    g_autofree char *img = image_new(1 * MiB, 6);
    g_autofree char *args = g_strdup_printf(
        "-drive if=none,id=d0,file=%s,format=raw,readonly=on "
        "-device virtio-mdev-blk,id=b0,drive=d0", img);
    QTestState *qts = start(args);
    Dev d;

    dev_init(&d, qts, "/machine/peripheral/b0");
    g_assert_true(dev_features(&d) & F(VIRTIO_BLK_F_RO));
    dev_start(&d, DRV_FEATURES | F(VIRTIO_BLK_F_RO));
    check_read(&d, 0, 8192, 6, LAY_SPLIT, 0);
    g_assert_cmpuint(blk_write(&d, 0, 4096, 9, LAY_SPLIT, 0), ==,
                     VIRTIO_BLK_S_IOERR);
    g_assert_cmpuint(blk_write(&d, 16, SECTOR, 9, LAY_INDIRECT, 0), ==,
                     VIRTIO_BLK_S_IOERR);
    g_assert_cmpuint(blk_dwz(&d, VIRTIO_BLK_T_WRITE_ZEROES, 0, 8, 0, 1), ==,
                     VIRTIO_BLK_S_IOERR);
    g_assert_cmpuint(blk_dwz(&d, VIRTIO_BLK_T_DISCARD, 0, 8, 0, 1), ==,
                     VIRTIO_BLK_S_IOERR);
    g_assert_cmpuint(blk_simple(&d, VIRTIO_BLK_T_FLUSH, 0), ==,
                     VIRTIO_BLK_S_OK);
    /* Also when the driver did not take RO */
    dev_start(&d, DRV_FEATURES);
    g_assert_cmpuint(blk_write(&d, 0, 4096, 9, LAY_SPLIT, 0), ==,
                     VIRTIO_BLK_S_IOERR);
    check_read(&d, 0, 8192, 6, LAY_MERGE, 0);
    g_assert_cmpuint(stat_of(&d, "errors"), ==, 5);
    g_assert_cmpuint(stat_of(&d, "write-bytes"), ==, 0);
    qtest_quit(qts);
    check_image(img, 0, 1 * MiB, 6, 0);
    unlink(img);
}

/* ---- many requests in flight, reset under I/O, statistics ---- */

#define NREQ    64

/* Wait for @n used entries; each must be one of @reqs, seen once. */
static void collect(Dev *d, Req *reqs, unsigned n, bool *seen)
{
    g_assert_true(wait_used(d, d->q.used_seen + n));
    memset(seen, 0, n * sizeof(*seen));
    for (unsigned k = 0; k < n; k++) {
        uint32_t id, len;
        unsigned i;

        used_take(d, &id, &len);
        for (i = 0; i < n && reqs[i].head != id; i++) {
            /* find the request by its head */
        }
        g_assert_cmpuint(i, <, n);
        g_assert_false(seen[i]);
        seen[i] = true;
        reqs[i].used_len = len;
    }
}

static void test_many_in_flight(void)
{
    g_autofree char *img = image_new(8 * MiB, 0);
    g_autofree char *args = g_strdup_printf(
        "-drive if=none,id=d0,file=%s,format=raw "
        "-device virtio-mdev-blk,id=b0,drive=d0", img);
    QTestState *qts = start(args);
    static const unsigned lay[] = { LAY_SPLIT, LAY_MERGE, LAY_INDIRECT };
    Req reqs[NREQ];
    bool seen[NREQ];
    Dev d;

    dev_init(&d, qts, "/machine/peripheral/b0");
    dev_start(&d, DRV_FEATURES);

    /* 64 writes of 16 KiB, all posted before one kick */
    for (unsigned i = 0; i < NREQ; i++) {
        uint8_t data[16384];

        fill(data, sizeof(data), 1000 + i);
        req_init(&d, &reqs[i], VIRTIO_BLK_T_OUT, 40 * i, sizeof(data));
        qtest_bufwrite(qts, req_data(&reqs[i]), data, sizeof(data));
        req_post(&d, &reqs[i], lay[i % 3], i % 2 ? 4096 : 0);
    }
    avail_publish(&d);
    kick(&d);
    collect(&d, reqs, NREQ, seen);
    for (unsigned i = 0; i < NREQ; i++) {
        g_assert_cmpuint(reqs[i].used_len, ==, 1);
        g_assert_cmpuint(req_status(&d, &reqs[i]), ==, VIRTIO_BLK_S_OK);
    }

    /* 64 reads of them, newest first, again with one kick */
    for (unsigned i = 0; i < NREQ; i++) {
        req_init(&d, &reqs[i], VIRTIO_BLK_T_IN, 40 * (NREQ - 1 - i), 16384);
        req_post(&d, &reqs[i], lay[(i + 1) % 3], i % 3 ? 0 : 8192);
    }
    avail_publish(&d);
    kick(&d);
    collect(&d, reqs, NREQ, seen);
    for (unsigned i = 0; i < NREQ; i++) {
        uint8_t want[16384], got[16384];

        g_assert_cmpuint(reqs[i].used_len, ==, sizeof(got) + 1);
        g_assert_cmpuint(req_status(&d, &reqs[i]), ==, VIRTIO_BLK_S_OK);
        fill(want, sizeof(want), 1000 + NREQ - 1 - i);
        qtest_bufread(qts, req_data(&reqs[i]), got, sizeof(got));
        g_assert_cmpmem(got, sizeof(got), want, sizeof(want));
    }
    g_assert_cmpuint(stat_of(&d, "packets"), ==, 2 * NREQ);
    g_assert_cmpuint(stat_of(&d, "kicks"), ==, 2);
    qtest_quit(qts);
    for (unsigned i = 0; i < NREQ; i += 9) {
        check_image(img, 40 * i * SECTOR, 16384, 1000 + i, 0);
    }
    unlink(img);
}

/*
 * Regression, a guest-triggered hang: a read whose data buffer is the
 * device's own Status register, among 40 other reads in flight.  The
 * memory layer used to map it through a bounce buffer, so the completion
 * wrote the register: it reset the device from inside the block layer's
 * completion, and the reset's drain waited for that request for ever.
 * Data that is not RAM is now an IOERR, and the device keeps running.
 */
static void test_regression_data_in_own_mmio(void)
{
    QTestState *qts = start("-device virtio-mdev-blk,id=b0,size=8M");
    g_autofree Chain *c = g_new0(Chain, 1);
    Req reqs[41];
    bool seen[41];
    Dev d;

    dev_init(&d, qts, "/machine/peripheral/b0");
    dev_start(&d, DRV_FEATURES);
    for (unsigned i = 0; i < 40; i++) {
        req_init(&d, &reqs[i], VIRTIO_BLK_T_IN, 32 * i, 16384);
        req_post(&d, &reqs[i], LAY_SPLIT, 0);
    }
    req_init(&d, &reqs[40], VIRTIO_BLK_T_IN, 0, 0);
    chain_add(c, reqs[40].buf, HDR, false);
    chain_add(c, d.base + VIRTIO_MMIO_STATUS, SECTOR, true);
    chain_add(c, req_status_addr(&reqs[40]), 1, true);
    reqs[40].head = chain_post(&d, c, false);
    avail_publish(&d);
    kick(&d);
    collect(&d, reqs, 41, seen);
    g_assert_cmpuint(req_status(&d, &reqs[40]), ==, VIRTIO_BLK_S_IOERR);
    g_assert_cmpuint(reqs[40].used_len, ==, 1);
    for (unsigned i = 0; i < 40; i++) {
        g_assert_cmpuint(req_status(&d, &reqs[i]), ==, VIRTIO_BLK_S_OK);
    }
    g_assert_cmphex(rd(&d, VIRTIO_MMIO_STATUS), ==, S_RUNNING);
    qtest_quit(qts);
}

/*
 * Reset right after the kick of 250 requests, three times: QEMU survives,
 * no used entry of the old rings appears afterwards, and the device works
 * again on new rings.  250 requests take the device several bottom-half
 * runs (64 pops each) to start, so the reset lands while some are in
 * flight and another run is pending.
 */
static void test_reset_during_io(void)
{
    g_autofree char *img = image_new(16 * MiB, 0);
    g_autofree char *args = g_strdup_printf(
        "-drive if=none,id=d0,file=%s,format=raw "
        "-device virtio-mdev-blk,id=b0,drive=d0", img);
    QTestState *qts = start(args);
    uint64_t packets = 0;
    Req reqs[250];
    Dev d;

    dev_init(&d, qts, "/machine/peripheral/b0");
    dev_start(&d, DRV_FEATURES);
    for (int round = 0; round < 3; round++) {
        uint16_t before = d.q.used_seen, done;
        uint64_t old_used = d.q.used;

        for (unsigned i = 0; i < G_N_ELEMENTS(reqs); i++) {
            req_init(&d, &reqs[i], i % 2 ? VIRTIO_BLK_T_IN : VIRTIO_BLK_T_OUT,
                     8 * i, 4096);
            req_post(&d, &reqs[i], LAY_INDIRECT, 0);
        }
        avail_publish(&d);
        kick(&d);
        wr(&d, VIRTIO_MMIO_STATUS, 0);
        g_assert_cmpuint(rd(&d, VIRTIO_MMIO_STATUS), ==, 0);
        wr(&d, VIRTIO_MMIO_QUEUE_SEL, 0);
        g_assert_cmpuint(rd(&d, VIRTIO_MMIO_QUEUE_READY), ==, 0);

        /* What completed before the reset stays; nothing comes after. */
        done = used_idx(&d) - before;
        g_assert_cmpuint(done, <=, G_N_ELEMENTS(reqs));
        g_assert_true(used_stays(&d, before + done, 100));
        for (unsigned k = 0; k < done; k++) {
            uint32_t id, len;
            unsigned i;

            used_elem(&d, before + k, &id, &len);
            for (i = 0; i < G_N_ELEMENTS(reqs) && reqs[i].head != id; i++) {
                /* find the request by its head */
            }
            g_assert_cmpuint(i, <, G_N_ELEMENTS(reqs));
            g_assert_cmpuint(req_status(&d, &reqs[i]), ==, VIRTIO_BLK_S_OK);
            reqs[i].used_len = 1;
        }
        /* The others had their status byte left alone. */
        for (unsigned i = 0; i < G_N_ELEMENTS(reqs); i++) {
            if (!reqs[i].used_len) {
                g_assert_cmpuint(req_status(&d, &reqs[i]), ==, ST_UNSET);
            }
        }
        if (g_test_verbose()) {
            unsigned started = 0;

            /* reads that ran have image data in their buffers */
            for (unsigned i = 1; i < G_N_ELEMENTS(reqs); i += 2) {
                started += !!qtest_readq(qts, req_data(&reqs[i]));
            }
            g_test_message("round %d: %u of %zu completed before the reset, "
                           "%u of %zu reads ran", round, done,
                           G_N_ELEMENTS(reqs), started,
                           G_N_ELEMENTS(reqs) / 2);
        }
        packets += done;
        g_assert_cmpuint(stat_of(&d, "packets"), ==, packets);

        /* A new session on new rings: exactly its own requests complete. */
        dev_start(&d, DRV_FEATURES);
        g_assert_cmpuint(blk_write(&d, 8, 4096, 50 + round, LAY_SPLIT, 0), ==,
                         VIRTIO_BLK_S_OK);
        check_read(&d, 8, 4096, 50 + round, LAY_INDIRECT, 0);
        g_assert_true(used_stays(&d, 2, 50));
        g_assert_cmpuint(qtest_readw(qts, old_used + 2), ==, before + done);
        packets += 2;
        g_assert_cmpuint(stat_of(&d, "packets"), ==, packets);
    }
    qtest_quit(qts);
    unlink(img);
}

static void test_stats(void)
{
    QTestState *qts = start("-device virtio-mdev-blk,id=b0,size=1M");
    char id[VIRTIO_BLK_ID_BYTES];
    Dev d;

    dev_init(&d, qts, "/machine/peripheral/b0");
    g_assert_cmpuint(stat_of(&d, "packets"), ==, 0);
    dev_start(&d, DRV_FEATURES);
    for (int i = 0; i < 3; i++) {
        g_assert_cmpuint(blk_write(&d, 8 * i, 4096, i, LAY_SPLIT, 0), ==,
                         VIRTIO_BLK_S_OK);
    }
    g_assert_cmpuint(blk_read(&d, 0, 8192, NULL, LAY_MERGE, 0), ==,
                     VIRTIO_BLK_S_OK);
    g_assert_cmpuint(blk_read(&d, 4, 8192, NULL, LAY_INDIRECT, 0), ==,
                     VIRTIO_BLK_S_OK);
    g_assert_cmpuint(blk_simple(&d, VIRTIO_BLK_T_FLUSH, 0), ==,
                     VIRTIO_BLK_S_OK);
    g_assert_cmpuint(blk_get_id(&d, id, sizeof(id)), ==, VIRTIO_BLK_S_OK);
    g_assert_cmpuint(blk_dwz(&d, VIRTIO_BLK_T_WRITE_ZEROES, 0, 8, 0, 1), ==,
                     VIRTIO_BLK_S_OK);
    g_assert_cmpuint(blk_read(&d, 1 * MiB / SECTOR, SECTOR, NULL, LAY_SPLIT,
                              0), ==, VIRTIO_BLK_S_IOERR);
    g_assert_cmpuint(blk_simple(&d, 77, 0), ==, VIRTIO_BLK_S_UNSUPP);
    g_assert_cmpuint(blk_write(&d, 1 * MiB / SECTOR - 1, 4096, 1, LAY_SPLIT,
                               0), ==, VIRTIO_BLK_S_IOERR);

    g_assert_cmpuint(stat_of(&d, "packets"), ==, 11);
    g_assert_cmpuint(stat_of(&d, "read-bytes"), ==, 2 * 8192);
    g_assert_cmpuint(stat_of(&d, "write-bytes"), ==, 3 * 4096);
    g_assert_cmpuint(stat_of(&d, "bytes"), ==, 2 * 8192 + 3 * 4096);
    g_assert_cmpuint(stat_of(&d, "errors"), ==, 3);
    g_assert_cmpuint(stat_of(&d, "kicks"), ==, 11);
    g_assert_cmpuint(stat_of(&d, "interrupts"), ==, 11);
    g_assert_cmpuint(stat_of(&d, "drops"), ==, 0);
    /* Reset keeps the counts. */
    wr(&d, VIRTIO_MMIO_STATUS, 0);
    g_assert_cmpuint(stat_of(&d, "packets"), ==, 11);
    qtest_quit(qts);
}

/* ---- legacy (virtio-mmio version 1) ---- */

static void test_legacy(void)
{
    QTestState *qts = start("-device virtio-mdev-blk,id=b0,legacy=on,"
                            "size=2M");
    Dev d;

    dev_init(&d, qts, "/machine/peripheral/b0");
    g_assert_true(d.legacy);
    dev_start(&d, (uint32_t)DRV_FEATURES);
    g_assert_cmpuint(blk_write(&d, 10, 8192, 4, LAY_SPLIT, 0), ==,
                     VIRTIO_BLK_S_OK);
    check_read(&d, 10, 8192, 4, LAY_INDIRECT | LAY_MERGE, 3072);
    g_assert_cmpuint(blk_simple(&d, VIRTIO_BLK_T_FLUSH, 0), ==,
                     VIRTIO_BLK_S_OK);
    g_assert_cmpuint(blk_read(&d, 2 * MiB / SECTOR, SECTOR, NULL, LAY_SPLIT,
                              0), ==, VIRTIO_BLK_S_IOERR);
    qtest_quit(qts);
}

/* ---- packed ring ---- */

#define PK_AVAIL    (1 << 7)
#define PK_USED     (1 << 15)

typedef struct PkRing {
    TQueue q;               /* desc: the ring; avail/used: event areas */
    uint16_t next;          /* next descriptor to make available */
    bool wrap;              /* its wrap counter */
    uint16_t used_pos;      /* next descriptor the device writes used */
    bool used_wrap;
    uint16_t ndesc[QNUM];   /* ring slots taken by buffer id */
} PkRing;

static void pk_setup(Dev *d, PkRing *p, uint16_t num)
{
    memset(p, 0, sizeof(*p));
    p->wrap = p->used_wrap = true;
    queue_setup(d, &p->q, num);
}

static uint16_t pk_flags(PkRing *p, bool write, bool next)
{
    return (write ? VRING_DESC_F_WRITE : 0) | (next ? VRING_DESC_F_NEXT : 0) |
           (p->wrap ? PK_AVAIL : PK_USED);
}

static void pk_put(Dev *d, PkRing *p, uint64_t addr, uint32_t len, uint16_t id,
                   uint16_t flags, bool flags_now)
{
    uint64_t a = p->q.desc + 16 * p->next;

    qtest_writeq(d->qts, a, addr);
    qtest_writel(d->qts, a + 8, len);
    qtest_writew(d->qts, a + 12, id);
    if (flags_now) {
        qtest_writew(d->qts, a + 14, flags);
    }
    if (++p->next == p->q.num) {
        p->next = 0;
        p->wrap = !p->wrap;
    }
}

/*
 * Make @c available as buffer @id: descriptor by descriptor, or as one
 * indirect table (packed format: flags at offset 14, no chaining).  The
 * head's flags are written last, which publishes the whole chain.
 */
static void pk_post(Dev *d, PkRing *p, const Chain *c, uint16_t id,
                    bool indirect)
{
    uint16_t head = p->next, head_flags;

    if (indirect) {
        g_autofree uint8_t *t = g_malloc0(16 * c->n);
        uint64_t ta = dev_alloc(d, 16 * c->n);

        for (unsigned i = 0; i < c->n; i++) {
            stq_le_p(t + 16 * i, c->addr[i]);
            stl_le_p(t + 16 * i + 8, c->len[i]);
            stw_le_p(t + 16 * i + 14, c->write[i] ? VRING_DESC_F_WRITE : 0);
        }
        qtest_memwrite(d->qts, ta, t, 16 * c->n);
        head_flags = VRING_DESC_F_INDIRECT | pk_flags(p, false, false);
        pk_put(d, p, ta, 16 * c->n, id, head_flags, false);
        p->ndesc[id] = 1;
    } else {
        head_flags = pk_flags(p, c->write[0], c->n > 1);
        pk_put(d, p, c->addr[0], c->len[0], id, head_flags, false);
        for (unsigned i = 1; i < c->n; i++) {
            pk_put(d, p, c->addr[i], c->len[i], id,
                   pk_flags(p, c->write[i], i + 1 < c->n), true);
        }
        p->ndesc[id] = c->n;
    }
    qtest_writew(d->qts, p->q.desc + 16 * head + 14, head_flags);
}

/* Wait (as wait_used) for the next used descriptor: its buffer id, length. */
static bool pk_wait_used(Dev *d, PkRing *p, uint16_t *id, uint32_t *len)
{
    gint64 end = g_get_monotonic_time() + VMQ_WAIT_US;
    uint64_t a = p->q.desc + 16 * p->used_pos;
    uint16_t fl;

    for (;;) {
        fl = qtest_readw(d->qts, a + 14);
        if (!!(fl & PK_AVAIL) == p->used_wrap &&
            !!(fl & PK_USED) == p->used_wrap) {
            break;
        }
        if (g_get_monotonic_time() > end) {
            return false;
        }
        qtest_clock_step(d->qts, 100);
    }
    *id = qtest_readw(d->qts, a + 12);
    *len = qtest_readl(d->qts, a + 8);
    p->used_pos += p->ndesc[*id];
    if (p->used_pos >= p->q.num) {
        p->used_pos -= p->q.num;
        p->used_wrap = !p->used_wrap;
    }
    return true;
}

/* Run @r on the packed ring as buffer @id; returns its status byte. */
static uint8_t pk_run(Dev *d, PkRing *p, Req *r, unsigned lay, uint32_t chunk,
                      uint16_t id)
{
    g_autofree Chain *c = g_new0(Chain, 1);
    uint16_t got;

    req_chain(r, lay, chunk, c);
    pk_post(d, p, c, id, lay & LAY_INDIRECT);
    kick(d);
    g_assert_true(pk_wait_used(d, p, &got, &r->used_len));
    g_assert_cmpuint(got, ==, id);
    return req_status(d, r);
}

/* OUT/IN round trips over a 16-entry packed ring, wrapping many times */
static void test_packed(void)
{
    QTestState *qts = start("-device virtio-mdev-blk,id=b0,size=4M");
    PkRing p;
    Dev d;

    dev_init(&d, qts, "/machine/peripheral/b0");
    g_assert_cmphex(dev_negotiate(&d, DRV_FEATURES | F(VIRTIO_F_RING_PACKED)) &
                    VIRTIO_CONFIG_S_FEATURES_OK, ==,
                    VIRTIO_CONFIG_S_FEATURES_OK);
    pk_setup(&d, &p, PK_NUM);
    driver_ok(&d);

    for (unsigned n = 0; n < 20; n++) {
        uint32_t len = 4096 + 512 * (n % 5);
        g_autofree uint8_t *data = g_malloc(len);
        g_autofree uint8_t *got = g_malloc(len);
        Req w, r;

        fill(data, len, 300 + n);
        req_init(&d, &w, VIRTIO_BLK_T_OUT, 16 * n, len);
        qtest_bufwrite(qts, req_data(&w), data, len);
        g_assert_cmpuint(pk_run(&d, &p, &w, n % 3 == 2 ? LAY_INDIRECT :
                                LAY_SPLIT, n % 2 ? 1024 : 0, 2 * n), ==,
                         VIRTIO_BLK_S_OK);
        g_assert_cmpuint(w.used_len, ==, 1);
        req_init(&d, &r, VIRTIO_BLK_T_IN, 16 * n, len);
        g_assert_cmpuint(pk_run(&d, &p, &r, n % 3 == 1 ? LAY_INDIRECT :
                                LAY_MERGE, n % 2 ? 0 : 1536, 2 * n + 1), ==,
                         VIRTIO_BLK_S_OK);
        g_assert_cmpuint(r.used_len, ==, len + 1);
        qtest_bufread(qts, req_data(&r), got, len);
        g_assert_cmpmem(got, len, data, len);
    }
    /* Bad requests answer on the packed ring too. */
    {
        Req r;

        req_init(&d, &r, VIRTIO_BLK_T_IN, 4 * MiB / SECTOR, SECTOR);
        g_assert_cmpuint(pk_run(&d, &p, &r, LAY_SPLIT, 0, 99), ==,
                         VIRTIO_BLK_S_IOERR);
        g_assert_cmpuint(r.used_len, ==, 1);
        req_init(&d, &r, VIRTIO_BLK_T_FLUSH, 0, 0);
        g_assert_cmpuint(pk_run(&d, &p, &r, LAY_SPLIT, 0, 7), ==,
                         VIRTIO_BLK_S_OK);
    }
    g_assert_cmpuint(stat_of(&d, "packets"), ==, 42);
    g_assert_cmpuint(stat_of(&d, "errors"), ==, 1);
    g_assert_cmpuint(rd(&d, VIRTIO_MMIO_STATUS), ==, S_RUNNING);
    qtest_quit(qts);
}

/* ---- migration ---- */

/* How the migrating disk is given: "%s" in @disk is the image's path. */
typedef enum MigDisk {
    MIG_DRIVE,          /* -drive if=none,id=d0 */
    MIG_NODE,           /* -blockdev node-name=n0 */
    MIG_RAM,            /* the RAM disk: its contents do not migrate */
} MigDisk;

/*
 * A running disk migrates between two live QEMUs sharing the image: ring
 * positions and statistics survive, a request made available (not kicked)
 * before migration is served on the destination, and what was written on
 * the source reads back there and is in the file.
 */
static void migrate_disk(MigDisk kind)
{
    g_autofree char *img = image_new(4 * MiB, 8);
    g_autofree char *sock = g_strdup_printf("%s/mvblk-test-%d.sock",
                                            g_get_tmp_dir(), getpid());
    g_autofree char *uri = g_strdup_printf("unix:%s", sock);
    g_autofree char *disk =
        kind == MIG_DRIVE ? g_strdup_printf("-drive if=none,id=d0,file=%s,"
                                            "format=raw -device "
                                            "virtio-mdev-blk,drive=d0", img) :
        kind == MIG_NODE ? g_strdup_printf("-blockdev driver=file,"
                                           "filename=%s,node-name=n0 -device "
                                           "virtio-mdev-blk,drive=n0", img) :
        g_strdup("-device virtio-mdev-blk,size=4M");
    g_autofree char *args = g_strdup_printf(
        "-m 64 %s,id=b0,serial=migr,"
        "uuid=6b2e6a1c-1b2c-4d1e-9a51-0e3f0000b10c", disk);
    g_autofree char *dst_args = g_strdup_printf("%s -incoming defer", args);
    g_autofree uint8_t *data = g_malloc(8192);
    QTestState *src = start(args), *dst = start(dst_args);
    char id[VIRTIO_BLK_ID_BYTES];
    Req pending;
    Dev d;

    qtest_qmp_assert_success(dst, "{'execute': 'migrate-incoming', "
                             "'arguments': {'uri': %s}}", uri);
    dev_init(&d, src, "/machine/peripheral/b0");
    dev_start(&d, DRV_FEATURES);
    g_assert_cmpuint(blk_write(&d, 16, 8192, 40, LAY_SPLIT, 0), ==,
                     VIRTIO_BLK_S_OK);
    g_assert_cmpuint(blk_simple(&d, VIRTIO_BLK_T_FLUSH, 0), ==,
                     VIRTIO_BLK_S_OK);
    /* made available, not kicked: the device has not looked yet */
    fill(data, 8192, 41);
    req_init(&d, &pending, VIRTIO_BLK_T_OUT, 64, 8192);
    qtest_bufwrite(src, req_data(&pending), data, 8192);
    req_post(&d, &pending, LAY_INDIRECT, 0);
    avail_publish(&d);
    g_assert_true(used_stays(&d, 2, 20));

    qtest_qmp_assert_success(src, "{'execute': 'migrate', 'arguments': "
                             "{'uri': %s}}", uri);
    vmq_wait_migration(src, "query-migrate", "status", "completed");
    vmq_wait_migration(dst, "query-status", "status", "running");
    qtest_quit(src);

    d.qts = dst;
    g_assert_cmpuint(rd(&d, VIRTIO_MMIO_STATUS), ==, S_RUNNING);
    wr(&d, VIRTIO_MMIO_QUEUE_SEL, 0);
    g_assert_cmpuint(rd(&d, VIRTIO_MMIO_QUEUE_READY), ==, 1);
    /* The pending request is served (a kick does no harm). */
    kick(&d);
    req_wait(&d, &pending);
    g_assert_cmpuint(req_status(&d, &pending), ==, VIRTIO_BLK_S_OK);
    g_assert_cmpuint(pending.used_len, ==, 1);
    g_assert_cmpuint(stat_of(&d, "packets"), ==, 3);
    check_read(&d, 16, 8192, kind == MIG_RAM ? -1 : 40, LAY_MERGE, 0);
    check_read(&d, 64, 8192, 41, LAY_INDIRECT, 2048);
    g_assert_cmpuint(blk_get_id(&d, id, sizeof(id)), ==, VIRTIO_BLK_S_OK);
    g_assert_cmpmem(id, 4, "migr", 4);
    g_assert_cmpuint(blk_simple(&d, VIRTIO_BLK_T_FLUSH, 0), ==,
                     VIRTIO_BLK_S_OK);
    g_assert_cmpuint(stat_of(&d, "packets"), ==, 7);
    g_assert_cmpuint(stat_of(&d, "write-bytes"), ==, 2 * 8192);
    qtest_quit(dst);
    if (kind != MIG_RAM) {
        check_image(img, 16 * SECTOR, 8192, 40, 0);
        check_image(img, 64 * SECTOR, 8192, 41, 0);
        check_image(img, 0, 16 * SECTOR, 8, 0);
    }
    unlink(img);
    unlink(sock);
}

static void test_migrate_drive(void)
{
    migrate_disk(MIG_DRIVE);
}

static void test_migrate_node(void)
{
    migrate_disk(MIG_NODE);
}

static void test_migrate_ram(void)
{
    migrate_disk(MIG_RAM);
}

/*
 * Migration to a destination whose disk differs (@dst_dev against
 * @src_dev) is refused with an error naming the property (@want, on the
 * destination's stderr); the source, told over the return path, runs on
 * and its disk still answers.
 */
static void migrate_refused(const char *src_dev, const char *dst_dev,
                            const char *want)
{
    g_autofree char *dir = g_dir_make_tmp("mvblk-test-XXXXXX", NULL);
    g_autofree char *sock = g_build_filename(dir, "sock", NULL);
    g_autofree char *uri = g_strdup_printf("unix:%s", sock);
    g_autofree char *err = g_build_filename(dir, "stderr", NULL);
    g_autofree char *src_args = g_strdup_printf("-m 64 %s,id=b0", src_dev);
    g_autofree char *dst_args = g_strdup_printf("-m 64 %s,id=b0 -incoming "
                                                "defer 2>%s", dst_dev, err);
    g_autofree char *text = NULL;
    QTestState *src = start(src_args), *dst = start(dst_args);
    Dev d;

    for (unsigned i = 0; i < 2; i++) {
        qtest_qmp_assert_success(i ? dst : src,
            "{'execute': 'migrate-set-capabilities', 'arguments': "
            "{'capabilities': [{'capability': 'return-path', "
            "'state': true}]}}");
    }
    qtest_qmp_assert_success(dst, "{'execute': 'migrate-incoming', "
                             "'arguments': {'uri': %s, "
                             "'exit-on-error': false}}", uri);
    dev_init(&d, src, "/machine/peripheral/b0");
    dev_start(&d, DRV_FEATURES);
    qtest_qmp_assert_success(src, "{'execute': 'migrate', 'arguments': "
                             "{'uri': %s}}", uri);
    vmq_wait_migration(src, "query-migrate", "status", "failed");
    vmq_wait_migration(dst, "query-migrate", "status", "failed");
    g_assert_true(g_file_get_contents(err, &text, NULL, NULL));
    g_test_message("destination: %s", text);
    g_assert_nonnull(strstr(text, want));
    qtest_quit(dst);

    vmq_wait_migration(src, "query-status", "status", "running");
    g_assert_cmpuint(blk_write(&d, 0, 4096, 7, LAY_SPLIT, 0), ==,
                     VIRTIO_BLK_S_OK);
    check_read(&d, 0, 4096, 7, LAY_MERGE, 0);
    qtest_quit(src);
    unlink(err);
    unlink(sock);
    rmdir(dir);
}

static void test_migrate_refused(void)
{
    migrate_refused("-device virtio-mdev-blk,size=1M",
                    "-device virtio-mdev-blk,size=2M",
                    "property 'size': the disk has 2048 sectors on the "
                    "migration source and 4096 here");
    migrate_refused("-device virtio-mdev-blk,size=1M",
                    "-device virtio-mdev-blk,size=1M,flush=off",
                    "property 'flush' is on on the migration source and "
                    "off here");
}

/* ---- start-up errors ---- */

static void test_errors(void)
{
    g_autofree char *img = image_new(64 * KiB, 0);
    g_autofree char *twice = g_strdup_printf(
        "-drive if=none,id=d0,file=%s,format=raw "
        "-device virtio-mdev-blk,drive=d0 -device virtio-mdev-blk,drive=d0",
        img);

    expect_startup_error("-device virtio-mdev-blk,drive=nope",
                         "no drive or block node named 'nope'");
    expect_startup_error("-device virtio-mdev-blk,size=1000",
                         "is not a multiple of 512 in 4K..64G");
    expect_startup_error("-device virtio-mdev-blk,size=128G",
                         "is not a multiple of 512 in 4K..64G");
    expect_startup_error("-device virtio-mdev-blk,"
                         "serial=123456789012345678901",
                         "is longer than 20 characters");
    /* A second writer of the same drive is refused. */
    expect_startup_error(twice, "Permission conflict on node");
    unlink(img);
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

static void add_machine_tests(const char *m)
{
    static const struct {
        const char *name;
        void (*fn)(void);
    } tests[] = {
        { "ids", test_ids },
        { "features", test_features },
        { "config", test_config },
        { "rw", test_rw },
        { "file", test_file },
        { "flush-get-id", test_flush_get_id },
        { "resize", test_resize },
        { "discard-write-zeroes", test_discard_write_zeroes },
        { "bad-requests", test_bad_requests },
        { "no-status", test_no_status },
        { "readonly", test_readonly },
        { "many-in-flight", test_many_in_flight },
        { "reset-during-io", test_reset_during_io },
        { "regression/data-in-own-mmio", test_regression_data_in_own_mmio },
        { "stats", test_stats },
        { "legacy", test_legacy },
        { "packed", test_packed },
        { "migrate/drive", test_migrate_drive },
        { "migrate/node", test_migrate_node },
        { "migrate/ram-disk", test_migrate_ram },
        { "migrate/refused", test_migrate_refused },
        { "errors", test_errors },
    };

    for (size_t i = 0; i < G_N_ELEMENTS(tests); i++) {
        g_autofree char *path = NULL;
        MachineTest *t = g_new(MachineTest, 1);  /* glib frees it after */

        t->machine = m;
        t->fn = tests[i].fn;
        path = g_strdup_printf("/virtio-mdev-blk/%s/%s", m, tests[i].name);
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
