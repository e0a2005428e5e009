/* Model-specific registers (SDM Vol. 4) the soft CPU implements itself: TSC, EFER, the SYSCALL
 * MSRs, FS/GS/KERNEL_GS bases, TSC_AUX, PAT, MTRRs, MISC_ENABLE and SPEC_CTRL as plain storage,
 * PRED_CMD as a write-only command, IA32_ARCH_CAPABILITIES, and the
 * KVM paravirtual clock MSRs (Linux Documentation/virt/kvm/x86/msr.rst) with pvclock structures.
 * The rest (APIC base, TSC deadline, ...) goes to the hooks; unknown MSRs raise #GP(0). */
#include <time.h>

#include "soft/handlers.h"

#define MSR_TSC             0x10
#define MSR_APIC_BASE       0x1b
#define MSR_FEATURE_CTRL    0x3a
#define MSR_SPEC_CTRL       0x48
#define MSR_PRED_CMD        0x49
#define MSR_BIOS_SIGN_ID    0x8b
#define MSR_MTRRCAP         0xfe
#define MSR_ARCH_CAPS       0x10a
#define MSR_SYSENTER_CS     0x174
#define MSR_SYSENTER_ESP    0x175
#define MSR_SYSENTER_EIP    0x176
#define MSR_MCG_CAP         0x179
#define MSR_MCG_STATUS      0x17a
#define MSR_MISC_ENABLE     0x1a0
#define MSR_MTRR_VAR_FIRST  0x200
#define MSR_MTRR_VAR_LAST   0x20f
#define MSR_PAT             0x277
#define MSR_MTRR_DEF_TYPE   0x2ff
#define MSR_EFER            0xc0000080
#define MSR_STAR            0xc0000081
#define MSR_LSTAR           0xc0000082
#define MSR_CSTAR           0xc0000083
#define MSR_SFMASK          0xc0000084
#define MSR_FS_BASE         0xc0000100
#define MSR_GS_BASE         0xc0000101
#define MSR_KERNEL_GS_BASE  0xc0000102
#define MSR_TSC_AUX         0xc0000103
#define MSR_KVM_WALL_CLOCK  0x4b564d00
#define MSR_KVM_SYSTEM_TIME 0x4b564d01

/* Fixed-range MTRR MSR numbers, in struct soft_msrs.mtrr_fixed order. */
static const uint32_t mtrr_fixed_msrs[11] = {0x250, 0x258, 0x259, 0x268, 0x269, 0x26a,
                                             0x26b, 0x26c, 0x26d, 0x26e, 0x26f};

uint64_t soft_rdtsc(struct soft_cpu *cpu)
{
    return vclock_tsc(cpu->clock) + cpu->ext.msrs.tsc_offset;
}

/* pvclock_vcpu_time_info scale: ns = ((tsc << shift) * mul) >> 32 (shift may be negative). */
static void pvclock_scale(uint64_t tsc_hz, uint32_t *mul, int8_t *shift)
{
    unsigned __int128 base = ((unsigned __int128)1000000000ULL << 32) / tsc_hz;
    int s = 0;
    while (base >= ((unsigned __int128)1 << 32)) {
        base >>= 1;
        s++;
    }
    while (base && base < (1ULL << 31) && s > -31) {
        base <<= 1;
        s--;
    }
    *mul = (uint32_t)base;
    *shift = (int8_t)s;
}

/* Writes the pvclock_vcpu_time_info at the guest-physical address in MSR_KVM_SYSTEM_TIME. The
 * address is guest-controlled: written only if the 32 bytes are RAM. */
static void kvmclock_update(struct soft_cpu *cpu)
{
    uint64_t v = cpu->ext.msrs.kvm_system_time;
    if (!(v & 1))
        return;
    uint8_t *p = guest_mem_cpu_ptr(cpu->mem, v & ~1ULL, 32);
    if (!p)
        return;
    uint32_t version;
    memcpy(&version, p, 4);
    version = (version + 1) | 1; /* odd: update in progress */
    memcpy(p, &version, 4);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    uint64_t ns = vclock_ns(cpu->clock);
    uint64_t tsc = vclock_ns_to_tsc(cpu->clock, ns) + cpu->ext.msrs.tsc_offset;
    uint32_t mul;
    int8_t shift;
    pvclock_scale(cpu->clock->tsc_hz, &mul, &shift);
    uint8_t flags = 1; /* PVCLOCK_TSC_STABLE_BIT */
    memcpy(p + 8, &tsc, 8);
    memcpy(p + 16, &ns, 8);
    memcpy(p + 24, &mul, 4);
    memcpy(p + 28, &shift, 1);
    memcpy(p + 29, &flags, 1);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    version++;
    memcpy(p, &version, 4);
    soft_code_write(cpu, v & ~1ULL, 32);
}

