/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* The Lua bindings' shared definitions: the per-generation Lua state, the
 * functions scripts register, the coroutine context every running piece of
 * Lua belongs to (stream, applet, task), the context bits API functions
 * check, and the few helpers the class files share. Only lua_api/ includes
 * this header; the rest of the program sees luab_module alone. */
#ifndef LUAPROXY_LUA_API_LUAB_H
#define LUAPROXY_LUA_API_LUAB_H

#include <stddef.h>
#include <time.h>

#include <lauxlib.h>
#include <lua.h>

#include "core/ist.h"
#include "core/module.h"
#include "core/sample.h"
#include "core/service.h"

struct stream;
struct pool;
struct event;
struct cfg;
struct http_msg;
struct http_txn;
struct proxy;

extern const struct module luab_module;

/* Where Lua code runs (HAProxy's contexts). An API function names the
 * contexts it accepts; luab_check_ctx() raises the error otherwise. */
#define LUAB_CTX_BODY    0x001 /* top level of a lua-load file */
#define LUAB_CTX_INIT    0x002 /* core.register_init functions */
#define LUAB_CTX_TASK    0x004 /* core.register_task coroutines */
#define LUAB_CTX_ACTION  0x008 /* lua.NAME actions */
#define LUAB_CTX_FETCH   0x010 /* lua.NAME sample fetches */
#define LUAB_CTX_CONV    0x020 /* lua.NAME converters */
#define LUAB_CTX_SERVICE 0x040 /* lua.NAME services (applets) */
#define LUAB_CTX_IDLE    0x080 /* worker code outside any run (__gc) */
#define LUAB_CTX_RUNTIME                                                       \
    (LUAB_CTX_TASK | LUAB_CTX_ACTION | LUAB_CTX_FETCH | LUAB_CTX_CONV |        \
     LUAB_CTX_SERVICE)
#define LUAB_CTX_ANY   0x0ff
#define LUAB_CTX_YIELD (LUAB_CTX_TASK | LUAB_CTX_ACTION | LUAB_CTX_SERVICE)

/* Registry field: the table of core.register_cli commands, "word word.."
 * -> {usage = string, fn = function}, for the runtime API to come. */
#define LUAB_CLI_KEY "luab.cli"

/* Class metatable names (registry keys). */
#define LUAB_MT_TXN         "luab.TXN"
#define LUAB_MT_FETCHES     "luab.Fetches"
#define LUAB_MT_CONVERTERS  "luab.Converters"
#define LUAB_MT_HTTP        "luab.HTTP"
#define LUAB_MT_APPLET_HTTP "luab.AppletHTTP"
#define LUAB_MT_APPLET_TCP  "luab.AppletTCP"
#define LUAB_MT_SOCKET      "luab.Socket"
#define LUAB_MT_REPLY       "luab.Reply"
#define LUAB_MT_CONCAT      "luab.Concat"

/* What a registered function is. */
enum luab_fn_kind {
    LUAB_FN_ACTION,
    LUAB_FN_SERVICE_TCP,
    LUAB_FN_SERVICE_HTTP,
    LUAB_FN_FETCH,
    LUAB_FN_CONV,
};

struct luab_state;

/* Per-script figures (issue 7, beyond HAProxy): one record per registered
 * function, and one for all tasks; logged when the worker drains. */
struct luab_stats {
    unsigned long long calls, errors, yields;
    unsigned long long total_ns, max_ns; /* Lua CPU time per call */
};

/* What tune.lua.blocking does with a blocking call at run time. */
enum luab_blocking {
    LUAB_BLOCKING_WARN = 0,
    LUAB_BLOCKING_DENY,
    LUAB_BLOCKING_ALLOW,
};

/* What tune.lua.log.stderr asks of Lua's log messages. */
enum luab_log_stderr {
    LUAB_LOG_STDERR_AUTO = 0, /* only when no logger received the message */
    LUAB_LOG_STDERR_ON,
    LUAB_LOG_STDERR_OFF,
};

/* A function registered by core.register_{action,service,fetches,
 * converters}. It belongs to its state's generation; the fetch and
 * converter keywords inside it are what config expressions point at. */
