/* qcow2 consistency check (like `qemu-img check`): recomputes every cluster's refcount from
 * the header, L1/L2 tables, snapshots and refcount structures, compares with the stored
 * refcounts and COPIED flags, and optionally repairs leaked clusters. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "block/qcow2.h"

#define CHECK_MAX_CLUSTERS (1ull << 28)

struct check {
    struct qcow2 *q;
    uint32_t *expected;
    uint64_t nclusters;
    struct qcow2_check_result *res;
    FILE *log;
};

static void ref(struct check *c, uint64_t off, uint64_t n, const char *what)
{
    uint64_t first = off / c->q->cluster_size;
    for (uint64_t i = first; i < first + n; i++) {
        if (i >= c->nclusters) {
            if (c->log)
                fprintf(c->log, "ERROR %s at 0x%" PRIx64 " is past the end of the file\n", what,
                        i * c->q->cluster_size);
            c->res->corruptions++;
            continue;
        }
        if (c->expected[i] < UINT32_MAX)
            c->expected[i]++;
    }
}

static void check_copied(struct check *c, uint64_t entry, uint64_t off, const char *what)
{
    uint64_t rc;
    if (qcow2_get_refcount(c->q, off / c->q->cluster_size, &rc) < 0)
        return;
    if ((rc == 1) != ((entry & QCOW2_OFLAG_COPIED) != 0)) {
        if (c->log)
            fprintf(c->log, "ERROR OFLAG_COPIED %s: entry=%" PRIx64 " refcount=%" PRIu64 "\n", what,
                    entry, rc);
        c->res->corruptions++;
    }
}

static int walk_l2(struct check *c, uint64_t l2off, bool active)
{
    struct qcow2 *q = c->q;
    uint8_t *t;
    int r = qcow2_cache_get(q, &q->l2_cache, l2off, false, &t);
    if (r < 0)
        return r;
    /* Copy: refcount lookups below may not evict, but stay safe. */
    uint8_t *copy = malloc(q->cluster_size);
    if (!copy)
        return -ENOMEM;
    memcpy(copy, t, q->cluster_size);
    for (uint64_t j = 0; j < q->l2_entries; j++) {
        uint64_t e = qcow2_be64(copy + j * q->l2_entry_size);
        if (e & QCOW2_OFLAG_COMPRESSED) {
            uint64_t off, len;
            qcow2_compressed_extent(q, e, &off, &len);
            uint64_t first = off / q->cluster_size;
            ref(c, first * q->cluster_size, (off + len - 1) / q->cluster_size - first + 1,
                "compressed cluster");
            continue;
        }
        uint64_t h = e & QCOW2_OFFSET_MASK;
        if ((e & QCOW2_L2_RESERVED) || (h & (q->cluster_size - 1))) {
            if (c->log)
                fprintf(c->log, "ERROR invalid L2 entry 0x%" PRIx64 "\n", e);
            c->res->corruptions++;
            continue;
        }
        if (!h)
            continue;
        ref(c, h, 1, "data cluster");
        if (active)
            check_copied(c, e, h, "data cluster");
    }
    free(copy);
    return 0;
}

static int walk_l1(struct check *c, const uint64_t *l1, uint32_t size, bool active)
{
    for (uint32_t i = 0; i < size; i++) {
        uint64_t l2off;
        if (qcow2_l2_offset(c->q, l1[i], &l2off) < 0) {
            c->res->corruptions++;
            continue;
        }
        if (!l2off)
            continue;
        ref(c, l2off, 1, "L2 table");
        if (active)
            check_copied(c, l1[i], l2off, "L2 table");
        int r = walk_l2(c, l2off, active);
        if (r < 0)
            return r;
    }
    return 0;
}

static uint64_t clusters_of(const struct qcow2 *q, uint64_t bytes)
{
    return (bytes + q->cluster_size - 1) / q->cluster_size;
}

