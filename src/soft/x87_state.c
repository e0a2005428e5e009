/* The x87 register stack kept in the FXSAVE image (SDM Vol. 1 8.1): TOP, the abridged tag
 * word, ST(i) slots in stack order, stack overflow/underflow (8.5.1.1), exception flag merging
 * with ES/B and deferred #MF (8.6, 8.7), the full tag word of FSTENV/FSAVE (8.1.7), and the
 * #NM/#MF checks of x87 instructions (Vol. 3A 2.5, Table 2-2). */
#include "soft/simd.h"

static uint8_t *slot(struct soft_cpu *cpu, unsigned i)
{
    return simd_fx(cpu) + FX_ST + 16 * (i & 7);
}

unsigned x87_top(struct soft_cpu *cpu)
{
    return (simd_get16(cpu, FX_FSW) >> FSW_TOP_SHIFT) & 7;
}

static void set_top(struct soft_cpu *cpu, unsigned top)
{
    uint16_t fsw = simd_get16(cpu, FX_FSW);
    fsw = (uint16_t)((fsw & ~(7u << FSW_TOP_SHIFT)) | ((top & 7) << FSW_TOP_SHIFT));
    simd_set16(cpu, FX_FSW, fsw);
}

static void set_fsw_bits(struct soft_cpu *cpu, uint16_t set, uint16_t clear)
{
    simd_set16(cpu, FX_FSW, (uint16_t)((simd_get16(cpu, FX_FSW) & ~clear) | set));
}

bool x87_valid(struct soft_cpu *cpu, unsigned i)
{
    return (simd_fx(cpu)[FX_FTW] >> ((x87_top(cpu) + i) & 7)) & 1;
}

static void set_valid(struct soft_cpu *cpu, unsigned i, bool v)
{
    unsigned bit = (x87_top(cpu) + i) & 7;
    uint8_t *ftw = &simd_fx(cpu)[FX_FTW];
    *ftw = (uint8_t)(v ? (*ftw | (1u << bit)) : (*ftw & ~(1u << bit)));
}

long double x87_get(struct soft_cpu *cpu, unsigned i)
{
    long double v = 0;
    memcpy(&v, slot(cpu, i), 10);
    return v;
}

void x87_set(struct soft_cpu *cpu, unsigned i, long double v)
{
    uint8_t *s = slot(cpu, i);
    memcpy(s, &v, 10);
    memset(s + 10, 0, 6);
    set_valid(cpu, i, true);
}

long double x87_indefinite(void)
{
    static const uint8_t ind[10] = {0, 0, 0, 0, 0, 0, 0, 0xc0, 0xff, 0xff};
    long double v = 0;
    memcpy(&v, ind, 10);
    return v;
}

bool x87_invalid(struct soft_cpu *cpu, bool sf, bool c1)
{
    uint16_t fsw = simd_get16(cpu, FX_FSW) | FSW_IE;
    if (sf)
        fsw = (uint16_t)((fsw | FSW_SF) & ~FSW_C1) | (c1 ? FSW_C1 : 0);
    bool masked = simd_get16(cpu, FX_FCW) & FSW_IE;
    if (!masked)
        fsw |= FSW_ES | FSW_B;
    simd_set16(cpu, FX_FSW, fsw);
    return masked;
}

/* The slots hold ST(0..7) in order, so a push or pop rotates them: the physical register that
 * becomes ST(0) on a push is the old ST(7). */
static void rotate(struct soft_cpu *cpu, bool push)
{
    uint8_t tmp[16], *st = simd_fx(cpu) + FX_ST;
    if (push) {
        memcpy(tmp, st + 7 * 16, 16);
        memmove(st + 16, st, 7 * 16);
        memcpy(st, tmp, 16);
    } else {
        memcpy(tmp, st, 16);
        memmove(st, st + 16, 7 * 16);
        memcpy(st + 7 * 16, tmp, 16);
    }
}

bool x87_push(struct soft_cpu *cpu, long double v)
{
    if (x87_valid(cpu, 7)) { /* overflow: the register that would become ST(0) is in use */
        if (!x87_invalid(cpu, true, true))
            return false;
        v = x87_indefinite();
    } else {
        set_fsw_bits(cpu, 0, FSW_C1);
    }
    rotate(cpu, true);
    set_top(cpu, x87_top(cpu) - 1);
    x87_set(cpu, 0, v);
    return true;
}

void x87_pop(struct soft_cpu *cpu)
{
    set_valid(cpu, 0, false);
    rotate(cpu, false);
    set_top(cpu, x87_top(cpu) + 1);
}

bool x87_read(struct soft_cpu *cpu, unsigned i, long double *v, bool *unmasked)
{
    *unmasked = false;
    if (x87_valid(cpu, i)) {
        *v = x87_get(cpu, i);
        return true;
    }
    *unmasked = !x87_invalid(cpu, true, false);
    *v = x87_indefinite();
    return false;
}

