/* Generators for the x87 families: each snippet first loads two to five values (FLD m32/m64/m80,
 * FILD, constants) biased to edges, under a random precision and rounding control, then runs
 * arithmetic (x87-arith), data movement and stack management (x87-move) or comparisons
 * (x87-cmp). The whole x87 state (FCW, FSW, abridged FTW, ST0..7) is compared; C0/C2/C3 are
 * masked where the SDM says "undefined" (after arithmetic, loads, stores, FXCH, FCOMI...).
 * Transcendental instructions (FSIN, F2XM1, FYL2X, ...) have model-specific last-bit results;
 * the soft CPU runs them on the host, so x87-trans checks the stack and exception handling
 * around them (pushes, pops, unmasked exceptions) on that host. */
#include <string.h>

#include "gen.h"
#include "undef.h"

#define FSW_C0      0x0100
#define FSW_C2      0x0400
#define FSW_C3      0x4000
#define FSW_C_UNDEF (FSW_C0 | FSW_C2 | FSW_C3)

static uint64_t f64_value(struct rng *r)
{
    static const uint64_t edges[] = {
        0x0000000000000000ULL, 0x8000000000000000ULL, 0x3ff0000000000000ULL, 0xbff0000000000000ULL,
        0x7ff0000000000000ULL, 0xfff0000000000000ULL, 0x7ff8000000000000ULL, 0x7ff4000000000000ULL,
        0x0000000000000001ULL, 0x0010000000000000ULL, 0x7fefffffffffffffULL, 0x3fe0000000000000ULL,
        0x4340000000000000ULL, 0xc1e0000000000000ULL, 0x400921fb54442d18ULL,
    };
    if (rng_chance(r, 40))
        return edges[rng_below(r, sizeof edges / sizeof edges[0])];
    uint64_t v = rng_next(r);
    return (v & 0x800fffffffffffffULL) | ((uint64_t)(980 + rng_below(r, 90)) << 52);
}

static ZydisRegister st(unsigned i)
{
    return (ZydisRegister)(ZYDIS_REGISTER_ST0 + (i & 7));
}

static void emit0(struct gen *g, ZydisMnemonic m)
{
    ZydisEncoderRequest rq;
    gen_req(&rq, m, 0);
    gen_emit(g, &rq, 0);
}

static void emit_st(struct gen *g, ZydisMnemonic m, unsigned a, unsigned b, unsigned nops)
{
    ZydisEncoderRequest rq;
    gen_req(&rq, m, nops);
    if (nops > 0)
        gen_op_reg(&rq.operands[0], st(a));
    if (nops > 1)
        gen_op_reg(&rq.operands[1], st(b));
    gen_emit(g, &rq, 0);
}

/* XXX: FLD m32fp/m64fp of a denormal with the denormal exception unmasked (FCW.DM = 0): both
 * manuals say the load is not performed, TOP and the registers are left unchanged and #MF
 * follows at the next x87 instruction (SDM Vol. 1 8.5.2; APM Vol. 1 x87 "Unmasked Responses",
 * Table 6-22), and the soft CPU does that. AMD processors (seen on EPYC) push the normalized
 * value anyway. On AMD hosts such a load gets a normal value instead (same significand, smallest
 * normal exponent); elsewhere, and for arithmetic operands, denormals are still generated. */
static bool amd_pushes_denormal(const struct gen *g, ZydisMnemonic m)
{
    uint16_t fcw;
    memcpy(&fcw, g->c->in.fx, 2);
    return m == ZYDIS_MNEMONIC_FLD && g->feat->host_amd && !(fcw & 0x2);
}

/* A memory operand of size bytes holding a value of that format. */
static void emit_mem(struct gen *g, ZydisMnemonic m, unsigned size, bool integer)
{
    ZydisEncoderRequest rq;
    gen_req(&rq, m, 1);
    gen_op_mem(g, &rq.operands[0], size, 1);
    uint64_t ea = gen_mem_ea(g, &rq.operands[0]);
    if (integer) {
        gen_win_put(g, ea, rng_edge(g->rng, size), size);
    } else if (size == 4) {
        union {
            float f;
            uint32_t u;
        } v;
        uint64_t d = f64_value(g->rng);
        double x;
        memcpy(&x, &d, 8);
        v.f = (float)x;
        if (rng_chance(g->rng, 10))
            v.u = 0x7f800001; /* SNaN */
        if (amd_pushes_denormal(g, m) && (v.u & 0x7f800000) == 0 && (v.u & 0x007fffff) != 0)
            v.u |= 0x00800000;
        gen_win_put(g, ea, v.u, 4);
    } else if (size == 8) {
        uint64_t d = f64_value(g->rng);
        if (amd_pushes_denormal(g, m) && (d & 0x7ff0000000000000ULL) == 0 &&
            (d & 0x000fffffffffffffULL) != 0)
            d |= 0x0010000000000000ULL;
        gen_win_put(g, ea, d, 8);
    } else { /* m80: a normal with explicit integer bit, or an edge */
        uint64_t mant = rng_next(g->rng) | (1ULL << 63);
        uint16_t se = (uint16_t)(0x3fff - 70 + rng_below(g->rng, 140)) |
                      (rng_chance(g->rng, 50) ? 0x8000 : 0);
        if (rng_chance(g->rng, 15)) {
            se = rng_chance(g->rng, 50) ? 0x7fff : 0x0000; /* inf/NaN or denormal */
            mant = rng_chance(g->rng, 50) ? (1ULL << 63) : rng_next(g->rng) >> 1;
        }
        gen_win_put(g, ea, mant, 8);
        gen_win_put(g, ea + 8, se, 2);
    }
    gen_emit(g, &rq, 0);
}

