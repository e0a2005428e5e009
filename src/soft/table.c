/* The mnemonic-indexed handler table: Zydis mnemonic -> handler, its aux value (ALU operation,
 * condition code, element size, ...) and flags; plus the operand-based specialisation that picks
 * fast paths and the MOV CR/DR/segment forms. */
#include "soft/decode.h"
#include "soft/alu_fast.h"
#include "soft/handlers.h"
#include "soft/simd.h"

struct soft_table_row {
    soft_handler fn;
    uint8_t aux;
    uint8_t flags;
};

#define END SOFT_H_ENDS_BLOCK

static const struct soft_table_row table[ZYDIS_MNEMONIC_MAX_VALUE + 1] = {
    /* alu.c: ALU aux = the x86 /digit (ADD 0 .. CMP 7) */
    [ZYDIS_MNEMONIC_ADD] = {soft_op_alu, 0, 0},
    [ZYDIS_MNEMONIC_OR] = {soft_op_alu, 1, 0},
    [ZYDIS_MNEMONIC_ADC] = {soft_op_alu, 2, 0},
    [ZYDIS_MNEMONIC_SBB] = {soft_op_alu, 3, 0},
    [ZYDIS_MNEMONIC_AND] = {soft_op_alu, 4, 0},
    [ZYDIS_MNEMONIC_SUB] = {soft_op_alu, 5, 0},
    [ZYDIS_MNEMONIC_XOR] = {soft_op_alu, 6, 0},
    [ZYDIS_MNEMONIC_CMP] = {soft_op_alu, 7, 0},
    [ZYDIS_MNEMONIC_TEST] = {soft_op_test, 0, 0},
    [ZYDIS_MNEMONIC_INC] = {soft_op_incdec, 0, 0},
    [ZYDIS_MNEMONIC_DEC] = {soft_op_incdec, 1, 0},
    [ZYDIS_MNEMONIC_NEG] = {soft_op_neg, 0, 0},
    [ZYDIS_MNEMONIC_NOT] = {soft_op_not, 0, 0},
    [ZYDIS_MNEMONIC_MOV] = {soft_op_mov, 0, 0},
    [ZYDIS_MNEMONIC_MOVZX] = {soft_op_movzx, 0, 0},
    [ZYDIS_MNEMONIC_MOVSX] = {soft_op_movsx, 0, 0},
    [ZYDIS_MNEMONIC_MOVSXD] = {soft_op_movsx, 0, 0},
    [ZYDIS_MNEMONIC_MOVNTI] = {soft_op_mov, 0, 0},
    [ZYDIS_MNEMONIC_LEA] = {soft_op_lea, 0, 0},
    [ZYDIS_MNEMONIC_XCHG] = {soft_op_xchg, 0, 0},
    [ZYDIS_MNEMONIC_XADD] = {soft_op_xadd, 0, 0},
    [ZYDIS_MNEMONIC_CMPXCHG] = {soft_op_cmpxchg, 0, 0},
    [ZYDIS_MNEMONIC_CMPXCHG8B] = {soft_op_cmpxchg_wide, 0, 0},
    [ZYDIS_MNEMONIC_CMPXCHG16B] = {soft_op_cmpxchg_wide, 0, 0},
    [ZYDIS_MNEMONIC_BSWAP] = {soft_op_bswap, 0, 0},
    [ZYDIS_MNEMONIC_CBW] = {soft_op_cbw, 0, 0},
    [ZYDIS_MNEMONIC_CWDE] = {soft_op_cbw, 0, 0},
    [ZYDIS_MNEMONIC_CDQE] = {soft_op_cbw, 0, 0},
    [ZYDIS_MNEMONIC_CWD] = {soft_op_cwd, 0, 0},
    [ZYDIS_MNEMONIC_CDQ] = {soft_op_cwd, 0, 0},
    [ZYDIS_MNEMONIC_CQO] = {soft_op_cwd, 0, 0},
    [ZYDIS_MNEMONIC_NOP] = {soft_op_nop, 0, 0},
    [ZYDIS_MNEMONIC_XLAT] = {soft_op_xlat, 0, 0},
    [ZYDIS_MNEMONIC_ENDBR64] = {soft_op_nop, 0, 0},
    [ZYDIS_MNEMONIC_ENDBR32] = {soft_op_nop, 0, 0},
    [ZYDIS_MNEMONIC_PAUSE] = {soft_op_nop, 0, 0},
    [ZYDIS_MNEMONIC_PREFETCHNTA] = {soft_op_nop, 0, 0},
    [ZYDIS_MNEMONIC_PREFETCHT0] = {soft_op_nop, 0, 0},
    [ZYDIS_MNEMONIC_PREFETCHT1] = {soft_op_nop, 0, 0},
    [ZYDIS_MNEMONIC_PREFETCHT2] = {soft_op_nop, 0, 0},
    [ZYDIS_MNEMONIC_PREFETCHW] = {soft_op_nop, 0, 0},
    [ZYDIS_MNEMONIC_CLC] = {soft_op_flagop, 0, 0},
    [ZYDIS_MNEMONIC_STC] = {soft_op_flagop, 1, 0},
    [ZYDIS_MNEMONIC_CMC] = {soft_op_flagop, 2, 0},
    [ZYDIS_MNEMONIC_CLD] = {soft_op_flagop, 3, 0},
    [ZYDIS_MNEMONIC_STD] = {soft_op_flagop, 4, 0},
    [ZYDIS_MNEMONIC_LAHF] = {soft_op_lahf, 0, 0},
    [ZYDIS_MNEMONIC_SAHF] = {soft_op_sahf, 0, 0},
    /* SETcc / CMOVcc: aux = condition code (SDM Vol. 2 Appendix B.1) */
    [ZYDIS_MNEMONIC_SETO] = {soft_op_setcc, 0, 0},
    [ZYDIS_MNEMONIC_SETNO] = {soft_op_setcc, 1, 0},
    [ZYDIS_MNEMONIC_SETB] = {soft_op_setcc, 2, 0},
    [ZYDIS_MNEMONIC_SETNB] = {soft_op_setcc, 3, 0},
    [ZYDIS_MNEMONIC_SETZ] = {soft_op_setcc, 4, 0},
    [ZYDIS_MNEMONIC_SETNZ] = {soft_op_setcc, 5, 0},
    [ZYDIS_MNEMONIC_SETBE] = {soft_op_setcc, 6, 0},
    [ZYDIS_MNEMONIC_SETNBE] = {soft_op_setcc, 7, 0},
    [ZYDIS_MNEMONIC_SETS] = {soft_op_setcc, 8, 0},
    [ZYDIS_MNEMONIC_SETNS] = {soft_op_setcc, 9, 0},
    [ZYDIS_MNEMONIC_SETP] = {soft_op_setcc, 10, 0},
    [ZYDIS_MNEMONIC_SETNP] = {soft_op_setcc, 11, 0},
    [ZYDIS_MNEMONIC_SETL] = {soft_op_setcc, 12, 0},
    [ZYDIS_MNEMONIC_SETNL] = {soft_op_setcc, 13, 0},
    [ZYDIS_MNEMONIC_SETLE] = {soft_op_setcc, 14, 0},
    [ZYDIS_MNEMONIC_SETNLE] = {soft_op_setcc, 15, 0},
    [ZYDIS_MNEMONIC_CMOVO] = {soft_op_cmovcc, 0, 0},
    [ZYDIS_MNEMONIC_CMOVNO] = {soft_op_cmovcc, 1, 0},
    [ZYDIS_MNEMONIC_CMOVB] = {soft_op_cmovcc, 2, 0},
    [ZYDIS_MNEMONIC_CMOVNB] = {soft_op_cmovcc, 3, 0},
    [ZYDIS_MNEMONIC_CMOVZ] = {soft_op_cmovcc, 4, 0},
    [ZYDIS_MNEMONIC_CMOVNZ] = {soft_op_cmovcc, 5, 0},
    [ZYDIS_MNEMONIC_CMOVBE] = {soft_op_cmovcc, 6, 0},
    [ZYDIS_MNEMONIC_CMOVNBE] = {soft_op_cmovcc, 7, 0},
    [ZYDIS_MNEMONIC_CMOVS] = {soft_op_cmovcc, 8, 0},
    [ZYDIS_MNEMONIC_CMOVNS] = {soft_op_cmovcc, 9, 0},
    [ZYDIS_MNEMONIC_CMOVP] = {soft_op_cmovcc, 10, 0},
    [ZYDIS_MNEMONIC_CMOVNP] = {soft_op_cmovcc, 11, 0},
    [ZYDIS_MNEMONIC_CMOVL] = {soft_op_cmovcc, 12, 0},
    [ZYDIS_MNEMONIC_CMOVNL] = {soft_op_cmovcc, 13, 0},
    [ZYDIS_MNEMONIC_CMOVLE] = {soft_op_cmovcc, 14, 0},
    [ZYDIS_MNEMONIC_CMOVNLE] = {soft_op_cmovcc, 15, 0},
    /* shift.c: aux = the x86 /digit (ROL 0 .. SAR 7) */
    [ZYDIS_MNEMONIC_ROL] = {soft_op_shift, 0, 0},
    [ZYDIS_MNEMONIC_ROR] = {soft_op_shift, 1, 0},
    [ZYDIS_MNEMONIC_RCL] = {soft_op_shift, 2, 0},
    [ZYDIS_MNEMONIC_RCR] = {soft_op_shift, 3, 0},
    [ZYDIS_MNEMONIC_SHL] = {soft_op_shift, 4, 0},
    [ZYDIS_MNEMONIC_SHR] = {soft_op_shift, 5, 0},
    [ZYDIS_MNEMONIC_SAR] = {soft_op_shift, 7, 0},
    [ZYDIS_MNEMONIC_SHLD] = {soft_op_shxd, 0, 0},
    [ZYDIS_MNEMONIC_SHRD] = {soft_op_shxd, 1, 0},
    /* muldiv.c */
    [ZYDIS_MNEMONIC_MUL] = {soft_op_mul, 0, 0},
    [ZYDIS_MNEMONIC_IMUL] = {soft_op_imul, 0, 0},
    [ZYDIS_MNEMONIC_DIV] = {soft_op_div, 0, 0},
    [ZYDIS_MNEMONIC_IDIV] = {soft_op_idiv, 0, 0},
    /* bitops.c: BT 0, BTS 1, BTR 2, BTC 3; BSF 0, BSR 1 (TZCNT/LZCNT without BMI1/ABM) */
    [ZYDIS_MNEMONIC_BT] = {soft_op_bt, 0, 0},
    [ZYDIS_MNEMONIC_BTS] = {soft_op_bt, 1, 0},
    [ZYDIS_MNEMONIC_BTR] = {soft_op_bt, 2, 0},
    [ZYDIS_MNEMONIC_BTC] = {soft_op_bt, 3, 0},
    [ZYDIS_MNEMONIC_BSF] = {soft_op_bsf, 0, 0},
    [ZYDIS_MNEMONIC_BSR] = {soft_op_bsf, 1, 0},
    [ZYDIS_MNEMONIC_TZCNT] = {soft_op_bsf, 0, 0},
    [ZYDIS_MNEMONIC_LZCNT] = {soft_op_bsf, 1, 0},
    [ZYDIS_MNEMONIC_POPCNT] = {soft_op_popcnt, 0, 0},
    /* stack.c */
    [ZYDIS_MNEMONIC_PUSH] = {soft_op_push, 0, 0},
    [ZYDIS_MNEMONIC_POP] = {soft_op_pop, 0, 0},
    [ZYDIS_MNEMONIC_PUSHF] = {soft_op_pushf, 0, 0},
    [ZYDIS_MNEMONIC_PUSHFD] = {soft_op_pushf, 0, 0},
    [ZYDIS_MNEMONIC_PUSHFQ] = {soft_op_pushf, 0, 0},
    [ZYDIS_MNEMONIC_POPF] = {soft_op_popf, 0, END},
    [ZYDIS_MNEMONIC_POPFD] = {soft_op_popf, 0, END},
    [ZYDIS_MNEMONIC_POPFQ] = {soft_op_popf, 0, END},
    [ZYDIS_MNEMONIC_ENTER] = {soft_op_enter, 0, 0},
    [ZYDIS_MNEMONIC_LEAVE] = {soft_op_leave, 0, 0},
    /* control.c: Jcc aux = condition code; LOOP 0, LOOPE 1, LOOPNE 2 */
    [ZYDIS_MNEMONIC_JMP] = {soft_op_jmp, 0, END},
    [ZYDIS_MNEMONIC_JO] = {soft_op_jcc, 0, END},
    [ZYDIS_MNEMONIC_JNO] = {soft_op_jcc, 1, END},
    [ZYDIS_MNEMONIC_JB] = {soft_op_jcc, 2, END},
    [ZYDIS_MNEMONIC_JNB] = {soft_op_jcc, 3, END},
    [ZYDIS_MNEMONIC_JZ] = {soft_op_jcc, 4, END},
    [ZYDIS_MNEMONIC_JNZ] = {soft_op_jcc, 5, END},
    [ZYDIS_MNEMONIC_JBE] = {soft_op_jcc, 6, END},
    [ZYDIS_MNEMONIC_JNBE] = {soft_op_jcc, 7, END},
    [ZYDIS_MNEMONIC_JS] = {soft_op_jcc, 8, END},
    [ZYDIS_MNEMONIC_JNS] = {soft_op_jcc, 9, END},
    [ZYDIS_MNEMONIC_JP] = {soft_op_jcc, 10, END},
    [ZYDIS_MNEMONIC_JNP] = {soft_op_jcc, 11, END},
    [ZYDIS_MNEMONIC_JL] = {soft_op_jcc, 12, END},
    [ZYDIS_MNEMONIC_JNL] = {soft_op_jcc, 13, END},
    [ZYDIS_MNEMONIC_JLE] = {soft_op_jcc, 14, END},
    [ZYDIS_MNEMONIC_JNLE] = {soft_op_jcc, 15, END},
    [ZYDIS_MNEMONIC_JCXZ] = {soft_op_jrcxz, 0, END},
    [ZYDIS_MNEMONIC_JECXZ] = {soft_op_jrcxz, 0, END},
    [ZYDIS_MNEMONIC_JRCXZ] = {soft_op_jrcxz, 0, END},
    [ZYDIS_MNEMONIC_LOOP] = {soft_op_loop, 0, END},
    [ZYDIS_MNEMONIC_LOOPE] = {soft_op_loop, 1, END},
    [ZYDIS_MNEMONIC_LOOPNE] = {soft_op_loop, 2, END},
    [ZYDIS_MNEMONIC_CALL] = {soft_op_call, 0, END},
    [ZYDIS_MNEMONIC_RET] = {soft_op_ret, 0, END},
    /* string.c: aux = element size */
    [ZYDIS_MNEMONIC_MOVSB] = {soft_op_movs, 1, 0},
    [ZYDIS_MNEMONIC_MOVSW] = {soft_op_movs, 2, 0},
    [ZYDIS_MNEMONIC_MOVSD] = {soft_op_movs, 4, 0},
    [ZYDIS_MNEMONIC_MOVSQ] = {soft_op_movs, 8, 0},
    [ZYDIS_MNEMONIC_STOSB] = {soft_op_stos, 1, 0},
    [ZYDIS_MNEMONIC_STOSW] = {soft_op_stos, 2, 0},
    [ZYDIS_MNEMONIC_STOSD] = {soft_op_stos, 4, 0},
    [ZYDIS_MNEMONIC_STOSQ] = {soft_op_stos, 8, 0},
    [ZYDIS_MNEMONIC_LODSB] = {soft_op_lods, 1, 0},
    [ZYDIS_MNEMONIC_LODSW] = {soft_op_lods, 2, 0},
    [ZYDIS_MNEMONIC_LODSD] = {soft_op_lods, 4, 0},
    [ZYDIS_MNEMONIC_LODSQ] = {soft_op_lods, 8, 0},
    [ZYDIS_MNEMONIC_CMPSB] = {soft_op_cmps, 1, 0},
    [ZYDIS_MNEMONIC_CMPSW] = {soft_op_cmps, 2, 0},
    [ZYDIS_MNEMONIC_CMPSD] = {soft_op_cmps, 4, 0},
    [ZYDIS_MNEMONIC_CMPSQ] = {soft_op_cmps, 8, 0},
    [ZYDIS_MNEMONIC_SCASB] = {soft_op_scas, 1, 0},
    [ZYDIS_MNEMONIC_SCASW] = {soft_op_scas, 2, 0},
    [ZYDIS_MNEMONIC_SCASD] = {soft_op_scas, 4, 0},
    [ZYDIS_MNEMONIC_SCASQ] = {soft_op_scas, 8, 0},
    [ZYDIS_MNEMONIC_INSB] = {soft_op_ins, 1, END},
    [ZYDIS_MNEMONIC_INSW] = {soft_op_ins, 2, END},
    [ZYDIS_MNEMONIC_INSD] = {soft_op_ins, 4, END},
    [ZYDIS_MNEMONIC_OUTSB] = {soft_op_outs, 1, END},
    [ZYDIS_MNEMONIC_OUTSW] = {soft_op_outs, 2, END},
    [ZYDIS_MNEMONIC_OUTSD] = {soft_op_outs, 4, END},
    /* system.c: LGDT/SGDT/STR aux 0, LIDT/SIDT/SLDT aux 1; RDTSC 0, RDTSCP 1 */
    [ZYDIS_MNEMONIC_HLT] = {soft_op_hlt, 0, END},
    [ZYDIS_MNEMONIC_CLI] = {soft_op_cli, 0, 0},
    [ZYDIS_MNEMONIC_STI] = {soft_op_sti, 0, END},
    [ZYDIS_MNEMONIC_IN] = {soft_op_in, 0, END},
    [ZYDIS_MNEMONIC_OUT] = {soft_op_out, 0, END},
    [ZYDIS_MNEMONIC_LGDT] = {soft_op_lgdt, 0, END},
    [ZYDIS_MNEMONIC_LIDT] = {soft_op_lgdt, 1, END},
    [ZYDIS_MNEMONIC_SGDT] = {soft_op_sgdt, 0, 0},
    [ZYDIS_MNEMONIC_SIDT] = {soft_op_sgdt, 1, 0},
    [ZYDIS_MNEMONIC_LTR] = {soft_op_ltr, 0, END},
    [ZYDIS_MNEMONIC_LLDT] = {soft_op_lldt, 0, END},
    [ZYDIS_MNEMONIC_STR] = {soft_op_str, 0, 0},
    [ZYDIS_MNEMONIC_SLDT] = {soft_op_str, 1, 0},
    [ZYDIS_MNEMONIC_INVLPG] = {soft_op_invlpg, 0, END},
    [ZYDIS_MNEMONIC_WBINVD] = {soft_op_wbinvd, 0, 0},
    [ZYDIS_MNEMONIC_INVD] = {soft_op_wbinvd, 0, 0},
    [ZYDIS_MNEMONIC_LFENCE] = {soft_op_fence, 0, 0},
    [ZYDIS_MNEMONIC_MFENCE] = {soft_op_fence, 0, 0},
    [ZYDIS_MNEMONIC_SFENCE] = {soft_op_fence, 0, 0},
    [ZYDIS_MNEMONIC_CLFLUSH] = {soft_op_clflush, 0, 0},
    [ZYDIS_MNEMONIC_SWAPGS] = {soft_op_swapgs, 0, 0},
    [ZYDIS_MNEMONIC_SYSCALL] = {soft_op_syscall, 0, END},
    [ZYDIS_MNEMONIC_SYSRET] = {soft_op_sysret, 0, END},
    [ZYDIS_MNEMONIC_IRET] = {soft_op_iret, 0, END},
    [ZYDIS_MNEMONIC_IRETD] = {soft_op_iret, 0, END},
    [ZYDIS_MNEMONIC_IRETQ] = {soft_op_iret, 0, END},
    [ZYDIS_MNEMONIC_INT] = {soft_op_int, 0, END},
    [ZYDIS_MNEMONIC_INT3] = {soft_op_int3, 0, END},
    [ZYDIS_MNEMONIC_INTO] = {soft_op_into, 0, END},
    [ZYDIS_MNEMONIC_INT1] = {soft_op_int1, 0, END},
    [ZYDIS_MNEMONIC_UD0] = {soft_h_ud, 0, END},
    [ZYDIS_MNEMONIC_UD1] = {soft_h_ud, 0, END},
    [ZYDIS_MNEMONIC_UD2] = {soft_h_ud, 0, END},
    [ZYDIS_MNEMONIC_CPUID] = {soft_op_cpuid, 0, 0},
    [ZYDIS_MNEMONIC_RDTSC] = {soft_op_rdtsc, 0, 0},
    [ZYDIS_MNEMONIC_RDTSCP] = {soft_op_rdtsc, 1, 0},
    [ZYDIS_MNEMONIC_RDMSR] = {soft_op_rdmsr, 0, 0},
    [ZYDIS_MNEMONIC_WRMSR] = {soft_op_wrmsr, 0, END},
    [ZYDIS_MNEMONIC_CLTS] = {soft_op_clts, 0, 0},
    [ZYDIS_MNEMONIC_LAR] = {soft_op_lar, 0, 0},
    [ZYDIS_MNEMONIC_LSL] = {soft_op_lar, 1, 0},
    [ZYDIS_MNEMONIC_VERR] = {soft_op_verr, 0, 0},
    [ZYDIS_MNEMONIC_VERW] = {soft_op_verr, 1, 0},
    [ZYDIS_MNEMONIC_SMSW] = {soft_op_smsw, 0, 0},
    [ZYDIS_MNEMONIC_LMSW] = {soft_op_lmsw, 0, END},
};

