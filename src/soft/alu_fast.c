/* Specialised handlers for the hottest integer instruction forms, picked at translation time
 * (table.c, soft_handler_specialize) when the operands allow: the eight ALU operations, TEST,
 * INC/DEC and the SHL/SHR/SAR-by-immediate shifts on 32/64-bit registers, MOVZX/MOVSX into a
 * 32/64-bit register, two/three-operand IMUL and one-operand MUL. Semantics are exactly those
 * of the general handlers in alu.c, shift.c and muldiv.c (the differential tests run both);
 * these only skip the operand-kind dispatch. Each is a threaded entry (soft_insn.run): it ends
 * by running the next instruction through soft_next. */
#include "soft/alu_fast.h"

/* a OP b (both already masked to size), flags recorded lazily; returns the unmasked result. */
static inline uint64_t alu_op(struct soft_cpu *cpu, unsigned op, unsigned size, uint64_t a,
                              uint64_t b)
{
    uint64_t r, c;
    switch (op) {
    case SOFT_ALU_ADD:
        r = a + b;
        soft_lazy(cpu, LF_ADD, size, r, a, b);
        break;
    case SOFT_ALU_ADC:
        c = soft_flags_cf(cpu);
        r = a + b + c;
        soft_lazy(cpu, LF_ADC, size, r, a, b);
        cpu->lf.aux = (uint8_t)c;
        break;
    case SOFT_ALU_SBB:
        c = soft_flags_cf(cpu);
        r = a - b - c;
        soft_lazy(cpu, LF_SBB, size, r, a, b);
        cpu->lf.aux = (uint8_t)c;
        break;
    case SOFT_ALU_SUB:
    case SOFT_ALU_CMP:
        r = a - b;
        soft_lazy(cpu, LF_SUB, size, r, a, b);
        break;
    case SOFT_ALU_OR:
        r = a | b;
        soft_lazy(cpu, LF_LOGIC, size, r, 0, 0);
        break;
    case SOFT_ALU_AND:
        r = a & b;
        soft_lazy(cpu, LF_LOGIC, size, r, 0, 0);
        break;
    default: /* XOR */
        r = a ^ b;
        soft_lazy(cpu, LF_LOGIC, size, r, 0, 0);
        break;
    }
    return r;
}

/* dst (a 4- or 8-byte register) = dst OP b, flags recorded lazily; CMP writes nothing. */
static inline int alu_reg(struct soft_cpu *cpu, const struct soft_insn *in, unsigned op, uint64_t b)
{
    unsigned size = in->op[0].size, reg = in->op[0].reg;
    uint64_t m = soft_mask(size);
    uint64_t r = alu_op(cpu, op, size, cpu->gpr[reg] & m, b & m);
    if (op != SOFT_ALU_CMP)
        cpu->gpr[reg] = r & m; /* 32-bit results zero-extend */
    return soft_next_nostore(cpu, in);
}

static inline uint64_t src_reg(const struct soft_cpu *cpu, const struct soft_insn *in)
{
    return cpu->gpr[in->op[1].reg];
}

static inline uint64_t src_imm(const struct soft_insn *in)
{
    return (uint64_t)in->op[1].disp;
}

static inline uint64_t src_mem(struct soft_cpu *cpu, const struct soft_insn *in)
{
    return soft_read(cpu, soft_lin(cpu, in, &in->op[1]), in->op[1].size);
}

