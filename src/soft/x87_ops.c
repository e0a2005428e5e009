/* x87 data transfer, arithmetic, comparison and transcendental instructions (SDM Vol. 1 8.3,
 * Vol. 2 F*): operand selection, stack discipline and exception responses are modelled here;
 * the numerics run on the host (x87_host.c) under the guest's control word. */
#include <math.h>

#include "soft/simd.h"

/* The x87_host.c control argument: guest FCW and FSW. */
static uint32_t fcw_of(struct soft_cpu *cpu)
{
    return simd_get16(cpu, FX_FCW) | (uint32_t)simd_get16(cpu, FX_FSW) << 16;
}

/* Would the flags of host_sw raise an unmasked exception that suppresses a store to memory?
 * Unmasked overflow and underflow do (SDM Vol. 1 8.5.4, 8.5.5); an unmasked precision
 * exception still stores the rounded result (8.5.6). */
static bool unmasked_in(struct soft_cpu *cpu, uint16_t host_sw)
{
    return (host_sw & ~simd_get16(cpu, FX_FCW) & 0x1f) != 0;
}

/* Does host_sw hold an unmasked invalid, denormal or divide-by-zero exception, so that the
 * operation is not performed (8.5.1-8.5.3)? */
static bool suppressed(struct soft_cpu *cpu, uint16_t host_sw)
{
    return (host_sw & ~simd_get16(cpu, FX_FCW) & 0x07) != 0;
}

/* Reads a memory operand of an x87 instruction as an extended value: m32fp/m64fp/m80fp, or
 * m16int/m32int/m64int when integer. Returns false if an unmasked exception stops it. */
static bool read_mem_value_sw(struct soft_cpu *cpu, const struct soft_insn *in, unsigned i,
                              bool integer, long double *v, uint16_t *load_sw)
{
    uint8_t m[16];
    unsigned size = in->op[i].size;
    if (size != 2 && size != 4 && size != 8 && size != 10)
        soft_raise_ud(cpu);
    simd_read(cpu, in, i, m, size, false);
    *load_sw = 0;
    if (integer) {
        uint64_t raw = 0;
        memcpy(&raw, m, size);
        *v = (long double)(int64_t)soft_sext(raw, size);
        return true;
    }
    if (size == 10) {
        memcpy(v, m, 10);
        return true;
    }
    *load_sw =
        size == 4 ? x87_host_load_f32(m, v, fcw_of(cpu)) : x87_host_load_f64(m, v, fcw_of(cpu));
    return !suppressed(cpu, *load_sw);
}

static bool read_mem_value(struct soft_cpu *cpu, const struct soft_insn *in, unsigned i,
                           bool integer, long double *v)
{
    uint16_t sw;
    bool ok = read_mem_value_sw(cpu, in, i, integer, v, &sw);
    x87_merge(cpu, sw, 0);
    return ok;
}

/* Reads the memory operand of an arithmetic/compare instruction for the host memory form:
 * returns the x87_host_arith_mem kind (0 m32fp, 1 m64fp, 2 m16int, 3 m32int). */
static unsigned mem_kind(struct soft_cpu *cpu, const struct soft_insn *in, unsigned i, bool integer,
                         uint8_t *m)
{
    unsigned size = in->op[i].size;
    unsigned kind = integer ? (size == 2 ? 2 : 3) : (size == 4 ? 0 : 1);
    if ((integer && size != 2 && size != 4) || (!integer && size != 4 && size != 8))
        soft_raise_ud(cpu);
    simd_read(cpu, in, i, m, size, false);
    return kind;
}

/* FLD m32fp/m64fp/m80fp, FLD ST(i). */
int x87_op_fld(struct soft_cpu *cpu, const struct soft_insn *in)
{
    long double v;
    bool um;
    x87_enter(cpu, in, true);
    if (in->op[0].kind == OPK_ST) {
        if (!x87_read(cpu, in->op[0].reg, &v, &um)) {
            if (um)
                return 0;
            /* masked underflow: the indefinite is pushed; C1 reports the underflow */
            x87_push(cpu, v);
            x87_set_cc(cpu, 0, FSW_C1);
            return 0;
        }
    } else if (!read_mem_value(cpu, in, 0, false, &v)) {
        return 0;
    }
    x87_push(cpu, v);
    return 0;
}