static void load_one(struct gen *g)
{
    static const ZydisMnemonic consts[] = {
        ZYDIS_MNEMONIC_FLDZ,   ZYDIS_MNEMONIC_FLD1,   ZYDIS_MNEMONIC_FLDPI, ZYDIS_MNEMONIC_FLDL2E,
        ZYDIS_MNEMONIC_FLDL2T, ZYDIS_MNEMONIC_FLDLG2, ZYDIS_MNEMONIC_FLDLN2};
    switch (rng_below(g->rng, 7)) {
    case 0:
        emit_mem(g, ZYDIS_MNEMONIC_FLD, 4, false);
        break;
    case 1:
    case 2:
        emit_mem(g, ZYDIS_MNEMONIC_FLD, 8, false);
        break;
    case 3:
        emit_mem(g, ZYDIS_MNEMONIC_FLD, 10, false);
        break;
    case 4:
        emit_mem(g, ZYDIS_MNEMONIC_FILD, 2u << rng_below(g->rng, 3), true);
        break;
    default:
        emit0(g, consts[rng_below(g->rng, sizeof consts / sizeof consts[0])]);
        break;
    }
}

/* FCW with random precision (single, double, extended) and rounding control; exceptions
 * masked except, rarely, one (then a later x87 instruction may raise #MF). */
static void x87_begin(struct gen *g)
{
    struct diff_case *c = g->c;
    static const uint16_t pc[3] = {0x000, 0x200, 0x300};
    uint16_t fcw = (uint16_t)(0x037f & ~0x300);
    fcw |= pc[rng_below(g->rng, 3)];
    fcw |= (uint16_t)(rng_below(g->rng, 4) << 10);
    if (rng_chance(g->rng, 5))
        fcw &= (uint16_t) ~(1u << rng_below(g->rng, 6));
    if (rng_chance(g->rng, 75))
        fcw = (fcw & ~0x300) | 0x300; /* mostly extended precision */
    memcpy(c->in.fx, &fcw, 2);
    c->cmp_fpu = true;
    c->fsw_undef = FSW_C_UNDEF;
    unsigned n = 2 + (unsigned)rng_below(g->rng, 4);
    for (unsigned i = 0; i < n; i++)
        load_one(g);
}

