/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* The Proxy and Server classes and core.proxies, core.frontends and
 * core.backends, filled once the configuration is parsed (before the
 * init functions run). Objects keep HAProxy's shape: a table with the C
 * handle at [0] and the old attributes (name, uuid, servers, listeners,
 * stktable when the proxy declares a table; name, puid). Listeners are keyed as
 * in HAProxy: their "name" option, else "sock-N" (N from 1 in bind order).
 * Proxies, servers and listeners live exactly as long as the Lua state (both
 * belong to the configuration generation and the state is closed when it is
 * freed), so the handles need no reference counting. Setters change this
 * worker's copy only, as every worker has its own, through the same server
 * functions as the runtime API's. Stats come from this worker's counters (every
 * worker has its own, as HAProxy's per-process stats). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "core/cfg.h"
#include "core/check.h"
#include "core/cfgval.h"
#include "core/errors.h"
#include "core/listener.h"
#include "core/logger.h"
#include "core/proxy.h"
#include "core/server.h"
#include "core/stats.h"
#include "core/stick_table.h"
#include "core/worker.h"
#include "lua_api/luab.h"

#define LUAB_MT_PROXY    "luab.Proxy"
#define LUAB_MT_SERVER   "luab.Server"
#define LUAB_MT_LISTENER "luab.Listener"
#define LUAB_ADDR_LEN    160
#define LUAB_WEIGHT_MAX  256

void *luab_proxy_handle(lua_State *L, const char *mt)
{
    void *p = NULL;
    int same = 0;

    if (lua_type(L, 1) == LUA_TTABLE && lua_getmetatable(L, 1)) {
        luaL_getmetatable(L, mt);
        same = lua_rawequal(L, -1, -2);
        lua_pop(L, 2);
    }
    if (same) {
        lua_rawgeti(L, 1, 0);
        p = lua_touserdata(L, -1);
        lua_pop(L, 1);
    }
    if (p == NULL)
        luaL_argerror(L, 1,
                      lua_pushfstring(L, "%s expected, got %s",
                                      strchr(mt, '.') + 1,
                                      luaL_typename(L, 1)));
    return p;
}

/* The proxy of the Proxy at 1. */
static struct proxy *luab_px_check(lua_State *L)
{
    return luab_proxy_handle(L, LUAB_MT_PROXY);
}

/* The server of the Server at 1. */
static struct server *luab_srv_check(lua_State *L)
{
    return luab_proxy_handle(L, LUAB_MT_SERVER);
}

/* px:get_name() */
static int luab_px_get_name(lua_State *L)
{
    lua_pushstring(L, luab_px_check(L)->name);
    return 1;
}

/* Pushes the identifier field <name> of the object at <idx> as an
 * integer: the attribute itself is a string, as in HAProxy 2.6. */
static void luab_proxy_id_push(lua_State *L, int idx, const char *name)
{
    lua_Integer id;

    lua_getfield(L, idx, name);
    id = lua_tointeger(L, -1);
    lua_pop(L, 1);
    lua_pushinteger(L, id);
}

/* px:get_uuid(): the proxy's id ("id", or its automatic number). */
static int luab_px_get_uuid(lua_State *L)
{
    luab_px_check(L);
    luab_proxy_id_push(L, 1, "uuid");
    return 1;
}

/* px:get_cap(): "frontend", "backend" or "proxy" (listen). */
static int luab_px_get_cap(lua_State *L)
{
    struct proxy *px = luab_px_check(L);
    unsigned both = PX_CAP_FE | PX_CAP_BE;

    lua_pushstring(L, (px->cap & both) == both ? "proxy"
                      : (px->cap & PX_CAP_FE)  ? "frontend"
                                               : "backend");
    return 1;
}

/* px:get_mode(): "tcp" or "http". */
static int luab_px_get_mode(lua_State *L)
{
    lua_pushstring(L, luab_px_check(L)->mode == PX_MODE_HTTP ? "http" : "tcp");
    return 1;
}

/* Counts the usable servers of <px> that are backups (<backup>) or not. */
static int luab_px_count(const struct proxy *px, int backup)
{
    const struct server *srv;
    int n = 0;

    for (srv = px->servers; srv != NULL; srv = srv->next)
        n += srv->backup == backup && server_up(srv) && !srv->disabled &&
             srv->weight > 0;
    return n;
}

/* px:get_srv_act() */
static int luab_px_get_srv_act(lua_State *L)
{
    lua_pushinteger(L, luab_px_count(luab_px_check(L), 0));
    return 1;
}

/* px:get_srv_bck() */
static int luab_px_get_srv_bck(lua_State *L)
{
    lua_pushinteger(L, luab_px_count(luab_px_check(L), 1));
    return 1;
}

/* Sets t[name] = string <v> on the table on top. */
static void luab_proxy_setstr(lua_State *L, const char *name, const char *v)
{
    lua_pushstring(L, v);
    lua_setfield(L, -2, name);
}

/* Sets t[name] = integer <v> on the table on top. */
static void luab_proxy_setint(lua_State *L, const char *name, long long v)
{
    lua_pushinteger(L, (lua_Integer)v);
    lua_setfield(L, -2, name);
}

/* Pushes the non-empty fields of <ln> as a table: numbers as integers,
 * the rest as strings, as HAProxy's get_stats(). */
static void luab_stats_push(lua_State *L, const struct stats_line *ln)
{
    size_t i;
    char *end;

    lua_createtable(L, 0, 32);
    for (i = 0; i < STATS_NCOLS; i++) {
        const char *v = ln->f[i];
        long long n;

        if (v[0] == '\0')
            continue;
        n = strtoll(v, &end, 10);
        if (*end == '\0')
            lua_pushinteger(L, (lua_Integer)n);
        else
            lua_pushstring(L, v);
        lua_setfield(L, -2, stats_col_name(i));
    }
}

/* px:get_stats(): the backend line if the proxy has one, else the
 * frontend's, as HAProxy. */
static int luab_px_get_stats(lua_State *L)
{
    struct proxy *px = luab_px_check(L);
    struct stats_line ln;

    if (px->cap & PX_CAP_BE)
        stats_line_backend(&ln, px, px->uuid);
    else
        stats_line_frontend(&ln, px, px->uuid);
    luab_stats_push(L, &ln);
    return 1;
}

/* sv:get_name() */
static int luab_srv_get_name(lua_State *L)
{
    lua_pushstring(L, luab_srv_check(L)->name);
    return 1;
}

/* sv:get_puid(): the server's id ("id", or its automatic number). */
static int luab_srv_get_puid(lua_State *L)
{
    luab_srv_check(L);
    luab_proxy_id_push(L, 1, "puid");
    return 1;
}

/* sv:get_addr(): "ip:port". */
static int luab_srv_get_addr(lua_State *L)
{
    struct server *srv = luab_srv_check(L);
    char buf[LUAB_ADDR_LEN];

    lua_pushstring(L, cfgval_addr_str(&srv->addr, buf, sizeof(buf)));
    return 1;
}

/* sv:set_addr(addr [, port]): nil, or an error message. */
static int luab_srv_set_addr(lua_State *L)
{
    struct server *srv = luab_srv_check(L);
    const char *addr = luaL_checkstring(L, 2);
    lua_Integer port = luaL_optinteger(L, 3, -1);
    struct cfg_addr a;
    char *err = NULL;

    luaL_argcheck(L, port >= -1 && port <= 65535, 3, "invalid port");
    if (port >= 0)
        addr = lua_pushfstring(L, strchr(addr, ':') ? "[%s]:%d" : "%s:%d", addr,
                               (int)port);
    if (cfgval_addr(addr, 0, &a, &err) != RC_OK || a.family == AF_UNSPEC) {
        lua_pushstring(L, err ? err : "invalid address");
        free(err);
        return 1;
    }
    if (!a.port_set &&
        (srv->addr.family == AF_INET || srv->addr.family == AF_INET6)) {
        /* keep the old port */
        uint16_t old = srv->addr.family == AF_INET
                           ? ((struct sockaddr_in *)&srv->addr.ss)->sin_port
                           : ((struct sockaddr_in6 *)&srv->addr.ss)->sin6_port;

        if (a.family == AF_INET)
            ((struct sockaddr_in *)&a.ss)->sin_port = old;
        else if (a.family == AF_INET6)
            ((struct sockaddr_in6 *)&a.ss)->sin6_port = old;
        a.port_set = 1;
    }
    srv->addr = a;
    lua_pushnil(L);
    return 1;
}

/* sv:get_weight(): the effective weight (0 while draining). */
static int luab_srv_get_weight(lua_State *L)
{
    lua_pushinteger(L, luab_srv_check(L)->weight);
    return 1;
}

/* Parses "N" or "N%" (of <cur>) within 0..<max>; -1 if invalid. */
static long long luab_srv_parse_rel(const char *s, long long cur, long long max)
{
    char *end;
    long long v = strtoll(s, &end, 10);

    if (end == s || v < 0)
        return -1;
    if (*end == '%' && end[1] == '\0')
        v = cur * v / 100;
    else if (*end != '\0')
        return -1;
    return v <= max ? v : -1;
}

/* sv:set_weight(str): nil, or an error message. */
static int luab_srv_set_weight(lua_State *L)
{
    struct server *srv = luab_srv_check(L);
    const char *s = luaL_checkstring(L, 2);
    long long w = luab_srv_parse_rel(s, srv->iweight, LUAB_WEIGHT_MAX);

    if (w < 0) {
        lua_pushliteral(L, "Weight must be an integer between 0 and 256.");
        return 1;
    }
    server_set_weight(srv, (int)w);
    lua_pushnil(L);
    return 1;
}

/* sv:get_maxconn() */
static int luab_srv_get_maxconn(lua_State *L)
{
    lua_pushinteger(L, luab_srv_check(L)->maxconn);
    return 1;
}

/* sv:set_maxconn(str): nil, or an error message. */
static int luab_srv_set_maxconn(lua_State *L)
{
    struct server *srv = luab_srv_check(L);
    const char *s = luaL_checkstring(L, 2);
    char *end;
    long long v = strtoll(s, &end, 10);

    if (end == s || *end != '\0' || v < 0 || v > 1000000) {
        lua_pushliteral(L, "Integer value expected.");
        return 1;
    }
    srv->maxconn = (int)v;
    lua_pushnil(L);
    return 1;
}

/* sv:set_drain(): no new traffic (weight 0 until set_ready). */
static int luab_srv_set_drain(lua_State *L)
{
    server_set_admin_shared(luab_srv_check(L), SERVER_DRAIN);
    return 0;
}

/* sv:set_maint() */
static int luab_srv_set_maint(lua_State *L)
{
    server_set_admin_shared(luab_srv_check(L), SERVER_MAINT);
    return 0;
}

/* sv:set_ready(): leaves maintenance and drain. */
static int luab_srv_set_ready(lua_State *L)
{
    server_set_admin_shared(luab_srv_check(L), SERVER_READY);
    return 0;
}

/* sv:is_draining(): 1 or 0, an integer as in HAProxy 2.6 (later versions
 * return a boolean) */
static int luab_srv_is_draining(lua_State *L)
{
    lua_pushinteger(L, luab_srv_check(L)->drain ? 1 : 0);
    return 1;
}

/* sv:is_backup() */
static int luab_srv_is_backup(lua_State *L)
{
    lua_pushboolean(L, luab_srv_check(L)->backup);
    return 1;
}

/* sv:get_cur_sess() */
static int luab_srv_get_cur_sess(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)luab_srv_check(L)->cur_conns);
    return 1;
}

