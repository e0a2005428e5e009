/* LAPIC unit tests: priorities (TPR/PPR), IRR->ISR->EOI, level EOI hook, timer modes (one-shot,
 * periodic, TSC-deadline) with a shifted vclock, IPIs incl. INIT/SIPI, ExtINT from the PIC. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/cpu_state.h"
#include "core/memmap.h"
#include "core/vclock.h"
#include "platform/lapic.h"
#include "platform/pic8259.h"

#define REG_TPR       0x80
#define REG_PPR       0xA0
#define REG_EOI       0xB0
#define REG_LDR       0xD0
#define REG_SVR       0xF0
#define REG_ISR       0x100
#define REG_IRR       0x200
#define REG_ICR_LO    0x300
#define REG_ICR_HI    0x310
#define REG_LVT_TIMER 0x320
#define REG_LVT_LINT0 0x350
#define REG_TMICT     0x380
#define REG_TMCCT     0x390
#define REG_TDCR      0x3E0

struct fixture {
    struct vclock clock;
    struct lapic *l[2];
    struct lapic_bus bus;
    int wakes[2];
    unsigned eoi_vector;
    int eois;
    uint64_t armed;
};

static void on_wake(void *opaque)
{
    (*(int *)opaque)++;
}

static void on_eoi(void *opaque, uint8_t vector)
{
    struct fixture *f = opaque;
    f->eoi_vector = vector;
    f->eois++;
}

static void on_arm(void *opaque, uint64_t deadline)
{
    struct fixture *f = opaque;
    f->armed = deadline;
}

static void advance(struct fixture *f, uint64_t ns)
{
    f->clock.base_ns -= ns; /* guest time moves forward by ns */
}

