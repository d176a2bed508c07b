/*
 * mvnet's receive filter: what the virtio-net control queue sets
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * VIRTIO_NET_CTRL_RX (promiscuous, all-multicast, and with CTRL_RX_EXTRA
 * all-unicast, no-multicast, no-unicast, no-broadcast) and
 * VIRTIO_NET_CTRL_MAC_TABLE_SET (a unicast and a multicast table) decide
 * which frames from a network backend reach the guest; a table longer
 * than MVNET_MAC_TABLE entries overflows to "all of that kind", as in
 * virtio-net.  After a reset the filter is promiscuous.  No QOM and no
 * guest memory here: the caller hands in the command's data.
 */
#ifndef HW_VIRTIO_MVNET_RX_FILTER_H
#define HW_VIRTIO_MVNET_RX_FILTER_H

#include "net/net.h"
#include "migration/vmstate.h"
#include "qapi/qapi-types-net.h"

#define MVNET_MAC_TABLE     64

typedef struct MvnetRxFilter {
    bool promisc;
    bool allmulti;
    bool alluni;                /* CTRL_RX_EXTRA */
    bool nomulti;
    bool nouni;
    bool nobcast;
    bool uni_overflow;
    bool multi_overflow;
    uint32_t uni_n;             /* unicast entries, first in macs */
    uint32_t multi_n;           /* then multicast entries */
    uint8_t macs[MVNET_MAC_TABLE * ETH_ALEN];
} MvnetRxFilter;

void mvnet_rx_filter_reset(MvnetRxFilter *f);

/*
 * VIRTIO_NET_CTRL_RX_PROMISC or _ALLMULTI, and with @extra (CTRL_RX_EXTRA
 * negotiated) _ALLUNI, _NOMULTI, _NOUNI or _NOBCAST; false for another
 * command.
 */
bool mvnet_rx_filter_set_mode(MvnetRxFilter *f, uint8_t cmd, bool on,
                              bool extra);

/*
 * VIRTIO_NET_CTRL_MAC_TABLE_SET's data (@len bytes: le32 count and MACs,
 * unicast then multicast, nothing more); false, unchanged, if malformed.
 */
bool mvnet_rx_filter_set_table(MvnetRxFilter *f, const uint8_t *data,
                               size_t len);

/*
 * Whether the frame @buf of @size bytes reaches a NIC whose address is
 * @own.  One too short for a destination address passes only a
 * promiscuous filter (as virtio-net's, which is promiscuous by default).
 */
bool mvnet_rx_filter_accept(const MvnetRxFilter *f, const uint8_t *own,
                            const uint8_t *buf, size_t size);

/* For query-rx-filter. */
RxFilterInfo *mvnet_rx_filter_info(const MvnetRxFilter *f, const char *name,
                                   const uint8_t *own);

/*
 * Migration: the filter.  After loading, mvnet_rx_filter_check() (false,
 * with an error naming @name, for counts the table cannot hold) must pass
 * before the filter is used; the device's own post_load calls it, so that
 * a refused stream resets the whole device, not only the filter.
 */
extern const VMStateDescription vmstate_mvnet_rx_filter;
bool mvnet_rx_filter_check(const MvnetRxFilter *f, const char *name);

#endif
