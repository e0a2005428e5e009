/* Booting a Linux bzImage through the 64-bit boot protocol (Documentation/x86/boot.rst,
 * "64-bit Boot Protocol"): kernel at MEMMAP_KERNEL_BASE, boot_params (zero page) with the setup
 * header, e820 map and ACPI RSDP address, the command line and the initrd, and vCPU 0 entering
 * startup_64 in long mode with RSI = boot_params. Shared by the kvm and soft accelerators. */
#ifndef EMBER_BOOT_LINUX_LINUX_BOOT_H
#define EMBER_BOOT_LINUX_LINUX_BOOT_H

#include <stddef.h>
#include <stdint.h>

#include "core/cpu_state.h"
#include "core/guest_mem.h"

struct vm;

/* What to load (all in host memory). */
struct linux_boot_image {
    const uint8_t *kernel;
    size_t kernel_size;
    const uint8_t *initrd; /* may be NULL */
    size_t initrd_size;
    const char *cmdline; /* may be NULL: empty */
    const char *name;    /* for messages (the kernel's path) */
};

/* Where things went. */
struct linux_boot_layout {
    uint64_t kernel_addr, kernel_end; /* kernel_end: top of what it needs to decompress */
    uint64_t entry;
    uint64_t initrd_addr;
    uint64_t cmdline_addr;
};

/* Loads img into gm and fills st (vCPU 0). Returns 0, -ENOEXEC (bad image), -E2BIG (command
 * line or initrd too big), -ENOMEM (not enough guest RAM); each logged with the reason. */
int linux_boot_setup(struct guest_mem *gm, const struct linux_boot_image *img, struct cpu_state *st,
                     struct linux_boot_layout *out);

/* Reads the files and boots vm: fills vm->vcpus[0].boot_state; other vCPUs wait for INIT/SIPI. */
int linux_boot_load(struct vm *vm, const char *kernel, const char *initrd, const char *cmdline);

#endif
