// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * loopcheck: in-guest check of a device-side Ethernet loopback.
 *
 * Sends COUNT frames on an interface through an AF_PACKET socket, several
 * in flight, with sizes spread from MIN to MAX bytes (both ends included),
 * and checks that every frame comes back as a received frame, intact and in
 * order.  Prints one machine-readable line:
 *
 *   LOOPCHECK iface=eth0 sent=N intact=N corrupted=N lost=N reordered=N
 *             duplicate=N bytes=N secs=S fps=F mbps=M sockdrops=N
 *
 * (sockdrops: frames the packet socket dropped itself, its buffer full;
 * lost frames with sockdrops=0 never reached the socket).
 *
 * and exits 0 only when every frame came back intact and in order.
 *
 * Usage: loopcheck [-i IFACE] [-n COUNT] [-w WINDOW] [-m MIN] [-M MAX]
 *                  [-t TIMEOUT_MS] [-s STREAM -c CPU]
 * MAX defaults to the interface MTU + 14 (the Ethernet header).  Several
 * loopchecks run at once with different STREAMs (0..15, in the line as
 * stream=N): each sends its own frames and ignores the others', which a
 * socket filter drops before they take room in its receive buffer (a
 * stream whose CPU is busy would otherwise lose its own frames to the
 * others' and report them lost).  CPU pins it (the NIC then sends from
 * that CPU's transmit queue).
 */
#define _GNU_SOURCE

#include <arpa/inet.h>
#include <errno.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define LC_ETHERTYPE    0x88b5          /* IEEE 802 local experimental */
#define LC_MAGIC        0x4d444556u     /* "MDEV", + the stream */
#define LC_STREAMS      16
#define LC_HDR_LEN      (ETH_HLEN + 12) /* eth + magic, seq, len, pad */
#define LC_MIN_FRAME    60

#ifndef PACKET_IGNORE_OUTGOING
#define PACKET_IGNORE_OUTGOING 23
#endif

struct lc_opts {
    const char *iface;
    unsigned count;
    unsigned window;
    unsigned min;
    unsigned max;
    int timeout_ms;
    unsigned stream;
};

struct lc_stats {
    unsigned long sent, intact, corrupted, reordered, duplicate, seen;
    unsigned long long bytes;
};

static uint8_t pattern_byte(uint32_t seq, unsigned i)
{
    return (uint8_t)(seq * 131u + i * 7u + (i >> 8));
}

/* Frame length of frame SEQ: MIN first, MAX second, then spread. */
static unsigned frame_len(const struct lc_opts *o, uint32_t seq)
{
    unsigned span = o->max - o->min + 1;

    if (seq == 0) {
        return o->min;
    }
    if (seq == 1) {
        return o->max;
    }
    return o->min + (unsigned)(((uint64_t)seq * 7919u) % span);
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = v;
}

static uint32_t get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
           (uint32_t)p[2] << 8 | p[3];
}

static void build_frame(uint8_t *buf, const uint8_t *mac, uint32_t seq,
                        unsigned len, unsigned stream)
{
    memcpy(buf, mac, ETH_ALEN);
    memcpy(buf + ETH_ALEN, mac, ETH_ALEN);
    buf[12] = LC_ETHERTYPE >> 8;
    buf[13] = LC_ETHERTYPE & 0xff;
    put_be32(buf + 14, LC_MAGIC + stream);
    put_be32(buf + 18, seq);
    put_be32(buf + 22, len);
    for (unsigned i = LC_HDR_LEN; i < len; i++) {
        buf[i] = pattern_byte(seq, i);
    }
}

/* Returns true when BUF (N bytes) is exactly frame SEQ as sent. */
static bool frame_intact(const uint8_t *buf, size_t n, const uint8_t *mac,
                         uint32_t seq, const struct lc_opts *o)
{
    unsigned len = frame_len(o, seq);

    if (n != len || memcmp(buf, mac, ETH_ALEN) ||
        memcmp(buf + ETH_ALEN, mac, ETH_ALEN) || get_be32(buf + 22) != len) {
        return false;
    }
    for (unsigned i = LC_HDR_LEN; i < len; i++) {
        if (buf[i] != pattern_byte(seq, i)) {
            return false;
        }
    }
    return true;
}

