/* virtio-blk (virtio 1.2 sec. 5.2): the device. Requests are popped on the event-loop thread,
 * parsed (virtio_blk_req.c), submitted to the block layer, and completed on its I/O thread,
 * which fills the status byte, returns the chain and interrupts the driver. A device reset
 * waits until no request is in flight, so no I/O touches guest RAM after the reset. */
#include "virtio/virtio_blk.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "block/block.h"
#include "core/vm.h"
#include "util/log.h"
#include "util/parse.h"
#include "virtio/virtio.h"
#include "virtio/virtio_blk_req.h"

/* XXX: one request queue (no VIRTIO_BLK_F_MQ). */
#define BLK_QUEUE_SIZE          256
#define BLK_SEG_MAX             (VIRTQ_MAX_SEGS - 2) /* data segments; header and status take two */
#define BLK_CFG_SIZE            60
#define BLK_MAX_DWZ_SECTORS     (1u << 22) /* 2 GiB per discard / write-zeroes request */
#define PCI_CLASS_STORAGE_OTHER 0x018000

/* Config field offsets (5.2.4) */
#define BLK_CFG_CAPACITY            0
#define BLK_CFG_SEG_MAX             12
#define BLK_CFG_BLK_SIZE            20
#define BLK_CFG_MAX_DISCARD_SECTORS 36
#define BLK_CFG_MAX_DISCARD_SEG     40
#define BLK_CFG_DISCARD_ALIGN       44
#define BLK_CFG_MAX_WZ_SECTORS      48
#define BLK_CFG_MAX_WZ_SEG          52
#define BLK_CFG_WZ_MAY_UNMAP        56

struct virtio_blk {
    struct virtio_dev vdev;
    struct blk_dev *disk;
    char path[256];
    char serial[VIRTIO_BLK_ID_BYTES + 1];
    bool read_only;
    uint64_t capacity; /* sectors */
    uint8_t config[BLK_CFG_SIZE];
    unsigned inflight;      /* requests submitted and not completed; under vdev.lock */
    pthread_cond_t drained; /* signalled when inflight drops to 0 */
    uint64_t generation;    /* bumped at reset: stale completions are not pushed */
};

struct vblk_req {
    struct virtio_blk *blk;
    uint64_t generation;
    struct blk_request breq;
    struct virtq_elem elem;
    struct vblk_parsed parsed;
};

static void put_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put_le64(uint8_t *p, uint64_t v)
{
    put_le32(p, (uint32_t)v);
    put_le32(p + 4, (uint32_t)(v >> 32));
}

static void limits(struct virtio_blk *blk, struct vblk_limits *lim)
{
    lim->capacity = blk->capacity;
    lim->read_only = blk->read_only;
    lim->discard = virtio_has_feature(&blk->vdev, VIRTIO_BLK_F_DISCARD);
    lim->write_zeroes = virtio_has_feature(&blk->vdev, VIRTIO_BLK_F_WRITE_ZEROES);
    lim->max_discard_sectors = BLK_MAX_DWZ_SECTORS;
    lim->max_write_zeroes_sectors = BLK_MAX_DWZ_SECTORS;
}

/* Returns the chain to the driver. vdev.lock held. */
static void finish(struct virtio_blk *blk, struct vblk_req *r, uint8_t status)
{
    if (r->generation != blk->generation)
        return; /* the device was reset meanwhile: the ring is gone */
    *r->parsed.status_byte = status;
    virtq_push(&blk->vdev.queues[0].vq, r->elem.head, r->parsed.written);
    virtio_notify_queue(&blk->vdev, 0);
}

/* Block-layer completion, on its I/O thread. */
static void request_done(struct blk_request *breq, int result)
{
    struct vblk_req *r = breq->opaque;
    struct virtio_blk *blk = r->blk;
    pthread_mutex_lock(&blk->vdev.lock);
    if (result < 0)
        log_debug("virtio-blk %s: request type %u at %llu failed: %s", blk->path, r->parsed.type,
                  (unsigned long long)r->parsed.offset, strerror(-result));
    finish(blk, r, result < 0 ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK);
    if (--blk->inflight == 0)
        pthread_cond_broadcast(&blk->drained);
    pthread_mutex_unlock(&blk->vdev.lock);
    free(r);
}

static enum blk_op block_op(enum vblk_action a)
{
    switch (a) {
    case VBLK_READ:
        return BLK_OP_READ;
    case VBLK_WRITE:
        return BLK_OP_WRITE;
    case VBLK_FLUSH:
        return BLK_OP_FLUSH;
    case VBLK_DISCARD:
        return BLK_OP_DISCARD;
    default:
        return BLK_OP_WRITE_ZEROES;
    }
}

