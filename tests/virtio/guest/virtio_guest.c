/* Test guest "virtio": a minimal virtio-pci driver run on a real vCPU. It finds the functions
 * through configuration mechanism #1, negotiates VERSION_1, and polls (no interrupts):
 * virtio-rng fills a buffer; virtio-blk reads sector 0 (which the test script filled with
 * "EMBER-DISK-SECTOR0"), writes sector 1 with "WRITTEN-BY-GUEST", flushes, and reads GET_ID.
 * Then interrupts: virtio-rng completions through MSI-X (to the local APIC, with a masked vector
 * held pending in the PBA until unmasked) and through INTx on the IOAPIC with the ISR read
 * deasserting it. The host script then checks the disk file. Reports "virtio: PASS". */
#include "guest.h"

#define PCI_ADDR      0xCF8
#define PCI_DATA      0xCFC
#define VENDOR_VIRTIO 0x1AF4
#define DEV_BLK       0x1042
#define DEV_RNG       0x1044
#define QSZ           8

/* Common configuration offsets (virtio 1.2 sec. 4.1.4.3) in ember's BAR 0 layout. */
#define C_DFSEL     0x00
#define C_DF        0x04
#define C_GFSEL     0x08
#define C_GF        0x0C
#define C_STATUS    0x14
#define C_QSEL      0x16
#define C_QSIZE     0x18
#define C_QENABLE   0x1C
#define C_QNOFF     0x1E
#define C_QDESC     0x20
#define C_QAVAIL    0x28
#define C_QUSED     0x30
#define NOTIFY_OFF  0x3000
#define NOTIFY_MULT 4

struct desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags, next;
};

struct queue_mem {
    struct desc d[QSZ];
    uint16_t avail[3 + QSZ];
    uint8_t pad[4096 - 16 * QSZ - 2 * (3 + QSZ)];
    volatile uint16_t used[2 + 4 * QSZ + 1];
} __attribute__((aligned(4096)));

static struct queue_mem qm[2];
static uint8_t buf[4096] __attribute__((aligned(4096)));
static uint8_t hdr[16] __attribute__((aligned(16)));
static volatile uint8_t status_byte;

static uint32_t cfg_read32(unsigned slot, unsigned off)
{
    outl(PCI_ADDR, 0x80000000u | slot << 11 | (off & 0xFC));
    return inl(PCI_DATA);
}

#define ECAM 0xE0000000UL

static int find(uint16_t device)
{
    for (unsigned s = 0; s < 32; s++) {
        if (cfg_read32(s, 0) != ((uint32_t)device << 16 | VENDOR_VIRTIO))
            continue;
        /* The same function through ECAM (bus 0, device s, function 0). */
        check_eq(mmio_read32(ECAM + ((uintptr_t)s << 15)), cfg_read32(s, 0), "ECAM ID");
        check_eq(mmio_read32(ECAM + ((uintptr_t)s << 15) + 0x10), cfg_read32(s, 0x10), "ECAM BAR0");
        return (int)s;
    }
    return -1;
}

static int memcmp_guest(const void *a, const void *b, unsigned long n)
{
    const uint8_t *x = a, *y = b;
    for (unsigned long i = 0; i < n; i++)
        if (x[i] != y[i])
            return x[i] < y[i] ? -1 : 1;
    return 0;
}

struct vdev {
    uintptr_t bar;
    uint16_t used_seen;
    uint16_t avail_idx;
    struct queue_mem *q;
};

static int start(struct vdev *v, unsigned slot, struct queue_mem *q)
{
    v->bar = cfg_read32(slot, 0x10) & ~0xFu;
    v->q = q;
    v->used_seen = v->avail_idx = 0;
    memset(q, 0, sizeof(*q));
    mmio_write8(v->bar + C_STATUS, 0);
    mmio_write8(v->bar + C_STATUS, 1);
    mmio_write8(v->bar + C_STATUS, 3);
    mmio_write32(v->bar + C_DFSEL, 1);
    if (!check(mmio_read32(v->bar + C_DF) & 1, "device offers VERSION_1"))
        return -1;
    mmio_write32(v->bar + C_GFSEL, 0);
    mmio_write32(v->bar + C_GF, 0);
    mmio_write32(v->bar + C_GFSEL, 1);
    mmio_write32(v->bar + C_GF, 1);
    mmio_write8(v->bar + C_STATUS, 11);
    if (!check_eq(mmio_read8(v->bar + C_STATUS), 11, "FEATURES_OK accepted"))
        return -1;
    mmio_write16(v->bar + C_QSEL, 0);
    mmio_write16(v->bar + C_QSIZE, QSZ);
    mmio_write64(v->bar + C_QDESC, (uintptr_t)q->d);
    mmio_write64(v->bar + C_QAVAIL, (uintptr_t)q->avail);
    mmio_write64(v->bar + C_QUSED, (uintptr_t)q->used);
    mmio_write16(v->bar + C_QENABLE, 1);
    mmio_write8(v->bar + C_STATUS, 15);
    return check_eq(mmio_read8(v->bar + C_STATUS), 15, "DRIVER_OK") ? 0 : -1;
}

