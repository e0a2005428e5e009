/* Unit tests for the KVM CPUID table: filtering of a synthetic "supported" set (APIC IDs,
 * topology, masked features, hypervisor and KVM signature leaves), and the host's real set
 * when /dev/kvm is usable. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <asm/kvm_para.h>

#include "kvm/kvm_internal.h"

#define MAX_ENT 32

static struct kvm_cpuid2 *supported(void)
{
    struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + MAX_ENT * sizeof(struct kvm_cpuid_entry2));
    assert_non_null(c);
    struct kvm_cpuid_entry2 e[] = {
        {.function = 0x0, .eax = 0x1F},
        {.function = 0x1, .eax = 0x906EA, .ebx = 0x00400800, .ecx = 0x7FFAFBFF, .edx = 0xBFEBFBFF},
        {.function = 0x4, .index = 0, .eax = 0x1C004121}, /* L1d, level 1 */
        {.function = 0x4, .index = 1, .eax = 0x1C004163}, /* L3, level 3 */
        {.function = 0x4, .index = 2, .eax = 0},          /* end of list */
        {.function = 0x7, .index = 0, .ebx = 0xFFFFFFFF, .ecx = 0xFFFFFFFF, .edx = 0xFFFFFFFF},
        {.function = 0xD, .index = 0, .eax = 0x600E7, .ebx = 0x340, .ecx = 0x2B00},
        {.function = 0xD, .index = 17, .eax = 0x40, .ebx = 0xAC0},
        {.function = 0x1D, .index = 0, .eax = 1},
        {.function = 0xA, .eax = 0x07300404, .ebx = 0x1, .edx = 0x603},
        {.function = 0xB, .index = 0, .eax = 7, .ebx = 7, .ecx = 0x107, .edx = 99},
        {.function = 0x40000000, .eax = 0x40000001},
        {.function = 0x40000001, .eax = 0xFFFFFFFF, .edx = 1},
        {.function = 0x80000001, .ecx = 0xFFFFFFFF, .edx = 0x2C100800},
        {.function = 0x80000008, .eax = 0x3030, .ecx = 0xF00F},
    };
    memcpy(c->entries, e, sizeof(e));
    c->nent = sizeof(e) / sizeof(e[0]);
    return c;
}

static const struct kvm_cpuid_entry2 *find(const struct kvm_cpuid2 *c, uint32_t fn, uint32_t idx)
{
    for (uint32_t i = 0; i < c->nent; i++)
        if (c->entries[i].function == fn && c->entries[i].index == idx)
            return &c->entries[i];
    return NULL;
}

static unsigned count_fn(const struct kvm_cpuid2 *c, uint32_t fn)
{
    unsigned n = 0;
    for (uint32_t i = 0; i < c->nent; i++)
        n += c->entries[i].function == fn;
    return n;
}

static void test_leaf1(void **state)
{
    struct kvm_cpuid2 *s = supported();
    struct kvm_cpuid2 *c = kvm_cpuid_build(s, 2, 4);
    assert_non_null(c);
    const struct kvm_cpuid_entry2 *e = find(c, 1, 0);
    assert_non_null(e);
    assert_int_equal(e->ebx >> 24, 2);          /* initial APIC ID = vCPU index */
    assert_int_equal((e->ebx >> 16) & 0xFF, 4); /* logical processors */
    assert_int_equal(e->ebx & 0xFFFF, 0x0800);  /* CLFLUSH size etc. kept */
    assert_true(e->ecx & (1U << 31));           /* hypervisor */
    assert_false(e->ecx & (1U << 5));           /* VMX */
    assert_false(e->ecx & (1U << 3));           /* MONITOR */
    assert_false(e->ecx & (1U << 15));          /* PDCM */
    assert_true(e->ecx & 1);                    /* SSE3 kept */
    assert_true(e->edx & (1U << 26));           /* SSE2 kept */
    assert_true(e->edx & (1U << 28));           /* HTT with > 1 CPU */
    assert_false(e->edx & (1U << 22));          /* ACPI thermal MSRs */
    free(c);

    c = kvm_cpuid_build(s, 0, 1);
    assert_false(find(c, 1, 0)->edx & (1U << 28)); /* no HTT alone */
    assert_int_equal(find(c, 1, 0)->ebx >> 24, 0);
    free(c);
    free(s);
}

