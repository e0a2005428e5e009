/* SSE/SSE2 (and the MMX forms of the integer ones) arithmetic, logic, compare, conversion and
 * shuffle handlers (SDM Vol. 1 chapters 10-11, Vol. 2 per instruction): regular `op dst, src`
 * instructions run through the host kernels of sse_kernels.c; shuffles, byte shifts, masks and
 * word inserts/extracts whose immediates select lanes are done here in C. */
#include "soft/simd.h"

/* Runs a floating-point kernel-like step under the guest MXCSR; raises #XM/#UD (leaving the
 * destination unchanged) if an unmasked exception was detected. */
static void fp_finish(struct soft_cpu *cpu, uint32_t host)
{
    uint32_t raised = simd_host_leave(host);
    if (simd_mxcsr_merge(cpu, raised))
        simd_raise_xm(cpu);
}

int sse_op_kernel(struct soft_cpu *cpu, const struct soft_insn *in)
{
    const struct simd_kernel *k = simd_kernel_of(in->mnemonic);
    _Alignas(16) uint8_t d[16], s[16];
    if (!k)
        soft_raise_ud(cpu);
    if (in->op[0].kind == OPK_MMX) {
        if (!k->m)
            soft_raise_ud(cpu);
        simd_mmx_enter(cpu);
        simd_read(cpu, in, 0, d, 8, false);
        simd_read(cpu, in, 1, s, 8, false);
        k->m(d, s);
        simd_mm_write(cpu, in->op[0].reg, d);
        return 0;
    }
    if (in->op[0].kind != OPK_XMM)
        soft_raise_ud(cpu);
    simd_sse_check(cpu);
    memcpy(d, simd_xmm(cpu, in->op[0].reg), 16);
    simd_read(cpu, in, 1, s, 16, true);
    if (k->fp) {
        uint32_t mx = simd_mxcsr(cpu);
        uint32_t tiny = 0;
        if (!(mx & (1u << 11))) {
            /* Underflow unmasked: a tiny result is reported even when exact. The host runs
             * masked, where only inexact tiny results flag UE; with FZ set, every tiny result
             * is flushed and flags UE, which detects tininess (SDM Vol. 1 11.5.2.4). */
            _Alignas(16) uint8_t probe[16];
            memcpy(probe, d, 16);
            uint32_t host = simd_host_enter(mx | MXCSR_FZ);
            k->x(probe, s);
            tiny = simd_host_leave(host) & 0x10u;
        }
        /* FZ only acts while underflow is masked. */
        uint32_t host = simd_host_enter(tiny || !(mx & (1u << 11)) ? mx & ~MXCSR_FZ : mx);
        k->x(d, s);
        uint32_t raised = simd_host_leave(host) | tiny;
        if (simd_mxcsr_merge(cpu, raised))
            simd_raise_xm(cpu);
    } else {
        k->x(d, s);
    }
    memcpy(simd_xmm(cpu, in->op[0].reg), d, 16);
    return 0;
}

/* CMPPS/CMPSS/CMPPD/CMPSD xmm, xmm/m, imm8 (predicates 0..7; imm8 bits 7:3 are ignored). */
int sse_op_cmp(struct soft_cpu *cpu, const struct soft_insn *in)
{
    _Alignas(16) uint8_t d[16], s[16];
    if (in->op[0].kind != OPK_XMM || in->op[2].kind != OPK_IMM)
        soft_raise_ud(cpu);
    simd_sse_check(cpu);
    memcpy(d, simd_xmm(cpu, in->op[0].reg), 16);
    simd_read(cpu, in, 1, s, 16, true);
    uint32_t host = simd_host_enter(simd_mxcsr(cpu));
    simd_host_cmp(in->mnemonic, (unsigned)in->op[2].disp, d, s);
    fp_finish(cpu, host);
    memcpy(simd_xmm(cpu, in->op[0].reg), d, 16);
    return 0;
}

