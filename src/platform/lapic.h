/* The local APIC of one vCPU, in userspace (xAPIC MMIO mode; Intel SDM vol. 3A chapter 10
 * "Advanced Programmable Interrupt Controller"): IRR/ISR/TMR, TPR/PPR, EOI, the LVT, the timer
 * (one-shot, periodic, TSC-deadline), IPIs through the ICR (fixed, lowest priority, NMI, INIT,
 * SIPI) and the ExtINT path from the 8259 PIC (LINT0 in virtual-wire mode).
 *
 * How the soft accelerator uses it (all calls on the vCPU's own thread unless noted):
 *  - platform_lapic(vm->platform, index) gives the LAPIC of a vCPU (see platform.h); call
 *    lapic_set_wake() once in vcpu_init.
 *  - Accesses to the physical page [lapic_mmio_base(), +4 KiB) from this vCPU go to
 *    lapic_mmio_read/write (the LAPIC is per-CPU, so it is not on the shared MMIO bus), while
 *    lapic_hw_enabled() is true.
 *  - Between blocks and when RFLAGS.IF=1 and no interrupt shadow: v = lapic_get_pending_vector();
 *    if v >= 0: v = lapic_accept(l, v); if v >= 0 deliver vector v through the IDT.
 *  - lapic_take_nmi() / lapic_take_startup() for NMI and INIT/SIPI (checked regardless of IF).
 *  - HLT: sleep until the wake callback runs (or lapic_next_event_ns() passes, optional: the
 *    platform also fires the timer from a timerfd on the VM's event loop, so a halted vCPU is
 *    woken on time even if the accelerator only waits for the callback).
 *  - MSRs: IA32_APIC_BASE -> lapic_get/set_base_msr, IA32_TSC_DEADLINE ->
 * lapic_get/set_tsc_deadline; CR8 -> lapic_get/set_cr8. Interrupts arrive from any thread (IOAPIC,
 * MSIs, IPIs, timers); state is guarded by a per-LAPIC mutex, and the wake callback is called
 * without it held. */
#ifndef EMBER_PLATFORM_LAPIC_H
#define EMBER_PLATFORM_LAPIC_H

#include <stdbool.h>
#include <stdint.h>

struct lapic;
struct vclock;
struct pic8259;

/* Called from any thread when something becomes pending for this LAPIC's vCPU (a deliverable
 * interrupt, NMI, INIT or SIPI). Must be cheap and must not call back into the LAPIC. */
typedef void (*lapic_wake_fn)(void *opaque);

/* Called (without the LAPIC lock) when the timer deadline changes, so the owner can re-arm a
 * host timer. deadline_ns is in vclock nanoseconds; UINT64_MAX means "no timer". */
typedef void (*lapic_timer_arm_fn)(void *opaque, uint64_t deadline_ns);

/* What a LAPIC needs from the rest of the platform: the clock, the other LAPICs (for IPIs),
 * the PIC (for ExtINT) and the hook that re-arms its host timer. */
struct lapic_bus {
    const struct vclock *clock;
    struct lapic **lapics; /* all LAPICs of the VM, indexed by APIC ID == vCPU index */
    unsigned nlapics;
    struct pic8259 *pic; /* may be NULL: no ExtINT source */
    lapic_timer_arm_fn timer_arm;
    void *timer_arm_opaque;
};

/* Timer input clock: the bus clock the divide configuration divides (1 GHz: 1 tick = 1 ns). */
#define LAPIC_BUS_HZ 1000000000ULL

/* Creates the LAPIC of vCPU `id` (APIC ID = id); bsp marks the bootstrap processor. The bus
 * must outlive the LAPIC. Returns NULL on allocation failure (logged). */
struct lapic *lapic_create(const struct lapic_bus *bus, unsigned id, bool bsp);
void lapic_destroy(struct lapic *l);
/* Power-on / RESET state (SDM 10.4.7.1): also clears APIC_BASE back to enabled at the default
 * base. INIT (via IPI) uses the same state except APIC_BASE and APIC ID are kept. */
void lapic_reset(struct lapic *l);

void lapic_set_wake(struct lapic *l, lapic_wake_fn fn, void *opaque);
unsigned lapic_id(const struct lapic *l);

/* MMIO registers; offset is from the APIC base (0..0xFFF). Unaligned or non-32-bit accesses
 * to registers are handled as the SDM says software must not do: reads return 0, writes are
 * ignored, both logged at debug level. */
uint64_t lapic_mmio_read(struct lapic *l, uint64_t offset, unsigned size);
void lapic_mmio_write(struct lapic *l, uint64_t offset, uint64_t value, unsigned size);

