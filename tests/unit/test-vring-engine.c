/*
 * Unit tests of the vring engine over plain memory
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * A mock driver lays out split rings in a buffer that stands for guest
 * memory; the memory backend checks every access against the buffer, can
 * map in short pieces (per direction) to force split copies, and checks
 * that every unmap matches an outstanding map and none is left over.
 */

#include "qemu/osdep.h"
#include "qemu/atomic.h"
#include "qemu/bswap.h"
#include "hw/virtio/vring-engine.h"

#define MEM_BASE        0x100000ULL
#define MEM_SIZE        (1 << 20)
#define QSZ             16
#define DESC_ADDR       (MEM_BASE)
#define AVAIL_ADDR      (MEM_BASE + 0x1000)
#define USED_ADDR       (MEM_BASE + 0x2000)
#define DATA_ADDR       (MEM_BASE + 0x10000)

#define F_NEXT      1
#define F_WRITE     2
#define F_INDIRECT  4

#define MAX_MAPS    4

typedef struct TestMap {
    void *ptr;
    uint64_t len;           /* as map returned it */
    bool is_write;
} TestMap;

typedef struct TestMem {
    uint8_t *buf;
    uint64_t map_limit;     /* 0: map fails; else bytes per map */
    uint64_t write_map_limit;   /* for writable maps; 0: as map_limit */
    TestMap maps[MAX_MAPS]; /* outstanding mappings */
    unsigned nmaps;
    uint64_t watch;         /* reads that cover this address are counted */
    unsigned watch_reads;
    /*
     * 2-byte fields at field_base + k * field_stride, k < nfields, that the
     * driver may write at any time: a copy that writes one fails, and one
     * that reads one too with guard_reads (a packed descriptor is copied
     * whole once its flags said it is available: it is stable then).
     */
    uint64_t field_base, field_stride;
    unsigned nfields;
    bool guard_reads;
} TestMem;

static bool mem_range(TestMem *m, uint64_t addr, uint64_t len)
{
    return addr >= MEM_BASE && len <= MEM_SIZE &&
           addr - MEM_BASE <= MEM_SIZE - len;
}

/* Whether [addr, addr + len) covers a byte of a guarded shared field. */
static bool mem_covers_field(TestMem *m, uint64_t addr, uint64_t len)
{
    for (unsigned k = 0; k < m->nfields; k++) {
        uint64_t f = m->field_base + k * m->field_stride;

        if (addr < f + 2 && f < addr + len) {
            return true;
        }
    }
    return false;
}

static bool mem_read(void *opaque, uint64_t addr, void *buf, uint64_t len)
{
    TestMem *m = opaque;

    if (!mem_range(m, addr, len)) {
        return false;
    }
    if (m->guard_reads && mem_covers_field(m, addr, len)) {
        g_error("copy of %" PRIu64 " bytes at 0x%" PRIx64 " reads a field "
                "the driver shares", len, addr);
    }
    if (m->watch >= addr && m->watch < addr + len) {
        m->watch_reads++;
    }
    memcpy(buf, m->buf + (addr - MEM_BASE), len);
    return true;
}

static bool mem_write(void *opaque, uint64_t addr, const void *buf,
                      uint64_t len)
{
    TestMem *m = opaque;

    if (!mem_range(m, addr, len)) {
        return false;
    }
    if (mem_covers_field(m, addr, len)) {
        g_error("copy of %" PRIu64 " bytes at 0x%" PRIx64 " writes a field "
                "the driver shares", len, addr);
    }
    memcpy(m->buf + (addr - MEM_BASE), buf, len);
    return true;
}

static bool mem_ld16(void *opaque, uint64_t addr, uint16_t *val)
{
    TestMem *m = opaque;

    g_assert_cmpuint(addr & 1, ==, 0);
    if (!mem_range(m, addr, 2)) {
        return false;
    }
    if (m->watch >= addr && m->watch < addr + 2) {
        m->watch_reads++;
    }
    *val = le16_to_cpu(qatomic_read((uint16_t *)(m->buf + (addr - MEM_BASE))));
    return true;
}

static bool mem_st16(void *opaque, uint64_t addr, uint16_t val)
{
    TestMem *m = opaque;

    g_assert_cmpuint(addr & 1, ==, 0);
    if (!mem_range(m, addr, 2)) {
        return false;
    }
    qatomic_set((uint16_t *)(m->buf + (addr - MEM_BASE)), cpu_to_le16(val));
    return true;
}

static void *mem_map(void *opaque, uint64_t addr, uint64_t *len,
                     bool is_write)
{
    TestMem *m = opaque;
    uint64_t limit = is_write && m->write_map_limit ? m->write_map_limit
                                                    : m->map_limit;
    TestMap *t;

    if (!limit || !mem_range(m, addr, 1)) {
        return NULL;
    }
    g_assert_cmpuint(m->nmaps, <, MAX_MAPS);
    *len = MIN(*len, limit);
    *len = MIN(*len, MEM_SIZE - (addr - MEM_BASE));
    t = &m->maps[m->nmaps++];
    *t = (TestMap) {
        .ptr = m->buf + (addr - MEM_BASE), .len = *len, .is_write = is_write,
    };
    return t->ptr;
}

/* Each unmap must release an outstanding map with its exact length. */
static void mem_unmap(void *opaque, void *ptr, uint64_t len, bool is_write,
                      uint64_t access_len)
{
    TestMem *m = opaque;
    unsigned i;

    for (i = 0; i < m->nmaps; i++) {
        if (m->maps[i].ptr == ptr && m->maps[i].len == len &&
            m->maps[i].is_write == is_write) {
            break;
        }
    }
    if (i == m->nmaps) {
        g_error("unmap of %p len %" PRIu64 " matches no outstanding map",
                ptr, len);
    }
    g_assert_cmpuint(access_len, <=, len);
    m->maps[i] = m->maps[--m->nmaps];
}

static const VringMemOps test_mem_ops = {
    .read = mem_read, .write = mem_write, .ld16 = mem_ld16, .st16 = mem_st16,
    .map = mem_map, .unmap = mem_unmap,
};

/* The mock driver */

typedef struct Fixture {
    TestMem mem;
    Vring vr;
    VringChain chain;
    uint16_t avail_idx;
    uint16_t next_desc;
} Fixture;

static uint8_t *gpa(Fixture *f, uint64_t addr)
{
    return f->mem.buf + (addr - MEM_BASE);
}

static void put_desc(Fixture *f, uint64_t table, unsigned i, uint64_t addr,
                     uint32_t len, uint16_t flags, uint16_t next)
{
    uint8_t *d = gpa(f, table + 16 * i);

    stq_le_p(d, addr);
    stl_le_p(d + 8, len);
    stw_le_p(d + 12, flags);
    stw_le_p(d + 14, next);
}

/* Make @head available (without publishing the index). */
static void put_avail(Fixture *f, uint16_t head)
{
    stw_le_p(gpa(f, AVAIL_ADDR + 4 + 2 * (f->avail_idx % QSZ)), head);
    f->avail_idx++;
}

static void publish(Fixture *f)
{
    stw_le_p(gpa(f, AVAIL_ADDR + 2), f->avail_idx);
}

static uint16_t used_idx(Fixture *f)
{
    return lduw_le_p(gpa(f, USED_ADDR + 2));
}

static void used_elem(Fixture *f, uint16_t i, uint32_t *id, uint32_t *len)
{
    uint8_t *e = gpa(f, USED_ADDR + 4 + 8 * (i % QSZ));

    *id = ldl_le_p(e);
    *len = ldl_le_p(e + 4);
}

static void fixture_setup(Fixture *f, uint64_t features)
{
    VringConfig cfg = {
        .features = features, .num = QSZ, .desc = DESC_ADDR,
        .driver = AVAIL_ADDR, .device = USED_ADDR,
    };

    memset(f, 0, sizeof(*f));
    f->mem.buf = g_malloc0(MEM_SIZE);
    vring_init_mem(&f->vr, &test_mem_ops, &f->mem);
    g_assert_cmpint(vring_setup(&f->vr, &cfg), ==, 0);
    vring_chain_init(&f->chain, QSZ);
}

static void fixture_teardown(Fixture *f)
{
    g_assert_cmpuint(f->mem.nmaps, ==, 0);
    vring_chain_free(&f->chain);
    g_free(f->mem.buf);
}

/* A chain of one readable buffer of @len bytes at DATA_ADDR + 0x100*i. */
static void add_simple(Fixture *f, unsigned i, uint32_t len, bool write)
{
    put_desc(f, DESC_ADDR, i, DATA_ADDR + 0x100 * i, len,
             write ? F_WRITE : 0, 0);
    put_avail(f, i);
}

/* The avail and used indexes are read and written as single accesses. */
static void test_split_index_single_access(void)
{
    Fixture f;
    uint32_t id, len;

    fixture_setup(&f, 0);
    f.mem.field_base = AVAIL_ADDR + 2;
    f.mem.field_stride = USED_ADDR - AVAIL_ADDR;
    f.mem.nfields = 2;
    f.mem.guard_reads = true;
    for (unsigned i = 0; i < 3 * QSZ; i++) {
        add_simple(&f, i % QSZ, 64, true);
        publish(&f);
        g_assert_cmpint(vring_pop(&f.vr, &f.chain, false, true), ==, 1);
        g_assert_cmpint(vring_fill(&f.vr, &f.chain, 60), ==, 0);
        g_assert_cmpint(vring_flush(&f.vr), ==, 0);
        g_assert_cmpuint(used_idx(&f), ==, i + 1);
        used_elem(&f, i, &id, &len);
        g_assert_cmpuint(id, ==, i % QSZ);
    }
    fixture_teardown(&f);
}

