/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* Protocol health checks: the options naming a predefined tcp-check
 * sequence (HAProxy's redis-check, smtpchk, mysql-check, pgsql-check,
 * ldap-check, ssl-hello-chk and spop-check). One table row per option gives its
 * argument parser and its steps: bytes to send, built from the arguments,
 * and verdicts that read the answer as the protocol defines it and give
 * HAProxy's reasons ("Layer7 wrong status, code: 554, info: ..."). The
 * sequence runs on core/check.c's tcp-check machinery. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cfgparse.h"
#include "core/check.h"
#include "core/check_proto.h"
#include "core/errors.h"
#include "core/util.h"

/* The arguments of a protocol option. */
struct proto_args {
    const char *user; /* mysql-check, pgsql-check: NULL for none */
    const char *verb; /* smtpchk: "HELO" or "EHLO" */
    const char *domain;
    int pre41; /* mysql-check: the pre-4.1 client handshake */
};

/* One step of a protocol: a send of <lit> or of what <build> returns (a
 * string the caller frees), else an expect judged by <verdict>; a step
 * <with_user> is left out when the option names no user. */
struct proto_step_def {
    const char *lit;
    size_t lit_len;
    char *(*build)(const struct proto_args *a, size_t *len);
    check_verdict_cb verdict;
    int with_user;
};

#define PROTO_MAX_STEPS 6
#define SEND_LIT(s)     .lit = (s), .lit_len = sizeof(s) - 1

/* A protocol option: its name, its argument parser (the words after the
 * name) and its steps, up to an empty one. */
struct proto_def {
    const char *option;
    int (*parse)(const struct proto_def *d, int argc, char **args,
                 struct proto_args *a, char **err);
    struct proto_step_def steps[PROTO_MAX_STEPS];
};

/* ---------------------------------------------------------------- */
/* Verdicts                                                          */
/* ---------------------------------------------------------------- */

/* Writes the reason <fmt> into <why>; returns <rc>. */
static int verdict(int rc, char *why, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int verdict(int rc, char *why, size_t cap, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(why, cap, fmt, ap);
    va_end(ap);
    return rc;
}

/* Writes the text at <s> (<n> bytes at most, up to a NUL, CR or LF) into
 * <out> for a log line's info. */
static void info_text(char *out, size_t cap, const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n && s[i] != '\0' && s[i] != '\r' && s[i] != '\n'; i++)
        ;
    out[0] = '\0';
    check_quote_info(out, cap, s, i);
}

/* Redis: "+PONG" answers PING. */
static int redis_pong(const char *p, size_t len, int last, char *why,
                      size_t cap)
{
    char info[128];

    if (memmem(p, len, "+PONG", 5) != NULL)
        return verdict(RC_OK, why, cap,
                       "Layer7 check passed, code: 0, info: \"Redis server "
                       "is ok\"");
    if (!last)
        return RC_AGAIN;
    info_text(info, sizeof(info), p, len);
    return verdict(RC_ERR, why, cap,
                   "Layer7 wrong status, code: 0, info: \"%s\"", info);
}

/* SMTP: a complete reply (its last line is "NNN text", the lines before
 * it "NNN-text") whose code is 2xx. */
static int smtp_2xx(const char *p, size_t len, int last, char *why, size_t cap)
{
    const char *line = p, *end = p + len, *eol;
    char info[128];
    int code;

    for (;;) {
        eol = memchr(line, '\n', (size_t)(end - line));
        if (eol == NULL && !last)
            return RC_AGAIN;
        if (eol == NULL || end - line < 4 || line[3] != '-')
            break;
        line = eol + 1;
    }
    if (end - line < 3 || line[0] < '0' || line[0] > '9' || line[1] < '0' ||
        line[1] > '9' || line[2] < '0' || line[2] > '9' ||
        (end - line > 3 && line[3] != ' ' && line[3] != '\r' &&
         line[3] != '\n')) {
        info_text(info, sizeof(info), line, (size_t)(end - line));
        return verdict(RC_ERR, why, cap,
                       "Layer7 invalid response, info: \"%s\"", info);
    }
    code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
    info_text(info, sizeof(info), line + 4,
              end - line > 4 ? (size_t)(end - line - 4) : 0);
    if (code >= 200 && code < 300)
        return verdict(RC_OK, why, cap,
                       "Layer7 check passed, code: %d, info: \"%s\"", code,
                       info);
    return verdict(RC_ERR, why, cap,
                   "Layer7 wrong status, code: %d, info: \"%s\"", code, info);
}

