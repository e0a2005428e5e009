/* Split virtqueue, device side (virtio 1.2 sec. 2.7): ring validation at activation, chain
 * parsing with indirect tables, used-ring updates and notification suppression. The driver is
 * untrusted: descriptors are copied out of guest RAM before they are looked at, every index is
 * range-checked, every buffer must lie in RAM, and chains are bounded (no loops). */
#include "virtio/virtq.h"

#include <errno.h>
#include <string.h>

#include "util/log.h"

void virtq_init(struct virtq *vq, const struct guest_mem *mem, uint16_t max_size)
{
    memset(vq, 0, sizeof(*vq));
    vq->mem = mem;
    vq->max_size = max_size > VIRTQ_MAX_SIZE ? VIRTQ_MAX_SIZE : max_size;
}

void virtq_reset(struct virtq *vq)
{
    virtq_init(vq, vq->mem, vq->max_size);
}

const char *virtq_error_name(enum virtq_error e)
{
    switch (e) {
    case VIRTQ_OK:
        return "ok";
    case VIRTQ_ERR_AVAIL_IDX:
        return "available index moved too far";
    case VIRTQ_ERR_HEAD_RANGE:
        return "head index out of range";
    case VIRTQ_ERR_NEXT_RANGE:
        return "next index out of range";
    case VIRTQ_ERR_LOOP:
        return "descriptor chain loops";
    case VIRTQ_ERR_TOO_LONG:
        return "descriptor chain too long";
    case VIRTQ_ERR_NOT_RAM:
        return "buffer outside guest RAM";
    case VIRTQ_ERR_ORDER:
        return "readable descriptor after a writable one";
    case VIRTQ_ERR_INDIRECT:
        return "invalid indirect descriptor";
    }
    return "unknown";
}

static size_t avail_bytes(uint16_t size)
{
    return 6 + 2 * (size_t)size; /* flags, idx, ring[size], used_event */
}

static size_t used_bytes(uint16_t size)
{
    return 6 + 8 * (size_t)size; /* flags, idx, ring[size] of {id, len}, avail_event */
}

int virtq_activate(struct virtq *vq, uint16_t size, uint64_t desc, uint64_t avail, uint64_t used,
                   bool event_idx, bool indirect)
{
    vq->ready = false;
    /* Driver-chosen values: validated before any pointer is formed. */
    if (size == 0 || (size & (size - 1)) || size > vq->max_size)
        return -EINVAL;
    if ((desc & 15) || (avail & 1) || (used & 3))
        return -EINVAL;
    void *d = guest_mem_ptr(vq->mem, desc, 16 * (uint64_t)size);
    void *a = guest_mem_ptr(vq->mem, avail, avail_bytes(size));
    void *u = guest_mem_ptr(vq->mem, used, used_bytes(size));
    if (!d || !a || !u)
        return -EINVAL;
    vq->size = size;
    vq->desc_gpa = desc;
    vq->avail_gpa = avail;
    vq->used_gpa = used;
    vq->desc = d;
    vq->avail = a;
    vq->used = u;
    vq->event_idx = event_idx;
    vq->indirect = indirect;
    vq->last_avail = 0;
    vq->used_idx = 0;
    vq->signalled_used = 0;
    vq->signalled_used_valid = false;
    vq->last_error = VIRTQ_OK;
    vq->ready = true;
    return 0;
}

/* Little-endian ring fields; the rings are aligned (checked at activation). */
static uint16_t avail_load(const struct virtq *vq, unsigned idx, int order)
{
    return __atomic_load_n(&vq->avail[idx], order);
}

static uint16_t avail_idx(const struct virtq *vq)
{
    return avail_load(vq, 1, __ATOMIC_ACQUIRE);
}

static uint16_t *used_field16(const struct virtq *vq, size_t off)
{
    return (uint16_t *)(void *)(vq->used + off);
}

static uint32_t *used_field32(const struct virtq *vq, size_t off)
{
    return (uint32_t *)(void *)(vq->used + off);
}

