/*
 * mvnet: the ring steps of a frame
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * A transmitted frame is popped, its header checked, then delivered into
 * receive chains and completed; receive chains are popped for a frame,
 * written and published, or given back when it has to wait.  In loopback
 * (mvnet_loop_one) the frame goes ring to ring, its checksum completed or
 * its TSO frame cut when the receiving side does not take them; the NIC
 * (mvnet-netdev.c) uses the same steps with the net layer on the other
 * side.  Every failure to reach guest memory or a ring breaks the device.
 */

#include "qemu/osdep.h"
#include "qemu/log.h"
#include "qemu/bswap.h"
#include "mvnet.h"

/* Give back the @nrx receive chains @c, in reverse order. */
static void mvnet_unpop_rx(MvnetDevice *n, unsigned rq, VringChain *c,
                           unsigned nrx)
{
    while (nrx--) {
        vring_unpop(&n->vq[rq].ring, &c[nrx]);
    }
}

/* Hand n->tx_chain back to the driver as used. */
int mvnet_tx_complete(MvnetDevice *n, unsigned tq)
{
    if (vring_fill(&n->vq[tq].ring, &n->tx_chain, 0) !=
        VRING_OK) {
        mvnet_set_broken(n, tq, VRING_ERR_USED);
        return MVNET_BROKEN;
    }
    mdev_coal_count(&n->coal[tq], 1);
    return MVNET_DONE;
}

/*
 * Read and check n->tx_chain's header (@len bytes follow it) into tx_hdr:
 * true when it is valid; false when it is not (a transmit error, logged)
 * or cannot be read (the device broke).
 */
static bool mvnet_tx_hdr(MvnetDevice *n, unsigned tq, uint64_t len)
{
    Vring *ring = &n->vq[tq].ring;
    int64_t got = vring_chain_read(ring, &n->tx_chain, 0, &n->tx_hdr,
                                   sizeof(n->tx_hdr));
    const char *why;

    if (got != sizeof(n->tx_hdr)) {
        mvnet_set_broken(n, tq, got < 0 ? -got : VRING_ERR_MEM);
        return false;
    }
    why = mvnet_offload_check_tx(&n->tx_hdr, len, n->features);
    if (why) {
        qemu_log_mask(LOG_GUEST_ERROR, "mvnet %s: transmitted frame with %s"
                      "\n", mvnet_name(n), why);
        n->stats[tq].errors++;
        return false;
    }
    return true;
}

/*
 * Pop the next transmitted frame into n->tx_chain: MVNET_FRAME with *len
 * (header included) when it is to be delivered, its header in n->tx_hdr;
 * a frame out of range or with a bad header, or sent while the link is
 * down, is counted and completed here (MVNET_DONE).
 */
int mvnet_tx_pop(MvnetDevice *n, unsigned tq, uint64_t *len)
{
    MdevVq *tx = &n->vq[tq];
    unsigned hdr_len = mvnet_hdr_len(n);
    int r = vring_pop(&tx->ring, &n->tx_chain, true, false);

    if (r <= 0) {
        if (r < 0) {
            mvnet_set_broken(n, tq, -r);
            return MVNET_BROKEN;
        }
        return MVNET_TX_EMPTY;
    }
    *len = n->tx_chain.out_len;
    if (*len < hdr_len + ETH_HLEN || *len > hdr_len + MVNET_MAX_FRAME) {
        qemu_log_mask(LOG_GUEST_ERROR, "mvnet %s: transmitted frame of %"
                      PRIu64 " bytes (header %u) is out of range\n",
                      mvnet_name(n), *len, hdr_len);
        n->stats[tq].errors++;
        return mvnet_tx_complete(n, tq);
    }
    if (!mvnet_tx_hdr(n, tq, *len - hdr_len)) {
        return n->broken ? MVNET_BROKEN : mvnet_tx_complete(n, tq);
    }
    if (!n->link_up) {
        n->stats[tq].drops++;
        return mvnet_tx_complete(n, tq);
    }
    return MVNET_FRAME;
}

