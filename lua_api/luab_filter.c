/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* Lua filters (HAProxy 2.5+): core.register_filter(name, Class, fn) in a
 * lua-load file, "filter lua.NAME [args...]" in a proxy, the global
 * "filter" table (CONTINUE, WAIT, ERROR, FLT_CFG_FL_HTX,
 * register_data_filter, unregister_data_filter, wake_time) and the
 * HTTPMessage class.
 *
 * fn(flt, args) runs while the configuration is parsed, in the master,
 * with a copy of Class: the line's configuration object (or the table fn
 * returns). Each HTTP stream gets an instance
 * from conf:new() (nil: not on this stream), whose callbacks run in
 * HAProxy's order: start_analyze(txn, chn) on the request when the filter
 * is attached, http_headers(txn, msg) once a head is complete (after
 * start_analyze on the response), http_payload(txn, msg) on the body of a
 * channel given to register_data_filter (it returns how many bytes to pass
 * on; none, or a negative count, means all), http_end(txn, msg)
 * at the end of
 * a message, and end_analyze on both channels when the stream ends. The
 * callbacks never yield (they run as fetches do). A Lua error or
 * filter.ERROR fails the message: 400 on the request side, 502 on the
 * response side, as HAProxy answers. Filters of TCP proxies are ignored
 * (core warns), so tcp_payload is never called. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <lauxlib.h>
#include <lua.h>

#include "core/cfg.h"
#include "core/errors.h"
#include "core/filter.h"
#include "core/pool.h"
#include "core/stream.h"
#include "core/util.h"
#include "core/worker.h"
#include "http/http_ana.h"
#include "lua_api/luab.h"

#define LUAB_FLT_KEY     "luab.filters" /* registry: name -> {Class, fn} */
#define LUAB_MT_HTTPMSG  "luab.HTTPMessage"
#define LUAB_MSG_RES_KEY 1 /* object slot: true for the response */
#define LUAB_CHN_RES_KEY 1 /* the same slot of Channel objects */

/* filter.* return codes, HAProxy's values */
#define LUAB_FLT_ERROR    (-1)
#define LUAB_FLT_WAIT     0
#define LUAB_FLT_CONTINUE 1

/* "filter lua.NAME args...": one line of a proxy. */
struct luab_flt_conf {
    struct luab_state *st;
    char *name;  /* without "lua." */
    int obj_ref; /* the configuration object */
};

/* luab_flt.flags, per direction <d> (enum flt_dir) */
#define LUAB_FLT_HEADERS(d) (0x01u << (d)) /* http_headers ran */
#define LUAB_FLT_PAYLOAD(d) (0x04u << (d)) /* http_payload ran */
#define LUAB_FLT_ENDED(d)   (0x10u << (d)) /* http_end ran */
#define LUAB_FLT_NODATA(d)  (0x40u << (d)) /* unregister_data_filter */
#define LUAB_FLT_STARTED    0x100u         /* start_analyze on the response */
#define LUAB_FLT_FAILED     0x200u         /* start_analyze failed */

/* A filter on one stream (filter.ctx, in the stream's pool). */
struct luab_flt {
    const struct luab_flt_conf *conf;
    int inst_ref; /* the instance conf:new() returned */
    unsigned flags;
    int wake_ms; /* filter.wake_time() of the last call, -1: none */
};

/* What a callback is called with. */
enum luab_flt_arg {
    LUAB_FLT_ARG_NONE,    /* new() */
    LUAB_FLT_ARG_CHANNEL, /* (txn, chn) */
    LUAB_FLT_ARG_MESSAGE, /* (txn, http_msg) */
};

/* The callback running: they never yield, so there is one at a time. */
struct luab_flt_call {
    struct luab_ctx *ctx;
    struct stream *s;
    struct filter *f;
    struct luab_flt *lf;
    int self_ref; /* the object whose method runs */
    const char *method;
    enum luab_flt_arg arg;
    enum flt_dir dir;
    int headers;               /* in http_headers: the head may change */
    struct evbuffer *in, *out; /* in http_payload: the payload */
    size_t sent;               /* bytes send() and forward() passed on */
};

static struct luab_flt_call *luab_flt_cur;

/* ---------------------------------------------------------------- */
/* Registration and configuration                                    */
/* ---------------------------------------------------------------- */

/* Pushes the registry's table of filters, creating it. */
static void luab_flt_table(lua_State *L)
{
    if (lua_getfield(L, LUA_REGISTRYINDEX, LUAB_FLT_KEY) == LUA_TTABLE)
        return;
    lua_pop(L, 1);
    lua_newtable(L);
    lua_pushvalue(L, -1);
    lua_setfield(L, LUA_REGISTRYINDEX, LUAB_FLT_KEY);
}

