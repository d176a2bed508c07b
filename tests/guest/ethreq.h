/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ethreq.h: the ethtool request (SIOCETHTOOL) of the guest tools, which
 * busybox's ethtool-less initramfs needs: @req, an ethtool_* structure
 * with its cmd set, for interface @iface through socket @fd.
 */
#ifndef TESTS_GUEST_ETHREQ_H
#define TESTS_GUEST_ETHREQ_H

#include <linux/sockios.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

static inline int eth_request(int fd, const char *iface, void *req)
{
    struct ifreq ifr;

    memset(&ifr, 0, sizeof(ifr));
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", iface);
    ifr.ifr_data = req;
    return ioctl(fd, SIOCETHTOOL, &ifr);
}

#endif
