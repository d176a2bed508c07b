/*
 * mvnet: what the files of the virtio-net mdev share
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * mvnet.c is the device (ops, bottom half, migration, properties, types),
 * mvnet-rings.c the ring steps of a frame (transmit chain, receive chains,
 * the loopback), mvnet-netdev.c the NIC in QEMU's net layer, mvnet-ctrl.c
 * the control queue's commands.  Only these files include this header;
 * everything runs under the BQL.
 */
#ifndef HW_VIRTIO_MVNET_H
#define HW_VIRTIO_MVNET_H

#include "net/net.h"
#include "net/eth.h"
#include "net/announce.h"
#include "system/runstate.h"
#include "standard-headers/linux/virtio_config.h"
#include "standard-headers/linux/virtio_net.h"
#include "hw/virtio/virtio-mdev-ops.h"
#include "hw/virtio/mdev-vq.h"
#include "hw/virtio/mdev-coal.h"
#include "hw/virtio/vring-dma.h"
#include "hw/virtio/vring-engine.h"
#include "mvnet-rx-filter.h"
#include "mvnet-offload.h"
#include "mvnet-steer.h"

#define TYPE_MVNET_DEVICE "mvnet-device"
OBJECT_DECLARE_SIMPLE_TYPE(MvnetDevice, MVNET_DEVICE)


/*
 * Queue slots: our arrays keep the first pair and the control queue
 * where one pair has them (so that its migration stream stays as it
 * was), then the other pairs.  mvnet_slot() maps the driver's queue
 * index (virtio 1.2, 5.1.2: receiveq1, transmitq1, ..., receiveqN,
 * transmitqN, controlq) to a slot.
 */
#define MVNET_RX_QUEUE      0
#define MVNET_TX_QUEUE      1
#define MVNET_CTRL_QUEUE    2       /* with VIRTIO_NET_F_CTRL_VQ */
#define MVNET_NUM_QUEUES    3       /* the slots of one pair and control */
#define MVNET_MAX_PAIRS     8       /* 'queues' (VIRTIO_NET_F_MQ) */
#define MVNET_SLOTS         (2 * MVNET_MAX_PAIRS + 1)
#define MVNET_QUEUE_MAX     256
#define MVNET_BURST         64      /* frames per bottom-half run */
#define MVNET_MAX_RX_CHAINS 64      /* receive chains for one frame */
#define MVNET_MAX_FRAME     (65535 + ETH_HLEN)
#define MVNET_CONFIG_SIZE   offsetof(struct virtio_net_config, speed)
#define MVNET_CONFIG_SIZE_RSS \
    (offsetof(struct virtio_net_config, supported_hash_types) + 4)
#define MVNET_STEER_PEEK    128     /* frame bytes RSS looks at */
#define MVNET_COAL_ADAPTIVE_US  4096    /* longest adaptive hold */
#define MVNET_TX_POLL_MIN_US    50      /* polling TX while batching */
#define MVNET_TX_POLL_MAX_US    512     /* (the window a look can take) */
#define MVNET_TX_POLL_IDLE      2       /* empty looks before kicks again */

typedef struct MvnetStats {
    uint64_t packets;
    uint64_t bytes;
    uint64_t drops;
    uint64_t errors;
    uint64_t kicks;
    uint64_t interrupts;
} MvnetStats;

/* A queue slot, for the timers of its notification coalescing */
typedef struct MvnetQueueRef {
    struct MvnetDevice *n;
    unsigned slot;
} MvnetQueueRef;

struct MvnetDevice {
    MdevDevice parent_obj;

    /* properties */
    MACAddr conf_mac;           /* configured (property, or from the UUID) */
    bool mac_set;
    uint16_t mtu;
    bool link_up;
    bool adaptive_coal;
    uint16_t max_pairs;         /* 'queues': max_virtqueue_pairs */
    uint64_t host_features;
    char *netdev;               /* id of a network backend, or NULL */
    bool ctrl_in_frontend;      /* class vhost: no control queue here */
    struct {                    /* the source's, checked on load */
        uint64_t host_features;
        MACAddr mac;
        uint16_t mtu;
        uint16_t max_pairs;
    } mig_conf;