/* COMISS/UCOMISS/COMISD/UCOMISD: ZF, PF, CF from the compare; OF, SF, AF cleared. */
int sse_op_comi(struct soft_cpu *cpu, const struct soft_insn *in)
{
    _Alignas(16) uint8_t a[16], b[16];
    if (in->op[0].kind != OPK_XMM)
        soft_raise_ud(cpu);
    simd_sse_check(cpu);
    memcpy(a, simd_xmm(cpu, in->op[0].reg), 16);
    simd_read(cpu, in, 1, b, 16, false);
    uint32_t host = simd_host_enter(simd_mxcsr(cpu));
    uint64_t f = simd_host_comi(in->mnemonic, a, b);
    fp_finish(cpu, host);
    soft_flags_set(cpu, f, RFLAGS_ARITH);
    return 0;
}

/* CVTSS2SI/CVTTSS2SI/CVTSD2SI/CVTTSD2SI r32/r64, xmm/m. */
int sse_op_cvt2si(struct soft_cpu *cpu, const struct soft_insn *in)
{
    _Alignas(16) uint8_t s[16];
    if (in->op[0].kind != OPK_REG)
        soft_raise_ud(cpu);
    simd_sse_check(cpu);
    simd_read(cpu, in, 1, s, 16, false);
    bool w = in->op[0].size == 8;
    uint32_t host = simd_host_enter(simd_mxcsr(cpu));
    uint64_t v = simd_host_cvt2si(in->mnemonic, s, w);
    fp_finish(cpu, host);
    soft_reg_set(cpu, in->op[0].reg, w ? 8 : 4, v);
    return 0;
}

/* CVTSI2SS/CVTSI2SD xmm, r/m32 or r/m64. */
int sse_op_cvtsi2(struct soft_cpu *cpu, const struct soft_insn *in)
{
    _Alignas(16) uint8_t d[16];
    if (in->op[0].kind != OPK_XMM)
        soft_raise_ud(cpu);
    simd_sse_check(cpu);
    bool w = in->op[1].size == 8;
    uint64_t v = soft_op_get(cpu, in, 1);
    memcpy(d, simd_xmm(cpu, in->op[0].reg), 16);
    uint32_t host = simd_host_enter(simd_mxcsr(cpu));
    simd_host_cvtsi2(in->mnemonic, d, v, w);
    fp_finish(cpu, host);
    memcpy(simd_xmm(cpu, in->op[0].reg), d, 16);
    return 0;
}

/* CVTPI2PS/CVTPI2PD xmm, mm/m64 and CVT(T)PS2PI/CVT(T)PD2PI mm, xmm/m: an MMX register operand
 * makes the x87 -> MMX transition (a memory source does not). */
int sse_op_cvt_mmx(struct soft_cpu *cpu, const struct soft_insn *in)
{
    _Alignas(16) uint8_t d[16] = {0}, s[16];
    simd_sse_check(cpu);
    bool to_mmx = in->op[0].kind == OPK_MMX;
    if (to_mmx || in->op[1].kind == OPK_MMX)
        simd_mmx_enter(cpu);
    if (!to_mmx) {
        if (in->op[0].kind != OPK_XMM)
            soft_raise_ud(cpu);
        memcpy(d, simd_xmm(cpu, in->op[0].reg), 16);
    }
    bool align =
        in->mnemonic == ZYDIS_MNEMONIC_CVTPD2PI || in->mnemonic == ZYDIS_MNEMONIC_CVTTPD2PI;
    simd_read(cpu, in, 1, s, 16, align);
    uint32_t host = simd_host_enter(simd_mxcsr(cpu));
    simd_host_cvt_mmx(in->mnemonic, d, s);
    fp_finish(cpu, host);
    if (to_mmx)
        simd_mm_write(cpu, in->op[0].reg, d);
    else
        memcpy(simd_xmm(cpu, in->op[0].reg), d, 16);
    return 0;
}

static uint16_t get_w(const uint8_t *p, unsigned i)
{
    uint16_t v;
    memcpy(&v, p + 2 * i, 2);
    return v;
}

static uint32_t get_d(const uint8_t *p, unsigned i)
{
    uint32_t v;
    memcpy(&v, p + 4 * i, 4);
    return v;
}

