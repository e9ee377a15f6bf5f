/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* Filters (HAProxy's "filter" keyword): code that a proxy attaches to each
 * of its streams to watch or change the messages going through. A module
 * registers a filter type (struct filter_ops); "filter NAME [args]" in a
 * frontend, backend or listen section adds an instance of it to the proxy,
 * in the order written. The protocol layer attaches the frontend's filters
 * when a stream starts and the backend's once it is chosen, and calls the
 * hooks of every attached filter in that order. Core knows nothing of the
 * messages: a hook gets the stream and a direction, and reaches the message
 * through the protocol layer's API. A stream of a proxy without filters
 * carries a NULL filter list and pays nothing. */
#ifndef LUAPROXY_CORE_FILTER_H
#define LUAPROXY_CORE_FILTER_H

#include <stddef.h>

#include "core/cfgparse.h"

struct evbuffer;
struct proxy;
struct stream;
struct filter;

/* The message a hook is called for. */
enum flt_dir {
    FLT_DIR_REQ = 0,
    FLT_DIR_RES = 1,
};

/* filter.flags: the filter wants the payload of the message (set by its
 * on_headers hook with filter_want_data()). */
#define FLT_F_DATA(dir) (1u << (dir))
/* filter.flags: it only watches that payload, passing every byte on
 * unchanged (filter_watch_data()), so the message keeps its length. */
#define FLT_F_WATCH(dir) (4u << (dir))

/* A filter type. Every hook is optional. Hooks returning an int return
 * RC_OK, RC_AGAIN to wait (the stream is resumed at the same hook of the
 * same filter once something calls stream_wake()), or RC_ERR (the stream
 * answers an error or is cut). */
struct filter_ops {
    /* the word after "filter"; a name ending in '.' is a prefix ("lua.")
     * that the types of a module share, parse telling them apart */
    const char *name;
    /* "filter NAME args...": <args>[0] is NAME. Sets *<conf> (it may stay
     * NULL); RC_OK or RC_ERR with *err. */
    int (*parse)(struct cfg_ctx *ctx, int argc, char **args, void **conf,
                 char **err);
    /* after parsing, for each proxy using the filter: RC_OK or RC_ERR
     * with *err (without file:line) */
    int (*check)(struct proxy *px, void *conf, char **err);
    /* copies a configuration (a defaults section's implicit filter) */
    void *(*conf_dup)(const void *conf);
    void (*conf_free)(void *conf);
    /* the filter is attached to <s>: may set f->ctx (in the stream pool
     * or freed by stream_end) */
    int (*stream_start)(struct stream *s, struct filter *f);
    /* <s> ends, whatever happened */
    void (*stream_end)(struct stream *s, struct filter *f);
    /* the head of the message <dir> is complete and may be edited */
    int (*on_headers)(struct stream *s, struct filter *f, enum flt_dir dir);
    /* payload bytes (without transfer framing) in <in>: consume them and
     * append what goes on to <out>; bytes left in <in> are offered again */
    int (*on_data)(struct stream *s, struct filter *f, enum flt_dir dir,
                   struct evbuffer *in, struct evbuffer *out);
    /* the whole payload went through on_data: append any last bytes */
    int (*on_end)(struct stream *s, struct filter *f, enum flt_dir dir,
                  struct evbuffer *out);
};

/* One "filter" line of a proxy (or a filter that keywords of its module
 * declared implicitly, as "compression" does). */
struct flt_conf {
    struct flt_conf *next;
    const struct filter_ops *ops;
    void *conf;   /* the type's configuration, owned */
    int implicit; /* no "filter" line declared it */
};

/* A filter attached to a stream. */
struct filter {
    const struct flt_conf *fc;
    void *ctx;
    unsigned flags;            /* FLT_F_* */
    struct evbuffer *data_out; /* between this filter and the next */
};

/* The filters of a stream (stream->flt), in the stream's pool. */
struct stream_filters {
    struct filter *v;
    int n;
    int resume;         /* the filter a waiting hook is resumed at */
    unsigned ndata[2];  /* filters wanting each direction's payload */
    unsigned nwatch[2]; /* those of them only watching it */
};

/* Registers a filter type (module init). */
void filter_register(const struct filter_ops *ops);
/* The filter type named <name>, or NULL. */
const struct filter_ops *filter_find(const char *name);
/* The filter of type <ops> in <px>'s list, or NULL. */
struct flt_conf *flt_conf_find(const struct proxy *px,
                               const struct filter_ops *ops);
/* Appends a filter of type <ops> with <conf> to <px>; returns it. */
struct flt_conf *flt_conf_add(struct proxy *px, const struct filter_ops *ops,
                              void *conf, int implicit);
/* Puts an implicit filter of type <ops> with <conf> first in <px>'s list
 * (it runs before those declared so far); returns it. */
struct flt_conf *flt_conf_add_first(struct proxy *px,
                                    const struct filter_ops *ops, void *conf);
/* Copies the implicit filters of <src> (a defaults section) to <dst>. */
void flt_confs_inherit(struct proxy *dst, const struct proxy *src);
/* Frees the filter list of <px>. */
void flt_confs_free(struct proxy *px);
/* Post-parse checks of the filters of <px>; returns the error count. */
int filters_check(struct proxy *px);

/* Attaches the filters of <px> to <s>; RC_OK or RC_ERR (out of memory,
 * or a stream_start hook failed). */
int filters_attach(struct stream *s, const struct proxy *px);
/* Runs the stream_end hooks and frees what the filters hold. */
void filters_release(struct stream *s);
/* Asks for the payload of <dir> (from an on_headers hook). */
void filter_want_data(struct stream *s, struct filter *f, enum flt_dir dir);
/* Asks to see the payload of <dir> without changing it (on_data moves
 * <in> to <out> as it is). */
void filter_watch_data(struct stream *s, struct filter *f, enum flt_dir dir);
/* Returns 1 if the filters of <s> leave the length of <dir>'s payload as
 * it is (every filter wanting it only watches). */
int filters_keep_length(const struct stream *s, enum flt_dir dir);
/* Runs the on_headers hooks of <s> for <dir>, resuming a waiting one. */
int filters_headers(struct stream *s, enum flt_dir dir);
/* Bytes of <dir>'s payload that the filters hold between them. */
size_t filters_held(const struct stream *s, enum flt_dir dir);
/* Returns 1 if a filter of <s> transforms the payload of <dir>. */
int filters_want_data(const struct stream *s, enum flt_dir dir);
/* Passes the payload bytes of <in> through the filters wanting them;
 * what comes out is appended to <out>. */
int filters_data(struct stream *s, enum flt_dir dir, struct evbuffer *in,
                 struct evbuffer *out);
/* The last payload bytes of <dir> are in <in> (maybe none): passes them
 * on, then lets every filter append its last bytes to <out>. */
int filters_end(struct stream *s, enum flt_dir dir, struct evbuffer *in,
                struct evbuffer *out);

/* Registers core's "trace" filter (core/filter_trace.c). */
void filter_trace_init(void);

/* "filter NAME [args]" (core keyword table). */
extern const struct cfg_kw filter_keywords[];

#endif
