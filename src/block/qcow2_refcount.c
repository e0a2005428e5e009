/* qcow2 cluster refcounts (spec "Host cluster management"): the refcount table, refcount
 * blocks of 1..64-bit entries, cluster allocation, deferred frees and refcount-table growth.
 * Ordering: refcount increases reach the disk before any L2 entry that relies on them
 * (qcow2_refcount_barrier); decreases are deferred until the references are gone on disk. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "block/qcow2.h"

static uint64_t rb_get(const struct qcow2 *q, const uint8_t *b, uint64_t i)
{
    switch (q->h.refcount_order) {
    case 0:
    case 1:
    case 2: {
        unsigned bits = 1u << q->h.refcount_order;
        uint64_t bit = i * bits;
        return (b[bit / 8] >> (bit % 8)) & ((1u << bits) - 1);
    }
    case 3:
        return b[i];
    case 4:
        return qcow2_be16(b + 2 * i);
    case 5:
        return qcow2_be32(b + 4 * i);
    default:
        return qcow2_be64(b + 8 * i);
    }
}

static void rb_set(const struct qcow2 *q, uint8_t *b, uint64_t i, uint64_t v)
{
    switch (q->h.refcount_order) {
    case 0:
    case 1:
    case 2: {
        unsigned bits = 1u << q->h.refcount_order;
        uint64_t bit = i * bits;
        uint8_t mask = (uint8_t)(((1u << bits) - 1) << (bit % 8));
        b[bit / 8] = (uint8_t)((b[bit / 8] & ~mask) | ((v << (bit % 8)) & mask));
        break;
    }
    case 3:
        b[i] = (uint8_t)v;
        break;
    case 4:
        qcow2_put_be16(b + 2 * i, (uint16_t)v);
        break;
    case 5:
        qcow2_put_be32(b + 4 * i, (uint32_t)v);
        break;
    default:
        qcow2_put_be64(b + 8 * i, v);
    }
}

/* Validates a refcount table entry (untrusted). */
static int check_refblock_offset(struct qcow2 *q, uint64_t e)
{
    if (e & (q->cluster_size - 1))
        return -EINVAL;
    if (e && (e >= q->file->size || e > QCOW2_MAX_SIZE))
        return -EINVAL;
    return 0;
}

int qcow2_refcount_load(struct qcow2 *q, char *err, size_t errlen)
{
    q->refblock_entries = (q->cluster_size * 8) >> q->h.refcount_order;
    q->refcount_max =
        q->h.refcount_order == 6 ? UINT64_MAX : (1ull << (1u << q->h.refcount_order)) - 1;
    q->reftable_size = (uint64_t)q->h.refcount_table_clusters * q->cluster_size / 8;
    size_t bytes = q->reftable_size * 8;
    uint8_t *raw = malloc(bytes);
    q->reftable = malloc(bytes);
    if (!raw || !q->reftable) {
        free(raw);
        return blk_err(err, errlen, -ENOMEM, "qcow2: out of memory for the refcount table");
    }
    int r = blk_file_pread_zfill(q->file, q->h.refcount_table_offset, raw, bytes);
    if (r < 0) {
        free(raw);
        return blk_err(err, errlen, r, "qcow2: cannot read the refcount table");
    }
    for (uint64_t i = 0; i < q->reftable_size; i++) {
        q->reftable[i] = qcow2_be64(raw + 8 * i);
        if (check_refblock_offset(q, q->reftable[i]) < 0) {
            free(raw);
            return blk_err(err, errlen, -EINVAL,
                           "qcow2: refcount block %llu has an invalid "
                           "offset 0x%llx",
                           (unsigned long long)i, (unsigned long long)q->reftable[i]);
        }
    }
    free(raw);
    return 0;
}

static int get_block(struct qcow2 *q, uint64_t rt_index, bool fresh, uint8_t **b)
{
    return qcow2_cache_get(q, &q->rb_cache, q->reftable[rt_index], fresh, b);
}

int qcow2_get_refcount(struct qcow2 *q, uint64_t cluster_index, uint64_t *rc)
{
    uint64_t rt = cluster_index / q->refblock_entries;
    if (rt >= q->reftable_size || q->reftable[rt] == 0) {
        *rc = 0;
        return 0;
    }
    uint8_t *b;
    int r = get_block(q, rt, false, &b);
    if (r < 0)
        return r;
    *rc = rb_get(q, b, cluster_index % q->refblock_entries);
    return 0;
}

