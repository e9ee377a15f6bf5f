/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* Unit tests for http/h1.c: request and response heads (every accepted form
 * and every rejection with its status), resumption at every split point with
 * the buffer moved between calls, the size and count limits, the list
 * helpers, and the chunked walker on valid, split and malformed bodies. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "core/errors.h"
#include "core/ist.h"
#include "http/h1.h"

Suite *suite_http_h1(void);

#define S(lit) lit, sizeof(lit) - 1

/* A request or response head and what parsing it must give. */
struct head_case {
    const char *in;
    size_t len;
    int rc;         /* RC_OK or RC_ERR */
    int status;     /* err_status when RC_ERR */
    unsigned flags; /* flags when RC_OK */
    uint64_t body_len;
    unsigned nb_hdrs;
};

static const struct head_case req_ok[] = {
    {S("GET / HTTP/1.1\r\nHost: a\r\n\r\n"), RC_OK, 0,
     H1_MF_VER_11 | H1_MF_HAS_HOST, 0, 1},
    {S("GET / HTTP/1.1\nHost: a\n\n"), RC_OK, 0, H1_MF_VER_11 | H1_MF_HAS_HOST,
     0, 1},
    {S("GET / HTTP/1.1\r\nHost: a\n\r\n"), RC_OK, 0,
     H1_MF_VER_11 | H1_MF_HAS_HOST, 0, 1},
    {S("\r\n\nGET / HTTP/1.0\r\n\r\n"), RC_OK, 0, 0, 0, 0},
    {S("GET /index.html HTTP/1.1\r\nHost: example.com\r\nUser-Agent: "
       "curl/7.88.1\r\nAccept: */*\r\n\r\n"),
     RC_OK, 0, H1_MF_VER_11 | H1_MF_HAS_HOST, 0, 3},
    {S("POST /f HTTP/1.1\r\nHost: a\r\nContent-Length: 12\r\n\r\n"), RC_OK, 0,
     H1_MF_VER_11 | H1_MF_HAS_HOST | H1_MF_CLEN, 12, 2},
    {S("POST /f HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n"
       "content-length:5\r\n\r\n"),
     RC_OK, 0, H1_MF_VER_11 | H1_MF_HAS_HOST | H1_MF_CLEN, 5, 3},
    {S("POST /f HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n"), RC_OK, 0,
     H1_MF_VER_11 | H1_MF_HAS_HOST | H1_MF_CLEN, 0, 2},
    {S("POST /f HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked \r\n\r\n"),
     RC_OK, 0, H1_MF_VER_11 | H1_MF_HAS_HOST | H1_MF_TE | H1_MF_CHUNKED, 0, 2},
    {S("POST /f HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: , chunked\r\n\r\n"),
     RC_OK, 0, H1_MF_VER_11 | H1_MF_HAS_HOST | H1_MF_TE | H1_MF_CHUNKED, 0, 2},
    {S("GET /ws HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, Upgrade\r\n"
       "Upgrade: websocket\r\nConnection: close\r\n\r\n"),
     RC_OK, 0,
     H1_MF_VER_11 | H1_MF_HAS_HOST | H1_MF_CONN_KEEPALIVE | H1_MF_CONN_UPGRADE |
         H1_MF_CONN_CLOSE,
     0, 4},
    {S("PUT /u HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\n"
       "Content-Length: 3\r\n\r\n"),
     RC_OK, 0, H1_MF_VER_11 | H1_MF_HAS_HOST | H1_MF_EXPECT_100 | H1_MF_CLEN, 3,
     3},
    {S("PUT /u HTTP/1.0\r\nExpect: 100-continue\r\n\r\n"), RC_OK, 0, 0, 0, 1},
    {S("GET http://Example.com:8080/p?q HTTP/1.1\r\n"
       "Host: example.COM:8080\r\n\r\n"),
     RC_OK, 0, H1_MF_VER_11 | H1_MF_HAS_HOST, 0, 1},
    {S("GET http://a?x HTTP/1.1\r\nHost: a\r\n\r\n"), RC_OK, 0,
     H1_MF_VER_11 | H1_MF_HAS_HOST, 0, 1},
    {S("GET https://a.b/ HTTP/1.0\r\n\r\n"), RC_OK, 0, 0, 0, 0},
    {S("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n"),
     RC_OK, 0, H1_MF_VER_11 | H1_MF_HAS_HOST, 0, 1},
    {S("CONNECT [::1]:443 HTTP/1.1\r\nHost: [::1]:443\r\n\r\n"), RC_OK, 0,
     H1_MF_VER_11 | H1_MF_HAS_HOST, 0, 1},
    {S("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n"), RC_OK, 0,
     H1_MF_VER_11 | H1_MF_HAS_HOST, 0, 1},
    {S("GET / HTTP/1.1\r\nHost: A.example\r\nhost: a.EXAMPLE\r\n\r\n"), RC_OK,
     0, H1_MF_VER_11 | H1_MF_HAS_HOST, 0, 2},
    {S("GET /caf\xc3\xa9 HTTP/1.1\r\nHost: a\r\nX-Obs: \xe9t\xe9\r\n"
       "X-Sp: \t a  b \t\r\nX-Empty:\r\nX-Blank:   \r\n\r\n"),
     RC_OK, 0, H1_MF_VER_11 | H1_MF_HAS_HOST, 0, 5},
    {S("M-SEARCH /x HTTP/1.1\r\nHost: a\r\n\r\n"), RC_OK, 0,
     H1_MF_VER_11 | H1_MF_HAS_HOST, 0, 1},
};

