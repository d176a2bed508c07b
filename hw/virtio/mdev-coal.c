/*
 * mdev-coal: coalescing of one queue's used-buffer notifications
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * See include/hw/virtio/mdev-coal.h.
 *
 * Adaptive moderation is a rate limit, not a delay: a notification goes
 * out at once unless the previous one went less than 'gap' ago; then it
 * waits until the gap has passed, or until MDEV_COAL_ADAPTIVE_FRAMES are
 * pending.  The gap learns from what holding achieved:
 *  - a held notification that carried two or more buffers batched them:
 *    the gap doubles, up to the device's maximum;
 *  - one that carried a single buffer made the driver wait for nothing
 *    (ping-pong: its next buffer comes after it saw this one): the gap
 *    halves, and the next probe comes later (backoff);
 *  - after MDEV_COAL_PROBE << backoff notifications in a row went out at
 *    once, the gap doubles to probe (from MDEV_COAL_GAP_MIN).
 * Ping-pong traffic thus settles on gaps shorter than its round trip,
 * where nothing is held, and streaming on long ones.
 *
 * Not with -icount: virtual time then jumps to the next timer whenever the
 * guest idles, so a hold costs the guest its whole length and round trips
 * measured on that clock say nothing about the traffic.  Parameters the
 * driver sets apply there as everywhere.
 */

#include "qemu/osdep.h"
#include "hw/virtio/mdev-coal.h"
#include "system/cpu-timers.h"
#include "trace.h"

#define MDEV_COAL_GAP_MIN           16      /* us: the first probe */
#define MDEV_COAL_ADAPTIVE_FRAMES   16      /* a held batch goes at this */
#define MDEV_COAL_PROBE             8       /* unheld ones before a probe */
#define MDEV_COAL_BACKOFF_MAX       8       /* probe at least every 2048 */

void mdev_coal_init(MdevCoal *c, QEMUTimerCB *fire, void *opaque)
{
    c->timer = timer_new_us(QEMU_CLOCK_VIRTUAL, fire, opaque);
    mdev_coal_reset(c);
}

void mdev_coal_destroy(MdevCoal *c)
{
    g_clear_pointer(&c->timer, timer_free);
}

void mdev_coal_reset(MdevCoal *c)
{
    c->max_packets = 0;
    c->usecs = 0;
    c->driver_set = false;
    c->pending = 0;
    c->held = false;
    if (c->timer) {
        timer_del(c->timer);
    }
    c->gap = 0;
    c->last_ns = 0;
    c->unheld = 0;
    c->backoff = 0;
    c->probing = false;
    c->probe_shift = 0;
    c->batching = false;
}

void mdev_coal_set(MdevCoal *c, uint32_t max_packets, uint32_t usecs)
{
    c->max_packets = max_packets;
    c->usecs = usecs;
    c->driver_set = true;
}

void mdev_coal_set_adaptive(MdevCoal *c, uint32_t max_usecs)
{
    c->adaptive_max = max_usecs;
    c->gap = MIN(c->gap, max_usecs);
}

static bool mdev_coal_adaptive(const MdevCoal *c)
{
    return c->adaptive_max && !c->driver_set && !icount_enabled();
}

bool mdev_coal_batching(const MdevCoal *c)
{
    return mdev_coal_adaptive(c) && c->batching;
}

/* The driver's parameters: whether the pending notification waits. */
static bool mdev_coal_holds(const MdevCoal *c)
{
    return c->usecs && c->max_packets != 1 &&
           (!c->max_packets || c->pending < c->max_packets);
}

/* Adaptive: hold until the gap since the last notification has passed. */
static bool mdev_coal_adaptive_due(MdevCoal *c)
{
    int64_t until = c->last_ns + (int64_t)c->gap * SCALE_US;

    if (!c->gap || c->pending >= MDEV_COAL_ADAPTIVE_FRAMES ||
        qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL) >= until) {
        return true;
    }
    if (!c->held && c->timer) {
        c->held = true;
        timer_mod_ns(c->timer, until);
    }
    return false;
}

