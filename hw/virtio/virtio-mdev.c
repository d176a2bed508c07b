/*
 * virtio-mdev transport: the virtio-mmio register file over mdev device ops
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The register layout is virtio-mmio's (virtio 1.x 4.2.2; 4.2.4 with
 * legacy=on).  Like QEMU's virtio-mmio, the transport keeps only selector and
 * staging registers; queue addresses reach the backend when the driver
 * writes QueueReady (legacy: QueuePFN), driver features when it sets
 * FEATURES_OK (legacy: on write).  Every guest access that the layout does
 * not allow is ignored with LOG_GUEST_ERROR.
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qapi/visitor.h"
#include "qobject/qdict.h"
#include "qom/qom-qobject.h"
#include "qemu/log.h"
#include "qemu/module.h"
#include "qemu/error-report.h"
#include "qemu/bswap.h"
#include "migration/vmstate.h"
#include "system/dma.h"
#include "standard-headers/linux/virtio_mmio.h"
#include "standard-headers/linux/virtio_config.h"
#include "hw/virtio/virtio-mdev.h"
#include "trace.h"

#define VIRTIO_MDEV_MAGIC       0x74726976  /* "virt" */
#define VIRTIO_MDEV_VERSION     2
#define VIRTIO_MDEV_LEGACY_VERSION 1

const MdevClassIdTable virtio_mdev_id_table[] = {
    { MDEV_CLASS_VIRTIO },
    { MDEV_CLASS_NONE },
};

/* For messages: the device's QOM path, cached by qdev at realize. */
static const char *vm_name(VirtioMdevTransport *t)
{
    return t->owner->canonical_path ?: object_get_typename(OBJECT(t->owner));
}

static void virtio_mdev_update_irq(VirtioMdevTransport *t)
{
    /* A level interrupt: asserted while any InterruptStatus bit is set. */
    qemu_set_irq(t->irq, t->isr != 0);
}

static void virtio_mdev_vq_interrupt(void *opaque)
{
    VirtioMdevTransport *t = opaque;

    t->isr |= VIRTIO_MMIO_INT_VRING;
    trace_virtio_mdev_interrupt(vm_name(t), t->isr);
    virtio_mdev_update_irq(t);
}

static void virtio_mdev_config_interrupt(void *opaque)
{
    VirtioMdevTransport *t = opaque;

    t->isr |= VIRTIO_MMIO_INT_CONFIG;
    trace_virtio_mdev_interrupt(vm_name(t), t->isr);
    virtio_mdev_update_irq(t);
}

static uint16_t vq_num_max(VirtioMdevTransport *t, uint32_t idx)
{
    return idx < VIRTIO_MDEV_MAX_QUEUES ? t->ops->get_vq_num_max(t->mdev, idx)
                                        : 0;
}

/* Drop every staged register and the interrupt, as after reset. */
static void virtio_mdev_clear_registers(VirtioMdevTransport *t)
{
    t->host_features_sel = 0;
    t->guest_features_sel = 0;
    t->guest_features[0] = t->guest_features[1] = 0;
    t->queue_sel = 0;
    t->isr = 0;
    memset(t->vq, 0, sizeof(t->vq));
    virtio_mdev_update_irq(t);
}

static void virtio_mdev_device_reset(VirtioMdevTransport *t)
{
    if (t->ops) {
        t->ops->reset(t->mdev);
    }
    virtio_mdev_clear_registers(t);
}

static uint64_t vq_addr(const uint32_t r[2])
{
    return (uint64_t)r[1] << 32 | r[0];
}

/* Commit the staged queue registers (modern: QueueReady = 1). */
static void virtio_mdev_queue_enable(VirtioMdevTransport *t, uint32_t idx)
{
    VirtioMdevQueue *q = &t->vq[idx];
    uint16_t max = vq_num_max(t, idx);

    if (!max) {
        qemu_log_mask(LOG_GUEST_ERROR, "%s: QueueReady for queue %u that "
                      "does not exist\n", vm_name(t), idx);
        return;
    }
    if (t->ops->get_vq_ready(t->mdev, idx)) {
        /* Its ring is in use: the staged registers must not replace it. */
        qemu_log_mask(LOG_GUEST_ERROR, "%s: queue %u enabled while ready: "
                      "ignored\n", vm_name(t), idx);
        return;
    }
    if (q->num == 0 || q->num > max) {
        qemu_log_mask(LOG_GUEST_ERROR, "%s: queue %u size %u not in 1..%u\n",
                      vm_name(t), idx, q->num, max);
        return;
    }
    t->ops->set_vq_num(t->mdev, idx, q->num);
    if (t->ops->set_vq_address(t->mdev, idx, vq_addr(q->desc),
                               vq_addr(q->driver), vq_addr(q->device)) ||
        t->ops->set_vq_ready(t->mdev, idx, true)) {
        qemu_log_mask(LOG_GUEST_ERROR, "%s: queue %u rejected by the device "
                      "(size %u, desc 0x%" PRIx64 ")\n", vm_name(t), idx,
                      q->num, vq_addr(q->desc));
        return;
    }
    q->enabled = true;
}

