/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* The HTTPClient class (core.httpclient()): HAProxy's Lua HTTP client.
 * hc:get{url=, headers=, body=, dst=, timeout=} (and head, put, post,
 * delete) sends one HTTP/1.1 request on a fresh bufferevent and returns
 * {status, reason, headers, body}; every wait yields the coroutine, like
 * the cosocket. Both bodies stream: the request body is queued under a
 * high watermark, the response is read under one (the kernel holds the
 * rest) and its body collected in Lua strings, so tune.lua.maxmem bounds
 * it. Failures follow HAProxy, whose client goes through an internal
 * proxy: a server that cannot be reached gives the proxy's 503 page, one
 * that does not answer in time a 504, a bad or missing response a 502;
 * status 0 is a local failure (no socket). Each request is a userdata
 * living on the calling coroutine's stack, finalized by whichever comes
 * first of the end of the call, __gc, or the cleanup registered on the
 * pool of the context that made it (an action's stream that ends while
 * the request waits). URLs are http://IP[:port]/path: no DNS at run time,
 * a host name needs dst; https waits for TLS. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <lauxlib.h>
#include <lua.h>

#include "core/errors.h"
#include "core/ist.h"
#include "core/pool.h"
#include "core/worker.h"
#include "http/h1.h"
#include "http/http_ana.h"
#include "lua_api/luab.h"

#define LUAB_MT_HTTPCLIENT "luab.HTTPClient"
#define LUAB_MT_HC_REQ     "luab.HTTPClientRequest"
#define LUAB_HC_CONNECT_MS 5000 /* httpclient.timeout.connect */
#define LUAB_HC_USER_AGENT "HAProxy"
/* Request body: queue at most HIWAT, then wait until LOWAT are left. */
#define LUAB_HC_HIWAT (64 * 1024)
#define LUAB_HC_LOWAT (16 * 1024)
/* Response: stop reading from the kernel above READ_HIWAT buffered bytes;
 * hand the body to Lua in strings of about FLUSH bytes. */
#define LUAB_HC_READ_HIWAT (256 * 1024)
#define LUAB_HC_FLUSH      (64 * 1024)
#define LUAB_HC_START_ERR  "couldn't start the httpclient"

/* Stack slots of a running request (kept across yields). */
#define LUAB_HC_REQ    1 /* the request userdata (replaces self) */
#define LUAB_HC_ARGS   2 /* the argument table */
#define LUAB_HC_BODY   3 /* request body string, or nil */
#define LUAB_HC_RES    4 /* the result table */
#define LUAB_HC_CHUNKS 5 /* response body pieces */

enum luab_hc_state {
    LUAB_HC_CONNECT, /* waiting for the connection */
    LUAB_HC_SEND,    /* queueing the request body */
    LUAB_HC_HEAD,    /* reading the response head */
    LUAB_HC_RBODY,   /* reading the response body */
    LUAB_HC_DONE,
};

struct luab_hc_cell;

/* One request in flight: the userdata at LUAB_HC_REQ (Lua-owned). */
struct luab_hc {
    struct bufferevent *bev;   /* owns the fd */
    struct luab_hc_cell *cell; /* the pool cleanup's link back to us */
    struct luab_ctx *waiter;   /* context waiting on this request */
    struct h1_msg *msg;        /* response head parser, while reading it */
    struct evbuffer *body;     /* response body not yet handed to Lua */
    struct h1_chunked chunk;
    enum luab_hc_state state;
    int connected, eof, err, timedout;
    int head_req;     /* HEAD: the response has no body */
    int body_kind;    /* enum h1_body_kind of the response */
    uint64_t left;    /* Content-Length bytes still to come */
    size_t sent;      /* request body bytes queued */
    unsigned timeout; /* "timeout" (ms, server inactivity), 0: none */
    int nchunks;      /* strings at LUAB_HC_CHUNKS */
};

/* Lives in the creator's pool: its cleanup finalizes the request unless
 * the request ended first (it clears <hc>). */
struct luab_hc_cell {
    struct luab_hc *hc;
};

/* What the argument table says. */
struct luab_hc_args {
    const char *url, *dst;
    int has_timeout;
    lua_Integer timeout;
};

