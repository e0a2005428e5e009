/* Host file I/O for the block layer on io_uring: each call submits one operation to the ring
 * of the calling (owning) thread and waits for it, looping over short transfers. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "block/blk_driver.h"

int blk_err(char *err, size_t errlen, int e, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return e;
}

/* Submits one prepared SQE and waits for its completion; returns cqe->res. */
static int ring_run(struct io_uring *ring, struct io_uring_sqe *sqe)
{
    (void)sqe;
    int r = io_uring_submit(ring);
    if (r < 0)
        return r;
    struct io_uring_cqe *cqe;
    do {
        r = io_uring_wait_cqe(ring, &cqe);
    } while (r == -EINTR);
    if (r < 0)
        return r;
    int res = cqe->res;
    io_uring_cqe_seen(ring, cqe);
    return res;
}

static struct io_uring_sqe *get_sqe(struct io_uring *ring)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
    if (!sqe) {
        /* The ring is only used synchronously, so a full SQ means leftovers: flush them. */
        io_uring_submit(ring);
        sqe = io_uring_get_sqe(ring);
    }
    return sqe;
}

/* Advances iov (copied into a local array) by n bytes. */
static int iov_advance(struct iovec *iov, int iovcnt, size_t n, int *first)
{
    int i = *first;
    while (i < iovcnt && n >= iov[i].iov_len) {
        n -= iov[i].iov_len;
        i++;
    }
    if (i < iovcnt) {
        iov[i].iov_base = (char *)iov[i].iov_base + n;
        iov[i].iov_len -= n;
    }
    *first = i;
    return 0;
}

static int file_rw(struct blk_file *f, bool write, uint64_t off, const struct iovec *iov_in,
                   int iovcnt, bool zfill)
{
    size_t total = blk_iov_size(iov_in, iovcnt);
    if (iovcnt <= 0 || total == 0)
        return 0;
    struct iovec stack[16];
    struct iovec *iov = iovcnt <= 16 ? stack : malloc(sizeof(*iov) * (size_t)iovcnt);
    if (!iov)
        return -ENOMEM;
    memcpy(iov, iov_in, sizeof(*iov) * (size_t)iovcnt);
    int first = 0, ret = 0;
    size_t done = 0;
    while (done < total) {
        struct io_uring_sqe *sqe = get_sqe(f->ring);
        if (!sqe) {
            ret = -EBUSY;
            break;
        }
        int cnt = iovcnt - first;
        if (cnt > IOV_MAX)
            cnt = IOV_MAX;
        if (write)
            io_uring_prep_writev(sqe, f->fd, iov + first, (unsigned)cnt, off + done);
        else
            io_uring_prep_readv(sqe, f->fd, iov + first, (unsigned)cnt, off + done);
        int r = ring_run(f->ring, sqe);
        if (r == -EINTR || r == -EAGAIN)
            continue;
        if (r < 0) {
            ret = r;
            break;
        }
        if (r == 0) {
            if (write || !zfill) {
                ret = -EIO; /* unexpected EOF */
                break;
            }
            /* Reading past EOF: the rest reads as zeroes. */
            size_t rest = total - done;
            blk_iov_memset(iov_in, iovcnt, done, 0, rest);
            done = total;
            break;
        }
        done += (size_t)r;
        iov_advance(iov, iovcnt, (size_t)r, &first);
    }
    if (iov != stack)
        free(iov);
    if (ret == 0 && write && off + total > f->size)
        f->size = off + total;
    return ret;
}

int blk_file_preadv(struct blk_file *f, uint64_t off, const struct iovec *iov, int iovcnt)
{
    return file_rw(f, false, off, iov, iovcnt, true);
}

int blk_file_pwritev(struct blk_file *f, uint64_t off, const struct iovec *iov, int iovcnt)
{
    if (f->read_only)
        return -EROFS;
    return file_rw(f, true, off, iov, iovcnt, false);
}

int blk_file_pread(struct blk_file *f, uint64_t off, void *buf, size_t len)
{
    struct iovec v = {buf, len};
    return file_rw(f, false, off, &v, 1, false);
}

