/* Unit tests of the guest profile (soft/profile.c and the soft CPU's per-block counts behind
 * `ember run --profile`): the table's arithmetic, growth and file format, and that the counts
 * the CPU folds in add up to the instructions it completed, through loops, self-modifying code
 * (freed blocks) and a page-crossing instruction. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/cpu_state.h"
#include "harness.h"
#include "soft/profile.h"

static uint64_t profile_sum(const struct soft_profile *p)
{
    uint64_t sum = 0;
    for (size_t i = 0; i < p->cap; i++)
        sum += p->slots[i].count;
    return sum;
}

static void test_table_add_get_merge(void **state)
{
    struct soft_profile a, b;
    soft_profile_init(&a);
    soft_profile_init(&b);
    assert_int_equal(soft_profile_get(&a, 0x1000), 0);
    assert_int_equal(soft_profile_add(&a, 0x1000, 5), 0);
    assert_int_equal(soft_profile_add(&a, 0x1000, 7), 0);
    assert_int_equal(soft_profile_add(&a, 0x2000, 0), 0); /* nothing to count: no entry */
    assert_int_equal(soft_profile_get(&a, 0x1000), 12);
    assert_int_equal(soft_profile_get(&a, 0x2000), 0);
    assert_int_equal(a.used, 1);
    assert_int_equal(soft_profile_add(&b, 0x1000, 1), 0);
    assert_int_equal(soft_profile_add(&b, 0xffffffff81000000ULL, 3), 0);
    assert_int_equal(soft_profile_merge(&a, &b), 0);
    assert_int_equal(soft_profile_get(&a, 0x1000), 13);
    assert_int_equal(soft_profile_get(&a, 0xffffffff81000000ULL), 3);
    /* Counts saturate instead of wrapping. */
    assert_int_equal(soft_profile_add(&a, 0x3000, UINT64_MAX - 1), 0);
    assert_int_equal(soft_profile_add(&a, 0x3000, 5), 0);
    assert_true(soft_profile_get(&a, 0x3000) == UINT64_MAX);
    soft_profile_free(&a);
    soft_profile_free(&b);
}

static void test_table_grows(void **state)
{
    struct soft_profile p;
    soft_profile_init(&p);
    for (uint64_t i = 0; i < 20000; i++)
        assert_int_equal(soft_profile_add(&p, i * 16, i + 1), 0);
    assert_int_equal(p.used, 20000);
    assert_true(p.cap >= 40000);
    for (uint64_t i = 0; i < 20000; i++)
        assert_int_equal(soft_profile_get(&p, i * 16), i + 1);
    soft_profile_free(&p);
}

static void test_write_format(void **state)
{
    struct soft_profile p;
    soft_profile_init(&p);
    assert_int_equal(soft_profile_add(&p, 0x100005, 1998), 0);
    assert_int_equal(soft_profile_add(&p, 0xffffffff81000010ULL, 3), 0);
    assert_int_equal(soft_profile_add(&p, 0x100000, 3), 0);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    assert_int_equal(soft_profile_write(&p, f), 0);
    assert_int_equal(fclose(f), 0);
    /* Comments, then by count descending and, for equal counts, by address. */
    const char *want = "# ember guest profile: guest instructions completed per translated "
                       "block (soft accelerator)\n# address count\n"
                       "100005 1998\n100000 3\nffffffff81000010 3\n";
    assert_string_equal(buf, want);
    free(buf);
    soft_profile_free(&p);
}

