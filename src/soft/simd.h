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

/* x87_host.c: host-executed x87 operations; each returns the status word of the guest
 * instruction under the guest's exception masks. ctl: the guest FCW in bits 0..15 and FSW in
 * bits 16..31. */
enum x87_unary {
    X87_U_SQRT,
    X87_U_RNDINT,
    X87_U_SIN,
    X87_U_COS,
    X87_U_F2XM1,
    X87_U_TST,
    X87_U_XAM
};
enum x87_binary {
    X87_B_ADD,
    X87_B_SUB,
    X87_B_MUL,
    X87_B_DIV,
    X87_B_PREM,
    X87_B_PREM1,
    X87_B_SCALE
};
enum x87_pop2 { X87_P_PATAN, X87_P_YL2X, X87_P_YL2XP1 };
enum x87_push2 { X87_Q_SINCOS, X87_Q_PTAN, X87_Q_XTRACT };
uint16_t x87_host_unary(enum x87_unary op, long double *x, uint32_t ctl);
uint16_t x87_host_binary(enum x87_binary op, long double *a, long double b, uint32_t ctl);
uint16_t x87_host_pop2(enum x87_pop2 op, long double x, long double y, long double *r,
                       uint32_t ctl);
uint16_t x87_host_push2(enum x87_push2 op, long double x, long double *top, long double *below,
                        uint32_t ctl);
uint16_t x87_host_compare(bool unordered_ok, bool eflags_form, long double a, long double b,
                          uint64_t *eflags, uint32_t ctl);
uint16_t x87_host_arith_mem(unsigned op, unsigned kind, long double *st0, const uint8_t *m,
                            uint32_t ctl);
uint16_t x87_host_compare_mem(unsigned kind, long double st0, const uint8_t *m, uint32_t ctl);
uint16_t x87_host_load_f32(const uint8_t *m, long double *r, uint32_t ctl);
uint16_t x87_host_load_f64(const uint8_t *m, long double *r, uint32_t ctl);
uint16_t x87_host_const(unsigned which, long double *r, uint32_t ctl);
uint16_t x87_host_store_f(long double x, unsigned size, uint8_t *m, uint32_t ctl);
uint16_t x87_host_store_i(long double x, unsigned size, bool truncate, uint8_t *m, uint32_t ctl);

/* x87_state.c: the register stack over the FXSAVE image. */
/* Checks for a waiting x87 instruction (#NM on CR0.EM/TS, #MF if an unmasked exception is
 * pending) and records FIP/FDP; mem: the memory operand's linear address or 0. */
void x87_enter(struct soft_cpu *cpu, const struct soft_insn *in, bool waiting);
unsigned x87_top(struct soft_cpu *cpu);
bool x87_valid(struct soft_cpu *cpu, unsigned i);
long double x87_get(struct soft_cpu *cpu, unsigned i);
void x87_set(struct soft_cpu *cpu, unsigned i, long double v);
/* Pushes v (stack overflow: IE|SF|C1, QNaN indefinite if masked); false if the instruction must
 * stop (unmasked fault). */
bool x87_push(struct soft_cpu *cpu, long double v);
void x87_pop(struct soft_cpu *cpu);
/* Reads ST(i); an empty register is a stack underflow: IE|SF, C1 = 0; returns false and the
 * masked response (QNaN indefinite) in *v, or false with *unmasked set. */
bool x87_read(struct soft_cpu *cpu, unsigned i, long double *v, bool *unmasked);
/* Merges exception flags of a host status word (ES/B if one is unmasked); returns false if an
 * unmasked invalid, denormal or divide-by-zero exception means the operation is not performed
 * (destination and stack untouched). cc: FSW_* condition bits to copy from the host status
 * word. */
bool x87_merge(struct soft_cpu *cpu, uint16_t host_sw, uint16_t cc);
/* Raises IE (stack fault when sf); returns false if unmasked. */
bool x87_invalid(struct soft_cpu *cpu, bool sf, bool c1);
long double x87_indefinite(void);
/* Full 16-bit tag word (FSTENV/FSAVE) from the abridged one and the register contents. */
uint16_t x87_full_tag(struct soft_cpu *cpu);
void x87_set_full_tag(struct soft_cpu *cpu, uint16_t ftw);
void x87_reset(struct soft_cpu *cpu);
/* FINCSTP/FDECSTP: TOP +/- 1 without tag changes. */
void x87_incstp(struct soft_cpu *cpu, bool inc);
/* Changes TOP while every physical register keeps its contents (rotates the ST-ordered slots). */
void x87_set_top_keep_phys(struct soft_cpu *cpu, unsigned top);
/* FCW as the hardware stores it: reserved bits 13..15 read 0, bit 6 reads 1. */
static inline uint16_t x87_fcw_value(uint16_t v)
{
    return (uint16_t)((v & 0x1f3f) | 0x40);
}
void x87_free(struct soft_cpu *cpu, unsigned i);
/* Sets/clears FSW bits. */
void x87_set_cc(struct soft_cpu *cpu, uint16_t set, uint16_t clear);

/* x87 handlers (x87_ops.c, x87_env.c); aux as noted in simd_table.c. */
int x87_op_fld(struct soft_cpu *cpu, const struct soft_insn *in);
int x87_op_fild(struct soft_cpu *cpu, const struct soft_insn *in);
int x87_op_fbld(struct soft_cpu *cpu, const struct soft_insn *in);
int x87_op_fldconst(struct soft_cpu *cpu, const struct soft_insn *in);
int x87_op_fst(struct soft_cpu *cpu, const struct soft_insn *in);
int x87_op_fist(struct soft_cpu *cpu, const struct soft_insn *in);
int x87_op_fbstp(struct soft_cpu *cpu, const struct soft_insn *in);
int x87_op_arith(struct soft_cpu *cpu, const struct soft_insn *in);
int x87_op_compare(struct soft_cpu *cpu, const struct soft_insn *in);
int x87_op_comi(struct soft_cpu *cpu, const struct soft_insn *in);
int x87_op_unary(struct soft_cpu *cpu, const struct soft_insn *in);
int x87_op_fabs(struct soft_cpu *cpu, const struct soft_insn *in);
int x87_op_binary_st1(struct soft_cpu *cpu, const struct soft_insn *in);
int x87_op_pop2(struct soft_cpu *cpu, const struct soft_insn *in);
int x87_op_push2(struct soft_cpu *cpu, const struct soft_insn *in);
int x87_op_fxch(struct soft_cpu *cpu, const struct soft_insn *in);
int x87_op_fcmov(struct soft_cpu *cpu, const struct soft_insn *in);
int x87_op_ffree(struct soft_cpu *cpu, const struct soft_insn *in);
int x87_op_fincstp(struct soft_cpu *cpu, const struct soft_insn *in);
int x87_op_fnop(struct soft_cpu *cpu, const struct soft_insn *in);
int x87_op_fninit(struct soft_cpu *cpu, const struct soft_insn *in);
int x87_op_fldcw(struct soft_cpu *cpu, const struct soft_insn *in);
int x87_op_fnstcw(struct soft_cpu *cpu, const struct soft_insn *in);
int x87_op_fnstsw(struct soft_cpu *cpu, const struct soft_insn *in);
int x87_op_fnclex(struct soft_cpu *cpu, const struct soft_insn *in);
int x87_op_fwait(struct soft_cpu *cpu, const struct soft_insn *in);
int x87_op_fnstenv(struct soft_cpu *cpu, const struct soft_insn *in);
int x87_op_fldenv(struct soft_cpu *cpu, const struct soft_insn *in);

#endif