/* sv:get_pend_conn(): requests waiting for this server or any server of
 * the backend, in this worker. */
static int luab_srv_get_pend_conn(lua_State *L)
{
    struct server *srv = luab_srv_check(L);

    lua_pushinteger(L, (lua_Integer)srv->queue.len +
                           (srv->px ? srv->px->queue.len : 0));
    return 1;
}

/* sv:get_stats(): the server's "show stat" line. */
static int luab_srv_get_stats(lua_State *L)
{
    struct server *srv = luab_srv_check(L);
    struct stats_line ln;

    stats_line_server(&ln, srv->px, srv->px->uuid, srv, srv->puid);
    luab_stats_push(L, &ln);
    return 1;
}

/* The listener of the Listener at 1. */
static struct listener *luab_lst_check(lua_State *L)
{
    return luab_proxy_handle(L, LUAB_MT_LISTENER);
}

/* ls:get_stats(): identity, limit and state; sessions are only counted
 * per frontend (in its get_stats()). */
static int luab_lst_get_stats(lua_State *L)
{
    struct listener *l = luab_lst_check(L);

    lua_newtable(L);
    luab_proxy_setstr(L, "pxname", l->px ? l->px->name : "");
    lua_getfield(L, 1, "name");
    lua_setfield(L, -2, "svname");
    luab_proxy_id_push(L, 1, "luid");
    lua_setfield(L, -2, "sid");
    luab_proxy_setint(L, "pid", worker_id());
    luab_proxy_setint(L, "type", 3);
    luab_proxy_setint(L, "slim", l->maxconn);
    luab_proxy_setstr(L, "status", worker_draining() ? "STOP" : "OPEN");
    return 1;
}

