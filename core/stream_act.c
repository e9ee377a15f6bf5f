/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* The actions "set-priority-class EXPR", "set-priority-offset EXPR",
 * "set-tos N", "set-mark N" (and HAProxy 3's "set-fc-tos" and
 * "set-fc-mark", which take an expression too), "set-src EXPR",
 * "set-dst EXPR", "set-src-port EXPR", "set-dst-port EXPR", the
 * prio_class and prio_offset fetches, and the setters the Lua API shares
 * with them. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "core/action.h"
#include "core/conn.h"
#include "core/errors.h"
#include "core/pool.h"
#include "core/sample.h"
#include "core/stream.h"
#include "core/stream_act.h"
#include "core/util.h"

static long long clamp(long long v, long long max)
{
    return v > max ? max : v < -max ? -max : v;
}

void stream_set_priority_class(struct stream *s, long long class)
{
    s->prio_class = (int)clamp(class, PRIO_CLASS_MAX);
}

void stream_set_priority_offset(struct stream *s, long long offset)
{
    s->prio_offset = (int)clamp(offset, PRIO_OFFSET_MAX);
}

/* The client socket of <s>; -1 if it has none. */
static int stream_client_fd(const struct stream *s)
{
    struct conn *c = s->sess != NULL ? s->sess->conn : NULL;

    return c != NULL ? conn_fd(c) : -1;
}

/* Returns 1 if the IPv6 socket <fd> serves an IPv4-mapped client. */
static int socket_v4_mapped(int fd)
{
    struct sockaddr_in6 peer;
    socklen_t len = sizeof(peer);

    return getpeername(fd, (struct sockaddr *)&peer, &len) == 0 &&
           peer.sin6_family == AF_INET6 &&
           IN6_IS_ADDR_V4MAPPED(&peer.sin6_addr);
}

void stream_set_tos(struct stream *s, long long tos)
{
    int fd = stream_client_fd(s), v = (int)tos, domain = AF_UNSPEC;
    socklen_t len = sizeof(domain);

    /* the socket's own family and peer: set-src may have changed the
     * session's address */
    if (fd < 0 || getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) < 0)
        return;
    if (domain == AF_INET6 && !socket_v4_mapped(fd))
        (void)setsockopt(fd, IPPROTO_IPV6, IPV6_TCLASS, &v, sizeof(v));
    else if (domain == AF_INET || domain == AF_INET6)
        (void)setsockopt(fd, IPPROTO_IP, IP_TOS, &v, sizeof(v));
}

void stream_set_mark(struct stream *s, long long mark)
{
#ifdef SO_MARK
    int fd = stream_client_fd(s);
    unsigned v = (unsigned)mark;

    if (fd >= 0)
        (void)setsockopt(fd, SOL_SOCKET, SO_MARK, &v, sizeof(v));
#else
    (void)s;
    (void)mark;
#endif
}

/* The client's (<dst> 0) or the listener's address of the session of
 * <s>, as fetches and logs see it; NULL without a session. */
static union sess_addr *session_addr(struct stream *s, int dst, socklen_t **len)
{
    if (s->sess == NULL)
        return NULL;
    *len = dst ? &s->sess->dstlen : &s->sess->srclen;
    return dst ? &s->sess->dst : &s->sess->src;
}

/* The session's addresses as they were before a rule of the stream
 * changed them. */
struct addrs_saved {
    struct session *sess;
    union sess_addr src, dst;
    socklen_t srclen, dstlen;
};

static void addrs_restore(void *data)
{
    struct addrs_saved *a = data;

    a->sess->src = a->src;
    a->sess->dst = a->dst;
    a->sess->srclen = a->srclen;
    a->sess->dstlen = a->dstlen;
}

/* As in HAProxy, a change by "tcp-request connection" lasts as long as
 * the connection, any other one as long as the stream: saves what to put
 * back when the stream ends. Returns 0 if that is impossible. */
static int stream_addrs_save(struct stream *s)
{
    struct addrs_saved *a;

    if (ruleset_of_session(s->cur_rs) || s->addrs_saved)
        return 1;
    a = palloc(s->pool, sizeof(*a));
    if (a == NULL || pool_cleanup_add(s->pool, addrs_restore, a) != RC_OK)
        return 0;
    a->sess = s->sess;
    a->src = s->sess->src;
    a->dst = s->sess->dst;
    a->srclen = s->sess->srclen;
    a->dstlen = s->sess->dstlen;
    s->addrs_saved = a;
    return 1;
}

