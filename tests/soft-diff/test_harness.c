/* Unit tests of the differential tester's own machinery (cmocka): the native runner produces
 * known results, faults and timeouts; the comparator catches every kind of difference and masks
 * only the undefined bits; the undefined-flags table follows the SDM rules; and (when the soft
 * CPU is built) the soft runner agrees with the host on a known snippet. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "diff.h"
#include "undef.h"

static struct diff_case *new_case(const uint8_t *code, unsigned len)
{
    struct diff_case *c = calloc(1, sizeof *c);
    assert_non_null(c);
    memcpy(c->code, code, len);
    c->code_len = (uint16_t)len;
    c->in.gpr[4] = DIFF_STACK_TOP;
    c->in.rflags = 0x2;
    diff_fx_default(c->in.fx);
    for (unsigned i = 0; i < DIFF_WIN_SIZE; i++)
        c->win[i] = (uint8_t)(i * 7);
    return c;
}

static struct diff_outcome *run_native(struct diff_case *cases, unsigned n)
{
    struct diff_native *nat;
    struct diff_outcome *out = calloc(n, sizeof *out);
    assert_non_null(out);
    assert_int_equal(diff_native_create(n, &nat), 0);
    assert_int_equal(diff_native_run(nat, cases, n, out), 0);
    diff_native_destroy(nat);
    return out;
}

static void test_native_add_and_store(void **state)
{
    /* add rax, rbx; mov [rdi], rax */
    const uint8_t code[] = {0x48, 0x01, 0xd8, 0x48, 0x89, 0x07};
    struct diff_case *c = new_case(code, sizeof code);
    c->in.gpr[0] = 0xffffffffffffffffULL;
    c->in.gpr[3] = 2;
    c->in.gpr[7] = DIFF_DATA_ADDR + 0x10;
    struct diff_outcome *o = run_native(c, 1);
    assert_int_equal(o->vector, DIFF_END);
    assert_int_equal(o->out.gpr[0], 1);
    assert_int_equal(o->out.rflags & 1, 1); /* carry out */
    assert_int_equal(o->rip, DIFF_CODE_ADDR + sizeof code);
    uint64_t stored;
    memcpy(&stored, o->win + 0x10, 8);
    assert_int_equal(stored, 1);
    assert_int_equal(o->out.gpr[4], DIFF_STACK_TOP);
    free(c);
    free(o);
}

static void test_native_faults_and_timeout(void **state)
{
    const uint8_t div0[] = {0x48, 0xf7, 0xf1}; /* div rcx (rcx = 0): #DE */
    const uint8_t load[] = {0x48, 0x8b, 0x03}; /* mov rax, [rbx] (unmapped): #PF */
    const uint8_t loop[] = {0xeb, 0xfe};       /* jmp $: never ends */
    const uint8_t ud2[] = {0x0f, 0x0b};        /* #UD */
    struct diff_case *c = calloc(4, sizeof *c), *t;
    assert_non_null(c);
    t = new_case(div0, sizeof div0);
    c[0] = *t;
    free(t);
    t = new_case(load, sizeof load);
    t->in.gpr[3] = DIFF_WIN_ADDR + DIFF_WIN_SIZE + 0x18;
    c[1] = *t;
    free(t);
    t = new_case(loop, sizeof loop);
    c[2] = *t;
    free(t);
    t = new_case(ud2, sizeof ud2);
    c[3] = *t;
    free(t);
    struct diff_outcome *o = run_native(c, 4);
    assert_int_equal(o[0].vector, 0);
    assert_int_equal(o[0].rip, DIFF_CODE_ADDR);
    assert_int_equal(o[1].vector, 14);
    assert_int_equal(o[1].fault_addr, DIFF_WIN_ADDR + DIFF_WIN_SIZE + 0x18);
    assert_int_equal(o[1].error_code & 0x3, 0); /* read of a not-present page */
    assert_int_equal(o[2].vector, DIFF_TIMEOUT);
    assert_int_equal(o[3].vector, 6); /* the batch goes on after the timeout */
    free(c);
    free(o);
}

