/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* The TXN class (first argument of actions and fetches) and what applets
 * share with it: variables with HAProxy's Lua<->sample conversions, the
 * per-stream private value, txn:done() and the Reply object that
 * txn:reply() builds and txn:done(reply) sends; and Lua's log messages
 * (txn:log and core.log alike), routed to the loggers and stderr as
 * HAProxy routes them, per tune.lua.log.loggers and tune.lua.log.stderr. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>

#include "core/action.h"
#include "core/errors.h"
#include "core/log.h"
#include "core/logctl.h"
#include "core/logger.h"
#include "core/stream.h"
#include "core/stream_act.h"
#include "core/vars.h"
#include "http/http_ana.h"
#include "lua_api/luab.h"

/* HAProxy cleans a message into its trash buffer (tune.bufsize). */
#define LUAB_LOG_MAX 16384

/* Copies <msg> into <out> of <size> bytes as HAProxy cleans Lua's log
 * messages: non-printable bytes become '.', one that does not fit ends
 * with " ...". */
static void luab_log_clean(char *out, size_t size, const char *msg)
{
    size_t i;

    for (i = 0; msg[i] != '\0'; i++) {
        unsigned char c = (unsigned char)msg[i];

        if (i == size - 1) {
            memcpy(out + i - 4, " ...", 4);
            break;
        }
        out[i] = (c >= 0x20 && c < 0x7f) ? (char)c : '.';
    }
    out[i] = '\0';
}

/* 1 if a message at <level> meant for the loggers of <px> goes to stderr
 * as well. HAProxy writes it there unless quiet (yet always while
 * starting), a debug one only in debug mode; "auto" only when no logger
 * got it. */
static int luab_log_stderr_wanted(const struct luab_state *st,
                                  const struct proxy *px, int level)
{
    if (st->log_stderr == LUAB_LOG_STDERR_OFF)
        return 0;
    if (st->log_stderr == LUAB_LOG_STDERR_AUTO && st->log_loggers &&
        logger_has_targets(px))
        return 0;
    if (log_stderr_level < LOG_LVL_NOTICE &&
        !(st->phase & (LUAB_CTX_BODY | LUAB_CTX_INIT)))
        return 0;
    return level < LOG_LVL_DEBUG || log_stderr_level >= LOG_LVL_DEBUG;
}

/* Writes <line> on stderr in HAProxy's format for Lua messages,
 * "[level] yday/hhmmss (pid) : line", with one write(2) so that workers
 * never interleave. */
static void luab_log_stderr(int level, const char *line)
{
    static char out[LUAB_LOG_MAX + 64];
    time_t now = time(NULL);
    struct tm tm;
    int n;

    localtime_r(&now, &tm);
    n = snprintf(out, sizeof(out), "[%s] %03d/%02d%02d%02d (%d) : %s\n",
                 log_level_name(level), tm.tm_yday, tm.tm_hour, tm.tm_min,
                 tm.tm_sec, (int)getpid(), line);
    if (n <= 0)
        return;
    if ((size_t)n >= sizeof(out))
        n = (int)sizeof(out) - 1;
    /* a short write on stderr is not worth a retry */
    if (write(STDERR_FILENO, out, (size_t)n) < 0)
        return;
}

void luab_log(struct luab_state *st, struct proxy *px, int level,
              const char *msg)
{
    static char line[LUAB_LOG_MAX];

    luab_log_clean(line, sizeof(line), msg);
    if (st->log_loggers)
        log_emit(px, level, line);
    if (luab_log_stderr_wanted(st, px, level))
        luab_log_stderr(level, line);
}

