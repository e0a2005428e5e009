/* Test guest "uart": 16550 register behaviour on COM1 (PC16550D datasheet): LSR idle bits,
 * scratch register, divisor latch access (DLAB), LCR/IER read-back, IIR with FIFOs, and
 * loopback (THR to RBR, MCR outputs to MSR inputs). */
#include "guest.h"

#define RBR 0
#define THR 0
#define DLL 0
#define IER 1
#define DLM 1
#define IIR 2
#define FCR 2
#define LCR 3
#define MCR 4
#define LSR 5
#define MSR 6
#define SCR 7

#define LCR_DLAB  0x80
#define LCR_8N1   0x03
#define LSR_DR    0x01
#define LSR_THRE  0x20
#define LSR_TEMT  0x40
#define MCR_DTR   0x01
#define MCR_RTS   0x02
#define MCR_OUT1  0x04
#define MCR_OUT2  0x08
#define MCR_LOOP  0x10
#define IIR_NOINT 0x01

static void scratch(void)
{
    outb(COM1 + SCR, 0xA5);
    check_eq(inb(COM1 + SCR), 0xA5, "scratch 0xA5");
    outb(COM1 + SCR, 0x5A);
    check_eq(inb(COM1 + SCR), 0x5A, "scratch 0x5A");
}

static void divisor_latch(void)
{
    outb(COM1 + LCR, LCR_DLAB | LCR_8N1);
    outb(COM1 + DLL, 0x0C); /* 9600 baud */
    outb(COM1 + DLM, 0x00);
    check_eq(inb(COM1 + DLL), 0x0C, "DLL read-back");
    check_eq(inb(COM1 + DLM), 0x00, "DLM read-back");
    check_eq(inb(COM1 + LCR), LCR_DLAB | LCR_8N1, "LCR with DLAB");
    outb(COM1 + LCR, LCR_8N1);
    check_eq(inb(COM1 + LCR), LCR_8N1, "LCR 8N1");
    outb(COM1 + IER, 0x05);
    check_eq(inb(COM1 + IER), 0x05, "IER read-back (DLAB off)");
    outb(COM1 + IER, 0x00);
    /* With DLAB off, offset 0 is RBR/THR again: DLL must be untouched by IER writes. */
    outb(COM1 + LCR, LCR_DLAB | LCR_8N1);
    check_eq(inb(COM1 + DLL), 0x0C, "DLL kept");
    outb(COM1 + LCR, LCR_8N1);
}

static void status(void)
{
    check_eq(inb(COM1 + LSR) & (LSR_THRE | LSR_TEMT), LSR_THRE | LSR_TEMT, "LSR idle");
    check_eq(inb(COM1 + IIR) & 0x0F, IIR_NOINT, "IIR no interrupt");
    outb(COM1 + FCR, 0x07); /* enable and clear FIFOs */
    check_eq(inb(COM1 + IIR) & 0xC0, 0xC0, "IIR FIFOs enabled");
}

static void loopback(void)
{
    outb(COM1 + MCR, MCR_LOOP | MCR_DTR | MCR_RTS | MCR_OUT1 | MCR_OUT2);
    check_eq(inb(COM1 + MSR) & 0xF0, 0xF0, "MSR follows MCR in loopback");
    while (inb(COM1 + LSR) & LSR_DR) /* drain */
        (void)inb(COM1 + RBR);
    outb(COM1 + THR, 'Z');
    check_eq(inb(COM1 + LSR) & LSR_DR, LSR_DR, "loopback data ready");
    check_eq(inb(COM1 + RBR), 'Z', "loopback byte");
    check_eq(inb(COM1 + LSR) & LSR_DR, 0, "data ready clears");
    outb(COM1 + MCR, MCR_DTR | MCR_RTS);
}

int guest_main(void)
{
    scratch();
    divisor_latch();
    status();
    loopback();
    return report("uart");
}
