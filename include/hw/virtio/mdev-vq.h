/*
 * mdev-vq: the virtqueue every ring backend keeps behind the ops contract
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * A backend's queue ops are the same for every device: stage the driver's
 * size and addresses, start the ring (the engine, and the ring areas in
 * the guest-memory layer) when the driver makes it ready, convert its
 * position to and from VirtioMdevVqState, signal used buffers through the
 * transport's callback, and migrate all that.  MdevVq does it once; the
 * backend keeps what is its own (counters, the datapath).  Under the BQL.
 */

#ifndef HW_VIRTIO_MDEV_VQ_H
#define HW_VIRTIO_MDEV_VQ_H

#include "hw/virtio/virtio-mdev-ops.h"
#include "hw/virtio/vring-dma.h"
#include "hw/virtio/vring-engine.h"

typedef struct MdevVq {
    Vring ring;
    VringConfig cfg;            /* what the driver staged; features at ready */
    VringState mig;             /* ring position, for migration */
    bool ready;
    VirtioMdevCallback *cb;
    void *cb_opaque;
    VringDma *dma;
    unsigned idx;
    const char *owner;          /* for messages */
} MdevVq;

/* Queue @idx of the backend named @owner, its memory through @dma. */
void mdev_vq_init(MdevVq *vq, VringDma *dma, unsigned idx, const char *owner);

/* The queue ops (set_vq_address, set_vq_num, set_vq_cb, get/set_vq_state). */
void mdev_vq_set_address(MdevVq *vq, uint64_t desc, uint64_t driver,
                         uint64_t device);
void mdev_vq_set_num(MdevVq *vq, uint32_t num);
void mdev_vq_set_cb(MdevVq *vq, VirtioMdevCallback *cb, void *opaque);
int mdev_vq_set_state(MdevVq *vq, const VirtioMdevVqState *state);
void mdev_vq_get_state(MdevVq *vq, VirtioMdevVqState *state);

/*
 * set_vq_ready: start the ring for the negotiated @features (0, or
 * -EINVAL with LOG_GUEST_ERROR when the driver's ring is invalid), or
 * stop it.  The caller has nothing of the queue in flight when stopping.
 */
int mdev_vq_set_ready(MdevVq *vq, bool ready, uint64_t features);

/* Device reset: stopped, staged values forgotten. */
void mdev_vq_reset(MdevVq *vq);

/*
 * Publish the used entries filled so far and raise the queue's interrupt
 * if the driver wants one.  Returns 1 when it did, 0 when not, or
 * -VringError when the used ring cannot be written.
 */
int mdev_vq_notify(MdevVq *vq);

/*
 * Publish the used entries filled so far without an interrupt (one that
 * notification coalescing holds).  Returns 0 or -VringError.
 */
int mdev_vq_publish(MdevVq *vq);

/* Migration: vmstate_mdev_vq, with pre_save/post_load called by the owner's. */
extern const VMStateDescription vmstate_mdev_vq;
void mdev_vq_pre_save(MdevVq *vq);
/* Rebuild the ring from the loaded state; a failure leaves it stopped. */
int mdev_vq_post_load(MdevVq *vq, uint64_t features);

#endif /* HW_VIRTIO_MDEV_VQ_H */
