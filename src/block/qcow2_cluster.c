/* qcow2 guest-to-host mapping (spec "Cluster mapping"): L1/L2 lookup with extended L2
 * entries (subclusters), the read path (backing, zero, data, compressed clusters), the write
 * path with cluster allocation and copy-on-write, discard, and L1 growth. L1/L2 entries come
 * from an untrusted image and are validated before use. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"
#include "block/qcow2.h"

#define IOV_STACK 64

int qcow2_l2_offset(struct qcow2 *q, uint64_t l1e, uint64_t *off)
{
    uint64_t o = l1e & QCOW2_OFFSET_MASK;
    if ((l1e & QCOW2_L1_RESERVED) || (o & (q->cluster_size - 1)) || (o && o >= q->file->size)) {
        log_error("qcow2 %s: corrupt L1 entry 0x%llx", q->img->path, (unsigned long long)l1e);
        return -EIO;
    }
    *off = o;
    return 0;
}

static uint64_t l1_coverage(const struct qcow2 *q)
{
    return q->cluster_size * q->l2_entries;
}

static uint64_t l2_get(const struct qcow2 *q, const uint8_t *t, uint64_t i)
{
    return qcow2_be64(t + i * q->l2_entry_size);
}

static uint64_t l2_bitmap(const struct qcow2 *q, const uint8_t *t, uint64_t i)
{
    return q->extended_l2 ? qcow2_be64(t + i * q->l2_entry_size + 8) : 0;
}

static void l2_set(const struct qcow2 *q, uint8_t *t, uint64_t i, uint64_t v)
{
    qcow2_put_be64(t + i * q->l2_entry_size, v);
    if (q->extended_l2)
        qcow2_put_be64(t + i * q->l2_entry_size + 8, 0);
}

/* Loads the L2 table covering guest offset off for reading; *t = NULL if none. */
static int l2_for_read(struct qcow2 *q, uint64_t off, uint8_t **t)
{
    uint64_t l1i = off / l1_coverage(q);
    *t = NULL;
    if (l1i >= q->l1_size)
        return 0;
    uint64_t l2off;
    int r = qcow2_l2_offset(q, q->l1[l1i], &l2off);
    if (r < 0 || l2off == 0)
        return r;
    return qcow2_cache_get(q, &q->l2_cache, l2off, false, t);
}

/* Type and host offset of unit u (cluster, or subcluster with extended L2) of entry e. */
static int classify(struct qcow2 *q, uint64_t e, uint64_t bitmap, unsigned sc,
                    enum qcow2_map_type *type, uint64_t *host)
{
    *host = 0;
    if (e & QCOW2_OFLAG_COMPRESSED) {
        if (bitmap)
            goto corrupt;
        *type = QCOW2_MAP_COMPRESSED;
        return 0;
    }
    if (e & QCOW2_L2_RESERVED)
        goto corrupt;
    uint64_t h = e & QCOW2_OFFSET_MASK;
    if (h & (q->cluster_size - 1))
        goto corrupt;
    if (h && h >= q->file->size) {
        log_error("qcow2 %s: L2 entry points past the end of the file (0x%llx)", q->img->path,
                  (unsigned long long)h);
        return -EIO;
    }
    if (q->extended_l2) {
        uint32_t alloc = (uint32_t)bitmap, zero = (uint32_t)(bitmap >> 32);
        if (alloc & zero)
            goto corrupt;
        if (alloc & (1u << sc)) {
            if (!h)
                goto corrupt;
            *type = QCOW2_MAP_DATA;
            *host = h + (uint64_t)sc * (q->cluster_size / 32);
        } else {
            *type = (zero & (1u << sc)) ? QCOW2_MAP_ZERO : QCOW2_MAP_UNALLOC;
        }
        return 0;
    }
    if (e & QCOW2_OFLAG_ZERO) {
        if (q->h.version < 3)
            goto corrupt;
        *type = QCOW2_MAP_ZERO;
        return 0;
    }
    *type = h ? QCOW2_MAP_DATA : QCOW2_MAP_UNALLOC;
    *host = h;
    return 0;
corrupt:
    log_error("qcow2 %s: corrupt L2 entry 0x%llx", q->img->path, (unsigned long long)e);
    return -EIO;
}

