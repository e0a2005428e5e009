/* Control transfer (SDM Vol. 2 JMP, Jcc, JrCXZ, LOOPcc, CALL, RET, RET far): relative targets
 * are stored as displacements from the next instruction, so blocks stay position independent. */
#include "soft/handlers.h"

static void set_rip(struct soft_cpu *cpu, unsigned osize, uint64_t target)
{
    if (cpu->mode != SOFT_MODE_64 || osize == 4)
        target = osize == 2 ? (uint16_t)target : (uint32_t)target;
    else if (osize == 2)
        target = (uint16_t)target;
    cpu->rip = target;
}

int soft_op_jmp(struct soft_cpu *cpu, const struct soft_insn *in)
{
    if (in->op[0].kind == OPK_IMM)
        set_rip(cpu, in->osize, cpu->rip + (uint64_t)in->op[0].disp);
    else
        set_rip(cpu, in->osize, soft_op_get(cpu, in, 0));
    return 1;
}

int soft_op_jcc(struct soft_cpu *cpu, const struct soft_insn *in)
{
    if (soft_cond(cpu, in->aux))
        set_rip(cpu, in->osize, cpu->rip + (uint64_t)in->op[0].disp);
    return 1;
}

/* JMP rel with a 64-bit operand size (64-bit mode without a 66 prefix). */
int soft_op_jmp_rel64(struct soft_cpu *cpu, const struct soft_insn *in)
{
    cpu->rip += (uint64_t)in->op[0].disp;
    return soft_next_nostore(cpu, in); /* the block's sentinel */
}

/* Jcc with a 64-bit operand size (64-bit mode without a 66 prefix): no truncation. One handler
 * per condition code, so that soft_cond folds to the one test it needs. */
static inline int jcc64(struct soft_cpu *cpu, const struct soft_insn *in, unsigned cc)
{
    if (soft_cond(cpu, cc))
        cpu->rip += (uint64_t)in->op[0].disp;
    return soft_next_nostore(cpu, in); /* the block's sentinel */
}
static int jo64(struct soft_cpu *c, const struct soft_insn *i)
{
    return jcc64(c, i, 0);
}
static int jno64(struct soft_cpu *c, const struct soft_insn *i)
{
    return jcc64(c, i, 1);
}
static int jb64(struct soft_cpu *c, const struct soft_insn *i)
{
    return jcc64(c, i, 2);
}
static int jnb64(struct soft_cpu *c, const struct soft_insn *i)
{
    return jcc64(c, i, 3);
}
static int jz64(struct soft_cpu *c, const struct soft_insn *i)
{
    return jcc64(c, i, 4);
}
static int jnz64(struct soft_cpu *c, const struct soft_insn *i)
{
    return jcc64(c, i, 5);
}
static int jbe64(struct soft_cpu *c, const struct soft_insn *i)
{
    return jcc64(c, i, 6);
}
static int jnbe64(struct soft_cpu *c, const struct soft_insn *i)
{
    return jcc64(c, i, 7);
}
static int js64(struct soft_cpu *c, const struct soft_insn *i)
{
    return jcc64(c, i, 8);
}
static int jns64(struct soft_cpu *c, const struct soft_insn *i)
{
    return jcc64(c, i, 9);
}
static int jp64(struct soft_cpu *c, const struct soft_insn *i)
{
    return jcc64(c, i, 10);
}
static int jnp64(struct soft_cpu *c, const struct soft_insn *i)
{
    return jcc64(c, i, 11);
}
static int jl64(struct soft_cpu *c, const struct soft_insn *i)
{
    return jcc64(c, i, 12);
}
static int jnl64(struct soft_cpu *c, const struct soft_insn *i)
{
    return jcc64(c, i, 13);
}
static int jle64(struct soft_cpu *c, const struct soft_insn *i)
{
    return jcc64(c, i, 14);
}
static int jnle64(struct soft_cpu *c, const struct soft_insn *i)
{
    return jcc64(c, i, 15);
}

soft_handler soft_fast_jcc64(unsigned cc)
{
    static const soft_handler by_cc[16] = {
        jo64, jno64, jb64, jnb64, jz64, jnz64, jbe64, jnbe64,
        js64, jns64, jp64, jnp64, jl64, jnl64, jle64, jnle64,
    };
    return by_cc[cc & 15];
}

/* JCXZ/JECXZ/JRCXZ: the counter size is the address size. */
int soft_op_jrcxz(struct soft_cpu *cpu, const struct soft_insn *in)
{
    if ((cpu->gpr[GPR_RCX] & soft_mask(in->asize)) == 0)
        set_rip(cpu, in->osize, cpu->rip + (uint64_t)in->op[0].disp);
    return 1;
}