/* Handles one parsed request; takes ownership of r. vdev.lock held. */
static void start_request(struct virtio_blk *blk, struct vblk_req *r)
{
    struct vblk_parsed *p = &r->parsed;
    if (p->action == VBLK_DONE) {
        finish(blk, r, p->status);
        free(r);
        return;
    }
    if (p->action == VBLK_GET_ID) {
        char id[VIRTIO_BLK_ID_BYTES] = {0};
        memcpy(id, blk->serial, strnlen(blk->serial, sizeof(id)));
        virtq_buf_to_iov(p->data, p->ndata, 0, id, p->len);
        finish(blk, r, VIRTIO_BLK_S_OK);
        free(r);
        return;
    }
    if ((p->action == VBLK_READ || p->action == VBLK_WRITE) && p->len == 0) {
        finish(blk, r, VIRTIO_BLK_S_OK);
        free(r);
        return;
    }
    struct blk_request *b = &r->breq;
    memset(b, 0, sizeof(*b));
    b->op = block_op(p->action);
    b->offset = p->offset;
    b->len = (p->action == VBLK_FLUSH) ? 0 : p->len;
    b->iov = p->data;
    b->iovcnt = (int)p->ndata;
    b->done = request_done;
    b->opaque = r;
    int rc = blk_submit(blk->disk, b);
    if (rc < 0) {
        log_debug("virtio-blk %s: request refused: %s", blk->path, strerror(-rc));
        finish(blk, r, VIRTIO_BLK_S_IOERR);
        free(r);
        return;
    }
    blk->inflight++;
}

static void blk_queue_notify(struct virtio_dev *vdev, unsigned q)
{
    struct virtio_blk *blk = vdev->opaque;
    struct vblk_limits lim;
    limits(blk, &lim);
    for (;;) {
        struct vblk_req *r = malloc(sizeof(*r));
        if (!r) {
            log_warn("virtio-blk %s: out of memory; requests wait", blk->path);
            return;
        }
        r->blk = blk;
        r->generation = blk->generation;
        if (virtio_pop(vdev, 0, &r->elem) <= 0) {
            free(r);
            return;
        }
        if (vblk_parse(&r->elem, &lim, &r->parsed) < 0) {
            /* No room for a header and a status byte: nothing to answer with. */
            log_debug("virtio-blk %s: malformed request returned unanswered", blk->path);
            virtq_push(&vdev->queues[0].vq, r->elem.head, 0);
            virtio_notify_queue(vdev, 0);
            free(r);
            continue;
        }
        start_request(blk, r);
    }
}

static void blk_dev_reset(struct virtio_dev *vdev)
{
    struct virtio_blk *blk = vdev->opaque;
    blk->generation++;
    while (blk->inflight)
        pthread_cond_wait(&blk->drained, &vdev->lock);
}

static const struct virtio_dev_ops blk_ops = {
    .queue_notify = blk_queue_notify,
    .reset = blk_dev_reset,
};

static void blk_vm_reset(void *opaque)
{
    struct virtio_blk *blk = opaque;
    virtio_pci_reset(&blk->vdev);
}

static void blk_destroy(void *opaque)
{
    struct virtio_blk *blk = opaque;
    virtio_pci_teardown(&blk->vdev);
    if (blk->disk) {
        int rc = blk_close(blk->disk); /* completes what is in flight first */
        if (rc < 0)
            log_warn("virtio-blk %s: final flush failed: %s", blk->path, strerror(-rc));
    }
    pthread_cond_destroy(&blk->drained);
    free(blk);
}

/* Frees a device that never reached the PCI bus. */
static void free_unplugged(struct virtio_blk *blk)
{
    if (blk->disk)
        blk_close(blk->disk);
    pthread_cond_destroy(&blk->drained);
    free(blk);
}

struct disk_opts {
    char path[256];
    char id[VIRTIO_BLK_ID_BYTES + 1];
    bool read_only;
    enum blk_format format;
};

/* Copies src into dst (dstlen bytes with the NUL); -1 if it does not fit. */
static int copy_str(char *dst, size_t dstlen, const char *src)
{
    size_t n = strlen(src);
    if (n >= dstlen)
        return -1;
    memcpy(dst, src, n + 1);
    return 0;
}

static int parse_disk_opts(const char *opts, struct disk_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->format = BLK_FORMAT_PROBE;
    struct kv_iter it;
    kv_iter_init(&it, opts ? opts : "");
    while (kv_iter_next(&it)) {
        if (strcmp(it.key, "path") == 0 || strcmp(it.key, "file") == 0) {
            if (!it.value[0] || copy_str(o->path, sizeof(o->path), it.value) < 0) {
                log_error("--disk: path is empty or too long");
                return -EINVAL;
            }
        } else if (strcmp(it.key, "readonly") == 0 || strcmp(it.key, "ro") == 0) {
            if (!it.value[0] || strcmp(it.value, "on") == 0 || strcmp(it.value, "true") == 0)
                o->read_only = true;
            else if (strcmp(it.value, "off") == 0 || strcmp(it.value, "false") == 0)
                o->read_only = false;
            else {
                log_error("--disk: readonly=%s: expected on or off", it.value);
                return -EINVAL;
            }
        } else if (strcmp(it.key, "id") == 0) {
            if (copy_str(o->id, sizeof(o->id), it.value) < 0) {
                log_error("--disk: id '%s' is longer than %d bytes", it.value, VIRTIO_BLK_ID_BYTES);
                return -EINVAL;
            }
        } else if (strcmp(it.key, "format") == 0) {
            if (strcmp(it.value, "raw") == 0)
                o->format = BLK_FORMAT_RAW;
            else if (strcmp(it.value, "qcow2") == 0)
                o->format = BLK_FORMAT_QCOW2;
            else {
                log_error("--disk: format=%s: expected raw or qcow2", it.value);
                return -EINVAL;
            }
        } else {
            log_error("--disk: unknown option '%s'", it.key);
            return -EINVAL;
        }
    }
    if (it.error) {
        log_error("--disk: an option is too long");
        return -EINVAL;
    }
    if (!o->path[0]) {
        log_error("--disk: path=FILE is required");
        return -EINVAL;
    }
    return 0;
}