int qcow2_map(struct qcow2 *q, uint64_t off, uint64_t maxlen, struct qcow2_map *m)
{
    uint64_t cs = q->cluster_size;
    uint64_t unit = q->extended_l2 ? cs / 32 : cs;
    uint64_t table_end = (off / l1_coverage(q) + 1) * l1_coverage(q);
    if (maxlen > table_end - off)
        maxlen = table_end - off;
    uint8_t *t;
    int r = l2_for_read(q, off, &t);
    if (r < 0)
        return r;
    memset(m, 0, sizeof(*m));
    if (!t) {
        m->type = QCOW2_MAP_UNALLOC;
        m->len = maxlen;
        return 0;
    }
    uint64_t pos = off;
    bool first = true;
    uint64_t expect_host = 0;
    while (pos < off + maxlen) {
        uint64_t ci = (pos / cs) % q->l2_entries;
        unsigned sc = (unsigned)((pos % cs) / unit);
        uint64_t e = l2_get(q, t, ci);
        enum qcow2_map_type type;
        uint64_t host;
        r = classify(q, e, l2_bitmap(q, t, ci), sc, &type, &host);
        if (r < 0)
            return r;
        uint64_t unit_end = (pos / unit + 1) * unit;
        if (first) {
            m->type = type;
            m->entry = e;
            m->host = host + (off % unit);
            expect_host = host;
            first = false;
            if (type == QCOW2_MAP_COMPRESSED) {
                pos = (pos / cs + 1) * cs; /* one compressed cluster at a time */
                break;
            }
        } else if (type != m->type || type == QCOW2_MAP_COMPRESSED ||
                   (type == QCOW2_MAP_DATA && host != expect_host)) {
            break;
        }
        expect_host = host + unit;
        pos = unit_end;
    }
    m->len = pos - off < maxlen ? pos - off : maxlen;
    return 0;
}

void qcow2_compressed_extent(const struct qcow2 *q, uint64_t entry, uint64_t *off, uint64_t *len)
{
    unsigned x = 62 - (q->cluster_bits - 8);
    uint64_t o = entry & ((1ull << x) - 1);
    uint64_t nsect = ((entry >> x) & ((1ull << (q->cluster_bits - 8)) - 1)) + 1;
    *off = o;
    *len = nsect * 512 - (o & 511);
}

/* Decompresses the cluster of L2 entry e into q->dbuf (cached by entry). */
static int load_compressed(struct qcow2 *q, uint64_t e)
{
    if (q->dbuf_entry == e && e)
        return 0;
    uint64_t off, len;
    qcow2_compressed_extent(q, e, &off, &len);
    /* Untrusted: the compressed extent must start inside the file; it is clamped to the file
     * and to two clusters. */
    if (off >= q->file->size) {
        log_error("qcow2 %s: compressed cluster past the end of the file", q->img->path);
        return -EIO;
    }
    if (len > q->file->size - off)
        len = q->file->size - off;
    if (len > 2 * q->cluster_size)
        len = 2 * q->cluster_size;
    int r = blk_file_pread_zfill(q->file, off, q->cbuf, len);
    if (r < 0)
        return r;
    r = qcow2_decompress((enum qcow2_compression)q->h.compression_type, q->cbuf, len, q->dbuf,
                         q->cluster_size);
    if (r < 0) {
        log_error("qcow2 %s: cannot decompress cluster at 0x%llx", q->img->path,
                  (unsigned long long)off);
        q->dbuf_entry = 0;
        return r;
    }
    q->dbuf_entry = e;
    return 0;
}

/* Reads [off, off+len) of the backing image (zeroes past its end, or with no backing). */
static int read_backing(struct qcow2 *q, uint64_t off, const struct iovec *iov, int iovcnt,
                        size_t skip, size_t len)
{
    uint64_t avail = 0;
    if (q->backing && off < q->backing->size)
        avail = q->backing->size - off;
    if (avail > len)
        avail = len;
    if (avail) {
        struct iovec stack[IOV_STACK];
        struct iovec *v = iovcnt + 1 <= IOV_STACK ? stack : malloc(sizeof(*v) * (iovcnt + 1));
        if (!v)
            return -ENOMEM;
        int n = blk_iov_slice(iov, iovcnt, skip, avail, v, iovcnt + 1);
        int r = n < 0 ? -EINVAL : blk_image_preadv(q->backing, off, v, n, avail);
        if (v != stack)
            free(v);
        if (r < 0)
            return r;
    }
    if (len > avail)
        blk_iov_memset(iov, iovcnt, skip + avail, 0, len - avail);
    return 0;
}