/* Releases the connection and the buffers of <hc>; idempotent. */
static void luab_hc_finalize(struct luab_hc *hc)
{
    if (hc->bev != NULL)
        bufferevent_free(hc->bev);
    hc->bev = NULL;
    if (hc->body != NULL)
        evbuffer_free(hc->body);
    hc->body = NULL;
    free(hc->msg);
    hc->msg = NULL;
    if (hc->cell != NULL)
        hc->cell->hc = NULL;
    hc->cell = NULL;
    if (hc->waiter != NULL)
        luab_run_set_cancel(hc->waiter, NULL, NULL);
    hc->waiter = NULL;
}

/* Pool cleanup of the creating context. */
static void luab_hc_cleanup(void *arg)
{
    struct luab_hc_cell *cell = arg;

    if (cell->hc != NULL)
        luab_hc_finalize(cell->hc);
}

/* __gc of the request userdata. */
static int luab_hc_gc(lua_State *L)
{
    luab_hc_finalize(luaL_checkudata(L, 1, LUAB_MT_HC_REQ));
    return 0;
}

/* Forgets the waiter (it stopped waiting: released or woken). */
static void luab_hc_cancel(void *arg)
{
    struct luab_hc *hc = arg;

    hc->waiter = NULL;
}

/* Wakes whoever waits on <hc>. */
static void luab_hc_notify(struct luab_hc *hc)
{
    struct luab_ctx *ctx = hc->waiter;

    hc->waiter = NULL;
    if (ctx != NULL)
        luab_run_wake(ctx);
}

/* Data arrived or output drained. */
static void luab_hc_io_cb(struct bufferevent *bev, void *arg)
{
    luab_hc_notify(arg);
}

/* Connected, closed, failed or timed out. */
static void luab_hc_event_cb(struct bufferevent *bev, short what, void *arg)
{
    struct luab_hc *hc = arg;

    if (what & BEV_EVENT_CONNECTED)
        hc->connected = 1;
    else if (what & BEV_EVENT_TIMEOUT)
        hc->timedout = 1;
    else if (what & BEV_EVENT_EOF)
        hc->eof = 1;
    else
        hc->err = 1;
    luab_hc_notify(hc);
}

/* Arms the read and write inactivity timeouts (<rd_ms>, <wr_ms>; 0:
 * none). */
static void luab_hc_timeouts(struct luab_hc *hc, unsigned rd_ms, unsigned wr_ms)
{
    struct timeval rd = {rd_ms / 1000, (rd_ms % 1000) * 1000};
    struct timeval wr = {wr_ms / 1000, (wr_ms % 1000) * 1000};

    bufferevent_set_timeouts(hc->bev, rd_ms ? &rd : NULL, wr_ms ? &wr : NULL);
}

/* 1 once nothing more can come from the server. */
static int luab_hc_closed(const struct luab_hc *hc)
{
    return hc->eof || hc->err || hc->timedout;
}

/* Raises HAProxy's error unless the running context may use the client. */
static void luab_hc_check_ctx(lua_State *L)
{
    struct luab_ctx *ctx = luab_run_current();

    if (ctx == NULL || !(ctx->kind & LUAB_CTX_YIELD))
        luaL_error(L, "The 'get' function is only allowed in 'frontend', "
                      "'backend' or 'task'");
}

/* Reads one key of the argument table (key at -2, value at -1) into <a>,
 * raising HAProxy's errors. The key is never converted in place, which
 * would confuse lua_next. */
