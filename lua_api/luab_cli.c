/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* Lua in the runtime API. The commands core.register_cli kept in the
 * registry become rows of core's command registry when a worker starts;
 * running one calls fn(applet, word1, word2...) with every word of the
 * command line (its own words first, as HAProxy passes them) on a
 * coroutine of its own, which may wait on sockets and timers like a task:
 * the answer goes back when the function returns. The applet object has
 * AppletTCP's I/O methods: send() adds to the answer; getline() and
 * receive() see the end of input, since the command line is the whole
 * request. Also "show lua", a luaproxy extension: the per-script figures
 * (calls, errors, yields, Lua CPU time) of this worker. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <lauxlib.h>
#include <lua.h>

#include "core/cfg.h"
#include "core/cli.h"
#include "core/errors.h"
#include "core/log.h"
#include "core/pool.h"
#include "core/util.h"
#include "core/worker.h"
#include "lua_api/luab.h"

#define LUAB_MT_APPLET_CLI "luab.AppletCLI"
#define LUAB_NS_PER_MS     1e6

/* A command a script registered. */
struct luab_cli_fn {
    char *path; /* its words, as registered: "show foo" */
    char *words;
    int ref; /* the function */
    struct luab_stats stats;
};

/* One run of a Lua command. */
struct luab_cli_run {
    struct pool *pool;
    struct luab_ctx ctx;
    struct event *ev;
    struct cli_req *req;
    struct luab_cli_fn *fn;
    int argc;
    char **args; /* copies in <pool> */
};

static struct cli_cmd *luab_cli_rows;
static struct luab_cli_fn *luab_cli_fns;
static int luab_cli_nfns;

/* Frees a run once it ended, after its answer went back. */
static void luab_cli_run_end(struct luab_cli_run *run, int rc)
{
    if (rc != RC_OK)
        cli_fail(run->req, "Lua command '%s' failed (see the log).\n",
                 run->fn->path);
    cli_req_done(run->req);
    event_free(run->ev);
    pool_free(run->pool); /* releases the context, its sockets and timers */
}

/* Resumes a waiting run from the event loop. */
static void luab_cli_run_cb(evutil_socket_t fd, short what, void *arg)
{
    struct luab_cli_run *run = arg;
    int rc;

    if (!luab_run_ready(&run->ctx))
        return;
    rc = luab_run_resume(&run->ctx);
    if (rc != RC_AGAIN)
        luab_cli_run_end(run, rc);
}

/* Reschedules a run (luab_ctx.wake_fn). */
static void luab_cli_wake(struct luab_ctx *ctx)
{
    struct luab_cli_run *run = ctx->owner;

    event_active(run->ev, 0, 0);
}

/* Pushes fn(applet, words...) (protected, see luab_run_call). */
static void luab_cli_push(lua_State *L, void *arg)
{
    struct luab_cli_run *run = arg;
    int i;

    luaL_checkstack(L, run->argc + 3, "too many words");
    lua_rawgeti(L, LUA_REGISTRYINDEX, run->fn->ref);
    luab_obj_new(L, &run->ctx, LUAB_MT_APPLET_CLI);
    for (i = 0; i < run->argc; i++)
        lua_pushstring(L, run->args[i]);
}

/* A copy of <s> in <pool>, or NULL. */
static char *luab_cli_strdup(struct pool *pool, const char *s)
{
    size_t len = strlen(s) + 1;
    char *d = palloc(pool, len);

    if (d != NULL)
        memcpy(d, s, len);
    return d;
}

/* The runtime API row of a Lua command (cli_cmd_cb). */
static int luab_cli_call(struct cli_req *req, int argc, char **args, void *arg)
{
    struct luab_cli_fn *fn = arg;
    struct luab_state *st = luab_state_peek(worker_cfg());
    struct pool *pool = pool_new(1024);
    struct luab_cli_run *run;
    int i, rc;

    if (st == NULL || pool == NULL ||
        (run = pcalloc(pool, sizeof(*run))) == NULL ||
        (run->args = pcalloc(pool, (size_t)argc * sizeof(char *))) == NULL)
        goto fail;
    run->pool = pool;
    run->req = req;
    run->fn = fn;
    run->argc = argc;
    for (i = 0; i < argc; i++)
        if ((run->args[i] = luab_cli_strdup(pool, args[i])) == NULL)
            goto fail;
    luab_run_ctx_init(&run->ctx, st, NULL, pool);
    run->ctx.wake_fn = luab_cli_wake;
    run->ctx.owner = run;
    run->ctx.what = "cli";
    run->ctx.name = fn->path;
    if (pool_cleanup_add(pool, luab_run_ctx_release, &run->ctx) != RC_OK)
        goto fail;
    run->ev = event_new(worker_loop(), -1, 0, luab_cli_run_cb, run);
    if (run->ev == NULL)
        goto fail;
    /* a command runs as a task does: it may wait, it has no stream */
    if (luab_run_prepare(&run->ctx, LUAB_CTX_TASK, 1) != RC_OK) {
        event_free(run->ev);
        goto fail;
    }
    run->ctx.stats = &fn->stats;
    rc = luab_run_call(&run->ctx, luab_cli_push, run);
    if (rc == RC_AGAIN)
        return RC_AGAIN;
    if (rc != RC_OK)
        cli_fail(req, "Lua command '%s' failed (see the log).\n", fn->path);
    event_free(run->ev);
    pool_free(pool);
    return rc;
fail:
    pool_free(pool);
    return cli_fail(req, "Out of memory.\n");
}

