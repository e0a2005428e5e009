/* Host file I/O for the block layer on io_uring: each call submits one operation to the ring
 * of the calling (owning) thread and waits for it, looping over short transfers. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
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

void blk_batch_init(struct blk_batch *b, const struct io_uring *ring)
{
    memset(b, 0, sizeof(*b));
    b->enabled = ring->features & IORING_FEAT_SUBMIT_STABLE;
    for (unsigned i = 0; i < BLK_BATCH_SLOTS; i++)
        b->free[i] = i;
    b->nfree = BLK_BATCH_SLOTS;
}

static void batch_mark_retry(struct blk_batch *b, struct blk_request *req)
{
    for (unsigned i = 0; i < b->nretry; i++)
        if (b->retry[i] == req)
            return;
    if (b->nretry < BLK_BATCH_REQS)
        b->retry[b->nretry++] = req;
}

bool blk_batch_needs_retry(const struct blk_batch *b, const struct blk_request *req)
{
    for (unsigned i = 0; i < b->nretry; i++)
        if (b->retry[i] == req)
            return true;
    return false;
}

/* Accounts the completion of deferred transfer user_data-1. */
static void batch_complete(struct blk_batch *b, uint64_t user_data, int res)
{
    unsigned i = (unsigned)(user_data - 1);
    if (!b || i >= BLK_BATCH_SLOTS)
        return;
    if (res < 0 || (size_t)res != b->slot[i].expect)
        batch_mark_retry(b, b->slot[i].req);
    struct blk_file *f = b->slot[i].write_to;
    if (f && f->io_hook && res > 0)
        f->io_hook(f->io_hook_arg, false, b->slot[i].off, (uint64_t)res);
    b->free[b->nfree++] = i;
    b->inflight--;
}

static int reap_one(struct io_uring *ring, struct blk_batch *b, int *res)
{
    struct io_uring_cqe *cqe;
    int r;
    do {
        r = io_uring_wait_cqe(ring, &cqe);
    } while (r == -EINTR);
    if (r < 0)
        return r;
    uint64_t ud = cqe->user_data;
    int v = cqe->res;
    io_uring_cqe_seen(ring, cqe);
    if (ud == 0) {
        *res = v;
        return 1; /* the synchronous operation */
    }
    batch_complete(b, ud, v);
    return 0;
}

int blk_batch_drain(struct blk_batch *b, struct io_uring *ring)
{
    while (b->inflight > 0) {
        int res, r = reap_one(ring, b, &res);
        if (r < 0)
            return r;
    }
    return 0;
}

/* Submits one prepared SQE and waits for its completion; returns cqe->res. Completions of
 * deferred batch reads that arrive meanwhile are accounted to the batch. */
static int ring_run(struct io_uring *ring, struct blk_batch *b, struct io_uring_sqe *sqe)
{
    io_uring_sqe_set_data64(sqe, 0);
    int r = io_uring_submit(ring);
    if (r < 0)
        return r;
    for (;;) {
        int res;
        r = reap_one(ring, b, &res);
        if (r < 0)
            return r;
        if (r == 1)
            return res;
    }
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
        int r = ring_run(f->ring, f->batch, sqe);
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
    if (write && off + total > f->written_end)
        f->written_end = off + total; /* even on failure: part may have landed */
    if (write && f->io_hook && done)
        f->io_hook(f->io_hook_arg, false, off, done);
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

static int defer_rw(struct blk_file *f, bool write, uint64_t off, const struct iovec *iov,
                    int iovcnt)
{
    struct blk_batch *b = f->batch;
    size_t len = blk_iov_size(iov, iovcnt);
    /* Reads inside a write batch (copy-on-write sources into bounce buffers) stay synchronous. */
    if (!b || !b->active || !b->cur || b->writes != write || iovcnt > IOV_MAX || len == 0 ||
        len > INT32_MAX)
        return write ? blk_file_pwritev(f, off, iov, iovcnt) : blk_file_preadv(f, off, iov, iovcnt);
    while (b->nfree == 0) {
        int res, r = reap_one(f->ring, b, &res);
        if (r < 0)
            return r;
    }
    struct io_uring_sqe *sqe = get_sqe(f->ring);
    if (!sqe)
        return write ? blk_file_pwritev(f, off, iov, iovcnt) : blk_file_preadv(f, off, iov, iovcnt);
    unsigned i = b->free[--b->nfree];
    b->slot[i].req = b->cur;
    b->slot[i].expect = len;
    b->slot[i].write_to = write ? f : NULL;
    b->slot[i].off = off;
    if (write) {
        io_uring_prep_writev(sqe, f->fd, iov, (unsigned)iovcnt, off);
        if (off + len > f->size)
            f->size = off + len;
        if (off + len > f->written_end)
            f->written_end = off + len;
    } else {
        io_uring_prep_readv(sqe, f->fd, iov, (unsigned)iovcnt, off);
    }
    /* Large copies from the page cache are CPU work: writes all go to io-wq workers; of several
     * large reads every other one does, so this thread copies the rest inline meanwhile (a lone
     * read is copied inline: a worker would only add a wake-up). */
    bool split = b->several && len >= BLK_SPLIT_READ_MIN && b->large_reads++ % 2 == 0;
    if (write ? len >= 16384 : split)
        io_uring_sqe_set_flags(sqe, IOSQE_ASYNC);
    io_uring_sqe_set_data64(sqe, i + 1);
    b->inflight++;
    /* Submit now: the kernel copies the iovec array (SUBMIT_STABLE), the caller's may go. */
    int r = io_uring_submit(f->ring);
    return r < 0 ? r : 0;
}

int blk_file_preadv_data(struct blk_file *f, uint64_t off, const struct iovec *iov, int iovcnt)
{
    return defer_rw(f, false, off, iov, iovcnt);
}

int blk_file_pwritev_data(struct blk_file *f, uint64_t off, const struct iovec *iov, int iovcnt)
{
    if (f->read_only)
        return -EROFS;
    return defer_rw(f, true, off, iov, iovcnt);
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
    int r = ring_run(f->ring, f->batch, sqe);
    if (r == 0 && f->io_hook)
        f->io_hook(f->io_hook_arg, true, 0, 0);
    return r;
}

int blk_file_truncate(struct blk_file *f, uint64_t size)
{
    if (f->read_only)
        return -EROFS;
    if (ftruncate(f->fd, (off_t)size) < 0)
        return -errno;
    f->size = size;
    if (size > f->written_end)
        f->written_end = size;
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
