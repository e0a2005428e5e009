/* Local APIC in xAPIC mode (Intel SDM vol. 3A chapter 10): registers (10.4), LVT (10.5.1),
 * timer incl. TSC-deadline mode (10.5.4), IPIs (10.6), priorities TPR/PPR (10.8.3), EOI (10.8.5)
 * and the ExtINT virtual wire from the 8259 PIC. */
#include "platform/lapic.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/cpu_state.h"
#include "core/memmap.h"
#include "core/vclock.h"
#include "platform/pic8259.h"
#include "util/log.h"

/* Register offsets (SDM table 10-1). */
#define APIC_ID        0x020
#define APIC_VERSION   0x030
#define APIC_TPR       0x080
#define APIC_APR       0x090
#define APIC_PPR       0x0A0
#define APIC_EOI       0x0B0
#define APIC_RRD       0x0C0
#define APIC_LDR       0x0D0
#define APIC_DFR       0x0E0
#define APIC_SVR       0x0F0
#define APIC_ISR       0x100
#define APIC_TMR       0x180
#define APIC_IRR       0x200
#define APIC_ESR       0x280
#define APIC_ICR_LO    0x300
#define APIC_ICR_HI    0x310
#define APIC_LVT_TIMER 0x320
#define APIC_LVT_LINT1 0x360
#define APIC_LVT_ERROR 0x370
#define APIC_TMICT     0x380
#define APIC_TMCCT     0x390
#define APIC_TDCR      0x3E0

/* LVT indices, in register order from 0x320. */
enum { LVT_TIMER, LVT_THERMAL, LVT_PERF, LVT_LINT0, LVT_LINT1, LVT_ERROR, LVT_COUNT };

#define APIC_VERSION_VALUE ((uint32_t)(LVT_COUNT - 1) << 16 | 0x14)

#define LVT_VECTOR_MASK      0xFFu
#define LVT_DM_SHIFT         8
#define LVT_DM_MASK          (7u << LVT_DM_SHIFT)
#define LVT_LEVEL            (1u << 15)
#define LVT_MASKED           (1u << 16)
#define LVT_TIMER_MODE_SHIFT 17
#define LVT_TIMER_MODE_MASK  (3u << LVT_TIMER_MODE_SHIFT)
#define TIMER_ONESHOT        0
#define TIMER_PERIODIC       1
#define TIMER_TSCDEADLINE    2

#define SVR_ENABLE (1u << 8)

#define ICR_DM_SHIFT        8
#define ICR_DEST_LOGICAL    (1u << 11)
#define ICR_LEVEL_ASSERT    (1u << 14)
#define ICR_TRIGGER_LEVEL   (1u << 15)
#define ICR_SHORTHAND_SHIFT 18
#define ICR_WRITABLE        0x000CCFFFu

#define ESR_ILLEGAL_RECEIVED (1u << 6)
#define ESR_ILLEGAL_SEND     (1u << 5)

#define APIC_BASE_ADDR_MASK 0x000FFFFFFFFFF000ULL
#define APIC_BASE_X2APIC    (1ULL << 10)

/* Writable bits of each LVT register (SDM figure 10-8). */
static const uint32_t lvt_writable[LVT_COUNT] = {
    [LVT_TIMER] = 0x000710FFu, [LVT_THERMAL] = 0x000107FFu, [LVT_PERF] = 0x000107FFu,
    [LVT_LINT0] = 0x0001A7FFu, [LVT_LINT1] = 0x0001A7FFu,   [LVT_ERROR] = 0x000100FFu,
};

struct lapic {
    pthread_mutex_t lock; /* guards every field below except those marked otherwise */
    const struct lapic_bus *bus;
    unsigned id;
    bool bsp;
    uint64_t base_msr;
    uint32_t tpr, ldr, dfr, svr, esr, icr_lo, icr_hi;
    uint32_t lvt[LVT_COUNT];
    uint32_t irr[8], isr[8], tmr[8];
    /* Timer: the current count was loaded with tmict at timer_start_ns. */
    uint32_t tmict, tdcr;
    uint64_t timer_start_ns;
    uint64_t timer_deadline_ns; /* UINT64_MAX: not armed */
    uint64_t tsc_deadline;
    atomic_bool nmi_pending; /* written under lock; read lock-free by the vCPU's fast path */
    bool init_pending;
    bool sipi_pending;
    uint8_t sipi_vector;
    bool wait_sipi;
    atomic_bool maybe_pending; /* IRR non-empty (lock-free hint for the vCPU's fast path) */
    lapic_wake_fn wake;
    void *wake_opaque;
    lapic_eoi_fn eoi;
    void *eoi_opaque;
    pthread_mutex_t arm_lock; /* serialises host-timer re-arming so the newest deadline wins */
    uint64_t armed_ns;        /* guarded by arm_lock */
};

