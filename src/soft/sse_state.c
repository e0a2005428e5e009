/* Shared machinery of the SSE/MMX handlers: the #UD/#NM/#MF availability rules (SDM Vol. 3A
 * 2.5 and Vol. 1 Table 12-1/13-1), the x87 -> MMX transition (Vol. 1 9.5.1), operand access for
 * XMM/MMX/GPR/memory operands with the #GP(0) alignment rule of 16-byte SSE operands (Vol. 1
 * 4.1.1), and SIMD floating-point exception reporting through MXCSR (Vol. 1 11.5.1). */
#include "soft/simd.h"

void simd_sse_check(struct soft_cpu *cpu)
{
    if ((cpu->cr0 & CR0_EM) || !(cpu->cr4 & CR4_OSFXSR))
        soft_raise_ud(cpu);
    if (cpu->cr0 & CR0_TS)
        soft_raise(cpu, EXC_NM, 0, false);
}

void simd_mmx_enter(struct soft_cpu *cpu)
{
    if (cpu->cr0 & CR0_EM)
        soft_raise_ud(cpu);
    if (cpu->cr0 & CR0_TS)
        soft_raise(cpu, EXC_NM, 0, false);
    if (simd_get16(cpu, FX_FSW) & FSW_ES)
        soft_raise(cpu, EXC_MF, 0, false);
    x87_set_top_keep_phys(cpu, 0); /* MMi is physical register i */
    simd_fx(cpu)[FX_FTW] = 0xff;
}

void simd_mm_write(struct soft_cpu *cpu, unsigned n, const void *v)
{
    uint8_t *r = simd_mm(cpu, n);
    memcpy(r, v, 8);
    r[8] = r[9] = 0xff;
}

void simd_mem_read(struct soft_cpu *cpu, uint64_t lin, void *buf, unsigned len)
{
    uint8_t *b = buf;
    for (unsigned off = 0; off < len;) {
        unsigned n = len - off >= 8 ? 8 : len - off >= 4 ? 4 : len - off >= 2 ? 2 : 1;
        soft_store_host(b + off, n, soft_read(cpu, lin + off, n));
        off += n;
    }
}

void simd_mem_write(struct soft_cpu *cpu, uint64_t lin, const void *buf, unsigned len)
{
    if (!len)
        return;
    /* Check every page of the block first so a fault leaves memory untouched. */
    for (uint64_t p = lin & PAGE_MASK; p <= ((lin + len - 1) & PAGE_MASK); p += PAGE_SIZE)
        soft_translate(cpu, p < lin ? lin : p, ACC_WRITE, false);
    const uint8_t *b = buf;
    for (unsigned off = 0; off < len;) {
        unsigned n = len - off >= 8 ? 8 : len - off >= 4 ? 4 : len - off >= 2 ? 2 : 1;
        soft_write(cpu, lin + off, n, soft_load_host(b + off, n));
        off += n;
    }
}

static uint64_t mem_lin(struct soft_cpu *cpu, const struct soft_insn *in,
                        const struct soft_operand *o, bool align)
{
    uint64_t lin = soft_lin(cpu, in, o);
    if (align && (lin & 15))
        soft_raise_gp(cpu, 0);
    return lin;
}

void simd_read(struct soft_cpu *cpu, const struct soft_insn *in, unsigned i, void *buf,
               unsigned len, bool align)
{
    const struct soft_operand *o = &in->op[i];
    uint8_t *b = buf;
    memset(b, 0, len);
    switch (o->kind) {
    case OPK_XMM:
        memcpy(b, simd_xmm(cpu, o->reg), len > 16 ? 16 : len);
        return;
    case OPK_MMX:
        memcpy(b, simd_mm(cpu, o->reg), len > 8 ? 8 : len);
        return;
    case OPK_REG: {
        uint64_t v = soft_reg_get(cpu, o->reg, o->size);
        memcpy(b, &v, len > 8 ? 8 : len);
        return;
    }
    case OPK_IMM: {
        uint64_t v = (uint64_t)o->disp & soft_mask(o->size);
        memcpy(b, &v, len > 8 ? 8 : len);
        return;
    }
    case OPK_MEM: {
        unsigned n = o->size && o->size < len ? o->size : len;
        simd_mem_read(cpu, mem_lin(cpu, in, o, align && n == 16), b, n);
        return;
    }
    default:
        soft_raise_ud(cpu);
    }
}

void simd_write(struct soft_cpu *cpu, const struct soft_insn *in, unsigned i, const void *buf,
                unsigned len, bool align)
{
    const struct soft_operand *o = &in->op[i];
    switch (o->kind) {
    case OPK_XMM:
        memcpy(simd_xmm(cpu, o->reg), buf, len > 16 ? 16 : len);
        return;
    case OPK_MMX:
        simd_mm_write(cpu, o->reg, buf);
        return;
    case OPK_REG: {
        uint64_t v = 0;
        memcpy(&v, buf, len > 8 ? 8 : len);
        soft_reg_set(cpu, o->reg, o->size, v);
        return;
    }
    case OPK_MEM:
        simd_mem_write(cpu, mem_lin(cpu, in, o, align && len == 16), buf, len);
        return;
    default:
        soft_raise_ud(cpu);
    }
}

bool simd_mxcsr_merge(struct soft_cpu *cpu, uint32_t raised)
{
    uint32_t mx = simd_mxcsr(cpu);
    uint32_t unmasked = ~(mx >> 7) & MXCSR_FLAGS;
    raised &= MXCSR_FLAGS;
    /* An unmasked pre-computation exception (invalid, denormal, divide by zero) stops the
     * operation before the post-computation ones (overflow, underflow, precision) are
     * detected (SDM Vol. 1 11.5.1); the host ran with everything masked and reports both. */
    uint32_t pre = raised & 0x7u;
    if (pre & unmasked)
        raised = pre;
    /* XXX: with an exception unmasked, the MXCSR flags still differ from hardware in rare
     * cases (about 2 in 1000 soft-diff cases with one exception unmasked).
     * An unmasked overflow is reported without the precision flag (the result is not
     * rounded to infinity or the largest finite number). */
    if (raised & unmasked & 0x8u)
        raised &= ~0x20u;
    simd_set_mxcsr(cpu, mx | raised);
    return (raised & unmasked) != 0;
}

_Noreturn void simd_raise_xm(struct soft_cpu *cpu)
{
    if (cpu->cr4 & CR4_OSXMMEXCPT)
        soft_raise(cpu, EXC_XM, 0, false);
    soft_raise_ud(cpu);
}