/* core.register_filter(name, Class, fn) */
static int luab_core_register_filter(lua_State *L)
{
    luaL_checkstring(L, 1);
    luab_check_ctx(L, LUAB_CTX_BODY, "register_filter");
    luaL_checktype(L, 2, LUA_TTABLE);
    luaL_checktype(L, 3, LUA_TFUNCTION);
    luab_flt_table(L);
    lua_createtable(L, 2, 0);
    lua_pushvalue(L, 2);
    lua_rawseti(L, -2, 1);
    lua_pushvalue(L, 3);
    lua_rawseti(L, -2, 2);
    lua_setfield(L, -2, lua_tostring(L, 1));
    return 0;
}

/* Pushes a copy of the table at <idx>: its fields and its metatable. */
static void luab_flt_copy(lua_State *L, int idx)
{
    idx = lua_absindex(L, idx);
    lua_newtable(L);
    lua_pushnil(L);
    while (lua_next(L, idx) != 0) {
        lua_pushvalue(L, -2);
        lua_insert(L, -2);
        lua_rawset(L, -4);
    }
    if (lua_getmetatable(L, idx))
        lua_setmetatable(L, -2);
}

/* Calls fn(copy of Class, {args}) of the filter <name> registered on <L>;
 * leaves the configuration object on the stack: the table fn returned,
 * else the copy (HAProxy 2.6 keeps the copy whatever fn returns, so
 * scripts written for it may return nothing). RC_OK, or RC_ERR with
 * *err. */
static int luab_flt_configure(lua_State *L, const char *name, int argc,
                              char **args, char **err)
{
    int i;

    luab_flt_table(L);
    if (lua_getfield(L, -1, name) != LUA_TTABLE) {
        lua_pop(L, 2);
        return set_err(err,
                       "Lua filter '%s' not found (is it registered by a "
                       "lua-load above?)",
                       name);
    }
    lua_remove(L, -2);
    lua_rawgeti(L, -1, 2); /* fn */
    lua_rawgeti(L, -2, 1); /* Class */
    luab_flt_copy(L, -1);
    lua_remove(L, -2);
    lua_pushvalue(L, -1);
    lua_insert(L, -4); /* copy, entry, fn, copy */
    lua_createtable(L, argc, 0);
    for (i = 0; i < argc; i++) {
        lua_pushstring(L, args[i]);
        lua_rawseti(L, -2, i + 1);
    }
    if (luab_pcall_results(L, 2, 1) != RC_OK) {
        set_err(err, "Lua filter '%s': %s", name, lua_tostring(L, -1));
        lua_pop(L, 3);
        return RC_ERR;
    }
    if (lua_istable(L, -1))
        lua_replace(L, -3); /* result, entry */
    else
        lua_pop(L, 1); /* copy, entry */
    lua_pop(L, 1);
    return RC_OK;
}

/* "filter lua.NAME [args...]" (the type's parse hook). */
static int luab_flt_parse(struct cfg_ctx *cctx, int argc, char **args,
                          void **conf, char **err)
{
    struct luab_state *st = luab_state_peek(cctx->cfg);
    struct luab_flt_conf *c;
    lua_State *L;

    if (st == NULL)
        return set_err(err, "Lua filter '%s' not found (no lua-load above)",
                       args[0] + 4);
    L = st->L;
    if (luab_flt_configure(L, args[0] + 4, argc - 1, args + 1, err) != RC_OK)
        return RC_ERR;
    c = xcalloc(1, sizeof(*c));
    c->st = st;
    c->name = xstrdup(args[0] + 4);
    c->obj_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    *conf = c;
    return RC_OK;
}

/* The configuration dies with its generation, and its Lua state with it:
 * the reference goes with the state. */
static void luab_flt_conf_free(void *p)
{
    struct luab_flt_conf *c = p;

    if (c == NULL)
        return;
    free(c->name);
    free(c);
}

/* ---------------------------------------------------------------- */
/* Calls                                                             */
/* ---------------------------------------------------------------- */

/* A callback the class does not define. */
static int luab_flt_absent(lua_State *L)
{
    (void)L;
    return 0;
}

/* Pushes an HTTPMessage for direction <dir> whose channel is at <chn>. */
static void luab_flt_msg_push(lua_State *L, struct luab_ctx *ctx,
                              enum flt_dir dir, int chn)
{
    chn = lua_absindex(L, chn);
    luab_obj_new(L, ctx, LUAB_MT_HTTPMSG);
    lua_pushboolean(L, dir == FLT_DIR_RES);
    lua_rawseti(L, -2, LUAB_MSG_RES_KEY);
    lua_pushvalue(L, chn);
    lua_setfield(L, -2, "channel");
}

