/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* HTTP/1.x head parser, framing analysis and chunked walker. One table of
 * character classes drives every scan; the head parser is a byte state
 * machine over offsets (so the caller's buffer may move between calls), run
 * in tight per-state loops, and the framing rules applied after the empty
 * line are the strict ones that keep a proxy safe from request smuggling
 * (RFC 9112 sections 6.1 and 6.3). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/errors.h"
#include "core/ist.h"
#include "http/h1.h"

/* Character classes. */
#define C_TOKEN  0x01 /* tchar (RFC 9110 5.6.2) */
#define C_VCHAR  0x02 /* VCHAR / obs-text: header value and target bytes */
#define C_OWS    0x04 /* SP / HTAB */
#define C_DIGIT  0x08
#define C_HEX    0x10
#define C_QDTEXT 0x20 /* quoted-string text (RFC 9110 5.6.4) */

#define IS_ALNUM(c)                                                            \
    (((c) >= '0' && (c) <= '9') || ((c) >= 'A' && (c) <= 'Z') ||               \
     ((c) >= 'a' && (c) <= 'z'))
#define IS_TSYM(c)                                                             \
    ((c) == '!' || (c) == '#' || (c) == '$' || (c) == '%' || (c) == '&' ||     \
     (c) == '\'' || (c) == '*' || (c) == '+' || (c) == '-' || (c) == '.' ||    \
     (c) == '^' || (c) == '_' || (c) == '`' || (c) == '|' || (c) == '~')
#define IS_VCHAR(c) ((c) > 0x20 && (c) != 0x7f)
#define IS_HEX(c)                                                              \
    (((c) >= '0' && (c) <= '9') || ((c) >= 'A' && (c) <= 'F') ||               \
     ((c) >= 'a' && (c) <= 'f'))
#define CLS(c)                                                                 \
    ((IS_ALNUM(c) || IS_TSYM(c) ? C_TOKEN : 0) | (IS_VCHAR(c) ? C_VCHAR : 0) | \
     ((c) == ' ' || (c) == '\t' ? C_OWS : 0) |                                 \
     ((c) >= '0' && (c) <= '9' ? C_DIGIT : 0) | (IS_HEX(c) ? C_HEX : 0) |      \
     ((IS_VCHAR(c) && (c) != '"' && (c) != '\\') || (c) == ' ' || (c) == '\t'  \
          ? C_QDTEXT                                                           \
          : 0))
#define CLS4(c)  CLS(c), CLS((c) + 1), CLS((c) + 2), CLS((c) + 3)
#define CLS16(c) CLS4(c), CLS4((c) + 4), CLS4((c) + 8), CLS4((c) + 12)
#define CLS64(c) CLS16(c), CLS16((c) + 16), CLS16((c) + 32), CLS16((c) + 48)

static const unsigned char h1_cls[256] = {CLS64(0), CLS64(64), CLS64(128),
                                          CLS64(192)};

#define HAS(c, k) (h1_cls[(unsigned char)(c)] & (k))

/* Head parser states. Those before S_HDR_START are in the start line. */
enum {
    S_START,     /* before the start line; empty lines skipped */
    S_START_CR,  /* CR of an empty line before the start line */
    S_RQ_METH,   /* request method */
    S_RQ_URI,    /* request target */
    S_RQ_VER,    /* request version */
    S_RS_VER,    /* response version */
    S_RS_CODE,   /* status code */
    S_RS_REASON, /* reason phrase */
    S_SL_CR,     /* CR ending the start line */
    S_HDR_START, /* start of a header line or of the empty line */
    S_HDR_NAME,  /* field name */
    S_HDR_OWS,   /* OWS after the colon */
    S_HDR_VAL,   /* field value */
    S_HDR_CR,    /* CR ending a field line */
    S_END_CR,    /* CR of the empty line */
    S_DONE,
    S_ERR,
};

/* Enters the error state; responses always report 502 since the caller
 * answers its own client with a bad gateway. */
static int h1_fail(struct h1_msg *m, int status, const char *msg, size_t pos)
{
    m->state = S_ERR;
    m->err_status = (m->flags & H1_MF_RESP) ? 502 : status;
    m->err_msg = msg;
    m->err_pos = pos;
    return RC_ERR;
}

/* Builds the span [<from>, <to>). */
static struct h1_span h1_span(size_t from, size_t to)
{
    return (struct h1_span){(uint32_t)from, (uint32_t)(to - from)};
}

/* Turns a span into a slice of <buf>. */
static struct ist h1_ist(const char *buf, struct h1_span s)
{
    return (struct ist){buf + s.off, s.len};
}

void h1_msg_init(struct h1_msg *m, const struct h1_limits *lim)
{
    size_t max_head = lim ? lim->max_head : H1_DEFAULT_MAX_HEAD;
    unsigned max_hdrs = lim ? lim->max_hdrs : H1_DEFAULT_MAX_HDRS;

    /* The arrays are always written before they are read. */
    memset(m, 0, offsetof(struct h1_msg, hdrs));
    m->state = S_START;
    m->max_head = max_head > UINT32_MAX - 1 ? UINT32_MAX - 1 : max_head;
    m->max_hdrs = max_hdrs > H1_MAX_HDRS ? H1_MAX_HDRS : max_hdrs;
}

/* Checks an "HTTP/d.d" version: sets H1_MF_VER_11 and returns 0 for 1.0 and
 * 1.1, returns 505 for another well-formed version, 400 if malformed. */
static int h1_check_version(struct h1_msg *m, const unsigned char *v,
                            size_t len)
{
    if (len != 8 || memcmp(v, "HTTP/", 5) != 0 || !HAS(v[5], C_DIGIT) ||
        v[6] != '.' || !HAS(v[7], C_DIGIT))
        return 400;
    if (v[5] != '1' || (v[7] != '0' && v[7] != '1'))
        return 505;
    if (v[7] == '1')
        m->flags |= H1_MF_VER_11;
    return 0;
}

/* Returns 1 if the target starts with a URI scheme followed by "://" and
 * stores the offset just past the "//" in <*after>. */
static int h1_has_scheme(const unsigned char *t, size_t len, size_t *after)
{
    size_t i = 0;

    if (len == 0 || !((t[0] | 0x20) >= 'a' && (t[0] | 0x20) <= 'z'))
        return 0;
    while (i < len &&
           (IS_ALNUM(t[i]) || t[i] == '+' || t[i] == '-' || t[i] == '.'))
        i++;
    if (len - i < 3 || memcmp(t + i, "://", 3) != 0)
        return 0;
    *after = i + 3;
    return 1;
}

/* Checks an authority (host[:port], no userinfo); <need_port> for CONNECT's
 * authority-form. Returns 1 if acceptable. */
static int h1_valid_authority(const unsigned char *a, size_t len, int need_port)
{
    size_t colon = len, i;

    if (len == 0)
        return 0;
    for (i = 0; i < len; i++) {
        if (a[i] == '@' || a[i] == '/' || a[i] == '?' || a[i] == '#')
            return 0;
        if (a[i] == ':')
            colon = i;
    }
    if (!need_port)
        return 1;
    if (colon == 0 || colon + 1 >= len)
        return 0;
    for (i = colon + 1; i < len; i++)
        if (!HAS(a[i], C_DIGIT))
            return 0;
    return 1;
}

/* Classifies the request target by form and records the authority of the
 * absolute and authority forms. Returns 0 or a reason for a 400. */
static const char *h1_check_target(struct h1_msg *m, const unsigned char *b)
{
    const unsigned char *t = b + m->sl[1].off;
    size_t len = m->sl[1].len, a, e;
    struct ist meth = h1_ist((const char *)b, m->sl[0]);
    int connect = ist_eq(meth, IST("CONNECT"));

    if (connect) {
        if (!h1_valid_authority(t, len, 1))
            return "CONNECT needs an authority-form target";
        m->auth = m->sl[1];
        return NULL;
    }
    if (t[0] == '/')
        return NULL;
    if (len == 1 && t[0] == '*')
        return ist_eq(meth, IST("OPTIONS")) ? NULL
                                            : "asterisk-form needs OPTIONS";
    if (!h1_has_scheme(t, len, &a))
        return "invalid request target";
    for (e = a; e < len && t[e] != '/' && t[e] != '?' && t[e] != '#'; e++)
        ;
    if (!h1_valid_authority(t + a, e - a, 0))
        return "invalid authority in target";
    m->auth = h1_span(m->sl[1].off + a, m->sl[1].off + e);
    return NULL;
}

/* Validates a complete request line. Returns RC_OK or RC_ERR. */
static int h1_end_request_line(struct h1_msg *m, const unsigned char *b)
{
    const char *why;
    int st = h1_check_version(m, b + m->sl[2].off, m->sl[2].len);

    if (st)
        return h1_fail(m, st,
                       st == 505 ? "HTTP version not supported"
                                 : "invalid HTTP version",
                       m->sl[2].off);
    why = h1_check_target(m, b);
    if (why)
        return h1_fail(m, 400, why, m->sl[1].off);
    return RC_OK;
}

/* Validates a response's version and status code. Returns RC_OK or RC_ERR. */
static int h1_end_status_code(struct h1_msg *m, const unsigned char *b)
{
    const unsigned char *c = b + m->sl[1].off;

    if (h1_check_version(m, b + m->sl[0].off, m->sl[0].len))
        return h1_fail(m, 502, "invalid HTTP version", m->sl[0].off);
    if (m->sl[1].len != 3)
        return h1_fail(m, 502, "invalid status code", m->sl[1].off);
    m->status = (c[0] - '0') * 100 + (c[1] - '0') * 10 + (c[2] - '0');
    if (m->status < 100 || m->status > 599)
        return h1_fail(m, 502, "invalid status code", m->sl[1].off);
    return RC_OK;
}

/* Parses a strict Content-Length value: digits, or a comma list of identical
 * values. Returns RC_OK with the value in <*out>, or RC_ERR. */
static int h1_parse_clen(struct ist v, uint64_t *out)
{
    const char *p = v.ptr, *e = v.ptr + v.len, *s;
    uint64_t n, val = 0;
    int have = 0;

    for (;;) {
        for (n = 0, s = p; p < e && HAS(*p, C_DIGIT); p++) {
            if (n > (H1_MAX_BODY_LEN - (uint64_t)(*p - '0')) / 10)
                return RC_ERR;
            n = n * 10 + (uint64_t)(*p - '0');
        }
        if (p == s || (have && n != val))
            return RC_ERR;
        val = n;
        have = 1;
        while (p < e && HAS(*p, C_OWS))
            p++;
        if (p == e)
            break;
        if (*p++ != ',')
            return RC_ERR;
        while (p < e && HAS(*p, C_OWS))
            p++;
    }
    *out = val;
    return RC_OK;
}

int h1_list_next(struct ist *rest, struct ist *elem)
{
    const char *p = rest->ptr, *e = rest->ptr + rest->len, *s, *t;

    while (p < e && (*p == ',' || HAS(*p, C_OWS)))
        p++;
    if (p == e) {
        rest->ptr = e;
        rest->len = 0;
        return 0;
    }
    for (s = p; p < e && *p != ','; p++)
        ;
    for (t = p; t > s && HAS(t[-1], C_OWS); t--)
        ;
    elem->ptr = s;
    elem->len = (size_t)(t - s);
    rest->ptr = p;
    rest->len = (size_t)(e - p);
    return 1;
}

int h1_conn_has_token(struct ist value, struct ist token)
{
    struct ist elem;

    while (h1_list_next(&value, &elem))
        if (ist_ieq(elem, token))
            return 1;
    return 0;
}

int h1_hdr_find(const struct h1_msg *m, struct ist name, unsigned start)
{
    unsigned i;

    for (i = start; i < m->nb_hdrs; i++)
        if (ist_ieq(m->hdrs[i].name, name))
            return (int)i;
    return -1;
}

/* What the framing analysis gathers over all header fields. */
struct h1_framing {
    int te_chunked;    /* chunked seen in Transfer-Encoding */
    int te_last_chunk; /* last coding seen is chunked */
    int te_other;      /* a coding other than chunked seen */
    int te_hdr;        /* index of the first Transfer-Encoding, -1 if none */
    int clen_hdr;      /* index of the first Content-Length, -1 if none */
    struct ist host;
};

/* Adds one Transfer-Encoding field's codings. Returns NULL or the reason for
 * an error (the list is only final once every field has been seen). */
static const char *h1_add_te(struct h1_framing *f, struct ist v)
{
    struct ist elem;
    int any = 0;

    while (h1_list_next(&v, &elem)) {
        any = 1;
        if (ist_ieq(elem, IST("chunked"))) {
            if (f->te_chunked)
                return "chunked applied twice";
            f->te_chunked = 1;
            f->te_last_chunk = 1;
        } else {
            f->te_other = 1;
            f->te_last_chunk = 0;
        }
    }
    return any ? NULL : "empty Transfer-Encoding";
}

/* Records Connection tokens in the flags. */
static void h1_add_conn(struct h1_msg *m, struct ist v)
{
    struct ist elem;

    while (h1_list_next(&v, &elem)) {
        if (ist_ieq(elem, IST("close")))
            m->flags |= H1_MF_CONN_CLOSE;
        else if (ist_ieq(elem, IST("keep-alive")))
            m->flags |= H1_MF_CONN_KEEPALIVE;
        else if (ist_ieq(elem, IST("upgrade")))
            m->flags |= H1_MF_CONN_UPGRADE;
    }
}

/* Records the Host field: a second one must repeat the first, and neither may
 * hold whitespace or a comma (a list of hosts is ambiguous). */
static const char *h1_add_host(struct h1_msg *m, struct h1_framing *f,
                               struct ist v)
{
    size_t i;

    for (i = 0; i < v.len; i++)
        if (v.ptr[i] == ',' || HAS(v.ptr[i], C_OWS))
            return "invalid Host";
    if ((m->flags & H1_MF_HAS_HOST) && !ist_ieq(f->host, v))
        return "conflicting Host headers";
    m->flags |= H1_MF_HAS_HOST;
    f->host = v;
    return NULL;
}

/* Looks at one header field for framing; returns NULL or an error reason. */
static const char *h1_scan_field(struct h1_msg *m, struct h1_framing *f,
                                 unsigned i)
{
    struct ist n = m->hdrs[i].name, v = m->hdrs[i].value;
    uint64_t len;
    int req = !(m->flags & H1_MF_RESP);

    if (ist_ieq(n, IST("content-length"))) {
        if (h1_parse_clen(v, &len) != RC_OK)
            return "invalid Content-Length";
        if ((m->flags & H1_MF_CLEN) && len != m->body_len)
            return "conflicting Content-Length";
        if (f->clen_hdr < 0)
            f->clen_hdr = (int)i;
        m->flags |= H1_MF_CLEN;
        m->body_len = len;
    } else if (ist_ieq(n, IST("transfer-encoding"))) {
        if (f->te_hdr < 0)
            f->te_hdr = (int)i;
        m->flags |= H1_MF_TE;
        return h1_add_te(f, v);
    } else if (ist_ieq(n, IST("connection"))) {
        h1_add_conn(m, v);
    } else if (req && ist_ieq(n, IST("host"))) {
        return h1_add_host(m, f, v);
    } else if (req && ist_ieq(n, IST("expect"))) {
        if ((m->flags & H1_MF_VER_11) && ist_ieq(v, IST("100-continue")))
            m->flags |= H1_MF_EXPECT_100;
    }
    return NULL;
}

/* Offset of header <i>'s value, for err_pos. */
static size_t h1_val_pos(const struct h1_msg *m, int i)
{
    return i < 0 ? 0 : m->off[i][1].off;
}

/* Applies the Transfer-Encoding rules once every field is known. Returns
 * RC_OK or RC_ERR. */
static int h1_check_te(struct h1_msg *m, const struct h1_framing *f)
{
    size_t pos = h1_val_pos(m, f->te_hdr);
    int req = !(m->flags & H1_MF_RESP);

    if (!(m->flags & H1_MF_VER_11))
        return h1_fail(m, 400, "Transfer-Encoding in HTTP/1.0", pos);
    if (m->flags & H1_MF_CLEN)
        return h1_fail(m, 400, "both Content-Length and Transfer-Encoding",
                       pos);
    if (f->te_last_chunk) {
        if (req && f->te_other)
            return h1_fail(m, 501, "unsupported transfer coding", pos);
        m->flags |= H1_MF_CHUNKED;
        return RC_OK;
    }
    if (req)
        return h1_fail(m, 400, "chunked is not the final coding", pos);
    m->flags |= H1_MF_XFER_CLOSE;
    return RC_OK;
}

/* Framing analysis of a complete head (RFC 9112 6.3). Returns RC_OK or
 * RC_ERR. */
static int h1_analyse(struct h1_msg *m)
{
    struct h1_framing f = {0, 0, 0, -1, -1, {NULL, 0}};
    const char *why;
    unsigned i;

    for (i = 0; i < m->nb_hdrs; i++) {
        why = h1_scan_field(m, &f, i);
        if (why)
            return h1_fail(m, 400, why, m->off[i][1].off);
    }
    if ((m->flags & H1_MF_TE) && h1_check_te(m, &f) != RC_OK)
        return RC_ERR;
    if (m->flags & H1_MF_RESP) {
        if (!(m->flags & (H1_MF_TE | H1_MF_CLEN)))
            m->flags |= H1_MF_XFER_CLOSE;
        return RC_OK;
    }
    if ((m->flags & H1_MF_VER_11) && !(m->flags & H1_MF_HAS_HOST))
        return h1_fail(m, 400, "missing Host", m->sl[2].off);
    if (m->authority.len && (m->flags & H1_MF_HAS_HOST) &&
        !ist_ieq(m->authority, f.host))
        return h1_fail(m, 400, "Host differs from the target's authority",
                       m->sl[1].off);
    return RC_OK;
}

/* Points every result slice into <buf>. */
static void h1_fill(struct h1_msg *m, const char *buf)
{
    unsigned i;

    if (m->flags & H1_MF_RESP) {
        m->version = h1_ist(buf, m->sl[0]);
        m->reason = h1_ist(buf, m->sl[2]);
    } else {
        m->method = h1_ist(buf, m->sl[0]);
        m->uri = h1_ist(buf, m->sl[1]);
        m->version = h1_ist(buf, m->sl[2]);
    }
    m->authority = h1_ist(buf, m->auth);
    for (i = 0; i < m->nb_hdrs; i++) {
        m->hdrs[i].name = h1_ist(buf, m->off[i][0]);
        m->hdrs[i].value = h1_ist(buf, m->off[i][1]);
    }
}

/* The head parser's cursor while it runs; saved into the h1_msg between
 * calls. */
struct h1_cur {
    const unsigned char *b;
    size_t p;    /* next byte */
    size_t lim;  /* end of the bytes that may be examined */
    size_t tok;  /* start of the current token or value */
    size_t vend; /* end of the value's last non-OWS byte */
    int st;
};

/* Skips bytes of class <cls>, at most up to <max> bytes past the token's
 * start. Returns 1 if a byte stopped the run, 0 if the input ran out. */
static int h1_skip(struct h1_cur *k, unsigned cls, size_t max)
{
    while (k->p < k->lim && k->p - k->tok <= max && HAS(k->b[k->p], cls))
        k->p++;
    return k->p < k->lim;
}

/* Ends the start line or a field line at the CR or LF at b[p]. */
static int h1_end_line(struct h1_cur *k)
{
    k->st = k->b[k->p++] == '\r' ? S_SL_CR : S_HDR_START;
    return RC_AGAIN;
}

/* Returns 1 if <c> ends a line. */
static int h1_is_eol(unsigned char c)
{
    return c == '\r' || c == '\n';
}

/* Steps through the request line. */
static int h1_step_request_line(struct h1_msg *m, struct h1_cur *k)
{
    unsigned char c;

    if (k->st == S_RQ_METH) {
        if (!h1_skip(k, C_TOKEN, SIZE_MAX))
            return RC_AGAIN;
        if (k->b[k->p] != ' ' || k->p == k->tok)
            return h1_fail(m, 400, "invalid method", k->p);
        m->sl[0] = h1_span(k->tok, k->p);
        k->tok = ++k->p;
        k->st = S_RQ_URI;
        return RC_AGAIN;
    }
    if (k->st == S_RQ_URI) {
        if (!h1_skip(k, C_VCHAR, SIZE_MAX))
            return RC_AGAIN;
        c = k->b[k->p];
        if (c != ' ' || k->p == k->tok)
            return h1_fail(m, 400,
                           h1_is_eol(c) ? "missing HTTP version"
                                        : "invalid character in target",
                           k->p);
        m->sl[1] = h1_span(k->tok, k->p);
        k->tok = ++k->p;
        k->st = S_RQ_VER;
        return RC_AGAIN;
    }
    /* S_RQ_VER: "HTTP/1.1" is 8 bytes, stop scanning junk early */
    if (!h1_skip(k, C_VCHAR, 8) && k->p - k->tok <= 8)
        return RC_AGAIN;
    if (k->p - k->tok > 8 || !h1_is_eol(k->b[k->p]))
        return h1_fail(m, 400, "invalid HTTP version", k->p);
    m->sl[2] = h1_span(k->tok, k->p);
    if (h1_end_request_line(m, k->b) != RC_OK)
        return RC_ERR;
    return h1_end_line(k);
}

/* Steps through the status line. */
static int h1_step_status_line(struct h1_msg *m, struct h1_cur *k)
{
    unsigned char c;

    if (k->st == S_RS_VER) {
        if (!h1_skip(k, C_VCHAR, 8) && k->p - k->tok <= 8)
            return RC_AGAIN;
        if (k->p - k->tok > 8 || k->b[k->p] != ' ')
            return h1_fail(m, 502, "invalid status line", k->p);
        m->sl[0] = h1_span(k->tok, k->p);
        k->tok = ++k->p;
        k->st = S_RS_CODE;
        return RC_AGAIN;
    }
    if (k->st == S_RS_CODE) {
        if (!h1_skip(k, C_DIGIT, 3) && k->p - k->tok <= 3)
            return RC_AGAIN;
        c = k->p < k->lim ? k->b[k->p] : 0;
        if (k->p - k->tok > 3 || (c != ' ' && !h1_is_eol(c)))
            return h1_fail(m, 502, "invalid status code", k->p);
        m->sl[1] = h1_span(k->tok, k->p);
        if (h1_end_status_code(m, k->b) != RC_OK)
            return RC_ERR;
        /* the reason phrase may be missing, with or without its SP */
        m->sl[2] = h1_span(k->p, k->p);
        if (c != ' ')
            return h1_end_line(k);
        k->tok = ++k->p;
        k->st = S_RS_REASON;
        return RC_AGAIN;
    }
    /* S_RS_REASON */
    if (!h1_skip(k, C_VCHAR | C_OWS, SIZE_MAX))
        return RC_AGAIN;
    if (!h1_is_eol(k->b[k->p]))
        return h1_fail(m, 502, "invalid reason phrase", k->p);
    m->sl[2] = h1_span(k->tok, k->p);
    return h1_end_line(k);
}

/* Steps through the LF of a CRLF, and the empty lines before the start
 * line. */
static int h1_step_crlf(struct h1_msg *m, struct h1_cur *k)
{
    unsigned char c = k->b[k->p];

    if (k->st == S_START) {
        if (!h1_is_eol(c)) {
            k->tok = k->p;
            k->st = (m->flags & H1_MF_RESP) ? S_RS_VER : S_RQ_METH;
            return RC_AGAIN;
        }
        k->st = c == '\r' ? S_START_CR : S_START;
        k->p++;
        return RC_AGAIN;
    }
    if (c != '\n')
        return h1_fail(m, 400, "CR not followed by LF", k->p);
    k->p++;
    k->st = k->st == S_START_CR ? S_START
            : k->st == S_END_CR ? S_DONE
                                : S_HDR_START;
    return k->st == S_DONE ? RC_OK : RC_AGAIN;
}

/* Steps through a field value up to its line end, noting where its last
 * non-OWS byte is so that trailing OWS is left out. */
static int h1_step_value(struct h1_msg *m, struct h1_cur *k)
{
    const unsigned char *b = k->b;
    size_t p = k->p, vend = k->vend;
    unsigned char cls;

    for (; p < k->lim; p++) {
        cls = h1_cls[b[p]];
        if (cls & C_VCHAR)
            vend = p + 1;
        else if (!(cls & C_OWS))
            break;
    }
    k->p = p;
    k->vend = vend;
    if (p == k->lim)
        return RC_AGAIN;
    if (!h1_is_eol(b[p]))
        return h1_fail(m, 400, "invalid character in header value", p);
    m->off[m->nb_hdrs++][1] = h1_span(k->tok, vend);
    k->st = b[p] == '\r' ? S_HDR_CR : S_HDR_START;
    k->p++;
    return RC_AGAIN;
}

/* Steps through a header field line, or the empty line ending the head. */
static int h1_step_field(struct h1_msg *m, struct h1_cur *k)
{
    unsigned char c = k->b[k->p];

    switch (k->st) {
    case S_HDR_START:
        if (h1_is_eol(c)) {
            k->st = k->b[k->p++] == '\r' ? S_END_CR : S_DONE;
            return k->st == S_DONE ? RC_OK : RC_AGAIN;
        }
        if (HAS(c, C_OWS))
            return h1_fail(m, 400, "obsolete line folding", k->p);
        if (!HAS(c, C_TOKEN))
            return h1_fail(m, 400, "invalid header name", k->p);
        if (m->nb_hdrs >= m->max_hdrs)
            return h1_fail(m, 431, "too many headers", k->p);
        k->tok = k->p++;
        k->st = S_HDR_NAME;
        return RC_AGAIN;
    case S_HDR_NAME:
        if (!h1_skip(k, C_TOKEN, SIZE_MAX))
            return RC_AGAIN;
        c = k->b[k->p];
        if (c != ':')
            return h1_fail(m, 400,
                           HAS(c, C_OWS)  ? "whitespace before colon"
                           : h1_is_eol(c) ? "header line without colon"
                                          : "invalid header name",
                           k->p);
        m->off[m->nb_hdrs][0] = h1_span(k->tok, k->p++);
        k->st = S_HDR_OWS;
        return RC_AGAIN;
    case S_HDR_OWS:
        while (k->p < k->lim && HAS(k->b[k->p], C_OWS))
            k->p++;
        k->tok = k->vend = k->p;
        k->st = k->p < k->lim ? S_HDR_VAL : S_HDR_OWS;
        return RC_AGAIN;
    default: /* S_HDR_VAL */
        return h1_step_value(m, k);
    }
}

/* Hands the byte at the cursor to the step function of its state. */
static int h1_step(struct h1_msg *m, struct h1_cur *k)
{
    switch (k->st) {
    case S_RQ_METH:
    case S_RQ_URI:
    case S_RQ_VER:
        return h1_step_request_line(m, k);
    case S_RS_VER:
    case S_RS_CODE:
    case S_RS_REASON:
        return h1_step_status_line(m, k);
    case S_HDR_START:
    case S_HDR_NAME:
    case S_HDR_OWS:
    case S_HDR_VAL:
        return h1_step_field(m, k);
    default: /* S_START and the CR states */
        return h1_step_crlf(m, k);
    }
}

/* Runs the state machine over b[pos, lim). Returns RC_OK at the end of the
 * head, RC_AGAIN at <lim>, or RC_ERR (then the state is already S_ERR). */
static int h1_run(struct h1_msg *m, const unsigned char *b, size_t lim)
{
    struct h1_cur k = {b, m->pos, lim, m->tok, m->vend, m->state};
    int rc = RC_AGAIN;

    while (k.p < k.lim && rc == RC_AGAIN) {
        rc = h1_step(m, &k);
    }
    if (rc == RC_ERR)
        return RC_ERR;
    m->pos = (uint32_t)k.p;
    m->tok = (uint32_t)k.tok;
    m->vend = (uint32_t)k.vend;
    m->state = k.st;
    return rc;
}

/* Shared driver of the request and response parsers. */
static int h1_parse(struct h1_msg *m, const char *buf, size_t len)
{
    size_t lim = len < m->max_head ? len : m->max_head;
    int rc;

    if (m->state == S_ERR)
        return RC_ERR;
    if (m->state != S_DONE) {
        rc = h1_run(m, (const unsigned char *)buf, lim);
        if (rc == RC_ERR)
            return RC_ERR;
        if (rc == RC_AGAIN) {
            if (lim < m->max_head)
                return RC_AGAIN;
            return h1_fail(m, m->state < S_HDR_START ? 414 : 431,
                           m->state < S_HDR_START ? "request line too long"
                                                  : "header block too large",
                           lim);
        }
        m->head_len = m->pos;
        h1_fill(m, buf);
        if (h1_analyse(m) != RC_OK)
            return RC_ERR;
        return RC_OK;
    }
    h1_fill(m, buf);
    return RC_OK;
}

int h1_parse_request(struct h1_msg *m, const char *buf, size_t len)
{
    return h1_parse(m, buf, len);
}

int h1_parse_response(struct h1_msg *m, const char *buf, size_t len)
{
    m->flags |= H1_MF_RESP;
    return h1_parse(m, buf, len);
}

int h1_msg_body_kind(const struct h1_msg *m)
{
    if (m->flags & H1_MF_RESP) {
        if (m->status < 200 || m->status == 204 || m->status == 304)
            return H1_BODY_NONE;
        if (m->flags & H1_MF_XFER_CLOSE)
            return H1_BODY_CLOSE;
    }
    if (m->flags & H1_MF_CHUNKED)
        return H1_BODY_CHUNKED;
    if (m->flags & H1_MF_CLEN)
        return H1_BODY_CLEN;
    return H1_BODY_NONE;
}

/* Chunked walker states (RFC 9112 7.1). */
enum {
    CK_SIZE0,       /* first hex digit of a chunk size */
    CK_SIZE,        /* further hex digits */
    CK_SIZE_WS,     /* BWS after the size, before ';' */
    CK_EXT_NAME0,   /* BWS after ';', then a name */
    CK_EXT_NAME,    /* extension name */
    CK_EXT_NAME_WS, /* BWS after a name */
    CK_EXT_VAL0,    /* BWS after '=', then a value */
    CK_EXT_VAL,     /* token value */
    CK_EXT_QS,      /* quoted-string value */
    CK_EXT_QP,      /* after a backslash in a quoted string */
    CK_EXT_VAL_WS,  /* BWS after a value */
    CK_SIZE_LF,     /* LF ending the size line */
    CK_DATA,        /* chunk data */
    CK_DATA_CR,     /* CR after the data */
    CK_DATA_LF,     /* LF after the data */
    CK_TRL_START,   /* start of a trailer line or of the final empty line */
    CK_TRL_NAME,    /* trailer field name */
    CK_TRL_VAL,     /* trailer field value */
    CK_TRL_LF,      /* LF ending a trailer line */
    CK_END_LF,      /* LF of the final empty line */
    CK_DONE,
    CK_ERR,
};

void h1_chunked_init(struct h1_chunked *c)
{
    memset(c, 0, sizeof(*c));
    c->state = CK_SIZE0;
}

static const char h1_bad_ext[] = "invalid chunk extension";

/* Enters the walker's error state. */
static int h1_chunk_fail(struct h1_chunked *c, const char *msg)
{
    c->err_msg = msg;
    return CK_ERR;
}

/* Adds one hex digit to the chunk size. Returns the next state. */
static int h1_chunk_digit(struct h1_chunked *c, unsigned char ch)
{
    unsigned d = HAS(ch, C_DIGIT) ? ch - '0' : (ch | 0x20) - 'a' + 10;

    if (++c->digits > 16)
        return h1_chunk_fail(c, "chunk size too long");
    if (c->size > (H1_MAX_BODY_LEN - d) / 16)
        return h1_chunk_fail(c, "chunk size overflow");
    c->size = c->size * 16 + d;
    return CK_SIZE;
}

/* One byte of chunk extension (BWS ";" BWS name [BWS "=" BWS value]).
 * Returns the next state. */
static int h1_chunk_ext(struct h1_chunked *c, unsigned char ch)
{
    int st = c->state;

    if (ch != '\r' && ++c->ext_len > H1_CHUNK_MAX_EXT)
        return h1_chunk_fail(c, "chunk extensions too long");
    if (st == CK_EXT_QS)
        return ch == '"'           ? CK_EXT_VAL_WS
               : ch == '\\'        ? CK_EXT_QP
               : HAS(ch, C_QDTEXT) ? CK_EXT_QS
                                   : h1_chunk_fail(c, h1_bad_ext);
    if (st == CK_EXT_QP)
        return HAS(ch, C_VCHAR | C_OWS) ? CK_EXT_QS
                                        : h1_chunk_fail(c, h1_bad_ext);
    if ((st == CK_EXT_NAME || st == CK_EXT_VAL) && HAS(ch, C_TOKEN))
        return st;
    if (HAS(ch, C_OWS))
        return st == CK_EXT_NAME  ? CK_EXT_NAME_WS
               : st == CK_EXT_VAL ? CK_EXT_VAL_WS
                                  : st;
    if (st == CK_EXT_NAME0)
        return HAS(ch, C_TOKEN) ? CK_EXT_NAME : h1_chunk_fail(c, h1_bad_ext);
    if (st == CK_EXT_VAL0)
        return ch == '"'          ? CK_EXT_QS
               : HAS(ch, C_TOKEN) ? CK_EXT_VAL
                                  : h1_chunk_fail(c, h1_bad_ext);
    if ((st == CK_EXT_NAME || st == CK_EXT_NAME_WS) && ch == '=')
        return CK_EXT_VAL0;
    /* Left: after the size, a name or a value, where ';' starts another
     * extension and CR ends the line (not right after the size's BWS). */
    if (ch == ';')
        return CK_EXT_NAME0;
    if (ch == '\r' && st != CK_SIZE_WS)
        return CK_SIZE_LF;
    return h1_chunk_fail(c, h1_bad_ext);
}

/* One byte of the trailer section. Returns the next state. */
static int h1_chunk_trailer(struct h1_chunked *c, unsigned char ch)
{
    if (++c->trl_len > H1_CHUNK_MAX_TRAILERS)
        return h1_chunk_fail(c, "trailers too large");
    switch (c->state) {
    case CK_TRL_START:
        if (ch == '\r')
            return CK_END_LF;
        return HAS(ch, C_TOKEN) ? CK_TRL_NAME
                                : h1_chunk_fail(c, "invalid trailer");
    case CK_TRL_NAME:
        if (ch == ':')
            return CK_TRL_VAL;
        return HAS(ch, C_TOKEN) ? CK_TRL_NAME
                                : h1_chunk_fail(c, "invalid trailer");
    default: /* CK_TRL_VAL */
        if (ch == '\r')
            return CK_TRL_LF;
        return HAS(ch, C_VCHAR | C_OWS) ? CK_TRL_VAL
                                        : h1_chunk_fail(c, "invalid trailer");
    }
}

/* Returns the state after framing byte <ch>, or CK_ERR. */
static int h1_chunk_step(struct h1_chunked *c, unsigned char ch)
{
    switch (c->state) {
    case CK_SIZE0:
        if (!HAS(ch, C_HEX))
            return h1_chunk_fail(c, "invalid chunk size");
        return h1_chunk_digit(c, ch);
    case CK_SIZE:
        if (HAS(ch, C_HEX))
            return h1_chunk_digit(c, ch);
        if (ch == '\r')
            return CK_SIZE_LF;
        if (ch != ';' && !HAS(ch, C_OWS))
            return h1_chunk_fail(c, "invalid chunk size");
        c->state = CK_SIZE_WS;
        return h1_chunk_ext(c, ch);
    case CK_SIZE_LF:
        if (ch != '\n')
            return h1_chunk_fail(c, "chunk size line not ended by CRLF");
        c->digits = 0;
        return c->size ? CK_DATA : CK_TRL_START;
    case CK_DATA_CR:
    case CK_DATA_LF:
        if (ch != (c->state == CK_DATA_CR ? '\r' : '\n'))
            return h1_chunk_fail(c, "chunk data not followed by CRLF");
        return c->state == CK_DATA_CR ? CK_DATA_LF : CK_SIZE0;
    case CK_TRL_LF:
    case CK_END_LF:
        if (ch != '\n')
            return h1_chunk_fail(c, "trailer line not ended by CRLF");
        return c->state == CK_TRL_LF ? CK_TRL_START : CK_DONE;
    case CK_TRL_START:
    case CK_TRL_NAME:
    case CK_TRL_VAL:
        return h1_chunk_trailer(c, ch);
    default: /* CK_SIZE_WS and CK_EXT_* */
        return h1_chunk_ext(c, ch);
    }
}

int h1_chunked_parse(struct h1_chunked *c, const char *buf, size_t len,
                     size_t *consumed, size_t *data_off, size_t *data_len)
{
    const unsigned char *b = (const unsigned char *)buf;
    size_t p = 0, n;

    *data_len = 0;
    while (p < len && c->state != CK_DONE && c->state != CK_ERR) {
        if (c->state == CK_DATA) {
            n = c->size < len - p ? (size_t)c->size : len - p;
            *data_off = p;
            *data_len = n;
            p += n;
            c->size -= n;
            if (c->size == 0)
                c->state = CK_DATA_CR;
            break;
        }
        c->state = h1_chunk_step(c, b[p]);
        if (c->state != CK_ERR)
            p++;
    }
    *consumed = p;
    if (*data_len == 0)
        *data_off = p;
    if (c->state == CK_ERR)
        return RC_ERR;
    return c->state == CK_DONE ? RC_OK : RC_AGAIN;
}
