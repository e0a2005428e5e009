/* Guest RAM: a memfd mapped once, split into guest-physical regions around the MMIO hole
 * (layout in core/memmap.h). Every access helper bounds-checks without overflowing. */
#include "core/guest_mem.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/memmap.h"
#include "util/log.h"

static void add_region(struct guest_mem *gm, uint64_t gpa, uint64_t size, uint64_t fd_offset)
{
    struct guest_mem_region *r = &gm->regions[gm->nregions++];
    r->gpa = gpa;
    r->size = size;
    r->fd_offset = fd_offset;
    r->host = gm->base + fd_offset;
}

int guest_mem_init(struct guest_mem *gm, uint64_t ram_size)
{
    memset(gm, 0, sizeof(*gm));
    gm->fd = -1;
    if (ram_size < MEMMAP_RAM_MIN || ram_size > MEMMAP_RAM_MAX || (ram_size & 0xfff)) {
        log_error("guest RAM size %llu is invalid (a multiple of 4 KiB from 2 MiB to 1 TiB)",
                  (unsigned long long)ram_size);
        return -EINVAL;
    }
    int fd = memfd_create("ember-guest-ram", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0) {
        int e = errno;
        log_error("memfd_create for guest RAM: %s", strerror(e));
        return -e;
    }
    if (ftruncate(fd, (off_t)ram_size) < 0) {
        int e = errno;
        log_error("sizing guest RAM to %llu bytes: %s", (unsigned long long)ram_size, strerror(e));
        close(fd);
        return -e;
    }
    /* The size never changes: seal it so nothing can shrink the file under a mapping. */
    if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) < 0) {
        int e = errno;
        log_error("sealing guest RAM memfd: %s", strerror(e));
        close(fd);
        return -e;
    }
    void *base = mmap(NULL, ram_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd, 0);
    if (base == MAP_FAILED) {
        int e = errno;
        log_error("mapping %llu bytes of guest RAM: %s", (unsigned long long)ram_size, strerror(e));
        close(fd);
        return -e;
    }
    /* Best effort: guest RAM is not worth dumping into a VMM core file. */
    (void)madvise(base, ram_size, MADV_DONTDUMP);
    gm->fd = fd;
    gm->base = base;
    gm->ram_size = ram_size;
    uint64_t low = ram_size < MEMMAP_RAM_LOW_END ? ram_size : MEMMAP_RAM_LOW_END;
    add_region(gm, 0, low, 0);
    if (ram_size > low)
        add_region(gm, MEMMAP_RAM_HIGH_BASE, ram_size - low, low);
    return 0;
}

void guest_mem_destroy(struct guest_mem *gm)
{
    if (gm->base && munmap(gm->base, gm->ram_size) < 0)
        log_warn("unmapping guest RAM: %s", strerror(errno));
    if (gm->fd >= 0)
        close(gm->fd);
    memset(gm, 0, sizeof(*gm));
    gm->fd = -1;
}

static const struct guest_mem_region *find_region(const struct guest_mem *gm, uint64_t gpa)
{
    for (unsigned i = 0; i < gm->nregions; i++) {
        const struct guest_mem_region *r = &gm->regions[i];
        if (gpa >= r->gpa && gpa - r->gpa < r->size)
            return r;
    }
    return NULL;
}

void *guest_mem_cpu_ptr(const struct guest_mem *gm, uint64_t gpa, uint64_t len)
{
    for (unsigned i = 0; i < gm->nregions; i++) {
        const struct guest_mem_region *r = &gm->regions[i];
        if (gpa < r->gpa)
            continue;
        uint64_t off = gpa - r->gpa;
        /* off <= size and len <= size - off: no overflow possible. */
        if (off <= r->size && len <= r->size - off)
            return r->host + off;
    }
    return NULL;
}

void *guest_mem_ptr(const struct guest_mem *gm, uint64_t gpa, uint64_t len)
{
    void *p = guest_mem_cpu_ptr(gm, gpa, len);
    if (p && len && gm->write_notify)
        gm->write_notify(gm->write_notify_opaque, gpa, len);
    return p;
}

/* Walks [gpa, gpa+len) region by region; calls fn on each host piece. */
static int walk(const struct guest_mem *gm, uint64_t gpa, size_t len,
                void (*fn)(uint8_t *host, uint8_t *buf, size_t n), uint8_t *buf)
{
    while (len > 0) {
        const struct guest_mem_region *r = find_region(gm, gpa);
        if (!r)
            return -EFAULT;
        uint64_t off = gpa - r->gpa;
        uint64_t avail = r->size - off;
        size_t n = len < avail ? len : (size_t)avail;
        fn(r->host + off, buf, n);
        if (buf)
            buf += n;
        len -= n;
        if (len > 0 && gpa + n < gpa)
            return -EFAULT; /* wrapped past the top of the address space */
        gpa += n;
    }
    return 0;
}

static void copy_out(uint8_t *host, uint8_t *buf, size_t n)
{
    memcpy(buf, host, n);
}

static void copy_in(uint8_t *host, uint8_t *buf, size_t n)
{
    memcpy(host, buf, n);
}

static void no_copy(uint8_t *host, uint8_t *buf, size_t n)
{
}

int guest_mem_read(const struct guest_mem *gm, uint64_t gpa, void *buf, size_t len)
{
    return walk(gm, gpa, len, copy_out, buf);
}

int guest_mem_write(const struct guest_mem *gm, uint64_t gpa, const void *buf, size_t len)
{
    if (len && gm->write_notify && guest_mem_is_ram(gm, gpa, len))
        gm->write_notify(gm->write_notify_opaque, gpa, len);
    return walk(gm, gpa, len, copy_in, (uint8_t *)buf);
}

bool guest_mem_is_ram(const struct guest_mem *gm, uint64_t gpa, uint64_t len)
{
    if (len > 0 && gpa + (len - 1) < gpa)
        return false;
    return walk(gm, gpa, (size_t)len, no_copy, NULL) == 0;
}
