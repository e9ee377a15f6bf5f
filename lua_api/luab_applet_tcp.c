/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* The AppletTCP class (services registered with 'tcp') and the applet
 * machinery both applet classes share: the applet_ops driver that starts
 * and resumes a service's coroutine each time the protocol layer says the
 * stream may progress, reads from the stream's applet input, and writes
 * through the protocol layer's applet_send, waiting while it is full. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <limits.h>
#include <string.h>

#include <event2/buffer.h>
#include <lauxlib.h>
#include <lua.h>

#include "core/errors.h"
#include "core/freq_ctr.h"
#include "core/pool.h"
#include "core/stream.h"
#include "lua_api/luab.h"

/* Exit code of an applet whose client went away. */
#define LUAB_APPLET_GONE -1

/* Wakes the stream of an applet. */
static void luab_applet_wake(struct luab_ctx *ctx)
{
    stream_wake(ctx->s);
}

/* What an applet's run starts with. */
struct luab_applet_call {
    struct luab_ctx *ctx;
    const struct luab_fn *fn;
    void (*push)(lua_State *L, struct luab_ctx *ctx);
};

/* Pushes fn(applet) (protected, see luab_run_call). */
static void luab_applet_push(lua_State *L, void *arg)
{
    const struct luab_applet_call *c = arg;

    lua_rawgeti(L, LUA_REGISTRYINDEX, c->fn->ref);
    c->push(L, c->ctx);
}

/* Creates the context of a new applet and starts its function. */
static int luab_applet_start(struct stream *s, struct luab_fn *fn, void **pctx,
                             void (*push)(lua_State *L, struct luab_ctx *ctx),
                             const char *what)
{
    struct luab_ctx *ctx = palloc(s->pool, sizeof(*ctx));
    struct luab_applet_call c = {ctx, fn, push};

    if (ctx == NULL)
        return RC_ERR;
    luab_run_ctx_init(ctx, fn->st, s, s->pool);
    ctx->wake_fn = luab_applet_wake;
    if (pool_cleanup_add(s->pool, luab_run_ctx_release, ctx) != RC_OK)
        return RC_ERR;
    *pctx = ctx;
    if (luab_run_prepare(ctx, LUAB_CTX_SERVICE, 1) != RC_OK)
        return RC_ERR;
    ctx->what = what;
    ctx->name = fn->name;
    ctx->stats = &fn->stats;
    return luab_run_call(ctx, luab_applet_push, &c);
}

int luab_applet_io(struct stream *s, struct luab_fn *fn, void **pctx,
                   void (*push)(lua_State *L, struct luab_ctx *ctx),
                   const char *what)
{
    struct luab_ctx *ctx = *pctx;
    int rc;

    if (ctx == NULL) {
        rc = luab_applet_start(s, fn, pctx, push, what);
        ctx = *pctx;
    } else if (ctx->co == NULL || lua_status(ctx->co) != LUA_YIELD) {
        return RC_ERR; /* called again after it ended */
    } else if (!luab_run_ready(ctx)) {
        return RC_AGAIN;
    } else {
        rc = luab_run_resume(ctx);
    }
    if (rc == RC_AGAIN)
        return RC_AGAIN;
    if (rc == RC_OK && ctx->exit_ret != LUAB_APPLET_GONE)
        return RC_DONE;
    return RC_ERR;
}

void luab_applet_release(struct stream *s, void *arg, void *ctx)
{
    if (ctx != NULL)
        luab_run_ctx_release(ctx);
}

int luab_applet_read(lua_State *L, struct luab_ctx *ctx, int line,
                     lua_Integer size)
{
    struct evbuffer *in = ctx->s->applet_in;
    size_t avail = evbuffer_get_length(in), n = avail;
    int eof = ctx->s->applet_in_eof;
    struct evbuffer_ptr p;
    luaL_Buffer b;

    if (line) {
        p = evbuffer_search_eol(in, NULL, NULL, EVBUFFER_EOL_LF);
        if (p.pos >= 0)
            n = (size_t)p.pos + 1;
        else if (!eof)
            return 0;
    } else if (size >= 0 && avail >= (size_t)size) {
        n = (size_t)size;
    } else if (!eof) {
        return 0;
    }
    luaL_buffinit(L, &b);
    evbuffer_remove(in, luaL_prepbuffsize(&b, n), n);
    luaL_addsize(&b, n);
    luaL_pushresult(&b);
    return 1;
}

int luab_applet_send(lua_State *L, struct luab_ctx *ctx, const char *data,
                     size_t len, lua_KFunction k)
{
    int rc = ctx->s->ops->applet_send(ctx->s, data, len);

    if (rc == RC_OK) {
        lua_pushinteger(L, (lua_Integer)len); /* HAProxy's answer */
        return 1;
    }
    if (rc == RC_AGAIN)
        return luab_run_yield(L, LUAB_WAIT_IO, k, 0);
    ctx->exit_ret = LUAB_APPLET_GONE;
    lua_settop(L, 0);
    return luab_run_exit(L, 0);
}

/* The context behind the AppletTCP at 1. */
static struct luab_ctx *luab_applet_tcp_check(lua_State *L)
{
    return luab_obj_check(L, 1, LUAB_MT_APPLET_TCP);
}

/* Continuation and body of applet:getline(). */
static int luab_applet_tcp_getline_k(lua_State *L, int status, lua_KContext k)
{
    struct luab_ctx *ctx = luab_applet_tcp_check(L);

    if (luab_applet_read(L, ctx, 1, -1))
        return 1;
    return luab_run_yield(L, LUAB_WAIT_IO, luab_applet_tcp_getline_k, 0);
}