static void test_split_basic(void)
{
    Fixture f;
    uint32_t id, len;

    fixture_setup(&f, 0);
    g_assert_cmpint(vring_pop(&f.vr, &f.chain, true, true), ==, 0);

    /* head 3: out 10 + out 20, then in 30 */
    put_desc(&f, DESC_ADDR, 3, DATA_ADDR, 10, F_NEXT, 7);
    put_desc(&f, DESC_ADDR, 7, DATA_ADDR + 100, 20, F_NEXT, 1);
    put_desc(&f, DESC_ADDR, 1, DATA_ADDR + 200, 30, F_WRITE, 0);
    put_avail(&f, 3);
    publish(&f);
    g_assert_true(vring_has_avail(&f.vr));
    g_assert_cmpint(vring_pop(&f.vr, &f.chain, true, true), ==, 1);
    g_assert_cmpuint(f.chain.head, ==, 3);
    g_assert_cmpuint(f.chain.nout, ==, 2);
    g_assert_cmpuint(f.chain.nin, ==, 1);
    g_assert_cmpuint(f.chain.out_len, ==, 30);
    g_assert_cmpuint(f.chain.in_len, ==, 30);
    g_assert_cmpuint(f.chain.bufs[2].addr, ==, DATA_ADDR + 200);
    g_assert_cmpint(vring_pop(&f.vr, &f.chain, true, true), ==, 0);

    g_assert_cmpint(vring_fill(&f.vr, &f.chain, 25), ==, 0);
    g_assert_cmpuint(used_idx(&f), ==, 0);      /* not yet published */
    g_assert_cmpint(vring_flush(&f.vr), ==, 0);
    g_assert_cmpuint(used_idx(&f), ==, 1);
    used_elem(&f, 0, &id, &len);
    g_assert_cmpuint(id, ==, 3);
    g_assert_cmpuint(len, ==, 25);
    fixture_teardown(&f);
}

/*
 * A split ring's avail index is read once per batch, not per chain; a
 * bad index is still caught, when the entries seen before are used up.
 */
static void test_avail_idx_once(void)
{
    Fixture f;

    fixture_setup(&f, 0);
    for (unsigned i = 0; i < 8; i++) {
        add_simple(&f, i, 64, false);
    }
    publish(&f);
    f.mem.watch = AVAIL_ADDR + 2;
    for (unsigned i = 0; i < 8; i++) {
        g_assert_cmpint(vring_pop(&f.vr, &f.chain, true, false), ==, 1);
        g_assert_cmpuint(f.chain.head, ==, i);
        g_assert_cmpint(vring_fill(&f.vr, &f.chain, 0), ==, 0);
    }
    g_assert_cmpuint(f.mem.watch_reads, ==, 1);
    g_assert_cmpint(vring_pop(&f.vr, &f.chain, true, false), ==, 0);
    g_assert_cmpuint(f.mem.watch_reads, ==, 2);

    f.avail_idx += QSZ + 1;     /* more than the ring holds */
    publish(&f);
    g_assert_cmpint(vring_pop(&f.vr, &f.chain, true, false), ==,
                    -VRING_ERR_AVAIL_IDX);
    fixture_teardown(&f);
}

static void test_split_wrap(void)
{
    Fixture f;

    fixture_setup(&f, 0);
    /* Run the 16-bit indexes across their wrap-around. */
    f.avail_idx = 65530;
    publish(&f);
    f.vr.last_avail_idx = 65530;
    f.vr.used_idx = 65530;
    for (unsigned n = 0; n < 12; n++) {
        add_simple(&f, n % QSZ, 64, false);
        publish(&f);
        g_assert_cmpint(vring_pop(&f.vr, &f.chain, true, false), ==, 1);
        g_assert_cmpuint(f.chain.head, ==, n % QSZ);
        g_assert_cmpint(vring_fill(&f.vr, &f.chain, 0), ==, 0);
        g_assert_cmpint(vring_flush(&f.vr), ==, 0);
    }
    g_assert_cmpuint(used_idx(&f), ==, (uint16_t)(65530 + 12));
    fixture_teardown(&f);
}

static void test_indirect(void)
{
    Fixture f;
    uint64_t table = DATA_ADDR + 0x8000;

    fixture_setup(&f, 1ULL << VRING_F_INDIRECT_DESC);
    put_desc(&f, table, 0, DATA_ADDR, 14, F_NEXT, 1);
    put_desc(&f, table, 1, DATA_ADDR + 0x100, 1000, F_NEXT, 2);
    put_desc(&f, table, 2, DATA_ADDR + 0x800, 512, F_WRITE, 0);
    put_desc(&f, DESC_ADDR, 5, table, 3 * 16, F_INDIRECT, 0);
    put_avail(&f, 5);
    publish(&f);
    g_assert_cmpint(vring_pop(&f.vr, &f.chain, true, true), ==, 1);
    g_assert_cmpuint(f.chain.head, ==, 5);
    g_assert_cmpuint(f.chain.nout, ==, 2);
    g_assert_cmpuint(f.chain.nin, ==, 1);
    g_assert_cmpuint(f.chain.out_len, ==, 1014);
    g_assert_cmpuint(f.chain.in_len, ==, 512);
    fixture_teardown(&f);
}

static void test_event_idx(void)
{
    Fixture f;
    uint64_t used_event = AVAIL_ADDR + 4 + 2 * QSZ;
    uint64_t avail_event = USED_ADDR + 4 + 8 * QSZ;

    fixture_setup(&f, 1ULL << VRING_F_EVENT_IDX);
    f.avail_idx = 65534;
    f.vr.last_avail_idx = f.vr.used_idx = 65534;
    publish(&f);

    /* The first notification is always sent. */
    add_simple(&f, 0, 60, false);
    publish(&f);
    g_assert_cmpint(vring_pop(&f.vr, &f.chain, true, false), ==, 1);
    /* pop asks for a kick at the next entry */
    g_assert_cmpuint(lduw_le_p(gpa(&f, avail_event)), ==, 65535);
    vring_fill(&f.vr, &f.chain, 0);
    vring_flush(&f.vr);
    g_assert_true(vring_need_notify(&f.vr));

    /* Driver wants an interrupt only after used idx passes 0 (wrapped). */
    stw_le_p(gpa(&f, used_event), 0);
    add_simple(&f, 1, 60, false);
    publish(&f);
    g_assert_cmpint(vring_pop(&f.vr, &f.chain, true, false), ==, 1);
    vring_fill(&f.vr, &f.chain, 0);
    vring_flush(&f.vr);                 /* used idx 65535 -> 0 */
    g_assert_false(vring_need_notify(&f.vr));
    add_simple(&f, 2, 60, false);
    publish(&f);
    g_assert_cmpint(vring_pop(&f.vr, &f.chain, true, false), ==, 1);
    vring_fill(&f.vr, &f.chain, 0);
    vring_flush(&f.vr);                 /* used idx 0 -> 1: crosses 0 */
    g_assert_true(vring_need_notify(&f.vr));

    /* Disabled: pops no longer move avail_event; enable reports pending. */
    vring_disable_notify(&f.vr);
    add_simple(&f, 3, 60, false);
    publish(&f);
    g_assert_cmpint(vring_pop(&f.vr, &f.chain, true, false), ==, 1);
    g_assert_cmpuint(lduw_le_p(gpa(&f, avail_event)), ==, 1);
    add_simple(&f, 4, 60, false);
    publish(&f);
    g_assert_true(vring_enable_notify(&f.vr));
    g_assert_cmpuint(lduw_le_p(gpa(&f, avail_event)), ==, f.avail_idx);
    fixture_teardown(&f);
}

static void test_no_event_idx_flags(void)
{
    Fixture f;

    fixture_setup(&f, 0);
    add_simple(&f, 0, 60, false);
    publish(&f);
    g_assert_cmpint(vring_pop(&f.vr, &f.chain, true, false), ==, 1);
    vring_fill(&f.vr, &f.chain, 0);
    vring_flush(&f.vr);
    g_assert_true(vring_need_notify(&f.vr));
    /* Nothing new published: no notification. */
    g_assert_false(vring_need_notify(&f.vr));
    g_assert_cmpint(vring_flush(&f.vr), ==, 0);
    g_assert_false(vring_need_notify(&f.vr));

    add_simple(&f, 1, 60, false);
    publish(&f);
    g_assert_cmpint(vring_pop(&f.vr, &f.chain, true, false), ==, 1);
    vring_fill(&f.vr, &f.chain, 0);
    vring_flush(&f.vr);
    stw_le_p(gpa(&f, AVAIL_ADDR), 1);           /* VRING_AVAIL_F_NO_INTERRUPT */
    g_assert_false(vring_need_notify(&f.vr));

    vring_disable_notify(&f.vr);
    g_assert_cmpuint(lduw_le_p(gpa(&f, USED_ADDR)), ==, 1);  /* NO_NOTIFY */
    g_assert_false(vring_enable_notify(&f.vr));
    g_assert_cmpuint(lduw_le_p(gpa(&f, USED_ADDR)), ==, 0);
    fixture_teardown(&f);
}

typedef struct CopyCase {
    uint64_t map_limit, write_map_limit;
} CopyCase;

/*
 * With short maps on one side only ("short-dst-maps"), the old copy
 * unmapped the source with the destination's shorter length, which the
 * backend now refuses.
 */
