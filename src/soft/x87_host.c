/* Host-executed x87 kernels: each guest x87 operation runs as the same host x87 instruction
 * on host long double (the 80-bit extended format of the guest registers) with the guest FCW's
 * precision and rounding control loaded, and returns the status word the guest instruction gives
 * so the caller can merge the exception flags and condition codes (SDM Vol. 1 chapter 8; Vol. 2
 * per instruction). Instructions whose stack shape does not depend on the exception response
 * (arithmetic, unary, stores without pop) run with the guest's exception masks, so the host
 * performs the unmasked responses itself: nothing done on an unmasked invalid, denormal or
 * divide-by-zero exception (8.5.1-8.5.3), the bias-adjusted result of an unmasked overflow or
 * underflow into a register, and no store to memory (8.5.4, 8.5.5). The others (loads, pops,
 * pushes) run with IM/DM/ZM masked, or GCC's view of the host stack would be wrong, and their
 * status word is then reduced to what an unmasked one of these gives. The pending host exception
 * is cleared (FNCLEX) and the host FCW restored in the same asm statement. */
#include "soft/simd.h"

/* Loads the guest FCW and the guest condition codes, so that codes an instruction leaves
 * unchanged (or leaves "undefined" but in practice untouched) come out as the guest had them;
 * the environment round trip keeps the tags of the operands GCC loaded. No waiting x87
 * instruction runs between the operation and FNCLEX, so no host #MF is raised. */
#define BEGIN                                                                                      \
    "fnstcw %[hcw]\n\tfnclex\n\tfldcw %[gcw]\n\tfnstenv (%[env])\n\t"                              \
    "andw $0xb8ff, 4(%[env])\n\torw %w[cc], 4(%[env])\n\tfldenv (%[env])\n\t"
#define END "\n\tfnstsw %[sw]\n\tfnclex\n\tfldcw %[hcw]"

/* ctl: guest FCW in bits 0..15, guest FSW in bits 16..31. */
static uint16_t guest_cw(uint32_t ctl)
{
    return (uint16_t)(ctl & 0xffff);
}

/* For the instructions that pop or push: IM, DM and ZM masked (OM/UM as the guest's: an
 * overflow or underflow into a register still completes the stack operation). */
static uint16_t shape_cw(uint32_t ctl)
{
    return (uint16_t)(ctl | 0x07);
}

/* Comparisons and constants: every exception masked. */
static uint16_t masked(uint32_t ctl)
{
    return (uint16_t)((ctl & 0xffff) | 0x3f);
}

static uint16_t guest_cc(uint32_t ctl)
{
    return (uint16_t)((ctl >> 16) & FSW_CC);
}

/* The status word of a shape_cw operation as the guest sees it: with an unmasked invalid,
 * denormal or divide-by-zero exception the operation is not performed, so only those
 * pre-computation flags are reported, C1 is 0 (nothing was rounded up; the host gives that for
 * the instructions run with the guest's masks) and C0/C2/C3 stay as they were. */
static uint16_t shape_sw(uint16_t sw, uint32_t ctl)
{
    if (!(sw & ~ctl & 0x07))
        return sw;
    return (uint16_t)((sw & ~(0x3f | FSW_CC)) | (sw & 0x07) | (guest_cc(ctl) & ~FSW_C1));
}

