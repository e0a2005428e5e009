/* The guest's CPUID table: KVM_GET_SUPPORTED_CPUID (api.rst 4.46) filtered to what an ember
 * machine provides, plus the hypervisor bit, the KVM signature leaf (for kvmclock), per-vCPU
 * APIC IDs and a topology of ncpus single-thread cores in one package (Intel SDM vol. 2A
 * CPUID leaves 01H, 04H, 0BH, 1FH; AMD APM vol. 3 E.4 for the 8000_00xxH leaves). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include <asm/kvm_para.h>

#include "kvm/kvm_internal.h"
#include "util/log.h"

#define CPUID_SUPPORTED_MAX 4096

/* Leaf 01H feature bits ember does not provide (no MONITOR/MWAIT, no nested VMX/SMX, no debug
 * store, thermal or performance-monitoring MSRs). */
#define CPUID_1_ECX_DTES64  (1U << 2)
#define CPUID_1_ECX_MONITOR (1U << 3)
#define CPUID_1_ECX_DSCPL   (1U << 4)
#define CPUID_1_ECX_VMX     (1U << 5)
#define CPUID_1_ECX_SMX     (1U << 6)
#define CPUID_1_ECX_EST     (1U << 7)
#define CPUID_1_ECX_TM2     (1U << 8)
#define CPUID_1_ECX_XTPR    (1U << 14)
#define CPUID_1_ECX_PDCM    (1U << 15)
#define CPUID_1_ECX_HYPERV  (1U << 31)
#define CPUID_1_EDX_DS      (1U << 21)
#define CPUID_1_EDX_ACPI    (1U << 22)
#define CPUID_1_EDX_HTT     (1U << 28)
#define CPUID_1_EDX_TM      (1U << 29)
#define CPUID_1_EDX_PBE     (1U << 31)
#define CPUID_1_ECX_MASKED                                                                         \
    (CPUID_1_ECX_DTES64 | CPUID_1_ECX_MONITOR | CPUID_1_ECX_DSCPL | CPUID_1_ECX_VMX |              \
     CPUID_1_ECX_SMX | CPUID_1_ECX_EST | CPUID_1_ECX_TM2 | CPUID_1_ECX_XTPR | CPUID_1_ECX_PDCM)
#define CPUID_1_EDX_MASKED (CPUID_1_EDX_DS | CPUID_1_EDX_ACPI | CPUID_1_EDX_TM | CPUID_1_EDX_PBE)

/* Leaf 07H subleaf 0: SGX and user-mode wait instructions are not provided. */
#define CPUID_7_EBX_SGX     (1U << 2)
#define CPUID_7_ECX_WAITPKG (1U << 5)
#define CPUID_7_ECX_SGX_LC  (1U << 30)
/* AMX: KVM_SET_CPUID2 refuses its tile state unless the VMM first asked the host kernel for
 * permission (ARCH_REQ_XCOMP_GUEST_PERM); ember does not offer AMX. */
#define CPUID_7_EDX_AMX_BF16 (1U << 22)
#define CPUID_7_EDX_AMX_TILE (1U << 24)
#define CPUID_7_EDX_AMX_INT8 (1U << 25)
#define CPUID_7_EDX_AMX      (CPUID_7_EDX_AMX_BF16 | CPUID_7_EDX_AMX_TILE | CPUID_7_EDX_AMX_INT8)
#define XFEATURE_XTILECFG    17
#define XFEATURE_XTILEDATA   18
#define XFEATURE_AMX_MASK    ((1U << XFEATURE_XTILECFG) | (1U << XFEATURE_XTILEDATA))

/* Leaf 01H ECX: TSC-deadline mode of the LAPIC timer. */
#define CPUID_1_ECX_TSC_DEADLINE (1U << 24)

/* Leaf 8000_0001H ECX: SVM (no nested virtualization). */
#define CPUID_80000001_ECX_SVM (1U << 2)

/* Topology level types in leaves 0BH/1FH ECX[15:8]. */
#define TOPO_LEVEL_INVALID 0
#define TOPO_LEVEL_SMT     1
#define TOPO_LEVEL_CORE    2

