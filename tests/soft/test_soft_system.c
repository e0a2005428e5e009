/* Unit tests of the soft CPU's system instructions: CPUID leaves (vendor, KVM signature, TSC
 * frequency, features), RDTSC/RDTSCP, RDMSR/WRMSR with #GP for unknown MSRs, the kvmclock pvclock
 * structure, SYSCALL/SYSRET, SWAPGS, port I/O through the hooks, kicks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "core/cpu_state.h"
#include "core/vclock.h"
#include "harness.h"

static void run_ok(struct harness *h, const uint8_t *code, const uint8_t *end)
{
    harness_init(h, true);
    harness_load(h, code, end);
    assert_int_equal(harness_run(h, 10000), SOFT_EXIT_HLT);
}

SNIPPET(snip_cpuid, "xor %eax, %eax\n cpuid\n mov %ebx, %r8d\n mov %edx, %r9d\n mov %ecx, %r10d\n"
                    " mov $0x40000000, %eax\n cpuid\n mov %ebx, %r11d\n mov %ecx, %r12d\n"
                    " mov %edx, %r13d\n mov $0x15, %eax\n cpuid\n mov %ecx, %r14d\n"
                    " mov $0x80000001, %eax\n cpuid\n mov %edx, %r15d\n hlt");
static void test_cpuid(void **state)
{
    struct harness h;
    run_ok(&h, snip_cpuid, snip_cpuid_end);
    char v[13] = {0}, k[13] = {0};
    uint32_t r;
    r = (uint32_t)h.st.gpr[GPR_R8], memcpy(v, &r, 4);
    r = (uint32_t)h.st.gpr[GPR_R9], memcpy(v + 4, &r, 4);
    r = (uint32_t)h.st.gpr[GPR_R10], memcpy(v + 8, &r, 4);
    assert_string_equal(v, "GenuineIntel");
    r = (uint32_t)h.st.gpr[GPR_R11], memcpy(k, &r, 4);
    r = (uint32_t)h.st.gpr[GPR_R12], memcpy(k + 4, &r, 4);
    r = (uint32_t)h.st.gpr[GPR_R13], memcpy(k + 8, &r, 4);
    assert_string_equal(k, "KVMKVMKVM");
    assert_int_equal(h.st.gpr[GPR_R14], VCLOCK_DEFAULT_TSC_HZ);
    assert_true(h.st.gpr[GPR_R15] & (1u << 29)); /* LM */
    assert_true(h.st.gpr[GPR_R15] & (1u << 20)); /* NX */
    harness_destroy(&h);
}

SNIPPET(snip_rdtsc,
        "rdtsc\n shl $32, %rdx\n or %rax, %rdx\n mov %rdx, %r8\n"
        " mov $0xc0000103, %ecx\n mov $7, %eax\n xor %edx, %edx\n wrmsr\n"
        " rdtscp\n shl $32, %rdx\n or %rax, %rdx\n mov %rdx, %r9\n mov %ecx, %r10d\n hlt");
static void test_rdtsc(void **state)
{
    struct harness h;
    run_ok(&h, snip_rdtsc, snip_rdtsc_end);
    assert_true(h.st.gpr[GPR_R9] > h.st.gpr[GPR_R8]);
    assert_int_equal(h.st.gpr[GPR_R10], 7);
    harness_destroy(&h);
}

SNIPPET(snip_msrs, "mov $0xc0000082, %ecx\n mov $0x12345678, %eax\n mov $0xffffffff, %edx\n wrmsr\n"
                   " xor %eax, %eax\n xor %edx, %edx\n rdmsr\n shl $32, %rdx\n or %rax, %rdx\n"
                   " mov %rdx, %r8\n mov $0x12345, %ecx\n rdmsr\n hlt");
