/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* The StickTable class, reached as Proxy.stktable: tbl:info() describes
 * the table, tbl:lookup(key) copies one entry and tbl:dump([filter])
 * every entry that meets up to four { "data_name", "op", value }
 * conditions, in HAProxy's shapes and with its error messages (returned
 * as nil and a message, not raised). Tables belong to the configuration
 * generation, as the proxies do, so the handle at [0] is a plain pointer.
 * The entries are shared by the workers and copied out of the table one
 * at a time (core/stick_table.h): no table lock is held while Lua runs,
 * so a Lua error (out of memory) can never leave one taken. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdint.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "core/stick_table.h"
#include "lua_api/luab.h"

#define LUAB_MT_STKTABLE "luab.StickTable"
#define LUAB_STK_CONDS   4 /* conditions a dump filter may hold */

/* The table of the StickTable at 1. */
static struct stick_table *luab_stk_check(lua_State *L)
{
    return luab_proxy_handle(L, LUAB_MT_STKTABLE);
}

/* Returns nil and the message <fmt> (with <n> for its %d, if any),
 * HAProxy's way of failing. */
static int luab_stk_fail(lua_State *L, const char *fmt, int n)
{
    lua_pushnil(L);
    lua_pushfstring(L, fmt, n);
    return 2;
}

/* Sets t[name] = <v> on the table on top. */
static void luab_stk_setint(lua_State *L, const char *name, lua_Integer v)
{
    lua_pushinteger(L, v);
    lua_setfield(L, -2, name);
}

/* tbl:info(): type, length, size, used, nopurge, expire, and data (each
 * stored type's period in ms, -1 for those that are not rates). */
static int luab_stk_info(lua_State *L)
{
    struct stick_table *t = luab_stk_check(L);
    int dt;

    lua_createtable(L, 0, 7);
    lua_pushstring(L, stick_key_type_name(t->type));
    lua_setfield(L, -2, "type");
    luab_stk_setint(L, "length", t->key_size);
    luab_stk_setint(L, "size", t->size);
    luab_stk_setint(L, "used", stick_table_used(t));
    lua_pushboolean(L, t->nopurge);
    lua_setfield(L, -2, "nopurge");
    luab_stk_setint(L, "expire", t->expire);
    lua_newtable(L);
    for (dt = 0; dt < STICK_DT_COUNT; dt++)
        if (t->off[dt] >= 0)
            luab_stk_setint(L, stick_dt_name(dt),
                            stick_dt_is_rate(dt) ? (lua_Integer)t->period[dt]
                                                 : -1);
    lua_setfield(L, -2, "data");
    return 1;
}

/* Sets the stored data of <v>, by name, on the table on top. */
static void luab_stk_data(lua_State *L, const struct stick_table *t,
                          const struct stick_view *v)
{
    int dt;

    for (dt = 0; dt < STICK_DT_COUNT; dt++)
        if (t->off[dt] >= 0)
            luab_stk_setint(L, stick_dt_name(dt), (lua_Integer)v->val[dt]);
}

/* tbl:lookup(key): the entry's data with "use" and "expire" (ms left, 0
 * when it never expires), or nil if absent. As HAProxy, a key that is
 * neither a string nor a number, or does not convert to the table's type,
 * finds nothing. */
static int luab_stk_lookup(lua_State *L)
{
    struct stick_table *t = luab_stk_check(L);
    struct stick_view v;
    struct stick_key k;
    const char *s;
    size_t len;

    s = lua_type(L, 2) == LUA_TSTRING || lua_type(L, 2) == LUA_TNUMBER
            ? lua_tolstring(L, 2, &len)
            : NULL;
    if (s == NULL || !stick_key_from_str(t, s, len, &k) ||
        !stick_key_view(t, &k, &v)) {
        lua_pushnil(L);
        return 1;
    }
    lua_createtable(L, 0, 8);
    luab_stk_setint(L, "use", v.refs);
    luab_stk_setint(L, "expire", v.expire_in < 0 ? 0 : v.expire_in);
    luab_stk_data(L, t, &v);
    return 1;
}

/* Reads the triplet on top, filter entry number <n>, into <c>; 0, or
 * the number of results (nil and HAProxy's message) pushed. */
static int luab_stk_cond(lua_State *L, const struct stick_table *t,
                         struct stick_cond *c, int n)
{
    int dt, cmp;