/* reg, reg */
static int add_rr(struct soft_cpu *c, const struct soft_insn *i)
{
    return alu_reg(c, i, SOFT_ALU_ADD, src_reg(c, i));
}
static int or_rr(struct soft_cpu *c, const struct soft_insn *i)
{
    return alu_reg(c, i, SOFT_ALU_OR, src_reg(c, i));
}
static int adc_rr(struct soft_cpu *c, const struct soft_insn *i)
{
    return alu_reg(c, i, SOFT_ALU_ADC, src_reg(c, i));
}
static int sbb_rr(struct soft_cpu *c, const struct soft_insn *i)
{
    return alu_reg(c, i, SOFT_ALU_SBB, src_reg(c, i));
}
static int and_rr(struct soft_cpu *c, const struct soft_insn *i)
{
    return alu_reg(c, i, SOFT_ALU_AND, src_reg(c, i));
}
static int sub_rr(struct soft_cpu *c, const struct soft_insn *i)
{
    return alu_reg(c, i, SOFT_ALU_SUB, src_reg(c, i));
}
static int xor_rr(struct soft_cpu *c, const struct soft_insn *i)
{
    return alu_reg(c, i, SOFT_ALU_XOR, src_reg(c, i));
}
static int cmp_rr(struct soft_cpu *c, const struct soft_insn *i)
{
    return alu_reg(c, i, SOFT_ALU_CMP, src_reg(c, i));
}
/* reg, imm (sign-extended by the decoder) */
static int add_ri(struct soft_cpu *c, const struct soft_insn *i)
{
    return alu_reg(c, i, SOFT_ALU_ADD, src_imm(i));
}
static int or_ri(struct soft_cpu *c, const struct soft_insn *i)
{
    return alu_reg(c, i, SOFT_ALU_OR, src_imm(i));
}
static int adc_ri(struct soft_cpu *c, const struct soft_insn *i)
{
    return alu_reg(c, i, SOFT_ALU_ADC, src_imm(i));
}
static int sbb_ri(struct soft_cpu *c, const struct soft_insn *i)
{
    return alu_reg(c, i, SOFT_ALU_SBB, src_imm(i));
}
static int and_ri(struct soft_cpu *c, const struct soft_insn *i)
{
    return alu_reg(c, i, SOFT_ALU_AND, src_imm(i));
}
static int sub_ri(struct soft_cpu *c, const struct soft_insn *i)
{
    return alu_reg(c, i, SOFT_ALU_SUB, src_imm(i));
}
static int xor_ri(struct soft_cpu *c, const struct soft_insn *i)
{
    return alu_reg(c, i, SOFT_ALU_XOR, src_imm(i));
}
static int cmp_ri(struct soft_cpu *c, const struct soft_insn *i)
{
    return alu_reg(c, i, SOFT_ALU_CMP, src_imm(i));
}
/* reg, mem */
static int add_rm(struct soft_cpu *c, const struct soft_insn *i)
{
    return alu_reg(c, i, SOFT_ALU_ADD, src_mem(c, i));
}
static int or_rm(struct soft_cpu *c, const struct soft_insn *i)
{
    return alu_reg(c, i, SOFT_ALU_OR, src_mem(c, i));
}
static int adc_rm(struct soft_cpu *c, const struct soft_insn *i)
{
    return alu_reg(c, i, SOFT_ALU_ADC, src_mem(c, i));
}
static int sbb_rm(struct soft_cpu *c, const struct soft_insn *i)
{
    return alu_reg(c, i, SOFT_ALU_SBB, src_mem(c, i));
}
static int and_rm(struct soft_cpu *c, const struct soft_insn *i)
{
    return alu_reg(c, i, SOFT_ALU_AND, src_mem(c, i));
}
static int sub_rm(struct soft_cpu *c, const struct soft_insn *i)
{
    return alu_reg(c, i, SOFT_ALU_SUB, src_mem(c, i));
}
static int xor_rm(struct soft_cpu *c, const struct soft_insn *i)
{
    return alu_reg(c, i, SOFT_ALU_XOR, src_mem(c, i));
}
static int cmp_rm(struct soft_cpu *c, const struct soft_insn *i)
{
    return alu_reg(c, i, SOFT_ALU_CMP, src_mem(c, i));
}

/* Indexed by the ALU operation (enum soft_alu_op). */
static const soft_handler alu_rr[8] = {add_rr, or_rr,  adc_rr, sbb_rr,
                                       and_rr, sub_rr, xor_rr, cmp_rr};
static const soft_handler alu_ri[8] = {add_ri, or_ri,  adc_ri, sbb_ri,
                                       and_ri, sub_ri, xor_ri, cmp_ri};
static const soft_handler alu_rm[8] = {add_rm, or_rm,  adc_rm, sbb_rm,
                                       and_rm, sub_rm, xor_rm, cmp_rm};

static int test_rr(struct soft_cpu *cpu, const struct soft_insn *in)
{
    unsigned size = in->op[0].size;
    uint64_t r = cpu->gpr[in->op[0].reg] & cpu->gpr[in->op[1].reg] & soft_mask(size);
    soft_lazy(cpu, LF_LOGIC, size, r, 0, 0);
    return soft_next_nostore(cpu, in);
}

