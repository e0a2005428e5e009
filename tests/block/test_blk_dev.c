/* Unit tests of the block-layer device API: format probing, asynchronous requests with
 * completions on the I/O thread or through an eventfd, synchronous wrappers, request checks. */
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>

#include "blk_test_util.h"
#include "block/block.h"

static char dir[64];

static int setup(void **state)
{
    t_tmpdir(dir);
    return 0;
}

static int teardown(void **state)
{
    t_rmdir(dir);
    return 0;
}

static void make_raw(char *p, const char *name, size_t size)
{
    t_path(p, dir, name);
    int fd = open(p, O_RDWR | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, (off_t)size), 0);
    close(fd);
}

struct counter {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int done;
    int errors;
    pthread_t thread;
};

static void count_done(struct blk_request *req, int result)
{
    struct counter *c = req->opaque;
    pthread_mutex_lock(&c->lock);
    c->done++;
    c->errors += result != 0;
    c->thread = pthread_self();
    pthread_cond_signal(&c->cond);
    pthread_mutex_unlock(&c->lock);
}

static void test_async_raw(void **state)
{
    char p[256], err[BLK_ERRBUF_SIZE];
    make_raw(p, "a.raw", 1 << 20);
    struct blk_dev *dev;
    assert_int_equal(blk_open(p, NULL, &dev, err, sizeof(err)), 0);
    assert_int_equal(blk_format(dev), BLK_FORMAT_RAW);
    assert_int_equal(blk_size(dev), 1 << 20);
    static uint8_t bufs[16][4096];
    struct iovec iov[16];
    struct blk_request reqs[17];
    struct counter c = {.done = 0};
    pthread_mutex_init(&c.lock, NULL);
    pthread_cond_init(&c.cond, NULL);
    for (int i = 0; i < 16; i++) {
        memset(bufs[i], i + 1, 4096);
        iov[i] = (struct iovec){bufs[i], 4096};
        reqs[i] = (struct blk_request){.op = BLK_OP_WRITE,
                                       .offset = (uint64_t)i * 8192,
                                       .len = 4096,
                                       .iov = &iov[i],
                                       .iovcnt = 1,
                                       .done = count_done,
                                       .opaque = &c};
        assert_int_equal(blk_submit(dev, &reqs[i]), 0);
    }
    reqs[16] = (struct blk_request){.op = BLK_OP_FLUSH, .done = count_done, .opaque = &c};
    assert_int_equal(blk_submit(dev, &reqs[16]), 0);
    pthread_mutex_lock(&c.lock);
    while (c.done < 17)
        pthread_cond_wait(&c.cond, &c.lock);
    pthread_mutex_unlock(&c.lock);
    assert_int_equal(c.errors, 0);
    assert_false(pthread_equal(c.thread, pthread_self())); /* ran on the I/O thread */
    uint8_t r[4096];
    assert_int_equal(blk_pread(dev, 15 * 8192, r, sizeof(r)), 0);
    assert_memory_equal(r, bufs[15], 4096);
    /* Malformed requests are refused up front. */
    struct blk_request bad = {.op = BLK_OP_READ,
                              .offset = (1 << 20) - 100,
                              .len = 4096,
                              .iov = &iov[0],
                              .iovcnt = 1,
                              .done = count_done,
                              .opaque = &c};
    assert_int_equal(blk_submit(dev, &bad), -EINVAL);
    bad.offset = 0;
    bad.len = 100; /* does not match the iovec */
    assert_int_equal(blk_submit(dev, &bad), -EINVAL);
    bad.op = (enum blk_op)99;
    assert_int_equal(blk_submit(dev, &bad), -EINVAL);
    assert_int_equal(blk_close(dev), 0);
    pthread_cond_destroy(&c.cond);
    pthread_mutex_destroy(&c.lock);
}

static void eventfd_done(struct blk_request *req, int result)
{
    int *n = req->opaque;
    *n += result == 0 ? 1 : 100;
}

