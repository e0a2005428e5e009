/* 16550A UART model (PC16550D data sheet): registers, 16-byte receive FIFO, interrupt
 * priorities, loopback. Transmission is instantaneous: THR bytes go straight to the chardev. */
#include "devices/uart16550.h"

#include <stdlib.h>
#include <string.h>

#include "core/vm.h"
#include "devices/chardev.h"
#include "util/log.h"

static void reset_regs(struct uart_regs *r)
{
    memset(r, 0, sizeof(*r));
    r->lsr = UART_LSR_THRE | UART_LSR_TEMT;
    r->msr = UART_MSR_DCD | UART_MSR_DSR | UART_MSR_CTS; /* a terminal is attached */
    r->dll = 12;                                         /* 9600 baud after reset */
}

/* Highest-priority pending interrupt, as IIR bits 3:0. Called with u->lock held. */
static uint8_t pending_source(const struct uart16550 *u)
{
    const struct uart_regs *r = &u->r;
    if ((r->ier & UART_IER_RLSI) && (r->lsr & UART_LSR_OE))
        return UART_IIR_RLSI;
    if ((r->ier & UART_IER_RDI) && (r->lsr & UART_LSR_DR))
        return UART_IIR_RDI;
    if ((r->ier & UART_IER_THRI) && r->iir_thri_pending)
        return UART_IIR_THRI;
    if ((r->ier & UART_IER_MSI) && (r->msr & 0x0F))
        return UART_IIR_MSI;
    return UART_IIR_NO_INT;
}

/* Drives the IRQ line to match the pending state (OUT2 gates it, as on PCs). */
static void update_irq(struct uart16550 *u)
{
    bool level = pending_source(u) != UART_IIR_NO_INT && (u->r.mcr & UART_MCR_OUT2);
    if (level == u->irq_level)
        return;
    u->irq_level = level;
    if (u->vm)
        vm_set_irq(u->vm, u->irq, level);
}

static unsigned fifo_capacity(const struct uart16550 *u)
{
    return (u->r.fcr & UART_FCR_ENABLE) ? UART_FIFO_SIZE : 1;
}

static bool rx_push(struct uart16550 *u, uint8_t c)
{
    struct uart_regs *r = &u->r;
    if (r->rx_count >= fifo_capacity(u))
        return false;
    r->rx[(r->rx_head + r->rx_count) % UART_FIFO_SIZE] = c;
    r->rx_count++;
    r->lsr |= UART_LSR_DR;
    return true;
}

static uint8_t rx_pop(struct uart16550 *u)
{
    struct uart_regs *r = &u->r;
    if (r->rx_count == 0)
        return 0;
    uint8_t c = r->rx[r->rx_head];
    r->rx_head = (r->rx_head + 1) % UART_FIFO_SIZE;
    if (--r->rx_count == 0)
        r->lsr &= ~UART_LSR_DR;
    return c;
}

/* Modem status inputs as seen in loopback (wired to MCR outputs) or from the "terminal". */
static void update_msr_loopback(struct uart_regs *r)
{
    uint8_t old = r->msr;
    uint8_t now = 0;
    if (r->mcr & UART_MCR_RTS)
        now |= UART_MSR_CTS;
    if (r->mcr & UART_MCR_DTR)
        now |= UART_MSR_DSR;
    if (r->mcr & UART_MCR_OUT1)
        now |= UART_MSR_RI;
    if (r->mcr & UART_MCR_OUT2)
        now |= UART_MSR_DCD;
    uint8_t delta = 0;
    if ((old ^ now) & UART_MSR_CTS)
        delta |= UART_MSR_DCTS;
    if ((old ^ now) & UART_MSR_DSR)
        delta |= UART_MSR_DDSR;
    if ((old & UART_MSR_RI) && !(now & UART_MSR_RI))
        delta |= UART_MSR_TERI;
    if ((old ^ now) & UART_MSR_DCD)
        delta |= UART_MSR_DDCD;
    r->msr = now | (old & 0x0F) | delta;
}

static void transmit(struct uart16550 *u, uint8_t c, bool *send, uint8_t *out)
{
    if (u->r.mcr & UART_MCR_LOOP) {
        if (!rx_push(u, c))
            u->r.lsr |= UART_LSR_OE;
    } else {
        *send = true;
        *out = c;
    }
    u->r.iir_thri_pending = 1;
}

