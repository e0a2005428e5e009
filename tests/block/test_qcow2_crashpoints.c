/* Deterministic crash-consistency test of the qcow2 write path (issue 5). A seeded workload of
 * guest writes, write-zeroes and flushes runs on an image whose host file reports every
 * completed write and fdatasync (blk_file.io_hook). At every such point the test builds the
 * image a crash would leave and checks it: qcow2_check finds no corruption (leaks are allowed)
 * and every guest block holds its value as of the last acknowledged flush or a value written
 * after it. Crash models: SIGKILL (the file as it is after each host write, once no write is
 * still being copied) and power cut (at each fdatasync: the file as of the previous fdatasync
 * plus subsets of the writes in between, including a write torn after its first page). Between
 * rounds the image is abandoned without a flush and reopened, like the SIGKILL system test.
 * Consecutive writes that share no block run as one batch, as the block device's I/O thread
 * runs queued requests (deferred data transfers; several writes into one cluster). */
#include <fcntl.h>
#include <sys/stat.h>

#include "blk_test_util.h"

#define BLK         4096u
#define FLUSH_EVERY 8
#define MAX_RUN     16
#define MAX_SUBSET  4 /* up to this many writes between syncs: every subset is tried */

struct jwrite {
    uint64_t off;
    uint64_t len;
    uint8_t *data;
};

struct op {
    uint64_t start, count;
    bool zero;
};

struct crash {
    char dir[64], img_path[256], snap_path[256];
    uint64_t seed;
    /* The workload image and its guest model. */
    struct timg t;
    uint64_t nblocks;
    uint8_t *base;   /* each block's content at the start of the round */
    struct op *ops;  /* ops of this round */
    uint64_t nops;   /* ops started (the last one may be in progress) */
    uint64_t nflush; /* ops acknowledged by a completed flush */
    int64_t *lastw;  /* per block: last flushed op writing it, -1 = base */
    /* The host file as of the last fdatasync, and the writes since. */
    uint8_t *durable;
    uint64_t durable_len;
    struct jwrite *journal;
    size_t njournal, cap_journal;
    /* Checking. */
    struct io_uring ring;
    uint8_t *disk, *exp;
    unsigned long checks;
    unsigned long shared_batches; /* batches with two writes into one cluster */
    const char *where;
};

