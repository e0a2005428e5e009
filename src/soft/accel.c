/* The `soft` accelerator (core/accel.h): runs each vCPU on ember's own x86-64 CPU, dispatches
 * port and MMIO accesses to the VM's buses (the local APIC page to the vCPU's own LAPIC), takes
 * interrupts from the userspace LAPIC/IOAPIC/PIC of src/platform, and sleeps in HLT until the
 * LAPIC's wake callback, a timer deadline or a kick. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/vm.h"
#include "platform/lapic.h"
#include "platform/platform.h"
#include "soft/cpu.h"
#include "soft/profile.h"
#include "util/log.h"

#define RUN_SLICE        (1u << 22)  /* instructions between checks of stop_requested */
#define HLT_MAX_WAIT_NS  50000000ULL /* re-check timers at least this often while halted */
#define MSR_APIC_BASE    0x1b
#define MSR_TSC_DEADLINE 0x6e0

struct soft_vm {
    struct soft_code_map *code_map;
};

struct soft_vcpu {
    struct vcpu *vcpu;
    struct soft_cpu *cpu;
    struct lapic *lapic;  /* NULL without the platform irqchip */
    pthread_mutex_t lock; /* guards wake */
    pthread_cond_t cond;
    bool wake;
    bool wait_for_sipi;          /* after INIT (APs start here): halted until a SIPI */
    struct soft_profile profile; /* this vCPU's guest profile (empty unless cfg.profile) */
};

static int soft_probe(char *why, size_t whylen)
{
    return 0; /* always usable */
}

static uint64_t ram_end(const struct guest_mem *mem)
{
    uint64_t end = 0;
    for (unsigned i = 0; i < mem->nregions; i++)
        if (mem->regions[i].gpa + mem->regions[i].size > end)
            end = mem->regions[i].gpa + mem->regions[i].size;
    return end;
}

static int soft_vm_init(struct vm *vm)
{
    struct soft_vm *sv = calloc(1, sizeof(*sv));
    if (!sv)
        return -ENOMEM;
    int r = soft_code_map_create(ram_end(&vm->mem), &sv->code_map);
    if (r < 0) {
        free(sv);
        return r;
    }
    vm->accel_state = sv;
    vm->mem.write_notify = soft_code_map_note_write;
    vm->mem.write_notify_opaque = sv->code_map;
    struct platform_config pc = {.irqchip = true};
    r = platform_create(vm, &pc);
    if (r < 0) {
        log_error("soft: creating the platform interrupt controllers failed");
        vm->mem.write_notify = NULL;
        soft_code_map_destroy(sv->code_map);
        free(sv);
        vm->accel_state = NULL;
        return r;
    }
    return 0;
}

static void soft_vm_destroy(struct vm *vm)
{
    struct soft_vm *sv = vm->accel_state;
    platform_destroy(vm); /* the LAPICs outlive the platform device until here */
    if (!sv)
        return;
    vm->mem.write_notify = NULL;
    soft_code_map_destroy(sv->code_map);
    free(sv);
    vm->accel_state = NULL;
}

/* --- hooks from the CPU (vCPU thread) --- */

static uint64_t h_pio_read(void *opaque, uint16_t port, unsigned size)
{
    struct soft_vcpu *sc = opaque;
    return vm_pio_read(sc->vcpu->vm, port, size);
}

static void h_pio_write(void *opaque, uint16_t port, unsigned size, uint64_t value)
{
    struct soft_vcpu *sc = opaque;
    vm_pio_write(sc->vcpu->vm, port, size, value);
}

static bool is_lapic(struct soft_vcpu *sc, uint64_t gpa)
{
    return sc->lapic && lapic_hw_enabled(sc->lapic) &&
           (gpa & ~0xfffULL) == lapic_mmio_base(sc->lapic);
}

static uint64_t h_mmio_read(void *opaque, uint64_t gpa, unsigned size)
{
    struct soft_vcpu *sc = opaque;
    if (is_lapic(sc, gpa))
        return lapic_mmio_read(sc->lapic, gpa & 0xfff, size);
    return vm_mmio_read(sc->vcpu->vm, gpa, size);
}