/* Reads descriptor i of the table at `table` (NULL: the ring's own table, already mapped). */
static int read_desc(const struct virtq *vq, uint64_t table, bool indirect, uint16_t i,
                     struct virtq_desc *out)
{
    if (!indirect) {
        memcpy(out, &vq->desc[i], sizeof(*out));
        return 0;
    }
    return guest_mem_read(vq->mem, table + 16 * (uint64_t)i, out, sizeof(*out));
}

static int chain_fail(enum virtq_error *err, enum virtq_error e)
{
    *err = e;
    return -EINVAL;
}

int virtq_parse_chain(const struct virtq *vq, uint16_t head, struct virtq_elem *elem,
                      enum virtq_error *err)
{
    elem->head = head;
    elem->n_out = elem->n_in = 0;
    elem->out_len = elem->in_len = 0;
    *err = VIRTQ_OK;
    if (head >= vq->size)
        return chain_fail(err, VIRTQ_ERR_HEAD_RANGE);

    bool in_indirect = false;
    uint64_t table = 0;
    unsigned table_size = vq->size;
    unsigned visited = 0;
    uint16_t idx = head;
    for (;;) {
        struct virtq_desc d;
        if (read_desc(vq, table, in_indirect, idx, &d) < 0)
            return chain_fail(err, VIRTQ_ERR_NOT_RAM);
        if (++visited > table_size)
            return chain_fail(err, VIRTQ_ERR_LOOP);
        if (d.flags & VIRTQ_DESC_F_INDIRECT) {
            /* 2.7.5.3: only when negotiated, never nested, never combined with NEXT, a whole
             * number of descriptors. */
            if (!vq->indirect || in_indirect || (d.flags & VIRTQ_DESC_F_NEXT) || d.len == 0 ||
                (d.len % 16) != 0)
                return chain_fail(err, VIRTQ_ERR_INDIRECT);
            if (d.len / 16 > VIRTQ_MAX_SEGS)
                return chain_fail(err, VIRTQ_ERR_TOO_LONG);
            if (!guest_mem_is_ram(vq->mem, d.addr, d.len))
                return chain_fail(err, VIRTQ_ERR_NOT_RAM);
            in_indirect = true;
            table = d.addr;
            table_size = d.len / 16;
            visited = 0;
            idx = 0;
            continue;
        }
        bool writable = (d.flags & VIRTQ_DESC_F_WRITE) != 0;
        if (!writable && elem->n_in)
            return chain_fail(err, VIRTQ_ERR_ORDER);
        if (d.len) {
            if (elem->n_out + elem->n_in >= VIRTQ_MAX_SEGS)
                return chain_fail(err, VIRTQ_ERR_TOO_LONG);
            void *p = guest_mem_ptr(vq->mem, d.addr, d.len);
            if (!p)
                return chain_fail(err, VIRTQ_ERR_NOT_RAM);
            struct iovec *v = &elem->iov[elem->n_out + elem->n_in];
            v->iov_base = p;
            v->iov_len = d.len;
            if (writable) {
                elem->n_in++;
                elem->in_len += d.len;
            } else {
                elem->n_out++;
                elem->out_len += d.len;
            }
        }
        if (!(d.flags & VIRTQ_DESC_F_NEXT))
            return 0;
        if (d.next >= table_size)
            return chain_fail(err, VIRTQ_ERR_NEXT_RANGE);
        idx = d.next;
    }
}

bool virtq_has_avail(struct virtq *vq)
{
    return vq->ready && avail_idx(vq) != vq->last_avail;
}

