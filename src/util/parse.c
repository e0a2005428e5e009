/* Parsing of user-supplied sizes, numbers and option lists. Input is untrusted. */
#include "util/parse.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int unit_shift(const char *suffix, uint64_t default_unit, uint64_t *mult)
{
    if (*suffix == '\0') {
        *mult = default_unit;
        return 0;
    }
    int shift;
    switch (toupper((unsigned char)*suffix)) {
    case 'B':
        shift = 0;
        break;
    case 'K':
        shift = 10;
        break;
    case 'M':
        shift = 20;
        break;
    case 'G':
        shift = 30;
        break;
    case 'T':
        shift = 40;
        break;
    default:
        return -EINVAL;
    }
    suffix++;
    if (shift != 0) {
        if (*suffix == 'i' || *suffix == 'I')
            suffix++;
        if (*suffix == 'b' || *suffix == 'B')
            suffix++;
    }
    if (*suffix != '\0')
        return -EINVAL;
    *mult = (uint64_t)1 << shift;
    return 0;
}

int parse_size(const char *s, uint64_t default_unit, uint64_t *out)
{
    if (!s || !isdigit((unsigned char)*s))
        return -EINVAL;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno == ERANGE)
        return -ERANGE;
    uint64_t mult;
    int r = unit_shift(end, default_unit, &mult);
    if (r < 0)
        return r;
    if (mult != 0 && v > UINT64_MAX / mult)
        return -ERANGE;
    *out = (uint64_t)v * mult;
    return 0;
}

int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    if (!s || !isdigit((unsigned char)*s))
        return -EINVAL;
    errno = 0;
    char *end;
    int base = (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) ? 16 : 10;
    unsigned long long v = strtoull(s, &end, base);
    if (errno == ERANGE)
        return -ERANGE;
    if (*end != '\0' || end == s)
        return -EINVAL;
    if (v < min || v > max)
        return -ERANGE;
    *out = v;
    return 0;
}

void kv_iter_init(struct kv_iter *it, const char *list)
{
    memset(it, 0, sizeof(*it));
    it->cursor = list ? list : "";
}

static bool copy_bounded(char *dst, size_t cap, const char *src, size_t len)
{
    if (len >= cap)
        return false;
    memcpy(dst, src, len);
    dst[len] = '\0';
    return true;
}

bool kv_iter_next(struct kv_iter *it)
{
    if (it->error || *it->cursor == '\0')
        return false;
    const char *item = it->cursor;
    size_t len = strcspn(item, ",");
    it->cursor = item[len] == ',' ? item + len + 1 : item + len;
    const char *eq = memchr(item, '=', len);
    size_t klen = eq ? (size_t)(eq - item) : len;
    const char *val = eq ? eq + 1 : "";
    size_t vlen = eq ? len - klen - 1 : 0;
    if (!copy_bounded(it->key, sizeof(it->key), item, klen) ||
        !copy_bounded(it->value, sizeof(it->value), val, vlen)) {
        it->error = true;
        return false;
    }
    return true;
}
