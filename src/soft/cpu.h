/* Public API of ember's soft x86-64 CPU: one interpreted vCPU over a struct guest_mem, with
 * everything outside RAM (ports, MMIO, interrupts, unknown MSRs) reached through a small hooks
 * struct. Usable without a struct vm (unit tests, the host-vs-soft differential tester).
 *
 * How a test harness runs a snippet of 64-bit code:
 *   1. guest_mem_init(&gm, 16 * MiB) and write the code at, say, 0x100000.
 *   2. Build flat identity-mapped 4-level page tables in guest RAM yourself (e.g. PML4 at
 *      0x1000 -> PDPT at 0x2000 -> PD at 0x3000 with 2 MiB pages, P|RW|US|PS bits set).
 *   3. soft_cpu_create(&gm, &cfg, &cpu) with cfg.exceptions_exit = true so that an exception
 *      stops the run (SOFT_EXIT_EXCEPTION, details in soft_cpu_last_exception) instead of being
 *      delivered through the (absent) IDT.
 *   4. soft_cpu_set_state with: cr0 = PE|PG|ET|NE|WP, cr4 = PAE (|OSFXSR|OSXMMEXCPT for SSE),
 *      cr3 = 0x1000, efer = LME|LMA|NXE|SCE, CS = {selector 0x8, type 0xb, s 1, present 1, l 1},
 *      DS/ES/SS = {selector 0x10, type 0x3, s 1, present 1}, rip = 0x100000, rsp somewhere in RAM,
 *      rflags = 0x2. Optionally soft_cpu_set_ext_state for x87/SSE registers.
 *   5. End the snippet with HLT and call soft_cpu_run(cpu, budget): it returns SOFT_EXIT_HLT
 *      with rip after the HLT. Read registers back with soft_cpu_get_state (flags are
 *      materialised, never lazy, in what it returns).
 *
 * Threading: one soft_cpu is used by one thread at a time; soft_cpu_kick may be called from any
 * thread. Several soft_cpus may share one guest_mem (SMP); LOCKed instructions are atomic on
 * host memory. */
#ifndef EMBER_SOFT_CPU_H
#define EMBER_SOFT_CPU_H

#include <stdbool.h>
#include <stdint.h>

#include "core/cpu_state.h"
#include "core/guest_mem.h"
#include "core/vclock.h"

struct soft_cpu;
struct soft_code_map;

/* Everything outside guest RAM. Any hook may be NULL: then port reads return all-ones, port
 * writes are dropped, MMIO reads return all-ones, MMIO writes are dropped, no interrupt is ever
 * pending, and unknown MSRs raise #GP. Hooks run on the calling thread of soft_cpu_run. */
struct soft_cpu_hooks {
    void *opaque;
    uint64_t (*pio_read)(void *opaque, uint16_t port, unsigned size);
    void (*pio_write)(void *opaque, uint16_t port, unsigned size, uint64_t value);
    /* Guest-physical accesses that are not RAM (size 1, 2, 4 or 8). */
    uint64_t (*mmio_read)(void *opaque, uint64_t gpa, unsigned size);
    void (*mmio_write)(void *opaque, uint64_t gpa, unsigned size, uint64_t value);
    /* Is a maskable external interrupt pending (checked when RFLAGS.IF=1 and no STI/MOV SS
     * shadow)? Must be cheap: called at every block boundary. */
    bool (*irq_pending)(void *opaque);
    /* Interrupt acknowledge: returns the vector to deliver (0..255), or -1 if the interrupt
     * went away meanwhile. */
    int (*irq_ack)(void *opaque);
    /* Is a non-maskable interrupt pending? If it returns true the NMI is consumed. */
    bool (*nmi_take)(void *opaque);
    /* MSRs the CPU does not implement itself (x2APIC range, TSC_DEADLINE 0x6e0, ...):
     * return 0 on success or -1 to make the instruction raise #GP(0). */
    int (*msr_read)(void *opaque, uint32_t msr, uint64_t *value);
    int (*msr_write)(void *opaque, uint32_t msr, uint64_t value);
    /* CR8 (task priority) lives in the local APIC when there is one; NULL: plain storage. */
    uint64_t (*cr8_read)(void *opaque);
    void (*cr8_write)(void *opaque, uint64_t value);
};

struct soft_cpu_config {
    const struct vclock *clock; /* RDTSC and kvmclock time source; NULL: a private clock */
    unsigned vcpu_index;        /* initial APIC ID, CPUID leaf 1/0xb */
    unsigned ncpus;             /* CPUID topology */
    /* Test mode: an exception stops soft_cpu_run with SOFT_EXIT_EXCEPTION (rip left at the
     * faulting instruction, nothing pushed) instead of being delivered through the IDT. */
    bool exceptions_exit;
    /* Blocks shared between vCPUs of one VM (NULL: private). Created with soft_code_map_create.
     * Writes that bypass the soft CPUs (devices, loaders) reach it only if the guest_mem's
     * write_notify is soft_code_map_note_write on this map: install it with a shared map. */
    struct soft_code_map *code_map;
};

/* Why soft_cpu_run returned. */
enum soft_exit {
    SOFT_EXIT_BUDGET,    /* max_instructions executed (approximately: checked between blocks) */
    SOFT_EXIT_HLT,       /* HLT executed with no interrupt deliverable; rip is after the HLT */
    SOFT_EXIT_KICK,      /* soft_cpu_kick was called */
    SOFT_EXIT_EXCEPTION, /* exceptions_exit mode only: see soft_cpu_last_exception */
    SOFT_EXIT_SHUTDOWN,  /* triple fault */
    SOFT_EXIT_ERROR,     /* internal error (logged); the CPU state is unreliable */
};

