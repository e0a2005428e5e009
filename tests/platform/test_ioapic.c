/* IOAPIC and interrupt-router tests: redirection entries, masking, edge vs level with Remote IRR
 * and EOI, version register, MSI decoding and delivery to the addressed LAPIC. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/vclock.h"
#include "platform/ioapic.h"
#include "platform/irq_router.h"
#include "platform/lapic.h"

struct fixture {
    struct irq_msg msgs[16];
    int nmsgs;
    struct ioapic *io;
};

static void record(void *opaque, const struct irq_msg *m)
{
    struct fixture *f = opaque;
    if (f->nmsgs < 16)
        f->msgs[f->nmsgs] = *m;
    f->nmsgs++;
}

static void sel_write(struct ioapic *io, uint32_t reg, uint32_t v)
{
    ioapic_mmio_write(io, 0x00, reg, 4);
    ioapic_mmio_write(io, 0x10, v, 4);
}

static uint32_t sel_read(struct ioapic *io, uint32_t reg)
{
    ioapic_mmio_write(io, 0x00, reg, 4);
    return (uint32_t)ioapic_mmio_read(io, 0x10, 4);
}

static int setup(void **state)
{
    struct fixture *f = test_calloc(1, sizeof(*f));
    f->io = ioapic_create(record, f);
    assert_non_null(f->io);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    ioapic_destroy(f->io);
    test_free(f);
    return 0;
}

static void test_version_and_reset(void **state)
{
    struct fixture *f = *state;
    uint32_t ver = sel_read(f->io, 1);
    assert_int_equal(ver & 0xFF, 0x11);
    assert_int_equal((ver >> 16) & 0xFF, IOAPIC_PINS - 1);
    for (unsigned pin = 0; pin < IOAPIC_PINS; pin++)
        assert_true(sel_read(f->io, 0x10 + 2 * pin) & (1u << 16)); /* masked */
    /* Out-of-range register select reads all-ones and ignores writes. */
    sel_write(f->io, 0x10 + 2 * IOAPIC_PINS, 0);
    assert_int_equal(sel_read(f->io, 0x10 + 2 * IOAPIC_PINS), 0xFFFFFFFFu);
}

static void test_edge_and_mask(void **state)
{
    struct fixture *f = *state;
    ioapic_set_irq(f->io, 4, true); /* masked: nothing */
    ioapic_set_irq(f->io, 4, false);
    assert_int_equal(f->nmsgs, 0);
    sel_write(f->io, 0x10 + 2 * 4 + 1, 3u << 24); /* destination 3 */
    sel_write(f->io, 0x10 + 2 * 4, 0x34);         /* edge, fixed, physical, vector 0x34 */
    ioapic_set_irq(f->io, 4, true);
    ioapic_set_irq(f->io, 4, true); /* no new edge */
    assert_int_equal(f->nmsgs, 1);
    assert_int_equal(f->msgs[0].vector, 0x34);
    assert_int_equal(f->msgs[0].dest, 3);
    assert_false(f->msgs[0].logical);
    assert_false(f->msgs[0].level_trig);
    ioapic_set_irq(f->io, 4, false);
    ioapic_set_irq(f->io, 4, true);
    assert_int_equal(f->nmsgs, 2);
    /* Pins beyond the table are ignored. */
    ioapic_set_irq(f->io, IOAPIC_PINS, true);
    assert_int_equal(f->nmsgs, 2);
}

static void test_level_remote_irr(void **state)
{
    struct fixture *f = *state;
    sel_write(f->io, 0x10 + 2 * 9, (1u << 15) | (1u << 11) | 0x49); /* level, logical */
    ioapic_set_irq(f->io, 9, true);
    assert_int_equal(f->nmsgs, 1);
    assert_true(f->msgs[0].level_trig);
    assert_true(f->msgs[0].logical);
    assert_true(sel_read(f->io, 0x10 + 2 * 9) & (1u << 14)); /* Remote IRR */
    /* Still asserted, in service: no resend until EOI. */
    ioapic_set_irq(f->io, 9, true);
    assert_int_equal(f->nmsgs, 1);
    ioapic_eoi(f->io, 0x49);
    assert_int_equal(f->nmsgs, 2); /* line still high: redelivered */
    ioapic_set_irq(f->io, 9, false);
    ioapic_eoi(f->io, 0x49);
    assert_false(sel_read(f->io, 0x10 + 2 * 9) & (1u << 14));
    assert_int_equal(f->nmsgs, 2);
    /* Unmasking an asserted level line delivers it. */
    sel_write(f->io, 0x10 + 2 * 10, (1u << 16) | (1u << 15) | 0x4A);
    ioapic_set_irq(f->io, 10, true);
    assert_int_equal(f->nmsgs, 2);
    sel_write(f->io, 0x10 + 2 * 10, (1u << 15) | 0x4A);
    assert_int_equal(f->nmsgs, 3);
    assert_int_equal(f->msgs[2].vector, 0x4A);
}

static void test_router_msi(void **state)
{
    (void)state;
    struct vclock clock;
    vclock_init(&clock, VCLOCK_DEFAULT_TSC_HZ);
    struct lapic *l[2];
    struct lapic_bus bus = {.clock = &clock, .lapics = l, .nlapics = 2};
    l[0] = lapic_create(&bus, 0, true);
    l[1] = lapic_create(&bus, 1, false);
    for (int i = 0; i < 2; i++)
        lapic_mmio_write(l[i], 0xF0, 0x1FF, 4);
    struct irq_router r = {.lapics = l, .nlapics = 2};
    /* Physical destination 1, vector 0x61. */
    assert_int_equal(irq_router_msi(&r, 0xFEE01000, 0x61), 0);
    assert_int_equal(lapic_get_pending_vector(l[1]), 0x61);
    assert_int_equal(lapic_get_pending_vector(l[0]), -1);
    /* Not an MSI address. */
    assert_int_equal(irq_router_msi(&r, 0xFED00000, 0x61), -22);
    /* GSI range check. */
    assert_int_equal(irq_router_set_irq(&r, IOAPIC_PINS, true), -22);
    /* Broadcast 0xFF reaches both. */
    assert_int_equal(irq_router_msi(&r, 0xFEEFF000, 0x70), 0);
    assert_int_equal(lapic_get_pending_vector(l[0]), 0x70);
    assert_int_equal(lapic_get_pending_vector(l[1]), 0x70);
    /* IOAPIC through the router. */
    struct ioapic *io = ioapic_create(irq_router_deliver_cb, &r);
    r.ioapic = io;
    sel_write(io, 0x10 + 2 * 16 + 1, 0u << 24);
    sel_write(io, 0x10 + 2 * 16, 0x80);
    assert_int_equal(irq_router_set_irq(&r, 16, true), 0);
    assert_int_equal(lapic_get_pending_vector(l[0]), 0x80);
    ioapic_destroy(io);
    lapic_destroy(l[0]);
    lapic_destroy(l[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_version_and_reset, setup, teardown),
        cmocka_unit_test_setup_teardown(test_edge_and_mask, setup, teardown),
        cmocka_unit_test_setup_teardown(test_level_remote_irr, setup, teardown),
        cmocka_unit_test(test_router_msi),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
