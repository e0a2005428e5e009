/* Block-layer internals shared by the format drivers: an opened image (one format driver
 * instance, possibly with a backing image below it), the driver ops table, io_uring file I/O
 * helpers and iovec helpers. Not for consumers outside src/block (they use block.h). */
#ifndef EMBER_BLOCK_BLK_DRIVER_H
#define EMBER_BLOCK_BLK_DRIVER_H

#include <liburing.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "block/block.h"

/* Maximum backing-chain depth (the top image counts as 1); deeper chains are rejected. */
#define BLK_MAX_CHAIN_DEPTH 64

#define BLK_BATCH_SLOTS    256
#define BLK_SPLIT_READ_MIN 32768 /* a read this large is worth a second core */
#define BLK_BATCH_REQS     32

/* Read batching: while a batch is active, guest-data reads (blk_file_preadv_data) are only
 * submitted to the ring, so the data copies of up to BLK_BATCH_REQS read requests run in
 * parallel (io-wq); blk_batch_drain() waits for them. A short or failed deferred read marks
 * its request for a synchronous retry. Owned by the I/O thread. */
struct blk_batch {
    bool enabled; /* the kernel copies submitted iovecs (IORING_FEAT_SUBMIT_STABLE) */
    bool active;
    bool writes;             /* a write batch defers only writes, a read batch only reads */
    struct blk_request *cur; /* request whose transfers are being deferred */
    unsigned inflight;
    bool several;         /* the batch has more than one request */
    unsigned large_reads; /* reads of BLK_SPLIT_READ_MIN bytes or more deferred in this batch */
    struct {
        struct blk_request *req;
        size_t expect;
        struct blk_file *write_to; /* deferred write: its file (for io_hook), else NULL */
        uint64_t off;
    } slot[BLK_BATCH_SLOTS];
    unsigned free[BLK_BATCH_SLOTS];
    unsigned nfree;
    struct blk_request *retry[BLK_BATCH_REQS];
    unsigned nretry;
};

void blk_batch_init(struct blk_batch *b, const struct io_uring *ring);
int blk_batch_drain(struct blk_batch *b, struct io_uring *ring);
bool blk_batch_needs_retry(const struct blk_batch *b, const struct blk_request *req);

/* A host file accessed through the ring of the thread currently driving the image. The ring
 * is used by exactly one thread at a time (the opener, then the I/O thread, then the closer). */
struct blk_file {
    int fd;
    struct io_uring *ring;
    struct blk_batch *batch; /* NULL: always synchronous */
    uint64_t size;           /* current host file size as this process knows it */
    uint64_t written_end;    /* nothing was ever written at or past this offset: reads 0 */
    bool read_only;
    /* Test hook, NULL in normal use: called after every completed write (its range, sync
     * false; a deferred write when its completion is reaped) and every fdatasync (sync true),
     * so a test can model a crash between any two host operations. */
    void (*io_hook)(void *arg, bool sync, uint64_t off, uint64_t len);
    void *io_hook_arg;
};

/* Guest-data transfers: deferred while a batch is active, else like blk_file_preadv/pwritev.
 * The buffers must stay valid until the batch is drained (the guest's request buffers do;
 * temporary bounce buffers must use the plain calls). */
int blk_file_preadv_data(struct blk_file *f, uint64_t off, const struct iovec *iov, int iovcnt);
int blk_file_pwritev_data(struct blk_file *f, uint64_t off, const struct iovec *iov, int iovcnt);

int blk_file_preadv(struct blk_file *f, uint64_t off, const struct iovec *iov, int iovcnt);
int blk_file_pwritev(struct blk_file *f, uint64_t off, const struct iovec *iov, int iovcnt);
/* Whole-buffer read/write; a read past EOF is -EIO (short) unless zero_fill_eof. */
int blk_file_pread(struct blk_file *f, uint64_t off, void *buf, size_t len);
int blk_file_pread_zfill(struct blk_file *f, uint64_t off, void *buf, size_t len);
int blk_file_pwrite(struct blk_file *f, uint64_t off, const void *buf, size_t len);
int blk_file_sync(struct blk_file *f); /* fdatasync */
int blk_file_truncate(struct blk_file *f, uint64_t size);
/* Deallocates host space (punch hole, keeps size); best effort: -EOPNOTSUPP is returned as 0. */
int blk_file_punch(struct blk_file *f, uint64_t off, uint64_t len);

