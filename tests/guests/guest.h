/* Helpers shared by the freestanding test guests: port and MMIO access, the COM1 UART, the
 * ember test device (src/devices/testdev.h) and pass/fail reporting. Every guest defines
 * int guest_main(void); its return value is written to the debug-exit port (0 = pass). */
#ifndef EMBER_TEST_GUEST_H
#define EMBER_TEST_GUEST_H

#include <stdint.h>

#define COM1            0x3F8
#define DEBUG_EXIT_PORT 0xF4

/* Test device: ports and MMIO page (keep in sync with src/devices/testdev.h, core/memmap.h). */
#define TESTDEV_PORT        0x510
#define TESTDEV_MMIO        0xFEB00000UL
#define TESTDEV_REG_ID      0x00
#define TESTDEV_REG_COUNT   0x04
#define TESTDEV_REG_ECHO    0x08
#define TESTDEV_REG_SCRATCH 0x10
#define TESTDEV_REG_INVERT  0x30
#define TESTDEV_ID          0x54424D45U

static inline void outb(uint16_t port, uint8_t v)
{
    __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}
static inline void outw(uint16_t port, uint16_t v)
{
    __asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port));
}
static inline void outl(uint16_t port, uint32_t v)
{
    __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}
static inline uint8_t inb(uint16_t port)
{
    uint8_t v;
    __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}
static inline uint16_t inw(uint16_t port)
{
    uint16_t v;
    __asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}
static inline uint32_t inl(uint16_t port)
{
    uint32_t v;
    __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

static inline uint8_t mmio_read8(uintptr_t a)
{
    return *(volatile uint8_t *)a;
}
static inline uint16_t mmio_read16(uintptr_t a)
{
    return *(volatile uint16_t *)a;
}
static inline uint32_t mmio_read32(uintptr_t a)
{
    return *(volatile uint32_t *)a;
}
static inline uint64_t mmio_read64(uintptr_t a)
{
    return *(volatile uint64_t *)a;
}
static inline void mmio_write8(uintptr_t a, uint8_t v)
{
    *(volatile uint8_t *)a = v;
}
static inline void mmio_write16(uintptr_t a, uint16_t v)
{
    *(volatile uint16_t *)a = v;
}
static inline void mmio_write32(uintptr_t a, uint32_t v)
{
    *(volatile uint32_t *)a = v;
}
static inline void mmio_write64(uintptr_t a, uint64_t v)
{
    *(volatile uint64_t *)a = v;
}

/* COM1 output (polls LSR.THRE). */
void putc_serial(char c);
void puts_serial(const char *s);
void puthex(uint64_t v);

/* Checks cond; on failure prints "FAIL: what" and counts it. Returns cond. */
int check(int cond, const char *what);
/* Like check(got == want, what), printing both values on failure. */
int check_eq(uint64_t got, uint64_t want, const char *what);
/* Prints PASS or FAIL with the guest's name and returns the exit code for guest_main. */
int report(const char *name);

int guest_main(void);

/* Interrupts: handlers use gcc's interrupt attribute; the IDT lives in guest_lib.c.
 * idt_set_gate installs a present, DPL 0, 64-bit interrupt gate on the boot code selector. */
struct frame;
typedef void (*guest_irq_handler)(struct frame *);
void idt_set_gate(unsigned vec, guest_irq_handler handler);
/* Every vector to handler (for "unexpected interrupt" catch-alls). */
void idt_set_all(guest_irq_handler handler);
void idt_load(void);

void *memset(void *d, int c, unsigned long n);
void *memcpy(void *d, const void *s, unsigned long n);

#endif
