/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* The Lua module: one lua_State per configuration generation, the global
 * keywords (lua-load, lua-prepend-path, tune.lua.*), the registry of the
 * functions scripts register, and the glue that plugs them into core's
 * registries: "lua.NAME" actions, services, sample fetches and converters,
 * init functions (post_parse, before fork) and tasks (worker_init, after
 * fork). It also holds the helpers every class file shares: context
 * checks, the table-with-[0] object shape, and the per-stream coroutine. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "core/action.h"
#include "core/cfg.h"
#include "core/cfgparse.h"
#include "core/cfgval.h"
#include "core/errors.h"
#include "core/log.h"
#include "core/pool.h"
#include "core/proxy.h"
#include "core/sample.h"
#include "core/service.h"
#include "core/stream.h"
#include "core/util.h"
#include "core/worker.h"
#include "lua_api/luab.h"

#define LUAB_MT_HANDLE "luab.Handle"
#define LUAB_FN_ARGS   "S?,S?,S?,S?,S?"

/* Configuration-time arguments of a "lua.NAME" action. */
struct luab_action_arg {
    struct luab_fn *fn;
    int nargs;
    char **args;
};

/* A running task: its coroutine context, its pool and its wake event. */
struct luab_task {
    struct luab_ctx ctx;
    struct pool *pool;
    struct event *ev;
    int nargs;
    int started;
};

static int luab_init(void);
static int luab_post_parse(struct cfg *cfg);
static int luab_worker_init(struct cfg *cfg);
static void luab_cfg_free(struct cfg *cfg);

/* Registry key of the state's struct luab_state. */
static char luab_state_key;
/* The stream slot holding the per-stream context. */
static int luab_slot = -1;
/* The state being configured: "lua.NAME" fetches and converters are
 * resolved in it (the resolvers get no configuration). */
static struct luab_state *luab_parsing;

/* ------------------------------------------------------------------ */
/* States                                                               */
/* ------------------------------------------------------------------ */

/* Lua's allocator with tune.lua.maxmem accounting. */
static void *luab_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    struct luab_state *st = ud;
    size_t old = ptr ? osize : 0;
    void *p;

    if (nsize == 0) {
        free(ptr);
        st->mem_used -= old;
        return NULL;
    }
    if (st->maxmem > 0 && nsize > old &&
        st->mem_used + (nsize - old) > st->maxmem)
        return NULL;
    p = realloc(ptr, nsize);
    if (p == NULL)
        return NULL;
    st->mem_used = st->mem_used - old + nsize;
    return p;
}

/* Logs what escaped every protected call; Lua then aborts. */
static int luab_panic(lua_State *L)
{
    log_alert("Lua: unprotected error: %s", lua_tostring(L, -1));
    return 0;
}

/* Protected part of the state's creation: libraries and classes. */
static int luab_state_open(lua_State *L)
{
    luaL_openlibs(L);
    luaL_newmetatable(L, LUAB_MT_HANDLE);
    lua_pop(L, 1);
    luab_core_register(L);
    luab_txn_register(L);
    luab_fetches_register(L);
    luab_http_register(L);
    luab_socket_register(L);
    luab_httpclient_register(L);
    luab_applet_http_register(L);
    luab_applet_tcp_register(L);
    luab_run_coroutine_register(L);
    luab_util_register(L);
    luab_map_register(L);
    luab_regex_register(L);
    luab_proxy_register(L);
    luab_channel_register(L);
    luab_guard_register(L);
    luab_filter_register(L);
    luab_queue_register(L);
    return 0;
}

/* The state of <cfg>, or NULL if no Lua keyword was seen. */
struct luab_state *luab_state_peek(struct cfg *cfg)
{
    return *cfg_module_data(cfg, &luab_module);
}

/* The state of <cfg>, created with HAProxy's defaults on first use. */
static struct luab_state *luab_state_get(struct cfg *cfg, char **err)
{
    void **slot = cfg_module_data(cfg, &luab_module);
    struct luab_state *st = *slot;

    if (st != NULL)
        return st;
    st = xcalloc(1, sizeof(*st));
    st->cfg = cfg;
    st->phase = LUAB_CTX_BODY;
    st->forced_yield = 10000;
    st->session_timeout = 4000;
    st->service_timeout = 4000;
    st->burst_timeout = 1000;
    st->log_loggers = 1;
    st->log_stderr = LUAB_LOG_STDERR_AUTO;
    st->ptfiles_tail = &st->ptfiles;
    st->L = lua_newstate(luab_alloc, st);
    if (st->L == NULL) {
        free(st);
        set_err(err, "cannot create the Lua state");
        return NULL;
    }
    lua_atpanic(st->L, luab_panic);
    lua_pushlightuserdata(st->L, st);
    lua_rawsetp(st->L, LUA_REGISTRYINDEX, &luab_state_key);
    lua_pushcfunction(st->L, luab_state_open);
    if (lua_pcall(st->L, 0, 0, 0) != LUA_OK) {
        set_err(err, "cannot initialise Lua: %s", lua_tostring(st->L, -1));
        lua_close(st->L);
        free(st);
        return NULL;
    }
    *slot = st;
    luab_parsing = st;
    return st;
}

struct luab_state *luab_state_of(lua_State *L)
{
    struct luab_state *st;

    lua_rawgetp(L, LUA_REGISTRYINDEX, &luab_state_key);
    st = lua_touserdata(L, -1);
    lua_pop(L, 1);
    return st;
}

/* Message handler of body and init calls: adds the traceback. */
static int luab_msgh(lua_State *L)
{
    const char *msg = lua_tostring(L, 1);

    if (luab_run_is_exit(L, 1))
        return 1;
    luaL_traceback(L, L, msg ? msg : luaL_typename(L, 1), 1);
    /* one log line: "msg from frame, frame" */
    luaL_gsub(L, lua_tostring(L, -1), "\nstack traceback:\n\t", " from ");
    luaL_gsub(L, lua_tostring(L, -1), "\n\t", ", ");
    return 1;
}

