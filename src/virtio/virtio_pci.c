/* Modern virtio-pci transport (virtio 1.2 sec. 4.1): vendor capabilities pointing into BAR 0
 * (common, ISR, device, notify) plus the PCI-cfg access capability, MSI-X in BAR 1, device
 * status / feature negotiation (2.1, 2.2, 3.1), queue setup, doorbells through eventfds
 * (ioeventfd on kvm), interrupts. Every register value comes from an untrusted driver. */
#include "virtio/virtio.h"

#include <errno.h>
#include <string.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "core/vm.h"
#include "util/log.h"

#define VIRTIO_PCI_CAP_LEN          16
#define VIRTIO_PCI_NOTIFY_CAP_LEN   20
#define VIRTIO_PCI_CFG_CAP_LEN      20
#define VIRTIO_NEEDS_RESET_WARNINGS 8

/* XXX: no packed rings, RING_RESET, NOTIFICATION_DATA or ACCESS_PLATFORM; no device state
 * save/restore yet. */
static const uint64_t transport_features = VIRTIO_BIT(VIRTIO_F_VERSION_1) |
                                           VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC) |
                                           VIRTIO_BIT(VIRTIO_F_EVENT_IDX);

bool virtio_has_feature(const struct virtio_dev *vdev, unsigned bit)
{
    return bit < 64 && (vdev->guest_features >> bit & 1);
}

