/* A bounded LRU cache of qcow2 metadata tables (L2 tables, refcount blocks). Dirty L2 tables
 * are written only after refcounts and guest data are durable (qcow2_refcount_barrier), so a
 * crash can leak clusters but never leave an L2 entry pointing at unreferenced or unwritten
 * clusters. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "block/qcow2.h"

int qcow2_cache_init(struct qcow2_cache *c, unsigned n, size_t table_size, bool is_l2)
{
    memset(c, 0, sizeof(*c));
    c->e = calloc(n, sizeof(*c->e));
    if (!c->e)
        return -ENOMEM;
    c->n = n;
    c->table_size = table_size;
    c->is_l2 = is_l2;
    for (unsigned i = 0; i < n; i++) {
        c->e[i].data = malloc(table_size);
        if (!c->e[i].data) {
            qcow2_cache_destroy(c);
            return -ENOMEM;
        }
    }
    return 0;
}

void qcow2_cache_destroy(struct qcow2_cache *c)
{
    if (!c->e)
        return;
    for (unsigned i = 0; i < c->n; i++)
        free(c->e[i].data);
    free(c->e);
    c->e = NULL;
}

static int write_entry(struct qcow2 *q, struct qcow2_cache *c, struct qcow2_cache_entry *e)
{
    if (c->is_l2) {
        int r = qcow2_refcount_barrier(q);
        if (r < 0)
            return r;
    }
    int r = blk_file_pwrite(q->file, e->offset, e->data, c->table_size);
    if (r == 0) {
        e->dirty = false;
        q->data_dirty = true; /* unsynced write */
    }
    return r;
}

int qcow2_cache_get(struct qcow2 *q, struct qcow2_cache *c, uint64_t offset, bool fresh,
                    uint8_t **data)
{
    if (c->e[c->last].offset == offset && offset) {
        c->e[c->last].lru = ++c->tick;
        *data = c->e[c->last].data;
        return 0;
    }
    unsigned victim = 0;
    for (unsigned i = 0; i < c->n; i++) {
        if (c->e[i].offset == offset) {
            c->last = i;
            c->e[i].lru = ++c->tick;
            *data = c->e[i].data;
            return 0;
        }
        if (c->e[i].lru < c->e[victim].lru)
            victim = i;
    }
    struct qcow2_cache_entry *e = &c->e[victim];
    if (e->dirty) {
        int r = write_entry(q, c, e);
        if (r < 0)
            return r;
    }
    e->offset = 0;
    if (fresh) {
        memset(e->data, 0, c->table_size);
    } else {
        /* Offsets were checked against the file size by the caller; a table cut short by
         * the end of the file reads as zeroes. */
        int r = blk_file_pread_zfill(q->file, offset, e->data, c->table_size);
        if (r < 0)
            return r;
    }
    e->offset = offset;
    e->dirty = false;
    e->lru = ++c->tick;
    c->last = victim;
    *data = e->data;
    return 0;
}

void qcow2_cache_mark_dirty(struct qcow2_cache *c, const uint8_t *data)
{
    for (unsigned i = 0; i < c->n; i++)
        if (c->e[i].data == data) {
            c->e[i].dirty = true;
            return;
        }
}

bool qcow2_cache_has_dirty(const struct qcow2_cache *c)
{
    for (unsigned i = 0; i < c->n; i++)
        if (c->e[i].dirty)
            return true;
    return false;
}

int qcow2_cache_flush(struct qcow2 *q, struct qcow2_cache *c)
{
    for (unsigned i = 0; i < c->n; i++) {
        if (!c->e[i].dirty)
            continue;
        int r = write_entry(q, c, &c->e[i]);
        if (r < 0)
            return r;
    }
    return 0;
}

void qcow2_cache_discard(struct qcow2_cache *c, uint64_t offset)
{
    for (unsigned i = 0; i < c->n; i++)
        if (c->e[i].offset == offset) {
            c->e[i].offset = 0;
            c->e[i].dirty = false;
            c->e[i].lru = 0;
        }
}