/* Pushes self.method, self and the arguments of the call (protected). */
static void luab_flt_push(lua_State *L, void *arg)
{
    const struct luab_flt_call *c = arg;

    luaL_checkstack(L, 6, NULL);
    lua_rawgeti(L, LUA_REGISTRYINDEX, c->self_ref);
    if (lua_getfield(L, -1, c->method) != LUA_TFUNCTION) {
        lua_pop(L, 1);
        lua_pushcfunction(L, luab_flt_absent);
    }
    lua_insert(L, -2);
    if (c->arg == LUAB_FLT_ARG_NONE)
        return;
    luab_txn_push(L, c->ctx);
    lua_getfield(L, -1, c->dir == FLT_DIR_RES ? "res" : "req");
    if (c->arg == LUAB_FLT_ARG_CHANNEL)
        return;
    luab_flt_msg_push(L, c->ctx, c->dir, -1);
    lua_remove(L, -2);
}

/* Runs <c>: RC_OK with its first result on top of c->ctx->co (nil if
 * none), or RC_ERR (logged). The caller pops the result. */
static int luab_flt_run(struct luab_flt_call *c)
{
    struct luab_flt_call *prev = luab_flt_cur;
    lua_State *co;
    int rc;

    c->ctx = luab_stream_run_ctx(c->s, c->lf->conf->st, LUAB_CTX_FETCH,
                                 "filter", c->lf->conf->name, NULL);
    if (c->ctx == NULL)
        return RC_ERR;
    c->lf->wake_ms = -1;
    luab_flt_cur = c;
    rc = luab_run_call(c->ctx, luab_flt_push, c);
    luab_flt_cur = prev;
    co = c->ctx->co;
    if (rc != RC_OK) {
        if (lua_status(co) == LUA_OK)
            lua_settop(co, 0);
        return RC_ERR;
    }
    if (c->ctx->nres == 0)
        lua_pushnil(co);
    else
        lua_settop(co, lua_gettop(co) - c->ctx->nres + 1);
    return RC_OK;
}

/* Calls a callback answering filter.* codes: RC_OK (CONTINUE or no
 * code), RC_AGAIN (WAIT: the stream is woken after filter.wake_time(),
 * else by its next event), or RC_ERR. */
static int luab_flt_callback(struct luab_flt_call *c)
{
    lua_Integer code = LUAB_FLT_CONTINUE;
    lua_State *co;

    if (luab_flt_run(c) != RC_OK)
        return RC_ERR;
    co = c->ctx->co;
    if (lua_isinteger(co, -1))
        code = lua_tointeger(co, -1);
    lua_settop(co, 0);
    if (code != LUAB_FLT_WAIT)
        luab_run_defer_cancel(c->ctx); /* a former WAIT's timer */
    if (code == LUAB_FLT_ERROR)
        return RC_ERR;
    if (code != LUAB_FLT_WAIT)
        return RC_OK;
    if (c->lf->wake_ms >= 0)
        luab_run_defer_ms(c->ctx, c->lf->wake_ms);
    return RC_AGAIN;
}

/* Sets up a call of <method> of <f>'s instance on <s>. */
static void luab_flt_call_init(struct luab_flt_call *c, struct stream *s,
                               struct filter *f, const char *method,
                               enum luab_flt_arg arg, enum flt_dir dir)
{
    memset(c, 0, sizeof(*c));
    c->s = s;
    c->f = f;
    c->lf = f->ctx;
    c->self_ref = c->lf->inst_ref;
    c->method = method;
    c->arg = arg;
    c->dir = dir;
}

/* Calls <method>(txn, chn) or (txn, msg) of <f>'s instance. */
static int luab_flt_simple(struct stream *s, struct filter *f,
                           const char *method, enum luab_flt_arg arg,
                           enum flt_dir dir)
{
    struct luab_flt_call c;

    luab_flt_call_init(&c, s, f, method, arg, dir);
    return luab_flt_callback(&c);
}

/* Calls http_payload on the bytes of <in>, then passes on to <out> what
 * it returned (a byte count) or, when it returned none, all of them. */
static int luab_flt_payload(struct stream *s, struct filter *f,
                            enum flt_dir dir, struct evbuffer *in,
                            struct evbuffer *out)
{
    struct luab_flt_call c;
    size_t n = (size_t)-1;
    lua_State *co;

