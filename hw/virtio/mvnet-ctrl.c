/*
 * mvnet: the control queue (VIRTIO_NET_F_CTRL_VQ)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Receive modes and MAC tables (the filter lives in mvnet-rx-filter.c),
 * MAC_ADDR_SET, notification coalescing, guest offloads, the queue pairs
 * in use, RSS and the hash report, the announce acknowledgement.  A
 * malformed or unknown command is answered VIRTIO_NET_ERR; only a ring
 * that cannot be read or written breaks the device.
 */

#include "qemu/osdep.h"
#include "qemu/log.h"
#include "qemu/bswap.h"
#include "qemu/units.h"
#include "mvnet.h"
#include "trace.h"

/*
 * VIRTIO_NET_CTRL_MAC_TABLE_SET of @len data bytes.  A driver may list more
 * addresses than the table holds (it then overflows), but not without end.
 */
#define MVNET_MAC_TABLE_DATA_MAX    (64 * KiB)

static uint8_t mvnet_ctrl_mac_table(MvnetDevice *n, VringChain *c,
                                    uint64_t len)
{
    Vring *ring = &n->vq[MVNET_CTRL_QUEUE].ring;
    g_autofree uint8_t *data = NULL;

    if (len > MVNET_MAC_TABLE_DATA_MAX) {
        return VIRTIO_NET_ERR;
    }
    data = g_malloc(len);
    if (vring_chain_read(ring, c, sizeof(struct virtio_net_ctrl_hdr), data,
                         len) != len ||
        !mvnet_rx_filter_set_table(&n->rxf, data, len)) {
        return VIRTIO_NET_ERR;
    }
    mvnet_rx_filter_changed(n);
    return VIRTIO_NET_OK;
}

/*
 * VIRTIO_NET_CTRL_NOTF_COAL_RX_SET or _TX_SET: max_packets, max_usecs,
 * for every receive (or transmit) queue.
 */
static uint8_t mvnet_ctrl_coal(MvnetDevice *n, uint8_t cmd, VringChain *c)
{
    Vring *ring = &n->vq[MVNET_CTRL_QUEUE].ring;
    struct virtio_net_ctrl_coal coal;
    bool rx = cmd == VIRTIO_NET_CTRL_NOTF_COAL_RX_SET;

    if (vring_chain_read(ring, c, sizeof(struct virtio_net_ctrl_hdr), &coal,
                         sizeof(coal)) != sizeof(coal)) {
        return VIRTIO_NET_ERR;
    }
    for (unsigned p = 0; p < n->max_pairs; p++) {
        unsigned q = rx ? mvnet_rxq(p) : mvnet_txq(p);

        mdev_coal_set(&n->coal[q], le32_to_cpu(coal.max_packets),
                      le32_to_cpu(coal.max_usecs));
        trace_mvnet_coal(mvnet_name(n), mvnet_index(n, q),
                         n->coal[q].max_packets, n->coal[q].usecs);
    }
    return VIRTIO_NET_OK;
}

/*
 * The driver uses the first @pairs pairs.  Work still pending on the pairs
 * it gives up is published and signalled now; from then on only the pairs
 * in use transmit (and, without RSS, receive).
 */
static void mvnet_set_pairs(MvnetDevice *n, uint16_t pairs)
{
    for (unsigned p = pairs; p < n->curr_pairs; p++) {
        if (n->vq[mvnet_rxq(p)].ready) {
            mvnet_notify_now(n, mvnet_rxq(p));
        }
        if (n->vq[mvnet_txq(p)].ready) {
            mvnet_notify_now(n, mvnet_txq(p));
        }
    }
    n->curr_pairs = pairs;
}

/* VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET: the pairs in use, RSS off. */
static uint8_t mvnet_ctrl_mq(MvnetDevice *n, VringChain *c)
{
    Vring *ring = &n->vq[MVNET_CTRL_QUEUE].ring;
    struct virtio_net_ctrl_mq mq;
    uint16_t pairs;

    if (vring_chain_read(ring, c, sizeof(struct virtio_net_ctrl_hdr), &mq,
                         sizeof(mq)) != sizeof(mq)) {
        return VIRTIO_NET_ERR;
    }
    pairs = le16_to_cpu(mq.virtqueue_pairs);
    if (pairs < VIRTIO_NET_CTRL_MQ_VQ_PAIRS_MIN || pairs > n->max_pairs) {
        qemu_log_mask(LOG_GUEST_ERROR, "mvnet %s: %u queue pairs asked, "
                      "1..%u offered\n", mvnet_name(n), pairs, n->max_pairs);
        return VIRTIO_NET_ERR;
    }
    mvnet_set_pairs(n, pairs);
    /*
     * The driver steers no more.  Its hash types and key stay for the hash
     * report: Linux 6.1 without RSS sends HASH_CONFIG at probe, then this
     * for "ethtool -L".
     */
    n->rss.enabled = false;
    trace_mvnet_mq_pairs(mvnet_name(n), pairs);
    return VIRTIO_NET_OK;
}

/* RSS_CONFIG's longest data; HASH_CONFIG may come in its layout too */
#define MVNET_RSS_DATA_MAX \
    (sizeof(struct virtio_net_rss_config) + 2 * MVNET_RSS_TABLE_MAX + \
     MVNET_RSS_KEY_MAX)

/*
 * The @len data bytes of RSS_CONFIG or HASH_CONFIG (@what), for the
 * caller to free; NULL when they are too long (logged) or unreadable.
 */
static uint8_t *mvnet_ctrl_rss_data(MvnetDevice *n, VringChain *c,
                                    uint64_t len, const char *what)
{
    Vring *ring = &n->vq[MVNET_CTRL_QUEUE].ring;
    uint8_t *data;

    if (len > MVNET_RSS_DATA_MAX) {
        qemu_log_mask(LOG_GUEST_ERROR, "mvnet %s: %s configuration is too "
                      "long\n", mvnet_name(n), what);
        return NULL;
    }
    data = g_malloc(MAX(len, 1));
    if (vring_chain_read(ring, c, sizeof(struct virtio_net_ctrl_hdr), data,
                         len) != len) {
        g_free(data);
        return NULL;
    }
    return data;
}

/*
 * VIRTIO_NET_CTRL_MQ_RSS_CONFIG (@len data bytes): receive steering by
 * the driver's key and indirection table, and the pairs it transmits on.
 */
static uint8_t mvnet_ctrl_rss(MvnetDevice *n, VringChain *c, uint64_t len)
{
    g_autofree uint8_t *data = mvnet_ctrl_rss_data(n, c, len, "RSS");
    uint16_t pairs;
    const char *why;

    if (!data) {
        return VIRTIO_NET_ERR;
    }
    why = mvnet_rss_config(&n->rss, &pairs, data, len, mvnet_pairs(n));
    if (why) {
        qemu_log_mask(LOG_GUEST_ERROR, "mvnet %s: RSS configuration %s\n",
                      mvnet_name(n), why);
        return VIRTIO_NET_ERR;
    }
    mvnet_set_pairs(n, pairs);
    trace_mvnet_rss(mvnet_name(n), n->rss.hash_types, n->rss.table_len,
                    pairs);
    return VIRTIO_NET_OK;
}

/*
 * VIRTIO_NET_CTRL_MQ_HASH_CONFIG (@len data bytes): the hash types and key
 * of the hash report, without steering.
 */
static uint8_t mvnet_ctrl_hash(MvnetDevice *n, VringChain *c, uint64_t len)
{
    g_autofree uint8_t *data = mvnet_ctrl_rss_data(n, c, len, "hash");
    const char *why;

    if (!data) {
        return VIRTIO_NET_ERR;
    }
    why = mvnet_hash_config(&n->rss, data, len);
    if (why) {
        qemu_log_mask(LOG_GUEST_ERROR, "mvnet %s: hash configuration %s\n",
                      mvnet_name(n), why);
        return VIRTIO_NET_ERR;
    }
    trace_mvnet_hash_config(mvnet_name(n), n->rss.hash_types,
                            n->rss.key_len);
    return VIRTIO_NET_OK;
}

