/* libFuzzer target for the qcow2 header and metadata parser: the input is a whole image file.
 * It is opened read-only (no backing file), read at a few offsets across the disk, and
 * checked, so the header, extensions, L1/L2 tables, refcounts and snapshot table are parsed. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "block/blk_driver.h"
#include "block/qcow2.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct io_uring ring;
    static int ring_ok;
    if (!ring_ok) {
        if (io_uring_queue_init(8, &ring, 0) < 0)
            return 0;
        ring_ok = 1;
    }
    int fd = memfd_create("fuzz-qcow2", MFD_CLOEXEC);
    if (fd < 0)
        return 0;
    if (write(fd, data, size) != (ssize_t)size) {
        close(fd);
        return 0;
    }
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    struct blk_open_opts o;
    blk_open_opts_init(&o);
    o.format = BLK_FORMAT_QCOW2;
    o.read_only = true;
    o.no_backing = true;
    struct blk_image *img;
    char err[BLK_ERRBUF_SIZE];
    if (blk_image_open(path, &o, &ring, NULL, &img, err, sizeof(err)) == 0) {
        static uint8_t buf[65536];
        uint64_t sz = img->size;
        uint64_t offs[4] = {0, sz / 3, sz / 2, sz > sizeof(buf) ? sz - sizeof(buf) : 0};
        for (int i = 0; i < 4; i++) {
            size_t n = sz - offs[i] < sizeof(buf) ? (size_t)(sz - offs[i]) : sizeof(buf);
            blk_image_pread(img, offs[i], buf, n);
        }
        struct qcow2 *q = qcow2_from_image(img);
        struct qcow2_check_result res;
        if (q && q->file->size < (64u << 20))
            qcow2_check(q, false, &res, NULL);
        blk_image_close(img);
    }
    close(fd);
    return 0;
}
