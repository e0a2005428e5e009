/* virtio-blk against a temporary raw file, driven like a guest: read, write, flush, GET_ID,
 * discard, write-zeroes, read-only disks, several disks, option errors, and hostile requests
 * (out-of-range sectors, overflowing sectors, odd lengths, unknown types, missing status). */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/memmap.h"
#include "fake_machine.h"
#include "virtio/virtio.h"
#include "virtio/virtio_blk.h"
#include "virtio/virtio_blk_req.h"

#define BLK_DEVICE_ID (VIRTIO_PCI_DEVICE_ID_BASE + VIRTIO_ID_BLOCK)
#define DISK_SECTORS  2048
#define RING_BASE     0x10000
#define HDR           0x80000
#define STATUS        0x81000
#define DATA          0x100000
#define IND           0x90000
#define FEATURES                                                                                   \
    (VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC) |                         \
     VIRTIO_BIT(VIRTIO_BLK_F_SEG_MAX) | VIRTIO_BIT(VIRTIO_BLK_F_FLUSH) |                           \
     VIRTIO_BIT(VIRTIO_BLK_F_BLK_SIZE))

struct fixture {
    struct fake_machine fm;
    char path[64];
    int fd;
    struct vdrv d;
    struct ring r;
    uint16_t next_head;
};

static uint8_t pattern(uint64_t off)
{
    return (uint8_t)(off * 7 + (off >> 9));
}

static void make_disk(struct fixture *f)
{
    snprintf(f->path, sizeof(f->path), "/tmp/ember-vblk-XXXXXX");
    f->fd = mkstemp(f->path);
    assert_true(f->fd >= 0);
    static uint8_t buf[DISK_SECTORS * 512];
    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = pattern(i);
    assert_int_equal(pwrite(f->fd, buf, sizeof(buf), 0), (ssize_t)sizeof(buf));
}

static int setup_opts(void **state, const char *extra, uint64_t features)
{
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    make_disk(f);
    assert_int_equal(fm_init(&f->fm, 4 * MiB), 0);
    char opts[256];
    snprintf(opts, sizeof(opts), "path=%s,format=raw%s", f->path, extra);
    assert_non_null(virtio_blk_create(&f->fm.vm, f->fm.host, opts));
    assert_true(vdrv_find(&f->fm, BLK_DEVICE_ID, &f->d));
    ring_layout(&f->r, &f->fm.vm.mem, 64, RING_BASE);
    vdrv_enable_msix(&f->d, 2);
    uint8_t s = vdrv_negotiate(&f->d, features);
    assert_true(s & VIRTIO_STATUS_FEATURES_OK);
    vdrv_setup_queue(&f->d, 0, &f->r, 1);
    vdrv_driver_ok(&f->d);
    *state = f;
    return 0;
}

static int setup(void **state)
{
    return setup_opts(state, ",id=disk-one",
                      FEATURES | VIRTIO_BIT(VIRTIO_BLK_F_DISCARD) |
                          VIRTIO_BIT(VIRTIO_BLK_F_WRITE_ZEROES));
}

static int setup_ro(void **state)
{
    return setup_opts(state, ",readonly=on", FEATURES | VIRTIO_BIT(VIRTIO_BLK_F_RO));
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    fm_destroy(&f->fm);
    close(f->fd);
    unlink(f->path);
    free(f);
    return 0;
}

static void put_header(struct fixture *f, uint64_t gpa, uint32_t type, uint64_t sector)
{
    uint8_t h[16] = {0};
    memcpy(h, &type, 4);
    memcpy(h + 8, &sector, 8);
    guest_mem_write(&f->fm.vm.mem, gpa, h, sizeof(h));
}

/* Publishes head, rings the doorbell and waits for the used ring to move. Returns used len. */
static uint32_t run_chain(struct fixture *f, uint16_t head)
{
    uint16_t before = ring_used_idx(&f->r);
    ring_publish(&f->r, head);
    vdrv_kick(&f->d, 0);
    for (int i = 0; i < 5000 && ring_used_idx(&f->r) == before; i++)
        usleep(1000);
    assert_int_equal(ring_used_idx(&f->r), (uint16_t)(before + 1));
    uint32_t id, len;
    ring_used_elem(&f->r, before, &id, &len);
    assert_int_equal(id, head);
    return len;
}

static uint8_t status(struct fixture *f)
{
    uint8_t s = 0xEE;
    guest_mem_read(&f->fm.vm.mem, STATUS, &s, 1);
    return s;
}

