/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* The Socket class (core.tcp()): HAProxy's cosocket, a LuaSocket-like TCP
 * client whose every wait yields the coroutine to the event loop. A socket
 * is a libevent bufferevent on the worker's loop. Its lifetime has two
 * ends that converge on one idempotent finalizer: close() or __gc from
 * Lua, and the cleanup registered on the pool of the context that created
 * it (stream, applet or task), so a socket a script forgets is closed when
 * its action, service or task ends, never left to the garbage collector.
 * send() never queues more than a high watermark: the rest waits, the
 * coroutine suspended, until the kernel has taken what was queued. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <arpa/inet.h>
#include <math.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/util.h>
#include <lauxlib.h>
#include <lua.h>

#include "core/errors.h"
#include "core/pool.h"
#include "core/worker.h"
#include "lua_api/luab.h"

#define LUAB_MT_SOCKET_UD        "luab.SocketUD"
#define LUAB_SOCK_CONNECT_TMO_MS 5000
/* send() queues at most HIWAT bytes, then waits until LOWAT are left. */
#define LUAB_SOCK_HIWAT  (64 * 1024)
#define LUAB_SOCK_LOWAT  (16 * 1024)
#define LUAB_SOCK_CLOSED "connection closed."
#define LUAB_SOCK_NOCONN "Can't connect"

enum luab_sock_state {
    LUAB_SOCK_NEW,
    LUAB_SOCK_CONNECTING,
    LUAB_SOCK_CONNECTED,
    LUAB_SOCK_FAILED,
    LUAB_SOCK_CLOSED_ST,
};

struct luab_sock_cell;

/* The userdata at [0] of a Socket object (Lua-owned memory). */
struct luab_sock {
    struct bufferevent *bev;     /* owns the fd */
    struct luab_sock_cell *cell; /* the pool cleanup's link back to us */
    struct luab_ctx *waiter;     /* context waiting on this socket */
    enum luab_sock_state state;
    int eof, err, timedout;
    unsigned timeout_ms; /* 0: none */
};

/* Lives in the creator's pool: its cleanup finalizes the socket unless
 * __gc or close() did first (they clear <sk>). */
struct luab_sock_cell {
    struct luab_sock *sk;
};

/* Receive patterns. */
enum luab_sock_pat {
    LUAB_PAT_LINE,
    LUAB_PAT_ALL,
    LUAB_PAT_SIZE,
};

/* Closes <sk> and unlinks it from both ends; safe to call twice. */
static void luab_sock_finalize(struct luab_sock *sk)
{
    if (sk->bev != NULL)
        bufferevent_free(sk->bev);
    sk->bev = NULL;
    if (sk->cell != NULL)
        sk->cell->sk = NULL;
    sk->cell = NULL;
    if (sk->waiter != NULL)
        luab_run_set_cancel(sk->waiter, NULL, NULL);
    sk->waiter = NULL;
    if (sk->state != LUAB_SOCK_FAILED)
        sk->state = LUAB_SOCK_CLOSED_ST;
}

/* Pool cleanup of the creating context. */
static void luab_sock_cleanup(void *arg)
{
    struct luab_sock_cell *cell = arg;

    if (cell->sk != NULL)
        luab_sock_finalize(cell->sk);
}

/* __gc of the userdata. */
static int luab_sock_gc(lua_State *L)
{
    luab_sock_finalize(luaL_checkudata(L, 1, LUAB_MT_SOCKET_UD));
    return 0;
}

/* The socket behind the Socket object at 1. */
static struct luab_sock *luab_sock_check(lua_State *L)
{
    struct luab_sock *sk = NULL;
    int same = 0;

    if (lua_type(L, 1) == LUA_TTABLE && lua_getmetatable(L, 1)) {
        luaL_getmetatable(L, LUAB_MT_SOCKET);
        same = lua_rawequal(L, -1, -2);
        lua_pop(L, 2);
    }
    if (same) {
        lua_rawgeti(L, 1, 0);
        sk = luaL_testudata(L, -1, LUAB_MT_SOCKET_UD);
        lua_pop(L, 1);
    }
    if (sk == NULL)
        luaL_argerror(
            L, 1,
            lua_pushfstring(L, "Socket expected, got %s", luaL_typename(L, 1)));
    return sk;
}

/* Forgets the waiter (the context stopped waiting: released or woken). */
static void luab_sock_cancel(void *arg)
{
    struct luab_sock *sk = arg;

    sk->waiter = NULL;
}

