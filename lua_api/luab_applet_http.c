/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* The AppletHTTP class (services registered with 'http'): the request as
 * attributes (method, path, qs, version, headers, length), the response
 * built with set_status/add_header/start_response/send through the HTTP
 * layer's reply functions (which choose chunked or close-delimited framing
 * when no content-length was given), and the request body read with
 * receive/getline. Returning before start_response, or failing, gets the
 * built-in 500 from the HTTP layer. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>

#include <event2/buffer.h>
#include <lauxlib.h>
#include <lua.h>

#include "core/errors.h"
#include "core/stream.h"
#include "http/h1.h"
#include "http/http_ana.h"
#include "lua_api/luab.h"

/* The context behind the AppletHTTP at 1. */
static struct luab_ctx *luab_applet_http_check(lua_State *L)
{
    return luab_obj_check(L, 1, LUAB_MT_APPLET_HTTP);
}

/* applet:set_status(code [, reason]): false for codes out of 100..599. */
static int luab_applet_http_set_status(lua_State *L)
{
    struct luab_ctx *ctx = luab_applet_http_check(L);
    lua_Integer code = luaL_checkinteger(L, 2);
    size_t len = 0;
    const char *reason = luaL_optlstring(L, 3, NULL, &len);

    if (code < 100 || code > 599) {
        lua_pushboolean(L, 0);
        return 1;
    }
    ctx->status = (int)code;
    ctx->reason[0] = '\0';
    if (reason != NULL) {
        if (len >= sizeof(ctx->reason))
            len = sizeof(ctx->reason) - 1;
        memcpy(ctx->reason, reason, len);
        ctx->reason[len] = '\0';
    }
    lua_pushboolean(L, 1);
    return 1;
}

/* applet:add_header(name, value): queued until start_response. */
static int luab_applet_http_add_header(lua_State *L)
{
    struct luab_ctx *ctx = luab_applet_http_check(L);
    lua_Integer n;

    luaL_checkstring(L, 2);
    luaL_checkstring(L, 3);
    if (ctx->hdrs_ref == LUA_NOREF) {
        lua_newtable(L);
        ctx->hdrs_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    }
    lua_rawgeti(L, LUA_REGISTRYINDEX, ctx->hdrs_ref);
    n = (lua_Integer)lua_rawlen(L, -1);
    lua_pushvalue(L, 2);
    lua_rawseti(L, -2, n + 1);
    lua_pushvalue(L, 3);
    lua_rawseti(L, -2, n + 2);
    lua_pushboolean(L, 1); /* HAProxy's answer */
    return 1;
}

/* applet:start_response(): status line and headers to the client. */
static int luab_applet_http_start_response(lua_State *L)
{
    struct luab_ctx *ctx = luab_applet_http_check(L);
    struct ist name, value;
    lua_Integer i;

    if (ctx->resp_started)
        return luaL_error(L, "start_response: response already started");
    if (http_reply_begin(ctx->s, ctx->status, ist_from(ctx->reason)) != RC_OK)
        return luaL_error(L, "start_response: a response was already sent");
    ctx->resp_started = 1;
    if (ctx->hdrs_ref != LUA_NOREF) {
        lua_rawgeti(L, LUA_REGISTRYINDEX, ctx->hdrs_ref);
        for (i = 1; lua_rawgeti(L, -1, i) != LUA_TNIL; i += 2) {
            name.ptr = lua_tolstring(L, -1, &name.len);
            lua_rawgeti(L, -2, i + 1);
            value.ptr = lua_tolstring(L, -1, &value.len);
            http_reply_header(ctx->s, name, value);
            lua_pop(L, 2);
        }
        lua_pop(L, 2);
    }
    http_reply_headers_end(ctx->s);
    return 0;
}

/* Continuation and body of applet:send(data). */
static int luab_applet_http_send_k(lua_State *L, int status, lua_KContext k)
{
    struct luab_ctx *ctx = luab_applet_http_check(L);
    size_t len;
    const char *data = luaL_checklstring(L, 2, &len);

    if (!ctx->resp_started)
        return luaL_error(L, "send: start_response() was not called");
    return luab_applet_send(L, ctx, data, len, luab_applet_http_send_k);
}

/* applet:send(data) */
static int luab_applet_http_send(lua_State *L)
{
    return luab_applet_http_send_k(L, LUA_OK, 0);
}

/* Continuation and body of applet:receive([size]). */
static int luab_applet_http_receive_k(lua_State *L, int status, lua_KContext k)
{
    struct luab_ctx *ctx = luab_applet_http_check(L);
    lua_Integer size = luaL_optinteger(L, 2, -1);

    if (luab_applet_read(L, ctx, 0, size))
        return 1;
    return luab_run_yield(L, LUAB_WAIT_IO, luab_applet_http_receive_k, 0);
}