/* Wall clock at guest time 0: struct pvclock_wall_clock { u32 version, sec, nsec }. */
static void kvm_wall_clock(struct soft_cpu *cpu, uint64_t gpa)
{
    uint8_t *p = guest_mem_cpu_ptr(cpu->mem, gpa, 12);
    if (!p)
        return;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    uint64_t real_ns = (uint64_t)now.tv_sec * 1000000000ULL + (uint64_t)now.tv_nsec;
    uint64_t boot_ns = real_ns - vclock_ns(cpu->clock);
    uint32_t version, sec = (uint32_t)(boot_ns / 1000000000ULL),
                      nsec = (uint32_t)(boot_ns % 1000000000ULL);
    memcpy(&version, p, 4);
    version = (version + 1) | 1;
    memcpy(p, &version, 4);
    memcpy(p + 4, &sec, 4);
    memcpy(p + 8, &nsec, 4);
    version++;
    memcpy(p, &version, 4);
}

static bool pat_valid(uint64_t v)
{
    for (unsigned i = 0; i < 8; i++) {
        unsigned t = (v >> (8 * i)) & 0xff;
        if (t == 2 || t == 3 || t > 7)
            return false;
    }
    return true;
}

static bool hook_read(struct soft_cpu *cpu, uint32_t msr, uint64_t *value)
{
    return cpu->hooks.msr_read && cpu->hooks.msr_read(cpu->hooks.opaque, msr, value) == 0;
}

static bool hook_write(struct soft_cpu *cpu, uint32_t msr, uint64_t value)
{
    return cpu->hooks.msr_write && cpu->hooks.msr_write(cpu->hooks.opaque, msr, value) == 0;
}

void soft_msr_read(struct soft_cpu *cpu, uint32_t msr, uint64_t *value)
{
    struct soft_msrs *m = &cpu->ext.msrs;
    switch (msr) {
    case MSR_TSC:
        *value = soft_rdtsc(cpu);
        return;
    case MSR_APIC_BASE:
        if (!hook_read(cpu, msr, value))
            *value = cpu->apic_base;
        cpu->apic_base = *value;
        return;
    case MSR_FEATURE_CTRL:
        *value = 1; /* locked, VMX off */
        return;
    case MSR_BIOS_SIGN_ID:
        *value = 0;
        return;
    case MSR_MTRRCAP:
        *value = 0x508; /* 8 variable ranges, fixed ranges, write-combining */
        return;
    case MSR_ARCH_CAPS:
        /* The soft CPU does not speculate: not affected by Meltdown (RDCL_NO, bit 0), SSB (4),
         * MDS (5), machine-check on page-size change (6), TAA (8), MMIO stale data
         * (SBDR/FBSDP/PSDP, 13-15), branch history injection (BHI_NO, 20), PBRSB (24), GDS
         * (26), RFDS (27) or indirect target selection (ITS_NO, 62); and its indirect branch
         * restriction is always on (IBRS_ALL, 1: "enhanced IBRS"), trivially so. Without these
         * Linux turns on retpolines and return thunks that only cost time here. */
        *value = (1ULL << 0) | (1ULL << 1) | (1ULL << 4) | (1ULL << 5) | (1ULL << 6) | (1ULL << 8) |
                 (1ULL << 13) | (1ULL << 14) | (1ULL << 15) | (1ULL << 20) | (1ULL << 24) |
                 (1ULL << 26) | (1ULL << 27) | (1ULL << 62);
        return;
    case MSR_SPEC_CTRL:
        *value = m->spec_ctrl;
        return;
    case MSR_SYSENTER_CS:
        *value = m->sysenter_cs;
        return;
    case MSR_SYSENTER_ESP:
        *value = m->sysenter_esp;
        return;
    case MSR_SYSENTER_EIP:
        *value = m->sysenter_eip;
        return;
    case MSR_MISC_ENABLE:
        *value = m->misc_enable;
        return;
    case MSR_PAT:
        *value = m->pat;
        return;
    case MSR_MTRR_DEF_TYPE:
        *value = m->mtrr_def_type;
        return;
    case MSR_EFER:
        *value = cpu->efer;
        return;
    case MSR_STAR:
        *value = m->star;
        return;
    case MSR_LSTAR:
        *value = m->lstar;
        return;
    case MSR_CSTAR:
        *value = m->cstar;
        return;
    case MSR_SFMASK:
        *value = m->sfmask;
        return;
    case MSR_FS_BASE:
        *value = cpu->seg[SEG_FS].base;
        return;
    case MSR_GS_BASE:
        *value = cpu->seg[SEG_GS].base;
        return;
    case MSR_KERNEL_GS_BASE:
        *value = m->kernel_gs_base;
        return;
    case MSR_TSC_AUX:
        *value = m->tsc_aux;
        return;
    case MSR_KVM_WALL_CLOCK:
        *value = m->kvm_wall_clock;
        return;
    case MSR_KVM_SYSTEM_TIME:
        *value = m->kvm_system_time;
        return;
    default:
        break;
    }
    if (msr >= MSR_MTRR_VAR_FIRST && msr <= MSR_MTRR_VAR_LAST) {
        *value = m->mtrr_var[msr - MSR_MTRR_VAR_FIRST];
        return;
    }
    for (unsigned i = 0; i < 11; i++)
        if (msr == mtrr_fixed_msrs[i]) {
            *value = m->mtrr_fixed[i];
            return;
        }
    if (hook_read(cpu, msr, value))
        return;
    soft_raise_gp(cpu, 0);
}