static void test_copy(gconstpointer data)
{
    const CopyCase *c = data;
    Fixture f;
    VringChain rx;
    uint8_t pattern[3000], out[3000];

    fixture_setup(&f, 0);
    f.mem.map_limit = c->map_limit;
    f.mem.write_map_limit = c->write_map_limit;
    for (unsigned i = 0; i < sizeof(pattern); i++) {
        pattern[i] = i * 7 + 3;
    }
    /* TX: 3000 bytes in three pieces; RX: 3000 bytes in two pieces */
    memcpy(gpa(&f, DATA_ADDR), pattern, 1000);
    memcpy(gpa(&f, DATA_ADDR + 0x1000), pattern + 1000, 1);
    memcpy(gpa(&f, DATA_ADDR + 0x2000), pattern + 1001, 1999);
    put_desc(&f, DESC_ADDR, 0, DATA_ADDR, 1000, F_NEXT, 1);
    put_desc(&f, DESC_ADDR, 1, DATA_ADDR + 0x1000, 1, F_NEXT, 2);
    put_desc(&f, DESC_ADDR, 2, DATA_ADDR + 0x2000, 1999, 0, 0);
    put_desc(&f, DESC_ADDR, 3, DATA_ADDR + 0x4000, 1500, F_WRITE | F_NEXT, 4);
    put_desc(&f, DESC_ADDR, 4, DATA_ADDR + 0x6000, 1500, F_WRITE, 0);
    put_avail(&f, 0);
    put_avail(&f, 3);
    publish(&f);
    vring_chain_init(&rx, QSZ);
    g_assert_cmpint(vring_pop(&f.vr, &f.chain, true, false), ==, 1);
    g_assert_cmpint(vring_pop(&f.vr, &rx, false, true), ==, 1);
    g_assert_cmpint(vring_chain_copy(&f.vr, &rx, 0, &f.vr, &f.chain, 0,
                                     3000), ==, 3000);
    memcpy(out, gpa(&f, DATA_ADDR + 0x4000), 1500);
    memcpy(out + 1500, gpa(&f, DATA_ADDR + 0x6000), 1500);
    g_assert_cmpmem(out, 3000, pattern, 3000);

    /* read and write at offsets, across buffer edges */
    memset(out, 0, sizeof(out));
    g_assert_cmpint(vring_chain_read(&f.vr, &f.chain, 999, out, 3), ==, 3);
    g_assert_cmpmem(out, 3, pattern + 999, 3);
    g_assert_cmpint(vring_chain_write(&f.vr, &rx, 1499, "ab", 2), ==, 2);
    g_assert_cmpuint(*gpa(&f, DATA_ADDR + 0x4000 + 1499), ==, 'a');
    g_assert_cmpuint(*gpa(&f, DATA_ADDR + 0x6000), ==, 'b');
    /* past the end copies what fits */
    g_assert_cmpint(vring_chain_read(&f.vr, &f.chain, 2990, out, 100), ==, 10);
    vring_chain_free(&rx);
    fixture_teardown(&f);
}

static const CopyCase copy_bounce = { 0, 0 };
static const CopyCase copy_1_byte = { 1, 1 };
static const CopyCase copy_whole = { 1 << 20, 1 << 20 };
static const CopyCase copy_short_src = { 7, 1 << 20 };
static const CopyCase copy_short_dst = { 1 << 20, 7 };

/*
 * The driver places a TX buffer and an RX buffer over the same bytes,
 * @data bytes apart.  Mapped whole, the copy must behave as memmove (the
 * old code called memcpy on the overlapping ranges: undefined, and flagged
 * by valgrind or ASan) and release every map.
 */
static void test_copy_overlap(gconstpointer data)
{
    int shift = (intptr_t)data;
    uint64_t src = DATA_ADDR + 0x1000, dst = src + shift;
    enum { LEN = 3000, AREA = 0x2000 };
    g_autofree uint8_t *expect = g_malloc(AREA);
    VringChain rx;
    Fixture f;

    fixture_setup(&f, 0);
    f.mem.map_limit = 1 << 20;
    for (unsigned i = 0; i < AREA; i++) {
        *gpa(&f, DATA_ADDR + i) = i * 13 + 5;
    }
    memcpy(expect, gpa(&f, DATA_ADDR), AREA);
    memmove(expect + (dst - DATA_ADDR), expect + (src - DATA_ADDR), LEN);

    put_desc(&f, DESC_ADDR, 0, src, LEN, 0, 0);
    put_desc(&f, DESC_ADDR, 1, dst, LEN, F_WRITE, 0);
    put_avail(&f, 0);
    put_avail(&f, 1);
    publish(&f);
    vring_chain_init(&rx, QSZ);
    g_assert_cmpint(vring_pop(&f.vr, &f.chain, true, false), ==, 1);
    g_assert_cmpint(vring_pop(&f.vr, &rx, false, true), ==, 1);
    g_assert_cmpint(vring_chain_copy(&f.vr, &rx, 0, &f.vr, &f.chain, 0, LEN),
                    ==, LEN);
    g_assert_cmpmem(gpa(&f, DATA_ADDR), AREA, expect, AREA);
    vring_chain_free(&rx);
    fixture_teardown(&f);
}

static void test_state(void)
{
    Fixture f, g;
    VringState s;

    fixture_setup(&f, 0);
    for (unsigned i = 0; i < 3; i++) {
        add_simple(&f, i, 60, false);
    }
    publish(&f);
    g_assert_cmpint(vring_pop(&f.vr, &f.chain, true, false), ==, 1);
    g_assert_cmpint(vring_pop(&f.vr, &f.chain, true, false), ==, 1);
    vring_fill(&f.vr, &f.chain, 0);
    vring_flush(&f.vr);
    vring_get_state(&f.vr, &s);
    g_assert_cmpuint(s.avail_idx, ==, 2);
    g_assert_cmpuint(s.used_idx, ==, 1);
    g_assert_cmpuint(s.inflight, ==, 1);

    /* Restore into a second ring over the same memory: it goes on. */
    fixture_setup(&g, 0);
    g_free(g.mem.buf);
    g.mem.buf = f.mem.buf;
    f.mem.buf = g_malloc0(MEM_SIZE);
    g_assert_cmpint(vring_set_state(&g.vr, &s), ==, 0);
    g_assert_cmpint(vring_pop(&g.vr, &g.chain, true, false), ==, 1);
    g_assert_cmpuint(g.chain.head, ==, 2);
    g_assert_cmpint(vring_pop(&g.vr, &g.chain, true, false), ==, 0);

    /* Untrusted state: more in flight than the ring holds. */
    s.avail_idx = 100;
    s.used_idx = 50;
    s.inflight = 50;
    g_assert_cmpint(vring_set_state(&g.vr, &s), ==, -VRING_ERR_STATE);
    fixture_teardown(&f);
    fixture_teardown(&g);
}

/*
 * set_state checks the in-flight chain count against the split indexes
 * (the old state had no count and derived it from the indexes).
 */
static void test_state_inflight(void)
{
    Fixture f, g;
    VringState s;

    fixture_setup(&f, 0);
    s = (VringState) { .avail_idx = 2, .used_idx = 1, .inflight = 0 };
    g_assert_cmpint(vring_set_state(&f.vr, &s), ==, -VRING_ERR_STATE);
    s.inflight = 2;
    g_assert_cmpint(vring_set_state(&f.vr, &s), ==, -VRING_ERR_STATE);
    s.inflight = 1;
    g_assert_cmpint(vring_set_state(&f.vr, &s), ==, 0);
    s = (VringState) { .avail_idx = 1, .used_idx = 65535, .inflight = 2 };
    g_assert_cmpint(vring_set_state(&f.vr, &s), ==, 0);
    fixture_teardown(&f);

    /* A state saved with a fill not yet flushed: still in flight. */
    fixture_setup(&f, 0);
    add_simple(&f, 0, 60, false);
    add_simple(&f, 1, 60, false);
    publish(&f);
    g_assert_cmpint(vring_pop(&f.vr, &f.chain, true, false), ==, 1);
    g_assert_cmpint(vring_pop(&f.vr, &f.chain, true, false), ==, 1);
    g_assert_cmpint(vring_fill(&f.vr, &f.chain, 0), ==, 0);
    vring_get_state(&f.vr, &s);
    g_assert_cmpuint(s.avail_idx, ==, 2);
    g_assert_cmpuint(s.used_idx, ==, 0);
    g_assert_cmpuint(s.inflight, ==, 2);
    fixture_setup(&g, 0);
    g_assert_cmpint(vring_set_state(&g.vr, &s), ==, 0);
    fixture_teardown(&f);
    fixture_teardown(&g);
}

static void test_unpop(void)
{
    Fixture f;

    fixture_setup(&f, 0);
    add_simple(&f, 4, 60, false);
    add_simple(&f, 5, 60, false);
    publish(&f);
    VringChain c2;

    vring_chain_init(&c2, QSZ);
    g_assert_cmpint(vring_pop(&f.vr, &f.chain, true, false), ==, 1);
    g_assert_cmpint(vring_pop(&f.vr, &c2, true, false), ==, 1);
    vring_unpop(&f.vr, &c2);
    vring_unpop(&f.vr, &f.chain);
    vring_chain_free(&c2);
    g_assert_cmpint(vring_pop(&f.vr, &f.chain, true, false), ==, 1);
    g_assert_cmpuint(f.chain.head, ==, 4);
    fixture_teardown(&f);
}

/*
 * A backend that cannot use the available chains yet waits for the driver
 * to go past what it saw (vring_avail_mark), not for a non-empty ring:
 * the old vring_enable_notify() said "available" for the same chains
 * again, and mvnet spun on them.
 */
static void test_avail_mark(void)
{
    VringAvailMark mark;
    Fixture f;

    fixture_setup(&f, 0);
    add_simple(&f, 0, 64, true);
    publish(&f);
    g_assert_cmpint(vring_pop(&f.vr, &f.chain, false, true), ==, 1);
    g_assert_cmpint(vring_pop(&f.vr, &f.chain, false, true), ==, 0);
    vring_avail_mark(&f.vr, &mark);
    vring_unpop(&f.vr, &f.chain);
    g_assert_true(vring_enable_notify(&f.vr));
    g_assert_false(vring_enable_notify_since(&f.vr, &mark));
    add_simple(&f, 1, 64, true);
    publish(&f);
    g_assert_true(vring_enable_notify_since(&f.vr, &mark));
    fixture_teardown(&f);
}