/* applet:getline() */
static int luab_applet_tcp_getline(lua_State *L)
{
    return luab_applet_tcp_getline_k(L, LUA_OK, 0);
}

/* Pushes what has arrived (consumed) or, when nothing has, nil if more
 * may come, else "" (the client closed). */
static int luab_applet_tcp_available(lua_State *L, struct luab_ctx *ctx)
{
    size_t avail = evbuffer_get_length(ctx->s->applet_in);

    if (avail > 0)
        return luab_applet_read(L, ctx, 0, (lua_Integer)avail);
    if (ctx->s->applet_in_eof)
        lua_pushliteral(L, "");
    else
        lua_pushnil(L);
    return 1;
}

/* Continuation and body of applet:receive([size [, timeout]]). With a
 * timeout in ms (HAProxy 3.2's argument), the wait ends then with what
 * has arrived, or nil if nothing has; <k> is the deadline plus one. */
static int luab_applet_tcp_receive_k(lua_State *L, int status, lua_KContext k)
{
    struct luab_ctx *ctx = luab_applet_tcp_check(L);
    lua_Integer size = luaL_optinteger(L, 2, -1);
    lua_Integer tmo = luaL_optinteger(L, 3, -1);
    long long now;

    (void)status;
    if (luab_applet_read(L, ctx, 0, size)) {
        luab_run_defer_cancel(ctx);
        return 1;
    }
    if (tmo < 0)
        return luab_run_yield(L, LUAB_WAIT_IO, luab_applet_tcp_receive_k, 0);
    if (tmo > INT_MAX) /* a timer's range; longer is as good as forever */
        tmo = INT_MAX;
    now = (long long)freq_ctr_now_ms();
    if (k == 0)
        k = (lua_KContext)(now + tmo + 1);
    if (now >= (long long)k - 1) {
        luab_run_defer_cancel(ctx);
        return luab_applet_tcp_available(L, ctx);
    }
    luab_run_defer_ms(ctx, (int)((long long)k - 1 - now));
    return luab_run_yield(L, LUAB_WAIT_IO, luab_applet_tcp_receive_k, k);
}

/* applet:receive([size [, timeout]]) */
static int luab_applet_tcp_receive(lua_State *L)
{
    return luab_applet_tcp_receive_k(L, LUA_OK, 0);
}

/* applet:try_receive() (HAProxy 3.2): what has arrived, without waiting;
 * nil when nothing has yet, "" once the client has closed. */
static int luab_applet_tcp_try_receive(lua_State *L)
{
    return luab_applet_tcp_available(L, luab_applet_tcp_check(L));
}

/* Continuation and body of applet:send(data). */
static int luab_applet_tcp_send_k(lua_State *L, int status, lua_KContext k)
{
    struct luab_ctx *ctx = luab_applet_tcp_check(L);
    size_t len;
    const char *data = luaL_checklstring(L, 2, &len);

    return luab_applet_send(L, ctx, data, len, luab_applet_tcp_send_k);
}

/* applet:send(data) */
static int luab_applet_tcp_send(lua_State *L)
{
    return luab_applet_tcp_send_k(L, LUA_OK, 0);
}

/* applet:get_priv() */
static int luab_applet_tcp_get_priv(lua_State *L)
{
    return luab_priv_get(L, luab_applet_tcp_check(L));
}

/* applet:set_priv(v) */
static int luab_applet_tcp_set_priv(lua_State *L)
{
    return luab_priv_set(L, luab_applet_tcp_check(L));
}

/* applet:set_var(name, value [, ifexist]) */
static int luab_applet_tcp_set_var(lua_State *L)
{
    return luab_vars_set(L, luab_applet_tcp_check(L));
}

/* applet:get_var(name) */
static int luab_applet_tcp_get_var(lua_State *L)
{
    return luab_vars_get(L, luab_applet_tcp_check(L));
}

/* applet:unset_var(name) */
static int luab_applet_tcp_unset_var(lua_State *L)
{
    return luab_vars_unset(L, luab_applet_tcp_check(L));
}

/* Builds the AppletTCP object of <ctx>. */
static void luab_applet_tcp_push(lua_State *L, struct luab_ctx *ctx)
{
    luab_obj_new(L, ctx, LUAB_MT_APPLET_TCP);
    luab_fetches_attach(L, lua_gettop(L), ctx);
}

/* applet_ops.io of TCP services. */
static int luab_applet_tcp_io(struct stream *s, void *arg, void **ctx)
{
    return luab_applet_io(s, arg, ctx, luab_applet_tcp_push, "applet tcp");
}

const struct applet_ops luab_applet_tcp_ops = {
    .kind = APPLET_TCP,
    .io = luab_applet_tcp_io,
    .release = luab_applet_release,
};

static const luaL_Reg luab_applet_tcp_methods[] = {
    {"getline", luab_applet_tcp_getline},
    {"receive", luab_applet_tcp_receive},
    {"try_receive", luab_applet_tcp_try_receive},
    {"send", luab_applet_tcp_send},
    {"get_priv", luab_applet_tcp_get_priv},
    {"set_priv", luab_applet_tcp_set_priv},
    {"set_var", luab_applet_tcp_set_var},
    {"get_var", luab_applet_tcp_get_var},
    {"unset_var", luab_applet_tcp_unset_var},
    {NULL, NULL},
};

void luab_applet_tcp_register(lua_State *L)
{
    luab_class_new(L, LUAB_MT_APPLET_TCP, luab_applet_tcp_methods);
}
