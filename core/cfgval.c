/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* Value parsers shared by configuration keywords: durations, sizes, bounded
 * integers and socket addresses, with HAProxy's syntax and limits (its
 * parse_time_err(), parse_size_err() and str2sa_range()). Numbers are read
 * digit by digit with explicit overflow checks rather than with strtoull(),
 * which would accept blanks, signs and other bases. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "core/cfgval.h"
#include "core/errors.h"
#include "core/util.h"

#define ADDR_FAMILY_FD (-1) /* pseudo family of the "fd@" prefix */

/* A duration unit: the value is multiplied by <mult> then divided by <div>,
 * rounding up, to get milliseconds. */
struct time_unit {
    const char *name;
    unsigned long long mult;
    unsigned long long div;
};

static const struct time_unit time_units[] = {
    {"", 1, 1},      {"us", 1, 1000},   {"ms", 1, 1},       {"s", 1000, 1},
    {"m", 60000, 1}, {"h", 3600000, 1}, {"d", 86400000, 1}, {NULL, 0, 0},
};

/* The address prefixes we support and the family each one selects. */
struct addr_prefix {
    const char *name;
    int family;
};

static const struct addr_prefix addr_prefixes[] = {
    {"ipv4@", AF_INET},      {"tcp4@", AF_INET},  {"ipv6@", AF_INET6},
    {"tcp6@", AF_INET6},     {"tcp@", AF_UNSPEC}, {"unix@", AF_UNIX},
    {"fd@", ADDR_FAMILY_FD}, {NULL, 0},
};

static const char *read_digits(const char *s, unsigned long long *v,
                               int *overflow);
static int addr_split_prefix(const char *s, int *family, const char **rest,
                             char **err);
static int addr_unix(const char *path, struct cfg_addr *out, char **err);
static int addr_fd(const char *num, const char *s, struct cfg_addr *out,
                   char **err);
static int addr_inet(char *text, int family, unsigned flags, const char *s,
                     struct cfg_addr *out, char **err);
static int addr_port(const char *port, unsigned flags, const char *s,
                     struct cfg_addr *out, char **err);
static int addr_host(char *host, int family, unsigned flags, const char *s,
                     struct cfg_addr *out, char **err);
static int addr_resolve(const char *host, int family, struct cfg_addr *out,
                        char **err);
static void addr_set_ip(struct cfg_addr *out, int family, const void *ip);
static int looks_numeric(const char *host);
static void addr_reset(struct cfg_addr *out);

int cfgval_duration_ms(const char *s, unsigned int *ms, char **err)
{
    const struct time_unit *u;
    unsigned long long v, r;
    const char *end;
    int overflow;

    if (s == NULL || *s == '\0')
        return set_err(err, "empty duration");
    end = read_digits(s, &v, &overflow);
    if (end == s)
        return set_err(err,
                       "invalid duration '%s': expected a number with an "
                       "optional unit (us, ms, s, m, h, d)",
                       s);
    for (u = time_units; u->name != NULL; u++)
        if (strcmp(end, u->name) == 0)
            break;
    if (u->name == NULL)
        return set_err(err,
                       "invalid unit '%s' in duration '%s' (expected us, ms, "
                       "s, m, h or d)",
                       end, s);
    if (overflow || v > (ULLONG_MAX - u->div) / u->mult)
        overflow = 1;
    r = overflow ? 0 : (v * u->mult + u->div - 1) / u->div;
    if (overflow || r > INT_MAX)
        return set_err(err,
                       "timer overflow in '%s' (maximum value is %d ms, "
                       "about 24.8 days)",
                       s, INT_MAX);
    *ms = (unsigned int)r;
    return RC_OK;
}

