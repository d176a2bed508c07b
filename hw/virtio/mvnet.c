/*
 * mvnet: a virtio-net mdev that runs the datapath itself
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * "Hardware that does the virtio datapath": the backend reads and writes
 * the rings in guest memory with the vring engine (not QEMU's VirtIODevice
 * queues).  Without 'netdev', every frame the guest transmits on queue 1 is
 * delivered once, in order, into the receive queue 0, virtio-net header
 * passed through (num_buffers filled in).  With 'netdev' the instance is a
 * NIC of QEMU's net layer: frames go to and come from that backend, through
 * the control queue's receive filter (mvnet-rx-filter.c).  A backend that
 * takes virtio-net headers (tap) gets them with every frame, as virtio-net
 * hands them to it; only then are the offloads offered with a netdev.
 *
 *  - Lossless back-pressure: with no receive buffer the transmit chain waits
 *    (it is given back to the ring) until the guest posts receive buffers.
 *  - Link down: transmitted frames complete and are counted as dropped.
 *  - A frame larger than the receive chain without MRG_RXBUF is an error
 *    counted, not a truncation.
 *  - A ring violation marks the device broken: LOG_GUEST_ERROR, status
 *    DEVICE_NEEDS_RESET and a config interrupt; reset recovers.
 *
 *  - With queues=N (VIRTIO_NET_F_MQ) each pair runs in turn in the bottom
 *    half; RSS or a flow hash picks a frame's receive queue (mvnet-steer.c).
 *
 * This file is the device: its ops, the bottom half, migration, properties
 * and types; mvnet.h says what the other mvnet-*.c files do.  The parent
 * object "mvnet" offers the types mvnet-virtio (class virtio) and
 * mvnet-vhost (class vhost, exported by vhost-user-mdev).
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qapi/visitor.h"
#include "qemu/log.h"
#include "qemu/module.h"
#include "qemu/main-loop.h"
#include "qemu/bswap.h"
#include "migration/misc.h"
#include "migration/vmstate.h"
#include "qemu/error-report.h"
#include "standard-headers/linux/virtio_ids.h"
#include "standard-headers/linux/virtio_ring.h"
#include "hw/qdev-core.h"
#include "hw/virtio/virtio-mdev-ops.h"
#include "hw/virtio/mdev-switch.h"
#include "mvnet.h"
#include "trace.h"

#define TYPE_MVNET_PARENT "mvnet"
OBJECT_DECLARE_SIMPLE_TYPE(MvnetParent, MVNET_PARENT)


#define MVNET_FEATURES \
    ((1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_F_ANY_LAYOUT) | \
     (1ULL << VIRTIO_NET_F_MAC) | (1ULL << VIRTIO_NET_F_STATUS) | \
     (1ULL << VIRTIO_NET_F_MTU) | (1ULL << VIRTIO_NET_F_MRG_RXBUF) | \
     (1ULL << VIRTIO_RING_F_EVENT_IDX) | \
     (1ULL << VIRTIO_RING_F_INDIRECT_DESC) | \
     (1ULL << VIRTIO_NET_F_CTRL_VQ) | (1ULL << VIRTIO_NET_F_CTRL_RX) | \
     (1ULL << VIRTIO_NET_F_CTRL_MAC_ADDR) | (1ULL << VIRTIO_F_RING_PACKED) | \
     (1ULL << VIRTIO_NET_F_CTRL_RX_EXTRA) | \
     (1ULL << VIRTIO_NET_F_GUEST_ANNOUNCE) | \
     (1ULL << VIRTIO_NET_F_NOTF_COAL) | MVNET_OFFLOAD_FEATURES | \
     (1ULL << VIRTIO_F_NOTIFICATION_DATA) | (1ULL << VIRTIO_NET_F_MQ) | \
     (1ULL << VIRTIO_NET_F_RSS) | (1ULL << VIRTIO_NET_F_HASH_REPORT))

/* Features that need VIRTIO_NET_F_CTRL_VQ */
#define MVNET_CTRL_FEATURES \
    ((1ULL << VIRTIO_NET_F_CTRL_RX) | (1ULL << VIRTIO_NET_F_CTRL_MAC_ADDR) | \
     (1ULL << VIRTIO_NET_F_CTRL_RX_EXTRA) | \
     (1ULL << VIRTIO_NET_F_GUEST_ANNOUNCE) | \
     (1ULL << VIRTIO_NET_F_NOTF_COAL) | \
     (1ULL << VIRTIO_NET_F_CTRL_GUEST_OFFLOADS) | (1ULL << VIRTIO_NET_F_MQ) | \
     (1ULL << VIRTIO_NET_F_RSS) | (1ULL << VIRTIO_NET_F_HASH_REPORT))

/* GUEST_OFFLOADS_SET has not been loaded (migration) */
#define MVNET_OFFLOADS_UNSET    UINT64_MAX

/* Feature switches: each instance property turns one offered feature off. */
static const MdevSwitch mvnet_switches[] = {
    { "mrg-rxbuf", VIRTIO_NET_F_MRG_RXBUF, "Offer VIRTIO_NET_F_MRG_RXBUF" },
    { "event-idx", VIRTIO_RING_F_EVENT_IDX, "Offer VIRTIO_RING_F_EVENT_IDX" },
    { "indirect-desc", VIRTIO_RING_F_INDIRECT_DESC,
      "Offer VIRTIO_RING_F_INDIRECT_DESC" },
    { "status", VIRTIO_NET_F_STATUS, "Offer VIRTIO_NET_F_STATUS (link)" },
    { "ctrl-vq", VIRTIO_NET_F_CTRL_VQ,
      "Offer VIRTIO_NET_F_CTRL_VQ (a control queue)" },
    { "ctrl-rx", VIRTIO_NET_F_CTRL_RX,
      "Offer VIRTIO_NET_F_CTRL_RX (needs ctrl-vq)" },
    { "ctrl-mac-addr", VIRTIO_NET_F_CTRL_MAC_ADDR,
      "Offer VIRTIO_NET_F_CTRL_MAC_ADDR (needs ctrl-vq)" },
    { "packed", VIRTIO_F_RING_PACKED, "Offer VIRTIO_F_RING_PACKED" },
    { "ctrl-rx-extra", VIRTIO_NET_F_CTRL_RX_EXTRA,
      "Offer VIRTIO_NET_F_CTRL_RX_EXTRA (needs ctrl-vq)" },
    { "guest-announce", VIRTIO_NET_F_GUEST_ANNOUNCE,
      "Offer VIRTIO_NET_F_GUEST_ANNOUNCE (needs ctrl-vq)" },
    { "notf-coal", VIRTIO_NET_F_NOTF_COAL,
      "Offer VIRTIO_NET_F_NOTF_COAL (needs ctrl-vq)" },
    { "csum", VIRTIO_NET_F_CSUM,
      "Offer VIRTIO_NET_F_CSUM (loopback only)" },
    { "guest-csum", VIRTIO_NET_F_GUEST_CSUM,
      "Offer VIRTIO_NET_F_GUEST_CSUM (loopback only)" },
    { "ctrl-guest-offloads", VIRTIO_NET_F_CTRL_GUEST_OFFLOADS,
      "Offer VIRTIO_NET_F_CTRL_GUEST_OFFLOADS (needs ctrl-vq; loopback "
      "only)" },
    { "host-tso4", VIRTIO_NET_F_HOST_TSO4,
      "Offer VIRTIO_NET_F_HOST_TSO4 (loopback only)" },
    { "host-tso6", VIRTIO_NET_F_HOST_TSO6,
      "Offer VIRTIO_NET_F_HOST_TSO6 (loopback only)" },
    { "host-ecn", VIRTIO_NET_F_HOST_ECN,
      "Offer VIRTIO_NET_F_HOST_ECN (loopback only)" },
    { "guest-tso4", VIRTIO_NET_F_GUEST_TSO4,
      "Offer VIRTIO_NET_F_GUEST_TSO4 (loopback only)" },
    { "guest-tso6", VIRTIO_NET_F_GUEST_TSO6,
      "Offer VIRTIO_NET_F_GUEST_TSO6 (loopback only)" },
    { "guest-ecn", VIRTIO_NET_F_GUEST_ECN,
      "Offer VIRTIO_NET_F_GUEST_ECN (loopback only)" },
    { "notification-data", VIRTIO_F_NOTIFICATION_DATA,
      "Offer VIRTIO_F_NOTIFICATION_DATA" },
    { "rss", VIRTIO_NET_F_RSS,
      "Offer VIRTIO_NET_F_RSS (needs ctrl-vq and queues above 1)" },
    { "hash-report", VIRTIO_NET_F_HASH_REPORT,
      "Offer VIRTIO_NET_F_HASH_REPORT (needs ctrl-vq)" },
};

