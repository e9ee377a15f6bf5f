/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* Memory shared by every worker of the master: anonymous shared mappings
 * the master makes before forking, and the process-shared robust mutexes
 * that guard what lives in them (server connection slots, stick tables).
 * A worker killed while holding such a lock does not block the others:
 * the next locker is told, repairs what the lock guards, and goes on. */
#ifndef LUAPROXY_CORE_SHM_H
#define LUAPROXY_CORE_SHM_H

#include <pthread.h>
#include <stddef.h>

/* Maps <len> zeroed bytes shared with the children forked afterwards;
 * NULL on failure (logged, naming <what>). Release with shm_unmap(). */
void *shm_map(size_t len, const char *what);
/* Unmaps what shm_map() returned. Accepts NULL. */
void shm_unmap(void *p, size_t len);
/* Initialises <m> as a process-shared robust mutex; RC_OK or RC_ERR. */
int shm_mutex_init(pthread_mutex_t *m);
/* Locks <m>; returns 1 if its last holder died inside (the caller repairs
 * what it guards; the mutex is made consistent), else 0. */
int shm_mutex_lock(pthread_mutex_t *m);

#endif
