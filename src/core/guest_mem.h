/* Guest RAM: one memfd holding all of it, mapped once in the VMM, split into guest-physical
 * regions around the MMIO hole. All access from devices and loaders goes through the checked
 * helpers here; guest-supplied addresses and lengths are untrusted. */
#ifndef EMBER_CORE_GUEST_MEM_H
#define EMBER_CORE_GUEST_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GUEST_MEM_MAX_REGIONS 4

struct guest_mem_region {
    uint64_t gpa;       /* guest-physical start */
    uint64_t size;      /* bytes */
    uint8_t *host;      /* host mapping of the start */
    uint64_t fd_offset; /* offset of the start in the memfd */
};

/* Called with every range a device or loader may write (see guest_mem_ptr): an accelerator
 * that caches translated guest code drops what it translated from those pages. */
typedef void (*guest_mem_write_fn)(void *opaque, uint64_t gpa, uint64_t len);

struct guest_mem {
    int fd;            /* the memfd (sealed against shrinking) */
    uint8_t *base;     /* host mapping of the whole memfd */
    uint64_t ram_size; /* total RAM bytes */
    unsigned nregions;
    struct guest_mem_region regions[GUEST_MEM_MAX_REGIONS];
    guest_mem_write_fn write_notify; /* optional; set once before any vCPU or device runs */
    void *write_notify_opaque;
};

/* Creates ram_size bytes of RAM (a multiple of 4 KiB) laid out per core/memmap.h.
 * Returns 0 or -errno. */
int guest_mem_init(struct guest_mem *gm, uint64_t ram_size);
void guest_mem_destroy(struct guest_mem *gm);

/* Host pointer for [gpa, gpa+len) if the whole range is RAM in one region, else NULL.
 * len may be 0 (then gpa must be inside RAM or at a region's end). Never overflows.
 * The caller may write the range (now or later, e.g. DMA completing on an I/O thread): it is
 * reported to write_notify before the pointer is returned. */
void *guest_mem_ptr(const struct guest_mem *gm, uint64_t gpa, uint64_t len);

/* The same lookup without write_notify, for an accelerator's own CPU accesses (which track
 * their writes to translated code themselves) and for read-only use. */
void *guest_mem_cpu_ptr(const struct guest_mem *gm, uint64_t gpa, uint64_t len);

/* Copies between guest RAM and a buffer, across region boundaries. Returns 0, or -EFAULT if
 * any byte of the range is not RAM (then nothing is guaranteed about partial copies). */
int guest_mem_read(const struct guest_mem *gm, uint64_t gpa, void *buf, size_t len);
int guest_mem_write(const struct guest_mem *gm, uint64_t gpa, const void *buf, size_t len);

/* True if [gpa, gpa+len) is entirely RAM (possibly spanning regions). */
bool guest_mem_is_ram(const struct guest_mem *gm, uint64_t gpa, uint64_t len);

#endif
