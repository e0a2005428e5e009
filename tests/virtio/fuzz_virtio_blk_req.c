/* libFuzzer target: the virtio-blk request parser on arbitrary chain layouts and contents.
 * Checks that accepted I/O stays inside the disk and inside the chain's buffers. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "virtio/virtio_blk_req.h"

#define POOL 8192

static bool inside(const uint8_t *pool, const void *p, size_t len)
{
    const uint8_t *b = p;
    return b >= pool && b + len <= pool + POOL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t pool[POOL];
    static struct virtq_elem elem;
    static struct vblk_parsed parsed;
    if (size < 12)
        return 0;
    struct vblk_limits lim = {
        .capacity = (uint64_t)data[0] << 8 | data[1],
        .read_only = data[2] & 1,
        .discard = data[2] & 2,
        .write_zeroes = data[2] & 4,
        .max_discard_sectors = data[3],
        .max_write_zeroes_sectors = data[4],
    };
    unsigned n_out = data[5] % 5, n_in = data[6] % 5;
    const uint8_t *lens = data + 7;
    data += 12;
    size -= 12;
    /* Segments carve the pool; their contents come from the rest of the input. */
    memset(pool, 0, sizeof(pool));
    memcpy(pool, data, size < POOL ? size : POOL);
    size_t off = 0;
    elem.n_out = n_out;
    elem.n_in = n_in;
    elem.out_len = elem.in_len = 0;
    for (unsigned i = 0; i < n_out + n_in; i++) {
        size_t l = lens[i % 5] ? (size_t)lens[i % 5] * 4 : 1;
        if (off + l > POOL)
            l = POOL - off;
        if (l == 0)
            return 0;
        elem.iov[i].iov_base = pool + off;
        elem.iov[i].iov_len = l;
        off += l;
        if (i < n_out)
            elem.out_len += l;
        else
            elem.in_len += l;
    }
    if (vblk_parse(&elem, &lim, &parsed) < 0)
        return 0;
    if (!inside(pool, parsed.status_byte, 1))
        abort();
    uint64_t total = 0;
    for (unsigned i = 0; i < parsed.ndata; i++) {
        if (!inside(pool, parsed.data[i].iov_base, parsed.data[i].iov_len))
            abort();
        total += parsed.data[i].iov_len;
    }
    switch (parsed.action) {
    case VBLK_READ:
    case VBLK_WRITE:
        if (total != parsed.len || parsed.len % 512 ||
            parsed.offset + parsed.len > lim.capacity * 512)
            abort();
        if (parsed.action == VBLK_WRITE && lim.read_only)
            abort();
        break;
    case VBLK_DISCARD:
    case VBLK_WRITE_ZEROES:
        if (lim.read_only || parsed.offset + parsed.len > lim.capacity * 512)
            abort();
        break;
    case VBLK_GET_ID:
        if (total != parsed.len || parsed.len > VIRTIO_BLK_ID_BYTES)
            abort();
        break;
    default:
        break;
    }
    return 0;
}
