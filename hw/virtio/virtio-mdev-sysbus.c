/*
 * virtio-mdev on the platform bus (arm virt): DT node and DSDT entry
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * A user-creatable dynamic sysbus device: the board's platform bus maps its
 * 0x200-byte window and wires its interrupt (a GIC SPI) when it is plugged.
 * The board then asks us for a device-tree node and an ACPI DSDT entry
 * (patches/0002).  The DT node is written at the root
 * (/virtio_mmio@<address>, 2-cell address and size, like the board's own
 * transports), not under /platform-bus: the stock UEFI firmware (AAVMF)
 * crashes at boot on a virtio,mmio node under the platform bus.
 * The interrupt is level-triggered, active high, in both descriptions.
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "hw/sysbus.h"
#include "hw/platform-bus.h"
#include "hw/qdev-properties.h"
#include "hw/acpi/aml-build.h"
#include "migration/vmstate.h"
#include "system/device_tree.h"
#include "hw/virtio/virtio-mdev.h"
#include "hw/virtio/virtio-mdev-platform.h"
#include "qom/object.h"

/* GIC binding: SPI, level high (include/hw/arm/fdt.h is target-only) */
#define VIRTIO_MDEV_GIC_SPI         0
#define VIRTIO_MDEV_GIC_LEVEL_HI    4

OBJECT_DECLARE_SIMPLE_TYPE(VirtioMdevSysbus, VIRTIO_MDEV)

struct VirtioMdevSysbus {
    SysBusDevice parent_obj;

    VirtioMdevTransport t;
};

static void virtio_mdev_sysbus_realize(DeviceState *dev, Error **errp)
{
    VirtioMdevSysbus *s = VIRTIO_MDEV(dev);
    PlatformBusDevice *pbus = PLATFORM_BUS_DEVICE(
        object_resolve_type_unambiguous(TYPE_PLATFORM_BUS_DEVICE, NULL));

    if (dev->hotplugged) {
        error_setg(errp, "%s cannot be hot-plugged: the guest finds "
                   "virtio-mmio devices only at boot",
                   object_get_typename(OBJECT(dev)));
        return;
    }
    if (!pbus) {
        error_setg(errp, "%s needs a machine with a platform bus "
                   "(-M virt)", object_get_typename(OBJECT(dev)));
        return;
    }
    /* The platform bus exits QEMU when it runs out of interrupts: check. */
    if (find_first_zero_bit(pbus->used_irqs, pbus->num_irqs) >=
        pbus->num_irqs) {
        error_setg(errp, "no room for another virtio-mdev device: all %u "
                   "platform bus interrupts are in use", pbus->num_irqs);
        return;
    }
    virtio_mdev_transport_realize(&s->t, errp);
}

static void virtio_mdev_sysbus_unrealize(DeviceState *dev)
{
    virtio_mdev_transport_unrealize(&VIRTIO_MDEV(dev)->t);
}

static void virtio_mdev_sysbus_reset_hold(Object *obj, ResetType type)
{
    virtio_mdev_transport_reset(&VIRTIO_MDEV(obj)->t);
}

typedef struct VirtioMdevPlatformData {
    PlatformBusDevice *pbus;
    hwaddr base;
    int irq_base;
    void *fdt;
    Aml *scope;
    unsigned count;
} VirtioMdevPlatformData;

static bool virtio_mdev_platform_place(VirtioMdevPlatformData *d,
                                       SysBusDevice *sbdev, hwaddr *addr,
                                       uint32_t *irq)
{
    hwaddr off = platform_bus_get_mmio_addr(d->pbus, sbdev, 0);
    int n = platform_bus_get_irqn(d->pbus, sbdev, 0);

    if (off == -1 || n < 0) {
        return false;
    }
    *addr = d->base + off;
    *irq = d->irq_base + n;
    return true;
}

static void virtio_mdev_fdt_one(SysBusDevice *sbdev, void *opaque)
{
    VirtioMdevPlatformData *d = opaque;
    g_autofree char *node = NULL;
    hwaddr addr;
    uint32_t irq;

    if (!object_dynamic_cast(OBJECT(sbdev), TYPE_VIRTIO_MDEV) ||
        !virtio_mdev_platform_place(d, sbdev, &addr, &irq)) {
        return;
    }
    node = g_strdup_printf("/virtio_mmio@%" HWADDR_PRIx, addr);
    qemu_fdt_add_subnode(d->fdt, node);
    qemu_fdt_setprop_string(d->fdt, node, "compatible", "virtio,mmio");
    qemu_fdt_setprop_sized_cells(d->fdt, node, "reg", 2, addr,
                                 2, VIRTIO_MDEV_MMIO_SIZE);
    qemu_fdt_setprop_cells(d->fdt, node, "interrupts", VIRTIO_MDEV_GIC_SPI,
                           irq, VIRTIO_MDEV_GIC_LEVEL_HI);
    qemu_fdt_setprop(d->fdt, node, "dma-coherent", NULL, 0);
}

