/* Hostile images: each test crafts one kind of damage into a valid image and expects a clear
 * rejection (at open or on access) without crashes, out-of-bounds access or huge allocation. */
#include <fcntl.h>

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

static uint64_t file_be64(const char *p, uint64_t off)
{
    int fd = open(p, O_RDONLY);
    uint8_t b[8];
    assert_int_equal(pread(fd, b, 8, (off_t)off), 8);
    close(fd);
    return qcow2_be64(b);
}

static void file_put(const char *p, uint64_t off, uint64_t v, unsigned width)
{
    int fd = open(p, O_WRONLY);
    uint8_t b[8];
    if (width == 8)
        qcow2_put_be64(b, v);
    else
        qcow2_put_be32(b, (uint32_t)v);
    assert_int_equal(pwrite(fd, b, width, (off_t)off), width);
    close(fd);
}

/* A 1 MiB image (64 KiB clusters) with one data cluster written at guest offset 0. */
static void make_image(char *p, const char *name)
{
    t_path(p, dir, name);
    t_create(p, 1 << 20, 16, NULL, NULL);
    struct timg t;
    assert_int_equal(t_open(&t, p, BLK_FORMAT_QCOW2, false), 0);
    uint8_t w[4096];
    t_fill(w, sizeof(w), 1);
    assert_int_equal(blk_image_pwrite(t.img, 0, w, sizeof(w)), 0);
    t_close(&t);
}

static uint64_t l2_offset(const char *p)
{
    uint64_t l1 = file_be64(p, 40);
    return file_be64(p, l1) & QCOW2_OFFSET_MASK;
}

static void expect_open_error(const char *p, const char *part)
{
    struct timg t;
    int r = t_open(&t, p, BLK_FORMAT_PROBE, true);
    if (r >= 0 || !strstr(t.err, part)) {
        fprintf(stderr, "expected '%s', got r=%d '%s'\n", part, r, t.err);
        if (r >= 0)
            t_close(&t);
        fail();
    }
}

static void test_l1_entry_past_eof(void **state)
{
    char p[256];
    make_image(p, "l1.qcow2");
    file_put(p, file_be64(p, 40), (1ull << 40) | QCOW2_OFLAG_COPIED, 8);
    expect_open_error(p, "L1 entry 0 is invalid");
}

static void test_l2_entry_past_eof(void **state)
{
    char p[256];
    make_image(p, "l2.qcow2");
    file_put(p, l2_offset(p), (1ull << 44) | QCOW2_OFLAG_COPIED, 8);
    struct timg t;
    assert_int_equal(t_open(&t, p, BLK_FORMAT_PROBE, true), 0);
    uint8_t r[512];
    assert_int_equal(blk_image_pread(t.img, 0, r, sizeof(r)), -EIO);
    t_close(&t);
}

static void test_compressed_past_eof(void **state)
{
    char p[256];
    make_image(p, "c.qcow2");
    file_put(p, l2_offset(p), QCOW2_OFLAG_COMPRESSED | (1ull << 50), 8);
    struct timg t;
    assert_int_equal(t_open(&t, p, BLK_FORMAT_PROBE, true), 0);
    uint8_t r[512];
    assert_int_equal(blk_image_pread(t.img, 0, r, sizeof(r)), -EIO);
    t_close(&t);
}

static void test_garbage_compressed_cluster(void **state)
{
    char p[256];
    make_image(p, "g.qcow2");
    /* Point a compressed descriptor at the L2 table itself: not a deflate stream. */
    file_put(p, l2_offset(p), QCOW2_OFLAG_COMPRESSED | l2_offset(p) | (3ull << 54), 8);
    struct timg t;
    assert_int_equal(t_open(&t, p, BLK_FORMAT_PROBE, true), 0);
    uint8_t r[512];
    assert_true(blk_image_pread(t.img, 0, r, sizeof(r)) < 0);
    t_close(&t);
}

static void test_overlapping_metadata(void **state)
{
    char p[256];
    make_image(p, "ov.qcow2");
    file_put(p, 40, file_be64(p, 48), 8); /* L1 table on top of the refcount table */
    expect_open_error(p, "overlap");
}

