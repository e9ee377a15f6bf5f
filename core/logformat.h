/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* Log-format strings (HAProxy's "log-format", section 8.2.6): parsed once
 * at configuration load into a compiled list of literals, separators,
 * "%tag" variables and "%[sample]" expressions, then rendered per stream
 * into a caller's buffer. Tags come from a registry of tables that each
 * layer fills (core: connection, stream and timers; http/: the request and
 * response), so core never knows what an HTTP tag means. Rendering follows
 * HAProxy byte for byte: '-' for a missing value, "%{+Q}" quotes, "%{+X}"
 * hex, "%{+E}" RFC 5424 escapes, merged spaces, '#XX' for bytes a log must
 * not carry. */
#ifndef LUAPROXY_CORE_LOGFORMAT_H
#define LUAPROXY_CORE_LOGFORMAT_H

#include <stddef.h>
#include <sys/socket.h>
#include <sys/time.h>

struct stream;
struct logformat;

/* Per-node options (HAProxy's LOG_OPT_*), set by "%{+F}" and "%o". */
#define LF_OPT_MANDATORY 0x01 /* a missing value prints '-' */
#define LF_OPT_QUOTE     0x02 /* strings between double quotes */
#define LF_OPT_HEXA      0x04 /* addresses, ports, counters in hex */
#define LF_OPT_ESC       0x08 /* escape '"', '\' and ']' with '\' */

/* Parse flags. */
#define LF_PARSE_MANDATORY    0x01 /* log lines: missing values print '-' */
#define LF_PARSE_MERGE_SPACES 0x10 /* spaces are merged separators */
#define LF_PARSE_HTTP         0x20 /* header values: %[] output %-encoded */
#define LF_PARSE_HTTP_MODE    0x40 /* the proxy is in mode http */
#define LF_PARSE_CONST                                                         \
    0x80 /* rendered without a stream (global                                  \
          * set-var-fmt): only tags that need                                  \
          * none, only constant expressions */
/* What "log-format" uses. */
#define LF_PARSE_LOG (LF_PARSE_MANDATORY | LF_PARSE_MERGE_SPACES)

/* The line being rendered. Writers stop at size - 1; <len> never exceeds
 * it and the buffer is always NUL-terminated. */
struct logformat_out {
    char *buf;
    size_t size;
    size_t len;
};

/* Appends the value of a tag for stream <s> to <out>, honouring the
 * LF_OPT_* bits of <opts>. Writing nothing at all leaves the next separator
 * out, as HAProxy does for "%hr" without captures. */
typedef void (*logformat_render_cb)(struct logformat_out *out, struct stream *s,
                                    unsigned opts);

/* What HAProxy encodes, and how: in URIs '"', '#', controls and 8-bit
 * bytes as "#XX"; in captured headers also '{', '|' and '}'; in header
 * values built from a format only controls, as "%XX". */
enum logformat_enc {
    LF_ENC_URL,
    LF_ENC_HDR,
    LF_ENC_HTTP,
};

struct logformat_tag {
    const char *name; /* without '%': "ci", "Tw", "HM" */
    logformat_render_cb render;
    int http_only; /* HAProxy's 'H' restriction: refused in mode tcp */
};

/* Registers a NULL-name terminated table (referenced, not copied); the
 * first table holding a name wins; registering a table twice is a no-op. */
void logformat_register_tags(const struct logformat_tag *tbl);
/* Forgets every table (end of process, tests). */
void logformat_registry_clear(void);
/* Registers core's own tags (core module init). */
void logformat_core_init(void);

/* Compiles <fmt> with LF_PARSE_* <flags>. Returns the format (free it with
 * logformat_free) or NULL with *<err> set in HAProxy's words ("no such
 * format variable 'x'..."). An empty string gives an empty format. */
struct logformat *logformat_parse(const char *fmt, unsigned flags, char **err);
void logformat_free(struct logformat *lf);
/* 1 if <lf> renders nothing at all (empty string). */
int logformat_is_empty(const struct logformat *lf);
/* Renders <lf> for <s> (may be NULL for tags that need no stream) into
 * <buf> of <size> bytes, NUL-terminated; returns the length written. */
size_t logformat_render(const struct logformat *lf, struct stream *s, char *buf,
                        size_t size);

/* ---- helpers for tag renderers */
void logformat_put_char(struct logformat_out *out, char c);
void logformat_put_mem(struct logformat_out *out, const char *s, size_t len);
/* A string value: quotes with LF_OPT_QUOTE, escapes with LF_OPT_ESC, '-'
 * when <s> is NULL or empty and LF_OPT_MANDATORY is set without QUOTE. */
void logformat_put_text(struct logformat_out *out, const char *s, size_t len,
                        unsigned opts);
/* Same, with the bytes <enc> forbids written as an escape character and
 * two hex digits (HAProxy's lf_encode_chunk). Quoting is left to the
 * caller. */
void logformat_put_encoded(struct logformat_out *out, const char *s, size_t len,
                           enum logformat_enc enc, unsigned opts);
void logformat_put_int(struct logformat_out *out, long long v);
/* An integer, or "%04X" of it with LF_OPT_HEXA. */
void logformat_put_counter(struct logformat_out *out, long long v,
                           unsigned opts);
/* An address as HAProxy prints it ("unix" for AF_UNIX); hex with
 * LF_OPT_HEXA. */
void logformat_put_addr(struct logformat_out *out, const struct sockaddr *sa,
                        unsigned opts);
/* The port of an inet address; hex with LF_OPT_HEXA. */
void logformat_put_port(struct logformat_out *out, const struct sockaddr *sa,
                        unsigned opts);
/* "26/Nov/2026:11:24:12.993" in local time (HAProxy's %t). */
void logformat_put_date_ms(struct logformat_out *out, const struct timeval *tv);
/* "26/Nov/2026:11:24:12 +0000", in GMT or local time (%T, %Tl). */
void logformat_put_date_zone(struct logformat_out *out, time_t t, int local);

#endif
