/* x87 FPU, MMX, SSE and SSE2 of the soft CPU: the handler lookup that table.c falls back to,
 * the FXSAVE-layout state accessors (SDM Vol. 1 10.5.1, Table 10-2), the device-not-available /
 * invalid-opcode rules (SDM Vol. 3A 2.5 CR0.EM/TS/MP, CR4.OSFXSR; Vol. 1 Table 12-1/13-1) and
 * the operand helpers that every SIMD handler file shares. */
#ifndef EMBER_SOFT_SIMD_H
#define EMBER_SOFT_SIMD_H

#include <stdbool.h>
#include <stdint.h>

#include "soft/handlers.h"

/* Offsets in the 512-byte FXSAVE area (Table 10-2). */
#define FX_FCW        0
#define FX_FSW        2
#define FX_FTW        4 /* abridged tag: bit i = physical register i is valid */
#define FX_FOP        6
#define FX_FIP        8 /* 64-bit format: RIP; 32-bit: FPU IP and FCS */
#define FX_FDP        16
#define FX_MXCSR      24
#define FX_MXCSR_MASK 28
#define FX_ST         32 /* ST(0)..ST(7) / MM0..MM7, 16 bytes each */
#define FX_XMM        160

/* MXCSR (SDM Vol. 1 10.2.3). */
#define MXCSR_FLAGS    0x3fu
#define MXCSR_DAZ      (1u << 6)
#define MXCSR_MASKS    (0x3fu << 7)
#define MXCSR_RC_SHIFT 13
#define MXCSR_FZ       (1u << 15)
/* Bits ember lets software set: everything architectural (DAZ is supported). */
#define SIMD_MXCSR_MASK 0xffffu

/* x87 status word (SDM Vol. 1 8.1.3). */
#define FSW_IE        (1u << 0)
#define FSW_DE        (1u << 1)
#define FSW_ZE        (1u << 2)
#define FSW_OE        (1u << 3)
#define FSW_UE        (1u << 4)
#define FSW_PE        (1u << 5)
#define FSW_SF        (1u << 6)
#define FSW_ES        (1u << 7)
#define FSW_C0        (1u << 8)
#define FSW_C1        (1u << 9)
#define FSW_C2        (1u << 10)
#define FSW_TOP_SHIFT 11
#define FSW_C3        (1u << 14)
#define FSW_B         (1u << 15)
#define FSW_CC        (FSW_C0 | FSW_C1 | FSW_C2 | FSW_C3)

/* Row of the SIMD handler table (simd_table.c). */
struct simd_row {
    soft_handler fn;
    uint8_t aux;
    uint8_t flags; /* SOFT_H_* */
};

/* The fallback of soft_handler_lookup for x87/MMX/SSE/SSE2 mnemonics: handler, aux and flags,
 * or NULL if ember does not implement the mnemonic. */
soft_handler soft_simd_lookup(unsigned mnemonic, unsigned *aux, unsigned *flags);
/* For mnemonics that name both a string and an SSE instruction (MOVSD, CMPSD): switches in to
 * the SSE handler when an operand is an XMM register. Returns the (possibly updated) flags. */
unsigned soft_simd_specialize(struct soft_insn *in, unsigned flags);

static inline uint8_t *simd_fx(struct soft_cpu *cpu)
{
    return cpu->ext.fpu.fxsave;
}

static inline uint8_t *simd_xmm(struct soft_cpu *cpu, unsigned n)
{
    return cpu->ext.fpu.fxsave + FX_XMM + 16 * (n & 15);
}

static inline uint16_t simd_get16(struct soft_cpu *cpu, unsigned off)
{
    uint16_t v;
    memcpy(&v, cpu->ext.fpu.fxsave + off, 2);
    return v;
}

static inline void simd_set16(struct soft_cpu *cpu, unsigned off, uint16_t v)
{
    memcpy(cpu->ext.fpu.fxsave + off, &v, 2);
}

static inline uint32_t simd_mxcsr(struct soft_cpu *cpu)
{
    uint32_t v;
    memcpy(&v, cpu->ext.fpu.fxsave + FX_MXCSR, 4);
    return v;
}

static inline void simd_set_mxcsr(struct soft_cpu *cpu, uint32_t v)
{
    memcpy(cpu->ext.fpu.fxsave + FX_MXCSR, &v, 4);
}

/* sse_state.c: availability checks (raise #UD / #NM / #MF). */
void simd_sse_check(struct soft_cpu *cpu);
/* MMX instruction: checks, then the x87 -> MMX transition (TOP = 0, all tags valid). */
void simd_mmx_enter(struct soft_cpu *cpu);
static inline uint8_t *simd_mm(struct soft_cpu *cpu, unsigned n)
{
    return cpu->ext.fpu.fxsave + FX_ST + 16 * (n & 7);
}
/* Writes MMn (8 bytes) and sets the exponent field of the aliased x87 register to all ones. */
void simd_mm_write(struct soft_cpu *cpu, unsigned n, const void *v);

/* Reads operand i into buf (len bytes): XMM (low len bytes), MMX, GPR (zero-extended) or
 * memory (the operand's own size, rest of buf zeroed; align: the access must be 16-byte
 * aligned or #GP(0)). */