int luab_pcall_results(lua_State *L, int nargs, int nres)
{
    int base = lua_gettop(L) - nargs;
    int rc, i;

    lua_pushcfunction(L, luab_msgh);
    lua_insert(L, base);
    rc = lua_pcall(L, nargs, nres, base);
    lua_remove(L, base);
    if (rc == LUA_OK)
        return RC_OK;
    if (!luab_run_is_exit(L, -1))
        return RC_ERR;
    lua_pop(L, 1);
    for (i = 0; i < nres; i++)
        lua_pushnil(L);
    return RC_OK;
}

/* The same, without results. */
static int luab_pcall(lua_State *L, int nargs)
{
    return luab_pcall_results(L, nargs, 0);
}

/* ------------------------------------------------------------------ */
/* Registered functions                                                 */
/* ------------------------------------------------------------------ */

struct luab_fn *luab_fn_find(struct luab_state *st, enum luab_fn_kind kind,
                             const char *name)
{
    struct luab_fn *fn;

    for (fn = st->fns; fn != NULL; fn = fn->next)
        if (fn->kind == kind && strcmp(fn->name, name) == 0)
            return fn;
    return NULL;
}

static int luab_fetch_call(const struct arg *args, struct sample *smp,
                           const struct smp_env *env, const void *priv);
static int luab_conv_call(const struct arg *args, struct sample *smp,
                          const struct smp_env *env, const void *priv);

struct luab_fn *luab_fn_add(lua_State *L, enum luab_fn_kind kind,
                            const char *name, int fn_idx)
{
    struct luab_state *st = luab_state_of(L);
    struct luab_fn *fn = luab_fn_find(st, kind, name);
    int ref;

    lua_pushvalue(L, fn_idx);
    ref = luaL_ref(L, LUA_REGISTRYINDEX);
    if (fn != NULL) {
        if (!st->loading_pt || worker_id() == 0)
            log_warning("Lua function '%s' already registered, it will be "
                        "overridden",
                        name);
        luaL_unref(L, LUA_REGISTRYINDEX, fn->ref);
        fn->ref = ref;
        return fn;
    }
    fn = xcalloc(1, sizeof(*fn));
    fn->st = st;
    fn->kind = kind;
    fn->ref = ref;
    fn->name = xstrdup(name);
    fn->kwname = xasprintf("lua.%s", name);
    fn->fetch_kw.name = fn->kwname;
    fn->fetch_kw.fn = luab_fetch_call;
    fn->fetch_kw.args = LUAB_FN_ARGS;
    fn->fetch_kw.out = SMP_T_STR;
    fn->fetch_kw.use = SMP_AVAIL_CONN;
    fn->fetch_kw.priv = fn;
    fn->conv_kw.name = fn->kwname;
    fn->conv_kw.fn = luab_conv_call;
    fn->conv_kw.args = LUAB_FN_ARGS;
    fn->conv_kw.in = SMP_T_STR;
    fn->conv_kw.out = SMP_T_STR;
    fn->conv_kw.priv = fn;
    fn->next = st->fns;
    st->fns = fn;
    return fn;
}

/* Frees every registered function of <st>. */
static void luab_fns_free(struct luab_state *st)
{
    struct luab_fn *fn, *next;

    for (fn = st->fns; fn != NULL; fn = next) {
        next = fn->next;
        free(fn->name);
        free(fn->kwname);
        free(fn);
    }
    st->fns = NULL;
}

/* ------------------------------------------------------------------ */
/* Helpers shared by the class files                                    */
/* ------------------------------------------------------------------ */

/* HAProxy's name of a context, for messages. */
static const char *luab_ctx_name(unsigned kind)
{
    switch (kind) {
    case LUAB_CTX_BODY:
        return "body";
    case LUAB_CTX_INIT:
        return "init";
    case LUAB_CTX_TASK:
        return "task";
    case LUAB_CTX_ACTION:
        return "action";
    case LUAB_CTX_FETCH:
        return "sample-fetch";
    case LUAB_CTX_CONV:
        return "converter";
    case LUAB_CTX_SERVICE:
        return "service";
    default:
        return "this";
    }
}

unsigned luab_ctx_kind(lua_State *L)
{
    struct luab_ctx *ctx = luab_run_current();

    return ctx ? ctx->kind : luab_state_of(L)->phase;
}

struct luab_ctx *luab_check_ctx(lua_State *L, unsigned allowed,
                                const char *fname)
{
    struct luab_ctx *ctx = luab_run_current();
    unsigned cur = luab_ctx_kind(L);

    if (cur & allowed)
        return ctx;
    if (allowed == LUAB_CTX_BODY)
        luaL_error(L, "'%s' is not available outside of body context", fname);
    luaL_error(L, "'%s' is not available in %s context", fname,
               luab_ctx_name(cur));
    return NULL;
}

/* Pushes the handle of <ctx>, created on first use. */
static void luab_handle_push(lua_State *L, struct luab_ctx *ctx)
{
    struct luab_handle *h;

    if (ctx->handle_ref != LUA_NOREF) {
        lua_rawgeti(L, LUA_REGISTRYINDEX, ctx->handle_ref);
        return;
    }
    h = lua_newuserdata(L, sizeof(*h));
    h->ctx = ctx;
    luaL_setmetatable(L, LUAB_MT_HANDLE);
    lua_pushvalue(L, -1);
    ctx->handle_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    ctx->handle = h;
}

void luab_obj_new(lua_State *L, struct luab_ctx *ctx, const char *mt)
{
    lua_createtable(L, 0, 8);
    luab_handle_push(L, ctx);
    lua_rawseti(L, -2, 0);
    luaL_setmetatable(L, mt);
}

struct luab_ctx *luab_obj_check(lua_State *L, int idx, const char *mt)
{
    struct luab_handle *h = NULL;
    int same = 0;

    if (lua_type(L, idx) == LUA_TTABLE && lua_getmetatable(L, idx)) {
        luaL_getmetatable(L, mt);
        same = lua_rawequal(L, -1, -2);
        lua_pop(L, 2);
    }
    if (same) {
        lua_rawgeti(L, idx, 0);
        h = luaL_testudata(L, -1, LUAB_MT_HANDLE);
        lua_pop(L, 1);
    }
    if (h == NULL) {
        luaL_argerror(L, idx,
                      lua_pushfstring(L, "%s expected, got %s",
                                      strchr(mt, '.') + 1,
                                      luaL_typename(L, idx)));
        return NULL;
    }
    if (h->ctx == NULL)
        luaL_error(L, "%s object used after the end of its stream",
                   strchr(mt, '.') + 1);
    return h->ctx;
}

