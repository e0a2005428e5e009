/* Shared test-guest code: polled COM1 output and check/report bookkeeping. */
#include "guest.h"

#define UART_LSR      5
#define UART_LSR_THRE 0x20

static int failures;

void putc_serial(char c)
{
    while (!(inb(COM1 + UART_LSR) & UART_LSR_THRE))
        ;
    outb(COM1, (uint8_t)c);
}

void puts_serial(const char *s)
{
    while (*s)
        putc_serial(*s++);
}

void puthex(uint64_t v)
{
    puts_serial("0x");
    for (int shift = 60; shift >= 0; shift -= 4)
        putc_serial("0123456789abcdef"[(v >> shift) & 0xF]);
}

int check(int cond, const char *what)
{
    if (!cond) {
        puts_serial("FAIL: ");
        puts_serial(what);
        putc_serial('\n');
        failures++;
    }
    return cond;
}

int check_eq(uint64_t got, uint64_t want, const char *what)
{
    if (got == want)
        return 1;
    puts_serial("FAIL: ");
    puts_serial(what);
    puts_serial(": got ");
    puthex(got);
    puts_serial(", want ");
    puthex(want);
    putc_serial('\n');
    failures++;
    return 0;
}

int report(const char *name)
{
    puts_serial(name);
    puts_serial(failures ? ": FAIL\n" : ": PASS\n");
    return failures ? 1 : 0;
}

void *memset(void *d, int c, unsigned long n)
{
    unsigned char *p = d;
    while (n--)
        *p++ = (unsigned char)c;
    return d;
}

void *memcpy(void *d, const void *s, unsigned long n)
{
    unsigned char *p = d;
    const unsigned char *q = s;
    while (n--)
        *p++ = *q++;
    return d;
}

/* The IDT shared by the guests that take interrupts (64-bit gate layout, SDM Vol. 3A 6.14.1). */
struct idt_entry {
    uint16_t off_lo, sel;
    uint8_t ist, type;
    uint16_t off_mid;
    uint32_t off_hi, zero;
} __attribute__((packed));

static struct idt_entry idt[256];

void idt_set_gate(unsigned vec, guest_irq_handler handler)
{
    uint64_t a = (uint64_t)(uintptr_t)handler;
    idt[vec & 0xff] = (struct idt_entry){.off_lo = (uint16_t)a,
                                         .sel = 0x10,  /* LONG_MODE_SEL_CS */
                                         .type = 0x8E, /* present, DPL 0, 64-bit interrupt gate */
                                         .off_mid = (uint16_t)(a >> 16),
                                         .off_hi = (uint32_t)(a >> 32)};
}

void idt_set_all(guest_irq_handler handler)
{
    for (unsigned v = 0; v < 256; v++)
        idt_set_gate(v, handler);
}

void idt_load(void)
{
    struct {
        uint16_t limit;
        uint64_t base;
    } __attribute__((packed)) p = {sizeof(idt) - 1, (uint64_t)(uintptr_t)idt};
    __asm__ volatile("lidt %0" : : "m"(p));
}
