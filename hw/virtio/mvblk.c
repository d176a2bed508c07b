/*
 * mvblk: a virtio-blk mdev that runs the datapath itself, on the block layer
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The second parent kind behind the virtio-mdev transport, as the kernel's
 * vdpa_sim_blk is behind vDPA: the backend pops requests from the ring in
 * guest memory with the vring engine and runs them asynchronously through
 * a BlockBackend, many in flight, completing them in any order.
 *
 *  - Storage: the block node or -drive named by "drive", or else a RAM
 *    disk of "size" bytes (a memfd opened with the file driver, so it too
 *    goes through the block layer).  A read-only node offers VIRTIO_BLK_F_RO.
 *  - Requests: IN, OUT, FLUSH, GET_ID, DISCARD and WRITE_ZEROES.  Data is
 *    mapped from guest memory (no copy) for the life of the request.  A bad
 *    request (beyond the end, unaligned, over SEG_MAX/SIZE_MAX, unknown
 *    type, ...) completes with IOERR or UNSUPP and LOG_GUEST_ERROR.  A
 *    chain with no room for the status byte, or a ring violation, sets
 *    DEVICE_NEEDS_RESET.
 *  - Reset, unbind and migration: requests in flight are drained first;
 *    those of a previous device generation complete without touching the
 *    rings.  No request is popped while the VM is stopped.
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qapi/visitor.h"
#include "qemu/cutils.h"
#include "qemu/error-report.h"
#include "qemu/log.h"
#include "qemu/main-loop.h"
#include "qemu/memfd.h"
#include "qemu/module.h"
#include "qemu/units.h"
#include "qobject/qdict.h"
#include "block/block.h"
#include "system/block-backend.h"
#include "system/runstate.h"
#include "migration/vmstate.h"
#include "hw/qdev-core.h"
#include "standard-headers/linux/virtio_blk.h"
#include "standard-headers/linux/virtio_config.h"
#include "standard-headers/linux/virtio_ids.h"
#include "standard-headers/linux/virtio_ring.h"
#include "hw/virtio/virtio-mdev-ops.h"
#include "hw/virtio/mdev-switch.h"
#include "hw/virtio/mdev-vq.h"
#include "hw/virtio/vring-dma.h"
#include "hw/virtio/vring-engine.h"
#include "trace.h"

#define TYPE_MVBLK_PARENT "mvblk"
OBJECT_DECLARE_SIMPLE_TYPE(MvblkParent, MVBLK_PARENT)

#define TYPE_MVBLK_DEVICE "mvblk-device"
OBJECT_DECLARE_SIMPLE_TYPE(MvblkDevice, MVBLK_DEVICE)

#define MVBLK_QUEUE_MAX     256
#define MVBLK_SEG_MAX       (MVBLK_QUEUE_MAX - 2)   /* + header, status */
#define MVBLK_SIZE_MAX      (1 * MiB)               /* per segment */
#define MVBLK_MAX_IOV       1024                    /* pieces per request */
#define MVBLK_BURST         64                      /* pops per bh run */
#define MVBLK_DISCARD_MAX   (32 * MiB / BDRV_SECTOR_SIZE)
#define MVBLK_HDR_SIZE      16
#define MVBLK_SEG_SIZE      16      /* struct virtio_blk_discard_write_zeroes */
#define MVBLK_CONFIG_SIZE   offsetof(struct virtio_blk_config, \
                                     max_secure_erase_sectors)

#define MVBLK_FEATURES \
    ((1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_F_ANY_LAYOUT) | \
     (1ULL << VIRTIO_BLK_F_SIZE_MAX) | (1ULL << VIRTIO_BLK_F_SEG_MAX) | \
     (1ULL << VIRTIO_BLK_F_BLK_SIZE) | (1ULL << VIRTIO_BLK_F_FLUSH) | \
     (1ULL << VIRTIO_BLK_F_TOPOLOGY) | (1ULL << VIRTIO_BLK_F_DISCARD) | \
     (1ULL << VIRTIO_BLK_F_WRITE_ZEROES) | \
     (1ULL << VIRTIO_RING_F_INDIRECT_DESC) | \
     (1ULL << VIRTIO_RING_F_EVENT_IDX) | (1ULL << VIRTIO_F_RING_PACKED))

struct MvblkParent {
    MdevParent parent_obj;
};

typedef struct MvblkStats {
    uint64_t requests;
    uint64_t read_bytes;
    uint64_t write_bytes;
    uint64_t errors;
    uint64_t kicks;
    uint64_t interrupts;
} MvblkStats;

typedef struct MvblkReq MvblkReq;

/*
 * Feature switches: each instance property turns one feature off; bit -1
 * is the GET_ID request.
 */
static const MdevSwitch mvblk_switches[] = {
    { "size-max", VIRTIO_BLK_F_SIZE_MAX, "Offer VIRTIO_BLK_F_SIZE_MAX" },
    { "seg-max", VIRTIO_BLK_F_SEG_MAX, "Offer VIRTIO_BLK_F_SEG_MAX" },
    { "blk-size", VIRTIO_BLK_F_BLK_SIZE, "Offer VIRTIO_BLK_F_BLK_SIZE" },
    { "flush", VIRTIO_BLK_F_FLUSH, "Offer VIRTIO_BLK_F_FLUSH" },
    { "topology", VIRTIO_BLK_F_TOPOLOGY, "Offer VIRTIO_BLK_F_TOPOLOGY" },
    { "discard", VIRTIO_BLK_F_DISCARD, "Offer VIRTIO_BLK_F_DISCARD" },
    { "write-zeroes", VIRTIO_BLK_F_WRITE_ZEROES,
      "Offer VIRTIO_BLK_F_WRITE_ZEROES" },
    { "indirect-desc", VIRTIO_RING_F_INDIRECT_DESC,
      "Offer VIRTIO_RING_F_INDIRECT_DESC" },
    { "event-idx", VIRTIO_RING_F_EVENT_IDX, "Offer VIRTIO_RING_F_EVENT_IDX" },
    { "packed", VIRTIO_F_RING_PACKED, "Offer VIRTIO_F_RING_PACKED" },
    { "get-id", -1, "Answer the GET_ID request (device serial)" },
};

struct MvblkDevice {
    MdevDevice parent_obj;

    /* properties */
    char *drive;
    uint64_t size;
    char *serial;
    uint64_t host_features;
    bool get_id;
    struct {                    /* the source's, checked on load */
        uint64_t host_features;
        bool get_id;
        uint64_t capacity;
        bool read_only;
    } mig_conf;