bool virtio_driver_ok(const struct virtio_dev *vdev)
{
    return (vdev->status & VIRTIO_STATUS_DRIVER_OK) &&
           !(vdev->status & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
}

/* ---- interrupts (4.1.5.3, 4.1.5.4) ---- */

static void raise_interrupt(struct virtio_dev *vdev, uint16_t vector, uint8_t isr_bit)
{
    if (pci_msix_enabled(&vdev->pci)) {
        if (vector != VIRTIO_MSI_NO_VECTOR)
            pci_msix_notify(&vdev->pci, vector);
        return;
    }
    vdev->isr |= isr_bit;
    pci_set_intx(&vdev->pci, true);
}

void virtio_notify_queue(struct virtio_dev *vdev, unsigned q)
{
    if (q >= vdev->nqueues)
        return;
    struct virtio_queue *vq = &vdev->queues[q];
    if (virtq_should_notify(&vq->vq))
        raise_interrupt(vdev, vq->msix_vector, 1);
}

void virtio_notify_config(struct virtio_dev *vdev)
{
    vdev->config_generation++;
    if (vdev->status & VIRTIO_STATUS_DRIVER_OK)
        raise_interrupt(vdev, vdev->config_vector, 2);
}

void virtio_set_needs_reset(struct virtio_dev *vdev, const char *why)
{
    if (vdev->status & VIRTIO_STATUS_DEVICE_NEEDS_RESET)
        return;
    /* Guest-triggered: warn a few times, then only at debug level (no log flooding). */
    if (vdev->needs_reset_warnings < VIRTIO_NEEDS_RESET_WARNINGS) {
        vdev->needs_reset_warnings++;
        log_warn("virtio %s: device needs reset: %s", vdev->name, why);
    } else {
        log_debug("virtio %s: device needs reset: %s", vdev->name, why);
    }
    vdev->status |= VIRTIO_STATUS_DEVICE_NEEDS_RESET;
    for (unsigned i = 0; i < vdev->nqueues; i++)
        vdev->queues[i].vq.ready = false;
    if (vdev->status & VIRTIO_STATUS_DRIVER_OK)
        raise_interrupt(vdev, vdev->config_vector, 2);
}

int virtio_pop(struct virtio_dev *vdev, unsigned q, struct virtq_elem *elem)
{
    if (q >= vdev->nqueues || !virtio_driver_ok(vdev))
        return 0;
    struct virtq *vq = &vdev->queues[q].vq;
    int rc = virtq_pop(vq, elem);
    if (rc < 0) {
        char why[96];
        snprintf(why, sizeof(why), "queue %u: %s", q, virtq_error_name(vq->last_error));
        virtio_set_needs_reset(vdev, why);
    }
    return rc;
}

/* ---- device reset (2.4) ---- */

static void reset_locked(struct virtio_dev *vdev)
{
    if (vdev->ops->reset)
        vdev->ops->reset(vdev);
    for (unsigned i = 0; i < vdev->nqueues; i++) {
        struct virtio_queue *q = &vdev->queues[i];
        virtq_reset(&q->vq);
        q->size = q->vq.max_size;
        q->msix_vector = VIRTIO_MSI_NO_VECTOR;
        q->desc = q->driver = q->device = 0;
        q->enabled = false;
    }
    vdev->guest_features = 0;
    vdev->dfselect = vdev->gfselect = 0;
    vdev->status = 0;
    vdev->config_vector = VIRTIO_MSI_NO_VECTOR;
    vdev->queue_sel = 0;
    vdev->isr = 0;
    pci_set_intx(&vdev->pci, false);
}

void virtio_pci_reset(struct virtio_dev *vdev)
{
    pthread_mutex_lock(&vdev->lock);
    reset_locked(vdev);
    pthread_mutex_unlock(&vdev->lock);
}

/* ---- status and features (2.1, 2.2, 3.1.1) ---- */

static bool features_acceptable(struct virtio_dev *vdev, uint64_t f)
{
    if (f & ~vdev->host_features)
        return false; /* the driver accepted something we never offered */
    if (!(f & VIRTIO_BIT(VIRTIO_F_VERSION_1)))
        return false; /* modern-only device: legacy semantics are not supported */
    return !vdev->ops->features_ok || vdev->ops->features_ok(vdev, f);
}

static void write_status(struct virtio_dev *vdev, uint8_t v)
{
    if (v == 0) {
        reset_locked(vdev);
        return;
    }
    uint8_t old = vdev->status & (uint8_t)~VIRTIO_STATUS_DEVICE_NEEDS_RESET;
    if (old & ~v) {
        /* 2.1.2: the driver must not clear bits; only a reset (0) does. */
        log_debug("virtio %s: ignoring status 0x%x that clears bits of 0x%x", vdev->name, v, old);
        return;
    }
    uint8_t added = v & (uint8_t)~old;
    v &= (uint8_t)~VIRTIO_STATUS_DEVICE_NEEDS_RESET; /* device-owned bit */
    if ((added & VIRTIO_STATUS_FEATURES_OK) && !features_acceptable(vdev, vdev->guest_features)) {
        log_debug("virtio %s: refusing features 0x%llx", vdev->name,
                  (unsigned long long)vdev->guest_features);
        v &= (uint8_t)~VIRTIO_STATUS_FEATURES_OK; /* 3.1.1 step 6: FEATURES_OK stays clear */
    }
    if ((added & VIRTIO_STATUS_DRIVER_OK) && !(v & VIRTIO_STATUS_FEATURES_OK)) {
        log_debug("virtio %s: DRIVER_OK without FEATURES_OK ignored", vdev->name);
        v &= (uint8_t)~VIRTIO_STATUS_DRIVER_OK;
    }
    vdev->status = v | (vdev->status & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
    if ((added & VIRTIO_STATUS_DRIVER_OK) && (v & VIRTIO_STATUS_DRIVER_OK)) {
        if (vdev->ops->driver_ok)
            vdev->ops->driver_ok(vdev);
        /* Buffers the driver made available before DRIVER_OK. */
        for (unsigned i = 0; i < vdev->nqueues; i++)
            if (vdev->queues[i].enabled && vdev->ops->queue_notify && virtio_driver_ok(vdev))
                vdev->ops->queue_notify(vdev, i);
    }
}

static void write_guest_features(struct virtio_dev *vdev, uint32_t v)
{
    if (vdev->status & VIRTIO_STATUS_FEATURES_OK) {
        log_debug("virtio %s: feature write after FEATURES_OK ignored", vdev->name);
        return;
    }
    if (vdev->gfselect == 0)
        vdev->guest_features = (vdev->guest_features & ~0xFFFFFFFFULL) | v;
    else if (vdev->gfselect == 1)
        vdev->guest_features = (vdev->guest_features & 0xFFFFFFFFULL) | (uint64_t)v << 32;
}

/* ---- queue configuration (4.1.4.3) ---- */

static struct virtio_queue *selected_queue(struct virtio_dev *vdev)
{
    return vdev->queue_sel < vdev->nqueues ? &vdev->queues[vdev->queue_sel] : NULL;
}

static uint16_t checked_vector(struct virtio_dev *vdev, uint16_t v)
{
    /* 4.1.5.1.2: an unmappable vector reads back as NO_VECTOR. */
    return v < vdev->pci.msix.nvec ? v : VIRTIO_MSI_NO_VECTOR;
}

/* Queue fields are writable only while the queue is off and features are settled. */
static bool queue_configurable(struct virtio_dev *vdev, struct virtio_queue *q)
{
    return q && !q->enabled && (vdev->status & VIRTIO_STATUS_FEATURES_OK) &&
           !(vdev->status & VIRTIO_STATUS_DRIVER_OK);
}

static void enable_queue(struct virtio_dev *vdev, struct virtio_queue *q)
{
    int rc = virtq_activate(&q->vq, q->size, q->desc, q->driver, q->device,
                            virtio_has_feature(vdev, VIRTIO_F_EVENT_IDX),
                            virtio_has_feature(vdev, VIRTIO_F_INDIRECT_DESC));
    if (rc < 0) {
        char why[128];
        snprintf(why, sizeof(why),
                 "queue %u: bad layout (size %u, desc 0x%llx, avail 0x%llx, used 0x%llx)", q->index,
                 q->size, (unsigned long long)q->desc, (unsigned long long)q->driver,
                 (unsigned long long)q->device);
        virtio_set_needs_reset(vdev, why);
        return;
    }
    q->enabled = true;
}

static void set_addr_half(uint64_t *field, bool high, uint32_t v)
{
    if (high)
        *field = (*field & 0xFFFFFFFFULL) | (uint64_t)v << 32;
    else
        *field = (*field & ~0xFFFFFFFFULL) | v;
}

static uint64_t *queue_addr_field(struct virtio_queue *q, unsigned off)
{
    switch (off & ~7u) {
    case VIRTIO_PCI_COMMON_Q_DESCLO:
        return &q->desc;
    case VIRTIO_PCI_COMMON_Q_AVAILLO:
        return &q->driver;
    default:
        return &q->device;
    }
}

/* ---- common configuration structure ---- */

static uint64_t common_read(struct virtio_dev *vdev, unsigned off, unsigned size)
{
    struct virtio_queue *q = selected_queue(vdev);
    if (off >= VIRTIO_PCI_COMMON_Q_DESCLO && off < VIRTIO_PCI_COMMON_Q_NDATA) {
        if (!q || (size != 4 && size != 8) || (off & (size - 1)))
            return 0;
        uint64_t v = *queue_addr_field(q, off);
        return size == 8 ? v : (uint32_t)(v >> ((off & 4) ? 32 : 0));
    }
    switch (off) {
    case VIRTIO_PCI_COMMON_DFSELECT:
        return size == 4 ? vdev->dfselect : 0;
    case VIRTIO_PCI_COMMON_DF:
        if (size != 4 || vdev->dfselect > 1)
            return 0;
        return (uint32_t)(vdev->host_features >> (32 * vdev->dfselect));
    case VIRTIO_PCI_COMMON_GFSELECT:
        return size == 4 ? vdev->gfselect : 0;
    case VIRTIO_PCI_COMMON_GF:
        if (size != 4 || vdev->gfselect > 1)
            return 0;
        return (uint32_t)(vdev->guest_features >> (32 * vdev->gfselect));
    case VIRTIO_PCI_COMMON_MSIX:
        return size == 2 ? vdev->config_vector : 0;
    case VIRTIO_PCI_COMMON_NUMQ:
        return size == 2 ? vdev->nqueues : 0;
    case VIRTIO_PCI_COMMON_STATUS:
        return size == 1 ? vdev->status : 0;
    case VIRTIO_PCI_COMMON_CFGGEN:
        return size == 1 ? vdev->config_generation : 0;
    case VIRTIO_PCI_COMMON_Q_SELECT:
        return size == 2 ? vdev->queue_sel : 0;
    case VIRTIO_PCI_COMMON_Q_SIZE:
        return size == 2 && q ? q->size : 0;
    case VIRTIO_PCI_COMMON_Q_MSIX:
        return size == 2 && q ? q->msix_vector : VIRTIO_MSI_NO_VECTOR;
    case VIRTIO_PCI_COMMON_Q_ENABLE:
        return size == 2 && q ? q->enabled : 0;
    case VIRTIO_PCI_COMMON_Q_NOFF:
        return size == 2 && q ? q->index : 0;
    default:
        return 0; /* queue_notif_config_data, queue_reset (not offered), out of range */
    }
}

static void common_write(struct virtio_dev *vdev, unsigned off, unsigned size, uint64_t value)
{
    struct virtio_queue *q = selected_queue(vdev);
    if (off >= VIRTIO_PCI_COMMON_Q_DESCLO && off < VIRTIO_PCI_COMMON_Q_NDATA) {
        if (!queue_configurable(vdev, q) || (size != 4 && size != 8) || (off & (size - 1)))
            return;
        uint64_t *field = queue_addr_field(q, off);
        if (size == 8)
            *field = value;
        else
            set_addr_half(field, (off & 4) != 0, (uint32_t)value);
        return;
    }
    switch (off) {
    case VIRTIO_PCI_COMMON_DFSELECT:
        if (size == 4)
            vdev->dfselect = (uint32_t)value;
        break;
    case VIRTIO_PCI_COMMON_GFSELECT:
        if (size == 4)
            vdev->gfselect = (uint32_t)value;
        break;
    case VIRTIO_PCI_COMMON_GF:
        if (size == 4)
            write_guest_features(vdev, (uint32_t)value);
        break;
    case VIRTIO_PCI_COMMON_MSIX:
        if (size == 2)
            vdev->config_vector = checked_vector(vdev, (uint16_t)value);
        break;
    case VIRTIO_PCI_COMMON_STATUS:
        if (size == 1)
            write_status(vdev, (uint8_t)value);
        break;
    case VIRTIO_PCI_COMMON_Q_SELECT:
        if (size == 2)
            vdev->queue_sel = (uint16_t)value;
        break;
    case VIRTIO_PCI_COMMON_Q_SIZE:
        if (size == 2 && queue_configurable(vdev, q))
            q->size = (uint16_t)value; /* checked when the queue is enabled */
        break;
    case VIRTIO_PCI_COMMON_Q_MSIX:
        if (size == 2 && q)
            q->msix_vector = checked_vector(vdev, (uint16_t)value);
        break;
    case VIRTIO_PCI_COMMON_Q_ENABLE:
        if (size == 2 && value == 1 && queue_configurable(vdev, q))
            enable_queue(vdev, q);
        break;
    default:
        break; /* read-only or unknown: ignored */
    }
}

/* ---- BAR 0 ---- */

static uint64_t device_cfg_read(struct virtio_dev *vdev, unsigned off, unsigned size)
{
    if ((uint64_t)off + size > vdev->config_size)
        return 0; /* out of range: reads as zero */
    uint64_t v = 0;
    for (unsigned i = 0; i < size; i++)
        v |= (uint64_t)vdev->config[off + i] << (8 * i);
    return v;
}

static void kick(struct virtio_queue *q)
{
    uint64_t one = 1;
    if (write(q->kick_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
        log_warn("virtio %s: kick eventfd write failed: %s", q->vdev->name, strerror(errno));
}

uint64_t virtio_pci_bar_read(struct virtio_dev *vdev, uint64_t off, unsigned size)
{
    uint64_t v = 0;
    pthread_mutex_lock(&vdev->lock);
    if (off < VIRTIO_PCI_COMMON_OFF + VIRTIO_PCI_COMMON_SIZE) {
        v = common_read(vdev, (unsigned)off, size);
    } else if (off == VIRTIO_PCI_ISR_OFF) {
        /* 4.1.4.5: reading clears the ISR and deasserts INTx. */
        v = vdev->isr;
        vdev->isr = 0;
        pci_set_intx(&vdev->pci, false);
    } else if (off >= VIRTIO_PCI_DEVICE_OFF &&
               off < VIRTIO_PCI_DEVICE_OFF + VIRTIO_PCI_REGION_SIZE) {
        v = device_cfg_read(vdev, (unsigned)(off - VIRTIO_PCI_DEVICE_OFF), size);
    }
    pthread_mutex_unlock(&vdev->lock);
    return v;
}

void virtio_pci_bar_write(struct virtio_dev *vdev, uint64_t off, uint64_t value, unsigned size)
{
    if (off >= VIRTIO_PCI_NOTIFY_OFF && off < VIRTIO_PCI_NOTIFY_OFF + VIRTIO_PCI_REGION_SIZE) {
        /* Doorbell: the queue is given by the address (queue_notify_off * multiplier). */
        uint64_t qi = (off - VIRTIO_PCI_NOTIFY_OFF) / VIRTIO_PCI_NOTIFY_MULT;
        if (qi < vdev->nqueues)
            kick(&vdev->queues[qi]);
        return;
    }
    pthread_mutex_lock(&vdev->lock);
    if (off < VIRTIO_PCI_COMMON_OFF + VIRTIO_PCI_COMMON_SIZE) {
        common_write(vdev, (unsigned)off, size, value);
    } else if (off >= VIRTIO_PCI_DEVICE_OFF &&
               off < VIRTIO_PCI_DEVICE_OFF + VIRTIO_PCI_REGION_SIZE) {
        unsigned o = (unsigned)(off - VIRTIO_PCI_DEVICE_OFF);
        if ((uint64_t)o + size <= vdev->config_size && vdev->ops->config_write)
            vdev->ops->config_write(vdev, o, size, value);
    }
    pthread_mutex_unlock(&vdev->lock);
}

static uint64_t bar_cfg_read(void *opaque, uint64_t off, unsigned size)
{
    return virtio_pci_bar_read(opaque, off, size);
}

static void bar_cfg_write(void *opaque, uint64_t off, uint64_t value, unsigned size)
{
    virtio_pci_bar_write(opaque, off, value, size);
}

static const struct iobus_ops bar_cfg_ops = {.read = bar_cfg_read, .write = bar_cfg_write};

static uint64_t bar_msix_read(void *opaque, uint64_t off, unsigned size)
{
    struct virtio_dev *vdev = opaque;
    return pci_msix_bar_read(&vdev->pci, off, size);
}

static void bar_msix_write(void *opaque, uint64_t off, uint64_t value, unsigned size)
{
    struct virtio_dev *vdev = opaque;
    pci_msix_bar_write(&vdev->pci, off, value, size);
}

static const struct iobus_ops bar_msix_ops = {.read = bar_msix_read, .write = bar_msix_write};

/* ---- PCI hooks: doorbell eventfds follow BAR 0; the PCI-cfg window (4.1.4.9) ---- */

static void bar_mapped(struct pci_device *dev, unsigned bar, bool mapped, uint64_t addr)
{
    struct virtio_dev *vdev = dev->opaque;
    struct pci_host *h = dev->host;
    if (bar != VIRTIO_PCI_BAR_CFG || !h)
        return;
    pthread_mutex_lock(&vdev->lock);
    for (unsigned i = 0; i < vdev->nqueues; i++) {
        struct virtio_queue *q = &vdev->queues[i];
        if (q->ioeventfd && h->hooks.del_ioeventfd) {
            h->hooks.del_ioeventfd(h->hooks_opaque, q->ioeventfd_addr, 2, q->kick_fd);
            q->ioeventfd = false;
        }
        if (!mapped || !h->hooks.add_ioeventfd)
            continue;
        uint64_t a = addr + VIRTIO_PCI_NOTIFY_OFF + (uint64_t)i * VIRTIO_PCI_NOTIFY_MULT;
        if (h->hooks.add_ioeventfd(h->hooks_opaque, a, 2, q->kick_fd) == 0) {
            q->ioeventfd = true;
            q->ioeventfd_addr = a;
        }
    }
    pthread_mutex_unlock(&vdev->lock);
}

static bool pcicfg_window(struct virtio_dev *vdev, unsigned *bar_off, unsigned *len)
{
    const struct pci_device *d = &vdev->pci;
    unsigned cap = vdev->pcicfg_cap;
    unsigned bar = d->cfg[cap + 4];
    uint32_t off = pci_cfg_get(d, cap + 8, 4), l = pci_cfg_get(d, cap + 12, 4);
    /* Driver-chosen window: only BAR 0, naturally aligned 1/2/4-byte accesses inside it. */
    if (bar != VIRTIO_PCI_BAR_CFG || (l != 1 && l != 2 && l != 4) || (off & (l - 1)) ||
        (uint64_t)off + l > VIRTIO_PCI_BAR_CFG_SIZE)
        return false;
    *bar_off = off;
    *len = l;
    return true;
}

static void pcicfg_write(struct pci_device *dev, unsigned off, unsigned size, uint32_t value)
{
    struct virtio_dev *vdev = dev->opaque;
    unsigned data = vdev->pcicfg_cap + 16;
    if (!vdev->pcicfg_cap || off + size <= data || off >= data + 4)
        return;
    unsigned bar_off, len;
    if (pcicfg_window(vdev, &bar_off, &len))
        virtio_pci_bar_write(vdev, bar_off, pci_cfg_get(dev, data, len), len);
}

static void pcicfg_read(struct pci_device *dev, unsigned off, unsigned size, uint32_t *value)
{
    struct virtio_dev *vdev = dev->opaque;
    unsigned data = vdev->pcicfg_cap + 16;
    if (!vdev->pcicfg_cap || off + size <= data || off >= data + 4)
        return;
    unsigned bar_off, len;
    if (!pcicfg_window(vdev, &bar_off, &len))
        return;
    uint32_t v = (uint32_t)virtio_pci_bar_read(vdev, bar_off, len);
    pci_cfg_set32(dev, data, v);
    *value = pci_cfg_get(dev, off, size);
}

static const struct pci_device_ops virtio_pci_dev_ops = {
    .bar_mapped = bar_mapped,
    .config_write = pcicfg_write,
    .config_read = pcicfg_read,
};

/* ---- setup ---- */

static int add_vendor_cap(struct virtio_dev *vdev, uint8_t type, uint8_t bar, uint32_t offset,
                          uint32_t length, unsigned cap_len)
{
    int cap = pci_device_add_capability(&vdev->pci, PCI_CAP_ID_VNDR, cap_len);
    if (cap < 0)
        return cap;
    struct pci_device *d = &vdev->pci;
    pci_cfg_set8(d, (unsigned)cap + 2, (uint8_t)cap_len);
    pci_cfg_set8(d, (unsigned)cap + 3, type);
    pci_cfg_set8(d, (unsigned)cap + 4, bar);
    pci_cfg_set32(d, (unsigned)cap + 8, offset);
    pci_cfg_set32(d, (unsigned)cap + 12, length);
    return cap;
}

static int build_pci_function(struct virtio_dev *vdev, const struct virtio_dev_params *p)
{
    struct pci_device *d = &vdev->pci;
    pci_device_init(d, p->name, VIRTIO_PCI_VENDOR_ID,
                    (uint16_t)(VIRTIO_PCI_DEVICE_ID_BASE + p->device_id), 1, p->pci_class,
                    VIRTIO_PCI_VENDOR_ID, VIRTIO_PCI_SUBSYS_ID, &virtio_pci_dev_ops, vdev);
    int rc = pci_device_add_bar(d, VIRTIO_PCI_BAR_CFG, PCI_BAR_MEM32, VIRTIO_PCI_BAR_CFG_SIZE,
                                &bar_cfg_ops, vdev);
    if (rc == 0)
        rc = pci_device_add_bar(d, VIRTIO_PCI_BAR_MSIX, PCI_BAR_MEM32, VIRTIO_PCI_BAR_MSIX_SIZE,
                                &bar_msix_ops, vdev);
    if (rc == 0)
        rc = pci_device_add_msix(d, p->nqueues + 1, VIRTIO_PCI_BAR_MSIX, VIRTIO_PCI_MSIX_TABLE_OFF,
                                 VIRTIO_PCI_MSIX_PBA_OFF);
    if (rc < 0)
        return rc;
    if ((rc = add_vendor_cap(vdev, VIRTIO_PCI_CAP_COMMON_CFG, 0, VIRTIO_PCI_COMMON_OFF,
                             VIRTIO_PCI_COMMON_SIZE, VIRTIO_PCI_CAP_LEN)) < 0)
        return rc;
    if ((rc = add_vendor_cap(vdev, VIRTIO_PCI_CAP_ISR_CFG, 0, VIRTIO_PCI_ISR_OFF, 1,
                             VIRTIO_PCI_CAP_LEN)) < 0)
        return rc;
    if (p->config_size &&
        (rc = add_vendor_cap(vdev, VIRTIO_PCI_CAP_DEVICE_CFG, 0, VIRTIO_PCI_DEVICE_OFF,
                             p->config_size, VIRTIO_PCI_CAP_LEN)) < 0)
        return rc;
    if ((rc = add_vendor_cap(vdev, VIRTIO_PCI_CAP_NOTIFY_CFG, 0, VIRTIO_PCI_NOTIFY_OFF,
                             p->nqueues * VIRTIO_PCI_NOTIFY_MULT, VIRTIO_PCI_NOTIFY_CAP_LEN)) < 0)
        return rc;
    pci_cfg_set32(d, (unsigned)rc + 16, VIRTIO_PCI_NOTIFY_MULT);
    if ((rc = add_vendor_cap(vdev, VIRTIO_PCI_CAP_PCI_CFG, 0, 0, 0, VIRTIO_PCI_CFG_CAP_LEN)) < 0)
        return rc;
    vdev->pcicfg_cap = (unsigned)rc;
    pci_device_set_wmask(d, (unsigned)rc + 4, 1, 0xFF);  /* bar */
    pci_device_set_wmask(d, (unsigned)rc + 8, 12, 0xFF); /* offset, length, pci_cfg_data */
    return 0;
}

static void kick_cb(void *opaque, uint32_t events)
{
    struct virtio_queue *q = opaque;
    struct virtio_dev *vdev = q->vdev;
    uint64_t n;
    if (read(q->kick_fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
        log_warn("virtio %s: kick eventfd read failed: %s", vdev->name, strerror(errno));
    pthread_mutex_lock(&vdev->lock);
    if (q->enabled && virtio_driver_ok(vdev) && vdev->ops->queue_notify)
        vdev->ops->queue_notify(vdev, q->index);
    pthread_mutex_unlock(&vdev->lock);
}

static void close_kick_fds(struct virtio_dev *vdev)
{
    for (unsigned i = 0; i < vdev->nqueues; i++) {
        struct virtio_queue *q = &vdev->queues[i];
        if (q->kick_fd >= 0) {
            if (vdev->loop)
                event_loop_del(vdev->loop, q->kick_fd);
            close(q->kick_fd);
            q->kick_fd = -1;
        }
    }
}

int virtio_pci_init_with(struct virtio_dev *vdev, const struct guest_mem *mem,
                         struct event_loop *loop, struct pci_host *host,
                         const struct virtio_dev_params *p)
{
    if (p->nqueues == 0 || p->nqueues > VIRTIO_MAX_QUEUES || !p->ops ||
        p->config_size > VIRTIO_PCI_REGION_SIZE || p->queue_size == 0 ||
        p->queue_size > VIRTQ_MAX_SIZE || (p->queue_size & (p->queue_size - 1)))
        return -EINVAL;
    memset(vdev, 0, sizeof(*vdev));
    vdev->name = p->name;
    vdev->mem = mem;
    vdev->loop = loop;
    vdev->ops = p->ops;
    vdev->opaque = p->opaque;
    vdev->device_id = p->device_id;
    vdev->host_features = p->features | transport_features;
    vdev->nqueues = p->nqueues;
    vdev->config = p->config;
    vdev->config_size = p->config_size;
    vdev->config_vector = VIRTIO_MSI_NO_VECTOR;
    pthread_mutex_init(&vdev->lock, NULL);
    for (unsigned i = 0; i < p->nqueues; i++) {
        struct virtio_queue *q = &vdev->queues[i];
        q->vdev = vdev;
        q->index = i;
        q->kick_fd = -1;
        virtq_init(&q->vq, mem, p->queue_size);
        q->size = p->queue_size;
        q->msix_vector = VIRTIO_MSI_NO_VECTOR;
    }
    int rc = build_pci_function(vdev, p);
    if (rc < 0) {
        log_error("virtio %s: cannot build the PCI function: %d", p->name, rc);
        return rc;
    }
    for (unsigned i = 0; i < p->nqueues; i++) {
        struct virtio_queue *q = &vdev->queues[i];
        q->kick_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (q->kick_fd < 0) {
            rc = -errno;
            log_error("virtio %s: eventfd: %s", p->name, strerror(errno));
            close_kick_fds(vdev);
            return rc;
        }
        rc = event_loop_add(loop, q->kick_fd, EPOLLIN, kick_cb, q);
        if (rc < 0) {
            log_error("virtio %s: cannot watch the queue eventfd: %d", p->name, rc);
            close(q->kick_fd);
            q->kick_fd = -1;
            close_kick_fds(vdev);
            return rc;
        }
    }
    rc = pci_device_register(host, &vdev->pci);
    if (rc < 0) {
        close_kick_fds(vdev);
        return rc;
    }
    vdev->registered = true;
    return 0;
}

int virtio_pci_init(struct virtio_dev *vdev, struct vm *vm, struct pci_host *host,
                    const struct virtio_dev_params *p)
{
    int rc = virtio_pci_init_with(vdev, &vm->mem, &vm->loop, host, p);
    if (rc == 0)
        vdev->vm = vm;
    return rc;
}

void virtio_pci_teardown(struct virtio_dev *vdev)
{
    if (vdev->registered) {
        pci_device_unregister(&vdev->pci);
        vdev->registered = false;
    }
    close_kick_fds(vdev);
}
