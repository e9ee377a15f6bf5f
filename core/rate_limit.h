/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* Limits on new connections per second: global "maxconnrate" and
 * "maxsessrate", a frontend's "rate-limit sessions". HAProxy counts them
 * for the whole process, so the counters live in memory the master maps
 * before forking and every worker counts in them; a listener at a limit
 * stops accepting for a moment and its clients wait in the kernel's
 * backlog, as HAProxy's do. */
#ifndef LUAPROXY_CORE_RATE_LIMIT_H
#define LUAPROXY_CORE_RATE_LIMIT_H

struct cfg;
struct listener;
struct rate_limit;

/* Master, after parsing: maps the counters the limits of <cfg> need.
 * RC_OK or RC_ERR (logged). */
int rate_limit_prepare(struct cfg *cfg);
/* Unmaps them when the generation is freed. */
void rate_limit_release(struct cfg *cfg);
/* Worker: the ms to wait before <l> may accept again, 0 if it may now. */
unsigned rate_limit_wait(const struct listener *l);
/* Worker: counts a connection <l> accepted. */
void rate_limit_count(const struct listener *l);

#endif
