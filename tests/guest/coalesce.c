// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * coalesce: set an interface's interrupt coalescing, as "ethtool -C IFACE
 * rx-usecs A rx-frames B tx-usecs C tx-frames D" does, and read it back.
 *
 * The guest's initramfs has busybox, which has no ethtool; this is the
 * same request (SIOCETHTOOL: ETHTOOL_GCOALESCE, ETHTOOL_SCOALESCE,
 * ETHTOOL_GCOALESCE).  Prints one machine-readable line:
 *
 *   GUEST-COAL iface=eth0 rx-usecs=A rx-frames=B tx-usecs=C tx-frames=D
 *
 * with what the driver reports after the change, and exits 0; on an error
 * prints "GUEST-ERROR coalesce: ..." and exits 1.
 *
 * Usage: coalesce IFACE RX_USECS RX_FRAMES TX_USECS TX_FRAMES
 */

#include <errno.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include "ethreq.h"

static int coal_ioctl(int fd, const char *iface, struct ethtool_coalesce *ec,
                      unsigned cmd)
{
    ec->cmd = cmd;
    return eth_request(fd, iface, ec);
}

int main(int argc, char **argv)
{
    struct ethtool_coalesce ec;
    int fd;

    if (argc != 6) {
        fprintf(stderr, "usage: coalesce IFACE RX_USECS RX_FRAMES "
                "TX_USECS TX_FRAMES\n");
        return 2;
    }
    fd = socket(AF_INET, SOCK_DGRAM, 0);
    memset(&ec, 0, sizeof(ec));
    if (fd < 0 || coal_ioctl(fd, argv[1], &ec, ETHTOOL_GCOALESCE) < 0) {
        printf("GUEST-ERROR coalesce: get: %s\n", strerror(errno));
        return 1;
    }
    ec.rx_coalesce_usecs = strtoul(argv[2], NULL, 0);
    ec.rx_max_coalesced_frames = strtoul(argv[3], NULL, 0);
    ec.tx_coalesce_usecs = strtoul(argv[4], NULL, 0);
    ec.tx_max_coalesced_frames = strtoul(argv[5], NULL, 0);
    if (coal_ioctl(fd, argv[1], &ec, ETHTOOL_SCOALESCE) < 0) {
        printf("GUEST-ERROR coalesce: set: %s\n", strerror(errno));
        return 1;
    }
    memset(&ec, 0, sizeof(ec));
    if (coal_ioctl(fd, argv[1], &ec, ETHTOOL_GCOALESCE) < 0) {
        printf("GUEST-ERROR coalesce: get: %s\n", strerror(errno));
        return 1;
    }
    printf("GUEST-COAL iface=%s rx-usecs=%u rx-frames=%u tx-usecs=%u "
           "tx-frames=%u\n", argv[1], ec.rx_coalesce_usecs,
           ec.rx_max_coalesced_frames, ec.tx_coalesce_usecs,
           ec.tx_max_coalesced_frames);
    close(fd);
    return 0;
}
