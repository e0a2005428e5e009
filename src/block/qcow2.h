/* qcow2 driver internals shared by its sub-modules (header, cache, L1/L2 clusters, refcounts,
 * snapshots, compression, check) and the API that `ember img` uses. Models the qcow2
 * specification (QEMU docs/interop/qcow2.txt), versions 2 and 3. */
#ifndef EMBER_BLOCK_QCOW2_H
#define EMBER_BLOCK_QCOW2_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "block/blk_driver.h"

#define QCOW2_MAGIC              0x514649fbu
#define QCOW2_MIN_CLUSTER_BITS   9
#define QCOW2_MAX_CLUSTER_BITS   21
#define QCOW2_V2_HEADER_LEN      72u
#define QCOW2_V3_HEADER_LEN      104u
#define QCOW2_MAX_BACKING_NAME   1023u
#define QCOW2_MAX_L1_BYTES       (32u << 20) /* sanity limit on the L1 table */
#define QCOW2_MAX_REFTABLE_BYTES (8u << 20)  /* sanity limit on the refcount table */
#define QCOW2_MAX_SNAPSHOTS      65536u
#define QCOW2_MAX_SNAPSHOT_TABLE (64u << 20)
#define QCOW2_MAX_SIZE           (1ull << 55) /* 32 PiB: offsets stay in the 56-bit fields */

/* Header fields (spec "Header"), byte offsets. */
#define QCOW2_OFF_SIZE         24
#define QCOW2_OFF_L1_SIZE      36
#define QCOW2_OFF_REFTABLE     48
#define QCOW2_OFF_NB_SNAPSHOTS 60
#define QCOW2_OFF_INCOMPAT     72

/* Feature bits (spec "Header", bytes 72-95). */
#define QCOW2_INCOMPAT_DIRTY        (1ull << 0)
#define QCOW2_INCOMPAT_CORRUPT      (1ull << 1)
#define QCOW2_INCOMPAT_DATA_FILE    (1ull << 2)
#define QCOW2_INCOMPAT_COMPRESSION  (1ull << 3)
#define QCOW2_INCOMPAT_EXTL2        (1ull << 4)
#define QCOW2_INCOMPAT_KNOWN        0x1full
#define QCOW2_COMPAT_LAZY_REFCOUNTS (1ull << 0)

/* Header extension types (spec "Header extensions"). */
#define QCOW2_EXT_END            0x00000000u
#define QCOW2_EXT_BACKING_FORMAT 0xe2792acau
#define QCOW2_EXT_FEATURE_TABLE  0x6803f857u
#define QCOW2_EXT_DATA_FILE      0x44415441u
#define QCOW2_EXT_ENCRYPTION     0x0537be77u

/* L1/L2 entry bits (spec "Cluster mapping"). */
#define QCOW2_OFLAG_COPIED     (1ull << 63)
#define QCOW2_OFLAG_COMPRESSED (1ull << 62)
#define QCOW2_OFLAG_ZERO       (1ull << 0)
#define QCOW2_OFFSET_MASK      0x00fffffffffffe00ull
#define QCOW2_L1_RESERVED      0x7f000000000001feull
#define QCOW2_L2_RESERVED      0x3f000000000001feull

enum qcow2_compression { QCOW2_COMPRESS_ZLIB = 0, QCOW2_COMPRESS_ZSTD = 1 };

struct qcow2_header {
    uint32_t version;
    uint64_t backing_file_offset;
    uint32_t backing_file_size;
    uint32_t cluster_bits;
    uint64_t size;
    uint32_t crypt_method;
    uint32_t l1_size;
    uint64_t l1_table_offset;
    uint64_t refcount_table_offset;
    uint32_t refcount_table_clusters;
    uint32_t nb_snapshots;
    uint64_t snapshots_offset;
    uint64_t incompatible_features;
    uint64_t compatible_features;
    uint64_t autoclear_features;
    uint32_t refcount_order;
    uint32_t header_length;
    uint8_t compression_type;
    char backing_file[QCOW2_MAX_BACKING_NAME + 1];
    char backing_format[32];
};

/* Parses and validates the header in buf (the first bytes of the file, up to one cluster)
 * against file_size. Image values are untrusted: every field is range-checked here. */