static void virtio_mdev_queue_disable(VirtioMdevTransport *t, uint32_t idx)
{
    if (vq_num_max(t, idx)) {
        t->ops->set_vq_ready(t->mdev, idx, false);
    }
    t->vq[idx].enabled = false;
}

/* Legacy: a non-zero QueuePFN places and starts the queue. */
static void virtio_mdev_legacy_set_pfn(VirtioMdevTransport *t, uint32_t idx,
                                       uint32_t pfn)
{
    VirtioMdevQueue *q = &t->vq[idx];
    uint64_t desc, avail, used, align = q->align ? q->align : 4096;

    if (pfn == 0) {
        virtio_mdev_queue_disable(t, idx);
        q->pfn = 0;
        return;
    }
    if (vq_num_max(t, idx) && t->ops->get_vq_ready(t->mdev, idx)) {
        qemu_log_mask(LOG_GUEST_ERROR, "%s: QueuePFN of queue %u written "
                      "while it is in use: ignored\n", vm_name(t), idx);
        return;
    }
    if (align & (align - 1)) {
        qemu_log_mask(LOG_GUEST_ERROR, "%s: QueueAlign %" PRIu64 " is not a "
                      "power of 2\n", vm_name(t), align);
        return;
    }
    desc = (uint64_t)pfn << t->guest_page_shift;
    avail = desc + 16ULL * q->num;
    used = QEMU_ALIGN_UP(avail + 6 + 2ULL * q->num, align);
    q->desc[0] = desc;
    q->desc[1] = desc >> 32;
    q->driver[0] = avail;
    q->driver[1] = avail >> 32;
    q->device[0] = used;
    q->device[1] = used >> 32;
    q->pfn = pfn;
    virtio_mdev_queue_enable(t, idx);
}

/*
 * The status rules (virtio 1.x 2.1, 3.1): only a reset clears bits (the
 * device's own NEEDS_RESET aside), and a modern driver sets DRIVER_OK
 * only after FEATURES_OK.  A write that breaks them changes nothing.
 */
static bool virtio_mdev_status_ok(VirtioMdevTransport *t, uint8_t old,
                                  uint8_t val)
{
    uint8_t cleared = old & ~val & ~VIRTIO_CONFIG_S_NEEDS_RESET;

    if (cleared) {
        qemu_log_mask(LOG_GUEST_ERROR, "%s: status 0x%x clears bits 0x%x "
                      "without a reset: ignored\n", vm_name(t), val, cleared);
        return false;
    }
    if (!t->legacy && (val & VIRTIO_CONFIG_S_DRIVER_OK) &&
        !(val & VIRTIO_CONFIG_S_FEATURES_OK)) {
        qemu_log_mask(LOG_GUEST_ERROR, "%s: DRIVER_OK without FEATURES_OK: "
                      "ignored\n", vm_name(t));
        return false;
    }
    return true;
}

/* Features are fixed once FEATURES_OK (legacy: DRIVER_OK) is set. */
static bool virtio_mdev_features_open(VirtioMdevTransport *t)
{
    uint8_t status = t->ops->get_status(t->mdev);

    return !(status & (t->legacy ? VIRTIO_CONFIG_S_DRIVER_OK
                                 : VIRTIO_CONFIG_S_FEATURES_OK));
}

static void virtio_mdev_set_status(VirtioMdevTransport *t, uint32_t val)
{
    uint8_t old = t->ops->get_status(t->mdev);

    if (val == 0) {
        virtio_mdev_device_reset(t);
        return;
    }
    if (val > UINT8_MAX) {
        qemu_log_mask(LOG_GUEST_ERROR, "%s: status 0x%x has bits above the "
                      "status byte: ignored\n", vm_name(t), val);
        return;
    }
    if (val & ~old & VIRTIO_CONFIG_S_NEEDS_RESET) {
        /* The device's to set (virtio 1.2, 2.1): keep the driver's bits. */
        qemu_log_mask(LOG_GUEST_ERROR, "%s: the driver set DEVICE_NEEDS_RESET:"
                      " bit ignored\n", vm_name(t));
        val &= ~VIRTIO_CONFIG_S_NEEDS_RESET;
    }
    if (!virtio_mdev_status_ok(t, old, val)) {
        return;
    }
    if (!t->legacy && (val & VIRTIO_CONFIG_S_FEATURES_OK) &&
        !(old & VIRTIO_CONFIG_S_FEATURES_OK)) {
        uint64_t f = (uint64_t)t->guest_features[1] << 32 |
                     t->guest_features[0];

        if (t->ops->set_features(t->mdev, f)) {
            /*
             * The backend rejects them: FEATURES_OK reads back clear, and
             * a DRIVER_OK in the same write goes with it (it needs
             * FEATURES_OK: the device would run with no features).
             */
            val &= ~VIRTIO_CONFIG_S_FEATURES_OK;
            if (val & VIRTIO_CONFIG_S_DRIVER_OK) {
                qemu_log_mask(LOG_GUEST_ERROR, "%s: DRIVER_OK with rejected "
                              "features: ignored\n", vm_name(t));
                val &= ~VIRTIO_CONFIG_S_DRIVER_OK;
            }
        }
    }
    t->ops->set_status(t->mdev, val);
}

