/* The family table: every instruction family the differential tester generates, in report
 * order. The names are the keys of claimed.txt. */
#include "gen.h"

extern const struct gen_family gen_family_alu;
extern const struct gen_family gen_family_test;
extern const struct gen_family gen_family_incdec;
extern const struct gen_family gen_family_negnot;
extern const struct gen_family gen_family_shift;
extern const struct gen_family gen_family_rotate;
extern const struct gen_family gen_family_shiftd;
extern const struct gen_family gen_family_mul;
extern const struct gen_family gen_family_div;
extern const struct gen_family gen_family_bt;
extern const struct gen_family gen_family_bitscan;
extern const struct gen_family gen_family_lzcnt;
extern const struct gen_family gen_family_tzcnt;
extern const struct gen_family gen_family_popcnt;
extern const struct gen_family gen_family_bswap;
extern const struct gen_family gen_family_string;
extern const struct gen_family gen_family_xchg;
extern const struct gen_family gen_family_cmpxchg;
extern const struct gen_family gen_family_cmpxchg8b16b;
extern const struct gen_family gen_family_setcc;
extern const struct gen_family gen_family_cmovcc;
extern const struct gen_family gen_family_jcc;
extern const struct gen_family gen_family_loop;
extern const struct gen_family gen_family_callret;
extern const struct gen_family gen_family_stack;
extern const struct gen_family gen_family_mov;
extern const struct gen_family gen_family_lea;
extern const struct gen_family gen_family_convert;
extern const struct gen_family gen_family_flagops;
extern const struct gen_family gen_family_misc;
extern const struct gen_family gen_family_faults;
extern const struct gen_family gen_family_sse_mov;
extern const struct gen_family gen_family_sse_arith;
extern const struct gen_family gen_family_sse2_arith;
extern const struct gen_family gen_family_sse_logic;
extern const struct gen_family gen_family_sse_cmp;
extern const struct gen_family gen_family_sse_cvt;
extern const struct gen_family gen_family_sse_shuf;
extern const struct gen_family gen_family_sse2_int;
extern const struct gen_family gen_family_mmx;
extern const struct gen_family gen_family_x87_arith;
extern const struct gen_family gen_family_x87_move;
extern const struct gen_family gen_family_x87_cmp;
extern const struct gen_family gen_family_x87_trans;
extern const struct gen_family gen_family_mix;
extern const struct gen_family gen_family_faults_rmw;
extern const struct gen_family gen_family_prefix;

const struct gen_family *const gen_families[] = {
    &gen_family_alu,       &gen_family_test,       &gen_family_incdec,       &gen_family_negnot,
    &gen_family_shift,     &gen_family_rotate,     &gen_family_shiftd,       &gen_family_mul,
    &gen_family_div,       &gen_family_bt,         &gen_family_bitscan,      &gen_family_lzcnt,
    &gen_family_tzcnt,     &gen_family_popcnt,     &gen_family_bswap,        &gen_family_string,
    &gen_family_xchg,      &gen_family_cmpxchg,    &gen_family_cmpxchg8b16b, &gen_family_setcc,
    &gen_family_cmovcc,    &gen_family_jcc,        &gen_family_loop,         &gen_family_callret,
    &gen_family_stack,     &gen_family_mov,        &gen_family_lea,          &gen_family_convert,
    &gen_family_flagops,   &gen_family_misc,       &gen_family_faults,       &gen_family_sse_mov,
    &gen_family_sse_arith, &gen_family_sse2_arith, &gen_family_sse_logic,    &gen_family_sse_cmp,
    &gen_family_sse_cvt,   &gen_family_sse_shuf,   &gen_family_sse2_int,     &gen_family_mmx,
    &gen_family_x87_arith, &gen_family_x87_move,   &gen_family_x87_cmp,      &gen_family_x87_trans,
    &gen_family_mix,       &gen_family_faults_rmw, &gen_family_prefix,
};
const unsigned gen_nfamilies = sizeof gen_families / sizeof gen_families[0];
