/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* The "core" and "act" global tables: registration of actions, services,
 * fetches, converters, init functions, tasks and runtime API commands
 * (run by luab_cli.c); logging; time, sleeping
 * and yielding; core.done; core.tcp; and the small utilities (concat,
 * tokenize, get_info, get_var, set_nice). Each function checks the context it
 * is called from before doing anything. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>

#include "core/action.h"
#include "core/errors.h"
#include "core/log.h"
#include "core/stats.h"
#include "core/util.h"
#include "core/vars.h"
#include "core/worker.h"
#include "lua_api/luab.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "dev"
#endif

#define LUAB_TASK_MAX_ARGS 4
#define LUAB_CLI_MAX_WORDS 5

/* When the process started, for core.get_info(). */

/* Action facilities, as scripts name them. */
static const struct {
    const char *name;
    enum ruleset rs;
} luab_facilities[] = {
    {"http-req", RULESET_HTTP_REQ},         {"http-res", RULESET_HTTP_RES},
    {"http-after-res", RULESET_HTTP_AFTER}, {"tcp-req", RULESET_TCP_CONT},
    {"tcp-res", RULESET_TCP_RES},
};

/* core.register_action(name, facilities, fn [, nb_args]) */
static int luab_core_register_action(lua_State *L)
{
    const char *name = luaL_checkstring(L, 1);
    unsigned rulesets = 0;
    lua_Integer nb_args = luaL_optinteger(L, 4, 0);
    struct luab_fn *fn;
    size_t i;
    lua_Integer k;

    luab_check_ctx(L, LUAB_CTX_BODY, "register_action");
    luaL_checktype(L, 2, LUA_TTABLE);
    luaL_checktype(L, 3, LUA_TFUNCTION);
    luaL_argcheck(L, nb_args >= 0 && nb_args <= 64, 4, "invalid nb_args");
    for (k = 1; lua_rawgeti(L, 2, k) != LUA_TNIL; k++) {
        const char *f = lua_tostring(L, -1);

        for (i = 0; f && i < sizeof(luab_facilities) / sizeof(*luab_facilities);
             i++)
            if (strcmp(f, luab_facilities[i].name) == 0)
                break;
        if (f == NULL ||
            i == sizeof(luab_facilities) / sizeof(*luab_facilities))
            return luaL_error(L, "lua action environment '%s' is unknown",
                              f ? f : luaL_typename(L, -1));
        rulesets |= RULESET_BIT(luab_facilities[i].rs);
        lua_pop(L, 1);
    }
    fn = luab_fn_add(L, LUAB_FN_ACTION, name, 3);
    fn->rulesets = rulesets;
    fn->nb_args = (int)nb_args;
    return 0;
}

/* core.register_service(name, "tcp"|"http", fn) */
static int luab_core_register_service(lua_State *L)
{
    const char *name = luaL_checkstring(L, 1);
    const char *mode = luaL_checkstring(L, 2);
    enum luab_fn_kind kind;

    luab_check_ctx(L, LUAB_CTX_BODY, "register_service");
    luaL_checktype(L, 3, LUA_TFUNCTION);
    if (strcmp(mode, "tcp") == 0)
        kind = LUAB_FN_SERVICE_TCP;
    else if (strcmp(mode, "http") == 0)
        kind = LUAB_FN_SERVICE_HTTP;
    else
        return luaL_error(L,
                          "Lua service environment '%s' is unknown. "
                          "'tcp' or 'http' are expected.",
                          mode);
    luab_fn_add(L, kind, name, 3);
    return 0;
}

/* core.register_fetches(name, fn) */
static int luab_core_register_fetches(lua_State *L)
{
    const char *name = luaL_checkstring(L, 1);

    luab_check_ctx(L, LUAB_CTX_BODY, "register_fetches");
    luaL_checktype(L, 2, LUA_TFUNCTION);
    luab_fn_add(L, LUAB_FN_FETCH, name, 2);
    return 0;
}

/* core.register_converters(name, fn) */
static int luab_core_register_converters(lua_State *L)
{
    const char *name = luaL_checkstring(L, 1);

    luab_check_ctx(L, LUAB_CTX_BODY, "register_converters");
    luaL_checktype(L, 2, LUA_TFUNCTION);
    luab_fn_add(L, LUAB_FN_CONV, name, 2);
    return 0;
}

/* core.register_init(fn) */
static int luab_core_register_init(lua_State *L)
{
    struct luab_state *st = luab_state_of(L);

    luab_check_ctx(L, LUAB_CTX_BODY, "register_init");
    luaL_checktype(L, 1, LUA_TFUNCTION);
    st->init_refs =
        xrealloc(st->init_refs, sizeof(int) * (size_t)(st->ninit + 1));
    lua_pushvalue(L, 1);
    st->init_refs[st->ninit++] = luaL_ref(L, LUA_REGISTRYINDEX);
    return 0;
}

