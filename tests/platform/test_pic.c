/* 8259 PIC tests: ICW initialisation, masking, priority and EOI, cascade through IRQ 2, the
 * spurious IRQ 7, ELCR level sensing, auto-EOI, poll mode, IRR/ISR reads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "platform/pic8259.h"

static void count(void *opaque)
{
    (*(int *)opaque)++;
}

static void init_pair(struct pic8259 *pic, uint8_t icw4)
{
    pic8259_io_write(pic, 0x20, 0x11);
    pic8259_io_write(pic, 0x21, 0x08);
    pic8259_io_write(pic, 0x21, 0x04);
    pic8259_io_write(pic, 0x21, icw4);
    pic8259_io_write(pic, 0xA0, 0x11);
    pic8259_io_write(pic, 0xA1, 0x70);
    pic8259_io_write(pic, 0xA1, 0x02);
    pic8259_io_write(pic, 0xA1, icw4);
}

static void test_init_and_mask(void **state)
{
    (void)state;
    int calls = 0;
    struct pic8259 *pic = pic8259_create(count, &calls);
    init_pair(pic, 0x01);
    assert_int_equal(pic8259_io_read(pic, 0x21), 0); /* ICW1 clears IMR */
    pic8259_io_write(pic, 0x21, 0xFF);
    pic8259_set_irq(pic, 3, true);
    assert_false(pic8259_has_intr(pic));
    assert_int_equal(pic8259_peek_vector(pic), -1);
    pic8259_io_write(pic, 0x20, 0x0A); /* OCW3: read IRR */
    assert_int_equal(pic8259_io_read(pic, 0x20), 0x08);
    pic8259_io_write(pic, 0x21, 0xF7); /* unmask 3 */
    assert_true(pic8259_has_intr(pic));
    assert_true(calls > 0);
    assert_int_equal(pic8259_intack(pic), 0x0B);
    pic8259_io_write(pic, 0x20, 0x0B); /* OCW3: read ISR */
    assert_int_equal(pic8259_io_read(pic, 0x20), 0x08);
    pic8259_io_write(pic, 0x20, 0x20); /* non-specific EOI */
    assert_int_equal(pic8259_io_read(pic, 0x20), 0x00);
    pic8259_destroy(pic);
}

static void test_priority_nesting(void **state)
{
    (void)state;
    struct pic8259 *pic = pic8259_create(NULL, NULL);
    init_pair(pic, 0x01);
    pic8259_set_irq(pic, 5, true);
    assert_int_equal(pic8259_intack(pic), 0x0D);
    /* IRQ 6 has lower priority than in-service 5: held. IRQ 1 preempts. */
    pic8259_set_irq(pic, 6, true);
    assert_false(pic8259_has_intr(pic));
    pic8259_set_irq(pic, 1, true);
    assert_int_equal(pic8259_intack(pic), 0x09);
    pic8259_io_write(pic, 0x20, 0x20);   /* EOI for 1 (highest in service) */
    assert_false(pic8259_has_intr(pic)); /* 5 still in service */
    pic8259_io_write(pic, 0x20, 0x65);   /* specific EOI 5 */
    assert_int_equal(pic8259_intack(pic), 0x0E);
    /* Spurious: nothing pending at INTA gives IRQ 7's vector. */
    assert_int_equal(pic8259_intack(pic), 0x0F);
    pic8259_destroy(pic);
}

static void test_cascade_and_elcr(void **state)
{
    (void)state;
    struct pic8259 *pic = pic8259_create(NULL, NULL);
    init_pair(pic, 0x01);
    pic8259_set_irq(pic, 10, true);
    assert_int_equal(pic8259_peek_vector(pic), 0x72);
    assert_int_equal(pic8259_intack(pic), 0x72);
    pic8259_io_write(pic, 0xA0, 0x20);
    pic8259_io_write(pic, 0x20, 0x20);
    /* Edge: the still-high line does not re-request. */
    assert_false(pic8259_has_intr(pic));
    /* Level-triggered via ELCR: requests while high. */
    pic8259_io_write(pic, 0x4D1, 0x04);
    assert_int_equal(pic8259_io_read(pic, 0x4D1), 0x04);
    pic8259_set_irq(pic, 10, false);
    pic8259_set_irq(pic, 10, true);
    assert_int_equal(pic8259_intack(pic), 0x72);
    pic8259_io_write(pic, 0xA0, 0x20);
    pic8259_io_write(pic, 0x20, 0x20);
    assert_true(pic8259_has_intr(pic));
    pic8259_set_irq(pic, 10, false);
    assert_false(pic8259_has_intr(pic));
    /* ELCR bits for IRQ 0-2 cannot be set. */
    pic8259_io_write(pic, 0x4D0, 0xFF);
    assert_int_equal(pic8259_io_read(pic, 0x4D0), 0xF8);
    pic8259_destroy(pic);
}

static void test_auto_eoi_and_poll(void **state)
{
    (void)state;
    struct pic8259 *pic = pic8259_create(NULL, NULL);
    init_pair(pic, 0x03); /* AEOI */
    pic8259_set_irq(pic, 4, true);
    assert_int_equal(pic8259_intack(pic), 0x0C);
    pic8259_io_write(pic, 0x20, 0x0B);
    assert_int_equal(pic8259_io_read(pic, 0x20), 0); /* nothing in service */
    /* Poll command. */
    pic8259_set_irq(pic, 6, true);
    pic8259_io_write(pic, 0x20, 0x0C);
    assert_int_equal(pic8259_io_read(pic, 0x20), 0x86);
    pic8259_io_write(pic, 0x20, 0x0C);
    assert_int_equal(pic8259_io_read(pic, 0x20), 0x00);
    pic8259_destroy(pic);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_and_mask),
        cmocka_unit_test(test_priority_nesting),
        cmocka_unit_test(test_cascade_and_elcr),
        cmocka_unit_test(test_auto_eoi_and_poll),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
