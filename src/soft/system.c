/* System instructions (SDM Vol. 2/3): HLT, CLI/STI, IN/OUT, MOV to/from CR/DR/segment registers,
 * LGDT/LIDT/SGDT/SIDT/LTR/STR/LLDT/SLDT, INVLPG, cache and fence no-ops, SWAPGS, SYSCALL/SYSRET,
 * IRET, INT n/INT3/UD, CPUID, RDTSC(P), RDMSR/WRMSR, CLTS, LMSW/SMSW. */
#include "soft/handlers.h"
#include "util/log.h"

static void require_cpl0(struct soft_cpu *cpu)
{
    if (cpu->cpl != 0)
        soft_raise_gp(cpu, 0);
}

int soft_op_hlt(struct soft_cpu *cpu, const struct soft_insn *in)
{
    require_cpl0(cpu);
    cpu->halted = true;
    return 1;
}

static void require_iopl(struct soft_cpu *cpu)
{
    unsigned iopl = (cpu->rflags >> RFLAGS_IOPL_SHIFT) & 3;
    if (cpu->cpl > iopl)
        soft_raise_gp(cpu, 0);
}

int soft_op_cli(struct soft_cpu *cpu, const struct soft_insn *in)
{
    require_iopl(cpu);
    cpu->rflags &= ~RFLAGS_IF;
    return 0;
}

int soft_op_sti(struct soft_cpu *cpu, const struct soft_insn *in)
{
    require_iopl(cpu);
    if (!(cpu->rflags & RFLAGS_IF))
        cpu->int_shadow = true;
    cpu->rflags |= RFLAGS_IF;
    return 1;
}

/* XXX: the TSS I/O permission bitmap is not consulted; CPL > IOPL always faults. */
void soft_io_check(struct soft_cpu *cpu)
{
    require_iopl(cpu);
}

uint64_t soft_port_in(struct soft_cpu *cpu, uint16_t port, unsigned size)
{
    if (!cpu->hooks.pio_read)
        return soft_mask(size);
    return cpu->hooks.pio_read(cpu->hooks.opaque, port, size) & soft_mask(size);
}

void soft_port_out(struct soft_cpu *cpu, uint16_t port, unsigned size, uint64_t v)
{
    if (cpu->hooks.pio_write)
        cpu->hooks.pio_write(cpu->hooks.opaque, port, size, v & soft_mask(size));
}

int soft_op_in(struct soft_cpu *cpu, const struct soft_insn *in)
{
    soft_io_check(cpu);
    uint16_t port = (uint16_t)soft_op_get(cpu, in, 1);
    unsigned size = in->op[0].size;
    soft_reg_set(cpu, GPR_RAX, size, soft_port_in(cpu, port, size));
    return 0;
}

int soft_op_out(struct soft_cpu *cpu, const struct soft_insn *in)
{
    soft_io_check(cpu);
    uint16_t port = (uint16_t)soft_op_get(cpu, in, 0);
    unsigned size = in->op[1].size;
    soft_port_out(cpu, port, size, cpu->gpr[GPR_RAX]);
    /* A device may have stopped the VM or raised an interrupt: end the block. */
    return 1;
}

static uint64_t read_cr(struct soft_cpu *cpu, unsigned cr)
{
    switch (cr) {
    case 0:
        return cpu->cr0;
    case 2:
        return cpu->cr2;
    case 3:
        return cpu->cr3;
    case 4:
        return cpu->cr4;
    case 8:
        if (cpu->hooks.cr8_read)
            cpu->cr8 = cpu->hooks.cr8_read(cpu->hooks.opaque) & 0xf;
        return cpu->cr8;
    default:
        soft_raise_ud(cpu);
    }
}

/* CR4 bits this CPU implements (SDM Vol. 3A 2.5): VME/PVI are not. */
#define CR4_SUPPORTED                                                                              \
    ((1ULL << 2) | (1ULL << 3) | (1ULL << 4) | CR4_PAE | (1ULL << 6) | CR4_PGE | (1ULL << 8) |     \
     CR4_OSFXSR | CR4_OSXMMEXCPT)

