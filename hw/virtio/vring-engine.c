/*
 * vring engine: what split and packed rings share
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * See include/hw/virtio/vring-engine.h for the contract.  This file holds
 * setup, the error names, the checks every buffer of a chain goes through
 * (one helper for both formats), copies between chains, and the dispatch
 * to vring-split.c / vring-packed.c.  The checks follow the virtio 1.x
 * specification and the lessons of past CVEs: chains of at most the queue
 * size, indirect table size and nesting, zero lengths, overflow-safe sums,
 * readable-before-writable, and every address checked by the memory
 * backend.
 */

#include "qemu/osdep.h"
#include "qemu/atomic.h"
#include "qemu/bswap.h"
#include "vring-internal.h"

static const char *const vring_error_names[VRING_ERR__MAX] = {
    [VRING_OK] = "no error",
    [VRING_ERR_NOT_READY] = "ring not set up",
    [VRING_ERR_BROKEN] = "ring broken by an earlier error",
    [VRING_ERR_BAD_SIZE] = "ring size invalid (split: a power of 2; "
                           "1..32768)",
    [VRING_ERR_BAD_ADDR] = "ring address misaligned or wrapping",
    [VRING_ERR_MEM] = "address not in guest memory",
    [VRING_ERR_AVAIL_IDX] = "avail index moved by more than the ring size",
    [VRING_ERR_HEAD] = "head index out of range",
    [VRING_ERR_NEXT] = "next index out of range",
    [VRING_ERR_LOOP] = "descriptor chain loops",
    [VRING_ERR_INDIRECT] = "indirect descriptor not negotiated or chained",
    [VRING_ERR_INDIRECT_NESTED] = "nested indirect descriptor",
    [VRING_ERR_INDIRECT_LEN] = "indirect table length invalid",
    [VRING_ERR_ZERO_LEN] = "zero-length buffer",
    [VRING_ERR_CHAIN_LEN] = "chain length overflow",
    [VRING_ERR_READ_AFTER_WRITE] = "readable buffer after a writable one",
    [VRING_ERR_DIRECTION] = "buffer of the wrong direction",
    [VRING_ERR_USED] = "used entry for a chain not in flight",
    [VRING_ERR_STATE] = "ring state out of range",
    [VRING_ERR_CHAIN_TOO_LONG] = "chain has more buffers than the queue size "
                                 "or the chain storage",
};

const char *vring_strerror(VringError err)
{
    if (err < 0 || err >= VRING_ERR__MAX) {
        return "unknown ring error";
    }
    return vring_error_names[err];
}

int vring_fail(Vring *vr, VringError err)
{
    vr->broken = true;
    return -err;
}

void vring_init_mem(Vring *vr, const VringMemOps *mem, void *mem_opaque)
{
    memset(vr, 0, sizeof(*vr));
    vr->mem = mem;
    vr->mem_opaque = mem_opaque;
}

static const VringFormat *vring_format_of(const VringConfig *cfg)
{
    return cfg->features & (1ULL << VRING_F_RING_PACKED)
           ? &vring_packed_format : &vring_split_format;
}

void vring_config_areas(const VringConfig *cfg, VringArea areas[VRING_AREAS])
{
    vring_format_of(cfg)->areas(cfg, areas);
}

int vring_setup(Vring *vr, const VringConfig *cfg)
{
    const VringFormat *fmt = vring_format_of(cfg);
    VringArea areas[VRING_AREAS];
    int r;

    vring_reset(vr);
    if (cfg->num == 0 || cfg->num > VRING_MAX_SIZE) {
        return -VRING_ERR_BAD_SIZE;
    }
    r = fmt->check(cfg);
    if (r < 0) {
        return r;
    }
    fmt->areas(cfg, areas);
    for (unsigned a = 0; a < VRING_AREAS; a++) {
        if (!vring_area_ok(areas[a].addr, areas[a].len, areas[a].align)) {
            return -VRING_ERR_BAD_ADDR;
        }
    }
    vr->cfg = *cfg;
    vr->fmt = fmt;
    vr->event_idx = cfg->features & (1ULL << VRING_F_EVENT_IDX);
    vr->indirect = cfg->features & (1ULL << VRING_F_INDIRECT_DESC);
    vr->avail_wrap = vr->used_wrap = true;      /* packed: start at 1 */
    vr->ready = true;
    vr->notify_enabled = true;
    return 0;
}

