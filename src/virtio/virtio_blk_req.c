/* virtio-blk request parsing (virtio 1.2 sec. 5.2.6). The chain layout is independent of the
 * framing (VERSION_1 implies any layout): the header may span descriptors, the status is the
 * last writable byte. Sectors, lengths and counts come from the guest and are all checked
 * against the disk before any I/O is described. */
#include "virtio/virtio_blk_req.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
    return le32(p) | (uint64_t)le32(p + 4) << 32;
}

/* Copies the segments of iov[0..n) from byte `skip` on, at most `len` bytes, into out. */
static unsigned slice_iov(const struct iovec *iov, unsigned n, uint64_t skip, uint64_t len,
                          struct iovec *out)
{
    unsigned k = 0;
    for (unsigned i = 0; i < n && len; i++) {
        uint64_t l = iov[i].iov_len;
        if (skip >= l) {
            skip -= l;
            continue;
        }
        uint64_t chunk = l - skip < len ? l - skip : len;
        out[k].iov_base = (uint8_t *)iov[i].iov_base + skip;
        out[k].iov_len = chunk;
        k++;
        len -= chunk;
        skip = 0;
    }
    return k;
}

static int done(struct vblk_parsed *p, uint8_t status)
{
    p->action = VBLK_DONE;
    p->status = status;
    p->ndata = 0;
    p->written = 1;
    return 0;
}

/* Sector range [sector, sector + nsect) inside the disk, without overflow. */
static bool range_ok(const struct vblk_limits *lim, uint64_t sector, uint64_t nsect)
{
    return sector <= lim->capacity && nsect <= lim->capacity - sector;
}

static int parse_rw(const struct virtq_elem *e, const struct vblk_limits *lim, uint64_t sector,
                    bool write, struct vblk_parsed *p)
{
    const struct iovec *in = &e->iov[e->n_out];
    uint64_t len = write ? e->out_len - VIRTIO_BLK_HDR_SIZE : e->in_len - 1;
    if (len % VIRTIO_BLK_SECTOR)
        return done(p, VIRTIO_BLK_S_IOERR);
    if (!range_ok(lim, sector, len / VIRTIO_BLK_SECTOR))
        return done(p, VIRTIO_BLK_S_IOERR);
    if (write && lim->read_only)
        return done(p, VIRTIO_BLK_S_IOERR); /* 5.2.6.2: writes to a read-only disk fail */
    if (write)
        p->ndata = slice_iov(e->iov, e->n_out, VIRTIO_BLK_HDR_SIZE, len, p->data);
    else
        p->ndata = slice_iov(in, e->n_in, 0, len, p->data);
    p->action = write ? VBLK_WRITE : VBLK_READ;
    p->offset = sector * VIRTIO_BLK_SECTOR;
    p->len = len;
    p->written = write ? 1 : (uint32_t)(len + 1);
    if (!write && len + 1 > UINT32_MAX)
        return done(p, VIRTIO_BLK_S_IOERR);
    return 0;
}

static int parse_dwz(const struct virtq_elem *e, const struct vblk_limits *lim, bool zeroes,
                     struct vblk_parsed *p)
{
    if (zeroes ? !lim->write_zeroes : !lim->discard)
        return done(p, VIRTIO_BLK_S_UNSUPP);
    if (lim->read_only)
        return done(p, VIRTIO_BLK_S_IOERR);
    /* XXX: we advertise max_*_seg = 1: exactly one segment per request. */
    if (e->out_len - VIRTIO_BLK_HDR_SIZE != VIRTIO_BLK_DWZ_SIZE)
        return done(p, VIRTIO_BLK_S_UNSUPP);
    uint8_t seg[VIRTIO_BLK_DWZ_SIZE];
    virtq_iov_to_buf(e->iov, e->n_out, VIRTIO_BLK_HDR_SIZE, seg, sizeof(seg));
    uint64_t sector = le64(seg);
    uint32_t nsect = le32(seg + 8), flags = le32(seg + 12);
    uint32_t max = zeroes ? lim->max_write_zeroes_sectors : lim->max_discard_sectors;
    /* 5.2.6.2: unknown flags, or unmap on a discard, are unsupported. */
    if ((flags & ~(uint32_t)VIRTIO_BLK_WZ_F_UNMAP) || (!zeroes && flags))
        return done(p, VIRTIO_BLK_S_UNSUPP);
    if (nsect > max || !range_ok(lim, sector, nsect))
        return done(p, VIRTIO_BLK_S_IOERR);
    p->action = zeroes ? VBLK_WRITE_ZEROES : VBLK_DISCARD;
    p->offset = sector * VIRTIO_BLK_SECTOR;
    p->len = (uint64_t)nsect * VIRTIO_BLK_SECTOR;
    p->unmap = (flags & VIRTIO_BLK_WZ_F_UNMAP) != 0;
    p->written = 1;
    return 0;
}

int vblk_parse(const struct virtq_elem *e, const struct vblk_limits *lim, struct vblk_parsed *p)
{
    memset(p, 0, offsetof(struct vblk_parsed, data));
    p->ndata = 0;
    p->status_byte = NULL;
    if (e->out_len < VIRTIO_BLK_HDR_SIZE || e->in_len < 1 || e->n_in == 0)
        return -EINVAL;
    const struct iovec *last = &e->iov[e->n_out + e->n_in - 1];
    p->status_byte = (uint8_t *)last->iov_base + last->iov_len - 1;

    uint8_t hdr[VIRTIO_BLK_HDR_SIZE];
    virtq_iov_to_buf(e->iov, e->n_out, 0, hdr, sizeof(hdr));
    p->type = le32(hdr);
    uint64_t sector = le64(hdr + 8);
    switch (p->type) {
    case VIRTIO_BLK_T_IN:
        return parse_rw(e, lim, sector, false, p);
    case VIRTIO_BLK_T_OUT:
        return parse_rw(e, lim, sector, true, p);
    case VIRTIO_BLK_T_FLUSH:
        p->action = VBLK_FLUSH;
        p->written = 1;
        return 0;
    case VIRTIO_BLK_T_GET_ID: {
        uint64_t room = e->in_len - 1;
        uint64_t n = room < VIRTIO_BLK_ID_BYTES ? room : VIRTIO_BLK_ID_BYTES;
        p->ndata = slice_iov(&e->iov[e->n_out], e->n_in, 0, n, p->data);
        p->action = VBLK_GET_ID;
        p->len = n;
        p->written = (uint32_t)n + 1;
        return 0;
    }
    case VIRTIO_BLK_T_DISCARD:
        return parse_dwz(e, lim, false, p);
    case VIRTIO_BLK_T_WRITE_ZEROES:
        return parse_dwz(e, lim, true, p);
    default:
        return done(p, VIRTIO_BLK_S_UNSUPP);
    }
}