static const struct head_case req_bad[] = {
    /* framing */
    {S("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
       "Transfer-Encoding: chunked\r\n\r\n"),
     RC_ERR, 400, 0, 0, 0},
    {S("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
       "Content-Length: 6\r\n\r\n"),
     RC_ERR, 400, 0, 0, 0},
    {S("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 6\r\n\r\n"), RC_ERR,
     400, 0, 0, 0},
    {S("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\n"), RC_ERR, 400,
     0, 0, 0},
    {S("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -5\r\n\r\n"), RC_ERR, 400,
     0, 0, 0},
    {S("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5a\r\n\r\n"), RC_ERR, 400,
     0, 0, 0},
    {S("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x10\r\n\r\n"), RC_ERR,
     400, 0, 0, 0},
    {S("POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n"), RC_ERR, 400, 0,
     0, 0},
    {S("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5,\r\n\r\n"), RC_ERR, 400,
     0, 0, 0},
    {S("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1 2\r\n\r\n"), RC_ERR,
     400, 0, 0, 0},
    {S("POST / HTTP/1.1\r\nHost: a\r\n"
       "Content-Length: 18446744073709551617\r\n\r\n"),
     RC_ERR, 400, 0, 0, 0},
    {S("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"), RC_ERR, 400, 0,
     0, 0},
    {S("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n"
       "\r\n"),
     RC_ERR, 400, 0, 0, 0},
    {S("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
       "Transfer-Encoding: chunked\r\n\r\n"),
     RC_ERR, 400, 0, 0, 0},
    {S("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n"), RC_ERR,
     400, 0, 0, 0},
    {S("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n"
       "\r\n"),
     RC_ERR, 400, 0, 0, 0},
    {S("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked;q=1\r\n\r\n"),
     RC_ERR, 400, 0, 0, 0},
    {S("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\n\r\n"), RC_ERR, 400,
     0, 0, 0},
    {S("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n"
       "\r\n"),
     RC_ERR, 501, 0, 0, 0},
    {S("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: foo\r\n"
       "Transfer-Encoding: chunked\r\n\r\n"),
     RC_ERR, 501, 0, 0, 0},
    /* Host and authority */
    {S("GET / HTTP/1.1\r\n\r\n"), RC_ERR, 400, 0, 0, 0},
    {S("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"), RC_ERR, 400, 0, 0, 0},
    {S("GET / HTTP/1.1\r\nHost: a b\r\n\r\n"), RC_ERR, 400, 0, 0, 0},
    {S("GET / HTTP/1.1\r\nHost: a,b\r\n\r\n"), RC_ERR, 400, 0, 0, 0},
    {S("GET http://a/ HTTP/1.1\r\nHost: b\r\n\r\n"), RC_ERR, 400, 0, 0, 0},
    {S("GET http:///x HTTP/1.1\r\nHost: a\r\n\r\n"), RC_ERR, 400, 0, 0, 0},
    {S("GET http://u@a/ HTTP/1.1\r\nHost: a\r\n\r\n"), RC_ERR, 400, 0, 0, 0},
    /* target forms */
    {S("CONNECT / HTTP/1.1\r\nHost: a\r\n\r\n"), RC_ERR, 400, 0, 0, 0},
    {S("CONNECT a HTTP/1.1\r\nHost: a\r\n\r\n"), RC_ERR, 400, 0, 0, 0},
    {S("CONNECT a:b HTTP/1.1\r\nHost: a:b\r\n\r\n"), RC_ERR, 400, 0, 0, 0},
    {S("GET a:80 HTTP/1.1\r\nHost: a:80\r\n\r\n"), RC_ERR, 400, 0, 0, 0},
    {S("GET * HTTP/1.1\r\nHost: a\r\n\r\n"), RC_ERR, 400, 0, 0, 0},
    {S("GET foo HTTP/1.1\r\nHost: a\r\n\r\n"), RC_ERR, 400, 0, 0, 0},
    {S("GET /a\x01 HTTP/1.1\r\nHost: a\r\n\r\n"), RC_ERR, 400, 0, 0, 0},
    {S("GET /a\x7f HTTP/1.1\r\nHost: a\r\n\r\n"), RC_ERR, 400, 0, 0, 0},
    {S("GET /a\tb HTTP/1.1\r\nHost: a\r\n\r\n"), RC_ERR, 400, 0, 0, 0},
    {S("GET  / HTTP/1.1\r\nHost: a\r\n\r\n"), RC_ERR, 400, 0, 0, 0},
    /* method */
    {S("G(T / HTTP/1.1\r\nHost: a\r\n\r\n"), RC_ERR, 400, 0, 0, 0},
    {S(" GET / HTTP/1.1\r\nHost: a\r\n\r\n"), RC_ERR, 400, 0, 0, 0},
    {S("HTTP/1.1 200 OK\r\n\r\n"), RC_ERR, 400, 0, 0, 0},
    /* version */
    {S("GET / HTTP/2.0\r\nHost: a\r\n\r\n"), RC_ERR, 505, 0, 0, 0},
    {S("GET / HTTP/0.9\r\nHost: a\r\n\r\n"), RC_ERR, 505, 0, 0, 0},
    {S("GET / HTTP/1.2\r\nHost: a\r\n\r\n"), RC_ERR, 505, 0, 0, 0},
    {S("GET / http/1.1\r\nHost: a\r\n\r\n"), RC_ERR, 400, 0, 0, 0},
    {S("GET / HTTP/1.10\r\nHost: a\r\n\r\n"), RC_ERR, 400, 0, 0, 0},
    {S("GET / HTTP/1\r\nHost: a\r\n\r\n"), RC_ERR, 400, 0, 0, 0},
    {S("GET / HTTP/a.b\r\nHost: a\r\n\r\n"), RC_ERR, 400, 0, 0, 0},
    {S("GET /\r\n\r\n"), RC_ERR, 400, 0, 0, 0},
    {S("GET / HTTP/1.1 \r\nHost: a\r\n\r\n"), RC_ERR, 400, 0, 0, 0},
    /* header syntax */
    {S("GET / HTTP/1.1\r\nHost : a\r\n\r\n"), RC_ERR, 400, 0, 0, 0},
    {S("GET / HTTP/1.1\r\nHost\t: a\r\n\r\n"), RC_ERR, 400, 0, 0, 0},
    {S("GET / HTTP/1.1\r\nHost: a\r\nX-A b: c\r\n\r\n"), RC_ERR, 400, 0, 0, 0},
    {S("GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n"), RC_ERR, 400, 0, 0, 0},
    {S("GET / HTTP/1.1\r\nHost: a\r\n: v\r\n\r\n"), RC_ERR, 400, 0, 0, 0},
    {S("GET / HTTP/1.1\r\nHost: a\r\nX(: v\r\n\r\n"), RC_ERR, 400, 0, 0, 0},
    {S("GET / HTTP/1.1\r\nHost: a\r\nX\x01: v\r\n\r\n"), RC_ERR, 400, 0, 0, 0},
    {S("GET / HTTP/1.1\r\n Host: a\r\n\r\n"), RC_ERR, 400, 0, 0, 0},
    {S("GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n\tb\r\n\r\n"), RC_ERR, 400, 0, 0,
     0},
    {S("GET / HTTP/1.1\r\nHost: a\r\nX: a\x00z\r\n\r\n"), RC_ERR, 400, 0, 0, 0},
    {S("GET / HTTP/1.1\r\nHost: a\r\nX: a\rz\r\n\r\n"), RC_ERR, 400, 0, 0, 0},
    {S("GET / HTTP/1.1\r\nHost: a\r\nX: a\x7f\r\n\r\n"), RC_ERR, 400, 0, 0, 0},
    {S("GET / HTTP/1.1\r\nHost: a\r\nX: a\x1b[m\r\n\r\n"), RC_ERR, 400, 0, 0,
     0},
    {S("GET / HTTP/1.1\rHost: a\r\n\r\n"), RC_ERR, 400, 0, 0, 0},
    {S("GET / HTTP/1.1\r\nHost: a\r\n\r\r\n"), RC_ERR, 400, 0, 0, 0},
    {S("\rGET / HTTP/1.1\r\nHost: a\r\n\r\n"), RC_ERR, 400, 0, 0, 0},
};