int qcow2_read(struct qcow2 *q, uint64_t off, const struct iovec *iov, int iovcnt, size_t len)
{
    struct iovec stack[IOV_STACK];
    struct iovec *v = iovcnt + 1 <= IOV_STACK ? stack : malloc(sizeof(*v) * (iovcnt + 1));
    if (!v)
        return -ENOMEM;
    size_t done = 0;
    int r = 0;
    while (done < len && r == 0) {
        struct qcow2_map m;
        r = qcow2_map(q, off + done, len - done, &m);
        if (r < 0)
            break;
        size_t n = (size_t)m.len;
        switch (m.type) {
        case QCOW2_MAP_UNALLOC:
            r = read_backing(q, off + done, iov, iovcnt, done, n);
            break;
        case QCOW2_MAP_ZERO:
            blk_iov_memset(iov, iovcnt, done, 0, n);
            break;
        case QCOW2_MAP_DATA: {
            int cnt = blk_iov_slice(iov, iovcnt, done, n, v, iovcnt + 1);
            r = cnt < 0 ? -EINVAL : blk_file_preadv_data(q->file, m.host, v, cnt);
            break;
        }
        case QCOW2_MAP_COMPRESSED:
            r = load_compressed(q, m.entry);
            if (r == 0)
                blk_iov_from_buf(iov, iovcnt, done, q->dbuf + (off + done) % q->cluster_size, n);
            break;
        }
        done += n;
    }
    if (v != stack)
        free(v);
    return r;
}

/* Reads bytes [pos, pos+len) of the guest cluster starting at gstart as mapped by entry e
 * (the state before a copy-on-write) into buf. */
static int read_old(struct qcow2 *q, uint64_t e, uint64_t gstart, uint64_t pos, size_t len,
                    uint8_t *buf)
{
    if (len == 0)
        return 0;
    enum qcow2_map_type type;
    uint64_t host;
    int r = classify(q, e, 0, 0, &type, &host);
    if (r < 0)
        return r;
    struct iovec v = {buf, len};
    switch (type) {
    case QCOW2_MAP_DATA:
        return blk_file_pread_zfill(q->file, host + pos, buf, len);
    case QCOW2_MAP_COMPRESSED:
        r = load_compressed(q, e);
        if (r == 0)
            memcpy(buf, q->dbuf + pos, len);
        return r;
    case QCOW2_MAP_ZERO:
        memset(buf, 0, len);
        return 0;
    default:
        return read_backing(q, gstart + pos, &v, 1, 0, len);
    }
}

/* Whether bytes [pos, pos+len) of the guest cluster at gstart, as mapped by entry e, are
 * known to read as zeroes without looking at data. */
static bool old_is_zero(struct qcow2 *q, uint64_t e, uint64_t gstart, uint64_t pos, size_t len)
{
    if (len == 0)
        return true;
    enum qcow2_map_type type;
    uint64_t host;
    if (classify(q, e, 0, 0, &type, &host) < 0)
        return false;
    if (type == QCOW2_MAP_ZERO)
        return true;
    if (type != QCOW2_MAP_UNALLOC)
        return false;
    return !q->backing || gstart + pos >= q->backing->size;
}

/* Frees (deferred) whatever host clusters entry e holds. */
static int release_entry(struct qcow2 *q, uint64_t e)
{
    if (e & QCOW2_OFLAG_COMPRESSED) {
        uint64_t off, len;
        qcow2_compressed_extent(q, e, &off, &len);
        uint64_t first = off / q->cluster_size;
        uint64_t last = (off + len - 1) / q->cluster_size;
        return qcow2_free_deferred(q, first * q->cluster_size, last - first + 1);
    }
    uint64_t h = e & QCOW2_OFFSET_MASK;
    return h ? qcow2_free_deferred(q, h, 1) : 0;
}

