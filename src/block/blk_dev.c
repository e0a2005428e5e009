/* An opened disk for consumers: the image chain plus its I/O thread, which owns the io_uring
 * ring, drains the request queue in submission order and runs completions (see block.h). */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "block/blk_driver.h"

#define BLK_RING_ENTRIES 64

struct blk_dev {
    struct io_uring ring;
    struct blk_image *img;
    struct blk_batch batch; /* owned by the I/O thread */
    pthread_t thread;
    pthread_mutex_t lock;                      /* guards the queues and stopping */
    pthread_cond_t cond;                       /* signalled when requests are queued or on stop */
    struct blk_request *head, *tail;           /* submitted, not yet started */
    struct blk_request *done_head, *done_tail; /* finished (completion_fd mode only) */
    int completion_fd;
    bool stopping;
};

static void run_request(struct blk_dev *dev, struct blk_request *req)
{
    struct blk_image *img = dev->img;
    switch (req->op) {
    case BLK_OP_READ:
        req->result = blk_image_preadv(img, req->offset, req->iov, req->iovcnt, req->len);
        break;
    case BLK_OP_WRITE:
        req->result = blk_image_pwritev(img, req->offset, req->iov, req->iovcnt, req->len);
        break;
    case BLK_OP_FLUSH:
        req->result = img->read_only ? 0 : img->ops->flush(img);
        break;
    case BLK_OP_DISCARD:
        req->result = img->ops->discard(img, req->offset, req->len);
        break;
    case BLK_OP_WRITE_ZEROES:
        req->result = img->ops->write_zeroes(img, req->offset, req->len);
        break;
    default:
        req->result = -EINVAL;
    }
}

static void complete(struct blk_dev *dev, struct blk_request *req)
{
    if (dev->completion_fd < 0) {
        req->done(req, req->result);
        return;
    }
    pthread_mutex_lock(&dev->lock);
    req->next = NULL;
    if (dev->done_tail)
        dev->done_tail->next = req;
    else
        dev->done_head = req;
    dev->done_tail = req;
    pthread_mutex_unlock(&dev->lock);
    uint64_t one = 1;
    while (write(dev->completion_fd, &one, sizeof(one)) < 0 && errno == EINTR)
        ;
}

/* Two batched writes conflict when they share a sector, for raw and qcow2 alike. Writes to
 * different bytes of one qcow2 cluster may share a batch: the driver runs them in order, and
 * only a write whose cluster is already allocated in place, or one that just allocated a fresh
 * cluster, is deferred. A copy-on-write (head and tail copied from the old cluster or the
 * backing file) is written synchronously into a new cluster that no deferred write can target,
 * and the later writes to that cluster go in place after it. */
static bool overlaps_batch(struct blk_request *first, struct blk_request *end,
                           struct blk_request *req, uint64_t unit)
{
    uint64_t s = req->offset / unit, e = (req->offset + req->len + unit - 1) / unit;
    for (struct blk_request *o = first; o != end; o = o->next) {
        uint64_t os = o->offset / unit, oe = (o->offset + o->len + unit - 1) / unit;
        if (s < oe && os < e)
            return true;
    }
    return false;
}

/* Runs up to BLK_BATCH_REQS consecutive requests of one kind (reads, or writes to disjoint
 * sectors) with their guest-data transfers in flight together, then completes them in
 * order. Returns the first request after the batch. */
static struct blk_request *run_batch(struct blk_dev *dev, struct blk_request *first)
{
    struct blk_batch *b = &dev->batch;
    struct blk_request *req = first;
    enum blk_op op = first->op;
    uint64_t unit = BLK_SECTOR_SIZE;
    unsigned n = 0;
    b->active = true;
    b->writes = op == BLK_OP_WRITE;
    b->several = first->next && first->next->op == op;
    b->large_reads = 0;
    b->nretry = 0;
    while (req && req->op == op && n < BLK_BATCH_REQS &&
           (op == BLK_OP_READ || !overlaps_batch(first, req, req, unit))) {
        b->cur = req;
        run_request(dev, req);
        req = req->next;
        n++;
    }
    b->cur = NULL;
    int r = blk_batch_drain(b, &dev->ring);
    b->active = false;
    struct blk_request *end = req;
    for (req = first; req != end;) {
        struct blk_request *next = req->next; /* done() may requeue req */
        if (r < 0 || blk_batch_needs_retry(b, req))
            run_request(dev, req); /* short or failed deferred transfer: redo synchronously */
        complete(dev, req);
        req = next;
    }
    return end;
}