soft_handler soft_handler_lookup(unsigned mnemonic, unsigned *aux, unsigned *flags)
{
    if (mnemonic > ZYDIS_MNEMONIC_MAX_VALUE)
        return NULL;
    if (!table[mnemonic].fn)
        return soft_simd_lookup(mnemonic, aux, flags); /* x87/MMX/SSE: simd_table.c */
    *aux = table[mnemonic].aux;
    *flags = table[mnemonic].flags;
    return table[mnemonic].fn;
}

/* fast, when there is one, is a threaded entry (it ends in soft_next); fn stays the general
 * handler. */
static unsigned use_fast(struct soft_insn *in, soft_handler fast, unsigned flags)
{
    if (fast)
        in->run = fast;
    return flags;
}

/* Picks a specialised handler from the operand kinds (and the MOV forms that Zydis gives one
 * mnemonic). Returns the flags to use. */
unsigned soft_handler_specialize(struct soft_insn *in, unsigned flags)
{
    const struct soft_operand *a = &in->op[0], *b = &in->op[1];
    switch (in->mnemonic) {
    case ZYDIS_MNEMONIC_MOVSD: /* string or SSE2: simd_table.c decides from the operands */
    case ZYDIS_MNEMONIC_CMPSD:
        return soft_simd_specialize(in, flags);
    case ZYDIS_MNEMONIC_MOV:
        if (a->kind == OPK_CR || b->kind == OPK_CR) {
            in->fn = soft_op_mov_cr;
            return flags | SOFT_H_ENDS_BLOCK;
        }
        if (a->kind == OPK_DR || b->kind == OPK_DR) {
            in->fn = soft_op_mov_dr;
            return flags;
        }
        if (a->kind == OPK_SREG || b->kind == OPK_SREG) {
            in->fn = soft_op_mov_sreg;
            return a->kind == OPK_SREG ? flags | SOFT_H_ENDS_BLOCK : flags;
        }
        soft_handler fast = soft_fast_mov(in); /* reg,reg; 64-bit [base (+ index) + disp] */
        if (fast)
            in->run = fast;
        else if (a->kind == OPK_REG && b->kind == OPK_IMM && a->size >= 4)
            in->fn = soft_op_mov_ri;
        else if (a->kind == OPK_REG && b->kind == OPK_MEM && a->size >= 4)
            in->fn = soft_op_mov_rm;
        else if (a->kind == OPK_MEM && b->kind == OPK_REG)
            in->fn = soft_op_mov_mr;
        return flags;
    case ZYDIS_MNEMONIC_ADD:
    case ZYDIS_MNEMONIC_OR:
    case ZYDIS_MNEMONIC_ADC:
    case ZYDIS_MNEMONIC_SBB:
    case ZYDIS_MNEMONIC_AND:
    case ZYDIS_MNEMONIC_SUB:
    case ZYDIS_MNEMONIC_XOR:
    case ZYDIS_MNEMONIC_CMP:
        return use_fast(in, soft_fast_alu(in), flags);
    case ZYDIS_MNEMONIC_TEST:
        return use_fast(in, soft_fast_test(in), flags);
    case ZYDIS_MNEMONIC_INC:
    case ZYDIS_MNEMONIC_DEC:
        return use_fast(in, soft_fast_incdec(in), flags);
    case ZYDIS_MNEMONIC_SHL:
    case ZYDIS_MNEMONIC_SHR:
    case ZYDIS_MNEMONIC_SAR:
    case ZYDIS_MNEMONIC_ROL:
    case ZYDIS_MNEMONIC_ROR:
        return use_fast(in, soft_fast_shift(in), flags);
    case ZYDIS_MNEMONIC_JMP:
        if (in->fn == soft_op_jmp && in->asize == 8 && in->osize == 8 && a->kind == OPK_IMM)
            in->run = soft_op_jmp_rel64;
        return flags;
    case ZYDIS_MNEMONIC_MOVZX:
        return use_fast(in, soft_fast_extend(in, false), flags);
    case ZYDIS_MNEMONIC_MUL:
        return use_fast(in, soft_fast_mul(in, false), flags);
    case ZYDIS_MNEMONIC_LEA:
        return use_fast(in, soft_fast_lea(in), flags);
    case ZYDIS_MNEMONIC_IMUL:
        return use_fast(in, soft_fast_mul(in, true), flags);
    case ZYDIS_MNEMONIC_MOVSX:
    case ZYDIS_MNEMONIC_MOVSXD:
        return use_fast(in, soft_fast_extend(in, true), flags);
    case ZYDIS_MNEMONIC_JO:
    case ZYDIS_MNEMONIC_JNO:
    case ZYDIS_MNEMONIC_JB:
    case ZYDIS_MNEMONIC_JNB:
    case ZYDIS_MNEMONIC_JZ:
    case ZYDIS_MNEMONIC_JNZ:
    case ZYDIS_MNEMONIC_JBE:
    case ZYDIS_MNEMONIC_JNBE:
    case ZYDIS_MNEMONIC_JS:
    case ZYDIS_MNEMONIC_JNS:
    case ZYDIS_MNEMONIC_JP:
    case ZYDIS_MNEMONIC_JNP:
    case ZYDIS_MNEMONIC_JL:
    case ZYDIS_MNEMONIC_JNL:
    case ZYDIS_MNEMONIC_JLE:
    case ZYDIS_MNEMONIC_JNLE:
        if (in->asize == 8 && in->osize == 8 && a->kind == OPK_IMM)
            in->run = soft_fast_jcc64(in->aux);
        return flags;
    case ZYDIS_MNEMONIC_PUSH:
        if (a->kind == OPK_REG && a->size == in->osize) {
            if (in->asize == 8 && in->osize == 8)
                in->run = soft_op_push_r64;
            else
                in->fn = soft_op_push_r;
        }
        return flags;
    case ZYDIS_MNEMONIC_CALL:
        if (in->asize == 8 && in->osize == 8 && a->kind == OPK_IMM)
            in->run = soft_op_call_rel64;
        return flags;
    case ZYDIS_MNEMONIC_RET:
        if (in->asize == 8 && in->osize == 8 && in->nops == 0 && in->fn == soft_op_ret)
            in->run = soft_op_ret64;
        return flags;
    case ZYDIS_MNEMONIC_POP:
        if (a->kind == OPK_REG && a->size == in->osize) {
            if (in->asize == 8 && in->osize == 8)
                in->run = soft_op_pop_r64;
            else
                in->fn = soft_op_pop_r;
        }
        if (a->kind == OPK_SREG)
            return flags | SOFT_H_ENDS_BLOCK;
        return flags;
    default:
        if (in->fn == soft_op_setcc)
            return use_fast(in, soft_fast_setcc(in), flags);
        if (in->fn == soft_op_cmovcc)
            return use_fast(in, soft_fast_cmovcc(in), flags);
        if (in->fn == soft_op_nop)
            in->run = soft_op_nop_next;
        return flags;
    }
}
