/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* Hashing algorithms (source, uri, url_param, hdr) and random. With
 * "hash-type map-based" a key picks a server by its hash modulo the total
 * weight of the usable servers; with "consistent" each server owns points
 * on a ring (as many as 40 times its weight) and a key goes to the first
 * usable server at or after its hash, so a server going down moves only
 * its own keys. "random(N)" draws N servers by weight and keeps the least
 * loaded. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/errors.h"
#include "core/lb.h"
#include "core/proxy.h"
#include "core/server.h"
#include "core/server_slots.h"
#include "core/util.h"

#define RING_POINTS_PER_WEIGHT 40

struct ring_point {
    uint64_t hash;
    struct server *srv;
};

struct ring {
    struct ring_point *points;
    size_t n;
};

/* Returns 1 if <srv> may take a key of class <backup> now. */
static int hash_candidate(const struct server *srv, int backup)
{
    return srv->backup == backup && server_is_usable(srv);
}

static int ring_cmp(const void *a, const void *b)
{
    const struct ring_point *x = a, *y = b;

    return x->hash < y->hash ? -1 : x->hash > y->hash;
}

/* Builds the ring of <px> (consistent hashing only). */
static int hash_init(struct proxy *px, char **err)
{
    struct ring *ring;
    struct server *srv;
    size_t n = 0;
    char key[300];
    int i;

    if (!px->lb_consistent)
        return RC_OK;
    ring = xcalloc(1, sizeof(*ring));
    for (srv = px->servers; srv != NULL; srv = srv->next)
        n += (size_t)srv->weight * RING_POINTS_PER_WEIGHT;
    ring->points = xcalloc(n ? n : 1, sizeof(*ring->points));
    for (srv = px->servers; srv != NULL; srv = srv->next) {
        for (i = 0; i < srv->weight * RING_POINTS_PER_WEIGHT; i++) {
            int len = snprintf(key, sizeof(key), "%s#%d", srv->name, i);

            ring->points[ring->n].hash = lb_hash(key, (size_t)len);
            ring->points[ring->n++].srv = srv;
        }
    }
    qsort(ring->points, ring->n, sizeof(*ring->points), ring_cmp);
    px->lb_data = ring;
    return RC_OK;
}

static void hash_deinit(struct proxy *px)
{
    struct ring *ring = px->lb_data;

    if (ring != NULL)
        free(ring->points);
    free(ring);
    px->lb_data = NULL;
}

/* Consistent: the first usable server at or after <hash> on the ring. */
static struct server *ring_choose(struct ring *ring, int backup, uint64_t hash)
{
    size_t lo = 0, hi = ring->n, i;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (ring->points[mid].hash < hash)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (i = 0; i < ring->n; i++) {
        struct server *srv = ring->points[(lo + i) % ring->n].srv;

        if (hash_candidate(srv, backup))
            return srv;
    }
    return NULL;
}

/* Map-based: the hash modulo the usable servers' total weight. */
static struct server *map_choose(struct proxy *px, int backup, uint64_t hash)
{
    struct server *srv;
    uint64_t total = 0, k;

    for (srv = px->servers; srv != NULL; srv = srv->next)
        if (hash_candidate(srv, backup))
            total += (uint64_t)srv->weight;
    if (total == 0)
        return NULL;
    k = hash % total;
    for (srv = px->servers; srv != NULL; srv = srv->next) {
        if (!hash_candidate(srv, backup))
            continue;
        if (k < (uint64_t)srv->weight)
            return srv;
        k -= (uint64_t)srv->weight;
    }
    return NULL;
}

static struct server *hash_choose(struct proxy *px, int backup, uint64_t hash)
{
    if (px->lb_consistent && px->lb_data != NULL)
        return ring_choose(px->lb_data, backup, hash);
    return map_choose(px, backup, hash);
}

/* A worker-local xorshift generator: no syscall per pick. */
static uint64_t random_next(void)
{
    static uint64_t x = 0x9e3779b97f4a7c15ULL;

    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return x;
}

/* random(N): N weighted draws, the least loaded wins. */
static struct server *random_choose(struct proxy *px, int backup, uint64_t hash)
{
    struct server *best = NULL, *srv;
    int d;

    for (d = 0; d < px->lb_draws; d++) {
        uint64_t total = 0, k;

        for (srv = px->servers; srv != NULL; srv = srv->next)
            if (hash_candidate(srv, backup) && server_has_slot(srv))
                total += (uint64_t)srv->weight;
        if (total == 0)
            return NULL;
        k = random_next() % total;
        for (srv = px->servers; srv != NULL; srv = srv->next) {
            if (!hash_candidate(srv, backup) || !server_has_slot(srv))
                continue;
            if (k < (uint64_t)srv->weight)
                break;
            k -= (uint64_t)srv->weight;
        }
        if (best == NULL ||
            (srv != NULL && server_slots_used(srv) < server_slots_used(best)))
            best = srv;
    }
    return best;
}

const struct lb_ops lb_hash_ops = {
    .name = "hash",
    .init = hash_init,
    .choose = hash_choose,
    .targets = 1,
    .deinit = hash_deinit,
};

const struct lb_ops lb_random_ops = {
    .name = "random",
    .choose = random_choose,
    .dynamic = 1,
};