/* MySQL: the payload of the first packet at <p>, in <*pl> and <*plen>;
 * RC_AGAIN until it is complete, RC_ERR if it never will be. */
static int mysql_packet(const char *p, size_t len, int last,
                        const unsigned char **pl, size_t *plen)
{
    const unsigned char *u = (const unsigned char *)p;
    size_t n;

    if (len < 4)
        return last ? RC_ERR : RC_AGAIN;
    n = u[0] | (size_t)u[1] << 8 | (size_t)u[2] << 16;
    if (len - 4 < n)
        return last ? RC_ERR : RC_AGAIN;
    *pl = u + 4;
    *plen = n;
    return n > 0 ? RC_OK : RC_ERR;
}

/* MySQL: an ERR packet (0xff, a 2-byte error code, the message) fails
 * with its code; <good> says what else passes. */
static int mysql_judge(const char *p, size_t len, int last, char *why,
                       size_t cap, int (*good)(const unsigned char *, size_t))
{
    const unsigned char *pl = NULL;
    size_t n = 0;
    char info[160];
    int rc = mysql_packet(p, len, last, &pl, &n);

    if (rc == RC_AGAIN)
        return RC_AGAIN;
    if (rc == RC_OK && pl[0] == 0xff && n >= 3) {
        info_text(info, sizeof(info), (const char *)pl + 3, n - 3);
        return verdict(RC_ERR, why, cap,
                       "Layer7 wrong status, code: %d, info: \"%s\"",
                       pl[1] | pl[2] << 8, info);
    }
    if (rc == RC_OK && good(pl, n))
        return verdict(RC_OK, why, cap, "Layer7 check passed, code: 0");
    return verdict(RC_ERR, why, cap, "Layer7 invalid response");
}

/* The server's greeting: a protocol 10 (or 9) handshake. */
static int mysql_is_greeting(const unsigned char *pl, size_t n)
{
    return pl[0] == 10 || pl[0] == 9;
}

/* The answer to the login: anything but an error (as HAProxy, which
 * takes an authentication switch as an answer). */
static int mysql_is_answer(const unsigned char *pl, size_t n)
{
    return 1;
}

static int mysql_greeting(const char *p, size_t len, int last, char *why,
                          size_t cap)
{
    return mysql_judge(p, len, last, why, cap, mysql_is_greeting);
}

static int mysql_ok(const char *p, size_t len, int last, char *why, size_t cap)
{
    return mysql_judge(p, len, last, why, cap, mysql_is_answer);
}

/* PostgreSQL: an authentication request ('R') to the startup message; an
 * error ('E') fails with its first field (the severity). */
static int pgsql_auth(const char *p, size_t len, int last, char *why,
                      size_t cap)
{
    char info[128];

    if (len < 5 && !last)
        return RC_AGAIN;
    if (len >= 5 && p[0] == 'R')
        return verdict(RC_OK, why, cap,
                       "Layer7 check passed, code: 0, info: \"PostgreSQL "
                       "server is ok\"");
    if (len > 6 && p[0] == 'E') {
        info_text(info, sizeof(info), p + 6, len - 6);
        return verdict(RC_ERR, why, cap,
                       "Layer7 invalid response, info: \"%s\"", info);
    }
    return verdict(RC_ERR, why, cap, "Layer7 invalid response");
}

/* Reads a BER tag <tag> and its length at <*pos> of <u> (<len> bytes):
 * 1 with <*vlen> set and <*pos> on the value, 0 if more bytes are
 * needed, -1 if it is something else. */
