/*
 * mdev-vq: the virtqueue every ring backend keeps behind the ops contract
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * See include/hw/virtio/mdev-vq.h.
 */

#include "qemu/osdep.h"
#include "qemu/error-report.h"
#include "qemu/log.h"
#include "migration/vmstate.h"
#include "hw/virtio/mdev-vq.h"

/* The engine keeps packed wrap counters in bit 15 of its state. */
#define MDEV_VQ_WRAP (1u << 15)

void mdev_vq_init(MdevVq *vq, VringDma *dma, unsigned idx, const char *owner)
{
    vring_init_mem(&vq->ring, &vring_dma_mem_ops, dma);
    vq->dma = dma;
    vq->idx = idx;
    vq->owner = owner;
}

void mdev_vq_set_address(MdevVq *vq, uint64_t desc, uint64_t driver,
                         uint64_t device)
{
    vq->cfg.desc = desc;
    vq->cfg.driver = driver;
    vq->cfg.device = device;
}

void mdev_vq_set_num(MdevVq *vq, uint32_t num)
{
    vq->cfg.num = num;
}

void mdev_vq_set_cb(MdevVq *vq, VirtioMdevCallback *cb, void *opaque)
{
    vq->cb = cb;
    vq->cb_opaque = opaque;
}

static bool mdev_vq_packed(const MdevVq *vq)
{
    return vq->cfg.features & (1ULL << VRING_F_RING_PACKED);
}

int mdev_vq_set_state(MdevVq *vq, const VirtioMdevVqState *state)
{
    VringState s = {
        .avail_idx = state->avail_index,
        .used_idx = state->used_index,
    };

    if (mdev_vq_packed(vq)) {
        /* The contract has no in-flight count: nothing may be in flight. */
        if ((s.avail_idx | s.used_idx) & MDEV_VQ_WRAP) {
            return -EINVAL;
        }
        s.avail_idx |= state->avail_wrap_counter ? MDEV_VQ_WRAP : 0;
        s.used_idx |= state->used_wrap_counter ? MDEV_VQ_WRAP : 0;
    } else {
        s.inflight = s.avail_idx - s.used_idx;
    }
    return vring_set_state(&vq->ring, &s) < 0 ? -EINVAL : 0;
}

void mdev_vq_get_state(MdevVq *vq, VirtioMdevVqState *state)
{
    VringState s;

    vring_get_state(&vq->ring, &s);
    memset(state, 0, sizeof(*state));
    state->avail_index = s.avail_idx;
    state->used_index = s.used_idx;
    if (mdev_vq_packed(vq)) {
        state->avail_index &= ~MDEV_VQ_WRAP;
        state->used_index &= ~MDEV_VQ_WRAP;
        state->avail_wrap_counter = s.avail_idx & MDEV_VQ_WRAP;
        state->used_wrap_counter = s.used_idx & MDEV_VQ_WRAP;
    }
}

int mdev_vq_set_ready(MdevVq *vq, bool ready, uint64_t features)
{
    int r;

    vring_reset(&vq->ring);
    vring_dma_set_ring(vq->dma, vq->idx, NULL);
    vq->ready = false;
    if (!ready) {
        return 0;
    }
    vq->cfg.features = features;
    r = vring_setup(&vq->ring, &vq->cfg);
    if (r < 0) {
        qemu_log_mask(LOG_GUEST_ERROR, "%s: queue %u: %s\n", vq->owner,
                      vq->idx, vring_strerror(-r));
        return -EINVAL;
    }
    vring_dma_set_ring(vq->dma, vq->idx, &vq->cfg);
    vq->ready = true;
    return 0;
}

void mdev_vq_reset(MdevVq *vq)
{
    vring_reset(&vq->ring);
    if (vring_dma_active(vq->dma)) {
        vring_dma_set_ring(vq->dma, vq->idx, NULL);
    }
    vq->ready = false;
    memset(&vq->cfg, 0, sizeof(vq->cfg));
}

int mdev_vq_publish(MdevVq *vq)
{
    return vring_flush(&vq->ring);
}

int mdev_vq_notify(MdevVq *vq)
{
    int r = vring_flush(&vq->ring);

    if (r < 0) {
        return r;
    }
    if (!vring_need_notify(&vq->ring) || !vq->cb) {
        return 0;
    }
    vq->cb(vq->cb_opaque);
    return 1;
}

void mdev_vq_pre_save(MdevVq *vq)
{
    vring_get_state(&vq->ring, &vq->mig);
}

int mdev_vq_post_load(MdevVq *vq, uint64_t features)
{
    int r;

    vring_reset(&vq->ring);
    vring_dma_set_ring(vq->dma, vq->idx, NULL);
    if (!vq->ready) {
        return 0;
    }
    vq->cfg.features = features;
    r = vring_setup(&vq->ring, &vq->cfg);
    if (r == 0) {
        r = vring_set_state(&vq->ring, &vq->mig);
    }
    if (r < 0) {
        error_report("%s: queue %u: invalid migrated ring state: %s",
                     vq->owner, vq->idx, vring_strerror(-r));
        /* Nothing half-loaded stays in use. */
        vring_reset(&vq->ring);
        vq->ready = false;
        return -EINVAL;
    }
    vring_dma_set_ring(vq->dma, vq->idx, &vq->cfg);
    return 0;
}

const VMStateDescription vmstate_mdev_vq = {
    .name = "mdev-vq",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_BOOL(ready, MdevVq),
        VMSTATE_UINT16(cfg.num, MdevVq),
        VMSTATE_UINT64(cfg.desc, MdevVq),
        VMSTATE_UINT64(cfg.driver, MdevVq),
        VMSTATE_UINT64(cfg.device, MdevVq),
        VMSTATE_UINT16(mig.avail_idx, MdevVq),
        VMSTATE_UINT16(mig.used_idx, MdevVq),
        VMSTATE_UINT16(mig.inflight, MdevVq),
        VMSTATE_END_OF_LIST()
    },
};
