/* tap backend: a Linux TUN/TAP interface (IFF_TAP | IFF_NO_PI | IFF_VNET_HDR) read on the
 * event-loop thread. Frames carry the 12-byte virtio-net header both ways, so checksum and
 * segmentation offloads pass straight through to the host kernel: the guest's TSO frames go
 * out whole, and once the guest accepts them (TUNSETOFFLOAD) the host hands over partially
 * checksummed and unsegmented (GSO) frames of up to 64 KiB. */
#include "net/net.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/event_loop.h"
#include "util/log.h"

#define TAP_FRAME_MAX        (NET_VNET_HDR_SIZE + NET_FRAME_MAX)
#define TAP_READS_PER_WAKEUP 64 /* bounds time spent per event before others get a turn */

struct tap_backend {
    struct net_backend be;
    int fd;
    int resume_fd; /* eventfd: the guest posted receive buffers */
    char ifname[IFNAMSIZ];
    struct event_loop *loop;
    bool reading;    /* fd is watched; false while a frame waits for the guest */
    size_t held_len; /* a frame in buf the guest had no buffer for */
    uint8_t buf[TAP_FRAME_MAX];
};

static void set_reading(struct tap_backend *t, bool on);

/* Offers the frame in buf; if the guest has no buffer, holds it and stops reading (the
 * kernel queues, then drops, further frames: backpressure instead of loss here). */
static bool deliver(struct tap_backend *t, size_t len)
{
    if (!t->be.rx || t->be.rx(t->be.rx_opaque, t->buf, len)) {
        t->held_len = 0;
        return true;
    }
    t->held_len = len;
    set_reading(t, false);
    return false;
}

static void tap_readable(void *opaque, uint32_t events)
{
    struct tap_backend *t = opaque;
    for (int i = 0; i < TAP_READS_PER_WAKEUP && !t->held_len; i++) {
        ssize_t n = read(t->fd, t->buf, sizeof(t->buf));
        if (n < 0) {
            if (errno != EAGAIN && errno != EINTR)
                log_warn("tap %s: read: %s", t->ifname, strerror(errno));
            return;
        }
        if ((size_t)n > NET_VNET_HDR_SIZE)
            deliver(t, (size_t)n);
    }
}

static void set_reading(struct tap_backend *t, bool on)
{
    if (!t->loop || on == t->reading)
        return;
    int rc = on ? event_loop_add(t->loop, t->fd, EPOLLIN, tap_readable, t)
                : event_loop_del(t->loop, t->fd);
    if (rc < 0) {
        log_warn("tap %s: cannot %s the device: %d", t->ifname, on ? "watch" : "unwatch", rc);
        return;
    }
    t->reading = on;
}

