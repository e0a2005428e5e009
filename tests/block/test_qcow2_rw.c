/* Unit tests of the qcow2 data path: L2 lookup (qcow2_map), reads and writes across cluster
 * and L2-table boundaries, copy-on-write over a backing file, zero clusters, discard, resize. */
#include "blk_test_util.h"

static char dir[64];

static int setup(void **state)
{
    t_tmpdir(dir);
    return 0;
}

static int teardown(void **state)
{
    t_rmdir(dir);
    return 0;
}

static void test_fresh_image_reads_zero_and_maps_unalloc(void **state)
{
    char p[256];
    struct timg t;
    t_path(p, dir, "fresh.qcow2");
    t_create(p, 4 << 20, 16, NULL, NULL);
    assert_int_equal(t_open(&t, p, BLK_FORMAT_PROBE, false), 0);
    assert_int_equal(t.img->format, BLK_FORMAT_QCOW2);
    assert_int_equal(t.img->size, 4 << 20);
    uint8_t buf[8192];
    memset(buf, 0xaa, sizeof(buf));
    assert_int_equal(blk_image_pread(t.img, 123, buf, sizeof(buf)), 0);
    for (size_t i = 0; i < sizeof(buf); i++)
        assert_int_equal(buf[i], 0);
    struct qcow2_map m;
    assert_int_equal(qcow2_map(t.q, 0, 4 << 20, &m), 0);
    assert_int_equal(m.type, QCOW2_MAP_UNALLOC);
    assert_int_equal(m.len, 4 << 20);
    t_close(&t);
}

static void test_write_read_across_tables(void **state)
{
    /* 512-byte clusters: an L2 table covers 64 clusters (32 KiB), so this spans tables. */
    char p[256];
    struct timg t;
    t_path(p, dir, "small.qcow2");
    t_create(p, 1 << 20, 9, NULL, NULL);
    assert_int_equal(t_open(&t, p, BLK_FORMAT_QCOW2, false), 0);
    size_t n = 100000;
    uint8_t *w = malloc(n), *r = malloc(n);
    t_fill(w, n, 3);
    assert_int_equal(blk_image_pwrite(t.img, 1000, w, n), 0);
    assert_int_equal(blk_image_pread(t.img, 1000, r, n), 0);
    assert_memory_equal(w, r, n);
    struct qcow2_map m;
    assert_int_equal(qcow2_map(t.q, 1024, 512, &m), 0);
    assert_int_equal(m.type, QCOW2_MAP_DATA);
    assert_int_equal(m.len, 512);
    t_close(&t);
    assert_int_equal(t_open(&t, p, BLK_FORMAT_QCOW2, true), 0);
    memset(r, 0, n);
    assert_int_equal(blk_image_pread(t.img, 1000, r, n), 0);
    assert_memory_equal(w, r, n);
    assert_int_equal(t_check(&t), 0);
    t_close(&t);
    free(w);
    free(r);
}

static void test_cow_over_backing(void **state)
{
    char base[256], top[256];
    t_path(base, dir, "base.raw");
    t_path(top, dir, "top.qcow2");
    size_t size = 1 << 20;
    uint8_t *b = malloc(size), *r = malloc(size);
    t_fill(b, size, 9);
    FILE *f = fopen(base, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(b, 1, size, f), size);
    fclose(f);
    t_create(top, size, 16, "base.raw", "raw");
    struct timg t;
    assert_int_equal(t_open(&t, top, BLK_FORMAT_PROBE, false), 0);
    /* A write inside one cluster keeps the rest of the cluster from the backing file. */
    uint8_t w[100];
    memset(w, 0xee, sizeof(w));
    assert_int_equal(blk_image_pwrite(t.img, 70000, w, sizeof(w)), 0);
    memcpy(b + 70000, w, sizeof(w));
    assert_int_equal(blk_image_pread(t.img, 0, r, size), 0);
    assert_memory_equal(b, r, size);
    struct qcow2_map m;
    assert_int_equal(qcow2_map(t.q, 65536, 65536, &m), 0);
    assert_int_equal(m.type, QCOW2_MAP_DATA);
    assert_int_equal(qcow2_map(t.q, 0, 65536, &m), 0);
    assert_int_equal(m.type, QCOW2_MAP_UNALLOC);
    t_close(&t);
    /* The backing file itself is untouched. */
    f = fopen(base, "rb");
    assert_int_equal(fread(r, 1, size, f), size);
    fclose(f);
    assert_int_not_equal(memcmp(r + 70000, w, sizeof(w)), 0);
    free(b);
    free(r);
}

static void test_zeroes_and_discard(void **state)
{
    char p[256];
    struct timg t;
    t_path(p, dir, "z.qcow2");
    t_create(p, 1 << 20, 12, NULL, NULL);
    assert_int_equal(t_open(&t, p, BLK_FORMAT_QCOW2, false), 0);
    uint8_t *w = malloc(65536), *r = malloc(65536);
    t_fill(w, 65536, 1);
    assert_int_equal(blk_image_pwrite(t.img, 0, w, 65536), 0);
    /* Zero 1000..20000: partial clusters get zero bytes, whole ones become zero clusters. */
    assert_int_equal(t.img->ops->write_zeroes(t.img, 1000, 19000), 0);
    memset(w + 1000, 0, 19000);
    assert_int_equal(blk_image_pread(t.img, 0, r, 65536), 0);
    assert_memory_equal(w, r, 65536);
    struct qcow2_map m;
    assert_int_equal(qcow2_map(t.q, 8192, 4096, &m), 0);
    assert_int_equal(m.type, QCOW2_MAP_ZERO);
    assert_int_equal(t.img->ops->discard(t.img, 32768, 32768), 0);
    assert_int_equal(qcow2_map(t.q, 32768, 4096, &m), 0);
    assert_int_equal(m.type, QCOW2_MAP_UNALLOC);
    assert_int_equal(t.img->ops->flush(t.img), 0);
    assert_int_equal(t_check(&t), 0); /* freed clusters are not leaked */
    t_close(&t);
    free(w);
    free(r);
}