uint16_t x87_host_unary(enum x87_unary op, long double *x, uint32_t ctl)
{
    uint16_t sw = 0, hcw, gcw = guest_cw(ctl), cc = guest_cc(ctl);
    uint8_t env[28];
    long double v = *x;
    switch (op) {
    case X87_U_SQRT:
        __asm__ volatile(BEGIN "fsqrt" END
                         : "+t"(v), [sw] "=m"(sw), [hcw] "+m"(hcw)
                         : [gcw] "m"(gcw), [env] "r"(env), [cc] "r"(cc)
                         : "memory");
        break;
    case X87_U_RNDINT:
        __asm__ volatile(BEGIN "frndint" END
                         : "+t"(v), [sw] "=m"(sw), [hcw] "+m"(hcw)
                         : [gcw] "m"(gcw), [env] "r"(env), [cc] "r"(cc)
                         : "memory");
        break;
    case X87_U_SIN:
        __asm__ volatile(BEGIN "fsin" END
                         : "+t"(v), [sw] "=m"(sw), [hcw] "+m"(hcw)
                         : [gcw] "m"(gcw), [env] "r"(env), [cc] "r"(cc)
                         : "memory");
        break;
    case X87_U_COS:
        __asm__ volatile(BEGIN "fcos" END
                         : "+t"(v), [sw] "=m"(sw), [hcw] "+m"(hcw)
                         : [gcw] "m"(gcw), [env] "r"(env), [cc] "r"(cc)
                         : "memory");
        break;
    case X87_U_F2XM1:
        __asm__ volatile(BEGIN "f2xm1" END
                         : "+t"(v), [sw] "=m"(sw), [hcw] "+m"(hcw)
                         : [gcw] "m"(gcw), [env] "r"(env), [cc] "r"(cc)
                         : "memory");
        break;
    case X87_U_TST:
        __asm__ volatile(BEGIN "ftst" END
                         : "+t"(v), [sw] "=m"(sw), [hcw] "+m"(hcw)
                         : [gcw] "m"(gcw), [env] "r"(env), [cc] "r"(cc)
                         : "memory");
        break;
    case X87_U_XAM:
        __asm__ volatile(BEGIN "fxam" END
                         : "+t"(v), [sw] "=m"(sw), [hcw] "+m"(hcw)
                         : [gcw] "m"(gcw), [env] "r"(env), [cc] "r"(cc)
                         : "memory");
        break;
    }
    *x = v;
    return sw;
}

uint16_t x87_host_binary(enum x87_binary op, long double *a, long double b, uint32_t ctl)
{
    uint16_t sw = 0, hcw, gcw = guest_cw(ctl), cc = guest_cc(ctl);
    uint8_t env[28];
    long double v = *a;
    switch (op) {
    case X87_B_ADD:
        __asm__ volatile(BEGIN "fadd %%st(1), %%st" END
                         : "+t"(v), [sw] "=m"(sw), [hcw] "+m"(hcw)
                         : "u"(b), [gcw] "m"(gcw), [env] "r"(env), [cc] "r"(cc)
                         : "memory");
        break;
    case X87_B_SUB:
        __asm__ volatile(BEGIN "fsub %%st(1), %%st" END
                         : "+t"(v), [sw] "=m"(sw), [hcw] "+m"(hcw)
                         : "u"(b), [gcw] "m"(gcw), [env] "r"(env), [cc] "r"(cc)
                         : "memory");
        break;
    case X87_B_MUL:
        __asm__ volatile(BEGIN "fmul %%st(1), %%st" END
                         : "+t"(v), [sw] "=m"(sw), [hcw] "+m"(hcw)
                         : "u"(b), [gcw] "m"(gcw), [env] "r"(env), [cc] "r"(cc)
                         : "memory");
        break;
    case X87_B_DIV:
        __asm__ volatile(BEGIN "fdiv %%st(1), %%st" END
                         : "+t"(v), [sw] "=m"(sw), [hcw] "+m"(hcw)
                         : "u"(b), [gcw] "m"(gcw), [env] "r"(env), [cc] "r"(cc)
                         : "memory");
        break;
    case X87_B_PREM:
        __asm__ volatile(BEGIN "fprem" END
                         : "+t"(v), [sw] "=m"(sw), [hcw] "+m"(hcw)
                         : "u"(b), [gcw] "m"(gcw), [env] "r"(env), [cc] "r"(cc)
                         : "memory");
        break;
    case X87_B_PREM1:
        __asm__ volatile(BEGIN "fprem1" END
                         : "+t"(v), [sw] "=m"(sw), [hcw] "+m"(hcw)
                         : "u"(b), [gcw] "m"(gcw), [env] "r"(env), [cc] "r"(cc)
                         : "memory");
        break;
    case X87_B_SCALE:
        __asm__ volatile(BEGIN "fscale" END
                         : "+t"(v), [sw] "=m"(sw), [hcw] "+m"(hcw)
                         : "u"(b), [gcw] "m"(gcw), [env] "r"(env), [cc] "r"(cc)
                         : "memory");
        break;
    }
    *a = v;
    return sw;
}

