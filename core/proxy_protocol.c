/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* PROXY protocol v1 (text) and v2 (binary) headers, in and out. Reading
 * takes only the header's bytes from the connection: what follows stays
 * for the protocol layer. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "core/conn.h"
#include "core/errors.h"
#include "core/listener.h"
#include "core/log.h"
#include "core/proxy.h"
#include "core/proxy_protocol.h"
#include "core/stream.h"

#define PP1_MAX     107
#define PP2_SIG     "\r\n\r\n\0\r\nQUIT\n"
#define PP2_SIG_LEN 12
#define PP2_HDR_LEN 16

/* Fills <sa> from a textual address and port; 1 if valid. */
static int pp1_addr(int family, const char *ip, const char *port,
                    union sess_addr *sa, socklen_t *len)
{
    char *end;
    unsigned long p = strtoul(port, &end, 10);

    if (*end != '\0' || p > 65535 || *port == '\0')
        return 0;
    memset(sa, 0, sizeof(*sa));
    if (family == AF_INET) {
        sa->in4.sin_family = AF_INET;
        sa->in4.sin_port = htons((unsigned short)p);
        *len = sizeof(sa->in4);
        return inet_pton(AF_INET, ip, &sa->in4.sin_addr) == 1;
    }
    sa->in6.sin6_family = AF_INET6;
    sa->in6.sin6_port = htons((unsigned short)p);
    *len = sizeof(sa->in6);
    return inet_pton(AF_INET6, ip, &sa->in6.sin6_addr) == 1;
}

/* Parses a v1 line of <n> bytes (CRLF included); RC_OK or RC_ERR. */
static int pp1_parse(struct session *sess, char *line, size_t n)
{
    char *w[6], *save = NULL, *p;
    int i, family;

    line[n - 2] = '\0';
    for (i = 0, p = strtok_r(line, " ", &save); p != NULL && i < 6;
         p = strtok_r(NULL, " ", &save))
        w[i++] = p;
    if (i >= 2 && strcmp(w[1], "UNKNOWN") == 0)
        return RC_OK; /* keep the real connection's addresses */
    if (i != 6 || p != NULL)
        return RC_ERR;
    if (strcmp(w[1], "TCP4") == 0)
        family = AF_INET;
    else if (strcmp(w[1], "TCP6") == 0)
        family = AF_INET6;
    else
        return RC_ERR;
    if (!pp1_addr(family, w[2], w[4], &sess->src, &sess->srclen) ||
        !pp1_addr(family, w[3], w[5], &sess->dst, &sess->dstlen))
        return RC_ERR;
    return RC_OK;
}

/* Parses the v2 addresses of <len> bytes at <p> for family byte <fam>. */
static int pp2_addrs(struct session *sess, unsigned fam, const unsigned char *p,
                     size_t len)
{
    if ((fam >> 4) == 1 && len >= 12) {
        struct sockaddr_in *s = &sess->src.in4, *d = &sess->dst.in4;

        memset(&sess->src, 0, sizeof(sess->src));
        memset(&sess->dst, 0, sizeof(sess->dst));
        s->sin_family = d->sin_family = AF_INET;
        memcpy(&s->sin_addr, p, 4);
        memcpy(&d->sin_addr, p + 4, 4);
        memcpy(&s->sin_port, p + 8, 2);
        memcpy(&d->sin_port, p + 10, 2);
        sess->srclen = sess->dstlen = sizeof(*s);
        return RC_OK;
    }
    if ((fam >> 4) == 2 && len >= 36) {
        struct sockaddr_in6 *s = &sess->src.in6, *d = &sess->dst.in6;

        memset(&sess->src, 0, sizeof(sess->src));
        memset(&sess->dst, 0, sizeof(sess->dst));
        s->sin6_family = d->sin6_family = AF_INET6;
        memcpy(&s->sin6_addr, p, 16);
        memcpy(&d->sin6_addr, p + 16, 16);
        memcpy(&s->sin6_port, p + 32, 2);
        memcpy(&d->sin6_port, p + 34, 2);
        sess->srclen = sess->dstlen = sizeof(*s);
        return RC_OK;
    }
    return (fam >> 4) == 0 ? RC_OK : RC_ERR; /* AF_UNSPEC: keep ours */
}

/* Tries to read a header from <in>: RC_OK (consumed), RC_AGAIN (need
 * more), RC_ERR (malformed). */
static int pp_read(struct session *sess, struct evbuffer *in)
{
    size_t avail = evbuffer_get_length(in), n;
    unsigned char *p;
    char line[PP1_MAX + 1];

    if (avail == 0)
        return RC_AGAIN;
    p = evbuffer_pullup(
        in, (ev_ssize_t)(avail < PP2_HDR_LEN ? avail : PP2_HDR_LEN));
    if (p[0] == '\r') { /* v2 */
        size_t len;

        if (avail < PP2_HDR_LEN)
            return memcmp(p, PP2_SIG, avail) == 0 ? RC_AGAIN : RC_ERR;
        if (memcmp(p, PP2_SIG, PP2_SIG_LEN) != 0 || (p[12] >> 4) != 2)
            return RC_ERR;
        len = ((size_t)p[14] << 8) | p[15];
        if (avail < PP2_HDR_LEN + len)
            return len > 216 + 1024 ? RC_ERR : RC_AGAIN;
        p = evbuffer_pullup(in, (ev_ssize_t)(PP2_HDR_LEN + len));
        if ((p[12] & 0x0f) == 1 &&
            pp2_addrs(sess, p[13], p + PP2_HDR_LEN, len) != RC_OK)
            return RC_ERR;
        evbuffer_drain(in, PP2_HDR_LEN + len);
        return RC_OK;
    }
    if (memcmp(p, "PROXY ", avail < 6 ? avail : 6) != 0)
        return RC_ERR;
    p = evbuffer_pullup(in, (ev_ssize_t)(avail < PP1_MAX ? avail : PP1_MAX));
    for (n = 1; n < avail && n < PP1_MAX; n++)
        if (p[n - 1] == '\r' && p[n] == '\n')
            break;
    if (n >= avail)
        return avail >= PP1_MAX ? RC_ERR : RC_AGAIN;
    n++;
    memcpy(line, p, n);
    if (pp1_parse(sess, line, n) != RC_OK)
        return RC_ERR;
    evbuffer_drain(in, n);
    return RC_OK;
}