static bool virtio_mdev_config_access_ok(VirtioMdevTransport *t,
                                         hwaddr offset, unsigned size,
                                         bool write)
{
    uint32_t cfg_size = t->ops->get_config_size(t->mdev);

    if (offset + size > cfg_size) {
        qemu_log_mask(LOG_GUEST_ERROR, "%s: config %s beyond the config size "
                      "%u (0x%" HWADDR_PRIx ", size %u)\n", vm_name(t),
                      write ? "write" : "read", cfg_size, offset, size);
        return false;
    }
    return true;
}

/* Registers of one layout only; returns true when @offset fits @t. */
static bool virtio_mdev_layout_ok(VirtioMdevTransport *t, hwaddr offset)
{
    switch (offset) {
    case VIRTIO_MMIO_GUEST_PAGE_SIZE:
    case VIRTIO_MMIO_QUEUE_ALIGN:
    case VIRTIO_MMIO_QUEUE_PFN:
        return t->legacy;
    case VIRTIO_MMIO_QUEUE_READY:
    case VIRTIO_MMIO_QUEUE_DESC_LOW:
    case VIRTIO_MMIO_QUEUE_DESC_HIGH:
    case VIRTIO_MMIO_QUEUE_AVAIL_LOW:
    case VIRTIO_MMIO_QUEUE_AVAIL_HIGH:
    case VIRTIO_MMIO_QUEUE_USED_LOW:
    case VIRTIO_MMIO_QUEUE_USED_HIGH:
    case VIRTIO_MMIO_SHM_SEL:
    case VIRTIO_MMIO_SHM_LEN_LOW:
    case VIRTIO_MMIO_SHM_LEN_HIGH:
    case VIRTIO_MMIO_SHM_BASE_LOW:
    case VIRTIO_MMIO_SHM_BASE_HIGH:
    case VIRTIO_MMIO_CONFIG_GENERATION:
        return !t->legacy;
    default:
        return true;
    }
}

