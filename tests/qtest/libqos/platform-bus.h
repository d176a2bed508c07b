/*
 * libqos: the platform bus of a board (dynamic sysbus devices)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef LIBQOS_PLATFORM_BUS_H
#define LIBQOS_PLATFORM_BUS_H

#include "qgraph.h"

/*
 * A board's platform bus, as a container node of the machine
 * ("platform-bus-device") producing the "platform-bus" interface.
 * Nodes that consume "platform-bus" are dynamic sysbus devices given with
 * -device: the bus maps each into its window [@base, @base + @size) when
 * the machine is created.
 */
typedef struct QOSPlatformBus {
    QOSGraphObject obj;
    QTestState *qts;
    uint64_t base;
    uint64_t size;
} QOSPlatformBus;

void qos_platform_bus_init(QOSPlatformBus *bus, QTestState *qts,
                           uint64_t base, uint64_t size);

/*
 * The guest-physical address of the first MMIO region of the device with
 * QOM path @path (in the bus window), read from its @property.
 */
uint64_t qos_platform_bus_device_addr(QOSPlatformBus *bus, const char *path,
                                      const char *property);

#endif
