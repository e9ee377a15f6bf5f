/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* The statistics of proxies and servers as HAProxy's "show stat" has
 * them: one line of fields, in HAProxy 2.6's column order, per frontend,
 * backend and server. The fields this worker counts are filled, the
 * others stay empty (as HAProxy leaves those that do not apply). The
 * runtime API prints the lines as CSV, Lua's get_stats() as tables. */
#ifndef LUAPROXY_CORE_STATS_H
#define LUAPROXY_CORE_STATS_H

#include <stddef.h>

struct evbuffer;
struct proxy;
struct server;
struct stream;

#define STATS_NCOLS 113
#define STATS_FIELD 64

struct stats_line {
    char f[STATS_NCOLS][STATS_FIELD];
};

/* The name of column <i> (0 to STATS_NCOLS - 1). */
const char *stats_col_name(size_t i);
/* The line of frontend <px>, numbered <iid> in the configuration. */
void stats_line_frontend(struct stats_line *ln, const struct proxy *px,
                         int iid);
/* The line of backend <px>: its own counters, its servers' sessions. */
void stats_line_backend(struct stats_line *ln, const struct proxy *px, int iid);
/* The line of server <srv>, numbered <sid> in backend <px>. */
void stats_line_server(struct stats_line *ln, const struct proxy *px, int iid,
                       const struct server *srv, int sid);
/* Counts the stream <s> that ends into its frontend's, backend's and
 * server's counters. */
void stats_count_stream(const struct stream *s);
/* Counts a "reject" of <s>'s current ruleset where HAProxy does: dcon,
 * dses, dreq (tcp-request content) or dresp (tcp-response content). */
void stats_count_reject(const struct stream *s);
/* Counts a request of <s> that a rule denied (deny, tarpit, silent-drop)
 * in its frontend's and backend's dreq. */
void stats_count_denied(const struct stream *s);
/* One "show info" field. */
struct stats_info {
    const char *name;
    char value[64];
};

#define STATS_INFO_MAX 20

/* Fills <out> (STATS_INFO_MAX entries) with the "show info" fields this
 * worker can tell truthfully, in HAProxy's order; returns how many. The
 * runtime API prints them, Lua's core.get_info() returns them. */
size_t stats_info(struct stats_info *out);
/* Writes HAProxy's CSV header line ("# pxname,svname,...") to <out>. */
void stats_csv_header(struct evbuffer *out);
/* Writes <ln> as a CSV line (HAProxy ends each with a comma). */
void stats_csv_line(struct evbuffer *out, const struct stats_line *ln);
/* Writes the CSV lines of proxy <px>, numbered <iid>, to <out>: its
 * frontend (bit 1 of <types>), its servers (bit 4; only number <sid>
 * unless it is -1), its backend (bit 2), for "show stat". */
void stats_csv_proxy(struct evbuffer *out, const struct proxy *px, int iid,
                     long types, long sid);
/* Registers "show stat" (core module init). */
void stats_cli_init(void);

#endif
