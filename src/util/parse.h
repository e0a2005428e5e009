/* Parsing of user-supplied values: sizes with suffixes, integers, key=value option lists. */
#ifndef EMBER_UTIL_PARSE_H
#define EMBER_UTIL_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* "512M", "2G", "4096", "1k": binary suffixes K/M/G/T (case-insensitive, optional trailing
 * 'B' or 'iB'). A bare number is in bytes unless default_unit says otherwise (e.g. 1<<20 for
 * --memory in MiB). Returns 0, or -EINVAL (malformed) / -ERANGE (overflow). */
int parse_size(const char *s, uint64_t default_unit, uint64_t *out);

/* Whole unsigned number in base 10 or 0x-prefixed hex, within [min, max]. */
int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/* Iterates "key=value,key2=value2,flag" lists. Each call returns the next pair in key/value
 * (value is "" for a bare flag); returns false at the end. *cursor starts at the list.
 * The list is copied into buf (bufsz bytes) piecewise; returns false if an item is too long. */
struct kv_iter {
    const char *cursor;
    char key[64];
    char value[4096];
    bool error; /* set when an item did not fit */
};
void kv_iter_init(struct kv_iter *it, const char *list);
bool kv_iter_next(struct kv_iter *it);

#endif
