/* qcow2 internal snapshots (spec "Snapshots"): the snapshot table (load, write), create,
 * apply, delete, and the refcount walk over an L1 table that all three rely on. Snapshot
 * table contents are untrusted and bounded before use. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "block/qcow2.h"

#define SN_FIXED     40u
#define SN_MAX_EXTRA 1024u

void qcow2_snapshots_free(struct qcow2 *q)
{
    for (uint32_t i = 0; i < q->nb_snaps; i++) {
        free(q->snaps[i].id);
        free(q->snaps[i].name);
        free(q->snaps[i].extra);
    }
    free(q->snaps);
    q->snaps = NULL;
    q->nb_snaps = 0;
}

static char *read_string(struct qcow2 *q, uint64_t off, uint32_t len, int *r)
{
    char *s = malloc(len + 1);
    if (!s) {
        *r = -ENOMEM;
        return NULL;
    }
    *r = len ? blk_file_pread(q->file, off, s, len) : 0;
    s[len] = 0;
    return s;
}

int qcow2_snapshots_load(struct qcow2 *q, char *err, size_t errlen)
{
    uint32_t n = q->h.nb_snapshots;
    if (n == 0)
        return 0;
    q->snaps = calloc(n, sizeof(*q->snaps));
    if (!q->snaps)
        return blk_err(err, errlen, -ENOMEM, "qcow2: out of memory for snapshots");
    uint64_t off = q->h.snapshots_offset;
    uint64_t end = q->h.snapshots_offset + QCOW2_MAX_SNAPSHOT_TABLE;
    for (uint32_t i = 0; i < n; i++) {
        uint8_t b[SN_FIXED];
        if (off + SN_FIXED > q->file->size || off + SN_FIXED > end)
            return blk_err(err, errlen, -EINVAL,
                           "qcow2: snapshot table runs past the end of "
                           "the file");
        int r = blk_file_pread(q->file, off, b, SN_FIXED);
        if (r < 0)
            return blk_err(err, errlen, r, "qcow2: cannot read the snapshot table");
        struct qcow2_snapshot *s = &q->snaps[i];
        q->nb_snaps = i + 1;
        s->l1_offset = qcow2_be64(b);
        s->l1_size = qcow2_be32(b + 8);
        uint16_t id_len = qcow2_be16(b + 12), name_len = qcow2_be16(b + 14);
        s->date_sec = qcow2_be32(b + 16);
        s->date_nsec = qcow2_be32(b + 20);
        s->vm_clock_nsec = qcow2_be64(b + 24);
        s->vm_state_size = qcow2_be32(b + 32);
        uint32_t extra = qcow2_be32(b + 36);
        if (extra > SN_MAX_EXTRA)
            return blk_err(err, errlen, -EINVAL, "qcow2: snapshot %u extra data too large", i);
        uint64_t need = SN_FIXED + (uint64_t)extra + id_len + name_len;
        if (off + need > q->file->size || off + need > end)
            return blk_err(err, errlen, -EINVAL,
                           "qcow2: snapshot %u runs past the end of the "
                           "file",
                           i);
        if ((s->l1_offset & (q->cluster_size - 1)) ||
            (uint64_t)s->l1_size * 8 > QCOW2_MAX_L1_BYTES ||
            s->l1_offset + (uint64_t)s->l1_size * 8 > q->file->size ||
            (s->l1_size && s->l1_offset < q->cluster_size))
            return blk_err(err, errlen, -EINVAL, "qcow2: snapshot %u has an invalid L1 table", i);
        s->extra_size = extra;
        s->extra = malloc(extra ? extra : 1);
        if (!s->extra)
            return blk_err(err, errlen, -ENOMEM, "qcow2: out of memory");
        r = extra ? blk_file_pread(q->file, off + SN_FIXED, s->extra, extra) : 0;
        s->disk_size = q->h.size;
        if (extra >= 8)
            s->vm_state_size = qcow2_be64(s->extra);
        if (extra >= 16)
            s->disk_size = qcow2_be64(s->extra + 8);
        if (r == 0)
            s->id = read_string(q, off + SN_FIXED + extra, id_len, &r);
        if (r == 0)
            s->name = read_string(q, off + SN_FIXED + extra + id_len, name_len, &r);
        if (r < 0)
            return blk_err(err, errlen, r, "qcow2: cannot read snapshot %u", i);
        off += (need + 7) & ~7ull;
    }
    q->snap_table_bytes = off - q->h.snapshots_offset;
    return 0;
}

static size_t entry_size(const struct qcow2 *q, const struct qcow2_snapshot *s)
{
    uint32_t extra = s->extra_size < 16 && q->h.version >= 3 ? 16 : s->extra_size;
    return (SN_FIXED + extra + strlen(s->id) + strlen(s->name) + 7) & ~(size_t)7;
}

static void put_entry(const struct qcow2 *q, const struct qcow2_snapshot *s, uint8_t *b)
{
    uint32_t extra = s->extra_size < 16 && q->h.version >= 3 ? 16 : s->extra_size;
    size_t il = strlen(s->id), nl = strlen(s->name);
    qcow2_put_be64(b, s->l1_offset);
    qcow2_put_be32(b + 8, s->l1_size);
    qcow2_put_be16(b + 12, (uint16_t)il);
    qcow2_put_be16(b + 14, (uint16_t)nl);
    qcow2_put_be32(b + 16, s->date_sec);
    qcow2_put_be32(b + 20, s->date_nsec);
    qcow2_put_be64(b + 24, s->vm_clock_nsec);
    qcow2_put_be32(b + 32, s->vm_state_size > UINT32_MAX ? 0 : (uint32_t)s->vm_state_size);
    qcow2_put_be32(b + 36, extra);
    memcpy(b + SN_FIXED, s->extra, s->extra_size < extra ? s->extra_size : extra);
    if (extra >= 16) {
        qcow2_put_be64(b + SN_FIXED, s->vm_state_size);
        qcow2_put_be64(b + SN_FIXED + 8, s->disk_size);
    }
    memcpy(b + SN_FIXED + extra, s->id, il);
    memcpy(b + SN_FIXED + extra + il, s->name, nl);
}

/* Writes the snapshot list to new clusters, switches the header to it, frees the old table. */
static int write_table(struct qcow2 *q)
{
    size_t total = 0;
    for (uint32_t i = 0; i < q->nb_snaps; i++)
        total += entry_size(q, &q->snaps[i]);
    if (total > QCOW2_MAX_SNAPSHOT_TABLE)
        return -EFBIG;
    uint64_t cs = q->cluster_size;
    uint64_t nclusters = (total + cs - 1) / cs;
    uint64_t off = 0;
    int r = 0;
    if (nclusters) {
        uint8_t *buf = calloc(1, nclusters * cs);
        if (!buf)
            return -ENOMEM;
        size_t pos = 0;
        for (uint32_t i = 0; i < q->nb_snaps; i++) {
            put_entry(q, &q->snaps[i], buf + pos);
            pos += entry_size(q, &q->snaps[i]);
        }
        r = qcow2_alloc_clusters(q, nclusters, &off);
        if (r == 0)
            r = blk_file_pwrite(q->file, off, buf, nclusters * cs);
        free(buf);
        if (r == 0)
            r = qcow2_refcount_barrier(q);
        if (r == 0)
            r = blk_file_sync(q->file);
        if (r < 0)
            return r;
    }
    /* Old table size, to free it afterwards. */
    uint64_t old_off = q->h.snapshots_offset;
    uint64_t old_clusters = q->h.nb_snapshots ? (q->snap_table_bytes + cs - 1) / cs : 0;
    uint8_t hdr[12];
    qcow2_put_be32(hdr, q->nb_snaps);
    qcow2_put_be64(hdr + 4, off);
    r = qcow2_write_header_field(q, QCOW2_OFF_NB_SNAPSHOTS, hdr, sizeof(hdr));
    if (r == 0)
        r = blk_file_sync(q->file);
    if (r < 0)
        return r;
    q->data_dirty = false;
    q->h.nb_snapshots = q->nb_snaps;
    q->h.snapshots_offset = off;
    q->snap_table_bytes = total;
    if (old_clusters)
        r = qcow2_update_refcount(q, old_off, old_clusters, -1);
    return r;
}