    /* bound */
    VirtioMdevHost host;
    VringDma dma;
    QEMUBH *bh;
    VMChangeStateEntry *vmstate_change;
    BlockBackend *blk;
    uint32_t blk_size;          /* logical block size */
    uint32_t phys_size;         /* physical block size */
    bool read_only;

    /* device state */
    uint8_t status;
    uint64_t features;
    uint32_t generation;
    bool broken;
    unsigned epoch;             /* bumped by reset: older requests are moot */
    MdevVq vq;
    MvblkStats stats;
    char *name;                 /* "mvblk <uuid>", for messages */
    VirtioMdevCallback *config_cb;
    void *config_opaque;
    QTAILQ_HEAD(, MvblkReq) inflight;
};

struct MvblkReq {
    MvblkDevice *b;
    unsigned epoch;
    VringChain chain;
    QEMUIOVector qiov;
    bool dev_writes;            /* data flows into guest memory */
    uint32_t type;
    uint64_t offset;            /* byte offset of IN/OUT */
    uint64_t data_len;
    uint8_t status;
    QTAILQ_ENTRY(MvblkReq) next;
};

static MvblkDevice *to_mvblk(MdevDevice *mdev)
{
    return MVBLK_DEVICE(mdev);
}

static bool mvblk_has(MvblkDevice *b, unsigned bit)
{
    return b->features & (1ULL << bit);
}

static const char *mvblk_name(MvblkDevice *b)
{
    return MDEV_DEVICE(b)->uuid_str ?: "mvblk";
}

static uint64_t mvblk_capacity(MvblkDevice *b)
{
    int64_t len = b->blk ? blk_getlength(b->blk) : 0;

    return len > 0 ? len / BDRV_SECTOR_SIZE : 0;
}

/* What is offered: the switched-on features, RO from the backing store. */
static uint64_t mvblk_offered(MvblkDevice *b)
{
    return b->host_features | (b->read_only ? 1ULL << VIRTIO_BLK_F_RO : 0);
}

static void mvblk_config_changed(MvblkDevice *b)
{
    b->generation++;
    if (b->config_cb) {
        b->config_cb(b->config_opaque);
    }
}

/* A guest broke the rules: stop until reset and tell the driver. */
static void mvblk_set_broken(MvblkDevice *b, const char *why)
{
    if (b->broken) {
        return;
    }
    qemu_log_mask(LOG_GUEST_ERROR, "mvblk %s: %s; device needs reset\n",
                  mvblk_name(b), why);
    b->broken = true;
    b->stats.errors++;
    b->status |= VIRTIO_CONFIG_S_NEEDS_RESET;
    mvblk_config_changed(b);
}

static void mvblk_notify(MvblkDevice *b)
{
    int r = mdev_vq_notify(&b->vq);

    if (r < 0) {
        mvblk_set_broken(b, "used ring not writable");
    } else if (r) {
        b->stats.interrupts++;
    }
}

/* Requests */

static MvblkReq *mvblk_req_new(MvblkDevice *b)
{
    MvblkReq *req = g_new0(MvblkReq, 1);

    req->b = b;
    req->epoch = b->epoch;
    vring_chain_init(&req->chain, MVBLK_QUEUE_MAX);
    qemu_iovec_init(&req->qiov, 8);
    return req;
}

static void mvblk_req_free(MvblkReq *req)
{
    vring_chain_free(&req->chain);
    qemu_iovec_destroy(&req->qiov);
    g_free(req);
}

static void mvblk_req_unmap(MvblkReq *req)
{
    for (int i = 0; i < req->qiov.niov; i++) {
        struct iovec *iov = &req->qiov.iov[i];

        vring_dma_unmap(&req->b->dma, iov->iov_base, iov->iov_len,
                        req->dev_writes, req->dev_writes ? iov->iov_len : 0);
    }
    qemu_iovec_reset(&req->qiov);
}

/*
 * Hand a request back to the driver: status byte last in its writable
 * buffers, a used entry covering the data read and the status.  Requests
 * of an older generation (the device was reset meanwhile) or of a broken
 * device are only released.  Returns whether the used ring changed.
 */
static bool mvblk_complete(MvblkReq *req)
{
    MvblkDevice *b = req->b;
    MdevVq *vq = &b->vq;
    uint64_t in_data = req->dev_writes && req->status == VIRTIO_BLK_S_OK ?
                       req->data_len : 0;

    mvblk_req_unmap(req);
    trace_mvblk_complete(mvblk_name(b), req->type, req->status);
    if (req->epoch != b->epoch || b->broken) {
        mvblk_req_free(req);
        return false;
    }
    b->stats.requests++;
    if (req->status != VIRTIO_BLK_S_OK) {
        b->stats.errors++;
    } else if (req->type == VIRTIO_BLK_T_IN) {
        b->stats.read_bytes += req->data_len;
    } else if (req->type == VIRTIO_BLK_T_OUT) {
        b->stats.write_bytes += req->data_len;
    }
    if (vring_chain_write(&vq->ring, &req->chain, req->chain.in_len - 1,
                          &req->status, 1) != 1 ||
        vring_fill(&vq->ring, &req->chain, in_data + 1) < 0) {
        mvblk_set_broken(b, "request status not writable");
    }
    mvblk_req_free(req);
    return !b->broken;
}

static void mvblk_aio_done(void *opaque, int ret)
{
    MvblkReq *req = opaque;
    MvblkDevice *b = req->b;

    QTAILQ_REMOVE(&b->inflight, req, next);
    if (ret < 0) {
        /* The host's failure, not the guest's: report it, no guest log. */
        error_report_once("mvblk %s: request type %u at %" PRIu64 ": %s",
                          mvblk_name(b), req->type, req->offset,
                          strerror(-ret));
        req->status = VIRTIO_BLK_S_IOERR;
    }
    if (mvblk_complete(req)) {
        mvblk_notify(b);
    }
}

/* Fail a request the guest got wrong; it completes at once. */
static void mvblk_reject(MvblkReq *req, uint8_t status, const char *fmt, ...)
    G_GNUC_PRINTF(3, 4);

static void mvblk_reject(MvblkReq *req, uint8_t status, const char *fmt, ...)
{
    g_autofree char *msg = NULL;
    va_list ap;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    qemu_log_mask(status == VIRTIO_BLK_S_UNSUPP ? LOG_UNIMP : LOG_GUEST_ERROR,
                  "mvblk %s: request type %u: %s\n", mvblk_name(req->b),
                  req->type, msg);
    req->status = status;
    mvblk_complete(req);
}

/*
 * Map @len bytes of the chain's readable (@in false) or writable buffers,
 * from @skip, into req->qiov.  Returns NULL, or why it cannot be done.
 */