static int test_ri(struct soft_cpu *cpu, const struct soft_insn *in)
{
    unsigned size = in->op[0].size;
    uint64_t r = cpu->gpr[in->op[0].reg] & (uint64_t)in->op[1].disp & soft_mask(size);
    soft_lazy(cpu, LF_LOGIC, size, r, 0, 0);
    return soft_next_nostore(cpu, in);
}

/* INC (aux 0) / DEC (aux 1) of a register: CF is kept. */
static int incdec_r(struct soft_cpu *cpu, const struct soft_insn *in)
{
    unsigned size = in->op[0].size, reg = in->op[0].reg;
    uint64_t m = soft_mask(size);
    uint8_t cf = (uint8_t)soft_flags_cf(cpu);
    uint64_t a = cpu->gpr[reg] & m;
    uint64_t r = (in->aux ? a - 1 : a + 1) & m;
    cpu->gpr[reg] = r;
    soft_lazy(cpu, in->aux ? LF_DEC : LF_INC, size, r, a, 1);
    cpu->lf.aux = cf;
    return soft_next_nostore(cpu, in);
}

/* The count of a shift by an immediate (or by 1 for the D0/D1 forms). */
static inline uint64_t shift_imm(const struct soft_insn *in)
{
    return in->nops < 2 ? 1 : (uint64_t)in->op[1].disp;
}

/* SHL/SHR/SAR of a register by raw_count masked to 5 or 6 bits; flags as in shift.c. */
static inline int shift_reg(struct soft_cpu *cpu, const struct soft_insn *in, unsigned kind,
                            uint64_t raw_count)
{
    unsigned size = in->op[0].size, reg = in->op[0].reg, bits = size * 8;
    uint64_t m = soft_mask(size);
    unsigned count = (unsigned)raw_count & (size == 8 ? 63 : 31);
    uint64_t a = cpu->gpr[reg] & m, r, msb = 1ULL << (bits - 1);
    bool cf, of;
    if (count == 0) {
        cpu->gpr[reg] = a; /* flags unchanged; a 32-bit destination still zero-extends */
        return soft_next_nostore(cpu, in);
    }
    switch (kind) {
    case SOFT_SHIFT_SHL:
        r = (a << count) & m;
        cf = (a >> (bits - count)) & 1;
        of = ((r & msb) != 0) != cf;
        break;
    case SOFT_SHIFT_SHR:
        r = a >> count;
        cf = (a >> (count - 1)) & 1;
        of = (a & msb) != 0;
        break;
    default: { /* SAR */
        int64_t sa = (int64_t)soft_sext(a, size);
        r = (uint64_t)(sa >> count) & m;
        cf = (uint64_t)(sa >> (count - 1)) & 1;
        of = false;
        break;
    }
    }
    cpu->gpr[reg] = r;
    soft_lazy_result(cpu, size, r, cf, of);
    return soft_next_nostore(cpu, in);
}