/* SHUFPS, SHUFPD, PSHUFD, PSHUFLW, PSHUFHW (xmm) and PSHUFW (mm): lanes chosen by imm8. */
int sse_op_shuffle(struct soft_cpu *cpu, const struct soft_insn *in)
{
    _Alignas(16) uint8_t d[16], s[16], r[16];
    if (in->op[2].kind != OPK_IMM)
        soft_raise_ud(cpu);
    unsigned imm = (unsigned)in->op[2].disp & 0xff;
    if (in->mnemonic == ZYDIS_MNEMONIC_PSHUFW) {
        simd_mmx_enter(cpu);
        simd_read(cpu, in, 1, s, 8, false);
        for (unsigned i = 0; i < 4; i++)
            memcpy(r + 2 * i, s + 2 * ((imm >> (2 * i)) & 3), 2);
        simd_mm_write(cpu, in->op[0].reg, r);
        return 0;
    }
    if (in->op[0].kind != OPK_XMM)
        soft_raise_ud(cpu);
    simd_sse_check(cpu);
    memcpy(d, simd_xmm(cpu, in->op[0].reg), 16);
    simd_read(cpu, in, 1, s, 16, true);
    switch (in->mnemonic) {
    case ZYDIS_MNEMONIC_SHUFPS:
        for (unsigned i = 0; i < 4; i++) {
            const uint8_t *from = i < 2 ? d : s;
            memcpy(r + 4 * i, from + 4 * ((imm >> (2 * i)) & 3), 4);
        }
        break;
    case ZYDIS_MNEMONIC_SHUFPD:
        memcpy(r, d + 8 * (imm & 1), 8);
        memcpy(r + 8, s + 8 * ((imm >> 1) & 1), 8);
        break;
    case ZYDIS_MNEMONIC_PSHUFD:
        for (unsigned i = 0; i < 4; i++) {
            uint32_t v = get_d(s, (imm >> (2 * i)) & 3);
            memcpy(r + 4 * i, &v, 4);
        }
        break;
    case ZYDIS_MNEMONIC_PSHUFLW:
        for (unsigned i = 0; i < 4; i++) {
            uint16_t v = get_w(s, (imm >> (2 * i)) & 3);
            memcpy(r + 2 * i, &v, 2);
        }
        memcpy(r + 8, s + 8, 8);
        break;
    default: /* PSHUFHW */
        memcpy(r, s, 8);
        for (unsigned i = 0; i < 4; i++) {
            uint16_t v = get_w(s, 4 + ((imm >> (2 * i)) & 3));
            memcpy(r + 8 + 2 * i, &v, 2);
        }
        break;
    }
    memcpy(simd_xmm(cpu, in->op[0].reg), r, 16);
    return 0;
}

/* PSLLDQ/PSRLDQ xmm, imm8: byte shifts of the whole register (counts > 15 clear it). */
int sse_op_byteshift(struct soft_cpu *cpu, const struct soft_insn *in)
{
    _Alignas(16) uint8_t r[16] = {0};
    if (in->op[0].kind != OPK_XMM || in->op[1].kind != OPK_IMM)
        soft_raise_ud(cpu);
    simd_sse_check(cpu);
    unsigned n = (unsigned)in->op[1].disp & 0xff;
    uint8_t *x = simd_xmm(cpu, in->op[0].reg);
    if (n < 16) {
        if (in->mnemonic == ZYDIS_MNEMONIC_PSLLDQ)
            memcpy(r + n, x, 16 - n);
        else
            memcpy(r, x + n, 16 - n);
    }
    memcpy(x, r, 16);
    return 0;
}

