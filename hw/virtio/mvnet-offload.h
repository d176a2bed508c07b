/*
 * mvnet's offloads: the virtio-net header of a frame
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * A transmitted frame's header is checked against what was negotiated
 * (VIRTIO_NET_F_CSUM: the driver may leave a checksum to the device, as
 * NEEDS_CSUM with csum_start and csum_offset).  A looped frame keeps that
 * request only if the receiving side takes it (GUEST_CSUM, on in the
 * driver's guest offloads, VIRTIO_NET_CTRL_GUEST_OFFLOADS_SET); otherwise
 * the device completes the checksum first.  No QOM and no guest memory
 * here: the caller hands in headers and frames, little-endian as on the
 * wire.
 */
#ifndef HW_VIRTIO_MVNET_OFFLOAD_H
#define HW_VIRTIO_MVNET_OFFLOAD_H

#include "standard-headers/linux/virtio_net.h"

/* Features that enable offloads; not offered with a netdev (see mvnet.c) */
#define MVNET_OFFLOAD_FEATURES \
    ((1ULL << VIRTIO_NET_F_CSUM) | (1ULL << VIRTIO_NET_F_GUEST_CSUM) | \
     (1ULL << VIRTIO_NET_F_CTRL_GUEST_OFFLOADS))

/* The guest offloads (the bits GUEST_OFFLOADS_SET may turn on) */
#define MVNET_GUEST_OFFLOADS    (1ULL << VIRTIO_NET_F_GUEST_CSUM)

/*
 * Check a transmitted @len-byte frame's header @h (the frame without the
 * header) under @features: NULL when it is valid, else why it is not.
 */
const char *mvnet_offload_check_tx(const struct virtio_net_hdr *h,
                                   uint64_t len, uint64_t features);

/* Whether @h asks the device for a checksum. */
bool mvnet_offload_needs_csum(const struct virtio_net_hdr *h);

/*
 * The header a frame transmitted with the valid header @tx is received
 * with, by a driver whose guest offloads are @guest_offloads; false when
 * that driver does not take the request: complete the checksum first
 * (mvnet_offload_csum) and receive it with a zeroed header.
 */
bool mvnet_offload_rx_hdr(const struct virtio_net_hdr *tx,
                          uint64_t guest_offloads, struct virtio_net_hdr *rx);

/* Complete the checksum the valid header @h asks for in @frame. */
void mvnet_offload_csum(uint8_t *frame, uint64_t len,
                        const struct virtio_net_hdr *h);

/* Whether GUEST_OFFLOADS_SET may turn on @offloads under @features. */
bool mvnet_offload_allowed(uint64_t offloads, uint64_t features);

#endif