static bool vec_test(const uint32_t *bm, unsigned v)
{
    return (bm[v / 32] >> (v % 32)) & 1;
}

static void vec_set(uint32_t *bm, unsigned v)
{
    bm[v / 32] |= 1u << (v % 32);
}

static void vec_clear(uint32_t *bm, unsigned v)
{
    bm[v / 32] &= ~(1u << (v % 32));
}

/* Highest set vector in a 256-bit map, or -1. */
static int vec_highest(const uint32_t *bm)
{
    for (int i = 7; i >= 0; i--)
        if (bm[i])
            return i * 32 + 31 - __builtin_clz(bm[i]);
    return -1;
}

static uint32_t ppr_locked(const struct lapic *l)
{
    int isrv = vec_highest(l->isr);
    uint32_t isr_class = isrv < 0 ? 0 : (uint32_t)isrv & 0xF0;
    if ((l->tpr & 0xF0) >= isr_class)
        return l->tpr & 0xFF;
    return isr_class;
}

static bool sw_enabled(const struct lapic *l)
{
    return l->svr & SVR_ENABLE;
}

static bool hw_enabled(const struct lapic *l)
{
    return l->base_msr & APIC_BASE_ENABLE;
}

static uint64_t now_ns(const struct lapic *l)
{
    return vclock_ns(l->bus->clock);
}

static void wake(struct lapic *l)
{
    if (l->wake)
        l->wake(l->wake_opaque);
}

/* ---- timer ---- */

static unsigned timer_mode(const struct lapic *l)
{
    return (l->lvt[LVT_TIMER] & LVT_TIMER_MODE_MASK) >> LVT_TIMER_MODE_SHIFT;
}

/* Divide configuration (SDM figure 10-10): bits 0,1,3 encode 2,4,...,128 and 1. */
static uint64_t timer_divisor(const struct lapic *l)
{
    unsigned idx = (l->tdcr & 3) | ((l->tdcr >> 1) & 4);
    return idx == 7 ? 1 : 2ULL << idx;
}

/* Nanoseconds per timer count at the current divisor. */
static uint64_t ns_per_count(const struct lapic *l)
{
    return timer_divisor(l) * (1000000000ULL / LAPIC_BUS_HZ);
}

static uint64_t timer_period_ns(const struct lapic *l)
{
    return (uint64_t)l->tmict * ns_per_count(l);
}

/* XXX: a periodic timer is never faster than this, so a guest cannot make the VMM spin. */
#define LAPIC_MIN_PERIOD_NS 10000ULL

static void timer_start_locked(struct lapic *l, uint64_t now)
{
    l->timer_start_ns = now;
    if (l->tmict == 0 || timer_mode(l) == TIMER_TSCDEADLINE) {
        l->timer_deadline_ns = UINT64_MAX;
        return;
    }
    uint64_t period = timer_period_ns(l);
    if (timer_mode(l) == TIMER_PERIODIC && period < LAPIC_MIN_PERIOD_NS)
        period = LAPIC_MIN_PERIOD_NS;
    l->timer_deadline_ns = now + period;
}

static uint32_t timer_current_count_locked(const struct lapic *l, uint64_t now)
{
    if (l->tmict == 0 || timer_mode(l) == TIMER_TSCDEADLINE)
        return 0;
    if (l->timer_deadline_ns == UINT64_MAX || now >= l->timer_deadline_ns)
        return 0;
    uint64_t left = l->timer_deadline_ns - now;
    uint64_t counts = (left + ns_per_count(l) - 1) / ns_per_count(l);
    return counts > l->tmict ? l->tmict : (uint32_t)counts;
}