static int ber_tlv(const unsigned char *u, size_t len, size_t *pos,
                   unsigned char tag, size_t *vlen)
{
    size_t i = *pos, n, k;

    if (i >= len)
        return 0;
    if (u[i++] != tag)
        return -1;
    if (i >= len)
        return 0;
    n = u[i++];
    if (n & 0x80) { /* long form: the next (n & 0x7f) bytes */
        k = n & 0x7f;
        if (k == 0 || k > 4)
            return -1;
        if (len - i < k)
            return 0;
        for (n = 0; k > 0; k--)
            n = n << 8 | u[i++];
    }
    *pos = i;
    *vlen = n;
    return 1;
}

/* LDAP: a BindResponse (LDAPMessage SEQUENCE, messageID, [APPLICATION 1]
 * with the ENUMERATED resultCode first) with result code 0. */
static int ldap_bind_ok(const char *p, size_t len, int last, char *why,
                        size_t cap)
{
    const unsigned char *u = (const unsigned char *)p;
    size_t pos = 0, n = 0;
    int rc = ber_tlv(u, len, &pos, 0x30, &n);

    if (rc == 1 && len - pos < n)
        rc = 0; /* the whole message first */
    if (rc == 1 && (rc = ber_tlv(u, len, &pos, 0x02, &n)) == 1)
        pos += n;
    if (rc == 1)
        rc = ber_tlv(u, len, &pos, 0x61, &n);
    if (rc == 1 && (rc = ber_tlv(u, len, &pos, 0x0a, &n)) == 1 &&
        (n != 1 || pos >= len))
        rc = -1;
    if (rc == 0 && !last)
        return RC_AGAIN;
    if (rc != 1)
        return verdict(RC_ERR, why, cap,
                       "Layer7 invalid response, info: \"Not LDAPv3 "
                       "protocol\"");
    if (u[pos] == 0)
        return verdict(RC_OK, why, cap, "Layer7 check passed, code: 0");
    return verdict(RC_ERR, why, cap,
                   "Layer7 wrong status, code: %d, info: \"See RFC: "
                   "http://tools.ietf.org/html/rfc4511#section-4.1.9\"",
                   u[pos]);
}

/* SSL/TLS: the first record is a handshake (22) or an alert (21). */
static int ssl_record(const char *p, size_t len, int last, char *why,
                      size_t cap)
{
    if (len < 5 && !last)
        return RC_AGAIN;
    if (len >= 5 && (p[0] == 0x16 || p[0] == 0x15))
        return verdict(RC_OK, why, cap, "Layer6 check passed");
    return verdict(RC_ERR, why, cap, "Layer6 invalid response");
}

/* SPOP: reads a variable-length integer at <*pos> of <u> (<len> bytes):
 * below 240 one byte; else the byte, then 7 bits a byte (the first shifted
 * by 4) while the high bit is set. 1, or 0 if it runs past the end. */
static int spop_varint(const unsigned char *u, size_t len, size_t *pos,
                       unsigned long long *v)
{
    size_t i = *pos;
    unsigned shift = 4;

    if (i >= len)
        return 0;
    *v = u[i++];
    if (*v >= 240) {
        do {
            if (i >= len || shift > 60)
                return 0;
            *v += (unsigned long long)u[i] << shift;
            shift += 7;
        } while (u[i++] >= 128);
    }
    *pos = i;
    return 1;
}

/* SPOP: skips the value of type <type> at <*pos>, keeping an integer in
 * <*num> and a string's place in <*str>/<*slen>. 1, or 0 if malformed. */
static int spop_value(const unsigned char *u, size_t len, size_t *pos,
                      unsigned type, unsigned long long *num,
                      const unsigned char **str, size_t *slen)
{
    static const size_t fixed[] = {0, 0, 0, 0, 0, 0, 4, 16};

    if (type >= 2 && type <= 5) /* [u]int32, [u]int64 */
        return spop_varint(u, len, pos, num);
    if (type == 8 || type == 9) { /* string, binary */
        if (!spop_varint(u, len, pos, num) || *num > len - *pos)
            return 0;
        *str = u + *pos;
        *slen = (size_t)*num;
        *pos += (size_t)*num;
        return 1;
    }
    if (type > 7 || fixed[type] > len - *pos)
        return 0;
    *pos += fixed[type]; /* null and booleans: nothing; addresses */
    return 1;
}

