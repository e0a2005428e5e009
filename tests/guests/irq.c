/* Test guest "irq": a device interrupt end to end — the COM1 UART's THRE interrupt (IER bit 1,
 * gated by MCR.OUT2) raises ISA IRQ 4, which the VMM passes to the accelerator's interrupt
 * controllers. Phase 1 takes it through the 8259 PIC (vector 0x24, LINT0 virtual wire), phase 2
 * through the IOAPIC (redirection entry 4 -> vector 0x34, fixed, physical, edge, APIC 0). */
#include "guest.h"

#define PIC1_CMD  0x20
#define PIC1_DATA 0x21
#define PIC2_CMD  0xA0
#define PIC2_DATA 0xA1

#define LAPIC      0xFEE00000UL
#define LAPIC_EOI  0x0B0
#define LAPIC_SVR  0x0F0
#define LAPIC_LVT0 0x350

#define IOAPIC        0xFEC00000UL
#define IOAPIC_SEL    0x00
#define IOAPIC_WIN    0x10
#define IOAPIC_REDTBL 0x10

#define UART_IER      1
#define UART_IIR      2
#define UART_MCR      4
#define UART_IER_THRI 0x02
#define UART_MCR_OUT2 0x08
#define UART_IIR_THRI 0x02
#define IRQ_COM1      4

#define VEC_PIC_BASE 0x20
#define VEC_PIC_COM1 (VEC_PIC_BASE + IRQ_COM1)
#define VEC_IOAPIC   0x34
#define VEC_SPUR     0xFF
#define WAIT_LIMIT   100

static volatile unsigned pic_irqs, ioapic_irqs, unexpected;
static volatile uint8_t last_iir;

__attribute__((interrupt)) static void on_pic_com1(struct frame *f)
{
    (void)f;
    last_iir = inb(COM1 + UART_IIR); /* identifies and clears the THRE interrupt */
    pic_irqs++;
    outb(PIC1_CMD, 0x20);
}

__attribute__((interrupt)) static void on_ioapic_com1(struct frame *f)
{
    (void)f;
    last_iir = inb(COM1 + UART_IIR);
    ioapic_irqs++;
    mmio_write32(LAPIC + LAPIC_EOI, 0);
}

__attribute__((interrupt)) static void on_spurious(struct frame *f)
{
    (void)f;
}

__attribute__((interrupt)) static void on_unexpected(struct frame *f)
{
    (void)f;
    unexpected++;
}

static void setup_idt(void)
{
    idt_set_all(on_unexpected);
    idt_set_gate(VEC_PIC_COM1, on_pic_com1);
    idt_set_gate(VEC_PIC_BASE + 7, on_spurious);
    idt_set_gate(VEC_IOAPIC, on_ioapic_com1);
    idt_set_gate(VEC_SPUR, on_spurious);
    idt_load();
}

static void setup_pic(uint8_t master_mask)
{
    outb(PIC1_CMD, 0x11);
    outb(PIC1_DATA, VEC_PIC_BASE);
    outb(PIC1_DATA, 0x04);
    outb(PIC1_DATA, 0x01);
    outb(PIC2_CMD, 0x11);
    outb(PIC2_DATA, VEC_PIC_BASE + 8);
    outb(PIC2_DATA, 0x02);
    outb(PIC2_DATA, 0x01);
    outb(PIC2_DATA, 0xFF);
    outb(PIC1_DATA, master_mask);
}

static void ioapic_write(uint32_t reg, uint32_t v)
{
    mmio_write32(IOAPIC + IOAPIC_SEL, reg);
    mmio_write32(IOAPIC + IOAPIC_WIN, v);
}

static void wait_for(volatile unsigned *counter, unsigned want)
{
    for (unsigned i = 0; *counter < want && i < WAIT_LIMIT; i++)
        __asm__ volatile("sti; hlt; cli");
}

/* Enables the THRE interrupt: with THR empty it is pending at once and IRQ 4 rises. */
static void uart_raise_thre(void)
{
    outb(COM1 + UART_IER, 0);
    outb(COM1 + UART_MCR, UART_MCR_OUT2 | 0x03);
    outb(COM1 + UART_IER, UART_IER_THRI);
}

int guest_main(void)
{
    setup_idt();
    mmio_write32(LAPIC + LAPIC_SVR, 0x100 | VEC_SPUR);
    mmio_write32(LAPIC + LAPIC_LVT0, 0x700); /* ExtINT */

    setup_pic((uint8_t) ~(1U << IRQ_COM1));
    uart_raise_thre();
    wait_for(&pic_irqs, 1);
    outb(COM1 + UART_IER, 0);
    check_eq(pic_irqs, 1, "UART IRQ 4 through the PIC");
    check_eq(last_iir & 0x0F, UART_IIR_THRI, "IIR named THRE");

    outb(PIC1_DATA, 0xFF); /* PIC off: the IOAPIC delivers from now on */
    ioapic_write(IOAPIC_REDTBL + 2 * IRQ_COM1 + 1, 0);      /* destination APIC 0 */
    ioapic_write(IOAPIC_REDTBL + 2 * IRQ_COM1, VEC_IOAPIC); /* fixed, edge, unmasked */
    uart_raise_thre();
    wait_for(&ioapic_irqs, 1);
    outb(COM1 + UART_IER, 0);
    ioapic_write(IOAPIC_REDTBL + 2 * IRQ_COM1, 1U << 16); /* mask again */
    check_eq(ioapic_irqs, 1, "UART IRQ 4 through the IOAPIC");
    check_eq(pic_irqs, 1, "no PIC interrupt while masked");
    check_eq(unexpected, 0, "unexpected interrupts");
    return report("irq");
}
