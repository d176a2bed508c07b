/*
 * libqos: virtio-mdev-net, the mvnet NIC behind the virtio-mdev transport
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * A qgraph node for "-device virtio-mdev-net" on a machine with a platform
 * bus (arm virt), producing the "virtio-net" interface, so that the tests
 * written for it (virtio-net-test.c) run against our NIC unchanged:
 *
 *   <arch>/virt --contains--> platform-bus-device --produces-->
 *   platform-bus --consumed by--> virtio-mdev-net --produces--> virtio-net
 *
 * As with virtio-net-device, the tests add the backend, -netdev ...,id=hs0.
 * The device is created with legacy=on: libqos's virtio-mmio driver speaks
 * only the legacy register layout (version 1: GuestPageSize, QueuePFN, 32
 * feature bits).  The driver here sets the device up as the tests expect
 * of a virtio-net: every offered feature but INDIRECT_DESC and EVENT_IDX
 * (which the tests' ring helpers do not follow), and the receive,
 * transmit and control queues.
 */

#include "qemu/osdep.h"
#include "../libqtest.h"
#include "qemu/module.h"
#include "standard-headers/linux/virtio_ids.h"
#include "standard-headers/linux/virtio_ring.h"
#include "platform-bus.h"
#include "virtio-mdev-net.h"

#define VIRTIO_MDEV_NET_ID      "mdev-net0"
#define VIRTIO_MDEV_NET_PAGE    4096    /* legacy GuestPageSize, ring align */
#define VIRTIO_MDEV_NET_QUEUES  3       /* rx, tx, ctrl */

static void *virtio_mdev_net_get_driver(void *object, const char *interface)
{
    QVirtioMdevNet *d = object;

    if (!g_strcmp0(interface, "virtio-net")) {
        return &d->net;
    }
    if (!g_strcmp0(interface, "virtio")) {
        return d->net.vdev;
    }
    fprintf(stderr, "%s not present in virtio-mdev-net\n", interface);
    g_assert_not_reached();
}

/* Every test starts from a reset device with its queues set up. */
static void virtio_mdev_net_start_hw(QOSGraphObject *obj)
{
    QVirtioMdevNet *d = (QVirtioMdevNet *)obj;
    QVirtioDevice *vdev = d->net.vdev;
    uint64_t features;

    qvirtio_start_device(vdev);
    features = qvirtio_get_features(vdev) &
               ~((1ULL << VIRTIO_RING_F_INDIRECT_DESC) |
                 (1ULL << VIRTIO_RING_F_EVENT_IDX));
    qvirtio_set_features(vdev, features);
    d->net.n_queues = VIRTIO_MDEV_NET_QUEUES;
    d->net.queues = g_new(QVirtQueue *, VIRTIO_MDEV_NET_QUEUES);
    for (int i = 0; i < VIRTIO_MDEV_NET_QUEUES; i++) {
        d->net.queues[i] = qvirtqueue_setup(vdev, d->alloc, i);
    }
    qvirtio_set_driver_ok(vdev);
}

static void virtio_mdev_net_destructor(QOSGraphObject *obj)
{
    QVirtioMdevNet *d = (QVirtioMdevNet *)obj;

    for (int i = 0; i < d->net.n_queues; i++) {
        qvirtqueue_cleanup(d->net.vdev->bus, d->net.queues[i], d->alloc);
    }
    g_free(d->net.queues);
}

static void *virtio_mdev_net_create(void *pbus, QGuestAllocator *alloc,
                                    void *arg)
{
    QOSPlatformBus *bus = pbus;
    QVirtioMdevNet *d = g_new0(QVirtioMdevNet, 1);
    uint64_t addr;

    /* Placed by the platform bus: ask the device where. */
    addr = qos_platform_bus_device_addr(bus, "/machine/peripheral/"
                                        VIRTIO_MDEV_NET_ID, "mmio-base");
    qvirtio_mmio_init_device(&d->mmio, bus->qts, addr,
                             VIRTIO_MDEV_NET_PAGE);
    g_assert_cmpuint(d->mmio.version, ==, 1);
    g_assert_cmpuint(d->mmio.vdev.device_type, ==, VIRTIO_ID_NET);

    d->net.vdev = &d->mmio.vdev;
    d->alloc = alloc;
    d->mmio.obj.get_driver = virtio_mdev_net_get_driver;
    d->mmio.obj.start_hw = virtio_mdev_net_start_hw;
    d->mmio.obj.destructor = virtio_mdev_net_destructor;
    return &d->mmio.obj;
}

static void virtio_mdev_net_register_nodes(void)
{
    /*
     * As for virtio-net-device (virtio-net.c): the tests of the
     * "virtio-net" interface add -netdev ...,id=hs0; the "virtio"
     * interface is answered by get_driver but not produced, because its
     * tests add no netdev and QEMU would not start.
     */
    QOSGraphEdgeOptions opts = {
        .extra_device_opts = "id=" VIRTIO_MDEV_NET_ID ",netdev=hs0,"
                             "legacy=on",
    };

    qos_node_create_driver("virtio-mdev-net", virtio_mdev_net_create);
    qos_node_consumes("virtio-mdev-net", "platform-bus", &opts);
    qos_node_produces("virtio-mdev-net", "virtio-net");
}

libqos_init(virtio_mdev_net_register_nodes);
