/* FXSAVE/FXRSTOR (SDM Vol. 2 FXSAVE, Vol. 1 10.5.1 Table 10-2/10-3) and LDMXCSR/STMXCSR: the
 * 512-byte image is ember's own state layout, so saving is a checked copy. Bytes 464..511 are
 * left to software (Linux keeps its xstate magic there) and are never written. */
#include "soft/simd.h"

#define FX_IMAGE_LEN 464 /* bytes FXSAVE writes: legacy area + XMM0..15 + reserved */

static void fx_check(struct soft_cpu *cpu)
{
    if (cpu->cr0 & (CR0_EM | CR0_TS))
        soft_raise(cpu, EXC_NM, 0, false);
}

static uint64_t fx_lin(struct soft_cpu *cpu, const struct soft_insn *in)
{
    if (in->op[0].kind != OPK_MEM)
        soft_raise_ud(cpu);
    uint64_t lin = soft_lin(cpu, in, &in->op[0]);
    if (lin & 15)
        soft_raise_gp(cpu, 0);
    return lin;
}

int simd_op_fxsave(struct soft_cpu *cpu, const struct soft_insn *in)
{
    fx_check(cpu);
    uint64_t lin = fx_lin(cpu, in);
    uint8_t img[FX_IMAGE_LEN];
    memcpy(img, simd_fx(cpu), FX_IMAGE_LEN);
    img[FX_FTW + 1] = 0;
    uint32_t mask = SIMD_MXCSR_MASK;
    memcpy(img + FX_MXCSR_MASK, &mask, 4);
    if (in->osize != 8) {
        /* 32-bit format: FPU IP/DP offsets are 32 bits followed by FCS/FDS. XXX: ember does
         * not track FCS/FDS; they are saved as 0. */
        memset(img + FX_FIP + 4, 0, 4);
        memset(img + FX_FDP + 4, 0, 4);
    }
    memset(img + 416, 0, FX_IMAGE_LEN - 416);
    simd_mem_write(cpu, lin, img, FX_IMAGE_LEN);
    return 0;
}

int simd_op_fxrstor(struct soft_cpu *cpu, const struct soft_insn *in)
{
    fx_check(cpu);
    uint64_t lin = fx_lin(cpu, in);
    uint8_t img[416];
    simd_mem_read(cpu, lin, img, sizeof(img));
    uint32_t mxcsr;
    memcpy(&mxcsr, img + FX_MXCSR, 4);
    /* The image is guest data: reserved MXCSR bits make FXRSTOR fault. */
    if (mxcsr & ~SIMD_MXCSR_MASK)
        soft_raise_gp(cpu, 0);
    uint8_t *fx = simd_fx(cpu);
    memcpy(fx, img, FX_ST);
    simd_set16(cpu, FX_FCW, x87_fcw_value(simd_get16(cpu, FX_FCW)));
    fx[FX_FTW + 1] = 0;
    memset(fx + FX_MXCSR_MASK, 0, 4);
    if (in->osize != 8) {
        memset(fx + FX_FIP + 4, 0, 4);
        memset(fx + FX_FDP + 4, 0, 4);
    }
    for (unsigned i = 0; i < 8; i++) {
        memcpy(fx + FX_ST + 16 * i, img + FX_ST + 16 * i, 10);
        memset(fx + FX_ST + 16 * i + 10, 0, 6);
    }
    memcpy(fx + FX_XMM, img + FX_XMM, 256);
    return 0;
}

int simd_op_ldmxcsr(struct soft_cpu *cpu, const struct soft_insn *in)
{
    simd_sse_check(cpu);
    if (in->op[0].kind != OPK_MEM)
        soft_raise_ud(cpu);
    uint32_t v = (uint32_t)soft_op_get(cpu, in, 0);
    if (v & ~SIMD_MXCSR_MASK)
        soft_raise_gp(cpu, 0);
    simd_set_mxcsr(cpu, v);
    return 0;
}

int simd_op_stmxcsr(struct soft_cpu *cpu, const struct soft_insn *in)
{
    simd_sse_check(cpu);
    if (in->op[0].kind != OPK_MEM)
        soft_raise_ud(cpu);
    soft_op_set(cpu, in, 0, simd_mxcsr(cpu));
    return 0;
}
