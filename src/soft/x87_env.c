/* x87 control instructions (SDM Vol. 1 8.1.5-8.1.10, Vol. 2 FINIT/FLDCW/FSTCW/FSTSW/FCLEX/
 * WAIT/FSTENV/FLDENV/FSAVE/FRSTOR): control/status words, the 14/28-byte environment (16- and
 * 32-bit formats, Vol. 1 Figures 8-9/8-10) and the 94/108-byte save area. */
#include "soft/simd.h"

/* ES and B follow the unmasked exception flags after the control word changes. */
static void update_es(struct soft_cpu *cpu)
{
    uint16_t fsw = simd_get16(cpu, FX_FSW), fcw = simd_get16(cpu, FX_FCW);
    if (fsw & ~fcw & 0x3f)
        fsw |= FSW_ES | FSW_B;
    else
        fsw &= (uint16_t) ~(FSW_ES | FSW_B);
    simd_set16(cpu, FX_FSW, fsw);
}

int x87_op_fninit(struct soft_cpu *cpu, const struct soft_insn *in)
{
    x87_enter(cpu, in, false);
    x87_reset(cpu);
    return 0;
}

int x87_op_fldcw(struct soft_cpu *cpu, const struct soft_insn *in)
{
    x87_enter(cpu, in, true);
    uint16_t fcw = x87_fcw_value((uint16_t)soft_op_get(cpu, in, 0));
    simd_set16(cpu, FX_FCW, fcw);
    update_es(cpu);
    return 0;
}

int x87_op_fnstcw(struct soft_cpu *cpu, const struct soft_insn *in)
{
    x87_enter(cpu, in, false);
    soft_op_set(cpu, in, 0, simd_get16(cpu, FX_FCW));
    return 0;
}

int x87_op_fnstsw(struct soft_cpu *cpu, const struct soft_insn *in)
{
    x87_enter(cpu, in, false);
    soft_op_set(cpu, in, 0, simd_get16(cpu, FX_FSW));
    return 0;
}

int x87_op_fnclex(struct soft_cpu *cpu, const struct soft_insn *in)
{
    x87_enter(cpu, in, false);
    x87_set_cc(cpu, 0, 0xff | FSW_B);
    return 0;
}

/* WAIT/FWAIT: #NM only when both CR0.MP and CR0.TS are set; then pending #MF. */
int x87_op_fwait(struct soft_cpu *cpu, const struct soft_insn *in)
{
    if ((cpu->cr0 & (CR0_MP | CR0_TS)) == (CR0_MP | CR0_TS))
        soft_raise(cpu, EXC_NM, 0, false);
    if (simd_get16(cpu, FX_FSW) & FSW_ES)
        soft_raise(cpu, EXC_MF, 0, false);
    return 0;
}

/* Environment image: 28 bytes (32-bit operand size) or 14 bytes (16-bit). XXX: FCS, FDS and
 * FOP are not tracked and are stored as 0. */
static unsigned env_store(struct soft_cpu *cpu, const struct soft_insn *in, uint8_t *env)
{
    uint16_t w[7] = {simd_get16(cpu, FX_FCW), simd_get16(cpu, FX_FSW), x87_full_tag(cpu)};
    uint64_t fip, fdp;
    memcpy(&fip, simd_fx(cpu) + FX_FIP, 8);
    memcpy(&fdp, simd_fx(cpu) + FX_FDP, 8);
    if (in->osize == 2) {
        w[3] = (uint16_t)fip;
        w[5] = (uint16_t)fdp;
        memcpy(env, w, 14);
        return 14;
    }
    uint32_t d[7] = {0xffff0000u | w[0], 0xffff0000u | w[1], 0xffff0000u | w[2], (uint32_t)fip, 0,
                     (uint32_t)fdp,      0xffff0000u};
    memcpy(env, d, 28);
    return 28;
}

static unsigned env_load(struct soft_cpu *cpu, const struct soft_insn *in, const uint8_t *env)
{
    /* The image is guest data; every value is representable, so it is loaded as is. */
    uint16_t fcw, fsw, ftw;
    unsigned step = in->osize == 2 ? 2 : 4;
    memcpy(&fcw, env, 2);
    memcpy(&fsw, env + step, 2);
    memcpy(&ftw, env + 2 * step, 2);
    uint64_t fip = 0, fdp = 0;
    memcpy(&fip, env + 3 * step, step);
    memcpy(&fdp, env + 5 * step, step);
    x87_set_top_keep_phys(cpu, fsw >> FSW_TOP_SHIFT);
    simd_set16(cpu, FX_FCW, x87_fcw_value(fcw));
    simd_set16(cpu, FX_FSW, fsw);
    x87_set_full_tag(cpu, ftw);
    memcpy(simd_fx(cpu) + FX_FIP, &fip, 8);
    memcpy(simd_fx(cpu) + FX_FDP, &fdp, 8);
    return 7 * step;
}

static uint64_t mem_lin(struct soft_cpu *cpu, const struct soft_insn *in)
{
    if (in->op[0].kind != OPK_MEM)
        soft_raise_ud(cpu);
    return soft_lin(cpu, in, &in->op[0]);
}

/* FNSTENV (aux 0) / FNSAVE (aux 1: plus the registers, then FNINIT). FNSTENV masks all
 * exceptions afterwards. */
int x87_op_fnstenv(struct soft_cpu *cpu, const struct soft_insn *in)
{
    uint8_t img[108];
    x87_enter(cpu, in, false);
    uint64_t lin = mem_lin(cpu, in);
    unsigned n = env_store(cpu, in, img);
    if (in->aux) {
        for (unsigned i = 0; i < 8; i++)
            memcpy(img + n + 10 * i, simd_fx(cpu) + FX_ST + 16 * i, 10);
        n += 80;
    }
    simd_mem_write(cpu, lin, img, n);
    if (in->aux)
        x87_reset(cpu);
    else
        simd_set16(cpu, FX_FCW, simd_get16(cpu, FX_FCW) | 0x3f);
    return 0;
}

/* FLDENV (aux 0) / FRSTOR (aux 1). */
int x87_op_fldenv(struct soft_cpu *cpu, const struct soft_insn *in)
{
    uint8_t img[108];
    x87_enter(cpu, in, false);
    uint64_t lin = mem_lin(cpu, in);
    unsigned n = in->osize == 2 ? 14 : 28;
    simd_mem_read(cpu, lin, img, n + (in->aux ? 80 : 0));
    env_load(cpu, in, img);
    if (in->aux) {
        for (unsigned i = 0; i < 8; i++) {
            uint8_t *s = simd_fx(cpu) + FX_ST + 16 * i;
            memcpy(s, img + n + 10 * i, 10);
            memset(s + 10, 0, 6);
        }
    }
    return 0;
}