static const struct head_case resp_cases[] = {
    {S("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"), RC_OK, 0,
     H1_MF_VER_11 | H1_MF_CLEN, 5, 1},
    {S("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"), RC_OK, 0,
     H1_MF_VER_11 | H1_MF_TE | H1_MF_CHUNKED, 0, 1},
    {S("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"), RC_OK, 0,
     H1_MF_VER_11 | H1_MF_TE | H1_MF_CHUNKED, 0, 1},
    {S("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n"), RC_OK, 0,
     H1_MF_VER_11 | H1_MF_TE | H1_MF_XFER_CLOSE, 0, 1},
    {S("HTTP/1.0 200 OK\r\nServer: x\r\n\r\n"), RC_OK, 0, H1_MF_XFER_CLOSE, 0,
     1},
    {S("HTTP/1.1 204\r\n\r\n"), RC_OK, 0, H1_MF_VER_11 | H1_MF_XFER_CLOSE, 0,
     0},
    {S("HTTP/1.1 304 Not Modified\nContent-Length: 10\n\n"), RC_OK, 0,
     H1_MF_VER_11 | H1_MF_CLEN, 10, 1},
    {S("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n"
       "Upgrade: websocket\r\n\r\n"),
     RC_OK, 0, H1_MF_VER_11 | H1_MF_CONN_UPGRADE | H1_MF_XFER_CLOSE, 0, 2},
    {S("HTTP/1.1 599 \xe9\t!\r\nConnection: close\r\n\r\n"), RC_OK, 0,
     H1_MF_VER_11 | H1_MF_CONN_CLOSE | H1_MF_XFER_CLOSE, 0, 1},
    {S("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n"
       "Transfer-Encoding: chunked\r\n\r\n"),
     RC_ERR, 502, 0, 0, 0},
    {S("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 7\r\n\r\n"),
     RC_ERR, 502, 0, 0, 0},
    {S("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n"),
     RC_ERR, 502, 0, 0, 0},
    {S("HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"), RC_ERR, 502, 0,
     0, 0},
    {S("HTTP/1.1 600 No\r\n\r\n"), RC_ERR, 502, 0, 0, 0},
    {S("HTTP/1.1 099 No\r\n\r\n"), RC_ERR, 502, 0, 0, 0},
    {S("HTTP/1.1 20 OK\r\n\r\n"), RC_ERR, 502, 0, 0, 0},
    {S("HTTP/1.1 2000 OK\r\n\r\n"), RC_ERR, 502, 0, 0, 0},
    {S("HTTP/1.1 2x0 OK\r\n\r\n"), RC_ERR, 502, 0, 0, 0},
    {S("HTTP/2.0 200 OK\r\n\r\n"), RC_ERR, 502, 0, 0, 0},
    {S("HTTP/1.1\r\n\r\n"), RC_ERR, 502, 0, 0, 0},
    {S("HTTP/1.1 200 O\x01K\r\n\r\n"), RC_ERR, 502, 0, 0, 0},
    {S("HTTP/1.1 200 OK\r\nX : y\r\n\r\n"), RC_ERR, 502, 0, 0, 0},
    {S("HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n"), RC_ERR, 502, 0, 0, 0},
};

#define NCASES(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* Returns a fresh heap copy of in[0, len) so that ASan sees any read past
 * <len> and any slice left pointing into an earlier copy. */
static char *dup_bytes(const char *in, size_t len)
{
    char *p = malloc(len ? len : 1);

    ck_assert_ptr_nonnull(p);
    memcpy(p, in, len);
    return p;
}

/* Parses <in> in one call on a heap copy kept in <*copy>. */
static int parse_once(struct h1_msg *m, int resp, const char *in, size_t len,
                      char **copy)
{
    *copy = dup_bytes(in, len);
    h1_msg_init(m, NULL);
    return resp ? h1_parse_response(m, *copy, len)
                : h1_parse_request(m, *copy, len);
}

/* Asserts that slice <s> of buffer <sb> and slice <t> of <tb> are the same
 * offset and length. */
static void same_slice(struct ist s, const char *sb, struct ist t,
                       const char *tb)
{
    ck_assert_uint_eq(s.len, t.len);
    if (s.len)
        ck_assert_int_eq(s.ptr - sb, t.ptr - tb);
}

