/* Operation codes shared by the general integer handlers (alu.c, shift.c) and their
 * specialised forms (alu_fast.c), and the selectors table.c uses to pick a specialised form. */
#ifndef EMBER_SOFT_ALU_FAST_H
#define EMBER_SOFT_ALU_FAST_H

#include "soft/handlers.h"

/* The aux byte of ADD..CMP: the ALU operation (the /digit of opcodes 80-83). */
enum soft_alu_op {
    SOFT_ALU_ADD,
    SOFT_ALU_OR,
    SOFT_ALU_ADC,
    SOFT_ALU_SBB,
    SOFT_ALU_AND,
    SOFT_ALU_SUB,
    SOFT_ALU_XOR,
    SOFT_ALU_CMP,
};

/* The aux byte of shifts and rotates (the /digit of opcodes C0/C1/D0-D3). */
enum soft_shift_op {
    SOFT_SHIFT_ROL,
    SOFT_SHIFT_ROR,
    SOFT_SHIFT_RCL,
    SOFT_SHIFT_RCR,
    SOFT_SHIFT_SHL,
    SOFT_SHIFT_SHR,
    SOFT_SHIFT_SAL,
    SOFT_SHIFT_SAR,
};

/* Each returns the specialised handler for a decoded instruction, or NULL when its operands
 * need the general one (memory destinations, LOCK, 8/16-bit registers, ...). */
soft_handler soft_fast_alu(const struct soft_insn *in);
/* MOV between a register and [base + disp] in 64-bit mode. */
soft_handler soft_fast_mov(const struct soft_insn *in);
soft_handler soft_fast_test(const struct soft_insn *in);
soft_handler soft_fast_incdec(const struct soft_insn *in);
soft_handler soft_fast_shift(const struct soft_insn *in);
soft_handler soft_fast_extend(const struct soft_insn *in, bool sign);
/* LEA into a 64-bit register from [base + disp], [base + index * scale + disp], [rip + disp]. */
soft_handler soft_fast_lea(const struct soft_insn *in);
/* MUL (sign false) or IMUL (sign true, two- and three-operand forms). */
soft_handler soft_fast_mul(const struct soft_insn *in, bool sign);
/* cond_fast.c: SETcc into a low-byte register; CMOVcc between 32/64-bit registers. */
soft_handler soft_fast_setcc(const struct soft_insn *in);
soft_handler soft_fast_cmovcc(const struct soft_insn *in);

#endif
