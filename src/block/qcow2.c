/* The qcow2 format driver (spec: QEMU docs/interop/qcow2.txt): open/validate, the driver ops
 * used by the block layer, flush ordering, image creation and growing. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "block/qcow2.h"

#define HEADER_PROBE_BYTES 65536u

struct qcow2 *qcow2_from_image(struct blk_image *img)
{
    return img && img->ops == &blk_qcow2_ops ? img->state : NULL;
}

int qcow2_write_header_field(struct qcow2 *q, unsigned off, const void *bytes, size_t n)
{
    int r = blk_file_pwrite(q->file, off, bytes, n);
    if (r == 0)
        q->data_dirty = true;
    return r;
}

static int read_header(struct qcow2 *q, char *err, size_t errlen)
{
    uint64_t fsize = q->file->size;
    size_t len = fsize < HEADER_PROBE_BYTES ? (size_t)fsize : HEADER_PROBE_BYTES;
    uint8_t *buf = malloc(len ? len : 1);
    if (!buf)
        return blk_err(err, errlen, -ENOMEM, "qcow2: out of memory");
    int r = blk_file_pread(q->file, 0, buf, len);
    if (r < 0) {
        free(buf);
        return blk_err(err, errlen, r, "qcow2: cannot read the header: %s", strerror(-r));
    }
    r = qcow2_header_parse(buf, len, fsize, &q->h, err, errlen);
    if (r == 0 && (1ull << q->h.cluster_bits) > len && fsize > len) {
        /* Extensions may lie beyond the first 64 KiB in a large cluster: re-read it all. */
        size_t clen = (size_t)(1ull << q->h.cluster_bits);
        if (clen > fsize)
            clen = (size_t)fsize;
        uint8_t *big = realloc(buf, clen);
        if (!big) {
            free(buf);
            return blk_err(err, errlen, -ENOMEM, "qcow2: out of memory");
        }
        buf = big;
        r = blk_file_pread(q->file, 0, buf, clen);
        if (r == 0)
            r = qcow2_header_parse(buf, clen, fsize, &q->h, err, errlen);
    }
    free(buf);
    return r;
}

static int load_l1(struct qcow2 *q, char *err, size_t errlen)
{
    q->l1_size = q->h.l1_size;
    q->l1 = calloc(q->l1_size ? q->l1_size : 1, 8);
    uint8_t *raw = malloc(q->l1_size ? (size_t)q->l1_size * 8 : 1);
    if (!q->l1 || !raw) {
        free(raw);
        return blk_err(err, errlen, -ENOMEM, "qcow2: out of memory for the L1 table");
    }
    int r =
        q->l1_size ? blk_file_pread(q->file, q->h.l1_table_offset, raw, (size_t)q->l1_size * 8) : 0;
    for (uint32_t i = 0; r == 0 && i < q->l1_size; i++) {
        q->l1[i] = qcow2_be64(raw + 8 * i);
        uint64_t off;
        if (qcow2_l2_offset(q, q->l1[i], &off) < 0)
            r = blk_err(err, errlen, -EINVAL,
                        "qcow2: L1 entry %u is invalid (0x%llx): "
                        "unaligned, reserved bits or past the end of the file",
                        i, (unsigned long long)q->l1[i]);
    }
    free(raw);
    if (r < 0 && err && !err[0])
        blk_err(err, errlen, r, "qcow2: cannot read the L1 table");
    return r;
}

/* Resolves a backing file name relative to the directory of the image. */
static char *backing_path(const char *image, const char *name)
{
    if (name[0] == '/')
        return strdup(name);
    char *copy = strdup(image);
    if (!copy)
        return NULL;
    const char *dir = dirname(copy);
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", dir, name);
    free(copy);
    return p;
}

static int open_backing(struct qcow2 *q, char *err, size_t errlen)
{
    struct blk_open_opts o;
    blk_open_opts_init(&o);
    o.read_only = true;
    if (q->h.backing_format[0]) {
        if (strcmp(q->h.backing_format, "raw") == 0)
            o.format = BLK_FORMAT_RAW;
        else if (strcmp(q->h.backing_format, "qcow2") == 0)
            o.format = BLK_FORMAT_QCOW2;
        else
            return blk_err(err, errlen, -ENOTSUP, "%s: unsupported backing format '%s'",
                           q->img->path, q->h.backing_format);
    }
    char *path = backing_path(q->img->path, q->h.backing_file);
    if (!path)
        return blk_err(err, errlen, -ENOMEM, "qcow2: out of memory");
    char sub[BLK_ERRBUF_SIZE] = "";
    int r = blk_image_open(path, &o, q->img->ring, q->img->chain, &q->backing, sub, sizeof(sub));
    if (r == -ELOOP || r == -EMLINK)
        blk_err(err, errlen, r, "%s", sub); /* already names the chain problem */
    else if (r < 0)
        blk_err(err, errlen, r, "%s: backing file: %s", q->img->path, sub);
    free(path);
    return r;
}