bool mdev_coal_due(MdevCoal *c)
{
    if (!c->pending) {
        return false;
    }
    if (mdev_coal_adaptive(c) ? mdev_coal_adaptive_due(c)
                              : !mdev_coal_holds(c)) {
        mdev_coal_signalled(c);
        return true;
    }
    if (!mdev_coal_adaptive(c) && c->timer && !timer_pending(c->timer)) {
        timer_mod(c->timer, qemu_clock_get_us(QEMU_CLOCK_VIRTUAL) + c->usecs);
    }
    return false;
}

/* A hold made the driver wait for a single buffer: back off. */
static uint32_t mdev_coal_held_one(MdevCoal *c)
{
    c->backoff = MIN(c->backoff + 1, MDEV_COAL_BACKOFF_MAX);
    if (c->probing) {
        /* Next time probe further: between the two, holds catch one. */
        c->probe_shift = MIN(c->probe_shift + 1, MDEV_COAL_BACKOFF_MAX);
        return c->saved_gap;
    }
    return c->gap / 2 < MDEV_COAL_GAP_MIN ? 0 : c->gap / 2;
}

/* Probe a longer gap, from the one that held nothing so far. */
static uint32_t mdev_coal_probe(MdevCoal *c)
{
    uint64_t gap = MAX(c->gap, MDEV_COAL_GAP_MIN / 2);

    c->saved_gap = c->gap;
    c->probing = true;
    return MIN(gap << (1 + c->probe_shift), c->adaptive_max);
}

/* What the notification now going out says about the gap. */
static void mdev_coal_learn(MdevCoal *c)
{
    uint32_t gap = c->gap;

    if (c->held && c->pending > 1) {
        gap = MIN(gap * 2, c->adaptive_max);
        c->batching = true;
        c->probing = false;
        c->probe_shift = 0;
        c->backoff = 0;
        c->unheld = 0;
    } else if (c->held) {
        gap = mdev_coal_held_one(c);
        c->batching = false;
        c->probing = false;
        c->unheld = 0;
    } else if (++c->unheld >= (MDEV_COAL_PROBE << c->backoff)) {
        gap = mdev_coal_probe(c);
        c->unheld = 0;
    }
    if (gap != c->gap) {
        trace_mdev_coal_gap(c, c->gap, gap, c->pending, c->held);
        c->gap = gap;
    }
}

void mdev_coal_signalled(MdevCoal *c)
{
    if (mdev_coal_adaptive(c) && c->pending) {
        mdev_coal_learn(c);
        c->last_ns = qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL);
    }
    c->pending = 0;
    c->held = false;
    if (c->timer) {
        timer_del(c->timer);
    }
}

static int mdev_coal_pre_load(void *opaque)
{
    MdevCoal *c = opaque;

    c->driver_set = false;
    return 0;
}

/* A held notification goes out when the VM runs again. */
static int mdev_coal_post_load(void *opaque, int version_id)
{
    MdevCoal *c = opaque;

    /* Parameters mean the driver set them; 0 and 0 come as a subsection. */
    c->driver_set |= c->max_packets || c->usecs;
    c->held = false;
    if (c->pending && c->timer) {
        timer_mod(c->timer, qemu_clock_get_us(QEMU_CLOCK_VIRTUAL));
    }
    return 0;
}

static bool mdev_coal_driver_needed(void *opaque)
{
    MdevCoal *c = opaque;

    return c->driver_set && !c->max_packets && !c->usecs;
}

/* The driver asked for no coalescing: the device must not moderate. */
static const VMStateDescription vmstate_mdev_coal_driver = {
    .name = "mdev-coal/driver",
    .version_id = 1,
    .minimum_version_id = 1,
    .needed = mdev_coal_driver_needed,
    .fields = (const VMStateField[]) {
        VMSTATE_BOOL(driver_set, MdevCoal),
        VMSTATE_END_OF_LIST()
    },
};

const VMStateDescription vmstate_mdev_coal = {
    .name = "mdev-coal",
    .version_id = 1,
    .minimum_version_id = 1,
    .pre_load = mdev_coal_pre_load,
    .post_load = mdev_coal_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT32(max_packets, MdevCoal),
        VMSTATE_UINT32(usecs, MdevCoal),
        VMSTATE_UINT32(pending, MdevCoal),
        VMSTATE_END_OF_LIST()
    },
    .subsections = (const VMStateDescription * const []) {
        &vmstate_mdev_coal_driver,
        NULL
    },
};
