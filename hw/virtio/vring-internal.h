/*
 * vring engine internals shared by the common code and the ring formats
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * vring-engine.c holds what both formats share (setup, chain building and
 * its checks, copies, dispatch); vring-split.c and vring-packed.c each
 * implement a VringFormat.  Not a public header.  Same return convention
 * as the public API: 0 (or a count) on success, -VringError on failure.
 */

#ifndef HW_VIRTIO_VRING_INTERNAL_H
#define HW_VIRTIO_VRING_INTERNAL_H

#include "qemu/bswap.h"
#include "hw/virtio/vring-engine.h"

/* Descriptor layout and flags common to both formats (virtio 1.x 2.7/2.8) */
#define VRING_DESC_SIZE         16
#define VRING_DESC_F_NEXT       1
#define VRING_DESC_F_WRITE      2
#define VRING_DESC_F_INDIRECT   4

/* One ring format: the engine calls these once the ring is ready. */
struct VringFormat {
    /* Extra check of the size beyond 1..VRING_MAX_SIZE: 0 or -err. */
    int (*check)(const VringConfig *cfg);
    /* The ring areas of @cfg (vring_config_areas). */
    void (*areas)(const VringConfig *cfg, VringArea areas[VRING_AREAS]);
    /*
     * vring_pop on a ready ring: 1 with a chain (in flight, then checked
     * by vring_pop_done), 0 when empty, or -VringError (ring then broken).
     */
    int (*pop)(Vring *vr, VringChain *chain, bool want_out, bool want_in);
    void (*unpop)(Vring *vr, const VringChain *chain);
    /*
     * vring_fill on a ready ring with a chain in flight: 0, or -VringError
     * (ring then broken).
     */
    int (*fill)(Vring *vr, const VringChain *chain, uint32_t len);
    /* 0 or -VringError (ring then broken). */
    int (*flush)(Vring *vr);
    bool (*need_notify)(Vring *vr);
    /*
     * Ask for kicks (@enable) or not.  @from is the first position not
     * available when the caller looked (packed rings with EVENT_IDX ask
     * for the kick that makes it available; chains popped and given back
     * before it do not count).
     */
    void (*set_notify)(Vring *vr, bool enable, const VringAvailMark *from);
    /* Is a chain available at @pos (packed: with wrap counter @wrap)? */
    bool (*avail_at)(Vring *vr, uint16_t pos, bool wrap);
    /* Positions only; the common code adds the in-flight count. */
    void (*get_state)(const Vring *vr, VringState *state);
    /*
     * Check all of @state (positions and in-flight count, see VringState)
     * and apply the positions: 0, or -VRING_ERR_STATE with @vr unchanged.
     */
    int (*set_state)(Vring *vr, const VringState *state);
};

extern const VringFormat vring_split_format;
extern const VringFormat vring_packed_format;

/* Mark the ring broken and return -@err. */
int vring_fail(Vring *vr, VringError err);

/*
 * The helpers below run for every chain: they are inline so that a pop or
 * a fill is one function, not a call per field or per descriptor.
 */

/* Little-endian ring fields through the memory backend. */
static inline bool vring_ld16(Vring *vr, uint64_t addr, uint16_t *val)
{
    return vr->mem->ld16(vr->mem_opaque, addr, val);
}

static inline bool vring_st16(Vring *vr, uint64_t addr, uint16_t val)
{
    return vr->mem->st16(vr->mem_opaque, addr, val);
}

/* [addr, addr + len) is aligned to @align and does not wrap. */
static inline bool vring_area_ok(uint64_t addr, uint64_t len, uint64_t align)
{
    return !(addr & (align - 1)) && addr + len > addr;
}

/* A descriptor as either format stores it. */
typedef struct VringDesc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags;
    uint16_t next;      /* split only: next descriptor (with F_NEXT) */
    uint16_t id;        /* packed only: buffer id */
} VringDesc;

/*
 * Read descriptor @i of the table at @table, in either format: fills
 * @d->next for split, @d->id for packed, and zeroes the other.
 */
