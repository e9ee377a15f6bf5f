/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* Load balancing: "balance" and "hash-type" parsing, server assignment
 * with the backend's FIFO queue, and the key hashing shared by the
 * hashing algorithms. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/event.h>

#include "core/errors.h"
#include "core/lb.h"
#include "core/proxy.h"
#include "core/sample.h"
#include "core/server.h"
#include "core/server_slots.h"
#include "core/stream.h"
#include "core/util.h"
#include "core/worker.h"

/* How often a worker with streams queued on a backend looks for a slot
 * freed by another worker. A slot freed here wakes the local queue at
 * once; one freed elsewhere is only seen by looking. Waking the other
 * workers through a pipe or eventfd would need one set up by the master
 * for every pair of processes, including those of the next generation
 * and respawned ones, which share the counters but were forked later;
 * a short timer armed only while something waits costs nothing when
 * nothing does and bounds the delay to its period. */
#define QUEUE_POLL_MS 5

int server_takes_persistent(const struct server *srv)
{
    return server_up(srv) && !srv->disabled &&
           srv->addr.family != AF_UNSPEC; /* init-addr none */
}

int server_is_usable(const struct server *srv)
{
    return server_takes_persistent(srv) && srv->weight > 0;
}

int server_has_slot(const struct server *srv)
{
    return srv->maxconn == 0 ||
           server_slots_used(srv) < server_dynamic_maxconn(srv);
}

