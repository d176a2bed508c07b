/*
 * virtio-mdev: the device ops contract between transport and backend
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * What a class-virtio mdev instance implements (the V4 virtio-mdev
 * series' virtio_mdev_device_ops, as vDPA's vdpa_config_ops: queues,
 * features, status, config space, reset), and what the transport hands
 * it.  A backend includes this header only: it never sees a register or
 * the transport's state, and the transport never names a backend.  A new
 * device is a new ops table plus, optionally, a short form (below).
 *
 * Every op runs under the BQL.  Queue indexes passed to the queue ops are
 * below VIRTIO_MDEV_MAX_QUEUES and belong to a queue whose
 * get_vq_num_max() is non-zero.
 */

#ifndef HW_VIRTIO_VIRTIO_MDEV_OPS_H
#define HW_VIRTIO_VIRTIO_MDEV_OPS_H

#include "exec/memory.h"
#include "hw/vfio/mdev.h"

/* Enough for a device with 8 queue pairs and a control queue */
#define VIRTIO_MDEV_MAX_QUEUES  17
#define VIRTIO_MDEV_VENDOR_ID   0x554d4551  /* "QEMU" */

typedef void VirtioMdevCallback(void *opaque);

/* Virtqueue position for migration (vDPA's vq state). */
typedef struct VirtioMdevVqState {
    uint16_t avail_index;       /* split and packed: next avail to pop */
    uint16_t used_index;        /* packed: next used to write */
    bool avail_wrap_counter;    /* packed only */
    bool used_wrap_counter;     /* packed only */
} VirtioMdevVqState;

/*
 * What the transport gives a backend when it binds: the DMA address space
 * for guest memory and the reentrancy guard every bottom half of the
 * backend must be created with (qemu_bh_new_guarded).
 */
typedef struct VirtioMdevHost {
    AddressSpace *dma_as;
    MemReentrancyGuard *guard;
} VirtioMdevHost;

/* Device ops of a class-virtio instance.  All take the instance first. */
typedef struct VirtioMdevOps {
    /*
     * Binding: called once before any other op; false with @errp set when
     * the instance cannot run (e.g. its backing store does not open).  On
     * unbind, called with NULL (and @errp NULL): stop everything, complete
     * or drop work in flight, release what the bind took.
     */
    bool (*set_host)(MdevDevice *mdev, const VirtioMdevHost *host,
                     Error **errp);

    /* Virtqueues */
    int (*set_vq_address)(MdevDevice *mdev, uint16_t idx, uint64_t desc,
                          uint64_t driver, uint64_t device);
    void (*set_vq_num)(MdevDevice *mdev, uint16_t idx, uint32_t num);
    /* Largest size of queue @idx; 0 when the queue does not exist. */
    uint16_t (*get_vq_num_max)(MdevDevice *mdev, uint16_t idx);
    void (*kick_vq)(MdevDevice *mdev, uint16_t idx);
    /*
     * Optional: a kick as the driver wrote it (queue index in bits 15:0,
     * with VIRTIO_F_NOTIFICATION_DATA its next available position in
     * 31:16), for a backend that offers that feature; else kick_vq.
     */
    void (*kick_vq_with_data)(MdevDevice *mdev, uint32_t data);
    void (*set_vq_cb)(MdevDevice *mdev, uint16_t idx, VirtioMdevCallback *cb,
                      void *opaque);
    /* Returns 0, or -errno when the queue cannot start (bad size/addr). */
    int (*set_vq_ready)(MdevDevice *mdev, uint16_t idx, bool ready);
    bool (*get_vq_ready)(MdevDevice *mdev, uint16_t idx);
    /* Only while the queue is ready and nothing of it is in flight. */
    int (*set_vq_state)(MdevDevice *mdev, uint16_t idx,
                        const VirtioMdevVqState *state);
    int (*get_vq_state)(MdevDevice *mdev, uint16_t idx,
                        VirtioMdevVqState *state);
    uint32_t (*get_vq_align)(MdevDevice *mdev);

    /* Device */
    uint64_t (*get_features)(MdevDevice *mdev);
    /* Returns 0, or -errno when the driver's features are not acceptable. */
    int (*set_features)(MdevDevice *mdev, uint64_t features);
    void (*set_config_cb)(MdevDevice *mdev, VirtioMdevCallback *cb,
                          void *opaque);
    uint32_t (*get_device_id)(MdevDevice *mdev);
    uint32_t (*get_vendor_id)(MdevDevice *mdev);
    uint8_t (*get_status)(MdevDevice *mdev);
    void (*set_status)(MdevDevice *mdev, uint8_t status);
    /* Back to the initial state: status 0, every queue stopped. */
    void (*reset)(MdevDevice *mdev);
    uint32_t (*get_config_size)(MdevDevice *mdev);
    /* @offset + @len is within get_config_size (the transport checks). */
    void (*get_config)(MdevDevice *mdev, uint32_t offset, void *buf,
                       uint32_t len);
    void (*set_config)(MdevDevice *mdev, uint32_t offset, const void *buf,
                       uint32_t len);
    uint32_t (*get_generation)(MdevDevice *mdev);

    /*
     * The backend's own migration state (status, features, ring positions,
     * ...), saved with the transport; its opaque is the MdevDevice.  Its
     * post_load must leave the device as it was, with work that was
     * pending resumed once the VM runs.  NULL: the backend cannot migrate
     * while its driver is running.
     */
    const VMStateDescription *vmsd;
} VirtioMdevOps;

