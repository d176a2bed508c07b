// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * offloadcheck: in-guest check of a loopback NIC's offloads.
 *
 * Sends COUNT frames through an AF_PACKET socket with a virtio-net header
 * (PACKET_VNET_HDR), one at a time, and checks what comes back through
 * the driver.  Checksum offload: each frame leaves its checksum to the NIC
 * (NEEDS_CSUM: the 16-bit field at START + 6 holds a partial sum, the rest
 * from START to the end is to be added), sizes spread up to the MTU:
 *
 *   -e partial   (the receiver takes the request, GUEST_CSUM): the header
 *                says NEEDS_CSUM with the same start and offset, and the
 *                frame is as sent;
 *   -e complete  (it does not): the header asks nothing, the checksum is
 *                right, and every other byte is as sent.
 *
 * TCP segmentation offload: each frame is an IPv4/TCP frame of 8000 to
 * 58000 payload bytes handed over whole (gso_type TCPv4, gso_size 1448),
 * as the kernel's TCP stack does:
 *
 *   -e whole     (the receiver takes TSO, GUEST_TSO4): it comes back as one
 *                frame, its TSO header intact, as sent;
 *   -e segments  (it does not, and the stack does not merge: GRO off): it
 *                comes back as 1448-byte segments with consecutive
 *                sequence numbers that hold the payload.
 *
 * Prints one machine-readable line and exits 0 only when every frame came
 * back as expected:
 *
 *   OFFLOADCHECK iface=eth0 expect=partial sent=N intact=N bad=N lost=N
 *
 * Usage: offloadcheck [-i IFACE] [-n COUNT]
 *                     -e partial|complete|whole|segments
 */

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/ip.h>
#include <linux/tcp.h>
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

#define TSO_MSS         1448
#define TSO_L4          (ETH_HLEN + 20)
#define TSO_HDR         (TSO_L4 + 20)

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

/* TSO frame @seq's payload length and byte @i of it */
static unsigned tso_payload(uint32_t seq)
{
    return 8000 + (seq * 7919u) % 50001;
}

static uint8_t tso_byte(uint32_t seq, unsigned i)
{
    return (uint8_t)(seq * 17u + i * 13u + (i >> 9));
}

/* An IPv4/TCP frame, checksum field holding the pseudo-header's sum. */
static unsigned build_tso(uint8_t *f, const uint8_t *mac, uint32_t seq)
{
    unsigned payload = tso_payload(seq), len = TSO_HDR + payload;
    uint8_t *ip = f + ETH_HLEN, *tcp = f + TSO_L4;

    memset(f, 0, TSO_HDR);
    memcpy(f, mac, ETH_ALEN);
    memcpy(f + ETH_ALEN, mac, ETH_ALEN);
    f[12] = ETH_P_IP >> 8;
    f[13] = ETH_P_IP & 0xff;
    ip[0] = 0x45;
    ip[2] = (40 + payload) >> 8;
    ip[3] = (40 + payload) & 0xff;
    ip[4] = seq >> 8;
    ip[5] = seq & 0xff;
    ip[6] = 0x40;                       /* don't fragment */
    ip[8] = 64;
    ip[9] = IPPROTO_TCP;
    put_be32(ip + 12, 0xc0000201);      /* 192.0.2.1 -> 192.0.2.2 */
    put_be32(ip + 16, 0xc0000202);
    ip[10] = ~csum_add(ip, 20, 0) >> 8;
    ip[11] = ~csum_add(ip, 20, 0) & 0xff;
    tcp[0] = 40000 >> 8;
    tcp[1] = 40000 & 0xff;
    tcp[3] = 9;
    put_be32(tcp + 4, seq << 16);
    tcp[12] = 5 << 4;
    tcp[13] = 0x18;                     /* PSH, ACK */
    tcp[14] = tcp[15] = 0xff;
    for (unsigned i = 0; i < payload; i++) {
        f[TSO_HDR + i] = tso_byte(seq, i);
    }
    tcp[16] = csum_add(ip + 12, 8, IPPROTO_TCP + 20 + payload) >> 8;
    tcp[17] = csum_add(ip + 12, 8, IPPROTO_TCP + 20 + payload) & 0xff;
    return len;
}

/* Frame @seq came back whole: its TSO header and every byte as sent. */
static bool tso_whole_ok(const struct virtio_net_hdr *h, const uint8_t *got,
                         size_t n, const uint8_t *mac, uint32_t seq)
{
    static uint8_t want[65536];
    unsigned len = build_tso(want, mac, seq);

    return n == len && h->gso_type == VIRTIO_NET_HDR_GSO_TCPV4 &&
           h->gso_size == TSO_MSS && !memcmp(got, want, len);
}