void simd_read(struct soft_cpu *cpu, const struct soft_insn *in, unsigned i, void *buf,
               unsigned len, bool align);
/* Writes len bytes of buf to operand i: XMM (low len bytes, rest kept), MMX, GPR, memory
 * (all-or-nothing: both pages are checked before the first byte is written). */
void simd_write(struct soft_cpu *cpu, const struct soft_insn *in, unsigned i, const void *buf,
                unsigned len, bool align);
/* Guest memory block access for FXSAVE, FSAVE...: translated for the whole block first. */
void simd_mem_read(struct soft_cpu *cpu, uint64_t lin, void *buf, unsigned len);
void simd_mem_write(struct soft_cpu *cpu, uint64_t lin, const void *buf, unsigned len);

/* Merges SIMD floating-point exception flags (MXCSR bits 0..5) raised by an operation into
 * MXCSR; returns true if one of them is unmasked, in which case the caller must leave the
 * destination unchanged and call simd_raise_xm. */
bool simd_mxcsr_merge(struct soft_cpu *cpu, uint32_t raised);
_Noreturn void simd_raise_xm(struct soft_cpu *cpu);

/* Runs host SSE code under the guest's MXCSR (all exceptions masked on the host): enter returns
 * the host MXCSR to give back to leave, which returns the flags the code raised. */
static inline uint32_t simd_host_enter(uint32_t guest_mxcsr)
{
    uint32_t host, g = (guest_mxcsr & ~MXCSR_FLAGS & SIMD_MXCSR_MASK) | MXCSR_MASKS;
    __asm__ volatile("stmxcsr %0\n\tldmxcsr %1" : "=m"(host) : "m"(g));
    return host;
}

static inline uint32_t simd_host_leave(uint32_t host)
{
    uint32_t now;
    __asm__ volatile("stmxcsr %0\n\tldmxcsr %1" : "=m"(now) : "m"(host));
    return now & MXCSR_FLAGS;
}

/* sse_kernels.c: host-executed SSE/SSE2/MMX kernels. */
/* A regular `op dst, src` instruction: x works on 16-byte XMM images, m (or NULL when the
 * instruction has no MMX form) on 8-byte MMX images; fp: reads/raises MXCSR state. */
struct simd_kernel {
    void (*x)(uint8_t *d, const uint8_t *s);
    void (*m)(uint8_t *d, const uint8_t *s);
    bool fp;
};

const struct simd_kernel *simd_kernel_of(unsigned mnemonic);
void simd_host_cmp(unsigned mnemonic, unsigned pred, uint8_t *d, const uint8_t *s);
uint64_t simd_host_cvt2si(unsigned mnemonic, const uint8_t *s, bool w);
void simd_host_cvtsi2(unsigned mnemonic, uint8_t *d, uint64_t v, bool w);
void simd_host_cvt_mmx(unsigned mnemonic, uint8_t *d, const uint8_t *s);
uint64_t simd_host_comi(unsigned mnemonic, const uint8_t *a, const uint8_t *b);

/* Handlers (simd_table.c rows). */
/* sse_ops.c */
int sse_op_kernel(struct soft_cpu *cpu, const struct soft_insn *in);
int sse_op_cmp(struct soft_cpu *cpu, const struct soft_insn *in);
int sse_op_comi(struct soft_cpu *cpu, const struct soft_insn *in);
int sse_op_cvt2si(struct soft_cpu *cpu, const struct soft_insn *in);
int sse_op_cvtsi2(struct soft_cpu *cpu, const struct soft_insn *in);
int sse_op_cvt_mmx(struct soft_cpu *cpu, const struct soft_insn *in);
int sse_op_shuffle(struct soft_cpu *cpu, const struct soft_insn *in);
int sse_op_byteshift(struct soft_cpu *cpu, const struct soft_insn *in);
int sse_op_movmsk(struct soft_cpu *cpu, const struct soft_insn *in);
int sse_op_pinsrw(struct soft_cpu *cpu, const struct soft_insn *in);
int sse_op_pextrw(struct soft_cpu *cpu, const struct soft_insn *in);
int sse_op_maskmov(struct soft_cpu *cpu, const struct soft_insn *in);
/* sse_move.c: aux of sse_op_mov128 = 1 for the aligned forms */
int sse_op_mov128(struct soft_cpu *cpu, const struct soft_insn *in);
int sse_op_movscalar(struct soft_cpu *cpu, const struct soft_insn *in);
int sse_op_movdq(struct soft_cpu *cpu, const struct soft_insn *in);
int sse_op_movhl(struct soft_cpu *cpu, const struct soft_insn *in);
int sse_op_movq2dq(struct soft_cpu *cpu, const struct soft_insn *in);
/* mmx.c */
int mmx_op_emms(struct soft_cpu *cpu, const struct soft_insn *in);
/* fxsave.c */
int simd_op_fxsave(struct soft_cpu *cpu, const struct soft_insn *in);
int simd_op_fxrstor(struct soft_cpu *cpu, const struct soft_insn *in);
int simd_op_ldmxcsr(struct soft_cpu *cpu, const struct soft_insn *in);
int simd_op_stmxcsr(struct soft_cpu *cpu, const struct soft_insn *in);

/* x87 (x87_state.c) */
void simd_x87_check(struct soft_cpu *cpu);

#endif