static const char *mvblk_map(MvblkReq *req, bool in, uint64_t skip,
                             uint64_t len)
{
    MvblkDevice *b = req->b;
    VringChain *c = &req->chain;
    unsigned first = in ? c->nout : 0, n = in ? c->nin : c->nout;
    unsigned segs = 0;

    req->dev_writes = in;
    for (unsigned k = 0; k < n && len; k++) {
        VringBuf *buf = &c->bufs[first + k];
        uint64_t off = skip, take;

        if (skip >= buf->len) {
            skip -= buf->len;
            continue;
        }
        skip = 0;
        take = MIN(buf->len - off, len);
        if (mvblk_has(b, VIRTIO_BLK_F_SIZE_MAX) && take > MVBLK_SIZE_MAX) {
            return "a segment is over SIZE_MAX";
        }
        if (mvblk_has(b, VIRTIO_BLK_F_SEG_MAX) && ++segs > MVBLK_SEG_MAX) {
            return "more segments than SEG_MAX";
        }
        len -= take;
        while (take) {
            uint64_t l = take;
            void *p;

            if (req->qiov.niov == MVBLK_MAX_IOV) {
                return "data in too many pieces";
            }
            p = vring_dma_map(&b->dma, buf->addr + off, &l, in);
            if (!p) {
                return "data buffer is not in guest memory";
            }
            qemu_iovec_add(&req->qiov, p, l);
            off += l;
            take -= l;
        }
    }
    return len ? "data beyond the chain" : NULL;
}

/* IN and OUT: check the range, map the data, start the I/O. */
static void mvblk_rw(MvblkReq *req, uint64_t sector)
{
    MvblkDevice *b = req->b;
    bool in = req->type == VIRTIO_BLK_T_IN;
    uint64_t len = in ? req->chain.in_len - 1
                      : req->chain.out_len - MVBLK_HDR_SIZE;
    uint64_t cap = mvblk_capacity(b);
    const char *err;

    req->data_len = len;
    if (!in && b->read_only) {
        mvblk_reject(req, VIRTIO_BLK_S_IOERR, "write to a read-only disk");
        return;
    }
    if (sector > cap || len / BDRV_SECTOR_SIZE > cap - sector) {
        mvblk_reject(req, VIRTIO_BLK_S_IOERR, "sector %" PRIu64 " + %"
                     PRIu64 " bytes is beyond the end (%" PRIu64
                     " sectors)", sector, len, cap);
        return;
    }
    req->offset = sector * BDRV_SECTOR_SIZE;
    if (req->offset % b->blk_size || len % b->blk_size) {
        mvblk_reject(req, VIRTIO_BLK_S_IOERR, "sector %" PRIu64 " + %"
                     PRIu64 " bytes is not aligned to the %u-byte block",
                     sector, len, b->blk_size);
        return;
    }
    err = mvblk_map(req, in, in ? 0 : MVBLK_HDR_SIZE, len);
    if (err) {
        mvblk_reject(req, VIRTIO_BLK_S_IOERR, "%s", err);
        return;
    }
    QTAILQ_INSERT_TAIL(&b->inflight, req, next);
    if (in) {
        blk_aio_preadv(b->blk, req->offset, &req->qiov, 0, mvblk_aio_done,
                       req);
    } else {
        blk_aio_pwritev(b->blk, req->offset, &req->qiov, 0, mvblk_aio_done,
                        req);
    }
}

/* DISCARD and WRITE_ZEROES: one {sector, num_sectors, flags} segment. */
static void mvblk_dwz(MvblkReq *req)
{
    MvblkDevice *b = req->b;
    bool wz = req->type == VIRTIO_BLK_T_WRITE_ZEROES;
    uint8_t seg[MVBLK_SEG_SIZE];
    uint64_t sector, cap = mvblk_capacity(b);
    uint32_t num, flags;

    if (!mvblk_has(b, wz ? VIRTIO_BLK_F_WRITE_ZEROES : VIRTIO_BLK_F_DISCARD)) {
        mvblk_reject(req, VIRTIO_BLK_S_UNSUPP, "feature not negotiated");
        return;
    }
    if (req->chain.out_len != MVBLK_HDR_SIZE + MVBLK_SEG_SIZE) {
        mvblk_reject(req, VIRTIO_BLK_S_UNSUPP, "%" PRIu64 " bytes of "
                     "segments: exactly one is supported",
                     req->chain.out_len - MVBLK_HDR_SIZE);
        return;
    }
    if (vring_chain_read(&b->vq.ring, &req->chain, MVBLK_HDR_SIZE, seg,
                         sizeof(seg)) != sizeof(seg)) {
        mvblk_set_broken(b, "request segment not readable");
        mvblk_req_free(req);
        return;
    }
    sector = ldq_le_p(seg);
    num = ldl_le_p(seg + 8);
    flags = ldl_le_p(seg + 12);
    if (flags & ~(wz ? VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP : 0)) {
        mvblk_reject(req, VIRTIO_BLK_S_UNSUPP, "flags 0x%x", flags);
        return;
    }
    if (b->read_only) {
        mvblk_reject(req, VIRTIO_BLK_S_IOERR, "read-only disk");
        return;
    }
    if (num > MVBLK_DISCARD_MAX || sector > cap || num > cap - sector ||
        (sector * BDRV_SECTOR_SIZE) % b->blk_size ||
        ((uint64_t)num * BDRV_SECTOR_SIZE) % b->blk_size) {
        mvblk_reject(req, VIRTIO_BLK_S_IOERR, "range %" PRIu64 "+%u is "
                     "beyond the end, over the limit or unaligned",
                     sector, num);
        return;
    }
    req->offset = sector * BDRV_SECTOR_SIZE;
    req->data_len = (uint64_t)num * BDRV_SECTOR_SIZE;
    QTAILQ_INSERT_TAIL(&b->inflight, req, next);
    if (wz) {
        blk_aio_pwrite_zeroes(b->blk, req->offset, req->data_len,
                              flags ? BDRV_REQ_MAY_UNMAP : 0,
                              mvblk_aio_done, req);
    } else {
        blk_aio_pdiscard(b->blk, req->offset, req->data_len, mvblk_aio_done,
                         req);
    }
}

static void mvblk_get_id(MvblkReq *req)
{
    MvblkDevice *b = req->b;
    char id[VIRTIO_BLK_ID_BYTES] = { 0 };
    uint64_t len = MIN(req->chain.in_len - 1, sizeof(id));

    if (!b->get_id) {
        mvblk_reject(req, VIRTIO_BLK_S_UNSUPP, "GET_ID is switched off");
        return;
    }
    if (b->serial) {
        memcpy(id, b->serial, MIN(strlen(b->serial), sizeof(id)));
    }
    if (vring_chain_write(&b->vq.ring, &req->chain, 0, id, len) != len) {
        mvblk_set_broken(b, "GET_ID buffer not writable");
        mvblk_req_free(req);
        return;
    }
    req->dev_writes = true;
    req->data_len = len;
    mvblk_complete(req);
}

