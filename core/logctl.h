/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* Per-stream log controls that rules set and the logger reads: the level
 * chosen by "set-log-level" (or "silent": do not log this stream), and the
 * headers captured by "capture request header" / "capture response
 * header" (HAProxy's %hr and %hs). They live in a stream slot, allocated
 * from the stream's pool on first use, so a stream that no rule touched
 * costs nothing and has no controls. */
#ifndef LUAPROXY_CORE_LOGCTL_H
#define LUAPROXY_CORE_LOGCTL_H

#include "core/ist.h"

struct stream;

#define LOGCTL_LEVEL_UNSET  (-1) /* the logger's own level applies */
#define LOGCTL_LEVEL_SILENT (-2) /* "silent": no log line for the stream */

/* Captures of one direction: <n> slots in configuration order; a slot
 * whose ptr is NULL captured nothing (logged as an empty field). */
struct logctl_caps {
    struct ist *v;
    unsigned n;
};

struct logctl {
    int level; /* LOGCTL_LEVEL_* or enum log_level */
    struct logctl_caps req, res;
};

/* Reserves the stream slot; called at configuration load by the first
 * rule that needs controls (in the master, before workers fork). */
void logctl_init(void);
/* The controls of <s>, or NULL when no rule set any. */
struct logctl *logctl_get(struct stream *s);
/* The controls of <s>, created (level unset, no captures) if needed; NULL
 * when out of memory. */
struct logctl *logctl_need(struct stream *s);
/* Stores a copy of <v> (cut to <max> bytes) in capture slot <idx> of
 * <caps> holding <total> slots; a NULL <v>.ptr only makes the slots
 * exist. RC_OK or RC_ERR (out of memory). */
int logctl_capture(struct stream *s, struct logctl_caps *caps, unsigned idx,
                   unsigned total, struct ist v, unsigned max);

#endif
