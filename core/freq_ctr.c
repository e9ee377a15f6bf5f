/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* Sliding event rates over a period (core/freq_ctr.h). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <sys/time.h>

#include <event2/event.h>

#include "core/freq_ctr.h"
#include "core/worker.h"

#define FREQ_SECOND_MS 1000

unsigned long long freq_ctr_now_ms(void)
{
    struct timeval tv;

    if (worker_loop() == NULL ||
        event_base_gettimeofday_cached(worker_loop(), &tv) != 0)
        gettimeofday(&tv, NULL);
    return (unsigned long long)tv.tv_sec * 1000 + (unsigned)tv.tv_usec / 1000;
}

void freq_ctr_add_at(struct freq_ctr *c, unsigned period,
                     unsigned long long now, unsigned n)
{
    unsigned long long age;

    /* the periods follow each other from the first event on */
    if (c->start_ms == 0 || now < c->start_ms)
        c->start_ms = now;
    age = now - c->start_ms;
    if (age >= period) {
        c->prev = age < 2ULL * period ? c->curr : 0;
        c->curr = 0;
        c->start_ms = now - age % period;
    }
    c->curr += n;
}

unsigned freq_ctr_read_at(const struct freq_ctr *c, unsigned period,
                          unsigned long long now)
{
    unsigned long long age;
    unsigned curr = c->curr, prev = c->prev;

    if (c->start_ms == 0 || period == 0)
        return 0;
    age = now > c->start_ms ? now - c->start_ms : 0;
    if (age >= 2ULL * period)
        return 0;
    if (age >= period) {
        prev = curr;
        curr = 0;
        age -= period;
    }
    return curr +
           (unsigned)((unsigned long long)prev * (period - age) / period);
}

void freq_ctr_inc(struct freq_ctr *c)
{
    freq_ctr_add_at(c, FREQ_SECOND_MS, freq_ctr_now_ms(), 1);
}

unsigned freq_ctr_read(const struct freq_ctr *c)
{
    return freq_ctr_read_at(c, FREQ_SECOND_MS, freq_ctr_now_ms());
}