static void luab_hc_arg(lua_State *L, struct luab_hc_args *a)
{
    const char *key =
        lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : NULL;
    int t = lua_type(L, -1);

    if (key != NULL && strcmp(key, "dst") == 0) {
        struct sockaddr_storage ss;
        int len;
        const char *dst = t == LUA_TSTRING ? lua_tostring(L, -1) : NULL;

        if (dst == NULL || (luab_socket_addr(dst, -1, &ss, &len) != RC_OK &&
                            luab_socket_addr(dst, 80, &ss, &len) != RC_OK))
            luaL_error(L, "Can't use the 'dst' argument");
        a->dst = dst;
    } else if (key != NULL && strcmp(key, "url") == 0) {
        if (t != LUA_TSTRING)
            luaL_error(L, "invalid parameter in 'url', must be a string");
        a->url = lua_tostring(L, -1);
    } else if (key != NULL && strcmp(key, "timeout") == 0) {
        if (t != LUA_TNUMBER)
            luaL_error(L, "invalid parameter in 'timeout', must be a number");
        a->has_timeout = 1;
        a->timeout = lua_tointeger(L, -1);
    } else if (key != NULL && strcmp(key, "headers") == 0) {
        if (t != LUA_TTABLE)
            luaL_error(L, "invalid parameter in 'headers', must be a table");
    } else if (key != NULL && strcmp(key, "body") == 0) {
        if (t != LUA_TSTRING)
            luaL_error(L, "invalid parameter in 'body', must be a string");
    } else {
        luaL_error(L, "'%s' invalid parameter name",
                   luaL_tolstring(L, -2, NULL));
    }
}

/* Checks the argument table at LUAB_HC_ARGS into <a>. */
static void luab_hc_args(lua_State *L, struct luab_hc_args *a)
{
    memset(a, 0, sizeof(*a));
    lua_pushnil(L);
    while (lua_next(L, LUAB_HC_ARGS) != 0) {
        luab_hc_arg(L, a);
        lua_pop(L, 1);
    }
    if (a->url == NULL)
        luaL_error(L, "'get' need a 'url' argument");
}

int luab_httpclient_url(const char *url, struct luab_hc_url *u)
{
    const char *p, *a, *end;
    size_t n;

    if (strncasecmp(url, "http://", 7) != 0)
        return RC_ERR;
    a = url + 7;
    n = strcspn(a, "/?#");
    end = a + n;
    u->path = (struct ist){end, strcspn(end, "#")}; /* no fragment */
    u->slash = *end != '/'; /* origin-form starts with '/' */
    for (p = a; p < end; p++)
        if (*p == '@') /* userinfo is not sent */
            a = p + 1;
    u->authority = (struct ist){a, (size_t)(end - a)};
    if (u->authority.len == 0)
        return RC_ERR;
    for (p = end; p > a && isdigit((unsigned char)p[-1]); p--)
        ;
    u->port = 80;
    u->host = u->authority;
    if (p > a && p[-1] == ':' && (a[0] != '[' || p[-2] == ']')) {
        if (p == end || end - p > 5 || (u->port = atoi(p)) <= 0 ||
            u->port > 65535)
            return RC_ERR;
        u->host.len = (size_t)(p - 1 - a);
    }
    if (u->host.len >= 2 && u->host.ptr[0] == '[' &&
        u->host.ptr[u->host.len - 1] == ']') {
        u->host.ptr++;
        u->host.len -= 2;
    }
    return u->host.len > 0 ? RC_OK : RC_ERR;
}

int luab_httpclient_target(const char *dst, const struct luab_hc_url *u,
                           struct sockaddr_storage *ss, int *len)
{
    char host[64];

    if (dst != NULL)
        return luab_socket_addr(dst, -1, ss, len) == RC_OK
                   ? RC_OK
                   : luab_socket_addr(dst, u->port, ss, len);
    if (u->host.len >= sizeof(host))
        return RC_ERR;
    memcpy(host, u->host.ptr, u->host.len);
    host[u->host.len] = '\0';
    if (strchr(host, ':') == NULL && strspn(host, "0123456789.") != u->host.len)
        return RC_ERR; /* a name: no DNS at run time */
    return luab_socket_addr(host, u->port, ss, len);
}

/* 1 if <s> may go on the wire inside a header line. */
static int luab_hc_hdr_ok(struct ist s, int name)
{
    size_t i;

    for (i = 0; i < s.len; i++)
        if (s.ptr[i] == '\r' || s.ptr[i] == '\n' || s.ptr[i] == '\0' ||
            (name && (s.ptr[i] == ':' || s.ptr[i] == ' ')))
            return 0;
    return !name || s.len > 0;
}

/* Appends one user header unless it is one we frame ourselves; notes the
 * defaults it replaces in <seen> (1 host, 2 accept, 4 user-agent). */
