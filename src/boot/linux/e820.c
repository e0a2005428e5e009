/* e820 map construction: conventional memory below the EBDA, the BIOS area holding the ACPI
 * tables, RAM from 1 MiB up to the PCI hole, the ECAM window reserved (PCI Firmware 3.2 4.1.2
 * requires it to be reserved), and RAM above 4 GiB. */
#include "boot/linux/e820.h"

#include <errno.h>
#include <stdbool.h>

#include "core/memmap.h"

struct e820_builder {
    struct e820_entry *out;
    unsigned max, n;
    int err;
};

static void add(struct e820_builder *b, uint64_t addr, uint64_t end, uint32_t type)
{
    if (end <= addr || b->err)
        return;
    if (b->n == b->max) {
        b->err = -ENOSPC;
        return;
    }
    b->out[b->n++] = (struct e820_entry){.addr = addr, .size = end - addr, .type = type};
}

static uint64_t min64(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

int e820_build(const struct guest_mem *gm, struct e820_entry *out, unsigned max)
{
    struct e820_builder b = {.out = out, .max = max};
    bool ecam_done = false;
    for (unsigned i = 0; i < gm->nregions; i++) {
        const struct guest_mem_region *r = &gm->regions[i];
        uint64_t start = r->gpa, end = r->gpa + r->size;
        if (start >= MEMMAP_PCI_ECAM_BASE && !ecam_done) {
            add(&b, MEMMAP_PCI_ECAM_BASE, MEMMAP_PCI_ECAM_BASE + MEMMAP_PCI_ECAM_SIZE,
                E820_RESERVED);
            ecam_done = true;
        }
        if (start == 0) {
            /* Low memory: the legacy holes are not RAM for the OS. */
            add(&b, 0, min64(end, MEMMAP_EBDA_BASE), E820_RAM);
            add(&b, MEMMAP_EBDA_BASE, min64(end, 0xA0000), E820_RESERVED);
            add(&b, MEMMAP_ACPI_BASE, min64(end, MEMMAP_ACPI_BASE + MEMMAP_ACPI_SIZE), E820_ACPI);
            add(&b, MEMMAP_KERNEL_BASE, end, E820_RAM);
        } else {
            add(&b, start, end, E820_RAM);
        }
    }
    if (!ecam_done)
        add(&b, MEMMAP_PCI_ECAM_BASE, MEMMAP_PCI_ECAM_BASE + MEMMAP_PCI_ECAM_SIZE, E820_RESERVED);
    return b.err ? b.err : (int)b.n;
}