/* The SPOP status codes' meanings, by code (99: unknown). */
static const char *const spop_status[] = {
    "normal",
    "I/O error",
    "a timeout occurred",
    "frame is too big",
    "invalid frame received",
    "version value not found",
    "max-frame-size value not found",
    "capabilities value not found",
    "unsupported version",
    "max-frame-size too big or too small",
    "fragmentation not supported",
    "invalid interlaced frames",
    "frame-id not found",
    "resource allocation error",
};

#define SPOP_MAX_FRAME     16380
#define SPOP_AGENT_HELLO   101
#define SPOP_AGENT_DISCONN 102

/* The agent's answer to a HELLO, its frame at <u> (<len> bytes, after
 * the stream and frame ids): NULL if it may go on, else what is wrong. */
static const char *spop_judge_kv(const unsigned char *u, size_t len, int type)
{
    unsigned long long klen, num = 0, status = 99, mfs = 0;
    const unsigned char *str = NULL, *key;
    size_t pos = 0, slen = 0;
    int version = 0;

    while (pos < len) {
        if (!spop_varint(u, len, &pos, &klen) || klen >= len - pos)
            return spop_status[4];
        key = u + pos;
        pos += (size_t)klen + 1;
        if (!spop_value(u, len, &pos, u[pos - 1] & 0x0f, &num, &str, &slen))
            return spop_status[4];
        if (klen == 11 && memcmp(key, "status-code", 11) == 0)
            status = num;
        else if (klen == 7 && memcmp(key, "version", 7) == 0)
            version = slen == 3 && memcmp(str, "2.0", 3) == 0 ? 1 : -1;
        else if (klen == 14 && memcmp(key, "max-frame-size", 14) == 0)
            mfs = num;
    }
    if (type == SPOP_AGENT_DISCONN)
        return status < sizeof(spop_status) / sizeof(spop_status[0])
                   ? spop_status[status]
                   : "an unknown error occurred";
    if (version == 0)
        return spop_status[5];
    if (version < 0)
        return spop_status[8];
    if (mfs == 0)
        return spop_status[6];
    if (mfs < 256 || mfs > SPOP_MAX_FRAME)
        return spop_status[9];
    return NULL;
}

/* SPOP: an AGENT-HELLO frame (length, type, flags with FIN, stream and
 * frame ids 0, then key/value pairs) with version 2.0 and a max-frame-size
 * in range; an AGENT-DISCONNECT fails with its status code's meaning. */
static int spop_hello(const char *p, size_t len, int last, char *why,
                      size_t cap)
{
    const unsigned char *u = (const unsigned char *)p;
    unsigned long long sid = 1, fid = 1;
    const char *bad = NULL;
    size_t n, pos = 9;

    if (len < 4 && !last)
        return RC_AGAIN;
    n = len >= 4
            ? (size_t)u[0] << 24 | (size_t)u[1] << 16 | (size_t)u[2] << 8 | u[3]
            : 0;
    if (n > SPOP_MAX_FRAME)
        bad = spop_status[3];
    else if (len - 4 < n && !last)
        return RC_AGAIN;
    else if (len < 5 ||
             (u[4] != SPOP_AGENT_HELLO && u[4] != SPOP_AGENT_DISCONN))
        bad = spop_status[4];
    else if (len < 9 || len - 4 < n || !(u[8] & 1))
        bad = spop_status[10]; /* no FIN flag: a fragment */
    else if (!spop_varint(u, n + 4, &pos, &sid) ||
             !spop_varint(u, n + 4, &pos, &fid) || sid != 0 || fid != 0)
        bad = spop_status[4];
    else
        bad = spop_judge_kv(u + pos, n + 4 - pos, u[4]);
    if (bad == NULL)
        return verdict(RC_OK, why, cap, "Layer7 check passed, code: 0");
    return verdict(RC_ERR, why, cap, "Layer7 invalid response, info: \"%s\"",
                   bad);
}

