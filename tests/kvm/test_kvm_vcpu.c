/* Unit tests for KVM vCPUs: cpu_state <-> kvm_regs/kvm_sregs conversion, and on a usable
 * /dev/kvm real vCPUs running tiny hand-assembled 64-bit guests: state round trip, kicks of a
 * spinning and of a halted vCPU, PIO, string-I/O and MMIO exits, triple fault. Tests needing
 * /dev/kvm are skipped without it. */
#include <errno.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "boot/long_mode.h"
#include "core/memmap.h"
#include "core/vm.h"
#include "kvm/kvm_internal.h"

#define CODE_ADDR 0x100000ULL
#define DATA_ADDR 0x100100ULL
#define PORT      0x80

static void test_regs_roundtrip(void **state)
{
    struct cpu_state a, b;
    memset(&a, 0, sizeof(a));
    long_mode_init_state(&a, 0x123456, 0x8F000);
    for (int i = 0; i < GPR_COUNT; i++)
        a.gpr[i] = 0x1111111111111111ULL * (uint64_t)(i + 1);
    a.cr2 = 0xDEAD000;
    a.cr8 = 5;
    a.seg[SEG_FS].base = 0x7FFF0000;
    a.seg[SEG_GS].avl = 1;
    a.idt = (struct cpu_dtable){.base = 0x5000, .limit = 0xFFF};

    struct kvm_regs regs;
    struct kvm_sregs sregs;
    kvm_regs_from_state(&regs, &a);
    kvm_sregs_from_state(&sregs, &a);
    assert_int_equal(regs.rsp, a.gpr[GPR_RSP]);
    assert_int_equal(regs.r15, a.gpr[GPR_R15]);
    assert_int_equal(sregs.cs.l, 1);
    assert_int_equal(sregs.fs.base, 0x7FFF0000);
    assert_int_equal(sregs.ss.selector, LONG_MODE_SEL_DS);
    assert_int_equal(sregs.efer, a.efer);
    for (size_t i = 0; i < sizeof(sregs.interrupt_bitmap) / sizeof(sregs.interrupt_bitmap[0]); i++)
        assert_int_equal(sregs.interrupt_bitmap[i], 0);

    memset(&b, 0, sizeof(b));
    kvm_sregs_to_state(&b, &sregs);
    kvm_regs_to_state(&b, &regs);
    assert_memory_equal(&a, &b, sizeof(a));
}

/* Records bus accesses and stops the vCPU after `stop_after` writes. */
struct recorder {
    struct vcpu *vcpu;
    unsigned stop_after;
    unsigned n;
    uint64_t offset[16], value[16];
    unsigned size[16];
    uint64_t read_value;
};

static uint64_t rec_read(void *opaque, uint64_t offset, unsigned size)
{
    struct recorder *r = opaque;
    return r->read_value;
}

static void rec_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    struct recorder *r = opaque;
    if (r->n < 16) {
        r->offset[r->n] = offset;
        r->value[r->n] = value;
        r->size[r->n] = size;
    }
    if (++r->n >= r->stop_after)
        atomic_store(&r->vcpu->stop_requested, true);
}

static const struct iobus_ops rec_ops = {.read = rec_read, .write = rec_write};

struct fixture {
    struct vm vm;
    struct vcpu vcpu;
    struct recorder pio, mmio;
    bool vm_ready, vcpu_ready;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    *state = f;
    if (guest_mem_init(&f->vm.mem, 4 * MiB) < 0 || iobus_init(&f->vm.pio, "pio") < 0 ||
        iobus_init(&f->vm.mmio, "mmio") < 0)
        return -1;
    f->vm.ncpus = 1;
    f->vm.vcpus = &f->vcpu;
    f->vcpu.vm = &f->vm;
    f->pio.vcpu = f->mmio.vcpu = &f->vcpu;
    f->pio.stop_after = f->mmio.stop_after = 1000;
    if (iobus_register(&f->vm.pio, PORT, 4, &rec_ops, &f->pio, "rec") < 0 ||
        iobus_register(&f->vm.mmio, MEMMAP_TESTDEV_BASE, 0x1000, &rec_ops, &f->mmio, "rec") < 0)
        return -1;
    char why[256];
    if (kvm_probe(why, sizeof(why)) < 0)
        return 0; /* tests skip */
    if (kvm_vm_init(&f->vm) < 0)
        return -1;
    f->vm_ready = true;
    if (kvm_vcpu_init(&f->vcpu) < 0)
        return -1;
    f->vcpu_ready = true;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    if (f->vcpu_ready)
        kvm_vcpu_destroy(&f->vcpu);
    if (f->vm_ready)
        kvm_vm_destroy(&f->vm);
    iobus_destroy(&f->vm.mmio);
    iobus_destroy(&f->vm.pio);
    guest_mem_destroy(&f->vm.mem);
    free(f);
    return 0;
}