/* VIRTIO_NET_CTRL_GUEST_OFFLOADS_SET: which negotiated ones are on. */
static uint8_t mvnet_ctrl_offloads(MvnetDevice *n, VringChain *c)
{
    Vring *ring = &n->vq[MVNET_CTRL_QUEUE].ring;
    uint64_t offloads;

    if (vring_chain_read(ring, c, sizeof(struct virtio_net_ctrl_hdr),
                         &offloads, sizeof(offloads)) != sizeof(offloads)) {
        return VIRTIO_NET_ERR;
    }
    offloads = le64_to_cpu(offloads);
    if (!mvnet_offload_allowed(offloads, n->features)) {
        qemu_log_mask(LOG_GUEST_ERROR, "mvnet %s: guest offloads 0x%" PRIx64
                      " were not negotiated\n", mvnet_name(n), offloads);
        return VIRTIO_NET_ERR;
    }
    n->guest_offloads = offloads;
    trace_mvnet_guest_offloads(mvnet_name(n), offloads);
    mvnet_peer_offloads(n);
    return VIRTIO_NET_OK;
}

/* Execute one control command; returns VIRTIO_NET_OK or VIRTIO_NET_ERR. */
static uint8_t mvnet_ctrl_command(MvnetDevice *n, VringChain *c)
{
    MdevVq *cq = &n->vq[MVNET_CTRL_QUEUE];
    struct virtio_net_ctrl_hdr hdr;
    uint64_t data_len = c->out_len - sizeof(hdr);
    uint8_t data[ETH_ALEN];

    if (vring_chain_read(&cq->ring, c, 0, &hdr, sizeof(hdr)) != sizeof(hdr)) {
        return VIRTIO_NET_ERR;
    }
    switch (hdr.class) {
    case VIRTIO_NET_CTRL_RX:
        /* The filter applies to a netdev's frames; the loopback's pass. */
        if (mvnet_has(n, VIRTIO_NET_F_CTRL_RX) && data_len == 1 &&
            vring_chain_read(&cq->ring, c, sizeof(hdr), data, 1) == 1 &&
            mvnet_rx_filter_set_mode(&n->rxf, hdr.cmd, data[0],
                                     mvnet_has(n,
                                               VIRTIO_NET_F_CTRL_RX_EXTRA))) {
            mvnet_rx_filter_changed(n);
            return VIRTIO_NET_OK;
        }
        break;
    case VIRTIO_NET_CTRL_MAC:
        if (hdr.cmd == VIRTIO_NET_CTRL_MAC_TABLE_SET &&
            mvnet_has(n, VIRTIO_NET_F_CTRL_RX)) {
            return mvnet_ctrl_mac_table(n, c, data_len);
        }
        if (hdr.cmd == VIRTIO_NET_CTRL_MAC_ADDR_SET &&
            mvnet_has(n, VIRTIO_NET_F_CTRL_MAC_ADDR) && data_len == ETH_ALEN &&
            vring_chain_read(&cq->ring, c, sizeof(hdr), data,
                             ETH_ALEN) == ETH_ALEN) {
            memcpy(n->mac.a, data, ETH_ALEN);
            n->generation++;
            mvnet_rx_filter_changed(n);
            return VIRTIO_NET_OK;
        }
        break;
    case VIRTIO_NET_CTRL_NOTF_COAL:
        if ((hdr.cmd == VIRTIO_NET_CTRL_NOTF_COAL_RX_SET ||
             hdr.cmd == VIRTIO_NET_CTRL_NOTF_COAL_TX_SET) &&
            mvnet_has(n, VIRTIO_NET_F_NOTF_COAL) &&
            data_len == sizeof(struct virtio_net_ctrl_coal)) {
            return mvnet_ctrl_coal(n, hdr.cmd, c);
        }
        break;
    case VIRTIO_NET_CTRL_GUEST_OFFLOADS:
        if (hdr.cmd == VIRTIO_NET_CTRL_GUEST_OFFLOADS_SET &&
            mvnet_has(n, VIRTIO_NET_F_CTRL_GUEST_OFFLOADS) &&
            data_len == sizeof(uint64_t)) {
            return mvnet_ctrl_offloads(n, c);
        }
        break;
    case VIRTIO_NET_CTRL_MQ:
        if (hdr.cmd == VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET &&
            mvnet_has(n, VIRTIO_NET_F_MQ) &&
            data_len == sizeof(struct virtio_net_ctrl_mq)) {
            return mvnet_ctrl_mq(n, c);
        }
        if (hdr.cmd == VIRTIO_NET_CTRL_MQ_RSS_CONFIG &&
            mvnet_has(n, VIRTIO_NET_F_RSS)) {
            return mvnet_ctrl_rss(n, c, data_len);
        }
        if (hdr.cmd == VIRTIO_NET_CTRL_MQ_HASH_CONFIG &&
            mvnet_has(n, VIRTIO_NET_F_HASH_REPORT)) {
            return mvnet_ctrl_hash(n, c, data_len);
        }
        break;
    case VIRTIO_NET_CTRL_ANNOUNCE:
        if (hdr.cmd == VIRTIO_NET_CTRL_ANNOUNCE_ACK && !data_len &&
            mvnet_has(n, VIRTIO_NET_F_GUEST_ANNOUNCE)) {
            return mvnet_announce_ack(n);
        }
        break;
    }
    qemu_log_mask(LOG_UNIMP, "mvnet %s: control command class %u cmd %u "
                  "(%" PRIu64 " data bytes) not supported\n", mvnet_name(n),
                  hdr.class, hdr.cmd, data_len);
    return VIRTIO_NET_ERR;
}