static void test_setup_checks(void)
{
    TestMem mem = { .buf = NULL };
    Vring vr;
    VringConfig cfg = {
        .num = QSZ, .desc = DESC_ADDR, .driver = AVAIL_ADDR,
        .device = USED_ADDR,
    };

    vring_init_mem(&vr, &test_mem_ops, &mem);
    cfg.num = 0;
    g_assert_cmpint(vring_setup(&vr, &cfg), ==, -VRING_ERR_BAD_SIZE);
    cfg.num = 12;
    g_assert_cmpint(vring_setup(&vr, &cfg), ==, -VRING_ERR_BAD_SIZE);
    cfg.num = 65535;
    g_assert_cmpint(vring_setup(&vr, &cfg), ==, -VRING_ERR_BAD_SIZE);
    cfg.num = QSZ;
    cfg.desc = DESC_ADDR + 8;
    g_assert_cmpint(vring_setup(&vr, &cfg), ==, -VRING_ERR_BAD_ADDR);
    cfg.desc = UINT64_MAX - 0xff;       /* wraps */
    g_assert_cmpint(vring_setup(&vr, &cfg), ==, -VRING_ERR_BAD_ADDR);
    cfg.desc = DESC_ADDR;
    cfg.device = USED_ADDR + 2;
    g_assert_cmpint(vring_setup(&vr, &cfg), ==, -VRING_ERR_BAD_ADDR);
    g_assert_false(vring_is_ready(&vr));
    g_assert_cmpint(vring_pop(&vr, NULL, true, true), ==,
                    -VRING_ERR_NOT_READY);
}

#define F_INDIRECT_DESC     (1ULL << VRING_F_INDIRECT_DESC)

/*
 * 15 direct writable descriptors, then an indirect one whose table has 16
 * writable entries: 31 buffers on a ring of 16.  The old code accepted it
 * (its chain storage held 2 * 16) and, moving the writable buffers from
 * the back of that storage to the front in place, scrambled their order.
 * It is longer than the queue size, so it is refused.
 */
static void test_chain_over_queue_size(void)
{
    uint64_t t = DATA_ADDR + 0x8000;
    Fixture f;

    fixture_setup(&f, F_INDIRECT_DESC);
    for (unsigned k = 0; k < 15; k++) {
        put_desc(&f, DESC_ADDR, k, DATA_ADDR + 0x100 * k, 16,
                 F_WRITE | F_NEXT, k + 1);
    }
    put_desc(&f, DESC_ADDR, 15, t, 16 * 16, F_INDIRECT, 0);
    for (unsigned k = 0; k < 16; k++) {
        put_desc(&f, t, k, DATA_ADDR + 0x2000 + 0x100 * k, 16,
                 F_WRITE | (k < 15 ? F_NEXT : 0), k + 1);
    }
    put_avail(&f, 0);
    publish(&f);
    g_assert_cmpint(vring_pop(&f.vr, &f.chain, true, true), ==,
                    -VRING_ERR_CHAIN_TOO_LONG);
    fixture_teardown(&f);
}

/* A chain of exactly the queue size is whole and in chain order. */
static void test_chain_queue_size(void)
{
    uint64_t t = DATA_ADDR + 0x8000;
    Fixture f;

    fixture_setup(&f, F_INDIRECT_DESC);
    for (unsigned k = 0; k < 8; k++) {
        put_desc(&f, DESC_ADDR, k, DATA_ADDR + 0x100 * k, 16 + k,
                 F_WRITE | F_NEXT, k + 1);
        put_desc(&f, t, k, DATA_ADDR + 0x100 * (8 + k), 24 + k,
                 F_WRITE | (k < 7 ? F_NEXT : 0), k + 1);
    }
    put_desc(&f, DESC_ADDR, 8, t, 8 * 16, F_INDIRECT, 0);
    put_avail(&f, 0);
    publish(&f);
    g_assert_cmpint(vring_pop(&f.vr, &f.chain, false, true), ==, 1);
    g_assert_cmpuint(f.chain.nout, ==, 0);
    g_assert_cmpuint(f.chain.nin, ==, QSZ);
    for (unsigned k = 0; k < QSZ; k++) {
        g_assert_cmpuint(f.chain.bufs[k].addr, ==, DATA_ADDR + 0x100 * k);
        g_assert_cmpuint(f.chain.bufs[k].len, ==, 16 + k);
    }
    fixture_teardown(&f);
}

/*
 * Chain storage smaller than the ring: a chain that does not fit is
 * refused, one that does is popped.  (The old storage held twice the size
 * asked for, so it accepted the longer chain.)
 */
static void test_chain_storage_small(void)
{
    VringChain small;
    Fixture f;

    fixture_setup(&f, 0);
    vring_chain_init(&small, 4);
    for (unsigned k = 0; k < 4; k++) {
        put_desc(&f, DESC_ADDR, k, DATA_ADDR + 0x100 * k, 60,
                 k < 3 ? F_NEXT : 0, k + 1);
    }
    put_avail(&f, 0);
    publish(&f);
    g_assert_cmpint(vring_pop(&f.vr, &small, true, false), ==, 1);
    g_assert_cmpuint(small.nout, ==, 4);
    g_assert_cmpuint(small.bufs[3].addr, ==, DATA_ADDR + 0x300);

    for (unsigned k = 4; k < 9; k++) {
        put_desc(&f, DESC_ADDR, k, DATA_ADDR + 0x100 * k, 60,
                 k < 8 ? F_NEXT : 0, k + 1);
    }
    put_avail(&f, 4);
    publish(&f);
    g_assert_cmpint(vring_pop(&f.vr, &small, true, false), ==,
                    -VRING_ERR_CHAIN_TOO_LONG);
    vring_chain_free(&small);
    fixture_teardown(&f);
}

/* Every error, the new ones included, has a description. */
static void test_strerror(void)
{
    for (int e = VRING_OK; e < VRING_ERR__MAX; e++) {
        g_assert_nonnull(vring_strerror(e));
    }
    g_assert_nonnull(vring_strerror(VRING_ERR__MAX));
}

/*
 * Malformed input: each case builds a bad chain and expects its own error,
 * then checks the ring stays broken until set up again.
 */
typedef struct BadCase {
    const char *name;
    uint64_t features;
    void (*build)(Fixture *f);
    VringError err;
    bool want_out, want_in;
} BadCase;

static void bad_avail_jump(Fixture *f)
{
    add_simple(f, 0, 60, false);
    f->avail_idx = QSZ + 1;
}

static void bad_head(Fixture *f)
{
    put_avail(f, QSZ);
}

static void bad_next(Fixture *f)
{
    put_desc(f, DESC_ADDR, 0, DATA_ADDR, 60, F_NEXT, QSZ);
    put_avail(f, 0);
}

static void bad_loop(Fixture *f)
{
    put_desc(f, DESC_ADDR, 0, DATA_ADDR, 60, F_NEXT, 1);
    put_desc(f, DESC_ADDR, 1, DATA_ADDR, 60, F_NEXT, 0);
    put_avail(f, 0);
}

static void bad_indirect_loop(Fixture *f)
{
    uint64_t t = DATA_ADDR + 0x8000;

    put_desc(f, t, 0, DATA_ADDR, 60, F_NEXT, 1);
    put_desc(f, t, 1, DATA_ADDR, 60, F_NEXT, 0);
    put_desc(f, DESC_ADDR, 0, t, 32, F_INDIRECT, 0);
    put_avail(f, 0);
}

static void bad_indirect_nested(Fixture *f)
{
    uint64_t t = DATA_ADDR + 0x8000;

    put_desc(f, t, 0, t, 16, F_INDIRECT, 0);
    put_desc(f, DESC_ADDR, 0, t, 16, F_INDIRECT, 0);
    put_avail(f, 0);
}

/* Nested table after a buffer, in a chain with direct descriptors. */
static void bad_indirect_nested_later(Fixture *f)
{
    uint64_t t = DATA_ADDR + 0x8000;

    put_desc(f, t, 0, DATA_ADDR, 60, F_NEXT, 1);
    put_desc(f, t, 1, t, 16, F_INDIRECT, 0);
    put_desc(f, DESC_ADDR, 0, DATA_ADDR, 60, F_NEXT, 1);
    put_desc(f, DESC_ADDR, 1, t, 32, F_INDIRECT, 0);
    put_avail(f, 0);
}

static void bad_indirect_no_feature(Fixture *f)
{
    put_desc(f, DESC_ADDR, 0, DATA_ADDR + 0x8000, 16, F_INDIRECT, 0);
    put_avail(f, 0);
}

static void bad_indirect_with_next(Fixture *f)
{
    put_desc(f, DESC_ADDR, 0, DATA_ADDR + 0x8000, 16, F_INDIRECT | F_NEXT, 1);
    put_avail(f, 0);
}

static void bad_indirect_len0(Fixture *f)
{
    put_desc(f, DESC_ADDR, 0, DATA_ADDR + 0x8000, 0, F_INDIRECT, 0);
    put_avail(f, 0);
}

static void bad_indirect_len_odd(Fixture *f)
{
    put_desc(f, DESC_ADDR, 0, DATA_ADDR + 0x8000, 24, F_INDIRECT, 0);
    put_avail(f, 0);
}

static void bad_indirect_too_big(Fixture *f)
{
    put_desc(f, DESC_ADDR, 0, DATA_ADDR + 0x8000, 16 * (QSZ + 1),
             F_INDIRECT, 0);
    put_avail(f, 0);
}

static void bad_indirect_outside(Fixture *f)
{
    /* A table straddling the end of memory: entry 1 is outside. */
    uint64_t t = MEM_BASE + MEM_SIZE - 16;

    put_desc(f, t, 0, DATA_ADDR, 60, F_NEXT, 1);
    put_desc(f, DESC_ADDR, 0, t, 32, F_INDIRECT, 0);
    put_avail(f, 0);
}