struct MvnetParent {
    MdevParent parent_obj;
};


/* Whether the instance has a control queue (class virtio, CTRL_VQ on) */
static bool mvnet_ctrl_offered(MvnetDevice *n)
{
    return (n->host_features & (1ULL << VIRTIO_NET_F_CTRL_VQ)) &&
           !n->ctrl_in_frontend;
}

/* The slot of the driver's queue @idx, or -1 when it has no such queue */
static int mvnet_slot(MvnetDevice *n, unsigned idx)
{
    if (idx == mvnet_ctrl_index(n)) {
        return mvnet_ctrl_offered(n) ? MVNET_CTRL_QUEUE : -1;
    }
    if (idx >= 2 * mvnet_pairs(n)) {
        return -1;
    }
    return idx & 1 ? mvnet_txq(idx / 2) : mvnet_rxq(idx / 2);
}

/* The slots the instance has: both queues of every pair, and control */
static unsigned mvnet_num_slots(MvnetDevice *n)
{
    return 2 * n->max_pairs + 1;
}

/* Point each slot at the transport's callback for its queue index. */
static void mvnet_map_callbacks(MvnetDevice *n)
{
    for (unsigned s = 0; s < mvnet_num_slots(n); s++) {
        unsigned idx = mvnet_index(n, s);

        mdev_vq_set_cb(&n->vq[s], n->vq_cb[idx].cb, n->vq_cb[idx].opaque);
    }
}

/* Device state */

void mvnet_config_changed(MvnetDevice *n)
{
    n->generation++;
    if (n->config_cb) {
        n->config_cb(n->config_opaque);
    }
}

/* A guest broke the rules (@why): stop until reset and tell the driver. */
void mvnet_set_broken_why(MvnetDevice *n, unsigned q, const char *why)
{
    if (n->broken) {
        return;
    }
    qemu_log_mask(LOG_GUEST_ERROR, "mvnet %s: queue %u: %s; device needs "
                  "reset\n", mvnet_name(n), q, why);
    n->broken = true;
    n->stats[q].errors++;
    n->status |= VIRTIO_CONFIG_S_NEEDS_RESET;
    mvnet_config_changed(n);
}

void mvnet_set_broken(MvnetDevice *n, unsigned q, VringError err)
{
    mvnet_set_broken_why(n, q, vring_strerror(err));
}


/* Publish queue @q's used entries and interrupt if the driver wants it. */
void mvnet_notify_now(MvnetDevice *n, unsigned q)
{
    int r = mdev_vq_notify(&n->vq[q]);

    if (r < 0) {
        mvnet_set_broken(n, q, -r);
    } else if (r) {
        n->stats[q].interrupts++;
    }
}

/* The same, unless notification coalescing (NOTF_COAL) holds it. */
void mvnet_notify(MvnetDevice *n, unsigned q)
{
    int r;

    if (q == MVNET_CTRL_QUEUE || mdev_coal_due(&n->coal[q])) {
        mvnet_notify_now(n, q);
        return;
    }
    r = mdev_vq_publish(&n->vq[q]);
    if (r < 0) {
        mvnet_set_broken(n, q, -r);
    }
}

/* Moderate by default ('adaptive-coal'), until the driver sets NOTF_COAL. */
static void mvnet_coal_adaptive(MvnetDevice *n)
{
    for (unsigned q = 0; q < MVNET_SLOTS; q++) {
        mdev_coal_set_adaptive(&n->coal[q],
                               n->adaptive_coal ? MVNET_COAL_ADAPTIVE_US : 0);
    }
}

/*
 * A held notification's time is up (the VM runs: virtual clock), or one
 * is due at once: signal queue @q.
 */
void mvnet_coal_fire(MvnetDevice *n, unsigned q)
{
    mdev_coal_signalled(&n->coal[q]);
    if (!n->broken && (n->status & VIRTIO_CONFIG_S_DRIVER_OK) &&
        n->vq[q].ready) {
        mvnet_notify_now(n, q);
    }
}

static void mvnet_coal_timer(void *opaque)
{
    MvnetQueueRef *ref = opaque;

    mvnet_coal_fire(ref->n, ref->slot);
}
















































/*
 * Pair @p's transmit ring is drained.  While moderation batches (a
 * stream), the driver's kicks stay off and the ring is looked at again a
 * fraction of the interrupt gap later (at most MVNET_TX_POLL_MAX_US: each
 * look takes at most the driver's window of frames), until
 * MVNET_TX_POLL_IDLE looks in a row found nothing (the driver pauses
 * while it takes a batch of interrupts); then kicks are enabled again
 * (true: frames came meanwhile, drain again).
 */
static bool mvnet_tx_idle(MvnetDevice *n, unsigned p, bool found)
{
    MdevCoal *c = &n->coal[mvnet_rxq(p)];
    unsigned tq = mvnet_txq(p);

    n->tx_poll_idle[tq] = found ? 0 : n->tx_poll_idle[tq] + 1;
    if (n->tx_poll_idle[tq] < MVNET_TX_POLL_IDLE && mdev_coal_batching(c)) {
        timer_mod_anticipate(n->tx_poll,
                             qemu_clock_get_us(QEMU_CLOCK_VIRTUAL) +
                             MIN(MAX(mdev_coal_gap(c) / 4,
                                     MVNET_TX_POLL_MIN_US),
                                 MVNET_TX_POLL_MAX_US));
        return false;
    }
    return vring_enable_notify(&n->vq[tq].ring);
}

static void mvnet_tx_poll(void *opaque)
{
    MvnetDevice *n = opaque;

    qemu_bh_schedule(n->bh);
}

/*
 * Signal what pair @p's frames filled: its own receive queue, or with RSS
 * in loopback every ready receive queue (one with nothing filled costs a
 * check: mvnet_notify signals only what is pending).
 */
static void mvnet_notify_rx(MvnetDevice *n, unsigned p)
{
    if (!n->rss.enabled || mvnet_peer(n)) {
        mvnet_notify(n, mvnet_rxq(p));
        return;
    }
    for (unsigned q = 0; q < n->max_pairs; q++) {
        if (n->vq[mvnet_rxq(q)].ready) {
            mvnet_notify(n, mvnet_rxq(q));
        }
    }
}

/*
 * Run up to a burst of pair @p's transmitted frames, then signal.
 * Returns true when the pair has more to do now (run again).
 */
static bool mvnet_pair_run(MvnetDevice *n, unsigned p)
{
    MdevVq *tx = &n->vq[mvnet_txq(p)], *rx = &n->vq[mvnet_rxq(p)];
    unsigned budget = MVNET_BURST;
    bool again = false;
    int r = MVNET_DONE;

    if (!tx->ready || !rx->ready) {
        return false;
    }
    n->wait_rq = mvnet_rxq(p);
    vring_disable_notify(&tx->ring);
    while (budget--) {
        r = mvnet_peer(n) ? mvnet_send_one(n, mvnet_txq(p))
                          : mvnet_loop_one(n, p);
        if (r != MVNET_DONE) {
            break;
        }
    }
    if (r == MVNET_BROKEN) {
        return false;
    }
    mvnet_notify_rx(n, p);
    mvnet_notify(n, mvnet_txq(p));
    if (r == MVNET_DONE) {
        /* Budget used up: yield to the main loop, then go on. */
        again = true;
    } else if (r == MVNET_TX_EMPTY) {
        again = mvnet_tx_idle(n, p, budget + 1 < MVNET_BURST);
    } else if (r == MVNET_WAIT_NET) {
        /* The netdev's sent callback (mvnet_tx_sent) goes on. */
    } else {
        /* Waiting: keep TX kicks off; new RX buffers (a kick) resume. */
        again = vring_enable_notify_since(&n->vq[n->wait_rq].ring,
                                          &n->rx_mark[n->wait_rq]);
    }
    trace_mvnet_bh(mvnet_name(n), p, r, again);
    return again;
}

