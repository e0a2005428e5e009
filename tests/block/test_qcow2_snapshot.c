/* Unit tests of qcow2 internal snapshots: create, apply, delete, COW of shared clusters and
 * tables, and refusal on refcount overflow. */
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

static void fill_disk(struct timg *t, uint8_t seed, uint8_t *shadow, size_t n)
{
    t_fill(shadow, n, seed);
    assert_int_equal(blk_image_pwrite(t->img, 0, shadow, n), 0);
}

static void expect_disk(struct timg *t, const uint8_t *shadow, size_t n)
{
    uint8_t *r = malloc(n);
    assert_int_equal(blk_image_pread(t->img, 0, r, n), 0);
    assert_memory_equal(shadow, r, n);
    free(r);
}

static void test_create_apply_delete(void **state)
{
    char p[256];
    struct timg t;
    char err[BLK_ERRBUF_SIZE];
    size_t n = 300000;
    uint8_t *a = malloc(n), *b = malloc(n), *c = malloc(n);
    t_path(p, dir, "s.qcow2");
    t_create(p, 1 << 20, 12, NULL, NULL);
    assert_int_equal(t_open(&t, p, BLK_FORMAT_QCOW2, false), 0);
    fill_disk(&t, 1, a, n);
    assert_int_equal(qcow2_snapshot_create(t.q, "one", err, sizeof(err)), 0);
    assert_int_equal(qcow2_snapshot_create(t.q, "one", err, sizeof(err)), -EEXIST);
    /* Partial overwrite of shared clusters: copy-on-write keeps the snapshot intact. */
    memcpy(b, a, n);
    t_fill(b + 5000, 10000, 2);
    assert_int_equal(blk_image_pwrite(t.img, 5000, b + 5000, 10000), 0);
    expect_disk(&t, b, n);
    assert_int_equal(qcow2_snapshot_create(t.q, "two", err, sizeof(err)), 0);
    fill_disk(&t, 3, c, n);
    assert_int_equal(t.q->nb_snaps, 2);
    assert_int_equal(t_check(&t), 0);
    assert_int_equal(qcow2_snapshot_apply(t.q, "one", err, sizeof(err)), 0);
    expect_disk(&t, a, n);
    assert_int_equal(t_check(&t), 0);
    assert_int_equal(qcow2_snapshot_apply(t.q, "2", err, sizeof(err)), 0); /* by id */
    expect_disk(&t, b, n);
    assert_int_equal(qcow2_snapshot_delete(t.q, "one", err, sizeof(err)), 0);
    assert_int_equal(qcow2_snapshot_apply(t.q, "one", err, sizeof(err)), -ENOENT);
    assert_int_equal(t_check(&t), 0);
    t_close(&t);
    /* Reopen: the table survives; delete the last snapshot and the image is clean. */
    assert_int_equal(t_open(&t, p, BLK_FORMAT_QCOW2, false), 0);
    assert_int_equal(t.q->nb_snaps, 1);
    assert_string_equal(t.q->snaps[0].name, "two");
    expect_disk(&t, b, n);
    assert_int_equal(qcow2_snapshot_delete(t.q, "two", err, sizeof(err)), 0);
    assert_int_equal(t.q->nb_snaps, 0);
    assert_int_equal(t_check(&t), 0);
    expect_disk(&t, b, n);
    t_close(&t);
    free(a);
    free(b);
    free(c);
}

static void test_refcount_overflow_refused(void **state)
{
    char p[256];
    struct timg t;
    char err[BLK_ERRBUF_SIZE] = "";
    t_path(p, dir, "o.qcow2");
    struct qcow2_create_opts o = {.size = 1 << 20, .cluster_bits = 12, .refcount_bits = 1};
    assert_int_equal(qcow2_create(p, &o, err, sizeof(err)), 0);
    assert_int_equal(t_open(&t, p, BLK_FORMAT_QCOW2, false), 0);
    uint8_t w[8192];
    t_fill(w, sizeof(w), 4);
    assert_int_equal(blk_image_pwrite(t.img, 0, w, sizeof(w)), 0);
    assert_int_equal(qcow2_snapshot_create(t.q, "x", err, sizeof(err)), -ERANGE);
    assert_non_null(strstr(err, "refcount overflow"));
    assert_int_equal(t.q->nb_snaps, 0);
    assert_int_equal(t_check(&t), 0);
    t_close(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_apply_delete),
        cmocka_unit_test(test_refcount_overflow_refused),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
