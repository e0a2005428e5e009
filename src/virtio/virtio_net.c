/* virtio-net (virtio 1.2 sec. 5.1): receiveq0 / transmitq0, MAC, link status and MTU in the
 * config, mergeable receive buffers (a frame spread over several buffers, 5.1.6.3/5.1.6.4).
 * With a tap the checksum and segmentation offloads pass through both ways in the vnet header;
 * with user networking (slirp takes whole, checksummed frames) the device completes the
 * checksums the guest leaves partial and tells the guest which received checksums it has
 * verified. Transmit runs on the event-loop thread; receive runs on the backend's thread. A
 * frame that finds no receive buffer is held by a backend that can (tap) and dropped
 * otherwise, as on a wire. */
#include "virtio/virtio_net.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/vm.h"
#include "net/net.h"
#include "net/net_csum.h"
#include "util/log.h"
#include "util/parse.h"
#include "virtio/virtio.h"

#define NET_QUEUE_SIZE             256
#define NET_RX                     0
#define NET_TX                     1
#define NET_CFG_SIZE               12 /* mac[6], status, max_virtqueue_pairs, mtu */
#define NET_CFG_MTU                10
#define PCI_CLASS_NETWORK_ETHERNET 0x020000

/* Feature bits (5.1.3) */
#define VIRTIO_NET_F_CSUM       0
#define VIRTIO_NET_F_GUEST_CSUM 1
#define VIRTIO_NET_F_MTU        3
#define VIRTIO_NET_F_MAC        5
#define VIRTIO_NET_F_GUEST_TSO4 7
#define VIRTIO_NET_F_GUEST_TSO6 8
#define VIRTIO_NET_F_GUEST_ECN  9
#define VIRTIO_NET_F_HOST_TSO4  11
#define VIRTIO_NET_F_HOST_TSO6  12
#define VIRTIO_NET_F_MRG_RXBUF  15
#define VIRTIO_NET_F_STATUS     16
#define VIRTIO_NET_S_LINK_UP    1

/* struct virtio_net_hdr_v1 (5.1.6), little-endian */
#define VNET_HDR_FLAGS              0
#define VNET_HDR_GSO_TYPE           1
#define VNET_HDR_CSUM_START         6
#define VNET_HDR_CSUM_OFFSET        8
#define VNET_HDR_NUM_BUFFERS        10
#define VIRTIO_NET_HDR_F_NEEDS_CSUM 1
#define VIRTIO_NET_HDR_F_DATA_VALID 2
#define VIRTIO_NET_HDR_GSO_NONE     0
#define VIRTIO_NET_HDR_GSO_TCPV4    1
#define VIRTIO_NET_HDR_GSO_TCPV6    4
#define VIRTIO_NET_HDR_GSO_ECN      0x80

#define HDR NET_VNET_HDR_SIZE

struct rx_used {
    uint16_t head;
    uint32_t len;
};

struct virtio_net {
    struct virtio_dev vdev;
    struct net_backend *be;
    uint8_t config[NET_CFG_SIZE];
    struct virtq_elem rx_elem; /* backend thread, under vdev.lock */
    struct virtq_elem tx_elem; /* loop thread, under vdev.lock */
    struct iovec tx_iov[VIRTQ_MAX_SEGS + 1];
    struct rx_used rx_used[VIRTQ_MAX_SIZE]; /* the buffers of the frame being received */
    uint8_t tx_frame[NET_FRAME_MAX];        /* a private copy to complete a checksum in */
    uint64_t rx_dropped, tx_dropped;
};

static uint16_t le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

/* Slices iov[0..n) from byte skip on into out (at most max entries); returns the count. */
static unsigned iov_skip(const struct iovec *iov, unsigned n, size_t skip, struct iovec *out)
{
    unsigned k = 0;
    for (unsigned i = 0; i < n; i++) {
        if (skip >= iov[i].iov_len) {
            skip -= iov[i].iov_len;
            continue;
        }
        out[k].iov_base = (uint8_t *)iov[i].iov_base + skip;
        out[k].iov_len = iov[i].iov_len - skip;
        k++;
        skip = 0;
    }
    return k;
}

