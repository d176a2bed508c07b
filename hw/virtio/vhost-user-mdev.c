/*
 * vhost-user-mdev: export an mdev instance of class vhost over vhost-user
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The class-vhost consumer of the mdev design (the 2019 series'
 * vhost-mdev, which Linux shipped as vhost-vdpa).  Where the virtio-mdev
 * transport lets a guest driver reach an instance's device ops through
 * virtio-mmio registers, this object lets a vhost-user frontend (DPDK's
 * virtio-user, a QEMU with -netdev vhost-user) reach them through a UNIX
 * socket.  It binds instances of class vhost, whose ops are the same
 * VirtioMdevOps as class virtio's, as vhost-vdpa and virtio-vdpa share
 * vdpa_config_ops; it never names a backend.
 *
 * The protocol is QEMU's VuServer and libvhost-user.  This file checks
 * each message before libvhost-user sees it and maps it to the ops:
 *  - the memory table becomes the device's DMA address space
 *    (vhost-user-mdev-mem.c);
 *  - a queue runs once it has a kick fd and is enabled: vring num, the
 *    ring addresses (translated from the frontend's virtual to its guest
 *    physical addresses) and base go to set_vq_num/address/ready/state;
 *    GET_VRING_BASE stops it and answers with get_vq_state;
 *  - kicks arrive on the kick eventfd (kick_vq); the device's queue
 *    callback writes the call eventfd;
 *  - virtio status, which vhost-user does not carry, is the export's:
 *    FEATURES_OK with the frontend's features when the first queue
 *    starts, DRIVER_OK once it runs;
 *  - a frontend that breaks the protocol, or a device that needs a reset
 *    because the frontend's rings are bad, is reported and disconnected.
 *    When a session ends the device is reset and the frontend's memory
 *    released; the next frontend can connect.  A session blocks
 *    migration (SET_OWNER until its end).
 *
 * 'instance-props' are set on the new instance before it is bound, as
 * "vdpa dev add" passes a device's config attributes.
 *
 * Everything runs in the main loop's AioContext, under the BQL, as the
 * device ops require.
 */

#include "qemu/osdep.h"
#include <sys/eventfd.h>
#include "qapi/error.h"
#include "qapi/visitor.h"
#include "qapi/qapi-visit-sockets.h"
#include "qapi/clone-visitor.h"
#include "qobject/qdict.h"
#include "qobject/qstring.h"
#include "qemu/error-report.h"
#include "qemu/main-loop.h"
#include "qemu/module.h"
#include "qemu/vhost-user-server.h"
#include "migration/blocker.h"
#include "qom/object_interfaces.h"
#include "qom/qom-qobject.h"
#include "standard-headers/linux/virtio_config.h"
#include "standard-headers/linux/virtio_ring.h"
#include "hw/virtio/virtio-mdev-ops.h"
#include "vhost-user-mdev-mem.h"
#include "trace.h"

#define TYPE_VHOST_USER_MDEV "vhost-user-mdev"
OBJECT_DECLARE_SIMPLE_TYPE(VhostUserMdev, VHOST_USER_MDEV)

/* The classes this consumer binds */
static const MdevClassIdTable vhost_user_mdev_ids[] = {
    { MDEV_CLASS_VHOST },
    { MDEV_CLASS_NONE },
};

/*
 * Transport features (bits 24..40) the export carries; the others (e.g.
 * NOTIFICATION_DATA, ACCESS_PLATFORM, RING_RESET) need transport support
 * that vhost-user or this export lacks, and are not offered.
 */
#define VHOST_USER_MDEV_TRANSPORT_FEATURES \
    ((1ULL << VIRTIO_F_ANY_LAYOUT) | (1ULL << VIRTIO_RING_F_INDIRECT_DESC) | \
     (1ULL << VIRTIO_RING_F_EVENT_IDX) | (1ULL << VIRTIO_F_VERSION_1) | \
     (1ULL << VIRTIO_F_RING_PACKED) | (1ULL << VIRTIO_F_IN_ORDER) | \
     (1ULL << VIRTIO_F_ORDER_PLATFORM))
#define VHOST_USER_MDEV_TRANSPORT_BITS  MAKE_64BIT_MASK(24, 17)

#define VHOST_USER_MDEV_PROTOCOL_FEATURES \
    ((1ULL << VHOST_USER_PROTOCOL_F_MQ) | \
     (1ULL << VHOST_USER_PROTOCOL_F_REPLY_ACK) | \
     (1ULL << VHOST_USER_PROTOCOL_F_CONFIG) | \
     (1ULL << VHOST_USER_PROTOCOL_F_BACKEND_REQ))

#define VHOST_USER_MDEV_F_PROTOCOL  (1ULL << VHOST_USER_F_PROTOCOL_FEATURES)
#define VHOST_USER_MDEV_PACKED_WRAP 0x8000

