/* The ember test device (see testdev.h): ID, access counter, echo, scratch and invert
 * registers behind one byte-addressed register file, on the MMIO and PIO buses. Offsets and
 * sizes come from the guest and are checked (the buses bound them to the claimed range). */
#include "devices/testdev.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/memmap.h"
#include "core/vm.h"
#include "util/log.h"

struct testdev {
    pthread_mutex_t lock; /* handlers run on any vCPU thread */
    uint32_t count;
    uint64_t echo;
    uint64_t invert;
    uint8_t scratch[TESTDEV_SCRATCH_LEN];
};

static uint8_t byte_of(uint64_t v, uint64_t i)
{
    return (uint8_t)(v >> (8 * i));
}

static uint8_t read_byte(const struct testdev *t, uint64_t off, uint32_t count)
{
    if (off < TESTDEV_REG_COUNT)
        return byte_of(TESTDEV_ID, off - TESTDEV_REG_ID);
    if (off < TESTDEV_REG_ECHO)
        return byte_of(count, off - TESTDEV_REG_COUNT);
    if (off < TESTDEV_REG_SCRATCH)
        return byte_of(t->echo, off - TESTDEV_REG_ECHO);
    if (off < TESTDEV_REG_INVERT)
        return t->scratch[off - TESTDEV_REG_SCRATCH];
    if (off < TESTDEV_REGS_END)
        return byte_of(~t->invert, off - TESTDEV_REG_INVERT);
    return 0;
}

static void set_byte(uint64_t *v, uint64_t i, uint8_t b)
{
    *v = (*v & ~(0xFFULL << (8 * i))) | ((uint64_t)b << (8 * i));
}

static void write_byte(struct testdev *t, uint64_t off, uint8_t b, bool *clear_count)
{
    if (off < TESTDEV_REG_COUNT)
        return; /* ID is read-only */
    if (off < TESTDEV_REG_ECHO)
        *clear_count = true;
    else if (off < TESTDEV_REG_SCRATCH)
        set_byte(&t->echo, off - TESTDEV_REG_ECHO, b);
    else if (off < TESTDEV_REG_INVERT)
        t->scratch[off - TESTDEV_REG_SCRATCH] = b;
    else if (off < TESTDEV_REGS_END)
        set_byte(&t->invert, off - TESTDEV_REG_INVERT, b);
}

static unsigned clamp_size(unsigned size)
{
    return size > 8 ? 8 : size;
}

uint64_t testdev_read(struct testdev *t, uint64_t offset, unsigned size)
{
    uint64_t v = 0;
    size = clamp_size(size);
    pthread_mutex_lock(&t->lock);
    uint32_t count = t->count++;
    for (unsigned i = 0; i < size; i++)
        v |= (uint64_t)read_byte(t, offset + i, count) << (8 * i);
    pthread_mutex_unlock(&t->lock);
    return v;
}

void testdev_write(struct testdev *t, uint64_t offset, uint64_t value, unsigned size)
{
    bool clear_count = false;
    size = clamp_size(size);
    pthread_mutex_lock(&t->lock);
    t->count++;
    for (unsigned i = 0; i < size; i++)
        write_byte(t, offset + i, byte_of(value, i), &clear_count);
    if (clear_count)
        t->count = 0;
    pthread_mutex_unlock(&t->lock);
}

void testdev_reset(struct testdev *t)
{
    pthread_mutex_lock(&t->lock);
    t->count = 0;
    t->echo = 0;
    t->invert = 0;
    memset(t->scratch, 0, sizeof(t->scratch));
    pthread_mutex_unlock(&t->lock);
}

struct testdev *testdev_new(void)
{
    struct testdev *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    if (pthread_mutex_init(&t->lock, NULL) != 0) {
        free(t);
        return NULL;
    }
    return t;
}

void testdev_free(struct testdev *t)
{
    if (!t)
        return;
    pthread_mutex_destroy(&t->lock);
    free(t);
}

static uint64_t bus_read(void *opaque, uint64_t offset, unsigned size)
{
    return testdev_read(opaque, offset, size);
}

static void bus_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    testdev_write(opaque, offset, value, size);
}

static const struct iobus_ops testdev_bus_ops = {.read = bus_read, .write = bus_write};

static void dev_reset(void *opaque)
{
    testdev_reset(opaque);
}

static void dev_destroy(void *opaque)
{
    testdev_free(opaque);
}

int testdev_create(struct vm *vm)
{
    struct testdev *t = testdev_new();
    if (!t) {
        log_error("testdev: out of memory");
        return -ENOMEM;
    }
    int rc = iobus_register(&vm->mmio, MEMMAP_TESTDEV_BASE, MEMMAP_TESTDEV_SIZE, &testdev_bus_ops,
                            t, "testdev");
    if (rc < 0) {
        log_error("testdev: cannot claim MMIO 0x%llx: %s", (unsigned long long)MEMMAP_TESTDEV_BASE,
                  strerror(-rc));
        testdev_free(t);
        return rc;
    }
    rc = iobus_register(&vm->pio, TESTDEV_PORT_BASE, TESTDEV_PORT_SIZE, &testdev_bus_ops, t,
                        "testdev");
    if (rc < 0) {
        log_error("testdev: cannot claim ports 0x%x: %s", TESTDEV_PORT_BASE, strerror(-rc));
        iobus_unregister(&vm->mmio, MEMMAP_TESTDEV_BASE, t);
        testdev_free(t);
        return rc;
    }
    struct vm_device dev = {
        .name = "testdev", .opaque = t, .reset = dev_reset, .destroy = dev_destroy};
    rc = vm_add_device(vm, &dev);
    if (rc < 0) {
        log_error("testdev: cannot add the device: %s", strerror(-rc));
        iobus_unregister(&vm->pio, TESTDEV_PORT_BASE, t);
        iobus_unregister(&vm->mmio, MEMMAP_TESTDEV_BASE, t);
        testdev_free(t);
        return rc;
    }
    return 0;
}