/* The byte at offset off of iov[0..n), or NULL past the end. */
static uint8_t *iov_byte(const struct iovec *iov, unsigned n, size_t off)
{
    for (unsigned i = 0; i < n; i++) {
        if (off < iov[i].iov_len)
            return (uint8_t *)iov[i].iov_base + off;
        off -= iov[i].iov_len;
    }
    return NULL;
}

/* Checks a transmit header (a private copy, not guest memory) against what was negotiated. */
static bool tx_header_ok(struct virtio_dev *vdev, const uint8_t *hdr)
{
    if ((hdr[VNET_HDR_FLAGS] & VIRTIO_NET_HDR_F_NEEDS_CSUM) &&
        !virtio_has_feature(vdev, VIRTIO_NET_F_CSUM))
        return false;
    uint8_t gso = hdr[VNET_HDR_GSO_TYPE] & (uint8_t)~VIRTIO_NET_HDR_GSO_ECN;
    if (gso == VIRTIO_NET_HDR_GSO_NONE)
        return !(hdr[VNET_HDR_GSO_TYPE] & VIRTIO_NET_HDR_GSO_ECN);
    if (gso == VIRTIO_NET_HDR_GSO_TCPV4)
        return virtio_has_feature(vdev, VIRTIO_NET_F_HOST_TSO4);
    if (gso == VIRTIO_NET_HDR_GSO_TCPV6)
        return virtio_has_feature(vdev, VIRTIO_NET_F_HOST_TSO6);
    return false;
}

static void transmit_one(struct virtio_net *net, struct virtq_elem *e)
{
    struct virtio_dev *vdev = &net->vdev;
    uint8_t hdr[HDR];
    uint64_t frame_len = e->out_len - HDR;
    if (e->out_len < HDR + 14 || frame_len > NET_FRAME_MAX) {
        net->tx_dropped++;
        return;
    }
    virtq_iov_to_buf(e->iov, e->n_out, 0, hdr, sizeof(hdr));
    if (!tx_header_ok(vdev, hdr)) {
        net->tx_dropped++;
        return;
    }
    unsigned n;
    if (net->be->vnet_hdr) {
        hdr[VNET_HDR_NUM_BUFFERS] = hdr[VNET_HDR_NUM_BUFFERS + 1] = 0;
        net->tx_iov[0].iov_base = hdr; /* the checked copy, not the guest's */
        net->tx_iov[0].iov_len = sizeof(hdr);
        n = 1 + iov_skip(e->iov, e->n_out, HDR, net->tx_iov + 1);
    } else if (hdr[VNET_HDR_FLAGS] & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
        /* 5.1.6.2: the device completes the checksum at csum_start + csum_offset, over a copy
         * the guest cannot change underneath (offsets checked against the length). */
        size_t len = virtq_iov_to_buf(e->iov, e->n_out, HDR, net->tx_frame, frame_len);
        if (net_csum_complete(net->tx_frame, len, le16(hdr + VNET_HDR_CSUM_START),
                              le16(hdr + VNET_HDR_CSUM_OFFSET)) < 0) {
            net->tx_dropped++;
            return;
        }
        net->tx_iov[0].iov_base = net->tx_frame;
        net->tx_iov[0].iov_len = len;
        n = 1;
    } else {
        n = iov_skip(e->iov, e->n_out, HDR, net->tx_iov);
    }
    if (net->be->ops->send(net->be, net->tx_iov, (int)n) < 0)
        net->tx_dropped++;
}

