/* ELF64 executables (System V gABI "Object Files", x86-64 psABI): validation of every header
 * field against the image size and guest RAM, loading of PT_LOAD segments by physical address. */
#ifndef EMBER_BOOT_ELF_LOADER_H
#define EMBER_BOOT_ELF_LOADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/guest_mem.h"

/* True if img starts with the ELF magic. */
bool elf_loader_is_elf(const void *img, size_t size);

/* Loads the ELF64 x86-64 executable img (size bytes, untrusted) into gm and returns the
 * guest-physical entry point. Segments must lie in RAM at or above MEMMAP_KERNEL_BASE (the
 * first MiB holds ember's boot structures) and the entry point inside a loaded executable
 * segment below 4 GiB (the boot page tables map only that). Returns 0, or -ENOEXEC (bad
 * image) / -ENOMEM (does not fit in RAM) with the reason in why; then gm may hold a partial
 * image. */
int elf_loader_load(struct guest_mem *gm, const void *img, size_t size, uint64_t *entry, char *why,
                    size_t whylen);

#endif
