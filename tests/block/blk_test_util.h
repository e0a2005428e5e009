/* Helpers shared by the block unit tests: temporary files, image open/close on a private
 * io_uring ring, patterned buffers. Header-only so each test stays one executable. */
#ifndef EMBER_TESTS_BLOCK_UTIL_H
#define EMBER_TESTS_BLOCK_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "block/blk_driver.h"
#include "block/qcow2.h"

struct timg {
    struct io_uring ring;
    struct blk_image *img;
    struct qcow2 *q;
    char err[BLK_ERRBUF_SIZE];
};

/* mkdtemp-based scratch directory; path written to dir (64 bytes). */
static inline void t_tmpdir(char *dir)
{
    strcpy(dir, "/tmp/ember-blk-XXXXXX");
    assert_non_null(mkdtemp(dir));
}

static inline void t_path(char *out, const char *dir, const char *name)
{
    snprintf(out, 256, "%s/%s", dir, name);
}

static inline int t_open(struct timg *t, const char *path, enum blk_format fmt, bool ro)
{
    memset(t, 0, sizeof(*t));
    assert_int_equal(io_uring_queue_init(8, &t->ring, 0), 0);
    struct blk_open_opts o;
    blk_open_opts_init(&o);
    o.format = fmt;
    o.read_only = ro;
    int r = blk_image_open(path, &o, &t->ring, NULL, &t->img, t->err, sizeof(t->err));
    if (r < 0) {
        io_uring_queue_exit(&t->ring);
        t->img = NULL;
        return r;
    }
    t->q = qcow2_from_image(t->img);
    return 0;
}

static inline void t_close(struct timg *t)
{
    if (!t->img)
        return;
    if (!t->img->read_only)
        assert_int_equal(t->img->ops->flush(t->img), 0);
    blk_image_close(t->img);
    io_uring_queue_exit(&t->ring);
    t->img = NULL;
}

/* Drops the image without flushing: simulates a crash of the process. */
static inline void t_abandon(struct timg *t)
{
    blk_image_close(t->img);
    io_uring_queue_exit(&t->ring);
    t->img = NULL;
}

static inline void t_create(const char *path, uint64_t size, unsigned cbits, const char *backing,
                            const char *bfmt)
{
    struct qcow2_create_opts o = {
        .size = size, .cluster_bits = cbits, .backing_file = backing, .backing_format = bfmt};
    char err[BLK_ERRBUF_SIZE] = "";
    int r = qcow2_create(path, &o, err, sizeof(err));
    if (r < 0)
        fprintf(stderr, "create: %s\n", err);
    assert_int_equal(r, 0);
}

static inline void t_fill(uint8_t *p, size_t n, uint8_t seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(seed + i * 7 + (i >> 9));
}

static inline void t_rmdir(const char *dir)
{
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

/* Runs check and returns corruptions*1000 + leaks (0 means clean). */
static inline uint64_t t_check(struct timg *t)
{
    struct qcow2_check_result res;
    assert_int_equal(qcow2_check(t->q, false, &res, stderr), 0);
    return res.corruptions * 1000 + res.leaks;
}

#endif
