/* The PCI host bridge of bus 0: configuration mechanism #1 (ports 0xCF8/0xCFC, PCI 3.0
 * sec. 3.2.2.3.2), ECAM (PCIe 4.0 sec. 7.2.2) at MEMMAP_PCI_ECAM_BASE, slot allocation and
 * the initial BAR assignment a firmware would do. */
#include "pci/pci_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/memmap.h"
#include "core/vm.h"
#include "util/log.h"

#define PCI_HOST_VENDOR    0x1B36 /* generic PCIe host bridge IDs (class 06:00:00) */
#define PCI_HOST_DEVICE    0x0008
#define PCI_IO_WINDOW_BASE 0xC000
#define PCI_IO_WINDOW_END  0x10000

static uint32_t all_ones(unsigned size)
{
    return size >= 4 ? 0xFFFFFFFFu : (1u << (8 * size)) - 1;
}

/* Looks up bus/devfn; only function 0 of devices on bus 0 exists. Host lock held.
 * XXX: no bridges, no multi-function devices. */
static struct pci_device *find_device(struct pci_host *h, unsigned bus, unsigned devfn)
{
    if (bus != 0 || (devfn & 7) != 0 || (devfn >> 3) >= PCI_MAX_SLOTS)
        return NULL;
    return h->slots[devfn >> 3];
}

uint32_t pci_host_config_read(struct pci_host *h, unsigned bus, unsigned devfn, unsigned off,
                              unsigned size)
{
    if ((size != 1 && size != 2 && size != 4) || (off & (size - 1)) || off >= PCI_CFG_EXP_SIZE)
        return all_ones(size);
    pthread_mutex_lock(&h->lock);
    struct pci_device *dev = find_device(h, bus, devfn);
    uint32_t v = dev ? pci_device_config_read(dev, off, size) : all_ones(size);
    pthread_mutex_unlock(&h->lock);
    return v;
}

void pci_host_config_write(struct pci_host *h, unsigned bus, unsigned devfn, unsigned off,
                           unsigned size, uint32_t value)
{
    if ((size != 1 && size != 2 && size != 4) || (off & (size - 1)) || off >= PCI_CFG_EXP_SIZE)
        return;
    pthread_mutex_lock(&h->lock);
    struct pci_device *dev = find_device(h, bus, devfn);
    if (dev)
        pci_device_config_write(dev, off, size, value);
    pthread_mutex_unlock(&h->lock);
}

/* ---- mechanism #1: 0xCF8 address, 0xCFC..0xCFF data ---- */

static uint64_t conf1_read(void *opaque, uint64_t offset, unsigned size)
{
    struct pci_host *h = opaque;
    if (offset < 4) {
        if (offset != 0 || size != 4)
            return all_ones(size); /* only dword accesses reach the address register */
        pthread_mutex_lock(&h->lock);
        uint32_t a = h->conf1_addr;
        pthread_mutex_unlock(&h->lock);
        return a;
    }
    unsigned byte = (unsigned)offset - 4;
    if (size > 4 || byte + size > 4)
        return all_ones(size);
    pthread_mutex_lock(&h->lock);
    uint32_t a = h->conf1_addr;
    pthread_mutex_unlock(&h->lock);
    if (!(a & PCI_CONF1_ENABLE))
        return all_ones(size);
    unsigned devfn = PCI_CONF1_DEV(a) << 3 | PCI_CONF1_FN(a);
    return pci_host_config_read(h, PCI_CONF1_BUS(a), devfn, PCI_CONF1_REG(a) + byte, size);
}

static void conf1_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    struct pci_host *h = opaque;
    if (offset < 4) {
        if (offset == 0 && size == 4) {
            pthread_mutex_lock(&h->lock);
            h->conf1_addr = (uint32_t)value & (PCI_CONF1_ENABLE | 0x00FFFFFCu);
            pthread_mutex_unlock(&h->lock);
        }
        return;
    }
    unsigned byte = (unsigned)offset - 4;
    if (size > 4 || byte + size > 4)
        return;
    pthread_mutex_lock(&h->lock);
    uint32_t a = h->conf1_addr;
    pthread_mutex_unlock(&h->lock);
    if (!(a & PCI_CONF1_ENABLE))
        return;
    unsigned devfn = PCI_CONF1_DEV(a) << 3 | PCI_CONF1_FN(a);
    pci_host_config_write(h, PCI_CONF1_BUS(a), devfn, PCI_CONF1_REG(a) + byte, size,
                          (uint32_t)value);
}

static const struct iobus_ops conf1_ops = {.read = conf1_read, .write = conf1_write};

/* ---- ECAM ---- */