int cfgval_size(const char *s, unsigned long long *bytes, char **err)
{
    unsigned long long v;
    const char *end;
    int overflow;
    int shift;

    if (s == NULL || *s == '\0')
        return set_err(err, "empty size");
    end = read_digits(s, &v, &overflow);
    if (end == s)
        return set_err(err,
                       "invalid size '%s': expected a number with an "
                       "optional unit (k, m, g)",
                       s);
    if (*end == '\0')
        shift = 0;
    else if (end[1] == '\0' && strchr("kK", *end))
        shift = 10;
    else if (end[1] == '\0' && strchr("mM", *end))
        shift = 20;
    else if (end[1] == '\0' && strchr("gG", *end))
        shift = 30;
    else
        return set_err(
            err, "invalid unit '%s' in size '%s' (expected k, m or g)", end, s);
    if (overflow || v > (ULLONG_MAX >> shift))
        return set_err(err, "size '%s' is too large", s);
    *bytes = v << shift;
    return RC_OK;
}

int cfgval_int(const char *s, long long min, long long max, long long *out,
               char **err)
{
    const char *p = s;
    long long v;
    char *end;

    if (s == NULL || *s == '\0')
        return set_err(err, "empty integer");
    if (*p == '-' || *p == '+')
        p++;
    if (!isdigit((unsigned char)*p))
        return set_err(err, "'%s' is not a valid integer", s);
    errno = 0;
    v = strtoll(s, &end, 10);
    if (*end != '\0')
        return set_err(err, "'%s' is not a valid integer", s);
    if (errno == ERANGE || v < min || v > max)
        return set_err(err, "value '%s' is out of range [%lld, %lld]", s, min,
                       max);
    *out = v;
    return RC_OK;
}

int cfgval_addr(const char *s, unsigned flags, struct cfg_addr *out, char **err)
{
    const char *rest;
    char *text;
    int family;
    int rc;

    addr_reset(out);
    if (s == NULL || *s == '\0')
        return set_err(err, "missing address");
    if (addr_split_prefix(s, &family, &rest, err) != RC_OK)
        return RC_ERR;
    if (family == AF_UNIX)
        return addr_unix(rest, out, err);
    if (family == ADDR_FAMILY_FD)
        return addr_fd(rest, s, out, err);
    text = xstrdup(rest);
    rc = addr_inet(text, family, flags, s, out, err);
    free(text);
    if (rc == RC_ERR)
        addr_reset(out);
    return rc;
}

const char *cfgval_addr_str(const struct cfg_addr *a, char *buf, size_t len)
{
    const struct sockaddr_in *sin = (const struct sockaddr_in *)&a->ss;
    const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&a->ss;
    const struct sockaddr_un *sau = (const struct sockaddr_un *)&a->ss;
    char ip[INET6_ADDRSTRLEN];

    if (len == 0)
        return buf;
    switch (a->family) {
    case AF_INET:
        inet_ntop(AF_INET, &sin->sin_addr, ip, sizeof(ip));
        if (a->port_set)
            snprintf(buf, len, "%s:%u", ip, ntohs(sin->sin_port));
        else
            snprintf(buf, len, "%s", ip);
        break;
    case AF_INET6:
        inet_ntop(AF_INET6, &sin6->sin6_addr, ip, sizeof(ip));
        if (a->port_set)
            snprintf(buf, len, "[%s]:%u", ip, ntohs(sin6->sin6_port));
        else
            snprintf(buf, len, "[%s]", ip);
        break;
    case AF_UNIX:
        snprintf(buf, len, "unix@%s", sau->sun_path);
        break;
    default:
        snprintf(buf, len, "fd@%d", a->fd);
        break;
    }
    return buf;
}

/* Reads decimal digits from <s> into <*v>, setting <*overflow> if they do not
 * fit in 64 bits; returns the first byte that is not a digit. */
static const char *read_digits(const char *s, unsigned long long *v,
                               int *overflow)
{
    unsigned d;

    *v = 0;
    *overflow = 0;
    for (; isdigit((unsigned char)*s); s++) {
        d = (unsigned)(*s - '0');
        if (*v > (ULLONG_MAX - d) / 10)
            *overflow = 1;
        else
            *v = *v * 10 + d;
    }
    return s;
}

/* Finds the "xxx@" prefix of <s>, if any: sets <*family> (AF_UNSPEC with no
 * prefix, AF_UNIX for a bare "/path") and <*rest> to what follows. A word
 * before '@' that is not one of ours is an unsupported HAProxy family. */
