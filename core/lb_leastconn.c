/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* "leastconn": the server with the fewest connections for its weight,
 * ties broken in turn; "first": the first server, in declaration order,
 * with a free slot, so that the others can be switched off. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stddef.h>

#include "core/lb.h"
#include "core/proxy.h"
#include "core/server.h"
#include "core/server_slots.h"

/* Returns 1 if <srv> may be picked in class <backup> right now. */
static int lc_candidate(const struct server *srv, int backup)
{
    return srv->backup == backup && server_is_usable(srv) &&
           server_has_slot(srv);
}

/* Least connections per weight; rotating start point for the ties. */
static struct server *leastconn_choose(struct proxy *px, int backup,
                                       uint64_t hash)
{
    struct server *srv, *best = NULL;
    unsigned n = 0, start, i = 0, used, best_used = 0;
    unsigned long long mine, theirs;

    for (srv = px->servers; srv != NULL; srv = srv->next)
        n++;
    if (n == 0)
        return NULL;
    start = px->rr_next++ % n;
    for (srv = px->servers; srv != NULL; srv = srv->next, i++) {
        /* used/weight < best's, compared without division; among equals
         * the first at or after <start> wins; the counts are those of
         * every worker */
        if (!lc_candidate(srv, backup))
            continue;
        used = server_slots_used(srv);
        if (best != NULL) {
            mine = (unsigned long long)used * (unsigned)best->weight;
            theirs = (unsigned long long)best_used * (unsigned)srv->weight;
            if (mine > theirs || (mine == theirs && i != start))
                continue;
        }
        best = srv;
        best_used = used;
    }
    return best;
}

/* With every server full: the one with the fewest connections and queued
 * streams for its weight among those with an explicit maxqueue not
 * reached, as HAProxy's leastconn, which smooths the load of small
 * maxconn values; NULL if none. */
static struct server *leastconn_choose_queue(struct proxy *px, int backup)
{
    struct server *srv, *best = NULL;
    unsigned long long load, best_load = 0;

    for (srv = px->servers; srv != NULL; srv = srv->next) {
        unsigned queued = server_slots_queued(srv);

        if (srv->backup != backup || !server_is_usable(srv) ||
            srv->maxqueue == 0 || queued >= (unsigned)srv->maxqueue)
            continue;
        /* (used + queued) / weight, scaled to keep small differences */
        load = ((unsigned long long)server_slots_used(srv) + queued) << 16;
        load /= (unsigned)srv->weight;
        if (best == NULL || load < best_load) {
            best = srv;
            best_load = load;
        }
    }
    return best;
}

/* The first server with a free slot. */
static struct server *first_choose(struct proxy *px, int backup, uint64_t hash)
{
    struct server *srv;

    for (srv = px->servers; srv != NULL; srv = srv->next)
        if (lc_candidate(srv, backup))
            return srv;
    return NULL;
}

const struct lb_ops lb_leastconn_ops = {
    .name = "leastconn",
    .choose = leastconn_choose,
    .choose_queue = leastconn_choose_queue,
    .dynamic = 1,
};

const struct lb_ops lb_first_ops = {
    .name = "first",
    .choose = first_choose,
};