/* FILD m16int/m32int/m64int (always exact). */
int x87_op_fild(struct soft_cpu *cpu, const struct soft_insn *in)
{
    long double v;
    x87_enter(cpu, in, true);
    read_mem_value(cpu, in, 0, true, &v);
    x87_push(cpu, v);
    return 0;
}

/* FBLD m80bcd: 18 packed BCD digits (byte 0 least significant) and a sign bit. Invalid digits
 * give an undefined result; ember just weights them. */
int x87_op_fbld(struct soft_cpu *cpu, const struct soft_insn *in)
{
    uint8_t m[16];
    x87_enter(cpu, in, true);
    simd_read(cpu, in, 0, m, 10, false);
    uint64_t u = 0;
    for (int i = 8; i >= 0; i--)
        u = u * 100 + (m[i] >> 4) * 10 + (m[i] & 15);
    long double v = (long double)u;
    if (m[9] & 0x80)
        v = -v;
    x87_push(cpu, v);
    return 0;
}

/* FLD1, FLDL2T, FLDL2E, FLDPI, FLDLG2, FLDLN2, FLDZ (aux 0..6): rounded per FCW.RC. */
int x87_op_fldconst(struct soft_cpu *cpu, const struct soft_insn *in)
{
    long double v;
    x87_enter(cpu, in, true);
    x87_host_const(in->aux, &v, fcw_of(cpu));
    x87_push(cpu, v);
    return 0;
}

/* FST/FSTP (aux bit 0: pop) to m32fp/m64fp/m80fp or ST(i). */
int x87_op_fst(struct soft_cpu *cpu, const struct soft_insn *in)
{
    long double v;
    bool um;
    x87_enter(cpu, in, true);
    if (!x87_read(cpu, 0, &v, &um) && um)
        return 0;
    const struct soft_operand *o = &in->op[0];
    if (o->kind == OPK_ST) {
        x87_set(cpu, o->reg, v);
        x87_set_cc(cpu, 0, FSW_C1);
    } else if (o->size == 10) {
        uint8_t m[10];
        memcpy(m, &v, 10);
        simd_write(cpu, in, 0, m, 10, false);
        x87_set_cc(cpu, 0, FSW_C1);
    } else {
        uint8_t m[8];
        uint16_t sw = x87_host_store_f(v, o->size == 4 ? 4 : 8, m, fcw_of(cpu));
        bool store = !unmasked_in(cpu, sw);
        if (store)
            simd_write(cpu, in, 0, m, o->size == 4 ? 4 : 8, false);
        x87_merge(cpu, sw, FSW_CC);
        if (!store) /* nothing stored, no pop */
            return 0;
    }
    if (in->aux & 1)
        x87_pop(cpu);
    return 0;
}

/* FIST/FISTP (aux bit 0: pop), FISTTP (aux bit 1: truncate) to m16/m32/m64 integers. */
int x87_op_fist(struct soft_cpu *cpu, const struct soft_insn *in)
{
    long double v;
    bool um;
    uint8_t m[8];
    x87_enter(cpu, in, true);
    unsigned size = in->op[0].size;
    if (size != 2 && size != 4 && size != 8)
        soft_raise_ud(cpu);
    if (!x87_read(cpu, 0, &v, &um) && um)
        return 0;
    uint16_t sw = x87_host_store_i(v, size, in->aux & 2, m, fcw_of(cpu));
    bool store = !unmasked_in(cpu, sw);
    if (store)
        simd_write(cpu, in, 0, m, size, false);
    x87_merge(cpu, sw, FSW_CC);
    if (!store)
        return 0;
    if (in->aux & 1)
        x87_pop(cpu);
    return 0;
}

/* FBSTP m80bcd: ST(0) rounded per RC to 18 decimal digits and popped; out of range or NaN is
 * invalid (packed BCD indefinite stored when masked). */
int x87_op_fbstp(struct soft_cpu *cpu, const struct soft_insn *in)
{
    long double v;
    bool um;
    uint8_t m[10] = {0};
    x87_enter(cpu, in, true);
    if (!x87_read(cpu, 0, &v, &um) && um)
        return 0;
    uint16_t sw = x87_host_unary(X87_U_RNDINT, &v, fcw_of(cpu));
    bool neg = signbit(v);
    long double a = neg ? -v : v;
    if (v != v || a >= 1e18L) {
        if (!x87_invalid(cpu, false, false))
            return 0;
        m[7] = 0xc0;
        m[8] = m[9] = 0xff;
    } else {
        if (unmasked_in(cpu, sw)) {
            x87_merge(cpu, sw, 0);
            return 0;
        }
        uint64_t u = (uint64_t)a;
        for (unsigned i = 0; i < 9; i++, u /= 100)
            m[i] = (uint8_t)(((u % 100) / 10) << 4 | (u % 10));
        m[9] = neg ? 0x80 : 0;
    }
    simd_write(cpu, in, 0, m, 10, false);
    x87_merge(cpu, sw & (FSW_PE | FSW_C1), FSW_C1);
    x87_pop(cpu);
    return 0;
}

