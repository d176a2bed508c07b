/*
 * mvnet-steer: which receive queue a frame takes
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/bswap.h"
#include "qemu/xxhash.h"
#include "net/eth.h"
#include "net/checksum.h"
#include "mvnet-steer.h"

/* A frame's flow: where its addresses and ports are, and what it is. */
typedef struct MvnetFlow {
    const uint8_t *addrs;       /* source then destination address */
    unsigned addr_len;          /* 4 or 16 */
    const uint8_t *ports;       /* source then destination port, or NULL */
    bool tcp;
    bool v6;
} MvnetFlow;

static void mvnet_flow_ports(MvnetFlow *f, uint8_t proto, const uint8_t *l4,
                             size_t left)
{
    if ((proto == IP_PROTO_TCP || proto == IP_PROTO_UDP) && left >= 4) {
        f->ports = l4;
        f->tcp = proto == IP_PROTO_TCP;
    }
}

/* Parse the frame @buf (@size bytes) into @f; false when it is not IP. */
static bool mvnet_flow_parse(MvnetFlow *f, const uint8_t *buf, size_t size)
{
    size_t off = ETH_HLEN, left;
    uint16_t type;

    if (size < ETH_HLEN) {
        return false;
    }
    type = lduw_be_p(buf + 12);
    if (type == ETH_P_VLAN && size >= ETH_HLEN + 4) {
        type = lduw_be_p(buf + 16);
        off += 4;
    }
    left = size - off;
    if (type == ETH_P_IP && left >= sizeof(struct ip_header)) {
        const struct ip_header *ip = (const void *)(buf + off);
        size_t ihl = IP_HDR_GET_LEN(ip);
        bool frag = lduw_be_p(&ip->ip_off) & (IP_OFFMASK | IP_MF);

        *f = (MvnetFlow) { .addrs = (const uint8_t *)&ip->ip_src,
                           .addr_len = 4 };
        if (!frag && ihl >= sizeof(*ip) && left >= ihl) {
            mvnet_flow_ports(f, ip->ip_p, buf + off + ihl, left - ihl);
        }
        return true;
    }
    if (type == ETH_P_IPV6 && left >= sizeof(struct ip6_header)) {
        const struct ip6_header *ip6 = (const void *)(buf + off);

        *f = (MvnetFlow) { .addrs = (const uint8_t *)&ip6->ip6_src,
                           .addr_len = 16, .v6 = true };
        mvnet_flow_ports(f, ip6->ip6_ctlun.ip6_un1.ip6_un1_nxt,
                         buf + off + sizeof(*ip6), left - sizeof(*ip6));
        return true;
    }
    return false;
}

/* Without RSS: the same for both directions of the flow. */
static unsigned mvnet_flow_symmetric(const MvnetFlow *f, unsigned pairs)
{
    uint64_t a[2] = { 0, 0 };
    uint16_t p[2] = { 0, 0 };
    uint32_t hash;

    for (unsigned i = 0; i < 2; i++) {
        const uint8_t *addr = f->addrs + i * f->addr_len;

        a[i] = f->addr_len == 4 ? ldl_be_p(addr)
                                : ldq_be_p(addr) ^ ldq_be_p(addr + 8);
        p[i] = f->ports ? lduw_be_p(f->ports + 2 * i) : 0;
    }
    hash = qemu_xxhash6(MIN(a[0], a[1]), MAX(a[0], a[1]),
                        MIN(p[0], p[1]) << 16 | MAX(p[0], p[1]),
                        f->v6 << 1 | f->tcp);
    return hash % pairs;
}

/*
 * The hash of @f by @rss's hash types and key (virtio 1.2, 5.1.6.4.3.1:
 * ports only for an enabled TCP or UDP type), or NONE when no enabled
 * type applies.
 */
static void mvnet_flow_hash(const MvnetRss *rss, const MvnetFlow *f,
                            MvnetHash *h)
{
    uint32_t ip = f->v6 ? VIRTIO_NET_RSS_HASH_TYPE_IPv6
                        : VIRTIO_NET_RSS_HASH_TYPE_IPv4;
    uint32_t l4 = !f->ports ? 0 :
                  f->tcp ? (f->v6 ? VIRTIO_NET_RSS_HASH_TYPE_TCPv6
                                  : VIRTIO_NET_RSS_HASH_TYPE_TCPv4)
                         : (f->v6 ? VIRTIO_NET_RSS_HASH_TYPE_UDPv6
                                  : VIRTIO_NET_RSS_HASH_TYPE_UDPv4);
    uint8_t key[MVNET_RSS_KEY_MAX];
    net_toeplitz_key tk;

    *h = (MvnetHash) { 0, VIRTIO_NET_HASH_REPORT_NONE };
    if (!(rss->hash_types & (ip | l4))) {
        return;
    }
    memcpy(key, rss->key, sizeof(key));
    net_toeplitz_key_init(&tk, key);
    net_toeplitz_add(&h->value, (uint8_t *)f->addrs, 2 * f->addr_len, &tk);
    if (rss->hash_types & l4) {
        net_toeplitz_add(&h->value, (uint8_t *)f->ports, 4, &tk);
        h->report = f->tcp ? (f->v6 ? VIRTIO_NET_HASH_REPORT_TCPv6
                                    : VIRTIO_NET_HASH_REPORT_TCPv4)
                           : (f->v6 ? VIRTIO_NET_HASH_REPORT_UDPv6
                                    : VIRTIO_NET_HASH_REPORT_UDPv4);
    } else {
        h->report = f->v6 ? VIRTIO_NET_HASH_REPORT_IPv6
                          : VIRTIO_NET_HASH_REPORT_IPv4;
    }
}

