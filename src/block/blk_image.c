/* Opening one image layer: format probing (qcow2 magic or raw), backing-chain loop and depth
 * checks, and the synchronous I/O entry points over the driver ops. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "block/blk_driver.h"

#define QCOW2_MAGIC_BYTES "QFI\xfb"

void blk_open_opts_init(struct blk_open_opts *opts)
{
    memset(opts, 0, sizeof(*opts));
    opts->format = BLK_FORMAT_PROBE;
    opts->completion_fd = -1;
}

const char *blk_format_name(enum blk_format format)
{
    switch (format) {
    case BLK_FORMAT_RAW:
        return "raw";
    case BLK_FORMAT_QCOW2:
        return "qcow2";
    default:
        return "probe";
    }
}

enum blk_format blk_probe_fd(int fd)
{
    unsigned char magic[4];
    ssize_t n = pread(fd, magic, sizeof(magic), 0);
    if (n == (ssize_t)sizeof(magic) && memcmp(magic, QCOW2_MAGIC_BYTES, 4) == 0)
        return BLK_FORMAT_QCOW2;
    return BLK_FORMAT_RAW;
}

/* Records (dev, ino) of fd in chain; rejects a loop or a chain deeper than the limit. */
static int chain_push(struct blk_chain *chain, int fd, const char *path, char *err, size_t errlen)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return blk_err(err, errlen, -errno, "%s: stat: %s", path, strerror(errno));
    for (unsigned i = 0; i < chain->depth; i++)
        if (chain->devs[i] == st.st_dev && chain->inos[i] == st.st_ino)
            return blk_err(err, errlen, -ELOOP,
                           "%s: backing chain loops back to an image "
                           "already in the chain",
                           path);
    if (chain->depth >= BLK_MAX_CHAIN_DEPTH)
        return blk_err(err, errlen, -EMLINK, "%s: backing chain deeper than %u images", path,
                       BLK_MAX_CHAIN_DEPTH);
    chain->devs[chain->depth] = st.st_dev;
    chain->inos[chain->depth] = st.st_ino;
    chain->depth++;
    return 0;
}

int blk_image_open(const char *path, const struct blk_open_opts *opts, struct io_uring *ring,
                   struct blk_chain *chain, struct blk_image **out, char *err, size_t errlen)
{
    struct blk_chain local = {0};
    if (!chain)
        chain = &local;
    int fd = open(path, (opts->read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
    if (fd < 0)
        return blk_err(err, errlen, -errno, "%s: %s", path, strerror(errno));
    int r = chain_push(chain, fd, path, err, errlen);
    if (r < 0) {
        close(fd);
        return r;
    }
    struct stat st;
    if (fstat(fd, &st) < 0) {
        r = blk_err(err, errlen, -errno, "%s: stat: %s", path, strerror(errno));
        close(fd);
        return r;
    }
    struct blk_image *img = calloc(1, sizeof(*img));
    char *p = strdup(path);
    if (!img || !p) {
        free(img);
        free(p);
        close(fd);
        return blk_err(err, errlen, -ENOMEM, "%s: out of memory", path);
    }
    img->format = opts->format == BLK_FORMAT_PROBE ? blk_probe_fd(fd) : opts->format;
    img->ops = img->format == BLK_FORMAT_QCOW2 ? &blk_qcow2_ops : &blk_raw_ops;
    img->path = p;
    img->ring = ring;
    img->read_only = opts->read_only;
    img->chain = chain;
    img->file.fd = fd;
    img->file.ring = ring;
    img->file.batch = chain->batch;
    img->file.read_only = opts->read_only;
    img->file.size = (uint64_t)st.st_size;
    if (S_ISBLK(st.st_mode)) {
        off_t end = lseek(fd, 0, SEEK_END);
        if (end >= 0)
            img->file.size = (uint64_t)end;
    }
    img->file.written_end = img->file.size;
    r = img->ops->open(img, opts, err, errlen);
    img->chain = NULL;
    if (r < 0) {
        close(fd);
        free(p);
        free(img);
        return r;
    }
    *out = img;
    return 0;
}

void blk_image_close(struct blk_image *img)
{
    if (!img)
        return;
    img->ops->close(img);
    close(img->file.fd);
    free(img->path);
    free(img);
}

int blk_image_preadv(struct blk_image *img, uint64_t off, const struct iovec *iov, int iovcnt,
                     size_t len)
{
    if (off > img->size || len > img->size - off)
        return -EINVAL;
    return img->ops->preadv(img, off, iov, iovcnt, len);
}

int blk_image_pwritev(struct blk_image *img, uint64_t off, const struct iovec *iov, int iovcnt,
                      size_t len)
{
    if (img->read_only)
        return -EROFS;
    if (off > img->size || len > img->size - off)
        return -EINVAL;
    return img->ops->pwritev(img, off, iov, iovcnt, len);
}

int blk_image_pread(struct blk_image *img, uint64_t off, void *buf, size_t len)
{
    struct iovec v = {buf, len};
    return blk_image_preadv(img, off, &v, 1, len);
}

int blk_image_pwrite(struct blk_image *img, uint64_t off, const void *buf, size_t len)
{
    struct iovec v = {(void *)buf, len};
    return blk_image_pwritev(img, off, &v, 1, len);
}
