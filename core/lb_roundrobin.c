/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* Round robin: "roundrobin" is nginx's smooth weighted round robin (each
 * pick adds every server's weight to its current weight, takes the largest
 * and subtracts the total from it: weights are honoured and interleaved,
 * and a weight change applies at once); "static-rr" walks the weights in
 * declaration order. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stddef.h>

#include "core/lb.h"
#include "core/proxy.h"
#include "core/server.h"

/* Returns 1 if <srv> may be picked in class <backup> right now. */
static int rr_candidate(const struct server *srv, int backup)
{
    return srv->backup == backup && server_is_usable(srv) &&
           server_has_slot(srv);
}

/* Smooth weighted round robin. */
static struct server *rr_choose(struct proxy *px, int backup, uint64_t hash)
{
    struct server *srv, *best = NULL;
    int total = 0;

    for (srv = px->servers; srv != NULL; srv = srv->next) {
        if (!rr_candidate(srv, backup))
            continue;
        srv->lb_cw += srv->weight;
        total += srv->weight;
        if (best == NULL || srv->lb_cw > best->lb_cw)
            best = srv;
    }
    if (best != NULL)
        best->lb_cw -= total;
    return best;
}

/* Static round robin over the weights, in declaration order. */
static struct server *static_rr_choose(struct proxy *px, int backup,
                                       uint64_t hash)
{
    struct server *srv;
    unsigned n = 0, k;

    for (srv = px->servers; srv != NULL; srv = srv->next)
        if (rr_candidate(srv, backup))
            n += (unsigned)srv->weight;
    if (n == 0)
        return NULL;
    k = px->rr_next++ % n;
    for (srv = px->servers; srv != NULL; srv = srv->next) {
        if (!rr_candidate(srv, backup))
            continue;
        if (k < (unsigned)srv->weight)
            return srv;
        k -= (unsigned)srv->weight;
    }
    return NULL;
}

const struct lb_ops lb_roundrobin_ops = {
    .name = "roundrobin",
    .choose = rr_choose,
    .dynamic = 1,
};

const struct lb_ops lb_static_rr_ops = {
    .name = "static-rr",
    .choose = static_rr_choose,
};