static uint64_t next_rand(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void fill(uint8_t *p, uint64_t seed, uint64_t op, uint64_t block)
{
    uint64_t *w = (uint64_t *)p;
    for (unsigned i = 0; i < BLK / 8; i++)
        w[i] = (seed << 48) ^ (op << 20) ^ (block * 0x9e3779b97f4a7c15ull) ^ i;
}

static void expected(struct crash *c, int64_t j, uint64_t b, uint8_t *out)
{
    if (j < 0)
        memcpy(out, c->base + b * BLK, BLK);
    else if (c->ops[j].zero)
        memset(out, 0, BLK);
    else
        fill(out, c->seed, (uint64_t)j, b);
}

static bool touches(const struct op *o, uint64_t b)
{
    return b >= o->start && b < o->start + o->count;
}

/* Whether block b of a crashed image may hold got: its last flushed value or any later one. */
static bool block_ok(struct crash *c, uint64_t b, const uint8_t *got)
{
    expected(c, c->lastw[b], b, c->exp);
    if (memcmp(c->exp, got, BLK) == 0)
        return true;
    for (uint64_t j = c->nflush; j < c->nops; j++) {
        if (!touches(&c->ops[j], b))
            continue;
        expected(c, (int64_t)j, b, c->exp);
        if (memcmp(c->exp, got, BLK) == 0)
            return true;
    }
    return false;
}

/* Words of a and b that are equal: total and leading run. */
static void word_match(const uint8_t *a, const uint8_t *b, unsigned *total, unsigned *lead)
{
    const uint64_t *x = (const uint64_t *)a, *y = (const uint64_t *)b;
    *total = *lead = 0;
    bool run = true;
    for (unsigned i = 0; i < BLK / 8; i++) {
        if (x[i] == y[i]) {
            ++*total;
            *lead += run;
        } else {
            run = false;
        }
    }
}

/* Says, for a lost block, how much of it matches each value it may hold (a torn block matches
 * two of them in parts; a block that matches none at all was never written). */
static void explain_lost(struct crash *c, uint64_t b, const uint8_t *got, uint64_t len)
{
    unsigned total, lead, zero = 0;
    for (unsigned i = 0; i < BLK / 8; i++)
        zero += ((const uint64_t *)got)[i] == 0;
    print_error("block %llu: host file %llu bytes, %u of %u words zero\n", (unsigned long long)b,
                (unsigned long long)len, zero, BLK / 8);
    expected(c, c->lastw[b], b, c->exp);
    word_match(c->exp, got, &total, &lead);
    print_error("  flushed value (op %lld): %u words match, %u leading\n", (long long)c->lastw[b],
                total, lead);
    for (uint64_t j = c->nflush; j < c->nops; j++) {
        if (!touches(&c->ops[j], b))
            continue;
        expected(c, (int64_t)j, b, c->exp);
        word_match(c->exp, got, &total, &lead);
        print_error("  op %llu (blocks %llu+%llu): %u words match, %u leading\n",
                    (unsigned long long)j, (unsigned long long)c->ops[j].start,
                    (unsigned long long)c->ops[j].count, total, lead);
    }
}

/* Checks the image a crash would leave, given as len bytes of host file. */
static void check_crashed(struct crash *c, const uint8_t *file, uint64_t len, const char *model)
{
    c->checks++;
    int fd = open(c->snap_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, file, len), (ssize_t)len);
    close(fd);
    struct blk_open_opts o;
    blk_open_opts_init(&o);
    o.read_only = true;
    struct blk_image *img;
    char err[BLK_ERRBUF_SIZE] = "";
    int r = blk_image_open(c->snap_path, &o, &c->ring, NULL, &img, err, sizeof(err));
    if (r < 0)
        fail_msg("%s crash %s (seed %llu, op %llu): cannot open: %s", model, c->where,
                 (unsigned long long)c->seed, (unsigned long long)c->nops, err);
    struct qcow2_check_result res;
    assert_int_equal(qcow2_check(qcow2_from_image(img), false, &res, NULL), 0);
    if (res.corruptions)
        fail_msg("%s crash %s (seed %llu, op %llu): %llu corruptions", model, c->where,
                 (unsigned long long)c->seed, (unsigned long long)c->nops,
                 (unsigned long long)res.corruptions);
    assert_int_equal(blk_image_pread(img, 0, c->disk, c->nblocks * BLK), 0);
    blk_image_close(img);
    for (uint64_t b = 0; b < c->nblocks; b++)
        if (!block_ok(c, b, c->disk + b * BLK)) {
            explain_lost(c, b, c->disk + b * BLK, len);
            fail_msg("%s crash %s (seed %llu, op %llu, %llu ops flushed): block %llu lost", model,
                     c->where, (unsigned long long)c->seed, (unsigned long long)c->nops,
                     (unsigned long long)c->nflush, (unsigned long long)b);
        }
}

static uint64_t file_len(struct crash *c)
{
    struct stat st;
    assert_int_equal(fstat(c->t.img->file.fd, &st), 0);
    return (uint64_t)st.st_size;
}

static uint8_t *read_file(struct crash *c, uint64_t len)
{
    uint8_t *p = malloc(len ? len : 1);
    assert_non_null(p);
    assert_int_equal(pread(c->t.img->file.fd, p, len, 0), (ssize_t)len);
    return p;
}

/* The durable file plus the journal writes selected by mask; write torn (if < njournal) only
 * reaches the disk with its first page. */
static void check_power_cut(struct crash *c, uint64_t mask, size_t torn)
{
    uint64_t len = c->durable_len;
    for (size_t i = 0; i < c->njournal; i++)
        if (((mask >> i) & 1) || i == torn) {
            uint64_t n = i == torn ? 4096 : c->journal[i].len;
            if (c->journal[i].off + n > len)
                len = c->journal[i].off + n;
        }
    uint8_t *f = calloc(1, len ? len : 1);
    assert_non_null(f);
    memcpy(f, c->durable, c->durable_len);
    for (size_t i = 0; i < c->njournal; i++)
        if (((mask >> i) & 1) || i == torn) {
            uint64_t n = i == torn ? 4096 : c->journal[i].len;
            memcpy(f + c->journal[i].off, c->journal[i].data, n);
        }
    check_crashed(c, f, len, "power-cut");
    free(f);
}

