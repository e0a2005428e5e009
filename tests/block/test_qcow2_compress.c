/* Unit tests of compressed-cluster decoding: zlib raw deflate and zstd with sector padding,
 * corrupt and short input, and the compressed-cluster descriptor arithmetic. */
#include <zlib.h>
#include <zstd.h>

#include "blk_test_util.h"

#define CS 65536u

static size_t deflate_raw(const uint8_t *in, size_t n, uint8_t *out, size_t cap)
{
    z_stream s;
    memset(&s, 0, sizeof(s));
    assert_int_equal(deflateInit2(&s, 6, Z_DEFLATED, -12, 9, Z_DEFAULT_STRATEGY), Z_OK);
    s.next_in = (Bytef *)in;
    s.avail_in = (uInt)n;
    s.next_out = out;
    s.avail_out = (uInt)cap;
    assert_int_equal(deflate(&s, Z_FINISH), Z_STREAM_END);
    size_t len = cap - s.avail_out;
    deflateEnd(&s);
    return len;
}

static void test_zlib_roundtrip_with_padding(void **state)
{
    static uint8_t in[CS], comp[2 * CS], out[CS];
    t_fill(in, CS, 1);
    memset(in + 1000, 0, 30000);
    size_t len = deflate_raw(in, CS, comp, sizeof(comp));
    memset(comp + len, 0xcc, 700); /* sector padding after the stream */
    assert_int_equal(qcow2_decompress(QCOW2_COMPRESS_ZLIB, comp, len + 700, out, CS), 0);
    assert_memory_equal(in, out, CS);
    /* Truncated and corrupted streams are rejected. */
    assert_true(qcow2_decompress(QCOW2_COMPRESS_ZLIB, comp, len / 2, out, CS) < 0);
    memset(comp, 0xff, 64);
    assert_true(qcow2_decompress(QCOW2_COMPRESS_ZLIB, comp, len, out, CS) < 0);
}

static void test_zstd_roundtrip_with_padding(void **state)
{
    static uint8_t in[CS], comp[2 * CS], out[CS];
    t_fill(in, CS, 2);
    memset(in + 4096, 'z', 20000);
    size_t len = ZSTD_compress(comp, sizeof(comp), in, CS, 3);
    assert_false(ZSTD_isError(len));
    memset(comp + len, 0, 300);
    assert_int_equal(qcow2_decompress(QCOW2_COMPRESS_ZSTD, comp, len + 300, out, CS), 0);
    assert_memory_equal(in, out, CS);
    assert_true(qcow2_decompress(QCOW2_COMPRESS_ZSTD, comp, len - 10, out, CS) < 0);
    /* A frame that decodes to less than a cluster is an error. */
    len = ZSTD_compress(comp, sizeof(comp), in, CS / 2, 3);
    assert_true(qcow2_decompress(QCOW2_COMPRESS_ZSTD, comp, len, out, CS) < 0);
    assert_true(qcow2_decompress(QCOW2_COMPRESS_ZSTD, (const uint8_t *)"garbage", 7, out, CS) < 0);
    assert_true(qcow2_decompress((enum qcow2_compression)7, comp, len, out, CS) < 0);
}

static void test_descriptor(void **state)
{
    struct qcow2 q = {.cluster_bits = 16, .cluster_size = CS};
    /* cluster_bits 16: x = 62 - 8 = 54 offset bits; sector count above. */
    uint64_t off, len;
    uint64_t e = QCOW2_OFLAG_COMPRESSED | (3ull << 54) | 0x123456ull;
    qcow2_compressed_extent(&q, e, &off, &len);
    assert_int_equal(off, 0x123456);
    assert_int_equal(len, 4 * 512 - (0x123456 & 511));
    q.cluster_bits = 9;
    q.cluster_size = 512;
    e = QCOW2_OFLAG_COMPRESSED | (1ull << 61) | 0x200ull; /* x = 61: one extra sector */
    qcow2_compressed_extent(&q, e, &off, &len);
    assert_int_equal(off, 0x200);
    assert_int_equal(len, 1024);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_zlib_roundtrip_with_padding),
        cmocka_unit_test(test_zstd_roundtrip_with_padding),
        cmocka_unit_test(test_descriptor),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