static uint64_t virtio_mdev_read(void *opaque, hwaddr offset, unsigned size)
{
    VirtioMdevTransport *t = opaque;
    uint64_t val = 0;

    if (!t->ops) {
        /* No instance (unbound): read as an empty virtio-mmio slot. */
        switch (offset) {
        case VIRTIO_MMIO_MAGIC_VALUE:
            return VIRTIO_MDEV_MAGIC;
        case VIRTIO_MMIO_VERSION:
            return t->legacy ? VIRTIO_MDEV_LEGACY_VERSION : VIRTIO_MDEV_VERSION;
        case VIRTIO_MMIO_VENDOR_ID:
            return VIRTIO_MDEV_VENDOR_ID;
        default:
            return 0;
        }
    }

    if (offset >= VIRTIO_MMIO_CONFIG) {
        uint8_t buf[8] = { 0 };

        offset -= VIRTIO_MMIO_CONFIG;
        if (virtio_mdev_config_access_ok(t, offset, size, false)) {
            t->ops->get_config(t->mdev, offset, buf, size);
            val = ldn_le_p(buf, size);
        }
        trace_virtio_mdev_config_read(vm_name(t), offset, val, size);
        return val;
    }
    if (size != 4) {
        qemu_log_mask(LOG_GUEST_ERROR, "%s: wrong register read size %u "
                      "(0x%" HWADDR_PRIx ")\n", vm_name(t), size, offset);
        return 0;
    }
    if (!virtio_mdev_layout_ok(t, offset)) {
        qemu_log_mask(LOG_GUEST_ERROR, "%s: read of a %s-only register "
                      "(0x%" HWADDR_PRIx ")\n", vm_name(t),
                      t->legacy ? "modern" : "legacy", offset);
        return 0;
    }

    switch (offset) {
    case VIRTIO_MMIO_MAGIC_VALUE:
        val = VIRTIO_MDEV_MAGIC;
        break;
    case VIRTIO_MMIO_VERSION:
        val = t->legacy ? VIRTIO_MDEV_LEGACY_VERSION : VIRTIO_MDEV_VERSION;
        break;
    case VIRTIO_MMIO_DEVICE_ID:
        val = t->ops->get_device_id(t->mdev);
        break;
    case VIRTIO_MMIO_VENDOR_ID:
        val = t->ops->get_vendor_id(t->mdev);
        break;
    case VIRTIO_MMIO_DEVICE_FEATURES:
        if (t->legacy) {
            /* Only the first 32 bits exist for a legacy driver. */
            val = t->host_features_sel ? 0 :
                  (uint32_t)t->ops->get_features(t->mdev);
        } else if (t->host_features_sel <= 1) {
            val = t->ops->get_features(t->mdev) >>
                  (32 * t->host_features_sel);
        }
        break;
    case VIRTIO_MMIO_QUEUE_NUM_MAX:
        val = vq_num_max(t, t->queue_sel);
        break;
    case VIRTIO_MMIO_QUEUE_PFN:
        val = t->vq[t->queue_sel].pfn;
        break;
    case VIRTIO_MMIO_QUEUE_READY:
        val = vq_num_max(t, t->queue_sel) &&
              t->ops->get_vq_ready(t->mdev, t->queue_sel);
        break;
    case VIRTIO_MMIO_INTERRUPT_STATUS:
        val = t->isr;
        break;
    case VIRTIO_MMIO_STATUS:
        val = t->ops->get_status(t->mdev);
        break;
    case VIRTIO_MMIO_SHM_LEN_LOW:
    case VIRTIO_MMIO_SHM_LEN_HIGH:
    case VIRTIO_MMIO_SHM_BASE_LOW:
    case VIRTIO_MMIO_SHM_BASE_HIGH:
        /* No shared memory regions: length and base read as ~0. */
        val = UINT32_MAX;
        break;
    case VIRTIO_MMIO_CONFIG_GENERATION:
        val = t->ops->get_generation(t->mdev);
        break;
    case VIRTIO_MMIO_DEVICE_FEATURES_SEL:
    case VIRTIO_MMIO_DRIVER_FEATURES:
    case VIRTIO_MMIO_DRIVER_FEATURES_SEL:
    case VIRTIO_MMIO_GUEST_PAGE_SIZE:
    case VIRTIO_MMIO_QUEUE_SEL:
    case VIRTIO_MMIO_QUEUE_NUM:
    case VIRTIO_MMIO_QUEUE_ALIGN:
    case VIRTIO_MMIO_QUEUE_NOTIFY:
    case VIRTIO_MMIO_INTERRUPT_ACK:
    case VIRTIO_MMIO_QUEUE_DESC_LOW:
    case VIRTIO_MMIO_QUEUE_DESC_HIGH:
    case VIRTIO_MMIO_QUEUE_AVAIL_LOW:
    case VIRTIO_MMIO_QUEUE_AVAIL_HIGH:
    case VIRTIO_MMIO_QUEUE_USED_LOW:
    case VIRTIO_MMIO_QUEUE_USED_HIGH:
    case VIRTIO_MMIO_SHM_SEL:
        qemu_log_mask(LOG_GUEST_ERROR, "%s: read of write-only register "
                      "(0x%" HWADDR_PRIx ")\n", vm_name(t), offset);
        break;
    default:
        qemu_log_mask(LOG_GUEST_ERROR, "%s: read of unknown register "
                      "(0x%" HWADDR_PRIx ")\n", vm_name(t), offset);
        break;
    }
    trace_virtio_mdev_read(vm_name(t), offset, val);
    return val;
}

/*
 * The staged address (low and high words) that a QueueDesc/Driver/Device
 * register writes: 0x80/0x84, 0x90/0x94, 0xa0/0xa4.
 */
static uint32_t *virtio_mdev_queue_area(VirtioMdevQueue *q, hwaddr offset)
{
    switch ((offset - VIRTIO_MMIO_QUEUE_DESC_LOW) >> 4) {
    case 0:
        return q->desc;
    case 1:
        return q->driver;
    default:
        return q->device;
    }
}

