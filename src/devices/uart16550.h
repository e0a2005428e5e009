/* A 16550A UART (National Semiconductor PC16550D data sheet): the serial console. */
#ifndef EMBER_DEVICES_UART16550_H
#define EMBER_DEVICES_UART16550_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

struct vm;
struct chardev;

#define UART_FIFO_SIZE 16

/* Persistent register state (plain data, for snapshots). */
struct uart_regs {
    uint8_t ier, iir_thri_pending, fcr, lcr, mcr, lsr, msr, scr, dll, dlm;
    uint8_t rx[UART_FIFO_SIZE];
    uint8_t rx_head, rx_count;
};

struct uart16550 {
    struct vm *vm;
    struct chardev *chr;
    uint16_t port;
    unsigned irq;
    pthread_mutex_t lock;
    struct uart_regs r;
    bool irq_level; /* last level driven onto the IRQ line */
};

/* Creates the UART at port (8 registers) on irq, attached to chr, and registers it with the
 * VM (bus range, reset, teardown). Returns NULL on failure (logged). */
struct uart16550 *uart16550_create(struct vm *vm, uint16_t port, unsigned irq, struct chardev *chr);

/* Frees a UART created with vm == NULL (unit tests); VM-owned UARTs are freed with the VM. */
void uart16550_free(struct uart16550 *u);

/* Register access, exposed for unit tests (the bus handlers call these). */
uint8_t uart16550_read(struct uart16550 *u, unsigned reg);
void uart16550_write(struct uart16550 *u, unsigned reg, uint8_t value);
/* Pushes input bytes into the receive FIFO; returns how many fit. */
size_t uart16550_receive(struct uart16550 *u, const uint8_t *buf, size_t n);

/* Registers (offsets from the base port) and bits, named after the data sheet. */
#define UART_RBR 0 /* receive buffer (read, DLAB=0) */
#define UART_THR 0 /* transmit holding (write, DLAB=0) */
#define UART_DLL 0 /* divisor latch low (DLAB=1) */
#define UART_IER 1 /* interrupt enable (DLAB=0) */
#define UART_DLM 1 /* divisor latch high (DLAB=1) */
#define UART_IIR 2 /* interrupt identification (read) */
#define UART_FCR 2 /* FIFO control (write) */
#define UART_LCR 3 /* line control */
#define UART_MCR 4 /* modem control */
#define UART_LSR 5 /* line status */
#define UART_MSR 6 /* modem status */
#define UART_SCR 7 /* scratch */

#define UART_IER_RDI  0x01 /* received data available */
#define UART_IER_THRI 0x02 /* transmitter holding register empty */
#define UART_IER_RLSI 0x04 /* receiver line status */
#define UART_IER_MSI  0x08 /* modem status */

#define UART_IIR_NO_INT 0x01
#define UART_IIR_MSI    0x00
#define UART_IIR_THRI   0x02
#define UART_IIR_RDI    0x04
#define UART_IIR_RLSI   0x06
#define UART_IIR_FIFO   0xC0 /* FIFOs enabled */

#define UART_FCR_ENABLE   0x01
#define UART_FCR_CLEAR_RX 0x02
#define UART_FCR_CLEAR_TX 0x04

#define UART_LCR_DLAB 0x80

#define UART_MCR_DTR  0x01
#define UART_MCR_RTS  0x02
#define UART_MCR_OUT1 0x04
#define UART_MCR_OUT2 0x08 /* gates the interrupt line on PCs */
#define UART_MCR_LOOP 0x10

#define UART_LSR_DR   0x01 /* data ready */
#define UART_LSR_OE   0x02 /* overrun */
#define UART_LSR_THRE 0x20 /* THR empty */
#define UART_LSR_TEMT 0x40 /* transmitter empty */

#define UART_MSR_DCTS 0x01
#define UART_MSR_DDSR 0x02
#define UART_MSR_TERI 0x04
#define UART_MSR_DDCD 0x08
#define UART_MSR_CTS  0x10
#define UART_MSR_DSR  0x20
#define UART_MSR_RI   0x40
#define UART_MSR_DCD  0x80

#endif
