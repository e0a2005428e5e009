/* The family table: every instruction family the differential tester generates, in report
 * order. The names are the keys of claimed.txt. */
#include "gen.h"

#define FAMILIES(X)                                                                                \
    X(alu)                                                                                         \
    X(test) X(incdec) X(negnot) X(shift) X(rotate) X(shiftd) X(mul) X(div) X(bt) X(bitscan)        \
        X(lzcnt) X(tzcnt) X(popcnt) X(bswap) X(string) X(xchg) X(cmpxchg) X(cmpxchg8b16b) X(setcc) \
            X(cmovcc) X(jcc) X(loop) X(callret) X(stack) X(mov) X(lea) X(convert) X(flagops)       \
                X(misc) X(faults)

#define DECLARE(name) extern const struct gen_family gen_family_##name;
FAMILIES(DECLARE)

#define ENTRY(name) &gen_family_##name,
const struct gen_family *const gen_families[] = {FAMILIES(ENTRY)};
const unsigned gen_nfamilies = sizeof gen_families / sizeof gen_families[0];
