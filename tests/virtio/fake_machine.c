/* Test helper: a VM-less machine and a minimal virtio-pci driver (see fake_machine.h). */
#include "fake_machine.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/memmap.h"
#include "virtio/virtio.h"

static int hook_set_irq(void *opaque, unsigned gsi, bool level)
{
    struct fake_machine *fm = opaque;
    if (gsi < 64)
        fm->irq_level[gsi] = level;
    fm->irq_changes++;
    return 0;
}

static int hook_signal_msi(void *opaque, uint64_t address, uint32_t data)
{
    struct fake_machine *fm = opaque;
    if (fm->msi_count < FM_MAX_MSI) {
        fm->msi_addr[fm->msi_count] = address;
        fm->msi_data[fm->msi_count] = data;
    }
    fm->msi_count++;
    return 0;
}

static int hook_add_ioeventfd(void *opaque, uint64_t addr, unsigned len, int fd)
{
    struct fake_machine *fm = opaque;
    if (!fm->ioeventfd_supported)
        return -EOPNOTSUPP;
    fm->ioeventfd_adds++;
    fm->ioeventfd_addr = addr;
    return 0;
}

static int hook_del_ioeventfd(void *opaque, uint64_t addr, unsigned len, int fd)
{
    struct fake_machine *fm = opaque;
    fm->ioeventfd_dels++;
    return 0;
}

static const struct pci_host_hooks hooks = {
    .set_irq = hook_set_irq,
    .signal_msi = hook_signal_msi,
    .add_ioeventfd = hook_add_ioeventfd,
    .del_ioeventfd = hook_del_ioeventfd,
};

int fm_init(struct fake_machine *fm, uint64_t ram_size)
{
    memset(fm, 0, sizeof(*fm));
    int rc = guest_mem_init(&fm->vm.mem, ram_size);
    if (rc < 0)
        return rc;
    if ((rc = iobus_init(&fm->vm.pio, "pio")) < 0 || (rc = iobus_init(&fm->vm.mmio, "mmio")) < 0 ||
        (rc = event_loop_init(&fm->vm.loop)) < 0)
        return rc;
    fm->host = pci_host_new(&fm->vm.pio, &fm->vm.mmio, &hooks, fm);
    return fm->host ? 0 : -ENOMEM;
}

void fm_destroy(struct fake_machine *fm)
{
    for (unsigned i = fm->vm.ndevices; i-- > 0;)
        if (fm->vm.devices[i].destroy)
            fm->vm.devices[i].destroy(fm->vm.devices[i].opaque);
    free(fm->vm.devices);
    pci_host_free(fm->host);
    event_loop_destroy(&fm->vm.loop);
    iobus_destroy(&fm->vm.mmio);
    iobus_destroy(&fm->vm.pio);
    guest_mem_destroy(&fm->vm.mem);
}

void fm_run(struct fake_machine *fm, int idle_ms)
{
    while (event_loop_run_once(&fm->vm.loop, idle_ms) > 0)
        ;
}

uint32_t fm_cfg_read(struct fake_machine *fm, unsigned slot, unsigned off, unsigned size)
{
    uint64_t v = 0;
    iobus_write(&fm->vm.pio, PORT_PCI_CONFIG, 4, 0x80000000u | slot << 11 | (off & 0xFC));
    iobus_read(&fm->vm.pio, PORT_PCI_CONFIG + 4 + (off & 3), size, &v);
    return (uint32_t)v;
}

void fm_cfg_write(struct fake_machine *fm, unsigned slot, unsigned off, unsigned size, uint32_t v)
{
    iobus_write(&fm->vm.pio, PORT_PCI_CONFIG, 4, 0x80000000u | slot << 11 | (off & 0xFC));
    iobus_write(&fm->vm.pio, PORT_PCI_CONFIG + 4 + (off & 3), size, v);
}

uint64_t fm_mmio_read(struct fake_machine *fm, uint64_t addr, unsigned size)
{
    uint64_t v = 0;
    iobus_read(&fm->vm.mmio, addr, size, &v);
    return v;
}

void fm_mmio_write(struct fake_machine *fm, uint64_t addr, unsigned size, uint64_t v)
{
    iobus_write(&fm->vm.mmio, addr, size, v);
}

bool vdrv_find(struct fake_machine *fm, uint16_t device_id, struct vdrv *d)
{
    for (unsigned s = 0; s < PCI_MAX_SLOTS; s++) {
        if (fm_cfg_read(fm, s, PCI_DEVICE_ID, 2) == device_id &&
            fm_cfg_read(fm, s, PCI_VENDOR_ID, 2) == VIRTIO_PCI_VENDOR_ID) {
            d->fm = fm;
            d->slot = s;
            d->bar0 = fm_cfg_read(fm, s, PCI_BASE_ADDRESS_0, 4) & ~0xFu;
            d->bar1 = fm_cfg_read(fm, s, PCI_BASE_ADDRESS_0 + 4, 4) & ~0xFu;
            return true;
        }
    }
    return false;
}

uint64_t vdrv_read(struct vdrv *d, unsigned off, unsigned size)
{
    return fm_mmio_read(d->fm, d->bar0 + off, size);
}