static int addr_split_prefix(const char *s, int *family, const char **rest,
                             char **err)
{
    const struct addr_prefix *pf;
    const char *p = s;

    *family = s[0] == '/' ? AF_UNIX : AF_UNSPEC;
    *rest = s;
    while (isalnum((unsigned char)*p))
        p++;
    if (*p != '@' || p == s)
        return RC_OK;
    for (pf = addr_prefixes; pf->name != NULL; pf++) {
        if (strncmp(s, pf->name, (size_t)(p - s) + 1) == 0) {
            *family = pf->family;
            *rest = p + 1;
            return RC_OK;
        }
    }
    return set_err(err, "address family '%.*s' is not supported in '%s'",
                   (int)(p - s) + 1, s, s);
}

/* Fills <out> with the unix socket <path>. */
static int addr_unix(const char *path, struct cfg_addr *out, char **err)
{
    struct sockaddr_un *sau = (struct sockaddr_un *)&out->ss;
    size_t n = strlen(path);

    if (n == 0)
        return set_err(err, "missing unix socket path");
    if (n >= sizeof(sau->sun_path))
        return set_err(err, "unix socket path '%s' is too long (max %zu)", path,
                       sizeof(sau->sun_path) - 1);
    sau->sun_family = AF_UNIX;
    memcpy(sau->sun_path, path, n + 1);
    out->family = AF_UNIX;
    out->len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
    return RC_OK;
}

/* Fills <out> with the inherited descriptor number <num> ("fd@<num>"). */
static int addr_fd(const char *num, const char *s, struct cfg_addr *out,
                   char **err)
{
    unsigned long long v;
    const char *end;
    int overflow;

    end = read_digits(num, &v, &overflow);
    if (end == num || *end != '\0' || overflow || v > INT_MAX)
        return set_err(err, "invalid file descriptor '%s' in '%s'", num, s);
    out->family = AF_UNSPEC;
    out->fd = (int)v;
    out->len = 0;
    return RC_OK;
}

/* Parses the "host:port" <text> (modified in place) of <s>. As HAProxy does,
 * the last ':' not inside brackets separates the port. */
static int addr_inet(char *text, int family, unsigned flags, const char *s,
                     struct cfg_addr *out, char **err)
{
    char *port = NULL;
    char *chr = text + strlen(text);

    while (chr > text && chr[-1] != ']' && chr[-1] != ':')
        chr--;
    if (chr > text && chr[-1] == ':') {
        chr[-1] = '\0';
        port = chr;
    }
    if (addr_port(port, flags, s, out, err) != RC_OK)
        return RC_ERR;
    return addr_host(text, family, flags, s, out, err);
}

/* Checks <port> (NULL or "" when absent) and stores it in <out->ss> once the
 * host is known, through <out->port_set> and the sin_port of both families
 * (same offset). */
static int addr_port(const char *port, unsigned flags, const char *s,
                     struct cfg_addr *out, char **err)
{
    struct sockaddr_in *sin = (struct sockaddr_in *)&out->ss;
    unsigned long long v;
    const char *end;
    int overflow;

    if (port == NULL || *port == '\0') {
        if (flags & CFGVAL_ADDR_NEED_PORT)
            return set_err(err, "missing port specification in '%s'", s);
        return RC_OK;
    }
    if (*port == '+' || *port == '-')
        return set_err(err, "port offsets are not supported in '%s'", s);
    end = read_digits(port, &v, &overflow);
    if (end != port && *end == '-')
        return set_err(err, "port ranges are not supported in '%s'", s);
    if (end == port || *end != '\0' || overflow || v > 65535 ||
        (v == 0 && (flags & CFGVAL_ADDR_NEED_PORT)))
        return set_err(err, "invalid port '%s' in '%s'", port, s);
    sin->sin_port = htons((unsigned short)v);
    out->port_set = 1;
    return RC_OK;
}