static void test_compare_catches_differences(void **state)
{
    const uint8_t nop = 0x90;
    struct diff_case *c = new_case(&nop, 1);
    struct diff_outcome *a = calloc(1, sizeof *a), *b = calloc(1, sizeof *b);
    char why[256];
    assert_non_null(a);
    assert_non_null(b);
    a->vector = DIFF_END;
    a->out.rflags = 0x2 | 0x10; /* AF */
    *b = *a;
    assert_true(diff_compare(c, a, b, why, sizeof why));

    b->out.gpr[13] ^= 1ULL << 40;
    assert_false(diff_compare(c, a, b, why, sizeof why));
    assert_non_null(strstr(why, "r13"));
    *b = *a;
    b->win[DIFF_WIN_SIZE - 1] ^= 0x80;
    assert_false(diff_compare(c, a, b, why, sizeof why));
    assert_non_null(strstr(why, "memory"));
    *b = *a;
    b->out.rflags ^= 0x10;
    assert_false(diff_compare(c, a, b, why, sizeof why));
    c->flags_undef = UF_AF; /* undefined: masked */
    assert_true(diff_compare(c, a, b, why, sizeof why));
    b->out.rflags ^= 0x400; /* DF is always compared */
    assert_false(diff_compare(c, a, b, why, sizeof why));
    *b = *a;
    b->vector = 13;
    assert_false(diff_compare(c, a, b, why, sizeof why));
    *b = *a;
    c->gpr_undef = 1u << 2;
    b->out.gpr[2] = 99; /* undefined result register: masked */
    assert_true(diff_compare(c, a, b, why, sizeof why));
    c->cmp_fpu = true;
    b->out.fx[160 + 16 * 5] ^= 1; /* xmm5 */
    assert_false(diff_compare(c, a, b, why, sizeof why));
    assert_non_null(strstr(why, "xmm5"));
    /* #PF: the U/S bit of the error code differs by design, the rest must agree. */
    *b = *a;
    a->vector = b->vector = 14;
    a->error_code = 0x6;
    b->error_code = 0x2;
    assert_true(diff_compare(c, a, b, why, sizeof why));
    b->error_code = 0x4;
    assert_false(diff_compare(c, a, b, why, sizeof why));
    free(a);
    free(b);
    free(c);
}

/* Implementation-specific outcomes: each allowed value is accepted, nothing else. */
static void test_compare_vendor_choices(void **state)
{
    const uint8_t rep_stos[] = {0x67, 0xf3, 0xaa}; /* rep stosb with 32-bit addressing */
    struct diff_case *c = new_case(rep_stos, sizeof rep_stos);
    struct diff_outcome *a = calloc(1, sizeof *a), *b = calloc(1, sizeof *b);
    char why[256];
    assert_non_null(a);
    assert_non_null(b);
    /* ECX = 0: RCX's upper half kept (AMD) or zeroed (Intel). */
    c->in.gpr[1] = 0x1234567800000000ULL;
    c->gpr_hi_kept_or_zeroed = 1u << 1;
    a->vector = b->vector = DIFF_END;
    a->out.gpr[1] = 0x1234567800000000ULL;
    b->out.gpr[1] = 0;
    assert_true(diff_compare(c, a, b, why, sizeof why));
    assert_true(diff_compare(c, b, a, why, sizeof why));
    b->out.gpr[1] = 1; /* bits 31:0 are still compared */
    assert_false(diff_compare(c, a, b, why, sizeof why));
    assert_non_null(strstr(why, "rcx"));
    b->out.gpr[1] = 0x1234567900000000ULL; /* neither kept nor zeroed */
    assert_false(diff_compare(c, a, b, why, sizeof why));
    c->gpr_hi_kept_or_zeroed = 0; /* only where the generator allows it */
    b->out.gpr[1] = 0;
    assert_false(diff_compare(c, a, b, why, sizeof why));

    /* #XM with only OM unmasked: PE may differ; with PM also unmasked it may not. */
    const uint32_t in_mx = 0x1b80, mx_a = 0x1ba8, mx_b = 0x1b88;
    *b = *a;
    c->cmp_fpu = true;
    memcpy(c->in.fx + 24, &in_mx, 4);
    a->vector = b->vector = 19;
    memcpy(a->out.fx + 24, &mx_a, 4);
    memcpy(b->out.fx + 24, &mx_b, 4);
    assert_true(diff_compare(c, a, b, why, sizeof why));
    const uint32_t mx_ue = 0x1b98; /* UE as well: any other flag is compared */
    memcpy(b->out.fx + 24, &mx_ue, 4);
    assert_false(diff_compare(c, a, b, why, sizeof why));
    memcpy(b->out.fx + 24, &mx_b, 4);
    a->vector = b->vector = DIFF_END; /* no #XM: PE compared */
    assert_false(diff_compare(c, a, b, why, sizeof why));
    a->vector = b->vector = 19;
    const uint32_t in_pm = 0x0b80; /* PM unmasked too */
    memcpy(c->in.fx + 24, &in_pm, 4);
    assert_false(diff_compare(c, a, b, why, sizeof why));
    free(a);
    free(b);
    free(c);
}

