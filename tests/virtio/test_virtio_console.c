/* virtio-console over pipes: guest output reaches the host descriptor, host input reaches the
 * guest's receive buffers (also input typed before the driver was ready), emergency writes,
 * file= output, and option errors. */
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
#include "virtio/virtio_console.h"

#define CON_DEVICE_ID (VIRTIO_PCI_DEVICE_ID_BASE + VIRTIO_ID_CONSOLE)
#define RXRING        0x10000
#define TXRING        0x20000
#define RXBUF         0x100000
#define TXBUF         0x200000
#define F_EMERG       (1ULL << 2)
#define F_V1          VIRTIO_BIT(VIRTIO_F_VERSION_1)

struct fixture {
    struct fake_machine fm;
    int in[2], out[2];
    struct vdrv d;
    struct ring rx, tx;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    assert_int_equal(fm_init(&f->fm, 4 * MiB), 0);
    assert_int_equal(pipe2(f->in, O_NONBLOCK | O_CLOEXEC), 0);
    assert_int_equal(pipe2(f->out, O_NONBLOCK | O_CLOEXEC), 0);
    assert_non_null(virtio_console_create_fds(&f->fm.vm, f->fm.host, f->in[0], f->out[1]));
    assert_true(vdrv_find(&f->fm, CON_DEVICE_ID, &f->d));
    ring_layout(&f->rx, &f->fm.vm.mem, 8, RXRING);
    ring_layout(&f->tx, &f->fm.vm.mem, 8, TXRING);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    fm_destroy(&f->fm);
    for (int i = 0; i < 2; i++) {
        close(f->in[i]);
        close(f->out[i]);
    }
    free(f);
    return 0;
}

static void bring_up(struct fixture *f, uint64_t features)
{
    vdrv_enable_msix(&f->d, 3);
    assert_true(vdrv_negotiate(&f->d, features) & VIRTIO_STATUS_FEATURES_OK);
    vdrv_setup_queue(&f->d, 0, &f->rx, 1);
    vdrv_setup_queue(&f->d, 1, &f->tx, 2);
}

static void test_output(void **state)
{
    struct fixture *f = *state;
    bring_up(f, F_V1);
    vdrv_driver_ok(&f->d);
    guest_mem_write(&f->fm.vm.mem, TXBUF, "hello, ", 7);
    guest_mem_write(&f->fm.vm.mem, TXBUF + 0x100, "host\n", 5);
    ring_set_desc(&f->tx, 0, TXBUF, 7, VIRTQ_DESC_F_NEXT, 1);
    ring_set_desc(&f->tx, 1, TXBUF + 0x100, 5, 0, 0);
    ring_publish(&f->tx, 0);
    vdrv_kick(&f->d, 1);
    char buf[32] = {0};
    assert_int_equal(read(f->out[0], buf, sizeof(buf)), 12);
    assert_string_equal(buf, "hello, host\n");
    assert_int_equal(ring_used_idx(&f->tx), 1);
    assert_int_equal(fm_msi_count_for(&f->fm, 2), 1);
}

static void test_input(void **state)
{
    struct fixture *f = *state;
    /* Typed before the driver is ready: kept. */
    assert_int_equal(write(f->in[1], "early", 5), 5);
    fm_run(&f->fm, 10);
    bring_up(f, F_V1);
    ring_set_desc(&f->rx, 0, RXBUF, 64, VIRTQ_DESC_F_WRITE, 0);
    ring_set_desc(&f->rx, 1, RXBUF + 0x100, 64, VIRTQ_DESC_F_WRITE, 0);
    ring_publish(&f->rx, 0);
    ring_publish(&f->rx, 1);
    vdrv_driver_ok(&f->d);
    assert_int_equal(ring_used_idx(&f->rx), 1);
    uint32_t id, len;
    ring_used_elem(&f->rx, 0, &id, &len);
    assert_int_equal(len, 5);
    assert_memory_equal(guest_mem_ptr(&f->fm.vm.mem, RXBUF, 5), "early", 5);
    /* Typed later: delivered when the loop sees it. */
    assert_int_equal(write(f->in[1], "later", 5), 5);
    fm_run(&f->fm, 10);
    assert_int_equal(ring_used_idx(&f->rx), 2);
    assert_memory_equal(guest_mem_ptr(&f->fm.vm.mem, RXBUF + 0x100, 5), "later", 5);
    /* No buffers left: input waits for the next one. */
    assert_int_equal(write(f->in[1], "xyz", 3), 3);
    fm_run(&f->fm, 10);
    assert_int_equal(ring_used_idx(&f->rx), 2);
    ring_set_desc(&f->rx, 2, RXBUF + 0x200, 2, VIRTQ_DESC_F_WRITE, 0);
    ring_set_desc(&f->rx, 3, RXBUF + 0x300, 8, VIRTQ_DESC_F_WRITE, 0);
    ring_publish(&f->rx, 2);
    ring_publish(&f->rx, 3);
    vdrv_kick(&f->d, 0);
    assert_int_equal(ring_used_idx(&f->rx), 4);
    assert_memory_equal(guest_mem_ptr(&f->fm.vm.mem, RXBUF + 0x200, 2), "xy", 2);
    assert_memory_equal(guest_mem_ptr(&f->fm.vm.mem, RXBUF + 0x300, 1), "z", 1);
}

