/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* Traffic logs (HAProxy's "log" lines, section 8): targets per "log" line
 * (stdout, stderr, fd@N, syslog over UDP, unix datagram sockets), the
 * syslog header formats (local, rfc3164, rfc5424, priority, short, timed,
 * iso, raw), per-proxy inheritance ("log global", defaults, "no log"), the
 * proxy's format ("log-format", "option httplog", "option tcplog", or the
 * "Connect from" line without one), and the line of each stream when it
 * ends. Sending never blocks a worker: datagrams go out with MSG_DONTWAIT
 * and a refused one is counted as lost; fd lines are buffered and written
 * from the event loop, and lines that do not fit are counted as lost. The
 * sockets are opened at load (by the master, before any chroot) and the
 * workers inherit them. Not to be confused with core/log.h, the process's
 * own stderr messages. */
#ifndef LUAPROXY_CORE_LOGGER_H
#define LUAPROXY_CORE_LOGGER_H

#include "core/cfgparse.h"

struct cfg;
struct proxy;
struct session;
struct stream;

/* HAProxy's predefined formats. */
#define LOGGER_HTTPLOG_FORMAT                                                  \
    "%ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta %ST %B %CC %CS %tsc "         \
    "%ac/%fc/%bc/%sc/%rc %sq/%bq %hr %hs %{+Q}r"
#define LOGGER_TCPLOG_FORMAT                                                   \
    "%ci:%cp [%t] %ft %b/%s %Tw/%Tc/%Tt %B %ts %ac/%fc/%bc/%sc/%rc %sq/%bq"

/* "log", "log-format", "log-tag" (core_keywords[]). */
extern const struct cfg_kw logger_keywords[];

/* Core module hooks: resolves inheritance, compiles formats and opens the
 * sockets of <cfg>; starts the worker's flushing; frees what <cfg> holds. */
int logger_post_parse(struct cfg *cfg);
int logger_worker_init(struct cfg *cfg);
void logger_cfg_free(struct cfg *cfg);

/* Emits the log line of <s> per its frontend's settings; called once when
 * the stream ends (top of stream_free). */
void logger_stream_end(struct stream *s);
/* Counts a new session (%ac, %fc) and, for a TCP frontend without a
 * format, emits HAProxy's "Connect from" line (HTTP ones get it when their
 * stream ends); called when a session starts. */
void logger_session_accept(struct session *sess);
/* Sends <msg> at <level> (enum log_level) to the targets of <px>, or to the
 * global targets when <px> is NULL (Lua's core.log, txn:log). */
void log_emit(struct proxy *px, int level, const char *msg);
/* 1 if log_emit(<px>, ...) would reach at least one target now (Lua's
 * "tune.lua.log.stderr auto"), else 0. */
int logger_has_targets(const struct proxy *px);

/* For log-format tags: live sessions of this worker, of frontend <fe>,
 * lines logged by <fe> so far, and the host name. */
long logger_actconn(void);
long logger_feconn(const struct proxy *fe);
unsigned long logger_log_count(const struct proxy *fe);
const char *logger_hostname(void);
/* Lines lost so far by this process (full socket, full buffer). */
unsigned long logger_dropped(void);

#endif