static int write_reftable_entry(struct qcow2 *q, uint64_t rt)
{
    uint8_t be[8];
    qcow2_put_be64(be, q->reftable[rt]);
    return blk_file_pwrite(q->file, q->h.refcount_table_offset + rt * 8, be, 8);
}

/* Grows the refcount table to at least min_entries. The new table and a refcount block for
 * the first range the old table did not cover are placed at the start of that range, so the
 * new block describes itself and the table. */
static int grow_reftable(struct qcow2 *q, uint64_t min_entries)
{
    uint64_t cs = q->cluster_size, n = q->refblock_entries;
    uint64_t k = q->reftable_size;
    uint64_t entries = (min_entries > k + 1 ? min_entries : k + 1) * 2;
    uint64_t tclusters = (entries * 8 + cs - 1) / cs;
    entries = tclusters * cs / 8;
    if (entries * 8 > QCOW2_MAX_REFTABLE_BYTES || tclusters + 1 > n)
        return -EFBIG;
    uint64_t block_off = k * n * cs;
    uint64_t table_off = block_off + cs;
    if (table_off + tclusters * cs > QCOW2_MAX_SIZE)
        return -EFBIG;
    uint8_t *blk = calloc(1, cs);
    uint8_t *tab = calloc(1, tclusters * cs);
    uint64_t *mem = calloc(entries, 8);
    int r = -ENOMEM;
    if (!blk || !tab || !mem)
        goto out;
    for (uint64_t i = 0; i <= tclusters; i++)
        rb_set(q, blk, i, 1);
    memcpy(mem, q->reftable, k * 8);
    mem[k] = block_off;
    for (uint64_t i = 0; i < entries; i++)
        qcow2_put_be64(tab + 8 * i, mem[i]);
    r = blk_file_pwrite(q->file, block_off, blk, cs);
    if (r == 0)
        r = blk_file_pwrite(q->file, table_off, tab, tclusters * cs);
    if (r == 0)
        r = blk_file_sync(q->file);
    if (r < 0)
        goto out;
    uint8_t hdr[12];
    qcow2_put_be64(hdr, table_off);
    qcow2_put_be32(hdr + 8, (uint32_t)tclusters);
    r = qcow2_write_header_field(q, QCOW2_OFF_REFTABLE, hdr, sizeof(hdr));
    if (r == 0)
        r = blk_file_sync(q->file);
    if (r < 0)
        goto out;
    uint64_t old_off = q->h.refcount_table_offset;
    uint64_t old_clusters = q->h.refcount_table_clusters;
    free(q->reftable);
    q->reftable = mem;
    mem = NULL;
    q->reftable_size = entries;
    q->h.refcount_table_offset = table_off;
    q->h.refcount_table_clusters = (uint32_t)tclusters;
    r = qcow2_update_refcount(q, old_off, old_clusters, -1);
out:
    free(blk);
    free(tab);
    free(mem);
    return r;
}

/* Makes sure cluster_index has a refcount block; *created_at is the new block's cluster
 * index (or UINT64_MAX when none was created). */
static int ensure_block(struct qcow2 *q, uint64_t cluster_index, uint64_t *created_at)
{
    uint64_t rt = cluster_index / q->refblock_entries;
    *created_at = UINT64_MAX;
    if (rt >= q->reftable_size) {
        int r = grow_reftable(q, rt + 1);
        if (r < 0)
            return r;
        *created_at = q->reftable[rt] ? q->reftable[rt] / q->cluster_size : UINT64_MAX;
    }
    if (q->reftable[rt])
        return 0;
    /* A range without a block has no allocated clusters; its first cluster hosts it. */
    uint64_t first = rt * q->refblock_entries;
    uint64_t off = first * q->cluster_size;
    if (first == 0)
        return -EIO; /* corrupt: no refcount block for the header's range */
    if (off > QCOW2_MAX_SIZE)
        return -EFBIG;
    uint8_t *b;
    int r = qcow2_cache_get(q, &q->rb_cache, off, true, &b);
    if (r < 0)
        return r;
    rb_set(q, b, 0, 1);
    r = blk_file_pwrite(q->file, off, b, q->cluster_size);
    if (r == 0)
        r = blk_file_sync(q->file);
    if (r < 0) {
        qcow2_cache_discard(&q->rb_cache, off);
        return r;
    }
    q->reftable[rt] = off;
    r = write_reftable_entry(q, rt);
    if (r < 0)
        return r;
    q->data_dirty = true;
    *created_at = first;
    return 0;
}