/* Pushes the words of the CLI path at 1 joined by spaces, checking them
 * as HAProxy does (at most 5 strings). */
static void luab_core_cli_path(lua_State *L)
{
    luaL_Buffer b;
    int n = 0;

    luaL_buffinit(L, &b);
    lua_pushnil(L);
    while (lua_next(L, 1) != 0) {
        if (n >= LUAB_CLI_MAX_WORDS)
            luaL_argerror(L, 1,
                          "1st argument must be a table with a maximum "
                          "of 5 entries");
        if (lua_type(L, -1) != LUA_TSTRING)
            luaL_argerror(L, 1,
                          "1st argument must be a table filled with "
                          "strings");
        lua_pop(L, 1);
        n++;
    }
    for (n = 1; lua_rawgeti(L, 1, n) == LUA_TSTRING; n++) {
        if (n > 1)
            luaL_addchar(&b, ' ');
        luaL_addvalue(&b);
    }
    lua_pop(L, 1);
    luaL_pushresult(&b);
}

/* core.register_cli(path, usage, fn): kept in the registry table
 * LUAB_CLI_KEY ("words" -> {usage=, fn=}), from which luab_cli.c
 * registers the runtime API commands. */
static int luab_core_register_cli(lua_State *L)
{
    if (lua_gettop(L) != 3)
        return luaL_error(L, "'register_cli' needs 3 arguments");
    luab_check_ctx(L, LUAB_CTX_BODY, "register_cli");
    if (!lua_istable(L, 1))
        luaL_argerror(L, 1, "1st argument must be a table");
    luaL_checkstring(L, 2);
    if (!lua_isfunction(L, 3))
        luaL_argerror(L, 3,
                      lua_pushfstring(L, "function expected, got %s",
                                      luaL_typename(L, 3)));
    if (lua_getfield(L, LUA_REGISTRYINDEX, LUAB_CLI_KEY) != LUA_TTABLE) {
        lua_pop(L, 1);
        lua_newtable(L);
        lua_pushvalue(L, -1);
        lua_setfield(L, LUA_REGISTRYINDEX, LUAB_CLI_KEY);
    }
    luab_core_cli_path(L);
    lua_createtable(L, 0, 2);
    lua_pushvalue(L, 2);
    lua_setfield(L, -2, "usage");
    lua_pushvalue(L, 3);
    lua_setfield(L, -2, "fn");
    lua_settable(L, -3);
    return 0;
}

/* core.register_task(fn [, a1..a4]): queued for the workers during body
 * and init, started at once in a worker. */
static int luab_core_register_task(lua_State *L)
{
    struct luab_state *st = luab_state_of(L);
    int nargs = lua_gettop(L) - 1, refs[LUAB_TASK_MAX_ARGS + 1], i;
    struct luab_task_def *t;

    luab_check_ctx(L, LUAB_CTX_ANY, "register_task");
    luaL_checktype(L, 1, LUA_TFUNCTION);
    luaL_argcheck(L, nargs <= LUAB_TASK_MAX_ARGS, LUAB_TASK_MAX_ARGS + 2,
                  "at most 4 task arguments");
    for (i = 0; i <= nargs; i++) {
        lua_pushvalue(L, i + 1);
        refs[i] = luaL_ref(L, LUA_REGISTRYINDEX);
    }
    if (worker_id() > 0) {
        if (luab_task_start(st, refs[0], nargs, refs + 1) != RC_OK)
            return luaL_error(L, "cannot start the task");
        return 0;
    }
    t = xcalloc(1, sizeof(*t));
    t->ref = refs[0];
    t->nargs = nargs;
    t->per_thread = st->loading_pt;
    memcpy(t->args, refs + 1, sizeof(int) * (size_t)nargs);
    t->next = st->tasks;
    st->tasks = t;
    return 0;
}

/* Checks a log level argument. */
static int luab_core_level(lua_State *L, int idx)
{
    lua_Integer level = luaL_checkinteger(L, idx);

    if (level < LOG_LVL_EMERG || level > LOG_LVL_DEBUG)
        luaL_argerror(L, idx, "Invalid loglevel.");
    return (int)level;
}

/* core.log(level, msg): to the global loggers, not a proxy's. */
static int luab_core_log(lua_State *L)
{
    int level = luab_core_level(L, 1);

    luab_log(luab_state_of(L), NULL, level, luaL_checkstring(L, 2));
    return 0;
}

/* Shared body of core.Debug/Info/Warning/Alert. */
static int luab_core_log_at(lua_State *L, int level)
{
    luab_log(luab_state_of(L), NULL, level, luaL_checkstring(L, 1));
    return 0;
}