typedef struct VhostUserMdevQueue {
    struct VhostUserMdev *e;
    uint16_t idx;
    bool started;               /* it has a kick fd, not stopped since */
    bool enabled;               /* SET_VRING_ENABLE */
    bool running;               /* ready in the device */
} VhostUserMdevQueue;

struct VhostUserMdev {
    Object parent_obj;

    /* properties */
    char *parent_id;
    char *type_id;
    char *uuid;
    SocketAddress *addr;
    QDict *instance_props;      /* set on the instance before it is bound */

    /* runtime */
    MdevDevice *mdev;
    const VirtioMdevOps *ops;
    VhostUserMdevMem *mem;      /* the frontend's memory table */
    MemReentrancyGuard guard;
    VuServer server;
    bool serving;
    char *name;                 /* for messages */
    uint16_t nvqs;
    uint64_t offered;           /* virtio features offered */
    uint64_t features;          /* the frontend's, virtio bits only */
    bool negotiated;            /* the device took them (FEATURES_OK) */
    uint64_t sessions;
    Error *migration_blocker;   /* while a frontend owns the device */
    VhostUserMdevQueue q[VIRTIO_MDEV_MAX_QUEUES];
};

static VhostUserMdev *vhost_user_mdev_of(VuDev *dev)
{
    return container_of(dev, VhostUserMdev, server.vu_dev);
}

/*
 * The frontend broke the protocol or the device's rings: report it and
 * end the session (VuServer's loop stops on a broken device; shutting the
 * channel down wakes it when we are outside it).
 */
static void G_GNUC_PRINTF(2, 3)
vhost_user_mdev_drop(VhostUserMdev *e, const char *fmt, ...)
{
    g_autofree char *msg = NULL;
    va_list ap;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    error_report("%s: %s; closing the connection", e->name, msg);
    e->server.vu_dev.broken = true;
    if (e->server.ioc) {
        qio_channel_shutdown(e->server.ioc, QIO_CHANNEL_SHUTDOWN_BOTH, NULL);
    }
}

static uint8_t vhost_user_mdev_status(VhostUserMdev *e)
{
    return e->ops->get_status(e->mdev);
}

/* FEATURES_OK with the frontend's features, once per negotiation. */
static bool vhost_user_mdev_negotiate(VhostUserMdev *e)
{
    uint8_t s = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;

    if (e->negotiated) {
        return true;
    }
    e->ops->reset(e->mdev);
    e->ops->set_status(e->mdev, s);
    if (e->ops->set_features(e->mdev, e->features) < 0) {
        vhost_user_mdev_drop(e, "the device refused features 0x%" PRIx64,
                             e->features);
        return false;
    }
    e->ops->set_status(e->mdev, s | VIRTIO_CONFIG_S_FEATURES_OK);
    if (!(vhost_user_mdev_status(e) & VIRTIO_CONFIG_S_FEATURES_OK)) {
        vhost_user_mdev_drop(e, "the device refused features 0x%" PRIx64,
                             e->features);
        return false;
    }
    e->negotiated = true;
    return true;
}

/* The device's queue callback: used buffers for the frontend. */
static void vhost_user_mdev_call(void *opaque)
{
    VhostUserMdevQueue *q = opaque;
    VuDev *dev = &q->e->server.vu_dev;

    /* After a session's end libvhost-user's queues (and fds) are gone. */
    if (dev->vq && dev->vq[q->idx].call_fd >= 0) {
        eventfd_write(dev->vq[q->idx].call_fd, 1);
    }
}

static void vhost_user_mdev_kick(VuDev *dev, int qidx)
{
    VhostUserMdev *e = vhost_user_mdev_of(dev);

    if (e->q[qidx].running) {
        e->ops->kick_vq(e->mdev, qidx);
    }
}

/* The vring base as vhost-user carries it, from and to the ops' state. */
static void vhost_user_mdev_base_to_state(VhostUserMdev *e, uint32_t base,
                                          VirtioMdevVqState *st)
{
    memset(st, 0, sizeof(*st));
    if (!(e->features & (1ULL << VIRTIO_F_RING_PACKED))) {
        st->avail_index = st->used_index = base;
        return;
    }
    /* avail | wrap << 15, optionally used | wrap << 31 above it */
    st->avail_index = base & ~VHOST_USER_MDEV_PACKED_WRAP & 0xffff;
    st->avail_wrap_counter = base & VHOST_USER_MDEV_PACKED_WRAP;
    base = (base >> 16) ? base >> 16 : base;
    st->used_index = base & ~VHOST_USER_MDEV_PACKED_WRAP & 0xffff;
    st->used_wrap_counter = base & VHOST_USER_MDEV_PACKED_WRAP;
}

static uint32_t vhost_user_mdev_state_to_base(VhostUserMdev *e,
                                              const VirtioMdevVqState *st)
{
    if (!(e->features & (1ULL << VIRTIO_F_RING_PACKED))) {
        return st->avail_index;
    }
    return st->avail_index |
           (st->avail_wrap_counter ? VHOST_USER_MDEV_PACKED_WRAP : 0) |
           (uint32_t)(st->used_index |
                      (st->used_wrap_counter ? VHOST_USER_MDEV_PACKED_WRAP
                                             : 0)) << 16;
}