/* FPATAN, FYL2X, FYL2XP1: x = ST(0), y = ST(1); the result replaces ST(1) and ST(0) pops. */
uint16_t x87_host_pop2(enum x87_pop2 op, long double x, long double y, long double *r, uint32_t ctl)
{
    uint16_t sw = 0, hcw, gcw = shape_cw(ctl), cc = guest_cc(ctl);
    uint8_t env[28];
    long double v = 0;
    switch (op) {
    case X87_P_PATAN:
        __asm__ volatile(BEGIN "fpatan" END
                         : "=t"(v), [sw] "=m"(sw), [hcw] "+m"(hcw)
                         : "0"(x), "u"(y), [gcw] "m"(gcw), [env] "r"(env), [cc] "r"(cc)
                         : "st(1)", "memory");
        break;
    case X87_P_YL2X:
        __asm__ volatile(BEGIN "fyl2x" END
                         : "=t"(v), [sw] "=m"(sw), [hcw] "+m"(hcw)
                         : "0"(x), "u"(y), [gcw] "m"(gcw), [env] "r"(env), [cc] "r"(cc)
                         : "st(1)", "memory");
        break;
    case X87_P_YL2XP1:
        __asm__ volatile(BEGIN "fyl2xp1" END
                         : "=t"(v), [sw] "=m"(sw), [hcw] "+m"(hcw)
                         : "0"(x), "u"(y), [gcw] "m"(gcw), [env] "r"(env), [cc] "r"(cc)
                         : "st(1)", "memory");
        break;
    }
    *r = v;
    return shape_sw(sw, ctl);
}

/* FSINCOS (st0 = cos, st1 = sin), FPTAN (st0 = 1.0, st1 = tan), FXTRACT (st0 = significand,
 * st1 = exponent): *top gets the new ST(0), *below the new ST(1). When C2 is set (operand out of
 * range for FSINCOS/FPTAN) the host left the stack alone and the outputs are meaningless. */
uint16_t x87_host_push2(enum x87_push2 op, long double x, long double *top, long double *below,
                        uint32_t ctl)
{
    uint16_t sw = 0, hcw, gcw = shape_cw(ctl), cc = guest_cc(ctl);
    uint8_t env[28];
    long double t = 0, b = 0;
    switch (op) {
    case X87_Q_SINCOS:
        __asm__ volatile(BEGIN "fsincos\n\tfnstsw %[sw]\n\tfnclex\n\ttestw $0x400, %[sw]\n\tjz "
                               "1f\n\tfldz\n1:\n\tfldcw %[hcw]"
                         : "=t"(t), "=u"(b), [sw] "=m"(sw), [hcw] "+m"(hcw)
                         : "0"(x), [gcw] "m"(gcw), [env] "r"(env), [cc] "r"(cc)
                         : "memory");
        break;
    case X87_Q_PTAN:
        __asm__ volatile(BEGIN "fptan\n\tfnstsw %[sw]\n\tfnclex\n\ttestw $0x400, %[sw]\n\tjz "
                               "1f\n\tfldz\n1:\n\tfldcw %[hcw]"
                         : "=t"(t), "=u"(b), [sw] "=m"(sw), [hcw] "+m"(hcw)
                         : "0"(x), [gcw] "m"(gcw), [env] "r"(env), [cc] "r"(cc)
                         : "memory");
        break;
    case X87_Q_XTRACT:
        __asm__ volatile(BEGIN "fxtract\n\tfnstsw %[sw]\n\tfnclex\n\tfldcw %[hcw]"
                         : "=t"(t), "=u"(b), [sw] "=m"(sw), [hcw] "+m"(hcw)
                         : "0"(x), [gcw] "m"(gcw), [env] "r"(env), [cc] "r"(cc)
                         : "memory");
        break;
    }
    *top = t;
    *below = b;
    return shape_sw(sw, ctl);
}

