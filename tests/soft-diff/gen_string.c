/* Generator for string instructions MOVS/CMPS/STOS/LODS/SCAS in all sizes, without prefix, with
 * REP (MOVS/STOS/LODS) or REPE/REPNE (CMPS/SCAS), DF = 0 or 1, 64- or 32-bit addressing, and
 * counts from 0. Source and destination buffers are made similar so REPE/REPNE stop at varied
 * places. Hand-encoded (the Zydis encoder needs implicit operands spelled out for these). */
#include <stdio.h>

#include "gen.h"

enum { S_MOVS, S_CMPS, S_STOS, S_LODS, S_SCAS };

static const struct {
    const char *name;
    uint8_t opcode; /* byte form; +1 for word/dword/qword */
    bool compares;
} string_ops[] = {
    [S_MOVS] = {"movs", 0xa4, false}, [S_CMPS] = {"cmps", 0xa6, true},
    [S_STOS] = {"stos", 0xaa, false}, [S_LODS] = {"lods", 0xac, false},
    [S_SCAS] = {"scas", 0xae, true},
};

static void gen_string(struct gen *g)
{
    unsigned op = (unsigned)rng_below(g->rng, 5), size = gen_size(g, 15);
    bool rep = rng_chance(g->rng, 75), a32 = rng_chance(g->rng, 20);
    bool df = rng_chance(g->rng, 40);
    uint8_t prefix = 0;
    if (rep)
        prefix = string_ops[op].compares && rng_chance(g->rng, 50) ? 0xf2 : 0xf3;

    uint64_t count = rng_chance(g->rng, 10) ? 0 : rng_below(g->rng, 24);
    uint64_t span = (count + 1) * size;
    /* Buffers inside the data page, far enough from its ends for span bytes either way. */
    uint64_t rsi = DIFF_DATA_ADDR + 0x200 + rng_below(g->rng, 0x300);
    uint64_t rdi = DIFF_DATA_ADDR + 0x900 + rng_below(g->rng, 0x300);
    if (rng_chance(g->rng, 15)) /* overlapping copy */
        rdi = rsi + (rng_below(g->rng, 16) - 8);
    uint64_t hi = a32 ? rng_next(g->rng) << 32 : 0; /* ignored with 32-bit addressing */
    uint64_t rcx = a32 ? hi | count : count;
    gen_reserve(g, R_CX, rep ? rcx : g->c->in.gpr[R_CX]);
    gen_reserve(g, R_SI, rsi | hi);
    gen_reserve(g, R_DI, rdi | hi);
    g->c->in.rflags = (g->c->in.rflags & ~0x400ULL) | (df ? 0x400ULL : 0);
    /* A REP instruction with 32-bit address size and ECX = 0 runs no iteration (SDM Vol. 2B
     * REP/REPE/REPNE; APM Vol. 3 REP), and neither manual says whether the count and pointer
     * registers are written then. Intel processors write ECX (MOVS/STOS also ESI/EDI), which
     * zero-extends RCX (RSI/RDI) like every 32-bit register write (SDM Vol. 1 3.4.1.1); AMD
     * processors leave them alone (seen on EPYC). So bits 63:32 of RCX and of the instruction's
     * pointer registers may be kept or zeroed; bits 31:0 are compared as usual (the soft CPU
     * models Intel: rep_touch in src/soft/string.c). */
    if (rep && a32 && count == 0) {
        static const uint16_t ptrs[] = {
            [S_MOVS] = 1u << R_SI | 1u << R_DI,
            [S_CMPS] = 1u << R_SI | 1u << R_DI,
            [S_STOS] = 1u << R_DI,
            [S_LODS] = 1u << R_SI,
            [S_SCAS] = 1u << R_DI,
        };
        g->c->gpr_hi_kept_or_zeroed |= (uint16_t)(1u << R_CX | ptrs[op]);
    }

    /* Similar buffers: the destination copies the source with a few changed bytes; SCAS looks
     * for AL/AX/EAX/RAX repeated. */
    if (string_ops[op].compares) {
        uint64_t lo_s = df ? rsi - span : rsi, lo_d = df ? rdi - span : rdi;
        uint64_t pattern = g->c->in.gpr[R_AX];
        for (uint64_t i = 0; i < span + size; i++) {
            uint8_t b = (uint8_t)gen_win_get(g, lo_s + i, 1);
            if (op == S_SCAS)
                b = (uint8_t)(pattern >> (8 * (i % size)));
            if (rng_chance(g->rng, 4))
                b ^= (uint8_t)(1u << rng_below(g->rng, 8));
            gen_win_put(g, lo_d + i, b, 1);
        }
    }

    uint8_t code[4];
    unsigned n = 0;
    if (a32)
        code[n++] = 0x67;
    if (size == 2)
        code[n++] = 0x66;
    if (prefix)
        code[n++] = prefix;
    if (size == 8)
        code[n++] = 0x48;
    code[n++] = (uint8_t)(string_ops[op].opcode + (size > 1));
    gen_bytes(g, code, n);

    char name[24];
    static const char suffix[] = {'b', 'w', '?', 'd', '?', '?', '?', 'q'};
    snprintf(name, sizeof name, "%s%s%c%s",
             prefix == 0xf3   ? (string_ops[op].compares ? "repe " : "rep ")
             : prefix == 0xf2 ? "repne "
                              : "",
             string_ops[op].name, suffix[size - 1], a32 ? "/a32" : "");
    gen_name(g, name);
    g->done = true;
}

const struct gen_family gen_family_string = {
    "string", "MOVS CMPS STOS LODS SCAS with REP/REPE/REPNE, DF=0/1", gen_string, NULL};
