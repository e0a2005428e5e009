/* netbench: in-guest TCP throughput client for bench/virtio-net.sh. Connects to a host-side
 * peer (bench/guest_bench.py) and either sends for a fixed time and then half-closes, or
 * receives until the peer half-closes; either way it waits for the other side's end before
 * closing, so the host can time the whole transfer. Prints one machine-readable line:
 *   NETBENCH dir=send|recv bytes=N secs=T mibps=X     (timed by the guest's clock)
 * Usage: netbench send IPV4 PORT SECONDS  |  netbench recv IPV4 PORT */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define NB_CHUNK (64 * 1024)

static void die(const char *what)
{
    fprintf(stderr, "netbench: %s: %s\n", what, strerror(errno));
    exit(1);
}

static void usage(void)
{
    fprintf(stderr, "usage: netbench send IPV4 PORT SECONDS | netbench recv IPV4 PORT\n");
    exit(2);
}

static double now(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
        die("clock_gettime");
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long parse_num(const char *s, long lo, long hi, const char *what)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) {
        fprintf(stderr, "netbench: bad %s '%s' (want %ld..%ld)\n", what, s, lo, hi);
        exit(2);
    }
    return v;
}

static int connect_to(const char *ip, long port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, ip, &sa.sin_addr) != 1) {
        fprintf(stderr, "netbench: '%s' is not an IPv4 address\n", ip);
        exit(2);
    }
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        die("socket");
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
        die("connect");
    return fd;
}

/* Reads until the peer's end of stream; returns the byte count. */
static uint64_t drain(int fd, char *buf)
{
    uint64_t total = 0;
    for (;;) {
        ssize_t n = read(fd, buf, NB_CHUNK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            die("read");
        if (n == 0)
            return total;
        total += (uint64_t)n;
    }
}

static uint64_t send_for(int fd, const char *buf, double seconds)
{
    uint64_t total = 0;
    double end = now() + seconds;
    while (now() < end) {
        ssize_t n = write(fd, buf, NB_CHUNK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            die("write");
        total += (uint64_t)n;
    }
    if (shutdown(fd, SHUT_WR) != 0)
        die("shutdown");
    return total;
}

int main(int argc, char **argv)
{
    static char buf[NB_CHUNK];
    if (argc < 4)
        usage();
    int sending = strcmp(argv[1], "send") == 0;
    if (!sending && strcmp(argv[1], "recv") != 0)
        usage();
    if (argc != (sending ? 5 : 4))
        usage();
    long port = parse_num(argv[3], 1, 65535, "port");
    long seconds = sending ? parse_num(argv[4], 1, 3600, "seconds") : 0;
    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = (char)(i * 131 + 7);
    int fd = connect_to(argv[2], port);
    double t0 = now();
    uint64_t bytes;
    if (sending) {
        bytes = send_for(fd, buf, (double)seconds);
        (void)drain(fd, buf); /* the host closes once it has read everything */
    } else {
        bytes = drain(fd, buf);
    }
    double secs = now() - t0;
    if (close(fd) != 0)
        die("close");
    printf("NETBENCH dir=%s bytes=%" PRIu64 " secs=%.3f mibps=%.2f\n", argv[1], bytes, secs,
           secs > 0 ? (double)bytes / secs / 1048576.0 : 0.0);
    return 0;
}