static void bad_zero_len(Fixture *f)
{
    put_desc(f, DESC_ADDR, 0, DATA_ADDR, 0, 0, 0);
    put_avail(f, 0);
}

static void bad_chain_len(Fixture *f)
{
    put_desc(f, DESC_ADDR, 0, DATA_ADDR, 0x80000000u, F_NEXT, 1);
    put_desc(f, DESC_ADDR, 1, DATA_ADDR, 0x80000000u, 0, 0);
    put_avail(f, 0);
}

static void bad_addr_wrap(Fixture *f)
{
    put_desc(f, DESC_ADDR, 0, UINT64_MAX - 10, 60, 0, 0);
    put_avail(f, 0);
}

static void bad_read_after_write(Fixture *f)
{
    put_desc(f, DESC_ADDR, 0, DATA_ADDR, 60, F_WRITE | F_NEXT, 1);
    put_desc(f, DESC_ADDR, 1, DATA_ADDR, 60, 0, 0);
    put_avail(f, 0);
}

static void bad_direction(Fixture *f)
{
    add_simple(f, 0, 60, true);         /* writable in a TX-only ring */
}

static void bad_desc_table_unmapped(Fixture *f)
{
    /* Ring set up inside memory, but the indirect table is outside. */
    put_desc(f, DESC_ADDR, 0, 0x10, 16, F_INDIRECT, 0);
    put_avail(f, 0);
}

static const BadCase bad_cases[] = {
    { "avail-idx-jump", 0, bad_avail_jump, VRING_ERR_AVAIL_IDX, true, true },
    { "head-out-of-range", 0, bad_head, VRING_ERR_HEAD, true, true },
    { "next-out-of-range", 0, bad_next, VRING_ERR_NEXT, true, true },
    { "loop", 0, bad_loop, VRING_ERR_LOOP, true, true },
    { "indirect-loop", 1ULL << VRING_F_INDIRECT_DESC, bad_indirect_loop,
      VRING_ERR_LOOP, true, true },
    { "indirect-nested", 1ULL << VRING_F_INDIRECT_DESC, bad_indirect_nested,
      VRING_ERR_INDIRECT_NESTED, true, true },
    { "indirect-nested-later", 1ULL << VRING_F_INDIRECT_DESC,
      bad_indirect_nested_later, VRING_ERR_INDIRECT_NESTED, true, true },
    { "indirect-not-negotiated", 0, bad_indirect_no_feature,
      VRING_ERR_INDIRECT, true, true },
    { "indirect-with-next", 1ULL << VRING_F_INDIRECT_DESC,
      bad_indirect_with_next, VRING_ERR_INDIRECT, true, true },
    { "indirect-len-zero", 1ULL << VRING_F_INDIRECT_DESC, bad_indirect_len0,
      VRING_ERR_INDIRECT_LEN, true, true },
    { "indirect-len-not-16", 1ULL << VRING_F_INDIRECT_DESC,
      bad_indirect_len_odd, VRING_ERR_INDIRECT_LEN, true, true },
    { "indirect-too-big", 1ULL << VRING_F_INDIRECT_DESC,
      bad_indirect_too_big, VRING_ERR_INDIRECT_LEN, true, true },
    { "indirect-straddles-memory-end", 1ULL << VRING_F_INDIRECT_DESC,
      bad_indirect_outside, VRING_ERR_MEM, true, true },
    { "indirect-unmapped", 1ULL << VRING_F_INDIRECT_DESC,
      bad_desc_table_unmapped, VRING_ERR_MEM, true, true },
    { "zero-length", 0, bad_zero_len, VRING_ERR_ZERO_LEN, true, true },
    { "chain-length-overflow", 0, bad_chain_len, VRING_ERR_CHAIN_LEN,
      true, true },
    { "buffer-address-wraps", 0, bad_addr_wrap, VRING_ERR_MEM, true, true },
    { "readable-after-writable", 0, bad_read_after_write,
      VRING_ERR_READ_AFTER_WRITE, true, true },
    { "writable-in-tx", 0, bad_direction, VRING_ERR_DIRECTION, true, false },
};

static void test_bad(gconstpointer data)
{
    const BadCase *c = data;
    VringConfig cfg = {
        .features = c->features, .num = QSZ, .desc = DESC_ADDR,
        .driver = AVAIL_ADDR, .device = USED_ADDR,
    };
    Fixture f;

    fixture_setup(&f, c->features);
    c->build(&f);
    publish(&f);
    g_assert_cmpint(vring_pop(&f.vr, &f.chain, c->want_out, c->want_in), ==,
                    -(int)c->err);
    g_assert_nonnull(vring_strerror(c->err));
    /* Broken until set up again; a fill is refused too. */
    g_assert_cmpint(vring_pop(&f.vr, &f.chain, true, true), ==,
                    -VRING_ERR_BROKEN);
    g_assert_cmpint(vring_fill(&f.vr, &f.chain, 0), ==, -VRING_ERR_BROKEN);
    g_assert_cmpint(vring_setup(&f.vr, &cfg), ==, 0);
    g_assert_cmpint(vring_pop(&f.vr, &f.chain, true, true), !=,
                    -VRING_ERR_BROKEN);
    fixture_teardown(&f);
}

/* ---- packed rings ---- */

#define P_AVAIL     (1 << 7)
#define P_USED      (1 << 15)
#define F_PACKED    (1ULL << VRING_F_RING_PACKED)

typedef struct PackedDriver {
    uint16_t num;
    uint16_t next;      /* next descriptor position */
    bool wrap;          /* driver ring wrap counter */
    uint16_t used_pos;  /* next used descriptor to look at */
    bool used_wrap;
} PackedDriver;

static void packed_setup(Fixture *f, PackedDriver *pd, uint16_t num,
                         uint64_t features)
{
    VringConfig cfg = {
        .features = features | F_PACKED, .num = num, .desc = DESC_ADDR,
        .driver = AVAIL_ADDR, .device = USED_ADDR,
    };

    memset(f, 0, sizeof(*f));
    f->mem.buf = g_malloc0(MEM_SIZE);
    vring_init_mem(&f->vr, &test_mem_ops, &f->mem);
    g_assert_cmpint(vring_setup(&f->vr, &cfg), ==, 0);
    vring_chain_init(&f->chain, num);
    *pd = (PackedDriver) { .num = num, .wrap = true, .used_wrap = true };
}

static void pk_put(Fixture *f, uint16_t pos, uint64_t addr, uint32_t len,
                   uint16_t id, uint16_t flags)
{
    uint8_t *d = gpa(f, DESC_ADDR + 16 * pos);

    stq_le_p(d, addr);
    stl_le_p(d + 8, len);
    stw_le_p(d + 12, id);
    stw_le_p(d + 14, flags);
}

/*
 * Make a chain of @n buffers available with buffer id @id; @write_from is
 * the first writable buffer.  The head's flags are written last.
 */
static void pk_add(Fixture *f, PackedDriver *pd, unsigned n, uint32_t len,
                   unsigned write_from, uint16_t id)
{
    uint16_t head = pd->next, head_flags = 0;
    bool head_wrap = pd->wrap;

    for (unsigned k = 0; k < n; k++) {
        uint16_t fl = (k + 1 < n ? F_NEXT : 0) |
                      (k >= write_from ? F_WRITE : 0) |
                      (pd->wrap ? P_AVAIL : P_USED);

        if (k == 0) {
            head_flags = fl;
            pk_put(f, pd->next, DATA_ADDR + 0x1000 * k, len, id, 0);
            /* write flags later */
            stw_le_p(gpa(f, DESC_ADDR + 16 * pd->next + 14),
                     head_wrap ? P_USED : P_AVAIL);    /* not yet avail */
        } else {
            pk_put(f, pd->next, DATA_ADDR + 0x1000 * k, len, id, fl);
        }
        if (++pd->next == pd->num) {
            pd->next = 0;
            pd->wrap = !pd->wrap;
        }
    }
    stw_le_p(gpa(f, DESC_ADDR + 16 * head + 14), head_flags);
}

/* The same for packed rings: the mark is a position and a wrap counter. */
static void test_packed_avail_mark(void)
{
    VringAvailMark mark;
    PackedDriver pd;
    Fixture f;

    packed_setup(&f, &pd, 4, 0);
    for (uint16_t id = 0; id < 4; id++) {      /* fill the ring: wraps */
        pk_add(&f, &pd, 1, 64, 0, id);
    }
    for (int i = 0; i < 4; i++) {
        g_assert_cmpint(vring_pop(&f.vr, &f.chain, false, true), ==, 1);
        g_assert_cmpint(vring_fill(&f.vr, &f.chain, 0), ==, 0);
    }
    pk_add(&f, &pd, 1, 64, 0, 0);
    g_assert_cmpint(vring_pop(&f.vr, &f.chain, false, true), ==, 1);
    g_assert_cmpint(vring_pop(&f.vr, &f.chain, false, true), ==, 0);
    vring_avail_mark(&f.vr, &mark);
    g_assert_false(mark.wrap);
    vring_unpop(&f.vr, &f.chain);
    g_assert_true(vring_enable_notify(&f.vr));
    g_assert_false(vring_enable_notify_since(&f.vr, &mark));
    pk_add(&f, &pd, 1, 64, 0, 1);
    g_assert_true(vring_enable_notify_since(&f.vr, &mark));
    fixture_teardown(&f);
}

/* The next used descriptor, if the device wrote it: id and length. */
static bool pk_used(Fixture *f, PackedDriver *pd, unsigned ndesc,
                    uint16_t *id, uint32_t *len)
{
    uint8_t *d = gpa(f, DESC_ADDR + 16 * pd->used_pos);
    uint16_t fl = lduw_le_p(d + 14);
    bool avail = fl & P_AVAIL, used = fl & P_USED;

    if (avail != pd->used_wrap || used != pd->used_wrap) {
        return false;
    }
    *len = ldl_le_p(d + 8);
    *id = lduw_le_p(d + 12);
    pd->used_pos += ndesc;
    if (pd->used_pos >= pd->num) {
        pd->used_pos -= pd->num;
        pd->used_wrap = !pd->used_wrap;
    }
    return true;
}