/* walk mode: add addend; or (check_only) verify that +1 would not overflow. */
static int walk(struct qcow2 *q, uint64_t *l1, uint32_t l1_size, int addend, bool fix_copied,
                bool check_only)
{
    uint64_t cs = q->cluster_size;
    for (uint32_t i = 0; i < l1_size; i++) {
        uint64_t l2off;
        int r = qcow2_l2_offset(q, l1[i], &l2off);
        if (r < 0)
            return r;
        if (!l2off)
            continue;
        uint8_t *t;
        r = qcow2_cache_get(q, &q->l2_cache, l2off, false, &t);
        if (r < 0)
            return r;
        bool changed = false;
        for (uint64_t j = 0; j < q->l2_entries; j++) {
            uint8_t *p = t + j * q->l2_entry_size;
            uint64_t e = qcow2_be64(p);
            uint64_t first, n;
            if (e & QCOW2_OFLAG_COMPRESSED) {
                uint64_t off, len;
                qcow2_compressed_extent(q, e, &off, &len);
                first = off / cs;
                n = (off + len - 1) / cs - first + 1;
            } else {
                first = (e & QCOW2_OFFSET_MASK) / cs;
                n = first ? 1 : 0;
            }
            for (uint64_t c = first; c < first + n; c++) {
                uint64_t rc;
                if (check_only) {
                    r = qcow2_get_refcount(q, c, &rc);
                    if (r == 0 && rc >= q->refcount_max)
                        r = -ERANGE;
                } else if (addend) {
                    r = qcow2_update_refcount(q, c * cs, 1, addend);
                }
                if (r < 0)
                    return r;
            }
            if (fix_copied && n && !(e & QCOW2_OFLAG_COMPRESSED)) {
                uint64_t rc;
                r = qcow2_get_refcount(q, first, &rc);
                if (r < 0)
                    return r;
                uint64_t ne = rc == 1 ? e | QCOW2_OFLAG_COPIED : e & ~QCOW2_OFLAG_COPIED;
                if (ne != e) {
                    qcow2_put_be64(p, ne);
                    changed = true;
                }
            }
        }
        if (changed)
            qcow2_cache_mark_dirty(&q->l2_cache, t);
        uint64_t rc = 0;
        if (check_only) {
            r = qcow2_get_refcount(q, l2off / cs, &rc);
            if (r == 0 && rc >= q->refcount_max)
                r = -ERANGE;
        } else if (addend) {
            r = qcow2_update_refcount(q, l2off, 1, addend);
        }
        if (r < 0)
            return r;
        if (fix_copied) {
            r = qcow2_get_refcount(q, l2off / cs, &rc);
            if (r < 0)
                return r;
            uint64_t ne = rc == 1 ? l1[i] | QCOW2_OFLAG_COPIED : l1[i] & ~QCOW2_OFLAG_COPIED;
            if (ne != l1[i]) {
                l1[i] = ne;
                q->l1_dirty = true;
            }
        }
    }
    return 0;
}

