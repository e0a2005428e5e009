/* Instruction handlers of the soft CPU (one signature for all, see soft_handler) and the helpers
 * they share across instruction-family files. Included by the handler files and table.c. */
#ifndef EMBER_SOFT_HANDLERS_H
#define EMBER_SOFT_HANDLERS_H

#include <Zydis/Zydis.h>

#include "soft/internal.h"

/* Shared helpers. */
bool soft_cas(void *p, unsigned size, uint64_t *expected, uint64_t desired);
void *soft_locked_ptr(struct soft_cpu *cpu, const struct soft_insn *in, unsigned i);
uint64_t soft_stack_peek(struct soft_cpu *cpu, unsigned off, unsigned size);
void soft_push64(struct soft_cpu *cpu, uint64_t v);
uint64_t soft_pop64(struct soft_cpu *cpu);
void soft_io_check(struct soft_cpu *cpu);
uint64_t soft_port_in(struct soft_cpu *cpu, uint16_t port, unsigned size);
void soft_port_out(struct soft_cpu *cpu, uint16_t port, unsigned size, uint64_t v);
void soft_far_load_cs(struct soft_cpu *cpu, uint16_t sel, unsigned new_cpl);
void soft_far_load_ss(struct soft_cpu *cpu, uint16_t sel, unsigned new_cpl);

