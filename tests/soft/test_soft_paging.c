/* Unit tests of the soft CPU's paging: #PF error codes and CR2 (not present, write protect, user,
 * NX, reserved bits), accessed/dirty bits, and TLB semantics of INVLPG, CR3 reloads and global
 * pages. The harness maps [2 MiB, 4 MiB) with 4 KiB pages through HARNESS_PT. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "core/cpu_state.h"
#include "harness.h"

#define PTE(addr) (HARNESS_PT + (((addr)-HARNESS_DATA) >> 12) * 8)

static void expect_pf(struct harness *h, uint32_t ec, uint64_t cr2)
{
    struct soft_exception e;
    assert_int_equal(harness_run(h, 1000), SOFT_EXIT_EXCEPTION);
    soft_cpu_last_exception(h->cpu, &e);
    assert_int_equal(e.vector, 14);
    assert_true(e.has_error_code);
    assert_int_equal(e.error_code, ec);
    assert_int_equal(e.cr2, cr2);
    assert_int_equal(h->st.cr2, cr2);
}

SNIPPET(snip_read_201008, "mov 0x201008, %rax\n hlt");
static void test_pf_not_present(void **state)
{
    struct harness h;
    harness_init(&h, true);
    harness_write64(&h, PTE(0x201000), 0);
    harness_load(&h, snip_read_201008, snip_read_201008_end);
    expect_pf(&h, 0, 0x201008);
    assert_int_equal(h.st.rip, HARNESS_CODE); /* faulting instruction */
    harness_destroy(&h);
}

SNIPPET(snip_write_202000, "movl $1, 0x202000\n hlt");
static void test_pf_write_protect(void **state)
{
    struct harness h;
    harness_init(&h, true);
    harness_write64(&h, PTE(0x202000), 0x202000 | 5); /* P, US, read-only */
    harness_load(&h, snip_write_202000, snip_write_202000_end);
    expect_pf(&h, 3, 0x202000); /* P | W */
    harness_destroy(&h);

    /* With CR0.WP = 0 a supervisor write to a read-only page succeeds. */
    harness_init(&h, true);
    harness_write64(&h, PTE(0x202000), 0x202000 | 5);
    harness_load(&h, snip_write_202000, snip_write_202000_end);
    h.st.cr0 &= ~CR0_WP;
    assert_int_equal(soft_cpu_set_state(h.cpu, &h.st), 0);
    assert_int_equal(harness_run(&h, 100), SOFT_EXIT_HLT);
    assert_int_equal(harness_read64(&h, 0x202000) & 0xff, 1);
    harness_destroy(&h);
}

/* A read-modify-write destination on a not-present page faults as a write. */
SNIPPET(snip_rmw_201000, "addl $1, 0x201000\n hlt");
static void test_pf_rmw_is_write(void **state)
{
    struct harness h;
    harness_init(&h, true);
    harness_write64(&h, PTE(0x201000), 0);
    harness_load(&h, snip_rmw_201000, snip_rmw_201000_end);
    expect_pf(&h, 2, 0x201000); /* W, not present */
    harness_destroy(&h);
}

SNIPPET(snip_jump_203000, "mov $0x203000, %rax\n jmp *%rax");
static void test_pf_nx_fetch(void **state)
{
    struct harness h;
    harness_init(&h, true);
    harness_write64(&h, PTE(0x203000), 0x203000 | 7 | (1ULL << 63));
    harness_load(&h, snip_jump_203000, snip_jump_203000_end);
    expect_pf(&h, 0x11, 0x203000); /* P | I/D */
    assert_int_equal(h.st.rip, 0x203000);
    harness_destroy(&h);
}

SNIPPET(snip_read_204000, "mov 0x204000, %rax\n hlt");
static void test_pf_reserved_bit(void **state)
{
    struct harness h;
    harness_init(&h, true);
    harness_write64(&h, PTE(0x204000), 0x204000 | 7 | (1ULL << 50));
    harness_load(&h, snip_read_204000, snip_read_204000_end);
    expect_pf(&h, 0x9, 0x204000); /* P | RSVD */
    harness_destroy(&h);
}