static void mvnet_bh(void *opaque)
{
    MvnetDevice *n = opaque;
    bool again = false;

    n->bh_runs++;
    /* Stopped: no guest memory is touched; the run-state change resumes. */
    if (!runstate_is_running() || n->broken ||
        !(n->status & VIRTIO_CONFIG_S_DRIVER_OK) ||
        !mvnet_ctrl(n, &again)) {
        return;
    }
    for (unsigned p = 0; p < n->curr_pairs && !n->broken; p++) {
        again |= mvnet_pair_run(n, p);
    }
    if (n->broken) {
        return;
    }
    if (n->rx_waiting && n->nic) {
        /* Frames the net layer held for us: receive them now. */
        n->rx_waiting = false;
        qemu_flush_queued_packets(qemu_get_queue(n->nic));
    }
    if (again) {
        qemu_bh_schedule(n->bh);
    }
}

/* The VM runs again (after stop, loadvm, incoming migration): go on. */
static void mvnet_vm_state_change(void *opaque, bool running, RunState state)
{
    MvnetDevice *n = opaque;

    if (running && (n->status & VIRTIO_CONFIG_S_DRIVER_OK) && !n->broken) {
        qemu_bh_schedule(n->bh);
    }
}

/* Device ops */

static bool mvnet_set_host(MdevDevice *mdev, const VirtioMdevHost *host,
                           Error **errp)
{
    MvnetDevice *n = to_mvnet(mdev);

    if (n->bh) {
        qemu_bh_delete(n->bh);
        n->bh = NULL;
    }
    g_clear_pointer(&n->rx_bh, qemu_bh_delete);
    if (n->vmstate_change) {
        qemu_del_vm_change_state_handler(n->vmstate_change);
        n->vmstate_change = NULL;
    }
    if (n->nic) {
        qemu_del_nic(n->nic);
        n->nic = NULL;
        n->peer_vnet_hdr = false;
    }
    mvnet_announce_stop(n);
    qemu_announce_timer_del(&n->announce_timer, false);
    for (unsigned q = 0; q < MVNET_SLOTS; q++) {
        mdev_coal_destroy(&n->coal[q]);
    }
    g_clear_pointer(&n->tx_poll, timer_free);
    vring_dma_destroy(&n->dma);
    if (!host) {
        memset(&n->host, 0, sizeof(n->host));
        return true;
    }
    n->host = *host;
    n->bh = qemu_bh_new_guarded(mvnet_bh, n, host->guard);
    n->rx_bh = qemu_bh_new_guarded(mvnet_rx_bh, n, host->guard);
    n->vmstate_change = qemu_add_vm_change_state_handler(
        mvnet_vm_state_change, n);
    /*
     * No announce timer until mvnet_announce_start(): an instance can be
     * bound (by an -object consumer) before migration's parameters exist.
     */
    n->announce_timer.round = 0;
    for (unsigned q = 0; q < mvnet_num_slots(n); q++) {
        n->qref[q] = (MvnetQueueRef) { .n = n, .slot = q };
        if (q != MVNET_CTRL_QUEUE) {
            mdev_coal_init(&n->coal[q], mvnet_coal_timer, &n->qref[q]);
        }
    }
    mvnet_coal_adaptive(n);
    n->tx_poll = timer_new_us(QEMU_CLOCK_VIRTUAL, mvnet_tx_poll, n);
    vring_dma_init(&n->dma, host->dma_as, MVNET_SLOTS, "mvnet");
    g_free(n->name);
    n->name = g_strdup_printf("mvnet %s", mdev->uuid_str);
    for (unsigned q = 0; q < MVNET_SLOTS; q++) {
        mdev_vq_init(&n->vq[q], &n->dma, q, n->name);
    }
    n->curr_pairs = 1;
    if (!n->mac_set) {
        /* A unique locally administered address from the UUID. */
        n->conf_mac.a[0] = 0x02;
        memcpy(&n->conf_mac.a[1], &mdev->uuid.data[11], 5);
    }
    n->mac = n->conf_mac;
    return mvnet_nic_create(n, errp);
}

/*
 * The queue ops take the driver's index; a queue that the negotiated
 * layout does not have (before FEATURES_OK, a driver may touch the
 * indexes of either layout) is refused or reads as stopped.
 */
static MdevVq *mvnet_vq(MvnetDevice *n, uint16_t idx)
{
    int s = mvnet_slot(n, idx);

    if (s < 0) {
        qemu_log_mask(LOG_GUEST_ERROR, "mvnet %s: queue %u does not exist "
                      "with the negotiated features\n", mvnet_name(n), idx);
        return NULL;
    }
    return &n->vq[s];
}

static int mvnet_set_vq_address(MdevDevice *mdev, uint16_t idx, uint64_t desc,
                                uint64_t driver, uint64_t device)
{
    MdevVq *vq = mvnet_vq(to_mvnet(mdev), idx);

    if (!vq) {
        return -EINVAL;
    }
    mdev_vq_set_address(vq, desc, driver, device);
    return 0;
}

static void mvnet_set_vq_num(MdevDevice *mdev, uint16_t idx, uint32_t num)
{
    MdevVq *vq = mvnet_vq(to_mvnet(mdev), idx);

    if (vq) {
        mdev_vq_set_num(vq, num);
    }
}

/*
 * What is offered: the switched-on features, control ones only with
 * CTRL_VQ (class vhost: none of them but MQ); offloads in loopback or
 * with a netdev that takes virtio-net headers, and with what they need;
 * MQ with more than one pair.
 */
static uint64_t mvnet_offered(MvnetDevice *n)
{
    uint64_t f = n->host_features;

    if (n->max_pairs < 2) {
        f &= ~((1ULL << VIRTIO_NET_F_MQ) | (1ULL << VIRTIO_NET_F_RSS));
    }

    if (n->netdev && !n->peer_vnet_hdr) {
        f &= ~MVNET_OFFLOAD_FEATURES;
    }
    if (n->ctrl_in_frontend) {
        /* No control queue here; MQ only tells how many pairs there are */
        f &= ~((1ULL << VIRTIO_NET_F_CTRL_VQ) |
               (MVNET_CTRL_FEATURES & ~(1ULL << VIRTIO_NET_F_MQ)));
    } else if (!(f & (1ULL << VIRTIO_NET_F_CTRL_VQ))) {
        f &= ~MVNET_CTRL_FEATURES;
    }
    return mvnet_offload_offerable(f);
}

/*
 * Before the features are negotiated, every index either layout has (one
 * pair and control at 2, or max_pairs pairs and control after them).
 */
static uint16_t mvnet_get_vq_num_max(MdevDevice *mdev, uint16_t idx)
{
    MvnetDevice *n = to_mvnet(mdev);
    bool ctrl = mvnet_ctrl_offered(n);

    if (n->features) {
        return mvnet_slot(n, idx) >= 0 ? MVNET_QUEUE_MAX : 0;
    }
    if (!ctrl) {
        bool mq = mvnet_offered(n) & (1ULL << VIRTIO_NET_F_MQ);

        return idx < 2 * (mq ? n->max_pairs : 1) ? MVNET_QUEUE_MAX : 0;
    }
    return idx < mvnet_num_slots(n) ? MVNET_QUEUE_MAX : 0;
}

static void mvnet_kick_vq(MdevDevice *mdev, uint16_t idx)
{
    MvnetDevice *n = to_mvnet(mdev);
    int s = mvnet_slot(n, idx);

    if (s >= 0) {
        n->stats[s].kicks++;
    }
    if (!n->broken) {
        qemu_bh_schedule(n->bh);
    }
}

/*
 * With NOTIFICATION_DATA a kick says where the driver's ring ends: one
 * that announces nothing past what the device took runs nothing.
 */
static void mvnet_kick_vq_with_data(MdevDevice *mdev, uint32_t data)
{
    MvnetDevice *n = to_mvnet(mdev);
    uint16_t idx = data & 0xffff;
    int s = mvnet_slot(n, idx);

    if (mvnet_has(n, VIRTIO_F_NOTIFICATION_DATA) && s >= 0 &&
        n->vq[s].ready && !vring_kick_data_new(&n->vq[s].ring, data >> 16)) {
        n->stats[s].kicks++;
        trace_mvnet_kick_nothing_new(mvnet_name(n), idx, data >> 16);
        return;
    }
    mvnet_kick_vq(mdev, idx);
}

static void mvnet_set_vq_cb(MdevDevice *mdev, uint16_t idx,
                            VirtioMdevCallback *cb, void *opaque)
{
    MvnetDevice *n = to_mvnet(mdev);

    if (idx < mvnet_num_slots(n)) {
        n->vq_cb[idx].cb = cb;
        n->vq_cb[idx].opaque = opaque;
        mvnet_map_callbacks(n);
    }
}