void soft_write_cr(struct soft_cpu *cpu, unsigned cr, uint64_t v)
{
    switch (cr) {
    case 0: {
        if (v >> 32)
            soft_raise_gp(cpu, 0);
        v |= CR0_ET;
        if ((v & CR0_PG) && !(v & CR0_PE))
            soft_raise_gp(cpu, 0);
        if ((v & CR0_NW) && !(v & CR0_CD))
            soft_raise_gp(cpu, 0);
        uint64_t old = cpu->cr0;
        if ((v & CR0_PG) && !(old & CR0_PG) && (cpu->efer & EFER_LME)) {
            if (!(cpu->cr4 & CR4_PAE))
                soft_raise_gp(cpu, 0);
            cpu->efer |= EFER_LMA;
        }
        if (!(v & CR0_PG) && (old & CR0_PG) && (cpu->efer & EFER_LMA)) {
            if (cpu->mode == SOFT_MODE_64)
                soft_raise_gp(cpu, 0);
            cpu->efer &= ~EFER_LMA;
        }
        cpu->cr0 = v;
        if ((old ^ v) & (CR0_PG | CR0_WP | CR0_PE))
            soft_tlb_flush_all(cpu);
        soft_set_cpl_from_cs(cpu);
        soft_update_mode(cpu);
        return;
    }
    case 2:
        cpu->cr2 = v;
        return;
    case 3:
        if ((cpu->efer & EFER_LMA) && (v >> 52))
            soft_raise_gp(cpu, 0);
        cpu->cr3 = v;
        soft_tlb_flush_nonglobal(cpu);
        return;
    case 4: {
        if (v & ~CR4_SUPPORTED)
            soft_raise_gp(cpu, 0);
        if ((cpu->efer & EFER_LMA) && !(v & CR4_PAE))
            soft_raise_gp(cpu, 0);
        uint64_t old = cpu->cr4;
        cpu->cr4 = v;
        if ((old ^ v) & (CR4_PGE | CR4_PAE | (1ULL << 4)))
            soft_tlb_flush_all(cpu);
        return;
    }
    case 8:
        if (v & ~0xfULL)
            soft_raise_gp(cpu, 0);
        cpu->cr8 = v;
        if (cpu->hooks.cr8_write)
            cpu->hooks.cr8_write(cpu->hooks.opaque, v);
        return;
    default:
        soft_raise_ud(cpu);
    }
}

/* MOV r64, CRn and MOV CRn, r64. */
int soft_op_mov_cr(struct soft_cpu *cpu, const struct soft_insn *in)
{
    require_cpl0(cpu);
    if (in->op[0].kind == OPK_CR) {
        soft_write_cr(cpu, in->op[0].reg, cpu->gpr[in->op[1].reg]);
        return 1;
    }
    uint64_t v = read_cr(cpu, in->op[1].reg);
    soft_reg_set(cpu, in->op[0].reg, 8, v);
    return 0;
}

int soft_op_mov_dr(struct soft_cpu *cpu, const struct soft_insn *in)
{
    require_cpl0(cpu);
    if (in->op[0].kind == OPK_DR) {
        unsigned dr = in->op[0].reg;
        uint64_t v = cpu->gpr[in->op[1].reg];
        if (dr == 4 || dr == 5)
            dr += 2;
        if (dr > 7)
            soft_raise_ud(cpu);
        if (dr >= 6 && (v >> 32))
            soft_raise_gp(cpu, 0);
        /* XXX: debug registers are stored but breakpoints never fire. */
        cpu->ext.dr[dr] = dr == 6 ? (v | 0xffff0ff0) : dr == 7 ? (v | 0x400) : v;
        return 0;
    }
    unsigned dr = in->op[1].reg;
    if (dr == 4 || dr == 5)
        dr += 2;
    if (dr > 7)
        soft_raise_ud(cpu);
    soft_reg_set(cpu, in->op[0].reg, 8, cpu->ext.dr[dr]);
    return 0;
}

