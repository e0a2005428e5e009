/* Unit tests for the accelerator test device (src/devices/testdev.c): register semantics at
 * every access size and alignment, the access counter, reset, and bus registration. Kept with
 * the accelerator tests because the device exists to test accelerators. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "devices/testdev.h"

static int setup(void **state)
{
    *state = testdev_new();
    return *state ? 0 : -1;
}

static int teardown(void **state)
{
    testdev_free(*state);
    return 0;
}

static void test_id_read_only(void **state)
{
    struct testdev *t = *state;
    assert_int_equal(testdev_read(t, TESTDEV_REG_ID, 4), TESTDEV_ID);
    assert_int_equal(testdev_read(t, TESTDEV_REG_ID + 1, 2), (TESTDEV_ID >> 8) & 0xFFFF);
    assert_int_equal(testdev_read(t, TESTDEV_REG_ID + 3, 1), TESTDEV_ID >> 24);
    testdev_write(t, TESTDEV_REG_ID, 0, 4);
    assert_int_equal(testdev_read(t, TESTDEV_REG_ID, 4), TESTDEV_ID);
}

static void test_echo_sizes(void **state)
{
    struct testdev *t = *state;
    testdev_write(t, TESTDEV_REG_ECHO, 0x0123456789ABCDEFULL, 8);
    assert_int_equal(testdev_read(t, TESTDEV_REG_ECHO, 8), 0x0123456789ABCDEFULL);
    testdev_write(t, TESTDEV_REG_ECHO + 2, 0xBEEF, 2);
    assert_int_equal(testdev_read(t, TESTDEV_REG_ECHO, 8), 0x01234567BEEFCDEFULL);
    assert_int_equal(testdev_read(t, TESTDEV_REG_ECHO + 3, 2), 0x67BE);
    testdev_write(t, TESTDEV_REG_ECHO + 7, 0xAA, 1);
    assert_int_equal(testdev_read(t, TESTDEV_REG_ECHO + 4, 4), 0xAA234567);
}

static void test_scratch_and_invert(void **state)
{
    struct testdev *t = *state;
    for (unsigned i = 0; i < 32; i++)
        testdev_write(t, TESTDEV_REG_SCRATCH + i, i, 1);
    assert_int_equal(testdev_read(t, TESTDEV_REG_SCRATCH + 8, 8), 0x0F0E0D0C0B0A0908ULL);
    assert_int_equal(testdev_read(t, TESTDEV_REG_SCRATCH + 31, 1), 31);
    testdev_write(t, TESTDEV_REG_INVERT, 0x00FF00FF00FF00FFULL, 8);
    assert_int_equal(testdev_read(t, TESTDEV_REG_INVERT, 8), 0xFF00FF00FF00FF00ULL);
    /* Past the registers the page reads as zero and ignores writes. */
    testdev_write(t, TESTDEV_REGS_END, 0xFF, 1);
    assert_int_equal(testdev_read(t, TESTDEV_REGS_END, 8), 0);
    assert_int_equal(testdev_read(t, 0xFF8, 8), 0);
    /* A read straddling the scratch end picks up the invert register byte by byte. */
    assert_int_equal(testdev_read(t, TESTDEV_REG_INVERT - 1, 2), 0x001F);
}

static void test_counter(void **state)
{
    struct testdev *t = *state;
    testdev_read(t, TESTDEV_REG_ID, 4);
    testdev_write(t, TESTDEV_REG_ECHO, 1, 1);
    assert_int_equal(testdev_read(t, TESTDEV_REG_COUNT, 4), 2); /* accesses before this one */
    assert_int_equal(testdev_read(t, TESTDEV_REG_COUNT, 4), 3);
    testdev_write(t, TESTDEV_REG_COUNT, 0, 4); /* any write clears */
    assert_int_equal(testdev_read(t, TESTDEV_REG_COUNT, 4), 0);
    testdev_write(t, TESTDEV_REG_COUNT + 3, 0x55, 1);
    assert_int_equal(testdev_read(t, TESTDEV_REG_COUNT, 2), 0);
}

static void test_reset_and_oversize(void **state)
{
    struct testdev *t = *state;
    testdev_write(t, TESTDEV_REG_ECHO, 7, 8);
    testdev_write(t, TESTDEV_REG_SCRATCH, 7, 8);
    testdev_write(t, TESTDEV_REG_INVERT, 7, 8);
    testdev_reset(t);
    assert_int_equal(testdev_read(t, TESTDEV_REG_ECHO, 8), 0);
    assert_int_equal(testdev_read(t, TESTDEV_REG_SCRATCH, 8), 0);
    assert_int_equal(testdev_read(t, TESTDEV_REG_INVERT, 8), ~0ULL);
    assert_int_equal(testdev_read(t, TESTDEV_REG_COUNT, 4), 3);
    /* Sizes above 8 are clamped, never overrun. */
    testdev_write(t, TESTDEV_REG_ECHO, 0x1122334455667788ULL, 64);
    assert_int_equal(testdev_read(t, TESTDEV_REG_ECHO, 64), 0x1122334455667788ULL);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_id_read_only), T(test_echo_sizes),         T(test_scratch_and_invert),
        T(test_counter),      T(test_reset_and_oversize),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
