/* Test guest "pio": IN/OUT of 1, 2 and 4 bytes and string I/O (REP INS/OUTS, which KVM
 * reports as one exit with count > 1) against the test device's ports. */
#include "guest.h"

#define PORT(reg) (TESTDEV_PORT + (reg))

static void single_accesses(void)
{
    check_eq(inl(PORT(TESTDEV_REG_ID)), TESTDEV_ID, "inl ID");
    check_eq(inb(PORT(TESTDEV_REG_ID)), TESTDEV_ID & 0xFF, "inb ID");
    check_eq(inw(PORT(TESTDEV_REG_ID + 2)), TESTDEV_ID >> 16, "inw ID+2");

    outl(PORT(TESTDEV_REG_ECHO), 0xDEADBEEF);
    check_eq(inl(PORT(TESTDEV_REG_ECHO)), 0xDEADBEEF, "outl/inl echo");
    outb(PORT(TESTDEV_REG_ECHO), 0x11);
    check_eq(inl(PORT(TESTDEV_REG_ECHO)), 0xDEADBE11, "outb echo");
    outw(PORT(TESTDEV_REG_ECHO + 2), 0x2233);
    check_eq(inl(PORT(TESTDEV_REG_ECHO)), 0x2233BE11, "outw echo+2");
    check_eq(inw(PORT(TESTDEV_REG_ECHO + 1)), 0x33BE, "unaligned inw");
}

static void string_io(void)
{
    uint8_t in[6];
    memset(in, 0, sizeof(in));
    outl(PORT(TESTDEV_REG_COUNT), 0); /* clear the access counter */
    uintptr_t dst = (uintptr_t)in;
    unsigned long n = 5;
    __asm__ volatile("cld; rep insb" : "+D"(dst), "+c"(n) : "d"(PORT(TESTDEV_REG_ID)) : "memory");
    for (int i = 0; i < 5; i++)
        check_eq(in[i], TESTDEV_ID & 0xFF, "rep insb data");
    check_eq(in[5], 0, "rep insb stops at count");
    check_eq(inl(PORT(TESTDEV_REG_COUNT)), 5, "rep insb made 5 accesses");

    static const uint16_t words[3] = {0x1111, 0x2222, 0x3344};
    uintptr_t src = (uintptr_t)words;
    n = 3;
    outl(PORT(TESTDEV_REG_COUNT), 0);
    __asm__ volatile("cld; rep outsw"
                     : "+S"(src), "+c"(n)
                     : "d"(PORT(TESTDEV_REG_SCRATCH))
                     : "memory");
    check_eq(inw(PORT(TESTDEV_REG_SCRATCH)), 0x3344, "rep outsw: last word wins");
    check_eq(inl(PORT(TESTDEV_REG_COUNT)), 4, "rep outsw made 3 accesses");
}

int guest_main(void)
{
    single_accesses();
    string_io();
    return report("pio");
}