int soft_op_mov_sreg(struct soft_cpu *cpu, const struct soft_insn *in)
{
    if (in->op[0].kind == OPK_SREG) {
        soft_load_seg(cpu, in->op[0].reg, (uint16_t)soft_op_get(cpu, in, 1));
        if (in->op[0].reg == SEG_SS)
            cpu->int_shadow = true;
        return 1;
    }
    uint64_t sel = cpu->seg[in->op[1].reg].selector;
    if (in->op[0].kind == OPK_MEM)
        soft_write(cpu, soft_lin(cpu, in, &in->op[0]), 2, sel);
    else
        soft_reg_set(cpu, in->op[0].reg, in->op[0].size, sel);
    return 0;
}

/* LGDT (aux 0) / LIDT (aux 1): limit then base (8 bytes in 64-bit mode, else 4). */
int soft_op_lgdt(struct soft_cpu *cpu, const struct soft_insn *in)
{
    require_cpl0(cpu);
    if (in->op[0].kind != OPK_MEM)
        soft_raise_ud(cpu);
    uint64_t lin = soft_lin(cpu, in, &in->op[0]);
    uint16_t limit = (uint16_t)soft_read(cpu, lin, 2);
    uint64_t base = cpu->mode == SOFT_MODE_64 ? soft_read(cpu, lin + 2, 8)
                                              : soft_read(cpu, lin + 2, 4) & 0xffffffff;
    struct cpu_dtable *t = in->aux ? &cpu->idt : &cpu->gdt;
    t->base = base;
    t->limit = limit;
    return 0;
}

int soft_op_sgdt(struct soft_cpu *cpu, const struct soft_insn *in)
{
    if (in->op[0].kind != OPK_MEM)
        soft_raise_ud(cpu);
    const struct cpu_dtable *t = in->aux ? &cpu->idt : &cpu->gdt;
    uint64_t lin = soft_lin(cpu, in, &in->op[0]);
    soft_write(cpu, lin, 2, t->limit);
    soft_write(cpu, lin + 2, cpu->mode == SOFT_MODE_64 ? 8 : 4, t->base);
    return 0;
}

int soft_op_ltr(struct soft_cpu *cpu, const struct soft_insn *in)
{
    require_cpl0(cpu);
    uint16_t sel = (uint16_t)soft_op_get(cpu, in, 0);
    if ((sel & ~3u) == 0 || (sel & 4))
        soft_raise_gp(cpu, sel & ~3u);
    uint64_t desc[2];
    bool lm = cpu->efer & EFER_LMA;
    soft_read_descriptor(cpu, sel, desc, lm);
    struct cpu_segment s;
    soft_desc_to_seg(desc, sel, &s);
    if (!lm)
        s.base &= 0xffffffff;
    if (s.s || (s.type != 9 && s.type != 1))
        soft_raise_gp(cpu, sel & ~3u);
    if (!s.present)
        soft_raise(cpu, EXC_NP, sel & ~3u, true);
    /* Mark the descriptor busy in the GDT. */
    uint64_t busy = desc[0] | (2ULL << 40);
    soft_write_slow(cpu, cpu->gdt.base + (sel & ~7u), 8, busy, true);
    s.type |= 2;
    cpu->tr = s;
    return 0;
}

int soft_op_lldt(struct soft_cpu *cpu, const struct soft_insn *in)
{
    require_cpl0(cpu);
    uint16_t sel = (uint16_t)soft_op_get(cpu, in, 0);
    if ((sel & ~3u) == 0) {
        memset(&cpu->ldt, 0, sizeof(cpu->ldt));
        cpu->ldt.selector = sel;
        cpu->ldt.unusable = 1;
        return 0;
    }
    if (sel & 4)
        soft_raise_gp(cpu, sel & ~3u);
    uint64_t desc[2];
    bool lm = cpu->efer & EFER_LMA;
    soft_read_descriptor(cpu, sel, desc, lm);
    struct cpu_segment s;
    soft_desc_to_seg(desc, sel, &s);
    if (!lm)
        s.base &= 0xffffffff;
    if (s.s || s.type != 2)
        soft_raise_gp(cpu, sel & ~3u);
    if (!s.present)
        soft_raise(cpu, EXC_NP, sel & ~3u, true);
    cpu->ldt = s;
    return 0;
}

