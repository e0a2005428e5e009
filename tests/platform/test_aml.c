/* AML builder tests: package-length encodings at each size boundary, name strings (root,
 * parent, dual, multi, padding), integer encodings, EISA IDs, nested constructs, errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "platform/aml.h"

static void test_pkglength(void **state)
{
    (void)state;
    uint8_t b[4];
    assert_int_equal(aml_pkglength(10, b), 1);
    assert_int_equal(b[0], 11);
    assert_int_equal(aml_pkglength(62, b), 1); /* 63 total */
    assert_int_equal(aml_pkglength(63, b), 2); /* 65 total: two bytes */
    assert_int_equal(b[0], 0x40 | (65 & 0xF));
    assert_int_equal(b[1], 65 >> 4);
    assert_int_equal(aml_pkglength(4093, b), 2); /* 4095 */
    assert_int_equal(aml_pkglength(4094, b), 3); /* 4097 */
    assert_int_equal(b[0], 0x80 | (4097 & 0xF));
    assert_int_equal(b[1], (4097 >> 4) & 0xFF);
    assert_int_equal(b[2], 4097 >> 12);
    assert_int_equal(aml_pkglength(1u << 20, b), 4);
    assert_int_equal(b[0] >> 6, 3);
    assert_int_equal(aml_pkglength(1u << 28, b), 0);
}

static void test_names_and_integers(void **state)
{
    (void)state;
    struct aml a;
    aml_init(&a);
    aml_name_string(&a, "\\_SB.PCI0");
    static const uint8_t dual[] = {'\\', 0x2E, '_', 'S', 'B', '_', 'P', 'C', 'I', '0'};
    assert_int_equal(a.len, sizeof(dual));
    assert_memory_equal(a.buf, dual, sizeof(dual));
    a.len = 0;
    aml_name_string(&a, "^A.BB.CCC");
    static const uint8_t multi[] = {'^', 0x2F, 3,   'A', '_', '_', '_', 'B',
                                    'B', '_',  '_', 'C', 'C', 'C', '_'};
    assert_memory_equal(a.buf, multi, sizeof(multi));
    a.len = 0;
    aml_integer(&a, 0);
    aml_integer(&a, 1);
    aml_integer(&a, 0x80);
    aml_integer(&a, 0x1234);
    aml_integer(&a, 0x12345678);
    aml_integer(&a, 0x100000000ULL);
    static const uint8_t ints[] = {0x00, 0x01, 0x0A, 0x80, 0x0B, 0x34, 0x12, 0x0C, 0x78, 0x56, 0x34,
                                   0x12, 0x0E, 0,    0,    0,    0,    1,    0,    0,    0};
    assert_int_equal(a.len, sizeof(ints));
    assert_memory_equal(a.buf, ints, sizeof(ints));
    a.len = 0;
    aml_eisaid(&a, "PNP0A03");
    static const uint8_t eisa[] = {0x0C, 0x41, 0xD0, 0x0A, 0x03};
    assert_memory_equal(a.buf, eisa, sizeof(eisa));
    assert_false(a.failed);
    aml_free(&a);
}

static void test_nesting(void **state)
{
    (void)state;
    struct aml a;
    aml_init(&a);
    aml_scope(&a, "\\_SB");
    aml_device(&a, "DEV");
    aml_name(&a, "_UID");
    aml_integer(&a, 7);
    aml_end(&a);
    aml_end(&a);
    assert_false(a.failed);
    assert_int_equal(a.depth, 0);
    /* Scope: 10 PkgLength '\' "_SB_" then Device: 5B 82 PkgLength "DEV_" 08 "_UID" 0A 07 */
    static const uint8_t want[] = {0x10, 0x14, '\\', '_',  'S', 'B', '_', 0x5B, 0x82, 0x0C, 'D',
                                   'E',  'V',  '_',  0x08, '_', 'U', 'I', 'D',  0x0A, 0x07};
    assert_int_equal(a.len, sizeof(want));
    assert_memory_equal(a.buf, want, sizeof(want));
    /* Unbalanced end and over-long names latch an error. */
    aml_end(&a);
    assert_true(a.failed);
    aml_free(&a);
    aml_init(&a);
    aml_name_string(&a, "TOOLONG");
    assert_true(a.failed);
    aml_free(&a);
}

static void test_big_package(void **state)
{
    (void)state;
    struct aml a;
    aml_init(&a);
    aml_package(&a, 200);
    for (int i = 0; i < 200; i++)
        aml_integer(&a, 0x12345678);
    aml_end(&a);
    assert_false(a.failed);
    /* 200 * 5 bytes + count byte = 1001 body bytes: a 2-byte PkgLength. */
    assert_int_equal(a.len, 1 + 2 + 1 + 1000);
    assert_int_equal(a.buf[1] >> 6, 1);
    assert_int_equal((a.buf[1] & 0xF) | a.buf[2] << 4, 1003);
    aml_free(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pkglength),
        cmocka_unit_test(test_names_and_integers),
        cmocka_unit_test(test_nesting),
        cmocka_unit_test(test_big_package),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
