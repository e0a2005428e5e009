/* Host-side throughput of the virtio-blk device path (ring parsing, block layer on io_uring,
 * completion, used ring) with a driver that keeps QD requests in flight: 4 KiB random reads
 * and 64 KiB sequential reads against a temporary raw file (page cache warm). Prints IOPS
 * and MB/s; fails only if the device stops completing requests. Suite 'slow'. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/memmap.h"
#include "fake_machine.h"
#include "virtio/virtio.h"
#include "virtio/virtio_blk.h"
#include "virtio/virtio_blk_req.h"

#define QSZ        256
#define QD         32
#define DISK_BYTES (64 * MiB)
#define RING_BASE  0x10000
#define HDRS       0x40000
#define STATUS     0x50000
#define DATA       0x100000

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void submit(struct fake_machine *fm, struct ring *r, unsigned slot, uint64_t sector,
                   uint32_t len)
{
    uint8_t h[16] = {0};
    memcpy(h + 8, &sector, 8);
    guest_mem_write(&fm->vm.mem, HDRS + 16 * slot, h, sizeof(h));
    uint16_t d = (uint16_t)(3 * slot);
    ring_set_desc(r, d, HDRS + 16 * slot, 16, VIRTQ_DESC_F_NEXT, d + 1);
    ring_set_desc(r, d + 1, DATA + (uint64_t)slot * 65536, len,
                  VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, d + 2);
    ring_set_desc(r, d + 2, STATUS + slot, 1, VIRTQ_DESC_F_WRITE, 0);
    ring_publish(r, d);
}

static int run(struct fake_machine *fm, struct vdrv *dv, struct ring *r, uint32_t len, bool random,
               const char *label)
{
    uint64_t sectors = DISK_BYTES / 512, step = len / 512, next = 0;
    unsigned seed = 1;
    uint16_t done_idx = ring_used_idx(r);
    unsigned completed = 0;
    for (unsigned s = 0; s < QD; s++) {
        submit(fm, r, s, random ? (rand_r(&seed) % (sectors / step)) * step : next, len);
        next = (next + step) % sectors;
    }
    vdrv_kick(dv, 0);
    double start = now_s(), deadline = start + 1.0, idle_since = start;
    while (now_s() < deadline) {
        uint16_t used = ring_used_idx(r);
        if (used == done_idx) {
            if (now_s() - idle_since > 2.0)
                return -1;
            continue;
        }
        while (done_idx != used) {
            uint32_t id, l;
            ring_used_elem(r, done_idx, &id, &l);
            unsigned slot = id / 3;
            submit(fm, r, slot, random ? (rand_r(&seed) % (sectors / step)) * step : next, len);
            next = (next + step) % sectors;
            done_idx++;
            completed++;
        }
        idle_since = now_s();
        vdrv_kick(dv, 0);
    }
    double secs = now_s() - start;
    printf("virtio-blk %-22s QD%d: %8.0f IOPS %8.1f MB/s\n", label, QD, completed / secs,
           completed * (double)len / secs / 1e6);
    /* Drain what is still in flight. */
    for (int i = 0; i < 2000 && (uint16_t)(ring_used_idx(r) - done_idx) < QD; i++)
        usleep(1000);
    return 0;
}

int main(void)
{
    char path[] = "/tmp/ember-vblk-bench-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0 || ftruncate(fd, DISK_BYTES) < 0)
        return 1;
    static uint8_t chunk[1 << 20];
    memset(chunk, 0x5A, sizeof(chunk));
    for (uint64_t off = 0; off < DISK_BYTES; off += sizeof(chunk))
        if (pwrite(fd, chunk, sizeof(chunk), (off_t)off) != (ssize_t)sizeof(chunk))
            return 1;
    struct fake_machine fm;
    if (fm_init(&fm, 8 * MiB) < 0)
        return 1;
    char opts[96];
    snprintf(opts, sizeof(opts), "path=%s,format=raw", path);
    struct vdrv dv;
    struct ring r;
    if (!virtio_blk_create(&fm.vm, fm.host, opts) ||
        !vdrv_find(&fm, VIRTIO_PCI_DEVICE_ID_BASE + VIRTIO_ID_BLOCK, &dv))
        return 1;
    ring_layout(&r, &fm.vm.mem, QSZ, RING_BASE);
    vdrv_enable_msix(&dv, 2);
    vdrv_negotiate(&dv, VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_F_EVENT_IDX));
    vdrv_setup_queue(&dv, 0, &r, 1);
    vdrv_driver_ok(&dv);
    int rc = run(&fm, &dv, &r, 4096, true, "4KiB random read");
    if (rc == 0)
        rc = run(&fm, &dv, &r, 65536, false, "64KiB sequential read");
    fm_destroy(&fm);
    close(fd);
    unlink(path);
    if (rc < 0)
        fprintf(stderr, "virtio-blk stopped completing requests\n");
    return rc < 0 ? 1 : 0;
}
