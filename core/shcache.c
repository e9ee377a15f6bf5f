/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* The shared object store (core/shcache.h). The mapping holds a header,
 * the hash buckets, then the blocks. Block numbers start at 1 (0 is "no
 * block"). An object's first block begins with its entry (key, links,
 * sizes); its bytes follow and go on in the blocks chained by <next>.
 * Blocks never used yet are taken in order from <fresh>, so that a large
 * store costs no memory until it fills. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/errors.h"
#include "core/log.h"
#include "core/shcache.h"
#include "core/shm.h"
#include "core/util.h"

struct shc_head {
    pthread_mutex_t lock;
    uint32_t nblocks, nbuckets;
    uint32_t fresh;     /* blocks 1..fresh were used once */
    uint32_t free_head; /* chain of released blocks */
    uint32_t nfree;     /* blocks on that chain, plus those above fresh */
    uint32_t lru_head;  /* the object stored first (dropped first) */
    uint32_t lru_tail;
    uint64_t resets; /* times a dead holder made it start empty */
};

struct shc_block {
    uint32_t next; /* the object's next block */
    uint32_t pad;
    unsigned char data[SHCACHE_BLOCK - 8];
};

/* At the start of an object's first block. */
struct shc_entry {
    unsigned char key[SHCACHE_KEY_LEN];
    uint32_t hnext;        /* next first block in the bucket */
    uint32_t lprev, lnext; /* in the order of storage */
    uint32_t nblocks;
    uint64_t len;
    int64_t stored, expire;
};

#define FIRST_ROOM                                                             \
    (sizeof(((struct shc_block *)0)->data) - sizeof(struct shc_entry))
#define NEXT_ROOM (sizeof(((struct shc_block *)0)->data))

struct shcache {
    struct shc_head *h;
    size_t map_len;
};

/* The hash buckets, after the header. */
static uint32_t *buckets(const struct shcache *c)
{
    return (uint32_t *)((char *)c->h + ((sizeof(struct shc_head) + 63) & ~63u));
}

/* Block number <b> (from 1), after the buckets. */
static struct shc_block *block(const struct shcache *c, uint32_t b)
{
    char *base = (char *)(buckets(c) + c->h->nbuckets);

    base = (char *)(((uintptr_t)base + 63) & ~(uintptr_t)63);
    return (struct shc_block *)(base +
                                (size_t)(b - 1) * sizeof(struct shc_block));
}

/* The entry at the start of block <b>, an object's first. */
static struct shc_entry *entry(const struct shcache *c, uint32_t b)
{
    return (struct shc_entry *)block(c, b)->data;
}

struct shcache *shcache_new(size_t bytes, const char *name)
{
    struct shcache *c = xcalloc(1, sizeof(*c));
    size_t nblocks = bytes / sizeof(struct shc_block);

    if (nblocks == 0)
        nblocks = 1;
    c->map_len = ((sizeof(struct shc_head) + 63) & ~63u) +
                 nblocks * sizeof(uint32_t) + 64 +
                 nblocks * sizeof(struct shc_block);
    c->h = shm_map(c->map_len, name);
    if (c->h == NULL) {
        free(c);
        return NULL;
    }
    if (shm_mutex_init(&c->h->lock) != RC_OK) {
        log_alert("cannot initialise the lock of %s", name);
        shcache_free(c);
        return NULL;
    }
    c->h->nblocks = c->h->nbuckets = c->h->nfree = (uint32_t)nblocks;
    return c;
}

void shcache_free(struct shcache *c)
{
    if (c == NULL)
        return;
    shm_unmap(c->h, c->map_len);
    free(c);
}

unsigned shcache_blocks(const struct shcache *c)
{
    return c->h->nblocks;
}

/* Empties <c> (its lock held). */
static void store_reset(struct shcache *c)
{
    c->h->resets++;
    c->h->fresh = c->h->free_head = 0;
    c->h->nfree = c->h->nblocks;
    c->h->lru_head = c->h->lru_tail = 0;
    memset(buckets(c), 0, c->h->nbuckets * sizeof(uint32_t));
}

/* Locks <c>; a holder that died may have left links half-written, so the
 * store starts again empty. */
static void store_lock(struct shcache *c)
{
    if (shm_mutex_lock(&c->h->lock))
        store_reset(c);
}

/* Unlocks what store_lock() locked. */
static void store_unlock(struct shcache *c)
{
    pthread_mutex_unlock(&c->h->lock);
}

/* The bucket of <key>. */
static uint32_t *bucket_of(struct shcache *c, const unsigned char *key)
{
    uint32_t k;

    memcpy(&k, key, sizeof(k));
    return &buckets(c)[k % c->h->nbuckets];
}

/* The first block of the object under <key>, or 0. */
static uint32_t find(struct shcache *c, const unsigned char *key)
{
    uint32_t b;

    for (b = *bucket_of(c, key); b != 0; b = entry(c, b)->hnext)
        if (memcmp(entry(c, b)->key, key, SHCACHE_KEY_LEN) == 0)
            return b;
    return 0;
}

