/*
 * vring engine: device-side processing of split virtio rings
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * See include/hw/virtio/vring-engine.h for the contract.  The checks follow
 * the virtio 1.x specification (2.7) and the lessons of past CVEs: bounded
 * chains, index ranges, avail index jumps, indirect table size and nesting,
 * zero lengths, overflow-safe sums, readable-before-writable, and every
 * address checked by the memory backend.
 */

#include "qemu/osdep.h"
#include "qemu/atomic.h"
#include "qemu/bswap.h"
#include "hw/virtio/vring-engine.h"

/* Split ring layout (virtio 1.x, 2.7) */
#define VRING_DESC_SIZE         16
#define VRING_DESC_F_NEXT       1
#define VRING_DESC_F_WRITE      2
#define VRING_DESC_F_INDIRECT   4
#define VRING_AVAIL_F_NO_INTERRUPT  1
#define VRING_USED_F_NO_NOTIFY      1
#define VRING_USED_ELEM_SIZE    8

typedef struct VringDesc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags;
    uint16_t next;
} VringDesc;

static const char *const vring_error_names[VRING_ERR__MAX] = {
    [VRING_OK] = "no error",
    [VRING_ERR_NOT_READY] = "ring not set up",
    [VRING_ERR_BROKEN] = "ring broken by an earlier error",
    [VRING_ERR_BAD_SIZE] = "ring size not a power of 2 in 1..32768",
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
};

const char *vring_strerror(VringError err)
{
    if (err < 0 || err >= VRING_ERR__MAX) {
        return "unknown ring error";
    }
    return vring_error_names[err];
}

static int vring_fail(Vring *vr, VringError err)
{
    vr->broken = true;
    return -err;
}

/* Ring field accessors: little-endian, through the memory backend. */
static bool vring_ld16(Vring *vr, uint64_t addr, uint16_t *val)
{
    uint8_t b[2];

    if (!vr->mem->read(vr->mem_opaque, addr, b, sizeof(b))) {
        return false;
    }
    *val = lduw_le_p(b);
    return true;
}

static bool vring_st16(Vring *vr, uint64_t addr, uint16_t val)
{
    uint8_t b[2];

    stw_le_p(b, val);
    return vr->mem->write(vr->mem_opaque, addr, b, sizeof(b));
}

static bool vring_read_desc(Vring *vr, uint64_t table, unsigned i,
                            VringDesc *d)
{
    uint8_t b[VRING_DESC_SIZE];

    if (!vr->mem->read(vr->mem_opaque, table + (uint64_t)i * VRING_DESC_SIZE,
                       b, sizeof(b))) {
        return false;
    }
    d->addr = ldq_le_p(b);
    d->len = ldl_le_p(b + 8);
    d->flags = lduw_le_p(b + 12);
    d->next = lduw_le_p(b + 14);
    return true;
}

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

void vring_init_mem(Vring *vr, const VringMemOps *mem, void *mem_opaque)
{
    memset(vr, 0, sizeof(*vr));
    vr->mem = mem;
    vr->mem_opaque = mem_opaque;
}

/* [addr, addr + len) must be aligned to @align and must not wrap. */
static bool vring_area_ok(uint64_t addr, uint64_t len, uint64_t align)
{
    return !(addr & (align - 1)) && addr + len > addr;
}

VringError vring_setup(Vring *vr, const VringConfig *cfg)
{
    uint64_t num = cfg->num;

    vring_reset(vr);
    if (num == 0 || num > VRING_MAX_SIZE || (num & (num - 1))) {
        return VRING_ERR_BAD_SIZE;
    }
    if (!vring_area_ok(cfg->desc, VRING_DESC_SIZE * num, 16) ||
        !vring_area_ok(cfg->driver, 6 + 2 * num, 2) ||
        !vring_area_ok(cfg->device, 6 + VRING_USED_ELEM_SIZE * num, 4)) {
        return VRING_ERR_BAD_ADDR;
    }
    vr->cfg = *cfg;
    vr->event_idx = cfg->features & (1ULL << VRING_F_EVENT_IDX);
    vr->indirect = cfg->features & (1ULL << VRING_F_INDIRECT_DESC);
    vr->ready = true;
    vr->notify_enabled = true;
    return VRING_OK;
}

