/* virtio-net (virtio 1.2 sec. 5.1): receiveq0 / transmitq0, MAC and link status in the config,
 * checksum and TSO offloads passed through when the backend carries virtio-net headers (tap).
 * Transmit runs on the event-loop thread; receive runs on the backend's thread. A frame that
 * finds no receive buffer is dropped, as on a wire. */
#include "virtio/virtio_net.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/vm.h"
#include "net/net.h"
#include "util/log.h"
#include "util/parse.h"
#include "virtio/virtio.h"

#define NET_QUEUE_SIZE             256
#define NET_RX                     0
#define NET_TX                     1
#define NET_CFG_SIZE               10 /* mac[6], status, max_virtqueue_pairs */
#define PCI_CLASS_NETWORK_ETHERNET 0x020000

/* Feature bits (5.1.3) */
#define VIRTIO_NET_F_CSUM       0
#define VIRTIO_NET_F_GUEST_CSUM 1
#define VIRTIO_NET_F_MAC        5
#define VIRTIO_NET_F_HOST_TSO4  11
#define VIRTIO_NET_F_HOST_TSO6  12
#define VIRTIO_NET_F_STATUS     16
#define VIRTIO_NET_S_LINK_UP    1

/* struct virtio_net_hdr_v1 (5.1.6) */
#define VNET_HDR_FLAGS              0
#define VNET_HDR_GSO_TYPE           1
#define VNET_HDR_NUM_BUFFERS        10
#define VIRTIO_NET_HDR_F_NEEDS_CSUM 1
#define VIRTIO_NET_HDR_GSO_NONE     0
#define VIRTIO_NET_HDR_GSO_TCPV4    1
#define VIRTIO_NET_HDR_GSO_TCPV6    4
#define VIRTIO_NET_HDR_GSO_ECN      0x80

struct virtio_net {
    struct virtio_dev vdev;
    struct net_backend *be;
    uint8_t config[NET_CFG_SIZE];
    struct virtq_elem rx_elem; /* backend thread, under vdev.lock */
    struct virtq_elem tx_elem; /* loop thread, under vdev.lock */
    struct iovec tx_iov[VIRTQ_MAX_SEGS + 1];
    uint64_t rx_dropped, tx_dropped;
};

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
    uint8_t hdr[NET_VNET_HDR_SIZE];
    uint64_t frame_len = e->out_len - NET_VNET_HDR_SIZE;
    if (e->out_len < NET_VNET_HDR_SIZE + 14 || frame_len > NET_FRAME_MAX) {
        net->tx_dropped++;
        return;
    }
    virtq_iov_to_buf(e->iov, e->n_out, 0, hdr, sizeof(hdr));
    unsigned n;
    if (net->be->vnet_hdr) {
        if (!tx_header_ok(vdev, hdr)) {
            net->tx_dropped++;
            return;
        }
        hdr[VNET_HDR_NUM_BUFFERS] = hdr[VNET_HDR_NUM_BUFFERS + 1] = 0;
        net->tx_iov[0].iov_base = hdr; /* the checked copy, not the guest's */
        net->tx_iov[0].iov_len = sizeof(hdr);
        n = 1 + iov_skip(e->iov, e->n_out, NET_VNET_HDR_SIZE, net->tx_iov + 1);
    } else {
        n = iov_skip(e->iov, e->n_out, NET_VNET_HDR_SIZE, net->tx_iov);
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

/* A frame from the backend (its thread). False: no buffer yet, the backend may hold it. */
static bool net_rx(void *opaque, const uint8_t *frame, size_t len)
{
    struct virtio_net *net = opaque;
    struct virtio_dev *vdev = &net->vdev;
    struct virtq_elem *e = &net->rx_elem;
    pthread_mutex_lock(&vdev->lock);
    if (!virtio_driver_ok(vdev)) {
        net->rx_dropped++; /* no driver: nobody to hold it for */
        pthread_mutex_unlock(&vdev->lock);
        return true;
    }
    int rc = virtio_pop(vdev, NET_RX, e);
    if (rc <= 0) {
        /* XXX: slirp has no rx_ready: its frames are dropped here (TCP recovers). */
        bool drop = rc < 0 || !net->be->ops->rx_ready;
        if (drop)
            net->rx_dropped++;
        pthread_mutex_unlock(&vdev->lock);
        return drop;
    }
    uint8_t hdr[NET_VNET_HDR_SIZE] = {0};
    const uint8_t *payload = frame;
    size_t plen = len;
    if (net->be->vnet_hdr) {
        memcpy(hdr, frame, sizeof(hdr));
        payload += sizeof(hdr);
        plen -= sizeof(hdr);
        if (!virtio_has_feature(vdev, VIRTIO_NET_F_GUEST_CSUM))
            hdr[VNET_HDR_FLAGS] &= (uint8_t)~VIRTIO_NET_HDR_F_NEEDS_CSUM;
        hdr[VNET_HDR_GSO_TYPE] = VIRTIO_NET_HDR_GSO_NONE; /* no guest TSO offered */
    }
    hdr[VNET_HDR_NUM_BUFFERS] = 1; /* 5.1.6.3.1: 1 without MRG_RXBUF */
    uint32_t written = 0;
    if (e->in_len >= sizeof(hdr) + plen) {
        const struct iovec *in = &e->iov[e->n_out];
        virtq_buf_to_iov(in, e->n_in, 0, hdr, sizeof(hdr));
        virtq_buf_to_iov(in, e->n_in, sizeof(hdr), payload, plen);
        written = (uint32_t)(sizeof(hdr) + plen);
    } else {
        net->rx_dropped++; /* buffer too small: returned empty */
    }
    virtq_push(&vdev->queues[NET_RX].vq, e->head, written);
    virtio_notify_queue(vdev, NET_RX);
    pthread_mutex_unlock(&vdev->lock);
    return true;
}

static bool net_features_ok(struct virtio_dev *vdev, uint64_t f)
{
    /* 5.1.3.1: TSO needs checksum offload. */
    bool tso = f & (VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO4) | VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO6));
    return !tso || (f & VIRTIO_BIT(VIRTIO_NET_F_CSUM));
}

static void net_driver_ok(struct virtio_dev *vdev)
{
    struct virtio_net *net = vdev->opaque;
    if (net->be->ops->set_offload)
        net->be->ops->set_offload(
            net->be, virtio_has_feature(vdev, VIRTIO_NET_F_GUEST_CSUM) ? NET_OFFLOAD_CSUM : 0);
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
    /* XXX: no MRG_RXBUF, guest TSO, control queue or multiqueue. */
    uint64_t features = VIRTIO_BIT(VIRTIO_NET_F_MAC) | VIRTIO_BIT(VIRTIO_NET_F_STATUS);
    if (net->be->vnet_hdr)
        features |= VIRTIO_BIT(VIRTIO_NET_F_CSUM) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM) |
                    VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO4) | VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO6);
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