static int shl_ri(struct soft_cpu *c, const struct soft_insn *i)
{
    return shift_reg(c, i, SOFT_SHIFT_SHL, shift_imm(i));
}
static int shr_ri(struct soft_cpu *c, const struct soft_insn *i)
{
    return shift_reg(c, i, SOFT_SHIFT_SHR, shift_imm(i));
}
static int sar_ri(struct soft_cpu *c, const struct soft_insn *i)
{
    return shift_reg(c, i, SOFT_SHIFT_SAR, shift_imm(i));
}
/* ROL/ROR of a register by an immediate; CF and OF as in shift.c, the other flags kept. */
static inline int rotate_reg(struct soft_cpu *cpu, const struct soft_insn *in, bool left)
{
    unsigned size = in->op[0].size, reg = in->op[0].reg, bits = size * 8;
    uint64_t m = soft_mask(size);
    unsigned count = (unsigned)shift_imm(in) & (size == 8 ? 63 : 31);
    uint64_t a = cpu->gpr[reg] & m, msb = 1ULL << (bits - 1);
    if (count == 0) {
        cpu->gpr[reg] = a; /* flags unchanged; a 32-bit destination still zero-extends */
        return soft_next_nostore(cpu, in);
    }
    unsigned c = count % bits;
    uint64_t r;
    bool cf, of;
    if (left) {
        r = c ? ((a << c) | (a >> (bits - c))) & m : a;
        cf = r & 1;
        of = ((r & msb) != 0) != cf;
    } else {
        r = c ? ((a >> c) | (a << (bits - c))) & m : a;
        cf = (r & msb) != 0;
        of = cf != ((r & (msb >> 1)) != 0);
    }
    cpu->gpr[reg] = r;
    soft_flags_set(cpu, (cf ? RFLAGS_CF : 0) | (of ? RFLAGS_OF : 0), RFLAGS_CF | RFLAGS_OF);
    return soft_next_nostore(cpu, in);
}
static int rol_ri(struct soft_cpu *c, const struct soft_insn *i)
{
    return rotate_reg(c, i, true);
}
static int ror_ri(struct soft_cpu *c, const struct soft_insn *i)
{
    return rotate_reg(c, i, false);
}
/* by CL */
static int shl_rc(struct soft_cpu *c, const struct soft_insn *i)
{
    return shift_reg(c, i, SOFT_SHIFT_SHL, c->gpr[GPR_RCX]);
}
static int shr_rc(struct soft_cpu *c, const struct soft_insn *i)
{
    return shift_reg(c, i, SOFT_SHIFT_SHR, c->gpr[GPR_RCX]);
}
static int sar_rc(struct soft_cpu *c, const struct soft_insn *i)
{
    return shift_reg(c, i, SOFT_SHIFT_SAR, c->gpr[GPR_RCX]);
}

/* MOVZX / MOVSX into a 32/64-bit register from a register (not AH..BH) or memory. */
static inline uint64_t ext_src(struct soft_cpu *cpu, const struct soft_insn *in)
{
    const struct soft_operand *o = &in->op[1];
    if (o->kind == OPK_REG)
        return cpu->gpr[o->reg] & soft_mask(o->size);
    return soft_read(cpu, soft_lin(cpu, in, o), o->size);
}

static int movzx_r(struct soft_cpu *cpu, const struct soft_insn *in)
{
    cpu->gpr[in->op[0].reg] = ext_src(cpu, in); /* zero-extended into 32 or 64 bits */
    return soft_next_nostore(cpu, in);
}

static int movsx_r(struct soft_cpu *cpu, const struct soft_insn *in)
{
    uint64_t v = soft_sext(ext_src(cpu, in), in->op[1].size);
    cpu->gpr[in->op[0].reg] = v & soft_mask(in->op[0].size);
    return soft_next_nostore(cpu, in);
}

/* Two- and three-operand IMUL into a 32/64-bit register: CF = OF = the product did not fit. */
static inline int imul_reg(struct soft_cpu *cpu, const struct soft_insn *in, uint64_t x, uint64_t y)
{
    unsigned reg = in->op[0].reg;
    if (in->op[0].size == 8) {
        int64_t r;
        bool of = __builtin_mul_overflow((int64_t)x, (int64_t)y, &r);
        cpu->gpr[reg] = (uint64_t)r;
        soft_lazy_result(cpu, 8, (uint64_t)r, of, of);
    } else {
        int64_t p = (int64_t)(int32_t)x * (int64_t)(int32_t)y;
        uint32_t lo = (uint32_t)p;
        bool of = p != (int64_t)(int32_t)lo;
        cpu->gpr[reg] = lo;
        soft_lazy_result(cpu, 4, lo, of, of);
    }
    return soft_next_nostore(cpu, in);
}

static int imul_rr(struct soft_cpu *cpu, const struct soft_insn *in)
{
    return imul_reg(cpu, in, cpu->gpr[in->op[0].reg], ext_src(cpu, in));
}

static int imul_rri(struct soft_cpu *cpu, const struct soft_insn *in)
{
    return imul_reg(cpu, in, ext_src(cpu, in), (uint64_t)in->op[2].disp);
}

