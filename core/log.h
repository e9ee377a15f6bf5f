/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* The process logger. Every message goes through log_send(); the level is
 * checked before the arguments are formatted. Lines on stderr look like
 * HAProxy's: "[ALERT]    (pid) : message", which operators and tests grep. */
#ifndef LUAPROXY_CORE_LOG_H
#define LUAPROXY_CORE_LOG_H

#include <stdarg.h>

/* syslog's levels, in HAProxy's words. */
enum log_level {
    LOG_LVL_EMERG = 0,
    LOG_LVL_ALERT,
    LOG_LVL_CRIT,
    LOG_LVL_ERR,
    LOG_LVL_WARNING,
    LOG_LVL_NOTICE,
    LOG_LVL_INFO,
    LOG_LVL_DEBUG,
};

/* Messages above this level are dropped before formatting. */
extern int log_stderr_level;

/* Routes libevent's messages into the logger; called once at start. */
void log_init(void);
/* Formats and emits one line at <level>. */
void log_send(int level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Same, with a va_list. */
void log_sendv(int level, const char *fmt, va_list ap);
/* Returns HAProxy's name of <level> ("alert", "warning"...), or NULL. */
const char *log_level_name(int level);
/* Returns the level named <name>, or -1. */
int log_level_parse(const char *name);

#define log_at(lvl, ...)                                                       \
    do {                                                                       \
        if ((lvl) <= log_stderr_level)                                         \
            log_send((lvl), __VA_ARGS__);                                      \
    } while (0)
#define log_alert(...)   log_at(LOG_LVL_ALERT, __VA_ARGS__)
#define log_err(...)     log_at(LOG_LVL_ERR, __VA_ARGS__)
#define log_warning(...) log_at(LOG_LVL_WARNING, __VA_ARGS__)
#define log_notice(...)  log_at(LOG_LVL_NOTICE, __VA_ARGS__)
#define log_info(...)    log_at(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...)   log_at(LOG_LVL_DEBUG, __VA_ARGS__)

#endif