/*
 * One segment of frame @seq: the payload bytes it holds, in order from
 * *@next; false when it is not one (no TSO header, too long, wrong bytes).
 */
static bool tso_segment_ok(const struct virtio_net_hdr *h, const uint8_t *got,
                           size_t n, uint32_t seq, unsigned *next)
{
    unsigned payload = tso_payload(seq), off, len;

    if (h->gso_type != VIRTIO_NET_HDR_GSO_NONE || n < TSO_HDR ||
        n > TSO_HDR + TSO_MSS) {
        return false;
    }
    off = get_be32(got + TSO_L4 + 4) - (seq << 16);
    len = n - TSO_HDR;
    if (off != *next || off + len > payload ||
        ((got[ETH_HLEN + 2] << 8) | got[ETH_HLEN + 3]) != 40 + len) {
        return false;
    }
    for (unsigned i = 0; i < len; i++) {
        if (got[TSO_HDR + i] != tso_byte(seq, off + i)) {
            return false;
        }
    }
    *next += len;
    return true;
}

/* Send TSO frame @seq; wait for it whole or in segments. */
static int tso_round(int fd, uint8_t *buf, const uint8_t *mac, uint32_t seq,
                     bool whole)
{
    struct virtio_net_hdr h = {
        .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
        .gso_type = VIRTIO_NET_HDR_GSO_TCPV4,
        .hdr_len = TSO_HDR,
        .gso_size = TSO_MSS,
        .csum_start = TSO_L4,
        .csum_offset = 16,
    };
    unsigned len = build_tso(buf, mac, seq), next = 0;
    struct iovec iov[2] = { { &h, sizeof(h) }, { buf, len } };
    struct pollfd pfd = { .fd = fd, .events = POLLIN };

    if (writev(fd, iov, 2) != (ssize_t)(sizeof(h) + len)) {
        perror("offloadcheck: send");
        return -1;
    }
    iov[1].iov_len = 65536;
    while (next < tso_payload(seq)) {
        ssize_t r;
        size_t n;

        if (poll(&pfd, 1, OC_TIMEOUT_MS) <= 0) {
            return next ? OC_BAD : OC_LOST;
        }
        r = readv(fd, iov, 2);
        if (r < (ssize_t)(sizeof(h) + TSO_HDR) ||
            get_be32(buf + TSO_L4 + 4) >> 16 != seq) {
            continue;       /* not ours, or a late one */
        }
        n = r - sizeof(h);
        if (whole) {
            return tso_whole_ok(&h, buf, n, mac, seq) ? OC_INTACT : OC_BAD;
        }
        if (!tso_segment_ok(&h, buf, n, seq, &next)) {
            return OC_BAD;
        }
    }
    return OC_INTACT;
}

static void usage(void)
{
    fprintf(stderr, "usage: offloadcheck [-i IFACE] [-n COUNT] "
            "-e partial|complete|whole|segments\n");
    exit(2);
}

static int open_socket(const char *iface, uint16_t proto, uint8_t *mac,
                       unsigned *max)
{
    struct sockaddr_ll sll = { 0 };
    struct ifreq ifr = { 0 };
    int one = 1, fd;

    fd = socket(AF_PACKET, SOCK_RAW, htons(proto));
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
    sll.sll_protocol = htons(proto);
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
    bool tso;
    int c, fd;

    while ((c = getopt(argc, argv, "i:n:e:")) != -1) {
        switch (c) {
        case 'i': iface = optarg; break;
        case 'n': count = strtoul(optarg, NULL, 0); break;
        case 'e': expect = optarg; break;
        default: usage();
        }
    }
    tso = expect && (!strcmp(expect, "whole") || !strcmp(expect, "segments"));
    if (!expect || (!tso && strcmp(expect, "partial") &&
                    strcmp(expect, "complete"))) {
        usage();
    }
    fd = open_socket(iface, tso ? ETH_P_IP : OC_ETHERTYPE, mac, &max);
    if (fd < 0) {
        return 2;
    }
    for (uint32_t seq = 0; seq < count; seq++) {
        int r;

        if (tso) {
            r = tso_round(fd, buf, mac, seq, !strcmp(expect, "whole"));
        } else if (!send_frame(fd, buf, mac, seq, frame_len(seq, max))) {
            return 2;
        } else {
            r = receive_frame(fd, buf, mac, seq, max,
                              !strcmp(expect, "partial"));
        }
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