/* core.Debug(msg) */
static int luab_core_debug(lua_State *L)
{
    return luab_core_log_at(L, LOG_LVL_DEBUG);
}

/* core.Info(msg) */
static int luab_core_info(lua_State *L)
{
    return luab_core_log_at(L, LOG_LVL_INFO);
}

/* core.Warning(msg) */
static int luab_core_warning(lua_State *L)
{
    return luab_core_log_at(L, LOG_LVL_WARNING);
}

/* core.Alert(msg) */
static int luab_core_alert(lua_State *L)
{
    return luab_core_log_at(L, LOG_LVL_ALERT);
}

/* core.now(): {sec=, usec=} */
static int luab_core_now(lua_State *L)
{
    struct timeval tv;

    gettimeofday(&tv, NULL);
    lua_createtable(L, 0, 2);
    lua_pushinteger(L, (lua_Integer)tv.tv_sec);
    lua_setfield(L, -2, "sec");
    lua_pushinteger(L, (lua_Integer)tv.tv_usec);
    lua_setfield(L, -2, "usec");
    return 1;
}

/* core.msleep(ms) */
static int luab_core_msleep(lua_State *L)
{
    lua_Integer ms = luaL_checkinteger(L, 1);

    luab_check_ctx(L,
                   LUAB_CTX_YIELD | LUAB_CTX_BODY | LUAB_CTX_INIT |
                       LUAB_CTX_FETCH | LUAB_CTX_CONV,
                   "msleep");
    return luab_run_sleep(L, ms);
}

/* core.sleep(seconds) */
static int luab_core_sleep(lua_State *L)
{
    lua_Integer s = luaL_checkinteger(L, 1);

    luab_check_ctx(L,
                   LUAB_CTX_YIELD | LUAB_CTX_BODY | LUAB_CTX_INIT |
                       LUAB_CTX_FETCH | LUAB_CTX_CONV,
                   "sleep");
    return luab_run_sleep(L, s * 1000);
}

/* Continuation of core.yield: nothing to re-check. */
static int luab_core_yield_k(lua_State *L, int status, lua_KContext k)
{
    return 0;
}

/* core.yield(): let the event loop run, come back at once. */
static int luab_core_yield(lua_State *L)
{
    if (luab_run_current() == NULL)
        return 0;
    return luab_run_yield(L, LUAB_WAIT_NONE, luab_core_yield_k, 0);
}

/* core.done([value]) */
static int luab_core_done(lua_State *L)
{
    int n = lua_gettop(L) > 0 ? 1 : 0;

    lua_settop(L, n);
    return luab_run_exit(L, n);
}

/* core.tcp() */
static int luab_core_tcp(lua_State *L)
{
    luab_check_ctx(L, LUAB_CTX_YIELD, "tcp");
    return luab_socket_new(L);
}

/* core.tokenize(str, separators [, noblank]) */
static int luab_core_tokenize(lua_State *L)
{
    size_t len, i, start = 0;
    const char *s = luaL_checklstring(L, 1, &len);
    const char *seps = luaL_checkstring(L, 2);
    int noblank = lua_toboolean(L, 3);
    lua_Integer n = 0;

    lua_newtable(L);
    for (i = 0; i <= len; i++) {
        if (i < len && (s[i] == '\0' || strchr(seps, s[i]) == NULL))
            continue;
        if (!noblank || i > start) {
            lua_pushlstring(L, s + start, i - start);
            lua_rawseti(L, -2, ++n);
        }
        start = i + 1;
    }
    return 1;
}

/* core.get_info(): the "show info" fields, numbers as integers. */
static int luab_core_get_info(lua_State *L)
{
    struct stats_info info[STATS_INFO_MAX];
    size_t i, n = stats_info(info);
    char *end;

    lua_createtable(L, 0, (int)n);
    for (i = 0; i < n; i++) {
        long long v = strtoll(info[i].value, &end, 10);

        if (info[i].value[0] != '\0' && *end == '\0')
            lua_pushinteger(L, (lua_Integer)v);
        else
            lua_pushstring(L, info[i].value);
        lua_setfield(L, -2, info[i].name);
    }
    return 1;
}

/* Concat:add(str) */
static int luab_concat_add(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    luaL_checkstring(L, 2);
    lua_pushvalue(L, 2);
    lua_rawseti(L, 1, (lua_Integer)lua_rawlen(L, 1) + 1);
    return 0;
}

/* Concat:dump() */
static int luab_concat_dump(lua_State *L)
{
    luaL_Buffer b;
    lua_Integer i, n;

    luaL_checktype(L, 1, LUA_TTABLE);
    n = (lua_Integer)lua_rawlen(L, 1);
    luaL_buffinit(L, &b);
    for (i = 1; i <= n; i++) {
        lua_rawgeti(L, 1, i);
        luaL_addvalue(&b);
    }
    luaL_pushresult(&b);
    return 1;
}