static uint64_t ecam_read(void *opaque, uint64_t offset, unsigned size)
{
    struct pci_host *h = opaque;
    unsigned devfn = PCI_ECAM_DEV(offset) << 3 | PCI_ECAM_FN(offset);
    unsigned reg = PCI_ECAM_REG(offset);
    if (size == 8) { /* split into two dwords, as a root complex would */
        if (reg & 7)
            return ~0ULL;
        uint64_t lo = pci_host_config_read(h, PCI_ECAM_BUS(offset), devfn, reg, 4);
        uint64_t hi = pci_host_config_read(h, PCI_ECAM_BUS(offset), devfn, reg + 4, 4);
        return lo | hi << 32;
    }
    return pci_host_config_read(h, PCI_ECAM_BUS(offset), devfn, reg, size);
}

static void ecam_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    struct pci_host *h = opaque;
    unsigned devfn = PCI_ECAM_DEV(offset) << 3 | PCI_ECAM_FN(offset);
    unsigned reg = PCI_ECAM_REG(offset);
    if (size == 8) {
        if (reg & 7)
            return;
        pci_host_config_write(h, PCI_ECAM_BUS(offset), devfn, reg, 4, (uint32_t)value);
        pci_host_config_write(h, PCI_ECAM_BUS(offset), devfn, reg + 4, 4, (uint32_t)(value >> 32));
        return;
    }
    pci_host_config_write(h, PCI_ECAM_BUS(offset), devfn, reg, size, (uint32_t)value);
}

static const struct iobus_ops ecam_ops = {.read = ecam_read, .write = ecam_write};

/* ---- lifecycle ---- */

struct pci_host *pci_host_new(struct iobus *pio, struct iobus *mmio,
                              const struct pci_host_hooks *hooks, void *hooks_opaque)
{
    struct pci_host *h = calloc(1, sizeof(*h));
    if (!h) {
        log_error("pci: out of memory");
        return NULL;
    }
    h->pio = pio;
    h->mmio = mmio;
    if (hooks)
        h->hooks = *hooks;
    h->hooks_opaque = hooks_opaque;
    pthread_mutex_init(&h->lock, NULL);
    h->mmio_base = h->mmio_next = MEMMAP_PCI_MMIO_BASE;
    h->mmio_end = MEMMAP_PCI_MMIO_BASE + MEMMAP_PCI_MMIO_SIZE;
    h->io_base = h->io_next = PCI_IO_WINDOW_BASE;
    h->io_end = PCI_IO_WINDOW_END;
    h->ecam_base = MEMMAP_PCI_ECAM_BASE;

    pci_device_init(&h->bridge, "pci-host", PCI_HOST_VENDOR, PCI_HOST_DEVICE, 0, 0x060000, 0, 0,
                    NULL, NULL);
    pci_cfg_set8(&h->bridge, PCI_INTERRUPT_PIN, 0);
    h->bridge.wmask[PCI_INTERRUPT_LINE] = 0;
    h->bridge.host = h;
    h->bridge.slot = 0;
    memcpy(h->bridge.cfg_reset, h->bridge.cfg, sizeof(h->bridge.cfg));
    h->slots[0] = &h->bridge;

    int rc = iobus_register(pio, PORT_PCI_CONFIG, 8, &conf1_ops, h, "pci-conf1");
    if (rc < 0) {
        log_error("pci: cannot claim ports 0x%x-0x%x: %d", PORT_PCI_CONFIG, PORT_PCI_CONFIG + 7,
                  rc);
        free(h);
        return NULL;
    }
    rc = iobus_register(mmio, h->ecam_base, MEMMAP_PCI_ECAM_SIZE, &ecam_ops, h, "pci-ecam");
    if (rc < 0) {
        log_error("pci: cannot claim ECAM at 0x%llx: %d", (unsigned long long)h->ecam_base, rc);
        iobus_unregister(pio, PORT_PCI_CONFIG, h);
        free(h);
        return NULL;
    }
    h->registered = true;
    return h;
}

void pci_host_free(struct pci_host *h)
{
    if (!h)
        return;
    pthread_mutex_lock(&h->lock);
    for (unsigned s = 1; s < PCI_MAX_SLOTS; s++) {
        if (h->slots[s]) {
            pci_device_unmap_bars(h->slots[s]);
            h->slots[s]->host = NULL;
            h->slots[s] = NULL;
        }
    }
    pthread_mutex_unlock(&h->lock);
    if (h->registered) {
        iobus_unregister(h->pio, PORT_PCI_CONFIG, h);
        iobus_unregister(h->mmio, h->ecam_base, h);
    }
    pthread_mutex_destroy(&h->lock);
    free(h);
}

void pci_host_reset(struct pci_host *h)
{
    pthread_mutex_lock(&h->lock);
    h->conf1_addr = 0;
    for (unsigned s = 0; s < PCI_MAX_SLOTS; s++)
        if (h->slots[s])
            pci_device_reset_config(h->slots[s]);
    pthread_mutex_unlock(&h->lock);
}

/* Gives BAR n its first address: aligned to its size inside the window. Host lock held.
 * XXX: a bump allocator; space of unregistered devices is not reused (no hot-unplug yet). */