/* FCOM/FUCOM (status word C0/C2/C3) and FCOMI/FUCOMI (ZF/PF/CF in *eflags) of a vs b. */
uint16_t x87_host_compare(bool unordered_ok, bool eflags_form, long double a, long double b,
                          uint64_t *eflags, uint32_t ctl)
{
    uint16_t sw = 0, hcw, gcw = masked(ctl), cc = guest_cc(ctl);
    uint8_t env[28];
    bool z = false, p = false, c = false;
    if (eflags_form && unordered_ok)
        __asm__ volatile(BEGIN "fucomi %%st(1), %%st" END
                         : "=@ccz"(z), "=@ccp"(p), "=@ccc"(c), [sw] "=m"(sw), [hcw] "+m"(hcw)
                         : "t"(a), "u"(b), [gcw] "m"(gcw), [env] "r"(env), [cc] "r"(cc)
                         : "memory");
    else if (eflags_form)
        __asm__ volatile(BEGIN "fcomi %%st(1), %%st" END
                         : "=@ccz"(z), "=@ccp"(p), "=@ccc"(c), [sw] "=m"(sw), [hcw] "+m"(hcw)
                         : "t"(a), "u"(b), [gcw] "m"(gcw), [env] "r"(env), [cc] "r"(cc)
                         : "memory");
    else if (unordered_ok)
        __asm__ volatile(BEGIN "fucom %%st(1)" END
                         : [sw] "=m"(sw), [hcw] "+m"(hcw)
                         : "t"(a), "u"(b), [gcw] "m"(gcw), [env] "r"(env), [cc] "r"(cc)
                         : "memory");
    else
        __asm__ volatile(BEGIN "fcom %%st(1)" END
                         : [sw] "=m"(sw), [hcw] "+m"(hcw)
                         : "t"(a), "u"(b), [gcw] "m"(gcw), [env] "r"(env), [cc] "r"(cc)
                         : "memory");
    if (eflags)
        *eflags = (z ? RFLAGS_ZF : 0) | (p ? RFLAGS_PF : 0) | (c ? RFLAGS_CF : 0);
    return sw;
}

/* Loads of m32fp/m64fp (SNaN -> IE, denormal -> DE) and the constants. */
uint16_t x87_host_load_f32(const uint8_t *m, long double *r, uint32_t ctl)
{
    uint16_t sw = 0, hcw, gcw = shape_cw(ctl), cc = guest_cc(ctl);
    uint8_t env[28];
    long double v;
    __asm__ volatile(
        BEGIN "flds %[m]" END
        : "=t"(v), [sw] "=m"(sw), [hcw] "+m"(hcw)
        : [m] "m"(*(const uint8_t(*)[4])m), [gcw] "m"(gcw), [env] "r"(env), [cc] "r"(cc)
        : "memory");
    *r = v;
    return shape_sw(sw, ctl);
}

uint16_t x87_host_load_f64(const uint8_t *m, long double *r, uint32_t ctl)
{
    uint16_t sw = 0, hcw, gcw = shape_cw(ctl), cc = guest_cc(ctl);
    uint8_t env[28];
    long double v;
    __asm__ volatile(
        BEGIN "fldl %[m]" END
        : "=t"(v), [sw] "=m"(sw), [hcw] "+m"(hcw)
        : [m] "m"(*(const uint8_t(*)[8])m), [gcw] "m"(gcw), [env] "r"(env), [cc] "r"(cc)
        : "memory");
    *r = v;
    return shape_sw(sw, ctl);
}