/* Returns a writable (refcount 1) L2 table for L1 index l1i, allocating or copying it. If
 * alloc is false and there is no table, *t = NULL. */
static int l2_for_write(struct qcow2 *q, uint64_t l1i, bool alloc, uint8_t **t)
{
    uint64_t old;
    *t = NULL;
    int r = qcow2_l2_offset(q, q->l1[l1i], &old);
    if (r < 0)
        return r;
    if (old && (q->l1[l1i] & QCOW2_OFLAG_COPIED))
        return qcow2_cache_get(q, &q->l2_cache, old, false, t);
    if (!old && !alloc)
        return 0;
    uint8_t *copy = NULL;
    if (old) {
        uint8_t *src;
        copy = malloc(q->cluster_size);
        if (!copy)
            return -ENOMEM;
        r = qcow2_cache_get(q, &q->l2_cache, old, false, &src);
        if (r < 0) {
            free(copy);
            return r;
        }
        memcpy(copy, src, q->cluster_size);
    }
    uint64_t n;
    r = qcow2_alloc_clusters(q, 1, &n);
    if (r == 0)
        r = qcow2_cache_get(q, &q->l2_cache, n, true, t);
    if (r < 0) {
        free(copy);
        return r;
    }
    if (copy)
        memcpy(*t, copy, q->cluster_size);
    free(copy);
    qcow2_cache_mark_dirty(&q->l2_cache, *t);
    q->l1[l1i] = n | QCOW2_OFLAG_COPIED;
    q->l1_dirty = true;
    return old ? qcow2_free_deferred(q, old, 1) : 0;
}

static bool in_place(const struct qcow2 *q, uint64_t e)
{
    return (e & QCOW2_OFLAG_COPIED) && !(e & QCOW2_OFLAG_COMPRESSED) && !(e & QCOW2_OFLAG_ZERO) &&
           (e & QCOW2_OFFSET_MASK);
}

/* Points entries [ci, ci+k) of the L2 table at l2off to the new clusters at host and
 * releases what they held. */
static int set_entries(struct qcow2 *q, uint64_t l2off, uint64_t ci, uint64_t k, uint64_t host)
{
    uint8_t *t;
    int r = qcow2_cache_get(q, &q->l2_cache, l2off, false, &t);
    if (r < 0)
        return r;
    for (uint64_t i = 0; i < k; i++) {
        uint64_t old = l2_get(q, t, ci + i);
        l2_set(q, t, ci + i, (host + i * q->cluster_size) | QCOW2_OFLAG_COPIED);
        r = release_entry(q, old);
        if (r < 0)
            break;
    }
    qcow2_cache_mark_dirty(&q->l2_cache, t);
    return r;
}

