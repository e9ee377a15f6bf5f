/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* The Fetches and Converters classes (txn.f, txn.sf, txn.c, txn.sc and the
 * same on applets), built from core's sample registry when a state is
 * created: every native fetch and converter becomes a method whose name has
 * '.', '-' and '+' replaced by '_'. Arguments go through the keyword's own
 * argument checker. Also the conversions between samples and Lua values
 * that variables and lua.NAME fetches share. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "core/errors.h"
#include "core/sample.h"
#include "lua_api/luab.h"

/* Object slot telling f from sf (and c from sc). */
#define LUAB_STRMODE_KEY 1

void luab_smp_push(lua_State *L, struct sample *smp, int ok, int strmode,
                   const struct smp_env *env)
{
    char buf[INET6_ADDRSTRLEN];

    if (!ok) {
        if (strmode)
            lua_pushliteral(L, "");
        else
            lua_pushnil(L);
        return;
    }
    switch (smp->type) {
    case SMP_T_BOOL:
    case SMP_T_SINT:
        if (strmode)
            lua_pushfstring(L, "%I", (LUA_INTEGER)smp->data.sint);
        else
            lua_pushinteger(L, (lua_Integer)smp->data.sint);
        break;
    case SMP_T_IPV4:
        inet_ntop(AF_INET, &smp->data.ipv4, buf, sizeof(buf));
        lua_pushstring(L, buf);
        break;
    case SMP_T_IPV6:
        inet_ntop(AF_INET6, &smp->data.ipv6, buf, sizeof(buf));
        lua_pushstring(L, buf);
        break;
    case SMP_T_STR:
    case SMP_T_BIN:
    case SMP_T_METH:
        lua_pushlstring(L, smp->data.str.ptr ? smp->data.str.ptr : "",
                        smp->data.str.len);
        break;
    default:
        luab_smp_push(L, smp, 0, strmode, env);
        break;
    }
}

int luab_smp_from_lua(lua_State *L, int idx, struct sample *smp,
                      const struct smp_env *env)
{
    const char *s;
    size_t len;

    memset(smp, 0, sizeof(*smp));
    switch (lua_type(L, idx)) {
    case LUA_TNUMBER:
        /* as HAProxy: a float without an exact integer value gives 0 */
        smp->type = SMP_T_SINT;
        smp->data.sint = lua_tointeger(L, idx);
        return 1;
    case LUA_TBOOLEAN:
        smp->type = SMP_T_BOOL;
        smp->data.sint = lua_toboolean(L, idx);
        return 1;
    case LUA_TSTRING:
        s = lua_tolstring(L, idx, &len);
        if (env != NULL)
            return sample_set_str_copy(smp, SMP_T_STR, s, len, env);
        smp->type = SMP_T_STR;
        smp->data.str.ptr = s;
        smp->data.str.len = len;
        return 1;
    default: /* nil, table, function...: HAProxy stores boolean false */
        smp->type = SMP_T_BOOL;
        smp->data.sint = 0;
        return 1;
    }
}

/* Parses the Lua arguments from <first> on with <kw>'s argument checker
 * (through <init>); raises a Lua error in HAProxy's words. */
static void
luab_fetches_args(lua_State *L, int first, const char *kwname,
                  int (*init)(const void *kw, int argc, const char *const *argv,
                              struct arg *out, int maxargs, char **err),
                  const void *kw, struct arg *out)
{
    const char *argv[SAMPLE_MAX_ARGS];
    int argc = lua_gettop(L) - first + 1, i;
    char *err = NULL;

    if (argc < 0)
        argc = 0;
    if (argc > SAMPLE_MAX_ARGS)
        luaL_error(L, "'%s': too many arguments", kwname);
    for (i = 0; i < argc; i++)
        argv[i] = luaL_checkstring(L, first + i);
    if (init(kw, argc, argv, out, SAMPLE_MAX_ARGS + 1, &err) >= 0)
        return;
    lua_pushfstring(L, "'%s': %s", kwname, err ? err : "invalid arguments");
    free(err);
    lua_error(L);
}

/* sample_fetch_args_init with a generic keyword pointer. */
static int luab_fetch_args_init(const void *kw, int argc,
                                const char *const *argv, struct arg *out,
                                int maxargs, char **err)
{
    return sample_fetch_args_init(kw, argc, argv, out, maxargs, err);
}

/* sample_conv_args_init with a generic keyword pointer. */
static int luab_conv_args_init(const void *kw, int argc,
                               const char *const *argv, struct arg *out,
                               int maxargs, char **err)
{
    return sample_conv_args_init(kw, argc, argv, out, maxargs, err);
}

/* 1 if the object at 1 is the string-returning variant (sf, sc). */
static int luab_fetches_strmode(lua_State *L)
{
    int strmode;

    lua_rawgeti(L, 1, LUAB_STRMODE_KEY);
    strmode = lua_toboolean(L, -1);
    lua_pop(L, 1);
    return strmode;
}

