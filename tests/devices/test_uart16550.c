/* Unit tests for the 16550A UART: reset values, DLAB, THR output, FIFO, interrupt identification
 * and priorities, loopback and modem status. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "devices/chardev.h"
#include "devices/uart16550.h"

static void test_reset_state(void **state)
{
    struct uart16550 *u = uart16550_create(NULL, 0x3f8, 4, NULL);
    assert_non_null(u);
    assert_int_equal(uart16550_read(u, UART_LSR), UART_LSR_THRE | UART_LSR_TEMT);
    assert_int_equal(uart16550_read(u, UART_IIR), UART_IIR_NO_INT);
    assert_int_equal(uart16550_read(u, UART_IER), 0);
    uart16550_write(u, UART_SCR, 0xa5);
    assert_int_equal(uart16550_read(u, UART_SCR), 0xa5);
    uart16550_free(u);
}

static void test_divisor_latch(void **state)
{
    struct uart16550 *u = uart16550_create(NULL, 0x3f8, 4, NULL);
    uart16550_write(u, UART_LCR, UART_LCR_DLAB | 0x03);
    uart16550_write(u, UART_DLL, 0x01);
    uart16550_write(u, UART_DLM, 0x02);
    assert_int_equal(uart16550_read(u, UART_DLL), 0x01);
    assert_int_equal(uart16550_read(u, UART_DLM), 0x02);
    uart16550_write(u, UART_LCR, 0x03);
    assert_int_equal(uart16550_read(u, UART_IER), 0); /* IER untouched by the DLM write */
    assert_int_equal(uart16550_read(u, UART_LCR), 0x03);
    uart16550_free(u);
}

static void test_thr_goes_to_console(void **state)
{
    char path[] = "/tmp/ember-uart-test-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    char spec[64];
    snprintf(spec, sizeof(spec), "file:%s", path);
    struct chardev cd;
    assert_int_equal(chardev_open(&cd, NULL, spec), 0);
    struct uart16550 *u = uart16550_create(NULL, 0x3f8, 4, &cd);
    for (const char *p = "hi!\n"; *p; p++)
        uart16550_write(u, UART_THR, (uint8_t)*p);
    uart16550_free(u);
    chardev_close(&cd);
    FILE *f = fopen(path, "r");
    char buf[16] = {0};
    assert_non_null(fgets(buf, sizeof(buf), f));
    fclose(f);
    unlink(path);
    assert_string_equal(buf, "hi!\n");
}

static void test_thre_interrupt(void **state)
{
    struct uart16550 *u = uart16550_create(NULL, 0x3f8, 4, NULL);
    uart16550_write(u, UART_IER, UART_IER_THRI);
    assert_int_equal(uart16550_read(u, UART_IIR), UART_IIR_THRI);
    /* Reading IIR with THRE as the source clears it. */
    assert_int_equal(uart16550_read(u, UART_IIR), UART_IIR_NO_INT);
    uart16550_write(u, UART_THR, 'x');
    assert_int_equal(uart16550_read(u, UART_IIR), UART_IIR_THRI);
    uart16550_free(u);
}

static void test_receive_fifo_and_priority(void **state)
{
    struct uart16550 *u = uart16550_create(NULL, 0x3f8, 4, NULL);
    uint8_t in[20];
    for (int i = 0; i < 20; i++)
        in[i] = (uint8_t)('a' + i);
    /* FIFO off: one byte of buffering. */
    assert_int_equal(uart16550_receive(u, in, 20), 1);
    assert_int_equal(uart16550_read(u, UART_RBR), 'a');
    assert_int_equal(uart16550_read(u, UART_LSR) & UART_LSR_DR, 0);
    uart16550_write(u, UART_FCR, UART_FCR_ENABLE);
    assert_int_equal(uart16550_receive(u, in, 20), UART_FIFO_SIZE);
    uart16550_write(u, UART_IER, UART_IER_RDI | UART_IER_THRI);
    /* Received data outranks THRE. */
    assert_int_equal(uart16550_read(u, UART_IIR), UART_IIR_RDI | UART_IIR_FIFO);
    for (int i = 0; i < UART_FIFO_SIZE; i++) {
        assert_true(uart16550_read(u, UART_LSR) & UART_LSR_DR);
        assert_int_equal(uart16550_read(u, UART_RBR), 'a' + i);
    }
    assert_int_equal(uart16550_read(u, UART_LSR) & UART_LSR_DR, 0);
    assert_int_equal(uart16550_read(u, UART_IIR), UART_IIR_THRI | UART_IIR_FIFO);
    /* FCR clear-receive empties the FIFO. */
    assert_int_equal(uart16550_receive(u, in, 3), 3);
    uart16550_write(u, UART_FCR, UART_FCR_ENABLE | UART_FCR_CLEAR_RX);
    assert_int_equal(uart16550_read(u, UART_LSR) & UART_LSR_DR, 0);
    uart16550_free(u);
}

static void test_loopback(void **state)
{
    struct uart16550 *u = uart16550_create(NULL, 0x3f8, 4, NULL);
    uart16550_write(u, UART_MCR, UART_MCR_LOOP | UART_MCR_RTS | UART_MCR_DTR);
    uint8_t msr = uart16550_read(u, UART_MSR);
    assert_true(msr & UART_MSR_CTS);
    assert_true(msr & UART_MSR_DSR);
    assert_false(msr & UART_MSR_DCD);
    uart16550_write(u, UART_THR, 0x42);
    assert_true(uart16550_read(u, UART_LSR) & UART_LSR_DR);
    assert_int_equal(uart16550_read(u, UART_RBR), 0x42);
    /* Overrun: the FIFO is off, so a second byte before reading overflows. */
    uart16550_write(u, UART_THR, 1);
    uart16550_write(u, UART_THR, 2);
    uint8_t lsr = uart16550_read(u, UART_LSR);
    assert_true(lsr & UART_LSR_OE);
    assert_false(uart16550_read(u, UART_LSR) & UART_LSR_OE); /* cleared by the read */
    /* Outside input is disconnected in loopback. */
    uint8_t b = 'z';
    assert_int_equal(uart16550_receive(u, &b, 1), 0);
    uart16550_free(u);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reset_state),
        cmocka_unit_test(test_divisor_latch),
        cmocka_unit_test(test_thr_goes_to_console),
        cmocka_unit_test(test_thre_interrupt),
        cmocka_unit_test(test_receive_fifo_and_priority),
        cmocka_unit_test(test_loopback),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
