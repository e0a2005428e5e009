/* libFuzzer target: the split-virtqueue chain parser on driver-controlled rings. The input
 * fills the descriptor table, the rings and the start of guest RAM; the target pops, pushes
 * and checks that every segment it was handed lies inside guest RAM. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/memmap.h"
#include "virtio/virtq.h"

#define FUZZ_RAM  (2 * MiB)
#define DESC_GPA  0x0000
#define AVAIL_GPA 0x1000
#define USED_GPA  0x2000
#define SCRATCH   (64 * KiB)

static void check_elem(const struct guest_mem *gm, const struct virtq_elem *e)
{
    if (e->n_out + e->n_in > VIRTQ_MAX_SEGS)
        abort();
    for (unsigned i = 0; i < e->n_out + e->n_in; i++) {
        const uint8_t *p = e->iov[i].iov_base;
        if (p < gm->base || p + e->iov[i].iov_len > gm->base + gm->ram_size)
            abort(); /* a segment outside guest RAM escaped the checks */
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct guest_mem gm;
    static struct virtq_elem elem;
    static int ready;
    if (!ready) {
        if (guest_mem_init(&gm, FUZZ_RAM) < 0)
            abort();
        ready = 1;
    }
    if (size < 4)
        return 0;
    uint16_t qsz = (uint16_t)(1u << (data[0] % 9)); /* 1..256 */
    bool indirect = data[1] & 1, event_idx = data[1] & 2;
    uint16_t head = (uint16_t)(data[2] | data[3] << 8);
    data += 4;
    size -= 4;
    uint8_t *ram = guest_mem_ptr(&gm, 0, SCRATCH);
    memset(ram, 0, SCRATCH);
    memcpy(ram, data, size < SCRATCH ? size : SCRATCH);

    struct virtq vq;
    virtq_init(&vq, &gm, VIRTQ_MAX_SIZE);
    if (virtq_activate(&vq, qsz, DESC_GPA, AVAIL_GPA, USED_GPA, event_idx, indirect) < 0)
        abort(); /* the layout is valid for every size */
    enum virtq_error err;
    if (virtq_parse_chain(&vq, head, &elem, &err) == 0)
        check_elem(&gm, &elem);
    for (int i = 0; i < 8; i++) {
        int rc = virtq_pop(&vq, &elem);
        if (rc <= 0)
            break;
        check_elem(&gm, &elem);
        virtq_push(&vq, elem.head, (uint32_t)elem.in_len);
        (void)virtq_should_notify(&vq);
    }
    return 0;
}
