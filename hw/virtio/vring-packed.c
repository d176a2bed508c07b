/*
 * vring engine: packed rings (virtio 1.x 2.8, VIRTIO_F_RING_PACKED)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * One descriptor ring of {addr, len, id, flags}: the driver makes a chain
 * available by setting AVAIL to its wrap counter and USED to the inverse;
 * the device writes one used descriptor per chain (the buffer id of the
 * chain's last descriptor) with AVAIL and USED both equal to its own wrap
 * counter, at its used position, which advances by the chain's length.
 * Two 4-byte event suppression areas: the driver's (at "driver", read here)
 * and the device's (at "device", written here).  Any size 1..32768.
 */

#include "qemu/osdep.h"
#include "qemu/atomic.h"
#include "qemu/bswap.h"
#include "vring-internal.h"

#define VRING_PACKED_DESC_F_AVAIL   (1 << 7)
#define VRING_PACKED_DESC_F_USED    (1 << 15)
#define VRING_PACKED_EVENT_ENABLE   0
#define VRING_PACKED_EVENT_DISABLE  1
#define VRING_PACKED_EVENT_DESC     2
#define VRING_PACKED_WRAP_BIT       15

static uint64_t desc_addr(const Vring *vr, unsigned i)
{
    return vr->cfg.desc + (uint64_t)i * VRING_DESC_SIZE;
}

static bool packed_is_avail(uint16_t flags, bool wrap)
{
    return !!(flags & VRING_PACKED_DESC_F_AVAIL) == wrap &&
           !!(flags & VRING_PACKED_DESC_F_USED) != wrap;
}

/* Move a ring position by @n slots, flipping @wrap when it passes the end. */
static void packed_advance(const Vring *vr, uint16_t *pos, bool *wrap,
                           unsigned n)
{
    unsigned p = *pos + n;

    if (p >= vr->cfg.num) {
        p -= vr->cfg.num;
        *wrap = !*wrap;
    }
    *pos = p;
}

static int packed_check(const VringConfig *cfg)
{
    return 0;               /* any size 1..VRING_MAX_SIZE */
}

/* Descriptor ring (written back as used), two event suppression areas */
static void packed_areas(const VringConfig *cfg, VringArea a[VRING_AREAS])
{
    a[VRING_AREA_DESC] = (VringArea) {
        cfg->desc, VRING_DESC_SIZE * (uint64_t)cfg->num, 16, true };
    a[VRING_AREA_DRIVER] = (VringArea) { cfg->driver, 4, 4, false };
    a[VRING_AREA_DEVICE] = (VringArea) { cfg->device, 4, 4, true };
}

/* Add the buffers of the indirect table of @d (checked) to @chain. */
static int packed_add_table(Vring *vr, VringChain *chain, const VringDesc *d)
{
    VringDesc t;
    int r;

    /* A table of d->len / 16 descriptors, used in order. */
    for (unsigned k = 0; k < d->len / VRING_DESC_SIZE; k++) {
        if (!vring_read_desc(vr, d->addr, k, true, &t)) {
            return vring_fail(vr, VRING_ERR_MEM);
        }
        /* An indirect descriptor here is nested: refused by chain_add. */
        r = vring_chain_add(vr, chain, &t);
        if (r < 0) {
            return r;
        }
    }
    return 0;
}

/*
 * Desc mode: kick me when the driver makes our next position available.
 * Offset and mode in one write (the driver reads them as one).
 */
/* Ask for the kick that makes the descriptor at @pos (wrap @wrap) available */
static bool packed_set_event(Vring *vr, uint16_t pos, bool wrap)
{
    uint8_t b[4];

    /* One store, as in packed_fill */
    stl_le_p(b, (pos | wrap << VRING_PACKED_WRAP_BIT) |
                (uint32_t)VRING_PACKED_EVENT_DESC << 16);
    return vr->mem->write(vr->mem_opaque, vr->cfg.device, b, sizeof(b));
}

/*
 * Walk on from @d, the descriptor at the avail position (@d is clobbered):
 * descriptors in ring order while F_NEXT, at most the ring size of them
 * (VRING_ERR_LOOP otherwise), the last one possibly an indirect table.
 * The chain's id is the last descriptor's.  Returns the ring slots the
 * chain takes, or -VringError.
 */
