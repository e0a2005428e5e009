/* Generators for the integer ALU families: ADD/OR/ADC/SBB/AND/SUB/XOR/CMP in every operand form
 * and size (with LOCK on memory destinations), TEST, INC/DEC and NEG/NOT. These define all the
 * flags consumers read, so a case chains one to three of them (lazy-flag interactions). */
#include "gen.h"
#include "undef.h"

static const ZydisMnemonic alu_ops[] = {
    ZYDIS_MNEMONIC_ADD, ZYDIS_MNEMONIC_OR,  ZYDIS_MNEMONIC_ADC, ZYDIS_MNEMONIC_SBB,
    ZYDIS_MNEMONIC_AND, ZYDIS_MNEMONIC_SUB, ZYDIS_MNEMONIC_XOR, ZYDIS_MNEMONIC_CMP,
};

/* A register operand of size bytes; 8-bit operands sometimes use AH..BH. */
static void reg_operand(struct gen *g, ZydisEncoderOperand *op, unsigned size, uint16_t avoid)
{
    unsigned r = gen_free_reg(g, avoid);
    bool high = size == 1 && r < 4 && rng_chance(g->rng, 25);
    gen_op_reg(op, gen_gpr(r, size, high));
}

static void emit_alu(struct gen *g)
{
    ZydisMnemonic m = alu_ops[rng_below(g->rng, 8)];
    unsigned size = gen_size(g, 15);
    ZydisEncoderRequest rq;
    gen_req(&rq, m, 2);
    switch (rng_below(g->rng, 5)) {
    case 0: /* r, r */
        reg_operand(g, &rq.operands[0], size, 0);
        reg_operand(g, &rq.operands[1], size, 0);
        break;
    case 1: /* r, m */
        reg_operand(g, &rq.operands[0], size, 0);
        gen_op_mem(g, &rq.operands[1], size, 1);
        break;
    case 2: /* m, r (LOCK sometimes) */
        gen_op_mem(g, &rq.operands[0], size, 1);
        reg_operand(g, &rq.operands[1], size, 0);
        if (m != ZYDIS_MNEMONIC_CMP && rng_chance(g->rng, 30))
            rq.prefixes = ZYDIS_ATTRIB_HAS_LOCK;
        break;
    case 3: /* r/m, imm */
        if (gen_op_rm(g, &rq.operands[0], size) < 0 && m != ZYDIS_MNEMONIC_CMP &&
            rng_chance(g->rng, 30))
            rq.prefixes = ZYDIS_ATTRIB_HAS_LOCK;
        gen_op_imm(&rq.operands[1], gen_imm(g, size));
        break;
    default: /* accumulator, imm (short forms) */
        if (g->reserved & 1) {
            reg_operand(g, &rq.operands[0], size, 0);
        } else {
            gen_op_reg(&rq.operands[0], gen_gpr(R_AX, size, false));
        }
        gen_op_imm(&rq.operands[1], gen_imm(g, size));
        break;
    }
    gen_emit(g, &rq, undef_flags(m));
}

static void gen_alu(struct gen *g)
{
    unsigned n = 1 + (unsigned)rng_below(g->rng, 3);
    for (unsigned i = 0; i < n; i++)
        emit_alu(g);
}

static void gen_test(struct gen *g)
{
    unsigned size = gen_size(g, 15);
    ZydisEncoderRequest rq;
    gen_req(&rq, ZYDIS_MNEMONIC_TEST, 2);
    gen_op_rm(g, &rq.operands[0], size);
    if (rng_chance(g->rng, 50))
        reg_operand(g, &rq.operands[1], size, 0);
    else
        gen_op_imm(&rq.operands[1], gen_imm(g, size > 4 ? 4 : size) & 0xffffffffULL &
                                        (size == 8 ? ~0ULL : (1ULL << (size * 8)) - 1));
    if (size == 8 && rq.operands[1].type == ZYDIS_OPERAND_TYPE_IMMEDIATE)
        rq.operands[1].imm.s = (int32_t)rq.operands[1].imm.u;
    gen_emit(g, &rq, undef_flags(ZYDIS_MNEMONIC_TEST));
}

static void emit_unary(struct gen *g, const ZydisMnemonic *ops)
{
    ZydisMnemonic m = ops[rng_below(g->rng, 2)];
    unsigned size = gen_size(g, 15);
    ZydisEncoderRequest rq;
    gen_req(&rq, m, 1);
    if (gen_op_rm(g, &rq.operands[0], size) < 0 && rng_chance(g->rng, 30))
        rq.prefixes = ZYDIS_ATTRIB_HAS_LOCK;
    gen_emit(g, &rq, 0);
}

static void gen_incdec(struct gen *g)
{
    static const ZydisMnemonic ops[] = {ZYDIS_MNEMONIC_INC, ZYDIS_MNEMONIC_DEC};
    unsigned n = 1 + (unsigned)rng_below(g->rng, 3);
    for (unsigned i = 0; i < n; i++)
        emit_unary(g, ops);
}

static void gen_negnot(struct gen *g)
{
    static const ZydisMnemonic ops[] = {ZYDIS_MNEMONIC_NEG, ZYDIS_MNEMONIC_NOT};
    unsigned n = 1 + (unsigned)rng_below(g->rng, 3);
    for (unsigned i = 0; i < n; i++)
        emit_unary(g, ops);
}

const struct gen_family gen_family_alu = {"alu", "ADD OR ADC SBB AND SUB XOR CMP", gen_alu, NULL};
const struct gen_family gen_family_test = {"test", "TEST", gen_test, NULL};
const struct gen_family gen_family_incdec = {"incdec", "INC DEC", gen_incdec, NULL};
const struct gen_family gen_family_negnot = {"negnot", "NEG NOT", gen_negnot, NULL};
