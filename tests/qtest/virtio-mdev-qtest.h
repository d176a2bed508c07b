/*
 * Helpers shared by qemu-mdev's qtests
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Waits as libqos's: step the qtest clock, each step a round trip through
 * QEMU's main loop (where the datapath's bottom halves run and block I/O
 * completions are delivered), until the device answers; a wait fails after
 * VMQ_WAIT_US of host time, which only a broken device reaches.  A loaded
 * host makes a wait longer, never wrong.
 */

#ifndef TESTS_QTEST_VIRTIO_MDEV_QTEST_H
#define TESTS_QTEST_VIRTIO_MDEV_QTEST_H

#include "libqtest.h"

#define VMQ_WAIT_US     (30 * G_USEC_PER_SEC)

/* Wait until the 16-bit guest memory word at @addr is @want. */
bool vmq_wait_readw(QTestState *qts, uint64_t addr, uint16_t want);

/* Wait until the 32-bit register at @addr has every bit of @bits set. */
bool vmq_wait_readl_bits(QTestState *qts, uint64_t addr, uint32_t bits);

/*
 * Poll the QMP query @cmd (query-migrate, query-status) until its @key
 * is @want; asserts on "failed" unless that is wanted, and on a timeout.
 */
void vmq_wait_migration(QTestState *qts, const char *cmd, const char *key,
                        const char *want);

#endif
