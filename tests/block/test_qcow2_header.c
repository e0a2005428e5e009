/* Unit tests of qcow2 header parsing and validation (qcow2_header_parse). */
#include "blk_test_util.h"

#define CS    65536u
#define FSIZE (8u * CS)

/* A valid v3 header: L1 at cluster 3 (1 entry), refcount table at cluster 1. */
static void build(uint8_t *b)
{
    memset(b, 0, CS);
    qcow2_put_be32(b, QCOW2_MAGIC);
    qcow2_put_be32(b + 4, 3);
    qcow2_put_be32(b + 20, 16);
    qcow2_put_be64(b + 24, 1 << 20);
    qcow2_put_be32(b + 36, 1);
    qcow2_put_be64(b + 40, 3 * CS);
    qcow2_put_be64(b + 48, CS);
    qcow2_put_be32(b + 56, 1);
    qcow2_put_be32(b + 96, 4);
    qcow2_put_be32(b + 100, 112);
}

static int parse(uint8_t *b, uint64_t fsize, struct qcow2_header *h, char *err)
{
    return qcow2_header_parse(b, CS, fsize, h, err, BLK_ERRBUF_SIZE);
}

static void test_valid_v3(void **state)
{
    static uint8_t b[CS];
    struct qcow2_header h;
    char err[BLK_ERRBUF_SIZE] = "";
    build(b);
    assert_int_equal(parse(b, FSIZE, &h, err), 0);
    assert_int_equal(h.version, 3);
    assert_int_equal(h.cluster_bits, 16);
    assert_int_equal(h.size, 1 << 20);
    assert_int_equal(h.l1_table_offset, 3 * CS);
    assert_int_equal(h.refcount_order, 4);
}

static void test_v2_with_backing_name(void **state)
{
    static uint8_t b[CS];
    struct qcow2_header h;
    char err[BLK_ERRBUF_SIZE] = "";
    build(b);
    qcow2_put_be32(b + 4, 2);
    memset(b + 72, 0, 40);
    qcow2_put_be64(b + 8, 72);
    qcow2_put_be32(b + 16, 8);
    memcpy(b + 72, "base.img", 8);
    assert_int_equal(parse(b, FSIZE, &h, err), 0);
    assert_string_equal(h.backing_file, "base.img");
    assert_int_equal(h.refcount_order, 4);
}

static void test_backing_format_extension(void **state)
{
    static uint8_t b[CS];
    struct qcow2_header h;
    char err[BLK_ERRBUF_SIZE] = "";
    build(b);
    qcow2_put_be32(b + 112, QCOW2_EXT_BACKING_FORMAT);
    qcow2_put_be32(b + 116, 3);
    memcpy(b + 120, "raw", 3);
    qcow2_put_be64(b + 8, 136);
    qcow2_put_be32(b + 16, 4);
    memcpy(b + 136, "base", 4);
    assert_int_equal(parse(b, FSIZE, &h, err), 0);
    assert_string_equal(h.backing_format, "raw");
    assert_string_equal(h.backing_file, "base");
}

/* Each case corrupts one field of a valid header and expects a rejection with a message. */
struct bad_case {
    const char *what;
    unsigned off;
    unsigned width;
    uint64_t value;
    const char *msg_part;
};

static const struct bad_case bad_cases[] = {
    {"magic", 0, 4, 0x12345678, "magic"},
    {"version", 4, 4, 4, "version"},
    {"small cluster", 20, 4, 8, "cluster size"},
    {"huge cluster", 20, 4, 22, "cluster size"},
    {"absurd L1 size", 36, 4, 0x7fffffff, "L1"},
    {"L1 past EOF", 40, 8, 100ull * CS, "L1 table lies past"},
    {"L1 overlaps refcount table", 40, 8, CS, "overlap"},
    {"L1 overlaps header", 40, 8, 0, "L1"},
    {"unaligned L1", 40, 8, 3 * CS + 8, "aligned"},
    {"refcount table past EOF", 48, 8, 1000ull * CS, "refcount table"},
    {"refcount table huge", 56, 4, 100000, "refcount table"},
    {"encrypted", 32, 4, 1, "encrypt"},
    {"unknown incompatible feature", 72, 8, 1ull << 40, "incompatible"},
    {"data file", 72, 8, QCOW2_INCOMPAT_DATA_FILE, "external data"},
    {"refcount order", 96, 4, 7, "refcount order"},
    {"header length", 100, 4, 100, "header length"},
    {"size too large for L1", 24, 8, 1ull << 40, "too small"},
    {"absurd size", 24, 8, 1ull << 62, "virtual size"},
    {"too many snapshots", 60, 4, 1000000, "snapshots"},
    {"backing name out of bounds", 8, 8, CS - 2, "backing file name"},
};

static void test_rejections(void **state)
{
    static uint8_t b[CS];
    for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
        const struct bad_case *c = &bad_cases[i];
        struct qcow2_header h;
        char err[BLK_ERRBUF_SIZE] = "";
        build(b);
        if (c->off == 8) /* backing name: give it a size too */
            qcow2_put_be32(b + 16, 100);
        if (c->width == 4)
            qcow2_put_be32(b + c->off, (uint32_t)c->value);
        else
            qcow2_put_be64(b + c->off, c->value);
        int r = parse(b, FSIZE, &h, err);
        if (r >= 0 || !strstr(err, c->msg_part)) {
            fprintf(stderr, "case '%s': r=%d err='%s'\n", c->what, r, err);
            fail();
        }
    }
}

static void test_truncated(void **state)
{
    static uint8_t b[CS];
    struct qcow2_header h;
    char err[BLK_ERRBUF_SIZE] = "";
    build(b);
    assert_true(qcow2_header_parse(b, 50, FSIZE, &h, err, sizeof(err)) < 0);
    assert_true(parse(b, 2 * CS, &h, err) < 0); /* L1 table beyond a truncated file */
}

static void test_extension_overflow(void **state)
{
    static uint8_t b[CS];
    struct qcow2_header h;
    char err[BLK_ERRBUF_SIZE] = "";
    build(b);
    qcow2_put_be32(b + 112, 0x1234);
    qcow2_put_be32(b + 116, 0xfffffff0u);
    assert_true(parse(b, FSIZE, &h, err) < 0);
    assert_non_null(strstr(err, "extension"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_v3),
        cmocka_unit_test(test_v2_with_backing_name),
        cmocka_unit_test(test_backing_format_extension),
        cmocka_unit_test(test_rejections),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_extension_overflow),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
