/*
 * mdev-coal: coalescing of one queue's used-buffer notifications
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * What virtio-net's VIRTIO_NET_F_NOTF_COAL asks of a device, for any ring
 * backend: used buffers are published at once, but the interrupt waits
 * until @max_packets of them are pending or @usecs have passed since the
 * first (on the virtual clock: nothing fires while the VM is stopped).
 * usecs 0 means no delay (every notification goes at once, whatever
 * max_packets); max_packets 0 means no packet limit, 1 no delay.  After
 * reset both are 0.  The owner counts what it completes, asks whether the
 * notification is due, and is called back by the timer.  Under the BQL.
 */

#ifndef HW_VIRTIO_MDEV_COAL_H
#define HW_VIRTIO_MDEV_COAL_H

#include "qemu/timer.h"
#include "migration/vmstate.h"

typedef struct MdevCoal {
    uint32_t max_packets;
    uint32_t usecs;
    uint32_t pending;           /* used buffers published, not signalled */
    QEMUTimer *timer;
} MdevCoal;

/* @fire(@opaque) runs when a held notification's time is up. */
void mdev_coal_init(MdevCoal *c, QEMUTimerCB *fire, void *opaque);
void mdev_coal_destroy(MdevCoal *c);

/* Device reset: no coalescing, nothing pending. */
void mdev_coal_reset(MdevCoal *c);

/* The driver's parameters; what is pending keeps its timer. */
void mdev_coal_set(MdevCoal *c, uint32_t max_packets, uint32_t usecs);

/* @n more used buffers were published. */
static inline void mdev_coal_count(MdevCoal *c, unsigned n)
{
    c->pending += n;
}

/*
 * After publishing: true when the notification is due now (the owner
 * signals, and the count restarts); false when it is held (the timer is
 * running) or nothing is pending.
 */
bool mdev_coal_due(MdevCoal *c);

/* The timer fired or the owner signalled for another reason: restart. */
void mdev_coal_signalled(MdevCoal *c);

/* Migration: the parameters and the pending count (re-armed on load). */
extern const VMStateDescription vmstate_mdev_coal;

#endif /* HW_VIRTIO_MDEV_COAL_H */