/* sv:get_proxy() */
static int luab_srv_get_proxy(lua_State *L)
{
    luab_srv_check(L);
    lua_getfield(L, 1, "proxy");
    return 1;
}

/* The check_force_* and agent_force_* methods: HAProxy's forced states,
 * on the health every worker reads, logged as HAProxy logs them. */
#define LUAB_SRV_FORCE(fn, what)                                               \
    static int fn(lua_State *L)                                                \
    {                                                                          \
        check_force(luab_srv_check(L), what, "Lua script");                    \
        return 0;                                                              \
    }
LUAB_SRV_FORCE(luab_srv_force_up, CHECK_FORCE_UP)
LUAB_SRV_FORCE(luab_srv_force_down, CHECK_FORCE_DOWN)
LUAB_SRV_FORCE(luab_srv_force_nolb, CHECK_FORCE_NOLB)
LUAB_SRV_FORCE(luab_srv_agent_up, CHECK_FORCE_AGENT_UP)
LUAB_SRV_FORCE(luab_srv_agent_down, CHECK_FORCE_AGENT_DOWN)

/* sv:shut_sess(): the streams of every worker on the server end, logged
 * with the termination cause K. */
static int luab_srv_shut_sess(lua_State *L)
{
    struct server *srv = luab_srv_check(L);

    proxy_op_shared(srv->px, srv, PROXY_OP_KILL_SERVER);
    return 0;
}