static void build_config(struct virtio_blk *blk)
{
    uint8_t *c = blk->config;
    put_le64(c + BLK_CFG_CAPACITY, blk->capacity);
    put_le32(c + BLK_CFG_SEG_MAX, BLK_SEG_MAX);
    put_le32(c + BLK_CFG_BLK_SIZE, VIRTIO_BLK_SECTOR);
    put_le32(c + BLK_CFG_MAX_DISCARD_SECTORS, BLK_MAX_DWZ_SECTORS);
    put_le32(c + BLK_CFG_MAX_DISCARD_SEG, 1);
    put_le32(c + BLK_CFG_DISCARD_ALIGN, 1);
    put_le32(c + BLK_CFG_MAX_WZ_SECTORS, BLK_MAX_DWZ_SECTORS);
    put_le32(c + BLK_CFG_MAX_WZ_SEG, 1);
    c[BLK_CFG_WZ_MAY_UNMAP] = 1;
}

struct virtio_blk *virtio_blk_create(struct vm *vm, struct pci_host *host, const char *opts)
{
    struct disk_opts o;
    if (parse_disk_opts(opts, &o) < 0)
        return NULL;
    struct virtio_blk *blk = calloc(1, sizeof(*blk));
    if (!blk) {
        log_error("virtio-blk: out of memory");
        return NULL;
    }
    memcpy(blk->path, o.path, sizeof(blk->path));
    pthread_cond_init(&blk->drained, NULL);

    struct blk_open_opts bo;
    blk_open_opts_init(&bo);
    bo.format = o.format;
    bo.read_only = o.read_only;
    char err[BLK_ERRBUF_SIZE] = "";
    int rc = blk_open(o.path, &bo, &blk->disk, err, sizeof(err));
    if (rc < 0) {
        log_error("--disk %s: %s", o.path, err[0] ? err : strerror(-rc));
        blk->disk = NULL;
        free_unplugged(blk);
        return NULL;
    }
    blk->read_only = o.read_only || blk_read_only(blk->disk);
    blk->capacity = blk_size(blk->disk) / VIRTIO_BLK_SECTOR;
    build_config(blk);

    uint64_t features = VIRTIO_BIT(VIRTIO_BLK_F_SEG_MAX) | VIRTIO_BIT(VIRTIO_BLK_F_BLK_SIZE) |
                        VIRTIO_BIT(VIRTIO_BLK_F_FLUSH);
    if (blk->read_only)
        features |= VIRTIO_BIT(VIRTIO_BLK_F_RO);
    else
        features |= VIRTIO_BIT(VIRTIO_BLK_F_DISCARD) | VIRTIO_BIT(VIRTIO_BLK_F_WRITE_ZEROES);
    struct virtio_dev_params p = {
        .name = "virtio-blk",
        .device_id = VIRTIO_ID_BLOCK,
        .pci_class = PCI_CLASS_STORAGE_OTHER,
        .features = features,
        .nqueues = 1,
        .queue_size = BLK_QUEUE_SIZE,
        .config = blk->config,
        .config_size = BLK_CFG_SIZE,
        .ops = &blk_ops,
        .opaque = blk,
    };
    if (virtio_pci_init(&blk->vdev, vm, host, &p) < 0) {
        free_unplugged(blk);
        return NULL;
    }
    if (o.id[0])
        memcpy(blk->serial, o.id, sizeof(blk->serial));
    else
        snprintf(blk->serial, sizeof(blk->serial), "ember-disk%u", blk->vdev.pci.slot);
    struct vm_device d = {
        .name = "virtio-blk", .opaque = blk, .reset = blk_vm_reset, .destroy = blk_destroy};
    if (vm_add_device(vm, &d) < 0) {
        log_error("virtio-blk: cannot register with the VM");
        blk_destroy(blk);
        return NULL;
    }
    log_debug("virtio-blk: %s (%s, %llu sectors%s) at slot %u", o.path,
              blk_format_name(blk_format(blk->disk)), (unsigned long long)blk->capacity,
              blk->read_only ? ", read-only" : "", blk->vdev.pci.slot);
    return blk;
}