/* LOOP (aux 0), LOOPE (aux 1), LOOPNE (aux 2). */
int soft_op_loop(struct soft_cpu *cpu, const struct soft_insn *in)
{
    uint64_t m = soft_mask(in->asize);
    uint64_t c = (cpu->gpr[GPR_RCX] - 1) & m;
    soft_reg_set(cpu, GPR_RCX, in->asize, c);
    bool take = c != 0;
    if (in->aux == 1)
        take = take && (soft_flags_get(cpu) & RFLAGS_ZF);
    else if (in->aux == 2)
        take = take && !(soft_flags_get(cpu) & RFLAGS_ZF);
    if (take)
        set_rip(cpu, in->osize, cpu->rip + (uint64_t)in->op[0].disp);
    return 1;
}

int soft_op_call(struct soft_cpu *cpu, const struct soft_insn *in)
{
    uint64_t target =
        in->op[0].kind == OPK_IMM ? cpu->rip + (uint64_t)in->op[0].disp : soft_op_get(cpu, in, 0);
    soft_push(cpu, in->osize, cpu->rip);
    set_rip(cpu, in->osize, target);
    return 1;
}

int soft_op_ret(struct soft_cpu *cpu, const struct soft_insn *in)
{
    uint64_t target = soft_pop(cpu, in->osize);
    if (in->nops > 0 && in->op[0].kind == OPK_IMM)
        soft_reg_set(cpu, GPR_RSP, soft_stack_size(cpu),
                     cpu->gpr[GPR_RSP] + ((uint64_t)in->op[0].disp & 0xffff));
    set_rip(cpu, in->osize, target);
    return 1;
}

/* CALL rel and RET (no immediate) in 64-bit mode with a 64-bit operand size. */
int soft_op_call_rel64(struct soft_cpu *cpu, const struct soft_insn *in)
{
    soft_push64(cpu, cpu->rip);
    cpu->rip += (uint64_t)in->op[0].disp;
    return soft_next(cpu, in); /* the block's sentinel */
}

int soft_op_ret64(struct soft_cpu *cpu, const struct soft_insn *in)
{
    cpu->rip = soft_pop64(cpu);
    return soft_next_nostore(cpu, in); /* the block's sentinel */
}

/* Loads CS for a far transfer to sel (same or outer privilege; SDM RET far, IRET). */
void soft_far_load_cs(struct soft_cpu *cpu, uint16_t sel, unsigned new_cpl)
{
    if ((sel & ~3u) == 0)
        soft_raise_gp(cpu, 0);
    uint64_t desc[2];
    soft_read_descriptor(cpu, sel, desc, false);
    struct cpu_segment cs;
    soft_desc_to_seg(desc, sel, &cs);
    if (!cs.s || !(cs.type & 8))
        soft_raise_gp(cpu, sel & ~3u);
    bool conforming = cs.type & 4;
    if ((conforming && cs.dpl > new_cpl) || (!conforming && cs.dpl != new_cpl))
        soft_raise_gp(cpu, sel & ~3u);
    if (!cs.present)
        soft_raise(cpu, EXC_NP, sel & ~3u, true);
    cs.type |= 1;
    cs.dpl = (uint8_t)new_cpl; /* CPL comes from the RPL of the return selector */
    soft_set_cs(cpu, &cs);
}

/* Loads SS when returning to an outer privilege level (null allowed for a 64-bit target). */
void soft_far_load_ss(struct soft_cpu *cpu, uint16_t sel, unsigned new_cpl)
{
    if ((sel & ~3u) == 0) {
        if (cpu->mode != SOFT_MODE_64 || new_cpl == 3)
            soft_raise_gp(cpu, 0);
        memset(&cpu->seg[SEG_SS], 0, sizeof(cpu->seg[SEG_SS]));
        cpu->seg[SEG_SS].selector = sel;
        cpu->seg[SEG_SS].unusable = 1;
        cpu->seg[SEG_SS].dpl = (uint8_t)new_cpl;
        soft_update_mode(cpu);
        return;
    }
    uint64_t desc[2];
    soft_read_descriptor(cpu, sel, desc, false);
    struct cpu_segment ss;
    soft_desc_to_seg(desc, sel, &ss);
    if ((sel & 3) != new_cpl || !ss.s || (ss.type & 8) || !(ss.type & 2) || ss.dpl != new_cpl)
        soft_raise_gp(cpu, sel & ~3u);
    if (!ss.present)
        soft_raise(cpu, EXC_SS, sel & ~3u, true);
    ss.type |= 1;
    cpu->seg[SEG_SS] = ss;
    soft_update_mode(cpu);
}