/* Parses <host> of family <family> (AF_UNSPEC: either) into <out>. Empty
 * and "*" mean any address, IPv4 unless the family says IPv6. */
static int addr_host(char *host, int family, unsigned flags, const char *s,
                     struct cfg_addr *out, char **err)
{
    static const struct in_addr any4 = {INADDR_ANY};
    unsigned char ip[sizeof(struct in6_addr)];
    size_t n = strlen(host);

    if (n == 0 || strcmp(host, "*") == 0) {
        addr_set_ip(out, family == AF_INET6 ? AF_INET6 : AF_INET,
                    family == AF_INET6 ? (const void *)&in6addr_any
                                       : (const void *)&any4);
        return RC_OK;
    }
    if (host[0] == '[') {
        if (host[n - 1] != ']' || family == AF_INET)
            return set_err(err, "invalid address '%s' in '%s'", host, s);
        host[n - 1] = '\0';
        if (inet_pton(AF_INET6, host + 1, ip) != 1)
            return set_err(err, "invalid IPv6 address '%s' in '%s'", host + 1,
                           s);
        addr_set_ip(out, AF_INET6, ip);
        return RC_OK;
    }
    if (family != AF_INET6 && inet_pton(AF_INET, host, ip) == 1) {
        addr_set_ip(out, AF_INET, ip);
        return RC_OK;
    }
    if (family != AF_INET && inet_pton(AF_INET6, host, ip) == 1) {
        addr_set_ip(out, AF_INET6, ip);
        return RC_OK;
    }
    if (looks_numeric(host))
        return set_err(err, "invalid address '%s' in '%s'", host, s);
    if (flags & CFGVAL_ADDR_NAME_LATER)
        return RC_DECLINED;
    if (!(flags & CFGVAL_ADDR_RESOLVE))
        return set_err(err,
                       "host names need resolving, not supported here "
                       "('%s' in '%s')",
                       host, s);
    return addr_resolve(host, family, out, err);
}

/* Resolves <host> with getaddrinfo() and keeps the first answer. */
static int addr_resolve(const char *host, int family, struct cfg_addr *out,
                        char **err)
{
    struct addrinfo hints, *res;
    int rc;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = family;
    hints.ai_socktype = SOCK_STREAM;
    rc = getaddrinfo(host, NULL, &hints, &res);
    if (rc != 0)
        return set_err(err, "could not resolve '%s': %s", host,
                       gai_strerror(rc));
    if (res->ai_family == AF_INET)
        addr_set_ip(out, AF_INET,
                    &((struct sockaddr_in *)res->ai_addr)->sin_addr);
    else
        addr_set_ip(out, AF_INET6,
                    &((struct sockaddr_in6 *)res->ai_addr)->sin6_addr);
    freeaddrinfo(res);
    return RC_OK;
}

/* Stores address <ip> of <family> in <out>, keeping the port already set
 * (sin_port and sin6_port share their offset). */
static void addr_set_ip(struct cfg_addr *out, int family, const void *ip)
{
    struct sockaddr_in *sin = (struct sockaddr_in *)&out->ss;
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&out->ss;

    out->family = family;
    if (family == AF_INET) {
        sin->sin_family = AF_INET;
        memcpy(&sin->sin_addr, ip, sizeof(sin->sin_addr));
        out->len = sizeof(*sin);
    } else {
        sin6->sin6_family = AF_INET6;
        memcpy(&sin6->sin6_addr, ip, sizeof(sin6->sin6_addr));
        out->len = sizeof(*sin6);
    }
}

/* Returns 1 if <host> can only have been meant as an address (digits and
 * dots, or any colon), so a failed parse is a bad address, not a name. */
static int looks_numeric(const char *host)
{
    if (strchr(host, ':') != NULL)
        return 1;
    return host[strspn(host, "0123456789.")] == '\0';
}

/* Leaves <out> describing nothing, as after a failed parse. */
static void addr_reset(struct cfg_addr *out)
{
    memset(out, 0, sizeof(*out));
    out->family = AF_UNSPEC;
    out->fd = -1;
}