static void virtio_mdev_write(void *opaque, hwaddr offset, uint64_t val,
                              unsigned size)
{
    VirtioMdevTransport *t = opaque;
    VirtioMdevQueue *q;

    if (!t->ops) {
        return;
    }
    if (offset >= VIRTIO_MMIO_CONFIG) {
        uint8_t buf[8];

        offset -= VIRTIO_MMIO_CONFIG;
        trace_virtio_mdev_config_write(vm_name(t), offset, val, size);
        if (virtio_mdev_config_access_ok(t, offset, size, true)) {
            stn_le_p(buf, size, val);
            t->ops->set_config(t->mdev, offset, buf, size);
        }
        return;
    }
    trace_virtio_mdev_write(vm_name(t), offset, val);
    if (size != 4) {
        qemu_log_mask(LOG_GUEST_ERROR, "%s: wrong register write size %u "
                      "(0x%" HWADDR_PRIx ")\n", vm_name(t), size, offset);
        return;
    }
    if (!virtio_mdev_layout_ok(t, offset)) {
        qemu_log_mask(LOG_GUEST_ERROR, "%s: write of a %s-only register "
                      "(0x%" HWADDR_PRIx ")\n", vm_name(t),
                      t->legacy ? "modern" : "legacy", offset);
        return;
    }
    q = &t->vq[t->queue_sel];

    switch (offset) {
    case VIRTIO_MMIO_DEVICE_FEATURES_SEL:
        t->host_features_sel = val;
        break;
    case VIRTIO_MMIO_DRIVER_FEATURES:
        if (t->guest_features_sel > 1 || (t->legacy && t->guest_features_sel)) {
            if (val) {
                qemu_log_mask(LOG_GUEST_ERROR, "%s: driver features for "
                              "nonexistent window %u\n", vm_name(t),
                              t->guest_features_sel);
            }
            break;
        }
        if (!virtio_mdev_features_open(t)) {
            qemu_log_mask(LOG_GUEST_ERROR, "%s: driver features written "
                          "after they were fixed: ignored\n", vm_name(t));
            break;
        }
        t->guest_features[t->guest_features_sel] = val;
        if (t->legacy && t->ops->set_features(t->mdev, (uint32_t)val)) {
            qemu_log_mask(LOG_GUEST_ERROR, "%s: legacy driver features 0x%"
                          PRIx64 " rejected\n", vm_name(t), val);
        }
        break;
    case VIRTIO_MMIO_DRIVER_FEATURES_SEL:
        t->guest_features_sel = val;
        break;
    case VIRTIO_MMIO_GUEST_PAGE_SIZE:
        if (val == 0 || (val & (val - 1)) || val > (1u << 16)) {
            qemu_log_mask(LOG_GUEST_ERROR, "%s: GuestPageSize %" PRIu64
                          " is not a power of 2 up to 64 KiB\n",
                          vm_name(t), val);
            break;
        }
        t->guest_page_shift = ctz32(val);
        break;
    case VIRTIO_MMIO_QUEUE_SEL:
        if (val >= VIRTIO_MDEV_MAX_QUEUES) {
            qemu_log_mask(LOG_GUEST_ERROR, "%s: QueueSel %" PRIu64 " beyond "
                          "the %d queue slots\n", vm_name(t), val,
                          VIRTIO_MDEV_MAX_QUEUES);
            break;
        }
        t->queue_sel = val;
        break;
    case VIRTIO_MMIO_QUEUE_NUM:
        if (val > vq_num_max(t, t->queue_sel)) {
            qemu_log_mask(LOG_GUEST_ERROR, "%s: QueueNum %" PRIu64 " above "
                          "QueueNumMax %u of queue %u\n", vm_name(t), val,
                          vq_num_max(t, t->queue_sel), t->queue_sel);
            break;
        }
        q->num = val;
        break;
    case VIRTIO_MMIO_QUEUE_ALIGN:
        q->align = val;
        break;
    case VIRTIO_MMIO_QUEUE_PFN:
        virtio_mdev_legacy_set_pfn(t, t->queue_sel, val);
        break;
    case VIRTIO_MMIO_QUEUE_READY:
        if (val) {
            virtio_mdev_queue_enable(t, t->queue_sel);
        } else {
            virtio_mdev_queue_disable(t, t->queue_sel);
        }
        break;
    case VIRTIO_MMIO_QUEUE_NOTIFY: {
        /*
         * Bits 31:16 carry NOTIFICATION_DATA, for a backend that takes it
         * (it offers the feature); only the queue index matters here.
         */
        uint32_t idx = val & 0xffff;

        if (!vq_num_max(t, idx)) {
            qemu_log_mask(LOG_GUEST_ERROR, "%s: QueueNotify for queue %u "
                          "that does not exist\n", vm_name(t), idx);
            break;
        }
        if (t->ops->kick_vq_with_data) {
            t->ops->kick_vq_with_data(t->mdev, val);
        } else {
            t->ops->kick_vq(t->mdev, idx);
        }
        break;
    }
    case VIRTIO_MMIO_INTERRUPT_ACK:
        t->isr &= ~val;
        virtio_mdev_update_irq(t);
        break;
    case VIRTIO_MMIO_STATUS:
        virtio_mdev_set_status(t, val & 0xff);
        break;
    case VIRTIO_MMIO_QUEUE_DESC_LOW:
    case VIRTIO_MMIO_QUEUE_DESC_HIGH:
    case VIRTIO_MMIO_QUEUE_AVAIL_LOW:
    case VIRTIO_MMIO_QUEUE_AVAIL_HIGH:
    case VIRTIO_MMIO_QUEUE_USED_LOW:
    case VIRTIO_MMIO_QUEUE_USED_HIGH:
        virtio_mdev_queue_area(q, offset)[(offset & 4) ? 1 : 0] = val;
        break;
    case VIRTIO_MMIO_SHM_SEL:
        /* No shared memory regions: every selection reads as absent. */
        break;
    case VIRTIO_MMIO_MAGIC_VALUE:
    case VIRTIO_MMIO_VERSION:
    case VIRTIO_MMIO_DEVICE_ID:
    case VIRTIO_MMIO_VENDOR_ID:
    case VIRTIO_MMIO_DEVICE_FEATURES:
    case VIRTIO_MMIO_QUEUE_NUM_MAX:
    case VIRTIO_MMIO_INTERRUPT_STATUS:
    case VIRTIO_MMIO_CONFIG_GENERATION:
    case VIRTIO_MMIO_SHM_LEN_LOW:
    case VIRTIO_MMIO_SHM_LEN_HIGH:
    case VIRTIO_MMIO_SHM_BASE_LOW:
    case VIRTIO_MMIO_SHM_BASE_HIGH:
        qemu_log_mask(LOG_GUEST_ERROR, "%s: write of read-only register "
                      "(0x%" HWADDR_PRIx ")\n", vm_name(t), offset);
        break;
    default:
        qemu_log_mask(LOG_GUEST_ERROR, "%s: write of unknown register "
                      "(0x%" HWADDR_PRIx ")\n", vm_name(t), offset);
        break;
    }
}

