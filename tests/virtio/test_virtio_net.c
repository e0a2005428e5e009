/* virtio-net end to end on user networking: the "guest" (this test, through the rings) sends a
 * DHCPDISCOVER on transmitq and gets libslirp's offer on receiveq. Also the config space (MAC,
 * MTU), option errors, frames dropped for lack of (or too small) buffers, runt frames; crafted
 * frames fed straight to the receive path: mergeable buffers (a frame over three buffers, the
 * ring running dry halfway, a ring too small, buffers shorter than a header), DATA_VALID only
 * on verified checksums; transmit checksum offload with hostile offsets; and, when the host
 * lets us create a tap, its features, MTU, offloads and GSO frames. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
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
#define F_CSUM        (1ULL << 0)
#define F_GUEST_CSUM  (1ULL << 1)
#define F_MTU         (1ULL << 3)
#define F_MAC         (1ULL << 5)
#define F_GUEST_TSO4  (1ULL << 7)
#define F_GUEST_TSO6  (1ULL << 8)
#define F_GUEST_ECN   (1ULL << 9)
#define F_TSO4        (1ULL << 11)
#define F_MRG         (1ULL << 15)
#define F_STATUS      (1ULL << 16)
#define F_V1          VIRTIO_BIT(VIRTIO_F_VERSION_1)
#define CFG_MTU       (VIRTIO_PCI_DEVICE_OFF + 10)

struct fixture {
    struct fake_machine fm;
    struct virtio_net *net;
    struct vdrv d;
    struct ring rx, tx;
};

static int setup_spec(void **state, const char *spec)
{
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    assert_int_equal(fm_init(&f->fm, 4 * MiB), 0);
    f->net = virtio_net_create(&f->fm.vm, f->fm.host, spec);
    if (!f->net) {
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

/* A receive buffer of two descriptors (len0 + len1 bytes) with head i. */
static void post_rx2(struct fixture *f, uint16_t i, uint32_t len0, uint32_t len1)
{
    ring_set_desc(&f->rx, i, RXBUF + 0x1000 * i, len0, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT,
                  (uint16_t)(i + 8));
    ring_set_desc(&f->rx, (uint16_t)(i + 8), RXBUF + 0x1000 * i + 0x800, len1, VIRTQ_DESC_F_WRITE,
                  0);
    ring_publish(&f->rx, i);
}

static uint8_t *rx_buf(struct fixture *f, uint16_t i)
{
    return guest_mem_ptr(&f->fm.vm.mem, RXBUF + 0x1000 * i, 0x1000);
}

static void send_frame_hdr(struct fixture *f, uint16_t i, const uint8_t *hdr, const uint8_t *frame,
                           size_t len)
{
    guest_mem_write(&f->fm.vm.mem, TXBUF + 0x1000 * i, hdr, 12);
    guest_mem_write(&f->fm.vm.mem, TXBUF + 0x1000 * i + 0x100, frame, len);
    ring_set_desc(&f->tx, i, TXBUF + 0x1000 * i, 12, VIRTQ_DESC_F_NEXT, i + 8);
    ring_set_desc(&f->tx, i + 8, TXBUF + 0x1000 * i + 0x100, (uint32_t)len, 0, 0);
    ring_publish(&f->tx, i);
    vdrv_kick(&f->d, 1);
}

static void send_frame(struct fixture *f, uint16_t i, const uint8_t *frame, size_t len)
{
    uint8_t hdr[12] = {0};
    send_frame_hdr(f, i, hdr, frame, len);
}