int qcow2_walk_refcounts(struct qcow2 *q, uint64_t *l1, uint32_t l1_size, int addend,
                         bool fix_copied)
{
    return walk(q, l1, l1_size, addend, fix_copied, false);
}

static int find(struct qcow2 *q, const char *name)
{
    for (uint32_t i = 0; i < q->nb_snaps; i++)
        if (strcmp(q->snaps[i].id, name) == 0)
            return (int)i;
    for (uint32_t i = 0; i < q->nb_snaps; i++)
        if (strcmp(q->snaps[i].name, name) == 0)
            return (int)i;
    return -1;
}

static int read_l1(struct qcow2 *q, uint64_t off, uint32_t size, uint64_t **out)
{
    uint64_t *l1 = calloc(size ? size : 1, 8);
    if (!l1)
        return -ENOMEM;
    int r = size ? blk_file_pread(q->file, off, l1, (size_t)size * 8) : 0;
    for (uint32_t i = 0; r == 0 && i < size; i++) {
        l1[i] = qcow2_be64((uint8_t *)&l1[i]);
        uint64_t l2off;
        r = qcow2_l2_offset(q, l1[i], &l2off);
    }
    if (r < 0) {
        free(l1);
        return r;
    }
    *out = l1;
    return 0;
}

/* Writes l1 (size entries) to freshly allocated clusters; returns their offset. */
static int write_l1_copy(struct qcow2 *q, const uint64_t *l1, uint32_t size, bool clear_copied,
                         uint64_t *off)
{
    *off = 0;
    if (size == 0)
        return 0;
    uint64_t cs = q->cluster_size;
    uint64_t n = ((uint64_t)size * 8 + cs - 1) / cs;
    uint8_t *raw = calloc(n, cs);
    if (!raw)
        return -ENOMEM;
    for (uint32_t i = 0; i < size; i++)
        qcow2_put_be64(raw + 8 * i, clear_copied ? l1[i] & ~QCOW2_OFLAG_COPIED : l1[i]);
    int r = qcow2_alloc_clusters(q, n, off);
    if (r == 0)
        r = blk_file_pwrite(q->file, *off, raw, n * cs);
    if (r == 0)
        q->data_dirty = true;
    free(raw);
    return r;
}