/* The ring uses the negotiated features and the driver's size. */
static int mvnet_set_vq_ready(MdevDevice *mdev, uint16_t idx, bool ready)
{
    MvnetDevice *n = to_mvnet(mdev);
    MdevVq *vq = mvnet_vq(n, idx);

    return vq ? mdev_vq_set_ready(vq, ready, n->features) : -EINVAL;
}

static bool mvnet_get_vq_ready(MdevDevice *mdev, uint16_t idx)
{
    MvnetDevice *n = to_mvnet(mdev);
    int s = mvnet_slot(n, idx);

    return s >= 0 && n->vq[s].ready;
}

static int mvnet_set_vq_state(MdevDevice *mdev, uint16_t idx,
                              const VirtioMdevVqState *state)
{
    MdevVq *vq = mvnet_vq(to_mvnet(mdev), idx);

    return vq ? mdev_vq_set_state(vq, state) : -EINVAL;
}

static int mvnet_get_vq_state(MdevDevice *mdev, uint16_t idx,
                              VirtioMdevVqState *state)
{
    MdevVq *vq = mvnet_vq(to_mvnet(mdev), idx);

    if (!vq) {
        return -EINVAL;
    }
    mdev_vq_get_state(vq, state);
    return 0;
}

static uint32_t mvnet_get_vq_align(MdevDevice *mdev)
{
    return 4096;
}

static uint64_t mvnet_get_features(MdevDevice *mdev)
{
    return mvnet_offered(to_mvnet(mdev));
}

static int mvnet_set_features(MdevDevice *mdev, uint64_t features)
{
    MvnetDevice *n = to_mvnet(mdev);
    const char *why;

    if (features & ~mvnet_offered(n)) {
        qemu_log_mask(LOG_GUEST_ERROR, "mvnet %s: driver features 0x%" PRIx64
                      " include features not offered (0x%" PRIx64 ")\n",
                      mvnet_name(n), features,
                      features & ~mvnet_offered(n));
        return -EINVAL;
    }
    if ((features & MVNET_CTRL_FEATURES) && !n->ctrl_in_frontend &&
        !(features & (1ULL << VIRTIO_NET_F_CTRL_VQ))) {
        qemu_log_mask(LOG_GUEST_ERROR, "mvnet %s: driver features 0x%" PRIx64
                      " need CTRL_VQ\n", mvnet_name(n), features);
        return -EINVAL;
    }
    why = mvnet_offload_check_features(features);
    if (why) {
        qemu_log_mask(LOG_GUEST_ERROR, "mvnet %s: driver features 0x%" PRIx64
                      ": %s\n", mvnet_name(n), features, why);
        return -EINVAL;
    }
    n->features = features;
    n->guest_offloads = features & MVNET_GUEST_OFFLOADS;
    if (n->ctrl_in_frontend) {
        /* The frontend runs the pairs it uses by enabling their queues */
        n->curr_pairs = mvnet_pairs(n);
    }
    mvnet_map_callbacks(n);
    mvnet_peer_offloads(n);
    return 0;
}

static void mvnet_set_config_cb(MdevDevice *mdev, VirtioMdevCallback *cb,
                                void *opaque)
{
    MvnetDevice *n = to_mvnet(mdev);

    n->config_cb = cb;
    n->config_opaque = opaque;
}

static uint32_t mvnet_get_device_id(MdevDevice *mdev)
{
    return VIRTIO_ID_NET;
}

static uint32_t mvnet_get_vendor_id(MdevDevice *mdev)
{
    return VIRTIO_MDEV_VENDOR_ID;
}

static uint8_t mvnet_get_status(MdevDevice *mdev)
{
    return to_mvnet(mdev)->status;
}

static void mvnet_reset(MdevDevice *mdev)
{
    MvnetDevice *n = to_mvnet(mdev);

    if (n->bh) {
        qemu_bh_cancel(n->bh);
    }
    for (unsigned q = 0; q < MVNET_SLOTS; q++) {
        mdev_vq_reset(&n->vq[q]);
        mdev_coal_reset(&n->coal[q]);
        n->tx_poll_idle[q] = 0;
    }
    n->status = 0;
    n->features = 0;
    n->guest_offloads = 0;
    n->curr_pairs = 1;
    mvnet_rss_reset(&n->rss);
    n->rx_signal = 0;
    mvnet_map_callbacks(n);
    mvnet_peer_offloads(n);
    n->broken = false;
    mvnet_announce_stop(n);
    if (n->tx_poll) {
        timer_del(n->tx_poll);
    }
    mvnet_rx_filter_reset(&n->rxf);
    /* A MAC the driver set (MAC_ADDR_SET, legacy config) does not outlive it */
    n->mac = n->conf_mac;
}

static void mvnet_set_status(MdevDevice *mdev, uint8_t status)
{
    MvnetDevice *n = to_mvnet(mdev);

    if (status == 0) {
        mvnet_reset(mdev);
        return;
    }
    /* NEEDS_RESET is the device's to set; keep it until reset. */
    n->status = status | (n->status & VIRTIO_CONFIG_S_NEEDS_RESET);
    if ((status & VIRTIO_CONFIG_S_DRIVER_OK) && n->bh) {
        qemu_bh_schedule(n->bh);
    }
}

/* The RSS fields only when RSS or the hash report is offered (5.1.4) */
static uint32_t mvnet_get_config_size(MdevDevice *mdev)
{
    return mvnet_offered(to_mvnet(mdev)) &
           ((1ULL << VIRTIO_NET_F_RSS) | (1ULL << VIRTIO_NET_F_HASH_REPORT))
           ? MVNET_CONFIG_SIZE_RSS : MVNET_CONFIG_SIZE;
}

static void mvnet_fill_config(MvnetDevice *n, struct virtio_net_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    memcpy(cfg->mac, n->mac.a, ETH_ALEN);
    stw_le_p(&cfg->status, (n->link_up ? VIRTIO_NET_S_LINK_UP : 0) |
                           (n->announce ? VIRTIO_NET_S_ANNOUNCE : 0));
    stw_le_p(&cfg->max_virtqueue_pairs, n->max_pairs);
    stw_le_p(&cfg->mtu, n->mtu);
    cfg->rss_max_key_size = MVNET_RSS_KEY_MAX;
    stw_le_p(&cfg->rss_max_indirection_table_length, MVNET_RSS_TABLE_MAX);
    stl_le_p(&cfg->supported_hash_types, MVNET_RSS_HASH_TYPES);
}

static void mvnet_get_config(MdevDevice *mdev, uint32_t offset, void *buf,
                             uint32_t len)
{
    struct virtio_net_config cfg;

    mvnet_fill_config(to_mvnet(mdev), &cfg);
    memcpy(buf, (uint8_t *)&cfg + offset, len);
}

static void mvnet_set_config(MdevDevice *mdev, uint32_t offset,
                             const void *buf, uint32_t len)
{
    MvnetDevice *n = to_mvnet(mdev);

    /*
     * A legacy driver (features negotiated, without VERSION_1) may write
     * the MAC; everything else, and everything for a modern driver, is
     * read-only.
     */
    if (offset + len <= ETH_ALEN && n->features &&
        !(n->features & (1ULL << VIRTIO_F_VERSION_1))) {
        memcpy(&n->mac.a[offset], buf, len);
        return;
    }
    qemu_log_mask(LOG_GUEST_ERROR, "mvnet %s: write of read-only config "
                  "(offset %u, size %u)\n", mvnet_name(n), offset, len);
}

static uint32_t mvnet_get_generation(MdevDevice *mdev)
{
    return to_mvnet(mdev)->generation;
}

/* Migration */

static const VMStateDescription vmstate_mvnet_stats = {
    .name = "mvnet/stats",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT64(packets, MvnetStats),
        VMSTATE_UINT64(bytes, MvnetStats),
        VMSTATE_UINT64(drops, MvnetStats),
        VMSTATE_UINT64(errors, MvnetStats),
        VMSTATE_UINT64(kicks, MvnetStats),
        VMSTATE_UINT64(interrupts, MvnetStats),
        VMSTATE_END_OF_LIST()
    },
};

static int mvnet_pre_load(void *opaque)
{
    MvnetDevice *n = opaque;

    n->guest_offloads = MVNET_OFFLOADS_UNSET;
    n->curr_pairs = 1;              /* a source with one pair sends no more */
    mvnet_rss_reset(&n->rss);       /* nor one without RSS */
    n->mig_conf.max_pairs = 1;      /* mvnet/config version 1 */
    return 0;
}

static int mvnet_pre_save(void *opaque)
{
    MvnetDevice *n = opaque;

    for (unsigned q = 0; q < mvnet_num_slots(n); q++) {
        mdev_vq_pre_save(&n->vq[q]);
    }
    return 0;
}