static void gen_x87_arith(struct gen *g)
{
    static const ZydisMnemonic ops[] = {ZYDIS_MNEMONIC_FADD,  ZYDIS_MNEMONIC_FSUB,
                                        ZYDIS_MNEMONIC_FSUBR, ZYDIS_MNEMONIC_FMUL,
                                        ZYDIS_MNEMONIC_FDIV,  ZYDIS_MNEMONIC_FDIVR};
    static const ZydisMnemonic pops[] = {ZYDIS_MNEMONIC_FADDP,  ZYDIS_MNEMONIC_FSUBP,
                                         ZYDIS_MNEMONIC_FSUBRP, ZYDIS_MNEMONIC_FMULP,
                                         ZYDIS_MNEMONIC_FDIVP,  ZYDIS_MNEMONIC_FDIVRP};
    static const ZydisMnemonic iops[] = {ZYDIS_MNEMONIC_FIADD,  ZYDIS_MNEMONIC_FISUB,
                                         ZYDIS_MNEMONIC_FISUBR, ZYDIS_MNEMONIC_FIMUL,
                                         ZYDIS_MNEMONIC_FIDIV,  ZYDIS_MNEMONIC_FIDIVR};
    static const ZydisMnemonic unary[] = {ZYDIS_MNEMONIC_FCHS,   ZYDIS_MNEMONIC_FABS,
                                          ZYDIS_MNEMONIC_FSQRT,  ZYDIS_MNEMONIC_FRNDINT,
                                          ZYDIS_MNEMONIC_FSCALE, ZYDIS_MNEMONIC_FXTRACT};
    x87_begin(g);
    unsigned n = 1 + (unsigned)rng_below(g->rng, 3);
    for (unsigned i = 0; i < n; i++) {
        unsigned k = (unsigned)rng_below(g->rng, 6), j = 1 + (unsigned)rng_below(g->rng, 3);
        g->c->mnemonic[0] = 0;
        switch (rng_below(g->rng, 7)) {
        case 0:
            emit_st(g, ops[k], 0, j, 2);
            break;
        case 1:
            emit_st(g, ops[k], j, 0, 2);
            break;
        case 2:
            emit_st(g, pops[k], j, 0, 2);
            break;
        case 3:
            emit_mem(g, ops[k], rng_chance(g->rng, 50) ? 4 : 8, false);
            break;
        case 4:
            emit_mem(g, iops[k], rng_chance(g->rng, 50) ? 2 : 4, true);
            break;
        case 5: /* FPREM/FPREM1: C0..C3 carry quotient bits and are compared */
            emit0(g, rng_chance(g->rng, 50) ? ZYDIS_MNEMONIC_FPREM : ZYDIS_MNEMONIC_FPREM1);
            g->c->fsw_undef = 0;
            g->done = true;
            return;
        default:
            emit0(g, unary[rng_below(g->rng, sizeof unary / sizeof unary[0])]);
            break;
        }
    }
}

static void gen_x87_move(struct gen *g)
{
    x87_begin(g);
    unsigned n = 1 + (unsigned)rng_below(g->rng, 3);
    for (unsigned i = 0; i < n; i++) {
        unsigned j = (unsigned)rng_below(g->rng, 8);
        g->c->mnemonic[0] = 0;
        ZydisEncoderRequest rq;
        switch (rng_below(g->rng, 9)) {
        case 0: /* FST/FSTP m32/m64, FSTP m80 */
        case 1: {
            unsigned size = (unsigned[]){4, 8, 10}[rng_below(g->rng, 3)];
            ZydisMnemonic m =
                size == 10 || rng_chance(g->rng, 50) ? ZYDIS_MNEMONIC_FSTP : ZYDIS_MNEMONIC_FST;
            gen_req(&rq, m, 1);
            gen_op_mem(g, &rq.operands[0], size, 1);
            gen_emit(g, &rq, 0);
            break;
        }
        case 2: { /* FIST/FISTP m16/m32, FISTP m64 (rounding control, integer indefinite) */
            unsigned size = 2u << rng_below(g->rng, 3);
            ZydisMnemonic m =
                size == 8 || rng_chance(g->rng, 50) ? ZYDIS_MNEMONIC_FISTP : ZYDIS_MNEMONIC_FIST;
            gen_req(&rq, m, 1);
            gen_op_mem(g, &rq.operands[0], size, 1);
            gen_emit(g, &rq, 0);
            break;
        }
        case 3:
            emit_st(g, ZYDIS_MNEMONIC_FXCH, j, 0, 1);
            break;
        case 4:
            emit_st(g, ZYDIS_MNEMONIC_FLD, j, 0, 1);
            break;
        case 5:
            emit_st(g, rng_chance(g->rng, 50) ? ZYDIS_MNEMONIC_FST : ZYDIS_MNEMONIC_FSTP, j, 0, 1);
            break;
        case 6:
            emit0(g, rng_chance(g->rng, 50) ? ZYDIS_MNEMONIC_FINCSTP : ZYDIS_MNEMONIC_FDECSTP);
            break;
        case 7: /* FFREE: "C0, C1, C2, C3 undefined" */
            emit_st(g, ZYDIS_MNEMONIC_FFREE, j, 0, 1);
            g->c->fsw_undef |= 0x0200;
            break;
        default: { /* FCMOVcc on the random initial flags */
            static const ZydisMnemonic cm[] = {ZYDIS_MNEMONIC_FCMOVB,   ZYDIS_MNEMONIC_FCMOVE,
                                               ZYDIS_MNEMONIC_FCMOVBE,  ZYDIS_MNEMONIC_FCMOVU,
                                               ZYDIS_MNEMONIC_FCMOVNB,  ZYDIS_MNEMONIC_FCMOVNE,
                                               ZYDIS_MNEMONIC_FCMOVNBE, ZYDIS_MNEMONIC_FCMOVNU};
            emit_st(g, cm[rng_below(g->rng, 8)], 0, j, 2);
            break;
        }
        }
    }
}