static void test_msrs(void **state)
{
    struct harness h;
    struct soft_exception e;
    harness_init(&h, true);
    harness_load(&h, snip_msrs, snip_msrs_end);
    assert_int_equal(harness_run(&h, 100), SOFT_EXIT_EXCEPTION);
    soft_cpu_last_exception(h.cpu, &e);
    assert_int_equal(e.vector, 13); /* unknown MSR */
    assert_int_equal(h.st.gpr[GPR_R8], 0xffffffff12345678ULL);
    struct soft_ext_state ext;
    soft_cpu_get_ext_state(h.cpu, &ext);
    assert_int_equal(ext.msrs.lstar, 0xffffffff12345678ULL);
    harness_destroy(&h);
}

/* The speculation-control MSRs: ARCH_CAPABILITIES says the CPU is immune (ITS_NO, BHI_NO,
 * RDCL_NO) with enhanced IBRS; SPEC_CTRL keeps IBRS and BHI_DIS_S (CPUID.7.2:EDX[4], with
 * CPUID.7.0:EAX reaching subleaf 2); PRED_CMD takes IBPB; reserved bits #GP. */
SNIPPET(snip_spec_msrs,
        "mov $0x10a, %ecx\n rdmsr\n shl $32, %rdx\n or %rax, %rdx\n mov %rdx, %r8\n"
        " mov $0x48, %ecx\n mov $0x401, %eax\n xor %edx, %edx\n wrmsr\n rdmsr\n mov %rax, %r9\n"
        " mov $0x49, %ecx\n mov $1, %eax\n wrmsr\n"
        " mov $7, %eax\n xor %ecx, %ecx\n cpuid\n mov %rdx, %r10\n mov %rax, %r11\n"
        " mov $7, %eax\n mov $2, %ecx\n cpuid\n mov %rdx, %r12\n"
        " mov $0x48, %ecx\n mov $4, %eax\n xor %edx, %edx\n wrmsr\n hlt");
static void test_spec_ctrl_msrs(void **state)
{
    struct harness h;
    struct soft_exception e;
    harness_init(&h, true);
    harness_load(&h, snip_spec_msrs, snip_spec_msrs_end);
    assert_int_equal(harness_run(&h, 100), SOFT_EXIT_EXCEPTION);
    soft_cpu_last_exception(h.cpu, &e);
    assert_int_equal(e.vector, 13); /* SSBD is not enumerated */
    uint64_t caps = h.st.gpr[GPR_R8];
    assert_true(caps & (1ULL << 0));  /* RDCL_NO */
    assert_true(caps & (1ULL << 1));  /* IBRS_ALL */
    assert_true(caps & (1ULL << 20)); /* BHI_NO */
    assert_true(caps & (1ULL << 62)); /* ITS_NO */
    assert_int_equal(h.st.gpr[GPR_R9], 0x401);
    assert_true(h.st.gpr[GPR_R10] & (1u << 26)); /* IBRS/IBPB */
    assert_int_equal(h.st.gpr[GPR_R11], 2);      /* highest subleaf */
    assert_true(h.st.gpr[GPR_R12] & (1u << 4));  /* BHI_CTRL */
    struct soft_ext_state ext;
    soft_cpu_get_ext_state(h.cpu, &ext);
    assert_int_equal(ext.msrs.spec_ctrl, 0x401);
    harness_destroy(&h);
}

/* kvmclock: the guest registers a pvclock page; the structure converts TSC to ns. */
SNIPPET(snip_kvmclock,
        "mov $0x4b564d01, %ecx\n mov $0x200001, %eax\n xor %edx, %edx\n wrmsr\n hlt");