struct luab_fn {
    struct luab_fn *next;
    struct luab_state *st;
    enum luab_fn_kind kind;
    char *name;        /* as registered, without "lua." */
    char *kwname;      /* "lua.NAME" */
    int ref;           /* the Lua function, in the registry */
    int nb_args;       /* actions: config words consumed */
    unsigned rulesets; /* actions: RULESET_BIT()s */
    struct sample_fetch_kw fetch_kw;
    struct sample_conv_kw conv_kw;
    struct luab_stats stats;
};

/* A task waiting for the workers (registered during body or init). */
struct luab_task_def {
    struct luab_task_def *next;
    int ref; /* function */
    int nargs;
    int args[4];    /* argument refs */
    int per_thread; /* from lua-load-per-thread: only worker 1 starts it */
};

/* A lua-load-per-thread file, re-run in every worker but the first (which
 * inherits the run made while parsing, as HAProxy's thread 1). */
struct luab_ptfile {
    struct luab_ptfile *next;
    int dump_ref; /* string.dump of the compiled file, in the registry */
    int nargs;
    char **args;
};

/* One configuration generation's Lua world. */
struct luab_state {
    lua_State *L;
    struct cfg *cfg;
    struct luab_fn *fns;
    int *init_refs;
    int ninit;
    struct luab_task_def *tasks;
    unsigned phase;        /* LUAB_CTX_BODY, _INIT, then _IDLE */
    unsigned forced_yield; /* instructions between forced yields */
    unsigned session_timeout, service_timeout, task_timeout; /* ms, 0: none */
    unsigned burst_timeout;                                  /* ms, 0: none */
    size_t maxmem, mem_used; /* bytes, 0: unlimited */
    enum luab_blocking blocking;
    int log_loggers; /* tune.lua.log.loggers: 1 (on, default) or 0 */
    enum luab_log_stderr log_stderr;
    struct luab_stats task_stats;
    struct luab_ptfile *ptfiles, **ptfiles_tail;
    int loading_pt; /* running a lua-load-per-thread file */
};

/* What a suspended coroutine waits for. */
enum luab_wait {
    LUAB_WAIT_NONE,  /* not waiting (or a control yield: ready at once) */
    LUAB_WAIT_EVENT, /* a timer or a socket: ready when luab_run_wake() */
    LUAB_WAIT_IO,    /* applet input/output: ready whenever the owner runs */
};

struct luab_handle;

/* One coroutine and what it owns. Streams (shared by every Lua action and
 * fetch of the stream), applets and tasks each have one, allocated in the
 * pool of their owner, whose cleanup calls luab_run_ctx_release(). */
struct luab_ctx {
    struct luab_state *st;
    lua_State *co; /* the coroutine, anchored by co_ref */
    int co_ref;
    unsigned kind;     /* LUAB_CTX_* of the current run */
    int yieldable;     /* the current run may wait */
    const char *what;  /* "function", "applet http"... for logs */
    const char *name;  /* the registered name, for logs */
    struct stream *s;  /* NULL for tasks */
    struct pool *pool; /* where sockets register their cleanups */
    void (*wake_fn)(struct luab_ctx *ctx); /* reschedules the owner */
    void *owner;                           /* tasks: the task */
    enum luab_wait wait;
    int ready;                 /* the awaited event happened */
    int running;               /* inside lua_resume */
    int exiting;               /* core.done()/txn:done() asked to stop */
    int exit_ret;              /* enum act_ret chosen by txn:done() */
    int reply_ref;             /* txn:done(reply), sent once the run ended */
    const char *timed_out;     /* "execution timeout" or "burst timeout" */
    struct event *timer;       /* core.sleep */
    void (*cancel)(void *arg); /* undoes the current wait's registration */
    void *cancel_arg;
    unsigned long long cpu_ns;   /* Lua CPU time of the current run */
    unsigned long long limit_ns; /* 0: unlimited */
    struct timespec burst_start;
    int nres;       /* results left on <co> after a finished run */
    int handle_ref; /* the luab_handle userdata objects point to */
    struct luab_handle *handle;
    struct luab_stats *stats; /* of the function being run, or NULL */
    int wake_ms;              /* act:wake_time() for act.YIELD, -1: none */
    size_t chn_fwd;           /* txn.req: bytes forwarded by send()/forward() */
    size_t chn_res_fwd;       /* txn.res: the same, on the response side */
    int obj_ref;              /* the TXN or applet object, built once */
    int priv_ref;             /* get_priv/set_priv value */
    int released;
    /* HTTP applets */
    int status;
    int hdrs_ref; /* array of {name, value} added by add_header */
    int resp_started;
    char reason[64];
};

