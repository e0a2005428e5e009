/* Generators for flag consumers and control flow: SETcc, CMOVcc, Jcc/JMP (rel8 and rel32),
 * LOOP/LOOPE/LOOPNE/JRCXZ/JECXZ, CALL/RET (direct, indirect, RET imm16) and the stack
 * instructions PUSH/POP (register, memory, immediate, 16-bit), PUSHF/POPF, ENTER/LEAVE. Flags
 * come from the random initial RFLAGS or from a preceding flag-setting instruction. */
#include <stdio.h>

#include "gen.h"

static const char *const cc_names[16] = {"o", "no", "b", "ae", "e", "ne", "be", "a",
                                         "s", "ns", "p", "np", "l", "ge", "le", "g"};

static void maybe_producer(struct gen *g)
{
    if (rng_chance(g->rng, 50))
        gen_flag_producer(g);
}

static void gen_setcc(struct gen *g)
{
    maybe_producer(g);
    unsigned n = 1 + (unsigned)rng_below(g->rng, 3);
    for (unsigned i = 0; i < n; i++) {
        ZydisEncoderRequest rq;
        gen_req(&rq, (ZydisMnemonic)(ZYDIS_MNEMONIC_SETB), 1);
        static const ZydisMnemonic set[16] = {
            ZYDIS_MNEMONIC_SETO, ZYDIS_MNEMONIC_SETNO, ZYDIS_MNEMONIC_SETB,  ZYDIS_MNEMONIC_SETNB,
            ZYDIS_MNEMONIC_SETZ, ZYDIS_MNEMONIC_SETNZ, ZYDIS_MNEMONIC_SETBE, ZYDIS_MNEMONIC_SETNBE,
            ZYDIS_MNEMONIC_SETS, ZYDIS_MNEMONIC_SETNS, ZYDIS_MNEMONIC_SETP,  ZYDIS_MNEMONIC_SETNP,
            ZYDIS_MNEMONIC_SETL, ZYDIS_MNEMONIC_SETNL, ZYDIS_MNEMONIC_SETLE, ZYDIS_MNEMONIC_SETNLE};
        rq.mnemonic = set[rng_below(g->rng, 16)];
        gen_op_rm(g, &rq.operands[0], 1);
        gen_emit(g, &rq, 0);
    }
}

static void gen_cmovcc(struct gen *g)
{
    static const ZydisMnemonic cmov[16] = {
        ZYDIS_MNEMONIC_CMOVO, ZYDIS_MNEMONIC_CMOVNO, ZYDIS_MNEMONIC_CMOVB,  ZYDIS_MNEMONIC_CMOVNB,
        ZYDIS_MNEMONIC_CMOVZ, ZYDIS_MNEMONIC_CMOVNZ, ZYDIS_MNEMONIC_CMOVBE, ZYDIS_MNEMONIC_CMOVNBE,
        ZYDIS_MNEMONIC_CMOVS, ZYDIS_MNEMONIC_CMOVNS, ZYDIS_MNEMONIC_CMOVP,  ZYDIS_MNEMONIC_CMOVNP,
        ZYDIS_MNEMONIC_CMOVL, ZYDIS_MNEMONIC_CMOVNL, ZYDIS_MNEMONIC_CMOVLE, ZYDIS_MNEMONIC_CMOVNLE};
    maybe_producer(g);
    unsigned n = 1 + (unsigned)rng_below(g->rng, 3);
    for (unsigned i = 0; i < n; i++) {
        unsigned size = gen_size(g, 14);
        ZydisEncoderRequest rq;
        gen_req(&rq, cmov[rng_below(g->rng, 16)], 2);
        gen_op_reg(&rq.operands[0], gen_gpr(gen_free_reg(g, 0), size, false));
        gen_op_rm(g, &rq.operands[1], size);
        gen_emit(g, &rq, 0);
    }
}

