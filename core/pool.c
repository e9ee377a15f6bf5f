/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* Region pools: a chain of blocks carved linearly, plus cleanup handlers.
 * Requests larger than a block get a block of their own, so a pool never
 * wastes more than one block's tail per allocation. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/errors.h"
#include "core/pool.h"

#define POOL_ALIGN alignof(max_align_t)

struct pool_block {
    struct pool_block *next;
    char *cur;
    char *end;
};

struct pool_cleanup {
    struct pool_cleanup *next;
    pool_cleanup_cb fn;
    void *data;
};

struct pool {
    struct pool_block *blocks; /* the first one is carved from */
    struct pool_cleanup *cleanups;
    size_t block_size;
};

/* Rounds <n> up to the pool alignment. */
static size_t pool_round(size_t n)
{
    return (n + POOL_ALIGN - 1) & ~(POOL_ALIGN - 1);
}

/* Allocates a block able to hold <size> bytes after its header. */
static struct pool_block *pool_block_new(size_t size)
{
    size_t hdr = pool_round(sizeof(struct pool_block));
    struct pool_block *b = malloc(hdr + size);

    if (b == NULL)
        return NULL;
    b->next = NULL;
    b->cur = (char *)b + hdr;
    b->end = b->cur + size;
    return b;
}

struct pool *pool_new(size_t block_size)
{
    struct pool *p = malloc(sizeof(*p));

    if (p == NULL)
        return NULL;
    p->block_size = block_size < 256 ? 256 : block_size;
    p->cleanups = NULL;
    p->blocks = pool_block_new(p->block_size);
    if (p->blocks == NULL) {
        free(p);
        return NULL;
    }
    return p;
}

void pool_free(struct pool *p)
{
    struct pool_block *b, *nb;

    if (p == NULL)
        return;
    while (p->cleanups != NULL) {
        struct pool_cleanup *c = p->cleanups;

        /* unlink first: a cleanup may add to the pool it is freeing */
        p->cleanups = c->next;
        c->fn(c->data);
    }
    for (b = p->blocks; b != NULL; b = nb) {
        nb = b->next;
        free(b);
    }
    free(p);
}

void *palloc(struct pool *p, size_t size)
{
    struct pool_block *b = p->blocks;
    void *r;

    size = pool_round(size ? size : 1);
    if ((size_t)(b->end - b->cur) >= size) {
        r = b->cur;
        b->cur += size;
        return r;
    }
    if (size > p->block_size / 4) {
        /* big: a block of its own, kept behind the current one */
        struct pool_block *big = pool_block_new(size);

        if (big == NULL)
            return NULL;
        big->cur = big->end;
        big->next = b->next;
        b->next = big;
        return big->end - size;
    }
    b = pool_block_new(p->block_size);
    if (b == NULL)
        return NULL;
    b->next = p->blocks;
    p->blocks = b;
    r = b->cur;
    b->cur += size;
    return r;
}

void *pcalloc(struct pool *p, size_t size)
{
    void *r = palloc(p, size);

    if (r != NULL)
        memset(r, 0, size);
    return r;
}

char *pstrndup(struct pool *p, const char *s, size_t len)
{
    char *r = palloc(p, len + 1);

    if (r == NULL)
        return NULL;
    memcpy(r, s, len);
    r[len] = '\0';
    return r;
}

int pool_cleanup_add(struct pool *p, pool_cleanup_cb fn, void *data)
{
    struct pool_cleanup *c = palloc(p, sizeof(*c));

    if (c == NULL)
        return RC_ERR;
    c->fn = fn;
    c->data = data;
    c->next = p->cleanups;
    p->cleanups = c;
    return RC_OK;
}