/* ---------------------------------------------------------------- */
/* Requests                                                          */
/* ---------------------------------------------------------------- */

/* "HELO domain\r\n" or "EHLO domain\r\n". */
static char *smtp_hello(const struct proto_args *a, size_t *len)
{
    char *s = xasprintf("%s %s\r\n", a->verb, a->domain);

    *len = strlen(s);
    return s;
}

/* Appends <n> bytes of <s> to <buf> at <*at>. */
static void put(char *buf, size_t *at, const void *s, size_t n)
{
    memcpy(buf + *at, s, n);
    *at += n;
}

/* The MySQL client handshake response for the user, with no password
 * (4.1: capabilities PROTOCOL_41 | SECURE_CONNECTION, max packet 16 MiB,
 * utf8 charset, 23 reserved bytes, the user, an empty auth response;
 * 3.20: no capability, max packet, the user, an empty scramble), packet
 * 1, then COM_QUIT, which ends the session cleanly. */
static char *mysql_login(const struct proto_args *a, size_t *len)
{
    static const char v41[] = "\x00\x82\x00\x00"
                              "\x00\x00\x00\x01"
                              "\x21";
    static const char v320[] = "\x00\x00"
                               "\x00\x00\x01";
    static const char quit[] = "\x01\x00\x00\x00\x01";
    static const char zero[23];
    size_t ulen = strlen(a->user) + 1;
    size_t n = a->pre41 ? sizeof(v320) - 1 + ulen + 1
                        : sizeof(v41) - 1 + sizeof(zero) + ulen + 1;
    char *buf = xmalloc(4 + n + sizeof(quit) - 1), hdr[4];
    size_t at = 0;

    hdr[0] = (char)(n & 0xff);
    hdr[1] = (char)(n >> 8 & 0xff);
    hdr[2] = (char)(n >> 16 & 0xff);
    hdr[3] = 1; /* sequence: the greeting was 0 */
    put(buf, &at, hdr, 4);
    if (a->pre41) {
        put(buf, &at, v320, sizeof(v320) - 1);
    } else {
        put(buf, &at, v41, sizeof(v41) - 1);
        put(buf, &at, zero, sizeof(zero));
    }
    put(buf, &at, a->user, ulen);
    put(buf, &at, "", 1); /* no password */
    put(buf, &at, quit, sizeof(quit) - 1);
    *len = at;
    return buf;
}

/* The PostgreSQL StartupMessage (protocol 3.0) for the user. */
static char *pgsql_startup(const struct proto_args *a, size_t *len)
{
    static const char proto[] = "\x00\x03\x00\x00";
    size_t ulen = strlen(a->user) + 1;
    size_t n = 4 + 4 + 5 + ulen + 1;
    char *buf = xmalloc(n), hdr[4];
    size_t at = 0;

    hdr[0] = (char)(n >> 24 & 0xff);
    hdr[1] = (char)(n >> 16 & 0xff);
    hdr[2] = (char)(n >> 8 & 0xff);
    hdr[3] = (char)(n & 0xff);
    put(buf, &at, hdr, 4);
    put(buf, &at, proto, 4);
    put(buf, &at, "user", 5);
    put(buf, &at, a->user, ulen);
    put(buf, &at, "", 1);
    *len = at;
    return buf;
}

/* An LDAPv3 anonymous simple BindRequest, message 1. */
#define LDAP_BIND "\x30\x0c\x02\x01\x01\x60\x07\x02\x01\x03\x04\x00\x80\x00"

/* A TLS ClientHello in a TLS 1.0 record offering TLS 1.2: ECDHE, DHE and
 * RSA suites with AES-GCM and AES-CBC, groups x25519 and P-256, SHA-256
 * signatures (RSA-PSS, ECDSA, RSA) and SHA-1 (RSA). */
