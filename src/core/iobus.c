/* Address-decoded PIO/MMIO bus: a sorted, immutable range table replaced copy-on-write on
 * every (rare) registration change, so vCPU threads look up handlers without locks. */
#include "core/iobus.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"

struct iobus_table {
    struct iobus_table *next_retired;
    unsigned count;
    struct iobus_range ranges[]; /* sorted by base, non-overlapping */
};

static struct iobus_table *table_alloc(unsigned count)
{
    struct iobus_table *t = calloc(1, sizeof(*t) + (size_t)count * sizeof(struct iobus_range));
    if (t)
        t->count = count;
    return t;
}

int iobus_init(struct iobus *bus, const char *name)
{
    memset(bus, 0, sizeof(*bus));
    bus->name = name;
    struct iobus_table *t = table_alloc(0);
    if (!t)
        return -ENOMEM;
    atomic_store(&bus->current, t);
    int r = pthread_mutex_init(&bus->update_lock, NULL);
    if (r != 0) {
        free(t);
        return -r;
    }
    return 0;
}

void iobus_destroy(struct iobus *bus)
{
    free(atomic_load(&bus->current));
    struct iobus_table *t = bus->retired;
    while (t) {
        struct iobus_table *next = t->next_retired;
        free(t);
        t = next;
    }
    pthread_mutex_destroy(&bus->update_lock);
    memset(bus, 0, sizeof(*bus));
}

static bool overlaps(const struct iobus_range *r, uint64_t base, uint64_t len)
{
    /* Both ranges are non-wrapping: [a, a+la) and [b, b+lb) overlap iff a < b+lb && b < a+la. */
    return base <= r->base + (r->len - 1) && r->base <= base + (len - 1);
}

/* Publishes a new table; the old one is kept until destroy (a vCPU may still be reading it). */
static void publish(struct iobus *bus, struct iobus_table *t)
{
    struct iobus_table *old = atomic_exchange(&bus->current, t);
    old->next_retired = bus->retired;
    bus->retired = old;
}

int iobus_register(struct iobus *bus, uint64_t base, uint64_t len, const struct iobus_ops *ops,
                   void *opaque, const char *name)
{
    if (len == 0 || base + (len - 1) < base || !ops)
        return -EINVAL;
    pthread_mutex_lock(&bus->update_lock);
    const struct iobus_table *cur = atomic_load(&bus->current);
    for (unsigned i = 0; i < cur->count; i++) {
        if (overlaps(&cur->ranges[i], base, len)) {
            log_error("%s bus: %s at 0x%llx+0x%llx overlaps %s at 0x%llx", bus->name, name,
                      (unsigned long long)base, (unsigned long long)len, cur->ranges[i].name,
                      (unsigned long long)cur->ranges[i].base);
            pthread_mutex_unlock(&bus->update_lock);
            return -EEXIST;
        }
    }
    struct iobus_table *t = table_alloc(cur->count + 1);
    if (!t) {
        pthread_mutex_unlock(&bus->update_lock);
        return -ENOMEM;
    }
    unsigned j = 0;
    bool placed = false;
    for (unsigned i = 0; i < cur->count; i++) {
        if (!placed && base < cur->ranges[i].base) {
            t->ranges[j++] = (struct iobus_range){base, len, ops, opaque, name};
            placed = true;
        }
        t->ranges[j++] = cur->ranges[i];
    }
    if (!placed)
        t->ranges[j++] = (struct iobus_range){base, len, ops, opaque, name};
    publish(bus, t);
    pthread_mutex_unlock(&bus->update_lock);
    return 0;
}

int iobus_unregister(struct iobus *bus, uint64_t base, void *opaque)
{
    pthread_mutex_lock(&bus->update_lock);
    const struct iobus_table *cur = atomic_load(&bus->current);
    unsigned idx = cur->count;
    for (unsigned i = 0; i < cur->count; i++)
        if (cur->ranges[i].base == base && cur->ranges[i].opaque == opaque)
            idx = i;
    if (idx == cur->count) {
        pthread_mutex_unlock(&bus->update_lock);
        return -ENOENT;
    }
    struct iobus_table *t = table_alloc(cur->count - 1);
    if (!t) {
        pthread_mutex_unlock(&bus->update_lock);
        return -ENOMEM;
    }
    for (unsigned i = 0, j = 0; i < cur->count; i++)
        if (i != idx)
            t->ranges[j++] = cur->ranges[i];
    publish(bus, t);
    pthread_mutex_unlock(&bus->update_lock);
    return 0;
}

/* Binary search for the range holding addr; NULL if none. */
static const struct iobus_range *lookup(const struct iobus_table *t, uint64_t addr)
{
    unsigned lo = 0, hi = t->count;
    while (lo < hi) {
        unsigned mid = lo + (hi - lo) / 2;
        const struct iobus_range *r = &t->ranges[mid];
        if (addr < r->base)
            hi = mid;
        else if (addr - r->base >= r->len)
            lo = mid + 1;
        else
            return r;
    }
    return NULL;
}

static const struct iobus_range *claim(struct iobus *bus, uint64_t addr, unsigned size)
{
    if (size != 1 && size != 2 && size != 4 && size != 8)
        return NULL;
    const struct iobus_table *t = atomic_load(&bus->current);
    const struct iobus_range *r = lookup(t, addr);
    if (!r || addr - r->base > r->len - size || size > r->len)
        return NULL;
    return r;
}

bool iobus_read(struct iobus *bus, uint64_t addr, unsigned size, uint64_t *value)
{
    const struct iobus_range *r = claim(bus, addr, size);
    if (!r || !r->ops->read) {
        log_debug("%s bus: unclaimed read of %u bytes at 0x%llx", bus->name, size,
                  (unsigned long long)addr);
        *value = size == 8 ? ~0ULL : ((1ULL << (size * 8)) - 1);
        return false;
    }
    uint64_t v = r->ops->read(r->opaque, addr - r->base, size);
    *value = size == 8 ? v : v & ((1ULL << (size * 8)) - 1);
    return true;
}

bool iobus_write(struct iobus *bus, uint64_t addr, unsigned size, uint64_t value)
{
    const struct iobus_range *r = claim(bus, addr, size);
    if (!r || !r->ops->write) {
        log_debug("%s bus: unclaimed write of %u bytes at 0x%llx", bus->name, size,
                  (unsigned long long)addr);
        return false;
    }
    r->ops->write(r->opaque, addr - r->base, size == 8 ? value : value & ((1ULL << (size * 8)) - 1),
                  size);
    return true;
}
