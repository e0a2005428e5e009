/* Multiplication and division (SDM Vol. 2 MUL, IMUL, DIV, IDIV): widening forms through
 * rDX:rAX, the two- and three-operand IMUL, and #DE on division by zero or quotient overflow.
 * SF/ZF/PF (undefined after these) are set from the low half of the result, AF cleared. */
#include "soft/handlers.h"

static void set_mul_flags(struct soft_cpu *cpu, unsigned size, uint64_t lo, bool overflow)
{
    soft_lazy_result(cpu, size, lo & soft_mask(size), overflow, overflow);
}

/* Stores a double-width result: AX for byte operands, else rDX:rAX. */
static void store_wide(struct soft_cpu *cpu, unsigned size, uint64_t lo, uint64_t hi)
{
    if (size == 1) {
        soft_reg_set(cpu, GPR_RAX, 2, (lo & 0xff) | ((hi & 0xff) << 8));
        return;
    }
    soft_reg_set(cpu, GPR_RAX, size, lo);
    soft_reg_set(cpu, GPR_RDX, size, hi);
}

int soft_op_mul(struct soft_cpu *cpu, const struct soft_insn *in)
{
    unsigned size = in->op[0].size;
    uint64_t m = soft_mask(size);
    unsigned __int128 p = (unsigned __int128)(cpu->gpr[GPR_RAX] & m) * soft_op_get(cpu, in, 0);
    uint64_t lo = (uint64_t)p & m;
    uint64_t hi = size == 8 ? (uint64_t)(p >> 64) : (uint64_t)(p >> (size * 8)) & m;
    store_wide(cpu, size, lo, hi);
    set_mul_flags(cpu, size, lo, hi != 0);
    return 0;
}

int soft_op_imul(struct soft_cpu *cpu, const struct soft_insn *in)
{
    unsigned size = in->op[0].size;
    uint64_t m = soft_mask(size);
    if (in->nops == 1) {
        __int128 a = (int64_t)soft_sext(cpu->gpr[GPR_RAX], size);
        __int128 b = (int64_t)soft_sext(soft_op_get(cpu, in, 0), size);
        __int128 p = a * b;
        uint64_t lo = (uint64_t)p & m;
        uint64_t hi = size == 8 ? (uint64_t)((unsigned __int128)p >> 64)
                                : (uint64_t)((unsigned __int128)p >> (size * 8)) & m;
        store_wide(cpu, size, lo, hi);
        set_mul_flags(cpu, size, lo, (__int128)(int64_t)soft_sext(lo, size) != p);
        return 0;
    }
    unsigned s1 = in->nops == 3 ? 1 : 0, s2 = in->nops == 3 ? 2 : 1;
    __int128 a = (int64_t)soft_sext(soft_op_get_sx(cpu, in, s1) & m, size);
    __int128 b = (int64_t)soft_sext(soft_op_get_sx(cpu, in, s2) & m, size);
    __int128 p = a * b;
    uint64_t lo = (uint64_t)p & m;
    soft_op_set(cpu, in, 0, lo);
    set_mul_flags(cpu, size, lo, (__int128)(int64_t)soft_sext(lo, size) != p);
    return 0;
}

int soft_op_div(struct soft_cpu *cpu, const struct soft_insn *in)
{
    unsigned size = in->op[0].size;
    uint64_t m = soft_mask(size);
    uint64_t d = soft_op_get(cpu, in, 0);
    if (d == 0)
        soft_raise(cpu, EXC_DE, 0, false);
    unsigned __int128 n;
    if (size == 1)
        n = cpu->gpr[GPR_RAX] & 0xffff;
    else if (size == 8)
        n = ((unsigned __int128)cpu->gpr[GPR_RDX] << 64) | cpu->gpr[GPR_RAX];
    else
        n = ((unsigned __int128)(cpu->gpr[GPR_RDX] & m) << (size * 8)) | (cpu->gpr[GPR_RAX] & m);
    unsigned __int128 q = n / d;
    uint64_t r = (uint64_t)(n % d);
    if (q > m)
        soft_raise(cpu, EXC_DE, 0, false);
    if (size == 1) {
        soft_reg_set(cpu, GPR_RAX, 2, ((uint64_t)q & 0xff) | (r << 8));
    } else {
        soft_reg_set(cpu, GPR_RAX, size, (uint64_t)q);
        soft_reg_set(cpu, GPR_RDX, size, r);
    }
    return 0;
}

int soft_op_idiv(struct soft_cpu *cpu, const struct soft_insn *in)
{
    unsigned size = in->op[0].size;
    uint64_t m = soft_mask(size);
    int64_t d = (int64_t)soft_sext(soft_op_get(cpu, in, 0), size);
    if (d == 0)
        soft_raise(cpu, EXC_DE, 0, false);
    __int128 n;
    if (size == 1)
        n = (int16_t)(cpu->gpr[GPR_RAX] & 0xffff);
    else if (size == 8)
        n = (__int128)(((unsigned __int128)cpu->gpr[GPR_RDX] << 64) | cpu->gpr[GPR_RAX]);
    else
        n = (int64_t)(((cpu->gpr[GPR_RDX] & m) << (size * 8)) | (cpu->gpr[GPR_RAX] & m));
    if (size == 4)
        n = (int64_t)((cpu->gpr[GPR_RDX] << 32) | (uint32_t)cpu->gpr[GPR_RAX]);
    if (size == 2)
        n = (int32_t)(((cpu->gpr[GPR_RDX] & 0xffff) << 16) | (cpu->gpr[GPR_RAX] & 0xffff));
    /* The most negative 128-bit dividend by -1 overflows in C: it overflows on x86 too. */
    if (size == 8 && d == -1 && n == (__int128)((unsigned __int128)1 << 127))
        soft_raise(cpu, EXC_DE, 0, false);
    __int128 q = n / d, r = n % d;
    __int128 lim = (__int128)1 << (size * 8 - 1);
    if (q >= lim || q < -lim)
        soft_raise(cpu, EXC_DE, 0, false);
    if (size == 1) {
        soft_reg_set(cpu, GPR_RAX, 2, ((uint64_t)q & 0xff) | (((uint64_t)r & 0xff) << 8));
    } else {
        soft_reg_set(cpu, GPR_RAX, size, (uint64_t)q);
        soft_reg_set(cpu, GPR_RDX, size, (uint64_t)r);
    }
    return 0;
}