void luab_class_new(lua_State *L, const char *mt, const luaL_Reg *methods)
{
    luaL_newmetatable(L, mt);
    lua_newtable(L);
    luaL_setfuncs(L, methods, 0);
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);
}

void luab_ctx_env(struct luab_ctx *ctx, struct smp_env *env)
{
    struct stream *s = ctx->s;

    memset(env, 0, sizeof(*env));
    env->strm = s;
    env->pool = s ? s->pool : NULL;
    env->opt = SMP_OPT_FINAL;
    env->avail = SMP_AVAIL_CONN;
    if (s == NULL || ctx->kind == LUAB_CTX_SERVICE)
        return;
    env->avail |= SMP_AVAIL_REQ;
    if (s->cur_rs == RULESET_HTTP_RES || s->cur_rs == RULESET_HTTP_AFTER ||
        s->cur_rs == RULESET_TCP_RES) {
        env->avail |= SMP_AVAIL_RES;
        env->dir = 1;
    }
}

/* ------------------------------------------------------------------ */
/* Per-stream coroutine                                                 */
/* ------------------------------------------------------------------ */

/* Wakes a stream whose Lua code may go on. */
static void luab_stream_wake(struct luab_ctx *ctx)
{
    stream_wake(ctx->s);
}

/* The context shared by every Lua action and fetch of <s>, created on
 * first use in the stream's pool and released by its cleanup. */
static struct luab_ctx *luab_stream_ctx(struct stream *s, struct luab_state *st)
{
    struct luab_ctx *ctx = s->slots[luab_slot];

    if (ctx != NULL)
        return ctx;
    ctx = palloc(s->pool, sizeof(*ctx));
    if (ctx == NULL)
        return NULL;
    luab_run_ctx_init(ctx, st, s, s->pool);
    ctx->wake_fn = luab_stream_wake;
    if (pool_cleanup_add(s->pool, luab_run_ctx_release, ctx) != RC_OK)
        return NULL;
    s->slots[luab_slot] = ctx;
    return ctx;
}

/* ------------------------------------------------------------------ */
/* Actions                                                              */
/* ------------------------------------------------------------------ */

/* Maps an act.* code returned by a script to the rule runner's verdict. */
static enum act_ret luab_act_map(lua_Integer code)
{
    static const enum act_ret map[] = {
        ACT_RET_CONT, ACT_RET_STOP, ACT_RET_YIELD, ACT_RET_ERR,
        ACT_RET_DONE, ACT_RET_DENY, ACT_RET_ABRT,  ACT_RET_INV,
    };

    if (code < 0 || code >= (lua_Integer)(sizeof(map) / sizeof(map[0])))
        return ACT_RET_CONT;
    return map[code];
}

/* Sends the reply txn:done() left, now that its run is over. */
static void luab_action_reply(struct luab_ctx *ctx)
{
    lua_State *L = ctx->st->L;
    int ref = ctx->reply_ref;

    ctx->reply_ref = LUA_NOREF;
    lua_rawgeti(L, LUA_REGISTRYINDEX, ref);
    luab_reply_send(L, lua_gettop(L), ctx->s);
    lua_pop(L, 1);
    luaL_unref(L, LUA_REGISTRYINDEX, ref);
}

/* Turns the outcome of a run into the action's verdict. */
static enum act_ret luab_action_verdict(struct luab_ctx *ctx, int rc)
{
    enum act_ret ret = ACT_RET_CONT;

    if (rc == RC_AGAIN)
        return ACT_RET_YIELD;
    if (rc != RC_OK)
        return ACT_RET_CONT; /* fail open: the next rules run */
    if (ctx->exiting)
        ret = (enum act_ret)ctx->exit_ret;
    else if (ctx->nres > 0 && lua_isinteger(ctx->co, -1))
        ret = luab_act_map(lua_tointeger(ctx->co, -1));
    if (lua_status(ctx->co) == LUA_OK)
        lua_settop(ctx->co, 0);
    if (ret == ACT_RET_YIELD) {
        /* act.YIELD: run the function again from its start later */
        luab_run_defer_ms(ctx, ctx->wake_ms > 0 ? ctx->wake_ms : 0);
    }
    if (ctx->reply_ref != LUA_NOREF)
        luab_action_reply(ctx);
    return ret;
}

/* What an action's run starts with. */
struct luab_action_call {
    struct luab_ctx *ctx;
    const struct luab_action_arg *a;
};

/* Pushes fn(txn, words...) of an action (protected, see luab_run_call). */
static void luab_action_push(lua_State *L, void *arg)
{
    const struct luab_action_call *c = arg;
    int i;

    luaL_checkstack(L, c->a->nargs + 2, NULL);
    lua_rawgeti(L, LUA_REGISTRYINDEX, c->a->fn->ref);
    luab_txn_push(L, c->ctx);
    for (i = 0; i < c->a->nargs; i++)
        lua_pushstring(L, c->a->args[i]);
}

/* Starts the action <a> on the stream context <ctx>. */
static int luab_action_start(struct luab_ctx *ctx, struct luab_action_arg *a,
                             unsigned flags)
{
    struct luab_action_call c = {ctx, a};

    if (luab_run_prepare(ctx, LUAB_CTX_ACTION, !(flags & ACT_FLAG_FINAL)) !=
        RC_OK)
        return RC_ERR;
    ctx->what = "function";
    ctx->name = a->fn->name;
    ctx->stats = &a->fn->stats;
    return luab_run_call(ctx, luab_action_push, &c);
}

/* Runs a "lua.NAME" rule: starts the function, or resumes it once what it
 * waits for has happened (the runner calls again on any wake). */
