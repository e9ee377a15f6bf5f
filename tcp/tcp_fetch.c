/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* Fetches on the bytes the client sent that no layer consumed yet, for
 * "tcp-request content" rules: req.len, req.payload(off,len),
 * req.ssl_hello_type, req.ssl_sni; and on the server's bytes not forwarded
 * yet, for "tcp-response content" rules: res.len, res.payload(off,len).
 * While the inspect-delay runs, a fetch that needs more bytes says so
 * (SMP_F_MAY_CHANGE) so the rule waits. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>

#include <event2/buffer.h>

#include "core/conn.h"
#include "core/sample.h"
#include "core/stream.h"
#include "tcp/tcp.h"
#include "tcp/tcp_ana.h"

/* The bytes of <in> (may be NULL), pulled up to <want> (or all); NULL if
 * none. */
static const unsigned char *pending_bytes(struct evbuffer *in, size_t want,
                                          size_t *len)
{
    *len = 0;
    if (in == NULL)
        return NULL;
    *len = evbuffer_get_length(in);
    if (*len == 0)
        return NULL;
    if (want > *len)
        want = *len;
    return evbuffer_pullup(in, (ev_ssize_t)want);
}

/* The client's unread bytes, pulled up to <want> (or all); NULL if none. */
static const unsigned char *client_bytes(const struct smp_env *env, size_t want,
                                         size_t *len)
{
    struct evbuffer *in = NULL;

    if (env->strm != NULL && env->strm->sess->conn != NULL)
        in = conn_input(env->strm->sess->conn);
    return pending_bytes(in, want, len);
}

/* The server's bytes not forwarded yet (TCP mode), pulled up likewise. */
static const unsigned char *server_bytes(const struct smp_env *env, size_t want,
                                         size_t *len)
{
    struct evbuffer *in = NULL;

    if (env->strm != NULL)
        in = tcp_stream_res_buf(env->strm);
    return pending_bytes(in, want, len);
}

/* The bytes "req.*" or "res.*" fetches look at. */
typedef const unsigned char *(*bytes_cb)(const struct smp_env *env, size_t want,
                                         size_t *len);

/* Marks <smp> as "not yet" unless the data is final. */
static int not_yet(struct sample *smp, const struct smp_env *env)
{
    if (!(env->opt & SMP_OPT_FINAL))
        smp->flags |= SMP_F_MAY_CHANGE;
    return 0;
}

/* req.len, res.len: <priv> says whose bytes. */
static int fetch_len(const struct arg *args, struct sample *smp,
                     const struct smp_env *env, const void *priv)
{
    bytes_cb bytes = *(const bytes_cb *)priv;
    size_t len;

    bytes(env, 0, &len);
    smp->type = SMP_T_SINT;
    smp->data.sint = (long long)len;
    if (!(env->opt & SMP_OPT_FINAL))
        smp->flags |= SMP_F_MAY_CHANGE;
    return 1;
}

/* req.payload(off,len), res.payload(off,len): <priv> says whose bytes. */
static int fetch_payload(const struct arg *args, struct sample *smp,
                         const struct smp_env *env, const void *priv)
{
    bytes_cb bytes = *(const bytes_cb *)priv;
    size_t off = (size_t)args[0].data.sint, want = (size_t)args[1].data.sint;
    size_t len;
    const unsigned char *p = bytes(env, off + want, &len);

    if (want == 0) /* length 0: everything from off */
        want = len > off ? len - off : 0;
    if (p == NULL || len < off + want || want == 0)
        return not_yet(smp, env);
    smp->type = SMP_T_BIN;
    smp->data.str.ptr = (const char *)p + off;
    smp->data.str.len = want;
    return 1;
}

/* Reads the TLS record and handshake headers of a ClientHello; returns
 * the handshake body and its length, or NULL with *<more> set when more
 * bytes are needed. */
static const unsigned char *tls_client_hello(const unsigned char *p, size_t len,
                                             size_t *body, int *more)
{
    size_t rec;

    *more = 0;
    if (len < 9) {
        *more = len == 0 || p[0] == 0x16;
        return NULL;
    }
    if (p[0] != 0x16 || p[1] != 0x03 || p[5] != 0x01)
        return NULL;
    rec = ((size_t)p[3] << 8) | p[4];
    if (len < 5 + rec) {
        *more = 1;
        return NULL;
    }
    *body = ((size_t)p[6] << 16) | ((size_t)p[7] << 8) | p[8];
    if (*body + 4 > rec)
        return NULL;
    return p + 9;
}

