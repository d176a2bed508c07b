/*
 * mvnet-steer: which receive queue a frame from a network backend takes
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/bswap.h"
#include "qemu/xxhash.h"
#include "net/eth.h"
#include "mvnet-steer.h"

/* A flow's endpoints, each folded to 64 bits, and its ports (0: none). */
typedef struct MvnetFlow {
    uint64_t addr[2];
    uint16_t port[2];
    uint8_t proto;
} MvnetFlow;

static uint64_t mvnet_fold128(const uint8_t *a)
{
    return ldq_be_p(a) ^ ldq_be_p(a + 8);
}

static void mvnet_flow_ports(MvnetFlow *f, uint8_t proto, const uint8_t *l4,
                             size_t left)
{
    f->proto = proto;
    if ((proto == IP_PROTO_TCP || proto == IP_PROTO_UDP) && left >= 4) {
        f->port[0] = lduw_be_p(l4);
        f->port[1] = lduw_be_p(l4 + 2);
    }
}

/* Parse @l3 (@left bytes) of EtherType @type into @f; false: not IP. */
static bool mvnet_flow_parse(MvnetFlow *f, uint16_t type, const uint8_t *l3,
                             size_t left)
{
    if (type == ETH_P_IP && left >= sizeof(struct ip_header)) {
        const struct ip_header *ip = (const void *)l3;
        size_t ihl = IP_HDR_GET_LEN(ip);
        bool frag = lduw_be_p(&ip->ip_off) & (IP_OFFMASK | IP_MF);

        f->addr[0] = ldl_be_p(&ip->ip_src);
        f->addr[1] = ldl_be_p(&ip->ip_dst);
        if (!frag && ihl >= sizeof(*ip) && left >= ihl) {
            mvnet_flow_ports(f, ip->ip_p, l3 + ihl, left - ihl);
        }
        return true;
    }
    if (type == ETH_P_IPV6 && left >= sizeof(struct ip6_header)) {
        const struct ip6_header *ip6 = (const void *)l3;

        f->addr[0] = mvnet_fold128((const uint8_t *)&ip6->ip6_src);
        f->addr[1] = mvnet_fold128((const uint8_t *)&ip6->ip6_dst);
        mvnet_flow_ports(f, ip6->ip6_ctlun.ip6_un1.ip6_un1_nxt,
                         l3 + sizeof(*ip6), left - sizeof(*ip6));
        return true;
    }
    return false;
}

unsigned mvnet_steer(const uint8_t *buf, size_t size, unsigned pairs)
{
    size_t off = ETH_HLEN;
    MvnetFlow f = { };
    uint16_t type;
    uint32_t hash;

    if (pairs <= 1 || size < ETH_HLEN) {
        return 0;
    }
    type = lduw_be_p(buf + 12);
    if (type == ETH_P_VLAN && size >= ETH_HLEN + 4) {
        type = lduw_be_p(buf + 16);
        off += 4;
    }
    if (!mvnet_flow_parse(&f, type, buf + off, size - off)) {
        return 0;
    }
    /* Symmetric: the same for both directions of the flow. */
    hash = qemu_xxhash6(MIN(f.addr[0], f.addr[1]), MAX(f.addr[0], f.addr[1]),
                        MIN(f.port[0], f.port[1]) << 16 |
                        MAX(f.port[0], f.port[1]), f.proto);
    return hash % pairs;
}
