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
    /* 1 with a chain, 0 when empty, or -VringError (ring then broken). */
    int (*pop)(Vring *vr, VringChain *chain);
    void (*unpop)(Vring *vr, const VringChain *chain);
    /* 0 or -VringError; the caller breaks the ring on failure. */
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

/* Little-endian ring fields through the memory backend. */
bool vring_ld16(Vring *vr, uint64_t addr, uint16_t *val);
bool vring_st16(Vring *vr, uint64_t addr, uint16_t val);

/* [addr, addr + len) is aligned to @align and does not wrap. */
bool vring_area_ok(uint64_t addr, uint64_t len, uint64_t align);

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
bool vring_read_desc(Vring *vr, uint64_t table, unsigned i, bool packed,
                     VringDesc *d);

/*
 * Building a chain: vring_chain_begin, then vring_chain_add for each
 * buffer in chain order.  vring_chain_add checks the buffer: not an
 * indirect descriptor (the formats handle a ring-level one themselves, so
 * one reaching here is inside a table: nested), non-zero length, no address
 * wrap, readable before writable, overflow-safe totals, and at most
 * MIN(queue size, chain->cap) buffers in the chain.  Returns 0 or
 * -VringError (ring broken).
 */
void vring_chain_begin(VringChain *chain);
int vring_chain_add(Vring *vr, VringChain *chain, const VringDesc *d);

/*
 * Checks of an indirect descriptor @d found in the ring (not in a table):
 * feature negotiated, not chained, length a non-zero multiple of 16 of at
 * most the ring size, table not wrapping.  Returns 0 or -VringError (ring
 * broken).
 */
int vring_check_indirect(Vring *vr, const VringDesc *d);

#endif /* HW_VIRTIO_VRING_INTERNAL_H */
