/*
 * vring engine internals shared by the common code and the ring formats
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * vring-engine.c holds what both formats share (setup, chain building and
 * its checks, copies, dispatch); vring-split.c and vring-packed.c each
 * implement a VringFormat.  Not a public header.
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
    /* Extra checks of a config beyond size and descriptor table. */
    VringError (*check)(const VringConfig *cfg);
    /* 1 with a chain, 0 when empty, or -VringError (ring then broken). */
    int (*pop)(Vring *vr, VringChain *chain);
    void (*unpop)(Vring *vr, const VringChain *chain);
    VringError (*fill)(Vring *vr, const VringChain *chain, uint32_t len);
    VringError (*flush)(Vring *vr);
    bool (*need_notify)(Vring *vr);
    void (*set_notify)(Vring *vr, bool enable);
    bool (*has_avail)(Vring *vr);
    void (*get_state)(const Vring *vr, VringState *state);
    VringError (*set_state)(Vring *vr, const VringState *state);
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

/* A descriptor as both formats store it (the id is packed-only). */
typedef struct VringDesc {
    uint64_t addr;
    uint32_t len;
    uint16_t id;        /* packed: buffer id; split: next */
    uint16_t flags;
} VringDesc;

/* Read descriptor @i of the table at @table, in either format. */
bool vring_read_desc(Vring *vr, uint64_t table, unsigned i, bool packed,
                     VringDesc *d);

/*
 * Building a chain: begin, add each buffer (checked: non-zero length, no
 * address wrap, readable before writable, overflow-safe totals, at most
 * chain->cap buffers), end.  Returns 0 or -VringError (ring broken).
 */
void vring_chain_begin(VringChain *chain);
int vring_chain_add(Vring *vr, VringChain *chain, const VringDesc *d);
void vring_chain_end(VringChain *chain);

/*
 * Checks of an indirect descriptor @d found at ring level (or, with
 * @nested, inside a table): feature negotiated, not chained, length a
 * non-zero multiple of 16 of at most the ring size, table not wrapping.
 * Returns 0 or -VringError (ring broken).
 */
int vring_check_indirect(Vring *vr, const VringDesc *d, bool nested);

#endif /* HW_VIRTIO_VRING_INTERNAL_H */
