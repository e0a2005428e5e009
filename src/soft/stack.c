/* Stack instructions (SDM Vol. 2 PUSH, POP, PUSHF, POPF, ENTER, LEAVE) and the push/pop helpers
 * used by calls, returns and interrupts. The stack address size is 64 bits in 64-bit mode, else
 * SS.B selects 32 or 16. */
#include "soft/handlers.h"

static uint64_t stack_lin(struct soft_cpu *cpu, uint64_t rsp)
{
    unsigned ss = soft_stack_size(cpu);
    if (ss == 8) {
        soft_check_stack_ref(cpu, SEG_SS, rsp);
        return rsp;
    }
    if (ss == 2)
        rsp &= 0xffff;
    return (uint32_t)(cpu->segbase[SEG_SS] + (uint32_t)rsp);
}

static void set_rsp(struct soft_cpu *cpu, uint64_t v)
{
    unsigned ss = soft_stack_size(cpu);
    soft_reg_set(cpu, GPR_RSP, ss, v);
}

void soft_push(struct soft_cpu *cpu, unsigned size, uint64_t v)
{
    uint64_t rsp = cpu->gpr[GPR_RSP] - size;
    soft_write(cpu, stack_lin(cpu, rsp), size, v);
    set_rsp(cpu, rsp);
}

uint64_t soft_pop(struct soft_cpu *cpu, unsigned size)
{
    uint64_t rsp = cpu->gpr[GPR_RSP];
    uint64_t v = soft_read(cpu, stack_lin(cpu, rsp), size);
    set_rsp(cpu, rsp + size);
    return v;
}

/* Reads the stack slot off bytes above RSP without popping. */
uint64_t soft_stack_peek(struct soft_cpu *cpu, unsigned off, unsigned size)
{
    return soft_read(cpu, stack_lin(cpu, cpu->gpr[GPR_RSP] + off), size);
}

int soft_op_push(struct soft_cpu *cpu, const struct soft_insn *in)
{
    unsigned size = in->osize;
    uint64_t v = in->op[0].kind == OPK_IMM ? (uint64_t)in->op[0].disp : soft_op_get(cpu, in, 0);
    soft_push(cpu, size, v);
    return 0;
}

int soft_op_push_r(struct soft_cpu *cpu, const struct soft_insn *in)
{
    soft_push(cpu, in->osize, cpu->gpr[in->op[0].reg]);
    return 0;
}

int soft_op_pop(struct soft_cpu *cpu, const struct soft_insn *in)
{
    unsigned size = in->osize;
    if (in->op[0].kind == OPK_SREG) {
        uint64_t v = soft_stack_peek(cpu, 0, size);
        soft_load_seg(cpu, in->op[0].reg, (uint16_t)v);
        set_rsp(cpu, cpu->gpr[GPR_RSP] + size);
        if (in->op[0].reg == SEG_SS)
            cpu->int_shadow = true;
        return 1;
    }
    if (in->op[0].kind == OPK_MEM) {
        /* The address is computed after RSP is incremented (SDM POP). */
        uint64_t v = soft_stack_peek(cpu, 0, size);
        uint64_t old = cpu->gpr[GPR_RSP];
        set_rsp(cpu, old + size);
        uint64_t lin = soft_lin(cpu, in, &in->op[0]);
        cpu->gpr[GPR_RSP] = old;
        soft_write(cpu, lin, size, v);
        set_rsp(cpu, old + size);
        return 0;
    }
    uint64_t v = soft_pop(cpu, size);
    soft_op_set(cpu, in, 0, v);
    return 0;
}

int soft_op_pop_r(struct soft_cpu *cpu, const struct soft_insn *in)
{
    uint64_t v = soft_pop(cpu, in->osize);
    soft_reg_set(cpu, in->op[0].reg, in->osize, v);
    return 0;
}

/* 64-bit mode, 64-bit operand size: the stack is flat, RSP is used whole and a
 * non-canonical stack address faults with #SS(0). */
void soft_push64(struct soft_cpu *cpu, uint64_t v)
{
    uint64_t rsp = cpu->gpr[GPR_RSP] - 8;
    soft_check_stack_ref(cpu, SEG_SS, rsp);
    soft_write(cpu, rsp, 8, v);
    cpu->gpr[GPR_RSP] = rsp;
}

uint64_t soft_pop64(struct soft_cpu *cpu)
{
    uint64_t rsp = cpu->gpr[GPR_RSP];
    soft_check_stack_ref(cpu, SEG_SS, rsp);
    uint64_t v = soft_read(cpu, rsp, 8);
    cpu->gpr[GPR_RSP] = rsp + 8;
    return v;
}

int soft_op_push_r64(struct soft_cpu *cpu, const struct soft_insn *in)
{
    soft_push64(cpu, cpu->gpr[in->op[0].reg]);
    return soft_next(cpu, in);
}

int soft_op_pop_r64(struct soft_cpu *cpu, const struct soft_insn *in)
{
    uint64_t v = soft_pop64(cpu);
    cpu->gpr[in->op[0].reg] = v; /* POP RSP: the popped value wins */
    return soft_next_nostore(cpu, in);
}

int soft_op_pushf(struct soft_cpu *cpu, const struct soft_insn *in)
{
    /* VM and RF are pushed as 0. */
    soft_push(cpu, in->osize, soft_flags_get(cpu) & ~(RFLAGS_VM | RFLAGS_RF));
    return 0;
}

int soft_op_popf(struct soft_cpu *cpu, const struct soft_insn *in)
{
    unsigned size = in->osize;
    uint64_t v = soft_pop(cpu, size);
    unsigned iopl = (cpu->rflags >> RFLAGS_IOPL_SHIFT) & 3;
    uint64_t mask = RFLAGS_ARITH | RFLAGS_TF | RFLAGS_DF | RFLAGS_NT | RFLAGS_AC | RFLAGS_ID;
    if (cpu->cpl <= iopl)
        mask |= RFLAGS_IF;
    if (cpu->cpl == 0)
        mask |= RFLAGS_IOPL;
    if (size == 2)
        mask &= 0xffff;
    soft_flags_set(cpu, v, mask);
    cpu->rflags &= ~RFLAGS_RF;
    return 1; /* IF may have changed: re-check interrupts */
}

int soft_op_leave(struct soft_cpu *cpu, const struct soft_insn *in)
{
    unsigned ss = soft_stack_size(cpu);
    uint64_t rbp = cpu->gpr[GPR_RBP] & soft_mask(ss);
    uint64_t v = soft_read(cpu, stack_lin(cpu, rbp), in->osize);
    set_rsp(cpu, rbp + in->osize);
    soft_reg_set(cpu, GPR_RBP, in->osize, v);
    return 0;
}

int soft_op_enter(struct soft_cpu *cpu, const struct soft_insn *in)
{
    unsigned size = in->osize;
    uint64_t alloc = (uint64_t)in->op[0].disp & 0xffff;
    unsigned level = (unsigned)in->op[1].disp & 31;
    uint64_t rbp = cpu->gpr[GPR_RBP];
    soft_push(cpu, size, rbp);
    uint64_t frame = cpu->gpr[GPR_RSP];
    for (unsigned i = 1; i < level; i++) {
        rbp -= size;
        soft_push(cpu, size, soft_read(cpu, stack_lin(cpu, rbp), size));
    }
    if (level > 0)
        soft_push(cpu, size, frame);
    soft_reg_set(cpu, GPR_RBP, size, frame);
    set_rsp(cpu, cpu->gpr[GPR_RSP] - alloc);
    return 0;
}