/* One-operand MUL of rAX by a 32/64-bit register or memory operand into rDX:rAX. */
static int mul_wide(struct soft_cpu *cpu, const struct soft_insn *in)
{
    const struct soft_operand *o = &in->op[0];
    uint64_t src =
        o->kind == OPK_REG ? cpu->gpr[o->reg] : soft_read(cpu, soft_lin(cpu, in, o), o->size);
    if (o->size == 8) {
        unsigned __int128 p = (unsigned __int128)cpu->gpr[GPR_RAX] * src;
        uint64_t lo = (uint64_t)p, hi = (uint64_t)(p >> 64);
        cpu->gpr[GPR_RAX] = lo;
        cpu->gpr[GPR_RDX] = hi;
        soft_lazy_result(cpu, 8, lo, hi != 0, hi != 0);
    } else {
        uint64_t p = (uint64_t)(uint32_t)cpu->gpr[GPR_RAX] * (uint32_t)src;
        uint32_t lo = (uint32_t)p, hi = (uint32_t)(p >> 32);
        cpu->gpr[GPR_RAX] = lo;
        cpu->gpr[GPR_RDX] = hi;
        soft_lazy_result(cpu, 4, lo, hi != 0, hi != 0);
    }
    return soft_next_nostore(cpu, in);
}

/* Linear address of a [base + disp] operand in 64-bit mode with a 64-bit address size and a
 * segment whose base is 0 (not FS/GS). Stack references still fault with #SS when the
 * address is not canonical (the access's slow path raises #GP for the others). */
static inline uint64_t lin_base_disp(struct soft_cpu *cpu, const struct soft_operand *o)
{
    uint64_t a = cpu->gpr[o->base] + (uint64_t)o->disp;
    soft_check_stack_ref(cpu, o->seg, a);
    return a;
}

/* MOV into a 32/64-bit register (op 0) from the memory operand 1 at lin. */
static inline int mov_r_load(struct soft_cpu *cpu, const struct soft_insn *in, uint64_t lin)
{
    uint64_t v = soft_read(cpu, lin, in->op[1].size);
    cpu->gpr[in->op[0].reg] = in->op[0].size == 8 ? v : (uint32_t)v;
    return soft_next_nostore(cpu, in);
}

static int mov_r_basedisp(struct soft_cpu *cpu, const struct soft_insn *in)
{
    return mov_r_load(cpu, in, lin_base_disp(cpu, &in->op[1]));
}

static int mov_basedisp_r(struct soft_cpu *cpu, const struct soft_insn *in)
{
    const struct soft_operand *o = &in->op[0];
    soft_write(cpu, lin_base_disp(cpu, o), o->size, cpu->gpr[in->op[1].reg]);
    return soft_next(cpu, in);
}

/* [base + index * scale + disp] in the same setting. */
static inline uint64_t lin_sib(struct soft_cpu *cpu, const struct soft_operand *o)
{
    uint64_t a = cpu->gpr[o->base] + (cpu->gpr[o->index] << o->scale) + (uint64_t)o->disp;
    soft_check_stack_ref(cpu, o->seg, a);
    return a;
}

static int mov_r_sib(struct soft_cpu *cpu, const struct soft_insn *in)
{
    return mov_r_load(cpu, in, lin_sib(cpu, &in->op[1]));
}

static int mov_rr64(struct soft_cpu *cpu, const struct soft_insn *in)
{
    cpu->gpr[in->op[0].reg] = cpu->gpr[in->op[1].reg];
    return soft_next_nostore(cpu, in);
}

static int mov_rr32(struct soft_cpu *cpu, const struct soft_insn *in)
{
    cpu->gpr[in->op[0].reg] = (uint32_t)cpu->gpr[in->op[1].reg];
    return soft_next_nostore(cpu, in);
}

/* CMP [base + disp], reg or imm (any size): compare only, nothing written. */
static int cmp_basedisp(struct soft_cpu *cpu, const struct soft_insn *in)
{
    const struct soft_operand *o = &in->op[0], *src = &in->op[1];
    unsigned size = o->size;
    uint64_t m = soft_mask(size);
    uint64_t a = soft_read(cpu, lin_base_disp(cpu, o), size);
    uint64_t b = (src->kind == OPK_IMM ? (uint64_t)src->disp : cpu->gpr[src->reg]) & m;
    soft_lazy(cpu, LF_SUB, size, a - b, a, b);
    return soft_next_nostore(cpu, in);
}