static void test_completion_eventfd_qcow2(void **state)
{
    char p[256], err[BLK_ERRBUF_SIZE];
    t_path(p, dir, "e.qcow2");
    t_create(p, 1 << 20, 16, NULL, NULL);
    int efd = eventfd(0, EFD_CLOEXEC);
    assert_true(efd >= 0);
    struct blk_open_opts o;
    blk_open_opts_init(&o);
    o.completion_fd = efd;
    struct blk_dev *dev;
    assert_int_equal(blk_open(p, &o, &dev, err, sizeof(err)), 0);
    assert_int_equal(blk_format(dev), BLK_FORMAT_QCOW2);
    uint8_t w[1000];
    t_fill(w, sizeof(w), 8);
    struct iovec v[2] = {{w, 300}, {w + 300, 700}};
    int n = 0;
    struct blk_request req = {.op = BLK_OP_WRITE,
                              .offset = 12345,
                              .len = 1000,
                              .iov = v,
                              .iovcnt = 2,
                              .done = eventfd_done,
                              .opaque = &n};
    assert_int_equal(blk_submit(dev, &req), 0);
    assert_int_equal(blk_pread(dev, 0, w, 1), -EINVAL); /* sync needs callback mode */
    struct pollfd pfd = {.fd = efd, .events = POLLIN};
    while (n == 0) {
        assert_true(poll(&pfd, 1, 5000) > 0);
        blk_poll_completions(dev);
    }
    assert_int_equal(n, 1);
    assert_int_equal(blk_close(dev), 0);
    close(efd);
    /* Read back through a plain (callback) device. */
    assert_int_equal(blk_open(p, NULL, &dev, err, sizeof(err)), 0);
    uint8_t r[1000];
    assert_int_equal(blk_pread(dev, 12345, r, sizeof(r)), 0);
    t_fill(w, sizeof(w), 8);
    assert_memory_equal(w, r, sizeof(r));
    assert_int_equal(blk_write_zeroes(dev, 0, 1 << 20), 0);
    assert_int_equal(blk_pread(dev, 12345, r, sizeof(r)), 0);
    for (size_t i = 0; i < sizeof(r); i++)
        assert_int_equal(r[i], 0);
    assert_int_equal(blk_discard(dev, 0, 1 << 20), 0);
    assert_int_equal(blk_flush(dev), 0);
    assert_int_equal(blk_close(dev), 0);
}

static void test_read_only_and_errors(void **state)
{
    char p[256], err[BLK_ERRBUF_SIZE] = "";
    make_raw(p, "ro.raw", 65536);
    struct blk_open_opts o;
    blk_open_opts_init(&o);
    o.read_only = true;
    struct blk_dev *dev;
    assert_int_equal(blk_open(p, &o, &dev, err, sizeof(err)), 0);
    assert_true(blk_read_only(dev));
    uint8_t b[512] = {0};
    assert_int_equal(blk_pwrite(dev, 0, b, sizeof(b)), -EROFS);
    assert_int_equal(blk_discard(dev, 0, 512), -EROFS);
    assert_int_equal(blk_flush(dev), 0);
    assert_int_equal(blk_close(dev), 0);
    t_path(p, dir, "missing.img");
    assert_int_equal(blk_open(p, NULL, &dev, err, sizeof(err)), -ENOENT);
    assert_non_null(strstr(err, "missing.img"));
}

static void wait_count(struct counter *c, int n)
{
    pthread_mutex_lock(&c->lock);
    while (c->done < n)
        pthread_cond_wait(&c->cond, &c->lock);
    pthread_mutex_unlock(&c->lock);
}

/* Many queued writes (overlapping, partial clusters over a backing file) and reads run in
 * batches; the result must equal applying them one by one in submission order. */
