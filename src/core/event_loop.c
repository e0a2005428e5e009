/* epoll event loop for host file descriptors. Handlers are heap objects referenced from epoll;
 * a removed handler is marked dead and freed only by the loop thread after dispatch, so a
 * callback never runs on freed memory. */
#include "core/event_loop.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "util/log.h"

struct event_handler {
    struct event_handler *next;
    int fd;
    bool dead;
    event_cb cb;
    void *opaque;
};

#define EVENT_BATCH 32

int event_loop_init(struct event_loop *loop)
{
    memset(loop, 0, sizeof(*loop));
    loop->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (loop->epfd < 0) {
        int e = errno;
        log_error("epoll_create1: %s", strerror(e));
        return -e;
    }
    loop->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (loop->wake_fd < 0) {
        int e = errno;
        log_error("eventfd: %s", strerror(e));
        close(loop->epfd);
        return -e;
    }
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, loop->wake_fd, &ev) < 0) {
        int e = errno;
        log_error("epoll_ctl(wake fd): %s", strerror(e));
        close(loop->wake_fd);
        close(loop->epfd);
        return -e;
    }
    int r = pthread_mutex_init(&loop->lock, NULL);
    if (r != 0) {
        close(loop->wake_fd);
        close(loop->epfd);
        return -r;
    }
    return 0;
}

void event_loop_destroy(struct event_loop *loop)
{
    struct event_handler *h = loop->handlers;
    while (h) {
        struct event_handler *next = h->next;
        free(h);
        h = next;
    }
    close(loop->wake_fd);
    close(loop->epfd);
    pthread_mutex_destroy(&loop->lock);
    memset(loop, 0, sizeof(*loop));
    loop->epfd = loop->wake_fd = -1;
}

int event_loop_add(struct event_loop *loop, int fd, uint32_t events, event_cb cb, void *opaque)
{
    struct event_handler *h = calloc(1, sizeof(*h));
    if (!h)
        return -ENOMEM;
    h->fd = fd;
    h->cb = cb;
    h->opaque = opaque;
    struct epoll_event ev = {.events = events, .data.ptr = h};
    pthread_mutex_lock(&loop->lock);
    if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
        int e = errno;
        pthread_mutex_unlock(&loop->lock);
        free(h);
        return -e; /* the caller knows what the fd is and reports it */
    }
    h->next = loop->handlers;
    loop->handlers = h;
    pthread_mutex_unlock(&loop->lock);
    return 0;
}

int event_loop_del(struct event_loop *loop, int fd)
{
    pthread_mutex_lock(&loop->lock);
    struct event_handler *h;
    for (h = loop->handlers; h; h = h->next)
        if (h->fd == fd && !h->dead)
            break;
    if (!h) {
        pthread_mutex_unlock(&loop->lock);
        return -ENOENT;
    }
    h->dead = true;
    int r = epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL) < 0 ? -errno : 0;
    pthread_mutex_unlock(&loop->lock);
    return r;
}

/* Frees handlers marked dead. Only on the loop thread, when no dispatch is in progress. */
static void reap_dead(struct event_loop *loop)
{
    pthread_mutex_lock(&loop->lock);
    struct event_handler **pp = &loop->handlers;
    while (*pp) {
        struct event_handler *h = *pp;
        if (h->dead) {
            *pp = h->next;
            free(h);
        } else {
            pp = &h->next;
        }
    }
    pthread_mutex_unlock(&loop->lock);
}

int event_loop_run_once(struct event_loop *loop, int timeout_ms)
{
    struct epoll_event evs[EVENT_BATCH];
    int n = epoll_wait(loop->epfd, evs, EVENT_BATCH, timeout_ms);
    if (n < 0) {
        if (errno == EINTR)
            return 0;
        int e = errno;
        log_error("epoll_wait: %s", strerror(e));
        return -e;
    }
    int dispatched = 0;
    for (int i = 0; i < n; i++) {
        struct event_handler *h = evs[i].data.ptr;
        if (!h) {
            uint64_t v;
            /* Drain the wake-up counter; EAGAIN just means another wake raced us. */
            if (read(loop->wake_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
                log_warn("reading wake eventfd: %s", strerror(errno));
            continue;
        }
        pthread_mutex_lock(&loop->lock);
        bool dead = h->dead;
        pthread_mutex_unlock(&loop->lock);
        if (dead)
            continue;
        h->cb(h->opaque, evs[i].events);
        dispatched++;
    }
    reap_dead(loop);
    return dispatched;
}

void event_loop_wake(struct event_loop *loop)
{
    uint64_t one = 1;
    /* EAGAIN means the counter is saturated: a wake-up is already pending. */
    if (write(loop->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
        log_warn("waking event loop: %s", strerror(errno));
}