static void test_packed_basic(void)
{
    Fixture f;
    PackedDriver pd;
    uint16_t id;
    uint32_t len;

    packed_setup(&f, &pd, QSZ, 0);
    g_assert_cmpint(vring_pop(&f.vr, &f.chain, true, true), ==, 0);
    pk_add(&f, &pd, 3, 100, 2, 7);
    g_assert_true(vring_has_avail(&f.vr));
    g_assert_cmpint(vring_pop(&f.vr, &f.chain, true, true), ==, 1);
    g_assert_cmpuint(f.chain.head, ==, 7);
    g_assert_cmpuint(f.chain.ndesc, ==, 3);
    g_assert_cmpuint(f.chain.nout, ==, 2);
    g_assert_cmpuint(f.chain.nin, ==, 1);
    g_assert_cmpuint(f.chain.out_len, ==, 200);
    g_assert_cmpint(vring_pop(&f.vr, &f.chain, true, true), ==, 0);
    g_assert_false(pk_used(&f, &pd, 3, &id, &len));
    g_assert_cmpint(vring_fill(&f.vr, &f.chain, 50), ==, 0);
    g_assert_cmpint(vring_flush(&f.vr), ==, 0);
    g_assert_true(pk_used(&f, &pd, 3, &id, &len));
    g_assert_cmpuint(id, ==, 7);
    g_assert_cmpuint(len, ==, 50);
    fixture_teardown(&f);
}

/*
 * The descriptor flags are the one field both sides write: the device
 * reads and writes them only with single 16-bit accesses (a copy may
 * store a byte twice, undoing the driver's next flags), over several laps.
 */
static void test_packed_flags_single_access(void)
{
    Fixture f;
    PackedDriver pd;
    uint16_t id;
    uint32_t len;

    packed_setup(&f, &pd, QSZ, 0);
    f.mem.field_base = DESC_ADDR + 14;
    f.mem.field_stride = 16;
    f.mem.nfields = QSZ;
    for (unsigned i = 0; i < 3 * QSZ; i++) {
        pk_add(&f, &pd, 1, 64, 0, i % QSZ);
        g_assert_cmpint(vring_pop(&f.vr, &f.chain, false, true), ==, 1);
        g_assert_cmpint(vring_fill(&f.vr, &f.chain, 60), ==, 0);
        g_assert_cmpint(vring_flush(&f.vr), ==, 0);
        g_assert_true(pk_used(&f, &pd, 1, &id, &len));
        g_assert_cmpuint(id, ==, i % QSZ);
        g_assert_cmpuint(len, ==, 60);
    }
    fixture_teardown(&f);
}

static void test_packed_wrap(void)
{
    Fixture f;
    PackedDriver pd;
    uint16_t id;
    uint32_t len;

    /* Any size works for packed rings; chains cross the end of the ring. */
    packed_setup(&f, &pd, 5, 0);
    for (unsigned n = 0; n < 20; n++) {
        unsigned ndesc = 1 + n % 3;

        pk_add(&f, &pd, ndesc, 60, ndesc, n);
        g_assert_cmpint(vring_pop(&f.vr, &f.chain, true, false), ==, 1);
        g_assert_cmpuint(f.chain.head, ==, n);
        g_assert_cmpuint(f.chain.nout, ==, ndesc);
        g_assert_cmpint(vring_fill(&f.vr, &f.chain, n), ==, 0);
        g_assert_true(pk_used(&f, &pd, ndesc, &id, &len));
        g_assert_cmpuint(id, ==, n);
        g_assert_cmpuint(len, ==, n);
        g_assert_cmpint(vring_pop(&f.vr, &f.chain, true, false), ==, 0);
    }
    fixture_teardown(&f);
}

static void test_packed_indirect(void)
{
    Fixture f;
    PackedDriver pd;
    uint64_t t = DATA_ADDR + 0x8000;
    uint8_t *d;

    packed_setup(&f, &pd, QSZ, 1ULL << VRING_F_INDIRECT_DESC);
    for (unsigned k = 0; k < 3; k++) {
        d = gpa(&f, t + 16 * k);
        stq_le_p(d, DATA_ADDR + 0x100 * k);
        stl_le_p(d + 8, 10 + k);
        stw_le_p(d + 14, k == 2 ? F_WRITE : 0);
    }
    pk_put(&f, 0, t, 48, 9, F_INDIRECT | P_AVAIL);
    g_assert_cmpint(vring_pop(&f.vr, &f.chain, true, true), ==, 1);
    g_assert_cmpuint(f.chain.head, ==, 9);
    g_assert_cmpuint(f.chain.ndesc, ==, 1);
    g_assert_cmpuint(f.chain.nout, ==, 2);
    g_assert_cmpuint(f.chain.nin, ==, 1);
    g_assert_cmpuint(f.chain.in_len, ==, 12);

    /* A nested table is refused. */
    d = gpa(&f, t);
    stw_le_p(d + 14, F_INDIRECT);
    pk_put(&f, 1, t, 48, 10, F_INDIRECT | P_AVAIL);
    g_assert_cmpint(vring_pop(&f.vr, &f.chain, true, true), ==,
                    -VRING_ERR_INDIRECT_NESTED);
    fixture_teardown(&f);

    /* ... also after other entries of the table */
    packed_setup(&f, &pd, QSZ, 1ULL << VRING_F_INDIRECT_DESC);
    for (unsigned k = 0; k < 3; k++) {
        d = gpa(&f, t + 16 * k);
        stq_le_p(d, k == 2 ? t : DATA_ADDR + 0x100 * k);
        stl_le_p(d + 8, 16);
        stw_le_p(d + 14, k == 2 ? F_INDIRECT : 0);
    }
    pk_put(&f, 0, t, 48, 9, F_INDIRECT | P_AVAIL);
    g_assert_cmpint(vring_pop(&f.vr, &f.chain, true, true), ==,
                    -VRING_ERR_INDIRECT_NESTED);
    fixture_teardown(&f);
}

/*
 * A frame that needs more receive chains than there are pops them, gives
 * them back and waits: the kick it asks for must be the one that makes
 * the next descriptor available, not one for the chains given back (the
 * driver made those available long ago and will never kick for them).
 */
static void test_packed_notify_after_unpop(void)
{
    Fixture f;
    PackedDriver pd;
    VringChain c2;
    VringAvailMark mark;

    packed_setup(&f, &pd, 8, 1ULL << VRING_F_EVENT_IDX);
    vring_chain_init(&c2, 8);
    pk_add(&f, &pd, 1, 1500, 0, 0);
    pk_add(&f, &pd, 1, 1500, 0, 1);
    g_assert_cmpint(vring_pop(&f.vr, &f.chain, false, true), ==, 1);
    g_assert_cmpint(vring_pop(&f.vr, &c2, false, true), ==, 1);
    g_assert_cmpint(vring_pop(&f.vr, &c2, false, true), ==, 0);
    vring_avail_mark(&f.vr, &mark);
    vring_unpop(&f.vr, &c2);
    vring_unpop(&f.vr, &f.chain);
    g_assert_false(vring_enable_notify_since(&f.vr, &mark));
    /* desc mode at position 2, wrap counter 1 */
    g_assert_cmpuint(lduw_le_p(gpa(&f, USED_ADDR)), ==, 2 | 1 << 15);
    g_assert_cmpuint(lduw_le_p(gpa(&f, USED_ADDR + 2)), ==, 2);
    pk_add(&f, &pd, 1, 1500, 0, 2);
    g_assert_true(vring_has_avail(&f.vr));
    vring_chain_free(&c2);
    fixture_teardown(&f);
}

static void test_packed_notify(void)
{
    Fixture f;
    PackedDriver pd;
    uint16_t id;
    uint32_t len;

    packed_setup(&f, &pd, 4, 1ULL << VRING_F_EVENT_IDX);
    /* Driver: notifications disabled */
    stw_le_p(gpa(&f, AVAIL_ADDR + 2), 1);
    pk_add(&f, &pd, 1, 60, 1, 0);
    g_assert_cmpint(vring_pop(&f.vr, &f.chain, true, false), ==, 1);
    vring_fill(&f.vr, &f.chain, 0);
    g_assert_false(vring_need_notify(&f.vr));
    /* enabled: notified once per publication */
    stw_le_p(gpa(&f, AVAIL_ADDR + 2), 0);
    pk_add(&f, &pd, 1, 60, 1, 1);
    g_assert_cmpint(vring_pop(&f.vr, &f.chain, true, false), ==, 1);
    vring_fill(&f.vr, &f.chain, 0);
    g_assert_true(vring_need_notify(&f.vr));
    g_assert_false(vring_need_notify(&f.vr));
    /* desc mode: only when the used position passes off_wrap = 3 (wrap 1) */
    stw_le_p(gpa(&f, AVAIL_ADDR), 3 | 1 << 15);
    stw_le_p(gpa(&f, AVAIL_ADDR + 2), 2);
    pk_add(&f, &pd, 1, 60, 1, 2);
    g_assert_cmpint(vring_pop(&f.vr, &f.chain, true, false), ==, 1);
    vring_fill(&f.vr, &f.chain, 0);         /* used 2 -> 3 */
    g_assert_false(vring_need_notify(&f.vr));
    pk_add(&f, &pd, 1, 60, 1, 3);
    g_assert_cmpint(vring_pop(&f.vr, &f.chain, true, false), ==, 1);
    vring_fill(&f.vr, &f.chain, 0);         /* used 3 -> 0, passes 3 */
    g_assert_true(vring_need_notify(&f.vr));
    for (int i = 0; i < 4; i++) {
        g_assert_true(pk_used(&f, &pd, 1, &id, &len));
    }
    /*
     * Device event area: disabled, then desc mode at our avail position
     * (0 after four slots of four: wrap counter 0), moved by each pop.
     */
    vring_disable_notify(&f.vr);
    g_assert_cmpuint(lduw_le_p(gpa(&f, USED_ADDR + 2)), ==, 1);
    g_assert_false(vring_enable_notify(&f.vr));
    g_assert_cmpuint(lduw_le_p(gpa(&f, USED_ADDR + 2)), ==, 2);
    g_assert_cmpuint(lduw_le_p(gpa(&f, USED_ADDR)), ==, 0);
    pk_add(&f, &pd, 1, 60, 1, 4);
    g_assert_true(vring_enable_notify(&f.vr));
    g_assert_cmpint(vring_pop(&f.vr, &f.chain, true, false), ==, 1);
    g_assert_cmpuint(lduw_le_p(gpa(&f, USED_ADDR)), ==, 1);
    /* Popped while disabled: the offset stays, no kick is asked for. */
    vring_disable_notify(&f.vr);
    pk_add(&f, &pd, 1, 60, 1, 5);
    g_assert_cmpint(vring_pop(&f.vr, &f.chain, true, false), ==, 1);
    g_assert_cmpuint(lduw_le_p(gpa(&f, USED_ADDR)), ==, 1);
    fixture_teardown(&f);
}