static void h_mmio_write(void *opaque, uint64_t gpa, unsigned size, uint64_t value)
{
    struct soft_vcpu *sc = opaque;
    if (is_lapic(sc, gpa)) {
        lapic_mmio_write(sc->lapic, gpa & 0xfff, value, size);
        return;
    }
    vm_mmio_write(sc->vcpu->vm, gpa, size, value);
}

static bool h_irq_pending(void *opaque)
{
    struct soft_vcpu *sc = opaque;
    return sc->lapic && lapic_get_pending_vector(sc->lapic) >= 0;
}

static int h_irq_ack(void *opaque)
{
    struct soft_vcpu *sc = opaque;
    int v = lapic_get_pending_vector(sc->lapic);
    return v < 0 ? -1 : lapic_accept(sc->lapic, v);
}

static bool h_nmi_take(void *opaque)
{
    struct soft_vcpu *sc = opaque;
    return sc->lapic && lapic_take_nmi(sc->lapic);
}

static int h_msr_read(void *opaque, uint32_t msr, uint64_t *value)
{
    struct soft_vcpu *sc = opaque;
    if (!sc->lapic)
        return -1;
    if (msr == MSR_APIC_BASE) {
        *value = lapic_get_base_msr(sc->lapic);
        return 0;
    }
    if (msr == MSR_TSC_DEADLINE) {
        *value = lapic_get_tsc_deadline(sc->lapic);
        return 0;
    }
    return -1;
}

static int h_msr_write(void *opaque, uint32_t msr, uint64_t value)
{
    struct soft_vcpu *sc = opaque;
    if (!sc->lapic)
        return -1;
    if (msr == MSR_APIC_BASE)
        return lapic_set_base_msr(sc->lapic, value) == 0 ? 0 : -1;
    if (msr == MSR_TSC_DEADLINE) {
        lapic_set_tsc_deadline(sc->lapic, value);
        return 0;
    }
    return -1;
}

static uint64_t h_cr8_read(void *opaque)
{
    struct soft_vcpu *sc = opaque;
    return sc->lapic ? lapic_get_cr8(sc->lapic) : 0;
}

static void h_cr8_write(void *opaque, uint64_t value)
{
    struct soft_vcpu *sc = opaque;
    if (sc->lapic)
        lapic_set_cr8(sc->lapic, value);
}

/* LAPIC wake callback: any thread. */
static void on_wake(void *opaque)
{
    struct soft_vcpu *sc = opaque;
    pthread_mutex_lock(&sc->lock);
    sc->wake = true;
    pthread_cond_signal(&sc->cond);
    pthread_mutex_unlock(&sc->lock);
}

static int soft_vcpu_init(struct vcpu *vcpu)
{
    struct vm *vm = vcpu->vm;
    struct soft_vm *sv = vm->accel_state;
    struct soft_vcpu *sc = calloc(1, sizeof(*sc));
    if (!sc)
        return -ENOMEM;
    sc->vcpu = vcpu;
    int r = pthread_mutex_init(&sc->lock, NULL);
    if (r) {
        free(sc);
        return -r;
    }
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    r = pthread_cond_init(&sc->cond, &ca);
    pthread_condattr_destroy(&ca);
    if (r) {
        pthread_mutex_destroy(&sc->lock);
        free(sc);
        return -r;
    }
    sc->lapic = vm->platform ? platform_lapic(vm->platform, vcpu->index) : NULL;
    struct soft_cpu_hooks hooks = {
        .opaque = sc,
        .pio_read = h_pio_read,
        .pio_write = h_pio_write,
        .mmio_read = h_mmio_read,
        .mmio_write = h_mmio_write,
        .irq_pending = h_irq_pending,
        .irq_ack = h_irq_ack,
        .nmi_take = h_nmi_take,
        .msr_read = h_msr_read,
        .msr_write = h_msr_write,
        .cr8_read = h_cr8_read,
        .cr8_write = h_cr8_write,
    };
    struct soft_cpu_config cfg = {
        .clock = &vm->clock,
        .vcpu_index = vcpu->index,
        .ncpus = vm->ncpus,
        .code_map = sv->code_map,
    };
    r = soft_cpu_create(&vm->mem, &cfg, &hooks, &sc->cpu);
    if (r < 0) {
        pthread_cond_destroy(&sc->cond);
        pthread_mutex_destroy(&sc->lock);
        free(sc);
        return r;
    }
    soft_profile_init(&sc->profile);
    if (vm->cfg.profile)
        soft_cpu_set_profile(sc->cpu, &sc->profile);
    sc->wait_for_sipi = vcpu->index > 0 && !vcpu->has_boot_state;
    if (sc->lapic) {
        lapic_set_wake(sc->lapic, on_wake, sc);
        lapic_set_wait_for_sipi(sc->lapic, sc->wait_for_sipi);
    }
    vcpu->accel_state = sc;
    return 0;
}