    /* runtime */
    VirtioMdevHost host;
    VringDma dma;
    QEMUBH *bh;
    QEMUBH *rx_bh;              /* a burst from the netdev ended: signal */
    VMChangeStateEntry *vmstate_change;
    uint8_t status;
    uint64_t features;
    uint64_t guest_offloads;    /* GUEST_* offloads on (GUEST_OFFLOADS_SET) */
    uint32_t generation;
    bool broken;
    MACAddr mac;                /* in the config space; the driver may set it */
    uint16_t curr_pairs;        /* in use: 1, or MQ_VQ_PAIRS_SET's */
    MvnetRss rss;               /* MQ_RSS/HASH_CONFIG: steering, hashes */
    MvnetHash rx_hash;          /* the hash report of the frame received */
    unsigned wait_rq;           /* the receive slot a frame waits for */
    MdevVq vq[MVNET_SLOTS];
    MvnetStats stats[MVNET_SLOTS];
    struct {                    /* set_vq_cb's, by the driver's index */
        VirtioMdevCallback *cb;
        void *opaque;
    } vq_cb[MVNET_SLOTS];
    char *name;                 /* "mvnet <uuid>", for messages */
    VirtioMdevCallback *config_cb;
    void *config_opaque;
    VringChain tx_chain;
    struct virtio_net_hdr tx_hdr;   /* tx_chain's, checked */
    VringChain ctrl_chain;
    VringChain *rx_chains;      /* MVNET_QUEUE_MAX: MRG_RXBUF, segments */
    unsigned rx_chains_n;       /* how many are made (the rest on need) */
    VringAvailMark rx_mark[MVNET_SLOTS];    /* RX seen when a frame waited */
    uint64_t bh_runs;           /* datapath runs, to show it does not spin */
    MvnetRxFilter rxf;          /* from the control queue, for netdev frames */
    NICConf nic_conf;
    NICState *nic;              /* our NIC in QEMU's net layer, when bound */
    bool peer_vnet_hdr;         /* its peer takes virtio-net headers (tap) */
    bool rx_waiting;            /* the net layer holds frames for us */
    uint32_t rx_signal;         /* receive slots rx_bh signals */
    uint8_t *tx_frame;          /* a frame on its way to the netdev */
    uint8_t *seg_frame;         /* a segment being cut, a checksum done */
    bool announce;              /* VIRTIO_NET_S_ANNOUNCE: the driver's turn */
    AnnounceTimer announce_timer;   /* rounds after migration */
    MdevCoal coal[MVNET_SLOTS]; /* notification coalescing, RX and TX */
    MvnetQueueRef qref[MVNET_SLOTS];
    QEMUTimer *tx_poll;         /* batching: look at TX instead of kicks */
    unsigned tx_poll_idle[MVNET_SLOTS]; /* looks in a row that found nothing */
};

enum {
    MVNET_BROKEN = -1,      /* a ring violation broke the device */
    MVNET_WAIT_RX = 0,      /* no receive buffer: the frame waits */
    MVNET_DONE = 1,         /* delivered, dropped or counted as an error */
    MVNET_TX_EMPTY = 2,     /* nothing to transmit */
    MVNET_FRAME = 3,        /* a frame is ready to go on (helpers below) */
    MVNET_WAIT_NET = 4,     /* the netdev queued a frame: wait for it */
};

static inline MvnetDevice *to_mvnet(MdevDevice *mdev)
{
    return MVNET_DEVICE(mdev);
}

static inline bool mvnet_has(MvnetDevice *n, unsigned bit)
{
    return n->features & (1ULL << bit);
}

static inline const char *mvnet_name(MvnetDevice *n)
{
    return MDEV_DEVICE(n)->uuid_str ?: "mvnet";
}

/* Queue layout */

/* The receive and transmit slots of pair @p */
static inline unsigned mvnet_rxq(unsigned p)
{
    return p ? 2 * p + 1 : MVNET_RX_QUEUE;
}

static inline unsigned mvnet_txq(unsigned p)
{
    return p ? 2 * p + 2 : MVNET_TX_QUEUE;
}

/* The pairs the driver can use: max_pairs with VIRTIO_NET_F_MQ, else 1 */
static inline unsigned mvnet_pairs(MvnetDevice *n)
{
    return mvnet_has(n, VIRTIO_NET_F_MQ) ? n->max_pairs : 1;
}

