/* virtio-net end to end on user networking: the "guest" (this test, through the rings) sends a
 * DHCPDISCOVER on transmitq and gets libslirp's offer on receiveq. Also the config space, MAC
 * option errors, frames dropped for lack of (or too small) buffers, runt frames, and the
 * feature rules of the tap backend when the host lets us create one. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "../net/frames.h"
#include "core/memmap.h"
#include "fake_machine.h"
#include "virtio/virtio.h"
#include "virtio/virtio_net.h"

#define NET_DEVICE_ID (VIRTIO_PCI_DEVICE_ID_BASE + VIRTIO_ID_NET)
#define RXRING        0x10000
#define TXRING        0x20000
#define RXBUF         0x100000
#define TXBUF         0x200000
#define F_MAC         (1ULL << 5)
#define F_STATUS      (1ULL << 16)
#define F_CSUM        (1ULL << 0)
#define F_TSO4        (1ULL << 11)
#define F_V1          VIRTIO_BIT(VIRTIO_F_VERSION_1)

struct fixture {
    struct fake_machine fm;
    struct vdrv d;
    struct ring rx, tx;
};

static int setup_spec(void **state, const char *spec)
{
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    assert_int_equal(fm_init(&f->fm, 4 * MiB), 0);
    if (!virtio_net_create(&f->fm.vm, f->fm.host, spec)) {
        fm_destroy(&f->fm);
        free(f);
        return -1;
    }
    assert_true(vdrv_find(&f->fm, NET_DEVICE_ID, &f->d));
    ring_layout(&f->rx, &f->fm.vm.mem, 16, RXRING);
    ring_layout(&f->tx, &f->fm.vm.mem, 16, TXRING);
    *state = f;
    return 0;
}

static int setup(void **state)
{
    return setup_spec(state, "user,mac=52:54:00:12:34:56");
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    fm_destroy(&f->fm);
    free(f);
    return 0;
}

static void bring_up(struct fixture *f, uint64_t features)
{
    vdrv_enable_msix(&f->d, 3);
    assert_true(vdrv_negotiate(&f->d, features) & VIRTIO_STATUS_FEATURES_OK);
    vdrv_setup_queue(&f->d, 0, &f->rx, 1);
    vdrv_setup_queue(&f->d, 1, &f->tx, 2);
    vdrv_driver_ok(&f->d);
}

static void post_rx(struct fixture *f, uint16_t i, uint32_t len)
{
    ring_set_desc(&f->rx, i, RXBUF + 0x1000 * i, len, VIRTQ_DESC_F_WRITE, 0);
    ring_publish(&f->rx, i);
}

static void send_frame(struct fixture *f, uint16_t i, const uint8_t *frame, size_t len)
{
    uint8_t hdr[12] = {0};
    guest_mem_write(&f->fm.vm.mem, TXBUF + 0x1000 * i, hdr, sizeof(hdr));
    guest_mem_write(&f->fm.vm.mem, TXBUF + 0x1000 * i + 0x100, frame, len);
    ring_set_desc(&f->tx, i, TXBUF + 0x1000 * i, 12, VIRTQ_DESC_F_NEXT, i + 8);
    ring_set_desc(&f->tx, i + 8, TXBUF + 0x1000 * i + 0x100, (uint32_t)len, 0, 0);
    ring_publish(&f->tx, i);
    vdrv_kick(&f->d, 1);
}

static int wait_used(struct ring *r, uint16_t want)
{
    for (int i = 0; i < 300; i++) {
        if (ring_used_idx(r) == want)
            return 1;
        usleep(10000);
    }
    return 0;
}

static void test_config(void **state)
{
    struct fixture *f = *state;
    for (int i = 0; i < 6; i++)
        assert_int_equal(vdrv_read(&f->d, VIRTIO_PCI_DEVICE_OFF + i, 1), test_mac[i]);
    assert_int_equal(vdrv_read(&f->d, VIRTIO_PCI_DEVICE_OFF + 6, 2), 1); /* link up */
    assert_int_equal(vdrv_read(&f->d, VIRTIO_PCI_DEVICE_OFF + 8, 2), 1);
    uint64_t feat = vdrv_device_features(&f->d);
    assert_true(feat & F_MAC);
    assert_true(feat & F_STATUS);
    assert_false(feat & F_CSUM); /* user networking computes no checksums for the guest */
    vdrv_write(&f->d, VIRTIO_PCI_DEVICE_OFF, 1, 0xFF);
    assert_int_equal(vdrv_read(&f->d, VIRTIO_PCI_DEVICE_OFF, 1), 0x52);
}