/* The userdata at [0] of every object that reaches a stream: cleared when
 * its context is released, so a stashed object fails cleanly. */
struct luab_handle {
    struct luab_ctx *ctx;
};

/* ---- luab.c */
/* The Lua state of generation <cfg>, or NULL if it has none. */
struct luab_state *luab_state_peek(struct cfg *cfg);
/* The state of the Lua code running on <L>. */
struct luab_state *luab_state_of(lua_State *L);
/* The registered function of <kind> named <name>, or NULL. */
struct luab_fn *luab_fn_find(struct luab_state *st, enum luab_fn_kind kind,
                             const char *name);
/* Registers <fn> at the top of <L> under <name> (replacing one of the same
 * kind); returns it. Raises a Lua error when out of memory. */
struct luab_fn *luab_fn_add(lua_State *L, enum luab_fn_kind kind,
                            const char *name, int fn_idx);
/* The LUAB_CTX_* kind of the code running on <L>. */
unsigned luab_ctx_kind(lua_State *L);
/* Raises "'<fname>' is not available in this context" unless the running
 * context is one of <allowed>; returns the running context (may be NULL in
 * body/init). */
struct luab_ctx *luab_check_ctx(lua_State *L, unsigned allowed,
                                const char *fname);
/* Builds an object: a table with the context's handle at [0] and the class
 * metatable <mt>; leaves it on the stack. */
void luab_obj_new(lua_State *L, struct luab_ctx *ctx, const char *mt);
/* Checks that argument <idx> is an object of class <mt> whose context is
 * alive; returns the context or raises a Lua error. */
struct luab_ctx *luab_obj_check(lua_State *L, int idx, const char *mt);
/* Creates the class <mt> with <methods> shared by every instance. */
void luab_class_new(lua_State *L, const char *mt, const luaL_Reg *methods);
/* The sample environment of <ctx>'s stream for fetches and converters. */
void luab_ctx_env(struct luab_ctx *ctx, struct smp_env *env);
/* Calls the function under <nargs> arguments on <L> in protected mode,
 * with a traceback on error, keeping <nres> results; RC_OK, or RC_ERR
 * with the message on the stack (core.done() counts as success). */
int luab_pcall_results(lua_State *L, int nargs, int nres);
/* Prepares the context of stream <s> for a run of <kind> that may not
 * wait, logged as <what> '<name>'; NULL when Lua cannot run now (Lua is
 * running, or an action of the stream is suspended). */
struct luab_ctx *luab_stream_run_ctx(struct stream *s, struct luab_state *st,
                                     unsigned kind, const char *what,
                                     const char *name,
                                     struct luab_stats *stats);
/* Starts task <ref>(args) in this worker now; RC_OK or RC_ERR. */
int luab_task_start(struct luab_state *st, int ref, int nargs, const int *args);

/* ---- luab_run.c: the only caller of lua_resume */
/* The context whose coroutine is running, or NULL. */
struct luab_ctx *luab_run_current(void);
/* Prepares <ctx> for a new run of <kind>: a clean coroutine (a new one
 * after an error), the hook, the timeout for <kind>. RC_OK or RC_ERR. */
int luab_run_prepare(struct luab_ctx *ctx, unsigned kind, int yieldable);
/* Pushes the function and the arguments of a run on <L>; runs in
 * protected mode, so an allocation failure raises a Lua error. */
typedef void (*luab_push_cb)(lua_State *L, void *arg);
/* Pushes, in protected mode, what <push> pushes (the function, then its
 * arguments) on ctx->co and starts the run; an out-of-memory error is
 * logged as a Lua error. Same results as luab_run_start. */
int luab_run_call(struct luab_ctx *ctx, luab_push_cb push, void *arg);
/* Runs the function and <nargs> arguments pushed on ctx->co. RC_OK when it
 * returned (ctx->nres results on ctx->co), RC_AGAIN when it waits,
 * RC_ERR when it failed (already logged). */
