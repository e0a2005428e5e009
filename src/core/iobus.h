/* An address-decoded bus (one for port I/O, one for MMIO) on which devices register
 * handlers for ranges. Lookups are lock-free; registration may happen while vCPUs run
 * (PCI BARs move at run time): the range table is replaced copy-on-write and old tables are
 * kept until the bus is destroyed, so a vCPU mid-lookup never sees freed memory. */
#ifndef EMBER_CORE_IOBUS_H
#define EMBER_CORE_IOBUS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

/* Handlers get the offset from the range base and an access size of 1, 2, 4 or 8.
 * A read returns the value in the low `size` bytes. Handlers run on vCPU threads and must
 * do their own locking. */
struct iobus_ops {
    uint64_t (*read)(void *opaque, uint64_t offset, unsigned size);
    void (*write)(void *opaque, uint64_t offset, uint64_t value, unsigned size);
};

struct iobus_range {
    uint64_t base;
    uint64_t len;
    const struct iobus_ops *ops;
    void *opaque;
    const char *name;
};

struct iobus_table; /* immutable, sorted */

struct iobus {
    const char *name;                    /* "pio" or "mmio", for messages */
    struct iobus_table *_Atomic current; /* read by vCPUs without locks */
    struct iobus_table *retired;         /* previous tables, freed at destroy */
    pthread_mutex_t update_lock;         /* serialises writers */
};

int iobus_init(struct iobus *bus, const char *name);
void iobus_destroy(struct iobus *bus);

/* Claims [base, base+len). Fails with -EEXIST if it overlaps a registered range,
 * -EINVAL if len is 0 or the range wraps. */
int iobus_register(struct iobus *bus, uint64_t base, uint64_t len, const struct iobus_ops *ops,
                   void *opaque, const char *name);
/* Removes the range registered at exactly `base` with this opaque. -ENOENT if none. */
int iobus_unregister(struct iobus *bus, uint64_t base, void *opaque);

/* Dispatches an access. Returns true if a handler claimed the whole access. Unclaimed reads
 * return all-ones (as on real hardware), unclaimed writes are dropped; both are logged at
 * debug level. An access straddling a range end is not claimed. */
bool iobus_read(struct iobus *bus, uint64_t addr, unsigned size, uint64_t *value);
bool iobus_write(struct iobus *bus, uint64_t addr, unsigned size, uint64_t value);

#endif