static bool vhost_user_mdev_ring_gpa(VhostUserMdev *e, uint16_t idx,
                                     const char *what, uint64_t qva,
                                     uint64_t *gpa)
{
    if (!vhost_user_mdev_mem_qva_to_gpa(e->mem, qva, 1, gpa)) {
        vhost_user_mdev_drop(e, "queue %u: %s address 0x%" PRIx64 " is "
                             "outside the memory table", idx, what, qva);
        return false;
    }
    return true;
}

static bool vhost_user_mdev_start(VhostUserMdev *e, uint16_t idx)
{
    VuVirtq *vq = &e->server.vu_dev.vq[idx];
    VirtioMdevVqState st;
    uint64_t desc, driver, device;
    int r;

    if (!vhost_user_mdev_negotiate(e)) {
        return false;
    }
    if (vq->kick_fd < 0) {
        vhost_user_mdev_drop(e, "queue %u has no kick fd (polling is not "
                             "supported)", idx);
        return false;
    }
    if (!vhost_user_mdev_ring_gpa(e, idx, "descriptor",
                                  vq->vra.desc_user_addr, &desc) ||
        !vhost_user_mdev_ring_gpa(e, idx, "driver area",
                                  vq->vra.avail_user_addr, &driver) ||
        !vhost_user_mdev_ring_gpa(e, idx, "device area",
                                  vq->vra.used_user_addr, &device)) {
        return false;
    }
    e->ops->set_vq_num(e->mdev, idx, vq->vring.num);
    r = e->ops->set_vq_address(e->mdev, idx, desc, driver, device);
    e->ops->set_vq_cb(e->mdev, idx, vhost_user_mdev_call, &e->q[idx]);
    r = r < 0 ? r : e->ops->set_vq_ready(e->mdev, idx, true);
    vhost_user_mdev_base_to_state(e, vq->last_avail_idx, &st);
    r = r < 0 ? r : e->ops->set_vq_state(e->mdev, idx, &st);
    if (r < 0) {
        e->ops->set_vq_ready(e->mdev, idx, false);
        vhost_user_mdev_drop(e, "queue %u: the device refused the ring "
                             "(size %u, base 0x%x): %s", idx, vq->vring.num,
                             vq->last_avail_idx, strerror(-r));
        return false;
    }
    e->q[idx].running = true;
    if (!(vhost_user_mdev_status(e) & VIRTIO_CONFIG_S_DRIVER_OK)) {
        e->ops->set_status(e->mdev, vhost_user_mdev_status(e) |
                                    VIRTIO_CONFIG_S_DRIVER_OK);
    }
    /* The frontend may have made buffers available before it kicked. */
    e->ops->kick_vq(e->mdev, idx);
    return true;
}

/* Stop a running queue; libvhost-user answers GET_VRING_BASE with its base. */
static void vhost_user_mdev_stop(VhostUserMdev *e, uint16_t idx)
{
    VirtioMdevVqState st;

    if (e->ops->get_vq_state(e->mdev, idx, &st) == 0 && e->server.vu_dev.vq) {
        e->server.vu_dev.vq[idx].last_avail_idx =
            vhost_user_mdev_state_to_base(e, &st);
    }
    e->ops->set_vq_ready(e->mdev, idx, false);
    e->q[idx].running = false;
}

/* Run queue @idx when it is started and enabled, else stop it. */
static void vhost_user_mdev_apply(VhostUserMdev *e, uint16_t idx)
{
    VhostUserMdevQueue *q = &e->q[idx];
    bool enabled = q->enabled ||
                   !(e->server.vu_dev.features & VHOST_USER_MDEV_F_PROTOCOL);
    bool want = q->started && enabled;

    if (want == q->running) {
        return;
    }
    trace_vhost_user_mdev_queue(e->name, idx, want);
    if (want) {
        vhost_user_mdev_start(e, idx);
    } else {
        vhost_user_mdev_stop(e, idx);
    }
}

static void vhost_user_mdev_queue_set_started(VuDev *dev, int qidx,
                                              bool started)
{
    VhostUserMdev *e = vhost_user_mdev_of(dev);

    e->q[qidx].started = started;
    if (started) {
        vu_set_queue_handler(dev, &dev->vq[qidx], vhost_user_mdev_kick);
    }
    vhost_user_mdev_apply(e, qidx);
}

/* Stop every queue and reset the device: a session ended or was reset. */
static void vhost_user_mdev_reset(VhostUserMdev *e)
{
    for (uint16_t i = 0; i < e->nvqs; i++) {
        if (e->q[i].running) {
            e->ops->set_vq_ready(e->mdev, i, false);
        }
        e->q[i].running = e->q[i].started = e->q[i].enabled = false;
    }
    e->ops->reset(e->mdev);
    e->negotiated = false;
    e->features = 0;
}

