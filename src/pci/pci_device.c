/* The generic PCI function: type 0 configuration header with writable / write-1-to-clear masks,
 * BAR sizing and remapping on guest writes, the capabilities list, INTx (PCI Local Bus 3.0
 * ch. 6.1-6.2, 6.7). All config-space functions here run with the host's lock held. */
#include "pci/pci_internal.h"

#include <errno.h>
#include <string.h>

#include "core/memmap.h"
#include "util/log.h"

void pci_cfg_set8(struct pci_device *dev, unsigned off, uint8_t v)
{
    dev->cfg[off] = v;
}

void pci_cfg_set16(struct pci_device *dev, unsigned off, uint16_t v)
{
    dev->cfg[off] = (uint8_t)v;
    dev->cfg[off + 1] = (uint8_t)(v >> 8);
}

void pci_cfg_set32(struct pci_device *dev, unsigned off, uint32_t v)
{
    for (unsigned i = 0; i < 4; i++)
        dev->cfg[off + i] = (uint8_t)(v >> (8 * i));
}

uint32_t pci_cfg_get(const struct pci_device *dev, unsigned off, unsigned size)
{
    uint32_t v = 0;
    for (unsigned i = 0; i < size && off + i < PCI_CFG_EXP_SIZE; i++)
        v |= (uint32_t)dev->cfg[off + i] << (8 * i);
    return v;
}

void pci_device_set_wmask(struct pci_device *dev, unsigned off, unsigned len, uint8_t mask)
{
    for (unsigned i = 0; i < len && off + i < PCI_CFG_EXP_SIZE; i++)
        dev->wmask[off + i] = mask;
}

void pci_device_init(struct pci_device *dev, const char *name, uint16_t vendor, uint16_t device,
                     uint8_t revision, uint32_t class_code, uint16_t subsys_vendor,
                     uint16_t subsys_id, const struct pci_device_ops *ops, void *opaque)
{
    memset(dev, 0, sizeof(*dev));
    dev->name = name;
    dev->ops = ops;
    dev->opaque = opaque;
    pci_cfg_set16(dev, PCI_VENDOR_ID, vendor);
    pci_cfg_set16(dev, PCI_DEVICE_ID, device);
    pci_cfg_set8(dev, PCI_REVISION_ID, revision);
    pci_cfg_set8(dev, PCI_CLASS_PROG, (uint8_t)class_code);
    pci_cfg_set16(dev, PCI_CLASS_DEVICE, (uint16_t)(class_code >> 8));
    pci_cfg_set8(dev, PCI_HEADER_TYPE, PCI_HEADER_TYPE_NORMAL);
    pci_cfg_set16(dev, PCI_SUBSYSTEM_VENDOR_ID, subsys_vendor);
    pci_cfg_set16(dev, PCI_SUBSYSTEM_ID, subsys_id);
    pci_cfg_set8(dev, PCI_INTERRUPT_PIN, 1); /* INTA# */
    uint16_t cmd_mask = PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER |
                        PCI_COMMAND_PARITY | PCI_COMMAND_SERR | PCI_COMMAND_INTX_DISABLE;
    dev->wmask[PCI_COMMAND] = (uint8_t)cmd_mask;
    dev->wmask[PCI_COMMAND + 1] = (uint8_t)(cmd_mask >> 8);
    dev->wmask[PCI_CACHE_LINE_SIZE] = 0xFF;
    dev->wmask[PCI_LATENCY_TIMER] = 0xFF;
    dev->wmask[PCI_INTERRUPT_LINE] = 0xFF;
    dev->next_cap = PCI_STD_HEADER_END;
    pthread_mutex_init(&dev->irq_lock, NULL);
    pthread_mutex_init(&dev->msix.lock, NULL);
}

static bool is_pow2(uint64_t v)
{
    return v && !(v & (v - 1));
}

int pci_device_add_bar(struct pci_device *dev, unsigned n, enum pci_bar_type type, uint64_t size,
                       const struct iobus_ops *ops, void *opaque)
{
    if (n >= PCI_NUM_BARS || dev->bars[n].type != PCI_BAR_NONE || !is_pow2(size) || !ops)
        return -EINVAL;
    if (type == PCI_BAR_MEM32 && (size < 4096 || size > (256 * MiB)))
        return -EINVAL;
    if (type == PCI_BAR_IO && (size < 4 || size > 256))
        return -EINVAL;
    /* XXX: no 64-bit or prefetchable BARs (everything fits the 512 MiB window below 4 GiB). */
    if (type != PCI_BAR_MEM32 && type != PCI_BAR_IO)
        return -EINVAL;
    struct pci_bar *bar = &dev->bars[n];
    bar->type = type;
    bar->size = size;
    bar->ops = ops;
    bar->opaque = opaque;
    unsigned reg = PCI_BASE_ADDRESS_0 + 4 * n;
    uint32_t low_bits = type == PCI_BAR_IO ? PCI_BASE_ADDRESS_SPACE_IO : 0;
    uint32_t mask = (uint32_t) ~(size - 1) &
                    (type == PCI_BAR_IO ? PCI_BASE_ADDRESS_IO_MASK : PCI_BASE_ADDRESS_MEM_MASK);
    pci_cfg_set32(dev, reg, low_bits);
    for (unsigned i = 0; i < 4; i++)
        dev->wmask[reg + i] = (uint8_t)(mask >> (8 * i));
    return 0;
}

