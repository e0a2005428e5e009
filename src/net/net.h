/* Host network backends for virtio-net: a small ops table (send a frame, deliver received
 * frames through a callback) with two implementations, a tap device (tap.c) and user-mode
 * networking through libslirp (slirp.c). */
#ifndef EMBER_NET_NET_H
#define EMBER_NET_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

struct event_loop;
struct net_backend;

/* Size of the virtio-net header that prefixes frames when a backend has vnet_hdr
 * (struct virtio_net_hdr_v1, virtio 1.2 sec. 5.1.6). */
#define NET_VNET_HDR_SIZE 12

/* A received frame for the guest: called on the backend's thread (the event-loop thread for
 * tap, the slirp thread for user networking). Frames start with a vnet header if the backend
 * has vnet_hdr. The callee copies the data before returning. Returns false if the guest had
 * no buffer: a backend with rx_ready keeps the frame and offers it again after rx_ready. */
typedef bool (*net_rx_fn)(void *opaque, const uint8_t *frame, size_t len);

struct net_backend_ops {
    const char *name;
    /* Starts delivering frames to be->rx. */
    int (*start)(struct net_backend *be, struct event_loop *loop);
    /* Sends one frame from the guest (never blocks; may drop). Any thread. 0 or -errno. */
    int (*send)(struct net_backend *be, const struct iovec *iov, int iovcnt);
    /* The guest posted receive buffers: resume delivery of a held frame. Any thread, any locks
     * (it only signals the backend's thread). NULL: frames without a buffer are dropped. */
    void (*rx_ready)(struct net_backend *be);
    /* Tell the host whether the guest accepts partially checksummed frames (tap only). */
    int (*set_offload)(struct net_backend *be, bool guest_csum);
    void (*destroy)(struct net_backend *be);
};

struct net_backend {
    const struct net_backend_ops *ops;
    bool vnet_hdr; /* frames both ways carry a NET_VNET_HDR_SIZE header (offloads) */
    net_rx_fn rx;
    void *rx_opaque;
};

/* Parses a backend spec and opens it: "tap=IFNAME" or "user[,hostfwd=PROTO:[HADDR]:HPORT-
 * [GADDR]:GPORT]..." (PROTO tcp or udp; repeatable). Keys it does not know (e.g. mac=) are
 * left to the caller and skipped here. Errors name the problem. 0 or -errno. */
int net_backend_open(const char *spec, struct net_backend **out);

int net_tap_open(const char *ifname, struct net_backend **out);
/* hostfwds: NULL-terminated list of "tcp::8080-:80" style rules. */
int net_slirp_open(const char *const *hostfwds, struct net_backend **out);

static inline void net_backend_destroy(struct net_backend *be)
{
    if (be)
        be->ops->destroy(be);
}

#endif
