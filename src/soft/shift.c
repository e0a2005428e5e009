/* Shifts and rotates with exact flags (SDM Vol. 2 SAL/SAR/SHL/SHR, RCL/RCR/ROL/ROR,
 * SHLD, SHRD): a masked count of 0 leaves the flags alone; OF follows the count-1 formula for
 * every count (as hardware does); AF is cleared. */
#include "soft/alu_fast.h"

static void set_result_flags(struct soft_cpu *cpu, unsigned size, uint64_t r, bool cf, bool of)
{
    soft_lazy_result(cpu, size, r & soft_mask(size), cf, of);
}

static void set_cf_of(struct soft_cpu *cpu, bool cf, bool of)
{
    soft_flags_set(cpu, (cf ? RFLAGS_CF : 0) | (of ? RFLAGS_OF : 0), RFLAGS_CF | RFLAGS_OF);
}

int soft_op_shift(struct soft_cpu *cpu, const struct soft_insn *in)
{
    unsigned size = in->op[0].size, bits = size * 8;
    uint64_t m = soft_mask(size);
    unsigned count = (unsigned)soft_op_get(cpu, in, 1) & (size == 8 ? 63 : 31);
    if (in->nops < 2)
        count = 1;
    if (count != 0)
        soft_rmw_prepare(cpu, in, 0);
    uint64_t a = soft_op_get(cpu, in, 0);
    if (count == 0) {
        if (in->op[0].kind == OPK_REG && size == 4)
            soft_reg_set(cpu, in->op[0].reg, 4, a); /* 32-bit destination still zero-extends */
        return 0;
    }
    uint64_t msb = 1ULL << (bits - 1);
    uint64_t r;
    bool cf, of;
    switch (in->aux) {
    case SOFT_SHIFT_SHL:
    case SOFT_SHIFT_SAL:
        r = count < 64 ? (a << count) & m : 0;
        cf = count <= bits ? (a >> (bits - count)) & 1 : 0;
        of = ((r & msb) != 0) != cf;
        soft_op_set(cpu, in, 0, r);
        set_result_flags(cpu, size, r, cf, of);
        return 0;
    case SOFT_SHIFT_SHR:
        r = count < 64 ? a >> count : 0;
        cf = count <= bits ? (a >> (count - 1)) & 1 : 0;
        of = (a & msb) != 0;
        soft_op_set(cpu, in, 0, r);
        set_result_flags(cpu, size, r, cf, of);
        return 0;
    case SOFT_SHIFT_SAR: {
        int64_t sa = (int64_t)soft_sext(a, size);
        unsigned c = count >= bits ? bits - 1 : count;
        r = (uint64_t)(sa >> c) & m;
        cf = count >= bits ? (sa < 0) : (uint64_t)(sa >> (count - 1)) & 1;
        soft_op_set(cpu, in, 0, r);
        set_result_flags(cpu, size, r, cf, false);
        return 0;
    }
    case SOFT_SHIFT_ROL: {
        unsigned c = count % bits;
        r = c ? ((a << c) | (a >> (bits - c))) & m : a;
        cf = r & 1;
        of = ((r & msb) != 0) != cf;
        soft_op_set(cpu, in, 0, r);
        set_cf_of(cpu, cf, of);
        return 0;
    }
    case SOFT_SHIFT_ROR: {
        unsigned c = count % bits;
        r = c ? ((a >> c) | (a << (bits - c))) & m : a;
        cf = (r & msb) != 0;
        of = cf != ((r & (msb >> 1)) != 0);
        soft_op_set(cpu, in, 0, r);
        set_cf_of(cpu, cf, of);
        return 0;
    }
    case SOFT_SHIFT_RCL: {
        unsigned c = count % (bits + 1);
        bool c_in = soft_flags_get(cpu) & RFLAGS_CF;
        if (c == 0)
            return 0;
        /* Rotate the (bits+1)-bit value CF:a left by c. */
        unsigned __int128 v = ((unsigned __int128)c_in << bits) | a;
        unsigned __int128 vm = ((unsigned __int128)1 << (bits + 1)) - 1;
        v = ((v << c) | (v >> (bits + 1 - c))) & vm;
        r = (uint64_t)v & m;
        cf = (v >> bits) & 1;
        of = ((r & msb) != 0) != cf;
        soft_op_set(cpu, in, 0, r);
        set_cf_of(cpu, cf, of);
        return 0;
    }
    default: { /* RCR */
        unsigned c = count % (bits + 1);
        bool c_in = soft_flags_get(cpu) & RFLAGS_CF;
        if (c == 0)
            return 0;
        unsigned __int128 v = ((unsigned __int128)c_in << bits) | a;
        unsigned __int128 vm = ((unsigned __int128)1 << (bits + 1)) - 1;
        v = ((v >> c) | (v << (bits + 1 - c))) & vm;
        r = (uint64_t)v & m;
        cf = (v >> bits) & 1;
        of = ((r & msb) != 0) != ((r & (msb >> 1)) != 0);
        soft_op_set(cpu, in, 0, r);
        set_cf_of(cpu, cf, of);
        return 0;
    }
    }
}

/* SHLD (aux 0) / SHRD (aux 1) dst, src, count. */
int soft_op_shxd(struct soft_cpu *cpu, const struct soft_insn *in)
{
    unsigned size = in->op[0].size, bits = size * 8;
    uint64_t m = soft_mask(size), msb = 1ULL << (bits - 1);
    unsigned count = (unsigned)soft_op_get(cpu, in, 2) & (size == 8 ? 63 : 31);
    if (count != 0)
        soft_rmw_prepare(cpu, in, 0);
    uint64_t a = soft_op_get(cpu, in, 0), b = soft_op_get(cpu, in, 1);
    if (count == 0) {
        if (in->op[0].kind == OPK_REG && size == 4)
            soft_reg_set(cpu, in->op[0].reg, 4, a);
        return 0;
    }
    uint64_t r;
    bool cf;
    if (size == 2) {
        /* XXX: counts above 16 are undefined; we shift the 32-bit dst:src concatenation. */
        uint64_t v = in->aux == 0 ? (a << 16) | b : (b << 16) | a;
        if (in->aux == 0) {
            r = (uint64_t)(((unsigned __int128)v << count) >> 16) & m;
            cf = (((unsigned __int128)v << count) >> 32) & 1;
        } else {
            r = (v >> count) & m;
            cf = (v >> (count - 1)) & 1;
        }
    } else if (in->aux == 0) {
        r = ((a << count) | (b >> (bits - count))) & m;
        cf = (a >> (bits - count)) & 1;
    } else {
        r = ((a >> count) | (b << (bits - count))) & m;
        cf = (a >> (count - 1)) & 1;
    }
    bool of = ((r ^ a) & msb) != 0;
    soft_op_set(cpu, in, 0, r);
    set_result_flags(cpu, size, r, cf, of);
    return 0;
}