static void enter_user(struct harness *h)
{
    struct cpu_segment *cs = &h->st.seg[SEG_CS], *ss = &h->st.seg[SEG_SS];
    cs->selector = SEL_UCODE;
    cs->dpl = 3;
    ss->selector = SEL_UDATA;
    ss->dpl = 3;
    assert_int_equal(soft_cpu_set_state(h->cpu, &h->st), 0);
}

static void test_pf_user_supervisor_page(void **state)
{
    struct harness h;
    harness_init(&h, true);
    harness_write64(&h, PTE(0x204000), 0x204000 | 3); /* supervisor-only */
    harness_load(&h, snip_read_204000, snip_read_204000_end);
    enter_user(&h);
    expect_pf(&h, 5, 0x204000); /* P | U */
    harness_destroy(&h);

    /* A user write to a not-present page: W | U. */
    harness_init(&h, true);
    harness_write64(&h, PTE(0x202000), 0);
    harness_load(&h, snip_write_202000, snip_write_202000_end);
    enter_user(&h);
    expect_pf(&h, 6, 0x202000);
    harness_destroy(&h);
}

/* Kernel code calls a supervisor-only page (a RET) until its block is chained and cached by
 * linear address, then IRETQ drops to user mode, which calls the same address: the fetch must
 * still fault (P | U, and I with NX on). Chains and the block cache are kept per privilege
 * class, so the supervisor entry cannot serve the user fetch. */
SNIPPET(snip_user_call_supervisor,
        "mov $0x203000, %rbx\n mov $4, %ecx\n 1: call *%rbx\n dec %ecx\n jnz 1b\n"
        " push $0x1b\n push $0x170000\n pushfq\n push $0x23\n lea 2f(%rip), %rax\n push %rax\n"
        " iretq\n 2: call *%rbx\n hlt");
static void test_user_fetch_after_supervisor_chain(void **state)
{
    struct harness h;
    struct soft_exception e;
    harness_init(&h, true);
    harness_write64(&h, PTE(0x203000), 0x203000 | 3); /* present, writable, supervisor-only */
    harness_write64(&h, 0x203000, 0xc3);              /* ret */
    harness_load(&h, snip_user_call_supervisor, snip_user_call_supervisor_end);
    assert_int_equal(harness_run(&h, 1000), SOFT_EXIT_EXCEPTION);
    soft_cpu_last_exception(h.cpu, &e);
    assert_int_equal(e.vector, 14);
    assert_int_equal(e.error_code & 0x7, 5); /* P | U, a read-type access */
    assert_int_equal(e.cr2, 0x203000);
    assert_int_equal(h.st.seg[SEG_CS].selector & 3, 3);
    harness_destroy(&h);
}

SNIPPET(snip_ad_bits, "movl $1, 0x205000\n mov 0x206000, %eax\n hlt");
static void test_accessed_dirty(void **state)
{
    struct harness h;
    harness_init(&h, true);
    harness_load(&h, snip_ad_bits, snip_ad_bits_end);
    assert_int_equal(harness_run(&h, 100), SOFT_EXIT_HLT);
    assert_int_equal(harness_read64(&h, PTE(0x205000)) & 0x60, 0x60); /* A | D */
    assert_int_equal(harness_read64(&h, PTE(0x206000)) & 0x60, 0x20); /* A only */
    assert_int_equal(harness_read64(&h, HARNESS_PD + 8) & 0x20, 0x20);
    harness_destroy(&h);
}

/* Read 0x20a000 (mapped to itself; its TLB slot differs from the page table's), remap it to
 * 0x208000 in the PTE, read again (the stale TLB
 * entry is still used: no invalidation yet), INVLPG, read again (new mapping). */
SNIPPET(snip_invlpg, "mov 0x20a000, %rax\n movq $0x208007, (%rdi)\n mov 0x20a000, %rbx\n"
                     " invlpg 0x20a000\n mov 0x20a000, %rcx\n hlt");
