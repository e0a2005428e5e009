/* iobench: in-guest block device benchmark for bench/virtio-blk.sh. O_DIRECT reads or writes of
 * one block size, sequential or at seeded random block-aligned offsets, kept QD requests deep
 * through Linux native AIO (io_setup/io_submit/io_getevents, called as raw system calls so the
 * static binary needs no libaio), for a fixed time. Prints one machine-readable line:
 *   IOBENCH dev=D mode=M bs=B qd=Q span=S ops=N bytes=N secs=T iops=X mibps=Y
 * Usage: iobench [-q DEPTH] [-t SECONDS] [-s SPAN_MIB] [-S SEED] DEVICE MODE BLOCKSIZE
 *   MODE: read | write | randread | randwrite;  BLOCKSIZE in bytes (4096, 1048576, ...)
 * Writes destroy the device's contents inside the span. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/aio_abi.h>
#include <linux/fs.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define IOB_MAX_DEPTH 64
#define IOB_ALIGN     4096

struct iob_config {
    const char *dev;
    const char *mode;
    bool write, random;
    uint64_t bs, span, seed;
    unsigned depth;
    double seconds;
};

struct iob_state {
    const struct iob_config *cfg;
    aio_context_t ctx;
    int fd;
    uint64_t rng, next_seq, nblocks;
    struct iocb cbs[IOB_MAX_DEPTH];
    void *bufs[IOB_MAX_DEPTH];
    uint64_t ops, bytes;
};

static void die(const char *what)
{
    fprintf(stderr, "iobench: %s: %s\n", what, strerror(errno));
    exit(1);
}

static void usage(void)
{
    fprintf(stderr, "usage: iobench [-q DEPTH] [-t SECONDS] [-s SPAN_MIB] [-S SEED] DEVICE "
                    "read|write|randread|randwrite BLOCKSIZE\n");
    exit(2);
}

static double now(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
        die("clock_gettime");
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* xorshift64*: a fixed seed gives the same offsets on every VMM. */
static uint64_t next_random(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 0x2545F4914F6CDD1DULL;
}

static uint64_t parse_u64(const char *s, const char *what)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || end == s || *end) {
        fprintf(stderr, "iobench: bad %s '%s'\n", what, s);
        exit(2);
    }
    return v;
}

static void parse_args(int argc, char **argv, struct iob_config *c)
{
    uint64_t span_mib = 0;
    int opt;
    memset(c, 0, sizeof(*c));
    c->depth = 1;
    c->seconds = 5;
    c->seed = 42;
    while ((opt = getopt(argc, argv, "q:t:s:S:")) != -1) {
        switch (opt) {
        case 'q':
            c->depth = (unsigned)parse_u64(optarg, "depth");
            break;
        case 't':
            c->seconds = (double)parse_u64(optarg, "seconds");
            break;
        case 's':
            span_mib = parse_u64(optarg, "span");
            break;
        case 'S':
            c->seed = parse_u64(optarg, "seed");
            break;
        default:
            usage();
        }
    }
    if (argc - optind != 3)
        usage();
    c->dev = argv[optind];
    c->mode = argv[optind + 1];
    c->bs = parse_u64(argv[optind + 2], "block size");
    c->write = strstr(c->mode, "write") != NULL;
    c->random = strncmp(c->mode, "rand", 4) == 0;
    if (strcmp(c->mode, "read") && strcmp(c->mode, "write") && strcmp(c->mode, "randread") &&
        strcmp(c->mode, "randwrite"))
        usage();
    if (c->depth < 1 || c->depth > IOB_MAX_DEPTH || c->bs < 512 || c->bs % 512 ||
        c->bs > (64u << 20) || c->seconds < 1 || c->seed == 0) {
        fprintf(stderr,
                "iobench: depth 1..%d, block size a multiple of 512 up to 64 MiB, "
                "seconds >= 1 and a non-zero seed please\n",
                IOB_MAX_DEPTH);
        exit(2);
    }
    c->span = span_mib << 20;
}

static uint64_t next_offset(struct iob_state *s)
{
    uint64_t blk;
    if (s->cfg->random) {
        blk = next_random(&s->rng) % s->nblocks;
    } else {
        blk = s->next_seq;
        s->next_seq = (s->next_seq + 1) % s->nblocks;
    }
    return blk * s->cfg->bs;
}