/* The frontend's session ended: migration may go on (see SET_OWNER) */
static void vhost_user_mdev_unblock_migration(VhostUserMdev *e)
{
    migrate_del_blocker(&e->migration_blocker);
}

static void vhost_user_mdev_client_gone(VuDev *dev)
{
    VhostUserMdev *e = vhost_user_mdev_of(dev);

    trace_vhost_user_mdev_session_end(e->name, e->sessions);
    vhost_user_mdev_reset(e);
    vhost_user_mdev_mem_clear(e->mem);
    vhost_user_mdev_unblock_migration(e);
}

/* The device's config callback: a config change, or a broken ring. */
static void vhost_user_mdev_config_changed(void *opaque)
{
    VhostUserMdev *e = opaque;
    VuDev *dev = &e->server.vu_dev;

    if (!e->server.ioc) {
        return;
    }
    if (vhost_user_mdev_status(e) & VIRTIO_CONFIG_S_NEEDS_RESET) {
        vhost_user_mdev_drop(e, "the device needs a reset after an error in "
                             "the frontend's rings (see the log)");
        return;
    }
    if ((dev->protocol_features & (1ULL << VHOST_USER_PROTOCOL_F_CONFIG)) &&
        dev->backend_fd >= 0) {
        vu_config_change_msg(dev);
    }
}

/* Messages */

static bool vhost_user_mdev_reply_u64(VhostUserMsg *vmsg, uint64_t val,
                                      int *do_reply)
{
    vmsg->payload.u64 = val;
    vmsg->size = sizeof(vmsg->payload.u64);
    vmsg->fd_num = 0;
    *do_reply = true;
    return true;
}

/* Refuse @vmsg: the session ends after it. */
static bool G_GNUC_PRINTF(4, 5)
vhost_user_mdev_refuse(VhostUserMdev *e, VhostUserMsg *vmsg, int *do_reply,
                       const char *fmt, ...)
{
    g_autofree char *msg = NULL;
    va_list ap;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    vhost_user_mdev_drop(e, "request %d: %s", vmsg->request, msg);
    for (int i = 0; i < vmsg->fd_num; i++) {
        close(vmsg->fds[i]);
    }
    vmsg->fd_num = 0;
    if (vmsg->flags & VHOST_USER_NEED_REPLY_MASK) {
        return vhost_user_mdev_reply_u64(vmsg, 1, do_reply);
    }
    *do_reply = false;
    return true;
}

/*
 * A frontend owns the device: its rings are in the frontend's memory and
 * its session is on a socket, neither of which a migration of this QEMU
 * can carry, so block migration until the session ends.  A frontend that
 * arrives while a migration runs is refused.
 */
static bool vhost_user_mdev_block_migration(VhostUserMdev *e,
                                            VhostUserMsg *vmsg, int *do_reply)
{
    Error *err = NULL;

    if (e->migration_blocker) {
        return true;
    }
    error_setg(&e->migration_blocker, "%s is serving a vhost-user frontend "
               "(its rings and session cannot migrate)", e->name);
    if (migrate_add_blocker(&e->migration_blocker, &err) < 0) {
        vhost_user_mdev_refuse(e, vmsg, do_reply, "%s",
                               error_get_pretty(err));
        error_free(err);
        return false;
    }
    return true;
}

/* The payload size a request must have; -1: any (checked by its handler). */
static int vhost_user_mdev_payload_size(uint32_t request)
{
    switch (request) {
    case VHOST_USER_GET_FEATURES:
    case VHOST_USER_GET_PROTOCOL_FEATURES:
    case VHOST_USER_GET_QUEUE_NUM:
    case VHOST_USER_SET_OWNER:
    case VHOST_USER_RESET_OWNER:
        return -1;      /* no payload to read; frontends send 0 or 8 */
    case VHOST_USER_SET_FEATURES:
    case VHOST_USER_SET_PROTOCOL_FEATURES:
    case VHOST_USER_SET_VRING_KICK:
    case VHOST_USER_SET_VRING_CALL:
    case VHOST_USER_SET_VRING_ERR:
        return sizeof(uint64_t);
    case VHOST_USER_SET_BACKEND_REQ_FD:
        return -1;      /* only its fd: QEMU sends no payload */
    case VHOST_USER_SET_VRING_NUM:
    case VHOST_USER_SET_VRING_BASE:
    case VHOST_USER_GET_VRING_BASE:
    case VHOST_USER_SET_VRING_ENABLE:
        return sizeof(struct vhost_vring_state);
    case VHOST_USER_SET_VRING_ADDR:
        return sizeof(struct vhost_vring_addr);
    case VHOST_USER_SET_MEM_TABLE:
    case VHOST_USER_GET_CONFIG:
    case VHOST_USER_SET_CONFIG:
        return -1;
    default:
        return -2;      /* not supported */
    }
}