/* Publishes head, rings the doorbell, waits for the used ring; returns the used length. */
static int64_t run(struct vdev *v, uint16_t head)
{
    v->q->avail[2 + v->avail_idx % QSZ] = head;
    __asm__ volatile("mfence" ::: "memory");
    v->q->avail[1] = ++v->avail_idx;
    __asm__ volatile("mfence" ::: "memory");
    unsigned noff = mmio_read16(v->bar + C_QNOFF);
    mmio_write16(v->bar + NOTIFY_OFF + noff * NOTIFY_MULT, 0);
    for (unsigned long spin = 0; spin < 2000000000UL; spin++) {
        if (v->q->used[1] != v->used_seen) {
            uint16_t slot = v->used_seen++ % QSZ;
            return v->q->used[2 + 4 * slot + 2] | (uint32_t)v->q->used[2 + 4 * slot + 3] << 16;
        }
        __asm__ volatile("pause");
    }
    check(0, "device answered");
    return -1;
}

static int64_t blk_request(struct vdev *v, uint32_t type, uint64_t sector, uint32_t len,
                           int data_in)
{
    memcpy(hdr, &type, 4);
    memset(hdr + 4, 0, 4);
    memcpy(hdr + 8, &sector, 8);
    status_byte = 0xEE;
    struct desc *d = v->q->d;
    d[0] = (struct desc){(uintptr_t)hdr, 16, 1, 1};
    if (len) {
        d[1] = (struct desc){(uintptr_t)buf, len, (uint16_t)(1 | (data_in ? 2 : 0)), 2};
        d[2] = (struct desc){(uintptr_t)&status_byte, 1, 2, 0};
    } else {
        d[1] = (struct desc){(uintptr_t)&status_byte, 1, 2, 0};
    }
    return run(v, 0);
}

static int test_rng(struct vdev *v)
{
    int slot = find(DEV_RNG);
    if (!check(slot > 0, "virtio-rng present") || start(v, (unsigned)slot, &qm[1]) < 0)
        return -1;
    memset(buf, 0, 64);
    v->q->d[0] = (struct desc){(uintptr_t)buf, 64, 2, 0};
    check_eq(run(v, 0), 64, "rng fills 64 bytes");
    unsigned nonzero = 0;
    for (int i = 0; i < 64; i++)
        nonzero += buf[i] != 0;
    check(nonzero > 32, "rng bytes look random");
    return slot;
}

/* ---- interrupts ---- */

#define LAPIC     0xFEE00000UL
#define LAPIC_EOI 0x0B0
#define LAPIC_SVR 0x0F0
#define IOAPIC    0xFEC00000UL
#define VEC_MSIX  0x51
#define VEC_INTX  0x52
#define VEC_SPUR  0xFF
#define C_QMSIX   0x1A
#define ISR_OFF   0x1000

static volatile unsigned msix_irqs, intx_irqs, unexpected;
static volatile uint8_t last_isr;
static uintptr_t isr_addr;

__attribute__((interrupt)) static void on_msix(struct frame *f)
{
    (void)f;
    msix_irqs++;
    mmio_write32(LAPIC + LAPIC_EOI, 0);
}

__attribute__((interrupt)) static void on_intx(struct frame *f)
{
    (void)f;
    last_isr = mmio_read8(isr_addr); /* reading the ISR deasserts the line */
    intx_irqs++;
    mmio_write32(LAPIC + LAPIC_EOI, 0);
}

__attribute__((interrupt)) static void on_spurious(struct frame *f)
{
    (void)f;
}

__attribute__((interrupt)) static void on_unexpected(struct frame *f)
{
    (void)f;
    unexpected++;
}

static void setup_idt(void)
{
    idt_set_all(on_unexpected);
    idt_set_gate(VEC_MSIX, on_msix);
    idt_set_gate(VEC_INTX, on_intx);
    idt_set_gate(VEC_SPUR, on_spurious);
    idt_load();
    mmio_write32(LAPIC + LAPIC_SVR, 0x100 | VEC_SPUR);
}

static void wait_irq(volatile unsigned *counter, unsigned want)
{
    for (unsigned i = 0; *counter < want && i < 100; i++)
        __asm__ volatile("sti; hlt; cli");
}

static void cfg_write16(unsigned slot, unsigned off, uint16_t v)
{
    outl(PCI_ADDR, 0x80000000u | slot << 11 | (off & 0xFC));
    outw((uint16_t)(PCI_DATA + (off & 2)), v);
}

static unsigned find_cap(unsigned slot, uint8_t id)
{
    unsigned cap = cfg_read32(slot, 0x34) & 0xFF;
    for (unsigned guard = 0; cap && guard < 48; guard++) {
        uint32_t h = cfg_read32(slot, cap);
        if ((h & 0xFF) == id)
            return cap;
        cap = (h >> 8) & 0xFF;
    }
    return 0;
}

