/*
 * mvnet-steer: which receive queue a frame takes
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * With several queue pairs (VIRTIO_NET_F_MQ) the frames of one flow must
 * reach the guest in order, so on one receive queue.  With
 * VIRTIO_NET_F_RSS the driver chooses the queue (virtio 1.2, 5.1.6.4.3):
 * a Toeplitz hash with its key over the IPv4 or IPv6 addresses and, for
 * the hash types it enables, the TCP or UDP ports, looked up in its
 * indirection table; other frames go to its unclassified queue.  Without
 * RSS a netdev's frames are spread by a symmetric hash of the same fields,
 * so that both directions of a connection share a queue (the guest then
 * transmits its replies from the CPU that took them).  The same hash,
 * by the key and hash types of RSS_CONFIG or HASH_CONFIG, is what
 * VIRTIO_NET_F_HASH_REPORT puts in each received frame's header (5.1.6.4.4).
 * No QOM and no guest memory here: the caller hands in the frame and the
 * command's data.
 */
#ifndef HW_VIRTIO_MVNET_STEER_H
#define HW_VIRTIO_MVNET_STEER_H

#include "migration/vmstate.h"
#include "standard-headers/linux/virtio_net.h"

#define MVNET_RSS_KEY_MAX       40
#define MVNET_RSS_TABLE_MAX     128
#define MVNET_RSS_HASH_TYPES \
    (VIRTIO_NET_RSS_HASH_TYPE_IPv4 | VIRTIO_NET_RSS_HASH_TYPE_TCPv4 | \
     VIRTIO_NET_RSS_HASH_TYPE_UDPv4 | VIRTIO_NET_RSS_HASH_TYPE_IPv6 | \
     VIRTIO_NET_RSS_HASH_TYPE_TCPv6 | VIRTIO_NET_RSS_HASH_TYPE_UDPv6)

/*
 * What VIRTIO_NET_CTRL_MQ_RSS_CONFIG or _HASH_CONFIG set; off after reset.
 * @enabled: RSS_CONFIG's steering; the hash types and key also serve the
 * hash report (HASH_CONFIG sets only those).
 */
typedef struct MvnetRss {
    bool enabled;
    uint32_t hash_types;            /* 0: no hash (reported as NONE) */
    uint16_t table_len;             /* indirection_table_mask + 1 */
    uint16_t unclassified;
    uint16_t table[MVNET_RSS_TABLE_MAX];
    uint8_t key_len;
    uint8_t key[MVNET_RSS_KEY_MAX]; /* zero past key_len */
} MvnetRss;

void mvnet_rss_reset(MvnetRss *rss);

/*
 * VIRTIO_NET_CTRL_MQ_RSS_CONFIG's data (@len bytes) for a device with
 * @pairs queue pairs: NULL when it is valid (*@rss set, *@tx_pairs its
 * max_tx_vq), else why not (unchanged).
 */
const char *mvnet_rss_config(MvnetRss *rss, uint16_t *tx_pairs,
                             const uint8_t *data, size_t len,
                             unsigned pairs);

/*
 * VIRTIO_NET_CTRL_MQ_HASH_CONFIG's data (@len bytes): NULL when it is
 * valid (*@rss set: hash types and key, no steering), else why not.
 */
const char *mvnet_hash_config(MvnetRss *rss, const uint8_t *data,
                              size_t len);

/* Whether @rss (from a migration stream) is valid for @pairs pairs. */
bool mvnet_rss_valid(const MvnetRss *rss, unsigned pairs);

/* A received frame's hash report: the tail of virtio_net_hdr_v1_hash */
typedef struct MvnetHash {
    uint32_t value;
    uint16_t report;                /* VIRTIO_NET_HASH_REPORT_* */
} MvnetHash;

/*
 * The queue pair that receives the Ethernet frame @buf of @size bytes:
 * by @rss when it is enabled, else by the symmetric hash over the first
 * @pairs pairs.  *@hash is the frame's hash by @rss's hash types and key
 * (VIRTIO_NET_HASH_REPORT_NONE and 0 when none of them applies).
 */
unsigned mvnet_steer(const MvnetRss *rss, const uint8_t *buf, size_t size,
                     unsigned pairs, MvnetHash *hash);

extern const VMStateDescription vmstate_mvnet_rss;

#endif /* HW_VIRTIO_MVNET_STEER_H */