    luab_flt_call_init(&c, s, f, "http_payload", LUAB_FLT_ARG_MESSAGE, dir);
    c.in = in;
    c.out = out;
    c.lf->flags |= LUAB_FLT_PAYLOAD(dir);
    if (luab_flt_run(&c) != RC_OK)
        return RC_ERR;
    co = c.ctx->co;
    /* as HAProxy 2.6: a negative count (filter.ERROR) passes all of it */
    if (lua_isinteger(co, -1) && lua_tointeger(co, -1) >= 0)
        n = (size_t)lua_tointeger(co, -1);
    lua_settop(co, 0);
    if (n > evbuffer_get_length(in))
        n = evbuffer_get_length(in);
    return evbuffer_remove_buffer(in, out, n) < 0 ? RC_ERR : RC_OK;
}

/* ---------------------------------------------------------------- */
/* The filter type "lua."                                            */
/* ---------------------------------------------------------------- */

/* Makes the stream's instance with conf:new() (none when it returns
 * nil), then calls start_analyze on the request. */
static int luab_flt_stream_start(struct stream *s, struct filter *f)
{
    const struct luab_flt_conf *conf = f->fc->conf;
    struct luab_flt_call c;
    struct luab_flt *lf;
    lua_State *co;

    if (conf == NULL || http_txn_get(s) == NULL)
        return RC_OK;
    if ((lf = pcalloc(s->pool, sizeof(*lf))) == NULL)
        return RC_ERR;
    lf->conf = conf;
    f->ctx = lf;
    luab_flt_call_init(&c, s, f, "new", LUAB_FLT_ARG_NONE, FLT_DIR_REQ);
    c.self_ref = conf->obj_ref;
    lf->inst_ref = LUA_NOREF;
    if (luab_flt_run(&c) != RC_OK) {
        /* never bypassed: the request fails at its head */
        lf->flags |= LUAB_FLT_FAILED;
        return RC_OK;
    }
    co = c.ctx->co;
    if (!lua_istable(co, -1)) {
        lua_settop(co, 0);
        f->ctx = NULL;
        return RC_OK;
    }
    lf->inst_ref = luaL_ref(co, LUA_REGISTRYINDEX);
    lua_settop(co, 0);
    if (luab_flt_simple(s, f, "start_analyze", LUAB_FLT_ARG_CHANNEL,
                        FLT_DIR_REQ) == RC_ERR)
        lf->flags |= LUAB_FLT_FAILED;
    return RC_OK;
}

/* The end of a message: http_payload if it never ran on a data filter's
 * channel (HAProxy calls it even for no bytes), then http_end. */
static int luab_flt_msg_end(struct stream *s, struct filter *f,
                            enum flt_dir dir)
{
    struct luab_flt *lf = f->ctx;
    struct evbuffer *none, *sink;
    int rc = RC_OK;

    if ((f->flags & FLT_F_DATA(dir)) && !(lf->flags & LUAB_FLT_NODATA(dir)) &&
        !(lf->flags & LUAB_FLT_PAYLOAD(dir))) {
        /* a message without a body takes none: what is added is lost */
        none = evbuffer_new();
        sink = evbuffer_new();
        rc = none != NULL && sink != NULL
                 ? luab_flt_payload(s, f, dir, none, sink)
                 : RC_ERR;
        if (none != NULL)
            evbuffer_free(none);
        if (sink != NULL)
            evbuffer_free(sink);
    }
    lf->flags |= LUAB_FLT_ENDED(dir);
    if (rc == RC_OK)
        rc = luab_flt_simple(s, f, "http_end", LUAB_FLT_ARG_MESSAGE, dir);
    return rc;
}

static int luab_flt_on_headers(struct stream *s, struct filter *f,
                               enum flt_dir dir)
{
    struct luab_flt *lf = f->ctx;
    struct luab_flt_call c;
    int rc;

    if (lf == NULL)
        return RC_OK;
    if (lf->flags & LUAB_FLT_FAILED)
        return RC_ERR;
    if (dir == FLT_DIR_RES && !(lf->flags & LUAB_FLT_STARTED)) {
        lf->flags |= LUAB_FLT_STARTED;
        if (luab_flt_simple(s, f, "start_analyze", LUAB_FLT_ARG_CHANNEL, dir) ==
            RC_ERR)
            return RC_ERR;
    }
    if (!(lf->flags & LUAB_FLT_HEADERS(dir))) { /* once, even when the
                                                 * http_end below waits */
        luab_flt_call_init(&c, s, f, "http_headers", LUAB_FLT_ARG_MESSAGE, dir);
        c.headers = 1;
        rc = luab_flt_callback(&c);
        if (rc != RC_OK)
            return rc;
        lf->flags |= LUAB_FLT_HEADERS(dir);
    }
    if (http_txn_has_body(http_txn_get(s), dir == FLT_DIR_RES))
        return RC_OK;
    return luab_flt_msg_end(s, f, dir);
}

static int luab_flt_on_data(struct stream *s, struct filter *f,
                            enum flt_dir dir, struct evbuffer *in,
                            struct evbuffer *out)
{
    struct luab_flt *lf = f->ctx;