/*
 * Pop receive chains for @len bytes (header included) into @c, which has
 * room for @room: MVNET_FRAME with *nrx; MVNET_WAIT_RX (nothing kept,
 * n->rx_mark set) when the driver has not posted enough; MVNET_DONE when
 * the frame cannot fit (without MRG_RXBUF, or beyond MVNET_MAX_RX_CHAINS
 * or @room: an error, counted).
 */
int mvnet_rx_pop(MvnetDevice *n, unsigned rq, uint64_t len,
                        VringChain *c, unsigned room, unsigned *nrx)
{
    MdevVq *rx = &n->vq[rq];
    bool mrg = n->features & (1ULL << VIRTIO_NET_F_MRG_RXBUF);
    unsigned hdr_len = mvnet_hdr_len(n);
    unsigned max = mrg ? MIN(room, MVNET_MAX_RX_CHAINS) : MIN(room, 1);
    uint64_t got = 0;
    int r;

    *nrx = 0;
    while (got < len && *nrx < max) {
        r = vring_pop(&rx->ring, &c[*nrx], false, true);
        if (r < 0) {
            mvnet_set_broken(n, rq, -r);
            return MVNET_BROKEN;
        }
        if (r == 0) {
            /* Give everything back; wait for more than what was seen. */
            vring_avail_mark(&rx->ring, &n->rx_mark[rq]);
            mvnet_unpop_rx(n, rq, c, *nrx);
            return MVNET_WAIT_RX;
        }
        got += c[*nrx].in_len;
        (*nrx)++;
    }
    if (got < len) {
        /* Without MRG_RXBUF the frame does not fit: an error, no truncation */
        mvnet_unpop_rx(n, rq, c, *nrx);
        n->stats[rq].errors++;
        return MVNET_DONE;
    }
    if (c[0].in_len < hdr_len) {
        /* virtio 1.2, 5.1.6.3.1: each buffer holds at least the header. */
        g_autofree char *why = g_strdup_printf("receive buffer of %" PRIu64
                                               " bytes is smaller than the "
                                               "%u-byte header",
                                               c[0].in_len, hdr_len);

        mvnet_unpop_rx(n, rq, c, *nrx);
        mvnet_set_broken_why(n, rq, why);
        return MVNET_BROKEN;
    }
    return MVNET_FRAME;
}

#define MVNET_NUM_BUFFERS_AT \
    offsetof(struct virtio_net_hdr_mrg_rxbuf, num_buffers)

/*
 * Publish the @nrx receive chains @c that now hold @len bytes (header
 * included): the header's num_buffers and, with HASH_REPORT, n->rx_hash,
 * then each chain's used length.
 */
int mvnet_rx_push(MvnetDevice *n, unsigned rq, VringChain *c,
                         unsigned nrx, uint64_t len)
{
    MdevVq *rx = &n->vq[rq];
    unsigned hdr_len = mvnet_hdr_len(n);
    uint64_t off = 0;

    if (hdr_len > MVNET_NUM_BUFFERS_AT) {
        /* num_buffers, hash_value, hash_report, padding */
        uint8_t tail[sizeof(struct virtio_net_hdr_v1_hash) -
                     MVNET_NUM_BUFFERS_AT] = { };

        stw_le_p(tail, nrx);
        stl_le_p(tail + 2, n->rx_hash.value);
        stw_le_p(tail + 6, n->rx_hash.report);
        if (vring_chain_write(&rx->ring, &c[0], MVNET_NUM_BUFFERS_AT, tail,
                              hdr_len - MVNET_NUM_BUFFERS_AT) !=
            hdr_len - MVNET_NUM_BUFFERS_AT) {
            mvnet_set_broken(n, rq, VRING_ERR_MEM);
            return MVNET_BROKEN;
        }
    }
    for (unsigned i = 0; i < nrx; i++) {
        uint64_t chunk = MIN(c[i].in_len, len - off);

        if (vring_fill(&rx->ring, &c[i], chunk) != VRING_OK) {
            mvnet_set_broken(n, rq, VRING_ERR_USED);
            return MVNET_BROKEN;
        }
        off += chunk;
    }
    n->stats[rq].packets++;
    n->stats[rq].bytes += len - hdr_len;
    mdev_coal_count(&n->coal[rq], 1);
    return MVNET_DONE;
}