/* applet:receive([size]) */
static int luab_applet_http_receive(lua_State *L)
{
    return luab_applet_http_receive_k(L, LUA_OK, 0);
}

/* Continuation and body of applet:getline(). */
static int luab_applet_http_getline_k(lua_State *L, int status, lua_KContext k)
{
    struct luab_ctx *ctx = luab_applet_http_check(L);

    if (luab_applet_read(L, ctx, 1, -1))
        return 1;
    return luab_run_yield(L, LUAB_WAIT_IO, luab_applet_http_getline_k, 0);
}

/* applet:getline() */
static int luab_applet_http_getline(lua_State *L)
{
    return luab_applet_http_getline_k(L, LUA_OK, 0);
}

/* applet:get_priv() */
static int luab_applet_http_get_priv(lua_State *L)
{
    return luab_priv_get(L, luab_applet_http_check(L));
}

/* applet:set_priv(v) */
static int luab_applet_http_set_priv(lua_State *L)
{
    return luab_priv_set(L, luab_applet_http_check(L));
}

/* applet:set_var(name, value [, ifexist]) */
static int luab_applet_http_set_var(lua_State *L)
{
    return luab_vars_set(L, luab_applet_http_check(L));
}

/* applet:get_var(name) */
static int luab_applet_http_get_var(lua_State *L)
{
    return luab_vars_get(L, luab_applet_http_check(L));
}

/* applet:unset_var(name) */
static int luab_applet_http_unset_var(lua_State *L)
{
    return luab_vars_unset(L, luab_applet_http_check(L));
}

/* Sets field <name> of the table on top to the slice <v>. */
static void luab_applet_http_field(lua_State *L, const char *name, struct ist v)
{
    lua_pushlstring(L, v.ptr ? v.ptr : "", v.len);
    lua_setfield(L, -2, name);
}

/* applet.length: the content-length, or for a chunked body the payload
 * received so far (HAProxy counts the body it holds when the applet
 * starts; the engine has moved it, decoded, to the applet's input). */
static lua_Integer luab_applet_http_length(struct luab_ctx *ctx,
                                           const struct http_txn *txn)
{
    if (txn->req.body_kind == H1_BODY_CLEN)
        return (lua_Integer)txn->req.body_len;
    return (lua_Integer)evbuffer_get_length(ctx->s->applet_in);
}

/* Builds the AppletHTTP object of <ctx> from its request. */
static void luab_applet_http_push(lua_State *L, struct luab_ctx *ctx)
{
    struct http_txn *txn = http_txn_get(ctx->s);
    const struct http_msg *req = &txn->req;

    luab_obj_new(L, ctx, LUAB_MT_APPLET_HTTP);
    luab_fetches_attach(L, lua_gettop(L), ctx);
    luab_applet_http_field(L, "method", req->meth);
    luab_applet_http_field(L, "path", http_msg_path(req));
    luab_applet_http_field(L, "qs", http_msg_query(req));
    luab_applet_http_field(L, "version", req->ver);
    luab_http_headers_push(L, req);
    lua_setfield(L, -2, "headers");
    lua_pushinteger(L, luab_applet_http_length(ctx, txn));
    lua_setfield(L, -2, "length");
}

/* applet_ops.io of HTTP services. */
static int luab_applet_http_io(struct stream *s, void *arg, void **ctx)
{
    if (http_txn_get(s) == NULL)
        return RC_ERR;
    return luab_applet_io(s, arg, ctx, luab_applet_http_push, "applet http");
}

const struct applet_ops luab_applet_http_ops = {
    .kind = APPLET_HTTP,
    .io = luab_applet_http_io,
    .release = luab_applet_release,
};

static const luaL_Reg luab_applet_http_methods[] = {
    {"set_status", luab_applet_http_set_status},
    {"add_header", luab_applet_http_add_header},
    {"start_response", luab_applet_http_start_response},
    {"send", luab_applet_http_send},
    {"receive", luab_applet_http_receive},
    {"getline", luab_applet_http_getline},
    {"get_priv", luab_applet_http_get_priv},
    {"set_priv", luab_applet_http_set_priv},
    {"set_var", luab_applet_http_set_var},
    {"get_var", luab_applet_http_get_var},
    {"unset_var", luab_applet_http_unset_var},
    {NULL, NULL},
};

void luab_applet_http_register(lua_State *L)
{
    luab_class_new(L, LUAB_MT_APPLET_HTTP, luab_applet_http_methods);
}
