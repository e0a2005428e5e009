/* The virtio device core over the modern PCI transport (virtio 1.2 sec. 2 and 4.1): device
 * status and feature negotiation, the common/notify/ISR/device/PCI-cfg structures, virtqueue
 * setup, notifications (ioeventfd where the accelerator has it) and interrupts (MSI-X, else
 * INTx + ISR). A device model embeds a struct virtio_dev and fills a struct virtio_dev_ops. */
#ifndef EMBER_VIRTIO_VIRTIO_H
#define EMBER_VIRTIO_VIRTIO_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/event_loop.h"
#include "core/guest_mem.h"
#include "pci/pci.h"
#include "virtio/virtq.h"

struct vm;

/* Device status bits (2.1) */
#define VIRTIO_STATUS_ACKNOWLEDGE        1
#define VIRTIO_STATUS_DRIVER             2
#define VIRTIO_STATUS_DRIVER_OK          4
#define VIRTIO_STATUS_FEATURES_OK        8
#define VIRTIO_STATUS_DEVICE_NEEDS_RESET 64
#define VIRTIO_STATUS_FAILED             128

/* Reserved feature bits (6) */
#define VIRTIO_F_INDIRECT_DESC 28
#define VIRTIO_F_EVENT_IDX     29
#define VIRTIO_F_VERSION_1     32

#define VIRTIO_BIT(b) (1ULL << (b))

/* Device IDs (5) */
#define VIRTIO_ID_NET     1
#define VIRTIO_ID_BLOCK   2
#define VIRTIO_ID_CONSOLE 3
#define VIRTIO_ID_RNG     4

/* PCI transport (4.1) */
#define VIRTIO_PCI_VENDOR_ID      0x1AF4
#define VIRTIO_PCI_DEVICE_ID_BASE 0x1040
#define VIRTIO_PCI_SUBSYS_ID      0x1100
#define VIRTIO_MSI_NO_VECTOR      0xFFFF

#define VIRTIO_PCI_CAP_COMMON_CFG 1
#define VIRTIO_PCI_CAP_NOTIFY_CFG 2
#define VIRTIO_PCI_CAP_ISR_CFG    3
#define VIRTIO_PCI_CAP_DEVICE_CFG 4
#define VIRTIO_PCI_CAP_PCI_CFG    5

/* Common configuration structure offsets (4.1.4.3) */
#define VIRTIO_PCI_COMMON_DFSELECT  0x00
#define VIRTIO_PCI_COMMON_DF        0x04
#define VIRTIO_PCI_COMMON_GFSELECT  0x08
#define VIRTIO_PCI_COMMON_GF        0x0C
#define VIRTIO_PCI_COMMON_MSIX      0x10
#define VIRTIO_PCI_COMMON_NUMQ      0x12
#define VIRTIO_PCI_COMMON_STATUS    0x14
#define VIRTIO_PCI_COMMON_CFGGEN    0x15
#define VIRTIO_PCI_COMMON_Q_SELECT  0x16
#define VIRTIO_PCI_COMMON_Q_SIZE    0x18
#define VIRTIO_PCI_COMMON_Q_MSIX    0x1A
#define VIRTIO_PCI_COMMON_Q_ENABLE  0x1C
#define VIRTIO_PCI_COMMON_Q_NOFF    0x1E
#define VIRTIO_PCI_COMMON_Q_DESCLO  0x20
#define VIRTIO_PCI_COMMON_Q_DESCHI  0x24
#define VIRTIO_PCI_COMMON_Q_AVAILLO 0x28
#define VIRTIO_PCI_COMMON_Q_AVAILHI 0x2C
#define VIRTIO_PCI_COMMON_Q_USEDLO  0x30
#define VIRTIO_PCI_COMMON_Q_USEDHI  0x34
#define VIRTIO_PCI_COMMON_Q_NDATA   0x38
#define VIRTIO_PCI_COMMON_Q_RESET   0x3A
#define VIRTIO_PCI_COMMON_SIZE      0x3C

/* ember's layout of BAR 0 (virtio structures) and BAR 1 (MSI-X) */
#define VIRTIO_PCI_BAR_CFG        0
#define VIRTIO_PCI_BAR_MSIX       1
#define VIRTIO_PCI_COMMON_OFF     0x0000
#define VIRTIO_PCI_ISR_OFF        0x1000
#define VIRTIO_PCI_DEVICE_OFF     0x2000
#define VIRTIO_PCI_NOTIFY_OFF     0x3000
#define VIRTIO_PCI_REGION_SIZE    0x1000
#define VIRTIO_PCI_BAR_CFG_SIZE   0x4000
#define VIRTIO_PCI_NOTIFY_MULT    4
#define VIRTIO_PCI_MSIX_TABLE_OFF 0x000
#define VIRTIO_PCI_MSIX_PBA_OFF   0x800
#define VIRTIO_PCI_BAR_MSIX_SIZE  0x1000

