/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* Fetches on the bytes the client sent that no layer consumed yet, for
 * "tcp-request content" rules: req.len, req.payload(off,len),
 * req.payload_lv, req.ssl_hello_type, req.ssl_sni, req.ssl_ver,
 * req.rdp_cookie, req.rdp_cookie_cnt; and on the server's bytes not
 * forwarded yet, for "tcp-response content" rules: res.len,
 * res.payload(off,len), res.payload_lv.
 * While the inspect-delay runs, a fetch that needs more bytes says so
 * (SMP_F_MAY_CHANGE) so the rule waits. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>

#include "core/acl.h"
#include "core/conn.h"
#include "core/errors.h"
#include "core/sample.h"
#include "core/stream.h"
#include "core/util.h"
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

/* Bytes from <off> of <from>: 1 with *<p> pointing at <need> of them, 0
 * with <smp> marked "not yet" (unless final) when fewer came. */
static int bytes_at(bytes_cb from, const struct smp_env *env, size_t need,
                    const unsigned char **p, struct sample *smp)
{
    size_t len;

    *p = from(env, need, &len);
    if (*p == NULL || len < need)
        return not_yet(smp, env);
    return 1;
}

/* req.payload_lv(off1,len[,off2]), res.payload_lv: the block whose size
 * is the <len>-byte big-endian integer at <off1>, starting right after it
 * or at <off2> (absolute, or "+n"/"-n" from the end of the size field);
 * <priv> says whose bytes. The check turned <off2> into an integer and a
 * relative flag in the fourth argument. */
static int fetch_payload_lv(const struct arg *args, struct sample *smp,
                            const struct smp_env *env, const void *priv)
{
    bytes_cb bytes = *(const bytes_cb *)priv;
    size_t off = (size_t)args[0].data.sint, width = (size_t)args[1].data.sint;
    const unsigned char *p;
    long long start = (long long)(off + width);
    unsigned long long size = 0;
    size_t i;

    if (!bytes_at(bytes, env, off + width, &p, smp))
        return 0;
    for (i = 0; i < width; i++)
        size = size << 8 | p[off + i];
    if (args[2].type == ARGT_SINT)
        start = args[2].data.sint + (args[3].data.sint ? start : 0);
    if (start < 0 || size > 1U << 30)
        return 0;
    if (!bytes_at(bytes, env, (size_t)start + (size_t)size, &p, smp))
        return 0;
    smp->type = SMP_T_BIN;
    smp->data.str.ptr = (const char *)p + start;
    smp->data.str.len = (size_t)size;
    return 1;
}

/* The size field must be at least a byte; <off2> an integer, maybe signed
 * to mean relative. */
static int check_payload_lv(struct arg *args, char **err)
{
    const char *s;
    long long v;

    if (args[0].data.sint < 0)
        return set_err(err, "payload offset must be >= 0");
    if (args[1].data.sint <= 0)
        return set_err(err, "payload length must be > 0");
    if (args[2].type != ARGT_STR)
        return RC_OK;
    s = args[2].data.str.ptr;
    if (!sample_parse_sint(s + (s[0] == '+'), strlen(s) - (s[0] == '+'), &v))
        return set_err(err, "expects an integer offset, got '%s'", s);
    args[3].type = ARGT_SINT; /* relative: "+n" or "-n" */
    args[3].data.sint = s[0] == '+' || s[0] == '-';
    free((char *)s);
    args[2].type = ARGT_SINT;
    args[2].data.sint = v;
    args[4].type = ARGT_STOP;
    return RC_OK;
}

/* The version of an SSLv2 CLIENT-HELLO with a two-byte header at <p>:
 * its lengths must add up (ciphers by 3, a 0 or 16-byte session id, a
 * 16 to 32-byte challenge). */
static int ssl2_hello_ver(const unsigned char *p, size_t len,
                          struct sample *smp, const struct smp_env *env)
{
    size_t rec, ci, si, ch;

    if (len < 11)
        return not_yet(smp, env);
    rec = ((size_t)(p[0] & 0x7f) << 8) | p[1];
    ci = ((size_t)p[5] << 8) | p[6];
    si = ((size_t)p[7] << 8) | p[8];
    ch = ((size_t)p[9] << 8) | p[10];
    if (p[2] != 0x01 || ci % 3 != 0 || (si != 0 && si != 16) || ch < 16 ||
        ch > 32 || rec != 9 + ci + si + ch)
        return 0;
    if (len < 2 + rec)
        return not_yet(smp, env);
    smp->type = SMP_T_SINT;
    smp->data.sint = (long long)p[3] << 16 | p[4];
    return 1;
}

/* The largest TLS record HAProxy takes for one (2^14 + 2048). */
#define TLS_RECORD_MAX (16384 + 2048)

/* req.ssl_ver (req_ssl_ver): (major << 16) | minor of the client's hello,
 * an SSLv3/TLS record (the version the hello announces) or an SSLv2
 * hello. */
