/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* Sliding one-second event rates (core/freq_ctr.h). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <sys/time.h>

#include <event2/event.h>

#include "core/freq_ctr.h"
#include "core/worker.h"

#define FREQ_PERIOD_MS 1000ULL

static unsigned long long now_ms(void)
{
    struct timeval tv;

    if (worker_loop() == NULL ||
        event_base_gettimeofday_cached(worker_loop(), &tv) != 0)
        gettimeofday(&tv, NULL);
    return (unsigned long long)tv.tv_sec * 1000 + (unsigned)tv.tv_usec / 1000;
}

void freq_ctr_inc(struct freq_ctr *c)
{
    unsigned long long now = now_ms(), age;

    /* the periods follow each other from the first event on */
    if (c->start_ms == 0)
        c->start_ms = now;
    age = now - c->start_ms;
    if (age >= FREQ_PERIOD_MS) {
        c->prev = age < 2 * FREQ_PERIOD_MS ? c->curr : 0;
        c->curr = 0;
        c->start_ms = now - age % FREQ_PERIOD_MS;
    }
    c->curr++;
}

unsigned freq_ctr_read(const struct freq_ctr *c)
{
    unsigned long long now = now_ms(), age = now - c->start_ms;
    unsigned curr = c->curr, prev = c->prev;

    if (age >= 2 * FREQ_PERIOD_MS)
        return 0;
    if (age >= FREQ_PERIOD_MS) {
        prev = curr;
        curr = 0;
        age -= FREQ_PERIOD_MS;
    }
    return curr + (unsigned)((unsigned long long)prev * (FREQ_PERIOD_MS - age) /
                             FREQ_PERIOD_MS);
}
