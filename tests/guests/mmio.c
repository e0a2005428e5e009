/* Test guest "mmio": 1/2/4/8-byte loads and stores to the test device page, including
 * unaligned and read-modify-write instructions, all of which the accelerator must forward. */
#include "guest.h"

#define REG(r) (TESTDEV_MMIO + (r))

int guest_main(void)
{
    check_eq(mmio_read32(REG(TESTDEV_REG_ID)), TESTDEV_ID, "read32 ID");
    check_eq(mmio_read8(REG(TESTDEV_REG_ID + 3)), TESTDEV_ID >> 24, "read8 ID+3");

    mmio_write64(REG(TESTDEV_REG_ECHO), 0x0123456789ABCDEFULL);
    check_eq(mmio_read64(REG(TESTDEV_REG_ECHO)), 0x0123456789ABCDEFULL, "write64/read64 echo");
    mmio_write16(REG(TESTDEV_REG_ECHO + 6), 0xBEEF);
    check_eq(mmio_read64(REG(TESTDEV_REG_ECHO)), 0xBEEF456789ABCDEFULL, "write16 echo+6");
    mmio_write8(REG(TESTDEV_REG_ECHO), 0x5A);
    check_eq(mmio_read32(REG(TESTDEV_REG_ECHO)), 0x89ABCD5A, "write8 echo");

    for (unsigned i = 0; i < 8; i++)
        mmio_write8(REG(TESTDEV_REG_SCRATCH + i), (uint8_t)(0x10 + i));
    check_eq(mmio_read64(REG(TESTDEV_REG_SCRATCH)), 0x1716151413121110ULL, "scratch bytes");
    check_eq(mmio_read16(REG(TESTDEV_REG_SCRATCH + 3)), 0x1413, "unaligned read16");

    mmio_write64(REG(TESTDEV_REG_INVERT), 0xF0F0F0F00F0F0F0FULL);
    check_eq(mmio_read64(REG(TESTDEV_REG_INVERT)), 0x0F0F0F0FF0F0F0F0ULL, "invert");

    /* A read-modify-write instruction: both halves go through the device. */
    mmio_write32(REG(TESTDEV_REG_SCRATCH + 8), 0x100);
    __asm__ volatile("addl $5, %0" : "+m"(*(volatile uint32_t *)REG(TESTDEV_REG_SCRATCH + 8)));
    check_eq(mmio_read32(REG(TESTDEV_REG_SCRATCH + 8)), 0x105, "add to MMIO");

    mmio_write32(REG(TESTDEV_REG_COUNT), 0);
    (void)mmio_read8(REG(TESTDEV_REG_ID));
    mmio_write8(REG(TESTDEV_REG_ECHO), 1);
    check_eq(mmio_read32(REG(TESTDEV_REG_COUNT)), 2, "access counter");
    return report("mmio");
}
