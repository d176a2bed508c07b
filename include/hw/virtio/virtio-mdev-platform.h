/*
 * virtio-mdev on a platform bus: what a board calls to describe the devices
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * A board with a platform bus (arm virt) allows TYPE_VIRTIO_MDEV as a
 * dynamic sysbus device and, once every device is plugged, asks for the
 * guest-visible descriptions of all virtio-mdev devices on the bus:
 *  - add_fdt_nodes: one root-level "virtio,mmio" node each; @base is the
 *    bus's guest-physical base, @spi_base the GIC SPI of its first IRQ.
 *  - acpi_dsdt_add: one LNRO0005 device each into @scope; @gsi_base is the
 *    GSI of the bus's first IRQ.
 */

#ifndef HW_VIRTIO_VIRTIO_MDEV_PLATFORM_H
#define HW_VIRTIO_VIRTIO_MDEV_PLATFORM_H

#include "hw/acpi/aml-build.h"
#include "hw/platform-bus.h"

void virtio_mdev_platform_add_fdt_nodes(void *fdt, PlatformBusDevice *pbus,
                                        hwaddr base, int spi_base);
void virtio_mdev_platform_acpi_dsdt_add(Aml *scope, PlatformBusDevice *pbus,
                                        hwaddr base, int gsi_base);

#endif
