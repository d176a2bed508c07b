// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * channels: set an interface's queue pairs, as "ethtool -L IFACE combined
 * N" does, and read them back; or show its per-queue packet counters, as
 * "ethtool -S IFACE" does.
 *
 * The guest's initramfs has busybox, which has no ethtool; these are the
 * same requests (SIOCETHTOOL: ETHTOOL_SCHANNELS and ETHTOOL_GCHANNELS;
 * ETHTOOL_GSSET_INFO, ETHTOOL_GSTRINGS and ETHTOOL_GSTATS).  Prints one
 * machine-readable line:
 *
 *   GUEST-CHANNELS iface=eth0 combined=N max=M
 *   GUEST-QSTATS iface=eth0 rx_queue_0_packets=N tx_queue_0_packets=N ...
 *
 * and exits 0; on an error prints "GUEST-ERROR channels: ..." and exits 1.
 *
 * Usage: channels IFACE COMBINED | channels IFACE -S
 */

#include <errno.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

static int fd;
static const char *iface;

static int eth_ioctl(void *req)
{
    struct ifreq ifr;

    memset(&ifr, 0, sizeof(ifr));
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", iface);
    ifr.ifr_data = req;
    return ioctl(fd, SIOCETHTOOL, &ifr);
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

/* The statistics named *_packets, as name=value. */
static int show_stats(void)
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
    printf("GUEST-QSTATS iface=%s", iface);
    for (unsigned i = 0; i < n; i++) {
        const char *name = (const char *)names->data + i * ETH_GSTRING_LEN;
        size_t len = strnlen(name, ETH_GSTRING_LEN);

        if (len > 8 && !strncmp(name + len - 8, "_packets", 8)) {
            printf(" %.*s=%llu", (int)len, name,
                   (unsigned long long)stats->data[i]);
        }
    }
    printf("\n");
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: channels IFACE COMBINED | channels IFACE "
                "-S\n");
        return 2;
    }
    iface = argv[1];
    fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0) {
        return fail("socket");
    }
    return strcmp(argv[2], "-S") ? set_channels(strtoul(argv[2], NULL, 0))
                                 : show_stats();
}