static bool vhost_user_mdev_set_mem_table(VhostUserMdev *e,
                                          VhostUserMsg *vmsg, int *do_reply)
{
    VhostUserMemory m;
    int fds[VHOST_USER_MDEV_MEM_REGIONS];
    size_t head = offsetof(VhostUserMemory, regions);
    Error *err = NULL;

    memcpy(&m, &vmsg->payload.memory, sizeof(m));
    memcpy(fds, vmsg->fds, sizeof(fds));
    if (vmsg->size < head || m.nregions > VHOST_USER_MDEV_MEM_REGIONS ||
        vmsg->size != head + m.nregions * sizeof(m.regions[0]) ||
        vmsg->fd_num != m.nregions) {
        return vhost_user_mdev_refuse(e, vmsg, do_reply, "memory table of "
                                      "%u bytes, %u regions, %d fds",
                                      vmsg->size, m.nregions, vmsg->fd_num);
    }
    if (!vhost_user_mdev_mem_set(e->mem, m.regions, m.nregions, fds,
                                 &err)) {
        g_autofree char *why = g_strdup(error_get_pretty(err));

        error_free(err);
        return vhost_user_mdev_refuse(e, vmsg, do_reply, "%s", why);
    }
    return false;   /* libvhost-user maps it too, for its ring checks */
}

static bool vhost_user_mdev_set_features(VhostUserMdev *e, VhostUserMsg *vmsg,
                                         int *do_reply)
{
    uint64_t all = vmsg->payload.u64;
    uint64_t f = all & ~VHOST_USER_MDEV_F_PROTOCOL;

    if (f & ~e->offered) {
        return vhost_user_mdev_refuse(e, vmsg, do_reply, "features 0x%"
                                      PRIx64 " were not offered",
                                      f & ~e->offered);
    }
    if (f != e->features) {
        for (uint16_t i = 0; i < e->nvqs; i++) {
            if (e->q[i].running) {
                return vhost_user_mdev_refuse(e, vmsg, do_reply, "features "
                                              "changed while queue %u runs",
                                              i);
            }
        }
        e->features = f;
        e->negotiated = false;
    }
    return false;
}

static bool vhost_user_mdev_config(VhostUserMdev *e, VhostUserMsg *vmsg,
                                   int *do_reply)
{
    VhostUserConfig c;
    size_t head = offsetof(VhostUserConfig, region);
    uint32_t limit = e->ops->get_config_size(e->mdev);

    memcpy(&c, &vmsg->payload.config, sizeof(c));
    if (vmsg->size < head || c.size > sizeof(c.region) ||
        vmsg->size != head + c.size || c.offset > limit ||
        c.size > limit - c.offset) {
        return vhost_user_mdev_refuse(e, vmsg, do_reply, "config access of "
                                      "%u bytes at %u (config space: %u)",
                                      c.size, c.offset, limit);
    }
    if (vmsg->request == VHOST_USER_SET_CONFIG) {
        e->ops->set_config(e->mdev, c.offset, c.region, c.size);
        if (vmsg->flags & VHOST_USER_NEED_REPLY_MASK) {
            return vhost_user_mdev_reply_u64(vmsg, 0, do_reply);
        }
        *do_reply = false;
        return true;
    }
    e->ops->get_config(e->mdev, c.offset, c.region, c.size);
    memcpy(&vmsg->payload.config, &c, sizeof(c));
    *do_reply = true;
    return true;
}

/* The queue index of a per-queue request, or -1 when out of range. */
static int vhost_user_mdev_msg_queue(VhostUserMdev *e, VhostUserMsg *vmsg)
{
    uint32_t idx;

    switch (vmsg->request) {
    case VHOST_USER_SET_VRING_KICK:
    case VHOST_USER_SET_VRING_CALL:
    case VHOST_USER_SET_VRING_ERR:
        idx = vmsg->payload.u64 & VHOST_USER_VRING_IDX_MASK;
        break;
    case VHOST_USER_SET_VRING_ADDR:
        idx = vmsg->payload.addr.index;
        break;
    default:
        idx = vmsg->payload.state.index;
        break;
    }
    return idx < e->nvqs ? idx : -1;
}

