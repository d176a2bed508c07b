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

bool vring_ld16(Vring *vr, uint64_t addr, uint16_t *val)
{
    return vr->mem->ld16(vr->mem_opaque, addr, val);
}

bool vring_st16(Vring *vr, uint64_t addr, uint16_t val)
{
    return vr->mem->st16(vr->mem_opaque, addr, val);
}

bool vring_area_ok(uint64_t addr, uint64_t len, uint64_t align)
{
    return !(addr & (align - 1)) && addr + len > addr;
}

bool vring_read_desc(Vring *vr, uint64_t table, unsigned i, bool packed,
                     VringDesc *d)
{
    uint8_t b[VRING_DESC_SIZE];

    if (!vr->mem->read(vr->mem_opaque, table + (uint64_t)i * VRING_DESC_SIZE,
                       b, sizeof(b))) {
        return false;
    }
    d->addr = ldq_le_p(b);
    d->len = ldl_le_p(b + 8);
    if (packed) {                       /* id, flags */
        d->id = lduw_le_p(b + 12);
        d->flags = lduw_le_p(b + 14);
        d->next = 0;
    } else {                            /* flags, next */
        d->flags = lduw_le_p(b + 12);
        d->next = lduw_le_p(b + 14);
        d->id = 0;
    }
    return true;
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

/*
 * Buffers are appended in chain order: since a readable buffer after a
 * writable one is refused, that puts the out list first, then the in list.
 */
void vring_chain_begin(VringChain *chain)
{
    chain->nout = chain->nin = 0;
    chain->out_len = chain->in_len = 0;
}

int vring_chain_add(Vring *vr, VringChain *chain, const VringDesc *d)
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
    int r = vring_check_ready(vr);

    if (r) {
        return r;
    }
    r = vr->fmt->pop(vr, chain);
    if (r <= 0) {
        return r;
    }
    vr->inflight++;
    if ((!want_out && chain->nout) || (!want_in && chain->nin)) {
        return vring_fail(vr, VRING_ERR_DIRECTION);
    }
    return 1;
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
    int r = vring_check_ready(vr);

    if (r < 0) {
        return r;
    }
    if (vr->inflight == 0) {
        return vring_fail(vr, VRING_ERR_USED);
    }
    r = vr->fmt->fill(vr, chain, len);
    if (r < 0) {
        return vring_fail(vr, -r);
    }
    vr->inflight--;
    vr->unsignalled |= vr->fmt == &vring_packed_format;
    return 0;
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
 * Copy up to @len bytes from @src to @dst through mappings of both.
 * Returns the bytes copied, 0 when either side does not map.  Each map is
 * unmapped with the length it returned.  The driver may have made the two
 * ranges overlap, hence memmove.
 */
static uint64_t vring_copy_mapped(Vring *dst_vr, uint64_t dst, Vring *src_vr,
                                  uint64_t src, uint64_t len)
{
    uint64_t slen = len, dlen, n = 0;
    void *sp, *dp;

    sp = src_vr->mem->map(src_vr->mem_opaque, src, &slen, false);
    if (!sp) {
        return 0;
    }
    dlen = slen;
    dp = dst_vr->mem->map(dst_vr->mem_opaque, dst, &dlen, true);
    if (dp) {
        n = MIN(slen, dlen);
        memmove(dp, sp, n);
        dst_vr->mem->unmap(dst_vr->mem_opaque, dp, dlen, true, n);
    }
    src_vr->mem->unmap(src_vr->mem_opaque, sp, slen, false, n);
    return n;
}

/* Copy one contiguous piece, mapped on both sides when possible. */
static bool vring_copy_piece(Vring *dst_vr, uint64_t dst, Vring *src_vr,
                             uint64_t src, uint64_t len)
{
    bool can_map = src_vr->mem->map && dst_vr->mem->map;

    while (len) {
        uint64_t n = 0;

        if (can_map) {
            n = vring_copy_mapped(dst_vr, dst, src_vr, src, len);
        }
        if (!n) {
            /* A side does not map (MMIO, or a test backend): bounce. */
            uint8_t bounce[512];

            n = MIN(len, sizeof(bounce));
            if (!src_vr->mem->read(src_vr->mem_opaque, src, bounce, n) ||
                !dst_vr->mem->write(dst_vr->mem_opaque, dst, bounce, n)) {
                return false;
            }
        }
        src += n;
        dst += n;
        len -= n;
    }
    return true;
}

int64_t vring_chain_copy(Vring *dst_vr, const VringChain *dst,
                         uint64_t dst_off, Vring *src_vr,
                         const VringChain *src, uint64_t src_off,
                         uint64_t len)
{
    uint64_t dskip = 0, sskip = 0, done = 0;
    int dk = vring_chain_seek(dst, true, dst_off, &dskip);
    int sk = vring_chain_seek(src, false, src_off, &sskip);
    unsigned dend = dst->nout + dst->nin;

    while (done < len) {
        uint64_t n;

        if (dk < 0 || sk < 0 || dk >= dend || sk >= src->nout) {
            break;
        }
        n = MIN(dst->bufs[dk].len - dskip, src->bufs[sk].len - sskip);
        n = MIN(n, len - done);
        if (!vring_copy_piece(dst_vr, dst->bufs[dk].addr + dskip,
                              src_vr, src->bufs[sk].addr + sskip, n)) {
            return vring_fail(dst_vr, VRING_ERR_MEM);
        }
        done += n;
        dskip += n;
        sskip += n;
        if (dskip == dst->bufs[dk].len) {
            dk++;
            dskip = 0;
        }
        if (sskip == src->bufs[sk].len) {
            sk++;
            sskip = 0;
        }
    }
    return done;
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
    vr->pending_used = 0;
    vr->signalled_used_valid = false;
    vr->unsignalled = false;
    return 0;
}