    if (lf == NULL || lf->inst_ref == LUA_NOREF ||
        (lf->flags & LUAB_FLT_NODATA(dir)))
        return evbuffer_add_buffer(out, in) == 0 ? RC_OK : RC_ERR;
    return luab_flt_payload(s, f, dir, in, out);
}

static int luab_flt_on_end(struct stream *s, struct filter *f, enum flt_dir dir,
                           struct evbuffer *out)
{
    const struct luab_flt *lf = f->ctx;

    (void)out;
    if (lf == NULL || lf->inst_ref == LUA_NOREF)
        return RC_OK;
    return luab_flt_msg_end(s, f, dir);
}

/* The stream ends: http_end of a message whose head the filter saw, if
 * not called yet, then end_analyze on both channels, as HAProxy does. */
static void luab_flt_stream_end(struct stream *s, struct filter *f)
{
    struct luab_flt *lf = f->ctx;
    int dir;

    if (lf == NULL || lf->inst_ref == LUA_NOREF)
        return;
    for (dir = FLT_DIR_REQ; dir <= FLT_DIR_RES; dir++)
        if ((lf->flags & LUAB_FLT_HEADERS(dir)) &&
            !(lf->flags & LUAB_FLT_ENDED(dir))) {
            lf->flags |= LUAB_FLT_ENDED(dir);
            luab_flt_simple(s, f, "http_end", LUAB_FLT_ARG_MESSAGE, dir);
        }
    for (dir = FLT_DIR_REQ; dir <= FLT_DIR_RES; dir++)
        luab_flt_simple(s, f, "end_analyze", LUAB_FLT_ARG_CHANNEL, dir);
    luaL_unref(lf->conf->st->L, LUA_REGISTRYINDEX, lf->inst_ref);
    f->ctx = NULL;
}

static const struct filter_ops luab_flt_ops = {
    .name = "lua.",
    .parse = luab_flt_parse,
    .conf_free = luab_flt_conf_free,
    .stream_start = luab_flt_stream_start,
    .stream_end = luab_flt_stream_end,
    .on_headers = luab_flt_on_headers,
    .on_data = luab_flt_on_data,
    .on_end = luab_flt_on_end,
};

/* ---------------------------------------------------------------- */
/* The "filter" table                                                */
/* ---------------------------------------------------------------- */

/* The running callback, or a Lua error for <fname>. */
static struct luab_flt_call *luab_flt_current(lua_State *L, const char *fname)
{
    if (luab_flt_cur == NULL)
        luaL_error(L, "'%s' is only available in a filter callback", fname);
    return luab_flt_cur;
}

/* filter.register_data_filter(self, chn) and unregister_data_filter. */
static int luab_flt_data(lua_State *L, int on, const char *fname)
{
    struct luab_flt_call *c = luab_flt_current(L, fname);
    enum flt_dir dir;

    luaL_checktype(L, 2, LUA_TTABLE);
    lua_rawgeti(L, 2, LUAB_CHN_RES_KEY);
    dir = lua_toboolean(L, -1) ? FLT_DIR_RES : FLT_DIR_REQ;
    if (on) {
        c->lf->flags &= ~LUAB_FLT_NODATA(dir);
        filter_want_data(c->s, c->f, dir);
    } else {
        c->lf->flags |= LUAB_FLT_NODATA(dir);
    }
    return 0;
}

static int luab_flt_register_data(lua_State *L)
{
    return luab_flt_data(L, 1, "register_data_filter");
}

static int luab_flt_unregister_data(lua_State *L)
{
    return luab_flt_data(L, 0, "unregister_data_filter");
}

/* filter.wake_time(ms): when a WAIT is over at the latest. */
static int luab_flt_wake_time(lua_State *L)
{
    struct luab_flt_call *c = luab_flt_current(L, "wake_time");
    lua_Integer ms = luaL_checkinteger(L, 1);

    c->lf->wake_ms = ms < 0 ? 0 : ms > 0x7fffffff ? 0x7fffffff : (int)ms;
    return 0;
}

/* ---------------------------------------------------------------- */
/* HTTPMessage                                                       */
/* ---------------------------------------------------------------- */

/* The running callback of the message at 1; with <head>, one that may
 * change the head (http_headers). */
