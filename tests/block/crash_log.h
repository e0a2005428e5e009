/* The crash test's flush log: one line "SEED OP\n" per completed flush, where OP is the last
 * operation of round SEED acknowledged before that flush. Only whole lines of the asked round
 * count, so a log left behind by an earlier round (its writer was killed before it replaced the
 * log) or a line cut short by the kill never claims writes this round did not flush. */
#ifndef EMBER_TESTS_BLOCK_CRASH_LOG_H
#define EMBER_TESTS_BLOCK_CRASH_LOG_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Appends the record for op of round seed to fd (an O_APPEND file); 0 or -1. */
static inline int crash_log_append(int fd, uint64_t seed, uint64_t op)
{
    return dprintf(fd, "%llu %llu\n", (unsigned long long)seed, (unsigned long long)op) > 0 ? 0
                                                                                            : -1;
}

/* The last op of round seed recorded in the log text (len bytes), or -1 if none. */
static inline long long crash_log_parse(const char *text, size_t len, uint64_t seed)
{
    long long last = -1;
    size_t pos = 0;
    while (pos < len) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        if (!nl)
            break; /* a line cut short by the kill: not a completed record */
        size_t n = (size_t)(nl - (text + pos));
        char line[64];
        if (n < sizeof(line)) {
            memcpy(line, text + pos, n);
            line[n] = 0;
            unsigned long long s, op;
            char extra;
            if (sscanf(line, "%llu %llu %c", &s, &op, &extra) == 2 && s == seed)
                last = (long long)op;
        }
        pos = n + 1 + pos;
    }
    return last;
}

/* crash_log_parse over the file at path; a missing log means nothing was flushed (-1).
 * Returns -2 if the log exists but cannot be read. */
static inline long long crash_log_last(const char *path, uint64_t seed)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t cap = 4096, len = 0;
    char *text = malloc(cap);
    while (text) {
        size_t n = fread(text + len, 1, cap - len, f);
        len += n;
        if (len < cap)
            break;
        char *more = realloc(text, cap * 2);
        if (!more) {
            free(text);
            text = NULL;
            break;
        }
        text = more;
        cap *= 2;
    }
    fclose(f);
    if (!text)
        return -2;
    long long last = crash_log_parse(text, len, seed);
    free(text);
    return last;
}

#endif
