/*
 * vring engine: what split and packed rings share
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * See include/hw/virtio/vring-engine.h for the contract.  This file holds
 * setup, the error names, the checks every buffer of a chain goes through
 * (one helper for both formats), copies between chains, and the dispatch
 * to vring-split.c / vring-packed.c.  The checks follow the virtio 1.x
 * specification and the lessons of past CVEs: bounded chains, indirect
 * table size and nesting, zero lengths, overflow-safe sums,
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
    [VRING_ERR_LOOP] = "descriptor chain loops or is too long",
    [VRING_ERR_INDIRECT] = "indirect descriptor not negotiated or chained",
    [VRING_ERR_INDIRECT_NESTED] = "nested indirect descriptor",
    [VRING_ERR_INDIRECT_LEN] = "indirect table length invalid",
    [VRING_ERR_ZERO_LEN] = "zero-length buffer",
    [VRING_ERR_CHAIN_LEN] = "chain length overflow",
    [VRING_ERR_READ_AFTER_WRITE] = "readable buffer after a writable one",
    [VRING_ERR_DIRECTION] = "buffer of the wrong direction",
    [VRING_ERR_USED] = "used entry for a chain not in flight",
    [VRING_ERR_STATE] = "ring state out of range",
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
    uint8_t b[2];

    if (!vr->mem->read(vr->mem_opaque, addr, b, sizeof(b))) {
        return false;
    }
    *val = lduw_le_p(b);
    return true;
}

bool vring_st16(Vring *vr, uint64_t addr, uint16_t val)
{
    uint8_t b[2];

    stw_le_p(b, val);
    return vr->mem->write(vr->mem_opaque, addr, b, sizeof(b));
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
    /* split: flags, next; packed: id, flags */
    d->flags = lduw_le_p(b + (packed ? 14 : 12));
    d->id = lduw_le_p(b + (packed ? 12 : 14));
    return true;
}

void vring_init_mem(Vring *vr, const VringMemOps *mem, void *mem_opaque)
{
    memset(vr, 0, sizeof(*vr));
    vr->mem = mem;
    vr->mem_opaque = mem_opaque;
}

VringError vring_setup(Vring *vr, const VringConfig *cfg)
{
    bool packed = cfg->features & (1ULL << VRING_F_RING_PACKED);
    const VringFormat *fmt = packed ? &vring_packed_format
                                    : &vring_split_format;
    uint64_t num = cfg->num;
    VringError err;

    vring_reset(vr);
    if (num == 0 || num > VRING_MAX_SIZE) {
        return VRING_ERR_BAD_SIZE;
    }
    if (!vring_area_ok(cfg->desc, VRING_DESC_SIZE * num, 16)) {
        return VRING_ERR_BAD_ADDR;
    }
    err = fmt->check(cfg);
    if (err != VRING_OK) {
        return err;
    }
    vr->cfg = *cfg;
    vr->fmt = fmt;
    vr->event_idx = cfg->features & (1ULL << VRING_F_EVENT_IDX);
    vr->indirect = cfg->features & (1ULL << VRING_F_INDIRECT_DESC);
    vr->avail_wrap = vr->used_wrap = true;      /* packed: start at 1 */
    vr->ready = true;
    vr->notify_enabled = true;
    return VRING_OK;
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
    /* Direct descriptors before an indirect one, plus the indirect table. */
    chain->cap = 2 * MAX(num, 1u);
    chain->bufs = g_new(VringBuf, chain->cap);
}

void vring_chain_free(VringChain *chain)
{
    g_free(chain->bufs);
    chain->bufs = NULL;
    chain->cap = 0;
}

/*
 * Readable buffers are collected in order at the front of chain->bufs;
 * writable ones are staged at the back and moved after the walk, so the
 * two lists never interleave.
 */
void vring_chain_begin(VringChain *chain)
{
    chain->nout = chain->nin = 0;
    chain->out_len = chain->in_len = 0;
}