int qcow2_header_parse(const uint8_t *buf, size_t len, uint64_t file_size, struct qcow2_header *h,
                       char *err, size_t errlen);

/* A cache of cluster-sized metadata tables (L2 tables or refcount blocks), LRU, bounded. */
struct qcow2_cache_entry {
    uint64_t offset; /* host offset of the table; 0 = empty slot */
    uint8_t *data;
    uint64_t lru;
    bool dirty;
};

struct qcow2_cache {
    unsigned n;
    size_t table_size;
    uint64_t tick;
    unsigned last; /* index of the last hit */
    struct qcow2_cache_entry *e;
    bool is_l2; /* writing dirty L2 tables requires refcounts + data to be durable first */
};

struct qcow2_snapshot {
    uint64_t l1_offset;
    uint32_t l1_size;
    char *id;
    char *name;
    uint32_t date_sec;
    uint32_t date_nsec;
    uint64_t vm_clock_nsec;
    uint64_t vm_state_size;
    uint64_t disk_size;
    uint8_t *extra; /* extra data beyond the fields we know, kept verbatim */
    uint32_t extra_size;
};

struct qcow2_free_range {
    uint64_t offset;
    uint64_t nclusters;
};

struct qcow2 {
    struct blk_image *img;
    struct blk_file *file;
    struct qcow2_header h;
    unsigned cluster_bits;
    uint64_t cluster_size;
    unsigned l2_entry_size; /* 8, or 16 with extended L2 entries */
    uint64_t l2_entries;    /* entries per L2 table */
    bool extended_l2;
    uint64_t *l1; /* active L1, host byte order */
    uint32_t l1_size;
    bool l1_dirty;
    uint64_t *reftable;     /* host byte order */
    uint64_t reftable_size; /* entries */
    uint64_t refblock_entries;
    uint64_t refcount_max;
    struct qcow2_cache l2_cache;
    struct qcow2_cache rb_cache;
    bool data_dirty;                  /* guest data written since the last fdatasync */
    uint64_t free_hint;               /* no free cluster below this cluster index */
    struct qcow2_free_range *pending; /* frees applied once L2/L1 no longer reference them */
    size_t npending, cap_pending;
    struct qcow2_snapshot *snaps;
    uint32_t nb_snaps;
    uint64_t snap_table_bytes; /* on-disk size of the current snapshot table */
    struct blk_image *backing;
    uint8_t *cbuf;       /* compressed input buffer (2 clusters) */
    uint8_t *dbuf;       /* last decompressed cluster */
    uint64_t dbuf_entry; /* L2 entry dbuf holds, 0 = none */
    uint8_t *zbuf;       /* one cluster of zeroes */
};