/* Wakes whoever waits on <sk>. */
static void luab_sock_notify(struct luab_sock *sk)
{
    struct luab_ctx *ctx = sk->waiter;

    sk->waiter = NULL;
    if (ctx != NULL)
        luab_run_wake(ctx);
}

/* Applies the inactivity timeout (connect: 5 s unless set). */
static void luab_sock_timeouts(struct luab_sock *sk)
{
    unsigned ms = sk->timeout_ms;
    struct timeval tv;

    if (sk->bev == NULL)
        return;
    if (ms == 0 && sk->state == LUAB_SOCK_CONNECTING)
        ms = LUAB_SOCK_CONNECT_TMO_MS;
    if (ms == 0) {
        bufferevent_set_timeouts(sk->bev, NULL, NULL);
        return;
    }
    tv.tv_sec = ms / 1000;
    tv.tv_usec = (ms % 1000) * 1000;
    bufferevent_set_timeouts(sk->bev, &tv, &tv);
}

/* Data arrived or output drained. */
static void luab_sock_io_cb(struct bufferevent *bev, void *arg)
{
    luab_sock_notify(arg);
}

/* Connected, closed, failed or timed out. */
static void luab_sock_event_cb(struct bufferevent *bev, short what, void *arg)
{
    struct luab_sock *sk = arg;

    if (what & BEV_EVENT_CONNECTED) {
        sk->state = LUAB_SOCK_CONNECTED;
        luab_sock_timeouts(sk);
    } else if (sk->state == LUAB_SOCK_CONNECTING) {
        sk->state = LUAB_SOCK_FAILED;
        sk->err = 1;
    } else if (what & BEV_EVENT_TIMEOUT) {
        sk->timedout = 1;
    } else if (what & BEV_EVENT_EOF) {
        sk->eof = 1;
    } else {
        sk->err = 1;
    }
    luab_sock_notify(sk);
}

/* Makes the running context the one <sk> wakes. */
static void luab_sock_waiter(lua_State *L, struct luab_sock *sk)
{
    struct luab_ctx *ctx = luab_run_wait_begin(L);

    sk->waiter = ctx;
    luab_run_set_cancel(ctx, luab_sock_cancel, sk);
}

/* Suspends the running coroutine until <sk> has news, then calls <k>. */
static int luab_sock_wait(lua_State *L, struct luab_sock *sk, lua_KFunction k)
{
    luab_sock_waiter(L, sk);
    return luab_run_yield(L, LUAB_WAIT_EVENT, k, 0);
}

/* Pushes nil and <msg>; returns 2. */
static int luab_sock_fail(lua_State *L, const char *msg)
{
    lua_pushnil(L);
    lua_pushstring(L, msg);
    return 2;
}

int luab_socket_addr(const char *addr, lua_Integer port,
                     struct sockaddr_storage *ss, int *len)
{
    struct sockaddr_un *un = (struct sockaddr_un *)ss;
    size_t n;