static void test_undef_rules(void **state)
{
    assert_int_equal(undef_flags(ZYDIS_MNEMONIC_ADD), 0);
    assert_int_equal(undef_flags(ZYDIS_MNEMONIC_AND), UF_AF);
    assert_int_equal(undef_flags(ZYDIS_MNEMONIC_DIV), UF_ALL);
    /* shifts: count 0 changes nothing; 1 defines OF; more leaves OF undefined; the count is
     * masked to 5 bits before any of it (32 on an 8-bit operand is a zero count). */
    assert_int_equal(undef_flags_shift(ZYDIS_MNEMONIC_SHL, 1, 0), 0);
    assert_int_equal(undef_flags_shift(ZYDIS_MNEMONIC_SHL, 1, 32), 0);
    assert_int_equal(undef_flags_shift(ZYDIS_MNEMONIC_SHL, 4, 1), UF_AF);
    assert_int_equal(undef_flags_shift(ZYDIS_MNEMONIC_SHR, 4, 2), UF_AF | UF_OF);
    assert_int_equal(undef_flags_shift(ZYDIS_MNEMONIC_SHR, 1, 9), UF_AF | UF_OF | UF_CF);
    assert_int_equal(undef_flags_shift(ZYDIS_MNEMONIC_SAR, 1, 9), UF_AF | UF_OF);
    assert_int_equal(undef_flags_shift(ZYDIS_MNEMONIC_ROL, 8, 1), 0);
    assert_int_equal(undef_flags_shift(ZYDIS_MNEMONIC_RCR, 2, 3), UF_OF);
    assert_int_equal(undef_flags_shiftd(2, 17), UF_ALL);
    assert_true(undef_shiftd_result(2, 17));
    assert_false(undef_shiftd_result(4, 17));
}

static void test_soft_agrees_on_known_snippet(void **state)
{
    struct diff_soft *s;
    int rc = diff_soft_create(&s);
    if (rc == -ENOSYS)
        skip();
    assert_int_equal(rc, 0);
    /* add rax, rbx; mov [rdi], rax; push rax */
    const uint8_t code[] = {0x48, 0x01, 0xd8, 0x48, 0x89, 0x07, 0x50};
    struct diff_case *c = new_case(code, sizeof code);
    c->in.gpr[0] = 0x7fffffffffffffffULL;
    c->in.gpr[3] = 1;
    c->in.gpr[7] = DIFF_DATA_ADDR + 0x20;
    struct diff_outcome *n = run_native(c, 1), *o = calloc(1, sizeof *o);
    assert_non_null(o);
    diff_soft_run(s, c, o);
    char why[256];
    assert_true(diff_compare(c, n, o, why, sizeof why));
    assert_int_equal(o->out.gpr[0], 0x8000000000000000ULL);
    assert_int_equal(o->out.rflags & 0x800, 0x800); /* OF */
    free(c);
    free(n);
    free(o);
    diff_soft_destroy(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_native_add_and_store),
        cmocka_unit_test(test_native_faults_and_timeout),
        cmocka_unit_test(test_compare_catches_differences),
        cmocka_unit_test(test_compare_vendor_choices),
        cmocka_unit_test(test_undef_rules),
        cmocka_unit_test(test_soft_agrees_on_known_snippet),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
