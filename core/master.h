/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* The master process: owns the configuration generations, the Lua state
 * built before fork, and the listening sockets; forks and watches workers;
 * reloads on SIGHUP without dropping a connection. It never serves. */
#ifndef LUAPROXY_CORE_MASTER_H
#define LUAPROXY_CORE_MASTER_H

struct cfg;

struct master_opts {
    int npaths;
    char **paths;   /* -f arguments, re-read on reload */
    int foreground; /* -d / -db */
    int daemon;     /* -D */
    const char *pidfile;
};

/* Loads and validates a generation from <opts>' paths: parse, module
 * post-parse hooks (Lua init), checks. NULL if anything failed (every
 * error was logged). */
struct cfg *master_load(const struct master_opts *opts);
/* Binds <cfg>'s listeners, reusing the sockets of <old> (may be NULL) for
 * unchanged addresses; RC_OK, or RC_ERR with nothing of <old> touched. */
int master_bind(struct cfg *cfg, struct cfg *old);
/* Runs the master with the validated and bound <cfg>; returns the exit
 * status of the process. */
int master_run(struct cfg *cfg, const struct master_opts *opts);

#endif
