/*
 * mvnet: the NIC in QEMU's net layer (property 'netdev')
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Transmitted frames go to the netdev, with their virtio-net header when
 * it takes them (tap); the frames it hands in pass the control queue's
 * receive filter and fill the receive queue that steering chooses.  Also
 * the link (set_link), announce-self and GUEST_ANNOUNCE, query-rx-filter
 * and NIC_RX_FILTER_CHANGED, and the offloads the tap device is told.
 */

#include "qemu/osdep.h"
#include "qemu/log.h"
#include "qemu/bswap.h"
#include "qemu/main-loop.h"
#include "qapi/error.h"
#include "qapi/qapi-events-net.h"
#include "migration/misc.h"
#include "mvnet.h"
#include "trace.h"

static void mvnet_tx_sent(NetClientState *nc, ssize_t len)
{
    MvnetDevice *n = qemu_get_nic_opaque(nc);

    if (n->bh) {
        qemu_bh_schedule(n->bh);
    }
}

/* Send one transmitted frame to the netdev; returns MVNET_*. */
int mvnet_send_one(MvnetDevice *n, unsigned tq)
{
    uint64_t len;
    int64_t got;
    ssize_t sent;
    int r;

    r = mvnet_tx_pop(n, tq, &len);
    if (r != MVNET_FRAME) {
        return r;
    }
    got = mvnet_tx_read(n, tq, len);
    if (got < 0) {
        return MVNET_BROKEN;
    }
    n->stats[tq].packets++;
    n->stats[tq].bytes += got;
    /* A frame the peer cannot take now is queued (copied) by the net layer */
    if (n->peer_vnet_hdr) {
        struct virtio_net_hdr_mrg_rxbuf h = { .hdr = n->tx_hdr };
        struct iovec iov[] = {
            { .iov_base = &h, .iov_len = sizeof(h) },
            { .iov_base = n->tx_frame, .iov_len = got },
        };

        sent = qemu_sendv_packet_async(qemu_get_queue(n->nic), iov,
                                       ARRAY_SIZE(iov), mvnet_tx_sent);
    } else {
        sent = qemu_send_packet_async(qemu_get_queue(n->nic), n->tx_frame,
                                      got, mvnet_tx_sent);
    }
    r = mvnet_tx_complete(n, tq);
    return r == MVNET_DONE && !sent ? MVNET_WAIT_NET : r;
}

static bool mvnet_can_receive(NetClientState *nc)
{
    MvnetDevice *n = qemu_get_nic_opaque(nc);
    bool can = runstate_is_running() && !n->broken &&
               (n->status & VIRTIO_CONFIG_S_DRIVER_OK) &&
               n->vq[MVNET_RX_QUEUE].ready;

    /* The net layer now holds frames for us: flush when this changes. */
    n->rx_waiting |= !can;
    return can;
}

/*
 * A GSO frame from the netdev (@h, @buf, @size) that the driver does not
 * take whole: cut it, all receive chains popped first as in the loopback.
 */
static int mvnet_receive_segments(MvnetDevice *n, unsigned rq,
                                  const struct virtio_net_hdr *h,
                                  const uint8_t *buf, size_t size)
{
    g_autofree unsigned *nrx = NULL;
    MvnetGso g;
    const char *why = mvnet_gso_plan(buf, size, h, &g);
    int r;

    if (why) {
        trace_mvnet_netdev_bad_hdr(mvnet_name(n), why);
        n->stats[rq].errors++;
        return MVNET_DONE;
    }
    nrx = g_new(unsigned, MIN(g.nseg, MVNET_QUEUE_MAX));
    r = mvnet_rx_pop_segments(n, rq, &g, nrx);
    return r == MVNET_FRAME ? mvnet_rx_segments(n, rq, &g, buf, nrx) : r;
}

