/* Guest memory accesses by linear address beyond the inline TLB fast path: TLB misses, accesses
 * crossing a page, MMIO (non-RAM guest-physical addresses, sent to the hooks), writes to pages
 * holding translated code (invalidate it), and implicit supervisor accesses (descriptor tables,
 * TSS, interrupt frames). */
#include "soft/internal.h"

static uint64_t phys_read(struct soft_cpu *cpu, uint64_t gpa, unsigned size)
{
    const uint8_t *p = guest_mem_cpu_ptr(cpu->mem, gpa, size);
    if (p)
        return soft_load_host(p, size);
    if (cpu->hooks.mmio_read)
        return cpu->hooks.mmio_read(cpu->hooks.opaque, gpa, size) & soft_mask(size);
    return soft_mask(size);
}

static void phys_write(struct soft_cpu *cpu, uint64_t gpa, unsigned size, uint64_t val)
{
    uint8_t *p = guest_mem_cpu_ptr(cpu->mem, gpa, size);
    if (p) {
        if ((gpa >> 12) < cpu->code_map->npages &&
            atomic_load_explicit(&cpu->code_map->has_code[gpa >> 12], memory_order_relaxed))
            soft_code_write(cpu, gpa, size);
        soft_store_host(p, size, val);
        return;
    }
    if (cpu->hooks.mmio_write)
        cpu->hooks.mmio_write(cpu->hooks.opaque, gpa, size, val & soft_mask(size));
}

static uint64_t wrap(const struct soft_cpu *cpu, uint64_t lin)
{
    return cpu->mode == SOFT_MODE_64 ? lin : (uint32_t)lin;
}

uint64_t soft_read_slow(struct soft_cpu *cpu, uint64_t lin, unsigned size, bool supervisor)
{
    if (((lin & 0xfff) + size) <= PAGE_SIZE) {
        uint64_t gpa = soft_translate(cpu, lin, ACC_READ, supervisor);
        return phys_read(cpu, gpa, size);
    }
    /* Crossing a page: translate both pages first so a fault leaves no partial effect. */
    unsigned first = (unsigned)(PAGE_SIZE - (lin & 0xfff));
    uint64_t g0 = soft_translate(cpu, lin, ACC_READ, supervisor);
    uint64_t g1 = soft_translate(cpu, wrap(cpu, lin + first), ACC_READ, supervisor);
    uint64_t v = 0;
    for (unsigned i = 0; i < size; i++) {
        uint64_t b = i < first ? phys_read(cpu, g0 + i, 1) : phys_read(cpu, g1 + (i - first), 1);
        v |= b << (8 * i);
    }
    return v;
}

void soft_write_slow(struct soft_cpu *cpu, uint64_t lin, unsigned size, uint64_t val,
                     bool supervisor)
{
    if (((lin & 0xfff) + size) <= PAGE_SIZE) {
        uint64_t gpa = soft_translate(cpu, lin, ACC_WRITE, supervisor);
        phys_write(cpu, gpa, size, val);
        return;
    }
    unsigned first = (unsigned)(PAGE_SIZE - (lin & 0xfff));
    uint64_t g0 = soft_translate(cpu, lin, ACC_WRITE, supervisor);
    uint64_t g1 = soft_translate(cpu, wrap(cpu, lin + first), ACC_WRITE, supervisor);
    for (unsigned i = 0; i < size; i++) {
        uint64_t b = (val >> (8 * i)) & 0xff;
        if (i < first)
            phys_write(cpu, g0 + i, 1, b);
        else
            phys_write(cpu, g1 + (i - first), 1, b);
    }
}

void *soft_host_ptr(struct soft_cpu *cpu, uint64_t lin, unsigned size, enum soft_access acc)
{
    if (((lin & 0xfff) + size) > PAGE_SIZE)
        return NULL;
    uint64_t gpa = soft_translate(cpu, lin, acc, false);
    uint8_t *p = guest_mem_cpu_ptr(cpu->mem, gpa, size);
    if (p && acc == ACC_WRITE && (gpa >> 12) < cpu->code_map->npages &&
        atomic_load_explicit(&cpu->code_map->has_code[gpa >> 12], memory_order_relaxed))
        soft_code_write(cpu, gpa, size);
    return p;
}

/* Implicit supervisor-mode accesses (system structures). */
void soft_read_bytes(struct soft_cpu *cpu, uint64_t lin, void *buf, unsigned len)
{
    uint8_t *b = buf;
    while (len) {
        unsigned n = len >= 8 ? 8 : len >= 4 ? 4 : len >= 2 ? 2 : 1;
        soft_store_host(b, n, soft_read_slow(cpu, wrap(cpu, lin), n, true));
        b += n;
        lin += n;
        len -= n;
    }
}

void soft_write_bytes(struct soft_cpu *cpu, uint64_t lin, const void *buf, unsigned len)
{
    const uint8_t *b = buf;
    while (len) {
        unsigned n = len >= 8 ? 8 : len >= 4 ? 4 : len >= 2 ? 2 : 1;
        soft_write_slow(cpu, wrap(cpu, lin), n, soft_load_host(b, n), true);
        b += n;
        lin += n;
        len -= n;
    }
}