/* 3 instructions once, then the 2-instruction loop body 99 more times, then HLT. */
SNIPPET(snip_loop, "mov $100, %ecx\n 1: dec %ecx\n jnz 1b\n hlt");
static void test_cpu_counts_blocks(void **state)
{
    struct harness h;
    struct soft_profile p;
    soft_profile_init(&p);
    harness_init(&h, true);
    soft_cpu_set_profile(h.cpu, &p);
    harness_load(&h, snip_loop, snip_loop_end);
    assert_int_equal(harness_run(&h, 10000), SOFT_EXIT_HLT);
    soft_cpu_profile_collect(h.cpu);
    assert_int_equal(soft_profile_get(&p, HARNESS_CODE), 3);       /* mov, dec, jnz */
    assert_int_equal(soft_profile_get(&p, HARNESS_CODE + 5), 198); /* dec, jnz */
    struct soft_cpu_stats s;
    soft_cpu_get_stats(h.cpu, &s);
    assert_int_equal(profile_sum(&p), s.instructions);
    /* Collecting again adds nothing: the blocks' counts moved into the table. */
    soft_cpu_profile_collect(h.cpu);
    assert_int_equal(profile_sum(&p), s.instructions);
    harness_destroy(&h);
    soft_profile_free(&p);
}

/* A loop rewrites the function it calls: its block is freed and translated again twice. */
SNIPPET(snip_smc, "xor %ebx, %ebx\n mov $3, %ecx\n lea 2f(%rip), %rdi\n"
                  " 1: call 2f\n add %eax, %ebx\n incb 1(%rdi)\n loop 1b\n hlt\n"
                  " 2: mov $10, %eax\n ret");
static void test_freed_blocks_keep_counts(void **state)
{
    struct harness h;
    struct soft_profile p;
    soft_profile_init(&p);
    harness_init(&h, true);
    soft_cpu_set_profile(h.cpu, &p);
    harness_load(&h, snip_smc, snip_smc_end);
    assert_int_equal(harness_run(&h, 1000), SOFT_EXIT_HLT);
    assert_int_equal(h.st.gpr[GPR_RBX], 10 + 11 + 12);
    struct soft_cpu_stats s;
    soft_cpu_get_stats(h.cpu, &s);
    assert_true(s.blocks_invalidated >= 1);
    soft_cpu_profile_collect(h.cpu);
    assert_int_equal(profile_sum(&p), s.instructions);
    /* The function (mov, ret) ran 3 times, from 3 translations. */
    uint64_t fn = HARNESS_CODE + (uint64_t)(snip_smc_end - snip_smc) - 6;
    assert_int_equal(soft_profile_get(&p, fn), 6);
    harness_destroy(&h);
    soft_profile_free(&p);
}

/* A 10-byte MOV crossing a page boundary (it runs from the crossing cache), then HLT. */
SNIPPET(snip_cross, "movabs $0x1122334455667788, %rax\n hlt");
static void test_crossing_instruction_counted(void **state)
{
    struct harness h;
    struct soft_profile p;
    soft_profile_init(&p);
    harness_init(&h, true);
    soft_cpu_set_profile(h.cpu, &p);
    harness_load(&h, snip_cross, snip_cross_end);
    uint64_t at = HARNESS_CODE + 0x1000 - 3;
    size_t len = (size_t)(snip_cross_end - snip_cross);
    assert_int_equal(guest_mem_write(&h.gm, at, snip_cross, len), 0);
    h.st.rip = at;
    assert_int_equal(soft_cpu_set_state(h.cpu, &h.st), 0);
    assert_int_equal(harness_run(&h, 100), SOFT_EXIT_HLT);
    soft_cpu_profile_collect(h.cpu);
    assert_int_equal(soft_profile_get(&p, at), 1);
    struct soft_cpu_stats s;
    soft_cpu_get_stats(h.cpu, &s);
    assert_int_equal(profile_sum(&p), s.instructions);
    harness_destroy(&h);
    soft_profile_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_add_get_merge),
        cmocka_unit_test(test_table_grows),
        cmocka_unit_test(test_write_format),
        cmocka_unit_test(test_cpu_counts_blocks),
        cmocka_unit_test(test_freed_blocks_keep_counts),
        cmocka_unit_test(test_crossing_instruction_counted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