/* STR (aux 0) / SLDT (aux 1). */
int soft_op_str(struct soft_cpu *cpu, const struct soft_insn *in)
{
    uint16_t sel = in->aux ? cpu->ldt.selector : cpu->tr.selector;
    if (in->op[0].kind == OPK_MEM)
        soft_write(cpu, soft_lin(cpu, in, &in->op[0]), 2, sel);
    else
        soft_reg_set(cpu, in->op[0].reg, in->op[0].size, sel);
    return 0;
}

int soft_op_invlpg(struct soft_cpu *cpu, const struct soft_insn *in)
{
    require_cpl0(cpu);
    soft_tlb_flush_page(cpu, soft_lin(cpu, in, &in->op[0]));
    return 0;
}

/* WBINVD, INVD: privileged no-ops (no caches to model). */
int soft_op_wbinvd(struct soft_cpu *cpu, const struct soft_insn *in)
{
    require_cpl0(cpu);
    return 0;
}

/* MFENCE/SFENCE/LFENCE: order this vCPU's host accesses for other vCPUs. */
int soft_op_fence(struct soft_cpu *cpu, const struct soft_insn *in)
{
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    return 0;
}

/* CLFLUSH/PREFETCH: the address must be valid for CLFLUSH (it faults like a read). */
int soft_op_clflush(struct soft_cpu *cpu, const struct soft_insn *in)
{
    if (in->op[0].kind == OPK_MEM)
        soft_translate(cpu, soft_lin(cpu, in, &in->op[0]), ACC_READ, false);
    return 0;
}

int soft_op_swapgs(struct soft_cpu *cpu, const struct soft_insn *in)
{
    if (cpu->mode != SOFT_MODE_64)
        soft_raise_ud(cpu);
    require_cpl0(cpu);
    uint64_t t = cpu->seg[SEG_GS].base;
    cpu->seg[SEG_GS].base = cpu->ext.msrs.kernel_gs_base;
    cpu->ext.msrs.kernel_gs_base = t;
    soft_update_mode(cpu);
    return 0;
}

static void flat_seg(struct cpu_segment *s, uint16_t sel, unsigned dpl, bool code, bool l)
{
    memset(s, 0, sizeof(*s));
    s->selector = sel;
    s->limit = 0xffffffff;
    s->type = code ? 0xb : 0x3;
    s->s = 1;
    s->dpl = (uint8_t)dpl;
    s->present = 1;
    s->l = l;
    s->db = code ? !l : 1;
    s->g = 1;
}

/* SYSCALL (SDM Vol. 2): flat CS/SS from STAR[47:32], target LSTAR (CSTAR from compat mode). */
int soft_op_syscall(struct soft_cpu *cpu, const struct soft_insn *in)
{
    if (!(cpu->efer & EFER_SCE) || !(cpu->efer & EFER_LMA))
        soft_raise_ud(cpu);
    uint16_t sel = (uint16_t)(cpu->ext.msrs.star >> 32);
    cpu->gpr[GPR_RCX] = cpu->rip;
    cpu->gpr[GPR_R11] = soft_flags_get(cpu) & ~RFLAGS_RF;
    uint64_t target = cpu->mode == SOFT_MODE_64 ? cpu->ext.msrs.lstar : cpu->ext.msrs.cstar;
    struct cpu_segment cs;
    flat_seg(&cs, sel & 0xfffc, 0, true, true);
    flat_seg(&cpu->seg[SEG_SS], (uint16_t)((sel + 8) & 0xfffc), 0, false, false);
    cpu->rflags &= ~(cpu->ext.msrs.sfmask | RFLAGS_RF);
    cpu->rflags |= RFLAGS_FIXED1;
    soft_set_cs(cpu, &cs);
    cpu->rip = target;
    return 1;
}

