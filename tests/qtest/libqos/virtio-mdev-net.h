/*
 * libqos: virtio-mdev-net, the mvnet NIC behind the virtio-mdev transport
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef LIBQOS_VIRTIO_MDEV_NET_H
#define LIBQOS_VIRTIO_MDEV_NET_H

#include "virtio-mmio.h"
#include "virtio-net.h"

/*
 * The device is a virtio-mmio register window on the platform bus, driven
 * with libqos's virtio-mmio driver; mmio.obj is the node's object, so
 * mmio comes first.  net is what the "virtio-net" interface's tests get.
 */
typedef struct QVirtioMdevNet {
    QVirtioMMIODevice mmio;
    QVirtioNet net;
    QGuestAllocator *alloc;
} QVirtioMdevNet;

#endif
