// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * channels: set an interface's queue pairs, as "ethtool -L IFACE combined
 * N" does, and read them back; or show its per-queue packet counters, as
 * "ethtool -S IFACE" does; or check its receive-side scaling (-R).
 *
 * The guest's initramfs has busybox, which has no ethtool; these are the
 * same requests (SIOCETHTOOL: ETHTOOL_SCHANNELS and ETHTOOL_GCHANNELS;
 * ETHTOOL_GSSET_INFO, ETHTOOL_GSTRINGS and ETHTOOL_GSTATS; ETHTOOL_GRSSH
 * and ETHTOOL_SRSSH).  Prints machine-readable lines:
 *
 *   GUEST-CHANNELS iface=eth0 combined=N max=M
 *   GUEST-QSTATS iface=eth0 rx_queue_0_packets=N tx_queue_0_packets=N ...
 *   GUEST-RSS iface=eth0 queue=Q port=P frames=N rx0=+A rx1=+B
 *   GUEST-HASH iface=eth0 port=P hash=0xH frames=N seen=A hashed=B
 *
 * and exits 0; on an error prints "GUEST-ERROR channels: ..." and exits 1.
 * -R COUNT sets the RSS key of Microsoft's RSS verification suite and an
 * indirection table alternating queues 0 and 1 (ethtool -X), then for
 * each queue picks a UDP flow whose Toeplitz hash the table maps to it,
 * sends COUNT frames of that flow to the interface's own address (the
 * NIC loops them back) and reports how much each receive queue's counter
 * grew (the runner checks the flow's queue took them all).
 * -H COUNT sets the same key, sends COUNT frames of one UDP flow the same
 * way and counts the flow's frames that came back (seen) and those of
 * them whose skb->hash, as the driver took it from the device's hash
 * report, is the flow's Toeplitz hash (hashed: a socket filter compares
 * them in the kernel, SKF_AD_RXHASH).  The runner checks both are COUNT;
 * the interface's rx-hashing feature must be on (features).
 *
 * Usage: channels IFACE COMBINED | channels IFACE -S |
 *        channels IFACE -R N | channels IFACE -H N
 */

#include <arpa/inet.h>
#include <errno.h>
#include <linux/ethtool.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include "ethreq.h"

static int fd;
static const char *iface;

static int eth_ioctl(void *req)
{
    return eth_request(fd, iface, req);
}

static int fail(const char *what)
{
    printf("GUEST-ERROR channels: %s: %s\n", what, strerror(errno));
    return 1;
}

static int set_channels(unsigned combined)
{
    struct ethtool_channels ch = { .cmd = ETHTOOL_GCHANNELS };

    if (eth_ioctl(&ch) < 0) {
        return fail("get");
    }
    ch.cmd = ETHTOOL_SCHANNELS;
    ch.combined_count = combined;
    if (eth_ioctl(&ch) < 0) {
        return fail("set");
    }
    memset(&ch, 0, sizeof(ch));
    ch.cmd = ETHTOOL_GCHANNELS;
    if (eth_ioctl(&ch) < 0) {
        return fail("get");
    }
    printf("GUEST-CHANNELS iface=%s combined=%u max=%u\n", iface,
           ch.combined_count, ch.max_combined);
    return 0;
}