/* Loads code at CODE_ADDR and the long-mode entry state. Skips without KVM. */
static void boot(struct fixture *f, const uint8_t *code, size_t len)
{
    if (!f->vcpu_ready)
        skip();
    struct cpu_state st;
    assert_int_equal(guest_mem_write(&f->vm.mem, CODE_ADDR, code, len), 0);
    assert_int_equal(long_mode_prepare(&f->vm.mem, &st, CODE_ADDR, MEMMAP_BOOT_STACK), 0);
    assert_int_equal(kvm_vcpu_set_state(&f->vcpu, &st), 0);
}

static uint64_t rip_of(struct fixture *f)
{
    struct cpu_state st;
    assert_int_equal(kvm_vcpu_get_state(&f->vcpu, &st), 0);
    return st.rip;
}

static void test_state_roundtrip(void **state)
{
    struct fixture *f = *state;
    const uint8_t code[] = {0xEB, 0xFE};
    boot(f, code, sizeof(code));
    struct cpu_state want, got;
    long_mode_init_state(&want, CODE_ADDR, MEMMAP_BOOT_STACK);
    assert_int_equal(kvm_vcpu_get_state(&f->vcpu, &got), 0);
    assert_int_equal(got.rip, want.rip);
    assert_int_equal(got.gpr[GPR_RSP], want.gpr[GPR_RSP]);
    assert_int_equal(got.rflags, want.rflags);
    assert_int_equal(got.cr0 & want.cr0, want.cr0);
    assert_int_equal(got.cr3, want.cr3);
    assert_int_equal(got.cr4 & want.cr4, want.cr4);
    assert_int_equal(got.efer, want.efer);
    assert_int_equal(got.seg[SEG_CS].selector, LONG_MODE_SEL_CS);
    assert_int_equal(got.seg[SEG_CS].l, 1);
    assert_int_equal(got.seg[SEG_SS].selector, LONG_MODE_SEL_DS);
    assert_int_equal(got.gdt.base, MEMMAP_BOOT_GDT);
    assert_int_equal(got.apic_base & ~0xFFFULL, MEMMAP_LAPIC_BASE);
}

static void test_kick_before_run(void **state)
{
    struct fixture *f = *state;
    const uint8_t code[] = {0xEB, 0xFE};
    boot(f, code, sizeof(code));
    atomic_store(&f->vcpu.stop_requested, true);
    kvm_vcpu_kick(&f->vcpu);
    assert_int_equal(kvm_vcpu_run(&f->vcpu), VCPU_EXIT_STOP);
    assert_int_equal(rip_of(f), CODE_ADDR);
}

static void *run_thread(void *arg)
{
    struct vcpu *v = arg;
    return (void *)(uintptr_t)kvm_vcpu_run(v);
}

/* Runs the vCPU on a thread, kicks it after 50 ms, and expects VCPU_EXIT_STOP. */
static void run_and_kick(struct fixture *f)
{
    assert_int_equal(pthread_create(&f->vcpu.thread, NULL, run_thread, &f->vcpu), 0);
    f->vcpu.thread_started = true;
    usleep(50000);
    atomic_store(&f->vcpu.stop_requested, true);
    kvm_vcpu_kick(&f->vcpu);
    void *ret;
    assert_int_equal(pthread_join(f->vcpu.thread, &ret), 0);
    f->vcpu.thread_started = false;
    assert_int_equal((enum vcpu_exit)(uintptr_t)ret, VCPU_EXIT_STOP);
}

static void test_kick_spinning_vcpu(void **state)
{
    struct fixture *f = *state;
    const uint8_t code[] = {0xEB, 0xFE}; /* jmp . */
    boot(f, code, sizeof(code));
    run_and_kick(f);
    assert_int_equal(rip_of(f), CODE_ADDR);
}

