/* Unit tests of the translated-code cache: self-modifying code inside the executing block and
 * in previously translated blocks, code rewritten behind the CPU's back (as device DMA would),
 * instructions crossing a page boundary, and the decoder's #UD for invalid encodings. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "core/cpu_state.h"
#include "harness.h"

/* Patches the immediate of the very next instruction (same block) from 1 to 2. */
SNIPPET(snip_smc_same_block, "lea 1f(%rip), %rdi\n movb $2, 1(%rdi)\n 1: mov $1, %eax\n hlt");
static void test_smc_same_block(void **state)
{
    struct harness h;
    harness_init(&h, true);
    harness_load(&h, snip_smc_same_block, snip_smc_same_block_end);
    assert_int_equal(harness_run(&h, 100), SOFT_EXIT_HLT);
    assert_int_equal(h.st.gpr[GPR_RAX], 2);
    struct soft_cpu_stats s;
    soft_cpu_get_stats(h.cpu, &s);
    assert_true(s.blocks_invalidated >= 1);
    harness_destroy(&h);
}

/* A loop calls a function three times and rewrites the function's immediate in between. */
SNIPPET(snip_smc_loop, "xor %ebx, %ebx\n mov $3, %ecx\n lea 2f(%rip), %rdi\n"
                       " 1: call 2f\n add %eax, %ebx\n incb 1(%rdi)\n loop 1b\n hlt\n"
                       " 2: mov $10, %eax\n ret");
static void test_smc_translated_block(void **state)
{
    struct harness h;
    harness_init(&h, true);
    harness_load(&h, snip_smc_loop, snip_smc_loop_end);
    assert_int_equal(harness_run(&h, 1000), SOFT_EXIT_HLT);
    assert_int_equal(h.st.gpr[GPR_RBX], 10 + 11 + 12);
    harness_destroy(&h);
}

SNIPPET(snip_ret1, "mov $1, %eax\n hlt");
SNIPPET(snip_ret2, "mov $2, %eax\n hlt");
static void test_code_rewritten_behind_cpu(void **state)
{
    struct harness h;
    harness_init(&h, true);
    harness_load(&h, snip_ret1, snip_ret1_end);
    assert_int_equal(harness_run(&h, 100), SOFT_EXIT_HLT);
    assert_int_equal(h.st.gpr[GPR_RAX], 1);
    /* Rewrite via guest_mem (a device would): no CPU write, no invalidate call. */
    harness_load(&h, snip_ret2, snip_ret2_end);
    assert_int_equal(harness_run(&h, 100), SOFT_EXIT_HLT);
    assert_int_equal(h.st.gpr[GPR_RAX], 2);
    /* And with the explicit invalidation hint. */
    harness_load(&h, snip_ret1, snip_ret1_end);
    soft_cpu_invalidate_code(h.cpu, HARNESS_CODE, 16);
    assert_int_equal(harness_run(&h, 100), SOFT_EXIT_HLT);
    assert_int_equal(h.st.gpr[GPR_RAX], 1);
    harness_destroy(&h);
}

/* A 10-byte MOV that starts 3 bytes before a page end. */
SNIPPET(snip_cross, "movabs $0x1122334455667788, %rax\n hlt");
static void test_instruction_crossing_pages(void **state)
{
    struct harness h;
    harness_init(&h, true);
    harness_load(&h, snip_cross, snip_cross_end);
    size_t len = (size_t)(snip_cross_end - snip_cross);
    uint64_t at = HARNESS_CODE + 0x1000 - 3;
    assert_int_equal(guest_mem_write(&h.gm, at, snip_cross, len), 0);
    h.st.rip = at;
    assert_int_equal(soft_cpu_set_state(h.cpu, &h.st), 0);
    assert_int_equal(harness_run(&h, 100), SOFT_EXIT_HLT);
    assert_int_equal(h.st.gpr[GPR_RAX], 0x1122334455667788ULL);
    assert_int_equal(h.st.rip, at + len);
    harness_destroy(&h);
}

/* A page-crossing MOV (cached per CPU after its first run) whose immediate is rewritten on the
 * second page, first by the guest itself between two calls, then by a device-style write: each
 * call must see the bytes as they are now. */
SNIPPET(snip_call_crosser, "call *%rbx\n mov %rax, %r8\n movl $0x22222222, 6(%rbx)\n call *%rbx\n"
                           " mov %rax, %r9\n hlt");