/*
 * Write @buf (@size bytes) after the header @h (or a zeroed one) into the
 * @nrx popped chains @c.
 */
int mvnet_rx_write(MvnetDevice *n, unsigned rq, VringChain *c,
                          unsigned nrx, const struct virtio_net_hdr *h,
                          const uint8_t *buf, size_t size)
{
    Vring *ring = &n->vq[rq].ring;
    struct virtio_net_hdr_v1_hash hdr = { };   /* the rest: mvnet_rx_push */
    unsigned hdr_len = mvnet_hdr_len(n);
    uint64_t off = 0;

    if (h) {
        memcpy(&hdr.hdr, h, sizeof(*h));
    }
    if (vring_chain_write(ring, &c[0], 0, &hdr, hdr_len) != hdr_len) {
        return -VRING_ERR_MEM;
    }
    for (unsigned i = 0; i < nrx && off < size; i++) {
        uint64_t start = i ? 0 : hdr_len;
        uint64_t chunk = MIN(c[i].in_len - start, size - off);

        if (vring_chain_write(ring, &c[i], start, buf + off, chunk) !=
            chunk) {
            return -VRING_ERR_MEM;
        }
        off += chunk;
    }
    return 0;
}

/*
 * Copy the transmitted frame (@len bytes, header included) into @nrx
 * receive chains, ring to ring, and give it the receive header @rxh.
 */
static int mvnet_loop_copy(MvnetDevice *n, unsigned tq, unsigned rq,
                           unsigned nrx, uint64_t len,
                           const struct virtio_net_hdr *rxh)
{
    MdevVq *tx = &n->vq[tq], *rx = &n->vq[rq];
    uint64_t off = 0;

    for (unsigned i = 0; i < nrx; i++) {
        VringChain *c = &n->rx_chains[i];
        uint64_t chunk = MIN(c->in_len, len - off);
        int64_t done = vring_chain_copy(&rx->ring, c, 0, &tx->ring,
                                        &n->tx_chain, off, chunk);

        if (done != chunk) {
            return done < 0 ? done : -VRING_ERR_MEM;
        }
        off += chunk;
    }
    if (vring_chain_write(&rx->ring, &n->rx_chains[0], 0, rxh,
                          sizeof(*rxh)) != sizeof(*rxh)) {
        return -VRING_ERR_MEM;
    }
    return 0;
}

/*
 * Copy the transmitted frame in n->tx_chain (@len bytes, header included)
 * without its header into n->tx_frame: its length, or -1 when it cannot
 * be read (the device broke).
 */
int64_t mvnet_tx_read(MvnetDevice *n, unsigned tq, uint64_t len)
{
    Vring *tx = &n->vq[tq].ring;
    unsigned hdr_len = mvnet_hdr_len(n);
    int64_t got = vring_chain_read(tx, &n->tx_chain, hdr_len, n->tx_frame,
                                   len - hdr_len);

    if (got != len - hdr_len) {
        mvnet_set_broken(n, tq, got < 0 ? -got : VRING_ERR_MEM);
        return -1;
    }
    return got;
}

/*
 * The receiver does not take the checksum the sender left to the device:
 * complete it in a copy of the frame, received with a zeroed header.
 */
static int mvnet_loop_csum(MvnetDevice *n, unsigned tq, unsigned rq,
                           unsigned nrx, uint64_t len)
{
    int64_t got = mvnet_tx_read(n, tq, len);

    if (got < 0) {
        return -VRING_ERR_MEM;      /* the device broke on the TX queue */
    }
    mvnet_offload_csum(n->tx_frame, got, &n->tx_hdr);
    return mvnet_rx_write(n, rq, n->rx_chains, nrx, NULL, n->tx_frame, got);
}