/*
 * Deliver the frame @buf (@size bytes) that the netdev handed in with the
 * header @h (zero without virtio-net headers): with its offloads when the
 * driver takes them, else with the checksum done or cut into segments.
 * Returns MVNET_WAIT_RX when it has to wait for buffers, else MVNET_*.
 */
static int mvnet_receive_frame(MvnetDevice *n, unsigned rq,
                               const struct virtio_net_hdr *h,
                               const uint8_t *buf, size_t size)
{
    struct virtio_net_hdr rxh;
    const char *why;
    unsigned nrx;
    int r;

    switch (mvnet_offload_netdev_hdr(h, size, n->guest_offloads, &rxh,
                                     &why)) {
    case MVNET_RX_BAD:
        trace_mvnet_netdev_bad_hdr(mvnet_name(n), why);
        n->stats[rq].errors++;
        return MVNET_DONE;
    case MVNET_RX_SEGMENT:
        return mvnet_receive_segments(n, rq, h, buf, size);
    case MVNET_RX_CSUM:
        memcpy(n->seg_frame, buf, size);
        mvnet_offload_csum(n->seg_frame, size, h);
        buf = n->seg_frame;
        break;
    case MVNET_RX_AS_IS:
        break;
    }
    r = mvnet_rx_pop(n, rq, mvnet_hdr_len(n) + size, n->rx_chains,
                     MVNET_MAX_RX_CHAINS, &nrx);
    if (r != MVNET_FRAME) {
        return r;
    }
    if (mvnet_rx_write(n, rq, n->rx_chains, nrx, &rxh, buf, size) < 0) {
        mvnet_set_broken(n, rq, VRING_ERR_MEM);
        return MVNET_BROKEN;
    }
    return mvnet_rx_push(n, rq, n->rx_chains, nrx, mvnet_hdr_len(n) + size);
}

/* A frame from the netdev; 0 (it stays queued) when no buffer is posted. */
static ssize_t mvnet_receive(NetClientState *nc, const uint8_t *buf,
                             size_t size)
{
    MvnetDevice *n = qemu_get_nic_opaque(nc);
    struct virtio_net_hdr_mrg_rxbuf vh = { };
    size_t whole = size;
    unsigned rq = MVNET_RX_QUEUE;
    int r;

    if (!mvnet_can_receive(nc)) {
        return 0;
    }
    if (n->peer_vnet_hdr) {
        if (size < sizeof(vh)) {
            n->stats[rq].errors++;
            return whole;
        }
        memcpy(&vh, buf, sizeof(vh));
        buf += sizeof(vh);
        size -= sizeof(vh);
    }
    if (!n->link_up) {
        n->stats[rq].drops++;
        return whole;
    }
    if (!size || size > MVNET_MAX_FRAME) {
        n->stats[rq].errors++;
        return whole;
    }
    if (!mvnet_rx_filter_accept(&n->rxf, n->mac.a, buf, size)) {
        return whole;                   /* not for us */
    }
    rq = mvnet_rxq(mvnet_steer(&n->rss, buf, size, n->curr_pairs,
                               &n->rx_hash));
    if (!n->vq[rq].ready) {
        n->stats[rq].drops++;           /* a queue the driver left off */
        return whole;
    }
    r = mvnet_receive_frame(n, rq, &vh.hdr, buf, size);
    if (r == MVNET_WAIT_RX) {
        n->rx_waiting = true;
        if (vring_enable_notify_since(&n->vq[rq].ring, &n->rx_mark[rq])) {
            qemu_bh_schedule(n->bh);    /* buffers came meanwhile */
        }
        return 0;
    }
    if (r == MVNET_DONE) {
        n->rx_signal |= 1u << rq;
        qemu_bh_schedule(n->rx_bh);
    }
    return whole;
}

/*
 * The netdev handed in a burst of frames (a bottom half runs after it):
 * publish them and signal once.  The burst is the batch, so adaptive
 * moderation holds nothing here (a hold would delay the guest's TCP
 * acknowledgements); coalescing the driver set (NOTF_COAL) still holds.
 */
