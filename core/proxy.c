/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* Proxies: creation from a defaults section, lookup, post-parse checks
 * that resolve backend names, and freeing. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "core/cfg.h"
#include "core/check.h"
#include "core/errors.h"
#include "core/filter.h"
#include "core/lb.h"
#include "core/listener.h"
#include "core/log.h"
#include "core/proxy.h"
#include "core/sample.h"
#include "core/server.h"
#include "core/stick_rules.h"
#include "core/stream.h"
#include "core/unique_id.h"
#include "core/util.h"
#include "core/worker.h"

struct errorfile *errorfile_dup(const struct errorfile *src)
{
    struct errorfile *e = xmalloc(sizeof(*e));

    *e = *src;
    if (src->raw != NULL) {
        e->raw = xmalloc(src->len ? src->len : 1);
        memcpy(e->raw, src->raw, src->len);
    }
    if (src->section != NULL)
        e->section = xstrdup(src->section);
    e->next = NULL;
    return e;
}

/* Copies the errorfile list <src>. */
static struct errorfile *errorfiles_dup(const struct errorfile *src)
{
    struct errorfile *head = NULL, **tail = &head;

    for (; src != NULL; src = src->next) {
        *tail = errorfile_dup(src);
        tail = &(*tail)->next;
    }
    return head;
}

void errorfiles_free(struct errorfile *e)
{
    while (e != NULL) {
        struct errorfile *next = e->next;

        free(e->raw);
        free(e->section);
        free(e);
        e = next;
    }
}

struct proxy *proxy_new(const char *name, unsigned cap,
                        const struct proxy *defaults, const char *file,
                        int line)
{
    struct proxy *px = xcalloc(1, sizeof(*px));
    int i;

    px->name = name ? xstrdup(name) : NULL;
    px->cap = cap;
    px->file = xstrdup(file);
    px->line = line;
    px->retries = 3;
    px->retry_on = PX_RETRY_CONN;
    acl_list_init(&px->acls);
    for (i = 0; i < RULESET_COUNT; i++)
        rule_list_init(&px->rules[i]);
    if (defaults != NULL) {
        px->mode = defaults->mode;
        px->options = defaults->options;
        px->timeouts = defaults->timeouts;
        px->inspect_delay = defaults->inspect_delay;
        px->res_inspect_delay = defaults->res_inspect_delay;
        px->maxconn = defaults->maxconn;
        px->fullconn = defaults->fullconn;
        px->retries = defaults->retries;
        px->retry_on = defaults->retry_on;
        px->reuse = defaults->reuse;
        px->lb = defaults->lb;
        px->lb_consistent = defaults->lb_consistent;
        px->lb_draws = defaults->lb_draws;
        px->fwdfor = defaults->fwdfor;
        px->origto = defaults->origto;
        px->cli_ka = defaults->cli_ka;
        px->restrict_hdr_names = defaults->restrict_hdr_names;
        px->srv_ka = defaults->srv_ka;
        px->source = defaults->source;
        if (defaults->send_name_hdr != NULL)
            px->send_name_hdr = xstrdup(defaults->send_name_hdr);
        px->chk = check_dup(defaults->chk);
        px->errorfiles = errorfiles_dup(defaults->errorfiles);
        flt_confs_inherit(px, defaults);
        if (defaults->persist != NULL) {
            px->persist_ops = defaults->persist_ops;
            px->persist = px->persist_ops->dup(defaults->persist);
        }
        if (defaults->stats != NULL) {
            px->stats_ops = defaults->stats_ops;
            px->stats = px->stats_ops->dup(defaults->stats);
        }
        if (defaults->defsrv != NULL)
            px->defsrv = server_template_dup(defaults->defsrv);
        if (defaults->fwdfor.header != NULL)
            px->fwdfor.header = xstrdup(defaults->fwdfor.header);
        if (defaults->origto.header != NULL)
            px->origto.header = xstrdup(defaults->origto.header);
        unique_id_inherit(px, defaults);
        if (defaults->default_backend_name != NULL && (cap & PX_CAP_FE))
            px->default_backend_name = xstrdup(defaults->default_backend_name);
    }
    return px;
}

