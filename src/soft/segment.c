/* Segmentation as IA-32e mode needs it (SDM Vol. 3A 3.4, 5.2): descriptor reads from the
 * GDT/LDT, loading segment registers with their checks, the code-segment derived decode mode and
 * CPL, and the effective segment bases (only FS/GS in 64-bit mode). */
#include "soft/internal.h"

/* XXX: segment limits and access rights are not checked on data accesses in compatibility
 * mode (flat segments assumed, as Linux uses); only the bases are applied. */
void soft_update_mode(struct soft_cpu *cpu)
{
    const struct cpu_segment *cs = &cpu->seg[SEG_CS];
    uint32_t old = cpu->mode;
    if ((cpu->efer & EFER_LMA) && cs->l)
        cpu->mode = SOFT_MODE_64;
    else
        cpu->mode = cs->db ? SOFT_MODE_32 : SOFT_MODE_16;
    if (cpu->mode != old)
        soft_chains_drop(cpu);
    for (unsigned i = 0; i < SEG_COUNT; i++) {
        bool flat = cpu->mode == SOFT_MODE_64 && i != SEG_FS && i != SEG_GS;
        cpu->segbase[i] = flat ? 0 : cpu->seg[i].base;
    }
}

void soft_set_cpl_from_cs(struct soft_cpu *cpu)
{
    cpu->cpl = cpu->seg[SEG_CS].dpl & 3;
    if (!(cpu->cr0 & CR0_PE))
        cpu->cpl = 0;
    cpu->tlb_cur = cpu->tlb[cpu->cpl == 3];
    cpu->itlb_cur = cpu->itlb[cpu->cpl == 3];
    /* Chains skip the instruction TLB's privilege check: they are kept per privilege class,
     * so a user-mode entry never serves supervisor code and the other way round. */
    cpu->chain_gen = (cpu->chain_gen & ~1ULL) | (cpu->cpl == 3);
}

void soft_set_cs(struct soft_cpu *cpu, const struct cpu_segment *cs)
{
    cpu->seg[SEG_CS] = *cs;
    soft_set_cpl_from_cs(cpu);
    soft_update_mode(cpu);
}

/* Reads the descriptor selected by sel (guest-controlled: bounds-checked against the table
 * limit). system: a 16-byte system descriptor (TSS/LDT in long mode). Raises #GP(sel). */
void soft_read_descriptor(struct soft_cpu *cpu, uint16_t sel, uint64_t desc[2], bool system)
{
    uint64_t base, limit;
    if (sel & 4) {
        if (cpu->ldt.unusable || !cpu->ldt.present)
            soft_raise_gp(cpu, sel & ~3u);
        base = cpu->ldt.base;
        limit = cpu->ldt.limit;
    } else {
        base = cpu->gdt.base;
        limit = cpu->gdt.limit;
    }
    uint64_t off = sel & ~7u;
    unsigned len = system ? 16 : 8;
    if (off + len - 1 > limit)
        soft_raise_gp(cpu, sel & ~3u);
    desc[1] = 0;
    desc[0] = soft_read_slow(cpu, base + off, 8, true);
    if (system)
        desc[1] = soft_read_slow(cpu, base + off + 8, 8, true);
}

void soft_desc_to_seg(const uint64_t desc[2], uint16_t sel, struct cpu_segment *s)
{
    uint64_t d = desc[0];
    memset(s, 0, sizeof(*s));
    s->selector = sel;
    s->base = ((d >> 16) & 0xffffff) | (((d >> 56) & 0xff) << 24);
    uint32_t limit = (uint32_t)((d & 0xffff) | (((d >> 48) & 0xf) << 16));
    s->type = (d >> 40) & 0xf;
    s->s = (d >> 44) & 1;
    s->dpl = (d >> 45) & 3;
    s->present = (d >> 47) & 1;
    s->avl = (d >> 52) & 1;
    s->l = (d >> 53) & 1;
    s->db = (d >> 54) & 1;
    s->g = (d >> 55) & 1;
    s->limit = s->g ? (limit << 12) | 0xfff : limit;
    if (!s->s)
        s->base |= (desc[1] & 0xffffffffULL) << 32;
}

/* MOV/POP to a data segment register or SS (SDM Vol. 2 MOV, "Operation"). */
void soft_load_seg(struct soft_cpu *cpu, unsigned seg, uint16_t sel)
{
    struct cpu_segment s;
    unsigned rpl = sel & 3;
    if (seg == SEG_CS)
        soft_raise_ud(cpu);
    if (!(cpu->cr0 & CR0_PE)) {
        /* Real mode: the base is selector * 16, the other attributes stay. */
        cpu->seg[seg].selector = sel;
        cpu->seg[seg].base = (uint64_t)sel << 4;
        soft_update_mode(cpu);
        return;
    }
    if ((sel & ~3u) == 0) {
        /* Null selector: allowed except for SS outside 64-bit mode or at CPL 3. */
        if (seg == SEG_SS && (cpu->mode != SOFT_MODE_64 || cpu->cpl == 3 || rpl != cpu->cpl))
            soft_raise_gp(cpu, 0);
        uint64_t keep_base = cpu->seg[seg].base;
        memset(&s, 0, sizeof(s));
        s.selector = sel;
        s.unusable = 1;
        s.dpl = (uint8_t)rpl;
        /* In 64-bit mode a null load into FS/GS keeps the base on Intel CPUs only if... the SDM
         * says the base is left unchanged; we follow it. */
        if (cpu->mode == SOFT_MODE_64 && (seg == SEG_FS || seg == SEG_GS))
            s.base = keep_base;
        cpu->seg[seg] = s;
        soft_update_mode(cpu);
        return;
    }
    uint64_t desc[2];
    soft_read_descriptor(cpu, sel, desc, false);
    soft_desc_to_seg(desc, sel, &s);
    if (seg == SEG_SS) {
        if (rpl != cpu->cpl || !s.s || (s.type & 8) || !(s.type & 2) || s.dpl != cpu->cpl)
            soft_raise_gp(cpu, sel & ~3u);
        if (!s.present)
            soft_raise(cpu, EXC_SS, sel & ~3u, true);
    } else {
        bool code = s.type & 8, readable = s.type & 2, conforming = code && (s.type & 4);
        if (!s.s || (code && !readable))
            soft_raise_gp(cpu, sel & ~3u);
        if (!conforming && (rpl > s.dpl || cpu->cpl > s.dpl))
            soft_raise_gp(cpu, sel & ~3u);
        if (!s.present)
            soft_raise(cpu, EXC_NP, sel & ~3u, true);
    }
    /* Set the accessed bit in the descriptor (XXX: not written back to the GDT). */
    s.type |= 1;
    cpu->seg[seg] = s;
    soft_update_mode(cpu);
}