/* Rebuild the rings from the negotiated state, then resume the work. */
static int mvnet_post_load(void *opaque, int version_id)
{
    MvnetDevice *n = opaque;

    if (n->guest_offloads == MVNET_OFFLOADS_UNSET) {
        n->guest_offloads = n->features & MVNET_GUEST_OFFLOADS;
    }
    if ((n->features & MVNET_OFFLOAD_FEATURES) && n->netdev &&
        !n->peer_vnet_hdr) {
        error_report("%s: the guest uses offloads, but netdev '%s' takes no "
                     "virtio-net headers (tap with vnet_hdr=on does)",
                     n->name, n->netdev);
        mvnet_reset(MDEV_DEVICE(n));
        return -EINVAL;
    }
    if (!mvnet_rx_filter_check(&n->rxf, n->name) ||
        !mdev_switch_check_negotiated(n->name, n->features,
                                      mvnet_offered(n))) {
        mvnet_reset(MDEV_DEVICE(n));
        return -EINVAL;
    }
    if ((n->rss.enabled || n->rss.hash_types) &&
        (!mvnet_rss_valid(&n->rss, mvnet_pairs(n)) ||
         (n->rss.enabled && !mvnet_has(n, VIRTIO_NET_F_RSS)) ||
         !(n->features & ((1ULL << VIRTIO_NET_F_RSS) |
                          (1ULL << VIRTIO_NET_F_HASH_REPORT))))) {
        error_report("%s: the RSS configuration in the migration stream is "
                     "not valid here", n->name);
        mvnet_reset(MDEV_DEVICE(n));
        return -EINVAL;
    }
    if (n->curr_pairs < 1 || n->curr_pairs > mvnet_pairs(n)) {
        error_report("%s: %u queue pairs in use in the migration stream, "
                     "1..%u here", n->name, n->curr_pairs, mvnet_pairs(n));
        mvnet_reset(MDEV_DEVICE(n));
        return -EINVAL;
    }
    for (unsigned q = mvnet_num_slots(n); q < MVNET_SLOTS; q++) {
        if (n->vq[q].ready) {
            error_report("%s: the migration stream has queues beyond "
                         "property 'queues' (%u) in use", n->name,
                         n->max_pairs);
            mvnet_reset(MDEV_DEVICE(n));
            return -EINVAL;
        }
    }
    mvnet_map_callbacks(n);
    for (unsigned q = 0; q < mvnet_num_slots(n); q++) {
        if (mdev_vq_post_load(&n->vq[q], n->features) < 0) {
            mvnet_reset(MDEV_DEVICE(n));    /* nothing half-loaded stays */
            return -EINVAL;
        }
    }
    /*
     * Work that was waiting (e.g. for RX buffers) resumes when the VM runs
     * (mvnet_vm_state_change), not here: guest memory may not be final.
     * The announce rounds run on the virtual clock, so also only then.
     */
    mvnet_peer_offloads(n);
    mvnet_announce_start(n);
    return 0;
}

/*
 * The source's configuration travels in a subsection, so that a
 * destination configured differently refuses the stream naming the
 * property, instead of running the guest on a device it did not negotiate
 * with.  A destination without an explicit 'mac' takes the source's.
 */
static int mvnet_conf_pre_save(void *opaque)
{
    MvnetDevice *n = opaque;

    n->mig_conf.host_features = n->host_features;
    n->mig_conf.mac = n->conf_mac;
    n->mig_conf.mtu = n->mtu;
    n->mig_conf.max_pairs = n->max_pairs;
    return 0;
}

static int mvnet_conf_post_load(void *opaque, int version_id)
{
    MvnetDevice *n = opaque;
    bool ok = mdev_switch_check_migrated(n->name, mvnet_switches,
                                         ARRAY_SIZE(mvnet_switches),
                                         n->mig_conf.host_features,
                                         n->host_features);

    if (n->mig_conf.max_pairs != n->max_pairs) {
        error_report("%s: property 'queues' is %u on the migration source "
                     "and %u here", n->name, n->mig_conf.max_pairs,
                     n->max_pairs);
        ok = false;
    }
    if (n->mig_conf.mtu != n->mtu) {
        error_report("%s: property 'mtu' is %u on the migration source and "
                     "%u here", n->name, n->mig_conf.mtu, n->mtu);
        ok = false;
    }
    if (!n->mac_set) {
        n->conf_mac = n->mig_conf.mac;
    } else if (memcmp(&n->mig_conf.mac, &n->conf_mac, sizeof(MACAddr))) {
        error_report("%s: property 'mac' is " MAC_FMT " on the migration "
                     "source and " MAC_FMT " here", n->name,
                     MAC_ARG(n->mig_conf.mac.a), MAC_ARG(n->conf_mac.a));
        ok = false;
    }
    if (!ok) {
        mvnet_reset(MDEV_DEVICE(n));
        return -EINVAL;
    }
    return 0;
}

static bool mvnet_conf_needed(void *opaque)
{
    return true;
}

static const VMStateDescription vmstate_mvnet_conf = {
    .name = "mvnet/config",
    .version_id = 2,
    .minimum_version_id = 1,
    .needed = mvnet_conf_needed,
    .pre_save = mvnet_conf_pre_save,
    .post_load = mvnet_conf_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT64(mig_conf.host_features, MvnetDevice),
        VMSTATE_BUFFER(mig_conf.mac.a, MvnetDevice),
        VMSTATE_UINT16(mig_conf.mtu, MvnetDevice),
        VMSTATE_UINT16_V(mig_conf.max_pairs, MvnetDevice, 2),
        VMSTATE_END_OF_LIST()
    },
};

/* The control queue's receive filter (mvnet-rx-filter.c). */
static const VMStateDescription vmstate_mvnet_rxf = {
    .name = "mvnet/rxf",
    .version_id = 1,
    .minimum_version_id = 1,
    .needed = mvnet_conf_needed,
    .fields = (const VMStateField[]) {
        VMSTATE_STRUCT(rxf, MvnetDevice, 1, vmstate_mvnet_rx_filter,
                       MvnetRxFilter),
        VMSTATE_END_OF_LIST()
    },
};

static bool mvnet_coal_needed(void *opaque)
{
    MvnetDevice *n = opaque;

    for (unsigned q = 0; q < MVNET_NUM_QUEUES; q++) {
        if (n->coal[q].driver_set || n->coal[q].pending) {
            return true;
        }
    }
    return false;
}

/* Notification coalescing: the driver's parameters (NOTF_COAL), held ones */
static const VMStateDescription vmstate_mvnet_coal = {
    .name = "mvnet/coal",
    .version_id = 1,
    .minimum_version_id = 1,
    .needed = mvnet_coal_needed,
    .fields = (const VMStateField[]) {
        VMSTATE_STRUCT_SUB_ARRAY(coal, MvnetDevice, 0, 2, 1,
                                 vmstate_mdev_coal, MdevCoal),
        VMSTATE_END_OF_LIST()
    },
};

static bool mvnet_offloads_needed(void *opaque)
{
    MvnetDevice *n = opaque;

    return n->guest_offloads != (n->features & MVNET_GUEST_OFFLOADS);
}

/* After the negotiated features (the parent's fields): only those. */
static int mvnet_offloads_post_load(void *opaque, int version_id)
{
    MvnetDevice *n = opaque;

    if (!mvnet_offload_allowed(n->guest_offloads, n->features)) {
        error_report("%s: guest offloads 0x%" PRIx64 " in the migration "
                     "stream were not negotiated", n->name,
                     n->guest_offloads);
        return -EINVAL;
    }
    return 0;
}

/* The guest offloads the driver turned off (GUEST_OFFLOADS_SET). */
static const VMStateDescription vmstate_mvnet_offloads = {
    .name = "mvnet/offloads",
    .version_id = 1,
    .minimum_version_id = 1,
    .needed = mvnet_offloads_needed,
    .post_load = mvnet_offloads_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT64(guest_offloads, MvnetDevice),
        VMSTATE_END_OF_LIST()
    },
};

static bool mvnet_mq_needed(void *opaque)
{
    MvnetDevice *n = opaque;

    return n->max_pairs > 1;
}

