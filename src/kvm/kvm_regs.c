/* Register state between struct cpu_state and KVM (api.rst 4.11-4.14 KVM_GET/SET_REGS,
 * KVM_GET/SET_SREGS, 4.22-4.23 KVM_GET/SET_FPU, 4.18-4.19 KVM_GET/SET_MSRS). Loading a state
 * also puts the x87/SSE unit and the boot-relevant MSRs in their reset values (SDM vol. 3A
 * table 9-1). */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/ioctl.h>

#include "kvm/kvm_internal.h"
#include "util/log.h"

/* MSR numbers (SDM vol. 4) and their values at boot. */
#define MSR_IA32_SYSENTER_CS  0x174
#define MSR_IA32_SYSENTER_ESP 0x175
#define MSR_IA32_SYSENTER_EIP 0x176
#define MSR_IA32_MISC_ENABLE  0x1A0
#define MSR_MTRR_DEF_TYPE     0x2FF
#define MSR_STAR              0xC0000081
#define MSR_LSTAR             0xC0000082
#define MSR_CSTAR             0xC0000083
#define MSR_SYSCALL_MASK      0xC0000084
#define MSR_KERNEL_GS_BASE    0xC0000102

#define MISC_ENABLE_FAST_STRING 1ULL
#define MTRR_DEF_TYPE_E         (1ULL << 11)
#define MTRR_TYPE_WRBACK        6ULL

#define FPU_FCW_RESET   0x37F
#define FPU_MXCSR_RESET 0x1F80

void kvm_regs_from_state(struct kvm_regs *r, const struct cpu_state *st)
{
    memset(r, 0, sizeof(*r));
    r->rax = st->gpr[GPR_RAX];
    r->rcx = st->gpr[GPR_RCX];
    r->rdx = st->gpr[GPR_RDX];
    r->rbx = st->gpr[GPR_RBX];
    r->rsp = st->gpr[GPR_RSP];
    r->rbp = st->gpr[GPR_RBP];
    r->rsi = st->gpr[GPR_RSI];
    r->rdi = st->gpr[GPR_RDI];
    r->r8 = st->gpr[GPR_R8];
    r->r9 = st->gpr[GPR_R9];
    r->r10 = st->gpr[GPR_R10];
    r->r11 = st->gpr[GPR_R11];
    r->r12 = st->gpr[GPR_R12];
    r->r13 = st->gpr[GPR_R13];
    r->r14 = st->gpr[GPR_R14];
    r->r15 = st->gpr[GPR_R15];
    r->rip = st->rip;
    r->rflags = st->rflags;
}

void kvm_regs_to_state(struct cpu_state *st, const struct kvm_regs *r)
{
    st->gpr[GPR_RAX] = r->rax;
    st->gpr[GPR_RCX] = r->rcx;
    st->gpr[GPR_RDX] = r->rdx;
    st->gpr[GPR_RBX] = r->rbx;
    st->gpr[GPR_RSP] = r->rsp;
    st->gpr[GPR_RBP] = r->rbp;
    st->gpr[GPR_RSI] = r->rsi;
    st->gpr[GPR_RDI] = r->rdi;
    st->gpr[GPR_R8] = r->r8;
    st->gpr[GPR_R9] = r->r9;
    st->gpr[GPR_R10] = r->r10;
    st->gpr[GPR_R11] = r->r11;
    st->gpr[GPR_R12] = r->r12;
    st->gpr[GPR_R13] = r->r13;
    st->gpr[GPR_R14] = r->r14;
    st->gpr[GPR_R15] = r->r15;
    st->rip = r->rip;
    st->rflags = r->rflags;
}

void kvm_segment_from_cpu(struct kvm_segment *k, const struct cpu_segment *s)
{
    memset(k, 0, sizeof(*k));
    k->base = s->base;
    k->limit = s->limit;
    k->selector = s->selector;
    k->type = s->type;
    k->present = s->present;
    k->dpl = s->dpl;
    k->db = s->db;
    k->s = s->s;
    k->l = s->l;
    k->g = s->g;
    k->avl = s->avl;
    k->unusable = s->unusable;
}

void kvm_segment_to_cpu(struct cpu_segment *s, const struct kvm_segment *k)
{
    memset(s, 0, sizeof(*s));
    s->base = k->base;
    s->limit = k->limit;
    s->selector = k->selector;
    s->type = k->type;
    s->present = k->present;
    s->dpl = k->dpl;
    s->db = k->db;
    s->s = k->s;
    s->l = k->l;
    s->g = k->g;
    s->avl = k->avl;
    s->unusable = k->unusable;
}

/* KVM's segment order in struct kvm_sregs, indexed by enum cpu_seg. */
static struct kvm_segment *sregs_seg(struct kvm_sregs *sr, int seg)
{
    switch (seg) {
    case SEG_ES:
        return &sr->es;
    case SEG_CS:
        return &sr->cs;
    case SEG_SS:
        return &sr->ss;
    case SEG_DS:
        return &sr->ds;
    case SEG_FS:
        return &sr->fs;
    default:
        return &sr->gs;
    }
}