static inline bool vring_read_desc(Vring *vr, uint64_t table, unsigned i,
                                   bool packed, VringDesc *d)
{
    /*
     * Two aligned words, each taken whole from the copy the backend just
     * made: loads of 2 and 4 bytes in its middle forward badly.
     */
    uint64_t w[2], hi;

    if (!vr->mem->read(vr->mem_opaque, table + (uint64_t)i * VRING_DESC_SIZE,
                       w, sizeof(w))) {
        return false;
    }
    d->addr = le64_to_cpu(w[0]);
    hi = le64_to_cpu(w[1]);
    d->len = hi;
    if (packed) {                       /* id, flags */
        d->id = hi >> 32;
        d->flags = hi >> 48;
        d->next = 0;
    } else {                            /* flags, next */
        d->flags = hi >> 32;
        d->next = hi >> 48;
        d->id = 0;
    }
    return true;
}

/*
 * Building a chain: vring_chain_begin, then vring_chain_add for each
 * buffer in chain order.  vring_chain_add checks the buffer: not an
 * indirect descriptor (the formats handle a ring-level one themselves, so
 * one reaching here is inside a table: nested), non-zero length, no address
 * wrap, readable before writable, overflow-safe totals, and at most
 * MIN(queue size, chain->cap) buffers in the chain.  Returns 0 or
 * -VringError (ring broken).
 *
 * Buffers are appended in chain order: since a readable buffer after a
 * writable one is refused, that puts the out list first, then the in list.
 */
static inline void vring_chain_begin(VringChain *chain)
{
    chain->nout = chain->nin = 0;
    chain->out_len = chain->in_len = 0;
}

static inline int vring_chain_add(Vring *vr, VringChain *chain,
                                  const VringDesc *d)
{
    unsigned n = chain->nout + chain->nin;
    VringBuf *b;

    if (d->flags & VRING_DESC_F_INDIRECT) {
        /* The only place the "one level of indirection" rule is coded. */
        return vring_fail(vr, VRING_ERR_INDIRECT_NESTED);
    }
    if (d->len == 0) {
        return vring_fail(vr, VRING_ERR_ZERO_LEN);
    }
    if (!vring_area_ok(d->addr, d->len, 1)) {
        return vring_fail(vr, VRING_ERR_MEM);
    }
    if (n >= vr->cfg.num || n >= chain->cap) {
        return vring_fail(vr, VRING_ERR_CHAIN_TOO_LONG);
    }
    if (d->flags & VRING_DESC_F_WRITE) {
        if (chain->in_len + d->len > VRING_MAX_CHAIN_LEN) {
            return vring_fail(vr, VRING_ERR_CHAIN_LEN);
        }
        chain->nin++;
        chain->in_len += d->len;
    } else {
        if (chain->nin) {
            return vring_fail(vr, VRING_ERR_READ_AFTER_WRITE);
        }
        if (chain->out_len + d->len > VRING_MAX_CHAIN_LEN) {
            return vring_fail(vr, VRING_ERR_CHAIN_LEN);
        }
        chain->nout++;
        chain->out_len += d->len;
    }
    b = &chain->bufs[n];
    b->addr = d->addr;
    b->len = d->len;
    return 0;
}

/*
 * The end of a pop that found @chain: count it in flight, then refuse
 * buffers of a direction the caller does not want (see vring_pop).
 */
static inline int vring_pop_done(Vring *vr, const VringChain *chain,
                                 bool want_out, bool want_in)
{
    vr->inflight++;
    if ((!want_out && chain->nout) || (!want_in && chain->nin)) {
        return vring_fail(vr, VRING_ERR_DIRECTION);
    }
    return 1;
}

/*
 * Checks of an indirect descriptor @d found in the ring (not in a table):
 * feature negotiated, not chained, length a non-zero multiple of 16 of at
 * most the ring size, table not wrapping.  Returns 0 or -VringError (ring
 * broken).
 */
int vring_check_indirect(Vring *vr, const VringDesc *d);

#endif /* HW_VIRTIO_VRING_INTERNAL_H */
