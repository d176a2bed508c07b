/*
 * mvnet's offloads: the virtio-net header of a frame
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * See mvnet-offload.h.
 */

#include "qemu/osdep.h"
#include "qemu/bswap.h"
#include "net/checksum.h"
#include "net/eth.h"
#include "mvnet-offload.h"

#define F(bit)              (1ULL << (bit))
#define GSO_BASE(type)      ((type) & ~VIRTIO_NET_HDR_GSO_ECN)
#define TCP_CSUM_OFFSET     16
#define TCP_FLAG_FIN        0x01
#define TCP_FLAG_PSH        0x08
#define TCP_FLAG_CWR        0x80

/* Each offload feature and what it needs (virtio 1.2, 5.1.3.1) */
static const struct {
    unsigned bit;
    uint64_t needs;         /* any of these */
    const char *why;
} mvnet_offload_deps[] = {
    { VIRTIO_NET_F_GUEST_TSO4, F(VIRTIO_NET_F_GUEST_CSUM),
      "GUEST_TSO4 without GUEST_CSUM" },
    { VIRTIO_NET_F_GUEST_TSO6, F(VIRTIO_NET_F_GUEST_CSUM),
      "GUEST_TSO6 without GUEST_CSUM" },
    { VIRTIO_NET_F_GUEST_ECN,
      F(VIRTIO_NET_F_GUEST_TSO4) | F(VIRTIO_NET_F_GUEST_TSO6),
      "GUEST_ECN without GUEST_TSO4 or GUEST_TSO6" },
    { VIRTIO_NET_F_HOST_TSO4, F(VIRTIO_NET_F_CSUM),
      "HOST_TSO4 without CSUM" },
    { VIRTIO_NET_F_HOST_TSO6, F(VIRTIO_NET_F_CSUM),
      "HOST_TSO6 without CSUM" },
    { VIRTIO_NET_F_HOST_ECN,
      F(VIRTIO_NET_F_HOST_TSO4) | F(VIRTIO_NET_F_HOST_TSO6),
      "HOST_ECN without HOST_TSO4 or HOST_TSO6" },
};

const char *mvnet_offload_check_features(uint64_t features)
{
    for (unsigned i = 0; i < ARRAY_SIZE(mvnet_offload_deps); i++) {
        if ((features & F(mvnet_offload_deps[i].bit)) &&
            !(features & mvnet_offload_deps[i].needs)) {
            return mvnet_offload_deps[i].why;
        }
    }
    return NULL;
}

uint64_t mvnet_offload_offerable(uint64_t features)
{
    uint64_t was;

    do {
        was = features;
        for (unsigned i = 0; i < ARRAY_SIZE(mvnet_offload_deps); i++) {
            if (!(features & mvnet_offload_deps[i].needs)) {
                features &= ~F(mvnet_offload_deps[i].bit);
            }
        }
    } while (features != was);
    return features;
}

/* The GSO part of a transmitted header: NULL, or why it is not valid. */
static const char *mvnet_offload_check_gso(const struct virtio_net_hdr *h,
                                           uint64_t features)
{
    uint8_t base = GSO_BASE(h->gso_type);

    if (base == VIRTIO_NET_HDR_GSO_TCPV4) {
        if (!(features & F(VIRTIO_NET_F_HOST_TSO4))) {
            return "a TCPv4 GSO type without HOST_TSO4";
        }
    } else if (base == VIRTIO_NET_HDR_GSO_TCPV6) {
        if (!(features & F(VIRTIO_NET_F_HOST_TSO6))) {
            return "a TCPv6 GSO type without HOST_TSO6";
        }
    } else if (base != VIRTIO_NET_HDR_GSO_NONE) {
        return "a GSO type that was not offered";
    }
    if (h->gso_type & VIRTIO_NET_HDR_GSO_ECN) {
        if (base == VIRTIO_NET_HDR_GSO_NONE ||
            !(features & F(VIRTIO_NET_F_HOST_ECN))) {
            return "GSO ECN without HOST_ECN or a GSO type";
        }
    }
    if (base != VIRTIO_NET_HDR_GSO_NONE) {
        if (!(h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM)) {
            return "a GSO type without NEEDS_CSUM";
        }
        if (!le16_to_cpu(h->gso_size)) {
            return "a GSO type with gso_size 0";
        }
    }
    return NULL;
}