static void net_tx(struct virtio_net *net)
{
    struct virtio_dev *vdev = &net->vdev;
    bool pushed = false;
    while (virtio_pop(vdev, NET_TX, &net->tx_elem) > 0) {
        transmit_one(net, &net->tx_elem);
        virtq_push(&vdev->queues[NET_TX].vq, net->tx_elem.head, 0);
        pushed = true;
    }
    if (pushed)
        virtio_notify_queue(vdev, NET_TX);
}

static void net_queue_notify(struct virtio_dev *vdev, unsigned q)
{
    struct virtio_net *net = vdev->opaque;
    if (q == NET_TX)
        net_tx(net);
    else if (net->be->ops->rx_ready)
        net->be->ops->rx_ready(net->be); /* new receive buffers: release a held frame */
}

/* The header for a frame from the backend (5.1.6.4.1); *frame and *len are advanced past a
 * backend's own vnet header. False: the frame cannot be given to this driver. */
static bool rx_header(struct virtio_net *net, const uint8_t **frame, size_t *len, uint8_t *hdr)
{
    struct virtio_dev *vdev = &net->vdev;
    memset(hdr, 0, HDR);
    if (net->be->vnet_hdr) {
        if (*len < HDR)
            return false;
        memcpy(hdr, *frame, HDR);
        *frame += HDR;
        *len -= HDR;
        if (!virtio_has_feature(vdev, VIRTIO_NET_F_GUEST_CSUM))
            hdr[VNET_HDR_FLAGS] = 0;
        else
            hdr[VNET_HDR_FLAGS] &= VIRTIO_NET_HDR_F_NEEDS_CSUM | VIRTIO_NET_HDR_F_DATA_VALID;
        /* The host only sends what TUNSETOFFLOAD allowed, but a frame queued before the guest
         * renegotiated may still carry an offload it no longer takes. */
        uint8_t gso = hdr[VNET_HDR_GSO_TYPE];
        bool ecn = gso & VIRTIO_NET_HDR_GSO_ECN;
        gso &= (uint8_t)~VIRTIO_NET_HDR_GSO_ECN;
        if (gso == VIRTIO_NET_HDR_GSO_NONE)
            return !ecn;
        if (!(hdr[VNET_HDR_FLAGS] & VIRTIO_NET_HDR_F_NEEDS_CSUM))
            return false;
        if (ecn && !virtio_has_feature(vdev, VIRTIO_NET_F_GUEST_ECN))
            return false;
        return (gso == VIRTIO_NET_HDR_GSO_TCPV4 &&
                virtio_has_feature(vdev, VIRTIO_NET_F_GUEST_TSO4)) ||
               (gso == VIRTIO_NET_HDR_GSO_TCPV6 &&
                virtio_has_feature(vdev, VIRTIO_NET_F_GUEST_TSO6));
    }
    /* slirp's frames are fully checksummed: say so only for what was checked here. */
    if (virtio_has_feature(vdev, VIRTIO_NET_F_GUEST_CSUM) && net_csum_l4_verify(*frame, *len))
        hdr[VNET_HDR_FLAGS] = VIRTIO_NET_HDR_F_DATA_VALID;
    return true;
}

enum rx_result {
    RX_DONE,      /* delivered, or dropped with its buffers returned */
    RX_DROP,      /* dropped, nothing returned */
    RX_NO_BUFFER, /* no (or not enough) buffers: nothing taken */
};

/* Without MRG_RXBUF: one buffer per frame (5.1.6.3.2), num_buffers 1. */
static enum rx_result rx_single(struct virtio_net *net, uint8_t *hdr, const uint8_t *payload,
                                size_t plen)
{
    struct virtio_dev *vdev = &net->vdev;
    struct virtq_elem *e = &net->rx_elem;
    int rc = virtio_pop(vdev, NET_RX, e);
    if (rc <= 0)
        return rc < 0 ? RX_DROP : RX_NO_BUFFER;
    hdr[VNET_HDR_NUM_BUFFERS] = 1;
    uint32_t written = 0;
    if (e->in_len >= HDR + plen) {
        const struct iovec *in = &e->iov[e->n_out];
        virtq_buf_to_iov(in, e->n_in, 0, hdr, HDR);
        virtq_buf_to_iov(in, e->n_in, HDR, payload, plen);
        written = (uint32_t)(HDR + plen);
    } else {
        net->rx_dropped++; /* buffer too small: returned empty */
    }
    virtq_push(&vdev->queues[NET_RX].vq, e->head, written);
    virtio_notify_queue(vdev, NET_RX);
    return RX_DONE;
}

