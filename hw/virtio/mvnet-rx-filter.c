/*
 * mvnet's receive filter: what the virtio-net control queue sets
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/bswap.h"
#include "qemu/error-report.h"
#include "net/eth.h"
#include "standard-headers/linux/virtio_net.h"
#include "mvnet-rx-filter.h"

void mvnet_rx_filter_reset(MvnetRxFilter *f)
{
    memset(f, 0, sizeof(*f));
    f->promisc = true;
}

bool mvnet_rx_filter_set_mode(MvnetRxFilter *f, uint8_t cmd, bool on,
                              bool extra)
{
    bool *mode[] = {
        [VIRTIO_NET_CTRL_RX_PROMISC] = &f->promisc,
        [VIRTIO_NET_CTRL_RX_ALLMULTI] = &f->allmulti,
        [VIRTIO_NET_CTRL_RX_ALLUNI] = &f->alluni,
        [VIRTIO_NET_CTRL_RX_NOMULTI] = &f->nomulti,
        [VIRTIO_NET_CTRL_RX_NOUNI] = &f->nouni,
        [VIRTIO_NET_CTRL_RX_NOBCAST] = &f->nobcast,
    };

    if (cmd >= ARRAY_SIZE(mode) ||
        (cmd > VIRTIO_NET_CTRL_RX_ALLMULTI && !extra)) {
        return false;
    }
    *mode[cmd] = on;
    return true;
}

/*
 * One table of MAC_TABLE_SET at *@off: its entries go after the @stored
 * ones when they fit, else the table overflows; returns false if @data
 * ends first.
 */
static bool mvnet_rx_filter_table(MvnetRxFilter *f, const uint8_t *data,
                                  size_t len, size_t *off, uint32_t stored,
                                  uint32_t *n, bool *overflow)
{
    uint32_t count;

    if (len - *off < 4) {
        return false;
    }
    count = ldl_le_p(data + *off);
    *off += 4;
    if (count > (len - *off) / ETH_ALEN) {
        return false;
    }
    if (count > MVNET_MAC_TABLE - stored) {
        *n = 0;
        *overflow = true;
    } else {
        memcpy(f->macs + stored * ETH_ALEN, data + *off, count * ETH_ALEN);
        *n = count;
        *overflow = false;
    }
    *off += count * ETH_ALEN;
    return true;
}

bool mvnet_rx_filter_set_table(MvnetRxFilter *f, const uint8_t *data,
                               size_t len)
{
    MvnetRxFilter t = *f;
    size_t off = 0;

    if (!mvnet_rx_filter_table(&t, data, len, &off, 0, &t.uni_n,
                               &t.uni_overflow) ||
        !mvnet_rx_filter_table(&t, data, len, &off, t.uni_n, &t.multi_n,
                               &t.multi_overflow) ||
        off != len) {
        return false;
    }
    *f = t;
    return true;
}

static bool mvnet_rx_filter_has(const MvnetRxFilter *f, uint32_t first,
                                uint32_t n, const uint8_t *dst)
{
    for (uint32_t i = first; i < first + n; i++) {
        if (!memcmp(f->macs + i * ETH_ALEN, dst, ETH_ALEN)) {
            return true;
        }
    }
    return false;
}

bool mvnet_rx_filter_accept(const MvnetRxFilter *f, const uint8_t *own,
                            const uint8_t *buf, size_t size)
{
    const uint8_t *dst = buf;

    if (f->promisc) {
        return true;
    }
    if (size < ETH_ALEN) {
        return false;
    }
    if (is_broadcast_ether_addr(dst)) {
        return !f->nobcast;
    }
    if (is_multicast_ether_addr(dst)) {
        return !f->nomulti &&
               (f->allmulti || f->multi_overflow ||
                mvnet_rx_filter_has(f, f->uni_n, f->multi_n, dst));
    }
    return !f->nouni &&
           (f->alluni || f->uni_overflow || !memcmp(dst, own, ETH_ALEN) ||
            mvnet_rx_filter_has(f, 0, f->uni_n, dst));
}

static strList *mvnet_rx_filter_list(const MvnetRxFilter *f, uint32_t first,
                                     uint32_t n)
{
    strList *list = NULL;

    for (uint32_t i = first + n; i-- > first;) {
        QAPI_LIST_PREPEND(list, qemu_mac_strdup_printf(f->macs +
                                                       i * ETH_ALEN));
    }
    return list;
}

RxFilterInfo *mvnet_rx_filter_info(const MvnetRxFilter *f, const char *name,
                                   const uint8_t *own)
{
    RxFilterInfo *info = g_new0(RxFilterInfo, 1);

    info->name = g_strdup(name);
    info->promiscuous = f->promisc;
    info->unicast = f->nouni ? RX_STATE_NONE :
                    f->alluni || f->uni_overflow ? RX_STATE_ALL
                                                 : RX_STATE_NORMAL;
    info->multicast = f->nomulti ? RX_STATE_NONE :
                      f->allmulti || f->multi_overflow ? RX_STATE_ALL
                                                       : RX_STATE_NORMAL;
    info->vlan = RX_STATE_ALL;          /* no VLAN filtering */
    info->broadcast_allowed = !f->nobcast;
    info->unicast_overflow = f->uni_overflow;
    info->multicast_overflow = f->multi_overflow;
    info->main_mac = qemu_mac_strdup_printf(own);
    info->unicast_table = mvnet_rx_filter_list(f, 0, f->uni_n);
    info->multicast_table = mvnet_rx_filter_list(f, f->uni_n, f->multi_n);
    return info;
}

bool mvnet_rx_filter_check(const MvnetRxFilter *f, const char *name)
{
    if (f->uni_n > MVNET_MAC_TABLE || f->multi_n > MVNET_MAC_TABLE - f->uni_n) {
        error_report("%s: migrated MAC tables of %u + %u entries exceed %u",
                     name, f->uni_n, f->multi_n, MVNET_MAC_TABLE);
        return false;
    }
    return true;
}

const VMStateDescription vmstate_mvnet_rx_filter = {
    .name = "mvnet/rx-filter",
    .version_id = 2,
    .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_BOOL(promisc, MvnetRxFilter),
        VMSTATE_BOOL(allmulti, MvnetRxFilter),
        VMSTATE_BOOL(uni_overflow, MvnetRxFilter),
        VMSTATE_BOOL(multi_overflow, MvnetRxFilter),
        VMSTATE_UINT32(uni_n, MvnetRxFilter),
        VMSTATE_UINT32(multi_n, MvnetRxFilter),
        VMSTATE_BUFFER(macs, MvnetRxFilter),
        VMSTATE_BOOL_V(alluni, MvnetRxFilter, 2),
        VMSTATE_BOOL_V(nomulti, MvnetRxFilter, 2),
        VMSTATE_BOOL_V(nouni, MvnetRxFilter, 2),
        VMSTATE_BOOL_V(nobcast, MvnetRxFilter, 2),
        VMSTATE_END_OF_LIST()
    },
};