/* The pairs after the first: their queues, counters and coalescing. */
static const VMStateDescription vmstate_mvnet_mq = {
    .name = "mvnet/mq",
    .version_id = 1,
    .minimum_version_id = 1,
    .needed = mvnet_mq_needed,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT16(curr_pairs, MvnetDevice),
        VMSTATE_STRUCT_SUB_ARRAY(vq, MvnetDevice, MVNET_NUM_QUEUES,
                                 MVNET_SLOTS - MVNET_NUM_QUEUES, 1,
                                 vmstate_mdev_vq, MdevVq),
        VMSTATE_STRUCT_SUB_ARRAY(stats, MvnetDevice, MVNET_NUM_QUEUES,
                                 MVNET_SLOTS - MVNET_NUM_QUEUES, 1,
                                 vmstate_mvnet_stats, MvnetStats),
        VMSTATE_STRUCT_SUB_ARRAY(coal, MvnetDevice, MVNET_NUM_QUEUES,
                                 MVNET_SLOTS - MVNET_NUM_QUEUES, 1,
                                 vmstate_mdev_coal, MdevCoal),
        VMSTATE_END_OF_LIST()
    },
};

static bool mvnet_rss_needed(void *opaque)
{
    MvnetDevice *n = opaque;

    return n->rss.enabled || n->rss.hash_types;
}

/*
 * Receive steering and hash report (VIRTIO_NET_CTRL_MQ_RSS_CONFIG or
 * _HASH_CONFIG), checked by post_load
 */
static const VMStateDescription vmstate_mvnet_rss_sub = {
    .name = "mvnet/rss",
    .version_id = 1,
    .minimum_version_id = 1,
    .needed = mvnet_rss_needed,
    .fields = (const VMStateField[]) {
        VMSTATE_STRUCT(rss, MvnetDevice, 1, vmstate_mvnet_rss, MvnetRss),
        VMSTATE_END_OF_LIST()
    },
};

static const VMStateDescription vmstate_mvnet = {
    .name = "mvnet",
    .version_id = 3,
    .minimum_version_id = 3,
    .pre_load = mvnet_pre_load,
    .pre_save = mvnet_pre_save,
    .post_load = mvnet_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT8(status, MvnetDevice),
        VMSTATE_UINT64(features, MvnetDevice),
        VMSTATE_UINT32(generation, MvnetDevice),
        VMSTATE_BOOL(link_up, MvnetDevice),
        VMSTATE_BOOL(broken, MvnetDevice),
        VMSTATE_BUFFER(mac.a, MvnetDevice),
        VMSTATE_STRUCT_SUB_ARRAY(vq, MvnetDevice, 0, MVNET_NUM_QUEUES, 3,
                                 vmstate_mdev_vq, MdevVq),
        VMSTATE_STRUCT_SUB_ARRAY(stats, MvnetDevice, 0, MVNET_NUM_QUEUES, 3,
                                 vmstate_mvnet_stats, MvnetStats),
        VMSTATE_END_OF_LIST()
    },
    .subsections = (const VMStateDescription * const []) {
        &vmstate_mvnet_conf,
        &vmstate_mvnet_rxf,
        &vmstate_mvnet_coal,
        &vmstate_mvnet_offloads,
        &vmstate_mvnet_mq,
        &vmstate_mvnet_rss_sub,
        NULL
    },
};

static const VirtioMdevOps mvnet_virtio_ops = {
    .set_host = mvnet_set_host,
    .set_vq_address = mvnet_set_vq_address,
    .set_vq_num = mvnet_set_vq_num,
    .get_vq_num_max = mvnet_get_vq_num_max,
    .kick_vq = mvnet_kick_vq,
    .kick_vq_with_data = mvnet_kick_vq_with_data,
    .set_vq_cb = mvnet_set_vq_cb,
    .set_vq_ready = mvnet_set_vq_ready,
    .get_vq_ready = mvnet_get_vq_ready,
    .set_vq_state = mvnet_set_vq_state,
    .get_vq_state = mvnet_get_vq_state,
    .get_vq_align = mvnet_get_vq_align,
    .get_features = mvnet_get_features,
    .set_features = mvnet_set_features,
    .set_config_cb = mvnet_set_config_cb,
    .get_device_id = mvnet_get_device_id,
    .get_vendor_id = mvnet_get_vendor_id,
    .get_status = mvnet_get_status,
    .set_status = mvnet_set_status,
    .reset = mvnet_reset,
    .get_config_size = mvnet_get_config_size,
    .get_config = mvnet_get_config,
    .set_config = mvnet_set_config,
    .get_generation = mvnet_get_generation,
    .vmsd = &vmstate_mvnet,
};

/* Instance properties */

/*
 * What the transport sizes at bind time (queues, their interrupts, the
 * offered features, config) cannot change once the instance is bound.
 */
static bool mvnet_check_unbound(MvnetDevice *n, const char *name,
                                Error **errp)
{
    if (vring_dma_active(&n->dma)) {
        error_setg(errp, "property '%s' can only be set before the instance "
                   "is bound to a transport", name);
        return false;
    }
    return true;
}

static char *mvnet_get_mac(Object *obj, Error **errp)
{
    MvnetDevice *n = MVNET_DEVICE(obj);

    return qemu_mac_strdup_printf(n->conf_mac.a);
}

static void mvnet_set_mac(Object *obj, const char *str, Error **errp)
{
    MvnetDevice *n = MVNET_DEVICE(obj);
    MACAddr mac;
    int end = 0;

    if (sscanf(str, "%2hhx:%2hhx:%2hhx:%2hhx:%2hhx:%2hhx%n", &mac.a[0],
               &mac.a[1], &mac.a[2], &mac.a[3], &mac.a[4], &mac.a[5],
               &end) != 6 || str[end] || strlen(str) != 17) {
        error_setg(errp, "property 'mac': '%s' is not a MAC address "
                   "(xx:xx:xx:xx:xx:xx)", str);
        return;
    }
    if (!mvnet_check_unbound(n, "mac", errp)) {
        return;
    }
    n->conf_mac = mac;
    n->mac_set = true;
}

static void mvnet_get_mtu(Object *obj, Visitor *v, const char *name,
                          void *opaque, Error **errp)
{
    visit_type_uint16(v, name, &MVNET_DEVICE(obj)->mtu, errp);
}

static void mvnet_set_mtu(Object *obj, Visitor *v, const char *name,
                          void *opaque, Error **errp)
{
    uint16_t mtu;

    if (!visit_type_uint16(v, name, &mtu, errp)) {
        return;
    }
    if (mtu < 68) {
        error_setg(errp, "property 'mtu': %u is not in 68..65535", mtu);
        return;
    }
    if (!mvnet_check_unbound(MVNET_DEVICE(obj), name, errp)) {
        return;
    }
    MVNET_DEVICE(obj)->mtu = mtu;
}

static void mvnet_get_queues(Object *obj, Visitor *v, const char *name,
                             void *opaque, Error **errp)
{
    visit_type_uint16(v, name, &MVNET_DEVICE(obj)->max_pairs, errp);
}

static void mvnet_set_queues(Object *obj, Visitor *v, const char *name,
                             void *opaque, Error **errp)
{
    uint16_t pairs;

    if (!visit_type_uint16(v, name, &pairs, errp)) {
        return;
    }
    if (pairs < 1 || pairs > MVNET_MAX_PAIRS) {
        error_setg(errp, "property 'queues': %u is not in 1..%u", pairs,
                   MVNET_MAX_PAIRS);
        return;
    }
    if (!mvnet_check_unbound(MVNET_DEVICE(obj), name, errp)) {
        return;
    }
    MVNET_DEVICE(obj)->max_pairs = pairs;
}

static void mvnet_get_host_features(Object *obj, Visitor *v, const char *name,
                                    void *opaque, Error **errp)
{
    uint64_t offered = mvnet_offered(MVNET_DEVICE(obj));

    visit_type_uint64(v, name, &offered, errp);
}

static void mvnet_set_host_features(Object *obj, Visitor *v, const char *name,
                                    void *opaque, Error **errp)
{
    MvnetDevice *n = MVNET_DEVICE(obj);
    uint64_t val;

    if (!visit_type_uint64(v, name, &val, errp)) {
        return;
    }
    if (val & ~MVNET_FEATURES) {
        error_setg(errp, "property 'host-features': 0x%" PRIx64 " has bits "
                   "mvnet does not implement (allowed: 0x%" PRIx64 ")", val,
                   (uint64_t)MVNET_FEATURES);
        return;
    }
    if (!mvnet_check_unbound(n, name, errp)) {
        return;
    }
    n->host_features = val;
}

static void mvnet_get_switch(Object *obj, Visitor *v, const char *name,
                             void *opaque, Error **errp)
{
    const MdevSwitch *sw = opaque;
    bool on = MVNET_DEVICE(obj)->host_features & (1ULL << sw->bit);

    visit_type_bool(v, name, &on, errp);
}