static void test_kick_halted_vcpu(void **state)
{
    struct fixture *f = *state;
    const uint8_t code[] = {0xF4, 0xEB, 0xFD}; /* hlt; jmp back (interrupts are off) */
    boot(f, code, sizeof(code));
    run_and_kick(f);
    uint64_t rip = rip_of(f);
    assert_true(rip >= CODE_ADDR && rip <= CODE_ADDR + 1);
}

static void test_pio_exit(void **state)
{
    struct fixture *f = *state;
    const uint8_t code[] = {0xB0, 0x5A, 0xE6, PORT, 0xEB, 0xFE}; /* mov al,0x5a; out 0x80,al */
    boot(f, code, sizeof(code));
    f->pio.stop_after = 1;
    assert_int_equal(kvm_vcpu_run(&f->vcpu), VCPU_EXIT_STOP);
    assert_int_equal(f->pio.n, 1);
    assert_int_equal(f->pio.value[0], 0x5A);
    assert_int_equal(f->pio.size[0], 1);
    assert_int_equal(rip_of(f), CODE_ADDR + 4); /* the OUT completed, nothing after it ran */
}

static void test_string_io_exit(void **state)
{
    struct fixture *f = *state;
    const uint8_t code[] = {
        0xBE, 0x00, 0x01, 0x10, 0x00, /* mov esi, DATA_ADDR */
        0xB9, 0x04, 0x00, 0x00, 0x00, /* mov ecx, 4 */
        0x66, 0xBA, PORT, 0x00,       /* mov dx, PORT */
        0xF3, 0x6E,                   /* rep outsb */
        0xEB, 0xFE,                   /* jmp . */
    };
    boot(f, code, sizeof(code));
    assert_int_equal(guest_mem_write(&f->vm.mem, DATA_ADDR, "abcd", 4), 0);
    f->pio.stop_after = 4;
    assert_int_equal(kvm_vcpu_run(&f->vcpu), VCPU_EXIT_STOP);
    assert_int_equal(f->pio.n, 4);
    for (unsigned i = 0; i < 4; i++) {
        assert_int_equal(f->pio.value[i], 'a' + i);
        assert_int_equal(f->pio.size[i], 1);
    }
    /* The string instruction is complete: RCX exhausted, RSI advanced. RIP is past it, or
     * still on it with RCX = 0 (re-executing it is then a no-op), depending on how the
     * host's KVM splits the repetitions. */
    struct cpu_state st;
    assert_int_equal(kvm_vcpu_get_state(&f->vcpu, &st), 0);
    assert_int_equal(st.gpr[GPR_RCX], 0);
    assert_int_equal(st.gpr[GPR_RSI], DATA_ADDR + 4);
    assert_true(st.rip == CODE_ADDR + 16 || st.rip == CODE_ADDR + 14);
}

static void test_mmio_exit(void **state)
{
    struct fixture *f = *state;
    const uint8_t code[] = {
        0xB8, 0x78, 0x56, 0x34, 0x12,                         /* mov eax, 0x12345678 */
        0xA3, 0x08, 0x00, 0xB0, 0xFE, 0x00, 0x00, 0x00, 0x00, /* mov [0xFEB00008], eax */
        0xA1, 0x10, 0x00, 0xB0, 0xFE, 0x00, 0x00, 0x00, 0x00, /* mov eax, [0xFEB00010] */
        0xE6, PORT,                                           /* out 0x80, al */
        0xEB, 0xFE,
    };
    boot(f, code, sizeof(code));
    f->mmio.read_value = 0xCAFEF00D;
    f->pio.stop_after = 1;
    assert_int_equal(kvm_vcpu_run(&f->vcpu), VCPU_EXIT_STOP);
    assert_int_equal(f->mmio.n, 1);
    assert_int_equal(f->mmio.offset[0], 8);
    assert_int_equal(f->mmio.value[0], 0x12345678);
    assert_int_equal(f->mmio.size[0], 4);
    assert_int_equal(f->pio.n, 1);
    assert_int_equal(f->pio.value[0], 0x0D); /* low byte of what the MMIO read returned */
}

static void test_triple_fault(void **state)
{
    struct fixture *f = *state;
    const uint8_t code[] = {0x0F, 0x0B}; /* ud2 with an empty IDT */
    boot(f, code, sizeof(code));
    assert_int_equal(kvm_vcpu_run(&f->vcpu), VCPU_EXIT_SHUTDOWN);
}