/* Every Fetches method: upvalue 1 is the keyword. */
static int luab_fetches_call(lua_State *L)
{
    const struct sample_fetch_kw *kw = lua_touserdata(L, lua_upvalueindex(1));
    struct luab_ctx *ctx = luab_obj_check(L, 1, LUAB_MT_FETCHES);
    int strmode = luab_fetches_strmode(L), ok;
    struct arg args[SAMPLE_MAX_ARGS + 1];
    struct smp_env env;
    struct sample smp;

    if (ctx->kind == LUAB_CTX_SERVICE &&
        (kw->use & (SMP_AVAIL_REQ | SMP_AVAIL_RES)))
        return luaL_error(L,
                          "'%s' needs to access data from channel's "
                          "buffer which is not available in Lua services",
                          kw->name);
    luab_fetches_args(L, 2, kw->name, luab_fetch_args_init, kw, args);
    luab_ctx_env(ctx, &env);
    memset(&smp, 0, sizeof(smp));
    ok = kw->fn(args, &smp, &env, kw->priv);
    /* the sample may point into the arguments (str("abc")): push first */
    if (ok && strmode && smp.type != SMP_T_STR &&
        !sample_cast(&smp, SMP_T_STR, &env))
        ok = 0;
    luab_smp_push(L, &smp, ok, strmode, &env);
    sample_args_release(args);
    return 1;
}

/* Every Converters method: upvalue 1 is the keyword; input at 2. */
static int luab_converters_call(lua_State *L)
{
    const struct sample_conv_kw *kw = lua_touserdata(L, lua_upvalueindex(1));
    struct luab_ctx *ctx = luab_obj_check(L, 1, LUAB_MT_CONVERTERS);
    int strmode = luab_fetches_strmode(L), ok;
    struct arg args[SAMPLE_MAX_ARGS + 1];
    struct smp_env env;
    struct sample smp;

    luaL_checkany(L, 2);
    luab_fetches_args(L, 3, kw->name, luab_conv_args_init, kw, args);
    luab_ctx_env(ctx, &env);
    luab_smp_from_lua(L, 2, &smp, NULL);
    ok = sample_conv_apply(kw, args, &smp, &env);
    if (ok && strmode && smp.type != SMP_T_STR &&
        !sample_cast(&smp, SMP_T_STR, &env))
        ok = 0;
    luab_smp_push(L, &smp, ok, strmode, &env);
    sample_args_release(args);
    return 1;
}

/* Sets methods[name with '.', '-', '+' as '_'] = closure(kw) on the table
 * on top of the stack. */
static void luab_fetches_method(lua_State *L, const char *name, const void *kw,
                                lua_CFunction fn)
{
    char mangled[128];
    size_t i;

    for (i = 0; name[i] != '\0' && i < sizeof(mangled) - 1; i++)
        mangled[i] = strchr(".-+", name[i]) ? '_' : name[i];
    mangled[i] = '\0';
    lua_pushlightuserdata(L, (void *)kw);
    lua_pushcclosure(L, fn, 1);
    lua_setfield(L, -2, mangled);
}

/* sample_fetch_foreach callback. */
static void luab_fetches_add(const struct sample_fetch_kw *kw, void *arg)
{
    luab_fetches_method(arg, kw->name, kw, luab_fetches_call);
}

/* sample_conv_foreach callback. */
static void luab_converters_add(const struct sample_conv_kw *kw, void *arg)
{
    luab_fetches_method(arg, kw->name, kw, luab_converters_call);
}

/* Creates class <mt> whose __index is the table <fill> builds. */
static void luab_fetches_class(lua_State *L, const char *mt,
                               void (*fill)(lua_State *L))
{
    luaL_newmetatable(L, mt);
    lua_newtable(L);
    fill(L);
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);
}

/* Fills the Fetches methods table. */
static void luab_fetches_fill(lua_State *L)
{
    sample_fetch_foreach(luab_fetches_add, L);
}

/* Fills the Converters methods table. */
static void luab_converters_fill(lua_State *L)
{
    sample_conv_foreach(luab_converters_add, L);
}

void luab_fetches_register(lua_State *L)
{
    luab_fetches_class(L, LUAB_MT_FETCHES, luab_fetches_fill);
    luab_fetches_class(L, LUAB_MT_CONVERTERS, luab_converters_fill);
}

/* Sets field <field> of the object at <idx> to a new <mt> object. */
static void luab_fetches_field(lua_State *L, int idx, struct luab_ctx *ctx,
                               const char *mt, int strmode, const char *field)
{
    luab_obj_new(L, ctx, mt);
    lua_pushboolean(L, strmode);
    lua_rawseti(L, -2, LUAB_STRMODE_KEY);
    lua_setfield(L, idx, field);
}

void luab_fetches_attach(lua_State *L, int idx, struct luab_ctx *ctx)
{
    luab_fetches_field(L, idx, ctx, LUAB_MT_FETCHES, 0, "f");
    luab_fetches_field(L, idx, ctx, LUAB_MT_FETCHES, 1, "sf");
    luab_fetches_field(L, idx, ctx, LUAB_MT_CONVERTERS, 0, "c");
    luab_fetches_field(L, idx, ctx, LUAB_MT_CONVERTERS, 1, "sc");
}
