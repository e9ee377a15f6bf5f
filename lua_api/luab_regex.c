/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* The Regex class: Regex.new(re, case_sensitive) compiles with the
 * engine's PCRE2 helpers (core/sample.h) and returns true and the object,
 * or false and the compiler's message, as HAProxy does; re:exec(str) says
 * whether it matches and re:match(str) also returns the captures (whole
 * match first, at most 20). The compiled code belongs to the userdata at
 * [0] and is freed by its __gc. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "core/sample.h"
#include "lua_api/luab.h"

#define LUAB_MT_REGEX    "luab.Regex"
#define LUAB_MT_REGEX_UD "luab.RegexUD"
#define LUAB_REGEX_MAX   20 /* captures returned by match() */

/* The userdata at [0] of a Regex object. */
struct luab_regex {
    struct sample_regex *re;
};

/* __gc of the userdata. */
static int luab_regex_gc(lua_State *L)
{
    struct luab_regex *r = luaL_checkudata(L, 1, LUAB_MT_REGEX_UD);

    sample_regex_free(r->re);
    r->re = NULL;
    return 0;
}

/* The compiled regex of the Regex object at 1. */
static const struct sample_regex *luab_regex_check(lua_State *L)
{
    struct luab_regex *r = NULL;

    if (lua_type(L, 1) == LUA_TTABLE) {
        lua_rawgeti(L, 1, 0);
        r = luaL_testudata(L, -1, LUAB_MT_REGEX_UD);
        lua_pop(L, 1);
    }
    if (r == NULL || r->re == NULL)
        luaL_argerror(
            L, 1,
            lua_pushfstring(L, "Regex expected, got %s", luaL_typename(L, 1)));
    return r->re;
}

/* Regex.new(re [, case_sensitive]): true, obj or false, message. */
static int luab_regex_new(lua_State *L)
{
    size_t len;
    const char *src = luaL_checklstring(L, 1, &len);
    int icase = lua_isnoneornil(L, 2) ? 0 : !lua_toboolean(L, 2);
    struct luab_regex *r;
    char *err = NULL;

    lua_createtable(L, 1, 0);
    r = lua_newuserdata(L, sizeof(*r));
    r->re = NULL;
    luaL_setmetatable(L, LUAB_MT_REGEX_UD);
    r->re = sample_regex_new(src, len, icase, &err);
    if (r->re == NULL) {
        lua_pushboolean(L, 0);
        lua_pushstring(L, err ? err : "invalid regex");
        free(err);
        return 2;
    }
    lua_rawseti(L, -2, 0);
    luaL_setmetatable(L, LUAB_MT_REGEX);
    lua_pushboolean(L, 1);
    lua_insert(L, -2);
    return 2;
}

/* re:exec(str): true if it matches. */
static int luab_regex_exec(lua_State *L)
{
    const struct sample_regex *re = luab_regex_check(L);
    size_t len;
    const char *s = luaL_checklstring(L, 2, &len);

    lua_pushboolean(L, sample_regex_match(re, s, len));
    return 1;
}

/* re:match(str): false, or true and the captures. */
static int luab_regex_match(lua_State *L)
{
    const struct sample_regex *re = luab_regex_check(L);
    size_t len, ovec[2 * LUAB_REGEX_MAX];
    const char *s = luaL_checklstring(L, 2, &len);
    int i;

    if (!sample_regex_exec(re, s, len, 0, ovec, LUAB_REGEX_MAX)) {
        lua_pushboolean(L, 0);
        lua_newtable(L); /* HAProxy gives an empty table too */
        return 2;
    }
    lua_pushboolean(L, 1);
    lua_createtable(L, LUAB_REGEX_MAX, 0);
    for (i = 0; i < LUAB_REGEX_MAX && ovec[2 * i] != (size_t)-1; i++) {
        lua_pushlstring(L, s + ovec[2 * i], ovec[2 * i + 1] - ovec[2 * i]);
        lua_rawseti(L, -2, i + 1);
    }
    return 2;
}

static const luaL_Reg luab_regex_methods[] = {
    {"exec", luab_regex_exec},
    {"match", luab_regex_match},
    {NULL, NULL},
};

void luab_regex_register(lua_State *L)
{
    luaL_newmetatable(L, LUAB_MT_REGEX_UD);
    lua_pushcfunction(L, luab_regex_gc);
    lua_setfield(L, -2, "__gc");
    lua_pop(L, 1);
    luab_class_new(L, LUAB_MT_REGEX, luab_regex_methods);
    lua_createtable(L, 0, 1);
    lua_pushcfunction(L, luab_regex_new);
    lua_setfield(L, -2, "new");
    lua_setglobal(L, "Regex");
}