/* Asserts that two parses of the same bytes gave the same result. */
static void same_result(const struct h1_msg *a, const char *ab, int arc,
                        const struct h1_msg *b, const char *bb, int brc)
{
    unsigned i;

    ck_assert_int_eq(arc, brc);
    if (arc == RC_ERR) {
        ck_assert_int_eq(a->err_status, b->err_status);
        ck_assert_uint_eq(a->err_pos, b->err_pos);
        ck_assert_str_eq(a->err_msg, b->err_msg);
        return;
    }
    ck_assert_uint_eq(a->head_len, b->head_len);
    ck_assert_uint_eq(a->flags, b->flags);
    ck_assert_uint_eq(a->body_len, b->body_len);
    ck_assert_int_eq(a->status, b->status);
    ck_assert_uint_eq(a->nb_hdrs, b->nb_hdrs);
    same_slice(a->method, ab, b->method, bb);
    same_slice(a->uri, ab, b->uri, bb);
    same_slice(a->version, ab, b->version, bb);
    same_slice(a->reason, ab, b->reason, bb);
    same_slice(a->authority, ab, b->authority, bb);
    for (i = 0; i < a->nb_hdrs; i++) {
        same_slice(a->hdrs[i].name, ab, b->hdrs[i].name, bb);
        same_slice(a->hdrs[i].value, ab, b->hdrs[i].value, bb);
    }
}

/* Checks a one-shot parse against the expectations of <c>. */
static void check_case(const struct head_case *c, int resp)
{
    struct h1_msg m;
    char *buf;
    int rc = parse_once(&m, resp, c->in, c->len, &buf);

    ck_assert_msg(rc == c->rc, "case \"%s\": rc %d (%s)", c->in, rc,
                  rc == RC_ERR ? m.err_msg : "");
    if (rc == RC_ERR) {
        ck_assert_int_eq(m.err_status, c->status);
        ck_assert_ptr_nonnull(m.err_msg);
        ck_assert_uint_le(m.err_pos, c->len);
    } else {
        ck_assert_msg(m.flags == (c->flags | (resp ? H1_MF_RESP : 0)),
                      "case \"%s\": flags %#x", c->in, m.flags);
        ck_assert_uint_eq(m.body_len, c->body_len);
        ck_assert_uint_eq(m.nb_hdrs, c->nb_hdrs);
        ck_assert_uint_eq(m.head_len, c->len);
    }
    free(buf);
}

/* Feeds <in> in two calls split at every offset, then one byte at a time,
 * each call on a new heap copy, and compares with the one-shot parse. */
static void check_splits(const char *in, size_t len, int resp)
{
    struct h1_msg ref, m;
    char *rb, *b1, *b2;
    int rrc = parse_once(&ref, resp, in, len, &rb), rc = RC_AGAIN;
    size_t k;

    for (k = 0; k <= len; k++) {
        h1_msg_init(&m, NULL);
        b1 = dup_bytes(in, k);
        rc = resp ? h1_parse_response(&m, b1, k) : h1_parse_request(&m, b1, k);
        free(b1);
        b2 = dup_bytes(in, len);
        rc = resp ? h1_parse_response(&m, b2, len)
                  : h1_parse_request(&m, b2, len);
        same_result(&ref, rb, rrc, &m, b2, rc);
        free(b2);
    }
    h1_msg_init(&m, NULL);
    for (k = 0, b2 = NULL; k <= len; k++) {
        free(b2);
        b2 = dup_bytes(in, k);
        rc = resp ? h1_parse_response(&m, b2, k) : h1_parse_request(&m, b2, k);
        if (k < len && rc == RC_AGAIN)
            continue;
        break;
    }
    same_result(&ref, rb, rrc, &m, b2, rc);
    free(b2);
    free(rb);
}

START_TEST(test_h1__plain_get)
{
    static const char in[] = "GET /index.html?q=1 HTTP/1.1\r\n"
                             "Host: www.example.com\r\n"
                             "User-Agent:  curl/8.0 \t\r\n"
                             "\r\n";
    struct h1_msg m;
    char *buf;

    ck_assert_int_eq(parse_once(&m, 0, in, sizeof(in) - 1, &buf), RC_OK);
    ck_assert(ist_eq(m.method, IST("GET")));
    ck_assert(ist_eq(m.uri, IST("/index.html?q=1")));
    ck_assert(ist_eq(m.version, IST("HTTP/1.1")));
    ck_assert_uint_eq(m.authority.len, 0);
    ck_assert_uint_eq(m.nb_hdrs, 2);
    ck_assert(ist_eq(m.hdrs[0].name, IST("Host")));
    ck_assert(ist_eq(m.hdrs[0].value, IST("www.example.com")));
    ck_assert(ist_eq(m.hdrs[1].name, IST("User-Agent")));
    ck_assert(ist_eq(m.hdrs[1].value, IST("curl/8.0")));
    ck_assert_uint_eq(m.head_len, sizeof(in) - 1);
    ck_assert_uint_eq(m.flags, H1_MF_VER_11 | H1_MF_HAS_HOST);
    ck_assert_int_eq(h1_msg_body_kind(&m), H1_BODY_NONE);
    ck_assert(m.method.ptr >= buf && m.method.ptr < buf + sizeof(in));
    free(buf);
}
END_TEST

START_TEST(test_h1__accepts_valid_requests)
{
    check_case(&req_ok[_i], 0);
}
END_TEST

START_TEST(test_h1__rejects_with_status)
{
    check_case(&req_bad[_i], 0);
}
END_TEST

START_TEST(test_h1__responses)
{
    check_case(&resp_cases[_i], 1);
}
END_TEST

START_TEST(test_h1__request_splits_match_one_shot)
{
    int n = NCASES(req_ok);
    const struct head_case *c = _i < n ? &req_ok[_i] : &req_bad[_i - n];

    check_splits(c->in, c->len, 0);
}
END_TEST