/* The exception that stopped a run in exceptions_exit mode. */
struct soft_exception {
    uint8_t vector;
    bool has_error_code;
    uint32_t error_code;
    uint64_t cr2; /* for #PF */
    uint64_t rip; /* of the faulting instruction (for traps like INT3: the next one) */
};

/* x87/MMX/SSE state in the architectural FXSAVE layout (Intel SDM Vol. 1, 10.5.1, Table 10-2):
 * FCW at 0, FSW at 2, abridged FTW at 4, MXCSR at 24, ST0..7/MM0..7 at 32 (16 bytes each),
 * XMM0..15 at 160. */
struct soft_fpu_state {
    _Alignas(16) uint8_t fxsave[512];
};

/* MSRs not in struct cpu_state. */
struct soft_msrs {
    uint64_t star, lstar, cstar, sfmask;
    uint64_t kernel_gs_base;
    uint64_t tsc_offset; /* guest TSC = vclock TSC + tsc_offset (IA32_TSC writes adjust it) */
    uint64_t tsc_aux;
    uint64_t pat;
    uint64_t misc_enable;
    uint64_t spec_ctrl; /* IA32_SPEC_CTRL (IBRS only; no effect on a CPU that does not speculate) */
    uint64_t sysenter_cs, sysenter_esp, sysenter_eip;
    uint64_t mtrr_def_type;
    uint64_t mtrr_fixed[11];
    uint64_t mtrr_var[16];    /* base/mask pairs 0x200..0x20f */
    uint64_t kvm_system_time; /* MSR 0x4b564d01 (bit 0: enable) */
    uint64_t kvm_wall_clock;  /* MSR 0x4b564d00 (last written address) */
};

struct soft_ext_state {
    struct soft_fpu_state fpu;
    struct soft_msrs msrs;
    uint64_t dr[8]; /* DR0..3, (4, 5 unused), DR6, DR7 */
    uint64_t xcr0;
};

/* Shared code map for the vCPUs of one VM: which guest-physical pages hold translated code.
 * ram_end: highest guest-physical RAM address + 1. Returns 0 or -errno. */
int soft_code_map_create(uint64_t ram_end, struct soft_code_map **out);
void soft_code_map_destroy(struct soft_code_map *map);
/* Drops translated code on the pages of [gpa, gpa+len): for writes that bypass the soft CPUs
 * (devices, loaders). Matches guest_mem_write_fn, opaque being the code map; any thread. */
void soft_code_map_note_write(void *map, uint64_t gpa, uint64_t len);

/* Creates a CPU in the architectural reset state (or whatever set_state loads later).
 * mem and hooks must outlive the CPU. Returns 0 or -errno. */
int soft_cpu_create(const struct guest_mem *mem, const struct soft_cpu_config *cfg,
                    const struct soft_cpu_hooks *hooks, struct soft_cpu **out);
void soft_cpu_destroy(struct soft_cpu *cpu);

/* Architectural state. set_state validates the state (returns -EINVAL with a log message for
 * a combination the CPU cannot run, e.g. long mode without paging) and flushes the TLB. */
int soft_cpu_set_state(struct soft_cpu *cpu, const struct cpu_state *st);
void soft_cpu_get_state(struct soft_cpu *cpu, struct cpu_state *st);
int soft_cpu_set_ext_state(struct soft_cpu *cpu, const struct soft_ext_state *ext);
void soft_cpu_get_ext_state(struct soft_cpu *cpu, struct soft_ext_state *ext);

/* Executes up to about max_instructions instructions. */
enum soft_exit soft_cpu_run(struct soft_cpu *cpu, uint64_t max_instructions);
/* The exception behind the last SOFT_EXIT_EXCEPTION. */
void soft_cpu_last_exception(const struct soft_cpu *cpu, struct soft_exception *exc);

/* From any thread: make a running soft_cpu_run return SOFT_EXIT_KICK at the next block boundary.
 * A kick that arrives while the CPU is not running makes the next run return at once. */
void soft_cpu_kick(struct soft_cpu *cpu);

/* Is the CPU halted (HLT executed, waiting for an interrupt)? soft_cpu_run on a halted CPU
 * returns SOFT_EXIT_HLT at once unless an interrupt or NMI is deliverable. */
bool soft_cpu_halted(const struct soft_cpu *cpu);

/* Invalidates translated code for [gpa, gpa+len): call after a device writes guest RAM that
 * may hold code (DMA). The CPU also checks translated code against RAM, so this is an
 * optimisation, not a requirement. */
void soft_cpu_invalidate_code(struct soft_cpu *cpu, uint64_t gpa, uint64_t len);

/* Counters for benchmarks and tests. */
struct soft_cpu_stats {
    uint64_t instructions;
    uint64_t blocks_translated;
    uint64_t blocks_invalidated;
    uint64_t block_lookups; /* blocks found neither by chaining nor in the linear cache */
    uint64_t tlb_misses;
    uint64_t tlb_flushes; /* CR3 writes, INVLPG and the like (each drops chains too) */
    uint64_t exceptions;
    uint64_t interrupts;
};
void soft_cpu_get_stats(const struct soft_cpu *cpu, struct soft_cpu_stats *stats);

/* Guest profile (ember run --profile, soft/profile.h). Every translated block counts the
 * guest instructions completed in it; with a profile set, a block's count goes into it when
 * the block is freed, and soft_cpu_profile_collect adds the live blocks' counts (and zeroes
 * them), so that prof holds every instruction completed since it was set. prof is the
 * caller's and must outlive its use; on the vCPU's thread, or while the CPU is stopped. */
struct soft_profile;
void soft_cpu_set_profile(struct soft_cpu *cpu, struct soft_profile *prof);
void soft_cpu_profile_collect(struct soft_cpu *cpu);

#endif
