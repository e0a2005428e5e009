/* Shared types of the host-vs-soft-CPU differential tester: the fixed address layout both
 * worlds use, one test case (code + initial state + memory window) and one outcome. */
#ifndef EMBER_TESTS_SOFT_DIFF_DIFF_H
#define EMBER_TESTS_SOFT_DIFF_DIFF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The same virtual addresses are used natively (fixed mappings in the child) and in the guest
 * (identity-mapped with 4 KiB pages). Nothing else is mapped in the guest, so an access outside
 * these pages faults in both worlds. */
#define DIFF_CODE_ADDR 0x00400000ULL /* snippet code (RWX natively, RW in the guest) */
#define DIFF_CODE_SIZE 0x1000ULL
#define DIFF_WIN_ADDR                                                                              \
    0x00600000ULL /* data window compared byte for byte: data page, stack page                     \
                   */
#define DIFF_WIN_SIZE   0x2000ULL
#define DIFF_DATA_ADDR  DIFF_WIN_ADDR                /* memory operands point into this page */
#define DIFF_STACK_ADDR (DIFF_WIN_ADDR + 0x1000ULL)  /* stack page */
#define DIFF_STACK_TOP  (DIFF_STACK_ADDR + 0x800ULL) /* initial RSP: room to push and pop */

/* Longest snippet (without terminator). */
#define DIFF_CODE_MAX 240

/* Register file loaded before and stored after a snippet. */
struct diff_regs {
    uint64_t gpr[16]; /* RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI, R8..R15 */
    uint64_t rflags;
    _Alignas(16) uint8_t fx[512]; /* FXSAVE image: x87, MXCSR, XMM0..15 (SDM Vol. 1 10.5.1) */
};

/* One differential test case. */
struct diff_case {
    uint16_t family; /* index into the family table */
    uint16_t code_len;
    uint32_t index; /* case number within the run (for reproduction) */
    uint8_t code[DIFF_CODE_MAX];
    char text[160];       /* disassembly of the snippet, for reports */
    char mnemonic[24];    /* the instruction under test (per-instruction counts) */
    uint64_t flags_undef; /* RFLAGS bits the SDM leaves undefined after this snippet */
    uint16_t gpr_undef;   /* GPRs whose final value is architecturally undefined */
    /* GPRs whose bits 63:32 may end either as they were on entry or zeroed (vendors differ, see
     * gen_string.c); their bits 31:0 are compared as usual. */
    uint16_t gpr_hi_kept_or_zeroed;
    bool cmp_fpu;       /* compare x87/SSE state too */
    uint16_t fsw_undef; /* x87 status word bits (C0..C3) the SDM leaves undefined */
    struct diff_regs in;
    uint8_t win[DIFF_WIN_SIZE]; /* initial contents of the data window */
};

/* Outcome kinds. */
#define DIFF_END     (-1) /* ran to the end of the snippet */
#define DIFF_TIMEOUT (-2) /* did not finish in time (native) or within budget (soft) */
#define DIFF_ERROR   (-3) /* harness or CPU internal error */

struct diff_outcome {
    int vector;          /* exception vector 0..31, or DIFF_END / DIFF_TIMEOUT / DIFF_ERROR */
    uint32_t error_code; /* for vectors with an error code */
    uint64_t fault_addr; /* #PF: the faulting linear address (CR2) */
    uint64_t rip;        /* DIFF_END: end of snippet; exception: RIP reported for it */
    char detail[64];     /* DIFF_ERROR: what went wrong */
    struct diff_regs out;
    uint8_t win[DIFF_WIN_SIZE];
};

/* native.c: runs cases on the host CPU in a sandboxed child process. */
struct diff_native;
int diff_native_create(unsigned batch_max, struct diff_native **out);
void diff_native_destroy(struct diff_native *nat);
/* Runs n (<= batch_max) cases; fills out[0..n). Returns 0 or -errno (setup failure). */
int diff_native_run(struct diff_native *nat, const struct diff_case *cases, unsigned n,
                    struct diff_outcome *out);

/* soft.c: runs cases on ember's soft CPU. */
struct diff_soft;
/* Returns 0, -ENOSYS if the soft CPU is not part of this build, or -errno. */
int diff_soft_create(struct diff_soft **out);
void diff_soft_destroy(struct diff_soft *s);
void diff_soft_run(struct diff_soft *s, const struct diff_case *c, struct diff_outcome *out);
/* CPUID as the soft CPU reports it (executes CPUID in the guest). Returns false on failure. */
bool diff_soft_cpuid(struct diff_soft *s, uint32_t leaf, uint32_t sub, uint32_t r[4]);

/* compare.c: does the soft outcome agree with the native one? On disagreement writes a
 * human-readable description of the first differences to why. */
bool diff_compare(const struct diff_case *c, const struct diff_outcome *nat,
                  const struct diff_outcome *soft, char *why, size_t why_len);

/* Default FXSAVE image (FCW 0x37f, MXCSR 0x1f80, empty x87 stack). */
void diff_fx_default(uint8_t fx[512]);

#endif
