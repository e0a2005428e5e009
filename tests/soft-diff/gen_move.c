/* Generators for data movement and small fixed instructions: MOV in all forms (incl. imm64 and
 * moffs), MOVZX/MOVSX/MOVSXD, LEA with every addressing form and 32-bit address size,
 * CBW/CWDE/CDQE/CWD/CDQ/CQO, SAHF/LAHF/CLC/STC/CMC/CLD/STD, XLAT and NOP forms. */
#include <string.h>

#include "gen.h"

static void gen_mov(struct gen *g)
{
    unsigned n = 1 + (unsigned)rng_below(g->rng, 3);
    for (unsigned i = 0; i < n; i++) {
        unsigned size = gen_size(g, 15);
        ZydisEncoderRequest rq;
        gen_req(&rq, ZYDIS_MNEMONIC_MOV, 2);
        switch (rng_below(g->rng, 6)) {
        case 0: /* r, r/m */
            gen_op_reg(&rq.operands[0], gen_gpr(gen_free_reg(g, 0), size, false));
            gen_op_rm(g, &rq.operands[1], size);
            break;
        case 1: /* m, r */
            gen_op_mem(g, &rq.operands[0], size, 1);
            gen_op_reg(&rq.operands[1], gen_gpr(gen_free_reg(g, 0), size, false));
            break;
        case 2: /* r/m, imm (C6/C7: imm32 sign-extended for 64-bit) */
            gen_op_rm(g, &rq.operands[0], size);
            gen_op_imm(&rq.operands[1], gen_imm(g, size));
            break;
        case 3: /* r64, imm64 (B8+r) */
            gen_op_reg(&rq.operands[0], gen_gpr(gen_free_reg(g, 0), 8, false));
            gen_op_imm(&rq.operands[1], rng_edge(g->rng, 8) | (1ULL << 40));
            break;
        case 4: { /* moffs: mov al/ax/eax/rax, [abs64] (A0/A1) or the store (A2/A3) */
            if (g->reserved & 1) {
                g->fail = true;
                return;
            }
            uint64_t a = DIFF_DATA_ADDR + rng_below(g->rng, 0x1000 - 8);
            uint8_t b[10];
            unsigned k = 0;
            bool store = rng_chance(g->rng, 50);
            if (size == 2)
                b[k++] = 0x66;
            if (size == 8)
                b[k++] = 0x48;
            b[k++] = (uint8_t)((store ? 0xa2 : 0xa0) + (size > 1));
            memcpy(b + k, &a, 8);
            gen_bytes(g, b, k + 8);
            gen_name(g, "mov moffs");
            continue;
        }
        default: { /* MOVZX / MOVSX / MOVSXD */
            unsigned ssize = rng_chance(g->rng, 50) ? 1 : 2;
            unsigned dsize = ssize == 1 ? gen_size(g, 14) : gen_size(g, 12);
            ZydisMnemonic m = rng_chance(g->rng, 50) ? ZYDIS_MNEMONIC_MOVZX : ZYDIS_MNEMONIC_MOVSX;
            if (rng_chance(g->rng, 25)) {
                m = ZYDIS_MNEMONIC_MOVSXD;
                ssize = 4;
                dsize = 8;
            }
            rq.mnemonic = m;
            gen_op_reg(&rq.operands[0], gen_gpr(gen_free_reg(g, 0), dsize, false));
            gen_op_rm(g, &rq.operands[1], ssize);
            break;
        }
        }
        gen_emit(g, &rq, 0);
    }
}

/* LEA computes an address without accessing memory, so the registers can hold anything. */
static void gen_lea(struct gen *g)
{
    unsigned n = 1 + (unsigned)rng_below(g->rng, 2);
    for (unsigned i = 0; i < n; i++) {
        unsigned size = gen_size(g, 14);
        bool a32 = rng_chance(g->rng, 25);
        unsigned asz = a32 ? 4 : 8;
        ZydisEncoderRequest rq;
        gen_req(&rq, ZYDIS_MNEMONIC_LEA, 2);
        gen_op_reg(&rq.operands[0], gen_gpr(gen_free_reg(g, 0), size, false));
        ZydisEncoderOperand *m = &rq.operands[1];
        m->type = ZYDIS_OPERAND_TYPE_MEMORY;
        m->mem.size = (ZyanU16)size; /* the encoder wants the destination size */
        m->mem.base = ZYDIS_REGISTER_NONE;
        m->mem.index = ZYDIS_REGISTER_NONE;
        unsigned form = (unsigned)rng_below(g->rng, 5);
        if (form == 0 && !a32) {
            m->mem.base = ZYDIS_REGISTER_RIP;
            m->mem.displacement = (ZyanI64)(DIFF_CODE_ADDR + rng_below(g->rng, 0x10000));
        } else {
            /* form 1: [disp]; 0 (32-bit) and 2: [base + disp]; 3, 4: with an index */
            if (form != 1)
                m->mem.base = gen_gpr((unsigned)rng_below(g->rng, 16), asz, false);
            if (form >= 3) {
                unsigned x;
                do
                    x = (unsigned)rng_below(g->rng, 16);
                while (x == R_SP);
                m->mem.index = gen_gpr(x, asz, false);
                m->mem.scale = (ZyanU8)(1u << rng_below(g->rng, 4));
            }
            m->mem.displacement =
                (ZyanI64)(int32_t)rng_edge(g->rng, rng_chance(g->rng, 50) ? 1 : 4);
            if (rng_chance(g->rng, 50))
                m->mem.displacement = (int8_t)m->mem.displacement;
        }
        if (a32)
            rq.address_size_hint = ZYDIS_ADDRESS_SIZE_HINT_32;
        gen_emit(g, &rq, 0);
    }
}

