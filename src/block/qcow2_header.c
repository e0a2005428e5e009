/* qcow2 header and header-extension parsing and validation (spec "Header" and "Header
 * extensions"). Every value comes from an untrusted image and is range-checked here. */
#include <errno.h>
#include <string.h>

#include "block/qcow2.h"

static int parse_extensions(const uint8_t *buf, size_t len, struct qcow2_header *h, char *err,
                            size_t errlen)
{
    size_t pos = h->header_length;
    /* Extensions end at the backing file name if it follows them, else at the cluster end. */
    if (h->backing_file_offset >= pos && h->backing_file_offset < len)
        len = (size_t)h->backing_file_offset;
    for (unsigned count = 0;; count++) {
        if (count > 1024)
            return blk_err(err, errlen, -EINVAL, "qcow2: too many header extensions");
        if (pos + 8 > len)
            return 0;
        uint32_t type = qcow2_be32(buf + pos);
        uint32_t elen = qcow2_be32(buf + pos + 4);
        pos += 8;
        if (type == QCOW2_EXT_END)
            return 0;
        if (elen > len - pos)
            return blk_err(err, errlen, -EINVAL,
                           "qcow2: header extension 0x%08x of %u bytes "
                           "runs past the first cluster",
                           type, elen);
        switch (type) {
        case QCOW2_EXT_BACKING_FORMAT:
            if (elen >= sizeof(h->backing_format))
                return blk_err(err, errlen, -EINVAL, "qcow2: backing format name too long");
            memcpy(h->backing_format, buf + pos, elen);
            h->backing_format[elen] = 0;
            break;
        case QCOW2_EXT_DATA_FILE:
            return blk_err(err, errlen, -ENOTSUP,
                           "qcow2: external data files are not "
                           "supported");
        case QCOW2_EXT_ENCRYPTION:
            return blk_err(err, errlen, -ENOTSUP, "qcow2: encrypted images are not supported");
        default:
            break; /* feature table, bitmaps, unknown: ignored */
        }
        pos += ((uint64_t)elen + 7) & ~7ull;
    }
}

static int check_features(struct qcow2_header *h, char *err, size_t errlen)
{
    uint64_t unknown = h->incompatible_features & ~QCOW2_INCOMPAT_KNOWN;
    if (unknown)
        return blk_err(err, errlen, -ENOTSUP,
                       "qcow2: unsupported incompatible features "
                       "0x%llx",
                       (unsigned long long)unknown);
    if (h->incompatible_features & QCOW2_INCOMPAT_DATA_FILE)
        return blk_err(err, errlen, -ENOTSUP, "qcow2: external data files are not supported");
    bool has_ctype = h->incompatible_features & QCOW2_INCOMPAT_COMPRESSION;
    if (has_ctype != (h->compression_type != 0))
        return blk_err(err, errlen, -EINVAL,
                       "qcow2: compression type bit does not match the "
                       "compression type field");
    if (h->compression_type > QCOW2_COMPRESS_ZSTD)
        return blk_err(err, errlen, -ENOTSUP, "qcow2: unknown compression type %u",
                       h->compression_type);
    return 0;
}

/* Overlap of [a, a+alen) and [b, b+blen). */
static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
    return alen && blen && a < b + blen && b < a + alen;
}

static int check_tables(const struct qcow2_header *h, uint64_t file_size, char *err, size_t errlen)
{
    uint64_t cs = 1ull << h->cluster_bits;
    uint64_t l1_bytes = (uint64_t)h->l1_size * 8;
    uint64_t rt_bytes = (uint64_t)h->refcount_table_clusters * cs;
    if (l1_bytes > QCOW2_MAX_L1_BYTES)
        return blk_err(err, errlen, -EFBIG, "qcow2: L1 table of %u entries is absurdly large",
                       h->l1_size);
    if (rt_bytes > QCOW2_MAX_REFTABLE_BYTES || h->refcount_table_clusters == 0)
        return blk_err(err, errlen, -EFBIG, "qcow2: refcount table of %u clusters is invalid",
                       h->refcount_table_clusters);
    if ((h->l1_table_offset & (cs - 1)) || (h->refcount_table_offset & (cs - 1)) ||
        (h->snapshots_offset & (cs - 1)))
        return blk_err(err, errlen, -EINVAL,
                       "qcow2: metadata table offset not aligned to a "
                       "cluster");
    if ((l1_bytes && (h->l1_table_offset == 0 || h->l1_table_offset > file_size ||
                      l1_bytes > file_size - h->l1_table_offset)))
        return blk_err(err, errlen, -EINVAL, "qcow2: L1 table lies past the end of the file");
    if (h->refcount_table_offset == 0 || h->refcount_table_offset > file_size ||
        rt_bytes > file_size - h->refcount_table_offset + cs)
        return blk_err(err, errlen, -EINVAL,
                       "qcow2: refcount table lies past the end of the "
                       "file");
    if (h->nb_snapshots > QCOW2_MAX_SNAPSHOTS)
        return blk_err(err, errlen, -EFBIG, "qcow2: too many snapshots (%u)", h->nb_snapshots);
    if (h->nb_snapshots && (h->snapshots_offset == 0 || h->snapshots_offset >= file_size))
        return blk_err(err, errlen, -EINVAL,
                       "qcow2: snapshot table lies past the end of the "
                       "file");
    if (overlaps(0, cs, h->l1_table_offset, l1_bytes) ||
        overlaps(0, cs, h->refcount_table_offset, rt_bytes) ||
        overlaps(h->l1_table_offset, l1_bytes, h->refcount_table_offset, rt_bytes) ||
        (h->nb_snapshots && (overlaps(0, cs, h->snapshots_offset, 1) ||
                             overlaps(h->l1_table_offset, l1_bytes, h->snapshots_offset, 1) ||
                             overlaps(h->refcount_table_offset, rt_bytes, h->snapshots_offset, 1))))
        return blk_err(err, errlen, -EINVAL,
                       "qcow2: metadata tables overlap (header, L1, "
                       "refcount table, snapshot table)");
    /* The L1 table must be able to map the whole virtual disk. */
    uint64_t l2_entries = cs / ((h->incompatible_features & QCOW2_INCOMPAT_EXTL2) ? 16 : 8);
    uint64_t per_l1 = cs * l2_entries;
    uint64_t need = h->size / per_l1 + (h->size % per_l1 != 0);
    if (need > h->l1_size)
        return blk_err(err, errlen, -EINVAL,
                       "qcow2: L1 table (%u entries) too small for the "
                       "virtual size",
                       h->l1_size);
    return 0;
}

