/* Generators for the SSE/SSE2 and MMX families: table-driven rows (mnemonic, operand kinds,
 * memory size, immediate kind) over XMM/MM registers, memory and GPRs, with register and
 * memory contents biased to floating-point edges (signed zeros, infinities, quiet and
 * signalling NaNs, denormals, extremes) and MXCSR rounding modes/FTZ/DAZ varied. Packed memory
 * operands are mostly 16-byte aligned; the rest checks the #GP of misaligned legacy SSE. RCPPS
 * and RSQRTPS are left out: their approximations differ between CPU models. */
#include <string.h>

#include "gen.h"

enum vkind {
    VK_X,        /* XMM register */
    VK_XM,       /* XMM register or memory */
    VK_MM,       /* MMX register */
    VK_MMM,      /* MMX register or memory */
    VK_G,        /* general register (32 or 64 bits) */
    VK_GM,       /* general register or memory (32 or 64 bits) */
    VK_M,        /* memory only */
    VK_SHIFTIMM, /* no register: the immediate shift count is the source */
};

enum vimm { VI_NONE, VI_ANY, VI_PRED, VI_SHIFT };

struct vrow {
    ZydisMnemonic m;
    uint8_t dst, src;
    uint8_t msize; /* bytes of the memory operand (0: size of the register) */
    uint8_t imm;   /* enum vimm */
    uint8_t align; /* required alignment of memory (16 for packed legacy SSE, else 1) */
};

#define X(mn, d, s, ms, im, al)                                                                    \
    {                                                                                              \
        ZYDIS_MNEMONIC_##mn, VK_##d, VK_##s, ms, VI_##im, al                                       \
    }

static const struct vrow rows_mov[] = {
    X(MOVAPS, X, XM, 16, NONE, 16), X(MOVAPS, M, X, 16, NONE, 16),  X(MOVUPS, X, XM, 16, NONE, 1),
    X(MOVUPS, M, X, 16, NONE, 1),   X(MOVAPD, X, XM, 16, NONE, 16), X(MOVUPD, X, XM, 16, NONE, 1),
    X(MOVDQA, X, XM, 16, NONE, 16), X(MOVDQA, M, X, 16, NONE, 16),  X(MOVDQU, X, XM, 16, NONE, 1),
    X(MOVDQU, M, X, 16, NONE, 1),   X(MOVSS, X, XM, 4, NONE, 1),    X(MOVSS, M, X, 4, NONE, 1),
    X(MOVSD, X, XM, 8, NONE, 1),    X(MOVSD, M, X, 8, NONE, 1),     X(MOVLPS, X, M, 8, NONE, 1),
    X(MOVHPS, X, M, 8, NONE, 1),    X(MOVLPS, M, X, 8, NONE, 1),    X(MOVHPS, M, X, 8, NONE, 1),
    X(MOVLPD, X, M, 8, NONE, 1),    X(MOVHPD, X, M, 8, NONE, 1),    X(MOVHLPS, X, X, 0, NONE, 1),
    X(MOVLHPS, X, X, 0, NONE, 1),   X(MOVD, X, GM, 4, NONE, 1),     X(MOVD, GM, X, 4, NONE, 1),
    X(MOVQ, X, XM, 8, NONE, 1),     X(MOVQ, M, X, 8, NONE, 1),      X(MOVMSKPS, G, X, 0, NONE, 1),
    X(MOVMSKPD, G, X, 0, NONE, 1),  X(PMOVMSKB, G, X, 0, NONE, 1),  X(MOVNTDQ, M, X, 16, NONE, 16),
    X(MOVNTPS, M, X, 16, NONE, 16),
};

static const struct vrow rows_arith_ps[] = {
    X(ADDPS, X, XM, 16, NONE, 16),  X(SUBPS, X, XM, 16, NONE, 16), X(MULPS, X, XM, 16, NONE, 16),
    X(DIVPS, X, XM, 16, NONE, 16),  X(MINPS, X, XM, 16, NONE, 16), X(MAXPS, X, XM, 16, NONE, 16),
    X(SQRTPS, X, XM, 16, NONE, 16), X(ADDSS, X, XM, 4, NONE, 1),   X(SUBSS, X, XM, 4, NONE, 1),
    X(MULSS, X, XM, 4, NONE, 1),    X(DIVSS, X, XM, 4, NONE, 1),   X(MINSS, X, XM, 4, NONE, 1),
    X(MAXSS, X, XM, 4, NONE, 1),    X(SQRTSS, X, XM, 4, NONE, 1),
};