static enum act_ret luab_action_run(struct rule *r, struct stream *s,
                                    unsigned flags)
{
    struct luab_action_arg *a = r->arg;
    struct luab_ctx *ctx = luab_stream_ctx(s, a->fn->st);
    int waiting;

    if (ctx == NULL || ctx->running)
        return ACT_RET_CONT;
    waiting = !(flags & ACT_FLAG_FIRST) && ctx->kind == LUAB_CTX_ACTION &&
              ctx->co != NULL && lua_status(ctx->co) == LUA_YIELD;
    if (!waiting) /* first call, or act.YIELD asked for a new run */
        return luab_action_verdict(ctx, luab_action_start(ctx, a, flags));
    if ((flags & ACT_FLAG_FINAL) && ctx->wait == LUAB_WAIT_IO) {
        /* the input is complete (client closed, delay over): a channel
         * read answers with what is there, and may not wait again */
        ctx->yieldable = 0;
        return luab_action_verdict(ctx, luab_run_resume(ctx));
    }
    if (flags & ACT_FLAG_FINAL) {
        log_alert("Lua function '%s': aborting Lua processing on expired "
                  "timeout.",
                  a->fn->name);
        luab_run_abort(ctx);
        return ACT_RET_CONT;
    }
    if (!luab_run_ready(ctx))
        return ACT_RET_YIELD;
    return luab_action_verdict(ctx, luab_run_resume(ctx));
}

/* Frees a rule's configuration-time arguments. */
static void luab_action_free(struct rule *r)
{
    struct luab_action_arg *a = r->arg;
    int i;

    if (a == NULL)
        return;
    for (i = 0; i < a->nargs; i++)
        free(a->args[i]);
    free(a->args);
    free(a);
    r->arg = NULL;
}

/* Parses "lua.NAME [args...]": exactly nb_args words follow the name. */
static int luab_action_parse(struct cfg_ctx *cctx, struct rule *r,
                             enum ruleset rs, int *cur, int argc, char **args,
                             char **err)
{
    struct luab_state *st = luab_state_peek(cctx->cfg);
    const char *name = args[*cur] + 4;
    struct luab_fn *fn;
    struct luab_action_arg *a;
    int i;

    fn = st ? luab_fn_find(st, LUAB_FN_ACTION, name) : NULL;
    if (fn == NULL)
        return set_err(err,
                       "Lua action '%s' not found (is it registered "
                       "by a lua-load above?)",
                       name);
    if (!(fn->rulesets & RULESET_BIT(rs)))
        return set_err(err,
                       "Lua action '%s' is not registered for this "
                       "ruleset",
                       name);
    if (argc - *cur - 1 < fn->nb_args)
        return set_err(err, "'%s' expects %d arguments", args[*cur],
                       fn->nb_args);
    a = xcalloc(1, sizeof(*a));
    a->fn = fn;
    a->nargs = fn->nb_args;
    a->args = xcalloc((size_t)a->nargs + 1, sizeof(char *));
    for (i = 0; i < a->nargs; i++)
        a->args[i] = xstrdup(args[*cur + 1 + i]);
    r->arg = a;
    r->run = luab_action_run;
    r->free = luab_action_free;
    *cur += 1 + a->nargs;
    return RC_OK;
}

static const struct action_kw luab_actions[] = {
    {"lua.",
     RULESET_BIT(RULESET_HTTP_REQ) | RULESET_BIT(RULESET_HTTP_RES) |
         RULESET_BIT(RULESET_HTTP_AFTER) | RULESET_BIT(RULESET_TCP_CONT) |
         RULESET_BIT(RULESET_TCP_RES),
     1, luab_action_parse},
    {NULL, 0, 0, NULL},
};

/* ------------------------------------------------------------------ */
/* Services                                                             */
/* ------------------------------------------------------------------ */

/* Resolves "use-service lua.NAME" for an applet of <kind>. */
static int luab_service_resolve(struct cfg_ctx *cctx, const char *name,
                                enum applet_kind kind, struct service_ref *ref,
                                char **err)
{
    struct luab_state *st = luab_state_peek(cctx->cfg);
    struct luab_fn *http, *tcp;

    name += 4;
    http = st ? luab_fn_find(st, LUAB_FN_SERVICE_HTTP, name) : NULL;
    tcp = st ? luab_fn_find(st, LUAB_FN_SERVICE_TCP, name) : NULL;
    if (http == NULL && tcp == NULL)
        return set_err(err, "Lua service '%s' not found", name);
    if (kind == APPLET_HTTP) {
        if (http == NULL)
            return set_err(err,
                           "Lua TCP services cannot be used on HTTP proxies");
        ref->ops = &luab_applet_http_ops;
        ref->arg = http;
        return RC_OK;
    }
    if (tcp == NULL)
        return set_err(err, "Lua HTTP services can only be used from "
                            "'http-request' rules");
    if (cctx->px != NULL && cctx->px->mode == PX_MODE_HTTP)
        return set_err(err, "Lua TCP services cannot be used on HTTP proxies");
    ref->ops = &luab_applet_tcp_ops;
    ref->arg = tcp;
    return RC_OK;
}

static const struct service_kw luab_services[] = {
    {"lua.", luab_service_resolve},
    {NULL, NULL},
};

/* ------------------------------------------------------------------ */
/* Sample fetches and converters                                        */
/* ------------------------------------------------------------------ */

/* Finds the fetch keyword "lua.NAME" of the state being configured. */
static const struct sample_fetch_kw *luab_fetch_resolve(const char *name,
                                                        size_t len)
{
    struct luab_fn *fn;

    for (fn = luab_parsing ? luab_parsing->fns : NULL; fn; fn = fn->next)
        if (fn->kind == LUAB_FN_FETCH && strlen(fn->kwname) == len &&
            memcmp(fn->kwname, name, len) == 0)
            return &fn->fetch_kw;
    return NULL;
}

/* Finds the converter keyword "lua.NAME" of the state being configured. */
static const struct sample_conv_kw *luab_conv_resolve(const char *name,
                                                      size_t len)
{
    struct luab_fn *fn;

    for (fn = luab_parsing ? luab_parsing->fns : NULL; fn; fn = fn->next)
        if (fn->kind == LUAB_FN_CONV && strlen(fn->kwname) == len &&
            memcmp(fn->kwname, name, len) == 0)
            return &fn->conv_kw;
    return NULL;
}