/* With MRG_RXBUF: the frame fills buffer after buffer, each but the last to its end; the first
 * starts with the header, whose num_buffers counts them (5.1.6.4.1). All the used entries are
 * published with one used->idx update, so the driver never sees part of a frame. If the ring
 * runs dry halfway, the buffers taken go back (rewound, never marked used). */
static enum rx_result rx_merged(struct virtio_net *net, uint8_t *hdr, const uint8_t *payload,
                                size_t plen)
{
    struct virtio_dev *vdev = &net->vdev;
    struct virtq *vq = &vdev->queues[NET_RX].vq;
    struct virtq_elem *e = &net->rx_elem;
    size_t total = HDR + plen, done = 0;
    unsigned n = 0;
    uint8_t *num_buffers[2] = {NULL, NULL}; /* where the first buffer keeps it */
    bool short_buffer = false;
    while (done < total) {
        if (n == vq->size) {
            /* The whole ring is not enough: this frame will never fit. */
            virtq_rewind(vq, (uint16_t)n);
            return RX_DROP;
        }
        int rc = virtio_pop(vdev, NET_RX, e);
        if (rc < 0)
            return RX_DROP; /* a broken ring: the device now needs a reset */
        if (rc == 0) {
            virtq_rewind(vq, (uint16_t)n);
            return RX_NO_BUFFER;
        }
        const struct iovec *in = &e->iov[e->n_out];
        if (e->in_len < HDR) {
            /* 5.1.6.3.1: with MRG_RXBUF every buffer holds at least a header. A driver that
             * breaks this loses the frame and gets the buffers taken for it back empty. */
            net->rx_used[n++] = (struct rx_used){e->head, 0};
            short_buffer = true;
            break;
        }
        size_t chunk = e->in_len < total - done ? (size_t)e->in_len : total - done;
        if (n == 0) {
            virtq_buf_to_iov(in, e->n_in, 0, hdr, HDR);
            virtq_buf_to_iov(in, e->n_in, HDR, payload, chunk - HDR);
            num_buffers[0] = iov_byte(in, e->n_in, VNET_HDR_NUM_BUFFERS);
            num_buffers[1] = iov_byte(in, e->n_in, VNET_HDR_NUM_BUFFERS + 1);
        } else {
            virtq_buf_to_iov(in, e->n_in, 0, payload + (done - HDR), chunk);
        }
        net->rx_used[n++] = (struct rx_used){e->head, (uint32_t)chunk};
        done += chunk;
    }
    if (short_buffer) {
        net->rx_dropped++;
        for (unsigned i = 0; i < n; i++)
            net->rx_used[i].len = 0;
    } else if (num_buffers[0] && num_buffers[1]) {
        *num_buffers[0] = (uint8_t)n;
        *num_buffers[1] = (uint8_t)(n >> 8);
    }
    for (unsigned i = 0; i < n; i++)
        virtq_push_nopublish(vq, net->rx_used[i].head, net->rx_used[i].len);
    virtq_publish(vq);
    virtio_notify_queue(vdev, NET_RX);
    return RX_DONE;
}