static bool accept_fixed_locked(struct lapic *l, uint8_t vector, bool level_trig)
{
    if (vector < 16) {
        l->esr |= ESR_ILLEGAL_RECEIVED;
        return false;
    }
    vec_set(l->irr, vector);
    if (level_trig)
        vec_set(l->tmr, vector);
    else
        vec_clear(l->tmr, vector);
    atomic_store(&l->maybe_pending, true);
    return true;
}

/* Raises the timer interrupt and computes the next deadline. Returns true if the IRR changed. */
static bool timer_fire_locked(struct lapic *l, uint64_t now)
{
    uint32_t lvt = l->lvt[LVT_TIMER];
    bool raised = false;
    if (!(lvt & LVT_MASKED))
        raised = accept_fixed_locked(l, lvt & LVT_VECTOR_MASK, false);

    switch (timer_mode(l)) {
    case TIMER_PERIODIC: {
        uint64_t period = timer_period_ns(l);
        if (period < LAPIC_MIN_PERIOD_NS)
            period = LAPIC_MIN_PERIOD_NS;
        uint64_t next = l->timer_deadline_ns + period;
        /* XXX: missed periods are coalesced into this one interrupt. */
        if (next <= now)
            next = now + period - (now - l->timer_deadline_ns) % period;
        l->timer_start_ns = next - period;
        l->timer_deadline_ns = next;
        break;
    }
    case TIMER_TSCDEADLINE:
        l->tsc_deadline = 0;
        l->timer_deadline_ns = UINT64_MAX;
        break;
    default:
        l->timer_deadline_ns = UINT64_MAX;
        break;
    }
    return raised;
}

static uint64_t next_event_locked(const struct lapic *l)
{
    if (timer_mode(l) == TIMER_TSCDEADLINE) {
        if (l->tsc_deadline == 0)
            return UINT64_MAX;
        return vclock_tsc_to_ns(l->bus->clock, l->tsc_deadline);
    }
    return l->timer_deadline_ns;
}

uint64_t lapic_next_event_ns(struct lapic *l)
{
    pthread_mutex_lock(&l->lock);
    uint64_t d = next_event_locked(l);
    pthread_mutex_unlock(&l->lock);
    return d;
}

/* Tells the host-timer owner the newest deadline; the deadline is re-read under arm_lock so
 * concurrent re-arms (vCPU thread vs event loop) cannot leave a stale one behind. */
static void rearm(struct lapic *l)
{
    if (!l->bus->timer_arm)
        return;
    pthread_mutex_lock(&l->arm_lock);
    uint64_t d = lapic_next_event_ns(l);
    if (d != l->armed_ns) {
        l->armed_ns = d;
        l->bus->timer_arm(l->bus->timer_arm_opaque, d);
    }
    pthread_mutex_unlock(&l->arm_lock);
}

void lapic_poll_timer(struct lapic *l)
{
    bool raised = false;
    pthread_mutex_lock(&l->lock);
    uint64_t now = now_ns(l);
    uint64_t d = next_event_locked(l);
    if (d != UINT64_MAX && now >= d) {
        if (timer_mode(l) == TIMER_TSCDEADLINE)
            l->timer_deadline_ns = d;
        raised = timer_fire_locked(l, now);
    }
    pthread_mutex_unlock(&l->lock);
    if (raised)
        wake(l);
    rearm(l);
}

uint64_t lapic_get_tsc_deadline(struct lapic *l)
{
    pthread_mutex_lock(&l->lock);
    uint64_t v = timer_mode(l) == TIMER_TSCDEADLINE ? l->tsc_deadline : 0;
    pthread_mutex_unlock(&l->lock);
    return v;
}

void lapic_set_tsc_deadline(struct lapic *l, uint64_t tsc)
{
    pthread_mutex_lock(&l->lock);
    bool deadline_mode = timer_mode(l) == TIMER_TSCDEADLINE;
    if (deadline_mode)
        l->tsc_deadline = tsc;
    pthread_mutex_unlock(&l->lock);
    if (!deadline_mode)
        return;
    /* A deadline in the past fires at once. */
    lapic_poll_timer(l);
}

/* ---- reset, creation ---- */

