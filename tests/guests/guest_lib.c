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