static const struct vrow rows_arith_pd[] = {
    X(ADDPD, X, XM, 16, NONE, 16),  X(SUBPD, X, XM, 16, NONE, 16), X(MULPD, X, XM, 16, NONE, 16),
    X(DIVPD, X, XM, 16, NONE, 16),  X(MINPD, X, XM, 16, NONE, 16), X(MAXPD, X, XM, 16, NONE, 16),
    X(SQRTPD, X, XM, 16, NONE, 16), X(ADDSD, X, XM, 8, NONE, 1),   X(SUBSD, X, XM, 8, NONE, 1),
    X(MULSD, X, XM, 8, NONE, 1),    X(DIVSD, X, XM, 8, NONE, 1),   X(MINSD, X, XM, 8, NONE, 1),
    X(MAXSD, X, XM, 8, NONE, 1),    X(SQRTSD, X, XM, 8, NONE, 1),
};

static const struct vrow rows_logic[] = {
    X(ANDPS, X, XM, 16, NONE, 16), X(ANDNPS, X, XM, 16, NONE, 16), X(ORPS, X, XM, 16, NONE, 16),
    X(XORPS, X, XM, 16, NONE, 16), X(ANDPD, X, XM, 16, NONE, 16),  X(ANDNPD, X, XM, 16, NONE, 16),
    X(ORPD, X, XM, 16, NONE, 16),  X(XORPD, X, XM, 16, NONE, 16),  X(PAND, X, XM, 16, NONE, 16),
    X(PANDN, X, XM, 16, NONE, 16), X(POR, X, XM, 16, NONE, 16),    X(PXOR, X, XM, 16, NONE, 16),
};

static const struct vrow rows_cmp[] = {
    X(CMPPS, X, XM, 16, PRED, 16), X(CMPSS, X, XM, 4, PRED, 1),   X(CMPPD, X, XM, 16, PRED, 16),
    X(CMPSD, X, XM, 8, PRED, 1),   X(COMISS, X, XM, 4, NONE, 1),  X(UCOMISS, X, XM, 4, NONE, 1),
    X(COMISD, X, XM, 8, NONE, 1),  X(UCOMISD, X, XM, 8, NONE, 1),
};

static const struct vrow rows_cvt[] = {
    X(CVTSI2SS, X, GM, 0, NONE, 1),    X(CVTSI2SD, X, GM, 0, NONE, 1),
    X(CVTSS2SI, G, XM, 4, NONE, 1),    X(CVTTSS2SI, G, XM, 4, NONE, 1),
    X(CVTSD2SI, G, XM, 8, NONE, 1),    X(CVTTSD2SI, G, XM, 8, NONE, 1),
    X(CVTPS2PD, X, XM, 8, NONE, 1),    X(CVTPD2PS, X, XM, 16, NONE, 16),
    X(CVTSS2SD, X, XM, 4, NONE, 1),    X(CVTSD2SS, X, XM, 8, NONE, 1),
    X(CVTDQ2PS, X, XM, 16, NONE, 16),  X(CVTPS2DQ, X, XM, 16, NONE, 16),
    X(CVTTPS2DQ, X, XM, 16, NONE, 16), X(CVTDQ2PD, X, XM, 8, NONE, 1),
    X(CVTPD2DQ, X, XM, 16, NONE, 16),  X(CVTTPD2DQ, X, XM, 16, NONE, 16),
};

static const struct vrow rows_shuf[] = {
    X(SHUFPS, X, XM, 16, ANY, 16),      X(SHUFPD, X, XM, 16, ANY, 16),
    X(UNPCKLPS, X, XM, 16, NONE, 16),   X(UNPCKHPS, X, XM, 16, NONE, 16),
    X(UNPCKLPD, X, XM, 16, NONE, 16),   X(UNPCKHPD, X, XM, 16, NONE, 16),
    X(PSHUFD, X, XM, 16, ANY, 16),      X(PSHUFLW, X, XM, 16, ANY, 16),
    X(PSHUFHW, X, XM, 16, ANY, 16),     X(PUNPCKLBW, X, XM, 16, NONE, 16),
    X(PUNPCKLWD, X, XM, 16, NONE, 16),  X(PUNPCKLDQ, X, XM, 16, NONE, 16),
    X(PUNPCKLQDQ, X, XM, 16, NONE, 16), X(PUNPCKHBW, X, XM, 16, NONE, 16),
    X(PUNPCKHWD, X, XM, 16, NONE, 16),  X(PUNPCKHDQ, X, XM, 16, NONE, 16),
    X(PUNPCKHQDQ, X, XM, 16, NONE, 16), X(PACKSSWB, X, XM, 16, NONE, 16),
    X(PACKUSWB, X, XM, 16, NONE, 16),   X(PACKSSDW, X, XM, 16, NONE, 16),
    X(PINSRW, X, GM, 2, ANY, 1),        X(PEXTRW, G, X, 0, ANY, 1),
};