/* A frame from the backend (its thread). False: no buffer yet, the backend may hold it. */
static bool net_rx(void *opaque, const uint8_t *frame, size_t len)
{
    struct virtio_net *net = opaque;
    struct virtio_dev *vdev = &net->vdev;
    pthread_mutex_lock(&vdev->lock);
    uint8_t hdr[HDR];
    enum rx_result r;
    if (!virtio_driver_ok(vdev) || !rx_header(net, &frame, &len, hdr))
        r = RX_DROP; /* no driver (nobody to hold it for), or not for this driver */
    else if (virtio_has_feature(vdev, VIRTIO_NET_F_MRG_RXBUF))
        r = rx_merged(net, hdr, frame, len);
    else
        r = rx_single(net, hdr, frame, len);
    bool consumed = true;
    if (r == RX_NO_BUFFER && net->be->ops->rx_ready)
        consumed = false; /* tap keeps it and offers it again after rx_ready */
    else if (r != RX_DONE)
        net->rx_dropped++; /* XXX: slirp has no backpressure: TCP recovers */
    pthread_mutex_unlock(&vdev->lock);
    return consumed;
}

bool virtio_net_receive(struct virtio_net *net, const uint8_t *frame, size_t len)
{
    return net_rx(net, frame, len);
}

void virtio_net_counters(struct virtio_net *net, uint64_t *rx_dropped, uint64_t *tx_dropped)
{
    pthread_mutex_lock(&net->vdev.lock);
    *rx_dropped = net->rx_dropped;
    *tx_dropped = net->tx_dropped;
    pthread_mutex_unlock(&net->vdev.lock);
}

static bool net_features_ok(struct virtio_dev *vdev, uint64_t f)
{
    /* 5.1.3.1: segmentation offloads need checksum offload the same way, ECN needs TSO. */
    bool host_tso = f & (VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO4) | VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO6));
    bool guest_tso =
        f & (VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO6));
    if (host_tso && !(f & VIRTIO_BIT(VIRTIO_NET_F_CSUM)))
        return false;
    if (guest_tso && !(f & VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM)))
        return false;
    if ((f & VIRTIO_BIT(VIRTIO_NET_F_GUEST_ECN)) && !guest_tso)
        return false;
    return true;
}

/* The receive offloads the driver took, for the backend. */
static unsigned guest_offloads(struct virtio_dev *vdev)
{
    unsigned o = 0;
    if (virtio_has_feature(vdev, VIRTIO_NET_F_GUEST_CSUM))
        o |= NET_OFFLOAD_CSUM;
    if (virtio_has_feature(vdev, VIRTIO_NET_F_GUEST_TSO4))
        o |= NET_OFFLOAD_TSO4;
    if (virtio_has_feature(vdev, VIRTIO_NET_F_GUEST_TSO6))
        o |= NET_OFFLOAD_TSO6;
    if (virtio_has_feature(vdev, VIRTIO_NET_F_GUEST_ECN))
        o |= NET_OFFLOAD_TSO_ECN;
    return o;
}

static void net_driver_ok(struct virtio_dev *vdev)
{
    struct virtio_net *net = vdev->opaque;
    if (net->be->ops->set_offload)
        net->be->ops->set_offload(net->be, guest_offloads(vdev));
}

static void net_reset(struct virtio_dev *vdev)
{
    struct virtio_net *net = vdev->opaque;
    if (net->be->ops->set_offload)
        net->be->ops->set_offload(net->be, 0);
}

static const struct virtio_dev_ops net_ops = {
    .queue_notify = net_queue_notify,
    .features_ok = net_features_ok,
    .driver_ok = net_driver_ok,
    .reset = net_reset,
};

static void net_vm_reset(void *opaque)
{
    struct virtio_net *net = opaque;
    virtio_pci_reset(&net->vdev);
}

static void net_destroy(void *opaque)
{
    struct virtio_net *net = opaque;
    net_backend_destroy(net->be); /* no receive callbacks after this */
    log_debug("virtio-net: %llu frames dropped on receive, %llu on transmit",
              (unsigned long long)net->rx_dropped, (unsigned long long)net->tx_dropped);
    virtio_pci_teardown(&net->vdev);
    free(net);
}

