/*
 * Mediated devices (mdev): parents, types, class ids and instances
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The model of the Linux mdev core (2016) with the class ids of the
 * virtio-mdev series (2019):
 *
 *  - A *parent* (TYPE_MDEV_PARENT, created with -object) offers *types*.
 *    A type has an id "<parent kind>-<group>", a name, a description, a
 *    device-api string, a class id and an instance limit.
 *  - An *instance* (TYPE_MDEV_DEVICE) is created from a parent and a type,
 *    with a UUID.  The parent's create() builds it and must call
 *    mdev_set_class() exactly once, giving the class id and that class's
 *    device ops.  Instances are QOM children of their parent, named by UUID.
 *  - A *transport* declares an id table of the classes it binds
 *    (MdevClassIdTable); mdev_create_and_bind() checks the class against
 *    it.  The core knows nothing of any class's ops: a new class or
 *    transport is a new table entry, not a change here.
 *
 * Locking: everything here runs under the BQL.
 */

#ifndef HW_VFIO_MDEV_H
#define HW_VFIO_MDEV_H

#include "qapi/qapi-types-mdev.h"
#include "qemu/queue.h"
#include "qemu/uuid.h"
#include "qom/object.h"

/*
 * Class ids are the values of the QAPI enum MdevClass (qapi/mdev.json):
 * MDEV_CLASS_NONE 0, MDEV_CLASS_VFIO 1, MDEV_CLASS_VIRTIO 2,
 * MDEV_CLASS_VHOST 3.  A new class is a new entry there; MdevClass_str()
 * names it.
 */

/*
 * One supported type of a parent.  @group gives the type id
 * "<kind>-<group>"; @max_instances limits the type's own instances
 * (0: only the parent's limit applies).
 */
typedef struct MdevType {
    const char *group;
    const char *name;
    const char *description;
    const char *device_api;
    MdevClass class_id;
    unsigned max_instances;
} MdevType;

#define TYPE_MDEV_PARENT "mdev-parent"
OBJECT_DECLARE_TYPE(MdevParent, MdevParentClass, MDEV_PARENT)

#define TYPE_MDEV_DEVICE "mdev-device"
OBJECT_DECLARE_TYPE(MdevDevice, MdevDeviceClass, MDEV_DEVICE)

struct MdevParentClass {
    ObjectClass parent_class;

    /* The parent kind: its QOM type name, first part of every type id. */
    const char *kind;
    /* Supported types, terminated by an entry with a NULL group. */
    const MdevType *types;

    /*
     * Build a new, not yet bound instance of @type.  Must call
     * mdev_set_class() exactly once on it.  Returns NULL with @errp set
     * on failure.  The returned object is owned by the caller (the core).
     */
    MdevDevice *(*create)(MdevParent *parent, const MdevType *type,
                          Error **errp);
};

struct MdevParent {
    Object parent_obj;

    /* properties */
    uint32_t max_instances;

    /* runtime */
    QTAILQ_HEAD(, MdevDevice) instances;
};

struct MdevDeviceClass {
    ObjectClass parent_class;

    /* Optional: append the instance's per-queue counters to *@stats. */
    void (*query_stats)(MdevDevice *mdev, MdevQueueStatsList **stats);
};

struct MdevDevice {
    Object parent_obj;

    MdevParent *parent;
    const MdevType *type;
    QemuUUID uuid;
    char *uuid_str;
    MdevClass class_id;
    const void *class_ops;       /* the ops of class_id, e.g. VirtioMdevOps */
    unsigned class_set_count;    /* mdev_set_class() calls, must end as 1 */
    Object *transport;           /* bound transport, NULL when unbound */
    QTAILQ_ENTRY(MdevDevice) next;
};

/*
 * A transport's id table: the classes it binds, terminated by
 * MDEV_CLASS_NONE.
 */
typedef struct MdevClassIdTable {
    MdevClass class_id;
} MdevClassIdTable;

/* Called by a parent's create(): set the class and its device ops. */
void mdev_set_class(MdevDevice *mdev, MdevClass id, const void *ops);

/* "<kind>-<group>", owned by the caller. */
char *mdev_type_id(MdevParent *parent, const MdevType *type);

/*
 * Instances of @type that can still be created: the smaller of what the
 * type's limit and the parent's (shared by all its types) leave.
 */
unsigned mdev_available_instances(MdevParent *parent, const MdevType *type);

/*
 * Find the parent named @parent_id under /objects.  With @create_kind set,
 * a missing parent is created as an object of that QOM type.  The error
 * of a missing parent lists the parent kinds this QEMU has.
 */
MdevParent *mdev_parent_find(const char *parent_id, const char *create_kind,
                             Error **errp);

/*
 * Create an instance of the type @type_id of @parent, with @uuid_str (NULL
 * or "auto": generated), and bind it to @transport, whose id table is
 * @ids.  On failure returns NULL with @errp set and nothing left behind.
 */
MdevDevice *mdev_create_and_bind(MdevParent *parent, const char *type_id,
                                 const char *uuid_str, Object *transport,
                                 const MdevClassIdTable *ids, Error **errp);

/* Unbind and destroy an instance (transport unrealize). */
void mdev_destroy(MdevDevice *mdev);

#endif /* HW_VFIO_MDEV_H */