int soft_op_sysret(struct soft_cpu *cpu, const struct soft_insn *in)
{
    if (!(cpu->efer & EFER_SCE) || cpu->mode != SOFT_MODE_64)
        soft_raise_ud(cpu);
    require_cpl0(cpu);
    bool to64 = in->osize == 8;
    if (to64 && !soft_canonical(cpu->gpr[GPR_RCX]))
        soft_raise_gp(cpu, 0);
    uint16_t sel = (uint16_t)(cpu->ext.msrs.star >> 48);
    struct cpu_segment cs;
    if (to64)
        flat_seg(&cs, (uint16_t)((sel + 16) | 3), 3, true, true);
    else
        flat_seg(&cs, (uint16_t)(sel | 3), 3, true, false);
    flat_seg(&cpu->seg[SEG_SS], (uint16_t)((sel + 8) | 3), 3, false, false);
    cpu->lf.op = LF_NONE;
    cpu->rflags = (cpu->gpr[GPR_R11] & 0x3c7fd7ULL) | RFLAGS_FIXED1;
    soft_set_cs(cpu, &cs);
    cpu->rip = to64 ? cpu->gpr[GPR_RCX] : (uint32_t)cpu->gpr[GPR_RCX];
    return 1;
}

/* IRET in IA-32e mode (SDM Vol. 2 IRET, "IA-32e-MODE" path): pops RIP, CS, RFLAGS, RSP, SS. */
int soft_op_iret(struct soft_cpu *cpu, const struct soft_insn *in)
{
    unsigned size = in->osize;
    if (!(cpu->efer & EFER_LMA)) {
        /* XXX: IRET outside long mode is not implemented. */
        soft_raise_ud(cpu);
    }
    if (cpu->rflags & RFLAGS_NT)
        soft_raise_gp(cpu, 0); /* task return does not exist in IA-32e mode */
    uint64_t rip = soft_stack_peek(cpu, 0, size);
    uint16_t cs = (uint16_t)soft_stack_peek(cpu, size, size);
    uint64_t fl = soft_stack_peek(cpu, 2 * size, size);
    unsigned rpl = cs & 3;
    if (rpl < cpu->cpl)
        soft_raise_gp(cpu, cs & ~3u);
    bool pop_ss = cpu->mode == SOFT_MODE_64 || rpl != cpu->cpl;
    uint64_t rsp = 0;
    uint16_t ss = 0;
    if (pop_ss) {
        rsp = soft_stack_peek(cpu, 3 * size, size);
        ss = (uint16_t)soft_stack_peek(cpu, 4 * size, size);
    }
    unsigned old_cpl = cpu->cpl;
    unsigned iopl = (cpu->rflags >> RFLAGS_IOPL_SHIFT) & 3;
    uint64_t mask = RFLAGS_ARITH | RFLAGS_TF | RFLAGS_DF | RFLAGS_NT | RFLAGS_AC | RFLAGS_ID |
                    RFLAGS_RF | RFLAGS_VIF | RFLAGS_VIP;
    if (old_cpl <= iopl)
        mask |= RFLAGS_IF;
    if (old_cpl == 0)
        mask |= RFLAGS_IOPL;
    if (size == 4)
        mask &= 0xffffffff;
    else if (size == 2)
        mask &= 0xffff;
    soft_far_load_cs(cpu, cs, rpl);
    if (pop_ss) {
        soft_far_load_ss(cpu, ss, rpl);
        cpu->gpr[GPR_RSP] = size == 4 ? (uint32_t)rsp : rsp;
    } else {
        soft_reg_set(cpu, GPR_RSP, soft_stack_size(cpu), cpu->gpr[GPR_RSP] + 3 * size);
    }
    soft_flags_set(cpu, fl, mask);
    cpu->rip = cpu->mode == SOFT_MODE_64 ? rip : (uint32_t)rip;
    if (rpl > old_cpl) {
        static const unsigned segs[] = {SEG_ES, SEG_DS, SEG_FS, SEG_GS};
        for (unsigned i = 0; i < 4; i++) {
            struct cpu_segment *s = &cpu->seg[segs[i]];
            if (!s->unusable && (s->type & 0xc) != 0xc && s->dpl < cpu->cpl) {
                uint64_t base = s->base;
                memset(s, 0, sizeof(*s));
                s->unusable = 1;
                if (segs[i] == SEG_FS || segs[i] == SEG_GS)
                    s->base = base;
            }
        }
        soft_update_mode(cpu);
    }
    cpu->nmi_blocked = false;
    return 1;
}