/* The marker a taken branch skips: mov r32, imm32 (5 or 6 bytes). */
static unsigned marker_len(struct gen *g, unsigned *reg)
{
    *reg = gen_free_reg(g, 0);
    return *reg >= 8 ? 6 : 5;
}

static void emit_marker_reg(struct gen *g, unsigned r)
{
    uint8_t b[6];
    unsigned n = 0;
    uint32_t v = (uint32_t)rng_next(g->rng);
    if (r >= 8)
        b[n++] = 0x41;
    b[n++] = (uint8_t)(0xb8 + (r & 7));
    for (int i = 0; i < 4; i++)
        b[n++] = (uint8_t)(v >> (8 * i));
    gen_bytes(g, b, n);
}

static void gen_jcc(struct gen *g)
{
    char name[16];
    unsigned n = 1 + (unsigned)rng_below(g->rng, 3);
    maybe_producer(g);
    for (unsigned i = 0; i < n; i++) {
        unsigned cc = (unsigned)rng_below(g->rng, 16), reg, len = marker_len(g, &reg);
        unsigned form = (unsigned)rng_below(g->rng, 4);
        uint8_t b[6];
        switch (form) {
        case 0: /* Jcc rel8 */
            b[0] = (uint8_t)(0x70 + cc);
            b[1] = (uint8_t)len;
            gen_bytes(g, b, 2);
            snprintf(name, sizeof name, "j%s", cc_names[cc]);
            break;
        case 1: /* Jcc rel32 */
            b[0] = 0x0f;
            b[1] = (uint8_t)(0x80 + cc);
            b[2] = (uint8_t)len;
            b[3] = b[4] = b[5] = 0;
            gen_bytes(g, b, 6);
            snprintf(name, sizeof name, "j%s", cc_names[cc]);
            break;
        case 2: /* JMP rel8 */
            b[0] = 0xeb;
            b[1] = (uint8_t)len;
            gen_bytes(g, b, 2);
            snprintf(name, sizeof name, "jmp");
            break;
        default: /* JMP rel32 */
            b[0] = 0xe9;
            b[1] = (uint8_t)len;
            b[2] = b[3] = b[4] = 0;
            gen_bytes(g, b, 5);
            snprintf(name, sizeof name, "jmp");
            break;
        }
        emit_marker_reg(g, reg);
        if (i == 0)
            gen_name(g, name);
    }
}

static void gen_loop(struct gen *g)
{
    unsigned kind = (unsigned)rng_below(g->rng, 5);
    bool a32 = rng_chance(g->rng, 25);
    uint64_t hi = a32 ? rng_next(g->rng) << 32 : 0;
    uint8_t b[4];
    unsigned n = 0;
    if (kind == 4) { /* JRCXZ / JECXZ forward over a marker */
        uint64_t rcx = rng_chance(g->rng, 50) ? 0 : 1 + rng_below(g->rng, 4);
        gen_reserve(g, R_CX, hi | rcx);
        unsigned reg, len = marker_len(g, &reg);
        if (a32)
            b[n++] = 0x67;
        b[n++] = 0xe3;
        b[n++] = (uint8_t)len;
        gen_bytes(g, b, n);
        emit_marker_reg(g, reg);
        gen_name(g, a32 ? "jecxz" : "jrcxz");
        return;
    }
    /* LOOP/LOOPE/LOOPNE: backwards over "dec r" (ZF turns 1 when r reaches 0), or forwards. */
    static const uint8_t op[3] = {0xe2, 0xe1, 0xe0};
    static const char *const names[3] = {"loop", "loope", "loopne"};
    unsigned k = kind % 3;
    if (kind == 3) {
        uint64_t rcx = rng_below(g->rng, 3);
        gen_reserve(g, R_CX, hi | rcx);
        unsigned reg, len = marker_len(g, &reg);
        if (a32)
            b[n++] = 0x67;
        b[n++] = op[k];
        b[n++] = (uint8_t)len;
        gen_bytes(g, b, n);
        emit_marker_reg(g, reg);
    } else {
        /* Count >= 1 so the loop terminates (RCX 0 would mean 2^64 iterations). */
        gen_reserve(g, R_CX, hi | (1 + rng_below(g->rng, 20)));
        unsigned z = gen_free_reg(g, 0);
        gen_reserve(g, z, rng_below(g->rng, 6));
        uint8_t dec[3] = {(uint8_t)(0x48 | (z >= 8)), 0xff, (uint8_t)(0xc8 | (z & 7))};
        gen_bytes(g, dec, 3);
        if (a32)
            b[n++] = 0x67;
        b[n] = op[k];
        b[n + 1] = (uint8_t)(-(int)(3 + n + 2)); /* back to the DEC */
        gen_bytes(g, b, n + 2);
    }
    gen_name(g, names[k]);
}

