/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* Per-stream settings that rules and the Lua API change: the queue
 * priority of the stream (set-priority-class, set-priority-offset) and
 * the TOS and mark of its client connection's packets (set-tos,
 * set-mark). */
#ifndef LUAPROXY_CORE_STREAM_ACT_H
#define LUAPROXY_CORE_STREAM_ACT_H

struct stream;

/* HAProxy's bounds: a class in [-2047, 2047], an offset in ms in
 * [-524287, 524287]; values beyond are clamped. */
#define PRIO_CLASS_MAX  0x7ff
#define PRIO_OFFSET_MAX 0x7ffff

/* What every setter here looks like, for callers that pick one. */
typedef void (*stream_setter_fn)(struct stream *s, long long v);

void stream_set_priority_class(struct stream *s, long long class);
void stream_set_priority_offset(struct stream *s, long long offset);
/* Sets IP_TOS (IPV6_TCLASS on IPv6) / SO_MARK on the client connection;
 * a failure (no privilege, a unix socket) is ignored, as in HAProxy. */
void stream_set_tos(struct stream *s, long long tos);
void stream_set_mark(struct stream *s, long long mark);

/* The client connection's source (<dst> 0) or destination address as
 * "tcp-request connection" rules left it, whatever a stream rule set
 * since (fc_src, fc_dst). */
union sess_addr;
const union sess_addr *stream_act_conn_addr(const struct stream *s, int dst);

void stream_act_init(void);

#endif
