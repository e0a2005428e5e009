/* 64-bit long-mode entry for loaders: the boot GDT, an empty IDT and identity-mapped page
 * tables for the first 4 GiB (2 MiB pages) at the MEMMAP_BOOT_* addresses, and the matching
 * struct cpu_state (Intel SDM vol. 3A 9.8.5 "Initializing IA-32e Mode"). Shared by the ELF,
 * flat and Linux loaders. */
#ifndef EMBER_BOOT_LONG_MODE_H
#define EMBER_BOOT_LONG_MODE_H

#include <stdint.h>

#include "core/cpu_state.h"
#include "core/guest_mem.h"

/* Boot GDT selectors (the Linux boot protocol's __BOOT_CS / __BOOT_DS values). */
#define LONG_MODE_SEL_CS 0x10
#define LONG_MODE_SEL_DS 0x18

/* Bytes of address space the boot page tables identity-map. */
#define LONG_MODE_IDENTITY_SIZE (4ULL << 30)

/* Writes the boot GDT, the empty IDT and the page tables into guest RAM. Returns 0, or
 * -EFAULT if guest RAM does not cover the table area (RAM must reach MEMMAP_BOOT_PD + 16 KiB). */
int long_mode_write_tables(struct guest_mem *gm);

/* Fills st for entry in 64-bit mode at rip with stack pointer rsp: CR0.PE|PG, CR4.PAE,
 * EFER.LME|LMA, CR3 = MEMMAP_BOOT_PML4, flat CS (L=1) and data segments from the boot GDT,
 * a usable busy TSS, interrupts off, the LAPIC enabled as bootstrap processor. All other
 * registers are zero. */
void long_mode_init_state(struct cpu_state *st, uint64_t rip, uint64_t rsp);

/* Both of the above. */
int long_mode_prepare(struct guest_mem *gm, struct cpu_state *st, uint64_t rip, uint64_t rsp);

#endif
