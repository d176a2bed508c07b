// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * features: turn an interface's offload features on or off, as
 * "ethtool -K IFACE NAME on|off ..." does, and read them back.
 *
 * The guest's initramfs has busybox, which has no ethtool; this is the
 * same request (SIOCETHTOOL: the ETH_SS_FEATURES names, ETHTOOL_SFEATURES,
 * ETHTOOL_GFEATURES).  NAME is a kernel feature name (rx-gro-hw, rx-gro,
 * tx-tcp-segmentation, ...).  Prints one machine-readable line:
 *
 *   GUEST-FEATURES iface=eth0 rx-gro-hw=off rx-gro=off
 *
 * with each named feature's active state after the change, and exits 0
 * when each is as asked; on an error prints "GUEST-ERROR features: ..."
 * and exits 1.
 *
 * Usage: features IFACE NAME=on|off...
 */

#include <errno.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
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

static int eth_ioctl(void *data)
{
    return eth_request(fd, iface, data);
}

static void die(const char *what)
{
    printf("GUEST-ERROR features: %s: %s\n", what, strerror(errno));
    exit(1);
}

/* The kernel's feature names, ETH_GSTRING_LEN bytes each; *count of them */
static char *feature_names(unsigned *count)
{
    struct {
        struct ethtool_sset_info hdr;
        uint32_t len;
    } info = { .hdr = { .cmd = ETHTOOL_GSSET_INFO,
                        .sset_mask = 1ULL << ETH_SS_FEATURES } };
    struct ethtool_gstrings *gs;

    if (eth_ioctl(&info) < 0 || !info.hdr.sset_mask) {
        die("the feature names' count");
    }
    *count = info.len;
    gs = calloc(1, sizeof(*gs) + *count * ETH_GSTRING_LEN);
    if (!gs) {
        die("memory");
    }
    gs->cmd = ETHTOOL_GSTRINGS;
    gs->string_set = ETH_SS_FEATURES;
    gs->len = *count;
    if (eth_ioctl(gs) < 0) {
        die("the feature names");
    }
    return (char *)gs->data;
}

static int feature_index(const char *names, unsigned count, const char *name,
                         size_t len)
{
    for (unsigned i = 0; i < count; i++) {
        const char *n = names + i * ETH_GSTRING_LEN;

        if (strlen(n) == len && !strncmp(n, name, len)) {
            return i;
        }
    }
    return -1;
}

int main(int argc, char **argv)
{
    unsigned count, blocks;
    struct ethtool_sfeatures *sf;
    struct ethtool_gfeatures *gf;
    char *names;
    bool ok = true;

    if (argc < 3) {
        fprintf(stderr, "usage: features IFACE NAME=on|off...\n");
        return 2;
    }
    iface = argv[1];
    fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0) {
        die("socket");
    }
    names = feature_names(&count);
    blocks = (count + 31) / 32;
    sf = calloc(1, sizeof(*sf) + blocks * sizeof(sf->features[0]));
    gf = calloc(1, sizeof(*gf) + blocks * sizeof(gf->features[0]));
    if (!sf || !gf) {
        die("memory");
    }
    sf->cmd = ETHTOOL_SFEATURES;
    sf->size = blocks;
    for (int a = 2; a < argc; a++) {
        const char *eq = strchr(argv[a], '=');
        int i = eq ? feature_index(names, count, argv[a], eq - argv[a]) : -1;

        if (i < 0) {
            errno = EINVAL;
            die(argv[a]);
        }
        sf->features[i / 32].valid |= 1u << (i % 32);
        if (!strcmp(eq + 1, "on")) {
            sf->features[i / 32].requested |= 1u << (i % 32);
        }
    }
    if (eth_ioctl(sf) < 0) {
        die("set");
    }
    gf->cmd = ETHTOOL_GFEATURES;
    gf->size = blocks;
    if (eth_ioctl(gf) < 0) {
        die("get");
    }
    printf("GUEST-FEATURES iface=%s", iface);
    for (int a = 2; a < argc; a++) {
        const char *eq = strchr(argv[a], '=');
        int i = feature_index(names, count, argv[a], eq - argv[a]);
        bool on = gf->features[i / 32].active & (1u << (i % 32));

        printf(" %.*s=%s", (int)(eq - argv[a]), argv[a], on ? "on" : "off");
        ok &= on == !strcmp(eq + 1, "on");
    }
    printf("\n");
    return ok ? 0 : 1;
}
