/* Generator for redundant prefixes: a snippet from an integer family is re-emitted with zero to
 * five ES/CS/SS/DS segment-override prefixes (ignored in 64-bit mode) in front of each
 * instruction, sometimes up to and past the 15-byte limit (a longer instruction raises #GP(0)).
 * RIP-relative operands move with the inserted bytes; both CPUs see the same bytes, so whatever
 * they access is still compared. */
#include <string.h>

#include "gen.h"

extern const struct gen_family gen_family_alu, gen_family_mov, gen_family_incdec, gen_family_test,
    gen_family_lea, gen_family_bt, gen_family_shift, gen_family_string, gen_family_mul,
    gen_family_cmovcc, gen_family_setcc;

static void gen_prefix(struct gen *g)
{
    static const struct gen_family *const bases[] = {
        &gen_family_alu, &gen_family_mov,    &gen_family_incdec, &gen_family_test,
        &gen_family_lea, &gen_family_bt,     &gen_family_shift,  &gen_family_string,
        &gen_family_mul, &gen_family_cmovcc, &gen_family_setcc,
    };
    static const uint8_t segs[4] = {0x26, 0x2e, 0x36, 0x3e};
    const struct gen_family *base = bases[rng_below(g->rng, sizeof bases / sizeof bases[0])];
    base->gen(g);
    if (g->fail)
        return;

    struct diff_case *c = g->c;
    uint8_t orig[DIFF_CODE_MAX];
    unsigned len = c->code_len;
    memcpy(orig, c->code, len);
    ZydisDecoder dec;
    ZydisDecodedInstruction in;
    if (!ZYAN_SUCCESS(ZydisDecoderInit(&dec, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64))) {
        g->fail = true;
        return;
    }
    c->code_len = 0;
    for (unsigned off = 0; off < len; off += in.length) {
        if (!ZYAN_SUCCESS(ZydisDecoderDecodeInstruction(&dec, NULL, orig + off, len - off, &in))) {
            g->fail = true;
            return;
        }
        unsigned n = (unsigned)rng_below(g->rng, 6);
        if (rng_chance(g->rng, 10)) /* likely past 15 bytes: #GP(0) */
            n = 15 - in.length + (unsigned)rng_below(g->rng, 3);
        for (unsigned i = 0; i < n; i++)
            gen_bytes(g, &segs[rng_below(g->rng, 4)], 1);
        gen_bytes(g, orig + off, in.length);
    }
}

const struct gen_family gen_family_prefix = {
    "prefix", "segment-override prefixes (ignored in 64-bit mode), 15-byte limit", gen_prefix,
    NULL};