int pci_device_add_capability(struct pci_device *dev, uint8_t id, unsigned len)
{
    unsigned off = (dev->next_cap + 3u) & ~3u;
    if (len < 2 || off + len > PCI_CFG_SIZE)
        return -ENOSPC;
    dev->cfg[off + PCI_CAP_LIST_ID] = id;
    dev->cfg[off + PCI_CAP_LIST_NEXT] = 0;
    if (dev->last_cap)
        dev->cfg[dev->last_cap + PCI_CAP_LIST_NEXT] = (uint8_t)off;
    else
        dev->cfg[PCI_CAPABILITY_LIST] = (uint8_t)off;
    dev->cfg[PCI_STATUS] |= PCI_STATUS_CAP_LIST;
    dev->last_cap = (uint8_t)off;
    dev->next_cap = (uint8_t)(off + len);
    return (int)off;
}

uint64_t pci_device_bar_addr(struct pci_device *dev, unsigned n)
{
    if (n >= PCI_NUM_BARS)
        return 0;
    struct pci_host *host = dev->host;
    if (host)
        pthread_mutex_lock(&host->lock);
    uint64_t addr = dev->bars[n].mapped ? dev->bars[n].mapped_addr : 0;
    if (host)
        pthread_mutex_unlock(&host->lock);
    return addr;
}

/* ---- BAR decoding ---- */

/* Where BAR n should be mapped per COMMAND and the BAR register, or false if nowhere.
 * The address comes from the guest: it is accepted only inside the host's windows. */
static bool bar_wanted(struct pci_device *dev, unsigned n, uint64_t *addr)
{
    const struct pci_bar *bar = &dev->bars[n];
    uint16_t cmd = (uint16_t)pci_cfg_get(dev, PCI_COMMAND, 2);
    uint32_t reg = pci_cfg_get(dev, PCI_BASE_ADDRESS_0 + 4 * n, 4);
    struct pci_host *h = dev->host;
    if (bar->type == PCI_BAR_MEM32) {
        uint64_t a = reg & PCI_BASE_ADDRESS_MEM_MASK;
        if (!(cmd & PCI_COMMAND_MEMORY) || a < h->mmio_base || a + bar->size > h->mmio_end)
            return false;
        *addr = a;
        return true;
    }
    if (bar->type == PCI_BAR_IO) {
        uint64_t a = reg & PCI_BASE_ADDRESS_IO_MASK;
        if (!(cmd & PCI_COMMAND_IO) || a < h->io_base || a + bar->size > h->io_end)
            return false;
        *addr = a;
        return true;
    }
    return false;
}

static struct iobus *bar_bus(struct pci_device *dev, unsigned n)
{
    return dev->bars[n].type == PCI_BAR_IO ? dev->host->pio : dev->host->mmio;
}

static void bar_unmap(struct pci_device *dev, unsigned n)
{
    struct pci_bar *bar = &dev->bars[n];
    if (!bar->mapped)
        return;
    if (dev->ops && dev->ops->bar_mapped)
        dev->ops->bar_mapped(dev, n, false, bar->mapped_addr);
    int rc = iobus_unregister(bar_bus(dev, n), bar->mapped_addr, bar->opaque);
    if (rc < 0)
        log_warn("pci %s: BAR%u unmap at 0x%llx failed: %d", dev->name, n,
                 (unsigned long long)bar->mapped_addr, rc);
    bar->mapped = false;
}

/* Does [addr, addr+size) overlap another mapped BAR of the same kind on this host? Checked
 * here so a guest programming overlapping BARs costs nothing but a debug message. */
static bool bar_conflicts(struct pci_device *dev, unsigned n, uint64_t addr)
{
    const struct pci_bar *bar = &dev->bars[n];
    struct pci_host *h = dev->host;
    for (unsigned s = 0; s < PCI_MAX_SLOTS; s++) {
        struct pci_device *o = h->slots[s];
        for (unsigned i = 0; o && i < PCI_NUM_BARS; i++) {
            const struct pci_bar *ob = &o->bars[i];
            if ((o == dev && i == n) || !ob->mapped ||
                (ob->type == PCI_BAR_IO) != (bar->type == PCI_BAR_IO))
                continue;
            if (addr < ob->mapped_addr + ob->size && ob->mapped_addr < addr + bar->size)
                return true;
        }
    }
    return false;
}

