/*
 * libqos: the platform bus of a board (dynamic sysbus devices)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "../libqtest.h"
#include "qemu/module.h"
#include "qobject/qdict.h"
#include "platform-bus.h"

static void *platform_bus_get_driver(void *obj, const char *interface)
{
    QOSPlatformBus *bus = obj;

    if (!g_strcmp0(interface, "platform-bus")) {
        return bus;
    }
    fprintf(stderr, "%s not present in platform-bus-device\n", interface);
    g_assert_not_reached();
}

void qos_platform_bus_init(QOSPlatformBus *bus, QTestState *qts,
                           uint64_t base, uint64_t size)
{
    bus->qts = qts;
    bus->base = base;
    bus->size = size;
    bus->obj.get_driver = platform_bus_get_driver;
}

uint64_t qos_platform_bus_device_addr(QOSPlatformBus *bus, const char *path,
                                      const char *property)
{
    QDict *rsp;
    uint64_t addr;

    rsp = qtest_qmp(bus->qts, "{ 'execute': 'qom-get', 'arguments': "
                    "{ 'path': %s, 'property': %s } }", path, property);
    g_assert(qdict_haskey(rsp, "return"));
    addr = qdict_get_int(rsp, "return");
    qobject_unref(rsp);

    g_assert_cmphex(addr, >=, bus->base);
    g_assert_cmphex(addr - bus->base, <, bus->size);
    return addr;
}

static void platform_bus_register_nodes(void)
{
    /* Contained in the machine nodes that have one (arm-virt-machine.c). */
    qos_node_create_driver("platform-bus-device", NULL);
    qos_node_produces("platform-bus-device", "platform-bus");
}

libqos_init(platform_bus_register_nodes);
