/* 64-bit long-mode entry state: boot GDT, empty IDT, identity page tables and the register
 * state a loader hands to vCPU 0 (Intel SDM vol. 3A 9.8.5; descriptor formats 3.4.5, paging
 * formats 4.5). */
#include "boot/long_mode.h"

#include <errno.h>
#include <string.h>

#include "core/memmap.h"

/* Page-table entry bits (SDM vol. 3A table 4-15..4-19). */
#define PTE_P  (1ULL << 0)
#define PTE_RW (1ULL << 1)
#define PTE_PS (1ULL << 7)

#define PAGE_SIZE_4K 4096ULL
#define PAGE_SIZE_2M (2ULL << 20)
#define PD_COUNT     4 /* one page directory per GiB */
#define PT_ENTRIES   512

/* GDT descriptors (SDM vol. 3A 3.4.5): null, null, 64-bit code at 0x10, data at 0x18. The
 * access byte is P|S|type; flags nibble is G|D/B|L|AVL. */
#define GDT_CODE64 0x00AF9B000000FFFFULL /* base 0, limit 0xFFFFF, G=1 L=1, P S type=0xB */
#define GDT_DATA   0x00CF93000000FFFFULL /* base 0, limit 0xFFFFF, G=1 D=1, P S type=0x3 */

static int write_gdt_idt(struct guest_mem *gm)
{
    const uint64_t gdt[4] = {0, 0, GDT_CODE64, GDT_DATA};
    const uint64_t idt_empty = 0;
    int rc = guest_mem_write(gm, MEMMAP_BOOT_GDT, gdt, sizeof(gdt));
    if (rc < 0)
        return rc;
    return guest_mem_write(gm, MEMMAP_BOOT_IDT, &idt_empty, sizeof(idt_empty));
}

static int write_page_tables(struct guest_mem *gm)
{
    uint64_t table[PT_ENTRIES];
    int rc;

    memset(table, 0, sizeof(table));
    table[0] = MEMMAP_BOOT_PDPT | PTE_P | PTE_RW;
    rc = guest_mem_write(gm, MEMMAP_BOOT_PML4, table, sizeof(table));
    if (rc < 0)
        return rc;

    memset(table, 0, sizeof(table));
    for (unsigned i = 0; i < PD_COUNT; i++)
        table[i] = (MEMMAP_BOOT_PD + i * PAGE_SIZE_4K) | PTE_P | PTE_RW;
    rc = guest_mem_write(gm, MEMMAP_BOOT_PDPT, table, sizeof(table));
    if (rc < 0)
        return rc;

    for (unsigned pd = 0; pd < PD_COUNT; pd++) {
        for (unsigned i = 0; i < PT_ENTRIES; i++) {
            uint64_t addr = ((uint64_t)pd * PT_ENTRIES + i) * PAGE_SIZE_2M;
            table[i] = addr | PTE_P | PTE_RW | PTE_PS;
        }
        rc = guest_mem_write(gm, MEMMAP_BOOT_PD + pd * PAGE_SIZE_4K, table, sizeof(table));
        if (rc < 0)
            return rc;
    }
    return 0;
}

int long_mode_write_tables(struct guest_mem *gm)
{
    int rc = write_gdt_idt(gm);
    if (rc < 0)
        return rc;
    return write_page_tables(gm);
}

static struct cpu_segment flat_segment(uint16_t selector, uint8_t type, uint8_t l, uint8_t db)
{
    struct cpu_segment s = {
        .base = 0,
        .limit = 0xFFFFFFFF,
        .selector = selector,
        .type = type,
        .s = 1,
        .dpl = 0,
        .present = 1,
        .l = l,
        .db = db,
        .g = 1,
    };
    return s;
}

void long_mode_init_state(struct cpu_state *st, uint64_t rip, uint64_t rsp)
{
    memset(st, 0, sizeof(*st));
    st->rip = rip;
    st->gpr[GPR_RSP] = rsp;
    st->rflags = RFLAGS_FIXED1;

    st->seg[SEG_CS] = flat_segment(LONG_MODE_SEL_CS, 0xB, 1, 0);
    for (int s = 0; s < SEG_COUNT; s++) {
        if (s != SEG_CS)
            st->seg[s] = flat_segment(LONG_MODE_SEL_DS, 0x3, 0, 1);
    }
    /* VM entry needs a usable TR: a busy 64-bit TSS (type 11); no descriptor in the GDT is
     * needed until the guest loads its own. */
    st->tr = (struct cpu_segment){.limit = 0x67, .type = 0xB, .present = 1};
    st->ldt = (struct cpu_segment){.type = 0x2, .unusable = 1};

    st->gdt.base = MEMMAP_BOOT_GDT;
    st->gdt.limit = 4 * 8 - 1;
    st->idt.base = MEMMAP_BOOT_IDT;
    st->idt.limit = 0;

    st->cr0 = CR0_PE | CR0_ET | CR0_NE | CR0_PG;
    st->cr3 = MEMMAP_BOOT_PML4;
    st->cr4 = CR4_PAE;
    st->efer = EFER_LME | EFER_LMA;
    st->apic_base = MEMMAP_LAPIC_BASE | APIC_BASE_ENABLE | APIC_BASE_BSP;
}

int long_mode_prepare(struct guest_mem *gm, struct cpu_state *st, uint64_t rip, uint64_t rsp)
{
    int rc = long_mode_write_tables(gm);
    if (rc < 0)
        return rc;
    long_mode_init_state(st, rip, rsp);
    return 0;
}