static void mvnet_set_switch(Object *obj, Visitor *v, const char *name,
                             void *opaque, Error **errp)
{
    const MdevSwitch *sw = opaque;
    MvnetDevice *n = MVNET_DEVICE(obj);
    bool on;

    if (!visit_type_bool(v, name, &on, errp) ||
        !mvnet_check_unbound(n, name, errp)) {
        return;
    }
    if (on) {
        n->host_features |= 1ULL << sw->bit;
    } else {
        n->host_features &= ~(1ULL << sw->bit);
    }
}

static bool mvnet_get_adaptive_coal(Object *obj, Error **errp)
{
    return MVNET_DEVICE(obj)->adaptive_coal;
}

static void mvnet_set_adaptive_coal(Object *obj, bool on, Error **errp)
{
    MvnetDevice *n = MVNET_DEVICE(obj);

    n->adaptive_coal = on;
    mvnet_coal_adaptive(n);
}

static bool mvnet_get_link(Object *obj, Error **errp)
{
    return MVNET_DEVICE(obj)->link_up;
}

/* The same as set_link on our NIC. */
static void mvnet_set_link(Object *obj, bool up, Error **errp)
{
    MvnetDevice *n = MVNET_DEVICE(obj);

    if (n->nic) {
        qemu_get_queue(n->nic)->link_down = !up;
    }
    mvnet_link_changed(n, up);
}

static char *mvnet_get_netdev(Object *obj, Error **errp)
{
    return g_strdup(MVNET_DEVICE(obj)->netdev ?: "");
}

static void mvnet_set_netdev(Object *obj, const char *id, Error **errp)
{
    MvnetDevice *n = MVNET_DEVICE(obj);

    if (!mvnet_check_unbound(n, "netdev", errp)) {
        return;
    }
    g_free(n->netdev);
    n->netdev = *id ? g_strdup(id) : NULL;
}

static void mvnet_get_stats(Object *obj, Visitor *v, const char *name,
                            void *opaque, Error **errp)
{
    MvnetStats s = MVNET_DEVICE(obj)->stats[(uintptr_t)opaque];

    if (!visit_start_struct(v, name, NULL, 0, errp)) {
        return;
    }
    if (visit_type_uint64(v, "packets", &s.packets, errp) &&
        visit_type_uint64(v, "bytes", &s.bytes, errp) &&
        visit_type_uint64(v, "drops", &s.drops, errp) &&
        visit_type_uint64(v, "errors", &s.errors, errp) &&
        visit_type_uint64(v, "kicks", &s.kicks, errp) &&
        visit_type_uint64(v, "interrupts", &s.interrupts, errp)) {
        visit_check_struct(v, errp);
    }
    visit_end_struct(v, NULL);
}

static void mvnet_get_bh_runs(Object *obj, Visitor *v, const char *name,
                              void *opaque, Error **errp)
{
    visit_type_uint64(v, name, &MVNET_DEVICE(obj)->bh_runs, errp);
}

/*
 * Every queue the instance has, in the driver's order (rx, tx, rx1, tx1,
 * ..., ctrl), numbered as with all pairs (VIRTIO_NET_F_MQ).
 */
static void mvnet_query_stats(MdevDevice *mdev, MdevQueueStatsList **stats)
{
    MvnetDevice *n = to_mvnet(mdev);

    for (unsigned idx = 0; idx < mvnet_num_slots(n); idx++) {
        unsigned q = idx == 2 * n->max_pairs ? MVNET_CTRL_QUEUE
                     : idx & 1 ? mvnet_txq(idx / 2) : mvnet_rxq(idx / 2);
        MdevQueueStats *s;
        MvnetStats *st = &n->stats[q];

        if (q == MVNET_CTRL_QUEUE && !mvnet_ctrl_offered(n)) {
            continue;
        }
        s = g_new0(MdevQueueStats, 1);
        s->queue = idx;
        if (q == MVNET_CTRL_QUEUE) {
            s->name = g_strdup("ctrl");
        } else if (q < MVNET_CTRL_QUEUE) {
            s->name = g_strdup(q == MVNET_RX_QUEUE ? "rx" : "tx");
        } else {
            s->name = g_strdup_printf("%s%u", idx & 1 ? "tx" : "rx",
                                      idx / 2);
        }
        s->packets = st->packets;
        s->bytes = st->bytes;
        s->drops = st->drops;
        s->errors = st->errors;
        s->kicks = st->kicks;
        s->interrupts = st->interrupts;
        QAPI_LIST_APPEND(stats, s);
    }
}

static void mvnet_device_init(Object *obj)
{
    MvnetDevice *n = MVNET_DEVICE(obj);

    n->mtu = 1500;
    n->max_pairs = 1;
    n->curr_pairs = 1;
    n->link_up = true;
    n->adaptive_coal = true;
    n->host_features = MVNET_FEATURES;
    vring_chain_init(&n->tx_chain, MVNET_QUEUE_MAX);
    vring_chain_init(&n->ctrl_chain, MVNET_QUEUE_MAX);
    n->rx_chains = g_new0(VringChain, MVNET_QUEUE_MAX);
    mvnet_rx_chains_reserve(n, MVNET_MAX_RX_CHAINS);
    n->tx_frame = g_malloc(MVNET_MAX_FRAME);
    n->seg_frame = g_malloc(MVNET_MAX_FRAME);
    mvnet_rx_filter_reset(&n->rxf);
    mvnet_rss_reset(&n->rss);
}

static void mvnet_device_finalize(Object *obj)
{
    MvnetDevice *n = MVNET_DEVICE(obj);

    if (n->bh) {
        qemu_bh_delete(n->bh);
    }
    g_clear_pointer(&n->rx_bh, qemu_bh_delete);
    if (n->vmstate_change) {
        qemu_del_vm_change_state_handler(n->vmstate_change);
    }
    qemu_announce_timer_del(&n->announce_timer, false);
    for (unsigned q = 0; q < MVNET_SLOTS; q++) {
        mdev_coal_destroy(&n->coal[q]);
    }
    g_clear_pointer(&n->tx_poll, timer_free);
    /*
     * A NIC still here means QEMU is exiting: unbinding (device_del) took
     * it otherwise.  net_cleanup() has then cleaned up its peer and, as for
     * every device model's NIC, expects it to stay in the net layer's list
     * (qemu_del_nic() would clean the peer up twice); our instance is only
     * finalized because its parent is a user-creatable object.
     */
    vring_dma_destroy(&n->dma);
    g_free(n->name);
    g_free(n->netdev);
    g_free(n->tx_frame);
    g_free(n->seg_frame);
    vring_chain_free(&n->tx_chain);
    vring_chain_free(&n->ctrl_chain);
    for (unsigned i = 0; i < n->rx_chains_n; i++) {
        vring_chain_free(&n->rx_chains[i]);
    }
    g_free(n->rx_chains);
}

static void mvnet_device_class_init(ObjectClass *oc, void *data)
{
    MDEV_DEVICE_CLASS(oc)->query_stats = mvnet_query_stats;
    object_class_property_add_str(oc, "mac", mvnet_get_mac, mvnet_set_mac);
    object_class_property_add(oc, "mtu", "uint16", mvnet_get_mtu,
                              mvnet_set_mtu, NULL, NULL);
    object_class_property_add(oc, "queues", "uint16", mvnet_get_queues,
                              mvnet_set_queues, NULL, NULL);
    object_class_property_set_description(oc, "queues",
        "Queue pairs offered with VIRTIO_NET_F_MQ (1..8; default: 1, no MQ)");
    object_class_property_add_bool(oc, "link", mvnet_get_link,
                                   mvnet_set_link);
    object_class_property_set_description(oc, "link",
        "Link state, as set_link on the instance's NIC");
    object_class_property_add_bool(oc, "adaptive-coal",
                                   mvnet_get_adaptive_coal,
                                   mvnet_set_adaptive_coal);
    object_class_property_set_description(oc, "adaptive-coal",
        "Moderate interrupts where that batches frames, until the driver "
        "sets coalescing (default: on)");
    object_class_property_add_str(oc, "netdev", mvnet_get_netdev,
                                  mvnet_set_netdev);
    object_class_property_set_description(oc, "netdev",
        "Network backend (-netdev id) that transmitted frames go to and "
        "received frames come from (default: none, a loopback)");
    object_class_property_add(oc, "host-features", "uint64",
                              mvnet_get_host_features,
                              mvnet_set_host_features, NULL, NULL);
    object_class_property_set_description(oc, "host-features",
        "Virtio features offered to the driver (a subset of what mvnet "
        "implements)");
    for (unsigned i = 0; i < ARRAY_SIZE(mvnet_switches); i++) {
        object_class_property_add(oc, mvnet_switches[i].name, "bool",
                                  mvnet_get_switch, mvnet_set_switch, NULL,
                                  (void *)&mvnet_switches[i]);
        object_class_property_set_description(oc, mvnet_switches[i].name,
                                              mvnet_switches[i].description);
    }
    object_class_property_add(oc, "bh-runs", "uint64", mvnet_get_bh_runs,
                              NULL, NULL, NULL);
    object_class_property_set_description(oc, "bh-runs",
        "Runs of the datapath bottom half (read-only)");
    object_class_property_add(oc, "rx-stats", "MvnetStats", mvnet_get_stats,
                              NULL, NULL, (void *)MVNET_RX_QUEUE);
    object_class_property_add(oc, "tx-stats", "MvnetStats", mvnet_get_stats,
                              NULL, NULL, (void *)MVNET_TX_QUEUE);
}

