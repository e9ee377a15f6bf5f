/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* The Lua scheduler: the only caller of lua_resume. It runs a context's
 * coroutine, maps the outcome to RC_* codes, enforces the instruction
 * budget (tune.lua.forced-yield) and the CPU-time limits (session, service,
 * task and burst timeouts) from a count hook, turns errors into one log
 * line with the script's file:line and a traceback, and implements the
 * waiting primitives the API functions use: a wait is a lua_yieldk with a
 * continuation, ended by luab_run_wake() from an event callback, which
 * reschedules the owner (stream, applet or task) from the event loop.
 * It also replaces coroutine.resume and coroutine.wrap: a wait inside a
 * user coroutine yields a marker that every wrapped resume passes up to
 * the context's own coroutine, so the whole run waits and the user
 * coroutine continues where it stopped (lua-nginx-module's design; in
 * HAProxy such a wait would only suspend the user coroutine). Forced
 * yields never happen inside user coroutines, only the limit checks. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <lauxlib.h>
#include <lua.h>

#include "core/errors.h"
#include "core/log.h"
#include "core/worker.h"
#include "lua_api/luab.h"

#define LUAB_NS_PER_MS 1000000ULL
#define LUAB_LOG_MAX   1024

static void luab_run_hook(lua_State *L, lua_Debug *ar);
static int luab_run_resume_n(struct luab_ctx *ctx, int nargs);

/* The context being resumed; runs never nest across contexts in practice,
 * but the previous value is restored anyway. */
static struct luab_ctx *run_cur;

/* Raised (as a light userdata) by luab_run_exit where it cannot yield. */
static char luab_run_exit_key;

/* Yielded (as a light userdata) by a wait inside a user coroutine. */
static char luab_run_wait_key;

/* Start of the current resume, in thread CPU time. */
static unsigned long long run_resume_ns;

/* Returns this thread's CPU time in nanoseconds. */
static unsigned long long luab_run_cpu_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (unsigned long long)ts.tv_sec * 1000000000ULL +
           (unsigned long long)ts.tv_nsec;
}

struct luab_ctx *luab_run_current(void)
{
    return run_cur;
}

void luab_run_ctx_init(struct luab_ctx *ctx, struct luab_state *st,
                       struct stream *s, struct pool *pool)
{
    memset(ctx, 0, sizeof(*ctx));
    ctx->st = st;
    ctx->s = s;
    ctx->pool = pool;
    ctx->co_ref = LUA_NOREF;
    ctx->handle_ref = LUA_NOREF;
    ctx->obj_ref = LUA_NOREF;
    ctx->priv_ref = LUA_NOREF;
    ctx->hdrs_ref = LUA_NOREF;
    ctx->reply_ref = LUA_NOREF;
    ctx->status = 200;
    ctx->what = "function";
    ctx->name = "?";
}

/* Protected part of luab_run_prepare: a new thread, anchored. */
static int luab_run_newthread(lua_State *L)
{
    lua_newthread(L);
    lua_pushinteger(L, luaL_ref(L, LUA_REGISTRYINDEX));
    return 1;
}

/* Drops the coroutine of <ctx> (it stays alive while Lua references it). */
static void luab_run_drop_co(struct luab_ctx *ctx)
{
    if (ctx->co_ref != LUA_NOREF)
        luaL_unref(ctx->st->L, LUA_REGISTRYINDEX, ctx->co_ref);
    ctx->co_ref = LUA_NOREF;
    ctx->co = NULL;
}

/* Returns the CPU limit in ms for a run of <kind>. */
static unsigned luab_run_limit_ms(const struct luab_state *st, unsigned kind)
{
    if (kind == LUAB_CTX_SERVICE)
        return st->service_timeout;
    if (kind == LUAB_CTX_TASK)
        return st->task_timeout;
    return st->session_timeout;
}