/* px:pause(), resume(), stop() and shut_bcksess(), in every worker. */
#define LUAB_PX_OP(fn, op)                                                     \
    static int fn(lua_State *L)                                                \
    {                                                                          \
        proxy_op_shared(luab_px_check(L), NULL, op);                           \
        return 0;                                                              \
    }
LUAB_PX_OP(luab_px_pause, PROXY_OP_PAUSE)
LUAB_PX_OP(luab_px_resume, PROXY_OP_RESUME)
LUAB_PX_OP(luab_px_stop, PROXY_OP_STOP)
LUAB_PX_OP(luab_px_shut_bcksess, PROXY_OP_KILL_BACKUP)

/* Pushes the Server object of <srv> from core.proxies. */
static void luab_srv_push(lua_State *L, const struct server *srv)
{
    lua_getglobal(L, "core");
    lua_getfield(L, -1, "proxies");
    lua_getfield(L, -1, srv->px->name);
    lua_getfield(L, -1, "servers");
    lua_getfield(L, -1, srv->name);
    lua_replace(L, -5);
    lua_pop(L, 3);
}

/* sv:tracking(): the server whose health this one takes, or nil. */
static int luab_srv_tracking(lua_State *L)
{
    struct server *srv = luab_srv_check(L);

    if (srv->tracked == NULL)
        lua_pushnil(L);
    else
        luab_srv_push(L, srv->tracked);
    return 1;
}

/* sv:get_trackers(): the servers that track this one. */
static int luab_srv_get_trackers(lua_State *L)
{
    struct server *srv = luab_srv_check(L), *o;
    struct proxy *px;
    lua_Integer n = 0;

    lua_newtable(L);
    for (px = luab_state_of(L)->cfg->proxies; px != NULL; px = px->next)
        for (o = px->servers; o != NULL; o = o->next)
            if (o->tracked == srv) {
                luab_srv_push(L, o);
                lua_rawseti(L, -2, ++n);
            }
    return 1;
}