/* After a return to an outer level, data segments the new CPL may not use become null. */
static void null_inaccessible_segs(struct soft_cpu *cpu)
{
    static const unsigned segs[] = {SEG_ES, SEG_DS, SEG_FS, SEG_GS};
    for (unsigned i = 0; i < 4; i++) {
        struct cpu_segment *s = &cpu->seg[segs[i]];
        bool conforming_code = (s->type & 0xc) == 0xc;
        if (!s->unusable && !conforming_code && s->dpl < cpu->cpl) {
            uint64_t base = s->base;
            memset(s, 0, sizeof(*s));
            s->unusable = 1;
            if (cpu->mode == SOFT_MODE_64 && (segs[i] == SEG_FS || segs[i] == SEG_GS))
                s->base = base; /* FS/GS bases come from MSRs in 64-bit code */
        }
    }
    soft_update_mode(cpu);
}

int soft_op_retf(struct soft_cpu *cpu, const struct soft_insn *in)
{
    unsigned size = in->osize;
    uint64_t rip = soft_stack_peek(cpu, 0, size);
    uint16_t cs = (uint16_t)soft_stack_peek(cpu, size, size);
    uint64_t imm = in->nops > 0 ? ((uint64_t)in->op[0].disp & 0xffff) : 0;
    unsigned rpl = cs & 3;
    if (rpl < cpu->cpl)
        soft_raise_gp(cpu, cs & ~3u);
    if (rpl == cpu->cpl) {
        soft_far_load_cs(cpu, cs, rpl);
        soft_reg_set(cpu, GPR_RSP, soft_stack_size(cpu), cpu->gpr[GPR_RSP] + 2 * size + imm);
    } else {
        uint64_t rsp = soft_stack_peek(cpu, 2 * size + (unsigned)imm, size);
        uint16_t ss = (uint16_t)soft_stack_peek(cpu, 3 * size + (unsigned)imm, size);
        soft_far_load_cs(cpu, cs, rpl);
        soft_far_load_ss(cpu, ss, rpl);
        cpu->gpr[GPR_RSP] = rsp + imm;
        null_inaccessible_segs(cpu);
    }
    set_rip(cpu, size, rip);
    return 1;
}

/* Far JMP/CALL target: ptr16:16/32 immediate (decoded with the offset in the low 32 bits and the
 * selector above) or m16:16/32/64 in memory. */
static void far_target(struct soft_cpu *cpu, const struct soft_insn *in, uint16_t *sel,
                       uint64_t *off)
{
    const struct soft_operand *o = &in->op[0];
    if (o->kind == OPK_IMM) {
        *off = (uint64_t)o->disp & 0xffffffffULL;
        *sel = (uint16_t)((uint64_t)o->disp >> 32);
        return;
    }
    if (o->kind != OPK_MEM)
        soft_raise_ud(cpu);
    uint64_t lin = soft_lin(cpu, in, o);
    unsigned size = in->osize;
    *off = soft_read(cpu, lin, size);
    *sel = (uint16_t)soft_read(cpu, lin + size, 2);
}

/* Loads CS for a far JMP/CALL: real mode (base = selector * 16) or a code segment at the
 * current privilege (XXX: call gates and task switches are not implemented). */
static void far_load(struct soft_cpu *cpu, uint16_t sel)
{
    if (!(cpu->cr0 & CR0_PE)) {
        struct cpu_segment cs = cpu->seg[SEG_CS];
        cs.selector = sel;
        cs.base = (uint64_t)sel << 4;
        soft_set_cs(cpu, &cs);
        return;
    }
    soft_far_load_cs(cpu, (uint16_t)((sel & ~3u) | cpu->cpl), cpu->cpl);
}

int soft_op_jmpf(struct soft_cpu *cpu, const struct soft_insn *in)
{
    uint16_t sel;
    uint64_t off;
    far_target(cpu, in, &sel, &off);
    far_load(cpu, sel);
    cpu->rip = in->osize == 2 ? (uint16_t)off : in->osize == 4 ? (uint32_t)off : off;
    return 1;
}

int soft_op_callf(struct soft_cpu *cpu, const struct soft_insn *in)
{
    uint16_t sel;
    uint64_t off;
    far_target(cpu, in, &sel, &off);
    uint16_t old_cs = cpu->seg[SEG_CS].selector;
    uint64_t ret = cpu->rip;
    unsigned size = in->osize;
    soft_push(cpu, size, old_cs);
    soft_push(cpu, size, ret);
    far_load(cpu, sel);
    cpu->rip = size == 2 ? (uint16_t)off : size == 4 ? (uint32_t)off : off;
    return 1;
}