#define SSL_HELLO                                                              \
    "\x16\x03\x01\x00\x5d"                                                     \
    "\x01\x00\x00\x59"                                                         \
    "\x03\x03"                                                                 \
    "\x6c\x70\x78\x79\x8a\x41\x0f\x93\x2e\x57\xc1\x04\xd6\x38\x9b\x62"         \
    "\x15\xe0\x7a\x4c\x33\xaf\x58\x01\x9d\x26\xbe\x70\x4f\x12\xc8\x9e"         \
    "\x00"                                                                     \
    "\x00\x12\xc0\x2f\xc0\x30\xc0\x2b\xc0\x2c\x00\x9e\x00\x9f\x00\x2f"         \
    "\x00\x35\x00\xff"                                                         \
    "\x01\x00"                                                                 \
    "\x00\x1e"                                                                 \
    "\x00\x0a\x00\x06\x00\x04\x00\x1d\x00\x17"                                 \
    "\x00\x0b\x00\x02\x01\x00"                                                 \
    "\x00\x0d\x00\x0a\x00\x08\x08\x04\x04\x03\x04\x01\x02\x01"

/* An SPOP HAPROXY-HELLO frame (type 1, FIN, stream and frame ids 0)
 * offering version 2.0, frames of 16380 bytes, no capability, and saying
 * it is a health check, after which the agent answers and closes. */
#define SPOP_HELLO                                                             \
    "\x00\x00\x00\x4e\x01\x00\x00\x00\x01\x00\x00"                             \
    "\x12supported-versions\x08\x03"                                           \
    "2.0"                                                                      \
    "\x0emax-frame-size\x03\xfc\xf0\x06"                                       \
    "\x0c"                                                                     \
    "capabilities\x08\x00"                                                     \
    "\x0bhealthcheck\x11"

/* ---------------------------------------------------------------- */
/* Arguments                                                         */
/* ---------------------------------------------------------------- */

/* redis-check, ldap-check, ssl-hello-chk: no argument. */
static int parse_none(const struct proto_def *d, int argc, char **args,
                      struct proto_args *a, char **err)
{
    if (argc > 0)
        return set_err(err,
                       "'option %s' cannot handle unexpected argument "
                       "'%s'",
                       d->option, args[0]);
    return RC_OK;
}

/* Returns 1 if <s> can be a host name: letters, digits, '.', '-', '_'. */
static int is_host_name(const char *s)
{
    if (*s == '\0')
        return 0;
    for (; *s != '\0'; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
              (*s >= '0' && *s <= '9') || *s == '.' || *s == '-' || *s == '_'))
            return 0;
    return 1;
}

/* smtpchk [HELO|EHLO domain]: "HELO localhost" by default. */
static int parse_smtp(const struct proto_def *d, int argc, char **args,
                      struct proto_args *a, char **err)
{
    a->verb = "HELO";
    a->domain = "localhost";
    if (argc == 0)
        return RC_OK;
    if (argc != 2 ||
        (strcmp(args[0], "HELO") != 0 && strcmp(args[0], "EHLO") != 0))
        return set_err(err, "'option smtpchk' expects nothing or 'HELO' or "
                            "'EHLO' and a domain");
    if (!is_host_name(args[1]))
        return set_err(err, "'option smtpchk': '%s' is not a domain name",
                       args[1]);
    a->verb = args[0];
    a->domain = args[1];
    return RC_OK;
}

/* mysql-check [user NAME [post-41|pre-41]]. */
static int parse_mysql(const struct proto_def *d, int argc, char **args,
                       struct proto_args *a, char **err)
{
    if (argc == 0)
        return RC_OK;
    if (strcmp(args[0], "user") != 0)
        return set_err(err,
                       "'option mysql-check' only supports optional "
                       "values: 'user' (got '%s')",
                       args[0]);
    if (argc < 2 || args[1][0] == '\0')
        return set_err(err, "'option mysql-check user' expects <username> "
                            "as argument");
    a->user = args[1];
    if (argc > 2 && strcmp(args[2], "pre-41") == 0)
        a->pre41 = 1;
    else if (argc > 2 && strcmp(args[2], "post-41") != 0)
        return set_err(err,
                       "keyword 'user' only supports 'post-41' and "
                       "'pre-41' (got '%s')",
                       args[2]);
    if (argc > 3)
        return set_err(err,
                       "'option mysql-check' cannot handle unexpected "
                       "argument '%s'",
                       args[3]);
    return RC_OK;
}