void vring_reset(Vring *vr)
{
    vring_init_mem(vr, vr->mem, vr->mem_opaque);
}

bool vring_is_ready(const Vring *vr)
{
    return vr->ready && !vr->broken;
}

void vring_chain_init(VringChain *chain, unsigned num)
{
    memset(chain, 0, sizeof(*chain));
    /* A chain has at most queue size buffers, indirect ones included. */
    chain->cap = MAX(num, 1u);
    chain->bufs = g_new(VringBuf, chain->cap);
}

void vring_chain_free(VringChain *chain)
{
    g_free(chain->bufs);
    chain->bufs = NULL;
    chain->cap = 0;
}

int vring_check_indirect(Vring *vr, const VringDesc *d)
{
    if (!vr->indirect || (d->flags & VRING_DESC_F_NEXT)) {
        return vring_fail(vr, VRING_ERR_INDIRECT);
    }
    if (d->len == 0 || d->len % VRING_DESC_SIZE ||
        d->len / VRING_DESC_SIZE > vr->cfg.num) {
        return vring_fail(vr, VRING_ERR_INDIRECT_LEN);
    }
    if (!vring_area_ok(d->addr, d->len, 1)) {
        return vring_fail(vr, VRING_ERR_MEM);
    }
    return 0;
}

static int vring_check_ready(Vring *vr)
{
    if (vr->broken) {
        return -VRING_ERR_BROKEN;
    }
    if (!vr->ready) {
        return -VRING_ERR_NOT_READY;
    }
    return 0;
}

int vring_pop(Vring *vr, VringChain *chain, bool want_out, bool want_in)
{
    if (unlikely(vr->broken || !vr->ready)) {
        return vring_check_ready(vr);
    }
    return vr->fmt->pop(vr, chain, want_out, want_in);
}

void vring_unpop(Vring *vr, const VringChain *chain)
{
    if (vr->ready && vr->inflight) {
        vr->fmt->unpop(vr, chain);
        vr->inflight--;
    }
}

int vring_fill(Vring *vr, const VringChain *chain, uint32_t len)
{
    if (unlikely(vr->broken || !vr->ready)) {
        return vring_check_ready(vr);
    }
    if (unlikely(vr->inflight == 0)) {
        return vring_fail(vr, VRING_ERR_USED);
    }
    return vr->fmt->fill(vr, chain, len);
}

int vring_flush(Vring *vr)
{
    if (!vr->ready) {
        return 0;
    }
    return vr->fmt->flush(vr);
}

bool vring_need_notify(Vring *vr)
{
    if (!vr->ready || !vr->unsignalled) {
        return false;       /* nothing published since the last time */
    }
    vr->unsignalled = false;
    return vr->fmt->need_notify(vr);
}

void vring_disable_notify(Vring *vr)
{
    vr->notify_enabled = false;
    if (vring_is_ready(vr)) {
        vr->fmt->set_notify(vr, false, NULL);
    }
}

void vring_avail_mark(const Vring *vr, VringAvailMark *mark)
{
    mark->pos = vr->last_avail_idx;
    mark->wrap = vr->avail_wrap;
}

bool vring_enable_notify_since(Vring *vr, const VringAvailMark *mark)
{
    vr->notify_enabled = true;
    if (!vring_is_ready(vr)) {
        return false;
    }
    vr->fmt->set_notify(vr, true, mark);
    /* Publish the wish before looking for buffers that raced with it. */
    smp_mb();
    return vr->fmt->avail_at(vr, mark->pos, mark->wrap);
}

