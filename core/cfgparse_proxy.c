/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* Keywords of proxy sections that core owns: mode, bind, server, timeouts,
 * options, ACLs and backend switching. HTTP and TCP rule keywords belong to
 * http/ and tcp/. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <arpa/inet.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "core/acl.h"
#include "core/action.h"
#include "core/cfg.h"
#include "core/cfgparse.h"
#include "core/core.h"
#include "core/cfgval.h"
#include "core/check.h"
#include "core/errors.h"
#include "core/lb.h"
#include "core/listener.h"
#include "core/proxy.h"
#include "core/sample.h"
#include "core/server.h"
#include "core/util.h"

#define P(f) offsetof(struct proxy, f)
#define T(f)                                                                   \
    (offsetof(struct proxy, timeouts) + offsetof(struct px_timeouts, f))

/* "mode tcp|http". */
static int parse_mode(struct cfg_ctx *ctx, const struct cfg_kw *kw, int argc,
                      char **args, char **err)
{
    if (strcmp(args[1], "http") == 0)
        ctx->px->mode = PX_MODE_HTTP;
    else if (strcmp(args[1], "tcp") == 0)
        ctx->px->mode = PX_MODE_TCP;
    else if (strcmp(args[1], "health") == 0 || strcmp(args[1], "log") == 0)
        return set_err(err, "mode '%s' is not supported yet", args[1]);
    else
        return set_err(err,
                       "unknown proxy mode '%s' (expects 'tcp' or "
                       "'http')",
                       args[1]);
    return RC_OK;
}

/* Returns 1 if "bind" option <o> is one of ours that takes a value. */
static int bind_opt_takes_arg(const char *o)
{
    static const char *const opts[] = {"name", "backlog", "maxconn",
                                       "mode", "uid",     "gid",
                                       "user", "group",   "id"};
    size_t k;

    for (k = 0; k < sizeof(opts) / sizeof(opts[0]); k++)
        if (strcmp(o, opts[k]) == 0)
            return 1;
    return 0;
}

int cfgparse_bind_opts(struct listener *l, int i, int argc, char **args,
                       char **err)
{
    long long v;

    for (; i < argc; i += 2) {
        const char *o = args[i];

        if (i + 1 >= argc && bind_opt_takes_arg(o))
            return set_err(err, "'bind' option '%s' expects an argument", o);
        if (strcmp(o, "name") == 0) {
            free(l->name);
            l->name = xstrdup(args[i + 1]);
            l->named = 1;
        } else if (strcmp(o, "id") == 0) {
            if (cfgval_int(args[i + 1], 1, 0x7fffffff, &v, err) != RC_OK)
                return RC_ERR;
            l->id = (int)v;
        } else if (strcmp(o, "backlog") == 0 || strcmp(o, "maxconn") == 0) {
            if (cfgval_int(args[i + 1], 1, 1000000, &v, err) != RC_OK)
                return RC_ERR;
            *(o[0] == 'b' ? &l->backlog : &l->maxconn) = (int)v;
        } else if (strcmp(o, "mode") == 0) {
            char *end;
            unsigned long m = strtoul(args[i + 1], &end, 8);

            if (*end != '\0' || m > 07777)
                return set_err(err, "invalid 'mode' '%s' (octal expected)",
                               args[i + 1]);
            l->mode = (unsigned)m;
        } else if (strcmp(o, "uid") == 0 || strcmp(o, "gid") == 0) {
            if (cfgval_int(args[i + 1], 0, 0x7fffffff, &v, err) != RC_OK)
                return RC_ERR;
            *(o[0] == 'u' ? &l->uid : &l->gid) = (int)v;
        } else if (strcmp(o, "user") == 0) {
            struct passwd *pw = getpwnam(args[i + 1]);

            if (pw == NULL)
                return set_err(err, "unknown user '%s'", args[i + 1]);
            l->uid = (int)pw->pw_uid;
        } else if (strcmp(o, "group") == 0) {
            struct group *gr = getgrnam(args[i + 1]);

            if (gr == NULL)
                return set_err(err, "unknown group '%s'", args[i + 1]);
            l->gid = (int)gr->gr_gid;
        } else if (strcmp(o, "accept-proxy") == 0) {
            l->accept_proxy = 1;
            i--; /* a flag: no argument */
        } else if (strcmp(o, "v4v6") == 0) {
            i--; /* the Linux default */
        } else {
            return set_err(err, "'bind' option '%s' is not supported yet", o);
        }
    }
    return RC_OK;
}

