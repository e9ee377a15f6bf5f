/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* Request identifiers (HAProxy's "unique-id-format" and
 * "unique-id-header"): a frontend's format is compiled once after parsing
 * and rendered for a stream the first time something asks for it (the
 * "unique-id" fetch, the %ID log variable, the request header), then kept
 * for the rest of the stream. */
#ifndef LUAPROXY_CORE_UNIQUE_ID_H
#define LUAPROXY_CORE_UNIQUE_ID_H

#include "core/cfgparse.h"

struct cfg;
struct proxy;
struct stream;

/* HAProxy keeps 127 bytes of an identifier. */
#define UNIQUE_ID_MAX 127

extern const struct cfg_kw unique_id_keywords[];

/* Copies the settings of <defaults> into the new proxy <px>. */
void unique_id_inherit(struct proxy *px, const struct proxy *defaults);
/* Frees the settings of <px>. */
void unique_id_release(struct proxy *px);
/* Compiles the formats of the frontends of <cfg>; RC_OK or RC_ERR (each
 * error logged with its file and line). */
int unique_id_post_parse(struct cfg *cfg);
/* The identifier of <s>, made now if it is the first ask; NULL when its
 * frontend has no "unique-id-format". */
const char *stream_unique_id(struct stream *s);
/* Registers the "unique-id" fetch and the %ID log variable. */
void unique_id_init(void);

#endif