static void qcow2_free(struct qcow2 *q)
{
    if (!q)
        return;
    if (q->backing)
        blk_image_close(q->backing);
    qcow2_snapshots_free(q);
    qcow2_cache_destroy(&q->l2_cache);
    qcow2_cache_destroy(&q->rb_cache);
    free(q->l1);
    free(q->reftable);
    free(q->pending);
    free(q->cbuf);
    free(q->dbuf);
    free(q->zbuf);
    free(q);
}

static unsigned clamp_u(uint64_t v, unsigned lo, unsigned hi)
{
    return v < lo ? lo : v > hi ? hi : (unsigned)v;
}

static int qcow2_open(struct blk_image *img, const struct blk_open_opts *opts, char *err,
                      size_t errlen)
{
    struct qcow2 *q = calloc(1, sizeof(*q));
    if (!q)
        return blk_err(err, errlen, -ENOMEM, "qcow2: out of memory");
    q->img = img;
    q->file = &img->file;
    if (err && errlen)
        err[0] = 0;
    int r = read_header(q, err, errlen);
    if (r < 0)
        goto fail;
    q->cluster_bits = q->h.cluster_bits;
    q->cluster_size = 1ull << q->cluster_bits;
    q->extended_l2 = q->h.incompatible_features & QCOW2_INCOMPAT_EXTL2;
    q->l2_entry_size = q->extended_l2 ? 16 : 8;
    q->l2_entries = q->cluster_size / q->l2_entry_size;
    if (!img->read_only) {
        /* XXX: a dirty image (lazy refcounts) is not repaired here; it opens read-only. */
        if (q->h.incompatible_features & (QCOW2_INCOMPAT_DIRTY | QCOW2_INCOMPAT_CORRUPT)) {
            r = blk_err(err, errlen, -EROFS,
                        "%s: image is marked %s; open it read-only or "
                        "repair it with qemu-img check -r all",
                        img->path,
                        (q->h.incompatible_features & QCOW2_INCOMPAT_CORRUPT) ? "corrupt"
                                                                              : "dirty");
            goto fail;
        }
        if (q->extended_l2) {
            r = blk_err(err, errlen, -EROFS,
                        "%s: images with extended L2 entries "
                        "(subclusters) can only be opened read-only",
                        img->path);
            goto fail;
        }
    }
    r = load_l1(q, err, errlen);
    if (r < 0)
        goto fail;
    r = qcow2_refcount_load(q, err, errlen);
    if (r < 0)
        goto fail;
    unsigned l2n = clamp_u((4u << 20) / q->cluster_size, 8, 64);
    unsigned rbn = clamp_u((1u << 20) / q->cluster_size, 4, 16);
    r = qcow2_cache_init(&q->l2_cache, l2n, q->cluster_size, true);
    if (r == 0)
        r = qcow2_cache_init(&q->rb_cache, rbn, q->cluster_size, false);
    q->cbuf = malloc(2 * q->cluster_size);
    q->dbuf = malloc(q->cluster_size);
    q->zbuf = calloc(1, q->cluster_size);
    if (r < 0 || !q->cbuf || !q->dbuf || !q->zbuf) {
        r = blk_err(err, errlen, -ENOMEM, "qcow2: out of memory for caches");
        goto fail;
    }
    r = qcow2_snapshots_load(q, err, errlen);
    if (r < 0)
        goto fail;
    img->state = q;
    img->size = q->h.size;
    if (q->h.backing_file[0] && !opts->no_backing) {
        r = open_backing(q, err, errlen);
        if (r < 0)
            goto fail;
    }
    return 0;
fail:
    img->state = NULL;
    qcow2_free(q);
    return r;
}

static void qcow2_close(struct blk_image *img)
{
    qcow2_free(img->state);
    img->state = NULL;
}

int qcow2_flush(struct qcow2 *q)
{
    if (q->img->read_only)
        return 0;
    /* 1. refcounts and data durable; 2. L2 tables; 3. the L1 table; then frees. */
    int r = qcow2_refcount_barrier(q);
    if (r == 0)
        r = qcow2_cache_flush(q, &q->l2_cache);
    if (r == 0 && q->l1_dirty) {
        if (q->data_dirty) {
            r = blk_file_sync(q->file);
            q->data_dirty = r < 0;
        }
        if (r == 0)
            r = qcow2_write_l1(q);
    }
    if (r == 0 && q->data_dirty) {
        r = blk_file_sync(q->file);
        q->data_dirty = r < 0;
    }
    if (r == 0 && q->npending) {
        r = qcow2_apply_pending_frees(q);
        if (r == 0)
            r = qcow2_refcount_barrier(q);
    }
    return r;
}

