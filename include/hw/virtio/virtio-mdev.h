/*
 * virtio-mdev: virtio-mmio registers over mdev device ops
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Two halves:
 *
 *  - VirtioMdevOps, the device ops a class-virtio mdev instance implements
 *    (the V4 virtio_mdev_device_ops plus reset and get_config_size).  The
 *    transport reaches the backend only through them; the backend never
 *    sees a register.  A new backend (blk, console) is a new ops table.
 *
 *  - VirtioMdevTransport, the guest-visible register file: exactly the
 *    virtio-mmio layout (virtio 1.x 4.2.2 "version 2"; with legacy=on
 *    4.2.4 "version 1").  It is embedded in a bus-specific front-end: an
 *    ISA device on x86 (its ACPI node lands in the DSDT of pc, q35 and
 *    microvm) and a dynamic sysbus device on the arm virt platform bus
 *    (device tree node and DSDT entry).  Both register the user-visible
 *    types "virtio-mdev" and "virtio-mdev-net".
 */

#ifndef HW_VIRTIO_VIRTIO_MDEV_H
#define HW_VIRTIO_VIRTIO_MDEV_H

#include "exec/memory.h"
#include "hw/irq.h"
#include "hw/vfio/mdev.h"
#include "standard-headers/linux/virtio_config.h"
#include "standard-headers/linux/virtio_net.h"
#include "standard-headers/linux/virtio_ring.h"

#define VIRTIO_MDEV_MAX_QUEUES  8
#define VIRTIO_MDEV_MMIO_SIZE   0x200
#define VIRTIO_MDEV_CONFIG_MAX  (VIRTIO_MDEV_MMIO_SIZE - 0x100)
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
    /* Binding: called once before any other op, and on unbind with NULL. */
    void (*set_host)(MdevDevice *mdev, const VirtioMdevHost *host);

    /* Virtqueues */
    int (*set_vq_address)(MdevDevice *mdev, uint16_t idx, uint64_t desc,
                          uint64_t driver, uint64_t device);
    void (*set_vq_num)(MdevDevice *mdev, uint16_t idx, uint32_t num);
    /* Largest size of queue @idx; 0 when the queue does not exist. */
    uint16_t (*get_vq_num_max)(MdevDevice *mdev, uint16_t idx);
    void (*kick_vq)(MdevDevice *mdev, uint16_t idx);
    void (*set_vq_cb)(MdevDevice *mdev, uint16_t idx, VirtioMdevCallback *cb,
                      void *opaque);
    /* Returns 0, or -errno when the queue cannot start (bad size/addr). */
    int (*set_vq_ready)(MdevDevice *mdev, uint16_t idx, bool ready);
    bool (*get_vq_ready)(MdevDevice *mdev, uint16_t idx);
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
     * post_load must leave the device running as it was, re-kicking work
     * that was in flight.  NULL: the backend cannot migrate while running.
     */
    const VMStateDescription *vmsd;
} VirtioMdevOps;

/* Per-queue staging registers of the transport. */
typedef struct VirtioMdevQueue {
    uint16_t num;
    bool enabled;               /* QueueReady written 1 (or PFN set) */
    uint32_t desc[2];
    uint32_t driver[2];
    uint32_t device[2];
    uint32_t align;             /* legacy */
    uint32_t pfn;               /* legacy */
} VirtioMdevQueue;

typedef struct VirtioMdevTransport {
    /* set by the front-end */
    DeviceState *owner;
    MemoryRegion mmio;
    qemu_irq irq;

    /* properties */
    char *parent_id;
    char *type_id;
    char *uuid;
    bool legacy;
    /* virtio-mdev-net only: defaults, and what it passes to mvnet */
    bool net_defaults;
    char *net_mac;
    uint16_t net_mtu;
    uint64_t net_features;      /* switches, see VIRTIO_MDEV_NET_SWITCHES */

    /* the bound instance */
    MdevDevice *mdev;
    const VirtioMdevOps *ops;

    /* registers */
    uint32_t host_features_sel;
    uint32_t guest_features_sel;
    uint32_t guest_features[2];
    uint32_t guest_page_shift;
    uint32_t queue_sel;
    uint32_t isr;
    VirtioMdevQueue vq[VIRTIO_MDEV_MAX_QUEUES];
} VirtioMdevTransport;

/* The classes virtio-mdev binds. */
extern const MdevClassIdTable virtio_mdev_id_table[];