bool vring_enable_notify(Vring *vr)
{
    VringAvailMark here;

    vring_avail_mark(vr, &here);
    return vring_enable_notify_since(vr, &here);
}

bool vring_has_avail(Vring *vr)
{
    return vring_is_ready(vr) &&
           vr->fmt->avail_at(vr, vr->last_avail_idx, vr->avail_wrap);
}

bool vring_kick_data_new(const Vring *vr, uint16_t next)
{
    if (!vring_is_ready(vr)) {
        return true;
    }
    if (vr->fmt == &vring_packed_format) {
        return (next & 0x7fff) != vr->last_avail_idx ||
               (next >> 15) != vr->avail_wrap;
    }
    return next != vr->last_avail_idx;
}

/*
 * Find the buffer holding byte @offset of the out (@in false) or in list:
 * returns its index and sets *@skip to the offset inside it, or returns
 * -1 when @offset is past the end.
 */
static int vring_chain_seek(const VringChain *chain, bool in, uint64_t offset,
                            uint64_t *skip)
{
    unsigned first = in ? chain->nout : 0;
    unsigned n = in ? chain->nin : chain->nout;

    for (unsigned k = 0; k < n; k++) {
        if (offset < chain->bufs[first + k].len) {
            *skip = offset;
            return first + k;
        }
        offset -= chain->bufs[first + k].len;
    }
    return -1;
}

static int64_t vring_chain_xfer(Vring *vr, const VringChain *chain,
                                uint64_t offset, void *buf, uint64_t len,
                                bool to_chain)
{
    unsigned end = to_chain ? chain->nout + chain->nin : chain->nout;
    uint64_t skip, done = 0;
    int k = vring_chain_seek(chain, to_chain, offset, &skip);

    if (k < 0) {
        return 0;
    }
    for (; k < end && done < len; k++, skip = 0) {
        uint64_t n = MIN(chain->bufs[k].len - skip, len - done);
        uint64_t addr = chain->bufs[k].addr + skip;
        bool ok = to_chain ?
            vr->mem->write(vr->mem_opaque, addr, (uint8_t *)buf + done, n) :
            vr->mem->read(vr->mem_opaque, addr, (uint8_t *)buf + done, n);

        if (!ok) {
            return vring_fail(vr, VRING_ERR_MEM);
        }
        done += n;
    }
    return done;
}

int64_t vring_chain_read(Vring *vr, const VringChain *chain, uint64_t offset,
                         void *buf, uint64_t len)
{
    return vring_chain_xfer(vr, chain, offset, buf, len, false);
}

int64_t vring_chain_write(Vring *vr, const VringChain *chain,
                          uint64_t offset, const void *buf, uint64_t len)
{
    return vring_chain_xfer(vr, chain, offset, (void *)buf, len, true);
}

/*
 * One side of vring_chain_copy: its buffers (out buffers of the source,
 * in buffers of the destination), the position in them, and a mapping of
 * the rest of the current buffer (@p NULL when there is none), so that
 * each buffer is mapped once however the other side splits the copy.
 */
typedef struct VringCopySide {
    Vring *vr;
    const VringBuf *buf, *end;  /* current buffer, end of the list */
    uint64_t skip;              /* bytes of *buf already copied */
    uint8_t *p;                 /* mapping, at buf->addr + skip - used */
    uint64_t maplen;            /* length map returned */
    uint64_t used;              /* bytes copied through the mapping */
    bool is_write;
} VringCopySide;

static inline QEMU_ALWAYS_INLINE
VringCopySide vring_copy_side(Vring *vr, const VringChain *chain, bool in,
                              uint64_t offset)
{
    const VringBuf *end = chain->bufs + chain->nout + (in ? chain->nin : 0);
    uint64_t skip = 0;
    int k = vring_chain_seek(chain, in, offset, &skip);

    return (VringCopySide) {
        .vr = vr,
        .buf = k < 0 ? end : chain->bufs + k,
        .end = end,
        .skip = skip,
        .is_write = in,
    };
}

