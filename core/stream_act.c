/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* The actions "set-priority-class EXPR", "set-priority-offset EXPR",
 * "set-tos N", "set-mark N" (and HAProxy 3's "set-fc-tos" and
 * "set-fc-mark", which take an expression too), the prio_class and
 * prio_offset fetches, and the setters the Lua API shares with them. */
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

/* The client socket of <s> and its family; -1 if it has none. */
static int stream_client_fd(const struct stream *s, int *family)
{
    struct conn *c = s->sess != NULL ? s->sess->conn : NULL;

    *family = s->sess != NULL ? s->sess->src.sa.sa_family : AF_UNSPEC;
    return c != NULL ? conn_fd(c) : -1;
}

void stream_set_tos(struct stream *s, long long tos)
{
    int family, fd = stream_client_fd(s, &family), v = (int)tos;

    if (fd < 0)
        return;
    /* an IPv4 client on an IPv6 socket is mapped: its packets are IPv4 */
    if (family == AF_INET6 &&
        !IN6_IS_ADDR_V4MAPPED(&s->sess->src.in6.sin6_addr))
        (void)setsockopt(fd, IPPROTO_IPV6, IPV6_TCLASS, &v, sizeof(v));
    else if (family == AF_INET || family == AF_INET6)
        (void)setsockopt(fd, IPPROTO_IP, IP_TOS, &v, sizeof(v));
}

void stream_set_mark(struct stream *s, long long mark)
{
#ifdef SO_MARK
    int family, fd = stream_client_fd(s, &family);
    unsigned v = (unsigned)mark;

    if (fd >= 0 && family != AF_UNIX)
        (void)setsockopt(fd, SOL_SOCKET, SO_MARK, &v, sizeof(v));
#else
    (void)s;
    (void)mark;
#endif
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
     RULESET_BIT(RULESET_TCP_CONN))

static const struct action_kw stream_actions[] = {
    {"set-priority-class", PRIO_RULESETS, 0, setter_parse},
    {"set-priority-offset", PRIO_RULESETS, 0, setter_parse},
    {"set-tos", MARK_RULESETS, 0, setter_parse},
    {"set-mark", MARK_RULESETS, 0, setter_parse},
    {"set-fc-tos", MARK_RULESETS, 0, setter_parse},
    {"set-fc-mark", MARK_RULESETS, 0, setter_parse},
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