/* The run behind the applet at 1. */
static struct luab_cli_run *luab_cli_check(lua_State *L)
{
    return luab_obj_check(L, 1, LUAB_MT_APPLET_CLI)->owner;
}

/* applet:send(data): adds to the answer (never waits). */
static int luab_cli_send(lua_State *L)
{
    struct luab_cli_run *run = luab_cli_check(L);
    size_t len;
    const char *data = luaL_checklstring(L, 2, &len);

    cli_printf(run->req, "%.*s", (int)len, data);
    return 0;
}

/* applet:getline() and applet:receive(): the input is over. */
static int luab_cli_receive(lua_State *L)
{
    luab_cli_check(L);
    lua_pushliteral(L, "");
    return 1;
}

/* applet:get_priv() */
static int luab_cli_get_priv(lua_State *L)
{
    return luab_priv_get(L, &luab_cli_check(L)->ctx);
}

/* applet:set_priv(v) */
static int luab_cli_set_priv(lua_State *L)
{
    return luab_priv_set(L, &luab_cli_check(L)->ctx);
}

static const luaL_Reg luab_cli_methods[] = {
    {"send", luab_cli_send},         {"getline", luab_cli_receive},
    {"receive", luab_cli_receive},   {"get_priv", luab_cli_get_priv},
    {"set_priv", luab_cli_set_priv}, {NULL, NULL},
};

/* Fills the row <row> for the command <path> (words joined by blanks). */
static void luab_cli_row(struct cli_cmd *row, struct luab_cli_fn *fn,
                         const char *path, const char *usage, int ref)
{
    char *args[CLI_ARGS_MAX];
    int n, i;

    fn->path = xstrdup(path);
    fn->words = xstrdup(path);
    fn->ref = ref;
    n = cli_split(fn->words, args);
    for (i = 0; i < n && i < CLI_WORDS_MAX; i++)
        row->words[i] = args[i];
    row->usage = xstrdup(usage);
    row->level = CLI_LVL_USER; /* as HAProxy: the script decides */
    row->flags = CLI_F_WRITE;
    row->fn = luab_cli_call;
    row->arg = fn;
}

int luab_cli_worker_init(struct luab_state *st)
{
    lua_State *L = st->L;
    int n = 0;

    luab_class_new(L, LUAB_MT_APPLET_CLI, luab_cli_methods);
    if (lua_getfield(L, LUA_REGISTRYINDEX, LUAB_CLI_KEY) != LUA_TTABLE) {
        lua_pop(L, 1);
        return RC_OK;
    }
    for (lua_pushnil(L); lua_next(L, -2) != 0; lua_pop(L, 1))
        n++;
    luab_cli_rows = xcalloc((size_t)n + 1, sizeof(*luab_cli_rows));
    luab_cli_fns = xcalloc((size_t)n, sizeof(*luab_cli_fns));
    n = 0;
    for (lua_pushnil(L); lua_next(L, -2) != 0; lua_pop(L, 1)) {
        const char *path = lua_tostring(L, -2);
        const char *usage;
        int ref;

        lua_getfield(L, -1, "usage");
        usage = lua_tostring(L, -1);
        lua_getfield(L, -2, "fn");
        ref = luaL_ref(L, LUA_REGISTRYINDEX);
        luab_cli_row(&luab_cli_rows[n], &luab_cli_fns[n], path,
                     usage != NULL ? usage : path, ref);
        lua_pop(L, 1);
        n++;
    }
    lua_pop(L, 1);
    luab_cli_nfns = n;
    if (n > 0 && cli_register(luab_cli_rows) != RC_OK) {
        log_alert("worker %d: too many runtime API command tables",
                  worker_id());
        return RC_ERR;
    }
    return RC_OK;
}

void luab_cli_each_stats(luab_stats_cb cb, void *arg)
{
    int i;

    for (i = 0; i < luab_cli_nfns; i++)
        cb("cli", luab_cli_fns[i].path, &luab_cli_fns[i].stats, arg);
}

/* One line of "show lua". */
static void luab_cli_show_one(const char *what, const char *name,
                              const struct luab_stats *s, void *arg)
{
    cli_printf(arg, "%s %s %llu %llu %llu %.3f %.3f\n", what, name, s->calls,
               s->errors, s->yields, (double)s->total_ns / LUAB_NS_PER_MS,
               (double)s->max_ns / LUAB_NS_PER_MS);
}

/* "show lua": this worker's per-script figures. */
static int luab_cli_show(struct cli_req *req, int argc, char **args, void *arg)
{
    struct luab_state *st = luab_state_peek(worker_cfg());

    cli_printf(req, "# kind name calls errors yields cpu_total_ms "
                    "cpu_max_ms\n");
    if (st != NULL)
        luab_guard_each_stats(st, luab_cli_show_one, req);
    return RC_OK;
}

static const struct cli_cmd luab_cli_cmds[] = {
    {{"show", "lua", NULL},
     "show lua                                : report the Lua functions' "
     "calls, errors, yields and CPU time",
     CLI_LVL_USER,
     0,
     luab_cli_show,
     NULL},
    {{NULL}, NULL, 0, 0, NULL, NULL},
};

void luab_cli_init(void)
{
    cli_register(luab_cli_cmds);
}