int luab_run_start(struct luab_ctx *ctx, int nargs);
/* Resumes a waiting run; same results. */
int luab_run_resume(struct luab_ctx *ctx);
/* 1 if a waiting run may be resumed now. */
int luab_run_ready(const struct luab_ctx *ctx);
/* Reschedules <ctx> after the event loop has polled for I/O once (a timer
 * of zero, not event_active, which libevent would run before any I/O). */
void luab_run_defer(struct luab_ctx *ctx);
/* Same, after <ms> milliseconds (act:wake_time). */
void luab_run_defer_ms(struct luab_ctx *ctx, int ms);
/* Disarms what luab_run_defer_ms() armed. */
void luab_run_defer_cancel(struct luab_ctx *ctx);
/* Marks the awaited event as arrived and reschedules the owner. */
void luab_run_wake(struct luab_ctx *ctx);
/* Abandons a waiting run (its coroutine is replaced at the next prepare). */
void luab_run_abort(struct luab_ctx *ctx);
/* Suspends the running coroutine <L> until <w> happens, continuing with
 * <k>(L, status, <kctx>); raises "yield not allowed" where it may not.
 * The caller armed the event before (after luab_run_wait_begin). */
int luab_run_yield(lua_State *L, enum luab_wait w, lua_KFunction k,
                   lua_KContext kctx);
/* Checks that <L> may wait and resets the readiness; returns the context.
 * Raises "yield not allowed" otherwise. */
struct luab_ctx *luab_run_wait_begin(lua_State *L);
/* 1 if a wait on <L> could suspend the run now, without raising. */
int luab_run_may_wait(lua_State *L);
/* Records how to undo the registration of the current wait. */
void luab_run_set_cancel(struct luab_ctx *ctx, void (*fn)(void *), void *arg);
/* Sleeps <ms> milliseconds (no-op in body and init); yields. */
int luab_run_sleep(lua_State *L, lua_Integer ms);
/* Ends the running Lua code now, keeping the <nres> values on top as its
 * results (core.done, txn:done). Never returns. */
int luab_run_exit(lua_State *L, int nres);
/* 1 if the value at <idx> is the marker luab_run_exit raises where it
 * cannot yield (body, init, Lua called back from C). */
int luab_run_is_exit(lua_State *L, int idx);
/* Releases everything <ctx> holds; idempotent (pool cleanup and release). */
void luab_run_ctx_release(void *ctx);
/* Initialises the fields of a zeroed context. */
void luab_run_ctx_init(struct luab_ctx *ctx, struct luab_state *st,
                       struct stream *s, struct pool *pool);
/* Logs a Lua error of <ctx> with file:line and traceback of <co>. */
void luab_run_log_error(struct luab_ctx *ctx, lua_State *co, const char *msg);

/* Replaces coroutine.resume and coroutine.wrap so that an API call
 * waiting inside a user coroutine suspends the whole run. */
void luab_run_coroutine_register(lua_State *L);
/* 1 if <L> is running inside a context's run (not body, init or idle). */
int luab_run_active(lua_State *L);

/* ---- luab_core.c */
void luab_core_register(lua_State *L);

/* ---- luab_util.c: core.parse_addr, match_addr, http_date family */
void luab_util_register(lua_State *L);
/* Parses "a.b.c.d[/mask]" or "ipv6[/bits]" into <family>, 16 bytes of
 * <addr> (network byte order) and <bits>; RC_OK or RC_ERR. */
int luab_util_parse_net(const char *s, int *family, unsigned char *addr,
                        int *bits);
/* 1 if the networks overlap (one contains the other), else 0. */
int luab_util_net_match(int fam1, const unsigned char *a1, int bits1, int fam2,
                        const unsigned char *a2, int bits2);
/* Parses an HTTP date of <kind> (0 any, 1 IMF, 2 RFC850, 3 asctime) into
 * seconds since the epoch; RC_OK or RC_ERR. */
int luab_util_http_date(const char *s, size_t len, int kind, long long *out);

/* ---- luab_map.c: Map class, core.set_map/del_map/add_acl/del_acl */
void luab_map_register(lua_State *L);

/* ---- luab_regex.c: Regex class */
void luab_regex_register(lua_State *L);

/* ---- luab_proxy.c: Proxy and Server classes */
void luab_proxy_register(lua_State *L);
/* Fills core.proxies, core.frontends and core.backends from <cfg>. */
void luab_proxy_publish(lua_State *L, struct cfg *cfg);
/* The C object at [0] of the object of class <mt> at 1 (a Proxy, Server,
 * Listener or StickTable), or a Lua error. */