uint16_t x87_host_const(unsigned which, long double *r, uint32_t ctl)
{
    uint16_t sw = 0, hcw, gcw = masked(ctl), cc = guest_cc(ctl);
    uint8_t env[28];
    long double v = 0;
    switch (which) {
    case 0:
        __asm__ volatile(BEGIN "fld1" END
                         : "=t"(v), [sw] "=m"(sw), [hcw] "+m"(hcw)
                         : [gcw] "m"(gcw), [env] "r"(env), [cc] "r"(cc)
                         : "memory");
        break;
    case 1:
        __asm__ volatile(BEGIN "fldl2t" END
                         : "=t"(v), [sw] "=m"(sw), [hcw] "+m"(hcw)
                         : [gcw] "m"(gcw), [env] "r"(env), [cc] "r"(cc)
                         : "memory");
        break;
    case 2:
        __asm__ volatile(BEGIN "fldl2e" END
                         : "=t"(v), [sw] "=m"(sw), [hcw] "+m"(hcw)
                         : [gcw] "m"(gcw), [env] "r"(env), [cc] "r"(cc)
                         : "memory");
        break;
    case 3:
        __asm__ volatile(BEGIN "fldpi" END
                         : "=t"(v), [sw] "=m"(sw), [hcw] "+m"(hcw)
                         : [gcw] "m"(gcw), [env] "r"(env), [cc] "r"(cc)
                         : "memory");
        break;
    case 4:
        __asm__ volatile(BEGIN "fldlg2" END
                         : "=t"(v), [sw] "=m"(sw), [hcw] "+m"(hcw)
                         : [gcw] "m"(gcw), [env] "r"(env), [cc] "r"(cc)
                         : "memory");
        break;
    case 5:
        __asm__ volatile(BEGIN "fldln2" END
                         : "=t"(v), [sw] "=m"(sw), [hcw] "+m"(hcw)
                         : [gcw] "m"(gcw), [env] "r"(env), [cc] "r"(cc)
                         : "memory");
        break;
    case 6:
        __asm__ volatile(BEGIN "fldz" END
                         : "=t"(v), [sw] "=m"(sw), [hcw] "+m"(hcw)
                         : [gcw] "m"(gcw), [env] "r"(env), [cc] "r"(cc)
                         : "memory");
        break;
    default:
        v = 0;
        break;
    }
    *r = v;
    return sw;
}

/* Stores: size 4/8 = m32fp/m64fp; integer stores size 2/4/8 (rounded by RC; out of range or
 * NaN -> integer indefinite with IE). */
uint16_t x87_host_store_f(long double x, unsigned size, uint8_t *m, uint32_t ctl)
{
    uint16_t sw = 0, hcw, gcw = guest_cw(ctl), cc = guest_cc(ctl);
    uint8_t env[28];
    if (size == 4)
        __asm__ volatile(BEGIN "fsts %[m]" END
                         : [m] "=m"(*(uint8_t(*)[4])m), [sw] "=m"(sw), [hcw] "+m"(hcw)
                         : "t"(x), [gcw] "m"(gcw), [env] "r"(env), [cc] "r"(cc)
                         : "memory");
    else
        __asm__ volatile(BEGIN "fstl %[m]" END
                         : [m] "=m"(*(uint8_t(*)[8])m), [sw] "=m"(sw), [hcw] "+m"(hcw)
                         : "t"(x), [gcw] "m"(gcw), [env] "r"(env), [cc] "r"(cc)
                         : "memory");
    return sw;
}

