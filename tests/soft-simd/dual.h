/* Runs one snippet of SIMD/x87 code both natively on the host and on the soft CPU over the same
 * 512-byte data block (RDI points at it in both) and compares the blocks. Layout of the block:
 * inputs at 0..255 (DUAL_XMM_IN: xmm0..7 images, DUAL_MXCSR, DUAL_FCW, DUAL_MEM: memory operands),
 * outputs at 256..511 written by the snippet's epilogue. */
#ifndef EMBER_TESTS_SOFT_SIMD_DUAL_H
#define EMBER_TESTS_SOFT_SIMD_DUAL_H

#include <stdbool.h>
#include <stdint.h>

#include "../soft/harness.h"

#define DUAL_BLOCK    512
#define DUAL_XMM_IN   0
#define DUAL_MXCSR    128
#define DUAL_FCW      132
#define DUAL_MEM      144 /* 16-byte aligned memory operands: 144..255 */
#define DUAL_OUT      256
#define DUAL_GUEST_VA 0x210000ULL /* block address in the guest */

struct dual {
    struct harness h;
    uint8_t *exec;  /* host executable page */
    uint8_t *block; /* host block, 16-byte aligned */
    unsigned pass, fail;
};

void dual_init(struct dual *d);
void dual_destroy(struct dual *d);
/* Runs code..end (ends with HLT; natively the HLT becomes RET) on input; returns true when the
 * output blocks agree (prints the first difference otherwise). */
bool dual_run(struct dual *d, const char *name, const uint8_t *code, const uint8_t *end,
              const uint8_t input[DUAL_BLOCK]);
/* Runs code on the soft CPU only, with cr0/cr4 changes, and returns the exit; *vector gets the
 * exception vector if the run stopped on one. */
enum soft_exit dual_soft_only(struct dual *d, const uint8_t *code, const uint8_t *end,
                              const uint8_t input[DUAL_BLOCK], uint64_t cr0_set, uint64_t cr0_clear,
                              uint64_t cr4_clear, int *vector, uint8_t out[DUAL_BLOCK]);

/* Deterministic pseudo-random numbers (xorshift64*). */
uint64_t dual_rand(uint64_t *state);

#endif
