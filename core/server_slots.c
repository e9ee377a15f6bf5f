/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* Server connection slots shared by every worker: the records, mapped by
 * the master in chunks, the registry that gives a server the same record
 * from one generation to the next, and the locked counting of connection
 * slots and queued streams. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stddef.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/cfg.h"
#include "core/errors.h"
#include "core/log.h"
#include "core/proxy.h"
#include "core/server.h"
#include "core/server_slots.h"
#include "core/shm.h"
#include "core/util.h"

#define RECORDS_PER_CHUNK 64

/* What one worker process holds of a server. */
struct slots_column {
    unsigned conns;  /* connection slots */
    unsigned queued; /* streams in the server's queue */
};

/* One server's slots, in shared memory. <sum> is the sum of <col>,
 * written under <lock> and read without it. */
struct server_slots {
    pthread_mutex_t lock;
    struct slots_column sum;
    struct slots_column col[SERVER_SLOTS_MAX_PROCS];
};

/* The master's registry entry: a record and the name it belongs to. */
struct slots_entry {
    struct slots_entry *next;
    char *key; /* "backend/server" */
    struct server_slots *rec;
};

static struct slots_entry *registry;            /* master only */
static struct server_slots *chunk;              /* records being handed out */
static unsigned chunk_used = RECORDS_PER_CHUNK; /* none left: map a chunk */
static int owner = -1;                          /* this worker's column */

/* A fresh record from the current chunk, mapping a new one when it is
 * used up; NULL on failure (logged). */
static struct server_slots *record_new(void)
{
    void *p;

    if (chunk_used == RECORDS_PER_CHUNK) {
        p = shm_map(RECORDS_PER_CHUNK * sizeof(*chunk),
                    "server connection counters");
        if (p == NULL)
            return NULL;
        chunk = p;
        chunk_used = 0;
    }
    if (shm_mutex_init(&chunk[chunk_used].lock) != RC_OK) {
        log_alert("cannot initialise a server connection counter");
        return NULL;
    }
    return &chunk[chunk_used++];
}

/* The record of server <key>, created the first time; NULL on failure. */
static struct server_slots *record_get(const char *key)
{
    struct slots_entry *e;
    struct server_slots *rec;

    for (e = registry; e != NULL; e = e->next)
        if (strcmp(e->key, key) == 0)
            return e->rec;
    if ((rec = record_new()) == NULL)
        return NULL;
    e = xcalloc(1, sizeof(*e));
    e->key = xstrdup(key);
    e->rec = rec;
    e->next = registry;
    registry = e;
    return rec;
}

int server_slots_prepare(struct cfg *cfg)
{
    struct proxy *px;
    struct server *srv;
    char *key;

    for (px = cfg->proxies; px != NULL; px = px->next)
        for (srv = px->servers; srv != NULL; srv = srv->next) {
            key = xasprintf("%s/%s", px->name, srv->name);
            srv->slots = record_get(key);
            free(key);
            if (srv->slots == NULL)
                return RC_ERR;
        }
    return RC_OK;
}

/* Locks <rec>; if its last holder died inside, the sums are rebuilt from
 * the columns, each of whose counters is written in one store. */
static void record_lock(struct server_slots *rec)
{
    struct slots_column sum = {0, 0};
    int i;

    if (!shm_mutex_lock(&rec->lock))
        return;
    for (i = 0; i < SERVER_SLOTS_MAX_PROCS; i++) {
        sum.conns += rec->col[i].conns;
        sum.queued += rec->col[i].queued;
    }
    __atomic_store_n(&rec->sum.conns, sum.conns, __ATOMIC_RELAXED);
    __atomic_store_n(&rec->sum.queued, sum.queued, __ATOMIC_RELAXED);
}

/* Adds <delta> to this worker's counter at <off> in <rec> and to its sum,
 * unless the sum would pass <limit> (0: none); 1 if added. */
static int record_add(struct server_slots *rec, size_t off, int delta,
                      int limit)
{
    unsigned *mine = (unsigned *)((char *)&rec->col[owner] + off);
    unsigned *sum = (unsigned *)((char *)&rec->sum + off);
    int ok;

    record_lock(rec);
    ok = delta < 0 || limit == 0 || *sum < (unsigned)limit;
    if (ok) {
        *mine += (unsigned)delta;
        __atomic_store_n(sum, *sum + (unsigned)delta, __ATOMIC_RELAXED);
    }
    pthread_mutex_unlock(&rec->lock);
    return ok;
}

/* Returns 1 if <srv> has a shared record this process may write. */
static int shared(const struct server *srv)
{
    return srv->slots != NULL && owner >= 0;
}

void server_slots_owner_set(int index)
{
    owner = index;
}

void server_slots_forget(int index)
{
    struct slots_entry *e;
    struct server_slots *rec;

    for (e = registry; e != NULL; e = e->next) {
        rec = e->rec;
        /* only the dead worker wrote its column: no lock to read it */
        if (rec->col[index].conns == 0 && rec->col[index].queued == 0)
            continue;
        record_lock(rec);
        __atomic_store_n(&rec->sum.conns,
                         rec->sum.conns - rec->col[index].conns,
                         __ATOMIC_RELAXED);
        __atomic_store_n(&rec->sum.queued,
                         rec->sum.queued - rec->col[index].queued,
                         __ATOMIC_RELAXED);
        rec->col[index].conns = rec->col[index].queued = 0;
        pthread_mutex_unlock(&rec->lock);
    }
}

int server_slots_take(struct server *srv)
{
    unsigned limit = server_dynamic_maxconn(srv);

    if (!shared(srv)) /* no master (unit tests): this process only */
        return limit == 0 || srv->cur_conns < limit;
    return record_add(srv->slots, offsetof(struct slots_column, conns), 1,
                      (int)limit);
}

void server_slots_release(struct server *srv)
{
    if (shared(srv))
        record_add(srv->slots, offsetof(struct slots_column, conns), -1, 0);
}

int server_slots_enqueue(struct server *srv)
{
    if (!shared(srv))
        return srv->maxqueue == 0 || srv->queue.len < (unsigned)srv->maxqueue;
    return record_add(srv->slots, offsetof(struct slots_column, queued), 1,
                      srv->maxqueue);
}

void server_slots_unqueue(struct server *srv)
{
    if (shared(srv))
        record_add(srv->slots, offsetof(struct slots_column, queued), -1, 0);
}

unsigned server_slots_queued(const struct server *srv)
{
    if (!shared(srv))
        return srv->queue.len;
    return __atomic_load_n(&srv->slots->sum.queued, __ATOMIC_RELAXED);
}

unsigned server_slots_used(const struct server *srv)
{
    if (!shared(srv))
        return srv->cur_conns;
    return __atomic_load_n(&srv->slots->sum.conns, __ATOMIC_RELAXED);
}