static int setup(void **state)
{
    struct fixture *f = test_calloc(1, sizeof(*f));
    vclock_init(&f->clock, VCLOCK_DEFAULT_TSC_HZ);
    f->bus.clock = &f->clock;
    f->bus.lapics = f->l;
    f->bus.nlapics = 2;
    f->bus.timer_arm = on_arm;
    f->bus.timer_arm_opaque = f;
    for (unsigned i = 0; i < 2; i++) {
        f->l[i] = lapic_create(&f->bus, i, i == 0);
        assert_non_null(f->l[i]);
        lapic_set_wake(f->l[i], on_wake, &f->wakes[i]);
        lapic_set_eoi_hook(f->l[i], on_eoi, f);
        lapic_mmio_write(f->l[i], REG_SVR, 0x1FF, 4); /* software enable, spurious 0xFF */
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    for (unsigned i = 0; i < 2; i++)
        lapic_destroy(f->l[i]);
    test_free(f);
    return 0;
}

static void test_reset_state(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(lapic_mmio_read(f->l[1], 0x20, 4), 1u << 24); /* APIC ID */
    assert_int_equal(lapic_mmio_read(f->l[0], 0x30, 4) & 0xFF, 0x14);
    uint64_t base = lapic_get_base_msr(f->l[0]);
    assert_int_equal(base & ~0xFFFULL, MEMMAP_LAPIC_BASE);
    assert_true(base & APIC_BASE_BSP);
    assert_false(lapic_get_base_msr(f->l[1]) & APIC_BASE_BSP);
    assert_true(lapic_hw_enabled(f->l[0]));
    assert_int_equal(lapic_get_pending_vector(f->l[0]), -1);
    /* x2APIC enable is refused. */
    assert_int_equal(lapic_set_base_msr(f->l[0], base | (1ULL << 10)), -22);
}

static void test_priority_and_eoi(void **state)
{
    struct fixture *f = *state;
    struct lapic *l = f->l[0];
    assert_true(lapic_deliver(l, LAPIC_DM_FIXED, 0x41, false));
    assert_true(lapic_deliver(l, LAPIC_DM_FIXED, 0x82, false));
    assert_true(f->wakes[0] >= 2);
    /* Highest vector first. */
    assert_int_equal(lapic_get_pending_vector(l), 0x82);
    assert_int_equal(lapic_accept(l, 0x82), 0x82);
    assert_int_equal(lapic_mmio_read(l, REG_ISR + 0x40, 4), 1u << 2); /* 0x82: word 4 bit 2 */
    assert_int_equal(lapic_mmio_read(l, REG_PPR, 4), 0x80);
    /* 0x41 is in a lower class than the in-service 0x82: blocked. */
    assert_int_equal(lapic_get_pending_vector(l), -1);
    assert_int_equal(lapic_accept(l, 0x41), -1);
    lapic_mmio_write(l, REG_EOI, 0, 4);
    assert_int_equal(f->eois, 0); /* edge: no EOI broadcast */
    assert_int_equal(lapic_get_pending_vector(l), 0x41);
    /* TPR masks classes at or below it. */
    lapic_mmio_write(l, REG_TPR, 0x40, 4);
    assert_int_equal(lapic_get_pending_vector(l), -1);
    assert_int_equal(lapic_get_cr8(l), 4);
    lapic_set_cr8(l, 3);
    assert_int_equal(lapic_mmio_read(l, REG_TPR, 4), 0x30);
    assert_int_equal(lapic_get_pending_vector(l), 0x41);
    assert_int_equal(lapic_accept(l, 0x41), 0x41);
    lapic_mmio_write(l, REG_EOI, 0, 4);
    assert_int_equal(lapic_mmio_read(l, REG_ISR + 0x20, 4), 0);
}

static void test_level_eoi_and_illegal(void **state)
{
    struct fixture *f = *state;
    struct lapic *l = f->l[0];
    assert_true(lapic_deliver(l, LAPIC_DM_FIXED, 0x51, true));
    assert_int_equal(lapic_accept(l, 0x51), 0x51);
    lapic_mmio_write(l, REG_EOI, 0, 4);
    assert_int_equal(f->eois, 1);
    assert_int_equal(f->eoi_vector, 0x51);
    /* Vectors 0-15 are illegal: dropped, error recorded. */
    assert_false(lapic_deliver(l, LAPIC_DM_FIXED, 5, false));
    assert_int_equal(lapic_mmio_read(l, 0x280, 4) & 0x40, 0x40);
    /* Software-disabled APIC drops fixed interrupts. */
    lapic_mmio_write(l, REG_SVR, 0xFF, 4);
    assert_false(lapic_deliver(l, LAPIC_DM_FIXED, 0x60, false));
    assert_int_equal(lapic_get_pending_vector(l), -1);
}

static void test_timer_oneshot(void **state)
{
    struct fixture *f = *state;
    struct lapic *l = f->l[0];
    lapic_mmio_write(l, REG_TDCR, 0xB, 4);       /* divide by 1: 1 count = 1 ns */
    lapic_mmio_write(l, REG_LVT_TIMER, 0x30, 4); /* one-shot, vector 0x30 */
    lapic_mmio_write(l, REG_TMICT, 1000000, 4);  /* 1 ms */
    assert_int_not_equal(f->armed, UINT64_MAX);
    uint32_t c1 = (uint32_t)lapic_mmio_read(l, REG_TMCCT, 4);
    assert_true(c1 > 0 && c1 <= 1000000);
    lapic_poll_timer(l);
    assert_int_equal(lapic_get_pending_vector(l), -1);
    advance(f, 500000);
    uint32_t c2 = (uint32_t)lapic_mmio_read(l, REG_TMCCT, 4);
    assert_true(c2 < c1 && c2 <= 500000);
    advance(f, 600000);
    lapic_poll_timer(l);
    assert_int_equal(lapic_get_pending_vector(l), 0x30);
    assert_int_equal(lapic_mmio_read(l, REG_TMCCT, 4), 0);
    assert_int_equal(lapic_next_event_ns(l), UINT64_MAX);
    assert_int_equal(f->armed, UINT64_MAX);
}

static void test_timer_divide_and_periodic(void **state)
{
    struct fixture *f = *state;
    struct lapic *l = f->l[0];
    lapic_mmio_write(l, REG_TDCR, 0x3, 4);                    /* divide by 16 */
    lapic_mmio_write(l, REG_LVT_TIMER, (1u << 17) | 0x31, 4); /* periodic */
    lapic_mmio_write(l, REG_TMICT, 100000, 4);                /* 1.6 ms period */
    uint64_t first = lapic_next_event_ns(l);
    advance(f, 1700000);
    lapic_poll_timer(l);
    assert_int_equal(lapic_accept(l, 0x31), 0x31);
    lapic_mmio_write(l, REG_EOI, 0, 4);
    uint64_t second = lapic_next_event_ns(l);
    assert_int_equal(second - first, 1600000);
    /* Still running: another period later it fires again. */
    advance(f, 1600000);
    lapic_poll_timer(l);
    assert_int_equal(lapic_get_pending_vector(l), 0x31);
    /* Masked: the timer runs but raises nothing. */
    lapic_accept(l, 0x31);
    lapic_mmio_write(l, REG_EOI, 0, 4);
    lapic_mmio_write(l, REG_LVT_TIMER, (1u << 17) | (1u << 16) | 0x31, 4);
    advance(f, 1600000);
    lapic_poll_timer(l);
    assert_int_equal(lapic_get_pending_vector(l), -1);
}

static void test_timer_tsc_deadline(void **state)
{
    struct fixture *f = *state;
    struct lapic *l = f->l[0];
    /* Not in deadline mode: the MSR write is ignored. */
    lapic_set_tsc_deadline(l, 12345);
    assert_int_equal(lapic_get_tsc_deadline(l), 0);
    lapic_mmio_write(l, REG_LVT_TIMER, (2u << 17) | 0xEC, 4);
    uint64_t now_tsc = vclock_tsc(&f->clock);
    uint64_t deadline = now_tsc + vclock_ns_to_tsc(&f->clock, 2000000); /* +2 ms */
    lapic_set_tsc_deadline(l, deadline);
    assert_int_equal(lapic_get_tsc_deadline(l), deadline);
    assert_int_equal(lapic_get_pending_vector(l), -1);
    assert_true(f->armed != UINT64_MAX);
    advance(f, 2500000);
    lapic_poll_timer(l);
    assert_int_equal(lapic_get_pending_vector(l), 0xEC);
    assert_int_equal(lapic_get_tsc_deadline(l), 0); /* disarmed after firing */
    /* A deadline in the past fires at once. */
    lapic_accept(l, 0xEC);
    lapic_mmio_write(l, REG_EOI, 0, 4);
    lapic_set_tsc_deadline(l, 1);
    assert_int_equal(lapic_get_pending_vector(l), 0xEC);
}

static void test_ipi_fixed_and_logical(void **state)
{
    struct fixture *f = *state;
    /* Physical destination 1. */
    lapic_mmio_write(f->l[0], REG_ICR_HI, 1u << 24, 4);
    lapic_mmio_write(f->l[0], REG_ICR_LO, 0x4000 | 0x55, 4);
    assert_int_equal(lapic_get_pending_vector(f->l[1]), 0x55);
    assert_int_equal(lapic_get_pending_vector(f->l[0]), -1);
    /* Logical flat: LDR bits select CPUs. */
    lapic_mmio_write(f->l[0], REG_LDR, 0x01000000, 4);
    lapic_mmio_write(f->l[1], REG_LDR, 0x02000000, 4);
    lapic_mmio_write(f->l[1], REG_ICR_HI, 0x01000000, 4);
    lapic_mmio_write(f->l[1], REG_ICR_LO, (1u << 11) | 0x66, 4);
    assert_int_equal(lapic_get_pending_vector(f->l[0]), 0x66);
    /* Shorthand "all excluding self". */
    lapic_mmio_write(f->l[1], REG_ICR_LO, (3u << 18) | 0x77, 4);
    assert_int_equal(lapic_get_pending_vector(f->l[0]), 0x77);
    assert_int_equal(lapic_get_pending_vector(f->l[1]), 0x55);
}

static void test_init_sipi(void **state)
{
    struct fixture *f = *state;
    uint8_t vec = 0;
    struct lapic *ap = f->l[1];
    assert_int_equal(lapic_take_startup(ap, &vec), LAPIC_STARTUP_NONE);
    /* INIT then SIPI back to back (before the AP thread looks). */
    lapic_mmio_write(f->l[0], REG_ICR_HI, 1u << 24, 4);
    lapic_mmio_write(f->l[0], REG_ICR_LO, 0x4500, 4);
    /* INIT level de-assert is ignored. */
    lapic_mmio_write(f->l[0], REG_ICR_LO, 0x8500, 4);
    lapic_mmio_write(f->l[0], REG_ICR_LO, 0x4600 | 0x9A, 4);
    assert_true(f->wakes[1] >= 2);
    assert_int_equal(lapic_take_startup(ap, &vec), LAPIC_STARTUP_INIT);
    assert_int_equal(lapic_take_startup(ap, &vec), LAPIC_STARTUP_SIPI);
    assert_int_equal(vec, 0x9A);
    /* A second SIPI after start-up is ignored. */
    lapic_mmio_write(f->l[0], REG_ICR_LO, 0x4600 | 0x9B, 4);
    assert_int_equal(lapic_take_startup(ap, &vec), LAPIC_STARTUP_NONE);
    /* NMI IPI. */
    lapic_mmio_write(f->l[0], REG_ICR_LO, 0x4400, 4);
    assert_true(lapic_take_nmi(ap));
    assert_false(lapic_take_nmi(ap));
}

static void test_extint(void **state)
{
    struct fixture *f = *state;
    int intr_calls = 0;
    struct pic8259 *pic = pic8259_create(on_wake, &intr_calls);
    assert_non_null(pic);
    f->bus.pic = pic;
    /* PIC: ICW1..4, vectors 0x20/0x28, unmask IRQ 0. */
    pic8259_io_write(pic, 0x20, 0x11);
    pic8259_io_write(pic, 0x21, 0x20);
    pic8259_io_write(pic, 0x21, 0x04);
    pic8259_io_write(pic, 0x21, 0x01);
    pic8259_io_write(pic, 0x21, 0xFE);
    pic8259_set_irq(pic, 0, true);
    assert_true(intr_calls > 0);
    /* The BSP's LINT0 is ExtINT after reset (virtual wire): the PIC's vector comes through. */
    assert_int_equal(lapic_get_pending_vector(f->l[0]), 0x20);
    assert_int_equal(lapic_get_pending_vector(f->l[1]), -1);
    assert_int_equal(lapic_accept(f->l[0], 0x20), 0x20);
    assert_int_equal(lapic_get_pending_vector(f->l[0]), -1); /* in service at the PIC */
    pic8259_io_write(pic, 0x20, 0x20);                       /* EOI */
    pic8259_set_irq(pic, 0, false);
    pic8259_set_irq(pic, 0, true);
    /* Masking LINT0 cuts the wire. */
    lapic_mmio_write(f->l[0], REG_LVT_LINT0, 0x10700, 4);
    assert_int_equal(lapic_get_pending_vector(f->l[0]), -1);
    f->bus.pic = NULL;
    pic8259_destroy(pic);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_reset_state, setup, teardown),
        cmocka_unit_test_setup_teardown(test_priority_and_eoi, setup, teardown),
        cmocka_unit_test_setup_teardown(test_level_eoi_and_illegal, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timer_oneshot, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timer_divide_and_periodic, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timer_tsc_deadline, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ipi_fixed_and_logical, setup, teardown),
        cmocka_unit_test_setup_teardown(test_init_sipi, setup, teardown),
        cmocka_unit_test_setup_teardown(test_extint, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