static void bar_map(struct pci_device *dev, unsigned n, uint64_t addr)
{
    struct pci_bar *bar = &dev->bars[n];
    if (bar_conflicts(dev, n, addr)) {
        log_debug("pci %s: BAR%u at 0x%llx overlaps another BAR; not mapped", dev->name, n,
                  (unsigned long long)addr);
        return;
    }
    int rc = iobus_register(bar_bus(dev, n), addr, bar->size, bar->ops, bar->opaque, dev->name);
    if (rc < 0) {
        /* A guest may program overlapping BARs; the BAR then decodes nothing. */
        log_debug("pci %s: BAR%u at 0x%llx not mapped: %d", dev->name, n, (unsigned long long)addr,
                  rc);
        return;
    }
    bar->mapped = true;
    bar->mapped_addr = addr;
    if (dev->ops && dev->ops->bar_mapped)
        dev->ops->bar_mapped(dev, n, true, addr);
}

void pci_device_update_bars(struct pci_device *dev)
{
    for (unsigned n = 0; n < PCI_NUM_BARS; n++) {
        struct pci_bar *bar = &dev->bars[n];
        if (bar->type == PCI_BAR_NONE)
            continue;
        uint64_t addr = 0;
        bool want = bar_wanted(dev, n, &addr);
        if (bar->mapped && want && bar->mapped_addr == addr)
            continue;
        bar_unmap(dev, n);
        if (want)
            bar_map(dev, n, addr);
    }
}

void pci_device_unmap_bars(struct pci_device *dev)
{
    for (unsigned n = 0; n < PCI_NUM_BARS; n++)
        bar_unmap(dev, n);
}

/* ---- INTx ---- */

static void intx_update_locked(struct pci_device *dev)
{
    bool want = dev->intx_level && !atomic_load(&dev->intx_disabled);
    if (want == dev->intx_asserted || !dev->host)
        return;
    struct pci_host *h = dev->host;
    dev->intx_asserted = want;
    if (h->hooks.set_irq) {
        int rc = h->hooks.set_irq(h->hooks_opaque, PCI_INTX_GSI(dev->slot, 0), want);
        if (rc < 0)
            log_warn("pci %s: INTx to GSI %u failed: %d", dev->name,
                     (unsigned)PCI_INTX_GSI(dev->slot, 0), rc);
    }
}

void pci_set_intx(struct pci_device *dev, bool level)
{
    pthread_mutex_lock(&dev->irq_lock);
    dev->intx_level = level;
    intx_update_locked(dev);
    pthread_mutex_unlock(&dev->irq_lock);
}

static void intx_command_written(struct pci_device *dev)
{
    uint16_t cmd = (uint16_t)pci_cfg_get(dev, PCI_COMMAND, 2);
    pthread_mutex_lock(&dev->irq_lock);
    atomic_store(&dev->intx_disabled, (cmd & PCI_COMMAND_INTX_DISABLE) != 0);
    intx_update_locked(dev);
    pthread_mutex_unlock(&dev->irq_lock);
}

/* ---- config space accesses ---- */

static bool overlaps(unsigned off, unsigned size, unsigned start, unsigned len)
{
    return off < start + len && start < off + size;
}

uint32_t pci_device_config_read(struct pci_device *dev, unsigned off, unsigned size)
{
    uint32_t v = pci_cfg_get(dev, off, size);
    if (overlaps(off, size, PCI_STATUS, 1)) {
        pthread_mutex_lock(&dev->irq_lock);
        bool level = dev->intx_level;
        pthread_mutex_unlock(&dev->irq_lock);
        unsigned shift = 8 * (PCI_STATUS - off);
        if (level)
            v |= (uint32_t)PCI_STATUS_INTERRUPT << shift;
    }
    if (dev->ops && dev->ops->config_read)
        dev->ops->config_read(dev, off, size, &v);
    return v;
}

void pci_device_config_write(struct pci_device *dev, unsigned off, unsigned size, uint32_t value)
{
    for (unsigned i = 0; i < size; i++) {
        unsigned o = off + i;
        uint8_t b = (uint8_t)(value >> (8 * i));
        uint8_t nv = (uint8_t)((dev->cfg[o] & ~dev->wmask[o]) | (b & dev->wmask[o]));
        nv &= (uint8_t) ~(b & dev->w1cmask[o]);
        dev->cfg[o] = nv;
    }
    if (overlaps(off, size, PCI_COMMAND, 2))
        intx_command_written(dev);
    if (overlaps(off, size, PCI_COMMAND, 2) ||
        overlaps(off, size, PCI_BASE_ADDRESS_0, 4 * PCI_NUM_BARS))
        pci_device_update_bars(dev);
    if (dev->msix.nvec && overlaps(off, size, dev->msix.cap + PCI_MSIX_FLAGS, 2))
        pci_msix_control_written(dev);
    if (dev->ops && dev->ops->config_write)
        dev->ops->config_write(dev, off, size, value);
}

void pci_device_reset_config(struct pci_device *dev)
{
    memcpy(dev->cfg, dev->cfg_reset, sizeof(dev->cfg));
    pci_msix_reset(dev);
    pthread_mutex_lock(&dev->irq_lock);
    atomic_store(&dev->intx_disabled, false);
    dev->intx_level = false;
    intx_update_locked(dev);
    pthread_mutex_unlock(&dev->irq_lock);
    pci_device_update_bars(dev);
}
