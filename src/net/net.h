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

/* Longest frame either way, vnet header not counted: a 64 KiB IP packet (a TSO/GSO frame, or
 * a packet at the largest MTU) behind an Ethernet header and a VLAN tag, with room to spare. */
#define NET_FRAME_MAX (65536 + 64)

/* mtu= on --net: the range accepted, and user networking's default (as passt: fewer, larger
 * frames cost the guest far fewer instructions per byte). 14 + NET_MTU_MAX <= NET_FRAME_MAX. */
#define NET_MTU_MIN          1280
#define NET_MTU_MAX          65520
#define NET_MTU_USER_DEFAULT 65520

/* Receive offloads for set_offload: what the guest accepts (TUNSETOFFLOAD's TUN_F_*). */
#define NET_OFFLOAD_CSUM    1u /* partially checksummed frames */
#define NET_OFFLOAD_TSO4    2u /* TCP/IPv4 segmentation left undone (needs CSUM) */
#define NET_OFFLOAD_TSO6    4u /* TCP/IPv6 likewise */
#define NET_OFFLOAD_TSO_ECN 8u /* ... also with CWR set */

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
    /* Tell the host which NET_OFFLOAD_* frames the guest accepts (tap only). */
    int (*set_offload)(struct net_backend *be, unsigned offloads);
    void (*destroy)(struct net_backend *be);
};

struct net_backend {
    const struct net_backend_ops *ops;
    bool vnet_hdr; /* frames both ways carry a NET_VNET_HDR_SIZE header (offloads) */
    unsigned mtu;  /* the link's MTU for the guest (VIRTIO_NET_F_MTU); 0: not configured */
    net_rx_fn rx;
    void *rx_opaque;
};

/* Parses a backend spec and opens it: "tap=IFNAME[,mtu=N]" or "user[,hostfwd=PROTO:[HADDR]:
 * HPORT-[GADDR]:GPORT]...[,mtu=N]" (PROTO tcp or udp; repeatable; N from NET_MTU_MIN to
 * NET_MTU_MAX, user networking's default NET_MTU_USER_DEFAULT). Keys it does not know (e.g.
 * mac=) are left to the caller and skipped here. Errors name the problem. 0 or -errno. */
int net_backend_open(const char *spec, struct net_backend **out);

/* mtu 0 leaves the interface's MTU alone; otherwise it is set on the tap (SIOCSIFMTU). */
int net_tap_open(const char *ifname, unsigned mtu, struct net_backend **out);
/* hostfwds: NULL-terminated list of "tcp::8080-:80" style rules; mtu is slirp's MTU and MRU. */
int net_slirp_open(const char *const *hostfwds, unsigned mtu, struct net_backend **out);

static inline void net_backend_destroy(struct net_backend *be)
{
    if (be)
        be->ops->destroy(be);
}

#endif