int luab_run_prepare(struct luab_ctx *ctx, unsigned kind, int yieldable)
{
    lua_State *L = ctx->st->L;

    if (ctx->released || ctx->running)
        return RC_ERR;
    if (ctx->co != NULL && lua_status(ctx->co) != LUA_OK)
        luab_run_drop_co(ctx); /* dead after an error, or abandoned */
    if (ctx->co != NULL) {
        lua_settop(ctx->co, 0);
    } else {
        lua_pushcfunction(L, luab_run_newthread);
        if (lua_pcall(L, 0, 1, 0) != LUA_OK) {
            log_alert("Lua: cannot create a coroutine: %s",
                      lua_tostring(L, -1));
            lua_pop(L, 1);
            return RC_ERR;
        }
        ctx->co_ref = (int)lua_tointeger(L, -1);
        lua_pop(L, 1);
        lua_rawgeti(L, LUA_REGISTRYINDEX, ctx->co_ref);
        ctx->co = lua_tothread(L, -1);
        lua_pop(L, 1);
    }
    lua_sethook(ctx->co, luab_run_hook, LUA_MASKCOUNT,
                ctx->st->forced_yield ? (int)ctx->st->forced_yield : 10000);
    ctx->kind = kind;
    ctx->yieldable = yieldable;
    ctx->limit_ns = luab_run_limit_ms(ctx->st, kind) * LUAB_NS_PER_MS;
    ctx->cpu_ns = 0;
    ctx->exiting = 0;
    ctx->exit_ret = 0;
    ctx->timed_out = NULL;
    ctx->wait = LUAB_WAIT_NONE;
    ctx->ready = 0;
    ctx->nres = 0;
    ctx->stats = NULL;
    ctx->wake_ms = -1;
    return RC_OK;
}

/* The count hook: checks the CPU limits, then gives the event loop a turn
 * where the run may yield (HAProxy's forced yield). It yields only on the
 * context's own coroutine; user coroutines and Lua called back from C only
 * get the limit check. */
static void luab_run_hook(lua_State *L, lua_Debug *ar)
{
    struct luab_ctx *ctx = run_cur;
    unsigned long long spent, burst;

    if (ctx == NULL)
        return;
    spent = luab_run_cpu_ns() - run_resume_ns;
    burst = ctx->st->burst_timeout * LUAB_NS_PER_MS;
    if (ctx->timed_out == NULL && ctx->limit_ns > 0 &&
        ctx->cpu_ns + spent > ctx->limit_ns)
        ctx->timed_out = "execution timeout";
    if (ctx->timed_out == NULL && burst > 0 && spent > burst)
        ctx->timed_out = "burst timeout";
    if (ctx->timed_out != NULL) {
        if (L == ctx->co && lua_isyieldable(L)) {
            lua_yield(L, 0);
            return;
        }
        luaL_error(L, "%s", ctx->timed_out);
        return;
    }
    if (ctx->yieldable && L == ctx->co && lua_isyieldable(L)) {
        ctx->wait = LUAB_WAIT_NONE;
        lua_yield(L, 0);
    }
}

/* Protected part of luab_run_traceback: the traceback of thread 1. */
static int luab_run_traceback_p(lua_State *L)
{
    luaL_traceback(L, lua_tothread(L, 1), NULL, 0);
    return 1;
}

/* Appends the traceback of <co> to <out> on one line (empty when Lua is
 * out of memory). */
static void luab_run_traceback(lua_State *L, lua_State *co, char *out,
                               size_t size)
{
    const char *tb, *p;
    size_t n = 0;

    out[0] = '\0';
    if (!lua_checkstack(L, 3) || !lua_checkstack(co, 1))
        return;
    lua_pushcfunction(L, luab_run_traceback_p);
    lua_pushthread(co);
    lua_xmove(co, L, 1);
    if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
        lua_pop(L, 1);
        return;
    }
    tb = lua_tostring(L, -1);
    p = strstr(tb, "traceback:\n\t");
    p = p ? p + 12 : tb;
    for (; *p != '\0' && n + 3 < size; p++) {
        if (*p == '\n') {
            out[n++] = ',';
            out[n++] = ' ';
            if (p[1] == '\t')
                p++;
            continue;
        }
        out[n++] = *p;
    }
    out[n] = '\0';
    lua_pop(L, 1);
}

/* Fills <where> with "src:line" of the innermost Lua frame of <co>, the
 * line a script error points at even when a C function raised it. */
static void luab_run_where(lua_State *co, char *where, size_t size)
{
    lua_Debug ar;
    int level;

    where[0] = '\0';
    for (level = 0; lua_getstack(co, level, &ar); level++) {
        if (!lua_getinfo(co, "Sl", &ar) || ar.currentline <= 0)
            continue;
        snprintf(where, size, "%s:%d", ar.short_src, ar.currentline);
        return;
    }
}