static int op_preadv(struct blk_image *img, uint64_t off, const struct iovec *iov, int iovcnt,
                     size_t len)
{
    return qcow2_read(img->state, off, iov, iovcnt, len);
}

static int op_pwritev(struct blk_image *img, uint64_t off, const struct iovec *iov, int iovcnt,
                      size_t len)
{
    return qcow2_write(img->state, off, iov, iovcnt, len);
}

static int op_flush(struct blk_image *img)
{
    return qcow2_flush(img->state);
}

static int op_discard(struct blk_image *img, uint64_t off, uint64_t len)
{
    return qcow2_discard_range(img->state, off, len, false);
}

static int write_zero_bytes(struct qcow2 *q, uint64_t off, uint64_t len)
{
    while (len) {
        size_t n = len > q->cluster_size ? (size_t)q->cluster_size : (size_t)len;
        struct iovec v = {q->zbuf, n};
        int r = qcow2_write(q, off, &v, 1, n);
        if (r < 0)
            return r;
        off += n;
        len -= n;
    }
    return 0;
}

static int op_write_zeroes(struct blk_image *img, uint64_t off, uint64_t len)
{
    struct qcow2 *q = img->state;
    uint64_t cs = q->cluster_size;
    uint64_t end = off + len;
    if (off % cs) {
        uint64_t n = cs - off % cs;
        if (n > len)
            n = len;
        int r = write_zero_bytes(q, off, n);
        if (r < 0 || n == len)
            return r;
        off += n;
    }
    uint64_t mid_end = end == img->size ? end : end / cs * cs;
    if (mid_end > off) {
        int r;
        if (q->h.version >= 3 || !q->backing)
            r = qcow2_discard_range(q, off, mid_end - off, true);
        else
            r = write_zero_bytes(q, off, mid_end - off);
        if (r < 0)
            return r;
        off = mid_end;
    }
    return end > off ? write_zero_bytes(q, off, end - off) : 0;
}

static int op_block_status(struct blk_image *img, uint64_t off, uint64_t len, enum blk_status *st,
                           uint64_t *pnum)
{
    struct qcow2_map m;
    int r = qcow2_map(img->state, off, len, &m);
    if (r < 0)
        return r;
    *st = m.type == QCOW2_MAP_UNALLOC ? BLK_STATUS_UNALLOCATED
          : m.type == QCOW2_MAP_ZERO  ? BLK_STATUS_ZERO
                                      : BLK_STATUS_DATA;
    *pnum = m.len;
    return 0;
}

const struct blk_driver_ops blk_qcow2_ops = {
    .name = "qcow2",
    .open = qcow2_open,
    .close = qcow2_close,
    .preadv = op_preadv,
    .pwritev = op_pwritev,
    .flush = op_flush,
    .discard = op_discard,
    .write_zeroes = op_write_zeroes,
    .block_status = op_block_status,
};

int qcow2_resize(struct qcow2 *q, uint64_t new_size)
{
    if (new_size < q->h.size)
        return -ENOTSUP; /* XXX: shrinking is not supported */
    if (new_size > QCOW2_MAX_SIZE)
        return -EFBIG;
    uint64_t cov = q->cluster_size * q->l2_entries;
    uint64_t need = new_size / cov + (new_size % cov != 0);
    int r = qcow2_grow_l1(q, need);
    if (r < 0)
        return r;
    r = qcow2_flush(q);
    if (r < 0)
        return r;
    uint8_t be[8];
    qcow2_put_be64(be, new_size);
    r = qcow2_write_header_field(q, QCOW2_OFF_SIZE, be, 8);
    if (r == 0)
        r = blk_file_sync(q->file);
    if (r == 0) {
        q->data_dirty = false;
        q->h.size = new_size;
        q->img->size = new_size;
    }
    return r;
}

/* Builds cluster 0 (header, extensions, backing name) of a new image. */
static size_t build_header(uint8_t *b, uint64_t cs, const struct qcow2_create_opts *o)
{
    qcow2_put_be32(b, QCOW2_MAGIC);
    qcow2_put_be32(b + 4, o->version);
    qcow2_put_be32(b + 20, o->cluster_bits);
    qcow2_put_be64(b + 48, cs); /* refcount table in cluster 1 */
    qcow2_put_be32(b + 56, 1);
    size_t pos = QCOW2_V2_HEADER_LEN;
    if (o->version == 3) {
        qcow2_put_be32(b + 96, (uint32_t)__builtin_ctz(o->refcount_bits));
        qcow2_put_be32(b + 100, 112);
        pos = 112; /* byte 104: compression type 0 (zlib), then padding */
    }
    if (o->backing_file) {
        size_t fl = strlen(o->backing_format);
        qcow2_put_be32(b + pos, QCOW2_EXT_BACKING_FORMAT);
        qcow2_put_be32(b + pos + 4, (uint32_t)fl);
        memcpy(b + pos + 8, o->backing_format, fl);
        pos += 8 + ((fl + 7) & ~(size_t)7);
    }
    pos += 8; /* end-of-extensions marker: zero type and length */
    if (o->backing_file) {
        size_t bl = strlen(o->backing_file);
        qcow2_put_be64(b + 8, pos);
        qcow2_put_be32(b + 16, (uint32_t)bl);
        memcpy(b + pos, o->backing_file, bl);
        pos += bl;
    }
    return pos;
}

