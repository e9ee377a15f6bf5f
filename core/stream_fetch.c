/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* Sample fetches about the connection and the proxies a stream goes
 * through: src, src_port, dst, dst_port, fe_name, be_name, srv_name,
 * nbsrv, srv_is_up, and ssl_fc (always false until TLS lands). Proxies
 * named in arguments are looked up in the worker's configuration when the
 * fetch runs. A server is up unless "disabled" or down by its checks. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "core/core.h"
#include "core/errors.h"
#include "core/util.h"
#include "core/proxy.h"
#include "core/sample.h"
#include "core/server.h"
#include "core/stream.h"
#include "core/worker.h"

/* Fills <smp> with the address of <ss>; 0 for non-IP sockets. */
static int smp_set_addr(struct sample *smp, const union sess_addr *a)
{
    if (a->sa.sa_family == AF_INET) {
        smp->type = SMP_T_IPV4;
        smp->data.ipv4 = a->in4.sin_addr;
        return 1;
    }
    if (a->sa.sa_family == AF_INET6) {
        smp->type = SMP_T_IPV6;
        smp->data.ipv6 = a->in6.sin6_addr;
        return 1;
    }
    return 0;
}

/* Fills <smp> with the port of <ss>; 0 for non-IP sockets. */
static int smp_set_port(struct sample *smp, const union sess_addr *a)
{
    smp->type = SMP_T_SINT;
    if (a->sa.sa_family == AF_INET)
        smp->data.sint = ntohs(a->in4.sin_port);
    else if (a->sa.sa_family == AF_INET6)
        smp->data.sint = ntohs(a->in6.sin6_port);
    else
        return 0;
    return 1;
}

/* priv: 0 = source, 1 = destination. */
static int fetch_addr(const struct arg *args, struct sample *smp,
                      const struct smp_env *env, const void *priv)
{
    const struct session *sess;

    if (env->strm == NULL)
        return 0;
    sess = env->strm->sess;
    return smp_set_addr(smp, priv ? &sess->dst : &sess->src);
}

static int fetch_port(const struct arg *args, struct sample *smp,
                      const struct smp_env *env, const void *priv)
{
    const struct session *sess;

    if (env->strm == NULL)
        return 0;
    sess = env->strm->sess;
    return smp_set_port(smp, priv ? &sess->dst : &sess->src);
}

/* Sets <smp> to the NUL-terminated <name>, if any. */
static int smp_set_name(struct sample *smp, const char *name)
{
    if (name == NULL)
        return 0;
    smp->type = SMP_T_STR;
    smp->data.str = ist_from(name);
    return 1;
}

static int fetch_fe_name(const struct arg *args, struct sample *smp,
                         const struct smp_env *env, const void *priv)
{
    return env->strm ? smp_set_name(smp, env->strm->fe->name) : 0;
}

static int fetch_be_name(const struct arg *args, struct sample *smp,
                         const struct smp_env *env, const void *priv)
{
    return env->strm && env->strm->be ? smp_set_name(smp, env->strm->be->name)
                                      : 0;
}

static int fetch_srv_name(const struct arg *args, struct sample *smp,
                          const struct smp_env *env, const void *priv)
{
    return env->strm && env->strm->srv ? smp_set_name(smp, env->strm->srv->name)
                                       : 0;
}

/* The backend named <name> in the running configuration, or NULL. */
static struct proxy *backend_named(struct ist name)
{
    struct cfg *cfg = worker_cfg();
    char buf[256];

    if (cfg == NULL || name.len >= sizeof(buf))
        return NULL;
    memcpy(buf, name.ptr, name.len);
    buf[name.len] = '\0';
    return proxy_find(cfg, buf, PX_CAP_BE);
}

/* 1 if <srv> can take traffic: not "disabled" and not found down by its
 * health checks. */
static int server_usable(const struct server *srv)
{
    return !srv->disabled && server_up(srv);
}

/* nbsrv([backend]): usable servers as HAProxy counts them: the active
 * ones, else 1 if a backup can take over. */