static void soft_vcpu_destroy(struct vcpu *vcpu)
{
    struct soft_vcpu *sc = vcpu->accel_state;
    if (!sc)
        return;
    if (sc->lapic)
        lapic_set_wake(sc->lapic, NULL, NULL);
    struct soft_cpu_stats st;
    soft_cpu_get_stats(sc->cpu, &st);
    log_debug("soft: vCPU %u: %llu instructions, %llu blocks translated, %llu invalidated, "
              "%llu looked up, %llu TLB misses, %llu TLB flushes, %llu exceptions, %llu interrupts",
              vcpu->index, (unsigned long long)st.instructions,
              (unsigned long long)st.blocks_translated, (unsigned long long)st.blocks_invalidated,
              (unsigned long long)st.block_lookups, (unsigned long long)st.tlb_misses,
              (unsigned long long)st.tlb_flushes, (unsigned long long)st.exceptions,
              (unsigned long long)st.interrupts);
    soft_cpu_destroy(sc->cpu); /* may still fold counts into sc->profile */
    soft_profile_free(&sc->profile);
    pthread_cond_destroy(&sc->cond);
    pthread_mutex_destroy(&sc->lock);
    free(sc);
    vcpu->accel_state = NULL;
}

/* XXX: a machine reset loads the boot state but keeps the x87/SSE state and the MSRs that
 * struct cpu_state does not carry (STAR, LSTAR, kvmclock, ...). */
static int soft_vcpu_set_state(struct vcpu *vcpu, const struct cpu_state *st)
{
    struct soft_vcpu *sc = vcpu->accel_state;
    return soft_cpu_set_state(sc->cpu, st);
}

static int soft_vcpu_get_state(struct vcpu *vcpu, struct cpu_state *st)
{
    struct soft_vcpu *sc = vcpu->accel_state;
    soft_cpu_get_state(sc->cpu, st);
    return 0;
}

/* Sleeps until the LAPIC wakes us, a kick arrives, or the next timer deadline passes. */
static void halt_wait(struct soft_vcpu *sc)
{
    struct vm *vm = sc->vcpu->vm;
    uint64_t now = vclock_ns(&vm->clock);
    uint64_t deadline = sc->lapic ? lapic_next_event_ns(sc->lapic) : UINT64_MAX;
    uint64_t wait_ns = deadline > now ? deadline - now : 0;
    if (wait_ns > HLT_MAX_WAIT_NS)
        wait_ns = HLT_MAX_WAIT_NS;
    pthread_mutex_lock(&sc->lock);
    if (!sc->wake && wait_ns && !atomic_load(&sc->vcpu->stop_requested)) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        uint64_t t = (uint64_t)ts.tv_nsec + wait_ns;
        ts.tv_sec += (time_t)(t / 1000000000ULL);
        ts.tv_nsec = (long)(t % 1000000000ULL);
        pthread_cond_timedwait(&sc->cond, &sc->lock, &ts);
    }
    sc->wake = false;
    pthread_mutex_unlock(&sc->lock);
    if (sc->lapic)
        lapic_poll_timer(sc->lapic);
}

/* The state a SIPI starts a processor in (SDM Vol. 3A 8.4.4.1 and Table 9-1): real mode at
 * CS:IP = (vector << 8):0000. */
static int start_from_sipi(struct soft_vcpu *sc, uint8_t vector)
{
    struct cpu_state st;
    memset(&st, 0, sizeof(st));
    for (unsigned i = 0; i < SEG_COUNT; i++) {
        st.seg[i].limit = 0xffff;
        st.seg[i].type = 3;
        st.seg[i].s = 1;
        st.seg[i].present = 1;
    }
    st.seg[SEG_CS].selector = (uint16_t)(vector << 8);
    st.seg[SEG_CS].base = (uint64_t)vector << 12;
    st.seg[SEG_CS].type = 0xb;
    st.tr.type = 0xb;
    st.tr.present = 1;
    st.tr.limit = 0xffff;
    st.ldt.type = 2;
    st.ldt.present = 1;
    st.ldt.limit = 0xffff;
    st.gdt.limit = 0xffff;
    st.idt.limit = 0x3ff;
    st.rflags = RFLAGS_FIXED1;
    st.cr0 = CR0_ET;
    st.gpr[GPR_RDX] = 0x600;
    st.apic_base = sc->lapic ? lapic_get_base_msr(sc->lapic) : 0;
    return soft_cpu_set_state(sc->cpu, &st);
}

