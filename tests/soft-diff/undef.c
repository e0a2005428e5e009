/* The table of architecturally undefined flags, from the "Flags Affected" paragraph of each
 * instruction in the Intel SDM Vol. 2 (instruction set reference). Only what the SDM calls
 * undefined is masked; "unaffected" and "cleared" bits are compared. */
#include "undef.h"

struct undef_row {
    ZydisMnemonic m;
    uint64_t flags;
};

/* Value-independent rows. Instructions not listed define every flag they touch. */
static const struct undef_row undef_table[] = {
    /* AND/OR/XOR/TEST: "The OF and CF flags are cleared; SF, ZF, PF set per result. The state
     * of the AF flag is undefined." */
    {ZYDIS_MNEMONIC_AND, UF_AF},
    {ZYDIS_MNEMONIC_OR, UF_AF},
    {ZYDIS_MNEMONIC_XOR, UF_AF},
    {ZYDIS_MNEMONIC_TEST, UF_AF},
    /* MUL/IMUL: "OF and CF set ...; the SF, ZF, AF, and PF flags are undefined." */
    {ZYDIS_MNEMONIC_MUL, UF_SF | UF_ZF | UF_AF | UF_PF},
    {ZYDIS_MNEMONIC_IMUL, UF_SF | UF_ZF | UF_AF | UF_PF},
    /* DIV/IDIV: "The CF, OF, SF, ZF, AF, and PF flags are undefined." */
    {ZYDIS_MNEMONIC_DIV, UF_ALL},
    {ZYDIS_MNEMONIC_IDIV, UF_ALL},
    /* BT/BTS/BTR/BTC: "CF contains the bit; ZF is unaffected; OF, SF, AF, PF undefined." */
    {ZYDIS_MNEMONIC_BT, UF_OF | UF_SF | UF_AF | UF_PF},
    {ZYDIS_MNEMONIC_BTS, UF_OF | UF_SF | UF_AF | UF_PF},
    {ZYDIS_MNEMONIC_BTR, UF_OF | UF_SF | UF_AF | UF_PF},
    {ZYDIS_MNEMONIC_BTC, UF_OF | UF_SF | UF_AF | UF_PF},
    /* BSF/BSR: "ZF set if the source is 0; CF, OF, SF, AF, and PF are undefined." (The
     * destination for a zero source is undefined too: handled by the generator.) */
    {ZYDIS_MNEMONIC_BSF, UF_CF | UF_OF | UF_SF | UF_AF | UF_PF},
    {ZYDIS_MNEMONIC_BSR, UF_CF | UF_OF | UF_SF | UF_AF | UF_PF},
    /* LZCNT/TZCNT: "ZF and CF set per result; OF, SF, PF and AF are undefined." */
    {ZYDIS_MNEMONIC_LZCNT, UF_OF | UF_SF | UF_PF | UF_AF},
    {ZYDIS_MNEMONIC_TZCNT, UF_OF | UF_SF | UF_PF | UF_AF},
    /* ANDN/BLSR/BLSI/BLSMSK/BEXTR (BMI1): AF and PF undefined. */
    {ZYDIS_MNEMONIC_ANDN, UF_AF | UF_PF},
    {ZYDIS_MNEMONIC_BLSR, UF_AF | UF_PF},
    {ZYDIS_MNEMONIC_BLSI, UF_AF | UF_PF},
    {ZYDIS_MNEMONIC_BLSMSK, UF_AF | UF_PF},
    {ZYDIS_MNEMONIC_BEXTR, UF_AF | UF_SF | UF_PF},
};

uint64_t undef_flags(ZydisMnemonic m)
{
    for (unsigned i = 0; i < sizeof undef_table / sizeof undef_table[0]; i++)
        if (undef_table[i].m == m)
            return undef_table[i].flags;
    return 0;
}

/* SAL/SAR/SHL/SHR: "If the count is 0, the flags are not affected. ... The OF flag is affected
 * only for 1-bit shifts; otherwise it is undefined. ... For a non-zero count, the AF flag is
 * undefined. For SHL and SHR where the count is greater than or equal to the size (in bits) of
 * the destination operand, the CF flag is undefined."
 * ROL/ROR/RCL/RCR: "If the masked count is 0, the flags are not affected. If the masked count
 * is 1, then the OF flag is affected, otherwise (masked count is greater than 1) the OF flag is
 * undefined." SF, ZF, AF, PF are unaffected by rotates. The count is masked to 5 bits (6 with
 * REX.W) before any of this. */
uint64_t undef_flags_shift(ZydisMnemonic m, unsigned size, uint64_t count)
{
    unsigned masked = (unsigned)(count & (size == 8 ? 0x3f : 0x1f));
    uint64_t u = 0;
    if (masked == 0)
        return 0;
    if (masked > 1)
        u |= UF_OF;
    switch (m) {
    case ZYDIS_MNEMONIC_SHL:
    case ZYDIS_MNEMONIC_SHR:
        u |= UF_AF;
        if (masked >= size * 8)
            u |= UF_CF;
        break;
    case ZYDIS_MNEMONIC_SAR:
        u |= UF_AF;
        break;
    default: /* rotates */
        break;
    }
    return u;
}

/* SHLD/SHRD: "If the count is 1 or greater, the CF flag is filled with the last bit shifted
 * out ... For a 1-bit shift, the OF flag is set if a sign change occurred; otherwise, it is
 * cleared. For shifts greater than 1 bit, the OF flag is undefined. If a shift occurs, the AF
 * flag is undefined. If the count operand is 0, the flags are not affected. If the count is
 * greater than the operand size, the flags are undefined." */
uint64_t undef_flags_shiftd(unsigned size, uint64_t count)
{
    unsigned masked = (unsigned)(count & (size == 8 ? 0x3f : 0x1f));
    if (masked == 0)
        return 0;
    if (masked > size * 8)
        return UF_ALL;
    return UF_AF | (masked > 1 ? UF_OF : 0);
}

/* "If the count is greater than the operand size, the result is undefined." (Only possible for
 * 16-bit operands, where the masked count reaches 31.) */
bool undef_shiftd_result(unsigned size, uint64_t count)
{
    unsigned masked = (unsigned)(count & (size == 8 ? 0x3f : 0x1f));
    return masked > size * 8;
}