/* Without EVENT_IDX the device area only says enable or disable. */
static void test_packed_notify_flags(void)
{
    Fixture f;
    PackedDriver pd;

    packed_setup(&f, &pd, 4, 0);
    vring_disable_notify(&f.vr);
    g_assert_cmpuint(lduw_le_p(gpa(&f, USED_ADDR + 2)), ==, 1);
    g_assert_false(vring_enable_notify(&f.vr));
    g_assert_cmpuint(lduw_le_p(gpa(&f, USED_ADDR + 2)), ==, 0);
    pk_add(&f, &pd, 1, 60, 1, 0);
    g_assert_cmpint(vring_pop(&f.vr, &f.chain, true, false), ==, 1);
    g_assert_cmpuint(lduw_le_p(gpa(&f, USED_ADDR)), ==, 0);
    fixture_teardown(&f);
}

static void test_packed_unpop_state(void)
{
    Fixture f, g;
    PackedDriver pd;
    VringChain c2;
    VringState s;

    packed_setup(&f, &pd, 5, 0);
    vring_chain_init(&c2, 5);
    /* move near the end, then a 3-descriptor chain that wraps */
    for (unsigned n = 0; n < 4; n++) {
        pk_add(&f, &pd, 1, 60, 1, n);
        g_assert_cmpint(vring_pop(&f.vr, &f.chain, true, false), ==, 1);
        vring_fill(&f.vr, &f.chain, 0);
    }
    pk_add(&f, &pd, 3, 60, 3, 40);
    pk_add(&f, &pd, 1, 60, 1, 41);
    g_assert_cmpint(vring_pop(&f.vr, &f.chain, true, false), ==, 1);
    g_assert_cmpint(vring_pop(&f.vr, &c2, true, false), ==, 1);
    g_assert_cmpuint(c2.head, ==, 41);
    vring_unpop(&f.vr, &c2);
    vring_unpop(&f.vr, &f.chain);
    g_assert_cmpint(vring_pop(&f.vr, &f.chain, true, false), ==, 1);
    g_assert_cmpuint(f.chain.head, ==, 40);
    g_assert_cmpuint(f.chain.ndesc, ==, 3);

    /* state: positions with wrap counters in bit 15 */
    vring_get_state(&f.vr, &s);
    g_assert_cmpuint(s.avail_idx, ==, 2);           /* wrapped: bit 15 0 */
    g_assert_cmpuint(s.used_idx, ==, 4 | 1 << 15);
    packed_setup(&g, &pd, 5, 0);
    g_free(g.mem.buf);
    g.mem.buf = f.mem.buf;
    f.mem.buf = g_malloc0(MEM_SIZE);
    g_assert_cmpint(vring_set_state(&g.vr, &s), ==, 0);
    g_assert_cmpint(vring_pop(&g.vr, &g.chain, true, false), ==, 1);
    g_assert_cmpuint(g.chain.head, ==, 41);
    g_assert_cmpint(vring_fill(&g.vr, &g.chain, 0), ==, 0);
    /* untrusted: position past the ring, or used ahead of avail */
    s.avail_idx = 7;
    g_assert_cmpint(vring_set_state(&g.vr, &s), ==, -VRING_ERR_STATE);
    s.avail_idx = 1 | 1 << 15;
    s.used_idx = 3 | 1 << 15;
    g_assert_cmpint(vring_set_state(&g.vr, &s), ==, -VRING_ERR_STATE);
    vring_chain_free(&c2);
    fixture_teardown(&f);
    fixture_teardown(&g);
}

/*
 * Migration counts chains, not descriptors: two 3-descriptor chains in
 * flight restore as two.  The old code derived six from the positions, so
 * a third fill was accepted and wrote a used entry for no chain.
 */
static void test_packed_state_inflight(void)
{
    Fixture f, g;
    PackedDriver pd, pd2;
    VringChain c1, c2;
    VringState s;

    packed_setup(&f, &pd, QSZ, 0);
    vring_chain_init(&c1, QSZ);
    vring_chain_init(&c2, QSZ);
    pk_add(&f, &pd, 3, 60, 3, 1);
    pk_add(&f, &pd, 3, 60, 3, 2);
    g_assert_cmpint(vring_pop(&f.vr, &c1, true, false), ==, 1);
    g_assert_cmpint(vring_pop(&f.vr, &c2, true, false), ==, 1);
    vring_get_state(&f.vr, &s);
    g_assert_cmpuint(s.avail_idx, ==, 6 | 1 << 15);
    g_assert_cmpuint(s.used_idx, ==, 0 | 1 << 15);

    packed_setup(&g, &pd2, QSZ, 0);
    g_free(g.mem.buf);
    g.mem.buf = f.mem.buf;
    f.mem.buf = g_malloc0(MEM_SIZE);
    g_assert_cmpint(vring_set_state(&g.vr, &s), ==, 0);
    g_assert_cmpint(vring_fill(&g.vr, &c1, 0), ==, 0);
    g_assert_cmpint(vring_fill(&g.vr, &c2, 0), ==, 0);
    g_assert_cmpint(vring_fill(&g.vr, &c1, 0), ==, -VRING_ERR_USED);
    /* ... because the saved state says two chains, not six descriptors */
    g_assert_cmpuint(s.inflight, ==, 2);
    vring_chain_free(&c1);
    vring_chain_free(&c2);
    fixture_teardown(&f);
    fixture_teardown(&g);
}

/* set_state checks the in-flight count against the descriptor distance. */
static void test_packed_state_check(void)
{
    static const struct {
        uint16_t avail, used, inflight;
        bool ok;
    } checks[] = {
        { 3 | 1 << 15, 3 | 1 << 15, 0, true },
        { 3 | 1 << 15, 3 | 1 << 15, 1, false },     /* nothing between */
        { 6 | 1 << 15, 0 | 1 << 15, 0, false },     /* descriptors, no chain */
        { 6 | 1 << 15, 0 | 1 << 15, 1, true },
        { 6 | 1 << 15, 0 | 1 << 15, 6, true },
        { 6 | 1 << 15, 0 | 1 << 15, 7, false },     /* more than descriptors */
        { 2, 14 | 1 << 15, 4, true },               /* across the wrap */
        { 2, 14 | 1 << 15, 5, false },
        { 5, 5 | 1 << 15, QSZ, true },              /* a full ring */
        { 5, 5 | 1 << 15, QSZ + 1, false },
    };
    Fixture f;
    PackedDriver pd;

    packed_setup(&f, &pd, QSZ, 0);
    for (unsigned i = 0; i < ARRAY_SIZE(checks); i++) {
        VringState s = {
            .avail_idx = checks[i].avail, .used_idx = checks[i].used,
            .inflight = checks[i].inflight,
        };
        int want = checks[i].ok ? 0 : -VRING_ERR_STATE;

        g_assert_cmpint(vring_set_state(&f.vr, &s), ==, want);
    }
    fixture_teardown(&f);
}

/*
 * Direct descriptors plus an indirect table count together against the
 * queue size: 1 + 15 buffers on a ring of 16 pass, 2 + 15 do not (the old
 * code accepted up to twice the queue size).
 */
static void test_packed_chain_limit(void)
{
    uint64_t t = DATA_ADDR + 0x8000;
    Fixture f;
    PackedDriver pd;

    packed_setup(&f, &pd, QSZ, F_INDIRECT_DESC);
    for (unsigned k = 0; k < 15; k++) {
        uint8_t *d = gpa(&f, t + 16 * k);

        stq_le_p(d, DATA_ADDR + 0x100 * k);
        stl_le_p(d + 8, 60);
        stw_le_p(d + 14, 0);
    }
    pk_put(&f, 0, DATA_ADDR + 0x4000, 60, 1, F_NEXT | P_AVAIL);
    pk_put(&f, 1, t, 15 * 16, 1, F_INDIRECT | P_AVAIL);
    g_assert_cmpint(vring_pop(&f.vr, &f.chain, true, false), ==, 1);
    g_assert_cmpuint(f.chain.nout, ==, QSZ);
    g_assert_cmpuint(f.chain.bufs[0].addr, ==, DATA_ADDR + 0x4000);
    g_assert_cmpuint(f.chain.bufs[QSZ - 1].addr, ==, DATA_ADDR + 0xe00);

    pk_put(&f, 2, DATA_ADDR + 0x4000, 60, 2, F_NEXT | P_AVAIL);
    pk_put(&f, 3, DATA_ADDR + 0x5000, 60, 2, F_NEXT | P_AVAIL);
    pk_put(&f, 4, t, 15 * 16, 2, F_INDIRECT | P_AVAIL);
    g_assert_cmpint(vring_pop(&f.vr, &f.chain, true, false), ==,
                    -VRING_ERR_CHAIN_TOO_LONG);
    fixture_teardown(&f);
}

