/* Split virtqueues (virtio 1.2 sec. 2.7) on the device side: ring validation, descriptor-chain
 * parsing with indirect descriptors (2.7.5.3), the used ring, and notification suppression
 * with or without VIRTIO_F_EVENT_IDX (2.7.7, 2.7.10). Every ring entry and descriptor comes
 * from a possibly hostile driver: each is copied out of guest RAM and checked before use. */
#ifndef EMBER_VIRTIO_VIRTQ_H
#define EMBER_VIRTIO_VIRTQ_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "core/guest_mem.h"

#define VIRTQ_MAX_SIZE 256 /* largest queue size any ember device offers */
#define VIRTQ_MAX_SEGS 256 /* longest chain accepted (direct or through an indirect table) */

/* Descriptor layout and flags (2.7.5) */
#define VIRTQ_DESC_F_NEXT          1
#define VIRTQ_DESC_F_WRITE         2
#define VIRTQ_DESC_F_INDIRECT      4
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1
#define VIRTQ_USED_F_NO_NOTIFY     1

struct virtq_desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags;
    uint16_t next;
};

/* A popped request: device-readable segments first (n_out), then device-writable (n_in). The
 * iovecs point into guest RAM and were bounds-checked by virtq_pop. */
struct virtq_elem {
    uint16_t head; /* descriptor index to return in the used ring */
    unsigned n_out, n_in;
    uint64_t out_len, in_len; /* byte totals */
    struct iovec iov[VIRTQ_MAX_SEGS];
};

/* Why a chain was rejected (for logs and tests). */
enum virtq_error {
    VIRTQ_OK = 0,
    VIRTQ_ERR_AVAIL_IDX,  /* avail idx moved by more than the queue size */
    VIRTQ_ERR_HEAD_RANGE, /* head index >= queue size */
    VIRTQ_ERR_NEXT_RANGE, /* next index outside the table */
    VIRTQ_ERR_LOOP,       /* more descriptors than the table holds */
    VIRTQ_ERR_TOO_LONG,   /* more than VIRTQ_MAX_SEGS segments */
    VIRTQ_ERR_NOT_RAM,    /* a buffer or table outside guest RAM */
    VIRTQ_ERR_ORDER,      /* a readable descriptor after a writable one */
    VIRTQ_ERR_INDIRECT,   /* indirect not negotiated, nested, with NEXT, or bad length */
};

struct virtq {
    const struct guest_mem *mem;
    uint16_t max_size; /* offered to the driver */
    uint16_t size;     /* as configured by the driver (power of two) */
    bool ready;        /* activated with validated rings */
    bool event_idx;    /* VIRTIO_F_EVENT_IDX negotiated */
    bool indirect;     /* VIRTIO_F_INDIRECT_DESC negotiated */
    uint64_t desc_gpa, avail_gpa, used_gpa;
    /* Host views of the rings, valid while ready (checked against RAM at activation). */
    struct virtq_desc *desc;
    uint16_t *avail;         /* flags, idx, ring[size], used_event */
    uint8_t *used;           /* flags, idx, {id,len}[size], avail_event */
    uint16_t last_avail;     /* next avail entry to consume */
    uint16_t used_idx;       /* our shadow of used->idx */
    uint16_t signalled_used; /* used idx at the last interrupt (EVENT_IDX) */
    bool signalled_used_valid;
    enum virtq_error last_error;
};

void virtq_init(struct virtq *vq, const struct guest_mem *mem, uint16_t max_size);
/* Back to the unconfigured state (device reset). */
void virtq_reset(struct virtq *vq);
/* Validates and activates the driver's configuration: size a power of two <= max_size, rings
 * aligned (16/2/4) and entirely in guest RAM. Returns 0 or -EINVAL (queue stays unready). */
int virtq_activate(struct virtq *vq, uint16_t size, uint64_t desc, uint64_t avail, uint64_t used,
                   bool event_idx, bool indirect);

/* Takes the next available chain. Returns 1 with *elem filled, 0 if none is available, or
 * -EINVAL if the driver broke the ring rules (vq->last_error says how; the device should then
 * set DEVICE_NEEDS_RESET and stop using the queue). */
int virtq_pop(struct virtq *vq, struct virtq_elem *elem);
/* Parses the chain starting at descriptor `head` (no ring access): the parser the fuzzer and
 * tests drive. Returns 0 or -EINVAL with *err set. */
int virtq_parse_chain(const struct virtq *vq, uint16_t head, struct virtq_elem *elem,
                      enum virtq_error *err);
/* Returns a chain with `written` bytes written into its writable part. */
void virtq_push(struct virtq *vq, uint16_t head, uint32_t written);
/* virtq_push in two halves, for several chains that must become visible to the driver at
 * once (a virtio-net frame merged over several receive buffers): virtq_push_nopublish writes
 * the used entry but leaves used->idx alone; virtq_publish stores used->idx, making every
 * entry pushed so far visible with one update. */
void virtq_push_nopublish(struct virtq *vq, uint16_t head, uint32_t written);
void virtq_publish(struct virtq *vq);
/* After pushes: should the driver be interrupted (2.7.7.2 / 2.7.10)? Updates EVENT_IDX state. */
bool virtq_should_notify(struct virtq *vq);
/* Un-takes the last popped chain (device could not use it yet, e.g. no backend space). */
void virtq_unpop(struct virtq *vq);
/* Un-takes the last n popped chains (none of them pushed): they are offered again by the next
 * pops. avail_event is left where the pops put it, so with EVENT_IDX the driver still
 * notifies when it makes a buffer available beyond those already seen. */
void virtq_rewind(struct virtq *vq, uint16_t n);
/* Any chain waiting? */
bool virtq_has_avail(struct virtq *vq);
/* With EVENT_IDX: publish avail_event so the driver notifies when new buffers arrive. */
void virtq_enable_notify(struct virtq *vq);
const char *virtq_error_name(enum virtq_error e);

/* Copy helpers over an element's segments. */
size_t virtq_iov_to_buf(const struct iovec *iov, unsigned n, size_t skip, void *buf, size_t len);
size_t virtq_buf_to_iov(const struct iovec *iov, unsigned n, size_t skip, const void *buf,
                        size_t len);

#endif