/* core.concat() */
static int luab_core_concat(lua_State *L)
{
    lua_newtable(L);
    luaL_setmetatable(L, LUAB_MT_CONCAT);
    return 1;
}

/* act:wake_time(ms): when an action returning act.YIELD runs again. */
static int luab_act_wake_time(lua_State *L)
{
    lua_Integer ms = luaL_checkinteger(L, lua_gettop(L) > 1 ? 2 : 1);
    struct luab_ctx *ctx = luab_check_ctx(L, LUAB_CTX_ACTION, "wake_time");

    luaL_argcheck(L, ms >= 0 && ms <= 24 * 3600 * 1000, 2, "invalid delay");
    if (ctx != NULL)
        ctx->wake_ms = (int)ms;
    return 0;
}

/* core.get_var(name): a proc.* variable (HAProxy refuses other scopes). */
static int luab_core_get_var(lua_State *L)
{
    size_t len;
    const char *name = luaL_checklstring(L, 1, &len);
    enum vars_scope scope;
    struct ist vname;
    struct sample smp;
    char *err = NULL;

    if (vars_parse_name(name, len, &scope, &vname, &err) != RC_OK) {
        lua_pushfstring(L, "get_var: %s", err ? err : "invalid name");
        free(err);
        return lua_error(L);
    }
    if (scope != VARS_SCOPE_PROC)
        return luaL_error(L, "get_var: Only 'proc' scope allowed");
    memset(&smp, 0, sizeof(smp));
    if (!vars_get(vars_proc(), vname, &smp)) {
        lua_pushnil(L);
        return 1;
    }
    luab_smp_push(L, &smp, 1, 0, NULL);
    return 1;
}

/* core.set_nice(n): accepted; a worker has no task priorities. */
static int luab_core_set_nice(lua_State *L)
{
    lua_Integer n = luaL_checkinteger(L, 1);

    luaL_argcheck(L, n >= -1024 && n <= 1024, 1, "invalid nice value");
    return 0;
}

static const luaL_Reg luab_core_funcs[] = {
    {"register_action", luab_core_register_action},
    {"register_service", luab_core_register_service},
    {"register_fetches", luab_core_register_fetches},
    {"register_converters", luab_core_register_converters},
    {"register_init", luab_core_register_init},
    {"register_task", luab_core_register_task},
    {"register_cli", luab_core_register_cli},
    {"log", luab_core_log},
    {"Debug", luab_core_debug},
    {"Info", luab_core_info},
    {"Warning", luab_core_warning},
    {"Alert", luab_core_alert},
    {"now", luab_core_now},
    {"msleep", luab_core_msleep},
    {"sleep", luab_core_sleep},
    {"yield", luab_core_yield},
    {"done", luab_core_done},
    {"tcp", luab_core_tcp},
    {"tokenize", luab_core_tokenize},
    {"get_info", luab_core_get_info},
    {"concat", luab_core_concat},
    {"get_var", luab_core_get_var},
    {"set_nice", luab_core_set_nice},
    {NULL, NULL},
};

static const luaL_Reg luab_concat_methods[] = {
    {"add", luab_concat_add},
    {"dump", luab_concat_dump},
    {NULL, NULL},
};

/* Sets t[name] = v for the integer constants of a table. */
static void luab_core_const(lua_State *L, const char *name, lua_Integer v)
{
    lua_pushinteger(L, v);
    lua_setfield(L, -2, name);
}

/* Creates the "act" global. */
static void luab_act_register(lua_State *L)
{
    static const char *const names[] = {"CONTINUE", "STOP", "YIELD", "ERROR",
                                        "DONE",     "DENY", "ABORT", "INVALID"};
    size_t i;

    lua_newtable(L);
    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        luab_core_const(L, names[i], (lua_Integer)i);
    lua_pushcfunction(L, luab_act_wake_time);
    lua_setfield(L, -2, "wake_time");
    lua_setglobal(L, "act");
}

void luab_core_register(lua_State *L)
{
    static const char *const levels[] = {"emerg",   "alert",  "crit", "err",
                                         "warning", "notice", "info", "debug"};
    size_t i;

    luab_class_new(L, LUAB_MT_CONCAT, luab_concat_methods);
    luaL_newlib(L, luab_core_funcs);
    for (i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
        luab_core_const(L, levels[i], (lua_Integer)i);
    luab_core_const(L, "silent", -1);
    luab_core_const(L, "thread", 0);
    lua_newtable(L);
    lua_setfield(L, -2, "proxies");
    lua_newtable(L);
    lua_setfield(L, -2, "frontends");
    lua_newtable(L);
    lua_setfield(L, -2, "backends");
    lua_setglobal(L, "core");
    luab_act_register(L);
}
