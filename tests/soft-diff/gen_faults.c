/* Generator for targeted exceptions: #UD (UD2, LOCK on a non-lockable instruction), #BP (INT3),
 * #PF on reads, writes and page-crossing accesses next to the window, #GP on non-canonical
 * addresses and #SS on a non-canonical stack. The vector, error code (U/S bit aside), CR2,
 * faulting RIP and the registers at the fault must agree. */
#include "gen.h"

static void gen_faults(struct gen *g)
{
    ZydisEncoderRequest rq;
    unsigned r;
    switch (rng_below(g->rng, 7)) {
    case 0: {
        uint8_t b[2] = {0x0f, 0x0b};
        gen_bytes(g, b, 2);
        gen_name(g, "ud2");
        break;
    }
    case 1: {
        uint8_t b = 0xcc;
        gen_bytes(g, &b, 1);
        gen_name(g, "int3");
        break;
    }
    case 2: { /* LOCK on a register destination: #UD */
        uint8_t b[4] = {0xf0, 0x48, 0x01, (uint8_t)(0xc0 | rng_below(g->rng, 64))};
        gen_bytes(g, b, 4);
        gen_name(g, "lock add r,r");
        break;
    }
    case 3:   /* read or write in the unmapped page after the window, maybe crossing into it */
    case 4: { /* the same before the window (unmapped too) */
        unsigned size = gen_size(g, 15);
        bool after = rng_chance(g->rng, 50);
        uint64_t a = after ? DIFF_WIN_ADDR + DIFF_WIN_SIZE - size + rng_below(g->rng, 2 * size)
                           : DIFF_WIN_ADDR - 1 - rng_below(g->rng, 64);
        r = gen_free_reg(g, 0);
        gen_reserve(g, r, a);
        bool store = rng_chance(g->rng, 50);
        gen_req(&rq, ZYDIS_MNEMONIC_MOV, 2);
        ZydisEncoderOperand *m = &rq.operands[store ? 0 : 1];
        m->type = ZYDIS_OPERAND_TYPE_MEMORY;
        m->mem.base = gen_gpr(r, 8, false);
        m->mem.size = (ZyanU16)size;
        gen_op_reg(&rq.operands[store ? 1 : 0], gen_gpr(gen_free_reg(g, 0), size, false));
        gen_emit(g, &rq, 0);
        gen_name(g, store ? "mov m,r #PF" : "mov r,m #PF");
        break;
    }
    case 5: { /* non-canonical data address: #GP(0) */
        r = gen_free_reg(g, 0);
        gen_reserve(g, r,
                    (0x8000ULL << 32) ^ (rng_next(g->rng) & 0x7fff00000000ULL) ^ (1ULL << 63));
        gen_req(&rq, ZYDIS_MNEMONIC_MOV, 2);
        rq.operands[1].type = ZYDIS_OPERAND_TYPE_MEMORY;
        rq.operands[1].mem.base = gen_gpr(r, 8, false);
        rq.operands[1].mem.size = 8;
        gen_op_reg(&rq.operands[0], gen_gpr(gen_free_reg(g, 0), 8, false));
        gen_emit(g, &rq, 0);
        gen_name(g, "mov non-canonical");
        break;
    }
    default: { /* push with a non-canonical RSP: #SS(0) */
        g->c->in.gpr[R_SP] = 0x0000800000000010ULL;
        uint8_t b = (uint8_t)(0x50 + rng_below(g->rng, 8));
        gen_bytes(g, &b, 1);
        gen_name(g, "push non-canonical rsp");
        break;
    }
    }
    g->done = true;
}

const struct gen_family gen_family_faults = {
    "faults", "#UD #BP #PF #GP #SS: vector, error code, CR2, RIP", gen_faults, NULL};

/* Read-modify-write instructions (ADD/INC/NEG/XCHG/BTS/XADD to memory, with and without LOCK)
 * on a not-present page: which access the #PF error code reports (W bit) for them. */
static void gen_faults_rmw(struct gen *g)
{
    static const ZydisMnemonic ops[] = {ZYDIS_MNEMONIC_ADD, ZYDIS_MNEMONIC_INC,
                                        ZYDIS_MNEMONIC_NEG, ZYDIS_MNEMONIC_XCHG,
                                        ZYDIS_MNEMONIC_BTS, ZYDIS_MNEMONIC_XADD};
    unsigned k = (unsigned)rng_below(g->rng, 6), size = gen_size(g, 14);
    unsigned r = gen_free_reg(g, 0);
    gen_reserve(g, r, DIFF_WIN_ADDR + DIFF_WIN_SIZE + 8 * rng_below(g->rng, 64));
    ZydisEncoderRequest rq;
    bool unary = ops[k] == ZYDIS_MNEMONIC_INC || ops[k] == ZYDIS_MNEMONIC_NEG;
    gen_req(&rq, ops[k], unary ? 1 : 2);
    rq.operands[0].type = ZYDIS_OPERAND_TYPE_MEMORY;
    rq.operands[0].mem.base = gen_gpr(r, 8, false);
    rq.operands[0].mem.size = (ZyanU16)size;
    if (ops[k] == ZYDIS_MNEMONIC_BTS) /* an immediate bit offset keeps the access on that page */
        gen_op_imm(&rq.operands[1], rng_below(g->rng, size * 8));
    else if (!unary)
        gen_op_reg(&rq.operands[1], gen_gpr(gen_free_reg(g, 0), size, false));
    if (ops[k] != ZYDIS_MNEMONIC_XCHG && rng_chance(g->rng, 50))
        rq.prefixes = ZYDIS_ATTRIB_HAS_LOCK;
    gen_emit(g, &rq, 0);
    g->done = true;
}

const struct gen_family gen_family_faults_rmw = {
    "faults-rmw", "#PF error code of read-modify-write accesses (W bit)", gen_faults_rmw, NULL};
