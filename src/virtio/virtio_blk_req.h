/* virtio-blk request parsing (virtio 1.2 sec. 5.2.6): turns a popped descriptor chain into a
 * validated block operation. Pure (no I/O, no device state) so the fuzzer can drive it. */
#ifndef EMBER_VIRTIO_VIRTIO_BLK_REQ_H
#define EMBER_VIRTIO_VIRTIO_BLK_REQ_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "virtio/virtq.h"

/* Request types and status values (5.2.6) */
#define VIRTIO_BLK_T_IN           0
#define VIRTIO_BLK_T_OUT          1
#define VIRTIO_BLK_T_FLUSH        4
#define VIRTIO_BLK_T_GET_ID       8
#define VIRTIO_BLK_T_DISCARD      11
#define VIRTIO_BLK_T_WRITE_ZEROES 13
#define VIRTIO_BLK_S_OK           0
#define VIRTIO_BLK_S_IOERR        1
#define VIRTIO_BLK_S_UNSUPP       2
#define VIRTIO_BLK_ID_BYTES       20
#define VIRTIO_BLK_SECTOR         512u
#define VIRTIO_BLK_HDR_SIZE       16 /* le32 type, le32 reserved, le64 sector */
#define VIRTIO_BLK_DWZ_SIZE                                                                        \
    16 /* discard/write-zeroes segment: le64 sector, le32 num, le32 flags                          \
        */
#define VIRTIO_BLK_WZ_F_UNMAP 1

/* Feature bits (5.2.3) */
#define VIRTIO_BLK_F_SEG_MAX      2
#define VIRTIO_BLK_F_RO           5
#define VIRTIO_BLK_F_BLK_SIZE     6
#define VIRTIO_BLK_F_FLUSH        9
#define VIRTIO_BLK_F_DISCARD      13
#define VIRTIO_BLK_F_WRITE_ZEROES 14

/* What the device allows (from the disk and the negotiated features). */
struct vblk_limits {
    uint64_t capacity; /* in 512-byte sectors */
    bool read_only;
    bool discard;      /* VIRTIO_BLK_F_DISCARD negotiated */
    bool write_zeroes; /* VIRTIO_BLK_F_WRITE_ZEROES negotiated */
    uint32_t max_discard_sectors;
    uint32_t max_write_zeroes_sectors;
};

enum vblk_action {
    VBLK_DONE, /* answered without I/O: write `status`, return `written` bytes */
    VBLK_READ,
    VBLK_WRITE,
    VBLK_FLUSH,
    VBLK_DISCARD,
    VBLK_WRITE_ZEROES,
    VBLK_GET_ID, /* copy the serial into data[], then done */
};

struct vblk_parsed {
    enum vblk_action action;
    uint32_t type;
    uint8_t status;                    /* for VBLK_DONE */
    uint64_t offset, len;              /* bytes on the disk */
    struct iovec data[VIRTQ_MAX_SEGS]; /* the data part of the chain (guest RAM) */
    unsigned ndata;
    uint8_t *status_byte; /* last device-writable byte of the chain */
    uint32_t written;     /* bytes the device writes into the chain, for the used ring */
    bool unmap;           /* write-zeroes may deallocate */
};

/* Parses e. Returns 0 (then status_byte is valid and action says what to do) or -EINVAL if the
 * chain cannot even carry a header and a status byte (the device then returns it unanswered). */
int vblk_parse(const struct virtq_elem *e, const struct vblk_limits *lim, struct vblk_parsed *p);

#endif