static void test_emergency_write(void **state)
{
    struct fixture *f = *state;
    char c;
    bring_up(f, F_V1); /* without the feature: ignored */
    vdrv_write(&f->d, VIRTIO_PCI_DEVICE_OFF + 8, 4, 'N');
    assert_int_equal(read(f->out[0], &c, 1), -1);
    bring_up(f, F_V1 | F_EMERG);
    vdrv_write(&f->d, VIRTIO_PCI_DEVICE_OFF + 8, 4, 'Y');
    assert_int_equal(read(f->out[0], &c, 1), 1);
    assert_int_equal(c, 'Y');
    /* Other config writes and out-of-range reads do nothing. */
    vdrv_write(&f->d, VIRTIO_PCI_DEVICE_OFF + 0, 4, 0xFFFFFFFF);
    assert_int_equal(vdrv_read(&f->d, VIRTIO_PCI_DEVICE_OFF + 0, 4), 0);
    assert_int_equal(vdrv_read(&f->d, VIRTIO_PCI_DEVICE_OFF + 4, 4), 1);
    assert_int_equal(vdrv_read(&f->d, VIRTIO_PCI_DEVICE_OFF + 10, 4), 0);
}

static void test_file_output_and_bad_options(void **state)
{
    struct fake_machine fm;
    assert_int_equal(fm_init(&fm, 4 * MiB), 0);
    assert_null(virtio_console_create(&fm.vm, fm.host, "socket=/tmp/x"));
    assert_null(virtio_console_create(&fm.vm, fm.host, "file="));
    assert_null(virtio_console_create(&fm.vm, fm.host, "file=/nonexistent-dir/out"));
    char path[] = "/tmp/ember-vcon-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    char opts[64];
    snprintf(opts, sizeof(opts), "file=%s", path);
    assert_non_null(virtio_console_create(&fm.vm, fm.host, opts));
    struct vdrv d;
    struct ring tx;
    assert_true(vdrv_find(&fm, CON_DEVICE_ID, &d));
    ring_layout(&tx, &fm.vm.mem, 8, TXRING);
    assert_true(vdrv_negotiate(&d, F_V1) & VIRTIO_STATUS_FEATURES_OK);
    vdrv_setup_queue(&d, 1, &tx, VIRTIO_MSI_NO_VECTOR);
    vdrv_driver_ok(&d);
    guest_mem_write(&fm.vm.mem, TXBUF, "to file", 7);
    ring_set_desc(&tx, 0, TXBUF, 7, 0, 0);
    ring_publish(&tx, 0);
    vdrv_kick(&d, 1);
    char buf[16] = {0};
    assert_int_equal(pread(fd, buf, sizeof(buf), 0), 7);
    assert_string_equal(buf, "to file");
    /* A pseudo-terminal console reports its path. */
    struct virtio_console *pty = virtio_console_create(&fm.vm, fm.host, "pty");
    if (pty)
        assert_non_null(virtio_console_pty_path(pty));
    fm_destroy(&fm);
    close(fd);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_output, setup, teardown),
        cmocka_unit_test_setup_teardown(test_input, setup, teardown),
        cmocka_unit_test_setup_teardown(test_emergency_write, setup, teardown),
        cmocka_unit_test(test_file_output_and_bad_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
