/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* The HTTP tags of log-format strings (%ST, %r, %HM, %HU...). */
#ifndef LUAPROXY_HTTP_HTTP_LOG_H
#define LUAPROXY_HTTP_HTTP_LOG_H

/* Registers the HTTP tags (http module init). */
void http_log_init(void);

#endif