static void test_l2_overlapping_header_cluster(void **state)
{
    char p[256];
    make_image(p, "ovh.qcow2");
    /* An L2 entry mapping guest data onto the header: reading works, writing is refused by
     * copy-on-write rules (no COPIED flag), and check reports the corruption. */
    file_put(p, l2_offset(p), QCOW2_OFLAG_COPIED, 8); /* offset 0 but COPIED: reads zero */
    struct timg t;
    assert_int_equal(t_open(&t, p, BLK_FORMAT_PROBE, false), 0);
    uint8_t r[512];
    assert_int_equal(blk_image_pread(t.img, 0, r, sizeof(r)), 0);
    t_close(&t);
    file_put(p, l2_offset(p), 65536 | QCOW2_OFLAG_COPIED, 8); /* the refcount table */
    assert_int_equal(t_open(&t, p, BLK_FORMAT_PROBE, false), 0);
    assert_true(t_check(&t) >= 1000);
    blk_image_close(t.img);
    io_uring_queue_exit(&t.ring);
}

static void test_absurd_l1_size(void **state)
{
    char p[256];
    make_image(p, "big.qcow2");
    file_put(p, 36, 0x7fffffff, 4);
    expect_open_error(p, "absurdly large");
}

static void test_refblock_past_eof(void **state)
{
    char p[256];
    make_image(p, "rb.qcow2");
    file_put(p, file_be64(p, 48), 1ull << 45, 8);
    expect_open_error(p, "refcount block 0 has an invalid offset");
}

static void test_truncated_file(void **state)
{
    char p[256];
    make_image(p, "t.qcow2");
    assert_int_equal(truncate(p, 100), 0);
    expect_open_error(p, "qcow2");
    make_image(p, "t2.qcow2");
    assert_int_equal(truncate(p, 2 * 65536), 0);
    expect_open_error(p, "past the end");
}

static void test_snapshot_table_garbage(void **state)
{
    char p[256];
    make_image(p, "sn.qcow2");
    file_put(p, 60, 5, 4);         /* 5 snapshots ... */
    file_put(p, 64, 2 * 65536, 8); /* ... "stored" in the refcount block */
    expect_open_error(p, "snapshot");
}

static void test_backing_loop(void **state)
{
    char a[256], b[256];
    t_path(a, dir, "loop-a.qcow2");
    t_path(b, dir, "loop-b.qcow2");
    t_create(a, 1 << 20, 16, "loop-b.qcow2", "qcow2");
    t_create(b, 1 << 20, 16, "loop-a.qcow2", "qcow2");
    struct timg t;
    assert_int_equal(t_open(&t, a, BLK_FORMAT_PROBE, true), -ELOOP);
    assert_non_null(strstr(t.err, "loops"));
}

static void test_backing_too_deep(void **state)
{
    char p[256], name[32], prev[32] = "";
    for (int i = 0; i <= BLK_MAX_CHAIN_DEPTH; i++) {
        snprintf(name, sizeof(name), "deep%02d.qcow2", i);
        t_path(p, dir, name);
        t_create(p, 1 << 16, 16, i ? prev : NULL, i ? "qcow2" : NULL);
        strcpy(prev, name);
    }
    struct timg t;
    assert_int_equal(t_open(&t, p, BLK_FORMAT_PROBE, true), -EMLINK);
    assert_non_null(strstr(t.err, "deeper"));
    /* One level less is fine. */
    snprintf(name, sizeof(name), "deep%02d.qcow2", BLK_MAX_CHAIN_DEPTH - 1);
    t_path(p, dir, name);
    assert_int_equal(t_open(&t, p, BLK_FORMAT_PROBE, true), 0);
    t_close(&t);
}

static void test_explicit_raw_never_probed(void **state)
{
    char p[256];
    make_image(p, "asraw.qcow2");
    struct timg t;
    assert_int_equal(t_open(&t, p, BLK_FORMAT_RAW, true), 0);
    assert_int_equal(t.img->format, BLK_FORMAT_RAW);
    assert_null(t.q);
    uint8_t magic[4];
    assert_int_equal(blk_image_pread(t.img, 0, magic, 4), 0);
    assert_memory_equal(magic, "QFI\xfb", 4); /* the raw bytes, header and all */
    t_close(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_l1_entry_past_eof),
        cmocka_unit_test(test_l2_entry_past_eof),
        cmocka_unit_test(test_compressed_past_eof),
        cmocka_unit_test(test_garbage_compressed_cluster),
        cmocka_unit_test(test_overlapping_metadata),
        cmocka_unit_test(test_l2_overlapping_header_cluster),
        cmocka_unit_test(test_absurd_l1_size),
        cmocka_unit_test(test_refblock_past_eof),
        cmocka_unit_test(test_truncated_file),
        cmocka_unit_test(test_snapshot_table_garbage),
        cmocka_unit_test(test_backing_loop),
        cmocka_unit_test(test_backing_too_deep),
        cmocka_unit_test(test_explicit_raw_never_probed),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