/* FADD/FMUL/FSUB/FSUBR/FDIV/FDIVR and their P and FI forms. aux: bits 0..2 the operation
 * (0 add, 1 mul, 2 sub, 3 subr, 4 div, 5 divr), 0x10 pop, 0x20 integer memory operand. */
int x87_op_arith(struct soft_cpu *cpu, const struct soft_insn *in)
{
    static const enum x87_binary ops[6] = {X87_B_ADD, X87_B_MUL, X87_B_SUB,
                                           X87_B_SUB, X87_B_DIV, X87_B_DIV};
    unsigned op = in->aux & 7;
    if (op > 5)
        soft_raise_ud(cpu);
    bool rev = op == 3 || op == 5;
    long double dv, sv;
    bool um;
    unsigned d;
    x87_enter(cpu, in, true);
    if (in->op[0].kind == OPK_MEM) {
        uint8_t m[16];
        unsigned kind = mem_kind(cpu, in, 0, in->aux & 0x20, m);
        if (!x87_read(cpu, 0, &dv, &um)) {
            if (!um)
                x87_set(cpu, 0, dv);
            return 0;
        }
        uint16_t sw = x87_host_arith_mem(op, kind, &dv, m, fcw_of(cpu));
        if (x87_merge(cpu, sw, FSW_CC))
            x87_set(cpu, 0, dv);
        return 0;
    }
    d = in->op[0].kind == OPK_ST ? in->op[0].reg : 1;
    unsigned s = in->nops >= 2 && in->op[1].kind == OPK_ST ? in->op[1].reg : 0;
    if (!x87_read(cpu, s, &sv, &um) || !x87_read(cpu, d, &dv, &um)) {
        if (um)
            return 0;
        x87_set(cpu, d, x87_indefinite());
    } else {
        long double a = rev ? sv : dv, b = rev ? dv : sv;
        uint16_t sw = x87_host_binary(ops[op], &a, b, fcw_of(cpu));
        if (!x87_merge(cpu, sw, FSW_CC))
            return 0;
        x87_set(cpu, d, a);
    }
    if (in->aux & 0x10)
        x87_pop(cpu);
    return 0;
}

/* FCOM/FCOMP/FCOMPP/FUCOM/FUCOMP/FUCOMPP/FICOM/FICOMP/FTST. aux: bits 0..1 pops, 4
 * unordered, 8 integer memory operand, 0x10 FTST (compare with +0.0). */
int x87_op_compare(struct soft_cpu *cpu, const struct soft_insn *in)
{
    long double a, b = 0.0L;
    bool um;
    uint16_t sw = 0;
    x87_enter(cpu, in, true);
    bool ok = x87_read(cpu, 0, &a, &um);
    if (in->nops >= 1 && in->op[0].kind == OPK_MEM) {
        uint8_t m[16];
        unsigned kind = mem_kind(cpu, in, 0, in->aux & 8, m);
        if (ok)
            sw = x87_host_compare_mem(kind, a, m, fcw_of(cpu));
    } else {
        if (!(in->aux & 0x10)) {
            unsigned s =
                in->nops >= 1 && in->op[in->nops - 1].kind == OPK_ST ? in->op[in->nops - 1].reg : 1;
            if (ok)
                ok = x87_read(cpu, s, &b, &um);
        }
        if (ok)
            sw = x87_host_compare(in->aux & 4, false, a, b, NULL, fcw_of(cpu));
    }
    if (!ok) {
        /* stack underflow: "unordered", also when the exception is unmasked */
        x87_set_cc(cpu, FSW_C0 | FSW_C2 | FSW_C3, FSW_C1);
        if (um)
            return 0;
    } else if (!x87_merge(cpu, sw, FSW_CC)) {
        return 0;
    }
    for (unsigned i = 0; i < (in->aux & 3u); i++)
        x87_pop(cpu);
    return 0;
}

/* FCOMI/FCOMIP/FUCOMI/FUCOMIP ST(0), ST(i): ZF/PF/CF; OF/SF/AF cleared. aux: 1 pop, 4
 * unordered. */
