/* Case generator core of the differential tester: seeded random numbers with edge-biased
 * values, register/memory operand helpers over the Zydis encoder, and the family table (each
 * family's generator lives in a gen_<family>.c file). */
#ifndef EMBER_TESTS_SOFT_DIFF_GEN_H
#define EMBER_TESTS_SOFT_DIFF_GEN_H

#include <Zydis/Zydis.h>
#include <stdbool.h>
#include <stdint.h>

#include "diff.h"

/* xoshiro256** (public-domain algorithm by Blackman and Vigna), our own implementation. */
struct rng {
    uint64_t s[4];
};
void rng_seed(struct rng *r, uint64_t seed);
uint64_t rng_next(struct rng *r);
uint64_t rng_below(struct rng *r, uint64_t n); /* uniform in [0, n), n > 0 */
bool rng_chance(struct rng *r, unsigned percent);
/* A value of size bytes (1, 2, 4, 8) biased to edges: 0, 1, -1, sign boundaries, small. The
 * bits above size are random. */
uint64_t rng_edge(struct rng *r, unsigned size);

/* What the soft CPU advertises (CPUID) and the host supports: optional instructions are only
 * generated when both have them. XXX: movbe, sse3 and ssse3 are detected but no family uses
 * them yet. */
struct gen_features {
    bool lzcnt, bmi1, popcnt, movbe, cx16, sse3, ssse3, mmx, sse2, fpu;
    bool host_amd; /* the host is an AMD (or Hygon) processor: see gen_x87.c */
};

/* Generation state of one case. */
struct gen {
    struct rng *rng;
    struct diff_case *c;
    const struct gen_features *feat;
    uint16_t reserved; /* GPRs holding pointers/counts that later instructions must not clobber */
    int ptr_reg;       /* base register of memory operands: points into the data page */
    int idx_reg;       /* index register of memory operands: a small value */
    bool fail;         /* encoding failed: the case is discarded and generated again */
    bool done;         /* no further instruction may be appended (undefined state) */
    uint16_t written;  /* GPRs written by the instructions emitted so far (decoded) */
};

/* GPR numbers (enum cpu_gpr order). */
enum {
    R_AX,
    R_CX,
    R_DX,
    R_BX,
    R_SP,
    R_BP,
    R_SI,
    R_DI,
    R_8,
    R_9,
    R_10,
    R_11,
    R_12,
    R_13,
    R_14,
    R_15
};

void gen_begin(struct gen *g, struct diff_case *c);
/* Zydis register for GPR num of size bytes (size 1: 4..7 are SPL..DIL; high=true: AH..BH). */
ZydisRegister gen_gpr(unsigned num, unsigned size, bool high);
/* A random GPR that is neither RSP nor reserved (nor in avoid). */
unsigned gen_free_reg(struct gen *g, uint16_t avoid);
/* Fixes the initial value of reg for the rest of the case. Fails the case (g->fail) if reg is
 * already reserved or was written by an earlier instruction (its value would not be known). */
void gen_reserve(struct gen *g, unsigned reg, uint64_t value);
/* Is the initial value of reg still what the register holds (not written so far)? */
bool gen_reg_known(const struct gen *g, unsigned reg);
/* Random operand size from the mask (bit 0: 1 byte, 1: 2, 2: 4, 3: 8). */
unsigned gen_size(struct gen *g, unsigned mask);

/* Encoder request helpers. */
void gen_req(ZydisEncoderRequest *rq, ZydisMnemonic m, unsigned nops);
void gen_op_reg(ZydisEncoderOperand *op, ZydisRegister r);
void gen_op_imm(ZydisEncoderOperand *op, uint64_t v);
/* A memory operand of size bytes pointing into the data page (sets up base/index registers).
 * align: required alignment of the effective address (1: any). */
void gen_op_mem(struct gen *g, ZydisEncoderOperand *op, unsigned size, unsigned align);
/* A register-or-memory operand of size bytes: register (random free GPR) or memory. Returns the
 * register number or -1 for memory. */
int gen_op_rm(struct gen *g, ZydisEncoderOperand *op, unsigned size);

/* Appends one instruction; sets g->fail if Zydis cannot encode it. flags_undef: RFLAGS bits the
 * SDM leaves undefined after it (see undef.c); a nonzero value ends the snippet unless
 * may_continue. */
void gen_emit(struct gen *g, ZydisEncoderRequest *rq, uint64_t flags_undef);
void gen_bytes(struct gen *g, const uint8_t *b, unsigned n);
/* Address of the next byte to be emitted. */
uint64_t gen_pc(const struct gen *g);
/* Finishes the case: disassembly text. Returns false if the case must be regenerated. */
bool gen_finish(struct gen *g);

/* A family of instructions with its generator. */
struct gen_family {
    const char *name;
    const char *what; /* one line for reports */
    /* Generates one case into g (gen_begin already called). */
    void (*gen)(struct gen *g);
    /* Required optional feature, or NULL. */
    bool (*available)(const struct gen_features *f);
};

extern const struct gen_family *const gen_families[];
extern const unsigned gen_nfamilies;

/* Generates case number index of family fam. Returns false if no valid case could be made. */
bool gen_case(struct rng *r, const struct gen_features *feat, unsigned fam, uint32_t index,
              struct diff_case *c);

/* Effective address of a memory operand made by gen_op_mem (from the case's initial values). */
uint64_t gen_mem_ea(const struct gen *g, const ZydisEncoderOperand *op);
/* Reads/writes size bytes of the initial window at address ea (must be inside the window). */
uint64_t gen_win_get(const struct gen *g, uint64_t ea, unsigned size);
void gen_win_put(struct gen *g, uint64_t ea, uint64_t v, unsigned size);
/* Records the mnemonic under test (when the snippet has set-up instructions around it). */
void gen_name(struct gen *g, const char *mnemonic);
/* A sign-extended immediate for an operand of size bytes (at most 32 significant bits). */
uint64_t gen_imm(struct gen *g, unsigned size);
/* Emits an instruction that sets every arithmetic flag (ADD/SUB/CMP/NEG of random values). */
void gen_flag_producer(struct gen *g);

/* Condition-code helpers for families that test flags. */
uint64_t gen_random_flags(struct gen *g);

#endif