static G_GNUC_NO_INLINE
int packed_walk(Vring *vr, VringChain *chain, VringDesc *d)
{
    unsigned i = vr->last_avail_idx, budget = vr->cfg.num - 1, ndesc = 1;
    int r;

    for (;;) {
        chain->head = d->id;
        if (d->flags & VRING_DESC_F_INDIRECT) {
            r = vring_check_indirect(vr, d);
            if (r < 0) {
                return r;
            }
            r = packed_add_table(vr, chain, d);
            return r < 0 ? r : ndesc;
        }
        r = vring_chain_add(vr, chain, d);
        if (r < 0) {
            return r;
        }
        if (!(d->flags & VRING_DESC_F_NEXT)) {
            return ndesc;
        }
        if (++i == vr->cfg.num) {
            i = 0;
        }
        if (budget-- == 0) {
            return vring_fail(vr, VRING_ERR_LOOP);
        }
        if (!vring_read_desc(vr, vr->cfg.desc, i, true, d)) {
            return vring_fail(vr, VRING_ERR_MEM);
        }
        ndesc++;
    }
}

/* Pop the chain at the avail position. */
static int packed_pop(Vring *vr, VringChain *chain, bool want_out,
                      bool want_in)
{
    uint16_t flags;
    VringDesc d;
    int r;

    if (!vring_ld16(vr, desc_addr(vr, vr->last_avail_idx) + 14, &flags)) {
        return vring_fail(vr, VRING_ERR_MEM);
    }
    if (!packed_is_avail(flags, vr->avail_wrap)) {
        return 0;
    }
    /*
     * Read the descriptors only after seeing the head available (pairs
     * with the driver's write barrier before it sets the flags).
     */
    smp_rmb();
    if (!vring_read_desc(vr, vr->cfg.desc, vr->last_avail_idx, true, &d)) {
        return vring_fail(vr, VRING_ERR_MEM);
    }
    /* The head's flags as checked, not as read a second time. */
    d.flags = flags;
    vring_chain_begin(chain);
    if (likely(!(d.flags & (VRING_DESC_F_NEXT | VRING_DESC_F_INDIRECT)))) {
        chain->head = d.id;                     /* one buffer */
        r = vring_chain_add(vr, chain, &d);
        r = r < 0 ? r : 1;
    } else {
        VringDesc walk = d;                     /* d stays in registers */

        r = packed_walk(vr, chain, &walk);
    }
    if (r < 0) {
        return r;
    }
    chain->ndesc = r;
    packed_advance(vr, &vr->last_avail_idx, &vr->avail_wrap, r);
    if (vr->event_idx && vr->notify_enabled &&
        !packed_set_event(vr, vr->last_avail_idx, vr->avail_wrap)) {
        return vring_fail(vr, VRING_ERR_MEM);
    }
    return vring_pop_done(vr, chain, want_out, want_in);
}

static void packed_unpop(Vring *vr, const VringChain *chain)
{
    if (vr->last_avail_idx >= chain->ndesc) {
        vr->last_avail_idx -= chain->ndesc;
    } else {
        vr->last_avail_idx += vr->cfg.num - chain->ndesc;
        vr->avail_wrap = !vr->avail_wrap;
    }
}

static int packed_fill(Vring *vr, const VringChain *chain, uint32_t len)
{
    uint64_t a = desc_addr(vr, vr->used_idx);
    uint16_t flags = vr->used_wrap ? (VRING_PACKED_DESC_F_AVAIL |
                                      VRING_PACKED_DESC_F_USED) : 0;
    uint8_t b[8];

    /*
     * Length and id (6 bytes) built with one store: the backend's copy
     * loads them in overlapping words, which a CPU forwards from one
     * store but stalls on when they straddle two.
     */
    stq_le_p(b, len | (uint64_t)chain->head << 32);
    if (!vr->mem->write(vr->mem_opaque, a + 8, b, 6)) {
        return vring_fail(vr, VRING_ERR_MEM);
    }
    /* Length and id before the flags that hand the descriptor back. */
    smp_wmb();
    if (!vring_st16(vr, a + 14, flags)) {
        return vring_fail(vr, VRING_ERR_MEM);
    }
    packed_advance(vr, &vr->used_idx, &vr->used_wrap, chain->ndesc);
    vr->inflight--;
    vr->unsignalled = true;
    return 0;
}

