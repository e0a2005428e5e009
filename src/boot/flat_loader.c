/* Flat binary loader: raw code and data at MEMMAP_KERNEL_BASE, entered at its first byte. */
#include "boot/flat_loader.h"

#include <errno.h>
#include <stdio.h>

#include "core/memmap.h"

int flat_loader_load(struct guest_mem *gm, const void *img, size_t size, uint64_t *entry, char *why,
                     size_t whylen)
{
    if (size == 0) {
        snprintf(why, whylen, "the image is empty");
        return -ENOEXEC;
    }
    if (!guest_mem_is_ram(gm, MEMMAP_KERNEL_BASE, size)) {
        snprintf(why, whylen,
                 "a %zu-byte flat image at 0x%llx does not fit in guest RAM (%llu bytes)", size,
                 (unsigned long long)MEMMAP_KERNEL_BASE, (unsigned long long)gm->ram_size);
        return -ENOMEM;
    }
    int rc = guest_mem_write(gm, MEMMAP_KERNEL_BASE, img, size);
    if (rc < 0) {
        snprintf(why, whylen, "copying the image into guest RAM failed");
        return rc;
    }
    *entry = MEMMAP_KERNEL_BASE;
    return 0;
}