/*
 * A short form: a user-visible device type ("virtio-mdev-<dev>") that is the
 * virtio-mdev transport bound to one type of one parent kind, created on
 * demand, with some of the instance's properties as its own.  A backend
 * declares it in its own file; the transport knows it only through this.
 *
 * Realize creates @default_parent (an object of QOM type @parent_kind)
 * unless mdev-parent is given, binds an instance of @type_id, and sets
 * each property in @props that the user gave or that has a default on the
 * instance, by the same name.  An instance property's setter error is
 * the device's error.
 */
typedef enum VirtioMdevPropType {
    VIRTIO_MDEV_PROP_BOOL,
    VIRTIO_MDEV_PROP_STR,
    VIRTIO_MDEV_PROP_UINT16,
    VIRTIO_MDEV_PROP_UINT32,
    VIRTIO_MDEV_PROP_SIZE,
} VirtioMdevPropType;

typedef struct VirtioMdevProp {
    const char *name;
    VirtioMdevPropType type;
    const char *description;
    bool has_default;
    union {
        bool b;
        const char *s;
        uint64_t u;
    } defval;
} VirtioMdevProp;

#define VIRTIO_MDEV_PROP_BOOL_DEFAULT(_n, _d, _v) \
    { .name = (_n), .type = VIRTIO_MDEV_PROP_BOOL, .description = (_d), \
      .has_default = true, .defval.b = (_v) }
#define VIRTIO_MDEV_PROP_UINT_DEFAULT(_n, _t, _d, _v) \
    { .name = (_n), .type = (_t), .description = (_d), \
      .has_default = true, .defval.u = (_v) }
#define VIRTIO_MDEV_PROP_STRING(_n, _d) \
    { .name = (_n), .type = VIRTIO_MDEV_PROP_STR, .description = (_d) }

typedef struct VirtioMdevShortForm {
    const char *name;           /* QOM type name of the device */
    const char *desc;           /* for -device help */
    int category;               /* DEVICE_CATEGORY_* */
    const char *parent_kind;    /* QOM type of the default parent */
    const char *default_parent; /* its object id */
    const char *type_id;        /* the only mdev-type it binds */
    const VirtioMdevProp *props;    /* NULL-name terminated, or NULL */
} VirtioMdevShortForm;

/* Register @form as a QOM type (from the backend's type_init). */
void virtio_mdev_register_short_form(const VirtioMdevShortForm *form);

#endif /* HW_VIRTIO_VIRTIO_MDEV_OPS_H */
