/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* A store of byte strings shared by every worker, keyed by a fixed-size
 * hash (HAProxy's shared cache context): the master maps it before
 * forking, sized in 1 kB blocks; an object takes a chain of blocks, and
 * when blocks run out the objects stored first are dropped to make room.
 * Readers copy an object out under the lock, so nothing stays pinned. One
 * robust process-shared mutex guards it all; a worker that dies holding it
 * leaves the store to be emptied by the next locker. It knows nothing of
 * what the bytes mean (http/http_cache.c stores HTTP responses). */
#ifndef LUAPROXY_CORE_SHCACHE_H
#define LUAPROXY_CORE_SHCACHE_H

#include <stddef.h>
#include <sys/uio.h>

#define SHCACHE_KEY_LEN 20   /* bytes of a key (a SHA-1) */
#define SHCACHE_BLOCK   1024 /* bytes of a block, headers included */

struct shcache;

/* What the store keeps beside an object's bytes. */
struct shcache_info {
    long long stored; /* the caller's time of storage, seconds */
    long long expire; /* seconds; the object is dropped from then on */
    size_t len;       /* bytes of the object */
    unsigned blocks;  /* blocks it takes */
    const void *at;   /* where it lives (shown by the runtime API) */
};

/* Maps a store of <bytes> (at least a block) named <name> in errors;
 * NULL on failure (logged). Master only, before forking. */
struct shcache *shcache_new(size_t bytes, const char *name);
/* Unmaps <c> in this process and frees it. Accepts NULL. */
void shcache_free(struct shcache *c);
/* The number of blocks of <c>. */
unsigned shcache_blocks(const struct shcache *c);
/* Stores the <n> pieces of <v> as one object under <key>, replacing any;
 * RC_OK, or RC_DECLINED when it cannot fit in the whole store. */
int shcache_put(struct shcache *c, const unsigned char *key,
                const struct iovec *v, int n, const struct shcache_info *info);
/* Copies the object under <key> into a buffer the caller frees and fills
 * *<info>; NULL if there is none, it expired at <now> (it is dropped), or
 * out of memory. */
char *shcache_get(struct shcache *c, const unsigned char *key, long long now,
                  struct shcache_info *info);
/* Drops the object under <key>, if any. */
void shcache_del(struct shcache *c, const unsigned char *key);
/* Calls <fn> under the lock for each object not expired at <now>; <fn>
 * must not call back into the store. */
void shcache_walk(struct shcache *c, long long now,
                  void (*fn)(const unsigned char *key,
                             const struct shcache_info *info, void *arg),
                  void *arg);

#endif