void *luab_proxy_handle(lua_State *L, const char *mt);

/* ---- luab_stktable.c: StickTable class */
struct stick_table;
void luab_stktable_register(lua_State *L);
/* Pushes the StickTable object of <t>. */
void luab_stktable_push(lua_State *L, struct stick_table *t);

/* ---- luab_queue.c: core.queue() and the Queue class */
void luab_queue_register(lua_State *L);

/* ---- luab_filter.c: core.register_filter, "filter", HTTPMessage */
void luab_filter_register(lua_State *L);
/* Registers the filter type "lua." (module init). */
void luab_filter_init(void);

/* ---- luab_channel.c: Channel class (txn.req, txn.res) */
void luab_channel_register(lua_State *L);
/* Sets <t>.req and .res of the TXN at <idx> for <ctx>. */
void luab_channel_attach(lua_State *L, int idx, struct luab_ctx *ctx);

/* ---- luab_guard.c: tune.lua.blocking and per-script figures */
void luab_guard_register(lua_State *L);
/* Logs the figures of every function of <st> (a worker draining). */
void luab_guard_log_stats(struct luab_state *st);
/* Receives the figures <s> of the function <name> of kind <what>. */
typedef void (*luab_stats_cb)(const char *what, const char *name,
                              const struct luab_stats *s, void *arg);
/* Calls <cb> for every registered function of <st>, the tasks (as one)
 * and the runtime API commands. */
void luab_guard_each_stats(struct luab_state *st, luab_stats_cb cb, void *arg);

/* ---- luab_cli.c: core.register_cli commands and "show lua" */
/* Registers "show lua" (module init). */
void luab_cli_init(void);
/* In a worker: makes the commands core.register_cli registered in <st>
 * rows of the runtime API. RC_OK or RC_ERR (logged). */
int luab_cli_worker_init(struct luab_state *st);
/* Calls <cb> for the figures of every Lua command of this worker. */
void luab_cli_each_stats(luab_stats_cb cb, void *arg);

/* ---- luab_txn.c */
void luab_txn_register(lua_State *L);
/* Pushes the TXN object of stream context <ctx>. */
void luab_txn_push(lua_State *L, struct luab_ctx *ctx);
/* set_var/get_var/unset_var on the stream of <ctx>, args from index 2. */
int luab_vars_set(lua_State *L, struct luab_ctx *ctx);
int luab_vars_get(lua_State *L, struct luab_ctx *ctx);
int luab_vars_unset(lua_State *L, struct luab_ctx *ctx);
/* get_priv/set_priv on <ctx>. */
int luab_priv_get(lua_State *L, struct luab_ctx *ctx);
int luab_priv_set(lua_State *L, struct luab_ctx *ctx);
/* Sends Lua's log message <msg> at <level> (enum log_level) as HAProxy
 * does: non-printable bytes as '.', to the loggers of <px> (the global ones
 * when NULL) and to stderr, per tune.lua.log.loggers and .stderr of <st>. */
void luab_log(struct luab_state *st, struct proxy *px, int level,
              const char *msg);

/* ---- luab_fetches.c */
void luab_fetches_register(lua_State *L);
/* Sets <t>.f, .sf, .c, .sc of the object at <idx> for <ctx>. */
void luab_fetches_attach(lua_State *L, int idx, struct luab_ctx *ctx);
/* Pushes a sample as Lua; <strmode>: always a string ("" if <ok> is 0). */
void luab_smp_push(lua_State *L, struct sample *smp, int ok, int strmode,
                   const struct smp_env *env);
/* Converts the Lua value at <idx> to a sample (HAProxy's rules: number ->
 * integer, 0 for a float without an exact integer value, boolean, string,
 * anything else -> boolean false). String
 * data points into Lua unless <env> is given, then it is copied. 1 or 0. */
int luab_smp_from_lua(lua_State *L, int idx, struct sample *smp,
                      const struct smp_env *env);

/* ---- luab_socket.c */
void luab_socket_register(lua_State *L);
/* core.tcp(): pushes a new Socket bound to the running context. */
int luab_socket_new(lua_State *L);
/* Parses HAProxy's address forms: "ip:port", "[ipv6]:port", "ipv6",
 * "unix@/path", "/path", "ipv4@..", "ipv6@.."; <port> (or -1) overrides.
 * RC_OK with <ss>/<len> filled, or RC_ERR. No DNS. */