static void power_cut_states(struct crash *c)
{
    size_t k = c->njournal;
    uint64_t all = k >= 64 ? UINT64_MAX : (1ull << k) - 1;
    if (k <= MAX_SUBSET) {
        for (uint64_t m = 0; m < all; m++) /* all = every write landed: the SIGKILL state */
            check_power_cut(c, m, SIZE_MAX);
    } else {
        check_power_cut(c, 0, SIZE_MAX);
        for (size_t i = 0; i < k && i < 64; i++) {
            check_power_cut(c, 1ull << i, SIZE_MAX);
            check_power_cut(c, all & ~(1ull << i), SIZE_MAX);
        }
    }
    for (size_t i = 0; i < k && i < 64; i++)
        if (c->journal[i].len > 4096)
            check_power_cut(c, all & ~(1ull << i), i);
}

static void clear_journal(struct crash *c)
{
    for (size_t i = 0; i < c->njournal; i++)
        free(c->journal[i].data);
    c->njournal = 0;
}

/* Waits until no host write of the image is being copied any more, so the file can be read as
 * a crash would leave it. The hook runs between two host operations of the I/O thread, but the
 * requests submitted before it may still run: a batch's deferred data writes (large ones on
 * io-wq workers, IOSQE_ASYNC) and, when the hook reports a completion reaped while waiting for
 * a synchronous operation, that operation. A read racing such a copy can see a page half old,
 * half new, which no crash leaves: a killed process leaves each page of a write either written
 * or not. So wait, without reaping (the driver accounts its own completions), until every
 * request the kernel took from the submission queue has posted its completion; the file then
 * holds those writes whole. They were not acknowledged to the guest (their ops lie after
 * nflush), so block_ok still lets each block they touch hold its flushed value or the value of
 * any later op, and nothing else. */
static void settle(struct crash *c)
{
    struct io_uring *ring = &c->t.ring;
    for (;;) {
        /* An overflowed completion would never be counted as posted (see open_image). */
        assert_false(IO_URING_READ_ONCE(*ring->sq.kflags) & IORING_SQ_CQ_OVERFLOW);
        unsigned taken = io_uring_smp_load_acquire(ring->sq.khead);
        unsigned posted = io_uring_smp_load_acquire(ring->cq.ktail);
        if (taken == posted)
            return;
        struct io_uring_cqe *cqe;
        int r = io_uring_wait_cqe_nr(ring, &cqe, io_uring_cq_ready(ring) + (taken - posted));
        assert_true(r == 0 || r == -EINTR);
    }
}

static void io_hook(void *arg, bool sync, uint64_t off, uint64_t len)
{
    struct crash *c = arg;
    settle(c);
    if (sync) {
        power_cut_states(c);
        clear_journal(c);
        free(c->durable);
        c->durable_len = file_len(c);
        c->durable = read_file(c, c->durable_len);
        return;
    }
    if (c->njournal == c->cap_journal) {
        c->cap_journal = c->cap_journal ? 2 * c->cap_journal : 16;
        c->journal = realloc(c->journal, c->cap_journal * sizeof(*c->journal));
        assert_non_null(c->journal);
    }
    struct jwrite *w = &c->journal[c->njournal++];
    w->off = off;
    w->len = len;
    w->data = malloc(len);
    assert_non_null(w->data);
    assert_int_equal(pread(c->t.img->file.fd, w->data, len, (off_t)off), (ssize_t)len);
    uint64_t flen = file_len(c);
    uint8_t *now = read_file(c, flen);
    check_crashed(c, now, flen, "SIGKILL");
    free(now);
}

/* Opens the workload image like t_open, on a ring whose completion queue has room for every
 * request that can be in flight at once (a batch's slots and one synchronous operation), so
 * no completion overflows and settle() can count them. */
static void open_image(struct crash *c)
{
    struct timg *t = &c->t;
    memset(t, 0, sizeof(*t));
    struct io_uring_params p = {.flags = IORING_SETUP_CQSIZE, .cq_entries = 2 * BLK_BATCH_SLOTS};
    assert_int_equal(io_uring_queue_init_params(8, &t->ring, &p), 0);
    struct blk_open_opts o;
    blk_open_opts_init(&o);
    o.format = BLK_FORMAT_QCOW2;
    int r = blk_image_open(c->img_path, &o, &t->ring, NULL, &t->img, t->err, sizeof(t->err));
    if (r < 0)
        fail_msg("cannot open %s: %s", c->img_path, t->err);
    t->q = qcow2_from_image(t->img);
}

