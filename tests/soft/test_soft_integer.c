/* Unit tests of the soft CPU's integer instruction families: ALU with lazy flags, shifts and
 * rotates, multiply/divide with #DE, bit operations, string instructions with REP, stack and
 * control flow, atomics (CMPXCHG/XADD/XCHG/CMPXCHG16B). Snippets are assembled by the host
 * toolchain and run in 64-bit mode in the harness. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "core/cpu_state.h"
#include "harness.h"

#define FLAGS_MASK (RFLAGS_CF | RFLAGS_PF | RFLAGS_AF | RFLAGS_ZF | RFLAGS_SF | RFLAGS_OF)

static void run_snippet(struct harness *h, const uint8_t *code, const uint8_t *end)
{
    harness_init(h, true);
    harness_load(h, code, end);
    assert_int_equal(harness_run(h, 100000), SOFT_EXIT_HLT);
}

SNIPPET(snip_add_flags, "mov $0x7fffffffffffffff, %rax\n add $1, %rax\n hlt");
static void test_add_overflow_flags(void **state)
{
    struct harness h;
    run_snippet(&h, snip_add_flags, snip_add_flags_end);
    assert_int_equal(h.st.gpr[GPR_RAX], 0x8000000000000000ULL);
    /* OF, SF, AF (0xf+1 carries out of bit 3), PF (low byte 0 has even parity) */
    assert_int_equal(h.st.rflags & FLAGS_MASK, RFLAGS_OF | RFLAGS_SF | RFLAGS_AF | RFLAGS_PF);
    harness_destroy(&h);
}

SNIPPET(snip_sub_borrow, "mov $1, %eax\n sub $2, %al\n hlt");
static void test_sub_borrow_8bit(void **state)
{
    struct harness h;
    run_snippet(&h, snip_sub_borrow, snip_sub_borrow_end);
    assert_int_equal(h.st.gpr[GPR_RAX], 0xff);
    assert_int_equal(h.st.rflags & FLAGS_MASK, RFLAGS_CF | RFLAGS_SF | RFLAGS_AF | RFLAGS_PF);
    harness_destroy(&h);
}

/* 128-bit add with carry chain; INC keeps CF; DEC to zero sets ZF. */
SNIPPET(snip_adc_chain, "mov $-1, %rax\n mov $5, %rdx\n add $1, %rax\n adc $0, %rdx\n"
                        " stc\n inc %rbx\n setc %cl\n mov $1, %r8\n dec %r8\n setz %r9b\n"
                        " mov $0, %r10\n stc\n sbb $0, %r10\n hlt");
static void test_adc_sbb_incdec(void **state)
{
    struct harness h;
    run_snippet(&h, snip_adc_chain, snip_adc_chain_end);
    assert_int_equal(h.st.gpr[GPR_RAX], 0);
    assert_int_equal(h.st.gpr[GPR_RDX], 6);
    assert_int_equal(h.st.gpr[GPR_RCX] & 0xff, 1); /* CF survived INC */
    assert_int_equal(h.st.gpr[GPR_R9] & 0xff, 1);
    assert_int_equal(h.st.gpr[GPR_R10], ~0ULL);
    assert_true(h.st.rflags & RFLAGS_CF);
    harness_destroy(&h);
}

SNIPPET(snip_partial_regs, "mov $0x1122334455667788, %rax\n mov $0xaa, %ah\n mov $0xbbbb, %ax\n"
                           " mov %rax, %rbx\n mov $0xcc, %bl\n mov %eax, %ecx\n hlt");
static void test_partial_registers(void **state)
{
    struct harness h;
    run_snippet(&h, snip_partial_regs, snip_partial_regs_end);
    assert_int_equal(h.st.gpr[GPR_RAX], 0x112233445566bbbbULL);
    assert_int_equal(h.st.gpr[GPR_RBX], 0x112233445566bbccULL);
    assert_int_equal(h.st.gpr[GPR_RCX], 0x5566bbbbULL); /* 32-bit writes zero-extend */
    harness_destroy(&h);
}