int luab_vars_set(lua_State *L, struct luab_ctx *ctx)
{
    size_t len;
    const char *name = luaL_checklstring(L, 2, &len);
    int ifexist = lua_toboolean(L, 4);
    enum vars_scope scope;
    struct ist vname;
    struct vars *v;
    struct sample smp;
    char *err = NULL;

    luaL_checkany(L, 3);
    if (vars_parse_name(name, len, &scope, &vname, &err) != RC_OK) {
        free(err);
        lua_pushboolean(L, 0);
        return 1;
    }
    v = vars_of(ctx->s, scope);
    luab_smp_from_lua(L, 3, &smp, NULL);
    lua_pushboolean(L, v != NULL &&
                           vars_set_cond(v, vname, &smp,
                                         ifexist && scope == VARS_SCOPE_PROC
                                             ? VARS_IF_EXISTS
                                             : 0) == RC_OK);
    return 1;
}

int luab_vars_get(lua_State *L, struct luab_ctx *ctx)
{
    size_t len;
    const char *name = luaL_checklstring(L, 2, &len);
    enum vars_scope scope;
    struct ist vname;
    struct vars *v;
    struct sample smp;
    char *err = NULL;

    if (vars_parse_name(name, len, &scope, &vname, &err) != RC_OK) {
        free(err);
        lua_pushnil(L);
        return 1;
    }
    v = vars_of(ctx->s, scope);
    memset(&smp, 0, sizeof(smp));
    if (v == NULL || !vars_get(v, vname, &smp)) {
        lua_pushnil(L);
        return 1;
    }
    luab_smp_push(L, &smp, 1, 0, NULL);
    return 1;
}

int luab_vars_unset(lua_State *L, struct luab_ctx *ctx)
{
    size_t len;
    const char *name = luaL_checklstring(L, 2, &len);
    enum vars_scope scope;
    struct ist vname;
    struct vars *v;
    char *err = NULL;

    if (vars_parse_name(name, len, &scope, &vname, &err) != RC_OK) {
        free(err);
        lua_pushboolean(L, 0);
        return 1;
    }
    v = vars_of(ctx->s, scope);
    lua_pushboolean(L, v != NULL && vars_unset(v, vname) == RC_OK);
    return 1;
}

int luab_priv_get(lua_State *L, struct luab_ctx *ctx)
{
    if (ctx->priv_ref == LUA_NOREF)
        lua_pushnil(L);
    else
        lua_rawgeti(L, LUA_REGISTRYINDEX, ctx->priv_ref);
    return 1;
}

int luab_priv_set(lua_State *L, struct luab_ctx *ctx)
{
    luaL_checkany(L, 2);
    luaL_unref(L, LUA_REGISTRYINDEX, ctx->priv_ref);
    lua_pushvalue(L, 2);
    ctx->priv_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    return 0;
}

/* The stream context behind a TXN argument. */
static struct luab_ctx *luab_txn_check(lua_State *L)
{
    return luab_obj_check(L, 1, LUAB_MT_TXN);
}

/* txn:get_priv() */
static int luab_txn_get_priv(lua_State *L)
{
    return luab_priv_get(L, luab_txn_check(L));
}

/* txn:set_priv(v) */
static int luab_txn_set_priv(lua_State *L)
{
    return luab_priv_set(L, luab_txn_check(L));
}

/* txn:set_var(name, value [, ifexist]) */
static int luab_txn_set_var(lua_State *L)
{
    return luab_vars_set(L, luab_txn_check(L));
}

/* txn:get_var(name) */
static int luab_txn_get_var(lua_State *L)
{
    return luab_vars_get(L, luab_txn_check(L));
}

/* txn:unset_var(name) */
static int luab_txn_unset_var(lua_State *L)
{
    return luab_vars_unset(L, luab_txn_check(L));
}

/* The proxy whose loggers get the messages of <ctx>'s TXN: HAProxy's
 * stream backend, which is the frontend until a backend is chosen. */
static struct proxy *luab_txn_proxy(const struct luab_ctx *ctx)
{
    return ctx->s->be != NULL ? ctx->s->be : ctx->s->fe;
}

