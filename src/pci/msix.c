/* MSI-X (PCI Local Bus 3.0 sec. 6.8.2): the capability's message control, the vector table and
 * pending-bit array in a BAR, per-vector and function masking, delivery through the host hook
 * (vm_signal_msi: KVM_SIGNAL_MSI on kvm, the local APIC on the soft accelerator). */
#include "pci/pci_internal.h"

#include <errno.h>

#include "util/log.h"

/* XXX: MSI (capability 05h) is not offered; without MSI-X, devices fall back to INTx. */
int pci_device_add_msix(struct pci_device *dev, unsigned nvec, unsigned bar, uint32_t table_off,
                        uint32_t pba_off)
{
    if (nvec == 0 || nvec > PCI_MSIX_MAX_VECTORS || bar >= PCI_NUM_BARS ||
        dev->bars[bar].type != PCI_BAR_MEM32 || (table_off & 7) || (pba_off & 7))
        return -EINVAL;
    uint64_t size = dev->bars[bar].size;
    uint64_t table_end = (uint64_t)table_off + nvec * PCI_MSIX_ENTRY_SIZE;
    uint64_t pba_end = (uint64_t)pba_off + 8 * ((nvec + 63) / 64);
    if (table_end > size || pba_end > size || (pba_off < table_end && table_off < pba_end))
        return -EINVAL;
    int cap = pci_device_add_capability(dev, PCI_CAP_ID_MSIX, PCI_MSIX_CAP_SIZE);
    if (cap < 0)
        return cap;
    struct pci_msix *m = &dev->msix;
    m->nvec = nvec;
    m->bar = bar;
    m->table_offset = table_off;
    m->pba_offset = pba_off;
    m->cap = (uint8_t)cap;
    pci_cfg_set16(dev, (unsigned)cap + PCI_MSIX_FLAGS, (uint16_t)(nvec - 1));
    pci_cfg_set32(dev, (unsigned)cap + PCI_MSIX_TABLE, table_off | bar);
    pci_cfg_set32(dev, (unsigned)cap + PCI_MSIX_PBA, pba_off | bar);
    /* Only enable and function mask are writable (high byte of message control). */
    dev->wmask[cap + PCI_MSIX_FLAGS + 1] = (PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL) >> 8;
    pci_msix_reset(dev);
    return 0;
}

static void deliver_locked(struct pci_device *dev, unsigned v)
{
    struct pci_msix *m = &dev->msix;
    struct pci_host *h = dev->host;
    if (!h || !h->hooks.signal_msi)
        return;
    uint64_t addr = (uint64_t)m->table[v].addr_hi << 32 | m->table[v].addr_lo;
    int rc = h->hooks.signal_msi(h->hooks_opaque, addr, m->table[v].data);
    if (rc < 0)
        log_debug("pci %s: MSI-X vector %u (addr 0x%llx data 0x%x) not delivered: %d", dev->name, v,
                  (unsigned long long)addr, m->table[v].data, rc);
}

static bool vector_masked_locked(const struct pci_msix *m, unsigned v)
{
    return m->func_masked || (m->table[v].ctrl & PCI_MSIX_ENTRY_CTRL_MASKBIT);
}

/* Sends every pending vector that is no longer masked (PCI 3.0: a pending message is sent as
 * soon as its mask is cleared). */
static void flush_pending_locked(struct pci_device *dev)
{
    struct pci_msix *m = &dev->msix;
    if (!m->enabled)
        return;
    for (unsigned v = 0; v < m->nvec; v++) {
        if ((m->pending >> v & 1) && !vector_masked_locked(m, v)) {
            m->pending &= ~(1ULL << v);
            deliver_locked(dev, v);
        }
    }
}

void pci_msix_control_written(struct pci_device *dev)
{
    struct pci_msix *m = &dev->msix;
    uint16_t ctl = (uint16_t)pci_cfg_get(dev, (unsigned)m->cap + PCI_MSIX_FLAGS, 2);
    pthread_mutex_lock(&m->lock);
    m->enabled = (ctl & PCI_MSIX_FLAGS_ENABLE) != 0;
    m->func_masked = (ctl & PCI_MSIX_FLAGS_MASKALL) != 0;
    flush_pending_locked(dev);
    pthread_mutex_unlock(&m->lock);
}

