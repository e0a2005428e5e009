/* Fuzz target: the ELF64 loader on arbitrary bytes, into 8 MiB of guest RAM. Must never crash
 * or touch memory outside guest RAM; either loads or explains why not. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "boot/elf_loader.h"
#include "core/memmap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct guest_mem gm;
    static int ready;
    if (!ready) {
        if (guest_mem_init(&gm, 8 * MiB) < 0)
            abort();
        ready = 1;
    }
    char why[256];
    uint64_t entry = 0;
    if (elf_loader_load(&gm, data, size, &entry, why, sizeof(why)) == 0 &&
        (entry < MEMMAP_KERNEL_BASE || entry >= 8 * MiB))
        abort(); /* a loaded entry point must be in RAM above the boot area */
    return 0;
}
