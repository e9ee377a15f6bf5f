/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* Server connection slots shared by every worker: the records, mapped by
 * the master in chunks, the registry that gives a server the same record
 * from one generation to the next, and the locked take and release. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "core/cfg.h"
#include "core/errors.h"
#include "core/log.h"
#include "core/proxy.h"
#include "core/server.h"
#include "core/server_slots.h"
#include "core/util.h"

#define RECORDS_PER_CHUNK 64

/* One server's slots, in shared memory. <used> is the sum of <held>,
 * written under <lock> and read without it. */
struct server_slots {
    pthread_mutex_t lock;
    unsigned used;
    unsigned held[SERVER_SLOTS_MAX_PROCS];
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

/* Initialises the robust process-shared mutex of <rec>. */
static int record_init(struct server_slots *rec)
{
    pthread_mutexattr_t attr;
    int rc;

    pthread_mutexattr_init(&attr);
    pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
    pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
    rc = pthread_mutex_init(&rec->lock, &attr);
    pthread_mutexattr_destroy(&attr);
    return rc == 0 ? RC_OK : RC_ERR;
}

/* A fresh record from the current chunk, mapping a new one when it is
 * used up; NULL on failure (logged). */
static struct server_slots *record_new(void)
{
    void *p;

    if (chunk_used == RECORDS_PER_CHUNK) {
        p = mmap(NULL, RECORDS_PER_CHUNK * sizeof(*chunk),
                 PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) {
            log_alert("cannot map server connection counters: %s",
                      strerror(errno));
            return NULL;
        }
        chunk = p;
        chunk_used = 0;
    }
    if (record_init(&chunk[chunk_used]) != RC_OK) {
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

/* Locks <rec>; if its last holder died inside, the sum is rebuilt from
 * the columns, each of which is written in one store. */
static void record_lock(struct server_slots *rec)
{
    unsigned sum = 0;
    int i;

    if (pthread_mutex_lock(&rec->lock) != EOWNERDEAD)
        return;
    for (i = 0; i < SERVER_SLOTS_MAX_PROCS; i++)
        sum += rec->held[i];
    __atomic_store_n(&rec->used, sum, __ATOMIC_RELAXED);
    pthread_mutex_consistent(&rec->lock);
}

void server_slots_owner_set(int index)
{
    owner = index;
}

void server_slots_forget(int index)
{
    struct slots_entry *e;

    for (e = registry; e != NULL; e = e->next) {
        if (e->rec->held[index] == 0)
            continue; /* only the dead worker wrote it: no lock to read */
        record_lock(e->rec);
        __atomic_store_n(&e->rec->used, e->rec->used - e->rec->held[index],
                         __ATOMIC_RELAXED);
        e->rec->held[index] = 0;
        pthread_mutex_unlock(&e->rec->lock);
    }
}

int server_slots_take(struct server *srv)
{
    struct server_slots *rec = srv->slots;
    int ok;

    if (rec == NULL || owner < 0) /* no master (unit tests): local only */
        return srv->maxconn == 0 || srv->cur_conns < (unsigned)srv->maxconn;
    record_lock(rec);
    ok = srv->maxconn == 0 || rec->used < (unsigned)srv->maxconn;
    if (ok) {
        rec->held[owner]++;
        __atomic_store_n(&rec->used, rec->used + 1, __ATOMIC_RELAXED);
    }
    pthread_mutex_unlock(&rec->lock);
    return ok;
}

void server_slots_release(struct server *srv)
{
    struct server_slots *rec = srv->slots;

    if (rec == NULL || owner < 0)
        return;
    record_lock(rec);
    rec->held[owner]--;
    __atomic_store_n(&rec->used, rec->used - 1, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&rec->lock);
}

unsigned server_slots_used(const struct server *srv)
{
    if (srv->slots == NULL || owner < 0)
        return srv->cur_conns;
    return __atomic_load_n(&srv->slots->used, __ATOMIC_RELAXED);
}
