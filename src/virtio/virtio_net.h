/* virtio-net (virtio 1.2 sec. 5.1): one queue pair on a virtio-pci function, backed by a tap
 * device or libslirp user networking (src/net). */
#ifndef EMBER_VIRTIO_VIRTIO_NET_H
#define EMBER_VIRTIO_VIRTIO_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vm;
struct pci_host;
struct virtio_net;

/* opts is the --net string: "tap=IFNAME[,mac=XX:XX:XX:XX:XX:XX][,mtu=N]" or
 * "user[,hostfwd=tcp::HOSTPORT-:GUESTPORT]...[,mac=...][,mtu=N]". Registered with
 * vm_add_device. NULL on error (logged). */
struct virtio_net *virtio_net_create(struct vm *vm, struct pci_host *host, const char *opts);

/* Hands the device a frame the way its backend does (a vnet header first when the backend
 * has one; any thread): what unit tests use to feed crafted frames. False if the guest had
 * no buffer for it and the backend would hold it (tap); a frame is otherwise taken or
 * dropped. */
bool virtio_net_receive(struct virtio_net *net, const uint8_t *frame, size_t len);
/* Frames dropped so far on receive and on transmit (bad headers, no or short buffers). */
void virtio_net_counters(struct virtio_net *net, uint64_t *rx_dropped, uint64_t *tx_dropped);

#endif