static int vhost_user_mdev_process_msg(VuDev *dev, VhostUserMsg *vmsg,
                                       int *do_reply)
{
    VhostUserMdev *e = vhost_user_mdev_of(dev);
    int size = vhost_user_mdev_payload_size(vmsg->request);
    int idx;

    trace_vhost_user_mdev_msg(e->name, vmsg->request, vmsg->size);
    if (size == -2) {
        return vhost_user_mdev_refuse(e, vmsg, do_reply, "not supported");
    }
    if (size >= 0 && vmsg->size != size) {
        return vhost_user_mdev_refuse(e, vmsg, do_reply, "payload of %u "
                                      "bytes, expected %d", vmsg->size, size);
    }
    switch (vmsg->request) {
    case VHOST_USER_GET_FEATURES:
        return vhost_user_mdev_reply_u64(vmsg, e->offered |
                                         VHOST_USER_MDEV_F_PROTOCOL,
                                         do_reply);
    case VHOST_USER_GET_PROTOCOL_FEATURES:
        return vhost_user_mdev_reply_u64(vmsg,
                                         VHOST_USER_MDEV_PROTOCOL_FEATURES,
                                         do_reply);
    case VHOST_USER_SET_PROTOCOL_FEATURES:
        if (vmsg->payload.u64 & ~VHOST_USER_MDEV_PROTOCOL_FEATURES) {
            return vhost_user_mdev_refuse(e, vmsg, do_reply, "protocol "
                                          "features 0x%" PRIx64 " were not "
                                          "offered", (uint64_t)
                                          (vmsg->payload.u64 &
                                          ~VHOST_USER_MDEV_PROTOCOL_FEATURES));
        }
        return false;
    case VHOST_USER_SET_FEATURES:
        return vhost_user_mdev_set_features(e, vmsg, do_reply);
    case VHOST_USER_SET_OWNER:
        if (!vhost_user_mdev_block_migration(e, vmsg, do_reply)) {
            return true;
        }
        e->sessions++;
        return false;
    case VHOST_USER_RESET_OWNER:
        vhost_user_mdev_reset(e);
        return false;
    case VHOST_USER_SET_MEM_TABLE:
        return vhost_user_mdev_set_mem_table(e, vmsg, do_reply);
    case VHOST_USER_GET_CONFIG:
    case VHOST_USER_SET_CONFIG:
        return vhost_user_mdev_config(e, vmsg, do_reply);
    case VHOST_USER_GET_QUEUE_NUM:
    case VHOST_USER_SET_BACKEND_REQ_FD:
        return false;
    }

    /* Per-queue requests */
    idx = vhost_user_mdev_msg_queue(e, vmsg);
    if (idx < 0) {
        return vhost_user_mdev_refuse(e, vmsg, do_reply, "queue index out "
                                      "of range (%u queues)", e->nvqs);
    }
    switch (vmsg->request) {
    case VHOST_USER_SET_VRING_ENABLE:
        e->q[idx].enabled = vmsg->payload.state.num;
        vhost_user_mdev_apply(e, idx);
        break;
    case VHOST_USER_GET_VRING_BASE:
        e->q[idx].started = false;
        vhost_user_mdev_apply(e, idx);
        break;
    case VHOST_USER_SET_VRING_NUM:
    case VHOST_USER_SET_VRING_ADDR:
    case VHOST_USER_SET_VRING_BASE:
        if (e->q[idx].running) {
            return vhost_user_mdev_refuse(e, vmsg, do_reply, "queue %d "
                                          "changed while it runs", idx);
        }
        break;
    }
    return false;
}

static const VuDevIface vhost_user_mdev_iface = {
    .process_msg = vhost_user_mdev_process_msg,
    .queue_set_started = vhost_user_mdev_queue_set_started,
};

/* Object */

static uint16_t vhost_user_mdev_count_queues(VhostUserMdev *e)
{
    uint16_t n = 0;

    while (n < VIRTIO_MDEV_MAX_QUEUES && e->ops->get_vq_num_max(e->mdev, n)) {
        n++;
    }
    return n;
}

/*
 * Set 'instance-props' on the new instance, as "vdpa dev add" passes a
 * device's config attributes: each key is one of the instance's QOM
 * properties, whose setter checks the value.  Strings come from the
 * dotted command-line form and are parsed as such.
 */
static bool vhost_user_mdev_apply_instance_props(VhostUserMdev *e,
                                                 Error **errp)
{
    const QDictEntry *ent;

    if (!e->instance_props) {
        return true;
    }
    for (ent = qdict_first(e->instance_props); ent;
         ent = qdict_next(e->instance_props, ent)) {
        QObject *val = qdict_entry_value(ent);
        QString *str = qobject_to(QString, val);
        bool ok = str ? object_property_parse(OBJECT(e->mdev), ent->key,
                                              qstring_get_str(str), errp)
                      : object_property_set_qobject(OBJECT(e->mdev),
                                                    ent->key, val, errp);

        if (!ok) {
            error_prepend(errp, "property 'instance-props': ");
            return false;
        }
    }
    return true;
}

static bool vhost_user_mdev_bind(VhostUserMdev *e, Error **errp)
{
    MdevParent *parent = mdev_parent_find(e->parent_id, NULL, errp);
    VirtioMdevHost host = { .guard = &e->guard };

    if (!parent) {
        return false;
    }
    e->mdev = mdev_create_and_bind(parent, e->type_id, e->uuid, OBJECT(e),
                                   vhost_user_mdev_ids, errp);
    if (!e->mdev) {
        return false;
    }
    e->ops = e->mdev->class_ops;
    if (!e->ops) {
        error_setg(errp, "mdev-type '%s' has no device ops", e->type_id);
        return false;
    }
    if (!vhost_user_mdev_apply_instance_props(e, errp)) {
        e->ops = NULL;
        return false;
    }
    e->name = g_strdup_printf("vhost-user-mdev %s",
                              object_get_canonical_path_component(OBJECT(e)));
    e->mem = vhost_user_mdev_mem_new(e->name);
    host.dma_as = &e->mem->as;
    if (!e->ops->set_host(e->mdev, &host, errp)) {
        e->ops = NULL;
        return false;
    }
    e->ops->set_config_cb(e->mdev, vhost_user_mdev_config_changed, e);
    e->nvqs = vhost_user_mdev_count_queues(e);
    e->offered = e->ops->get_features(e->mdev) &
                 (~VHOST_USER_MDEV_TRANSPORT_BITS |
                  VHOST_USER_MDEV_TRANSPORT_FEATURES);
    for (uint16_t i = 0; i < VIRTIO_MDEV_MAX_QUEUES; i++) {
        e->q[i] = (VhostUserMdevQueue) { .e = e, .idx = i };
    }
    return true;
}

