/* virtio-rng (virtio 1.2 sec. 5.4): one request queue whose device-writable buffers are filled
 * from getrandom(2) on the event-loop thread. */
#include "virtio/virtio_rng.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "core/vm.h"
#include "util/log.h"
#include "virtio/virtio.h"

#define RNG_QUEUE_SIZE      64
#define RNG_MAX_PER_REQUEST (64 * 1024) /* bytes handed out per buffer, bounds time per kick */
#define PCI_CLASS_OTHER     0xFF0000

struct virtio_rng {
    struct virtio_dev vdev;
    struct virtq_elem elem; /* scratch, used under vdev.lock */
};

/* Fills up to len bytes at p; returns the number filled. */
static size_t fill_random(uint8_t *p, size_t len)
{
    size_t done = 0;
    while (done < len) {
        ssize_t n = getrandom(p + done, len - done, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            log_warn("virtio-rng: getrandom: %s", strerror(errno));
            break;
        }
        done += (size_t)n;
    }
    return done;
}

static void rng_queue_notify(struct virtio_dev *vdev, unsigned q)
{
    struct virtio_rng *rng = vdev->opaque;
    struct virtq_elem *e = &rng->elem;
    bool pushed = false;
    while (virtio_pop(vdev, 0, e) > 0) {
        size_t budget = RNG_MAX_PER_REQUEST, written = 0;
        /* Only the device-writable part is filled; readable buffers are ignored (5.4.6.1). */
        for (unsigned i = e->n_out; i < e->n_out + e->n_in && budget; i++) {
            size_t l = e->iov[i].iov_len < budget ? e->iov[i].iov_len : budget;
            size_t got = fill_random(e->iov[i].iov_base, l);
            written += got;
            budget -= got;
            if (got < l)
                break;
        }
        virtq_push(&vdev->queues[0].vq, e->head, (uint32_t)written);
        pushed = true;
    }
    if (pushed)
        virtio_notify_queue(vdev, 0);
}

static const struct virtio_dev_ops rng_ops = {.queue_notify = rng_queue_notify};

static void rng_reset(void *opaque)
{
    struct virtio_rng *rng = opaque;
    virtio_pci_reset(&rng->vdev);
}

static void rng_destroy(void *opaque)
{
    struct virtio_rng *rng = opaque;
    virtio_pci_teardown(&rng->vdev);
    free(rng);
}

struct virtio_rng *virtio_rng_create(struct vm *vm, struct pci_host *host, const char *opts)
{
    if (opts && *opts) {
        log_error("virtio-rng: unknown options '%s'", opts);
        return NULL;
    }
    struct virtio_rng *rng = calloc(1, sizeof(*rng));
    if (!rng) {
        log_error("virtio-rng: out of memory");
        return NULL;
    }
    struct virtio_dev_params p = {
        .name = "virtio-rng",
        .device_id = VIRTIO_ID_RNG,
        .pci_class = PCI_CLASS_OTHER,
        .nqueues = 1,
        .queue_size = RNG_QUEUE_SIZE,
        .ops = &rng_ops,
        .opaque = rng,
    };
    if (virtio_pci_init(&rng->vdev, vm, host, &p) < 0) {
        free(rng);
        return NULL;
    }
    struct vm_device d = {
        .name = "virtio-rng", .opaque = rng, .reset = rng_reset, .destroy = rng_destroy};
    if (vm_add_device(vm, &d) < 0) {
        log_error("virtio-rng: cannot register with the VM");
        rng_destroy(rng);
        return NULL;
    }
    return rng;
}
