/* SSE/SSE2/MMX on the soft CPU against the host CPU: every case of cases.inc runs on both with
 * inputs biased to edge values (signed zeros, infinities, quiet/signalling NaNs, denormals,
 * integer limits) and random MXCSR rounding/FTZ/DAZ settings; plus the guest-visible rules the
 * host cannot show (#UD/#NM/#GP/#XM, FXSAVE layout). Prints per-family counts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dual.h"

enum input_kind { IN_INT, IN_F32, IN_F64, IN_GPR, IN_MXCSRVAL, IN_X87 };

#define SSE_PROLOGUE                                                                               \
    "xor %eax, %eax\nxor %ecx, %ecx\nxor %edx, %edx\nldmxcsr 128(%rdi)\n"                          \
    "movdqu 0(%rdi), %xmm0\nmovdqu 16(%rdi), %xmm1\nmovdqu 32(%rdi), %xmm2\n"                      \
    "movdqu 48(%rdi), %xmm3\n"
#define SSE_EPILOGUE                                                                               \
    "\nmov %rax, 352(%rdi)\nmov %rcx, 360(%rdi)\nmov %rdx, 368(%rdi)\n"                            \
    "pushfq\npop %rax\nand $0x8d5, %eax\nmov %rax, 344(%rdi)\n"                                    \
    "movdqu %xmm0, 256(%rdi)\nmovdqu %xmm1, 272(%rdi)\nmovdqu %xmm2, 288(%rdi)\n"                  \
    "stmxcsr 304(%rdi)\nmovdqu 144(%rdi), %xmm3\nmovdqu %xmm3, 384(%rdi)\n"                        \
    "movdqu 160(%rdi), %xmm3\nmovdqu %xmm3, 400(%rdi)\n"
#define MMX_PROLOGUE SSE_PROLOGUE "movq 64(%rdi), %mm0\nmovq 80(%rdi), %mm1\n"
#define MMX_EPILOGUE                                                                               \
    SSE_EPILOGUE "movq %mm0, 320(%rdi)\nmovq %mm1, 328(%rdi)\nfnstsw 336(%rdi)\n"                  \
                 "fnstenv 416(%rdi)\nemms\n"

/* Every physical register is zeroed first: FNSAVE shows empty registers' contents too. */
#define X87_PROLOGUE                                                                               \
    "xor %eax, %eax\nxor %ecx, %ecx\nxor %edx, %edx\nfninit\n"                                     \
    "fldz\nfldz\nfldz\nfldz\nfldz\nfldz\nfldz\nfldz\nfninit\nfldcw 132(%rdi)\n"                    \
    "fldt 192(%rdi)\nfldt 176(%rdi)\nfldt 160(%rdi)\nfldt 144(%rdi)\n"
/* FIP, FCS/FOP, FDP and FDS of the FNSAVE image are host addresses natively: cleared. */
#define X87_EPILOGUE                                                                               \
    "\nmov %rax, 352(%rdi)\nmov %rcx, 360(%rdi)\nmov %rdx, 368(%rdi)\n"                            \
    "pushfq\npop %rax\nand $0x8d5, %eax\nmov %rax, 344(%rdi)\nfnstsw 336(%rdi)\n"                  \
    "movdqu 208(%rdi), %xmm3\nmovdqu %xmm3, 256(%rdi)\nmovdqu 224(%rdi), %xmm3\n"                  \
    "movdqu %xmm3, 272(%rdi)\nfnsave 384(%rdi)\nmovl $0, 396(%rdi)\nmovl $0, 400(%rdi)\n"          \
    "movl $0, 404(%rdi)\nmovl $0, 408(%rdi)\n"

#define CASE_SSE(id, fam, kind, body) SNIPPET(case_##id, SSE_PROLOGUE body SSE_EPILOGUE "hlt");
#define CASE_X87(id, fam, kind, body) SNIPPET(case_##id, X87_PROLOGUE body X87_EPILOGUE "hlt");
#define CASE_MMX(id, fam, kind, body) SNIPPET(case_##id, MMX_PROLOGUE body MMX_EPILOGUE "hlt");
#include "cases.inc"
#undef CASE_SSE
#undef CASE_MMX
#undef CASE_X87

struct simd_case {
    const char *family;
    enum input_kind kind;
    const char *text;
    const uint8_t *code, *end;
};

#define CASE_SSE(id, fam, kind, body) {fam, kind, body, case_##id, case_##id##_end},
#define CASE_MMX(id, fam, kind, body) {fam, kind, body, case_##id, case_##id##_end},
#define CASE_X87(id, fam, kind, body) {fam, kind, body, case_##id, case_##id##_end},
static const struct simd_case cases[] = {
#include "cases.inc"
};