START_TEST(test_h1__response_splits_match_one_shot)
{
    check_splits(resp_cases[_i].in, resp_cases[_i].len, 1);
}
END_TEST

/* Parses a request that must succeed and returns its heap copy. */
static char *parse_ok(struct h1_msg *m, const char *in, size_t len)
{
    char *buf;
    int rc = parse_once(m, 0, in, len, &buf);

    ck_assert_msg(rc == RC_OK, "rc %d: %s", rc, m->err_msg);
    return buf;
}

START_TEST(test_h1__target_forms)
{
    struct h1_msg m;
    char *b;

    b = parse_ok(&m, S("GET http://Example.com:8080/p?q HTTP/1.1\r\n"
                       "Host: example.com:8080\r\n\r\n"));
    ck_assert(ist_eq(m.authority, IST("Example.com:8080")));
    ck_assert(ist_eq(m.uri, IST("http://Example.com:8080/p?q")));
    free(b);
    b = parse_ok(&m, S("CONNECT example.com:443 HTTP/1.1\r\n"
                       "Host: example.com:443\r\n\r\n"));
    ck_assert(ist_eq(m.authority, IST("example.com:443")));
    free(b);
    b = parse_ok(&m, S("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n"));
    ck_assert(ist_eq(m.uri, IST("*")));
    ck_assert_uint_eq(m.authority.len, 0);
    free(b);
    b = parse_ok(&m, S("\r\nGET / HTTP/1.0\r\n\r\n"));
    ck_assert(ist_eq(m.method, IST("GET")));
    ck_assert_uint_eq(m.head_len, 20);
    free(b);
}
END_TEST

START_TEST(test_h1__values_trimmed_and_kept)
{
    struct h1_msg m;
    char *b = parse_ok(&m, S("GET / HTTP/1.1\r\nHost: a\r\nX-Obs: \xe9t\xe9"
                             "\r\nX-Sp: \t a  b \t\r\nX-Empty:\r\n"
                             "X-Blank:   \n\n"));

    ck_assert(ist_eq(m.hdrs[1].value, IST("\xe9t\xe9")));
    ck_assert(ist_eq(m.hdrs[2].value, IST("a  b")));
    ck_assert(ist_eq(m.hdrs[3].name, IST("X-Empty")));
    ck_assert_uint_eq(m.hdrs[3].value.len, 0);
    ck_assert_uint_eq(m.hdrs[4].value.len, 0);
    free(b);
}
END_TEST

START_TEST(test_h1__body_kinds)
{
    struct h1_msg m;
    char *b;

    b = parse_ok(&m, S("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 7\r\n"
                       "\r\n"));
    ck_assert_int_eq(h1_msg_body_kind(&m), H1_BODY_CLEN);
    ck_assert_uint_eq(m.body_len, 7);
    free(b);
    b = parse_ok(&m, S("POST / HTTP/1.1\r\nHost: a\r\n"
                       "Transfer-Encoding: chunked\r\n\r\n"));
    ck_assert_int_eq(h1_msg_body_kind(&m), H1_BODY_CHUNKED);
    free(b);
}
END_TEST

START_TEST(test_h1__response_fields_and_body_kinds)
{
    static const struct {
        const char *in;
        int status, kind;
        const char *reason;
    } cases[] = {
        {"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", 200, H1_BODY_CLEN,
         "OK"},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", 200,
         H1_BODY_CHUNKED, "OK"},
        {"HTTP/1.0 200 OK\r\n\r\n", 200, H1_BODY_CLOSE, "OK"},
        {"HTTP/1.1 404 Not  Found\r\nTransfer-Encoding: gzip\r\n\r\n", 404,
         H1_BODY_CLOSE, "Not  Found"},
        {"HTTP/1.1 204\r\nContent-Length: 5\r\n\r\n", 204, H1_BODY_NONE, ""},
        {"HTTP/1.1 304 \r\nTransfer-Encoding: chunked\r\n\r\n", 304,
         H1_BODY_NONE, ""},
        {"HTTP/1.1 100 Continue\r\n\r\n", 100, H1_BODY_NONE, "Continue"},
    };
    struct h1_msg m;
    char *b;
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ck_assert_int_eq(
            parse_once(&m, 1, cases[i].in, strlen(cases[i].in), &b), RC_OK);
        ck_assert_int_eq(m.status, cases[i].status);
        ck_assert_int_eq(h1_msg_body_kind(&m), cases[i].kind);
        ck_assert(ist_eq(m.reason, ist_from(cases[i].reason)));
        ck_assert(ist_eq(m.version, IST("HTTP/1.1")) ||
                  ist_eq(m.version, IST("HTTP/1.0")));
        free(b);
    }
}
END_TEST

START_TEST(test_h1__error_positions)
{
    struct h1_msg m;
    char *b;

    ck_assert_int_eq(
        parse_once(&m, 0, S("GET / HTTP/1.1\r\nHost : a\r\n\r\n"), &b), RC_ERR);
    ck_assert_uint_eq(m.err_pos, 20);
    free(b);
    ck_assert_int_eq(parse_once(&m, 0, S("GET /a\x01 HTTP/1.1\r\n\r\n"), &b),
                     RC_ERR);
    ck_assert_uint_eq(m.err_pos, 6);
    free(b);
    /* a call after an error keeps failing */
    ck_assert_int_eq(h1_parse_request(&m, "GET / HTTP/1.1\r\n\r\n", 18),
                     RC_ERR);
    ck_assert_int_eq(m.err_status, 400);
}
END_TEST

