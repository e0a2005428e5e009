/* Logging: leveled, prefixed messages on stderr. */
#include "util/log.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static _Atomic int current_level = LOG_WARN;

void log_set_level(enum log_level level)
{
    atomic_store(&current_level, (int)level);
}

enum log_level log_get_level(void)
{
    return (enum log_level)atomic_load(&current_level);
}

void log_init_from_env(void)
{
    static const char *const names[] = {"error", "warn", "info", "debug", "trace"};
    const char *v = getenv("EMBER_LOG");
    if (!v)
        return;
    for (int i = 0; i <= LOG_TRACE; i++) {
        if (strcmp(v, names[i]) == 0) {
            log_set_level((enum log_level)i);
            return;
        }
    }
}

void log_msg(enum log_level level, const char *fmt, ...)
{
    static const char *const prefix[] = {"error: ", "warning: ", "", "debug: ", "trace: "};
    if ((int)level > atomic_load(&current_level))
        return;
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    /* One write per message so lines from several threads do not interleave. */
    fprintf(stderr, "ember: %s%s\n", prefix[level], buf);
}
