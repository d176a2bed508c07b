/*
 * vhost-user-mdev: a vhost-user frontend's memory as an address space
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The export hands its device the frontend's shared memory the way the
 * virtio-mdev transport hands it guest memory: as a DMA AddressSpace,
 * so the device reaches it through the guest-memory layer (vring-dma)
 * unchanged.  Each region of the frontend's memory table is mapped from
 * its file descriptor at its guest physical address.  A new table
 * replaces the old one in one memory transaction; a region's mapping
 * lives until the last reader of the old map is done (RCU), so a device
 * never sees memory vanish under it.  Used in the main loop, under the
 * BQL.
 */

#ifndef HW_VIRTIO_VHOST_USER_MDEV_MEM_H
#define HW_VIRTIO_VHOST_USER_MDEV_MEM_H

#include "exec/memory.h"
#include "qom/object.h"
#include "subprojects/libvhost-user/libvhost-user.h"

#define VHOST_USER_MDEV_MEM_REGIONS VHOST_MEMORY_BASELINE_NREGIONS

typedef struct VhostUserMdevRegion VhostUserMdevRegion;

#define TYPE_VHOST_USER_MDEV_MEM "vhost-user-mdev-memory"
OBJECT_DECLARE_SIMPLE_TYPE(VhostUserMdevMem, VHOST_USER_MDEV_MEM)

struct VhostUserMdevMem {
    Object parent_obj;
    MemoryRegion root;
    AddressSpace as;
    unsigned nregions;
    VhostUserMdevRegion *regions[VHOST_USER_MDEV_MEM_REGIONS];
    unsigned generation;        /* tables mapped so far, for names */
};

/*
 * An empty map, @name naming its address space.  It is an object of its
 * own, which its address space keeps alive, so that the export does not
 * reference itself through its memory.
 */
VhostUserMdevMem *vhost_user_mdev_mem_new(const char *name);

/* Forget every region and drop the caller's reference (see _new). */
void vhost_user_mdev_mem_destroy(VhostUserMdevMem *m);

/*
 * Replace the map by the @nregions regions of @regions, each mapped from
 * @fds[i] (which stay the caller's).  False with @errp set when the table
 * is not valid (sizes, overflow, overlap, alignment) or a region does not
 * map; the map is then empty.
 */
bool vhost_user_mdev_mem_set(VhostUserMdevMem *m,
                             const VhostUserMemoryRegion *regions,
                             unsigned nregions, const int *fds,
                             Error **errp);

/* Forget every region. */
void vhost_user_mdev_mem_clear(VhostUserMdevMem *m);

/*
 * The guest physical address of @len bytes at the frontend's virtual
 * address @qva, all within one region; false when they are not.
 */
bool vhost_user_mdev_mem_qva_to_gpa(const VhostUserMdevMem *m, uint64_t qva,
                                    uint64_t len, uint64_t *gpa);

#endif /* HW_VIRTIO_VHOST_USER_MDEV_MEM_H */