static int fetch_nbsrv(const struct arg *args, struct sample *smp,
                       const struct smp_env *env, const void *priv)
{
    struct proxy *px = args[0].type == ARGT_STR
                           ? backend_named(args[0].data.str)
                       : env->strm ? env->strm->be
                                   : NULL;
    const struct server *srv;
    long long act = 0, bck = 0;

    if (px == NULL)
        return 0;
    for (srv = px->servers; srv != NULL; srv = srv->next)
        if (server_usable(srv))
            *(srv->backup ? &bck : &act) += 1;
    smp->type = SMP_T_SINT;
    smp->data.sint = act ? act : bck ? 1 : 0;
    return 1;
}

/* srv_is_up([backend/]server): the backend defaults to the stream's. */
static int fetch_srv_is_up(const struct arg *args, struct sample *smp,
                           const struct smp_env *env, const void *priv)
{
    struct ist a = args[0].data.str;
    const char *slash = memchr(a.ptr, '/', a.len);
    struct ist name = a;
    struct proxy *px = env->strm ? env->strm->be : NULL;
    const struct server *srv;

    if (slash != NULL) {
        px = backend_named((struct ist){a.ptr, (size_t)(slash - a.ptr)});
        name = (struct ist){slash + 1, a.len - (size_t)(slash - a.ptr) - 1};
    }
    if (px == NULL)
        return 0;
    for (srv = px->servers; srv != NULL; srv = srv->next)
        if (ist_eq(ist_from(srv->name), name)) {
            smp->type = SMP_T_BOOL;
            smp->data.sint = server_usable(srv);
            return 1;
        }
    return 0;
}

/* Rejects "backend/" and "/server" at load. */
static int check_srv_is_up(struct arg *args, char **err)
{
    struct ist a = args[0].data.str;
    const char *slash = memchr(a.ptr, '/', a.len);

    if (a.len == 0 ||
        (slash != NULL && (slash == a.ptr || slash == a.ptr + a.len - 1)))
        return set_err(err, "expects [<backend>/]<server>, got '%s'", a.ptr);
    return RC_OK;
}

/* No TLS yet: the connection is never ciphered. */
static int fetch_ssl_fc(const struct arg *args, struct sample *smp,
                        const struct smp_env *env, const void *priv)
{
    smp->type = SMP_T_BOOL;
    smp->data.sint = 0;
    return 1;
}

static const char dst_tag = 1;

static const struct sample_fetch_kw stream_fetches[] = {
    {.name = "src",
     .fn = fetch_addr,
     .out = SMP_T_ADDR,
     .use = SMP_AVAIL_CONN,
     .match_method = PAT_MATCH_IP},
    {.name = "dst",
     .fn = fetch_addr,
     .out = SMP_T_ADDR,
     .use = SMP_AVAIL_CONN,
     .priv = &dst_tag,
     .match_method = PAT_MATCH_IP},
    {.name = "src_port",
     .fn = fetch_port,
     .out = SMP_T_SINT,
     .use = SMP_AVAIL_CONN,
     .match_method = PAT_MATCH_INT},
    {.name = "dst_port",
     .fn = fetch_port,
     .out = SMP_T_SINT,
     .use = SMP_AVAIL_CONN,
     .priv = &dst_tag,
     .match_method = PAT_MATCH_INT},
    {.name = "fe_name",
     .fn = fetch_fe_name,
     .out = SMP_T_STR,
     .use = SMP_AVAIL_CONN},
    {.name = "be_name",
     .fn = fetch_be_name,
     .out = SMP_T_STR,
     .use = SMP_AVAIL_CONN},
    {.name = "srv_name",
     .fn = fetch_srv_name,
     .out = SMP_T_STR,
     .use = SMP_AVAIL_CONN},
    {.name = "nbsrv",
     .fn = fetch_nbsrv,
     .args = "S?",
     .out = SMP_T_SINT,
     .match_method = PAT_MATCH_INT},
    {.name = "srv_is_up",
     .fn = fetch_srv_is_up,
     .args = "S",
     .out = SMP_T_BOOL,
     .match_method = PAT_MATCH_BOOL,
     .check = check_srv_is_up},
    {.name = "ssl_fc",
     .fn = fetch_ssl_fc,
     .out = SMP_T_BOOL,
     .use = SMP_AVAIL_CONN,
     .match_method = PAT_MATCH_BOOL},
    {.name = NULL},
};

void stream_fetch_init(void)
{
    sample_register_fetches(stream_fetches);
}
