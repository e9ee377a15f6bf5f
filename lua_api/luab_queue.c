/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* The Queue class (HAProxy 2.8, core.queue()): a FIFO of Lua values that
 * the coroutines of a worker share (tasks, actions, services), with
 * q:size(), q:push(v), q:pop() and q:pop_wait(), which waits, where the
 * context may, until an item comes. Workers are processes here, so a
 * queue is its worker's own (HAProxy's threads share theirs). The items
 * live in the queue's user value, a table indexed head..tail-1; the
 * waiters are a list of contexts woken by the next push. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdlib.h>

#include <lauxlib.h>
#include <lua.h>

#include "core/util.h"
#include "lua_api/luab.h"

#define LUAB_MT_QUEUE "luab.Queue"

struct luab_qwait;

/* A queue (the userdata). */
struct luab_queue {
    lua_Integer head, tail; /* the items are [head, tail) */
    struct luab_qwait *waiters;
};

/* A context waiting in pop_wait(), until a push or its cancellation. */
struct luab_qwait {
    struct luab_qwait *next, **pprev;
    struct luab_ctx *ctx;
};

/* Unlinks and frees <w>. */
static void luab_qwait_free(struct luab_qwait *w)
{
    *w->pprev = w->next;
    if (w->next != NULL)
        w->next->pprev = w->pprev;
    free(w);
}

/* The waiting run ends another way (timeout, abort, its owner gone). */
static void luab_qwait_cancel(void *arg)
{
    luab_qwait_free(arg);
}

static struct luab_queue *luab_queue_check(lua_State *L)
{
    return luaL_checkudata(L, 1, LUAB_MT_QUEUE);
}

/* core.queue() */
static int luab_core_queue(lua_State *L)
{
    struct luab_queue *q = lua_newuserdata(L, sizeof(*q));

    q->head = q->tail = 0;
    q->waiters = NULL;
    lua_newtable(L);
    lua_setuservalue(L, -2);
    luaL_setmetatable(L, LUAB_MT_QUEUE);
    return 1;
}

/* q:size() */
static int luab_queue_size(lua_State *L)
{
    struct luab_queue *q = luab_queue_check(L);

    lua_pushinteger(L, q->tail - q->head);
    return 1;
}

/* q:push(item): any value but nil; wakes every waiter (each one takes an
 * item if one is left, else waits again). */
static int luab_queue_push(lua_State *L)
{
    struct luab_queue *q = luab_queue_check(L);
    struct luab_qwait *w;
    struct luab_ctx *ctx;

    luaL_argcheck(L, !lua_isnoneornil(L, 2), 2, "cannot push nil");
    lua_getuservalue(L, 1);
    lua_pushvalue(L, 2);
    lua_rawseti(L, -2, q->tail++);
    while ((w = q->waiters) != NULL) {
        ctx = w->ctx;
        luab_qwait_free(w);
        luab_run_wake(ctx); /* forgets the cancellation too */
    }
    lua_pushboolean(L, 1);
    return 1;
}

/* Pops the first item onto the stack; 0 if there is none. */
static int luab_queue_take(lua_State *L, struct luab_queue *q)
{
    if (q->head == q->tail)
        return 0;
    lua_getuservalue(L, 1);
    lua_rawgeti(L, -1, q->head);
    lua_pushnil(L);
    lua_rawseti(L, -3, q->head++);
    return 1;
}

/* q:pop(): the first item, or nil. */
static int luab_queue_pop(lua_State *L)
{
    if (!luab_queue_take(L, luab_queue_check(L)))
        lua_pushnil(L);
    return 1;
}

/* Continuation and body of q:pop_wait(). */
static int luab_queue_pop_wait_k(lua_State *L, int status, lua_KContext k)
{
    struct luab_queue *q = luab_queue_check(L);
    struct luab_qwait *w;
    struct luab_ctx *ctx;

    (void)status;
    (void)k;
    ctx = luab_run_current();
    /* a wake that was not a push (a leftover timer) left our waiter */
    for (w = q->waiters; ctx != NULL && w != NULL; w = w->next)
        if (w->ctx == ctx) {
            luab_run_set_cancel(ctx, NULL, NULL);
            luab_qwait_free(w);
            break;
        }
    if (luab_queue_take(L, q))
        return 1;
    ctx = luab_run_wait_begin(L);
    w = xcalloc(1, sizeof(*w));
    w->ctx = ctx;
    w->next = q->waiters;
    if (w->next != NULL)
        w->next->pprev = &w->next;
    w->pprev = &q->waiters;
    q->waiters = w;
    luab_run_set_cancel(ctx, luab_qwait_cancel, w);
    return luab_run_yield(L, LUAB_WAIT_EVENT, luab_queue_pop_wait_k, 0);
}

/* q:pop_wait() */
static int luab_queue_pop_wait(lua_State *L)
{
    return luab_queue_pop_wait_k(L, LUA_OK, 0);
}

/* A queue is collected only once no run waits in it (a waiting run holds
 * it on its stack); what is left is unlinked all the same. */
static int luab_queue_gc(lua_State *L)
{
    struct luab_queue *q = luab_queue_check(L);
    struct luab_qwait *w;

    while ((w = q->waiters) != NULL) {
        luab_run_set_cancel(w->ctx, NULL, NULL);
        luab_qwait_free(w);
    }
    return 0;
}

void luab_queue_register(lua_State *L)
{
    static const luaL_Reg methods[] = {
        {"size", luab_queue_size},
        {"push", luab_queue_push},
        {"pop", luab_queue_pop},
        {"pop_wait", luab_queue_pop_wait},
        {NULL, NULL},
    };

    luaL_newmetatable(L, LUAB_MT_QUEUE);
    luaL_newlib(L, methods);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, luab_queue_gc);
    lua_setfield(L, -2, "__gc");
    lua_pop(L, 1);
    lua_getglobal(L, "core");
    lua_pushcfunction(L, luab_core_queue);
    lua_setfield(L, -2, "queue");
    lua_pop(L, 1);
}
