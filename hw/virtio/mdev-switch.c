/*
 * mdev-switch: feature switches of a ring backend
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * See include/hw/virtio/mdev-switch.h.
 */

#include "qemu/osdep.h"
#include "qemu/error-report.h"
#include "hw/virtio/mdev-switch.h"

static const MdevSwitch *mdev_switch_of(const MdevSwitch *sw, size_t n,
                                        unsigned bit)
{
    for (size_t i = 0; i < n; i++) {
        if (sw[i].bit >= 0 && sw[i].bit == (int)bit) {
            return &sw[i];
        }
    }
    return NULL;
}

bool mdev_switch_check_migrated(const char *who, const MdevSwitch *sw,
                                size_t n, uint64_t src, uint64_t here)
{
    uint64_t diff = src ^ here;
    bool other = false;

    for (unsigned bit = 0; bit < 64; bit++) {
        const MdevSwitch *s;

        if (!(diff & (1ULL << bit))) {
            continue;
        }
        s = mdev_switch_of(sw, n, bit);
        if (!s) {
            other = true;
            continue;
        }
        error_report("%s: property '%s' is %s on the migration source and "
                     "%s here", who, s->name, src & (1ULL << bit) ? "on" :
                     "off", here & (1ULL << bit) ? "on" : "off");
    }
    if (other) {
        error_report("%s: property 'host-features' is 0x%" PRIx64 " on the "
                     "migration source and 0x%" PRIx64 " here", who, src,
                     here);
    }
    return !diff;
}

bool mdev_switch_check_negotiated(const char *who, uint64_t negotiated,
                                  uint64_t offered)
{
    if (negotiated & ~offered) {
        error_report("%s: migrated features 0x%" PRIx64 " are not all "
                     "offered here (0x%" PRIx64 ")", who, negotiated, offered);
        return false;
    }
    return true;
}
