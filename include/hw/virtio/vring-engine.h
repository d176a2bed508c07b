/*
 * vring engine: device-side processing of virtio rings in driver memory
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * A small library for backends that run the virtio datapath themselves
 * (like Linux's vringh): given a queue's negotiated features, size and
 * addresses, pop available descriptor chains as scatter-gather lists, push
 * used entries, and decide whether the driver must be notified.  Split and
 * packed rings (VIRTIO_F_RING_PACKED), indirect descriptors, EVENT_IDX.
 *
 * Memory is reached only through VringMemOps, so the same engine runs in
 * QEMU (guest memory through the DMA API) and in unit tests over a plain
 * buffer.  The engine owns endianness (virtio 1.x little-endian rings) and
 * the memory barriers.  It includes no QOM header.
 *
 * Return values: every function that can fail returns an int (int64_t for
 * byte counts) that is negative on failure, namely -VringError, and 0 or a
 * non-negative result on success (1 or 0 for vring_pop, a byte count for
 * the copies).  VringError values themselves are positive; vring_strerror
 * takes the positive value.
 *
 * Every value read from driver memory is validated; a violation is returned
 * as a distinct VringError, and the ring is then "broken": every later call
 * fails until vring_reset() or vring_setup().
 *
 * A chain holds at most as many buffers as the queue size, counting those
 * of an indirect table (virtio 1.x 2.7.5.3.1), and at most one indirect
 * table, of at most queue size entries.
 *
 * Not thread-safe: one user at a time per ring.
 */

#ifndef HW_VIRTIO_VRING_ENGINE_H
#define HW_VIRTIO_VRING_ENGINE_H

/* Virtio feature bits the engine looks at */
#define VRING_F_INDIRECT_DESC   28
#define VRING_F_EVENT_IDX       29
#define VRING_F_VERSION_1       32
#define VRING_F_RING_PACKED     34

/* Largest queue the engine accepts (virtio: 32768). */
#define VRING_MAX_SIZE          32768
/* Largest sum of buffer lengths in one chain (4 GiB - 1). */
#define VRING_MAX_CHAIN_LEN     UINT32_MAX

typedef enum VringError {
    VRING_OK = 0,
    VRING_ERR_NOT_READY,        /* ring used before a valid setup */
    VRING_ERR_BROKEN,           /* an earlier error broke the ring */
    VRING_ERR_BAD_SIZE,         /* size 0, not a power of 2, or too big */
    VRING_ERR_BAD_ADDR,         /* ring address misaligned or wrapping */
    VRING_ERR_MEM,              /* an address does not map to memory */
    VRING_ERR_AVAIL_IDX,        /* avail idx moved by more than the size */
    VRING_ERR_HEAD,             /* head index >= ring size */
    VRING_ERR_NEXT,             /* next index >= ring/table size */
    VRING_ERR_LOOP,             /* chain longer than its table: a loop */
    VRING_ERR_INDIRECT,         /* indirect without the feature */
    VRING_ERR_INDIRECT_NESTED,  /* indirect descriptor inside a table */
    VRING_ERR_INDIRECT_LEN,     /* table length 0 or not a multiple of 16 */
    VRING_ERR_ZERO_LEN,         /* zero-length buffer */
    VRING_ERR_CHAIN_LEN,        /* lengths sum over VRING_MAX_CHAIN_LEN */
    VRING_ERR_READ_AFTER_WRITE, /* readable buffer after a writable one */
    VRING_ERR_DIRECTION,        /* chain has buffers of a forbidden kind */
    VRING_ERR_USED,             /* used entry for a chain not in flight */
    VRING_ERR_STATE,            /* saved state out of range */
    VRING_ERR_CHAIN_TOO_LONG,   /* over queue size (or chain storage) */
    VRING_ERR__MAX,
} VringError;

/* A short human-readable description of @err (positive: VRING_ERR_xxx). */
const char *vring_strerror(VringError err);

/*
 * Memory access.  @read / @write copy between driver memory and @buf and
 * return false when [addr, addr + len) is not entirely memory.
 *
 * @ld16 / @st16 access one little-endian 16-bit ring field (an index or
 * packed descriptor flags, 2-byte aligned) that the driver reads or writes
 * at the same time, in ONE access: never torn, never repeated.  A copy
 * routine may do neither: glibc's memcpy() of 2 bytes stores the word and
 * then its first byte again, so a driver that saw the first store, took
 * the descriptor and made it available again loses its new flags to the
 * second; its 2-byte load can combine bytes of two different values.
 *
 * @map is optional: it returns a host pointer to at most *@len bytes at
 * @addr (shrinking *@len when the mapping is shorter) or NULL; every
 * successful map is paired with one @unmap with the same pointer and the
 * length map returned, and @access_len the bytes actually accessed (<=
 * that length).
 */