static inline uint64_t qcow2_be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return v;
}
static inline uint32_t qcow2_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline uint16_t qcow2_be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}
static inline void qcow2_put_be64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}
static inline void qcow2_put_be32(uint8_t *p, uint32_t v)
{
    for (int i = 3; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}
static inline void qcow2_put_be16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

/* qcow2_cache.c */
int qcow2_cache_init(struct qcow2_cache *c, unsigned n, size_t table_size, bool is_l2);
void qcow2_cache_destroy(struct qcow2_cache *c);
/* Returns the table at offset, reading it from disk (or zero-filling if fresh). */
int qcow2_cache_get(struct qcow2 *q, struct qcow2_cache *c, uint64_t offset, bool fresh,
                    uint8_t **data);
void qcow2_cache_mark_dirty(struct qcow2_cache *c, const uint8_t *data);
int qcow2_cache_flush(struct qcow2 *q, struct qcow2_cache *c);
void qcow2_cache_discard(struct qcow2_cache *c, uint64_t offset);
bool qcow2_cache_has_dirty(const struct qcow2_cache *c);

/* qcow2_refcount.c */
int qcow2_refcount_load(struct qcow2 *q, char *err, size_t errlen);
int qcow2_get_refcount(struct qcow2 *q, uint64_t cluster_index, uint64_t *rc);
/* Adds delta to the refcount of each cluster in [offset, offset + n clusters). */
int qcow2_update_refcount(struct qcow2 *q, uint64_t offset, uint64_t n, int64_t delta);
/* Allocates n contiguous clusters (refcount 1); returns the host offset in *off. */
int qcow2_alloc_clusters(struct qcow2 *q, uint64_t n, uint64_t *off);
/* Queues a refcount decrement to apply after the next metadata flush. */
int qcow2_free_deferred(struct qcow2 *q, uint64_t offset, uint64_t n);
int qcow2_apply_pending_frees(struct qcow2 *q);
/* Makes dirty refcount blocks and guest data durable (required before L2 writes). */
int qcow2_refcount_barrier(struct qcow2 *q);

/* qcow2_cluster.c */
enum qcow2_map_type { QCOW2_MAP_UNALLOC, QCOW2_MAP_ZERO, QCOW2_MAP_DATA, QCOW2_MAP_COMPRESSED };
struct qcow2_map {
    enum qcow2_map_type type;
    uint64_t host;  /* DATA: host offset of the first byte */
    uint64_t len;   /* bytes from the queried offset with this type (and contiguous host) */
    uint64_t entry; /* COMPRESSED: the L2 entry */
};
int qcow2_map(struct qcow2 *q, uint64_t off, uint64_t maxlen, struct qcow2_map *m);
int qcow2_read(struct qcow2 *q, uint64_t off, const struct iovec *iov, int iovcnt, size_t len);
int qcow2_write(struct qcow2 *q, uint64_t off, const struct iovec *iov, int iovcnt, size_t len);
/* Deallocates whole clusters in range (make_zero: they read as zeroes afterwards). */
int qcow2_discard_range(struct qcow2 *q, uint64_t off, uint64_t len, bool make_zero);
int qcow2_grow_l1(struct qcow2 *q, uint64_t min_entries);
int qcow2_write_l1(struct qcow2 *q);
/* Checks an L2 table offset from an L1 entry (untrusted) and returns the clean offset. */
int qcow2_l2_offset(struct qcow2 *q, uint64_t l1e, uint64_t *off);

/* qcow2_compress.c: decompresses in into exactly out_len bytes of out. */
int qcow2_decompress(enum qcow2_compression type, const uint8_t *in, size_t in_len, uint8_t *out,
                     size_t out_len);
/* Host extent of a compressed L2 entry (offset and byte length, clamped to nothing). */
void qcow2_compressed_extent(const struct qcow2 *q, uint64_t entry, uint64_t *off, uint64_t *len);

/* qcow2.c */
int qcow2_flush(struct qcow2 *q);
int qcow2_write_header_field(struct qcow2 *q, unsigned off, const void *bytes, size_t n);
struct qcow2 *qcow2_from_image(struct blk_image *img); /* NULL if not qcow2 */

struct qcow2_create_opts {
    uint64_t size;
    unsigned cluster_bits;  /* default 16 */
    unsigned version;       /* 2 or 3 (default 3) */
    unsigned refcount_bits; /* 1, 2, 4, ..., 64; 0 = default 16 */
    const char *backing_file;
    const char *backing_format; /* "raw" or "qcow2"; required with backing_file */
};
int qcow2_create(const char *path, const struct qcow2_create_opts *o, char *err, size_t errlen);
/* Grows the virtual size (shrinking is not supported). */
int qcow2_resize(struct qcow2 *q, uint64_t new_size);

/* qcow2_snapshot.c */
int qcow2_snapshots_load(struct qcow2 *q, char *err, size_t errlen);
void qcow2_snapshots_free(struct qcow2 *q);
int qcow2_snapshot_create(struct qcow2 *q, const char *name, char *err, size_t errlen);
int qcow2_snapshot_apply(struct qcow2 *q, const char *name, char *err, size_t errlen);
int qcow2_snapshot_delete(struct qcow2 *q, const char *name, char *err, size_t errlen);
/* Walks an L1 table adding addend to every referenced L2 table and data cluster; with
 * fix_copied, rewrites the COPIED flags of the active tables from the refcounts. */
int qcow2_walk_refcounts(struct qcow2 *q, uint64_t *l1, uint32_t l1_size, int addend,
                         bool fix_copied);

/* qcow2_check.c */
struct qcow2_check_result {
    uint64_t corruptions;
    uint64_t leaks;
    uint64_t leaks_fixed;
    uint64_t allocated_clusters;
    uint64_t image_end_offset;
};
int qcow2_check(struct qcow2 *q, bool repair_leaks, struct qcow2_check_result *res, FILE *log);

#endif
