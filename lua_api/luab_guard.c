/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* Two checks HAProxy does not make (issue 7). The blocking-call guard:
 * io.open, io.read, io.lines, io.popen, os.execute, os.remove, os.rename,
 * os.tmpname and the require of a module not loaded yet freeze the whole
 * worker when called while serving; at run time (not in body or init)
 * tune.lua.blocking warn logs each call site once with its file:line,
 * deny raises a Lua error instead, allow says nothing. And the
 * per-script figures: calls, errors, yields, total and maximum Lua CPU
 * time of every registered function, logged when a worker drains. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdio.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "core/log.h"
#include "lua_api/luab.h"

#define LUAB_NS_PER_MS 1e6

/* Registry key of the set of call sites already reported. */
static char luab_guard_sites_key;

/* Fills <where> with "file:line" of the Lua code calling the guard. */
static void luab_guard_where(lua_State *L, char *where, size_t size)
{
    lua_Debug ar;
    int level;

    snprintf(where, size, "?");
    for (level = 1; lua_getstack(L, level, &ar); level++) {
        if (lua_getinfo(L, "Sl", &ar) && ar.currentline > 0) {
            snprintf(where, size, "%s:%d", ar.short_src, ar.currentline);
            return;
        }
    }
}

/* 1 the first time <site> is seen (it is then remembered). */
static int luab_guard_first(lua_State *L, const char *site)
{
    int seen;

    lua_rawgetp(L, LUA_REGISTRYINDEX, &luab_guard_sites_key);
    seen = lua_getfield(L, -1, site) != LUA_TNIL;
    lua_pop(L, 1);
    if (!seen) {
        lua_pushboolean(L, 1);
        lua_setfield(L, -2, site);
    }
    lua_pop(L, 1);
    return !seen;
}

/* 1 if this call of the guarded function named <name> blocks: every call
 * but a require of a module already loaded. */
static int luab_guard_blocks(lua_State *L, const char *name)
{
    int loaded;

    if (strcmp(name, "require") != 0)
        return 1;
    if (lua_type(L, 1) != LUA_TSTRING)
        return 0; /* require's own error */
    lua_getfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
    loaded = lua_getfield(L, -1, lua_tostring(L, 1)) != LUA_TNIL;
    lua_pop(L, 2);
    return !loaded;
}

/* Every guarded function: upvalue 1 is the original, 2 its name. */
static int luab_guard_call(lua_State *L)
{
    const char *name = lua_tostring(L, lua_upvalueindex(2));
    enum luab_blocking mode = luab_state_of(L)->blocking;
    char where[256], site[320];

    if (mode != LUAB_BLOCKING_ALLOW && luab_run_active(L) &&
        luab_guard_blocks(L, name)) {
        luab_guard_where(L, where, sizeof(where));
        if (mode == LUAB_BLOCKING_DENY)
            return luaL_error(L,
                              "blocking call '%s' refused at run time "
                              "(tune.lua.blocking deny)",
                              name);
        snprintf(site, sizeof(site), "%s@%s", name, where);
        if (luab_guard_first(L, site))
            log_warning("Lua: blocking call '%s' at %s while serving "
                        "freezes the worker (tune.lua.blocking)",
                        name, where);
    }
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
    return lua_gettop(L);
}

/* Replaces <lib>.<fn> (or the global <fn> if <lib> is NULL) by a guard. */
static void luab_guard_wrap(lua_State *L, const char *lib, const char *fn,
                            const char *name)
{
    if (lib != NULL)
        lua_getglobal(L, lib);
    else
        lua_pushglobaltable(L);
    if (lua_getfield(L, -1, fn) != LUA_TFUNCTION) {
        lua_pop(L, 2);
        return;
    }
    lua_pushstring(L, name);
    lua_pushcclosure(L, luab_guard_call, 2);
    lua_setfield(L, -2, fn);
    lua_pop(L, 1);
}

void luab_guard_register(lua_State *L)
{
    static const char *const guarded[][2] = {
        {"io", "open"},   {"io", "read"},    {"io", "lines"},
        {"io", "popen"},  {"os", "execute"}, {"os", "remove"},
        {"os", "rename"}, {"os", "tmpname"},
    };
    char name[32];
    size_t i;

    lua_newtable(L);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &luab_guard_sites_key);
    for (i = 0; i < sizeof(guarded) / sizeof(guarded[0]); i++) {
        snprintf(name, sizeof(name), "%s.%s", guarded[i][0], guarded[i][1]);
        luab_guard_wrap(L, guarded[i][0], guarded[i][1], name);
    }
    luab_guard_wrap(L, NULL, "require", "require");
}

/* Logs the figures <s> of <what> '<name>' if it ran. */
static void luab_guard_log_one(const char *what, const char *name,
                               const struct luab_stats *s, void *arg)
{
    if (s->calls == 0)
        return;
    log_notice("Lua %s '%s': calls=%llu errors=%llu yields=%llu "
               "cpu_total_ms=%.3f cpu_max_ms=%.3f",
               what, name, s->calls, s->errors, s->yields,
               (double)s->total_ns / LUAB_NS_PER_MS,
               (double)s->max_ns / LUAB_NS_PER_MS);
}

void luab_guard_each_stats(struct luab_state *st, luab_stats_cb cb, void *arg)
{
    static const char *const kinds[] = {"action", "service", "service", "fetch",
                                        "converter"};
    const struct luab_fn *fn;

    for (fn = st->fns; fn != NULL; fn = fn->next)
        cb(kinds[fn->kind], fn->name, &fn->stats, arg);
    cb("tasks", "*", &st->task_stats, arg);
    luab_cli_each_stats(cb, arg);
}

void luab_guard_log_stats(struct luab_state *st)
{
    luab_guard_each_stats(st, luab_guard_log_one, NULL);
}
