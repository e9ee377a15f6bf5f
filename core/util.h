/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* Small helpers used everywhere: allocation that aborts (for master and
 * configuration code only, never on a worker's request path), string
 * formatting into a fresh buffer (HAProxy's memprintf, for char **err). */
#ifndef LUAPROXY_CORE_UTIL_H
#define LUAPROXY_CORE_UTIL_H

#include <stdarg.h>
#include <stddef.h>

/* A copy of the environment ("NAME=value" strings, NULL-terminated), so
 * that what a refused configuration's setenv/resetenv lines changed can
 * be put back. */
char **env_snapshot(void);
/* Makes the environment <snap> again. */
void env_restore(char *const *snap);
/* Frees <snap>. Accepts NULL. */
void env_snapshot_free(char **snap);
/* Reports that memory ran out and aborts: the x* allocators' end. */
void oom(void) __attribute__((noreturn));
void *xmalloc(size_t size);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *ptr, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t len);
/* Returns a malloc'ed formatted string, aborting if out of memory. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Replaces *<err> (freed if set) with a formatted message; returns RC_ERR so
 * that parsers can write "return set_err(err, ...)". */
int set_err(char **err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Reads the whole file <path> into a malloc'ed, NUL-terminated *<out> of
 * *<len> bytes (configuration time only); RC_OK or RC_ERR with *err. */
int file_read_all(const char *path, char **out, size_t *len, char **err);
/* The largest file file_read_all() takes (error pages, reply bodies). */
#define FILE_READ_MAX (64 << 20)
/* Upper-case hexadecimal digits, indexed by value. */
extern const char hex_upper[16];
/* Writes the <n> bytes at <p> as 2n upper-case hex digits at <out>; returns
 * 2n. */
size_t hex_encode(char *out, const void *p, size_t n);
/* The value of hexadecimal digit <c> (either case), or -1. */
static inline int hex_digit_value(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c |= 0x20;
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}
/* Frees *<pp> and sets it to NULL. */
#define xfree_null(pp)                                                         \
    do {                                                                       \
        free(*(pp));                                                           \
        *(pp) = NULL;                                                          \
    } while (0)

#endif
