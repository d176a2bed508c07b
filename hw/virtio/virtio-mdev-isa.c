/*
 * virtio-mdev on x86: an ISA device with its own ACPI node
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Stock distribution kernels find virtio-mmio devices on x86 only through
 * ACPI.  ISA devices that implement AcpiDevAmlIf get their AML into the
 * DSDT of pc, q35 and microvm with no board change, so the transport is an
 * ISA device here (as tpm-tis is), with an LNRO0005 node.
 *
 * Each instance takes a slot: a 4 KiB window at 0xfed60000 + slot * 0x1000
 * (a range no x86 machine of QEMU 10.0 uses: below it TPM at 0xfed40000,
 * above it the LAPIC at 0xfee00000), and an ISA interrupt from 5, 7, 6, 3
 * that no other ISA device on the bus claims.  The line is level-triggered,
 * active high, and described so in _CRS.
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "hw/isa/isa.h"
#include "hw/acpi/acpi_aml_interface.h"
#include "hw/qdev-properties.h"
#include "migration/vmstate.h"
#include "hw/virtio/virtio-mdev.h"
#include "qom/object.h"

#define VIRTIO_MDEV_ISA_BASE    0xfed60000
#define VIRTIO_MDEV_ISA_STRIDE  0x1000
#define VIRTIO_MDEV_ISA_SLOTS   4

static const uint8_t virtio_mdev_isa_irqs[] = { 5, 7, 6, 3 };

OBJECT_DECLARE_SIMPLE_TYPE(VirtioMdevIsa, VIRTIO_MDEV)

struct VirtioMdevIsa {
    ISADevice parent_obj;

    VirtioMdevTransport t;
    int slot;
    uint32_t irq;
};

/*
 * What the other devices on @bus use: the slots of realized virtio-mdev
 * devices, and the ISA interrupts of those and of every device with an
 * "irq" property (serial, parallel, floppy, TPM, ...).
 */
static void virtio_mdev_isa_scan(BusState *bus, DeviceState *self,
                                 uint32_t *slots, uint32_t *irqs)
{
    BusChild *kid;

    *slots = *irqs = 0;
    QTAILQ_FOREACH(kid, &bus->children, sibling) {
        DeviceState *d = kid->child;
        Object *o = OBJECT(d);

        if (d == self) {
            continue;
        }
        if (object_dynamic_cast(o, TYPE_VIRTIO_MDEV)) {
            if (d->realized) {
                *slots |= 1u << VIRTIO_MDEV(d)->slot;
                *irqs |= 1u << VIRTIO_MDEV(d)->irq;
            }
        } else if (object_property_find(o, "irq")) {
            uint64_t irq = object_property_get_uint(o, "irq", NULL);

            *irqs |= irq < 32 ? 1u << irq : 0;
        }
    }
}

static void virtio_mdev_isa_realize(DeviceState *dev, Error **errp)
{
    VirtioMdevIsa *s = VIRTIO_MDEV(dev);
    uint32_t used_slots, used_irqs;
    int slot;
    unsigned i;

    if (dev->hotplugged) {
        error_setg(errp, "%s cannot be hot-plugged: the guest finds "
                   "virtio-mmio devices only at boot",
                   object_get_typename(OBJECT(dev)));
        return;
    }
    virtio_mdev_isa_scan(qdev_get_parent_bus(dev), dev, &used_slots,
                         &used_irqs);
    for (slot = 0; slot < VIRTIO_MDEV_ISA_SLOTS; slot++) {
        if (!(used_slots & (1u << slot))) {
            break;
        }
    }
    if (slot == VIRTIO_MDEV_ISA_SLOTS) {
        error_setg(errp, "no room for another virtio-mdev device: this "
                   "machine has %d slots and all are in use",
                   VIRTIO_MDEV_ISA_SLOTS);
        return;
    }
    for (i = 0; i < ARRAY_SIZE(virtio_mdev_isa_irqs); i++) {
        if (!(used_irqs & (1u << virtio_mdev_isa_irqs[i]))) {
            break;
        }
    }
    if (i == ARRAY_SIZE(virtio_mdev_isa_irqs)) {
        error_setg(errp, "no free ISA interrupt for virtio-mdev: 5, 7, 6 "
                   "and 3 are all in use");
        return;
    }
    if (!virtio_mdev_transport_realize(&s->t, errp)) {
        return;
    }
    s->slot = slot;
    s->irq = virtio_mdev_isa_irqs[i];
    isa_connect_gpio_out(ISA_DEVICE(dev), 0, s->irq);
    memory_region_add_subregion(isa_address_space(ISA_DEVICE(dev)),
                                VIRTIO_MDEV_ISA_BASE +
                                slot * VIRTIO_MDEV_ISA_STRIDE, &s->t.mmio);
}

