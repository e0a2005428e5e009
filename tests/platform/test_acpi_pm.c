/* ACPI PM block tests: PM timer monotonic at 3.579545 MHz, S5 power-off, other sleep types
 * ignored, reset register, SCI on the power button, SCI_EN set at reset. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/vclock.h"
#include "platform/acpi_pm.h"

struct fixture {
    struct vclock clock;
    struct acpi_pm *pm;
    int offs, resets;
    bool sci;
};

static void set_sci(void *o, bool level)
{
    ((struct fixture *)o)->sci = level;
}

static void power_off(void *o)
{
    ((struct fixture *)o)->offs++;
}

static void reset(void *o)
{
    ((struct fixture *)o)->resets++;
}

static const struct acpi_pm_ops ops = {.set_sci = set_sci, .power_off = power_off, .reset = reset};

static int setup(void **state)
{
    struct fixture *f = test_calloc(1, sizeof(*f));
    vclock_init(&f->clock, VCLOCK_DEFAULT_TSC_HZ);
    f->pm = acpi_pm_create(&f->clock, &ops, f);
    assert_non_null(f->pm);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    acpi_pm_destroy(f->pm);
    test_free(f);
    return 0;
}

static void test_pm_timer(void **state)
{
    struct fixture *f = *state;
    uint32_t prev = acpi_pm_io_read(f->pm, ACPI_PM_TMR_BLK, 4);
    for (int i = 0; i < 1000; i++) {
        uint32_t v = acpi_pm_io_read(f->pm, ACPI_PM_TMR_BLK, 4);
        assert_true(v >= prev);
        prev = v;
    }
    uint32_t a = acpi_pm_timer(f->pm);
    f->clock.base_ns -= 1000000000ULL; /* one second */
    uint32_t b = acpi_pm_timer(f->pm);
    assert_in_range(b - a, 3579545 - 100, 3579545 + 4000);
    /* Byte access to the timer works too. */
    uint32_t lo = acpi_pm_io_read(f->pm, ACPI_PM_TMR_BLK, 1);
    assert_true(lo <= 0xFF);
}

static void test_sleep_and_reset(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(acpi_pm_io_read(f->pm, ACPI_PM1A_CNT_BLK, 2) & 1, 1); /* SCI_EN */
    /* S3 (type 1) is not supported: ignored. */
    acpi_pm_io_write(f->pm, ACPI_PM1A_CNT_BLK, (1u << 10) | (1u << 13) | 1, 2);
    assert_int_equal(f->offs, 0);
    /* SLP_TYP without SLP_EN: nothing. */
    acpi_pm_io_write(f->pm, ACPI_PM1A_CNT_BLK, (ACPI_SLP_TYP_S5 << 10) | 1, 2);
    assert_int_equal(f->offs, 0);
    acpi_pm_io_write(f->pm, ACPI_PM1A_CNT_BLK, (ACPI_SLP_TYP_S5 << 10) | (1u << 13) | 1, 2);
    assert_int_equal(f->offs, 1);
    assert_int_equal(acpi_pm_io_read(f->pm, ACPI_PM1A_CNT_BLK, 2) & (1u << 13), 0);
    acpi_pm_io_write(f->pm, ACPI_RESET_REG, 0x01, 1);
    assert_int_equal(f->resets, 0);
    acpi_pm_io_write(f->pm, ACPI_RESET_REG, ACPI_RESET_VALUE, 1);
    assert_int_equal(f->resets, 1);
    /* Outside the block: ignored, reads all-ones. */
    assert_int_equal(acpi_pm_io_read(f->pm, PORT_ACPI_PM_BASE + ACPI_PM_BLOCK_LEN, 1), 0xFFFFFFFFu);
    acpi_pm_io_write(f->pm, PORT_ACPI_PM_BASE + ACPI_PM_BLOCK_LEN - 1, 0xFFFFFFFF, 4);
}

static void test_power_button_sci(void **state)
{
    struct fixture *f = *state;
    acpi_pm_press_power_button(f->pm);
    assert_false(f->sci); /* not enabled */
    assert_int_equal(acpi_pm_io_read(f->pm, ACPI_PM1A_EVT_BLK, 2), 1u << 8);
    acpi_pm_io_write(f->pm, ACPI_PM1A_EVT_BLK + 2, 1u << 8, 2); /* PWRBTN_EN */
    assert_true(f->sci);
    /* GBL_EN reads back (ACPICA's global-lock check); reserved enable bits do not. */
    acpi_pm_io_write(f->pm, ACPI_PM1A_EVT_BLK + 2, (1u << 8) | (1u << 5) | (1u << 3), 2);
    assert_int_equal(acpi_pm_io_read(f->pm, ACPI_PM1A_EVT_BLK + 2, 2), (1u << 8) | (1u << 5));
    acpi_pm_io_write(f->pm, ACPI_PM1A_EVT_BLK, 1u << 8, 2); /* write 1 to clear */
    assert_false(f->sci);
    assert_int_equal(acpi_pm_io_read(f->pm, ACPI_PM1A_EVT_BLK, 2), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_pm_timer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sleep_and_reset, setup, teardown),
        cmocka_unit_test_setup_teardown(test_power_button_sci, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
