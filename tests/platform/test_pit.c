/* 8254 PIT tests with a shifted vclock: mode 0 countdown and OUT, counter latch and LSB/MSB
 * order, read-back status, mode 2 IRQ 0 periods via poll, gate and OUT2 on port 0x61, BCD. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/vclock.h"
#include "platform/pit8254.h"

struct fixture {
    struct vclock clock;
    struct pit8254 *pit;
    int edges;
    bool level;
    uint64_t armed;
};

static void on_irq(void *opaque, bool level)
{
    struct fixture *f = opaque;
    if (level && !f->level)
        f->edges++;
    f->level = level;
}

static void on_arm(void *opaque, uint64_t d)
{
    ((struct fixture *)opaque)->armed = d;
}

static void advance(struct fixture *f, uint64_t ns)
{
    f->clock.base_ns -= ns;
}

static int setup(void **state)
{
    struct fixture *f = test_calloc(1, sizeof(*f));
    vclock_init(&f->clock, VCLOCK_DEFAULT_TSC_HZ);
    f->pit = pit8254_create(&f->clock, on_irq, f, on_arm, f);
    assert_non_null(f->pit);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    pit8254_destroy(f->pit);
    test_free(f);
    return 0;
}

static uint16_t latch_read(struct pit8254 *pit, unsigned ch)
{
    pit8254_io_write(pit, 0x43, (uint8_t)(ch << 6)); /* counter latch */
    uint8_t lo = pit8254_io_read(pit, (uint16_t)(0x40 + ch));
    uint8_t hi = pit8254_io_read(pit, (uint16_t)(0x40 + ch));
    return (uint16_t)(lo | hi << 8);
}

static void test_mode0_countdown(void **state)
{
    struct fixture *f = *state;
    pit8254_io_write(f->pit, 0x61, 0x01); /* gate 2 high */
    pit8254_io_write(f->pit, 0x43, 0xB0); /* ch2, lo/hi, mode 0 */
    pit8254_io_write(f->pit, 0x42, 0xFF);
    pit8254_io_write(f->pit, 0x42, 0xFF);
    assert_false(pit8254_io_read(f->pit, 0x61) & 0x20); /* OUT2 low while counting */
    uint16_t a = latch_read(f->pit, 2);
    advance(f, 10000000); /* 10 ms = 11932 ticks */
    uint16_t b = latch_read(f->pit, 2);
    assert_true(a > b);
    assert_in_range(a - b, 11900, 11960);
    advance(f, 50000000); /* past terminal count (65535 ticks = 54.9 ms) */
    assert_true(pit8254_io_read(f->pit, 0x61) & 0x20);
    /* Gate low freezes the count in mode 0. */
    pit8254_io_write(f->pit, 0x43, 0xB0);
    pit8254_io_write(f->pit, 0x42, 0x00);
    pit8254_io_write(f->pit, 0x42, 0x80);
    pit8254_io_write(f->pit, 0x61, 0x00);
    uint16_t c = latch_read(f->pit, 2);
    advance(f, 5000000);
    assert_int_equal(latch_read(f->pit, 2), c);
}

static void test_latch_holds_and_readback(void **state)
{
    struct fixture *f = *state;
    pit8254_io_write(f->pit, 0x43, 0x34); /* ch0, lo/hi, mode 2 */
    pit8254_io_write(f->pit, 0x40, 0x9C);
    pit8254_io_write(f->pit, 0x40, 0x2E); /* 11932: 100 Hz */
    pit8254_io_write(f->pit, 0x43, 0x00); /* latch ch0 */
    advance(f, 3000000);
    uint8_t lo = pit8254_io_read(f->pit, 0x40);
    uint8_t hi = pit8254_io_read(f->pit, 0x40);
    uint16_t v = (uint16_t)(lo | hi << 8);
    assert_true(v > 11000); /* latched before the time moved */
    /* Read-back: status of ch0 (mode 2, lo/hi, OUT high). */
    pit8254_io_write(f->pit, 0x43, 0xE2);
    uint8_t st = pit8254_io_read(f->pit, 0x40);
    assert_int_equal(st & 0x3F, 0x34);
    /* LSB-only access. */
    pit8254_io_write(f->pit, 0x43, 0x50); /* ch1, LSB, mode 0 */
    pit8254_io_write(f->pit, 0x41, 200);
    uint8_t c1 = pit8254_io_read(f->pit, 0x41);
    assert_true(c1 <= 200 && c1 > 100);
}

static void test_mode2_irq(void **state)
{
    struct fixture *f = *state;
    pit8254_io_write(f->pit, 0x43, 0x34);
    pit8254_io_write(f->pit, 0x40, 0x9C);
    pit8254_io_write(f->pit, 0x40, 0x2E); /* 10 ms period */
    assert_int_not_equal(f->armed, UINT64_MAX);
    pit8254_poll(f->pit);
    assert_int_equal(f->edges, 0);
    advance(f, 10100000);
    pit8254_poll(f->pit);
    assert_int_equal(f->edges, 1);
    assert_false(f->level); /* an edge: raised then lowered */
    advance(f, 10000000);
    pit8254_poll(f->pit);
    assert_int_equal(f->edges, 2);
    /* Missed periods coalesce into one interrupt. */
    advance(f, 50000000);
    pit8254_poll(f->pit);
    assert_int_equal(f->edges, 3);
    /* Mode 0 (Linux's shutdown): one interrupt at terminal count, then nothing. */
    pit8254_io_write(f->pit, 0x43, 0x30);
    pit8254_io_write(f->pit, 0x40, 0x10);
    pit8254_io_write(f->pit, 0x40, 0x00);
    advance(f, 1000000);
    pit8254_poll(f->pit);
    assert_int_equal(f->edges, 4);
    advance(f, 100000000);
    pit8254_poll(f->pit);
    assert_int_equal(f->edges, 4);
    assert_int_equal(f->armed, UINT64_MAX);
}

static void test_bcd(void **state)
{
    struct fixture *f = *state;
    pit8254_io_write(f->pit, 0x43, 0x71); /* ch1, lo/hi, mode 0, BCD */
    pit8254_io_write(f->pit, 0x41, 0x00);
    pit8254_io_write(f->pit, 0x41, 0x50); /* 5000 decimal */
    uint16_t v = latch_read(f->pit, 1);
    /* Every nibble is a decimal digit and the value is at most 5000. */
    for (int s = 0; s < 16; s += 4)
        assert_true(((v >> s) & 0xF) <= 9);
    assert_true(v <= 0x5000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_mode0_countdown, setup, teardown),
        cmocka_unit_test_setup_teardown(test_latch_holds_and_readback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mode2_irq, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bcd, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