/* The driver's index of the control queue: after the last pair */
static inline unsigned mvnet_ctrl_index(MvnetDevice *n)
{
    return 2 * mvnet_pairs(n);
}

/* The driver's index of slot @s (the inverse of mvnet_slot) */
static inline unsigned mvnet_index(MvnetDevice *n, unsigned s)
{
    if (s == MVNET_CTRL_QUEUE) {
        return mvnet_ctrl_index(n);
    }
    return s < MVNET_CTRL_QUEUE ? s : s - 1;
}

/* The header before each frame, both ways (virtio 1.2, 5.1.6) */
static inline unsigned mvnet_hdr_len(MvnetDevice *n)
{
    if (mvnet_has(n, VIRTIO_NET_F_HASH_REPORT)) {
        return sizeof(struct virtio_net_hdr_v1_hash);
    }
    return (n->features & ((1ULL << VIRTIO_F_VERSION_1) |
                           (1ULL << VIRTIO_NET_F_MRG_RXBUF)))
           ? sizeof(struct virtio_net_hdr_mrg_rxbuf)
           : sizeof(struct virtio_net_hdr);
}

/*
 * With a network backend (property 'netdev'), transmitted frames go to it
 * and the frames it delivers fill the receive ring: the same ring steps as
 * the loopback, with QEMU's net layer as the frame source and sink.
 */
static inline NetClientState *mvnet_peer(MvnetDevice *n)
{
    return n->nic ? qemu_get_queue(n->nic)->peer : NULL;
}

/* mvnet.c: device state and notifications */
void mvnet_config_changed(MvnetDevice *n);
void mvnet_set_broken_why(MvnetDevice *n, unsigned q, const char *why);
void mvnet_set_broken(MvnetDevice *n, unsigned q, VringError err);
void mvnet_notify_now(MvnetDevice *n, unsigned q);
void mvnet_notify(MvnetDevice *n, unsigned q);
void mvnet_coal_fire(MvnetDevice *n, unsigned q);

/* mvnet-rings.c: the ring steps; int results are MVNET_* */
int mvnet_tx_pop(MvnetDevice *n, unsigned tq, uint64_t *len);
int64_t mvnet_tx_read(MvnetDevice *n, unsigned tq, uint64_t len);
int mvnet_tx_complete(MvnetDevice *n, unsigned tq);
int mvnet_rx_pop(MvnetDevice *n, unsigned rq, uint64_t len, VringChain *c,
                 unsigned room, unsigned *nrx);
int mvnet_rx_write(MvnetDevice *n, unsigned rq, VringChain *c, unsigned nrx,
                   const struct virtio_net_hdr *h, const uint8_t *buf,
                   size_t size);
int mvnet_rx_push(MvnetDevice *n, unsigned rq, VringChain *c, unsigned nrx,
                  uint64_t len);
void mvnet_rx_chains_reserve(MvnetDevice *n, unsigned count);
int mvnet_rx_pop_segments(MvnetDevice *n, unsigned rq, const MvnetGso *g,
                          unsigned *nrx);
int mvnet_rx_segments(MvnetDevice *n, unsigned rq, const MvnetGso *g,
                      const uint8_t *frame, const unsigned *nrx);
int mvnet_loop_one(MvnetDevice *n, unsigned p);

/* mvnet-netdev.c: the NIC, with property 'netdev' */
bool mvnet_nic_create(MvnetDevice *n, Error **errp);
int mvnet_send_one(MvnetDevice *n, unsigned tq);
void mvnet_rx_bh(void *opaque);
void mvnet_link_changed(MvnetDevice *n, bool up);
void mvnet_peer_offloads(MvnetDevice *n);
void mvnet_rx_filter_changed(MvnetDevice *n);
void mvnet_announce_timer(void *opaque);
void mvnet_announce_start(MvnetDevice *n);
void mvnet_announce_stop(MvnetDevice *n);
uint8_t mvnet_announce_ack(MvnetDevice *n);

/* mvnet-ctrl.c: run up to a burst of control commands (false: broken) */
bool mvnet_ctrl(MvnetDevice *n, bool *more);

#endif /* HW_VIRTIO_MVNET_H */