/* Software interrupts are traps: the frame holds the next instruction's address. */
static _Noreturn void soft_int(struct soft_cpu *cpu, unsigned vector, bool soft)
{
    cpu->exc.vector = (uint8_t)vector;
    cpu->exc.has_error_code = false;
    cpu->exc.error_code = 0;
    cpu->exc_is_trap = true;
    cpu->exc_soft_int = soft;
    longjmp(cpu->jb, 1);
}

int soft_op_int(struct soft_cpu *cpu, const struct soft_insn *in)
{
    soft_int(cpu, (unsigned)in->op[0].disp & 0xff, true);
}

int soft_op_int3(struct soft_cpu *cpu, const struct soft_insn *in)
{
    soft_int(cpu, EXC_BP, true);
}

int soft_op_into(struct soft_cpu *cpu, const struct soft_insn *in)
{
    if (soft_flags_get(cpu) & RFLAGS_OF)
        soft_int(cpu, EXC_OF, true);
    return 0;
}

int soft_op_int1(struct soft_cpu *cpu, const struct soft_insn *in)
{
    soft_int(cpu, EXC_DB, false);
}

int soft_op_cpuid(struct soft_cpu *cpu, const struct soft_insn *in)
{
    uint32_t r[4];
    soft_cpuid(cpu, (uint32_t)cpu->gpr[GPR_RAX], (uint32_t)cpu->gpr[GPR_RCX], r);
    cpu->gpr[GPR_RAX] = r[0];
    cpu->gpr[GPR_RBX] = r[1];
    cpu->gpr[GPR_RCX] = r[2];
    cpu->gpr[GPR_RDX] = r[3];
    return 0;
}

/* RDTSC (aux 0) / RDTSCP (aux 1). */
int soft_op_rdtsc(struct soft_cpu *cpu, const struct soft_insn *in)
{
    if ((cpu->cr4 & (1ULL << 2)) && cpu->cpl != 0)
        soft_raise_gp(cpu, 0);
    uint64_t t = soft_rdtsc(cpu);
    cpu->gpr[GPR_RAX] = (uint32_t)t;
    cpu->gpr[GPR_RDX] = t >> 32;
    if (in->aux)
        cpu->gpr[GPR_RCX] = (uint32_t)cpu->ext.msrs.tsc_aux;
    return 0;
}

int soft_op_rdmsr(struct soft_cpu *cpu, const struct soft_insn *in)
{
    require_cpl0(cpu);
    uint64_t v;
    soft_msr_read(cpu, (uint32_t)cpu->gpr[GPR_RCX], &v);
    cpu->gpr[GPR_RAX] = (uint32_t)v;
    cpu->gpr[GPR_RDX] = v >> 32;
    return 0;
}

int soft_op_wrmsr(struct soft_cpu *cpu, const struct soft_insn *in)
{
    require_cpl0(cpu);
    uint64_t v = (cpu->gpr[GPR_RDX] << 32) | (uint32_t)cpu->gpr[GPR_RAX];
    soft_msr_write(cpu, (uint32_t)cpu->gpr[GPR_RCX], v);
    return 1; /* EFER, APIC base, ... may change how code runs */
}