    if (lua_type(L, -1) != LUA_TTABLE || lua_rawlen(L, -1) != 3)
        return luab_stk_fail(L,
                             "Filter table entry must be a triplet: "
                             "{\"data_col\", \"op\", val} (entry #%d)",
                             n);
    if (lua_rawgeti(L, -1, 1) != LUA_TSTRING)
        return luab_stk_fail(
            L, "Filter table data column must be string (entry #%d)", n);
    dt = stick_dt_find(lua_tostring(L, -1));
    if (dt < 0 || t->off[dt] < 0)
        return luab_stk_fail(L,
                             "Filter table data column not present in stick "
                             "table (entry #%d)",
                             n);
    if (lua_rawgeti(L, -2, 2) != LUA_TSTRING)
        return luab_stk_fail(
            L, "Filter table operator must be string (entry #%d)", n);
    cmp = stick_cmp_find(lua_tostring(L, -1));
    if (cmp < 0)
        return luab_stk_fail(L, "Unknown operator in filter table (entry #%d)",
                             n);
    lua_rawgeti(L, -3, 3);
    c->dt = dt;
    c->cmp = cmp;
    c->value = (long long)lua_tointeger(L, -1); /* as HAProxy: 0 if not one */
    lua_pop(L, 3);
    return 0;
}

/* Reads the filter at 2 into <c>: *<n> conditions. Returns 0, or the
 * number of results (nil and HAProxy's message) pushed. */
static int luab_stk_filter(lua_State *L, const struct stick_table *t,
                           struct stick_cond *c, int *n)
{
    int rc;

    *n = 0;
    if (lua_isnoneornil(L, 2))
        return 0;
    if (lua_type(L, 2) != LUA_TTABLE)
        return luab_stk_fail(L, "filter table expected", 0);
    lua_pushnil(L);
    while (lua_next(L, 2) != 0) {
        if (*n >= LUAB_STK_CONDS)
            return luab_stk_fail(L, "Filter table too large (len > %d)",
                                 LUAB_STK_CONDS);
        rc = luab_stk_cond(L, t, &c[*n], *n + 1);
        if (rc != 0)
            return rc;
        ++*n;
        lua_pop(L, 1);
    }
    return 0;
}

/* Pushes the key of <v> as HAProxy's dump does: addresses as text,
 * strings up to their first NUL. Integers are pushed whole, where
 * HAProxy 2.6 gives their first byte only. */
static void luab_stk_key_push(lua_State *L, const struct stick_table *t,
                              const struct stick_view *v)
{
    char buf[STICK_KEY_MAX + 1];
    uint32_t i;

    if (t->type == STICK_KEY_INT) {
        memcpy(&i, v->key.data, sizeof(i));
        lua_pushinteger(L, (lua_Integer)i);
        return;
    }
    stick_key_print(t, &v->key, buf, sizeof(buf));
    lua_pushstring(L, buf);
}

/* tbl:dump([filter]): key -> the data of each entry that meets every
 * condition of <filter>, or nil and a message. HAProxy has no text for
 * binary keys: their table fails as soon as an entry is to be given. */
static int luab_stk_dump(lua_State *L)
{
    struct stick_table *t = luab_stk_check(L);
    struct stick_cond c[LUAB_STK_CONDS];
    struct stick_view v;
    unsigned pos = 0;
    int n, i, rc;

    rc = luab_stk_filter(L, t, c, &n);
    if (rc != 0)
        return rc;
    lua_newtable(L);
    while (stick_table_next(t, &pos, &v)) {
        for (i = 0; i < n && stick_cond_match(&c[i], &v); i++)
            ;
        if (i < n)
            continue;
        if (t->type == STICK_KEY_BIN)
            return luab_stk_fail(L, "Unsupported stick table key type", 0);
        luab_stk_key_push(L, t, &v);
        lua_createtable(L, 0, STICK_DT_COUNT);
        luab_stk_data(L, t, &v);
        lua_settable(L, -3);
    }
    return 1;
}

static const luaL_Reg luab_stk_methods[] = {
    {"info", luab_stk_info},
    {"lookup", luab_stk_lookup},
    {"dump", luab_stk_dump},
    {NULL, NULL},
};

void luab_stktable_push(lua_State *L, struct stick_table *t)
{
    lua_createtable(L, 1, 0);
    lua_pushlightuserdata(L, t);
    lua_rawseti(L, -2, 0);
    luaL_setmetatable(L, LUAB_MT_STKTABLE);
}

void luab_stktable_register(lua_State *L)
{
    luab_class_new(L, LUAB_MT_STKTABLE, luab_stk_methods);
}
