/*
 * mdev-coal: coalescing of one queue's used-buffer notifications
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * See include/hw/virtio/mdev-coal.h.
 */

#include "qemu/osdep.h"
#include "hw/virtio/mdev-coal.h"

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
    mdev_coal_signalled(c);
}

void mdev_coal_set(MdevCoal *c, uint32_t max_packets, uint32_t usecs)
{
    c->max_packets = max_packets;
    c->usecs = usecs;
}

static bool mdev_coal_holds(const MdevCoal *c)
{
    return c->usecs && c->max_packets != 1 &&
           (!c->max_packets || c->pending < c->max_packets);
}

bool mdev_coal_due(MdevCoal *c)
{
    if (!c->pending) {
        return false;
    }
    if (!mdev_coal_holds(c)) {
        mdev_coal_signalled(c);
        return true;
    }
    if (c->timer && !timer_pending(c->timer)) {
        timer_mod(c->timer, qemu_clock_get_us(QEMU_CLOCK_VIRTUAL) + c->usecs);
    }
    return false;
}

void mdev_coal_signalled(MdevCoal *c)
{
    c->pending = 0;
    if (c->timer) {
        timer_del(c->timer);
    }
}

/* A held notification goes out when the VM runs again. */
static int mdev_coal_post_load(void *opaque, int version_id)
{
    MdevCoal *c = opaque;

    if (c->pending && c->timer) {
        timer_mod(c->timer, qemu_clock_get_us(QEMU_CLOCK_VIRTUAL));
    }
    return 0;
}

const VMStateDescription vmstate_mdev_coal = {
    .name = "mdev-coal",
    .version_id = 1,
    .minimum_version_id = 1,
    .post_load = mdev_coal_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT32(max_packets, MdevCoal),
        VMSTATE_UINT32(usecs, MdevCoal),
        VMSTATE_UINT32(pending, MdevCoal),
        VMSTATE_END_OF_LIST()
    },
};