void soft_msr_write(struct soft_cpu *cpu, uint32_t msr, uint64_t v)
{
    struct soft_msrs *m = &cpu->ext.msrs;
    switch (msr) {
    case MSR_TSC:
        m->tsc_offset = v - vclock_tsc(cpu->clock);
        kvmclock_update(cpu);
        return;
    case MSR_APIC_BASE:
        if (cpu->hooks.msr_write) {
            if (!hook_write(cpu, msr, v))
                soft_raise_gp(cpu, 0);
        } else if (v & ~(0xfffffffff000ULL | APIC_BASE_BSP | APIC_BASE_ENABLE)) {
            soft_raise_gp(cpu, 0);
        }
        cpu->apic_base = v;
        return;
    case MSR_BIOS_SIGN_ID:
        return;
    case MSR_SPEC_CTRL:
        /* IBRS (bit 0, CPUID.7.0:EDX[26]) and BHI_DIS_S (bit 10, CPUID.7.2:EDX[4]) are
         * enumerated; STIBP and SSBD are not. Neither changes anything: nothing speculates. */
        if (v & ~(1ULL | (1ULL << 10)))
            soft_raise_gp(cpu, 0);
        m->spec_ctrl = v;
        return;
    case MSR_PRED_CMD:
        /* IBPB (bit 0): there are no predictions to discard. */
        if (v & ~1ULL)
            soft_raise_gp(cpu, 0);
        return;
    case MSR_SYSENTER_CS:
        m->sysenter_cs = v & 0xffff;
        return;
    case MSR_SYSENTER_ESP:
        m->sysenter_esp = v;
        return;
    case MSR_SYSENTER_EIP:
        m->sysenter_eip = v;
        return;
    case MSR_MISC_ENABLE:
        m->misc_enable = v;
        return;
    case MSR_PAT:
        if (!pat_valid(v))
            soft_raise_gp(cpu, 0);
        m->pat = v;
        return;
    case MSR_MTRR_DEF_TYPE:
        if (v & ~0xcffULL)
            soft_raise_gp(cpu, 0);
        m->mtrr_def_type = v;
        return;
    case MSR_EFER: {
        uint64_t allowed = EFER_SCE | EFER_LME | EFER_NXE;
        if (v & ~(allowed | EFER_LMA))
            soft_raise_gp(cpu, 0);
        if ((cpu->cr0 & CR0_PG) && ((v ^ cpu->efer) & EFER_LME))
            soft_raise_gp(cpu, 0);
        uint64_t old = cpu->efer;
        cpu->efer = (v & allowed) | (cpu->efer & EFER_LMA);
        if ((old ^ cpu->efer) & EFER_NXE)
            soft_tlb_flush_all(cpu);
        return;
    }
    case MSR_STAR:
        m->star = v;
        return;
    case MSR_LSTAR:
    case MSR_CSTAR:
        if (!soft_canonical(v))
            soft_raise_gp(cpu, 0);
        if (msr == MSR_LSTAR)
            m->lstar = v;
        else
            m->cstar = v;
        return;
    case MSR_SFMASK:
        m->sfmask = v & 0xffffffff;
        return;
    case MSR_FS_BASE:
    case MSR_GS_BASE:
    case MSR_KERNEL_GS_BASE:
        if (!soft_canonical(v))
            soft_raise_gp(cpu, 0);
        if (msr == MSR_FS_BASE)
            cpu->seg[SEG_FS].base = v;
        else if (msr == MSR_GS_BASE)
            cpu->seg[SEG_GS].base = v;
        else
            m->kernel_gs_base = v;
        soft_update_mode(cpu);
        return;
    case MSR_TSC_AUX:
        if (v >> 32)
            soft_raise_gp(cpu, 0);
        m->tsc_aux = v;
        return;
    case MSR_KVM_WALL_CLOCK:
        m->kvm_wall_clock = v;
        kvm_wall_clock(cpu, v);
        return;
    case MSR_KVM_SYSTEM_TIME:
        m->kvm_system_time = v;
        kvmclock_update(cpu);
        return;
    default:
        break;
    }
    if (msr >= MSR_MTRR_VAR_FIRST && msr <= MSR_MTRR_VAR_LAST) {
        m->mtrr_var[msr - MSR_MTRR_VAR_FIRST] = v;
        return;
    }
    for (unsigned i = 0; i < 11; i++)
        if (msr == mtrr_fixed_msrs[i]) {
            m->mtrr_fixed[i] = v;
            return;
        }
    if (hook_write(cpu, msr, v))
        return;
    soft_raise_gp(cpu, 0);
}