static int fetch_ssl_hello_type(const struct arg *args, struct sample *smp,
                                const struct smp_env *env, const void *priv)
{
    size_t len, body;
    int more;
    const unsigned char *p = client_bytes(env, 16384 + 5, &len);

    if (p == NULL || (tls_client_hello(p, len, &body, &more) == NULL))
        return p != NULL && !more ? 0 : not_yet(smp, env);
    smp->type = SMP_T_SINT;
    smp->data.sint = 1;
    return 1;
}

/* Finds the server name in the extensions of a ClientHello body. */
static int sni_from_hello(const unsigned char *h, size_t n, struct ist *out)
{
    size_t i = 34, l;

    if (i >= n)
        return 0;
    i += 1 + h[i]; /* session id */
    if (i + 2 > n)
        return 0;
    i += 2 + (((size_t)h[i] << 8) | h[i + 1]); /* cipher suites */
    if (i >= n)
        return 0;
    i += 1 + h[i]; /* compression */
    if (i + 2 > n)
        return 0;
    l = ((size_t)h[i] << 8) | h[i + 1];
    i += 2;
    for (n = i + l < n ? i + l : n; i + 4 <= n;) {
        size_t type = ((size_t)h[i] << 8) | h[i + 1];
        size_t elen = ((size_t)h[i + 2] << 8) | h[i + 3];

        i += 4;
        if (type == 0 && elen >= 5 && i + elen <= n && h[i + 2] == 0) {
            size_t nlen = ((size_t)h[i + 3] << 8) | h[i + 4];

            if (i + 5 + nlen > n)
                return 0;
            out->ptr = (const char *)h + i + 5;
            out->len = nlen;
            return 1;
        }
        i += elen;
    }
    return 0;
}

static int fetch_ssl_sni(const struct arg *args, struct sample *smp,
                         const struct smp_env *env, const void *priv)
{
    size_t len, body;
    int more;
    const unsigned char *p = client_bytes(env, 16384 + 5, &len);
    const unsigned char *h = p ? tls_client_hello(p, len, &body, &more) : NULL;

    if (h == NULL)
        return p != NULL && !more ? 0 : not_yet(smp, env);
    if (!sni_from_hello(h, body, &smp->data.str))
        return 0;
    smp->type = SMP_T_STR;
    return 1;
}

static const bytes_cb from_client = client_bytes, from_server = server_bytes;

static const struct sample_fetch_kw tcp_fetches[] = {
    {.name = "req.len",
     .fn = fetch_len,
     .priv = &from_client,
     .out = SMP_T_SINT,
     .use = SMP_AVAIL_CONN,
     .match_method = PAT_MATCH_INT},
    {.name = "req_len",
     .fn = fetch_len,
     .priv = &from_client,
     .out = SMP_T_SINT,
     .use = SMP_AVAIL_CONN,
     .match_method = PAT_MATCH_INT},
    {.name = "req.payload",
     .fn = fetch_payload,
     .priv = &from_client,
     .args = "I,I",
     .out = SMP_T_BIN,
     .use = SMP_AVAIL_CONN,
     .match_method = PAT_MATCH_BIN},
    {.name = "res.len",
     .fn = fetch_len,
     .priv = &from_server,
     .out = SMP_T_SINT,
     .use = SMP_AVAIL_RES,
     .match_method = PAT_MATCH_INT},
    {.name = "res.payload",
     .fn = fetch_payload,
     .priv = &from_server,
     .args = "I,I",
     .out = SMP_T_BIN,
     .use = SMP_AVAIL_RES,
     .match_method = PAT_MATCH_BIN},
    {.name = "req.ssl_hello_type",
     .fn = fetch_ssl_hello_type,
     .out = SMP_T_SINT,
     .use = SMP_AVAIL_CONN,
     .match_method = PAT_MATCH_INT},
    {.name = "req.ssl_sni",
     .fn = fetch_ssl_sni,
     .out = SMP_T_STR,
     .use = SMP_AVAIL_CONN,
     .match_method = PAT_MATCH_STR},
    {.name = "req_ssl_sni",
     .fn = fetch_ssl_sni,
     .out = SMP_T_STR,
     .use = SMP_AVAIL_CONN,
     .match_method = PAT_MATCH_STR},
    {.name = NULL},
};

void tcp_fetch_init(void)
{
    sample_register_fetches(tcp_fetches);
}