static void reset_registers_locked(struct lapic *l)
{
    l->tpr = 0;
    l->ldr = 0;
    l->dfr = 0xFFFFFFFFu;
    l->svr = 0xFF;
    l->esr = 0;
    l->icr_lo = l->icr_hi = 0;
    for (unsigned i = 0; i < LVT_COUNT; i++)
        l->lvt[i] = LVT_MASKED;
    memset(l->irr, 0, sizeof(l->irr));
    memset(l->isr, 0, sizeof(l->isr));
    memset(l->tmr, 0, sizeof(l->tmr));
    l->tmict = 0;
    l->tdcr = 0;
    l->timer_start_ns = 0;
    l->timer_deadline_ns = UINT64_MAX;
    l->tsc_deadline = 0;
    atomic_store(&l->maybe_pending, false);
}

void lapic_reset(struct lapic *l)
{
    pthread_mutex_lock(&l->lock);
    reset_registers_locked(l);
    l->base_msr = MEMMAP_LAPIC_BASE | APIC_BASE_ENABLE | (l->bsp ? APIC_BASE_BSP : 0);
    /* What firmware leaves behind on a PC: virtual-wire mode on the BSP (PIC through LINT0 as
     * ExtINT, NMI on LINT1; MP spec 3.6.2.2). */
    if (l->bsp) {
        l->lvt[LVT_LINT0] = (uint32_t)LAPIC_DM_EXTINT << LVT_DM_SHIFT;
        l->lvt[LVT_LINT1] = (uint32_t)LAPIC_DM_NMI << LVT_DM_SHIFT;
    }
    atomic_store(&l->nmi_pending, false);
    l->init_pending = l->sipi_pending = false;
    l->wait_sipi = !l->bsp;
    pthread_mutex_unlock(&l->lock);
    rearm(l);
}

struct lapic *lapic_create(const struct lapic_bus *bus, unsigned id, bool bsp)
{
    struct lapic *l = calloc(1, sizeof(*l));
    if (!l) {
        log_error("lapic %u: out of memory", id);
        return NULL;
    }
    int rc = pthread_mutex_init(&l->lock, NULL);
    if (rc == 0) {
        rc = pthread_mutex_init(&l->arm_lock, NULL);
        if (rc != 0)
            pthread_mutex_destroy(&l->lock);
    }
    if (rc != 0) {
        log_error("lapic %u: pthread_mutex_init: %s", id, strerror(rc));
        free(l);
        return NULL;
    }
    l->bus = bus;
    l->id = id;
    l->bsp = bsp;
    l->armed_ns = UINT64_MAX;
    lapic_reset(l);
    return l;
}

void lapic_destroy(struct lapic *l)
{
    if (!l)
        return;
    pthread_mutex_destroy(&l->arm_lock);
    pthread_mutex_destroy(&l->lock);
    free(l);
}

void lapic_set_wake(struct lapic *l, lapic_wake_fn fn, void *opaque)
{
    pthread_mutex_lock(&l->lock);
    l->wake = fn;
    l->wake_opaque = opaque;
    pthread_mutex_unlock(&l->lock);
}

void lapic_set_eoi_hook(struct lapic *l, lapic_eoi_fn fn, void *opaque)
{
    pthread_mutex_lock(&l->lock);
    l->eoi = fn;
    l->eoi_opaque = opaque;
    pthread_mutex_unlock(&l->lock);
}

unsigned lapic_id(const struct lapic *l)
{
    return l->id;
}

/* ---- MSRs, CR8 ---- */

uint64_t lapic_get_base_msr(struct lapic *l)
{
    pthread_mutex_lock(&l->lock);
    uint64_t v = l->base_msr;
    pthread_mutex_unlock(&l->lock);
    return v;
}