static void *io_thread(void *arg)
{
    struct blk_dev *dev = arg;
    pthread_mutex_lock(&dev->lock);
    for (;;) {
        while (!dev->head && !dev->stopping)
            pthread_cond_wait(&dev->cond, &dev->lock);
        if (!dev->head && dev->stopping)
            break;
        struct blk_request *list = dev->head;
        dev->head = dev->tail = NULL;
        pthread_mutex_unlock(&dev->lock);
        while (list) {
            if ((list->op == BLK_OP_READ || list->op == BLK_OP_WRITE) && dev->batch.enabled) {
                list = run_batch(dev, list);
                continue;
            }
            struct blk_request *next = list->next;
            run_request(dev, list);
            complete(dev, list);
            list = next;
        }
        pthread_mutex_lock(&dev->lock);
    }
    pthread_mutex_unlock(&dev->lock);
    return NULL;
}

int blk_open(const char *path, const struct blk_open_opts *opts_in, struct blk_dev **out,
             char *errbuf, size_t errlen)
{
    struct blk_open_opts opts;
    if (opts_in)
        opts = *opts_in;
    else
        blk_open_opts_init(&opts);
    struct blk_dev *dev = calloc(1, sizeof(*dev));
    if (!dev)
        return blk_err(errbuf, errlen, -ENOMEM, "%s: out of memory", path);
    int r = io_uring_queue_init(BLK_RING_ENTRIES, &dev->ring, 0);
    if (r < 0) {
        free(dev);
        return blk_err(errbuf, errlen, r, "%s: io_uring setup failed: %s", path, strerror(-r));
    }
    blk_batch_init(&dev->batch, &dev->ring);
    struct blk_chain chain = {.batch = &dev->batch};
    r = blk_image_open(path, &opts, &dev->ring, &chain, &dev->img, errbuf, errlen);
    if (r < 0)
        goto fail_ring;
    dev->completion_fd = opts.completion_fd;
    pthread_mutex_init(&dev->lock, NULL);
    pthread_cond_init(&dev->cond, NULL);
    r = -pthread_create(&dev->thread, NULL, io_thread, dev);
    if (r < 0) {
        blk_err(errbuf, errlen, r, "%s: cannot start the I/O thread: %s", path, strerror(-r));
        pthread_cond_destroy(&dev->cond);
        pthread_mutex_destroy(&dev->lock);
        blk_image_close(dev->img);
        goto fail_ring;
    }
    *out = dev;
    return 0;
fail_ring:
    io_uring_queue_exit(&dev->ring);
    free(dev);
    return r;
}

int blk_close(struct blk_dev *dev)
{
    if (!dev)
        return 0;
    pthread_mutex_lock(&dev->lock);
    dev->stopping = true;
    pthread_cond_broadcast(&dev->cond);
    pthread_mutex_unlock(&dev->lock);
    pthread_join(dev->thread, NULL);
    /* The ring now belongs to this thread. */
    int r = dev->img->read_only ? 0 : dev->img->ops->flush(dev->img);
    if (dev->completion_fd >= 0)
        blk_poll_completions(dev);
    blk_image_close(dev->img);
    io_uring_queue_exit(&dev->ring);
    pthread_cond_destroy(&dev->cond);
    pthread_mutex_destroy(&dev->lock);
    free(dev);
    return r;
}

uint64_t blk_size(const struct blk_dev *dev)
{
    return dev->img->size;
}

bool blk_read_only(const struct blk_dev *dev)
{
    return dev->img->read_only;
}

enum blk_format blk_format(const struct blk_dev *dev)
{
    return dev->img->format;
}

/* Validates a request against the device (API input: untrusted). */
static int check_request(struct blk_dev *dev, struct blk_request *req)
{
    if (!req->done)
        return -EINVAL;
    switch (req->op) {
    case BLK_OP_READ:
    case BLK_OP_WRITE:
        if (req->iovcnt < 0 || (req->iovcnt > 0 && !req->iov) ||
            blk_iov_size(req->iov, req->iovcnt) != req->len)
            return -EINVAL;
        break;
    case BLK_OP_FLUSH:
        return 0;
    case BLK_OP_DISCARD:
    case BLK_OP_WRITE_ZEROES:
        break;
    default:
        return -EINVAL;
    }
    if (req->op != BLK_OP_READ && dev->img->read_only)
        return -EROFS;
    if (req->offset > dev->img->size || req->len > dev->img->size - req->offset)
        return -EINVAL;
    return 0;
}