#define VIRTIO_MAX_QUEUES 16

struct virtio_dev;

/* Device-model callbacks. All run with vdev->lock held. */
struct virtio_dev_ops {
    /* The driver notified queue q (on the event-loop thread). */
    void (*queue_notify)(struct virtio_dev *vdev, unsigned q);
    /* The driver wrote [off, off+size) of the device config area (bounds already checked);
     * value holds the bytes little-endian. Read-only configs leave it NULL. */
    void (*config_write)(struct virtio_dev *vdev, unsigned off, unsigned size, uint64_t value);
    /* Extra checks on the features the driver accepted; false refuses FEATURES_OK. */
    bool (*features_ok)(struct virtio_dev *vdev, uint64_t features);
    /* DRIVER_OK was set. */
    void (*driver_ok)(struct virtio_dev *vdev);
    /* Device reset: forget in-flight work (may wait for it, releasing nothing but what it owns). */
    void (*reset)(struct virtio_dev *vdev);
};

/* Per-queue transport state. */
struct virtio_queue {
    struct virtio_dev *vdev;
    unsigned index;
    struct virtq vq;
    uint16_t size; /* queue_size as written by the driver */
    uint16_t msix_vector;
    uint64_t desc, driver, device;
    bool enabled;
    int kick_fd;    /* eventfd: the driver notified this queue */
    bool ioeventfd; /* kick_fd registered with the accelerator */
    uint64_t ioeventfd_addr;
};

struct virtio_dev {
    const char *name;
    struct vm *vm;
    const struct guest_mem *mem;
    struct event_loop *loop;
    struct pci_device pci;
    const struct virtio_dev_ops *ops;
    void *opaque;         /* the device model */
    pthread_mutex_t lock; /* guards everything below and the device model's state */
    uint16_t device_id;
    uint64_t host_features;
    uint64_t guest_features;
    uint32_t dfselect, gfselect;
    uint8_t status;
    uint8_t config_generation;
    uint16_t config_vector;
    uint16_t queue_sel;
    uint8_t isr;
    unsigned nqueues;
    struct virtio_queue queues[VIRTIO_MAX_QUEUES];
    uint8_t *config; /* device-specific config, owned by the model */
    unsigned config_size;
    unsigned pcicfg_cap;           /* offset of the VIRTIO_PCI_CAP_PCI_CFG capability */
    bool registered;               /* on the PCI host */
    unsigned needs_reset_warnings; /* logged so far (rate limit) */
};

struct virtio_dev_params {
    const char *name;
    uint16_t device_id;
    uint32_t pci_class;
    uint64_t features; /* device-specific; VERSION_1/INDIRECT/EVENT_IDX are added */
    unsigned nqueues;
    uint16_t queue_size;
    void *config;
    unsigned config_size;
    const struct virtio_dev_ops *ops;
    void *opaque;
};

/* Builds the PCI function, the queues and their eventfds, and plugs it into host. Guest RAM
 * and the event loop are the VM's. Returns 0 or -errno (logged). */
int virtio_pci_init(struct virtio_dev *vdev, struct vm *vm, struct pci_host *host,
                    const struct virtio_dev_params *p);
/* The same with explicit RAM and event loop (unit tests without a running VM). */
int virtio_pci_init_with(struct virtio_dev *vdev, const struct guest_mem *mem,
                         struct event_loop *loop, struct pci_host *host,
                         const struct virtio_dev_params *p);
/* Unplugs from the PCI host, stops watching kick eventfds, closes them. */
void virtio_pci_teardown(struct virtio_dev *vdev);
/* System reset (all vCPUs paused). */
void virtio_pci_reset(struct virtio_dev *vdev);

/* With vdev->lock held: */
bool virtio_has_feature(const struct virtio_dev *vdev, unsigned bit);
bool virtio_driver_ok(const struct virtio_dev *vdev);
/* Interrupts the driver for queue q if the ring's suppression rules say so. */
void virtio_notify_queue(struct virtio_dev *vdev, unsigned q);
/* The device config changed: bump config_generation and interrupt. */
void virtio_notify_config(struct virtio_dev *vdev);
/* The driver broke the rules: set DEVICE_NEEDS_RESET, stop the queues, tell the driver. */
void virtio_set_needs_reset(struct virtio_dev *vdev, const char *why);
/* Pops from queue q, turning ring errors into DEVICE_NEEDS_RESET. 1, 0 or -EINVAL. */
int virtio_pop(struct virtio_dev *vdev, unsigned q, struct virtq_elem *elem);

/* BAR 0 access (exposed for the PCI-cfg capability and tests). */
uint64_t virtio_pci_bar_read(struct virtio_dev *vdev, uint64_t off, unsigned size);
void virtio_pci_bar_write(struct virtio_dev *vdev, uint64_t off, uint64_t value, unsigned size);

#endif