/* The statistics named *_packets: as name=value, or rx_queue_N's in @rx */
static int read_stats(bool print, uint64_t *rx, unsigned nrx)
{
    struct {
        struct ethtool_sset_info hdr;
        uint32_t len;
    } info = { .hdr = { .cmd = ETHTOOL_GSSET_INFO,
                        .sset_mask = 1ULL << ETH_SS_STATS } };
    struct ethtool_gstrings *names;
    struct ethtool_stats *stats;
    unsigned n;

    if (eth_ioctl(&info) < 0 || !info.hdr.sset_mask) {
        return fail("stats count");
    }
    n = info.len;
    names = calloc(1, sizeof(*names) + n * ETH_GSTRING_LEN);
    stats = calloc(1, sizeof(*stats) + n * sizeof(uint64_t));
    if (!names || !stats) {
        return fail("memory");
    }
    names->cmd = ETHTOOL_GSTRINGS;
    names->string_set = ETH_SS_STATS;
    names->len = n;
    stats->cmd = ETHTOOL_GSTATS;
    stats->n_stats = n;
    if (eth_ioctl(names) < 0 || eth_ioctl(stats) < 0) {
        return fail("stats");
    }
    if (print) {
        printf("GUEST-QSTATS iface=%s", iface);
    }
    for (unsigned i = 0; i < n; i++) {
        const char *name = (const char *)names->data + i * ETH_GSTRING_LEN;
        size_t len = strnlen(name, ETH_GSTRING_LEN);
        unsigned q;
        char tail;

        if (len > 8 && !strncmp(name + len - 8, "_packets", 8) && print) {
            printf(" %.*s=%llu", (int)len, name,
                   (unsigned long long)stats->data[i]);
        }
        if (sscanf(name, "rx_queue_%u_packet%c", &q, &tail) == 2 &&
            q < nrx && len == strlen("rx_queue_0_packets") + (q > 9)) {
            rx[q] = stats->data[i];
        }
    }
    if (print) {
        printf("\n");
    }
    free(names);
    free(stats);
    return 0;
}

/* Microsoft's RSS verification key, which Linux also uses by default */
static const uint8_t rss_key[40] = {
    0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67,
    0x25, 0x3d, 0x43, 0xa3, 0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb,
    0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3, 0x80, 0x30,
    0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
};

static uint32_t toeplitz(const uint8_t *in, size_t len)
{
    uint32_t hash = 0;

    for (size_t i = 0; i < len * 8; i++) {
        if (in[i / 8] & (0x80 >> (i % 8))) {
            uint32_t k = (uint32_t)rss_key[i / 8] << 24 |
                         rss_key[i / 8 + 1] << 16 | rss_key[i / 8 + 2] << 8 |
                         rss_key[i / 8 + 3];

            hash ^= i % 8 ? k << (i % 8) | rss_key[i / 8 + 4] >> (8 - i % 8)
                          : k;
        }
    }
    return hash;
}

/* Set the key and a table of @size entries i % 2; read them back. */
static int set_rss(uint32_t *size)
{
    struct ethtool_rxfh get = { .cmd = ETHTOOL_GRSSH }, *set;
    uint32_t n;

    if (eth_ioctl(&get) < 0) {
        return fail("rss sizes");
    }
    if (get.key_size != sizeof(rss_key) || !get.indir_size) {
        printf("GUEST-ERROR channels: RSS key of %u bytes, table of %u\n",
               get.key_size, get.indir_size);
        return 1;
    }
    n = *size = get.indir_size;
    set = calloc(1, sizeof(*set) + n * 4 + sizeof(rss_key));
    if (!set) {
        return fail("memory");
    }
    set->cmd = ETHTOOL_SRSSH;
    set->indir_size = n;
    set->key_size = sizeof(rss_key);
    for (uint32_t i = 0; i < n; i++) {
        set->rss_config[i] = i % 2;
    }
    memcpy((uint8_t *)&set->rss_config[n], rss_key, sizeof(rss_key));
    if (eth_ioctl(set) < 0) {
        return fail("rss set");
    }
    free(set);
    return 0;
}

/* Set only the key (a driver without RSS has no table). */
static int set_key(void)
{
    struct ethtool_rxfh *set = calloc(1, sizeof(*set) + sizeof(rss_key));

    if (!set) {
        return fail("memory");
    }
    set->cmd = ETHTOOL_SRSSH;
    set->indir_size = ETH_RXFH_INDIR_NO_CHANGE;
    set->key_size = sizeof(rss_key);
    memcpy((uint8_t *)set->rss_config, rss_key, sizeof(rss_key));
    if (eth_ioctl(set) < 0) {
        return fail("rss key set");
    }
    free(set);
    return 0;
}

