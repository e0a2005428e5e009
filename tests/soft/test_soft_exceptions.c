/* Unit tests of exception and interrupt delivery through the 64-bit IDT: frames and error codes,
 * privilege change with TSS.RSP0, IST stacks, INT n gate DPL checks, double and triple faults,
 * external interrupts from the hooks with RFLAGS.IF and the STI shadow, HLT wake-up, IRETQ. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "core/cpu_state.h"
#include "harness.h"

#define HANDLER 0x110000ULL /* handlers: each a HLT at HANDLER + 16 * vector */
#define RSP0    0x170000ULL
#define IST1    0x160000ULL

static void install_handlers(struct harness *h)
{
    for (unsigned v = 0; v < 256; v++) {
        uint8_t hlt = 0xf4;
        assert_int_equal(guest_mem_write(&h->gm, HANDLER + 16 * v, &hlt, 1), 0);
        harness_set_gate(h, v, HANDLER + 16 * v, 0, 0);
    }
    harness_write64(h, HARNESS_TSS + 4, RSP0);
    harness_write64(h, HARNESS_TSS + 0x24, IST1);
}

static void enter_user(struct harness *h)
{
    h->st.seg[SEG_CS].selector = SEL_UCODE;
    h->st.seg[SEG_CS].dpl = 3;
    h->st.seg[SEG_SS].selector = SEL_UDATA;
    h->st.seg[SEG_SS].dpl = 3;
    assert_int_equal(soft_cpu_set_state(h->cpu, &h->st), 0);
}

SNIPPET(snip_cli_user, "nop\n cli\n hlt");
static void test_gp_from_user_with_stack_switch(void **state)
{
    struct harness h;
    harness_init(&h, false);
    install_handlers(&h);
    harness_load(&h, snip_cli_user, snip_cli_user_end);
    h.st.rflags |= RFLAGS_IF;
    enter_user(&h);
    assert_int_equal(harness_run(&h, 100), SOFT_EXIT_HLT);
    assert_int_equal(h.st.rip, HANDLER + 16 * 13 + 1);
    assert_int_equal(h.st.seg[SEG_CS].selector, SEL_KCODE);
    assert_int_equal(h.st.gpr[GPR_RSP], RSP0 - 48);
    assert_int_equal(harness_read64(&h, RSP0 - 48), 0);                /* error code */
    assert_int_equal(harness_read64(&h, RSP0 - 40), HARNESS_CODE + 1); /* RIP of CLI */
    assert_int_equal(harness_read64(&h, RSP0 - 32), SEL_UCODE);        /* CS */
    assert_true(harness_read64(&h, RSP0 - 24) & RFLAGS_IF);            /* RFLAGS */
    assert_int_equal(harness_read64(&h, RSP0 - 16), HARNESS_STACK);    /* RSP */
    assert_int_equal(harness_read64(&h, RSP0 - 8), SEL_UDATA);         /* SS */
    assert_false(h.st.rflags & RFLAGS_IF);                             /* interrupt gate */
    harness_destroy(&h);
}

SNIPPET(snip_int80, "int $0x80\n hlt");
static void test_int_gate_dpl(void **state)
{
    struct harness h;
    harness_init(&h, false);
    install_handlers(&h);
    harness_set_gate(&h, 0x80, HANDLER + 16 * 0x80, 0, 3);
    harness_load(&h, snip_int80, snip_int80_end);
    enter_user(&h);
    assert_int_equal(harness_run(&h, 100), SOFT_EXIT_HLT);
    assert_int_equal(h.st.rip, HANDLER + 16 * 0x80 + 1);
    assert_int_equal(harness_read64(&h, RSP0 - 40), HARNESS_CODE + 2); /* trap: next insn */
    harness_destroy(&h);

    /* A DPL-0 gate from CPL 3: #GP(0x80 * 8 + 2) naming the INT instruction. */
    harness_init(&h, false);
    install_handlers(&h);
    harness_load(&h, snip_int80, snip_int80_end);
    enter_user(&h);
    assert_int_equal(harness_run(&h, 100), SOFT_EXIT_HLT);
    assert_int_equal(h.st.rip, HANDLER + 16 * 13 + 1);
    assert_int_equal(harness_read64(&h, RSP0 - 48), 0x80 * 8 + 2);
    assert_int_equal(harness_read64(&h, RSP0 - 40), HARNESS_CODE);
    harness_destroy(&h);
}

SNIPPET(snip_pf, "mov 0x201000, %rax\n hlt");
static void test_page_fault_delivery_ist(void **state)
{
    struct harness h;
    harness_init(&h, false);
    install_handlers(&h);
    harness_set_gate(&h, 14, HANDLER + 16 * 14, 1, 0);
    harness_write64(&h, HARNESS_PT + 8, 0); /* 0x201000 not present */
    harness_load(&h, snip_pf, snip_pf_end);
    assert_int_equal(harness_run(&h, 100), SOFT_EXIT_HLT);
    assert_int_equal(h.st.rip, HANDLER + 16 * 14 + 1);
    assert_int_equal(h.st.cr2, 0x201000);
    assert_int_equal(h.st.gpr[GPR_RSP], IST1 - 48);
    assert_int_equal(harness_read64(&h, IST1 - 48), 0); /* read, supervisor, not present */
    assert_int_equal(harness_read64(&h, IST1 - 40), HARNESS_CODE);
    harness_destroy(&h);
}

