/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* The TCP stream: connection rules at accept, content rules that may wait
 * for data until tcp-request inspect-delay expires, then a service or a
 * server with bidirectional forwarding, back-pressure and half-close, the
 * server's first bytes judged by tcp-response content rules. */
#ifndef LUAPROXY_TCP_TCP_ANA_H
#define LUAPROXY_TCP_TCP_ANA_H

struct stream;
struct evbuffer;

/* Returns 1 if <s> is a TCP-mode stream. */
int tcp_stream_is(const struct stream *s);
/* The server's bytes of TCP stream <s> not forwarded to the client yet
 * (what tcp-response content rules judge); NULL when <s> is not a TCP
 * stream or its server is not connected. */
struct evbuffer *tcp_stream_res_buf(const struct stream *s);
/* Registers the TCP protocol layer (tcp module init). */
void tcp_ana_init(void);

#endif
