/* The ember test device: registers that test guests use to check PIO and MMIO paths of an
 * accelerator. The same register file appears at MEMMAP_TESTDEV_BASE (MMIO) and at
 * TESTDEV_PORT_BASE (PIO, the first TESTDEV_PORT_SIZE offsets). Accesses of any size (1, 2,
 * 4, 8) at any offset work byte-wise; little-endian. */
#ifndef EMBER_DEVICES_TESTDEV_H
#define EMBER_DEVICES_TESTDEV_H

#include <stdint.h>

struct vm;

#define TESTDEV_PORT_BASE 0x510 /* clear of every port in core/memmap.h */
#define TESTDEV_PORT_SIZE 0x20

/* Register offsets. */
#define TESTDEV_REG_ID      0x00 /* RO 32-bit: TESTDEV_ID */
#define TESTDEV_REG_COUNT   0x04 /* 32-bit: accesses before this one; any write clears it */
#define TESTDEV_REG_ECHO    0x08 /* 64-bit: reads return what was last written */
#define TESTDEV_REG_SCRATCH 0x10 /* 32 bytes of scratch storage, 0x10..0x2F */
#define TESTDEV_SCRATCH_LEN 0x20
#define TESTDEV_REG_INVERT  0x30 /* 64-bit: reads return the bitwise NOT of what was written */
#define TESTDEV_REGS_END    0x38 /* offsets from here to the end of the page read as 0 */

#define TESTDEV_ID 0x54424D45U /* "EMBT" */

struct testdev;

/* Creates the device and claims its MMIO page and ports; registered with vm_add_device so it is
 * reset with the VM and freed at teardown. Returns 0 or -errno (logged). */
int testdev_create(struct vm *vm);

/* Register access, as the buses call it (exposed for unit tests). */
struct testdev *testdev_new(void);
void testdev_free(struct testdev *t);
uint64_t testdev_read(struct testdev *t, uint64_t offset, unsigned size);
void testdev_write(struct testdev *t, uint64_t offset, uint64_t value, unsigned size);
void testdev_reset(struct testdev *t);

#endif
