/* Generators for exchange instructions: XCHG (register and memory), XADD and CMPXCHG (equal and
 * unequal accumulator, with LOCK on memory), CMPXCHG8B and CMPXCHG16B (aligned, and misaligned
 * for the #GP of CMPXCHG16B). */
#include "gen.h"
#include "undef.h"

static uint64_t mask_of(unsigned size)
{
    return size == 8 ? ~0ULL : (1ULL << (size * 8)) - 1;
}

static void gen_xchg(struct gen *g)
{
    unsigned n = 1 + (unsigned)rng_below(g->rng, 3);
    for (unsigned i = 0; i < n; i++) {
        ZydisMnemonic m = rng_chance(g->rng, 50) ? ZYDIS_MNEMONIC_XCHG : ZYDIS_MNEMONIC_XADD;
        unsigned size = gen_size(g, 15);
        ZydisEncoderRequest rq;
        gen_req(&rq, m, 2);
        if (gen_op_rm(g, &rq.operands[0], size) < 0 && m == ZYDIS_MNEMONIC_XADD &&
            rng_chance(g->rng, 40))
            rq.prefixes = ZYDIS_ATTRIB_HAS_LOCK;
        /* XCHG with the accumulator has the short 90+r form. */
        unsigned r = rng_chance(g->rng, 20) && !(g->reserved & 1) ? R_AX : gen_free_reg(g, 0);
        gen_op_reg(&rq.operands[1], gen_gpr(r, size, false));
        gen_emit(g, &rq, 0);
    }
}

static void gen_cmpxchg(struct gen *g)
{
    unsigned size = gen_size(g, 15);
    ZydisEncoderRequest rq;
    gen_req(&rq, ZYDIS_MNEMONIC_CMPXCHG, 2);
    gen_reserve(g, R_AX, g->c->in.gpr[R_AX]);
    int d = gen_op_rm(g, &rq.operands[0], size);
    gen_op_reg(&rq.operands[1], gen_gpr(gen_free_reg(g, 0), size, false));
    if (d < 0 && rng_chance(g->rng, 50))
        rq.prefixes = ZYDIS_ATTRIB_HAS_LOCK;
    if (rng_chance(g->rng, 50)) { /* make the comparison succeed */
        uint64_t cur =
            d >= 0 ? g->c->in.gpr[d] : gen_win_get(g, gen_mem_ea(g, &rq.operands[0]), size);
        g->c->in.gpr[R_AX] = (g->c->in.gpr[R_AX] & ~mask_of(size)) | (cur & mask_of(size));
    }
    gen_emit(g, &rq, 0);
}

static void gen_cmpxchg8b16b(struct gen *g)
{
    bool wide = rng_chance(g->rng, 50);
    unsigned size = wide ? 16 : 8;
    ZydisEncoderRequest rq;
    gen_req(&rq, wide ? ZYDIS_MNEMONIC_CMPXCHG16B : ZYDIS_MNEMONIC_CMPXCHG8B, 1);
    gen_reserve(g, R_AX, g->c->in.gpr[R_AX]);
    gen_reserve(g, R_DX, g->c->in.gpr[R_DX]);
    gen_reserve(g, R_BX, g->c->in.gpr[R_BX]);
    gen_reserve(g, R_CX, g->c->in.gpr[R_CX]);
    /* CMPXCHG16B needs a 16-byte aligned operand (#GP otherwise): mostly aligned. */
    gen_op_mem(g, &rq.operands[0], size, wide && rng_chance(g->rng, 85) ? 16 : 1);
    if (rng_chance(g->rng, 40))
        rq.prefixes = ZYDIS_ATTRIB_HAS_LOCK;
    if (rng_chance(g->rng, 50)) { /* equal: rDX:rAX = memory */
        uint64_t ea = gen_mem_ea(g, &rq.operands[0]);
        unsigned half = size / 2;
        uint64_t lo = gen_win_get(g, ea, half), hi = gen_win_get(g, ea + half, half);
        uint64_t m = mask_of(half);
        g->c->in.gpr[R_AX] = (g->c->in.gpr[R_AX] & ~m) | lo;
        g->c->in.gpr[R_DX] = (g->c->in.gpr[R_DX] & ~m) | hi;
    }
    gen_emit(g, &rq, 0);
}

/* XXX: CMPXCHG8B is gated on CX16 too (one family for both); every x86-64 CPU we target has
 * CX16, so this only matters for a soft CPU that stops advertising it. */
static bool have_cx16(const struct gen_features *f)
{
    return f->cx16;
}

const struct gen_family gen_family_xchg = {"xchg", "XCHG XADD", gen_xchg, NULL};
const struct gen_family gen_family_cmpxchg = {"cmpxchg", "CMPXCHG", gen_cmpxchg, NULL};
const struct gen_family gen_family_cmpxchg8b16b = {"cmpxchg8b16b", "CMPXCHG8B CMPXCHG16B",
                                                   gen_cmpxchg8b16b, have_cx16};
