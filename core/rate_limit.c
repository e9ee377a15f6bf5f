/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* Connection rate limits shared by every worker (core/rate_limit.h). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <pthread.h>
#include <stddef.h>

#include "core/cfg.h"
#include "core/errors.h"
#include "core/freq_ctr.h"
#include "core/listener.h"
#include "core/proxy.h"
#include "core/rate_limit.h"
#include "core/shm.h"
#include "core/worker.h"

#define RATE_PERIOD_MS 1000

/* One limit's counter, in shared memory. */
struct rate_limit {
    pthread_mutex_t lock;
    struct freq_ctr ctr;
    unsigned max; /* per second */
};

/* Points <*slot> at the next of the <used> counters of <base> for a limit
 * of <max> per second, if there is one. */
static void rate_limit_take(struct rate_limit **slot, unsigned max,
                            struct rate_limit *base, size_t *used)
{
    if (max == 0)
        return;
    *slot = &base[(*used)++];
    (*slot)->max = max;
}

int rate_limit_prepare(struct cfg *cfg)
{
    struct global *g = &cfg->global;
    struct proxy *px;
    size_t n = (g->maxconnrate > 0) + (g->maxsessrate > 0), used = 0, i;

    for (px = cfg->proxies; px != NULL; px = px->next)
        n += px->rate_sess > 0 && px->listeners != NULL;
    if (n == 0)
        return RC_OK;
    g->rate_limits = shm_map(n * sizeof(*g->rate_limits), "rate limits");
    if (g->rate_limits == NULL)
        return RC_ERR;
    g->nrate_limits = n;
    for (i = 0; i < n; i++)
        if (shm_mutex_init(&g->rate_limits[i].lock) != RC_OK)
            return RC_ERR;
    rate_limit_take(&g->conn_rate, (unsigned)g->maxconnrate, g->rate_limits,
                    &used);
    rate_limit_take(&g->sess_rate, (unsigned)g->maxsessrate, g->rate_limits,
                    &used);
    for (px = cfg->proxies; px != NULL; px = px->next)
        if (px->listeners != NULL)
            rate_limit_take(&px->sess_rate, (unsigned)px->rate_sess,
                            g->rate_limits, &used);
    return RC_OK;
}

void rate_limit_release(struct cfg *cfg)
{
    struct global *g = &cfg->global;

    shm_unmap(g->rate_limits, g->nrate_limits * sizeof(*g->rate_limits));
    g->rate_limits = NULL;
    g->nrate_limits = 0;
}

/* The ms before <r> is asked again: none while under its limit, else
 * half the time one event takes at its rate (at most 50 ms), so that a
 * pause ends soon after the sliding window lets one through. */
static unsigned rate_wait(const struct rate_limit *r, unsigned long long now)
{
    unsigned ms;

    if (r == NULL || freq_ctr_read_at(&r->ctr, RATE_PERIOD_MS, now) < r->max)
        return 0;
    ms = RATE_PERIOD_MS / 2 / r->max;
    return ms == 0 ? 1 : ms > 50 ? 50 : ms;
}

/* 1 if a limit applies to <l>: without one, accepting reads no clock. */
static int rate_limited(const struct global *g, const struct listener *l)
{
    return g->conn_rate != NULL || g->sess_rate != NULL ||
           l->px->sess_rate != NULL;
}

unsigned rate_limit_wait(const struct listener *l)
{
    const struct global *g = &worker_cfg()->global;
    unsigned long long now;
    unsigned w, v;

    if (!rate_limited(g, l))
        return 0;
    now = freq_ctr_now_ms();
    w = rate_wait(g->conn_rate, now);

    if ((v = rate_wait(g->sess_rate, now)) > w)
        w = v;
    if ((v = rate_wait(l->px->sess_rate, now)) > w)
        w = v;
    return w;
}

/* Counts one event in <r>, if set. */
static void rate_add(struct rate_limit *r, unsigned long long now)
{
    if (r == NULL)
        return;
    shm_mutex_lock(&r->lock); /* a dead holder left nothing to repair */
    freq_ctr_add_at(&r->ctr, RATE_PERIOD_MS, now, 1);
    pthread_mutex_unlock(&r->lock);
}

void rate_limit_count(const struct listener *l)
{
    const struct global *g = &worker_cfg()->global;
    unsigned long long now;

    if (!rate_limited(g, l))
        return;
    now = freq_ctr_now_ms();
    rate_add(g->conn_rate, now);
    rate_add(g->sess_rate, now);
    rate_add(l->px->sess_rate, now);
}