static void virtio_mdev_isa_unrealize(DeviceState *dev)
{
    VirtioMdevIsa *s = VIRTIO_MDEV(dev);

    memory_region_del_subregion(isa_address_space(ISA_DEVICE(dev)),
                                &s->t.mmio);
    virtio_mdev_transport_unrealize(&s->t);
}

static void virtio_mdev_isa_reset_hold(Object *obj, ResetType type)
{
    virtio_mdev_transport_reset(&VIRTIO_MDEV(obj)->t);
}

static void virtio_mdev_isa_build_aml(AcpiDevAmlIf *adev, Aml *scope)
{
    VirtioMdevIsa *s = VIRTIO_MDEV(adev);

    virtio_mdev_acpi_add_device(scope, s->slot, VIRTIO_MDEV_ISA_BASE +
                                s->slot * VIRTIO_MDEV_ISA_STRIDE, s->irq);
}

static void virtio_mdev_isa_init(Object *obj)
{
    VirtioMdevIsa *s = VIRTIO_MDEV(obj);

    s->slot = -1;
    virtio_mdev_transport_init(&s->t, DEVICE(obj));
    qdev_init_gpio_out(DEVICE(obj), &s->t.irq, 1);
    object_property_add_uint32_ptr(obj, "isa-irq", &s->irq,
                                   OBJ_PROP_FLAG_READ);
}

static const VMStateDescription vmstate_virtio_mdev_isa = {
    .name = "virtio-mdev",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_STRUCT(t, VirtioMdevIsa, 1, vmstate_virtio_mdev_transport,
                       VirtioMdevTransport),
        VMSTATE_END_OF_LIST()
    },
};

static const Property virtio_mdev_isa_properties[] = {
    DEFINE_PROP_STRING("mdev-parent", VirtioMdevIsa, t.parent_id),
    DEFINE_PROP_STRING("mdev-type", VirtioMdevIsa, t.type_id),
    DEFINE_PROP_STRING("uuid", VirtioMdevIsa, t.uuid),
    DEFINE_PROP_BOOL("legacy", VirtioMdevIsa, t.legacy, false),
};

static void virtio_mdev_isa_class_init(ObjectClass *klass, void *data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);
    ResettableClass *rc = RESETTABLE_CLASS(klass);
    AcpiDevAmlIfClass *adevc = ACPI_DEV_AML_IF_CLASS(klass);

    dc->realize = virtio_mdev_isa_realize;
    dc->unrealize = virtio_mdev_isa_unrealize;
    dc->vmsd = &vmstate_virtio_mdev_isa;
    dc->desc = "virtio-mmio transport for a class-virtio mdev instance";
    rc->phases.hold = virtio_mdev_isa_reset_hold;
    adevc->build_dev_aml = virtio_mdev_isa_build_aml;
    device_class_set_props(dc, virtio_mdev_isa_properties);
    virtio_mdev_frontend_class_init(klass, offsetof(VirtioMdevIsa, t));
    set_bit(DEVICE_CATEGORY_MISC, dc->categories);
}

static const TypeInfo virtio_mdev_isa_types[] = {
    {
        .name = TYPE_VIRTIO_MDEV,
        .parent = TYPE_ISA_DEVICE,
        .instance_size = sizeof(VirtioMdevIsa),
        .instance_init = virtio_mdev_isa_init,
        .class_init = virtio_mdev_isa_class_init,
        .interfaces = (InterfaceInfo[]) {
            { TYPE_ACPI_DEV_AML_IF },
            { TYPE_VIRTIO_MDEV_FRONTEND },
            { }
        },
    },
};

DEFINE_TYPES(virtio_mdev_isa_types)
