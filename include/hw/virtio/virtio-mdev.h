/*
 * virtio-mdev: the virtio-mmio register file over mdev device ops
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * VirtioMdevTransport is the guest-visible register file: exactly the
 * virtio-mmio layout (virtio 1.x 4.2.2 "version 2"; with legacy=on 4.2.4
 * "version 1"), forwarding every access to the bound instance through its
 * VirtioMdevOps (virtio-mdev-ops.h).  It is embedded in a bus-specific
 * front-end: an ISA device on x86 (its ACPI node lands in the DSDT of pc,
 * q35 and microvm) and a dynamic sysbus device on the arm virt platform
 * bus (device tree node and DSDT entry).  Each front-end registers the
 * user-visible type "virtio-mdev" and implements the interface below;
 * backends add their short forms as its subtypes.  Only front-ends
 * include this header.
 */

#ifndef HW_VIRTIO_VIRTIO_MDEV_H
#define HW_VIRTIO_VIRTIO_MDEV_H

#include "exec/memory.h"
#include "hw/irq.h"
#include "hw/qdev-core.h"
#include "hw/acpi/aml-build.h"
#include "hw/virtio/virtio-mdev-ops.h"

#define VIRTIO_MDEV_MMIO_SIZE   0x200
#define VIRTIO_MDEV_CONFIG_MAX  (VIRTIO_MDEV_MMIO_SIZE - 0x100)

#define TYPE_VIRTIO_MDEV "virtio-mdev"

/*
 * The class-level hook every front-end type implements: where its
 * VirtioMdevTransport lives in the instance, and the short form that a
 * subtype stands for (NULL for plain virtio-mdev).
 */
#define TYPE_VIRTIO_MDEV_FRONTEND "virtio-mdev-frontend"

typedef struct VirtioMdevFrontendClass {
    InterfaceClass parent_class;

    size_t transport_offset;
    const VirtioMdevShortForm *form;
} VirtioMdevFrontendClass;

DECLARE_CLASS_CHECKERS(VirtioMdevFrontendClass, VIRTIO_MDEV_FRONTEND,
                       TYPE_VIRTIO_MDEV_FRONTEND)

typedef struct VirtioMdevQueue {
    uint16_t num;
    bool enabled;               /* QueueReady written 1 (or PFN set) */
    uint32_t desc[2];
    uint32_t driver[2];
    uint32_t device[2];
    uint32_t align;             /* legacy */
    uint32_t pfn;               /* legacy */
} VirtioMdevQueue;

/*
 * Every front-end has the qdev properties mdev-parent (parent_id),
 * mdev-type (type_id), uuid and legacy (default false), on the fields
 * of its embedded transport.
 */
typedef struct VirtioMdevTransport {
    /* set by the front-end */
    DeviceState *owner;
    MemoryRegion mmio;
    qemu_irq irq;

    /* properties */
    char *parent_id;
    char *type_id;
    char *uuid;
    bool legacy;
    /* a short form's properties, set on the instance at realize */
    QDict *form_props;

    /* the bound instance */
    MdevDevice *mdev;
    const VirtioMdevOps *ops;

    /* registers */
    uint32_t host_features_sel;
    uint32_t guest_features_sel;
    uint32_t guest_features[2];
    uint32_t guest_page_shift;
    uint32_t queue_sel;
    uint32_t isr;
    VirtioMdevQueue vq[VIRTIO_MDEV_MAX_QUEUES];
} VirtioMdevTransport;

/* The classes virtio-mdev binds. */
extern const MdevClassIdTable virtio_mdev_id_table[];

/*
 * Front-end glue.  init: in instance_init; realize: create and bind the
 * instance (for a short form, creating its default parent when no
 * mdev-parent is given); unrealize: destroy it; reset: device reset.
 */
void virtio_mdev_transport_init(VirtioMdevTransport *t, DeviceState *owner);
bool virtio_mdev_transport_realize(VirtioMdevTransport *t, Error **errp);
void virtio_mdev_transport_unrealize(VirtioMdevTransport *t);
void virtio_mdev_transport_reset(VirtioMdevTransport *t);
extern const VMStateDescription vmstate_virtio_mdev_transport;

/*
 * Called by a front-end's class_init: records that its instances hold
 * their VirtioMdevTransport at @offset, and adds the read-only QOM
 * properties mmio-base (guest-physical address of the registers) and
 * mdev-uuid (the bound instance, given or generated).
 */
void virtio_mdev_frontend_class_init(ObjectClass *oc, size_t offset);

/* The transport of a front-end instance @obj. */
VirtioMdevTransport *virtio_mdev_transport_of(Object *obj);

/*
 * The LNRO0005 (virtio-mmio) ACPI device of the @index-th transport:
 * "VMD<index>", _UID 0x100 + @index, its window and level interrupt.
 */
void virtio_mdev_acpi_add_device(Aml *scope, unsigned index, hwaddr base,
                                 uint32_t irq);

#endif /* HW_VIRTIO_VIRTIO_MDEV_H */