static void test_async_batches_match_model(void **state)
{
    enum { DISK = 2 << 20, NREQ = 96, MAXLEN = 80000 };
    char base[256], top[256], err[BLK_ERRBUF_SIZE];
    t_path(base, dir, "bbase.raw");
    t_path(top, dir, "btop.qcow2");
    uint8_t *shadow = malloc(DISK), *got = malloc(DISK);
    t_fill(shadow, DISK, 42);
    FILE *f = fopen(base, "wb");
    assert_int_equal(fwrite(shadow, 1, DISK, f), DISK);
    fclose(f);
    t_create(top, DISK, 16, "bbase.raw", "raw");
    struct blk_dev *dev;
    assert_int_equal(blk_open(top, NULL, &dev, err, sizeof(err)), 0);
    static uint8_t bufs[NREQ][MAXLEN];
    struct iovec iov[NREQ];
    struct blk_request reqs[NREQ];
    struct counter c = {.done = 0};
    pthread_mutex_init(&c.lock, NULL);
    pthread_cond_init(&c.cond, NULL);
    uint64_t rng = 12345;
    for (int i = 0; i < NREQ; i++) {
        rng = rng * 6364136223846793005ull + 1442695040888963407ull;
        uint64_t len = 512 + (rng >> 33) % (MAXLEN - 512);
        uint64_t off = ((rng >> 13) % (DISK - len)) & ~511ull;
        len &= ~511ull;
        t_fill(bufs[i], len, (uint8_t)(i * 13));
        memcpy(shadow + off, bufs[i], len);
        iov[i] = (struct iovec){bufs[i], len};
        reqs[i] = (struct blk_request){.op = BLK_OP_WRITE,
                                       .offset = off,
                                       .len = len,
                                       .iov = &iov[i],
                                       .iovcnt = 1,
                                       .done = count_done,
                                       .opaque = &c};
        assert_int_equal(blk_submit(dev, &reqs[i]), 0);
    }
    wait_count(&c, NREQ);
    assert_int_equal(c.errors, 0);
    /* Read back with many queued reads of 64 KiB. */
    static struct iovec riov[DISK / 65536];
    static struct blk_request rreq[DISK / 65536];
    c.done = 0;
    for (int i = 0; i < DISK / 65536; i++) {
        riov[i] = (struct iovec){got + (size_t)i * 65536, 65536};
        rreq[i] = (struct blk_request){.op = BLK_OP_READ,
                                       .offset = (uint64_t)i * 65536,
                                       .len = 65536,
                                       .iov = &riov[i],
                                       .iovcnt = 1,
                                       .done = count_done,
                                       .opaque = &c};
        assert_int_equal(blk_submit(dev, &rreq[i]), 0);
    }
    wait_count(&c, DISK / 65536);
    assert_int_equal(c.errors, 0);
    assert_memory_equal(shadow, got, DISK);
    assert_int_equal(blk_close(dev), 0);
    struct timg t;
    assert_int_equal(t_open(&t, top, BLK_FORMAT_QCOW2, true), 0);
    assert_int_equal(t_check(&t), 0);
    memset(got, 0, DISK);
    assert_int_equal(blk_image_pread(t.img, 0, got, DISK), 0);
    assert_memory_equal(shadow, got, DISK);
    t_close(&t);
    pthread_cond_destroy(&c.cond);
    pthread_mutex_destroy(&c.lock);
    free(shadow);
    free(got);
}

/* Queued 4 KiB writes into the same 64 KiB clusters share batches (they conflict only when
 * they share a sector): the first write of a cluster allocates it (copy-on-write from the
 * backing file in its first MiB, zeroes past it), the others go in place while earlier ones
 * may still be in flight. Within each cluster the order is scrambled, and a freed cluster is
 * reused, so every allocation path meets a batch. The result must equal the sequential model. */