const char *mvnet_offload_check_tx(const struct virtio_net_hdr *h,
                                   uint64_t len, uint64_t features)
{
    uint64_t start = le16_to_cpu(h->csum_start);
    uint64_t offset = le16_to_cpu(h->csum_offset);
    const char *why;

    if (h->flags & ~VIRTIO_NET_HDR_F_NEEDS_CSUM) {
        return "header flags other than NEEDS_CSUM";
    }
    why = mvnet_offload_check_gso(h, features);
    if (why || !(h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM)) {
        return why;
    }
    if (!(features & F(VIRTIO_NET_F_CSUM))) {
        return "NEEDS_CSUM without VIRTIO_NET_F_CSUM";
    }
    /* The 16-bit checksum field lies inside the checksummed bytes. */
    if (start + offset + 2 > len) {
        return "a checksum field past the end of the frame";
    }
    return NULL;
}

MvnetRxHow mvnet_offload_rx_hdr(const struct virtio_net_hdr *tx,
                                uint64_t guest_offloads,
                                struct virtio_net_hdr *rx)
{
    uint8_t base = GSO_BASE(tx->gso_type);
    uint64_t need = F(VIRTIO_NET_F_GUEST_CSUM);

    memset(rx, 0, sizeof(*rx));
    if (base != VIRTIO_NET_HDR_GSO_NONE) {
        need |= F(base == VIRTIO_NET_HDR_GSO_TCPV4 ? VIRTIO_NET_F_GUEST_TSO4
                                                   : VIRTIO_NET_F_GUEST_TSO6);
        if (tx->gso_type & VIRTIO_NET_HDR_GSO_ECN) {
            need |= F(VIRTIO_NET_F_GUEST_ECN);
        }
        if ((guest_offloads & need) != need) {
            return MVNET_RX_SEGMENT;
        }
        *rx = *tx;
        return MVNET_RX_AS_IS;
    }
    if (!(tx->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM)) {
        return MVNET_RX_AS_IS;
    }
    if (!(guest_offloads & need)) {
        return MVNET_RX_CSUM;
    }
    rx->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
    rx->csum_start = tx->csum_start;
    rx->csum_offset = tx->csum_offset;
    return MVNET_RX_AS_IS;
}

MvnetRxHow mvnet_offload_netdev_hdr(const struct virtio_net_hdr *in,
                                    uint64_t len, uint64_t guest_offloads,
                                    struct virtio_net_hdr *rx,
                                    const char **why)
{
    struct virtio_net_hdr h = *in;
    bool valid = h.flags & VIRTIO_NET_HDR_F_DATA_VALID;
    MvnetRxHow how;

    h.flags &= ~VIRTIO_NET_HDR_F_DATA_VALID;
    *why = mvnet_offload_check_tx(&h, len, MVNET_HOST_OFFLOADS);
    if (*why) {
        return MVNET_RX_BAD;
    }
    how = mvnet_offload_rx_hdr(&h, guest_offloads, rx);
    if (how == MVNET_RX_AS_IS && valid && !rx->flags &&
        (guest_offloads & F(VIRTIO_NET_F_GUEST_CSUM))) {
        rx->flags = VIRTIO_NET_HDR_F_DATA_VALID;
    }
    return how;
}

/*
 * The Internet checksum of everything from csum_start on, the field
 * included (it holds the driver's partial sum, e.g. a pseudo-header's),
 * goes into the field; 0 becomes 0xffff, as Linux's skb_checksum_help.
 */
void mvnet_offload_csum(uint8_t *frame, uint64_t len,
                        const struct virtio_net_hdr *h)
{
    unsigned start = le16_to_cpu(h->csum_start);
    uint8_t *field = frame + start + le16_to_cpu(h->csum_offset);
    uint32_t sum = net_checksum_add(len - start, frame + start);

    stw_be_p(field, net_checksum_finish_nozero(sum));
}

bool mvnet_offload_allowed(uint64_t offloads, uint64_t features)
{
    return !(offloads & ~(features & MVNET_GUEST_OFFLOADS));
}

