/* Test guest "hlt": HLT must wait for an interrupt and resume after it. Phase 1: the 8254 PIT
 * (channel 0, mode 2, 1 ms) through the 8259 PIC on IRQ0 (vector 0x20) and LAPIC LINT0 in
 * virtual-wire mode. Phase 2: the LAPIC timer, one-shot, vector 0x30. A minimal IDT holds
 * the handlers. */
#include "guest.h"

#define PIC1_CMD  0x20
#define PIC1_DATA 0x21
#define PIC2_CMD  0xA0
#define PIC2_DATA 0xA1
#define PIC_EOI   0x20
#define PIT_CH0   0x40
#define PIT_CMD   0x43

#define LAPIC          0xFEE00000UL
#define LAPIC_EOI      0x0B0
#define LAPIC_SVR      0x0F0
#define LAPIC_LVT_TMR  0x320
#define LAPIC_LVT0     0x350
#define LAPIC_TMR_INIT 0x380
#define LAPIC_TMR_CUR  0x390
#define LAPIC_TMR_DIV  0x3E0

#define VEC_PIT      0x20
#define VEC_PIC_SPUR 0x27
#define VEC_TIMER    0x30
#define VEC_SPUR     0xFF
#define WAIT_LIMIT   200 /* HLT wake-ups before giving up */

static volatile unsigned pit_ticks, timer_ticks, unexpected;

__attribute__((interrupt)) static void on_pit(struct frame *f)
{
    (void)f;
    pit_ticks++;
    outb(PIC1_CMD, PIC_EOI);
}

__attribute__((interrupt)) static void on_timer(struct frame *f)
{
    (void)f;
    timer_ticks++;
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
    idt_set_gate(VEC_PIT, on_pit);
    idt_set_gate(VEC_PIC_SPUR, on_spurious);
    idt_set_gate(VEC_TIMER, on_timer);
    idt_set_gate(VEC_SPUR, on_spurious);
    idt_load();
}

static void setup_pic(void)
{
    outb(PIC1_CMD, 0x11);     /* ICW1: edge, cascade, ICW4 */
    outb(PIC1_DATA, VEC_PIT); /* ICW2: vectors 0x20.. */
    outb(PIC1_DATA, 0x04);    /* ICW3: slave on IRQ2 */
    outb(PIC1_DATA, 0x01);    /* ICW4: 8086 mode */
    outb(PIC2_CMD, 0x11);
    outb(PIC2_DATA, 0x28);
    outb(PIC2_DATA, 0x02);
    outb(PIC2_DATA, 0x01);
    outb(PIC2_DATA, 0xFF); /* slave: all masked */
    outb(PIC1_DATA, 0xFE); /* master: only IRQ0 */
}

static void wait_for(volatile unsigned *counter, unsigned want)
{
    for (unsigned i = 0; *counter < want && i < WAIT_LIMIT; i++)
        __asm__ volatile("sti; hlt; cli");
}

static void phase_pit(void)
{
    /* LAPIC software-enabled, LINT0 as ExtINT: the PIC's output reaches this CPU. */
    mmio_write32(LAPIC + LAPIC_SVR, 0x100 | VEC_SPUR);
    mmio_write32(LAPIC + LAPIC_LVT0, 0x700);
    setup_pic();
    outb(PIT_CMD, 0x34);        /* channel 0, lobyte/hibyte, mode 2, binary */
    outb(PIT_CH0, 1193 & 0xFF); /* 1193182 Hz / 1193 = 1 kHz */
    outb(PIT_CH0, 1193 >> 8);
    wait_for(&pit_ticks, 3);
    outb(PIC1_DATA, 0xFF);
    check(pit_ticks >= 3, "PIT interrupts woke HLT");
}

static void phase_lapic_timer(void)
{
    mmio_write32(LAPIC + LAPIC_TMR_DIV, 0xB);       /* divide by 1 */
    mmio_write32(LAPIC + LAPIC_LVT_TMR, VEC_TIMER); /* one-shot, unmasked */
    mmio_write32(LAPIC + LAPIC_TMR_INIT, 100000);
    wait_for(&timer_ticks, 1);
    check_eq(timer_ticks, 1, "LAPIC timer woke HLT once");
    check_eq(mmio_read32(LAPIC + LAPIC_TMR_CUR), 0, "one-shot timer expired");
}

int guest_main(void)
{
    setup_idt();
    phase_pit();
    phase_lapic_timer();
    check_eq(unexpected, 0, "unexpected interrupts");
    return report("hlt");
}