static void test_irq_args_checked(void **state)
{
    struct fixture *f = *state;
    if (!f->vm_ready)
        skip();
    assert_int_equal(kvm_irq_set_line(&f->vm, 4, true), 0);
    assert_int_equal(kvm_irq_set_line(&f->vm, 4, false), 0);
    assert_int_equal(kvm_irq_set_line(&f->vm, KVM_GSI_COUNT, true), -EINVAL);
    assert_int_equal(kvm_irq_add_ioeventfd(&f->vm, true, 0x600, 3, false, 0, 0), -EINVAL);
    assert_int_equal(kvm_irq_add_irqfd(&f->vm, 99, 0), -EINVAL);
}

static void test_vcpu_reset(void **state)
{
    struct fixture *f = *state;
    const uint8_t code[] = {0xB0, 0x5A, 0xE6, PORT, 0xEB, 0xFE};
    boot(f, code, sizeof(code));
    f->pio.stop_after = 1;
    assert_int_equal(kvm_vcpu_run(&f->vcpu), VCPU_EXIT_STOP);

    struct kvm_vcpu_state *vs = f->vcpu.accel_state;
    struct kvm_lapic_state lapic;
    assert_int_equal(ioctl(vs->fd, KVM_GET_LAPIC, &lapic), 0);
    lapic.regs[0x80] = 0xF0; /* TPR */
    assert_int_equal(ioctl(vs->fd, KVM_SET_LAPIC, &lapic), 0);

    assert_int_equal(kvm_vcpu_reset(&f->vcpu), 0);
    struct cpu_state st;
    assert_int_equal(kvm_vcpu_get_state(&f->vcpu, &st), 0);
    assert_int_equal(st.rip, 0xFFF0); /* architectural reset vector, CS base 0xFFFF0000 */
    assert_int_equal(st.seg[SEG_CS].selector, 0xF000);
    assert_int_equal(st.seg[SEG_CS].base, 0xFFFF0000);
    assert_int_equal(st.cr0 & CR0_PE, 0);
    assert_int_equal(st.efer, 0);
    assert_int_equal(ioctl(vs->fd, KVM_GET_LAPIC, &lapic), 0);
    assert_int_equal(lapic.regs[0x80], 0);
}

static void test_vm_reset(void **state)
{
    struct fixture *f = *state;
    if (!f->vm_ready)
        skip();
    struct kvm_vm_state *ks = f->vm.accel_state;
    struct kvm_irqchip chip = {.chip_id = KVM_IRQCHIP_PIC_MASTER};
    assert_int_equal(ioctl(ks->vm_fd, KVM_GET_IRQCHIP, &chip), 0);
    uint8_t imr = chip.chip.pic.imr;
    chip.chip.pic.imr = (uint8_t)~imr;
    assert_int_equal(ioctl(ks->vm_fd, KVM_SET_IRQCHIP, &chip), 0);
    assert_int_equal(kvm_reset_machine(&f->vm), 0);
    assert_int_equal(ioctl(ks->vm_fd, KVM_GET_IRQCHIP, &chip), 0);
    assert_int_equal(chip.chip.pic.imr, imr);
}

static uint64_t eventfd_count(int fd)
{
    uint64_t v = 0;
    if (read(fd, &v, sizeof(v)) != (ssize_t)sizeof(v))
        return 0;
    return v;
}

/* Guest writes to ioeventfd addresses signal the eventfd in the kernel and never reach the
 * userspace bus; with datamatch only the matching value does. */