/* Map the rest of the current buffer, at most @want bytes of it. */
static inline QEMU_ALWAYS_INLINE
void vring_copy_side_map(VringCopySide *s, uint64_t want)
{
    const VringMemOps *mem = s->vr->mem;
    uint64_t len = MIN(s->buf->len - s->skip, want);
    void *p = mem->map(s->vr->mem_opaque, s->buf->addr + s->skip, &len,
                       s->is_write);

    if (p && !len) {
        /* Nothing mapped after all: as if the map had failed. */
        mem->unmap(s->vr->mem_opaque, p, 0, s->is_write, 0);
        p = NULL;
    }
    s->p = p;
    s->maplen = len;
    s->used = 0;
}

static inline QEMU_ALWAYS_INLINE void vring_copy_side_unmap(VringCopySide *s)
{
    if (s->p) {
        s->vr->mem->unmap(s->vr->mem_opaque, s->p, s->maplen, s->is_write,
                          s->used);
        s->p = NULL;
    }
}

/* Move past @n bytes copied; release the mapping once it is used up. */
static inline QEMU_ALWAYS_INLINE
void vring_copy_side_advance(VringCopySide *s, uint64_t n)
{
    s->skip += n;
    if (s->p) {
        s->used += n;
        if (s->used == s->maplen) {
            vring_copy_side_unmap(s);
        }
    }
    if (s->skip == s->buf->len) {
        /* A mapping ends within its buffer: it was released above. */
        s->buf++;
        s->skip = 0;
    }
}

#define VRING_BOUNCE_SIZE   512

/*
 * Copy @n bytes (at most VRING_BOUNCE_SIZE) where a side does not map
 * (MMIO, or a test backend): from @sp, or else the source's memory at
 * @saddr, to @dp, or else the destination's memory at @daddr.  Through a
 * bounce buffer even with both pointers, as the ranges may overlap.
 */
static bool vring_copy_bounce(Vring *dst_vr, uint64_t daddr, uint8_t *dp,
                              Vring *src_vr, uint64_t saddr,
                              const uint8_t *sp, uint64_t n)
{
    uint8_t bounce[VRING_BOUNCE_SIZE];

    if (sp) {
        memcpy(bounce, sp, n);
    } else if (!src_vr->mem->read(src_vr->mem_opaque, saddr, bounce, n)) {
        return false;
    }
    if (dp) {
        memcpy(dp, bounce, n);
    } else if (!dst_vr->mem->write(dst_vr->mem_opaque, daddr, bounce, n)) {
        return false;
    }
    return true;
}

/*
 * Pieces go through mappings of both sides when both map, else through a
 * bounce buffer.  Each map is unmapped with the length it returned.  The
 * driver may have made the two ranges overlap, hence memmove.
 */
static G_GNUC_NO_INLINE
int64_t vring_copy_pieces(Vring *dst_vr, const VringChain *dst,
                          uint64_t dst_off, Vring *src_vr,
                          const VringChain *src, uint64_t src_off,
                          uint64_t len)
{
    bool can_map = src_vr->mem->map && dst_vr->mem->map;
    VringCopySide s = vring_copy_side(src_vr, src, false, src_off);
    VringCopySide d = vring_copy_side(dst_vr, dst, true, dst_off);
    uint64_t done = 0;

    while (done < len && s.buf < s.end && d.buf < d.end) {
        uint64_t n;

        if (can_map && !s.p) {
            vring_copy_side_map(&s, len - done);
        }
        if (can_map && !d.p) {
            vring_copy_side_map(&d, len - done);
        }
        if (likely(s.p && d.p)) {
            n = MIN(s.maplen - s.used, d.maplen - d.used);
            memmove(d.p + d.used, s.p + s.used, n);
        } else {
            n = MIN(s.buf->len - s.skip, d.buf->len - d.skip);
            n = MIN(n, len - done);
            n = MIN(n, VRING_BOUNCE_SIZE);
            n = s.p ? MIN(n, s.maplen - s.used) : n;
            n = d.p ? MIN(n, d.maplen - d.used) : n;
            if (!vring_copy_bounce(dst_vr, d.buf->addr + d.skip,
                                   d.p ? d.p + d.used : NULL,
                                   src_vr, s.buf->addr + s.skip,
                                   s.p ? s.p + s.used : NULL, n)) {
                vring_copy_side_unmap(&s);
                vring_copy_side_unmap(&d);
                return vring_fail(dst_vr, VRING_ERR_MEM);
            }
        }
        done += n;
        vring_copy_side_advance(&s, n);
        vring_copy_side_advance(&d, n);
    }
    vring_copy_side_unmap(&s);
    vring_copy_side_unmap(&d);
    return done;
}

