/* Guest-visible x87/SSE rules that a host comparison cannot show, checked on the soft CPU
 * against the SDM: #UD without CR4.OSFXSR or with CR0.EM, #NM on CR0.TS (and WAIT only with
 * MP), #GP for misaligned 16-byte operands and FXSAVE areas and reserved MXCSR bits, #XM vs #UD
 * for unmasked SIMD exceptions, deferred #MF, the FXSAVE image layout and the MMX transition. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dual.h"

/* Exception vectors (SDM Vol. 3A Table 6-1). */
enum { EXC_UD = 6, EXC_NM = 7, EXC_GP = 13, EXC_MF = 16, EXC_XM = 19 };

SNIPPET(s_addps, "addps %xmm1, %xmm0\nhlt");
SNIPPET(s_fld1, "fld1\nhlt");
SNIPPET(s_paddb_mm, "paddb %mm1, %mm0\nhlt");
SNIPPET(s_fxsave, "fxsave 0(%rdi)\nhlt");
SNIPPET(s_fxsave_mis, "fxsave 8(%rdi)\nhlt");
SNIPPET(s_fwait, "fwait\nhlt");
SNIPPET(s_movaps_mis, "movaps 8(%rdi), %xmm0\nhlt");
SNIPPET(s_movups_mis, "movups 8(%rdi), %xmm0\nhlt");
SNIPPET(s_addps_mis, "addps 4(%rdi), %xmm0\nhlt");
SNIPPET(s_addss_mis, "addss 4(%rdi), %xmm0\nhlt");
SNIPPET(s_ldmxcsr, "ldmxcsr 0(%rdi)\nhlt");
SNIPPET(s_fxrstor, "fxrstor 0(%rdi)\nhlt");
SNIPPET(s_div_unmasked, "ldmxcsr 0(%rdi)\nxorps %xmm0, %xmm0\nmovaps 16(%rdi), %xmm1\n"
                        "divps %xmm0, %xmm1\nhlt");
SNIPPET(s_x87_mf, "fldcw 0(%rdi)\nfld1\nfldz\nfdivrp %st, %st(1)\nfnstsw %ax\nfwait\nhlt");
SNIPPET(s_mmx_enter, "fld1\nfld1\nfld1\nmovq 16(%rdi), %mm2\nhlt");
SNIPPET(s_emms, "movq 16(%rdi), %mm2\nemms\nhlt");
SNIPPET(s_fsave_frstor, "fld1\nfldpi\nfnsave 0(%rdi)\nfldz\nfrstor 0(%rdi)\nfstpt 128(%rdi)\n"
                        "fstpt 144(%rdi)\nhlt");
SNIPPET(s_overflow, "fld1\nfld1\nfld1\nfld1\nfld1\nfld1\nfld1\nfld1\nfld1\nfnstsw %ax\nhlt");

static int setup(void **state)
{
    struct dual *d = malloc(sizeof(*d));
    if (!d)
        return -1;
    dual_init(d);
    *state = d;
    return 0;
}

static int teardown(void **state)
{
    dual_destroy(*state);
    free(*state);
    return 0;
}

static uint8_t in[DUAL_BLOCK], out[DUAL_BLOCK];

static int vector_of(struct dual *d, const uint8_t *code, const uint8_t *end, uint64_t cr0_set,
                     uint64_t cr4_clear)
{
    int v;
    dual_soft_only(d, code, end, in, cr0_set, 0, cr4_clear, &v, out);
    return v;
}

#define RUN(code, cr0, cr4) vector_of(d, code, code##_end, cr0, cr4)

static void test_ud_and_nm(void **state)
{
    struct dual *d = *state;
    memset(in, 0, sizeof(in));
    assert_int_equal(RUN(s_addps, 0, 0), -1);
    assert_int_equal(RUN(s_addps, 0, CR4_OSFXSR), EXC_UD);
    assert_int_equal(RUN(s_addps, CR0_EM, 0), EXC_UD);
    assert_int_equal(RUN(s_addps, CR0_TS, 0), EXC_NM);
    assert_int_equal(RUN(s_fld1, CR0_EM, 0), EXC_NM);
    assert_int_equal(RUN(s_fld1, CR0_TS, 0), EXC_NM);
    assert_int_equal(RUN(s_paddb_mm, CR0_EM, 0), EXC_UD);
    assert_int_equal(RUN(s_paddb_mm, CR0_TS, 0), EXC_NM);
    assert_int_equal(RUN(s_paddb_mm, 0, CR4_OSFXSR), -1); /* MMX does not need OSFXSR */
    assert_int_equal(RUN(s_fxsave, CR0_TS, 0), EXC_NM);
    assert_int_equal(RUN(s_fwait, CR0_TS, 0), -1);
    assert_int_equal(RUN(s_fwait, CR0_TS | CR0_MP, 0), EXC_NM);
}