static const uint32_t f32_edges[] = {
    0x00000000, 0x80000000, 0x3f800000, 0xbf800000, 0x7f800000, 0xff800000, 0x7fc00000,
    0xffc00000, 0x7f800001, 0xffa00000, 0x00000001, 0x807fffff, 0x00800000, 0x7f7fffff,
    0x4f000000, 0xcf000000, 0x4effffff, 0xcf000001, 0x3f000000, 0x40200000, 0x40600000,
    0xbfc00000, 0x5f000000, 0xdf000000, 0x3fc00000, 0x7fc12345,
};
static const uint64_t f64_edges[] = {
    0x0000000000000000ULL, 0x8000000000000000ULL, 0x3ff0000000000000ULL, 0xbff0000000000000ULL,
    0x7ff0000000000000ULL, 0xfff0000000000000ULL, 0x7ff8000000000000ULL, 0xfff8000000000000ULL,
    0x7ff0000000000001ULL, 0xfff4000000000000ULL, 0x0000000000000001ULL, 0x800fffffffffffffULL,
    0x0010000000000000ULL, 0x7fefffffffffffffULL, 0x41e0000000000000ULL, 0xc1e0000000000000ULL,
    0x43e0000000000000ULL, 0xc3e0000000000000ULL, 0x3fe0000000000000ULL, 0x4004000000000000ULL,
    0x400c000000000000ULL, 0x36a0000000000000ULL, 0x47efffffe0000000ULL, 0x3ff8000000000000ULL,
    0x41dfffffffc00000ULL, 0xc1e0000000200000ULL,
};

static void fill_lanes(uint8_t *p, unsigned len, enum input_kind kind, uint64_t *rs)
{
    for (unsigned off = 0; off < len;) {
        uint64_t r = dual_rand(rs);
        if (kind == IN_F32) {
            uint32_t v =
                (r & 3) ? f32_edges[(r >> 8) % (sizeof(f32_edges) / 4)] : (uint32_t)(r >> 32);
            memcpy(p + off, &v, 4);
            off += 4;
        } else if (kind == IN_F64) {
            uint64_t v = (r & 3) ? f64_edges[(r >> 8) % (sizeof(f64_edges) / 8)] : dual_rand(rs);
            memcpy(p + off, &v, 8);
            off += 8;
        } else {
            static const uint8_t bytes[] = {0x00, 0xff, 0x80, 0x7f, 0x01, 0xfe};
            for (unsigned i = 0; i < 8 && off < len; i++, off++)
                p[off] = (r >> (8 * i)) % 5 == 0 ? bytes[(r >> (8 * i + 3)) % 6]
                                                 : (uint8_t)(dual_rand(rs) >> 24);
        }
    }
}

/* 80-bit edge values: sign/exponent, significand. */
static const struct {
    uint16_t se;
    uint64_t m;
} x87_edges[] = {
    {0x0000, 0},                         /* +0 */
    {0x8000, 0},                         /* -0 */
    {0x3fff, 0x8000000000000000ULL},     /* 1 */
    {0xbfff, 0x8000000000000000ULL},     /* -1 */
    {0x4000, 0xc90fdaa22168c235ULL},     /* pi */
    {0x7fff, 0x8000000000000000ULL},     /* +inf */
    {0xffff, 0x8000000000000000ULL},     /* -inf */
    {0x7fff, 0xc000000000000000ULL},     /* QNaN */
    {0xffff, 0xc000000000000000ULL},     /* indefinite */
    {0x7fff, 0x8000000000000001ULL},     /* SNaN */
    {0x0000, 0x0000000000000001ULL},     /* denormal */
    {0x0000, 0x8000000000000000ULL},     /* pseudo-denormal */
    {0x3fff, 0x4000000000000000ULL},     /* unnormal (unsupported) */
    {0x403e, 0x8000000000000000ULL},     /* 2^63 */
    {0xc03e, 0x8000000000000000ULL},     /* -2^63 */
    {0x401d, 0xffffffff00000000ULL},     /* 2^31 - 1 */
    {0x3ffe, 0x8000000000000000ULL},     /* 0.5 */
    {0x4000, 0xa000000000000000ULL},     /* 2.5 */
    {0x7ffe, 0xffffffffffffffffULL},     /* max */
    {0x0001, 0x8000000000000000ULL},     /* min normal */
    {0x4046, 0xde0b6b3a763ffff0ULL},     /* ~1e21 */
    {0x3c01, 0x8000000000000000ULL},     /* tiny for double */
    {0x4007, 0x8000000000000000ULL},     /* 256 */
    {0x4035, 0xde0b6b3a7640000ULL << 4}, /* ~1e17 */
};

