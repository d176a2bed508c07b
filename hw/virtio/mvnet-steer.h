/*
 * mvnet-steer: which receive queue a frame from a network backend takes
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * With several queue pairs in use (VIRTIO_NET_F_MQ), the frames of one
 * flow must reach the guest in order, so on one receive queue, and both
 * directions of a connection on the same one (the guest then transmits
 * its replies from the CPU that took them).  A symmetric hash of the IPv4
 * or IPv6 addresses and the TCP or UDP ports does both; fragments, other
 * protocols and frames too short to parse use the addresses alone or go
 * to the first queue.  No QOM and no guest memory here.
 */
#ifndef HW_VIRTIO_MVNET_STEER_H
#define HW_VIRTIO_MVNET_STEER_H

/* The queue pair (0..@pairs-1) for the Ethernet frame @buf of @size bytes */
unsigned mvnet_steer(const uint8_t *buf, size_t size, unsigned pairs);

#endif /* HW_VIRTIO_MVNET_STEER_H */