bool x87_merge(struct soft_cpu *cpu, uint16_t host_sw, uint16_t cc)
{
    uint16_t raised = host_sw & 0x3f;
    uint16_t fcw = simd_get16(cpu, FX_FCW);
    uint16_t fsw = simd_get16(cpu, FX_FSW);
    fsw = (uint16_t)((fsw & ~cc) | (host_sw & cc) | raised);
    if (raised & ~fcw & 0x3f)
        fsw |= FSW_ES | FSW_B;
    simd_set16(cpu, FX_FSW, fsw);
    /* Only an unmasked invalid, denormal or divide-by-zero exception leaves the destination
     * and the stack alone (SDM Vol. 1 8.5.1-8.5.3); with an unmasked overflow or underflow the
     * host result is the bias-adjusted one and is stored into a register (8.5.4, 8.5.5), with
     * an unmasked precision exception the rounded result (8.5.6). Stores to memory check
     * overflow/underflow themselves. The host status word already reflects the unmasked
     * response (x87_host.c), C1 included.
     * XXX: FLD ST(i) of an empty register with IE unmasked pushes on hardware; not here. */
    return !(raised & ~fcw & 0x07);
}

/* Tag of one register from its contents: 0 valid, 1 zero, 2 special (NaN, infinity,
 * denormal, unsupported encodings). */
static unsigned tag_of(const uint8_t *r)
{
    uint64_t mant;
    uint16_t se;
    memcpy(&mant, r, 8);
    memcpy(&se, r + 8, 2);
    unsigned exp = se & 0x7fff;
    if (exp == 0x7fff)
        return 2;
    if (exp == 0)
        return mant ? 2 : 1;
    return (mant >> 63) ? 0 : 2; /* unnormal: integer bit clear */
}

uint16_t x87_full_tag(struct soft_cpu *cpu)
{
    uint16_t ftw = 0;
    unsigned top = x87_top(cpu);
    uint8_t abridged = simd_fx(cpu)[FX_FTW];
    for (unsigned phys = 0; phys < 8; phys++) {
        unsigned tag = 3;
        if ((abridged >> phys) & 1)
            tag = tag_of(slot(cpu, (phys - top) & 7));
        ftw |= (uint16_t)(tag << (2 * phys));
    }
    return ftw;
}

void x87_set_full_tag(struct soft_cpu *cpu, uint16_t ftw)
{
    uint8_t abridged = 0;
    for (unsigned phys = 0; phys < 8; phys++)
        if (((ftw >> (2 * phys)) & 3) != 3)
            abridged |= (uint8_t)(1u << phys);
    simd_fx(cpu)[FX_FTW] = abridged;
}

void x87_set_top_keep_phys(struct soft_cpu *cpu, unsigned top)
{
    while (x87_top(cpu) != (top & 7))
        x87_incstp(cpu, true);
}

void x87_reset(struct soft_cpu *cpu)
{
    x87_set_top_keep_phys(cpu, 0);
    simd_set16(cpu, FX_FCW, 0x37f);
    simd_set16(cpu, FX_FSW, 0);
    simd_fx(cpu)[FX_FTW] = 0;
    memset(simd_fx(cpu) + FX_FOP, 0, 2 + 8 + 8);
}

void x87_enter(struct soft_cpu *cpu, const struct soft_insn *in, bool waiting)
{
    if (cpu->cr0 & (CR0_EM | CR0_TS))
        soft_raise(cpu, EXC_NM, 0, false);
    if (waiting && (simd_get16(cpu, FX_FSW) & FSW_ES))
        soft_raise(cpu, EXC_MF, 0, false); /* XXX: CR0.NE = 0 (FERR# interrupt) not modelled */
    if (!waiting)
        return;
    /* Last instruction and data pointers (FOP is not tracked: XXX). */
    memcpy(simd_fx(cpu) + FX_FIP, &cpu->insn_rip, 8);
    for (unsigned i = 0; i < in->nops; i++) {
        if (in->op[i].kind == OPK_MEM) {
            uint64_t lin = soft_lin(cpu, in, &in->op[i]);
            memcpy(simd_fx(cpu) + FX_FDP, &lin, 8);
        }
    }
}

void x87_incstp(struct soft_cpu *cpu, bool inc)
{
    rotate(cpu, !inc);
    set_top(cpu, inc ? x87_top(cpu) + 1 : x87_top(cpu) - 1);
    set_fsw_bits(cpu, 0, FSW_C1);
}

void x87_free(struct soft_cpu *cpu, unsigned i)
{
    set_valid(cpu, i, false);
}

void x87_set_cc(struct soft_cpu *cpu, uint16_t set, uint16_t clear)
{
    set_fsw_bits(cpu, set, clear);
}
