/* User-mode networking through libslirp: the guest gets 10.0.2.15 by DHCP on 10.0.2.0/24
 * (gateway 10.0.2.2, DNS 10.0.2.3) and reaches the outside through ordinary host sockets; hostfwd
 * rules make guest ports reachable from the host. libslirp is not thread-safe, so one thread
 * owns it: it polls slirp's sockets, runs its timers, and feeds it the frames the guest sent
 * (queued by send() from any thread). Frames for the guest leave through be->rx on that thread. */
#include "net/net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <slirp/libslirp.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "util/log.h"

#define SLIRP_TXQ_MAX     512 /* guest frames waiting for the slirp thread */
#define SLIRP_FRAME_MAX   NET_FRAME_MAX
#define SLIRP_POLL_CAP_MS 1000

struct slirp_frame {
    struct slirp_frame *next;
    size_t len;
    uint8_t data[];
};

struct slirp_timer {
    struct slirp_timer *next;
    SlirpTimerCb cb;
    void *cb_opaque;
    int64_t expire_ms; /* -1: not armed */
};

struct slirp_backend {
    struct net_backend be;
    Slirp *slirp;
    pthread_t thread;
    bool thread_started;
    atomic_bool stop;
    int wake_fd;
    /* Frames from the guest; txq_lock is a leaf lock. */
    pthread_mutex_t txq_lock;
    struct slirp_frame *txq_head, *txq_tail;
    unsigned txq_len;
    /* Owned by the slirp thread (and by the opener before the thread starts). */
    struct slirp_timer *timers;
    struct pollfd *pfds;
    unsigned npfds, pfds_cap;
};

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* ---- libslirp callbacks (slirp thread) ---- */

static ssize_t cb_send_packet(const void *buf, size_t len, void *opaque)
{
    struct slirp_backend *s = opaque;
    /* libslirp's contract: a frame the guest cannot take is dropped; TCP retransmits. */
    if (s->be.rx)
        (void)s->be.rx(s->be.rx_opaque, buf, len);
    return (ssize_t)len;
}

static void cb_guest_error(const char *msg, void *opaque)
{
    log_debug("slirp: guest error: %s", msg);
}

static int64_t cb_clock_get_ns(void *opaque)
{
    return now_ns();
}

static void *cb_timer_new(SlirpTimerCb cb, void *cb_opaque, void *opaque)
{
    struct slirp_backend *s = opaque;
    struct slirp_timer *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL; /* libslirp copes with a missing timer by not retrying */
    t->cb = cb;
    t->cb_opaque = cb_opaque;
    t->expire_ms = -1;
    t->next = s->timers;
    s->timers = t;
    return t;
}

static void cb_timer_free(void *timer, void *opaque)
{
    struct slirp_backend *s = opaque;
    for (struct slirp_timer **p = &s->timers; *p; p = &(*p)->next) {
        if (*p == timer) {
            *p = ((struct slirp_timer *)timer)->next;
            free(timer);
            return;
        }
    }
}

static void cb_timer_mod(void *timer, int64_t expire_ms, void *opaque)
{
    if (timer)
        ((struct slirp_timer *)timer)->expire_ms = expire_ms;
}

static void cb_register_poll_fd(int fd, void *opaque)
{
}

static void cb_unregister_poll_fd(int fd, void *opaque)
{
}