static int alloc_bar(struct pci_host *h, struct pci_device *dev, unsigned n)
{
    struct pci_bar *bar = &dev->bars[n];
    uint64_t *next = bar->type == PCI_BAR_IO ? &h->io_next : &h->mmio_next;
    uint64_t end = bar->type == PCI_BAR_IO ? h->io_end : h->mmio_end;
    uint64_t addr = (*next + bar->size - 1) & ~(bar->size - 1);
    if (addr + bar->size > end || addr + bar->size < addr)
        return -ENOSPC;
    *next = addr + bar->size;
    bar->alloc_addr = addr;
    uint32_t reg = pci_cfg_get(dev, PCI_BASE_ADDRESS_0 + 4 * n, 4);
    pci_cfg_set32(dev, PCI_BASE_ADDRESS_0 + 4 * n, (uint32_t)addr | (reg & 0xF));
    return 0;
}

int pci_device_register(struct pci_host *h, struct pci_device *dev)
{
    pthread_mutex_lock(&h->lock);
    unsigned slot = 0;
    for (unsigned s = 1; s < PCI_MAX_SLOTS && !slot; s++)
        if (!h->slots[s])
            slot = s;
    if (!slot) {
        pthread_mutex_unlock(&h->lock);
        log_error("pci: no free slot for %s", dev->name);
        return -ENOSPC;
    }
    uint64_t saved_mmio = h->mmio_next, saved_io = h->io_next;
    uint16_t cmd = 0;
    for (unsigned n = 0; n < PCI_NUM_BARS; n++) {
        if (dev->bars[n].type == PCI_BAR_NONE)
            continue;
        if (alloc_bar(h, dev, n) < 0) {
            h->mmio_next = saved_mmio;
            h->io_next = saved_io;
            pthread_mutex_unlock(&h->lock);
            log_error("pci: no room in the PCI window for BAR%u of %s", n, dev->name);
            return -ENOSPC;
        }
        cmd |= dev->bars[n].type == PCI_BAR_IO ? PCI_COMMAND_IO : PCI_COMMAND_MEMORY;
    }
    dev->host = h;
    dev->slot = slot;
    pci_cfg_set8(dev, PCI_INTERRUPT_LINE, (uint8_t)PCI_INTX_GSI(slot, 0));
    pci_cfg_set16(dev, PCI_COMMAND, cmd);
    memcpy(dev->cfg_reset, dev->cfg, sizeof(dev->cfg));
    atomic_store(&dev->intx_disabled, false);
    h->slots[slot] = dev;
    pci_device_update_bars(dev);
    pthread_mutex_unlock(&h->lock);
    log_debug("pci: %s at 00:%02x.0", dev->name, slot);
    return 0;
}

void pci_device_unregister(struct pci_device *dev)
{
    struct pci_host *h = dev->host;
    if (!h)
        return;
    pci_set_intx(dev, false);
    pthread_mutex_lock(&h->lock);
    pci_device_unmap_bars(dev);
    if (dev->slot < PCI_MAX_SLOTS && h->slots[dev->slot] == dev)
        h->slots[dev->slot] = NULL;
    dev->host = NULL;
    pthread_mutex_unlock(&h->lock);
}

/* ---- wiring to a VM ---- */

static int vm_hook_set_irq(void *opaque, unsigned gsi, bool level)
{
    return vm_set_irq(opaque, gsi, level);
}

static int vm_hook_signal_msi(void *opaque, uint64_t address, uint32_t data)
{
    return vm_signal_msi(opaque, address, data);
}

static int vm_hook_add_ioeventfd(void *opaque, uint64_t addr, unsigned len, int fd)
{
    return vm_add_ioeventfd(opaque, false, addr, len, false, 0, fd);
}

static int vm_hook_del_ioeventfd(void *opaque, uint64_t addr, unsigned len, int fd)
{
    return vm_del_ioeventfd(opaque, false, addr, len, false, 0, fd);
}

static const struct pci_host_hooks vm_hooks = {
    .set_irq = vm_hook_set_irq,
    .signal_msi = vm_hook_signal_msi,
    .add_ioeventfd = vm_hook_add_ioeventfd,
    .del_ioeventfd = vm_hook_del_ioeventfd,
};

static void host_reset_hook(void *opaque)
{
    pci_host_reset(opaque);
}

static void host_destroy_hook(void *opaque)
{
    pci_host_free(opaque);
}

struct pci_host *pci_host_create(struct vm *vm)
{
    struct pci_host *h = pci_host_new(&vm->pio, &vm->mmio, &vm_hooks, vm);
    if (!h)
        return NULL;
    h->vm = vm;
    struct vm_device d = {
        .name = "pci-host", .opaque = h, .reset = host_reset_hook, .destroy = host_destroy_hook};
    int rc = vm_add_device(vm, &d);
    if (rc < 0) {
        log_error("pci: cannot register the host bridge: %d", rc);
        pci_host_free(h);
        return NULL;
    }
    return h;
}