static void test_dhcp_through_the_device(void **state)
{
    struct fixture *f = *state;
    bring_up(f, F_V1 | F_MAC | F_STATUS);
    for (uint16_t i = 0; i < 4; i++)
        post_rx(f, i, 2048);
    uint8_t frame[400];
    uint32_t xid = 0x55aa1234;
    size_t len = build_dhcp_discover(frame, xid);
    send_frame(f, 0, frame, len);
    assert_int_equal(ring_used_idx(&f->tx), 1);
    assert_true(wait_used(&f->rx, 1));
    uint32_t id, used_len;
    ring_used_elem(&f->rx, 0, &id, &used_len);
    assert_int_equal(id, 0);
    assert_true(used_len > 12 + 282);
    uint8_t *buf = guest_mem_ptr(&f->fm.vm.mem, RXBUF, 2048);
    assert_int_equal(buf[10], 1); /* num_buffers */
    uint8_t yiaddr[4];
    assert_true(is_dhcp_reply(buf + 12, used_len - 12, xid, 2, yiaddr));
    assert_int_equal(yiaddr[3], 15);
    assert_true(fm_msi_count_for(&f->fm, 1) >= 1);
}

static void test_small_and_missing_buffers(void **state)
{
    struct fixture *f = *state;
    bring_up(f, F_V1 | F_MAC);
    uint8_t frame[400];
    size_t len = build_dhcp_discover(frame, 7);
    /* No receive buffer: the offer is dropped, nothing breaks. */
    send_frame(f, 0, frame, len);
    usleep(100000);
    assert_int_equal(ring_used_idx(&f->rx), 0);
    /* A buffer too small for the frame comes back empty. */
    post_rx(f, 0, 64);
    send_frame(f, 1, frame, len);
    assert_true(wait_used(&f->rx, 1));
    uint32_t id, used_len;
    ring_used_elem(&f->rx, 0, &id, &used_len);
    assert_int_equal(used_len, 0);
    /* Runt frames (shorter than an Ethernet header) are dropped on transmit. */
    send_frame(f, 2, frame, 6);
    assert_int_equal(ring_used_idx(&f->tx), 3);
    assert_false(vdrv_status(&f->d) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
}

static void test_bad_options(void **state)
{
    struct fake_machine fm;
    assert_int_equal(fm_init(&fm, 4 * MiB), 0);
    const char *bad[] = {"user,mac=01:00:5e:00:00:01", "user,mac=52:54:00:12:34",
                         "user,mac=52:54:00:12:34:56:78", "mac=52:54:00:12:34:56", "bogus"};
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_null(virtio_net_create(&fm.vm, fm.host, bad[i]));
    /* Default MAC when none is given. */
    assert_non_null(virtio_net_create(&fm.vm, fm.host, "user"));
    struct vdrv d;
    assert_true(vdrv_find(&fm, NET_DEVICE_ID, &d));
    assert_int_equal(vdrv_read(&d, VIRTIO_PCI_DEVICE_OFF, 1), 0x52);
    fm_destroy(&fm);
}

static void test_tap_features(void **state)
{
    struct fixture *f;
    if (setup_spec((void **)&f, "tap=embernet%d") < 0) {
        skip(); /* creating tap devices needs CAP_NET_ADMIN */
        return;
    }
    uint64_t feat = vdrv_device_features(&f->d);
    assert_true(feat & F_CSUM);
    assert_true(feat & F_TSO4);
    /* TSO without checksum offload breaks 5.1.3.1: refused. */
    assert_false(vdrv_negotiate(&f->d, F_V1 | F_TSO4) & VIRTIO_STATUS_FEATURES_OK);
    bring_up(f, F_V1 | F_CSUM | F_TSO4 | F_MAC);
    /* A GSO frame the driver did not negotiate (TCPv6) is dropped, not passed on. */
    uint8_t hdr[12] = {0, 4};
    uint8_t frame[60] = {0};
    guest_mem_write(&f->fm.vm.mem, TXBUF, hdr, sizeof(hdr));
    guest_mem_write(&f->fm.vm.mem, TXBUF + 12, frame, sizeof(frame));
    ring_set_desc(&f->tx, 0, TXBUF, 72, 0, 0);
    ring_publish(&f->tx, 0);
    vdrv_kick(&f->d, 1);
    assert_int_equal(ring_used_idx(&f->tx), 1);
    teardown((void **)&f);
}

/* Gives ifname an address and brings it up (needs CAP_NET_ADMIN). */
static int iface_up(const char *ifname, const char *ip, const char *mask)
{
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    if (s < 0)
        return -1;
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
    struct sockaddr_in *sin = (struct sockaddr_in *)&ifr.ifr_addr;
    sin->sin_family = AF_INET;
    int rc = -1;
    if (inet_pton(AF_INET, ip, &sin->sin_addr) == 1 && ioctl(s, SIOCSIFADDR, &ifr) == 0 &&
        inet_pton(AF_INET, mask, &sin->sin_addr) == 1 && ioctl(s, SIOCSIFNETMASK, &ifr) == 0 &&
        ioctl(s, SIOCGIFFLAGS, &ifr) == 0) {
        ifr.ifr_flags |= IFF_UP;
        rc = ioctl(s, SIOCSIFFLAGS, &ifr);
    }
    close(s);
    return rc;
}

static void test_tap_holds_frames_until_buffers(void **state)
{
    char ifname[16], spec[48];
    snprintf(ifname, sizeof(ifname), "embt%u", (unsigned)getpid() % 100000);
    snprintf(spec, sizeof(spec), "tap=%s", ifname);
    struct fixture *f;
    if (setup_spec((void **)&f, spec) < 0 || iface_up(ifname, "10.213.7.1", "255.255.255.0") < 0) {
        skip(); /* needs CAP_NET_ADMIN */
        return;
    }
    bring_up(f, F_V1 | F_MAC);
    /* Make the host kernel send frames (ARP for 10.213.7.2) onto the tap. */
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    assert_true(s >= 0);
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(9)};
    inet_pton(AF_INET, "10.213.7.2", &to.sin_addr);
    sendto(s, "x", 1, 0, (struct sockaddr *)&to, sizeof(to));
    for (int i = 0; i < 30; i++)
        fm_run(&f->fm, 10);
    assert_int_equal(ring_used_idx(&f->rx), 0); /* no buffers: nothing delivered, nothing lost */
    for (uint16_t i = 0; i < 4; i++)
        post_rx(f, i, 2048);
    vdrv_kick(&f->d, 0);
    fm_run(&f->fm, 50);
    assert_true(ring_used_idx(&f->rx) >= 1);
    uint32_t id, len;
    ring_used_elem(&f->rx, 0, &id, &len);
    assert_true(len >= 12 + 42); /* vnet header + at least an ARP frame */
    close(s);
    teardown((void **)&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_config, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dhcp_through_the_device, setup, teardown),
        cmocka_unit_test_setup_teardown(test_small_and_missing_buffers, setup, teardown),
        cmocka_unit_test(test_bad_options),
        cmocka_unit_test(test_tap_features),
        cmocka_unit_test(test_tap_holds_frames_until_buffers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