static void test_invlpg(void **state)
{
    struct harness h;
    harness_init(&h, true);
    harness_write64(&h, 0x20a000, 0x1111);
    harness_write64(&h, 0x208000, 0x2222);
    harness_load(&h, snip_invlpg, snip_invlpg_end);
    h.st.gpr[GPR_RDI] = PTE(0x20a000);
    assert_int_equal(soft_cpu_set_state(h.cpu, &h.st), 0);
    assert_int_equal(harness_run(&h, 100), SOFT_EXIT_HLT);
    assert_int_equal(h.st.gpr[GPR_RAX], 0x1111);
    assert_int_equal(h.st.gpr[GPR_RBX], 0x1111);
    assert_int_equal(h.st.gpr[GPR_RCX], 0x2222);
    harness_destroy(&h);
}

/* A CR3 reload flushes non-global entries but keeps global ones (CR4.PGE=1). */
SNIPPET(snip_cr3_global, "mov 0x207000, %rax\n mov 0x209000, %rax\n movq $0x208007, (%rdi)\n"
                         " movq $0x208107, 8(%rdi)\n mov %cr3, %rdx\n mov %rdx, %cr3\n"
                         " mov 0x207000, %rbx\n mov 0x209000, %rcx\n hlt");
static void test_cr3_reload_and_global(void **state)
{
    struct harness h;
    harness_init(&h, true);
    harness_write64(&h, 0x207000, 0x1111);
    harness_write64(&h, 0x208000, 0x2222);
    harness_write64(&h, 0x209000, 0x3333);
    harness_write64(&h, PTE(0x209000), 0x209000 | 7 | 0x100); /* global */
    harness_load(&h, snip_cr3_global, snip_cr3_global_end);
    h.st.gpr[GPR_RDI] = PTE(0x207000);
    h.st.cr4 |= CR4_PGE;
    assert_int_equal(soft_cpu_set_state(h.cpu, &h.st), 0);
    harness_write64(&h, PTE(0x209000), 0x209000 | 7 | 0x100);
    assert_int_equal(harness_run(&h, 100), SOFT_EXIT_HLT);
    assert_int_equal(h.st.gpr[GPR_RBX], 0x2222); /* non-global: flushed */
    harness_destroy(&h);
}

SNIPPET(snip_global_kept, "mov 0x209000, %rax\n movq $0x208107, (%rdi)\n mov %cr3, %rdx\n"
                          " mov %rdx, %cr3\n mov 0x209000, %rbx\n invlpg 0x209000\n"
                          " mov 0x209000, %rcx\n hlt");
static void test_global_survives_cr3(void **state)
{
    struct harness h;
    harness_init(&h, true);
    harness_write64(&h, 0x208000, 0x2222);
    harness_write64(&h, 0x209000, 0x3333);
    harness_write64(&h, PTE(0x209000), 0x209000 | 7 | 0x100);
    harness_load(&h, snip_global_kept, snip_global_kept_end);
    h.st.gpr[GPR_RDI] = PTE(0x209000);
    h.st.cr4 |= CR4_PGE;
    assert_int_equal(soft_cpu_set_state(h.cpu, &h.st), 0);
    assert_int_equal(harness_run(&h, 100), SOFT_EXIT_HLT);
    assert_int_equal(h.st.gpr[GPR_RAX], 0x3333);
    assert_int_equal(h.st.gpr[GPR_RBX], 0x3333); /* global entry survived the CR3 write */
    assert_int_equal(h.st.gpr[GPR_RCX], 0x2222); /* INVLPG dropped it */
    harness_destroy(&h);
}

/* INVLPG of any address inside a 2 MiB page drops the entries of the whole page (SDM Vol. 3A
 * 4.10.4.1): read 0x401000 through a large page, point the PDE elsewhere, INVLPG a different
 * 4 KiB part of the same large page, read again. */
SNIPPET(snip_invlpg_large, "mov 0x401000, %rax\n movq $0x600083, (%rdi)\n mov 0x401000, %rbx\n"
                           " invlpg 0x5ff000\n mov 0x401000, %rcx\n hlt");
