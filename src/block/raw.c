/* The raw format driver: the image file is the disk, byte for byte. */
#include <errno.h>
#include <stdlib.h>

#include "block/blk_driver.h"

static int raw_open(struct blk_image *img, const struct blk_open_opts *opts, char *err,
                    size_t errlen)
{
    img->size = img->file.size;
    return 0;
}

static void raw_close(struct blk_image *img)
{
}

static int raw_preadv(struct blk_image *img, uint64_t off, const struct iovec *iov, int iovcnt,
                      size_t len)
{
    return blk_file_preadv_data(&img->file, off, iov, iovcnt);
}

static int raw_pwritev(struct blk_image *img, uint64_t off, const struct iovec *iov, int iovcnt,
                       size_t len)
{
    return blk_file_pwritev_data(&img->file, off, iov, iovcnt);
}

static int raw_flush(struct blk_image *img)
{
    return blk_file_sync(&img->file);
}

static int raw_discard(struct blk_image *img, uint64_t off, uint64_t len)
{
    return blk_file_punch(&img->file, off, len);
}

static int raw_write_zeroes(struct blk_image *img, uint64_t off, uint64_t len)
{
    static const char zeroes[65536];
    while (len > 0) {
        size_t n = len > sizeof(zeroes) ? sizeof(zeroes) : (size_t)len;
        int r = blk_file_pwrite(&img->file, off, zeroes, n);
        if (r < 0)
            return r;
        off += n;
        len -= n;
    }
    return 0;
}

static int raw_block_status(struct blk_image *img, uint64_t off, uint64_t len, enum blk_status *st,
                            uint64_t *pnum)
{
    *st = BLK_STATUS_DATA;
    *pnum = len;
    return 0;
}

const struct blk_driver_ops blk_raw_ops = {
    .name = "raw",
    .open = raw_open,
    .close = raw_close,
    .preadv = raw_preadv,
    .pwritev = raw_pwritev,
    .flush = raw_flush,
    .discard = raw_discard,
    .write_zeroes = raw_write_zeroes,
    .block_status = raw_block_status,
};