void mvnet_rx_bh(void *opaque)
{
    MvnetDevice *n = opaque;

    /* Stopped: the run-state change resumes (mvnet_bh publishes). */
    if (!runstate_is_running() || n->broken ||
        !(n->status & VIRTIO_CONFIG_S_DRIVER_OK)) {
        return;
    }
    while (n->rx_signal && !n->broken) {
        unsigned rq = ctz32(n->rx_signal);

        n->rx_signal &= ~(1u << rq);
        if (!n->vq[rq].ready) {
            continue;
        }
        if (n->coal[rq].driver_set) {
            mvnet_notify(n, rq);
        } else {
            mvnet_coal_fire(n, rq);
        }
    }
}

/* The link of our NIC (set_link) or the 'link' property changed. */
void mvnet_link_changed(MvnetDevice *n, bool up)
{
    if (n->link_up == up) {
        return;
    }
    n->link_up = up;
    if (n->features & (1ULL << VIRTIO_NET_F_STATUS)) {
        mvnet_config_changed(n);
    } else {
        n->generation++;
    }
}

static void mvnet_link_status_changed(NetClientState *nc)
{
    mvnet_link_changed(qemu_get_nic_opaque(nc), !nc->link_down);
}

/*
 * VIRTIO_NET_F_GUEST_ANNOUNCE: the device asks the driver to announce
 * itself (gratuitous ARP, unsolicited NA), by the status bit and a config
 * interrupt, until the driver acknowledges on the control queue.
 */
static void mvnet_announce_notify(MvnetDevice *n)
{
    trace_mvnet_announce(mvnet_name(n), n->announce_timer.round);
    n->announce = true;
    mvnet_config_changed(n);
}

void mvnet_announce_timer(void *opaque)
{
    MvnetDevice *n = opaque;

    n->announce_timer.round--;
    mvnet_announce_notify(n);
}

/* announce-self: QEMU sends the RARP, the driver announces the rest. */
static void mvnet_announce(NetClientState *nc)
{
    MvnetDevice *n = qemu_get_nic_opaque(nc);

    /* Rounds after migration are running: they announce. */
    if (!n->announce_timer.round && mvnet_has(n, VIRTIO_NET_F_GUEST_ANNOUNCE) &&
        (n->status & VIRTIO_CONFIG_S_DRIVER_OK)) {
        mvnet_announce_notify(n);
    }
}

/* VIRTIO_NET_CTRL_ANNOUNCE_ACK: the driver announced; the next round. */
uint8_t mvnet_announce_ack(MvnetDevice *n)
{
    if (!n->announce) {
        return VIRTIO_NET_ERR;
    }
    n->announce = false;
    if (n->announce_timer.round) {
        qemu_announce_timer_step(&n->announce_timer);
    }
    return VIRTIO_NET_OK;
}

/* After migration (or loadvm): announce migrate_announce_params() rounds. */
void mvnet_announce_start(MvnetDevice *n)
{
    if (!mvnet_has(n, VIRTIO_NET_F_GUEST_ANNOUNCE)) {
        return;
    }
    qemu_announce_timer_reset(&n->announce_timer, migrate_announce_params(),
                              QEMU_CLOCK_VIRTUAL, mvnet_announce_timer, n);
    if (n->announce_timer.round) {
        timer_mod(n->announce_timer.tm,
                  qemu_clock_get_ms(n->announce_timer.type));
    }
}

void mvnet_announce_stop(MvnetDevice *n)
{
    if (n->announce_timer.tm) {
        timer_del(n->announce_timer.tm);
    }
    n->announce_timer.round = 0;
    n->announce = false;
}

static RxFilterInfo *mvnet_query_rx_filter(NetClientState *nc)
{
    MvnetDevice *n = qemu_get_nic_opaque(nc);

    /* The next change by the driver sends NIC_RX_FILTER_CHANGED again. */
    nc->rxfilter_notify_enabled = 1;
    return mvnet_rx_filter_info(&n->rxf, nc->name, n->mac.a);
}

