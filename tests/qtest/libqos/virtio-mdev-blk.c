/*
 * libqos: virtio-mdev-blk, the mvblk disk behind the virtio-mdev transport
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * A qgraph node for "-device virtio-mdev-blk" on a machine with a platform
 * bus (arm virt), producing the "virtio-blk" interface, so that the tests
 * written for it (virtio-blk-test.c) run against our disk unchanged:
 *
 *   <arch>/virt --contains--> platform-bus-device --produces-->
 *   platform-bus --consumed by--> virtio-mdev-blk --produces--> virtio-blk
 *
 * The device is created with legacy=on: libqos's virtio-mmio driver speaks
 * only the legacy register layout (version 1: GuestPageSize, QueuePFN, 32
 * feature bits).
 */

#include "qemu/osdep.h"
#include "../libqtest.h"
#include "qemu/module.h"
#include "standard-headers/linux/virtio_ids.h"
#include "platform-bus.h"
#include "virtio-mdev-blk.h"

#define VIRTIO_MDEV_BLK_ID      "mdev-blk0"
#define VIRTIO_MDEV_BLK_PAGE    4096    /* legacy GuestPageSize, ring align */

static void *virtio_mdev_blk_get_driver(void *object, const char *interface)
{
    QVirtioMdevBlk *d = object;

    if (!g_strcmp0(interface, "virtio-blk")) {
        return &d->blk;
    }
    if (!g_strcmp0(interface, "virtio")) {
        return d->blk.vdev;
    }
    fprintf(stderr, "%s not present in virtio-mdev-blk\n", interface);
    g_assert_not_reached();
}

/* Every test starts from a reset device, acknowledged by a driver. */
static void virtio_mdev_blk_start_hw(QOSGraphObject *obj)
{
    QVirtioMdevBlk *d = (QVirtioMdevBlk *)obj;

    qvirtio_start_device(&d->mmio.vdev);
}

static void *virtio_mdev_blk_create(void *pbus, QGuestAllocator *alloc,
                                    void *arg)
{
    QOSPlatformBus *bus = pbus;
    QVirtioMdevBlk *d = g_new0(QVirtioMdevBlk, 1);
    uint64_t addr;

    /* Placed by the platform bus: ask the device where. */
    addr = qos_platform_bus_device_addr(bus, "/machine/peripheral/"
                                        VIRTIO_MDEV_BLK_ID, "mmio-base");
    qvirtio_mmio_init_device(&d->mmio, bus->qts, addr,
                             VIRTIO_MDEV_BLK_PAGE);
    g_assert_cmpuint(d->mmio.version, ==, 1);
    g_assert_cmpuint(d->mmio.vdev.device_type, ==, VIRTIO_ID_BLOCK);

    d->blk.vdev = &d->mmio.vdev;
    d->mmio.obj.get_driver = virtio_mdev_blk_get_driver;
    d->mmio.obj.start_hw = virtio_mdev_blk_start_hw;
    return &d->mmio.obj;
}

static void virtio_mdev_blk_register_nodes(void)
{
    /*
     * As for virtio-blk-device (virtio-blk.c), the tests of the
     * "virtio-blk" interface add -drive id=drive0; the "virtio" interface
     * is answered by get_driver but not produced, because its tests
     * (virtio-test.c) add no drive and QEMU would not start.  No default
     * NIC: virt's is a virtio-net-pci with a ROM that a build without
     * firmware blobs does not have, and a disk test needs no NIC.
     */
    QOSGraphEdgeOptions opts = {
        .before_cmd_line = "-nic none",
        .extra_device_opts = "id=" VIRTIO_MDEV_BLK_ID ",drive=drive0,"
                             "legacy=on",
    };

    qos_node_create_driver("virtio-mdev-blk", virtio_mdev_blk_create);
    qos_node_consumes("virtio-mdev-blk", "platform-bus", &opts);
    qos_node_produces("virtio-mdev-blk", "virtio-blk");
}

libqos_init(virtio_mdev_blk_register_nodes);
