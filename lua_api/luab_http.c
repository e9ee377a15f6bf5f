/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* The HTTP class (txn.http on HTTP streams): read and edit the request and
 * response heads from actions and fetches. As in HAProxy since issue #190,
 * req_* functions work only while the request is processed and res_* only
 * on the response side; the other direction raises a Lua error. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "core/action.h"
#include "core/errors.h"
#include "core/pool.h"
#include "core/sample.h"
#include "core/stream.h"
#include "http/http_ana.h"
#include "lua_api/luab.h"

/* The transaction behind the HTTP object at 1, checked for direction
 * <res> (0: request side, 1: response side). */
static struct http_txn *luab_http_check(lua_State *L, int res,
                                        const char *fname)
{
    struct luab_ctx *ctx = luab_obj_check(L, 1, LUAB_MT_HTTP);
    struct http_txn *txn = http_txn_get(ctx->s);
    int on_res = ctx->s->cur_rs == RULESET_HTTP_RES ||
                 ctx->s->cur_rs == RULESET_HTTP_AFTER;

    if (txn == NULL)
        luaL_error(L, "'%s': not an HTTP stream", fname);
    if (on_res != res)
        luaL_error(L, "'%s' is not available on the %s side", fname,
                   on_res ? "response" : "request");
    return txn;
}

void luab_http_headers_push(lua_State *L, const struct http_msg *m)
{
    char name[256];
    unsigned i;
    size_t j, n;

    lua_createtable(L, 0, (int)m->nhdrs);
    for (i = 0; i < m->nhdrs; i++) {
        n = m->hdrs[i].name.len < sizeof(name) ? m->hdrs[i].name.len
                                               : sizeof(name);
        for (j = 0; j < n; j++)
            name[j] = (char)tolower((unsigned char)m->hdrs[i].name.ptr[j]);
        lua_pushlstring(L, name, n);
        if (lua_rawget(L, -2) != LUA_TTABLE) {
            lua_pop(L, 1);
            lua_newtable(L);
            lua_pushlstring(L, name, n);
            lua_pushvalue(L, -2);
            lua_rawset(L, -4);
            lua_pushlstring(L, m->hdrs[i].value.ptr, m->hdrs[i].value.len);
            lua_rawseti(L, -2, 0);
        } else {
            lua_pushlstring(L, m->hdrs[i].value.ptr, m->hdrs[i].value.len);
            lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
        }
        lua_pop(L, 1);
    }
}

/* Reads a string argument as a slice. */
static struct ist luab_http_arg(lua_State *L, int idx)
{
    struct ist s;

    s.ptr = luaL_checklstring(L, idx, &s.len);
    return s;
}

/* add_header/set_header (<replace>). */
static int luab_http_add(lua_State *L, struct http_txn *txn, struct http_msg *m,
                         int replace)
{
    struct ist name = luab_http_arg(L, 2), value = luab_http_arg(L, 3);

    if (replace)
        http_hdr_del(m, name);
    if (http_hdr_add(txn->s, m, name, value) != RC_OK)
        return luaL_error(L, "out of memory");
    return 0;
}

/* rep_header (<per_value> 0) and rep_value: the regex is compiled for the
 * call, as HAProxy does. */
static int luab_http_rep(lua_State *L, struct http_txn *txn, struct http_msg *m,
                         int per_value)
{
    struct ist name = luab_http_arg(L, 2), src = luab_http_arg(L, 3);
    const char *with = luaL_checkstring(L, 4);
    struct sample_regex *re;
    char *err = NULL;
    int rc;

    re = sample_regex_new(src.ptr, src.len, 0, &err);
    if (re == NULL) {
        lua_pushfstring(L, "invalid regex '%s': %s", src.ptr, err);
        free(err);
        return lua_error(L);
    }
    rc = http_hdr_replace(txn->s, m, name, re, with, per_value);
    sample_regex_free(re);
    if (rc != RC_OK)
        luaL_error(L, "out of memory");
    return 0;
}

/* Copies <a>, then <b> if <sep>, into the stream pool as one slice. */
static struct ist luab_http_join(lua_State *L, struct http_txn *txn,
                                 struct ist a, const char *sep, struct ist b)
{
    size_t slen = sep ? strlen(sep) : 0, n = a.len + slen + (sep ? b.len : 0);
    char *p = palloc(txn->s->pool, n + 1);

    if (p == NULL)
        luaL_error(L, "out of memory");
    memcpy(p, a.ptr, a.len);
    if (sep != NULL) {
        memcpy(p + a.len, sep, slen);
        memcpy(p + a.len + slen, b.ptr, b.len);
    }
    p[n] = '\0';
    return (struct ist){p, n};
}

/* set_path keeps the query string, set_query replaces it. */
static void luab_http_set_uri_part(lua_State *L, struct http_txn *txn,
                                   enum luab_http_op op)
{
    struct ist q = http_msg_query(&txn->req), v = luab_http_arg(L, 2);
    int has_q = memchr(txn->req.uri.ptr, '?', txn->req.uri.len) != NULL;

    if (op == LUAB_HTTP_SET_PATH) {
        txn->req.uri = luab_http_join(L, txn, v, has_q ? "?" : NULL, q);
        return;
    }
    if (v.len > 0 && v.ptr[0] == '?') {
        v.ptr++;
        v.len--;
    }
    txn->req.uri = luab_http_join(L, txn, http_msg_path(&txn->req), "?", v);
}