static void test_kvmclock(void **state)
{
    struct harness h;
    run_ok(&h, snip_kvmclock, snip_kvmclock_end);
    uint8_t p[32];
    assert_int_equal(guest_mem_read(&h.gm, 0x200000, p, 32), 0);
    uint32_t version, mul;
    uint64_t tsc, ns;
    int8_t shift;
    memcpy(&version, p, 4);
    memcpy(&tsc, p + 8, 8);
    memcpy(&ns, p + 16, 8);
    memcpy(&mul, p + 24, 4);
    memcpy(&shift, p + 28, 1);
    assert_int_equal(version % 2, 0);
    assert_true(version > 0);
    assert_int_equal(p[29] & 1, 1); /* TSC stable */
    /* 1e9 TSC ticks at 2 GHz are 0.5 s. */
    uint64_t delta = 1000000000ULL;
    uint64_t scaled = shift >= 0 ? delta << shift : delta >> -shift;
    uint64_t dns = (uint64_t)(((unsigned __int128)scaled * mul) >> 32);
    assert_true(dns >= 499999990 && dns <= 500000010);
    harness_destroy(&h);
}

/* SYSCALL to a handler that does SYSRETQ back to CPL 3. */
SNIPPET(snip_syscall, "mov $0xc0000081, %ecx\n xor %eax, %eax\n mov $0x00100008, %edx\n wrmsr\n"
                      " mov $0xc0000082, %ecx\n lea 2f(%rip), %rax\n xor %edx, %edx\n wrmsr\n"
                      " mov $0xc0000084, %ecx\n mov $0x200, %eax\n wrmsr\n"
                      " sti\n mov $0x42, %r12\n syscall\n 1: mov %cs, %r14\n hlt\n"
                      " 2: mov %cs, %r13\n pushfq\n pop %r15\n sysretq");
static void test_syscall_sysret(void **state)
{
    struct harness h;
    struct soft_exception e;
    harness_init(&h, true);
    harness_load(&h, snip_syscall, snip_syscall_end);
    /* The HLT after returning runs at CPL 3: #GP. */
    assert_int_equal(harness_run(&h, 1000), SOFT_EXIT_EXCEPTION);
    soft_cpu_last_exception(h.cpu, &e);
    assert_int_equal(e.vector, 13);
    assert_int_equal(h.st.gpr[GPR_R13], SEL_KCODE);
    assert_false(h.st.gpr[GPR_R15] & RFLAGS_IF); /* masked by SFMASK */
    assert_int_equal(h.st.gpr[GPR_R14], 0x23);   /* STAR[63:48] + 16, RPL 3 */
    assert_int_equal(h.st.seg[SEG_SS].selector, 0x1b);
    assert_true(h.st.rflags & RFLAGS_IF); /* restored from R11 */
    harness_destroy(&h);
}

SNIPPET(snip_swapgs,
        "mov $0xc0000101, %ecx\n mov $0x1000, %eax\n xor %edx, %edx\n wrmsr\n"
        " mov $0xc0000102, %ecx\n mov $0x2000, %eax\n wrmsr\n swapgs\n"
        " mov $0x200000, %rbx\n movq $0x77, 0x2000(%rbx)\n mov %gs:0x200000, %r8\n hlt");
static void test_swapgs(void **state)
{
    struct harness h;
    run_ok(&h, snip_swapgs, snip_swapgs_end);
    assert_int_equal(h.st.seg[SEG_GS].base, 0x2000);
    assert_int_equal(h.st.gpr[GPR_R8], 0x77);
    harness_destroy(&h);
}

/* Loads and stores through FS and GS bases, with and without a base register, and an immediate
 * store: the fast MOV forms must add the segment base exactly as the general path does. */
SNIPPET(snip_segbase_moves,
        "mov $0xc0000100, %ecx\n mov $0x200100, %eax\n xor %edx, %edx\n wrmsr\n"
        " mov $0xc0000101, %ecx\n mov $0x200200, %eax\n wrmsr\n"
        " mov $0x1122334455667788, %rax\n mov %rax, %fs:0x8\n"
        " mov $0x10, %rbx\n movq $-5, %gs:0x8(%rbx)\n movl $0x99, %gs:0x30\n"
        " mov $0x200000, %rsi\n mov 0x108(%rsi), %r8\n mov 0x218(%rsi), %r9\n"
        " mov %gs:0x18, %r10\n mov %fs:-0x8(%rbx), %r11d\n mov %gs:0x30, %r12d\n hlt");
