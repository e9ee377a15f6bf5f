/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* The Channel class (txn.req, txn.res) on TCP streams: the client's bytes
 * that tcp-request content rules inspect are the input buffer of the
 * session's client connection, which the TCP layer forwards (or gives to
 * a service) once the rules are done. The bytes a script forwards with
 * send() or forward() stay at the front of that buffer and count as the
 * channel's output, so later reads skip them. Reads that need more bytes
 * than have arrived wait (in actions that may yield) until the client
 * sends more or closes. On HTTP streams only input, output, may_recv,
 * is_full and is_resp are allowed, as in HAProxy. txn.res of a TCP stream
 * is the server's bytes that tcp-response rules judge, before they reach
 * the client (the stream layer's res_buf). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <lauxlib.h>
#include <lua.h>

#include "core/conn.h"
#include "core/stream.h"
#include "http/http_ana.h"
#include "lua_api/luab.h"

#define LUAB_MT_CHANNEL  "luab.Channel"
#define LUAB_CHN_RES_KEY 1           /* object slot: 1 for txn.res */
#define LUAB_CHN_FULL    (64 * 1024) /* the TCP layer's forwarding window */

/* A channel being used by a method. */
struct luab_chn {
    struct luab_ctx *ctx;
    struct evbuffer *buf; /* NULL: no data reachable (HTTP) */
    int is_resp;
    int http;
    int more;     /* more bytes may still arrive */
    size_t *fwdp; /* the context's count of output bytes of this side */
    size_t fwd;   /* output bytes at the front of <buf> */
};

/* Finds the bytes of the request or response side of stream <s>. */
static void luab_chn_locate(struct luab_chn *c, struct stream *s)
{
    struct conn *conn = s->sess->conn;

    if (!c->is_resp) {
        c->buf = conn != NULL ? conn_input(conn) : NULL;
        c->more = conn != NULL && (conn_enabled(conn) & CONN_RD);
        c->fwdp = &c->ctx->chn_fwd;
    } else {
        c->buf = s->ops->res_buf != NULL ? s->ops->res_buf(s, &c->more) : NULL;
        c->fwdp = &c->ctx->chn_res_fwd;
    }
    if (c->buf == NULL)
        return;
    if (*c->fwdp > evbuffer_get_length(c->buf))
        *c->fwdp = evbuffer_get_length(c->buf);
    c->fwd = *c->fwdp;
}

/* Fills <c> from the Channel at 1. With <data>, raises HAProxy's errors
 * where the bytes cannot be reached. */
static void luab_chn_check(lua_State *L, struct luab_chn *c, int data)
{
    struct stream *s;

    c->ctx = luab_obj_check(L, 1, LUAB_MT_CHANNEL);
    s = c->ctx->s;
    lua_rawgeti(L, 1, LUAB_CHN_RES_KEY);
    c->is_resp = lua_toboolean(L, -1);
    lua_pop(L, 1);
    c->http = s != NULL && http_txn_get(s) != NULL;
    c->buf = NULL;
    c->more = 0;
    c->fwdp = NULL;
    c->fwd = 0;
    if (s != NULL)
        luab_chn_locate(c, s);
    if (c->http) /* HTTP channels tell their state, never their bytes */
        c->buf = NULL;
    if (!data)
        return;
    if (c->http)
        luaL_error(L, "Cannot manipulate HAProxy channels in HTTP mode.");
    if (c->buf == NULL)
        luaL_error(L, "the %s channel holds no data here",
                   c->is_resp ? "response" : "request");
}

/* Input bytes (after the output part). */
static size_t luab_chn_input(const struct luab_chn *c)
{
    return c->buf ? evbuffer_get_length(c->buf) - c->fwd : 0;
}

/* 1 if more input may still arrive. */
static int luab_chn_may_recv(const struct luab_chn *c)
{
    return c->more && luab_chn_input(c) < LUAB_CHN_FULL;
}

/* Resolves an (offset, length) pair at <oi>, <li> against the input:
 * a negative offset counts from the end, length -1 (or absent) means up
 * to the end. Sets *<off> and *<len> (clamped); returns 1 if the whole
 * span requested is there. */
static int luab_chn_span(lua_State *L, const struct luab_chn *c, int oi, int li,
                         size_t *off, size_t *len)
{
    size_t in = luab_chn_input(c);
    lua_Integer o = luaL_optinteger(L, oi, 0), n = luaL_optinteger(L, li, -1);

    luaL_argcheck(L, n >= -1, li, "invalid length");
    if (o < 0)
        o = (lua_Integer)in + o < 0 ? 0 : (lua_Integer)in + o;
    *off = (size_t)o > in ? in : (size_t)o;
    if (n == -1) {
        *len = in - *off;
        return 1;
    }
    *len = (size_t)n > in - *off ? in - *off : (size_t)n;
    return *len == (size_t)n;
}

/* Pushes <len> input bytes from <off> without consuming them. */
static void luab_chn_peek(lua_State *L, const struct luab_chn *c, size_t off,
                          size_t len)
{
    struct evbuffer_ptr p;
    luaL_Buffer b;
    char *dst = luaL_buffinitsize(L, &b, len);

    evbuffer_ptr_set(c->buf, &p, c->fwd + off, EVBUFFER_PTR_SET);
    evbuffer_copyout_from(c->buf, &p, dst, len);
    luaL_pushresultsize(&b, len);
}

/* Replaces <del> input bytes at <off> with <ins>. */
static void luab_chn_splice(const struct luab_chn *c, size_t off, size_t del,
                            const char *ins, size_t inslen)
{
    struct evbuffer *head = evbuffer_new();

    if (head == NULL)
        return;
    evbuffer_remove_buffer(c->buf, head, c->fwd + off);
    evbuffer_drain(c->buf, del);
    if (inslen > 0)
        evbuffer_prepend(c->buf, ins, inslen);
    evbuffer_prepend_buffer(c->buf, head);
    evbuffer_free(head);
}

/* 1 if a read short of bytes should wait for more: more may come and
 * the run may wait; otherwise it answers with what is there. */
static int luab_chn_should_wait(lua_State *L, const struct luab_chn *c)
{
    return luab_chn_may_recv(c) && luab_run_may_wait(L);
}

/* Continuation and body of chn:data([off [, len]]). */
static int luab_chn_data_k(lua_State *L, int status, lua_KContext k)
{
    struct luab_chn c;
    size_t off, len;
    int whole;

    luab_chn_check(L, &c, 1);
    whole = luab_chn_span(L, &c, 2, 3, &off, &len);
    if ((!whole || len == 0) && luab_chn_should_wait(L, &c))
        return luab_run_yield(L, LUAB_WAIT_IO, luab_chn_data_k, 0);
    if (len == 0 && off >= luab_chn_input(&c) && !luab_chn_may_recv(&c)) {
        lua_pushnil(L);
        return 1;
    }
    luab_chn_peek(L, &c, off, len);
    return 1;
}

/* chn:data([off [, len]]) */
static int luab_chn_data(lua_State *L)
{
    lua_settop(L, 3);
    return luab_chn_data_k(L, LUA_OK, 0);
}

/* The length of the first line of the input from <off> (with its LF), or
 * 0 if there is no LF yet. */
static size_t luab_chn_line_len(const struct luab_chn *c, size_t off)
{
    struct evbuffer_ptr p;

    evbuffer_ptr_set(c->buf, &p, c->fwd + off, EVBUFFER_PTR_SET);
    p = evbuffer_search(c->buf, "\n", 1, &p);
    return p.pos < 0 ? 0 : (size_t)p.pos + 1 - c->fwd - off;
}

/* Continuation and body of chn:line([off [, len]]). */
static int luab_chn_line_k(lua_State *L, int status, lua_KContext k)
{
    struct luab_chn c;
    size_t off, len, n;

    luab_chn_check(L, &c, 1);
    luab_chn_span(L, &c, 2, 3, &off, &len);
    n = luab_chn_line_len(&c, off);
    if (n == 0 && luab_chn_should_wait(L, &c))
        return luab_run_yield(L, LUAB_WAIT_IO, luab_chn_line_k, 0);
    if (n == 0 && len == 0 && !luab_chn_may_recv(&c)) {
        lua_pushnil(L);
        return 1;
    }
    luab_chn_peek(L, &c, off, n == 0 || n > len ? len : n);
    return 1;
}

/* chn:line([off [, len]]) */
static int luab_chn_line(lua_State *L)
{
    lua_settop(L, 3);
    return luab_chn_line_k(L, LUA_OK, 0);
}

/* chn:set(str [, off [, len]]): replaces the span; returns the length
 * copied. */
static int luab_chn_set(lua_State *L)
{
    struct luab_chn c;
    size_t slen, off, len;
    const char *str;

    luab_chn_check(L, &c, 1);
    str = luaL_checklstring(L, 2, &slen);
    luab_chn_span(L, &c, 3, 4, &off, &len);
    luab_chn_splice(&c, off, len, str, slen);
    lua_pushinteger(L, (lua_Integer)slen);
    return 1;
}

/* chn:remove([off [, len]]): returns the number of bytes removed. */
static int luab_chn_remove(lua_State *L)
{
    struct luab_chn c;
    size_t off, len;

    luab_chn_check(L, &c, 1);
    luab_chn_span(L, &c, 2, 3, &off, &len);
    luab_chn_splice(&c, off, len, NULL, 0);
    lua_pushinteger(L, (lua_Integer)len);
    return 1;
}

/* Inserts the string at 2 at input offset <off> (clamped); pushes its
 * length. */
static int luab_chn_insert_at(lua_State *L, struct luab_chn *c, lua_Integer off)
{
    size_t slen, in = luab_chn_input(c);
    const char *str = luaL_checklstring(L, 2, &slen);

    if (off < 0)
        off = (lua_Integer)in + off + 1 < 0 ? 0 : (lua_Integer)in + off + 1;
    if ((size_t)off > in)
        off = (lua_Integer)in;
    luab_chn_splice(c, (size_t)off, 0, str, slen);
    lua_pushinteger(L, (lua_Integer)slen);
    return 1;
}

/* chn:append(str) */
static int luab_chn_append(lua_State *L)
{
    struct luab_chn c;

    luab_chn_check(L, &c, 1);
    return luab_chn_insert_at(L, &c, -1);
}

/* chn:prepend(str) */
static int luab_chn_prepend(lua_State *L)
{
    struct luab_chn c;

    luab_chn_check(L, &c, 1);
    return luab_chn_insert_at(L, &c, 0);
}

/* chn:insert(str [, off]) */
static int luab_chn_insert(lua_State *L)
{
    struct luab_chn c;

    luab_chn_check(L, &c, 1);
    return luab_chn_insert_at(L, &c, luaL_optinteger(L, 3, 0));
}

/* chn:send(str): injects <str> as output, forwarded with the rest. */
static int luab_chn_send(lua_State *L)
{
    struct luab_chn c;
    size_t slen;

    luab_chn_check(L, &c, 1);
    luaL_checklstring(L, 2, &slen);
    luab_chn_insert_at(L, &c, 0);
    *c.fwdp += slen;
    return 1;
}

/* Continuation and body of chn:forward(n): the number still to forward is
 * the context <k>; returns the number forwarded. */
static int luab_chn_forward_k(lua_State *L, int status, lua_KContext k)
{
    struct luab_chn c;
    size_t in, n;
    lua_Integer left = (lua_Integer)k;

    luab_chn_check(L, &c, 1);
    in = luab_chn_input(&c);
    n = (size_t)left < in ? (size_t)left : in;
    *c.fwdp += n;
    left -= (lua_Integer)n;
    if (left > 0 && luab_chn_should_wait(L, &c))
        return luab_run_yield(L, LUAB_WAIT_IO, luab_chn_forward_k,
                              (lua_KContext)left);
    lua_pushinteger(L, luaL_checkinteger(L, 2) - left);
    return 1;
}

/* chn:forward(n) */
static int luab_chn_forward(lua_State *L)
{
    lua_Integer n = luaL_checkinteger(L, 2);

    luaL_argcheck(L, n >= 0, 2, "invalid length");
    lua_settop(L, 2);
    return luab_chn_forward_k(L, LUA_OK, (lua_KContext)n);
}

/* chn:input() / get_in_len() */
static int luab_chn_input_l(lua_State *L)
{
    struct luab_chn c;

    luab_chn_check(L, &c, 0);
    lua_pushinteger(L, (lua_Integer)luab_chn_input(&c));
    return 1;
}

/* chn:output() / get_out_len() */
static int luab_chn_output(lua_State *L)
{
    struct luab_chn c;

    luab_chn_check(L, &c, 0);
    lua_pushinteger(L, (lua_Integer)c.fwd);
    return 1;
}

/* chn:may_recv() */
static int luab_chn_may_recv_l(lua_State *L)
{
    struct luab_chn c;

    luab_chn_check(L, &c, 0);
    lua_pushboolean(L, luab_chn_may_recv(&c));
    return 1;
}

/* chn:is_full() */
static int luab_chn_is_full(lua_State *L)
{
    struct luab_chn c;

    luab_chn_check(L, &c, 0);
    lua_pushboolean(L, luab_chn_input(&c) >= LUAB_CHN_FULL);
    return 1;
}

/* chn:is_resp() */
static int luab_chn_is_resp(lua_State *L)
{
    struct luab_chn c;

    luab_chn_check(L, &c, 0);
    lua_pushboolean(L, c.is_resp);
    return 1;
}

/* chn:dup(): all the input, kept. */
static int luab_chn_dup(lua_State *L)
{
    struct luab_chn c;

    luab_chn_check(L, &c, 1);
    luab_chn_peek(L, &c, 0, luab_chn_input(&c));
    return 1;
}

/* chn:get(): all the input, consumed. */
static int luab_chn_get(lua_State *L)
{
    struct luab_chn c;
    size_t n;

    luab_chn_check(L, &c, 1);
    n = luab_chn_input(&c);
    luab_chn_peek(L, &c, 0, n);
    luab_chn_splice(&c, 0, n, NULL, 0);
    return 1;
}

/* Continuation and body of chn:getline(): one line, consumed. */
static int luab_chn_getline_k(lua_State *L, int status, lua_KContext k)
{
    struct luab_chn c;
    size_t n;

    luab_chn_check(L, &c, 1);
    n = luab_chn_line_len(&c, 0);
    if (n == 0 && luab_chn_should_wait(L, &c))
        return luab_run_yield(L, LUAB_WAIT_IO, luab_chn_getline_k, 0);
    if (n == 0)
        n = luab_chn_input(&c);
    luab_chn_peek(L, &c, 0, n);
    luab_chn_splice(&c, 0, n, NULL, 0);
    return 1;
}

/* chn:getline() */
static int luab_chn_getline(lua_State *L)
{
    lua_settop(L, 1);
    return luab_chn_getline_k(L, LUA_OK, 0);
}

static const luaL_Reg luab_chn_methods[] = {
    {"data", luab_chn_data},
    {"line", luab_chn_line},
    {"set", luab_chn_set},
    {"remove", luab_chn_remove},
    {"append", luab_chn_append},
    {"prepend", luab_chn_prepend},
    {"insert", luab_chn_insert},
    {"send", luab_chn_send},
    {"forward", luab_chn_forward},
    {"input", luab_chn_input_l},
    {"output", luab_chn_output},
    {"may_recv", luab_chn_may_recv_l},
    {"is_full", luab_chn_is_full},
    {"is_resp", luab_chn_is_resp},
    {"get", luab_chn_get},
    {"dup", luab_chn_dup},
    {"getline", luab_chn_getline},
    {"get_in_len", luab_chn_input_l},
    {"get_out_len", luab_chn_output},
    {NULL, NULL},
};

/* Sets field <name> of the object at <idx> to a Channel (<is_resp>). */
static void luab_channel_field(lua_State *L, int idx, struct luab_ctx *ctx,
                               int is_resp, const char *name)
{
    luab_obj_new(L, ctx, LUAB_MT_CHANNEL);
    lua_pushboolean(L, is_resp);
    lua_rawseti(L, -2, LUAB_CHN_RES_KEY);
    lua_setfield(L, idx, name);
}

void luab_channel_attach(lua_State *L, int idx, struct luab_ctx *ctx)
{
    luab_channel_field(L, idx, ctx, 0, "req");
    luab_channel_field(L, idx, ctx, 1, "res");
}

void luab_channel_register(lua_State *L)
{
    luab_class_new(L, LUAB_MT_CHANNEL, luab_chn_methods);
}
