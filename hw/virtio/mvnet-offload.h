/*
 * mvnet's offloads: the virtio-net header of a frame
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * A transmitted frame's header is checked against what was negotiated:
 * with VIRTIO_NET_F_CSUM the driver may leave a checksum to the device
 * (NEEDS_CSUM: csum_start, csum_offset), with HOST_TSO4/TSO6 (and ECN)
 * hand it a TCP frame of up to 64 KiB to cut into gso_size segments.  A
 * looped frame keeps such a request only if the receiving side takes it
 * (GUEST_CSUM, GUEST_TSO4/TSO6/ECN, on in the driver's guest offloads,
 * VIRTIO_NET_CTRL_GUEST_OFFLOADS_SET); otherwise the device completes the
 * checksum, or cuts the segments, first.  No QOM and no guest memory
 * here: the caller hands in headers and frames, little-endian as on the
 * wire.
 */
#ifndef HW_VIRTIO_MVNET_OFFLOAD_H
#define HW_VIRTIO_MVNET_OFFLOAD_H

#include "standard-headers/linux/virtio_net.h"

/* The guest offloads (the bits GUEST_OFFLOADS_SET may turn on) */
#define MVNET_GUEST_OFFLOADS \
    ((1ULL << VIRTIO_NET_F_GUEST_CSUM) | (1ULL << VIRTIO_NET_F_GUEST_TSO4) | \
     (1ULL << VIRTIO_NET_F_GUEST_TSO6) | (1ULL << VIRTIO_NET_F_GUEST_ECN))

/* The offloads a transmitted frame's header may ask of the device */
#define MVNET_HOST_OFFLOADS \
    ((1ULL << VIRTIO_NET_F_CSUM) | (1ULL << VIRTIO_NET_F_HOST_TSO4) | \
     (1ULL << VIRTIO_NET_F_HOST_TSO6) | (1ULL << VIRTIO_NET_F_HOST_ECN))

/*
 * Features that enable offloads; with a netdev offered only when it takes
 * virtio-net headers (tap, see mvnet.c)
 */
#define MVNET_OFFLOAD_FEATURES \
    (MVNET_GUEST_OFFLOADS | MVNET_HOST_OFFLOADS | \
     (1ULL << VIRTIO_NET_F_CTRL_GUEST_OFFLOADS))

/* @features without the offloads whose dependencies are not in it. */
uint64_t mvnet_offload_offerable(uint64_t features);

/* NULL when @features meet the offloads' dependencies, else which not. */
const char *mvnet_offload_check_features(uint64_t features);

/*
 * Check a transmitted @len-byte frame's header @h (the frame without the
 * header) under @features: NULL when it is valid, else why it is not.
 */
const char *mvnet_offload_check_tx(const struct virtio_net_hdr *h,
                                   uint64_t len, uint64_t features);

typedef enum MvnetRxHow {
    MVNET_RX_AS_IS,         /* with the header mvnet_offload_rx_hdr built */
    MVNET_RX_CSUM,          /* complete the checksum first */
    MVNET_RX_SEGMENT,       /* cut the segments first */
    MVNET_RX_BAD,           /* a netdev's header that is not valid */
} MvnetRxHow;

/*
 * How a frame transmitted with the valid header @tx is received by a
 * driver whose guest offloads are @guest_offloads; for MVNET_RX_AS_IS,
 * @rx is the header it is received with (num_buffers aside).
 */
MvnetRxHow mvnet_offload_rx_hdr(const struct virtio_net_hdr *tx,
                                uint64_t guest_offloads,
                                struct virtio_net_hdr *rx);

/*
 * As mvnet_offload_rx_hdr, for the header @in of a @len-byte frame that a
 * netdev with virtio-net headers (tap) delivered: MVNET_RX_BAD, with
 * *@why, unless it is a valid transmitted header apart from DATA_VALID,
 * which is kept when the driver takes GUEST_CSUM.
 */
MvnetRxHow mvnet_offload_netdev_hdr(const struct virtio_net_hdr *in,
                                    uint64_t len, uint64_t guest_offloads,
                                    struct virtio_net_hdr *rx,
                                    const char **why);

/* Complete the checksum the valid header @h asks for in @frame. */
void mvnet_offload_csum(uint8_t *frame, uint64_t len,
                        const struct virtio_net_hdr *h);

/* Whether GUEST_OFFLOADS_SET may turn on @offloads under @features. */
bool mvnet_offload_allowed(uint64_t offloads, uint64_t features);

/* A TSO frame's cut: where its headers end, how many segments. */
typedef struct MvnetGso {
    unsigned l3;            /* IPv4 or IPv6 header */
    unsigned l4;            /* TCP header */
    unsigned hdr;           /* the headers' length: payload from here */
    bool v6;
    unsigned mss;           /* payload bytes per segment */
    unsigned nseg;
    uint64_t len;
} MvnetGso;

/*
 * Plan the segments of the @len-byte frame @frame sent with the valid
 * TSO header @h: NULL, or why the frame cannot be cut (its headers are
 * not Ethernet, an optional VLAN tag, IPv4 or IPv6 without extension
 * headers, and TCP, as the GSO type says).
 */
const char *mvnet_gso_plan(const uint8_t *frame, uint64_t len,
                           const struct virtio_net_hdr *h, MvnetGso *g);

/* The length of segment @i of @g. */
uint64_t mvnet_gso_seg_len(const MvnetGso *g, unsigned i);

/*
 * Build segment @i of @g from @frame into @out (mvnet_gso_seg_len bytes):
 * lengths, IPv4 id and header checksum, TCP sequence number and flags
 * fixed; its TCP checksum left to complete as the header @seg_hdr says.
 */
void mvnet_gso_segment(const MvnetGso *g, const uint8_t *frame, unsigned i,
                       uint8_t *out, struct virtio_net_hdr *seg_hdr);

#endif