/* Unlinks the object starting at block <b> and releases its blocks. */
static void drop(struct shcache *c, uint32_t b)
{
    struct shc_entry *e = entry(c, b);
    uint32_t *p = bucket_of(c, e->key), n, last = b;

    while (*p != b)
        p = &entry(c, *p)->hnext;
    *p = e->hnext;
    if (e->lprev)
        entry(c, e->lprev)->lnext = e->lnext;
    else
        c->h->lru_head = e->lnext;
    if (e->lnext)
        entry(c, e->lnext)->lprev = e->lprev;
    else
        c->h->lru_tail = e->lprev;
    for (n = 1; n < e->nblocks; n++)
        last = block(c, last)->next;
    block(c, last)->next = c->h->free_head;
    c->h->free_head = b;
    c->h->nfree += e->nblocks;
}

/* Takes one free block (there is one). */
static uint32_t block_take(struct shcache *c)
{
    uint32_t b = c->h->free_head;

    c->h->nfree--;
    if (b != 0) {
        c->h->free_head = block(c, b)->next;
        return b;
    }
    return ++c->h->fresh;
}

/* Blocks needed for <len> bytes. */
static uint32_t blocks_for(size_t len)
{
    if (len <= FIRST_ROOM)
        return 1;
    return (uint32_t)(1 + (len - FIRST_ROOM + NEXT_ROOM - 1) / NEXT_ROOM);
}

/* Copies the pieces of <v> into the chain starting at <b>. */
static void chain_write(struct shcache *c, uint32_t b, const struct iovec *v,
                        int n)
{
    unsigned char *dst = block(c, b)->data + sizeof(struct shc_entry);
    size_t room = FIRST_ROOM;
    int i;

    for (i = 0; i < n; i++) {
        const unsigned char *src = v[i].iov_base;
        size_t left = v[i].iov_len;

        while (left > 0) {
            size_t k = left < room ? left : room;

            if (k == 0) {
                b = block(c, b)->next;
                dst = block(c, b)->data;
                room = NEXT_ROOM;
                continue;
            }
            memcpy(dst, src, k);
            dst += k;
            src += k;
            room -= k;
            left -= k;
        }
    }
}

int shcache_put(struct shcache *c, const unsigned char *key,
                const struct iovec *v, int n, const struct shcache_info *info)
{
    size_t len = 0;
    uint32_t need, first, prev, b, i;
    struct shc_entry *e;
    int k;

    for (k = 0; k < n; k++)
        len += v[k].iov_len;
    need = blocks_for(len);
    if (need > c->h->nblocks)
        return RC_DECLINED;
    store_lock(c);
    if ((b = find(c, key)) != 0)
        drop(c, b);
    while (c->h->nfree < need)
        drop(c, c->h->lru_head);
    first = prev = block_take(c);
    for (i = 1; i < need; i++) {
        b = block_take(c);
        block(c, prev)->next = b;
        prev = b;
    }
    e = entry(c, first);
    memcpy(e->key, key, SHCACHE_KEY_LEN);
    e->nblocks = need;
    e->len = len;
    e->stored = info->stored;
    e->expire = info->expire;
    chain_write(c, first, v, n);
    e->hnext = *bucket_of(c, key);
    *bucket_of(c, key) = first;
    e->lnext = 0;
    e->lprev = c->h->lru_tail;
    if (e->lprev)
        entry(c, e->lprev)->lnext = first;
    else
        c->h->lru_head = first;
    c->h->lru_tail = first;
    store_unlock(c);
    return RC_OK;
}

/* Fills <info> from the entry at block <b>. */
static void info_fill(struct shcache *c, uint32_t b, struct shcache_info *info)
{
    const struct shc_entry *e = entry(c, b);

    info->stored = e->stored;
    info->expire = e->expire;
    info->len = (size_t)e->len;
    info->blocks = e->nblocks;
    info->at = e;
}

/* Copies the bytes of the object at block <b> to <dst>. */
static void chain_read(struct shcache *c, uint32_t b, char *dst, size_t len)
{
    const unsigned char *src = block(c, b)->data + sizeof(struct shc_entry);
    size_t room = FIRST_ROOM;

    while (len > 0) {
        size_t k = len < room ? len : room;

        memcpy(dst, src, k);
        dst += k;
        len -= k;
        b = block(c, b)->next;
        if (len > 0)
            src = block(c, b)->data;
        room = NEXT_ROOM;
    }
}

char *shcache_get(struct shcache *c, const unsigned char *key, long long now,
                  struct shcache_info *info)
{
    char *out = NULL;
    uint32_t b;

    store_lock(c);
    b = find(c, key);
    if (b != 0 && entry(c, b)->expire <= now) {
        drop(c, b);
        b = 0;
    }
    if (b != 0) {
        info_fill(c, b, info);
        out = malloc(info->len ? info->len : 1);
        if (out != NULL)
            chain_read(c, b, out, info->len);
    }
    store_unlock(c);
    return out;
}

void shcache_del(struct shcache *c, const unsigned char *key)
{
    uint32_t b;

    store_lock(c);
    if ((b = find(c, key)) != 0)
        drop(c, b);
    store_unlock(c);
}

void shcache_walk(struct shcache *c, long long now,
                  void (*fn)(const unsigned char *key,
                             const struct shcache_info *info, void *arg),
                  void *arg)
{
    struct shcache_info info;
    uint32_t b;

    store_lock(c);
    for (b = c->h->lru_head; b != 0; b = entry(c, b)->lnext) {
        if (entry(c, b)->expire <= now)
            continue;
        info_fill(c, b, &info);
        fn(entry(c, b)->key, &info, arg);
    }
    store_unlock(c);
}