static const struct vrow rows_int[] = {
    X(PADDB, X, XM, 16, NONE, 16),       X(PADDW, X, XM, 16, NONE, 16),
    X(PADDD, X, XM, 16, NONE, 16),       X(PADDQ, X, XM, 16, NONE, 16),
    X(PSUBB, X, XM, 16, NONE, 16),       X(PSUBW, X, XM, 16, NONE, 16),
    X(PSUBD, X, XM, 16, NONE, 16),       X(PSUBQ, X, XM, 16, NONE, 16),
    X(PADDSB, X, XM, 16, NONE, 16),      X(PADDSW, X, XM, 16, NONE, 16),
    X(PADDUSB, X, XM, 16, NONE, 16),     X(PADDUSW, X, XM, 16, NONE, 16),
    X(PSUBSB, X, XM, 16, NONE, 16),      X(PSUBSW, X, XM, 16, NONE, 16),
    X(PSUBUSB, X, XM, 16, NONE, 16),     X(PSUBUSW, X, XM, 16, NONE, 16),
    X(PMULLW, X, XM, 16, NONE, 16),      X(PMULHW, X, XM, 16, NONE, 16),
    X(PMULHUW, X, XM, 16, NONE, 16),     X(PMULUDQ, X, XM, 16, NONE, 16),
    X(PMADDWD, X, XM, 16, NONE, 16),     X(PCMPEQB, X, XM, 16, NONE, 16),
    X(PCMPEQW, X, XM, 16, NONE, 16),     X(PCMPEQD, X, XM, 16, NONE, 16),
    X(PCMPGTB, X, XM, 16, NONE, 16),     X(PCMPGTW, X, XM, 16, NONE, 16),
    X(PCMPGTD, X, XM, 16, NONE, 16),     X(PMAXUB, X, XM, 16, NONE, 16),
    X(PMINUB, X, XM, 16, NONE, 16),      X(PMAXSW, X, XM, 16, NONE, 16),
    X(PMINSW, X, XM, 16, NONE, 16),      X(PAVGB, X, XM, 16, NONE, 16),
    X(PAVGW, X, XM, 16, NONE, 16),       X(PSADBW, X, XM, 16, NONE, 16),
    X(PSLLW, X, XM, 16, NONE, 16),       X(PSLLD, X, XM, 16, NONE, 16),
    X(PSLLQ, X, XM, 16, NONE, 16),       X(PSRLW, X, XM, 16, NONE, 16),
    X(PSRLD, X, XM, 16, NONE, 16),       X(PSRLQ, X, XM, 16, NONE, 16),
    X(PSRAW, X, XM, 16, NONE, 16),       X(PSRAD, X, XM, 16, NONE, 16),
    X(PSLLW, X, SHIFTIMM, 0, SHIFT, 1),  X(PSLLD, X, SHIFTIMM, 0, SHIFT, 1),
    X(PSLLQ, X, SHIFTIMM, 0, SHIFT, 1),  X(PSRLW, X, SHIFTIMM, 0, SHIFT, 1),
    X(PSRLD, X, SHIFTIMM, 0, SHIFT, 1),  X(PSRLQ, X, SHIFTIMM, 0, SHIFT, 1),
    X(PSRAW, X, SHIFTIMM, 0, SHIFT, 1),  X(PSRAD, X, SHIFTIMM, 0, SHIFT, 1),
    X(PSLLDQ, X, SHIFTIMM, 0, SHIFT, 1), X(PSRLDQ, X, SHIFTIMM, 0, SHIFT, 1),
};