/* An IPv4/UDP frame to ourselves from 10.0.0.1:@port to 10.0.0.2:9. */
static size_t udp_frame(uint8_t *f, const uint8_t *mac, uint16_t port)
{
    static const uint8_t ip[20] = {
        0x45, 0, 0, 28 + 18, 0, 0, 0, 0, 64, 17, 0, 0,
        10, 0, 0, 1, 10, 0, 0, 2,
    };
    uint32_t sum = 0;

    memcpy(f, mac, ETH_ALEN);
    memcpy(f + ETH_ALEN, mac, ETH_ALEN);
    f[12] = 0x08;
    f[13] = 0x00;
    memcpy(f + 14, ip, sizeof(ip));
    for (unsigned i = 0; i < 20; i += 2) {
        sum += f[14 + i] << 8 | f[15 + i];
    }
    sum = (sum & 0xffff) + (sum >> 16);
    sum = ~((sum & 0xffff) + (sum >> 16)) & 0xffff;
    f[24] = sum >> 8;
    f[25] = sum;
    f[34] = port >> 8;
    f[35] = port;
    f[36] = 0;
    f[37] = 9;
    f[38] = 0;
    f[39] = 8 + 18;
    f[40] = f[41] = 0;          /* no UDP checksum */
    memset(f + 42, 0x5a, 18);
    return 60;
}

/* The UDP source port whose flow table @size maps to queue @q. */
static uint16_t port_for(unsigned q, uint32_t size)
{
    for (uint16_t port = 1024;; port++) {
        uint8_t in[12] = { 10, 0, 0, 1, 10, 0, 0, 2, port >> 8, port, 0, 9 };

        if ((toeplitz(in, sizeof(in)) % size) % 2 == q) {
            return port;
        }
    }
}

/*
 * A packet socket on the interface for IPv4 frames, its MAC in @mac; with
 * @hash, a filter keeps only frames whose skb->hash is *@hash.  The filter
 * is in before bind(), so nothing arrives unfiltered.
 */
static int flow_socket(uint8_t *mac, const uint32_t *hash)
{
    struct sock_filter code[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, SKF_AD_OFF + SKF_AD_RXHASH),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, hash ? *hash : 0, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, 0xffffffff),
        BPF_STMT(BPF_RET | BPF_K, 0),
    };
    struct sock_fprog prog = { .len = 4, .filter = code };
    struct sockaddr_ll sll = { .sll_family = AF_PACKET,
                               .sll_protocol = htons(ETH_P_IP) };
    struct ifreq ifr = { 0 };
    int s = socket(AF_PACKET, SOCK_RAW, 0);

    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", iface);
    if (s < 0 || ioctl(s, SIOCGIFINDEX, &ifr) < 0) {
        return -1;
    }
    sll.sll_ifindex = ifr.ifr_ifindex;
    if ((hash && setsockopt(s, SOL_SOCKET, SO_ATTACH_FILTER, &prog,
                            sizeof(prog)) < 0) ||
        ioctl(s, SIOCGIFHWADDR, &ifr) < 0 ||
        bind(s, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
        close(s);
        return -1;
    }
    memcpy(mac, ifr.ifr_hwaddr.sa_data, ETH_ALEN);
    return s;
}

/* Send the @len-byte frame @f on @s, waiting while the queue is full. */
static int send_frame(int s, const uint8_t *f, size_t len)
{
    while (send(s, f, len, 0) != (ssize_t)len) {
        if (errno != ENOBUFS && errno != EAGAIN) {
            return fail("send");
        }
        usleep(1000);
    }
    return 0;
}

