/* Guest profile table (see profile.h): open addressing with linear probing, doubled at half
 * load; entries are never removed, only their counts grow. */
#include "soft/profile.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>

#define PROFILE_MIN_CAP 1024

void soft_profile_init(struct soft_profile *p)
{
    p->slots = NULL;
    p->cap = 0;
    p->used = 0;
}

void soft_profile_free(struct soft_profile *p)
{
    free(p->slots);
    soft_profile_init(p);
}

static size_t slot_of(uint64_t lin, size_t cap)
{
    return (size_t)((lin * 0x9E3779B97F4A7C15ull) >> 32) & (cap - 1);
}

/* The slot holding lin, or the free slot where it belongs. cap > used. */
static struct soft_profile_entry *find(struct soft_profile_entry *slots, size_t cap, uint64_t lin)
{
    size_t i = slot_of(lin, cap);
    while (slots[i].count && slots[i].lin != lin)
        i = (i + 1) & (cap - 1);
    return &slots[i];
}

static int grow(struct soft_profile *p)
{
    size_t cap = p->cap ? p->cap * 2 : PROFILE_MIN_CAP;
    if (cap <= p->cap || cap > SIZE_MAX / sizeof(*p->slots))
        return -ENOMEM;
    struct soft_profile_entry *slots = calloc(cap, sizeof(*slots));
    if (!slots)
        return -ENOMEM;
    for (size_t i = 0; i < p->cap; i++)
        if (p->slots[i].count)
            *find(slots, cap, p->slots[i].lin) = p->slots[i];
    free(p->slots);
    p->slots = slots;
    p->cap = cap;
    return 0;
}

int soft_profile_add(struct soft_profile *p, uint64_t lin, uint64_t count)
{
    if (!count)
        return 0;
    if ((p->used + 1) * 2 > p->cap) {
        int r = grow(p);
        if (r < 0)
            return r;
    }
    struct soft_profile_entry *e = find(p->slots, p->cap, lin);
    if (!e->count) {
        e->lin = lin;
        p->used++;
    }
    e->count = count > UINT64_MAX - e->count ? UINT64_MAX : e->count + count;
    return 0;
}

int soft_profile_merge(struct soft_profile *dst, const struct soft_profile *src)
{
    for (size_t i = 0; i < src->cap; i++) {
        if (!src->slots[i].count)
            continue;
        int r = soft_profile_add(dst, src->slots[i].lin, src->slots[i].count);
        if (r < 0)
            return r;
    }
    return 0;
}

uint64_t soft_profile_get(const struct soft_profile *p, uint64_t lin)
{
    return p->cap ? find(p->slots, p->cap, lin)->count : 0;
}

static int by_count_desc(const void *a, const void *b)
{
    const struct soft_profile_entry *x = a, *y = b;
    if (x->count != y->count)
        return x->count < y->count ? 1 : -1;
    return x->lin < y->lin ? -1 : x->lin > y->lin;
}

int soft_profile_write(const struct soft_profile *p, FILE *f)
{
    struct soft_profile_entry *sorted = malloc((p->used ? p->used : 1) * sizeof(*sorted));
    if (!sorted)
        return -ENOMEM;
    size_t n = 0;
    for (size_t i = 0; i < p->cap; i++)
        if (p->slots[i].count)
            sorted[n++] = p->slots[i];
    qsort(sorted, n, sizeof(*sorted), by_count_desc);
    int r = fprintf(f, "# ember guest profile: guest instructions completed per translated block "
                       "(soft accelerator)\n# address count\n") < 0
                ? -EIO
                : 0;
    for (size_t i = 0; i < n && r == 0; i++)
        if (fprintf(f, "%" PRIx64 " %" PRIu64 "\n", sorted[i].lin, sorted[i].count) < 0)
            r = -EIO;
    free(sorted);
    return r;
}
