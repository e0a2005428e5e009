/* SSE/SSE2/MMX data movement (SDM Vol. 2: MOVAPS/MOVUPS/MOVAPD/MOVUPD/MOVDQA/MOVDQU, MOVNT*,
 * MOVSS/MOVSD, MOVD/MOVQ in all their forms, MOVHPS/MOVLPS/MOVHPD/MOVLPD/MOVHLPS/MOVLHPS,
 * MOVQ2DQ/MOVDQ2Q/MOVNTQ): register/memory forms differ in how the upper lanes are treated. */
#include "soft/simd.h"

/* 16-byte moves; aux = 1: the memory operand must be 16-byte aligned (#GP(0) otherwise). */
int sse_op_mov128(struct soft_cpu *cpu, const struct soft_insn *in)
{
    _Alignas(16) uint8_t b[16];
    simd_sse_check(cpu);
    if (in->op[0].kind != OPK_XMM && in->op[1].kind != OPK_XMM)
        soft_raise_ud(cpu);
    simd_read(cpu, in, 1, b, 16, in->aux != 0);
    simd_write(cpu, in, 0, b, 16, in->aux != 0);
    return 0;
}

/* MOVSS (aux 4) / MOVSD (aux 8): register to register moves the low element only; a load
 * from memory zeroes the rest of the register; a store writes the low element. */
int sse_op_movscalar(struct soft_cpu *cpu, const struct soft_insn *in)
{
    _Alignas(16) uint8_t b[16];
    unsigned n = in->aux == 8 ? 8 : 4;
    simd_sse_check(cpu);
    if (in->op[0].kind == OPK_XMM && in->op[1].kind == OPK_XMM) {
        memcpy(simd_xmm(cpu, in->op[0].reg), simd_xmm(cpu, in->op[1].reg), n);
    } else if (in->op[0].kind == OPK_XMM && in->op[1].kind == OPK_MEM) {
        simd_read(cpu, in, 1, b, 16, false);
        memcpy(simd_xmm(cpu, in->op[0].reg), b, 16);
    } else if (in->op[0].kind == OPK_MEM && in->op[1].kind == OPK_XMM) {
        simd_write(cpu, in, 0, simd_xmm(cpu, in->op[1].reg), n, false);
    } else {
        soft_raise_ud(cpu);
    }
    return 0;
}

/* MOVD (4 bytes) / MOVQ (8 bytes) between XMM, MMX, GPRs and memory: a value written to an
 * XMM or MMX register is zero-extended to the whole register. */
int sse_op_movdq(struct soft_cpu *cpu, const struct soft_insn *in)
{
    _Alignas(16) uint8_t b[16] = {0};
    const struct soft_operand *d = &in->op[0], *s = &in->op[1];
    unsigned w = in->mnemonic == ZYDIS_MNEMONIC_MOVD ? 4 : 8;
    if (d->kind == OPK_XMM || s->kind == OPK_XMM)
        simd_sse_check(cpu);
    if (d->kind == OPK_MMX || s->kind == OPK_MMX)
        simd_mmx_enter(cpu);
    if (d->kind == OPK_REG && d->size == 8)
        w = 8; /* MOVQ r64, xmm (REX.W MOVD) */
    simd_read(cpu, in, 1, b, w, false);
    memset(b + w, 0, 16 - w);
    unsigned len = d->kind == OPK_XMM ? 16 : d->kind == OPK_MMX ? 8 : w;
    simd_write(cpu, in, 0, b, len, false);
    return 0;
}

/* MOVLPS/MOVLPD/MOVHPS/MOVHPD (xmm <-> m64) and MOVHLPS/MOVLHPS (xmm, xmm). */
int sse_op_movhl(struct soft_cpu *cpu, const struct soft_insn *in)
{
    _Alignas(16) uint8_t b[16];
    simd_sse_check(cpu);
    bool high = in->mnemonic == ZYDIS_MNEMONIC_MOVHPS || in->mnemonic == ZYDIS_MNEMONIC_MOVHPD;
    switch (in->mnemonic) {
    case ZYDIS_MNEMONIC_MOVHLPS:
        if (in->op[0].kind != OPK_XMM || in->op[1].kind != OPK_XMM)
            soft_raise_ud(cpu);
        memcpy(simd_xmm(cpu, in->op[0].reg), simd_xmm(cpu, in->op[1].reg) + 8, 8);
        return 0;
    case ZYDIS_MNEMONIC_MOVLHPS:
        if (in->op[0].kind != OPK_XMM || in->op[1].kind != OPK_XMM)
            soft_raise_ud(cpu);
        memcpy(simd_xmm(cpu, in->op[0].reg) + 8, simd_xmm(cpu, in->op[1].reg), 8);
        return 0;
    default:
        break;
    }
    if (in->op[0].kind == OPK_XMM && in->op[1].kind == OPK_MEM) {
        simd_read(cpu, in, 1, b, 8, false);
        memcpy(simd_xmm(cpu, in->op[0].reg) + (high ? 8 : 0), b, 8);
    } else if (in->op[0].kind == OPK_MEM && in->op[1].kind == OPK_XMM) {
        simd_write(cpu, in, 0, simd_xmm(cpu, in->op[1].reg) + (high ? 8 : 0), 8, false);
    } else {
        soft_raise_ud(cpu);
    }
    return 0;
}

/* MOVQ2DQ xmm, mm; MOVDQ2Q mm, xmm; MOVNTQ m64, mm. */
int sse_op_movq2dq(struct soft_cpu *cpu, const struct soft_insn *in)
{
    _Alignas(16) uint8_t b[16] = {0};
    if (in->mnemonic != ZYDIS_MNEMONIC_MOVNTQ)
        simd_sse_check(cpu);
    simd_mmx_enter(cpu);
    simd_read(cpu, in, 1, b, 8, false);
    simd_write(cpu, in, 0, b, in->op[0].kind == OPK_XMM ? 16 : 8, false);
    return 0;
}
