/* Flat binaries: the image is copied to MEMMAP_KERNEL_BASE and entered there in 64-bit mode. */
#ifndef EMBER_BOOT_FLAT_LOADER_H
#define EMBER_BOOT_FLAT_LOADER_H

#include <stddef.h>
#include <stdint.h>

#include "core/guest_mem.h"

/* Copies img (size bytes) to MEMMAP_KERNEL_BASE; *entry = MEMMAP_KERNEL_BASE. Returns 0, or
 * -ENOEXEC (empty image) / -ENOMEM (does not fit in RAM) with the reason in why. */
int flat_loader_load(struct guest_mem *gm, const void *img, size_t size, uint64_t *entry, char *why,
                     size_t whylen);

#endif