typedef struct VringMemOps {
    bool (*read)(void *opaque, uint64_t addr, void *buf, uint64_t len);
    bool (*write)(void *opaque, uint64_t addr, const void *buf,
                  uint64_t len);
    bool (*ld16)(void *opaque, uint64_t addr, uint16_t *val);
    bool (*st16)(void *opaque, uint64_t addr, uint16_t val);
    void *(*map)(void *opaque, uint64_t addr, uint64_t *len, bool is_write);
    void (*unmap)(void *opaque, void *ptr, uint64_t len, bool is_write,
                  uint64_t access_len);
} VringMemOps;

/* One buffer of a chain. */
typedef struct VringBuf {
    uint64_t addr;
    uint32_t len;
} VringBuf;

/*
 * A popped chain: its readable ("out") buffers, then its writable ("in")
 * buffers, each list in chain order.  @bufs has room for @cap buffers;
 * vring_chain_init() sizes it for a queue size.
 */
typedef struct VringChain {
    uint16_t head;          /* id for the used ring */
    uint16_t ndesc;         /* ring slots it took (packed: to skip) */
    unsigned nout, nin;
    uint64_t out_len, in_len;
    unsigned cap;
    VringBuf *bufs;         /* out buffers first, then in buffers */
} VringChain;

typedef struct VringConfig {
    uint64_t features;      /* negotiated features */
    uint16_t num;           /* queue size set by the driver */
    uint64_t desc;          /* descriptor table */
    uint64_t driver;        /* split: avail ring */
    uint64_t device;        /* split: used ring */
} VringConfig;

/* The three areas of a ring in driver memory, as a config places them. */
enum { VRING_AREA_DESC, VRING_AREA_DRIVER, VRING_AREA_DEVICE, VRING_AREAS };

typedef struct VringArea {
    uint64_t addr;
    uint64_t len;
    uint64_t align;         /* required alignment of @addr */
    bool is_write;          /* the device writes it */
} VringArea;

/*
 * Where @cfg's ring areas are and how big (split or packed after
 * VIRTIO_F_RING_PACKED in @cfg->features); @cfg->num must be non-zero.
 */
void vring_config_areas(const VringConfig *cfg, VringArea areas[VRING_AREAS]);

/*
 * Ring position for migration (vDPA's vq state).  Split: free-running
 * indexes.  Packed: ring positions, with the wrap counter in bit 15.
 *
 * @inflight counts chains popped whose used entry the driver cannot see
 * yet (filled but not flushed counts as in flight, so flush before saving).
 * vring_set_state() checks it against the positions: split, it must equal
 * (uint16_t)(avail_idx - used_idx), at most the queue size; packed, where
 * a chain takes one or more descriptors, it must be 0 when the positions
 * are equal and otherwise between 1 and the descriptor distance from
 * used_idx to avail_idx (at most the queue size).
 */
typedef struct VringState {
    uint16_t avail_idx;     /* next avail entry to pop */
    uint16_t used_idx;      /* next used entry to fill */
    uint16_t inflight;      /* chains popped and not yet used */
} VringState;

typedef struct VringFormat VringFormat;

/* Split rings: used elements a ring keeps until it writes them out. */
#define VRING_USED_BATCH        64

typedef struct Vring {
    const VringMemOps *mem;
    void *mem_opaque;

    VringConfig cfg;
    const VringFormat *fmt;     /* split or packed, set by vring_setup */
    bool ready;
    bool broken;
    bool event_idx;
    bool indirect;
    bool notify_enabled;

    uint16_t last_avail_idx;    /* next avail entry (packed: position) */
    uint16_t shadow_avail_idx;  /* split: the driver's avail idx, last read */
    uint16_t used_idx;          /* published used idx (packed: position) */
    bool avail_wrap;            /* packed: driver ring wrap counter */
    bool used_wrap;             /* packed: device ring wrap counter */
    uint16_t pending_used;      /* used entries filled, not yet published */
    uint16_t used_batched;      /* split: the last ones, not yet written */
    bool unsignalled;           /* published since vring_need_notify */
    uint16_t signalled_used;    /* used idx at the last notification */
    bool signalled_used_valid;
    uint16_t inflight;          /* chains popped, not yet filled */
    /* split: the used elements {id, len} of the used_batched entries */
    uint8_t used_batch[VRING_USED_BATCH * 8];
} Vring;

/* Bind @vr to a memory backend; the ring is not ready until vring_setup. */
void vring_init_mem(Vring *vr, const VringMemOps *mem, void *mem_opaque);

/*
 * Validate @cfg (size 1..VRING_MAX_SIZE, a power of 2 for split rings;
 * aligned areas that do not wrap) and make the ring ready at its start.
 * The format follows VIRTIO_F_RING_PACKED in @cfg->features.
 * Returns 0 or -VringError (the ring is then not ready).
 */
