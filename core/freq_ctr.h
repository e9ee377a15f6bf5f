/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* Event rates over a sliding second, as HAProxy's freq_ctr: the events of
 * the current period plus the part of the previous period's events that
 * the one-second window still covers. Read from the worker loop's cached
 * clock; each worker counts its own events. */
#ifndef LUAPROXY_CORE_FREQ_CTR_H
#define LUAPROXY_CORE_FREQ_CTR_H

struct freq_ctr {
    unsigned long long start_ms; /* when the current period began */
    unsigned curr, prev;         /* events of this and the last period */
};

/* Counts one event now. */
void freq_ctr_inc(struct freq_ctr *c);
/* Events over the last second now. */
unsigned freq_ctr_read(const struct freq_ctr *c);

#endif
