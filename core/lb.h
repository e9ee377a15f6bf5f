/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* Load balancing: the choice of a server of a backend for a stream, and
 * the backend's queue of streams waiting for a server slot. Each algorithm
 * is an lb_ops in its own file; hashing algorithms hash a sample expression
 * that the "balance" keyword names ("src", "path", "req.hdr(x)"...), so
 * core never looks into HTTP itself. Queues and round-robin state are
 * worker-local; server connection counts are shared by every worker
 * (core/server_slots.h). */
#ifndef LUAPROXY_CORE_LB_H
#define LUAPROXY_CORE_LB_H

#include <stdint.h>

struct proxy;
struct server;
struct stream;
struct cfg_ctx;

/* A FIFO of streams waiting for a connection slot: a backend's (for any of
 * its servers) or a server's (for that one: the key's server of a hashing
 * algorithm). Worker-local. */
struct stream_queue {
    struct stream *head, *tail;
    unsigned len;
    unsigned long long taken; /* streams that left it with a slot */
};

struct lb_ops {
    const char *name;
    /* prepares <px> once its servers are known; RC_OK or RC_ERR */
    int (*init)(struct proxy *px, char **err);
    /* picks a usable server among those of <px> with <backup> set as
     * given; <hash> is the key's hash for hashing algorithms; NULL when
     * none has a free slot, unless <targets> */
    struct server *(*choose)(struct proxy *px, int backup, uint64_t hash);
    /* 1: choose() names the server the key belongs to, full or not, and
     * the stream waits in that server's queue (within its maxqueue) */
    int targets;
    /* optional, when choose() found no free slot: a server whose own
     * queue may take the stream (an explicit maxqueue with room), or NULL
     * for the backend's queue */
    struct server *(*choose_queue)(struct proxy *px, int backup);
    /* frees what init allocated */
    void (*deinit)(struct proxy *px);
    /* 1: weights changed at run time take effect at once (HAProxy's
     * dynamic algorithms, the ones "slowstart" ramps) */
    int dynamic;
};

extern const struct lb_ops lb_roundrobin_ops, lb_static_rr_ops,
    lb_leastconn_ops, lb_first_ops, lb_hash_ops, lb_random_ops;

/* Parses "balance ..." (argc/args: the whole line); RC_OK or RC_ERR. */
int lb_parse_balance(struct proxy *px, int argc, char **args, char **err);
/* Parses "hash-type map-based|consistent [function] [avalanche]". */
int lb_parse_hash_type(struct proxy *px, int argc, char **args, char **err);
/* Prepares the algorithm of <px> after parsing. */
int lb_init(struct proxy *px, char **err);
/* Frees the balancing state of <px>. */
void lb_deinit(struct proxy *px);

/* Assigns a server of <s>->be to <s>: <s>->prefer when set (persistence:
 * it waits in that server's queue when the server is full, and goes to
 * the algorithm's choice when that queue is full too, as HAProxy's
 * maxqueue says), else the algorithm's. RC_OK with <s>->srv set and a slot
 * taken; RC_AGAIN when <s> waits in the backend's queue (every usable
 * server is full) or in its server's queue (hashing algorithms: <s>->srv
 * is set), and is woken when a slot may have freed; RC_ERR when no server
 * is usable at all or the server's queue is full (maxqueue). */
int lb_assign(struct stream *s);
/* Gives back the slot <s> holds on <s>->srv and wakes the first stream
 * queued on that server and on the backend, if any. */
void lb_release(struct stream *s);
/* Removes <s> from the queue it waits in, if any. */
void lb_dequeue(struct stream *s);
/* The connection attempt of <s> failed: another follows ("retries"), on
 * the server the algorithm gives with "option redispatch" (the slot given
 * back), else on the same. Counted in %rc and, once the next server is
 * known, in wretr or wredis as HAProxy counts them. RC_OK, or RC_ERR when
 * no retry is left. */
int lb_retry(struct stream *s);
/* Returns 1 if a new connection attempt of <s> after a refused or broken
 * one waits the turn-around delay first, as HAProxy: when it goes to the
 * same server (it keeps its slot) or the backend has one active server
 * at most. */
int lb_retry_waits(const struct stream *s);
/* The turn-around delay of backend <px> in ms: "timeout connect", one
 * second at most. */
unsigned lb_turnaround_ms(const struct proxy *px);

/* Returns 1 if <srv> is up and not in maintenance: it takes the requests
 * that persistence sends it even with weight 0 or draining (HAProxy's
 * drain state). */
int server_takes_persistent(const struct server *srv);
/* Returns 1 if <srv> is up and may take requests (health, admin state). */
int server_is_usable(const struct server *srv);
/* Returns 1 if <srv> has a free connection slot (maxconn). */
int server_has_slot(const struct server *srv);

/* Hashes <len> bytes (64-bit FNV-1a, avalanched). */
uint64_t lb_hash(const void *data, size_t len);

#endif