void vdrv_write(struct vdrv *d, unsigned off, unsigned size, uint64_t v)
{
    fm_mmio_write(d->fm, d->bar0 + off, size, v);
}

uint64_t vdrv_device_features(struct vdrv *d)
{
    vdrv_write(d, VIRTIO_PCI_COMMON_DFSELECT, 4, 0);
    uint64_t lo = vdrv_read(d, VIRTIO_PCI_COMMON_DF, 4);
    vdrv_write(d, VIRTIO_PCI_COMMON_DFSELECT, 4, 1);
    uint64_t hi = vdrv_read(d, VIRTIO_PCI_COMMON_DF, 4);
    return lo | hi << 32;
}

uint8_t vdrv_status(struct vdrv *d)
{
    return (uint8_t)vdrv_read(d, VIRTIO_PCI_COMMON_STATUS, 1);
}

uint8_t vdrv_negotiate(struct vdrv *d, uint64_t features)
{
    vdrv_write(d, VIRTIO_PCI_COMMON_STATUS, 1, 0);
    vdrv_write(d, VIRTIO_PCI_COMMON_STATUS, 1, VIRTIO_STATUS_ACKNOWLEDGE);
    vdrv_write(d, VIRTIO_PCI_COMMON_STATUS, 1, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    vdrv_write(d, VIRTIO_PCI_COMMON_GFSELECT, 4, 0);
    vdrv_write(d, VIRTIO_PCI_COMMON_GF, 4, (uint32_t)features);
    vdrv_write(d, VIRTIO_PCI_COMMON_GFSELECT, 4, 1);
    vdrv_write(d, VIRTIO_PCI_COMMON_GF, 4, (uint32_t)(features >> 32));
    vdrv_write(d, VIRTIO_PCI_COMMON_STATUS, 1,
               VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
    return vdrv_status(d);
}

void vdrv_setup_queue(struct vdrv *d, unsigned q, struct ring *r, uint16_t msix_vector)
{
    vdrv_write(d, VIRTIO_PCI_COMMON_Q_SELECT, 2, q);
    vdrv_write(d, VIRTIO_PCI_COMMON_Q_SIZE, 2, r->size);
    vdrv_write(d, VIRTIO_PCI_COMMON_Q_MSIX, 2, msix_vector);
    vdrv_write(d, VIRTIO_PCI_COMMON_Q_DESCLO, 4, (uint32_t)r->desc);
    vdrv_write(d, VIRTIO_PCI_COMMON_Q_DESCHI, 4, (uint32_t)(r->desc >> 32));
    vdrv_write(d, VIRTIO_PCI_COMMON_Q_AVAILLO, 4, (uint32_t)r->avail);
    vdrv_write(d, VIRTIO_PCI_COMMON_Q_AVAILHI, 4, (uint32_t)(r->avail >> 32));
    vdrv_write(d, VIRTIO_PCI_COMMON_Q_USEDLO, 8, r->used);
    vdrv_write(d, VIRTIO_PCI_COMMON_Q_ENABLE, 2, 1);
}

void vdrv_driver_ok(struct vdrv *d)
{
    uint8_t s = vdrv_status(d);
    vdrv_write(d, VIRTIO_PCI_COMMON_STATUS, 1, s | VIRTIO_STATUS_DRIVER_OK);
}

void vdrv_enable_msix(struct vdrv *d, unsigned n)
{
    for (unsigned v = 0; v < n; v++) {
        uint64_t e = d->bar1 + VIRTIO_PCI_MSIX_TABLE_OFF + 16 * v;
        fm_mmio_write(d->fm, e, 4, MEMMAP_LAPIC_BASE);
        fm_mmio_write(d->fm, e + 4, 4, 0);
        fm_mmio_write(d->fm, e + 8, 4, 0x40 + v);
        fm_mmio_write(d->fm, e + 12, 4, 0);
    }
    /* Find the MSI-X capability and set Enable. */
    unsigned cap = fm_cfg_read(d->fm, d->slot, PCI_CAPABILITY_LIST, 1);
    while (cap && fm_cfg_read(d->fm, d->slot, cap, 1) != PCI_CAP_ID_MSIX)
        cap = fm_cfg_read(d->fm, d->slot, cap + 1, 1);
    uint16_t ctl = (uint16_t)fm_cfg_read(d->fm, d->slot, cap + PCI_MSIX_FLAGS, 2);
    fm_cfg_write(d->fm, d->slot, cap + PCI_MSIX_FLAGS, 2, ctl | PCI_MSIX_FLAGS_ENABLE);
}

void vdrv_kick(struct vdrv *d, unsigned q)
{
    vdrv_write(d, VIRTIO_PCI_NOTIFY_OFF + VIRTIO_PCI_NOTIFY_MULT * q, 2, q);
    fm_run(d->fm, 0);
}

unsigned fm_msi_count_for(struct fake_machine *fm, unsigned vector)
{
    unsigned n = 0;
    for (unsigned i = 0; i < fm->msi_count && i < FM_MAX_MSI; i++)
        if (fm->msi_data[i] == 0x40 + vector)
            n++;
    return n;
}