static const struct vrow rows_mmx[] = {
    X(MOVQ, MM, MMM, 8, NONE, 1),        X(MOVQ, M, MM, 8, NONE, 1),
    X(MOVD, MM, GM, 4, NONE, 1),         X(MOVD, GM, MM, 4, NONE, 1),
    X(PADDB, MM, MMM, 8, NONE, 1),       X(PADDW, MM, MMM, 8, NONE, 1),
    X(PADDD, MM, MMM, 8, NONE, 1),       X(PSUBB, MM, MMM, 8, NONE, 1),
    X(PSUBW, MM, MMM, 8, NONE, 1),       X(PSUBD, MM, MMM, 8, NONE, 1),
    X(PADDSB, MM, MMM, 8, NONE, 1),      X(PADDUSW, MM, MMM, 8, NONE, 1),
    X(PSUBSW, MM, MMM, 8, NONE, 1),      X(PSUBUSB, MM, MMM, 8, NONE, 1),
    X(PMULLW, MM, MMM, 8, NONE, 1),      X(PMULHW, MM, MMM, 8, NONE, 1),
    X(PMADDWD, MM, MMM, 8, NONE, 1),     X(PCMPEQB, MM, MMM, 8, NONE, 1),
    X(PCMPGTW, MM, MMM, 8, NONE, 1),     X(PAND, MM, MMM, 8, NONE, 1),
    X(PANDN, MM, MMM, 8, NONE, 1),       X(POR, MM, MMM, 8, NONE, 1),
    X(PXOR, MM, MMM, 8, NONE, 1),        X(PUNPCKLBW, MM, MMM, 4, NONE, 1),
    X(PUNPCKHWD, MM, MMM, 8, NONE, 1),   X(PACKSSWB, MM, MMM, 8, NONE, 1),
    X(PACKUSWB, MM, MMM, 8, NONE, 1),    X(PSLLW, MM, MMM, 8, NONE, 1),
    X(PSRLD, MM, MMM, 8, NONE, 1),       X(PSRAW, MM, MMM, 8, NONE, 1),
    X(PSLLQ, MM, SHIFTIMM, 0, SHIFT, 1), X(PSRAD, MM, SHIFTIMM, 0, SHIFT, 1),
};
#undef X

static uint32_t f32_edge(struct rng *r)
{
    static const uint32_t edges[] = {
        0x00000000, 0x80000000, 0x3f800000, 0xbf800000, 0x3f000000, 0x7f800000,
        0xff800000, 0x7fc00000, 0xffc00000, 0x7f800001, 0x7fa00000, 0x00000001,
        0x807fffff, 0x00800000, 0x7f7fffff, 0xff7fffff, 0x4b000000, 0x4f000000,
        0xcf000000, 0x5f000000, 0x3effffff, 0x3fc00000, 0x40490fdb,
    };
    if (rng_chance(r, 55))
        return edges[rng_below(r, sizeof edges / sizeof edges[0])] ^
               (rng_chance(r, 20) ? (uint32_t)rng_below(r, 4) : 0);
    /* a random value with a moderate exponent (so arithmetic is not all overflow) */
    uint32_t v = (uint32_t)rng_next(r);
    if (rng_chance(r, 70))
        v = (v & 0x807fffff) | ((uint32_t)(100 + rng_below(r, 56)) << 23);
    return v;
}

static uint64_t f64_edge(struct rng *r)
{
    static const uint64_t edges[] = {
        0x0000000000000000ULL, 0x8000000000000000ULL, 0x3ff0000000000000ULL, 0xbff0000000000000ULL,
        0x3fe0000000000000ULL, 0x7ff0000000000000ULL, 0xfff0000000000000ULL, 0x7ff8000000000000ULL,
        0xfff8000000000000ULL, 0x7ff0000000000001ULL, 0x7ff4000000000000ULL, 0x0000000000000001ULL,
        0x800fffffffffffffULL, 0x0010000000000000ULL, 0x7fefffffffffffffULL, 0x41e0000000000000ULL,
        0xc1e0000000000000ULL, 0x43e0000000000000ULL, 0xc3e0000000000000ULL, 0x41dfffffffc00000ULL,
        0x3ff8000000000000ULL, 0x47efffffe0000000ULL, 0x36a0000000000000ULL, 0x400921fb54442d18ULL,
    };
    if (rng_chance(r, 55))
        return edges[rng_below(r, sizeof edges / sizeof edges[0])] ^
               (rng_chance(r, 20) ? rng_below(r, 4) : 0);
    uint64_t v = rng_next(r);
    if (rng_chance(r, 70))
        v = (v & 0x800fffffffffffffULL) | ((uint64_t)(900 + rng_below(r, 250)) << 52);
    return v;
}