/* A three-descriptor request: header, data (writable for reads), status. */
static uint32_t request(struct fixture *f, uint32_t type, uint64_t sector, uint32_t len,
                        bool data_writable)
{
    uint8_t bad = 0xEE;
    guest_mem_write(&f->fm.vm.mem, STATUS, &bad, 1);
    put_header(f, HDR, type, sector);
    uint16_t h = f->next_head;
    f->next_head = (uint16_t)((f->next_head + 3) % 63);
    if (len) {
        ring_set_desc(&f->r, h, HDR, 16, VIRTQ_DESC_F_NEXT, h + 1);
        ring_set_desc(&f->r, h + 1, DATA, len,
                      VIRTQ_DESC_F_NEXT | (data_writable ? VIRTQ_DESC_F_WRITE : 0), h + 2);
        ring_set_desc(&f->r, h + 2, STATUS, 1, VIRTQ_DESC_F_WRITE, 0);
    } else {
        ring_set_desc(&f->r, h, HDR, 16, VIRTQ_DESC_F_NEXT, h + 1);
        ring_set_desc(&f->r, h + 1, STATUS, 1, VIRTQ_DESC_F_WRITE, 0);
    }
    return run_chain(f, h);
}

static void test_config(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(vdrv_read(&f->d, VIRTIO_PCI_DEVICE_OFF, 8), DISK_SECTORS);
    assert_int_equal(vdrv_read(&f->d, VIRTIO_PCI_DEVICE_OFF + 12, 4), VIRTQ_MAX_SEGS - 2);
    assert_int_equal(vdrv_read(&f->d, VIRTIO_PCI_DEVICE_OFF + 20, 4), 512);
    assert_int_equal(vdrv_read(&f->d, VIRTIO_PCI_DEVICE_OFF + 40, 4), 1);
    assert_int_equal(vdrv_read(&f->d, VIRTIO_PCI_DEVICE_OFF + 60, 4), 0); /* past the config */
    uint64_t feat = vdrv_device_features(&f->d);
    assert_true(feat & VIRTIO_BIT(VIRTIO_BLK_F_DISCARD));
    assert_false(feat & VIRTIO_BIT(VIRTIO_BLK_F_RO));
    /* Config space is read-only for the driver. */
    vdrv_write(&f->d, VIRTIO_PCI_DEVICE_OFF, 4, 5);
    assert_int_equal(vdrv_read(&f->d, VIRTIO_PCI_DEVICE_OFF, 8), DISK_SECTORS);
}

static void test_read(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(request(f, VIRTIO_BLK_T_IN, 3, 4096, true), 4097);
    assert_int_equal(status(f), VIRTIO_BLK_S_OK);
    uint8_t *p = guest_mem_ptr(&f->fm.vm.mem, DATA, 4096);
    for (unsigned i = 0; i < 4096; i++)
        assert_int_equal(p[i], pattern(3 * 512 + i));
    /* The last sector is readable. */
    assert_int_equal(request(f, VIRTIO_BLK_T_IN, DISK_SECTORS - 1, 512, true), 513);
    assert_int_equal(status(f), VIRTIO_BLK_S_OK);
}

static void test_write_and_flush(void **state)
{
    struct fixture *f = *state;
    uint8_t *p = guest_mem_ptr(&f->fm.vm.mem, DATA, 1024);
    memset(p, 0xA5, 1024);
    assert_int_equal(request(f, VIRTIO_BLK_T_OUT, 5, 1024, false), 1);
    assert_int_equal(status(f), VIRTIO_BLK_S_OK);
    assert_int_equal(request(f, VIRTIO_BLK_T_FLUSH, 0, 0, false), 1);
    assert_int_equal(status(f), VIRTIO_BLK_S_OK);
    uint8_t back[1024];
    assert_int_equal(pread(f->fd, back, sizeof(back), 5 * 512), 1024);
    for (unsigned i = 0; i < 1024; i++)
        assert_int_equal(back[i], 0xA5);
    assert_int_equal(pread(f->fd, back, 1, 7 * 512), 1);
    assert_int_equal(back[0], pattern(7 * 512)); /* the neighbour is untouched */
}

static void test_get_id(void **state)
{
    struct fixture *f = *state;
    uint8_t *p = guest_mem_ptr(&f->fm.vm.mem, DATA, 32);
    memset(p, 0x55, 32);
    assert_int_equal(request(f, VIRTIO_BLK_T_GET_ID, 0, 32, true), 21);
    assert_int_equal(status(f), VIRTIO_BLK_S_OK);
    assert_string_equal((char *)p, "disk-one");
    assert_int_equal(p[20], 0x55); /* only 20 bytes written */
}

