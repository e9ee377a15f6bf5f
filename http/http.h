/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* The http module: HTTP rule keywords, actions, fetches, and the HTTP
 * protocol layer for "mode http" frontends. */
#ifndef LUAPROXY_HTTP_HTTP_H
#define LUAPROXY_HTTP_HTTP_H

#include "core/cfgparse.h"
#include "core/module.h"

struct proxy;
struct http_txn;
struct stream;
struct ist;
struct evbuffer;

extern const struct module http_module;
/* http/http_cache.c: the "cache" sections, cache-use and cache-store */
extern const struct module http_cache_module;

/* The "http-errors" section's bit (core/cfgparse.h). */
#define CFG_SEC_HTTP_ERRORS CFG_SEC_MODULE(0)

/* http/http_errors.c: "http-errors" sections and errorfile, errorfiles,
 * errorloc*, http-error in proxies */
extern const struct cfg_section http_errors_sections[];
extern const struct cfg_kw http_errors_keywords[];
/* Resolves every proxy's "errorfiles" references and overrides; RC_OK,
 * or RC_ERR after logging each unknown section with file:line. */
int http_errors_post_parse(struct cfg *cfg);
/* Frees the http-errors sections hung on <cfg>. */
void http_errors_cfg_free(struct cfg *cfg);

/* http/http_act.c */
void http_act_init(void);
/* http/http_auth.c */
void http_auth_init(void);
/* The Basic credentials of the request of <s>, decoded into its pool:
 * 1 with <user> and <pass> set, 0 if it carries none. */
int http_auth_basic(struct stream *s, struct ist *user, struct ist *pass);
/* http/http_act_wait.c: wait-for-body, set-timeout */
void http_act_wait_init(void);
/* monitor-uri, capture: frontend keywords built as leading rules */
extern const struct cfg_kw http_act_keywords[];
/* The capture slots of frontend <fe> for requests (<res> 0) or responses,
 * as %hr/%hs print them. */
unsigned http_capture_slots(const struct proxy *fe, int res);
/* http/http_comp.c: the "compression" filter and keyword */
extern const struct cfg_kw http_comp_keywords[];
void http_comp_init(void);
/* http/http_cookie.c: "cookie" persistence of backends */
extern const struct cfg_kw http_cookie_keywords[];
/* Before a server is assigned: the persistence cookie of <txn>'s request
 * sets the stream's preferred server and is edited for the server as the
 * mode says. RC_OK, or RC_ERR when out of memory. */
int http_cookie_request(struct http_txn *txn);
/* With the response head of <txn>'s server: its persistence cookie is
 * edited, and insert mode adds one. RC_OK, or RC_ERR when out of memory. */
int http_cookie_response(struct http_txn *txn);
/* http/http_retry.c: "retry-on" and "http-request disable-l7-retry" */
extern const struct cfg_kw http_retry_keywords[];
void http_retry_init(void);
/* The PX_RETRY_STATUS() bit of a response status, 0 if "retry-on" cannot
 * name it. */
unsigned http_retry_status_cond(int status);
/* The request head of <txn> went out to a server, <head> bytes into its
 * output <out>: the first time, a backend with layer-7 retries starts a
 * copy of the request; on later attempts the body kept is sent after the
 * head. */
void http_retry_head_sent(struct http_txn *txn, struct evbuffer *out,
                          size_t head);
/* Request body bytes went out, the bytes of <out> from offset <from> on:
 * they are kept, unless the request was not whole at once or is larger
 * than a buffer, which ends the copy for good. */
void http_retry_body_sent(struct http_txn *txn, struct evbuffer *out,
                          size_t from);
/* 1 if the request of <txn> may be sent again after the failure <cond>
 * (PX_RETRY_*): its backend retries on it and the request was kept. */
int http_retry_allowed(const struct http_txn *txn, unsigned cond);
/* Frees the copy of the request (http_txn_free). */
void http_retry_free(struct http_txn *txn);
/* http/http_stats.c: the statistics page ("stats uri" and friends) */
extern const struct cfg_kw http_stats_keywords[];
/* Gives the request of <s> to the statistics page if proxy <px> serves
 * one at the request's URI; returns 1 if it did (s->svc is set). */
int http_stats_select(struct stream *s, struct proxy *px);
/* http/http_fetch.c */
void http_fetch_init(void);

#endif