START_TEST(test_h1__again_then_moved_buffer)
{
    static const char in[] = "GET /x HTTP/1.1\r\nHost: h\r\n\r\n";
    struct h1_msg m;
    char *b1 = dup_bytes(in, 10), *b2;

    h1_msg_init(&m, NULL);
    ck_assert_int_eq(h1_parse_request(&m, b1, 0), RC_AGAIN);
    ck_assert_int_eq(h1_parse_request(&m, b1, 10), RC_AGAIN);
    free(b1);
    b2 = dup_bytes(in, sizeof(in) - 1);
    ck_assert_int_eq(h1_parse_request(&m, b2, sizeof(in) - 1), RC_OK);
    ck_assert(ist_eq(m.uri, IST("/x")));
    ck_assert_ptr_eq(m.uri.ptr, b2 + 4);
    ck_assert_ptr_eq(m.hdrs[0].value.ptr, b2 + 23);
    /* after RC_OK, another call re-points the slices at the new buffer */
    b1 = dup_bytes(in, sizeof(in) - 1);
    free(b2);
    ck_assert_int_eq(h1_parse_request(&m, b1, sizeof(in) - 1), RC_OK);
    ck_assert_ptr_eq(m.uri.ptr, b1 + 4);
    free(b1);
}
END_TEST

START_TEST(test_h1__bytes_after_head_ignored)
{
    static const char in[] = "POST / HTTP/1.1\r\nHost: a\r\n"
                             "Content-Length: 3\r\n\r\nabcGET";
    struct h1_msg m;
    char *b = parse_ok(&m, in, sizeof(in) - 1);

    ck_assert_uint_eq(m.head_len, sizeof(in) - 1 - 6);
    free(b);
}
END_TEST

/* Builds "GET /aaa... HTTP/1.0\r\n" + <nhdr> headers "Xnnn: v\r\n" + an
 * optional Host + "\r\n", with the target padded to <target> bytes. */
static char *build_req(size_t target, unsigned nhdr, int host, size_t *len)
{
    size_t cap = target + 64 + nhdr * 16, n = 0;
    char *b = malloc(cap);
    unsigned i;

    ck_assert_ptr_nonnull(b);
    memcpy(b, "GET /", 5);
    n = 5;
    memset(b + n, 'a', target - 1);
    n += target - 1;
    memcpy(b + n, host ? " HTTP/1.1\r\n" : " HTTP/1.0\r\n", 11);
    n += 11;
    if (host) {
        memcpy(b + n, "Host: h\r\n", 9);
        n += 9;
    }
    for (i = 0; i < nhdr; i++)
        n += (size_t)snprintf(b + n, cap - n, "X%03u: v\r\n", i);
    memcpy(b + n, "\r\n", 2);
    *len = n + 2;
    return b;
}

/* Parses <b> with <lim> and returns rc, storing the status. */
static int parse_lim(const struct h1_limits *lim, const char *b, size_t len,
                     int *status)
{
    struct h1_msg m;
    int rc;

    h1_msg_init(&m, lim);
    rc = h1_parse_request(&m, b, len);
    *status = m.err_status;
    return rc;
}

START_TEST(test_h1__head_size_limit)
{
    struct h1_limits lim = {H1_DEFAULT_MAX_HEAD, H1_DEFAULT_MAX_HDRS};
    size_t len, base;
    int status;
    char *b = build_req(1, 0, 0, &base);

    free(b);
    /* whole head exactly at the limit: fine; one byte more: 431 */
    b = build_req(lim.max_head - base + 1, 0, 0, &len);
    ck_assert_uint_eq(len, lim.max_head);
    ck_assert_int_eq(parse_lim(&lim, b, len, &status), RC_OK);
    free(b);
    b = build_req(lim.max_head - base + 2, 0, 0, &len);
    ck_assert_int_eq(parse_lim(&lim, b, len, &status), RC_ERR);
    ck_assert_int_eq(status, 431);
    free(b);
    /* request line ending right at the limit: the rest is 431 */
    b = build_req(lim.max_head - base + 3, 0, 0, &len);
    ck_assert_int_eq(parse_lim(&lim, b, len, &status), RC_ERR);
    ck_assert_int_eq(status, 431);
    free(b);
    /* request line not over when the limit is reached: 414 */
    b = build_req(lim.max_head - base + 4, 0, 0, &len);
    ck_assert_int_eq(parse_lim(&lim, b, len, &status), RC_ERR);
    ck_assert_int_eq(status, 414);
    free(b);
    b = build_req(20000, 0, 0, &len);
    ck_assert_int_eq(parse_lim(&lim, b, lim.max_head - 1, &status), RC_AGAIN);
    ck_assert_int_eq(parse_lim(&lim, b, lim.max_head, &status), RC_ERR);
    ck_assert_int_eq(status, 414);
    free(b);
}
END_TEST

START_TEST(test_h1__header_count_limit)
{
    struct h1_limits lim = {H1_DEFAULT_MAX_HEAD, H1_DEFAULT_MAX_HDRS};
    struct h1_limits big = {H1_DEFAULT_MAX_HEAD, 1000};
    size_t len;
    int status;
    char *b = build_req(1, 100, 1, &len);

    ck_assert_int_eq(parse_lim(&lim, b, len, &status), RC_OK);
    free(b);
    b = build_req(1, 101, 1, &len);
    ck_assert_int_eq(parse_lim(&lim, b, len, &status), RC_ERR);
    ck_assert_int_eq(status, 431);
    free(b);
    /* the compile-time array caps a larger configured limit */
    b = build_req(1, H1_MAX_HDRS - 1, 1, &len);
    ck_assert_int_eq(parse_lim(&big, b, len, &status), RC_OK);
    free(b);
    b = build_req(1, H1_MAX_HDRS, 1, &len);
    ck_assert_int_eq(parse_lim(&big, b, len, &status), RC_ERR);
    ck_assert_int_eq(status, 431);
    free(b);
}
END_TEST

START_TEST(test_h1__hdr_find)
{
    struct h1_msg m;
    char *b = parse_ok(&m, S("GET / HTTP/1.1\r\nHost: a\r\nCookie: x\r\n"
                             "Accept: */*\r\ncookie: y\r\n\r\n"));

    ck_assert_int_eq(h1_hdr_find(&m, IST("COOKIE"), 0), 1);
    ck_assert_int_eq(h1_hdr_find(&m, IST("cookie"), 2), 3);
    ck_assert_int_eq(h1_hdr_find(&m, IST("cookie"), 4), -1);
    ck_assert_int_eq(h1_hdr_find(&m, IST("cooki"), 0), -1);
    ck_assert_int_eq(h1_hdr_find(&m, IST("host"), 0), 0);
    free(b);
}
END_TEST