static void open_round(struct crash *c, struct blk_batch *batch)
{
    open_image(c);
    /* One batch for the whole chain, as blk_open sets it up: a synchronous read of the backing
     * file may reap the completion of a deferred write to the image. */
    blk_batch_init(batch, &c->t.ring);
    c->t.img->file.batch = batch;
    if (c->t.q->backing)
        c->t.q->backing->file.batch = batch;
    c->t.img->file.io_hook = io_hook;
    c->t.img->file.io_hook_arg = c;
    c->durable_len = file_len(c);
    c->durable = read_file(c, c->durable_len);
    c->njournal = 0;
}

static bool overlaps(const struct op *a, const struct op *b)
{
    return a->start < b->start + b->count && b->start < a->start + a->count;
}

/* Whether two of the writes [first, end) start in the same cluster. */
static bool shares_cluster(struct crash *c, uint64_t first, uint64_t end)
{
    for (uint64_t i = first; i < end; i++)
        for (uint64_t j = first; j < i; j++)
            if ((c->ops[i].start * BLK) >> c->t.q->cluster_bits ==
                (c->ops[j].start * BLK) >> c->t.q->cluster_bits)
                return true;
    return false;
}

/* Runs writes [first, end) as the device's I/O thread runs a batch of queued requests: each
 * driver call may defer its data transfers, which are drained before the batch completes. */
static void run_batch(struct crash *c, struct blk_batch *batch, uint64_t first, uint64_t end,
                      uint8_t *bufs)
{
    struct blk_request reqs[BLK_BATCH_REQS];
    batch->active = batch->enabled;
    batch->writes = true;
    batch->nretry = 0;
    c->where = end - first > 1 ? "in a write batch" : "in a write";
    for (uint64_t i = first; i < end; i++) {
        const struct op *o = &c->ops[i];
        uint8_t *buf = bufs + (i - first) * MAX_RUN * BLK;
        for (uint64_t b = 0; b < o->count; b++)
            fill(buf + b * BLK, c->seed, i, o->start + b);
        reqs[i - first] = (struct blk_request){.op = BLK_OP_WRITE};
        batch->cur = &reqs[i - first];
        c->nops = i + 1;
        assert_int_equal(blk_image_pwrite(c->t.img, o->start * BLK, buf, o->count * BLK), 0);
    }
    batch->cur = NULL;
    if (shares_cluster(c, first, end))
        c->shared_batches++;
    assert_int_equal(blk_batch_drain(batch, &c->t.ring), 0);
    batch->active = false;
    for (uint64_t i = first; i < end; i++)
        assert_false(blk_batch_needs_retry(batch, &reqs[i - first]));
}

/* End of the longest batch from first: writes that share no block, within one flush group. */
static uint64_t batch_end(struct crash *c, uint64_t first, uint64_t nops)
{
    uint64_t end = first;
    while (end < nops && !c->ops[end].zero && end - first < BLK_BATCH_REQS &&
           end / FLUSH_EVERY == first / FLUSH_EVERY) {
        for (uint64_t j = first; j < end; j++)
            if (overlaps(&c->ops[j], &c->ops[end]))
                return end;
        end++;
    }
    return end;
}