/*
 * Front-end glue.  init: in instance_init; realize: create and bind the
 * instance (using @default_parent_kind to create a default parent when no
 * mdev-parent is given); unrealize: destroy it; reset: device reset.
 */
void virtio_mdev_transport_init(VirtioMdevTransport *t, DeviceState *owner);
bool virtio_mdev_transport_realize(VirtioMdevTransport *t, Error **errp);
void virtio_mdev_transport_unrealize(VirtioMdevTransport *t);
void virtio_mdev_transport_reset(VirtioMdevTransport *t);
extern const VMStateDescription vmstate_virtio_mdev_transport;

/*
 * Read-only QOM properties of a front-end whose VirtioMdevTransport is at
 * @offset in its instance: mmio-base (guest-physical address of the
 * registers) and mdev-uuid (the bound instance, given or generated).
 */
void virtio_mdev_class_add_properties(ObjectClass *oc, size_t offset);

/* Properties of every front-end's virtio-mdev and virtio-mdev-net. */
#define DEFINE_VIRTIO_MDEV_PROPERTIES(_state, _t)                    \
    DEFINE_PROP_STRING("mdev-parent", _state, _t.parent_id),         \
    DEFINE_PROP_STRING("mdev-type", _state, _t.type_id),             \
    DEFINE_PROP_STRING("uuid", _state, _t.uuid),                     \
    DEFINE_PROP_BOOL("legacy", _state, _t.legacy, false)

/* virtio-mdev-net feature switches: each can turn an offered feature off. */
#define VIRTIO_MDEV_NET_SWITCHES                                     \
    ((1ULL << VIRTIO_NET_F_MRG_RXBUF) | (1ULL << VIRTIO_RING_F_EVENT_IDX) | \
     (1ULL << VIRTIO_RING_F_INDIRECT_DESC) | (1ULL << VIRTIO_NET_F_STATUS) | \
     (1ULL << VIRTIO_NET_F_CTRL_VQ) | (1ULL << VIRTIO_NET_F_CTRL_RX) | \
     (1ULL << VIRTIO_NET_F_CTRL_MAC_ADDR) | (1ULL << VIRTIO_F_RING_PACKED))

#define DEFINE_VIRTIO_MDEV_NET_FEATURE(_name, _state, _t, _bit)      \
    DEFINE_PROP_BIT64(_name, _state, _t.net_features, _bit, true)

#define DEFINE_VIRTIO_MDEV_NET_PROPERTIES(_state, _t)                \
    DEFINE_PROP_STRING("mac", _state, _t.net_mac),                   \
    DEFINE_PROP_UINT16("mtu", _state, _t.net_mtu, 1500),             \
    DEFINE_VIRTIO_MDEV_NET_FEATURE("mrg-rxbuf", _state, _t,          \
                                   VIRTIO_NET_F_MRG_RXBUF),          \
    DEFINE_VIRTIO_MDEV_NET_FEATURE("event-idx", _state, _t,          \
                                   VIRTIO_RING_F_EVENT_IDX),         \
    DEFINE_VIRTIO_MDEV_NET_FEATURE("indirect-desc", _state, _t,      \
                                   VIRTIO_RING_F_INDIRECT_DESC),     \
    DEFINE_VIRTIO_MDEV_NET_FEATURE("status", _state, _t,             \
                                   VIRTIO_NET_F_STATUS),             \
    DEFINE_VIRTIO_MDEV_NET_FEATURE("ctrl-vq", _state, _t,            \
                                   VIRTIO_NET_F_CTRL_VQ),            \
    DEFINE_VIRTIO_MDEV_NET_FEATURE("ctrl-rx", _state, _t,            \
                                   VIRTIO_NET_F_CTRL_RX),            \
    DEFINE_VIRTIO_MDEV_NET_FEATURE("ctrl-mac-addr", _state, _t,      \
                                   VIRTIO_NET_F_CTRL_MAC_ADDR),      \
    DEFINE_VIRTIO_MDEV_NET_FEATURE("packed", _state, _t,             \
                                   VIRTIO_F_RING_PACKED)

/* Name of the parent virtio-mdev-net creates when none is given. */
#define VIRTIO_MDEV_NET_DEFAULT_PARENT "mvnet-default"
#define VIRTIO_MDEV_NET_TYPE "mvnet-virtio"

#define TYPE_VIRTIO_MDEV "virtio-mdev"
#define TYPE_VIRTIO_MDEV_NET "virtio-mdev-net"

#endif /* HW_VIRTIO_VIRTIO_MDEV_H */