/* IA32_APIC_BASE MSR (0x1B). set returns 0, or -EINVAL for a value the guest may not write
 * (reserved bits, x2APIC enable: the caller raises #GP). */
uint64_t lapic_get_base_msr(struct lapic *l);
int lapic_set_base_msr(struct lapic *l, uint64_t value);
/* Physical address of the APIC page, and whether the APIC is hardware-enabled (base MSR bit 11). */
uint64_t lapic_mmio_base(struct lapic *l);
bool lapic_hw_enabled(struct lapic *l);

/* CR8 (TPR[7:4]). */
uint64_t lapic_get_cr8(struct lapic *l);
void lapic_set_cr8(struct lapic *l, uint64_t value);

/* IA32_TSC_DEADLINE MSR (0x6E0), in virtual TSC ticks (vclock). Writing 0 disarms. Writes are
 * ignored unless the timer LVT is in TSC-deadline mode (SDM 10.5.4.1). */
uint64_t lapic_get_tsc_deadline(struct lapic *l);
void lapic_set_tsc_deadline(struct lapic *l, uint64_t tsc);

/* The highest-priority interrupt the CPU should take now (its vector 16..255), or -1: the
 * highest IRR vector whose priority class is above the PPR, or the PIC's vector when an ExtINT
 * is pending. Does not check RFLAGS.IF (the caller does). Cheap when nothing is pending. */
int lapic_get_pending_vector(struct lapic *l);
/* Acknowledges vector (from lapic_get_pending_vector): IRR->ISR for fixed interrupts, INTA on
 * the PIC for ExtINT. Returns the vector to deliver (which for ExtINT may differ, e.g. a PIC
 * spurious IRQ7/15), or -1 if nothing is to be delivered any more. */
int lapic_accept(struct lapic *l, int vector);

/* Consumes a pending NMI. */
bool lapic_take_nmi(struct lapic *l);

/* INIT/SIPI for application processors (SDM 8.4.4). After INIT the CPU is reset and waits for a
 * SIPI (the accelerator keeps the vCPU halted; INIT also resets this LAPIC's registers). A SIPI
 * only counts while the CPU waits for one; it starts the CPU in real mode at CS:IP =
 * (vector << 8):0000. */
enum lapic_startup {
    LAPIC_STARTUP_NONE,
    LAPIC_STARTUP_INIT, /* reset the CPU and wait for SIPI */
    LAPIC_STARTUP_SIPI, /* *vector holds the start page (CS selector = vector << 8) */
};
enum lapic_startup lapic_take_startup(struct lapic *l, uint8_t *vector);
/* The accelerator says whether the vCPU is in wait-for-SIPI state (APs start there: call
 * lapic_set_wait_for_sipi(l, true) for index > 0 without a boot state). */
void lapic_set_wait_for_sipi(struct lapic *l, bool waiting);

/* Timers: fires the timer if its deadline (vclock ns) has passed. Called by the platform's
 * timerfd handler; the accelerator may also call it (e.g. after a timed HLT wait). */
void lapic_poll_timer(struct lapic *l);
/* Next timer deadline in vclock ns, or UINT64_MAX. */
uint64_t lapic_next_event_ns(struct lapic *l);

/* Delivery from the interrupt router and other LAPICs (any thread). */
enum lapic_delivery {
    LAPIC_DM_FIXED = 0,
    LAPIC_DM_LOWEST = 1,
    LAPIC_DM_SMI = 2,
    LAPIC_DM_NMI = 4,
    LAPIC_DM_INIT = 5,
    LAPIC_DM_SIPI = 6,
    LAPIC_DM_EXTINT = 7,
};
/* Raises vector with the given delivery mode on this LAPIC. level_trig marks a level-triggered
 * interrupt (sets TMR, so the EOI is broadcast to the IOAPIC). Returns false if the APIC is
 * disabled and the interrupt was dropped. */
bool lapic_deliver(struct lapic *l, enum lapic_delivery mode, uint8_t vector, bool level_trig);
/* Destination matching (SDM 10.6.2): does this LAPIC accept destination dest in physical
 * (logical=false) or logical (flat/cluster per DFR) mode? 0xFF physical is broadcast. */
bool lapic_match_dest(struct lapic *l, uint8_t dest, bool logical);
/* Priority used for lowest-priority arbitration (the PPR). */
uint8_t lapic_arb_priority(struct lapic *l);

/* Called by the LAPIC on EOI of a level-triggered vector: the IOAPIC clears Remote IRR. */
typedef void (*lapic_eoi_fn)(void *opaque, uint8_t vector);
void lapic_set_eoi_hook(struct lapic *l, lapic_eoi_fn fn, void *opaque);

/* The PIC's INTR output changed (virtual wire via LINT0). Any thread. */
void lapic_extint_changed(struct lapic *l);

#endif