uint8_t uart16550_read(struct uart16550 *u, unsigned reg)
{
    pthread_mutex_lock(&u->lock);
    struct uart_regs *r = &u->r;
    bool dlab = r->lcr & UART_LCR_DLAB;
    bool drained = false;
    uint8_t v = 0;
    switch (reg) {
    case UART_RBR:
        if (dlab) {
            v = r->dll;
        } else {
            v = rx_pop(u);
            drained = true;
        }
        break;
    case UART_IER:
        v = dlab ? r->dlm : r->ier;
        break;
    case UART_IIR:
        v = pending_source(u);
        if (v == UART_IIR_THRI)
            r->iir_thri_pending = 0; /* reading IIR with THRE as the source clears it */
        if (r->fcr & UART_FCR_ENABLE)
            v |= UART_IIR_FIFO;
        break;
    case UART_LCR:
        v = r->lcr;
        break;
    case UART_MCR:
        v = r->mcr;
        break;
    case UART_LSR:
        v = r->lsr;
        r->lsr &= ~UART_LSR_OE; /* error bits clear on read */
        break;
    case UART_MSR:
        v = r->msr;
        r->msr &= 0xF0; /* delta bits clear on read */
        break;
    case UART_SCR:
        v = r->scr;
        break;
    default:
        break;
    }
    update_irq(u);
    pthread_mutex_unlock(&u->lock);
    if (drained && u->chr)
        chardev_accept_input(u->chr); /* outside our lock: it calls back into the FIFO */
    return v;
}

void uart16550_write(struct uart16550 *u, unsigned reg, uint8_t value)
{
    pthread_mutex_lock(&u->lock);
    struct uart_regs *r = &u->r;
    bool dlab = r->lcr & UART_LCR_DLAB;
    bool send = false;
    uint8_t out = 0;
    switch (reg) {
    case UART_THR:
        if (dlab)
            r->dll = value;
        else
            transmit(u, value, &send, &out);
        break;
    case UART_IER:
        if (dlab) {
            r->dlm = value;
        } else {
            /* Enabling THRI while THR is empty raises the interrupt at once. */
            if (!(r->ier & UART_IER_THRI) && (value & UART_IER_THRI))
                r->iir_thri_pending = 1;
            r->ier = value & 0x0F;
        }
        break;
    case UART_FCR:
        if ((value & UART_FCR_ENABLE) != (r->fcr & UART_FCR_ENABLE) ||
            (value & UART_FCR_CLEAR_RX)) {
            r->rx_head = r->rx_count = 0;
            r->lsr &= ~UART_LSR_DR;
        }
        r->fcr = value & 0xC9; /* enable, DMA mode, trigger level; clear bits self-reset */
        break;
    case UART_LCR:
        r->lcr = value;
        break;
    case UART_MCR:
        r->mcr = value & 0x1F;
        if (r->mcr & UART_MCR_LOOP)
            update_msr_loopback(r);
        break;
    case UART_SCR:
        r->scr = value;
        break;
    default: /* LSR and MSR are read-only */
        break;
    }
    update_irq(u);
    pthread_mutex_unlock(&u->lock);
    if (send && u->chr)
        chardev_write(u->chr, &out, 1);
}

size_t uart16550_receive(struct uart16550 *u, const uint8_t *buf, size_t n)
{
    pthread_mutex_lock(&u->lock);
    size_t took = 0;
    /* In loopback the receiver is disconnected from the outside. */
    while (!(u->r.mcr & UART_MCR_LOOP) && took < n && rx_push(u, buf[took]))
        took++;
    update_irq(u);
    pthread_mutex_unlock(&u->lock);
    return took;
}

static uint64_t bus_read(void *opaque, uint64_t offset, unsigned size)
{
    return uart16550_read(opaque, (unsigned)offset);
}

static void bus_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    uart16550_write(opaque, (unsigned)offset, (uint8_t)value);
}

static const struct iobus_ops uart_bus_ops = {.read = bus_read, .write = bus_write};

static size_t on_input(void *opaque, const uint8_t *buf, size_t n)
{
    return uart16550_receive(opaque, buf, n);
}

static void uart_reset(void *opaque)
{
    struct uart16550 *u = opaque;
    pthread_mutex_lock(&u->lock);
    reset_regs(&u->r);
    update_irq(u);
    pthread_mutex_unlock(&u->lock);
}

static void uart_destroy(void *opaque)
{
    struct uart16550 *u = opaque;
    pthread_mutex_destroy(&u->lock);
    free(u);
}

struct uart16550 *uart16550_create(struct vm *vm, uint16_t port, unsigned irq, struct chardev *chr)
{
    struct uart16550 *u = calloc(1, sizeof(*u));
    if (!u) {
        log_error("uart: out of memory");
        return NULL;
    }
    u->vm = vm;
    u->chr = chr;
    u->port = port;
    u->irq = irq;
    reset_regs(&u->r);
    if (pthread_mutex_init(&u->lock, NULL) != 0) {
        free(u);
        return NULL;
    }
    if (!vm)
        return u; /* unit tests drive the registers directly */
    struct vm_device dev = {
        .name = "uart16550", .opaque = u, .reset = uart_reset, .destroy = uart_destroy};
    if (iobus_register(&vm->pio, port, 8, &uart_bus_ops, u, "uart16550") < 0 ||
        vm_add_device(vm, &dev) < 0) {
        iobus_unregister(&vm->pio, port, u);
        uart_destroy(u);
        return NULL;
    }
    if (chr && chardev_set_input(chr, on_input, u) < 0)
        log_warn("uart: console input unavailable");
    return u;
}

void uart16550_free(struct uart16550 *u)
{
    uart_destroy(u);
}