int vring_setup(Vring *vr, const VringConfig *cfg);

/* Forget the ring (driver reset or queue disabled). */
void vring_reset(Vring *vr);

bool vring_is_ready(const Vring *vr);

/*
 * Chain storage for @num buffers, enough for any chain of a ring of up to
 * @num entries; vring_chain_free after.  A chain with more buffers than the
 * storage holds is refused with VRING_ERR_CHAIN_TOO_LONG.
 */
void vring_chain_init(VringChain *chain, unsigned num);
void vring_chain_free(VringChain *chain);

/*
 * Pop the next available chain into @chain.
 * Returns 1 with a chain, 0 when the ring is empty, or -VringError.
 * With @want_out false, a chain with readable buffers is
 * VRING_ERR_DIRECTION; likewise @want_in for writable ones.
 */
int vring_pop(Vring *vr, VringChain *chain, bool want_out, bool want_in);

/*
 * Give back @chain, which must be the last chain popped and not yet
 * filled; to give back several, call newest first (vringh's abandon).
 */
void vring_unpop(Vring *vr, const VringChain *chain);

/*
 * Fill a used entry for @chain with @len bytes written.  Entries become
 * visible to the driver at vring_flush().  Returns 0 or -VringError.
 */
int vring_fill(Vring *vr, const VringChain *chain, uint32_t len);

/*
 * Publish every filled entry.  Returns 0 (also when the ring is not set
 * up) or -VringError.
 */
int vring_flush(Vring *vr);

/*
 * Whether the driver must be notified of what was published since the last
 * call: false when nothing was, else what EVENT_IDX (or the driver's
 * NO_INTERRUPT flag) asks for.
 */
bool vring_need_notify(Vring *vr);

/*
 * Driver notifications ("kicks"): disable while draining; enable returns
 * true when buffers arrived meanwhile, so the caller must drain again.
 */
void vring_disable_notify(Vring *vr);
bool vring_enable_notify(Vring *vr);

/* Whether there are available chains (no validation). */
bool vring_has_avail(Vring *vr);

/*
 * VIRTIO_F_NOTIFICATION_DATA: whether @next, the driver's next available
 * position that came with its kick (split: its avail index; packed: the
 * ring offset, its wrap counter in bit 15), is not where the device is:
 * false means the kick announces nothing the device has not taken.
 */
bool vring_kick_data_new(const Vring *vr, uint16_t next);

/*
 * How far the device has looked into the available ring.  A backend that
 * cannot use what is available yet (a frame that needs more receive
 * buffers than the driver posted) takes a mark after vring_pop() returned
 * 0, gives its chains back, and waits for the driver to make something
 * available past the mark, not merely for the ring to be non-empty (that
 * would retry the same chains for ever).
 */
typedef struct VringAvailMark {
    uint16_t pos;           /* split: avail index; packed: ring position */
    bool wrap;              /* packed: the driver's wrap counter there */
} VringAvailMark;

void vring_avail_mark(const Vring *vr, VringAvailMark *mark);

/*
 * Enable notifications, then return whether the driver made a chain
 * available past @mark meanwhile (the caller must then look again).
 */
bool vring_enable_notify_since(Vring *vr, const VringAvailMark *mark);

/*
 * Copy between a chain's buffers and a flat buffer, starting @offset bytes
 * into the chain's out (read) or in (write) buffers.  Return the bytes
 * copied or -VringError.
 */
int64_t vring_chain_read(Vring *vr, const VringChain *chain, uint64_t offset,
                         void *buf, uint64_t len);
int64_t vring_chain_write(Vring *vr, const VringChain *chain,
                          uint64_t offset, const void *buf, uint64_t len);

/*
 * Copy @len bytes from @src's out buffers (from @src_off) into @dst's in
 * buffers (from @dst_off), through mappings when both sides map (no bounce
 * buffer).  Returns the bytes copied (less than @len when either side ends
 * first) or -VringError.  Buffers the driver made overlap are safe to copy:
 * each contiguous piece moves as with memmove, though the result then
 * depends on how the copy is split into pieces.
 */
int64_t vring_chain_copy(Vring *dst_vr, const VringChain *dst,
                         uint64_t dst_off, Vring *src_vr,
                         const VringChain *src, uint64_t src_off,
                         uint64_t len);

/*
 * State for migration.  Set validates @state against the ring's size (see
 * VringState) and returns 0 or -VringError (VRING_ERR_STATE, or
 * VRING_ERR_NOT_READY before vring_setup); on failure the ring is unchanged.
 */
void vring_get_state(const Vring *vr, VringState *state);
int vring_set_state(Vring *vr, const VringState *state);

#endif /* HW_VIRTIO_VRING_ENGINE_H */