static void gen_callret(struct gen *g)
{
    unsigned form = (unsigned)rng_below(g->rng, 3);
    uint16_t imm = rng_chance(g->rng, 50) ? 0 : (uint16_t)(rng_below(g->rng, 9) * 8);
    /* call f; jmp over; f: [ret | ret imm16]; over: */
    unsigned retlen = imm ? 3 : 1;
    if (form == 2) { /* call r64 (FF /2) with the target in a reserved register */
        unsigned r = gen_free_reg(g, 0);
        unsigned clen = r >= 8 ? 3 : 2;
        gen_reserve(g, r, gen_pc(g) + clen + 2);
        uint8_t b[3];
        unsigned n = 0;
        if (r >= 8)
            b[n++] = 0x41;
        b[n++] = 0xff;
        b[n++] = (uint8_t)(0xd0 | (r & 7));
        gen_bytes(g, b, n);
    } else {
        uint8_t call[5] = {0xe8, 2, 0, 0, 0};
        gen_bytes(g, call, 5);
    }
    uint8_t jmp[2] = {0xeb, (uint8_t)retlen};
    gen_bytes(g, jmp, 2);
    if (imm) {
        uint8_t ret[3] = {0xc2, (uint8_t)imm, (uint8_t)(imm >> 8)};
        gen_bytes(g, ret, 3);
    } else {
        uint8_t ret = 0xc3;
        gen_bytes(g, &ret, 1);
    }
    gen_name(g, form == 2 ? "call r64" : imm ? "call/ret imm16" : "call/ret");
}

/* POPF takes flags from the stack: keep the popped image to bits user mode may change (the
 * arithmetic flags, DF) plus IF=1 and the fixed bit 1, as the native run is in user mode. */
static uint64_t sane_flags_image(struct gen *g)
{
    return (rng_next(g->rng) & 0xcd5ULL) | 0x202ULL;
}

