/*
 * vhost-user-mdev: a vhost-user frontend's memory as an address space
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * See vhost-user-mdev-mem.h.  Each region is a small QOM object that owns
 * its RAM MemoryRegion (mapped shared from a duplicate of the frontend's
 * fd), so the flat views and the device's ring caches that still point
 * at it keep it alive through their references to the owner, as a
 * memory backend is kept alive for a DIMM's regions.
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/error-report.h"
#include "qom/object.h"
#include "exec/memory.h"
#include "vhost-user-mdev-mem.h"
#include "trace.h"

#define TYPE_VHOST_USER_MDEV_REGION "vhost-user-mdev-region"
OBJECT_DECLARE_SIMPLE_TYPE(VhostUserMdevRegion, VHOST_USER_MDEV_REGION)

struct VhostUserMdevRegion {
    Object parent_obj;
    MemoryRegion mr;
    uint64_t gpa;
    uint64_t size;
    uint64_t qva;
};

VhostUserMdevMem *vhost_user_mdev_mem_new(const char *name)
{
    VhostUserMdevMem *m = VHOST_USER_MDEV_MEM(
        object_new(TYPE_VHOST_USER_MDEV_MEM));

    memory_region_init(&m->root, OBJECT(m), "vhost-user-mdev-memory",
                       UINT64_MAX);
    address_space_init(&m->as, &m->root, name);
    return m;
}

/*
 * The address space references @m through its root region until its
 * RCU callback has run; only then is @m finalized.
 */
void vhost_user_mdev_mem_destroy(VhostUserMdevMem *m)
{
    vhost_user_mdev_mem_clear(m);
    address_space_destroy(&m->as);
    object_unref(OBJECT(m));
}

/* Drop the regions; the caller is inside a memory transaction. */
static void vhost_user_mdev_mem_drop(VhostUserMdevMem *m)
{
    for (unsigned i = 0; i < m->nregions; i++) {
        VhostUserMdevRegion *r = m->regions[i];

        /* The old flat views hold @r (the owner) until they are gone. */
        memory_region_del_subregion(&m->root, &r->mr);
        object_unref(OBJECT(r));
        m->regions[i] = NULL;
    }
    m->nregions = 0;
}

void vhost_user_mdev_mem_clear(VhostUserMdevMem *m)
{
    memory_region_transaction_begin();
    vhost_user_mdev_mem_drop(m);
    memory_region_transaction_commit();
}

static bool ranges_overlap64(uint64_t a, uint64_t alen, uint64_t b,
                             uint64_t blen)
{
    return a < b + blen && b < a + alen;
}

/* Region @i of @regions, checked alone and against the ones before it. */
static bool vhost_user_mdev_region_valid(const VhostUserMemoryRegion *regions,
                                         unsigned i, Error **errp)
{
    const VhostUserMemoryRegion *r = &regions[i];
    uint64_t page = qemu_real_host_page_size();

    if (!r->memory_size || r->memory_size > UINT64_MAX - r->guest_phys_addr ||
        r->memory_size > UINT64_MAX - r->userspace_addr ||
        r->memory_size > UINT64_MAX - r->mmap_offset) {
        error_setg(errp, "memory region %u: size 0x%" PRIx64 " is 0 or "
                   "overflows its addresses", i, r->memory_size);
        return false;
    }
    if ((r->guest_phys_addr | r->memory_size | r->mmap_offset) & (page - 1)) {
        error_setg(errp, "memory region %u: address 0x%" PRIx64 ", size 0x%"
                   PRIx64 " or offset 0x%" PRIx64 " is not a multiple of "
                   "the page size", i, r->guest_phys_addr, r->memory_size,
                   r->mmap_offset);
        return false;
    }
    for (unsigned j = 0; j < i; j++) {
        const VhostUserMemoryRegion *o = &regions[j];

        if (ranges_overlap64(r->guest_phys_addr, r->memory_size,
                             o->guest_phys_addr, o->memory_size) ||
            ranges_overlap64(r->userspace_addr, r->memory_size,
                             o->userspace_addr, o->memory_size)) {
            error_setg(errp, "memory regions %u and %u overlap", j, i);
            return false;
        }
    }
    return true;
}

static VhostUserMdevRegion *
vhost_user_mdev_region_new(const VhostUserMemoryRegion *d, int fd,
                           Error **errp)
{
    VhostUserMdevRegion *r;
    int own = dup(fd);

    if (own < 0) {
        error_setg_errno(errp, errno, "cannot duplicate a memory fd");
        return NULL;
    }
    r = VHOST_USER_MDEV_REGION(object_new(TYPE_VHOST_USER_MDEV_REGION));
    if (!memory_region_init_ram_from_fd(&r->mr, OBJECT(r), "mem",
                                        d->memory_size, RAM_SHARED, own,
                                        d->mmap_offset, errp)) {
        close(own);
        object_unref(OBJECT(r));
        return NULL;
    }
    r->gpa = d->guest_phys_addr;
    r->size = d->memory_size;
    r->qva = d->userspace_addr;
    return r;
}

bool vhost_user_mdev_mem_set(VhostUserMdevMem *m,
                             const VhostUserMemoryRegion *regions,
                             unsigned nregions, const int *fds,
                             Error **errp)
{
    bool ok = nregions <= VHOST_USER_MDEV_MEM_REGIONS;

    if (!ok) {
        error_setg(errp, "%u memory regions, at most %u", nregions,
                   VHOST_USER_MDEV_MEM_REGIONS);
    }
    for (unsigned i = 0; ok && i < nregions; i++) {
        ok = vhost_user_mdev_region_valid(regions, i, errp);
    }

    memory_region_transaction_begin();
    vhost_user_mdev_mem_drop(m);
    m->generation++;
    for (unsigned i = 0; ok && i < nregions; i++) {
        VhostUserMdevRegion *r = vhost_user_mdev_region_new(&regions[i],
                                                            fds[i], errp);

        if (!r) {
            error_prepend(errp, "memory region %u: ", i);
            ok = false;
            break;
        }
        memory_region_add_subregion(&m->root, r->gpa, &r->mr);
        m->regions[m->nregions++] = r;
        trace_vhost_user_mdev_mem_region(i, r->gpa, r->size, r->qva);
    }
    if (!ok) {
        vhost_user_mdev_mem_drop(m);
    }
    memory_region_transaction_commit();
    return ok;
}

bool vhost_user_mdev_mem_qva_to_gpa(const VhostUserMdevMem *m, uint64_t qva,
                                    uint64_t len, uint64_t *gpa)
{
    for (unsigned i = 0; i < m->nregions; i++) {
        const VhostUserMdevRegion *r = m->regions[i];

        if (qva >= r->qva && len <= r->size && qva - r->qva <= r->size - len) {
            *gpa = r->gpa + (qva - r->qva);
            return true;
        }
    }
    return false;
}

static const TypeInfo vhost_user_mdev_region_info = {
    .name = TYPE_VHOST_USER_MDEV_REGION,
    .parent = TYPE_OBJECT,
    .instance_size = sizeof(VhostUserMdevRegion),
};

static const TypeInfo vhost_user_mdev_mem_info = {
    .name = TYPE_VHOST_USER_MDEV_MEM,
    .parent = TYPE_OBJECT,
    .instance_size = sizeof(VhostUserMdevMem),
};

static void vhost_user_mdev_mem_register_types(void)
{
    type_register_static(&vhost_user_mdev_region_info);
    type_register_static(&vhost_user_mdev_mem_info);
}

type_init(vhost_user_mdev_mem_register_types)