static void vhost_user_mdev_complete(UserCreatable *uc, Error **errp)
{
    VhostUserMdev *e = VHOST_USER_MDEV(uc);
    const char *missing = !e->parent_id ? "mdev-parent" :
                          !e->type_id ? "mdev-type" :
                          !e->addr ? "addr" : NULL;

    if (missing) {
        error_setg(errp, "vhost-user-mdev: property '%s' is required",
                   missing);
        return;
    }
    if (!vhost_user_mdev_bind(e, errp)) {
        return;
    }
    if (!vhost_user_server_start(&e->server, e->addr, qemu_get_aio_context(),
                                 e->nvqs, &vhost_user_mdev_iface, errp)) {
        return;
    }
    e->server.client_gone = vhost_user_mdev_client_gone;
    e->serving = true;
}

static bool vhost_user_mdev_can_be_deleted(UserCreatable *uc)
{
    return true;
}

static void vhost_user_mdev_finalize(Object *obj)
{
    VhostUserMdev *e = VHOST_USER_MDEV(obj);

    if (e->serving) {
        vhost_user_server_stop(&e->server);
    }
    vhost_user_mdev_unblock_migration(e);
    if (e->ops) {
        vhost_user_mdev_reset(e);
        e->ops->set_config_cb(e->mdev, NULL, NULL);
        e->ops->set_host(e->mdev, NULL, NULL);
    }
    if (e->mdev) {
        mdev_destroy(e->mdev);
    }
    if (e->mem) {
        vhost_user_mdev_mem_destroy(e->mem);
    }
    g_free(e->name);
    g_free(e->parent_id);
    g_free(e->type_id);
    g_free(e->uuid);
    qapi_free_SocketAddress(e->addr);
    qobject_unref(e->instance_props);
}

/* Properties: set before creation only */

static bool vhost_user_mdev_check_unbound(VhostUserMdev *e, const char *name,
                                          Error **errp)
{
    if (e->mdev) {
        error_setg(errp, "vhost-user-mdev: property '%s' cannot be changed "
                   "once the object is created", name);
        return false;
    }
    return true;
}

#define VHOST_USER_MDEV_STR_PROP(_field, _name) \
    static char *vhost_user_mdev_get_##_field(Object *obj, Error **errp) \
    { \
        return g_strdup(VHOST_USER_MDEV(obj)->_field); \
    } \
    static void vhost_user_mdev_set_##_field(Object *obj, const char *val, \
                                             Error **errp) \
    { \
        VhostUserMdev *e = VHOST_USER_MDEV(obj); \
        if (vhost_user_mdev_check_unbound(e, _name, errp)) { \
            g_free(e->_field); \
            e->_field = g_strdup(val); \
        } \
    }

VHOST_USER_MDEV_STR_PROP(parent_id, "mdev-parent")
VHOST_USER_MDEV_STR_PROP(type_id, "mdev-type")
VHOST_USER_MDEV_STR_PROP(uuid, "uuid")

static void vhost_user_mdev_get_addr(Object *obj, Visitor *v,
                                     const char *name, void *opaque,
                                     Error **errp)
{
    VhostUserMdev *e = VHOST_USER_MDEV(obj);
    g_autoptr(SocketAddress) addr = e->addr ? QAPI_CLONE(SocketAddress,
                                                         e->addr) : NULL;

    if (!addr) {
        error_setg(errp, "vhost-user-mdev: property 'addr' is not set");
        return;
    }
    visit_type_SocketAddress(v, name, &addr, errp);
}

static void vhost_user_mdev_set_addr(Object *obj, Visitor *v,
                                     const char *name, void *opaque,
                                     Error **errp)
{
    VhostUserMdev *e = VHOST_USER_MDEV(obj);
    SocketAddress *addr = NULL;

    if (!vhost_user_mdev_check_unbound(e, name, errp) ||
        !visit_type_SocketAddress(v, name, &addr, errp)) {
        return;
    }
    qapi_free_SocketAddress(e->addr);
    e->addr = addr;
}

static void vhost_user_mdev_get_instance_props(Object *obj, Visitor *v,
                                               const char *name, void *opaque,
                                               Error **errp)
{
    VhostUserMdev *e = VHOST_USER_MDEV(obj);
    QObject *props = e->instance_props
                     ? qobject_ref(QOBJECT(e->instance_props))
                     : QOBJECT(qdict_new());

    visit_type_any(v, name, &props, errp);
    qobject_unref(props);
}

