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
 *
 * Until the driver sets parameters, a device may moderate on its own
 * (mdev_coal_set_adaptive), as NICs' adaptive moderation does: only where
 * holding a notification batches buffers, never for traffic that waits
 * for each notification (ping-pong).  See mdev-coal.c for the rule.
 */

#ifndef HW_VIRTIO_MDEV_COAL_H
#define HW_VIRTIO_MDEV_COAL_H

#include "qemu/timer.h"
#include "migration/vmstate.h"

typedef struct MdevCoal {
    uint32_t max_packets;
    uint32_t usecs;
    bool driver_set;            /* the driver chose: no adaptive moderation */
    uint32_t pending;           /* used buffers published, not signalled */
    QEMUTimer *timer;

    /* adaptive moderation (not migrated: it learns again in a few ms) */
    uint32_t adaptive_max;      /* largest gap in us; 0: off */
    uint32_t gap;               /* least time between notifications, us */
    int64_t last_ns;            /* the last notification, virtual clock */
    bool held;                  /* the pending one waits for the gap */
    unsigned unheld;            /* notifications in a row sent at once */
    unsigned backoff;           /* failed holds: probe less often */
    bool probing;               /* @gap is a probe; @saved_gap before it */
    uint32_t saved_gap;
    unsigned probe_shift;       /* failed probes: probe further */
    bool batching;              /* the last hold batched buffers */
} MdevCoal;

/* @fire(@opaque) runs when a held notification's time is up. */
void mdev_coal_init(MdevCoal *c, QEMUTimerCB *fire, void *opaque);
void mdev_coal_destroy(MdevCoal *c);

/* Device reset: no coalescing, nothing pending, adaptive from scratch. */
void mdev_coal_reset(MdevCoal *c);

/* The driver's parameters (ending adaptive moderation until reset). */
void mdev_coal_set(MdevCoal *c, uint32_t max_packets, uint32_t usecs);

/*
 * Moderate while the driver has set nothing, holding a notification at
 * most @max_usecs after the previous one; 0 turns it off.  Kept by reset.
 */
void mdev_coal_set_adaptive(MdevCoal *c, uint32_t max_usecs);

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

/*
 * Whether adaptive moderation batches: the last held notification carried
 * several buffers (a stream).  The owner may then poll its driver's ring
 * instead of taking a notification per buffer.
 */
bool mdev_coal_batching(const MdevCoal *c);

/* The current least time between notifications, in us. */
static inline uint32_t mdev_coal_gap(const MdevCoal *c)
{
    return c->gap;
}

/* Migration: the parameters and the pending count (re-armed on load). */
extern const VMStateDescription vmstate_mdev_coal;

#endif /* HW_VIRTIO_MDEV_COAL_H */