static struct luab_flt_call *luab_msg_check(lua_State *L, const char *fname,
                                            int head)
{
    struct luab_ctx *ctx = luab_obj_check(L, 1, LUAB_MT_HTTPMSG);
    struct luab_flt_call *c = luab_flt_cur;
    enum flt_dir dir;

    lua_rawgeti(L, 1, LUAB_MSG_RES_KEY);
    dir = lua_toboolean(L, -1) ? FLT_DIR_RES : FLT_DIR_REQ;
    lua_pop(L, 1);
    if (c == NULL || c->s != ctx->s || c->dir != dir)
        luaL_error(L,
                   "'%s': the message is only reachable from its filter "
                   "callback",
                   fname);
    if (head && !c->headers)
        luaL_error(L, "'%s': the head of the message is already gone", fname);
    return c;
}

/* A head operation of the HTTP class on the message at 1. */
static int luab_msg_head(lua_State *L, enum luab_http_op op, int edit,
                         const char *fname)
{
    struct luab_flt_call *c = luab_msg_check(L, fname, edit);

    return luab_http_op(L, http_txn_get(c->s), c->dir == FLT_DIR_RES, op);
}

#define LUAB_MSG_HEAD(fn, op, edit, side)                                      \
    static int luab_msg_##fn(lua_State *L)                                     \
    {                                                                          \
        if ((side) >= 0 && luab_msg_check(L, #fn, edit)->dir != (side))        \
            return luaL_error(L, "'%s' needs the %s", #fn,                     \
                              (side) ? "response" : "request");                \
        return luab_msg_head(L, op, edit, #fn);                                \
    }

LUAB_MSG_HEAD(get_headers, LUAB_HTTP_GET_HEADERS, 0, -1)
LUAB_MSG_HEAD(add_header, LUAB_HTTP_ADD_HEADER, 1, -1)
LUAB_MSG_HEAD(set_header, LUAB_HTTP_SET_HEADER, 1, -1)
LUAB_MSG_HEAD(del_header, LUAB_HTTP_DEL_HEADER, 1, -1)
LUAB_MSG_HEAD(rep_header, LUAB_HTTP_REP_HEADER, 1, -1)
LUAB_MSG_HEAD(rep_value, LUAB_HTTP_REP_VALUE, 1, -1)
LUAB_MSG_HEAD(set_method, LUAB_HTTP_SET_METHOD, 1, FLT_DIR_REQ)
LUAB_MSG_HEAD(set_uri, LUAB_HTTP_SET_URI, 1, FLT_DIR_REQ)
LUAB_MSG_HEAD(set_path, LUAB_HTTP_SET_PATH, 1, FLT_DIR_REQ)
LUAB_MSG_HEAD(set_query, LUAB_HTTP_SET_QUERY, 1, FLT_DIR_REQ)
LUAB_MSG_HEAD(set_status, LUAB_HTTP_SET_STATUS, 1, FLT_DIR_RES)

/* msg:get_stline() */
static int luab_msg_get_stline(lua_State *L)
{
    struct luab_flt_call *c = luab_msg_check(L, "get_stline", 0);
    const struct http_txn *txn = http_txn_get(c->s);
    const struct http_msg *m = c->dir == FLT_DIR_RES ? &txn->res : &txn->req;

    lua_createtable(L, 0, 3);
    if (c->dir == FLT_DIR_REQ) {
        lua_pushlstring(L, m->meth.ptr, m->meth.len);
        lua_setfield(L, -2, "method");
        lua_pushlstring(L, m->uri.ptr, m->uri.len);
        lua_setfield(L, -2, "uri");
    } else {
        lua_pushfstring(L, "%d", m->status);
        lua_setfield(L, -2, "code");
        lua_pushlstring(L, m->reason.ptr, m->reason.len);
        lua_setfield(L, -2, "reason");
    }
    lua_pushlstring(L, m->ver.ptr, m->ver.len);
    lua_setfield(L, -2, "version");
    return 1;
}

/* msg:is_resp() */
static int luab_msg_is_resp(lua_State *L)
{
    lua_pushboolean(L, luab_msg_check(L, "is_resp", 0)->dir == FLT_DIR_RES);
    return 1;
}

/* 1 once the message has been read whole. */
static int luab_msg_ended(const struct luab_flt_call *c)
{
    const struct http_txn *txn = http_txn_get(c->s);
    int res = c->dir == FLT_DIR_RES;

    return !http_txn_has_body(txn, res) || http_txn_body_read(txn, res);
}

/* msg:eom() */
static int luab_msg_eom(lua_State *L)
{
    lua_pushboolean(L, luab_msg_ended(luab_msg_check(L, "eom", 0)));
    return 1;
}

/* msg:may_recv() */
static int luab_msg_may_recv(lua_State *L)
{
    lua_pushboolean(L, !luab_msg_ended(luab_msg_check(L, "may_recv", 0)));
    return 1;
}

/* The payload of the running http_payload, or a Lua error. */
static struct luab_flt_call *luab_msg_payload(lua_State *L, const char *fname)
{
    struct luab_flt_call *c = luab_msg_check(L, fname, 0);

    if (c->in == NULL)
        luaL_error(L,
                   "'%s': the payload is only reachable from "
                   "http_payload",
                   fname);
    return c;
}

/* msg:input(): bytes this filter has not passed on yet. */
static int luab_msg_input(lua_State *L)
{
    struct luab_flt_call *c = luab_flt_cur;

    luab_msg_check(L, "input", 0);
    lua_pushinteger(L, c->in ? (lua_Integer)evbuffer_get_length(c->in) : 0);
    return 1;
}

/* msg:output(): bytes this call passed on. */
static int luab_msg_output(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)luab_msg_check(L, "output", 0)->sent);
    return 1;
}

/* msg:is_full() */
static int luab_msg_is_full(lua_State *L)
{
    struct luab_flt_call *c = luab_msg_check(L, "is_full", 0);
    size_t full = (size_t)worker_cfg()->global.bufsize;

    if (full > HTTP_FWD_WINDOW) /* where the engine stops reading */
        full = HTTP_FWD_WINDOW;
    lua_pushboolean(L, c->in != NULL && evbuffer_get_length(c->in) >= full);
    return 1;
}

/* Reads the range [off, off+len) of the input from the arguments at
 * <idx> and <idx>+1 as HAProxy does: a negative offset counts from the
 * end, no length (or -1) means up to the end. */
static void luab_msg_range(lua_State *L, size_t avail, int idx, size_t *off,
                           size_t *len)
{
    lua_Integer o = luaL_optinteger(L, idx, 0), l;

    if (o < 0)
        o = (lua_Integer)avail + o < 0 ? 0 : (lua_Integer)avail + o;
    if ((size_t)o > avail)
        o = (lua_Integer)avail;
    l = luaL_optinteger(L, idx + 1, -1);
    if (l < 0 || (size_t)l > avail - (size_t)o)
        l = (lua_Integer)(avail - (size_t)o);
    *off = (size_t)o;
    *len = (size_t)l;
}

/* msg:body([off [, len]]) */
static int luab_msg_body(lua_State *L)
{
    struct luab_flt_call *c = luab_msg_payload(L, "body");
    size_t avail = evbuffer_get_length(c->in), off, len;
    char *p;

    if (avail == 0 && luab_msg_ended(c)) {
        lua_pushnil(L);
        return 1;
    }
    luab_msg_range(L, avail, 2, &off, &len);
    p = (char *)evbuffer_pullup(c->in, -1);
    lua_pushlstring(L, p != NULL ? p + off : "", len);
    return 1;
}

/* Replaces [off, off+len) of the input with <str>. */
static int luab_msg_splice(struct luab_flt_call *c, size_t off, size_t len,
                           const char *str, size_t n)
{
    struct evbuffer *tmp = evbuffer_new();
    int rc = RC_ERR;

    if (tmp == NULL)
        return RC_ERR;
    if (evbuffer_remove_buffer(c->in, tmp, off) == (int)off &&
        evbuffer_add(tmp, str, n) == 0 && evbuffer_drain(c->in, len) == 0 &&
        evbuffer_add_buffer(tmp, c->in) == 0 &&
        evbuffer_add_buffer(c->in, tmp) == 0)
        rc = RC_OK;
    evbuffer_free(tmp);
    return rc;
}

/* Shared body of set, insert, append, prepend and remove: replaces the
 * range at <idx> (or the point <at>, when not NULL) with <str>. Pushes
 * the bytes copied (removed, for remove) or -1. */
static int luab_msg_edit(lua_State *L, const char *fname, const char *str,
                         size_t n, int idx, const size_t *at)
{
    struct luab_flt_call *c = luab_msg_payload(L, fname);
    size_t avail = evbuffer_get_length(c->in), off, len = 0;

    if (at != NULL)
        off = *at > avail ? avail : *at;
    else
        luab_msg_range(L, avail, idx, &off, &len);
    if (luab_msg_splice(c, off, len, str, n) != RC_OK) {
        lua_pushinteger(L, -1);
        return 1;
    }
    lua_pushinteger(L, (lua_Integer)(str != NULL ? n : len));
    return 1;
}

/* msg:set(str [, off [, len]]) */
static int luab_msg_set(lua_State *L)
{
    size_t n;
    const char *str = luaL_checklstring(L, 2, &n);

    return luab_msg_edit(L, "set", str, n, 3, NULL);
}

/* msg:remove([off [, len]]) */
static int luab_msg_remove(lua_State *L)
{
    return luab_msg_edit(L, "remove", NULL, 0, 2, NULL);
}

/* msg:insert(str [, off]): a negative offset counts from the end. */
static int luab_msg_insert(lua_State *L)
{
    struct luab_flt_call *c = luab_msg_payload(L, "insert");
    size_t n, avail = evbuffer_get_length(c->in), at;
    const char *str = luaL_checklstring(L, 2, &n);
    lua_Integer o = luaL_optinteger(L, 3, 0);

    /* as HAProxy, -1 is the end of the input */
    at = o >= 0 ? (size_t)o
         : (lua_Integer)avail + o + 1 < 0
             ? 0
             : (size_t)((lua_Integer)avail + o + 1);
    return luab_msg_edit(L, "insert", str, n, 0, &at);
}

/* msg:append(str) */
static int luab_msg_append(lua_State *L)
{
    struct luab_flt_call *c = luab_msg_payload(L, "append");
    size_t n, at = evbuffer_get_length(c->in);
    const char *str = luaL_checklstring(L, 2, &n);

    return luab_msg_edit(L, "append", str, n, 0, &at);
}

/* msg:prepend(str) */
static int luab_msg_prepend(lua_State *L)
{
    size_t n, at = 0;
    const char *str = luaL_checklstring(L, 2, &n);

    return luab_msg_edit(L, "prepend", str, n, 0, &at);
}

/* msg:forward(n): passes on up to <n> bytes of the input. */
static int luab_msg_forward(lua_State *L)
{
    struct luab_flt_call *c = luab_msg_payload(L, "forward");
    lua_Integer want = luaL_checkinteger(L, 2);
    size_t n = evbuffer_get_length(c->in);

    if (want < 0)
        want = 0;
    if ((size_t)want < n)
        n = (size_t)want;
    if (evbuffer_remove_buffer(c->in, c->out, n) != (int)n)
        return luaL_error(L, "out of memory");
    c->sent += n;
    lua_pushinteger(L, (lua_Integer)n);
    return 1;
}

/* msg:send(str): passes <str> on at once, before the input. */
static int luab_msg_send(lua_State *L)
{
    struct luab_flt_call *c = luab_msg_payload(L, "send");
    size_t n;
    const char *str = luaL_checklstring(L, 2, &n);

    if (evbuffer_add(c->out, str, n) != 0) {
        lua_pushinteger(L, -1);
        return 1;
    }
    c->sent += n;
    lua_pushinteger(L, (lua_Integer)n);
    return 1;
}

static const luaL_Reg luab_msg_methods[] = {
    {"get_headers", luab_msg_get_headers},
    {"add_header", luab_msg_add_header},
    {"set_header", luab_msg_set_header},
    {"del_header", luab_msg_del_header},
    {"rep_header", luab_msg_rep_header},
    {"rep_value", luab_msg_rep_value},
    {"set_method", luab_msg_set_method},
    {"set_uri", luab_msg_set_uri},
    {"set_path", luab_msg_set_path},
    {"set_query", luab_msg_set_query},
    {"set_status", luab_msg_set_status},
    {"get_stline", luab_msg_get_stline},
    {"is_resp", luab_msg_is_resp},
    {"eom", luab_msg_eom},
    {"may_recv", luab_msg_may_recv},
    {"input", luab_msg_input},
    {"output", luab_msg_output},
    {"is_full", luab_msg_is_full},
    {"body", luab_msg_body},
    {"set", luab_msg_set},
    {"remove", luab_msg_remove},
    {"insert", luab_msg_insert},
    {"append", luab_msg_append},
    {"prepend", luab_msg_prepend},
    {"forward", luab_msg_forward},
    {"send", luab_msg_send},
    {NULL, NULL},
};

void luab_filter_register(lua_State *L)
{
    static const luaL_Reg helpers[] = {
        {"register_data_filter", luab_flt_register_data},
        {"unregister_data_filter", luab_flt_unregister_data},
        {"wake_time", luab_flt_wake_time},
        {NULL, NULL},
    };

    luab_class_new(L, LUAB_MT_HTTPMSG, luab_msg_methods);
    lua_getglobal(L, "core");
    lua_pushcfunction(L, luab_core_register_filter);
    lua_setfield(L, -2, "register_filter");
    lua_pop(L, 1);
    luaL_newlib(L, helpers);
    lua_pushinteger(L, LUAB_FLT_CONTINUE);
    lua_setfield(L, -2, "CONTINUE");
    lua_pushinteger(L, LUAB_FLT_WAIT);
    lua_setfield(L, -2, "WAIT");
    lua_pushinteger(L, LUAB_FLT_ERROR);
    lua_setfield(L, -2, "ERROR");
    lua_pushinteger(L, 1);
    lua_setfield(L, -2, "FLT_CFG_FL_HTX");
    lua_setglobal(L, "filter");
}

void luab_filter_init(void)
{
    filter_register(&luab_flt_ops);
}