/* "bind ADDR[,ADDR...] [options]". */
static int parse_bind(struct cfg_ctx *ctx, const struct cfg_kw *kw, int argc,
                      char **args, char **err)
{
    struct listener *l = xcalloc(1, sizeof(*l)), **pl;

    l->fd = -1;
    l->uid = l->gid = -1;
    l->px = ctx->px;
    l->file = ctx->file;
    l->line = ctx->line;
    if (strchr(args[1], ',') != NULL) {
        free(l);
        return set_err(err, "several addresses on one 'bind' line are not "
                            "supported yet: use one 'bind' per address");
    }
    if (cfgval_addr(args[1], CFGVAL_ADDR_NEED_PORT, &l->addr, err) != RC_OK ||
        cfgparse_bind_opts(l, 2, argc, args, err) != RC_OK) {
        free(l->name);
        free(l);
        return RC_ERR;
    }
    if (l->name == NULL)
        l->name = xstrdup(args[1]);
    l->inherited = l->addr.family == AF_UNSPEC;
    if (l->inherited)
        l->fd = l->addr.fd;
    for (pl = &ctx->px->listeners; *pl != NULL; pl = &(*pl)->next)
        if (l->id != 0 && (*pl)->id == l->id) {
            set_err(err, "custom id %d already used at %s:%d", l->id,
                    (*pl)->file, (*pl)->line);
            free(l->name);
            free(l);
            return RC_ERR;
        }
    *pl = l;
    return RC_OK;
}

/* "server NAME ADDR [options]". */
static int parse_server(struct cfg_ctx *ctx, const struct cfg_kw *kw, int argc,
                        char **args, char **err)
{
    return server_parse(ctx, ctx->px, argc, args, err);
}

/* "server-template PREFIX NUM|RANGE ADDR [options]". */
static int parse_server_template(struct cfg_ctx *ctx, const struct cfg_kw *kw,
                                 int argc, char **args, char **err)
{
    return server_parse_template(ctx, ctx->px, argc, args, err);
}

/* "dispatch ADDR:PORT": the one server of a legacy backend. */
static int parse_dispatch(struct cfg_ctx *ctx, const struct cfg_kw *kw,
                          int argc, char **args, char **err)
{
    return server_parse_dispatch(ctx, ctx->px, args[1], err);
}

/* "source ADDR[:PORT]": where the connections to the servers come from. */
static int parse_source(struct cfg_ctx *ctx, const struct cfg_kw *kw, int argc,
                        char **args, char **err)
{
    int i = 0;

    if (server_parse_source(&i, argc, args, &ctx->px->source, err) != RC_OK)
        return RC_ERR;
    if (i + 1 < argc)
        return set_err(err, "'source': unexpected '%s'", args[i + 1]);
    return RC_OK;
}

/* "option X" without a table row: name it. */
static int parse_option_unknown(struct cfg_ctx *ctx, const struct cfg_kw *kw,
                                int argc, char **args, char **err)
{
    int i = strcmp(args[0], "no") == 0 ? 2 : 1;

    return set_err(err, "unknown option '%s'", i < argc ? args[i] : "");
}

/* "acl NAME FETCH [flags] PATTERN...". */
static int parse_acl(struct cfg_ctx *ctx, const struct cfg_kw *kw, int argc,
                     char **args, char **err)
{
    return acl_parse_line(&ctx->px->acls, argc - 1, args + 1, err);
}

/* "default_backend NAME". */
static int parse_default_backend(struct cfg_ctx *ctx, const struct cfg_kw *kw,
                                 int argc, char **args, char **err)
{
    free(ctx->px->default_backend_name);
    ctx->px->default_backend_name = xstrdup(args[1]);
    return RC_OK;
}