int lapic_set_base_msr(struct lapic *l, uint64_t value)
{
    uint64_t allowed = APIC_BASE_ADDR_MASK | APIC_BASE_ENABLE | APIC_BASE_BSP;
    /* Guest value: reserved bits and x2APIC (not offered in CPUID) are refused with #GP. */
    if (value & ~allowed)
        return -EINVAL;
    pthread_mutex_lock(&l->lock);
    bool was_enabled = hw_enabled(l);
    /* The BSP flag is read-only. */
    l->base_msr = (value & ~APIC_BASE_BSP) | (l->base_msr & APIC_BASE_BSP);
    if ((l->base_msr & APIC_BASE_ADDR_MASK) != MEMMAP_LAPIC_BASE)
        log_warn("lapic %u: guest moved the APIC page to %#llx (honoured for this vCPU only)",
                 l->id, (unsigned long long)(l->base_msr & APIC_BASE_ADDR_MASK));
    if (was_enabled && !hw_enabled(l)) {
        /* Hardware disable (SDM 10.4.3): the APIC goes to its power-up state. */
        reset_registers_locked(l);
    }
    pthread_mutex_unlock(&l->lock);
    rearm(l);
    return 0;
}

uint64_t lapic_mmio_base(struct lapic *l)
{
    return lapic_get_base_msr(l) & APIC_BASE_ADDR_MASK;
}

bool lapic_hw_enabled(struct lapic *l)
{
    return lapic_get_base_msr(l) & APIC_BASE_ENABLE;
}

uint64_t lapic_get_cr8(struct lapic *l)
{
    pthread_mutex_lock(&l->lock);
    uint64_t v = (l->tpr >> 4) & 0xF;
    pthread_mutex_unlock(&l->lock);
    return v;
}

void lapic_set_cr8(struct lapic *l, uint64_t value)
{
    pthread_mutex_lock(&l->lock);
    l->tpr = (uint32_t)(value & 0xF) << 4;
    bool pending = atomic_load(&l->maybe_pending);
    pthread_mutex_unlock(&l->lock);
    if (pending)
        wake(l);
}

/* ---- interrupt acceptance ---- */

static bool accepts_extint_locked(const struct lapic *l)
{
    if (!l->bus->pic || !l->bsp)
        return false;
    if (!hw_enabled(l))
        return true; /* APIC off: the PIC's INTR goes straight to the CPU */
    uint32_t lint0 = l->lvt[LVT_LINT0];
    return !(lint0 & LVT_MASKED) &&
           ((lint0 & LVT_DM_MASK) >> LVT_DM_SHIFT) == (uint32_t)LAPIC_DM_EXTINT;
}

static bool extint_pending(struct lapic *l)
{
    if (!l->bus->pic || !l->bsp || !pic8259_has_intr(l->bus->pic))
        return false;
    pthread_mutex_lock(&l->lock);
    bool ok = accepts_extint_locked(l);
    pthread_mutex_unlock(&l->lock);
    return ok;
}

static int deliverable_locked(const struct lapic *l)
{
    int v = vec_highest(l->irr);
    if (v < 0)
        return -1;
    if (((uint32_t)v & 0xF0) <= (ppr_locked(l) & 0xF0))
        return -1;
    return v;
}

int lapic_get_pending_vector(struct lapic *l)
{
    if (extint_pending(l)) {
        int v = pic8259_peek_vector(l->bus->pic);
        if (v >= 0)
            return v;
    }
    if (!atomic_load(&l->maybe_pending))
        return -1;
    pthread_mutex_lock(&l->lock);
    int v = deliverable_locked(l);
    pthread_mutex_unlock(&l->lock);
    return v;
}

int lapic_accept(struct lapic *l, int vector)
{
    if (extint_pending(l))
        return pic8259_intack(l->bus->pic);
    if (vector < 16 || vector > 255)
        return -1;
    pthread_mutex_lock(&l->lock);
    int v = deliverable_locked(l);
    if (v == vector) {
        vec_clear(l->irr, (unsigned)v);
        vec_set(l->isr, (unsigned)v);
        atomic_store(&l->maybe_pending, vec_highest(l->irr) >= 0);
    } else {
        v = -1;
    }
    pthread_mutex_unlock(&l->lock);
    return v;
}

bool lapic_take_nmi(struct lapic *l)
{
    if (!atomic_load_explicit(&l->nmi_pending, memory_order_acquire))
        return false;
    return atomic_exchange(&l->nmi_pending, false);
}