static int walk_snapshots(struct check *c)
{
    struct qcow2 *q = c->q;
    if (q->nb_snaps)
        ref(c, q->h.snapshots_offset, clusters_of(q, q->snap_table_bytes), "snapshot table");
    for (uint32_t i = 0; i < q->nb_snaps; i++) {
        struct qcow2_snapshot *s = &q->snaps[i];
        if (!s->l1_size)
            continue;
        ref(c, s->l1_offset, clusters_of(q, (uint64_t)s->l1_size * 8), "snapshot L1 table");
        uint64_t *l1 = malloc((size_t)s->l1_size * 8);
        if (!l1)
            return -ENOMEM;
        int r = blk_file_pread(q->file, s->l1_offset, l1, (size_t)s->l1_size * 8);
        for (uint32_t j = 0; r == 0 && j < s->l1_size; j++)
            l1[j] = qcow2_be64((uint8_t *)&l1[j]);
        if (r == 0)
            r = walk_l1(c, l1, s->l1_size, false);
        free(l1);
        if (r < 0)
            return r;
    }
    return 0;
}

static int compare(struct check *c, bool repair)
{
    struct qcow2 *q = c->q;
    bool repaired = false;
    for (uint64_t rt = 0; rt < q->reftable_size; rt++) {
        if (!q->reftable[rt])
            continue;
        for (uint64_t k = 0; k < q->refblock_entries; k++) {
            uint64_t i = rt * q->refblock_entries + k;
            uint64_t rc;
            int r = qcow2_get_refcount(q, i, &rc);
            if (r < 0)
                return r;
            uint64_t exp = i < c->nclusters ? c->expected[i] : 0;
            if (exp)
                c->res->allocated_clusters++;
            if (rc > exp) {
                c->res->leaks++;
                if (c->log && !repair)
                    fprintf(c->log,
                            "Leaked cluster %" PRIu64 " refcount=%" PRIu64 " reference=%" PRIu64
                            "\n",
                            i, rc, exp);
                if (repair &&
                    qcow2_update_refcount(q, i * q->cluster_size, 1, -(int64_t)(rc - exp)) == 0) {
                    c->res->leaks_fixed++;
                    repaired = true;
                }
            } else if (rc < exp) {
                c->res->corruptions++;
                if (c->log)
                    fprintf(c->log,
                            "ERROR cluster %" PRIu64 " refcount=%" PRIu64 " reference=%" PRIu64
                            "\n",
                            i, rc, exp);
            }
            if (exp)
                c->res->image_end_offset = (i + 1) * q->cluster_size;
        }
    }
    /* Referenced clusters without any refcount block. */
    for (uint64_t i = 0; i < c->nclusters; i++) {
        uint64_t rt = i / q->refblock_entries;
        if (c->expected[i] && (rt >= q->reftable_size || !q->reftable[rt])) {
            c->res->corruptions++;
            if (c->log)
                fprintf(c->log, "ERROR cluster %" PRIu64 " refcount=0 reference=%u\n", i,
                        c->expected[i]);
        }
    }
    return repaired ? qcow2_flush(q) : 0;
}

int qcow2_check(struct qcow2 *q, bool repair_leaks, struct qcow2_check_result *res, FILE *log)
{
    memset(res, 0, sizeof(*res));
    int r = qcow2_flush(q);
    if (r < 0)
        return r;
    struct check c = {.q = q, .res = res, .log = log};
    c.nclusters = clusters_of(q, q->file->size);
    if (c.nclusters > CHECK_MAX_CLUSTERS)
        return -EFBIG;
    c.expected = calloc(c.nclusters ? c.nclusters : 1, sizeof(uint32_t));
    if (!c.expected)
        return -ENOMEM;
    ref(&c, 0, 1, "header");
    if (q->l1_size)
        ref(&c, q->h.l1_table_offset, clusters_of(q, (uint64_t)q->l1_size * 8), "L1 table");
    ref(&c, q->h.refcount_table_offset, q->h.refcount_table_clusters, "refcount table");
    for (uint64_t rt = 0; rt < q->reftable_size; rt++)
        if (q->reftable[rt])
            ref(&c, q->reftable[rt], 1, "refcount block");
    r = walk_l1(&c, q->l1, q->l1_size, true);
    if (r == 0)
        r = walk_snapshots(&c);
    if (r == 0)
        r = compare(&c, repair_leaks && !q->img->read_only);
    free(c.expected);
    return r;
}
