/* qcow2/raw throughput benchmark through the block layer's asynchronous API, with the same
 * knobs as `qemu-img bench`: qcow2-bench [-w] [-r] [-c COUNT] [-d DEPTH] [-s SIZE] [-S STEP]
 * IMAGE. -r picks random aligned offsets instead of the sequential STEP pattern. Prints the
 * elapsed time of the requests and MiB/s (and, for writes, the final flush's time apart). */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "block/block.h"
#include "util/parse.h"

struct bench {
    struct blk_dev *dev;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    uint64_t issued, completed, count, size, step, disk, rng;
    bool write, random;
    int errors;
};

struct slot {
    struct blk_request req;
    struct iovec iov;
    struct bench *b;
};

static uint64_t next_offset(struct bench *b)
{
    if (b->random) {
        b->rng ^= b->rng << 13;
        b->rng ^= b->rng >> 7;
        b->rng ^= b->rng << 17;
        return (b->rng % (b->disk / b->size)) * b->size;
    }
    /* As `qemu-img bench` does: the offset advances by STEP modulo the disk size, so it stays
     * aligned when it wraps. A request that would run past the end starts at 0 instead. */
    uint64_t off = (b->issued * b->step) % b->disk;
    return b->disk - off < b->size ? 0 : off;
}

static void done(struct blk_request *req, int result);

/* Called with b->lock held. */
static void issue(struct slot *s)
{
    struct bench *b = s->b;
    s->req = (struct blk_request){.op = b->write ? BLK_OP_WRITE : BLK_OP_READ,
                                  .offset = next_offset(b),
                                  .len = b->size,
                                  .iov = &s->iov,
                                  .iovcnt = 1,
                                  .done = done,
                                  .opaque = s};
    b->issued++;
    if (blk_submit(b->dev, &s->req) < 0) {
        b->errors++;
        b->completed++;
    }
}

static void done(struct blk_request *req, int result)
{
    struct slot *s = req->opaque;
    struct bench *b = s->b;
    pthread_mutex_lock(&b->lock);
    b->completed++;
    if (result < 0)
        b->errors++;
    if (b->issued < b->count)
        issue(s);
    if (b->completed >= b->count)
        pthread_cond_signal(&b->cond);
    pthread_mutex_unlock(&b->lock);
}

int main(int argc, char **argv)
{
    struct bench b = {.count = 75000, .size = 4096, .rng = 88172645463325252ull};
    uint64_t depth = 64;
    bool step_set = false;
    int c;
    while ((c = getopt(argc, argv, "wrc:d:s:S:")) != -1) {
        switch (c) {
        case 'w':
            b.write = true;
            break;
        case 'r':
            b.random = true;
            break;
        case 'c':
            parse_u64(optarg, 1, UINT64_MAX, &b.count);
            break;
        case 'd':
            parse_u64(optarg, 1, 1024, &depth);
            break;
        case 's':
            parse_size(optarg, 1, &b.size);
            break;
        case 'S':
            parse_size(optarg, 1, &b.step);
            step_set = true;
            break;
        default:
            return 2;
        }
    }
    if (optind != argc - 1)
        return 2;
    if (!step_set)
        b.step = b.size;
    char err[BLK_ERRBUF_SIZE];
    if (blk_open(argv[optind], NULL, &b.dev, err, sizeof(err)) < 0) {
        fprintf(stderr, "qcow2-bench: %s\n", err);
        return 1;
    }
    b.disk = blk_size(b.dev);
    if (b.size > b.disk) {
        fprintf(stderr, "qcow2-bench: %s: requests of %llu bytes do not fit a %llu-byte disk\n",
                argv[optind], (unsigned long long)b.size, (unsigned long long)b.disk);
        blk_close(b.dev);
        return 1;
    }
    pthread_mutex_init(&b.lock, NULL);
    pthread_cond_init(&b.cond, NULL);
    struct slot *slots = calloc(depth, sizeof(*slots));
    for (uint64_t i = 0; i < depth; i++) {
        slots[i].b = &b;
        slots[i].iov.iov_len = b.size;
        if (posix_memalign(&slots[i].iov.iov_base, 4096, b.size))
            return 1;
        memset(slots[i].iov.iov_base, 0x5a + (int)i, b.size);
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pthread_mutex_lock(&b.lock);
    for (uint64_t i = 0; i < depth && b.issued < b.count; i++)
        issue(&slots[i]);
    while (b.completed < b.count)
        pthread_cond_wait(&b.cond, &b.lock);
    pthread_mutex_unlock(&b.lock);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    /* Like `qemu-img bench`, the timed run ends when the last request completes; the final
     * flush (which writes the page cache back to the disk) is timed and printed apart. */
    struct timespec t2 = t1;
    int fr = 0;
    if (b.write) {
        fr = blk_flush(b.dev);
        clock_gettime(CLOCK_MONOTONIC, &t2);
    }
    double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("%s %s: %llu x %llu bytes in %.3f s = %.1f MiB/s, %.0f IOPS, %d errors\n",
           b.write ? "write" : "read", b.random ? "random" : "sequential",
           (unsigned long long)b.count, (unsigned long long)b.size, s,
           (double)(b.count * b.size) / s / 1048576.0, (double)b.count / s, b.errors);
    if (b.write)
        printf("final flush: %.3f s%s\n",
               (double)(t2.tv_sec - t1.tv_sec) + (double)(t2.tv_nsec - t1.tv_nsec) / 1e9,
               fr < 0 ? " (failed)" : "");
    blk_close(b.dev);
    for (uint64_t i = 0; i < depth; i++)
        free(slots[i].iov.iov_base);
    free(slots);
    return b.errors || fr < 0 ? 1 : 0;
}
