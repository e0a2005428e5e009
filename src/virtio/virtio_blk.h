/* virtio-blk (virtio 1.2 sec. 5.2): a disk from the block layer (src/block) on a virtio-pci
 * function; I/O runs on the block layer's io_uring thread, never on vCPU threads. */
#ifndef EMBER_VIRTIO_VIRTIO_BLK_H
#define EMBER_VIRTIO_VIRTIO_BLK_H

struct vm;
struct pci_host;
struct virtio_blk;

/* opts is the --disk string: "path=FILE[,readonly=on|off][,id=NAME][,format=raw|qcow2]".
 * id (at most 20 bytes) is the serial the guest reads with GET_ID (default "ember-diskN" by
 * slot). Registered with vm_add_device. NULL on error (logged, naming the problem). */
struct virtio_blk *virtio_blk_create(struct vm *vm, struct pci_host *host, const char *opts);

#endif