/* Start one popped request: it completes now (errors) or later (I/O). */
static void mvblk_submit(MvblkReq *req)
{
    MvblkDevice *b = req->b;
    uint8_t hdr[MVBLK_HDR_SIZE];

    if (req->chain.in_len < 1) {
        mvblk_set_broken(b, "request without a status byte");
        mvblk_req_free(req);
        return;
    }
    req->status = VIRTIO_BLK_S_OK;
    if (req->chain.out_len < MVBLK_HDR_SIZE) {
        req->type = UINT32_MAX;
        mvblk_reject(req, VIRTIO_BLK_S_IOERR, "header of %" PRIu64
                     " bytes (16 needed)", req->chain.out_len);
        return;
    }
    if (vring_chain_read(&b->vq.ring, &req->chain, 0, hdr, sizeof(hdr)) !=
        sizeof(hdr)) {
        mvblk_set_broken(b, "request header not readable");
        mvblk_req_free(req);
        return;
    }
    req->type = ldl_le_p(hdr);
    trace_mvblk_request(mvblk_name(b), req->type, ldq_le_p(hdr + 8),
                        req->chain.out_len, req->chain.in_len);
    switch (req->type) {
    case VIRTIO_BLK_T_IN:
    case VIRTIO_BLK_T_OUT:
        mvblk_rw(req, ldq_le_p(hdr + 8));
        break;
    case VIRTIO_BLK_T_FLUSH:
        QTAILQ_INSERT_TAIL(&b->inflight, req, next);
        blk_aio_flush(b->blk, mvblk_aio_done, req);
        break;
    case VIRTIO_BLK_T_GET_ID:
        mvblk_get_id(req);
        break;
    case VIRTIO_BLK_T_DISCARD:
    case VIRTIO_BLK_T_WRITE_ZEROES:
        mvblk_dwz(req);
        break;
    default:
        mvblk_reject(req, VIRTIO_BLK_S_UNSUPP, "unknown request type");
        break;
    }
}

static void mvblk_bh(void *opaque)
{
    MvblkDevice *b = opaque;
    MdevVq *vq = &b->vq;
    unsigned budget = MVBLK_BURST;
    bool again = false;
    int r = 0;

    if (b->broken || !(b->status & VIRTIO_CONFIG_S_DRIVER_OK) ||
        !vq->ready || !runstate_is_running()) {
        return;
    }
    vring_disable_notify(&vq->ring);
    while (budget-- && !b->broken) {
        MvblkReq *req = mvblk_req_new(b);

        r = vring_pop(&vq->ring, &req->chain, true, true);
        if (r <= 0) {
            mvblk_req_free(req);
            break;
        }
        mvblk_submit(req);
    }
    if (r < 0) {
        mvblk_set_broken(b, vring_strerror(-r));
    }
    if (b->broken) {
        return;
    }
    mvblk_notify(b);
    /* Budget used up: yield to the main loop; else wait for a kick. */
    again = r > 0 || vring_enable_notify(&vq->ring);
    if (again) {
        qemu_bh_schedule(b->bh);
    }
}

/* The VM runs again: pick up what was kicked while it was stopped. */
static void mvblk_vm_state_change(void *opaque, bool running, RunState state)
{
    MvblkDevice *b = opaque;

    if (running && (b->status & VIRTIO_CONFIG_S_DRIVER_OK) && !b->broken) {
        qemu_bh_schedule(b->bh);
    }
}

/*
 * Wait for every request in flight; they complete as their epoch says.
 * The block layer's drain polls the main loop's bottom halves, ours too:
 * cancel it first, or it would pop new requests that wait out the drain.
 */
static void mvblk_drain(MvblkDevice *b)
{
    if (b->bh) {
        qemu_bh_cancel(b->bh);
    }
    if (b->blk && !QTAILQ_EMPTY(&b->inflight)) {
        blk_drain(b->blk);
    }
    assert(QTAILQ_EMPTY(&b->inflight));
}

/* Backing store */

/* The RAM disk: a memfd of @size bytes, through the file driver. */
static BlockBackend *mvblk_open_ram(MvblkDevice *b, Error **errp)
{
    g_autofree char *path = NULL;
    QDict *opts;
    BlockBackend *blk;
    int fd;

    fd = qemu_memfd_create("mvblk", b->size, false, 0, 0, errp);
    if (fd < 0) {
        return NULL;
    }
    path = g_strdup_printf("/proc/self/fd/%d", fd);
    opts = qdict_new();
    qdict_put_str(opts, "driver", "file");
    qdict_put_str(opts, "locking", "off");
    blk = blk_new_open(path, NULL, opts, BDRV_O_RDWR, errp);
    close(fd);
    if (blk) {
        /* Migration inactivates every node: allow it, as for a device's. */
        blk_set_force_allow_inactivate(blk);
    }
    return blk;
}

/*
 * A -drive by id, or a block node by name.  Either way mvblk has its own
 * BlockBackend on the node, as the block layer's users that are not qdev
 * devices do: the permission system then keeps any other writer away,
 * another device on the same -drive included.  Migration may inactivate
 * it, as it does a guest device's.
 */
static BlockBackend *mvblk_open_drive(MvblkDevice *b, Error **errp)
{
    BlockBackend *named = blk_by_name(b->drive), *blk;
    BlockDriverState *bs;
    uint64_t perm = BLK_PERM_CONSISTENT_READ;
    uint64_t shared = BLK_PERM_CONSISTENT_READ | BLK_PERM_WRITE_UNCHANGED |
                      BLK_PERM_RESIZE;

    if (named && blk_get_attached_dev(named)) {
        error_setg(errp, "property 'drive': '%s' is in use by another "
                   "device", b->drive);
        return NULL;
    }
    bs = named ? blk_bs(named) : bdrv_lookup_bs(NULL, b->drive, NULL);
    if (!bs) {
        error_setg(errp, "property 'drive': no drive or block node named "
                   "'%s' (or it has no medium)", b->drive);
        return NULL;
    }
    if (!bdrv_is_read_only(bs)) {
        perm |= BLK_PERM_WRITE;
    }
    blk = blk_new(qemu_get_aio_context(), perm, shared);
    blk_set_force_allow_inactivate(blk);
    if (blk_insert_bs(blk, bs, errp) < 0) {
        blk_unref(blk);
        return NULL;
    }
    return blk;
}