static void test_alignment(void **state)
{
    struct dual *d = *state;
    memset(in, 0, sizeof(in));
    assert_int_equal(RUN(s_movaps_mis, 0, 0), EXC_GP);
    assert_int_equal(RUN(s_movups_mis, 0, 0), -1);
    assert_int_equal(RUN(s_addps_mis, 0, 0), EXC_GP);
    assert_int_equal(RUN(s_addss_mis, 0, 0), -1);
    assert_int_equal(RUN(s_fxsave_mis, 0, 0), EXC_GP);
    assert_int_equal(RUN(s_fxsave, 0, 0), -1);
}

static void test_mxcsr_reserved(void **state)
{
    struct dual *d = *state;
    memset(in, 0, sizeof(in));
    uint32_t mx = 0x1f80 | 0x10000;
    memcpy(in, &mx, 4);
    assert_int_equal(RUN(s_ldmxcsr, 0, 0), EXC_GP);
    assert_int_equal(RUN(s_ldmxcsr, 0, CR4_OSFXSR), EXC_UD);
    memcpy(in + 24, &mx, 4); /* FXRSTOR image MXCSR */
    assert_int_equal(RUN(s_fxrstor, 0, 0), EXC_GP);
    mx = 0x1f80 | 0x40; /* DAZ is supported */
    memcpy(in, &mx, 4);
    memcpy(in + 24, &mx, 4);
    assert_int_equal(RUN(s_ldmxcsr, 0, 0), -1);
    assert_int_equal(RUN(s_fxrstor, 0, 0), -1);
}

static void test_unmasked_simd_exception(void **state)
{
    struct dual *d = *state;
    memset(in, 0, sizeof(in));
    uint32_t mx = 0x1f80 & ~0x200u; /* divide-by-zero unmasked */
    memcpy(in, &mx, 4);
    float ones[4] = {1, 1, 1, 1};
    memcpy(in + 16, ones, 16);
    assert_int_equal(RUN(s_div_unmasked, 0, 0), EXC_XM);
    struct soft_ext_state ext;
    soft_cpu_get_ext_state(d->h.cpu, &ext);
    uint32_t now;
    memcpy(&now, ext.fpu.fxsave + 24, 4);
    assert_int_equal(now & 0x3f, 0x4);                           /* ZE flagged */
    assert_memory_equal(ext.fpu.fxsave + 160 + 16, in + 16, 16); /* xmm1 unchanged */
    assert_int_equal(RUN(s_div_unmasked, 0, CR4_OSXMMEXCPT), EXC_UD);
    mx = 0x1f80;
    memcpy(in, &mx, 4);
    assert_int_equal(RUN(s_div_unmasked, 0, 0), -1);
}

static void test_x87_deferred_mf(void **state)
{
    struct dual *d = *state;
    memset(in, 0, sizeof(in));
    uint16_t fcw = 0x37f & ~0x4u; /* ZM clear */
    memcpy(in, &fcw, 2);
    assert_int_equal(RUN(s_x87_mf, 0, 0), EXC_MF);
    struct soft_exception exc;
    soft_cpu_last_exception(d->h.cpu, &exc);
    /* The division completes its stack effect; the fault is taken at the FWAIT after FNSTSW. */
    assert_int_equal(exc.rip, HARNESS_CODE + (uint64_t)(s_x87_mf_end - s_x87_mf) - 2);
    uint16_t ax = (uint16_t)d->h.st.gpr[GPR_RAX];
    assert_true(ax & 0x80);   /* ES */
    assert_true(ax & 0x4);    /* ZE */
    assert_true(ax & 0x8000); /* B */
}