/* Status of a guest range in one image layer (for commit, convert and map). */
enum blk_status { BLK_STATUS_UNALLOCATED, BLK_STATUS_DATA, BLK_STATUS_ZERO };

struct blk_image;

struct blk_driver_ops {
    const char *name;
    /* img->file, img->ring and img->read_only are set; the driver fills img->size and
     * img->state. depth is this image's depth in the chain (1 = top). */
    int (*open)(struct blk_image *img, const struct blk_open_opts *opts, char *err, size_t errlen);
    void (*close)(struct blk_image *img); /* frees state; does not flush */
    int (*preadv)(struct blk_image *img, uint64_t off, const struct iovec *iov, int iovcnt,
                  size_t len);
    int (*pwritev)(struct blk_image *img, uint64_t off, const struct iovec *iov, int iovcnt,
                   size_t len);
    int (*flush)(struct blk_image *img);
    int (*discard)(struct blk_image *img, uint64_t off, uint64_t len);
    int (*write_zeroes)(struct blk_image *img, uint64_t off, uint64_t len);
    /* Status of [off, off+len) in this layer only; *pnum = bytes (>0) sharing the status. */
    int (*block_status)(struct blk_image *img, uint64_t off, uint64_t len, enum blk_status *st,
                        uint64_t *pnum);
};

/* Identity of the files in a chain, for loop detection. */
struct blk_chain {
    struct blk_batch *batch; /* given to every file of the chain */
    unsigned depth;
    dev_t devs[BLK_MAX_CHAIN_DEPTH];
    ino_t inos[BLK_MAX_CHAIN_DEPTH];
};

struct blk_image {
    const struct blk_driver_ops *ops;
    enum blk_format format;
    void *state;
    struct blk_file file;
    struct io_uring *ring;
    char *path;
    uint64_t size; /* virtual size */
    bool read_only;
    struct blk_chain *chain; /* valid during open only */
};

extern const struct blk_driver_ops blk_raw_ops;
extern const struct blk_driver_ops blk_qcow2_ops;

/* Opens path as format (PROBE: detect) on ring. chain (may be NULL for a top image) tracks the
 * files already open above; used by qcow2 to open its backing file. */
int blk_image_open(const char *path, const struct blk_open_opts *opts, struct io_uring *ring,
                   struct blk_chain *chain, struct blk_image **out, char *err, size_t errlen);
void blk_image_close(struct blk_image *img);
/* Probes the first bytes of fd: BLK_FORMAT_QCOW2 if the qcow2 magic is there, else RAW. */
enum blk_format blk_probe_fd(int fd);

int blk_image_preadv(struct blk_image *img, uint64_t off, const struct iovec *iov, int iovcnt,
                     size_t len);
int blk_image_pwritev(struct blk_image *img, uint64_t off, const struct iovec *iov, int iovcnt,
                      size_t len);
int blk_image_pread(struct blk_image *img, uint64_t off, void *buf, size_t len);
int blk_image_pwrite(struct blk_image *img, uint64_t off, const void *buf, size_t len);

/* iovec helpers. */
size_t blk_iov_size(const struct iovec *iov, int iovcnt);
/* Describes bytes [skip, skip+len) of iov in out (at most outmax entries); returns the count,
 * or -1 if outmax is too small or the range exceeds iov. */
int blk_iov_slice(const struct iovec *iov, int iovcnt, size_t skip, size_t len, struct iovec *out,
                  int outmax);
void blk_iov_memset(const struct iovec *iov, int iovcnt, size_t skip, int c, size_t len);
void blk_iov_from_buf(const struct iovec *iov, int iovcnt, size_t skip, const void *buf,
                      size_t len);
void blk_iov_to_buf(const struct iovec *iov, int iovcnt, size_t skip, void *buf, size_t len);

/* printf into err (may be NULL); returns -e for convenience: return blk_err(err, n, -EINVAL, ...)
 */
int blk_err(char *err, size_t errlen, int e, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