/* Writes the run of clusters [ci, ci+k) of table t that need new host clusters. */
static int write_allocating(struct qcow2 *q, uint64_t l1i, uint64_t ci, uint64_t k, uint64_t off,
                            const struct iovec *iov, int iovcnt, size_t skip, size_t bytes,
                            struct iovec *v)
{
    uint64_t cs = q->cluster_size;
    uint64_t incl = off % cs;
    uint64_t tail = k * cs - incl - bytes;
    uint64_t l2off = q->l1[l1i] & QCOW2_OFFSET_MASK;
    uint8_t *t;
    int r = qcow2_cache_get(q, &q->l2_cache, l2off, false, &t);
    if (r < 0)
        return r;
    uint64_t e_first = l2_get(q, t, ci), e_last = l2_get(q, t, ci + k - 1);
    uint64_t gstart = off - incl;
    if (old_is_zero(q, e_first, gstart, 0, incl) &&
        old_is_zero(q, e_last, gstart + (k - 1) * cs, cs - tail, tail)) {
        /* Zero copy-on-write sources: if the new clusters lie in never-written space they
         * already read as zeroes, so only the guest data is written. */
        uint64_t host;
        r = qcow2_alloc_clusters(q, k, &host);
        if (r < 0)
            return r;
        if (host >= q->file->written_end) {
            int cnt = blk_iov_slice(iov, iovcnt, skip, bytes, v, iovcnt + 1);
            r = cnt < 0 ? -EINVAL : blk_file_pwritev_data(q->file, host + incl, v, cnt);
            q->data_dirty = true;
            if (r < 0)
                return r;
            return set_entries(q, l2off, ci, k, host);
        }
        r = qcow2_free_deferred(q, host, k); /* reused space: fall back to explicit COW */
        if (r < 0)
            return r;
    }
    uint8_t *head = NULL, *tailbuf = NULL;
    if (incl && !(head = malloc(incl)))
        return -ENOMEM;
    if (tail && !(tailbuf = malloc(tail))) {
        free(head);
        return -ENOMEM;
    }
    r = read_old(q, e_first, gstart, 0, incl, head);
    if (r == 0)
        r = read_old(q, e_last, gstart + (k - 1) * cs, cs - tail, tail, tailbuf);
    uint64_t host = 0;
    if (r == 0)
        r = qcow2_alloc_clusters(q, k, &host);
    if (r == 0) {
        int n = 0;
        if (incl)
            v[n++] = (struct iovec){head, incl};
        int cnt = blk_iov_slice(iov, iovcnt, skip, bytes, v + n, iovcnt + 1);
        if (cnt < 0) {
            r = -EINVAL;
        } else {
            n += cnt;
            if (tail)
                v[n++] = (struct iovec){tailbuf, tail};
            /* Only the guest's own buffers may be written asynchronously (batch). */
            r = incl || tail ? blk_file_pwritev(q->file, host, v, n)
                             : blk_file_pwritev_data(q->file, host, v, n);
            q->data_dirty = true;
        }
    }
    free(head);
    free(tailbuf);
    if (r < 0)
        return r; /* the allocated clusters leak; the mapping is unchanged */
    return set_entries(q, l2off, ci, k, host);
}

int qcow2_write(struct qcow2 *q, uint64_t off, const struct iovec *iov, int iovcnt, size_t len)
{
    if (q->extended_l2)
        return -EROFS; /* XXX: extended L2 entries are supported for reading only */
    uint64_t cs = q->cluster_size;
    struct iovec stack[IOV_STACK];
    struct iovec *v = iovcnt + 3 <= IOV_STACK ? stack : malloc(sizeof(*v) * (iovcnt + 3));
    if (!v)
        return -ENOMEM;
    size_t done = 0;
    int r = 0;
    while (done < len) {
        uint64_t pos = off + done;
        uint64_t l1i = pos / l1_coverage(q);
        uint8_t *t;
        if (l1i >= q->l1_size) {
            r = -EINVAL;
            break;
        }
        r = l2_for_write(q, l1i, true, &t);
        if (r < 0)
            break;
        uint64_t ci = (pos / cs) % q->l2_entries;
        uint64_t incl = pos % cs;
        uint64_t span = (incl + (len - done) + cs - 1) / cs;
        if (span > q->l2_entries - ci)
            span = q->l2_entries - ci;
        uint64_t e = l2_get(q, t, ci);
        bool inplace = in_place(q, e);
        uint64_t k = 1;
        while (k < span) {
            uint64_t ek = l2_get(q, t, ci + k);
            if (in_place(q, ek) != inplace)
                break;
            if (inplace && (ek & QCOW2_OFFSET_MASK) != (e & QCOW2_OFFSET_MASK) + k * cs)
                break;
            k++;
        }
        size_t bytes = k * cs - incl;
        if (bytes > len - done)
            bytes = len - done;
        if (inplace) {
            uint64_t host = (e & QCOW2_OFFSET_MASK) + incl;
            if (host >= q->file->size + cs) {
                r = -EIO;
                break;
            }
            int cnt = blk_iov_slice(iov, iovcnt, done, bytes, v, iovcnt + 1);
            r = cnt < 0 ? -EINVAL : blk_file_pwritev_data(q->file, host, v, cnt);
            q->data_dirty = true;
        } else {
            r = write_allocating(q, l1i, ci, k, pos, iov, iovcnt, done, bytes, v);
        }
        if (r < 0)
            break;
        done += bytes;
    }
    if (v != stack)
        free(v);
    return r;
}

