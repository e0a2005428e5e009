/* Generators for bit instructions: BT/BTS/BTR/BTC (register and memory bases, register and
 * immediate offsets; a register offset into memory addresses beyond the operand), BSF/BSR,
 * LZCNT/TZCNT/POPCNT (only when the soft CPU advertises them) and BSWAP. */
#include "gen.h"
#include "undef.h"

static uint64_t mask_of(unsigned size)
{
    return size == 8 ? ~0ULL : (1ULL << (size * 8)) - 1;
}

static void gen_bt(struct gen *g)
{
    static const ZydisMnemonic ops[] = {ZYDIS_MNEMONIC_BT, ZYDIS_MNEMONIC_BTS, ZYDIS_MNEMONIC_BTR,
                                        ZYDIS_MNEMONIC_BTC};
    ZydisMnemonic m = ops[rng_below(g->rng, 4)];
    unsigned size = gen_size(g, 14);
    ZydisEncoderRequest rq;
    gen_req(&rq, m, 2);
    bool imm = rng_chance(g->rng, 40);
    int dst = gen_op_rm(g, &rq.operands[0], size);
    if (imm) {
        gen_op_imm(&rq.operands[1], rng_below(g->rng, 256));
    } else {
        unsigned r = gen_free_reg(g, 0);
        /* A register offset on memory is signed and may reach +-2 KiB around the operand
         * (kept inside the data page, whose operand sits in its middle area); on a register
         * destination it is taken modulo the width. */
        uint64_t off;
        if (dst < 0) {
            int64_t bits = (int64_t)rng_below(g->rng, 0x3000) - 0x1800;
            uint64_t ea = gen_mem_ea(g, &rq.operands[0]);
            int64_t byte = (int64_t)(ea - DIFF_DATA_ADDR) + (bits >> 3);
            if (byte < 0 || byte > 0xff0)
                bits = (int64_t)rng_below(g->rng, size * 8);
            off = (uint64_t)bits & mask_of(size);
            off |= rng_next(g->rng) & ~mask_of(size); /* bits above the operand size */
            gen_reserve(g, r, off);
        } else {
            off = rng_edge(g->rng, 8);
            gen_reserve(g, r, off);
        }
        gen_op_reg(&rq.operands[1], gen_gpr(r, size, false));
    }
    if (dst < 0 && m != ZYDIS_MNEMONIC_BT && rng_chance(g->rng, 30))
        rq.prefixes = ZYDIS_ATTRIB_HAS_LOCK;
    gen_emit(g, &rq, undef_flags(m));
    g->done = true;
}

/* r, r/m forms whose source value decides what is defined. */
static void gen_scan(struct gen *g, const ZydisMnemonic *ops, unsigned nops, unsigned sizes)
{
    ZydisMnemonic m = ops[rng_below(g->rng, nops)];
    unsigned size = gen_size(g, sizes);
    ZydisEncoderRequest rq;
    gen_req(&rq, m, 2);
    unsigned d = gen_free_reg(g, 0);
    gen_op_reg(&rq.operands[0], gen_gpr(d, size, false));
    int s = gen_op_rm(g, &rq.operands[1], size);
    uint64_t src = s >= 0 ? g->c->in.gpr[s] : gen_win_get(g, gen_mem_ea(g, &rq.operands[1]), size);
    /* A source written earlier in the snippet (or memory: mixed sequences may store to it) may
     * be zero: then the destination counts as undefined. */
    bool unknown = (s >= 0 && !gen_reg_known(g, (unsigned)s)) || (s < 0 && g->c->code_len);
    if (((src & mask_of(size)) == 0 || unknown) &&
        (m == ZYDIS_MNEMONIC_BSF || m == ZYDIS_MNEMONIC_BSR)) /* destination undefined */
        g->c->gpr_undef |= (uint16_t)(1u << d);
    gen_emit(g, &rq, undef_flags(m));
    g->done = true;
}

static void gen_bitscan(struct gen *g)
{
    static const ZydisMnemonic ops[] = {ZYDIS_MNEMONIC_BSF, ZYDIS_MNEMONIC_BSR};
    gen_scan(g, ops, 2, 14);
}

static void gen_lzcnt(struct gen *g)
{
    static const ZydisMnemonic ops[] = {ZYDIS_MNEMONIC_LZCNT};
    gen_scan(g, ops, 1, 14);
}

static void gen_tzcnt(struct gen *g)
{
    static const ZydisMnemonic ops[] = {ZYDIS_MNEMONIC_TZCNT};
    gen_scan(g, ops, 1, 14);
}

static void gen_popcnt(struct gen *g)
{
    static const ZydisMnemonic ops[] = {ZYDIS_MNEMONIC_POPCNT};
    gen_scan(g, ops, 1, 14);
}

static void gen_bswap(struct gen *g)
{
    unsigned n = 1 + (unsigned)rng_below(g->rng, 3);
    for (unsigned i = 0; i < n; i++) {
        ZydisEncoderRequest rq;
        gen_req(&rq, ZYDIS_MNEMONIC_BSWAP, 1);
        /* BSWAP of a 16-bit register is undefined (SDM): 32 and 64 bits only. */
        gen_op_reg(&rq.operands[0], gen_gpr(gen_free_reg(g, 0), gen_size(g, 12), false));
        gen_emit(g, &rq, 0);
    }
}

static bool have_lzcnt(const struct gen_features *f)
{
    return f->lzcnt;
}

static bool have_bmi1(const struct gen_features *f)
{
    return f->bmi1;
}

static bool have_popcnt(const struct gen_features *f)
{
    return f->popcnt;
}

const struct gen_family gen_family_bt = {"bt", "BT BTS BTR BTC", gen_bt, NULL};
const struct gen_family gen_family_bitscan = {"bitscan", "BSF BSR", gen_bitscan, NULL};
const struct gen_family gen_family_lzcnt = {"lzcnt", "LZCNT (if advertised)", gen_lzcnt,
                                            have_lzcnt};
const struct gen_family gen_family_tzcnt = {"tzcnt", "TZCNT (if advertised)", gen_tzcnt, have_bmi1};
const struct gen_family gen_family_popcnt = {"popcnt", "POPCNT (if advertised)", gen_popcnt,
                                             have_popcnt};
const struct gen_family gen_family_bswap = {"bswap", "BSWAP r32/r64", gen_bswap, NULL};