static void fill_x87(uint8_t *p, uint64_t *rs)
{
    uint64_t r = dual_rand(rs);
    uint16_t se;
    uint64_t m;
    if (r & 3) {
        unsigned i = (unsigned)((r >> 8) % (sizeof(x87_edges) / sizeof(x87_edges[0])));
        se = x87_edges[i].se;
        m = x87_edges[i].m;
    } else {
        /* random normal number of moderate exponent */
        se = (uint16_t)((r >> 16) & 0x8000) | (uint16_t)(0x3fff - 70 + ((r >> 20) % 140));
        m = dual_rand(rs) | (1ULL << 63);
    }
    memcpy(p, &m, 8);
    memcpy(p + 8, &se, 2);
}

static void make_input(uint8_t *in, enum input_kind kind, unsigned iter, uint64_t *rs)
{
    memset(in, 0, DUAL_BLOCK);
    enum input_kind lanes = kind == IN_GPR || kind == IN_MXCSRVAL ? IN_F32 : kind;
    fill_lanes(in + DUAL_XMM_IN, 128, lanes, rs);
    fill_lanes(in + DUAL_MEM, 112, lanes, rs);
    /* MXCSR: all exceptions masked (the host would trap otherwise), rounding mode, FZ and DAZ
     * varied; the first iterations use the default. */
    uint64_t r = dual_rand(rs);
    uint32_t mx = 0x1f80;
    if (iter >= 4)
        mx |= (uint32_t)((r & 3) << 13) | ((r & 4) ? 0x8000u : 0) | ((r & 8) ? 0x40u : 0);
    memcpy(in + DUAL_MXCSR, &mx, 4);
    if (kind == IN_GPR) {
        static const int64_t gprs[] = {
            0,         -1,        1,        INT32_MAX,          INT32_MIN,
            INT64_MAX, INT64_MIN, 16777217, 9007199254740993LL, -16777217};
        int64_t v = (r & 16) ? gprs[(r >> 8) % 10] : (int64_t)dual_rand(rs);
        memcpy(in + 176, &v, 8);
    }
    if (kind == IN_X87) {
        for (unsigned i = 0; i < 4; i++)
            fill_x87(in + DUAL_MEM + 16 * i, rs);
        /* FCW: exceptions masked, rounding and precision control varied. */
        uint16_t fcw = 0x037f;
        if (iter >= 4)
            fcw = (uint16_t)(0x007f | ((r >> 8) & 3) << 10 | (((r >> 10) & 1) ? 0x200 : 0x300));
        if (iter % 8 == 7)
            fcw = (uint16_t)(fcw & ~0x300); /* single precision */
        memcpy(in + DUAL_FCW, &fcw, 2);
        /* m32/m64/integer operands at 240/248 (and the FLDCW value: a valid masked FCW) */
        fill_lanes(in + 240, 16, (r & 32) ? IN_F32 : (r & 64) ? IN_F64 : IN_INT, rs);
        if ((r & 0x180) == 0x180)
            memcpy(in + 240, &fcw, 2);
    }
    if (kind == IN_MXCSRVAL) {
        uint32_t v = (uint32_t)(dual_rand(rs) & 0xffc0) | 0x1f80;
        memcpy(in + DUAL_MEM, &v, 4);
    }
}

struct family_count {
    const char *name;
    unsigned pass, fail;
};

static struct family_count *family_of(struct family_count *fc, unsigned *n, const char *name)
{
    for (unsigned i = 0; i < *n; i++)
        if (!strcmp(fc[i].name, name))
            return &fc[i];
    fc[*n].name = name;
    return &fc[(*n)++];
}

#define ITERATIONS 48

static void test_dual_cases(void **state)
{
    struct dual *d = malloc(sizeof(*d));
    assert_non_null(d);
    dual_init(d);
    struct family_count fc[32] = {0};
    unsigned nf = 0;
    uint64_t rs = 0x9e3779b97f4a7c15ULL;
    uint8_t in[DUAL_BLOCK];
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        struct family_count *f = family_of(fc, &nf, cases[c].family);
        for (unsigned it = 0; it < ITERATIONS; it++) {
            make_input(in, cases[c].kind, it, &rs);
            if (dual_run(d, cases[c].text, cases[c].code, cases[c].end, in)) {
                f->pass++;
            } else {
                f->fail++;
                break; /* one report per case */
            }
        }
    }
    unsigned pass = 0, fail = 0;
    for (unsigned i = 0; i < nf; i++) {
        printf("%-12s %6u passed, %u failed\n", fc[i].name, fc[i].pass, fc[i].fail);
        pass += fc[i].pass;
        fail += fc[i].fail;
    }
    printf("%u passed, %u failed\n", pass, fail);
    dual_destroy(d);
    free(d);
    assert_int_equal(fail, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dual_cases),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