START_TEST(test_h1__conn_tokens)
{
    struct ist v = IST(" keep-alive ,, X-Secret\t, Upgrade");

    ck_assert_int_eq(h1_conn_has_token(v, IST("x-secret")), 1);
    ck_assert_int_eq(h1_conn_has_token(v, IST("upgrade")), 1);
    ck_assert_int_eq(h1_conn_has_token(v, IST("Keep-Alive")), 1);
    ck_assert_int_eq(h1_conn_has_token(v, IST("close")), 0);
    ck_assert_int_eq(h1_conn_has_token(v, IST("X-Secre")), 0);
    ck_assert_int_eq(h1_conn_has_token(IST(""), IST("close")), 0);
}
END_TEST

START_TEST(test_h1__list_next)
{
    struct ist rest = IST(", a ,b\t,,  c d ,"), e;
    const char *want[] = {"a", "b", "c d"};
    int n = 0;

    while (h1_list_next(&rest, &e)) {
        ck_assert_int_lt(n, 3);
        ck_assert(ist_eq(e, ist_from(want[n])));
        n++;
    }
    ck_assert_int_eq(n, 3);
    ck_assert_uint_eq(rest.len, 0);
}
END_TEST

/* Result of walking a chunked body. */
struct walk {
    int rc;
    size_t used; /* bytes consumed in total */
    char data[256];
    size_t dlen;
    size_t framing; /* consumed bytes that were not payload */
};

/* Walks in[0, len) handing the walker <step> bytes at a time (the whole
 * rest when 0), each piece in a fresh heap copy. */
static struct walk walk_body(const char *in, size_t len, size_t step)
{
    struct walk w = {RC_AGAIN, 0, {0}, 0, 0};
    struct h1_chunked c;
    size_t avail = 0, used, off, dl;
    char *piece;

    h1_chunked_init(&c);
    while (w.rc == RC_AGAIN) {
        if (avail == 0) {
            if (w.used == len)
                break;
            avail = step && len - w.used > step ? step : len - w.used;
        }
        piece = dup_bytes(in + w.used, avail);
        w.rc = h1_chunked_parse(&c, piece, avail, &used, &off, &dl);
        ck_assert_uint_le(used, avail);
        ck_assert_uint_le(off + dl, used);
        ck_assert_uint_lt(w.dlen + dl, sizeof(w.data));
        memcpy(w.data + w.dlen, piece + off, dl);
        free(piece);
        w.dlen += dl;
        w.framing += used - dl;
        w.used += used;
        avail -= used;
        if (w.rc == RC_AGAIN && used == 0)
            ck_abort_msg("walker made no progress");
    }
    return w;
}

static const struct {
    const char *in;
    size_t len;
    int rc;
    const char *data; /* payload when RC_OK */
    size_t msg_len;   /* bytes belonging to the message when RC_OK */
} chunk_cases[] = {
    {S("5\r\nhello\r\n0\r\n\r\n"), RC_OK, "hello", 15},
    {S("5\r\nhello\r\n6\r\n world\r\n0\r\n\r\nGET / HTTP/1.1"), RC_OK,
     "hello world", 26},
    {S("A\r\n0123456789\r\na\r\nabcdefghij\r\n00\r\n\r\n"), RC_OK,
     "0123456789abcdefghij", 36},
    {S("3;name=val;x;q=\"a \\\" b\" ; y = z\r\nabc\r\n0;last\r\n\r\n"), RC_OK,
     "abc", 48},
    {S("3 ;e\r\nabc\r\n0\r\nExpires: never\r\nX-Sum: 1 2\r\n\r\n"), RC_OK,
     "abc", 44},
    {S("0000000000000003\r\nabc\r\n0\r\n\r\n"), RC_OK, "abc", 28},
    {S("0\r\n\r\n"), RC_OK, "", 5},
    /* malformed */
    {S("g\r\n"), RC_ERR, NULL, 0},
    {S("\r\n"), RC_ERR, NULL, 0},
    {S("-1\r\n"), RC_ERR, NULL, 0},
    {S("5\nhello\r\n0\r\n\r\n"), RC_ERR, NULL, 0},
    {S("5\r\nhelloX\r\n0\r\n\r\n"), RC_ERR, NULL, 0},
    {S("5\r\nhello\n0\r\n\r\n"), RC_ERR, NULL, 0},
    {S("5 \r\nhello\r\n0\r\n\r\n"), RC_ERR, NULL, 0},
    {S("5;\r\nhello\r\n"), RC_ERR, NULL, 0},
    {S("5;a b\r\nhello\r\n"), RC_ERR, NULL, 0},
    {S("5;a=\x01\r\n"), RC_ERR, NULL, 0},
    {S("5;a=\"x\r\n"), RC_ERR, NULL, 0},
    {S("5;a\nhello"), RC_ERR, NULL, 0},
    {S("4000000000000001\r\n"), RC_ERR, NULL, 0},
    {S("10000000000000000\r\n"), RC_ERR, NULL, 0},
    {S("00000000000000001\r\n"), RC_ERR, NULL, 0},
    {S("0\r\nX : y\r\n\r\n"), RC_ERR, NULL, 0},
    {S("0\r\n y\r\n\r\n"), RC_ERR, NULL, 0},
    {S("0\r\nX: a\x01\r\n\r\n"), RC_ERR, NULL, 0},
    {S("0\r\nX: y\n\r\n"), RC_ERR, NULL, 0},
    {S("0\r\n\n"), RC_ERR, NULL, 0},
    {S("0\r\n\r\r"), RC_ERR, NULL, 0},
};