struct luab_ctx *luab_stream_run_ctx(struct stream *s, struct luab_state *st,
                                     unsigned kind, const char *what,
                                     const char *name, struct luab_stats *stats)
{
    struct luab_ctx *ctx = luab_stream_ctx(s, st);

    if (ctx == NULL || ctx->running ||
        (ctx->co != NULL && lua_status(ctx->co) == LUA_YIELD &&
         ctx->kind == LUAB_CTX_ACTION))
        return NULL;
    if (luab_run_prepare(ctx, kind, 0) != RC_OK)
        return NULL;
    ctx->what = what;
    ctx->name = name;
    ctx->stats = stats;
    return ctx;
}

/* Prepares the stream context for a fetch or converter run of <fn>;
 * NULL when Lua cannot run now (no stream, an action is suspended). */
static struct luab_ctx *luab_sample_ctx(const struct luab_fn *fn,
                                        const struct smp_env *env,
                                        unsigned kind)
{
    if (env->strm == NULL)
        return NULL;
    return luab_stream_run_ctx(env->strm, fn->st, kind,
                               kind == LUAB_CTX_FETCH ? "sample-fetch"
                                                      : "converter",
                               fn->name, (struct luab_stats *)&fn->stats);
}

/* What a fetch or converter run starts with. */
struct luab_sample_call {
    struct luab_ctx *ctx;
    const struct luab_fn *fn;
    const struct arg *args;
    const struct sample *in; /* converters: the input; fetches: NULL */
};

/* Pushes fn(txn or input, args...) (protected, see luab_run_call). */
static void luab_sample_push(lua_State *L, void *arg)
{
    const struct luab_sample_call *c = arg;
    int n;

    lua_rawgeti(L, LUA_REGISTRYINDEX, c->fn->ref);
    if (c->in != NULL)
        lua_pushlstring(L, c->in->data.str.ptr, c->in->data.str.len);
    else
        luab_txn_push(L, c->ctx);
    for (n = 0; c->args != NULL && c->args[n].type == ARGT_STR; n++) {
        luaL_checkstack(L, 1, NULL);
        lua_pushlstring(L, c->args[n].data.str.ptr, c->args[n].data.str.len);
    }
}

/* Runs a prepared fetch or converter and stores its result in <smp>. */
static int luab_sample_finish(struct luab_sample_call *c, struct sample *smp,
                              const struct smp_env *env)
{
    struct luab_ctx *ctx = c->ctx;
    int rc = luab_run_call(ctx, luab_sample_push, c), ok = 0;

    if (rc == RC_OK && ctx->nres > 0)
        ok = luab_smp_from_lua(ctx->co, -1, smp, env);
    if (lua_status(ctx->co) == LUA_OK)
        lua_settop(ctx->co, 0);
    return ok;
}

/* A "lua.NAME" fetch: fn(txn, args...). */
static int luab_fetch_call(const struct arg *args, struct sample *smp,
                           const struct smp_env *env, const void *priv)
{
    struct luab_sample_call c = {NULL, priv, args, NULL};

    c.ctx = luab_sample_ctx(priv, env, LUAB_CTX_FETCH);
    if (c.ctx == NULL)
        return 0;
    return luab_sample_finish(&c, smp, env);
}

/* A "lua.NAME" converter: fn(input string, args...). */
static int luab_conv_call(const struct arg *args, struct sample *smp,
                          const struct smp_env *env, const void *priv)
{
    struct luab_sample_call c = {NULL, priv, args, NULL};
    struct sample in = *smp;

    c.in = &in;
    c.ctx = luab_sample_ctx(priv, env, LUAB_CTX_CONV);
    if (c.ctx == NULL)
        return 0;
    return luab_sample_finish(&c, smp, env);
}

/* ------------------------------------------------------------------ */
/* Tasks                                                                */
/* ------------------------------------------------------------------ */

/* Reschedules a task. */
static void luab_task_wake(struct luab_ctx *ctx)
{
    struct luab_task *t = ctx->owner;

    event_active(t->ev, 0, 0);
}

/* Runs a task's coroutine from the event loop; frees it when it ends. */
static void luab_task_cb(evutil_socket_t fd, short what, void *arg)
{
    struct luab_task *t = arg;
    int rc;

    if (!t->started) {
        t->started = 1;
        rc = luab_run_start(&t->ctx, t->nargs);
    } else {
        if (!luab_run_ready(&t->ctx))
            return;
        rc = luab_run_resume(&t->ctx);
    }
    if (rc == RC_AGAIN)
        return;
    event_free(t->ev);
    pool_free(t->pool); /* releases the context, its sockets and timers */
}

int luab_task_start(struct luab_state *st, int ref, int nargs, const int *args)
{
    struct pool *pool = pool_new(1024);
    struct luab_task *t;
    int i;

    if (pool == NULL || (t = pcalloc(pool, sizeof(*t))) == NULL)
        goto fail;
    t->pool = pool;
    luab_run_ctx_init(&t->ctx, st, NULL, pool);
    t->ctx.wake_fn = luab_task_wake;
    t->ctx.owner = t;
    t->ctx.what = "task";
    t->ctx.name = "task";
    if (pool_cleanup_add(pool, luab_run_ctx_release, &t->ctx) != RC_OK)
        goto fail;
    t->ev = event_new(worker_loop(), -1, 0, luab_task_cb, t);
    if (t->ev == NULL)
        goto fail;
    if (luab_run_prepare(&t->ctx, LUAB_CTX_TASK, 1) != RC_OK ||
        !lua_checkstack(t->ctx.co, nargs + 2)) {
        event_free(t->ev);
        goto fail;
    }
    t->ctx.stats = &st->task_stats;
    lua_rawgeti(t->ctx.co, LUA_REGISTRYINDEX, ref);
    for (i = 0; i < nargs; i++)
        lua_rawgeti(t->ctx.co, LUA_REGISTRYINDEX, args[i]);
    t->nargs = nargs;
    event_active(t->ev, 0, 0);
    return RC_OK;
fail:
    log_alert("Lua: cannot start a task: out of memory");
    pool_free(pool);
    return RC_ERR;
}

