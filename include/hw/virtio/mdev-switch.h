/*
 * mdev-switch: feature switches of a ring backend
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * A switch is a bool instance property that offers one feature bit (or,
 * with bit -1, a behaviour outside the feature bits).  The backend owns
 * its table and the property accessors; this header shares the table's
 * shape and what a migration destination checks with it: that the source
 * offered the same features, naming the property that differs, and that
 * what was negotiated is offered here.
 */

#ifndef HW_VIRTIO_MDEV_SWITCH_H
#define HW_VIRTIO_MDEV_SWITCH_H

typedef struct MdevSwitch {
    const char *name;           /* the instance property */
    int bit;                    /* the feature bit it offers, or -1 */
    const char *description;
} MdevSwitch;

/*
 * Compare the features offered at the migration source (@src) with the
 * ones offered here (@here).  Each difference is reported with
 * error_report() as "@who: property 'NAME' ...", NAME being the switch of
 * that bit in @sw[0..@n) or 'host-features'.  True when they are equal.
 */
bool mdev_switch_check_migrated(const char *who, const MdevSwitch *sw,
                                size_t n, uint64_t src, uint64_t here);

/*
 * The features a migration stream says were negotiated (@negotiated) must
 * all be offered here (@offered); reports with error_report() otherwise.
 */
bool mdev_switch_check_negotiated(const char *who, uint64_t negotiated,
                                  uint64_t offered);

#endif /* HW_VIRTIO_MDEV_SWITCH_H */
