/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* Sticking rules (HAProxy's "stick on|match|store-request|store-response"
 * in backends): a key taken from the request finds the server a table
 * remembered for it, and the server a stream went to is remembered under
 * the keys of its request (and response). The protocol layers call
 * stick_rules_request() before the server is chosen and
 * stick_rules_response() once the server's answer begins. */
#ifndef LUAPROXY_CORE_STICK_RULES_H
#define LUAPROXY_CORE_STICK_RULES_H

struct cfg;
struct cfg_ctx;
struct cfg_kw;
struct stick_rule;
struct stream;

/* "stick on|match|store-request|store-response EXPR [table NAME]
 * [if|unless COND]" in a backend or listen section. */
int stick_rules_parse(struct cfg_ctx *ctx, const struct cfg_kw *kw, int argc,
                      char **args, char **err);
/* Resolves the tables the rules of <cfg> name and makes them store
 * server_id; before the tables are laid out. Returns the errors logged. */
int stick_rules_check(struct cfg *cfg);
void stick_rules_free(struct stick_rule *r);

/* Once per stream, before its server is chosen: the match rules may set
 * s->prefer; the store-request keys are kept for later. */
void stick_rules_request(struct stream *s);
/* The server's answer began: stores the kept keys and those of the
 * store-response rules with the server's id. */
void stick_rules_response(struct stream *s);

#endif
