/* The VM's virtual clock: guest time in nanoseconds since VM creation (CLOCK_MONOTONIC based)
 * and a virtual TSC at a fixed frequency derived from it. Used by the soft CPU (RDTSC, kvmclock),
 * the LAPIC TSC-deadline timer and the platform timers, so they all agree. */
#ifndef EMBER_CORE_VCLOCK_H
#define EMBER_CORE_VCLOCK_H

#include <stdint.h>
#include <time.h>

struct vclock {
    uint64_t base_ns; /* host CLOCK_MONOTONIC at VM creation */
    uint64_t tsc_hz;  /* advertised TSC frequency */
};

static inline uint64_t vclock_host_ns(void)
{
    struct timespec ts;
    /* CLOCK_MONOTONIC cannot fail with a valid pointer. */
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static inline void vclock_init(struct vclock *c, uint64_t tsc_hz)
{
    c->base_ns = vclock_host_ns();
    c->tsc_hz = tsc_hz;
}

/* Guest nanoseconds since VM creation. */
static inline uint64_t vclock_ns(const struct vclock *c)
{
    return vclock_host_ns() - c->base_ns;
}

static inline uint64_t vclock_ns_to_tsc(const struct vclock *c, uint64_t ns)
{
    return (uint64_t)(((unsigned __int128)ns * c->tsc_hz) / 1000000000ULL);
}

static inline uint64_t vclock_tsc_to_ns(const struct vclock *c, uint64_t tsc)
{
    return (uint64_t)(((unsigned __int128)tsc * 1000000000ULL) / c->tsc_hz);
}

static inline uint64_t vclock_tsc(const struct vclock *c)
{
    return vclock_ns_to_tsc(c, vclock_ns(c));
}

#define VCLOCK_DEFAULT_TSC_HZ 2000000000ULL /* 2 GHz */

#endif
