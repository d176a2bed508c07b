/*
 * vring engine: split rings (virtio 1.x 2.7)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Descriptor table, avail ring (flags, idx, ring[num], used_event) and used
 * ring (flags, idx, ring[num] of {id, len}, avail_event).  Indexes are
 * free-running 16-bit counters; the size is a power of 2.
 */

#include "qemu/osdep.h"
#include "qemu/atomic.h"
#include "qemu/bswap.h"
#include "vring-internal.h"

#define VRING_AVAIL_F_NO_INTERRUPT  1
#define VRING_USED_F_NO_NOTIFY      1
#define VRING_USED_ELEM_SIZE        8

static uint64_t avail_idx_addr(const Vring *vr)
{
    return vr->cfg.driver + 2;
}

static uint64_t avail_ring_addr(const Vring *vr, uint16_t idx)
{
    return vr->cfg.driver + 4 + 2 * (uint64_t)(idx & (vr->cfg.num - 1));
}

static uint64_t used_event_addr(const Vring *vr)
{
    return vr->cfg.driver + 4 + 2 * (uint64_t)vr->cfg.num;
}

static uint64_t used_idx_addr(const Vring *vr)
{
    return vr->cfg.device + 2;
}

static uint64_t used_elem_addr(const Vring *vr, uint16_t idx)
{
    return vr->cfg.device + 4 +
           VRING_USED_ELEM_SIZE * (uint64_t)(idx & (vr->cfg.num - 1));
}

static uint64_t avail_event_addr(const Vring *vr)
{
    return vr->cfg.device + 4 + VRING_USED_ELEM_SIZE * (uint64_t)vr->cfg.num;
}

static int split_check(const VringConfig *cfg)
{
    return cfg->num & (cfg->num - 1) ? -VRING_ERR_BAD_SIZE : 0;
}

/* Descriptor table, avail ring with used_event, used ring with avail_event */
static void split_areas(const VringConfig *cfg, VringArea a[VRING_AREAS])
{
    uint64_t num = cfg->num;

    a[VRING_AREA_DESC] = (VringArea) { cfg->desc, VRING_DESC_SIZE * num,
                                       16, false };
    a[VRING_AREA_DRIVER] = (VringArea) { cfg->driver, 6 + 2 * num, 2, false };
    a[VRING_AREA_DEVICE] = (VringArea) {
        cfg->device, 6 + VRING_USED_ELEM_SIZE * num, 4, true };
}

/*
 * Walk on from @d, the head descriptor of a chain (read from the ring's
 * table; @d is clobbered): next-linked, optionally ending in one indirect
 * descriptor whose table is walked the same way.  A budget bounds the
 * descriptors read from each table, so a loop ends in VRING_ERR_LOOP;
 * vring_chain_add bounds the buffers of the whole chain.
 */
static G_GNUC_NO_INLINE
int split_walk(Vring *vr, VringChain *chain, VringDesc *d)
{
    uint64_t table = vr->cfg.desc;
    unsigned tsize = vr->cfg.num;
    unsigned budget = tsize - 1;        /* the head is read */
    bool in_indirect = false;
    unsigned i;
    int r;

    for (;;) {
        if (!in_indirect && (d->flags & VRING_DESC_F_INDIRECT)) {
            r = vring_check_indirect(vr, d);
            if (r < 0) {
                return r;
            }
            table = d->addr;
            tsize = budget = d->len / VRING_DESC_SIZE;
            i = 0;
            in_indirect = true;
        } else {
            /* Inside a table, an indirect descriptor is refused here. */
            r = vring_chain_add(vr, chain, d);
            if (r < 0) {
                return r;
            }
            if (!(d->flags & VRING_DESC_F_NEXT)) {
                return 0;
            }
            if (d->next >= tsize) {
                return vring_fail(vr, VRING_ERR_NEXT);
            }
            i = d->next;
        }
        if (budget-- == 0) {
            return vring_fail(vr, VRING_ERR_LOOP);
        }
        if (!vring_read_desc(vr, table, i, false, d)) {
            return vring_fail(vr, VRING_ERR_MEM);
        }
    }
}

/*
 * Whether the driver made an entry available past last_avail_idx, once
 * the entries seen at the last read of its index are used up: the index
 * is read once per batch, not per chain, and a new value is checked.
 */
static G_GNUC_NO_INLINE int split_read_avail(Vring *vr)
{
    uint16_t avail_idx;

    if (!vring_ld16(vr, avail_idx_addr(vr), &avail_idx)) {
        return vring_fail(vr, VRING_ERR_MEM);
    }
    if (avail_idx == vr->last_avail_idx) {
        return 0;
    }
    if ((uint16_t)(avail_idx - vr->last_avail_idx) > vr->cfg.num) {
        return vring_fail(vr, VRING_ERR_AVAIL_IDX);
    }
    vr->shadow_avail_idx = avail_idx;
    /*
     * Read the ring entries only after seeing the index (pairs with the
     * driver's write barrier between the two).
     */
    smp_rmb();
    return 1;
}