int qcow2_create(const char *path, const struct qcow2_create_opts *in, char *err, size_t errlen)
{
    struct qcow2_create_opts o = *in;
    if (!o.cluster_bits)
        o.cluster_bits = 16;
    if (!o.version)
        o.version = 3;
    if (!o.refcount_bits)
        o.refcount_bits = 16;
    if (o.refcount_bits > 64 || (o.refcount_bits & (o.refcount_bits - 1)))
        return blk_err(err, errlen, -EINVAL, "refcount width must be a power of two <= 64");
    unsigned order = (unsigned)__builtin_ctz(o.refcount_bits);
    if (o.cluster_bits < QCOW2_MIN_CLUSTER_BITS || o.cluster_bits > QCOW2_MAX_CLUSTER_BITS)
        return blk_err(err, errlen, -EINVAL,
                       "cluster size must be a power of two between 512 "
                       "and 2M");
    if (o.version != 2 && o.version != 3)
        return blk_err(err, errlen, -EINVAL, "qcow2 version must be 2 or 3");
    if (o.version == 2 && order != 4)
        return blk_err(err, errlen, -EINVAL, "refcount width must be 1..64 bits (16 for v2)");
    if (o.size > QCOW2_MAX_SIZE)
        return blk_err(err, errlen, -EFBIG, "size too large");
    if (o.backing_file && (strlen(o.backing_file) > QCOW2_MAX_BACKING_NAME || !o.backing_format ||
                           strlen(o.backing_format) > 16))
        return blk_err(err, errlen, -EINVAL, "backing file name too long or format missing");
    uint64_t cs = 1ull << o.cluster_bits;
    if (o.backing_file && strlen(o.backing_file) + 160 > cs)
        return blk_err(err, errlen, -EINVAL, "backing file name does not fit in one cluster");
    uint8_t *buf = calloc(3, cs);
    if (!buf)
        return blk_err(err, errlen, -ENOMEM, "out of memory");
    build_header(buf, cs, &o);
    qcow2_put_be64(buf + cs, 2 * cs); /* refcount table entry 0 -> block in cluster 2 */
    /* Clusters 0..2 (header, refcount table, refcount block) have refcount 1. */
    for (unsigned c = 0; c < 3; c++) {
        uint8_t *rb = buf + 2 * cs;
        unsigned bits = 1u << order;
        uint64_t bit = (uint64_t)c * bits;
        if (bits < 8)
            rb[bit / 8] |= (uint8_t)(1u << (bit % 8));
        else
            rb[bit / 8 + bits / 8 - 1] = 1; /* big-endian value 1 */
    }
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        int e = errno;
        free(buf);
        return blk_err(err, errlen, -e, "%s: %s", path, strerror(e));
    }
    ssize_t w = pwrite(fd, buf, 3 * cs, 0);
    int e = w == (ssize_t)(3 * cs) ? 0 : (w < 0 ? errno : EIO);
    if (!e && fdatasync(fd) < 0)
        e = errno;
    close(fd);
    free(buf);
    if (e)
        return blk_err(err, errlen, -e, "%s: write: %s", path, strerror(e));
    /* Grow the empty image to its size through the ordinary allocator. */
    struct io_uring ring;
    int r = io_uring_queue_init(8, &ring, 0);
    if (r < 0)
        return blk_err(err, errlen, r, "io_uring setup failed: %s", strerror(-r));
    struct blk_open_opts oo;
    blk_open_opts_init(&oo);
    oo.format = BLK_FORMAT_QCOW2;
    oo.no_backing = true;
    struct blk_image *img;
    r = blk_image_open(path, &oo, &ring, NULL, &img, err, errlen);
    if (r == 0) {
        r = qcow2_resize(img->state, o.size);
        if (r == 0)
            r = qcow2_flush(img->state);
        if (r < 0)
            blk_err(err, errlen, r, "%s: cannot size the new image: %s", path, strerror(-r));
        blk_image_close(img);
    }
    io_uring_queue_exit(&ring);
    return r;
}
