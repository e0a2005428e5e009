/* Lazy arithmetic flags (CF, PF, AF, ZF, SF, OF; SDM Vol. 1 3.4.3.1): the last flag-setting
 * operation is recorded and the flags are computed only when read, and condition codes
 * (SDM Vol. 2 Appendix B.1) evaluated from them. */
#include "soft/internal.h"

static uint64_t parity(uint64_t res)
{
    return __builtin_parity((unsigned)(res & 0xff)) ? 0 : RFLAGS_PF;
}

static uint64_t compute(const struct lazy_flags *lf)
{
    uint64_t m = soft_mask(lf->size);
    uint64_t sign = 1ULL << (lf->size * 8 - 1);
    uint64_t res = lf->res & m, a = lf->src1 & m, b = lf->src2 & m;
    uint64_t f = parity(res);
    if (res == 0)
        f |= RFLAGS_ZF;
    if (res & sign)
        f |= RFLAGS_SF;
    switch (lf->op) {
    case LF_ADD:
    case LF_ADC:
        if (lf->op == LF_ADD ? res < a : (res < a || (lf->aux && res == a)))
            f |= RFLAGS_CF;
        if ((a ^ res) & (b ^ res) & sign)
            f |= RFLAGS_OF;
        f |= (a ^ b ^ res) & RFLAGS_AF;
        break;
    case LF_SUB:
    case LF_SBB:
        if (lf->op == LF_SUB ? a < b : (lf->aux ? a <= b : a < b))
            f |= RFLAGS_CF;
        if ((a ^ b) & (a ^ res) & sign)
            f |= RFLAGS_OF;
        f |= (a ^ b ^ res) & RFLAGS_AF;
        break;
    case LF_INC:
        if (lf->aux)
            f |= RFLAGS_CF;
        if (res == sign)
            f |= RFLAGS_OF;
        f |= (a ^ 1 ^ res) & RFLAGS_AF;
        break;
    case LF_DEC:
        if (lf->aux)
            f |= RFLAGS_CF;
        if (res == sign - 1)
            f |= RFLAGS_OF;
        f |= (a ^ 1 ^ res) & RFLAGS_AF;
        break;
    case LF_RESULT:
        if (lf->aux & 1)
            f |= RFLAGS_CF;
        if (lf->aux & 2)
            f |= RFLAGS_OF;
        break;
    case LF_LOGIC:
    default:
        break; /* CF = OF = 0; AF undefined: 0 */
    }
    return f;
}

uint64_t soft_flags_get(struct soft_cpu *cpu)
{
    if (cpu->lf.op != LF_NONE) {
        cpu->rflags = (cpu->rflags & ~RFLAGS_ARITH) | compute(&cpu->lf);
        cpu->lf.op = LF_NONE;
    }
    return cpu->rflags;
}

/* Writes the bits of rflags selected by mask (the rest keep their value); bit 1 stays set. */
void soft_flags_set(struct soft_cpu *cpu, uint64_t rflags, uint64_t mask)
{
    uint64_t cur = soft_flags_get(cpu);
    cpu->rflags = ((cur & ~mask) | (rflags & mask)) | RFLAGS_FIXED1;
}

/* Condition code cc from the materialised flags: soft_cond (internal.h) has already answered
 * Z/S from any recorded result and B/BE/L/LE after CMP/SUB. */
bool soft_cond_slow(struct soft_cpu *cpu, unsigned cc)
{
    uint64_t f = soft_flags_get(cpu);
    bool r;
    switch (cc >> 1) {
    case 0:
        r = f & RFLAGS_OF;
        break;
    case 1:
        r = f & RFLAGS_CF;
        break;
    case 2:
        r = f & RFLAGS_ZF;
        break;
    case 3:
        r = f & (RFLAGS_CF | RFLAGS_ZF);
        break;
    case 4:
        r = f & RFLAGS_SF;
        break;
    case 5:
        r = f & RFLAGS_PF;
        break;
    case 6:
        r = !!(f & RFLAGS_SF) != !!(f & RFLAGS_OF);
        break;
    default:
        r = (f & RFLAGS_ZF) || (!!(f & RFLAGS_SF) != !!(f & RFLAGS_OF));
        break;
    }
    return r ^ (cc & 1);
}
