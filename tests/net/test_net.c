/* Network backends: libslirp answers a DHCPDISCOVER with an offer of 10.0.2.15, hostfwd rules
 * forward host connections toward the guest, slirp's MTU (mtu=, default 65520) sets the MSS it
 * offers the guest, bad --net strings are refused, and (when the host allows creating tap
 * devices) the tap backend opens with vnet headers. */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/event_loop.h"
#include "frames.h"
#include "net/net.h"

struct rx_log {
    pthread_mutex_t lock;
    unsigned frames;
    uint32_t xid;
    int offer;
    uint8_t yiaddr[4];
    unsigned arp_for_guest;
    uint8_t arp_from_mac[6]; /* who asked (slirp's gateway MAC) */
    unsigned tcp_to_guest;
    unsigned syn_mss; /* MSS option of the first SYN to the guest */
};

static bool record(void *opaque, const uint8_t *f, size_t len)
{
    struct rx_log *l = opaque;
    pthread_mutex_lock(&l->lock);
    l->frames++;
    uint8_t y[4];
    if (is_dhcp_reply(f, len, l->xid, 2, y)) {
        l->offer = 1;
        memcpy(l->yiaddr, y, 4);
    }
    /* ARP request (0x0806, op 1) for 10.0.2.15, or TCP (proto 6) to 10.0.2.15. */
    static const uint8_t guest_ip[4] = {10, 0, 2, 15};
    if (len >= 42 && f[12] == 0x08 && f[13] == 0x06 && f[21] == 1 &&
        memcmp(f + 38, guest_ip, 4) == 0) {
        l->arp_for_guest++;
        memcpy(l->arp_from_mac, f + 22, 6);
    }
    if (len >= 34 && f[12] == 0x08 && f[13] == 0 && f[23] == 6 &&
        memcmp(f + 30, guest_ip, 4) == 0) {
        l->tcp_to_guest++;
        size_t th = 14 + (size_t)(f[14] & 15) * 4, doff = th + (size_t)(f[th + 12] >> 4) * 4;
        if (len >= th + 20 && (f[th + 13] & 2) && !l->syn_mss && doff <= len) {
            for (size_t o = th + 20; o + 1 < doff && f[o] != 0;) {
                if (f[o] == 1) {
                    o++;
                    continue;
                }
                if (f[o] == 2 && f[o + 1] == 4 && o + 4 <= doff)
                    l->syn_mss = (unsigned)(f[o + 2] << 8 | f[o + 3]);
                if (f[o + 1] < 2)
                    break;
                o += f[o + 1];
            }
        }
    }
    pthread_mutex_unlock(&l->lock);
    return true;
}

static int wait_for(struct rx_log *l, int *flag_or_null, unsigned *count_or_null)
{
    for (int i = 0; i < 300; i++) {
        pthread_mutex_lock(&l->lock);
        int done = flag_or_null ? *flag_or_null : (*count_or_null > 0);
        pthread_mutex_unlock(&l->lock);
        if (done)
            return 1;
        usleep(10000);
    }
    return 0;
}

static void test_slirp_dhcp_offer(void **state)
{
    struct net_backend *be;
    assert_int_equal(net_backend_open("user", &be), 0);
    assert_false(be->vnet_hdr);
    struct rx_log log = {.lock = PTHREAD_MUTEX_INITIALIZER, .xid = 0x1234abcd};
    be->rx = record;
    be->rx_opaque = &log;
    assert_int_equal(be->ops->start(be, NULL), 0);
    uint8_t frame[400];
    size_t len = build_dhcp_discover(frame, log.xid);
    struct iovec iov = {frame, len};
    assert_int_equal(be->ops->send(be, &iov, 1), 0);
    assert_true(wait_for(&log, &log.offer, NULL));
    assert_int_equal(log.yiaddr[0], 10);
    assert_int_equal(log.yiaddr[1], 0);
    assert_int_equal(log.yiaddr[2], 2);
    assert_int_equal(log.yiaddr[3], 15);
    net_backend_destroy(be);
}

/* A loopback TCP port that was free a moment ago (a is filled for connecting to it). */
static int free_port(struct sockaddr_in *a)
{
    int probe = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(probe >= 0);
    *a = (struct sockaddr_in){.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(probe, (struct sockaddr *)a, sizeof(*a)), 0);
    socklen_t alen = sizeof(*a);
    assert_int_equal(getsockname(probe, (struct sockaddr *)a, &alen), 0);
    close(probe);
    return ntohs(a->sin_port);
}

/* Starts a slirp backend from spec (with a hostfwd rule to a), connects to the forwarded port
 * (*c) and waits until slirp, accepting, starts talking to the guest: it ARPs for 10.0.2.15
 * first. Received frames go to log. */
static struct net_backend *connect_forwarded(const char *spec, const struct sockaddr_in *a,
                                             struct rx_log *log, int *c)
{
    struct net_backend *be;
    assert_int_equal(net_backend_open(spec, &be), 0);
    be->rx = record;
    be->rx_opaque = log;
    assert_int_equal(be->ops->start(be, NULL), 0);
    *c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    assert_true(*c >= 0);
    int rc = connect(*c, (const struct sockaddr *)a, sizeof(*a));
    assert_true(rc == 0 || errno == EINPROGRESS);
    assert_true(wait_for(log, NULL, &log->arp_for_guest));
    return be;
}

