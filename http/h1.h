/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* Strict, resumable, zero-copy HTTP/1.x parsing: the request/response head
 * parser with its framing analysis (RFC 9110/9112, smuggling-safe rules), a
 * few list helpers for header values, and the chunked-framing walker used both
 * to forward a chunked body verbatim and to de-chunk it.
 *
 * Head parser contract. The caller calls h1_parse_request() (or
 * h1_parse_response()) each time bytes arrive, always passing every byte from
 * the start of the head; the buffer may have moved since the previous call
 * (an evbuffer pull-up) and may have grown. The parser keeps only offsets, so
 * it resumes where it stopped and total work is O(head length). Only on RC_OK
 * are the struct ist slices filled; they point into the <buf> of that call and
 * die with it. A call after RC_OK refills the slices for the new <buf>; a call
 * after RC_ERR returns RC_ERR again. Nothing is allocated. */
#ifndef LUAPROXY_HTTP_H1_H
#define LUAPROXY_HTTP_H1_H

#include <stddef.h>
#include <stdint.h>

#include "core/ist.h"

/* Compile-time capacity of the header array; h1_limits.max_hdrs may only
 * lower it. */
#define H1_MAX_HDRS 128
/* Defaults matching HAProxy's tune.bufsize - tune.maxrewrite and
 * tune.http.maxhdr. */
#define H1_DEFAULT_MAX_HEAD (16384 - 1024)
#define H1_DEFAULT_MAX_HDRS 101
/* Largest accepted Content-Length value and chunk size (2^62). */
#define H1_MAX_BODY_LEN ((uint64_t)1 << 62)
/* Bounds on chunk extensions and trailers over one chunked body. */
#define H1_CHUNK_MAX_EXT      4096
#define H1_CHUNK_MAX_TRAILERS 16384

struct h1_limits {
    size_t max_head;   /* longest head in bytes, empty line included */
    unsigned max_hdrs; /* most header fields (capped at H1_MAX_HDRS) */
};

/* m->flags, set when the head is complete. They describe the headers seen;
 * h1_msg_body_kind() says how the body is delimited. */
#define H1_MF_CLEN           0x0001 /* valid Content-Length, in body_len */
#define H1_MF_CHUNKED        0x0002 /* body is chunked (final coding) */
#define H1_MF_CONN_CLOSE     0x0004 /* Connection: close */
#define H1_MF_CONN_KEEPALIVE 0x0008 /* Connection: keep-alive */
#define H1_MF_CONN_UPGRADE   0x0010 /* Connection: upgrade */
#define H1_MF_EXPECT_100     0x0020 /* HTTP/1.1 request, Expect: 100-continue */
#define H1_MF_HAS_HOST       0x0040 /* request has a Host header */
#define H1_MF_VER_11         0x0080 /* version is HTTP/1.1 (else 1.0) */
#define H1_MF_XFER_CLOSE     0x0100 /* response body ends at close */
#define H1_MF_TE             0x0200 /* a Transfer-Encoding header is present */
#define H1_MF_RESP           0x0400 /* message is a response */

/* How the body following a complete head is delimited. */
enum h1_body_kind {
    H1_BODY_NONE,    /* no body at all */
    H1_BODY_CLEN,    /* exactly body_len bytes (may be 0) */
    H1_BODY_CHUNKED, /* walk it with h1_chunked_parse() */
    H1_BODY_CLOSE,   /* response: everything until the server closes */
};

struct h1_hdr {
    struct ist name;  /* as received (case kept) */
    struct ist value; /* leading and trailing OWS trimmed */
};

/* Offset/length of a slice while the buffer may still move. */
struct h1_span {
    uint32_t off;
    uint32_t len;
};

