/* The block layer: an opened disk image (raw or qcow2) behind one driver ops table, with
 * asynchronous requests for virtio-blk and synchronous wrappers for `ember img` and tests.
 *
 * Threading: every blk_dev owns one I/O thread that owns the device's io_uring ring and runs
 * the format driver. blk_submit() may be called from any thread (vCPU, event loop); it only
 * queues the request and wakes the I/O thread. The request's `done` callback is called ON THE
 * I/O THREAD when the request has finished; a consumer that wants completions on its own
 * thread can instead pass `completion_fd` (an eventfd) in blk_open_opts and poll
 * blk_poll_completions() from that thread (see below). Requests of one device complete in
 * the order they were submitted, except that the driver may complete a FLUSH only after every
 * write submitted before it is durable (flush is a barrier). */
#ifndef EMBER_BLOCK_BLOCK_H
#define EMBER_BLOCK_BLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define BLK_SECTOR_SIZE 512u
#define BLK_ERRBUF_SIZE 256u

enum blk_op {
    BLK_OP_READ,         /* iov/iovcnt receive len bytes from offset */
    BLK_OP_WRITE,        /* iov/iovcnt supply len bytes for offset */
    BLK_OP_FLUSH,        /* all completed writes become durable (fdatasync + metadata) */
    BLK_OP_DISCARD,      /* offset/len may be deallocated; later reads return zeroes or old data */
    BLK_OP_WRITE_ZEROES, /* offset/len read back as zeroes afterwards */
};

enum blk_format { BLK_FORMAT_PROBE = 0, BLK_FORMAT_RAW, BLK_FORMAT_QCOW2 };

struct blk_request;
typedef void (*blk_done_fn)(struct blk_request *req, int result);

/* One I/O request. The caller owns the memory and must keep it (and the iovec and buffers)
 * alive until completion. offset and len are in bytes; for READ/WRITE, len must equal the
 * iovec total. Offsets are validated by the block layer (-EINVAL past the end of the disk). */
struct blk_request {
    enum blk_op op;
    uint64_t offset;
    uint64_t len;
    const struct iovec *iov;
    int iovcnt;
    blk_done_fn done; /* result: 0, or -errno (-EIO, -ENOSPC, -EROFS, -EINVAL) */
    void *opaque;     /* for the caller */
    /* Private to the block layer. */
    int result;
    struct blk_request *next;
};

struct blk_open_opts {
    enum blk_format format; /* BLK_FORMAT_PROBE: qcow2 if the header has the qcow2 magic, else
                               raw. An explicit BLK_FORMAT_RAW never probes (a raw image the
                               guest can write must never be interpreted as qcow2). */
    bool read_only;
    bool no_backing; /* qcow2: do not open the backing file (img info/check/commit internals) */
    /* If >= 0, completions are not called on the I/O thread: they are queued and this eventfd
     * is signalled; the consumer calls blk_poll_completions() on its own thread, which runs
     * the `done` callbacks there. */
    int completion_fd;
};

/* Defaults: probe, read-write, backing opened, callbacks on the I/O thread. */
void blk_open_opts_init(struct blk_open_opts *opts);

struct blk_dev; /* opaque */

/* Opens path. On failure returns -errno and writes a message naming the problem to errbuf
 * (BLK_ERRBUF_SIZE bytes recommended; may be NULL). */
int blk_open(const char *path, const struct blk_open_opts *opts, struct blk_dev **out, char *errbuf,
             size_t errlen);
/* Waits for outstanding requests, flushes, stops the I/O thread, closes files. Returns the
 * result of the final flush (0 or -errno). */
int blk_close(struct blk_dev *dev);

uint64_t blk_size(const struct blk_dev *dev); /* virtual disk size in bytes */
bool blk_read_only(const struct blk_dev *dev);
enum blk_format blk_format(const struct blk_dev *dev);
const char *blk_format_name(enum blk_format format); /* "raw", "qcow2" */

/* Queues req; completion via req->done (see threading above). Returns 0 if queued, or -errno
 * if rejected immediately (then done is NOT called): -EINVAL for a malformed request,
 * -EROFS for a write on a read-only device, -ESHUTDOWN after blk_close began. */
int blk_submit(struct blk_dev *dev, struct blk_request *req);

/* With opts.completion_fd: reads the eventfd and runs queued completion callbacks on the
 * calling thread. Returns how many ran. */
unsigned blk_poll_completions(struct blk_dev *dev);

/* Synchronous wrappers (any thread except the device's I/O thread). Return 0 or -errno. */
int blk_pread(struct blk_dev *dev, uint64_t offset, void *buf, size_t len);
int blk_pwrite(struct blk_dev *dev, uint64_t offset, const void *buf, size_t len);
int blk_preadv(struct blk_dev *dev, uint64_t offset, const struct iovec *iov, int iovcnt);
int blk_pwritev(struct blk_dev *dev, uint64_t offset, const struct iovec *iov, int iovcnt);
int blk_flush(struct blk_dev *dev);
int blk_discard(struct blk_dev *dev, uint64_t offset, uint64_t len);
int blk_write_zeroes(struct blk_dev *dev, uint64_t offset, uint64_t len);

#endif
