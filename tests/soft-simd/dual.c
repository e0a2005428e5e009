/* Host-vs-soft runner of the SIMD/x87 tests (see dual.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <cmocka.h>

#include "dual.h"

#define EXEC_SIZE 4096

void dual_init(struct dual *d)
{
    memset(d, 0, sizeof(*d));
    harness_init(&d->h, true);
    void *p = mmap(NULL, EXEC_SIZE, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS,
                   -1, 0);
    assert_true(p != MAP_FAILED);
    d->exec = p;
    d->block = aligned_alloc(64, DUAL_BLOCK);
    assert_non_null(d->block);
}

void dual_destroy(struct dual *d)
{
    munmap(d->exec, EXEC_SIZE);
    free(d->block);
    harness_destroy(&d->h);
}

uint64_t dual_rand(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 0x2545f4914f6cdd1dULL;
}

/* Calls the snippet natively, restoring the host x87/SSE control state afterwards. */
static void run_native(struct dual *d, const uint8_t *code, size_t len)
{
    memcpy(d->exec, code, len);
    assert_int_equal(d->exec[len - 1], 0xf4); /* HLT */
    d->exec[len - 1] = 0xc3;                  /* RET */
    uint32_t mxcsr;
    uint16_t fcw;
    __asm__ volatile("stmxcsr %0\n\tfnstcw %1" : "=m"(mxcsr), "=m"(fcw));
    void (*fn)(void *) = (void (*)(void *))(void *)d->exec;
    fn(d->block);
    __asm__ volatile("fninit\n\tfldcw %0\n\tldmxcsr %1" : : "m"(fcw), "m"(mxcsr));
}

/* Power-on x87/SSE state, as a fresh host thread has (FCW 0x37f, MXCSR 0x1f80). */
static void reset_ext(struct harness *h)
{
    struct soft_ext_state ext;
    soft_cpu_get_ext_state(h->cpu, &ext);
    memset(ext.fpu.fxsave, 0, sizeof(ext.fpu.fxsave));
    ext.fpu.fxsave[0] = 0x7f;
    ext.fpu.fxsave[1] = 0x03;
    uint32_t mx = 0x1f80;
    memcpy(ext.fpu.fxsave + 24, &mx, 4);
    assert_int_equal(soft_cpu_set_ext_state(h->cpu, &ext), 0);
}

static enum soft_exit run_soft(struct dual *d, const uint8_t *code, const uint8_t *end,
                               const uint8_t *input, uint8_t *out)
{
    struct harness *h = &d->h;
    harness_load(h, code, end);
    assert_int_equal(guest_mem_write(&h->gm, DUAL_GUEST_VA, input, DUAL_BLOCK), 0);
    h->st.gpr[GPR_RDI] = DUAL_GUEST_VA;
    assert_int_equal(soft_cpu_set_state(h->cpu, &h->st), 0);
    reset_ext(h);
    enum soft_exit e = harness_run(h, 100000);
    assert_int_equal(guest_mem_read(&h->gm, DUAL_GUEST_VA, out, DUAL_BLOCK), 0);
    return e;
}

bool dual_run(struct dual *d, const char *name, const uint8_t *code, const uint8_t *end,
              const uint8_t input[DUAL_BLOCK])
{
    uint8_t soft_out[DUAL_BLOCK];
    size_t len = (size_t)(end - code);
    assert_true(len > 0 && len <= EXEC_SIZE);
    enum soft_exit e = run_soft(d, code, end, input, soft_out);
    if (e != SOFT_EXIT_HLT) {
        struct soft_exception exc;
        soft_cpu_last_exception(d->h.cpu, &exc);
        printf("  FAIL %s: soft exit %d (vector %u at %#llx)\n", name, (int)e, exc.vector,
               (unsigned long long)exc.rip);
        d->fail++;
        return false;
    }
    memcpy(d->block, input, DUAL_BLOCK);
    run_native(d, code, len);
    for (unsigned i = DUAL_OUT; i < DUAL_BLOCK; i++) {
        if (d->block[i] != soft_out[i]) {
            printf("  FAIL %s: byte %u: host %02x soft %02x\n    host:", name, i, d->block[i],
                   soft_out[i]);
            unsigned b = i & ~15u;
            for (unsigned j = b; j < b + 16; j++)
                printf(" %02x", d->block[j]);
            printf("\n    soft:");
            for (unsigned j = b; j < b + 16; j++)
                printf(" %02x", soft_out[j]);
            printf("\n    in:  ");
            for (unsigned j = 0; j < 48; j++)
                printf(" %02x", input[j]);
            printf(" mxcsr %02x%02x\n", input[DUAL_MXCSR + 1], input[DUAL_MXCSR]);
            d->fail++;
            return false;
        }
    }
    d->pass++;
    return true;
}

enum soft_exit dual_soft_only(struct dual *d, const uint8_t *code, const uint8_t *end,
                              const uint8_t input[DUAL_BLOCK], uint64_t cr0_set, uint64_t cr0_clear,
                              uint64_t cr4_clear, int *vector, uint8_t out[DUAL_BLOCK])
{
    struct harness *h = &d->h;
    harness_load(h, code, end);
    assert_int_equal(guest_mem_write(&h->gm, DUAL_GUEST_VA, input, DUAL_BLOCK), 0);
    h->st.gpr[GPR_RDI] = DUAL_GUEST_VA;
    h->st.cr0 = (h->st.cr0 | cr0_set) & ~cr0_clear;
    h->st.cr4 &= ~cr4_clear;
    assert_int_equal(soft_cpu_set_state(h->cpu, &h->st), 0);
    reset_ext(h);
    enum soft_exit e = harness_run(h, 100000);
    *vector = -1;
    if (e == SOFT_EXIT_EXCEPTION) {
        struct soft_exception exc;
        soft_cpu_last_exception(h->cpu, &exc);
        *vector = exc.vector;
    }
    assert_int_equal(guest_mem_read(&h->gm, DUAL_GUEST_VA, out, DUAL_BLOCK), 0);
    return e;
}