static const MemoryRegionOps virtio_mdev_mmio_ops = {
    .read = virtio_mdev_read,
    .write = virtio_mdev_write,
    .endianness = DEVICE_LITTLE_ENDIAN,
    /* Every width reaches the handlers, which log the wrong ones. */
    .valid = {
        .min_access_size = 1,
        .max_access_size = 8,
    },
    .impl = {
        .min_access_size = 1,
        .max_access_size = 8,
    },
};

void virtio_mdev_transport_init(VirtioMdevTransport *t, DeviceState *owner)
{
    t->owner = owner;
    t->guest_page_shift = 12;
    memory_region_init_io(&t->mmio, OBJECT(owner), &virtio_mdev_mmio_ops, t,
                          "virtio-mdev", VIRTIO_MDEV_MMIO_SIZE);
}

/* Set a short form's properties on the new instance. */
static bool virtio_mdev_form_apply(VirtioMdevTransport *t, MdevDevice *mdev,
                                   Error **errp)
{
    const QDictEntry *e;

    if (!t->form_props) {
        return true;
    }
    for (e = qdict_first(t->form_props); e; e = qdict_next(t->form_props, e)) {
        if (!object_property_set_qobject(OBJECT(mdev), qdict_entry_key(e),
                                         qdict_entry_value(e), errp)) {
            return false;
        }
    }
    return true;
}

/* A short form binds its own type, of a default parent unless told. */
static bool virtio_mdev_form_defaults(VirtioMdevTransport *t,
                                      const VirtioMdevShortForm *form,
                                      Error **errp)
{
    if (t->type_id && strcmp(t->type_id, form->type_id)) {
        error_setg(errp, "property 'mdev-type': %s uses only '%s' (use "
                   "%s for '%s')", form->name, form->type_id,
                   TYPE_VIRTIO_MDEV, t->type_id);
        return false;
    }
    if (!t->type_id) {
        t->type_id = g_strdup(form->type_id);
    }
    if (!t->parent_id) {
        t->parent_id = g_strdup(form->default_parent);
        if (!mdev_parent_find(t->parent_id, form->parent_kind, errp)) {
            return false;
        }
    }
    return true;
}

bool virtio_mdev_transport_realize(VirtioMdevTransport *t, Error **errp)
{
    ERRP_GUARD();
    const VirtioMdevShortForm *form =
        VIRTIO_MDEV_FRONTEND_GET_CLASS(t->owner)->form;
    VirtioMdevHost host = {
        .dma_as = &address_space_memory,
        .guard = &t->owner->mem_reentrancy_guard,
    };
    MdevParent *parent;
    MdevDevice *mdev;

    if (form && !virtio_mdev_form_defaults(t, form, errp)) {
        return false;
    }
    if (!t->parent_id) {
        error_setg(errp, "property 'mdev-parent' is required: the id of an "
                   "mdev parent object (-object <parent kind>,id=...)");
        return false;
    }
    if (!t->type_id) {
        error_setg(errp, "property 'mdev-type' is required: a type of "
                   "mdev-parent '%s' (see query-mdev)", t->parent_id);
        return false;
    }
    parent = mdev_parent_find(t->parent_id, NULL, errp);
    if (!parent) {
        return false;
    }
    mdev = mdev_create_and_bind(parent, t->type_id, t->uuid,
                                OBJECT(t->owner), virtio_mdev_id_table, errp);
    if (!mdev) {
        return false;
    }
    if (!virtio_mdev_form_apply(t, mdev, errp)) {
        mdev_destroy(mdev);
        return false;
    }
    if (!((const VirtioMdevOps *)mdev->class_ops)->set_host(mdev, &host,
                                                            errp)) {
        mdev_destroy(mdev);
        return false;
    }
    t->mdev = mdev;
    t->ops = mdev->class_ops;
    for (unsigned i = 0; i < VIRTIO_MDEV_MAX_QUEUES; i++) {
        if (t->ops->get_vq_num_max(mdev, i)) {
            t->ops->set_vq_cb(mdev, i, virtio_mdev_vq_interrupt, t);
        }
    }
    t->ops->set_config_cb(mdev, virtio_mdev_config_interrupt, t);
    virtio_mdev_device_reset(t);
    return true;
}

