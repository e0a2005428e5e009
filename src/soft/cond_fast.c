/* Specialised threaded handlers for the condition-code instructions the kernel's multi-precision
 * arithmetic and compilers' branchless code use most: SETcc into a low-byte register and CMOVcc
 * between 32/64-bit registers. Semantics are those of soft_op_setcc and soft_op_cmovcc (alu.c);
 * these skip the operand-kind dispatch and run the next instruction through soft_next. */
#include "soft/alu_fast.h"

static int setcc_r8(struct soft_cpu *cpu, const struct soft_insn *in)
{
    unsigned reg = in->op[0].reg;
    cpu->gpr[reg] = (cpu->gpr[reg] & ~0xffULL) | (uint64_t)soft_cond(cpu, in->aux);
    return soft_next_nostore(cpu, in);
}

/* A false condition still writes a 32-bit destination, which zero-extends it. */
static int cmovcc_rr64(struct soft_cpu *cpu, const struct soft_insn *in)
{
    if (soft_cond(cpu, in->aux))
        cpu->gpr[in->op[0].reg] = cpu->gpr[in->op[1].reg];
    return soft_next_nostore(cpu, in);
}

static int cmovcc_rr32(struct soft_cpu *cpu, const struct soft_insn *in)
{
    unsigned dst = in->op[0].reg;
    uint64_t v = soft_cond(cpu, in->aux) ? cpu->gpr[in->op[1].reg] : cpu->gpr[dst];
    cpu->gpr[dst] = (uint32_t)v;
    return soft_next_nostore(cpu, in);
}

soft_handler soft_fast_setcc(const struct soft_insn *in)
{
    const struct soft_operand *a = &in->op[0];
    return a->kind == OPK_REG && a->size == 1 ? setcc_r8 : NULL;
}

soft_handler soft_fast_cmovcc(const struct soft_insn *in)
{
    const struct soft_operand *a = &in->op[0], *b = &in->op[1];
    if (a->kind != OPK_REG || b->kind != OPK_REG || a->size != b->size)
        return NULL;
    return a->size == 8 ? cmovcc_rr64 : a->size == 4 ? cmovcc_rr32 : NULL;
}
