/* Generators for MUL/IMUL (one, two and three operands) and DIV/IDIV, including the #DE cases
 * (zero divisor, quotient overflow, INT_MIN / -1). */
#include "gen.h"
#include "undef.h"

static uint64_t mask_of(unsigned size)
{
    return size == 8 ? ~0ULL : (1ULL << (size * 8)) - 1;
}

static void gen_mul(struct gen *g)
{
    unsigned size = gen_size(g, 15), form = (unsigned)rng_below(g->rng, 4);
    ZydisEncoderRequest rq;
    if (size == 1)
        form = 0;
    if (form <= 1) { /* MUL / IMUL r/m (RDX:RAX) */
        ZydisMnemonic m = form == 0 ? ZYDIS_MNEMONIC_MUL : ZYDIS_MNEMONIC_IMUL;
        if (size == 1 && rng_chance(g->rng, 50))
            m = ZYDIS_MNEMONIC_IMUL;
        gen_req(&rq, m, 1);
        gen_op_rm(g, &rq.operands[0], size);
        gen_emit(g, &rq, undef_flags(m));
    } else if (form == 2) { /* IMUL r, r/m */
        gen_req(&rq, ZYDIS_MNEMONIC_IMUL, 2);
        gen_op_reg(&rq.operands[0], gen_gpr(gen_free_reg(g, 0), size, false));
        gen_op_rm(g, &rq.operands[1], size);
        gen_emit(g, &rq, undef_flags(ZYDIS_MNEMONIC_IMUL));
    } else { /* IMUL r, r/m, imm */
        gen_req(&rq, ZYDIS_MNEMONIC_IMUL, 3);
        gen_op_reg(&rq.operands[0], gen_gpr(gen_free_reg(g, 0), size, false));
        gen_op_rm(g, &rq.operands[1], size);
        gen_op_imm(&rq.operands[2], gen_imm(g, size));
        gen_emit(g, &rq, undef_flags(ZYDIS_MNEMONIC_IMUL));
    }
    /* MUL/IMUL leave SF/ZF/AF/PF undefined: nothing may follow that reads them. */
    g->done = true;
}

/* Divisor and dividend biased to interesting cases; written into the operand's register or
 * memory. The dividend is AX (8-bit) or rDX:rAX. */
static void gen_div(struct gen *g)
{
    bool sign = rng_chance(g->rng, 50);
    ZydisMnemonic m = sign ? ZYDIS_MNEMONIC_IDIV : ZYDIS_MNEMONIC_DIV;
    unsigned size = gen_size(g, 15), bits = size * 8;
    uint64_t mask = mask_of(size);
    ZydisEncoderRequest rq;
    gen_req(&rq, m, 1);
    /* RAX and RDX hold the dividend: keep them out of the divisor operand. */
    gen_reserve(g, R_AX, g->c->in.gpr[R_AX]);
    if (size > 1)
        gen_reserve(g, R_DX, g->c->in.gpr[R_DX]);
    int reg = gen_op_rm(g, &rq.operands[0], size);

    uint64_t divisor = rng_edge(g->rng, size) & mask, lo = rng_edge(g->rng, size) & mask, hi;
    switch (rng_below(g->rng, 6)) {
    case 0: /* #DE: divide by zero */
        divisor = 0;
        hi = rng_edge(g->rng, size) & mask;
        break;
    case 1: /* most negative / -1: #DE for IDIV */
        divisor = mask;
        lo = sign ? 0 : rng_edge(g->rng, size) & mask;
        hi = sign ? (1ULL << (bits - 1)) & mask : 0;
        if (sign && size > 1) { /* rDX:rAX = INT_MIN of the double width */
            hi = 1ULL << (bits - 1);
            lo = 0;
        } else if (sign) {
            lo = 0x8000;
        }
        break;
    case 2: /* random: frequently overflows */
        hi = rng_edge(g->rng, size) & mask;
        break;
    default: /* a quotient that fits */
        if (divisor == 0)
            divisor = 1 + rng_below(g->rng, 1000);
        if (sign) {
            /* sign-extend the low half into the high half: |dividend| < 2^(bits-1) */
            hi = (lo >> (bits - 1)) & 1 ? mask : 0;
        } else {
            hi = divisor > 1 ? rng_below(g->rng, divisor) : 0;
            if (size == 8 && divisor > 1)
                hi = rng_below(g->rng, divisor);
        }
        break;
    }
    if (size == 1) { /* AX = hi:lo bytes */
        g->c->in.gpr[R_AX] = (g->c->in.gpr[R_AX] & ~0xffffULL) | ((hi & 0xff) << 8) | (lo & 0xff);
    } else {
        g->c->in.gpr[R_AX] = (g->c->in.gpr[R_AX] & ~mask) | lo;
        g->c->in.gpr[R_DX] = (g->c->in.gpr[R_DX] & ~mask) | hi;
    }
    if (reg >= 0)
        g->c->in.gpr[reg] = (g->c->in.gpr[reg] & ~mask) | divisor;
    else
        gen_win_put(g, gen_mem_ea(g, &rq.operands[0]), divisor, size);
    gen_emit(g, &rq, undef_flags(m));
    g->done = true;
}

const struct gen_family gen_family_mul = {"mul", "MUL IMUL (1, 2, 3 operands)", gen_mul, NULL};
const struct gen_family gen_family_div = {"div", "DIV IDIV incl. #DE", gen_div, NULL};
