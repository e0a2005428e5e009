/* virtio-rng (virtio 1.2 sec. 5.4): an entropy device fed by the host's getrandom(2). */
#ifndef EMBER_VIRTIO_VIRTIO_RNG_H
#define EMBER_VIRTIO_VIRTIO_RNG_H

struct vm;
struct pci_host;
struct virtio_rng;

/* Adds a virtio-rng function to host; opts is NULL or "" (no options yet). Registered with
 * vm_add_device for reset and teardown. NULL on error (logged). */
struct virtio_rng *virtio_rng_create(struct vm *vm, struct pci_host *host, const char *opts);

#endif