/* OP [base + disp], reg or imm (any size, not CMP, no LOCK): a read-modify-write that, like
 * soft_op_alu, faults as a write before reading. With the page writable in the TLB, not
 * holding code and the access inside it, both halves go straight to host memory. */
static inline int alu_basedisp(struct soft_cpu *cpu, const struct soft_insn *in, unsigned op)
{
    const struct soft_operand *o = &in->op[0], *src = &in->op[1];
    unsigned size = o->size;
    uint64_t m = soft_mask(size);
    uint64_t b = (src->kind == OPK_IMM ? (uint64_t)src->disp : cpu->gpr[src->reg]) & m;
    uint64_t lin = lin_base_disp(cpu, o);
    uint8_t *p;
    if (soft_write_fast(cpu, lin, size, &p)) {
        soft_store_host(p, size, alu_op(cpu, op, size, soft_load_host(p, size), b) & m);
    } else {
        soft_rmw_prepare(cpu, in, 0);
        uint64_t a = soft_read(cpu, lin, size);
        soft_write(cpu, lin, size, alu_op(cpu, op, size, a, b) & m);
    }
    return soft_next(cpu, in);
}
static int add_mx(struct soft_cpu *c, const struct soft_insn *i)
{
    return alu_basedisp(c, i, SOFT_ALU_ADD);
}
static int or_mx(struct soft_cpu *c, const struct soft_insn *i)
{
    return alu_basedisp(c, i, SOFT_ALU_OR);
}
static int adc_mx(struct soft_cpu *c, const struct soft_insn *i)
{
    return alu_basedisp(c, i, SOFT_ALU_ADC);
}
static int sbb_mx(struct soft_cpu *c, const struct soft_insn *i)
{
    return alu_basedisp(c, i, SOFT_ALU_SBB);
}
static int and_mx(struct soft_cpu *c, const struct soft_insn *i)
{
    return alu_basedisp(c, i, SOFT_ALU_AND);
}
static int sub_mx(struct soft_cpu *c, const struct soft_insn *i)
{
    return alu_basedisp(c, i, SOFT_ALU_SUB);
}
static int xor_mx(struct soft_cpu *c, const struct soft_insn *i)
{
    return alu_basedisp(c, i, SOFT_ALU_XOR);
}
/* Indexed by the ALU operation; CMP has cmp_basedisp. */
static const soft_handler alu_mx[8] = {add_mx, or_mx, adc_mx, sbb_mx, and_mx, sub_mx, xor_mx, NULL};

/* TEST [base + disp], reg or imm (any size): read only. */
static int test_basedisp(struct soft_cpu *cpu, const struct soft_insn *in)
{
    const struct soft_operand *o = &in->op[0], *src = &in->op[1];
    unsigned size = o->size;
    uint64_t a = soft_read(cpu, lin_base_disp(cpu, o), size);
    uint64_t b = src->kind == OPK_IMM ? (uint64_t)src->disp : cpu->gpr[src->reg];
    soft_lazy(cpu, LF_LOGIC, size, a & b & soft_mask(size), 0, 0);
    return soft_next_nostore(cpu, in);
}

/* LEA into a 64-bit register with a 64-bit address size: no segment, no access. */
static int lea_basedisp(struct soft_cpu *cpu, const struct soft_insn *in)
{
    const struct soft_operand *o = &in->op[1];
    cpu->gpr[in->op[0].reg] = cpu->gpr[o->base] + (uint64_t)o->disp;
    return soft_next_nostore(cpu, in);
}

static int lea_sib(struct soft_cpu *cpu, const struct soft_insn *in)
{
    const struct soft_operand *o = &in->op[1];
    cpu->gpr[in->op[0].reg] =
        cpu->gpr[o->base] + (cpu->gpr[o->index] << o->scale) + (uint64_t)o->disp;
    return soft_next_nostore(cpu, in);
}

/* [seg: base + disp] with any segment (FS and GS bases too), a RIP-relative base or none: per-CPU
 * data (gs:[disp]) and globals. Same address as soft_lin with no index in 64-bit mode. */
