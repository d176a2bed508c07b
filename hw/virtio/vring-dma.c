/*
 * vring-dma: guest memory for backends that run virtio rings themselves
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * See include/hw/virtio/vring-dma.h.  Readers take the RCU read lock
 * around each use of the snapshot; the snapshot is replaced, never
 * changed, and the old one is destroyed by call_rcu.
 */

#include "qemu/osdep.h"
#include "qemu/atomic.h"
#include "qemu/bswap.h"
#include "qemu/rcu.h"
#include "system/dma.h"
#include "hw/virtio/vring-dma.h"
#include "trace.h"

typedef struct VringDmaArea {
    MemoryRegionCache mrc;
    uint64_t base;
    uint64_t len;
    bool is_write;
} VringDmaArea;

struct VringDmaCache {
    struct rcu_head rcu;
    unsigned n;
    VringDmaArea area[];
};

static void vring_dma_cache_free(VringDmaCache *c)
{
    for (unsigned i = 0; i < c->n; i++) {
        address_space_cache_destroy(&c->area[i].mrc);
    }
    g_free(c);
}

/*
 * Map one area into the next slot of @c; an area that does not map as a
 * whole stays out of the cache and is reached through the slow path.
 */
static void vring_dma_cache_add(VringDma *d, VringDmaCache *c,
                                const VringArea *a)
{
    VringDmaArea *slot = &c->area[c->n];

    address_space_cache_init_empty(&slot->mrc);
    /* Only RAM is cached: a ring elsewhere fails at its first access. */
    if (address_space_cache_init(&slot->mrc, d->as, a->addr, a->len,
                                 a->is_write) < (int64_t)a->len ||
        !slot->mrc.ptr) {
        address_space_cache_destroy(&slot->mrc);
        return;
    }
    slot->base = a->addr;
    slot->len = a->len;
    slot->is_write = a->is_write;
    c->n++;
}

/* Build and publish a new snapshot of every cached queue's areas. */
static void vring_dma_rebuild(VringDma *d)
{
    VringDmaCache *old = d->cache, *c;

    c = g_malloc0(sizeof(*c) + d->nqueues * VRING_AREAS * sizeof(c->area[0]));
    for (unsigned q = 0; q < d->nqueues; q++) {
        VringArea areas[VRING_AREAS];

        if (!d->rings[q].num) {
            continue;
        }
        vring_config_areas(&d->rings[q], areas);
        for (unsigned a = 0; a < VRING_AREAS; a++) {
            vring_dma_cache_add(d, c, &areas[a]);
        }
    }
    trace_vring_dma_rebuild(d->listener.name, c->n);
    qatomic_rcu_set(&d->cache, c);
    if (old) {
        call_rcu(old, vring_dma_cache_free, rcu);
    }
}

static void vring_dma_commit(MemoryListener *listener)
{
    vring_dma_rebuild(container_of(listener, VringDma, listener));
}

void vring_dma_init(VringDma *d, AddressSpace *as, unsigned nqueues,
                    const char *name)
{
    vring_dma_destroy(d);
    d->as = as;
    d->nqueues = nqueues;
    d->rings = g_new0(VringConfig, nqueues);
    d->listener = (MemoryListener) {
        .name = name,
        .commit = vring_dma_commit,
    };
    memory_listener_register(&d->listener, as);
}

void vring_dma_destroy(VringDma *d)
{
    if (!d->as) {
        return;
    }
    memory_listener_unregister(&d->listener);
    if (d->cache) {
        call_rcu(d->cache, vring_dma_cache_free, rcu);
    }
    g_free(d->rings);
    memset(d, 0, sizeof(*d));
}

bool vring_dma_active(const VringDma *d)
{
    return d->as;
}

void vring_dma_set_ring(VringDma *d, unsigned q, const VringConfig *cfg)
{
    assert(d->as && q < d->nqueues);
    if (cfg) {
        d->rings[q] = *cfg;
    } else {
        memset(&d->rings[q], 0, sizeof(d->rings[q]));
    }
    vring_dma_rebuild(d);
}

/* The cached area holding all of [addr, addr + len), or NULL. */
static VringDmaArea *vring_dma_find(VringDmaCache *c, uint64_t addr,
                                    uint64_t len, bool is_write)
{
    for (unsigned i = 0; c && i < c->n; i++) {
        VringDmaArea *a = &c->area[i];

        if ((!is_write || a->is_write) && addr >= a->base &&
            len <= a->len && addr - a->base <= a->len - len) {
            return a;
        }
    }
    return NULL;
}

/*
 * Copy between @buf and guest RAM at @addr, through mappings: like the
 * rings, buffers are RAM only.  An access that reaches MMIO (another
 * device's registers, MMCONFIG, this device's own window) or unassigned
 * space fails, whatever context the backend runs in (a bottom half under
 * the reentrancy guard, or a block layer completion without it).
 */
static bool vring_dma_rw_ram(VringDma *d, uint64_t addr, void *buf,
                             uint64_t len, bool is_write)
{
    uint8_t *b = buf;

    while (len) {
        uint64_t l = len;
        void *p = vring_dma_map(d, addr, &l, is_write);

        if (!p) {
            return false;
        }
        if (is_write) {
            memcpy(p, b, l);
        } else {
            memcpy(b, p, l);
        }
        vring_dma_unmap(d, p, l, is_write, l);
        addr += l;
        b += l;
        len -= l;
    }
    return true;
}

