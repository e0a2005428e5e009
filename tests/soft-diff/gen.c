/* Case generator core: random numbers, initial state, operand helpers over the Zydis encoder
 * (ZydisEncoderEncodeInstructionAbsolute, so RIP-relative operands take absolute targets). */
#include <stdio.h>
#include <string.h>

#include "gen.h"

#define F_ARITH 0x8d5ULL /* CF PF AF ZF SF OF */
#define F_DF    0x400ULL

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

void rng_seed(struct rng *r, uint64_t seed)
{
    /* splitmix64 expands the seed into the four state words. */
    for (int i = 0; i < 4; i++) {
        uint64_t z = (seed += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        r->s[i] = z ^ (z >> 31);
    }
}

uint64_t rng_next(struct rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

uint64_t rng_below(struct rng *r, uint64_t n)
{
    return n ? rng_next(r) % n : 0;
}

bool rng_chance(struct rng *r, unsigned percent)
{
    return rng_below(r, 100) < percent;
}

uint64_t rng_edge(struct rng *r, unsigned size)
{
    unsigned bits = size * 8;
    uint64_t mask = bits >= 64 ? ~0ULL : (1ULL << bits) - 1;
    uint64_t v, high = rng_next(r) & ~mask;
    switch (rng_below(r, 12)) {
    case 0:
        v = 0;
        break;
    case 1:
        v = 1;
        break;
    case 2:
        v = ~0ULL; /* -1 */
        break;
    case 3:
        v = 1ULL << (bits - 1); /* most negative */
        break;
    case 4:
        v = (1ULL << (bits - 1)) - 1; /* most positive */
        break;
    case 5:
        v = rng_below(r, 16); /* small */
        break;
    case 6:
        v = (uint64_t) - (int64_t)rng_below(r, 16); /* small negative */
        break;
    case 7:
        v = 1ULL << rng_below(r, bits); /* one bit */
        break;
    case 8:
        v = (1ULL << (bits - 1)) + rng_below(r, 3) - 1; /* around the sign boundary */
        break;
    default:
        v = rng_next(r);
        break;
    }
    if (rng_chance(r, 50))
        high = 0;
    return (v & mask) | high;
}

uint64_t gen_random_flags(struct gen *g)
{
    return (rng_next(g->rng) & F_ARITH) | 0x2;
}

void gen_begin(struct gen *g, struct diff_case *c)
{
    uint16_t fam = c->family;
    uint32_t index = c->index;
    memset(c, 0, sizeof *c);
    c->family = fam;
    c->index = index;
    g->c = c;
    g->reserved = 0;
    g->written = 0;
    g->fail = false;
    g->done = false;
    for (int i = 0; i < 16; i++)
        c->in.gpr[i] = rng_edge(g->rng, 8);
    c->in.gpr[R_SP] = DIFF_STACK_TOP;
    c->in.rflags = gen_random_flags(g);
    diff_fx_default(c->in.fx);
    c->cmp_fpu = true; /* integer snippets must leave the x87/SSE state alone */
    /* The pointer and index registers of memory operands are chosen before any instruction so
     * that no earlier instruction of the snippet can overwrite them. */
    unsigned p = gen_free_reg(g, 0);
    gen_reserve(g, p, DIFF_DATA_ADDR + 0x400 + rng_below(g->rng, 0x800));
    g->ptr_reg = (int)p;
    g->idx_reg = (int)gen_free_reg(g, 0);
    gen_reserve(g, (unsigned)g->idx_reg, rng_below(g->rng, 64));
    for (unsigned i = 0; i < DIFF_WIN_SIZE; i += 8) {
        uint64_t v = rng_chance(g->rng, 25) ? rng_edge(g->rng, 1u << rng_below(g->rng, 4))
                                            : rng_next(g->rng);
        memcpy(c->win + i, &v, 8);
    }
}

ZydisRegister gen_gpr(unsigned num, unsigned size, bool high)
{
    static const ZydisRegister r8[16] = {
        ZYDIS_REGISTER_AL,   ZYDIS_REGISTER_CL,   ZYDIS_REGISTER_DL,   ZYDIS_REGISTER_BL,
        ZYDIS_REGISTER_SPL,  ZYDIS_REGISTER_BPL,  ZYDIS_REGISTER_SIL,  ZYDIS_REGISTER_DIL,
        ZYDIS_REGISTER_R8B,  ZYDIS_REGISTER_R9B,  ZYDIS_REGISTER_R10B, ZYDIS_REGISTER_R11B,
        ZYDIS_REGISTER_R12B, ZYDIS_REGISTER_R13B, ZYDIS_REGISTER_R14B, ZYDIS_REGISTER_R15B};
    static const ZydisRegister rh[4] = {ZYDIS_REGISTER_AH, ZYDIS_REGISTER_CH, ZYDIS_REGISTER_DH,
                                        ZYDIS_REGISTER_BH};
    num &= 15;
    switch (size) {
    case 1:
        return high && num < 4 ? rh[num] : r8[num];
    case 2:
        return (ZydisRegister)(ZYDIS_REGISTER_AX + num);
    case 4:
        return (ZydisRegister)(ZYDIS_REGISTER_EAX + num);
    default:
        return (ZydisRegister)(ZYDIS_REGISTER_RAX + num);
    }
}

unsigned gen_free_reg(struct gen *g, uint16_t avoid)
{
    uint16_t bad = (uint16_t)(g->reserved | avoid | (1u << R_SP));
    if (bad == 0xffff) {
        g->fail = true;
        return R_AX;
    }
    for (;;) {
        unsigned r = (unsigned)rng_below(g->rng, 16);
        if (!(bad & (1u << r)))
            return r;
    }
}

void gen_reserve(struct gen *g, unsigned reg, uint64_t value)
{
    /* already holds a pointer or count, or was overwritten: try another case */
    if ((g->reserved | g->written) & (1u << reg))
        g->fail = true;
    g->reserved |= (uint16_t)(1u << reg);
    g->c->in.gpr[reg] = value;
}

bool gen_reg_known(const struct gen *g, unsigned reg)
{
    return !(g->written & (1u << reg));
}

/* Records the GPRs the instruction at code[off..] writes (explicit and implicit operands). */
static void note_writes(struct gen *g, unsigned off)
{
    ZydisDecoder dec;
    ZydisDecodedInstruction in;
    ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
    struct diff_case *c = g->c;
    if (!ZYAN_SUCCESS(ZydisDecoderInit(&dec, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64)))
        return;
    while (off < c->code_len) {
        if (!ZYAN_SUCCESS(
                ZydisDecoderDecodeFull(&dec, c->code + off, c->code_len - off, &in, ops))) {
            g->written = 0xffff; /* unknown: assume everything */
            return;
        }
        for (unsigned i = 0; i < in.operand_count; i++) {
            if (ops[i].type != ZYDIS_OPERAND_TYPE_REGISTER ||
                !(ops[i].actions & ZYDIS_OPERAND_ACTION_MASK_WRITE))
                continue;
            ZydisRegister big =
                ZydisRegisterGetLargestEnclosing(ZYDIS_MACHINE_MODE_LONG_64, ops[i].reg.value);
            if (ZydisRegisterGetClass(big) == ZYDIS_REGCLASS_GPR64)
                g->written |= (uint16_t)(1u << ZydisRegisterGetId(big));
        }
        off += in.length;
    }
}

unsigned gen_size(struct gen *g, unsigned mask)
{
    for (;;) {
        unsigned b = (unsigned)rng_below(g->rng, 4);
        if (mask & (1u << b))
            return 1u << b;
    }
}

void gen_req(ZydisEncoderRequest *rq, ZydisMnemonic m, unsigned nops)
{
    memset(rq, 0, sizeof *rq);
    rq->machine_mode = ZYDIS_MACHINE_MODE_LONG_64;
    rq->mnemonic = m;
    rq->operand_count = (ZyanU8)nops;
}

void gen_op_reg(ZydisEncoderOperand *op, ZydisRegister r)
{
    op->type = ZYDIS_OPERAND_TYPE_REGISTER;
    op->reg.value = r;
}

void gen_op_imm(ZydisEncoderOperand *op, uint64_t v)
{
    op->type = ZYDIS_OPERAND_TYPE_IMMEDIATE;
    op->imm.u = v;
}

/* A target offset in the data page for an access of size bytes. */
static uint64_t mem_target(struct gen *g, unsigned size, unsigned align)
{
    uint64_t off = rng_below(g->rng, 0x1000 - 16 - size) + 8;
    if (align > 1)
        off &= ~(uint64_t)(align - 1);
    else if (rng_chance(g->rng, 60))
        off &= ~(uint64_t)(size - 1);
    return DIFF_DATA_ADDR + off;
}

void gen_op_mem(struct gen *g, ZydisEncoderOperand *op, unsigned size, unsigned align)
{
    uint64_t target = mem_target(g, size, align);
    op->type = ZYDIS_OPERAND_TYPE_MEMORY;
    op->mem.size = (ZyanU16)size;
    op->mem.base = ZYDIS_REGISTER_NONE;
    op->mem.index = ZYDIS_REGISTER_NONE;
    op->mem.scale = 0;
    unsigned form = (unsigned)rng_below(g->rng, 6);
    /* Register-based forms need registers whose values are still the initial ones. */
    if ((form == 2 && !gen_reg_known(g, R_SP)) ||
        (form >= 3 && !gen_reg_known(g, (unsigned)g->ptr_reg)) ||
        (form == 3 && !gen_reg_known(g, (unsigned)g->idx_reg)))
        form = (unsigned)rng_below(g->rng, 2);
    switch (form) {
    case 0: /* RIP-relative (absolute target for the encoder) */
        op->mem.base = ZYDIS_REGISTER_RIP;
        op->mem.displacement = (ZyanI64)target;
        break;
    case 1: /* absolute disp32 */
        op->mem.displacement = (ZyanI64)target;
        break;
    case 2: { /* [rsp + disp] */
        op->mem.base = ZYDIS_REGISTER_RSP;
        op->mem.displacement = (ZyanI64)(target - DIFF_STACK_TOP);
        break;
    }
    case 3: { /* [base + index * scale + disp] */
        unsigned b = (unsigned)g->ptr_reg, x = (unsigned)g->idx_reg;
        unsigned scale = 1u << rng_below(g->rng, 4);
        uint64_t xv = g->c->in.gpr[x];
        op->mem.base = gen_gpr(b, 8, false);
        op->mem.index = gen_gpr(x, 8, false);
        op->mem.scale = (ZyanU8)scale;
        op->mem.displacement = (ZyanI64)(target - g->c->in.gpr[b] - xv * scale);
        break;
    }
    default: { /* [base + disp] with disp 0, 8 or 32 bits */
        unsigned b = (unsigned)g->ptr_reg;
        op->mem.base = gen_gpr(b, 8, false);
        op->mem.displacement = (ZyanI64)(target - g->c->in.gpr[b]);
        break;
    }
    }
}

int gen_op_rm(struct gen *g, ZydisEncoderOperand *op, unsigned size)
{
    if (rng_chance(g->rng, 40)) {
        gen_op_mem(g, op, size, 1);
        return -1;
    }
    unsigned r = gen_free_reg(g, 0);
    gen_op_reg(op, gen_gpr(r, size, false));
    return (int)r;
}

uint64_t gen_pc(const struct gen *g)
{
    return DIFF_CODE_ADDR + g->c->code_len;
}

void gen_emit(struct gen *g, ZydisEncoderRequest *rq, uint64_t flags_undef)
{
    struct diff_case *c = g->c;
    uint8_t buf[ZYDIS_MAX_INSTRUCTION_LENGTH];
    ZyanUSize len = sizeof buf;
    if (g->fail)
        return;
    if (!ZYAN_SUCCESS(ZydisEncoderEncodeInstructionAbsolute(rq, buf, &len, gen_pc(g))) ||
        c->code_len + len > DIFF_CODE_MAX) {
        g->fail = true;
        return;
    }
    memcpy(c->code + c->code_len, buf, len);
    c->code_len = (uint16_t)(c->code_len + len);
    note_writes(g, c->code_len - (unsigned)len);
    c->flags_undef |= flags_undef;
    if (!c->mnemonic[0])
        snprintf(c->mnemonic, sizeof c->mnemonic, "%s", ZydisMnemonicGetString(rq->mnemonic));
}

void gen_bytes(struct gen *g, const uint8_t *b, unsigned n)
{
    struct diff_case *c = g->c;
    if (c->code_len + n > DIFF_CODE_MAX) {
        g->fail = true;
        return;
    }
    memcpy(c->code + c->code_len, b, n);
    c->code_len = (uint16_t)(c->code_len + n);
    note_writes(g, c->code_len - n);
}

bool gen_finish(struct gen *g)
{
    struct diff_case *c = g->c;
    if (g->fail || c->code_len == 0)
        return false;
    size_t pos = 0;
    ZyanUSize off = 0;
    ZydisDisassembledInstruction in;
    c->text[0] = 0;
    while (off < c->code_len) {
        if (!ZYAN_SUCCESS(ZydisDisassembleIntel(ZYDIS_MACHINE_MODE_LONG_64, DIFF_CODE_ADDR + off,
                                                c->code + off, c->code_len - off, &in))) {
            /* e.g. longer than 15 bytes on purpose: both CPUs must raise #GP(0) */
            snprintf(c->text + pos, sizeof c->text - pos, "%s(not decodable)", pos ? "; " : "");
            break;
        }
        int n = snprintf(c->text + pos, sizeof c->text - pos, "%s%s", pos ? "; " : "", in.text);
        if (n < 0 || (size_t)n >= sizeof c->text - pos) {
            pos = sizeof c->text - 1;
            break;
        }
        pos += (size_t)n;
        off += in.info.length;
    }
    return true;
}

bool gen_case(struct rng *r, const struct gen_features *feat, unsigned fam, uint32_t index,
              struct diff_case *c)
{
    struct gen g = {.rng = r, .feat = feat};
    for (int attempt = 0; attempt < 50; attempt++) {
        c->family = (uint16_t)fam;
        c->index = index;
        gen_begin(&g, c);
        gen_families[fam]->gen(&g);
        if (gen_finish(&g))
            return true;
    }
    return false;
}

uint64_t gen_mem_ea(const struct gen *g, const ZydisEncoderOperand *op)
{
    uint64_t a = (uint64_t)op->mem.displacement;
    if (op->mem.base == ZYDIS_REGISTER_RIP)
        return a;
    if (op->mem.base != ZYDIS_REGISTER_NONE)
        a += g->c->in.gpr[ZydisRegisterGetId(op->mem.base)];
    if (op->mem.index != ZYDIS_REGISTER_NONE)
        a += g->c->in.gpr[ZydisRegisterGetId(op->mem.index)] * op->mem.scale;
    return a;
}

uint64_t gen_win_get(const struct gen *g, uint64_t ea, unsigned size)
{
    uint64_t v = 0;
    if (ea >= DIFF_WIN_ADDR && ea + size <= DIFF_WIN_ADDR + DIFF_WIN_SIZE)
        memcpy(&v, g->c->win + (ea - DIFF_WIN_ADDR), size);
    return v;
}

void gen_win_put(struct gen *g, uint64_t ea, uint64_t v, unsigned size)
{
    if (ea >= DIFF_WIN_ADDR && ea + size <= DIFF_WIN_ADDR + DIFF_WIN_SIZE)
        memcpy(g->c->win + (ea - DIFF_WIN_ADDR), &v, size);
    else
        g->fail = true;
}

void gen_name(struct gen *g, const char *mnemonic)
{
    snprintf(g->c->mnemonic, sizeof g->c->mnemonic, "%s", mnemonic);
}

uint64_t gen_imm(struct gen *g, unsigned size)
{
    unsigned isz = size > 4 ? 4 : size;
    if (size > 1 && rng_chance(g->rng, 30))
        isz = 1; /* imm8 sign-extended forms */
    uint64_t v = rng_edge(g->rng, isz);
    switch (isz) {
    case 1:
        return (uint64_t)(int64_t)(int8_t)v;
    case 2:
        return (uint64_t)(int64_t)(int16_t)v;
    default:
        return (uint64_t)(int64_t)(int32_t)v;
    }
}

void gen_flag_producer(struct gen *g)
{
    static const ZydisMnemonic ops[] = {ZYDIS_MNEMONIC_ADD, ZYDIS_MNEMONIC_SUB, ZYDIS_MNEMONIC_CMP,
                                        ZYDIS_MNEMONIC_ADC, ZYDIS_MNEMONIC_SBB, ZYDIS_MNEMONIC_NEG};
    ZydisMnemonic m = ops[rng_below(g->rng, 6)];
    unsigned size = gen_size(g, 15);
    ZydisEncoderRequest rq;
    char saved[sizeof g->c->mnemonic];
    memcpy(saved, g->c->mnemonic, sizeof saved);
    g->c->mnemonic[0] = 1; /* keep the name of the instruction under test */
    if (m == ZYDIS_MNEMONIC_NEG) {
        gen_req(&rq, m, 1);
        gen_op_reg(&rq.operands[0], gen_gpr(gen_free_reg(g, 0), size, false));
    } else {
        gen_req(&rq, m, 2);
        gen_op_reg(&rq.operands[0], gen_gpr(gen_free_reg(g, 0), size, false));
        gen_op_reg(&rq.operands[1], gen_gpr(gen_free_reg(g, 0), size, false));
    }
    gen_emit(g, &rq, 0);
    memcpy(g->c->mnemonic, saved, sizeof saved);
}