/* n bytes (a multiple of 8) of mixed float32, float64 and integer lanes. */
static void fill_vec(struct rng *r, uint8_t *p, unsigned n)
{
    unsigned style = (unsigned)rng_below(r, 3);
    for (unsigned i = 0; i < n; i += 8) {
        uint64_t v;
        if (style == 0) {
            uint32_t lo = f32_edge(r), hi = f32_edge(r);
            v = (uint64_t)hi << 32 | lo;
        } else if (style == 1) {
            v = f64_edge(r);
        } else {
            v = rng_edge(r, 1u << rng_below(r, 4));
            if (rng_chance(r, 50))
                v = rng_next(r);
        }
        memcpy(p + i, &v, 8);
    }
}

static void vec_begin(struct gen *g)
{
    struct diff_case *c = g->c;
    c->cmp_fpu = true;
    for (unsigned i = 0; i < 16; i++)
        fill_vec(g->rng, c->in.fx + 160 + 16 * i, 16);
    for (unsigned i = 0; i < 8; i++)
        fill_vec(g->rng, c->in.fx + 32 + 16 * i, 8);
    uint32_t mxcsr = 0x1f80;
    if (rng_chance(g->rng, 30))
        mxcsr |= (uint32_t)rng_below(g->rng, 4) << 13; /* rounding control */
    if (rng_chance(g->rng, 15))
        mxcsr |= 0x8000; /* FTZ */
    if (rng_chance(g->rng, 15))
        mxcsr |= 0x40; /* DAZ */
    if (rng_chance(g->rng, 20))
        mxcsr |= (uint32_t)rng_below(g->rng, 64); /* sticky exception flags */
    if (rng_chance(g->rng, 5))
        mxcsr &= ~(0x80u << rng_below(g->rng, 6)); /* unmask one exception: #XM possible */
    memcpy(c->in.fx + 24, &mxcsr, 4);
    fill_vec(g->rng, c->win, 0x1000);
}

static uint64_t shift_imm(struct gen *g)
{
    static const uint8_t counts[] = {0, 1, 7, 8, 15, 16, 17, 31, 32, 33, 63, 64, 255};
    if (rng_chance(g->rng, 70))
        return counts[rng_below(g->rng, sizeof counts / sizeof counts[0])];
    return rng_below(g->rng, 256);
}

/* Fills one operand of kind k. Returns false if the kind cannot be used here. */
static void vec_operand(struct gen *g, ZydisEncoderOperand *op, unsigned k, const struct vrow *row,
                        unsigned gsize)
{
    unsigned align = row->align == 16 && rng_chance(g->rng, 90) ? 16 : 1;
    switch (k) {
    case VK_X:
        gen_op_reg(op, (ZydisRegister)(ZYDIS_REGISTER_XMM0 + rng_below(g->rng, 16)));
        break;
    case VK_MM:
        gen_op_reg(op, (ZydisRegister)(ZYDIS_REGISTER_MM0 + rng_below(g->rng, 8)));
        break;
    case VK_G:
        gen_op_reg(op, gen_gpr(gen_free_reg(g, 0), gsize, false));
        break;
    case VK_M:
        gen_op_mem(g, op, row->msize, align);
        break;
    case VK_XM:
    case VK_MMM:
    case VK_GM:
        if (rng_chance(g->rng, 35)) {
            gen_op_mem(g, op, row->msize ? row->msize : gsize, align);
        } else if (k == VK_XM) {
            gen_op_reg(op, (ZydisRegister)(ZYDIS_REGISTER_XMM0 + rng_below(g->rng, 16)));
        } else if (k == VK_MMM) {
            gen_op_reg(op, (ZydisRegister)(ZYDIS_REGISTER_MM0 + rng_below(g->rng, 8)));
        } else {
            gen_op_reg(op, gen_gpr(gen_free_reg(g, 0), gsize, false));
        }
        break;
    default: /* VK_SHIFTIMM */
        gen_op_imm(op, shift_imm(g));
        break;
    }
}