/* pgsql-check user NAME. */
static int parse_pgsql(const struct proto_def *d, int argc, char **args,
                       struct proto_args *a, char **err)
{
    if (argc != 2 || strcmp(args[0], "user") != 0 || args[1][0] == '\0')
        return set_err(err, "'option pgsql-check' expects 'user "
                            "<username>' as argument");
    a->user = args[1];
    return RC_OK;
}

/* ---------------------------------------------------------------- */
/* The options                                                       */
/* ---------------------------------------------------------------- */

static const struct proto_def proto_defs[] = {
    {"redis-check",
     parse_none,
     {{SEND_LIT("*1\r\n$4\r\nPING\r\n")}, {.verdict = redis_pong}}},
    {"smtpchk",
     parse_smtp,
     {{.verdict = smtp_2xx},
      {.build = smtp_hello},
      {.verdict = smtp_2xx},
      {SEND_LIT("QUIT\r\n")},
      {.verdict = smtp_2xx}}},
    {"mysql-check",
     parse_mysql,
     {{.verdict = mysql_greeting},
      {.build = mysql_login, .with_user = 1},
      {.verdict = mysql_ok, .with_user = 1}}},
    {"pgsql-check",
     parse_pgsql,
     {{.build = pgsql_startup}, {.verdict = pgsql_auth}}},
    {"ldap-check",
     parse_none,
     {{SEND_LIT(LDAP_BIND)}, {.verdict = ldap_bind_ok}}},
    {"ssl-hello-chk",
     parse_none,
     {{SEND_LIT(SSL_HELLO)}, {.verdict = ssl_record}}},
    {"spop-check",
     parse_none,
     {{SEND_LIT(SPOP_HELLO)}, {.verdict = spop_hello}}},
};

/* Returns the row of the option <name>. */
static const struct proto_def *proto_find(const char *name)
{
    size_t i;

    for (i = 0; i < sizeof(proto_defs) / sizeof(proto_defs[0]); i++)
        if (strcmp(proto_defs[i].option, name) == 0)
            return &proto_defs[i];
    return NULL;
}

/* Builds the steps of <d> for the arguments <a> into <out>; returns how
 * many. */
static int proto_build(const struct proto_def *d, const struct proto_args *a,
                       struct check_proto_step *out)
{
    const struct proto_step_def *s;
    int n = 0;

    for (s = d->steps; s < d->steps + PROTO_MAX_STEPS; s++) {
        if (s->lit == NULL && s->build == NULL && s->verdict == NULL)
            break;
        if (s->with_user && a->user == NULL)
            continue;
        memset(&out[n], 0, sizeof(out[n]));
        if (s->lit != NULL) {
            out[n].data = xmalloc(s->lit_len);
            memcpy(out[n].data, s->lit, s->lit_len);
            out[n].len = s->lit_len;
        } else if (s->build != NULL) {
            out[n].data = s->build(a, &out[n].len);
        }
        out[n].verdict = s->verdict;
        n++;
    }
    return n;
}

int check_proto_parse_option(struct cfg_ctx *ctx, const struct cfg_kw *kw,
                             int argc, char **args, char **err)
{
    int i = strcmp(args[0], "no") == 0 ? 2 : 1;
    const struct proto_def *d = proto_find(args[i]);
    struct proto_args a;
    struct check_proto_step steps[PROTO_MAX_STEPS];

    if (i == 2) {
        check_set_proto(ctx->px, NULL, 0);
        return RC_OK;
    }
    memset(&a, 0, sizeof(a));
    if (d->parse(d, argc - i - 1, args + i + 1, &a, err) != RC_OK)
        return RC_ERR;
    check_set_proto(ctx->px, steps, proto_build(d, &a, steps));
    return RC_OK;
}