static void test_segment_base_moves(void **state)
{
    struct harness h;
    run_ok(&h, snip_segbase_moves, snip_segbase_moves_end);
    assert_int_equal(h.st.gpr[GPR_R8], 0x1122334455667788ULL);
    assert_int_equal(h.st.gpr[GPR_R9], (uint64_t)-5);
    assert_int_equal(h.st.gpr[GPR_R10], (uint64_t)-5);
    assert_int_equal(h.st.gpr[GPR_R11], 0x55667788);
    assert_int_equal(h.st.gpr[GPR_R12], 0x99);
    harness_destroy(&h);
}

SNIPPET(snip_io,
        "mov $0x5a, %al\n out %al, $0x80\n mov $0x3f8, %dx\n in (%dx), %eax\n"
        " mov $0x200000, %rsi\n movl $0x11223344, (%rsi)\n mov $4, %ecx\n rep outsb\n hlt");
static void test_port_io(void **state)
{
    struct harness h;
    run_ok(&h, snip_io, snip_io_end);
    assert_int_equal(h.st.gpr[GPR_RAX], 0x90abcdef);
    assert_int_equal(h.last_port, 0x3f8);
    assert_int_equal(h.nout, 5);
    assert_int_equal(h.last_out, 0x11);
    harness_destroy(&h);
}

SNIPPET(snip_loop_forever, "1: jmp 1b");
static void test_kick(void **state)
{
    struct harness h;
    harness_init(&h, true);
    harness_load(&h, snip_loop_forever, snip_loop_forever_end);
    soft_cpu_kick(h.cpu);
    assert_int_equal(harness_run(&h, UINT64_MAX), SOFT_EXIT_KICK);
    assert_int_equal(harness_run(&h, 100), SOFT_EXIT_BUDGET);
    harness_destroy(&h);
}

SNIPPET(snip_segprobe,
        "mov $0x10, %ax\n verw %ax\n setz %r8b\n mov $0x08, %ax\n verw %ax\n setz %r9b\n"
        " verr %ax\n setz %r10b\n mov $0x10, %ecx\n lsl %ecx, %r11d\n"
        " mov $0x08, %ecx\n lar %ecx, %r12d\n xor %ecx, %ecx\n lsl %ecx, %r13d\n"
        " setz %r14b\n mov $0x7, %eax\n xor %ecx, %ecx\n cpuid\n mov %edx, %r15d\n hlt");
static void test_segment_probes(void **state)
{
    struct harness h;
    run_ok(&h, snip_segprobe, snip_segprobe_end);
    assert_int_equal(h.st.gpr[GPR_R8] & 0xff, 1);  /* data: writable */
    assert_int_equal(h.st.gpr[GPR_R9] & 0xff, 0);  /* code: not writable */
    assert_int_equal(h.st.gpr[GPR_R10] & 0xff, 1); /* execute/read code: readable */
    assert_int_equal(h.st.gpr[GPR_R11], 0xffffffff);
    assert_int_equal(h.st.gpr[GPR_R12], 0x00a09b00); /* G, L, P, DPL 0, S, type 0xb */
    assert_int_equal(h.st.gpr[GPR_R14] & 0xff, 0);   /* null selector: ZF=0 */
    assert_true(h.st.gpr[GPR_R15] & (1u << 29));     /* ARCH_CAPABILITIES advertised */
    harness_destroy(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cpuid),
        cmocka_unit_test(test_rdtsc),
        cmocka_unit_test(test_msrs),
        cmocka_unit_test(test_kvmclock),
        cmocka_unit_test(test_syscall_sysret),
        cmocka_unit_test(test_swapgs),
        cmocka_unit_test(test_segment_base_moves),
        cmocka_unit_test(test_port_io),
        cmocka_unit_test(test_kick),
        cmocka_unit_test(test_segment_probes),
        cmocka_unit_test(test_spec_ctrl_msrs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