uint16_t x87_host_store_i(long double x, unsigned size, bool truncate, uint8_t *m, uint32_t ctl)
{
    uint16_t sw = 0, hcw, gcw = size == 8 ? shape_cw(ctl) : guest_cw(ctl), cc = guest_cc(ctl);
    uint8_t env[28];
    if (truncate)
        gcw = (uint16_t)(gcw | 0xc00); /* FISTTP semantics through RC = toward zero */
    if (size == 2)
        __asm__ volatile(BEGIN "fists %[m]" END
                         : [m] "=m"(*(uint8_t(*)[2])m), [sw] "=m"(sw), [hcw] "+m"(hcw)
                         : "t"(x), [gcw] "m"(gcw), [env] "r"(env), [cc] "r"(cc)
                         : "memory");
    else if (size == 4)
        __asm__ volatile(BEGIN "fistl %[m]" END
                         : [m] "=m"(*(uint8_t(*)[4])m), [sw] "=m"(sw), [hcw] "+m"(hcw)
                         : "t"(x), [gcw] "m"(gcw), [env] "r"(env), [cc] "r"(cc)
                         : "memory");
    else
        __asm__ volatile(BEGIN "fld %%st(0)\n\tfistpll %[m]" END
                         : [m] "=m"(*(uint8_t(*)[8])m), [sw] "=m"(sw), [hcw] "+m"(hcw)
                         : "t"(x), [gcw] "m"(gcw), [env] "r"(env), [cc] "r"(cc)
                         : "memory");
    return size == 8 ? shape_sw(sw, ctl) : sw; /* FISTP m64 pops (FIST m16/m32 do not) */
}

/* FADD..FDIVR and FCOM with a memory operand, run as the memory form on the host (the
 * conversion and the operation then report their flags exactly as one instruction does).
 * op: 0 add, 1 mul, 2 sub, 3 subr, 4 div, 5 divr; kind: 0 m32fp, 1 m64fp, 2 m16int, 3 m32int. */