const union sess_addr *stream_act_conn_addr(const struct stream *s, int dst)
{
    if (s->addrs_saved != NULL)
        return dst ? &s->addrs_saved->dst : &s->addrs_saved->src;
    return dst ? &s->sess->dst : &s->sess->src;
}

/* set-src, set-dst: the address from <smp> (IPv4 or IPv6), the port kept,
 * as HAProxy does. */
static void session_addr_set_ip(struct stream *s, int dst,
                                const struct sample *smp)
{
    socklen_t *len;
    union sess_addr *a = session_addr(s, dst, &len);
    in_port_t port;

    if (a == NULL || !stream_addrs_save(s))
        return;
    port = a->sa.sa_family == AF_INET    ? a->in4.sin_port
           : a->sa.sa_family == AF_INET6 ? a->in6.sin6_port
                                         : 0;
    memset(a, 0, sizeof(*a));
    if (smp->type == SMP_T_IPV4) {
        a->in4.sin_family = AF_INET;
        a->in4.sin_addr = smp->data.ipv4;
        a->in4.sin_port = port;
        *len = sizeof(a->in4);
    } else {
        a->in6.sin6_family = AF_INET6;
        a->in6.sin6_addr = smp->data.ipv6;
        a->in6.sin6_port = port;
        *len = sizeof(a->in6);
    }
}

/* set-src-port, set-dst-port: an address that is not IPv4 or IPv6
 * becomes 0.0.0.0, as in HAProxy. */
static void session_port_set(struct stream *s, int dst, long long port)
{
    socklen_t *len;
    union sess_addr *a = session_addr(s, dst, &len);

    if (a == NULL || !stream_addrs_save(s))
        return;
    if (a->sa.sa_family == AF_INET6) {
        a->in6.sin6_port = htons((uint16_t)port);
        return;
    }
    if (a->sa.sa_family != AF_INET) {
        memset(a, 0, sizeof(*a));
        a->in4.sin_family = AF_INET;
        *len = sizeof(a->in4);
    }
    a->in4.sin_port = htons((uint16_t)port);
}

static void stream_set_src_port(struct stream *s, long long port)
{
    session_port_set(s, 0, port);
}

static void stream_set_dst_port(struct stream *s, long long port)
{
    session_port_set(s, 1, port);
}

/* Runs set-src / set-dst (<r>->iarg 0 / 1): an expression that gives no
 * address changes nothing. */
static enum act_ret addr_run(struct rule *r, struct stream *s, unsigned f)
{
    const struct sample_expr *expr = r->arg;
    struct smp_env env;
    struct sample smp;

    stream_env(s, &env);
    memset(&smp, 0, sizeof(smp));
    if (sample_expr_eval(expr, &env, &smp) &&
        sample_cast(&smp, SMP_T_ADDR, &env) &&
        (smp.type == SMP_T_IPV4 || smp.type == SMP_T_IPV6))
        session_addr_set_ip(s, (int)r->iarg, &smp);
    return ACT_RET_CONT;
}

static void addr_free(struct rule *r)
{
    sample_expr_free(r->arg);
}

/* "set-src EXPR", "set-dst EXPR". */
static int addr_parse(struct cfg_ctx *ctx, struct rule *r, enum ruleset rs,
                      int *cur, int argc, char **args, char **err)
{
    r->run = addr_run;
    r->free = addr_free;
    r->iarg = strcmp(args[0], "set-dst") == 0;
    if (argc < 2)
        return set_err(err, "'%s' expects a sample expression", args[0]);
    r->arg = sample_expr_parse(args[1], err);
    *cur = 2;
    return r->arg != NULL ? RC_OK : RC_ERR;
}

/* An action's argument: a constant (<expr> NULL) or an expression. */
struct setter_act {
    stream_setter_fn set;
    struct sample_expr *expr;
    long long value;
};

/* Runs every action of this file: an expression giving no integer
 * leaves the setting as it was, as in HAProxy. */
static enum act_ret setter_run(struct rule *r, struct stream *s, unsigned f)
{
    const struct setter_act *a = r->arg;
    struct smp_env env;
    struct sample smp;

    if (a->expr == NULL) {
        a->set(s, a->value);
        return ACT_RET_CONT;
    }
    stream_env(s, &env);
    memset(&smp, 0, sizeof(smp));
    if (sample_expr_eval(a->expr, &env, &smp) &&
        sample_cast(&smp, SMP_T_SINT, &env))
        a->set(s, smp.data.sint);
    return ACT_RET_CONT;
}

static void setter_free(struct rule *r)
{
    struct setter_act *a = r->arg;

    if (a != NULL)
        sample_expr_free(a->expr);
    free(a);
}