static void test_ioeventfd(void **state)
{
    struct fixture *f = *state;
    const uint8_t code[] = {
        0xB0, 0x05, 0xE6, PORT + 1,                               /* out PORT+1, 5 (no match) */
        0xB0, 0x07, 0xE6, PORT + 1,                               /* out PORT+1, 7 (match) */
        0xA3, 0x40, 0x00, 0xB0,     0xFE, 0x00, 0x00, 0x00, 0x00, /* mov [0xFEB00040], eax */
        0xE6, PORT,                                               /* out PORT, al: stop */
        0xEB, 0xFE,
    };
    boot(f, code, sizeof(code));
    int pio_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    int mmio_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    assert_true(pio_fd >= 0 && mmio_fd >= 0);
    assert_int_equal(kvm_irq_add_ioeventfd(&f->vm, true, PORT + 1, 1, true, 7, pio_fd), 0);
    assert_int_equal(
        kvm_irq_add_ioeventfd(&f->vm, false, MEMMAP_TESTDEV_BASE + 0x40, 4, false, 0, mmio_fd), 0);
    f->pio.stop_after = 2; /* the unmatched write to PORT+1, then the one to PORT */
    assert_int_equal(kvm_vcpu_run(&f->vcpu), VCPU_EXIT_STOP);
    assert_int_equal(f->pio.n, 2);
    assert_int_equal(f->pio.offset[0], 1);
    assert_int_equal(f->pio.value[0], 5);
    assert_int_equal(f->pio.offset[1], 0);
    assert_int_equal(f->mmio.n, 0); /* the MMIO store went to the eventfd only */
    assert_int_equal(eventfd_count(pio_fd), 1);
    assert_int_equal(eventfd_count(mmio_fd), 1);
    assert_int_equal(kvm_irq_del_ioeventfd(&f->vm, true, PORT + 1, 1, true, 7, pio_fd), 0);
    assert_true(kvm_irq_del_ioeventfd(&f->vm, true, PORT + 1, 1, true, 7, pio_fd) < 0);
    close(pio_fd);
    close(mmio_fd);
}

/* An irqfd write raises its GSI: the edge shows up in the in-kernel PIC's IRR. */
static void test_irqfd_and_msi(void **state)
{
    struct fixture *f = *state;
    if (!f->vcpu_ready)
        skip();
    struct kvm_vm_state *ks = f->vm.accel_state;
    int fd = eventfd(0, EFD_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(kvm_irq_add_irqfd(&f->vm, 3, fd), 0);
    uint64_t one = 1;
    assert_int_equal(write(fd, &one, sizeof(one)), sizeof(one));
    struct kvm_irqchip chip = {.chip_id = KVM_IRQCHIP_PIC_MASTER};
    for (int i = 0; i < 100; i++) { /* irqfd injection is asynchronous */
        assert_int_equal(ioctl(ks->vm_fd, KVM_GET_IRQCHIP, &chip), 0);
        if (chip.chip.pic.irr & (1 << 3))
            break;
        usleep(1000);
    }
    assert_true(chip.chip.pic.irr & (1 << 3));
    close(fd);
    assert_int_equal(kvm_irq_signal_msi(&f->vm, MEMMAP_LAPIC_BASE, 0x30), 0);
}

/* Two VMs in one process are independent: each runs its own guest and sees its own exits. */
static void test_two_vms(void **state)
{
    struct fixture *a = *state;
    void *other = NULL;
    assert_int_equal(setup(&other), 0);
    struct fixture *b = other;
    const uint8_t code_a[] = {0xB0, 0x0A, 0xE6, PORT, 0xEB, 0xFE};
    const uint8_t code_b[] = {0xB0, 0x0B, 0xE6, PORT, 0xEB, 0xFE};
    if (!a->vcpu_ready || !b->vcpu_ready) {
        teardown(&other);
        skip();
    }
    boot(a, code_a, sizeof(code_a));
    boot(b, code_b, sizeof(code_b));
    a->pio.stop_after = b->pio.stop_after = 1;
    assert_int_equal(kvm_vcpu_run(&b->vcpu), VCPU_EXIT_STOP);
    assert_int_equal(kvm_vcpu_run(&a->vcpu), VCPU_EXIT_STOP);
    assert_int_equal(a->pio.n, 1);
    assert_int_equal(b->pio.n, 1);
    assert_int_equal(a->pio.value[0], 0x0A);
    assert_int_equal(b->pio.value[0], 0x0B);
    teardown(&other);
}

#define KVM_TEST(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_regs_roundtrip),
        KVM_TEST(test_state_roundtrip),
        KVM_TEST(test_kick_before_run),
        KVM_TEST(test_kick_spinning_vcpu),
        KVM_TEST(test_kick_halted_vcpu),
        KVM_TEST(test_pio_exit),
        KVM_TEST(test_string_io_exit),
        KVM_TEST(test_mmio_exit),
        KVM_TEST(test_triple_fault),
        KVM_TEST(test_irq_args_checked),
        KVM_TEST(test_vcpu_reset),
        KVM_TEST(test_vm_reset),
        KVM_TEST(test_ioeventfd),
        KVM_TEST(test_irqfd_and_msi),
        KVM_TEST(test_two_vms),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