/*
 * The node was resized (block_resize, which the permissions we share
 * allow): the capacity is read from the node, tell a running driver.
 */
static void mvblk_resize_cb(void *opaque)
{
    MvblkDevice *b = opaque;

    if (b->status & VIRTIO_CONFIG_S_DRIVER_OK) {
        mvblk_config_changed(b);
    } else {
        b->generation++;
    }
}

static const BlockDevOps mvblk_block_ops = {
    .resize_cb = mvblk_resize_cb,
};

static bool mvblk_open(MvblkDevice *b, Error **errp)
{
    BlockSizes sizes;

    b->blk = b->drive ? mvblk_open_drive(b, errp) : mvblk_open_ram(b, errp);
    if (!b->blk) {
        return false;
    }
    blk_set_dev_ops(b->blk, &mvblk_block_ops, b);
    if (blk_get_aio_context(b->blk) != qemu_get_aio_context()) {
        error_setg(errp, "property 'drive': '%s' is in an iothread; mvblk "
                   "runs in the main loop", b->drive);
        return false;
    }
    b->read_only = !blk_is_writable(b->blk);
    b->blk_size = b->phys_size = BDRV_SECTOR_SIZE;
    if (blk_probe_blocksizes(b->blk, &sizes) == 0) {
        b->blk_size = sizes.log;
        b->phys_size = MAX(sizes.phys, sizes.log);
    }
    if (blk_getlength(b->blk) < 0) {
        error_setg(errp, "property 'drive': cannot read the size of '%s'",
                   b->drive ?: "the RAM disk");
        return false;
    }
    return true;
}

static void mvblk_close(MvblkDevice *b)
{
    if (b->blk) {
        blk_unref(b->blk);
        b->blk = NULL;
    }
}

/* Device ops */

static void mvblk_reset(MdevDevice *mdev)
{
    MvblkDevice *b = to_mvblk(mdev);

    b->epoch++;
    mvblk_drain(b);
    mdev_vq_reset(&b->vq);
    b->status = 0;
    b->features = 0;
    b->broken = false;
}

static bool mvblk_set_host(MdevDevice *mdev, const VirtioMdevHost *host,
                           Error **errp)
{
    MvblkDevice *b = to_mvblk(mdev);

    if (!host) {
        mvblk_reset(mdev);
        if (b->vmstate_change) {
            qemu_del_vm_change_state_handler(b->vmstate_change);
            b->vmstate_change = NULL;
        }
        g_clear_pointer(&b->bh, qemu_bh_delete);
        vring_dma_destroy(&b->dma);
        mvblk_close(b);
        memset(&b->host, 0, sizeof(b->host));
        return true;
    }
    if (!mvblk_open(b, errp)) {
        mvblk_close(b);
        return false;
    }
    b->host = *host;
    b->bh = qemu_bh_new_guarded(mvblk_bh, b, host->guard);
    b->vmstate_change = qemu_add_vm_change_state_handler(mvblk_vm_state_change,
                                                         b);
    vring_dma_init(&b->dma, host->dma_as, 1, "mvblk");
    g_free(b->name);
    b->name = g_strdup_printf("mvblk %s", mdev->uuid_str);
    mdev_vq_init(&b->vq, &b->dma, 0, b->name);
    return true;
}

static int mvblk_set_vq_address(MdevDevice *mdev, uint16_t idx, uint64_t desc,
                                uint64_t driver, uint64_t device)
{
    mdev_vq_set_address(&to_mvblk(mdev)->vq, desc, driver, device);
    return 0;
}

static void mvblk_set_vq_num(MdevDevice *mdev, uint16_t idx, uint32_t num)
{
    mdev_vq_set_num(&to_mvblk(mdev)->vq, num);
}

static uint16_t mvblk_get_vq_num_max(MdevDevice *mdev, uint16_t idx)
{
    return idx == 0 ? MVBLK_QUEUE_MAX : 0;
}

static void mvblk_kick_vq(MdevDevice *mdev, uint16_t idx)
{
    MvblkDevice *b = to_mvblk(mdev);

    b->stats.kicks++;
    if (!b->broken) {
        qemu_bh_schedule(b->bh);
    }
}

static void mvblk_set_vq_cb(MdevDevice *mdev, uint16_t idx,
                            VirtioMdevCallback *cb, void *opaque)
{
    mdev_vq_set_cb(&to_mvblk(mdev)->vq, cb, opaque);
}

static int mvblk_set_vq_ready(MdevDevice *mdev, uint16_t idx, bool ready)
{
    MvblkDevice *b = to_mvblk(mdev);

    if (!ready) {
        /* The driver takes the queue back: nothing may be in flight. */
        b->epoch++;
        mvblk_drain(b);
    }
    return mdev_vq_set_ready(&b->vq, ready, b->features);
}

static bool mvblk_get_vq_ready(MdevDevice *mdev, uint16_t idx)
{
    return to_mvblk(mdev)->vq.ready;
}

static int mvblk_set_vq_state(MdevDevice *mdev, uint16_t idx,
                              const VirtioMdevVqState *state)
{
    MvblkDevice *b = to_mvblk(mdev);

    if (!QTAILQ_EMPTY(&b->inflight)) {
        return -EBUSY;
    }
    return mdev_vq_set_state(&b->vq, state);
}

static int mvblk_get_vq_state(MdevDevice *mdev, uint16_t idx,
                              VirtioMdevVqState *state)
{
    mdev_vq_get_state(&to_mvblk(mdev)->vq, state);
    return 0;
}

static uint32_t mvblk_get_vq_align(MdevDevice *mdev)
{
    return 4096;
}

static uint64_t mvblk_get_features(MdevDevice *mdev)
{
    return mvblk_offered(to_mvblk(mdev));
}

static int mvblk_set_features(MdevDevice *mdev, uint64_t features)
{
    MvblkDevice *b = to_mvblk(mdev);

    if (features & ~mvblk_offered(b)) {
        qemu_log_mask(LOG_GUEST_ERROR, "mvblk %s: driver features 0x%" PRIx64
                      " include features not offered (0x%" PRIx64 ")\n",
                      mvblk_name(b), features, features & ~mvblk_offered(b));
        return -EINVAL;
    }
    b->features = features;
    /* Without FLUSH the driver expects every write to be stable. */
    blk_set_enable_write_cache(b->blk, mvblk_has(b, VIRTIO_BLK_F_FLUSH));
    return 0;
}

static void mvblk_set_config_cb(MdevDevice *mdev, VirtioMdevCallback *cb,
                                void *opaque)
{
    MvblkDevice *b = to_mvblk(mdev);

    b->config_cb = cb;
    b->config_opaque = opaque;
}