enum lapic_startup lapic_take_startup(struct lapic *l, uint8_t *vector)
{
    enum lapic_startup r = LAPIC_STARTUP_NONE;
    pthread_mutex_lock(&l->lock);
    if (l->init_pending) {
        l->init_pending = false;
        /* INIT keeps APIC ID and APIC_BASE (SDM 10.4.7.3); a SIPI that already arrived stays. */
        reset_registers_locked(l);
        l->wait_sipi = true;
        r = LAPIC_STARTUP_INIT;
    } else if (l->sipi_pending) {
        l->sipi_pending = false;
        l->wait_sipi = false;
        *vector = l->sipi_vector;
        r = LAPIC_STARTUP_SIPI;
    }
    pthread_mutex_unlock(&l->lock);
    if (r == LAPIC_STARTUP_INIT)
        rearm(l);
    return r;
}

void lapic_set_wait_for_sipi(struct lapic *l, bool waiting)
{
    pthread_mutex_lock(&l->lock);
    l->wait_sipi = waiting;
    pthread_mutex_unlock(&l->lock);
}

bool lapic_deliver(struct lapic *l, enum lapic_delivery mode, uint8_t vector, bool level_trig)
{
    bool notify = false;
    pthread_mutex_lock(&l->lock);
    if (!hw_enabled(l) && mode != LAPIC_DM_INIT) {
        pthread_mutex_unlock(&l->lock);
        return false;
    }
    switch (mode) {
    case LAPIC_DM_FIXED:
    case LAPIC_DM_LOWEST:
        /* A software-disabled APIC drops fixed interrupts (SDM 10.4.7.2). */
        if (sw_enabled(l))
            notify = accept_fixed_locked(l, vector, level_trig);
        break;
    case LAPIC_DM_NMI:
        atomic_store(&l->nmi_pending, true);
        notify = true;
        break;
    case LAPIC_DM_INIT:
        l->init_pending = true;
        l->sipi_pending = false;
        l->wait_sipi = true;
        notify = true;
        break;
    case LAPIC_DM_SIPI:
        /* Only a CPU waiting for SIPI reacts; later SIPIs are ignored (SDM 8.4.4.1). */
        if (l->wait_sipi && !l->sipi_pending) {
            l->sipi_pending = true;
            l->sipi_vector = vector;
            notify = true;
        }
        break;
    case LAPIC_DM_EXTINT:
        notify = true; /* the vector comes from the PIC at INTA */
        break;
    case LAPIC_DM_SMI: /* XXX: no SMM; SMIs are dropped */
    default:
        log_debug("lapic %u: delivery mode %d ignored", l->id, (int)mode);
        break;
    }
    pthread_mutex_unlock(&l->lock);
    if (notify)
        wake(l);
    return notify;
}

void lapic_extint_changed(struct lapic *l)
{
    if (extint_pending(l))
        wake(l);
}

bool lapic_match_dest(struct lapic *l, uint8_t dest, bool logical)
{
    pthread_mutex_lock(&l->lock);
    bool match;
    if (!logical) {
        match = dest == 0xFF || dest == (uint8_t)l->id;
    } else if (dest == 0xFF) {
        match = true;
    } else {
        uint8_t ldr = (uint8_t)(l->ldr >> 24);
        if ((l->dfr >> 28) == 0xF) /* flat model */
            match = (ldr & dest) != 0;
        else /* cluster model */
            match = (ldr >> 4) == (dest >> 4) && (ldr & dest & 0xF) != 0;
    }
    pthread_mutex_unlock(&l->lock);
    return match;
}

uint8_t lapic_arb_priority(struct lapic *l)
{
    pthread_mutex_lock(&l->lock);
    uint8_t p = (uint8_t)ppr_locked(l);
    pthread_mutex_unlock(&l->lock);
    return p;
}

/* ---- IPIs ---- */

struct ipi {
    enum lapic_delivery mode;
    uint8_t vector;
    uint8_t dest;
    bool logical;
    unsigned shorthand;
    bool level_trig;
    bool assert;
};