static void gen_x87_cmp(struct gen *g)
{
    x87_begin(g);
    unsigned j = 1 + (unsigned)rng_below(g->rng, 3);
    g->c->mnemonic[0] = 0;
    switch (rng_below(g->rng, 7)) {
    case 0: /* FCOM/FCOMP/FUCOM/FUCOMP ST(i): C0, C2, C3 = comparison result */
        emit_st(g,
                (ZydisMnemonic[]){ZYDIS_MNEMONIC_FCOM, ZYDIS_MNEMONIC_FCOMP, ZYDIS_MNEMONIC_FUCOM,
                                  ZYDIS_MNEMONIC_FUCOMP}[rng_below(g->rng, 4)],
                j, 0, 1);
        g->c->fsw_undef = 0;
        break;
    case 1:
        emit_mem(g, rng_chance(g->rng, 50) ? ZYDIS_MNEMONIC_FCOM : ZYDIS_MNEMONIC_FCOMP,
                 rng_chance(g->rng, 50) ? 4 : 8, false);
        g->c->fsw_undef = 0;
        break;
    case 2:
        emit0(g, rng_chance(g->rng, 50) ? ZYDIS_MNEMONIC_FCOMPP : ZYDIS_MNEMONIC_FUCOMPP);
        g->c->fsw_undef = 0;
        break;
    case 3: /* FCOMI & co: ZF, PF, CF; OF, SF, AF cleared; C0/C2/C3 unaffected */
        emit_st(g,
                (ZydisMnemonic[]){ZYDIS_MNEMONIC_FCOMI, ZYDIS_MNEMONIC_FCOMIP,
                                  ZYDIS_MNEMONIC_FUCOMI,
                                  ZYDIS_MNEMONIC_FUCOMIP}[rng_below(g->rng, 4)],
                0, j, 2);
        break;
    case 4:
        emit0(g, rng_chance(g->rng, 50) ? ZYDIS_MNEMONIC_FTST : ZYDIS_MNEMONIC_FXAM);
        g->c->fsw_undef = 0;
        break;
    case 5:
        emit_mem(g, rng_chance(g->rng, 50) ? ZYDIS_MNEMONIC_FICOM : ZYDIS_MNEMONIC_FICOMP,
                 rng_chance(g->rng, 50) ? 2 : 4, true);
        g->c->fsw_undef = 0;
        break;
    default: { /* FUCOM; FNSTSW AX; SAHF: the classic compare-and-branch idiom */
        emit_st(g, ZYDIS_MNEMONIC_FUCOM, j, 0, 1);
        g->c->fsw_undef = 0;
        if (g->reserved & 1)
            break;
        const uint8_t b[3] = {0xdf, 0xe0, 0x9e};
        gen_bytes(g, b, 3);
        break;
    }
    }
    g->done = true;
}

static void gen_x87_trans(struct gen *g)
{
    static const ZydisMnemonic ops[] = {ZYDIS_MNEMONIC_FSIN,    ZYDIS_MNEMONIC_FCOS,
                                        ZYDIS_MNEMONIC_FSINCOS, ZYDIS_MNEMONIC_FPTAN,
                                        ZYDIS_MNEMONIC_F2XM1,   ZYDIS_MNEMONIC_FPATAN,
                                        ZYDIS_MNEMONIC_FYL2X,   ZYDIS_MNEMONIC_FYL2XP1,
                                        ZYDIS_MNEMONIC_FSCALE,  ZYDIS_MNEMONIC_FXTRACT};
    x87_begin(g);
    unsigned n = 1 + (unsigned)rng_below(g->rng, 2);
    for (unsigned i = 0; i < n; i++) {
        g->c->mnemonic[0] = 0;
        emit0(g, ops[rng_below(g->rng, sizeof ops / sizeof ops[0])]);
    }
}

static bool have_fpu(const struct gen_features *f)
{
    return f->fpu;
}

const struct gen_family gen_family_x87_arith = {
    "x87-arith", "FADD FSUB(R) FMUL FDIV(R) (P, m32/m64, FI*), FCHS FABS FSQRT FRNDINT FPREM",
    gen_x87_arith, have_fpu};
const struct gen_family gen_family_x87_move = {
    "x87-move", "FLD FST(P) FIST(P) FXCH FFREE FINC/DECSTP FCMOVcc", gen_x87_move, have_fpu};
const struct gen_family gen_family_x87_cmp = {
    "x87-cmp", "FCOM(P)(P) FUCOM(P)(P) FCOMI FUCOMI FTST FXAM FICOM, FNSTSW+SAHF", gen_x87_cmp,
    have_fpu};
const struct gen_family gen_family_x87_trans = {
    "x87-trans", "FSIN FCOS FSINCOS FPTAN F2XM1 FPATAN FYL2X FYL2XP1 FSCALE FXTRACT (host results)",
    gen_x87_trans, have_fpu};