static uint32_t mvblk_get_device_id(MdevDevice *mdev)
{
    return VIRTIO_ID_BLOCK;
}

static uint32_t mvblk_get_vendor_id(MdevDevice *mdev)
{
    return VIRTIO_MDEV_VENDOR_ID;
}

static uint8_t mvblk_get_status(MdevDevice *mdev)
{
    return to_mvblk(mdev)->status;
}

static void mvblk_set_status(MdevDevice *mdev, uint8_t status)
{
    MvblkDevice *b = to_mvblk(mdev);

    if (status == 0) {
        mvblk_reset(mdev);
        return;
    }
    /* NEEDS_RESET is the device's to set; keep it until reset. */
    b->status = status | (b->status & VIRTIO_CONFIG_S_NEEDS_RESET);
    if (status & VIRTIO_CONFIG_S_DRIVER_OK) {
        qemu_bh_schedule(b->bh);
    }
}

static uint32_t mvblk_get_config_size(MdevDevice *mdev)
{
    return MVBLK_CONFIG_SIZE;
}

static void mvblk_fill_config(MvblkDevice *b, struct virtio_blk_config *cfg)
{
    uint32_t sectors_per_block = b->blk_size / BDRV_SECTOR_SIZE;

    memset(cfg, 0, sizeof(*cfg));
    stq_le_p(&cfg->capacity, mvblk_capacity(b));
    stl_le_p(&cfg->size_max, MVBLK_SIZE_MAX);
    stl_le_p(&cfg->seg_max, MVBLK_SEG_MAX);
    stl_le_p(&cfg->blk_size, b->blk_size);
    cfg->physical_block_exp = ctz32(b->phys_size / b->blk_size);
    stw_le_p(&cfg->min_io_size, 1);
    stw_le_p(&cfg->num_queues, 1);
    stl_le_p(&cfg->max_discard_sectors, MVBLK_DISCARD_MAX);
    stl_le_p(&cfg->max_discard_seg, 1);
    stl_le_p(&cfg->discard_sector_alignment, sectors_per_block);
    stl_le_p(&cfg->max_write_zeroes_sectors, MVBLK_DISCARD_MAX);
    stl_le_p(&cfg->max_write_zeroes_seg, 1);
    cfg->write_zeroes_may_unmap = 1;
}

static void mvblk_get_config(MdevDevice *mdev, uint32_t offset, void *buf,
                             uint32_t len)
{
    struct virtio_blk_config cfg;

    mvblk_fill_config(to_mvblk(mdev), &cfg);
    memcpy(buf, (uint8_t *)&cfg + offset, len);
}

static void mvblk_set_config(MdevDevice *mdev, uint32_t offset,
                             const void *buf, uint32_t len)
{
    /* No CONFIG_WCE: every field is read-only. */
    qemu_log_mask(LOG_GUEST_ERROR, "mvblk %s: write of read-only config "
                  "(offset %u, size %u)\n", mvblk_name(to_mvblk(mdev)),
                  offset, len);
}

static uint32_t mvblk_get_generation(MdevDevice *mdev)
{
    return to_mvblk(mdev)->generation;
}

/* Migration */

static const VMStateDescription vmstate_mvblk_stats = {
    .name = "mvblk/stats",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT64(requests, MvblkStats),
        VMSTATE_UINT64(read_bytes, MvblkStats),
        VMSTATE_UINT64(write_bytes, MvblkStats),
        VMSTATE_UINT64(errors, MvblkStats),
        VMSTATE_UINT64(kicks, MvblkStats),
        VMSTATE_UINT64(interrupts, MvblkStats),
        VMSTATE_END_OF_LIST()
    },
};

/*
 * Stopping the VM drains the block layer, so every request popped has
 * completed by the time the device is saved: the state is the ring
 * position and nothing in flight.
 */
static int mvblk_pre_save(void *opaque)
{
    MvblkDevice *b = opaque;

    if (!QTAILQ_EMPTY(&b->inflight)) {
        error_report("mvblk %s: requests still in flight at save time",
                     mvblk_name(b));
        return -EBUSY;
    }
    mdev_vq_pre_save(&b->vq);
    return 0;
}

static int mvblk_post_load(void *opaque, int version_id)
{
    MvblkDevice *b = opaque;

    if (!mdev_switch_check_negotiated(b->name, b->features,
                                      mvblk_offered(b))) {
        mvblk_reset(MDEV_DEVICE(b));
        return -EINVAL;
    }
    if (b->vq.ready && b->vq.mig.inflight) {
        error_report("%s: migrated with requests in flight", b->name);
        mvblk_reset(MDEV_DEVICE(b));
        return -EINVAL;
    }
    if (mdev_vq_post_load(&b->vq, b->features) < 0) {
        mvblk_reset(MDEV_DEVICE(b));    /* nothing half-loaded stays */
        return -EINVAL;
    }
    blk_set_enable_write_cache(b->blk, mvblk_has(b, VIRTIO_BLK_F_FLUSH));
    /* Work resumes when the VM runs (mvblk_vm_state_change). */
    return 0;
}

/*
 * The source's configuration, in a subsection: a destination whose disk
 * differs refuses the stream naming the property.
 */
static int mvblk_conf_pre_save(void *opaque)
{
    MvblkDevice *b = opaque;

    b->mig_conf.host_features = b->host_features;
    b->mig_conf.get_id = b->get_id;
    b->mig_conf.capacity = mvblk_capacity(b);
    b->mig_conf.read_only = b->read_only;
    return 0;
}

static int mvblk_conf_post_load(void *opaque, int version_id)
{
    MvblkDevice *b = opaque;
    const char *disk = b->drive ? "drive" : "size";
    uint64_t capacity = mvblk_capacity(b);
    bool ok = mdev_switch_check_migrated(b->name, mvblk_switches,
                                         ARRAY_SIZE(mvblk_switches),
                                         b->mig_conf.host_features,
                                         b->host_features);

    if (b->mig_conf.get_id != b->get_id) {
        error_report("%s: property 'get-id' is %s on the migration source "
                     "and %s here", b->name, b->mig_conf.get_id ? "on" : "off",
                     b->get_id ? "on" : "off");
        ok = false;
    }
    if (b->mig_conf.capacity != capacity) {
        error_report("%s: property '%s': the disk has %" PRIu64 " sectors "
                     "on the migration source and %" PRIu64 " here", b->name,
                     disk, b->mig_conf.capacity, capacity);
        ok = false;
    }
    if (b->mig_conf.read_only != b->read_only) {
        error_report("%s: property 'drive': the disk is %s on the migration "
                     "source and %s here", b->name,
                     b->mig_conf.read_only ? "read-only" : "writable",
                     b->read_only ? "read-only" : "writable");
        ok = false;
    }
    if (!ok) {
        mvblk_reset(MDEV_DEVICE(b));
        return -EINVAL;
    }
    return 0;
}