void luab_run_log_error(struct luab_ctx *ctx, lua_State *co, const char *msg)
{
    char where[256], tb[LUAB_LOG_MAX];
    int has_where;

    luab_run_where(co, where, sizeof(where));
    luab_run_traceback(ctx->st->L, co, tb, sizeof(tb));
    has_where = where[0] == '\0' || strncmp(msg, where, strlen(where)) == 0;
    log_alert("Lua %s '%s': runtime error: %s%s%s from %s", ctx->what,
              ctx->name, has_where ? "" : where, has_where ? "" : ": ", msg,
              tb);
}

/* Logs the failure of a run and returns RC_ERR. */
static int luab_run_failed(struct luab_ctx *ctx, int rc)
{
    const char *msg;

    if (ctx->timed_out != NULL) {
        log_alert("Lua %s '%s': %s.", ctx->what, ctx->name, ctx->timed_out);
        return RC_ERR;
    }
    if (rc == LUA_YIELD) {
        luab_run_log_error(ctx, ctx->co, "yield not allowed");
        return RC_ERR;
    }
    if (rc == LUA_ERRMEM) {
        log_alert("Lua %s '%s': out of memory error.", ctx->what, ctx->name);
        return RC_ERR;
    }
    /* lua_tostring would convert a number in place: no allocation here */
    msg = lua_type(ctx->co, -1) == LUA_TSTRING ? lua_tostring(ctx->co, -1)
                                               : luaL_typename(ctx->co, -1);
    luab_run_log_error(ctx, ctx->co, msg);
    return RC_ERR;
}

/* Counts the outcome <rc> of a resume in the figures of the function. */
static int luab_run_count(struct luab_ctx *ctx, int rc)
{
    struct luab_stats *st = ctx->stats;

    if (st == NULL)
        return rc;
    if (rc == RC_AGAIN) {
        st->yields++;
        return rc;
    }
    if (rc == RC_ERR)
        st->errors++;
    st->total_ns += ctx->cpu_ns;
    if (ctx->cpu_ns > st->max_ns)
        st->max_ns = ctx->cpu_ns;
    return rc;
}

/* Resumes ctx->co with <nargs> arguments on its stack; RC_* outcome. */
static int luab_run_resume_rc(struct luab_ctx *ctx, int nargs)
{
    struct luab_ctx *prev = run_cur;
    unsigned long long prev_ns = run_resume_ns;
    int rc;

    run_cur = ctx;
    ctx->running = 1;
    ctx->ready = 0;
    ctx->wait = LUAB_WAIT_NONE;
    run_resume_ns = luab_run_cpu_ns();
    rc = lua_resume(ctx->co, NULL, nargs);
    ctx->cpu_ns += luab_run_cpu_ns() - run_resume_ns;
    ctx->running = 0;
    run_cur = prev;
    run_resume_ns = prev_ns;
    if (ctx->exiting && (rc == LUA_YIELD || rc == LUA_OK)) {
        if (rc == LUA_OK)
            ctx->nres = lua_gettop(ctx->co);
        return RC_OK;
    }
    if (ctx->exiting && lua_touserdata(ctx->co, -1) == &luab_run_exit_key) {
        ctx->nres = 0;
        return RC_OK;
    }
    if (rc == LUA_OK) {
        ctx->nres = lua_gettop(ctx->co);
        return RC_OK;
    }
    if (rc != LUA_YIELD || ctx->timed_out != NULL || !ctx->yieldable)
        return luab_run_failed(ctx, rc);
    if (ctx->wait == LUAB_WAIT_NONE)
        luab_run_defer(ctx); /* control yield */
    return RC_AGAIN;
}

/* Resumes ctx->co with <nargs> arguments and counts the outcome. */
static int luab_run_resume_n(struct luab_ctx *ctx, int nargs)
{
    return luab_run_count(ctx, luab_run_resume_rc(ctx, nargs));
}

int luab_run_start(struct luab_ctx *ctx, int nargs)
{
    if (ctx->stats != NULL)
        ctx->stats->calls++;
    return luab_run_resume_n(ctx, nargs);
}