static void test_invlpg_large_page(void **state)
{
    struct harness h;
    harness_init(&h, true);
    harness_write64(&h, 0x401000, 0x1111);
    harness_write64(&h, 0x601000, 0x2222);
    harness_write64(&h, HARNESS_PD + 2 * 8, 0x400083); /* P, RW, PS: [4 MiB, 6 MiB) */
    harness_load(&h, snip_invlpg_large, snip_invlpg_large_end);
    h.st.gpr[GPR_RDI] = HARNESS_PD + 2 * 8;
    assert_int_equal(soft_cpu_set_state(h.cpu, &h.st), 0);
    assert_int_equal(harness_run(&h, 100), SOFT_EXIT_HLT);
    assert_int_equal(h.st.gpr[GPR_RAX], 0x1111);
    assert_int_equal(h.st.gpr[GPR_RBX], 0x1111); /* stale entry: no invalidation yet */
    assert_int_equal(h.st.gpr[GPR_RCX], 0x2222);
    harness_destroy(&h);
}

/* A CR3 reload flushes every entry, however many are cached: read 300 pages (more than the
 * 256 entries the TLB once had), remap them all to 0x208000, reload CR3 and sum them again. */
SNIPPET(snip_cr3_many, "mov $0x220000, %rsi\n mov $300, %ecx\n"
                       "1: mov (%rsi), %rax\n add $0x1000, %rsi\n dec %ecx\n jnz 1b\n"
                       " mov %rdi, %rsi\n mov $300, %ecx\n"
                       "2: movq $0x208007, (%rsi)\n add $8, %rsi\n dec %ecx\n jnz 2b\n"
                       " mov %cr3, %rdx\n mov %rdx, %cr3\n"
                       " mov $0x220000, %rsi\n xor %ebx, %ebx\n mov $300, %ecx\n"
                       "3: add (%rsi), %rbx\n add $0x1000, %rsi\n dec %ecx\n jnz 3b\n hlt");
static void test_cr3_reload_many_pages(void **state)
{
    struct harness h;
    harness_init(&h, true);
    harness_write64(&h, 0x208000, 0x2222);
    harness_load(&h, snip_cr3_many, snip_cr3_many_end);
    h.st.gpr[GPR_RDI] = PTE(0x220000);
    assert_int_equal(soft_cpu_set_state(h.cpu, &h.st), 0);
    assert_int_equal(harness_run(&h, 100000), SOFT_EXIT_HLT);
    assert_int_equal(h.st.gpr[GPR_RBX], 300 * 0x2222ULL);
    harness_destroy(&h);
}

SNIPPET(snip_noncanonical, "mov $0x0000800000000000, %rax\n mov (%rax), %rbx\n hlt");
static void test_noncanonical_gp(void **state)
{
    struct harness h;
    struct soft_exception e;
    harness_init(&h, true);
    harness_load(&h, snip_noncanonical, snip_noncanonical_end);
    assert_int_equal(harness_run(&h, 100), SOFT_EXIT_EXCEPTION);
    soft_cpu_last_exception(h.cpu, &e);
    assert_int_equal(e.vector, 13);
    assert_int_equal(e.error_code, 0);
    harness_destroy(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pf_not_present),
        cmocka_unit_test(test_pf_write_protect),
        cmocka_unit_test(test_pf_rmw_is_write),
        cmocka_unit_test(test_pf_nx_fetch),
        cmocka_unit_test(test_pf_reserved_bit),
        cmocka_unit_test(test_pf_user_supervisor_page),
        cmocka_unit_test(test_user_fetch_after_supervisor_chain),
        cmocka_unit_test(test_accessed_dirty),
        cmocka_unit_test(test_invlpg),
        cmocka_unit_test(test_invlpg_large_page),
        cmocka_unit_test(test_cr3_reload_many_pages),
        cmocka_unit_test(test_cr3_reload_and_global),
        cmocka_unit_test(test_global_survives_cr3),
        cmocka_unit_test(test_noncanonical_gp),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