static void test_topology(void **state)
{
    struct kvm_cpuid2 *s = supported();
    struct kvm_cpuid2 *c = kvm_cpuid_build(s, 3, 4);
    assert_int_equal(count_fn(c, 0xB), 3);  /* host's subleaf replaced by 0..2 */
    assert_int_equal(count_fn(c, 0x1F), 0); /* host had none */
    const struct kvm_cpuid_entry2 *smt = find(c, 0xB, 0), *core = find(c, 0xB, 1),
                                  *inv = find(c, 0xB, 2);
    assert_non_null(smt);
    assert_non_null(core);
    assert_non_null(inv);
    assert_int_equal(smt->eax, 0);
    assert_int_equal(smt->ebx, 1);
    assert_int_equal(smt->ecx, 0x100);
    assert_int_equal(core->eax, 2); /* 4 cores need 2 APIC ID bits */
    assert_int_equal(core->ebx, 4);
    assert_int_equal(core->ecx, 0x201);
    assert_int_equal(inv->ecx & 0xFF00, 0);
    assert_int_equal(smt->edx, 3);
    assert_int_equal(core->edx, 3);
    assert_int_equal(smt->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX, KVM_CPUID_FLAG_SIGNIFCANT_INDEX);

    const struct kvm_cpuid_entry2 *l1 = find(c, 4, 0), *l3 = find(c, 4, 1);
    assert_int_equal(l1->eax >> 26, 3);           /* cores per package - 1 */
    assert_int_equal((l1->eax >> 14) & 0xFFF, 0); /* L1 private */
    assert_int_equal((l3->eax >> 14) & 0xFFF, 3); /* L3 shared by 4 */
    assert_int_equal(l3->eax & 0x3FFF, 0x0163);   /* cache type/level kept */
    assert_int_equal(find(c, 4, 2)->eax, 0);

    assert_int_equal(find(c, 0x80000008, 0)->ecx & 0xFF, 3);
    assert_int_equal(find(c, 0x80000008, 0)->ecx & 0xF000, 0);
    free(c);
    free(s);
}

static void test_masked_and_pv_leaves(void **state)
{
    struct kvm_cpuid2 *s = supported();
    struct kvm_cpuid2 *c = kvm_cpuid_build(s, 0, 2);
    const struct kvm_cpuid_entry2 *pmu = find(c, 0xA, 0);
    assert_int_equal(pmu->eax | pmu->ebx | pmu->ecx | pmu->edx, 0);
    assert_false(find(c, 0x7, 0)->ebx & (1U << 2));        /* SGX */
    assert_false(find(c, 0x7, 0)->ecx & (1U << 5));        /* WAITPKG */
    assert_true(find(c, 0x7, 0)->ebx & (1U << 0));         /* FSGSBASE kept */
    assert_false(find(c, 0x80000001, 0)->ecx & (1U << 2)); /* SVM */
    assert_int_equal(find(c, 0x7, 0)->edx & ((1U << 22) | (1U << 24) | (1U << 25)), 0); /* AMX */
    assert_true(find(c, 0x7, 0)->edx & (1U << 26));                                     /* IBRS */
    assert_int_equal(find(c, 0xD, 0)->eax, 0xE7); /* x87..AVX-512 kept, tile state gone */
    assert_int_equal(find(c, 0xD, 17)->eax | find(c, 0xD, 17)->ebx, 0);
    assert_int_equal(find(c, 0x1D, 0)->eax, 0);

    const struct kvm_cpuid_entry2 *sig = find(c, KVM_CPUID_SIGNATURE, 0);
    char name[13] = {0};
    memcpy(name, &sig->ebx, 4);
    memcpy(name + 4, &sig->ecx, 4);
    memcpy(name + 8, &sig->edx, 4);
    assert_string_equal(name, "KVMKVMKVM");
    assert_int_equal(sig->eax, KVM_CPUID_FEATURES);

    const struct kvm_cpuid_entry2 *feat = find(c, KVM_CPUID_FEATURES, 0);
    assert_true(feat->eax & (1U << KVM_FEATURE_CLOCKSOURCE2));
    assert_true(feat->eax & (1U << KVM_FEATURE_CLOCKSOURCE_STABLE_BIT));
    assert_false(feat->eax & (1U << KVM_FEATURE_ASYNC_PF));
    assert_false(feat->eax & (1U << KVM_FEATURE_STEAL_TIME));
    assert_int_equal(feat->edx, 0);
    free(c);
    free(s);
}

static void test_tsc_deadline(void **state)
{
    struct kvm_cpuid2 *s = supported();
    assert_int_equal(s->entries[1].function, 1);
    s->entries[1].ecx &= ~(1U << 24);
    kvm_cpuid_set_tsc_deadline(s);
    struct kvm_cpuid2 *c = kvm_cpuid_build(s, 0, 1);
    assert_true(find(c, 1, 0)->ecx & (1U << 24));
    free(c);
    free(s);
}

static void test_bad_index(void **state)
{
    struct kvm_cpuid2 *s = supported();
    assert_null(kvm_cpuid_build(s, 4, 4));
    assert_null(kvm_cpuid_build(s, 0, 0));
    free(s);
}

static void test_host_supported_set(void **state)
{
    int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (fd < 0)
        skip();
    struct kvm_cpuid2 *s = kvm_cpuid_get_supported(fd);
    close(fd);
    assert_non_null(s);
    assert_true(s->nent > 0);
    struct kvm_cpuid2 *c = kvm_cpuid_build(s, 1, 2);
    assert_non_null(c);
    assert_true(find(c, 1, 0)->ecx & (1U << 31));
    assert_int_equal(find(c, 1, 0)->ebx >> 24, 1);
    assert_false(find(c, 1, 0)->ecx & (1U << 5));
    free(c);
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_leaf1),
        cmocka_unit_test(test_topology),
        cmocka_unit_test(test_masked_and_pv_leaves),
        cmocka_unit_test(test_tsc_deadline),
        cmocka_unit_test(test_bad_index),
        cmocka_unit_test(test_host_supported_set),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