/* ------------------------------------------------------------------ */
/* Configuration keywords                                               */
/* ------------------------------------------------------------------ */

/* Runs the chunk on top of the state with the <nargs> words of <args> as
 * "..."; RC_OK, or RC_ERR with *<err> set. */
static int luab_load_run(struct luab_state *st, const char *file, int nargs,
                         char **args, char **err)
{
    int i;

    if (!lua_checkstack(st->L, nargs + 2))
        return set_err(err, "Lua runtime error in '%s': stack overflow", file);
    for (i = 0; i < nargs; i++)
        lua_pushstring(st->L, args[i]);
    if (luab_pcall(st->L, nargs) != RC_OK) {
        set_err(err, "Lua runtime error in '%s': %s", file,
                lua_tostring(st->L, -1));
        lua_pop(st->L, 1);
        return RC_ERR;
    }
    return RC_OK;
}

/* Loads <file> on top of the state; RC_OK or RC_ERR with *<err> set. */
static int luab_load_file(struct luab_state *st, const char *file, char **err)
{
    if (luaL_loadfile(st->L, file) == LUA_OK)
        return RC_OK;
    set_err(err, "error in Lua file '%s': %s", file, lua_tostring(st->L, -1));
    lua_pop(st->L, 1);
    return RC_ERR;
}

/* "lua-load FILE [args...]": runs the file now, in the generation's
 * state, with the extra words as "...". */
static int luab_kw_load(struct cfg_ctx *cctx, const struct cfg_kw *kw, int argc,
                        char **args, char **err)
{
    struct luab_state *st = luab_state_get(cctx->cfg, err);

    if (st == NULL || luab_load_file(st, args[1], err) != RC_OK)
        return RC_ERR;
    return luab_load_run(st, args[1], argc - 2, args + 2, err);
}

/* Protected: gives the chunk at 1 its own globals, falling back to the
 * shared ones, and a "core" whose "thread" is the integer at 2 (HAProxy
 * runs such files in per-thread states). */
static int luab_pt_env_p(lua_State *L)
{
    lua_createtable(L, 0, 1); /* 3: this thread's core */
    lua_pushvalue(L, 2);
    lua_setfield(L, 3, "thread");
    lua_createtable(L, 0, 2);
    lua_getglobal(L, "core");
    lua_setfield(L, -2, "__index");
    lua_getglobal(L, "core");
    lua_setfield(L, -2, "__newindex");
    lua_setmetatable(L, 3);
    lua_createtable(L, 0, 2); /* 4: the globals */
    lua_pushvalue(L, 3);
    lua_setfield(L, 4, "core");
    lua_pushvalue(L, 4);
    lua_setfield(L, 4, "_G");
    lua_createtable(L, 0, 1);
    lua_pushglobaltable(L);
    lua_setfield(L, -2, "__index");
    lua_setmetatable(L, 4);
    lua_setupvalue(L, 1, 1);
    return 0;
}

/* Protected: pushes string.dump(chunk at 1). */
static int luab_pt_dump_p(lua_State *L)
{
    lua_getglobal(L, "string");
    lua_getfield(L, -1, "dump");
    lua_pushvalue(L, 1);
    lua_call(L, 1, 1);
    return 1;
}

/* Runs the per-thread chunk on top of the state for worker <thread>. */
static int luab_pt_run(struct luab_state *st, const char *file, int thread,
                       int nargs, char **args, char **err)
{
    lua_State *L = st->L;
    int rc;

    lua_pushcfunction(L, luab_pt_env_p);
    lua_pushvalue(L, -2);
    lua_pushinteger(L, thread);
    if (lua_pcall(L, 2, 0, 0) != LUA_OK) {
        set_err(err, "Lua runtime error in '%s': %s", file,
                lua_tostring(L, -1));
        lua_pop(L, 2);
        return RC_ERR;
    }
    st->loading_pt = 1;
    rc = luab_load_run(st, file, nargs, args, err);
    st->loading_pt = 0;
    return rc;
}

/* "lua-load-per-thread FILE [args...]": runs the file now as worker 1's
 * copy, and keeps it compiled for the other workers (which may be
 * chrooted by then). */
static int luab_kw_load_pt(struct cfg_ctx *cctx, const struct cfg_kw *kw,
                           int argc, char **args, char **err)
{
    struct luab_state *st = luab_state_get(cctx->cfg, err);
    struct luab_ptfile *pt;
    int i;

    if (st == NULL || luab_load_file(st, args[1], err) != RC_OK)
        return RC_ERR;
    lua_pushcfunction(st->L, luab_pt_dump_p);
    lua_pushvalue(st->L, -2);
    if (lua_pcall(st->L, 1, 1, 0) != LUA_OK) {
        set_err(err, "cannot keep Lua file '%s': %s", args[1],
                lua_tostring(st->L, -1));
        lua_pop(st->L, 2);
        return RC_ERR;
    }
    pt = xcalloc(1, sizeof(*pt));
    pt->dump_ref = luaL_ref(st->L, LUA_REGISTRYINDEX);
    pt->nargs = argc - 1;
    pt->args = xcalloc((size_t)argc, sizeof(char *));
    for (i = 0; i < argc - 1; i++)
        pt->args[i] = xstrdup(args[i + 1]); /* the file name first */
    *st->ptfiles_tail = pt;
    st->ptfiles_tail = &pt->next;
    return luab_pt_run(st, args[1], 1, argc - 2, args + 2, err);
}

/* In worker <id> > 1: runs the per-thread files again with core.thread =
 * <id>, then the init functions they registered. RC_OK or RC_ERR. */