static void ioapic_write(uint32_t reg, uint32_t v)
{
    mmio_write32(IOAPIC, reg);
    mmio_write32(IOAPIC + 0x10, v);
}

static void rng_request(struct vdev *v)
{
    v->q->d[0] = (struct desc){(uintptr_t)buf, 16, 2, 0};
    check_eq(run(v, 0), 16, "rng request completed");
}

static void test_interrupts(struct vdev *v, unsigned slot)
{
    setup_idt();
    isr_addr = v->bar + ISR_OFF;
    unsigned cap = find_cap(slot, 0x11);
    if (!check(cap != 0, "MSI-X capability"))
        return;
    uint32_t table = cfg_read32(slot, cap + 4), pba = cfg_read32(slot, cap + 8);
    uintptr_t tbar = cfg_read32(slot, 0x10 + 4 * (table & 7)) & ~0xFu;
    uintptr_t entry = tbar + (table & ~7u), pbaddr = tbar + (pba & ~7u);
    mmio_write32(entry + 0, (uint32_t)LAPIC); /* destination APIC 0 */
    mmio_write32(entry + 4, 0);
    mmio_write32(entry + 8, VEC_MSIX); /* fixed, edge */
    mmio_write32(entry + 12, 0);
    uint16_t ctl = (uint16_t)(cfg_read32(slot, cap) >> 16);
    cfg_write16(slot, cap + 2, ctl | 0x8000);
    mmio_write16(v->bar + C_QSEL, 0);
    mmio_write16(v->bar + C_QMSIX, 0);
    check_eq(mmio_read16(v->bar + C_QMSIX), 0, "queue vector 0 accepted");

    rng_request(v);
    wait_irq(&msix_irqs, 1);
    check_eq(msix_irqs, 1, "MSI-X interrupt delivered");

    mmio_write32(entry + 12, 1); /* mask: the next one waits in the PBA */
    rng_request(v);
    /* The device sets the pending bit right after publishing the used entry. */
    for (unsigned i = 0; i < 1000000 && !(mmio_read32(pbaddr) & 1); i++)
        __asm__ volatile("pause");
    check_eq(msix_irqs, 1, "no interrupt while masked");
    check_eq(mmio_read32(pbaddr) & 1, 1, "pending bit set");
    mmio_write32(entry + 12, 0);
    wait_irq(&msix_irqs, 2);
    check_eq(msix_irqs, 2, "pending interrupt delivered on unmask");
    check_eq(mmio_read32(pbaddr) & 1, 0, "pending bit cleared");

    /* INTx: MSI-X off, the GSI from the interrupt line register, level-triggered. */
    cfg_write16(slot, cap + 2, ctl & (uint16_t)~0x8000);
    unsigned gsi = cfg_read32(slot, 0x3C) & 0xFF;
    ioapic_write(0x10 + 2 * gsi + 1, 0);
    ioapic_write(0x10 + 2 * gsi, VEC_INTX | 1u << 15); /* fixed, level, active high */
    rng_request(v);
    wait_irq(&intx_irqs, 1);
    check_eq(intx_irqs, 1, "INTx interrupt delivered");
    check_eq(last_isr & 1, 1, "ISR says queue interrupt");
    check_eq(mmio_read8(isr_addr), 0, "ISR cleared by the read");
    ioapic_write(0x10 + 2 * gsi, 1u << 16);
    check_eq(unexpected, 0, "no unexpected interrupts");
}

static void test_blk(void)
{
    int slot = find(DEV_BLK);
    struct vdev v;
    if (!check(slot > 0, "virtio-blk present") || start(&v, (unsigned)slot, &qm[0]) < 0)
        return;
    check_eq(mmio_read64(v.bar + 0x2000), 16, "capacity 16 sectors");
    check_eq(blk_request(&v, 0, 0, 512, 1), 513, "read sector 0 length");
    check_eq(status_byte, 0, "read status");
    check(memcmp_guest(buf, "EMBER-DISK-SECTOR0", 18) == 0, "sector 0 contents");
    memset(buf, 0, 512);
    memcpy(buf, "WRITTEN-BY-GUEST", 16);
    check_eq(blk_request(&v, 1, 1, 512, 0), 1, "write sector 1");
    check_eq(status_byte, 0, "write status");
    check_eq(blk_request(&v, 4, 0, 0, 0), 1, "flush");
    check_eq(status_byte, 0, "flush status");
    check_eq(blk_request(&v, 0, 16, 512, 1), 1, "read past the end: only the status");
    check_eq(status_byte, 1, "read past the end fails with IOERR");
    memset(buf, 0, 32);
    check_eq(blk_request(&v, 8, 0, 20, 1), 21, "GET_ID");
    check(memcmp_guest(buf, "guestdisk", 10) == 0, "serial");
}

int guest_main(void)
{
    struct vdev rng;
    int rng_slot = test_rng(&rng);
    test_blk();
    if (rng_slot > 0)
        test_interrupts(&rng, (unsigned)rng_slot);
    return report("virtio");
}