/* What luab_run_call hands to its protected trampoline. */
struct luab_run_push {
    luab_push_cb fn;
    void *arg;
};

/* Protected trampoline of luab_run_call: returns what the callback
 * pushed. */
static int luab_run_push_p(lua_State *L)
{
    struct luab_run_push *p = lua_touserdata(L, 1);

    lua_settop(L, 0);
    p->fn(L, p->arg);
    return lua_gettop(L);
}

int luab_run_call(struct luab_ctx *ctx, luab_push_cb push, void *arg)
{
    struct luab_run_push p = {push, arg};
    lua_State *co = ctx->co;
    int n;

    lua_settop(co, 0);
    if (!lua_checkstack(co, 3)) {
        log_alert("Lua %s '%s': out of memory error.", ctx->what, ctx->name);
        return luab_run_count(ctx, RC_ERR);
    }
    lua_pushcfunction(co, luab_run_push_p);
    lua_pushlightuserdata(co, &p);
    if (ctx->stats != NULL)
        ctx->stats->calls++;
    if (lua_pcall(co, 1, LUA_MULTRET, 0) != LUA_OK) {
        log_alert("Lua %s '%s': runtime error: %s", ctx->what, ctx->name,
                  lua_type(co, -1) == LUA_TSTRING ? lua_tostring(co, -1)
                                                  : "out of memory");
        lua_settop(co, 0);
        return luab_run_count(ctx, RC_ERR);
    }
    n = lua_gettop(co);
    if (n < 1)
        return luab_run_count(ctx, RC_ERR);
    return luab_run_resume_n(ctx, n - 1);
}

int luab_run_resume(struct luab_ctx *ctx)
{
    if (ctx->co == NULL || lua_status(ctx->co) != LUA_YIELD)
        return RC_ERR;
    return luab_run_resume_n(ctx, 0);
}

int luab_run_ready(const struct luab_ctx *ctx)
{
    return ctx->ready || ctx->wait == LUAB_WAIT_IO;
}

/* Forgets the registration of the current wait. */
static void luab_run_cancel(struct luab_ctx *ctx)
{
    void (*fn)(void *) = ctx->cancel;

    ctx->cancel = NULL;
    if (fn != NULL)
        fn(ctx->cancel_arg);
    if (ctx->timer != NULL)
        evtimer_del(ctx->timer);
}

void luab_run_wake(struct luab_ctx *ctx)
{
    if (ctx->released)
        return;
    ctx->cancel = NULL;
    ctx->ready = 1;
    if (ctx->wake_fn != NULL && !ctx->running)
        ctx->wake_fn(ctx);
}

void luab_run_abort(struct luab_ctx *ctx)
{
    luab_run_cancel(ctx);
    ctx->wait = LUAB_WAIT_NONE;
    ctx->ready = 0;
    if (ctx->co != NULL && lua_status(ctx->co) == LUA_YIELD)
        luab_run_drop_co(ctx);
}

/* The context a wait on <L> may suspend: <L> is its coroutine, or a user
 * coroutine every resumer of which may pass the wait up; NULL otherwise. */
static struct luab_ctx *luab_run_waiter(lua_State *L)
{
    struct luab_ctx *ctx = run_cur;

    if (ctx == NULL || !ctx->yieldable || !lua_isyieldable(L))
        return NULL;
    if (L == ctx->co || *(void **)lua_getextraspace(L) == ctx)
        return ctx;
    return NULL;
}

struct luab_ctx *luab_run_wait_begin(lua_State *L)
{
    struct luab_ctx *ctx = luab_run_waiter(L);

    if (ctx == NULL)
        luaL_error(L, "yield not allowed");
    ctx->ready = 0;
    return ctx;
}

int luab_run_may_wait(lua_State *L)
{
    return luab_run_waiter(L) != NULL;
}

int luab_run_active(lua_State *L)
{
    return run_cur != NULL;
}

void luab_run_set_cancel(struct luab_ctx *ctx, void (*fn)(void *), void *arg)
{
    ctx->cancel = fn;
    ctx->cancel_arg = arg;
}

int luab_run_yield(lua_State *L, enum luab_wait w, lua_KFunction k,
                   lua_KContext kctx)
{
    struct luab_ctx *ctx = luab_run_wait_begin(L);

    ctx->wait = w;
    if (L == ctx->co)
        return lua_yieldk(L, 0, kctx, k);
    lua_pushlightuserdata(L, &luab_run_wait_key);
    return lua_yieldk(L, 1, kctx, k);
}