/* The parent */

static const MdevType mvnet_types[] = {
    {
        .group = "virtio",
        .name = "mvnet",
        .description = "virtio-net: a loopback, or a NIC on a netdev",
        .device_api = "virtio-mdev",
        .class_id = MDEV_CLASS_VIRTIO,
    },
    {
        .group = "vhost",
        .name = "mvnet-vhost",
        .description = "virtio-net for a vhost consumer: a loopback, "
                       "or a NIC on a netdev",
        .device_api = "vhost-mdev",
        .class_id = MDEV_CLASS_VHOST,
    },
    { }
};

static MdevDevice *mvnet_create(MdevParent *parent, const MdevType *type,
                                Error **errp)
{
    MdevDevice *mdev = MDEV_DEVICE(object_new(TYPE_MVNET_DEVICE));

    /*
     * Class vhost has the same device ops as class virtio (as vhost-vdpa
     * and virtio-vdpa share vdpa_config_ops): only the consumer differs.
     * A vhost frontend keeps the control path itself (the control queue,
     * announcements, receive filters and the pairs in use are its own, as
     * with any vhost-user NIC): the instance offers the datapath only,
     * with MQ (queues=N) saying how many pairs it has, all of them on.
     */
    if (type->class_id == MDEV_CLASS_VHOST) {
        MVNET_DEVICE(mdev)->ctrl_in_frontend = true;
    }
    mdev_set_class(mdev, type->class_id, &mvnet_virtio_ops);
    return mdev;
}

static void mvnet_parent_class_init(ObjectClass *oc, void *data)
{
    MdevParentClass *pc = MDEV_PARENT_CLASS(oc);

    pc->kind = "mvnet";
    pc->types = mvnet_types;
    pc->create = mvnet_create;
}

static const TypeInfo mvnet_types_info[] = {
    {
        .name = TYPE_MVNET_PARENT,
        .parent = TYPE_MDEV_PARENT,
        .instance_size = sizeof(MvnetParent),
        .class_init = mvnet_parent_class_init,
    },
    {
        .name = TYPE_MVNET_DEVICE,
        .parent = TYPE_MDEV_DEVICE,
        .instance_size = sizeof(MvnetDevice),
        .instance_init = mvnet_device_init,
        .instance_finalize = mvnet_device_finalize,
        .class_init = mvnet_device_class_init,
    },
};

/* -device virtio-mdev-net: an mvnet-virtio instance of "mvnet-default" */
static const VirtioMdevProp mvnet_form_props[] = {
    VIRTIO_MDEV_PROP_STRING("mac", "MAC address (default: a locally "
                            "administered one derived from the UUID)"),
    VIRTIO_MDEV_PROP_STRING("netdev", "network backend (-netdev id); "
                            "without it, a loopback"),
    VIRTIO_MDEV_PROP_UINT_DEFAULT("mtu", VIRTIO_MDEV_PROP_UINT16,
                                  "MTU offered with VIRTIO_NET_F_MTU "
                                  "(68..65535)", 1500),
    VIRTIO_MDEV_PROP_UINT_DEFAULT("queues", VIRTIO_MDEV_PROP_UINT16,
                                  "queue pairs offered with MQ (1..8)", 1),
    VIRTIO_MDEV_PROP_BOOL_DEFAULT("mrg-rxbuf", "Offer MRG_RXBUF", true),
    VIRTIO_MDEV_PROP_BOOL_DEFAULT("event-idx", "Offer EVENT_IDX", true),
    VIRTIO_MDEV_PROP_BOOL_DEFAULT("indirect-desc", "Offer INDIRECT_DESC",
                                  true),
    VIRTIO_MDEV_PROP_BOOL_DEFAULT("status", "Offer STATUS (link)", true),
    VIRTIO_MDEV_PROP_BOOL_DEFAULT("ctrl-vq", "Offer CTRL_VQ", true),
    VIRTIO_MDEV_PROP_BOOL_DEFAULT("ctrl-rx", "Offer CTRL_RX", true),
    VIRTIO_MDEV_PROP_BOOL_DEFAULT("ctrl-mac-addr", "Offer CTRL_MAC_ADDR",
                                  true),
    VIRTIO_MDEV_PROP_BOOL_DEFAULT("packed", "Offer RING_PACKED", true),
    VIRTIO_MDEV_PROP_BOOL_DEFAULT("ctrl-rx-extra", "Offer CTRL_RX_EXTRA",
                                  true),
    VIRTIO_MDEV_PROP_BOOL_DEFAULT("guest-announce", "Offer GUEST_ANNOUNCE",
                                  true),
    VIRTIO_MDEV_PROP_BOOL_DEFAULT("notf-coal", "Offer NOTF_COAL", true),
    VIRTIO_MDEV_PROP_BOOL_DEFAULT("csum", "Offer CSUM (loopback only)", true),
    VIRTIO_MDEV_PROP_BOOL_DEFAULT("guest-csum", "Offer GUEST_CSUM (loopback "
                                  "only)", true),
    VIRTIO_MDEV_PROP_BOOL_DEFAULT("ctrl-guest-offloads", "Offer "
                                  "CTRL_GUEST_OFFLOADS (loopback only)", true),
    VIRTIO_MDEV_PROP_BOOL_DEFAULT("host-tso4", "Offer HOST_TSO4 (loopback "
                                  "only)", true),
    VIRTIO_MDEV_PROP_BOOL_DEFAULT("host-tso6", "Offer HOST_TSO6 (loopback "
                                  "only)", true),
    VIRTIO_MDEV_PROP_BOOL_DEFAULT("host-ecn", "Offer HOST_ECN (loopback "
                                  "only)", true),
    VIRTIO_MDEV_PROP_BOOL_DEFAULT("guest-tso4", "Offer GUEST_TSO4 (loopback "
                                  "only)", true),
    VIRTIO_MDEV_PROP_BOOL_DEFAULT("guest-tso6", "Offer GUEST_TSO6 (loopback "
                                  "only)", true),
    VIRTIO_MDEV_PROP_BOOL_DEFAULT("guest-ecn", "Offer GUEST_ECN (loopback "
                                  "only)", true),
    VIRTIO_MDEV_PROP_BOOL_DEFAULT("notification-data", "Offer "
                                  "NOTIFICATION_DATA", true),
    VIRTIO_MDEV_PROP_BOOL_DEFAULT("rss", "Offer RSS (with queues above 1)",
                                  true),
    VIRTIO_MDEV_PROP_BOOL_DEFAULT("hash-report", "Offer HASH_REPORT", true),
    VIRTIO_MDEV_PROP_BOOL_DEFAULT("adaptive-coal", "Moderate interrupts "
                                  "where that batches frames", true),
    { }
};

static const VirtioMdevShortForm mvnet_short_form = {
    .name = "virtio-mdev-net",
    .desc = "virtio-net (mvnet: a loopback, or a NIC with netdev=) behind "
            "the virtio-mdev transport",
    .category = DEVICE_CATEGORY_NETWORK,
    .parent_kind = TYPE_MVNET_PARENT,
    .default_parent = "mvnet-default",
    .type_id = "mvnet-virtio",
    .props = mvnet_form_props,
};

static void mvnet_register_types(void)
{
    type_register_static_array(mvnet_types_info,
                               ARRAY_SIZE(mvnet_types_info));
    virtio_mdev_register_short_form(&mvnet_short_form);
}

type_init(mvnet_register_types)
