/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* The stream timer of the holding actions (see stream_timer.h). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <event2/event.h>

#include "core/errors.h"
#include "core/pool.h"
#include "core/stream.h"
#include "core/stream_timer.h"
#include "core/worker.h"

struct stream_timer {
    struct event *ev;
    struct stream *s;
    int armed, expired;
};

static int stream_timer_slot = -1;

void stream_timer_init(void)
{
    if (stream_timer_slot < 0)
        stream_timer_slot = stream_slot_register();
}

/* The stream's pool is being freed: so is the event. */
static void stream_timer_release(void *arg)
{
    struct stream_timer *t = arg;

    event_free(t->ev);
}

static void stream_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    struct stream_timer *t = arg;

    t->expired = 1;
    stream_wake(t->s);
}

/* The timer of <s>, made on first use; NULL when out of memory. */
static struct stream_timer *stream_timer_get(struct stream *s)
{
    struct stream_timer *t;

    if (stream_timer_slot < 0)
        return NULL;
    t = s->slots[stream_timer_slot];
    if (t != NULL)
        return t;
    t = pcalloc(s->pool, sizeof(*t));
    if (t == NULL)
        return NULL;
    t->s = s;
    t->ev = evtimer_new(worker_loop(), stream_timer_cb, t);
    if (t->ev == NULL)
        return NULL;
    if (pool_cleanup_add(s->pool, stream_timer_release, t) != RC_OK) {
        event_free(t->ev);
        return NULL;
    }
    s->slots[stream_timer_slot] = t;
    return t;
}

int stream_timer_wait(struct stream *s, unsigned ms)
{
    struct stream_timer *t = stream_timer_get(s);
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

    if (t == NULL)
        return -1;
    if (t->expired) {
        t->armed = t->expired = 0;
        return 1;
    }
    if (!t->armed) {
        evtimer_add(t->ev, &tv);
        t->armed = 1;
    }
    return 0;
}

void stream_timer_stop(struct stream *s)
{
    struct stream_timer *t =
        stream_timer_slot < 0 ? NULL : s->slots[stream_timer_slot];

    if (t == NULL)
        return;
    evtimer_del(t->ev);
    t->armed = t->expired = 0;
}
