/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* Process logger: formats one line and writes it to stderr with a single
 * write(2) so lines from several workers never interleave. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <event2/event.h>

#include "core/log.h"

int log_stderr_level = LOG_LVL_NOTICE;

static const char *const log_names[] = {
    "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug",
};

/* HAProxy's stderr tags, padded as it pads them. */
static const char *const log_tags[] = {
    "[EMERG]  ", "[ALERT]  ", "[CRIT]   ", "[ERR]    ",
    "[WARNING]", "[NOTICE] ", "[INFO]   ", "[DEBUG]  ",
};

const char *log_level_name(int level)
{
    if (level < 0 || level > LOG_LVL_DEBUG)
        return NULL;
    return log_names[level];
}

int log_level_parse(const char *name)
{
    int i;

    for (i = 0; i <= LOG_LVL_DEBUG; i++)
        if (strcasecmp(name, log_names[i]) == 0)
            return i;
    return -1;
}

void log_sendv(int level, const char *fmt, va_list ap)
{
    char line[4096];
    int n, m;

    if (level > log_stderr_level)
        return; /* -q and "quiet" silence direct callers too */
    if (level < 0)
        level = 0;
    if (level > LOG_LVL_DEBUG)
        level = LOG_LVL_DEBUG;
    n = snprintf(line, sizeof(line), "%s (%d) : ", log_tags[level],
                 (int)getpid());
    m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
    if (m < 0)
        m = 0;
    n += m;
    if ((size_t)n > sizeof(line) - 2)
        n = sizeof(line) - 2;
    line[n++] = '\n';
    /* one write per line; a short write on stderr is not worth a retry */
    if (write(STDERR_FILENO, line, (size_t)n) < 0)
        return;
}

/* libevent's own messages, routed into ours (tmux's log.c does this). */
static void log_libevent_cb(int severity, const char *msg)
{
    static const int levels[] = {LOG_LVL_DEBUG, LOG_LVL_INFO, LOG_LVL_WARNING,
                                 LOG_LVL_ERR};

    log_at(levels[severity & 3], "libevent: %s", msg);
}

void log_init(void)
{
    event_set_log_callback(log_libevent_cb);
}

void log_send(int level, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    log_sendv(level, fmt, ap);
    va_end(ap);
}
