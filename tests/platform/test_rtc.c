/* CMOS RTC tests: BCD and binary time, 12-hour format, setting the time with SET, the clock
 * advancing with the vclock, UIP timing, register C flags and IRQ 8 on update-ended. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/vclock.h"
#include "platform/rtc_cmos.h"

/* 2024-02-29 23:59:58 UTC, a Thursday. */
#define START_TIME 1709251198

struct fixture {
    struct vclock clock;
    struct rtc_cmos *rtc;
    int raises;
    bool level;
};

static void on_irq(void *opaque, bool level)
{
    struct fixture *f = opaque;
    if (level)
        f->raises++;
    f->level = level;
}

static int setup(void **state)
{
    struct fixture *f = test_calloc(1, sizeof(*f));
    vclock_init(&f->clock, VCLOCK_DEFAULT_TSC_HZ);
    f->rtc = rtc_cmos_create(&f->clock, START_TIME, on_irq, f, NULL, NULL);
    assert_non_null(f->rtc);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    rtc_cmos_destroy(f->rtc);
    test_free(f);
    return 0;
}

static uint8_t rd(struct fixture *f, uint8_t idx)
{
    rtc_cmos_io_write(f->rtc, 0x70, idx);
    return rtc_cmos_io_read(f->rtc, 0x71);
}

static void wr(struct fixture *f, uint8_t idx, uint8_t v)
{
    rtc_cmos_io_write(f->rtc, 0x70, idx);
    rtc_cmos_io_write(f->rtc, 0x71, v);
}

static void test_bcd_time(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(rd(f, RTC_REG_D), 0x80);
    assert_int_equal(rd(f, RTC_REG_YEAR), 0x24);
    assert_int_equal(rd(f, RTC_REG_CENTURY), 0x20);
    assert_int_equal(rd(f, RTC_REG_MONTH), 0x02);
    assert_int_equal(rd(f, RTC_REG_DAY), 0x29);
    assert_int_equal(rd(f, RTC_REG_HOURS), 0x23);
    assert_int_equal(rd(f, RTC_REG_MINUTES), 0x59);
    assert_int_equal(rd(f, RTC_REG_WEEKDAY), 5); /* Thursday = 5 (Sunday = 1) */
    /* Three seconds later it is March 1st. */
    f->clock.base_ns -= 3000000000ULL;
    assert_int_equal(rd(f, RTC_REG_MONTH), 0x03);
    assert_int_equal(rd(f, RTC_REG_DAY), 0x01);
    assert_int_equal(rd(f, RTC_REG_HOURS), 0x00);
}

static void test_binary_12h(void **state)
{
    struct fixture *f = *state;
    wr(f, RTC_REG_B, 0x04);                            /* binary, 12-hour */
    assert_int_equal(rd(f, RTC_REG_HOURS), 0x80 | 11); /* 11 PM */
    assert_int_equal(rd(f, RTC_REG_MINUTES), 59);
    assert_int_equal(rd(f, RTC_REG_YEAR), 24);
}

static void test_set_time(void **state)
{
    struct fixture *f = *state;
    wr(f, RTC_REG_B, 0x82); /* SET, BCD, 24h */
    wr(f, RTC_REG_HOURS, 0x12);
    wr(f, RTC_REG_MINUTES, 0x34);
    wr(f, RTC_REG_SECONDS, 0x56);
    wr(f, RTC_REG_DAY, 0x15);
    wr(f, RTC_REG_MONTH, 0x06);
    wr(f, RTC_REG_YEAR, 0x30);
    /* Frozen while SET. */
    f->clock.base_ns -= 5000000000ULL;
    assert_int_equal(rd(f, RTC_REG_SECONDS), 0x56);
    wr(f, RTC_REG_B, 0x02);
    assert_int_equal(rd(f, RTC_REG_HOURS), 0x12);
    assert_int_equal(rd(f, RTC_REG_YEAR), 0x30);
    f->clock.base_ns -= 2000000000ULL;
    assert_int_equal(rd(f, RTC_REG_SECONDS), 0x58);
    assert_int_equal(rd(f, RTC_REG_MONTH), 0x06);
    /* C and D are read-only. */
    wr(f, RTC_REG_D, 0);
    assert_int_equal(rd(f, RTC_REG_D), 0x80);
}

static void test_update_interrupt(void **state)
{
    struct fixture *f = *state;
    rd(f, RTC_REG_C);       /* clear */
    wr(f, RTC_REG_B, 0x12); /* UIE, 24h */
    f->clock.base_ns -= 1100000000ULL;
    rtc_cmos_poll(f->rtc);
    assert_int_equal(f->raises, 1);
    assert_true(f->level);
    uint8_t c = rd(f, RTC_REG_C);
    assert_int_equal(c & 0x90, 0x90); /* IRQF | UF */
    assert_false(f->level);           /* reading C lowers IRQ 8 */
    assert_int_equal(rd(f, RTC_REG_C), 0);
    /* Flags without enable: UF is set, IRQF is not, no interrupt. */
    wr(f, RTC_REG_B, 0x02);
    f->clock.base_ns -= 1000000000ULL;
    rtc_cmos_poll(f->rtc);
    assert_int_equal(f->raises, 1);
    assert_int_equal(rd(f, RTC_REG_C) & 0x90, 0x10); /* PF/AF may be set too */
}

static void test_uip_and_ram(void **state)
{
    struct fixture *f = *state;
    /* Sample register A for one guest second in 50 us steps: UIP shows up, but only briefly. */
    int uip = 0, samples = 0;
    for (uint64_t t = 0; t < 1000000000ULL; t += 50000, samples++) {
        if (rd(f, RTC_REG_A) & 0x80)
            uip++;
        f->clock.base_ns -= 50000;
    }
    assert_in_range(uip, 3, 6);
    assert_int_equal(rd(f, RTC_REG_A) & 0x7F, 0x26);
    wr(f, 0x40, 0xAB);
    assert_int_equal(rd(f, 0x40), 0xAB);
    rtc_cmos_set_ram(f->rtc, 0x41, 0xCD);
    assert_int_equal(rd(f, 0x41), 0xCD);
    rtc_cmos_io_write(f->rtc, 0x70, 0xC1); /* NMI-mask bit is not part of the index */
    assert_int_equal(rtc_cmos_io_read(f->rtc, 0x71), 0xCD);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_bcd_time, setup, teardown),
        cmocka_unit_test_setup_teardown(test_binary_12h, setup, teardown),
        cmocka_unit_test_setup_teardown(test_set_time, setup, teardown),
        cmocka_unit_test_setup_teardown(test_update_interrupt, setup, teardown),
        cmocka_unit_test_setup_teardown(test_uip_and_ram, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