/* Room for @count receive chains in n->rx_chains (made on first need). */
void mvnet_rx_chains_reserve(MvnetDevice *n, unsigned count)
{
    for (; n->rx_chains_n < count; n->rx_chains_n++) {
        vring_chain_init(&n->rx_chains[n->rx_chains_n], MVNET_QUEUE_MAX);
    }
}

/*
 * Pop receive chains for each segment of @g into n->rx_chains, *@nrx[i]
 * of them for segment i: MVNET_FRAME, or (nothing kept) MVNET_WAIT_RX,
 * MVNET_DONE (they cannot all fit in the ring: counted) or MVNET_BROKEN.
 */
int mvnet_rx_pop_segments(MvnetDevice *n, unsigned rq,
                                 const MvnetGso *g, unsigned *nrx)
{
    unsigned room = MIN(n->vq[rq].cfg.num, MVNET_QUEUE_MAX);
    unsigned hdr_len = mvnet_hdr_len(n), used = 0;
    int r;

    if (g->nseg > room) {
        n->stats[rq].errors++;
        return MVNET_DONE;
    }
    mvnet_rx_chains_reserve(n, room);
    for (unsigned i = 0; i < g->nseg; used += nrx[i], i++) {
        r = mvnet_rx_pop(n, rq, hdr_len + mvnet_gso_seg_len(g, i),
                         &n->rx_chains[used], room - used, &nrx[i]);
        if (r != MVNET_FRAME) {
            mvnet_unpop_rx(n, rq, n->rx_chains, used);
            return r;
        }
    }
    return MVNET_FRAME;
}

/*
 * Deliver the segments of @g (cut from @frame) into the chains popped for
 * them, @nrx[i] for segment i: each a frame of its own, its checksum left
 * to the receiver (GUEST_CSUM) or done here.
 */
int mvnet_rx_segments(MvnetDevice *n, unsigned rq, const MvnetGso *g,
                             const uint8_t *frame, const unsigned *nrx)
{
    bool csum = n->guest_offloads & (1ULL << VIRTIO_NET_F_GUEST_CSUM);
    unsigned hdr_len = mvnet_hdr_len(n), first = 0;
    int r;

    for (unsigned i = 0; i < g->nseg; first += nrx[i], i++) {
        VringChain *c = &n->rx_chains[first];
        uint64_t seg_len = mvnet_gso_seg_len(g, i);
        struct virtio_net_hdr h;

        mvnet_gso_segment(g, frame, i, n->seg_frame, &h);
        if (!csum) {
            mvnet_offload_csum(n->seg_frame, seg_len, &h);
            memset(&h, 0, sizeof(h));
        }
        r = mvnet_rx_write(n, rq, c, nrx[i], &h, n->seg_frame, seg_len);
        if (r < 0) {
            mvnet_set_broken(n, rq, -r);
            return MVNET_BROKEN;
        }
        if (mvnet_rx_push(n, rq, c, nrx[i], hdr_len + seg_len) != MVNET_DONE) {
            return MVNET_BROKEN;
        }
    }
    return MVNET_DONE;
}

/*
 * Loop a TSO frame (@len bytes, header included) the receiver does not
 * take: cut it into segments.  All their receive chains are popped first,
 * so that the frame goes whole or waits whole.
 */
static int mvnet_loop_tso(MvnetDevice *n, unsigned tq, unsigned rq,
                          uint64_t len)
{
    Vring *tx = &n->vq[tq].ring;
    int64_t got = mvnet_tx_read(n, tq, len);
    g_autofree unsigned *nrx = NULL;
    const char *why;
    MvnetGso g;
    int r;

    if (got < 0) {
        return MVNET_BROKEN;
    }
    why = mvnet_gso_plan(n->tx_frame, got, &n->tx_hdr, &g);
    if (why) {
        qemu_log_mask(LOG_GUEST_ERROR, "mvnet %s: transmitted %s\n",
                      mvnet_name(n), why);
        n->stats[tq].errors++;
        return mvnet_tx_complete(n, tq);
    }
    /* More segments than the ring holds fail below: no bigger array. */
    nrx = g_new(unsigned, MIN(g.nseg, MVNET_QUEUE_MAX));
    r = mvnet_rx_pop_segments(n, rq, &g, nrx);
    if (r == MVNET_WAIT_RX) {
        vring_unpop(tx, &n->tx_chain);
        return r;
    } else if (r == MVNET_FRAME) {
        r = mvnet_rx_segments(n, rq, &g, n->tx_frame, nrx);
        n->stats[tq].packets++;
        n->stats[tq].bytes += got;
    }
    return r == MVNET_BROKEN ? r : mvnet_tx_complete(n, tq);
}