int qcow2_discard_range(struct qcow2 *q, uint64_t off, uint64_t len, bool make_zero)
{
    if (q->extended_l2)
        return -EROFS;
    uint64_t cs = q->cluster_size;
    uint64_t start = (off + cs - 1) / cs * cs;
    uint64_t end = (off + len) / cs * cs;
    if (off + len == q->img->size)
        end = (off + len + cs - 1) / cs * cs; /* the partial last cluster counts as whole */
    uint64_t newval = make_zero && q->h.version >= 3 ? QCOW2_OFLAG_ZERO : 0;
    for (uint64_t pos = start; pos < end;) {
        uint64_t l1i = pos / l1_coverage(q);
        uint64_t table_end = (l1i + 1) * l1_coverage(q);
        bool need_table = newval != 0 && q->backing;
        uint8_t *t;
        int r = l2_for_write(q, l1i, need_table, &t);
        if (r < 0)
            return r;
        uint64_t stop = end < table_end ? end : table_end;
        if (t) {
            for (uint64_t p = pos; p < stop; p += cs) {
                uint64_t ci = (p / cs) % q->l2_entries;
                uint64_t old = l2_get(q, t, ci);
                if (old == newval)
                    continue;
                l2_set(q, t, ci, newval);
                r = release_entry(q, old);
                if (r < 0)
                    return r;
            }
            qcow2_cache_mark_dirty(&q->l2_cache, t);
        }
        pos = stop;
    }
    return 0;
}

int qcow2_write_l1(struct qcow2 *q)
{
    size_t bytes = (size_t)q->l1_size * 8;
    if (bytes == 0)
        return 0;
    uint8_t *raw = malloc(bytes);
    if (!raw)
        return -ENOMEM;
    for (uint32_t i = 0; i < q->l1_size; i++)
        qcow2_put_be64(raw + 8 * i, q->l1[i]);
    int r = blk_file_pwrite(q->file, q->h.l1_table_offset, raw, bytes);
    free(raw);
    if (r == 0) {
        q->l1_dirty = false;
        q->data_dirty = true;
    }
    return r;
}

int qcow2_grow_l1(struct qcow2 *q, uint64_t min_entries)
{
    if (min_entries <= q->l1_size)
        return 0;
    if (min_entries * 8 > QCOW2_MAX_L1_BYTES)
        return -EFBIG;
    int r = qcow2_flush(q);
    if (r < 0)
        return r;
    uint64_t cs = q->cluster_size;
    uint64_t nclusters = (min_entries * 8 + cs - 1) / cs;
    uint64_t entries = nclusters * cs / 8;
    if (entries * 8 > QCOW2_MAX_L1_BYTES)
        entries = QCOW2_MAX_L1_BYTES / 8;
    uint64_t *l1 = calloc(entries, 8);
    if (!l1)
        return -ENOMEM;
    if (q->l1_size)
        memcpy(l1, q->l1, (size_t)q->l1_size * 8);
    uint64_t off;
    r = qcow2_alloc_clusters(q, nclusters, &off);
    if (r < 0) {
        free(l1);
        return r;
    }
    uint64_t old_off = q->h.l1_table_offset, old_size = q->l1_size;
    free(q->l1);
    q->l1 = l1;
    q->l1_size = (uint32_t)min_entries;
    q->h.l1_table_offset = off;
    /* New table (and the refcounts of its clusters) durable before the header points to it. */
    r = qcow2_refcount_barrier(q);
    if (r == 0)
        r = qcow2_write_l1(q);
    if (r == 0)
        r = blk_file_sync(q->file);
    if (r < 0)
        return r;
    uint8_t hdr[12];
    qcow2_put_be32(hdr, q->l1_size);
    qcow2_put_be64(hdr + 4, off);
    r = qcow2_write_header_field(q, QCOW2_OFF_L1_SIZE, hdr, sizeof(hdr));
    if (r == 0)
        r = blk_file_sync(q->file);
    if (r == 0 && old_size)
        r = qcow2_update_refcount(q, old_off, (old_size * 8 + cs - 1) / cs, -1);
    q->h.l1_size = q->l1_size;
    return r;
}