/* A sleep's timer fired. */
static void luab_run_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    luab_run_wake(arg);
}

void luab_run_defer(struct luab_ctx *ctx)
{
    luab_run_defer_ms(ctx, 0);
}

void luab_run_defer_ms(struct luab_ctx *ctx, int ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

    if (ctx->timer == NULL)
        ctx->timer = evtimer_new(worker_loop(), luab_run_timer_cb, ctx);
    if (ctx->timer == NULL) {
        ctx->ready = 1; /* no timer: wake at once rather than never */
        if (ctx->wake_fn != NULL)
            ctx->wake_fn(ctx);
        return;
    }
    evtimer_add(ctx->timer, &tv);
}

void luab_run_defer_cancel(struct luab_ctx *ctx)
{
    if (ctx->timer != NULL)
        evtimer_del(ctx->timer);
}

/* Continuation of core.sleep: sleeps on while the timer is pending (the
 * coroutine may be resumed early by an unrelated wake). */
static int luab_run_sleep_k(lua_State *L, int status, lua_KContext k)
{
    struct luab_ctx *ctx = run_cur;

    if (ctx != NULL && ctx->timer != NULL && evtimer_pending(ctx->timer, NULL))
        return luab_run_yield(L, LUAB_WAIT_EVENT, luab_run_sleep_k, k);
    return 0;
}

int luab_run_sleep(lua_State *L, lua_Integer ms)
{
    struct luab_ctx *ctx = run_cur;
    struct timeval tv;

    if (ctx == NULL)
        return 0; /* body and init: HAProxy skips the wait */
    ctx = luab_run_wait_begin(L);
    if (ms < 0)
        ms = 0;
    if (ctx->timer == NULL)
        ctx->timer = evtimer_new(worker_loop(), luab_run_timer_cb, ctx);
    if (ctx->timer == NULL)
        return luaL_error(L, "out of memory");
    tv.tv_sec = (time_t)(ms / 1000);
    tv.tv_usec = (suseconds_t)((ms % 1000) * 1000);
    evtimer_add(ctx->timer, &tv);
    return luab_run_yield(L, LUAB_WAIT_EVENT, luab_run_sleep_k, 0);
}

int luab_run_exit(lua_State *L, int nres)
{
    struct luab_ctx *ctx = run_cur;

    if (ctx != NULL) {
        ctx->exiting = 1;
        ctx->nres = nres;
        if (L == ctx->co && lua_isyieldable(L))
            return lua_yield(L, nres);
    }
    lua_pushlightuserdata(L, &luab_run_exit_key);
    return lua_error(L);
}

int luab_run_is_exit(lua_State *L, int idx)
{
    return lua_touserdata(L, idx) == &luab_run_exit_key;
}

void luab_run_ctx_release(void *arg)
{
    struct luab_ctx *ctx = arg;
    lua_State *L = ctx->st->L;

    if (ctx->released)
        return;
    ctx->released = 1;
    luab_run_cancel(ctx);
    if (ctx->timer != NULL)
        event_free(ctx->timer);
    ctx->timer = NULL;
    if (ctx->handle != NULL)
        ctx->handle->ctx = NULL;
    ctx->handle = NULL;
    luab_run_drop_co(ctx);
    luaL_unref(L, LUA_REGISTRYINDEX, ctx->handle_ref);
    luaL_unref(L, LUA_REGISTRYINDEX, ctx->obj_ref);
    luaL_unref(L, LUA_REGISTRYINDEX, ctx->priv_ref);
    luaL_unref(L, LUA_REGISTRYINDEX, ctx->hdrs_ref);
    luaL_unref(L, LUA_REGISTRYINDEX, ctx->reply_ref);
    ctx->handle_ref = ctx->obj_ref = ctx->priv_ref = ctx->hdrs_ref =
        ctx->reply_ref = LUA_NOREF;
}

static int luab_run_co_step(lua_State *L, int nargs, int wrap);

/* Continuation of a wrapped resume after a wait passed up: resumes the
 * user coroutine (at 1) again. */