/* "use_backend NAME [if|unless COND]". */
static int parse_use_backend(struct cfg_ctx *ctx, const struct cfg_kw *kw,
                             int argc, char **args, char **err)
{
    struct switching_rule *sw, **psw;
    struct acl_cond *cond;

    if (rule_cond_parse(ctx, 2, argc, args, &cond, err) != RC_OK)
        return RC_ERR;
    sw = xcalloc(1, sizeof(*sw));
    sw->be_name = xstrdup(args[1]);
    if (strchr(args[1], '%') != NULL) {
        size_t n = strlen(args[1]);
        char *e;

        if (strncmp(args[1], "%[", 2) != 0 || args[1][n - 1] != ']') {
            acl_cond_free(cond);
            free(sw->be_name);
            free(sw);
            return set_err(err, "'use_backend': log-format names other "
                                "than a single %%[expr] are not supported "
                                "yet");
        }
        e = xstrndup(args[1] + 2, n - 3);
        sw->name_expr = sample_expr_parse(e, err);
        free(e);
        if (sw->name_expr == NULL) {
            acl_cond_free(cond);
            free(sw->be_name);
            free(sw);
            return RC_ERR;
        }
    }
    sw->cond = cond;
    sw->file = xstrdup(ctx->file);
    sw->line = ctx->line;
    for (psw = &ctx->px->switching; *psw != NULL; psw = &(*psw)->next)
        ;
    *psw = sw;
    return RC_OK;
}

/* "balance ALGORITHM [options]". */
static int parse_balance(struct cfg_ctx *ctx, const struct cfg_kw *kw, int argc,
                         char **args, char **err)
{
    return lb_parse_balance(ctx->px, argc, args, err);
}

/* "option httpchk [METHOD] [URI] [VERSION]". */
static int parse_httpchk(struct cfg_ctx *ctx, const struct cfg_kw *kw, int argc,
                         char **args, char **err)
{
    return check_parse_httpchk(ctx->px, argc, args, err);
}

/* "option redispatch [<interval>]": the interval is checked (a non-zero
 * integer) but not used: every retry goes back to the algorithm, which is
 * what HAProxy 2.6 was seen doing with a refused server whatever the
 * interval (t/backend_retry_connect.t). */
static int parse_redispatch(struct cfg_ctx *ctx, const struct cfg_kw *kw,
                            int argc, char **args, char **err)
{
    long long v;

    if (argc > 2 && strcmp(args[0], "no") != 0 &&
        (cfgval_int(args[2], INT_MIN, INT_MAX, &v, err) != RC_OK ||
         (v == 0 && set_err(err, "'option redispatch' expects a "
                                 "non-zero interval") != RC_OK)))
        return RC_ERR;
    return cfg_set_flag(ctx, kw, argc, args, err);
}

/* "http-check expect ..." and "http-check send ...". */
static int parse_http_check(struct cfg_ctx *ctx, const struct cfg_kw *kw,
                            int argc, char **args, char **err)
{
    return check_parse_http_check(ctx->px, argc, args, err);
}

/* "default-server [options]". */
static int parse_default_server(struct cfg_ctx *ctx, const struct cfg_kw *kw,
                                int argc, char **args, char **err)
{
    return server_parse_defaults(ctx->px, argc, args, err);
}

/* "hash-type map-based|consistent [function] [avalanche]". */
static int parse_hash_type(struct cfg_ctx *ctx, const struct cfg_kw *kw,
                           int argc, char **args, char **err)
{
    return lb_parse_hash_type(ctx->px, argc, args, err);
}