static void submit(struct iob_state *s, unsigned slot)
{
    struct iocb *cb = &s->cbs[slot];
    memset(cb, 0, sizeof(*cb));
    cb->aio_data = slot;
    cb->aio_lio_opcode = s->cfg->write ? IOCB_CMD_PWRITE : IOCB_CMD_PREAD;
    cb->aio_fildes = (uint32_t)s->fd;
    cb->aio_buf = (uint64_t)(uintptr_t)s->bufs[slot];
    cb->aio_nbytes = s->cfg->bs;
    cb->aio_offset = (int64_t)next_offset(s);
    struct iocb *list[1] = {cb};
    if (syscall(SYS_io_submit, s->ctx, 1L, list) != 1)
        die("io_submit");
}

static void open_device(struct iob_state *s, struct iob_config *c)
{
    uint64_t size = 0;
    struct stat sb;
    s->fd = open(c->dev, (c->write ? O_RDWR : O_RDONLY) | O_DIRECT | O_CLOEXEC);
    if (s->fd < 0 || fstat(s->fd, &sb) != 0)
        die(c->dev);
    if (S_ISREG(sb.st_mode)) /* a plain file, for trying the tool on the host */
        size = (uint64_t)sb.st_size;
    else if (ioctl(s->fd, BLKGETSIZE64, &size) != 0)
        die("BLKGETSIZE64");
    if (c->span == 0 || c->span > size)
        c->span = size;
    s->nblocks = c->span / c->bs;
    if (s->nblocks == 0) {
        fprintf(stderr, "iobench: %s (%" PRIu64 " bytes) is smaller than one block\n", c->dev,
                size);
        exit(1);
    }
    c->span = s->nblocks * c->bs;
}

static void alloc_buffers(struct iob_state *s)
{
    uint64_t fill = s->cfg->seed;
    for (unsigned i = 0; i < s->cfg->depth; i++) {
        if (posix_memalign(&s->bufs[i], IOB_ALIGN, s->cfg->bs) != 0) {
            fprintf(stderr, "iobench: out of memory for %u buffers of %" PRIu64 " bytes\n",
                    s->cfg->depth, s->cfg->bs);
            exit(1);
        }
        /* Non-zero, non-repeating data, so no layer can shortcut the writes as zeroes. */
        uint64_t *w = s->bufs[i];
        for (uint64_t j = 0; j < s->cfg->bs / 8; j++)
            w[j] = next_random(&fill);
    }
}

/* Keeps depth requests in flight until the time is up, then drains; returns elapsed seconds. */
static double run(struct iob_state *s)
{
    struct io_event ev[IOB_MAX_DEPTH];
    unsigned inflight = 0;
    double t0 = now(), end = t0 + s->cfg->seconds, t = t0;
    for (unsigned i = 0; i < s->cfg->depth; i++, inflight++)
        submit(s, i);
    while (inflight > 0) {
        long n = syscall(SYS_io_getevents, s->ctx, 1L, (long)inflight, ev, NULL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 1)
            die("io_getevents");
        t = now();
        for (long i = 0; i < n; i++) {
            if (ev[i].res != (int64_t)s->cfg->bs) {
                errno = ev[i].res < 0 ? (int)-ev[i].res : EIO;
                die(s->cfg->write ? "write" : "read");
            }
            s->ops++;
            s->bytes += s->cfg->bs;
            inflight--;
            if (t < end) {
                submit(s, (unsigned)ev[i].data);
                inflight++;
            }
        }
    }
    return t - t0;
}

int main(int argc, char **argv)
{
    static struct iob_config cfg;
    static struct iob_state st;
    parse_args(argc, argv, &cfg);
    st.cfg = &cfg;
    st.rng = cfg.seed;
    open_device(&st, &cfg);
    alloc_buffers(&st);
    if (syscall(SYS_io_setup, (long)cfg.depth, &st.ctx) != 0)
        die("io_setup");
    double secs = run(&st);
    printf("IOBENCH dev=%s mode=%s bs=%" PRIu64 " qd=%u span=%" PRIu64 " ops=%" PRIu64
           " bytes=%" PRIu64 " secs=%.3f iops=%.1f mibps=%.2f\n",
           cfg.dev, cfg.mode, cfg.bs, cfg.depth, cfg.span, st.ops, st.bytes, secs,
           (double)st.ops / secs, (double)st.bytes / secs / 1048576.0);
    if (syscall(SYS_io_destroy, st.ctx) != 0)
        die("io_destroy");
    close(st.fd);
    return 0;
}