static void emit_fixed(struct gen *g, const uint8_t *b, unsigned n, const char *name, bool first)
{
    gen_bytes(g, b, n);
    if (first)
        gen_name(g, name);
}

static void gen_convert(struct gen *g)
{
    static const struct {
        uint8_t b[2];
        unsigned n;
        const char *name;
    } ops[] = {
        {{0x66, 0x98}, 2, "cbw"}, {{0x98}, 1, "cwde"}, {{0x48, 0x98}, 2, "cdqe"},
        {{0x66, 0x99}, 2, "cwd"}, {{0x99}, 1, "cdq"},  {{0x48, 0x99}, 2, "cqo"},
    };
    unsigned n = 1 + (unsigned)rng_below(g->rng, 3);
    for (unsigned i = 0; i < n; i++) {
        unsigned k = (unsigned)rng_below(g->rng, 6);
        emit_fixed(g, ops[k].b, ops[k].n, ops[k].name, i == 0);
    }
}

static void gen_flagops(struct gen *g)
{
    static const struct {
        uint8_t b;
        const char *name;
    } ops[] = {
        {0x9e, "sahf"}, {0x9f, "lahf"}, {0xf8, "clc"}, {0xf9, "stc"},
        {0xf5, "cmc"},  {0xfc, "cld"},  {0xfd, "std"},
    };
    if (rng_chance(g->rng, 50))
        gen_flag_producer(g);
    unsigned n = 1 + (unsigned)rng_below(g->rng, 4);
    for (unsigned i = 0; i < n; i++) {
        unsigned k = (unsigned)rng_below(g->rng, 7);
        emit_fixed(g, &ops[k].b, 1, ops[k].name, i == 0);
    }
}

static void gen_misc(struct gen *g)
{
    switch (rng_below(g->rng, 4)) {
    case 0: { /* XLAT: AL = [RBX + AL] */
        gen_reserve(g, R_BX, DIFF_DATA_ADDR + rng_below(g->rng, 0xe00));
        uint8_t b[2] = {0x48, 0xd7};
        bool rexw = rng_chance(g->rng, 50);
        emit_fixed(g, rexw ? b : b + 1, rexw ? 2 : 1, "xlat", true);
        break;
    }
    case 1: { /* NOP forms: 90, 66 90, 0F 1F /0 with memory forms (never accessed) */
        static const uint8_t nops[][9] = {
            {1, 0x90},
            {2, 0x66, 0x90},
            {3, 0x0f, 0x1f, 0x00},
            {4, 0x0f, 0x1f, 0x40, 0x00},
            {5, 0x0f, 0x1f, 0x44, 0x00, 0x00},
            {8, 0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00},
        };
        unsigned k = (unsigned)rng_below(g->rng, 6);
        emit_fixed(g, &nops[k][1], nops[k][0], "nop", true);
        break;
    }
    case 2: { /* PAUSE */
        uint8_t b[2] = {0xf3, 0x90};
        emit_fixed(g, b, 2, "pause", true);
        break;
    }
    default: { /* MOV to and from AH..BH next to the full register */
        ZydisEncoderRequest rq;
        gen_req(&rq, ZYDIS_MNEMONIC_MOV, 2);
        gen_op_reg(&rq.operands[0], gen_gpr((unsigned)rng_below(g->rng, 4), 1, true));
        gen_op_reg(&rq.operands[1],
                   gen_gpr((unsigned)rng_below(g->rng, 4), 1, rng_chance(g->rng, 50)));
        gen_emit(g, &rq, 0);
        gen_name(g, "mov r8h");
        break;
    }
    }
}

const struct gen_family gen_family_mov = {"mov", "MOV MOVZX MOVSX MOVSXD (all forms)", gen_mov,
                                          NULL};
const struct gen_family gen_family_lea = {"lea", "LEA (all addressing forms, 67h)", gen_lea, NULL};
const struct gen_family gen_family_convert = {"convert", "CBW CWDE CDQE CWD CDQ CQO", gen_convert,
                                              NULL};
const struct gen_family gen_family_flagops = {"flagops", "SAHF LAHF CLC STC CMC CLD STD",
                                              gen_flagops, NULL};
const struct gen_family gen_family_misc = {"misc", "XLAT NOP PAUSE MOV r8h", gen_misc, NULL};
