/*
 * Helpers shared by qemu-mdev's qtests
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "libqtest.h"
#include "qobject/qdict.h"
#include "virtio-mdev-qtest.h"

bool vmq_wait_readw(QTestState *qts, uint64_t addr, uint16_t want)
{
    gint64 end = g_get_monotonic_time() + VMQ_WAIT_US;

    while (qtest_readw(qts, addr) != want) {
        if (g_get_monotonic_time() > end) {
            return false;
        }
        qtest_clock_step(qts, 100);
    }
    return true;
}

bool vmq_wait_readl_bits(QTestState *qts, uint64_t addr, uint32_t bits)
{
    gint64 end = g_get_monotonic_time() + VMQ_WAIT_US;

    while ((qtest_readl(qts, addr) & bits) != bits) {
        if (g_get_monotonic_time() > end) {
            return false;
        }
        qtest_clock_step(qts, 100);
    }
    return true;
}

void vmq_wait_migration(QTestState *qts, const char *cmd, const char *key,
                        const char *want)
{
    gint64 end = g_get_monotonic_time() + VMQ_WAIT_US;

    for (;;) {
        QDict *r = qtest_qmp(qts, "{'execute': %s}", cmd);
        QDict *ret = qdict_get_qdict(r, "return");
        const char *st = ret ? qdict_get_try_str(ret, key) : NULL;
        bool done = st && !strcmp(st, want);

        g_assert_true(!st || strcmp(st, "failed") || !strcmp(want, "failed"));
        qobject_unref(r);
        if (done) {
            return;
        }
        g_assert_cmpint(g_get_monotonic_time(), <, end);
        g_usleep(10000);
    }
}
