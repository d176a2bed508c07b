// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * offloadcheck: in-guest check of a loopback NIC's checksum offload.
 *
 * Sends COUNT frames through an AF_PACKET socket with a virtio-net header
 * (PACKET_VNET_HDR) that leaves a checksum to the NIC (NEEDS_CSUM: the
 * 16-bit field at START + 6 holds a partial sum, the rest from START to
 * the end is to be added), one at a time, sizes spread up to the MTU, and
 * checks each frame that comes back:
 *
 *   -e partial   (the receiver takes the request, GUEST_CSUM): the header
 *                says NEEDS_CSUM with the same start and offset, and the
 *                frame is as sent;
 *   -e complete  (it does not): the header asks nothing, the checksum is
 *                right, and every other byte is as sent.
 *
 * Prints one machine-readable line and exits 0 only when every frame came
 * back as expected:
 *
 *   OFFLOADCHECK iface=eth0 expect=partial sent=N intact=N bad=N lost=N
 *
 * Usage: offloadcheck [-i IFACE] [-n COUNT] -e partial|complete
 */

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/virtio_net.h>
#include <net/if.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#define OC_ETHERTYPE    0x88b5          /* IEEE 802 local experimental */
#define OC_MAGIC        0x43535546u     /* "CSUF" */
#define OC_START        (ETH_HLEN + 16) /* csum_start: after magic, seq */
#define OC_OFFSET       6               /* the field, as in UDP */
#define OC_MIN          (OC_START + 8)
#define OC_TIMEOUT_MS   2000

enum { OC_INTACT, OC_BAD, OC_LOST };

#ifndef PACKET_IGNORE_OUTGOING
#define PACKET_IGNORE_OUTGOING 23
#endif

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = v;
}

static uint32_t get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3];
}

/* The ones' complement sum of big-endian 16-bit words, folded. */
static uint16_t csum_add(const uint8_t *p, size_t len, uint32_t sum)
{
    for (size_t i = 0; i < len; i++) {
        sum += i & 1 ? p[i] : (uint32_t)p[i] << 8;
    }
    while (sum >> 16) {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    return sum;
}

/* The partial sum a sender leaves in frame @seq's field. */
static uint16_t partial_of(uint32_t seq)
{
    return (uint16_t)(seq * 40503u + 1);
}

static unsigned frame_len(uint32_t seq, unsigned max)
{
    return OC_MIN + (unsigned)(((uint64_t)seq * 7919u) % (max - OC_MIN + 1));
}

static void build_frame(uint8_t *f, const uint8_t *mac, uint32_t seq,
                        unsigned len)
{
    memcpy(f, mac, ETH_ALEN);
    memcpy(f + ETH_ALEN, mac, ETH_ALEN);
    f[12] = OC_ETHERTYPE >> 8;
    f[13] = OC_ETHERTYPE & 0xff;
    put_be32(f + ETH_HLEN, OC_MAGIC);
    put_be32(f + ETH_HLEN + 4, seq);
    put_be32(f + ETH_HLEN + 8, len);
    put_be32(f + ETH_HLEN + 12, 0);
    for (unsigned i = OC_START; i < len; i++) {
        f[i] = (uint8_t)(seq * 131u + i * 7u + (i >> 8));
    }
    f[OC_START + OC_OFFSET] = partial_of(seq) >> 8;
    f[OC_START + OC_OFFSET + 1] = partial_of(seq) & 0xff;
}

/* Whether frame @seq came back as @expect says, header @h, @n bytes. */
static bool frame_ok(const struct virtio_net_hdr *h, uint8_t *got, size_t n,
                     const uint8_t *mac, uint32_t seq, unsigned max,
                     bool partial)
{
    static uint8_t want[65536];
    unsigned len = frame_len(seq, max);
    uint8_t *field = got + OC_START + OC_OFFSET;

    if (n != len) {
        return false;
    }
    build_frame(want, mac, seq, len);
    if (partial) {
        return (h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) &&
               h->csum_start == OC_START && h->csum_offset == OC_OFFSET &&
               !memcmp(got, want, len);
    }
    /* Complete: the field makes the sum with the partial one 0xffff. */
    if ((h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) ||
        csum_add(got + OC_START, len - OC_START, partial_of(seq)) != 0xffff) {
        return false;
    }
    memcpy(field, want + OC_START + OC_OFFSET, 2);
    return !memcmp(got, want, len);
}

static void usage(void)
{
    fprintf(stderr, "usage: offloadcheck [-i IFACE] [-n COUNT] "
            "-e partial|complete\n");
    exit(2);
}

static int open_socket(const char *iface, uint8_t *mac, unsigned *max)
{
    struct sockaddr_ll sll = { 0 };
    struct ifreq ifr = { 0 };
    int one = 1, fd;

    fd = socket(AF_PACKET, SOCK_RAW, htons(OC_ETHERTYPE));
    if (fd < 0) {
        perror("offloadcheck: socket");
        return -1;
    }
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", iface);
    if (ioctl(fd, SIOCGIFINDEX, &ifr) < 0) {
        perror("offloadcheck: SIOCGIFINDEX");
        return -1;
    }
    sll.sll_family = AF_PACKET;
    sll.sll_protocol = htons(OC_ETHERTYPE);
    sll.sll_ifindex = ifr.ifr_ifindex;
    if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0 ||
        ioctl(fd, SIOCGIFMTU, &ifr) < 0) {
        perror("offloadcheck: SIOCGIFHWADDR/MTU");
        return -1;
    }
    memcpy(mac, ifr.ifr_hwaddr.sa_data, ETH_ALEN);
    *max = ifr.ifr_mtu + ETH_HLEN;
    if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0 ||
        setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof(one)) < 0) {
        perror("offloadcheck: bind/PACKET_VNET_HDR");
        return -1;
    }
    setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one));
    return fd;
}

