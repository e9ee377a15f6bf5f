/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */

/*
 * The benchmark's own small client, for the work wrk cannot do:
 *   tcp  HOST PORT CONC SECS        connect, read one line, close, again, with
 *                                   CONC connections in flight for SECS
 *                                   seconds (scenario S2: connections/s);
 *   http HOST PORT PATH COUNT       COUNT sequential keep-alive GETs on one
 *                                   connection (fixed work for callgrind);
 *   hold HOST PORT PATH CONNS SECS  open CONNS keep-alive connections, one GET
 *                                   each, print "ready", then hold them idle
 *                                   until SECS pass or stdin closes (M1).
 * Results go to stdout as one "key=value ..." line the bench script parses.
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Latency histogram: 10 µs buckets up to 1 s; slower goes in the last. */
#define HIST_BUCKET_US 10
#define HIST_BUCKETS   100001

/* The "tcp" mode's per-connection state, indexed by slot. */
struct tcp_slot {
    int fd;
    int got_bytes;
    uint64_t start_us;
};

/* Counters and latency histogram of the "tcp" mode. */
struct tcp_stats {
    uint64_t done;
    uint64_t errors;
    uint64_t hist[HIST_BUCKETS];
};

/* Monotonic clock in microseconds. */
static uint64_t bclient_now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Fills *sa with HOST:PORT; returns 0 on success, -1 on a bad address. */
static int bclient_addr(struct sockaddr_in *sa, const char *host,
                        const char *port)
{
    memset(sa, 0, sizeof(*sa));
    sa->sin_family = AF_INET;
    sa->sin_port = htons((uint16_t)atoi(port));
    return inet_pton(AF_INET, host, &sa->sin_addr) == 1 ? 0 : -1;
}

/* Raises the fd limit so that many connections fit; best effort. */
static void bclient_raise_nofile(rlim_t want)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= want)
        return;
    rl.rlim_cur = want;
    if (rl.rlim_max < want)
        rl.rlim_max = want;
    if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
        getrlimit(RLIMIT_NOFILE, &rl);
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

/* Starts a non-blocking connect in slot s; returns 0, or -1 on failure. */
static int tcp_slot_open(struct tcp_slot *s, int ep,
                         const struct sockaddr_in *sa, uint32_t idx)
{
    struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);

    if (fd < 0)
        return -1;
    if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) < 0 &&
        errno != EINPROGRESS) {
        close(fd);
        return -1;
    }
    ev.data.u32 = idx;
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
        close(fd);
        return -1;
    }
    s->fd = fd;
    s->got_bytes = 0;
    s->start_us = bclient_now_us();
    return 0;
}

/* Records one finished connection's latency in the histogram. */
static void tcp_stats_record(struct tcp_stats *st, uint64_t us)
{
    uint64_t b = us / HIST_BUCKET_US;

    st->hist[b < HIST_BUCKETS ? b : HIST_BUCKETS - 1]++;
    st->done++;
}

/*
 * Reads what the server sent on slot s. Returns 1 when the connection is
 * finished (a full line read, or EOF/error), 0 when more is to come; *ok says
 * whether a line was read.
 */