static double now_secs(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void usage(void)
{
    fprintf(stderr, "usage: loopcheck [-i IFACE] [-n COUNT] [-w WINDOW] "
            "[-m MIN] [-M MAX] [-t TIMEOUT_MS] [-s STREAM -c CPU]\n");
    exit(2);
}

/*
 * Drop, in the kernel, frames that carry another stream's magic; every
 * other frame, ours or mangled, reaches the socket (a mangled one counts
 * as corrupted).
 */
static int drop_other_streams(int fd, unsigned stream)
{
    struct sock_filter code[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ETH_HLEN),   /* the magic */
        BPF_STMT(BPF_ALU | BPF_SUB | BPF_K, LC_MAGIC),
        BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, LC_STREAMS, 1, 0),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, stream, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, 0xffffffff),          /* keep it */
        BPF_STMT(BPF_RET | BPF_K, 0),                   /* another's */
    };
    struct sock_fprog prog = {
        .len = sizeof(code) / sizeof(code[0]), .filter = code,
    };

    return setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog));
}

int main(int argc, char **argv)
{
    struct lc_opts o = {
        .iface = "eth0", .count = 1000, .window = 8, .min = LC_MIN_FRAME,
        .max = 0, .timeout_ms = 3000,
    };
    struct lc_stats st = { 0 };
    struct sockaddr_ll sll = { 0 };
    struct ifreq ifr = { 0 };
    uint8_t mac[ETH_ALEN], *seen_map, *buf;
    unsigned long written_off = 0;
    uint32_t next_in_order = 0;
    double t0, secs;
    struct tpacket_stats tp = { 0 };
    socklen_t tpl = sizeof(tp);
    int c, fd, one = 1, cpu = -1;

    while ((c = getopt(argc, argv, "i:n:w:m:M:t:s:c:")) != -1) {
        switch (c) {
        case 'i': o.iface = optarg; break;
        case 'n': o.count = strtoul(optarg, NULL, 0); break;
        case 'w': o.window = strtoul(optarg, NULL, 0); break;
        case 'm': o.min = strtoul(optarg, NULL, 0); break;
        case 'M': o.max = strtoul(optarg, NULL, 0); break;
        case 't': o.timeout_ms = strtol(optarg, NULL, 0); break;
        case 's': o.stream = strtoul(optarg, NULL, 0); break;
        case 'c': cpu = strtol(optarg, NULL, 0); break;
        default: usage();
        }
    }
    if (o.stream >= LC_STREAMS) {
        usage();
    }
    if (cpu >= 0) {
        cpu_set_t set;

        CPU_ZERO(&set);
        CPU_SET(cpu, &set);
        if (sched_setaffinity(0, sizeof(set), &set) < 0) {
            perror("loopcheck: sched_setaffinity");
            return 2;
        }
    }

    /* Protocol 0: nothing arrives before the filter is in and bind(). */
    fd = socket(AF_PACKET, SOCK_RAW, 0);
    if (fd < 0) {
        perror("loopcheck: socket");
        return 2;
    }
    if (drop_other_streams(fd, o.stream) < 0) {
        perror("loopcheck: SO_ATTACH_FILTER");
        return 2;
    }
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", o.iface);
    if (ioctl(fd, SIOCGIFINDEX, &ifr) < 0) {
        perror("loopcheck: SIOCGIFINDEX");
        return 2;
    }
    sll.sll_family = AF_PACKET;
    sll.sll_protocol = htons(LC_ETHERTYPE);
    sll.sll_ifindex = ifr.ifr_ifindex;
    if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0) {
        perror("loopcheck: SIOCGIFHWADDR");
        return 2;
    }
    memcpy(mac, ifr.ifr_hwaddr.sa_data, ETH_ALEN);
    if (o.max == 0) {
        if (ioctl(fd, SIOCGIFMTU, &ifr) < 0) {
            perror("loopcheck: SIOCGIFMTU");
            return 2;
        }
        o.max = ifr.ifr_mtu + ETH_HLEN;
    }
    if (o.min < LC_HDR_LEN || o.max < o.min || o.max > 65535 ||
        o.count == 0 || o.window == 0) {
        usage();
    }
    if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
        perror("loopcheck: bind");
        return 2;
    }
    /* Our own transmissions are not received frames. */
    setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one));

    seen_map = calloc(o.count, 1);
    buf = malloc(65536);
    if (!seen_map || !buf) {
        fprintf(stderr, "loopcheck: out of memory\n");
        return 2;
    }

    t0 = now_secs();
    while (st.sent < o.count || st.seen + written_off < st.sent) {
        struct pollfd pfd = { .fd = fd, .events = POLLIN };
        int r;

        while (st.sent < o.count &&
               st.sent - st.seen - written_off < o.window) {
            unsigned len = frame_len(&o, st.sent);

            build_frame(buf, mac, st.sent, len, o.stream);
            if (send(fd, buf, len, 0) != (ssize_t)len) {
                if (errno == ENOBUFS || errno == EAGAIN) {
                    break;      /* queue full: receive first */
                }
                perror("loopcheck: send");
                return 2;
            }
            st.sent++;
        }

        r = poll(&pfd, 1, o.timeout_ms);
        if (r < 0 && errno != EINTR) {
            perror("loopcheck: poll");
            return 2;
        }
        if (r == 0) {
            /* Nothing for TIMEOUT_MS: write off what is in flight. */
            written_off = st.sent - st.seen;
            continue;
        }
        for (;;) {
            struct sockaddr_ll from;
            socklen_t fl = sizeof(from);
            ssize_t n = recvfrom(fd, buf, 65536, MSG_DONTWAIT,
                                 (struct sockaddr *)&from, &fl);
            uint32_t seq, magic;

            if (n < 0) {
                break;
            }
            if (from.sll_pkttype == PACKET_OUTGOING) {
                continue;
            }
            /* Other streams' frames never get here (drop_other_streams) */
            magic = n >= LC_HDR_LEN ? get_be32(buf + 14) : 0;
            if (magic != LC_MAGIC + o.stream ||
                (seq = get_be32(buf + 18)) >= st.sent) {
                st.corrupted++;
                continue;
            }
            if (seen_map[seq]) {
                st.duplicate++;
                continue;
            }
            seen_map[seq] = 1;
            st.seen++;
            st.bytes += n;
            if (seq != next_in_order) {
                st.reordered++;
            }
            next_in_order = seq + 1;
            if (frame_intact(buf, n, mac, seq, &o)) {
                st.intact++;
            } else {
                st.corrupted++;
            }
        }
    }
    secs = now_secs() - t0;
    /* Frames the socket itself dropped (its receive buffer was full) */
    if (getsockopt(fd, SOL_PACKET, PACKET_STATISTICS, &tp, &tpl) < 0) {
        tp.tp_drops = 0;
    }

    printf("LOOPCHECK iface=%s stream=%u sent=%lu intact=%lu corrupted=%lu "
           "lost=%lu reordered=%lu duplicate=%lu bytes=%llu min=%u max=%u "
           "secs=%.3f fps=%.0f mbps=%.2f sockdrops=%u\n",
           o.iface, o.stream, st.sent, st.intact, st.corrupted, st.sent - st.seen,
           st.reordered, st.duplicate, st.bytes, o.min, o.max, secs,
           st.seen / secs, st.bytes * 8 / secs / 1e6, tp.tp_drops);
    fflush(stdout);
    return (st.intact == o.count && st.corrupted == 0 &&
            st.reordered == 0 && st.duplicate == 0) ? 0 : 1;
}