/* INIT and SIPI from the LAPIC (application processor start-up). */
static int handle_startup(struct soft_vcpu *sc)
{
    uint8_t vec;
    switch (lapic_take_startup(sc->lapic, &vec)) {
    case LAPIC_STARTUP_INIT:
        sc->wait_for_sipi = true;
        lapic_set_wait_for_sipi(sc->lapic, true);
        return 0;
    case LAPIC_STARTUP_SIPI:
        if (!sc->wait_for_sipi)
            return 0;
        sc->wait_for_sipi = false;
        lapic_set_wait_for_sipi(sc->lapic, false);
        return start_from_sipi(sc, vec);
    default:
        return 0;
    }
}

static enum vcpu_exit soft_vcpu_run(struct vcpu *vcpu)
{
    struct soft_vcpu *sc = vcpu->accel_state;
    for (;;) {
        if (atomic_load(&vcpu->stop_requested))
            return VCPU_EXIT_STOP;
        if (sc->lapic && handle_startup(sc) < 0) {
            log_error("soft: vCPU %u: cannot start from SIPI", vcpu->index);
            return VCPU_EXIT_ERROR;
        }
        if (sc->wait_for_sipi) {
            halt_wait(sc);
            continue;
        }
        switch (soft_cpu_run(sc->cpu, RUN_SLICE)) {
        case SOFT_EXIT_BUDGET:
        case SOFT_EXIT_KICK:
            break;
        case SOFT_EXIT_HLT:
            halt_wait(sc);
            break;
        case SOFT_EXIT_SHUTDOWN:
            return VCPU_EXIT_SHUTDOWN;
        case SOFT_EXIT_EXCEPTION:
        case SOFT_EXIT_ERROR:
        default:
            log_error("soft: vCPU %u stopped on an internal error", vcpu->index);
            return VCPU_EXIT_ERROR;
        }
    }
}

static void soft_vcpu_kick(struct vcpu *vcpu)
{
    struct soft_vcpu *sc = vcpu->accel_state;
    if (!sc)
        return;
    soft_cpu_kick(sc->cpu);
    on_wake(sc);
}

static int soft_set_irq_line(struct vm *vm, unsigned gsi, bool level)
{
    return platform_set_irq(vm->platform, gsi, level);
}

static int soft_signal_msi(struct vm *vm, uint64_t address, uint32_t data)
{
    return platform_signal_msi(vm->platform, address, data);
}

/* Every vCPU is stopped: their blocks and profiles are this thread's to read. */
static int soft_vm_profile_write(struct vm *vm, FILE *f)
{
    struct soft_profile all;
    soft_profile_init(&all);
    int r = 0;
    for (unsigned i = 0; i < vm->ncpus && r == 0; i++) {
        struct soft_vcpu *sc = vm->vcpus[i].accel_state;
        if (!sc)
            continue;
        soft_cpu_profile_collect(sc->cpu);
        r = soft_profile_merge(&all, &sc->profile);
    }
    if (r == 0)
        r = soft_profile_write(&all, f);
    soft_profile_free(&all);
    return r;
}

const struct accel_ops soft_accel_ops = {
    .name = "soft",
    .probe = soft_probe,
    .vm_init = soft_vm_init,
    .vm_destroy = soft_vm_destroy,
    .vcpu_init = soft_vcpu_init,
    .vcpu_destroy = soft_vcpu_destroy,
    .vcpu_set_state = soft_vcpu_set_state,
    .vcpu_get_state = soft_vcpu_get_state,
    .vcpu_run = soft_vcpu_run,
    .vcpu_kick = soft_vcpu_kick,
    .set_irq_line = soft_set_irq_line,
    .signal_msi = soft_signal_msi,
    .profile_write = soft_vm_profile_write,
};