static int luab_run_co_k(lua_State *L, int status, lua_KContext k)
{
    return luab_run_co_step(L, 0, (int)k);
}

/* Passes a wait of the user coroutine up from <L>, the coroutine that
 * resumed it: yields <L> too (with the marker unless it is the run's own
 * coroutine). */
static int luab_run_co_pass_up(lua_State *L, int wrap)
{
    struct luab_ctx *ctx = run_cur;

    if (ctx != NULL && L == ctx->co)
        return lua_yieldk(L, 0, wrap, luab_run_co_k);
    lua_pushlightuserdata(L, &luab_run_wait_key);
    return lua_yieldk(L, 1, wrap, luab_run_co_k);
}

/* Shapes the error on top of <L> for coroutine.resume (false, msg) or
 * coroutine.wrap (raised, with the position as in Lua). */
static int luab_run_co_error(lua_State *L, int wrap)
{
    if (luab_run_is_exit(L, -1))
        return luab_run_exit(L, 0); /* core.done() inside the coroutine */
    if (wrap) {
        if (lua_type(L, -1) == LUA_TSTRING) {
            luaL_where(L, 1);
            lua_insert(L, -2);
            lua_concat(L, 2);
        }
        return lua_error(L);
    }
    lua_pushboolean(L, 0);
    lua_insert(L, -2);
    return 2;
}

/* Resumes the user coroutine at 1 with the <nargs> values on top of <L>,
 * as coroutine.resume (<wrap> 0) or a coroutine.wrap function (1). */
static int luab_run_co_step(lua_State *L, int nargs, int wrap)
{
    lua_State *co = lua_tothread(L, 1);
    struct luab_ctx *ctx = run_cur;
    int rc, nres;

    if (!lua_checkstack(co, nargs + 1))
        return luaL_error(L, "too many arguments to resume");
    if (lua_status(co) == LUA_OK && lua_gettop(co) == 0) {
        lua_pushliteral(L, "cannot resume dead coroutine");
        return luab_run_co_error(L, wrap);
    }
    lua_xmove(L, co, nargs);
    /* tell a wait inside <co> whether it may pass up through us */
    *(void **)lua_getextraspace(co) =
        ctx != NULL && luab_run_waiter(L) == ctx ? ctx : NULL;
    rc = lua_resume(co, L, nargs);
    if (rc == LUA_YIELD && lua_gettop(co) == 1 &&
        lua_touserdata(co, -1) == &luab_run_wait_key) {
        lua_pop(co, 1);
        return luab_run_co_pass_up(L, wrap);
    }
    if (rc != LUA_OK && rc != LUA_YIELD) {
        lua_xmove(co, L, 1);
        return luab_run_co_error(L, wrap);
    }
    nres = lua_gettop(co);
    if (!lua_checkstack(L, nres + 1))
        return luaL_error(L, "too many results to resume");
    lua_xmove(co, L, nres);
    if (wrap)
        return nres;
    lua_pushboolean(L, 1);
    lua_insert(L, -(nres + 1));
    return nres + 1;
}

/* coroutine.resume(co, ...) */
static int luab_run_co_resume(lua_State *L)
{
    luaL_argcheck(L, lua_type(L, 1) == LUA_TTHREAD, 1, "coroutine expected");
    return luab_run_co_step(L, lua_gettop(L) - 1, 0);
}

/* The function coroutine.wrap returns: its coroutine is upvalue 1. */
static int luab_run_co_wrapped(lua_State *L)
{
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    return luab_run_co_step(L, lua_gettop(L) - 1, 1);
}

/* coroutine.wrap(f) */
static int luab_run_co_wrap(lua_State *L)
{
    lua_State *co;

    luaL_checktype(L, 1, LUA_TFUNCTION);
    co = lua_newthread(L);
    lua_pushvalue(L, 1);
    lua_xmove(L, co, 1);
    lua_pushcclosure(L, luab_run_co_wrapped, 1);
    return 1;
}

void luab_run_coroutine_register(lua_State *L)
{
    lua_getglobal(L, "coroutine");
    lua_pushcfunction(L, luab_run_co_resume);
    lua_setfield(L, -2, "resume");
    lua_pushcfunction(L, luab_run_co_wrap);
    lua_setfield(L, -2, "wrap");
    lua_pop(L, 1);
}