    memset(ss, 0, sizeof(*ss));
    if (strncmp(addr, "unix@", 5) == 0 || addr[0] == '/') {
        addr += addr[0] == '/' ? 0 : 5;
        n = strlen(addr);
        if (n == 0 || n >= sizeof(un->sun_path))
            return RC_ERR;
        un->sun_family = AF_UNIX;
        memcpy(un->sun_path, addr, n + 1);
        *len = (int)sizeof(*un);
        return RC_OK;
    }
    if (strncmp(addr, "ipv4@", 5) == 0 || strncmp(addr, "ipv6@", 5) == 0)
        addr += 5;
    *len = (int)sizeof(*ss);
    if (evutil_parse_sockaddr_port(addr, (struct sockaddr *)ss, len) != 0)
        return RC_ERR;
    if (port >= 0 && port <= 65535) {
        if (ss->ss_family == AF_INET)
            ((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
        else
            ((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
    } else if (port >= 0) {
        return RC_ERR;
    }
    return ((struct sockaddr_in *)ss)->sin_port != 0 ? RC_OK : RC_ERR;
}

/* Continuation of connect(): 1 once connected, nil + "Can't connect". */
static int luab_sock_connect_k(lua_State *L, int status, lua_KContext k)
{
    struct luab_sock *sk = luab_sock_check(L);

    if (sk->state == LUAB_SOCK_CONNECTING)
        return luab_sock_wait(L, sk, luab_sock_connect_k);
    if (sk->state != LUAB_SOCK_CONNECTED) {
        /* release the fd now, not when the owner ends */
        if (sk->bev != NULL)
            bufferevent_free(sk->bev);
        sk->bev = NULL;
        return luab_sock_fail(L, LUAB_SOCK_NOCONN);
    }
    lua_pushinteger(L, 1);
    return 1;
}

/* Raises HAProxy's connect() errors for <addr> (and <port>, -1 if not
 * given) that luab_socket_addr refused: an address that does not parse,
 * or an IP without a port. A port that does not fit returns, and the
 * connection fails as HAProxy's does. */
static void luab_sock_addr_error(lua_State *L, const char *addr,
                                 lua_Integer port)
{
    struct sockaddr_storage ss;
    int len;

    if (luab_socket_addr(addr, 1, &ss, &len) != RC_OK)
        luaL_error(L, "connect: cannot parse destination address '%s%s'", addr,
                   port >= 0 ? ":" : "");
    if (port < 0)
        luaL_error(L, "connect: port missing");
}

/* sock:connect(addr [, port]) */
static int luab_sock_connect(lua_State *L)
{
    struct luab_sock *sk = luab_sock_check(L);
    const char *addr = luaL_checkstring(L, 2);
    lua_Integer port = luaL_optinteger(L, 3, -1);
    struct sockaddr_storage ss;
    int len;

    luab_run_wait_begin(L); /* refuse where we could not wait */
    if (sk->state != LUAB_SOCK_NEW || sk->cell == NULL)
        return luab_sock_fail(L, LUAB_SOCK_NOCONN);
    if (luab_socket_addr(addr, port, &ss, &len) != RC_OK) {
        luab_sock_addr_error(L, addr, port);
        return luab_sock_fail(L, LUAB_SOCK_NOCONN);
    }
    sk->bev = bufferevent_socket_new(worker_loop(), -1, BEV_OPT_CLOSE_ON_FREE);
    if (sk->bev == NULL)
        return luab_sock_fail(L, LUAB_SOCK_NOCONN);
    bufferevent_setcb(sk->bev, luab_sock_io_cb, luab_sock_io_cb,
                      luab_sock_event_cb, sk);
    bufferevent_setwatermark(sk->bev, EV_WRITE, LUAB_SOCK_LOWAT, 0);
    sk->state = LUAB_SOCK_CONNECTING;
    luab_sock_timeouts(sk);
    bufferevent_enable(sk->bev, EV_READ | EV_WRITE);
    if (bufferevent_socket_connect(sk->bev, (struct sockaddr *)&ss, len) < 0) {
        bufferevent_free(sk->bev);
        sk->bev = NULL;
        sk->state = LUAB_SOCK_FAILED;
        return luab_sock_fail(L, LUAB_SOCK_NOCONN);
    }
    return luab_sock_connect_k(L, LUA_OK, 0);
}

/* Continuation and body of send(): queues what fits under the high
 * watermark from index <k> (1-based) of the data at 2 up to the last
 * index at 4, and waits for the rest; returns, as HAProxy, the number of
 * bytes sent (from index 3 on), or -1 once the connection is closed. */
static int luab_sock_send_k(lua_State *L, int status, lua_KContext k)
{
    struct luab_sock *sk = luab_sock_check(L);
    size_t len, room, queued;
    const char *data = lua_tolstring(L, 2, &len);
    lua_Integer from = (lua_Integer)k, to = lua_tointeger(L, 4);
    struct evbuffer *out;

    if (sk->state != LUAB_SOCK_CONNECTED || sk->bev == NULL || sk->err ||
        sk->timedout) {
        lua_pushinteger(L, -1);
        return 1;
    }
    out = bufferevent_get_output(sk->bev);
    queued = evbuffer_get_length(out);
    room = queued < LUAB_SOCK_HIWAT ? LUAB_SOCK_HIWAT - queued : 0;
    if (from <= to && room > 0) {
        size_t n = (size_t)(to - from + 1);

        if (n > room)
            n = room;
        if (evbuffer_add(out, data + from - 1, n) != 0) {
            lua_pushinteger(L, -1);
            return 1;
        }
        from += (lua_Integer)n;
    }
    if (from > to) {
        lua_pushinteger(L, to - lua_tointeger(L, 3) + 1);
        return 1;
    }
    luab_sock_waiter(L, sk);
    return luab_run_yield(L, LUAB_WAIT_EVENT, luab_sock_send_k, from);
}

/* sock:send(data [, i [, j]]) */
static int luab_sock_send(lua_State *L)
{
    size_t len;
    lua_Integer i, j;

    luab_sock_check(L);
    luaL_checklstring(L, 2, &len);
    i = luaL_optinteger(L, 3, 1);
    j = luaL_optinteger(L, 4, (lua_Integer)len);
    if (i < 0)
        i = (lua_Integer)len + i + 1;
    if (j < 0)
        j = (lua_Integer)len + j + 1;
    if (i < 1)
        i = 1;
    if (j > (lua_Integer)len)
        j = (lua_Integer)len;
    if (j < i)
        j = i - 1;
    lua_settop(L, 2);
    lua_pushinteger(L, i);
    lua_pushinteger(L, j);
    if (j - i + 1 > LUAB_SOCK_HIWAT)
        luab_run_wait_begin(L); /* refuse where a big send could not wait */
    return luab_sock_send_k(L, LUA_OK, (lua_KContext)i);
}

/* Reads pattern <pat> (<size> for SIZE) from the input of <sk>: pushes
 * the data (after the prefix at 3 if any) or nil + "connection closed."
 * and returns the number of values pushed; returns 0 if the data is not
 * there yet and more may come. Once closed, whatever was buffered is the
 * answer, as in HAProxy. */
static int luab_sock_take(lua_State *L, struct luab_sock *sk,
                          enum luab_sock_pat pat, size_t size)
{
    struct evbuffer *in = sk->bev ? bufferevent_get_input(sk->bev) : NULL;
    size_t avail = in ? evbuffer_get_length(in) : 0, n = avail;
    int closed = sk->bev == NULL || sk->eof || sk->err || sk->timedout;
    int line = 0, found = 0;
    struct evbuffer_ptr p;
    luaL_Buffer b;
    char *dst;

    if (pat == LUAB_PAT_LINE && avail > 0) {
        p = evbuffer_search_eol(in, NULL, NULL, EVBUFFER_EOL_LF);
        if (p.pos >= 0) {
            n = (size_t)p.pos;
            found = line = 1;
        }
    } else if (pat == LUAB_PAT_SIZE && avail >= size) {
        n = size;
        found = 1;
    }
    if (!found && !closed)
        return 0;
    if (!found && avail == 0)
        return luab_sock_fail(L, LUAB_SOCK_CLOSED);
    luaL_buffinit(L, &b);
    if (lua_type(L, 3) == LUA_TSTRING) {
        lua_pushvalue(L, 3);
        luaL_addvalue(&b);
    }
    dst = luaL_prepbuffsize(&b, n + 1);
    evbuffer_remove(in, dst, n);
    if (line) {
        evbuffer_drain(in, 1);
        if (n > 0 && dst[n - 1] == '\r')
            n--;
    }
    luaL_addsize(&b, n);
    luaL_pushresult(&b);
    return 1;
}

/* Decodes the receive pattern at 2 into <pat>/<size>. */
static void luab_sock_pattern(lua_State *L, enum luab_sock_pat *pat,
                              size_t *size)
{
    const char *s;

    *size = 0;
    if (lua_isnoneornil(L, 2)) {
        *pat = LUAB_PAT_LINE;
        return;
    }
    if (lua_type(L, 2) == LUA_TNUMBER) {
        lua_Integer n = luaL_checkinteger(L, 2);

        luaL_argcheck(L, n >= 0, 2, "invalid size");
        *pat = LUAB_PAT_SIZE;
        *size = (size_t)n;
        return;
    }
    s = luaL_checkstring(L, 2);
    if (strncmp(s, "*l", 2) == 0)
        *pat = LUAB_PAT_LINE;
    else if (strncmp(s, "*a", 2) == 0)
        *pat = LUAB_PAT_ALL;
    else
        luaL_argerror(L, 2, "invalid pattern");
}

/* Continuation of receive(). */
static int luab_sock_receive_k(lua_State *L, int status, lua_KContext k)
{
    struct luab_sock *sk = luab_sock_check(L);
    enum luab_sock_pat pat;
    size_t size;
    int n;

    luab_sock_pattern(L, &pat, &size);
    if (sk->state != LUAB_SOCK_CONNECTED && sk->bev == NULL)
        return luab_sock_fail(L, LUAB_SOCK_CLOSED);
    n = luab_sock_take(L, sk, pat, size);
    if (n == 0)
        return luab_sock_wait(L, sk, luab_sock_receive_k);
    return n;
}

/* sock:receive([pattern [, prefix]]) */
static int luab_sock_receive(lua_State *L)
{
    enum luab_sock_pat pat;
    size_t size;

    luab_sock_check(L);
    luab_sock_pattern(L, &pat, &size);
    if (!lua_isnoneornil(L, 3))
        luaL_checkstring(L, 3);
    lua_settop(L, 3);
    luab_run_wait_begin(L);
    return luab_sock_receive_k(L, LUA_OK, 0);
}

/* sock:settimeout(seconds) */
static int luab_sock_settimeout(lua_State *L)
{
    struct luab_sock *sk = luab_sock_check(L);
    lua_Number s = luaL_checknumber(L, 2);

    luaL_argcheck(L, s >= 0 && s < 2147483.0, 2, "invalid timeout");
    sk->timeout_ms = (unsigned)ceil(s * 1000.0);
    if (sk->state == LUAB_SOCK_CONNECTED)
        luab_sock_timeouts(sk);
    lua_pushinteger(L, 1);
    return 1;
}

/* sock:close() */
static int luab_sock_close(lua_State *L)
{
    luab_sock_finalize(luab_sock_check(L));
    return 0; /* HAProxy returns nothing */
}

/* Pushes a peer or local address as HAProxy does, one string:
 * "ip:port", "[ipv6]:port"; nil if unknown. */
static int luab_sock_name(lua_State *L, int peer)
{
    struct luab_sock *sk = luab_sock_check(L);
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    char buf[INET6_ADDRSTRLEN];
    evutil_socket_t fd = sk->bev ? bufferevent_getfd(sk->bev) : -1;
    int rc;

    if (fd < 0)
        return luab_sock_fail(L, LUAB_SOCK_CLOSED);
    rc = peer ? getpeername(fd, (struct sockaddr *)&ss, &len)
              : getsockname(fd, (struct sockaddr *)&ss, &len);
    if (rc != 0 || (ss.ss_family != AF_INET && ss.ss_family != AF_INET6))
        return luab_sock_fail(L, LUAB_SOCK_CLOSED);
    if (ss.ss_family == AF_INET) {
        struct sockaddr_in *in = (struct sockaddr_in *)&ss;

        inet_ntop(AF_INET, &in->sin_addr, buf, sizeof(buf));
        lua_pushfstring(L, "%s:%d", buf, (int)ntohs(in->sin_port));
    } else {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;

        inet_ntop(AF_INET6, &in6->sin6_addr, buf, sizeof(buf));
        lua_pushfstring(L, "[%s]:%d", buf, (int)ntohs(in6->sin6_port));
    }
    return 1;
}

/* sock:getpeername() */
static int luab_sock_getpeername(lua_State *L)
{
    return luab_sock_name(L, 1);
}

/* sock:getsockname() */
static int luab_sock_getsockname(lua_State *L)
{
    return luab_sock_name(L, 0);
}

/* sock:setoption(...): accepted, nothing to do, nothing returned. */
static int luab_sock_setoption(lua_State *L)
{
    luab_sock_check(L);
    return 0;
}

int luab_socket_new(lua_State *L)
{
    struct luab_ctx *ctx = luab_run_current();
    struct luab_sock_cell *cell;
    struct luab_sock *sk;

    if (ctx == NULL || ctx->pool == NULL)
        return luaL_error(L, "socket: not available in this context");
    cell = palloc(ctx->pool, sizeof(*cell));
    if (cell == NULL ||
        pool_cleanup_add(ctx->pool, luab_sock_cleanup, cell) != RC_OK)
        return luaL_error(L, "socket: out of memory");
    cell->sk = NULL;
    lua_createtable(L, 0, 1);
    sk = lua_newuserdata(L, sizeof(*sk));
    memset(sk, 0, sizeof(*sk));
    sk->cell = cell;
    cell->sk = sk;
    luaL_setmetatable(L, LUAB_MT_SOCKET_UD);
    lua_rawseti(L, -2, 0);
    luaL_setmetatable(L, LUAB_MT_SOCKET);
    return 1;
}

static const luaL_Reg luab_sock_methods[] = {
    {"connect", luab_sock_connect},
    {"send", luab_sock_send},
    {"receive", luab_sock_receive},
    {"settimeout", luab_sock_settimeout},
    {"close", luab_sock_close},
    {"getpeername", luab_sock_getpeername},
    {"getsockname", luab_sock_getsockname},
    {"setoption", luab_sock_setoption},
    {NULL, NULL},
};

void luab_socket_register(lua_State *L)
{
    luaL_newmetatable(L, LUAB_MT_SOCKET_UD);
    lua_pushcfunction(L, luab_sock_gc);
    lua_setfield(L, -2, "__gc");
    lua_pop(L, 1);
    luab_class_new(L, LUAB_MT_SOCKET, luab_sock_methods);
}