/* Bytes arrived while waiting for the header. */
static void pp_read_cb(struct conn *conn, void *arg)
{
    struct session *sess = arg;
    int rc = pp_read(sess, conn_input(conn));

    if (rc == RC_AGAIN)
        return;
    if (rc != RC_OK) {
        log_info("%s: malformed PROXY protocol header, closing",
                 sess->li->name);
        session_free(sess);
        return;
    }
    conn_setcb(conn, NULL, NULL, NULL, NULL);
    sess->proxied = 1;
    session_start(sess);
    /* bytes after the header wait in the buffer: let the layer see them */
    if (evbuffer_get_length(conn_input(conn)) > 0)
        conn_trigger_read(conn);
}

/* Closed, failed or timed out before the header. */
static void pp_event_cb(struct conn *conn, short what, void *arg)
{
    session_free(arg);
}

void proxy_protocol_accept(struct session *sess)
{
    unsigned tmo = sess->fe->timeouts.client;
    struct timeval tv = {tmo / 1000, (tmo % 1000) * 1000};

    conn_setcb(sess->conn, pp_read_cb, NULL, pp_event_cb, sess);
    conn_set_timeouts(sess->conn, tmo ? &tv : NULL, NULL);
    conn_enable(sess->conn, CONN_RD);
}

/* Writes the text form of the address and port of <ss>. */
static int pp_ntop(const union sess_addr *sa, char *ip, size_t cap)
{
    const void *a = sa->sa.sa_family == AF_INET
                        ? (const void *)&sa->in4.sin_addr
                        : (const void *)&sa->in6.sin6_addr;

    return inet_ntop(sa->sa.sa_family, a, ip, (socklen_t)cap) != NULL;
}

/* The port of <ss>, host order. */
static unsigned pp_port(const union sess_addr *sa)
{
    return ntohs(sa->sa.sa_family == AF_INET ? sa->in4.sin_port
                                             : sa->in6.sin6_port);
}

/* Appends the v2 form. */
static void pp2_write(struct evbuffer *out, const struct session *sess)
{
    unsigned char h[PP2_HDR_LEN + 36];
    size_t len = 0;

    memcpy(h, PP2_SIG, PP2_SIG_LEN);
    h[12] = 0x21; /* version 2, PROXY */
    if (sess->src.sa.sa_family == AF_INET &&
        sess->dst.sa.sa_family == AF_INET) {
        const struct sockaddr_in *s = &sess->src.in4, *d = &sess->dst.in4;

        h[13] = 0x11;
        memcpy(h + 16, &s->sin_addr, 4);
        memcpy(h + 20, &d->sin_addr, 4);
        memcpy(h + 24, &s->sin_port, 2);
        memcpy(h + 26, &d->sin_port, 2);
        len = 12;
    } else if (sess->src.sa.sa_family == AF_INET6 &&
               sess->dst.sa.sa_family == AF_INET6) {
        const struct sockaddr_in6 *s = &sess->src.in6, *d = &sess->dst.in6;

        h[13] = 0x21;
        memcpy(h + 16, &s->sin6_addr, 16);
        memcpy(h + 32, &d->sin6_addr, 16);
        memcpy(h + 48, &s->sin6_port, 2);
        memcpy(h + 50, &d->sin6_port, 2);
        len = 36;
    } else {
        h[12] = 0x20; /* LOCAL: no address to tell */
        h[13] = 0x00;
    }
    h[14] = (unsigned char)(len >> 8);
    h[15] = (unsigned char)len;
    evbuffer_add(out, h, PP2_HDR_LEN + len);
}

void proxy_protocol_write(struct evbuffer *out, int version,
                          const struct session *sess)
{
    char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];
    int fam = sess->src.sa.sa_family;

    if (version == 2) {
        pp2_write(out, sess);
        return;
    }
    if ((fam != AF_INET && fam != AF_INET6) || sess->dst.sa.sa_family != fam ||
        !pp_ntop(&sess->src, src, sizeof(src)) ||
        !pp_ntop(&sess->dst, dst, sizeof(dst))) {
        evbuffer_add(out, "PROXY UNKNOWN\r\n", 15);
        return;
    }
    evbuffer_add_printf(out, "PROXY %s %s %s %u %u\r\n",
                        fam == AF_INET ? "TCP4" : "TCP6", src, dst,
                        pp_port(&sess->src), pp_port(&sess->dst));
}
