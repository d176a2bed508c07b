/*
 * virtio-mdev: the ACPI description of a transport, for every front-end
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Linux's virtio_mmio binds ACPI devices with _HID LNRO0005 whose _CRS
 * has one memory window and one interrupt.  Board-created virtio-mmio
 * transports use _UID 0..31 (arm virt) or 0.. (microvm): ours start at
 * 0x100.  The interrupt is level-triggered, active high.
 */

#include "qemu/osdep.h"
#include "hw/acpi/aml-build.h"
#include "hw/virtio/virtio-mdev.h"

#define VIRTIO_MDEV_ACPI_UID_BASE   0x100

void virtio_mdev_acpi_add_device(Aml *scope, unsigned index, hwaddr base,
                                 uint32_t irq)
{
    Aml *dev = aml_device("VMD%u", index);
    Aml *crs = aml_resource_template();

    aml_append(dev, aml_name_decl("_HID", aml_string("LNRO0005")));
    aml_append(dev, aml_name_decl("_UID",
                                  aml_int(VIRTIO_MDEV_ACPI_UID_BASE + index)));
    aml_append(dev, aml_name_decl("_CCA", aml_int(1)));
    aml_append(crs, aml_memory32_fixed(base, VIRTIO_MDEV_MMIO_SIZE,
                                       AML_READ_WRITE));
    aml_append(crs, aml_interrupt(AML_CONSUMER, AML_LEVEL, AML_ACTIVE_HIGH,
                                  AML_EXCLUSIVE, &irq, 1));
    aml_append(dev, aml_name_decl("_CRS", crs));
    aml_append(scope, dev);
}