SNIPPET(snip_shifts, "mov $0x81, %al\n shl $1, %al\n setc %bl\n seto %bh\n"
                     " mov $0x80000000, %ecx\n sar $31, %ecx\n"
                     " mov $1, %rdx\n ror $1, %rdx\n"
                     " mov $0x8000000000000001, %rsi\n mov $0xff, %rdi\n shld $4, %rdi, %rsi\n"
                     " clc\n mov $0x80, %r8b\n rcl $1, %r8b\n setc %r9b\n hlt");
static void test_shifts_rotates(void **state)
{
    struct harness h;
    run_snippet(&h, snip_shifts, snip_shifts_end);
    assert_int_equal(h.st.gpr[GPR_RAX] & 0xff, 0x02);
    assert_int_equal(h.st.gpr[GPR_RBX] & 0xffff, 0x0101); /* CF=1, OF=MSB^CF=0^1=1 */
    assert_int_equal(h.st.gpr[GPR_RCX], 0xffffffffULL);
    assert_int_equal(h.st.gpr[GPR_RDX], 0x8000000000000000ULL);
    assert_int_equal(h.st.gpr[GPR_RSI], 0x0000000000000010ULL | 0x0);
    assert_int_equal(h.st.gpr[GPR_R8] & 0xff, 0);
    assert_int_equal(h.st.gpr[GPR_R9] & 0xff, 1);
    harness_destroy(&h);
}

SNIPPET(snip_muldiv, "mov $-3, %rax\n mov $7, %rcx\n imul %rcx\n mov %rax, %r8\n mov %rdx, %r9\n"
                     " mov $100, %eax\n xor %edx, %edx\n mov $7, %ecx\n div %ecx\n"
                     " mov $-100, %rax\n cqo\n mov $7, %rcx\n idiv %rcx\n"
                     " mov %rax, %r10\n mov %rdx, %r11\n imul $3, %r10, %r12\n hlt");
static void test_mul_div(void **state)
{
    struct harness h;
    harness_init(&h, true);
    harness_load(&h, snip_muldiv, snip_muldiv_end);
    assert_int_equal(harness_run(&h, 1000), SOFT_EXIT_HLT);
    assert_int_equal(h.st.gpr[GPR_R8], (uint64_t)-21);
    assert_int_equal(h.st.gpr[GPR_R9], ~0ULL);
    assert_int_equal(h.st.gpr[GPR_R10], (uint64_t)-14);
    assert_int_equal(h.st.gpr[GPR_R11], (uint64_t)-2);
    assert_int_equal(h.st.gpr[GPR_R12], (uint64_t)-42);
    harness_destroy(&h);
}

SNIPPET(snip_div_zero, "xor %ecx, %ecx\n mov $5, %eax\n div %ecx\n hlt");
SNIPPET(snip_div_overflow, "mov $1, %edx\n xor %eax, %eax\n mov $1, %ecx\n div %ecx\n hlt");
static void test_divide_error(void **state)
{
    struct harness h;
    struct soft_exception e;
    harness_init(&h, true);
    harness_load(&h, snip_div_zero, snip_div_zero_end);
    assert_int_equal(harness_run(&h, 100), SOFT_EXIT_EXCEPTION);
    soft_cpu_last_exception(h.cpu, &e);
    assert_int_equal(e.vector, 0);
    assert_int_equal(e.rip, HARNESS_CODE + 7); /* the DIV itself */
    assert_int_equal(h.st.rip, HARNESS_CODE + 7);
    harness_destroy(&h);

    harness_init(&h, true);
    harness_load(&h, snip_div_overflow, snip_div_overflow_end);
    assert_int_equal(harness_run(&h, 100), SOFT_EXIT_EXCEPTION);
    soft_cpu_last_exception(h.cpu, &e);
    assert_int_equal(e.vector, 0);
    harness_destroy(&h);
}