/*
 * Run up to a burst of control commands; *@more tells whether the budget
 * ran out first.  Returns false when the device broke.
 */
bool mvnet_ctrl(MvnetDevice *n, bool *more)
{
    MdevVq *cq = &n->vq[MVNET_CTRL_QUEUE];
    VringChain *c = &n->ctrl_chain;
    unsigned budget = MVNET_BURST;
    int r = 0;

    *more = false;
    if (!cq->ready) {
        return true;
    }
    while (budget && (r = vring_pop(&cq->ring, c, true, true)) == 1) {
        budget--;
        uint8_t ack = VIRTIO_NET_ERR;

        if (c->out_len < sizeof(struct virtio_net_ctrl_hdr) || !c->in_len) {
            qemu_log_mask(LOG_GUEST_ERROR, "mvnet %s: control command of %"
                          PRIu64 "+%" PRIu64 " bytes is malformed\n",
                          mvnet_name(n), c->out_len, c->in_len);
            n->stats[MVNET_CTRL_QUEUE].errors++;
        } else {
            ack = mvnet_ctrl_command(n, c);
            n->stats[MVNET_CTRL_QUEUE].packets++;
        }
        if (c->in_len && vring_chain_write(&cq->ring, c, 0, &ack, 1) != 1) {
            mvnet_set_broken(n, MVNET_CTRL_QUEUE, VRING_ERR_MEM);
            return false;
        }
        if (vring_fill(&cq->ring, c, c->in_len ? 1 : 0) != VRING_OK) {
            mvnet_set_broken(n, MVNET_CTRL_QUEUE, VRING_ERR_USED);
            return false;
        }
    }
    if (r < 0) {
        mvnet_set_broken(n, MVNET_CTRL_QUEUE, -r);
        return false;
    }
    *more = !budget;
    mvnet_notify(n, MVNET_CTRL_QUEUE);
    return true;
}