struct sockaddr_storage;
int luab_socket_addr(const char *addr, lua_Integer port,
                     struct sockaddr_storage *ss, int *len);

/* ---- luab_httpclient.c: core.httpclient() and the HTTPClient class */
void luab_httpclient_register(lua_State *L);
/* A parsed http:// URL: slices into the URL string. */
struct luab_hc_url {
    struct ist authority; /* as written, userinfo dropped: the Host */
    struct ist host;      /* without port nor IPv6 brackets */
    struct ist path;      /* from the first '/' or '?', fragment dropped */
    int slash;            /* the path needs a leading '/' */
    int port;             /* 80 unless given */
};
/* Splits "http://authority[/path]"; RC_OK or RC_ERR (other schemes, https
 * included until TLS lands, or a bad port). */
int luab_httpclient_url(const char *url, struct luab_hc_url *u);
/* Where to connect: <dst> if given (its port, else the URL's), else the
 * URL's host, which must be an IP address (no DNS at run time). RC_OK
 * with <ss>/<len> filled, or RC_ERR. */
int luab_httpclient_target(const char *dst, const struct luab_hc_url *u,
                           struct sockaddr_storage *ss, int *len);

/* ---- luab_http.c */
void luab_http_register(lua_State *L);
/* Pushes the HTTP object of <ctx>'s stream, or nil if not HTTP. */
void luab_http_push(lua_State *L, struct luab_ctx *ctx);
/* Pushes the headers of <m>: lower-cased name -> values indexed from 0. */
void luab_http_headers_push(lua_State *L, const struct http_msg *m);
/* What the HTTP class and HTTPMessage (luab_filter.c) do to a message. */
enum luab_http_op {
    LUAB_HTTP_GET_HEADERS,
    LUAB_HTTP_ADD_HEADER,
    LUAB_HTTP_SET_HEADER,
    LUAB_HTTP_DEL_HEADER,
    LUAB_HTTP_REP_HEADER,
    LUAB_HTTP_REP_VALUE,
    LUAB_HTTP_SET_METHOD,
    LUAB_HTTP_SET_URI,
    LUAB_HTTP_SET_PATH,
    LUAB_HTTP_SET_QUERY,
    LUAB_HTTP_SET_STATUS,
};
/* Runs <op> on message <res> (0: request) of <txn>, its arguments from
 * index 2 of <L>; returns what the Lua method returns. */
int luab_http_op(lua_State *L, struct http_txn *txn, int res,
                 enum luab_http_op op);

/* ---- luab_applet_http.c / luab_applet_tcp.c */
void luab_applet_http_register(lua_State *L);
void luab_applet_tcp_register(lua_State *L);
extern const struct applet_ops luab_applet_http_ops;
extern const struct applet_ops luab_applet_tcp_ops;
/* Shared applet input reads on the stream's applet_in: <line> reads one
 * line; else <size> bytes (-1: all). Pushes the result and returns 1, or
 * returns 0 when it must wait (nothing pushed). */
int luab_applet_read(lua_State *L, struct luab_ctx *ctx, int line,
                     lua_Integer size);
/* Shared applet I/O driver: starts the applet coroutine with the object
 * <push> builds, or resumes it when what it waits for may have happened.
 * Returns RC_AGAIN, RC_DONE or RC_ERR (applet_ops.io). */
int luab_applet_io(struct stream *s, struct luab_fn *fn, void **pctx,
                   void (*push)(lua_State *L, struct luab_ctx *ctx),
                   const char *what);
/* Shared applet release: frees the context. */
void luab_applet_release(struct stream *s, void *arg, void *ctx);
/* Answers stream <s> with the Reply table at <idx> (txn:reply() or a plain
 * table: status, reason, headers, body). */
void luab_reply_send(lua_State *L, int idx, struct stream *s);
/* Shared applet output: sends <len> bytes of <data>, yielding while the
 * client output is full, then returns <len> to Lua as HAProxy does; ends
 * the applet if the client is gone. */
int luab_applet_send(lua_State *L, struct luab_ctx *ctx, const char *data,
                     size_t len, lua_KFunction k);

#endif