/* Parses "ADDR[/BITS]" for "option forwardfor|originalto except". */
static int parse_network(const char *s, struct px_addr_hdr *f, char **err)
{
    char buf[64];
    const char *slash = strchr(s, '/');
    size_t n = slash ? (size_t)(slash - s) : strlen(s);
    long long bits;

    if (n >= sizeof(buf))
        return set_err(err, "invalid network '%s'", s);
    memcpy(buf, s, n);
    buf[n] = '\0';
    if (inet_pton(AF_INET, buf, f->except_addr) == 1)
        f->except_family = AF_INET;
    else if (inet_pton(AF_INET6, buf, f->except_addr) == 1)
        f->except_family = AF_INET6;
    else
        return set_err(err, "invalid network '%s'", s);
    bits = f->except_family == AF_INET ? 32 : 128;
    if (slash != NULL && cfgval_int(slash + 1, 0, bits, &bits, err) != RC_OK)
        return RC_ERR;
    f->except_bits = (int)bits;
    return RC_OK;
}

/* "option forwardfor [except NET] [header NAME] [if-none]" and "option
 * originalto [except NET] [header NAME]"; kw->offset picks the field, and
 * the default header is X-Forwarded-For or X-Original-To. */
static int parse_addr_hdr(struct cfg_ctx *ctx, const struct cfg_kw *kw,
                          int argc, char **args, char **err)
{
    struct px_addr_hdr *f =
        (struct px_addr_hdr *)((char *)ctx->px + kw->offset);
    int fwdfor = f == &ctx->px->fwdfor;
    int i;

    free(f->header);
    memset(f, 0, sizeof(*f));
    if (strcmp(args[0], "no") == 0)
        return RC_OK;
    for (i = 2; i < argc; i++) {
        if (fwdfor && strcmp(args[i], "if-none") == 0) {
            f->if_none = 1;
        } else if (strcmp(args[i], "header") == 0 && i + 1 < argc) {
            free(f->header);
            f->header = xstrdup(args[++i]);
        } else if (strcmp(args[i], "except") == 0 && i + 1 < argc) {
            if (parse_network(args[++i], f, err) != RC_OK)
                return RC_ERR;
        } else {
            return set_err(err, "'%s': unexpected '%s'", kw->name, args[i]);
        }
    }
    if (f->header == NULL)
        f->header = xstrdup(fwdfor ? "X-Forwarded-For" : "X-Original-To");
    return RC_OK;
}

/* "http-reuse never|safe|aggressive|always". */
static int parse_http_reuse(struct cfg_ctx *ctx, const struct cfg_kw *kw,
                            int argc, char **args, char **err)
{
    static const char *const modes[] = {"safe", "never", "aggressive",
                                        "always"};
    int k = cfg_word_index(args[1], modes, sizeof(modes) / sizeof(modes[0]));

    if (k >= 0) {
        ctx->px->reuse = (enum px_reuse)k;
        return RC_OK;
    }
    return set_err(err,
                   "'http-reuse' expects 'never', 'safe', 'aggressive' "
                   "or 'always', got '%s'",
                   args[1]);
}