/* sv:is_dynamic(): servers come from the configuration only. */
static int luab_srv_is_dynamic(lua_State *L)
{
    luab_srv_check(L);
    lua_pushboolean(L, 0);
    return 1;
}

/* sv:get_rid(): the revision of a server name, 0 as long as servers are
 * never deleted and added again at run time. */
static int luab_srv_get_rid(lua_State *L)
{
    luab_srv_check(L);
    lua_pushinteger(L, 0);
    return 1;
}

/* Shared body of check_enable/check_disable: pauses or resumes the
 * checks that the checking worker runs; the state they left holds. */
static int luab_srv_pause_checks(lua_State *L, int paused)
{
    struct server *srv = luab_srv_check(L);

    if (srv->health != NULL)
        srv->health->paused = paused;
    return 0;
}

/* sv:check_enable() */
static int luab_srv_check_enable(lua_State *L)
{
    return luab_srv_pause_checks(L, 0);
}

/* sv:check_disable() */
static int luab_srv_check_disable(lua_State *L)
{
    return luab_srv_pause_checks(L, 1);
}

/* Shared body of agent_enable/agent_disable: pauses or resumes the
 * agent that the checking worker asks; what it said last holds. */
static int luab_srv_pause_agent(lua_State *L, int paused)
{
    struct server *srv = luab_srv_check(L);

    if (srv->health != NULL)
        srv->health->agent_paused = paused;
    return 0;
}

/* sv:agent_enable() */
static int luab_srv_agent_enable(lua_State *L)
{
    return luab_srv_pause_agent(L, 0);
}

/* sv:agent_disable() */
static int luab_srv_agent_disable(lua_State *L)
{
    return luab_srv_pause_agent(L, 1);
}

static const luaL_Reg luab_px_methods[] = {
    {"get_name", luab_px_get_name},
    {"get_uuid", luab_px_get_uuid},
    {"get_cap", luab_px_get_cap},
    {"get_mode", luab_px_get_mode},
    {"get_stats", luab_px_get_stats},
    {"get_srv_act", luab_px_get_srv_act},
    {"get_srv_bck", luab_px_get_srv_bck},
    {"pause", luab_px_pause},
    {"resume", luab_px_resume},
    {"stop", luab_px_stop},
    {"shut_bcksess", luab_px_shut_bcksess},
    {NULL, NULL},
};

static const luaL_Reg luab_lst_methods[] = {
    {"get_stats", luab_lst_get_stats},
    {NULL, NULL},
};

static const luaL_Reg luab_srv_methods[] = {
    {"get_name", luab_srv_get_name},
    {"get_puid", luab_srv_get_puid},
    {"get_addr", luab_srv_get_addr},
    {"set_addr", luab_srv_set_addr},
    {"get_weight", luab_srv_get_weight},
    {"set_weight", luab_srv_set_weight},
    {"get_maxconn", luab_srv_get_maxconn},
    {"set_maxconn", luab_srv_set_maxconn},
    {"set_drain", luab_srv_set_drain},
    {"set_maint", luab_srv_set_maint},
    {"set_ready", luab_srv_set_ready},
    {"is_draining", luab_srv_is_draining},
    {"is_backup", luab_srv_is_backup},
    {"get_cur_sess", luab_srv_get_cur_sess},
    {"get_pend_conn", luab_srv_get_pend_conn},
    {"get_stats", luab_srv_get_stats},
    {"get_proxy", luab_srv_get_proxy},
    {"check_force_up", luab_srv_force_up},
    {"check_force_down", luab_srv_force_down},
    {"agent_force_up", luab_srv_agent_up},
    {"agent_force_down", luab_srv_agent_down},
    {"check_enable", luab_srv_check_enable},
    {"check_disable", luab_srv_check_disable},
    {"check_force_nolb", luab_srv_force_nolb},
    {"agent_enable", luab_srv_agent_enable},
    {"agent_disable", luab_srv_agent_disable},
    {"shut_sess", luab_srv_shut_sess},
    {"tracking", luab_srv_tracking},
    {"get_trackers", luab_srv_get_trackers},
    {"is_dynamic", luab_srv_is_dynamic},
    {"get_rid", luab_srv_get_rid},
    {NULL, NULL},
};