/* Event-loop thread: the guest has buffers again. */
static void tap_resume(void *opaque, uint32_t events)
{
    struct tap_backend *t = opaque;
    uint64_t v;
    if (read(t->resume_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
        log_debug("tap %s: resume read: %s", t->ifname, strerror(errno));
    if (t->held_len && !deliver(t, t->held_len))
        return;
    set_reading(t, true);
}

static void tap_rx_ready(struct net_backend *be)
{
    struct tap_backend *t = (struct tap_backend *)be;
    uint64_t one = 1;
    if (write(t->resume_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
        log_debug("tap %s: resume write: %s", t->ifname, strerror(errno));
}

static int tap_start(struct net_backend *be, struct event_loop *loop)
{
    struct tap_backend *t = (struct tap_backend *)be;
    int rc = event_loop_add(loop, t->resume_fd, EPOLLIN, tap_resume, t);
    if (rc < 0) {
        log_error("tap %s: cannot watch its resume eventfd: %d", t->ifname, rc);
        return rc;
    }
    t->loop = loop;
    set_reading(t, true);
    if (!t->reading) {
        event_loop_del(loop, t->resume_fd);
        t->loop = NULL;
        return -EIO;
    }
    return 0;
}

static int tap_send(struct net_backend *be, const struct iovec *iov, int iovcnt)
{
    struct tap_backend *t = (struct tap_backend *)be;
    for (;;) {
        ssize_t n = writev(t->fd, iov, iovcnt);
        if (n >= 0)
            return 0;
        if (errno == EINTR)
            continue;
        /* EAGAIN: the host queue is full; the frame is dropped like on a busy wire. */
        return -errno;
    }
}

static int tap_set_offload(struct net_backend *be, unsigned offloads)
{
    struct tap_backend *t = (struct tap_backend *)be;
    unsigned flags = 0;
    if (offloads & NET_OFFLOAD_CSUM) {
        flags |= TUN_F_CSUM; /* the kernel refuses the TSO flags without it */
        if (offloads & NET_OFFLOAD_TSO4)
            flags |= TUN_F_TSO4;
        if (offloads & NET_OFFLOAD_TSO6)
            flags |= TUN_F_TSO6;
        if (offloads & (NET_OFFLOAD_TSO4 | NET_OFFLOAD_TSO6) && offloads & NET_OFFLOAD_TSO_ECN)
            flags |= TUN_F_TSO_ECN;
    }
    if (ioctl(t->fd, TUNSETOFFLOAD, flags) < 0) {
        int e = errno;
        log_warn("tap %s: TUNSETOFFLOAD: %s", t->ifname, strerror(e));
        return -e;
    }
    return 0;
}

static void tap_destroy(struct net_backend *be)
{
    struct tap_backend *t = (struct tap_backend *)be;
    if (t->loop) {
        set_reading(t, false);
        event_loop_del(t->loop, t->resume_fd);
    }
    close(t->resume_fd);
    close(t->fd);
    free(t);
}

static const struct net_backend_ops tap_ops = {
    .name = "tap",
    .start = tap_start,
    .send = tap_send,
    .rx_ready = tap_rx_ready,
    .set_offload = tap_set_offload,
    .destroy = tap_destroy,
};

/* SIOCSIFMTU on the tap (through a socket: the tun fd does not take it). */
static int tap_set_mtu(const char *ifname, unsigned mtu)
{
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return -errno;
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    memcpy(ifr.ifr_name, ifname, strlen(ifname));
    ifr.ifr_mtu = (int)mtu;
    int rc = ioctl(s, SIOCSIFMTU, &ifr) < 0 ? -errno : 0;
    close(s);
    return rc;
}

int net_tap_open(const char *ifname, unsigned mtu, struct net_backend **out)
{
    *out = NULL;
    if (strlen(ifname) >= IFNAMSIZ) {
        log_error("tap: interface name '%s' is too long", ifname);
        return -EINVAL;
    }
    int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        log_error("tap %s: cannot open /dev/net/tun: %s", ifname, strerror(e));
        return -e;
    }
    unsigned features = 0;
    if (ioctl(fd, TUNGETFEATURES, &features) < 0 || !(features & IFF_VNET_HDR)) {
        log_error("tap %s: the host's tun driver lacks IFF_VNET_HDR", ifname);
        close(fd);
        return -ENOTSUP;
    }
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
    memcpy(ifr.ifr_name, ifname, strlen(ifname));
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
        int e = errno;
        log_error("tap %s: TUNSETIFF: %s%s", ifname, strerror(e),
                  e == EPERM ? " (create it first: ip tuntap add IF mode tap user $USER)" : "");
        close(fd);
        return -e;
    }
    int hdr = NET_VNET_HDR_SIZE;
    if (ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0) {
        int e = errno;
        log_error("tap %s: TUNSETVNETHDRSZ: %s", ifname, strerror(e));
        close(fd);
        return -e;
    }
    if (mtu) {
        int e = tap_set_mtu(ifr.ifr_name, mtu);
        if (e < 0) {
            log_error("tap %s: cannot set its MTU to %u: %s", ifr.ifr_name, mtu, strerror(-e));
            close(fd);
            return e;
        }
    }
    struct tap_backend *t = calloc(1, sizeof(*t));
    if (!t) {
        close(fd);
        return -ENOMEM;
    }
    t->resume_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (t->resume_fd < 0) {
        int e = errno;
        log_error("tap %s: eventfd: %s", ifname, strerror(e));
        close(fd);
        free(t);
        return -e;
    }
    t->be.ops = &tap_ops;
    t->be.vnet_hdr = true;
    t->be.mtu = mtu;
    t->fd = fd;
    memcpy(t->ifname, ifr.ifr_name, IFNAMSIZ);
    t->ifname[IFNAMSIZ - 1] = 0;
    /* Until the guest accepts partial checksums, the host must complete them. */
    tap_set_offload(&t->be, 0);
    *out = &t->be;
    return 0;
}