static void wake(struct slirp_backend *s)
{
    uint64_t one = 1;
    if (write(s->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
        log_debug("slirp: wake: %s", strerror(errno));
}

static void cb_notify(void *opaque)
{
    wake(opaque);
}

static const SlirpCb slirp_callbacks = {
    .send_packet = cb_send_packet,
    .guest_error = cb_guest_error,
    .clock_get_ns = cb_clock_get_ns,
    .timer_new = cb_timer_new,
    .timer_free = cb_timer_free,
    .timer_mod = cb_timer_mod,
    .register_poll_fd = cb_register_poll_fd,
    .unregister_poll_fd = cb_unregister_poll_fd,
    .notify = cb_notify,
};

/* ---- poll set ---- */

static short to_poll_events(int ev)
{
    short e = 0;
    if (ev & SLIRP_POLL_IN)
        e |= POLLIN;
    if (ev & SLIRP_POLL_OUT)
        e |= POLLOUT;
    if (ev & SLIRP_POLL_PRI)
        e |= POLLPRI;
    return e;
}

static int cb_add_poll(int fd, int events, void *opaque)
{
    struct slirp_backend *s = opaque;
    if (s->npfds == s->pfds_cap) {
        unsigned cap = s->pfds_cap ? s->pfds_cap * 2 : 32;
        struct pollfd *p = realloc(s->pfds, cap * sizeof(*p));
        if (!p)
            return -1; /* slirp treats a negative index as "not polled" */
        s->pfds = p;
        s->pfds_cap = cap;
    }
    s->pfds[s->npfds] = (struct pollfd){.fd = fd, .events = to_poll_events(events)};
    return (int)s->npfds++;
}

static int cb_get_revents(int idx, void *opaque)
{
    struct slirp_backend *s = opaque;
    if (idx < 0 || (unsigned)idx >= s->npfds)
        return 0;
    short r = s->pfds[idx].revents;
    int ev = 0;
    if (r & POLLIN)
        ev |= SLIRP_POLL_IN;
    if (r & POLLOUT)
        ev |= SLIRP_POLL_OUT;
    if (r & POLLPRI)
        ev |= SLIRP_POLL_PRI;
    if (r & POLLERR)
        ev |= SLIRP_POLL_ERR;
    if (r & POLLHUP)
        ev |= SLIRP_POLL_HUP;
    return ev;
}

/* ---- the slirp thread ---- */

static void feed_guest_frames(struct slirp_backend *s)
{
    pthread_mutex_lock(&s->txq_lock);
    struct slirp_frame *f = s->txq_head;
    s->txq_head = s->txq_tail = NULL;
    s->txq_len = 0;
    pthread_mutex_unlock(&s->txq_lock);
    while (f) {
        struct slirp_frame *next = f->next;
        slirp_input(s->slirp, f->data, (int)f->len);
        free(f);
        f = next;
    }
}

/* Runs expired timers; a callback may re-arm or free timers, so rescan after each. */
static void run_timers(struct slirp_backend *s)
{
    int64_t now = now_ns() / 1000000;
    bool again = true;
    while (again) {
        again = false;
        for (struct slirp_timer *t = s->timers; t; t = t->next) {
            if (t->expire_ms >= 0 && t->expire_ms <= now) {
                t->expire_ms = -1;
                t->cb(t->cb_opaque);
                again = true;
                break;
            }
        }
    }
}

static int poll_timeout(struct slirp_backend *s, uint32_t slirp_timeout)
{
    int64_t timeout = slirp_timeout < SLIRP_POLL_CAP_MS ? slirp_timeout : SLIRP_POLL_CAP_MS;
    int64_t now = now_ns() / 1000000;
    for (struct slirp_timer *t = s->timers; t; t = t->next)
        if (t->expire_ms >= 0 && t->expire_ms - now < timeout)
            timeout = t->expire_ms > now ? t->expire_ms - now : 0;
    return (int)timeout;
}

static void *slirp_thread(void *opaque)
{
    struct slirp_backend *s = opaque;
    while (!atomic_load(&s->stop)) {
        feed_guest_frames(s);
        s->npfds = 0;
        cb_add_poll(s->wake_fd, SLIRP_POLL_IN, s);
        uint32_t timeout = SLIRP_POLL_CAP_MS;
        slirp_pollfds_fill(s->slirp, &timeout, cb_add_poll, s);
        int n = poll(s->pfds, s->npfds, poll_timeout(s, timeout));
        if (n < 0 && errno != EINTR)
            log_warn("slirp: poll: %s", strerror(errno));
        if (n > 0 && (s->pfds[0].revents & POLLIN)) {
            uint64_t v;
            if (read(s->wake_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
                log_debug("slirp: wake read: %s", strerror(errno));
        }
        slirp_pollfds_poll(s->slirp, n < 0, cb_get_revents, s);
        run_timers(s);
    }
    return NULL;
}

/* ---- backend ops ---- */

static int slirp_start(struct net_backend *be, struct event_loop *loop)
{
    struct slirp_backend *s = (struct slirp_backend *)be;
    if (s->thread_started)
        return 0;
    int rc = pthread_create(&s->thread, NULL, slirp_thread, s);
    if (rc != 0) {
        log_error("slirp: cannot start its thread: %s", strerror(rc));
        return -rc;
    }
    s->thread_started = true;
    return 0;
}

static int slirp_send(struct net_backend *be, const struct iovec *iov, int iovcnt)
{
    struct slirp_backend *s = (struct slirp_backend *)be;
    size_t len = 0;
    for (int i = 0; i < iovcnt; i++)
        len += iov[i].iov_len;
    if (len == 0 || len > SLIRP_FRAME_MAX)
        return -EINVAL;
    struct slirp_frame *f = malloc(sizeof(*f) + len);
    if (!f)
        return -ENOMEM;
    f->next = NULL;
    f->len = len;
    size_t off = 0;
    for (int i = 0; i < iovcnt; i++) {
        memcpy(f->data + off, iov[i].iov_base, iov[i].iov_len);
        off += iov[i].iov_len;
    }
    pthread_mutex_lock(&s->txq_lock);
    if (s->txq_len >= SLIRP_TXQ_MAX) {
        pthread_mutex_unlock(&s->txq_lock);
        free(f);
        return -ENOBUFS; /* the slirp thread is behind: drop, TCP retransmits */
    }
    if (s->txq_tail)
        s->txq_tail->next = f;
    else
        s->txq_head = f;
    s->txq_tail = f;
    s->txq_len++;
    pthread_mutex_unlock(&s->txq_lock);
    wake(s);
    return 0;
}

static void slirp_destroy(struct net_backend *be)
{
    struct slirp_backend *s = (struct slirp_backend *)be;
    if (s->thread_started) {
        atomic_store(&s->stop, true);
        wake(s);
        pthread_join(s->thread, NULL);
    }
    if (s->slirp)
        slirp_cleanup(s->slirp); /* frees its timers through cb_timer_free */
    while (s->timers)
        cb_timer_free(s->timers, s);
    for (struct slirp_frame *f = s->txq_head, *n; f; f = n) {
        n = f->next;
        free(f);
    }
    free(s->pfds);
    close(s->wake_fd);
    pthread_mutex_destroy(&s->txq_lock);
    free(s);
}

static const struct net_backend_ops slirp_ops = {
    .name = "user",
    .start = slirp_start,
    .send = slirp_send,
    .destroy = slirp_destroy,
};

/* ---- hostfwd rules: "tcp:[HADDR]:HPORT-[GADDR]:GPORT" ---- */

static int parse_port(const char *s, size_t len, int *port)
{
    if (len == 0 || len > 5)
        return -1;
    int v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    if (v < 1 || v > 65535)
        return -1;
    *port = v;
    return 0;
}

/* "[ADDR]:PORT" of length len; empty ADDR gives dflt. */
static int parse_endpoint(const char *s, size_t len, struct in_addr dflt, struct in_addr *addr,
                          int *port)
{
    const char *colon = memchr(s, ':', len);
    if (!colon)
        return -1;
    size_t alen = (size_t)(colon - s);
    if (alen == 0) {
        *addr = dflt;
    } else {
        char buf[INET_ADDRSTRLEN];
        if (alen >= sizeof(buf))
            return -1;
        memcpy(buf, s, alen);
        buf[alen] = 0;
        if (inet_pton(AF_INET, buf, addr) != 1)
            return -1;
    }
    return parse_port(colon + 1, len - alen - 1, port);
}

static int add_hostfwd(struct slirp_backend *s, const char *rule, struct in_addr guest_default)
{
    int udp;
    const char *p;
    if (strncmp(rule, "tcp:", 4) == 0) {
        udp = 0;
        p = rule + 4;
    } else if (strncmp(rule, "udp:", 4) == 0) {
        udp = 1;
        p = rule + 4;
    } else {
        return -1;
    }
    const char *dash = strchr(p, '-');
    if (!dash)
        return -1;
    struct in_addr any = {.s_addr = htonl(INADDR_ANY)}, haddr, gaddr;
    int hport, gport;
    if (parse_endpoint(p, (size_t)(dash - p), any, &haddr, &hport) < 0 ||
        parse_endpoint(dash + 1, strlen(dash + 1), guest_default, &gaddr, &gport) < 0)
        return -1;
    if (slirp_add_hostfwd(s->slirp, udp, haddr, hport, gaddr, gport) < 0) {
        log_error("--net user: hostfwd=%s: cannot listen on host port %d (in use?)", rule, hport);
        return -2;
    }
    return 0;
}

int net_slirp_open(const char *const *hostfwds, unsigned mtu, struct net_backend **out)
{
    *out = NULL;
    struct slirp_backend *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    s->be.ops = &slirp_ops;
    s->be.vnet_hdr = false;
    s->be.mtu = mtu;
    pthread_mutex_init(&s->txq_lock, NULL);
    s->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (s->wake_fd < 0) {
        int e = errno;
        log_error("slirp: eventfd: %s", strerror(e));
        pthread_mutex_destroy(&s->txq_lock);
        free(s);
        return -e;
    }
    SlirpConfig cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.version = 4; /* if_mtu/if_mru are version 1 fields; 4 is what libslirp 4.7 knows */
    cfg.in_enabled = true;
    inet_pton(AF_INET, "10.0.2.0", &cfg.vnetwork);
    inet_pton(AF_INET, "255.255.255.0", &cfg.vnetmask);
    inet_pton(AF_INET, "10.0.2.2", &cfg.vhost);
    inet_pton(AF_INET, "10.0.2.15", &cfg.vdhcp_start);
    inet_pton(AF_INET, "10.0.2.3", &cfg.vnameserver);
    cfg.vhostname = "ember";
    /* The guest learns the same MTU through VIRTIO_NET_F_MTU; slirp sizes its TCP segments
     * to the guest from it (and the guest's MSS). libslirp refuses more than 65521. */
    cfg.if_mtu = mtu;
    cfg.if_mru = mtu;
    s->slirp = slirp_new(&cfg, &slirp_callbacks, s);
    if (!s->slirp) {
        log_error("slirp: cannot create the user-mode network stack");
        slirp_destroy(&s->be);
        return -ENOMEM;
    }
    for (unsigned i = 0; hostfwds && hostfwds[i]; i++) {
        int rc = add_hostfwd(s, hostfwds[i], cfg.vdhcp_start);
        if (rc < 0) {
            if (rc == -1)
                log_error("--net user: hostfwd=%s: expected tcp|udp:[HOSTADDR]:HOSTPORT-"
                          "[GUESTADDR]:GUESTPORT",
                          hostfwds[i]);
            slirp_destroy(&s->be);
            return rc == -1 ? -EINVAL : -EADDRINUSE;
        }
    }
    *out = &s->be;
    return 0;
}