static inline uint64_t lin_seg_disp(struct soft_cpu *cpu, const struct soft_operand *o)
{
    uint64_t a = (uint64_t)o->disp + cpu->segbase[o->seg];
    if (o->base == SOFT_REG_RIP)
        a += cpu->rip;
    else if (o->base != SOFT_REG_NONE)
        a += cpu->gpr[o->base];
    soft_check_stack_ref(cpu, o->seg, a);
    return a;
}
static int mov_r_segdisp(struct soft_cpu *cpu, const struct soft_insn *in)
{
    return mov_r_load(cpu, in, lin_seg_disp(cpu, &in->op[1]));
}
static int mov_segdisp_r(struct soft_cpu *cpu, const struct soft_insn *in)
{
    const struct soft_operand *o = &in->op[0];
    soft_write(cpu, lin_seg_disp(cpu, o), o->size, cpu->gpr[in->op[1].reg]);
    return soft_next(cpu, in);
}
/* MOV [seg: base + disp], imm (the decoder sign-extended the immediate). */
static int mov_segdisp_i(struct soft_cpu *cpu, const struct soft_insn *in)
{
    const struct soft_operand *o = &in->op[0];
    soft_write(cpu, lin_seg_disp(cpu, o), o->size, (uint64_t)in->op[1].disp);
    return soft_next(cpu, in);
}
static int lea_index(struct soft_cpu *cpu, const struct soft_insn *in)
{
    const struct soft_operand *o = &in->op[1];
    cpu->gpr[in->op[0].reg] = (cpu->gpr[o->index] << o->scale) + (uint64_t)o->disp;
    return soft_next_nostore(cpu, in);
}
static int lea_rip(struct soft_cpu *cpu, const struct soft_insn *in)
{
    cpu->gpr[in->op[0].reg] = cpu->rip + (uint64_t)in->op[1].disp;
    return soft_next_nostore(cpu, in);
}

static bool is_sib64(const struct soft_insn *in, const struct soft_operand *o)
{
    return o->kind == OPK_MEM && in->asize == 8 && o->base < 16 && o->index < 16 &&
           o->seg != SEG_FS && o->seg != SEG_GS;
}

static bool is_base_disp64(const struct soft_insn *in, const struct soft_operand *o)
{
    return o->kind == OPK_MEM && in->asize == 8 && o->base < 16 && o->index == SOFT_REG_NONE &&
           o->seg != SEG_FS && o->seg != SEG_GS;
}

static bool is_wide_reg(const struct soft_operand *o)
{
    return o->kind == OPK_REG && (o->size == 4 || o->size == 8);
}

/* [seg: base + disp], [seg: rip + disp] or [seg: disp] in 64-bit mode, any segment. */
static bool is_seg_disp64(const struct soft_insn *in, const struct soft_operand *o)
{
    return o->kind == OPK_MEM && in->asize == 8 && o->index == SOFT_REG_NONE &&
           (o->base < 16 || o->base == SOFT_REG_RIP || o->base == SOFT_REG_NONE);
}

soft_handler soft_fast_alu(const struct soft_insn *in)
{
    const struct soft_operand *a = &in->op[0], *b = &in->op[1];
    if (in->aux == SOFT_ALU_CMP && in->nops == 2 && is_base_disp64(in, a) &&
        (b->kind == OPK_IMM || (b->kind == OPK_REG && b->size == a->size)))
        return cmp_basedisp;
    if (!(in->prefix & SOFT_INSN_LOCK) && in->aux < SOFT_ALU_CMP && in->nops == 2 &&
        is_base_disp64(in, a) && (b->kind == OPK_IMM || (b->kind == OPK_REG && b->size == a->size)))
        return alu_mx[in->aux];
    if ((in->prefix & SOFT_INSN_LOCK) || !is_wide_reg(a) || in->nops != 2 || in->aux > 7)
        return NULL;
    if (b->kind == OPK_REG && b->size == a->size)
        return alu_rr[in->aux];
    if (b->kind == OPK_IMM)
        return alu_ri[in->aux];
    if (b->kind == OPK_MEM && b->size == a->size)
        return alu_rm[in->aux];
    return NULL;
}

soft_handler soft_fast_test(const struct soft_insn *in)
{
    const struct soft_operand *a = &in->op[0], *b = &in->op[1];
    if (is_base_disp64(in, a) && (b->kind == OPK_IMM || (b->kind == OPK_REG && b->size == a->size)))
        return test_basedisp;
    if (!is_wide_reg(a))
        return NULL;
    if (b->kind == OPK_REG && b->size == a->size)
        return test_rr;
    return b->kind == OPK_IMM ? test_ri : NULL;
}