int soft_op_clts(struct soft_cpu *cpu, const struct soft_insn *in)
{
    require_cpl0(cpu);
    cpu->cr0 &= ~CR0_TS;
    return 0;
}

int soft_op_smsw(struct soft_cpu *cpu, const struct soft_insn *in)
{
    if (in->op[0].kind == OPK_MEM)
        soft_write(cpu, soft_lin(cpu, in, &in->op[0]), 2, cpu->cr0);
    else
        soft_reg_set(cpu, in->op[0].reg, in->op[0].size, cpu->cr0);
    return 0;
}

int soft_op_lmsw(struct soft_cpu *cpu, const struct soft_insn *in)
{
    require_cpl0(cpu);
    uint64_t v = soft_op_get(cpu, in, 0) & 0xf;
    /* LMSW cannot clear PE. */
    soft_write_cr(cpu, 0, (cpu->cr0 & ~0xeULL) | v | (cpu->cr0 & CR0_PE));
    return 1;
}

/* The descriptor for LAR/LSL/VERR/VERW, or false when sel does not name one the current
 * privilege may inspect (then ZF is cleared and nothing else changes). Guest-controlled selector:
 * bounds-checked against the table limit here, without faulting. */
static bool probe_descriptor(struct soft_cpu *cpu, uint16_t sel, uint64_t *d)
{
    if ((sel & ~3u) == 0)
        return false;
    uint64_t base = cpu->gdt.base, limit = cpu->gdt.limit;
    if (sel & 4) {
        if (cpu->ldt.unusable)
            return false;
        base = cpu->ldt.base;
        limit = cpu->ldt.limit;
    }
    if ((uint64_t)(sel & ~7u) + 7 > limit)
        return false;
    *d = soft_read_slow(cpu, base + (sel & ~7u), 8, true);
    unsigned dpl = (*d >> 45) & 3, type = (*d >> 40) & 0xf;
    bool s = (*d >> 44) & 1;
    bool conforming_code = s && (type & 0xc) == 0xc;
    unsigned rpl = sel & 3;
    if (!conforming_code && (dpl < cpu->cpl || dpl < rpl))
        return false;
    return true;
}

/* LAR (aux 0) / LSL (aux 1). */
int soft_op_lar(struct soft_cpu *cpu, const struct soft_insn *in)
{
    uint16_t sel = (uint16_t)soft_op_get(cpu, in, 1);
    uint64_t d;
    bool ok = probe_descriptor(cpu, sel, &d);
    if (ok) {
        unsigned type = (d >> 40) & 0xf;
        bool s = (d >> 44) & 1;
        /* System types valid in IA-32e mode: LDT, 64-bit TSS (and call gate for LAR). */
        if (!s)
            ok = type == 2 || type == 9 || type == 0xb || (in->aux == 0 && type == 0xc);
    }
    if (ok) {
        uint64_t v;
        if (in->aux == 0) {
            v = (d >> 32) & 0x00f0ff00;
        } else {
            uint64_t lim = (d & 0xffff) | (((d >> 48) & 0xf) << 16);
            v = ((d >> 55) & 1) ? (lim << 12) | 0xfff : lim;
        }
        soft_op_set(cpu, in, 0, v);
    }
    soft_flags_set(cpu, ok ? RFLAGS_ZF : 0, RFLAGS_ZF);
    return 0;
}

/* VERR (aux 0) / VERW (aux 1): is the segment readable / writable at the current privilege? */
int soft_op_verr(struct soft_cpu *cpu, const struct soft_insn *in)
{
    uint16_t sel = (uint16_t)soft_op_get(cpu, in, 0);
    uint64_t d;
    bool ok = probe_descriptor(cpu, sel, &d) && ((d >> 44) & 1);
    if (ok) {
        unsigned type = (d >> 40) & 0xf;
        bool code = type & 8;
        ok = in->aux ? (!code && (type & 2)) : (!code || (type & 2));
    }
    soft_flags_set(cpu, ok ? RFLAGS_ZF : 0, RFLAGS_ZF);
    return 0;
}