/* Send frame @seq with a header that leaves its checksum to the NIC. */
static bool send_frame(int fd, uint8_t *buf, const uint8_t *mac,
                       uint32_t seq, unsigned len)
{
    struct virtio_net_hdr h = {
        .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
        .csum_start = OC_START,
        .csum_offset = OC_OFFSET,
    };
    struct iovec iov[2] = { { &h, sizeof(h) }, { buf, len } };

    build_frame(buf, mac, seq, len);
    if (writev(fd, iov, 2) != (ssize_t)(sizeof(h) + len)) {
        perror("offloadcheck: send");
        return false;
    }
    return true;
}

/* Wait for frame @seq: OC_INTACT, OC_BAD, OC_LOST, or -1 on error. */
static int receive_frame(int fd, uint8_t *buf, const uint8_t *mac,
                         uint32_t seq, unsigned max, bool partial)
{
    struct pollfd pfd = { .fd = fd, .events = POLLIN };
    struct virtio_net_hdr h;
    struct iovec iov[2] = { { &h, sizeof(h) }, { buf, 65536 } };
    ssize_t n;

    for (;;) {
        int r = poll(&pfd, 1, OC_TIMEOUT_MS);

        if (r < 0 && errno != EINTR) {
            perror("offloadcheck: poll");
            return -1;
        }
        if (r == 0) {
            return OC_LOST;
        }
        n = readv(fd, iov, 2);
        if (n < (ssize_t)(sizeof(h) + OC_MIN) ||
            get_be32(buf + ETH_HLEN) != OC_MAGIC ||
            get_be32(buf + ETH_HLEN + 4) != seq) {
            continue;       /* not ours, or a late one */
        }
        return frame_ok(&h, buf, n - sizeof(h), mac, seq, max, partial)
               ? OC_INTACT : OC_BAD;
    }
}

int main(int argc, char **argv)
{
    const char *iface = "eth0", *expect = NULL;
    unsigned long count = 200, intact = 0, bad = 0, lost = 0;
    static uint8_t buf[65536];
    uint8_t mac[ETH_ALEN];
    unsigned max;
    int c, fd;

    while ((c = getopt(argc, argv, "i:n:e:")) != -1) {
        switch (c) {
        case 'i': iface = optarg; break;
        case 'n': count = strtoul(optarg, NULL, 0); break;
        case 'e': expect = optarg; break;
        default: usage();
        }
    }
    if (!expect || (strcmp(expect, "partial") && strcmp(expect, "complete"))) {
        usage();
    }
    fd = open_socket(iface, mac, &max);
    if (fd < 0) {
        return 2;
    }
    for (uint32_t seq = 0; seq < count; seq++) {
        int r;

        if (!send_frame(fd, buf, mac, seq, frame_len(seq, max))) {
            return 2;
        }
        r = receive_frame(fd, buf, mac, seq, max, !strcmp(expect, "partial"));
        if (r < 0) {
            return 2;
        }
        intact += r == OC_INTACT;
        bad += r == OC_BAD;
        lost += r == OC_LOST;
    }
    printf("OFFLOADCHECK iface=%s expect=%s sent=%lu intact=%lu bad=%lu "
           "lost=%lu\n", iface, expect, count, intact, bad, lost);
    fflush(stdout);
    return intact == count ? 0 : 1;
}
