/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* Sample fetches about the connection and the proxies a stream goes
 * through: src, src_port, dst, dst_port, fe_name, be_name, srv_name. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "core/core.h"
#include "core/proxy.h"
#include "core/sample.h"
#include "core/server.h"
#include "core/stream.h"

/* Fills <smp> with the address of <ss>; 0 for non-IP sockets. */
static int smp_set_addr(struct sample *smp, const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET) {
        smp->type = SMP_T_IPV4;
        smp->data.ipv4 = ((const struct sockaddr_in *)ss)->sin_addr;
        return 1;
    }
    if (ss->ss_family == AF_INET6) {
        smp->type = SMP_T_IPV6;
        smp->data.ipv6 = ((const struct sockaddr_in6 *)ss)->sin6_addr;
        return 1;
    }
    return 0;
}

/* Fills <smp> with the port of <ss>; 0 for non-IP sockets. */
static int smp_set_port(struct sample *smp, const struct sockaddr_storage *ss)
{
    smp->type = SMP_T_SINT;
    if (ss->ss_family == AF_INET)
        smp->data.sint = ntohs(((const struct sockaddr_in *)ss)->sin_port);
    else if (ss->ss_family == AF_INET6)
        smp->data.sint = ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
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
    return env->strm && env->strm->be
               ? smp_set_name(smp, env->strm->be->name)
               : 0;
}

static int fetch_srv_name(const struct arg *args, struct sample *smp,
                          const struct smp_env *env, const void *priv)
{
    return env->strm && env->strm->srv
               ? smp_set_name(smp, env->strm->srv->name)
               : 0;
}

static const char dst_tag = 1;

static const struct sample_fetch_kw stream_fetches[] = {
    {.name = "src", .fn = fetch_addr, .out = SMP_T_ADDR,
     .use = SMP_AVAIL_CONN, .match_method = PAT_MATCH_IP},
    {.name = "dst", .fn = fetch_addr, .out = SMP_T_ADDR,
     .use = SMP_AVAIL_CONN, .priv = &dst_tag, .match_method = PAT_MATCH_IP},
    {.name = "src_port", .fn = fetch_port, .out = SMP_T_SINT,
     .use = SMP_AVAIL_CONN, .match_method = PAT_MATCH_INT},
    {.name = "dst_port", .fn = fetch_port, .out = SMP_T_SINT,
     .use = SMP_AVAIL_CONN, .priv = &dst_tag, .match_method = PAT_MATCH_INT},
    {.name = "fe_name", .fn = fetch_fe_name, .out = SMP_T_STR,
     .use = SMP_AVAIL_CONN},
    {.name = "be_name", .fn = fetch_be_name, .out = SMP_T_STR,
     .use = SMP_AVAIL_CONN},
    {.name = "srv_name", .fn = fetch_srv_name, .out = SMP_T_STR,
     .use = SMP_AVAIL_CONN},
    {.name = NULL},
};

void stream_fetch_init(void)
{
    sample_register_fetches(stream_fetches);
}