static void send_ipi(struct lapic *self, const struct ipi *ipi)
{
    const struct lapic_bus *bus = self->bus;
    /* INIT level de-assert (ICR level=0, trigger=level) is a no-op on modern CPUs. */
    if (ipi->mode == LAPIC_DM_INIT && ipi->level_trig && !ipi->assert)
        return;
    struct lapic *lowest = NULL;
    uint8_t lowest_prio = 0xFF;
    for (unsigned i = 0; i < bus->nlapics; i++) {
        struct lapic *t = bus->lapics[i];
        if (!t)
            continue;
        bool match;
        switch (ipi->shorthand) {
        case 1:
            match = t == self;
            break;
        case 2:
            match = true;
            break;
        case 3:
            match = t != self;
            break;
        default:
            match = lapic_match_dest(t, ipi->dest, ipi->logical);
            break;
        }
        if (!match)
            continue;
        if (ipi->mode == LAPIC_DM_LOWEST && ipi->shorthand == 0) {
            uint8_t p = lapic_arb_priority(t);
            if (!lowest || p < lowest_prio) {
                lowest = t;
                lowest_prio = p;
            }
            continue;
        }
        lapic_deliver(t, ipi->mode, ipi->vector, ipi->level_trig);
    }
    if (lowest)
        lapic_deliver(lowest, ipi->mode, ipi->vector, ipi->level_trig);
}

/* ---- EOI ---- */

static void do_eoi(struct lapic *l)
{
    bool level = false;
    int v;
    pthread_mutex_lock(&l->lock);
    v = vec_highest(l->isr);
    if (v >= 0) {
        vec_clear(l->isr, (unsigned)v);
        level = vec_test(l->tmr, (unsigned)v);
    }
    bool pending = atomic_load(&l->maybe_pending);
    lapic_eoi_fn eoi = l->eoi;
    void *eoi_opaque = l->eoi_opaque;
    pthread_mutex_unlock(&l->lock);
    if (level && eoi)
        eoi(eoi_opaque, (uint8_t)v);
    if (pending)
        wake(l);
}

/* ---- MMIO ---- */

static uint32_t read_reg_locked(struct lapic *l, uint32_t reg)
{
    switch (reg) {
    case APIC_ID:
        return l->id << 24;
    case APIC_VERSION:
        return APIC_VERSION_VALUE;
    case APIC_TPR:
        return l->tpr;
    case APIC_APR:
        return 0;
    case APIC_PPR:
        return ppr_locked(l);
    case APIC_LDR:
        return l->ldr;
    case APIC_DFR:
        return l->dfr;
    case APIC_SVR:
        return l->svr;
    case APIC_ESR:
        return l->esr;
    case APIC_ICR_LO:
        return l->icr_lo; /* delivery status always idle */
    case APIC_ICR_HI:
        return l->icr_hi;
    case APIC_TMICT:
        return l->tmict;
    case APIC_TMCCT:
        return timer_current_count_locked(l, now_ns(l));
    case APIC_TDCR:
        return l->tdcr;
    default:
        break;
    }
    if (reg >= APIC_ISR && reg < APIC_ISR + 0x80)
        return l->isr[(reg - APIC_ISR) / 16];
    if (reg >= APIC_TMR && reg < APIC_TMR + 0x80)
        return l->tmr[(reg - APIC_TMR) / 16];
    if (reg >= APIC_IRR && reg < APIC_IRR + 0x80)
        return l->irr[(reg - APIC_IRR) / 16];
    if (reg >= APIC_LVT_TIMER && reg <= APIC_LVT_ERROR)
        return l->lvt[(reg - APIC_LVT_TIMER) / 16];
    return 0;
}

uint64_t lapic_mmio_read(struct lapic *l, uint64_t offset, unsigned size)
{
    /* Guest-controlled offset/size: only the low dword of a 16-byte register is backed. */
    if (offset >= 0x1000 || (offset & 0xF) + size > 4) {
        log_debug("lapic %u: unsupported read at %#llx size %u", l->id, (unsigned long long)offset,
                  size);
        return 0;
    }
    pthread_mutex_lock(&l->lock);
    uint32_t v = read_reg_locked(l, (uint32_t)(offset & ~0xFULL));
    pthread_mutex_unlock(&l->lock);
    v >>= (offset & 3) * 8;
    if (size < 4)
        v &= (1u << (size * 8)) - 1;
    return v;
}