static void test_slirp_hostfwd(void **state)
{
    /* Find a free port, then forward it to guest port 80. */
    struct sockaddr_in a;
    int port = free_port(&a);

    char spec[96];
    snprintf(spec, sizeof(spec), "user,hostfwd=tcp:127.0.0.1:%d-:80,mac=52:54:00:00:00:01", port);
    struct rx_log log = {.lock = PTHREAD_MUTEX_INITIALIZER};
    int c;
    struct net_backend *be = connect_forwarded(spec, &a, &log, &c);
    close(c);
    net_backend_destroy(be);

    /* The same port twice fails cleanly. */
    struct net_backend *be1, *be2;
    assert_int_equal(net_backend_open(spec, &be1), 0);
    assert_int_equal(net_backend_open(spec, &be2), -EADDRINUSE);
    net_backend_destroy(be1);
}

/* The MSS slirp offers in its SYN to the guest: its MTU (mtu= or the 65520 default) minus the
 * IPv4 and TCP headers. The guest answers slirp's ARP like a guest would. */
static unsigned slirp_syn_mss(const char *mtu_opt)
{
    struct sockaddr_in a;
    int port = free_port(&a);
    char spec[128];
    snprintf(spec, sizeof(spec), "user,hostfwd=tcp:127.0.0.1:%d-:80%s", port, mtu_opt);
    struct rx_log log = {.lock = PTHREAD_MUTEX_INITIALIZER};
    int c;
    struct net_backend *be = connect_forwarded(spec, &a, &log, &c);
    static const uint8_t guest_mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
    uint8_t arp[42] = {0};
    pthread_mutex_lock(&log.lock);
    memcpy(arp, log.arp_from_mac, 6);
    memcpy(arp + 32, log.arp_from_mac, 6);
    pthread_mutex_unlock(&log.lock);
    memcpy(arp + 6, guest_mac, 6);
    static const uint8_t arp_hdr[8] = {0, 1, 8, 0, 6, 4, 0, 2}; /* Ethernet/IPv4 reply */
    arp[12] = 0x08;
    arp[13] = 0x06;
    memcpy(arp + 14, arp_hdr, 8);
    memcpy(arp + 22, guest_mac, 6);
    static const uint8_t guest_ip[4] = {10, 0, 2, 15}, gw_ip[4] = {10, 0, 2, 2};
    memcpy(arp + 28, guest_ip, 4);
    memcpy(arp + 38, gw_ip, 4);
    struct iovec iov = {arp, sizeof(arp)};
    assert_int_equal(be->ops->send(be, &iov, 1), 0);
    assert_true(wait_for(&log, NULL, &log.tcp_to_guest));
    pthread_mutex_lock(&log.lock);
    unsigned mss = log.syn_mss;
    pthread_mutex_unlock(&log.lock);
    close(c);
    net_backend_destroy(be);
    return mss;
}

static void test_slirp_mtu(void **state)
{
    (void)state;
    struct net_backend *be;
    assert_int_equal(net_backend_open("user", &be), 0);
    assert_int_equal(be->mtu, NET_MTU_USER_DEFAULT);
    net_backend_destroy(be);
    assert_int_equal(net_backend_open("user,mtu=9000", &be), 0);
    assert_int_equal(be->mtu, 9000);
    net_backend_destroy(be);
    assert_int_equal(slirp_syn_mss(""), 65520 - 40);
    assert_int_equal(slirp_syn_mss(",mtu=1500"), 1460);
}

static void test_bad_specs(void **state)
{
    const char *bad[] = {"",
                         "mac=52:54:00:00:00:01",
                         "user,tap=tap0",
                         "tap=",
                         "tap=averyveryverylongname",
                         "tap=tap0,hostfwd=tcp::1-:2",
                         "user,hostfwd=sctp::1-:2",
                         "user,hostfwd=tcp::0-:80",
                         "user,hostfwd=tcp::70000-:80",
                         "user,hostfwd=tcp::8080",
                         "user,hostfwd=tcp:1.2.3:8080-:80",
                         "user,hostfwd=tcp::8080-10.0.2.15:x",
                         "user,mtu=1279",
                         "user,mtu=65521",
                         "user,mtu=",
                         "tap=tap0,mtu=70000"};
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct net_backend *be = (void *)1;
        assert_true(net_backend_open(bad[i], &be) < 0);
        assert_null(be);
    }
}

static void test_tap_open(void **state)
{
    struct net_backend *be;
    int rc = net_backend_open("tap=embertest%d", &be);
    if (rc == -EPERM || rc == -EACCES || rc == -ENOENT || rc == -ENODEV) {
        skip(); /* no CAP_NET_ADMIN or no tun driver on this host */
        return;
    }
    assert_int_equal(rc, 0);
    assert_true(be->vnet_hdr);
    assert_int_equal(be->ops->set_offload(be, NET_OFFLOAD_CSUM | NET_OFFLOAD_TSO4), 0);
    struct event_loop loop;
    assert_int_equal(event_loop_init(&loop), 0);
    assert_int_equal(be->ops->start(be, &loop), 0);
    /* The interface is down: a frame is accepted or dropped, never an error that crashes. */
    uint8_t frame[NET_VNET_HDR_SIZE + 60] = {0};
    struct iovec iov = {frame, sizeof(frame)};
    int src = be->ops->send(be, &iov, 1);
    assert_true(src == 0 || src == -EIO || src == -EAGAIN);
    net_backend_destroy(be);
    event_loop_destroy(&loop);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slirp_dhcp_offer), cmocka_unit_test(test_slirp_hostfwd),
        cmocka_unit_test(test_slirp_mtu),        cmocka_unit_test(test_bad_specs),
        cmocka_unit_test(test_tap_open),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