static void luab_hc_hdr_add(struct evbuffer *out, struct ist n, struct ist v,
                            unsigned *seen)
{
    if (!luab_hc_hdr_ok(n, 1) || !luab_hc_hdr_ok(v, 0) ||
        ist_ieq(n, IST("content-length")) ||
        ist_ieq(n, IST("transfer-encoding")))
        return;
    *seen |= ist_ieq(n, IST("host"))         ? 1
             : ist_ieq(n, IST("accept"))     ? 2
             : ist_ieq(n, IST("user-agent")) ? 4
                                             : 0;
    evbuffer_add(out, n.ptr, n.len);
    evbuffer_add(out, ": ", 2);
    evbuffer_add(out, v.ptr, v.len);
    evbuffer_add(out, "\r\n", 2);
}

/* Appends the "headers" argument (name -> list of values; other shapes
 * skipped, as in HAProxy) to <out>, at most H1_DEFAULT_MAX_HDRS. */
static void luab_hc_user_hdrs(lua_State *L, struct evbuffer *out,
                              unsigned *seen)
{
    unsigned count = 0;
    struct ist n, v;

    if (lua_getfield(L, LUAB_HC_ARGS, "headers") != LUA_TTABLE) {
        lua_pop(L, 1);
        return;
    }
    lua_pushnil(L);
    while (lua_next(L, -2) != 0) {
        if (lua_type(L, -2) == LUA_TSTRING && lua_istable(L, -1)) {
            n.ptr = lua_tolstring(L, -2, &n.len);
            lua_pushnil(L);
            while (lua_next(L, -2) != 0) {
                lua_pushvalue(L, -1); /* tolstring on a copy */
                v.ptr =
                    lua_isstring(L, -1) ? lua_tolstring(L, -1, &v.len) : NULL;
                if (v.ptr != NULL && count++ < H1_DEFAULT_MAX_HDRS)
                    luab_hc_hdr_add(out, n, v, seen);
                lua_pop(L, 2);
            }
        }
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
}

/* Queues the request head for <meth> on <u> in <out>. */
static void luab_hc_head(lua_State *L, struct evbuffer *out, const char *meth,
                         const struct luab_hc_url *u, size_t body_len)
{
    unsigned seen = 0;

    evbuffer_add_printf(out, "%s %s%.*s HTTP/1.1\r\n", meth,
                        u->slash ? "/" : "", (int)u->path.len, u->path.ptr);
    luab_hc_user_hdrs(L, out, &seen);
    if (!(seen & 1))
        evbuffer_add_printf(out, "host: %.*s\r\n", (int)u->authority.len,
                            u->authority.ptr);
    if (!(seen & 2))
        evbuffer_add(out, "accept: */*\r\n", 13);
    if (!(seen & 4))
        evbuffer_add_printf(out, "user-agent: %s\r\n", LUAB_HC_USER_AGENT);
    if (body_len > 0)
        evbuffer_add_printf(out, "content-length: %zu\r\n", body_len);
    evbuffer_add(out, "\r\n", 2);
}

/* Sets res[name] = the value on top (popped). */
static void luab_hc_setres(lua_State *L, const char *name)
{
    lua_setfield(L, LUAB_HC_RES, name);
}

/* Appends the body bytes waiting in hc->body to LUAB_HC_CHUNKS. */
static void luab_hc_flush(lua_State *L, struct luab_hc *hc)
{
    size_t n = evbuffer_get_length(hc->body);
    luaL_Buffer b;

    if (n == 0)
        return;
    evbuffer_remove(hc->body, luaL_buffinitsize(L, &b, n), n);
    luaL_pushresultsize(&b, n);
    lua_rawseti(L, LUAB_HC_CHUNKS, ++hc->nchunks);
}

/* Ends the request: the body joined, the connection released; returns
 * the result table. */
static int luab_hc_finish(lua_State *L, struct luab_hc *hc)
{
    luaL_Buffer b;
    int i;

    if (hc->body != NULL)
        luab_hc_flush(L, hc);
    luab_hc_finalize(hc);
    hc->state = LUAB_HC_DONE;
    luaL_buffinit(L, &b);
    for (i = 1; i <= hc->nchunks; i++) {
        lua_rawgeti(L, LUAB_HC_CHUNKS, i);
        luaL_addvalue(&b);
    }
    luaL_pushresult(&b);
    luab_hc_setres(L, "body");
    lua_pushvalue(L, LUAB_HC_RES);
    return 1;
}

/* Sets res.headers from <m>: lower-cased names, values indexed from 0. */
static void luab_hc_res_headers(lua_State *L, const struct h1_msg *m)
{
    char name[256];
    unsigned i;
    size_t j;

    lua_newtable(L);
    for (i = 0; i < m->nb_hdrs; i++) {
        struct ist n = m->hdrs[i].name, v = m->hdrs[i].value;

        if (n.len >= sizeof(name))
            n.len = sizeof(name) - 1;
        for (j = 0; j < n.len; j++)
            name[j] = (char)tolower((unsigned char)n.ptr[j]);
        lua_pushlstring(L, name, n.len);
        if (lua_rawget(L, -2) != LUA_TTABLE) {
            lua_pop(L, 1);
            lua_newtable(L);
            lua_pushlstring(L, name, n.len);
            lua_pushvalue(L, -2);
            lua_rawset(L, -4);
            lua_pushlstring(L, v.ptr, v.len);
            lua_rawseti(L, -2, 0);
        } else {
            lua_pushlstring(L, v.ptr, v.len);
            lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
        }
        lua_pop(L, 1);
    }
    luab_hc_setres(L, "headers");
}

/* Sets res.status, .reason and .headers. */
static void luab_hc_res_line(lua_State *L, int status, struct ist reason)
{
    lua_pushinteger(L, status);
    luab_hc_setres(L, "status");
    lua_pushlstring(L, reason.ptr, reason.len);
    luab_hc_setres(L, "reason");
}

/* HAProxy's internal proxy answered instead of the server: its error page
 * for <status> (502, 503 or 504). Returns the result. */
static int luab_hc_error_page(lua_State *L, struct luab_hc *hc, int status)
{
    const char *reason = http_status_reason(status);
    const char *text = status == 503   ? "No server is available to handle "
                                         "this request."
                       : status == 504 ? "The server didn't respond in time."
                                       : "The server returned an invalid or "
                                         "incomplete response.";
    const char *page =
        lua_pushfstring(L, "<html><body><h1>%d %s</h1>\n%s\n</body></html>\n",
                        status, reason, text);
    static const char *const names[] = {"content-length", "cache-control",
                                        "content-type"};
    const char *values[3];
    int i;

    values[0] = lua_pushfstring(L, "%d", (int)strlen(page));
    values[1] = "no-cache";
    values[2] = "text/html";
    luab_hc_res_line(L, status, ist_from(reason));
    lua_newtable(L);
    for (i = 0; i < 3; i++) {
        lua_createtable(L, 0, 1);
        lua_pushstring(L, values[i]);
        lua_rawseti(L, -2, 0);
        lua_setfield(L, -2, names[i]);
    }
    luab_hc_setres(L, "headers");
    lua_pop(L, 1); /* the length string */
    lua_rawseti(L, LUAB_HC_CHUNKS, ++hc->nchunks);
    if (hc->body != NULL)
        evbuffer_drain(hc->body, evbuffer_get_length(hc->body));
    return luab_hc_finish(L, hc);
}

/* Fills the result with status 0 (a local failure) and returns it. */
static int luab_hc_internal_error(lua_State *L, struct luab_hc *hc)
{
    luab_hc_res_line(L, 0, IST(""));
    lua_newtable(L);
    luab_hc_setres(L, "headers");
    return luab_hc_finish(L, hc);
}

/* Queues more of the request body; 1 when all of it is queued. */
static int luab_hc_send_body(lua_State *L, struct luab_hc *hc)
{
    size_t len, room, queued, n;
    const char *data = lua_tolstring(L, LUAB_HC_BODY, &len);
    struct evbuffer *out = bufferevent_get_output(hc->bev);

    if (data == NULL)
        return 1;
    queued = evbuffer_get_length(out);
    room = queued < LUAB_HC_HIWAT ? LUAB_HC_HIWAT - queued : 0;
    n = len - hc->sent < room ? len - hc->sent : room;
    if (n > 0 && evbuffer_add(out, data + hc->sent, n) == 0)
        hc->sent += n;
    return hc->sent == len;
}

/* Where the response head starts being interesting: the body kind. */
static void luab_hc_body_kind(struct luab_hc *hc, const struct h1_msg *m)
{
    if (hc->head_req || m->status == 204 || m->status == 304 || m->status < 200)
        hc->body_kind = H1_BODY_NONE;
    else
        hc->body_kind = h1_msg_body_kind(m);
    hc->left = m->body_len;
    h1_chunked_init(&hc->chunk);
}

/* Parses the response head. RC_OK (result line and headers set, head
 * consumed), RC_AGAIN (more bytes needed), or an error status to answer
 * with (502). Interim 1xx responses are skipped. */
static int luab_hc_read_head(lua_State *L, struct luab_hc *hc)
{
    struct evbuffer *in = bufferevent_get_input(hc->bev);
    size_t len = evbuffer_get_length(in);
    const char *buf;
    int rc;

    if (len > H1_DEFAULT_MAX_HEAD)
        len = H1_DEFAULT_MAX_HEAD;
    if (len == 0)
        return RC_AGAIN;
    buf = (const char *)evbuffer_pullup(in, (ev_ssize_t)len);
    rc = h1_parse_response(hc->msg, buf, len);
    if (rc == RC_AGAIN && len == H1_DEFAULT_MAX_HEAD)
        return 502;
    if (rc != RC_OK)
        return rc == RC_AGAIN ? RC_AGAIN : 502;
    if (hc->msg->status < 200 && hc->msg->status != 101) {
        evbuffer_drain(in, hc->msg->head_len);
        h1_msg_init(hc->msg, NULL);
        return luab_hc_read_head(L, hc);
    }
    luab_hc_res_line(L, hc->msg->status, hc->msg->reason);
    luab_hc_res_headers(L, hc->msg);
    luab_hc_body_kind(hc, hc->msg);
    evbuffer_drain(in, hc->msg->head_len);
    free(hc->msg);
    hc->msg = NULL;
    return RC_OK;
}

/* Moves the chunked payload of the input to hc->body; RC_OK at the end
 * of the body, RC_AGAIN, or RC_ERR on bad framing. */
static int luab_hc_dechunk(struct luab_hc *hc, struct evbuffer *in)
{
    struct evbuffer_iovec v;
    size_t used, off, dlen;
    int rc = RC_AGAIN;

    while (rc == RC_AGAIN && evbuffer_peek(in, -1, NULL, &v, 1) > 0 &&
           v.iov_len > 0) {
        rc = h1_chunked_parse(&hc->chunk, v.iov_base, v.iov_len, &used, &off,
                              &dlen);
        if (rc == RC_ERR)
            return RC_ERR;
        if (dlen > 0)
            evbuffer_add(hc->body, (char *)v.iov_base + off, dlen);
        evbuffer_drain(in, used);
        if (used == 0)
            break;
    }
    return rc;
}

/* Moves the response body from the input to hc->body; 1 when the body is
 * complete (or can never be: truncated), 0 while more may come. */
static int luab_hc_read_body(lua_State *L, struct luab_hc *hc)
{
    struct evbuffer *in = bufferevent_get_input(hc->bev);
    size_t avail = evbuffer_get_length(in);
    int done = 0;

    switch (hc->body_kind) {
    case H1_BODY_NONE:
        return 1;
    case H1_BODY_CLEN:
        if (avail > hc->left)
            avail = (size_t)hc->left;
        evbuffer_remove_buffer(in, hc->body, avail);
        hc->left -= avail;
        done = hc->left == 0;
        break;
    case H1_BODY_CHUNKED:
        done = luab_hc_dechunk(hc, in) != RC_AGAIN;
        break;
    default:
        evbuffer_remove_buffer(in, hc->body, avail);
        break;
    }
    if (evbuffer_get_length(hc->body) >= LUAB_HC_FLUSH)
        luab_hc_flush(L, hc);
    return done || luab_hc_closed(hc);
}

static int luab_hc_step(lua_State *L, int status, lua_KContext k);

/* Suspends until <hc> has news, then steps again. */
static int luab_hc_wait(lua_State *L, struct luab_hc *hc)
{
    struct luab_ctx *ctx = luab_run_wait_begin(L);

    hc->waiter = ctx;
    luab_run_set_cancel(ctx, luab_hc_cancel, hc);
    return luab_run_yield(L, LUAB_WAIT_EVENT, luab_hc_step, 0);
}

/* After the request is sent: wait for the response with the "timeout". */
static void luab_hc_sent(struct luab_hc *hc)
{
    hc->state = LUAB_HC_HEAD;
    luab_hc_timeouts(hc, hc->timeout, 0);
}

/* The request's state machine, run at the call and at every wake-up. */
static int luab_hc_step(lua_State *L, int status, lua_KContext k)
{
    struct luab_hc *hc = luaL_checkudata(L, LUAB_HC_REQ, LUAB_MT_HC_REQ);
    int rc;

    for (;;) {
        switch (hc->state) {
        case LUAB_HC_CONNECT:
            if (!hc->connected && !luab_hc_closed(hc))
                return luab_hc_wait(L, hc);
            if (!hc->connected)
                return luab_hc_error_page(L, hc, 503);
            hc->state = LUAB_HC_SEND;
            luab_hc_timeouts(hc, 0, hc->timeout);
            break;
        case LUAB_HC_SEND:
            if (luab_hc_closed(hc) || luab_hc_send_body(L, hc))
                luab_hc_sent(hc); /* an early answer is read all the same */
            else
                return luab_hc_wait(L, hc);
            break;
        case LUAB_HC_HEAD:
            rc = luab_hc_read_head(L, hc);
            if (rc == RC_AGAIN && !luab_hc_closed(hc))
                return luab_hc_wait(L, hc);
            if (rc == RC_AGAIN)
                rc = hc->timedout ? 504 : 502;
            if (rc != RC_OK)
                return luab_hc_error_page(L, hc, rc);
            hc->state = LUAB_HC_RBODY;
            break;
        case LUAB_HC_RBODY:
            if (!luab_hc_read_body(L, hc))
                return luab_hc_wait(L, hc);
            return luab_hc_finish(L, hc);
        default:
            return luaL_error(L, "httpclient: request already ended");
        }
    }
}

/* Creates the request userdata (at LUAB_HC_REQ) with its pool cell. */
static struct luab_hc *luab_hc_new(lua_State *L, struct luab_ctx *ctx)
{
    struct luab_hc_cell *cell = palloc(ctx->pool, sizeof(*cell));
    struct luab_hc *hc;

    if (cell == NULL ||
        pool_cleanup_add(ctx->pool, luab_hc_cleanup, cell) != RC_OK)
        luaL_error(L, "out of memory");
    cell->hc = NULL;
    hc = lua_newuserdata(L, sizeof(*hc));
    memset(hc, 0, sizeof(*hc));
    luaL_setmetatable(L, LUAB_MT_HC_REQ);
    lua_replace(L, LUAB_HC_REQ);
    hc->cell = cell;
    cell->hc = hc;
    return hc;
}

/* Opens the connection to <ss> and queues the head; RC_OK or RC_ERR
 * (a local failure: no socket). */
static int luab_hc_open(lua_State *L, struct luab_hc *hc, const char *meth,
                        const struct luab_hc_url *u,
                        struct sockaddr_storage *ss, int len)
{
    size_t body_len = 0;

    lua_tolstring(L, LUAB_HC_BODY, &body_len);
    hc->msg = malloc(sizeof(*hc->msg));
    hc->body = evbuffer_new();
    hc->bev = bufferevent_socket_new(worker_loop(), -1, BEV_OPT_CLOSE_ON_FREE);
    if (hc->msg == NULL || hc->body == NULL || hc->bev == NULL)
        return RC_ERR;
    h1_msg_init(hc->msg, NULL);
    bufferevent_setcb(hc->bev, luab_hc_io_cb, luab_hc_io_cb, luab_hc_event_cb,
                      hc);
    bufferevent_setwatermark(hc->bev, EV_WRITE, LUAB_HC_LOWAT, 0);
    bufferevent_setwatermark(hc->bev, EV_READ, 0, LUAB_HC_READ_HIWAT);
    luab_hc_head(L, bufferevent_get_output(hc->bev), meth, u, body_len);
    luab_hc_timeouts(hc, LUAB_HC_CONNECT_MS, LUAB_HC_CONNECT_MS);
    bufferevent_enable(hc->bev, EV_READ | EV_WRITE);
    if (bufferevent_socket_connect(hc->bev, (struct sockaddr *)ss, len) < 0)
        hc->err = 1; /* refused at once: the 503 path */
    return RC_OK;
}

/* Shared body of hc:get/head/put/post/delete. */
static int luab_hc_send(lua_State *L, const char *meth)
{
    struct luab_hc_args a;
    struct luab_hc_url u;
    struct sockaddr_storage ss;
    struct luab_ctx *ctx;
    struct luab_hc *hc;
    int len;

    luab_hc_check_ctx(L);
    if (lua_gettop(L) != 2 || lua_type(L, -1) != LUA_TTABLE)
        return luaL_error(L, "'get' needs a table as argument");
    luab_hc_args(L, &a);
    if (luab_httpclient_url(a.url, &u) != RC_OK ||
        luab_httpclient_target(a.dst, &u, &ss, &len) != RC_OK)
        return luaL_error(L, LUAB_HC_START_ERR);
    ctx = luab_run_wait_begin(L); /* "yield not allowed" before any I/O */
    if (ctx->pool == NULL)
        return luaL_error(L, LUAB_HC_START_ERR);
    lua_settop(L, LUAB_HC_ARGS);
    lua_getfield(L, LUAB_HC_ARGS, "body");
    lua_newtable(L); /* LUAB_HC_RES */
    lua_newtable(L); /* LUAB_HC_CHUNKS */
    hc = luab_hc_new(L, ctx);
    hc->head_req = strcmp(meth, "HEAD") == 0;
    hc->timeout = a.has_timeout && a.timeout > 0 && a.timeout < 2147483647
                      ? (unsigned)a.timeout
                      : 0;
    if (luab_hc_open(L, hc, meth, &u, &ss, len) != RC_OK)
        return luab_hc_internal_error(L, hc);
    return luab_hc_step(L, LUA_OK, 0);
}

/* hc:get{...} */
static int luab_hc_get(lua_State *L)
{
    return luab_hc_send(L, "GET");
}

/* hc:head{...} */
static int luab_hc_head_m(lua_State *L)
{
    return luab_hc_send(L, "HEAD");
}

/* hc:put{...} */
static int luab_hc_put(lua_State *L)
{
    return luab_hc_send(L, "PUT");
}

/* hc:post{...} */
static int luab_hc_post(lua_State *L)
{
    return luab_hc_send(L, "POST");
}

/* hc:delete{...} */
static int luab_hc_delete(lua_State *L)
{
    return luab_hc_send(L, "DELETE");
}

/* core.httpclient(): a new HTTPClient; nothing outside a run (body and
 * init), as HAProxy 2.6. */
static int luab_hc_new_client(lua_State *L)
{
    if (luab_run_current() == NULL)
        return 0;
    lua_newtable(L);
    luaL_setmetatable(L, LUAB_MT_HTTPCLIENT);
    return 1;
}

static const luaL_Reg luab_hc_methods[] = {
    {"get", luab_hc_get},   {"head", luab_hc_head_m},   {"put", luab_hc_put},
    {"post", luab_hc_post}, {"delete", luab_hc_delete}, {NULL, NULL},
};

void luab_httpclient_register(lua_State *L)
{
    luaL_newmetatable(L, LUAB_MT_HC_REQ);
    lua_pushcfunction(L, luab_hc_gc);
    lua_setfield(L, -2, "__gc");
    lua_pop(L, 1);
    luab_class_new(L, LUAB_MT_HTTPCLIENT, luab_hc_methods);
    lua_getglobal(L, "core");
    lua_pushcfunction(L, luab_hc_new_client);
    lua_setfield(L, -2, "httpclient");
    lua_pop(L, 1);
}
