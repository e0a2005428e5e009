/* The checksum module against known values (RFC 1071's example, a textbook IPv4 header, TCP and
 * UDP frames whose checksums were computed by an independent implementation, in frames.h),
 * against a plain big-endian 16-bit sum (be_sum) for every length and alignment, and with
 * hostile offsets. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "frames.h"
#include "net/net_csum.h"

/* The folded sum as the big-endian number it represents. */
static uint16_t folded_be(const void *p, size_t len, uint32_t start)
{
    uint16_t v = net_csum_fold(net_csum_partial(p, len, start));
    uint8_t b[2];
    memcpy(b, &v, 2);
    return (uint16_t)(b[0] << 8 | b[1]);
}

static void test_rfc1071_example(void **state)
{
    (void)state;
    /* RFC 1071 sec. 3: the words 0001 f203 f4f5 f6f7 sum to ddf2. */
    static const uint8_t b[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
    assert_int_equal(folded_be(b, sizeof(b), 0), 0xddf2);
    /* Split in two even pieces: the same. */
    assert_int_equal(folded_be(b + 4, 4, net_csum_partial(b, 4, 0)), 0xddf2);
}

static void test_ipv4_header(void **state)
{
    (void)state;
    uint8_t h[20];
    unhex("450000730000400040110000c0a80001c0a800c7", h);
    assert_int_equal((uint16_t)~folded_be(h, 20, 0), 0xb861);
    h[10] = 0xb8;
    h[11] = 0x61;
    assert_int_equal(folded_be(h, 20, 0), 0xFFFF); /* a correct header sums to all ones */
}

static void test_matches_reference(void **state)
{
    (void)state;
    static uint8_t buf[70000 + 8];
    srand(12345);
    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = (uint8_t)rand();
    for (size_t align = 0; align < 8; align++)
        for (size_t len = 0; len <= 300; len++)
            assert_int_equal(folded_be(buf + align, len, 0), be_sum(buf + align, len, 0));
    assert_int_equal(folded_be(buf + 3, 65535, 0), be_sum(buf + 3, 65535, 0));
    /* Carries: all ones everywhere. */
    memset(buf, 0xFF, sizeof(buf));
    assert_int_equal(folded_be(buf + 1, 70000, 0), be_sum(buf + 1, 70000, 0));
    assert_int_equal(folded_be(buf, 70000, 0xFFFFFFFFu), 0xFFFF);
}

static void test_verify_known_frames(void **state)
{
    (void)state;
    const char *frames[] = {known_udp4_hex, known_tcp4_hex, known_tcp6_hex};
    for (unsigned k = 0; k < 3; k++) {
        uint8_t f[200];
        size_t len = unhex(frames[k], f);
        assert_true(net_csum_l4_verify(f, len));
        /* Ethernet padding after the IP packet is not part of the sum. */
        uint8_t padded[260];
        memcpy(padded, f, len);
        memset(padded + len, 0xA5, 20);
        assert_true(net_csum_l4_verify(padded, len + 20));
        /* Any flipped bit from the IP addresses on (pseudo-header, header, payload) fails.
         * IPv4: addresses at 26; IPv6: at 22. */
        size_t from = f[12] == 0x08 ? 26 : 22;
        for (size_t i = from; i < len; i++) {
            f[i] ^= 0x10;
            assert_false(net_csum_l4_verify(f, len));
            f[i] ^= 0x10;
        }
        /* Truncated frames are refused, never read past len. */
        for (size_t l = 0; l < len; l++) {
            uint8_t *t = malloc(l ? l : 1);
            memcpy(t, f, l);
            assert_false(net_csum_l4_verify(t, l));
            free(t);
        }
    }
}

static void test_verify_refuses_unverifiable(void **state)
{
    (void)state;
    uint8_t f[200];
    size_t len = unhex(known_udp4_hex, f);
    f[14 + 6] |= 0x20; /* more fragments */
    assert_false(net_csum_l4_verify(f, len));
    len = unhex(known_udp4_hex, f);
    f[14 + 7] = 1; /* a fragment offset */
    assert_false(net_csum_l4_verify(f, len));
    /* A UDP datagram whose checksum computes to 0, so it is sent as 0xFFFF: valid. The same
     * with 0 in the field means "no checksum" and must not count as verified, although the
     * sum alone would check out. */
    len = unhex(known_udp4_zero_hex, f);
    assert_false(net_csum_l4_verify(f, len));
    f[34 + 6] = f[34 + 7] = 0xFF;
    assert_true(net_csum_l4_verify(f, len));
    len = unhex(known_udp4_hex, f);
    f[34 + 5]++; /* UDP length disagrees with the IP length */
    assert_false(net_csum_l4_verify(f, len));
    len = unhex(known_udp4_hex, f);
    f[14 + 9] = 1; /* ICMP: not TCP or UDP */
    assert_false(net_csum_l4_verify(f, len));
    len = unhex(known_udp4_hex, f);
    f[14] = 0x44; /* IHL 4 */
    assert_false(net_csum_l4_verify(f, len));
    len = unhex(known_udp4_hex, f);
    f[12] = 0x81; /* a VLAN tag */
    assert_false(net_csum_l4_verify(f, len));
    len = unhex(known_tcp6_hex, f);
    f[14 + 6] = 0; /* hop-by-hop options header first */
    assert_false(net_csum_l4_verify(f, len));
    len = unhex(known_tcp6_hex, f);
    f[14 + 5] += 1; /* payload length beyond the frame */
    assert_false(net_csum_l4_verify(f, len));
}

static void test_complete(void **state)
{
    (void)state;
    uint8_t f[200];
    size_t len = unhex(known_tcp4_hex, f);
    /* As a driver leaves it: the checksum field holds the folded pseudo-header sum. */
    uint8_t pseudo[12];
    memcpy(pseudo, f + 26, 8);
    pseudo[8] = 0;
    pseudo[9] = 6;
    pseudo[10] = 0;
    pseudo[11] = (uint8_t)(len - 34);
    uint16_t ph = net_csum_fold(net_csum_partial(pseudo, sizeof(pseudo), 0));
    memcpy(f + 34 + 16, &ph, 2);
    assert_false(net_csum_l4_verify(f, len));
    assert_int_equal(net_csum_complete(f, len, 34, 16), 0);
    assert_int_equal(f[50], 0x13);
    assert_int_equal(f[51], 0xfb);
    assert_true(net_csum_l4_verify(f, len));

    /* A result of 0 is stored as 0xFFFF. */
    uint8_t z[4] = {0xFF, 0xFF, 0, 0};
    assert_int_equal(net_csum_complete(z, 4, 0, 2), 0);
    assert_int_equal(z[2], 0xFF);
    assert_int_equal(z[3], 0xFF);
}

static void test_complete_hostile_offsets(void **state)
{
    (void)state;
    uint8_t f[64], copy[64];
    for (unsigned i = 0; i < sizeof(f); i++)
        f[i] = (uint8_t)(i * 7);
    memcpy(copy, f, sizeof(f));
    const size_t bad[][2] = {
        {64, 0},       {65, 0},       {63, 0},
        {62, 1},       {0, 63},       {0, 64},
        {SIZE_MAX, 2}, {2, SIZE_MAX}, {SIZE_MAX, SIZE_MAX},
        {60, 3},       {32, 31},      {65535, 16},
    };
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(net_csum_complete(f, sizeof(f), bad[i][0], bad[i][1]), -EINVAL);
        assert_memory_equal(f, copy, sizeof(f));
    }
    /* The last two bytes exactly. */
    assert_int_equal(net_csum_complete(f, sizeof(f), 62, 0), 0);
    assert_int_equal(net_csum_complete(f, sizeof(f), 0, 62), 0);
    assert_int_equal(net_csum_complete(f, 2, 0, 0), 0);
    assert_int_equal(net_csum_complete(f, 0, 0, 0), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc1071_example),
        cmocka_unit_test(test_ipv4_header),
        cmocka_unit_test(test_matches_reference),
        cmocka_unit_test(test_verify_known_frames),
        cmocka_unit_test(test_verify_refuses_unverifiable),
        cmocka_unit_test(test_complete),
        cmocka_unit_test(test_complete_hostile_offsets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
