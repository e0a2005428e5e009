/* Logging and error reporting: leveled messages to stderr, "ember: " prefixed.
 * The level is process-wide (set once from the CLI or EMBER_LOG); everything else in
 * ember keeps its state per VM. */
#ifndef EMBER_UTIL_LOG_H
#define EMBER_UTIL_LOG_H

#include <stdarg.h>

enum log_level { LOG_ERROR = 0, LOG_WARN = 1, LOG_INFO = 2, LOG_DEBUG = 3, LOG_TRACE = 4 };

void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Reads EMBER_LOG (error|warn|info|debug|trace) if set. */
void log_init_from_env(void);
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_trace(...)                                                                             \
    do {                                                                                           \
        if (log_get_level() >= LOG_TRACE)                                                          \
            log_msg(LOG_TRACE, __VA_ARGS__);                                                       \
    } while (0)

#endif