static void vhost_user_mdev_set_instance_props(Object *obj, Visitor *v,
                                               const char *name, void *opaque,
                                               Error **errp)
{
    VhostUserMdev *e = VHOST_USER_MDEV(obj);
    QObject *val = NULL;
    QDict *props;

    if (!vhost_user_mdev_check_unbound(e, name, errp) ||
        !visit_type_any(v, name, &val, errp)) {
        return;
    }
    props = qobject_to(QDict, val);
    if (!props) {
        error_setg(errp, "vhost-user-mdev: property '%s' takes an object of "
                   "the instance's properties, e.g. {\"queues\": 2}", name);
        qobject_unref(val);
        return;
    }
    qobject_unref(e->instance_props);
    e->instance_props = props;
}

/* "unix:<path>" or "fd:<name>": where a frontend connects (query-mdev). */
static char *vhost_user_mdev_get_socket(Object *obj, Error **errp)
{
    VhostUserMdev *e = VHOST_USER_MDEV(obj);

    if (!e->addr) {
        return g_strdup("");
    }
    if (e->addr->type == SOCKET_ADDRESS_TYPE_UNIX) {
        return g_strdup_printf("unix:%s", e->addr->u.q_unix.path);
    }
    if (e->addr->type == SOCKET_ADDRESS_TYPE_FD) {
        return g_strdup_printf("fd:%s", e->addr->u.fd.str);
    }
    return g_strdup(SocketAddressType_str(e->addr->type));
}

static bool vhost_user_mdev_get_connected(Object *obj, Error **errp)
{
    return VHOST_USER_MDEV(obj)->server.sioc != NULL;
}

static void vhost_user_mdev_get_sessions(Object *obj, Visitor *v,
                                         const char *name, void *opaque,
                                         Error **errp)
{
    uint64_t n = VHOST_USER_MDEV(obj)->sessions;

    visit_type_uint64(v, name, &n, errp);
}

static void vhost_user_mdev_class_init(ObjectClass *oc, void *data)
{
    UserCreatableClass *ucc = USER_CREATABLE_CLASS(oc);

    ucc->complete = vhost_user_mdev_complete;
    ucc->can_be_deleted = vhost_user_mdev_can_be_deleted;

    object_class_property_add_str(oc, "mdev-parent",
                                  vhost_user_mdev_get_parent_id,
                                  vhost_user_mdev_set_parent_id);
    object_class_property_set_description(oc, "mdev-parent",
        "id of the mdev parent object (-object <kind>,id=...)");
    object_class_property_add_str(oc, "mdev-type",
                                  vhost_user_mdev_get_type_id,
                                  vhost_user_mdev_set_type_id);
    object_class_property_set_description(oc, "mdev-type",
        "type of the instance to export, one of class vhost");
    object_class_property_add_str(oc, "uuid", vhost_user_mdev_get_uuid,
                                  vhost_user_mdev_set_uuid);
    object_class_property_set_description(oc, "uuid",
        "UUID of the instance (default: generated)");
    object_class_property_add(oc, "addr", "SocketAddress",
                              vhost_user_mdev_get_addr,
                              vhost_user_mdev_set_addr, NULL, NULL);
    object_class_property_set_description(oc, "addr",
        "where frontends connect: addr.type=unix,addr.path=PATH or "
        "addr.type=fd,addr.str=FD");
    object_class_property_add(oc, "instance-props", "any",
                              vhost_user_mdev_get_instance_props,
                              vhost_user_mdev_set_instance_props, NULL, NULL);
    object_class_property_set_description(oc, "instance-props",
        "properties set on the new instance, e.g. {\"queues\": 2}");
    object_class_property_add_str(oc, "socket", vhost_user_mdev_get_socket,
                                  NULL);
    object_class_property_set_description(oc, "socket",
        "the listening socket (read-only)");
    object_class_property_add_bool(oc, "connected",
                                   vhost_user_mdev_get_connected, NULL);
    object_class_property_set_description(oc, "connected",
        "whether a frontend is connected (read-only)");
    object_class_property_add(oc, "sessions", "uint64",
                              vhost_user_mdev_get_sessions, NULL, NULL, NULL);
    object_class_property_set_description(oc, "sessions",
        "frontends that took ownership so far (read-only)");
}

static const TypeInfo vhost_user_mdev_types[] = {
    {
        .name = TYPE_VHOST_USER_MDEV,
        .parent = TYPE_OBJECT,
        .instance_size = sizeof(VhostUserMdev),
        .instance_finalize = vhost_user_mdev_finalize,
        .class_init = vhost_user_mdev_class_init,
        .interfaces = (InterfaceInfo[]) {
            { TYPE_USER_CREATABLE },
            { }
        },
    },
};

DEFINE_TYPES(vhost_user_mdev_types)