static void test_same_cluster_writes_batch(void **state)
{
    enum { DISK = 2 << 20, BACKING = 1 << 20, BS = 4096, NREQ = 384 };
    char base[256], top[256], err[BLK_ERRBUF_SIZE];
    t_path(base, dir, "sbase.raw");
    t_path(top, dir, "stop.qcow2");
    uint8_t *shadow = calloc(1, DISK), *got = malloc(DISK);
    t_fill(shadow, BACKING, 77);
    FILE *f = fopen(base, "wb");
    assert_int_equal(fwrite(shadow, 1, BACKING, f), BACKING);
    fclose(f);
    t_create(top, DISK, 16, "sbase.raw", "raw");
    struct blk_dev *dev;
    assert_int_equal(blk_open(top, NULL, &dev, err, sizeof(err)), 0);
    /* A cluster written and discarded first: its host cluster is free again after the flush
     * and is reused (explicit copy-on-write of zeroes instead of a hole). */
    uint8_t *junk = malloc(65536);
    memset(junk, 0xee, 65536);
    assert_int_equal(blk_pwrite(dev, DISK - 65536, junk, 65536), 0);
    assert_int_equal(blk_discard(dev, DISK - 65536, 65536), 0);
    assert_int_equal(blk_flush(dev), 0);
    memset(shadow + DISK - 65536, 0, 65536);
    static uint8_t bufs[NREQ][BS];
    static struct iovec iov[NREQ];
    static struct blk_request reqs[NREQ];
    struct counter c = {.done = 0};
    pthread_mutex_init(&c.lock, NULL);
    pthread_cond_init(&c.cond, NULL);
    /* 24 clusters around the end of the backing file (the first one is the reused cluster),
     * 16 blocks each in the order 5, 10, 15, 4, 9, ... (a permutation of its blocks). */
    uint64_t first = BACKING - 12 * 65536;
    for (int i = 0; i < NREQ; i++) {
        int cl = i / 16, k = i % 16;
        int blk = (k * 5 + 5) % 16;
        uint64_t off = first + (uint64_t)cl * 65536 + (uint64_t)blk * BS;
        if (cl == 0)
            off = DISK - 65536 + (uint64_t)blk * BS; /* the reused cluster */
        t_fill(bufs[i], BS, (uint8_t)(i * 3 + 1));
        memcpy(shadow + off, bufs[i], BS);
        iov[i] = (struct iovec){bufs[i], BS};
        reqs[i] = (struct blk_request){.op = BLK_OP_WRITE,
                                       .offset = off,
                                       .len = BS,
                                       .iov = &iov[i],
                                       .iovcnt = 1,
                                       .done = count_done,
                                       .opaque = &c};
        if (k == 3)
            continue; /* leave a hole in every cluster */
        assert_int_equal(blk_submit(dev, &reqs[i]), 0);
    }
    wait_count(&c, NREQ - NREQ / 16);
    assert_int_equal(c.errors, 0);
    assert_int_equal(blk_close(dev), 0);
    struct timg t;
    assert_int_equal(t_open(&t, top, BLK_FORMAT_QCOW2, true), 0);
    assert_int_equal(t_check(&t), 0);
    assert_int_equal(blk_image_pread(t.img, 0, got, DISK), 0);
    t_close(&t);
    uint8_t *orig = malloc(BACKING);
    t_fill(orig, BACKING, 77);
    for (int i = 3; i < NREQ; i += 16) { /* the holes keep the backing file's data or zeroes */
        uint64_t off = reqs[i].offset;
        if (off < BACKING)
            memcpy(shadow + off, orig + off, BS);
        else
            memset(shadow + off, 0, BS);
    }
    assert_memory_equal(shadow, got, DISK);
    pthread_cond_destroy(&c.cond);
    pthread_mutex_destroy(&c.lock);
    free(orig);
    free(junk);
    free(shadow);
    free(got);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_async_raw),
        cmocka_unit_test(test_completion_eventfd_qcow2),
        cmocka_unit_test(test_read_only_and_errors),
        cmocka_unit_test(test_async_batches_match_model),
        cmocka_unit_test(test_same_cluster_writes_batch),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