/* kvmclock and the paravirtual features that live entirely in the kernel. */
#define KVM_FEATURES_KEPT                                                                          \
    ((1U << KVM_FEATURE_CLOCKSOURCE) | (1U << KVM_FEATURE_NOP_IO_DELAY) |                          \
     (1U << KVM_FEATURE_CLOCKSOURCE2) | (1U << KVM_FEATURE_PV_EOI) |                               \
     (1U << KVM_FEATURE_CLOCKSOURCE_STABLE_BIT))

struct kvm_cpuid2 *kvm_cpuid_get_supported(int kvm_fd)
{
    for (unsigned nent = 128; nent <= CPUID_SUPPORTED_MAX; nent *= 2) {
        struct kvm_cpuid2 *c =
            calloc(1, sizeof(*c) + (size_t)nent * sizeof(struct kvm_cpuid_entry2));
        if (!c) {
            log_error("kvm: out of memory for CPUID");
            return NULL;
        }
        c->nent = nent;
        if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, c) == 0)
            return c;
        int err = errno;
        free(c);
        if (err != E2BIG) {
            log_error("kvm: KVM_GET_SUPPORTED_CPUID failed: %s", strerror(err));
            return NULL;
        }
    }
    log_error("kvm: KVM_GET_SUPPORTED_CPUID needs more than %d entries", CPUID_SUPPORTED_MAX);
    return NULL;
}

/* Bits needed to number n things (0 for n <= 1). */
static unsigned id_bits(unsigned n)
{
    unsigned bits = 0;
    while ((1U << bits) < n)
        bits++;
    return bits;
}

/* Leaves 0BH/1FH: subleaf 0 is the SMT level (one thread per core), subleaf 1 the core level
 * (ncpus cores), higher subleaves are invalid. EDX is the vCPU's x2APIC ID. */
static void fill_topology(struct kvm_cpuid_entry2 *e, unsigned index, unsigned ncpus)
{
    unsigned sub = e->index;
    e->flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
    e->edx = index;
    if (sub == 0) {
        e->eax = 0;
        e->ebx = 1;
        e->ecx = (TOPO_LEVEL_SMT << 8) | sub;
    } else if (sub == 1) {
        e->eax = id_bits(ncpus);
        e->ebx = ncpus;
        e->ecx = (TOPO_LEVEL_CORE << 8) | sub;
    } else {
        e->eax = 0;
        e->ebx = 0;
        e->ecx = (TOPO_LEVEL_INVALID << 8) | (sub & 0xFF);
    }
}

static void filter_leaf1(struct kvm_cpuid_entry2 *e, unsigned index, unsigned ncpus)
{
    unsigned logical = ncpus > 255 ? 255 : ncpus;
    e->ebx = (e->ebx & 0x0000FFFFU) | (logical << 16) | ((index & 0xFF) << 24);
    e->ecx = (e->ecx & ~CPUID_1_ECX_MASKED) | CPUID_1_ECX_HYPERV;
    e->edx &= ~CPUID_1_EDX_MASKED;
    if (ncpus > 1)
        e->edx |= CPUID_1_EDX_HTT;
    else
        e->edx &= ~CPUID_1_EDX_HTT;
}

/* Leaf 04H: cores per package in EAX[31:26], threads sharing the cache in EAX[25:14]
 * (L1/L2 private to a core, L3 shared by the package). */
static void filter_leaf4(struct kvm_cpuid_entry2 *e, unsigned ncpus)
{
    if ((e->eax & 0x1F) == 0)
        return; /* no more caches */
    unsigned cores = ncpus > 64 ? 64 : ncpus;
    unsigned level = (e->eax >> 5) & 0x7;
    unsigned sharing = level >= 3 ? ncpus - 1 : 0;
    if (sharing > 0xFFF)
        sharing = 0xFFF;
    e->eax = (e->eax & 0x3FFF) | (sharing << 14) | ((cores - 1) << 26);
}

static void fill_kvm_signature(struct kvm_cpuid_entry2 *e)
{
    static const char sig[12] = "KVMKVMKVM\0\0\0";
    e->eax = KVM_CPUID_FEATURES;
    memcpy(&e->ebx, sig, 4);
    memcpy(&e->ecx, sig + 4, 4);
    memcpy(&e->edx, sig + 8, 4);
}