int blk_submit(struct blk_dev *dev, struct blk_request *req)
{
    int r = check_request(dev, req);
    if (r < 0)
        return r;
    req->next = NULL;
    req->result = 0;
    pthread_mutex_lock(&dev->lock);
    if (dev->stopping) {
        pthread_mutex_unlock(&dev->lock);
        return -ESHUTDOWN;
    }
    if (dev->tail)
        dev->tail->next = req;
    else
        dev->head = req;
    dev->tail = req;
    pthread_cond_signal(&dev->cond);
    pthread_mutex_unlock(&dev->lock);
    return 0;
}

unsigned blk_poll_completions(struct blk_dev *dev)
{
    if (dev->completion_fd < 0)
        return 0;
    /* Consume the eventfd count without blocking (it may be 0, e.g. from blk_close). */
    struct pollfd pfd = {.fd = dev->completion_fd, .events = POLLIN};
    uint64_t v;
    if (poll(&pfd, 1, 0) > 0 && (pfd.revents & POLLIN))
        while (read(dev->completion_fd, &v, sizeof(v)) < 0 && errno == EINTR)
            ;
    pthread_mutex_lock(&dev->lock);
    struct blk_request *list = dev->done_head;
    dev->done_head = dev->done_tail = NULL;
    pthread_mutex_unlock(&dev->lock);
    unsigned n = 0;
    while (list) {
        struct blk_request *next = list->next;
        list->done(list, list->result);
        n++;
        list = next;
    }
    return n;
}

/* Synchronous wrappers: submit and wait on a condition variable. */
struct sync_wait {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool done;
    int result;
};

static void sync_done(struct blk_request *req, int result)
{
    struct sync_wait *w = req->opaque;
    pthread_mutex_lock(&w->lock);
    w->done = true;
    w->result = result;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->lock);
}

static int sync_request(struct blk_dev *dev, enum blk_op op, uint64_t off, uint64_t len,
                        const struct iovec *iov, int iovcnt)
{
    if (dev->completion_fd >= 0)
        return -EINVAL; /* completions would not run on the waiting thread */
    struct sync_wait w = {.done = false, .result = 0};
    pthread_mutex_init(&w.lock, NULL);
    pthread_cond_init(&w.cond, NULL);
    struct blk_request req = {.op = op,
                              .offset = off,
                              .len = len,
                              .iov = iov,
                              .iovcnt = iovcnt,
                              .done = sync_done,
                              .opaque = &w};
    int r = blk_submit(dev, &req);
    if (r == 0) {
        pthread_mutex_lock(&w.lock);
        while (!w.done)
            pthread_cond_wait(&w.cond, &w.lock);
        pthread_mutex_unlock(&w.lock);
        r = w.result;
    }
    pthread_cond_destroy(&w.cond);
    pthread_mutex_destroy(&w.lock);
    return r;
}

int blk_preadv(struct blk_dev *dev, uint64_t offset, const struct iovec *iov, int iovcnt)
{
    return sync_request(dev, BLK_OP_READ, offset, blk_iov_size(iov, iovcnt), iov, iovcnt);
}

int blk_pwritev(struct blk_dev *dev, uint64_t offset, const struct iovec *iov, int iovcnt)
{
    return sync_request(dev, BLK_OP_WRITE, offset, blk_iov_size(iov, iovcnt), iov, iovcnt);
}

int blk_pread(struct blk_dev *dev, uint64_t offset, void *buf, size_t len)
{
    struct iovec v = {buf, len};
    return blk_preadv(dev, offset, &v, 1);
}

int blk_pwrite(struct blk_dev *dev, uint64_t offset, const void *buf, size_t len)
{
    struct iovec v = {(void *)buf, len};
    return blk_pwritev(dev, offset, &v, 1);
}

int blk_flush(struct blk_dev *dev)
{
    return sync_request(dev, BLK_OP_FLUSH, 0, 0, NULL, 0);
}

int blk_discard(struct blk_dev *dev, uint64_t offset, uint64_t len)
{
    return sync_request(dev, BLK_OP_DISCARD, offset, len, NULL, 0);
}

int blk_write_zeroes(struct blk_dev *dev, uint64_t offset, uint64_t len)
{
    return sync_request(dev, BLK_OP_WRITE_ZEROES, offset, len, NULL, 0);
}
