/* Guest profile: guest instructions completed per translated block, keyed by the linear
 * address where the block starts (ember run --profile). A table of (address, count) pairs
 * that grows as needed; the soft CPU folds the counts of blocks into it when they are freed
 * and when a profile is written. */
#ifndef EMBER_SOFT_PROFILE_H
#define EMBER_SOFT_PROFILE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct soft_profile_entry {
    uint64_t lin;
    uint64_t count; /* 0: the slot is free */
};

struct soft_profile {
    struct soft_profile_entry *slots;
    size_t cap;  /* a power of two, or 0 before the first add */
    size_t used; /* slots with a count */
};

void soft_profile_init(struct soft_profile *p);
void soft_profile_free(struct soft_profile *p);
/* Adds count instructions to the block at lin. 0 or -ENOMEM (the table is unchanged then). */
int soft_profile_add(struct soft_profile *p, uint64_t lin, uint64_t count);
/* Adds every entry of src into dst. 0 or -ENOMEM. */
int soft_profile_merge(struct soft_profile *dst, const struct soft_profile *src);
/* Looks up lin's count (0 if absent). */
uint64_t soft_profile_get(const struct soft_profile *p, uint64_t lin);
/* Writes the file format of `ember run --profile` (docs in README): comment lines, then
 * "ADDR COUNT" lines, hex address and decimal count, by count descending (ties by address).
 * 0 or -errno. */
int soft_profile_write(const struct soft_profile *p, FILE *f);

#endif