void vring_reset(Vring *vr)
{
    const VringMemOps *mem = vr->mem;
    void *opaque = vr->mem_opaque;

    vring_init_mem(vr, mem, opaque);
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

/*
 * Walk the chain at @head into @chain.  Readable buffers are collected in
 * order at the front of chain->bufs; writable ones are staged at the back
 * and moved after the walk, so the two lists never interleave.
 */
static int vring_walk(Vring *vr, uint16_t head, VringChain *chain)
{
    uint64_t table = vr->cfg.desc;
    unsigned tsize = vr->cfg.num;
    unsigned budget = tsize;
    unsigned i = head;
    bool in_indirect = false;
    VringBuf *in_tmp = chain->bufs + chain->cap;  /* grows downwards */
    VringDesc d;

    chain->nout = chain->nin = 0;
    chain->out_len = chain->in_len = 0;

    for (;;) {
        if (budget-- == 0) {
            return vring_fail(vr, VRING_ERR_LOOP);
        }
        if (!vring_read_desc(vr, table, i, &d)) {
            return vring_fail(vr, VRING_ERR_MEM);
        }
        if (d.flags & VRING_DESC_F_INDIRECT) {
            if (in_indirect) {
                return vring_fail(vr, VRING_ERR_INDIRECT_NESTED);
            }
            if (!vr->indirect || (d.flags & VRING_DESC_F_NEXT)) {
                return vring_fail(vr, VRING_ERR_INDIRECT);
            }
            if (d.len == 0 || d.len % VRING_DESC_SIZE ||
                d.len / VRING_DESC_SIZE > vr->cfg.num) {
                return vring_fail(vr, VRING_ERR_INDIRECT_LEN);
            }
            if (!vring_area_ok(d.addr, d.len, 1)) {
                return vring_fail(vr, VRING_ERR_MEM);
            }
            table = d.addr;
            tsize = d.len / VRING_DESC_SIZE;
            budget = tsize;
            i = 0;
            in_indirect = true;
            continue;
        }
        if (d.len == 0) {
            return vring_fail(vr, VRING_ERR_ZERO_LEN);
        }
        if (!vring_area_ok(d.addr, d.len, 1)) {
            return vring_fail(vr, VRING_ERR_MEM);
        }
        if (chain->nout + chain->nin >= chain->cap) {
            return vring_fail(vr, VRING_ERR_LOOP);
        }
        if (d.flags & VRING_DESC_F_WRITE) {
            if (chain->in_len + d.len > VRING_MAX_CHAIN_LEN) {
                return vring_fail(vr, VRING_ERR_CHAIN_LEN);
            }
            in_tmp--;
            in_tmp->addr = d.addr;
            in_tmp->len = d.len;
            chain->nin++;
            chain->in_len += d.len;
        } else {
            if (chain->nin) {
                return vring_fail(vr, VRING_ERR_READ_AFTER_WRITE);
            }
            if (chain->out_len + d.len > VRING_MAX_CHAIN_LEN) {
                return vring_fail(vr, VRING_ERR_CHAIN_LEN);
            }
            chain->bufs[chain->nout].addr = d.addr;
            chain->bufs[chain->nout].len = d.len;
            chain->nout++;
            chain->out_len += d.len;
        }
        if (!(d.flags & VRING_DESC_F_NEXT)) {
            break;
        }
        if (d.next >= tsize) {
            return vring_fail(vr, VRING_ERR_NEXT);
        }
        i = d.next;
    }

    /* Move the writable buffers, reversed back into chain order. */
    for (unsigned k = 0; k < chain->nin; k++) {
        chain->bufs[chain->nout + k] = chain->bufs[chain->cap - 1 - k];
    }
    return 0;
}

int vring_pop(Vring *vr, VringChain *chain, bool want_out, bool want_in)
{
    uint16_t avail_idx, head;
    int r = vring_check_ready(vr);

    if (r) {
        return r;
    }
    if (!vring_ld16(vr, avail_idx_addr(vr), &avail_idx)) {
        return vring_fail(vr, VRING_ERR_MEM);
    }
    if (avail_idx == vr->last_avail_idx) {
        return 0;
    }
    if ((uint16_t)(avail_idx - vr->last_avail_idx) > vr->cfg.num) {
        return vring_fail(vr, VRING_ERR_AVAIL_IDX);
    }
    /* Read the ring entry only after seeing the index (pairs with the
     * driver's write barrier between the two). */
    smp_rmb();
    if (!vring_ld16(vr, avail_ring_addr(vr, vr->last_avail_idx), &head)) {
        return vring_fail(vr, VRING_ERR_MEM);
    }
    if (head >= vr->cfg.num) {
        return vring_fail(vr, VRING_ERR_HEAD);
    }
    r = vring_walk(vr, head, chain);
    if (r) {
        return r;
    }
    if ((!want_out && chain->nout) || (!want_in && chain->nin)) {
        return vring_fail(vr, VRING_ERR_DIRECTION);
    }
    chain->head = head;
    chain->ndesc = 1;
    vr->last_avail_idx++;
    vr->inflight++;
    if (vr->event_idx && vr->notify_enabled) {
        /* Ask to be kicked for entries past the ones seen so far. */
        if (!vring_st16(vr, avail_event_addr(vr), vr->last_avail_idx)) {
            return vring_fail(vr, VRING_ERR_MEM);
        }
    }
    return 1;
}

void vring_unpop(Vring *vr, unsigned n)
{
    n = MIN(n, vr->inflight);
    vr->last_avail_idx -= n;
    vr->inflight -= n;
}

VringError vring_fill(Vring *vr, const VringChain *chain, uint32_t len)
{
    uint8_t b[VRING_USED_ELEM_SIZE];
    int r = vring_check_ready(vr);

    if (r) {
        return -r;
    }
    if (vr->inflight == 0) {
        vring_fail(vr, VRING_ERR_USED);
        return VRING_ERR_USED;
    }
    stl_le_p(b, chain->head);
    stl_le_p(b + 4, len);
    if (!vr->mem->write(vr->mem_opaque,
                        used_elem_addr(vr, vr->used_idx + vr->pending_used),
                        b, sizeof(b))) {
        vring_fail(vr, VRING_ERR_MEM);
        return VRING_ERR_MEM;
    }
    vr->pending_used++;
    vr->inflight--;
    return VRING_OK;
}

VringError vring_flush(Vring *vr)
{
    uint16_t new_idx;

    if (!vr->pending_used) {
        return VRING_OK;
    }
    new_idx = vr->used_idx + vr->pending_used;
    /* The used entries must be visible before the index that covers them. */
    smp_wmb();
    if (!vring_st16(vr, used_idx_addr(vr), new_idx)) {
        vring_fail(vr, VRING_ERR_MEM);
        return VRING_ERR_MEM;
    }
    vr->used_idx = new_idx;
    vr->pending_used = 0;
    vr->unsignalled = true;
    return VRING_OK;
}

bool vring_need_notify(Vring *vr)
{
    uint16_t flags, event, old, new;
    bool valid;

    if (!vr->ready || !vr->unsignalled) {
        return false;       /* nothing published since the last time */
    }
    vr->unsignalled = false;
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

void vring_disable_notify(Vring *vr)
{
    vr->notify_enabled = false;
    if (vr->ready && !vr->event_idx) {
        vring_st16(vr, vr->cfg.device, VRING_USED_F_NO_NOTIFY);
    }
    /* With EVENT_IDX, not moving avail_event suppresses the kicks. */
}

bool vring_has_avail(Vring *vr)
{
    uint16_t idx;

    if (!vring_is_ready(vr) || !vring_ld16(vr, avail_idx_addr(vr), &idx)) {
        return false;
    }
    return idx != vr->last_avail_idx;
}

bool vring_enable_notify(Vring *vr)
{
    uint16_t idx;

    vr->notify_enabled = true;
    if (!vring_is_ready(vr)) {
        return false;
    }
    if (vr->event_idx) {
        if (vring_ld16(vr, avail_idx_addr(vr), &idx)) {
            vring_st16(vr, avail_event_addr(vr), idx);
        }
    } else {
        vring_st16(vr, vr->cfg.device, 0);
    }
    /* Publish the wish before looking for buffers that raced with it. */
    smp_mb();
    return vring_has_avail(vr);
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
    state->avail_idx = vr->last_avail_idx;
    state->used_idx = vr->used_idx;
}

VringError vring_set_state(Vring *vr, const VringState *state)
{
    if (!vr->ready) {
        return VRING_ERR_NOT_READY;
    }
    /* At most a ring's worth of chains can be in flight. */
    if ((uint16_t)(state->avail_idx - state->used_idx) > vr->cfg.num) {
        return VRING_ERR_STATE;
    }
    vr->last_avail_idx = state->avail_idx;
    vr->used_idx = state->used_idx;
    vr->inflight = state->avail_idx - state->used_idx;
    vr->pending_used = 0;
    vr->signalled_used_valid = false;
    return VRING_OK;
}