/* Pushes a new object of class <mt> for <p>, named <name>, numbered <id>
 * in the field <idname>. */
static void luab_proxy_obj(lua_State *L, const char *mt, void *p,
                           const char *name, int id, const char *idname)
{
    lua_createtable(L, 1, 4);
    lua_pushlightuserdata(L, p);
    lua_rawseti(L, -2, 0);
    luab_proxy_setstr(L, "name", name);
    lua_pushfstring(L, "%d", id);
    lua_setfield(L, -2, idname);
    luaL_setmetatable(L, mt);
}

/* 1 if <l> has a "name" option: the engine names the others after the
 * address as written, which parses back to the same address. */
static int luab_lst_named(const struct listener *l)
{
    char a[LUAB_ADDR_LEN], b[LUAB_ADDR_LEN];
    struct cfg_addr addr;
    char *err = NULL;
    int rc = cfgval_addr(l->name, CFGVAL_ADDR_NEED_PORT, &addr, &err);

    free(err);
    return rc != RC_OK || strcmp(cfgval_addr_str(&addr, a, sizeof(a)),
                                 cfgval_addr_str(&l->addr, b, sizeof(b))) != 0;
}

/* Pushes the table name -> Listener of <px>. */
static void luab_proxy_listeners(lua_State *L, struct proxy *px)
{
    struct listener *l;
    char name[32];
    int luid = 0;

    lua_newtable(L);
    for (l = px->listeners; l != NULL; l = l->next) {
        snprintf(name, sizeof(name), "sock-%d", ++luid);
        luab_proxy_obj(L, LUAB_MT_LISTENER, l,
                       luab_lst_named(l) ? l->name : name, luid, "luid");
        lua_getfield(L, -1, "name");
        lua_insert(L, -2);
        lua_settable(L, -3);
    }
}

/* Pushes the Proxy object of <px> of <cfg> with its servers, listeners
 * and stick table. */
static void luab_proxy_push(lua_State *L, struct cfg *cfg, struct proxy *px)
{
    struct stick_table *t = stick_table_find(cfg, px->name);
    struct server *srv;

    luab_proxy_obj(L, LUAB_MT_PROXY, px, px->name, px->uuid, "uuid");
    lua_newtable(L);
    for (srv = px->servers; srv != NULL; srv = srv->next) {
        luab_proxy_obj(L, LUAB_MT_SERVER, srv, srv->name, srv->puid, "puid");
        lua_pushvalue(L, -3);
        lua_setfield(L, -2, "proxy");
        lua_setfield(L, -2, srv->name);
    }
    lua_setfield(L, -2, "servers");
    luab_proxy_listeners(L, px);
    lua_setfield(L, -2, "listeners");
    if (t != NULL) {
        luab_stktable_push(L, t);
        lua_setfield(L, -2, "stktable");
    }
}

void luab_proxy_publish(lua_State *L, struct cfg *cfg)
{
    struct proxy *px;

    lua_getglobal(L, "core");
    lua_newtable(L); /* proxies */
    lua_newtable(L); /* frontends */
    lua_newtable(L); /* backends */
    for (px = cfg->proxies; px != NULL; px = px->next) {
        luab_proxy_push(L, cfg, px);
        if (px->cap & PX_CAP_FE) {
            lua_pushvalue(L, -1);
            lua_setfield(L, -4, px->name);
        }
        if (px->cap & PX_CAP_BE) {
            lua_pushvalue(L, -1);
            lua_setfield(L, -3, px->name);
        }
        lua_setfield(L, -4, px->name);
    }
    lua_setfield(L, -4, "backends");
    lua_setfield(L, -3, "frontends");
    lua_setfield(L, -2, "proxies");
    lua_pop(L, 1);
}

void luab_proxy_register(lua_State *L)
{
    luab_class_new(L, LUAB_MT_PROXY, luab_px_methods);
    luab_class_new(L, LUAB_MT_SERVER, luab_srv_methods);
    luab_class_new(L, LUAB_MT_LISTENER, luab_lst_methods);
    luab_stktable_register(L);
}