int x87_op_comi(struct soft_cpu *cpu, const struct soft_insn *in)
{
    long double a, b;
    bool um;
    uint64_t f = RFLAGS_ZF | RFLAGS_PF | RFLAGS_CF;
    x87_enter(cpu, in, true);
    unsigned s = in->nops >= 2 && in->op[1].kind == OPK_ST ? in->op[1].reg : 1;
    bool ok = x87_read(cpu, 0, &a, &um) && x87_read(cpu, s, &b, &um);
    if (!ok) {
        /* stack underflow: "unordered" in EFLAGS even when the exception is unmasked */
        soft_flags_set(cpu, f, RFLAGS_ARITH);
        if (um)
            return 0;
    } else {
        uint16_t sw = x87_host_compare(in->aux & 4, true, a, b, &f, fcw_of(cpu));
        if (!x87_merge(cpu, sw, FSW_CC)) {
            /* an unmasked invalid operation still reports "unordered" in EFLAGS */
            soft_flags_set(cpu, f, RFLAGS_ARITH);
            return 0;
        }
    }
    soft_flags_set(cpu, f, RFLAGS_ARITH);
    if (in->aux & 1)
        x87_pop(cpu);
    return 0;
}

/* FSQRT, FRNDINT, FSIN, FCOS, F2XM1, FXAM on ST(0) (aux = enum x87_unary). */
int x87_op_unary(struct soft_cpu *cpu, const struct soft_insn *in)
{
    long double v;
    bool um;
    x87_enter(cpu, in, true);
    if (in->aux == X87_U_XAM) {
        if (!x87_valid(cpu, 0)) { /* empty: C3 = 1, C2 = 0, C0 = 1, C1 = sign */
            uint8_t sign = simd_fx(cpu)[FX_ST + 9] >> 7;
            x87_set_cc(cpu, FSW_C3 | FSW_C0 | (sign ? FSW_C1 : 0), FSW_CC);
            return 0;
        }
        v = x87_get(cpu, 0);
        x87_merge(cpu, x87_host_unary(X87_U_XAM, &v, fcw_of(cpu)) & ~0x3fu, FSW_CC);
        return 0;
    }
    if (!x87_read(cpu, 0, &v, &um)) {
        if (!um)
            x87_set(cpu, 0, v);
        return 0;
    }
    uint16_t cc = FSW_CC;
    uint16_t sw = x87_host_unary((enum x87_unary)in->aux, &v, fcw_of(cpu));
    if (!x87_merge(cpu, sw, cc))
        return 0;
    x87_set(cpu, 0, v);
    return 0;
}

/* FABS (aux 0) / FCHS (aux 1): sign bit only, C1 = 0. */
int x87_op_fabs(struct soft_cpu *cpu, const struct soft_insn *in)
{
    long double v;
    bool um;
    x87_enter(cpu, in, true);
    if (!x87_read(cpu, 0, &v, &um)) {
        if (!um)
            x87_set(cpu, 0, v);
        return 0;
    }
    uint8_t *se = simd_fx(cpu) + FX_ST + 9;
    *se = in->aux ? (uint8_t)(*se ^ 0x80) : (uint8_t)(*se & 0x7f);
    x87_set_cc(cpu, 0, FSW_C1);
    return 0;
}

/* FPREM, FPREM1, FSCALE: ST(0) = op(ST(0), ST(1)) (aux = enum x87_binary). */
int x87_op_binary_st1(struct soft_cpu *cpu, const struct soft_insn *in)
{
    long double a, b;
    bool um;
    x87_enter(cpu, in, true);
    if (!x87_read(cpu, 0, &a, &um) || !x87_read(cpu, 1, &b, &um)) {
        if (!um)
            x87_set(cpu, 0, x87_indefinite());
        return 0;
    }
    uint16_t cc = FSW_CC;
    uint16_t sw = x87_host_binary((enum x87_binary)in->aux, &a, b, fcw_of(cpu));
    if (!x87_merge(cpu, sw, cc))
        return 0;
    x87_set(cpu, 0, a);
    return 0;
}