uint16_t x87_host_arith_mem(unsigned op, unsigned kind, long double *st0, const uint8_t *m,
                            uint32_t ctl)
{
    uint16_t sw = 0, hcw, gcw = guest_cw(ctl), cc = guest_cc(ctl);
    uint8_t env[28];
    long double v = *st0;
    switch (op * 4 + kind) {
    case 0:
        __asm__ volatile(
            BEGIN "fadds %[m]" END
            : "+t"(v), [sw] "=m"(sw), [hcw] "+m"(hcw)
            : [m] "m"(*(const uint8_t(*)[4])m), [gcw] "m"(gcw), [env] "r"(env), [cc] "r"(cc)
            : "memory");
        break;
    case 1:
        __asm__ volatile(
            BEGIN "faddl %[m]" END
            : "+t"(v), [sw] "=m"(sw), [hcw] "+m"(hcw)
            : [m] "m"(*(const uint8_t(*)[8])m), [gcw] "m"(gcw), [env] "r"(env), [cc] "r"(cc)
            : "memory");
        break;
    case 2:
        __asm__ volatile(
            BEGIN "fiadds %[m]" END
            : "+t"(v), [sw] "=m"(sw), [hcw] "+m"(hcw)
            : [m] "m"(*(const uint8_t(*)[2])m), [gcw] "m"(gcw), [env] "r"(env), [cc] "r"(cc)
            : "memory");
        break;
    case 3:
        __asm__ volatile(
            BEGIN "fiaddl %[m]" END
            : "+t"(v), [sw] "=m"(sw), [hcw] "+m"(hcw)
            : [m] "m"(*(const uint8_t(*)[4])m), [gcw] "m"(gcw), [env] "r"(env), [cc] "r"(cc)
            : "memory");
        break;
    case 4:
        __asm__ volatile(
            BEGIN "fmuls %[m]" END
            : "+t"(v), [sw] "=m"(sw), [hcw] "+m"(hcw)
            : [m] "m"(*(const uint8_t(*)[4])m), [gcw] "m"(gcw), [env] "r"(env), [cc] "r"(cc)
            : "memory");
        break;
    case 5:
        __asm__ volatile(
            BEGIN "fmull %[m]" END
            : "+t"(v), [sw] "=m"(sw), [hcw] "+m"(hcw)
            : [m] "m"(*(const uint8_t(*)[8])m), [gcw] "m"(gcw), [env] "r"(env), [cc] "r"(cc)
            : "memory");
        break;
    case 6:
        __asm__ volatile(
            BEGIN "fimuls %[m]" END
            : "+t"(v), [sw] "=m"(sw), [hcw] "+m"(hcw)
            : [m] "m"(*(const uint8_t(*)[2])m), [gcw] "m"(gcw), [env] "r"(env), [cc] "r"(cc)
            : "memory");
        break;
    case 7:
        __asm__ volatile(
            BEGIN "fimull %[m]" END
            : "+t"(v), [sw] "=m"(sw), [hcw] "+m"(hcw)
            : [m] "m"(*(const uint8_t(*)[4])m), [gcw] "m"(gcw), [env] "r"(env), [cc] "r"(cc)
            : "memory");
        break;
    case 8:
        __asm__ volatile(
            BEGIN "fsubs %[m]" END
            : "+t"(v), [sw] "=m"(sw), [hcw] "+m"(hcw)
            : [m] "m"(*(const uint8_t(*)[4])m), [gcw] "m"(gcw), [env] "r"(env), [cc] "r"(cc)
            : "memory");
        break;
    case 9:
        __asm__ volatile(
            BEGIN "fsubl %[m]" END
            : "+t"(v), [sw] "=m"(sw), [hcw] "+m"(hcw)
            : [m] "m"(*(const uint8_t(*)[8])m), [gcw] "m"(gcw), [env] "r"(env), [cc] "r"(cc)
            : "memory");
        break;
    case 10:
        __asm__ volatile(
            BEGIN "fisubs %[m]" END
            : "+t"(v), [sw] "=m"(sw), [hcw] "+m"(hcw)
            : [m] "m"(*(const uint8_t(*)[2])m), [gcw] "m"(gcw), [env] "r"(env), [cc] "r"(cc)
            : "memory");
        break;
    case 11:
        __asm__ volatile(
            BEGIN "fisubl %[m]" END
            : "+t"(v), [sw] "=m"(sw), [hcw] "+m"(hcw)
            : [m] "m"(*(const uint8_t(*)[4])m), [gcw] "m"(gcw), [env] "r"(env), [cc] "r"(cc)
            : "memory");
        break;
    case 12:
        __asm__ volatile(
            BEGIN "fsubrs %[m]" END
            : "+t"(v), [sw] "=m"(sw), [hcw] "+m"(hcw)
            : [m] "m"(*(const uint8_t(*)[4])m), [gcw] "m"(gcw), [env] "r"(env), [cc] "r"(cc)
            : "memory");
        break;
    case 13:
        __asm__ volatile(
            BEGIN "fsubrl %[m]" END
            : "+t"(v), [sw] "=m"(sw), [hcw] "+m"(hcw)
            : [m] "m"(*(const uint8_t(*)[8])m), [gcw] "m"(gcw), [env] "r"(env), [cc] "r"(cc)
            : "memory");
        break;
    case 14:
        __asm__ volatile(
            BEGIN "fisubrs %[m]" END
            : "+t"(v), [sw] "=m"(sw), [hcw] "+m"(hcw)
            : [m] "m"(*(const uint8_t(*)[2])m), [gcw] "m"(gcw), [env] "r"(env), [cc] "r"(cc)
            : "memory");
        break;
    case 15:
        __asm__ volatile(
            BEGIN "fisubrl %[m]" END
            : "+t"(v), [sw] "=m"(sw), [hcw] "+m"(hcw)
            : [m] "m"(*(const uint8_t(*)[4])m), [gcw] "m"(gcw), [env] "r"(env), [cc] "r"(cc)
            : "memory");
        break;
    case 16:
        __asm__ volatile(
            BEGIN "fdivs %[m]" END
            : "+t"(v), [sw] "=m"(sw), [hcw] "+m"(hcw)
            : [m] "m"(*(const uint8_t(*)[4])m), [gcw] "m"(gcw), [env] "r"(env), [cc] "r"(cc)
            : "memory");
        break;
    case 17:
        __asm__ volatile(
            BEGIN "fdivl %[m]" END
            : "+t"(v), [sw] "=m"(sw), [hcw] "+m"(hcw)
            : [m] "m"(*(const uint8_t(*)[8])m), [gcw] "m"(gcw), [env] "r"(env), [cc] "r"(cc)
            : "memory");
        break;
    case 18:
        __asm__ volatile(
            BEGIN "fidivs %[m]" END
            : "+t"(v), [sw] "=m"(sw), [hcw] "+m"(hcw)
            : [m] "m"(*(const uint8_t(*)[2])m), [gcw] "m"(gcw), [env] "r"(env), [cc] "r"(cc)
            : "memory");
        break;
    case 19:
        __asm__ volatile(
            BEGIN "fidivl %[m]" END
            : "+t"(v), [sw] "=m"(sw), [hcw] "+m"(hcw)
            : [m] "m"(*(const uint8_t(*)[4])m), [gcw] "m"(gcw), [env] "r"(env), [cc] "r"(cc)
            : "memory");
        break;
    case 20:
        __asm__ volatile(
            BEGIN "fdivrs %[m]" END
            : "+t"(v), [sw] "=m"(sw), [hcw] "+m"(hcw)
            : [m] "m"(*(const uint8_t(*)[4])m), [gcw] "m"(gcw), [env] "r"(env), [cc] "r"(cc)
            : "memory");
        break;
    case 21:
        __asm__ volatile(
            BEGIN "fdivrl %[m]" END
            : "+t"(v), [sw] "=m"(sw), [hcw] "+m"(hcw)
            : [m] "m"(*(const uint8_t(*)[8])m), [gcw] "m"(gcw), [env] "r"(env), [cc] "r"(cc)
            : "memory");
        break;
    case 22:
        __asm__ volatile(
            BEGIN "fidivrs %[m]" END
            : "+t"(v), [sw] "=m"(sw), [hcw] "+m"(hcw)
            : [m] "m"(*(const uint8_t(*)[2])m), [gcw] "m"(gcw), [env] "r"(env), [cc] "r"(cc)
            : "memory");
        break;
    case 23:
        __asm__ volatile(
            BEGIN "fidivrl %[m]" END
            : "+t"(v), [sw] "=m"(sw), [hcw] "+m"(hcw)
            : [m] "m"(*(const uint8_t(*)[4])m), [gcw] "m"(gcw), [env] "r"(env), [cc] "r"(cc)
            : "memory");
        break;
    default:
        break;
    }
    *st0 = v;
    return sw;
}