int vring_chain_add(Vring *vr, VringChain *chain, const VringDesc *d)
{
    VringBuf *b;

    if (d->len == 0) {
        return vring_fail(vr, VRING_ERR_ZERO_LEN);
    }
    if (!vring_area_ok(d->addr, d->len, 1)) {
        return vring_fail(vr, VRING_ERR_MEM);
    }
    if (chain->nout + chain->nin >= chain->cap) {
        return vring_fail(vr, VRING_ERR_LOOP);
    }
    if (d->flags & VRING_DESC_F_WRITE) {
        if (chain->in_len + d->len > VRING_MAX_CHAIN_LEN) {
            return vring_fail(vr, VRING_ERR_CHAIN_LEN);
        }
        b = &chain->bufs[chain->cap - 1 - chain->nin++];
        chain->in_len += d->len;
    } else {
        if (chain->nin) {
            return vring_fail(vr, VRING_ERR_READ_AFTER_WRITE);
        }
        if (chain->out_len + d->len > VRING_MAX_CHAIN_LEN) {
            return vring_fail(vr, VRING_ERR_CHAIN_LEN);
        }
        b = &chain->bufs[chain->nout++];
        chain->out_len += d->len;
    }
    b->addr = d->addr;
    b->len = d->len;
    return 0;
}

void vring_chain_end(VringChain *chain)
{
    /* Move the writable buffers, reversed back into chain order. */
    for (unsigned k = 0; k < chain->nin; k++) {
        chain->bufs[chain->nout + k] = chain->bufs[chain->cap - 1 - k];
    }
}

int vring_check_indirect(Vring *vr, const VringDesc *d, bool nested)
{
    if (nested) {
        return vring_fail(vr, VRING_ERR_INDIRECT_NESTED);
    }
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

VringError vring_fill(Vring *vr, const VringChain *chain, uint32_t len)
{
    int r = vring_check_ready(vr);

    if (r) {
        return -r;
    }
    if (vr->inflight == 0) {
        vring_fail(vr, VRING_ERR_USED);
        return VRING_ERR_USED;
    }
    if (vr->fmt->fill(vr, chain, len) != VRING_OK) {
        vring_fail(vr, VRING_ERR_MEM);
        return VRING_ERR_MEM;
    }
    vr->inflight--;
    vr->unsignalled |= vr->fmt == &vring_packed_format;
    return VRING_OK;
}

VringError vring_flush(Vring *vr)
{
    if (!vr->ready) {
        return VRING_OK;
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
        vr->fmt->set_notify(vr, false);
    }
}

bool vring_enable_notify(Vring *vr)
{
    vr->notify_enabled = true;
    if (!vring_is_ready(vr)) {
        return false;
    }
    vr->fmt->set_notify(vr, true);
    /* Publish the wish before looking for buffers that raced with it. */
    smp_mb();
    return vr->fmt->has_avail(vr);
}

bool vring_has_avail(Vring *vr)
{
    return vring_is_ready(vr) && vr->fmt->has_avail(vr);
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

/* Copy one contiguous piece, mapped on both sides when possible. */
static bool vring_copy_piece(Vring *dst_vr, uint64_t dst, Vring *src_vr,
                             uint64_t src, uint64_t len)
{
    while (len) {
        uint64_t n = len, m;
        void *sp = NULL, *dp = NULL;

        if (src_vr->mem->map && dst_vr->mem->map) {
            sp = src_vr->mem->map(src_vr->mem_opaque, src, &n, false);
            if (sp) {
                m = n;
                dp = dst_vr->mem->map(dst_vr->mem_opaque, dst, &m, true);
                if (dp) {
                    n = MIN(n, m);
                    memcpy(dp, sp, n);
                    dst_vr->mem->unmap(dst_vr->mem_opaque, dp, m, true, n);
                }
                src_vr->mem->unmap(src_vr->mem_opaque, sp, n, false, n);
            }
        }
        if (!dp) {
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
    if (!vr->ready) {
        memset(state, 0, sizeof(*state));
        return;
    }
    vr->fmt->get_state(vr, state);
}

VringError vring_set_state(Vring *vr, const VringState *state)
{
    VringError err;

    if (!vr->ready) {
        return VRING_ERR_NOT_READY;
    }
    err = vr->fmt->set_state(vr, state);
    if (err == VRING_OK) {
        vr->pending_used = 0;
        vr->signalled_used_valid = false;
        vr->unsignalled = false;
    }
    return err;
}
