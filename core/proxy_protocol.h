/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* The PROXY protocol (versions 1 and 2): reading the header a load
 * balancer in front of us sends ("bind ... accept-proxy"), so that "src"
 * is the real client, and writing one to servers ("server ... send-proxy",
 * "send-proxy-v2"). */
#ifndef LUAPROXY_CORE_PROXY_PROTOCOL_H
#define LUAPROXY_CORE_PROXY_PROTOCOL_H

struct session;
struct evbuffer;

/* Reads the header from <sess>'s connection, then starts the session
 * normally; a malformed or missing header closes the connection without
 * reading further. */
void proxy_protocol_accept(struct session *sess);
/* Appends a header of <version> (1 or 2) describing <sess> to <out>. */
void proxy_protocol_write(struct evbuffer *out, int version,
                          const struct session *sess);

#endif
