/* Crash-test helper: `write IMAGE SEED LOG` issues a deterministic stream of writes and
 * write-zeroes through the block layer, flushing every FLUSH_EVERY ops and logging the last
 * op acknowledged after a flush (tagged with SEED, see crash_log.h), until killed.
 * `verify IMAGE SEED LOG BASELINE` checks that every write of round SEED acknowledged by a
 * flush is intact (later writes may or may not have landed) and then stores the verified
 * content as the next round's BASELINE. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "block/block.h"
#include "crash_log.h"

#define BLK         4096u
#define FLUSH_EVERY 8
#define MAX_RUN     16

struct op {
    uint64_t start, count;
    int zero;
};

static uint64_t next_rand(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void gen_op(uint64_t *rng, uint64_t nblocks, struct op *o)
{
    o->start = next_rand(rng) % nblocks;
    o->count = 1 + next_rand(rng) % MAX_RUN;
    if (o->start + o->count > nblocks)
        o->count = nblocks - o->start;
    o->zero = next_rand(rng) % 10 == 0;
}

static void fill(uint8_t *p, uint64_t seed, uint64_t op, uint64_t block)
{
    uint64_t *w = (uint64_t *)p;
    for (unsigned i = 0; i < BLK / 8; i++)
        w[i] = (seed << 48) ^ (op << 20) ^ (block * 0x9e3779b97f4a7c15ull) ^ i;
}

static int do_write(const char *path, uint64_t seed, const char *logpath)
{
    /* The log is replaced first; records carry the seed, so whatever an earlier round left
     * in it is never taken for this round's flushes. */
    int log = open(logpath, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
    if (log < 0) {
        perror(logpath);
        return 1;
    }
    char err[BLK_ERRBUF_SIZE];
    struct blk_dev *dev;
    if (blk_open(path, NULL, &dev, err, sizeof(err)) < 0) {
        fprintf(stderr, "crashtool: %s\n", err);
        return 1;
    }
    uint64_t nblocks = blk_size(dev) / BLK, rng = seed * 2654435761u + 1;
    uint8_t *buf = malloc(MAX_RUN * BLK);
    if (!buf)
        return 1;
    for (uint64_t i = 0;; i++) {
        struct op o;
        gen_op(&rng, nblocks, &o);
        int r;
        if (o.zero) {
            r = blk_write_zeroes(dev, o.start * BLK, o.count * BLK);
        } else {
            for (uint64_t b = 0; b < o.count; b++)
                fill(buf + b * BLK, seed, i, o.start + b);
            r = blk_pwrite(dev, o.start * BLK, buf, o.count * BLK);
        }
        if (r < 0) {
            fprintf(stderr, "crashtool: op %llu failed: %s\n", (unsigned long long)i, strerror(-r));
            return 1;
        }
        if (i % FLUSH_EVERY == FLUSH_EVERY - 1) {
            r = blk_flush(dev);
            if (r < 0) {
                fprintf(stderr, "crashtool: flush failed: %s\n", strerror(-r));
                return 1;
            }
            if (crash_log_append(log, seed, i) < 0) {
                perror(logpath);
                return 1;
            }
        }
    }
}

static int do_verify(const char *path, uint64_t seed, const char *logpath, const char *basepath)
{
    char err[BLK_ERRBUF_SIZE];
    struct blk_dev *dev;
    struct blk_open_opts oo;
    blk_open_opts_init(&oo);
    oo.read_only = true;
    if (blk_open(path, &oo, &dev, err, sizeof(err)) < 0) {
        fprintf(stderr, "crashtool verify: %s\n", err);
        return 1;
    }
    uint64_t size = blk_size(dev), nblocks = size / BLK;
    uint8_t *disk = malloc(size), *base = calloc(1, size), *exp = malloc(BLK);
    int64_t *lastw = malloc(nblocks * sizeof(int64_t));
    if (!disk || !base || !exp || !lastw || blk_pread(dev, 0, disk, size) < 0) {
        fprintf(stderr, "crashtool verify: cannot read the image\n");
        return 1;
    }
    blk_close(dev);
    int bfd = open(basepath, O_RDONLY);
    if (bfd >= 0) {
        if (read(bfd, base, size) != (ssize_t)size) {
            fprintf(stderr, "crashtool verify: short baseline\n");
            return 1;
        }
        close(bfd);
    }
    long long F = crash_log_last(logpath, seed);
    if (F < -1) {
        fprintf(stderr, "crashtool verify: cannot read %s\n", logpath);
        return 1;
    }
    uint64_t total = (uint64_t)(F + 1) + FLUSH_EVERY;
    struct op *ops = malloc(total * sizeof(*ops));
    uint64_t rng = seed * 2654435761u + 1;
    for (uint64_t i = 0; i < total; i++)
        gen_op(&rng, nblocks, &ops[i]);
    for (uint64_t b = 0; b < nblocks; b++)
        lastw[b] = -1;
    for (long long i = 0; i <= F; i++)
        for (uint64_t b = ops[i].start; b < ops[i].start + ops[i].count; b++)
            lastw[b] = i;
    uint64_t bad = 0;
    for (uint64_t b = 0; b < nblocks; b++) {
        const uint8_t *got = disk + b * BLK;
        bool ok = false;
        for (long long j = lastw[b]; j < (long long)total && !ok; j++) {
            if (j >= 0 && (b < ops[j].start || b >= ops[j].start + ops[j].count))
                continue;
            if (j > lastw[b] && j <= F)
                continue;
            if (j < 0)
                memcpy(exp, base + b * BLK, BLK);
            else if (ops[j].zero)
                memset(exp, 0, BLK);
            else
                fill(exp, seed, (uint64_t)j, b);
            ok = memcmp(exp, got, BLK) == 0;
        }
        if (!ok && bad++ < 5)
            fprintf(stderr, "crashtool verify: block %llu lost (last flushed writer %lld)\n",
                    (unsigned long long)b, (long long)lastw[b]);
    }
    printf("verified %llu blocks, %lld ops flushed, %llu bad\n", (unsigned long long)nblocks, F + 1,
           (unsigned long long)bad);
    if (!bad) {
        int fd = open(basepath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0 || write(fd, disk, size) != (ssize_t)size)
            return 1;
        close(fd);
    }
    free(ops);
    free(disk);
    free(base);
    free(exp);
    free(lastw);
    return bad ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc == 5 && strcmp(argv[1], "write") == 0)
        return do_write(argv[2], strtoull(argv[3], NULL, 0), argv[4]);
    if (argc == 6 && strcmp(argv[1], "verify") == 0)
        return do_verify(argv[2], strtoull(argv[3], NULL, 0), argv[4], argv[5]);
    fprintf(stderr, "usage: qcow2-crashtool write IMAGE SEED LOG | verify IMAGE SEED LOG BASE\n");
    return 2;
}