uint64_t lb_hash(const void *data, size_t len)
{
    const unsigned char *p = data;
    uint64_t h = 0xcbf29ce484222325ULL;
    size_t i;

    for (i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    /* avalanche (murmur3's finaliser): spreads close keys apart */
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

/* Sets the hashed key of a hashing algorithm to expression <expr>. */
static int lb_set_key(struct proxy *px, const char *expr, char **err)
{
    sample_expr_free(px->lb_key);
    px->lb_key = sample_expr_parse(expr, err);
    return px->lb_key != NULL ? RC_OK : RC_ERR;
}

/* Parses the options of "balance uri". */
static int lb_parse_uri(struct proxy *px, int argc, char **args, char **err)
{
    long long v;
    int i;

    for (i = 2; i < argc; i++) {
        if (strcmp(args[i], "whole") == 0) {
            px->lb_uri_whole = 1;
        } else if ((strcmp(args[i], "len") == 0 ||
                    strcmp(args[i], "depth") == 0) &&
                   i + 1 < argc) {
            v = strtoll(args[i + 1], NULL, 10);
            if (v <= 0)
                return set_err(err,
                               "'balance uri %s' expects a positive "
                               "integer",
                               args[i]);
            *(args[i][0] == 'l' ? &px->lb_uri_len : &px->lb_uri_depth) = (int)v;
            i++;
        } else {
            return set_err(err,
                           "'balance uri': option '%s' is not "
                           "supported yet",
                           args[i]);
        }
    }
    return lb_set_key(px, px->lb_uri_whole ? "url" : "path", err);
}

/* Parses "hdr(NAME)" and "random(N)" arguments. */
static const char *paren_arg(const char *word, const char *name, char *buf,
                             size_t cap)
{
    size_t n = strlen(name), len;

    if (strncmp(word, name, n) != 0 || word[n] != '(' ||
        word[strlen(word) - 1] != ')')
        return NULL;
    len = strlen(word) - n - 2;
    if (len >= cap)
        return NULL;
    memcpy(buf, word + n + 1, len);
    buf[len] = '\0';
    return buf;
}

int lb_parse_balance(struct proxy *px, int argc, char **args, char **err)
{
    const char *a = args[1];
    char buf[256], expr[300];

    px->lb_uri_whole = px->lb_uri_len = px->lb_uri_depth = 0;
    sample_expr_free(px->lb_key);
    px->lb_key = NULL;
    if (strcmp(a, "roundrobin") == 0)
        px->lb = &lb_roundrobin_ops;
    else if (strcmp(a, "static-rr") == 0)
        px->lb = &lb_static_rr_ops;
    else if (strcmp(a, "leastconn") == 0)
        px->lb = &lb_leastconn_ops;
    else if (strcmp(a, "first") == 0)
        px->lb = &lb_first_ops;
    else if (strcmp(a, "source") == 0)
        return px->lb = &lb_hash_ops, lb_set_key(px, "src", err);
    else if (strcmp(a, "uri") == 0)
        return px->lb = &lb_hash_ops, lb_parse_uri(px, argc, args, err);
    else if (strcmp(a, "url_param") == 0 && argc > 2) {
        snprintf(expr, sizeof(expr), "url_param(%s)", args[2]);
        return px->lb = &lb_hash_ops, lb_set_key(px, expr, err);
    } else if (paren_arg(a, "hdr", buf, sizeof(buf)) != NULL) {
        snprintf(expr, sizeof(expr), "req.hdr(%s)", buf);
        return px->lb = &lb_hash_ops, lb_set_key(px, expr, err);
    } else if (strcmp(a, "random") == 0) {
        px->lb = &lb_random_ops;
        px->lb_draws = 2;
    } else if (paren_arg(a, "random", buf, sizeof(buf)) != NULL) {
        px->lb = &lb_random_ops;
        px->lb_draws = atoi(buf);
        if (px->lb_draws < 1)
            return set_err(err, "'balance random(N)' expects N >= 1");
    } else {
        return set_err(err, "balance algorithm '%s' is not supported yet", a);
    }
    return RC_OK;
}

int lb_parse_hash_type(struct proxy *px, int argc, char **args, char **err)
{
    if (strcmp(args[1], "consistent") == 0)
        px->lb_consistent = 1;
    else if (strcmp(args[1], "map-based") == 0)
        px->lb_consistent = 0;
    else
        return set_err(err,
                       "'hash-type' expects 'map-based' or "
                       "'consistent', got '%s'",
                       args[1]);
    /* the hash function and "avalanche" are accepted: ours always
     * avalanches, which is what they ask for */
    return RC_OK;
}

int lb_init(struct proxy *px, char **err)
{
    if (px->lb == NULL)
        px->lb = &lb_roundrobin_ops;
    return px->lb->init != NULL ? px->lb->init(px, err) : RC_OK;
}

void lb_deinit(struct proxy *px)
{
    if (px->queue_poll != NULL)
        event_free(px->queue_poll);
    px->queue_poll = NULL;
    if (px->lb != NULL && px->lb->deinit != NULL)
        px->lb->deinit(px);
    sample_expr_free(px->lb_key);
    px->lb_key = NULL;
}

/* Applies "balance uri len/depth" to the key <k>. */
static struct ist uri_cut(const struct proxy *px, struct ist k)
{
    size_t i;
    int slashes = 0;

    if (px->lb_uri_depth > 0) {
        for (i = 0; i < k.len; i++)
            if (k.ptr[i] == '/' && ++slashes > px->lb_uri_depth) {
                k.len = i;
                break;
            }
    }
    if (px->lb_uri_len > 0 && k.len > (size_t)px->lb_uri_len)
        k.len = (size_t)px->lb_uri_len;
    return k;
}

/* The hash of <s>'s key; *<found> is 0 when the key has no value (the
 * algorithm then falls back to round robin, as HAProxy does). */
static uint64_t lb_key_hash(struct stream *s, int *found)
{
    struct proxy *px = s->be;
    struct smp_env env;
    struct sample smp;

    *found = 0;
    if (px->lb_key == NULL)
        return 0;
    stream_env(s, &env);
    memset(&smp, 0, sizeof(smp));
    if (!sample_expr_eval(px->lb_key, &env, &smp))
        return 0;
    if (smp.type == SMP_T_IPV4) {
        *found = 1;
        return lb_hash(&smp.data.ipv4, sizeof(smp.data.ipv4));
    }
    if (smp.type == SMP_T_IPV6) {
        *found = 1;
        return lb_hash(&smp.data.ipv6, sizeof(smp.data.ipv6));
    }
    if (!sample_cast(&smp, SMP_T_STR, &env))
        return 0;
    *found = 1;
    smp.data.str = uri_cut(px, smp.data.str);
    return lb_hash(smp.data.str.ptr, smp.data.str.len);
}

/* Returns 1 if some server of <px> with <backup> is usable. */
static int lb_any_usable(const struct proxy *px, int backup)
{
    const struct server *srv;

    for (srv = px->servers; srv != NULL; srv = srv->next)
        if (srv->backup == backup && server_is_usable(srv))
            return 1;
    return 0;
}

/* Without "option allbackups" only the first usable backup server
 * serves (HAProxy's rule); NULL if it has no free slot. */
static struct server *lb_first_backup(struct proxy *px)
{
    struct server *srv;

    for (srv = px->servers; srv != NULL; srv = srv->next)
        if (srv->backup && server_is_usable(srv))
            return server_has_slot(srv) ? srv : NULL;
    return NULL;
}

/* The poll timer: the first in line of the backend and of each of its
 * servers tries again. */
static void lb_queue_poll_cb(evutil_socket_t fd, short what, void *arg)
{
    struct proxy *px = arg;
    struct server *srv;

    if (px->queue.head != NULL)
        stream_wake(px->queue.head);
    for (srv = px->servers; srv != NULL; srv = srv->next)
        if (srv->queue.head != NULL)
            stream_wake(srv->queue.head);
}

/* Arms the poll timer of <px>, which has a stream waiting. */
static void lb_queue_poll(struct proxy *px)
{
    struct timeval tv = {0, QUEUE_POLL_MS * 1000};

    if (px->queue_poll == NULL)
        px->queue_poll = evtimer_new(worker_loop(), lb_queue_poll_cb, px);
    if (px->queue_poll != NULL && !evtimer_pending(px->queue_poll, NULL))
        evtimer_add(px->queue_poll, &tv);
}

/* Returns 1 if <a> is served before <b>: its priority class is lower,
 * or the same with a lower key. */
static int lb_before(const struct stream *a, const struct stream *b)
{
    if (a->prio_class != b->prio_class)
        return a->prio_class < b->prio_class;
    return a->q_key < b->q_key;
}

/* Inserts <s> into <q> after every stream served before it or at the
 * same rank: FIFO at equal priority, and O(1) when no rule set one. */
static void lb_enqueue(struct stream_queue *q, struct stream *s)
{
    struct timeval now;
    struct stream *prev = q->tail;

    event_base_gettimeofday_cached(worker_loop(), &now);
    s->q_key =
        (long long)now.tv_sec * 1000 + now.tv_usec / 1000 + s->prio_offset;
    while (prev != NULL && lb_before(s, prev))
        prev = prev->q_prev;
    s->q_prev = prev;
    s->q_next = prev != NULL ? prev->q_next : q->head;
    if (prev != NULL)
        prev->q_next = s;
    else
        q->head = s;
    if (s->q_next != NULL)
        s->q_next->q_prev = s;
    else
        q->tail = s;
    q->len++;
    s->queue = q;
    s->q_taken = q->taken;
}

/* Takes <s> out of its queue, if any. */
static void lb_unlink(struct stream *s)
{
    struct stream_queue *q = s->queue;

    if (q == NULL)
        return;
    if (s->q_prev != NULL)
        s->q_prev->q_next = s->q_next;
    else
        q->head = s->q_next;
    if (s->q_next != NULL)
        s->q_next->q_prev = s->q_prev;
    else
        q->tail = s->q_prev;
    q->len--;
    s->queue = NULL;
    if (q != &s->be->queue)
        server_slots_unqueue(s->srv);
}

/* Records where <s> leaves its queue as HAProxy counts it for %sq/%bq:
 * the streams that left it with a slot while <s> waited, plus one. */
static void lb_note_queue_pos(struct stream *s)
{
    struct stream_queue *q = s->queue;
    unsigned pos = (unsigned)(q->taken - s->q_taken) + 1;

    if (q == &s->be->queue)
        s->be_queue_pos = pos;
    else
        s->srv_queue_pos = pos;
}

void lb_dequeue(struct stream *s)
{
    if (s->queue == NULL)
        return;
    lb_note_queue_pos(s);
    lb_unlink(s);
}

/* <s> waits in <q> (moving there if it waited elsewhere); RC_AGAIN. */
static int lb_wait(struct stream *s, struct stream_queue *q)
{
    if (s->queue != q) {
        lb_unlink(s);
        lb_enqueue(q, s);
    }
    lb_queue_poll(s->be);
    return RC_AGAIN;
}

/* <s> waits for <srv>, the server its key names, if its queue has room
 * (maxqueue, counted over every worker); RC_AGAIN, or RC_ERR if full. */
static int lb_wait_server(struct stream *s, struct server *srv)
{
    if (!server_slots_enqueue(srv))
        return RC_ERR; /* <s> keeps its place, if it had one */
    lb_unlink(s);
    s->srv = srv;
    return lb_wait(s, &srv->queue);
}

/* <s> took a slot of <srv>: records its queue position, leaves its
 * queue, and lets the next in line try. RC_OK. */
static int lb_took(struct stream *s, struct server *srv)
{
    struct proxy *px = s->be;
    struct stream_queue *q = s->queue;

    if (q != NULL) {
        lb_dequeue(s);
        q->taken++;
    }
    srv->cur_conns++;
    srv->served++;
    freq_ctr_inc(&srv->sess_rate);
    /* as HAProxy: a retry that lands on another server is a redispatch */
    if (s->srv != NULL && s->srv != srv)
        s->redispatched = 1;
    if (s->retry_from != NULL) {
        if (srv == s->retry_from)
            s->stat_retries++;
        else
            s->stat_redisps++;
        s->retry_from = NULL;
    }
    s->srv = srv;
    s->has_slot = 1;
    s->srv_prev = NULL;
    s->srv_next = srv->streams;
    if (srv->streams != NULL)
        srv->streams->srv_prev = s;
    srv->streams = s;
    /* the next in line may find a slot too (a server with room left) */
    if (srv->queue.head != NULL)
        stream_wake(srv->queue.head);
    if (px->queue.head != NULL)
        stream_wake(px->queue.head);
    return RC_OK;
}

/* The server the balancing algorithm picks for <s> among the active
 * (<backup> 0) or backup servers; NULL if none has a slot. *<keyed> is
 * set when it is the server of <s>'s key, which may be full. */
static struct server *lb_pick(struct stream *s, int backup, int *keyed)
{
    struct proxy *px = s->be;
    uint64_t h;
    int found;

    *keyed = 0;
    h = lb_key_hash(s, &found);
    if (backup && !(px->options & PX_OPT_ALLBACKUPS))
        return lb_first_backup(px);
    if (px->lb->targets && !found)
        return lb_roundrobin_ops.choose(px, backup, 0);
    *keyed = px->lb->targets;
    return px->lb->choose(px, backup, h);
}

int lb_assign(struct stream *s)
{
    struct proxy *px = s->be;
    struct server *srv;
    int backup, keyed;

    if (s->queue != NULL && s->queue != &px->queue) {
        /* waiting for its key's server: that one, while it is usable */
        if (server_is_usable(s->srv))
            return server_slots_take(s->srv) ? lb_took(s, s->srv)
                                             : lb_wait(s, s->queue);
        lb_unlink(s);
        s->prefer = NULL; /* it went down meanwhile */
    }
    if (s->prefer != NULL && s->queue == NULL) {
        if (server_slots_take(s->prefer))
            return lb_took(s, s->prefer);
        if (lb_wait_server(s, s->prefer) == RC_AGAIN)
            return RC_AGAIN;
        s->prefer = NULL; /* its maxqueue is reached: the algorithm chooses */
    }
    if (px->dispatch != NULL)
        return lb_took(s, px->dispatch);
    if (lb_any_usable(px, 0))
        backup = 0;
    else if (lb_any_usable(px, 1))
        backup = 1;
    else
        return RC_ERR;
    /* FIFO: a newcomer does not overtake streams already waiting */
    if (px->queue.head != NULL && px->queue.head != s)
        return lb_wait(s, &px->queue);
    srv = lb_pick(s, backup, &keyed);
    /* another worker may have taken the slot since choose() looked */
    if (srv != NULL && server_slots_take(srv))
        return lb_took(s, srv);
    if (srv != NULL && keyed)
        return lb_wait_server(s, srv);
    if (srv == NULL && px->lb->choose_queue != NULL &&
        (srv = px->lb->choose_queue(px, backup)) != NULL &&
        lb_wait_server(s, srv) == RC_AGAIN)
        return RC_AGAIN;
    return lb_wait(s, &px->queue);
}

int lb_retry(struct stream *s)
{
    if (s->retries >= s->be->retries)
        return RC_ERR;
    s->retries++;
    if (s->be->options & PX_OPT_REDISPATCH) {
        s->retry_from = s->srv; /* counted once reassigned (lb_took) */
        lb_release(s);
        s->prefer = NULL; /* persistence gives way to the algorithm */
    } else {
        s->stat_retries++;
    }
    return RC_OK;
}

int lb_retry_waits(const struct stream *s)
{
    const struct server *srv;
    int act = 0;

    if (s->has_slot)
        return 1;
    for (srv = s->be->servers; srv != NULL && act < 2; srv = srv->next)
        act += !srv->backup && server_is_usable(srv);
    return act <= 1;
}

unsigned lb_turnaround_ms(const struct proxy *px)
{
    unsigned tmo = px->timeouts.connect;

    return tmo != 0 && tmo < 1000 ? tmo : 1000;
}

void lb_release(struct stream *s)
{
    if (!s->has_slot)
        return;
    s->has_slot = 0;
    if (s->srv_prev != NULL)
        s->srv_prev->srv_next = s->srv_next;
    else
        s->srv->streams = s->srv_next;
    if (s->srv_next != NULL)
        s->srv_next->srv_prev = s->srv_prev;
    s->srv->cur_conns--;
    server_slots_release(s->srv);
    if (s->srv->queue.head != NULL)
        stream_wake(s->srv->queue.head);
    if (s->be != NULL && s->be->queue.head != NULL)
        stream_wake(s->be->queue.head);
}
