/* Test helper: a machine without vCPUs or accelerator (guest RAM, PIO/MMIO buses, event loop,
 * PCI host whose interrupts are recorded) plus a minimal virtio-pci "driver" that programs a
 * device through its BARs the way a guest would. */
#ifndef EMBER_TESTS_FAKE_MACHINE_H
#define EMBER_TESTS_FAKE_MACHINE_H

#include <stdbool.h>
#include <stdint.h>

#include "core/vm.h"
#include "pci/pci.h"
#include "ring_builder.h"

#define FM_MAX_MSI 1024

struct fake_machine {
    struct vm vm; /* only mem, pio, mmio, loop and the device list are set up */
    struct pci_host *host;
    unsigned msi_count;
    uint64_t msi_addr[FM_MAX_MSI];
    uint32_t msi_data[FM_MAX_MSI];
    unsigned irq_changes;
    bool irq_level[64];
    unsigned ioeventfd_adds, ioeventfd_dels;
    uint64_t ioeventfd_addr;
    bool ioeventfd_supported;
};

int fm_init(struct fake_machine *fm, uint64_t ram_size);
void fm_destroy(struct fake_machine *fm);
/* Runs the event loop until it is idle for `idle_ms`. */
void fm_run(struct fake_machine *fm, int idle_ms);

/* Config space through mechanism #1. */
uint32_t fm_cfg_read(struct fake_machine *fm, unsigned slot, unsigned off, unsigned size);
void fm_cfg_write(struct fake_machine *fm, unsigned slot, unsigned off, unsigned size, uint32_t v);
uint64_t fm_mmio_read(struct fake_machine *fm, uint64_t addr, unsigned size);
void fm_mmio_write(struct fake_machine *fm, uint64_t addr, unsigned size, uint64_t v);

/* A virtio-pci driver for one function. */
struct vdrv {
    struct fake_machine *fm;
    unsigned slot;
    uint64_t bar0, bar1;
};

/* Finds the first function with this PCI device ID; returns false if none. */
bool vdrv_find(struct fake_machine *fm, uint16_t device_id, struct vdrv *d);
uint64_t vdrv_read(struct vdrv *d, unsigned off, unsigned size);
void vdrv_write(struct vdrv *d, unsigned off, unsigned size, uint64_t v);
uint64_t vdrv_device_features(struct vdrv *d);
/* ACKNOWLEDGE|DRIVER, write features, FEATURES_OK; returns the status read back. */
uint8_t vdrv_negotiate(struct vdrv *d, uint64_t features);
/* Programs queue q with ring r (laid out by the caller) and enables it. */
void vdrv_setup_queue(struct vdrv *d, unsigned q, struct ring *r, uint16_t msix_vector);
void vdrv_driver_ok(struct vdrv *d);
uint8_t vdrv_status(struct vdrv *d);
/* Enables MSI-X with vectors 0..n-1 unmasked, data = 0x40 + vector. */
void vdrv_enable_msix(struct vdrv *d, unsigned n);
/* Rings queue q's doorbell and lets the device process it. */
void vdrv_kick(struct vdrv *d, unsigned q);
/* Number of MSIs recorded with data 0x40 + vector. */
unsigned fm_msi_count_for(struct fake_machine *fm, unsigned vector);

#endif
