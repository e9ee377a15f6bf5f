/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* A slice of bytes that the slice does not own and that is not
 * NUL-terminated (HAProxy's ist, nginx's ngx_str_t). Parsers hand these out
 * into buffers they were given; a slice never outlives its buffer. */
#ifndef LUAPROXY_CORE_IST_H
#define LUAPROXY_CORE_IST_H

#include <stddef.h>
#include <string.h>
#include <strings.h>

struct ist {
    const char *ptr;
    size_t len;
};

#define IST(lit) ((struct ist){(lit), sizeof(lit) - 1})

/* Builds a slice over a NUL-terminated string. */
static inline struct ist ist_from(const char *s)
{
    return (struct ist){s, s ? strlen(s) : 0};
}

/* Returns 1 if <a> and <b> hold the same bytes. */
static inline int ist_eq(struct ist a, struct ist b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

/* Returns 1 if <a> and <b> are equal ignoring ASCII case. */
static inline int ist_ieq(struct ist a, struct ist b)
{
    return a.len == b.len &&
           (a.len == 0 || strncasecmp(a.ptr, b.ptr, a.len) == 0);
}

#endif