static void test_packed_bad(void)
{
    Fixture f;
    PackedDriver pd;

    /* A chain that never ends: NEXT on every descriptor of the ring. */
    packed_setup(&f, &pd, 4, 0);
    for (unsigned i = 0; i < 4; i++) {
        pk_put(&f, i, DATA_ADDR, 60, 0, F_NEXT | P_AVAIL);
    }
    g_assert_cmpint(vring_pop(&f.vr, &f.chain, true, true), ==,
                    -VRING_ERR_LOOP);
    fixture_teardown(&f);

    packed_setup(&f, &pd, 4, 0);
    pk_put(&f, 0, DATA_ADDR, 0, 0, P_AVAIL);
    g_assert_cmpint(vring_pop(&f.vr, &f.chain, true, true), ==,
                    -VRING_ERR_ZERO_LEN);
    fixture_teardown(&f);

    packed_setup(&f, &pd, 4, 0);
    pk_put(&f, 0, DATA_ADDR, 60, 0, F_WRITE | F_NEXT | P_AVAIL);
    pk_put(&f, 1, DATA_ADDR, 60, 0, P_AVAIL);
    g_assert_cmpint(vring_pop(&f.vr, &f.chain, true, true), ==,
                    -VRING_ERR_READ_AFTER_WRITE);
    fixture_teardown(&f);

    /* Not available: AVAIL and USED both equal to the wrap counter. */
    packed_setup(&f, &pd, 4, 0);
    pk_put(&f, 0, DATA_ADDR, 60, 0, P_AVAIL | P_USED);
    g_assert_cmpint(vring_pop(&f.vr, &f.chain, true, true), ==, 0);
    fixture_teardown(&f);

    /* Misaligned event areas */
    {
        VringConfig cfg = {
            .features = F_PACKED, .num = 4, .desc = DESC_ADDR,
            .driver = AVAIL_ADDR + 2, .device = USED_ADDR,
        };

        packed_setup(&f, &pd, 4, 0);
        g_assert_cmpint(vring_setup(&f.vr, &cfg), ==, -VRING_ERR_BAD_ADDR);
        fixture_teardown(&f);
    }
}

/* Regression: a fill with nothing in flight must not corrupt the ring. */
/*
 * Split used elements are kept and written out at flush, or once
 * VRING_USED_BATCH of them are kept: a burst longer than that, across the
 * end of the used ring, arrives whole and in order, published only then.
 */
static void test_split_used_batch(void)
{
    enum { NUM = 128, START = 100, BURST = 100 };
    VringConfig cfg = { .num = NUM, .desc = DESC_ADDR, .driver = AVAIL_ADDR,
                        .device = USED_ADDR };
    VringState st = { .avail_idx = START, .used_idx = START };
    TestMem m = { .buf = g_malloc0(MEM_SIZE) };
    uint8_t *buf = m.buf - MEM_BASE;
    VringChain c;
    Vring vr;

    vring_init_mem(&vr, &test_mem_ops, &m);
    g_assert_cmpint(vring_setup(&vr, &cfg), ==, 0);
    g_assert_cmpint(vring_set_state(&vr, &st), ==, 0);
    vring_chain_init(&c, NUM);
    for (unsigned i = 0; i < BURST; i++) {
        uint8_t *d = buf + DESC_ADDR + 16 * i;

        stq_le_p(d, DATA_ADDR + 0x100 * i);
        stl_le_p(d + 8, 64);
        stw_le_p(d + 12, F_WRITE);
        stw_le_p(buf + AVAIL_ADDR + 4 + 2 * ((START + i) % NUM), i);
    }
    stw_le_p(buf + AVAIL_ADDR + 2, START + BURST);
    stw_le_p(buf + USED_ADDR + 2, START);
    for (unsigned i = 0; i < BURST; i++) {
        g_assert_cmpint(vring_pop(&vr, &c, false, true), ==, 1);
        g_assert_cmpuint(c.head, ==, i);
        g_assert_cmpint(vring_fill(&vr, &c, i + 1), ==, 0);
    }
    g_assert_cmpuint(lduw_le_p(buf + USED_ADDR + 2), ==, START);
    g_assert_cmpint(vring_flush(&vr), ==, 0);
    g_assert_cmpuint(lduw_le_p(buf + USED_ADDR + 2), ==, START + BURST);
    for (unsigned i = 0; i < BURST; i++) {
        uint8_t *e = buf + USED_ADDR + 4 + 8 * ((START + i) % NUM);

        g_assert_cmpuint(ldl_le_p(e), ==, i);
        g_assert_cmpuint(ldl_le_p(e + 4), ==, i + 1);
    }
    g_assert_cmpuint(m.nmaps, ==, 0);
    vring_chain_free(&c);
    g_free(m.buf);
}

/* A used ring that cannot be written breaks the ring at flush. */
static void test_split_used_batch_fault(void)
{
    Fixture f;

    fixture_setup(&f, 0);
    add_simple(&f, 0, 64, true);
    publish(&f);
    g_assert_cmpint(vring_pop(&f.vr, &f.chain, false, true), ==, 1);
    g_assert_cmpint(vring_fill(&f.vr, &f.chain, 10), ==, 0);
    f.vr.cfg.device = MEM_BASE + MEM_SIZE;  /* as if it were not memory */
    g_assert_cmpint(vring_flush(&f.vr), ==, -VRING_ERR_MEM);
    g_assert_false(vring_is_ready(&f.vr));
    fixture_teardown(&f);
}

static void test_regression_fill_without_pop(void)
{
    Fixture f;

    fixture_setup(&f, 0);
    g_assert_cmpint(vring_fill(&f.vr, &f.chain, 0), ==, -VRING_ERR_USED);
    g_assert_cmpuint(used_idx(&f), ==, 0);
    fixture_teardown(&f);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/vring/split/basic", test_split_basic);
    g_test_add_func("/vring/split/index-single-access",
                    test_split_index_single_access);
    g_test_add_func("/vring/split/avail-mark", test_avail_mark);
    g_test_add_func("/vring/split/avail-idx-once", test_avail_idx_once);
    g_test_add_func("/vring/packed/avail-mark", test_packed_avail_mark);
    g_test_add_func("/vring/split/index-wrap", test_split_wrap);
    g_test_add_func("/vring/split/used-batch", test_split_used_batch);
    g_test_add_func("/vring/split/used-batch-fault",
                    test_split_used_batch_fault);
    g_test_add_func("/vring/split/indirect", test_indirect);
    g_test_add_func("/vring/split/event-idx", test_event_idx);
    g_test_add_func("/vring/split/flags-without-event-idx",
                    test_no_event_idx_flags);
    g_test_add_data_func("/vring/copy/bounce", &copy_bounce, test_copy);
    g_test_add_data_func("/vring/copy/map-1-byte", &copy_1_byte, test_copy);
    g_test_add_data_func("/vring/copy/map-whole", &copy_whole, test_copy);
    g_test_add_data_func("/vring/copy/short-src-maps", &copy_short_src,
                         test_copy);
    g_test_add_data_func("/vring/copy/short-dst-maps", &copy_short_dst,
                         test_copy);
    g_test_add_data_func("/vring/copy/overlap-dst-after", (void *)1,
                         test_copy_overlap);
    g_test_add_data_func("/vring/copy/overlap-dst-before", (void *)-1,
                         test_copy_overlap);
    g_test_add_data_func("/vring/copy/overlap-dst-after-64", (void *)64,
                         test_copy_overlap);
    g_test_add_data_func("/vring/copy/overlap-dst-before-64", (void *)-64,
                         test_copy_overlap);
    g_test_add_func("/vring/state/save-restore", test_state);
    g_test_add_func("/vring/state/inflight-check", test_state_inflight);
    g_test_add_func("/vring/chain/over-queue-size", test_chain_over_queue_size);
    g_test_add_func("/vring/chain/queue-size-in-order", test_chain_queue_size);
    g_test_add_func("/vring/chain/storage-smaller-than-ring",
                    test_chain_storage_small);
    g_test_add_func("/vring/unpop", test_unpop);
    g_test_add_func("/vring/setup/checks", test_setup_checks);
    g_test_add_func("/vring/strerror", test_strerror);
    for (unsigned i = 0; i < ARRAY_SIZE(bad_cases); i++) {
        g_autofree char *path = g_strdup_printf("/vring/bad/%s",
                                                bad_cases[i].name);

        g_test_add_data_func(path, &bad_cases[i], test_bad);
    }
    g_test_add_func("/vring/packed/basic", test_packed_basic);
    g_test_add_func("/vring/packed/flags-single-access",
                    test_packed_flags_single_access);
    g_test_add_func("/vring/packed/wrap-odd-size", test_packed_wrap);
    g_test_add_func("/vring/packed/indirect", test_packed_indirect);
    g_test_add_func("/vring/packed/notify", test_packed_notify);
    g_test_add_func("/vring/packed/notify-after-unpop",
                    test_packed_notify_after_unpop);
    g_test_add_func("/vring/packed/notify-flags", test_packed_notify_flags);
    g_test_add_func("/vring/packed/unpop-and-state",
                    test_packed_unpop_state);
    g_test_add_func("/vring/packed/state-counts-chains",
                    test_packed_state_inflight);
    g_test_add_func("/vring/packed/state-check", test_packed_state_check);
    g_test_add_func("/vring/packed/chain-limit", test_packed_chain_limit);
    g_test_add_func("/vring/packed/bad", test_packed_bad);
    g_test_add_func("/vring/regression/fill-without-pop",
                    test_regression_fill_without_pop);
    return g_test_run();
}