int blk_file_pread_zfill(struct blk_file *f, uint64_t off, void *buf, size_t len)
{
    struct iovec v = {buf, len};
    return file_rw(f, false, off, &v, 1, true);
}

int blk_file_pwrite(struct blk_file *f, uint64_t off, const void *buf, size_t len)
{
    struct iovec v = {(void *)buf, len};
    return blk_file_pwritev(f, off, &v, 1);
}

int blk_file_sync(struct blk_file *f)
{
    if (f->read_only)
        return 0;
    struct io_uring_sqe *sqe = get_sqe(f->ring);
    if (!sqe)
        return -EBUSY;
    io_uring_prep_fsync(sqe, f->fd, IORING_FSYNC_DATASYNC);
    return ring_run(f->ring, sqe);
}

int blk_file_truncate(struct blk_file *f, uint64_t size)
{
    if (f->read_only)
        return -EROFS;
    if (ftruncate(f->fd, (off_t)size) < 0)
        return -errno;
    f->size = size;
    return 0;
}

int blk_file_punch(struct blk_file *f, uint64_t off, uint64_t len)
{
    if (f->read_only)
        return -EROFS;
    if (fallocate(f->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len) < 0) {
        if (errno == EOPNOTSUPP || errno == ENOSYS)
            return 0;
        return -errno;
    }
    return 0;
}

size_t blk_iov_size(const struct iovec *iov, int iovcnt)
{
    size_t n = 0;
    for (int i = 0; i < iovcnt; i++)
        n += iov[i].iov_len;
    return n;
}

int blk_iov_slice(const struct iovec *iov, int iovcnt, size_t skip, size_t len, struct iovec *out,
                  int outmax)
{
    int n = 0, i = 0;
    while (i < iovcnt && skip >= iov[i].iov_len) {
        skip -= iov[i].iov_len;
        i++;
    }
    while (len > 0) {
        if (i >= iovcnt || n >= outmax)
            return -1;
        size_t take = iov[i].iov_len - skip;
        if (take > len)
            take = len;
        out[n].iov_base = (char *)iov[i].iov_base + skip;
        out[n].iov_len = take;
        n++;
        len -= take;
        skip = 0;
        i++;
    }
    return n;
}

/* Walks bytes [skip, skip+len) of iov calling fn on each piece. */
static void iov_walk(const struct iovec *iov, int iovcnt, size_t skip, size_t len,
                     void (*fn)(void *piece, size_t n, size_t pos, void *arg), void *arg)
{
    size_t pos = 0;
    for (int i = 0; i < iovcnt && len > 0; i++) {
        if (skip >= iov[i].iov_len) {
            skip -= iov[i].iov_len;
            continue;
        }
        size_t take = iov[i].iov_len - skip;
        if (take > len)
            take = len;
        fn((char *)iov[i].iov_base + skip, take, pos, arg);
        pos += take;
        len -= take;
        skip = 0;
    }
}

static void piece_set(void *piece, size_t n, size_t pos, void *arg)
{
    memset(piece, *(int *)arg, n);
}

static void piece_from(void *piece, size_t n, size_t pos, void *arg)
{
    memcpy(piece, (const char *)arg + pos, n);
}

static void piece_to(void *piece, size_t n, size_t pos, void *arg)
{
    memcpy((char *)arg + pos, piece, n);
}

void blk_iov_memset(const struct iovec *iov, int iovcnt, size_t skip, int c, size_t len)
{
    iov_walk(iov, iovcnt, skip, len, piece_set, &c);
}

void blk_iov_from_buf(const struct iovec *iov, int iovcnt, size_t skip, const void *buf, size_t len)
{
    iov_walk(iov, iovcnt, skip, len, piece_from, (void *)buf);
}

void blk_iov_to_buf(const struct iovec *iov, int iovcnt, size_t skip, void *buf, size_t len)
{
    iov_walk(iov, iovcnt, skip, len, piece_to, buf);
}