static int luab_pt_worker(struct luab_state *st, int id)
{
    struct luab_ptfile *pt;
    int ninit = st->ninit, i;
    size_t len;
    const char *dump;
    char *err = NULL;

    st->phase = LUAB_CTX_BODY;
    for (pt = st->ptfiles; pt != NULL; pt = pt->next) {
        lua_rawgeti(st->L, LUA_REGISTRYINDEX, pt->dump_ref);
        dump = lua_tolstring(st->L, -1, &len);
        if (luaL_loadbufferx(st->L, dump, len, pt->args[0], "b") != LUA_OK) {
            log_alert("Lua: cannot reload '%s': %s", pt->args[0],
                      lua_tostring(st->L, -1));
            lua_pop(st->L, 2);
            return RC_ERR;
        }
        lua_remove(st->L, -2);
        if (luab_pt_run(st, pt->args[0], id, pt->nargs - 1, pt->args + 1,
                        &err) != RC_OK) {
            log_alert("%s", err);
            free(err);
            return RC_ERR;
        }
    }
    st->phase = LUAB_CTX_INIT;
    for (i = ninit; i < st->ninit; i++) {
        lua_rawgeti(st->L, LUA_REGISTRYINDEX, st->init_refs[i]);
        if (luab_pcall(st->L, 0) != RC_OK) {
            log_alert("Lua init: %s", lua_tostring(st->L, -1));
            lua_pop(st->L, 1);
            return RC_ERR;
        }
    }
    return RC_OK;
}

/* "tune.lua.blocking warn|deny|allow". */
static int luab_kw_blocking(struct cfg_ctx *cctx, const struct cfg_kw *kw,
                            int argc, char **args, char **err)
{
    static const char *const modes[] = {"warn", "deny", "allow"};
    struct luab_state *st = luab_state_get(cctx->cfg, err);
    int k = cfg_word_index(args[1], modes, sizeof(modes) / sizeof(modes[0]));

    if (st == NULL)
        return RC_ERR;
    if (k >= 0) {
        st->blocking = (enum luab_blocking)k;
        return RC_OK;
    }
    return set_err(err, "'%s' expects 'warn', 'deny' or 'allow', got '%s'",
                   kw->name, args[1]);
}

/* "tune.lua.log.loggers on|off". */
static int luab_kw_log_loggers(struct cfg_ctx *cctx, const struct cfg_kw *kw,
                               int argc, char **args, char **err)
{
    struct luab_state *st = luab_state_get(cctx->cfg, err);

    if (st == NULL)
        return RC_ERR;
    if (strcmp(args[1], "on") != 0 && strcmp(args[1], "off") != 0)
        return set_err(err, "'%s' expects 'on' or 'off', got '%s'", kw->name,
                       args[1]);
    st->log_loggers = strcmp(args[1], "on") == 0;
    return RC_OK;
}

/* "tune.lua.log.stderr auto|on|off" (enum luab_log_stderr's order). */
static int luab_kw_log_stderr(struct cfg_ctx *cctx, const struct cfg_kw *kw,
                              int argc, char **args, char **err)
{
    static const char *const modes[] = {"auto", "on", "off"};
    struct luab_state *st = luab_state_get(cctx->cfg, err);
    int k = cfg_word_index(args[1], modes, sizeof(modes) / sizeof(modes[0]));

    if (st == NULL)
        return RC_ERR;
    if (k >= 0) {
        st->log_stderr = (enum luab_log_stderr)k;
        return RC_OK;
    }
    return set_err(err, "'%s' expects 'on', 'auto' or 'off', got '%s'",
                   kw->name, args[1]);
}

/* "lua-prepend-path PATTERN [path|cpath]". */
static int luab_kw_prepend_path(struct cfg_ctx *cctx, const struct cfg_kw *kw,
                                int argc, char **args, char **err)
{
    struct luab_state *st = luab_state_get(cctx->cfg, err);
    const char *which = argc > 2 ? args[2] : "path";

    if (st == NULL)
        return RC_ERR;
    if (strcmp(which, "path") != 0 && strcmp(which, "cpath") != 0)
        return set_err(err, "'%s' expects 'path' or 'cpath', got '%s'",
                       kw->name, which);
    lua_getglobal(st->L, "package");
    lua_getfield(st->L, -1, which);
    lua_pushfstring(st->L, "%s;%s", args[1], lua_tostring(st->L, -1));
    lua_setfield(st->L, -3, which);
    lua_pop(st->L, 2);
    return RC_OK;
}

/* tune.lua.*-timeout: a duration stored at kw->offset of the state. */
static int luab_kw_timeout(struct cfg_ctx *cctx, const struct cfg_kw *kw,
                           int argc, char **args, char **err)
{
    struct luab_state *st = luab_state_get(cctx->cfg, err);
    unsigned ms;

    if (st == NULL || cfgval_duration_ms(args[argc - 1], &ms, err) != RC_OK)
        return RC_ERR;
    *(unsigned *)((char *)st + kw->offset) = ms;
    return RC_OK;
}

/* "tune.lua.forced-yield N". */
static int luab_kw_forced_yield(struct cfg_ctx *cctx, const struct cfg_kw *kw,
                                int argc, char **args, char **err)
{
    struct luab_state *st = luab_state_get(cctx->cfg, err);
    long long n;

    if (st == NULL || cfgval_int(args[argc - 1], 1, INT_MAX, &n, err) != RC_OK)
        return RC_ERR;
    st->forced_yield = (unsigned)n;
    return RC_OK;
}

/* "tune.lua.maxmem MB" (0: unlimited). */
static int luab_kw_maxmem(struct cfg_ctx *cctx, const struct cfg_kw *kw,
                          int argc, char **args, char **err)
{
    struct luab_state *st = luab_state_get(cctx->cfg, err);
    long long n;

    if (st == NULL || cfgval_int(args[argc - 1], 0, 1 << 20, &n, err) != RC_OK)
        return RC_ERR;
    st->maxmem = (size_t)n * 1024 * 1024;
    return RC_OK;
}

#define LUAB_OFF(f) offsetof(struct luab_state, f)