unsigned mvnet_steer(const MvnetRss *rss, const uint8_t *buf, size_t size,
                     unsigned pairs, MvnetHash *hash)
{
    MvnetFlow f;

    *hash = (MvnetHash) { 0, VIRTIO_NET_HASH_REPORT_NONE };
    if ((!rss->hash_types && pairs <= 1) ||
        !mvnet_flow_parse(&f, buf, size)) {
        return rss->enabled ? rss->unclassified : 0;
    }
    mvnet_flow_hash(rss, &f, hash);
    if (rss->enabled) {
        return hash->report == VIRTIO_NET_HASH_REPORT_NONE
               ? rss->unclassified : rss->table[hash->value &
                                                (rss->table_len - 1)];
    }
    return pairs > 1 ? mvnet_flow_symmetric(&f, pairs) : 0;
}

void mvnet_rss_reset(MvnetRss *rss)
{
    memset(rss, 0, sizeof(*rss));
    rss->table_len = 1;
}

bool mvnet_rss_valid(const MvnetRss *rss, unsigned pairs)
{
    if (!rss->table_len || rss->table_len > MVNET_RSS_TABLE_MAX ||
        (rss->table_len & (rss->table_len - 1)) ||
        rss->unclassified >= pairs || rss->key_len > MVNET_RSS_KEY_MAX ||
        (rss->hash_types & ~MVNET_RSS_HASH_TYPES)) {
        return false;
    }
    for (unsigned i = 0; i < rss->table_len; i++) {
        if (rss->table[i] >= pairs) {
            return false;
        }
    }
    return true;
}

/*
 * struct virtio_net_rss_config: le32 hash_types, le16
 * indirection_table_mask, le16 unclassified_queue, le16
 * indirection_table[mask + 1], le16 max_tx_vq, u8 hash_key_length, then
 * the key; nothing more.
 */
const char *mvnet_rss_config(MvnetRss *rss, uint16_t *tx_pairs,
                             const uint8_t *data, size_t len,
                             unsigned pairs)
{
    MvnetRss r = { .enabled = true };
    size_t tail;

    if (len < 8) {
        return "is too short";
    }
    r.hash_types = ldl_le_p(data);
    r.table_len = lduw_le_p(data + 4) + 1;
    r.unclassified = lduw_le_p(data + 6);
    if (r.table_len > MVNET_RSS_TABLE_MAX || !r.table_len) {
        return "has an indirection table longer than 128 entries";
    }
    tail = 8 + 2 * r.table_len;
    if (len < tail + 3) {
        return "is too short";
    }
    for (unsigned i = 0; i < r.table_len; i++) {
        r.table[i] = lduw_le_p(data + 8 + 2 * i);
    }
    *tx_pairs = lduw_le_p(data + tail);
    r.key_len = data[tail + 2];
    if (r.key_len > MVNET_RSS_KEY_MAX || len != tail + 3 + r.key_len) {
        return "has a key longer than 40 bytes or a wrong length";
    }
    memcpy(r.key, data + tail + 3, r.key_len);
    if (!mvnet_rss_valid(&r, pairs)) {
        return "has hash types not offered, a table length not a power of "
               "2 or queues that do not exist";
    }
    if (*tx_pairs < 1 || *tx_pairs > pairs) {
        return "has max_tx_vq out of range";
    }
    *rss = r;
    return NULL;
}

/*
 * Where the key length is in HASH_CONFIG's data (@len bytes), or 0 when
 * the length is wrong.  struct virtio_net_hash_config is le32 hash_types,
 * 8 reserved bytes, u8 hash_key_length, then the key, nothing more.  Linux
 * 6.1 (Debian 12) sends RSS_CONFIG's layout instead, with its whole
 * indirection table (the same bytes for a one-entry table); that is taken
 * too, the table and max_tx_vq ignored.
 */
static size_t mvnet_hash_key_len_at(const uint8_t *data, size_t len)
{
    size_t at;

    if (len >= 13 && len == 13 + data[12]) {
        return 12;
    }
    if (len < 8) {
        return 0;
    }
    at = 8 + 2 * ((size_t)lduw_le_p(data + 4) + 1) + 2;
    return len > at && len == at + 1 + data[at] ? at : 0;
}

const char *mvnet_hash_config(MvnetRss *rss, const uint8_t *data,
                              size_t len)
{
    size_t at = mvnet_hash_key_len_at(data, len);
    MvnetRss r;

    if (!at) {
        return "has a wrong length";
    }
    mvnet_rss_reset(&r);
    r.hash_types = ldl_le_p(data);
    r.key_len = data[at];
    if (r.key_len > MVNET_RSS_KEY_MAX) {
        return "has a key longer than 40 bytes";
    }
    if (r.hash_types & ~MVNET_RSS_HASH_TYPES) {
        return "has hash types not offered";
    }
    memcpy(r.key, data + at + 1, r.key_len);
    *rss = r;
    return NULL;
}

const VMStateDescription vmstate_mvnet_rss = {
    .name = "mvnet-rss",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_BOOL(enabled, MvnetRss),
        VMSTATE_UINT32(hash_types, MvnetRss),
        VMSTATE_UINT16(table_len, MvnetRss),
        VMSTATE_UINT16(unclassified, MvnetRss),
        VMSTATE_UINT16_ARRAY(table, MvnetRss, MVNET_RSS_TABLE_MAX),
        VMSTATE_UINT8(key_len, MvnetRss),
        VMSTATE_UINT8_ARRAY(key, MvnetRss, MVNET_RSS_KEY_MAX),
        VMSTATE_END_OF_LIST()
    },
};