soft_handler soft_fast_incdec(const struct soft_insn *in)
{
    return !(in->prefix & SOFT_INSN_LOCK) && is_wide_reg(&in->op[0]) ? incdec_r : NULL;
}

soft_handler soft_fast_shift(const struct soft_insn *in)
{
    const struct soft_operand *c = &in->op[1];
    if (!is_wide_reg(&in->op[0]))
        return NULL;
    bool by_cl = in->nops >= 2 && c->kind == OPK_REG && c->reg == GPR_RCX && c->size == 1;
    if (in->nops >= 2 && c->kind != OPK_IMM && !by_cl)
        return NULL;
    switch (in->aux) {
    case SOFT_SHIFT_SHL:
    case SOFT_SHIFT_SAL:
        return by_cl ? shl_rc : shl_ri;
    case SOFT_SHIFT_SHR:
        return by_cl ? shr_rc : shr_ri;
    case SOFT_SHIFT_SAR:
        return by_cl ? sar_rc : sar_ri;
    case SOFT_SHIFT_ROL:
        return by_cl ? NULL : rol_ri;
    case SOFT_SHIFT_ROR:
        return by_cl ? NULL : ror_ri;
    default:
        return NULL;
    }
}

soft_handler soft_fast_mov(const struct soft_insn *in)
{
    const struct soft_operand *a = &in->op[0], *b = &in->op[1];
    if (is_wide_reg(a) && is_base_disp64(in, b) && b->size == a->size)
        return mov_r_basedisp;
    if (is_base_disp64(in, a) && b->kind == OPK_REG && b->size == a->size)
        return mov_basedisp_r;
    if (is_wide_reg(a) && is_sib64(in, b) && b->size == a->size)
        return mov_r_sib;
    if (is_wide_reg(a) && b->kind == OPK_REG && b->size == a->size)
        return a->size == 8 ? mov_rr64 : mov_rr32;
    if (is_wide_reg(a) && is_seg_disp64(in, b) && b->size == a->size)
        return mov_r_segdisp;
    if (is_seg_disp64(in, a) && b->kind == OPK_REG && b->size == a->size)
        return mov_segdisp_r;
    if (is_seg_disp64(in, a) && b->kind == OPK_IMM)
        return mov_segdisp_i;
    return NULL;
}

soft_handler soft_fast_lea(const struct soft_insn *in)
{
    const struct soft_operand *a = &in->op[0], *b = &in->op[1];
    if (a->kind != OPK_REG || a->size != 8 || b->kind != OPK_MEM || in->asize != 8)
        return NULL;
    if (b->base == SOFT_REG_RIP && b->index == SOFT_REG_NONE)
        return lea_rip;
    if (b->base < 16 && b->index == SOFT_REG_NONE)
        return lea_basedisp;
    if (b->base < 16 && b->index < 16)
        return lea_sib;
    if (b->base == SOFT_REG_NONE && b->index < 16)
        return lea_index;
    return NULL;
}

soft_handler soft_fast_mul(const struct soft_insn *in, bool sign)
{
    const struct soft_operand *a = &in->op[0], *b = &in->op[1];
    if (!sign) /* MUL r/m: rDX:rAX = rAX * r/m */
        return in->nops == 1 && (a->size == 4 || a->size == 8) &&
                       (a->kind == OPK_REG || a->kind == OPK_MEM)
                   ? mul_wide
                   : NULL;
    if (in->nops < 2 || !is_wide_reg(a) || b->size != a->size ||
        (b->kind != OPK_REG && b->kind != OPK_MEM))
        return NULL;
    if (in->nops == 2)
        return imul_rr;
    return in->op[2].kind == OPK_IMM ? imul_rri : NULL;
}

soft_handler soft_fast_extend(const struct soft_insn *in, bool sign)
{
    const struct soft_operand *b = &in->op[1];
    if (!is_wide_reg(&in->op[0]) || (b->kind != OPK_REG && b->kind != OPK_MEM))
        return NULL;
    if (b->size != 1 && b->size != 2 && b->size != 4)
        return NULL;
    return sign ? movsx_r : movzx_r;
}