static void test_discard_and_write_zeroes(void **state)
{
    struct fixture *f = *state;
    uint8_t seg[16] = {0};
    uint64_t sector = 10;
    uint32_t n = 3, flags = VIRTIO_BLK_WZ_F_UNMAP;
    memcpy(seg, &sector, 8);
    memcpy(seg + 8, &n, 4);
    memcpy(seg + 12, &flags, 4);
    guest_mem_write(&f->fm.vm.mem, DATA, seg, sizeof(seg));
    assert_int_equal(request(f, VIRTIO_BLK_T_WRITE_ZEROES, 0, 16, false), 1);
    assert_int_equal(status(f), VIRTIO_BLK_S_OK);
    uint8_t back[3 * 512];
    assert_int_equal(pread(f->fd, back, sizeof(back), 10 * 512), (ssize_t)sizeof(back));
    for (unsigned i = 0; i < sizeof(back); i++)
        assert_int_equal(back[i], 0);
    /* Discard with the unmap flag is unsupported; without it, fine. */
    assert_int_equal(request(f, VIRTIO_BLK_T_DISCARD, 0, 16, false), 1);
    assert_int_equal(status(f), VIRTIO_BLK_S_UNSUPP);
    flags = 0;
    memcpy(seg + 12, &flags, 4);
    guest_mem_write(&f->fm.vm.mem, DATA, seg, sizeof(seg));
    assert_int_equal(request(f, VIRTIO_BLK_T_DISCARD, 0, 16, false), 1);
    assert_int_equal(status(f), VIRTIO_BLK_S_OK);
    /* A range past the end of the disk is an I/O error. */
    sector = DISK_SECTORS - 1;
    memcpy(seg, &sector, 8);
    guest_mem_write(&f->fm.vm.mem, DATA, seg, sizeof(seg));
    assert_int_equal(request(f, VIRTIO_BLK_T_DISCARD, 0, 16, false), 1);
    assert_int_equal(status(f), VIRTIO_BLK_S_IOERR);
    /* Two segments (we advertise one) are unsupported. */
    assert_int_equal(request(f, VIRTIO_BLK_T_WRITE_ZEROES, 0, 32, false), 1);
    assert_int_equal(status(f), VIRTIO_BLK_S_UNSUPP);
}