int qcow2_update_refcount(struct qcow2 *q, uint64_t offset, uint64_t n, int64_t delta)
{
    uint64_t first = offset / q->cluster_size;
    for (uint64_t c = first; c < first + n; c++) {
        uint64_t rt = c / q->refblock_entries;
        if (delta > 0) {
            uint64_t created;
            int r = ensure_block(q, c, &created);
            if (r < 0)
                return r;
        } else if (rt >= q->reftable_size || q->reftable[rt] == 0) {
            return -EIO; /* freeing a cluster that has no refcount */
        }
        uint8_t *b;
        int r = get_block(q, rt, false, &b);
        if (r < 0)
            return r;
        uint64_t i = c % q->refblock_entries;
        uint64_t old = rb_get(q, b, i);
        if (delta > 0 && old > q->refcount_max - (uint64_t)delta)
            return -ERANGE;
        if (delta < 0 && old < (uint64_t)-delta)
            return -EIO;
        uint64_t v = old + (uint64_t)delta;
        rb_set(q, b, i, v);
        qcow2_cache_mark_dirty(&q->rb_cache, b);
        if (v == 0) {
            if (c < q->free_hint)
                q->free_hint = c;
            qcow2_cache_discard(&q->l2_cache, c * q->cluster_size);
            if (q->dbuf_entry && (q->dbuf_entry & QCOW2_OFFSET_MASK) / q->cluster_size == c)
                q->dbuf_entry = 0;
        }
    }
    return 0;
}

int qcow2_alloc_clusters(struct qcow2 *q, uint64_t n, uint64_t *off)
{
    uint64_t max_cluster = QCOW2_MAX_SIZE / q->cluster_size;
    uint64_t idx = q->free_hint;
    for (;;) {
        uint64_t start = idx, len = 0, first_free = UINT64_MAX;
        while (len < n) {
            if (idx >= max_cluster)
                return -ENOSPC;
            uint64_t rc;
            int r = qcow2_get_refcount(q, idx, &rc);
            if (r < 0)
                return r;
            if (rc == 0) {
                if (first_free == UINT64_MAX)
                    first_free = idx;
                len++;
            } else {
                start = idx + 1;
                len = 0;
            }
            idx++;
        }
        bool restart = false;
        for (uint64_t c = start; c < start + n; c++) {
            uint64_t created;
            int r = ensure_block(q, c, &created);
            if (r < 0)
                return r;
            if (created != UINT64_MAX)
                restart = true; /* new metadata may sit inside the run: rescan */
        }
        if (restart) {
            idx = q->free_hint;
            continue;
        }
        int r = qcow2_update_refcount(q, start * q->cluster_size, n, 1);
        if (r < 0)
            return r;
        q->free_hint = first_free == start ? start + n : first_free;
        *off = start * q->cluster_size;
        if (*off + n * q->cluster_size > q->file->size)
            q->file->size = *off + n * q->cluster_size; /* reads past the real EOF see 0 */
        return 0;
    }
}

int qcow2_free_deferred(struct qcow2 *q, uint64_t offset, uint64_t n)
{
    if (q->npending == q->cap_pending) {
        size_t cap = q->cap_pending ? q->cap_pending * 2 : 64;
        struct qcow2_free_range *p = realloc(q->pending, cap * sizeof(*p));
        if (!p)
            return -ENOMEM;
        q->pending = p;
        q->cap_pending = cap;
    }
    q->pending[q->npending].offset = offset;
    q->pending[q->npending].nclusters = n;
    q->npending++;
    return 0;
}

int qcow2_apply_pending_frees(struct qcow2 *q)
{
    int ret = 0;
    for (size_t i = 0; i < q->npending; i++) {
        int r = qcow2_update_refcount(q, q->pending[i].offset, q->pending[i].nclusters, -1);
        if (r < 0 && ret == 0)
            ret = r; /* a failed decrement only leaks the cluster */
    }
    q->npending = 0;
    return ret;
}

int qcow2_refcount_barrier(struct qcow2 *q)
{
    /* Batched guest writes still in flight must be complete before the sync. */
    if (q->file->batch && q->file->batch->inflight) {
        int r = blk_batch_drain(q->file->batch, q->file->ring);
        if (r < 0)
            return r;
    }
    if (qcow2_cache_has_dirty(&q->rb_cache)) {
        int r = qcow2_cache_flush(q, &q->rb_cache);
        if (r < 0)
            return r;
        q->data_dirty = true;
    }
    if (q->data_dirty) {
        int r = blk_file_sync(q->file);
        if (r < 0)
            return r;
        q->data_dirty = false;
    }
    return 0;
}