static void emit_row(struct gen *g, const struct vrow *row)
{
    ZydisEncoderRequest rq;
    unsigned gsize = rng_chance(g->rng, 50) ? 4 : 8;
    if (row->m == ZYDIS_MNEMONIC_PINSRW || row->m == ZYDIS_MNEMONIC_PEXTRW ||
        row->m == ZYDIS_MNEMONIC_MOVD)
        gsize = 4;
    unsigned nops = row->src == VK_SHIFTIMM ? 2 : 2 + (row->imm != VI_NONE);
    gen_req(&rq, row->m, nops);
    vec_operand(g, &rq.operands[0], row->dst, row, gsize);
    vec_operand(g, &rq.operands[1], row->src, row, gsize);
    if (row->imm != VI_NONE && row->src != VK_SHIFTIMM)
        gen_op_imm(&rq.operands[2],
                   row->imm == VI_PRED ? rng_below(g->rng, 8) : rng_below(g->rng, 256));
    gen_emit(g, &rq, 0);
}

static void gen_rows(struct gen *g, const struct vrow *rows, unsigned nrows)
{
    vec_begin(g);
    unsigned n = 1 + (unsigned)rng_below(g->rng, 3);
    for (unsigned i = 0; i < n; i++)
        emit_row(g, &rows[rng_below(g->rng, nrows)]);
}

#define ROWS(t) t, sizeof t / sizeof t[0]

static void gen_sse_mov(struct gen *g)
{
    gen_rows(g, ROWS(rows_mov));
}

static void gen_sse_arith(struct gen *g)
{
    gen_rows(g, ROWS(rows_arith_ps));
}

static void gen_sse2_arith(struct gen *g)
{
    gen_rows(g, ROWS(rows_arith_pd));
}

static void gen_sse_logic(struct gen *g)
{
    gen_rows(g, ROWS(rows_logic));
}

static void gen_sse_cmp(struct gen *g)
{
    gen_rows(g, ROWS(rows_cmp));
}

static void gen_sse_cvt(struct gen *g)
{
    gen_rows(g, ROWS(rows_cvt));
}

static void gen_sse_shuf(struct gen *g)
{
    gen_rows(g, ROWS(rows_shuf));
}

static void gen_sse2_int(struct gen *g)
{
    gen_rows(g, ROWS(rows_int));
}

static void gen_mmx(struct gen *g)
{
    gen_rows(g, ROWS(rows_mmx));
    if (rng_chance(g->rng, 30)) { /* EMMS: empties the x87 tags again */
        const uint8_t emms[2] = {0x0f, 0x77};
        gen_bytes(g, emms, 2);
    }
}

static bool have_sse2(const struct gen_features *f)
{
    return f->sse2;
}

static bool have_mmx(const struct gen_features *f)
{
    return f->mmx;
}

const struct gen_family gen_family_sse_mov = {"sse-mov", "MOVAPS MOVUPS MOVSS MOVSD MOVD MOVQ ...",
                                              gen_sse_mov, have_sse2};
const struct gen_family gen_family_sse_arith = {"sse-arith", "ADD/SUB/MUL/DIV/MIN/MAX/SQRT PS SS",
                                                gen_sse_arith, have_sse2};
const struct gen_family gen_family_sse2_arith = {"sse2-arith", "ADD/SUB/MUL/DIV/MIN/MAX/SQRT PD SD",
                                                 gen_sse2_arith, have_sse2};
const struct gen_family gen_family_sse_logic = {"sse-logic", "ANDPS ANDNPS ORPS XORPS PAND ...",
                                                gen_sse_logic, have_sse2};
const struct gen_family gen_family_sse_cmp = {"sse-cmp", "CMPPS CMPSS CMPPD CMPSD (U)COMISS/SD",
                                              gen_sse_cmp, have_sse2};
const struct gen_family gen_family_sse_cvt = {"sse-cvt", "CVT* between int, float, double",
                                              gen_sse_cvt, have_sse2};
const struct gen_family gen_family_sse_shuf = {"sse-shuf", "SHUFPS UNPCK* PSHUF* PUNPCK* PACK*",
                                               gen_sse_shuf, have_sse2};
const struct gen_family gen_family_sse2_int = {"sse2-int", "PADD* PSUB* PMUL* PCMP* PSLL/PSRL/PSRA",
                                               gen_sse2_int, have_sse2};
const struct gen_family gen_family_mmx = {"mmx", "MMX integer ops, MOVD/MOVQ, EMMS", gen_mmx,
                                          have_mmx};