SNIPPET(snip_bits, "mov $0x10, %eax\n bsf %eax, %ebx\n bsr %eax, %ecx\n"
                   " mov $0xf0, %rdx\n bts $0, %rdx\n btr $4, %rdx\n setc %sil\n"
                   " mov $0x200000, %rdi\n movq $0, (%rdi)\n mov $67, %r8\n bts %r8, (%rdi)\n"
                   " mov 8(%rdi), %r9\n mov $-1, %r10\n bt %r10, 8(%rdi)\n setc %r11b\n"
                   " mov $0xff00, %r12\n popcnt %r12, %r13\n hlt");
static void test_bit_ops(void **state)
{
    struct harness h;
    run_snippet(&h, snip_bits, snip_bits_end);
    assert_int_equal(h.st.gpr[GPR_RBX], 4);
    assert_int_equal(h.st.gpr[GPR_RCX], 4);
    assert_int_equal(h.st.gpr[GPR_RDX], 0xe1);
    assert_int_equal(h.st.gpr[GPR_RSI] & 0xff, 1);
    assert_int_equal(h.st.gpr[GPR_R9], 8);         /* bit 67 = bit 3 of the next qword */
    assert_int_equal(h.st.gpr[GPR_R11] & 0xff, 0); /* bit -1 of 8(%rdi) = bit 63 of (%rdi) */
    assert_int_equal(h.st.gpr[GPR_R13], 8);
    harness_destroy(&h);
}

SNIPPET(snip_strings, "cld\n mov $0x200000, %rdi\n mov $0xab, %al\n mov $5000, %rcx\n rep stosb\n"
                      " mov $0x200000, %rsi\n mov $0x202000, %rdi\n mov $5000, %rcx\n rep movsb\n"
                      " mov $0x202000, %rdi\n mov $0xab, %al\n mov $5000, %rcx\n repe scasb\n"
                      " mov %rcx, %r8\n movb $1, 0x202010\n mov $0x202000, %rdi\n mov $100, %rcx\n"
                      " repe scasb\n mov %rcx, %r9\n"
                      " std\n mov $0x204010, %rdi\n mov $0x1122334455667788, %rax\n mov $2, %rcx\n"
                      " rep stosq\n cld\n mov %rdi, %r10\n hlt");
static void test_string_ops(void **state)
{
    struct harness h;
    run_snippet(&h, snip_strings, snip_strings_end);
    uint8_t buf[5000];
    assert_int_equal(guest_mem_read(&h.gm, 0x202000, buf, sizeof(buf)), 0);
    for (unsigned i = 0; i < sizeof(buf); i++)
        if (i != 0x10)
            assert_int_equal(buf[i], 0xab);
    assert_int_equal(h.st.gpr[GPR_R8], 0);
    assert_int_equal(h.st.gpr[GPR_R9], 100 - 17);
    assert_int_equal(h.st.gpr[GPR_R10], 0x204000);
    assert_int_equal(harness_read64(&h, 0x204008), 0x1122334455667788ULL);
    assert_int_equal(harness_read64(&h, 0x204010), 0x1122334455667788ULL);
    harness_destroy(&h);
}

/* Overlapping forward MOVSB replicates the pattern byte by byte. */
SNIPPET(snip_movs_overlap, "mov $0x200000, %rsi\n movb $0x5a, (%rsi)\n lea 1(%rsi), %rdi\n"
                           " mov $64, %rcx\n rep movsb\n hlt");
static void test_movs_overlap(void **state)
{
    struct harness h;
    run_snippet(&h, snip_movs_overlap, snip_movs_overlap_end);
    uint8_t buf[65];
    assert_int_equal(guest_mem_read(&h.gm, 0x200000, buf, sizeof(buf)), 0);
    for (unsigned i = 0; i < sizeof(buf); i++)
        assert_int_equal(buf[i], 0x5a);
    harness_destroy(&h);
}

SNIPPET(snip_stack_flow, "call 1f\n jmp 2f\n 1: push $0x1234\n pop %rbx\n ret\n"
                         " 2: mov $10, %ecx\n xor %eax, %eax\n 3: add %rcx, %rax\n loop 3b\n"
                         " pushfq\n pop %rdx\n enter $16, $0\n mov %rbp, %rsi\n leave\n hlt");