static bool mvblk_conf_needed(void *opaque)
{
    return true;
}

static const VMStateDescription vmstate_mvblk_conf = {
    .name = "mvblk/config",
    .version_id = 1,
    .minimum_version_id = 1,
    .needed = mvblk_conf_needed,
    .pre_save = mvblk_conf_pre_save,
    .post_load = mvblk_conf_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT64(mig_conf.host_features, MvblkDevice),
        VMSTATE_BOOL(mig_conf.get_id, MvblkDevice),
        VMSTATE_UINT64(mig_conf.capacity, MvblkDevice),
        VMSTATE_BOOL(mig_conf.read_only, MvblkDevice),
        VMSTATE_END_OF_LIST()
    },
};

static const VMStateDescription vmstate_mvblk = {
    .name = "mvblk",
    .version_id = 1,
    .minimum_version_id = 1,
    .pre_save = mvblk_pre_save,
    .post_load = mvblk_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT8(status, MvblkDevice),
        VMSTATE_UINT64(features, MvblkDevice),
        VMSTATE_UINT32(generation, MvblkDevice),
        VMSTATE_BOOL(broken, MvblkDevice),
        VMSTATE_STRUCT(vq, MvblkDevice, 1, vmstate_mdev_vq, MdevVq),
        VMSTATE_STRUCT(stats, MvblkDevice, 1, vmstate_mvblk_stats, MvblkStats),
        VMSTATE_END_OF_LIST()
    },
    .subsections = (const VMStateDescription * const []) {
        &vmstate_mvblk_conf,
        NULL
    },
};

static const VirtioMdevOps mvblk_virtio_ops = {
    .set_host = mvblk_set_host,
    .set_vq_address = mvblk_set_vq_address,
    .set_vq_num = mvblk_set_vq_num,
    .get_vq_num_max = mvblk_get_vq_num_max,
    .kick_vq = mvblk_kick_vq,
    .set_vq_cb = mvblk_set_vq_cb,
    .set_vq_ready = mvblk_set_vq_ready,
    .get_vq_ready = mvblk_get_vq_ready,
    .set_vq_state = mvblk_set_vq_state,
    .get_vq_state = mvblk_get_vq_state,
    .get_vq_align = mvblk_get_vq_align,
    .get_features = mvblk_get_features,
    .set_features = mvblk_set_features,
    .set_config_cb = mvblk_set_config_cb,
    .get_device_id = mvblk_get_device_id,
    .get_vendor_id = mvblk_get_vendor_id,
    .get_status = mvblk_get_status,
    .set_status = mvblk_set_status,
    .reset = mvblk_reset,
    .get_config_size = mvblk_get_config_size,
    .get_config = mvblk_get_config,
    .set_config = mvblk_set_config,
    .get_generation = mvblk_get_generation,
    .vmsd = &vmstate_mvblk,
};

/* Instance properties: all fixed once the instance is bound. */

static bool mvblk_check_unbound(MvblkDevice *b, const char *name,
                                Error **errp)
{
    if (vring_dma_active(&b->dma)) {
        error_setg(errp, "property '%s' can only be set before the instance "
                   "is bound to a transport", name);
        return false;
    }
    return true;
}

static char *mvblk_get_drive(Object *obj, Error **errp)
{
    return g_strdup(MVBLK_DEVICE(obj)->drive ?: "");
}

static void mvblk_set_drive(Object *obj, const char *str, Error **errp)
{
    MvblkDevice *b = MVBLK_DEVICE(obj);

    if (!mvblk_check_unbound(b, "drive", errp)) {
        return;
    }
    g_free(b->drive);
    b->drive = *str ? g_strdup(str) : NULL;
}

static char *mvblk_get_serial(Object *obj, Error **errp)
{
    return g_strdup(MVBLK_DEVICE(obj)->serial ?: "");
}

static void mvblk_set_serial(Object *obj, const char *str, Error **errp)
{
    MvblkDevice *b = MVBLK_DEVICE(obj);

    if (strlen(str) > VIRTIO_BLK_ID_BYTES) {
        error_setg(errp, "property 'serial': '%s' is longer than %d "
                   "characters", str, VIRTIO_BLK_ID_BYTES);
        return;
    }
    if (!mvblk_check_unbound(b, "serial", errp)) {
        return;
    }
    g_free(b->serial);
    b->serial = g_strdup(str);
}

static void mvblk_get_size(Object *obj, Visitor *v, const char *name,
                           void *opaque, Error **errp)
{
    visit_type_size(v, name, &MVBLK_DEVICE(obj)->size, errp);
}

static void mvblk_set_size(Object *obj, Visitor *v, const char *name,
                           void *opaque, Error **errp)
{
    MvblkDevice *b = MVBLK_DEVICE(obj);
    uint64_t size;

    if (!visit_type_size(v, name, &size, errp)) {
        return;
    }
    if (size < 4 * KiB || size > 64 * GiB || size % BDRV_SECTOR_SIZE) {
        error_setg(errp, "property 'size': %" PRIu64 " is not a multiple of "
                   "512 in 4K..64G", size);
        return;
    }
    if (mvblk_check_unbound(b, name, errp)) {
        b->size = size;
    }
}

static void mvblk_get_switch(Object *obj, Visitor *v, const char *name,
                             void *opaque, Error **errp)
{
    const MdevSwitch *sw = opaque;
    MvblkDevice *b = MVBLK_DEVICE(obj);
    bool on = sw->bit < 0 ? b->get_id : b->host_features & (1ULL << sw->bit);

    visit_type_bool(v, name, &on, errp);
}

static void mvblk_set_switch(Object *obj, Visitor *v, const char *name,
                             void *opaque, Error **errp)
{
    const MdevSwitch *sw = opaque;
    MvblkDevice *b = MVBLK_DEVICE(obj);
    bool on;

    if (!visit_type_bool(v, name, &on, errp) ||
        !mvblk_check_unbound(b, name, errp)) {
        return;
    }
    if (sw->bit < 0) {
        b->get_id = on;
    } else if (on) {
        b->host_features |= 1ULL << sw->bit;
    } else {
        b->host_features &= ~(1ULL << sw->bit);
    }
}

