/* virtio-net (virtio 1.2 sec. 5.1): one queue pair on a virtio-pci function, backed by a tap
 * device or libslirp user networking (src/net). */
#ifndef EMBER_VIRTIO_VIRTIO_NET_H
#define EMBER_VIRTIO_VIRTIO_NET_H

struct vm;
struct pci_host;
struct virtio_net;

/* opts is the --net string: "tap=IFNAME[,mac=XX:XX:XX:XX:XX:XX]" or
 * "user[,hostfwd=tcp::HOSTPORT-:GUESTPORT]...[,mac=...]". Registered with vm_add_device.
 * NULL on error (logged). */
struct virtio_net *virtio_net_create(struct vm *vm, struct pci_host *host, const char *opts);

#endif
