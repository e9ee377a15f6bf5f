/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* Region pools (nginx's ngx_pool_t): one per connection and per stream.
 * Memory taken from a pool is never freed alone; it goes when the pool goes.
 * Cleanups registered on a pool run, last added first, when it is freed;
 * they release what the pool does not own directly (fds, events, Lua refs). */
#ifndef LUAPROXY_CORE_POOL_H
#define LUAPROXY_CORE_POOL_H

#include <stddef.h>

struct pool;

typedef void (*pool_cleanup_cb)(void *data);

/* Creates a pool whose blocks are <block_size> bytes; NULL if out of memory. */
struct pool *pool_new(size_t block_size);
/* Runs the cleanups, then frees every block. Accepts NULL. */
void pool_free(struct pool *p);
/* Returns <size> bytes aligned for any type, or NULL if out of memory. */
void *palloc(struct pool *p, size_t size);
/* Same as palloc, zeroed. */
void *pcalloc(struct pool *p, size_t size);
/* Copies <len> bytes of <s> into the pool and NUL-terminates them. */
char *pstrndup(struct pool *p, const char *s, size_t len);
/* Registers <fn>(<data>) to run when <p> is freed; RC_OK or RC_ERR. */
int pool_cleanup_add(struct pool *p, pool_cleanup_cb fn, void *data);

#endif