/* The IP header of a TSO frame: its TCP header's offset, or 0. */
static unsigned mvnet_gso_l4(const uint8_t *frame, uint64_t len,
                             unsigned l3, bool v6)
{
    unsigned ihl;

    if (v6) {
        /* No extension headers: TCP right after the fixed header. */
        return len >= l3 + 40 && frame[l3] >> 4 == 6 &&
               frame[l3 + 6] == IP_PROTO_TCP ? l3 + 40 : 0;
    }
    if (len < l3 + 20 || frame[l3] >> 4 != 4) {
        return 0;
    }
    ihl = (frame[l3] & 0xf) * 4;
    return ihl >= 20 && len >= l3 + ihl &&
           frame[l3 + 9] == IP_PROTO_TCP ? l3 + ihl : 0;
}

const char *mvnet_gso_plan(const uint8_t *frame, uint64_t len,
                           const struct virtio_net_hdr *h, MvnetGso *g)
{
    unsigned l3 = ETH_HLEN, doff;
    uint16_t type = lduw_be_p(frame + 12);
    uint64_t payload;

    g->v6 = GSO_BASE(h->gso_type) == VIRTIO_NET_HDR_GSO_TCPV6;
    if (type == ETH_P_VLAN && len >= ETH_HLEN + 4) {
        type = lduw_be_p(frame + ETH_HLEN + 2);
        l3 += 4;
    }
    if (type != (g->v6 ? ETH_P_IPV6 : ETH_P_IP)) {
        return "a TSO frame whose EtherType is not its GSO type's";
    }
    g->l3 = l3;
    g->l4 = mvnet_gso_l4(frame, len, l3, g->v6);
    if (!g->l4) {
        return "a TSO frame without a TCP header after its IP header";
    }
    doff = len >= g->l4 + 20 ? (frame[g->l4 + 12] >> 4) * 4 : 0;
    if (doff < 20 || len < g->l4 + doff) {
        return "a TSO frame with a truncated TCP header";
    }
    g->hdr = g->l4 + doff;
    g->mss = le16_to_cpu(h->gso_size);
    g->len = len;
    payload = len - g->hdr;
    g->nseg = payload ? DIV_ROUND_UP(payload, g->mss) : 1;
    return NULL;
}

uint64_t mvnet_gso_seg_len(const MvnetGso *g, unsigned i)
{
    uint64_t payload = g->len - g->hdr;

    return g->hdr + MIN(g->mss, payload - (uint64_t)i * g->mss);
}

/* Fix the IP header of a segment of @seg_len bytes, the @i-th. */
static void mvnet_gso_fix_ip(const MvnetGso *g, uint8_t *out, unsigned i,
                             uint64_t seg_len)
{
    uint8_t *ip = out + g->l3;
    unsigned ihl = g->l4 - g->l3;

    if (g->v6) {
        stw_be_p(ip + 4, seg_len - g->l4);
        return;
    }
    stw_be_p(ip + 2, seg_len - g->l3);
    stw_be_p(ip + 4, lduw_be_p(ip + 4) + i);
    stw_be_p(ip + 10, 0);
    stw_be_p(ip + 10, net_checksum_finish(net_checksum_add(ihl, ip)));
}

void mvnet_gso_segment(const MvnetGso *g, const uint8_t *frame, unsigned i,
                       uint8_t *out, struct virtio_net_hdr *seg_hdr)
{
    uint64_t seg_len = mvnet_gso_seg_len(g, i), off = (uint64_t)i * g->mss;
    uint8_t *ip = out + g->l3, *tcp = out + g->l4;
    uint32_t sum;

    memcpy(out, frame, g->hdr);
    memcpy(out + g->hdr, frame + g->hdr + off, seg_len - g->hdr);
    mvnet_gso_fix_ip(g, out, i, seg_len);
    stl_be_p(tcp + 4, ldl_be_p(tcp + 4) + off);
    if (i) {
        tcp[13] &= ~TCP_FLAG_CWR;
    }
    if (i + 1 < g->nseg) {
        tcp[13] &= ~(TCP_FLAG_FIN | TCP_FLAG_PSH);
    }
    /* The pseudo-header's sum, for the receiver or the device to finish */
    sum = g->v6 ? net_checksum_add(32, ip + 8) : net_checksum_add(8, ip + 12);
    sum += IP_PROTO_TCP + seg_len - g->l4;
    while (sum >> 16) {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    stw_be_p(tcp + TCP_CSUM_OFFSET, sum);
    memset(seg_hdr, 0, sizeof(*seg_hdr));
    seg_hdr->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
    seg_hdr->csum_start = cpu_to_le16(g->l4);
    seg_hdr->csum_offset = cpu_to_le16(TCP_CSUM_OFFSET);
}