/* Parses a whole number in decimal, hex (0x) or octal (0) into *<v>;
 * RC_OK, or RC_ERR if <word> is not one. */
static int parse_number(const char *word, long long *v)
{
    char *end;

    errno = 0;
    *v = strtoll(word, &end, 0);
    return errno == 0 && end != word && *end == '\0' ? RC_OK : RC_ERR;
}

static const struct {
    const char *name;
    stream_setter_fn set;
    int expr; /* 1: an expression; 0: a number only (HAProxy 2.6) */
} setters[] = {
    {"set-priority-class", stream_set_priority_class, 1},
    {"set-priority-offset", stream_set_priority_offset, 1},
    {"set-tos", stream_set_tos, 0},
    {"set-mark", stream_set_mark, 0},
    {"set-fc-tos", stream_set_tos, 1},
    {"set-fc-mark", stream_set_mark, 1},
    {"set-src-port", stream_set_src_port, 1},
    {"set-dst-port", stream_set_dst_port, 1},
};

static int setter_parse(struct cfg_ctx *ctx, struct rule *r, enum ruleset rs,
                        int *cur, int argc, char **args, char **err)
{
    struct setter_act *a = xcalloc(1, sizeof(*a));
    size_t i = 0;

    while (strcmp(setters[i].name, args[0]) != 0)
        i++;
    r->arg = a;
    r->free = setter_free;
    r->run = setter_run;
    a->set = setters[i].set;
    if (argc < 2 || strcmp(args[1], "if") == 0 ||
        strcmp(args[1], "unless") == 0)
        return set_err(err, "'%s' expects %s", args[0],
                       setters[i].expr ? "a sample expression" : "a number");
    *cur = 2;
    if (parse_number(args[1], &a->value) == RC_OK)
        return RC_OK;
    if (!setters[i].expr)
        return set_err(err, "'%s' expects a number, got '%s'", args[0],
                       args[1]);
    a->expr = sample_expr_parse(args[1], err);
    return a->expr != NULL ? RC_OK : RC_ERR;
}

#define PRIO_RULESETS                                                          \
    (RULESET_BIT(RULESET_HTTP_REQ) | RULESET_BIT(RULESET_TCP_CONT))
#define MARK_RULESETS                                                          \
    (PRIO_RULESETS | RULESET_BIT(RULESET_HTTP_RES) |                           \
     RULESET_BIT(RULESET_TCP_CONN) | RULESET_BIT(RULESET_TCP_SESS))

#define ADDR_RULESETS                                                          \
    (PRIO_RULESETS | RULESET_BIT(RULESET_TCP_CONN) |                           \
     RULESET_BIT(RULESET_TCP_SESS))

static const struct action_kw stream_actions[] = {
    {"set-priority-class", PRIO_RULESETS, 0, setter_parse},
    {"set-priority-offset", PRIO_RULESETS, 0, setter_parse},
    {"set-tos", MARK_RULESETS, 0, setter_parse},
    {"set-mark", MARK_RULESETS, 0, setter_parse},
    {"set-fc-tos", MARK_RULESETS, 0, setter_parse},
    {"set-fc-mark", MARK_RULESETS, 0, setter_parse},
    {"set-src", ADDR_RULESETS, 0, addr_parse},
    {"set-dst", ADDR_RULESETS, 0, addr_parse},
    {"set-src-port", ADDR_RULESETS, 0, setter_parse},
    {"set-dst-port", ADDR_RULESETS, 0, setter_parse},
    {NULL, 0, 0, NULL},
};

/* prio_class, prio_offset: the stream's current settings; priv 'c', 'o'. */
static int fetch_prio(const struct arg *args, struct sample *smp,
                      const struct smp_env *env, const void *priv)
{
    if (env->strm == NULL)
        return 0;
    smp->type = SMP_T_SINT;
    smp->data.sint = *(const char *)priv == 'c' ? env->strm->prio_class
                                                : env->strm->prio_offset;
    return 1;
}

static const char prio_class_tag = 'c', prio_offset_tag = 'o';

static const struct sample_fetch_kw stream_act_fetches[] = {
    {.name = "prio_class",
     .fn = fetch_prio,
     .out = SMP_T_SINT,
     .priv = &prio_class_tag,
     .match_method = PAT_MATCH_INT},
    {.name = "prio_offset",
     .fn = fetch_prio,
     .out = SMP_T_SINT,
     .priv = &prio_offset_tag,
     .match_method = PAT_MATCH_INT},
    {.name = NULL},
};

void stream_act_init(void)
{
    action_register(stream_actions);
    sample_register_fetches(stream_act_fetches);
}