/* PMOVMSKB r, xmm/mm; MOVMSKPS/MOVMSKPD r, xmm: sign bits gathered into a GPR. */
int sse_op_movmsk(struct soft_cpu *cpu, const struct soft_insn *in)
{
    _Alignas(16) uint8_t s[16];
    unsigned n, step;
    if (in->op[0].kind != OPK_REG)
        soft_raise_ud(cpu);
    if (in->op[1].kind == OPK_MMX) {
        simd_mmx_enter(cpu);
        n = 8;
        step = 1;
    } else if (in->op[1].kind == OPK_XMM) {
        simd_sse_check(cpu);
        step = in->mnemonic == ZYDIS_MNEMONIC_MOVMSKPS   ? 4
               : in->mnemonic == ZYDIS_MNEMONIC_MOVMSKPD ? 8
                                                         : 1;
        n = 16 / step;
    } else {
        soft_raise_ud(cpu);
    }
    simd_read(cpu, in, 1, s, 16, false);
    uint64_t m = 0;
    for (unsigned i = 0; i < n; i++)
        m |= (uint64_t)(s[i * step + step - 1] >> 7) << i;
    soft_reg_set(cpu, in->op[0].reg, in->op[0].size == 8 ? 8 : 4, m);
    return 0;
}

/* PINSRW xmm/mm, r32/m16, imm8 and PEXTRW r32, xmm/mm, imm8. */
int sse_op_pinsrw(struct soft_cpu *cpu, const struct soft_insn *in)
{
    bool mmx = in->op[0].kind == OPK_MMX;
    if (in->op[2].kind != OPK_IMM || (!mmx && in->op[0].kind != OPK_XMM))
        soft_raise_ud(cpu);
    if (mmx)
        simd_mmx_enter(cpu);
    else
        simd_sse_check(cpu);
    unsigned lane = (unsigned)in->op[2].disp & (mmx ? 3 : 7);
    uint16_t v = (uint16_t)soft_op_get(cpu, in, 1);
    uint8_t *dst = mmx ? simd_mm(cpu, in->op[0].reg) : simd_xmm(cpu, in->op[0].reg);
    memcpy(dst + 2 * lane, &v, 2);
    if (mmx)
        dst[8] = dst[9] = 0xff;
    return 0;
}

int sse_op_pextrw(struct soft_cpu *cpu, const struct soft_insn *in)
{
    bool mmx = in->op[1].kind == OPK_MMX;
    if (in->op[0].kind != OPK_REG || in->op[2].kind != OPK_IMM ||
        (!mmx && in->op[1].kind != OPK_XMM))
        soft_raise_ud(cpu);
    if (mmx)
        simd_mmx_enter(cpu);
    else
        simd_sse_check(cpu);
    unsigned lane = (unsigned)in->op[2].disp & (mmx ? 3 : 7);
    const uint8_t *src = mmx ? simd_mm(cpu, in->op[1].reg) : simd_xmm(cpu, in->op[1].reg);
    soft_reg_set(cpu, in->op[0].reg, in->op[0].size == 8 ? 8 : 4, get_w(src, lane));
    return 0;
}

/* MASKMOVDQU xmm, xmm / MASKMOVQ mm, mm: bytes of the first operand whose mask byte has its
 * top bit set are stored at DS:[rDI]. */
int sse_op_maskmov(struct soft_cpu *cpu, const struct soft_insn *in)
{
    _Alignas(16) uint8_t v[16], m[16];
    bool mmx = in->op[0].kind == OPK_MMX;
    if (mmx)
        simd_mmx_enter(cpu);
    else
        simd_sse_check(cpu);
    unsigned n = mmx ? 8 : 16;
    simd_read(cpu, in, 0, v, n, false);
    simd_read(cpu, in, 1, m, n, false);
    uint64_t a = cpu->gpr[GPR_RDI];
    if (in->asize == 4)
        a = (uint32_t)a;
    /* XXX: a segment override on MASKMOVDQU/MASKMOVQ is ignored (DS is used). */
    uint64_t lin = a + cpu->segbase[SEG_DS];
    if (cpu->mode != SOFT_MODE_64)
        lin = (uint32_t)lin;
    for (unsigned i = 0; i < n; i++)
        if (m[i] & 0x80)
            soft_translate(cpu, lin + i, ACC_WRITE, false);
    for (unsigned i = 0; i < n; i++)
        if (m[i] & 0x80)
            soft_write(cpu, lin + i, 1, v[i]);
    return 0;
}