static int split_pop(Vring *vr, VringChain *chain, bool want_out,
                     bool want_in)
{
    uint16_t head;
    VringDesc d;
    int r;

    if (vr->shadow_avail_idx == vr->last_avail_idx) {
        r = split_read_avail(vr);
        if (r <= 0) {
            return r;
        }
    }
    if (!vring_ld16(vr, avail_ring_addr(vr, vr->last_avail_idx), &head)) {
        return vring_fail(vr, VRING_ERR_MEM);
    }
    if (head >= vr->cfg.num) {
        return vring_fail(vr, VRING_ERR_HEAD);
    }
    if (!vring_read_desc(vr, vr->cfg.desc, head, false, &d)) {
        return vring_fail(vr, VRING_ERR_MEM);
    }
    vring_chain_begin(chain);
    if (likely(!(d.flags & (VRING_DESC_F_NEXT | VRING_DESC_F_INDIRECT)))) {
        r = vring_chain_add(vr, chain, &d);     /* one buffer */
    } else {
        VringDesc walk = d;                     /* d stays in registers */

        r = split_walk(vr, chain, &walk);
    }
    if (r < 0) {
        return r;
    }
    chain->head = head;
    chain->ndesc = 1;
    vr->last_avail_idx++;
    if (vr->event_idx && vr->notify_enabled) {
        /* Ask to be kicked for entries past the ones seen so far. */
        if (!vring_st16(vr, avail_event_addr(vr), vr->last_avail_idx)) {
            return vring_fail(vr, VRING_ERR_MEM);
        }
    }
    return vring_pop_done(vr, chain, want_out, want_in);
}

static void split_unpop(Vring *vr, const VringChain *chain)
{
    vr->last_avail_idx--;
}

/*
 * Write the used_batched elements kept in used_batch to the used ring, in
 * runs that end at the end of the ring.  They stay invisible to the driver
 * until split_flush moves the used index past them.
 */
static int split_write_used(Vring *vr)
{
    uint16_t pos = vr->used_idx + vr->pending_used - vr->used_batched;
    unsigned k = 0;

    while (k < vr->used_batched) {
        unsigned i = pos & (vr->cfg.num - 1);
        unsigned n = MIN(vr->used_batched - k, vr->cfg.num - i);

        if (!vr->mem->write(vr->mem_opaque, used_elem_addr(vr, i),
                            vr->used_batch + VRING_USED_ELEM_SIZE * k,
                            VRING_USED_ELEM_SIZE * n)) {
            return vring_fail(vr, VRING_ERR_MEM);
        }
        pos += n;
        k += n;
    }
    vr->used_batched = 0;
    return 0;
}

/*
 * Keep the used element: the elements of a batch go to the used ring in
 * one write (at flush, or once VRING_USED_BATCH are kept), not one each.
 */
static int split_fill(Vring *vr, const VringChain *chain, uint32_t len)
{
    uint8_t *e;

    if (vr->used_batched == VRING_USED_BATCH) {
        int r = split_write_used(vr);

        if (r < 0) {
            return r;
        }
    }
    e = vr->used_batch + VRING_USED_ELEM_SIZE * vr->used_batched;
    stq_le_p(e, chain->head | (uint64_t)len << 32);
    vr->used_batched++;
    vr->pending_used++;
    vr->inflight--;
    return 0;
}

static int split_flush(Vring *vr)
{
    uint16_t new_idx;
    int r;

    if (!vr->pending_used) {
        return 0;
    }
    r = split_write_used(vr);
    if (r < 0) {
        return r;
    }
    new_idx = vr->used_idx + vr->pending_used;
    /* The used entries must be visible before the index that covers them. */
    smp_wmb();
    if (!vring_st16(vr, used_idx_addr(vr), new_idx)) {
        return vring_fail(vr, VRING_ERR_MEM);
    }
    vr->used_idx = new_idx;
    vr->pending_used = 0;
    vr->unsignalled = true;
    return 0;
}

static bool split_need_notify(Vring *vr)
{
    uint16_t flags, event, old, new;
    bool valid;

    /* Order the used index write before reading the driver's wishes. */
    smp_mb();
    if (!vr->event_idx) {
        if (!vring_ld16(vr, vr->cfg.driver, &flags)) {
            return true;
        }
        return !(flags & VRING_AVAIL_F_NO_INTERRUPT);
    }
    old = vr->signalled_used;
    valid = vr->signalled_used_valid;
    new = vr->signalled_used = vr->used_idx;
    vr->signalled_used_valid = true;
    if (!valid || !vring_ld16(vr, used_event_addr(vr), &event)) {
        return true;
    }
    /* vring_need_event() of the virtio specification */
    return (uint16_t)(new - event - 1) < (uint16_t)(new - old);
}

static bool split_avail_at(Vring *vr, uint16_t pos, bool wrap)
{
    uint16_t idx;

    return vring_ld16(vr, avail_idx_addr(vr), &idx) && idx != pos;
}

static void split_set_notify(Vring *vr, bool enable,
                             const VringAvailMark *from)
{
    uint16_t idx;

    if (!vr->event_idx) {
        vring_st16(vr, vr->cfg.device, enable ? 0 : VRING_USED_F_NO_NOTIFY);
    } else if (enable && vring_ld16(vr, avail_idx_addr(vr), &idx)) {
        /* Kick me for anything past what the driver has made available. */
        vring_st16(vr, avail_event_addr(vr), idx);
    }
    /* Disabled with EVENT_IDX: not moving avail_event suppresses kicks. */
}

static void split_get_state(const Vring *vr, VringState *state)
{
    state->avail_idx = vr->last_avail_idx;
    state->used_idx = vr->used_idx;
}

static int split_set_state(Vring *vr, const VringState *state)
{
    /* One avail entry per chain: the in-flight chains are the distance. */
    uint16_t distance = state->avail_idx - state->used_idx;

    if (distance > vr->cfg.num || state->inflight != distance) {
        return -VRING_ERR_STATE;
    }
    vr->last_avail_idx = vr->shadow_avail_idx = state->avail_idx;
    vr->used_idx = state->used_idx;
    return 0;
}

const VringFormat vring_split_format = {
    .check = split_check,
    .areas = split_areas,
    .pop = split_pop,
    .unpop = split_unpop,
    .fill = split_fill,
    .flush = split_flush,
    .need_notify = split_need_notify,
    .set_notify = split_set_notify,
    .avail_at = split_avail_at,
    .get_state = split_get_state,
    .set_state = split_set_state,
};