/* FPATAN, FYL2X, FYL2XP1: ST(1) = op(ST(0), ST(1)), then pop (aux = enum x87_pop2). */
int x87_op_pop2(struct soft_cpu *cpu, const struct soft_insn *in)
{
    long double x, y, r;
    bool um;
    x87_enter(cpu, in, true);
    if (!x87_read(cpu, 0, &x, &um) || !x87_read(cpu, 1, &y, &um)) {
        if (um)
            return 0;
        r = x87_indefinite();
    } else {
        uint16_t sw = x87_host_pop2((enum x87_pop2)in->aux, x, y, &r, fcw_of(cpu));
        if (!x87_merge(cpu, sw, FSW_CC))
            return 0;
    }
    x87_set(cpu, 1, r);
    x87_pop(cpu);
    return 0;
}

/* FSINCOS, FPTAN, FXTRACT: ST(0) is replaced by one result and the other is pushed (aux =
 * enum x87_push2). With C2 set (|x| >= 2^63 for FSINCOS/FPTAN) nothing changes. */
int x87_op_push2(struct soft_cpu *cpu, const struct soft_insn *in)
{
    long double x, top, below;
    bool um;
    x87_enter(cpu, in, true);
    if (!x87_read(cpu, 0, &x, &um)) {
        if (um)
            return 0;
        x87_set(cpu, 0, x);
        x87_push(cpu, x);
        return 0;
    }
    if (x87_valid(cpu, 7)) { /* the push would overflow */
        if (!x87_invalid(cpu, true, true))
            return 0;
        x87_set(cpu, 0, x87_indefinite());
        x87_push(cpu, x87_indefinite());
        return 0;
    }
    uint16_t sw = x87_host_push2((enum x87_push2)in->aux, x, &top, &below, fcw_of(cpu));
    if (suppressed(cpu, sw) || (in->aux != X87_Q_XTRACT && (sw & FSW_C2))) {
        x87_merge(cpu, sw, FSW_CC);
        return 0;
    }
    x87_set(cpu, 0, below);
    x87_push(cpu, top);
    x87_merge(cpu, sw, FSW_CC);
    return 0;
}

/* FXCH ST(i): empty registers take the QNaN indefinite when IE is masked. */
int x87_op_fxch(struct soft_cpu *cpu, const struct soft_insn *in)
{
    long double a, b;
    bool um0, um1;
    x87_enter(cpu, in, true);
    unsigned i = in->nops >= 1 && in->op[0].kind == OPK_ST ? in->op[0].reg : 1;
    if (i == 0 && in->nops >= 2 && in->op[1].kind == OPK_ST)
        i = in->op[1].reg;
    bool ok0 = x87_read(cpu, 0, &a, &um0);
    bool ok1 = x87_read(cpu, i, &b, &um1);
    if (um0 || um1)
        return 0;
    x87_set(cpu, 0, b);
    x87_set(cpu, i, a);
    if (ok0 && ok1)
        x87_set_cc(cpu, 0, FSW_C1);
    return 0;
}

/* FCMOVcc ST(0), ST(i): aux = the x86 condition code (B 2, NB 3, E 4, NE 5, BE 6, NBE 7,
 * U 10, NU 11). */
int x87_op_fcmov(struct soft_cpu *cpu, const struct soft_insn *in)
{
    long double v;
    bool um;
    x87_enter(cpu, in, true);
    unsigned i = in->nops >= 2 && in->op[1].kind == OPK_ST ? in->op[1].reg : 1;
    if (!x87_valid(cpu, 0) || !x87_valid(cpu, i)) {
        if (!x87_invalid(cpu, true, false))
            return 0;
        x87_set(cpu, 0, x87_indefinite());
        return 0;
    }
    if (soft_cond(cpu, in->aux)) {
        x87_read(cpu, i, &v, &um);
        x87_set(cpu, 0, v);
    }
    return 0;
}

/* FFREE ST(i) (aux 0) / FFREEP ST(i) (aux 1: then pop). */
int x87_op_ffree(struct soft_cpu *cpu, const struct soft_insn *in)
{
    x87_enter(cpu, in, true);
    x87_free(cpu, in->nops >= 1 && in->op[0].kind == OPK_ST ? in->op[0].reg : 0);
    if (in->aux)
        x87_pop(cpu);
    return 0;
}

/* FINCSTP (aux 0) / FDECSTP (aux 1). */
int x87_op_fincstp(struct soft_cpu *cpu, const struct soft_insn *in)
{
    x87_enter(cpu, in, true);
    x87_incstp(cpu, in->aux == 0);
    return 0;
}

int x87_op_fnop(struct soft_cpu *cpu, const struct soft_insn *in)
{
    x87_enter(cpu, in, true);
    return 0;
}