static uint64_t l1_clusters(const struct qcow2 *q, uint32_t size)
{
    return ((uint64_t)size * 8 + q->cluster_size - 1) / q->cluster_size;
}

int qcow2_snapshot_create(struct qcow2 *q, const char *name, char *err, size_t errlen)
{
    if (q->img->read_only)
        return blk_err(err, errlen, -EROFS, "image is read-only");
    if (!name[0] || strlen(name) > 1024 || find(q, name) >= 0)
        return blk_err(err, errlen, -EEXIST,
                       "a snapshot named '%s' already exists or the "
                       "name is invalid",
                       name);
    if (q->nb_snaps >= QCOW2_MAX_SNAPSHOTS)
        return blk_err(err, errlen, -EFBIG, "too many snapshots");
    int r = qcow2_flush(q);
    if (r < 0)
        return blk_err(err, errlen, r, "flush failed: %s", strerror(-r));
    r = walk(q, q->l1, q->l1_size, 0, false, true);
    if (r == -ERANGE)
        return blk_err(err, errlen, r,
                       "refcount overflow: the image's %u-bit refcounts cannot "
                       "count another snapshot",
                       1u << q->h.refcount_order);
    if (r < 0)
        return blk_err(err, errlen, r, "cannot read the image's tables: %s", strerror(-r));
    unsigned next_id = 1;
    for (uint32_t i = 0; i < q->nb_snaps; i++) {
        unsigned v = (unsigned)strtoul(q->snaps[i].id, NULL, 10);
        if (v >= next_id)
            next_id = v + 1;
    }
    struct qcow2_snapshot s = {0};
    char idbuf[16];
    snprintf(idbuf, sizeof(idbuf), "%u", next_id);
    s.id = strdup(idbuf);
    s.name = strdup(name);
    s.extra = calloc(1, 16);
    s.extra_size = 16;
    struct qcow2_snapshot *arr = realloc(q->snaps, (q->nb_snaps + 1) * sizeof(*arr));
    if (!s.id || !s.name || !s.extra || !arr) {
        free(s.id);
        free(s.name);
        free(s.extra);
        if (arr)
            q->snaps = arr;
        return blk_err(err, errlen, -ENOMEM, "out of memory");
    }
    q->snaps = arr;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    s.date_sec = (uint32_t)ts.tv_sec;
    s.date_nsec = (uint32_t)ts.tv_nsec;
    s.disk_size = q->h.size;
    s.l1_size = q->l1_size;
    r = write_l1_copy(q, q->l1, q->l1_size, true, &s.l1_offset);
    /* Increments reach the disk (barrier) before the cleared COPIED flags (L2/L1 flush).
     * XXX: a crash between the two leaves COPIED flags that qemu-img check reports (repairable
     * with -r all); snapshot operations are not fully crash-atomic. */
    if (r == 0)
        r = walk(q, q->l1, q->l1_size, 1, false, false);
    if (r == 0)
        r = qcow2_refcount_barrier(q);
    if (r == 0)
        r = walk(q, q->l1, q->l1_size, 0, true, false);
    if (r == 0)
        r = qcow2_flush(q);
    if (r < 0) {
        free(s.id);
        free(s.name);
        free(s.extra);
        return blk_err(err, errlen, r, "cannot create the snapshot: %s", strerror(-r));
    }
    q->snaps[q->nb_snaps++] = s;
    r = write_table(q);
    if (r < 0)
        return blk_err(err, errlen, r, "cannot write the snapshot table: %s", strerror(-r));
    return qcow2_flush(q);
}