/*
 * Copy all @len bytes at @src to @dst with one map of each side and one
 * move; false, with nothing copied, when a side does not map all of them
 * (vring_copy_pieces then copies what maps and bounces the rest).
 */
static bool vring_copy_whole(Vring *dst_vr, uint64_t dst, Vring *src_vr,
                             uint64_t src, uint64_t len)
{
    const VringMemOps *smem = src_vr->mem, *dmem = dst_vr->mem;
    uint64_t slen = len, dlen = len;
    void *sp = smem->map(src_vr->mem_opaque, src, &slen, false);
    void *dp = NULL;
    bool whole;

    if (sp && slen == len) {
        dp = dmem->map(dst_vr->mem_opaque, dst, &dlen, true);
    }
    whole = dp && dlen == len;
    if (whole) {
        memmove(dp, sp, len);
    }
    if (dp) {
        dmem->unmap(dst_vr->mem_opaque, dp, dlen, true, whole ? len : 0);
    }
    if (sp) {
        smem->unmap(src_vr->mem_opaque, sp, slen, false, whole ? len : 0);
    }
    return whole;
}

/*
 * The common case, a copy within the first buffer of each side that ends
 * the copy there (a frame from a one-buffer transmit chain into a receive
 * buffer), is one range: one map of each side and one move.  Anything
 * else, or a range that does not map whole, goes piece by piece.
 */
int64_t vring_chain_copy(Vring *dst_vr, const VringChain *dst,
                         uint64_t dst_off, Vring *src_vr,
                         const VringChain *src, uint64_t src_off,
                         uint64_t len)
{
    const VringBuf *sb = &src->bufs[0], *db = &dst->bufs[dst->nout];

    if (likely(src_vr->mem->map && dst_vr->mem->map && len &&
               src->nout && dst->nin &&
               src_off < sb->len && dst_off < db->len)) {
        uint64_t srest = sb->len - src_off, drest = db->len - dst_off;
        uint64_t n = MIN(MIN(srest, drest), len);

        /* All of @len, or up to the end of a side's last buffer */
        if ((n == len || (n == srest && src->nout == 1) ||
             (n == drest && dst->nin == 1)) &&
            vring_copy_whole(dst_vr, db->addr + dst_off, src_vr,
                             sb->addr + src_off, n)) {
            return n;
        }
    }
    return vring_copy_pieces(dst_vr, dst, dst_off, src_vr, src, src_off, len);
}

void vring_get_state(const Vring *vr, VringState *state)
{
    memset(state, 0, sizeof(*state));
    if (!vr->ready) {
        return;
    }
    vr->fmt->get_state(vr, state);
    /* Filled but unpublished chains are still in flight for the driver. */
    state->inflight = vr->inflight + vr->pending_used;
}

int vring_set_state(Vring *vr, const VringState *state)
{
    int r;

    if (!vr->ready) {
        return -VRING_ERR_NOT_READY;
    }
    r = vr->fmt->set_state(vr, state);
    if (r < 0) {
        return r;
    }
    vr->inflight = state->inflight;     /* checked by the format */
    vr->pending_used = vr->used_batched = 0;
    vr->signalled_used_valid = false;
    vr->unsignalled = false;
    return 0;
}