SNIPPET(snip_div0, "xor %ecx, %ecx\n div %ecx\n hlt");
static void test_double_fault(void **state)
{
    struct harness h;
    harness_init(&h, false);
    install_handlers(&h);
    harness_write64(&h, HARNESS_IDT + 0 * 16, 0); /* #DE gate not present -> #NP -> #DF */
    harness_load(&h, snip_div0, snip_div0_end);
    assert_int_equal(harness_run(&h, 100), SOFT_EXIT_HLT);
    assert_int_equal(h.st.rip, HANDLER + 16 * 8 + 1);
    assert_int_equal(harness_read64(&h, HARNESS_STACK - 48), 0);                /* #DF error code */
    assert_int_equal(harness_read64(&h, HARNESS_STACK - 40), HARNESS_CODE + 2); /* the DIV */
    harness_destroy(&h);
}

static void test_triple_fault(void **state)
{
    struct harness h;
    harness_init(&h, false);
    harness_load(&h, snip_div0, snip_div0_end);
    h.st.idt.limit = 0;
    assert_int_equal(soft_cpu_set_state(h.cpu, &h.st), 0);
    assert_int_equal(harness_run(&h, 100), SOFT_EXIT_SHUTDOWN);
    harness_destroy(&h);
}

/* An external interrupt is taken only with IF=1, after the STI shadow, and wakes HLT. */
SNIPPET(snip_sti_hlt, "mov $1, %eax\n sti\n mov $2, %eax\n hlt\n mov $3, %eax\n hlt");
static void test_external_interrupt(void **state)
{
    struct harness h;
    harness_init(&h, false);
    install_handlers(&h);
    harness_load(&h, snip_sti_hlt, snip_sti_hlt_end);
    h.pending_irq = 0x30;
    /* IF=0: the interrupt waits; the STI shadow lets `mov $2` run first. */
    assert_int_equal(harness_run(&h, 100), SOFT_EXIT_HLT);
    assert_int_equal(h.st.rip, HANDLER + 16 * 0x30 + 1);
    assert_int_equal(h.st.gpr[GPR_RAX], 2);
    /* Taken before the HLT (rip 11) or by waking it (rip 12): both are architectural. */
    uint64_t ret = harness_read64(&h, HARNESS_STACK - 40);
    assert_true(ret == HARNESS_CODE + 11 || ret == HARNESS_CODE + 12);
    assert_int_equal(h.pending_irq, -1);
    harness_destroy(&h);

    /* HLT with IF=1 and nothing pending stops; a later interrupt wakes it. */
    harness_init(&h, false);
    install_handlers(&h);
    harness_load(&h, snip_sti_hlt, snip_sti_hlt_end);
    assert_int_equal(harness_run(&h, 100), SOFT_EXIT_HLT);
    assert_int_equal(h.st.rip, HARNESS_CODE + 12);
    assert_true(soft_cpu_halted(h.cpu));
    assert_int_equal(harness_run(&h, 100), SOFT_EXIT_HLT); /* still nothing pending */
    h.pending_irq = 0x41;
    assert_int_equal(harness_run(&h, 100), SOFT_EXIT_HLT);
    assert_int_equal(h.st.rip, HANDLER + 16 * 0x41 + 1);
    harness_destroy(&h);
}

/* IRETQ back to CPL 3 from a handler; the user code then does INT3 (DPL-3 gate). */
SNIPPET(snip_iret_user, "push $0x1b\n push $0x150000\n pushfq\n push $0x23\n lea 1f(%rip), %rax\n"
                        " push %rax\n iretq\n 1: mov %cs, %rbx\n int3\n hlt");
static void test_iretq_to_user(void **state)
{
    struct harness h;
    harness_init(&h, false);
    install_handlers(&h);
    harness_set_gate(&h, 3, HANDLER + 16 * 3, 0, 3);
    harness_load(&h, snip_iret_user, snip_iret_user_end);
    assert_int_equal(harness_run(&h, 100), SOFT_EXIT_HLT);
    assert_int_equal(h.st.gpr[GPR_RBX], SEL_UCODE);
    assert_int_equal(h.st.rip, HANDLER + 16 * 3 + 1);
    assert_int_equal(harness_read64(&h, RSP0 - 16), 0x150000); /* user RSP */
    assert_int_equal(harness_read64(&h, RSP0 - 32), SEL_UCODE);
    harness_destroy(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gp_from_user_with_stack_switch),
        cmocka_unit_test(test_int_gate_dpl),
        cmocka_unit_test(test_page_fault_delivery_ist),
        cmocka_unit_test(test_double_fault),
        cmocka_unit_test(test_triple_fault),
        cmocka_unit_test(test_external_interrupt),
        cmocka_unit_test(test_iretq_to_user),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
