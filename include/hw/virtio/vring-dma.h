/*
 * vring-dma: guest memory for backends that run virtio rings themselves
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The one way every mdev backend reaches guest memory: the vring engine's
 * VringMemOps over a DMA address space, with the ring areas of each ready
 * queue mapped once into MemoryRegionCaches, and map/unmap for buffers
 * that stay mapped while I/O is in flight.
 *
 * The ring caches are an RCU-managed snapshot.  A change of the memory map
 * (the listener's commit, which may run inside a device's own DMA access)
 * or of a queue's rings builds a new snapshot and publishes it; the old
 * one is freed after the readers that may still use it are done, as
 * upstream virtio does with its region caches.  Used under the BQL.
 */

#ifndef HW_VIRTIO_VRING_DMA_H
#define HW_VIRTIO_VRING_DMA_H

#include "exec/memory.h"
#include "hw/virtio/vring-engine.h"

typedef struct VringDmaCache VringDmaCache;

typedef struct VringDma {
    AddressSpace *as;
    MemoryListener listener;
    unsigned nqueues;
    VringConfig *rings;         /* per queue; num 0: not cached */
    VringDmaCache *cache;       /* RCU */
} VringDma;

/* Start serving @as for up to @nqueues queues; @name names the listener. */
void vring_dma_init(VringDma *d, AddressSpace *as, unsigned nqueues,
                    const char *name);
/* Stop: no cache, no listener.  Safe on a zeroed or destroyed VringDma. */
void vring_dma_destroy(VringDma *d);
bool vring_dma_active(const VringDma *d);

/* Cache the ring areas of queue @q as @cfg places them; NULL forgets. */
void vring_dma_set_ring(VringDma *d, unsigned q, const VringConfig *cfg);

/* The engine's memory backend; its opaque is the VringDma. */
extern const VringMemOps vring_dma_mem_ops;

/*
 * A host pointer to at most *@len bytes of guest RAM at @addr, for I/O
 * that runs after this call returns; *@len shrinks when the mapping is
 * shorter.  NULL when @addr is not RAM (MMIO, unassigned): no bounce
 * buffer.  Pair every success with vring_dma_unmap() of the same pointer
 * and length.
 */
void *vring_dma_map(VringDma *d, uint64_t addr, uint64_t *len,
                    bool is_write);
void vring_dma_unmap(VringDma *d, void *ptr, uint64_t len, bool is_write,
                     uint64_t access_len);

#endif /* HW_VIRTIO_VRING_DMA_H */