static bool vring_dma_read(void *opaque, uint64_t addr, void *buf,
                           uint64_t len)
{
    VringDma *d = opaque;
    VringDmaArea *a;

    RCU_READ_LOCK_GUARD();
    a = vring_dma_find(qatomic_rcu_read(&d->cache), addr, len, false);
    if (a) {
        return address_space_read_cached(&a->mrc, addr - a->base, buf,
                                         len) == MEMTX_OK;
    }
    return vring_dma_rw_ram(d, addr, buf, len, false);
}

static bool vring_dma_write(void *opaque, uint64_t addr, const void *buf,
                            uint64_t len)
{
    VringDma *d = opaque;
    VringDmaArea *a;

    RCU_READ_LOCK_GUARD();
    a = vring_dma_find(qatomic_rcu_read(&d->cache), addr, len, true);
    if (a) {
        if (address_space_write_cached(&a->mrc, addr - a->base, buf,
                                       len) != MEMTX_OK) {
            return false;
        }
        /* Mark the bytes dirty (migration) and flush them to the MR. */
        address_space_cache_invalidate(&a->mrc, addr - a->base, len);
        return true;
    }
    return vring_dma_rw_ram(d, addr, (void *)buf, len, true);
}

/*
 * A host pointer to the 2-byte aligned field at @addr in RAM: through the
 * cached area *@area, or else a mapping (*@area NULL: unmap it after);
 * NULL when there is none.
 */
static uint16_t *vring_dma_field(VringDma *d, uint64_t addr, bool is_write,
                                 VringDmaArea **area)
{
    VringDmaArea *a = vring_dma_find(qatomic_rcu_read(&d->cache), addr, 2,
                                     is_write);
    uint64_t l = 2;
    void *p;

    *area = NULL;
    if (addr & 1) {
        return NULL;
    }
    if (a && a->mrc.ptr) {
        *area = a;
        return (uint16_t *)(a->mrc.ptr + (addr - a->base));
    }
    p = vring_dma_map(d, addr, &l, is_write);
    if (p && l < 2) {
        vring_dma_unmap(d, p, l, is_write, 0);
        return NULL;
    }
    return p;
}

static bool vring_dma_ld16(void *opaque, uint64_t addr, uint16_t *val)
{
    VringDma *d = opaque;
    VringDmaArea *a;
    uint16_t *p;

    RCU_READ_LOCK_GUARD();
    p = vring_dma_field(d, addr, false, &a);
    if (!p) {
        return false;
    }
    *val = le16_to_cpu(qatomic_read(p));
    if (!a) {
        vring_dma_unmap(d, p, 2, false, 2);
    }
    return true;
}

static bool vring_dma_st16(void *opaque, uint64_t addr, uint16_t val)
{
    VringDma *d = opaque;
    VringDmaArea *a;
    uint16_t *p;

    RCU_READ_LOCK_GUARD();
    p = vring_dma_field(d, addr, true, &a);
    if (!p) {
        return false;
    }
    qatomic_set(p, cpu_to_le16(val));
    if (a) {
        /* Mark the field dirty (migration), as vring_dma_write() does. */
        address_space_cache_invalidate(&a->mrc, addr - a->base, 2);
    } else {
        vring_dma_unmap(d, p, 2, true, 2);
    }
    return true;
}

/*
 * Only RAM is mapped.  dma_memory_map() would hand out a bounce buffer for
 * anything else (MMIO, unassigned space) and replay it at unmap time: a
 * request whose data is a device register would then write that register
 * from an I/O completion, long after the guest's access, e.g. resetting
 * the device from inside its own drain.
 */
void *vring_dma_map(VringDma *d, uint64_t addr, uint64_t *len, bool is_write)
{
    MemTxAttrs attrs = MEMTXATTRS_UNSPECIFIED;
    hwaddr xlat, l = *len;
    dma_addr_t dl;
    MemoryRegion *mr;
    void *p;

    RCU_READ_LOCK_GUARD();
    mr = address_space_translate(d->as, addr, &xlat, &l, is_write, attrs);
    if (!l || !memory_access_is_direct(mr, is_write, attrs)) {
        return NULL;
    }
    dl = l;
    p = dma_memory_map(d->as, addr, &dl,
                       is_write ? DMA_DIRECTION_FROM_DEVICE
                                : DMA_DIRECTION_TO_DEVICE, attrs);
    *len = dl;
    return p;
}

void vring_dma_unmap(VringDma *d, void *ptr, uint64_t len, bool is_write,
                     uint64_t access_len)
{
    dma_memory_unmap(d->as, ptr, len,
                     is_write ? DMA_DIRECTION_FROM_DEVICE
                              : DMA_DIRECTION_TO_DEVICE, access_len);
}

static void *vring_dma_map_op(void *opaque, uint64_t addr, uint64_t *len,
                              bool is_write)
{
    return vring_dma_map(opaque, addr, len, is_write);
}

static void vring_dma_unmap_op(void *opaque, void *ptr, uint64_t len,
                               bool is_write, uint64_t access_len)
{
    vring_dma_unmap(opaque, ptr, len, is_write, access_len);
}

const VringMemOps vring_dma_mem_ops = {
    .read = vring_dma_read,
    .write = vring_dma_write,
    .ld16 = vring_dma_ld16,
    .st16 = vring_dma_st16,
    .map = vring_dma_map_op,
    .unmap = vring_dma_unmap_op,
};
