/* A one-shot host timer (timerfd on CLOCK_MONOTONIC) watched by the VM's event loop, armed with
 * deadlines in vclock nanoseconds. The platform's timers (LAPIC, PIT, RTC) use it so they fire
 * on time even while every vCPU is halted. */
#ifndef EMBER_PLATFORM_HOST_TIMER_H
#define EMBER_PLATFORM_HOST_TIMER_H

#include <stdint.h>

struct event_loop;
struct vclock;

typedef void (*host_timer_fn)(void *opaque);

struct host_timer {
    int fd;
    struct event_loop *loop;
    const struct vclock *clock;
    host_timer_fn fn; /* runs on the event loop thread */
    void *opaque;
};

/* Creates the timerfd and adds it to loop (loop may be NULL: then the timer never fires and
 * the owner polls). Returns 0 or -errno (logged). */
int host_timer_init(struct host_timer *t, struct event_loop *loop, const struct vclock *clock,
                    host_timer_fn fn, void *opaque);
void host_timer_destroy(struct host_timer *t);
/* Arms for vclock time deadline_ns (UINT64_MAX: disarm). Any thread. */
void host_timer_arm(struct host_timer *t, uint64_t deadline_ns);
/* timer_arm-style adapter: opaque is the struct host_timer. */
void host_timer_arm_cb(void *opaque, uint64_t deadline_ns);

#endif
