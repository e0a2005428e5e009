/* Test helper: builds split virtqueue rings (virtio 1.2 sec. 2.7) in fake guest RAM the way a
 * driver would, so tests can hand the device well-formed and hostile chains. */
#ifndef EMBER_TESTS_RING_BUILDER_H
#define EMBER_TESTS_RING_BUILDER_H

#include <stdint.h>
#include <string.h>

#include "core/guest_mem.h"
#include "virtio/virtq.h"

struct ring {
    struct guest_mem *gm;
    uint16_t size;
    uint64_t desc, avail, used;
    uint16_t avail_idx;
};

static inline void ring_layout(struct ring *r, struct guest_mem *gm, uint16_t size, uint64_t base)
{
    r->gm = gm;
    r->size = size;
    r->desc = base;
    r->avail = base + 16 * (uint64_t)size;
    r->used = (r->avail + 6 + 2 * (uint64_t)size + 4095) & ~4095ULL;
    r->avail_idx = 0;
    void *p = guest_mem_ptr(gm, base, r->used + 6 + 8 * (uint64_t)size - base);
    memset(p, 0, r->used + 6 + 8 * (uint64_t)size - base);
}

static inline void ring_set_desc_at(struct guest_mem *gm, uint64_t table, uint16_t i, uint64_t addr,
                                    uint32_t len, uint16_t flags, uint16_t next)
{
    struct virtq_desc d = {.addr = addr, .len = len, .flags = flags, .next = next};
    guest_mem_write(gm, table + 16 * (uint64_t)i, &d, sizeof(d));
}

static inline void ring_set_desc(struct ring *r, uint16_t i, uint64_t addr, uint32_t len,
                                 uint16_t flags, uint16_t next)
{
    ring_set_desc_at(r->gm, r->desc, i, addr, len, flags, next);
}

static inline void ring_set_avail_idx(struct ring *r, uint16_t idx)
{
    guest_mem_write(r->gm, r->avail + 2, &idx, 2);
    r->avail_idx = idx;
}

/* Makes head available (one more avail entry). */
static inline void ring_publish(struct ring *r, uint16_t head)
{
    uint16_t slot = r->avail_idx % r->size;
    guest_mem_write(r->gm, r->avail + 4 + 2 * (uint64_t)slot, &head, 2);
    ring_set_avail_idx(r, (uint16_t)(r->avail_idx + 1));
}

static inline uint16_t ring_used_idx(struct ring *r)
{
    uint16_t v = 0;
    guest_mem_read(r->gm, r->used + 2, &v, 2);
    return v;
}

static inline void ring_used_elem(struct ring *r, uint16_t slot, uint32_t *id, uint32_t *len)
{
    guest_mem_read(r->gm, r->used + 4 + 8 * (uint64_t)(slot % r->size), id, 4);
    guest_mem_read(r->gm, r->used + 8 + 8 * (uint64_t)(slot % r->size), len, 4);
}

static inline void ring_set_used_event(struct ring *r, uint16_t v)
{
    guest_mem_write(r->gm, r->avail + 4 + 2 * (uint64_t)r->size, &v, 2);
}

static inline uint16_t ring_avail_event(struct ring *r)
{
    uint16_t v = 0;
    guest_mem_read(r->gm, r->used + 4 + 8 * (uint64_t)r->size, &v, 2);
    return v;
}

static inline void ring_set_avail_flags(struct ring *r, uint16_t f)
{
    guest_mem_write(r->gm, r->avail, &f, 2);
}

#endif
