/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* Per-stream log controls: a stream slot holding the level set by rules
 * and the captured headers, all in the stream's pool. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>

#include "core/errors.h"
#include "core/logctl.h"
#include "core/pool.h"
#include "core/stream.h"

static int logctl_slot = -1;

/* Idempotent: every reload parses again, the slot stays the same. */
void logctl_init(void)
{
    if (logctl_slot < 0)
        logctl_slot = stream_slot_register();
}

/* NULL until logctl_need() ran for this stream. */
struct logctl *logctl_get(struct stream *s)
{
    return logctl_slot < 0 ? NULL : s->slots[logctl_slot];
}

/* Allocated from the stream's pool: freed with the stream. */
struct logctl *logctl_need(struct stream *s)
{
    struct logctl *lc;

    if (logctl_slot < 0)
        return NULL;
    lc = s->slots[logctl_slot];
    if (lc != NULL)
        return lc;
    lc = pcalloc(s->pool, sizeof(*lc));
    if (lc == NULL)
        return NULL;
    lc->level = LOGCTL_LEVEL_UNSET;
    s->slots[logctl_slot] = lc;
    return lc;
}

/* The slot array is sized once, by the first capture of the stream. */
int logctl_capture(struct stream *s, struct logctl_caps *caps, unsigned idx,
                   unsigned total, struct ist v, unsigned max)
{
    char *copy;

    if (caps->v == NULL) {
        caps->v = pcalloc(s->pool, total * sizeof(*caps->v));
        if (caps->v == NULL)
            return RC_ERR;
        caps->n = total;
    }
    if (idx >= caps->n)
        return RC_ERR;
    if (v.ptr == NULL)
        return RC_OK;
    if (v.len > max)
        v.len = max;
    copy = palloc(s->pool, v.len + 1);
    if (copy == NULL)
        return RC_ERR;
    memcpy(copy, v.ptr, v.len);
    copy[v.len] = '\0';
    caps->v[idx] = (struct ist){copy, v.len};
    return RC_OK;
}