static const struct cfg_kw luab_keywords[] = {
    {"lua-load", CFG_SEC_GLOBAL, 1, -1, luab_kw_load, 0, 0, 0},
    {"lua-load-per-thread", CFG_SEC_GLOBAL, 1, -1, luab_kw_load_pt, 0, 0, 0},
    {"tune.lua.blocking", CFG_SEC_GLOBAL, 1, 1, luab_kw_blocking, 0, 0, 0},
    {"lua-prepend-path", CFG_SEC_GLOBAL, 1, 2, luab_kw_prepend_path, 0, 0, 0},
    {"tune.lua.forced-yield", CFG_SEC_GLOBAL, 1, 1, luab_kw_forced_yield, 0, 0,
     0},
    {"tune.lua.session-timeout", CFG_SEC_GLOBAL, 1, 1, luab_kw_timeout,
     LUAB_OFF(session_timeout), 0, 0},
    {"tune.lua.service-timeout", CFG_SEC_GLOBAL, 1, 1, luab_kw_timeout,
     LUAB_OFF(service_timeout), 0, 0},
    {"tune.lua.task-timeout", CFG_SEC_GLOBAL, 1, 1, luab_kw_timeout,
     LUAB_OFF(task_timeout), 0, 0},
    {"tune.lua.burst-timeout", CFG_SEC_GLOBAL, 1, 1, luab_kw_timeout,
     LUAB_OFF(burst_timeout), 0, 0},
    {"tune.lua.maxmem", CFG_SEC_GLOBAL, 1, 1, luab_kw_maxmem, 0, 0, 0},
    {"tune.lua.log.loggers", CFG_SEC_GLOBAL, 1, 1, luab_kw_log_loggers, 0, 0,
     0},
    {"tune.lua.log.stderr", CFG_SEC_GLOBAL, 1, 1, luab_kw_log_stderr, 0, 0, 0},
    {"tune.lua.bool-sample-conversion", CFG_SEC_GLOBAL, 1, 1, cfg_ignore, 0, 0,
     0},
    {NULL, 0, 0, 0, NULL, 0, 0, 0},
};

static const struct cfg_kw *const luab_keyword_tables[] = {luab_keywords, NULL};

/* ------------------------------------------------------------------ */
/* Module hooks                                                         */
/* ------------------------------------------------------------------ */

/* Fills core's registries once per process. */
static int luab_init(void)
{
    luab_slot = stream_slot_register();
    luab_cli_init();
    if (luab_slot < 0)
        return RC_ERR;
    action_register(luab_actions);
    luab_filter_init();
    service_register(luab_services);
    sample_register_fetch_prefix("lua.", luab_fetch_resolve);
    sample_register_conv_prefix("lua.", luab_conv_resolve);
    return RC_OK;
}

/* Protected: core.proxies and friends of the configuration at 1. */
static int luab_publish_p(lua_State *L)
{
    luab_proxy_publish(L, lua_touserdata(L, 1));
    return 0;
}

/* Runs core.register_init functions, before the fork; an error fails the
 * load of the generation. */
static int luab_post_parse(struct cfg *cfg)
{
    struct luab_state *st = luab_state_peek(cfg);
    int i;

    if (luab_parsing == st)
        luab_parsing = NULL;
    if (st == NULL)
        return RC_OK;
    st->phase = LUAB_CTX_INIT;
    lua_pushcfunction(st->L, luab_publish_p);
    lua_pushlightuserdata(st->L, cfg);
    if (lua_pcall(st->L, 1, 0, 0) != LUA_OK) {
        log_alert("Lua init: %s", lua_tostring(st->L, -1));
        lua_pop(st->L, 1);
        return RC_ERR;
    }
    for (i = 0; i < st->ninit; i++) {
        lua_rawgeti(st->L, LUA_REGISTRYINDEX, st->init_refs[i]);
        if (luab_pcall(st->L, 0) != RC_OK) {
            log_alert("Lua init: %s", lua_tostring(st->L, -1));
            lua_pop(st->L, 1);
            return RC_ERR;
        }
    }
    st->phase = LUAB_CTX_IDLE;
    return RC_OK;
}

/* Logs the per-script figures of the worker's generation as it drains
 * (at a reload or a stop). */
static void luab_drain_hook(void)
{
    struct luab_state *st =
        worker_cfg() != NULL ? luab_state_peek(worker_cfg()) : NULL;

    if (st != NULL)
        luab_guard_log_stats(st);
}

/* Starts the registered tasks in a new worker, after the per-thread
 * files have run again in workers 2..N. */
static int luab_worker_init(struct cfg *cfg)
{
    struct luab_state *st = luab_state_peek(cfg);
    struct luab_task_def *t;
    int id = worker_id();

    if (st == NULL)
        return RC_OK;
    worker_drain_register(luab_drain_hook);
    if (id > 1 && st->ptfiles != NULL && luab_pt_worker(st, id) != RC_OK)
        return RC_ERR;
    if (luab_cli_worker_init(st) != RC_OK)
        return RC_ERR;
    st->phase = LUAB_CTX_IDLE;
    for (t = st->tasks; t != NULL; t = t->next)
        if ((!t->per_thread || id <= 1) &&
            luab_task_start(st, t->ref, t->nargs, t->args) != RC_OK)
            return RC_ERR;
    return RC_OK;
}

/* Frees the lua-load-per-thread records of <st>. */
static void luab_ptfiles_free(struct luab_state *st)
{
    struct luab_ptfile *pt, *next;
    int i;

    for (pt = st->ptfiles; pt != NULL; pt = next) {
        next = pt->next;
        for (i = 0; i < pt->nargs; i++)
            free(pt->args[i]);
        free(pt->args);
        free(pt);
    }
    st->ptfiles = NULL;
}

/* Frees the generation's state. */
static void luab_cfg_free(struct cfg *cfg)
{
    void **slot = cfg_module_data(cfg, &luab_module);
    struct luab_state *st = *slot;
    struct luab_task_def *t, *next;

    if (st == NULL)
        return;
    if (luab_parsing == st)
        luab_parsing = NULL;
    for (t = st->tasks; t != NULL; t = next) {
        next = t->next;
        free(t);
    }
    luab_ptfiles_free(st);
    lua_close(st->L);
    luab_fns_free(st);
    free(st->init_refs);
    free(st);
    *slot = NULL;
}

const struct module luab_module = {
    .name = "lua",
    .keywords = luab_keyword_tables,
    .init = luab_init,
    .post_parse = luab_post_parse,
    .worker_init = luab_worker_init,
    .cfg_free = luab_cfg_free,
};
