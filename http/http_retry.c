/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* Layer-7 retries, as HAProxy: "retry-on" names the failures after which
 * a request is sent again, "http-request disable-l7-retry" turns them off
 * for one request. Sending a request again needs it whole: a transaction
 * keeps a copy of the body it sent only when its backend retries on more
 * than connection failures, and only when the whole request was in when
 * it first went out and fits in one buffer (tune.bufsize); any other
 * request is never sent again after a server saw it. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "core/action.h"
#include "core/cfg.h"
#include "core/cfgparse.h"
#include "core/errors.h"
#include "core/proxy.h"
#include "core/stream.h"
#include "core/util.h"
#include "core/worker.h"
#include "http/http.h"
#include "http/http_ana.h"

/* The statuses "retry-on" accepts; PX_RETRY_STATUS(i) is the i-th. */
static const int retry_statuses[] = {401, 403, 404, 408, 425,
                                     500, 501, 502, 503, 504};

#define NSTATUSES (sizeof(retry_statuses) / sizeof(retry_statuses[0]))

unsigned http_retry_status_cond(int status)
{
    size_t i;

    for (i = 0; i < NSTATUSES; i++)
        if (retry_statuses[i] == status)
            return PX_RETRY_STATUS(i);
    return 0;
}

/* The PX_RETRY_* bits a "retry-on" word stands for, 0 if unknown. */
static unsigned retry_word(const char *w)
{
    static const struct {
        const char *name;
        unsigned cond;
    } words[] = {
        {"conn-failure", PX_RETRY_CONN},
        {"empty-response", PX_RETRY_EMPTY},
        {"junk-response", PX_RETRY_JUNK},
        {"response-timeout", PX_RETRY_TIMEOUT},
        {"0rtt-rejected", PX_RETRY_0RTT},
    };
    size_t i;

    for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
        if (strcmp(w, words[i].name) == 0)
            return words[i].cond;
    if (strcmp(w, "all-retryable-errors") == 0)
        return PX_RETRY_CONN | PX_RETRY_EMPTY | PX_RETRY_JUNK |
               PX_RETRY_TIMEOUT | PX_RETRY_0RTT | http_retry_status_cond(500) |
               http_retry_status_cond(502) | http_retry_status_cond(503) |
               http_retry_status_cond(504);
    if (strlen(w) == 3 && isdigit((unsigned char)w[0]) &&
        isdigit((unsigned char)w[1]) && isdigit((unsigned char)w[2]))
        return http_retry_status_cond(atoi(w));
    return 0;
}

/* "retry-on none|KEYWORD...": replaces the backend's conditions. */
static int parse_retry_on(struct cfg_ctx *ctx, const struct cfg_kw *kw,
                          int argc, char **args, char **err)
{
    unsigned on = 0, cond;
    int i;

    for (i = 1; i < argc; i++) {
        if (strcmp(args[i], "none") == 0) {
            if (argc != 2)
                return set_err(err, "'%s': 'none' must be the only keyword",
                               args[0]);
            continue;
        }
        cond = retry_word(args[i]);
        if (cond == 0)
            return set_err(err, "'%s': unknown keyword '%s'", args[0], args[i]);
        on |= cond;
    }
    ctx->px->retry_on = on;
    return RC_OK;
}

const struct cfg_kw http_retry_keywords[] = {
    {"retry-on", CFG_SEC_BE, 1, -1, parse_retry_on, 0, 0, 0},
    {NULL, 0, 0, 0, NULL, 0, 0, 0},
};

/* "http-request disable-l7-retry" */
static enum act_ret disable_run(struct rule *r, struct stream *s, unsigned f)
{
    struct http_txn *txn = http_txn_get(s);

    if (txn != NULL)
        txn->flags |= TXN_F_NO_L7_RETRY;
    return ACT_RET_CONT;
}

static int disable_parse(struct cfg_ctx *ctx, struct rule *r, enum ruleset rs,
                         int *cur, int argc, char **args, char **err)
{
    r->run = disable_run;
    *cur = 1;
    return RC_OK;
}

static const struct action_kw http_retry_actions[] = {
    {"disable-l7-retry", RULESET_BIT(RULESET_HTTP_REQ), 0, disable_parse},
    {NULL, 0, 0, NULL},
};

void http_retry_init(void)
{
    action_register(http_retry_actions);
}

/* Drops the copy of <txn>'s request: it cannot be sent again. */
static void copy_drop(struct http_txn *txn)
{
    txn->flags |= TXN_F_NO_L7_RETRY;
    http_retry_free(txn);
}

void http_retry_head_sent(struct http_txn *txn, struct evbuffer *out,
                          size_t head)
{
    size_t room = (size_t)worker_cfg()->global.bufsize;
    size_t len;

    if (txn->flags & TXN_F_NO_L7_RETRY)
        return;
    if (txn->req_copy == NULL) {
        if (!(txn->s->be->retry_on & PX_RETRY_L7))
            return;
        if (head > room || (txn->req_copy = evbuffer_new()) == NULL) {
            txn->flags |= TXN_F_NO_L7_RETRY;
            return;
        }
        txn->req_copy_room = room - head;
    }
    len = evbuffer_get_length(txn->req_copy);
    if (len > 0)
        evbuffer_add(out, evbuffer_pullup(txn->req_copy, -1), len);
}

void http_retry_body_sent(struct http_txn *txn, struct evbuffer *out,
                          size_t from)
{
    size_t n = evbuffer_get_length(out) - from;
    struct evbuffer_ptr pos;
    struct evbuffer_iovec v;

    if (txn->req_copy == NULL)
        return;
    /* as HAProxy: the whole request is in when it first goes out */
    if (!(txn->flags & TXN_F_REQ_DONE) || n > txn->req_copy_room) {
        copy_drop(txn);
        return;
    }
    if (n == 0)
        return;
    if (evbuffer_ptr_set(out, &pos, from, EVBUFFER_PTR_SET) != 0 ||
        evbuffer_reserve_space(txn->req_copy, (ev_ssize_t)n, &v, 1) < 1) {
        copy_drop(txn);
        return;
    }
    evbuffer_copyout_from(out, &pos, v.iov_base, n);
    v.iov_len = n;
    evbuffer_commit_space(txn->req_copy, &v, 1);
    txn->req_copy_room -= n;
}

int http_retry_allowed(const struct http_txn *txn, unsigned cond)
{
    return txn->req_copy != NULL && (txn->flags & TXN_F_REQ_DONE) &&
           (txn->s->be->retry_on & cond) != 0;
}

void http_retry_free(struct http_txn *txn)
{
    if (txn->req_copy != NULL)
        evbuffer_free(txn->req_copy);
    txn->req_copy = NULL;
}
