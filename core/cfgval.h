/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* Parsers for the value types that configuration keywords share: durations
 * (manual 2.5), sizes (2.6), bounded integers and socket addresses (the
 * "bind" and "server" address forms). Each returns RC_OK or RC_ERR with a
 * message in *err that names the offending text; the caller adds file:line. */
#ifndef LUAPROXY_CORE_CFGVAL_H
#define LUAPROXY_CORE_CFGVAL_H

#include <stddef.h>
#include <sys/socket.h>

/* Parses "100ms", "5s", "1m", "1h", "1d", "10us" (rounded up to the next
 * millisecond), or a bare number of milliseconds, into <*ms>. Units are
 * lower case. As HAProxy does, a result above INT_MAX ms (~24.8 days) is an
 * error ("timer overflow"), not silently capped, because timers are signed
 * 32-bit millisecond ticks. */
int cfgval_duration_ms(const char *s, unsigned int *ms, char **err);

/* Parses "16k", "1m", "2g" (powers of 1024, either case) or a bare number of
 * bytes into <*bytes>; overflow beyond 64 bits is an error. */
int cfgval_size(const char *s, unsigned long long *bytes, char **err);

/* Parses a decimal integer with an optional sign that must lie within
 * [<min>, <max>]. */
int cfgval_int(const char *s, long long min, long long max, long long *out,
               char **err);

#define CFGVAL_ADDR_NEED_PORT  0x1 /* a port is mandatory, 0 is invalid */
#define CFGVAL_ADDR_NO_PORT_OK 0x2 /* a port is optional (also the default) */
#define CFGVAL_ADDR_RESOLVE    0x4 /* host names are resolved (getaddrinfo) */
#define CFGVAL_ADDR_NAME_LATER                                                 \
    0x8 /* a host name gives RC_DECLINED, <out>                                \
         * holding only the port */

struct cfg_addr {
    int family; /* AF_INET, AF_INET6, AF_UNIX, or AF_UNSPEC for fd@ */
    struct sockaddr_storage ss; /* port set for inet families */
    socklen_t len;              /* meaningful bytes of <ss>, 0 for fd@ */
    int fd;                     /* for fd@N, else -1 */
    int port_set;               /* a port was given */
};

/* Parses an address as HAProxy's "bind"/"server" lines write it:
 *   "1.2.3.4:80", "[::1]:80", "::1:80" (the last colon separates the port,
 *   so write IPv6 addresses without a port as "[::1]" or "::1:"),
 *   "*:80" and ":80" (IPv4 any), "ipv4@..." / "tcp4@...", "ipv6@..." /
 *   "tcp6@..." (force the family; "ipv6@:80" is in6addr_any), "tcp@...",
 *   "unix@/path" and "/path" (unix socket), "fd@N" (inherited descriptor).
 * <flags> takes CFGVAL_ADDR_*. Host names are an error unless
 * CFGVAL_ADDR_RESOLVE is set, in which case the first getaddrinfo() answer
 * is taken, or CFGVAL_ADDR_NAME_LATER, which leaves them to the caller. Port
 * ranges and offsets are errors. Other HAProxy prefixes (abns@, udp@,
 * sockpair@...) are reported as unsupported. */
int cfgval_addr(const char *s, unsigned flags, struct cfg_addr *out,
                char **err);

/* Writes <a> as "1.2.3.4:80", "[::1]:80", "1.2.3.4" (no port), "unix@/path"
 * or "fd@3" into <buf> of <len> bytes (truncated if too small); returns
 * <buf>. */
const char *cfgval_addr_str(const struct cfg_addr *a, char *buf, size_t len);

#endif