/* Handlers, by file. */
/* alu.c */
int soft_op_alu(struct soft_cpu *cpu, const struct soft_insn *in);
int soft_op_test(struct soft_cpu *cpu, const struct soft_insn *in);
int soft_op_incdec(struct soft_cpu *cpu, const struct soft_insn *in);
int soft_op_neg(struct soft_cpu *cpu, const struct soft_insn *in);
int soft_op_not(struct soft_cpu *cpu, const struct soft_insn *in);
int soft_op_mov(struct soft_cpu *cpu, const struct soft_insn *in);
int soft_op_mov_ri(struct soft_cpu *cpu, const struct soft_insn *in);
int soft_op_mov_rm(struct soft_cpu *cpu, const struct soft_insn *in);
int soft_op_mov_mr(struct soft_cpu *cpu, const struct soft_insn *in);
int soft_op_movzx(struct soft_cpu *cpu, const struct soft_insn *in);
int soft_op_movsx(struct soft_cpu *cpu, const struct soft_insn *in);
int soft_op_lea(struct soft_cpu *cpu, const struct soft_insn *in);
int soft_op_xchg(struct soft_cpu *cpu, const struct soft_insn *in);
int soft_op_xadd(struct soft_cpu *cpu, const struct soft_insn *in);
int soft_op_cmpxchg(struct soft_cpu *cpu, const struct soft_insn *in);
int soft_op_cmpxchg_wide(struct soft_cpu *cpu, const struct soft_insn *in);
int soft_op_bswap(struct soft_cpu *cpu, const struct soft_insn *in);
int soft_op_cbw(struct soft_cpu *cpu, const struct soft_insn *in);
int soft_op_cwd(struct soft_cpu *cpu, const struct soft_insn *in);
int soft_op_xlat(struct soft_cpu *cpu, const struct soft_insn *in);
int soft_op_nop(struct soft_cpu *cpu, const struct soft_insn *in);
int soft_op_nop_next(struct soft_cpu *cpu, const struct soft_insn *in); /* threaded entry */
int soft_op_flagop(struct soft_cpu *cpu, const struct soft_insn *in);
int soft_op_lahf(struct soft_cpu *cpu, const struct soft_insn *in);
int soft_op_sahf(struct soft_cpu *cpu, const struct soft_insn *in);
int soft_op_setcc(struct soft_cpu *cpu, const struct soft_insn *in);
int soft_op_cmovcc(struct soft_cpu *cpu, const struct soft_insn *in);
/* shift.c */
int soft_op_shift(struct soft_cpu *cpu, const struct soft_insn *in);
int soft_op_shxd(struct soft_cpu *cpu, const struct soft_insn *in);
/* muldiv.c */
int soft_op_mul(struct soft_cpu *cpu, const struct soft_insn *in);
int soft_op_imul(struct soft_cpu *cpu, const struct soft_insn *in);
int soft_op_div(struct soft_cpu *cpu, const struct soft_insn *in);
int soft_op_idiv(struct soft_cpu *cpu, const struct soft_insn *in);
/* bitops.c */
int soft_op_bt(struct soft_cpu *cpu, const struct soft_insn *in);
int soft_op_bsf(struct soft_cpu *cpu, const struct soft_insn *in);
int soft_op_popcnt(struct soft_cpu *cpu, const struct soft_insn *in);
/* stack.c */
int soft_op_push(struct soft_cpu *cpu, const struct soft_insn *in);
int soft_op_push_r(struct soft_cpu *cpu, const struct soft_insn *in);
int soft_op_pop(struct soft_cpu *cpu, const struct soft_insn *in);
int soft_op_pop_r(struct soft_cpu *cpu, const struct soft_insn *in);
/* Threaded entries (soft_insn.run; they end in soft_next): */
int soft_op_push_r64(struct soft_cpu *cpu, const struct soft_insn *in);
int soft_op_pop_r64(struct soft_cpu *cpu, const struct soft_insn *in);
int soft_op_pushf(struct soft_cpu *cpu, const struct soft_insn *in);
int soft_op_popf(struct soft_cpu *cpu, const struct soft_insn *in);
int soft_op_leave(struct soft_cpu *cpu, const struct soft_insn *in);
int soft_op_enter(struct soft_cpu *cpu, const struct soft_insn *in);
/* control.c */
int soft_op_jmp(struct soft_cpu *cpu, const struct soft_insn *in);
int soft_op_jcc(struct soft_cpu *cpu, const struct soft_insn *in);
/* Threaded entries (soft_insn.run; they end the block): */
int soft_op_jmp_rel64(struct soft_cpu *cpu, const struct soft_insn *in);
/* The threaded Jcc rel for condition code cc with a 64-bit operand size. */
soft_handler soft_fast_jcc64(unsigned cc);
int soft_op_jrcxz(struct soft_cpu *cpu, const struct soft_insn *in);
int soft_op_loop(struct soft_cpu *cpu, const struct soft_insn *in);
int soft_op_call(struct soft_cpu *cpu, const struct soft_insn *in);
/* Threaded entries (soft_insn.run; they end the block): */
int soft_op_call_rel64(struct soft_cpu *cpu, const struct soft_insn *in);
int soft_op_ret64(struct soft_cpu *cpu, const struct soft_insn *in);
int soft_op_ret(struct soft_cpu *cpu, const struct soft_insn *in);
int soft_op_retf(struct soft_cpu *cpu, const struct soft_insn *in);
int soft_op_jmpf(struct soft_cpu *cpu, const struct soft_insn *in);
int soft_op_callf(struct soft_cpu *cpu, const struct soft_insn *in);
/* string.c */
int soft_op_movs(struct soft_cpu *cpu, const struct soft_insn *in);
int soft_op_stos(struct soft_cpu *cpu, const struct soft_insn *in);
int soft_op_lods(struct soft_cpu *cpu, const struct soft_insn *in);
int soft_op_cmps(struct soft_cpu *cpu, const struct soft_insn *in);
int soft_op_scas(struct soft_cpu *cpu, const struct soft_insn *in);
int soft_op_ins(struct soft_cpu *cpu, const struct soft_insn *in);
int soft_op_outs(struct soft_cpu *cpu, const struct soft_insn *in);
/* system.c */
int soft_op_hlt(struct soft_cpu *cpu, const struct soft_insn *in);
int soft_op_cli(struct soft_cpu *cpu, const struct soft_insn *in);
int soft_op_sti(struct soft_cpu *cpu, const struct soft_insn *in);
int soft_op_in(struct soft_cpu *cpu, const struct soft_insn *in);
int soft_op_out(struct soft_cpu *cpu, const struct soft_insn *in);
int soft_op_mov_cr(struct soft_cpu *cpu, const struct soft_insn *in);
int soft_op_mov_dr(struct soft_cpu *cpu, const struct soft_insn *in);
int soft_op_mov_sreg(struct soft_cpu *cpu, const struct soft_insn *in);
int soft_op_lgdt(struct soft_cpu *cpu, const struct soft_insn *in);
int soft_op_sgdt(struct soft_cpu *cpu, const struct soft_insn *in);
int soft_op_ltr(struct soft_cpu *cpu, const struct soft_insn *in);
int soft_op_lldt(struct soft_cpu *cpu, const struct soft_insn *in);
int soft_op_str(struct soft_cpu *cpu, const struct soft_insn *in);
int soft_op_invlpg(struct soft_cpu *cpu, const struct soft_insn *in);
int soft_op_wbinvd(struct soft_cpu *cpu, const struct soft_insn *in);
int soft_op_fence(struct soft_cpu *cpu, const struct soft_insn *in);
int soft_op_clflush(struct soft_cpu *cpu, const struct soft_insn *in);
int soft_op_swapgs(struct soft_cpu *cpu, const struct soft_insn *in);
int soft_op_syscall(struct soft_cpu *cpu, const struct soft_insn *in);
int soft_op_sysret(struct soft_cpu *cpu, const struct soft_insn *in);
int soft_op_iret(struct soft_cpu *cpu, const struct soft_insn *in);
int soft_op_int(struct soft_cpu *cpu, const struct soft_insn *in);
int soft_op_int3(struct soft_cpu *cpu, const struct soft_insn *in);
int soft_op_into(struct soft_cpu *cpu, const struct soft_insn *in);
int soft_op_int1(struct soft_cpu *cpu, const struct soft_insn *in);
int soft_op_cpuid(struct soft_cpu *cpu, const struct soft_insn *in);
int soft_op_rdtsc(struct soft_cpu *cpu, const struct soft_insn *in);
int soft_op_rdmsr(struct soft_cpu *cpu, const struct soft_insn *in);
int soft_op_wrmsr(struct soft_cpu *cpu, const struct soft_insn *in);
int soft_op_clts(struct soft_cpu *cpu, const struct soft_insn *in);
int soft_op_smsw(struct soft_cpu *cpu, const struct soft_insn *in);
int soft_op_lmsw(struct soft_cpu *cpu, const struct soft_insn *in);
int soft_op_lar(struct soft_cpu *cpu, const struct soft_insn *in);
int soft_op_verr(struct soft_cpu *cpu, const struct soft_insn *in);

#endif