static int parse_mac(const char *s, uint8_t mac[6])
{
    unsigned v[6];
    char tail;
    if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &tail) !=
            6 ||
        strlen(s) != 17)
        return -EINVAL;
    for (int i = 0; i < 6; i++)
        mac[i] = (uint8_t)v[i];
    if (mac[0] & 1)
        return -EINVAL; /* multicast bit: not a station address */
    return 0;
}

/* Finds mac= in opts; 1 if found (mac filled), 0 if absent, -EINVAL if malformed. */
static int find_mac(const char *opts, uint8_t mac[6])
{
    struct kv_iter it;
    kv_iter_init(&it, opts);
    while (kv_iter_next(&it)) {
        if (strcmp(it.key, "mac") != 0)
            continue;
        if (parse_mac(it.value, mac) < 0) {
            log_error("--net: mac=%s: expected a unicast XX:XX:XX:XX:XX:XX", it.value);
            return -EINVAL;
        }
        return 1;
    }
    return 0;
}

struct virtio_net *virtio_net_create(struct vm *vm, struct pci_host *host, const char *opts)
{
    uint8_t mac[6];
    int has_mac = find_mac(opts ? opts : "", mac);
    if (has_mac < 0)
        return NULL;
    struct virtio_net *net = calloc(1, sizeof(*net));
    if (!net) {
        log_error("virtio-net: out of memory");
        return NULL;
    }
    if (net_backend_open(opts, &net->be) < 0) {
        free(net);
        return NULL;
    }
    /* XXX: no control queue or multiqueue, no UFO/USO, no TSO on user networking. */
    uint64_t features = VIRTIO_BIT(VIRTIO_NET_F_MAC) | VIRTIO_BIT(VIRTIO_NET_F_STATUS) |
                        VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF) | VIRTIO_BIT(VIRTIO_NET_F_CSUM) |
                        VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM);
    if (net->be->vnet_hdr) /* the host kernel segments and receives whole 64 KiB frames */
        features |= VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO4) | VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO6) |
                    VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO6) |
                    VIRTIO_BIT(VIRTIO_NET_F_GUEST_ECN);
    if (net->be->mtu) {
        features |= VIRTIO_BIT(VIRTIO_NET_F_MTU);
        net->config[NET_CFG_MTU] = (uint8_t)net->be->mtu;
        net->config[NET_CFG_MTU + 1] = (uint8_t)(net->be->mtu >> 8);
    }
    net->config[6] = VIRTIO_NET_S_LINK_UP;
    net->config[8] = 1; /* max_virtqueue_pairs */
    struct virtio_dev_params p = {
        .name = "virtio-net",
        .device_id = VIRTIO_ID_NET,
        .pci_class = PCI_CLASS_NETWORK_ETHERNET,
        .features = features,
        .nqueues = 2,
        .queue_size = NET_QUEUE_SIZE,
        .config = net->config,
        .config_size = NET_CFG_SIZE,
        .ops = &net_ops,
        .opaque = net,
    };
    if (virtio_pci_init(&net->vdev, vm, host, &p) < 0) {
        net_backend_destroy(net->be);
        free(net);
        return NULL;
    }
    if (!has_mac) {
        static const uint8_t base[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x50};
        memcpy(mac, base, sizeof(mac));
        mac[5] = (uint8_t)(mac[5] + net->vdev.pci.slot);
    }
    pthread_mutex_lock(&net->vdev.lock);
    memcpy(net->config, mac, 6);
    pthread_mutex_unlock(&net->vdev.lock);
    net->be->rx = net_rx;
    net->be->rx_opaque = net;
    struct vm_device d = {
        .name = "virtio-net", .opaque = net, .reset = net_vm_reset, .destroy = net_destroy};
    if (net->be->ops->start(net->be, &vm->loop) < 0 || vm_add_device(vm, &d) < 0) {
        log_error("virtio-net: cannot start the %s backend", net->be->ops->name);
        net_destroy(net);
        return NULL;
    }
    return net;
}