static void gen_stack(struct gen *g)
{
    unsigned n = 1 + (unsigned)rng_below(g->rng, 3);
    uint64_t sp = DIFF_STACK_TOP;
    for (unsigned i = 0; i < n; i++) {
        ZydisEncoderRequest rq;
        unsigned kind = (unsigned)rng_below(g->rng, 9);
        bool w16 = rng_chance(g->rng, 15);
        switch (kind) {
        case 0: /* push r */
            gen_req(&rq, ZYDIS_MNEMONIC_PUSH, 1);
            gen_op_reg(&rq.operands[0],
                       gen_gpr((unsigned)rng_below(g->rng, 16), w16 ? 2 : 8, false));
            gen_emit(g, &rq, 0);
            break;
        case 1: /* pop r */
            gen_req(&rq, ZYDIS_MNEMONIC_POP, 1);
            gen_op_reg(&rq.operands[0], gen_gpr(gen_free_reg(g, 0), w16 ? 2 : 8, false));
            gen_emit(g, &rq, 0);
            break;
        case 2: /* push imm */
            gen_req(&rq, ZYDIS_MNEMONIC_PUSH, 1);
            gen_op_imm(&rq.operands[0], gen_imm(g, w16 ? 2 : 4));
            if (w16)
                rq.operand_size_hint = ZYDIS_OPERAND_SIZE_HINT_16;
            gen_emit(g, &rq, 0);
            break;
        case 3: /* push m / pop m */
            gen_req(&rq, rng_chance(g->rng, 50) ? ZYDIS_MNEMONIC_PUSH : ZYDIS_MNEMONIC_POP, 1);
            gen_op_mem(g, &rq.operands[0], w16 ? 2 : 8, 1);
            gen_emit(g, &rq, 0);
            break;
        case 4: { /* pushf */
            uint8_t b[2] = {0x66, 0x9c};
            gen_bytes(g, w16 ? b : b + 1, w16 ? 2 : 1);
            gen_name(g, w16 ? "pushfw" : "pushfq");
            break;
        }
        case 5: { /* popf of a sane image at the initial stack top: first in the snippet only,
                   * so neither RSP nor the stack memory has changed (TF/AC must stay clear) */
            if (g->c->code_len != 0)
                break;
            gen_win_put(g, sp, sane_flags_image(g), w16 ? 2 : 8);
            uint8_t b[2] = {0x66, 0x9d};
            gen_bytes(g, w16 ? b : b + 1, w16 ? 2 : 1);
            gen_name(g, w16 ? "popfw" : "popfq");
            g->done = true; /* later pushes would change the stack top we wrote to */
            break;
        }
        case 6: { /* leave: RBP into the stack page (first, so nothing clobbered RBP before) */
            if (i != 0 || (g->reserved & (1u << R_BP)))
                break;
            gen_reserve(g, R_BP, DIFF_STACK_ADDR + 0x400 + 8 * rng_below(g->rng, 128));
            uint8_t b[2] = {0x66, 0xc9};
            gen_bytes(g, w16 ? b : b + 1, w16 ? 2 : 1);
            gen_name(g, "leave");
            g->done = true;
            break;
        }
        case 7: { /* enter imm16, level 0..2 (level > 0 copies frame pointers via RBP) */
            if (i != 0 || (g->reserved & (1u << R_BP)))
                break;
            gen_reserve(g, R_BP, DIFF_STACK_ADDR + 0x600 + 8 * rng_below(g->rng, 128));
            uint16_t sz = (uint16_t)(rng_below(g->rng, 32) * 8);
            uint8_t b[4] = {0xc8, (uint8_t)sz, (uint8_t)(sz >> 8), (uint8_t)rng_below(g->rng, 3)};
            gen_bytes(g, b, 4);
            gen_name(g, "enter");
            g->done = true;
            break;
        }
        default: { /* push r; pop r' (a register move through memory) */
            gen_req(&rq, ZYDIS_MNEMONIC_PUSH, 1);
            gen_op_reg(&rq.operands[0], gen_gpr((unsigned)rng_below(g->rng, 16), 8, false));
            gen_emit(g, &rq, 0);
            gen_req(&rq, ZYDIS_MNEMONIC_POP, 1);
            gen_op_reg(&rq.operands[0], gen_gpr(gen_free_reg(g, 0), 8, false));
            gen_emit(g, &rq, 0);
            break;
        }
        }
        if (g->done)
            break;
    }
}

const struct gen_family gen_family_setcc = {"setcc", "SETcc", gen_setcc, NULL};
const struct gen_family gen_family_cmovcc = {"cmovcc", "CMOVcc", gen_cmovcc, NULL};
const struct gen_family gen_family_jcc = {"jcc", "Jcc JMP rel8/rel32", gen_jcc, NULL};
const struct gen_family gen_family_loop = {"loop", "LOOP LOOPE LOOPNE JRCXZ JECXZ", gen_loop, NULL};
const struct gen_family gen_family_callret = {"callret", "CALL RET (direct, indirect, imm16)",
                                              gen_callret, NULL};
const struct gen_family gen_family_stack = {"stack", "PUSH POP PUSHF POPF ENTER LEAVE", gen_stack,
                                            NULL};