/* set_status(code [, reason]) */
static void luab_http_set_status(lua_State *L, struct http_txn *txn)
{
    lua_Integer code = luaL_checkinteger(L, 2);

    luaL_argcheck(L, code >= 100 && code <= 599, 2, "invalid status code");
    txn->res.status = (int)code;
    if (lua_isstring(L, 3))
        txn->res.reason =
            luab_http_join(L, txn, luab_http_arg(L, 3), NULL, IST(""));
    else
        txn->res.reason = ist_from(http_status_reason((int)code));
}

int luab_http_op(lua_State *L, struct http_txn *txn, int res,
                 enum luab_http_op op)
{
    struct http_msg *m = res ? &txn->res : &txn->req;

    switch (op) {
    case LUAB_HTTP_GET_HEADERS:
        luab_http_headers_push(L, m);
        return 1;
    case LUAB_HTTP_ADD_HEADER:
    case LUAB_HTTP_SET_HEADER:
        return luab_http_add(L, txn, m, op == LUAB_HTTP_SET_HEADER);
    case LUAB_HTTP_DEL_HEADER:
        http_hdr_del(m, luab_http_arg(L, 2));
        return 0;
    case LUAB_HTTP_REP_HEADER:
    case LUAB_HTTP_REP_VALUE:
        return luab_http_rep(L, txn, m, op == LUAB_HTTP_REP_VALUE);
    case LUAB_HTTP_SET_STATUS:
        luab_http_set_status(L, txn);
        return 0;
    case LUAB_HTTP_SET_METHOD:
        txn->req.meth =
            luab_http_join(L, txn, luab_http_arg(L, 2), NULL, IST(""));
        break;
    case LUAB_HTTP_SET_URI:
        txn->req.uri =
            luab_http_join(L, txn, luab_http_arg(L, 2), NULL, IST(""));
        break;
    case LUAB_HTTP_SET_PATH:
    case LUAB_HTTP_SET_QUERY:
        luab_http_set_uri_part(L, txn, op);
        break;
    }
    lua_pushboolean(L, 1);
    return 1;
}

/* A method of the HTTP class: <op> on the side its name says. */
static int luab_http_run(lua_State *L, int res, enum luab_http_op op,
                         const char *fname)
{
    return luab_http_op(L, luab_http_check(L, res, fname), res, op);
}

#define LUAB_HTTP_METHOD(fn, res, op)                                          \
    static int luab_http_##fn(lua_State *L)                                    \
    {                                                                          \
        return luab_http_run(L, res, op, #fn);                                 \
    }

LUAB_HTTP_METHOD(req_get_headers, 0, LUAB_HTTP_GET_HEADERS)
LUAB_HTTP_METHOD(res_get_headers, 1, LUAB_HTTP_GET_HEADERS)
LUAB_HTTP_METHOD(req_add_header, 0, LUAB_HTTP_ADD_HEADER)
LUAB_HTTP_METHOD(res_add_header, 1, LUAB_HTTP_ADD_HEADER)
LUAB_HTTP_METHOD(req_set_header, 0, LUAB_HTTP_SET_HEADER)
LUAB_HTTP_METHOD(res_set_header, 1, LUAB_HTTP_SET_HEADER)
LUAB_HTTP_METHOD(req_del_header, 0, LUAB_HTTP_DEL_HEADER)
LUAB_HTTP_METHOD(res_del_header, 1, LUAB_HTTP_DEL_HEADER)
LUAB_HTTP_METHOD(req_rep_header, 0, LUAB_HTTP_REP_HEADER)
LUAB_HTTP_METHOD(res_rep_header, 1, LUAB_HTTP_REP_HEADER)
LUAB_HTTP_METHOD(req_rep_value, 0, LUAB_HTTP_REP_VALUE)
LUAB_HTTP_METHOD(res_rep_value, 1, LUAB_HTTP_REP_VALUE)
LUAB_HTTP_METHOD(req_set_method, 0, LUAB_HTTP_SET_METHOD)
LUAB_HTTP_METHOD(req_set_uri, 0, LUAB_HTTP_SET_URI)
LUAB_HTTP_METHOD(req_set_path, 0, LUAB_HTTP_SET_PATH)
LUAB_HTTP_METHOD(req_set_query, 0, LUAB_HTTP_SET_QUERY)
LUAB_HTTP_METHOD(res_set_status, 1, LUAB_HTTP_SET_STATUS)

void luab_http_push(lua_State *L, struct luab_ctx *ctx)
{
    if (ctx->s == NULL || http_txn_get(ctx->s) == NULL) {
        lua_pushnil(L);
        return;
    }
    luab_obj_new(L, ctx, LUAB_MT_HTTP);
}

static const luaL_Reg luab_http_methods[] = {
    {"req_get_headers", luab_http_req_get_headers},
    {"res_get_headers", luab_http_res_get_headers},
    {"req_add_header", luab_http_req_add_header},
    {"res_add_header", luab_http_res_add_header},
    {"req_set_header", luab_http_req_set_header},
    {"res_set_header", luab_http_res_set_header},
    {"req_del_header", luab_http_req_del_header},
    {"res_del_header", luab_http_res_del_header},
    {"req_rep_header", luab_http_req_rep_header},
    {"res_rep_header", luab_http_res_rep_header},
    {"req_rep_value", luab_http_req_rep_value},
    {"res_rep_value", luab_http_res_rep_value},
    {"req_set_method", luab_http_req_set_method},
    {"req_set_uri", luab_http_req_set_uri},
    {"req_set_path", luab_http_req_set_path},
    {"req_set_query", luab_http_req_set_query},
    {"res_set_status", luab_http_res_set_status},
    {NULL, NULL},
};

void luab_http_register(lua_State *L)
{
    luab_class_new(L, LUAB_MT_HTTP, luab_http_methods);
}