int qcow2_snapshot_apply(struct qcow2 *q, const char *name, char *err, size_t errlen)
{
    if (q->img->read_only)
        return blk_err(err, errlen, -EROFS, "image is read-only");
    int i = find(q, name);
    if (i < 0)
        return blk_err(err, errlen, -ENOENT, "no snapshot '%s'", name);
    struct qcow2_snapshot *s = &q->snaps[i];
    if (s->disk_size != q->h.size)
        return blk_err(err, errlen, -ENOTSUP, "snapshot '%s' has a different disk size", name);
    int r = qcow2_flush(q);
    uint64_t *sl1 = NULL;
    if (r == 0)
        r = read_l1(q, s->l1_offset, s->l1_size, &sl1);
    if (r == 0)
        r = walk(q, sl1, s->l1_size, 0, false, true);
    if (r == 0)
        r = walk(q, sl1, s->l1_size, 1, false, false);
    if (r == 0)
        r = qcow2_refcount_barrier(q);
    if (r < 0) {
        free(sl1);
        return blk_err(err, errlen, r, "cannot apply snapshot '%s': %s", name, strerror(-r));
    }
    /* The active L1 takes the snapshot's entries (resized to the active table's size). */
    uint32_t size = q->l1_size > s->l1_size ? q->l1_size : s->l1_size;
    uint64_t *nl1 = calloc(size ? size : 1, 8);
    uint64_t *old = q->l1;
    uint32_t old_size = q->l1_size;
    if (!nl1) {
        free(sl1);
        return blk_err(err, errlen, -ENOMEM, "out of memory");
    }
    memcpy(nl1, sl1, (size_t)s->l1_size * 8);
    free(sl1);
    if (size != q->l1_size) {
        uint64_t off;
        r = write_l1_copy(q, nl1, size, false, &off);
        uint8_t hdr[12];
        qcow2_put_be32(hdr, size);
        qcow2_put_be64(hdr + 4, off);
        if (r == 0)
            r = qcow2_refcount_barrier(q);
        if (r == 0)
            r = qcow2_write_header_field(q, QCOW2_OFF_L1_SIZE, hdr, sizeof(hdr));
        if (r == 0)
            r = qcow2_update_refcount(q, q->h.l1_table_offset, l1_clusters(q, q->l1_size), -1);
        q->h.l1_table_offset = off;
        q->h.l1_size = size;
    }
    q->l1 = nl1;
    q->l1_size = size;
    q->l1_dirty = true;
    q->dbuf_entry = 0;
    if (r == 0)
        r = qcow2_flush(q);
    if (r == 0)
        r = walk(q, old, old_size, -1, false, false);
    free(old);
    if (r == 0)
        r = walk(q, q->l1, q->l1_size, 0, true, false);
    if (r == 0)
        r = qcow2_flush(q);
    if (r < 0)
        return blk_err(err, errlen, r, "cannot apply snapshot '%s': %s", name, strerror(-r));
    return 0;
}

int qcow2_snapshot_delete(struct qcow2 *q, const char *name, char *err, size_t errlen)
{
    if (q->img->read_only)
        return blk_err(err, errlen, -EROFS, "image is read-only");
    int i = find(q, name);
    if (i < 0)
        return blk_err(err, errlen, -ENOENT, "no snapshot '%s'", name);
    struct qcow2_snapshot s = q->snaps[i];
    uint64_t *sl1 = NULL;
    int r = qcow2_flush(q);
    if (r == 0)
        r = read_l1(q, s.l1_offset, s.l1_size, &sl1);
    if (r < 0)
        return blk_err(err, errlen, r, "cannot read snapshot '%s': %s", name, strerror(-r));
    memmove(&q->snaps[i], &q->snaps[i + 1], (q->nb_snaps - (uint32_t)i - 1) * sizeof(s));
    q->nb_snaps--;
    r = write_table(q);
    if (r == 0)
        r = walk(q, sl1, s.l1_size, -1, false, false);
    if (r == 0 && s.l1_size)
        r = qcow2_update_refcount(q, s.l1_offset, l1_clusters(q, s.l1_size), -1);
    if (r == 0)
        r = walk(q, q->l1, q->l1_size, 0, true, false);
    if (r == 0)
        r = qcow2_flush(q);
    free(sl1);
    free(s.id);
    free(s.name);
    free(s.extra);
    if (r < 0)
        return blk_err(err, errlen, r, "cannot delete snapshot '%s': %s", name, strerror(-r));
    return 0;
}