static void run_round(struct crash *c, uint64_t nops)
{
    struct blk_batch batch;
    open_round(c, &batch);
    /* The round starts from what the disk holds now (checked by the previous round). */
    assert_int_equal(blk_image_pread(c->t.img, 0, c->base, c->nblocks * BLK), 0);
    uint64_t rng = c->seed * 2654435761u + 1;
    uint8_t *bufs = malloc((size_t)BLK_BATCH_REQS * MAX_RUN * BLK);
    assert_non_null(bufs);
    c->ops = calloc(nops, sizeof(*c->ops));
    assert_non_null(c->ops);
    for (uint64_t i = 0; i < nops; i++) {
        struct op *o = &c->ops[i];
        o->start = next_rand(&rng) % c->nblocks;
        o->count = 1 + next_rand(&rng) % MAX_RUN;
        if (i > 0 && next_rand(&rng) % 3 == 0) {
            /* Short sequential writes: several land in one cluster and share a batch. */
            o->start = (c->ops[i - 1].start + c->ops[i - 1].count) % c->nblocks;
            o->count = 1 + next_rand(&rng) % 2;
        }
        if (o->start + o->count > c->nblocks)
            o->count = c->nblocks - o->start;
        o->zero = next_rand(&rng) % 10 == 0;
    }
    c->nops = c->nflush = 0;
    for (uint64_t b = 0; b < c->nblocks; b++)
        c->lastw[b] = -1;
    for (uint64_t i = 0; i < nops;) {
        if (c->ops[i].zero) {
            c->nops = i + 1;
            c->where = "in write-zeroes";
            struct blk_image *img = c->t.img;
            assert_int_equal(
                img->ops->write_zeroes(img, c->ops[i].start * BLK, c->ops[i].count * BLK), 0);
            i++;
        } else {
            uint64_t end = batch_end(c, i, nops);
            run_batch(c, &batch, i, end, bufs);
            i = end;
        }
        if (i % FLUSH_EVERY == 0) {
            c->where = "in flush";
            assert_int_equal(qcow2_flush(c->t.q), 0);
            for (uint64_t j = c->nflush; j < i; j++)
                for (uint64_t b = c->ops[j].start; b < c->ops[j].start + c->ops[j].count; b++)
                    c->lastw[b] = (int64_t)j;
            c->nflush = i;
        }
    }
    /* Killed here, without a flush: the next round reopens the file as it is. */
    c->where = "at the end of the round";
    uint64_t flen = file_len(c);
    uint8_t *now = read_file(c, flen);
    check_crashed(c, now, flen, "SIGKILL");
    power_cut_states(c);
    free(now);
    clear_journal(c);
    free(c->durable);
    c->durable = NULL;
    t_abandon(&c->t);
    free(bufs);
    free(c->ops);
    c->ops = NULL;
}

static void run_workload(uint64_t disk, unsigned cluster_bits, uint64_t backing_len)
{
    struct crash *c = calloc(1, sizeof(*c));
    assert_non_null(c);
    t_tmpdir(c->dir);
    t_path(c->img_path, c->dir, "img.qcow2");
    t_path(c->snap_path, c->dir, "crashed.qcow2");
    c->nblocks = disk / BLK;
    if (backing_len) {
        char base[256];
        t_path(base, c->dir, "base.raw");
        uint8_t *b = malloc(backing_len);
        assert_non_null(b);
        memset(b, 0x5a, backing_len);
        FILE *f = fopen(base, "wb");
        assert_non_null(f);
        assert_int_equal(fwrite(b, 1, backing_len, f), backing_len);
        fclose(f);
        free(b);
        t_create(c->img_path, disk, cluster_bits, "base.raw", "raw");
    } else {
        t_create(c->img_path, disk, cluster_bits, NULL, NULL);
    }
    c->base = malloc(disk);
    c->disk = malloc(disk);
    c->exp = malloc(BLK);
    c->lastw = malloc(c->nblocks * sizeof(*c->lastw));
    assert_non_null(c->base);
    assert_non_null(c->disk);
    assert_non_null(c->exp);
    assert_non_null(c->lastw);
    assert_int_equal(io_uring_queue_init(8, &c->ring, 0), 0);
    for (c->seed = 1; c->seed <= 3; c->seed++)
        run_round(c, 6 * FLUSH_EVERY + 5);
    print_message("%lu crashed images checked, %lu batches with two writes into one cluster\n",
                  c->checks, c->shared_batches);
    assert_true(c->checks > 100);
    if (cluster_bits > 12)
        assert_true(c->shared_batches > 0);
    io_uring_queue_exit(&c->ring);
    free(c->journal);
    free(c->base);
    free(c->disk);
    free(c->exp);
    free(c->lastw);
    t_rmdir(c->dir);
    free(c);
}

/* An overlay with 64 KiB clusters on a raw base: 4 KiB writes copy-on-write their cluster
 * from the backing file (first MiB) or from zeroes (past the base's end). */
static void test_overlay_partial_cluster_cow(void **state)
{
    run_workload(2 << 20, 16, 1 << 20);
}

/* No backing, 4 KiB clusters: whole-cluster allocation over two L2 tables, zero clusters,
 * deferred frees and reuse of freed clusters after a flush. */
static void test_whole_cluster_allocation(void **state)
{
    run_workload(4 << 20, 12, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_overlay_partial_cluster_cow),
        cmocka_unit_test(test_whole_cluster_allocation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