void pci_msix_reset(struct pci_device *dev)
{
    struct pci_msix *m = &dev->msix;
    pthread_mutex_lock(&m->lock);
    m->enabled = false;
    m->func_masked = false;
    m->pending = 0;
    for (unsigned v = 0; v < PCI_MSIX_MAX_VECTORS; v++) {
        m->table[v].addr_lo = m->table[v].addr_hi = m->table[v].data = 0;
        m->table[v].ctrl = PCI_MSIX_ENTRY_CTRL_MASKBIT; /* masked after reset */
    }
    pthread_mutex_unlock(&m->lock);
}

bool pci_msix_enabled(struct pci_device *dev)
{
    struct pci_msix *m = &dev->msix;
    if (!m->nvec)
        return false;
    pthread_mutex_lock(&m->lock);
    bool en = m->enabled;
    pthread_mutex_unlock(&m->lock);
    return en;
}

void pci_msix_notify(struct pci_device *dev, unsigned vector)
{
    struct pci_msix *m = &dev->msix;
    if (vector >= m->nvec)
        return;
    pthread_mutex_lock(&m->lock);
    if (m->enabled) {
        if (vector_masked_locked(m, vector))
            m->pending |= 1ULL << vector;
        else
            deliver_locked(dev, vector);
    }
    pthread_mutex_unlock(&m->lock);
}

/* One aligned dword of the table: entry index and field offset are guest-chosen and checked
 * by the caller against nvec. */
static uint32_t table_read32(struct pci_msix *m, unsigned entry, unsigned field)
{
    switch (field) {
    case PCI_MSIX_ENTRY_LOWER_ADDR:
        return m->table[entry].addr_lo;
    case PCI_MSIX_ENTRY_UPPER_ADDR:
        return m->table[entry].addr_hi;
    case PCI_MSIX_ENTRY_DATA:
        return m->table[entry].data;
    default:
        return m->table[entry].ctrl;
    }
}

static void table_write32(struct pci_device *dev, unsigned entry, unsigned field, uint32_t v)
{
    struct pci_msix *m = &dev->msix;
    switch (field) {
    case PCI_MSIX_ENTRY_LOWER_ADDR:
        m->table[entry].addr_lo = v & ~3u; /* dword-aligned message address */
        break;
    case PCI_MSIX_ENTRY_UPPER_ADDR:
        m->table[entry].addr_hi = v;
        break;
    case PCI_MSIX_ENTRY_DATA:
        m->table[entry].data = v;
        break;
    default:
        m->table[entry].ctrl = v & PCI_MSIX_ENTRY_CTRL_MASKBIT; /* other bits reserved */
        flush_pending_locked(dev);
        break;
    }
}

/* off is a guest-chosen offset inside the BAR. Only aligned dword and qword accesses are
 * defined for MSI-X structures; others read 0 and write nothing. */
uint64_t pci_msix_bar_read(struct pci_device *dev, uint64_t off, unsigned size)
{
    struct pci_msix *m = &dev->msix;
    if ((size != 4 && size != 8) || (off & (size - 1)))
        return 0;
    uint64_t v = 0;
    pthread_mutex_lock(&m->lock);
    for (unsigned part = 0; part < size / 4; part++) {
        uint64_t o = off + 4 * part;
        uint32_t d = 0;
        if (o >= m->table_offset && o < m->table_offset + (uint64_t)m->nvec * 16) {
            uint64_t rel = o - m->table_offset;
            d = table_read32(m, (unsigned)(rel / 16), (unsigned)(rel % 16));
        } else if (o >= m->pba_offset && o < m->pba_offset + 8 * (uint64_t)((m->nvec + 63) / 64)) {
            uint64_t rel = o - m->pba_offset;
            d = (uint32_t)(m->pending >> (8 * (rel & 4)));
        }
        v |= (uint64_t)d << (32 * part);
    }
    pthread_mutex_unlock(&m->lock);
    return v;
}

void pci_msix_bar_write(struct pci_device *dev, uint64_t off, uint64_t value, unsigned size)
{
    struct pci_msix *m = &dev->msix;
    if ((size != 4 && size != 8) || (off & (size - 1)))
        return;
    pthread_mutex_lock(&m->lock);
    for (unsigned part = 0; part < size / 4; part++) {
        uint64_t o = off + 4 * part;
        if (o >= m->table_offset && o < m->table_offset + (uint64_t)m->nvec * 16) {
            uint64_t rel = o - m->table_offset;
            table_write32(dev, (unsigned)(rel / 16), (unsigned)(rel % 16),
                          (uint32_t)(value >> (32 * part)));
        }
        /* The PBA is read-only; writes elsewhere are ignored. */
    }
    pthread_mutex_unlock(&m->lock);
}