/* txn:log(level, msg) */
static int luab_txn_log(lua_State *L)
{
    struct luab_ctx *ctx = luab_txn_check(L);
    lua_Integer level = luaL_checkinteger(L, 2);
    const char *msg = luaL_checkstring(L, 3);

    luaL_argcheck(L, level >= LOG_LVL_EMERG && level <= LOG_LVL_DEBUG, 2,
                  "Invalid loglevel.");
    luab_log(ctx->st, luab_txn_proxy(ctx), (int)level, msg);
    return 0;
}

/* Shared body of txn:deflog/Debug/Info/Warning/Alert. */
static int luab_txn_log_at(lua_State *L, int level)
{
    struct luab_ctx *ctx = luab_txn_check(L);

    luab_log(ctx->st, luab_txn_proxy(ctx), level, luaL_checkstring(L, 2));
    return 0;
}

/* txn:deflog(msg): the proxy's default level is info. */
static int luab_txn_deflog(lua_State *L)
{
    return luab_txn_log_at(L, LOG_LVL_INFO);
}

/* txn:Debug(msg) */
static int luab_txn_debug(lua_State *L)
{
    return luab_txn_log_at(L, LOG_LVL_DEBUG);
}

/* txn:Info(msg) */
static int luab_txn_info(lua_State *L)
{
    return luab_txn_log_at(L, LOG_LVL_INFO);
}

/* txn:Warning(msg) */
static int luab_txn_warning(lua_State *L)
{
    return luab_txn_log_at(L, LOG_LVL_WARNING);
}

/* txn:Alert(msg) */
static int luab_txn_alert(lua_State *L)
{
    return luab_txn_log_at(L, LOG_LVL_ALERT);
}

/* txn:set_loglevel(level): the level of this stream's log line,
 * core.emerg (0) to core.debug (7), as "set-log-level" sets it. */
static int luab_txn_set_loglevel(lua_State *L)
{
    struct luab_ctx *ctx = luab_txn_check(L);
    lua_Integer lvl = luaL_checkinteger(L, 2);
    struct logctl *lc;

    luaL_argcheck(L, lvl >= LOG_LVL_EMERG && lvl <= LOG_LVL_DEBUG, 2,
                  "must be one of core.emerg ... core.debug");
    lc = logctl_need(ctx->s);
    if (lc != NULL)
        lc->level = (int)lvl;
    return 0;
}

/* txn:set_tos(n), set_mark(n), set_priority_class(n),
 * set_priority_offset(n): the setters the rules use (core/stream_act.h). */
static int luab_txn_set_int(lua_State *L, stream_setter_fn set)
{
    struct luab_ctx *ctx = luab_txn_check(L);

    set(ctx->s, (long long)luaL_checkinteger(L, 2));
    return 0;
}

static int luab_txn_set_tos(lua_State *L)
{
    return luab_txn_set_int(L, stream_set_tos);
}

static int luab_txn_set_mark(lua_State *L)
{
    return luab_txn_set_int(L, stream_set_mark);
}

static int luab_txn_set_priority_class(lua_State *L)
{
    return luab_txn_set_int(L, stream_set_priority_class);
}

static int luab_txn_set_priority_offset(lua_State *L)
{
    return luab_txn_set_int(L, stream_set_priority_offset);
}

/* Sends one header of a reply for each value of the list on top (or
 * the single value on top); pops it. */
static void luab_reply_header(lua_State *L, struct stream *s, struct ist name)
{
    struct ist value;
    lua_Integer i;

    if (!lua_istable(L, -1)) {
        value.ptr = lua_tolstring(L, -1, &value.len);
        if (value.ptr != NULL)
            http_reply_header(s, name, value);
        lua_pop(L, 1);
        return;
    }
    for (i = 1; lua_rawgeti(L, -1, i) != LUA_TNIL; i++) {
        value.ptr = lua_tolstring(L, -1, &value.len);
        if (value.ptr != NULL)
            http_reply_header(s, name, value);
        lua_pop(L, 1);
    }
    lua_pop(L, 2);
}

/* Sends the headers of reply table <idx> (name -> value or list); sets
 * *<has_clen> when one of them is content-length. */