static void test_resize_grows(void **state)
{
    char p[256];
    struct timg t;
    t_path(p, dir, "grow.qcow2");
    t_create(p, 1 << 20, 9, NULL, NULL);
    assert_int_equal(t_open(&t, p, BLK_FORMAT_QCOW2, false), 0);
    uint8_t w[512], r[512];
    t_fill(w, sizeof(w), 5);
    assert_int_equal(blk_image_pwrite(t.img, 4096, w, sizeof(w)), 0);
    assert_int_equal(qcow2_resize(t.q, 64 << 20), 0);
    assert_int_equal(qcow2_resize(t.q, 1 << 20), -ENOTSUP);
    assert_int_equal(blk_image_pwrite(t.img, (64 << 20) - 512, w, sizeof(w)), 0);
    t_close(&t);
    assert_int_equal(t_open(&t, p, BLK_FORMAT_QCOW2, true), 0);
    assert_int_equal(t.img->size, 64 << 20);
    assert_int_equal(blk_image_pread(t.img, 4096, r, sizeof(r)), 0);
    assert_memory_equal(w, r, sizeof(r));
    assert_int_equal(blk_image_pread(t.img, (64 << 20) - 512, r, sizeof(r)), 0);
    assert_memory_equal(w, r, sizeof(r));
    assert_int_equal(blk_image_pread(t.img, 64 << 20, r, 1), -EINVAL);
    assert_int_equal(t_check(&t), 0);
    t_close(&t);
}

static void test_l2_cache_eviction(void **state)
{
    /* 4 KiB clusters: one L2 table maps 2 MiB; touching 200 tables exceeds the cache. */
    char p[256];
    struct timg t;
    t_path(p, dir, "evict.qcow2");
    t_create(p, 400 << 20, 12, NULL, NULL);
    assert_int_equal(t_open(&t, p, BLK_FORMAT_QCOW2, false), 0);
    uint64_t v;
    for (uint64_t i = 0; i < 200; i++) {
        v = i * 0x0101010101010101ull;
        assert_int_equal(blk_image_pwrite(t.img, i * (2 << 20) + 8, &v, 8), 0);
    }
    for (uint64_t i = 0; i < 200; i++) {
        assert_int_equal(blk_image_pread(t.img, i * (2 << 20) + 8, &v, 8), 0);
        assert_int_equal(v, i * 0x0101010101010101ull);
    }
    t_close(&t);
    assert_int_equal(t_open(&t, p, BLK_FORMAT_QCOW2, true), 0);
    assert_int_equal(t_check(&t), 0);
    t_close(&t);
}

static void test_partial_write_into_reused_space(void **state)
{
    /* Freed clusters hold old data: a partial write that reuses one must still read zeroes
     * around the new bytes (explicit copy-on-write instead of relying on holes). */
    char p[256];
    struct timg t;
    t_path(p, dir, "reuse.qcow2");
    t_create(p, 1 << 20, 12, NULL, NULL);
    assert_int_equal(t_open(&t, p, BLK_FORMAT_QCOW2, false), 0);
    uint8_t w[16384], r[4096];
    memset(w, 0xab, sizeof(w));
    assert_int_equal(blk_image_pwrite(t.img, 0, w, sizeof(w)), 0);
    assert_int_equal(t.img->ops->discard(t.img, 0, sizeof(w)), 0);
    assert_int_equal(qcow2_flush(t.q), 0); /* the four clusters are free again */
    memset(w, 0x11, 100);
    assert_int_equal(blk_image_pwrite(t.img, 65536 + 1000, w, 100), 0);
    assert_int_equal(blk_image_pread(t.img, 65536, r, sizeof(r)), 0);
    for (size_t i = 0; i < sizeof(r); i++)
        assert_int_equal(r[i], i >= 1000 && i < 1100 ? 0x11 : 0);
    /* Fresh space past everything written: the fast path, same result. */
    assert_int_equal(blk_image_pwrite(t.img, 900000 + 7, w, 100), 0);
    assert_int_equal(blk_image_pread(t.img, 897024, r, sizeof(r)), 0);
    for (size_t i = 0; i < sizeof(r); i++)
        assert_int_equal(r[i], i >= 2983 && i < 3083 ? 0x11 : 0);
    t_close(&t);
    assert_int_equal(t_open(&t, p, BLK_FORMAT_QCOW2, true), 0);
    assert_int_equal(t_check(&t), 0);
    t_close(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fresh_image_reads_zero_and_maps_unalloc),
        cmocka_unit_test(test_write_read_across_tables),
        cmocka_unit_test(test_cow_over_backing),
        cmocka_unit_test(test_zeroes_and_discard),
        cmocka_unit_test(test_resize_grows),
        cmocka_unit_test(test_l2_cache_eviction),
        cmocka_unit_test(test_partial_write_into_reused_space),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