static void counters(struct fixture *f, uint64_t *rx, uint64_t *tx)
{
    virtio_net_counters(f->net, rx, tx);
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
    assert_true(feat & F_MRG);
    /* User networking completes and verifies checksums itself; it has no segmentation. */
    assert_true(feat & F_CSUM);
    assert_true(feat & F_GUEST_CSUM);
    assert_false(feat & (F_TSO4 | F_GUEST_TSO4 | F_GUEST_TSO6 | F_GUEST_ECN));
    /* VIRTIO_NET_F_MTU with the default 65520, le16 after max_virtqueue_pairs. */
    assert_true(feat & F_MTU);
    assert_int_equal(vdrv_read(&f->d, CFG_MTU, 2), 65520);
    assert_int_equal(vdrv_read(&f->d, CFG_MTU, 1), 65520 & 0xFF);
    assert_int_equal(vdrv_read(&f->d, CFG_MTU + 1, 1), 65520 >> 8);
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

/* 500 bytes of a non-IP frame (EtherType 0x88B5, local experimental) with a byte pattern. */
static size_t pattern_frame(uint8_t *frame, size_t len)
{
    for (size_t i = 0; i < len; i++)
        frame[i] = (uint8_t)(i * 7 + 3);
    memcpy(frame, test_mac, 6);
    frame[12] = 0x88;
    frame[13] = 0xB5;
    return len;
}

/* One frame over three buffers: each but the last filled to its end, num_buffers 3 in the
 * first (here split over its two descriptors: byte 10 in one, byte 11 in the other), all three
 * used entries published together with one interrupt. */
static void test_mrg_three_buffers(void **state)
{
    struct fixture *f = *state;
    bring_up(f, F_V1 | F_MAC | F_MRG);
    post_rx2(f, 0, 11, 89);
    post_rx(f, 1, 100);
    post_rx(f, 2, 2048);
    uint8_t frame[500];
    pattern_frame(frame, sizeof(frame));
    unsigned msi = fm_msi_count_for(&f->fm, 1);
    assert_true(virtio_net_receive(f->net, frame, sizeof(frame)));
    assert_int_equal(ring_used_idx(&f->rx), 3);
    assert_int_equal(fm_msi_count_for(&f->fm, 1), msi + 1);
    const uint32_t want_len[3] = {100, 100, 12 + 500 - 200};
    for (uint16_t i = 0; i < 3; i++) {
        uint32_t id, len;
        ring_used_elem(&f->rx, i, &id, &len);
        assert_int_equal(id, i);
        assert_int_equal(len, want_len[i]);
    }
    uint8_t *b0 = rx_buf(f, 0);
    uint8_t hdr[12];
    memcpy(hdr, b0, 11);
    hdr[11] = b0[0x800];
    assert_int_equal(hdr[0], 0); /* flags: not IP, nothing verified */
    assert_int_equal(hdr[1], 0); /* GSO_NONE */
    assert_int_equal(hdr[10] | hdr[11] << 8, 3);
    uint8_t got[500];
    memcpy(got, b0 + 0x801, 88);
    memcpy(got + 88, rx_buf(f, 1), 100);
    memcpy(got + 188, rx_buf(f, 2), 312);
    assert_memory_equal(got, frame, sizeof(frame));
    /* The next frame starts in a fresh buffer. */
    post_rx(f, 3, 2048);
    assert_true(virtio_net_receive(f->net, frame, 60));
    assert_int_equal(ring_used_idx(&f->rx), 4);
    uint32_t id, len;
    ring_used_elem(&f->rx, 3, &id, &len);
    assert_int_equal(id, 3);
    assert_int_equal(len, 72);
    assert_int_equal(rx_buf(f, 3)[10], 1);
}

struct publisher {
    struct fixture *f;
    _Atomic unsigned posted; /* rounds whose buffers the driver has made available */
    unsigned rounds;
    uint8_t frame[8 * 64 - 12];
};

static void *deliver_rounds(void *opaque)
{
    struct publisher *p = opaque;
    for (unsigned r = 0; r < p->rounds; r++) {
        while (__atomic_load_n(&p->posted, __ATOMIC_ACQUIRE) <= r)
            ;
        assert_true(virtio_net_receive(p->f->net, p->frame, sizeof(p->frame)));
    }
    return NULL;
}

/* A driver watching used->idx while frames of 8 buffers arrive never sees it stop partway
 * through a frame (5.1.6.4.1: all buffers of a packet used together). */
static void test_mrg_one_publish_per_frame(void **state)
{
    struct fixture *f = *state;
    bring_up(f, F_V1 | F_MAC | F_MRG);
    static struct publisher p;
    p.f = f;
    p.posted = 0;
    p.rounds = 3000;
    pattern_frame(p.frame, sizeof(p.frame));
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, deliver_rounds, &p), 0);
    uint16_t used = 0;
    unsigned partial = 0;
    for (unsigned r = 0; r < p.rounds; r++) {
        for (uint16_t i = 0; i < 8; i++)
            post_rx(f, (uint16_t)((r & 1) * 8 + i), 64);
        __atomic_store_n(&p.posted, r + 1, __ATOMIC_RELEASE);
        for (;;) {
            uint16_t idx = __atomic_load_n(
                (uint16_t *)guest_mem_ptr(&f->fm.vm.mem, f->rx.used + 2, 2), __ATOMIC_ACQUIRE);
            if (idx == (uint16_t)(used + 8))
                break;
            if (idx != used)
                partial++;
        }
        used = (uint16_t)(used + 8);
    }
    pthread_join(t, NULL);
    assert_int_equal(partial, 0);
    uint32_t id, len;
    ring_used_elem(&f->rx, (uint16_t)(used - 1), &id, &len);
    assert_int_equal(len, 64);
}

