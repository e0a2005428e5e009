/* Test guest "virtio": a minimal virtio-pci driver run on a real vCPU. It finds the functions
 * through configuration mechanism #1, negotiates VERSION_1, and polls (no interrupts):
 * virtio-rng fills a buffer; virtio-blk reads sector 0 (which the test script filled with
 * "EMBER-DISK-SECTOR0"), writes sector 1 with "WRITTEN-BY-GUEST", flushes, and reads GET_ID.
 * The host script then checks the disk file. Reports "virtio: PASS". */
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

static int find(uint16_t device)
{
    for (unsigned s = 0; s < 32; s++)
        if (cfg_read32(s, 0) == ((uint32_t)device << 16 | VENDOR_VIRTIO))
            return (int)s;
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

static void test_rng(void)
{
    int slot = find(DEV_RNG);
    struct vdev v;
    if (!check(slot > 0, "virtio-rng present") || start(&v, (unsigned)slot, &qm[1]) < 0)
        return;
    memset(buf, 0, 64);
    v.q->d[0] = (struct desc){(uintptr_t)buf, 64, 2, 0};
    check_eq(run(&v, 0), 64, "rng fills 64 bytes");
    unsigned nonzero = 0;
    for (int i = 0; i < 64; i++)
        nonzero += buf[i] != 0;
    check(nonzero > 32, "rng bytes look random");
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
    test_rng();
    test_blk();
    return report("virtio");
}