static void test_hostile_requests(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(request(f, VIRTIO_BLK_T_IN, DISK_SECTORS, 512, true), 1);
    assert_int_equal(status(f), VIRTIO_BLK_S_IOERR);
    assert_int_equal(request(f, VIRTIO_BLK_T_IN, DISK_SECTORS - 1, 1024, true), 1);
    assert_int_equal(status(f), VIRTIO_BLK_S_IOERR);
    assert_int_equal(request(f, VIRTIO_BLK_T_OUT, UINT64_MAX - 1, 1024, false), 1);
    assert_int_equal(status(f), VIRTIO_BLK_S_IOERR);
    assert_int_equal(request(f, VIRTIO_BLK_T_IN, 0, 100, true), 1); /* not whole sectors */
    assert_int_equal(status(f), VIRTIO_BLK_S_IOERR);
    assert_int_equal(request(f, 77, 0, 512, true), 1);
    assert_int_equal(status(f), VIRTIO_BLK_S_UNSUPP);
    /* A chain without a status byte is returned unanswered. */
    ring_set_desc(&f->r, 63, HDR, 16, 0, 0);
    assert_int_equal(run_chain(f, 63), 0);
    /* A header shorter than 16 bytes likewise. */
    ring_set_desc(&f->r, 60, HDR, 8, VIRTQ_DESC_F_NEXT, 61);
    ring_set_desc(&f->r, 61, STATUS, 1, VIRTQ_DESC_F_WRITE, 0);
    assert_int_equal(run_chain(f, 60), 0);
    /* The device keeps working. */
    assert_false(vdrv_status(&f->d) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
    assert_int_equal(request(f, VIRTIO_BLK_T_IN, 0, 512, true), 513);
    assert_int_equal(status(f), VIRTIO_BLK_S_OK);
}

static void test_any_layout_and_indirect(void **state)
{
    struct fixture *f = *state;
    /* Header split 5 + 11 bytes, data in two pieces, data and status in one descriptor. */
    put_header(f, HDR, VIRTIO_BLK_T_IN, 2);
    struct guest_mem *gm = &f->fm.vm.mem;
    ring_set_desc_at(gm, IND, 0, HDR, 5, VIRTQ_DESC_F_NEXT, 1);
    ring_set_desc_at(gm, IND, 1, HDR + 5, 11, VIRTQ_DESC_F_NEXT, 2);
    ring_set_desc_at(gm, IND, 2, DATA, 300, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 3);
    ring_set_desc_at(gm, IND, 3, DATA + 0x1000, 213, VIRTQ_DESC_F_WRITE, 0);
    ring_set_desc(&f->r, 62, IND, 4 * 16, VIRTQ_DESC_F_INDIRECT, 0);
    assert_int_equal(run_chain(f, 62), 513);
    uint8_t *a = guest_mem_ptr(gm, DATA, 300), *b = guest_mem_ptr(gm, DATA + 0x1000, 213);
    assert_int_equal(b[212], VIRTIO_BLK_S_OK);
    for (unsigned i = 0; i < 300; i++)
        assert_int_equal(a[i], pattern(2 * 512 + i));
    for (unsigned i = 0; i < 212; i++)
        assert_int_equal(b[i], pattern(2 * 512 + 300 + i));
}

static void test_read_only(void **state)
{
    struct fixture *f = *state;
    assert_true(vdrv_device_features(&f->d) & VIRTIO_BIT(VIRTIO_BLK_F_RO));
    assert_false(vdrv_device_features(&f->d) & VIRTIO_BIT(VIRTIO_BLK_F_DISCARD));
    uint8_t *p = guest_mem_ptr(&f->fm.vm.mem, DATA, 512);
    memset(p, 0x11, 512);
    assert_int_equal(request(f, VIRTIO_BLK_T_OUT, 0, 512, false), 1);
    assert_int_equal(status(f), VIRTIO_BLK_S_IOERR);
    uint8_t b;
    assert_int_equal(pread(f->fd, &b, 1, 0), 1);
    assert_int_equal(b, pattern(0));
    assert_int_equal(request(f, VIRTIO_BLK_T_WRITE_ZEROES, 0, 16, false), 1);
    assert_int_equal(status(f), VIRTIO_BLK_S_UNSUPP);
    assert_int_equal(request(f, VIRTIO_BLK_T_IN, 0, 512, true), 513);
    assert_int_equal(status(f), VIRTIO_BLK_S_OK);
    /* Default serial names the slot. */
    assert_int_equal(request(f, VIRTIO_BLK_T_GET_ID, 0, 20, true), 21);
    assert_memory_equal(guest_mem_ptr(&f->fm.vm.mem, DATA, 10), "ember-disk", 10);
}

static void test_reset_with_requests_in_flight(void **state)
{
    struct fixture *f = *state;
    for (uint16_t i = 0; i < 20; i++) {
        uint64_t hdr = HDR + 16 * i;
        put_header(f, hdr, VIRTIO_BLK_T_IN, i);
        ring_set_desc(&f->r, 3 * i, hdr, 16, VIRTQ_DESC_F_NEXT, 3 * i + 1);
        ring_set_desc(&f->r, 3 * i + 1, DATA + 0x10000 * i, 0x10000,
                      VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 3 * i + 2);
        ring_set_desc(&f->r, 3 * i + 2, STATUS + i, 1, VIRTQ_DESC_F_WRITE, 0);
        ring_publish(&f->r, 3 * i);
    }
    vdrv_kick(&f->d, 0);
    vdrv_write(&f->d, VIRTIO_PCI_COMMON_STATUS, 1, 0); /* waits for the I/O to drain */
    assert_int_equal(vdrv_status(&f->d), 0);
    uint16_t used = ring_used_idx(&f->r);
    usleep(20000);
    assert_int_equal(ring_used_idx(&f->r), used); /* nothing lands after the reset */
}

static void test_several_disks_and_bad_options(void **state)
{
    struct fixture *f = *state;
    char opts[128];
    snprintf(opts, sizeof(opts), "path=%s,readonly=on,id=second", f->path);
    assert_non_null(virtio_blk_create(&f->fm.vm, f->fm.host, opts));
    unsigned found = 0;
    for (unsigned s = 0; s < PCI_MAX_SLOTS; s++)
        found += fm_cfg_read(&f->fm, s, PCI_DEVICE_ID, 2) == BLK_DEVICE_ID;
    assert_int_equal(found, 2);

    const char *bad[] = {"",
                         "readonly=on",
                         "path=/nonexistent/ember-disk.img",
                         "path=/tmp/x,readonly=maybe",
                         "path=/tmp/x,id=abcdefghijklmnopqrstuvwxyz",
                         "path=/tmp/x,format=vmdk",
                         "path=/tmp/x,speed=fast"};
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_null(virtio_blk_create(&f->fm.vm, f->fm.host, bad[i]));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_config, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_and_flush, setup, teardown),
        cmocka_unit_test_setup_teardown(test_get_id, setup, teardown),
        cmocka_unit_test_setup_teardown(test_discard_and_write_zeroes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hostile_requests, setup, teardown),
        cmocka_unit_test_setup_teardown(test_any_layout_and_indirect, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_only, setup_ro, teardown),
        cmocka_unit_test_setup_teardown(test_reset_with_requests_in_flight, setup, teardown),
        cmocka_unit_test_setup_teardown(test_several_disks_and_bad_options, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