/* The ring runs dry halfway through a frame: nothing is published, the buffers taken are
 * rewound (the next frame starts in the first of them again), slirp's frame is dropped. */
static void test_mrg_out_of_buffers(void **state)
{
    struct fixture *f = *state;
    bring_up(f, F_V1 | F_MAC | F_MRG);
    post_rx(f, 0, 100);
    post_rx(f, 1, 100);
    uint8_t frame[500];
    pattern_frame(frame, sizeof(frame));
    unsigned msi = fm_msi_count_for(&f->fm, 1);
    uint64_t rx0, tx0, rx1, tx1;
    counters(f, &rx0, &tx0);
    assert_true(virtio_net_receive(f->net, frame, sizeof(frame))); /* slirp cannot hold it */
    counters(f, &rx1, &tx1);
    assert_int_equal(rx1, rx0 + 1);
    assert_int_equal(ring_used_idx(&f->rx), 0);
    assert_int_equal(fm_msi_count_for(&f->fm, 1), msi);
    /* Once there is room the whole frame lands in buffers 0, 1 and 2. */
    post_rx(f, 2, 2048);
    assert_true(virtio_net_receive(f->net, frame, sizeof(frame)));
    assert_int_equal(ring_used_idx(&f->rx), 3);
    uint32_t id, len;
    ring_used_elem(&f->rx, 0, &id, &len);
    assert_int_equal(id, 0);
    assert_int_equal(len, 100);
    ring_used_elem(&f->rx, 2, &id, &len);
    assert_int_equal(id, 2);
    assert_int_equal(len, 312);
    assert_int_equal(rx_buf(f, 0)[10], 3);
    assert_false(vdrv_status(&f->d) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
}

/* A frame larger than every buffer of the ring together is dropped with the ring rewound. */
static void test_mrg_ring_too_small(void **state)
{
    struct fixture *f = *state;
    bring_up(f, F_V1 | F_MAC | F_MRG);
    for (uint16_t i = 0; i < 16; i++)
        post_rx(f, i, 64);
    uint8_t frame[2000];
    pattern_frame(frame, sizeof(frame));
    assert_true(virtio_net_receive(f->net, frame, sizeof(frame)));
    assert_int_equal(ring_used_idx(&f->rx), 0);
    assert_true(virtio_net_receive(f->net, frame, 40));
    assert_int_equal(ring_used_idx(&f->rx), 1);
    uint32_t id, len;
    ring_used_elem(&f->rx, 0, &id, &len);
    assert_int_equal(id, 0);
    assert_int_equal(len, 52);
}

/* A buffer shorter than the header breaks 5.1.6.3.1: the frame is dropped, the buffers taken
 * for it come back empty, the device keeps working. */
static void test_mrg_short_buffer(void **state)
{
    struct fixture *f = *state;
    bring_up(f, F_V1 | F_MAC | F_MRG);
    post_rx(f, 0, 100);
    post_rx(f, 1, 4);
    post_rx(f, 2, 2048);
    uint8_t frame[500];
    pattern_frame(frame, sizeof(frame));
    assert_true(virtio_net_receive(f->net, frame, sizeof(frame)));
    assert_int_equal(ring_used_idx(&f->rx), 2);
    for (uint16_t i = 0; i < 2; i++) {
        uint32_t id, len;
        ring_used_elem(&f->rx, i, &id, &len);
        assert_int_equal(id, i);
        assert_int_equal(len, 0);
    }
    assert_true(virtio_net_receive(f->net, frame, 40));
    assert_int_equal(ring_used_idx(&f->rx), 3);
    uint32_t id, len;
    ring_used_elem(&f->rx, 2, &id, &len);
    assert_int_equal(id, 2);
    assert_int_equal(len, 52);
    assert_false(vdrv_status(&f->d) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
}

/* Receives frame into buffer i (posted here) and returns the header's flags. */
static uint8_t rx_flags(struct fixture *f, uint16_t i, const uint8_t *frame, size_t len)
{
    post_rx(f, i, 2048);
    uint16_t before = ring_used_idx(&f->rx);
    assert_true(virtio_net_receive(f->net, frame, len));
    assert_int_equal(ring_used_idx(&f->rx), before + 1);
    assert_memory_equal(rx_buf(f, i) + 12, frame, len);
    return rx_buf(f, i)[0];
}

/* DATA_VALID (flags bit 1) only on frames whose TCP/UDP checksum the device verified, and only
 * with GUEST_CSUM; a real offer from slirp gets it. */
static void test_data_valid_only_when_verified(void **state)
{
    struct fixture *f = *state;
    bring_up(f, F_V1 | F_MAC | F_MRG | F_GUEST_CSUM);
    uint8_t frame[200];
    size_t len = unhex(known_tcp4_hex, frame);
    assert_int_equal(rx_flags(f, 0, frame, len), 2);
    len = unhex(known_tcp6_hex, frame);
    assert_int_equal(rx_flags(f, 1, frame, len), 2);
    len = unhex(known_udp4_hex, frame);
    assert_int_equal(rx_flags(f, 2, frame, len), 2);
    len = unhex(known_tcp4_hex, frame);
    frame[len - 1] ^= 1; /* a payload byte: checksum wrong */
    assert_int_equal(rx_flags(f, 3, frame, len), 0);
    len = unhex(known_tcp4_hex, frame);
    frame[50] ^= 0x80; /* the checksum field itself */
    assert_int_equal(rx_flags(f, 4, frame, len), 0);
    len = unhex(known_udp4_zero_hex, frame); /* UDP without a checksum: nothing to verify */
    assert_int_equal(rx_flags(f, 5, frame, len), 0);
    len = unhex(known_tcp4_hex, frame);
    assert_int_equal(rx_flags(f, 6, frame, len - 1), 0); /* truncated */
    uint8_t other[60];
    pattern_frame(other, sizeof(other));
    assert_int_equal(rx_flags(f, 7, other, sizeof(other)), 0);

    /* slirp's own DHCP offer (UDP, checksummed by libslirp). */
    post_rx(f, 8, 2048);
    uint8_t dhcp[400];
    uint32_t xid = 0x600dcafe;
    size_t dlen = build_dhcp_discover(dhcp, xid);
    send_frame(f, 0, dhcp, dlen);
    assert_true(wait_used(&f->rx, 9));
    uint8_t yiaddr[4];
    uint32_t id, ulen;
    ring_used_elem(&f->rx, 8, &id, &ulen);
    assert_int_equal(id, 8);
    assert_true(is_dhcp_reply(rx_buf(f, 8) + 12, ulen - 12, xid, 2, yiaddr));
    assert_int_equal(rx_buf(f, 8)[0], 2);
}

static void test_no_data_valid_without_guest_csum(void **state)
{
    struct fixture *f = *state;
    bring_up(f, F_V1 | F_MAC | F_MRG);
    uint8_t frame[200];
    size_t len = unhex(known_tcp4_hex, frame);
    assert_int_equal(rx_flags(f, 0, frame, len), 0);
}

static int wait_dhcp_offer(struct fixture *f, uint16_t slot, uint32_t xid)
{
    if (!wait_used(&f->rx, (uint16_t)(slot + 1)))
        return 0;
    uint32_t id, len;
    ring_used_elem(&f->rx, slot, &id, &len);
    uint8_t yiaddr[4];
    return len > 12 && is_dhcp_reply(rx_buf(f, (uint16_t)id) + 12, len - 12, xid, 2, yiaddr);
}

static void csum_hdr(uint8_t *hdr, uint8_t flags, uint16_t start, uint16_t offset)
{
    memset(hdr, 0, 12);
    hdr[0] = flags;
    hdr[6] = (uint8_t)start;
    hdr[7] = (uint8_t)(start >> 8);
    hdr[8] = (uint8_t)offset;
    hdr[9] = (uint8_t)(offset >> 8);
}

/* NEEDS_CSUM on user networking: the device completes the UDP checksum slirp then checks. */
static void test_tx_checksum_completed(void **state)
{
    struct fixture *f = *state;
    bring_up(f, F_V1 | F_MAC | F_MRG | F_CSUM);
    for (uint16_t i = 0; i < 4; i++)
        post_rx(f, i, 2048);
    uint8_t frame[400], hdr[12];
    /* The premise: slirp ignores a discover whose UDP checksum is wrong. */
    size_t len = build_dhcp_discover(frame, 1);
    dhcp_discover_udp_csum(frame, len, 1); /* partial, but not flagged */
    send_frame(f, 0, frame, len);
    usleep(200000);
    assert_int_equal(ring_used_idx(&f->rx), 0);
    /* Flagged: completed at csum_start 34 + csum_offset 6, answered. */
    len = build_dhcp_discover(frame, 2);
    dhcp_discover_udp_csum(frame, len, 1);
    csum_hdr(hdr, 1, 34, 6);
    send_frame_hdr(f, 1, hdr, frame, len);
    assert_true(wait_dhcp_offer(f, 0, 2));
    uint64_t rx, tx;
    counters(f, &rx, &tx);
    assert_int_equal(tx, 0);
}

/* Hostile csum_start/csum_offset: each frame dropped (and its chain returned), never a read
 * or write outside it; the device keeps working. */
static void test_tx_bad_checksum_offsets(void **state)
{
    struct fixture *f = *state;
    bring_up(f, F_V1 | F_MAC | F_MRG | F_CSUM);
    for (uint16_t i = 0; i < 4; i++)
        post_rx(f, i, 2048);
    uint8_t frame[400], hdr[12];
    size_t len = build_dhcp_discover(frame, 3);
    dhcp_discover_udp_csum(frame, len, 1);
    const uint16_t bad[][2] = {
        {(uint16_t)len, 0},
        {(uint16_t)(len - 1), 0},
        {34, (uint16_t)(len - 34 - 1)},
        {0xFFFF, 0xFFFF},
        {34, 0xFFFF},
        {0xFFFF, 0},
        {0, (uint16_t)(len - 1)},
        {(uint16_t)(len + 100), 6},
    };
    uint64_t rx0, tx0;
    counters(f, &rx0, &tx0);
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        csum_hdr(hdr, 1, bad[i][0], bad[i][1]);
        send_frame_hdr(f, (uint16_t)(i % 8), hdr, frame, len);
        assert_int_equal(ring_used_idx(&f->tx), i + 1);
        uint64_t rx, tx;
        counters(f, &rx, &tx);
        assert_int_equal(tx, tx0 + i + 1);
    }
    usleep(200000);
    assert_int_equal(ring_used_idx(&f->rx), 0);
    assert_false(vdrv_status(&f->d) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
    /* The last two bytes of the frame are a legal place: accepted (slirp then sees a wrong
     * checksum and ignores it), not dropped by the device. */
    csum_hdr(hdr, 1, 0, (uint16_t)(len - 2));
    send_frame_hdr(f, 0, hdr, frame, len);
    uint64_t rx, tx;
    counters(f, &rx, &tx);
    assert_int_equal(tx, tx0 + sizeof(bad) / sizeof(bad[0]));
}

/* NEEDS_CSUM when the driver did not negotiate VIRTIO_NET_F_CSUM: dropped, even though the
 * checksum is complete; the same frame unflagged is answered. */
static void test_tx_needs_csum_without_csum_feature(void **state)
{
    struct fixture *f = *state;
    bring_up(f, F_V1 | F_MAC | F_MRG);
    for (uint16_t i = 0; i < 4; i++)
        post_rx(f, i, 2048);
    uint8_t frame[400], hdr[12];
    size_t len = build_dhcp_discover(frame, 4);
    dhcp_discover_udp_csum(frame, len, 0);
    csum_hdr(hdr, 1, 34, 6);
    send_frame_hdr(f, 0, hdr, frame, len);
    uint64_t rx, tx;
    counters(f, &rx, &tx);
    assert_int_equal(tx, 1);
    usleep(200000);
    assert_int_equal(ring_used_idx(&f->rx), 0);
    csum_hdr(hdr, 0, 34, 6);
    send_frame_hdr(f, 1, hdr, frame, len);
    assert_true(wait_dhcp_offer(f, 0, 4));
    /* A GSO frame (no TSO on user networking) is dropped as well. */
    hdr[1] = 1;
    send_frame_hdr(f, 2, hdr, frame, len);
    counters(f, &rx, &tx);
    assert_int_equal(tx, 2);
}

static void test_mtu_option(void **state)
{
    (void)state;
    struct fake_machine fm;
    assert_int_equal(fm_init(&fm, 4 * MiB), 0);
    assert_non_null(virtio_net_create(&fm.vm, fm.host, "user,mtu=9000"));
    struct vdrv d;
    assert_true(vdrv_find(&fm, NET_DEVICE_ID, &d));
    assert_true(vdrv_device_features(&d) & F_MTU);
    assert_int_equal(vdrv_read(&d, CFG_MTU, 2), 9000);
    fm_destroy(&fm);
    assert_int_equal(fm_init(&fm, 4 * MiB), 0);
    assert_non_null(virtio_net_create(&fm.vm, fm.host, "user,mtu=1280,mac=52:54:00:12:34:56"));
    assert_true(vdrv_find(&fm, NET_DEVICE_ID, &d));
    assert_int_equal(vdrv_read(&d, CFG_MTU, 2), 1280);
    const char *bad[] = {"user,mtu=1279", "user,mtu=65521", "user,mtu=", "user,mtu=abc",
                         "user,mtu=-1",   "user,mtu=9000x", "user,mtu=0"};
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_null(virtio_net_create(&fm.vm, fm.host, bad[i]));
    fm_destroy(&fm);
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
    assert_true(feat & F_GUEST_CSUM);
    assert_true(feat & F_GUEST_TSO4);
    assert_true(feat & F_GUEST_TSO6);
    assert_true(feat & F_GUEST_ECN);
    assert_true(feat & F_MRG);
    assert_false(feat & F_MTU); /* no mtu=: the interface's MTU is left alone */
    /* 5.1.3.1: TSO without checksum offload, guest TSO without guest checksums, ECN without
     * TSO: refused. */
    assert_false(vdrv_negotiate(&f->d, F_V1 | F_TSO4) & VIRTIO_STATUS_FEATURES_OK);
    assert_false(vdrv_negotiate(&f->d, F_V1 | F_GUEST_TSO4) & VIRTIO_STATUS_FEATURES_OK);
    assert_false(vdrv_negotiate(&f->d, F_V1 | F_GUEST_TSO6) & VIRTIO_STATUS_FEATURES_OK);
    assert_false(vdrv_negotiate(&f->d, F_V1 | F_GUEST_CSUM | F_GUEST_ECN) &
                 VIRTIO_STATUS_FEATURES_OK);
    assert_true(vdrv_negotiate(&f->d, F_V1 | F_GUEST_CSUM | F_GUEST_TSO6 | F_GUEST_ECN) &
                VIRTIO_STATUS_FEATURES_OK);
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

/* ETHTOOL_GTSO on the tap: whether the host may hand it unsegmented TCP frames. */
static int host_tso(const char *ifname)
{
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    assert_true(s >= 0);
    struct ethtool_value ev = {.cmd = ETHTOOL_GTSO};
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
    ifr.ifr_data = (void *)&ev;
    int rc = ioctl(s, SIOCETHTOOL, &ifr);
    close(s);
    return rc < 0 ? -1 : (int)ev.data;
}

static int host_mtu(const char *ifname)
{
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    assert_true(s >= 0);
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
    int rc = ioctl(s, SIOCGIFMTU, &ifr);
    close(s);
    return rc < 0 ? -1 : ifr.ifr_mtu;
}

/* A vnet header + frame as the tap delivers it: TCP/IPv4 GSO with a partial checksum. */
static size_t gso_frame(uint8_t *buf, size_t payload, uint8_t flags, uint8_t gso_type)
{
    uint8_t *h = buf, *fr = buf + 12;
    memset(h, 0, 12);
    h[0] = flags;
    h[1] = gso_type;
    h[2] = 54;          /* hdr_len */
    h[4] = 1448 & 0xFF; /* gso_size */
    h[5] = 1448 >> 8;
    h[6] = 34; /* csum_start */
    h[8] = 16; /* csum_offset */
    size_t len = 54 + payload;
    pattern_frame(fr, len);
    fr[12] = 0x08;
    fr[13] = 0x00;
    return 12 + len;
}

/* tap with mtu=: VIRTIO_NET_F_MTU offered with it, and the host interface set to it. */
static void test_tap_mtu(void **state)
{
    (void)state;
    char ifname[16], spec[64];
    snprintf(ifname, sizeof(ifname), "embm%u", (unsigned)getpid() % 100000);
    snprintf(spec, sizeof(spec), "tap=%s,mtu=9000", ifname);
    struct fixture *f;
    if (setup_spec((void **)&f, spec) < 0) {
        skip(); /* needs CAP_NET_ADMIN */
        return;
    }
    assert_true(vdrv_device_features(&f->d) & F_MTU);
    assert_int_equal(vdrv_read(&f->d, CFG_MTU, 2), 9000);
    assert_int_equal(host_mtu(ifname), 9000);
    teardown((void **)&f);
}

/* The guest's receive offloads reach the tap (TUNSETOFFLOAD), and GSO frames pass through
 * with their header when negotiated, merged over buffers; otherwise they are dropped. */
static void test_tap_receive_offloads(void **state)
{
    (void)state;
    char ifname[16], spec[48];
    snprintf(ifname, sizeof(ifname), "embo%u", (unsigned)getpid() % 100000);
    snprintf(spec, sizeof(spec), "tap=%s", ifname);
    struct fixture *f;
    if (setup_spec((void **)&f, spec) < 0) {
        skip(); /* needs CAP_NET_ADMIN */
        return;
    }
    assert_int_equal(host_tso(ifname), 0);
    bring_up(f, F_V1 | F_MAC | F_MRG | F_GUEST_CSUM | F_GUEST_TSO4);
    assert_int_equal(host_tso(ifname), 1);
    static uint8_t buf[12 + 54 + 6000];
    size_t len = gso_frame(buf, 6000, 1, 1); /* NEEDS_CSUM, TCPV4 */
    for (uint16_t i = 0; i < 4; i++)
        post_rx(f, i, 2048);
    assert_true(virtio_net_receive(f->net, buf, len));
    assert_int_equal(ring_used_idx(&f->rx), 3); /* 12 + 6054 bytes over 2048-byte buffers */
    uint8_t *b0 = rx_buf(f, 0);
    assert_int_equal(b0[0], 1);
    assert_int_equal(b0[1], 1);
    assert_int_equal(b0[4] | b0[5] << 8, 1448);
    assert_int_equal(b0[6], 34);
    assert_int_equal(b0[8], 16);
    assert_int_equal(b0[10] | b0[11] << 8, 3);
    assert_memory_equal(b0 + 12, buf + 12, 2036);
    uint32_t id, ulen;
    ring_used_elem(&f->rx, 2, &id, &ulen);
    assert_int_equal(ulen, 12 + 6054 - 2 * 2048);

    uint64_t rx0, tx0, rx1, tx1;
    counters(f, &rx0, &tx0);
    len = gso_frame(buf, 3000, 1, 4); /* TCPV6: not negotiated */
    assert_true(virtio_net_receive(f->net, buf, len));
    len = gso_frame(buf, 3000, 0, 1); /* GSO without NEEDS_CSUM */
    assert_true(virtio_net_receive(f->net, buf, len));
    len = gso_frame(buf, 3000, 1, 0x81); /* ECN: not negotiated */
    assert_true(virtio_net_receive(f->net, buf, len));
    counters(f, &rx1, &tx1);
    assert_int_equal(rx1, rx0 + 3);
    assert_int_equal(ring_used_idx(&f->rx), 3);
    /* Flag bits other than NEEDS_CSUM/DATA_VALID are not passed on. */
    len = gso_frame(buf, 100, 2 | 4 | 0x40, 0);
    assert_true(virtio_net_receive(f->net, buf, len));
    assert_int_equal(ring_used_idx(&f->rx), 4);
    assert_int_equal(rx_buf(f, 3)[0], 2);

    /* Without MRG_RXBUF: one buffer, which must be big enough (5.1.6.3.1's big buffers). */
    ring_layout(&f->rx, &f->fm.vm.mem, 16, RXRING);
    ring_layout(&f->tx, &f->fm.vm.mem, 16, TXRING);
    bring_up(f, F_V1 | F_MAC | F_GUEST_CSUM | F_GUEST_TSO4 | F_GUEST_ECN);
    len = gso_frame(buf, 3000, 1, 0x81);
    ring_set_desc(&f->rx, 0, RXBUF, 0x4000, VIRTQ_DESC_F_WRITE, 0);
    ring_publish(&f->rx, 0);
    assert_true(virtio_net_receive(f->net, buf, len));
    assert_int_equal(ring_used_idx(&f->rx), 1);
    assert_int_equal(rx_buf(f, 0)[1], 0x81);
    assert_int_equal(rx_buf(f, 0)[10], 1);
    /* Without GUEST_CSUM the flags are 0, the host is told to segment, and no GSO frame is
     * accepted. */
    ring_layout(&f->rx, &f->fm.vm.mem, 16, RXRING);
    ring_layout(&f->tx, &f->fm.vm.mem, 16, TXRING);
    bring_up(f, F_V1 | F_MAC | F_MRG);
    assert_int_equal(host_tso(ifname), 0);
    for (uint16_t i = 0; i < 4; i++)
        post_rx(f, i, 2048);
    len = gso_frame(buf, 100, 2, 0);
    assert_true(virtio_net_receive(f->net, buf, len));
    assert_int_equal(ring_used_idx(&f->rx), 1);
    assert_int_equal(rx_buf(f, 0)[0], 0);
    len = gso_frame(buf, 3000, 1, 1);
    assert_true(virtio_net_receive(f->net, buf, len));
    assert_int_equal(ring_used_idx(&f->rx), 1);
    teardown((void **)&f);
}

/* A tap frame that finds only part of the buffers it needs is held (nothing published) and
 * taken once the guest posts more. */
static void test_tap_holds_partial_frame(void **state)
{
    (void)state;
    char ifname[16], spec[48];
    snprintf(ifname, sizeof(ifname), "embh%u", (unsigned)getpid() % 100000);
    snprintf(spec, sizeof(spec), "tap=%s", ifname);
    struct fixture *f;
    if (setup_spec((void **)&f, spec) < 0) {
        skip(); /* needs CAP_NET_ADMIN */
        return;
    }
    bring_up(f, F_V1 | F_MAC | F_MRG);
    static uint8_t buf[12 + 600];
    memset(buf, 0, 12);
    pattern_frame(buf + 12, 600);
    post_rx(f, 0, 256);
    post_rx(f, 1, 256);
    assert_false(virtio_net_receive(f->net, buf, sizeof(buf)));
    assert_int_equal(ring_used_idx(&f->rx), 0);
    post_rx(f, 2, 256);
    assert_true(virtio_net_receive(f->net, buf, sizeof(buf)));
    assert_int_equal(ring_used_idx(&f->rx), 3);
    assert_int_equal(rx_buf(f, 0)[10], 3);
    uint32_t id, len;
    ring_used_elem(&f->rx, 0, &id, &len);
    assert_int_equal(id, 0);
    /* A frame the whole ring cannot hold is dropped rather than held for ever. */
    ring_layout(&f->rx, &f->fm.vm.mem, 16, RXRING);
    ring_layout(&f->tx, &f->fm.vm.mem, 16, TXRING);
    bring_up(f, F_V1 | F_MAC | F_MRG);
    for (uint16_t i = 0; i < 16; i++)
        post_rx(f, i, 32);
    assert_true(virtio_net_receive(f->net, buf, sizeof(buf)));
    assert_int_equal(ring_used_idx(&f->rx), 0);
    assert_true(virtio_net_receive(f->net, buf, 12 + 60)); /* still fits afterwards */
    assert_int_equal(ring_used_idx(&f->rx), 3);
    teardown((void **)&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_config, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dhcp_through_the_device, setup, teardown),
        cmocka_unit_test_setup_teardown(test_small_and_missing_buffers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mrg_three_buffers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mrg_one_publish_per_frame, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mrg_out_of_buffers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mrg_ring_too_small, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mrg_short_buffer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_data_valid_only_when_verified, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_data_valid_without_guest_csum, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tx_checksum_completed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tx_bad_checksum_offsets, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tx_needs_csum_without_csum_feature, setup, teardown),
        cmocka_unit_test(test_mtu_option),
        cmocka_unit_test(test_bad_options),
        cmocka_unit_test(test_tap_features),
        cmocka_unit_test(test_tap_holds_frames_until_buffers),
        cmocka_unit_test(test_tap_mtu),
        cmocka_unit_test(test_tap_receive_offloads),
        cmocka_unit_test(test_tap_holds_partial_frame),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
