/* The PCI host bridge (bus 0, configuration mechanism #1 and ECAM) and the generic PCI device
 * model devices build on: configuration space with writable masks, BARs that move when the
 * guest reprograms them, a capabilities list, MSI-X and INTx (PCI Local Bus 3.0, PCIe ECAM). */
#ifndef EMBER_PCI_PCI_H
#define EMBER_PCI_PCI_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/iobus.h"
#include "pci/pci_regs.h"

struct vm;
struct pci_host;
struct pci_device;

#define PCI_MAX_SLOTS        32 /* devices on bus 0; only function 0 of each */
#define PCI_NUM_BARS         6
#define PCI_MSIX_MAX_VECTORS 64

/* Where the interrupts and doorbells of devices on this host go. pci_host_create wires
 * them to the VM (vm_set_irq, vm_signal_msi, vm_add_ioeventfd); unit tests plug in recorders. */
struct pci_host_hooks {
    int (*set_irq)(void *opaque, unsigned gsi, bool level);
    int (*signal_msi)(void *opaque, uint64_t address, uint32_t data);
    /* MMIO doorbell fast path; may be NULL or fail (the device then sees the write itself). */
    int (*add_ioeventfd)(void *opaque, uint64_t addr, unsigned len, int fd);
    int (*del_ioeventfd)(void *opaque, uint64_t addr, unsigned len, int fd);
};

enum pci_bar_type {
    PCI_BAR_NONE = 0,
    PCI_BAR_MEM32, /* non-prefetchable 32-bit memory in the PCI MMIO window */
    PCI_BAR_IO,    /* port I/O */
};

struct pci_bar {
    enum pci_bar_type type;
    uint64_t size;               /* power of two */
    const struct iobus_ops *ops; /* handlers get offsets relative to the BAR */
    void *opaque;
    uint64_t alloc_addr; /* address given at creation (and restored at reset) */
    bool mapped;         /* currently registered on a bus */
    uint64_t mapped_addr;
};

/* MSI-X state (PCI 3.0 sec. 6.8.2). Table and PBA live in one BAR of the device. */
struct pci_msix {
    unsigned nvec; /* 0: no MSI-X */
    unsigned bar;
    uint32_t table_offset, pba_offset;
    uint8_t cap;               /* offset of the capability in config space */
    pthread_mutex_t lock;      /* guards everything below; a leaf lock */
    bool enabled, func_masked; /* mirrored from message control on config writes */
    struct {
        uint32_t addr_lo, addr_hi, data, ctrl;
    } table[PCI_MSIX_MAX_VECTORS];
    uint64_t pending; /* PBA: one bit per vector */
};

/* Optional device callbacks. They run with the host's config lock held; they may take the
 * device's own lock (host lock -> device lock is the order), never the other way round. */
struct pci_device_ops {
    /* A BAR was (un)mapped at addr after a guest write to COMMAND or a BAR, or at reset. */
    void (*bar_mapped)(struct pci_device *dev, unsigned bar, bool mapped, uint64_t addr);
    /* Called after the standard handling of a config write/read of [off, off+size), so devices
     * can implement their own capabilities; a read hook may replace *value. */
    void (*config_write)(struct pci_device *dev, unsigned off, unsigned size, uint32_t value);
    void (*config_read)(struct pci_device *dev, unsigned off, unsigned size, uint32_t *value);
};

struct pci_device {
    struct pci_host *host;
    const char *name;
    unsigned slot; /* device number on bus 0 */
    const struct pci_device_ops *ops;
    void *opaque;                        /* the owning device model */
    uint8_t cfg[PCI_CFG_EXP_SIZE];       /* current configuration space */
    uint8_t wmask[PCI_CFG_EXP_SIZE];     /* bits the guest may write */
    uint8_t w1cmask[PCI_CFG_EXP_SIZE];   /* bits the guest clears by writing 1 */
    uint8_t cfg_reset[PCI_CFG_EXP_SIZE]; /* cfg as built, restored at reset */
    uint8_t next_cap;                    /* where the next capability goes */
    uint8_t last_cap;                    /* offset of the last capability, 0 if none */
    struct pci_bar bars[PCI_NUM_BARS];
    struct pci_msix msix;
    pthread_mutex_t irq_lock;  /* orders INTx level changes; a leaf lock */
    bool intx_level;           /* what the device asks for */
    bool intx_asserted;        /* what the line currently is */
    atomic_bool intx_disabled; /* COMMAND.INTX_DISABLE mirror */
};

struct pci_host {
    struct vm *vm; /* may be NULL in unit tests */
    struct iobus *pio, *mmio;
    struct pci_host_hooks hooks;
    void *hooks_opaque;
    pthread_mutex_t lock; /* config accesses, BAR remaps, device list */
    uint32_t conf1_addr;  /* latched 0xCF8 value */
    struct pci_device *slots[PCI_MAX_SLOTS];
    struct pci_device bridge;          /* the host bridge itself, slot 0 */
    uint64_t mmio_base, mmio_end;      /* 32-bit memory window BARs must stay inside */
    uint64_t mmio_next;                /* bump allocator for initial BAR addresses */
    uint64_t io_base, io_end, io_next; /* the same for port I/O */
    uint64_t ecam_base;
    bool registered; /* PIO/ECAM ranges claimed */
};