int virtq_pop(struct virtq *vq, struct virtq_elem *elem)
{
    if (!vq->ready)
        return 0;
    uint16_t idx = avail_idx(vq);
    if (idx == vq->last_avail) {
        if (!vq->event_idx)
            return 0;
        /* Publish avail_event, then look again: a buffer added between our read and the
         * driver's read of avail_event would otherwise get neither a kick nor service. */
        virtq_enable_notify(vq);
        idx = avail_idx(vq);
    }
    uint16_t pending = (uint16_t)(idx - vq->last_avail);
    if (pending == 0)
        return 0;
    if (pending > vq->size) {
        vq->last_error = VIRTQ_ERR_AVAIL_IDX;
        return -EINVAL;
    }
    uint16_t head = avail_load(vq, 2 + (vq->last_avail & (vq->size - 1)), __ATOMIC_RELAXED);
    enum virtq_error err;
    if (virtq_parse_chain(vq, head, elem, &err) < 0) {
        vq->last_error = err;
        return -EINVAL;
    }
    vq->last_avail++;
    if (vq->event_idx)
        __atomic_store_n(used_field16(vq, 4 + 8 * (size_t)vq->size), vq->last_avail,
                         __ATOMIC_RELAXED);
    return 1;
}

void virtq_unpop(struct virtq *vq)
{
    vq->last_avail--;
}

void virtq_rewind(struct virtq *vq, uint16_t n)
{
    vq->last_avail = (uint16_t)(vq->last_avail - n);
}

void virtq_enable_notify(struct virtq *vq)
{
    if (vq->ready && vq->event_idx) {
        __atomic_store_n(used_field16(vq, 4 + 8 * (size_t)vq->size), vq->last_avail,
                         __ATOMIC_RELAXED);
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
    }
}

void virtq_push_nopublish(struct virtq *vq, uint16_t head, uint32_t written)
{
    if (!vq->ready)
        return;
    size_t slot = vq->used_idx & (vq->size - 1);
    __atomic_store_n(used_field32(vq, 4 + 8 * slot), (uint32_t)head, __ATOMIC_RELAXED);
    __atomic_store_n(used_field32(vq, 8 + 8 * slot), written, __ATOMIC_RELAXED);
    vq->used_idx++;
}

void virtq_publish(struct virtq *vq)
{
    if (!vq->ready)
        return;
    /* The entries must be visible before the index that publishes them. */
    __atomic_store_n(used_field16(vq, 2), vq->used_idx, __ATOMIC_RELEASE);
}

void virtq_push(struct virtq *vq, uint16_t head, uint32_t written)
{
    virtq_push_nopublish(vq, head, written);
    virtq_publish(vq);
}

bool virtq_should_notify(struct virtq *vq)
{
    if (!vq->ready)
        return false;
    /* The used index store must be ordered before reading the driver's suppression fields. */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (!vq->event_idx)
        return !(avail_load(vq, 0, __ATOMIC_RELAXED) & VIRTQ_AVAIL_F_NO_INTERRUPT);
    uint16_t used_event = avail_load(vq, 2 + vq->size, __ATOMIC_RELAXED);
    uint16_t old = vq->signalled_used, new = vq->used_idx;
    bool valid = vq->signalled_used_valid;
    vq->signalled_used = new;
    vq->signalled_used_valid = true;
    if (!valid)
        return true;
    /* 2.7.10: notify if used_event lies in (old, new]. */
    return (uint16_t)(new - used_event - 1) < (uint16_t)(new - old);
}

size_t virtq_iov_to_buf(const struct iovec *iov, unsigned n, size_t skip, void *buf, size_t len)
{
    size_t done = 0;
    for (unsigned i = 0; i < n && done < len; i++) {
        size_t l = iov[i].iov_len;
        if (skip >= l) {
            skip -= l;
            continue;
        }
        size_t chunk = l - skip;
        if (chunk > len - done)
            chunk = len - done;
        memcpy((uint8_t *)buf + done, (uint8_t *)iov[i].iov_base + skip, chunk);
        done += chunk;
        skip = 0;
    }
    return done;
}

size_t virtq_buf_to_iov(const struct iovec *iov, unsigned n, size_t skip, const void *buf,
                        size_t len)
{
    size_t done = 0;
    for (unsigned i = 0; i < n && done < len; i++) {
        size_t l = iov[i].iov_len;
        if (skip >= l) {
            skip -= l;
            continue;
        }
        size_t chunk = l - skip;
        if (chunk > len - done)
            chunk = len - done;
        memcpy((uint8_t *)iov[i].iov_base + skip, (const uint8_t *)buf + done, chunk);
        done += chunk;
        skip = 0;
    }
    return done;
}
