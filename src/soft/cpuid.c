/* CPUID (SDM Vol. 2 CPUID; Linux Documentation/virt/kvm/x86/cpuid.rst for the hypervisor
 * leaves): advertises exactly what the soft CPU implements, the TSC frequency (leaves 0x15 and
 * 0x16) and the KVM paravirtual clock ("KVMKVMKVM", leaf 0x40000001 features). */
#include "soft/handlers.h"

#define CPUID_MAX_BASIC 0x16
#define CPUID_MAX_EXT   0x80000008u

/* Leaf 1 EDX: FPU, PSE, TSC, MSR, PAE, CX8, APIC, MTRR, PGE, CMOV, PAT, CLFSH, MMX, FXSR,
 * SSE, SSE2. */
#define L1_EDX                                                                                     \
    ((1u << 0) | (1u << 3) | (1u << 4) | (1u << 5) | (1u << 6) | (1u << 8) | (1u << 9) |           \
     (1u << 12) | (1u << 13) | (1u << 15) | (1u << 16) | (1u << 19) | (1u << 23) | (1u << 24) |    \
     (1u << 25) | (1u << 26))
/* Leaf 1 ECX: CMPXCHG16B, POPCNT, hypervisor present. */
#define L1_ECX ((1u << 13) | (1u << 23) | (1u << 31))
/* 0x80000001 EDX: SYSCALL, NX, 1 GiB pages, RDTSCP, LM. ECX: LAHF/SAHF in 64-bit mode. */
#define E1_EDX ((1u << 11) | (1u << 20) | (1u << 26) | (1u << 27) | (1u << 29))
#define E1_ECX (1u << 0)

static const char brand[48] = "ember soft x86-64 CPU";

void soft_cpuid(struct soft_cpu *cpu, uint32_t leaf, uint32_t sub, uint32_t r[4])
{
    r[0] = r[1] = r[2] = r[3] = 0;
    uint64_t hz = cpu->clock->tsc_hz;
    switch (leaf) {
    case 0:
        r[0] = CPUID_MAX_BASIC;
        memcpy(&r[1], "Genu", 4);
        memcpy(&r[3], "ineI", 4);
        memcpy(&r[2], "ntel", 4);
        return;
    case 1:
        r[0] = 0x000206a7; /* family 6, model 0x2a, stepping 7 */
        r[1] = (8u << 8) | ((cpu->cfg.ncpus & 0xff) << 16) | ((cpu->cfg.vcpu_index & 0xff) << 24);
        r[2] = L1_ECX;
        r[3] = L1_EDX | (cpu->cfg.ncpus > 1 ? (1u << 28) : 0); /* HTT: ncpus logical CPUs */
        return;
    case 7:
        if (sub == 0) {
            r[0] = 2;                       /* subleaves 0..2 */
            r[3] = (1u << 26) | (1u << 29); /* IBRS/IBPB (SPEC_CTRL, PRED_CMD), ARCH_CAPABILITIES */
        } else if (sub == 2) {
            /* BHI_CTRL: SPEC_CTRL.BHI_DIS_S exists. Linux takes it instead of running its
             * branch-history clearing loop (about 100 instructions) on every system call. */
            r[3] = 1u << 4;
        }
        return;
    case 0x15:
        /* TSC = crystal * EBX / EAX; the crystal is the TSC itself. */
        if (hz <= 0xffffffffULL) {
            r[0] = 1;
            r[1] = 1;
            r[2] = (uint32_t)hz;
        } else {
            r[0] = 1;
            r[1] = (uint32_t)(hz / 1000000);
            r[2] = 1000000;
        }
        return;
    case 0x16:
        r[0] = (uint32_t)(hz / 1000000);
        r[1] = (uint32_t)(hz / 1000000);
        r[2] = 100;
        return;
    case 0x40000000:
        r[0] = 0x40000001;
        memcpy(&r[1], "KVMK", 4);
        memcpy(&r[2], "VMKV", 4);
        memcpy(&r[3], "M\0\0\0", 4);
        return;
    case 0x40000001:
        r[0] = (1u << 3) | (1u << 24); /* CLOCKSOURCE2, CLOCKSOURCE_STABLE_BIT */
        return;
    case 0x80000000:
        r[0] = CPUID_MAX_EXT;
        return;
    case 0x80000001:
        r[2] = E1_ECX;
        r[3] = E1_EDX;
        return;
    case 0x80000002:
    case 0x80000003:
    case 0x80000004:
        memcpy(r, brand + (leaf - 0x80000002) * 16, 16);
        return;
    case 0x80000007:
        r[3] = 1u << 8; /* invariant TSC */
        return;
    case 0x80000008:
        r[0] = 42 | (48 << 8);
        return;
    default:
        return;
    }
}