static int check_rss(unsigned count)
{
    uint8_t f[60], mac[ETH_ALEN];
    uint64_t before[2] = { 0 }, after[2] = { 0 };
    uint32_t size = 1;
    int s;

    if (set_rss(&size)) {
        return 1;
    }
    s = flow_socket(mac, NULL);
    if (s < 0) {
        return fail("packet socket");
    }
    for (unsigned q = 0; q < 2; q++) {
        uint16_t port = port_for(q, size);

        if (read_stats(false, before, 2)) {
            return 1;
        }
        udp_frame(f, mac, port);
        for (unsigned i = 0; i < count; i++) {
            if (send_frame(s, f, sizeof(f))) {
                return 1;
            }
        }
        for (unsigned tries = 0; tries < 100; tries++) {
            usleep(20000);
            if (read_stats(false, after, 2)) {
                return 1;
            }
            if (after[q] - before[q] >= count) {
                break;
            }
        }
        printf("GUEST-RSS iface=%s queue=%u port=%u frames=%u rx0=+%llu "
               "rx1=+%llu\n", iface, q, port, count,
               (unsigned long long)(after[0] - before[0]),
               (unsigned long long)(after[1] - before[1]));
    }
    close(s);
    return 0;
}

/* Count the frames of UDP source port @port that came in on @s. */
static unsigned drain_flow(int s, uint16_t port)
{
    struct sockaddr_ll from;
    socklen_t fl = sizeof(from);
    unsigned n = 0;
    uint8_t f[2048];
    ssize_t len;

    while ((len = recvfrom(s, f, sizeof(f), MSG_DONTWAIT,
                           (struct sockaddr *)&from, &fl)) >= 0) {
        n += from.sll_pkttype != PACKET_OUTGOING && len >= 60 &&
             f[23] == 17 && (f[34] << 8 | f[35]) == port;
        fl = sizeof(from);
    }
    return n;
}

static int check_hash(unsigned count)
{
    const uint16_t port = 4321;
    uint8_t in[12] = { 10, 0, 0, 1, 10, 0, 0, 2, port >> 8, port & 0xff,
                       0, 9 };
    uint32_t hash = toeplitz(in, sizeof(in));
    unsigned seen = 0, hashed = 0;
    uint8_t f[60], mac[ETH_ALEN];
    int plain, filtered;

    if (set_key()) {
        return 1;
    }
    plain = flow_socket(mac, NULL);
    filtered = flow_socket(mac, &hash);
    if (plain < 0 || filtered < 0) {
        return fail("packet socket");
    }
    udp_frame(f, mac, port);
    for (unsigned i = 0; i < count; i++) {
        if (send_frame(plain, f, sizeof(f))) {
            return 1;
        }
        seen += drain_flow(plain, port);
        hashed += drain_flow(filtered, port);
    }
    for (unsigned tries = 0; tries < 100 && seen < count; tries++) {
        usleep(20000);
        seen += drain_flow(plain, port);
        hashed += drain_flow(filtered, port);
    }
    hashed += drain_flow(filtered, port);
    printf("GUEST-HASH iface=%s port=%u hash=0x%08x frames=%u seen=%u "
           "hashed=%u\n", iface, port, hash, count, seen, hashed);
    close(plain);
    close(filtered);
    return 0;
}

int main(int argc, char **argv)
{
    uint64_t unused[1];

    if (argc != 3 && !(argc == 4 && (!strcmp(argv[2], "-R") ||
                                      !strcmp(argv[2], "-H")))) {
        fprintf(stderr, "usage: channels IFACE COMBINED | channels IFACE "
                "-S | channels IFACE -R COUNT | channels IFACE -H COUNT\n");
        return 2;
    }
    iface = argv[1];
    fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0) {
        return fail("socket");
    }
    if (argc == 4) {
        return argv[2][1] == 'R' ? check_rss(strtoul(argv[3], NULL, 0))
                                 : check_hash(strtoul(argv[3], NULL, 0));
    }
    return strcmp(argv[2], "-S") ? set_channels(strtoul(argv[2], NULL, 0))
                                 : read_stats(true, unused, 0);
}