struct h1_msg {
    /* Results, valid after RC_OK. Request: method, uri, version and, for
     * absolute-form or authority-form targets, authority (host[:port] taken
     * from the target, else empty). Response: version, status, reason. */
    struct ist method;
    struct ist uri;
    struct ist version;
    struct ist reason;
    struct ist authority;
    int status;
    unsigned flags;    /* H1_MF_* */
    uint64_t body_len; /* Content-Length when H1_MF_CLEN */
    size_t head_len;   /* bytes of the head, empty line included */
    unsigned nb_hdrs;  /* entries used in hdrs[] */

    /* Set on RC_ERR: status to answer (always 502 for a response, which the
     * caller reports as a bad gateway), static reason, offending offset. */
    int err_status;
    const char *err_msg;
    size_t err_pos;

    /* Private parse state: offsets only, so that <buf> may move. */
    uint32_t max_head;
    unsigned max_hdrs;
    uint32_t pos;  /* next byte to examine */
    uint32_t tok;  /* start of the current token/value */
    uint32_t vend; /* end of the value's last non-OWS byte */
    int state;
    struct h1_span sl[3]; /* start-line parts */
    struct h1_span auth;  /* authority inside the target */

    /* Arrays last: h1_msg_init() need not clear them. */
    struct h1_hdr hdrs[H1_MAX_HDRS];
    struct h1_span off[H1_MAX_HDRS][2]; /* name and value of each field */
};

/* Chunked walker state; see h1_chunked_parse(). */
struct h1_chunked {
    int state;
    unsigned digits; /* hex digits in the current size */
    uint64_t size;   /* bytes of chunk data still to come */
    size_t ext_len;  /* extension bytes seen over the whole body */
    size_t trl_len;  /* trailer bytes seen */
    const char *err_msg;
};

/* Prepares <m> for a new head; <lim> may be NULL for the defaults. */
void h1_msg_init(struct h1_msg *m, const struct h1_limits *lim);
/* Parses a request head; RC_OK, RC_AGAIN or RC_ERR (see the file comment). */
int h1_parse_request(struct h1_msg *m, const char *buf, size_t len);
/* Parses a response head; same contract, err_status is always 502. */
int h1_parse_response(struct h1_msg *m, const char *buf, size_t len);
/* Returns the enum h1_body_kind of a complete head. A response to HEAD and a
 * 2xx response to CONNECT have no body: the caller, which knows the request,
 * checks that first. */
int h1_msg_body_kind(const struct h1_msg *m);
/* Returns the index of the first header at or after <start> named <name>
 * (ASCII case-insensitive), or -1. */
int h1_hdr_find(const struct h1_msg *m, struct ist name, unsigned start);

/* Walks a comma-separated header list: stores the next non-empty element,
 * OWS-trimmed, in <elem>, advances <rest> past it and returns 1; returns 0 at
 * the end. Loop with while (h1_list_next(&rest, &elem)). */
int h1_list_next(struct ist *rest, struct ist *elem);
/* Returns 1 if the list <value> (e.g. a Connection header) holds <token>,
 * compared ASCII case-insensitively. Any token of Connection other than
 * close/keep-alive/upgrade names a hop-by-hop header to remove. */
int h1_conn_has_token(struct ist value, struct ist token);

/* Prepares <c> for a new chunked body. */
void h1_chunked_init(struct h1_chunked *c);
/* Walks the chunked body bytes in <buf>, which start where the previous call
 * stopped; earlier bytes are never needed again. On return <*consumed> bytes
 * of <buf> were used: bytes [0, *data_off) and any after the data are
 * framing, and [*data_off, *data_off + *data_len) is payload (data_len may be
 * 0). The walk stops after each payload range, so a caller that forwards
 * loops until all its bytes are consumed. Returns RC_OK when the last chunk
 * and the trailers are over (*consumed is where the message ends), RC_AGAIN
 * when not yet (call again with buf + *consumed if bytes remain, else when
 * more arrive), RC_ERR on malformed framing (c->err_msg says why). Lines must
 * end in CRLF: a bare LF here is a known request-smuggling vector. */
int h1_chunked_parse(struct h1_chunked *c, const char *buf, size_t len,
                     size_t *consumed, size_t *data_off, size_t *data_len);

#endif