static int fetch_ssl_ver(const struct arg *args, struct sample *smp,
                         const struct smp_env *env, const void *priv)
{
    const unsigned char *p;
    size_t len, rec;

    p = client_bytes(env, 5 + TLS_RECORD_MAX, &len);
    if (p == NULL)
        return not_yet(smp, env);
    if (p[0] & 0x80)
        return ssl2_hello_ver(p, len, smp, env);
    if ((p[0] < 0x14 || p[0] > 0x17) && p[0] != 0xff)
        return 0;
    if (len < 5)
        return not_yet(smp, env);
    rec = ((size_t)p[3] << 8) | p[4];
    if (p[1] < 3 || rec == 0 || rec > TLS_RECORD_MAX)
        return 0;
    if (len < 5 + rec || len < 11) /* the hello's version: bytes 9, 10 */
        return not_yet(smp, env);
    smp->type = SMP_T_SINT;
    smp->data.sint = (long long)p[9] << 16 | p[10];
    return 1;
}

/* Finds the RDP cookie <name> (any name when empty) in the client's X.224
 * connection request: "Cookie: name=value" right after the 11 header
 * bytes, ended by CRLF. 1 with *<val> set, 0 if there is none, -1 if more
 * bytes are needed. */
static int rdp_cookie_find(const unsigned char *p, size_t len, struct ist name,
                           struct ist *val)
{
    size_t i = 11, end;

    if (len <= i + 7)
        return -1;
    if (strncasecmp((const char *)p + i, "Cookie:", 7) != 0)
        return 0;
    for (i += 7; i < len && p[i] == ' '; i++)
        ;
    if (name.len > 0) {
        if (len <= i + name.len)
            return -1;
        if (p[i + name.len] != '=' ||
            strncasecmp((const char *)p + i, name.ptr, name.len) != 0)
            return 0;
        i += name.len + 1;
    } else {
        while (i < len && p[i] != '=' && p[i] != '\r')
            i++;
        if (i == len)
            return -1;
        if (p[i++] != '=')
            return 0;
    }
    for (end = i; end < len && p[end] != '\r'; end++)
        ;
    if (end + 1 >= len)
        return -1;
    if (p[end + 1] != '\n')
        return 0;
    *val = (struct ist){(const char *)p + i, end - i};
    return 1;
}

/* req.rdp_cookie([name]) (rdp_cookie): the cookie's value; priv NULL.
 * req.rdp_cookie_cnt([name]) (rdp_cookie_cnt): 1 if there is one, else 0;
 * priv non-NULL. Without a name, any cookie does. */
static int fetch_rdp_cookie(const struct arg *args, struct sample *smp,
                            const struct smp_env *env, const void *priv)
{
    struct ist name = args[0].type == ARGT_STR ? args[0].data.str : IST("");
    const unsigned char *p;
    struct ist val;
    size_t len;
    int found;

    p = client_bytes(env, SIZE_MAX, &len);
    found = p ? rdp_cookie_find(p, len, name, &val) : -1;
    if (found < 0)
        return not_yet(smp, env);
    if (priv != NULL) {
        smp->type = SMP_T_SINT;
        smp->data.sint = found;
        return 1;
    }
    if (!found)
        return 0;
    smp->type = SMP_T_STR;
    smp->data.str = val;
    return 1;
}

static const bytes_cb from_client = client_bytes, from_server = server_bytes;
static const char rdp_count = 1;

/* req.ssl_ver and its old name. */
#define VER_ROW(n)                                                             \
    {                                                                          \
        .name = n, .fn = fetch_ssl_ver, .out = SMP_T_SINT,                     \
        .use = SMP_AVAIL_CONN, .match_method = PAT_MATCH_INT,                  \
        .ver_patterns = 1                                                      \
    }
/* req.payload_lv, res.payload_lv. */
#define LV_ROW(n, p, u)                                                        \
    {                                                                          \
        .name = n, .fn = fetch_payload_lv, .args = "I,I,S?", .out = SMP_T_BIN, \
        .use = u, .priv = p, .match_method = PAT_MATCH_BIN,                    \
        .check = check_payload_lv                                              \
    }
/* The RDP cookie fetches and their old names. */
#define RDP_ROW(n, o, p, mm)                                                   \
    {                                                                          \
        .name = n, .fn = fetch_rdp_cookie, .args = "S?", .out = o,             \
        .use = SMP_AVAIL_CONN, .priv = p, .match_method = mm                   \
    }

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
    LV_ROW("req.payload_lv", &from_client, SMP_AVAIL_CONN),
    LV_ROW("res.payload_lv", &from_server, SMP_AVAIL_RES),
    VER_ROW("req.ssl_ver"),
    VER_ROW("req_ssl_ver"),
    RDP_ROW("req.rdp_cookie", SMP_T_STR, NULL, PAT_MATCH_STR),
    RDP_ROW("rdp_cookie", SMP_T_STR, NULL, PAT_MATCH_STR),
    RDP_ROW("req.rdp_cookie_cnt", SMP_T_SINT, &rdp_count, PAT_MATCH_INT),
    RDP_ROW("rdp_cookie_cnt", SMP_T_SINT, &rdp_count, PAT_MATCH_INT),
    {.name = NULL},
};

/* HAProxy's predefined ACLs over the fetches above. */
static const struct acl_default tcp_acl_defaults[] = {
    {"REQ_CONTENT", {"req.len", "gt", "0", NULL}},
    {"RDP_COOKIE", {"req.rdp_cookie_cnt", "gt", "0", NULL}},
    {NULL, {NULL}},
};

void tcp_fetch_init(void)
{
    sample_register_fetches(tcp_fetches);
    acl_register_defaults(tcp_acl_defaults);
}