/* The driver changed the RX filter or the MAC: tell management, once. */
void mvnet_rx_filter_changed(MvnetDevice *n)
{
    NetClientState *nc = n->nic ? qemu_get_queue(n->nic) : NULL;
    Object *transport = MDEV_DEVICE(n)->transport;

    if (nc && nc->rxfilter_notify_enabled && transport) {
        g_autofree char *path = object_get_canonical_path(transport);

        qapi_event_send_nic_rx_filter_changed(nc->name, path);
        nc->rxfilter_notify_enabled = 0;
    }
}

static NetClientInfo mvnet_nic_info = {
    .type = NET_CLIENT_DRIVER_NIC,
    .size = sizeof(NICState),
    .can_receive = mvnet_can_receive,
    .receive = mvnet_receive,
    .link_status_changed = mvnet_link_status_changed,
    .query_rx_filter = mvnet_query_rx_filter,
    .announce = mvnet_announce,
};

/*
 * With 'netdev', our NIC in the net layer, connected to that backend and
 * named by the transport device's id (for set_link and 'info network'; no
 * id: QEMU names it).  The loopback is no NIC: it has no network, and the
 * net layer would warn about a NIC without a peer.
 */
bool mvnet_nic_create(MvnetDevice *n, Error **errp)
{
    DeviceState *dev = (DeviceState *)object_dynamic_cast(
        MDEV_DEVICE(n)->transport, TYPE_DEVICE);
    NetClientState *peer;

    if (!n->netdev) {
        return true;
    }
    peer = qemu_find_netdev(n->netdev);
    if (!peer) {
        error_setg(errp, "property 'netdev': no network backend with id '%s'",
                   n->netdev);
        return false;
    }
    if (peer->peer) {
        error_setg(errp, "property 'netdev': network backend '%s' is already "
                   "in use", n->netdev);
        return false;
    }
    memset(&n->nic_conf, 0, sizeof(n->nic_conf));
    n->nic_conf.macaddr = n->conf_mac;
    n->nic_conf.peers.ncs[0] = peer;
    n->nic_conf.peers.queues = 1;
    n->nic = qemu_new_nic(&mvnet_nic_info, &n->nic_conf, "virtio-mdev-net",
                          dev ? dev->id : NULL, n->host.guard, n);
    /* Headers little-endian and with num_buffers, whatever the driver's */
    n->peer_vnet_hdr = qemu_has_vnet_hdr(peer) &&
        qemu_has_vnet_hdr_len(peer, sizeof(struct virtio_net_hdr_mrg_rxbuf)) &&
        qemu_set_vnet_le(peer, true) == 0;
    if (n->peer_vnet_hdr) {
        qemu_set_vnet_hdr_len(peer, sizeof(struct virtio_net_hdr_mrg_rxbuf));
    }
    qemu_get_queue(n->nic)->link_down = !n->link_up;
    qemu_format_nic_info_str(qemu_get_queue(n->nic), n->conf_mac.a);
    return true;
}

/*
 * Tell a netdev that takes virtio-net headers which offloads the driver
 * takes on receive (tap: TUNSETOFFLOAD), so that it sends only those.
 */
void mvnet_peer_offloads(MvnetDevice *n)
{
    uint64_t o = n->guest_offloads;
    NetClientState *peer = mvnet_peer(n);

    if (!n->peer_vnet_hdr || !peer) {
        return;
    }
    trace_mvnet_netdev_offloads(mvnet_name(n), o);
    qemu_set_offload(peer, !!(o & (1ULL << VIRTIO_NET_F_GUEST_CSUM)),
                     !!(o & (1ULL << VIRTIO_NET_F_GUEST_TSO4)),
                     !!(o & (1ULL << VIRTIO_NET_F_GUEST_TSO6)),
                     !!(o & (1ULL << VIRTIO_NET_F_GUEST_ECN)), 0, 0, 0);
}
