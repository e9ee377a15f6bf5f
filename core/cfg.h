/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* One configuration generation: the global settings, the proxies and what
 * modules hang on it, built by the parser and immutable once validated. A
 * reload builds a new generation beside the running one. */
#ifndef LUAPROXY_CORE_CFG_H
#define LUAPROXY_CORE_CFG_H

#include "core/vars.h"

#define CFG_MODULES_MAX 8

struct proxy;
struct rate_limit;
struct module;
struct listener;

/* One "cpu-map" line: the workers <lo>..<hi> (HAProxy's threads) run on
 * the CPUs of <cpus>; with "auto:", the n-th of them on the n-th CPU. */
struct cpu_map {
    struct cpu_map *next;
    int lo, hi;
    int autom;
    int ncpus;
    int cpus[64]; /* the CPU numbers, in order */
};

struct global {
    int nbproc;   /* workers; 0 = one per online CPU */
    int maxconn;  /* per worker */
    int maxpipes; /* for splicing, per worker; -1: maxconn / 4 */
    int daemon;
    char *pidfile;
    char *chroot;
    char *user, *group;       /* names or numeric ids, resolved by the worker */
    unsigned hard_stop_after; /* ms, 0 = unlimited */
    int mworker_max_reloads;  /* 0 = unlimited */
    unsigned long long bufsize;
    unsigned long long maxrewrite;
    int maxhdr;
    int quiet;
    struct listener *stats_sockets; /* "stats socket", in order */
    unsigned stats_timeout;         /* ms */
    int stats_maxconn;              /* runtime API clients at once */
    int ulimit_n;             /* file descriptors per process, 0: computed */
    struct cpu_map *cpu_maps; /* "cpu-map" lines, in order */
    int spread_checks;        /* percent of randomness in check intervals */
    char *node; /* "node": this host's name in show info, or NULL */
    /* tune.rcvbuf.client/server, tune.sndbuf.client/server: socket
     * buffer sizes in bytes, 0: the system's */
    int rcvbuf_cli, rcvbuf_srv, sndbuf_cli, sndbuf_srv;
    char *description;            /* "description", or NULL */
    int maxconnrate, maxsessrate; /* per second, all workers; 0: none */
    /* their counters and the frontends' (core/rate_limit.c), shared */
    struct rate_limit *rate_limits;
    size_t nrate_limits;
    struct rate_limit *conn_rate, *sess_rate;
};

struct cfg {
    struct global global;
    struct proxy *proxies;  /* frontends, backends, listen; in order */
    struct proxy *defaults; /* named and unnamed defaults sections */
    struct proxy **px_tail;
    void *mod_data[CFG_MODULES_MAX];
    char **files; /* names of the files read; "file:line" points here */
    int nfiles;
    unsigned generation;
    /* "proc." variables the global section's set-var lines set: each
     * worker of the generation starts with them */
    struct vars proc_vars;
};

/* Creates an empty generation with HAProxy's defaults. */
struct cfg *cfg_new(void);
/* Frees <cfg>, its proxies and its modules' data (module cfg_free hooks). */
void cfg_free(struct cfg *cfg);
/* Keeps a copy of <path> for the generation's lifetime and returns it. */
const char *cfg_intern_file(struct cfg *cfg, const char *path);
/* Returns the slot where module <m> keeps its data for <cfg>. */
void **cfg_module_data(struct cfg *cfg, const struct module *m);

#endif