START_TEST(test_h1__chunked_walk)
{
    size_t step, len = chunk_cases[_i].len;
    struct walk one = walk_body(chunk_cases[_i].in, len, 0), w;

    ck_assert_int_eq(one.rc, chunk_cases[_i].rc);
    if (one.rc == RC_OK) {
        ck_assert_uint_eq(one.used, chunk_cases[_i].msg_len);
        ck_assert_uint_eq(one.dlen, strlen(chunk_cases[_i].data));
        ck_assert_mem_eq(one.data, chunk_cases[_i].data, one.dlen);
        ck_assert_uint_eq(one.framing + one.dlen, one.used);
    }
    /* any split gives the same outcome */
    for (step = 1; step <= len; step++) {
        w = walk_body(chunk_cases[_i].in, len, step);
        ck_assert_int_eq(w.rc, one.rc);
        ck_assert_uint_eq(w.used, one.used);
        ck_assert_uint_eq(w.dlen, one.dlen);
        ck_assert_mem_eq(w.data, one.data, one.dlen);
    }
}
END_TEST

START_TEST(test_h1__chunked_stops_after_data)
{
    static const char in[] = "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
    struct h1_chunked c;
    size_t used, off, dl;

    h1_chunked_init(&c);
    ck_assert_int_eq(h1_chunked_parse(&c, in, sizeof(in) - 1, &used, &off, &dl),
                     RC_AGAIN);
    ck_assert_uint_eq(off, 3);
    ck_assert_uint_eq(dl, 3);
    ck_assert_uint_eq(used, 6);
    ck_assert_int_eq(h1_chunked_parse(&c, in + 6, 1, &used, &off, &dl),
                     RC_AGAIN);
    ck_assert_uint_eq(used, 1);
    ck_assert_uint_eq(dl, 0);
    ck_assert_uint_eq(off, 1);
    /* a chunk's data may arrive in pieces */
    h1_chunked_init(&c);
    ck_assert_int_eq(h1_chunked_parse(&c, in, 4, &used, &off, &dl), RC_AGAIN);
    ck_assert_uint_eq(off, 3);
    ck_assert_uint_eq(dl, 1);
    ck_assert_int_eq(h1_chunked_parse(&c, in + 4, 2, &used, &off, &dl),
                     RC_AGAIN);
    ck_assert_uint_eq(off, 0);
    ck_assert_uint_eq(dl, 2);
}
END_TEST

START_TEST(test_h1__chunked_limits)
{
    static const char max[] = "4000000000000000\r\n";
    struct h1_chunked c;
    size_t used, off, dl, i;
    char ext[H1_CHUNK_MAX_EXT + 16];

    /* 2^62 is the largest chunk size accepted */
    h1_chunked_init(&c);
    ck_assert_int_eq(
        h1_chunked_parse(&c, max, sizeof(max) - 1, &used, &off, &dl), RC_AGAIN);
    ck_assert_uint_eq(c.size, (uint64_t)1 << 62);
    /* extensions: 4096 bytes in all, counting from the first ';' */
    ext[0] = '1';
    ext[1] = ';';
    for (i = 2; i < H1_CHUNK_MAX_EXT + 1; i++)
        ext[i] = 'e';
    memcpy(ext + i, "\r\n", 2);
    h1_chunked_init(&c);
    ck_assert_int_eq(h1_chunked_parse(&c, ext, i + 2, &used, &off, &dl),
                     RC_AGAIN);
    ext[i] = 'e';
    memcpy(ext + i + 1, "\r\n", 2);
    h1_chunked_init(&c);
    ck_assert_int_eq(h1_chunked_parse(&c, ext, i + 3, &used, &off, &dl),
                     RC_ERR);
    ck_assert_str_eq(c.err_msg, "chunk extensions too long");
}
END_TEST

Suite *suite_http_h1(void)
{
    Suite *s = suite_create("http_h1");
    TCase *tc;
    int nreq = NCASES(req_ok) + NCASES(req_bad);

    tc = tcase_create("h1_parse_request");
    tcase_add_test(tc, test_h1__plain_get);
    tcase_add_loop_test(tc, test_h1__accepts_valid_requests, 0, NCASES(req_ok));
    tcase_add_loop_test(tc, test_h1__rejects_with_status, 0, NCASES(req_bad));
    tcase_add_loop_test(tc, test_h1__request_splits_match_one_shot, 0, nreq);
    tcase_add_test(tc, test_h1__target_forms);
    tcase_add_test(tc, test_h1__values_trimmed_and_kept);
    tcase_add_test(tc, test_h1__error_positions);
    tcase_add_test(tc, test_h1__again_then_moved_buffer);
    tcase_add_test(tc, test_h1__bytes_after_head_ignored);
    tcase_add_test(tc, test_h1__head_size_limit);
    tcase_add_test(tc, test_h1__header_count_limit);
    suite_add_tcase(s, tc);

    tc = tcase_create("h1_parse_response");
    tcase_add_loop_test(tc, test_h1__responses, 0, NCASES(resp_cases));
    tcase_add_loop_test(tc, test_h1__response_splits_match_one_shot, 0,
                        NCASES(resp_cases));
    tcase_add_test(tc, test_h1__response_fields_and_body_kinds);
    suite_add_tcase(s, tc);

    tc = tcase_create("h1_msg_body_kind");
    tcase_add_test(tc, test_h1__body_kinds);
    suite_add_tcase(s, tc);

    tc = tcase_create("h1_hdr_find");
    tcase_add_test(tc, test_h1__hdr_find);
    suite_add_tcase(s, tc);

    tc = tcase_create("h1_conn_has_token");
    tcase_add_test(tc, test_h1__conn_tokens);
    suite_add_tcase(s, tc);

    tc = tcase_create("h1_list_next");
    tcase_add_test(tc, test_h1__list_next);
    suite_add_tcase(s, tc);

    tc = tcase_create("h1_chunked_parse");
    tcase_add_loop_test(tc, test_h1__chunked_walk, 0, NCASES(chunk_cases));
    tcase_add_test(tc, test_h1__chunked_stops_after_data);
    tcase_add_test(tc, test_h1__chunked_limits);
    suite_add_tcase(s, tc);
    return s;
}