static void write_lvt_locked(struct lapic *l, unsigned idx, uint32_t value, uint64_t now)
{
    uint32_t v = value & lvt_writable[idx];
    if (!sw_enabled(l))
        v |= LVT_MASKED;
    if (idx == LVT_TIMER) {
        unsigned old_mode = timer_mode(l);
        l->lvt[idx] = v;
        if (timer_mode(l) == 3) /* reserved mode: treat as one-shot */
            l->lvt[idx] &= ~LVT_TIMER_MODE_MASK;
        if (timer_mode(l) != old_mode) {
            /* Switching between TSC-deadline and count modes disarms the timer (SDM 10.5.4.1). */
            l->tmict = 0;
            l->tsc_deadline = 0;
            l->timer_deadline_ns = UINT64_MAX;
        }
        (void)now;
        return;
    }
    l->lvt[idx] = v;
}

void lapic_mmio_write(struct lapic *l, uint64_t offset, uint64_t value, unsigned size)
{
    /* Guest-controlled: registers are written as aligned dwords only (SDM 10.4.1). */
    if (offset >= 0x1000 || (offset & 0xF) != 0 || size != 4) {
        log_debug("lapic %u: unsupported write at %#llx size %u", l->id, (unsigned long long)offset,
                  size);
        return;
    }
    uint32_t reg = (uint32_t)offset;
    uint32_t v = (uint32_t)value;
    struct ipi ipi;
    bool send = false, timer_changed = false, notify = false;

    if (reg == APIC_EOI) {
        do_eoi(l);
        return;
    }

    pthread_mutex_lock(&l->lock);
    uint64_t now = now_ns(l);
    switch (reg) {
    case APIC_ID:
        /* XXX: APIC IDs are fixed to the vCPU index; guest writes are ignored. */
        break;
    case APIC_TPR:
        l->tpr = v & 0xFF;
        notify = true;
        break;
    case APIC_LDR:
        l->ldr = v & 0xFF000000u;
        break;
    case APIC_DFR:
        l->dfr = v | 0x0FFFFFFFu;
        break;
    case APIC_SVR:
        l->svr = v & 0x11FF;
        if (!sw_enabled(l)) {
            for (unsigned i = 0; i < LVT_COUNT; i++)
                l->lvt[i] |= LVT_MASKED;
        }
        notify = true;
        break;
    case APIC_ESR:
        /* A write latches the errors; we report them directly, so it clears them. */
        l->esr = 0;
        break;
    case APIC_ICR_HI:
        l->icr_hi = v & 0xFF000000u;
        break;
    case APIC_ICR_LO:
        l->icr_lo = v & ICR_WRITABLE;
        ipi.mode = (enum lapic_delivery)((v >> ICR_DM_SHIFT) & 7);
        ipi.vector = (uint8_t)v;
        ipi.dest = (uint8_t)(l->icr_hi >> 24);
        ipi.logical = v & ICR_DEST_LOGICAL;
        ipi.shorthand = (v >> ICR_SHORTHAND_SHIFT) & 3;
        ipi.level_trig = v & ICR_TRIGGER_LEVEL;
        ipi.assert = v & ICR_LEVEL_ASSERT;
        if ((ipi.mode == LAPIC_DM_FIXED || ipi.mode == LAPIC_DM_LOWEST) && ipi.vector < 16)
            l->esr |= ESR_ILLEGAL_SEND;
        else
            send = true;
        break;
    case APIC_TMICT:
        if (timer_mode(l) != TIMER_TSCDEADLINE) {
            l->tmict = v;
            timer_start_locked(l, now);
            timer_changed = true;
        }
        break;
    case APIC_TDCR:
        l->tdcr = v & 0xB;
        break;
    default:
        if (reg >= APIC_LVT_TIMER && reg <= APIC_LVT_ERROR) {
            write_lvt_locked(l, (reg - APIC_LVT_TIMER) / 16, v, now);
            timer_changed = reg == APIC_LVT_TIMER;
            notify = reg == APIC_LVT_TIMER + 0x30; /* LINT0 unmasked: ExtINT may be pending */
        } else {
            log_debug("lapic %u: write to read-only/reserved register %#x", l->id, reg);
        }
        break;
    }
    bool pending = atomic_load(&l->maybe_pending);
    pthread_mutex_unlock(&l->lock);

    if (send)
        send_ipi(l, &ipi);
    if (timer_changed)
        rearm(l);
    if (notify && (pending || extint_pending(l)))
        wake(l);
}
