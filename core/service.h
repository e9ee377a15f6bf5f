/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* Services: applets that answer in place of a server ("use-service NAME").
 * A module registers service keywords; the protocol layer (http/, tcp/)
 * drives the applet through its ops and gives it the stream's data. */
#ifndef LUAPROXY_CORE_SERVICE_H
#define LUAPROXY_CORE_SERVICE_H

struct stream;
struct cfg_ctx;

/* Which protocol layer an applet speaks to. */
enum applet_kind {
    APPLET_TCP,
    APPLET_HTTP,
};

struct applet_ops {
    enum applet_kind kind;
    /* Called by the protocol layer whenever the applet may progress (start,
     * input arrived, output drained, a timer or socket woke the stream).
     * Returns RC_AGAIN to be called again later, RC_DONE when the applet
     * finished, RC_ERR when it failed (HTTP: 500 if nothing was sent yet;
     * TCP: the connection is closed). */
    int (*io)(struct stream *s, void *arg, void **ctx);
    /* Releases *ctx; called once when the stream ends, whatever happened. */
    void (*release)(struct stream *s, void *arg, void *ctx);
    /* what the log shows for the server (HAProxy's "<CACHE>"); NULL: as
     * without a server */
    const char *log_name;
};

/* A parsed "use-service NAME". */
struct service_ref {
    const struct applet_ops *ops;
    void *arg; /* the service's config-time data, owned by its module */
};

/* Resolves service <name> for a rule of <kind>; RC_OK with <ref> filled,
 * RC_DECLINED if the name is not this module's, RC_ERR with *err. */
typedef int (*service_resolve_cb)(struct cfg_ctx *ctx, const char *name,
                                  enum applet_kind kind,
                                  struct service_ref *ref, char **err);

struct service_kw {
    const char *prefix; /* e.g. "lua." */
    service_resolve_cb resolve;
};

/* Registers a NULL-prefix terminated table. */
void service_register(const struct service_kw *tbl);
/* Registers the "use-service" action (core module init). */
void service_init(void);
/* Resolves "use-service <name>"; RC_OK or RC_ERR with *err. */
int service_resolve(struct cfg_ctx *ctx, const char *name,
                    enum applet_kind kind, struct service_ref *ref, char **err);

#endif