/* ---- host ---- */

/* Builds the host bridge on vm's buses (0xCF8-0xCFF, ECAM at MEMMAP_PCI_ECAM_BASE for bus 0)
 * and registers it with vm_add_device so it resets and is freed with the VM. NULL on error. */
struct pci_host *pci_host_create(struct vm *vm);
/* The same on explicit buses and hooks, without a VM (unit tests). */
struct pci_host *pci_host_new(struct iobus *pio, struct iobus *mmio,
                              const struct pci_host_hooks *hooks, void *hooks_opaque);
/* Unmaps every BAR and frees the host (not the devices, which their owners free). */
void pci_host_free(struct pci_host *host);
/* System reset: every device's config space and BARs back to their initial state. */
void pci_host_reset(struct pci_host *host);

/* Config access by bus/device/function as the two mechanisms decode it. Reads of absent
 * functions give all-ones; writes to them are dropped. size is 1, 2 or 4; off must be aligned
 * to size and below 4096 (callers check). */
uint32_t pci_host_config_read(struct pci_host *host, unsigned bus, unsigned devfn, unsigned off,
                              unsigned size);
void pci_host_config_write(struct pci_host *host, unsigned bus, unsigned devfn, unsigned off,
                           unsigned size, uint32_t value);

/* ---- devices ---- */

/* Prepares dev: zeroed config space with IDs and class (class = base<<16 | sub<<8 | prog-if),
 * INTA wired to PCI_INTX_GSI(slot, 0). Add BARs and capabilities, then pci_device_register. */
void pci_device_init(struct pci_device *dev, const char *name, uint16_t vendor, uint16_t device,
                     uint8_t revision, uint32_t class_code, uint16_t subsys_vendor,
                     uint16_t subsys_id, const struct pci_device_ops *ops, void *opaque);
/* Declares BAR n (size a power of two, >= 4 KiB for memory, >= 4 for I/O). */
int pci_device_add_bar(struct pci_device *dev, unsigned n, enum pci_bar_type type, uint64_t size,
                       const struct iobus_ops *ops, void *opaque);
/* Reserves `len` bytes of capability `id` in the list; returns its config offset or -ENOSPC.
 * The first two bytes (ID, next) are filled; the rest is the caller's (with pci_device_set_wmask).
 */
int pci_device_add_capability(struct pci_device *dev, uint8_t id, unsigned len);
/* MSI-X with nvec vectors, table at table_off and PBA at pba_off of BAR `bar` (which must exist
 * and whose ops must forward to pci_msix_bar_read/write for that range). */
int pci_device_add_msix(struct pci_device *dev, unsigned nvec, unsigned bar, uint32_t table_off,
                        uint32_t pba_off);
/* Puts dev in the first free slot (>= 1), allocates its BARs and maps them (memory and I/O
 * decoding enabled as firmware would leave them). Returns 0 or -errno (logged). */
int pci_device_register(struct pci_host *host, struct pci_device *dev);
void pci_device_unregister(struct pci_device *dev);

/* Little-endian config-space accessors for building the header and capabilities. */
void pci_cfg_set8(struct pci_device *dev, unsigned off, uint8_t v);
void pci_cfg_set16(struct pci_device *dev, unsigned off, uint16_t v);
void pci_cfg_set32(struct pci_device *dev, unsigned off, uint32_t v);
uint32_t pci_cfg_get(const struct pci_device *dev, unsigned off, unsigned size);
void pci_device_set_wmask(struct pci_device *dev, unsigned off, unsigned len, uint8_t mask);

/* ---- interrupts ---- */

/* True if MSI-X is enabled: then interrupts go through pci_msix_notify, else INTx. */
bool pci_msix_enabled(struct pci_device *dev);
/* Sends vector (or marks it pending while masked). Vectors >= nvec are ignored. */
void pci_msix_notify(struct pci_device *dev, unsigned vector);
/* Drives INTA# (level-triggered); honours COMMAND.INTX_DISABLE. */
void pci_set_intx(struct pci_device *dev, bool level);
/* Forwards for the MSI-X table/PBA part of a BAR: off is relative to the BAR. */
uint64_t pci_msix_bar_read(struct pci_device *dev, uint64_t off, unsigned size);
void pci_msix_bar_write(struct pci_device *dev, uint64_t off, uint64_t value, unsigned size);

/* The address BAR n is mapped at, or 0 if unmapped (tests, ACPI). */
uint64_t pci_device_bar_addr(struct pci_device *dev, unsigned n);

#endif