static void test_crossing_instruction_rewritten(void **state)
{
    /* movabs $0x1111111111111111, %rax; ret -- 3 bytes before a page end */
    static const uint8_t crosser[] = {0x48, 0xb8, 0x11, 0x11, 0x11, 0x11,
                                      0x11, 0x11, 0x11, 0x11, 0xc3};
    struct harness h;
    harness_init(&h, true);
    harness_load(&h, snip_call_crosser, snip_call_crosser_end);
    uint64_t at = HARNESS_CODE + 0x2000 - 3;
    assert_int_equal(guest_mem_write(&h.gm, at, crosser, sizeof(crosser)), 0);
    h.st.gpr[GPR_RBX] = at;
    assert_int_equal(soft_cpu_set_state(h.cpu, &h.st), 0);
    assert_int_equal(harness_run(&h, 100), SOFT_EXIT_HLT);
    assert_int_equal(h.st.gpr[GPR_R8], 0x1111111111111111ULL);
    assert_int_equal(h.st.gpr[GPR_R9], 0x2222222211111111ULL);
    /* A write from outside the CPU to the second page only. */
    static const uint8_t three[] = {0x33, 0x33};
    assert_int_equal(guest_mem_write(&h.gm, at + 8, three, sizeof(three)), 0);
    harness_load(&h, snip_call_crosser, snip_call_crosser_end);
    h.st.gpr[GPR_RBX] = at;
    assert_int_equal(soft_cpu_set_state(h.cpu, &h.st), 0);
    assert_int_equal(harness_run(&h, 100), SOFT_EXIT_HLT);
    assert_int_equal(h.st.gpr[GPR_R8], 0x3333222211111111ULL);
    harness_destroy(&h);
}

static void test_invalid_opcode(void **state)
{
    static const uint8_t code[] = {0x90, 0x0f, 0x0b}; /* nop; ud2 */
    static const uint8_t bad[] = {0x90, 0x06};        /* nop; push es (invalid in 64-bit) */
    struct harness h;
    struct soft_exception e;
    harness_init(&h, true);
    harness_load(&h, code, code + sizeof(code));
    assert_int_equal(harness_run(&h, 100), SOFT_EXIT_EXCEPTION);
    soft_cpu_last_exception(h.cpu, &e);
    assert_int_equal(e.vector, 6);
    assert_int_equal(e.rip, HARNESS_CODE + 1);
    harness_load(&h, bad, bad + sizeof(bad));
    assert_int_equal(harness_run(&h, 100), SOFT_EXIT_EXCEPTION);
    soft_cpu_last_exception(h.cpu, &e);
    assert_int_equal(e.vector, 6);
    assert_int_equal(e.rip, HARNESS_CODE + 1);
    harness_destroy(&h);
}

/* The budget stops a run between blocks; blocks are reused (not retranslated) afterwards. */
SNIPPET(snip_spin, "1: inc %rax\n jmp 1b");
static void test_budget_and_reuse(void **state)
{
    struct harness h;
    harness_init(&h, true);
    harness_load(&h, snip_spin, snip_spin_end);
    assert_int_equal(harness_run(&h, 1000), SOFT_EXIT_BUDGET);
    assert_int_equal(h.st.gpr[GPR_RAX], 500);
    assert_int_equal(harness_run(&h, 1000), SOFT_EXIT_BUDGET);
    assert_int_equal(h.st.gpr[GPR_RAX], 1000);
    struct soft_cpu_stats s;
    soft_cpu_get_stats(h.cpu, &s);
    assert_int_equal(s.blocks_translated, 1);
    assert_int_equal(s.instructions, 2000);
    harness_destroy(&h);
}

/* A linear page remapped to other code (PTE rewrite + INVLPG) between two calls from the same
 * call site: the chained successor and the linear-address block cache must not survive the
 * INVLPG. V = 0x205000 maps to physical 0x205000 (returns 1), then to 0x206000 (returns 2). */
SNIPPET(snip_remap, "mov $0x205000, %ebx\n xor %r12d, %r12d\n mov $4, %ecx\n"
                    " 1: call *%rbx\n add %eax, %r12d\n cmp $3, %ecx\n jne 2f\n"
                    " mov $0x7028, %edi\n movq $0x206007, (%rdi)\n invlpg (%rbx)\n"
                    " 2: dec %ecx\n jnz 1b\n hlt");
static void test_remapped_code_page(void **state)
{
    static const uint8_t ret1[] = {0xb8, 1, 0, 0, 0, 0xc3}; /* mov $1, %eax; ret */
    static const uint8_t ret2[] = {0xb8, 2, 0, 0, 0, 0xc3}; /* mov $2, %eax; ret */
    struct harness h;
    harness_init(&h, true);
    assert_int_equal(HARNESS_PT + 5 * 8, 0x7028);
    harness_load(&h, snip_remap, snip_remap_end);
    assert_int_equal(guest_mem_write(&h.gm, 0x205000, ret1, sizeof ret1), 0);
    assert_int_equal(guest_mem_write(&h.gm, 0x206000, ret2, sizeof ret2), 0);
    assert_int_equal(harness_run(&h, 1000), SOFT_EXIT_HLT);
    assert_int_equal(h.st.gpr[GPR_R12], 1 + 1 + 2 + 2);
    harness_destroy(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_smc_same_block),
        cmocka_unit_test(test_smc_translated_block),
        cmocka_unit_test(test_code_rewritten_behind_cpu),
        cmocka_unit_test(test_instruction_crossing_pages),
        cmocka_unit_test(test_crossing_instruction_rewritten),
        cmocka_unit_test(test_invalid_opcode),
        cmocka_unit_test(test_budget_and_reuse),
        cmocka_unit_test(test_remapped_code_page),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