static int tcp_slot_read(struct tcp_slot *s, int *ok)
{
    char buf[512];
    ssize_t n;

    for (;;) {
        n = read(s->fd, buf, sizeof(buf));
        if (n > 0) {
            s->got_bytes += (int)n;
            if (memchr(buf, '\n', (size_t)n) != NULL) {
                *ok = 1;
                return 1;
            }
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return 0;
        *ok = 0;
        return 1;
    }
}

/* Percentile p (0..100) of the histogram, in microseconds. */
static uint64_t tcp_stats_percentile(const struct tcp_stats *st, double p)
{
    uint64_t want = (uint64_t)((double)st->done * p / 100.0);
    uint64_t seen = 0;
    size_t i;

    for (i = 0; i < HIST_BUCKETS; i++) {
        seen += st->hist[i];
        if (seen > want)
            return (uint64_t)i * HIST_BUCKET_US + HIST_BUCKET_US / 2;
    }
    return (uint64_t)(HIST_BUCKETS - 1) * HIST_BUCKET_US;
}

/* Closes slot i and opens a fresh connection in it; counts a failure. */
static void tcp_slot_cycle(struct tcp_slot *slots, uint32_t i, int ep,
                           const struct sockaddr_in *sa, struct tcp_stats *st,
                           int reopen)
{
    close(slots[i].fd);
    slots[i].fd = -1;
    if (reopen && tcp_slot_open(&slots[i], ep, sa, i) < 0)
        st->errors++;
}

/* Mode "tcp": connections per second against a line-then-close service. */
static int mode_tcp(const char *host, const char *port, int conc, double secs)
{
    struct epoll_event evs[256];
    struct sockaddr_in sa;
    struct tcp_stats *st = calloc(1, sizeof(*st));
    struct tcp_slot *slots = calloc((size_t)conc, sizeof(*slots));
    uint64_t t0, end, now;
    int ep = epoll_create1(0);
    int i, n, ok;

    if (st == NULL || slots == NULL || ep < 0 ||
        bclient_addr(&sa, host, port) < 0) {
        fprintf(stderr, "bclient: setup failed\n");
        return 2;
    }
    bclient_raise_nofile((rlim_t)conc + 64);
    t0 = bclient_now_us();
    end = t0 + (uint64_t)(secs * 1e6);
    for (i = 0; i < conc; i++)
        if (tcp_slot_open(&slots[i], ep, &sa, (uint32_t)i) < 0)
            st->errors++;
    while ((now = bclient_now_us()) < end) {
        n = epoll_wait(ep, evs, 256, 100);
        for (i = 0; i < n; i++) {
            uint32_t idx = evs[i].data.u32;

            if (!tcp_slot_read(&slots[idx], &ok))
                continue;
            if (ok)
                tcp_stats_record(st, bclient_now_us() - slots[idx].start_us);
            else
                st->errors++;
            tcp_slot_cycle(slots, idx, ep, &sa, st, 1);
        }
    }
    now = bclient_now_us();
    printf("conns=%llu errors=%llu secs=%.3f rate=%.1f p50_us=%llu "
           "p99_us=%llu\n",
           (unsigned long long)st->done, (unsigned long long)st->errors,
           (double)(now - t0) / 1e6,
           (double)st->done * 1e6 / (double)(now - t0),
           (unsigned long long)tcp_stats_percentile(st, 50),
           (unsigned long long)tcp_stats_percentile(st, 99));
    for (i = 0; i < conc; i++)
        if (slots[i].fd >= 0)
            close(slots[i].fd);
    close(ep);
    free(slots);
    free(st);
    return 0;
}

/* Opens a blocking connection to sa; returns the fd or -1. */
static int bclient_connect(const struct sockaddr_in *sa)
{
    int one = 1;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    if (fd < 0)
        return -1;
    if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) < 0) {
        close(fd);
        return -1;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

/* Writes all of buf to fd; returns 0, or -1 on error. */
static int bclient_write_all(int fd, const char *buf, size_t len)
{
    ssize_t n;

    while (len > 0) {
        n = write(fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Content-Length of the header block hdr (NUL-terminated), or -1. */
static long bclient_content_length(const char *hdr)
{
    const char *p = hdr;

    while ((p = strchr(p, '\n')) != NULL) {
        p++;
        if (strncasecmp(p, "content-length:", 15) == 0)
            return strtol(p + 15, NULL, 10);
    }
    return -1;
}

/*
 * Reads one HTTP/1.1 response with a Content-Length body from fd. Returns its
 * status, or -1 on error/EOF. buf (size cap) is scratch space.
 */
static int bclient_read_response(int fd, char *buf, size_t cap)
{
    size_t have = 0, hlen;
    long clen, left;
    char *eoh;
    ssize_t n;
    int status;

    for (;;) {
        n = read(fd, buf + have, cap - 1 - have);
        if (n <= 0)
            return -1;
        have += (size_t)n;
        buf[have] = '\0';
        eoh = strstr(buf, "\r\n\r\n");
        if (eoh != NULL)
            break;
        if (have == cap - 1)
            return -1;
    }
    hlen = (size_t)(eoh + 4 - buf);
    clen = bclient_content_length(buf);
    if (clen < 0 || sscanf(buf, "HTTP/1.%*d %d", &status) != 1)
        return -1;
    for (left = clen - (long)(have - hlen); left > 0; left -= n) {
        n = read(fd, buf, (size_t)left < cap ? (size_t)left : cap);
        if (n <= 0)
            return -1;
    }
    return status;
}

/* Formats the GET request for path into buf; returns its length. */
static size_t bclient_request(char *buf, size_t cap, const char *path)
{
    int n = snprintf(buf, cap, "GET %s HTTP/1.1\r\nHost: bench\r\n\r\n", path);

    return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

/* Mode "http": count sequential keep-alive GETs on one connection. */
static int mode_http(const char *host, const char *port, const char *path,
                     long count)
{
    static char buf[65536];
    char req[1024];
    struct sockaddr_in sa;
    size_t rlen = bclient_request(req, sizeof(req), path);
    long i, ok = 0, errors = 0;
    int fd = -1, status;

    if (rlen == 0 || bclient_addr(&sa, host, port) < 0) {
        fprintf(stderr, "bclient: bad arguments\n");
        return 2;
    }
    for (i = 0; i < count; i++) {
        if (fd < 0 && (fd = bclient_connect(&sa)) < 0) {
            errors++;
            continue;
        }
        status = bclient_write_all(fd, req, rlen) < 0
                     ? -1
                     : bclient_read_response(fd, buf, sizeof(buf));
        if (status >= 200 && status < 300) {
            ok++;
        } else {
            errors++;
            close(fd);
            fd = -1;
        }
    }
    if (fd >= 0)
        close(fd);
    printf("requests=%ld ok=%ld errors=%ld\n", count, ok, errors);
    return errors == 0 ? 0 : 1;
}

/* Opens one keep-alive connection and completes one GET on it; fd or -1. */
static int hold_one(const struct sockaddr_in *sa, const char *req, size_t rlen,
                    char *buf, size_t cap)
{
    int fd = bclient_connect(sa);

    if (fd < 0)
        return -1;
    if (bclient_write_all(fd, req, rlen) < 0 ||
        bclient_read_response(fd, buf, cap) < 200) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Mode "hold": keep conns idle keep-alive connections open for a while. */
static int mode_hold(const char *host, const char *port, const char *path,
                     int conns, double secs)
{
    static char buf[65536];
    char req[1024];
    struct sockaddr_in sa;
    struct pollfd pfd = {.fd = 0, .events = POLLIN};
    size_t rlen = bclient_request(req, sizeof(req), path);
    int *fds = calloc((size_t)conns, sizeof(*fds));
    int i, open_ok = 0;

    if (fds == NULL || rlen == 0 || bclient_addr(&sa, host, port) < 0) {
        fprintf(stderr, "bclient: bad arguments\n");
        return 2;
    }
    bclient_raise_nofile((rlim_t)conns + 64);
    for (i = 0; i < conns; i++) {
        fds[i] = hold_one(&sa, req, rlen, buf, sizeof(buf));
        open_ok += fds[i] >= 0;
    }
    printf("ready open=%d failed=%d\n", open_ok, conns - open_ok);
    fflush(stdout);
    poll(&pfd, 1, (int)(secs * 1000));
    for (i = 0; i < conns; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    free(fds);
    return 0;
}

/* Prints usage and returns the exit status for a usage error. */
static int usage(void)
{
    fprintf(stderr, "usage: bclient tcp HOST PORT CONC SECS\n"
                    "       bclient http HOST PORT PATH COUNT\n"
                    "       bclient hold HOST PORT PATH CONNS SECS\n");
    return 2;
}

/* Dispatches on the mode word. */
int main(int argc, char **argv)
{
    if (argc == 6 && strcmp(argv[1], "tcp") == 0)
        return mode_tcp(argv[2], argv[3], atoi(argv[4]), atof(argv[5]));
    if (argc == 6 && strcmp(argv[1], "http") == 0)
        return mode_http(argv[2], argv[3], argv[4], atol(argv[5]));
    if (argc == 7 && strcmp(argv[1], "hold") == 0)
        return mode_hold(argv[2], argv[3], argv[4], atoi(argv[5]),
                         atof(argv[6]));
    return usage();
}