void kvm_cpuid_filter_entry(struct kvm_cpuid_entry2 *e, unsigned index, unsigned ncpus)
{
    switch (e->function) {
    case 0x1:
        filter_leaf1(e, index, ncpus);
        break;
    case 0x4:
        filter_leaf4(e, ncpus);
        break;
    case 0x7:
        if (e->index == 0) {
            e->ebx &= ~CPUID_7_EBX_SGX;
            e->ecx &= ~(CPUID_7_ECX_WAITPKG | CPUID_7_ECX_SGX_LC);
            e->edx &= ~CPUID_7_EDX_AMX;
        }
        break;
    case 0xD: /* XSAVE: no AMX tile state */
        if (e->index == 0)
            e->eax &= ~XFEATURE_AMX_MASK;
        else if (e->index == XFEATURE_XTILECFG || e->index == XFEATURE_XTILEDATA)
            e->eax = e->ebx = e->ecx = e->edx = 0;
        break;
    case 0x1D:       /* AMX tile information */
    case 0x1E:       /* AMX TMUL information */
    case 0xA:        /* architectural performance monitoring: no PMU */
    case 0x12:       /* SGX */
    case 0x8000000A: /* SVM features */
        e->eax = e->ebx = e->ecx = e->edx = 0;
        break;
    case 0xB:
    case 0x1F:
        fill_topology(e, index, ncpus);
        break;
    case KVM_CPUID_SIGNATURE:
        fill_kvm_signature(e);
        break;
    case KVM_CPUID_FEATURES:
        e->eax &= KVM_FEATURES_KEPT;
        e->ebx = e->ecx = e->edx = 0;
        break;
    case 0x80000001:
        e->ecx &= ~CPUID_80000001_ECX_SVM;
        break;
    case 0x80000008:
        /* NC = cores - 1; ApicIdSize 0 means "derive from NC". */
        e->ecx = (e->ecx & ~0xF0FFU) | ((ncpus - 1) & 0xFF);
        break;
    case 0x8000001E:
        e->eax = index;        /* extended APIC ID */
        e->ebx = index & 0xFF; /* compute unit ID, one thread per unit */
        e->ecx = 0;            /* node 0, one node per package */
        break;
    default:
        break;
    }
}

void kvm_cpuid_set_tsc_deadline(struct kvm_cpuid2 *c)
{
    for (uint32_t i = 0; i < c->nent; i++)
        if (c->entries[i].function == 0x1)
            c->entries[i].ecx |= CPUID_1_ECX_TSC_DEADLINE;
}

static bool is_topology_leaf(uint32_t function)
{
    return function == 0xB || function == 0x1F;
}

/* Appends subleaves 0..2 of a topology leaf so every level the guest walks is defined. */
static void append_topology(struct kvm_cpuid2 *c, uint32_t function, unsigned index, unsigned ncpus)
{
    for (uint32_t sub = 0; sub < 3; sub++) {
        struct kvm_cpuid_entry2 *e = &c->entries[c->nent++];
        memset(e, 0, sizeof(*e));
        e->function = function;
        e->index = sub;
        fill_topology(e, index, ncpus);
    }
}

struct kvm_cpuid2 *kvm_cpuid_build(const struct kvm_cpuid2 *supported, unsigned index,
                                   unsigned ncpus)
{
    if (ncpus == 0 || index >= ncpus) {
        log_error("kvm: CPUID for vCPU %u of %u requested", index, ncpus);
        return NULL;
    }
    /* Room for everything plus 3 subleaves each of 0BH and 1FH. */
    size_t max = (size_t)supported->nent + 6;
    struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + max * sizeof(struct kvm_cpuid_entry2));
    if (!c) {
        log_error("kvm: out of memory for CPUID");
        return NULL;
    }
    bool has_b = false, has_1f = false;
    for (uint32_t i = 0; i < supported->nent; i++) {
        const struct kvm_cpuid_entry2 *src = &supported->entries[i];
        if (is_topology_leaf(src->function)) {
            has_b |= src->function == 0xB;
            has_1f |= src->function == 0x1F;
            continue;
        }
        c->entries[c->nent] = *src;
        kvm_cpuid_filter_entry(&c->entries[c->nent], index, ncpus);
        c->nent++;
    }
    if (has_b)
        append_topology(c, 0xB, index, ncpus);
    if (has_1f)
        append_topology(c, 0x1F, index, ncpus);
    return c;
}