void virtio_mdev_platform_add_fdt_nodes(void *fdt, PlatformBusDevice *pbus,
                                        hwaddr base, int spi_base)
{
    VirtioMdevPlatformData d = {
        .pbus = pbus, .base = base, .irq_base = spi_base, .fdt = fdt,
    };

    foreach_dynamic_sysbus_device(virtio_mdev_fdt_one, &d);
}

static void virtio_mdev_acpi_one(SysBusDevice *sbdev, void *opaque)
{
    VirtioMdevPlatformData *d = opaque;
    hwaddr addr;
    uint32_t irq;

    if (!object_dynamic_cast(OBJECT(sbdev), TYPE_VIRTIO_MDEV) ||
        !virtio_mdev_platform_place(d, sbdev, &addr, &irq)) {
        return;
    }
    virtio_mdev_acpi_add_device(d->scope, d->count++, addr, irq);
}

void virtio_mdev_platform_acpi_dsdt_add(Aml *scope, PlatformBusDevice *pbus,
                                        hwaddr base, int gsi_base)
{
    VirtioMdevPlatformData d = {
        .pbus = pbus, .base = base, .irq_base = gsi_base, .scope = scope,
    };

    foreach_dynamic_sysbus_device(virtio_mdev_acpi_one, &d);
}

static void virtio_mdev_sysbus_init(Object *obj)
{
    VirtioMdevSysbus *s = VIRTIO_MDEV(obj);

    virtio_mdev_transport_init(&s->t, DEVICE(obj));
    sysbus_init_mmio(SYS_BUS_DEVICE(obj), &s->t.mmio);
    sysbus_init_irq(SYS_BUS_DEVICE(obj), &s->t.irq);
}

static const VMStateDescription vmstate_virtio_mdev_sysbus = {
    .name = "virtio-mdev",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_STRUCT(t, VirtioMdevSysbus, 1, vmstate_virtio_mdev_transport,
                       VirtioMdevTransport),
        VMSTATE_END_OF_LIST()
    },
};

static const Property virtio_mdev_sysbus_properties[] = {
    DEFINE_PROP_STRING("mdev-parent", VirtioMdevSysbus, t.parent_id),
    DEFINE_PROP_STRING("mdev-type", VirtioMdevSysbus, t.type_id),
    DEFINE_PROP_STRING("uuid", VirtioMdevSysbus, t.uuid),
    DEFINE_PROP_BOOL("legacy", VirtioMdevSysbus, t.legacy, false),
};

static void virtio_mdev_sysbus_class_init(ObjectClass *klass, void *data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);
    ResettableClass *rc = RESETTABLE_CLASS(klass);

    dc->realize = virtio_mdev_sysbus_realize;
    dc->unrealize = virtio_mdev_sysbus_unrealize;
    dc->vmsd = &vmstate_virtio_mdev_sysbus;
    dc->desc = "virtio-mmio transport for a class-virtio mdev instance";
    dc->user_creatable = true;
    rc->phases.hold = virtio_mdev_sysbus_reset_hold;
    device_class_set_props(dc, virtio_mdev_sysbus_properties);
    virtio_mdev_frontend_class_init(klass, offsetof(VirtioMdevSysbus, t));
    set_bit(DEVICE_CATEGORY_MISC, dc->categories);
}

static const TypeInfo virtio_mdev_sysbus_types[] = {
    {
        .name = TYPE_VIRTIO_MDEV,
        .parent = TYPE_DYNAMIC_SYS_BUS_DEVICE,
        .instance_size = sizeof(VirtioMdevSysbus),
        .instance_init = virtio_mdev_sysbus_init,
        .class_init = virtio_mdev_sysbus_class_init,
        .interfaces = (InterfaceInfo[]) {
            { TYPE_VIRTIO_MDEV_FRONTEND },
            { }
        },
    },
};

DEFINE_TYPES(virtio_mdev_sysbus_types)
