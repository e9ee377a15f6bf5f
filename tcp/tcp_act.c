/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* Actions on the client connection that any ruleset may use, HTTP or TCP:
 * "silent-drop", which closes it without a word, and "set-nice", accepted
 * for HAProxy's configurations though a worker has nothing to order by it
 * (luaproxy.cfg(5)). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "core/action.h"
#include "core/cfgval.h"
#include "core/conn.h"
#include "core/errors.h"
#include "core/stats.h"
#include "core/stream.h"
#include "core/util.h"
#include "tcp/tcp.h"

#define ALL_RULESETS                                                           \
    (RULESET_BIT(RULESET_HTTP_REQ) | RULESET_BIT(RULESET_HTTP_RES) |           \
     RULESET_BIT(RULESET_TCP_CONN) | RULESET_BIT(RULESET_TCP_SESS) |           \
     RULESET_BIT(RULESET_TCP_CONT) | RULESET_BIT(RULESET_TCP_RES))

/* Makes the close of <fd> say nothing to the peer, as far as the system
 * lets us: in TCP repair mode (CAP_NET_ADMIN) a close sends no segment at
 * all; otherwise the reset that a close with a zero linger sends is given a
 * hop limit of 1, so it does not pass the first router (it still reaches a
 * peer on the local network, which then sees a reset, not a clean end). */
static void silent_drop_prepare(int fd)
{
    const int one = 1;
    const struct linger nolinger = {1, 0};

#ifdef TCP_REPAIR
    if (setsockopt(fd, IPPROTO_TCP, TCP_REPAIR, &one, sizeof(one)) == 0)
        return;
#endif
    setsockopt(fd, IPPROTO_IP, IP_TTL, &one, sizeof(one));
    setsockopt(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &one, sizeof(one));
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &nolinger, sizeof(nolinger));
}

/* Closes the client connection with no answer: logged "PR" as HAProxy
 * does, and counted as a denied request. */
static enum act_ret silent_drop_run(struct rule *r, struct stream *s,
                                    unsigned f)
{
    silent_drop_prepare(conn_fd(s->sess->conn));
    if (s->term[0] == '-') {
        s->term[0] = 'P';
        s->term[1] = 'R';
    }
    /* the message being judged is never processed: -1 for its time */
    if (s->cur_rs == RULESET_HTTP_RES || s->cur_rs == RULESET_TCP_RES)
        s->times.resp = -1;
    else
        s->times.req = -1;
    stats_count_denied(s);
    return ACT_RET_ABRT;
}

static int silent_drop_parse(struct cfg_ctx *ctx, struct rule *r,
                             enum ruleset rs, int *cur, int argc, char **args,
                             char **err)
{
    r->run = silent_drop_run;
    *cur = 1;
    return RC_OK;
}

/* A worker's event loop runs every ready stream in turn, with no order to
 * change: the value is checked, then has no effect. */
static enum act_ret set_nice_run(struct rule *r, struct stream *s, unsigned f)
{
    return ACT_RET_CONT;
}

static int set_nice_parse(struct cfg_ctx *ctx, struct rule *r, enum ruleset rs,
                          int *cur, int argc, char **args, char **err)
{
    if (argc < 2)
        return set_err(err, "'set-nice' expects a value in -1024..1024");
    if (cfgval_int(args[1], -1024, 1024, &r->iarg, err) != RC_OK)
        return RC_ERR;
    r->run = set_nice_run;
    *cur = 2;
    return RC_OK;
}

static const struct action_kw tcp_act_actions[] = {
    {"silent-drop", ALL_RULESETS, 0, silent_drop_parse},
    {"set-nice",
     ALL_RULESETS &
         ~(RULESET_BIT(RULESET_TCP_CONN) | RULESET_BIT(RULESET_TCP_SESS)),
     0, set_nice_parse},
    {NULL, 0, 0, NULL},
};

void tcp_act_init(void)
{
    action_register(tcp_act_actions);
}