void kvm_sregs_from_state(struct kvm_sregs *sr, const struct cpu_state *st)
{
    memset(sr, 0, sizeof(*sr)); /* also: no pending interrupt in interrupt_bitmap */
    for (int i = 0; i < SEG_COUNT; i++)
        kvm_segment_from_cpu(sregs_seg(sr, i), &st->seg[i]);
    kvm_segment_from_cpu(&sr->tr, &st->tr);
    kvm_segment_from_cpu(&sr->ldt, &st->ldt);
    sr->gdt.base = st->gdt.base;
    sr->gdt.limit = st->gdt.limit;
    sr->idt.base = st->idt.base;
    sr->idt.limit = st->idt.limit;
    sr->cr0 = st->cr0;
    sr->cr2 = st->cr2;
    sr->cr3 = st->cr3;
    sr->cr4 = st->cr4;
    sr->cr8 = st->cr8;
    sr->efer = st->efer;
    sr->apic_base = st->apic_base;
}

void kvm_sregs_to_state(struct cpu_state *st, const struct kvm_sregs *sr)
{
    struct kvm_sregs copy = *sr;
    for (int i = 0; i < SEG_COUNT; i++)
        kvm_segment_to_cpu(&st->seg[i], sregs_seg(&copy, i));
    kvm_segment_to_cpu(&st->tr, &sr->tr);
    kvm_segment_to_cpu(&st->ldt, &sr->ldt);
    st->gdt.base = sr->gdt.base;
    st->gdt.limit = sr->gdt.limit;
    st->idt.base = sr->idt.base;
    st->idt.limit = sr->idt.limit;
    st->cr0 = sr->cr0;
    st->cr2 = sr->cr2;
    st->cr3 = sr->cr3;
    st->cr4 = sr->cr4;
    st->cr8 = sr->cr8;
    st->efer = sr->efer;
    st->apic_base = sr->apic_base;
}

static int vcpu_ioctl(int fd, unsigned long req, void *arg, const char *what)
{
    if (ioctl(fd, req, arg) < 0) {
        int err = errno;
        log_error("kvm: %s failed: %s", what, strerror(err));
        return -err;
    }
    return 0;
}

static int set_reset_fpu(int fd)
{
    struct kvm_fpu fpu;
    memset(&fpu, 0, sizeof(fpu));
    fpu.fcw = FPU_FCW_RESET;
    fpu.mxcsr = FPU_MXCSR_RESET;
    return vcpu_ioctl(fd, KVM_SET_FPU, &fpu, "KVM_SET_FPU");
}

static const struct {
    uint32_t index;
    uint64_t value;
} boot_msrs[] = {
    {MSR_IA32_SYSENTER_CS, 0},
    {MSR_IA32_SYSENTER_ESP, 0},
    {MSR_IA32_SYSENTER_EIP, 0},
    {MSR_STAR, 0},
    {MSR_LSTAR, 0},
    {MSR_CSTAR, 0},
    {MSR_SYSCALL_MASK, 0},
    {MSR_KERNEL_GS_BASE, 0},
    {MSR_IA32_MISC_ENABLE, MISC_ENABLE_FAST_STRING},
    {MSR_MTRR_DEF_TYPE, MTRR_DEF_TYPE_E | MTRR_TYPE_WRBACK},
};
#define BOOT_MSR_COUNT (sizeof(boot_msrs) / sizeof(boot_msrs[0]))

static int set_boot_msrs(int fd)
{
    struct {
        struct kvm_msrs hdr;
        struct kvm_msr_entry entries[BOOT_MSR_COUNT];
    } m;
    memset(&m, 0, sizeof(m));
    m.hdr.nmsrs = BOOT_MSR_COUNT;
    for (size_t i = 0; i < BOOT_MSR_COUNT; i++) {
        m.entries[i].index = boot_msrs[i].index;
        m.entries[i].data = boot_msrs[i].value;
    }
    /* KVM_SET_MSRS returns how many were set; it stops at the first one it rejects. */
    int n = ioctl(fd, KVM_SET_MSRS, &m);
    if (n < 0) {
        int err = errno;
        log_error("kvm: KVM_SET_MSRS failed: %s", strerror(err));
        return -err;
    }
    if ((size_t)n < BOOT_MSR_COUNT) {
        log_error("kvm: KVM_SET_MSRS rejected MSR 0x%x", boot_msrs[n].index);
        return -EINVAL;
    }
    return 0;
}

int kvm_regs_set_state(int fd, const struct cpu_state *st)
{
    struct kvm_sregs sregs;
    struct kvm_regs regs;
    int rc;

    /* Segment and control registers first: KVM checks RFLAGS/RIP against the mode. */
    kvm_sregs_from_state(&sregs, st);
    rc = vcpu_ioctl(fd, KVM_SET_SREGS, &sregs, "KVM_SET_SREGS");
    if (rc < 0)
        return rc;
    kvm_regs_from_state(&regs, st);
    rc = vcpu_ioctl(fd, KVM_SET_REGS, &regs, "KVM_SET_REGS");
    if (rc < 0)
        return rc;
    rc = set_reset_fpu(fd);
    if (rc < 0)
        return rc;
    return set_boot_msrs(fd);
}

int kvm_regs_get_state(int fd, struct cpu_state *st)
{
    struct kvm_sregs sregs;
    struct kvm_regs regs;
    int rc = vcpu_ioctl(fd, KVM_GET_SREGS, &sregs, "KVM_GET_SREGS");
    if (rc < 0)
        return rc;
    rc = vcpu_ioctl(fd, KVM_GET_REGS, &regs, "KVM_GET_REGS");
    if (rc < 0)
        return rc;
    memset(st, 0, sizeof(*st));
    kvm_sregs_to_state(st, &sregs);
    kvm_regs_to_state(st, &regs);
    return 0;
}