static void luab_reply_headers(lua_State *L, int idx, struct stream *s,
                               int *has_clen)
{
    struct ist name;

    if (lua_getfield(L, idx, "headers") != LUA_TTABLE) {
        lua_pop(L, 1);
        return;
    }
    lua_pushnil(L);
    while (lua_next(L, -2) != 0) {
        if (lua_type(L, -2) != LUA_TSTRING) {
            lua_pop(L, 1);
            continue;
        }
        name.ptr = lua_tolstring(L, -2, &name.len);
        if (ist_ieq(name, IST("content-length")))
            *has_clen = 1;
        luab_reply_header(L, s, name);
    }
    lua_pop(L, 1);
}

/* Sends the reply table at <idx> as the response of HTTP stream <s>. */
void luab_reply_send(lua_State *L, int idx, struct stream *s)
{
    lua_Integer status;
    size_t rlen = 0, blen = 0;
    const char *reason, *body;
    char clen[32];
    int has_clen = 0;

    lua_getfield(L, idx, "status");
    status = lua_isinteger(L, -1) ? lua_tointeger(L, -1) : 200;
    lua_getfield(L, idx, "reason");
    reason = lua_tolstring(L, -1, &rlen);
    lua_getfield(L, idx, "body");
    body = lua_tolstring(L, -1, &blen);
    if (status < 100 || status > 599)
        status = 200;
    http_reply_begin(s, (int)status,
                     reason ? (struct ist){reason, rlen} : IST(""));
    luab_reply_headers(L, idx, s, &has_clen);
    if (!has_clen) {
        snprintf(clen, sizeof(clen), "%zu", body ? blen : 0);
        http_reply_header(s, IST("content-length"), ist_from(clen));
    }
    http_reply_headers_end(s);
    if (body != NULL && blen > 0)
        http_reply_body(s, body, blen);
    http_reply_end(s);
    lua_pop(L, 3);
}

/* txn:done([reply]): ends the transaction (with <reply> on HTTP). */
static int luab_txn_done(lua_State *L)
{
    struct luab_ctx *ctx = luab_txn_check(L);

    if (ctx->kind == LUAB_CTX_ACTION) {
        struct http_txn *htx = http_txn_get(ctx->s);

        ctx->exit_ret = ACT_RET_ABRT;
        if (htx != NULL && lua_istable(L, 2) &&
            !(htx->flags & TXN_F_RES_STARTED)) {
            /* sent once this run is over: http-after-response rules may
             * run Lua actions on this context */
            lua_pushvalue(L, 2);
            ctx->reply_ref = luaL_ref(L, LUA_REGISTRYINDEX);
            ctx->exit_ret = ACT_RET_DONE;
        }
    }
    lua_settop(L, 0);
    return luab_run_exit(L, 0);
}

/* Reply:set_status(code [, reason]) */
static int luab_reply_set_status(lua_State *L)
{
    lua_Integer code = luaL_checkinteger(L, 2);

    luaL_checktype(L, 1, LUA_TTABLE);
    luaL_argcheck(L, code >= 100 && code <= 599, 2, "invalid status code");
    lua_pushinteger(L, code);
    lua_setfield(L, 1, "status");
    lua_pushvalue(L, 3);
    lua_setfield(L, 1, "reason");
    return 0;
}

/* Returns the header list of reply <1> for name <2>, created if absent. */
static void luab_reply_hdr_list(lua_State *L)
{
    if (lua_getfield(L, 1, "headers") != LUA_TTABLE) {
        lua_pop(L, 1);
        lua_newtable(L);
        lua_pushvalue(L, -1);
        lua_setfield(L, 1, "headers");
    }
}