/* Sets a keep-alive probe option in whole seconds, at least 1. */
static void sock_ka_secs(int fd, int opt, unsigned ms)
{
    int v = (int)((ms + 999) / 1000);

    if (ms > 0)
        (void)setsockopt(fd, IPPROTO_TCP, opt, &v, sizeof(v));
}

void proxy_sock_opts(const struct proxy *px, int fd, int client)
{
    const struct px_tcpka *ka = client ? &px->cli_ka : &px->srv_ka;
    const struct global *g = &worker_cfg()->global;
    static const struct linger reset = {1, 0};
    int one = 1, rcv = client ? g->rcvbuf_cli : g->rcvbuf_srv,
        snd = client ? g->sndbuf_cli : g->sndbuf_srv;

    if (rcv > 0)
        (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
    if (snd > 0)
        (void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &snd, sizeof(snd));

    if (px->options & (client ? PX_OPT_CLITCPKA : PX_OPT_SRVTCPKA)) {
        (void)setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
        if (ka->cnt > 0)
            (void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &ka->cnt,
                             sizeof(ka->cnt));
        sock_ka_secs(fd, TCP_KEEPIDLE, ka->idle);
        sock_ka_secs(fd, TCP_KEEPINTVL, ka->intvl);
    }
    if (px->options & PX_OPT_NOLINGER)
        (void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof(reset));
}

/* 1 if number <id> is taken among <n> of <taken>. */
static int id_taken(const int *taken, int n, int id)
{
    int i;

    for (i = 0; i < n; i++)
        if (taken[i] == id)
            return 1;
    return 0;
}

/* The lowest number from <from> not among the <n> of <taken>. */
static int id_next_free(const int *taken, int n, int from)
{
    while (id_taken(taken, n, from))
        from++;
    return from;
}

/* Numbers the servers of <px>; returns the clashes logged. */
static int server_ids_assign(struct proxy *px)
{
    struct server *srv, *o;
    int *taken, n = 0, errors = 0, next;

    for (srv = px->servers; srv != NULL; srv = srv->next)
        n++;
    taken = xcalloc((size_t)n + 1, sizeof(*taken));
    n = 0;
    for (srv = px->servers; srv != NULL; srv = srv->next) {
        for (o = px->servers; o != srv && srv->puid != 0; o = o->next)
            if (o->puid == srv->puid) {
                log_alert("%s:%d: server '%s' has the same ID (%d) as server "
                          "'%s' declared at %s:%d",
                          srv->file, srv->line, srv->name, srv->puid, o->name,
                          o->file, o->line);
                errors++;
            }
        if (srv->puid != 0)
            taken[n++] = srv->puid;
        srv->puid_forced = srv->puid != 0;
    }
    /* HAProxy's counting: the next number moves on with every server,
     * numbered by "id" or not */
    for (srv = px->servers, next = 1; srv != NULL; srv = srv->next, next++)
        if (srv->puid == 0) {
            next = srv->puid = id_next_free(taken, n, next);
            taken[n++] = srv->puid;
        }
    free(taken);
    return errors;
}

int proxy_ids_assign(struct cfg *cfg)
{
    struct proxy *px, *o;
    int *taken, n = 0, errors = 0, next;

    for (px = cfg->proxies; px != NULL; px = px->next)
        n++;
    taken = xcalloc((size_t)n + 1, sizeof(*taken));
    n = 0;
    for (px = cfg->proxies; px != NULL; px = px->next) {
        for (o = cfg->proxies; o != px && px->uuid != 0; o = o->next)
            if (o->uuid == px->uuid) {
                log_alert("%s:%d: %s '%s' has the same ID (%d) as %s '%s' "
                          "declared at %s:%d",
                          px->file, px->line, proxy_cap_name(px), px->name,
                          px->uuid, proxy_cap_name(o), o->name, o->file,
                          o->line);
                errors++;
            }
        if (px->uuid != 0)
            taken[n++] = px->uuid;
        px->uuid_forced = px->uuid != 0;
    }
    for (px = cfg->proxies, next = 1; px != NULL; px = px->next, next++) {
        if (px->uuid == 0) {
            next = px->uuid = id_next_free(taken, n, next);
            taken[n++] = px->uuid;
        }
        errors += server_ids_assign(px);
    }
    free(taken);
    return errors;
}

void proxy_free(struct proxy *px)
{
    struct switching_rule *sw, *nsw;
    struct listener *l, *nl;
    struct server *s, *ns;
    int i;

    for (l = px->listeners; l != NULL; l = nl) {
        nl = l->next;
        listener_close(l);
        free(l->name);
        free(l);
    }
    for (s = px->servers; s != NULL; s = ns) {
        ns = s->next;
        server_free(s);
    }
    if (px->dispatch != NULL)
        server_free(px->dispatch);
    lb_deinit(px);
    for (sw = px->switching; sw != NULL; sw = nsw) {
        nsw = sw->next;
        acl_cond_free(sw->cond);
        sample_expr_free(sw->name_expr);
        free(sw->be_name);
        free(sw->file);
        free(sw);
    }
    for (i = 0; i < RULESET_COUNT; i++)
        rule_list_free(&px->rules[i]);
    acl_list_free(&px->acls);
    free(px->default_backend_name);
    free(px->fwdfor.header);
    free(px->send_name_hdr);
    stick_rules_free(px->sticking);
    free(px->origto.header);
    unique_id_release(px);
    check_px_free(px->chk);
    errorfiles_free(px->errorfiles);
    flt_confs_free(px);
    if (px->persist != NULL)
        px->persist_ops->free(px->persist);
    if (px->stats != NULL)
        px->stats_ops->free(px->stats);
    if (px->defsrv != NULL)
        server_free(px->defsrv);
    free(px->name);
    free(px->file);
    free(px);
}

struct proxy *proxy_find(const struct cfg *cfg, const char *name, unsigned cap)
{
    struct proxy *px;

    for (px = cfg->proxies; px != NULL; px = px->next)
        if (strcmp(px->name, name) == 0 && (px->cap & cap) == cap)
            return px;
    return NULL;
}

const char *proxy_cap_name(const struct proxy *px)
{
    if (px->cap & PX_CAP_DEF)
        return "defaults";
    if ((px->cap & (PX_CAP_FE | PX_CAP_BE)) == (PX_CAP_FE | PX_CAP_BE))
        return "listen";
    return (px->cap & PX_CAP_FE) ? "frontend" : "backend";
}

/* Resolves backend <name> used by <fe>; counts an error if it fails. */
static struct proxy *resolve_backend(struct cfg *cfg, struct proxy *fe,
                                     const char *name, const char *file,
                                     int line, int *errors)
{
    struct proxy *be = proxy_find(cfg, name, PX_CAP_BE);

    if (be == NULL) {
        log_alert("%s:%d: %s '%s': unable to find required backend '%s'", file,
                  line, proxy_cap_name(fe), fe->name, name);
        (*errors)++;
    } else if (be->mode != fe->mode) {
        log_alert("%s:%d: %s '%s' (mode %s) cannot use backend '%s' "
                  "(mode %s)",
                  file, line, proxy_cap_name(fe), fe->name,
                  fe->mode == PX_MODE_HTTP ? "http" : "tcp", be->name,
                  be->mode == PX_MODE_HTTP ? "http" : "tcp");
        (*errors)++;
    }
    return be;
}

/* Checks one frontend: listeners present, backends resolved. */
static int check_frontend(struct cfg *cfg, struct proxy *px)
{
    struct switching_rule *sw;
    int errors = 0;

    if (px->listeners == NULL) {
        log_alert("%s:%d: %s '%s' has no 'bind' directive", px->file, px->line,
                  proxy_cap_name(px), px->name);
        errors++;
    }
    if (px->default_backend_name != NULL)
        px->default_backend = resolve_backend(cfg, px, px->default_backend_name,
                                              px->file, px->line, &errors);
    for (sw = px->switching; sw != NULL; sw = sw->next)
        if (sw->name_expr == NULL)
            sw->be = resolve_backend(cfg, px, sw->be_name, sw->file, sw->line,
                                     &errors);
    if ((px->cap & PX_CAP_BE) && px->default_backend == NULL &&
        (px->servers != NULL || px->dispatch != NULL))
        px->default_backend = px;
    return errors;
}

/* Finds the backend named by the value of <sw>'s expression. */
static struct proxy *switching_dynamic(const struct switching_rule *sw,
                                       struct stream *s,
                                       const struct smp_env *env)
{
    struct sample smp;
    char name[256];
    struct proxy *be;

    memset(&smp, 0, sizeof(smp));
    if (!sample_expr_eval(sw->name_expr, env, &smp) ||
        !sample_cast(&smp, SMP_T_STR, env) || smp.data.str.len >= sizeof(name))
        return NULL;
    memcpy(name, smp.data.str.ptr, smp.data.str.len);
    name[smp.data.str.len] = '\0';
    be = proxy_find(worker_cfg(), name, PX_CAP_BE);
    return be != NULL && be->mode == s->fe->mode ? be : NULL;
}

struct proxy *proxy_choose_backend(struct stream *s)
{
    struct switching_rule *sw;
    struct smp_env env;
    struct proxy *be;

    stream_env(s, &env);
    for (sw = s->fe->switching; sw != NULL; sw = sw->next) {
        if (sw->cond != NULL && acl_cond_exec(sw->cond, &env) != ACL_PASS)
            continue;
        if (sw->name_expr == NULL)
            return sw->be;
        /* a name that matches no backend falls through, as in HAProxy */
        if ((be = switching_dynamic(sw, s, &env)) != NULL)
            return be;
    }
    return s->fe->default_backend;
}

/* A "balance" algorithm, set or inherited, takes precedence over the
 * "dispatch" address of <px>: HAProxy ignores it with a warning. */
static void dispatch_ignore(struct proxy *px)
{
    log_warning("%s:%d: dispatch address of %s '%s' will be ignored in "
                "balance mode",
                px->dispatch->file, px->dispatch->line, proxy_cap_name(px),
                px->name);
    server_free(px->dispatch);
    px->dispatch = NULL;
}

/* Returns 1 if frontend <fe> may send streams to backend <be>: its default
 * backend (itself for a listen section without one) or a backend one of
 * its use_backend rules names; dynamic names do not count. */
static int frontend_feeds(const struct proxy *fe, const struct proxy *be)
{
    const struct proxy *def = fe->default_backend;
    const struct switching_rule *sw;

    if (def == NULL && (fe->cap & PX_CAP_BE))
        def = fe;
    if (def == be)
        return 1;
    for (sw = fe->switching; sw != NULL; sw = sw->next)
        if (sw->name_expr == NULL && sw->be == be)
            return 1;
    return 0;
}

/* Gives backend <be> without "fullconn" HAProxy's default, a tenth
 * (rounded up, at least 1) of the maxconn of the frontends that feed it
 * (the global maxconn for one without), and settles its servers'
 * minconn. */
static void backend_limits_finish(struct cfg *cfg, struct proxy *be)
{
    const struct proxy *fe;
    struct server *srv;
    long long sum = 0;

    for (srv = be->servers; srv != NULL; srv = srv->next)
        server_limits_finish(srv);
    if (be->fullconn != 0)
        return;
    for (fe = cfg->proxies; fe != NULL; fe = fe->next)
        if ((fe->cap & PX_CAP_FE) && frontend_feeds(fe, be))
            sum += fe->maxconn ? fe->maxconn : cfg->global.maxconn;
    be->fullconn = (int)((sum + 9) / 10);
    if (be->fullconn == 0)
        be->fullconn = 1;
}

int proxies_check(struct cfg *cfg)
{
    struct proxy *px;
    int errors = 0;

    for (px = cfg->proxies; px != NULL; px = px->next) {
        char *err = NULL;

        if (px->cap & PX_CAP_FE)
            errors += check_frontend(cfg, px);
        if (px->dispatch != NULL && px->lb != NULL)
            dispatch_ignore(px);
        if ((px->cap & PX_CAP_BE) && lb_init(px, &err) != RC_OK) {
            log_alert("%s:%d: %s '%s': %s", px->file, px->line,
                      proxy_cap_name(px), px->name, err);
            free(err);
            errors++;
        }
        errors += filters_check(px);
        if (px->mode == PX_MODE_TCP &&
            (px->rules[RULESET_HTTP_REQ].first != NULL ||
             px->rules[RULESET_HTTP_RES].first != NULL))
            log_warning("%s:%d: %s '%s' is in tcp mode: its http-request "
                        "and http-response rules are ignored",
                        px->file, px->line, proxy_cap_name(px), px->name);
    }
    /* once every frontend has its backends resolved */
    for (px = cfg->proxies; px != NULL; px = px->next)
        if (px->cap & PX_CAP_BE)
            backend_limits_finish(cfg, px);
    return errors;
}
