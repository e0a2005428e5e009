/* The BIOS e820 memory map handed to Linux in boot_params (ACPI 6.4 chapter 15 "System Address
 * Map Interfaces"), built from the guest RAM regions and ember's memory map. */
#ifndef EMBER_BOOT_LINUX_E820_H
#define EMBER_BOOT_LINUX_E820_H

#include <stdint.h>

#include "core/guest_mem.h"

#define E820_RAM      1
#define E820_RESERVED 2
#define E820_ACPI     3

#define E820_MAX_ENTRIES 128 /* boot_params.e820_table */

struct e820_entry {
    uint64_t addr;
    uint64_t size;
    uint32_t type;
};

/* Fills out (max entries, sorted by address, non-overlapping). Returns the count, or -ENOSPC. */
int e820_build(const struct guest_mem *gm, struct e820_entry *out, unsigned max);

#endif