/* Reply:add_header(name, value) */
static int luab_reply_add_header(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    luaL_checkstring(L, 2);
    luaL_checkstring(L, 3);
    lua_settop(L, 3);
    luab_reply_hdr_list(L); /* 4 */
    lua_pushvalue(L, 2);
    if (lua_rawget(L, 4) != LUA_TTABLE) { /* 5 */
        lua_pop(L, 1);
        lua_newtable(L);
        lua_pushvalue(L, 2);
        lua_pushvalue(L, 5);
        lua_rawset(L, 4);
    }
    lua_pushvalue(L, 3);
    lua_rawseti(L, 5, (lua_Integer)lua_rawlen(L, 5) + 1);
    return 0;
}

/* Reply:del_header(name) */
static int luab_reply_del_header(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    luaL_checkstring(L, 2);
    lua_settop(L, 2);
    luab_reply_hdr_list(L);
    lua_pushvalue(L, 2);
    lua_pushnil(L);
    lua_rawset(L, -3);
    return 0;
}

/* Reply:set_body(s) */
static int luab_reply_set_body(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    luaL_checkstring(L, 2);
    lua_pushvalue(L, 2);
    lua_setfield(L, 1, "body");
    return 0;
}

/* txn:reply([tbl]): a Reply with HAProxy's defaults and <tbl>'s fields. */
static int luab_txn_reply(lua_State *L)
{
    luab_txn_check(L);
    lua_newtable(L);
    lua_pushinteger(L, 200);
    lua_setfield(L, -2, "status");
    lua_newtable(L);
    lua_setfield(L, -2, "headers");
    lua_pushliteral(L, "");
    lua_setfield(L, -2, "body");
    if (lua_istable(L, 2)) {
        lua_pushnil(L);
        while (lua_next(L, 2) != 0) {
            lua_pushvalue(L, -2);
            lua_insert(L, -2);
            lua_settable(L, -4);
        }
    }
    luaL_setmetatable(L, LUAB_MT_REPLY);
    return 1;
}

void luab_txn_push(lua_State *L, struct luab_ctx *ctx)
{
    if (ctx->obj_ref != LUA_NOREF) {
        lua_rawgeti(L, LUA_REGISTRYINDEX, ctx->obj_ref);
        return;
    }
    luab_obj_new(L, ctx, LUAB_MT_TXN);
    luab_fetches_attach(L, lua_gettop(L), ctx);
    luab_channel_attach(L, lua_gettop(L), ctx);
    luab_http_push(L, ctx);
    lua_setfield(L, -2, "http");
    lua_pushvalue(L, -1);
    ctx->obj_ref = luaL_ref(L, LUA_REGISTRYINDEX);
}

static const luaL_Reg luab_txn_methods[] = {
    {"get_priv", luab_txn_get_priv},
    {"set_priv", luab_txn_set_priv},
    {"set_var", luab_txn_set_var},
    {"get_var", luab_txn_get_var},
    {"unset_var", luab_txn_unset_var},
    {"log", luab_txn_log},
    {"deflog", luab_txn_deflog},
    {"Debug", luab_txn_debug},
    {"Info", luab_txn_info},
    {"Warning", luab_txn_warning},
    {"Alert", luab_txn_alert},
    {"done", luab_txn_done},
    {"reply", luab_txn_reply},
    {"set_loglevel", luab_txn_set_loglevel},
    {"set_tos", luab_txn_set_tos},
    {"set_mark", luab_txn_set_mark},
    {"set_fc_tos", luab_txn_set_tos},
    {"set_fc_mark", luab_txn_set_mark},
    {"set_priority_class", luab_txn_set_priority_class},
    {"set_priority_offset", luab_txn_set_priority_offset},
    {NULL, NULL},
};

static const luaL_Reg luab_reply_methods[] = {
    {"set_status", luab_reply_set_status},
    {"add_header", luab_reply_add_header},
    {"del_header", luab_reply_del_header},
    {"set_body", luab_reply_set_body},
    {NULL, NULL},
};

void luab_txn_register(lua_State *L)
{
    logctl_init(); /* txn:set_loglevel() keeps its level there */
    luab_class_new(L, LUAB_MT_TXN, luab_txn_methods);
    luab_class_new(L, LUAB_MT_REPLY, luab_reply_methods);
}
