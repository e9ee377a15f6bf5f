/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* Shared mappings and robust process-shared mutexes (core/shm.h). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>

#include "core/errors.h"
#include "core/log.h"
#include "core/shm.h"

void *shm_map(size_t len, const char *what)
{
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS, -1, 0);

    if (p == MAP_FAILED) {
        log_alert("cannot map %s: %s", what, strerror(errno));
        return NULL;
    }
    return p;
}

void shm_unmap(void *p, size_t len)
{
    if (p != NULL)
        munmap(p, len);
}

int shm_mutex_init(pthread_mutex_t *m)
{
    pthread_mutexattr_t attr;
    int rc;

    pthread_mutexattr_init(&attr);
    pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
    pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
    rc = pthread_mutex_init(m, &attr);
    pthread_mutexattr_destroy(&attr);
    return rc == 0 ? RC_OK : RC_ERR;
}

int shm_mutex_lock(pthread_mutex_t *m)
{
    if (pthread_mutex_lock(m) != EOWNERDEAD)
        return 0;
    pthread_mutex_consistent(m);
    return 1;
}
