/* Generator for mixed sequences: two to five instructions drawn from different integer
 * families in one snippet, so lazily evaluated flags cross instruction kinds (a shift's CF read
 * by ADC, a MUL's OF by SETO, SAHF before CMOVcc...). A family that leaves something undefined
 * ends the sequence (gen->done), so nothing reads undefined state. */
#include <stdio.h>

#include "gen.h"

extern const struct gen_family gen_family_alu, gen_family_test, gen_family_incdec,
    gen_family_negnot, gen_family_shift, gen_family_rotate, gen_family_shiftd, gen_family_mul,
    gen_family_bt, gen_family_bitscan, gen_family_xchg, gen_family_cmpxchg, gen_family_setcc,
    gen_family_cmovcc, gen_family_jcc, gen_family_mov, gen_family_lea, gen_family_convert,
    gen_family_flagops, gen_family_stack, gen_family_string;

static void gen_mix(struct gen *g)
{
    static const struct gen_family *const parts[] = {
        &gen_family_alu,    &gen_family_test,    &gen_family_incdec,  &gen_family_negnot,
        &gen_family_shift,  &gen_family_rotate,  &gen_family_shiftd,  &gen_family_mul,
        &gen_family_bt,     &gen_family_bitscan, &gen_family_xchg,    &gen_family_cmpxchg,
        &gen_family_setcc,  &gen_family_cmovcc,  &gen_family_jcc,     &gen_family_mov,
        &gen_family_lea,    &gen_family_convert, &gen_family_flagops, &gen_family_stack,
        &gen_family_string,
    };
    unsigned n = 2 + (unsigned)rng_below(g->rng, 4);
    char name[24] = "";
    for (unsigned i = 0; i < n && !g->done && !g->fail; i++) {
        const struct gen_family *f = parts[rng_below(g->rng, sizeof parts / sizeof parts[0])];
        f->gen(g);
        if (i == 0)
            snprintf(name, sizeof name, "%s+", f->name);
    }
    gen_name(g, name);
}

const struct gen_family gen_family_mix = {
    "mix", "sequences across integer families (lazy flags between kinds)", gen_mix, NULL};
