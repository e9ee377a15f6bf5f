/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* Event rates over a sliding period, as HAProxy's freq_ctr: the events of
 * the current period plus the part of the previous period's events that
 * the window still covers. The proxies' rates use a one-second period,
 * stick tables the period their "store" line gives. Read from the worker
 * loop's cached clock; the counter holds no pointer, so it may live in
 * memory shared by the workers (under the owner's lock). */
#ifndef LUAPROXY_CORE_FREQ_CTR_H
#define LUAPROXY_CORE_FREQ_CTR_H

struct freq_ctr {
    unsigned long long start_ms; /* when the current period began */
    unsigned curr, prev;         /* events of this and the last period */
};

/* Counts one event now, over a one-second period. */
void freq_ctr_inc(struct freq_ctr *c);
/* Events over the last second now. */
unsigned freq_ctr_read(const struct freq_ctr *c);
/* Counts <n> events at <now> (ms) over periods of <period> ms. */
void freq_ctr_add_at(struct freq_ctr *c, unsigned period,
                     unsigned long long now, unsigned n);
/* Events over the <period> ms before <now>. */
unsigned freq_ctr_read_at(const struct freq_ctr *c, unsigned period,
                          unsigned long long now);
/* The worker loop's cached wall clock in ms (the system's without a
 * loop). */
unsigned long long freq_ctr_now_ms(void);

#endif
