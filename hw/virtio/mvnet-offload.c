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
#include "mvnet-offload.h"

bool mvnet_offload_needs_csum(const struct virtio_net_hdr *h)
{
    return h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM;
}

const char *mvnet_offload_check_tx(const struct virtio_net_hdr *h,
                                   uint64_t len, uint64_t features)
{
    uint64_t start = le16_to_cpu(h->csum_start);
    uint64_t offset = le16_to_cpu(h->csum_offset);

    if (h->flags & ~VIRTIO_NET_HDR_F_NEEDS_CSUM) {
        return "header flags other than NEEDS_CSUM";
    }
    if (h->gso_type != VIRTIO_NET_HDR_GSO_NONE) {
        return "a GSO type, which was not offered";
    }
    if (!mvnet_offload_needs_csum(h)) {
        return NULL;
    }
    if (!(features & (1ULL << VIRTIO_NET_F_CSUM))) {
        return "NEEDS_CSUM without VIRTIO_NET_F_CSUM";
    }
    /* The 16-bit checksum field lies inside the checksummed bytes. */
    if (start + offset + 2 > len) {
        return "a checksum field past the end of the frame";
    }
    return NULL;
}

bool mvnet_offload_rx_hdr(const struct virtio_net_hdr *tx,
                          uint64_t guest_offloads, struct virtio_net_hdr *rx)
{
    memset(rx, 0, sizeof(*rx));
    if (!mvnet_offload_needs_csum(tx)) {
        return true;
    }
    if (!(guest_offloads & (1ULL << VIRTIO_NET_F_GUEST_CSUM))) {
        return false;
    }
    rx->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
    rx->csum_start = tx->csum_start;
    rx->csum_offset = tx->csum_offset;
    return true;
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