static void test_fxsave_layout(void **state)
{
    struct dual *d = *state;
    memset(in, 0xaa, sizeof(in));
    struct soft_ext_state ext;
    harness_load(&d->h, s_fxsave, s_fxsave_end);
    soft_cpu_get_ext_state(d->h.cpu, &ext);
    for (unsigned i = 0; i < 256; i++)
        ext.fpu.fxsave[160 + i] = (uint8_t)(i * 7 + 1);
    ext.fpu.fxsave[0] = 0x7f; /* FCW 0x37f, FSW TOP = 5, abridged tag 0xe0 */
    ext.fpu.fxsave[1] = 0x03;
    ext.fpu.fxsave[2] = 0;
    ext.fpu.fxsave[3] = 5 << 3;
    ext.fpu.fxsave[4] = 0xe0;
    uint32_t def = 0x1f80;
    memcpy(ext.fpu.fxsave + 24, &def, 4);
    for (unsigned i = 0; i < 3; i++)
        memset(ext.fpu.fxsave + 32 + 16 * i, 0x11 * (i + 1), 10);
    assert_int_equal(soft_cpu_set_ext_state(d->h.cpu, &ext), 0);
    assert_int_equal(guest_mem_write(&d->h.gm, DUAL_GUEST_VA, in, DUAL_BLOCK), 0);
    d->h.st.gpr[GPR_RDI] = DUAL_GUEST_VA;
    assert_int_equal(soft_cpu_set_state(d->h.cpu, &d->h.st), 0);
    assert_int_equal(harness_run(&d->h, 1000), SOFT_EXIT_HLT);
    assert_int_equal(guest_mem_read(&d->h.gm, DUAL_GUEST_VA, out, DUAL_BLOCK), 0);
    assert_memory_equal(out, ext.fpu.fxsave, 24); /* FCW, FSW, FTW, FOP, FIP, FDP */
    uint32_t mx, mask;
    memcpy(&mx, out + 24, 4);
    memcpy(&mask, out + 28, 4);
    assert_int_equal(mx, 0x1f80);
    assert_int_equal(mask, 0xffff);
    assert_memory_equal(out + 32, ext.fpu.fxsave + 32, 128);
    assert_memory_equal(out + 160, ext.fpu.fxsave + 160, 256);
    for (unsigned i = 464; i < 512; i++)
        assert_int_equal(out[i], 0xaa); /* available to software: never written */
}

static void test_mmx_transition(void **state)
{
    struct dual *d = *state;
    memset(in, 0x5c, sizeof(in));
    struct soft_ext_state ext;
    assert_int_equal(RUN(s_mmx_enter, 0, 0), -1);
    soft_cpu_get_ext_state(d->h.cpu, &ext);
    assert_int_equal((ext.fpu.fxsave[3] >> 3) & 7, 0); /* TOP = 0 */
    assert_int_equal(ext.fpu.fxsave[4], 0xff);         /* all valid */
    /* MM2 is physical register 2; the three FLD1 values went to physical 7, 6, 5. */
    assert_memory_equal(ext.fpu.fxsave + 32 + 2 * 16, in + 16, 8);
    assert_int_equal(ext.fpu.fxsave[32 + 2 * 16 + 8], 0xff);
    assert_int_equal(ext.fpu.fxsave[32 + 2 * 16 + 9], 0xff);
    assert_int_equal(ext.fpu.fxsave[32 + 7 * 16 + 9], 0x3f); /* 1.0 in physical 7 */
    assert_int_equal(RUN(s_emms, 0, 0), -1);
    soft_cpu_get_ext_state(d->h.cpu, &ext);
    assert_int_equal(ext.fpu.fxsave[4], 0);
}

static void test_fsave_frstor_and_overflow(void **state)
{
    struct dual *d = *state;
    memset(in, 0, sizeof(in));
    assert_int_equal(RUN(s_fsave_frstor, 0, 0), -1);
    long double pi, one;
    memcpy(&pi, out + 128, 10);
    memcpy(&one, out + 144, 10);
    assert_true(pi > 3.14159L && pi < 3.1416L);
    assert_true(one == 1.0L);
    assert_int_equal(RUN(s_overflow, 0, 0), -1);
    uint16_t ax = (uint16_t)d->h.st.gpr[GPR_RAX];
    assert_int_equal(ax & 0x41, 0x41);   /* IE | SF */
    assert_int_equal(ax & 0x200, 0x200); /* C1 = 1: overflow */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ud_and_nm),       cmocka_unit_test(test_alignment),
        cmocka_unit_test(test_mxcsr_reserved),  cmocka_unit_test(test_unmasked_simd_exception),
        cmocka_unit_test(test_x87_deferred_mf), cmocka_unit_test(test_fxsave_layout),
        cmocka_unit_test(test_mmx_transition),  cmocka_unit_test(test_fsave_frstor_and_overflow),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
