/* timerfd-based host timers for the platform devices (timerfd_create(2), absolute
 * CLOCK_MONOTONIC deadlines derived from the VM's vclock). */
#include "platform/host_timer.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "core/event_loop.h"
#include "core/vclock.h"
#include "util/log.h"

static void on_expiry(void *opaque, uint32_t events)
{
    struct host_timer *t = opaque;
    uint64_t n;
    /* Non-blocking: a re-arm between the wake-up and this read leaves nothing to read. */
    if (read(t->fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
        log_warn("host timer: read: %s", strerror(errno));
    t->fn(t->opaque);
}

int host_timer_init(struct host_timer *t, struct event_loop *loop, const struct vclock *clock,
                    host_timer_fn fn, void *opaque)
{
    t->loop = NULL;
    t->clock = clock;
    t->fn = fn;
    t->opaque = opaque;
    t->fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
    if (t->fd < 0) {
        int e = errno;
        log_error("timerfd_create: %s", strerror(e));
        return -e;
    }
    if (loop) {
        int rc = event_loop_add(loop, t->fd, EPOLLIN, on_expiry, t);
        if (rc < 0) {
            log_error("host timer: event_loop_add: %s", strerror(-rc));
            close(t->fd);
            t->fd = -1;
            return rc;
        }
        t->loop = loop;
    }
    return 0;
}

void host_timer_destroy(struct host_timer *t)
{
    if (t->fd < 0)
        return;
    if (t->loop)
        event_loop_del(t->loop, t->fd);
    close(t->fd);
    t->fd = -1;
}

void host_timer_arm(struct host_timer *t, uint64_t deadline_ns)
{
    struct itimerspec its;
    memset(&its, 0, sizeof(its));
    if (deadline_ns != UINT64_MAX) {
        uint64_t host = t->clock->base_ns + deadline_ns;
        if (host == 0)
            host = 1; /* 0 would disarm */
        its.it_value.tv_sec = (time_t)(host / 1000000000ULL);
        its.it_value.tv_nsec = (long)(host % 1000000000ULL);
    }
    if (timerfd_settime(t->fd, TFD_TIMER_ABSTIME, &its, NULL) < 0)
        log_error("host timer: timerfd_settime: %s", strerror(errno));
}

void host_timer_arm_cb(void *opaque, uint64_t deadline_ns)
{
    host_timer_arm(opaque, deadline_ns);
}
