/* Unit tests for parsing user-supplied sizes, numbers and key=value lists. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "util/parse.h"

static void test_sizes(void **state)
{
    uint64_t v;
    assert_int_equal(parse_size("512", 1 << 20, &v), 0);
    assert_int_equal(v, 512ULL << 20);
    assert_int_equal(parse_size("2G", 1 << 20, &v), 0);
    assert_int_equal(v, 2ULL << 30);
    assert_int_equal(parse_size("4k", 1, &v), 0);
    assert_int_equal(v, 4096);
    assert_int_equal(parse_size("1MiB", 1, &v), 0);
    assert_int_equal(v, 1 << 20);
    assert_int_equal(parse_size("64B", 1 << 20, &v), 0);
    assert_int_equal(v, 64);
    assert_int_equal(parse_size("", 1, &v), -EINVAL);
    assert_int_equal(parse_size("-1", 1, &v), -EINVAL);
    assert_int_equal(parse_size("12X", 1, &v), -EINVAL);
    assert_int_equal(parse_size("1GG", 1, &v), -EINVAL);
    assert_int_equal(parse_size("99999999999999999999", 1, &v), -ERANGE);
    assert_int_equal(parse_size("17179869184T", 1, &v), -ERANGE);
}

static void test_numbers(void **state)
{
    uint64_t v;
    assert_int_equal(parse_u64("4", 1, 64, &v), 0);
    assert_int_equal(v, 4);
    assert_int_equal(parse_u64("0x10", 0, 100, &v), 0);
    assert_int_equal(v, 16);
    assert_int_equal(parse_u64("0", 1, 64, &v), -ERANGE);
    assert_int_equal(parse_u64("65", 1, 64, &v), -ERANGE);
    assert_int_equal(parse_u64("4x", 1, 64, &v), -EINVAL);
    assert_int_equal(parse_u64("", 1, 64, &v), -EINVAL);
    assert_int_equal(parse_u64("-3", 0, 64, &v), -EINVAL);
}

static void test_kv_lists(void **state)
{
    struct kv_iter it;
    kv_iter_init(&it, "path=/tmp/a b.img,readonly=on,flag,id=");
    assert_true(kv_iter_next(&it));
    assert_string_equal(it.key, "path");
    assert_string_equal(it.value, "/tmp/a b.img");
    assert_true(kv_iter_next(&it));
    assert_string_equal(it.key, "readonly");
    assert_string_equal(it.value, "on");
    assert_true(kv_iter_next(&it));
    assert_string_equal(it.key, "flag");
    assert_string_equal(it.value, "");
    assert_true(kv_iter_next(&it));
    assert_string_equal(it.key, "id");
    assert_string_equal(it.value, "");
    assert_false(kv_iter_next(&it));
    assert_false(it.error);

    char longkey[100];
    for (int i = 0; i < 99; i++)
        longkey[i] = 'k';
    longkey[99] = '\0';
    kv_iter_init(&it, longkey);
    assert_false(kv_iter_next(&it));
    assert_true(it.error);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sizes),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_kv_lists),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