uint16_t x87_host_compare_mem(unsigned kind, long double st0, const uint8_t *m, uint32_t ctl)
{
    uint16_t sw = 0, hcw, gcw = masked(ctl), cc = guest_cc(ctl);
    uint8_t env[28];
    switch (kind) {
    case 0:
        __asm__ volatile(BEGIN "fcoms %[m]" END
                         : [sw] "=m"(sw), [hcw] "+m"(hcw)
                         : "t"(st0), [m] "m"(*(const uint8_t(*)[4])m), [gcw] "m"(gcw),
                           [env] "r"(env), [cc] "r"(cc)
                         : "memory");
        break;
    case 1:
        __asm__ volatile(BEGIN "fcoml %[m]" END
                         : [sw] "=m"(sw), [hcw] "+m"(hcw)
                         : "t"(st0), [m] "m"(*(const uint8_t(*)[8])m), [gcw] "m"(gcw),
                           [env] "r"(env), [cc] "r"(cc)
                         : "memory");
        break;
    case 2:
        __asm__ volatile(BEGIN "ficoms %[m]" END
                         : [sw] "=m"(sw), [hcw] "+m"(hcw)
                         : "t"(st0), [m] "m"(*(const uint8_t(*)[2])m), [gcw] "m"(gcw),
                           [env] "r"(env), [cc] "r"(cc)
                         : "memory");
        break;
    case 3:
        __asm__ volatile(BEGIN "ficoml %[m]" END
                         : [sw] "=m"(sw), [hcw] "+m"(hcw)
                         : "t"(st0), [m] "m"(*(const uint8_t(*)[4])m), [gcw] "m"(gcw),
                           [env] "r"(env), [cc] "r"(cc)
                         : "memory");
        break;
    default:
        break;
    }
    return sw;
}