void virtio_mdev_transport_unrealize(VirtioMdevTransport *t)
{
    if (!t->mdev) {
        return;
    }
    t->ops->reset(t->mdev);
    t->ops->set_host(t->mdev, NULL, NULL);
    mdev_destroy(t->mdev);
    t->mdev = NULL;
    t->ops = NULL;
}

void virtio_mdev_transport_reset(VirtioMdevTransport *t)
{
    virtio_mdev_device_reset(t);
}

/* Guest-physical address of the register window, or -1 when unmapped. */
static uint64_t virtio_mdev_transport_base(VirtioMdevTransport *t)
{
    MemoryRegion *mr = &t->mmio;
    uint64_t base = 0;

    if (!mr->container) {
        return UINT64_MAX;
    }
    for (; mr; mr = mr->container) {
        base += mr->addr;
    }
    return base;
}

VirtioMdevTransport *virtio_mdev_transport_of(Object *obj)
{
    size_t offset = VIRTIO_MDEV_FRONTEND_GET_CLASS(obj)->transport_offset;

    return (VirtioMdevTransport *)((char *)obj + offset);
}

static void virtio_mdev_get_mmio_base(Object *obj, Visitor *v,
                                      const char *name, void *opaque,
                                      Error **errp)
{
    uint64_t base = virtio_mdev_transport_base(virtio_mdev_transport_of(obj));

    visit_type_uint64(v, name, &base, errp);
}

static void virtio_mdev_get_mdev_uuid(Object *obj, Visitor *v,
                                      const char *name, void *opaque,
                                      Error **errp)
{
    VirtioMdevTransport *t = virtio_mdev_transport_of(obj);
    char *uuid = t->mdev ? t->mdev->uuid_str : (char *)"";

    visit_type_str(v, name, &uuid, errp);
}

void virtio_mdev_frontend_class_init(ObjectClass *oc, size_t offset)
{
    VIRTIO_MDEV_FRONTEND_CLASS(oc)->transport_offset = offset;
    object_class_property_add(oc, "mmio-base", "uint64",
                              virtio_mdev_get_mmio_base, NULL, NULL, NULL);
    object_class_property_set_description(oc, "mmio-base",
        "Guest-physical address of the virtio-mmio register window "
        "(read-only)");
    object_class_property_add(oc, "mdev-uuid", "str",
                              virtio_mdev_get_mdev_uuid, NULL, NULL, NULL);
    object_class_property_set_description(oc, "mdev-uuid",
        "UUID of the bound mdev instance, given or generated (read-only)");
}

static int virtio_mdev_transport_post_load(void *opaque, int version_id)
{
    VirtioMdevTransport *t = opaque;

    if (t->queue_sel >= VIRTIO_MDEV_MAX_QUEUES ||
        t->guest_page_shift > 16) {
        return -EINVAL;
    }
    virtio_mdev_update_irq(t);
    return 0;
}

static const VMStateDescription vmstate_virtio_mdev_queue = {
    .name = "virtio-mdev/queue",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT16(num, VirtioMdevQueue),
        VMSTATE_BOOL(enabled, VirtioMdevQueue),
        VMSTATE_UINT32_ARRAY(desc, VirtioMdevQueue, 2),
        VMSTATE_UINT32_ARRAY(driver, VirtioMdevQueue, 2),
        VMSTATE_UINT32_ARRAY(device, VirtioMdevQueue, 2),
        VMSTATE_UINT32(align, VirtioMdevQueue),
        VMSTATE_UINT32(pfn, VirtioMdevQueue),
        VMSTATE_END_OF_LIST()
    },
};

/* The bound backend's state, through its own VMStateDescription. */
static int virtio_mdev_backend_get(QEMUFile *f, void *pv, size_t size,
                                   const VMStateField *field)
{
    VirtioMdevTransport *t = pv;

    /* The stream may carry backend state this device cannot take. */
    if (!t->ops || !t->ops->vmsd) {
        error_report("%s: migration stream has backend state, but the "
                     "bound backend has none", vm_name(t));
        return -EINVAL;
    }
    return vmstate_load_state(f, t->ops->vmsd, t->mdev,
                              t->ops->vmsd->version_id);
}