const struct cfg_kw cfgparse_proxy_keywords[] = {
    {"http-reuse", CFG_SEC_BE, 1, 1, parse_http_reuse, 0, 0, 0},
    {"hash-type", CFG_SEC_BE, 1, 3, parse_hash_type, 0, 0, 0},
    {"http-check", CFG_SEC_BE, 1, -1, parse_http_check, 0, 0, 0},
    {"default-server", CFG_SEC_BE, 0, -1, parse_default_server, 0, 0, 0},
    {"mode", CFG_SEC_PROXY, 1, 1, parse_mode, 0, 0, 0},
    {"bind", CFG_SEC_FRONTEND | CFG_SEC_LISTEN, 1, -1, parse_bind, 0, 0, 0},
    {"server", CFG_SEC_BACKEND | CFG_SEC_LISTEN, 2, -1, parse_server, 0, 0, 0},
    {"server-template", CFG_SEC_BACKEND | CFG_SEC_LISTEN, 3, -1,
     parse_server_template, 0, 0, 0},
    {"source", CFG_SEC_BE, 1, -1, parse_source, 0, 0, 0},
    {"dispatch", CFG_SEC_BACKEND | CFG_SEC_LISTEN, 1, 1, parse_dispatch, 0, 0,
     0},
    {"maxconn", CFG_SEC_FE, 1, 1, cfg_set_int, P(maxconn), 0, 1000000},
    {"rate-limit sessions", CFG_SEC_FE, 1, 1, cfg_set_int, P(rate_sess), 0,
     INT_MAX},
    {"fullconn", CFG_SEC_BE, 1, 1, cfg_set_int, P(fullconn), 0, 1000000},
    {"retries", CFG_SEC_BE, 1, 1, cfg_set_int, P(retries), 0, 1000},
    {"acl", CFG_SEC_NODEF, 2, -1, parse_acl, 0, 0, 0},
    {"default_backend", CFG_SEC_FE, 1, 1, parse_default_backend, 0, 0, 0},
    {"use_backend", CFG_SEC_FRONTEND | CFG_SEC_LISTEN, 1, -1, parse_use_backend,
     0, 0, 0},
    {"balance", CFG_SEC_BE, 1, -1, parse_balance, 0, 0, 0},
    {"timeout client", CFG_SEC_FE, 1, 1, cfg_set_duration, T(client), 0, 0},
    {"timeout clitimeout", CFG_SEC_FE, 1, 1, cfg_set_duration, T(client), 0, 0},
    {"timeout server", CFG_SEC_BE, 1, 1, cfg_set_duration, T(server), 0, 0},
    {"timeout connect", CFG_SEC_BE, 1, 1, cfg_set_duration, T(connect), 0, 0},
    {"timeout http-request", CFG_SEC_PROXY, 1, 1, cfg_set_duration,
     T(http_request), 0, 0},
    {"timeout http-keep-alive", CFG_SEC_PROXY, 1, 1, cfg_set_duration,
     T(http_keep_alive), 0, 0},
    {"timeout queue", CFG_SEC_BE, 1, 1, cfg_set_duration, T(queue), 0, 0},
    {"timeout tunnel", CFG_SEC_BE, 1, 1, cfg_set_duration, T(tunnel), 0, 0},
    {"timeout client-fin", CFG_SEC_FE, 1, 1, cfg_set_duration, T(client_fin), 0,
     0},
    {"timeout server-fin", CFG_SEC_BE, 1, 1, cfg_set_duration, T(server_fin), 0,
     0},
    {"timeout check", CFG_SEC_BE, 1, 1, cfg_set_duration, T(check), 0, 0},
    {"timeout tarpit", CFG_SEC_PROXY, 1, 1, cfg_set_duration, T(tarpit), 0, 0},
    {"option", CFG_SEC_PROXY, 0, -1, parse_option_unknown, 0, 0, 0},
    {"option httplog", CFG_SEC_PROXY, 0, 1, cfg_set_flag, P(options),
     PX_OPT_HTTPLOG, 0},
    {"option tcplog", CFG_SEC_PROXY, 0, 0, cfg_set_flag, P(options),
     PX_OPT_TCPLOG, 0},
    {"option dontlognull", CFG_SEC_PROXY, 0, 0, cfg_set_flag, P(options),
     PX_OPT_DONTLOGNULL, 0},
    {"option httpclose", CFG_SEC_PROXY, 0, 0, cfg_set_flag, P(options),
     PX_OPT_HTTPCLOSE, 0},
    {"option http-server-close", CFG_SEC_PROXY, 0, 0, cfg_set_flag, P(options),
     PX_OPT_SRV_CLOSE, 0},
    {"option http-keep-alive", CFG_SEC_PROXY, 0, 0, cfg_set_flag, P(options), 0,
     0},
    {"option http-buffer-request", CFG_SEC_PROXY, 0, 0, cfg_set_flag,
     P(options), PX_OPT_BUFFER_REQ, 0},
    {"option splice-auto", CFG_SEC_PROXY, 0, 0, cfg_set_flag, P(options),
     PX_OPT_SPLICE_AUTO, 0},
    {"option splice-request", CFG_SEC_PROXY, 0, 0, cfg_set_flag, P(options),
     PX_OPT_SPLICE_REQ, 0},
    {"option splice-response", CFG_SEC_PROXY, 0, 0, cfg_set_flag, P(options),
     PX_OPT_SPLICE_RES, 0},
    {"option allbackups", CFG_SEC_BE, 0, 0, cfg_set_flag, P(options),
     PX_OPT_ALLBACKUPS, 0},
    {"option redispatch", CFG_SEC_BE, 0, 1, parse_redispatch, P(options),
     PX_OPT_REDISPATCH, 0},
    {"option persist", CFG_SEC_BE, 0, 0, cfg_set_flag, P(options),
     PX_OPT_PERSIST, 0},
    {"option http-ignore-probes", CFG_SEC_FE, 0, 0, cfg_set_flag, P(options),
     PX_OPT_IGNORE_PROBE, 0},
    {"option forwardfor", CFG_SEC_PROXY, 0, 5, parse_addr_hdr, P(fwdfor), 0, 0},
    {"option httpchk", CFG_SEC_BE, 0, 3, parse_httpchk, 0, 0, 0},
    {"option originalto", CFG_SEC_PROXY, 0, 4, parse_addr_hdr, P(origto), 0, 0},
    {"option log-health-checks", CFG_SEC_PROXY, 0, 0, cfg_set_flag, P(options),
     PX_OPT_LOG_HEALTH, 0},
    {"id", CFG_SEC_NODEF, 1, 1, cfg_set_int, P(uuid), 1, INT_MAX},
    {"option tcpka", CFG_SEC_PROXY, 0, 0, cfg_set_flag, P(options),
     PX_OPT_CLITCPKA | PX_OPT_SRVTCPKA, 0},
    {"option clitcpka", CFG_SEC_FE, 0, 0, cfg_set_flag, P(options),
     PX_OPT_CLITCPKA, 0},
    {"option srvtcpka", CFG_SEC_BE, 0, 0, cfg_set_flag, P(options),
     PX_OPT_SRVTCPKA, 0},
    {"clitcpka-cnt", CFG_SEC_FE, 1, 1, cfg_set_int, P(cli_ka.cnt), 1, 1000},
    {"clitcpka-idle", CFG_SEC_FE, 1, 1, cfg_set_duration, P(cli_ka.idle), 0, 0},
    {"clitcpka-intvl", CFG_SEC_FE, 1, 1, cfg_set_duration, P(cli_ka.intvl), 0,
     0},
    {"srvtcpka-cnt", CFG_SEC_BE, 1, 1, cfg_set_int, P(srv_ka.cnt), 1, 1000},
    {"srvtcpka-idle", CFG_SEC_BE, 1, 1, cfg_set_duration, P(srv_ka.idle), 0, 0},
    {"srvtcpka-intvl", CFG_SEC_BE, 1, 1, cfg_set_duration, P(srv_ka.intvl), 0,
     0},
    {"option nolinger", CFG_SEC_PROXY, 0, 0, cfg_set_flag, P(options),
     PX_OPT_NOLINGER, 0},
    /* HAProxy 2.6 serves an HTTP/1 request whose client closed while it
     * waited all the same, and balances the requests of a keep-alive
     * connection with prefer-last-server as without it (t/proxy_options.t
     * compares): so do we */
    {"option abortonclose", CFG_SEC_BE, 0, 0, cfg_set_flag, P(options), 0, 0},
    {"option prefer-last-server", CFG_SEC_BE, 0, 0, cfg_set_flag, P(options), 0,
     0},
    {"option http-pretend-keepalive", CFG_SEC_PROXY, 0, 0, cfg_set_flag,
     P(options), PX_OPT_PRETEND_KA, 0},
    {"option dontlog-normal", CFG_SEC_FE, 0, 0, cfg_set_flag, P(options),
     PX_OPT_DONTLOG_NORM, 0},
    {"option log-separate-errors", CFG_SEC_FE, 0, 0, cfg_set_flag, P(options),
     PX_OPT_LOG_SEP_ERR, 0},
    {"http-send-name-header", CFG_SEC_BE, 1, 1, cfg_set_string,
     P(send_name_hdr), 0, 0},
    {NULL, 0, 0, 0, NULL, 0, 0, 0},
};