static void test_stack_and_control_flow(void **state)
{
    struct harness h;
    run_snippet(&h, snip_stack_flow, snip_stack_flow_end);
    assert_int_equal(h.st.gpr[GPR_RBX], 0x1234);
    assert_int_equal(h.st.gpr[GPR_RAX], 55);
    assert_int_equal(h.st.gpr[GPR_RDX] & 2, 2);
    assert_int_equal(h.st.gpr[GPR_RSI], HARNESS_STACK - 8);
    assert_int_equal(h.st.gpr[GPR_RSP], HARNESS_STACK);
    harness_destroy(&h);
}

SNIPPET(snip_atomics,
        "mov $0x200000, %rdi\n movq $5, (%rdi)\n mov $5, %eax\n mov $9, %ecx\n"
        " lock cmpxchg %rcx, (%rdi)\n setz %r8b\n mov $3, %edx\n lock xadd %rdx, (%rdi)\n"
        " mov $77, %r9\n xchg %r9, (%rdi)\n lock incq 8(%rdi)\n"
        " mov %rax, %r10\n xor %eax, %eax\n xor %edx, %edx\n mov $1, %ebx\n mov $2, %ecx\n"
        " lock cmpxchg16b 16(%rdi)\n setz %r11b\n hlt");
static void test_atomics(void **state)
{
    struct harness h;
    run_snippet(&h, snip_atomics, snip_atomics_end);
    assert_int_equal(h.st.gpr[GPR_R8] & 0xff, 1);
    assert_int_equal(h.st.gpr[GPR_RDX], 0); /* cmpxchg16b succeeded: RDX:RAX unchanged (0) */
    assert_int_equal(h.st.gpr[GPR_R9], 12);
    assert_int_equal(harness_read64(&h, 0x200000), 77);
    assert_int_equal(harness_read64(&h, 0x200008), 1);
    assert_int_equal(h.st.gpr[GPR_R11] & 0xff, 1);
    assert_int_equal(harness_read64(&h, 0x200010), 1);
    assert_int_equal(harness_read64(&h, 0x200018), 2);
    harness_destroy(&h);
}

SNIPPET(snip_cond, "mov $5, %eax\n cmp $7, %eax\n setl %bl\n setb %cl\n setg %dl\n"
                   " mov $-1, %esi\n cmp $1, %esi\n setl %r8b\n seta %r9b\n"
                   " mov $1, %r10\n mov $2, %r11\n cmp %r10, %r11\n cmovg %r11, %r12\n"
                   " cmovl %r10, %r13\n hlt");
static void test_conditions(void **state)
{
    struct harness h;
    run_snippet(&h, snip_cond, snip_cond_end);
    assert_int_equal(h.st.gpr[GPR_RBX] & 0xff, 1);
    assert_int_equal(h.st.gpr[GPR_RCX] & 0xff, 1);
    assert_int_equal(h.st.gpr[GPR_RDX] & 0xff, 0);
    assert_int_equal(h.st.gpr[GPR_R8] & 0xff, 1);
    assert_int_equal(h.st.gpr[GPR_R9] & 0xff, 1);
    assert_int_equal(h.st.gpr[GPR_R12], 2);
    assert_int_equal(h.st.gpr[GPR_R13], 0);
    harness_destroy(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_overflow_flags),
        cmocka_unit_test(test_sub_borrow_8bit),
        cmocka_unit_test(test_adc_sbb_incdec),
        cmocka_unit_test(test_partial_registers),
        cmocka_unit_test(test_shifts_rotates),
        cmocka_unit_test(test_mul_div),
        cmocka_unit_test(test_divide_error),
        cmocka_unit_test(test_bit_ops),
        cmocka_unit_test(test_string_ops),
        cmocka_unit_test(test_movs_overlap),
        cmocka_unit_test(test_stack_and_control_flow),
        cmocka_unit_test(test_atomics),
        cmocka_unit_test(test_conditions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
