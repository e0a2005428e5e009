/* The VMM's epoll event loop: host file descriptors (console input, timers, eventfds, sockets)
 * and their callbacks. Runs on the VMM main thread; add/del are safe from any thread. */
#ifndef EMBER_CORE_EVENT_LOOP_H
#define EMBER_CORE_EVENT_LOOP_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

typedef void (*event_cb)(void *opaque, uint32_t events);

struct event_handler; /* one per watched fd */

struct event_loop {
    int epfd;
    int wake_fd;                    /* eventfd that interrupts a wait */
    pthread_mutex_t lock;           /* guards the handler list */
    struct event_handler *handlers; /* live and dead handlers; dead ones freed after dispatch */
};

int event_loop_init(struct event_loop *loop);
void event_loop_destroy(struct event_loop *loop);
/* Watches fd for events (EPOLLIN, ...); cb runs on the loop thread. -EEXIST if already watched. */
int event_loop_add(struct event_loop *loop, int fd, uint32_t events, event_cb cb, void *opaque);
/* Stops watching fd; its callback is not called after this returns on the loop thread. */
int event_loop_del(struct event_loop *loop, int fd);
/* Waits up to timeout_ms (-1: forever) and dispatches ready handlers. Returns the number
 * dispatched, 0 on timeout or wake-up, -errno on failure. */
int event_loop_run_once(struct event_loop *loop, int timeout_ms);
/* From any thread: make a pending event_loop_run_once return. */
void event_loop_wake(struct event_loop *loop);

#endif