/*
 * The receive slot of a frame pair @p transmitted (@len bytes, header
 * included, in n->tx_chain): the pair's own, or RSS's choice; -1 when the
 * frame cannot be read (the device broke).  Sets n->rx_hash.
 */
static int mvnet_loop_rxq(MvnetDevice *n, unsigned p, uint64_t len)
{
    unsigned hdr_len = mvnet_hdr_len(n);
    uint64_t want = MIN(len - hdr_len, MVNET_STEER_PEEK);
    uint8_t peek[MVNET_STEER_PEEK];
    unsigned steered;
    int64_t got;

    n->rx_hash = (MvnetHash) { 0, VIRTIO_NET_HASH_REPORT_NONE };
    if (!n->rss.enabled &&
        !(n->rss.hash_types && mvnet_has(n, VIRTIO_NET_F_HASH_REPORT))) {
        return mvnet_rxq(p);            /* nothing to hash the frame for */
    }
    got = vring_chain_read(&n->vq[mvnet_txq(p)].ring, &n->tx_chain, hdr_len,
                           peek, want);
    if (got != want) {
        mvnet_set_broken(n, mvnet_txq(p), got < 0 ? -got : VRING_ERR_MEM);
        return -1;
    }
    steered = mvnet_steer(&n->rss, peek, got, n->curr_pairs, &n->rx_hash);
    return mvnet_rxq(n->rss.enabled ? steered : p);
}

/* Move one transmitted frame into receive buffers; returns MVNET_*. */
int mvnet_loop_one(MvnetDevice *n, unsigned p)
{
    unsigned tq = mvnet_txq(p), rq;
    MdevVq *tx = &n->vq[tq];
    struct virtio_net_hdr rxh;
    MvnetRxHow how;
    unsigned nrx;
    uint64_t len;
    int r;

    r = mvnet_tx_pop(n, tq, &len);
    if (r != MVNET_FRAME) {
        return r;
    }
    r = mvnet_loop_rxq(n, p, len);
    if (r < 0) {
        return MVNET_BROKEN;
    }
    rq = n->wait_rq = r;
    if (!n->vq[rq].ready) {
        n->stats[rq].drops++;           /* RSS chose a queue left off */
        return mvnet_tx_complete(n, tq);
    }
    how = mvnet_offload_rx_hdr(&n->tx_hdr, n->guest_offloads, &rxh);
    if (how == MVNET_RX_SEGMENT) {
        return mvnet_loop_tso(n, tq, rq, len);
    }
    r = mvnet_rx_pop(n, rq, len, n->rx_chains, MVNET_MAX_RX_CHAINS, &nrx);
    if (r == MVNET_WAIT_RX) {
        vring_unpop(&tx->ring, &n->tx_chain);
        return r;
    } else if (r == MVNET_DONE) {
        return mvnet_tx_complete(n, tq);
    } else if (r == MVNET_BROKEN) {
        return r;
    }
    r = how == MVNET_RX_AS_IS ? mvnet_loop_copy(n, tq, rq, nrx, len, &rxh)
                              : mvnet_loop_csum(n, tq, rq, nrx, len);
    if (r < 0) {
        mvnet_set_broken(n, rq, -r);
        return MVNET_BROKEN;
    }
    if (mvnet_rx_push(n, rq, n->rx_chains, nrx, len) != MVNET_DONE) {
        return MVNET_BROKEN;
    }
    n->stats[tq].packets++;
    n->stats[tq].bytes += len - mvnet_hdr_len(n);
    return mvnet_tx_complete(n, tq);
}
