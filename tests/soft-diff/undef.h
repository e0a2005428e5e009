/* Which RFLAGS bits (and results) the Intel SDM leaves undefined, per instruction: the
 * comparison masks exactly these and nothing else. */
#ifndef EMBER_TESTS_SOFT_DIFF_UNDEF_H
#define EMBER_TESTS_SOFT_DIFF_UNDEF_H

#include <Zydis/Zydis.h>
#include <stdbool.h>
#include <stdint.h>

#define UF_CF  0x001ULL
#define UF_PF  0x004ULL
#define UF_AF  0x010ULL
#define UF_ZF  0x040ULL
#define UF_SF  0x080ULL
#define UF_OF  0x800ULL
#define UF_ALL (UF_CF | UF_PF | UF_AF | UF_ZF | UF_SF | UF_OF)

/* Flags undefined after m regardless of operand values. */
uint64_t undef_flags(ZydisMnemonic m);
/* Shifts and rotates (SHL/SAL/SHR/SAR/ROL/ROR/RCL/RCR) of size bytes by count (unmasked). */
uint64_t undef_flags_shift(ZydisMnemonic m, unsigned size, uint64_t count);
/* SHLD/SHRD of size bytes by count (unmasked). */
uint64_t undef_flags_shiftd(unsigned size, uint64_t count);
/* SHLD/SHRD: is the destination undefined (count > operand size after masking)? */
bool undef_shiftd_result(unsigned size, uint64_t count);

#endif
