/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* A worker process: after fork it drops privileges, then runs one event
 * loop that accepts on the inherited listeners and serves sessions. */
#ifndef LUAPROXY_CORE_WORKER_H
#define LUAPROXY_CORE_WORKER_H

#include <stddef.h>
#include <time.h>

#include "core/channel.h"

struct cfg;
struct event_base;

/* The worker's event loop (the master's before fork). */
struct event_base *worker_loop(void);
/* Sends <cmd> with <data> to the master, which passes it on to the other
 * workers of the generation: RC_OK, RC_ERR (the master is gone or its
 * channel full) or RC_DECLINED outside a worker. */
int worker_share(enum channel_cmd cmd, int arg, const void *data, size_t len);
/* Sends <cmd> with a copy of descriptor <pass> and <data> to the master
 * for itself (nothing is relayed); same results as worker_share(). */
int worker_tell_master(enum channel_cmd cmd, int pass, const void *data,
                       size_t len);
/* The configuration generation this worker serves. */
struct cfg *worker_cfg(void);
/* 1 once the worker drains: no new connection, close keep-alives. */
int worker_draining(void);
/* Registers <fn> to run when the worker starts draining. */
void worker_drain_register(void (*fn)(void));
/* Worker number, 1..N. */
int worker_id(void);
/* What "show info" reports of this worker. */
struct worker_counts {
    unsigned long cur_conns;
    unsigned long long cum_conns;
    time_t started;
    int hard_maxconn; /* the configured global maxconn */
};
void worker_get_counts(struct worker_counts *wc);
struct proxy;
/* The runtime API changed the state or the maxconn of frontend <px>: its
 * listeners accept or not accordingly. */
void worker_frontend_update(struct proxy *px);
/* "shutdown frontend": <px> (PX_FE_STOPPED) no longer accepts and this
 * worker closes its copies of the listeners' sockets. */
void worker_frontend_close(struct proxy *px);
/* "set maxconn global": this worker takes up to <n> sessions. */
void worker_set_maxconn(int n);
/* Counts a session in and out, so a draining worker knows when to exit. */
struct session;
void worker_session_add(struct session *sess);
void worker_session_remove(struct session *sess);
/* Runs the worker: never returns. <chan> is its end of the socketpair to
 * the master. */
void worker_run(struct cfg *cfg, int id, int chan) __attribute__((noreturn));

/* Exit code that tells the master not to respawn (nginx's fatal code). */
#define WORKER_EXIT_FATAL 2

#endif
