/*
 * libqos: virtio-mdev-blk, the mvblk disk behind the virtio-mdev transport
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef LIBQOS_VIRTIO_MDEV_BLK_H
#define LIBQOS_VIRTIO_MDEV_BLK_H

#include "virtio-mmio.h"
#include "virtio-blk.h"

/*
 * The device is a virtio-mmio register window on the platform bus, driven
 * with libqos's virtio-mmio driver; mmio.obj is the node's object, so
 * mmio comes first.
 */
typedef struct QVirtioMdevBlk {
    QVirtioMMIODevice mmio;
    QVirtioBlk blk;
} QVirtioMdevBlk;

#endif
