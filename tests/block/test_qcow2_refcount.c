/* Unit tests of qcow2 refcounts: allocation, deferred frees and reuse, refcount-table growth,
 * narrow and wide refcount widths, leak detection and repair by check. */
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

static void test_alloc_sets_refcount(void **state)
{
    char p[256];
    struct timg t;
    t_path(p, dir, "a.qcow2");
    t_create(p, 1 << 20, 16, NULL, NULL);
    assert_int_equal(t_open(&t, p, BLK_FORMAT_QCOW2, false), 0);
    uint64_t off, off2, rc;
    assert_int_equal(qcow2_alloc_clusters(t.q, 3, &off), 0);
    assert_int_equal(off % 65536, 0);
    for (uint64_t i = 0; i < 3; i++) {
        assert_int_equal(qcow2_get_refcount(t.q, off / 65536 + i, &rc), 0);
        assert_int_equal(rc, 1);
    }
    assert_int_equal(qcow2_get_refcount(t.q, 0, &rc), 0);
    assert_int_equal(rc, 1); /* the header */
    /* A deferred free only takes effect after a flush, then the space is reused. */
    assert_int_equal(qcow2_free_deferred(t.q, off, 3), 0);
    assert_int_equal(qcow2_get_refcount(t.q, off / 65536, &rc), 0);
    assert_int_equal(rc, 1);
    assert_int_equal(qcow2_flush(t.q), 0);
    assert_int_equal(qcow2_get_refcount(t.q, off / 65536, &rc), 0);
    assert_int_equal(rc, 0);
    assert_int_equal(qcow2_alloc_clusters(t.q, 2, &off2), 0);
    assert_int_equal(off2, off);
    assert_int_equal(qcow2_update_refcount(t.q, off2, 2, -1), 0);
    assert_int_equal(qcow2_update_refcount(t.q, off2, 1, -1), -EIO); /* underflow */
    assert_int_equal(qcow2_flush(t.q), 0);
    assert_int_equal(t_check(&t), 0);
    t_close(&t);
}

static void test_reftable_growth(void **state)
{
    /* 512-byte clusters with 16-bit refcounts: a block covers 128 KiB and the initial table
     * 64 blocks (8 MiB), so writing 12 MiB of data must grow the refcount table. */
    char p[256];
    struct timg t;
    t_path(p, dir, "grow.qcow2");
    t_create(p, 16 << 20, 9, NULL, NULL);
    assert_int_equal(t_open(&t, p, BLK_FORMAT_QCOW2, false), 0);
    uint64_t before = t.q->reftable_size;
    size_t n = 12 << 20;
    uint8_t *w = malloc(n), *r = malloc(n);
    t_fill(w, n, 77);
    assert_int_equal(blk_image_pwrite(t.img, 0, w, n), 0);
    assert_true(t.q->reftable_size > before);
    t_close(&t);
    assert_int_equal(t_open(&t, p, BLK_FORMAT_QCOW2, true), 0);
    assert_int_equal(blk_image_pread(t.img, 0, r, n), 0);
    assert_memory_equal(w, r, n);
    assert_int_equal(t_check(&t), 0);
    t_close(&t);
    free(w);
    free(r);
}

static void test_refcount_widths(void **state)
{
    for (unsigned order = 0; order <= 6; order++) {
        char p[256], name[32];
        snprintf(name, sizeof(name), "w%u.qcow2", order);
        t_path(p, dir, name);
        struct qcow2_create_opts o = {
            .size = 1 << 20, .cluster_bits = 12, .refcount_bits = 1u << order, .version = 3};
        char err[BLK_ERRBUF_SIZE];
        assert_int_equal(qcow2_create(p, &o, err, sizeof(err)), 0);
        struct timg t;
        assert_int_equal(t_open(&t, p, BLK_FORMAT_QCOW2, false), 0);
        uint8_t w[10000], r[10000];
        t_fill(w, sizeof(w), (uint8_t)order);
        assert_int_equal(blk_image_pwrite(t.img, 5000, w, sizeof(w)), 0);
        assert_int_equal(blk_image_pread(t.img, 5000, r, sizeof(r)), 0);
        assert_memory_equal(w, r, sizeof(r));
        uint64_t rc;
        assert_int_equal(qcow2_get_refcount(t.q, 0, &rc), 0);
        assert_int_equal(rc, 1);
        assert_int_equal(t.q->h.refcount_order, order);
        assert_int_equal(t.q->refcount_max, t.q->h.refcount_order == 6
                                                ? UINT64_MAX
                                                : (1ull << (1u << t.q->h.refcount_order)) - 1);
        assert_int_equal(qcow2_flush(t.q), 0);
        assert_int_equal(t_check(&t), 0);
        t_close(&t);
    }
}

static void test_check_finds_and_repairs_leaks(void **state)
{
    char p[256];
    struct timg t;
    t_path(p, dir, "leak.qcow2");
    t_create(p, 1 << 20, 16, NULL, NULL);
    assert_int_equal(t_open(&t, p, BLK_FORMAT_QCOW2, false), 0);
    uint64_t off;
    assert_int_equal(qcow2_alloc_clusters(t.q, 2, &off), 0); /* never referenced: leaked */
    assert_int_equal(qcow2_flush(t.q), 0);
    assert_int_equal(t_check(&t), 2);
    struct qcow2_check_result res;
    assert_int_equal(qcow2_check(t.q, true, &res, NULL), 0);
    assert_int_equal(res.leaks_fixed, 2);
    assert_int_equal(t_check(&t), 0);
    t_close(&t);
}

static void test_crash_leaves_only_leaks(void **state)
{
    /* Dropping an image without flushing must leave a consistent (maybe leaky) file. */
    char p[256];
    struct timg t;
    t_path(p, dir, "crash.qcow2");
    t_create(p, 8 << 20, 12, NULL, NULL);
    assert_int_equal(t_open(&t, p, BLK_FORMAT_QCOW2, false), 0);
    uint8_t w[4096];
    for (int i = 0; i < 500; i++) {
        t_fill(w, sizeof(w), (uint8_t)i);
        assert_int_equal(blk_image_pwrite(t.img, (uint64_t)(i * 7919 % 2000) * 4096, w, sizeof(w)),
                         0);
        if (i == 250)
            assert_int_equal(qcow2_flush(t.q), 0);
    }
    t_abandon(&t);
    assert_int_equal(t_open(&t, p, BLK_FORMAT_QCOW2, false), 0);
    struct qcow2_check_result res;
    assert_int_equal(qcow2_check(t.q, false, &res, stderr), 0);
    assert_int_equal(res.corruptions, 0);
    t_close(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alloc_sets_refcount),
        cmocka_unit_test(test_reftable_growth),
        cmocka_unit_test(test_refcount_widths),
        cmocka_unit_test(test_check_finds_and_repairs_leaks),
        cmocka_unit_test(test_crash_leaves_only_leaks),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