int qcow2_header_parse(const uint8_t *buf, size_t len, uint64_t file_size, struct qcow2_header *h,
                       char *err, size_t errlen)
{
    memset(h, 0, sizeof(*h));
    if (len < QCOW2_V2_HEADER_LEN || file_size < QCOW2_V2_HEADER_LEN)
        return blk_err(err, errlen, -EINVAL, "qcow2: file too short for a header");
    if (qcow2_be32(buf) != QCOW2_MAGIC)
        return blk_err(err, errlen, -EINVAL, "qcow2: bad magic");
    h->version = qcow2_be32(buf + 4);
    if (h->version != 2 && h->version != 3)
        return blk_err(err, errlen, -ENOTSUP, "qcow2: unsupported version %u", h->version);
    h->backing_file_offset = qcow2_be64(buf + 8);
    h->backing_file_size = qcow2_be32(buf + 16);
    h->cluster_bits = qcow2_be32(buf + 20);
    h->size = qcow2_be64(buf + 24);
    h->crypt_method = qcow2_be32(buf + 32);
    h->l1_size = qcow2_be32(buf + 36);
    h->l1_table_offset = qcow2_be64(buf + 40);
    h->refcount_table_offset = qcow2_be64(buf + 48);
    h->refcount_table_clusters = qcow2_be32(buf + 56);
    h->nb_snapshots = qcow2_be32(buf + 60);
    h->snapshots_offset = qcow2_be64(buf + 64);
    h->refcount_order = 4;
    h->header_length = QCOW2_V2_HEADER_LEN;
    if (h->cluster_bits < QCOW2_MIN_CLUSTER_BITS || h->cluster_bits > QCOW2_MAX_CLUSTER_BITS)
        return blk_err(err, errlen, -EINVAL, "qcow2: cluster size 2^%u out of range",
                       h->cluster_bits);
    uint64_t cs = 1ull << h->cluster_bits;
    if (len > cs)
        len = (size_t)cs;
    if (h->version == 3) {
        if (len < QCOW2_V3_HEADER_LEN)
            return blk_err(err, errlen, -EINVAL, "qcow2: file too short for a v3 header");
        h->incompatible_features = qcow2_be64(buf + 72);
        h->compatible_features = qcow2_be64(buf + 80);
        h->autoclear_features = qcow2_be64(buf + 88);
        h->refcount_order = qcow2_be32(buf + 96);
        h->header_length = qcow2_be32(buf + 100);
        if (h->header_length < QCOW2_V3_HEADER_LEN || h->header_length > len ||
            (h->header_length & 7))
            return blk_err(err, errlen, -EINVAL, "qcow2: invalid header length %u",
                           h->header_length);
        if (h->header_length > 104)
            h->compression_type = buf[104];
    }
    if (h->crypt_method != 0)
        return blk_err(err, errlen, -ENOTSUP, "qcow2: encrypted images are not supported");
    if (h->refcount_order > 6)
        return blk_err(err, errlen, -EINVAL, "qcow2: refcount order %u out of range",
                       h->refcount_order);
    if (h->size > QCOW2_MAX_SIZE)
        return blk_err(err, errlen, -EFBIG, "qcow2: virtual size %llu too large",
                       (unsigned long long)h->size);
    if ((h->incompatible_features & QCOW2_INCOMPAT_EXTL2) && h->cluster_bits < 14)
        return blk_err(err, errlen, -EINVAL,
                       "qcow2: extended L2 entries need clusters of at "
                       "least 16 KiB");
    int r = check_features(h, err, errlen);
    if (r < 0)
        return r;
    r = check_tables(h, file_size, err, errlen);
    if (r < 0)
        return r;
    if (h->backing_file_offset) {
        if (h->backing_file_size == 0 || h->backing_file_size > QCOW2_MAX_BACKING_NAME ||
            h->backing_file_offset > len || h->backing_file_size > len - h->backing_file_offset)
            return blk_err(err, errlen, -EINVAL, "qcow2: backing file name out of bounds");
        memcpy(h->backing_file, buf + h->backing_file_offset, h->backing_file_size);
        h->backing_file[h->backing_file_size] = 0;
        if (strlen(h->backing_file) != h->backing_file_size)
            return blk_err(err, errlen, -EINVAL, "qcow2: backing file name contains NUL");
    }
    /* v2 images may carry extensions right after the 72-byte header too. */
    return parse_extensions(buf, len, h, err, errlen);
}