static int packed_flush(Vring *vr)
{
    /* Each used descriptor was handed back by its own flags write. */
    return 0;
}

static bool packed_need_notify(Vring *vr)
{
    uint16_t off_wrap, flags, old, new;
    bool valid;
    int off;

    /* Order the used descriptors before reading the driver's wishes. */
    smp_mb();
    if (!vring_ld16(vr, vr->cfg.driver, &off_wrap) ||
        !vring_ld16(vr, vr->cfg.driver + 2, &flags)) {
        return true;
    }
    /* Track what was published in every mode, as desc mode compares. */
    old = vr->signalled_used;
    valid = vr->signalled_used_valid;
    new = vr->signalled_used = vr->used_idx;
    vr->signalled_used_valid = true;
    if (flags == VRING_PACKED_EVENT_DISABLE) {
        return false;
    }
    if (flags != VRING_PACKED_EVENT_DESC || !vr->event_idx || !valid) {
        return true;
    }
    /* The event position, unwrapped relative to our wrap counter. */
    off = off_wrap & ~(1 << VRING_PACKED_WRAP_BIT);
    if (vr->used_wrap != (off_wrap >> VRING_PACKED_WRAP_BIT)) {
        off -= vr->cfg.num;
    }
    return (uint16_t)(new - off - 1) < (uint16_t)(new - old);
}

/*
 * With EVENT_IDX, enabled means descriptor mode at our avail position
 * (moved as we pop): a driver that adds a batch past it kicks once, not
 * once per batch as in enable mode.
 */
static void packed_set_notify(Vring *vr, bool enable,
                              const VringAvailMark *from)
{
    if (enable && vr->event_idx) {
        packed_set_event(vr, from->pos, from->wrap);
        return;
    }
    vring_st16(vr, vr->cfg.device + 2, enable ? VRING_PACKED_EVENT_ENABLE
                                              : VRING_PACKED_EVENT_DISABLE);
}

static bool packed_avail_at(Vring *vr, uint16_t pos, bool wrap)
{
    uint16_t flags;

    return vring_ld16(vr, desc_addr(vr, pos) + 14, &flags) &&
           packed_is_avail(flags, wrap);
}

static void packed_get_state(const Vring *vr, VringState *state)
{
    state->avail_idx = vr->last_avail_idx |
                       vr->avail_wrap << VRING_PACKED_WRAP_BIT;
    state->used_idx = vr->used_idx | vr->used_wrap << VRING_PACKED_WRAP_BIT;
}

static int packed_set_state(Vring *vr, const VringState *state)
{
    uint16_t mask = (1 << VRING_PACKED_WRAP_BIT) - 1;
    uint16_t avail = state->avail_idx & mask, used = state->used_idx & mask;
    bool avail_wrap = state->avail_idx >> VRING_PACKED_WRAP_BIT;
    bool used_wrap = state->used_idx >> VRING_PACKED_WRAP_BIT;
    int distance;

    if (avail >= vr->cfg.num || used >= vr->cfg.num) {
        return -VRING_ERR_STATE;
    }
    /* Descriptors between the used and the avail position: 0..num. */
    distance = avail - used + (avail_wrap != used_wrap ? vr->cfg.num : 0);
    if (distance < 0 || distance > vr->cfg.num) {
        return -VRING_ERR_STATE;
    }
    /* Each in-flight chain took at least one of those descriptors. */
    if (distance == 0 ? state->inflight != 0
                      : state->inflight < 1 || state->inflight > distance) {
        return -VRING_ERR_STATE;
    }
    vr->last_avail_idx = avail;
    vr->avail_wrap = avail_wrap;
    vr->used_idx = used;
    vr->used_wrap = used_wrap;
    return 0;
}

const VringFormat vring_packed_format = {
    .check = packed_check,
    .areas = packed_areas,
    .pop = packed_pop,
    .unpop = packed_unpop,
    .fill = packed_fill,
    .flush = packed_flush,
    .need_notify = packed_need_notify,
    .set_notify = packed_set_notify,
    .avail_at = packed_avail_at,
    .get_state = packed_get_state,
    .set_state = packed_set_state,
};