static void mvblk_query_stats(MdevDevice *mdev, MdevQueueStatsList **stats)
{
    MvblkStats *st = &to_mvblk(mdev)->stats;
    MdevQueueStats *s = g_new0(MdevQueueStats, 1);

    s->queue = 0;
    s->name = g_strdup("requests");
    s->packets = st->requests;
    s->bytes = st->read_bytes + st->write_bytes;
    s->errors = st->errors;
    s->kicks = st->kicks;
    s->interrupts = st->interrupts;
    s->has_read_bytes = s->has_write_bytes = true;
    s->read_bytes = st->read_bytes;
    s->write_bytes = st->write_bytes;
    QAPI_LIST_APPEND(stats, s);
}

static void mvblk_device_init(Object *obj)
{
    MvblkDevice *b = MVBLK_DEVICE(obj);

    b->size = 128 * MiB;
    b->host_features = MVBLK_FEATURES;
    b->get_id = true;
    QTAILQ_INIT(&b->inflight);
}

static void mvblk_device_finalize(Object *obj)
{
    MvblkDevice *b = MVBLK_DEVICE(obj);

    /* Normally unbound (set_host NULL) before; this covers a failed bind. */
    g_clear_pointer(&b->bh, qemu_bh_delete);
    vring_dma_destroy(&b->dma);
    mvblk_close(b);
    g_free(b->name);
    g_free(b->drive);
    g_free(b->serial);
}

static void mvblk_device_class_init(ObjectClass *oc, void *data)
{
    MDEV_DEVICE_CLASS(oc)->query_stats = mvblk_query_stats;
    object_class_property_add_str(oc, "drive", mvblk_get_drive,
                                  mvblk_set_drive);
    object_class_property_set_description(oc, "drive",
        "Block node name or -drive id of the disk (default: a RAM disk)");
    object_class_property_add(oc, "size", "size", mvblk_get_size,
                              mvblk_set_size, NULL, NULL);
    object_class_property_set_description(oc, "size",
        "Size of the RAM disk used without 'drive' (default 128M)");
    object_class_property_add_str(oc, "serial", mvblk_get_serial,
                                  mvblk_set_serial);
    object_class_property_set_description(oc, "serial",
        "Serial number returned by GET_ID (up to 20 characters)");
    for (unsigned i = 0; i < ARRAY_SIZE(mvblk_switches); i++) {
        object_class_property_add(oc, mvblk_switches[i].name, "bool",
                                  mvblk_get_switch, mvblk_set_switch, NULL,
                                  (void *)&mvblk_switches[i]);
        object_class_property_set_description(oc, mvblk_switches[i].name,
                                              mvblk_switches[i].description);
    }
}

/* The parent */

static const MdevType mvblk_types[] = {
    {
        .group = "virtio",
        .name = "mvblk",
        .description = "virtio-blk on a block node or a RAM disk",
        .device_api = "virtio-mdev",
        .class_id = MDEV_CLASS_VIRTIO,
    },
    { }
};

static MdevDevice *mvblk_create(MdevParent *parent, const MdevType *type,
                                Error **errp)
{
    MdevDevice *mdev = MDEV_DEVICE(object_new(TYPE_MVBLK_DEVICE));

    mdev_set_class(mdev, type->class_id, &mvblk_virtio_ops);
    return mdev;
}

static void mvblk_parent_class_init(ObjectClass *oc, void *data)
{
    MdevParentClass *pc = MDEV_PARENT_CLASS(oc);

    pc->kind = TYPE_MVBLK_PARENT;
    pc->types = mvblk_types;
    pc->create = mvblk_create;
}

static const TypeInfo mvblk_types_info[] = {
    {
        .name = TYPE_MVBLK_PARENT,
        .parent = TYPE_MDEV_PARENT,
        .instance_size = sizeof(MvblkParent),
        .class_init = mvblk_parent_class_init,
    },
    {
        .name = TYPE_MVBLK_DEVICE,
        .parent = TYPE_MDEV_DEVICE,
        .instance_size = sizeof(MvblkDevice),
        .instance_init = mvblk_device_init,
        .instance_finalize = mvblk_device_finalize,
        .class_init = mvblk_device_class_init,
    },
};

/* -device virtio-mdev-blk: an mvblk-virtio instance of "mvblk-default" */
static const VirtioMdevProp mvblk_form_props[] = {
    VIRTIO_MDEV_PROP_STRING("drive", "Block node name or -drive id of the "
                            "disk (default: a RAM disk of 'size')"),
    VIRTIO_MDEV_PROP_UINT_DEFAULT("size", VIRTIO_MDEV_PROP_SIZE,
                                  "Size of the RAM disk", 128 * MiB),
    VIRTIO_MDEV_PROP_STRING("serial", "Serial number for GET_ID"),
    VIRTIO_MDEV_PROP_BOOL_DEFAULT("size-max", "Offer SIZE_MAX", true),
    VIRTIO_MDEV_PROP_BOOL_DEFAULT("seg-max", "Offer SEG_MAX", true),
    VIRTIO_MDEV_PROP_BOOL_DEFAULT("blk-size", "Offer BLK_SIZE", true),
    VIRTIO_MDEV_PROP_BOOL_DEFAULT("flush", "Offer FLUSH", true),
    VIRTIO_MDEV_PROP_BOOL_DEFAULT("topology", "Offer TOPOLOGY", true),
    VIRTIO_MDEV_PROP_BOOL_DEFAULT("discard", "Offer DISCARD", true),
    VIRTIO_MDEV_PROP_BOOL_DEFAULT("write-zeroes", "Offer WRITE_ZEROES", true),
    VIRTIO_MDEV_PROP_BOOL_DEFAULT("indirect-desc", "Offer INDIRECT_DESC",
                                  true),
    VIRTIO_MDEV_PROP_BOOL_DEFAULT("event-idx", "Offer EVENT_IDX", true),
    VIRTIO_MDEV_PROP_BOOL_DEFAULT("packed", "Offer RING_PACKED", true),
    VIRTIO_MDEV_PROP_BOOL_DEFAULT("get-id", "Answer GET_ID", true),
    { }
};

static const VirtioMdevShortForm mvblk_short_form = {
    .name = "virtio-mdev-blk",
    .desc = "virtio-blk (mvblk) behind the virtio-mdev transport",
    .category = DEVICE_CATEGORY_STORAGE,
    .parent_kind = TYPE_MVBLK_PARENT,
    .default_parent = "mvblk-default",
    .type_id = "mvblk-virtio",
    .props = mvblk_form_props,
};

static void mvblk_register_types(void)
{
    type_register_static_array(mvblk_types_info,
                               ARRAY_SIZE(mvblk_types_info));
    virtio_mdev_register_short_form(&mvblk_short_form);
}

type_init(mvblk_register_types)