static int virtio_mdev_backend_put(QEMUFile *f, void *pv, size_t size,
                                   const VMStateField *field,
                                   JSONWriter *vmdesc)
{
    VirtioMdevTransport *t = pv;

    return vmstate_save_state(f, t->ops->vmsd, t->mdev, vmdesc);
}

static const VMStateInfo vmstate_info_virtio_mdev_backend = {
    .name = "virtio-mdev-backend",
    .get = virtio_mdev_backend_get,
    .put = virtio_mdev_backend_put,
};

static bool virtio_mdev_backend_needed(void *opaque)
{
    VirtioMdevTransport *t = opaque;

    return t->ops && t->ops->vmsd;
}

static const VMStateDescription vmstate_virtio_mdev_backend = {
    .name = "virtio-mdev/transport/backend",
    .version_id = 1,
    .minimum_version_id = 1,
    .needed = virtio_mdev_backend_needed,
    .fields = (const VMStateField[]) {
        {
            .name = "backend",
            .info = &vmstate_info_virtio_mdev_backend,
            .flags = VMS_SINGLE,
            .offset = 0,
        },
        VMSTATE_END_OF_LIST()
    },
};

/*
 * Queues 0..7 travel in the main section, as before the transport had
 * more; the others only when the driver touched one of them.
 */
#define VIRTIO_MDEV_LOW_QUEUES  8

static bool virtio_mdev_high_queues_needed(void *opaque)
{
    VirtioMdevTransport *t = opaque;

    for (unsigned i = VIRTIO_MDEV_LOW_QUEUES; i < VIRTIO_MDEV_MAX_QUEUES; i++) {
        VirtioMdevQueue *q = &t->vq[i];

        if (q->num || q->enabled || q->align || q->pfn || vq_addr(q->desc) ||
            vq_addr(q->driver) || vq_addr(q->device)) {
            return true;
        }
    }
    return false;
}

static const VMStateDescription vmstate_virtio_mdev_high_queues = {
    .name = "virtio-mdev/transport/high-queues",
    .version_id = 1,
    .minimum_version_id = 1,
    .needed = virtio_mdev_high_queues_needed,
    .fields = (const VMStateField[]) {
        VMSTATE_STRUCT_SUB_ARRAY(vq, VirtioMdevTransport,
                                 VIRTIO_MDEV_LOW_QUEUES,
                                 VIRTIO_MDEV_MAX_QUEUES -
                                 VIRTIO_MDEV_LOW_QUEUES, 1,
                                 vmstate_virtio_mdev_queue, VirtioMdevQueue),
        VMSTATE_END_OF_LIST()
    },
};

static int virtio_mdev_transport_pre_save(void *opaque)
{
    VirtioMdevTransport *t = opaque;

    /* A running backend without migration state would stall the guest. */
    if (t->ops && !t->ops->vmsd &&
        (t->ops->get_status(t->mdev) & VIRTIO_CONFIG_S_DRIVER_OK)) {
        error_report("%s: the mdev backend of %s cannot be migrated while "
                     "running", vm_name(t), t->mdev->uuid_str);
        return -ENOTSUP;
    }
    return 0;
}

const VMStateDescription vmstate_virtio_mdev_transport = {
    .name = "virtio-mdev/transport",
    .version_id = 1,
    .minimum_version_id = 1,
    .pre_save = virtio_mdev_transport_pre_save,
    .post_load = virtio_mdev_transport_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT32(host_features_sel, VirtioMdevTransport),
        VMSTATE_UINT32(guest_features_sel, VirtioMdevTransport),
        VMSTATE_UINT32_ARRAY(guest_features, VirtioMdevTransport, 2),
        VMSTATE_UINT32(guest_page_shift, VirtioMdevTransport),
        VMSTATE_UINT32(queue_sel, VirtioMdevTransport),
        VMSTATE_UINT32(isr, VirtioMdevTransport),
        VMSTATE_STRUCT_SUB_ARRAY(vq, VirtioMdevTransport, 0,
                                 VIRTIO_MDEV_LOW_QUEUES, 1,
                                 vmstate_virtio_mdev_queue, VirtioMdevQueue),
        VMSTATE_END_OF_LIST()
    },
    .subsections = (const VMStateDescription * const []) {
        &vmstate_virtio_mdev_high_queues,
        &vmstate_virtio_mdev_backend,
        NULL
    },
};

static const TypeInfo virtio_mdev_frontend_info = {
    .name = TYPE_VIRTIO_MDEV_FRONTEND,
    .parent = TYPE_INTERFACE,
    .class_size = sizeof(VirtioMdevFrontendClass),
};

static void virtio_mdev_register_types(void)
{
    type_register_static(&virtio_mdev_frontend_info);
}

type_init(virtio_mdev_register_types)
