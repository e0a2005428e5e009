/* Generators for shifts and rotates (SHL/SHR/SAR/ROL/ROR/RCL/RCR by 1, imm8 and CL) and the
 * double shifts SHLD/SHRD. Counts are biased to 0, 1, width-1, width, width+1, the masking
 * boundaries 31/32/63/64 and beyond. One instruction per case: which flags are undefined
 * depends on the count, which is known only for the initial state. */
#include "gen.h"
#include "undef.h"

static uint64_t shift_count(struct gen *g, unsigned size)
{
    const uint64_t bits = size * 8;
    switch (rng_below(g->rng, 9)) {
    case 0:
        return 0;
    case 1:
        return 1;
    case 2:
        return bits - 1;
    case 3:
        return bits;
    case 4:
        return bits + 1;
    case 5:
        return 31 + rng_below(g->rng, 3);
    case 6:
        return 63 + rng_below(g->rng, 3);
    default:
        return rng_below(g->rng, 256);
    }
}

/* Count operand: 1 (D0/D1 form), imm8, or CL (RCX reserved with random high bits). Returns the
 * count as the CPU sees it (before masking). */
static uint64_t count_operand(struct gen *g, ZydisEncoderOperand *op, unsigned size, bool one_ok)
{
    uint64_t n = shift_count(g, size);
    unsigned form = (unsigned)rng_below(g->rng, one_ok ? 3 : 2);
    if (form == 2 || (g->reserved & (1u << R_CX))) {
        gen_op_imm(op, one_ok && rng_chance(g->rng, 40) ? 1 : n & 0xff);
        return op->imm.u;
    }
    if (form == 0) {
        gen_op_imm(op, n & 0xff);
        return n & 0xff;
    }
    uint64_t rcx = (rng_next(g->rng) & ~0xffULL) | (n & 0xff);
    gen_reserve(g, R_CX, rcx);
    gen_op_reg(op, ZYDIS_REGISTER_CL);
    return n & 0xff;
}

static void gen_shift_common(struct gen *g, const ZydisMnemonic *ops, unsigned nops)
{
    ZydisMnemonic m = ops[rng_below(g->rng, nops)];
    unsigned size = gen_size(g, 15);
    ZydisEncoderRequest rq;
    gen_req(&rq, m, 2);
    uint64_t count = count_operand(g, &rq.operands[1], size, true);
    gen_op_rm(g, &rq.operands[0], size);
    gen_emit(g, &rq, undef_flags_shift(m, size, count));
    g->done = true;
}

static void gen_shift(struct gen *g)
{
    static const ZydisMnemonic ops[] = {ZYDIS_MNEMONIC_SHL, ZYDIS_MNEMONIC_SHR, ZYDIS_MNEMONIC_SAR};
    gen_shift_common(g, ops, 3);
}

static void gen_rotate(struct gen *g)
{
    static const ZydisMnemonic ops[] = {ZYDIS_MNEMONIC_ROL, ZYDIS_MNEMONIC_ROR, ZYDIS_MNEMONIC_RCL,
                                        ZYDIS_MNEMONIC_RCR};
    gen_shift_common(g, ops, 4);
}

static void gen_shiftd(struct gen *g)
{
    ZydisMnemonic m = rng_chance(g->rng, 50) ? ZYDIS_MNEMONIC_SHLD : ZYDIS_MNEMONIC_SHRD;
    unsigned size = gen_size(g, 14);
    ZydisEncoderRequest rq;
    gen_req(&rq, m, 3);
    uint64_t count = count_operand(g, &rq.operands[2], size, false);
    if (undef_shiftd_result(size, count)) { /* result undefined: pick a defined count */
        count &= 15;
        if (rq.operands[2].type == ZYDIS_OPERAND_TYPE_IMMEDIATE)
            rq.operands[2].imm.u = count;
        else
            g->c->in.gpr[R_CX] = (g->c->in.gpr[R_CX] & ~0xffULL) | count;
    }
    gen_op_rm(g, &rq.operands[0], size);
    gen_op_reg(&rq.operands[1], gen_gpr(gen_free_reg(g, 0), size, false));
    gen_emit(g, &rq, undef_flags_shiftd(size, count));
    g->done = true;
}

const struct gen_family gen_family_shift = {"shift", "SHL SHR SAR", gen_shift, NULL};
const struct gen_family gen_family_rotate = {"rotate", "ROL ROR RCL RCR", gen_rotate, NULL};
const struct gen_family gen_family_shiftd = {"shiftd", "SHLD SHRD", gen_shiftd, NULL};
